/*
 * test_store.c - the LMDB store: round trips, durability across reopen,
 * prefix ranges, atomicity, map growth on MDB_MAP_FULL and its cap, outside
 * readers (mdb_stat) and stale reader slots.
 *
 * Every test runs in a fresh directory under /tmp, removed afterwards.
 */
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/check.h"
#include "common/store.h"

/* ---- fixture: one fresh directory per test ---------------------------- */

static char tmp_root[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void) sb, (void) flag, (void) f;
	return remove(path);
}

/* STORE_TEST(name) defines name(void), which runs name_body(dir) with dir a
 * new directory below a fresh temp dir, then removes it all. */
#define STORE_TEST(name)                                                     \
	static void name##_body(const char *dir);                            \
	static void name(void)                                               \
	{                                                                    \
		char dir[128];                                               \
		strcpy(tmp_root, "/tmp/sm_store_XXXXXX");                    \
		if (mkdtemp(tmp_root) == NULL) {                             \
			perror("mkdtemp");                                   \
			sm_test_failed = 1;                                  \
			return;                                              \
		}                                                            \
		snprintf(dir, sizeof(dir), "%s/a/b/env", tmp_root);          \
		sm_store_fault_map_limit(0);                                 \
		name##_body(dir);                                            \
		sm_store_fault_map_limit(0);                                 \
		nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);          \
	}                                                                    \
	static void name##_body(const char *dir)

/* ---- small store functions the tests compose -------------------------- */

struct kv {
	const char *k;
	const char *v;
};

struct kvs {
	const struct kv *kv;
	int n;
	int fail_with; /* returned after the puts, to test atomicity */
};

static int
put_kvs(struct sm_txn *txn, void *arg)
{
	const struct kvs *a = arg;
	for (int i = 0; i < a->n; i++) {
		int rv = sm_txn_put(txn, a->kv[i].k, strlen(a->kv[i].k),
		    a->kv[i].v, strlen(a->kv[i].v));
		if (rv != SM_OK)
			return rv;
	}
	return a->fail_with;
}

static int
put_strings(struct sm_store *st, const struct kv *kv, int n)
{
	struct kvs a = { kv, n, SM_OK };
	return sm_store_write(st, put_kvs, &a);
}

struct get_arg {
	const char *key;
	char buf[256];
	size_t len;
};

static int
get_one(struct sm_txn *txn, void *arg)
{
	struct get_arg *g = arg;
	const void *v;
	size_t vlen;
	int rv = sm_txn_get(txn, g->key, strlen(g->key), &v, &vlen);
	if (rv != SM_OK)
		return rv;
	if (vlen >= sizeof(g->buf))
		return SM_EINVAL;
	memcpy(g->buf, v, vlen);
	g->buf[vlen] = '\0';
	g->len = vlen;
	return SM_OK;
}

/* get_string reads key into g (g->buf is a C string on success). */
static int
get_string(struct sm_store *st, const char *key, struct get_arg *g)
{
	g->key = key;
	return sm_store_read(st, get_one, g);
}

static int
del_one(struct sm_txn *txn, void *arg)
{
	const char *key = arg;
	return sm_txn_del(txn, key, strlen(key));
}

/* Keys (checkpoint, index) as two big-endian u64: numeric order. */
static void
ck_key(unsigned char key[16], uint64_t ckpt, uint64_t i)
{
	sm_be64_put(key, ckpt);
	sm_be64_put(key + 8, i);
}

struct fill {
	uint64_t ckpt;
	uint64_t count;
	size_t vlen; /* value bytes; the value is i repeated, see fill_val */
	int runs;    /* how often sm_store_write ran the function */
};

static void
fill_val(unsigned char *v, size_t vlen, uint64_t i)
{
	for (size_t j = 0; j < vlen; j++)
		v[j] = (unsigned char) (i * 31 + j);
}

/* put_fill writes count keys of checkpoint ckpt, in descending order so
 * LMDB cannot rely on appends. */
static int
put_fill(struct sm_txn *txn, void *arg)
{
	struct fill *f = arg;
	unsigned char key[16], val[4096];
	f->runs++;
	if (f->vlen > sizeof(val))
		return SM_EINVAL;
	for (uint64_t n = f->count; n-- > 0;) {
		ck_key(key, f->ckpt, n);
		fill_val(val, f->vlen, n);
		int rv = sm_txn_put(txn, key, sizeof(key), val, f->vlen);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

struct scan_acc {
	unsigned char prefix[16];
	size_t plen;
	uint64_t seen;
	uint64_t last_i;
	int bad;        /* wrong prefix, order or value */
	uint64_t stop_after; /* 0 = never stop */
	size_t vlen;    /* expected value length, 0 = do not check */
};

static int
scan_check(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct scan_acc *a = arg;
	const unsigned char *k = key;
	unsigned char expect[4096];
	if (klen != 16 || memcmp(k, a->prefix, a->plen) != 0)
		a->bad = 1;
	uint64_t i = sm_be64_get(k + 8);
	if (a->seen > 0 && klen == 16 && a->plen == 8 && i <= a->last_i)
		a->bad = 1;
	if (a->vlen != 0) {
		fill_val(expect, a->vlen, i);
		if (vlen != a->vlen || memcmp(val, expect, vlen) != 0)
			a->bad = 1;
	}
	a->last_i = i;
	a->seen++;
	if (a->stop_after != 0 && a->seen == a->stop_after)
		return 4242;
	return 0;
}

static int
scan_txn(struct sm_txn *txn, void *arg)
{
	struct scan_acc *a = arg;
	return sm_txn_scan(txn, a->prefix, a->plen, scan_check, a);
}

/* scan_ckpt scans prefix be64(ckpt) (or everything if all) into a. */
static int
scan_ckpt(struct sm_store *st, uint64_t ckpt, int all, struct scan_acc *a)
{
	memset(a->prefix, 0, sizeof(a->prefix));
	sm_be64_put(a->prefix, ckpt);
	a->plen = all ? 0 : 8;
	a->seen = 0;
	a->bad = 0;
	return sm_store_read(st, scan_txn, a);
}

struct del_arg {
	unsigned char prefix[8];
	size_t plen;
	uint64_t deleted;
};

static int
del_prefix_txn(struct sm_txn *txn, void *arg)
{
	struct del_arg *d = arg;
	return sm_txn_del_prefix(txn, d->prefix, d->plen, &d->deleted);
}

static int
run_quiet(const char *cmd)
{
	int status = system(cmd);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ---- the tests -------------------------------------------------------- */

STORE_TEST(put_get_del_round_trip_in_a_directory_open_creates)
{
	struct sm_store *st = NULL;
	struct get_arg g;
	static const struct kv kv[] = { { "alpha", "one" }, { "beta", "" } };

	T_OK(sm_store_open(dir, 0, 0, &st));
	T_EQ_STR(sm_store_path(st), dir);
	T_EQ_INT(sm_store_map_size(st), 64 << 20);
	T_OK(put_strings(st, kv, 2));
	T_OK(get_string(st, "alpha", &g));
	T_EQ_STR(g.buf, "one");
	T_OK(get_string(st, "beta", &g));
	T_EQ_INT(g.len, 0);

	static const struct kv again[] = { { "alpha", "uno" } };
	T_OK(put_strings(st, again, 1));
	T_OK(get_string(st, "alpha", &g));
	T_EQ_STR(g.buf, "uno");

	T_OK(sm_store_write(st, del_one, "alpha"));
	T_ERR(get_string(st, "alpha", &g), SM_ENOTFOUND);
	T_ERR(get_string(st, "gamma", &g), SM_ENOTFOUND);
	T_OK(sm_store_write(st, del_one, "gamma")); /* absent: still ok */
	sm_store_close(st);
	sm_store_close(NULL);
}

static int
put_in_read(struct sm_txn *txn, void *arg)
{
	return sm_txn_put(txn, "k", 1, "v", 1);
}

static int
put_long_key(struct sm_txn *txn, void *arg)
{
	static char key[600];
	memset(key, 'k', sizeof(key));
	return sm_txn_put(txn, key, sizeof(key), "v", 1);
}

STORE_TEST(bad_keys_and_writes_in_a_read_transaction_are_refused)
{
	struct sm_store *st = NULL;
	T_OK(sm_store_open(dir, 0, 0, &st));
	T_ERR(sm_store_read(st, put_in_read, NULL), SM_EINVAL);
	T_ERR(sm_store_write(st, put_long_key, NULL), SM_EINVAL);
	T_ERR(sm_store_write(st, del_one, ""), SM_EINVAL);
	sm_store_close(st);
}

STORE_TEST(values_survive_close_and_reopen_when_durable)
{
	struct sm_store *st = NULL;
	struct get_arg g;
	static const struct kv kv[] = { { "latest", "7" } };

	T_OK(sm_store_open(dir, 0, SM_STORE_DURABLE, &st));
	T_OK(put_strings(st, kv, 1));
	sm_store_close(st);
	T_OK(sm_store_open(dir, 0, SM_STORE_DURABLE, &st));
	T_OK(get_string(st, "latest", &g));
	T_EQ_STR(g.buf, "7");
	sm_store_close(st);
}

STORE_TEST(values_survive_close_and_reopen_without_durable_after_sync)
{
	struct sm_store *st = NULL;
	struct get_arg g;
	static const struct kv kv[] = { { "snap", "bytes" } };

	T_OK(sm_store_open(dir, 0, 0, &st));
	T_OK(put_strings(st, kv, 1));
	T_OK(sm_store_sync(st));
	sm_store_close(st);
	T_OK(sm_store_open(dir, 0, 0, &st));
	T_OK(get_string(st, "snap", &g));
	T_EQ_STR(g.buf, "bytes");
	sm_store_close(st);
}

STORE_TEST(scan_returns_the_keys_of_a_prefix_in_order_and_nothing_else)
{
	struct sm_store *st = NULL;
	struct scan_acc a = { .vlen = 8 };
	/* 255 and 256 straddle a byte boundary: memcmp order must still be
	 * numeric order with big-endian keys. */
	uint64_t ckpts[] = { 256, 2, 255, 1, 3 };

	T_OK(sm_store_open(dir, 0, 0, &st));
	for (int c = 0; c < 5; c++) {
		struct fill f = { ckpts[c], 300, 8, 0 };
		T_OK(sm_store_write(st, put_fill, &f));
	}
	for (int c = 0; c < 5; c++) {
		T_OK(scan_ckpt(st, ckpts[c], 0, &a));
		T_EQ_INT(a.seen, 300);
		T_EQ_INT(a.last_i, 299);
		T_EQ_INT(a.bad, 0);
	}
	T_OK(scan_ckpt(st, 4, 0, &a)); /* no such checkpoint */
	T_EQ_INT(a.seen, 0);
	T_OK(scan_ckpt(st, 1u << 20, 0, &a)); /* beyond the last key */
	T_EQ_INT(a.seen, 0);

	/* Empty prefix: everything, in (checkpoint, index) order. */
	struct scan_acc all = { .vlen = 8 };
	T_OK(scan_ckpt(st, 0, 1, &all));
	T_EQ_INT(all.seen, 1500);
	T_EQ_INT(all.bad, 0);
	T_EQ_INT(all.last_i, 299);

	/* A non-zero return stops the scan and is returned. */
	struct scan_acc stop = { .stop_after = 10 };
	T_EQ_INT(scan_ckpt(st, 2, 0, &stop), 4242);
	T_EQ_INT(stop.seen, 10);
	sm_store_close(st);
}

struct newest_acc {
	unsigned char prefix[8];
	size_t max;
	uint64_t got[400];
	size_t n;
	int bad; /* a key outside the prefix */
};

static int
newest_one(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct newest_acc *a = arg;
	if (klen != 16 || memcmp(key, a->prefix, 8) != 0 || a->n >= 400)
		a->bad = 1;
	else
		a->got[a->n++] = sm_be64_get((const unsigned char *) key + 8);
	return 0;
}

static int
newest_txn(struct sm_txn *txn, void *arg)
{
	struct newest_acc *a = arg;
	return sm_txn_scan_newest(txn, a->prefix, 8, a->max, newest_one, a);
}

/* scan_newest: the indices sm_txn_scan_newest finds under ckpt, into a. */
static int
scan_newest(struct sm_store *st, uint64_t ckpt, size_t max,
    struct newest_acc *a)
{
	memset(a, 0, sizeof(*a));
	sm_be64_put(a->prefix, ckpt);
	a->max = max;
	return sm_store_read(st, newest_txn, a);
}

STORE_TEST(scan_newest_returns_the_greatest_keys_of_a_prefix_first)
{
	struct sm_store *st = NULL;
	struct newest_acc a;
	/* UINT64_MAX: a prefix of 0xff bytes has no key after its range. */
	uint64_t ckpts[] = { 256, 2, 255, 1, UINT64_MAX };
	T_OK(sm_store_open(dir, 0, 0, &st));
	for (int c = 0; c < 5; c++) {
		struct fill f = { ckpts[c], 300, 8, 0 };
		T_OK(sm_store_write(st, put_fill, &f));
	}
	for (int c = 0; c < 5; c++) {
		T_OK(scan_newest(st, ckpts[c], 5, &a));
		T_EQ_INT(a.n, 5);
		T_EQ_INT(a.bad, 0);
		for (size_t i = 0; i < a.n; i++)
			T_EQ_INT(a.got[i], 299 - i);
		T_OK(scan_newest(st, ckpts[c], 1000, &a));
		T_EQ_INT(a.n, 300);
		T_EQ_INT(a.got[299], 0);
		T_EQ_INT(a.bad, 0);
	}
	T_OK(scan_newest(st, 3, 10, &a)); /* between two prefixes */
	T_EQ_INT(a.n, 0);
	T_OK(scan_newest(st, 0, 10, &a)); /* before the first key */
	T_EQ_INT(a.n, 0);
	T_OK(scan_newest(st, 1u << 20, 10, &a)); /* between 256 and the last */
	T_EQ_INT(a.n, 0);
	sm_store_close(st);
}

STORE_TEST(del_prefix_removes_exactly_that_range_and_counts_it)
{
	struct sm_store *st = NULL;
	struct scan_acc a = { .vlen = 100 };
	struct del_arg d = { .plen = 8 };

	T_OK(sm_store_open(dir, 0, 0, &st));
	/* 3000 keys of 100 bytes per checkpoint span many leaf pages, so
	 * deletion crosses page boundaries. */
	for (uint64_t c = 1; c <= 3; c++) {
		struct fill f = { c, 3000, 100, 0 };
		T_OK(sm_store_write(st, put_fill, &f));
	}
	sm_be64_put(d.prefix, 2);
	T_OK(sm_store_write(st, del_prefix_txn, &d));
	T_EQ_INT(d.deleted, 3000);

	T_OK(scan_ckpt(st, 2, 0, &a));
	T_EQ_INT(a.seen, 0);
	T_OK(scan_ckpt(st, 1, 0, &a));
	T_EQ_INT(a.seen, 3000);
	T_EQ_INT(a.bad, 0);
	T_OK(scan_ckpt(st, 3, 0, &a));
	T_EQ_INT(a.seen, 3000);
	T_EQ_INT(a.bad, 0);

	T_OK(sm_store_write(st, del_prefix_txn, &d)); /* nothing left */
	T_EQ_INT(d.deleted, 0);

	d.plen = 0; /* empty prefix: everything */
	T_OK(sm_store_write(st, del_prefix_txn, &d));
	T_EQ_INT(d.deleted, 6000);
	T_OK(scan_ckpt(st, 0, 1, &a));
	T_EQ_INT(a.seen, 0);
	sm_store_close(st);
}

STORE_TEST(a_write_whose_function_fails_leaves_nothing_behind)
{
	struct sm_store *st = NULL;
	struct get_arg g;
	static const struct kv before[] = { { "a", "old" } };
	static const struct kv kv[] = { { "a", "new" }, { "b", "2" },
		{ "c", "3" } };
	struct kvs args = { kv, 3, SM_ECORRUPT };

	T_OK(sm_store_open(dir, 0, 0, &st));
	T_OK(put_strings(st, before, 1));
	T_ERR(sm_store_write(st, put_kvs, &args), SM_ECORRUPT);
	T_OK(get_string(st, "a", &g));
	T_EQ_STR(g.buf, "old");
	T_ERR(get_string(st, "b", &g), SM_ENOTFOUND);
	T_ERR(get_string(st, "c", &g), SM_ENOTFOUND);
	sm_store_close(st);
}

/* 4096 values of 1000 bytes: about 4 MiB in one transaction. */
#define BIG_COUNT 4096
#define BIG_VLEN 1000

STORE_TEST(a_full_map_grows_and_the_whole_write_is_kept)
{
	struct sm_store *st = NULL;
	struct fill f = { 9, BIG_COUNT, BIG_VLEN, 0 };
	struct scan_acc a = { .vlen = BIG_VLEN };

	T_OK(sm_store_open(dir, 64 << 10, 0, &st));
	size_t before = sm_store_map_size(st);
	T_TRUE(before < (size_t) 1 << 20);
	T_OK(sm_store_write(st, put_fill, &f));
	T_TRUE(f.runs > 1); /* it did hit MDB_MAP_FULL and ran again */
	T_TRUE(sm_store_map_size(st) > before);
	T_TRUE(sm_store_map_size(st) >= (size_t) BIG_COUNT * BIG_VLEN);
	T_OK(scan_ckpt(st, 9, 0, &a));
	T_EQ_INT(a.seen, BIG_COUNT);
	T_EQ_INT(a.last_i, BIG_COUNT - 1);
	T_EQ_INT(a.bad, 0);
	size_t grown = sm_store_map_size(st);
	sm_store_close(st);

	/* Reopening with the small size keeps the size it grew to. */
	T_OK(sm_store_open(dir, 64 << 10, 0, &st));
	T_EQ_INT(sm_store_map_size(st), grown);
	T_OK(scan_ckpt(st, 9, 0, &a));
	T_EQ_INT(a.seen, BIG_COUNT);
	sm_store_close(st);
}

STORE_TEST(a_write_beyond_the_map_cap_fails_whole_and_the_store_still_works)
{
	struct sm_store *st = NULL;
	struct fill big = { 9, BIG_COUNT, BIG_VLEN, 0 };
	struct fill small = { 1, 10, 16, 0 };
	struct scan_acc a = { .vlen = BIG_VLEN };
	struct scan_acc s = { .vlen = 16 };

	sm_store_fault_map_limit(256 << 10);
	T_OK(sm_store_open(dir, 64 << 10, 0, &st));
	T_ERR(sm_store_write(st, put_fill, &big), SM_EMAPFULL);
	T_TRUE(big.runs > 1);
	T_TRUE(sm_store_map_size(st) <= 256 << 10);
	T_OK(scan_ckpt(st, 9, 0, &a));
	T_EQ_INT(a.seen, 0);

	T_OK(sm_store_write(st, put_fill, &small));
	T_OK(scan_ckpt(st, 1, 0, &s));
	T_EQ_INT(s.seen, 10);
	T_EQ_INT(s.bad, 0);

	/* Lifting the cap lets the same write through on the same store. */
	sm_store_fault_map_limit(0);
	T_OK(sm_store_write(st, put_fill, &big));
	T_OK(scan_ckpt(st, 9, 0, &a));
	T_EQ_INT(a.seen, BIG_COUNT);
	T_EQ_INT(a.bad, 0);
	sm_store_close(st);
}

STORE_TEST(a_map_grown_by_another_process_is_adopted)
{
	struct sm_store *st = NULL, *other = NULL;
	struct fill big = { 5, BIG_COUNT, BIG_VLEN, 0 };
	struct fill small = { 1, 10, 16, 0 };
	struct scan_acc a = { .vlen = BIG_VLEN };
	char odir[128], cmd[400];

	/* A dump of a big environment, whose header asks for its map size. */
	snprintf(odir, sizeof(odir), "%s/other", tmp_root);
	T_OK(sm_store_open(odir, 64 << 10, 0, &other));
	T_OK(sm_store_write(other, put_fill, &big));
	sm_store_close(other);

	T_OK(sm_store_open(dir, 64 << 10, 0, &st));
	T_OK(sm_store_write(st, put_fill, &small));
	size_t before = sm_store_map_size(st);
	/* mdb_load, another process, grows the map of our open env and
	 * writes beyond our map: our next transaction meets
	 * MDB_MAP_RESIZED. */
	snprintf(cmd, sizeof(cmd), "mdb_dump %s | mdb_load %s 2>/dev/null",
	    odir, dir);
	T_EQ_INT(run_quiet(cmd), 0);
	T_OK(scan_ckpt(st, 5, 0, &a));
	T_EQ_INT(a.seen, BIG_COUNT);
	T_EQ_INT(a.bad, 0);
	T_TRUE(sm_store_map_size(st) > before);
	T_OK(sm_store_write(st, put_fill, &small));
	sm_store_close(st);
}

struct reader {
	struct sm_store *st;
	int *stop;
	int errors;
	long reads;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct get_arg g;
	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		if (get_string(r->st, "anchor", &g) != SM_OK ||
		    strcmp(g.buf, "here") != 0)
			r->errors++;
		r->reads++;
	}
	return NULL;
}

STORE_TEST(reads_in_other_threads_stay_correct_while_the_map_grows)
{
	struct sm_store *st = NULL;
	static const struct kv kv[] = { { "anchor", "here" } };
	struct reader r[2];
	pthread_t th[2];
	int stop = 0, rv = SM_OK;

	T_OK(sm_store_open(dir, 64 << 10, 0, &st));
	T_OK(put_strings(st, kv, 1));
	for (int i = 0; i < 2; i++) {
		r[i] = (struct reader) { st, &stop, 0, 0 };
		T_TRUE(pthread_create(&th[i], NULL, reader_main, &r[i]) == 0);
	}
	/* Each write grows the map several times under the readers. */
	for (uint64_t c = 1; c <= 4 && rv == SM_OK; c++) {
		struct fill f = { c, BIG_COUNT / 2, BIG_VLEN, 0 };
		rv = sm_store_write(st, put_fill, &f);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	T_OK(rv);
	for (int i = 0; i < 2; i++) {
		T_EQ_INT(r[i].errors, 0);
		T_TRUE(r[i].reads > 0);
	}
	T_TRUE(sm_store_map_size(st) >= (size_t) 8 << 20);
	sm_store_close(st);
}

STORE_TEST(the_environment_is_readable_by_mdb_stat)
{
	struct sm_store *st = NULL;
	static const struct kv kv[] = { { "a", "1" }, { "b", "2" },
		{ "c", "3" } };
	char cmd[300];

	T_OK(sm_store_open(dir, 0, 0, &st));
	T_OK(put_strings(st, kv, 3));
	T_OK(sm_store_sync(st));
	/* While open (mdb_stat is just another reader process) ... */
	snprintf(cmd, sizeof(cmd),
	    "mdb_stat %s | grep -q 'Entries: 3'", dir);
	T_EQ_INT(run_quiet(cmd), 0);
	sm_store_close(st);
	/* ... and after close. */
	snprintf(cmd, sizeof(cmd), "mdb_stat %s >/dev/null", dir);
	T_EQ_INT(run_quiet(cmd), 0);
}

STORE_TEST(the_stale_reader_check_at_open_passes_on_a_fresh_env)
{
	struct sm_store *st = NULL;
	T_OK(sm_store_open(dir, 0, 0, &st));
	sm_store_close(st);
	T_OK(sm_store_open(dir, 0, 0, &st));
	sm_store_close(st);
}

/* child_open_env opens dir with liblmdb in a forked child (this process
 * has no env open across the fork). With hold_fd >= 0 it keeps the env open
 * until hold_fd reaches EOF (it closes its copy of the write end, other_fd);
 * otherwise it starts a read transaction and dies inside it, leaving its
 * reader slot behind. */
static pid_t
child_open_env(const char *dir, int ready_fd, int hold_fd, int other_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (other_fd >= 0)
		close(other_fd);
	MDB_env *env;
	MDB_txn *txn;
	char c = 'r';
	if (mdb_env_create(&env) != 0 ||
	    mdb_env_open(env, dir, MDB_NOTLS, 0644) != 0)
		_exit(1);
	if (hold_fd < 0) {
		_exit(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0);
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	while (read(hold_fd, &c, 1) > 0)
		;
	mdb_env_close(env);
	_exit(0);
}

/* reader_listed says whether mdb_stat -r lists a reader slot of pid. */
static int
reader_listed(const char *dir, pid_t pid)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd),
	    "mdb_stat -r %s | awk '$1 == %d { f = 1 } END { exit !f }'", dir,
	    (int) pid);
	return run_quiet(cmd) == 0;
}

STORE_TEST(open_clears_the_reader_slot_of_a_dead_process)
{
	struct sm_store *st = NULL;
	int ready[2], hold[2], status;
	char c;

	T_OK(sm_store_open(dir, 0, 0, &st));
	sm_store_close(st);

	/* LMDB resets the reader table when the first process opens an env,
	 * so a slot only stays stale while some other process keeps the env
	 * open: the holder. The dier then starts a read transaction and
	 * exits inside it. */
	T_TRUE(pipe(ready) == 0 && pipe(hold) == 0);
	pid_t holder = child_open_env(dir, ready[1], hold[0], hold[1]);
	T_TRUE(holder > 0);
	close(hold[0]);
	close(ready[1]); /* a holder that fails gives EOF, not a hang */
	T_TRUE(read(ready[0], &c, 1) == 1);
	pid_t dier = child_open_env(dir, -1, -1, -1);
	T_TRUE(dier > 0);
	T_TRUE(waitpid(dier, &status, 0) == dier);
	T_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_TRUE(reader_listed(dir, dier));

	T_OK(sm_store_open(dir, 0, 0, &st)); /* logs: cleared 1 stale reader */
	T_TRUE(!reader_listed(dir, dier));
	sm_store_close(st);

	close(hold[1]);
	close(ready[0]);
	T_TRUE(waitpid(holder, &status, 0) == holder);
	T_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
be64_round_trips_in_big_endian_byte_order(void)
{
	unsigned char b[8];
	sm_be64_put(b, 0x0102030405060708ull);
	for (int i = 0; i < 8; i++)
		T_EQ_INT(b[i], i + 1);
	T_TRUE(sm_be64_get(b) == 0x0102030405060708ull);
	sm_be64_put(b, UINT64_MAX);
	T_TRUE(sm_be64_get(b) == UINT64_MAX);

	unsigned char lo[8], hi[8];
	sm_be64_put(lo, 255);
	sm_be64_put(hi, 256);
	T_TRUE(memcmp(lo, hi, 8) < 0);
}

/* SM_STORE_EXISTING opens what is there and creates nothing where
 * nothing is: a restore from a stale location leaves no empty store. */
STORE_TEST(existing_opens_only_a_store_that_is_there)
{
	struct sm_store *st = NULL;
	struct stat sb;
	T_ERR(sm_store_open(dir, 0, SM_STORE_EXISTING, &st), SM_ENOTFOUND);
	T_TRUE(stat(dir, &sb) != 0);
	T_TRUE(stat(tmp_root, &sb) == 0);
	T_OK(sm_store_open(dir, 0, 0, &st)); /* creates, 0700 / 0600 */
	T_TRUE(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	char data[512];
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	T_TRUE(stat(data, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	const struct kv kv[] = { { "k", "v" } };
	T_OK(put_strings(st, kv, 1));
	T_OK(sm_store_sync(st));
	sm_store_close(st);
	st = NULL;
	T_OK(sm_store_open(dir, 0, SM_STORE_EXISTING, &st));
	struct get_arg g;
	T_OK(get_string(st, "k", &g));
	T_TRUE(strcmp(g.buf, "v") == 0);
	sm_store_close(st);
	/* A directory without data.mdb is not a store either. */
	char empty[256];
	snprintf(empty, sizeof(empty), "%s/empty", tmp_root);
	T_TRUE(mkdir(empty, 0700) == 0);
	st = NULL;
	T_ERR(sm_store_open(empty, 0, SM_STORE_EXISTING, &st), SM_ENOTFOUND);
	snprintf(data, sizeof(data), "%s/data.mdb", empty);
	T_TRUE(stat(data, &sb) != 0);
}

static const struct sm_test tests[] = {
	{ "existing_opens_only_a_store_that_is_there",
	    existing_opens_only_a_store_that_is_there },
	{ "put_get_del_round_trip_in_a_directory_open_creates",
	    put_get_del_round_trip_in_a_directory_open_creates },
	{ "bad_keys_and_writes_in_a_read_transaction_are_refused",
	    bad_keys_and_writes_in_a_read_transaction_are_refused },
	{ "values_survive_close_and_reopen_when_durable",
	    values_survive_close_and_reopen_when_durable },
	{ "values_survive_close_and_reopen_without_durable_after_sync",
	    values_survive_close_and_reopen_without_durable_after_sync },
	{ "scan_returns_the_keys_of_a_prefix_in_order_and_nothing_else",
	    scan_returns_the_keys_of_a_prefix_in_order_and_nothing_else },
	{ "scan_newest_returns_the_greatest_keys_of_a_prefix_first",
	    scan_newest_returns_the_greatest_keys_of_a_prefix_first },
	{ "del_prefix_removes_exactly_that_range_and_counts_it",
	    del_prefix_removes_exactly_that_range_and_counts_it },
	{ "a_write_whose_function_fails_leaves_nothing_behind",
	    a_write_whose_function_fails_leaves_nothing_behind },
	{ "a_full_map_grows_and_the_whole_write_is_kept",
	    a_full_map_grows_and_the_whole_write_is_kept },
	{ "a_write_beyond_the_map_cap_fails_whole_and_the_store_still_works",
	    a_write_beyond_the_map_cap_fails_whole_and_the_store_still_works },
	{ "a_map_grown_by_another_process_is_adopted",
	    a_map_grown_by_another_process_is_adopted },
	{ "reads_in_other_threads_stay_correct_while_the_map_grows",
	    reads_in_other_threads_stay_correct_while_the_map_grows },
	{ "the_environment_is_readable_by_mdb_stat",
	    the_environment_is_readable_by_mdb_stat },
	{ "the_stale_reader_check_at_open_passes_on_a_fresh_env",
	    the_stale_reader_check_at_open_passes_on_a_fresh_env },
	{ "open_clears_the_reader_slot_of_a_dead_process",
	    open_clears_the_reader_slot_of_a_dead_process },
	{ "be64_round_trips_in_big_endian_byte_order",
	    be64_round_trips_in_big_endian_byte_order },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
