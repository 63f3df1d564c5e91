/*
 * sdk_harness.h - a fake host for unit-testing one operator (a struct
 * snapmark_operator, built in or from a plugin) without a cluster: it
 * implements struct snapmark_api in memory for one instance (one
 * subtask) and lets a test drive it step by step.
 *
 * What it owns: the instance and its config, the records and watermarks
 * the operator emitted (copied), keyed state (named states of byte keys
 * and values, per current key), timers of both domains, the task's
 * watermark and a settable wall clock, operator-state items, and the
 * last fail message and the log lines. A snapshot copies operator-state
 * items, keyed state and timers; a fresh harness restores from one (or,
 * at another parallelism, from the union of several).
 *
 * It includes snapmark/snapmark.h and the C library only, so a user may
 * copy it next to an operator's own tests (docs/SDK.md, "Testing an
 * operator"). Everything here is single-threaded, like a task.
 *
 * Return codes are the operator's (enum snapmark_status): each driving
 * function returns what the callback it ran returned (the first non-OK
 * one), or SNAPMARK_INVALID / SNAPMARK_NOMEM for a misuse of the harness.
 */
#ifndef SM_SDK_HARNESS_H
#define SM_SDK_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "snapmark/snapmark.h"

struct sm_harness;
struct sm_harness_snapshot;

/* What to run and where. options may be NULL when n_options is 0. */
struct sm_harness_setup {
	const struct snapmark_operator *op;
	const struct snapmark_option *options;
	size_t n_options;
	const char *stage;    /* NULL: "test" */
	uint32_t subtask;     /* 0-based */
	uint32_t parallelism; /* 0: 1 */
	/* Keyed: the current key of process is each record's key (a stage
	 * after a hash edge); otherwise keyed state is refused. */
	int keyed;
	/* The wall clock (ms) at the start; advance it with
	 * sm_harness_advance_processing_time. */
	int64_t processing_time;
	/* Restore at another parallelism: a keyed-state entry or timer of
	 * the old subtasks is kept when key_owner(key, len, parallelism)
	 * == subtask; NULL keeps every one. */
	uint32_t (*key_owner)(const void *key, uint32_t len,
	    uint32_t parallelism);
};

/*
 * sm_harness_create configures the operator (configure, with the
 * options); a refusal returns NULL with the operator's message in err.
 * The instance is not open yet: restore (optional), then open.
 */
struct sm_harness *sm_harness_create(const struct sm_harness_setup *setup,
    char *err, size_t errlen);

/* sm_harness_free closes the instance (close, if open), frees its config
 * and everything the harness holds. NULL is fine. */
void sm_harness_free(struct sm_harness *h);

/*
 * sm_harness_restore loads the state of snapshots (taken by
 * sm_harness_snapshot of earlier harnesses, not consumed): when every
 * snapshot was taken at this harness's parallelism, the one of this
 * subtask (its items, keyed state, timers); otherwise every item of every
 * snapshot (union) and the keyed state and timers key_owner gives this
 * subtask. Call before sm_harness_open, which then calls restore with
 * the snapshots' checkpoint id.
 */
int sm_harness_restore(struct sm_harness *h,
    const struct sm_harness_snapshot *const *snaps, size_t n);

/* sm_harness_open: open, then restore if sm_harness_restore ran. */
int sm_harness_open(struct sm_harness *h);

/* Driving. process gives one record (keyed: its key is current);
 * feed is process of strings. */
int sm_harness_process(struct sm_harness *h, const struct snapmark_record *r);
int sm_harness_feed(struct sm_harness *h, const char *key, const char *value,
    int64_t timestamp);
int sm_harness_produce(struct sm_harness *h, size_t max, int *done);
/* The task's watermark becomes wm: event-time timers <= wm fire in order
 * of (time, setting), then on_watermark. A wm not above the current one
 * does nothing. */
int sm_harness_advance_watermark(struct sm_harness *h, int64_t wm);
/* The wall clock becomes now: processing-time timers <= now fire in
 * order. */
int sm_harness_advance_processing_time(struct sm_harness *h, int64_t now);
int sm_harness_end_input(struct sm_harness *h);
int sm_harness_checkpoint_complete(struct sm_harness *h, uint64_t id);

/* sm_harness_snapshot runs snapshot(checkpoint_id) and copies the items
 * it added, the keyed state and the timers into *out (free it with
 * sm_harness_snapshot_free). */
int sm_harness_snapshot(struct sm_harness *h, uint64_t checkpoint_id,
    struct sm_harness_snapshot **out);
void sm_harness_snapshot_free(struct sm_harness_snapshot *s);
size_t sm_harness_snapshot_items(const struct sm_harness_snapshot *s);

/* What came out: records (copies, in emit order) and watermarks. */
size_t sm_harness_emitted_count(const struct sm_harness *h);
const struct snapmark_record *sm_harness_emitted(const struct sm_harness *h,
    size_t i);
/* "KEY<TAB>VALUE" of emitted record i (bytes as they are; a NUL
 * truncates), into buf; returns buf. */
const char *sm_harness_emitted_text(const struct sm_harness *h, size_t i,
    char *buf, size_t len);
size_t sm_harness_watermark_count(const struct sm_harness *h);
int64_t sm_harness_watermark_at(const struct sm_harness *h, size_t i);
/* Forget what came out so far (records and watermarks). */
void sm_harness_clear_output(struct sm_harness *h);

/* The last snapmark_fail message ("" if none), the log lines. */
const char *sm_harness_failure(const struct sm_harness *h);
size_t sm_harness_log_count(const struct sm_harness *h);
const char *sm_harness_log_line(const struct sm_harness *h, size_t i);

/* Keyed state and timers now (for checks). */
size_t sm_harness_state_entries(const struct sm_harness *h);
size_t sm_harness_timer_count(const struct sm_harness *h,
    enum snapmark_time_domain domain);

#endif
