/*
 * test_watermark.c - a task's event time (worker/watermark.h): the
 * minimum over its inputs, which waits for every input's first watermark,
 * never goes back, counts an ended input as +infinity, and advances only
 * when the slowest input does.
 */
#include <stdint.h>

#include "tests/check.h"
#include "snapmark/snapmark.h"
#include "worker/watermark.h"

static void
the_minimum_of_no_inputs_is_the_end_of_time(void)
{
	const int64_t some[] = { 5, -3, 7 };
	const int64_t none_yet[] = { 5, SNAPMARK_NO_TIME };
	T_TRUE(sm_watermark_min(NULL, 0) == SM_WATERMARK_END);
	T_TRUE(sm_watermark_min(some, 3) == -3);
	T_TRUE(sm_watermark_min(some, 1) == 5);
	T_TRUE(sm_watermark_min(none_yet, 2) == SNAPMARK_NO_TIME);
}

static void
the_watermark_waits_for_every_input_then_follows_the_slowest(void)
{
	struct sm_watermarks w;
	int64_t min = 0;
	T_OK(sm_watermarks_init(&w, 3));
	T_TRUE(w.min == SNAPMARK_NO_TIME);
	/* two of three inputs have a watermark: still none */
	T_EQ_INT(sm_watermarks_update(&w, 0, 10, &min), 0);
	T_EQ_INT(sm_watermarks_update(&w, 1, 20, &min), 0);
	T_TRUE(w.min == SNAPMARK_NO_TIME);
	/* the third: the minimum of the three */
	T_EQ_INT(sm_watermarks_update(&w, 2, 15, &min), 1);
	T_TRUE(min == 10);
	/* a faster input moving on changes nothing */
	T_EQ_INT(sm_watermarks_update(&w, 1, 30, &min), 0);
	/* the slowest moving on: the next slowest */
	T_EQ_INT(sm_watermarks_update(&w, 0, 40, &min), 1);
	T_TRUE(min == 15);
	T_TRUE(w.min == 15);
	sm_watermarks_fini(&w);
}

static void
a_watermark_never_goes_back(void)
{
	struct sm_watermarks w;
	int64_t min = 0;
	T_OK(sm_watermarks_init(&w, 2));
	T_EQ_INT(sm_watermarks_update(&w, 0, 100, &min), 0);
	T_EQ_INT(sm_watermarks_update(&w, 1, 100, &min), 1);
	T_TRUE(min == 100);
	/* an earlier one, or the same again, is ignored */
	T_EQ_INT(sm_watermarks_update(&w, 0, 50, &min), 0);
	T_EQ_INT(sm_watermarks_update(&w, 0, 100, &min), 0);
	T_TRUE(w.of_input[0] == 100 && w.min == 100);
	/* a bad input index too */
	T_EQ_INT(sm_watermarks_update(&w, 2, 500, &min), 0);
	T_EQ_INT(sm_watermarks_update(&w, -1, 500, &min), 0);
	T_TRUE(w.min == 100);
	sm_watermarks_fini(&w);
}

static void
an_ended_input_holds_nothing_back(void)
{
	struct sm_watermarks w;
	int64_t min = 0;
	T_OK(sm_watermarks_init(&w, 2));
	/* input 0 ends before any watermark: input 1 alone decides */
	T_EQ_INT(sm_watermarks_end(&w, 0, &min), 0);
	T_EQ_INT(sm_watermarks_update(&w, 1, 7, &min), 1);
	T_TRUE(min == 7);
	/* a watermark after the end changes nothing */
	T_EQ_INT(sm_watermarks_update(&w, 0, 9, &min), 0);
	/* every input ended: the end of time */
	T_EQ_INT(sm_watermarks_end(&w, 1, &min), 1);
	T_TRUE(min == SM_WATERMARK_END);
	T_EQ_INT(sm_watermarks_end(&w, 1, &min), 0);
	sm_watermarks_fini(&w);
}

static void
fini_is_safe_on_a_zeroed_struct(void)
{
	struct sm_watermarks w = { 0, NULL, 0 };
	sm_watermarks_fini(&w);
	sm_watermarks_fini(&w);
	T_TRUE(w.of_input == NULL);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(the_minimum_of_no_inputs_is_the_end_of_time),
	T(the_watermark_waits_for_every_input_then_follows_the_slowest),
	T(a_watermark_never_goes_back),
	T(an_ended_input_holds_nothing_back),
	T(fini_is_safe_on_a_zeroed_struct),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
