/*
 * test_host.c - the runtime as an SDK operator sees it (worker/host.h),
 * driven through the public API's wrappers on a real kvstate and timer
 * service: keyed state and counters per key, named states (ids, reserved
 * ids and collisions refused), calls outside a keyed context refused,
 * timers set, deleted and due in (time, key) order, operator-state items
 * added in a snapshot and read back in a restore, emit (its size limit
 * and the runtime's error kept), fail and the watermark.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/jobfile.h"
#include "common/snapshot.h"
#include "common/state.h"
#include "tests/check.h"
#include "worker/host.h"
#include "worker/kvstate.h"
#include "worker/timers.h"

static const char job_text[] = "[job]\nname = host\n"
                               "[stage src]\noperator = gen\n"
                               "[stage keyed]\noperator = count\n"
                               "parallelism = 2\ninput = src hash\n";

static struct sm_job job;

/* An emitter that keeps the records' bytes, or refuses with fail_with. */
struct capture {
	struct sm_emitter base;
	char got[1024];
	int n;
	int fail_with;
	int64_t watermark;
};

static int
cap_emit(struct sm_emitter *e, const struct snapmark_record *r)
{
	struct capture *c = (struct capture *) e;
	if (c->fail_with != SM_OK)
		return c->fail_with;
	size_t used = strlen(c->got);
	snprintf(c->got + used, sizeof(c->got) - used, "%.*s=%.*s ",
	    (int) r->key_len, (const char *) r->key, (int) r->value_len,
	    (const char *) r->value);
	c->n++;
	return SM_OK;
}

static int
cap_watermark(struct sm_emitter *e, int64_t time)
{
	((struct capture *) e)->watermark = time;
	return SM_OK;
}

struct fixture {
	struct sm_kvstate kv;
	struct sm_timers timers;
	struct sm_host h;
	struct capture out;
	int64_t wm;
	snapmark_ctx *ctx;
};

static int
fixture_open(struct fixture *f, int stage)
{
	char err[256];
	if (job.n_stages == 0 &&
	    sm_job_parse(job_text, "host.ini", &job, err, sizeof(err)) !=
	        SM_OK)
		return SM_EINVAL;
	memset(f, 0, sizeof(*f));
	f->out.base.emit = cap_emit;
	f->out.base.watermark = cap_watermark;
	f->wm = SNAPMARK_NO_TIME;
	int rv = sm_kvstate_init(&f->kv);
	if (rv != SM_OK)
		return rv;
	if ((rv = sm_timers_init(&f->timers, &f->kv)) != SM_OK)
		return rv;
	sm_host_init(&f->h, &job, stage, 1, "keyed.1", "test", &f->out.base,
	    &f->wm, &f->kv, &f->timers);
	f->ctx = &f->h.ctx;
	return SM_OK;
}

static void
fixture_close(struct fixture *f)
{
	sm_host_fini(&f->h);
	sm_timers_fini(&f->timers);
	sm_kvstate_fini(&f->kv);
}

static int
key(struct fixture *f, const char *k)
{
	return sm_host_set_key(&f->h, k, (uint32_t) strlen(k));
}

static void
identity_and_time(void)
{
	struct fixture f;
	T_OK(fixture_open(&f, 1));
	T_EQ_STR(snapmark_stage(f.ctx), "keyed");
	T_EQ_INT(snapmark_subtask(f.ctx), 1);
	T_EQ_INT(snapmark_parallelism(f.ctx), 2);
	T_EQ_INT(snapmark_current_watermark(f.ctx), SNAPMARK_NO_TIME);
	f.wm = 4200;
	T_EQ_INT(snapmark_current_watermark(f.ctx), 4200);
	T_TRUE(snapmark_processing_time(f.ctx) > 1700000000000LL);
	/* Only a source announces watermarks. */
	T_EQ_INT(snapmark_watermark(f.ctx, 5), SNAPMARK_INVALID);
	fixture_close(&f);
	T_OK(fixture_open(&f, 0));
	T_EQ_INT(snapmark_watermark(f.ctx, 5), SNAPMARK_OK);
	T_EQ_INT(f.out.watermark, 5);
	fixture_close(&f);
}

static void
keyed_state_per_key(void)
{
	struct fixture f;
	uint32_t st, cnt;
	const void *v;
	uint32_t len;
	int64_t now = 0;
	T_OK(fixture_open(&f, 1));
	T_EQ_INT(snapmark_state_id(f.ctx, "last", &st), SNAPMARK_OK);
	T_EQ_INT(snapmark_state_id(f.ctx, "count", &cnt), SNAPMARK_OK);
	T_OK(key(&f, "alice"));
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_NOTFOUND);
	T_EQ_INT(snapmark_value_put(f.ctx, st, "x1", 2), SNAPMARK_OK);
	T_EQ_INT(snapmark_counter_add(f.ctx, cnt, 5, &now), SNAPMARK_OK);
	T_EQ_INT(now, 5);
	T_OK(key(&f, "bob"));
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_NOTFOUND);
	T_EQ_INT(snapmark_counter_add(f.ctx, cnt, -2, &now), SNAPMARK_OK);
	T_EQ_INT(now, -2);
	T_EQ_INT(snapmark_value_put(f.ctx, st, "y", 1), SNAPMARK_OK);
	const void *k;
	uint32_t kl;
	T_EQ_INT(snapmark_current_key(f.ctx, &k, &kl), SNAPMARK_OK);
	T_TRUE(kl == 3 && memcmp(k, "bob", 3) == 0);
	T_OK(key(&f, "alice"));
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_OK);
	T_TRUE(len == 2 && memcmp(v, "x1", 2) == 0);
	T_EQ_INT(snapmark_counter_add(f.ctx, cnt, 1, &now), SNAPMARK_OK);
	T_EQ_INT(now, 6);
	/* A value that is not a counter is refused as one. */
	T_EQ_INT(snapmark_counter_add(f.ctx, st, 1, NULL), SNAPMARK_INVALID);
	T_TRUE(strstr(f.h.why, "not a counter") != NULL);
	T_EQ_INT(snapmark_value_delete(f.ctx, st), SNAPMARK_OK);
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_NOTFOUND);
	/* Entries land in the kvstate under the state's id and the key's
	 * key group: alice's counter, bob's value and counter. */
	T_EQ_INT(sm_kvstate_len(&f.kv), 3);
	T_EQ_INT(sm_kvstate_get(&f.kv, cnt, "bob", 3, &v, &len), SM_OK);
	T_EQ_INT(sm_counter_get(v), -2);
	fixture_close(&f);
}

/* Name k of the collision search: high-entropy bytes (names differing
 * in a few digits only never collide under a CRC). */
static void
collision_name(uint32_t k, char *buf, size_t len)
{
	uint64_t z = (k + 1) * 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
	snprintf(buf, len, "c%016llx", (unsigned long long) (z ^ (z >> 29)));
}

static void
named_states_reserved_and_collisions(void)
{
	struct fixture f;
	uint32_t a, b, want;
	T_OK(fixture_open(&f, 1));
	T_EQ_INT(snapmark_state_id(f.ctx, "sums", &a), SNAPMARK_OK);
	T_EQ_INT(snapmark_state_id(f.ctx, "sums", &b), SNAPMARK_OK);
	T_EQ_INT(a, b);
	T_OK(sm_state_id("sums", &want));
	T_EQ_INT(a, want);
	T_EQ_INT(snapmark_state_id(f.ctx, "other", &b), SNAPMARK_OK);
	T_TRUE(a != b);
	T_EQ_INT(snapmark_state_id(f.ctx, "", &b), SNAPMARK_INVALID);

	/* A name whose CRC-32C falls among the reserved ids is refused. */
	char name[32];
	uint32_t id = 0;
	unsigned i;
	for (i = 0; i < 200000000u; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		if (sm_state_id(name, &id) == SM_EINVAL)
			break;
	}
	T_TRUE(i < 200000000u);
	T_EQ_INT(snapmark_state_id(f.ctx, name, &b), SNAPMARK_INVALID);
	T_TRUE(strstr(f.h.why, "reserved") != NULL);

	/* Two names with one id: the second is refused. */
	enum { N = 300000 };
	struct pair {
		uint32_t crc, n;
	} *p = malloc(N * sizeof(*p));
	T_TRUE(p != NULL);
	uint32_t x = 0, y = 0;
	int found = 0;
	for (uint32_t k = 0; k < N; k++) {
		collision_name(k, name, sizeof(name));
		p[k].crc = sm_crc32c(0, name, strlen(name));
		p[k].n = k;
	}
	/* find two names with one CRC in an open-addressing table */
	{
		size_t cap = 1u << 20;
		uint32_t *tab = calloc(cap, sizeof(uint32_t));
		T_TRUE(tab != NULL);
		for (uint32_t k = 0; k < N && !found; k++) {
			size_t s = (p[k].crc * 2654435761u) & (cap - 1);
			while (tab[s] != 0) {
				if (p[tab[s] - 1].crc == p[k].crc) {
					x = tab[s] - 1;
					y = k;
					found = 1;
					break;
				}
				s = (s + 1) & (cap - 1);
			}
			if (!found)
				tab[s] = k + 1;
		}
		free(tab);
	}
	T_TRUE(found);
	char n1[32], n2[32];
	collision_name(x, n1, sizeof(n1));
	collision_name(y, n2, sizeof(n2));
	free(p);
	uint32_t i1, i2;
	if (sm_state_id(n1, &i1) == SM_OK) {
		T_EQ_INT(snapmark_state_id(f.ctx, n1, &i1), SNAPMARK_OK);
		T_EQ_INT(snapmark_state_id(f.ctx, n2, &i2), SNAPMARK_INVALID);
		T_TRUE(strstr(f.h.why, "same id") != NULL);
		/* the first keeps its id */
		T_EQ_INT(snapmark_state_id(f.ctx, n1, &i2), SNAPMARK_OK);
		T_EQ_INT(i1, i2);
	}

	/* Reserved ids are refused in every keyed call. */
	T_OK(key(&f, "k"));
	const void *v;
	uint32_t len;
	T_EQ_INT(snapmark_value_put(f.ctx, SM_STATE_TIMERS_EVENT, "v", 1),
	    SNAPMARK_INVALID);
	T_EQ_INT(snapmark_value_get(f.ctx, SM_STATE_COUNT, &v, &len),
	    SNAPMARK_INVALID);
	T_EQ_INT(snapmark_counter_add(f.ctx, SM_STATE_COUNT, 1, NULL),
	    SNAPMARK_INVALID);
	T_EQ_INT(snapmark_value_delete(f.ctx, SM_STATE_TIMERS_PROCESSING),
	    SNAPMARK_INVALID);
	T_EQ_INT(sm_kvstate_len(&f.kv), 0);
	fixture_close(&f);
}

static void
keyed_calls_outside_a_keyed_context_refused(void)
{
	struct fixture f;
	uint32_t st;
	const void *v;
	uint32_t len;
	T_OK(fixture_open(&f, 1));
	T_EQ_INT(snapmark_state_id(f.ctx, "s", &st), SNAPMARK_OK);
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_INVALID);
	T_TRUE(strstr(f.h.why, "outside a keyed context") != NULL);
	T_EQ_INT(snapmark_value_put(f.ctx, st, "v", 1), SNAPMARK_INVALID);
	T_EQ_INT(snapmark_value_delete(f.ctx, st), SNAPMARK_INVALID);
	T_EQ_INT(snapmark_counter_add(f.ctx, st, 1, NULL), SNAPMARK_INVALID);
	T_EQ_INT(snapmark_current_key(f.ctx, &v, &len), SNAPMARK_INVALID);
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 1),
	    SNAPMARK_INVALID);
	T_EQ_INT(snapmark_timer_delete(f.ctx, SNAPMARK_EVENT_TIME, 1),
	    SNAPMARK_INVALID);
	/* In a keyed context, then out of it again. */
	T_OK(key(&f, "k"));
	T_EQ_INT(snapmark_value_put(f.ctx, st, "v", 1), SNAPMARK_OK);
	sm_host_clear_key(&f.h);
	T_EQ_INT(snapmark_value_get(f.ctx, st, &v, &len), SNAPMARK_INVALID);
	T_EQ_INT(sm_kvstate_len(&f.kv), 1);
	fixture_close(&f);
}

static void
timers_set_delete_and_due_in_time_then_key_order(void)
{
	struct fixture f;
	T_OK(fixture_open(&f, 1));
	T_OK(key(&f, "b"));
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 2000),
	    SNAPMARK_OK);
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 1000),
	    SNAPMARK_OK);
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 1000),
	    SNAPMARK_OK); /* the same timer: one */
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_PROCESSING_TIME, 5),
	    SNAPMARK_OK);
	T_OK(key(&f, "a"));
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 1000),
	    SNAPMARK_OK);
	T_EQ_INT(snapmark_timer_set(f.ctx, SNAPMARK_EVENT_TIME, 3000),
	    SNAPMARK_OK);
	T_EQ_INT(snapmark_timer_delete(f.ctx, SNAPMARK_EVENT_TIME, 3000),
	    SNAPMARK_OK);
	T_EQ_INT(snapmark_timer_set(f.ctx, (enum snapmark_time_domain) 7, 1),
	    SNAPMARK_INVALID);
	sm_host_clear_key(&f.h);
	T_EQ_INT(sm_timers_count(&f.timers, SNAPMARK_EVENT_TIME), 3);
	T_EQ_INT(sm_timers_count(&f.timers, SNAPMARK_PROCESSING_TIME), 1);
	char got[128] = "";
	struct sm_timer t;
	while (sm_timers_pop(&f.timers, SNAPMARK_EVENT_TIME, INT64_MAX, &t) ==
	    SM_OK) {
		size_t used = strlen(got);
		snprintf(got + used, sizeof(got) - used, "%.*s@%lld ",
		    (int) t.key_len, (const char *) t.key, (long long) t.time);
	}
	T_EQ_STR(got, "a@1000 b@1000 b@2000 ");
	fixture_close(&f);
}

static void
opstate_items_round_trip(void)
{
	struct fixture f;
	struct sm_snapshot_data d;
	memset(&d, 0, sizeof(d));
	const void *item;
	uint32_t len;
	T_OK(fixture_open(&f, 1));
	/* Outside a snapshot: no adding; outside a restore: no reading. */
	T_EQ_INT(snapmark_opstate_add(f.ctx, "x", 1), SNAPMARK_INVALID);
	T_EQ_INT(snapmark_opstate_count(f.ctx), 0);
	T_EQ_INT(snapmark_opstate_item(f.ctx, 0, &item, &len),
	    SNAPMARK_INVALID);
	f.h.snap = &d;
	T_EQ_INT(snapmark_opstate_add(f.ctx, "offset=7", 8), SNAPMARK_OK);
	T_EQ_INT(snapmark_opstate_add(f.ctx, "", 0), SNAPMARK_OK);
	T_EQ_INT(snapmark_opstate_add(f.ctx, "pending", 7), SNAPMARK_OK);
	T_EQ_INT(snapmark_opstate_add(f.ctx, "big", SNAPMARK_MAX_BYTES + 1),
	    SNAPMARK_INVALID);
	f.h.snap = NULL;
	T_EQ_INT(d.n_op_state, 3);
	f.h.items = d.op_state;
	f.h.n_items = d.n_op_state;
	f.h.restoring = 1;
	T_EQ_INT(snapmark_opstate_count(f.ctx), 3);
	T_EQ_INT(snapmark_opstate_item(f.ctx, 0, &item, &len), SNAPMARK_OK);
	T_TRUE(len == 8 && memcmp(item, "offset=7", 8) == 0);
	T_EQ_INT(snapmark_opstate_item(f.ctx, 1, &item, &len), SNAPMARK_OK);
	T_EQ_INT(len, 0);
	T_EQ_INT(snapmark_opstate_item(f.ctx, 2, &item, &len), SNAPMARK_OK);
	T_TRUE(len == 7 && memcmp(item, "pending", 7) == 0);
	T_EQ_INT(snapmark_opstate_item(f.ctx, 3, &item, &len),
	    SNAPMARK_INVALID);
	f.h.restoring = 0;
	for (size_t i = 0; i < d.n_op_state; i++)
		free(d.op_state[i].data);
	free(d.op_state);
	fixture_close(&f);
}

static void
emit_checks_sizes_and_keeps_the_runtime_error(void)
{
	struct fixture f;
	T_OK(fixture_open(&f, 1));
	struct snapmark_record r = { .key = "k",
		.key_len = 1,
		.value = "v",
		.value_len = 1,
		.timestamp = SNAPMARK_NO_TIME };
	T_EQ_INT(snapmark_emit(f.ctx, &r), SNAPMARK_OK);
	T_EQ_STR(f.out.got, "k=v ");
	T_EQ_INT(f.h.emitted, 1);
	static char big[SNAPMARK_MAX_BYTES + 1];
	r.value = big;
	r.value_len = sizeof(big);
	T_EQ_INT(snapmark_emit(f.ctx, &r), SNAPMARK_INVALID);
	T_TRUE(strstr(f.h.why, "SNAPMARK_MAX_BYTES") != NULL);
	T_EQ_INT(f.out.n, 1);
	T_EQ_INT(f.h.err, SM_OK);
	/* A runtime error behind an emit: kept for the task. */
	r.value = "v";
	r.value_len = 1;
	f.out.fail_with = SM_ECLOSED;
	T_EQ_INT(snapmark_emit(f.ctx, &r), SNAPMARK_STOPPED);
	T_EQ_INT(f.h.err, SM_ECLOSED);
	/* fail keeps the message */
	T_EQ_INT(snapmark_fail(f.ctx, "bad record %d", 42), SNAPMARK_ERROR);
	T_EQ_STR(f.h.why, "bad record 42");
	snapmark_log(f.ctx, SNAPMARK_LOG_DEBUG, "logged %s", "fine");
	fixture_close(&f);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(identity_and_time),
	T(keyed_state_per_key),
	T(named_states_reserved_and_collisions),
	T(keyed_calls_outside_a_keyed_context_refused),
	T(timers_set_delete_and_due_in_time_then_key_order),
	T(opstate_items_round_trip),
	T(emit_checks_sizes_and_keeps_the_runtime_error),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
