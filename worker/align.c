/*
 * align.c - the barrier alignment state machine (see align.h).
 */
#include "worker/align.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int
sm_align_init(struct sm_align *a, int n_inputs, enum sm_align_mode mode)
{
	if (n_inputs < 1)
		return SM_EINVAL;
	memset(a, 0, sizeof(*a));
	a->arrived = calloc((size_t) n_inputs, 1);
	a->ended = calloc((size_t) n_inputs, 1);
	if (a->arrived == NULL || a->ended == NULL) {
		sm_align_fini(a);
		return SM_ENOMEM;
	}
	a->n_inputs = n_inputs;
	a->mode = mode;
	return SM_OK;
}

void
sm_align_fini(struct sm_align *a)
{
	free(a->arrived);
	free(a->ended);
	a->arrived = a->ended = NULL;
}

static void
align_reset(struct sm_align *a, uint64_t done)
{
	memset(a->arrived, 0, (size_t) a->n_inputs);
	a->n_arrived = 0;
	a->current = 0;
	if (done > a->last_done)
		a->last_done = done;
}

static int
align_inputs_ended(const struct sm_align *a)
{
	int n = 0;
	for (int i = 0; i < a->n_inputs; i++)
		n += a->ended[i] && !a->arrived[i];
	return n;
}

/* Complete the current alignment if every input delivered or ended. */
static void
align_try_finish(struct sm_align *a, uint64_t now_us,
    struct sm_align_result *res)
{
	if (a->current == 0 ||
	    a->n_arrived + align_inputs_ended(a) < a->n_inputs)
		return;
	res->snapshot_id = a->current;
	res->align_us = now_us - a->started_us;
	align_reset(a, a->current);
}

void
sm_align_barrier(struct sm_align *a, int input, uint64_t id,
    uint64_t now_us, struct sm_align_result *res)
{
	memset(res, 0, sizeof(*res));
	if (input < 0 || input >= a->n_inputs || id <= a->last_done ||
	    id < a->current)
		return;
	if (id > a->current) {
		if (a->current != 0) {
			res->subsumed_id = a->current;
			align_reset(a, a->current);
		}
		a->current = id;
		a->started_us = now_us;
	}
	if (!a->arrived[input]) {
		a->arrived[input] = 1;
		a->n_arrived++;
	}
	align_try_finish(a, now_us, res);
}

void
sm_align_end(struct sm_align *a, int input, uint64_t now_us,
    struct sm_align_result *res)
{
	memset(res, 0, sizeof(*res));
	if (input < 0 || input >= a->n_inputs)
		return;
	a->ended[input] = 1;
	align_try_finish(a, now_us, res);
}

void
sm_align_abort(struct sm_align *a, uint64_t id)
{
	if (a->current != 0 && a->current == id)
		align_reset(a, id);
	else if (id > a->last_done && a->current == 0)
		a->last_done = id;
}

int
sm_align_blocked(const struct sm_align *a, int input)
{
	if (a->mode != SM_ALIGN_EXACTLY_ONCE || a->current == 0 ||
	    input < 0 || input >= a->n_inputs)
		return 0;
	return a->arrived[input];
}

int
sm_align_all_ended(const struct sm_align *a)
{
	for (int i = 0; i < a->n_inputs; i++)
		if (!a->ended[i])
			return 0;
	return 1;
}
