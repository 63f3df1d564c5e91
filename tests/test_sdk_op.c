/*
 * test_sdk_op.c - the adapter that runs a user operator as a task's
 * operator (worker/operators/sdk_op.c), with the keyed_sum test plugin
 * (tests/plugins/keyed_sum.c) and no cluster: a keyed stage processes
 * record by record with its key current; event-time timers fire when the
 * watermark reaches them, in (time, key) order, and not before; a
 * snapshot hands over the keyed changes (timers included) and the
 * operator's items, and a new instance restored from them fires the same
 * windows; a failing callback fails with the operator's message; a bad
 * option fails the open with configure's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobfile.h"
#include "common/state.h"
#include "tests/check.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"

static const char job_text[] =
    "[job]\nname = sdkop\n"
    "[stage src]\noperator = gen\n"
    "[stage sum]\noperator = keyed_sum\n"
    "library = " SM_TEST_PLUGIN_DIR "/libkeyed_sum.so\n"
    "input = src hash\n"
    "[stage failing]\noperator = keyed_sum\n"
    "library = " SM_TEST_PLUGIN_DIR "/libkeyed_sum.so\n"
    "input = src hash\nfail_on_value = 7\n"
    "[stage badopt]\noperator = keyed_sum\n"
    "library = " SM_TEST_PLUGIN_DIR "/libkeyed_sum.so\n"
    "input = src hash\nfail_on_value = seven\n";

static struct sm_job job;

struct capture {
	struct sm_emitter base;
	char got[2048];
};

static int
cap_emit(struct sm_emitter *e, const struct snapmark_record *r)
{
	struct capture *c = (struct capture *) e;
	size_t used = strlen(c->got);
	snprintf(c->got + used, sizeof(c->got) - used, "%.*s:%.*s|",
	    (int) r->key_len, (const char *) r->key, (int) r->value_len,
	    (const char *) r->value);
	return SM_OK;
}

static int
cap_emit_many(struct sm_emitter *e, const struct snapmark_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cap_emit(e, &r[i]);
	return SM_OK;
}

static int
cap_watermark(struct sm_emitter *e, int64_t t)
{
	(void) e;
	(void) t;
	return SM_OK;
}

static struct capture out;
static int64_t wm = SNAPMARK_NO_TIME;

static int
open_stage(const char *name, struct sm_op **op, char *why, size_t whylen)
{
	char err[256];
	if (job.n_stages == 0 &&
	    sm_job_parse(job_text, "sdkop.ini", &job, err, sizeof(err)) !=
	        SM_OK) {
		fprintf(stderr, "  %s\n", err);
		return SM_EINVAL;
	}
	out.base.emit = cap_emit;
	out.base.emit_many = cap_emit_many;
	out.base.watermark = cap_watermark;
	int stage = -1;
	for (int i = 0; i < job.n_stages; i++)
		if (strcmp(job.stages[i].name, name) == 0)
			stage = i;
	if (stage < 0)
		return SM_ENOTFOUND;
	struct sm_op_ctx ctx = { .job = &job,
		.stage = stage,
		.task = job.stages[stage].first_task,
		.epoch = 1,
		.run_dir = "/nonexistent",
		.out = &out.base,
		.watermark = &wm,
		.task_name = name,
		.why = why,
		.whylen = whylen };
	return sm_operator_open(&ctx, op);
}

/* A gen-shaped record: key 8 bytes BE, value u32 subtask, u64 seq, i64
 * value (BE); event time ts. */
struct rec {
	unsigned char k[8], v[20];
	struct snapmark_record r;
};

static void
make(struct rec *x, uint64_t key, uint64_t seq, int64_t value, int64_t ts)
{
	memset(x, 0, sizeof(*x));
	sm_put_be64(x->k, key);
	sm_put_be64(x->v + 4, seq);
	sm_put_be64(x->v + 12, (uint64_t) value);
	x->r = (struct snapmark_record) { .key = x->k,
		.key_len = 8,
		.value = x->v,
		.value_len = 20,
		.timestamp = ts };
}

static int
feed(struct sm_op *op)
{
	/* key 2 then key 1 in window 1000, key 1 in window 2000 */
	struct rec r[4];
	make(&r[0], 2, 0, 5, 10);
	make(&r[1], 1, 1, 3, 20);
	make(&r[2], 1, 2, 4, 999);
	make(&r[3], 1, 3, 100, 1500);
	struct snapmark_record batch[4];
	for (int i = 0; i < 4; i++)
		batch[i] = r[i].r;
	return op->ops->process(op, batch, 4, &out.base);
}

static void
keyed_windows_fire_by_watermark(void)
{
	struct sm_op *op = NULL;
	char why[256] = "";
	T_OK(open_stage("sum", &op, why, sizeof(why)));
	out.got[0] = '\0';
	T_OK(feed(op));
	T_EQ_STR(out.got, "");
	wm = 999;
	T_OK(op->ops->event_time(op, wm, &out.base));
	T_EQ_STR(out.got, "");
	wm = 1000;
	T_OK(op->ops->event_time(op, wm, &out.base));
	T_EQ_STR(out.got, "1:1000 7 2|2:1000 5 1|");
	out.got[0] = '\0';
	wm = INT64_MAX; /* the end of input */
	T_OK(op->ops->event_time(op, wm, &out.base));
	T_EQ_STR(out.got, "1:2000 100 1|");
	sm_operator_close(op);
}

static void
snapshot_and_restore_bring_state_and_timers_back(void)
{
	struct sm_op *op = NULL, *op2 = NULL;
	char why[256] = "";
	wm = SNAPMARK_NO_TIME;
	T_OK(open_stage("sum", &op, why, sizeof(why)));
	T_OK(feed(op));
	struct sm_snapshot_data d;
	memset(&d, 0, sizeof(d));
	T_OK(op->ops->snapshot(op, 7, &d));
	T_TRUE(d.incremental && d.delta != NULL);
	T_EQ_INT(d.n_op_state, 1);
	T_TRUE(d.op_state[0].len > 10 &&
	    memcmp(d.op_state[0].data, "keyed_sum ", 10) == 0);
	/* windows of keys 1 and 2, the records counters, 3 timers */
	T_EQ_INT(d.full_entries, 7);
	struct sm_state_entry *e;
	size_t n;
	T_OK(sm_kvdelta_flatten(d.delta, &e, &n));
	T_EQ_INT(n, 7);
	/* The first instance fires its windows; the state it had at the
	 * snapshot is what a restore brings back. */
	out.got[0] = '\0';
	wm = INT64_MAX; /* the task's watermark is set before the hook */
	T_OK(op->ops->event_time(op, INT64_MAX, &out.base));
	const char *want = "1:1000 7 2|2:1000 5 1|1:2000 100 1|";
	T_EQ_STR(out.got, want);

	T_OK(open_stage("sum", &op2, why, sizeof(why)));
	struct sm_snapshot_data in;
	memset(&in, 0, sizeof(in));
	in.entries = e;
	in.n_entries = n;
	in.op_state = d.op_state;
	in.n_op_state = d.n_op_state;
	T_OK(op2->ops->restore(op2, 7, &in));
	wm = 999;
	out.got[0] = '\0';
	T_OK(op2->ops->event_time(op2, 999, &out.base));
	T_EQ_STR(out.got, ""); /* restored timers wait for the watermark */
	wm = INT64_MAX;
	T_OK(op2->ops->event_time(op2, INT64_MAX, &out.base));
	T_EQ_STR(out.got, want);
	free(e);
	op->ops->snapshot_release(op, &d);
	sm_operator_close(op2);
	sm_operator_close(op);
}

static void
a_failing_callback_fails_with_its_message(void)
{
	struct sm_op *op = NULL;
	char why[256] = "";
	T_OK(open_stage("failing", &op, why, sizeof(why)));
	struct rec r;
	make(&r, 9, 3, 7, 3);
	T_ERR(op->ops->process(op, &r.r, 1, &out.base), SM_EINVAL);
	T_EQ_STR(op->why,
	    "operator keyed_sum failed: fail_on_value 7 seen (seq 3)");
	sm_operator_close(op);
	/* configure refuses: the open fails saying so */
	op = NULL;
	T_ERR(open_stage("badopt", &op, why, sizeof(why)), SM_EINVAL);
	T_TRUE(op == NULL);
	T_TRUE(strstr(why, "operator keyed_sum failed: ") == why);
	T_TRUE(strstr(why, "fail_on_value must be an integer") != NULL);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(keyed_windows_fire_by_watermark),
	T(snapshot_and_restore_bring_state_and_timers_back),
	T(a_failing_callback_fails_with_its_message),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
