/*
 * task_restore.c - a task's state at start: read and verify the snapshot
 * handles the coordinator sent, keep only the key groups the subtask owns
 * after a rescale, gather the operator-state items, hand the state to the
 * operator and seed the snapshot writer with it.
 *
 * Operator state: restored at the same parallelism a subtask gets its own
 * items back (its one handle); at another, every subtask gets the items
 * of every old subtask (the union, in handle order) and keeps those it
 * owns.
 */
#include "worker/task_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/snapshot.h"
#include "worker/kvstate.h"
#include "worker/trust.h"

/* Keep only the entries of key groups this subtask owns (rescaling), by
 * the key group each entry carries: no key is hashed again. */
static void
task_filter_key_groups(struct worker_task *t, struct sm_snapshot_data *d)
{
	const struct sm_job_stage *st = &t->job->stages[t->stage];
	d->n_entries = sm_state_keep_owned(d->entries, d->n_entries,
	    st->max_parallelism, st->parallelism, t->subtask);
}

/* Append src's entries (and the arena holding their bytes) and its
 * operator-state items to dst and keep dst's entries sorted by key. */
static int
task_merge_entries(struct sm_snapshot_data *dst, struct sm_snapshot_data *src)
{
	if (src->n_op_state > 0) {
		struct sm_state_item *it = realloc(dst->op_state,
		    (dst->n_op_state + src->n_op_state) * sizeof(*it));
		if (it == NULL)
			return SM_ENOMEM;
		memcpy(it + dst->n_op_state, src->op_state,
		    src->n_op_state * sizeof(*it));
		dst->op_state = it;
		dst->n_op_state += src->n_op_state;
		free(src->op_state);
		src->op_state = NULL;
		src->n_op_state = 0;
	}
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
	sm_state_arena_join(&dst->bytes, &src->bytes);
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
int
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
		/* Key groups come from the snapshot: untrusted (trust.h). */
		rv = sm_trust_key_groups(one.entries, one.n_entries,
		    t->job->stages[t->stage].max_parallelism, why, whylen);
		if (rv != SM_OK) {
			sm_snapshot_data_free(&one);
			break;
		}
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
		    t->op->why[0] != '\0' ? t->op->why : sm_strerror(rv));
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
	int prv = sm_snapshot_prune(t->store, &id, own, 0);
	if (prv != SM_OK)
		sm_warn("task %s: cannot delete the snapshots after checkpoint "
		        "%" PRIu64 ": %s",
		    t->name, id, sm_strerror(prv));
	return SM_OK;
}

