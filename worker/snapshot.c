/*
 * snapshot.c - writing, verifying and pruning task snapshots (snapshot.h).
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "error.h"
#include "snapmark.pb-c.h"

#define SNAP_META 'm'
#define SNAP_STATE 's'

static void
snap_key(unsigned char *k, char kind, uint64_t id)
{
	k[0] = (unsigned char) kind;
	sm_be64_put(k + 1, id);
}

struct snap_write {
	uint32_t task;
	const char *task_name;
	uint64_t epoch, id;
	const struct sm_snapshot_data *data;
	struct sm_snapshot_info info;
};

static int
snap_write_fn(struct sm_txn *txn, void *arg)
{
	struct snap_write *w = arg;
	const struct sm_snapshot_data *d = w->data;
	unsigned char key[17], val[32];
	uint32_t crc = 0;
	uint64_t bytes = 0;
	int rv;

	snap_key(key, SNAP_STATE, w->id);
	for (size_t i = 0; i < d->n_entries; i++) {
		Snapmark__StateEntry e = SNAPMARK__STATE_ENTRY__INIT;
		e.key = d->entries[i].key;
		e.count = d->entries[i].count;
		size_t len = snapmark__state_entry__pack(&e, val);
		sm_be64_put(key + 9, e.key);
		if ((rv = sm_txn_put(txn, key, sizeof(key), val, len)) !=
		    SM_OK)
			return rv;
		crc = sm_crc32c(crc, val, len);
		bytes += len;
	}

	Snapmark__SnapshotMeta m = SNAPMARK__SNAPSHOT_META__INIT;
	m.checkpoint_id = w->id;
	m.task = w->task;
	m.task_name = (char *) w->task_name;
	m.epoch = w->epoch;
	m.entries = d->n_entries;
	m.state_checksum = crc;
	m.has_source_next_seq = d->has_source_offset;
	m.source_next_seq = d->source_next_seq;
	m.n_sink_pending = d->n_pending;
	m.sink_pending = d->pending;
	m.n_sink_pending_id = d->n_pending;
	m.sink_pending_id = d->pending_id;
	m.has_drained = 1;
	m.drained = d->drained != 0;
	size_t len = snapmark__snapshot_meta__get_packed_size(&m);
	unsigned char *buf = malloc(len);
	if (buf == NULL)
		return SM_ENOMEM;
	snapmark__snapshot_meta__pack(&m, buf);
	snap_key(key, SNAP_META, w->id);
	rv = sm_txn_put(txn, key, 9, buf, len);
	w->info.checksum = sm_crc32c(0, buf, len);
	w->info.bytes = bytes + len;
	w->info.entries = d->n_entries;
	free(buf);
	return rv;
}

int
sm_snapshot_write(struct sm_store *st, uint32_t task, const char *task_name,
    uint64_t epoch, uint64_t id, const struct sm_snapshot_data *data,
    struct sm_snapshot_info *info)
{
	struct snap_write w = { .task = task, .task_name = task_name,
		.epoch = epoch, .id = id, .data = data };
	int rv = sm_store_write(st, snap_write_fn, &w);
	if (rv == SM_OK)
		rv = sm_store_sync(st);
	if (rv == SM_OK)
		*info = w.info;
	return rv;
}

struct snap_read {
	uint32_t task;
	uint64_t id;
	uint32_t checksum;
	struct sm_snapshot_data data;
	uint32_t state_crc;
	size_t cap;
	char *why;
	size_t whylen;
};

static int
snap_read_entry(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct snap_read *r = arg;
	Snapmark__StateEntry *e = snapmark__state_entry__unpack(NULL, vlen,
	    val);
	if (e == NULL) {
		snprintf(r->why, r->whylen,
		    "state entry %zu does not decode", r->data.n_entries);
		return SM_ECORRUPT;
	}
	if (r->data.n_entries == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		void *p = realloc(r->data.entries,
		    cap * sizeof(*r->data.entries));
		if (p == NULL) {
			snapmark__state_entry__free_unpacked(e, NULL);
			return SM_ENOMEM;
		}
		r->data.entries = p;
		r->cap = cap;
	}
	r->data.entries[r->data.n_entries].key = e->key;
	r->data.entries[r->data.n_entries].count = e->count;
	r->data.n_entries++;
	r->state_crc = sm_crc32c(r->state_crc, val, vlen);
	snapmark__state_entry__free_unpacked(e, NULL);
	return SM_OK;
}

static int
snap_read_fn(struct sm_txn *txn, void *arg)
{
	struct snap_read *r = arg;
	unsigned char key[9];
	const void *val;
	size_t vlen;
	snap_key(key, SNAP_META, r->id);
	int rv = sm_txn_get(txn, key, sizeof(key), &val, &vlen);
	if (rv == SM_ENOTFOUND) {
		snprintf(r->why, r->whylen, "snapshot not found");
		return SM_ENOTFOUND;
	}
	if (rv != SM_OK)
		return rv;
	if (sm_crc32c(0, val, vlen) != r->checksum) {
		snprintf(r->why, r->whylen,
		    "snapshot metadata checksum mismatch");
		return SM_ECORRUPT;
	}
	Snapmark__SnapshotMeta *m = snapmark__snapshot_meta__unpack(NULL,
	    vlen, val);
	if (m == NULL) {
		snprintf(r->why, r->whylen, "snapshot metadata does not decode");
		return SM_ECORRUPT;
	}
	if (m->checkpoint_id != r->id || m->task != r->task ||
	    m->n_sink_pending != m->n_sink_pending_id) {
		snprintf(r->why, r->whylen,
		    "snapshot metadata names another task or checkpoint");
		rv = SM_ECORRUPT;
		goto done;
	}
	r->data.has_source_offset = m->has_source_next_seq;
	r->data.source_next_seq = m->source_next_seq;
	r->data.drained = m->has_drained && m->drained;
	if (m->n_sink_pending > 0) {
		r->data.pending = calloc(m->n_sink_pending, sizeof(char *));
		r->data.pending_id = calloc(m->n_sink_pending,
		    sizeof(uint64_t));
		if (r->data.pending == NULL || r->data.pending_id == NULL) {
			rv = SM_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < m->n_sink_pending; i++) {
			r->data.pending[i] = strdup(m->sink_pending[i]);
			if (r->data.pending[i] == NULL) {
				rv = SM_ENOMEM;
				goto done;
			}
			r->data.pending_id[i] = m->sink_pending_id[i];
			r->data.n_pending++;
		}
	}
	unsigned char prefix[9];
	snap_key(prefix, SNAP_STATE, r->id);
	rv = sm_txn_scan(txn, prefix, sizeof(prefix), snap_read_entry, r);
	if (rv != SM_OK)
		goto done;
	if (r->data.n_entries != m->entries) {
		snprintf(r->why, r->whylen,
		    "snapshot holds %zu state entries, metadata says %llu",
		    r->data.n_entries, (unsigned long long) m->entries);
		rv = SM_ECORRUPT;
	} else if (r->state_crc != m->state_checksum) {
		snprintf(r->why, r->whylen, "state checksum mismatch");
		rv = SM_ECORRUPT;
	}
done:
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	return rv;
}

int
sm_snapshot_read(struct sm_store *st, uint32_t task, uint64_t id,
    uint32_t checksum, struct sm_snapshot_data *data, char *why,
    size_t whylen)
{
	struct snap_read r = { .task = task, .id = id, .checksum = checksum,
		.why = why, .whylen = whylen };
	why[0] = '\0';
	int rv = sm_store_read(st, snap_read_fn, &r);
	if (rv != SM_OK) {
		if (why[0] == '\0')
			snprintf(why, whylen, "%s", sm_strerror(rv));
		sm_snapshot_data_free(&r.data);
		return rv;
	}
	*data = r.data;
	return SM_OK;
}

void
sm_snapshot_data_free(struct sm_snapshot_data *d)
{
	free(d->entries);
	for (size_t i = 0; i < d->n_pending; i++)
		free(d->pending[i]);
	free(d->pending);
	free(d->pending_id);
	memset(d, 0, sizeof(*d));
}

struct snap_ids {
	uint64_t *ids;
	size_t max, n;
};

static int
snap_collect_id(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct snap_ids *s = arg;
	if (klen == 9 && s->n < s->max)
		s->ids[s->n++] = sm_be64_get((const unsigned char *) key + 1);
	return SM_OK;
}

static int
snap_list_fn(struct sm_txn *txn, void *arg)
{
	unsigned char prefix = SNAP_META;
	return sm_txn_scan(txn, &prefix, 1, snap_collect_id, arg);
}

int
sm_snapshot_list(struct sm_store *st, uint64_t *ids, size_t max, size_t *n)
{
	struct snap_ids s = { .ids = ids, .max = max };
	int rv = sm_store_read(st, snap_list_fn, &s);
	if (rv == SM_OK)
		*n = s.n;
	return rv;
}

struct snap_prune {
	const uint64_t *drop;
	size_t n_drop;
};

static int
snap_prune_fn(struct sm_txn *txn, void *arg)
{
	struct snap_prune *p = arg;
	for (size_t i = 0; i < p->n_drop; i++) {
		unsigned char key[9];
		snap_key(key, SNAP_META, p->drop[i]);
		int rv = sm_txn_del(txn, key, sizeof(key));
		if (rv == SM_OK) {
			snap_key(key, SNAP_STATE, p->drop[i]);
			rv = sm_txn_del_prefix(txn, key, sizeof(key), NULL);
		}
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

#define SNAP_LIST_MAX 4096

int
sm_snapshot_prune(struct sm_store *st, const uint64_t *keep, size_t n_keep,
    uint64_t below)
{
	uint64_t *ids = malloc(SNAP_LIST_MAX * sizeof(*ids));
	if (ids == NULL)
		return SM_ENOMEM;
	size_t n = 0, n_drop = 0;
	int rv = sm_snapshot_list(st, ids, SNAP_LIST_MAX, &n);
	for (size_t i = 0; rv == SM_OK && i < n; i++) {
		int drop;
		if (below == 0) {
			drop = n_keep == 0 || ids[i] > keep[0];
		} else {
			drop = ids[i] < below;
			for (size_t k = 0; drop && k < n_keep; k++)
				drop = ids[i] != keep[k];
		}
		if (drop)
			ids[n_drop++] = ids[i];
	}
	if (rv == SM_OK && n_drop > 0) {
		struct snap_prune p = { .drop = ids, .n_drop = n_drop };
		rv = sm_store_write(st, snap_prune_fn, &p);
	}
	free(ids);
	return rv;
}
