/*
 * test_sdk_harness.c - the fake host of tests/sdk_harness.h, checked with
 * a tiny keyed operator of its own: a per-key counter that emits its sum
 * on an event-time timer, plus one operator-state item.
 */
#include <stdio.h>
#include <string.h>

#include "tests/check.h"
#include "tests/sdk_harness.h"

struct tiny {
	uint32_t sum;
	int items_seen;
};

static int
tiny_open(snapmark_ctx *ctx, const void *config, void **self)
{
	static struct tiny t;
	memset(&t, 0, sizeof t);
	*self = &t;
	return snapmark_state_id(ctx, "sum", &t.sum);
}

static int
tiny_restore(void *self, snapmark_ctx *ctx, uint64_t id)
{
	struct tiny *t = self;
	t->items_seen = (int) snapmark_opstate_count(ctx);
	return SNAPMARK_OK;
}

static int
tiny_process(void *self, snapmark_ctx *ctx, const struct snapmark_record *r,
    size_t n)
{
	struct tiny *t = self;
	int rv = snapmark_counter_add(ctx, t->sum, 1, NULL);
	if (rv == SNAPMARK_OK)
		rv = snapmark_timer_set(ctx, SNAPMARK_EVENT_TIME, r->timestamp);
	if (r->value_len == 4 && memcmp(r->value, "fail", 4) == 0)
		return snapmark_fail(ctx, "asked to fail at %lld",
		    (long long) r->timestamp);
	return rv;
}

static int
tiny_on_timer(void *self, snapmark_ctx *ctx, enum snapmark_time_domain d,
    int64_t time)
{
	struct tiny *t = self;
	int64_t n = 0;
	int rv = snapmark_counter_add(ctx, t->sum, 0, &n);
	if (rv != SNAPMARK_OK)
		return rv;
	const void *key;
	uint32_t klen;
	snapmark_current_key(ctx, &key, &klen);
	char v[32];
	int len = snprintf(v, sizeof v, "%lld@%lld", (long long) n,
	    (long long) time);
	struct snapmark_record out = {key, klen, v, (uint32_t) len, time};
	snapmark_log(ctx, SNAPMARK_LOG_INFO, "fired %lld", (long long) time);
	return snapmark_emit(ctx, &out);
}

static int
tiny_snapshot(void *self, snapmark_ctx *ctx, uint64_t id)
{
	return snapmark_opstate_add(ctx, "pos", 3);
}

static const struct snapmark_operator tiny_op = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "tiny",
	.open = tiny_open,
	.restore = tiny_restore,
	.process = tiny_process,
	.on_timer = tiny_on_timer,
	.snapshot = tiny_snapshot,
};

static struct sm_harness *
make(uint32_t subtask, uint32_t parallelism)
{
	struct sm_harness_setup s = {
		.op = &tiny_op, .subtask = subtask,
		.parallelism = parallelism, .keyed = 1,
	};
	char err[128];
	return sm_harness_create(&s, err, sizeof err);
}

static void
test_timers_fire_in_order(void)
{
	struct sm_harness *h = make(0, 1);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "b", "x", 20), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 10), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 30), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 3);
	T_EQ_INT(sm_harness_advance_watermark(h, 20), SNAPMARK_OK);
	char buf[64];
	T_EQ_INT(sm_harness_emitted_count(h), 2);
	T_EQ_STR(sm_harness_emitted_text(h, 0, buf, sizeof buf), "a\t2@10");
	T_EQ_STR(sm_harness_emitted_text(h, 1, buf, sizeof buf), "b\t1@20");
	T_EQ_INT(sm_harness_log_count(h), 2);
	T_EQ_INT(sm_harness_advance_watermark(h, 15), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 2);
	sm_harness_free(h);
}

static void
test_fail_captured(void)
{
	struct sm_harness *h = make(0, 1);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "k", "fail", 7), SNAPMARK_ERROR);
	T_EQ_STR(sm_harness_failure(h), "asked to fail at 7");
	sm_harness_free(h);
}

static void
test_snapshot_restore(void)
{
	struct sm_harness *h = make(0, 1);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 10), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 10), SNAPMARK_OK);
	struct sm_harness_snapshot *s;
	T_EQ_INT(sm_harness_snapshot(h, 1, &s), SNAPMARK_OK);
	T_EQ_INT(sm_harness_snapshot_items(s), 1);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 10), SNAPMARK_OK); /* lost */
	sm_harness_free(h);

	struct sm_harness *r = make(0, 1);
	const struct sm_harness_snapshot *snaps[] = {s};
	T_EQ_INT(sm_harness_restore(r, snaps, 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_open(r), SNAPMARK_OK);
	T_EQ_INT(sm_harness_state_entries(r), 1);
	T_EQ_INT(sm_harness_advance_watermark(r, 10), SNAPMARK_OK);
	char buf[64];
	T_EQ_INT(sm_harness_emitted_count(r), 1);
	T_EQ_STR(sm_harness_emitted_text(r, 0, buf, sizeof buf), "a\t2@10");
	sm_harness_free(r);
	sm_harness_snapshot_free(s);
}

static uint32_t
first_byte_owner(const void *key, uint32_t len, uint32_t parallelism)
{
	return len ? ((const unsigned char *) key)[0] % parallelism : 0;
}

static void
test_restore_at_another_parallelism(void)
{
	struct sm_harness_snapshot *s[2];
	for (uint32_t i = 0; i < 2; i++) {
		struct sm_harness *h = make(i, 2);
		T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
		T_EQ_INT(sm_harness_feed(h, i ? "a" : "b", "x", 5),
		    SNAPMARK_OK);
		T_EQ_INT(sm_harness_snapshot(h, 3, &s[i]), SNAPMARK_OK);
		sm_harness_free(h);
	}
	/* Parallelism 3: every item everywhere; keys by their owner. */
	const struct sm_harness_snapshot *snaps[] = {s[0], s[1]};
	size_t entries = 0;
	for (uint32_t i = 0; i < 3; i++) {
		struct sm_harness_setup st = {
			.op = &tiny_op, .subtask = i, .parallelism = 3,
			.keyed = 1, .key_owner = first_byte_owner,
		};
		char err[64];
		struct sm_harness *h = sm_harness_create(&st, err, sizeof err);
		T_EQ_INT(sm_harness_restore(h, snaps, 2), SNAPMARK_OK);
		T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
		entries += sm_harness_state_entries(h);
		/* 'a' = 97 -> 1, 'b' = 98 -> 2 */
		T_EQ_INT(sm_harness_state_entries(h), i == 0 ? 0 : 1);
		T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME),
		    i == 0 ? 0 : 1);
		sm_harness_free(h);
	}
	T_EQ_INT(entries, 2);
	sm_harness_snapshot_free(s[0]);
	sm_harness_snapshot_free(s[1]);
}

static void
test_keyed_state_refused_unkeyed(void)
{
	struct sm_harness_setup st = {.op = &tiny_op};
	char err[64];
	struct sm_harness *h = sm_harness_create(&st, err, sizeof err);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 1), SNAPMARK_INVALID);
	sm_harness_free(h);
}

static const struct sm_test tests[] = {
	{"timers_fire_in_order", test_timers_fire_in_order},
	{"fail_captured", test_fail_captured},
	{"snapshot_restore", test_snapshot_restore},
	{"restore_at_another_parallelism",
	    test_restore_at_another_parallelism},
	{"keyed_state_refused_unkeyed", test_keyed_state_refused_unkeyed},
	{NULL, NULL},
};

SM_TEST_MAIN(tests)
