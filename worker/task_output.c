/*
 * task_output.c - a task's outputs: routing each record to its output
 * channels (forward, hash by key group, broadcast), batching records per
 * channel until a frame is full or its linger (1 ms) passed, and the
 * marker frames (barriers, end of data) sent in order with the records.
 *
 * Back-pressure: sending blocks while the receiver's buffers are full. A
 * blocked send still notices a stop request within 20 ms.
 */
#include "worker/task_internal.h"

#include "common/clock.h"
#include "common/error.h"

#define TASK_LINGER_US 1000

/* Send one frame; when the channel does not take it at once (the
 * receiver's buffers are full), the time until it does is back-pressure. */
static int
task_send(struct worker_task *t, struct task_output *o, nng_msg *msg)
{
	int rv = sm_channel_try_send(o->ch, msg);
	if (rv == SM_EAGAIN) {
		uint64_t t0 = sm_now_us();
		rv = sm_channel_send(o->ch, msg, &t->stop);
		task_count(&t->backpressured_us, sm_now_us() - t0);
	}
	if (rv == SM_OK)
		task_count(&o->frames_sent, 1);
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
	rv = task_send(t, o, msg);
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
int64_t
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

int
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
		if (rv == SM_OK && (rv = task_send(t, o, msg)) != SM_OK)
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

int
task_outputs_broken(struct worker_task *t)
{
	for (int i = 0; i < t->n_out; i++)
		if (sm_channel_broken(t->out[i].ch))
			return 1;
	return 0;
}


void
task_emitter_init(struct worker_task *t)
{
	t->emitter.base.emit = task_emit;
	t->emitter.base.emit_many = task_emit_many;
	t->emitter.t = t;
}
