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

#endif
