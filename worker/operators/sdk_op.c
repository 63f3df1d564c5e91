/*
 * sdk_op.c - a user operator (a plugin, sdk/plugin.h, or a built-in SDK
 * operator it resolves) run as a task's operator: the adapter between
 * struct sm_op_ops, which the task drives, and struct snapmark_operator,
 * which speaks to the runtime through the task's host (worker/host.h).
 *
 * The operator's keyed state and timers live in one change-tracked
 * kvstate owned here, so a snapshot takes the keyed changes in O(1) like
 * the built-in count does (the same snapshot data path: incremental
 * snapshots, the async writer, retention, savepoints and rescale by key
 * group), with the operator's own state items next to them. In a keyed
 * stage (every input a hash edge) process runs once per record with the
 * record's key current; timers fire with their key current.
 *
 * Failing: a callback that returns anything but SNAPMARK_OK fails the task
 * with the message the operator gave snapmark_fail, logged as "task
 * STAGE.SUBTASK: operator NAME failed: MESSAGE"; that text (from
 * "operator") is the reason the task reports. A runtime error behind the
 * failure (a lost channel, a stop) wins: the task ends for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "sdk/plugin.h"
#include "worker/host.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"
#include "worker/timers.h"

struct sdk_op {
	const struct sm_plugin *plugin;
	const struct snapmark_operator *op; /* &plugin->op */
	void *config;
	void *self;
	int opened;
	int keyed; /* every input is a hash edge */
	/* A source's watermark announced inside produce: its timers and
	 * on_watermark run once produce returned, not inside it. */
	int in_produce;
	int64_t pending_wm;
	struct sm_kvstate kv;
	struct sm_timers timers;
	struct sm_host host;
	char task_name[SM_JOB_NAME_MAX + 16];
};

/* What a callback's return means for the task. */
static int
sdk_result(struct sm_op *op, const char *callback, int rv)
{
	struct sdk_op *s = op->impl;
	int err = s->host.err;
	s->host.err = SM_OK;
	if (err != SM_OK)
		return err; /* the runtime's error: the task ends for it */
	if (rv == SNAPMARK_OK)
		return SM_OK;
	char msg[256];
	if (s->host.why[0] != '\0')
		snprintf(msg, sizeof(msg), "%s", s->host.why);
	else
		snprintf(msg, sizeof(msg),
		    "%s returned %d without saying why (snapmark_fail)",
		    callback, rv);
	sm_op_fail(op, "operator %s failed: %s", s->op->name, msg);
	sm_error("task %s: %s", s->task_name, op->why);
	return rv == SNAPMARK_NOMEM ? SM_ENOMEM : SM_EINVAL;
}

static void
sdk_before(struct sdk_op *s)
{
	s->host.why[0] = '\0';
	s->host.err = SM_OK;
}

static int
sdk_stage_keyed(const struct sm_job_stage *st)
{
	if (st->n_inputs == 0)
		return 0;
	for (int i = 0; i < st->n_inputs; i++)
		if (st->inputs[i].edge != SM_EDGE_HASH)
			return 0;
	return 1;
}

static void sdk_close(struct sm_op *op);

static int
sdk_open(struct sm_op *op)
{
	const struct sm_op_ctx *c = &op->ctx;
	const struct sm_job_stage *st = &c->job->stages[c->stage];
	const char *lib = sm_job_library(c->job, c->stage);
	struct sdk_op *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	op->impl = s;
	if (c->task_name != NULL)
		snprintf(s->task_name, sizeof(s->task_name), "%s",
		    c->task_name);
	else
		sm_job_task_name(c->job, c->task, s->task_name,
		    sizeof(s->task_name));
	char err[256];
	int line = 0;
	int rv = sm_plugin_load(lib != NULL ? lib : "", st->user_op,
	    &s->plugin, err, sizeof(err));
	if (rv == SM_OK) {
		struct snapmark_option opts[SM_JOB_MAX_OPTIONS];
		size_t n =
		    sm_job_options(c->job, c->stage, opts, SM_JOB_MAX_OPTIONS);
		rv = sm_plugin_configure(s->plugin, opts, n, &s->config, &line,
		    err, sizeof(err));
	}
	if (rv != SM_OK) {
		sm_op_fail(op, "operator %s failed: %s", st->user_op, err);
		sm_error("task %s: %s", s->task_name, op->why);
		free(s);
		op->impl = NULL;
		return rv;
	}
	s->op = &s->plugin->op;
	s->keyed = sdk_stage_keyed(st);
	if ((rv = sm_kvstate_init(&s->kv)) != SM_OK) {
		sm_plugin_free_config(s->plugin, s->config);
		free(s);
		op->impl = NULL;
		return rv;
	}
	if ((rv = sm_timers_init(&s->timers, &s->kv)) != SM_OK) {
		sm_kvstate_fini(&s->kv);
		sm_plugin_free_config(s->plugin, s->config);
		free(s);
		op->impl = NULL;
		return rv;
	}
	sm_host_init(&s->host, c->job, c->stage, c->subtask, s->task_name,
	    s->op->name, c->out, c->watermark, &s->kv, &s->timers);
	if (s->op->open != NULL) {
		sdk_before(s);
		rv = sdk_result(op, "open",
		    s->op->open(&s->host.ctx, s->config, &s->self));
	}
	if (rv != SM_OK) {
		sdk_close(op); /* no instance: the operator's close not run */
		return rv;
	}
	s->opened = 1;
	return SM_OK;
}

static int sdk_event_time(struct sm_op *op, int64_t wm,
    struct sm_emitter *out);

static int
sdk_generate(struct sm_op *op, struct sm_emitter *out, size_t max,
    size_t *produced, int *done)
{
	struct sdk_op *s = op->impl;
	uint64_t before = s->host.emitted;
	int d = 0;
	sdk_before(s);
	s->in_produce = 1;
	s->pending_wm = SNAPMARK_NO_TIME;
	int prv = s->op->produce(s->self, &s->host.ctx, max, &d);
	s->in_produce = 0;
	int rv = sdk_result(op, "produce", prv);
	*produced = (size_t) (s->host.emitted - before);
	*done = d != 0;
	if (rv == SM_OK && s->pending_wm != SNAPMARK_NO_TIME)
		rv = sdk_event_time(op, s->pending_wm, out);
	return rv;
}

static int
sdk_process(struct sm_op *op, const struct snapmark_record *recs, size_t n,
    struct sm_emitter *out)
{
	struct sdk_op *s = op->impl;
	if (s->op->process == NULL)
		return out->emit_many(out, recs, n);
	if (!s->keyed) {
		sdk_before(s);
		return sdk_result(op, "process",
		    s->op->process(s->self, &s->host.ctx, recs, n));
	}
	int rv = SM_OK;
	for (size_t i = 0; i < n && rv == SM_OK; i++) {
		rv = sm_host_set_key(&s->host, recs[i].key, recs[i].key_len);
		if (rv != SM_OK)
			break;
		sdk_before(s);
		rv = sdk_result(op, "process",
		    s->op->process(s->self, &s->host.ctx, &recs[i], 1));
	}
	sm_host_clear_key(&s->host);
	return rv;
}

/* Fire domain's timers due by upto, in (time, key) order, each with its
 * key current; a timer set meanwhile for a time <= upto fires too. */
static int
sdk_fire(struct sm_op *op, int domain, int64_t upto)
{
	struct sdk_op *s = op->impl;
	struct sm_timer tm;
	int rv = SM_OK;
	while (rv == SM_OK) {
		int prv = sm_timers_pop(&s->timers, domain, upto, &tm);
		if (prv == SM_ENOTFOUND)
			break;
		if (prv != SM_OK) {
			rv = prv;
			break;
		}
		if (s->op->on_timer == NULL)
			continue;
		/* tm.key lives until the next sm_timers call: copied. */
		if ((rv = sm_host_set_key(&s->host, tm.key, tm.key_len)) !=
		    SM_OK)
			break;
		sdk_before(s);
		rv = sdk_result(op, "on_timer",
		    s->op->on_timer(s->self, &s->host.ctx,
		        (enum snapmark_time_domain) domain, tm.time));
	}
	sm_host_clear_key(&s->host);
	return rv;
}

static int
sdk_event_time(struct sm_op *op, int64_t wm, struct sm_emitter *out)
{
	struct sdk_op *s = op->impl;
	(void) out;
	if (s->in_produce) {
		s->pending_wm = wm;
		return SM_OK;
	}
	int rv = sdk_fire(op, SNAPMARK_EVENT_TIME, wm);
	if (rv == SM_OK && s->op->on_watermark != NULL) {
		sdk_before(s);
		rv = sdk_result(op, "on_watermark",
		    s->op->on_watermark(s->self, &s->host.ctx, wm));
	}
	return rv;
}

static int
sdk_processing_time(struct sm_op *op, int64_t now_ms, struct sm_emitter *out,
    int64_t *next_ms)
{
	struct sdk_op *s = op->impl;
	(void) out;
	const struct sm_timer_heap *h =
	    &s->timers.heap[SNAPMARK_PROCESSING_TIME];
	int rv = SM_OK;
	if (h->n > 0 && h->a[0].time <= now_ms)
		rv = sdk_fire(op, SNAPMARK_PROCESSING_TIME, now_ms);
	/* The heap's top (a deleted timer there only wakes the task early). */
	*next_ms = h->n > 0 ? h->a[0].time : SNAPMARK_NO_TIME;
	return rv;
}

static int
sdk_end_input(struct sm_op *op, struct sm_emitter *out)
{
	struct sdk_op *s = op->impl;
	(void) out;
	if (s->op->end_input == NULL)
		return SM_OK;
	sdk_before(s);
	return sdk_result(op, "end_input",
	    s->op->end_input(s->self, &s->host.ctx));
}

static void
sdk_free_items(struct sm_snapshot_data *d)
{
	for (size_t i = 0; i < d->n_op_state; i++)
		free(d->op_state[i].data);
	free(d->op_state);
	d->op_state = NULL;
	d->n_op_state = 0;
}

static int
sdk_snapshot(struct sm_op *op, uint64_t checkpoint_id,
    struct sm_snapshot_data *out)
{
	struct sdk_op *s = op->impl;
	int rv = SM_OK;
	if (s->op->snapshot != NULL) {
		s->host.snap = out;
		sdk_before(s);
		rv = sdk_result(op, "snapshot",
		    s->op->snapshot(s->self, &s->host.ctx, checkpoint_id));
		s->host.snap = NULL;
		if (rv != SM_OK) {
			sdk_free_items(out);
			return rv;
		}
	}
	/* Keyed state and timers: the changes since the last capture,
	 * handed over whole (O(1)), as op_count does. */
	rv = sm_kvstate_snapshot(&s->kv, out);
	if (rv != SM_OK)
		sdk_free_items(out);
	return rv;
}

static void
sdk_snapshot_release(struct sm_op *op, struct sm_snapshot_data *d)
{
	(void) op;
	sm_kvstate_snapshot_release(d);
	sdk_free_items(d); /* what the writer did not take */
}

static int
sdk_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	struct sdk_op *s = op->impl;
	/* What was restored is already in the snapshot chain: not a change. */
	int rv = sm_kvstate_load(&s->kv, in->entries, in->n_entries);
	if (rv == SM_OK)
		rv = sm_timers_rebuild(&s->timers);
	if (rv != SM_OK || checkpoint_id == 0 || s->op->restore == NULL)
		return rv;
	s->host.items = in->op_state;
	s->host.n_items = in->n_op_state;
	s->host.restoring = 1;
	sdk_before(s);
	rv = sdk_result(op, "restore",
	    s->op->restore(s->self, &s->host.ctx, checkpoint_id));
	s->host.restoring = 0;
	s->host.items = NULL;
	s->host.n_items = 0;
	return rv;
}

static int
sdk_notify_complete(struct sm_op *op, uint64_t checkpoint_id)
{
	struct sdk_op *s = op->impl;
	if (s->op->checkpoint_complete == NULL)
		return SM_OK;
	sdk_before(s);
	return sdk_result(op, "checkpoint_complete",
	    s->op->checkpoint_complete(s->self, &s->host.ctx, checkpoint_id));
}

static void
sdk_close(struct sm_op *op)
{
	struct sdk_op *s = op->impl;
	if (s == NULL)
		return;
	if (s->opened && s->op->close != NULL)
		s->op->close(s->self, &s->host.ctx);
	sm_plugin_free_config(s->plugin, s->config);
	sm_host_fini(&s->host);
	sm_timers_fini(&s->timers);
	sm_kvstate_fini(&s->kv);
	free(s);
	op->impl = NULL;
}

const struct sm_op_ops sm_op_sdk = {
	.open = sdk_open,
	.generate = sdk_generate,
	.process = sdk_process,
	.end_input = sdk_end_input,
	.snapshot = sdk_snapshot,
	.snapshot_release = sdk_snapshot_release,
	.restore = sdk_restore,
	.notify_complete = sdk_notify_complete,
	.close = sdk_close,
	.event_time = sdk_event_time,
	.processing_time = sdk_processing_time,
};
