/*
 * inflight.c - the checkpoints in flight (c->pending): finding one,
 * recording its end in the catalog, aborting it, and what a task that did
 * not acknowledge was last seen doing.
 *
 * Shared by the checkpointer (a checkpoint that completes, expires or is
 * declined) and recovery (an epoch that ends aborts them all); it calls
 * neither of them.
 */
#include "coordinator/inflight.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "coordinator/savepoint.h"

struct coord_pending *
coord_find_pending(struct coord *c, uint64_t id)
{
	for (int i = 0; i < c->n_pending; i++)
		if (c->pending[i]->id == id)
			return c->pending[i];
	return NULL;
}

void
coord_inflight_remove(struct coord *c, struct coord_pending *p)
{
	for (int i = 0; i < c->n_pending; i++)
		if (c->pending[i] == p) {
			c->pending[i] = c->pending[--c->n_pending];
			break;
		}
	coord_pending_free(p);
}

uint64_t
coord_checkpoint_retry_us(const struct coord *c)
{
	uint64_t ms = c->job.checkpoint.interval_ms;
	return (ms < 100 ? 100 : ms) * 1000;
}

int
coord_checkpoint_record(struct coord *c, struct coord_pending *p,
    Snapmark__CheckpointRecord__Status status, const char *reason)
{
	Snapmark__CheckpointRecord *r;
	/* A failed one names who did not acknowledge, and what each was
	 * last seen doing, for `snapmark explain` later. */
	if (status == SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED &&
	    p->missing == NULL &&
	    (p->missing = calloc((size_t) p->n_tasks, sizeof(*p->missing))) !=
	        NULL)
		for (int i = 0; i < p->n_tasks; i++)
			if (!p->acks[i].acked &&
			    coord_explain_missing(c, i,
			        &p->missing[p->n_missing]) == SM_OK)
				p->n_missing++;
	int rv = coord_pending_record(p, status, reason, coord_now_us(c),
	    c->task_names, &r);
	if (rv != SM_OK)
		return rv;
	r->has_end_us = 1;
	r->end_us = coord_wall_us(c);
	/* A savepoint is complete once its self-contained metadata is on
	 * disk beside the task snapshots. */
	if (p->savepoint_dir != NULL &&
	    status == SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED)
		rv = coord_savepoint_write(c, r);
	if (rv == SM_OK)
		rv = coord_catalog_put(c->cat, r);
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	return rv;
}

void
coord_abort(struct coord *c, struct coord_pending *p, const char *reason)
{
	uint64_t id = p->id;
	int final = p->final;
	int rv = coord_checkpoint_record(c, p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED, reason);
	if (rv != SM_OK)
		sm_error("cannot record the failure of checkpoint %" PRIu64
		         " in the catalog: %s",
		    id, sm_strerror(rv));
	sm_warn("checkpoint %" PRIu64 " failed after %.1f ms (%d/%d tasks "
	        "acknowledged): %s",
	    id, (double) (coord_now_us(c) - p->trigger_us) / 1000.0,
	    p->n_acked, p->n_tasks, reason);
	Snapmark__CheckpointAbort a = SNAPMARK__CHECKPOINT_ABORT__INIT;
	a.epoch = p->epoch;
	a.checkpoint_id = id;
	a.reason = (char *) reason;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_ABORT;
	m.abort = &a;
	if (p->epoch == c->epoch)
		coord_broadcast(c, &m);
	coord_inflight_remove(c, p);
	if (final) {
		c->final_in_flight = 0;
		c->final_retry_us =
		    coord_now_us(c) + coord_checkpoint_retry_us(c);
	}
}

void
coord_abort_all(struct coord *c, const char *reason)
{
	while (c->n_pending > 0)
		coord_abort(c, c->pending[0], reason);
}

int
coord_explain_missing(struct coord *c, int task, Snapmark__ExplainTask **out)
{
	Snapmark__ExplainTask *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	snapmark__explain_task__init(e);
	int wid = c->task_worker[task];
	const struct coord_worker *w =
	    wid >= 1 && wid <= c->n_workers ? &c->workers[wid - 1] : NULL;
	uint64_t now = coord_now_us(c);
	e->worker_id = (uint32_t) wid;
	e->worker_alive = w != NULL && w->alive;
	uint64_t silent = w != NULL && w->last_seen_us != 0
	    ? (now - w->last_seen_us) / 1000
	    : 0;
	e->has_silent_ms = 1;
	e->silent_ms = silent;
	char doing[200], who[400];
	const struct coord_metrics *m = &c->metrics[task];
	if (m->epoch == c->epoch && m->at_us != 0)
		snprintf(doing, sizeof(doing),
		    "%" PRIu64 " records in, %" PRIu64 " out%s%.0f/s in, "
		    "%.0f/s out at its last heartbeat",
		    m->in, m->out, m->has_rate ? ", " : "",
		    m->has_rate ? m->in_per_s : 0.0,
		    m->has_rate ? m->out_per_s : 0.0);
	else
		snprintf(doing, sizeof(doing), "no heartbeat of this epoch");
	uint64_t hb = c->job.heartbeat_ms;
	if (w == NULL || !w->alive)
		snprintf(who, sizeof(who), "worker %d is lost; %s", wid, doing);
	else if (silent > 2 * hb + 100)
		snprintf(who, sizeof(who),
		    "worker %d (pid %u) silent for %" PRIu64
		    " ms (stopped or hung?); %s",
		    wid, w->pid, silent, doing);
	else if (m->has_rate && m->in_per_s == 0 && m->out_per_s == 0 &&
	    !c->task_drained[task])
		snprintf(who, sizeof(who),
		    "worker %d (pid %u) responsive; the task moved no records "
		    "(blocked or waiting for input); %s",
		    wid, w->pid, doing);
	else
		snprintf(who, sizeof(who),
		    "worker %d (pid %u) responsive; the task is processing "
		    "(barrier still queued or snapshot in progress?); %s",
		    wid, w->pid, doing);
	e->task = strdup(c->task_names[task]);
	e->last_seen = strdup(who);
	if (e->task == NULL || e->last_seen == NULL) {
		free(e->task);
		free(e->last_seen);
		free(e);
		return SM_ENOMEM;
	}
	*out = e;
	return SM_OK;
}
