/*
 * task.c - a task's loop and lifecycle (task.h).
 *
 * The loop of a non-source task, in one thread:
 *
 *   poll(inbox, every input that is neither blocked nor ended)
 *   commands from the inbox (complete, abort)
 *   frames from readable inputs:
 *     RECORDS      -> operator.process -> emitter batches per output
 *     WATERMARK    -> the input's watermark; when the minimum over the
 *                     inputs advances: the event-time hook, then forward
 *     BARRIER n    -> alignment; when aligned: capture state (sync part),
 *                     flush outputs, forward barrier n, write the snapshot
 *                     to LMDB, fsync, acknowledge
 *     END_OF_DATA  -> the input's watermark is +infinity; when every input
 *                     ended: operator.end_input, forward
 *   flush output batches older than the linger (1 ms)
 *
 * A source does the same with operator.generate instead of inputs, and
 * injects barrier n when the coordinator's trigger reaches its inbox: it
 * captures its offset, flushes, and emits the barrier on every output, in
 * order with its records.
 *
 * This file owns the loop and the lifecycle (start, thread, stop); the
 * outputs, the wiring and the restore are in the other task_*.c files
 * (task_internal.h).
 */
#include "worker/task.h"
#include "worker/task_internal.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "worker/align.h"
#include "common/channel.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/operators/operator.h"
#include "worker/snapwriter.h"
#include "common/store.h"


#define TASK_FRAMES_PER_ROUND 16

/* ------------------------------------------------------------ reporting */

static void
task_report(struct worker_task *t, Snapmark__TaskEvent__Kind kind,
    uint64_t checkpoint_id, const char *reason)
{
	worker_report_event(t->send, t->send_ctx, t->epoch, (uint32_t) t->task,
	    t->name, kind, checkpoint_id, reason);
}

static void
task_decline(struct worker_task *t, uint64_t id, const char *reason)
{
	worker_decline(t->send, t->send_ctx, t->epoch, id, (uint32_t) t->task,
	    t->name, reason);
}

/* ------------------------------------------------------------ snapshots */

/*
 * Take checkpoint `id`: the synchronous part captures what changed in the
 * operator's state, then the barrier goes downstream at once (so
 * downstream alignment starts as early as possible), and the snapshot
 * writer persists and acknowledges it on its own thread while this one
 * returns to the records.
 */
static int
task_checkpoint(struct worker_task *t, uint64_t id, uint64_t align_us,
    const char *savepoint_dir, uint64_t trigger_received_us)
{
	struct sm_snapshot_data data;
	memset(&data, 0, sizeof(data));
	uint64_t t0 = sm_now_us();
	int rv = t->op->ops->snapshot != NULL
	    ? t->op->ops->snapshot(t->op, id, &data)
	    : SM_OK;
	data.drained = t->drained;
	uint64_t sync_us = sm_now_us() - t0;
	if (rv != SM_OK) {
		char why[128];
		snprintf(why, sizeof(why), "operator snapshot failed: %s",
		    sm_strerror(rv));
		worker_decline_err(t->send, t->send_ctx, t->epoch, id,
		    (uint32_t) t->task, t->name, why, rv);
		/* An operator that said why it failed fails the task. */
		return t->op->why[0] != '\0' ? rv : SM_OK;
	}
	rv = task_send_marker(t, SNAPMARK__FRAME__KIND__BARRIER, id,
	    savepoint_dir);
	struct sm_ack_timeline tl = { .trigger_received_us =
		                          trigger_received_us };
	if (!t->is_source && t->tl_id == id)
		tl = t->tl;
	tl.barrier_sent_us = sm_wall_us();
	if (rv == SM_OK &&
	    sm_snapwriter_submit_timeline(t->writer, id, &data, savepoint_dir,
	        sync_us, align_us, &tl) != SM_OK)
		task_decline(t, id, "out of memory handing over the snapshot");
	if (t->op->ops->snapshot_release != NULL)
		t->op->ops->snapshot_release(t->op, &data);
	return rv;
}

/* --------------------------------------------------------------- inbox */

/* A command that could not be queued (out of memory): a lost trigger
 * declines its checkpoint; a lost completion or abort leaves the task out
 * of step with the coordinator, so the task fails and the job recovers
 * (a sink then publishes the completed checkpoint on restore). */
static void
task_lost_command(struct worker_task *t, const struct task_cmd *cmd)
{
	static const char *const what[] = { "trigger", "completion", "abort" };
	char why[128];
	snprintf(why, sizeof(why),
	    "out of memory queueing the %s of checkpoint %" PRIu64,
	    what[cmd->kind], cmd->id);
	sm_error("task %s: %s", t->name, why);
	if (cmd->kind == CMD_TRIGGER)
		task_decline(t, cmd->id, why);
	else
		task_report(t, SNAPMARK__TASK_EVENT__KIND__FAILED, 0, why);
}

static void
task_post(struct worker_task *t, struct task_cmd *cmd)
{
	pthread_mutex_lock(&t->lock);
	if (t->n_cmds == t->cap_cmds) {
		size_t cap = t->cap_cmds ? t->cap_cmds * 2 : 16;
		struct task_cmd *p = realloc(t->cmds, cap * sizeof(*p));
		if (p == NULL) {
			pthread_mutex_unlock(&t->lock);
			free(cmd->retained);
			free(cmd->savepoint_dir);
			task_lost_command(t, cmd);
			return;
		}
		t->cmds = p;
		t->cap_cmds = cap;
	}
	t->cmds[t->n_cmds++] = *cmd;
	pthread_mutex_unlock(&t->lock);
	uint64_t one = 1;
	ssize_t w = write(t->wake_fd, &one, sizeof(one));
	(void) w;
}

void
worker_task_trigger(struct worker_task *t, uint64_t id,
    const char *savepoint_dir)
{
	struct task_cmd c = { .kind = CMD_TRIGGER,
		.id = id,
		.posted_wall_us = sm_wall_us() };
	if (savepoint_dir != NULL && savepoint_dir[0] != '\0' &&
	    (c.savepoint_dir = strdup(savepoint_dir)) == NULL) {
		task_decline(t, id, "out of memory queueing the trigger");
		return;
	}
	task_post(t, &c);
}

void
worker_task_complete(struct worker_task *t, uint64_t id,
    const uint64_t *retained, size_t n_retained, int confirm)
{
	struct task_cmd c = { .kind = CMD_COMPLETE,
		.id = id,
		.confirm = confirm };
	if (n_retained > 0) {
		c.retained = malloc(n_retained * sizeof(uint64_t));
		if (c.retained == NULL) {
			/* Retention without the retained list would delete
			 * what the coordinator keeps: skip it this time (the
			 * next completion prunes). */
			sm_error("task %s: out of memory copying the retained "
			         "checkpoints of %" PRIu64 "; retention skipped",
			    t->name, id);
			c.skip_retention = 1;
		} else {
			memcpy(c.retained, retained,
			    n_retained * sizeof(uint64_t));
			c.n_retained = n_retained;
		}
	}
	task_post(t, &c);
}

void
worker_task_abort(struct worker_task *t, uint64_t id)
{
	struct task_cmd c = { .kind = CMD_ABORT, .id = id };
	task_post(t, &c);
}

/* Run the inbox; with only_complete, just the checkpoint completions (a
 * stopping task still commits what completed: sinks publish). */
static int
task_run_inbox(struct worker_task *t, int only_complete)
{
	uint64_t junk;
	ssize_t r = read(t->wake_fd, &junk, sizeof(junk));
	(void) r;
	pthread_mutex_lock(&t->lock);
	struct task_cmd *cmds = t->cmds;
	size_t n = t->n_cmds;
	t->cmds = NULL;
	t->n_cmds = t->cap_cmds = 0;
	pthread_mutex_unlock(&t->lock);

	int rv = SM_OK;
	for (size_t i = 0; i < n; i++) {
		struct task_cmd *c = &cmds[i];
		if (rv != SM_OK) {
			free(c->retained);
			free(c->savepoint_dir);
			continue;
		}
		if (only_complete && c->kind != CMD_COMPLETE) {
			free(c->retained);
			free(c->savepoint_dir);
			continue;
		}
		switch (c->kind) {
		case CMD_TRIGGER:
			if (t->is_source)
				rv = task_checkpoint(t, c->id, 0,
				    c->savepoint_dir, c->posted_wall_us);
			break;
		case CMD_COMPLETE:
			if (t->op->ops->notify_complete != NULL) {
				int crv = t->op->ops->notify_complete(t->op,
				    c->id);
				if (crv != SM_OK) {
					sm_error("task %s: committing "
					         "checkpoint %" PRIu64
					         " failed: %s",
					    t->name, c->id, sm_strerror(crv));
					rv = crv;
				}
			}
			if (rv == SM_OK && !c->skip_retention &&
			    sm_snapwriter_prune(t->writer, c->id, c->retained,
			        c->n_retained) != SM_OK)
				sm_warn("task %s: out of memory queueing "
				        "retention after checkpoint %" PRIu64
				        "; the next completion prunes",
				    t->name, c->id);
			if (rv == SM_OK && c->confirm) {
				t->confirmed_id = c->id;
				task_report(t,
				    SNAPMARK__TASK_EVENT__KIND__PUBLISHED,
				    c->id, NULL);
			}
			break;
		case CMD_ABORT:
			sm_align_abort(&t->align, c->id);
			break;
		}
		free(c->retained);
		free(c->savepoint_dir);
	}
	free(cmds);
	return rv;
}

/* ---------------------------------------------------------- event time */

int
task_event_time_reached(struct worker_task *t, int64_t wm)
{
	/* Event-time timers <= wm fire here, then the operator's
	 * on_watermark (operators with timers: SDK operators). */
	if (t->op->ops->event_time == NULL)
		return SM_OK;
	return t->op->ops->event_time(t->op, wm, &t->emitter.base);
}

/* Fire the processing-time timers that are due and bound timeout_ms (the
 * loop's next poll) by the next one. */
static int
task_processing_time(struct worker_task *t, int *timeout_ms)
{
	if (t->op->ops->processing_time == NULL)
		return SM_OK;
	int64_t now = (int64_t) (sm_wall_us() / 1000), next;
	int rv = t->op->ops->processing_time(t->op, now, &t->emitter.base,
	    &next);
	if (rv != SM_OK || next == SNAPMARK_NO_TIME)
		return rv;
	now = (int64_t) (sm_wall_us() / 1000);
	int64_t wait = next > now ? next - now : 0;
	if (wait > 1000)
		wait = 1000;
	if (*timeout_ms < 0 || wait < *timeout_ms)
		*timeout_ms = (int) wait;
	return SM_OK;
}

/* -------------------------------------------------------------- inputs */

static int
task_end_of_input(struct worker_task *t)
{
	int rv = SM_OK;
	/* A user source's input ends: its final watermark is +infinity, so
	 * every event-time timer fires (windows close) before end_input and
	 * the end of data. (Downstream, an input that ended counts as
	 * +infinity already.) */
	if (!t->drained && t->is_source &&
	    t->job->stages[t->stage].op == SM_OP_USER)
		rv = task_advance_watermark(t, SM_WATERMARK_END);
	if (rv == SM_OK && !t->drained && t->op->ops->end_input != NULL)
		rv = t->op->ops->end_input(t->op, &t->emitter.base);
	if (rv == SM_OK)
		rv = task_send_marker(t, SNAPMARK__FRAME__KIND__END_OF_DATA, 0,
		    NULL);
	if (rv == SM_OK) {
		t->drained = 1;
		task_report(t, SNAPMARK__TASK_EVENT__KIND__DRAINED, 0, NULL);
		sm_info("task %s: end of input", t->name);
	}
	return rv;
}

static int
task_after_align(struct worker_task *t, const struct sm_align_result *res)
{
	if (res->subsumed_id != 0) {
		char why[96];
		snprintf(why, sizeof(why), "subsumed by a newer barrier");
		task_decline(t, res->subsumed_id, why);
	}
	if (res->snapshot_id == 0)
		return SM_OK;
	const char *dir = res->snapshot_id == t->savepoint_id
	    ? t->savepoint_dir
	    : NULL;
	return task_checkpoint(t, res->snapshot_id, res->align_us, dir, 0);
}

/* Note barrier f's arrival on `input` in the timeline of its checkpoint:
 * when it was sent, dequeued, and how many record frames were dequeued
 * from this input in between (queued ahead of it; at most
 * TASK_DEQ_RING). */
static void
task_note_barrier(struct worker_task *t, int input, const Snapmark__Frame *f)
{
	uint64_t now = sm_wall_us(), id = f->checkpoint_id;
	if (id < t->tl_id)
		return;
	if (id > t->tl_id) {
		t->tl_id = id;
		t->tl.n_arrivals = 0;
		t->tl.first_barrier_us = now;
	}
	struct task_input *in = &t->in[input];
	uint32_t ch = sm_channel_index(in->ch);
	for (size_t i = 0; i < t->tl.n_arrivals; i++)
		if (t->tl.arrivals[i].channel == ch)
			return;
	if (t->tl.arrivals == NULL || t->tl.n_arrivals >= (size_t) t->n_in)
		return;
	Snapmark__BarrierArrival *a = &t->tl.arrivals[t->tl.n_arrivals++];
	snapmark__barrier_arrival__init(a);
	a->channel = ch;
	a->upstream_task = in->upstream_task;
	a->has_received_us = 1;
	a->received_us = now;
	if (f->has_sent_us) {
		a->has_sent_us = 1;
		a->sent_us = f->sent_us;
		unsigned n = in->n_deq < TASK_DEQ_RING ? in->n_deq
		                                       : TASK_DEQ_RING;
		uint32_t ahead = 0;
		for (unsigned k = 0; k < n; k++)
			if (in->deq_us[k] >= f->sent_us)
				ahead++;
		a->has_frames_ahead = 1;
		a->frames_ahead = ahead;
	}
	t->tl.last_barrier_us = now;
}

static int
task_on_frame(struct worker_task *t, int input, Snapmark__Frame *f)
{
	struct sm_align_result res;
	int rv = SM_OK;
	switch (f->kind) {
	case SNAPMARK__FRAME__KIND__RECORDS: {
		/* sm_frame_decode checked the frame: at most
		 * SM_FRAME_RECORDS records, every length inside it. */
		size_t n = sm_frame_get_records(f, t->in_recs);
		task_count(&t->records_in, n);
		rv = t->op->ops->process(t->op, t->in_recs, n,
		    &t->emitter.base);
		break;
	}
	case SNAPMARK__FRAME__KIND__WATERMARK: {
		int64_t wm;
		if (sm_watermarks_update(&t->in_wm, input, f->watermark, &wm))
			rv = task_advance_watermark(t, wm);
		break;
	}
	case SNAPMARK__FRAME__KIND__BARRIER:
		if (f->savepoint_dir != NULL &&
		    f->checkpoint_id > t->savepoint_id) {
			free(t->savepoint_dir);
			t->savepoint_dir = strdup(f->savepoint_dir);
			t->savepoint_id = t->savepoint_dir ? f->checkpoint_id : 0;
			/* Without its directory the savepoint would be
			 * taken as a checkpoint: fail instead. */
			if (t->savepoint_dir == NULL)
				return SM_ENOMEM;
		}
		task_note_barrier(t, input, f);
		sm_align_barrier(&t->align, input, f->checkpoint_id,
		    sm_now_us(), &res);
		rv = task_after_align(t, &res);
		break;
	case SNAPMARK__FRAME__KIND__END_OF_DATA: {
		if (t->in[input].ended)
			break;
		t->in[input].ended = 1;
		sm_align_end(&t->align, input, sm_now_us(), &res);
		rv = task_after_align(t, &res);
		int64_t wm;
		if (rv == SM_OK && sm_watermarks_end(&t->in_wm, input, &wm))
			rv = task_advance_watermark(t, wm);
		if (rv == SM_OK && sm_align_all_ended(&t->align))
			rv = task_end_of_input(t);
		break;
	}
	default:
		rv = SM_EPROTO;
	}
	return rv;
}

/* Read what the readable inputs hold; returns an error that ends the
 * task (a broken channel ends the epoch). */
static int
task_read_inputs(struct worker_task *t)
{
	for (int i = 0; i < t->n_in; i++) {
		struct task_input *in = &t->in[i];
		for (int k = 0; k < TASK_FRAMES_PER_ROUND; k++) {
			/* Ended inputs are still read: barriers follow
			 * the end of data until the job finishes. */
			if (sm_align_blocked(&t->align, i))
				break;
			Snapmark__Frame *f;
			int rv = sm_channel_recv(in->ch, &f);
			if (rv == SM_EAGAIN)
				break;
			if (rv == SM_EPROTO) {
				if (sm_channel_broken(in->ch))
					return SM_ECLOSED;
				continue;
			}
			if (rv != SM_OK)
				return rv;
			if (f->kind == SNAPMARK__FRAME__KIND__RECORDS)
				in->deq_us[in->n_deq++ % TASK_DEQ_RING] =
				    sm_wall_us();
			rv = task_on_frame(t, i, f);
			sm_frame_free(f);
			if (rv != SM_OK)
				return rv;
			task_count(&in->frames_processed, 1);
		}
		if (sm_channel_broken(in->ch))
			return SM_ECLOSED;
	}
	return SM_OK;
}

/* --------------------------------------------------------------- loops */

static int
task_wait(struct worker_task *t, int timeout_ms)
{
	/* The wake-up fd, then every input (t->pollfds has room for all;
	 * a task without inputs has none and polls only the wake-up fd). */
	struct pollfd one, *fds = t->pollfds != NULL ? t->pollfds : &one;
	int n = 0;
	fds[n].fd = t->wake_fd;
	fds[n++].events = POLLIN;
	for (int i = 0; i < t->n_in; i++) {
		if (sm_align_blocked(&t->align, i))
			continue;
		fds[n].fd = sm_channel_fd(t->in[i].ch);
		fds[n++].events = POLLIN;
	}
	uint64_t t0 = sm_now_us();
	int rv = poll(fds, (nfds_t) n, timeout_ms);
	task_count(&t->idle_us, sm_now_us() - t0);
	return rv > 0 && (fds[0].revents & POLLIN);
}

static int
task_linger_timeout(struct worker_task *t, int idle_ms, int *err)
{
	int64_t due = task_flush_lingering(t, err);
	if (due < 0)
		return idle_ms;
	return (int) ((due + 999) / 1000);
}

static int
task_run_source(struct worker_task *t)
{
	const struct sm_job_stage *st = &t->job->stages[t->stage];
	int done = 0;
	while (!atomic_load(&t->stop)) {
		int rv = task_run_inbox(t, 0);
		if (rv != SM_OK)
			return rv;
		size_t produced = 0;
		if (!done) {
			rv = t->op->ops->generate(t->op, &t->emitter.base,
			    SM_FRAME_RECORDS, &produced, &done);
			if (rv != SM_OK)
				return rv;
			if (done && (rv = task_end_of_input(t)) != SM_OK)
				return rv;
		}
		if (task_outputs_broken(t))
			return SM_ECLOSED;
		int idle = done ? 100 : (st->rate > 0 ? 1 : 0);
		int timeout = task_linger_timeout(t, idle, &rv);
		if (rv != SM_OK ||
		    (rv = task_processing_time(t, &idle)) != SM_OK)
			return rv;
		if (done || produced == 0 || st->rate > 0) {
			if (timeout > idle)
				timeout = idle;
			if (produced == 0 || done)
				task_wait(t, timeout);
		}
	}
	return SM_ESTOPPED;
}

static int
task_run_inner(struct worker_task *t)
{
	while (!atomic_load(&t->stop)) {
		int rv = SM_OK;
		int timeout = task_linger_timeout(t, 100, &rv);
		if (rv != SM_OK ||
		    (rv = task_processing_time(t, &timeout)) != SM_OK)
			return rv;
		task_wait(t, timeout);
		if ((rv = task_run_inbox(t, 0)) != SM_OK ||
		    (rv = task_read_inputs(t)) != SM_OK)
			return rv;
		if (task_outputs_broken(t))
			return SM_ECLOSED;
	}
	return SM_ESTOPPED;
}

/* ----------------------------------------------------------- lifecycle */

/* The job is finishing: the restore published the final checkpoint's
 * output; confirm it, then wait for FinishJob (or a stop) without
 * processing anything. */
static void
task_publish_only(struct worker_task *t)
{
	task_report(t, SNAPMARK__TASK_EVENT__KIND__PUBLISHED,
	    t->publish_only_id, NULL);
	sm_info("task %s: checkpoint %" PRIu64 " committed and published "
	        "(epoch %" PRIu64 "); the job is finishing",
	    t->name, t->publish_only_id, t->epoch);
	while (!atomic_load(&t->stop)) {
		struct pollfd p = { .fd = t->wake_fd, .events = POLLIN };
		poll(&p, 1, 100);
		/* Commands wait for task_free: a finishing task processes
		 * nothing (non-sinks have no snapshot writer here). */
		uint64_t junk;
		ssize_t r = read(t->wake_fd, &junk, sizeof(junk));
		(void) r;
	}
}

static void *
task_main(void *arg)
{
	struct worker_task *t = arg;
	char why[256];
	atomic_store_explicit(&t->started_us, sm_now_us(),
	    memory_order_relaxed);
	/* Finishing: only an operator that commits on completion (a sink)
	 * has anything to do; the others need not read their state. */
	if (t->publish_only_id != 0 && t->op->ops->notify_complete == NULL) {
		task_publish_only(t);
		return NULL;
	}
	int rv = task_restore(t, why, sizeof(why));
	if (rv != SM_OK) {
		uint64_t id = t->restore != NULL && t->restore->n_handles > 0
		    ? t->restore->handles[0]->checkpoint_id
		    : 0;
		sm_error("task %s: cannot restore checkpoint %" PRIu64 ": %s",
		    t->name, id, why);
		task_report(t, SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED, id,
		    why);
		return NULL;
	}
	if (t->publish_only_id != 0) {
		task_publish_only(t);
		return NULL;
	}
	task_report(t, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0, NULL);
	sm_info("task %s: running in epoch %" PRIu64 "%s", t->name, t->epoch,
	    t->restore ? " (restored)" : "");
	/* Tests of the restart strategy: this task fails in every epoch. */
	const char *fail = getenv("SNAPMARK_DEBUG_FAIL_TASK");
	if (fail != NULL && strcmp(fail, t->name) == 0) {
		snprintf(why, sizeof(why), "SNAPMARK_DEBUG_FAIL_TASK=%s",
		    t->name);
		sm_error("task %s: failed: %s", t->name, why);
		task_report(t, SNAPMARK__TASK_EVENT__KIND__FAILED, 0, why);
		return NULL;
	}
	rv = t->is_source ? task_run_source(t) : task_run_inner(t);
	task_run_inbox(t, 1);
	if (rv == SM_ECLOSED && t->confirmed_id != 0 &&
	    !atomic_load(&t->stop)) {
		/* The job ended: its last checkpoint is published, and a
		 * peer stopped by FinishJob closed a channel first. */
		sm_info("task %s: a data channel closed after checkpoint "
		        "%" PRIu64 " ended the job; stopping",
		    t->name, t->confirmed_id);
	} else if (rv != SM_ESTOPPED && !atomic_load(&t->stop)) {
		snprintf(why, sizeof(why), "%s",
		    rv == SM_ECLOSED         ? "a data channel was lost"
		        : t->op->why[0] != '\0' ? t->op->why
		                                : sm_strerror(rv));
		/* A lost channel is the echo of a peer's end (a crash, a
		 * cancel, a stop that reached its worker first), logged where
		 * it happened: a warning here, not an error of its own. */
		if (rv == SM_ECLOSED)
			sm_warn("task %s: failed: %s", t->name, why);
		else
			sm_error("task %s: failed: %s", t->name, why);
		task_report(t, SNAPMARK__TASK_EVENT__KIND__FAILED, 0, why);
	}
	return NULL;
}

static void
task_free(struct worker_task *t)
{
	size_t n = (size_t) (t->n_in + t->n_out), k = 0;
	struct sm_channel **chs = calloc(n + 1, sizeof(*chs));
	for (int i = 0; i < t->n_in; i++) {
		if (chs != NULL)
			chs[k++] = t->in[i].ch;
		else
			sm_channel_close(t->in[i].ch);
	}
	for (int i = 0; i < t->n_out; i++) {
		if (chs != NULL)
			chs[k++] = t->out[i].ch;
		else
			sm_channel_close(t->out[i].ch);
		if (t->out[i].batch != NULL)
			sm_batch_fini(t->out[i].batch);
		free(t->out[i].batch);
	}
	if (chs != NULL)
		sm_channel_close_detached(chs, k);
	free(t->in);
	free(t->pollfds);
	sm_watermarks_fini(&t->in_wm);
	free(t->tl.arrivals);
	free(t->out);
	free(t->routes);
	sm_snapwriter_stop(t->writer);
	sm_operator_close(t->op);
	sm_store_close(t->store);
	free(t->savepoint_dir);
	sm_align_fini(&t->align);
	for (size_t i = 0; i < t->n_cmds; i++) {
		free(t->cmds[i].retained);
		free(t->cmds[i].savepoint_dir);
	}
	free(t->cmds);
	if (t->restore != NULL)
		snapmark__task_restore__free_unpacked(t->restore, NULL);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Copy the restore plan through its wire form: the task owns its copy. */
static int
task_copy_restore(const Snapmark__TaskRestore *r, Snapmark__TaskRestore **out)
{
	size_t len = snapmark__task_restore__get_packed_size(r);
	uint8_t *buf = malloc(len + 1);
	if (buf == NULL)
		return SM_ENOMEM;
	snapmark__task_restore__pack(r, buf);
	*out = snapmark__task_restore__unpack(NULL, len, buf);
	free(buf);
	return *out != NULL ? SM_OK : SM_ENOMEM;
}

int
worker_task_start(const struct worker_task_config *cfg,
    struct worker_task **out)
{
	struct worker_task *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SM_ENOMEM;
	t->wake_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->job = cfg->job;
	t->task = cfg->task;
	t->stage = sm_job_task_stage(cfg->job, cfg->task);
	t->subtask = cfg->task - cfg->job->stages[t->stage].first_task;
	t->is_source = sm_job_is_source(cfg->job, t->stage);
	sm_job_task_name(cfg->job, cfg->task, t->name, sizeof(t->name));
	t->epoch = cfg->epoch;
	snprintf(t->run_dir, sizeof(t->run_dir), "%s", cfg->run_dir);
	t->task_prefix = cfg->task_prefix;
	t->send = cfg->send;
	t->send_ctx = cfg->send_ctx;
	t->publish_only_id = cfg->publish_only_id;
	t->watermark = SNAPMARK_NO_TIME;
	task_emitter_init(t);
	const char *delay = getenv("SNAPMARK_DEBUG_SNAPSHOT_DELAY_MS");
	if (delay != NULL)
		t->debug_snapshot_delay_us = strtoull(delay, NULL, 10) * 1000;

	int rv = SM_ENOMEM;
	char dir[700];
	if (cfg->restore != NULL &&
	    (rv = task_copy_restore(cfg->restore, &t->restore)) != SM_OK)
		goto fail;
	if ((t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rv = SM_EIO;
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s/state/%s", t->run_dir, t->name);
	if ((rv = sm_store_open(dir, 0, 0, &t->store)) != SM_OK)
		goto fail;
	struct sm_op_ctx ctx = { .job = t->job, .stage = t->stage,
		.subtask = t->subtask, .task = t->task, .epoch = t->epoch,
		.run_dir = t->run_dir, .out = &t->emitter.base,
		.watermark = &t->watermark, .task_name = t->name,
		.why = cfg->why, .whylen = cfg->whylen };
	if ((rv = sm_operator_open(&ctx, &t->op)) != SM_OK)
		goto fail;
	if (!t->is_source) {
		if ((rv = task_open_inputs(t)) != SM_OK)
			goto fail;
		enum sm_align_mode mode =
		    t->job->checkpoint.mode == SM_MODE_AT_LEAST_ONCE
		    ? SM_ALIGN_AT_LEAST_ONCE
		    : SM_ALIGN_EXACTLY_ONCE;
		if ((rv = sm_align_init(&t->align, t->n_in, mode)) != SM_OK ||
		    (rv = sm_watermarks_init(&t->in_wm, t->n_in)) != SM_OK)
			goto fail;
	}
	if ((rv = task_open_outputs(t)) != SM_OK)
		goto fail;
	if (pthread_create(&t->thread, NULL, task_main, t) != 0) {
		rv = SM_ENOMEM;
		goto fail;
	}
	t->thread_started = 1;
	*out = t;
	return SM_OK;
fail:
	sm_error("task %s: cannot start: %s", t->name, sm_strerror(rv));
	task_free(t);
	return rv;
}

void
worker_task_stop(struct worker_task *t)
{
	if (t == NULL)
		return;
	atomic_store(&t->stop, 1);
	uint64_t one = 1;
	ssize_t w = write(t->wake_fd, &one, sizeof(one));
	(void) w;
	if (t->thread_started)
		pthread_join(t->thread, NULL);
	task_free(t);
}

int
worker_task_index(const struct worker_task *t)
{
	return t->task;
}

void
worker_task_records(const struct worker_task *t, uint64_t *in, uint64_t *out)
{
	*in = atomic_load_explicit(&t->records_in, memory_order_relaxed);
	*out = atomic_load_explicit(&t->records_out, memory_order_relaxed);
}

void
worker_task_times(const struct worker_task *t, uint64_t *busy_us,
    uint64_t *idle_us, uint64_t *backpressured_us)
{
	uint64_t start = atomic_load_explicit(&t->started_us,
	    memory_order_relaxed);
	uint64_t idle = atomic_load_explicit(&t->idle_us,
	    memory_order_relaxed);
	uint64_t bp = atomic_load_explicit(&t->backpressured_us,
	    memory_order_relaxed);
	uint64_t all = start != 0 ? sm_now_us() - start : 0;
	*idle_us = idle;
	*backpressured_us = bp;
	*busy_us = all > idle + bp ? all - idle - bp : 0;
}

size_t
worker_task_frames_processed(const struct worker_task *t,
    Snapmark__ChannelMetrics *out, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < t->n_in && n < cap; i++, n++) {
		snapmark__channel_metrics__init(&out[n]);
		out[n].has_from_task = out[n].has_to_task = 1;
		out[n].from_task = t->in[i].upstream_task;
		out[n].to_task = (uint32_t) t->task;
		out[n].has_frames_processed = 1;
		out[n].frames_processed = atomic_load_explicit(
		    &t->in[i].frames_processed, memory_order_relaxed);
	}
	return n;
}

size_t
worker_task_frames_sent(const struct worker_task *t,
    Snapmark__ChannelMetrics *out, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < t->n_out && n < cap; i++, n++) {
		snapmark__channel_metrics__init(&out[n]);
		out[n].has_from_task = out[n].has_to_task = 1;
		out[n].from_task = (uint32_t) t->task;
		out[n].to_task = t->out[i].to_task;
		out[n].has_frames_sent = 1;
		out[n].frames_sent = atomic_load_explicit(
		    &t->out[i].frames_sent, memory_order_relaxed);
	}
	return n;
}

size_t
worker_task_n_channels(const struct worker_task *t)
{
	return (size_t) t->n_in + (size_t) t->n_out;
}
