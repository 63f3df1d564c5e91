/*
 * test_kvstate.c - keyed state in memory: the open-addressing keymap
 * (worker/keymap.h) and the change-tracked kvstate on top of it
 * (worker/kvstate.h), down to the count operator's snapshot().
 *
 * The property the rest of incremental checkpointing rests on: a capture
 * (sm_kvstate_take_delta) hands over exactly the keys changed since the
 * previous capture, and the task's thread copies nothing to do so, however
 * large the state and however many keys changed. That is checked without
 * timing anything: the delta handed over is the very hash table the
 * changes were recorded in (same storage, not a copy), and the state keeps
 * a fresh, empty one. Everything goes through the API the operators and
 * the snapshot writer use: take the delta, flatten it, free it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "common/store.h"
#include "common/jobfile.h"
#include "worker/keymap.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Most tests file a uint64 key as 8 bytes big-endian (byte order is then
 * numeric order) in state KS, with an int64 counter value (8 bytes
 * little-endian), the count operator's shape; the tests of byte keys and
 * values proper come last. */
#define KS 0x1234u

static uint32_t
kg_of(uint64_t key)
{
	return (uint32_t) (key % 128);
}

static int
kset(struct sm_keymap *m, uint64_t key, int64_t v)
{
	unsigned char k[8], val[8];
	sm_be64_put(k, key);
	sm_counter_put(val, v);
	return sm_keymap_put(m, KS, k, 8, kg_of(key), val, 8, NULL);
}

static int
kget(const struct sm_keymap *m, uint64_t key, int64_t *v)
{
	unsigned char k[8];
	sm_be64_put(k, key);
	struct sm_kventry *e = sm_keymap_find(m, KS, k, 8);
	if (e == NULL)
		return SM_ENOTFOUND;
	*v = sm_counter_get(sm_kventry_value(e));
	return SM_OK;
}

static int
kdel(struct sm_keymap *m, uint64_t key)
{
	unsigned char k[8];
	sm_be64_put(k, key);
	return sm_keymap_del(m, KS, k, 8);
}

static int
kv_put(struct sm_kvstate *s, uint64_t key, int64_t v)
{
	unsigned char k[8], val[8];
	sm_be64_put(k, key);
	sm_counter_put(val, v);
	return sm_kvstate_put(s, KS, k, 8, kg_of(key), val, 8);
}

static int
kv_add(struct sm_kvstate *s, uint64_t key, int64_t d)
{
	unsigned char k[8];
	sm_be64_put(k, key);
	return sm_kvstate_add(s, KS, k, 8, kg_of(key), d, NULL);
}

static int
kv_del(struct sm_kvstate *s, uint64_t key)
{
	unsigned char k[8];
	sm_be64_put(k, key);
	return sm_kvstate_del(s, KS, k, 8);
}

static int
kv_get(const struct sm_kvstate *s, uint64_t key, int64_t *v)
{
	unsigned char k[8];
	const void *val;
	uint32_t len;
	sm_be64_put(k, key);
	int rv = sm_kvstate_get(s, KS, k, 8, &val, &len);
	if (rv == SM_OK && len != 8)
		return SM_EINVAL;
	if (rv == SM_OK)
		*v = sm_counter_get(val);
	return rv;
}

/* A decoded counter entry. */
struct kv_entry {
	uint64_t key;
	int64_t count;
	int deleted;
	uint32_t key_group;
};

/* kv_decode: n entries of state KS as kv_entry (malloc'ed), in order;
 * NULL if any is of another shape. */
static struct kv_entry *
kv_decode(const struct sm_state_entry *e, size_t n)
{
	struct kv_entry *out = malloc((n + 1) * sizeof(*out));
	for (size_t i = 0; out != NULL && i < n; i++) {
		if (e[i].state != KS || e[i].key_len != 8 ||
		    (!e[i].deleted && e[i].value_len != 8)) {
			free(out);
			return NULL;
		}
		out[i] = (struct kv_entry) { .key = sm_be64_get(e[i].key),
			.count = e[i].deleted ? 0 : sm_counter_get(e[i].value),
			.deleted = e[i].deleted,
			.key_group = e[i].key_group };
	}
	return out;
}

/* ---- keymap ------------------------------------------------------------ */

/* keymap_live_slots counts the slots marked live (must equal m->len). */
static size_t
keymap_live_slots(const struct sm_keymap *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		n += sm_keymap_live(m, i);
	return n;
}

/* keymap_home_of: the slot a key lands in when it is alone in a fresh
 * map, found from outside (the hash itself is private to keymap.c). */
static size_t
keymap_home_of(uint64_t key)
{
	struct sm_keymap m;
	size_t home = SIZE_MAX;
	if (sm_keymap_init(&m) != SM_OK || kset(&m, key, 0) != SM_OK)
		goto done;
	for (size_t i = 0; i < m.cap; i++)
		if (sm_keymap_live(&m, i))
			home = i;
done:
	sm_keymap_fini(&m);
	return home;
}

static void
keymap_put_get_and_del_round_trip(void)
{
	struct sm_keymap m;
	int64_t v = 0;
	T_OK(sm_keymap_init(&m));
	static const uint64_t keys[] = { 0, 1, 2, 1023, 1024, 1ull << 40,
		UINT64_MAX };
	for (size_t i = 0; i < N_OF(keys); i++) {
		T_ERR(kget(&m, keys[i], &v), SM_ENOTFOUND);
		T_OK(kset(&m, keys[i], (int64_t) i * 11 - 30));
	}
	T_EQ_INT(m.len, N_OF(keys));
	for (size_t i = 0; i < N_OF(keys); i++) {
		T_OK(kget(&m, keys[i], &v));
		T_EQ_INT(v, (int64_t) i * 11 - 30);
	}
	/* putting a present key replaces its value, no new insertion */
	T_OK(kset(&m, keys[3], 5));
	T_OK(kget(&m, keys[3], &v));
	T_EQ_INT(v, 5);
	T_EQ_INT(m.len, N_OF(keys));
	T_ERR(kget(&m, 77, &v), SM_ENOTFOUND);
	T_OK(kdel(&m, keys[2]));
	T_ERR(kget(&m, keys[2], &v), SM_ENOTFOUND);
	T_ERR(kdel(&m, keys[2]), SM_ENOTFOUND);
	T_ERR(kdel(&m, 77), SM_ENOTFOUND);
	T_EQ_INT(m.len, N_OF(keys) - 1);
	T_EQ_INT(keymap_live_slots(&m), m.len);
	sm_keymap_fini(&m);
}

static void
lookups_probe_past_tombstones_and_a_reinserted_key_starts_at_zero(void)
{
	/* Three keys with the same home slot sit next to each other; deleting
	 * the first two must not hide the third behind their tombstones. */
	uint64_t same[3];
	size_t n = 0;
	size_t home = keymap_home_of(1);
	T_TRUE(home != SIZE_MAX);
	same[n++] = 1;
	for (uint64_t k = 2; k < 200000 && n < 3; k++)
		if (keymap_home_of(k) == home)
			same[n++] = k;
	T_EQ_INT(n, 3);

	struct sm_keymap m;
	int64_t v = 0;
	T_OK(sm_keymap_init(&m));
	for (size_t i = 0; i < 3; i++)
		T_OK(kset(&m, same[i], (int64_t) (i + 1) * 100));
	size_t occupied = m.occupied;
	T_OK(kdel(&m, same[1]));
	T_EQ_INT(m.occupied, occupied); /* a tombstone, not an empty slot */
	T_OK(kget(&m, same[2], &v));
	T_EQ_INT(v, 300);
	T_OK(kdel(&m, same[0]));
	T_OK(kget(&m, same[2], &v));
	T_EQ_INT(v, 300);
	T_EQ_INT(m.len, 1);

	/* reinsert after delete: a fresh key, found, no duplicate */
	T_ERR(kget(&m, same[1], &v), SM_ENOTFOUND);
	T_OK(kset(&m, same[1], 7));
	T_EQ_INT(m.len, 2);
	T_OK(kget(&m, same[1], &v));
	T_EQ_INT(v, 7);
	T_OK(kget(&m, same[2], &v));
	T_EQ_INT(v, 300);
	T_ERR(kget(&m, same[0], &v), SM_ENOTFOUND);
	/* deleting it once removes it entirely: no older copy shows up */
	T_OK(kdel(&m, same[1]));
	T_ERR(kget(&m, same[1], &v), SM_ENOTFOUND);
	T_EQ_INT(m.len, 1);
	T_EQ_INT(keymap_live_slots(&m), 1);
	sm_keymap_fini(&m);
}

/* Key patterns for the growth test: i-th key of n. */
struct key_pattern {
	const char *what;
	uint64_t (*key)(uint64_t i);
};

static uint64_t
key_sequential(uint64_t i)
{
	return i;
}

static uint64_t
key_stride_1024(uint64_t i)
{
	return i << 10; /* identical low bits */
}

static uint64_t
key_stride_2_32(uint64_t i)
{
	return (i << 32) | 5;
}

static uint64_t
key_scrambled(uint64_t i)
{
	/* splitmix64 finaliser: a bijection, so keys stay distinct */
	uint64_t z = i + 0x9E3779B97F4A7C15u;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static uint64_t
key_stride_2_40(uint64_t i)
{
	return i << 40; /* only bits 40 and up differ */
}

static uint64_t
key_top_bits(uint64_t i)
{
	return i << 48; /* only the top 16 bits differ */
}

static const struct key_pattern key_patterns[] = {
	{ "sequential", key_sequential },
	{ "stride 1024", key_stride_1024 },
	{ "scrambled 64-bit", key_scrambled },
};

/* Keys whose differences sit in high bits: what ids built from
 * timestamps or shifted hashes look like. */
static const struct key_pattern high_bit_patterns[] = {
	{ "sequential (reference)", key_sequential },
	{ "scrambled 64-bit (reference)", key_scrambled },
	{ "stride 2^32", key_stride_2_32 },
	{ "stride 2^40", key_stride_2_40 },
	{ "top 16 bits only", key_top_bits },
};

static void
growing_the_table_keeps_every_key_and_value(void)
{
	enum { N = 200000 };
	for (size_t p = 0; p < N_OF(key_patterns); p++) {
		const struct key_pattern *kp = &key_patterns[p];
		struct sm_keymap m;
		T_OK(sm_keymap_init(&m));
		size_t cap0 = m.cap;
		int bad = 0;
		for (uint64_t i = 0; i < N && !bad; i++) {
			bad = kset(&m, kp->key(i), (int64_t) i * 3 - 1) !=
			    SM_OK;
		}
		for (uint64_t i = 0; i < N && !bad; i++) {
			int64_t v;
			bad = kget(&m, kp->key(i), &v) != SM_OK ||
			    v != (int64_t) i * 3 - 1;
			if (bad)
				fprintf(stderr, "  %s: key %llu lost\n",
				    kp->what, (unsigned long long) i);
		}
		size_t len = m.len, live = keymap_live_slots(&m), cap = m.cap;
		size_t occ = m.occupied;
		sm_keymap_fini(&m);
		if (bad)
			T_FAIL_("pattern %s", kp->what);
		T_EQ_INT(len, N);
		T_EQ_INT(live, N);
		T_TRUE(cap > cap0);
		T_TRUE((cap & (cap - 1)) == 0);
		T_TRUE(occ * 10 <= cap * 7); /* load bound of keymap.h */
	}
}

/* longest_cluster: the longest run of non-empty slots (wrapping around),
 * which bounds how far any lookup probes. */
static size_t
longest_cluster(const struct sm_keymap *m)
{
	size_t best = 0, run = 0;
	for (size_t i = 0; i < 2 * m->cap; i++) {
		run = m->slot[i & (m->cap - 1)].e != NULL ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best < m->cap ? best : m->cap;
}

static void
keys_that_differ_only_in_high_bits_still_spread_over_the_table(void)
{
	/* At the table's load bound a well spread table has clusters of a
	 * few dozen slots; MAX_CLUSTER is far above that and far below the
	 * N slots of keys piled onto one home. */
	enum { N = 20000, MAX_CLUSTER = 1000 };
	size_t worst[N_OF(high_bit_patterns)];
	int bad = 0;
	for (size_t p = 0; p < N_OF(high_bit_patterns); p++) {
		const struct key_pattern *kp = &high_bit_patterns[p];
		struct sm_keymap m;
		T_OK(sm_keymap_init(&m));
		int lost = 0;
		for (uint64_t i = 0; i < N && !lost; i++) {
			lost = kset(&m, kp->key(i), (int64_t) i) != SM_OK;
		}
		for (uint64_t i = 0; i < N && !lost; i++) {
			int64_t v;
			lost = kget(&m, kp->key(i), &v) != SM_OK ||
			    v != (int64_t) i;
		}
		worst[p] = longest_cluster(&m);
		size_t len = m.len, cap = m.cap;
		sm_keymap_fini(&m);
		T_TRUE(!lost);
		T_EQ_INT(len, N);
		printf("  %-30s %d keys in %zu slots: longest cluster %zu\n",
		    kp->what, N, cap, worst[p]);
		bad += worst[p] > MAX_CLUSTER;
	}
	T_EQ_INT(bad, 0);
}

static void
churning_deletes_and_inserts_keep_len_right_and_the_table_bounded(void)
{
	/* Each round inserts LIVE fresh keys and deletes the previous round's:
	 * at most 2 * LIVE keys are live while tombstones keep appearing, so
	 * only tombstone cleanup keeps the table from growing forever. It may
	 * double a few times first (it cleans in place only below a quarter
	 * live); then its size must settle at a small multiple of the peak. */
	enum { LIVE = 600, ROUNDS = 1000 };
	struct sm_keymap m;
	T_OK(sm_keymap_init(&m));
	size_t cap_at_half = 0;
	for (uint64_t r = 0; r < ROUNDS; r++) {
		for (uint64_t i = 0; i < LIVE; i++) {
			T_OK(kset(&m, key_scrambled(r * LIVE + i),
			    (int64_t) r));
		}
		T_EQ_INT(m.len, r == 0 ? LIVE : 2 * LIVE);
		if (r > 0)
			for (uint64_t i = 0; i < LIVE; i++)
				T_OK(kdel(&m,
				    key_scrambled((r - 1) * LIVE + i)));
		T_EQ_INT(m.len, LIVE);
		if (r == ROUNDS / 2)
			cap_at_half = m.cap;
	}
	T_EQ_INT(keymap_live_slots(&m), LIVE);
	T_EQ_INT(m.cap, cap_at_half);
	T_TRUE(m.cap <= 8 * 2 * LIVE);
	for (uint64_t i = 0; i < LIVE; i++) {
		int64_t v;
		T_OK(kget(&m, key_scrambled((ROUNDS - 1) * LIVE + i),
		    &v));
		T_EQ_INT(v, ROUNDS - 1);
		T_ERR(kget(&m, key_scrambled((ROUNDS - 2) * LIVE + i),
		          &v),
		    SM_ENOTFOUND);
	}
	/* delete everything, then the same keys again: len goes 0 -> LIVE */
	for (uint64_t i = 0; i < LIVE; i++)
		T_OK(
		    kdel(&m, key_scrambled((ROUNDS - 1) * LIVE + i)));
	T_EQ_INT(m.len, 0);
	for (uint64_t i = 0; i < LIVE; i++)
		T_OK(kset(&m, key_scrambled((ROUNDS - 1) * LIVE + i), 0));
	T_EQ_INT(m.len, LIVE);
	T_EQ_INT(keymap_live_slots(&m), LIVE);
	sm_keymap_fini(&m);
}

/* ---- kvstate: what a capture hands over -------------------------------- */

enum kv_op { PUT, ADD, DEL };

struct kv_step {
	enum kv_op op;
	uint64_t key;
	int64_t value; /* PUT: new value; ADD: delta */
};

/* An expected delta entry; may_omit: a deletion of a key the previous
 * capture never had may be left out (it changes nothing). */
struct kv_want {
	uint64_t key;
	int64_t count;
	int deleted;
	int may_omit;
};

#define KV_MAX 48

struct kv_case {
	const char *what;
	struct kv_step steps[KV_MAX];
	size_t n_steps;
	struct kv_want want[KV_MAX];
	size_t n_want;
};

/* Every case starts from keys 1..10 with value 10 * key, captured once. */
#define KV_BASE 10

static const struct kv_case kv_cases[] = {
	{ "nothing changed: empty delta", { { 0 } }, 0, { { 0 } }, 0 },
	{ "a put is the new value", { { PUT, 3, 7 } }, 1, { { 3, 7, 0, 0 } },
	    1 },
	{ "an add is the sum", { { ADD, 4, 5 } }, 1, { { 4, 45, 0, 0 } }, 1 },
	{ "a delete is flagged", { { DEL, 5, 0 } }, 1, { { 5, 0, 1, 0 } }, 1 },
	{ "a delete of an absent key is no change", { { DEL, 99, 0 } }, 1,
	    { { 0 } }, 0 },
	{ "a new key appears", { { PUT, 100, 1 } }, 1, { { 100, 1, 0, 0 } },
	    1 },
	{ "a new key by add starts at 0", { { ADD, 101, -4 } }, 1,
	    { { 101, -4, 0, 0 } }, 1 },
	{ "a key changed many times appears once with its last value",
	    { { PUT, 2, 1 }, { ADD, 2, 1 }, { PUT, 2, 9 }, { ADD, 2, 1 },
	        { PUT, 2, -9 } },
	    5, { { 2, -9, 0, 0 } }, 1 },
	{ "put after del in the same interval is a live entry",
	    { { DEL, 6, 0 }, { PUT, 6, 3 } }, 2, { { 6, 3, 0, 0 } }, 1 },
	{ "add after del starts again at 0", { { DEL, 6, 0 }, { ADD, 6, 2 } },
	    2, { { 6, 2, 0, 0 } }, 1 },
	{ "del after put in the same interval is a deletion",
	    { { PUT, 7, 1 }, { DEL, 7, 0 } }, 2, { { 7, 0, 1, 0 } }, 1 },
	{ "a key born and deleted in one interval is at most a deletion",
	    { { PUT, 200, 1 }, { DEL, 200, 0 } }, 2, { { 200, 0, 1, 1 } }, 1 },
	{ "putting the same value still counts as a change",
	    { { PUT, 8, 80 } }, 1, { { 8, 80, 0, 0 } }, 1 },
	{ "keys come back sorted, whatever the order of changes",
	    { { PUT, UINT64_MAX, 1 }, { DEL, 9, 0 }, { ADD, 10, 1 },
	        { PUT, 0, 5 }, { PUT, 1ull << 63, 2 }, { DEL, 1, 0 },
	        { ADD, 3, -30 } },
	    7,
	    { { 0, 5, 0, 0 }, { 1, 0, 1, 0 }, { 3, 0, 0, 0 }, { 9, 0, 1, 0 },
	        { 10, 101, 0, 0 }, { 1ull << 63, 2, 0, 0 },
	        { UINT64_MAX, 1, 0, 0 } },
	    7 },
};

static int
kv_apply(struct sm_kvstate *s, const struct kv_step *st)
{
	switch (st->op) {
	case PUT:
		return kv_put(s, st->key, st->value);
	case ADD:
		return kv_add(s, st->key, st->value);
	case DEL:
		return kv_del(s, st->key);
	}
	return SM_EINVAL;
}

/* take_entries captures what s's changes as the task and its snapshot
 * writer do (take the delta, flatten it, sort the entries, free it),
 * decoded; *handed is the delta's length as handed over. */
static int
take_entries(struct sm_kvstate *s, struct kv_entry **e, size_t *n,
    size_t *handed)
{
	struct sm_kvdelta *d = NULL;
	struct sm_state_entry *flat = NULL;
	*e = NULL;
	*n = 0;
	int rv = sm_kvstate_take_delta(s, &d);
	if (rv == SM_OK) {
		if (handed != NULL)
			*handed = sm_kvdelta_len(d);
		rv = sm_kvdelta_flatten(d, &flat, n);
	}
	if (rv == SM_OK) {
		sm_kvstate_sort(flat, *n);
		*e = kv_decode(flat, *n);
		if (*e == NULL)
			rv = SM_EINVAL;
	}
	free(flat);
	sm_kvdelta_free(d);
	return rv;
}

/* live_entries: every live entry of s (sm_state_entries_of), decoded. */
static int
live_entries(struct sm_kvstate *s, struct kv_entry **e, size_t *n)
{
	struct sm_state_entry *all = NULL;
	int rv = sm_state_entries_of(&s->live, &all, n);
	if (rv == SM_OK && (*e = kv_decode(all, *n)) == NULL)
		rv = SM_EINVAL;
	free(all);
	return rv;
}

static int
kv_base(struct sm_kvstate *s)
{
	struct kv_entry *e = NULL;
	size_t n = 0;
	int rv = sm_kvstate_init(s);
	for (uint64_t k = 1; rv == SM_OK && k <= KV_BASE; k++)
		rv = kv_put(s, k, (int64_t) k * 10);
	if (rv == SM_OK)
		rv = take_entries(s, &e, &n, NULL);
	free(e);
	if (rv == SM_OK && n != KV_BASE)
		rv = SM_EINVAL;
	return rv;
}

/* delta_matches: e[0..n) is exactly the case's expected delta, in order. */
static int
delta_matches(const struct kv_case *c, const struct kv_entry *e,
    size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < c->n_want; i++) {
		const struct kv_want *w = &c->want[i];
		if (j < n && e[j].key == w->key) {
			if ((e[j].deleted != 0) != (w->deleted != 0) ||
			    (!w->deleted && e[j].count != w->count)) {
				fprintf(stderr,
				    "  %s: key %llu: got %s%lld, want "
				    "%s%lld\n",
				    c->what, (unsigned long long) w->key,
				    e[j].deleted ? "deleted " : "",
				    (long long) e[j].count,
				    w->deleted ? "deleted " : "",
				    (long long) w->count);
				return 0;
			}
			j++;
		} else if (!w->may_omit) {
			fprintf(stderr, "  %s: key %llu missing at %zu\n",
			    c->what, (unsigned long long) w->key, j);
			return 0;
		}
	}
	if (j != n) {
		fprintf(stderr,
		    "  %s: %zu entries, expected %zu (extra key "
		    "%llu)\n",
		    c->what, n, j, (unsigned long long) e[j].key);
		return 0;
	}
	return 1;
}

static void
kv_case_holds(const struct kv_case *c)
{
	struct sm_kvstate s;
	struct kv_entry *e = NULL, *e2 = NULL;
	size_t n = 0, n2 = 99, handed = 0;
	int ok = 0;
	if (kv_base(&s) != SM_OK) {
		fprintf(stderr, "  %s: setup failed\n", c->what);
		goto done;
	}
	for (size_t i = 0; i < c->n_steps; i++)
		if (kv_apply(&s, &c->steps[i]) != SM_OK)
			goto done;
	size_t changes = sm_kvstate_changes(&s);
	if (take_entries(&s, &e, &n, &handed) != SM_OK)
		goto done;
	ok = delta_matches(c, e, n);
	/* what changes() counted is what was handed over and flattened */
	if (ok && (changes != n || handed != n)) {
		fprintf(stderr,
		    "  %s: %zu changes counted, %zu handed over, %zu "
		    "flattened\n",
		    c->what, changes, handed, n);
		ok = 0;
	}
	if (ok && sm_kvstate_changes(&s) != 0) {
		fprintf(stderr, "  %s: changes left after the capture\n",
		    c->what);
		ok = 0;
	}
	/* the values handed over are the live ones */
	for (size_t i = 0; ok && i < n; i++) {
		int64_t v;
		int rv = kv_get(&s, e[i].key, &v);
		ok = e[i].deleted ? rv == SM_ENOTFOUND
		                  : rv == SM_OK && v == e[i].count;
	}
	/* nothing changed since: the next capture is empty */
	if (ok && (take_entries(&s, &e2, &n2, NULL) != SM_OK || n2 != 0)) {
		fprintf(stderr, "  %s: second capture has %zu entries\n",
		    c->what, n2);
		ok = 0;
	}
done:
	free(e);
	free(e2);
	sm_kvstate_fini(&s);
	if (!ok)
		T_FAIL_("case \"%s\"", c->what);
}

static void
a_capture_hands_over_exactly_the_changed_keys_with_current_values(void)
{
	for (size_t i = 0; i < N_OF(kv_cases); i++) {
		kv_case_holds(&kv_cases[i]);
		if (sm_test_failed)
			return;
	}
}

static void
a_key_changed_many_times_is_handed_over_once(void)
{
	enum { KEYS = 5000, TIMES = 20 };
	struct sm_kvstate s;
	struct kv_entry *e = NULL;
	size_t n = 0, handed = 0;
	T_OK(sm_kvstate_init(&s));
	for (int t = 0; t < TIMES; t++)
		for (uint64_t k = 0; k < KEYS; k++)
			T_OK(kv_add(&s, key_scrambled(k), 1));
	T_EQ_INT(sm_kvstate_changes(&s), KEYS);
	T_OK(take_entries(&s, &e, &n, &handed));
	int sorted = 1, right = 1;
	for (size_t i = 0; i < n; i++) {
		sorted &= i == 0 || e[i - 1].key < e[i].key;
		right &= !e[i].deleted && e[i].count == TIMES;
	}
	free(e);
	sm_kvstate_fini(&s);
	T_EQ_INT(n, KEYS);
	T_EQ_INT(handed, KEYS);
	T_TRUE(sorted);
	T_TRUE(right);
}

static void
forget_changes_empties_the_change_list_and_keeps_the_state(void)
{
	struct sm_kvstate s;
	struct kv_entry *e = NULL;
	size_t n = 99;
	int64_t v;
	T_OK(sm_kvstate_init(&s));
	for (uint64_t k = 0; k < 3000; k++)
		T_OK(kv_put(&s, k, (int64_t) k));
	T_OK(kv_del(&s, 17));
	T_EQ_INT(sm_kvstate_changes(&s), 3000);
	T_OK(sm_kvstate_forget_changes(&s));
	T_EQ_INT(sm_kvstate_changes(&s), 0);
	/* the state itself is untouched */
	T_EQ_INT(sm_kvstate_len(&s), 2999);
	T_OK(kv_get(&s, 2999, &v));
	T_EQ_INT(v, 2999);
	T_ERR(kv_get(&s, 17, &v), SM_ENOTFOUND);
	T_OK(take_entries(&s, &e, &n, NULL));
	free(e);
	T_EQ_INT(n, 0);
	/* changes after forgetting are tracked again, from scratch */
	T_OK(kv_put(&s, 5, 50));
	T_OK(take_entries(&s, &e, &n, NULL));
	int one = n == 1 && e[0].key == 5 && e[0].count == 50 && !e[0].deleted;
	free(e);
	sm_kvstate_fini(&s);
	T_TRUE(one);
}

static void
entries_of_the_live_map_list_every_key_sorted_and_leave_the_changes(void)
{
	struct sm_kvstate s;
	struct kv_entry *all = NULL, *e = NULL;
	size_t n_all = 0, n = 0;
	T_OK(sm_kvstate_init(&s));
	for (uint64_t k = 1; k <= 2000; k++)
		T_OK(kv_put(&s, key_scrambled(k), (int64_t) k));
	T_OK(take_entries(&s, &e, &n, NULL));
	free(e);
	T_OK(kv_del(&s, key_scrambled(1)));
	T_OK(kv_put(&s, key_scrambled(2), -2));
	/* what the count operator's full snapshot uses */
	T_OK(live_entries(&s, &all, &n_all));
	int ok = n_all == 1999;
	for (size_t i = 0; ok && i < n_all; i++) {
		int64_t v;
		ok = (i == 0 || all[i - 1].key < all[i].key) &&
		    !all[i].deleted &&
		    kv_get(&s, all[i].key, &v) == SM_OK &&
		    v == all[i].count &&
		    all[i].key_group == kg_of(all[i].key);
	}
	free(all);
	T_TRUE(ok);
	/* the two changes are still there for the next delta */
	T_EQ_INT(sm_kvstate_changes(&s), 2);
	T_OK(take_entries(&s, &e, &n, NULL));
	int both = n == 2 && e[0].key != e[1].key;
	for (size_t i = 0; both && i < n; i++)
		both = e[i].key == key_scrambled(1)
		    ? e[i].deleted != 0
		    : e[i].key == key_scrambled(2) && e[i].count == -2 &&
		        !e[i].deleted;
	free(e);
	sm_kvstate_fini(&s);
	T_TRUE(both);
}

/* ---- the test: sync-phase cost does not grow with state -------- */

#define TOUCHED 100

/* The same TOUCHED keys in every state size: 90 updated, 10 deleted; all
 * of them exist in the smallest state. */
static uint64_t
touched_key(size_t i)
{
	return (uint64_t) i * 97 + 13;
}

struct sync_cost {
	size_t n_handed;   /* entries in the delta taken */
	int same_table;    /* the delta taken is the table that recorded the
	                    * changes, not a copy of it */
	int fresh_table;   /* the state records into a new, empty table */
	size_t n_deleted;
};

static int
sync_cost_of(size_t total, struct sync_cost *out)
{
	struct sm_kvstate s;
	struct sm_kvdelta *d = NULL;
	struct sm_state_entry *e = NULL;
	size_t n = 0;
	int rv = sm_kvstate_init(&s);
	for (uint64_t k = 0; rv == SM_OK && k < total; k++)
		rv = kv_put(&s, k, 1);
	/* baseline: the first delta holds every key */
	if (rv == SM_OK)
		rv = sm_kvstate_take_delta(&s, &d);
	if (rv == SM_OK && sm_kvdelta_len(d) != total)
		rv = SM_EINVAL;
	sm_kvdelta_free(d);
	d = NULL;
	for (size_t i = 0; rv == SM_OK && i < TOUCHED; i++)
		rv = i % 10 == 9 ? kv_del(&s, touched_key(i))
		                 : kv_add(&s, touched_key(i), 5);
	const struct sm_keymap_slot *values_keys = s.delta.values.slot;
	const struct sm_keymap_slot *removed_keys = s.delta.removed.slot;
	if (rv == SM_OK)
		rv = sm_kvstate_take_delta(&s, &d);
	if (rv == SM_OK) {
		out->same_table = d->values.slot == values_keys &&
		    d->removed.slot == removed_keys;
		out->fresh_table = s.delta.values.slot != values_keys &&
		    s.delta.removed.slot != removed_keys &&
		    s.delta.values.len == 0 && s.delta.removed.len == 0;
		out->n_handed = sm_kvdelta_len(d);
		/* what the snapshot writer does with it, off the task's thread
		 */
		rv = sm_kvdelta_flatten(d, &e, &n);
	}
	if (rv == SM_OK) {
		out->n_deleted = 0;
		for (size_t i = 0; i < n; i++)
			out->n_deleted += e[i].deleted != 0;
		if (n != out->n_handed || sm_kvstate_changes(&s) != 0)
			rv = SM_EINVAL;
	}
	free(e);
	sm_kvdelta_free(d);
	sm_kvstate_fini(&s);
	return rv;
}

static void
taking_the_delta_copies_nothing_however_large_the_state(void)
{
	static const size_t totals[] = { 10000, 100000 };
	struct sync_cost c[2];
	for (size_t i = 0; i < 2; i++) {
		T_OK(sync_cost_of(totals[i], &c[i]));
		printf("  kvstate, %zu keys, %d touched: taking the delta "
		       "handed over %zu entries in %s\n",
		    totals[i], TOUCHED, c[i].n_handed,
		    c[i].same_table ? "the table that recorded them"
		                    : "a copy");
		T_EQ_INT(c[i].n_handed, TOUCHED);
		T_TRUE(c[i].same_table);
		T_TRUE(c[i].fresh_table);
		T_EQ_INT(c[i].n_deleted, TOUCHED / 10);
	}
}

/* Through the operator interface: the count operator of a parsed job. */
static const char count_job[] = "[job]\n"
                                "name = synccost\n"
                                "[stage source]\n"
                                "operator = gen\n"
                                "records = 1000\n"
                                "keys = 100\n"
                                "[stage counter]\n"
                                "operator = count\n"
                                "input = source hash\n";

struct op_cost {
	size_t n_entries; /* entries snapshot() handed over */
	uint64_t full_entries;
	int counts_right;
};

static int
op_sync_cost_of(const struct sm_job *job, size_t total, struct op_cost *out)
{
	enum { BATCH = 4096 };
	struct sm_op_ctx ctx = { .job = job,
		.stage = 1,
		.subtask = 0,
		.task = job->stages[1].first_task,
		.epoch = 1,
		.run_dir = "/nonexistent" };
	struct sm_op *op = NULL;
	/* records as gen sends them: the key 8 bytes big-endian */
	struct snapmark_record *recs = calloc(BATCH, sizeof(*recs));
	uint8_t(*keys)[8] = calloc(BATCH, sizeof(*keys));
	struct sm_snapshot_data d;
	struct sm_emitter none = { NULL, NULL,
		NULL }; /* count emits only at the end */
	int rv = recs == NULL || keys == NULL ? SM_ENOMEM
	                                      : sm_operator_open(&ctx, &op);
	/* warm-up: every key once */
	for (size_t k = 0; rv == SM_OK && k < total; k += BATCH) {
		size_t n = total - k < BATCH ? total - k : BATCH;
		for (size_t i = 0; i < n; i++) {
			sm_put_be64(keys[i], k + i);
			recs[i] = (struct snapmark_record) { .key = keys[i],
				.key_len = 8,
				.timestamp = (int64_t) (k + i) };
		}
		rv = op->ops->process(op, recs, n, &none);
	}
	if (rv == SM_OK) {
		memset(&d, 0, sizeof(d));
		rv = op->ops->snapshot(op, 1, &d);
		if (rv == SM_OK) {
			if (d.delta == NULL ||
			    sm_kvdelta_len(d.delta) != total)
				rv = SM_EINVAL;
			op->ops->snapshot_release(op, &d);
		}
	}
	/* 300 records over the same TOUCHED keys: key i gets 3 more */
	for (size_t i = 0; rv == SM_OK && i < 3 * TOUCHED; i++) {
		sm_put_be64(keys[i], touched_key(i % TOUCHED));
		recs[i] = (struct snapmark_record) { .key = keys[i],
			.key_len = 8,
			.timestamp = (int64_t) (total + i) };
	}
	if (rv == SM_OK)
		rv = op->ops->process(op, recs, 3 * TOUCHED, &none);
	if (rv == SM_OK) {
		memset(&d, 0, sizeof(d));
		rv = op->ops->snapshot(op, 2, &d);
		if (rv == SM_OK) {
			struct sm_state_entry *e = NULL;
			size_t n = 0;
			out->full_entries = d.full_entries;
			out->counts_right = d.incremental && d.delta != NULL &&
			    d.n_entries == 0 &&
			    sm_kvdelta_flatten(d.delta, &e, &n) == SM_OK;
			out->n_entries = n;
			for (size_t i = 0; i < n; i++)
				out->counts_right &= e[i].value_len == 8 &&
				    sm_counter_get(e[i].value) == 4 &&
				    !e[i].deleted && e[i].key_len == 8;
			free(e);
			op->ops->snapshot_release(op, &d);
		}
	}
	sm_operator_close(op);
	free(recs);
	free(keys);
	return rv;
}

static void
count_operator_snapshot_hands_over_only_the_keys_touched(void)
{
	static const size_t totals[] = { 10000, 100000 };
	struct sm_job job;
	char err[256];
	T_OK(sm_job_parse(count_job, "synccost.ini", &job, err, sizeof(err)));
	T_TRUE(job.stages[1].op == SM_OP_COUNT);
	struct op_cost c[2];
	for (size_t i = 0; i < 2; i++) {
		T_OK(op_sync_cost_of(&job, totals[i], &c[i]));
		printf("  count operator, %zu keys, %d touched: snapshot "
		       "handed over %zu entries\n",
		    totals[i], TOUCHED, c[i].n_entries);
		T_EQ_INT(c[i].n_entries, TOUCHED);
		T_EQ_INT(c[i].full_entries, totals[i]);
		T_TRUE(c[i].counts_right);
	}
	T_EQ_INT(c[1].n_entries, c[0].n_entries);
}

/* ---- byte keys and values in named states ------------------------------ */

static void
named_states_keep_the_same_key_apart(void)
{
	struct sm_kvstate s;
	const void *v;
	uint32_t len;
	uint32_t a, b;
	T_OK(sm_state_id("sessions", &a));
	T_OK(sm_state_id("totals", &b));
	T_TRUE(a != b && a < SM_STATE_RESERVED && b < SM_STATE_RESERVED);
	T_OK(sm_kvstate_init(&s));
	T_OK(sm_kvstate_put(&s, a, "user-1", 6, 3, "open", 4));
	T_OK(sm_kvstate_put(&s, b, "user-1", 6, 3, "17", 2));
	T_OK(sm_kvstate_get(&s, a, "user-1", 6, &v, &len));
	int a_right = len == 4 && memcmp(v, "open", 4) == 0;
	T_OK(sm_kvstate_get(&s, b, "user-1", 6, &v, &len));
	int b_right = len == 2 && memcmp(v, "17", 2) == 0;
	/* a key that is a prefix of another is another key */
	int prefix = sm_kvstate_get(&s, a, "user-", 5, &v, &len);
	T_OK(sm_kvstate_del(&s, a, "user-1", 6));
	int gone = sm_kvstate_get(&s, a, "user-1", 6, &v, &len);
	int kept = sm_kvstate_get(&s, b, "user-1", 6, &v, &len);
	size_t n_live = sm_kvstate_len(&s);
	struct sm_kvdelta *d = NULL;
	struct sm_state_entry *e = NULL;
	size_t n = 0;
	T_OK(sm_kvstate_take_delta(&s, &d));
	T_OK(sm_kvdelta_flatten(d, &e, &n));
	sm_kvstate_sort(e, n);
	/* the delta: the deletion in a, the value in b, each with its group */
	int delta_right = n == 2 && e[0].state == (a < b ? a : b) &&
	    e[0].key_group == 3 && e[1].key_group == 3;
	for (size_t i = 0; delta_right && i < n; i++)
		delta_right = e[i].state == a
		    ? e[i].deleted && e[i].value_len == 0
		    : !e[i].deleted && e[i].value_len == 2;
	free(e);
	sm_kvdelta_free(d);
	sm_kvstate_fini(&s);
	T_TRUE(a_right);
	T_TRUE(b_right);
	T_ERR(prefix, SM_ENOTFOUND);
	T_ERR(gone, SM_ENOTFOUND);
	T_OK(kept);
	T_EQ_INT(n_live, 1);
	T_TRUE(delta_right);
	/* a name whose CRC-32C falls in the reserved range is refused (this
	 * one was found by a search over "s0", "s1", ...) */
	uint32_t id = 7;
	T_ERR(sm_state_id("s2272071", &id), SM_EINVAL);
	T_EQ_INT(id, 7);
	T_OK(sm_state_id("s2272070", &id));
}

static void
empty_and_large_values_round_trip_and_grow_in_place(void)
{
	enum { BIG = 256u << 10 };
	struct sm_kvstate s;
	const void *v;
	uint32_t len;
	unsigned char *big = malloc(BIG + 1);
	T_TRUE(big != NULL);
	for (size_t i = 0; i < BIG + 1; i++)
		big[i] = (unsigned char) (i * 7 + 1);
	T_OK(sm_kvstate_init(&s));
	/* an empty value is a value, not an absence */
	T_OK(sm_kvstate_put(&s, 1, "k", 1, 0, NULL, 0));
	T_OK(sm_kvstate_get(&s, 1, "k", 1, &v, &len));
	T_EQ_INT(len, 0);
	/* an empty key is a key */
	T_OK(sm_kvstate_put(&s, 1, NULL, 0, 0, "e", 1));
	T_OK(sm_kvstate_get(&s, 1, "", 0, &v, &len));
	T_EQ_INT(len, 1);
	/* the value grows from empty to the largest, then shrinks */
	T_OK(sm_kvstate_put(&s, 1, "k", 1, 0, big, BIG));
	T_OK(sm_kvstate_get(&s, 1, "k", 1, &v, &len));
	T_EQ_INT(len, BIG);
	T_TRUE(memcmp(v, big, BIG) == 0);
	T_OK(sm_kvstate_put(&s, 1, "k", 1, 0, "short", 5));
	T_OK(sm_kvstate_get(&s, 1, "k", 1, &v, &len));
	T_TRUE(len == 5 && memcmp(v, "short", 5) == 0);
	/* past the bound: refused, the old value stays */
	T_ERR(sm_kvstate_put(&s, 1, "k", 1, 0, big, BIG + 1), SM_EINVAL);
	T_ERR(sm_kvstate_put(&s, 1, big, BIG + 1, 0, "x", 1), SM_EINVAL);
	T_OK(sm_kvstate_get(&s, 1, "k", 1, &v, &len));
	T_EQ_INT(len, 5);
	/* a counter is 8 bytes: adding to another value is refused */
	T_ERR(sm_kvstate_add(&s, 1, "k", 1, 0, 1, NULL), SM_EINVAL);
	int64_t now = 0;
	T_OK(sm_kvstate_add(&s, 1, "c", 1, 0, 40, &now));
	T_OK(sm_kvstate_add(&s, 1, "c", 1, 0, 2, &now));
	T_EQ_INT(now, 42);
	/* the delta carries the latest bytes of each */
	struct sm_kvdelta *d = NULL;
	struct sm_state_entry *e = NULL;
	size_t n = 0;
	T_OK(sm_kvstate_take_delta(&s, &d));
	T_OK(sm_kvdelta_flatten(d, &e, &n));
	sm_kvstate_sort(e, n);
	int right = n == 3 && e[0].key_len == 0 && e[1].key[0] == 'c' &&
	    sm_counter_get(e[1].value) == 42 && e[2].value_len == 5 &&
	    memcmp(e[2].value, "short", 5) == 0;
	free(e);
	sm_kvdelta_free(d);
	sm_kvstate_fini(&s);
	free(big);
	T_TRUE(right);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(keymap_put_get_and_del_round_trip),
	T(lookups_probe_past_tombstones_and_a_reinserted_key_starts_at_zero),
	T(growing_the_table_keeps_every_key_and_value),
	T(keys_that_differ_only_in_high_bits_still_spread_over_the_table),
	T(churning_deletes_and_inserts_keep_len_right_and_the_table_bounded),
	T(a_capture_hands_over_exactly_the_changed_keys_with_current_values),
	T(a_key_changed_many_times_is_handed_over_once),
	T(forget_changes_empties_the_change_list_and_keeps_the_state),
	T(entries_of_the_live_map_list_every_key_sorted_and_leave_the_changes),
	T(taking_the_delta_copies_nothing_however_large_the_state),
	T(count_operator_snapshot_hands_over_only_the_keys_touched),
	T(named_states_keep_the_same_key_apart),
	T(empty_and_large_values_round_trip_and_grow_in_place),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
