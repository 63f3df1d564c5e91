/*
 * snapshot.c - writing, verifying and pruning task snapshots (snapshot.h).
 */
#include "common/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>

#include "common/bigmem.h"
#include "common/checksum.h"
#include "common/error.h"
#include "proto/snapmark.pb-c.h"

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

static int snap_meta_pack(const struct snap_write *w, uint32_t state_crc,
    unsigned char **buf, size_t *len);

/* Pack entry e as a StateEntry into *buf (grown as needed); its length. */
static int
snap_entry_pack(const struct sm_state_entry *e, unsigned char **buf,
    size_t *cap, size_t *len)
{
	Snapmark__StateEntry m = SNAPMARK__STATE_ENTRY__INIT;
	m.state = e->state;
	m.key.data = (uint8_t *) e->key;
	m.key.len = e->key_len;
	m.key_group = e->key_group;
	m.value.data = (uint8_t *) e->value;
	m.value.len = e->deleted ? 0 : e->value_len;
	if (e->deleted) {
		m.has_deleted = 1;
		m.deleted = 1;
	}
	size_t n = snapmark__state_entry__get_packed_size(&m);
	if (n > *cap) {
		unsigned char *p = realloc(*buf, n);
		if (p == NULL)
			return SM_ENOMEM;
		*buf = p;
		*cap = n;
	}
	*len = snapmark__state_entry__pack(&m, *buf);
	return SM_OK;
}

static int
snap_write_fn(struct sm_txn *txn, void *arg)
{
	struct snap_write *w = arg;
	const struct sm_snapshot_data *d = w->data;
	unsigned char key[17];
	uint32_t crc = 0;
	uint64_t bytes = 0;
	int rv;

	snap_key(key, SNAP_STATE, w->id);
	/* Rewriting an id replaces it whole: no entry of an older write may
	 * survive under the same id. */
	if ((rv = sm_txn_del_prefix(txn, key, 9, NULL)) != SM_OK)
		return rv;
	/* Entries are filed under their position, in (state, key) order,
	 * so a snapshot's state is one contiguous range read back in that
	 * order; a new snapshot's id is normally the greatest: append until
	 * a key does not sort last, then put. */
	unsigned char *val = NULL;
	size_t cap = 0;
	int append = 1;
	for (size_t i = 0; i < d->n_entries; i++) {
		const struct sm_state_entry *e = &d->entries[i];
		size_t len;
		if (e->key_len > SM_STATE_MAX_BYTES ||
		    e->value_len > SM_STATE_MAX_BYTES ||
		    (i > 0 && sm_state_entry_cmp(&d->entries[i - 1], e) >= 0)) {
			rv = SM_EINVAL; /* unsorted, duplicate or oversized */
			break;
		}
		if ((rv = snap_entry_pack(e, &val, &cap, &len)) != SM_OK)
			break;
		sm_be64_put(key + 9, (uint64_t) i);
		rv = append ? sm_txn_append(txn, key, sizeof(key), val, len)
		            : SM_EAGAIN;
		if (rv == SM_EAGAIN) {
			append = 0;
			rv = sm_txn_put(txn, key, sizeof(key), val, len);
		}
		if (rv != SM_OK)
			break;
		crc = sm_crc32c(crc, val, len);
		bytes += len;
	}
	free(val);
	if (rv != SM_OK)
		return rv;

	unsigned char *buf;
	size_t len;
	if ((rv = snap_meta_pack(w, crc, &buf, &len)) != SM_OK)
		return rv;
	snap_key(key, SNAP_META, w->id);
	rv = sm_txn_put(txn, key, 9, buf, len);
	w->info.checksum = sm_crc32c(0, buf, len);
	w->info.bytes = bytes + len;
	w->info.entries = d->n_entries;
	free(buf);
	return rv;
}

/* Pack the SnapshotMeta of w's snapshot whose state values have CRC-32C
 * state_crc into *buf (malloc'ed, *len bytes). */
static int
snap_meta_pack(const struct snap_write *w, uint32_t state_crc,
    unsigned char **buf, size_t *len)
{
	const struct sm_snapshot_data *d = w->data;
	Snapmark__SnapshotMeta m = SNAPMARK__SNAPSHOT_META__INIT;
	m.checkpoint_id = w->id;
	m.task = w->task;
	m.task_name = (char *) w->task_name;
	m.epoch = w->epoch;
	m.entries = d->n_entries;
	m.state_checksum = state_crc;
	m.has_source_next_seq = d->has_source_offset;
	m.source_next_seq = d->source_next_seq;
	m.n_sink_pending = d->n_pending;
	m.sink_pending = d->pending;
	m.n_sink_pending_id = d->n_pending;
	m.sink_pending_id = d->pending_id;
	m.has_drained = 1;
	m.drained = d->drained != 0;
	m.has_full = 1;
	m.full = d->n_chain == 0;
	m.n_chain = d->n_chain;
	m.chain = d->chain;
	m.n_chain_checksums = d->n_chain;
	m.chain_checksums = d->chain_checksums;
	m.has_full_entries = 1;
	m.full_entries = d->full_entries;
	ProtobufCBinaryData *items = malloc((d->n_op_state + 1) *
	    sizeof(*items));
	if (items == NULL)
		return SM_ENOMEM;
	for (size_t i = 0; i < d->n_op_state; i++) {
		items[i].data = d->op_state[i].data;
		items[i].len = d->op_state[i].len;
	}
	m.n_op_state = d->n_op_state;
	m.op_state = items;
	*len = snapmark__snapshot_meta__get_packed_size(&m);
	if ((*buf = malloc(*len + 1)) == NULL) {
		free(items);
		return SM_ENOMEM;
	}
	snapmark__snapshot_meta__pack(&m, *buf);
	free(items);
	return SM_OK;
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

int
sm_snapshot_inline(uint32_t task, const char *task_name, uint64_t epoch,
    uint64_t id, const struct sm_snapshot_data *data, unsigned char **meta,
    size_t *len, struct sm_snapshot_info *info)
{
	if (data->n_entries != 0 || data->n_chain != 0 || data->delta != NULL)
		return SM_EINVAL;
	struct snap_write w = { .task = task,
		.task_name = task_name,
		.epoch = epoch,
		.id = id,
		.data = data };
	int rv = snap_meta_pack(&w, 0, meta, len);
	if (rv != SM_OK)
		return rv;
	info->checksum = sm_crc32c(0, *meta, *len);
	info->bytes = *len;
	info->entries = 0;
	return SM_OK;
}

/*
 * Reading applies a chain: the full snapshot chain[0], then every delta up
 * to the requested one, each verified on its own (its meta against the
 * checksum its successor recorded, its entries against its meta) before
 * it is applied. Entries come out of LMDB in the order they were written,
 * (state, key) order, which the reader checks entry by entry, so the full
 * snapshot is read straight into a sorted array and each delta is merged
 * into it: no hashing, no sort. Key and value bytes are copied into one
 * arena that the result owns. Entries in the exact form protobuf-c packs
 * them (fields in order, nothing else) are decoded by snap_entry_fast;
 * anything else goes to protobuf-c itself, which decodes it or reports it
 * corrupt.
 */
struct entry_list {
	struct sm_state_entry *e;
	size_t n, cap;
};

struct snap_read {
	uint32_t task;
	struct entry_list state; /* the chain applied so far, by key */
	struct entry_list link;  /* the link being read */
	struct sm_state_arena *arena; /* every entry's bytes */
	uint32_t state_crc;
	uint64_t n_read;
	uint64_t bytes;           /* value bytes read, every link */
	uint64_t link_id;         /* snapshot being read */
	uint64_t link_deleted;    /* deletions in it */
	char *why;
	size_t whylen;
};

static int
entry_list_reserve(struct entry_list *l, size_t n)
{
	if (n <= l->cap)
		return SM_OK;
	struct sm_state_entry *p = realloc(l->e, n * sizeof(*p));
	if (p == NULL)
		return SM_ENOMEM;
	sm_bigmem_advise(p, n * sizeof(*p));
	l->e = p;
	l->cap = n;
	return SM_OK;
}

/* Append e; the list is reserved for what the meta announces, so this
 * grows it only for a store holding more entries than that. */
static int
entry_list_push(struct entry_list *l, const struct sm_state_entry *e)
{
	if (l->n == l->cap &&
	    entry_list_reserve(l, l->cap ? l->cap * 2 : 1024) != SM_OK)
		return SM_ENOMEM;
	l->e[l->n++] = *e;
	return SM_OK;
}

/* Merge the delta `d` into `base` (both by key): a delta entry replaces
 * the key's value, or removes the key. */
static int
entry_list_merge(struct entry_list *base, const struct entry_list *d)
{
	struct entry_list out = { NULL, 0, 0 };
	if (entry_list_reserve(&out, base->n + d->n + 1) != SM_OK)
		return SM_ENOMEM;
	size_t i = 0, j = 0;
	while (i < base->n || j < d->n) {
		int c = j == d->n ? -1
		    : i == base->n ? 1
		    : sm_state_entry_cmp(&base->e[i], &d->e[j]);
		if (c < 0) {
			out.e[out.n++] = base->e[i++];
			continue;
		}
		if (c == 0)
			i++;
		if (!d->e[j].deleted)
			out.e[out.n++] = d->e[j];
		j++;
	}
	free(base->e);
	*base = out;
	return SM_OK;
}

/* Read the varint at *p (before end) into *v; 0 if it is not one that
 * fits 64 bits exactly. */
static int
snap_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		unsigned char b = *(*p)++;
		if (shift == 63 && b > 1)
			return 0;
		x |= (uint64_t) (b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return 1;
		}
	}
	return 0;
}

/* A length-delimited field's bytes at *p: *data, *len. */
static int
snap_bytes(const unsigned char **p, const unsigned char *end,
    const unsigned char **data, uint32_t *len)
{
	uint64_t n;
	if (!snap_varint(p, end, &n) || n > (uint64_t) (end - *p) ||
	    n > SM_STATE_MAX_BYTES)
		return 0;
	*data = *p;
	*len = (uint32_t) n;
	*p += n;
	return 1;
}

/* Decode a StateEntry packed as protobuf-c packs it: state (4, varint),
 * key (5, bytes), key_group (6, varint), value (7, bytes), optionally
 * deleted (8, bool), nothing after. Key and value point into p. Returns 0
 * for any other (possibly still valid) encoding. */
static int
snap_entry_fast(const unsigned char *p, size_t len, struct sm_state_entry *e)
{
	const unsigned char *end = p + len;
	uint64_t state, kg, deleted = 0;
	if (p == end || *p++ != 0x20 || !snap_varint(&p, end, &state) ||
	    state > UINT32_MAX || p == end || *p++ != 0x2a ||
	    !snap_bytes(&p, end, &e->key, &e->key_len) || p == end ||
	    *p++ != 0x30 || !snap_varint(&p, end, &kg) || kg > UINT32_MAX ||
	    p == end || *p++ != 0x3a ||
	    !snap_bytes(&p, end, &e->value, &e->value_len))
		return 0;
	if (p != end &&
	    (*p++ != 0x40 || !snap_varint(&p, end, &deleted) || deleted > 1))
		return 0;
	if (p != end)
		return 0;
	e->state = (uint32_t) state;
	e->key_group = (uint32_t) kg;
	e->deleted = (int) deleted;
	return 1;
}

/* Copy e's key and value into the arena and point e at the copies. */
static int
snap_keep_bytes(struct snap_read *r, struct sm_state_entry *e)
{
	size_t n = (size_t) e->key_len + e->value_len;
	unsigned char *p = sm_state_arena_alloc(&r->arena, n ? n : 1);
	if (p == NULL)
		return SM_ENOMEM;
	if (e->key_len > 0)
		memcpy(p, e->key, e->key_len);
	if (e->value_len > 0)
		memcpy(p + e->key_len, e->value, e->value_len);
	e->key = p;
	e->value = p + e->key_len;
	return SM_OK;
}

static int
snap_read_entry(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct snap_read *r = arg;
	struct sm_state_entry se;
	Snapmark__StateEntry *e = NULL;
	if (!snap_entry_fast(val, vlen, &se)) {
		e = snapmark__state_entry__unpack(NULL, vlen, val);
		if (e == NULL || e->key.len > SM_STATE_MAX_BYTES ||
		    e->value.len > SM_STATE_MAX_BYTES) {
			if (e != NULL)
				snapmark__state_entry__free_unpacked(e, NULL);
			snprintf(r->why, r->whylen,
			    "state entry %" PRIu64 " of snapshot %" PRIu64
			    " does not decode",
			    r->n_read, r->link_id);
			return SM_ECORRUPT;
		}
		se = (struct sm_state_entry) { .state = e->state,
			.key_group = e->key_group,
			.key_len = (uint32_t) e->key.len,
			.value_len = (uint32_t) e->value.len,
			.key = e->key.data,
			.value = e->value.data,
			.deleted = e->has_deleted && e->deleted };
	}
	uint64_t place = klen == 17
	    ? sm_be64_get((const unsigned char *) key + 9)
	    : UINT64_MAX;
	int bad_place = place != r->n_read;
	int bad_order = r->link.n > 0 &&
	    sm_state_entry_cmp(&r->link.e[r->link.n - 1], &se) >= 0;
	int rv = bad_place || bad_order ? SM_ECORRUPT : snap_keep_bytes(r, &se);
	if (e != NULL)
		snapmark__state_entry__free_unpacked(e, NULL);
	if (rv == SM_ECORRUPT && klen == 17 && place > r->n_read &&
	    place != UINT64_MAX) {
		snprintf(r->why, r->whylen,
		    "snapshot %" PRIu64 " lacks state entries: entry %" PRIu64
		    " is missing",
		    r->link_id, r->n_read);
		return rv;
	}
	if (rv == SM_ECORRUPT) {
		snprintf(r->why, r->whylen,
		    "state entry %" PRIu64 " of snapshot %" PRIu64 " is %s",
		    r->n_read, r->link_id,
		    bad_place ? "filed under another key"
		              : "out of key order");
		return rv;
	}
	if (rv != SM_OK)
		return rv;
	r->n_read++;
	r->link_deleted += se.deleted != 0;
	r->bytes += vlen;
	r->state_crc = sm_crc32c(r->state_crc, val, vlen);
	return entry_list_push(&r->link, &se);
}

/* Verify and decode the packed meta of snapshot `id` of `task` against
 * `checksum`; on success the caller frees *out. */
static int
snap_meta_verify(const void *val, size_t vlen, uint32_t checksum,
    uint32_t task, uint64_t id, Snapmark__SnapshotMeta **out, char *why,
    size_t whylen)
{
	if (sm_crc32c(0, val, vlen) != checksum) {
		snprintf(why, whylen,
		    "snapshot %" PRIu64 ": metadata checksum mismatch", id);
		return SM_ECORRUPT;
	}
	Snapmark__SnapshotMeta *m = snapmark__snapshot_meta__unpack(NULL,
	    vlen, val);
	if (m == NULL) {
		snprintf(why, whylen,
		    "snapshot %" PRIu64 ": metadata does not decode", id);
		return SM_ECORRUPT;
	}
	int bad = m->checkpoint_id != id || m->task != task ||
	    m->n_sink_pending != m->n_sink_pending_id ||
	    m->n_chain != m->n_chain_checksums ||
	    m->n_op_state > SM_STATE_MAX_ITEMS;
	for (size_t i = 0; !bad && i < m->n_op_state; i++)
		bad = m->op_state[i].len > SM_STATE_MAX_BYTES;
	for (size_t i = 0; !bad && i < m->n_chain; i++)
		bad = m->chain[i] >= id || (i > 0 && m->chain[i] <= m->chain[i - 1]);
	if (bad) {
		snprintf(why, whylen,
		    "snapshot %" PRIu64 ": metadata names another task or "
		    "checkpoint, a broken chain or oversized operator state",
		    id);
		snapmark__snapshot_meta__free_unpacked(m, NULL);
		return SM_ECORRUPT;
	}
	*out = m;
	return SM_OK;
}

/* Read and verify the meta of snapshot `id` whose packed meta has
 * `checksum`; on success the caller frees *out. */
static int
snap_meta(struct sm_txn *txn, struct snap_read *r, uint64_t id,
    uint32_t checksum, Snapmark__SnapshotMeta **out)
{
	unsigned char key[9];
	const void *val;
	size_t vlen;
	snap_key(key, SNAP_META, id);
	int rv = sm_txn_get(txn, key, sizeof(key), &val, &vlen);
	if (rv == SM_ENOTFOUND) {
		snprintf(r->why, r->whylen, "snapshot %" PRIu64 " not found",
		    id);
		return SM_ENOTFOUND;
	}
	if (rv != SM_OK)
		return rv;
	return snap_meta_verify(val, vlen, checksum, r->task, id, out, r->why,
	    r->whylen);
}

/* Apply snapshot `id`'s own entries (not its chain), verified against
 * its meta. */
static int
snap_entries(struct sm_txn *txn, struct snap_read *r, uint64_t id,
    const Snapmark__SnapshotMeta *m)
{
	unsigned char prefix[9];
	snap_key(prefix, SNAP_STATE, id);
	r->link_id = id;
	r->n_read = 0;
	r->state_crc = 0;
	r->link.n = 0;
	r->link_deleted = 0;
	if (entry_list_reserve(&r->link, (size_t) m->entries + 1) != SM_OK)
		return SM_ENOMEM;
	int rv = sm_txn_scan(txn, prefix, sizeof(prefix), snap_read_entry, r);
	if (rv != SM_OK)
		return rv;
	if (r->n_read != m->entries) {
		snprintf(r->why, r->whylen,
		    "snapshot %" PRIu64 " holds %" PRIu64
		    " state entries, metadata says %" PRIu64,
		    id, r->n_read, m->entries);
		return SM_ECORRUPT;
	}
	if (r->state_crc != m->state_checksum) {
		snprintf(r->why, r->whylen,
		    "snapshot %" PRIu64 ": state checksum mismatch", id);
		return SM_ECORRUPT;
	}
	if (r->state.e == NULL && r->link_deleted == 0) {
		/* The first link read, the base of the chain: it is the state
		 * so far. */
		struct entry_list t = r->state;
		r->state = r->link;
		r->link = t;
		r->link.n = 0;
		return SM_OK;
	}
	return entry_list_merge(&r->state, &r->link);
}

/*
 * Read, verify and apply snapshot `id`: its chain's links base first
 * (each verified against the checksum `id` recorded for it, each applying
 * only its own entries: one pass over the chain, however long), then its
 * own entries. *meta_out receives its meta (caller frees).
 */
static int
snap_apply(struct sm_txn *txn, struct snap_read *r, uint64_t id,
    uint32_t checksum, Snapmark__SnapshotMeta **meta_out)
{
	Snapmark__SnapshotMeta *m;
	int rv = snap_meta(txn, r, id, checksum, &m);
	if (rv != SM_OK)
		return rv;
	for (size_t i = 0; rv == SM_OK && i < m->n_chain; i++) {
		Snapmark__SnapshotMeta *link;
		rv = snap_meta(txn, r, m->chain[i], m->chain_checksums[i],
		    &link);
		if (rv != SM_OK)
			break;
		rv = snap_entries(txn, r, m->chain[i], link);
		snapmark__snapshot_meta__free_unpacked(link, NULL);
	}
	if (rv == SM_OK)
		rv = snap_entries(txn, r, id, m);
	if (rv == SM_OK)
		*meta_out = m;
	else
		snapmark__snapshot_meta__free_unpacked(m, NULL);
	return rv;
}

/* Turn the meta and the applied chain into snapshot data. */
static int
snap_fill(struct snap_read *r, const Snapmark__SnapshotMeta *m,
    struct sm_snapshot_data *d)
{
	d->has_source_offset = m->has_source_next_seq;
	d->source_next_seq = m->source_next_seq;
	d->drained = m->has_drained && m->drained;
	/* Already in key order: the array is handed over as it is. */
	d->entries = r->state.e;
	d->n_entries = r->state.n;
	r->state.e = NULL;
	r->state.n = r->state.cap = 0;
	d->bytes = r->arena;
	r->arena = NULL;
	d->full_entries = d->n_entries;
	d->bytes_read = r->bytes;
	for (size_t i = 0; i < m->n_op_state; i++)
		if (sm_snapshot_data_add_item(d, m->op_state[i].data,
		        (uint32_t) m->op_state[i].len) != SM_OK)
			return SM_ENOMEM;
	return sm_snapshot_data_copy_pending(d, m->sink_pending,
	    m->sink_pending_id, m->n_sink_pending);
}

struct snap_read_req {
	struct snap_read *r;
	uint64_t id;
	uint32_t checksum;
	struct sm_snapshot_data *data;
};

static int
snap_read_fn(struct sm_txn *txn, void *arg)
{
	struct snap_read_req *q = arg;
	Snapmark__SnapshotMeta *m = NULL;
	int rv = snap_apply(txn, q->r, q->id, q->checksum, &m);
	if (rv != SM_OK)
		return rv;
	rv = snap_fill(q->r, m, q->data);
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	return rv;
}

int
sm_snapshot_read(struct sm_store *st, uint32_t task, uint64_t id,
    uint32_t checksum, struct sm_snapshot_data *data, char *why,
    size_t whylen)
{
	struct snap_read r = { .task = task, .why = why, .whylen = whylen };
	struct sm_snapshot_data d;
	memset(&d, 0, sizeof(d));
	why[0] = '\0';
	struct snap_read_req q = { .r = &r, .id = id, .checksum = checksum,
		.data = &d };
	int rv = sm_store_read(st, snap_read_fn, &q);
	free(r.state.e);
	free(r.link.e);
	sm_state_arena_free(r.arena);
	if (rv != SM_OK) {
		if (why[0] == '\0')
			snprintf(why, whylen, "%s", sm_strerror(rv));
		sm_snapshot_data_free(&d);
		return rv;
	}
	*data = d;
	return SM_OK;
}

int
sm_snapshot_read_inline(const void *meta, size_t len, uint32_t task,
    uint64_t id, uint32_t checksum, struct sm_snapshot_data *data, char *why,
    size_t whylen)
{
	struct snap_read r = { .task = task, .why = why, .whylen = whylen };
	Snapmark__SnapshotMeta *m;
	why[0] = '\0';
	int rv =
	    snap_meta_verify(meta, len, checksum, task, id, &m, why, whylen);
	if (rv != SM_OK)
		return rv;
	if (m->entries != 0 || m->n_chain != 0) {
		snprintf(why, whylen,
		    "inline snapshot %" PRIu64 " claims %" PRIu64
		    " state entries or a chain",
		    id, m->entries);
		snapmark__snapshot_meta__free_unpacked(m, NULL);
		return SM_ECORRUPT;
	}
	struct sm_snapshot_data d;
	memset(&d, 0, sizeof(d));
	rv = snap_fill(&r, m, &d);
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	if (rv != SM_OK) {
		sm_snapshot_data_free(&d);
		return rv;
	}
	d.bytes_read = len;
	*data = d;
	return SM_OK;
}

void
sm_snapshot_data_free(struct sm_snapshot_data *d)
{
	free(d->entries);
	sm_state_arena_free(d->bytes);
	for (size_t i = 0; i < d->n_op_state; i++)
		free(d->op_state[i].data);
	free(d->op_state);
	for (size_t i = 0; i < d->n_pending; i++)
		free(d->pending[i]);
	free(d->pending);
	free(d->pending_id);
	free(d->chain);
	free(d->chain_checksums);
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

/* The ids a set of retained snapshots need: themselves and their chains. */
struct snap_refs {
	const uint64_t *keep;
	size_t n_keep;
	uint64_t *refs;
	size_t n_refs, max;
};

static int
snap_refs_fn(struct sm_txn *txn, void *arg)
{
	struct snap_refs *f = arg;
	for (size_t i = 0; i < f->n_keep; i++) {
		unsigned char key[9];
		const void *val;
		size_t vlen;
		if (f->n_refs < f->max)
			f->refs[f->n_refs++] = f->keep[i];
		snap_key(key, SNAP_META, f->keep[i]);
		if (sm_txn_get(txn, key, sizeof(key), &val, &vlen) != SM_OK)
			continue;
		Snapmark__SnapshotMeta *m = snapmark__snapshot_meta__unpack(
		    NULL, vlen, val);
		if (m == NULL)
			continue;
		for (size_t k = 0; k < m->n_chain && f->n_refs < f->max; k++)
			f->refs[f->n_refs++] = m->chain[k];
		snapmark__snapshot_meta__free_unpacked(m, NULL);
	}
	return SM_OK;
}

int
sm_snapshot_prune(struct sm_store *st, const uint64_t *keep, size_t n_keep,
    uint64_t below)
{
	uint64_t *ids = malloc(SNAP_LIST_MAX * sizeof(*ids));
	uint64_t *refs = malloc(SNAP_LIST_MAX * sizeof(*refs));
	if (ids == NULL || refs == NULL) {
		free(ids);
		free(refs);
		return SM_ENOMEM;
	}
	size_t n = 0, n_drop = 0;
	struct snap_refs f = { .keep = keep, .n_keep = below ? n_keep : 0,
		.refs = refs, .max = SNAP_LIST_MAX };
	int rv = sm_store_read(st, snap_refs_fn, &f);
	if (rv == SM_OK)
		rv = sm_snapshot_list(st, ids, SNAP_LIST_MAX, &n);
	for (size_t i = 0; rv == SM_OK && i < n; i++) {
		int drop;
		if (below == 0) {
			drop = n_keep == 0 || ids[i] > keep[0];
		} else {
			drop = ids[i] < below;
			for (size_t k = 0; drop && k < f.n_refs; k++)
				drop = ids[i] != refs[k];
		}
		if (drop)
			ids[n_drop++] = ids[i];
	}
	if (rv == SM_OK && n_drop > 0) {
		struct snap_prune p = { .drop = ids, .n_drop = n_drop };
		rv = sm_store_write(st, snap_prune_fn, &p);
	}
	free(ids);
	free(refs);
	return rv;
}
