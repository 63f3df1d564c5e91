/*
 * test_explain.c - the critical path of a checkpoint (coordinator/explain.h)
 * computed from synthetic timelines: which chain it follows, the phases'
 * lengths and shares, the slowest channel, the verdict, failed and
 * timeline-less records, and records that are inconsistent (skewed clocks,
 * loops, a task that did not report).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "coordinator/explain.h"

/* ---- fixture: a record with up to 8 tasks, 4 arrivals each ------------- */

#define MAXT 8

struct fixture {
	Snapmark__CheckpointRecord r;
	Snapmark__TaskCheckpointStats t[MAXT];
	Snapmark__TaskCheckpointStats *tp[MAXT];
	Snapmark__SnapshotHandle h[MAXT];
	Snapmark__BarrierArrival a[MAXT][4];
	Snapmark__BarrierArrival *ap[MAXT][4];
	Snapmark__ExplainTask m[MAXT];
	Snapmark__ExplainTask *mp[MAXT];
};

static void
fx_init(struct fixture *f, uint64_t id, uint64_t trigger_us, uint64_t end_us)
{
	memset(f, 0, sizeof(*f));
	snapmark__checkpoint_record__init(&f->r);
	f->r.id = id;
	f->r.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED;
	f->r.has_trigger_sent_us = 1;
	f->r.trigger_sent_us = trigger_us;
	f->r.has_end_us = 1;
	f->r.end_us = end_us;
	f->r.has_duration_us = 1;
	f->r.duration_us = end_us - trigger_us;
	f->r.tasks = f->tp;
}

/* A task with its ack sent and received at the given times. */
static Snapmark__TaskCheckpointStats *
fx_task(struct fixture *f, uint32_t task, const char *name,
    uint64_t barrier_sent, uint64_t ack_sent, uint64_t ack_received)
{
	size_t i = f->r.n_tasks++;
	Snapmark__TaskCheckpointStats *s = &f->t[i];
	snapmark__task_checkpoint_stats__init(s);
	snapmark__snapshot_handle__init(&f->h[i]);
	f->h[i].bytes = 100 * (task + 1);
	s->handle = &f->h[i];
	s->task = task;
	s->task_name = (char *) name;
	s->has_barrier_sent_us = 1;
	s->barrier_sent_us = barrier_sent;
	s->has_ack_sent_us = 1;
	s->ack_sent_us = ack_sent;
	s->has_ack_received_us = 1;
	s->ack_received_us = ack_received;
	s->arrivals = f->ap[i];
	f->tp[i] = s;
	return s;
}

static void
fx_source(struct fixture *f, uint32_t task, const char *name,
    uint64_t trigger_received, uint64_t barrier_sent, uint64_t ack_sent,
    uint64_t ack_received)
{
	Snapmark__TaskCheckpointStats *s =
	    fx_task(f, task, name, barrier_sent, ack_sent, ack_received);
	s->has_trigger_received_us = 1;
	s->trigger_received_us = trigger_received;
}

/* An input barrier of the task added last: sent upstream, dequeued. */
static void
fx_arrival(struct fixture *f, uint32_t channel, uint32_t upstream,
    uint64_t sent, uint64_t received, uint32_t frames)
{
	size_t i = f->r.n_tasks - 1;
	Snapmark__TaskCheckpointStats *s = &f->t[i];
	Snapmark__BarrierArrival *a = &f->a[i][s->n_arrivals];
	snapmark__barrier_arrival__init(a);
	a->channel = channel;
	a->upstream_task = upstream;
	a->has_sent_us = a->has_received_us = a->has_frames_ahead = 1;
	a->sent_us = sent;
	a->received_us = received;
	a->frames_ahead = frames;
	f->ap[i][s->n_arrivals++] = a;
	if (!s->has_first_barrier_us || received < s->first_barrier_us) {
		s->has_first_barrier_us = 1;
		s->first_barrier_us = received;
	}
	if (received > s->last_barrier_us) {
		s->has_last_barrier_us = 1;
		s->last_barrier_us = received;
	}
}

/*
 * The example: source.1's barrier waits 289.7 ms behind 31 frames
 * on counter.0 (its other input, from source.0, came early), then 59.9 ms
 * behind 12 frames on sink.0, whose ack is the last. 357.1 ms in total.
 */
static void
fx_backpressure(struct fixture *f)
{
	fx_init(f, 42, 1000000, 1357100);
	fx_source(f, 0, "source.0", 1000100, 1000200, 1000250, 1000400);
	fx_source(f, 1, "source.1", 1000150, 1000300, 1000350, 1000500);
	fx_task(f, 2, "counter.0", 1290100, 1291000, 1291100);
	fx_arrival(f, 0, 0, 1000200, 1000500, 2);
	fx_arrival(f, 2, 1, 1000300, 1290000, 31);
	fx_task(f, 4, "sink.0", 1350050, 1356000, 1357000);
	fx_arrival(f, 4, 2, 1290100, 1350000, 12);
}

static int
is(const Snapmark__ExplainPhase *p, const char *kind, const char *task,
    uint64_t us)
{
	return strcmp(p->kind, kind) == 0 && strcmp(p->task, task) == 0 &&
	    p->us == us;
}

/* ---- tests ------------------------------------------------------------- */

static void
path_follows_the_last_barrier_back_from_the_last_ack(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_backpressure(&f);
	T_OK(coord_explain(&f.r, &e));
	T_EQ_INT(e->n_path, 9);
	T_TRUE(is(e->path[0], "trigger", "source.1", 150));
	T_TRUE(is(e->path[1], "forward", "source.1", 150));
	T_TRUE(is(e->path[2], "queue", "counter.0", 289700));
	T_TRUE(e->path[2]->has_channel && e->path[2]->channel == 2);
	T_TRUE(e->path[2]->has_frames_ahead && e->path[2]->frames_ahead == 31);
	T_TRUE(is(e->path[3], "forward", "counter.0", 100));
	T_TRUE(is(e->path[4], "queue", "sink.0", 59900));
	T_TRUE(is(e->path[5], "sync", "sink.0", 50));
	T_TRUE(is(e->path[6], "async", "sink.0", 5950));
	T_TRUE(is(e->path[7], "ack", "sink.0", 1000));
	T_TRUE(is(e->path[8], "commit", "coordinator", 100));
	coord_explain_free(e);
}

static void
phases_add_up_to_trigger_to_commit(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_backpressure(&f);
	T_OK(coord_explain(&f.r, &e));
	uint64_t sum = 0;
	for (size_t i = 0; i < e->n_path; i++)
		sum += e->path[i]->us;
	T_EQ_INT(e->total_us, 357100);
	T_EQ_INT(sum, 357100);
	coord_explain_free(e);
}

static void
verdict_names_the_biggest_queue_and_the_back_pressure(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_backpressure(&f);
	T_OK(coord_explain(&f.r, &e));
	T_EQ_STR(e->verdict,
	    "81% of 357 ms: barrier queued behind 31 frames on counter.0 <- "
	    "source.1: back-pressure from sink.0");
	T_EQ_STR(e->slowest_channel, "counter.0 <- source.1");
	T_EQ_INT(e->slowest_channel_us, 289700);
	T_EQ_INT(e->slowest_channel_frames, 31);
	T_EQ_STR(e->status, "COMPLETED");
	T_TRUE(e->has_timeline);
	coord_explain_free(e);
}

static void
a_discarded_checkpoint_is_explained_as_the_completed_one_it_was(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_backpressure(&f);
	f.r.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__DISCARDED;
	T_OK(coord_explain(&f.r, &e));
	T_EQ_STR(e->status, "DISCARDED");
	T_TRUE(e->n_path > 0);
	T_EQ_STR(e->verdict,
	    "81% of 357 ms: barrier queued behind 31 frames on counter.0 <- "
	    "source.1: back-pressure from sink.0");
	T_EQ_INT(e->n_missing, 0);
	coord_explain_free(e);
}

static void
a_slow_snapshot_is_the_verdict_when_it_dominates(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	/* source -> sink, no queueing; the sink writes for 90 ms */
	fx_init(&f, 3, 0 + 1000, 101000);
	fx_source(&f, 0, "gen.0", 1100, 1200, 1300, 1400);
	fx_task(&f, 1, "sink.0", 1500, 91500, 100900);
	fx_arrival(&f, 0, 0, 1200, 1400, 0);
	T_OK(coord_explain(&f.r, &e));
	T_TRUE(is(e->path[e->n_path - 3], "async", "sink.0", 90000));
	T_EQ_STR(e->verdict,
	    "90% of 100 ms: sink.0: asynchronous snapshot (200 bytes "
	    "written)");
	coord_explain_free(e);
}

static void
skewed_clocks_never_give_negative_phases(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_init(&f, 5, 10000, 20000);
	/* the source's clock runs early: it got the trigger "before" it was
	 * sent, and the barrier was dequeued "before" it was sent */
	fx_source(&f, 0, "gen.0", 9000, 9500, 9600, 11000);
	fx_task(&f, 1, "sink.0", 12000, 13000, 19000);
	fx_arrival(&f, 0, 0, 9500, 9400, 0);
	T_OK(coord_explain(&f.r, &e));
	T_TRUE(e->n_path > 0);
	for (size_t i = 0; i < e->n_path; i++)
		T_TRUE(e->path[i]->us <= e->total_us);
	T_TRUE(is(e->path[0], "trigger", "gen.0", 0));
	T_TRUE(is(e->path[2], "queue", "sink.0", 0));
	coord_explain_free(e);
}

static void
a_loop_or_an_unreported_upstream_ends_the_walk(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_init(&f, 6, 0 + 1, 1000);
	/* a task that names itself as its upstream */
	fx_task(&f, 1, "relay.0", 500, 600, 900);
	fx_arrival(&f, 0, 1, 100, 400, 0);
	T_OK(coord_explain(&f.r, &e));
	T_TRUE(e->n_path > 0 && e->n_path < 64);
	coord_explain_free(e);

	fx_init(&f, 7, 1, 1000);
	/* its upstream task 9 is not in the record */
	fx_task(&f, 1, "relay.0", 500, 600, 900);
	fx_arrival(&f, 3, 9, 100, 400, 0);
	T_OK(coord_explain(&f.r, &e));
	T_TRUE(is(e->path[0], "unknown", "task 9", 99));
	T_TRUE(is(e->path[1], "queue", "relay.0", 300));
	coord_explain_free(e);
}

static void
a_failed_checkpoint_names_who_did_not_acknowledge(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_init(&f, 9, 1000, 801000);
	f.r.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED;
	f.r.failure_reason =
	    "expired after 800 ms before all tasks acknowledged";
	fx_source(&f, 0, "gen.0", 1100, 1200, 1300, 1400);
	snapmark__explain_task__init(&f.m[0]);
	f.m[0].task = "sink.1";
	f.m[0].worker_id = 2;
	f.m[0].worker_alive = 1;
	f.m[0].last_seen = "worker 2 (pid 7) silent for 900 ms";
	f.mp[0] = &f.m[0];
	f.r.n_missing = 1;
	f.r.missing = f.mp;
	T_OK(coord_explain(&f.r, &e));
	T_EQ_STR(e->status, "FAILED");
	T_EQ_INT(e->n_path, 0);
	T_EQ_INT(e->n_missing, 1);
	T_EQ_STR(e->missing[0]->task, "sink.1");
	T_EQ_STR(e->missing[0]->last_seen,
	    "worker 2 (pid 7) silent for 900 ms");
	T_EQ_STR(e->verdict,
	    "failed after 800 ms: expired after 800 ms before all tasks "
	    "acknowledged; did not acknowledge: sink.1");
	coord_explain_free(e);
}

static void
a_record_without_a_timeline_says_so(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_init(&f, 11, 0, 0);
	f.r.has_trigger_sent_us = f.r.has_end_us = 0;
	f.r.duration_us = 2500;
	T_OK(coord_explain(&f.r, &e));
	T_TRUE(!e->has_timeline);
	T_EQ_INT(e->n_path, 0);
	T_EQ_INT(e->total_us, 2500);
	T_TRUE(strstr(e->verdict, "no timeline") != NULL);
	coord_explain_free(e);
}

static void
explanation_packs_as_a_valid_message(void)
{
	struct fixture f;
	Snapmark__Explanation *e = NULL;
	fx_backpressure(&f);
	T_OK(coord_explain(&f.r, &e));
	size_t len = snapmark__explanation__get_packed_size(e);
	uint8_t *buf = malloc(len + 1);
	T_TRUE(buf != NULL);
	snapmark__explanation__pack(e, buf);
	Snapmark__Explanation *back =
	    snapmark__explanation__unpack(NULL, len, buf);
	T_TRUE(back != NULL);
	T_EQ_INT(back->n_path, 9);
	T_EQ_STR(back->verdict, e->verdict);
	snapmark__explanation__free_unpacked(back, NULL);
	free(buf);
	coord_explain_free(e);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(path_follows_the_last_barrier_back_from_the_last_ack),
	T(phases_add_up_to_trigger_to_commit),
	T(verdict_names_the_biggest_queue_and_the_back_pressure),
	T(a_discarded_checkpoint_is_explained_as_the_completed_one_it_was),
	T(a_slow_snapshot_is_the_verdict_when_it_dominates),
	T(skewed_clocks_never_give_negative_phases),
	T(a_loop_or_an_unreported_upstream_ends_the_walk),
	T(a_failed_checkpoint_names_who_did_not_acknowledge),
	T(a_record_without_a_timeline_says_so),
	T(explanation_packs_as_a_valid_message),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
