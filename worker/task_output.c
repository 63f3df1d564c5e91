/*
 * task_output.c - a task's outputs: routing each record to its output
 * channels (forward, hash by the key group of its key bytes, broadcast),
 * batching records per channel until a frame is full (records or payload
 * bytes) or its linger (1 ms) passed, the marker frames (barriers, end of
 * data) sent in order with the records, and the task's watermark.
 *
 * Watermarks are coalesced per output: when the task's watermark advances
 * it becomes the output's pending one, and goes out as a WATERMARK frame
 * once it waited a linger - right after the next records frame of that
 * output, or from the linger pass if the output has no records waiting -
 * and always before an end-of-data marker. Records the task emitted before
 * the watermark advanced are in that frame's output before it (they were
 * batched or flushed first), so the promise holds; a record emitted later
 * may overtake it, which is no lie (the watermark only bounds what
 * follows it). Under a steady flow that is one watermark frame per linger
 * per output, not one per batch.
 *
 * Back-pressure: sending blocks while the receiver's buffers are full. A
 * blocked send still notices a stop request within 20 ms.
 */
#include "worker/task_internal.h"

#include <inttypes.h>

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
task_wm_waiting(const struct task_output *o)
{
	return o->wm_pending > o->wm_sent;
}

static int
task_send_watermark(struct worker_task *t, struct task_output *o)
{
	nng_msg *msg;
	int rv = sm_frame_watermark(t->epoch, sm_channel_next_seq(o->ch),
	    sm_channel_index(o->ch), o->wm_pending, &msg);
	if (rv == SM_OK && (rv = task_send(t, o, msg)) != SM_OK)
		nng_msg_free(msg);
	if (rv == SM_OK)
		o->wm_sent = o->wm_pending;
	return rv;
}

/* Send o's records; then its watermark if it waited a linger. */
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
	if (rv != SM_OK) {
		nng_msg_free(msg);
		return rv;
	}
	if (task_wm_waiting(o) &&
	    sm_now_us() - o->wm_since_us >= TASK_LINGER_US)
		rv = task_send_watermark(t, o);
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

/* Flush batches whose oldest record waited for the linger, and watermarks
 * that did on outputs without records waiting; return the microseconds
 * until the next is due (or -1: none waiting). */
int64_t
task_flush_lingering(struct worker_task *t, int *err)
{
	uint64_t now = sm_now_us();
	int64_t next = -1;
	*err = SM_OK;
	for (int i = 0; i < t->n_out; i++) {
		struct task_output *o = &t->out[i];
		uint64_t since = 0;
		int waiting = 0;
		if (o->batch->n > 0 && now - o->first_us < TASK_LINGER_US) {
			/* a waiting watermark goes out after these */
			since = o->first_us;
			waiting = 1;
		} else {
			if (o->batch->n > 0 &&
			    (*err = task_flush(t, o)) != SM_OK)
				return -1;
			if (task_wm_waiting(o) &&
			    now - o->wm_since_us >= TASK_LINGER_US) {
				if ((*err = task_send_watermark(t, o)) != SM_OK)
					return -1;
			} else if (task_wm_waiting(o)) {
				since = o->wm_since_us;
				waiting = 1;
			}
		}
		if (!waiting)
			continue;
		int64_t due = (int64_t) (since + TASK_LINGER_US - now);
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
		if (kind == SNAPMARK__FRAME__KIND__END_OF_DATA &&
		    task_wm_waiting(o) &&
		    (rv = task_send_watermark(t, o)) != SM_OK)
			break;
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

int
task_advance_watermark(struct worker_task *t, int64_t wm)
{
	if (wm <= t->watermark)
		return SM_OK;
	t->watermark = wm;
	int rv = task_event_time_reached(t, wm);
	if (rv != SM_OK)
		return rv;
	uint64_t now = t->n_out > 0 ? sm_now_us() : 0;
	for (int i = 0; i < t->n_out; i++) {
		struct task_output *o = &t->out[i];
		if (!task_wm_waiting(o))
			o->wm_since_us = now;
		o->wm_pending = wm;
	}
	return SM_OK;
}

/* A record no frame can carry fails the task, saying so. */
static int
task_record_too_big(struct worker_task *t, const struct snapmark_record *r)
{
	return sm_op_fail(t->op,
	    "a record with a %" PRIu32 "-byte key and a %" PRIu32
	    "-byte value cannot be sent: keys and values are at most %u "
	    "bytes each (SNAPMARK_MAX_BYTES)",
	    r->key_len, r->value_len, (unsigned) SNAPMARK_MAX_BYTES);
}

static int
task_emit_to(struct worker_task *t, struct task_output *o,
    const struct snapmark_record *r)
{
	int rv;
	if (!sm_batch_has_room(o->batch, r) && (rv = task_flush(t, o)) != SM_OK)
		return rv;
	if (o->batch->n == 0)
		o->first_us = sm_now_us();
	if ((rv = sm_batch_add(o->batch, r)) != SM_OK)
		return rv;
	return sm_batch_full(o->batch) ? task_flush(t, o) : SM_OK;
}

static int
task_emit(struct sm_emitter *e, const struct snapmark_record *r)
{
	struct worker_task *t = ((struct task_emitter *) e)->t;
	if (!sm_record_fits_frame(r))
		return task_record_too_big(t, r);
	task_count(&t->records_out, 1);
	for (int i = 0; i < t->n_routes; i++) {
		struct task_route *rt = &t->routes[i];
		int rv = SM_OK;
		switch (rt->edge) {
		case SM_EDGE_FORWARD:
			rv = task_emit_to(t, &t->out[rt->first_out], r);
			break;
		case SM_EDGE_HASH: {
			int kg = sm_job_key_group(r->key, r->key_len,
			    rt->max_parallelism);
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

static int
task_emit_many(struct sm_emitter *e, const struct snapmark_record *r,
    size_t n)
{
	struct worker_task *t = ((struct task_emitter *) e)->t;
	if (t->n_routes == 1 && t->routes[0].edge == SM_EDGE_FORWARD) {
		/* One output: no routing per record. */
		struct task_output *o = &t->out[t->routes[0].first_out];
		task_count(&t->records_out, n);
		for (size_t i = 0; i < n; i++) {
			if (!sm_record_fits_frame(&r[i]))
				return task_record_too_big(t, &r[i]);
			int rv = task_emit_to(t, o, &r[i]);
			if (rv != SM_OK)
				return rv;
		}
		return SM_OK;
	}
	for (size_t i = 0; i < n; i++) {
		int rv = task_emit(e, &r[i]);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

static int
task_emit_watermark(struct sm_emitter *e, int64_t time)
{
	return task_advance_watermark(((struct task_emitter *) e)->t, time);
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
	t->emitter.base.watermark = task_emit_watermark;
	t->emitter.t = t;
}
