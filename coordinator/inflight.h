/*
 * inflight.h - the checkpoints in flight (inflight.c): c->pending, each a
 * struct coord_pending (pending.h) owned by c until it ends.
 */
#ifndef COORD_INFLIGHT_H
#define COORD_INFLIGHT_H

#include <stdint.h>

#include "coordinator/coord.h"

/* coord_find_pending: checkpoint id if it is in flight, else NULL. */
struct coord_pending *coord_find_pending(struct coord *c, uint64_t id);

/* coord_inflight_remove takes p out of c->pending and frees it. */
void coord_inflight_remove(struct coord *c, struct coord_pending *p);

/* coord_checkpoint_retry_us: how long a failed final checkpoint waits
 * before it is tried again (the checkpoint interval, at least 100 ms). */
uint64_t coord_checkpoint_retry_us(const struct coord *c);

/* coord_checkpoint_record writes checkpoint p's end to the catalog with
 * status (COMPLETED, or FAILED with reason; a failed one names who did not
 * acknowledge), and a completed savepoint's _metadata first. */
int coord_checkpoint_record(struct coord *c, struct coord_pending *p,
    Snapmark__CheckpointRecord__Status status, const char *reason);

/* coord_abort fails checkpoint p: recorded FAILED with reason, every
 * worker of its epoch told, p removed and freed. A final one is tried
 * again after coord_checkpoint_retry_us. */
void coord_abort(struct coord *c, struct coord_pending *p,
    const char *reason);

/* coord_abort_all aborts every checkpoint in flight. */
void coord_abort_all(struct coord *c, const char *reason);

/* coord_explain_missing: what task was last seen doing (heartbeats, its
 * worker's liveness), into *out (for a checkpoint it did not ack); the
 * caller owns *out (snapmark__explain_task__free_unpacked). */
int coord_explain_missing(struct coord *c, int task,
    Snapmark__ExplainTask **out);

#endif
