/*
 * test_checkpointer.c - the checkpointer (coordinator/checkpointer.h)
 * driven through a fake I/O seam (tests/fake_coord.h) and a real catalog:
 * triggers, acks in any order, timeouts, declines, a worker dying
 * mid-checkpoint, a trigger that does not reach a worker, savepoints, the
 * final checkpoint, and the CLI's view of checkpoints in flight.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tests/fake_coord.h"
#include "coordinator/cli_answer.h"
#include "coordinator/inflight.h"

/* Two sources feeding two sinks over two workers: tasks 0 (src.0) and 2
 * (sink.0) on worker 1, tasks 1 (src.1) and 3 (sink.1) on worker 2. */
#define JOB                                                                  \
	"[job]\nname = t\n"                                                  \
	"[checkpoint]\ninterval_ms = 0\ntimeout_ms = 1000\n"                 \
	"tolerable_failures = 1\nretained = 2\n"                             \
	"[restart]\nstrategy = fixed-delay\nattempts = 5\ndelay_ms = 0\n"    \
	"[stage src]\noperator = gen\nparallelism = 2\nrecords = 10\n"       \
	"[stage sink]\noperator = file\nparallelism = 2\n"                   \
	"input = src forward\n"

#define JOB_NO_TOLERANCE                                                     \
	"[job]\nname = t\n"                                                  \
	"[checkpoint]\ninterval_ms = 0\ntimeout_ms = 1000\n"                 \
	"tolerable_failures = 0\n"                                           \
	"[restart]\nstrategy = fixed-delay\nattempts = 5\ndelay_ms = 0\n"    \
	"[stage src]\noperator = gen\nparallelism = 2\nrecords = 10\n"       \
	"[stage sink]\noperator = file\nparallelism = 2\n"                   \
	"input = src forward\n"

#define JOB_PERIODIC                                                         \
	"[job]\nname = t\n"                                                  \
	"[checkpoint]\ninterval_ms = 500\ntimeout_ms = 1000\n"               \
	"[stage src]\noperator = gen\nparallelism = 2\nrecords = 10\n"       \
	"[stage sink]\noperator = file\nparallelism = 2\n"                   \
	"input = src forward\n"

#define BODY_TRIGGER SNAPMARK__CONTROL__BODY_TRIGGER
#define BODY_COMPLETE SNAPMARK__CONTROL__BODY_COMPLETE
#define BODY_ABORT SNAPMARK__CONTROL__BODY_ABORT
#define BODY_STOP SNAPMARK__CONTROL__BODY_STOP
#define BODY_FINISH SNAPMARK__CONTROL__BODY_FINISH
#define COMPLETED SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED
#define FAILED SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED

/* ---- trigger ----------------------------------------------------------- */

COORD_TEST(trigger_sends_each_worker_its_sources, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	fake_clear(&fx->io);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 1, 0, NULL, 0, &id));
	T_EQ_INT(id, 1);
	T_EQ_INT(fx->io.n_sent, 2);
	const Snapmark__Control *m1 = fake_find(&fx->io, BODY_TRIGGER, 1);
	const Snapmark__Control *m2 = fake_find(&fx->io, BODY_TRIGGER, 2);
	T_TRUE(m1 != NULL && m2 != NULL);
	T_EQ_INT(m1->trigger->task, 0);
	T_EQ_INT(m1->trigger->n_more_tasks, 0);
	T_EQ_INT(m2->trigger->task, 1);
	T_EQ_INT(m2->trigger->n_more_tasks, 0);
	T_EQ_INT(m1->trigger->checkpoint_id, 1);
	T_EQ_INT(m1->trigger->epoch, fx->c.epoch);
	T_EQ_INT(fx->c.n_pending, 1);
	T_TRUE(coord_find_pending(&fx->c, 1) != NULL);
}

COORD_TEST(trigger_refused_unless_running, JOB, 2)
{
	uint64_t id = 99;
	T_ERR(coord_trigger(&fx->c, 1, 0, NULL, 0, &id), SM_EAGAIN);
	T_EQ_INT(id, 99);
	T_EQ_INT(fx->io.n_sent, 0);
	T_EQ_INT(fx->c.n_pending, 0);
}

COORD_TEST(trigger_not_delivered_fails_the_checkpoint_at_once, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	fake_clear(&fx->io);
	fx->io.fail_worker = 2;
	fx->io.fail_rv = SM_ETIMEDOUT;
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 1, 0, NULL, 0, &id));
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fx->c.consecutive_failures, 1);
	/* worker 1 got the trigger and then the abort */
	T_EQ_INT(fake_count(&fx->io, BODY_TRIGGER, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 1), 1);
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int failed = r->status == FAILED && r->failure_reason != NULL &&
	    strstr(r->failure_reason, "did not reach worker 2") != NULL;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(failed);
}

/* ---- acks -------------------------------------------------------------- */

COORD_TEST(acks_in_any_order_complete_exactly_once, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fake_clear(&fx->io);
	static const uint32_t order[] = { 3, 0, 2 };
	for (int i = 0; i < 3; i++)
		fixture_ack(fx, id, order[i], NULL);
	fixture_ack(fx, id, 0, NULL); /* a resend counts once */
	T_EQ_INT(coord_find_pending(&fx->c, id)->n_acked, 3);
	T_EQ_INT(fx->io.n_sent, 0);
	uint64_t latest = 0;
	T_OK(coord_catalog_latest(fx->c.cat, &latest));
	T_EQ_INT(latest, 0);

	fixture_ack(fx, id, 1, NULL);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fake_count(&fx->io, BODY_COMPLETE, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_COMPLETE, 2), 1);
	T_EQ_INT(fx->io.n_sent, 2);
	const Snapmark__Control *m = fake_find(&fx->io, BODY_COMPLETE, 1);
	T_EQ_INT(m->complete->checkpoint_id, id);
	T_EQ_INT(m->complete->n_retained, 1);
	T_EQ_INT(m->complete->retained[0], id);
	T_TRUE(!m->complete->has_confirm || !m->complete->confirm);
	T_OK(coord_catalog_latest(fx->c.cat, &latest));
	T_EQ_INT(latest, id);
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int ok = r->status == COMPLETED && r->n_tasks == 4 &&
	    r->tasks[1]->handle->bytes == 200;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);

	/* a late ack of the completed checkpoint changes nothing */
	fixture_ack(fx, id, 2, NULL);
	T_EQ_INT(fx->io.n_sent, 2);
}

COORD_TEST(retained_lists_the_newest_completed, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t a = fixture_checkpoint(fx);
	uint64_t b = fixture_checkpoint(fx);
	fake_clear(&fx->io);
	uint64_t c = fixture_checkpoint(fx);
	T_TRUE(a != 0 && b != 0 && c != 0);
	const Snapmark__Control *m = fake_find(&fx->io, BODY_COMPLETE, 2);
	T_TRUE(m != NULL);
	/* retained = 2: the newest two, newest first */
	T_EQ_INT(m->complete->n_retained, 2);
	T_EQ_INT(m->complete->retained[0], c);
	T_EQ_INT(m->complete->retained[1], b);
	Snapmark__CheckpointRecord *r = fixture_record(fx, a);
	T_TRUE(r != NULL);
	int discarded =
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__DISCARDED;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(discarded);
}

COORD_TEST(ack_of_an_older_epoch_is_dropped, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fx->c.epoch++; /* as if acks crossed an epoch's end */
	fixture_ack(fx, id, 0, NULL);
	fx->c.epoch--;
	T_EQ_INT(coord_find_pending(&fx->c, id)->n_acked, 0);
}

COORD_TEST(completion_subsumes_older_checkpoints, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t old = 0, young = 0;
	T_OK(coord_trigger(&fx->c, 1, 0, NULL, 0, &old));
	T_OK(coord_trigger(&fx->c, 1, 0, NULL, 0, &young));
	fake_clear(&fx->io);
	for (uint32_t t = 0; t < 4; t++)
		fixture_ack(fx, young, t, NULL);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 0), 2);
	T_EQ_INT(fx->c.consecutive_failures, 0);
	Snapmark__CheckpointRecord *r = fixture_record(fx, old);
	T_TRUE(r != NULL);
	int ok = r->status == FAILED && r->failure_reason != NULL &&
	    strstr(r->failure_reason, "subsumed by checkpoint 2") != NULL;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

/* ---- failures ---------------------------------------------------------- */

COORD_TEST(timeout_fails_the_checkpoint_naming_the_missing, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fixture_ack(fx, id, 0, NULL);
	fixture_ack(fx, id, 1, NULL);
	fake_clear(&fx->io);
	fake_advance(&fx->io, 999000);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.n_pending, 1); /* not yet */
	fake_advance(&fx->io, 1000);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 2), 1);
	T_EQ_INT(fx->c.consecutive_failures, 1);
	T_EQ_INT(fx->c.state, COORD_RUNNING); /* tolerable_failures = 1 */
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int ok = r->status == FAILED &&
	    strstr(r->failure_reason, "expired after 1000 ms") != NULL &&
	    r->n_missing == 2 && strcmp(r->missing[0]->task, "sink.0") == 0 &&
	    strcmp(r->missing[1]->task, "sink.1") == 0 && r->n_tasks == 2;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

COORD_TEST(decline_fails_the_checkpoint_with_its_reason, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fake_clear(&fx->io);
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = fx->c.epoch;
	d.checkpoint_id = id;
	d.task = 3;
	d.reason = "snapshot store broken";
	coord_on_decline(&fx->c, &d);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 0), 2);
	T_EQ_INT(fx->c.consecutive_failures, 1);
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int ok = r->status == FAILED &&
	    strcmp(r->failure_reason,
	        "task sink.1 declined: snapshot store broken") == 0;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

COORD_TEST(storage_decline_does_not_count_against_tolerance,
    JOB_NO_TOLERANCE, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = fx->c.epoch;
	d.checkpoint_id = id;
	d.task = 0;
	d.reason = "disk full";
	d.has_error = 1;
	d.error = SM_ENOSPC;
	coord_on_decline(&fx->c, &d);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fx->c.consecutive_failures, 0);
	T_EQ_INT(fx->c.state, COORD_RUNNING);
}

COORD_TEST(failures_beyond_tolerance_fail_the_epoch, JOB_NO_TOLERANCE, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t epoch = fx->c.epoch, id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fake_clear(&fx->io);
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = epoch;
	d.checkpoint_id = id;
	d.task = 0;
	d.reason = "no";
	coord_on_decline(&fx->c, &d);
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	T_EQ_INT(fx->c.deployed, 0);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 2), 1);
	T_EQ_INT(fake_find(&fx->io, BODY_STOP, 1)->stop->epoch, epoch);
	T_TRUE(strstr(fx->c.last_failure, "consecutive checkpoint failures") !=
	    NULL);
}

COORD_TEST(worker_dying_mid_checkpoint_fails_it_and_the_epoch, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 0, 0, NULL, 0, &id));
	fixture_ack(fx, id, 0, NULL);
	fixture_ack(fx, id, 2, NULL);
	fake_clear(&fx->io);
	T_EQ_INT(coord_worker_lost(&fx->c, 2, "disconnected"), 1);
	T_EQ_INT(coord_worker_lost(&fx->c, 2, "disconnected"), 0);
	T_EQ_INT(fx->c.n_pending, 0);
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	/* only the living worker hears the abort and the stop */
	T_EQ_INT(fake_count(&fx->io, BODY_ABORT, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 1), 1);
	T_EQ_INT(fake_count_to(&fx->io, 2), 0);
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int ok = r->status == FAILED &&
	    strstr(r->failure_reason, "worker 2 (pid 102) disconnected") !=
	        NULL &&
	    r->n_tasks == 2 && r->n_missing == 2 &&
	    !r->missing[0]->worker_alive;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

/* ---- periodic, savepoint, final ---------------------------------------- */

COORD_TEST(periodic_trigger_follows_the_interval, JOB_PERIODIC, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	fake_clear(&fx->io);
	fake_advance(&fx->io, 499000);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fake_count(&fx->io, BODY_TRIGGER, 0), 0);
	fake_advance(&fx->io, 1000);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fake_count(&fx->io, BODY_TRIGGER, 0), 2);
	T_EQ_INT(fx->c.n_pending, 1);
	/* none while one is in flight */
	fake_advance(&fx->io, 600000);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fake_count(&fx->io, BODY_TRIGGER, 0), 2);
}

COORD_TEST(savepoint_writes_its_metadata_then_completes, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 1, 0, "", 0, &id));
	struct coord_pending *p = coord_find_pending(&fx->c, id);
	T_TRUE(p != NULL && p->savepoint_dir != NULL);
	char want[700], meta[800];
	snprintf(want, sizeof(want), "%s/savepoints/savepoint-%llu",
	    fx->root, (unsigned long long) id);
	T_EQ_STR(p->savepoint_dir, want);
	const Snapmark__Control *t = fake_find(&fx->io, BODY_TRIGGER, 1);
	T_EQ_STR(t->trigger->savepoint_dir, want);
	for (uint32_t k = 0; k < 4; k++)
		fixture_ack(fx, id, k, want);
	T_EQ_INT(fx->c.n_pending, 0);
	snprintf(meta, sizeof(meta), "%s/_metadata", want);
	T_TRUE(access(meta, R_OK) == 0);
	Snapmark__CheckpointRecord *r = fixture_record(fx, id);
	T_TRUE(r != NULL);
	int ok = r->status == COMPLETED && r->savepoint;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
	/* a savepoint never becomes the latest checkpoint */
	uint64_t latest = 1;
	T_OK(coord_catalog_latest(fx->c.cat, &latest));
	T_EQ_INT(latest, 0);
}

COORD_TEST(savepoint_target_inside_the_run_dir_is_refused, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	fake_clear(&fx->io);
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/coordinator/sp", fx->root);
	uint64_t id = 0;
	T_ERR(coord_trigger(&fx->c, 1, 0, dir, 0, &id), SM_EINVAL);
	T_TRUE(strstr(fx->c.savepoint_error, "inside the run directory") !=
	    NULL);
	T_EQ_INT(fx->io.n_sent, 0);
	T_EQ_INT(fx->c.n_pending, 0);
}

COORD_TEST(final_checkpoint_then_publication_finishes_the_job, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	for (uint32_t t = 0; t < 4; t++)
		fixture_event(fx, t, SNAPMARK__TASK_EVENT__KIND__DRAINED, 0,
		    NULL);
	fake_clear(&fx->io);
	coord_checkpoint_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.n_pending, 1);
	uint64_t id = fx->c.pending[0]->id;
	T_TRUE(fx->c.pending[0]->final);
	for (uint32_t t = 0; t < 4; t++)
		fixture_ack(fx, id, t, NULL);
	T_EQ_INT(fx->c.state, COORD_FINISHING);
	const Snapmark__Control *m = fake_find(&fx->io, BODY_COMPLETE, 1);
	T_TRUE(m != NULL && m->complete->has_confirm && m->complete->confirm);
	for (uint32_t t = 0; t < 3; t++)
		fixture_event(fx, t, SNAPMARK__TASK_EVENT__KIND__PUBLISHED, id,
		    NULL);
	T_EQ_INT(fx->c.state, COORD_FINISHING);
	T_EQ_INT(fake_count(&fx->io, BODY_FINISH, 0), 0);
	fixture_event(fx, 3, SNAPMARK__TASK_EVENT__KIND__PUBLISHED, id, NULL);
	T_EQ_INT(fx->c.state, COORD_FINISHED);
	T_EQ_INT(fake_count(&fx->io, BODY_FINISH, 1), 1);
	T_EQ_INT(fake_count(&fx->io, BODY_FINISH, 2), 1);
}

/* ---- the CLI's view ---------------------------------------------------- */

/* ask sends a CLI request and unpacks the reply (NULL on failure). */
static Snapmark__CliReply *
ask(struct fixture *fx, Snapmark__CliRequest__Command cmd, uint64_t id)
{
	Snapmark__CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	req.command = cmd;
	req.has_checkpoint_id = id != 0;
	req.checkpoint_id = id;
	uint8_t buf[64], *out = NULL;
	size_t len = snapmark__cli_request__pack(&req, buf), out_len = 0;
	coord_cli_answer(&fx->c, buf, len, &out, &out_len);
	Snapmark__CliReply *rep =
	    out != NULL ? snapmark__cli_reply__unpack(NULL, out_len, out) : NULL;
	free(out);
	return rep;
}

COORD_TEST(cli_shows_and_explains_checkpoints_in_flight, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t done = fixture_checkpoint(fx);
	T_TRUE(done != 0);
	uint64_t id = 0;
	T_OK(coord_trigger(&fx->c, 1, 0, NULL, 0, &id));
	fixture_ack(fx, id, 1, NULL);

	Snapmark__CliReply *rep =
	    ask(fx, SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS, 0);
	T_TRUE(rep != NULL);
	int ok = rep->ok && rep->n_checkpoints == 2 &&
	    rep->checkpoints[0]->id == id &&
	    rep->checkpoints[0]->status ==
	        SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING &&
	    rep->checkpoints[0]->tasks_acked == 1 &&
	    rep->checkpoints[1]->id == done &&
	    rep->checkpoints[1]->status == COMPLETED;
	snapmark__cli_reply__free_unpacked(rep, NULL);
	T_TRUE(ok);

	rep = ask(fx, SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN, id);
	T_TRUE(rep != NULL);
	ok = rep->ok && rep->explanation != NULL &&
	    rep->explanation->checkpoint_id == id;
	snapmark__cli_reply__free_unpacked(rep, NULL);
	T_TRUE(ok);

	rep = ask(fx, SNAPMARK__CLI_REQUEST__COMMAND__SHOW, done);
	T_TRUE(rep != NULL);
	ok = rep->ok && rep->n_checkpoints == 1 &&
	    rep->checkpoints[0]->id == done;
	snapmark__cli_reply__free_unpacked(rep, NULL);
	T_TRUE(ok);

	rep = ask(fx, SNAPMARK__CLI_REQUEST__COMMAND__SHOW, 77);
	T_TRUE(rep != NULL);
	ok = !rep->ok && rep->error != NULL &&
	    strcmp(rep->error, "no checkpoint 77") == 0;
	snapmark__cli_reply__free_unpacked(rep, NULL);
	T_TRUE(ok);

	rep = ask(fx, SNAPMARK__CLI_REQUEST__COMMAND__STATUS, 0);
	T_TRUE(rep != NULL);
	ok = rep->ok && rep->status != NULL &&
	    strcmp(rep->status->state, "RUNNING") == 0 &&
	    rep->status->n_pending == 1 && rep->status->pending[0] == id &&
	    rep->status->latest_completed == done &&
	    rep->status->n_workers == 2 &&
	    rep->status->workers[1]->n_tasks == 2;
	snapmark__cli_reply__free_unpacked(rep, NULL);
	T_TRUE(ok);
}

static const struct sm_test tests[] = {
	{ "trigger_sends_each_worker_its_sources",
	    trigger_sends_each_worker_its_sources },
	{ "trigger_refused_unless_running", trigger_refused_unless_running },
	{ "trigger_not_delivered_fails_the_checkpoint_at_once",
	    trigger_not_delivered_fails_the_checkpoint_at_once },
	{ "acks_in_any_order_complete_exactly_once",
	    acks_in_any_order_complete_exactly_once },
	{ "retained_lists_the_newest_completed",
	    retained_lists_the_newest_completed },
	{ "ack_of_an_older_epoch_is_dropped",
	    ack_of_an_older_epoch_is_dropped },
	{ "completion_subsumes_older_checkpoints",
	    completion_subsumes_older_checkpoints },
	{ "timeout_fails_the_checkpoint_naming_the_missing",
	    timeout_fails_the_checkpoint_naming_the_missing },
	{ "decline_fails_the_checkpoint_with_its_reason",
	    decline_fails_the_checkpoint_with_its_reason },
	{ "storage_decline_does_not_count_against_tolerance",
	    storage_decline_does_not_count_against_tolerance },
	{ "failures_beyond_tolerance_fail_the_epoch",
	    failures_beyond_tolerance_fail_the_epoch },
	{ "worker_dying_mid_checkpoint_fails_it_and_the_epoch",
	    worker_dying_mid_checkpoint_fails_it_and_the_epoch },
	{ "periodic_trigger_follows_the_interval",
	    periodic_trigger_follows_the_interval },
	{ "savepoint_writes_its_metadata_then_completes",
	    savepoint_writes_its_metadata_then_completes },
	{ "savepoint_target_inside_the_run_dir_is_refused",
	    savepoint_target_inside_the_run_dir_is_refused },
	{ "final_checkpoint_then_publication_finishes_the_job",
	    final_checkpoint_then_publication_finishes_the_job },
	{ "cli_shows_and_explains_checkpoints_in_flight",
	    cli_shows_and_explains_checkpoints_in_flight },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
