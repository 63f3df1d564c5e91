/*
 * operator.h - the one small interface every operator implements.
 *
 * A task owns one operator instance and drives it from its single thread:
 * open, then process/generate batches, snapshot on each barrier, restore
 * before the first record, notify_complete when a checkpoint commits,
 * end_input when every input ended, close. Records (byte strings with an
 * event time, struct snapmark_record) leave through the task's emitter,
 * which batches them per output channel; a source also announces its
 * watermark there.
 *
 * Failing: an operator that returns an error for a reason the code alone
 * does not say (a record it cannot take) calls sm_op_fail first, and the
 * task fails with that message.
 *
 * Snapshot contract: snapshot() is the synchronous part of a checkpoint:
 * it fills a struct sm_snapshot_data with the keyed changes since the
 * previous snapshot (incremental = 1, as entries or as a whole delta) or
 * with its whole state, and must cost no more than what changed. The task
 * copies what it needs and then calls snapshot_release(). Materialising full
 * snapshots is the snapshot writer's business, off the task's thread.
 */
#ifndef SM_OPERATOR_H
#define SM_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/frame.h"
#include "common/jobfile.h"
#include "common/state.h"
#include "snapmark/snapmark.h"

struct sm_emitter {
	/* emit sends one record downstream; returns SM_OK or an error that
	 * stops the task (SM_ESTOPPED, SM_ECLOSED). */
	int (*emit)(struct sm_emitter *e, const struct snapmark_record *r);
	/* emit_many sends n records, in order: the same as n emits, without
	 * a call per record. */
	int (*emit_many)(struct sm_emitter *e,
	    const struct snapmark_record *r, size_t n);
	/* watermark (sources): no record with an event time before `time`
	 * follows. Ignored unless it advances the task's watermark. */
	int (*watermark)(struct sm_emitter *e, int64_t time);
};

/* Where and as whom an operator runs. */
struct sm_op_ctx {
	const struct sm_job *job;
	int stage;
	int subtask;
	int task;
	uint64_t epoch;
	const char *run_dir;
	/* The task's, for operators that keep them beyond a call (SDK
	 * operators: sdk_op.c): its emitter, its watermark, its name. */
	struct sm_emitter *out;
	const int64_t *watermark;
	const char *task_name;
	/* Where sm_operator_open says why an open failed, when the
	 * operator said it (may be NULL). */
	char *why;
	size_t whylen;
};

struct sm_op {
	const struct sm_op_ops *ops;
	struct sm_op_ctx ctx;
	void *impl;
	/* Why the operator failed, when sm_op_fail said it ("" if not). */
	char why[256];
};

struct sm_op_ops {
	int (*open)(struct sm_op *op);
	/* sources: emit up to max records; *done = 1 when no more ever;
	 * *produced = records emitted. */
	int (*generate)(struct sm_op *op, struct sm_emitter *out,
	    size_t max, size_t *produced, int *done);
	int (*process)(struct sm_op *op, const struct snapmark_record *recs,
	    size_t n, struct sm_emitter *out);
	int (*end_input)(struct sm_op *op, struct sm_emitter *out);
	int (*snapshot)(struct sm_op *op, uint64_t checkpoint_id,
	    struct sm_snapshot_data *out);
	void (*snapshot_release)(struct sm_op *op,
	    struct sm_snapshot_data *data);
	int (*restore)(struct sm_op *op, uint64_t checkpoint_id,
	    const struct sm_snapshot_data *in);
	int (*notify_complete)(struct sm_op *op, uint64_t checkpoint_id);
	void (*close)(struct sm_op *op);
	/* Optional, for operators with timers. event_time: the task's
	 * watermark reached wm: fire the event-time timers <= wm, then tell
	 * the operator (before wm goes downstream). processing_time: fire
	 * the processing-time timers due by now_ms (wall clock, ms); *next_ms
	 * is the time of the next one set, or SNAPMARK_NO_TIME if none. */
	int (*event_time)(struct sm_op *op, int64_t wm,
	    struct sm_emitter *out);
	int (*processing_time)(struct sm_op *op, int64_t now_ms,
	    struct sm_emitter *out, int64_t *next_ms);
};

/* sm_operator_open picks the implementation of ctx's stage and opens it. */
int sm_operator_open(const struct sm_op_ctx *ctx,
    struct sm_op **out);

/* sm_operator_close closes and frees; safe on NULL. */
void sm_operator_close(struct sm_op *op);

/* sm_op_fail records why op fails (op->why: the task logs and reports it
 * as its failure) and returns SM_EINVAL for the operator to return. */
int sm_op_fail(struct sm_op *op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* sm_gen_record computes record `seq` of gen subtask `subtask`: the pure
 * function of (seed, subtask, seq) that makes the source replayable. */
void sm_gen_record(uint64_t seed, uint64_t keys, uint32_t subtask,
    uint64_t seq, uint64_t *key, int64_t *value);

/* The bytes of a gen record (the SDK's decision 3): the key as 8 bytes
 * big-endian; the value as 20 bytes big-endian: u32 subtask, u64 seq, i64
 * value; the event time is seq. */
#define SM_GEN_KEY_BYTES 8
#define SM_GEN_VALUE_BYTES 20

/* sm_gen_encode writes a gen record's key and value bytes. */
void sm_gen_encode(uint32_t subtask, uint64_t seq, uint64_t key,
    int64_t value, uint8_t key_out[SM_GEN_KEY_BYTES],
    uint8_t value_out[SM_GEN_VALUE_BYTES]);

/* sm_gen_decode reads the key and value bytes of a gen record back;
 * SM_EINVAL if r is not of that shape (an 8-byte key, a 20-byte value). */
int sm_gen_decode(const struct snapmark_record *r, uint32_t *subtask,
    uint64_t *seq, uint64_t *key, int64_t *value);

/* Big-endian integers in records. */
static inline void
sm_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static inline uint64_t
sm_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

extern const struct sm_op_ops sm_op_gen;
extern const struct sm_op_ops sm_op_passthrough;
extern const struct sm_op_ops sm_op_count;
extern const struct sm_op_ops sm_op_file_sink;
extern const struct sm_op_ops sm_op_discard;
/* A user operator (sdk/plugin.h) run through the SDK (sdk_op.c). */
extern const struct sm_op_ops sm_op_sdk;

#endif
