/*
 * task.h - one running task: an operator, its input and output channels,
 * barrier alignment and snapshots, driven by one thread.
 *
 * The worker's control thread starts and stops tasks and forwards the
 * coordinator's commands (inject barrier, checkpoint complete, abort) into
 * the task's inbox; everything else happens on the task's own thread, so
 * operator state needs no locks. The implementation is split by concern
 * (task_internal.h lists the files).
 */
#ifndef SM_TASK_H
#define SM_TASK_H

#include <stdint.h>

#include "common/jobfile.h"
#include "proto/snapmark.pb-c.h"
#include "worker/report.h"

struct worker_task;

struct worker_task_config {
	const struct sm_job *job;          /* outlives the task */
	int task;
	uint64_t epoch;
	const char *run_dir;
	char *const *task_prefix;          /* per task index: data prefix */
	const Snapmark__TaskRestore *restore;  /* NULL: start fresh */
	worker_send_fn send;
	void *send_ctx;
	/* Not 0: the job is finishing. A sink restores this (final)
	 * checkpoint, publishing what it pre-committed; every task then
	 * reports PUBLISHED and only waits to be stopped. */
	uint64_t publish_only_id;
	/* Where a failure to start says why, when the operator said it
	 * (may be NULL; left "" otherwise). */
	char *why;
	size_t whylen;
};

/* worker_task_start opens the task's store and starts its thread, which
 * restores, connects its channels, reports RUNNING and processes. */
int worker_task_start(const struct worker_task_config *cfg,
    struct worker_task **out);

/* Commands from the coordinator, queued for the task's thread. */
void worker_task_trigger(struct worker_task *t, uint64_t checkpoint_id,
    const char *savepoint_dir);
/* With confirm (the job's last checkpoint), the task reports PUBLISHED
 * once it committed checkpoint_id. */
void worker_task_complete(struct worker_task *t, uint64_t checkpoint_id,
    const uint64_t *retained, size_t n_retained, int confirm);
void worker_task_abort(struct worker_task *t, uint64_t checkpoint_id);

/* worker_task_stop stops the thread, closes channels and store, frees. */
void worker_task_stop(struct worker_task *t);

int worker_task_index(const struct worker_task *t);

/* worker_task_records: records the task took in and sent out since it
 * started (safe from any thread). */
void worker_task_records(const struct worker_task *t, uint64_t *in,
    uint64_t *out);

/* worker_task_times: the task thread's time since it started, split into
 * busy, idle (waiting for input) and back-pressured (waiting to send), in
 * µs (safe from any thread). */
void worker_task_times(const struct worker_task *t, uint64_t *busy_us,
    uint64_t *idle_us, uint64_t *backpressured_us);

/* Frame counts per channel (docs/OBSERVABILITY.md, "Frames buffered"),
 * safe from any thread. worker_task_n_channels: the task's inputs plus
 * outputs. worker_task_frames_processed fills up to cap entries, one per
 * input, with the frames taken from it and handled since the task started
 * (to_task is this task); worker_task_frames_sent one per output with the
 * frames it took (from_task is this task). Both return the entries
 * filled. The heartbeat reads every processed count before any sent
 * count, so that on one worker a channel's sent count is the newer. */
size_t worker_task_n_channels(const struct worker_task *t);
size_t worker_task_frames_processed(const struct worker_task *t,
    Snapmark__ChannelMetrics *out, size_t cap);
size_t worker_task_frames_sent(const struct worker_task *t,
    Snapmark__ChannelMetrics *out, size_t cap);

#endif
