/*
 * checkpointer.c - the checkpoint coordinator proper.
 *
 * trigger: reserve the next id durably (ids never repeat, also across
 *   restarts), open a pending checkpoint with its deadline, and tell every
 *   source task to inject barrier n.
 * ack: count it; when every task acknowledged, write the COMPLETED record
 *   and the "latest" pointer in one durable LMDB commit, and only then send
 *   checkpoint_complete(n) (sinks publish, tasks prune old snapshots).
 *   Older checkpoints still in flight are subsumed by n.
 * abort: a timeout or a declining task fails the checkpoint with a reason
 *   that is recorded and shown; too many consecutive failures end the
 *   epoch. A checkpoint that fails for want of storage (a full disk or
 *   LMDB map: SM_ENOSPC, SM_EMAPFULL, from a task's decline or from the
 *   catalog) is only aborted: the job keeps processing and the next one
 *   tries again, unless [checkpoint] fail_on_storage_error counts it too.
 *   A failed final checkpoint is tried again after the checkpoint interval
 *   (at least 100 ms), not at once.
 * finish: once every task drained its input, a final checkpoint commits
 *   the last output; the job is FINISHING until every task confirmed that
 *   it published it (recovery.c), then FINISHED.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "coordinator/coord.h"
#include "common/error.h"
#include "common/log.h"

struct coord_pending *
coord_find_pending(struct coord *c, uint64_t id)
{
	for (int i = 0; i < c->n_pending; i++)
		if (c->pending[i]->id == id)
			return c->pending[i];
	return NULL;
}

static void
checkpoint_remove(struct coord *c, struct coord_pending *p)
{
	for (int i = 0; i < c->n_pending; i++)
		if (c->pending[i] == p) {
			c->pending[i] = c->pending[--c->n_pending];
			break;
		}
	coord_pending_free(p);
}

/* How long a failed final checkpoint waits before it is tried again. */
static uint64_t
checkpoint_retry_us(const struct coord *c)
{
	uint64_t ms = c->job.checkpoint.interval_ms;
	return (ms < 100 ? 100 : ms) * 1000;
}

/* A full disk or LMDB map. */
static int
checkpoint_storage_error(int err)
{
	return err == SM_ENOSPC || err == SM_EMAPFULL;
}

int
coord_trigger(struct coord *c, int manual, int final,
    const char *savepoint_dir, int stop, uint64_t *id_out)
{
	if (c->state != COORD_RUNNING)
		return SM_EAGAIN;
	if (c->n_pending == COORD_MAX_PENDING)
		return SM_EAGAIN;
	/* A savepoint target is checked and created before anything is
	 * sent; the default one, which needs the id, right after. */
	char dir[700];
	c->savepoint_error[0] = '\0';
	if (savepoint_dir != NULL && savepoint_dir[0] != '\0' &&
	    coord_savepoint_target(c, savepoint_dir, dir, sizeof(dir),
	        c->savepoint_error, sizeof(c->savepoint_error)) != SM_OK) {
		sm_warn("savepoint refused: %s", c->savepoint_error);
		return SM_EINVAL;
	}
	uint64_t id, now = sm_now_us();
	int rv = coord_catalog_next_id(c->cat, &id);
	if (rv != SM_OK) {
		sm_error("cannot reserve a checkpoint id: %s", sm_strerror(rv));
		/* Try again after a pause, not on every tick. */
		c->last_trigger_us = now;
		if (final)
			c->final_retry_us = now + checkpoint_retry_us(c);
		return rv;
	}
	struct coord_pending *p;
	rv = coord_pending_alloc(id, c->epoch, c->job.n_tasks, now,
	    c->job.checkpoint.timeout_ms * 1000, &p);
	if (rv != SM_OK)
		return rv;
	p->trigger_wall_ms = sm_wall_ms();
	p->trigger_sent_us = sm_wall_us();
	p->manual = manual;
	p->final = final;
	p->stop = stop;
	if (savepoint_dir != NULL) {
		if (savepoint_dir[0] == '\0') {
			char def[700];
			snprintf(def, sizeof(def),
			    "%s/savepoints/savepoint-%" PRIu64, c->run_dir,
			    id);
			if (coord_savepoint_target(c, def, dir, sizeof(dir),
			        c->savepoint_error,
			        sizeof(c->savepoint_error)) != SM_OK) {
				sm_warn("savepoint refused: %s",
				    c->savepoint_error);
				coord_pending_free(p);
				return SM_EINVAL;
			}
		}
		if ((p->savepoint_dir = strdup(dir)) == NULL) {
			coord_pending_free(p);
			return SM_ENOMEM;
		}
	}
	c->pending[c->n_pending++] = p;
	c->last_trigger_us = now;
	if (final)
		c->final_in_flight = 1;

	Snapmark__TriggerBarrier t = SNAPMARK__TRIGGER_BARRIER__INIT;
	t.epoch = c->epoch;
	t.checkpoint_id = id;
	t.savepoint_dir = p->savepoint_dir;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_TRIGGER;
	m.trigger = &t;
	/* One message per worker with all of its source tasks: bucket the
	 * sources by worker in one pass (a counting sort), not one pass over
	 * all tasks per worker. */
	int nw = c->n_workers;
	size_t *start = calloc((size_t) nw + 2, sizeof(*start));
	uint32_t *by_worker = malloc((size_t) c->job.n_tasks * sizeof(*by_worker));
	for (int s = 0; start != NULL && by_worker != NULL &&
	     s < c->job.n_stages; s++)
		if (sm_job_is_source(&c->job, s))
			for (int k = 0; k < c->job.stages[s].parallelism; k++)
				start[c->task_worker[c->job.stages[s].first_task +
				    k] + 1]++;
	for (int w = 1; start != NULL && w <= nw + 1; w++)
		start[w] += start[w - 1];
	for (int s = 0; start != NULL && by_worker != NULL &&
	     s < c->job.n_stages; s++) {
		if (!sm_job_is_source(&c->job, s))
			continue;
		const struct sm_job_stage *st = &c->job.stages[s];
		for (int k = 0; k < st->parallelism; k++) {
			uint32_t task = (uint32_t) (st->first_task + k);
			by_worker[start[c->task_worker[task]]++] = task;
		}
	}
	/* start[w] now ends worker w's bucket, which begins at start[w-1]. */
	for (int w = 1; start != NULL && by_worker != NULL && w <= nw; w++) {
		size_t from = start[w - 1], to = start[w];
		if (from == to)
			continue;
		t.task = by_worker[from];
		t.more_tasks = by_worker + from + 1;
		t.n_more_tasks = to - from - 1;
		coord_send(c, w, &m);
	}
	free(start);
	free(by_worker);
	if (p->savepoint_dir != NULL)
		sm_info("savepoint %" PRIu64 " triggered into %s%s", id,
		    p->savepoint_dir, stop ? " (then stop)" : "");
	else
		sm_info("checkpoint %" PRIu64 " triggered%s", id,
		    final ? " (final)" : manual ? " (manual)" : "");
	*id_out = id;
	return SM_OK;
}

/* Record a checkpoint's end in the catalog. */
static int
checkpoint_record(struct coord *c, struct coord_pending *p,
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
	int rv = coord_pending_record(p, status, reason, sm_now_us(),
	    c->task_names, &r);
	if (rv != SM_OK)
		return rv;
	r->has_end_us = 1;
	r->end_us = sm_wall_us();
	/* A savepoint is complete once its self-contained metadata is on
	 * disk beside the task snapshots. */
	if (p->savepoint_dir != NULL &&
	    status == SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED)
		rv = coord_savepoint_write(c, r);
	if (rv == SM_OK)
		rv = coord_catalog_put(c->cat, r);
	coord_record_free(r);
	return rv;
}

void
coord_abort(struct coord *c, struct coord_pending *p, const char *reason)
{
	uint64_t id = p->id;
	int final = p->final;
	checkpoint_record(c, p, SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED,
	    reason);
	sm_warn("checkpoint %" PRIu64 " failed after %.1f ms (%d/%d tasks "
	        "acknowledged): %s",
	    id, (double) (sm_now_us() - p->trigger_us) / 1000.0, p->n_acked,
	    p->n_tasks, reason);
	Snapmark__CheckpointAbort a = SNAPMARK__CHECKPOINT_ABORT__INIT;
	a.epoch = p->epoch;
	a.checkpoint_id = id;
	a.reason = (char *) reason;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_ABORT;
	m.abort = &a;
	if (p->epoch == c->epoch)
		coord_broadcast(c, &m);
	checkpoint_remove(c, p);
	if (final) {
		c->final_in_flight = 0;
		c->final_retry_us = sm_now_us() + checkpoint_retry_us(c);
	}
}

void
coord_abort_all(struct coord *c, const char *reason)
{
	while (c->n_pending > 0)
		coord_abort(c, c->pending[0], reason);
}

/* The checkpoint failed for a reason that counts against the tolerance. */
static void
checkpoint_failed(struct coord *c, struct coord_pending *p,
    const char *reason)
{
	coord_abort(c, p, reason);
	c->consecutive_failures++;
	if (c->consecutive_failures > c->job.checkpoint.tolerable_failures) {
		char why[160];
		snprintf(why, sizeof(why),
		    "%u consecutive checkpoint failures exceed the tolerance "
		    "of %u",
		    c->consecutive_failures,
		    c->job.checkpoint.tolerable_failures);
		c->consecutive_failures = 0;
		coord_fail_epoch(c, why);
	}
}

/* The checkpoint failed with error err: for want of storage it is only
 * aborted, unless the job counts those failures too. */
static void
checkpoint_failed_err(struct coord *c, struct coord_pending *p,
    const char *reason, int err)
{
	if (checkpoint_storage_error(err) &&
	    !c->job.checkpoint.fail_on_storage_error) {
		coord_abort(c, p, reason);
		return;
	}
	checkpoint_failed(c, p, reason);
}

/* Ids of the newest `retained` completed checkpoints (n is one of them). */
static size_t
checkpoint_retained(struct coord *c, uint64_t *ids, size_t max)
{
	size_t n = 0;
	if (coord_catalog_completed_ids(c->cat, max, ids, &n) != SM_OK)
		return 0;
	return n;
}

static void
checkpoint_complete(struct coord *c, struct coord_pending *p)
{
	uint64_t acked = sm_now_us();
	int rv = checkpoint_record(c, p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED, NULL);
	uint64_t now = sm_now_us();
	if (rv != SM_OK) {
		char why[128];
		snprintf(why, sizeof(why), "committing the checkpoint record "
		                           "failed: %s",
		    sm_strerror(rv));
		checkpoint_failed_err(c, p, why, rv);
		return;
	}
	uint64_t bytes = 0;
	for (int i = 0; i < p->n_tasks; i++)
		bytes += p->acks[i].bytes;
	/* Trigger -> durable: the record's own duration stops at the last
	 * ack, since a record cannot contain the time of its own commit. */
	sm_info("checkpoint %" PRIu64 " completed in %.2f ms (%d tasks, "
	        "%" PRIu64 " bytes; last ack after %.2f ms, commit %.2f ms)%s",
	    p->id, (double) (now - p->trigger_us) / 1000.0, p->n_tasks, bytes,
	    (double) (acked - p->trigger_us) / 1000.0,
	    (double) (now - acked) / 1000.0, p->final ? " (final)" : "");

	uint64_t retained[256];
	size_t max = c->job.checkpoint.retained;
	if (max > 256)
		max = 256;
	Snapmark__CheckpointComplete done = SNAPMARK__CHECKPOINT_COMPLETE__INIT;
	done.epoch = p->epoch;
	done.checkpoint_id = p->id;
	done.n_retained = checkpoint_retained(c, retained, max);
	done.retained = retained;
	/* The job's last checkpoint: every task confirms it committed. */
	done.has_confirm = p->final || p->stop;
	done.confirm = done.has_confirm;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_COMPLETE;
	m.complete = &done;
	coord_broadcast(c, &m);

	uint64_t id = p->id;
	int final = p->final, stop = p->stop, savepoint = p->savepoint_dir != NULL;
	if (savepoint)
		sm_info("savepoint %" PRIu64 " written to %s", id,
		    p->savepoint_dir);
	checkpoint_remove(c, p);
	c->consecutive_failures = 0;
	c->last_complete_us = now;

	/* Older checkpoints in flight can never be newer than this one. */
	for (int i = 0; !savepoint && i < c->n_pending;) {
		if (c->pending[i]->id < id && c->pending[i]->savepoint_dir == NULL) {
			char why[64];
			snprintf(why, sizeof(why),
			    "subsumed by checkpoint %" PRIu64, id);
			coord_abort(c, c->pending[i], why);
			continue;
		}
		i++;
	}
	if (final || stop) {
		c->final_in_flight = 0;
		coord_abort_all(c, stop ? "the job stopped with a savepoint"
		                        : "the job finished");
		coord_begin_finishing(c, id, stop);
	}
}

/*
 * Acks and declines reach this point only from the worker that hosts the
 * task (coordinator.c checks the sender). Every ack that does not count
 * leaves a log line: at debug the expected ones (an epoch that is over, a
 * checkpoint already ended, an identical resend), a warning otherwise.
 */
void
coord_on_ack(struct coord *c, const Snapmark__Ack *ack)
{
	if (ack->epoch != c->epoch) {
		sm_debug("dropping an ack of checkpoint %" PRIu64 " from task "
		         "%u: epoch %" PRIu64 " is over (now %" PRIu64 ")",
		    ack->checkpoint_id, ack->task, ack->epoch, c->epoch);
		return;
	}
	struct coord_pending *p = coord_find_pending(c, ack->checkpoint_id);
	if (p == NULL) {
		sm_debug("late ack of checkpoint %" PRIu64 " from task %u",
		    ack->checkpoint_id, ack->task);
		return;
	}
	int rv = coord_pending_ack(p, ack, sm_now_us());
	if (rv == SM_OK) {
		/* Its timeline, on this process's clock: every worker's
		 * latest offset estimate applies to its own tasks' stamps. */
		int64_t *off = calloc((size_t) c->job.n_tasks, sizeof(*off));
		int wid = c->task_worker[ack->task];
		if (off != NULL) {
			for (int k = 0; k < c->job.n_tasks; k++) {
				int w = c->task_worker[k];
				if (w >= 1 && w <= c->n_workers)
					off[k] =
					    c->workers[w - 1].clock_offset_us;
			}
			coord_pending_timeline(p, ack, off, sm_wall_us(),
			    (uint32_t) wid);
		}
		free(off);
	}
	if (rv == SM_EINVAL)
		sm_warn("ignoring an invalid ack of checkpoint %" PRIu64
		        " (task %u)",
		    ack->checkpoint_id, ack->task);
	else if (rv == SM_EAGAIN && coord_pending_same_ack(p, ack))
		sm_debug("ignoring a repeated ack of checkpoint %" PRIu64
		         " from task %u",
		    ack->checkpoint_id, ack->task);
	else if (rv == SM_EAGAIN)
		sm_warn("ignoring an ack of checkpoint %" PRIu64 " from task "
		        "%u: it differs from the ack already counted for it",
		    ack->checkpoint_id, ack->task);
	else if (rv != SM_OK)
		sm_warn("dropping an ack of checkpoint %" PRIu64 " from task "
		        "%u: %s",
		    ack->checkpoint_id, ack->task, sm_strerror(rv));
	if (rv == SM_OK && coord_pending_complete(p))
		checkpoint_complete(c, p);
}

void
coord_on_decline(struct coord *c, const Snapmark__Decline *d)
{
	if (d->epoch != c->epoch) {
		sm_debug("dropping a decline of checkpoint %" PRIu64 " from "
		         "task %u: epoch %" PRIu64 " is over",
		    d->checkpoint_id, d->task, d->epoch);
		return;
	}
	struct coord_pending *p = coord_find_pending(c, d->checkpoint_id);
	if (p == NULL || d->task >= (uint32_t) c->job.n_tasks) {
		sm_debug("dropping a decline of checkpoint %" PRIu64 " from "
		         "task %u: not in flight",
		    d->checkpoint_id, d->task);
		return;
	}
	char why[320];
	snprintf(why, sizeof(why), "task %s declined: %s",
	    c->task_names[d->task], d->reason);
	checkpoint_failed_err(c, p, why, d->has_error ? (int) d->error : 0);
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
	uint64_t now = sm_now_us();
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

uint64_t
coord_checkpoint_tick(struct coord *c, uint64_t now)
{
	uint64_t wait = 100000;
	for (int i = 0; i < c->n_pending;) {
		struct coord_pending *p = c->pending[i];
		if (coord_pending_expired(p, now)) {
			char why[128];
			snprintf(why, sizeof(why),
			    "expired after %" PRIu64
			    " ms before all tasks acknowledged",
			    c->job.checkpoint.timeout_ms);
			checkpoint_failed(c, p, why);
			i = 0;
			continue;
		}
		if (p->deadline_us - now < wait)
			wait = p->deadline_us - now;
		i++;
	}
	if (c->state != COORD_RUNNING)
		return wait;

	uint64_t id;
	if (c->n_drained == c->job.n_tasks) {
		if (!c->final_in_flight && now >= c->final_retry_us)
			coord_trigger(c, 0, 1, NULL, 0, &id);
		else if (!c->final_in_flight && c->final_retry_us - now < wait)
			wait = c->final_retry_us - now;
		return wait;
	}
	const struct sm_job_checkpoint *cp = &c->job.checkpoint;
	if (cp->interval_ms == 0 || c->n_pending > 0)
		return wait;
	uint64_t due = c->last_trigger_us + cp->interval_ms * 1000;
	uint64_t pause = c->last_complete_us + cp->min_pause_ms * 1000;
	if (pause > due)
		due = pause;
	if (now >= due) {
		coord_trigger(c, 0, 0, NULL, 0, &id);
		due = now + cp->interval_ms * 1000;
	}
	if (due - now < wait)
		wait = due - now;
	return wait;
}
