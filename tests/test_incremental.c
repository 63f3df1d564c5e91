/*
 * test_incremental.c - incremental checkpoints through the snapshot writer
 * (worker/snapwriter.h) into a real task store: deltas and periodic full
 * materialisation restore exactly, retention keeps every chain a retained
 * checkpoint needs and nothing else, a full LMDB map grows or declines
 * cleanly, and a savepoint is a full snapshot of its own that leaves the
 * chain intact.
 *
 * Each test drives a writer the way a task does: it changes a reference
 * model (plain arrays indexed by key number), hands the writer the delta
 * since the previous checkpoint (sorted, deletions flagged, like kvstate
 * produces), and keeps a copy of the model's full state per checkpoint.
 * A fake send function records every Ack and Decline. After
 * sm_snapwriter_wait() the store is read back with the acks' checksums and
 * compared with those copies.
 *
 * Random changes come from one seed printed by every test that uses it;
 * SM_TEST_SEED=N repeats a run.
 */
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/check.h"
#include "common/jobfile.h"
#include "proto/snapmark.pb-c.h"
#include "common/snapshot.h"
#include "worker/kvstate.h"
#include "worker/snapwriter.h"
#include "common/store.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ID 64
#define TASK 5u
#define TASK_NAME "counter.1"
#define EPOCH 3u
#define BIG_PERCENT 10000 /* full_delta_percent that never triggers */
/* The smallest map sm_store_open takes: LMDB rounds anything smaller up
 * to two pages. */
#define TINY_MAP ((size_t) 8 << 10)

/* ---- seed -------------------------------------------------------------- */

static uint64_t
test_seed(void)
{
	static uint64_t seed;
	static int have;
	if (!have) {
		const char *env = getenv("SM_TEST_SEED");
		seed = env != NULL
		    ? strtoull(env, NULL, 10)
		    : (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
		have = 1;
	}
	return seed;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static size_t
rng_below(uint64_t *s, size_t n)
{
	return (size_t) (rng_next(s) % n);
}

/* ---- what the fake coordinator received -------------------------------- */

struct ack_rec {
	int got; /* an Ack or a Decline arrived */
	int declined;
	int incremental;
	uint32_t checksum;
	uint64_t bytes, entries, full_bytes;
	char location[512];
	char reason[512];
};

struct recorder {
	pthread_mutex_t mu;
	struct ack_rec rec[MAX_ID + 1];
	int duplicates; /* a second answer for one id */
	int strays;     /* an id out of range, or a mismatching header */
	int fail_acks;  /* sending an Ack fails (SM_EIO), unrecorded */
};

/* record_send: the writer's send function. The messages are owned by the
 * writer's stack, so fields are copied, no pointer is kept. */
static int
record_send(void *ctx, const Snapmark__Control *c)
{
	struct recorder *r = ctx;
	pthread_mutex_lock(&r->mu);
	if (c->body_case == SNAPMARK__CONTROL__BODY_ACK && r->fail_acks) {
		pthread_mutex_unlock(&r->mu);
		return SM_EIO;
	}
	if (c->body_case == SNAPMARK__CONTROL__BODY_ACK) {
		const Snapmark__Ack *a = c->ack;
		const Snapmark__SnapshotHandle *h = a->handle;
		if (a->checkpoint_id > MAX_ID || h == NULL ||
		    h->checkpoint_id != a->checkpoint_id || a->task != TASK ||
		    h->task != TASK || a->epoch != EPOCH) {
			r->strays++;
			goto done;
		}
		struct ack_rec *x = &r->rec[a->checkpoint_id];
		r->duplicates += x->got;
		memset(x, 0, sizeof(*x));
		x->got = 1;
		x->incremental = h->has_incremental && h->incremental;
		x->checksum = h->checksum;
		x->bytes = h->bytes;
		x->entries = h->entries;
		x->full_bytes = h->full_bytes;
		snprintf(x->location, sizeof(x->location), "%s", h->location);
	} else if (c->body_case == SNAPMARK__CONTROL__BODY_DECLINE) {
		const Snapmark__Decline *d = c->decline;
		if (d->checkpoint_id > MAX_ID || d->task != TASK) {
			r->strays++;
			goto done;
		}
		struct ack_rec *x = &r->rec[d->checkpoint_id];
		r->duplicates += x->got;
		memset(x, 0, sizeof(*x));
		x->got = 1;
		x->declined = 1;
		snprintf(x->reason, sizeof(x->reason), "%s", d->reason);
	} else {
		r->strays++;
	}
done:
	pthread_mutex_unlock(&r->mu);
	return SM_OK;
}

/* ---- the reference model ----------------------------------------------- */

/* Key number i is key key_of(i): increasing in i, so index order is key
 * order, and spread out so keys take several varint sizes. */
static uint64_t
key_of(size_t i)
{
	return (uint64_t) i * 2654435761u + 5;
}

struct model {
	size_t k; /* key numbers 0..k-1 */
	int64_t *val;
	unsigned char *live;
	unsigned char *dirty; /* changed since the last checkpoint */
	size_t n_live;
};

static int
model_init(struct model *m, size_t k)
{
	m->k = k;
	m->n_live = 0;
	m->val = calloc(k, sizeof(*m->val));
	m->live = calloc(k, 1);
	m->dirty = calloc(k, 1);
	return m->val && m->live && m->dirty ? SM_OK : SM_ENOMEM;
}

static void
model_fini(struct model *m)
{
	free(m->val);
	free(m->live);
	free(m->dirty);
	memset(m, 0, sizeof(*m));
}

static void
model_put(struct model *m, size_t i, int64_t v)
{
	m->n_live += !m->live[i];
	m->live[i] = 1;
	m->val[i] = v;
	m->dirty[i] = 1;
}

/* model_del: like kvstate, deleting an absent key changes nothing. */
static void
model_del(struct model *m, size_t i)
{
	if (!m->live[i])
		return;
	m->live[i] = 0;
	m->n_live--;
	m->dirty[i] = 1;
}

/* Key number i's entry: in state 7 or, every third, the named state 9;
 * key = key_of(i) as 8 bytes big-endian; value = the int64 as 8 bytes
 * little-endian then 0..12 bytes of padding ('p'), so values have
 * several lengths; key group i % 128. */
#define PAD_MAX 12

static uint32_t
state_of(size_t i)
{
	return i % 3 == 0 ? 9 : 7;
}

static size_t
pad_of(size_t i)
{
	return (i % 5) * 3;
}

/* model_entry: key number i's entry (value v, or deleted), its bytes
 * taken from *arena. */
static int
model_entry(size_t i, int64_t v, int deleted, struct sm_state_arena **arena,
    struct sm_state_entry *e)
{
	size_t pad = deleted ? 0 : pad_of(i);
	unsigned char *p = sm_state_arena_alloc(arena, 16 + pad);
	if (p == NULL)
		return SM_ENOMEM;
	sm_be64_put(p, key_of(i));
	for (int b = 0; b < 8; b++)
		p[8 + b] = (unsigned char) ((uint64_t) v >> (8 * b));
	memset(p + 16, 'p', pad);
	*e = (struct sm_state_entry) { .state = state_of(i),
		.key_group = (uint32_t) (i % 128),
		.key_len = 8,
		.key = p,
		.value_len = deleted ? 0 : (uint32_t) (8 + pad),
		.value = p + 8,
		.deleted = deleted };
	return SM_OK;
}

/* The int64 of an entry's value (its first 8 bytes, little-endian). */
static int64_t
entry_value(const struct sm_state_entry *e)
{
	uint64_t u = 0;
	for (int b = 0; b < 8 && b < (int) e->value_len; b++)
		u |= (uint64_t) e->value[b] << (8 * b);
	return (int64_t) u;
}

/* model_delta: the changes since the last call, sorted, deletions
 * flagged (malloc'ed; their bytes in *arena); clears the dirty marks. */
static int
model_delta(struct model *m, struct sm_state_entry **out, size_t *n,
    struct sm_state_arena **arena)
{
	size_t k = 0;
	for (size_t i = 0; i < m->k; i++)
		k += m->dirty[i];
	struct sm_state_entry *e = malloc((k + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	k = 0;
	for (size_t i = 0; i < m->k; i++) {
		if (!m->dirty[i])
			continue;
		if (model_entry(i, m->val[i], !m->live[i], arena, &e[k]) !=
		    SM_OK) {
			free(e);
			return SM_ENOMEM;
		}
		k++;
		m->dirty[i] = 0;
	}
	sm_kvstate_sort(e, k);
	*out = e;
	*n = k;
	return SM_OK;
}

/* model_full: every live key, sorted (malloc'ed; bytes in *arena). */
static int
model_full(const struct model *m, struct sm_state_entry **out, size_t *n,
    struct sm_state_arena **arena)
{
	struct sm_state_entry *e = malloc((m->n_live + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < m->k; i++)
		if (m->live[i]) {
			if (model_entry(i, m->val[i], 0, arena, &e[k]) !=
			    SM_OK) {
				free(e);
				return SM_ENOMEM;
			}
			k++;
		}
	sm_kvstate_sort(e, k);
	*out = e;
	*n = k;
	return SM_OK;
}

/* ---- fixture: a store in a fresh directory and a writer on it ---------- */

struct fx {
	char root[64];
	char dir[128];
	struct sm_store *st;
	struct sm_snapwriter *w;
	struct sm_job_checkpoint policy;
	struct recorder rec;
	struct model m;
	uint64_t rng;
	/* the model's full state at each checkpoint */
	struct sm_state_entry *want[MAX_ID + 1];
	struct sm_state_arena *want_bytes[MAX_ID + 1];
	size_t n_want[MAX_ID + 1];
	size_t n_submitted[MAX_ID + 1]; /* delta entries handed over */
	size_t n_deleted[MAX_ID + 1];   /* of which deletions */
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void) sb, (void) flag, (void) f;
	return remove(path);
}

/* Where fixtures make their directories (a test's child process is told
 * a directory of its parent's, which the parent removes). */
static const char *fx_parent = "/tmp";

static int
fx_open(struct fx *f, size_t map, uint32_t full_every, uint32_t percent,
    size_t keys)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->rec.mu, NULL);
	f->rng = test_seed();
	snprintf(f->root, sizeof(f->root), "%s/sm_incr_XXXXXX", fx_parent);
	if (mkdtemp(f->root) == NULL) {
		f->root[0] = '\0';
		return SM_EIO;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/task-%u", f->root, TASK);
	f->policy = (struct sm_job_checkpoint) { .interval_ms = 100,
		.timeout_ms = 10000,
		.retained = 2,
		.incremental = 1,
		.full_every = full_every,
		.full_delta_percent = percent };
	int rv = model_init(&f->m, keys);
	if (rv == SM_OK)
		rv = sm_store_open(f->dir, map, 0, &f->st);
	if (rv != SM_OK)
		return rv;
	struct sm_snapwriter_config cfg = { .store = f->st,
		.task = TASK,
		.task_name = TASK_NAME,
		.epoch = EPOCH,
		.policy = &f->policy,
		.send = record_send,
		.send_ctx = &f->rec };
	return sm_snapwriter_start(&cfg, NULL, 0, &f->w);
}

static void
fx_close(struct fx *f)
{
	sm_snapwriter_stop(f->w);
	sm_store_close(f->st);
	sm_store_fault_map_limit(0);
	model_fini(&f->m);
	for (size_t i = 0; i <= MAX_ID; i++) {
		free(f->want[i]);
		sm_state_arena_free(f->want_bytes[i]);
	}
	pthread_mutex_destroy(&f->rec.mu);
	if (f->root[0] != '\0')
		nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* WRITER_TEST(name, map, full_every, percent, keys) defines name(void):
 * name_body(f) runs on a fresh fixture, which is torn down afterwards
 * whatever the body did (the map fault limit included). */
#define WRITER_TEST(name, map, every, percent, keys)                          \
	static void name##_body(struct fx *f);                                \
	static void name(void)                                                \
	{                                                                     \
		struct fx *f = malloc(sizeof(*f));                            \
		if (f == NULL) {                                              \
			sm_test_failed = 1;                                   \
			return;                                               \
		}                                                             \
		int rv_ = fx_open(f, map, every, percent, keys);              \
		if (rv_ == SM_OK)                                             \
			name##_body(f);                                       \
		else {                                                        \
			fprintf(stderr, "  fixture: %s\n", sm_strerror(rv_)); \
			sm_test_failed = 1;                                   \
		}                                                             \
		fx_close(f);                                                  \
		free(f);                                                      \
	}                                                                     \
	static void name##_body(struct fx *f)

/* checkpoint: hand the writer the delta since the previous checkpoint as
 * checkpoint id (a savepoint if sp_dir is not NULL) and remember the full
 * state it stands for. */
static int
checkpoint(struct fx *f, uint64_t id, const char *sp_dir)
{
	struct sm_state_entry *e = NULL;
	struct sm_state_arena *bytes = NULL;
	size_t n = 0;
	if (id > MAX_ID)
		return SM_EINVAL;
	int rv = model_delta(&f->m, &e, &n, &bytes);
	if (rv == SM_OK) {
		free(f->want[id]);
		sm_state_arena_free(f->want_bytes[id]);
		f->want[id] = NULL;
		f->want_bytes[id] = NULL;
		rv = model_full(&f->m, &f->want[id], &f->n_want[id],
		    &f->want_bytes[id]);
	}
	if (rv == SM_OK) {
		/* The entries' bytes go with them (d.bytes). */
		struct sm_snapshot_data d = { .n_entries = n,
			.entries = e,
			.bytes = bytes,
			.incremental = 1,
			.full_entries = f->m.n_live };
		bytes = NULL;
		f->n_submitted[id] = n;
		f->n_deleted[id] = 0;
		for (size_t i = 0; i < n; i++)
			f->n_deleted[id] += e[i].deleted != 0;
		/* The writer takes the entries: on success d.entries is
		 * NULL, and only a failed submit leaves them to us. */
		rv = sm_snapwriter_submit(f->w, id, &d, sp_dir, 10, 20);
		e = d.entries;
		bytes = d.bytes;
	}
	free(e);
	sm_state_arena_free(bytes);
	return rv;
}

/* random_changes: n_put puts or adds to random keys, then n_del deletions
 * of live keys; now and then a key deleted and put back, or put new and
 * deleted again, within the interval. */
static void
random_changes(struct fx *f, size_t n_put, size_t n_del)
{
	struct model *m = &f->m;
	for (size_t i = 0; i < n_put; i++) {
		size_t k = rng_below(&f->rng, m->k);
		int64_t v = (int64_t) rng_below(&f->rng, 2000000) - 1000000;
		if (m->live[k] && rng_below(&f->rng, 3) == 0)
			v = m->val[k] + 1;
		model_put(m, k, v);
	}
	for (size_t i = 0; i < n_del && m->n_live > 0; i++) {
		size_t k = rng_below(&f->rng, m->k);
		for (size_t tries = 0; !m->live[k] && tries < m->k; tries++)
			k = (k + 1) % m->k;
		model_del(m, k);
	}
	size_t k = rng_below(&f->rng, m->k);
	if (m->live[k]) { /* deleted, then back with another value */
		model_del(m, k);
		model_put(m, k, 42);
	} else { /* born and gone in the same interval */
		model_put(m, k, 43);
		model_del(m, k);
	}
}

/* populate: key numbers 0, step, 2 * step, ... below k get value i. */
static void
populate(struct fx *f, size_t step)
{
	for (size_t i = 0; i < f->m.k; i += step)
		model_put(&f->m, i, (int64_t) i);
}

/* ---- reading back ------------------------------------------------------ */

/* read_matches: snapshot id of st, read with checksum, is exactly the
 * model state remembered for id. Says why not on stderr. */
static int
read_matches(const struct fx *f, struct sm_store *st, uint64_t id,
    uint32_t checksum)
{
	struct sm_snapshot_data d;
	char why[256];
	int rv =
	    sm_snapshot_read(st, TASK, id, checksum, &d, why, sizeof(why));
	if (rv != SM_OK) {
		fprintf(stderr, "  read %" PRIu64 ": %s: %s\n", id,
		    sm_strerror(rv), why);
		return 0;
	}
	const struct sm_state_entry *w = f->want[id];
	size_t nw = f->n_want[id];
	int ok = 1;
	size_t i = 0, j = 0;
	while (ok && (i < d.n_entries || j < nw)) {
		const struct sm_state_entry *g = &d.entries[i];
		int c = i == d.n_entries ? 1
		    : j == nw            ? -1
		                         : sm_state_entry_cmp(g, &w[j]);
		if (c == 0 && g->value_len == w[j].value_len &&
		    memcmp(g->value, w[j].value, g->value_len) == 0 &&
		    g->key_group == w[j].key_group && !g->deleted) {
			i++, j++;
			continue;
		}
		ok = 0;
		if (c < 0)
			fprintf(stderr,
			    "  read %" PRIu64 ": key %" PRIu64 " (= %" PRId64
			    ") should not be there\n",
			    id, sm_be64_get(g->key), entry_value(g));
		else if (c > 0)
			fprintf(stderr,
			    "  read %" PRIu64 ": key %" PRIu64 " (= %" PRId64
			    ") is missing\n",
			    id, sm_be64_get(w[j].key), entry_value(&w[j]));
		else
			fprintf(stderr,
			    "  read %" PRIu64 ": key %" PRIu64 " is %" PRId64
			    " (%u bytes, group %u), should be %" PRId64
			    " (%u bytes, group %u)\n",
			    id, sm_be64_get(w[j].key), entry_value(g),
			    g->value_len, g->key_group, entry_value(&w[j]),
			    w[j].value_len, w[j].key_group);
	}
	if (!ok)
		fprintf(stderr,
		    "  read %" PRIu64 ": %zu entries, model has %zu\n", id,
		    d.n_entries, nw);
	sm_snapshot_data_free(&d);
	return ok;
}

/* The chain recorded in a snapshot's metadata, read below the snapshot
 * layer. */
struct chain {
	int found, full;
	size_t n;
	uint64_t ids[MAX_ID];
};

struct chain_req {
	uint64_t id;
	struct chain *c;
};

static int
chain_fn(struct sm_txn *txn, void *arg)
{
	struct chain_req *q = arg;
	unsigned char key[9];
	const void *val;
	size_t vlen;
	key[0] = 'm';
	sm_be64_put(key + 1, q->id);
	int rv = sm_txn_get(txn, key, sizeof(key), &val, &vlen);
	if (rv == SM_ENOTFOUND)
		return SM_OK;
	if (rv != SM_OK)
		return rv;
	Snapmark__SnapshotMeta *m =
	    snapmark__snapshot_meta__unpack(NULL, vlen, val);
	if (m == NULL)
		return SM_ECORRUPT;
	q->c->found = 1;
	q->c->full = !m->has_full || m->full;
	q->c->n = m->n_chain < MAX_ID ? m->n_chain : MAX_ID;
	for (size_t i = 0; i < q->c->n; i++)
		q->c->ids[i] = m->chain[i];
	snapmark__snapshot_meta__free_unpacked(m, NULL);
	return SM_OK;
}

static int
chain_of(struct sm_store *st, uint64_t id, struct chain *c)
{
	struct chain_req q = { .id = id, .c = c };
	memset(c, 0, sizeof(*c));
	return sm_store_read(st, chain_fn, &q);
}

/* listed: bit i of *set is snapshot i being present (ids <= 63). */
static int
listed(struct sm_store *st, uint64_t *set)
{
	uint64_t ids[MAX_ID * 2];
	size_t n = 0;
	int rv = sm_snapshot_list(st, ids, N_OF(ids), &n);
	if (rv != SM_OK)
		return rv;
	*set = 0;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= 64)
			return SM_EINVAL;
		*set |= (uint64_t) 1 << ids[i];
	}
	return SM_OK;
}

static void
print_set(const char *what, uint64_t set)
{
	fprintf(stderr, "  %s:", what);
	for (int i = 0; i < 64; i++)
		if (set >> i & 1)
			fprintf(stderr, " %d", i);
	fprintf(stderr, "\n");
}

/* acked: id was acknowledged (not declined); says why not. */
static int
acked(const struct fx *f, uint64_t id)
{
	const struct ack_rec *a = &f->rec.rec[id];
	if (!a->got)
		fprintf(stderr, "  checkpoint %" PRIu64 ": no answer\n", id);
	else if (a->declined)
		fprintf(stderr, "  checkpoint %" PRIu64 ": declined: %s\n", id,
		    a->reason);
	return a->got && !a->declined;
}

/* ---- incremental round trip -------------------------------------------- */

#define RT_CHECKPOINTS 40
#define RT_FULL_EVERY 5

WRITER_TEST(incremental_round_trip_restores_every_checkpoint_exactly, 0,
    RT_FULL_EVERY, BIG_PERCENT, 4000)
{
	printf("  seed %" PRIu64 "\n", test_seed());
	populate(f, 2);
	T_OK(checkpoint(f, 1, NULL));
	for (uint64_t id = 2; id <= RT_CHECKPOINTS; id++) {
		random_changes(f, 20 + rng_below(&f->rng, 200),
		    5 + rng_below(&f->rng, 60));
		T_OK(checkpoint(f, id, NULL));
	}
	sm_snapwriter_wait(f->w);
	T_EQ_INT(f->rec.strays, 0);
	T_EQ_INT(f->rec.duplicates, 0);

	size_t fulls = 0, deltas = 0, deltas_with_deletions = 0;
	size_t max_chain = 0, run = 0;
	for (uint64_t id = 1; id <= RT_CHECKPOINTS; id++) {
		const struct ack_rec *a = &f->rec.rec[id];
		struct chain c;
		T_TRUE(acked(f, id));
		T_EQ_STR(a->location, f->dir);
		T_OK(chain_of(f->st, id, &c));
		T_TRUE(c.found);
		T_EQ_INT(a->incremental, !c.full);
		if (a->incremental) {
			/* a delta on the previous checkpoint's chain: the
			 * last full snapshot and the deltas since */
			deltas++;
			run++;
			deltas_with_deletions += f->n_deleted[id] > 0;
			T_EQ_INT(a->entries, f->n_submitted[id]);
			T_EQ_INT(c.n, run);
			T_EQ_INT(c.ids[c.n - 1], id - 1);
			T_EQ_INT(c.ids[0], id - run);
			T_TRUE(!f->rec.rec[id - run].incremental);
			if (c.n > max_chain)
				max_chain = c.n;
		} else {
			/* full_every deltas after every full snapshot */
			fulls++;
			if (id > 1)
				T_EQ_INT(run, RT_FULL_EVERY);
			T_EQ_INT(a->entries, f->n_want[id]);
			T_EQ_INT(a->full_bytes, a->bytes);
			T_EQ_INT(c.n, 0);
			run = 0;
		}
		T_TRUE(run <= RT_FULL_EVERY);
		T_TRUE(a->full_bytes > 0);
	}
	printf("  %zu full, %zu incremental (%zu with deletions), longest "
	       "chain %zu\n",
	    fulls, deltas, deltas_with_deletions, max_chain);
	T_TRUE(fulls >= 2);
	T_TRUE(deltas >= 2);
	T_TRUE(deltas_with_deletions >= 2);
	T_TRUE(max_chain > 1);

	/* every checkpoint still present restores exactly its state */
	uint64_t present;
	T_OK(listed(f->st, &present));
	T_EQ_INT(present, ((uint64_t) 1 << (RT_CHECKPOINTS + 1)) - 2);
	size_t bad = 0;
	for (uint64_t id = 1; id <= RT_CHECKPOINTS; id++)
		if (present >> id & 1)
			bad += !read_matches(f, f->st, id,
			    f->rec.rec[id].checksum);
	T_EQ_INT(bad, 0);
}

/* ---- full_delta_percent ------------------------------------------------ */

struct percent_case {
	const char *what;
	uint32_t percent;
	size_t changes; /* keys changed per checkpoint, of 1000 */
	uint64_t first_full_min, first_full_max; /* 0, 0: none expected */
};

static const struct percent_case percent_cases[] = {
	{ "10%, deltas of 2% accumulate past it", 10, 20, 3, 12 },
	{ "10%, one delta of 40% is over it at once", 10, 400, 2, 2 },
	{ "no percent limit: deltas until full_every", BIG_PERCENT, 20, 0, 0 },
};

#define PCT_CHECKPOINTS 12

static void
percent_case_holds(const struct percent_case *pc)
{
	/* full_every far away: only the percentage can materialise */
	struct fx *f = malloc(sizeof(*f));
	uint64_t first_full = 0;
	int ok = f != NULL && fx_open(f, 0, 100, pc->percent, 1000) == SM_OK;
	if (ok) {
		populate(f, 1);
		ok = checkpoint(f, 1, NULL) == SM_OK;
	}
	for (uint64_t id = 2; ok && id <= PCT_CHECKPOINTS; id++) {
		for (size_t i = 0; i < pc->changes; i++)
			model_put(&f->m, (id * 37 + i * 7) % 1000,
			    (int64_t) (id * 1000 + i));
		ok = checkpoint(f, id, NULL) == SM_OK;
	}
	if (ok)
		sm_snapwriter_wait(f->w);
	for (uint64_t id = 1; ok && id <= PCT_CHECKPOINTS; id++) {
		ok = acked(f, id) &&
		    read_matches(f, f->st, id, f->rec.rec[id].checksum);
		if (ok && id > 1 && first_full == 0 &&
		    !f->rec.rec[id].incremental)
			first_full = id;
	}
	if (ok &&
	    (f->rec.rec[1].incremental ||
	        (pc->first_full_min == 0 && first_full != 0) ||
	        (pc->first_full_min != 0 &&
	            (first_full < pc->first_full_min ||
	                first_full > pc->first_full_max)))) {
		fprintf(stderr,
		    "  %s: first full snapshot after 1 is %" PRIu64
		    ", expected %" PRIu64 "..%" PRIu64 "\n",
		    pc->what, first_full, pc->first_full_min,
		    pc->first_full_max);
		ok = 0;
	}
	if (f != NULL) {
		fx_close(f);
		free(f);
	}
	if (!ok)
		T_FAIL_("case \"%s\"", pc->what);
}

static void
full_delta_percent_materialises_before_full_every(void)
{
	for (size_t i = 0; i < N_OF(percent_cases); i++) {
		percent_case_holds(&percent_cases[i]);
		if (sm_test_failed)
			return;
	}
}

/* ---- long chains ------------------------------------------------------ */

/*
 * full_every may be as large as 1000, so a restore may have to apply a
 * long chain. Applying each link once is a few milliseconds for the chain
 * below; the test runs it in a child process and gives it CHAIN_DEADLINE_S
 * seconds, a bound that only a read redoing links over and over (the cost
 * growing exponentially with the chain) can miss.
 */
#define CHAIN_LINKS 40
#define CHAIN_DEADLINE_S 30

static int
long_chain_child(void)
{
	struct fx *f = malloc(sizeof(*f));
	int ok = f != NULL && fx_open(f, 0, 1000, BIG_PERCENT, 200) == SM_OK;
	if (ok) {
		populate(f, 1);
		ok = checkpoint(f, 1, NULL) == SM_OK;
	}
	for (uint64_t id = 2; ok && id <= CHAIN_LINKS + 1; id++) {
		model_put(&f->m, id, (int64_t) id);
		model_del(&f->m, 100 + id);
		ok = checkpoint(f, id, NULL) == SM_OK;
	}
	if (ok)
		sm_snapwriter_wait(f->w);
	struct chain c;
	ok = ok && acked(f, CHAIN_LINKS + 1) &&
	    chain_of(f->st, CHAIN_LINKS + 1, &c) == SM_OK &&
	    c.n == CHAIN_LINKS;
	if (!ok)
		fprintf(stderr, "  setting up the chain failed\n");
	ok = ok &&
	    read_matches(f, f->st, CHAIN_LINKS + 1,
	        f->rec.rec[CHAIN_LINKS + 1].checksum);
	if (f != NULL) {
		fx_close(f);
		free(f);
	}
	return ok ? 0 : 1;
}

static void
a_delta_at_the_end_of_a_long_chain_restores_promptly(void)
{
	char parent[64] = "/tmp/sm_chain_XXXXXX";
	T_TRUE(mkdtemp(parent) != NULL);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		fx_parent = parent;
		_exit(long_chain_child());
	}
	int status = 0, done = pid < 0;
	for (int ms = 0; ms < CHAIN_DEADLINE_S * 1000 && !done; ms += 10) {
		done = waitpid(pid, &status, WNOHANG) == pid;
		if (!done)
			usleep(10000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	nftw(parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	T_TRUE(pid >= 0);
	if (!done) {
		T_FAIL_("reading a delta on a chain of %d links did not "
		        "finish within %d s",
		    CHAIN_LINKS, CHAIN_DEADLINE_S);
	}
	T_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- retention --------------------------------------------------------- */

/*
 * Ten checkpoints with full_every = 3 give the chains
 *
 *   1F 2D 3D 4D | 5F 6D 7D 8D | 9F 10D      (D builds on the F before it
 *                                            and the D's in between)
 *
 * Retention after `completed` keeps the retained ids, every link of their
 * chains, and everything newer than `completed` (in flight).
 */
struct retain_case {
	const char *what;
	uint64_t completed;
	uint64_t retained[3];
	size_t n_retained;
	uint64_t left; /* bit set of ids that must remain */
};

#define B(i) ((uint64_t) 1 << (i))

static const struct retain_case retain_cases[] = {
	{ "two deltas share their base", 8, { 7, 8 }, 2,
	    B(5) | B(6) | B(7) | B(8) | B(9) | B(10) },
	{ "retained in two chains", 8, { 3, 8 }, 2,
	    B(1) | B(2) | B(3) | B(5) | B(6) | B(7) | B(8) | B(9) | B(10) },
	{ "two deltas of two chains keep both bases", 7, { 2, 7 }, 2,
	    B(1) | B(2) | B(5) | B(6) | B(7) | B(8) | B(9) | B(10) },
	{ "a retained full snapshot needs nothing older", 9, { 8, 9 }, 2,
	    B(5) | B(6) | B(7) | B(8) | B(9) | B(10) },
	{ "only the full one retained", 9, { 9 }, 1, B(9) | B(10) },
	{ "the latest delta keeps its base", 10, { 10 }, 1, B(9) | B(10) },
	{ "the base itself retained with its delta", 10, { 9, 10 }, 2,
	    B(9) | B(10) },
};

#define RET_CHECKPOINTS 10

static void
retain_case_holds(const struct retain_case *rc)
{
	struct fx *f = malloc(sizeof(*f));
	uint64_t before = 0, after = 0, expect = 0;
	int ok = f != NULL && fx_open(f, 0, 3, BIG_PERCENT, 2000) == SM_OK;
	if (ok) {
		populate(f, 3);
		ok = checkpoint(f, 1, NULL) == SM_OK;
	}
	for (uint64_t id = 2; ok && id <= RET_CHECKPOINTS; id++) {
		random_changes(f, 50, 20);
		ok = checkpoint(f, id, NULL) == SM_OK;
	}
	if (ok)
		sm_snapwriter_wait(f->w);
	for (uint64_t id = 1; ok && id <= RET_CHECKPOINTS; id++)
		ok = acked(f, id);
	ok = ok && listed(f->st, &before) == SM_OK;
	/* The premise: the chains in the metadata are the ones drawn above,
	 * so `left` is what the retained ids really need. */
	for (size_t i = 0; ok && i < rc->n_retained; i++) {
		struct chain c;
		ok = chain_of(f->st, rc->retained[i], &c) == SM_OK && c.found;
		expect |= B(rc->retained[i]);
		for (size_t k = 0; ok && k < c.n; k++)
			expect |= B(c.ids[k]);
	}
	for (uint64_t id = rc->completed + 1; ok && id <= RET_CHECKPOINTS;
	     id++)
		expect |= B(id);
	if (ok && expect != rc->left) {
		fprintf(stderr, "  %s: chains are not as drawn\n", rc->what);
		print_set("needed per metadata", expect);
		print_set("table says", rc->left);
		ok = 0;
	}
	if (ok)
		ok = sm_snapwriter_prune(f->w, rc->completed, rc->retained,
		         rc->n_retained) == SM_OK;
	if (ok) {
		sm_snapwriter_wait(f->w);
		ok = listed(f->st, &after) == SM_OK;
	}
	if (ok && after != rc->left) {
		fprintf(stderr, "  %s: wrong snapshots after retention\n",
		    rc->what);
		print_set("before", before);
		print_set("after", after);
		print_set("expected", rc->left);
		ok = 0;
	}
	/* what is left still restores exactly; what is gone is gone */
	for (uint64_t id = 1; ok && id <= RET_CHECKPOINTS; id++) {
		if (rc->left >> id & 1) {
			ok = read_matches(f, f->st, id,
			    f->rec.rec[id].checksum);
		} else {
			struct sm_snapshot_data d;
			char why[256];
			int rv = sm_snapshot_read(f->st, TASK, id,
			    f->rec.rec[id].checksum, &d, why, sizeof(why));
			if (rv == SM_OK)
				sm_snapshot_data_free(&d);
			ok = rv == SM_ENOTFOUND;
		}
		if (!ok)
			fprintf(stderr,
			    "  %s: snapshot %" PRIu64 " is wrong\n", rc->what,
			    id);
	}
	/* and the writer's chain goes on from what it kept */
	if (ok) {
		random_changes(f, 50, 20);
		ok = checkpoint(f, RET_CHECKPOINTS + 1, NULL) == SM_OK;
		sm_snapwriter_wait(f->w);
		ok = ok && acked(f, RET_CHECKPOINTS + 1) &&
		    read_matches(f, f->st, RET_CHECKPOINTS + 1,
		        f->rec.rec[RET_CHECKPOINTS + 1].checksum);
	}
	if (f != NULL) {
		fx_close(f);
		free(f);
	}
	if (!ok)
		T_FAIL_("case \"%s\"", rc->what);
}

static void
retention_keeps_every_base_a_retained_checkpoint_needs_and_drops_the_rest(void)
{
	printf("  seed %" PRIu64 "\n", test_seed());
	for (size_t i = 0; i < N_OF(retain_cases); i++) {
		retain_case_holds(&retain_cases[i]);
		if (sm_test_failed)
			return;
	}
}

/* ---- a full map -------------------------------------------------------- */

WRITER_TEST(a_tiny_map_grows_and_a_checkpoint_of_several_MiB_completes,
    TINY_MAP, 5, BIG_PERCENT, 150000)
{
	size_t map0 = sm_store_map_size(f->st);
	T_TRUE(map0 <= 64 << 10);
	populate(f, 1); /* 150,000 keys */
	T_OK(checkpoint(f, 1, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 1));
	printf("  map %zu KiB -> %zu KiB, checkpoint 1 wrote %" PRIu64
	       " bytes\n",
	    map0 >> 10, sm_store_map_size(f->st) >> 10, f->rec.rec[1].bytes);
	T_TRUE(f->rec.rec[1].bytes > 1u << 20);
	T_TRUE(sm_store_map_size(f->st) >= 4u << 20);
	T_TRUE(read_matches(f, f->st, 1, f->rec.rec[1].checksum));
	/* and the grown store takes the next delta */
	random_changes(f, 30000, 10000);
	T_OK(checkpoint(f, 2, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 2));
	T_TRUE(f->rec.rec[2].incremental);
	T_TRUE(read_matches(f, f->st, 2, f->rec.rec[2].checksum));
	T_TRUE(read_matches(f, f->st, 1, f->rec.rec[1].checksum));
}

/* The small state is 3,000 keys so that checkpoint 3's delta (100,000
 * deletions) stays under full_delta_percent: only the decline of 2 can
 * make 3 full, and written as a delta 3 would not fit the map either. */
#define SMALL_KEYS 3000
#define MAP_LIMIT ((size_t) 1 << 20)

WRITER_TEST(a_map_that_cannot_grow_declines_and_the_next_checkpoint_is_full,
    TINY_MAP, 5, BIG_PERCENT, SMALL_KEYS + 100000)
{
	sm_store_fault_map_limit(MAP_LIMIT);
	for (size_t i = 0; i < SMALL_KEYS; i++)
		model_put(&f->m, i, (int64_t) i);
	T_OK(checkpoint(f, 1, NULL));
	/* 2: 100,000 new keys (MiBs) plus changes to the small keys */
	for (size_t i = SMALL_KEYS; i < f->m.k; i++)
		model_put(&f->m, i, 1);
	for (size_t i = 0; i < SMALL_KEYS; i += 3)
		model_put(&f->m, i, -(int64_t) i);
	T_OK(checkpoint(f, 2, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 1));
	T_TRUE(f->rec.rec[2].got);
	T_TRUE(f->rec.rec[2].declined);
	printf("  declined: %s\n", f->rec.rec[2].reason);
	if (strstr(f->rec.rec[2].reason, "map full") == NULL)
		T_FAIL_("reason \"%s\" does not say the map is full",
		    f->rec.rec[2].reason);
	T_TRUE(sm_store_map_size(f->st) <= MAP_LIMIT);
	uint64_t present;
	T_OK(listed(f->st, &present));
	T_EQ_INT(present, B(1));

	/* 3: the big keys go again; the state is small, the store usable.
	 * It must be full: the chain cannot build on declined 2, whose
	 * changes to the small keys the state at 3 still holds. */
	for (size_t i = SMALL_KEYS; i < f->m.k; i++)
		model_del(&f->m, i);
	model_put(&f->m, 1, 1111);
	T_OK(checkpoint(f, 3, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 3));
	T_TRUE(!f->rec.rec[3].incremental);
	T_TRUE(read_matches(f, f->st, 3, f->rec.rec[3].checksum));
	/* 4: deltas resume on the new full snapshot */
	model_put(&f->m, 2, 2222);
	model_del(&f->m, 4);
	T_OK(checkpoint(f, 4, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 4));
	T_TRUE(f->rec.rec[4].incremental);
	T_TRUE(read_matches(f, f->st, 4, f->rec.rec[4].checksum));
	struct chain c;
	T_OK(chain_of(f->st, 4, &c));
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.ids[0], 3);
}

/* ---- savepoints -------------------------------------------------------- */

/*
 * 1 full, 2 a delta, 3 a savepoint into root/sp, 4 and 5 checkpoints
 * again. Every interval changes and deletes keys, the savepoint's too.
 */
static int
savepoint_sequence(struct fx *f, char *sp_dir, size_t len)
{
	snprintf(sp_dir, len, "%s/sp", f->root);
	populate(f, 2);
	int rv = checkpoint(f, 1, NULL);
	for (uint64_t id = 2; rv == SM_OK && id <= 5; id++) {
		random_changes(f, 100, 30);
		rv = checkpoint(f, id, id == 3 ? sp_dir : NULL);
	}
	if (rv == SM_OK)
		sm_snapwriter_wait(f->w);
	return rv;
}

WRITER_TEST(a_savepoint_is_a_full_snapshot_in_its_own_directory, 0, 10,
    BIG_PERCENT, 3000)
{
	char sp_dir[128], where[300];
	printf("  seed %" PRIu64 "\n", test_seed());
	T_OK(savepoint_sequence(f, sp_dir, sizeof(sp_dir)));
	T_TRUE(acked(f, 3));
	snprintf(where, sizeof(where), "%s/%s", sp_dir, TASK_NAME);
	T_EQ_STR(f->rec.rec[3].location, where);
	T_TRUE(!f->rec.rec[3].incremental);
	T_EQ_INT(f->rec.rec[3].entries, f->n_want[3]);
	struct sm_store *sp = NULL;
	T_OK(sm_store_open(where, 0, 0, &sp));
	uint64_t present = 0;
	int rv = listed(sp, &present);
	struct chain c;
	int rv2 = chain_of(sp, 3, &c);
	int same =
	    rv == SM_OK && read_matches(f, sp, 3, f->rec.rec[3].checksum);
	sm_store_close(sp);
	T_OK(rv);
	T_EQ_INT(present, B(3)); /* self-contained: nothing else needed */
	T_OK(rv2);
	T_TRUE(c.found && c.full && c.n == 0);
	T_TRUE(same);
}

WRITER_TEST(checkpoints_after_a_savepoint_restore_exactly, 0, 10, BIG_PERCENT,
    3000)
{
	char sp_dir[128];
	printf("  seed %" PRIu64 "\n", test_seed());
	T_OK(savepoint_sequence(f, sp_dir, sizeof(sp_dir)));
	for (uint64_t id = 1; id <= 5; id++)
		T_TRUE(acked(f, id));
	T_TRUE(read_matches(f, f->st, 2, f->rec.rec[2].checksum));
	/* 4 and 5 must include what changed between 2 and savepoint 3 */
	T_TRUE(read_matches(f, f->st, 4, f->rec.rec[4].checksum));
	T_TRUE(read_matches(f, f->st, 5, f->rec.rec[5].checksum));
}

/* A restore: the task starts a new writer seeded with the restored state
 * (on the writer's own thread) and goes on with deltas on top of it. */
WRITER_TEST(
    a_writer_seeded_with_a_restored_state_snapshots_it_with_the_changes, 0, 10,
    BIG_PERCENT, 3000)
{
	populate(f, 3);
	T_OK(checkpoint(f, 1, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 1));
	sm_snapwriter_stop(f->w);
	f->w = NULL;
	struct sm_snapwriter_config cfg = { .store = f->st,
		.task = TASK,
		.task_name = TASK_NAME,
		.epoch = EPOCH,
		.policy = &f->policy,
		.send = record_send,
		.send_ctx = &f->rec };
	T_OK(sm_snapwriter_start(&cfg, f->want[1], f->n_want[1], &f->w));
	random_changes(f, 200, 40);
	T_OK(checkpoint(f, 2, NULL));
	random_changes(f, 200, 40);
	T_OK(checkpoint(f, 3, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 2));
	T_TRUE(acked(f, 3));
	/* the first snapshot after a restore is full: the seeded shadow
	 * with the changes; the next a delta on it */
	T_TRUE(!f->rec.rec[2].incremental);
	T_TRUE(f->rec.rec[3].incremental);
	T_TRUE(read_matches(f, f->st, 2, f->rec.rec[2].checksum));
	T_TRUE(read_matches(f, f->st, 3, f->rec.rec[3].checksum));
}

WRITER_TEST(a_savepoint_leaves_the_chain_the_next_checkpoint_is_a_delta_on, 0,
    10, BIG_PERCENT, 3000)
{
	char sp_dir[128];
	T_OK(savepoint_sequence(f, sp_dir, sizeof(sp_dir)));
	T_TRUE(acked(f, 4));
	T_TRUE(f->rec.rec[2].incremental);
	T_TRUE(f->rec.rec[4].incremental);
	/* 4 builds on the chain 1, 2 that was current before the savepoint
	 * (whatever the writer adds to it to carry the savepoint's changes,
	 * it is older than 4) */
	struct chain c;
	T_OK(chain_of(f->st, 4, &c));
	T_TRUE(c.n >= 2);
	T_EQ_INT(c.ids[0], 1);
	T_EQ_INT(c.ids[1], 2);
	T_TRUE(c.ids[c.n - 1] < 4);
}

/* ---- an ack that cannot be sent ---------------------------------------- */

WRITER_TEST(an_ack_that_cannot_be_sent_declines_its_checkpoint, 0, 5,
    BIG_PERCENT, 100)
{
	populate(f, 2);
	T_OK(checkpoint(f, 1, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 1));
	pthread_mutex_lock(&f->rec.mu);
	f->rec.fail_acks = 1;
	pthread_mutex_unlock(&f->rec.mu);
	model_put(&f->m, 3, 33);
	T_OK(checkpoint(f, 2, NULL));
	sm_snapwriter_wait(f->w);
	T_TRUE(f->rec.rec[2].got);
	T_TRUE(f->rec.rec[2].declined);
	if (strstr(f->rec.rec[2].reason, "ack could not be sent") == NULL)
		T_FAIL_("reason \"%s\" does not say the ack was lost",
		    f->rec.rec[2].reason);
	T_EQ_INT(f->rec.strays, 0);
	T_EQ_INT(f->rec.duplicates, 0);
}

/* The task's own path: the operator hands its kvstate's delta over whole
 * (data.delta), with operator-state items. An empty delta makes an inline
 * snapshot (not a decline); a delta with changes, deletions included, a
 * stored one that reads back with the items. */
WRITER_TEST(handed_over_deltas_and_operator_state_become_snapshots, 0, 10,
    BIG_PERCENT, 10)
{
	struct sm_kvstate kv;
	struct sm_kvdelta *delta = NULL;
	T_OK(sm_kvstate_init(&kv));
	struct sm_snapshot_data d = { .incremental = 1, .unsorted = 1 };
	T_OK(sm_snapshot_data_add_item(&d, "pos=1", 5));
	T_OK(sm_kvstate_take_delta(&kv, &delta));
	d.delta = delta;
	T_OK(sm_snapwriter_submit(f->w, 1, &d, NULL, 1, 1));
	sm_kvdelta_free(d.delta); /* the writer took it: NULL here */
	sm_snapshot_data_free(&d);
	T_OK(sm_kvstate_put(&kv, 9, "a", 1, 1, "1", 1));
	T_OK(sm_kvstate_put(&kv, 9, "b", 1, 2, "", 0));
	T_OK(sm_kvstate_put(&kv, 9, "c", 1, 3, "3", 1));
	T_OK(sm_kvstate_del(&kv, 9, "c", 1));
	memset(&d, 0, sizeof(d));
	d.incremental = 1;
	d.unsorted = 1;
	T_OK(sm_snapshot_data_add_item(&d, "pos=2", 5));
	T_OK(sm_snapshot_data_add_item(&d, "", 0));
	T_OK(sm_kvstate_take_delta(&kv, &delta));
	d.delta = delta;
	T_OK(sm_snapwriter_submit(f->w, 2, &d, NULL, 1, 1));
	sm_kvdelta_free(d.delta);
	sm_snapshot_data_free(&d);
	sm_kvstate_fini(&kv);
	sm_snapwriter_wait(f->w);
	T_TRUE(acked(f, 1));
	T_EQ_STR(f->rec.rec[1].location, SM_SNAPSHOT_INLINE);
	T_TRUE(acked(f, 2));
	struct sm_snapshot_data got;
	char why[256];
	T_OK(sm_snapshot_read(f->st, TASK, 2, f->rec.rec[2].checksum, &got,
	    why, sizeof(why)));
	int right = got.n_entries == 2 && got.entries[0].key[0] == 'a' &&
	    got.entries[0].value_len == 1 && got.entries[0].key_group == 1 &&
	    got.entries[1].key[0] == 'b' && got.entries[1].value_len == 0 &&
	    got.n_op_state == 2 && got.op_state[0].len == 5 &&
	    memcmp(got.op_state[0].data, "pos=2", 5) == 0 &&
	    got.op_state[1].len == 0;
	sm_snapshot_data_free(&got);
	T_TRUE(right);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(incremental_round_trip_restores_every_checkpoint_exactly),
	T(full_delta_percent_materialises_before_full_every),
	T(a_delta_at_the_end_of_a_long_chain_restores_promptly),
	T(retention_keeps_every_base_a_retained_checkpoint_needs_and_drops_the_rest),
	T(a_tiny_map_grows_and_a_checkpoint_of_several_MiB_completes),
	T(a_map_that_cannot_grow_declines_and_the_next_checkpoint_is_full),
	T(a_savepoint_is_a_full_snapshot_in_its_own_directory),
	T(checkpoints_after_a_savepoint_restore_exactly),
	T(a_writer_seeded_with_a_restored_state_snapshots_it_with_the_changes),
	T(a_savepoint_leaves_the_chain_the_next_checkpoint_is_a_delta_on),
	T(an_ack_that_cannot_be_sent_declines_its_checkpoint),
	T(handed_over_deltas_and_operator_state_become_snapshots),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
