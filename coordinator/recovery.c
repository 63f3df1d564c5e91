/*
 * recovery.c - epochs, failover and restore.
 *
 * An epoch is one deployment of every task of the job. Any failure inside
 * it - a worker's connection dropping, a heartbeat going silent, a task
 * reporting a lost channel - ends the whole epoch: NNG drops in-flight
 * messages of a broken connection, so no channel of a failed epoch can be
 * trusted, and rolling every task back to one consistent cut is what makes
 * the output exactly-once.
 *
 *   fail:    abort pending checkpoints, tell every worker to stop its
 *            tasks, state RESTARTING
 *   wait:    until every worker that hosts tasks is registered and alive
 *            (a restarted worker re-registers with the same id)
 *   choose:  the latest COMPLETED checkpoint that lists every task and is
 *            not known to be unusable; none completed yet -> start fresh;
 *            some completed but none usable -> FAILED, never a silent
 *            fresh start
 *   deploy:  a new epoch number (persisted, so it only grows), every task
 *            with its snapshot handle; tasks verify their snapshot and
 *            report RUNNING or RESTORE_FAILED
 *   resume:  all RUNNING -> state RUNNING, the failure-to-resume time is
 *            logged and shown by `snapmark status`
 *
 * A task that cannot verify its snapshot makes that checkpoint unusable
 * and the coordinator falls back to the previous one in the next epoch.
 * Frames of older epochs are discarded by the channels (their addresses
 * also differ per epoch).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "coord.h"
#include "error.h"
#include "log.h"

static int
recovery_is_unusable(const struct coord *c, uint64_t id)
{
	for (int i = 0; i < c->n_unusable; i++)
		if (c->unusable[i] == id)
			return 1;
	return 0;
}

static void
recovery_mark_unusable(struct coord *c, uint64_t id)
{
	if (!recovery_is_unusable(c, id) && c->n_unusable < COORD_MAX_UNUSABLE)
		c->unusable[c->n_unusable++] = id;
}

void
coord_fail_epoch(struct coord *c, const char *reason)
{
	if (c->state == COORD_FINISHED || c->state == COORD_FAILED)
		return;
	if ((c->state == COORD_RESTARTING || c->state == COORD_CREATED) &&
	    !c->deployed)
		return; /* nothing deployed yet: nothing to roll back */
	snprintf(c->last_failure, sizeof(c->last_failure), "%s", reason);
	sm_warn("epoch %" PRIu64 " failed: %s", c->epoch, reason);
	if (c->state != COORD_RESTARTING)
		c->failure_us = sm_now_us();
	char why[300];
	snprintf(why, sizeof(why), "epoch %" PRIu64 " failed: %s", c->epoch,
	    reason);
	coord_abort_all(c, why);
	Snapmark__StopTasks s = SNAPMARK__STOP_TASKS__INIT;
	s.epoch = c->epoch;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_STOP;
	m.stop = &s;
	coord_broadcast(c, &m);
	c->state = COORD_RESTARTING;
	c->deployed = 0;
	uint64_t total;
	if (coord_catalog_count_restart(c->cat, &total) == SM_OK)
		c->restarts = (uint32_t) total;
	c->final_in_flight = 0;
}

void
coord_recovery_start(struct coord *c)
{
	uint64_t epoch = 0, restarts = 0;
	coord_catalog_counter(c->cat, "epoch", &epoch);
	coord_catalog_counter(c->cat, "restarts", &restarts);
	c->restarts = (uint32_t) restarts;
	if (epoch == 0)
		return;
	/* A previous coordinator ran this job: this start is a recovery. The
	 * counter holds the next epoch to hand out. */
	c->epoch = epoch - 1;
	c->state = COORD_RESTARTING;
	c->failure_us = sm_now_us();
	if (coord_catalog_count_restart(c->cat, &restarts) == SM_OK)
		c->restarts = (uint32_t) restarts;
	snprintf(c->last_failure, sizeof(c->last_failure),
	    "coordinator restarted during epoch %" PRIu64, c->epoch);
	sm_warn("recovering: a previous coordinator ran epoch %" PRIu64
	        "; waiting for the workers to reconnect",
	    c->epoch);
}

/* Pick the checkpoint to restore: *id = 0 means start fresh. */
static int
recovery_choose(struct coord *c, Snapmark__CheckpointRecord **chosen)
{
	Snapmark__CheckpointRecord **recs;
	size_t n = 0;
	int rv = coord_catalog_list(c->cat, 1024, 1, &recs, &n);
	if (rv != SM_OK)
		return rv;
	*chosen = NULL;
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		Snapmark__CheckpointRecord *r = recs[i];
		int complete = r->n_tasks == (size_t) c->job.n_tasks;
		for (size_t k = 0; complete && k < r->n_tasks; k++)
			complete = r->tasks[k]->task == k &&
			    r->tasks[k]->handle != NULL;
		if (*chosen == NULL && complete &&
		    !recovery_is_unusable(c, r->id)) {
			*chosen = r;
			continue;
		}
		if (*chosen == NULL) {
			if (!complete)
				sm_warn("checkpoint %" PRIu64 " does not list "
				        "every task; not restorable",
				    r->id);
			skipped = r->id;
		}
		snapmark__checkpoint_record__free_unpacked(r, NULL);
	}
	free(recs);
	if (*chosen == NULL && n > 0) {
		snprintf(c->last_failure, sizeof(c->last_failure),
		    "no usable checkpoint to restore: all %zu completed "
		    "checkpoints are unusable (newest: %" PRIu64 ")",
		    n, skipped);
		return SM_ECORRUPT;
	}
	if (*chosen != NULL && skipped > (*chosen)->id)
		sm_warn("falling back to checkpoint %" PRIu64
		        ": newer checkpoint %" PRIu64 " is unusable",
		    (*chosen)->id, skipped);
	return SM_OK;
}

static int
recovery_all_workers_alive(const struct coord *c)
{
	for (int t = 0; t < c->job.n_tasks; t++)
		if (!c->workers[c->task_worker[t] - 1].alive)
			return 0;
	return 1;
}

static void
recovery_finish_without_running(struct coord *c, uint64_t id)
{
	c->state = COORD_FINISHED;
	c->restored_from = id;
	sm_info("latest checkpoint %" PRIu64 " is the job's final one: the "
	        "job has finished",
	    id);
	Snapmark__FinishJob f = SNAPMARK__FINISH_JOB__INIT;
	f.epoch = c->epoch;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_FINISH;
	m.finish = &f;
	coord_broadcast(c, &m);
}

static void
recovery_deploy(struct coord *c)
{
	Snapmark__CheckpointRecord *rec = NULL;
	if (recovery_choose(c, &rec) != SM_OK) {
		c->state = COORD_FAILED;
		sm_error("job failed: %s", c->last_failure);
		return;
	}
	if (rec != NULL && rec->has_final && rec->final) {
		recovery_finish_without_running(c, rec->id);
		snapmark__checkpoint_record__free_unpacked(rec, NULL);
		return;
	}
	uint64_t epoch;
	if (coord_catalog_next_epoch(c->cat, &epoch) != SM_OK) {
		sm_error("cannot reserve a new epoch; retrying");
		snapmark__checkpoint_record__free_unpacked(rec, NULL);
		return;
	}
	c->epoch = epoch;
	c->deployed = 1;
	c->restored_from = rec != NULL ? rec->id : 0;
	memset(c->task_running, 0, (size_t) c->job.n_tasks);
	memset(c->task_drained, 0, (size_t) c->job.n_tasks);
	c->n_running = c->n_drained = 0;
	c->last_trigger_us = sm_now_us();

	char **prefixes = calloc((size_t) c->job.n_tasks, sizeof(char *));
	uint32_t *tasks = calloc((size_t) c->job.n_tasks, sizeof(uint32_t));
	Snapmark__SnapshotHandle **handles = calloc((size_t) c->job.n_tasks,
	    sizeof(*handles));
	if (prefixes == NULL || tasks == NULL || handles == NULL) {
		sm_error("out of memory deploying epoch %" PRIu64, epoch);
		goto done;
	}
	for (int t = 0; t < c->job.n_tasks; t++)
		prefixes[t] = c->workers[c->task_worker[t] - 1].prefix;
	for (int w = 1; w <= c->n_workers; w++) {
		Snapmark__Deploy d = SNAPMARK__DEPLOY__INIT;
		d.epoch = epoch;
		d.job_text = c->job_text;
		d.n_task_worker_prefix = (size_t) c->job.n_tasks;
		d.task_worker_prefix = prefixes;
		d.tasks = tasks;
		d.restore = handles;
		d.has_heartbeat_ms = 1;
		d.heartbeat_ms = (uint32_t) c->job.heartbeat_ms;
		if (rec != NULL) {
			d.has_restore_checkpoint_id = 1;
			d.restore_checkpoint_id = rec->id;
		}
		for (int t = 0; t < c->job.n_tasks; t++) {
			if (c->task_worker[t] != w)
				continue;
			tasks[d.n_tasks++] = (uint32_t) t;
			if (rec != NULL)
				handles[d.n_restore++] = rec->tasks[t]->handle;
		}
		if (!c->workers[w - 1].alive)
			continue;
		Snapmark__Control m = SNAPMARK__CONTROL__INIT;
		m.body_case = SNAPMARK__CONTROL__BODY_DEPLOY;
		m.deploy = &d;
		coord_send(c, w, &m);
	}
	if (rec != NULL)
		sm_info("epoch %" PRIu64 ": deploying %d tasks, restoring "
		        "checkpoint %" PRIu64,
		    epoch, c->job.n_tasks, rec->id);
	else
		sm_info("epoch %" PRIu64 ": deploying %d tasks from the start "
		        "(no completed checkpoint)",
		    epoch, c->job.n_tasks);
done:
	free(prefixes);
	free(tasks);
	free(handles);
	snapmark__checkpoint_record__free_unpacked(rec, NULL);
}

void
coord_recovery_tick(struct coord *c, uint64_t now_us)
{
	if ((c->state == COORD_CREATED || c->state == COORD_RESTARTING) &&
	    !c->deployed && recovery_all_workers_alive(c))
		recovery_deploy(c);
}

void
coord_on_task_event(struct coord *c, const Snapmark__TaskEvent *ev)
{
	if (ev->epoch != c->epoch || ev->task >= (uint32_t) c->job.n_tasks)
		return;
	const char *name = c->task_names[ev->task];
	char why[400];
	switch (ev->kind) {
	case SNAPMARK__TASK_EVENT__KIND__RUNNING:
		if (c->task_running[ev->task])
			break;
		c->task_running[ev->task] = 1;
		if (++c->n_running < c->job.n_tasks ||
		    c->state == COORD_RUNNING)
			break;
		if (c->state == COORD_RESTARTING) {
			c->last_restore_us = sm_now_us() - c->failure_us;
			sm_info("epoch %" PRIu64 ": all %d tasks running; "
			        "restored from checkpoint %" PRIu64
			        ", %.1f ms after the failure was detected",
			    c->epoch, c->job.n_tasks, c->restored_from,
			    (double) c->last_restore_us / 1000.0);
		} else {
			sm_info("epoch %" PRIu64 ": all %d tasks running%s",
			    c->epoch, c->job.n_tasks,
			    c->restored_from ? " (restored)" : "");
		}
		c->state = COORD_RUNNING;
		c->last_trigger_us = sm_now_us();
		break;
	case SNAPMARK__TASK_EVENT__KIND__DRAINED:
		if (!c->task_drained[ev->task]) {
			c->task_drained[ev->task] = 1;
			c->n_drained++;
		}
		break;
	case SNAPMARK__TASK_EVENT__KIND__FAILED:
		snprintf(why, sizeof(why), "task %s failed: %s", name,
		    ev->reason ? ev->reason : "no reason given");
		coord_fail_epoch(c, why);
		break;
	case SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED: {
		uint64_t id = ev->has_checkpoint_id ? ev->checkpoint_id
		                                    : c->restored_from;
		recovery_mark_unusable(c, id);
		snprintf(why, sizeof(why),
		    "checkpoint %" PRIu64 " is unusable: task %s cannot "
		    "restore it (%s); falling back to the previous completed "
		    "checkpoint",
		    id, name, ev->reason ? ev->reason : "no reason given");
		sm_error("%s", why);
		coord_fail_epoch(c, why);
		break;
	}
	default:
		break;
	}
}
