/*
 * test_timers.c - the timer service (worker/timers.h): timers pop in
 * (time, key) order, setting one twice sets one, deleted ones never fire,
 * only due ones pop; and because timers are keyed state entries, they
 * survive a snapshot and restore through the real snapshot code (a full
 * snapshot and a delta on it, deletions included) and split by key group
 * on a rescale.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "common/jobfile.h"
#include "common/keygroup.h"
#include "common/snapshot.h"
#include "common/store.h"
#include "worker/kvstate.h"
#include "worker/timers.h"

#define MAXP 128
#define TASK 2u

static uint32_t
kg(const char *key)
{
	return (uint32_t) sm_key_group_bytes(key, (uint32_t) strlen(key),
	    MAXP);
}

static int
set(struct sm_timers *t, int domain, const char *key, int64_t time)
{
	return sm_timers_set(t, domain, key, (uint32_t) strlen(key), kg(key),
	    time);
}

/* pop_all writes "KEY@TIME " for every timer of domain due by upto, in
 * the order they pop, into buf. */
static int
pop_all(struct sm_timers *t, int domain, int64_t upto, char *buf,
    size_t len)
{
	struct sm_timer due;
	int rv;
	size_t used = 0;
	buf[0] = '\0';
	while ((rv = sm_timers_pop(t, domain, upto, &due)) == SM_OK) {
		if (due.key_group != (uint32_t) sm_key_group_bytes(due.key,
		                        due.key_len, MAXP))
			return SM_EINVAL;
		int n = snprintf(buf + used, len - used, "%.*s@%lld ",
		    (int) due.key_len, (const char *) due.key,
		    (long long) due.time);
		if (n < 0 || (size_t) n >= len - used)
			return SM_EINVAL;
		used += (size_t) n;
	}
	return rv == SM_ENOTFOUND ? SM_OK : rv;
}

static void
timers_pop_in_time_then_key_order_and_only_when_due(void)
{
	struct sm_kvstate kv;
	struct sm_timers t;
	char got[512];
	T_OK(sm_kvstate_init(&kv));
	T_OK(sm_timers_init(&t, &kv));
	T_OK(set(&t, 0, "b", 20));
	T_OK(set(&t, 0, "a", 20));
	T_OK(set(&t, 0, "c", -5)); /* negative times sort first */
	T_OK(set(&t, 0, "ab", 20));
	T_OK(set(&t, 0, "z", 10));
	T_OK(set(&t, 0, "late", INT64_MAX));
	T_OK(set(&t, 1, "a", 1)); /* the other domain: apart */
	T_OK(pop_all(&t, 0, 9, got, sizeof(got)));
	T_EQ_STR(got, "c@-5 ");
	T_OK(pop_all(&t, 0, 20, got, sizeof(got)));
	T_EQ_STR(got, "z@10 a@20 ab@20 b@20 ");
	T_OK(pop_all(&t, 0, 1000, got, sizeof(got)));
	T_EQ_STR(got, "");
	T_EQ_INT(sm_timers_count(&t, 0), 1);
	T_EQ_INT(sm_timers_count(&t, 1), 1);
	T_OK(pop_all(&t, 1, 1, got, sizeof(got)));
	T_EQ_STR(got, "a@1 ");
	T_OK(pop_all(&t, 0, INT64_MAX, got, sizeof(got)));
	T_EQ_STR(got, "late@9223372036854775807 ");
	/* popped timers are gone from the state too */
	T_EQ_INT(sm_kvstate_len(&kv), 0);
	T_ERR(sm_timers_set(&t, 2, "a", 1, 0, 1), SM_EINVAL);
	sm_timers_fini(&t);
	sm_kvstate_fini(&kv);
}

static void
setting_twice_sets_one_and_deleted_timers_never_fire(void)
{
	struct sm_kvstate kv;
	struct sm_timers t;
	char got[512];
	T_OK(sm_kvstate_init(&kv));
	T_OK(sm_timers_init(&t, &kv));
	T_OK(set(&t, 0, "k", 5));
	T_OK(set(&t, 0, "k", 5));
	T_OK(set(&t, 0, "k", 6)); /* another time: another timer */
	T_EQ_INT(sm_timers_count(&t, 0), 2);
	T_OK(sm_timers_delete(&t, 0, "k", 1, 6));
	T_OK(sm_timers_delete(&t, 0, "k", 1, 7)); /* never set: no-op */
	T_OK(sm_timers_delete(&t, 1, "k", 1, 5)); /* other domain */
	T_EQ_INT(sm_timers_count(&t, 0), 1);
	/* deleted, then set again: fires once */
	T_OK(sm_timers_delete(&t, 0, "k", 1, 5));
	T_OK(set(&t, 0, "k", 5));
	T_OK(pop_all(&t, 0, 100, got, sizeof(got)));
	T_EQ_STR(got, "k@5 ");
	/* a fired timer set again fires again */
	T_OK(set(&t, 0, "k", 5));
	T_OK(pop_all(&t, 0, 100, got, sizeof(got)));
	T_EQ_STR(got, "k@5 ");
	sm_timers_fini(&t);
	sm_kvstate_fini(&kv);
}

/* ---- through the snapshot code ------------------------------------------ */

static char tmp_root[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void) sb, (void) flag, (void) f;
	return remove(path);
}

/* snapshot_full writes every live entry of kv as snapshot id. */
static int
snapshot_full(struct sm_store *st, struct sm_kvstate *kv, uint64_t id,
    struct sm_snapshot_info *info)
{
	struct sm_snapshot_data d = { 0 };
	int rv = sm_state_entries_of(&kv->live, &d.entries, &d.n_entries);
	if (rv == SM_OK)
		rv = sm_snapshot_write(st, TASK, "t.0", 1, id, &d, info);
	free(d.entries);
	if (rv == SM_OK)
		rv = sm_kvstate_forget_changes(kv);
	return rv;
}

/* snapshot_delta writes kv's changes as snapshot id on chain [base]. */
static int
snapshot_delta(struct sm_store *st, struct sm_kvstate *kv, uint64_t id,
    uint64_t base, uint32_t base_sum, struct sm_snapshot_info *info)
{
	struct sm_kvdelta *delta = NULL;
	struct sm_snapshot_data d = { .n_chain = 1,
		.chain = &base,
		.chain_checksums = &base_sum };
	int rv = sm_kvstate_take_delta(kv, &delta);
	if (rv == SM_OK)
		rv = sm_kvdelta_flatten(delta, &d.entries, &d.n_entries);
	if (rv == SM_OK) {
		sm_kvstate_sort(d.entries, d.n_entries);
		rv = sm_snapshot_write(st, TASK, "t.0", 1, id, &d, info);
	}
	free(d.entries);
	sm_kvdelta_free(delta);
	return rv;
}

/* restore: kv and t (fresh) from snapshot id, keeping the key groups
 * subtask `sub` of `par` owns. */
static int
restore(struct sm_store *st, uint64_t id, uint32_t sum, int sub, int par,
    struct sm_kvstate *kv, struct sm_timers *t)
{
	struct sm_snapshot_data d;
	char why[256];
	int rv = sm_snapshot_read(st, TASK, id, sum, &d, why, sizeof(why));
	if (rv != SM_OK) {
		fprintf(stderr, "  restore %llu: %s\n", (unsigned long long) id,
		    why);
		return rv;
	}
	d.n_entries = sm_state_keep_owned(d.entries, d.n_entries, MAXP, par,
	    sub);
	rv = sm_kvstate_init(kv);
	if (rv == SM_OK)
		rv = sm_kvstate_load(kv, d.entries, d.n_entries);
	if (rv == SM_OK)
		rv = sm_timers_init(t, kv);
	if (rv == SM_OK)
		rv = sm_timers_rebuild(t);
	sm_snapshot_data_free(&d);
	return rv;
}

static void
timers_survive_a_snapshot_and_restore_and_split_by_key_group(void)
{
	enum { KEYS = 400 };
	struct sm_kvstate kv, kv2, part[2];
	struct sm_timers t, t2, tp[2];
	struct sm_store *st = NULL;
	struct sm_snapshot_info full, delta;
	static char want[KEYS * 24], got[KEYS * 24], split[2][KEYS * 24];
	char key[32], dir[128];
	strcpy(tmp_root, "/tmp/sm_timers_XXXXXX");
	T_TRUE(mkdtemp(tmp_root) != NULL);
	snprintf(dir, sizeof(dir), "%s/t.0", tmp_root);
	T_OK(sm_store_open(dir, 0, 0, &st));
	T_OK(sm_kvstate_init(&kv));
	T_OK(sm_timers_init(&t, &kv));
	/* other keyed state next to the timers: not a timer */
	T_OK(sm_kvstate_put(&kv, 77, "user", 4, kg("user"), "x", 1));
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "key-%03d", i);
		T_OK(set(&t, 0, key, (i * 37) % 101));
		T_OK(set(&t, 1, key, 1000 + i));
	}
	T_OK(snapshot_full(st, &kv, 1, &full));
	/* after the full snapshot: every 4th event timer deleted, new ones
	 * set - the delta carries both */
	for (int i = 0; i < KEYS; i += 4) {
		snprintf(key, sizeof(key), "key-%03d", i);
		T_OK(sm_timers_delete(&t, 0, key, (uint32_t) strlen(key),
		    (i * 37) % 101));
		T_OK(set(&t, 0, key, 500 + i));
	}
	T_OK(snapshot_delta(st, &kv, 2, 1, full.checksum, &delta));
	T_TRUE(delta.entries > 0 && delta.entries < full.entries);

	/* restored whole: the same timers pop in the same order */
	T_OK(restore(st, 2, delta.checksum, 0, 1, &kv2, &t2));
	T_OK(pop_all(&t, 0, INT64_MAX, want, sizeof(want)));
	T_OK(pop_all(&t2, 0, INT64_MAX, got, sizeof(got)));
	T_TRUE(strlen(want) > 0);
	T_EQ_STR(got, want);
	T_EQ_INT(sm_timers_count(&t2, 1), KEYS);
	const void *v;
	uint32_t vlen;
	T_OK(sm_kvstate_get(&kv2, 77, "user", 4, &v, &vlen));

	/* split over 2 subtasks: each gets the timers of its key groups,
	 * together all of them, none twice */
	size_t n_proc = 0, wrong = 0;
	for (int sub = 0; sub < 2; sub++) {
		T_OK(restore(st, 2, delta.checksum, sub, 2, &part[sub],
		    &tp[sub]));
		n_proc += sm_timers_count(&tp[sub], 1);
		struct sm_timer due;
		while (sm_timers_pop(&tp[sub], 1, INT64_MAX, &due) == SM_OK)
			wrong += sm_job_key_group_owner((int) due.key_group,
			             MAXP, 2) != sub;
		T_OK(pop_all(&tp[sub], 0, INT64_MAX, split[sub],
		    sizeof(split[sub])));
	}
	T_EQ_INT(n_proc, KEYS);
	T_EQ_INT(wrong, 0);
	T_TRUE(strlen(split[0]) > 0 && strlen(split[1]) > 0);
	T_EQ_INT(strlen(split[0]) + strlen(split[1]), strlen(want));
	for (int sub = 0; sub < 2; sub++) {
		sm_timers_fini(&tp[sub]);
		sm_kvstate_fini(&part[sub]);
	}
	sm_timers_fini(&t2);
	sm_kvstate_fini(&kv2);
	sm_timers_fini(&t);
	sm_kvstate_fini(&kv);
	sm_store_close(st);
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(timers_pop_in_time_then_key_order_and_only_when_due),
	T(setting_twice_sets_one_and_deleted_timers_never_fire),
	T(timers_survive_a_snapshot_and_restore_and_split_by_key_group),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
