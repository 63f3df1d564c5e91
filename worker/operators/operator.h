/*
 * operator.h - the one small interface every operator implements.
 *
 * A task owns one operator instance and drives it from its single thread:
 * open, then process/generate batches, snapshot on each barrier, restore
 * before the first record, notify_complete when a checkpoint commits,
 * end_input when every input ended, close. Records leave through the
 * task's emitter, which batches them per output channel.
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

struct sm_emitter {
	/* emit sends one record downstream; returns SM_OK or an error that
	 * stops the task (SM_ESTOPPED, SM_ECLOSED). */
	int (*emit)(struct sm_emitter *e, const struct sm_record *r);
	/* emit_many sends n records, in order: the same as n emits, without
	 * a call per record. */
	int (*emit_many)(struct sm_emitter *e, const struct sm_record *r,
	    size_t n);
};

/* Where and as whom an operator runs. */
struct sm_op_ctx {
	const struct sm_job *job;
	int stage;
	int subtask;
	int task;
	uint64_t epoch;
	const char *run_dir;
};

struct sm_op {
	const struct sm_op_ops *ops;
	struct sm_op_ctx ctx;
	void *impl;
};

struct sm_op_ops {
	int (*open)(struct sm_op *op);
	/* sources: emit up to max records; *done = 1 when no more ever;
	 * *produced = records emitted. */
	int (*generate)(struct sm_op *op, struct sm_emitter *out,
	    size_t max, size_t *produced, int *done);
	int (*process)(struct sm_op *op, const struct sm_record *recs,
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
};

/* sm_operator_open picks the implementation of ctx's stage and opens it. */
int sm_operator_open(const struct sm_op_ctx *ctx,
    struct sm_op **out);

/* sm_operator_close closes and frees; safe on NULL. */
void sm_operator_close(struct sm_op *op);

/* sm_gen_record computes record `seq` of gen subtask `subtask`: the pure
 * function of (seed, subtask, seq) that makes the source replayable. */
void sm_gen_record(uint64_t seed, uint64_t keys, uint32_t subtask,
    uint64_t seq, struct sm_record *out);

extern const struct sm_op_ops sm_op_gen;
extern const struct sm_op_ops sm_op_passthrough;
extern const struct sm_op_ops sm_op_count;
extern const struct sm_op_ops sm_op_file_sink;
extern const struct sm_op_ops sm_op_discard;

#endif
