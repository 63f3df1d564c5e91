/*
 * task.c - the task runtime (see task.h).
 *
 * The loop of a non-source task, in one thread:
 *
 *   poll(inbox, every input that is neither blocked nor ended)
 *   commands from the inbox (complete, abort)
 *   frames from readable inputs:
 *     RECORDS      -> operator.process -> emitter batches per output
 *     BARRIER n    -> alignment; when aligned: capture state (sync part),
 *                     flush outputs, forward barrier n, write the snapshot
 *                     to LMDB, fsync, acknowledge
 *     END_OF_DATA  -> when every input ended: operator.end_input, forward
 *   flush output batches older than the linger (1 ms)
 *
 * A source does the same with operator.generate instead of inputs, and
 * injects barrier n when the coordinator's trigger reaches its inbox: it
 * captures its offset, flushes, and emits the barrier on every output, in
 * order with its records.
 *
 * Back-pressure: sending blocks while the receiver's buffers are full. A
 * blocked send still notices a stop request within 20 ms.
 */
#include "worker/task.h"

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
#include "worker/kvstate.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/operators/operator.h"
#include "common/snapshot.h"
#include "worker/snapwriter.h"
#include "common/store.h"
#include "worker/trust.h"

#define TASK_LINGER_US 1000
#define TASK_FRAMES_PER_ROUND 16
/* Dequeue times kept per input, to count the frames queued ahead of a
 * barrier (one clock read per frame of up to 1024 records). */
#define TASK_DEQ_RING 512

enum task_cmd_kind { CMD_TRIGGER, CMD_COMPLETE, CMD_ABORT };

struct task_cmd {
	enum task_cmd_kind kind;
	uint64_t id;
	int confirm; /* CMD_COMPLETE: report PUBLISHED when done */
	uint64_t posted_wall_us; /* CMD_TRIGGER: when it reached the worker */
	char *savepoint_dir;
	size_t n_retained;
	uint64_t *retained;
};

struct task_output {
	struct sm_channel *ch;
	struct sm_batch *batch;
	uint64_t first_us;   /* when the oldest record of batch was added */
};

struct task_route {
	enum sm_edge edge;
	int first_out;
	int n_out;
	int max_parallelism;
};

struct task_input {
	struct sm_channel *ch;
	int ended;
	uint32_t upstream_task;
	/* wall clock of the last TASK_DEQ_RING record frames dequeued */
	uint64_t deq_us[TASK_DEQ_RING];
	unsigned n_deq;
};

struct worker_task;

struct task_emitter {
	struct sm_emitter base;
	struct worker_task *t;
};

struct worker_task {
	const struct sm_job *job;
	int task, stage, subtask, is_source;
	char name[SM_JOB_NAME_MAX + 16];
	uint64_t epoch;
	char run_dir[512];
	char *const *task_prefix;
	Snapmark__TaskRestore *restore;
	struct sm_snapwriter *writer;
	/* the savepoint directory of the barrier being aligned, if any */
	uint64_t savepoint_id;
	char *savepoint_dir;
	worker_send_fn send;
	void *send_ctx;

	struct sm_op *op;
	struct sm_store *store;
	struct task_input *in;
	int n_in;
	struct task_output *out;
	int n_out;
	struct task_route *routes;
	int n_routes;
	struct sm_align align;
	struct task_emitter emitter;
	int drained;
	uint64_t publish_only_id;           /* see worker_task_config */
	uint64_t debug_snapshot_delay_us;   /* SNAPMARK_DEBUG_SNAPSHOT_DELAY_MS */
	/* The timeline of the checkpoint being aligned (tl_id): per input,
	 * when its barrier was sent and dequeued (docs/ARCHITECTURE.md,
	 * "Checkpoint timelines"). */
	uint64_t tl_id;
	struct sm_ack_timeline tl;

	pthread_t thread;
	int thread_started;
	atomic_int stop;
	/* Written by the task's thread only, read by the worker's heartbeat:
	 * relaxed loads and stores, no locked instruction per record. */
	_Atomic uint64_t records_in, records_out;
	/* Back-pressure accounting (one clock read around each poll and each
	 * frame send, never per record): time the thread waited for input
	 * and for a full output channel, in µs of the monotonic clock, since
	 * started_us. Same relaxed single-writer discipline. */
	_Atomic uint64_t idle_us, backpressured_us;
	_Atomic uint64_t started_us;
	int wake_fd;
	pthread_mutex_t lock;
	struct task_cmd *cmds;
	size_t n_cmds, cap_cmds;
	/* The job's last checkpoint whose publication this task confirmed
	 * (0: none). After it the job is over: peers stopped by FinishJob
	 * close their channels, which is no failure. Task thread only. */
	uint64_t confirmed_id;
};

int
sm_channel_address(const char *prefix, uint64_t epoch, int index, char *buf,
    size_t len)
{
	int n;
	if (strncmp(prefix, "tcp://", 6) == 0) {
		const char *colon = strrchr(prefix, ':');
		if (colon == NULL || colon < prefix + 6)
			return SM_EINVAL;
		long base = strtol(colon + 1, NULL, 10);
		if (base <= 0 || base + index > 65535)
			return SM_EINVAL;
		n = snprintf(buf, len, "%.*s:%ld", (int) (colon - prefix),
		    prefix, base + index);
	} else {
		n = snprintf(buf, len, "%se%" PRIu64 "-c%d", prefix, epoch,
		    index);
	}
	return n > 0 && (size_t) n < len ? SM_OK : SM_EINVAL;
}

/* ------------------------------------------------------------ reporting */

static void
task_report(struct worker_task *t, Snapmark__TaskEvent__Kind kind,
    uint64_t checkpoint_id, const char *reason)
{
	Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
	ev.epoch = t->epoch;
	ev.task = (uint32_t) t->task;
	ev.kind = kind;
	ev.reason = (char *) reason;
	if (checkpoint_id != 0) {
		ev.has_checkpoint_id = 1;
		ev.checkpoint_id = checkpoint_id;
	}
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_TASK_EVENT;
	c.task_event = &ev;
	t->send(t->send_ctx, &c);
}

static void
task_decline(struct worker_task *t, uint64_t id, const char *reason)
{
	worker_decline(t->send, t->send_ctx, t->epoch, id, (uint32_t) t->task,
	    t->name, reason);
}

void
worker_decline(worker_send_fn send, void *ctx, uint64_t epoch, uint64_t id,
    uint32_t task, const char *task_name, const char *reason)
{
	worker_decline_err(send, ctx, epoch, id, task, task_name, reason, 0);
}

void
worker_decline_err(worker_send_fn send, void *ctx, uint64_t epoch, uint64_t id,
    uint32_t task, const char *task_name, const char *reason, int err)
{
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = epoch;
	d.checkpoint_id = id;
	d.task = task;
	d.reason = (char *) reason;
	d.has_error = err != 0;
	d.error = (uint32_t) err;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_DECLINE;
	c.decline = &d;
	send(ctx, &c);
	sm_warn("task %s: declined checkpoint %" PRIu64 ": %s", task_name, id,
	    reason);
}

/* ------------------------------------------------------------- outputs */

static void task_count(_Atomic uint64_t *counter, uint64_t n);

/* Send one frame; when the channel does not take it at once (the
 * receiver's buffers are full), the time until it does is back-pressure. */
static int
task_send(struct worker_task *t, struct sm_channel *ch, nng_msg *msg)
{
	int rv0 = sm_channel_try_send(ch, msg);
	if (rv0 != SM_EAGAIN)
		return rv0;
	uint64_t t0 = sm_now_us();
	int rv = sm_channel_send(ch, msg, &t->stop);
	task_count(&t->backpressured_us, sm_now_us() - t0);
	return rv;
}

static int
task_flush(struct worker_task *t, struct task_output *o)
{
	if (o->batch->n == 0)
		return SM_OK;
	nng_msg *msg;
	int rv = sm_frame_records(t->epoch, sm_channel_next_seq(o->ch),
	    sm_channel_index(o->ch), o->batch, &msg);
	if (rv != SM_OK)
		return rv;
	rv = task_send(t, o->ch, msg);
	if (rv != SM_OK)
		nng_msg_free(msg);
	return rv;
}

static int
task_flush_all(struct worker_task *t)
{
	for (int i = 0; i < t->n_out; i++) {
		int rv = task_flush(t, &t->out[i]);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

/* Flush batches whose oldest record waited for the linger; return the
 * microseconds until the next batch is due (or -1: none waiting). */
static int64_t
task_flush_lingering(struct worker_task *t, int *err)
{
	uint64_t now = sm_now_us();
	int64_t next = -1;
	*err = SM_OK;
	for (int i = 0; i < t->n_out; i++) {
		struct task_output *o = &t->out[i];
		if (o->batch->n == 0)
			continue;
		if (now - o->first_us >= TASK_LINGER_US) {
			if ((*err = task_flush(t, o)) != SM_OK)
				return -1;
			continue;
		}
		int64_t due = (int64_t) (o->first_us + TASK_LINGER_US - now);
		if (next < 0 || due < next)
			next = due;
	}
	return next;
}

static int
task_send_marker(struct worker_task *t, Snapmark__Frame__Kind kind,
    uint64_t id, const char *savepoint_dir)
{
	int rv = task_flush_all(t);
	for (int i = 0; rv == SM_OK && i < t->n_out; i++) {
		struct task_output *o = &t->out[i];
		nng_msg *msg;
		rv = kind == SNAPMARK__FRAME__KIND__BARRIER
		    ? sm_frame_barrier(t->epoch, sm_channel_next_seq(o->ch),
		          sm_channel_index(o->ch), id, savepoint_dir, &msg)
		    : sm_frame_marker(t->epoch, sm_channel_next_seq(o->ch),
		          sm_channel_index(o->ch), kind, id, &msg);
		if (rv == SM_OK && (rv = task_send(t, o->ch, msg)) != SM_OK)
			nng_msg_free(msg);
	}
	return rv;
}

static int
task_emit_to(struct worker_task *t, struct task_output *o,
    const struct sm_record *r)
{
	if (o->batch->n == 0)
		o->first_us = sm_now_us();
	sm_batch_add(o->batch, r);
	return sm_batch_full(o->batch) ? task_flush(t, o) : SM_OK;
}

static void
task_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter,
	    atomic_load_explicit(counter, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static int
task_emit(struct sm_emitter *e, const struct sm_record *r)
{
	struct worker_task *t = ((struct task_emitter *) e)->t;
	task_count(&t->records_out, 1);
	for (int i = 0; i < t->n_routes; i++) {
		struct task_route *rt = &t->routes[i];
		int rv = SM_OK;
		switch (rt->edge) {
		case SM_EDGE_FORWARD:
			rv = task_emit_to(t, &t->out[rt->first_out], r);
			break;
		case SM_EDGE_HASH: {
			int kg = sm_job_key_group(r->key, rt->max_parallelism);
			int d = sm_job_key_group_owner(kg,
			    rt->max_parallelism, rt->n_out);
			rv = task_emit_to(t, &t->out[rt->first_out + d], r);
			break;
		}
		case SM_EDGE_BROADCAST:
			for (int k = 0; k < rt->n_out && rv == SM_OK; k++)
				rv = task_emit_to(t,
				    &t->out[rt->first_out + k], r);
			break;
		}
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

/* Records to one output: whole runs are copied column by column between
 * flushes, so a forward edge costs no call per record. */
static int
task_emit_run(struct worker_task *t, struct task_output *o,
    const struct sm_record *r, size_t n)
{
	while (n > 0) {
		struct sm_batch *b = o->batch;
		if (b->n == 0)
			o->first_us = sm_now_us();
		size_t room = SM_FRAME_RECORDS - b->n;
		size_t k = n < room ? n : room;
		for (size_t i = 0; i < k; i++) {
			b->subtask[b->n + i] = r[i].subtask;
			b->seq[b->n + i] = r[i].seq;
			b->key[b->n + i] = r[i].key;
			b->value[b->n + i] = r[i].value;
		}
		b->n += (uint32_t) k;
		r += k;
		n -= k;
		if (sm_batch_full(b)) {
			int rv = task_flush(t, o);
			if (rv != SM_OK)
				return rv;
		}
	}
	return SM_OK;
}

static int
task_emit_many(struct sm_emitter *e, const struct sm_record *r, size_t n)
{
	struct worker_task *t = ((struct task_emitter *) e)->t;
	if (t->n_routes == 1 && t->routes[0].edge == SM_EDGE_FORWARD) {
		task_count(&t->records_out, n);
		return task_emit_run(t, &t->out[t->routes[0].first_out], r, n);
	}
	for (size_t i = 0; i < n; i++) {
		int rv = task_emit(e, &r[i]);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
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
		return SM_OK;
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
			sm_error("task %s: out of memory queueing a command",
			    t->name);
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
		if (c.retained != NULL) {
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
			if (rv == SM_OK)
				sm_snapwriter_prune(t->writer, c->id,
				    c->retained, c->n_retained);
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

/* -------------------------------------------------------------- inputs */

static int
task_end_of_input(struct worker_task *t)
{
	int rv = SM_OK;
	if (!t->drained && t->op->ops->end_input != NULL)
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
		struct sm_record recs[SM_FRAME_RECORDS];
		size_t n = f->n_rec_key;
		if (n > SM_FRAME_RECORDS)
			return SM_EPROTO;
		for (size_t i = 0; i < n; i++) {
			recs[i].subtask = f->rec_subtask[i];
			recs[i].seq = f->rec_seq[i];
			recs[i].key = f->rec_key[i];
			recs[i].value = f->rec_value[i];
		}
		task_count(&t->records_in, n);
		rv = t->op->ops->process(t->op, recs, n, &t->emitter.base);
		break;
	}
	case SNAPMARK__FRAME__KIND__BARRIER:
		if (f->savepoint_dir != NULL &&
		    f->checkpoint_id > t->savepoint_id) {
			free(t->savepoint_dir);
			t->savepoint_dir = strdup(f->savepoint_dir);
			t->savepoint_id = t->savepoint_dir ? f->checkpoint_id : 0;
		}
		task_note_barrier(t, input, f);
		sm_align_barrier(&t->align, input, f->checkpoint_id,
		    sm_now_us(), &res);
		rv = task_after_align(t, &res);
		break;
	case SNAPMARK__FRAME__KIND__END_OF_DATA:
		if (t->in[input].ended)
			break;
		t->in[input].ended = 1;
		sm_align_end(&t->align, input, sm_now_us(), &res);
		rv = task_after_align(t, &res);
		if (rv == SM_OK && sm_align_all_ended(&t->align))
			rv = task_end_of_input(t);
		break;
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
	struct pollfd fds[1 + 256];
	int n = 0;
	fds[n].fd = t->wake_fd;
	fds[n++].events = POLLIN;
	for (int i = 0; i < t->n_in && n < (int) (sizeof(fds) / sizeof(fds[0]));
	     i++) {
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
task_outputs_broken(struct worker_task *t)
{
	for (int i = 0; i < t->n_out; i++)
		if (sm_channel_broken(t->out[i].ch))
			return 1;
	return 0;
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
		if (rv != SM_OK)
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
		if (rv != SM_OK)
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

/* Keep only the entries of key groups this subtask owns (rescaling). */
static void
task_filter_key_groups(struct worker_task *t, struct sm_snapshot_data *d)
{
	const struct sm_job_stage *st = &t->job->stages[t->stage];
	size_t k = 0;
	for (size_t i = 0; i < d->n_entries; i++) {
		int kg = sm_job_key_group(d->entries[i].key,
		    st->max_parallelism);
		if (sm_job_key_group_owner(kg, st->max_parallelism,
		        st->parallelism) == t->subtask)
			d->entries[k++] = d->entries[i];
	}
	d->n_entries = k;
}

/* Append src's entries to dst and keep dst sorted by key. */
static int
task_merge_entries(struct sm_snapshot_data *dst, struct sm_snapshot_data *src)
{
	if (src->n_entries == 0)
		return SM_OK;
	struct sm_state_entry *e = realloc(dst->entries,
	    (dst->n_entries + src->n_entries) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	memcpy(e + dst->n_entries, src->entries,
	    src->n_entries * sizeof(*e));
	dst->entries = e;
	dst->n_entries += src->n_entries;
	sm_kvstate_sort(dst->entries, dst->n_entries);
	return SM_OK;
}

/* Read and verify one snapshot handle into *d. */
static int
task_read_handle(struct worker_task *t, const Snapmark__SnapshotHandle *h,
    struct sm_snapshot_data *d, char *why, size_t whylen)
{
	if (h->has_inline_meta)
		return sm_snapshot_read_inline(h->inline_meta.data,
		    h->inline_meta.len, h->task, h->checkpoint_id, h->checksum,
		    d, why, whylen);
	/* Open nothing the handle names outside the task's own state
	 * directory or the savepoint restored from (trust.h). */
	int trv = sm_trust_location(h->location, sm_store_path(t->store),
	    t->restore != NULL ? t->restore->savepoint_dir : NULL, why,
	    whylen);
	if (trv != SM_OK)
		return trv;
	struct sm_store *src = t->store;
	int rv = SM_OK;
	/* Another task's store or a savepoint's: open it only if it is
	 * there, never create an empty one at a stale location. */
	if (strcmp(h->location, sm_store_path(t->store)) != 0)
		rv = sm_store_open(h->location, 0, SM_STORE_EXISTING, &src);
	if (rv != SM_OK) {
		snprintf(why, whylen, "cannot open %s: %s", h->location,
		    rv == SM_ENOTFOUND ? "no snapshot store there"
		                       : sm_strerror(rv));
		return rv;
	}
	rv = sm_snapshot_read(src, h->task, h->checkpoint_id, h->checksum, d,
	    why, whylen);
	if (src != t->store)
		sm_store_close(src);
	return rv;
}

/*
 * Restore: read every snapshot handle the coordinator gave (one, or for a
 * rescaled keyed stage one per old subtask, keeping the key groups this
 * subtask now owns), hand the state to the operator, and seed the snapshot
 * writer with it. Without handles the task starts fresh and deletes what
 * an earlier run left in its store.
 */
static int
task_restore(struct worker_task *t, char *why, size_t whylen)
{
	struct sm_snapshot_data data;
	memset(&data, 0, sizeof(data));
	uint64_t id = 0, bytes_read = 0, t0 = sm_now_us();
	int rv = SM_OK;
	size_t n = t->restore != NULL ? t->restore->n_handles : 0;
	int rescale = t->restore != NULL && t->restore->has_rescale &&
	    t->restore->rescale;
	for (size_t i = 0; i < n && rv == SM_OK; i++) {
		const Snapmark__SnapshotHandle *h = t->restore->handles[i];
		struct sm_snapshot_data one;
		memset(&one, 0, sizeof(one));
		rv = task_read_handle(t, h, &one, why, whylen);
		if (rv != SM_OK)
			break;
		id = h->checkpoint_id;
		bytes_read += one.bytes_read;
		if (rescale)
			task_filter_key_groups(t, &one);
		if (i == 0) {
			data = one;
			continue;
		}
		rv = task_merge_entries(&data, &one);
		data.drained = data.drained && one.drained;
		sm_snapshot_data_free(&one);
	}
	/* A sink renames its pending files on the snapshot's word: only
	 * names it gave them itself (trust.h). */
	for (size_t i = 0; rv == SM_OK && i < data.n_pending; i++)
		rv = sm_trust_pending_name(data.pending[i], data.pending_id[i],
		    t->subtask, id, why, whylen);
	if (rv != SM_OK) {
		sm_snapshot_data_free(&data);
		return rv;
	}
	uint64_t t_read = sm_now_us();
	/* The writer copies the entries and fills its shadow on its own
	 * thread while this one loads them into the operator. */
	struct sm_snapwriter_config wc = { .store = t->store,
		.task = (uint32_t) t->task,
		.task_name = t->name,
		.epoch = t->epoch,
		.policy = &t->job->checkpoint,
		.send = t->send,
		.send_ctx = t->send_ctx,
		.debug_delay_us = t->debug_snapshot_delay_us };
	rv =
	    sm_snapwriter_start(&wc, data.entries, data.n_entries, &t->writer);
	if (rv != SM_OK) {
		snprintf(why, whylen, "cannot start the snapshot writer");
		sm_snapshot_data_free(&data);
		return rv;
	}
	if (t->op->ops->restore != NULL && (id != 0 || !t->is_source))
		rv = t->op->ops->restore(t->op, id, &data);
	t->drained = data.drained;
	size_t entries = data.n_entries;
	sm_snapshot_data_free(&data);
	if (rv != SM_OK) {
		snprintf(why, whylen, "operator restore failed: %s",
		    sm_strerror(rv));
		sm_snapwriter_stop(t->writer);
		t->writer = NULL;
		return rv;
	}
	if (entries > 0) {
		uint64_t t1 = sm_now_us();
		double read_s = (double) (t_read - t0) / 1e6;
		sm_info("task %s: restored %zu entries (%" PRIu64
		        " bytes) of checkpoint %" PRIu64
		        " in %.1f ms: read %.1f ms (%.0f MB/s), "
		        "operator %.1f ms (the snapshot writer fills its copy "
		        "meanwhile)",
		    t->name, entries, bytes_read, id,
		    (double) (t1 - t0) / 1000.0, read_s * 1000.0,
		    read_s > 0 ? (double) bytes_read / read_s / 1e6 : 0.0,
		    (double) (t1 - t_read) / 1000.0);
	}
	/* Snapshots newer than the restored one belong to a failed epoch;
	 * starting fresh (or from a savepoint elsewhere) drops them all. */
	int own = n == 1 && strcmp(t->restore->handles[0]->location,
	                        sm_store_path(t->store)) == 0;
	sm_snapshot_prune(t->store, &id, own, 0);
	return SM_OK;
}

/* Build the input list: every channel that feeds this subtask. */
static int
task_open_inputs(struct worker_task *t)
{
	const struct sm_job_stage *st = &t->job->stages[t->stage];
	int pd = st->parallelism, d = t->subtask, n = 0;
	for (int i = 0; i < st->n_inputs; i++)
		n += st->inputs[i].edge == SM_EDGE_FORWARD
		    ? 1
		    : t->job->stages[st->inputs[i].stage].parallelism;
	if (n == 0)
		return SM_OK;
	t->in = calloc((size_t) n, sizeof(*t->in));
	t->tl.arrivals = calloc((size_t) n, sizeof(*t->tl.arrivals));
	if (t->in == NULL || t->tl.arrivals == NULL)
		return SM_ENOMEM;
	char url[600];
	for (int i = 0; i < st->n_inputs; i++) {
		const struct sm_job_input *e = &st->inputs[i];
		int pu = t->job->stages[e->stage].parallelism;
		int from = e->edge == SM_EDGE_FORWARD ? d : 0;
		int to = e->edge == SM_EDGE_FORWARD ? d + 1 : pu;
		for (int u = from; u < to; u++) {
			int idx = e->first_channel +
			    (e->edge == SM_EDGE_FORWARD ? u : u * pd + d);
			int rv = sm_channel_address(t->task_prefix[t->task],
			    t->epoch, idx, url, sizeof(url));
			if (rv == SM_OK)
				rv = sm_channel_listen(url, (uint32_t) idx,
				    t->epoch, &t->in[t->n_in].ch);
			if (rv != SM_OK)
				return rv;
			t->in[t->n_in].upstream_task =
			    (uint32_t) (t->job->stages[e->stage].first_task + u);
			t->n_in++;
		}
	}
	return SM_OK;
}

/* Build the routes and output channels: one route per downstream edge. */
static int
task_open_outputs(struct worker_task *t)
{
	const struct sm_job *job = t->job;
	int u = t->subtask, n_out = 0, n_routes = 0;
	for (int s = t->stage + 1; s < job->n_stages; s++)
		for (int i = 0; i < job->stages[s].n_inputs; i++)
			if (job->stages[s].inputs[i].stage == t->stage) {
				n_routes++;
				n_out += job->stages[s].inputs[i].edge ==
				        SM_EDGE_FORWARD
				    ? 1
				    : job->stages[s].parallelism;
			}
	if (n_routes == 0)
		return SM_OK;
	t->routes = calloc((size_t) n_routes, sizeof(*t->routes));
	t->out = calloc((size_t) n_out, sizeof(*t->out));
	if (t->routes == NULL || t->out == NULL)
		return SM_ENOMEM;
	char url[600];
	for (int s = t->stage + 1; s < job->n_stages; s++) {
		const struct sm_job_stage *ds = &job->stages[s];
		for (int i = 0; i < ds->n_inputs; i++) {
			const struct sm_job_input *e = &ds->inputs[i];
			if (e->stage != t->stage)
				continue;
			struct task_route *rt = &t->routes[t->n_routes++];
			rt->edge = e->edge;
			rt->first_out = t->n_out;
			rt->max_parallelism = ds->max_parallelism > 0
			    ? ds->max_parallelism
			    : 128;
			int fwd = e->edge == SM_EDGE_FORWARD;
			int from = fwd ? u : 0, to = fwd ? u + 1
			                                : ds->parallelism;
			for (int d = from; d < to; d++) {
				int idx = e->first_channel +
				    (fwd ? u : u * ds->parallelism + d);
				int to_task = ds->first_task + d;
				struct task_output *o = &t->out[t->n_out++];
				o->batch = malloc(sizeof(*o->batch));
				if (o->batch == NULL)
					return SM_ENOMEM;
				o->batch->n = 0;
				int rv = sm_channel_address(
				    t->task_prefix[to_task], t->epoch, idx,
				    url, sizeof(url));
				if (rv == SM_OK)
					rv = sm_channel_dial(url,
					    (uint32_t) idx, t->epoch, &o->ch);
				if (rv != SM_OK)
					return rv;
			}
			rt->n_out = t->n_out - rt->first_out;
		}
	}
	return SM_OK;
}

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
		    rv == SM_ECLOSED ? "a data channel was lost"
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
		free(t->out[i].batch);
	}
	if (chs != NULL)
		sm_channel_close_detached(chs, k);
	free(t->in);
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
	t->emitter.base.emit = task_emit;
	t->emitter.base.emit_many = task_emit_many;
	t->emitter.t = t;
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
		.run_dir = t->run_dir };
	if ((rv = sm_operator_open(&ctx, &t->op)) != SM_OK)
		goto fail;
	if (!t->is_source) {
		if ((rv = task_open_inputs(t)) != SM_OK)
			goto fail;
		enum sm_align_mode mode =
		    t->job->checkpoint.mode == SM_MODE_AT_LEAST_ONCE
		    ? SM_ALIGN_AT_LEAST_ONCE
		    : SM_ALIGN_EXACTLY_ONCE;
		if ((rv = sm_align_init(&t->align, t->n_in, mode)) != SM_OK)
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
