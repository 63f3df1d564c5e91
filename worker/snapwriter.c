/*
 * snapwriter.c - writer thread of task snapshots (snapwriter.h).
 */
#include "worker/snapwriter.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "worker/keymap.h"
#include "worker/kvstate.h"
#include "common/log.h"
#include "common/snapshot.h"

#define WRITER_MAX_CHAIN 1000

enum job_kind { JOB_SNAPSHOT, JOB_PRUNE };

struct writer_job {
	struct writer_job *next;
	enum job_kind kind;
	uint64_t id;
	struct sm_snapshot_data data;   /* owned copy */
	char *savepoint_dir;
	uint64_t sync_us, align_us;
	struct sm_ack_timeline tl;      /* arrivals owned (borrowed inline) */
	uint64_t *retained;
	size_t n_retained;
};

struct sm_snapwriter {
	struct sm_snapwriter_config cfg;
	char task_name[128];
	struct sm_keymap shadow;        /* the full keyed state, replayed */
	/* the chain the next delta builds on */
	uint64_t chain[WRITER_MAX_CHAIN];
	uint32_t chain_sums[WRITER_MAX_CHAIN];
	size_t n_chain;
	uint64_t delta_bytes;           /* bytes of deltas since the full one */
	uint64_t full_bytes;            /* bytes of the last full snapshot */
	uint64_t full_written_entries;
	int must_full;
	/* The shadow missed a delta (out of memory): a snapshot made from it
	 * would silently drop those changes, so every later one is declined
	 * and the job recovers from its last completed checkpoint. */
	int lost;
	/* Changes handed over with savepoints: they went into the shadow but
	 * not into the chain, so the next delta must carry them. */
	struct sm_kvdelta *carry;
	/* The restored state (its bytes in seed_bytes), until the writer
	 * thread has put it into the shadow (writer_seed). */
	struct sm_state_entry *seed;
	size_t n_seed;
	struct sm_state_arena *seed_bytes;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t idle;
	struct writer_job *head, *tail;
	int busy;
	int stopping;
};

static void
job_free(struct writer_job *j)
{
	if (j == NULL)
		return;
	sm_kvdelta_free(j->data.delta); /* not flattened yet */
	j->data.delta = NULL;
	sm_snapshot_data_free(&j->data);
	free(j->savepoint_dir);
	free(j->retained);
	free(j->tl.arrivals);
	free(j);
}

/* ------------------------------------------------------------- acking */

static void
writer_decline(struct sm_snapwriter *w, uint64_t id, const char *reason)
{
	worker_decline(w->cfg.send, w->cfg.send_ctx, w->cfg.epoch, id,
	    w->cfg.task, w->task_name, reason);
}

/* A decline caused by error err: a full disk or map (SM_ENOSPC,
 * SM_EMAPFULL) is a storage decline to the coordinator. */
static void
writer_decline_err(struct sm_snapwriter *w, uint64_t id, const char *reason,
    int err)
{
	worker_decline_err(w->cfg.send, w->cfg.send_ctx, w->cfg.epoch, id,
	    w->cfg.task, w->task_name, reason, err);
}

/* Ack checkpoint j; inline (len bytes, may be NULL) is an inline
 * snapshot's packed meta. An ack that cannot be sent declines the
 * checkpoint (logged), so the coordinator does not wait for it. */
static void
writer_ack(struct sm_snapwriter *w, struct writer_job *j, const char *location,
    const struct sm_snapshot_info *info, uint64_t full_bytes, int incremental,
    uint64_t async_us, unsigned char *inline_meta, size_t inline_len)
{
	Snapmark__SnapshotHandle h = SNAPMARK__SNAPSHOT_HANDLE__INIT;
	if (inline_meta != NULL) {
		h.has_inline_meta = 1;
		h.inline_meta.data = inline_meta;
		h.inline_meta.len = inline_len;
	}
	h.task = w->cfg.task;
	h.checkpoint_id = j->id;
	h.location = (char *) location;
	h.bytes = info->bytes;
	h.checksum = info->checksum;
	h.has_entries = 1;
	h.entries = info->entries;
	h.has_full_bytes = 1;
	h.full_bytes = full_bytes;
	h.has_incremental = 1;
	h.incremental = incremental != 0;
	Snapmark__Ack ack = SNAPMARK__ACK__INIT;
	ack.epoch = w->cfg.epoch;
	ack.checkpoint_id = j->id;
	ack.task = w->cfg.task;
	ack.handle = &h;
	ack.sync_us = j->sync_us;
	ack.async_us = async_us;
	ack.align_us = j->align_us;
	/* The timeline: per checkpoint, never per record. */
	const struct sm_ack_timeline *tl = &j->tl;
	Snapmark__BarrierArrival *arr[tl->n_arrivals + 1];
	for (size_t i = 0; i < tl->n_arrivals; i++)
		arr[i] = &tl->arrivals[i];
	ack.n_arrivals = tl->n_arrivals;
	ack.arrivals = arr;
	ack.has_trigger_received_us = tl->trigger_received_us != 0;
	ack.trigger_received_us = tl->trigger_received_us;
	ack.has_first_barrier_us = tl->first_barrier_us != 0;
	ack.first_barrier_us = tl->first_barrier_us;
	ack.has_last_barrier_us = tl->last_barrier_us != 0;
	ack.last_barrier_us = tl->last_barrier_us;
	ack.has_barrier_sent_us = tl->barrier_sent_us != 0;
	ack.barrier_sent_us = tl->barrier_sent_us;
	ack.has_ack_sent_us = 1;
	ack.ack_sent_us = sm_wall_us();
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_ACK;
	c.ack = &ack;
	int rv = w->cfg.send(w->cfg.send_ctx, &c);
	if (rv != SM_OK) {
		char why[96];
		snprintf(why, sizeof(why), "its ack could not be sent: %s",
		    sm_strerror(rv));
		sm_error("task %s: cannot send the ack of checkpoint %" PRIu64
		         ": %s",
		    w->task_name, j->id, sm_strerror(rv));
		writer_decline_err(w, j->id, why, rv);
	}
}

/* ------------------------------------------------------------ writing */

/* Put n entries (deletions: remove) into the shadow. */
static int
writer_apply_entries(struct sm_snapwriter *w, const struct sm_state_entry *e,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].deleted) {
			(void) sm_keymap_del(&w->shadow, e[i].state, e[i].key,
			    e[i].key_len);
			continue;
		}
		int rv = sm_keymap_put(&w->shadow, e[i].state, e[i].key,
		    e[i].key_len, e[i].key_group, e[i].value, e[i].value_len,
		    NULL);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

static int
writer_apply(struct sm_snapwriter *w, const struct sm_snapshot_data *d)
{
	return writer_apply_entries(w, d->entries, d->n_entries);
}

static size_t
writer_n_carry(const struct sm_snapwriter *w)
{
	return w->carry != NULL ? sm_kvdelta_len(w->carry) : 0;
}

static void
writer_drop_carry(struct sm_snapwriter *w)
{
	sm_kvdelta_free(w->carry);
	w->carry = NULL;
}

/* Merge two key-sorted entry lists; on equal keys the newer (b) wins. */
static int
writer_merge(const struct sm_state_entry *a, size_t na,
    const struct sm_state_entry *b, size_t nb, struct sm_state_entry **out,
    size_t *n)
{
	struct sm_state_entry *m = malloc((na + nb + 1) * sizeof(*m));
	if (m == NULL)
		return SM_ENOMEM;
	size_t i = 0, j = 0, k = 0;
	while (i < na || j < nb) {
		int c = j == nb ? -1
		    : i == na ? 1
		    : sm_state_entry_cmp(&a[i], &b[j]);
		if (c < 0)
			m[k++] = a[i++];
		else {
			if (c == 0)
				i++;
			m[k++] = b[j++];
		}
	}
	*out = m;
	*n = k;
	return SM_OK;
}

/* Remember a savepoint's changes for the next delta. */
static int
writer_carry(struct sm_snapwriter *w, const struct sm_snapshot_data *d)
{
	if (d->n_entries == 0)
		return SM_OK;
	if (w->carry == NULL && sm_kvdelta_new(&w->carry) != SM_OK)
		return SM_ENOMEM;
	return sm_kvdelta_record(w->carry, d->entries, d->n_entries);
}

/* Bytes the full state would take, from the last full snapshot's average
 * entry size (good enough for a size column and the delta ratio). */
static uint64_t
writer_full_estimate(const struct sm_snapwriter *w)
{
	if (w->full_written_entries == 0)
		return w->full_bytes;
	return w->full_bytes * w->shadow.len / w->full_written_entries;
}

static int
writer_wants_full(const struct sm_snapwriter *w, uint64_t delta_entries)
{
	const struct sm_job_checkpoint *p = w->cfg.policy;
	/* No keyed state (sources, sinks): a chain would only pin old
	 * snapshots. */
	if (w->shadow.len == 0 && delta_entries == 0)
		return 1;
	if (w->must_full || !p->incremental || w->n_chain == 0 ||
	    w->n_chain > p->full_every || w->n_chain >= WRITER_MAX_CHAIN)
		return 1;
	/* Deltas cost ~ the same per entry as the full snapshot did. */
	uint64_t per_entry = w->full_written_entries
	    ? w->full_bytes / w->full_written_entries
	    : 16;
	uint64_t next = w->delta_bytes + delta_entries * per_entry;
	return next * 100 > writer_full_estimate(w) * p->full_delta_percent &&
	    w->shadow.len > 0;
}

static void
writer_savepoint(struct sm_snapwriter *w, struct writer_job *j,
    uint64_t t0)
{
	char dir[700], why[800];
	snprintf(dir, sizeof(dir), "%s/%s", j->savepoint_dir, w->task_name);
	struct sm_store *st = NULL;
	struct sm_snapshot_data full = j->data;
	full.delta = NULL;
	full.incremental = 0;
	full.n_chain = 0;
	full.chain = NULL;
	full.chain_checksums = NULL;
	full.entries = NULL;
	int rv = sm_state_entries_of(&w->shadow, &full.entries, &full.n_entries);
	full.full_entries = full.n_entries;
	struct sm_snapshot_info info;
	if (rv == SM_OK)
		rv = sm_store_open(dir, 0, 0, &st);
	if (rv == SM_OK)
		rv = sm_snapshot_write(st, w->cfg.task, w->task_name,
		    w->cfg.epoch, j->id, &full, &info);
	sm_store_close(st);
	free(full.entries);
	if (rv != SM_OK) {
		snprintf(why, sizeof(why), "savepoint write to %s failed: %s",
		    dir, sm_strerror(rv));
		writer_decline_err(w, j->id, why, rv);
		return;
	}
	writer_ack(w, j, dir, &info, info.bytes, 0, sm_now_us() - t0, NULL, 0);
}

/* A full snapshot without keyed state goes into the ack instead of the
 * store (snapshot.h, inline snapshots). It is no base for a chain: the
 * next snapshot that has state is full. */
static void
writer_inline(struct sm_snapwriter *w, struct writer_job *j,
    const struct sm_snapshot_data *d, uint64_t t0)
{
	unsigned char *meta = NULL;
	size_t len = 0;
	struct sm_snapshot_info info;
	int rv = sm_snapshot_inline(w->cfg.task, w->task_name, w->cfg.epoch,
	    j->id, d, &meta, &len, &info);
	if (rv != SM_OK) {
		writer_decline(w, j->id, "cannot pack the inline snapshot");
		return;
	}
	writer_drop_carry(w);
	w->n_chain = 0;
	w->delta_bytes = 0;
	w->must_full = 1;
	writer_ack(w, j, SM_SNAPSHOT_INLINE, &info, info.bytes, 0,
	    sm_now_us() - t0, meta, len);
	free(meta);
}

static void
writer_snapshot(struct sm_snapwriter *w, struct writer_job *j)
{
	uint64_t t0 = sm_now_us();
	char why[256];
	if (w->cfg.debug_delay_us > 0)
		sm_sleep_us(w->cfg.debug_delay_us);
	/* Flattening and sorting here keep them out of the task's
	 * synchronous pause. */
	if (j->data.delta != NULL) {
		free(j->data.entries);
		/* The entries point into the delta, which the job keeps
		 * until it is written (job_free). */
		int rv = sm_kvdelta_flatten(j->data.delta, &j->data.entries,
		    &j->data.n_entries);
		j->data.unsorted = 1;
		if (rv != SM_OK) {
			j->data.entries = NULL;
			j->data.n_entries = 0;
			w->lost = 1;
		}
	}
	if (w->lost) {
		writer_decline(w, j->id,
		    "the snapshot writer lost a delta (out of memory)");
		return;
	}
	if (j->data.unsorted) {
		sm_kvstate_sort(j->data.entries, j->data.n_entries);
		j->data.unsorted = 0;
	}
	int rv = writer_apply(w, &j->data);
	if (rv != SM_OK) {
		w->lost = 1;
		writer_decline(w, j->id, "out of memory applying the delta");
		return;
	}
	if (j->savepoint_dir != NULL) {
		if (writer_carry(w, &j->data) != SM_OK)
			w->must_full = 1;
		writer_savepoint(w, j, t0);
		return;
	}

	struct sm_snapshot_data d = j->data;
	d.delta = NULL; /* flattened into d.entries; the job frees it */
	struct sm_state_entry *full_entries = NULL, *merged = NULL;
	struct sm_state_entry *carried = NULL;
	int full = writer_wants_full(w, j->data.n_entries + writer_n_carry(w));
	if (full) {
		rv = sm_state_entries_of(&w->shadow, &full_entries, &d.n_entries);
		d.entries = full_entries;
		d.n_chain = 0;
	} else {
		if (writer_n_carry(w) > 0) {
			size_t n_carried = 0;
			rv = sm_kvdelta_flatten(w->carry, &carried, &n_carried);
			if (rv == SM_OK) {
				sm_kvstate_sort(carried, n_carried);
				rv = writer_merge(carried, n_carried,
				    j->data.entries, j->data.n_entries, &merged,
				    &d.n_entries);
			}
			d.entries = merged;
		}
		d.n_chain = w->n_chain;
		d.chain = w->chain;
		d.chain_checksums = w->chain_sums;
	}
	d.incremental = !full;
	d.full_entries = w->shadow.len;
	struct sm_snapshot_info info;
	if (rv == SM_OK && full && d.n_entries == 0) {
		writer_inline(w, j, &d, t0);
		free(full_entries);
		free(carried);
		return;
	}
	if (rv == SM_OK)
		rv = sm_snapshot_write(w->cfg.store, w->cfg.task, w->task_name,
		    w->cfg.epoch, j->id, &d, &info);
	free(full_entries);
	free(merged);
	free(carried);
	if (rv != SM_OK) {
		/* The chain cannot build on a snapshot that is not there. */
		w->must_full = 1;
		snprintf(why, sizeof(why), "snapshot write to %s failed: %s",
		    sm_store_path(w->cfg.store), sm_strerror(rv));
		writer_decline_err(w, j->id, why, rv);
		return;
	}
	writer_drop_carry(w);
	if (full) {
		w->n_chain = 0;
		w->delta_bytes = 0;
		w->full_bytes = info.bytes;
		w->full_written_entries = info.entries;
		w->must_full = 0;
	} else {
		w->delta_bytes += info.bytes;
	}
	w->chain[w->n_chain] = j->id;
	w->chain_sums[w->n_chain] = info.checksum;
	w->n_chain++;
	uint64_t full_bytes = full ? info.bytes : writer_full_estimate(w);
	writer_ack(w, j, sm_store_path(w->cfg.store), &info, full_bytes, !full,
	    sm_now_us() - t0, NULL, 0);
}

static void
writer_prune(struct sm_snapwriter *w, struct writer_job *j)
{
	int rv = sm_snapshot_prune(w->cfg.store, j->retained, j->n_retained,
	    j->id + 1);
	if (rv != SM_OK)
		sm_warn("task %s: retention after checkpoint %" PRIu64
		        " failed: %s",
		    w->task_name, j->id, sm_strerror(rv));
}

/* Fill the shadow with the restored state, before any job (busy is set
 * meanwhile, so submit's inline shortcut keeps off the shadow). */
static void
writer_seed(struct sm_snapwriter *w)
{
	int rv = sm_keymap_reserve(&w->shadow, w->n_seed);
	if (rv == SM_OK)
		rv = writer_apply_entries(w, w->seed, w->n_seed);
	if (rv != SM_OK) {
		sm_error("task %s: out of memory restoring the snapshot "
		         "writer's state; its checkpoints will be declined",
		    w->task_name);
		w->lost = 1;
	}
	free(w->seed);
	sm_state_arena_free(w->seed_bytes);
	w->seed = NULL;
	w->seed_bytes = NULL;
	w->n_seed = 0;
	pthread_mutex_lock(&w->lock);
	w->busy = 0;
	if (w->head == NULL)
		pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
}

static void *
writer_main(void *arg)
{
	struct sm_snapwriter *w = arg;
	if (w->seed != NULL)
		writer_seed(w);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stopping)
			break;
		struct writer_job *j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->busy = 1;
		pthread_mutex_unlock(&w->lock);
		if (j->kind == JOB_SNAPSHOT)
			writer_snapshot(w, j);
		else
			writer_prune(w, j);
		job_free(j);
		pthread_mutex_lock(&w->lock);
		w->busy = 0;
		if (w->head == NULL)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---------------------------------------------------------------- API */

int
sm_snapwriter_start(const struct sm_snapwriter_config *cfg,
    const struct sm_state_entry *restored, size_t n,
    struct sm_snapwriter **out)
{
	struct sm_snapwriter *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return SM_ENOMEM;
	w->cfg = *cfg;
	snprintf(w->task_name, sizeof(w->task_name), "%s", cfg->task_name);
	w->cfg.task_name = w->task_name;
	w->must_full = 1;
	if (sm_keymap_init(&w->shadow) != SM_OK) {
		free(w);
		return SM_ENOMEM;
	}
	/* The shadow is seeded on the writer thread, from a copy, while the
	 * task's thread loads the same entries into the operator. */
	if (n > 0) {
		w->seed = malloc(n * sizeof(*w->seed));
		if (w->seed == NULL) {
			sm_keymap_fini(&w->shadow);
			free(w);
			return SM_ENOMEM;
		}
		memcpy(w->seed, restored, n * sizeof(*w->seed));
		w->n_seed = n;
		/* Its own copy of the bytes: the caller frees its own. */
		for (size_t i = 0; i < n; i++) {
			struct sm_state_entry *e = &w->seed[i];
			size_t len = (size_t) e->key_len + e->value_len;
			unsigned char *p = sm_state_arena_alloc(&w->seed_bytes,
			    len ? len : 1);
			if (p == NULL) {
				sm_state_arena_free(w->seed_bytes);
				sm_keymap_fini(&w->shadow);
				free(w->seed);
				free(w);
				return SM_ENOMEM;
			}
			if (e->key_len > 0)
				memcpy(p, e->key, e->key_len);
			if (e->value_len > 0)
				memcpy(p + e->key_len, e->value, e->value_len);
			e->key = p;
			e->value = p + e->key_len;
		}
		w->busy = 1;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		sm_keymap_fini(&w->shadow);
		free(w->seed);
		sm_state_arena_free(w->seed_bytes);
		free(w);
		return SM_ENOMEM;
	}
	*out = w;
	return SM_OK;
}

static void
writer_enqueue(struct sm_snapwriter *w, struct writer_job *j)
{
	pthread_mutex_lock(&w->lock);
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Take in's entries or delta (the writer owns them from now on), copy the
 * rest. */
static int
data_take(struct sm_snapshot_data *in, struct sm_snapshot_data *out)
{
	memset(out, 0, sizeof(*out));
	out->has_source_offset = in->has_source_offset;
	out->source_next_seq = in->source_next_seq;
	out->drained = in->drained;
	out->full_entries = in->full_entries;
	out->unsorted = in->unsorted;
	out->entries = in->entries;
	out->n_entries = in->n_entries;
	out->bytes = in->bytes;
	out->delta = in->delta;
	out->op_state = in->op_state;
	out->n_op_state = in->n_op_state;
	in->entries = NULL;
	in->n_entries = 0;
	in->bytes = NULL;
	in->delta = NULL;
	in->op_state = NULL;
	in->n_op_state = 0;
	return sm_snapshot_data_copy_pending(out, in->pending, in->pending_id,
	    in->n_pending);
}

int
sm_snapwriter_submit(struct sm_snapwriter *w, uint64_t id,
    struct sm_snapshot_data *data, const char *savepoint_dir,
    uint64_t sync_us, uint64_t align_us)
{
	return sm_snapwriter_submit_timeline(w, id, data, savepoint_dir,
	    sync_us, align_us, NULL);
}

int
sm_snapwriter_submit_timeline(struct sm_snapwriter *w, uint64_t id,
    struct sm_snapshot_data *data, const char *savepoint_dir,
    uint64_t sync_us, uint64_t align_us, const struct sm_ack_timeline *tl)
{
	/* Nothing to write and nobody to wait for: ack on this thread and
	 * save the checkpoint a thread handoff. The lock keeps the writer
	 * thread (idle, its queue empty) out meanwhile. */
	pthread_mutex_lock(&w->lock);
	if (w->head == NULL && !w->busy && savepoint_dir == NULL &&
	    data->delta == NULL && data->n_entries == 0 &&
	    w->shadow.len == 0 && writer_n_carry(w) == 0 && !w->lost &&
	    w->cfg.debug_delay_us == 0) {
		struct writer_job now = { .kind = JOB_SNAPSHOT,
			.id = id,
			.sync_us = sync_us,
			.align_us = align_us };
		if (tl != NULL)
			now.tl = *tl; /* borrowed: acked right here */
		writer_inline(w, &now, data, sm_now_us());
		pthread_mutex_unlock(&w->lock);
		return SM_OK;
	}
	pthread_mutex_unlock(&w->lock);
	struct writer_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return SM_ENOMEM;
	j->kind = JOB_SNAPSHOT;
	j->id = id;
	j->sync_us = sync_us;
	j->align_us = align_us;
	if (tl != NULL) {
		j->tl = *tl;
		j->tl.arrivals = NULL;
		j->tl.n_arrivals = 0;
		if (tl->n_arrivals > 0) {
			j->tl.arrivals = malloc(
			    tl->n_arrivals * sizeof(*tl->arrivals));
			if (j->tl.arrivals == NULL) {
				job_free(j);
				return SM_ENOMEM;
			}
			memcpy(j->tl.arrivals, tl->arrivals,
			    tl->n_arrivals * sizeof(*tl->arrivals));
			j->tl.n_arrivals = tl->n_arrivals;
		}
	}
	if (data_take(data, &j->data) != SM_OK ||
	    (savepoint_dir != NULL &&
	        (j->savepoint_dir = strdup(savepoint_dir)) == NULL)) {
		job_free(j);
		return SM_ENOMEM;
	}
	writer_enqueue(w, j);
	return SM_OK;
}

int
sm_snapwriter_prune(struct sm_snapwriter *w, uint64_t completed,
    const uint64_t *retained, size_t n_retained)
{
	struct writer_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return SM_ENOMEM;
	j->kind = JOB_PRUNE;
	j->id = completed;
	if (n_retained > 0) {
		j->retained = malloc(n_retained * sizeof(uint64_t));
		if (j->retained == NULL) {
			free(j);
			return SM_ENOMEM;
		}
		memcpy(j->retained, retained, n_retained * sizeof(uint64_t));
		j->n_retained = n_retained;
	}
	writer_enqueue(w, j);
	return SM_OK;
}

void
sm_snapwriter_wait(struct sm_snapwriter *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->head != NULL || w->busy)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void
sm_snapwriter_stop(struct sm_snapwriter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* Snapshots of a stopped task are useless; retention is still due. */
	while (w->head != NULL) {
		struct writer_job *j = w->head;
		w->head = j->next;
		if (j->kind == JOB_PRUNE)
			writer_prune(w, j);
		job_free(j);
	}
	sm_keymap_fini(&w->shadow);
	writer_drop_carry(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->idle);
	free(w);
}
