/*
 * test_window_count.c - the `window_count` operator (operators/
 * window_count.c) through the fake host (tests/sdk_harness.h): event-time
 * windows closed by the watermark, processing-time windows closed by the
 * clock, a restore in the middle of a window, the output format.
 */
#include <stdio.h>
#include <string.h>

#include "operators/builtin.h"
#include "tests/check.h"
#include "tests/sdk_harness.h"

static struct sm_harness *
make(const char *size, const char *time)
{
	struct snapmark_option opts[2] = {
		{ "size_ms", size, 1 },
		{ "time", time, 2 },
	};
	struct sm_harness_setup s = {
		.op = sm_builtin_operator("window_count"),
		.options = opts,
		.n_options = 2,
		.keyed = 1,
		.processing_time = 5000,
	};
	char err[256];
	struct sm_harness *h = sm_harness_create(&s, err, sizeof(err));
	if (h == NULL)
		fprintf(stderr, "  create: %s\n", err);
	return h;
}

static const char *
out(const struct sm_harness *h, size_t i)
{
	static char buf[128];
	return sm_harness_emitted_text(h, i, buf, sizeof(buf));
}

static void
test_configure_refusals(void)
{
	const struct snapmark_operator *op = sm_builtin_operator("window_count");
	T_TRUE(op != NULL);
	struct {
		struct snapmark_option o;
		const char *want;
	} cases[] = {
		{ { "size_ms", "0", 1 }, "size_ms must be" },
		{ { "size_ms", "10s", 1 }, "size_ms must be" },
		{ { "time", "wall", 1 }, "time must be event or processing" },
		{ { "size", "10", 1 }, "unknown option 'size'" },
		{ { "time", "event", 1 }, "needs size_ms" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *config = NULL;
		char err[256] = "";
		T_TRUE(op->configure(&cases[i].o, 1, &config, err,
		           sizeof(err)) != 0);
		T_TRUE(strstr(err, cases[i].want) != NULL);
	}
}

static void
test_event_windows_close_on_watermark(void)
{
	struct sm_harness *h = make("10", "event");
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 3), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "b", "x", 9), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 12), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 0), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", -1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 4);
	T_EQ_INT(sm_harness_advance_watermark(h, 8), SNAPMARK_OK);
	/* [-10, 0) closed at -1 */
	T_EQ_INT(sm_harness_emitted_count(h), 1);
	T_EQ_STR(out(h, 0), "a\t-10\t1");
	T_EQ_INT(sm_harness_emitted(h, 0)->timestamp, -1);
	T_EQ_INT(sm_harness_advance_watermark(h, 9), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 3);
	T_EQ_STR(out(h, 1), "a\t0\t2");
	T_EQ_STR(out(h, 2), "b\t0\t1");
	T_EQ_INT(sm_harness_emitted(h, 1)->timestamp, 9);
	/* Late: a record of a closed window is dropped, with a warning. */
	T_EQ_INT(sm_harness_feed(h, "a", "x", 5), SNAPMARK_OK);
	T_EQ_INT(sm_harness_log_count(h), 1);
	T_EQ_INT(sm_harness_advance_watermark(h, 100), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 4);
	T_EQ_STR(out(h, 3), "a\t10\t1");
	/* Closed windows leave nothing behind. */
	T_EQ_INT(sm_harness_state_entries(h), 0);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 0);
	sm_harness_free(h);
}

static void
test_event_record_without_time_fails(void)
{
	struct sm_harness *h = make("10", "event");
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", SNAPMARK_NO_TIME),
	    SNAPMARK_ERROR);
	T_TRUE(strstr(sm_harness_failure(h), "without event time") != NULL);
	sm_harness_free(h);
}

static void
test_processing_windows(void)
{
	struct sm_harness *h = make("1000", "processing");
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	/* The clock is 5000: window [5000, 6000); event time is ignored. */
	T_EQ_INT(sm_harness_feed(h, "k", "x", SNAPMARK_NO_TIME), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "k", "x", 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(h, 100000), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 0);
	T_EQ_INT(sm_harness_advance_processing_time(h, 5999), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 1);
	T_EQ_STR(out(h, 0), "k\t5000\t2");
	T_EQ_INT(sm_harness_advance_processing_time(h, 6000), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "k", "x", 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_processing_time(h, 6500), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 1);
	T_EQ_INT(sm_harness_advance_processing_time(h, 7000), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 2);
	T_EQ_STR(out(h, 1), "k\t6000\t1");
	sm_harness_free(h);
}

static void
test_restore_mid_window(void)
{
	struct sm_harness *h = make("10", "event");
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 2), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "x", 15), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "b", "x", 4), SNAPMARK_OK);
	struct sm_harness_snapshot *snap;
	T_EQ_INT(sm_harness_snapshot(h, 2, &snap), SNAPMARK_OK);
	/* Lost with the failure: */
	T_EQ_INT(sm_harness_feed(h, "a", "x", 3), SNAPMARK_OK);
	sm_harness_free(h);

	struct sm_harness *r = make("10", "event");
	const struct sm_harness_snapshot *snaps[] = { snap };
	T_EQ_INT(sm_harness_restore(r, snaps, 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_open(r), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(r, SNAPMARK_EVENT_TIME), 3);
	T_EQ_INT(sm_harness_feed(r, "a", "x", 5), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(r, 19), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(r), 3);
	T_EQ_STR(out(r, 0), "a\t0\t3");
	T_EQ_STR(out(r, 1), "b\t0\t1");
	T_EQ_STR(out(r, 2), "a\t10\t1");
	sm_harness_free(r);
	sm_harness_snapshot_free(snap);
}

static void
test_keys_are_bytes(void)
{
	struct sm_harness *h = make("10", "event");
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	struct snapmark_record rec = { "\0\1", 2, "", 0, 7 };
	T_EQ_INT(sm_harness_process(h, &rec), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(h, 9), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 1);
	const struct snapmark_record *o = sm_harness_emitted(h, 0);
	T_EQ_INT(o->key_len, 2);
	T_TRUE(memcmp(o->key, "\0\1", 2) == 0);
	T_EQ_INT(o->value_len, 3);
	T_TRUE(memcmp(o->value, "0\t1", 3) == 0);
	sm_harness_free(h);
}

static const struct sm_test tests[] = {
	{ "configure_refusals", test_configure_refusals },
	{ "event_windows_close_on_watermark",
	    test_event_windows_close_on_watermark },
	{ "event_record_without_time_fails",
	    test_event_record_without_time_fails },
	{ "processing_windows", test_processing_windows },
	{ "restore_mid_window", test_restore_mid_window },
	{ "keys_are_bytes", test_keys_are_bytes },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
