/*
 * test_snapshot.c - task snapshots in LMDB (worker/snapshot.h): a written
 * snapshot reads back identical; every kind of damage to its bytes is
 * refused with SM_ECORRUPT and a reason; prune keeps exactly what it must;
 * an outside reader (mdb_dump) can decode what was written.
 *
 * Damage is simulated the way a bad disk or a stray writer would leave it:
 * the raw LMDB value under a snapshot's key is replaced by altered bytes.
 * Every test runs in a fresh directory under /tmp, removed afterwards.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/check.h"
#include "common/checksum.h"
#include "proto/snapmark.pb-c.h"
#include "common/snapshot.h"
#include "common/store.h"

/* ---- fixture: one fresh store per test --------------------------------- */

static char tmp_root[64];
static char env_dir[128];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void) sb, (void) flag, (void) f;
	return remove(path);
}

/* SNAP_TEST(name) defines name(void), which runs name_body(st) on a store
 * opened in a new directory, then closes it and removes the directory. */
#define SNAP_TEST(name)                                                      \
	static void name##_body(struct sm_store **st);                       \
	static void name(void)                                               \
	{                                                                    \
		struct sm_store *st = NULL;                                  \
		strcpy(tmp_root, "/tmp/sm_snap_XXXXXX");                     \
		if (mkdtemp(tmp_root) == NULL) {                             \
			perror("mkdtemp");                                   \
			sm_test_failed = 1;                                  \
			return;                                              \
		}                                                            \
		snprintf(env_dir, sizeof(env_dir), "%s/task-3", tmp_root);   \
		int rv_ = sm_store_open(env_dir, 0, 0, &st);                 \
		if (rv_ == SM_OK)                                            \
			name##_body(&st);                                    \
		else                                                         \
			T_FAIL_NOQUIT_(rv_);                                 \
		sm_store_close(st);                                          \
		nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);          \
	}                                                                    \
	static void name##_body(struct sm_store **stp)

/* T_FAIL_NOQUIT_ fails the test without returning (cleanup follows). */
#define T_FAIL_NOQUIT_(rv)                                                   \
	do {                                                                 \
		fprintf(stderr, "  %s:%d: sm_store_open: %s\n", __FILE__,    \
		    __LINE__, sm_strerror(rv));                              \
		sm_test_failed = 1;                                          \
	} while (0)

/* ---- the data every test writes ---------------------------------------- */

#define TASK 3u
#define TASK_NAME "count-1"
#define EPOCH 6u

/* E(state, key, value, kg): an entry of string literals (their bytes
 * without the NUL). */
#define E(st, k, v, kg)                                                      \
	{ .state = (st), .key_group = (kg), .key_len = sizeof(k) - 1,        \
		.value_len = sizeof(v) - 1,                                  \
		.key = (const unsigned char *) (k),                          \
		.value = (const unsigned char *) (v), .deleted = 0 }

/* Sorted by (state, key): two named states, an empty key, an empty
 * value, binary bytes, a key that is a prefix of the next. */
static struct sm_state_entry entries_a[] = {
	E(1, "", "empty key", 0),
	E(1, "a", "", 3),
	E(1, "ab", "\x00\x01\xff", 127),
	E(7, "\x00\x00\x00\x00\x00\x00\x01\x2c", "\x05\0\0\0\0\0\0\0", 9),
	E(7, "word", "a longer value, of some forty bytes or so", 64),
	E(SM_STATE_TIMERS_EVENT, "\xff\xfe", "x", 1),
};
static char pend_0[] = "out/part-0002-c4.tmp";
static char pend_1[] = "out/part-0002-c5.tmp";
static char *pending_a[] = { pend_0, pend_1 };
static uint64_t pending_id_a[] = { 4, 5 };
/* operator state: an item, an empty one, binary bytes */
static unsigned char item_0[] = "file=/in/a.txt offset=4096";
static unsigned char item_2[] = { 0, 0xff, 0x7f, 0 };
static struct sm_state_item items_a[] = { { item_0, sizeof(item_0) - 1 },
	{ item_0, 0 }, { item_2, sizeof(item_2) } };

static const struct sm_snapshot_data data_a = {
	.has_source_offset = 1,
	.source_next_seq = 123456789,
	.n_entries = sizeof(entries_a) / sizeof(entries_a[0]),
	.entries = entries_a,
	.n_pending = 2,
	.pending = pending_a,
	.pending_id = pending_id_a,
	.drained = 1,
	.n_op_state = 3,
	.op_state = items_a,
};

static struct sm_state_entry entries_b[] = { E(2, "k2", "20", 5),
	E(2, "k3", "30", 6) };

static const struct sm_snapshot_data data_b = {
	.n_entries = 2,
	.entries = entries_b,
};

static const struct sm_snapshot_data data_empty = { 0 };

/* same_data: a and b hold the same snapshot (why says where not). */
static int
same_data(const struct sm_snapshot_data *a, const struct sm_snapshot_data *b)
{
	const char *why = NULL;
	if ((a->has_source_offset != 0) != (b->has_source_offset != 0) ||
	    (a->has_source_offset && a->source_next_seq != b->source_next_seq))
		why = "source offset";
	else if ((a->drained != 0) != (b->drained != 0))
		why = "drained";
	else if (a->n_entries != b->n_entries)
		why = "entry count";
	else if (a->n_pending != b->n_pending)
		why = "pending count";
	else if (a->n_op_state != b->n_op_state)
		why = "operator state count";
	for (size_t i = 0; why == NULL && i < a->n_entries; i++) {
		const struct sm_state_entry *x = &a->entries[i];
		const struct sm_state_entry *y = &b->entries[i];
		if (x->state != y->state || x->key_group != y->key_group ||
		    x->key_len != y->key_len || x->value_len != y->value_len ||
		    (x->key_len && memcmp(x->key, y->key, x->key_len)) ||
		    (x->value_len &&
		        memcmp(x->value, y->value, x->value_len)) ||
		    (x->deleted != 0) != (y->deleted != 0))
			why = "an entry";
	}
	for (size_t i = 0; why == NULL && i < a->n_op_state; i++)
		if (a->op_state[i].len != b->op_state[i].len ||
		    (a->op_state[i].len &&
		        memcmp(a->op_state[i].data, b->op_state[i].data,
		            a->op_state[i].len)))
			why = "an operator state item";
	for (size_t i = 0; why == NULL && i < a->n_pending; i++)
		if (strcmp(a->pending[i], b->pending[i]) != 0 ||
		    a->pending_id[i] != b->pending_id[i])
			why = "a pending file";
	if (why != NULL)
		fprintf(stderr, "  snapshots differ in %s\n", why);
	return why == NULL;
}

/* ---- raw access to the store, below the snapshot layer ----------------- */

static void
meta_key(unsigned char k[9], uint64_t id)
{
	k[0] = 'm';
	sm_be64_put(k + 1, id);
}

static void
state_prefix(unsigned char k[9], uint64_t id)
{
	k[0] = 's';
	sm_be64_put(k + 1, id);
}

#define RAW_MAX 4096

/* One raw key/value pair, copied out of the map. */
struct raw {
	unsigned char key[32];
	size_t klen;
	unsigned char val[RAW_MAX];
	size_t vlen;
};

struct raw_scan {
	unsigned char prefix[9];
	size_t plen;
	struct raw *out; /* the first `want` pairs, may be NULL */
	size_t want;
	size_t n;
	uint64_t vbytes;  /* total value bytes */
	uint32_t crc;     /* CRC-32C of all values in key order */
};

static int
raw_scan_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct raw_scan *s = arg;
	if (s->out != NULL && s->n < s->want) {
		struct raw *r = &s->out[s->n];
		if (klen > sizeof(r->key) || vlen > sizeof(r->val))
			return SM_EINVAL;
		memcpy(r->key, key, klen);
		r->klen = klen;
		memcpy(r->val, val, vlen);
		r->vlen = vlen;
	}
	s->n++;
	s->vbytes += vlen;
	s->crc = sm_crc32c(s->crc, val, vlen);
	return 0;
}

static int
raw_scan_fn(struct sm_txn *txn, void *arg)
{
	struct raw_scan *s = arg;
	return sm_txn_scan(txn, s->prefix, s->plen, raw_scan_one, s);
}

/* scan_state: raw scan of snapshot id's state entries. */
static int
scan_state(struct sm_store *st, uint64_t id, struct raw_scan *s)
{
	state_prefix(s->prefix, id);
	s->plen = 9;
	return sm_store_read(st, raw_scan_fn, s);
}

static int
raw_get_fn(struct sm_txn *txn, void *arg)
{
	struct raw *r = arg;
	const void *v;
	size_t vlen;
	int rv = sm_txn_get(txn, r->key, r->klen, &v, &vlen);
	if (rv != SM_OK)
		return rv;
	if (vlen > sizeof(r->val))
		return SM_EINVAL;
	memcpy(r->val, v, vlen);
	r->vlen = vlen;
	return SM_OK;
}

/* raw_get copies the value under r->key into r. */
static int
raw_get(struct sm_store *st, struct raw *r)
{
	return sm_store_read(st, raw_get_fn, r);
}

static int
raw_put_fn(struct sm_txn *txn, void *arg)
{
	const struct raw *r = arg;
	return sm_txn_put(txn, r->key, r->klen, r->val, r->vlen);
}

/* raw_put stores r's bytes under r's key, replacing what was there. */
static int
raw_put(struct sm_store *st, const struct raw *r)
{
	return sm_store_write(st, raw_put_fn, (void *) r);
}

static int
raw_del_fn(struct sm_txn *txn, void *arg)
{
	const struct raw *r = arg;
	return sm_txn_del(txn, r->key, r->klen);
}

static int
raw_del(struct sm_store *st, const struct raw *r)
{
	return sm_store_write(st, raw_del_fn, (void *) r);
}

/* ---- helpers ----------------------------------------------------------- */

static int
write_snap(struct sm_store *st, uint64_t id,
    const struct sm_snapshot_data *d, struct sm_snapshot_info *info)
{
	struct sm_snapshot_info dummy;
	return sm_snapshot_write(st, TASK, TASK_NAME, EPOCH, id, d,
	    info != NULL ? info : &dummy);
}

/* expect_refused: reading id must fail with code, give a reason and leave
 * *data alone (out-parameters are written only on success). Returns 1 if
 * so, else says why on stderr. */
static int
expect_refused(struct sm_store *st, uint32_t task, uint64_t id,
    uint32_t checksum, int code, const char *what)
{
	struct sm_snapshot_data d;
	char why[256];
	memset(&d, 0x5A, sizeof(d));
	strcpy(why, "");
	int rv = sm_snapshot_read(st, task, id, checksum, &d, why,
	    sizeof(why));
	size_t untouched = 0;
	for (size_t i = 0; i < sizeof(d); i++)
		untouched += ((unsigned char *) &d)[i] == 0x5A;
	int ok = rv == code && why[0] != '\0' && untouched == sizeof(d);
	if (!ok)
		fprintf(stderr, "  %s: got %s (why \"%s\"), expected %s%s\n",
		    what, sm_strerror(rv), why, sm_strerror(code),
		    untouched == sizeof(d) ? "" : "; *data was written");
	if (rv == SM_OK)
		sm_snapshot_data_free(&d);
	return ok;
}

/* ---- round trips ------------------------------------------------------- */

SNAP_TEST(written_snapshot_reads_back_identical)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256];
	T_OK(write_snap(st, 5, &data_a, &info));
	T_EQ_INT(info.entries, data_a.n_entries);
	T_OK(sm_snapshot_read(st, TASK, 5, info.checksum, &got, why,
	    sizeof(why)));
	int same = same_data(&got, &data_a);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

SNAP_TEST(empty_snapshot_without_offset_reads_back_empty)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256];
	T_OK(write_snap(st, 1, &data_empty, &info));
	T_EQ_INT(info.entries, 0);
	T_OK(sm_snapshot_read(st, TASK, 1, info.checksum, &got, why,
	    sizeof(why)));
	int same = same_data(&got, &data_empty);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

SNAP_TEST(large_snapshot_reads_back_identical)
{
	enum { N = 5000 };
	struct sm_store *st = *stp;
	struct sm_state_entry *e = calloc(N, sizeof(*e));
	unsigned char *keys = calloc(N, 8);
	/* values of 0 .. 4999 bytes, and every 1000th of 300 KiB, past
	 * what fits a page or an LMDB key */
	unsigned char *vals = calloc(1, 300u << 10);
	T_TRUE(e != NULL && keys != NULL && vals != NULL);
	for (size_t i = 0; i < 300u << 10; i++)
		vals[i] = (unsigned char) (i * 131 + 7);
	for (size_t i = 0; i < N; i++) {
		sm_be64_put(keys + 8 * i, i * i * 7919 + 3); /* increasing */
		e[i] = (struct sm_state_entry) { .state = 42,
			.key_group = (uint32_t) (i % 128),
			.key_len = 8,
			.key = keys + 8 * i,
			.value_len = i % 1000 == 999 ? 256u << 10
			                             : (uint32_t) i,
			.value = vals + i % 17 };
	}
	struct sm_snapshot_data d = { .n_entries = N, .entries = e };
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256];
	int rv = write_snap(st, 2, &d, &info);
	int rv2 = rv == SM_OK ? sm_snapshot_read(st, TASK, 2, info.checksum,
				    &got, why, sizeof(why))
			      : rv;
	int same = rv2 == SM_OK && same_data(&got, &d);
	if (rv2 == SM_OK)
		sm_snapshot_data_free(&got);
	free(e);
	free(keys);
	free(vals);
	T_OK(rv);
	T_OK(rv2);
	T_TRUE(same);
}

SNAP_TEST(an_older_id_written_after_a_newer_one_reads_back_identical)
{
	/* Entries are appended while their keys sort last in the store; an
	 * older id written after a newer one (a rewrite, a restored task)
	 * must fall back to ordinary puts and lose nothing. */
	struct sm_store *st = *stp;
	struct sm_snapshot_info ia, ib;
	struct sm_snapshot_data got;
	char why[256];
	T_OK(write_snap(st, 9, &data_b, &ib));
	T_OK(write_snap(st, 5, &data_a, &ia));
	T_OK(sm_snapshot_read(st, TASK, 5, ia.checksum, &got, why,
	    sizeof(why)));
	int same = same_data(&got, &data_a);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
	T_OK(sm_snapshot_read(st, TASK, 9, ib.checksum, &got, why,
	    sizeof(why)));
	same = same_data(&got, &data_b);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

SNAP_TEST(snapshots_of_different_ids_do_not_mix)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info ia, ib, ic;
	struct sm_snapshot_data got;
	char why[256];
	/* neighbouring ids, and one whose key range sorts between them */
	T_OK(write_snap(st, 7, &data_a, &ia));
	T_OK(write_snap(st, 8, &data_b, &ib));
	T_OK(write_snap(st, 256, &data_empty, &ic));
	T_OK(sm_snapshot_read(st, TASK, 7, ia.checksum, &got, why,
	    sizeof(why)));
	int same = same_data(&got, &data_a);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
	T_OK(sm_snapshot_read(st, TASK, 8, ib.checksum, &got, why,
	    sizeof(why)));
	same = same_data(&got, &data_b);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
	T_OK(sm_snapshot_read(st, TASK, 256, ic.checksum, &got, why,
	    sizeof(why)));
	same = same_data(&got, &data_empty);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

SNAP_TEST(written_snapshot_survives_closing_and_reopening_the_store)
{
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256];
	T_OK(write_snap(*stp, 9, &data_a, &info));
	sm_store_close(*stp);
	*stp = NULL;
	T_OK(sm_store_open(env_dir, 0, 0, stp));
	T_OK(sm_snapshot_read(*stp, TASK, 9, info.checksum, &got, why,
	    sizeof(why)));
	int same = same_data(&got, &data_a);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

SNAP_TEST(rewriting_a_checkpoint_id_replaces_the_old_snapshot)
{
	/* e.g. a checkpoint id handed out again after a coordinator restart
	 * finds the unacknowledged snapshot of the first attempt */
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256] = "";
	T_OK(write_snap(st, 4, &data_a, &info));
	T_OK(write_snap(st, 4, &data_b, &info));
	int rv = sm_snapshot_read(st, TASK, 4, info.checksum, &got, why,
	    sizeof(why));
	if (rv != SM_OK)
		T_FAIL_("reading the rewritten snapshot: %s (%s)",
		    sm_strerror(rv), why);
	int same = same_data(&got, &data_b);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

/* ---- what the handle and the metadata promise ------------------------- */

SNAP_TEST(handle_checksum_is_the_crc_of_the_stored_metadata)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw meta;
	T_OK(write_snap(st, 5, &data_a, &info));
	meta_key(meta.key, 5);
	meta.klen = 9;
	T_OK(raw_get(st, &meta));
	T_EQ_INT(info.checksum, sm_crc32c(0, meta.val, meta.vlen));
}

SNAP_TEST(metadata_names_the_snapshot_and_checksums_the_state_in_key_order)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw meta;
	struct raw_scan s = { 0 };
	T_OK(write_snap(st, 5, &data_a, &info));
	meta_key(meta.key, 5);
	meta.klen = 9;
	T_OK(raw_get(st, &meta));
	T_OK(scan_state(st, 5, &s));
	Snapmark__SnapshotMeta *m = snapmark__snapshot_meta__unpack(NULL,
	    meta.vlen, meta.val);
	T_TRUE(m != NULL);
	int ok = m->checkpoint_id == 5 && m->task == TASK &&
	    strcmp(m->task_name, TASK_NAME) == 0 && m->epoch == EPOCH &&
	    m->entries == data_a.n_entries && s.n == data_a.n_entries &&
	    m->state_checksum == s.crc && m->has_source_next_seq &&
	    m->source_next_seq == data_a.source_next_seq &&
	    m->n_sink_pending == 2 && m->n_sink_pending_id == 2 &&
	    m->has_drained && m->drained;
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	T_TRUE(ok);
	/* bytes of values written: every state value plus the metadata */
	T_EQ_INT(info.bytes, s.vbytes + meta.vlen);
}

/* ---- decoding ---------------------------------------------------------- */

/* reencode: the StateEntry of r re-packed by hand in another valid form:
 * fields reversed, an explicit "deleted: false" and the state varint
 * padded with a redundant 0x80 byte. */
static void
reencode(struct raw *r)
{
	Snapmark__StateEntry *e =
	    snapmark__state_entry__unpack(NULL, r->vlen, r->val);
	unsigned char out[256], *p = out;
	uint64_t v;
	if (e == NULL || e->key.len > 100 || e->value.len > 100)
		return;
	*p++ = 0x40; /* deleted = false */
	*p++ = 0x00;
	*p++ = 0x3a; /* value */
	*p++ = (unsigned char) e->value.len;
	if (e->value.len > 0) /* data may be NULL when empty */
		memcpy(p, e->value.data, e->value.len);
	p += e->value.len;
	*p++ = 0x30; /* key group */
	for (v = e->key_group; v >= 0x80; v >>= 7)
		*p++ = (unsigned char) (v | 0x80);
	*p++ = (unsigned char) v;
	*p++ = 0x2a; /* key */
	*p++ = (unsigned char) e->key.len;
	if (e->key.len > 0)
		memcpy(p, e->key.data, e->key.len);
	p += e->key.len;
	*p++ = 0x20; /* state, one byte longer than it needs */
	for (v = e->state; v >= 0x80; v >>= 7)
		*p++ = (unsigned char) (v | 0x80);
	*p++ = (unsigned char) (v | 0x80);
	*p++ = 0x00;
	snapmark__state_entry__free_unpacked(e, NULL);
	memcpy(r->val, out, (size_t) (p - out));
	r->vlen = (size_t) (p - out);
}

SNAP_TEST(entries_in_any_valid_protobuf_form_decode_the_same)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw vals[8], meta;
	struct raw_scan s = { .out = vals, .want = 8 };
	struct sm_snapshot_data got;
	char why[256] = "";
	T_OK(write_snap(st, 5, &data_a, &info));
	T_OK(scan_state(st, 5, &s));
	uint32_t crc = 0;
	for (size_t i = 0; i < s.n; i++) {
		reencode(&vals[i]);
		T_OK(raw_put(st, &vals[i]));
		crc = sm_crc32c(crc, vals[i].val, vals[i].vlen);
	}
	/* The metadata vouches for the new bytes, the handle for it. */
	meta_key(meta.key, 5);
	meta.klen = 9;
	T_OK(raw_get(st, &meta));
	Snapmark__SnapshotMeta *m =
	    snapmark__snapshot_meta__unpack(NULL, meta.vlen, meta.val);
	T_TRUE(m != NULL);
	m->state_checksum = crc;
	meta.vlen = snapmark__snapshot_meta__pack(m, meta.val);
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	T_OK(raw_put(st, &meta));
	int rv = sm_snapshot_read(st, TASK, 5,
	    sm_crc32c(0, meta.val, meta.vlen), &got, why, sizeof(why));
	if (rv != SM_OK)
		T_FAIL_("re-encoded snapshot: %s (%s)", sm_strerror(rv), why);
	int same = same_data(&got, &data_a);
	sm_snapshot_data_free(&got);
	T_TRUE(same);
}

/* ---- inline snapshots ----------------------------------------------------
 */

/* What a source or a sink snapshots: an offset, pending files, no keys. */
static const struct sm_snapshot_data data_nokeys = {
	.has_source_offset = 1,
	.source_next_seq = 987654321,
	.n_pending = 2,
	.pending = pending_a,
	.pending_id = pending_id_a,
	.drained = 1,
	.n_op_state = 3,
	.op_state = items_a,
};

static void
an_inline_snapshot_reads_back_identical_and_checks_its_bytes(void)
{
	unsigned char *meta = NULL;
	size_t len = 0;
	struct sm_snapshot_info info;
	struct sm_snapshot_data got;
	char why[256] = "";
	T_OK(sm_snapshot_inline(TASK, TASK_NAME, EPOCH, 9, &data_nokeys, &meta,
	    &len, &info));
	T_EQ_INT(info.checksum, sm_crc32c(0, meta, len));
	T_EQ_INT(info.bytes, len);
	T_EQ_INT(info.entries, 0);
	int rv = sm_snapshot_read_inline(meta, len, TASK, 9, info.checksum,
	    &got, why, sizeof(why));
	int same = rv == SM_OK && same_data(&got, &data_nokeys);
	if (rv == SM_OK)
		sm_snapshot_data_free(&got);
	/* any flipped bit, another task, another checkpoint: refused */
	int refused = 1;
	for (size_t i = 0; i < len; i++) {
		meta[i] ^= 0x04;
		refused &=
		    sm_snapshot_read_inline(meta, len, TASK, 9, info.checksum,
		        &got, why, sizeof(why)) == SM_ECORRUPT;
		meta[i] ^= 0x04;
	}
	refused &= sm_snapshot_read_inline(meta, len, TASK + 1, 9,
	               info.checksum, &got, why, sizeof(why)) == SM_ECORRUPT;
	refused &= sm_snapshot_read_inline(meta, len, TASK, 8, info.checksum,
	               &got, why, sizeof(why)) == SM_ECORRUPT;
	free(meta);
	T_TRUE(same);
	T_TRUE(refused);
}

static void
state_with_keys_is_never_inlined(void)
{
	unsigned char *meta = NULL;
	size_t len = 0;
	struct sm_snapshot_info info;
	T_ERR(sm_snapshot_inline(TASK, TASK_NAME, EPOCH, 9, &data_a, &meta,
	          &len, &info),
	    SM_EINVAL);
	T_TRUE(meta == NULL);
}

/* Operator state past its bounds is refused, inline or stored: an item
 * longer than SM_STATE_MAX_BYTES, however consistent its checksums. */
static void
oversized_operator_state_is_refused(void)
{
	Snapmark__SnapshotMeta m = SNAPMARK__SNAPSHOT_META__INIT;
	ProtobufCBinaryData item = { SM_STATE_MAX_BYTES + 1, NULL };
	item.data = calloc(1, item.len);
	T_TRUE(item.data != NULL);
	m.checkpoint_id = 9;
	m.task = TASK;
	m.task_name = (char *) TASK_NAME;
	m.n_op_state = 1;
	m.op_state = &item;
	size_t len = snapmark__snapshot_meta__get_packed_size(&m);
	unsigned char *buf = malloc(len);
	T_TRUE(buf != NULL);
	snapmark__snapshot_meta__pack(&m, buf);
	struct sm_snapshot_data got;
	char why[256] = "";
	int rv = sm_snapshot_read_inline(buf, len, TASK, 9,
	    sm_crc32c(0, buf, len), &got, why, sizeof(why));
	/* one byte shorter: accepted */
	item.len--;
	m.op_state = &item;
	size_t len2 = snapmark__snapshot_meta__pack(&m, buf);
	int rv2 = sm_snapshot_read_inline(buf, len2, TASK, 9,
	    sm_crc32c(0, buf, len2), &got, why, sizeof(why));
	size_t n_items = rv2 == SM_OK ? got.n_op_state : 0;
	uint32_t item_len = rv2 == SM_OK ? got.op_state[0].len : 0;
	if (rv2 == SM_OK)
		sm_snapshot_data_free(&got);
	free(buf);
	free(item.data);
	T_ERR(rv, SM_ECORRUPT);
	T_OK(rv2);
	T_EQ_INT(n_items, 1);
	T_EQ_INT(item_len, SM_STATE_MAX_BYTES);
}

/* The writer refuses entries out of (state, key) order, duplicated, or
 * longer than SM_STATE_MAX_BYTES: a reader would refuse them. */
SNAP_TEST(unsorted_duplicate_or_oversized_entries_are_not_written)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct sm_state_entry twice[] = { E(1, "k", "1", 0),
		E(1, "k", "2", 0) };
	struct sm_state_entry swapped[] = { E(2, "a", "1", 0),
		E(1, "b", "2", 0) };
	struct sm_state_entry big[] = { E(1, "k", "", 0) };
	big[0].value_len = SM_STATE_MAX_BYTES + 1;
	big[0].value = calloc(1, big[0].value_len);
	struct sm_snapshot_data d = { .n_entries = 2, .entries = twice };
	int rv_twice = write_snap(st, 2, &d, &info);
	d.entries = swapped;
	int rv_swapped = write_snap(st, 3, &d, &info);
	d.entries = big;
	d.n_entries = 1;
	int rv_big = write_snap(st, 4, &d, &info);
	free((void *) big[0].value);
	T_ERR(rv_twice, SM_EINVAL);
	T_ERR(rv_swapped, SM_EINVAL);
	T_ERR(rv_big, SM_EINVAL);
	T_TRUE(expect_refused(st, TASK, 2, 0, SM_ENOTFOUND, "not written"));
}

/* ---- refusals ---------------------------------------------------------- */

SNAP_TEST(reading_with_a_wrong_checksum_is_refused_as_corrupt)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	T_OK(write_snap(st, 5, &data_a, &info));
	static const uint32_t flip[] = { 1, 0x80000000u, 0xFFFFFFFFu };
	for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++)
		T_TRUE(expect_refused(st, TASK, 5, info.checksum ^ flip[i],
		    SM_ECORRUPT, "wrong checksum"));
}

SNAP_TEST(reading_a_missing_snapshot_is_not_found)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	T_TRUE(expect_refused(st, TASK, 5, 0, SM_ENOTFOUND, "empty store"));
	T_OK(write_snap(st, 5, &data_a, &info));
	T_TRUE(expect_refused(st, TASK, 4, info.checksum, SM_ENOTFOUND,
	    "id 4 next to id 5"));
	T_TRUE(expect_refused(st, TASK, 6, info.checksum, SM_ENOTFOUND,
	    "id 6 next to id 5"));
}

SNAP_TEST(reading_as_another_task_is_refused_as_corrupt)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	T_OK(write_snap(st, 5, &data_a, &info));
	T_TRUE(expect_refused(st, TASK + 1, 5, info.checksum, SM_ECORRUPT,
	    "task + 1"));
	T_TRUE(expect_refused(st, 0, 5, info.checksum, SM_ECORRUPT,
	    "task 0"));
}

/*
 * flip_each_byte: for every byte of the value under r->key and each mask,
 * put the altered bytes under the same key, expect the read of id to be
 * refused as corrupt, and put the original back.
 */
static int
flip_each_byte(struct sm_store *st, struct raw *r, uint64_t id,
    uint32_t checksum, const char *what)
{
	static const unsigned char masks[] = { 0x01, 0x10, 0x80, 0xFF };
	struct raw bad;
	int failed = 0;
	for (size_t i = 0; i < r->vlen; i++) {
		for (size_t k = 0; k < sizeof(masks); k++) {
			char label[128];
			bad = *r;
			bad.val[i] ^= masks[k];
			snprintf(label, sizeof(label),
			    "%s byte %zu of %zu ^ 0x%02x", what, i, r->vlen,
			    masks[k]);
			if (raw_put(st, &bad) != SM_OK)
				return 0;
			failed += !expect_refused(st, TASK, id, checksum,
			    SM_ECORRUPT, label);
			if (raw_put(st, r) != SM_OK)
				return 0;
		}
	}
	return failed == 0;
}

SNAP_TEST(a_flipped_byte_in_any_state_value_is_detected)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw vals[8];
	struct raw_scan s = { .out = vals, .want = 8 };
	struct sm_snapshot_data got;
	char why[256];
	T_OK(write_snap(st, 5, &data_a, &info));
	T_OK(scan_state(st, 5, &s));
	T_EQ_INT(s.n, data_a.n_entries);
	/* first, a middle and the last entry: every byte, several masks */
	size_t pick[] = { 0, s.n / 2, s.n - 1 };
	for (size_t p = 0; p < 3; p++)
		T_TRUE(flip_each_byte(st, &vals[pick[p]], 5, info.checksum,
		    "state value"));
	/* all restored: the snapshot verifies again */
	T_OK(sm_snapshot_read(st, TASK, 5, info.checksum, &got, why,
	    sizeof(why)));
	sm_snapshot_data_free(&got);
}

SNAP_TEST(a_flipped_byte_in_the_metadata_is_detected)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw meta;
	T_OK(write_snap(st, 5, &data_a, &info));
	meta_key(meta.key, 5);
	meta.klen = 9;
	T_OK(raw_get(st, &meta));
	T_TRUE(meta.vlen > 20);
	T_TRUE(flip_each_byte(st, &meta, 5, info.checksum, "metadata"));
}

/* A way to damage snapshot 5 (written from data_a) other than a flip. */
struct damage {
	const char *what;
	int (*apply)(struct sm_store *st, struct raw *vals, size_t n);
};

static int
dmg_delete_first(struct sm_store *st, struct raw *vals, size_t n)
{
	return raw_del(st, &vals[0]);
}

static int
dmg_delete_last(struct sm_store *st, struct raw *vals, size_t n)
{
	return raw_del(st, &vals[n - 1]);
}

static int
dmg_add_entry(struct sm_store *st, struct raw *vals, size_t n)
{
	/* a copy of an entry under a new key inside the snapshot's range */
	struct raw extra = vals[1];
	sm_be64_put(extra.key + 9, 8);
	return raw_put(st, &extra);
}

static int
dmg_refile_entry(struct sm_store *st, struct raw *vals, size_t n)
{
	/* entry 1 moved under number 8: same values in the same order, so
	 * the count and the checksum still match; only its key gives it
	 * away */
	struct raw moved = vals[1];
	sm_be64_put(moved.key + 9, 8);
	int rv = raw_del(st, &vals[1]);
	return rv == SM_OK ? raw_put(st, &moved) : rv;
}

static int
dmg_truncate_value(struct sm_store *st, struct raw *vals, size_t n)
{
	struct raw r = vals[2];
	r.vlen--;
	return raw_put(st, &r);
}

static int
dmg_empty_value(struct sm_store *st, struct raw *vals, size_t n)
{
	struct raw r = vals[3];
	r.vlen = 0;
	return raw_put(st, &r);
}

static int
dmg_swap_values(struct sm_store *st, struct raw *vals, size_t n)
{
	struct raw a = vals[0], b = vals[1];
	memcpy(a.val, vals[1].val, vals[1].vlen);
	a.vlen = vals[1].vlen;
	memcpy(b.val, vals[0].val, vals[0].vlen);
	b.vlen = vals[0].vlen;
	int rv = raw_put(st, &a);
	return rv == SM_OK ? raw_put(st, &b) : rv;
}

static int
dmg_truncate_meta(struct sm_store *st, struct raw *vals, size_t n)
{
	struct raw meta;
	meta_key(meta.key, 5);
	meta.klen = 9;
	int rv = raw_get(st, &meta);
	meta.vlen /= 2;
	return rv == SM_OK ? raw_put(st, &meta) : rv;
}

static const struct damage damages[] = {
	{ "first state entry deleted", dmg_delete_first },
	{ "last state entry deleted", dmg_delete_last },
	{ "state entry added", dmg_add_entry },
	{ "state entry filed under another key", dmg_refile_entry },
	{ "state value truncated", dmg_truncate_value },
	{ "state value emptied", dmg_empty_value },
	{ "two state values swapped", dmg_swap_values },
	{ "metadata truncated", dmg_truncate_meta },
};

static void
damage_is_detected(size_t which)
{
	struct sm_store *st = NULL;
	struct sm_snapshot_info info;
	struct raw vals[8];
	struct raw_scan s = { .out = vals, .want = 8 };
	int ok = 0;
	strcpy(tmp_root, "/tmp/sm_snap_XXXXXX");
	if (mkdtemp(tmp_root) == NULL)
		T_FAIL_("mkdtemp: %s", "failed");
	snprintf(env_dir, sizeof(env_dir), "%s/task-3", tmp_root);
	if (sm_store_open(env_dir, 0, 0, &st) == SM_OK &&
	    write_snap(st, 5, &data_a, &info) == SM_OK &&
	    scan_state(st, 5, &s) == SM_OK && s.n == data_a.n_entries &&
	    damages[which].apply(st, vals, s.n) == SM_OK)
		ok = expect_refused(st, TASK, 5, info.checksum, SM_ECORRUPT,
		    damages[which].what);
	else
		fprintf(stderr, "  %s: setting up failed\n",
		    damages[which].what);
	sm_store_close(st);
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	T_TRUE(ok);
}

static void
deleted_added_truncated_or_swapped_state_is_detected(void)
{
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		damage_is_detected(i);
		if (sm_test_failed)
			return;
	}
}

SNAP_TEST(a_deleted_state_entry_is_reported_as_a_wrong_entry_count)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	struct raw vals[8];
	struct raw_scan s = { .out = vals, .want = 8 };
	struct sm_snapshot_data d;
	char why[256] = "";
	T_OK(write_snap(st, 5, &data_a, &info));
	T_OK(scan_state(st, 5, &s));
	T_OK(raw_del(st, &vals[2]));
	T_ERR(sm_snapshot_read(st, TASK, 5, info.checksum, &d, why,
	    sizeof(why)), SM_ECORRUPT);
	if (strstr(why, "entries") == NULL)
		T_FAIL_("reason \"%s\" does not mention the entries", why);
}

/* ---- list and prune ---------------------------------------------------- */

/* write_ids writes data_b as each id of ids (any order, ids < 64); the
 * handle checksum of id goes to sums[id] if sums is not NULL. */
static int
write_ids(struct sm_store *st, const uint64_t *ids, size_t n,
    uint32_t *sums)
{
	for (size_t i = 0; i < n; i++) {
		struct sm_snapshot_info info;
		int rv = write_snap(st, ids[i], &data_b, &info);
		if (rv != SM_OK)
			return rv;
		if (sums != NULL)
			sums[ids[i]] = info.checksum;
	}
	return SM_OK;
}

/* listed_ids_are: the set of listed ids equals want. */
static int
listed_ids_are(struct sm_store *st, const uint64_t *want, size_t n_want)
{
	uint64_t ids[32];
	size_t n = 99;
	if (sm_snapshot_list(st, ids, 32, &n) != SM_OK)
		return 0;
	int ok = n == n_want;
	for (size_t i = 0; ok && i < n; i++) {
		int found = 0;
		for (size_t j = 0; j < n_want; j++)
			found |= ids[i] == want[j];
		ok = found;
	}
	if (!ok) {
		fprintf(stderr, "  listed:");
		for (size_t i = 0; i < n && i < 32; i++)
			fprintf(stderr, " %llu", (unsigned long long) ids[i]);
		fprintf(stderr, "\n");
	}
	return ok;
}

SNAP_TEST(list_names_every_snapshot_present)
{
	static const uint64_t ids[] = { 40, 3, 256, 1, 7 };
	struct sm_store *st = *stp;
	uint64_t got[8];
	size_t n = 99;
	T_OK(sm_snapshot_list(st, got, 8, &n));
	T_EQ_INT(n, 0);
	T_OK(write_ids(st, ids, 5, NULL));
	T_TRUE(listed_ids_are(st, ids, 5));
}

SNAP_TEST(list_writes_at_most_max_ids)
{
	static const uint64_t ids[] = { 5, 1, 4, 2, 3 };
	struct sm_store *st = *stp;
	uint64_t got[8] = { 0 };
	size_t n = 99;
	T_OK(write_ids(st, ids, 5, NULL));
	T_OK(sm_snapshot_list(st, got, 3, &n));
	T_EQ_INT(n, 3);
	T_TRUE(got[3] == 0); /* nothing past max */
	for (size_t i = 0; i < 3; i++) {
		T_TRUE(got[i] >= 1 && got[i] <= 5);
		for (size_t j = 0; j < i; j++)
			T_TRUE(got[i] != got[j]);
	}
}

struct prune_case {
	const char *what;
	uint64_t keep[3];
	size_t n_keep;
	uint64_t below;
	uint64_t left[6]; /* ids that must remain */
	size_t n_left;
};

static const struct prune_case prune_cases[] = {
	{ "keep 2, below 5", { 2 }, 1, 5, { 2, 5, 6 }, 3 },
	{ "keep nothing, below 4", { 0 }, 0, 4, { 4, 5, 6 }, 3 },
	{ "keep 1 and 3, below 7", { 1, 3 }, 2, 7, { 1, 3 }, 2 },
	{ "keep 6, below 3", { 6 }, 1, 3, { 3, 4, 5, 6 }, 4 },
	{ "keep 2, 4 and 6, below 1", { 2, 4, 6 }, 3, 1,
	    { 1, 2, 3, 4, 5, 6 }, 6 },
	{ "keep 9 (absent), below 100", { 9 }, 1, 100, { 0 }, 0 },
	{ "after restore from 3", { 3 }, 1, 0, { 1, 2, 3 }, 3 },
	{ "after restore from 1", { 1 }, 1, 0, { 1 }, 1 },
	{ "after restore from 6", { 6 }, 1, 0, { 1, 2, 3, 4, 5, 6 }, 6 },
	{ "after restore from 4", { 4 }, 1, 0,
	    { 1, 2, 3, 4 }, 4 },
};

static void
prune_case_holds(const struct prune_case *c)
{
	static const uint64_t all[] = { 3, 1, 6, 2, 5, 4 };
	struct sm_store *st = NULL;
	uint32_t sums[64];
	int ok = 0;
	strcpy(tmp_root, "/tmp/sm_snap_XXXXXX");
	if (mkdtemp(tmp_root) == NULL)
		T_FAIL_("mkdtemp: %s", "failed");
	snprintf(env_dir, sizeof(env_dir), "%s/task-3", tmp_root);
	if (sm_store_open(env_dir, 0, 0, &st) != SM_OK ||
	    write_ids(st, all, 6, sums) != SM_OK ||
	    sm_snapshot_prune(st, c->keep, c->n_keep, c->below) != SM_OK) {
		fprintf(stderr, "  %s: setup or prune failed\n", c->what);
		goto done;
	}
	ok = listed_ids_are(st, c->left, c->n_left);
	/* dropped snapshots leave no state behind; kept ones still verify */
	for (uint64_t id = 1; ok && id <= 6; id++) {
		struct raw_scan s = { 0 };
		int kept = 0;
		for (size_t i = 0; i < c->n_left; i++)
			kept |= c->left[i] == id;
		ok = scan_state(st, id, &s) == SM_OK &&
		    s.n == (kept ? data_b.n_entries : 0);
		if (ok && kept) {
			struct sm_snapshot_data d;
			char why[256];
			ok = sm_snapshot_read(st, TASK, id, sums[id], &d, why,
				 sizeof(why)) == SM_OK;
			if (ok)
				sm_snapshot_data_free(&d);
		} else if (ok) {
			ok = expect_refused(st, TASK, id, sums[id],
			    SM_ENOTFOUND, c->what);
		}
		if (!ok)
			fprintf(stderr, "  %s: snapshot %llu is wrong\n",
			    c->what, (unsigned long long) id);
	}
done:
	sm_store_close(st);
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (!ok)
		T_FAIL_("prune case \"%s\"", c->what);
}

static void
prune_keeps_retained_and_in_flight_ids_and_drops_the_rest(void)
{
	for (size_t i = 0; i < sizeof(prune_cases) / sizeof(prune_cases[0]);
	     i++) {
		prune_case_holds(&prune_cases[i]);
		if (sm_test_failed)
			return;
	}
}

SNAP_TEST(prune_of_an_empty_store_succeeds)
{
	static const uint64_t keep[] = { 3 };
	T_OK(sm_snapshot_prune(*stp, keep, 1, 10));
	T_OK(sm_snapshot_prune(*stp, keep, 1, 0));
	T_TRUE(listed_ids_are(*stp, keep, 0));
}

/* ---- an outside reader ------------------------------------------------- */

/* unescape turns mdb_dump -p's printable form (\\ and \hh) back into
 * bytes; returns the length or -1. */
static long
unescape(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;
	while (*s != '\0' && *s != '\n') {
		unsigned v;
		if (n == cap)
			return -1;
		if (s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if (s[0] == '\\' && sscanf(s + 1, "%2x", &v) == 1) {
			out[n++] = (unsigned char) v;
			s += 3;
		} else {
			out[n++] = (unsigned char) *s++;
		}
	}
	return (long) n;
}

SNAP_TEST(mdb_dump_reads_the_store_and_its_metadata_decodes)
{
	struct sm_store *st = *stp;
	struct sm_snapshot_info info;
	char cmd[256], line[8192];
	unsigned char want_key[9], key[512], val[4096];
	T_OK(write_snap(st, 5, &data_a, &info));
	meta_key(want_key, 5);
	snprintf(cmd, sizeof(cmd), "mdb_dump -p '%s' 2>&1", env_dir);
	FILE *p = popen(cmd, "r");
	T_TRUE(p != NULL);
	int in_data = 0, is_key = 1, n_pairs = 0, found = 0, decoded = 0;
	long klen = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (!in_data) {
			in_data = strcmp(line, "HEADER=END\n") == 0;
			continue;
		}
		if (strcmp(line, "DATA=END\n") == 0 || line[0] != ' ')
			break;
		if (is_key) {
			klen = unescape(line + 1, key, sizeof(key));
		} else {
			long vlen = unescape(line + 1, val, sizeof(val));
			n_pairs++;
			if (klen == 9 && memcmp(key, want_key, 9) == 0 &&
			    vlen >= 0) {
				found = 1;
				Snapmark__SnapshotMeta *m =
				    snapmark__snapshot_meta__unpack(NULL,
					(size_t) vlen, val);
				decoded = m != NULL && m->checkpoint_id == 5 &&
				    strcmp(m->task_name, TASK_NAME) == 0 &&
				    m->entries == data_a.n_entries &&
				    sm_crc32c(0, val, (size_t) vlen) ==
					info.checksum;
				if (m != NULL)
					snapmark__snapshot_meta__free_unpacked(
					    m, NULL);
			}
		}
		is_key = !is_key;
	}
	int status = pclose(p);
	T_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_TRUE(in_data);
	/* the metadata and one key per state entry */
	T_EQ_INT(n_pairs, 1 + (long) data_a.n_entries);
	T_TRUE(found);
	T_TRUE(decoded);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(written_snapshot_reads_back_identical),
	T(empty_snapshot_without_offset_reads_back_empty),
	T(large_snapshot_reads_back_identical),
	T(snapshots_of_different_ids_do_not_mix),
	T(an_older_id_written_after_a_newer_one_reads_back_identical),
	T(written_snapshot_survives_closing_and_reopening_the_store),
	T(rewriting_a_checkpoint_id_replaces_the_old_snapshot),
	T(handle_checksum_is_the_crc_of_the_stored_metadata),
	T(metadata_names_the_snapshot_and_checksums_the_state_in_key_order),
	T(entries_in_any_valid_protobuf_form_decode_the_same),
	T(an_inline_snapshot_reads_back_identical_and_checks_its_bytes),
	T(state_with_keys_is_never_inlined),
	T(oversized_operator_state_is_refused),
	T(unsorted_duplicate_or_oversized_entries_are_not_written),
	T(reading_with_a_wrong_checksum_is_refused_as_corrupt),
	T(reading_a_missing_snapshot_is_not_found),
	T(reading_as_another_task_is_refused_as_corrupt),
	T(a_flipped_byte_in_any_state_value_is_detected),
	T(a_flipped_byte_in_the_metadata_is_detected),
	T(deleted_added_truncated_or_swapped_state_is_detected),
	T(a_deleted_state_entry_is_reported_as_a_wrong_entry_count),
	T(list_names_every_snapshot_present),
	T(list_writes_at_most_max_ids),
	T(prune_keeps_retained_and_in_flight_ids_and_drops_the_rest),
	T(prune_of_an_empty_store_succeeds),
	T(mdb_dump_reads_the_store_and_its_metadata_decodes),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
