/*
 * pending.c - bookkeeping of checkpoints in flight (see pending.h).
 */
#include "coordinator/pending.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int
coord_pending_alloc(uint64_t id, uint64_t epoch, int n_tasks,
    uint64_t now_us, uint64_t timeout_us, struct coord_pending **out)
{
	if (n_tasks < 1 || id == 0)
		return SM_EINVAL;
	struct coord_pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return SM_ENOMEM;
	p->acks = calloc((size_t) n_tasks, sizeof(*p->acks));
	if (p->acks == NULL) {
		free(p);
		return SM_ENOMEM;
	}
	p->id = id;
	p->epoch = epoch;
	p->n_tasks = n_tasks;
	p->trigger_us = now_us;
	p->deadline_us = now_us + timeout_us;
	*out = p;
	return SM_OK;
}

void
coord_pending_free(struct coord_pending *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n_tasks; i++) {
		free(p->acks[i].location);
		free(p->acks[i].inline_meta.data);
		free(p->acks[i].arrivals);
		free(p->acks[i].arrival_ptrs);
	}
	for (size_t i = 0; i < p->n_missing; i++) {
		free(p->missing[i]->task);
		free(p->missing[i]->last_seen);
		free(p->missing[i]);
	}
	free(p->missing);
	free(p->acks);
	free(p->savepoint_dir);
	free(p);
}

int
coord_pending_ack(struct coord_pending *p, const Snapmark__Ack *ack,
    uint64_t now_us)
{
	if (ack->checkpoint_id != p->id || ack->epoch != p->epoch ||
	    ack->task >= (uint32_t) p->n_tasks || ack->handle == NULL ||
	    ack->handle->task != ack->task ||
	    ack->handle->checkpoint_id != p->id)
		return SM_EINVAL;
	struct coord_task_ack *a = &p->acks[ack->task];
	if (a->acked)
		return SM_EAGAIN;
	char *loc = strdup(ack->handle->location);
	if (loc == NULL)
		return SM_ENOMEM;
	if (ack->handle->has_inline_meta) {
		size_t len = ack->handle->inline_meta.len;
		a->inline_meta.data = malloc(len + 1);
		if (a->inline_meta.data == NULL) {
			free(loc);
			return SM_ENOMEM;
		}
		memcpy(a->inline_meta.data, ack->handle->inline_meta.data,
		    len);
		a->inline_meta.len = len;
	}
	a->acked = 1;
	a->location = loc;
	a->bytes = ack->handle->bytes;
	a->entries = ack->handle->has_entries ? ack->handle->entries : 0;
	a->checksum = ack->handle->checksum;
	a->sync_us = ack->sync_us;
	a->async_us = ack->async_us;
	a->align_us = ack->align_us;
	a->ack_us = now_us - p->trigger_us;
	a->full_bytes = ack->handle->has_full_bytes ? ack->handle->full_bytes
	                                            : ack->handle->bytes;
	a->incremental = ack->handle->has_incremental &&
	    ack->handle->incremental;
	p->n_acked++;
	return SM_OK;
}

static uint64_t
pending_local(uint64_t t, int64_t offset)
{
	return t == 0 ? 0 : (uint64_t) ((int64_t) t - offset);
}

int
coord_pending_timeline(struct coord_pending *p, const Snapmark__Ack *ack,
    const int64_t *offset_us, uint64_t received_us, uint32_t worker_id)
{
	if (ack->task >= (uint32_t) p->n_tasks || !p->acks[ack->task].acked)
		return SM_EINVAL;
	struct coord_task_ack *a = &p->acks[ack->task];
	int64_t off = offset_us[ack->task];
	a->worker_id = worker_id;
	a->ack_received_us = received_us;
	a->trigger_received_us = pending_local(ack->has_trigger_received_us
	        ? ack->trigger_received_us
	        : 0,
	    off);
	a->first_barrier_us = pending_local(
	    ack->has_first_barrier_us ? ack->first_barrier_us : 0, off);
	a->last_barrier_us = pending_local(
	    ack->has_last_barrier_us ? ack->last_barrier_us : 0, off);
	a->barrier_sent_us = pending_local(
	    ack->has_barrier_sent_us ? ack->barrier_sent_us : 0, off);
	a->ack_sent_us =
	    pending_local(ack->has_ack_sent_us ? ack->ack_sent_us : 0, off);
	if (ack->n_arrivals == 0 || a->arrivals != NULL)
		return SM_OK;
	size_t n = ack->n_arrivals;
	a->arrivals = calloc(n, sizeof(*a->arrivals));
	a->arrival_ptrs = calloc(n, sizeof(*a->arrival_ptrs));
	if (a->arrivals == NULL || a->arrival_ptrs == NULL) {
		free(a->arrivals);
		free(a->arrival_ptrs);
		a->arrivals = NULL;
		a->arrival_ptrs = NULL;
		return SM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const Snapmark__BarrierArrival *in = ack->arrivals[i];
		Snapmark__BarrierArrival *o = &a->arrivals[i];
		snapmark__barrier_arrival__init(o);
		o->channel = in->channel;
		o->upstream_task = in->upstream_task;
		/* sent on the upstream task's worker's clock */
		int64_t up = in->upstream_task < (uint32_t) p->n_tasks
		    ? offset_us[in->upstream_task]
		    : off;
		o->has_sent_us = in->has_sent_us;
		o->sent_us = pending_local(in->has_sent_us ? in->sent_us : 0, up);
		o->has_received_us = in->has_received_us;
		o->received_us = pending_local(
		    in->has_received_us ? in->received_us : 0, off);
		o->has_frames_ahead = in->has_frames_ahead;
		o->frames_ahead = in->frames_ahead;
		a->arrival_ptrs[i] = o;
	}
	a->n_arrivals = n;
	return SM_OK;
}

int
coord_pending_same_ack(const struct coord_pending *p, const Snapmark__Ack *ack)
{
	if (ack->task >= (uint32_t) p->n_tasks || ack->handle == NULL ||
	    ack->handle->location == NULL)
		return 0;
	const struct coord_task_ack *a = &p->acks[ack->task];
	return a->acked && strcmp(a->location, ack->handle->location) == 0 &&
	    a->checksum == ack->handle->checksum &&
	    a->bytes == ack->handle->bytes;
}

int
coord_pending_complete(const struct coord_pending *p)
{
	return p->n_acked == p->n_tasks;
}

int
coord_pending_expired(const struct coord_pending *p, uint64_t now_us)
{
	return !coord_pending_complete(p) && now_us >= p->deadline_us;
}

/* A malloc'd copy of len bytes of src (len > 0), or NULL. */
static void *
pending_memdup(const void *src, size_t len)
{
	void *d = malloc(len);
	if (d != NULL)
		memcpy(d, src, len);
	return d;
}

int
coord_pending_record(const struct coord_pending *p,
    Snapmark__CheckpointRecord__Status status, const char *reason,
    uint64_t now_us, char *const *task_names,
    Snapmark__CheckpointRecord **out)
{
	Snapmark__CheckpointRecord *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return SM_ENOMEM;
	snapmark__checkpoint_record__init(r);
	r->id = p->id;
	r->status = status;
	r->trigger_time_ms = p->trigger_wall_ms;
	r->has_duration_us = 1;
	r->duration_us = now_us - p->trigger_us;
	r->tasks_total = (uint32_t) p->n_tasks;
	r->tasks_acked = (uint32_t) p->n_acked;
	r->has_epoch = 1;
	r->epoch = p->epoch;
	r->has_final = 1;
	r->final = p->final != 0;
	r->has_manual = 1;
	r->manual = p->manual != 0;
	if (reason != NULL && (r->failure_reason = strdup(reason)) == NULL)
		goto oom;
	if (p->savepoint_dir != NULL) {
		r->has_savepoint = 1;
		r->savepoint = 1;
		if ((r->savepoint_dir = strdup(p->savepoint_dir)) == NULL)
			goto oom;
	}
	r->tasks = calloc((size_t) p->n_acked + 1, sizeof(*r->tasks));
	if (r->tasks == NULL)
		goto oom;
	uint64_t bytes = 0, full_bytes = 0;
	for (int i = 0; i < p->n_tasks; i++) {
		const struct coord_task_ack *a = &p->acks[i];
		if (!a->acked)
			continue;
		Snapmark__TaskCheckpointStats *s = calloc(1, sizeof(*s));
		Snapmark__SnapshotHandle *h = calloc(1, sizeof(*h));
		if (s == NULL || h == NULL) {
			free(s);
			free(h);
			goto oom;
		}
		snapmark__task_checkpoint_stats__init(s);
		snapmark__snapshot_handle__init(h);
		r->tasks[r->n_tasks++] = s;
		s->handle = h;
		s->task = (uint32_t) i;
		s->task_name = strdup(task_names[i]);
		h->location = strdup(a->location);
		if (s->task_name == NULL || h->location == NULL)
			goto oom;
		h->task = (uint32_t) i;
		h->checkpoint_id = p->id;
		h->bytes = a->bytes;
		h->checksum = a->checksum;
		h->has_entries = 1;
		h->entries = a->entries;
		h->has_full_bytes = 1;
		h->full_bytes = a->full_bytes;
		h->has_incremental = 1;
		h->incremental = a->incremental != 0;
		if (a->inline_meta.data != NULL) {
			h->inline_meta.data = pending_memdup(
			    a->inline_meta.data, a->inline_meta.len);
			if (h->inline_meta.data == NULL)
				goto oom;
			h->has_inline_meta = 1;
			h->inline_meta.len = a->inline_meta.len;
		}
		s->sync_us = a->sync_us;
		s->async_us = a->async_us;
		s->align_us = a->align_us;
		s->ack_us = a->ack_us;
		/* The timeline. */
#define PENDING_TL(f)               \
	do {                        \
		s->has_##f = a->f != 0; \
		s->f = a->f;            \
	} while (0)
		PENDING_TL(trigger_received_us);
		PENDING_TL(first_barrier_us);
		PENDING_TL(last_barrier_us);
		PENDING_TL(barrier_sent_us);
		PENDING_TL(ack_sent_us);
		PENDING_TL(ack_received_us);
		PENDING_TL(worker_id);
#undef PENDING_TL
		if (a->n_arrivals > 0) {
			s->arrivals = calloc(a->n_arrivals,
			    sizeof(*s->arrivals));
			if (s->arrivals == NULL)
				goto oom;
			for (size_t k = 0; k < a->n_arrivals; k++) {
				Snapmark__BarrierArrival *o =
				    pending_memdup(a->arrival_ptrs[k],
				        sizeof(*o));
				if (o == NULL)
					goto oom;
				s->arrivals[s->n_arrivals++] = o;
			}
		}
		if (a->ack_received_us > r->last_ack_us) {
			r->has_last_ack_us = 1;
			r->last_ack_us = a->ack_received_us;
		}
		bytes += a->bytes;
		full_bytes += a->full_bytes;
	}
	r->has_trigger_sent_us = p->trigger_sent_us != 0;
	r->trigger_sent_us = p->trigger_sent_us;
	if (p->n_missing > 0) {
		r->missing = calloc(p->n_missing, sizeof(*r->missing));
		if (r->missing == NULL)
			goto oom;
		for (size_t i = 0; i < p->n_missing; i++) {
			const Snapmark__ExplainTask *in = p->missing[i];
			Snapmark__ExplainTask *o = pending_memdup(in,
			    sizeof(*o));
			if (o == NULL)
				goto oom;
			o->task = o->last_seen = NULL;
			r->missing[r->n_missing++] = o;
			if ((in->task != NULL &&
			        (o->task = strdup(in->task)) == NULL) ||
			    (in->last_seen != NULL &&
			        (o->last_seen = strdup(in->last_seen)) == NULL))
				goto oom;
		}
	}
	r->has_bytes = 1;
	r->bytes = bytes;
	r->has_full_bytes = 1;
	r->full_bytes = full_bytes;
	*out = r;
	return SM_OK;
oom:
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	return SM_ENOMEM;
}
