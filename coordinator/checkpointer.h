/*
 * checkpointer.h - the checkpoint coordinator proper (checkpointer.c):
 * triggering, counting acknowledgements, committing, failing.
 */
#ifndef COORD_CHECKPOINTER_H
#define COORD_CHECKPOINTER_H

#include <stdint.h>

#include "coordinator/coord.h"

/* coord_trigger starts a checkpoint (manual: asked for by the CLI; final:
 * the job drained); with savepoint_dir a savepoint into that directory
 * ("": the default RUN/savepoints/savepoint-ID), and with stop the job
 * stops once it completes. SM_EAGAIN if the job is not RUNNING or
 * COORD_MAX_PENDING are in flight, SM_EINVAL for a refused savepoint
 * target (why in c->savepoint_error). Every failure after that is logged;
 * a trigger that does not reach a worker fails the checkpoint at once
 * (SM_OK: *id is the checkpoint, already FAILED in the catalog). */
int coord_trigger(struct coord *c, int manual, int final,
    const char *savepoint_dir, int stop, uint64_t *id);

/* coord_on_ack counts an ack (from the worker that hosts its task); the
 * last one commits the checkpoint. */
void coord_on_ack(struct coord *c, const Snapmark__Ack *ack);

/* coord_on_decline fails the checkpoint a task cannot take part in. */
void coord_on_decline(struct coord *c, const Snapmark__Decline *d);

/* coord_checkpoint_tick expires, triggers periodic and final checkpoints;
 * returns the microseconds until it wants to run again. */
uint64_t coord_checkpoint_tick(struct coord *c, uint64_t now_us);

#endif
