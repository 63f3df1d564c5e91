/*
 * recovery.h - epochs (recovery.c): deploying every task, failing over,
 * restoring, and the job's end once its output is published.
 */
#ifndef COORD_RECOVERY_H
#define COORD_RECOVERY_H

#include <stdint.h>

#include "coordinator/coord.h"

/* coord_recovery_start reads what a previous coordinator left behind. */
void coord_recovery_start(struct coord *c);

/* coord_recovery_tick deploys a new epoch when every worker is alive (and
 * the restart strategy's delay has passed), and fails an epoch whose
 * deploy or publication confirmations stopped making progress. */
void coord_recovery_tick(struct coord *c, uint64_t now_us);

/* coord_fail_epoch ends the current epoch for `reason`: its checkpoints
 * are aborted, its tasks stopped, and the restart strategy decides
 * (RESTARTING, or FAILED). No-op if nothing is deployed or the job ended. */
void coord_fail_epoch(struct coord *c, const char *reason);

/* coord_stop_epoch aborts the pending checkpoints (with `why`) and tells
 * every worker to stop the current epoch's tasks; the caller sets the
 * state that follows (RESTARTING after a failure, CANCELED). */
void coord_stop_epoch(struct coord *c, const char *why);

/* coord_on_task_event: RUNNING, DRAINED, PUBLISHED, FAILED,
 * RESTORE_FAILED from the worker that hosts the task. */
void coord_on_task_event(struct coord *c, const Snapmark__TaskEvent *ev);

/* coord_worker_lost counts worker id dead (its connection dropped, or it
 * went silent: `why`) and fails the epoch unless the job has ended.
 * Returns 1 if it was alive until now, 0 if it was already lost. */
int coord_worker_lost(struct coord *c, int id, const char *why);

/* coord_begin_finishing enters FINISHING for checkpoint id of the current
 * epoch: FINISHED follows once every task reported it PUBLISHED. */
void coord_begin_finishing(struct coord *c, uint64_t id, int stop);

#endif
