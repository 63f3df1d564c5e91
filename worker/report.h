/*
 * report.h - what a worker's tasks tell the coordinator outside their
 * acks: task events (RUNNING, FAILED, DRAINED, PUBLISHED, ...) and
 * declined checkpoints.
 *
 * The task runtime and its snapshot writer both report; they share this
 * module instead of depending on one another. A message that cannot be
 * sent is logged: the coordinator then learns of it through its own
 * timeouts, and the log says why.
 */
#ifndef SM_REPORT_H
#define SM_REPORT_H

#include <stdint.h>

#include "proto/snapmark.pb-c.h"

/* How a task talks back to the coordinator (thread-safe). */
typedef int (*worker_send_fn)(void *ctx, const Snapmark__Control *c);

/* worker_report_event sends task event `kind` of task `task` in epoch
 * (checkpoint_id 0: none; reason may be NULL). */
int worker_report_event(worker_send_fn send, void *ctx, uint64_t epoch,
    uint32_t task, const char *task_name, Snapmark__TaskEvent__Kind kind,
    uint64_t checkpoint_id, const char *reason);

/* worker_decline tells the coordinator that task `task_name` (index task)
 * cannot take part in checkpoint id of epoch, and logs why. */
void worker_decline(worker_send_fn send, void *ctx, uint64_t epoch,
    uint64_t id, uint32_t task, const char *task_name, const char *reason);
/* worker_decline_err is worker_decline with the sm_err code behind it
 * (0: none), so the coordinator can tell a full disk from other reasons. */
void worker_decline_err(worker_send_fn send, void *ctx, uint64_t epoch,
    uint64_t id, uint32_t task, const char *task_name, const char *reason,
    int err);

#endif
