/*
 * test_channels.c - frames buffered per channel (coordinator/channels.h):
 * which channel connects two tasks (forward, hash, several inputs, none),
 * the difference of the two sides' counts, clamped at 0, taken only
 * between counts of the same epoch, and the status list it makes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "coordinator/channels.h"

/* src (2) --hash--> count (3) <--broadcast-- side (1), count (3)
 * --forward--> sink (3). Tasks: src 0-1, side 2, count 3-5, sink 6-8. */
static const char job_text[] =
    "[job]\nname = t\n"
    "[stage src]\noperator = gen\nparallelism = 2\n"
    "[stage side]\noperator = gen\n"
    "[stage count]\noperator = count\nparallelism = 3\n"
    "input = src hash\ninput = side broadcast\n"
    "[stage sink]\noperator = file\nparallelism = 3\n"
    "input = count forward\n";

static int
load(struct sm_job *job)
{
	char err[256];
	return sm_job_parse(job_text, "test", job, err, sizeof(err));
}

static void
every_channel_is_found_between_its_two_tasks(void)
{
	struct sm_job job;
	T_OK(load(&job));
	T_TRUE(job.n_channels > 0);
	for (int i = 0; i < job.n_channels; i++) {
		struct sm_job_channel jc;
		T_OK(sm_job_channel(&job, i, &jc));
		T_EQ_INT(coord_channel_between(&job, (uint32_t) jc.from_task,
		             (uint32_t) jc.to_task),
		    i);
	}
}

static void
tasks_no_channel_connects_give_minus_one(void)
{
	struct sm_job job;
	T_OK(load(&job));
	/* tasks: src 0-1, side 2, count 3-5, sink 6-8 */
	T_EQ_INT(coord_channel_between(&job, 0, 1), -1);   /* src -> src */
	T_EQ_INT(coord_channel_between(&job, 3, 0), -1);   /* backwards */
	T_EQ_INT(coord_channel_between(&job, 0, 6), -1);   /* skips a stage */
	T_EQ_INT(coord_channel_between(&job, 3, 7), -1);   /* forward, u != d */
	T_TRUE(coord_channel_between(&job, 4, 7) >= 0);    /* forward, u == d */
	T_TRUE(coord_channel_between(&job, 2, 5) >= 0);    /* broadcast */
	T_EQ_INT(coord_channel_between(&job, 9, 3), -1);   /* no such task */
	T_EQ_INT(coord_channel_between(&job, 0, UINT32_MAX), -1);
}

static void
buffered_is_sent_minus_processed_of_one_epoch(void)
{
	struct coord_channels *cs;
	uint64_t s = 0, p = 0, b = 0;
	T_OK(coord_channels_alloc(4, &cs));
	T_EQ_INT(coord_channels_buffered(cs, 1, 1, &s, &p, &b), 0);
	coord_channels_note(cs, 1, 1, 1, 50);
	T_EQ_INT(coord_channels_buffered(cs, 1, 1, &s, &p, &b), 0);
	coord_channels_note(cs, 1, 1, 0, 20);
	T_EQ_INT(coord_channels_buffered(cs, 1, 1, &s, &p, &b), 1);
	T_EQ_INT(s, 50);
	T_EQ_INT(p, 20);
	T_EQ_INT(b, 30);
	/* the receiver sampled later than the sender: clamped at 0 */
	coord_channels_note(cs, 1, 1, 0, 70);
	T_EQ_INT(coord_channels_buffered(cs, 1, 1, NULL, NULL, &b), 1);
	T_EQ_INT(b, 0);
	/* a new epoch: one side alone gives nothing, old counts never mix */
	coord_channels_note(cs, 1, 2, 1, 5);
	T_EQ_INT(coord_channels_buffered(cs, 1, 2, NULL, NULL, &b), 0);
	T_EQ_INT(coord_channels_buffered(cs, 1, 1, NULL, NULL, &b), 0);
	coord_channels_note(cs, 1, 2, 0, 2);
	T_EQ_INT(coord_channels_buffered(cs, 1, 2, NULL, NULL, &b), 1);
	T_EQ_INT(b, 3);
	/* out of range: ignored */
	coord_channels_note(cs, 4, 2, 1, 5);
	coord_channels_note(cs, -1, 2, 1, 5);
	T_EQ_INT(coord_channels_buffered(cs, 4, 2, NULL, NULL, &b), 0);
	coord_channels_free(cs);
}

static void
status_lists_channels_with_both_sides_by_index(void)
{
	struct sm_job job;
	T_OK(load(&job));
	struct coord_channels *cs;
	T_OK(coord_channels_alloc(job.n_channels, &cs));
	char *names[9] = { "src.0", "src.1", "side.0", "count.0", "count.1",
		"count.2", "sink.0", "sink.1", "sink.2" };
	int a = coord_channel_between(&job, 4, 7);
	int z = coord_channel_between(&job, 0, 3);
	int half = coord_channel_between(&job, 2, 5);
	coord_channels_note(cs, a, 3, 1, 10);
	coord_channels_note(cs, a, 3, 0, 4);
	coord_channels_note(cs, z, 3, 1, 7);
	coord_channels_note(cs, z, 3, 0, 7);
	coord_channels_note(cs, half, 3, 1, 9);
	Snapmark__JobStatus st = SNAPMARK__JOB_STATUS__INIT;
	T_OK(coord_channels_status(cs, &job, 3, names, &st));
	T_EQ_INT(st.n_channel_metrics, 2);
	const Snapmark__ChannelMetrics *m0 = st.channel_metrics[0];
	const Snapmark__ChannelMetrics *m1 = st.channel_metrics[1];
	T_EQ_INT(m0->channel, z);
	T_EQ_STR(m0->from_name, "src.0");
	T_EQ_STR(m0->to_name, "count.0");
	T_EQ_INT(m0->frames_buffered, 0);
	T_EQ_INT(m1->channel, a);
	T_EQ_STR(m1->from_name, "count.1");
	T_EQ_STR(m1->to_name, "sink.1");
	T_EQ_INT(m1->from_task, 4);
	T_EQ_INT(m1->to_task, 7);
	T_EQ_INT(m1->frames_sent, 10);
	T_EQ_INT(m1->frames_processed, 4);
	T_EQ_INT(m1->frames_buffered, 6);
	/* it packs (every required field of JobStatus aside) */
	T_EQ_INT(snapmark__channel_metrics__get_packed_size(m1) > 0, 1);
	coord_channels_status_free(&st);
	T_EQ_INT(st.n_channel_metrics, 0);
	/* another epoch: none */
	T_OK(coord_channels_status(cs, &job, 4, names, &st));
	T_EQ_INT(st.n_channel_metrics, 0);
	coord_channels_status_free(&st);
	coord_channels_free(cs);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(every_channel_is_found_between_its_two_tasks),
	T(tasks_no_channel_connects_give_minus_one),
	T(buffered_is_sent_minus_processed_of_one_epoch),
	T(status_lists_channels_with_both_sides_by_index),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
