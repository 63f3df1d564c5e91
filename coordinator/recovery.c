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
 *   finish:  the final checkpoint (or a stopping savepoint) committed ->
 *            FINISHING until every task of the epoch reported PUBLISHED
 *            for it, then FinishJob and FINISHED. A failure meanwhile ends
 *            the epoch like any other; if the latest checkpoint is final,
 *            the next epoch deploys every task publish-only (restore it,
 *            sinks publish, confirm) - also after a coordinator restart -
 *            so FINISHED always means the output is published.
 *
 * Restarts follow the job's [restart] strategy (Flink's fixed-delay and
 * exponential-delay): the deploy after a failure waits for the strategy's
 * delay, and a failure beyond its attempts makes the job FAILED with
 * "restart attempts exhausted (N): <reason>". The attempts used are kept in
 * the catalog, so a coordinator restart goes on counting; the coordinator's
 * own restart is not an attempt and waits for no delay (its workers did
 * nothing wrong), and a job that had exhausted its attempts stays FAILED.
 * Running reset_after_ms without a failure starts the count (and the
 * exponential delay) again.
 *
 * A task that cannot verify its snapshot makes that checkpoint unusable
 * and the coordinator falls back to the previous one in the next epoch.
 * Frames of older epochs are discarded by the channels (their addresses
 * also differ per epoch).
 *
 * A job started from a savepoint (savepoint.c) deploys it until its first
 * checkpoint of its own; a task that cannot restore it fails the job at
 * once (the coordinator verified it before the start: falling back or
 * deploying it again would only loop).
 *
 * It calls inflight.c (aborting the checkpoints of an epoch that ends) and
 * coord.c, never the checkpointer, which calls it.
 */
#include "coordinator/recovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "coordinator/inflight.h"

static int
recovery_is_unusable(const struct coord *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_unusable; i++)
		if (c->unusable[i] == id)
			return 1;
	return 0;
}

/* Remember that checkpoint id cannot be restored (for this coordinator's
 * life: the next deploy falls back past it). No fixed limit: every
 * checkpoint found unusable is kept. */
static int
recovery_mark_unusable(struct coord *c, uint64_t id)
{
	if (recovery_is_unusable(c, id))
		return SM_OK;
	if (c->n_unusable == c->cap_unusable) {
		size_t cap = c->cap_unusable ? 2 * c->cap_unusable : 16;
		uint64_t *u = realloc(c->unusable, cap * sizeof(*u));
		if (u == NULL)
			return SM_ENOMEM;
		c->unusable = u;
		c->cap_unusable = cap;
	}
	c->unusable[c->n_unusable++] = id;
	return SM_OK;
}

/* The restart strategy's verdict on the failure just seen: schedule the
 * next deploy, or fail the job for good. */
static void
recovery_schedule(struct coord *c, const char *reason)
{
	const struct sm_job_restart *r = &c->job.restart;
	uint64_t now = coord_now_us(c);
	if (r->reset_after_ms > 0 && c->running_since_us != 0 &&
	    now - c->running_since_us >= r->reset_after_ms * 1000 &&
	    c->restart_attempts > 0) {
		sm_info("the job ran %.1f s without a failure: restart "
		        "attempts and delay start again",
		    (double) (now - c->running_since_us) / 1e6);
		c->restart_attempts = 0;
	}
	c->running_since_us = 0;
	uint32_t n = c->restart_attempts + 1;
	c->restart_attempts = n;
	int rv = coord_catalog_put_counter(c->cat, "restart_attempts", n);
	if (rv != SM_OK)
		sm_warn("cannot record restart attempt %u: %s", n,
		    sm_strerror(rv));
	uint32_t allowed = r->strategy == SM_RESTART_NONE ? 0 : r->attempts;
	if (n > allowed) {
		char why[sizeof(c->last_failure)];
		snprintf(why, sizeof(why),
		    "restart attempts exhausted (%u): ", allowed);
		size_t len = strlen(why);
		snprintf(why + len, sizeof(why) - len, "%s", reason);
		memcpy(c->last_failure, why, sizeof(why));
		c->state = COORD_FAILED;
		rv = coord_catalog_put_text(c->cat, "restart_failed", why);
		if (rv != SM_OK)
			sm_warn("cannot record the job's failure: %s",
			    sm_strerror(rv));
		sm_error("job failed: %s", c->last_failure);
		return;
	}
	uint64_t delay = sm_job_restart_delay_ms(r, n);
	c->restart_due_us = now + delay * 1000;
	sm_warn("restart %u of %u (%s) in %" PRIu64 " ms", n, allowed,
	    sm_restart_strategy_name(r->strategy), delay);
}

void
coord_fail_epoch(struct coord *c, const char *reason)
{
	if (coord_job_ended(c))
		return;
	if ((c->state == COORD_RESTARTING || c->state == COORD_CREATED) &&
	    !c->deployed)
		return; /* nothing deployed yet: nothing to roll back */
	snprintf(c->last_failure, sizeof(c->last_failure), "%s", reason);
	sm_warn("epoch %" PRIu64 " failed: %s", c->epoch, reason);
	if (c->state != COORD_RESTARTING)
		c->failure_us = coord_now_us(c);
	char why[300];
	snprintf(why, sizeof(why), "epoch %" PRIu64 " failed: %s", c->epoch,
	    reason);
	coord_stop_epoch(c, why);
	c->state = COORD_RESTARTING;
	c->deployed = 0;
	uint64_t total;
	if (coord_catalog_count_restart(c->cat, &total) == SM_OK)
		c->restarts = (uint32_t) total;
	recovery_schedule(c, reason);
}

void
coord_stop_epoch(struct coord *c, const char *why)
{
	coord_abort_all(c, why);
	Snapmark__StopTasks s = SNAPMARK__STOP_TASKS__INIT;
	s.epoch = c->epoch;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_STOP;
	m.stop = &s;
	coord_broadcast(c, &m);
	memset(c->task_running, 0, (size_t) c->job.n_tasks);
	c->n_running = 0;
	c->final_in_flight = 0;
}

void
coord_recovery_start(struct coord *c)
{
	uint64_t epoch = 0, restarts = 0;
	coord_catalog_counter(c->cat, "epoch", &epoch);
	coord_catalog_counter(c->cat, "restarts", &restarts);
	c->restarts = (uint32_t) restarts;
	uint64_t attempts = 0;
	coord_catalog_counter(c->cat, "restart_attempts", &attempts);
	c->restart_attempts = (uint32_t) attempts;
	if (epoch == 0)
		return;
	/* The status saved when the job ended under a previous coordinator
	 * stays (coordinator.c coord_end_tick): this one knows less. */
	void *saved = NULL;
	size_t saved_len;
	int have_final = coord_catalog_get_bytes(c->cat, "final_status",
	                     &saved, &saved_len) == SM_OK;
	free(saved);
	if (have_final) /* a FINISHED job republishing keeps it too */
		c->end_saved = 2;
	/* Canceled under a previous coordinator: still CANCELED. */
	char ended[32];
	if (coord_catalog_get_text(c->cat, "final_state", ended,
	        sizeof(ended)) == SM_OK &&
	    strcmp(ended, "CANCELED") == 0) {
		c->epoch = epoch - 1;
		c->state = COORD_CANCELED;
		sm_info("job '%s' was canceled (before this coordinator "
		        "started)",
		    c->job.name);
		return;
	}
	/* Attempts exhausted under a previous coordinator: still FAILED. */
	char failed[sizeof(c->last_failure)];
	if (coord_catalog_get_text(c->cat, "restart_failed", failed,
	        sizeof(failed)) == SM_OK &&
	    failed[0] != '\0') {
		memcpy(c->last_failure, failed, sizeof(failed));
		c->state = COORD_FAILED;
		sm_error("job failed (before this coordinator started): %s",
		    c->last_failure);
		return;
	}
	/* A previous coordinator ran this job: this start is a recovery. The
	 * counter holds the next epoch to hand out. */
	c->epoch = epoch - 1;
	c->state = COORD_RESTARTING;
	c->failure_us = coord_now_us(c);
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
	/* Tasks keep the newest `retained` completed checkpoints (and the
	 * chains those need): older records describe deleted snapshots. */
	int rv = coord_catalog_list(c->cat, c->job.checkpoint.retained, 1,
	    &recs, &n);
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
			if (skipped == 0)
				skipped = r->id;
		}
		snapmark__checkpoint_record__free_unpacked(r, NULL);
	}
	free(recs);
	if (*chosen == NULL && n > 0 && c->savepoint == NULL) {
		snprintf(c->last_failure, sizeof(c->last_failure),
		    "no usable checkpoint to restore: all %zu retained "
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

void
coord_begin_finishing(struct coord *c, uint64_t id, int stop)
{
	c->state = COORD_FINISHING;
	c->finishing_id = id;
	c->finishing_stop = stop;
	c->finishing_since_us = coord_now_us(c);
	memset(c->task_published, 0, (size_t) c->job.n_tasks);
	c->n_published = 0;
	sm_info("job '%s' finishing: %s %" PRIu64 " committed; waiting for "
	        "every task to confirm its output is published",
	    c->job.name, stop ? "savepoint" : "final checkpoint", id);
}

/* Every task confirmed: only now is the job's output all published. */
static void
recovery_finished(struct coord *c)
{
	uint64_t id = c->finishing_id;
	c->state = COORD_FINISHED;
	coord_broadcast_finish(c);
	if (c->finishing_stop)
		sm_info("job '%s' stopped with savepoint %" PRIu64,
		    c->job.name, id);
	else
		sm_info("job '%s' finished: final checkpoint %" PRIu64
		        " committed all output, published by all %d tasks",
		    c->job.name, id, c->job.n_tasks);
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
	/* The latest checkpoint is the job's final one: nothing runs any
	 * more, but every task restores it (sinks publish what it
	 * pre-committed) and confirms before the job is FINISHED. */
	int publish_only = rec != NULL && rec->has_final && rec->final;
	/* Everything the Deploy needs is allocated before the epoch is
	 * taken: a failure leaves nothing deployed and is tried again. */
	char **prefixes = calloc((size_t) c->job.n_tasks, sizeof(char *));
	uint32_t *tasks = calloc((size_t) c->job.n_tasks, sizeof(uint32_t));
	Snapmark__TaskRestore *plan = calloc((size_t) c->job.n_tasks,
	    sizeof(*plan));
	Snapmark__TaskRestore **restores = calloc((size_t) c->job.n_tasks,
	    sizeof(*restores));
	uint64_t epoch;
	int rv = prefixes == NULL || tasks == NULL || plan == NULL ||
	        restores == NULL
	    ? SM_ENOMEM
	    : coord_catalog_next_epoch(c->cat, &epoch);
	if (rv != SM_OK) {
		sm_error("cannot %s: %s; retrying in 1 s",
		    rv == SM_ENOMEM ? "deploy a new epoch"
		                    : "reserve a new epoch",
		    sm_strerror(rv));
		c->restart_due_us = coord_now_us(c) + 1000000;
		goto done;
	}
	c->epoch = epoch;
	c->deployed = 1;
	c->deployed_us = coord_now_us(c);
	/* No checkpoint of its own yet: a savepoint it was started from. */
	int from_savepoint = rec == NULL && c->savepoint != NULL;
	c->restored_from_savepoint = from_savepoint;
	c->restored_from = rec != NULL ? rec->id
	    : from_savepoint          ? c->savepoint->record->id
	                              : 0;
	memset(c->task_running, 0, (size_t) c->job.n_tasks);
	memset(c->task_drained, 0, (size_t) c->job.n_tasks);
	c->n_running = c->n_drained = 0;
	c->last_trigger_us = coord_now_us(c);
	int undelivered = 0; /* a worker the Deploy did not reach */

	for (int t = 0; t < c->job.n_tasks; t++) {
		prefixes[t] = c->workers[c->task_worker[t] - 1].prefix;
		if (from_savepoint) {
			plan[t] = c->savepoint_plan[t];
			/* handle locations must lie in it (worker/trust.h) */
			plan[t].savepoint_dir = c->restore_from;
		} else {
			snapmark__task_restore__init(&plan[t]);
			plan[t].task = (uint32_t) t;
			if (rec != NULL) {
				plan[t].n_handles = 1;
				plan[t].handles = &rec->tasks[t]->handle;
			}
		}
	}
	for (int w = 1; w <= c->n_workers; w++) {
		Snapmark__Deploy d = SNAPMARK__DEPLOY__INIT;
		d.epoch = epoch;
		d.job_text = c->job_text;
		d.job_dir = (char *) sm_job_dir(&c->job);
		d.n_task_worker_prefix = (size_t) c->job.n_tasks;
		d.task_worker_prefix = prefixes;
		d.tasks = tasks;
		d.restores = restores;
		d.has_heartbeat_ms = 1;
		d.heartbeat_ms = (uint32_t) c->job.heartbeat_ms;
		d.has_publish_only = publish_only;
		d.publish_only = publish_only;
		if (c->restored_from != 0) {
			d.has_restore_checkpoint_id = 1;
			d.restore_checkpoint_id = c->restored_from;
		}
		for (int t = 0; t < c->job.n_tasks; t++) {
			if (c->task_worker[t] != w)
				continue;
			tasks[d.n_tasks++] = (uint32_t) t;
			if (plan[t].n_handles > 0)
				restores[d.n_restores++] = &plan[t];
		}
		if (!c->workers[w - 1].alive)
			continue;
		Snapmark__Control m = SNAPMARK__CONTROL__INIT;
		m.body_case = SNAPMARK__CONTROL__BODY_DEPLOY;
		m.deploy = &d;
		if (coord_send(c, w, &m) != SM_OK && undelivered == 0)
			undelivered = w;
	}
	if (publish_only) {
		sm_info("epoch %" PRIu64 ": deploying %d tasks to publish "
		        "final checkpoint %" PRIu64 " (nothing runs)",
		    epoch, c->job.n_tasks, rec->id);
		coord_begin_finishing(c, rec->id, 0);
	} else if (rec != NULL)
		sm_info("epoch %" PRIu64 ": deploying %d tasks, restoring "
		        "checkpoint %" PRIu64,
		    epoch, c->job.n_tasks, rec->id);
	else if (from_savepoint)
		sm_info("epoch %" PRIu64 ": deploying %d tasks from savepoint "
		        "%" PRIu64 " (%s)",
		    epoch, c->job.n_tasks, c->restored_from, c->restore_from);
	else
		sm_info("epoch %" PRIu64 ": deploying %d tasks from the start "
		        "(no completed checkpoint)",
		    epoch, c->job.n_tasks);
	if (undelivered != 0) {
		/* Its tasks would never run and the epoch would wait for
		 * them forever: fail it, and the next one deploys again. */
		char why[96];
		snprintf(why, sizeof(why),
		    "the deploy of epoch %" PRIu64 " did not reach worker %d",
		    epoch, undelivered);
		coord_fail_epoch(c, why);
	}
done:
	free(prefixes);
	free(tasks);
	free(plan);
	free(restores);
	snapmark__checkpoint_record__free_unpacked(rec, NULL);
}

void
coord_recovery_tick(struct coord *c, uint64_t now_us)
{
	/* A deploy has a deadline: tasks that never report RUNNING (a lost
	 * message, a wedged restore) must not keep the job RESTARTING for
	 * good. Each task that reports RUNNING restarts the wait. */
	uint64_t deploy_limit = c->job.checkpoint.timeout_ms * 1000;
	if ((c->state == COORD_CREATED || c->state == COORD_RESTARTING) &&
	    c->deployed && now_us > c->deployed_us &&
	    now_us - c->deployed_us > deploy_limit) {
		char why[160];
		snprintf(why, sizeof(why),
		    "%d of %d tasks of epoch %" PRIu64 " reported running "
		    "within %" PRIu64 " ms of the last progress of its deploy",
		    c->n_running, c->job.n_tasks, c->epoch,
		    c->job.checkpoint.timeout_ms);
		coord_fail_epoch(c, why);
	}
	/* A confirmation that never comes (a lost message, a wedged task)
	 * must not keep the job FINISHING for good: a new epoch publishes
	 * again, which is idempotent. */
	uint64_t limit = c->job.checkpoint.timeout_ms * 1000;
	if (c->state == COORD_FINISHING && now_us > c->finishing_since_us &&
	    now_us - c->finishing_since_us > limit) {
		char why[160];
		snprintf(why, sizeof(why),
		    "%d of %d tasks confirmed publishing checkpoint %" PRIu64
		    " within %" PRIu64 " ms",
		    c->n_published, c->job.n_tasks, c->finishing_id,
		    c->job.checkpoint.timeout_ms);
		coord_fail_epoch(c, why);
	}
	if ((c->state == COORD_CREATED || c->state == COORD_RESTARTING) &&
	    !c->deployed && now_us >= c->restart_due_us &&
	    recovery_all_workers_alive(c))
		recovery_deploy(c);
}

void
coord_on_task_event(struct coord *c, const Snapmark__TaskEvent *ev)
{
	if (ev->epoch != c->epoch || ev->task >= (uint32_t) c->job.n_tasks) {
		sm_debug("dropping a task event (%d) of task %u: epoch "
		         "%" PRIu64 " is over (now %" PRIu64 ")",
		    (int) ev->kind, ev->task, ev->epoch, c->epoch);
		return;
	}
	const char *name = c->task_names[ev->task];
	char why[400];
	switch (ev->kind) {
	case SNAPMARK__TASK_EVENT__KIND__RUNNING:
		if (c->task_running[ev->task] || coord_job_ended(c))
			break;
		c->task_running[ev->task] = 1;
		c->deployed_us = coord_now_us(c); /* progress */
		if (++c->n_running < c->job.n_tasks ||
		    c->state == COORD_RUNNING || c->state == COORD_FINISHING)
			break;
		if (c->state == COORD_RESTARTING) {
			c->last_restore_us = coord_now_us(c) - c->failure_us;
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
		c->last_trigger_us = coord_now_us(c);
		c->running_since_us = c->last_trigger_us;
		break;
	case SNAPMARK__TASK_EVENT__KIND__PUBLISHED:
		if (c->state != COORD_FINISHING || !ev->has_checkpoint_id ||
		    ev->checkpoint_id != c->finishing_id ||
		    c->task_published[ev->task])
			break;
		c->task_published[ev->task] = 1;
		c->finishing_since_us = coord_now_us(c); /* progress */
		if (++c->n_published == c->job.n_tasks)
			recovery_finished(c);
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
		if (coord_job_ended(c))
			break;
		uint64_t id = ev->has_checkpoint_id ? ev->checkpoint_id
		                                    : c->restored_from;
		if (c->restored_from_savepoint) {
			/* The coordinator verified the savepoint before the
			 * start; there is nothing older to fall back to, and
			 * deploying it again would only loop. */
			char spwhy[1200];
			snprintf(spwhy, sizeof(spwhy),
			    "savepoint %" PRIu64 " at %s cannot be restored: "
			    "task %s: %s",
			    id, c->restore_from, name,
			    ev->reason ? ev->reason : "no reason given");
			coord_fail_epoch(c, spwhy);
			c->state = COORD_FAILED;
			sm_error("job failed: %s", spwhy);
			break;
		}
		if (recovery_mark_unusable(c, id) != SM_OK)
			sm_error("cannot remember that checkpoint %" PRIu64
			         " is unusable: %s; the next epoch may try it "
			         "again",
			    id, sm_strerror(SM_ENOMEM));
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

int
coord_worker_lost(struct coord *c, int id, const char *why)
{
	struct coord_worker *w = &c->workers[id - 1];
	if (!w->alive)
		return 0;
	w->alive = 0;
	char reason[160];
	snprintf(reason, sizeof(reason), "worker %d (pid %u) %s", id, w->pid,
	    why);
	if (coord_job_ended(c)) {
		/* Told the job ended, it exits: expected. */
		sm_info("%s (the job has ended)", reason);
		return 1;
	}
	sm_warn("%s", reason);
	coord_fail_epoch(c, reason);
	return 1;
}
