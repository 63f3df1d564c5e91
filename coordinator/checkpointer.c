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
 *
 * Every failure on the way fails the checkpoint (or, past the tolerance,
 * the epoch) with a log line: a trigger whose allocations fail or that
 * does not reach a worker does not wait to expire.
 *
 * It calls recovery.c (failing the epoch, FINISHING), inflight.c and
 * savepoint.c; none of them calls it.
 */
#include "coordinator/checkpointer.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "coordinator/inflight.h"
#include "coordinator/recovery.h"
#include "coordinator/savepoint.h"

/* A full disk or LMDB map. */
static int
checkpoint_storage_error(int err)
{
	return err == SM_ENOSPC || err == SM_EMAPFULL;
}

/* A trigger that failed before anything was sent: try again after a
 * pause, not on every tick. */
static void
checkpoint_pause(struct coord *c, int final, uint64_t now)
{
	c->last_trigger_us = now;
	if (final)
		c->final_retry_us = now + coord_checkpoint_retry_us(c);
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
	uint64_t id, now = coord_now_us(c);
	int rv = coord_catalog_next_id(c->cat, &id);
	if (rv != SM_OK) {
		sm_error("cannot reserve a checkpoint id: %s", sm_strerror(rv));
		checkpoint_pause(c, final, now);
		return rv;
	}
	struct coord_pending *p;
	rv = coord_pending_alloc(id, c->epoch, c->job.n_tasks, now,
	    c->job.checkpoint.timeout_ms * 1000, &p);
	if (rv != SM_OK) {
		sm_error("checkpoint %" PRIu64 " failed before its trigger: "
		         "%s",
		    id, sm_strerror(rv));
		checkpoint_pause(c, final, now);
		return rv;
	}
	p->trigger_wall_ms = coord_wall_us(c) / 1000;
	p->trigger_sent_us = coord_wall_us(c);
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
			sm_error("savepoint %" PRIu64 " failed before its "
			         "trigger: %s",
			    id, sm_strerror(SM_ENOMEM));
			coord_pending_free(p);
			checkpoint_pause(c, final, now);
			return SM_ENOMEM;
		}
	}
	c->pending[c->n_pending++] = p;
	c->last_trigger_us = now;
	if (final)
		c->final_in_flight = 1;

	/* One message per worker with all of its source tasks: bucket the
	 * sources by worker in one pass (a counting sort), not one pass over
	 * all tasks per worker. */
	int nw = c->n_workers;
	size_t *start = calloc((size_t) nw + 2, sizeof(*start));
	uint32_t *by_worker =
	    malloc((size_t) c->job.n_tasks * sizeof(*by_worker));
	if (start == NULL || by_worker == NULL) {
		free(start);
		free(by_worker);
		/* Nothing was sent: it cannot complete. */
		coord_abort(c, p, "out of memory sending its trigger");
		return SM_ENOMEM;
	}
	for (int s = 0; s < c->job.n_stages; s++)
		if (sm_job_is_source(&c->job, s))
			for (int k = 0; k < c->job.stages[s].parallelism; k++)
				start[c->task_worker[c->job.stages[s].first_task +
				    k] + 1]++;
	for (int w = 1; w <= nw + 1; w++)
		start[w] += start[w - 1];
	for (int s = 0; s < c->job.n_stages; s++) {
		if (!sm_job_is_source(&c->job, s))
			continue;
		const struct sm_job_stage *st = &c->job.stages[s];
		for (int k = 0; k < st->parallelism; k++) {
			uint32_t task = (uint32_t) (st->first_task + k);
			by_worker[start[c->task_worker[task]]++] = task;
		}
	}
	Snapmark__TriggerBarrier t = SNAPMARK__TRIGGER_BARRIER__INIT;
	t.epoch = c->epoch;
	t.checkpoint_id = id;
	t.savepoint_dir = p->savepoint_dir;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_TRIGGER;
	m.trigger = &t;
	/* start[w] now ends worker w's bucket, which begins at start[w-1]. */
	int undelivered = 0, send_rv = SM_OK;
	for (int w = 1; w <= nw; w++) {
		size_t from = start[w - 1], to = start[w];
		if (from == to)
			continue;
		t.task = by_worker[from];
		t.more_tasks = by_worker + from + 1;
		t.n_more_tasks = to - from - 1;
		int srv = coord_send(c, w, &m);
		if (srv != SM_OK && srv != SM_ESTOPPED && undelivered == 0) {
			undelivered = w;
			send_rv = srv;
		}
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
	if (undelivered != 0) {
		/* Its sources there never inject the barrier: it cannot
		 * complete, so it fails now rather than expire later. */
		char why[160];
		snprintf(why, sizeof(why),
		    "its trigger did not reach worker %d: %s", undelivered,
		    sm_strerror(send_rv));
		checkpoint_failed(c, p, why);
	}
	return SM_OK;
}

/* The ids of the newest `retained` completed checkpoints (p among them),
 * for the tasks to keep: malloc'd into *ids (NULL if none). No fixed
 * limit: at most p->id of them exist. A failure is logged and sends an
 * empty list (the tasks then prune nothing). */
static size_t
checkpoint_retained(struct coord *c, const struct coord_pending *p,
    uint64_t **ids)
{
	size_t max = c->job.checkpoint.retained, n = 0;
	if (max > p->id)
		max = (size_t) p->id;
	*ids = malloc((max > 0 ? max : 1) * sizeof(**ids));
	int rv = *ids == NULL ? SM_ENOMEM
	                      : coord_catalog_completed_ids(c->cat, max, *ids,
	                            &n);
	if (rv != SM_OK) {
		sm_warn("checkpoint %" PRIu64 ": cannot list the checkpoints "
		        "to retain: %s; the tasks prune nothing this time",
		    p->id, sm_strerror(rv));
		free(*ids);
		*ids = NULL;
		return 0;
	}
	return n;
}

static void
checkpoint_complete(struct coord *c, struct coord_pending *p)
{
	uint64_t acked = coord_now_us(c);
	int rv = coord_checkpoint_record(c, p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED, NULL);
	uint64_t now = coord_now_us(c);
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

	uint64_t *retained = NULL;
	Snapmark__CheckpointComplete done = SNAPMARK__CHECKPOINT_COMPLETE__INIT;
	done.epoch = p->epoch;
	done.checkpoint_id = p->id;
	done.n_retained = checkpoint_retained(c, p, &retained);
	done.retained = retained;
	/* The job's last checkpoint: every task confirms it committed. */
	done.has_confirm = p->final || p->stop;
	done.confirm = done.has_confirm;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_COMPLETE;
	m.complete = &done;
	coord_broadcast(c, &m);
	free(retained);

	uint64_t id = p->id;
	int final = p->final, stop = p->stop;
	int savepoint = p->savepoint_dir != NULL;
	if (savepoint)
		sm_info("savepoint %" PRIu64 " written to %s", id,
		    p->savepoint_dir);
	coord_inflight_remove(c, p);
	c->consecutive_failures = 0;
	c->last_complete_us = now;

	/* Older checkpoints in flight can never be newer than this one. */
	for (int i = 0; !savepoint && i < c->n_pending;) {
		if (c->pending[i]->id < id &&
		    c->pending[i]->savepoint_dir == NULL) {
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
	int rv = coord_pending_ack(p, ack, coord_now_us(c));
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
			coord_pending_timeline(p, ack, off, coord_wall_us(c),
			    (uint32_t) wid);
		} else {
			sm_warn("checkpoint %" PRIu64 ": no timeline for task "
			        "%u: out of memory",
			    ack->checkpoint_id, ack->task);
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
