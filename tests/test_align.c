/*
 * test_align.c - barrier alignment (worker/align.h) as a specification.
 *
 * Each scenario is a script of events (barrier, end of data, abort) fed to
 * one sm_align; after every event the script states what the task must do
 * (snapshot which id, with what alignment time; which id was subsumed) and
 * which inputs must be blocked. A long randomized run then compares the
 * state machine with a small reference model written from the header's
 * rules; its seed is printed and can be replayed with SM_TEST_SEED.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/align.h"
#include "tests/check.h"

/* ---- scripted scenarios ------------------------------------------------ */

enum ev_kind { EV_NONE, EV_BARRIER, EV_END, EV_ABORT };

struct ev {
	enum ev_kind kind;
	int input;         /* EV_BARRIER, EV_END */
	uint64_t id;       /* EV_BARRIER, EV_ABORT */
	uint64_t now_us;
	uint64_t snapshot; /* expected result (EV_BARRIER, EV_END) */
	uint64_t align_us;
	uint64_t subsumed;
	const char *blocked; /* per input '1' blocked / '0' not, after it */
};

#define SCRIPT_MAX 16

struct script {
	int n_inputs;
	enum sm_align_mode mode;
	struct ev ev[SCRIPT_MAX]; /* ends at the first EV_NONE */
};

#define B(in, id_, t) .kind = EV_BARRIER, .input = (in), .id = (id_),        \
		      .now_us = (t)
#define E(in, t) .kind = EV_END, .input = (in), .now_us = (t)
#define A(id_) .kind = EV_ABORT, .id = (id_)

/* run_script feeds every event and checks every expectation. */
static void
run_script(const struct script *s)
{
	struct sm_align a;
	T_OK(sm_align_init(&a, s->n_inputs, s->mode));
	for (int i = 0; i < SCRIPT_MAX && s->ev[i].kind != EV_NONE; i++) {
		const struct ev *e = &s->ev[i];
		struct sm_align_result r;
		memset(&r, 0xA5, sizeof(r)); /* results must be written */
		if (e->kind == EV_BARRIER)
			sm_align_barrier(&a, e->input, e->id, e->now_us, &r);
		else if (e->kind == EV_END)
			sm_align_end(&a, e->input, e->now_us, &r);
		else
			sm_align_abort(&a, e->id);
		if (e->kind != EV_ABORT &&
		    (r.snapshot_id != e->snapshot ||
			(e->snapshot != 0 && r.align_us != e->align_us) ||
			r.subsumed_id != e->subsumed)) {
			fprintf(stderr,
			    "  event %d: got snapshot %" PRIu64
			    " align %" PRIu64 " subsumed %" PRIu64
			    ", expected %" PRIu64 " / %" PRIu64 " / %" PRIu64
			    "\n",
			    i, r.snapshot_id, r.align_us, r.subsumed_id,
			    e->snapshot, e->align_us, e->subsumed);
			sm_align_fini(&a);
			T_FAIL_("event %d gave the wrong result", i);
		}
		for (int in = 0; e->blocked != NULL && in < s->n_inputs;
		     in++) {
			int want = e->blocked[in] == '1';
			if ((sm_align_blocked(&a, in) != 0) != want) {
				sm_align_fini(&a);
				T_FAIL_("event %d: input %d should%s be "
					"blocked",
				    i, in, want ? "" : " not");
			}
		}
	}
	sm_align_fini(&a);
}

#define SCRIPT_TEST(name, ...)                                               \
	static void name(void)                                               \
	{                                                                    \
		static const struct script s = __VA_ARGS__;                  \
		run_script(&s);                                              \
	}

SCRIPT_TEST(a_single_input_snapshots_at_once_with_zero_alignment, {
	1, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 5, 1000), .snapshot = 5, .align_us = 0,
		    .blocked = "0" },
		{ B(0, 6, 2000), .snapshot = 6, .align_us = 0,
		    .blocked = "0" },
	} })

SCRIPT_TEST(the_first_barrier_blocks_its_input_in_exactly_once_mode, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 1, 100), .blocked = "10" },
	} })

SCRIPT_TEST(the_first_barrier_blocks_the_second_input_just_the_same, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(1, 1, 100), .blocked = "01" },
	} })

SCRIPT_TEST(at_least_once_mode_never_blocks_an_input, {
	3, SM_ALIGN_AT_LEAST_ONCE, {
		{ B(0, 1, 100), .blocked = "000" },
		{ B(2, 1, 150), .blocked = "000" },
		{ B(1, 1, 190), .snapshot = 1, .align_us = 90,
		    .blocked = "000" },
	} })

SCRIPT_TEST(snapshot_only_once_every_input_delivered_the_barrier, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 7, 100), .blocked = "100" },
		{ B(2, 7, 150), .blocked = "101" },
		{ B(1, 7, 400), .snapshot = 7, .align_us = 300,
		    .blocked = "000" },
	} })

SCRIPT_TEST(align_time_is_last_arrival_minus_first_arrival, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(1, 3, 1000000), .blocked = "01" },
		{ B(0, 3, 1012345), .snapshot = 3, .align_us = 12345,
		    .blocked = "00" },
	} })

SCRIPT_TEST(a_repeated_barrier_on_one_input_counts_once, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 2, 10), .blocked = "10" },
		{ B(0, 2, 20), .blocked = "10" },
		{ B(1, 2, 30), .snapshot = 2, .align_us = 20,
		    .blocked = "00" },
	} })

SCRIPT_TEST(after_a_snapshot_nothing_is_blocked_and_the_next_id_aligns, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 1, 10), .blocked = "10" },
		{ B(1, 1, 20), .snapshot = 1, .align_us = 10,
		    .blocked = "00" },
		{ B(1, 2, 50), .blocked = "01" },
		{ B(0, 2, 80), .snapshot = 2, .align_us = 30,
		    .blocked = "00" },
	} })

SCRIPT_TEST(a_higher_barrier_subsumes_the_alignment_in_progress, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 1, 100), .blocked = "100" },
		{ B(1, 1, 110), .blocked = "110" },
		/* checkpoint 1 is abandoned: its blocked inputs are free,
		 * alignment of 2 starts with only input 2 arrived */
		{ B(2, 2, 200), .subsumed = 1, .blocked = "001" },
		{ B(0, 2, 250), .blocked = "101" },
		{ B(1, 2, 300), .snapshot = 2, .align_us = 100,
		    .blocked = "000" },
	} })

SCRIPT_TEST(a_subsuming_barrier_from_an_arrived_input_restarts_alignment, {
	2, SM_ALIGN_AT_LEAST_ONCE, {
		{ B(0, 1, 100) },
		{ B(0, 2, 500), .subsumed = 1 },
		{ B(1, 2, 520), .snapshot = 2, .align_us = 20 },
	} })

SCRIPT_TEST(a_subsumed_checkpoint_barrier_arriving_later_is_stale, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 1, 100), .blocked = "10" },
		{ B(1, 2, 200), .subsumed = 1, .blocked = "01" },
		{ B(0, 1, 210), .blocked = "01" },
		{ B(0, 2, 260), .snapshot = 2, .align_us = 60,
		    .blocked = "00" },
	} })

SCRIPT_TEST(a_lower_barrier_during_an_alignment_is_ignored, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 5, 100), .blocked = "10" },
		{ B(1, 4, 110), .blocked = "10" },
		{ B(1, 5, 130), .snapshot = 5, .align_us = 30,
		    .blocked = "00" },
	} })

SCRIPT_TEST(barriers_of_a_finished_or_older_checkpoint_are_ignored, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 3, 100) },
		{ B(1, 3, 110), .snapshot = 3, .align_us = 10 },
		{ B(0, 3, 120), .blocked = "00" },
		{ B(1, 2, 130), .blocked = "00" },
		{ B(0, 1, 140), .blocked = "00" },
		{ B(1, 2, 150), .blocked = "00" },
		{ B(0, 4, 200), .blocked = "10" },
	} })

SCRIPT_TEST(an_ended_input_counts_as_having_delivered_later_barriers, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ E(1, 50), .blocked = "00" },
		{ B(0, 1, 100), .snapshot = 1, .align_us = 0,
		    .blocked = "00" },
		{ B(0, 2, 300), .snapshot = 2, .align_us = 0,
		    .blocked = "00" },
	} })

SCRIPT_TEST(end_of_data_completes_an_alignment_in_progress, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 4, 100), .blocked = "100" },
		{ B(1, 4, 120), .blocked = "110" },
		{ E(2, 180), .snapshot = 4, .align_us = 80,
		    .blocked = "000" },
	} })

SCRIPT_TEST(end_of_data_alone_does_not_complete_an_alignment, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 4, 100), .blocked = "100" },
		{ E(2, 180), .blocked = "100" },
		{ B(1, 4, 200), .snapshot = 4, .align_us = 100,
		    .blocked = "000" },
	} })

SCRIPT_TEST(end_of_data_without_an_alignment_snapshots_nothing, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ E(0, 10), .blocked = "00" },
		{ E(1, 20), .blocked = "00" },
	} })

SCRIPT_TEST(an_ended_input_still_counts_after_a_subsumption, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ E(2, 10) },
		{ B(0, 1, 100), .blocked = "100" },
		{ B(1, 2, 200), .subsumed = 1, .blocked = "010" },
		{ B(0, 2, 240), .snapshot = 2, .align_us = 40,
		    .blocked = "000" },
	} })

SCRIPT_TEST(a_barrier_after_end_of_data_on_that_input_counts_once, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ E(0, 10) },
		{ B(0, 1, 100) },
		{ B(1, 1, 150), .blocked = "110" },
		{ B(2, 1, 170), .snapshot = 1, .align_us = 70,
		    .blocked = "000" },
	} })

SCRIPT_TEST(abort_of_the_current_checkpoint_releases_blocked_inputs, {
	3, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 3, 100), .blocked = "100" },
		{ B(2, 3, 110), .blocked = "101" },
		{ A(3), .blocked = "000" },
		/* the rest of checkpoint 3 is stale now */
		{ B(1, 3, 120), .blocked = "000" },
		{ B(1, 4, 200), .blocked = "010" },
		{ B(0, 4, 210), .blocked = "110" },
		{ B(2, 4, 230), .snapshot = 4, .align_us = 30,
		    .blocked = "000" },
	} })

SCRIPT_TEST(abort_of_another_checkpoint_leaves_the_alignment_alone, {
	2, SM_ALIGN_EXACTLY_ONCE, {
		{ B(0, 3, 100), .blocked = "10" },
		{ A(2), .blocked = "10" },
		{ B(1, 3, 150), .snapshot = 3, .align_us = 50,
		    .blocked = "00" },
	} })

/* ---- init, all_ended --------------------------------------------------- */

static void
init_refuses_fewer_than_one_input(void)
{
	static const int bad[] = { 0, -1, -1000 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sm_align a;
		T_ERR(sm_align_init(&a, bad[i], SM_ALIGN_EXACTLY_ONCE),
		    SM_EINVAL);
	}
}

static void
all_ended_only_once_every_input_ended(void)
{
	static const struct {
		int n_inputs;
		const char *end_order; /* inputs, as digits */
	} cases[] = { { 1, "0" }, { 2, "10" }, { 4, "3102" } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sm_align a;
		struct sm_align_result r;
		T_OK(sm_align_init(&a, cases[c].n_inputs,
		    SM_ALIGN_EXACTLY_ONCE));
		int ok = !sm_align_all_ended(&a);
		size_t n = strlen(cases[c].end_order);
		for (size_t i = 0; ok && i < n; i++) {
			sm_align_end(&a, cases[c].end_order[i] - '0', 10, &r);
			ok = (sm_align_all_ended(&a) != 0) == (i + 1 == n);
			/* a repeated end changes nothing */
			sm_align_end(&a, cases[c].end_order[i] - '0', 11, &r);
			ok = ok &&
			    (sm_align_all_ended(&a) != 0) == (i + 1 == n);
		}
		sm_align_fini(&a);
		if (!ok)
			T_FAIL_("case %zu (%d inputs, order %s)", c,
			    cases[c].n_inputs, cases[c].end_order);
	}
}

/* ---- randomized run against a reference model -------------------------- */

/*
 * The model restates align.h's rules as directly as possible: a set of
 * inputs that delivered `cur`, a set that ended, and `done` (the highest id
 * snapshotted, subsumed or aborted).
 */
struct model {
	int n;
	int eo;
	uint64_t cur, done, start;
	int arrived[8], ended[8];
};

static void
model_finish(struct model *m, uint64_t now, struct sm_align_result *r)
{
	if (m->cur == 0)
		return;
	for (int i = 0; i < m->n; i++)
		if (!m->arrived[i] && !m->ended[i])
			return;
	r->snapshot_id = m->cur;
	r->align_us = now - m->start;
	m->done = m->cur;
	m->cur = 0;
	memset(m->arrived, 0, sizeof(m->arrived));
}

static void
model_barrier(struct model *m, int in, uint64_t id, uint64_t now,
    struct sm_align_result *r)
{
	memset(r, 0, sizeof(*r));
	if (id <= m->done || (m->cur != 0 && id < m->cur))
		return;
	if (id > m->cur) {
		if (m->cur != 0) {
			r->subsumed_id = m->cur;
			m->done = m->cur;
		}
		memset(m->arrived, 0, sizeof(m->arrived));
		m->cur = id;
		m->start = now;
	}
	m->arrived[in] = 1;
	model_finish(m, now, r);
}

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: good enough and identical everywhere */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
randomized_events_agree_with_a_reference_model(void)
{
	uint64_t seed = (uint64_t) time(NULL);
	const char *env = getenv("SM_TEST_SEED");
	if (env != NULL)
		seed = strtoull(env, NULL, 0);
	printf("  seed %" PRIu64 " (set SM_TEST_SEED to replay)\n", seed);
	uint64_t rng = seed;
	int snapshots = 0, subsumed = 0;

	for (int run = 0; run < 300; run++) {
		struct model m;
		struct sm_align a;
		memset(&m, 0, sizeof(m));
		m.n = 1 + (int) (rng_next(&rng) % 5);
		m.eo = rng_next(&rng) % 4 != 0;
		T_OK(sm_align_init(&a, m.n, m.eo ? SM_ALIGN_EXACTLY_ONCE :
		    SM_ALIGN_AT_LEAST_ONCE));
		uint64_t now = rng_next(&rng) % 1000, top = 0;
		for (int step = 0; step < 400; step++) {
			struct sm_align_result got, want;
			uint64_t pick = rng_next(&rng) % 100;
			int in = (int) (rng_next(&rng) % (uint64_t) m.n);
			now += rng_next(&rng) % 50;
			const char *what;
			uint64_t id = 0;
			if (pick < 80) {
				/* mostly the newest id, sometimes older or
				 * a jump ahead */
				uint64_t d = rng_next(&rng) % 8;
				id = d < 5 ? top : d < 7 ? top + 1 :
				    (top > 2 ? top - 2 : 1);
				if (id == 0)
					id = 1;
				if (id > top)
					top = id;
				what = "barrier";
				sm_align_barrier(&a, in, id, now, &got);
				model_barrier(&m, in, id, now, &want);
			} else if (pick < 83 && !m.ended[in]) {
				what = "end";
				sm_align_end(&a, in, now, &got);
				memset(&want, 0, sizeof(want));
				m.ended[in] = 1;
				model_finish(&m, now, &want);
			} else if (pick < 90 && m.cur != 0) {
				/* abort the current one or an older one */
				what = "abort";
				id = rng_next(&rng) % 2 ? m.cur : m.done;
				sm_align_abort(&a, id);
				if (id == m.cur) {
					m.done = m.cur;
					m.cur = 0;
					memset(m.arrived, 0,
					    sizeof(m.arrived));
				}
				memset(&got, 0, sizeof(got));
				memset(&want, 0, sizeof(want));
			} else {
				continue;
			}
			int bad = got.snapshot_id != want.snapshot_id ||
			    got.subsumed_id != want.subsumed_id ||
			    (want.snapshot_id != 0 &&
				got.align_us != want.align_us);
			for (int i = 0; !bad && i < m.n; i++)
				bad = (sm_align_blocked(&a, i) != 0) !=
				    (m.eo && m.cur != 0 && m.arrived[i]);
			int all = 1;
			for (int i = 0; i < m.n; i++)
				all = all && m.ended[i];
			bad = bad || (sm_align_all_ended(&a) != 0) != all;
			if (bad) {
				sm_align_fini(&a);
				T_FAIL_("seed %" PRIu64 " run %d step %d: "
					"%s input %d id %" PRIu64
					": got snapshot %" PRIu64
					" subsumed %" PRIu64
					", model %" PRIu64 " / %" PRIu64,
				    seed, run, step, what, in, id,
				    got.snapshot_id, got.subsumed_id,
				    want.snapshot_id, want.subsumed_id);
			}
			snapshots += want.snapshot_id != 0;
			subsumed += want.subsumed_id != 0;
		}
		sm_align_fini(&a);
	}
	/* the generator must have exercised both interesting outcomes */
	T_TRUE(snapshots > 1000);
	T_TRUE(subsumed > 100);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(a_single_input_snapshots_at_once_with_zero_alignment),
	T(the_first_barrier_blocks_its_input_in_exactly_once_mode),
	T(the_first_barrier_blocks_the_second_input_just_the_same),
	T(at_least_once_mode_never_blocks_an_input),
	T(snapshot_only_once_every_input_delivered_the_barrier),
	T(align_time_is_last_arrival_minus_first_arrival),
	T(a_repeated_barrier_on_one_input_counts_once),
	T(after_a_snapshot_nothing_is_blocked_and_the_next_id_aligns),
	T(a_higher_barrier_subsumes_the_alignment_in_progress),
	T(a_subsuming_barrier_from_an_arrived_input_restarts_alignment),
	T(a_subsumed_checkpoint_barrier_arriving_later_is_stale),
	T(a_lower_barrier_during_an_alignment_is_ignored),
	T(barriers_of_a_finished_or_older_checkpoint_are_ignored),
	T(an_ended_input_counts_as_having_delivered_later_barriers),
	T(end_of_data_completes_an_alignment_in_progress),
	T(end_of_data_alone_does_not_complete_an_alignment),
	T(end_of_data_without_an_alignment_snapshots_nothing),
	T(an_ended_input_still_counts_after_a_subsumption),
	T(a_barrier_after_end_of_data_on_that_input_counts_once),
	T(abort_of_the_current_checkpoint_releases_blocked_inputs),
	T(abort_of_another_checkpoint_leaves_the_alignment_alone),
	T(init_refuses_fewer_than_one_input),
	T(all_ended_only_once_every_input_ended),
	T(randomized_events_agree_with_a_reference_model),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
