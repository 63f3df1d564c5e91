/*
 * test_recovery.c - epochs (coordinator/recovery.h) driven through a fake
 * I/O seam (tests/fake_coord.h) and a real catalog: the first deploy,
 * waiting for workers, restoring the latest completed checkpoint, falling
 * back past unusable ones, the deploy's deadline and delivery, the restart
 * strategy, and a coordinator restarted on a running job.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "tests/fake_coord.h"

/* Two sources feeding two sinks over two workers: tasks 0 (src.0) and 2
 * (sink.0) on worker 1, tasks 1 (src.1) and 3 (sink.1) on worker 2. */
#define JOB_HEAD                                                             \
	"[job]\nname = t\n"                                                  \
	"[checkpoint]\ninterval_ms = 0\ntimeout_ms = 1000\nretained = 3\n"
#define JOB_STAGES                                                           \
	"[stage src]\noperator = gen\nparallelism = 2\nrecords = 10\n"       \
	"[stage sink]\noperator = file\nparallelism = 2\n"                   \
	"input = src forward\n"
#define JOB                                                                  \
	JOB_HEAD                                                             \
	"[restart]\nstrategy = fixed-delay\nattempts = 5\ndelay_ms = 0\n"    \
	JOB_STAGES
#define JOB_DELAY                                                            \
	JOB_HEAD                                                             \
	"[restart]\nstrategy = fixed-delay\nattempts = 2\ndelay_ms = 300\n"  \
	JOB_STAGES

#define BODY_DEPLOY SNAPMARK__CONTROL__BODY_DEPLOY
#define BODY_STOP SNAPMARK__CONTROL__BODY_STOP

/* ---- deploy ------------------------------------------------------------ */

COORD_TEST(first_deploy_gives_each_worker_its_tasks, JOB, 2)
{
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
	T_EQ_INT(fx->c.epoch, 1);
	T_EQ_INT(fx->c.state, COORD_CREATED);
	T_EQ_INT(fx->io.n_sent, 2);
	const Snapmark__Control *m1 = fake_find(&fx->io, BODY_DEPLOY, 1);
	const Snapmark__Control *m2 = fake_find(&fx->io, BODY_DEPLOY, 2);
	T_TRUE(m1 != NULL && m2 != NULL);
	T_EQ_INT(m1->deploy->epoch, 1);
	T_EQ_INT(m1->deploy->n_tasks, 2);
	T_EQ_INT(m1->deploy->tasks[0], 0);
	T_EQ_INT(m1->deploy->tasks[1], 2);
	T_EQ_INT(m2->deploy->tasks[0], 1);
	T_EQ_INT(m2->deploy->tasks[1], 3);
	T_EQ_INT(m1->deploy->n_restores, 0);
	T_TRUE(!m1->deploy->has_restore_checkpoint_id);
	T_EQ_INT(m1->deploy->n_task_worker_prefix, 4);
	T_TRUE(strstr(m1->deploy->task_worker_prefix[3], "/w2") != NULL);
	/* once: nothing more until the epoch ends */
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->io.n_sent, 2);
}

COORD_TEST(no_deploy_until_every_worker_is_alive, JOB, 2)
{
	fx->c.workers[1].alive = 0;
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(!fx->c.deployed);
	T_EQ_INT(fx->io.n_sent, 0);
	fx->c.workers[1].alive = 1;
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
}

COORD_TEST(all_tasks_running_makes_the_job_running, JOB, 2)
{
	coord_recovery_tick(&fx->c, fx->io.now_us);
	for (uint32_t t = 0; t < 3; t++)
		fixture_event(fx, t, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0,
		    NULL);
	T_EQ_INT(fx->c.state, COORD_CREATED);
	T_EQ_INT(fx->c.n_running, 3);
	fixture_event(fx, 3, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0, NULL);
	T_EQ_INT(fx->c.state, COORD_RUNNING);
}

COORD_TEST(deploy_not_delivered_fails_the_epoch, JOB, 2)
{
	fx->io.fail_worker = 2;
	fx->io.fail_rv = SM_ETIMEDOUT;
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	T_TRUE(!fx->c.deployed);
	T_TRUE(strstr(fx->c.last_failure,
	           "the deploy of epoch 1 did not reach worker 2") != NULL);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 1), 1);
	/* the next tick deploys again, in a new epoch */
	fx->io.fail_worker = 0;
	fake_clear(&fx->io);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
	T_EQ_INT(fx->c.epoch, 2);
	T_EQ_INT(fake_count(&fx->io, BODY_DEPLOY, 0), 2);
}

COORD_TEST(deploy_without_progress_fails_at_its_deadline, JOB, 2)
{
	coord_recovery_tick(&fx->c, fx->io.now_us);
	fixture_event(fx, 0, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0, NULL);
	fake_clear(&fx->io);
	fake_advance(&fx->io, 1000000); /* the timeout: not past it */
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
	fixture_event(fx, 1, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0, NULL);
	fake_advance(&fx->io, 1000000); /* progress restarted the wait */
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
	T_EQ_INT(fx->io.n_sent, 0);
	fake_advance(&fx->io, 1);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	T_TRUE(strstr(fx->c.last_failure,
	           "2 of 4 tasks of epoch 1 reported running") != NULL);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 0), 2);
	/* with delay 0 the same tick deployed epoch 2 */
	T_TRUE(fx->c.deployed);
	T_EQ_INT(fx->c.epoch, 2);
}

/* ---- restore ------------------------------------------------------------ */

/* Fail the running epoch by losing worker 2, bring it back, and deploy:
 * the Deploy worker 1 got (NULL if none). */
static const Snapmark__Control *
fail_and_redeploy(struct fixture *fx)
{
	coord_worker_lost(&fx->c, 2, "disconnected");
	fx->c.workers[1].alive = 1;
	fake_clear(&fx->io);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	return fake_find(&fx->io, BODY_DEPLOY, 1);
}

COORD_TEST(restart_restores_the_latest_completed_checkpoint, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t a = fixture_checkpoint(fx), b = fixture_checkpoint(fx);
	T_TRUE(a != 0 && b != 0);
	const Snapmark__Control *m = fail_and_redeploy(fx);
	T_TRUE(m != NULL);
	T_EQ_INT(m->deploy->epoch, 2);
	T_TRUE(m->deploy->has_restore_checkpoint_id);
	T_EQ_INT(m->deploy->restore_checkpoint_id, b);
	T_EQ_INT(m->deploy->n_restores, 2);
	T_EQ_INT(m->deploy->restores[0]->task, 0);
	T_EQ_INT(m->deploy->restores[0]->n_handles, 1);
	T_EQ_INT(m->deploy->restores[0]->handles[0]->checkpoint_id, b);
	T_EQ_INT(m->deploy->restores[1]->task, 2);
	T_EQ_INT(fx->c.restored_from, b);
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	for (uint32_t t = 0; t < 4; t++)
		fixture_event(fx, t, SNAPMARK__TASK_EVENT__KIND__RUNNING, 0,
		    NULL);
	T_EQ_INT(fx->c.state, COORD_RUNNING);
	T_EQ_INT(fx->c.restarts, 1);
}

COORD_TEST(unusable_checkpoints_fall_back_then_fail_the_job, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t a = fixture_checkpoint(fx), b = fixture_checkpoint(fx);
	T_TRUE(a != 0 && b != 0);
	const Snapmark__Control *m = fail_and_redeploy(fx);
	T_TRUE(m != NULL);
	T_EQ_INT(m->deploy->restore_checkpoint_id, b);

	/* b cannot be restored: the next epoch falls back to a */
	fake_clear(&fx->io);
	fixture_event(fx, 3, SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED, b,
	    "checksum mismatch");
	T_TRUE(strstr(fx->c.last_failure, "is unusable") != NULL);
	T_EQ_INT(fake_count(&fx->io, BODY_STOP, 1), 1);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	m = fake_find(&fx->io, BODY_DEPLOY, 1);
	T_TRUE(m != NULL);
	T_EQ_INT(m->deploy->restore_checkpoint_id, a);
	T_EQ_INT(fx->c.restored_from, a);

	/* a neither: no usable checkpoint is left, and the job fails
	 * instead of starting from nothing */
	fake_clear(&fx->io);
	fixture_event(fx, 0, SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED, a,
	    "store missing");
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_EQ_INT(fx->c.state, COORD_FAILED);
	T_EQ_INT(fake_count(&fx->io, BODY_DEPLOY, 0), 0);
	T_TRUE(strstr(fx->c.last_failure, "no usable checkpoint") != NULL);
	T_EQ_INT(fx->c.n_unusable, 2);
}

COORD_TEST(many_unusable_checkpoints_are_all_remembered, JOB, 2)
{
	/* no fixed limit on the unusable checkpoints remembered (there
	 * was one of 64) */
	T_TRUE(fixture_run(fx) == 0);
	/* 70 failures: not a line each */
	sm_log_init("test", (enum sm_log_level) (SM_LOG_ERROR + 1));
	for (uint64_t id = 1; id <= 70; id++) {
		fx->c.restored_from = id;
		fixture_event(fx, 0,
		    SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED, id, "bad");
		fx->c.state = COORD_RUNNING;
		fx->c.deployed = 1;
	}
	T_EQ_INT(fx->c.n_unusable, 70);
	T_EQ_INT(fx->c.unusable[69], 70);
}

COORD_TEST(restart_waits_for_the_delay_and_counts_attempts, JOB_DELAY, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	coord_worker_lost(&fx->c, 2, "disconnected");
	fx->c.workers[1].alive = 1;
	fake_clear(&fx->io);
	fake_advance(&fx->io, 299000);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(!fx->c.deployed);
	fake_advance(&fx->io, 1000);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	T_TRUE(fx->c.deployed);
	T_EQ_INT(fx->c.restart_attempts, 1);
	uint64_t saved = 0;
	T_OK(coord_catalog_counter(fx->c.cat, "restart_attempts", &saved));
	T_EQ_INT(saved, 1);
	/* attempts = 2: the third failure fails the job */
	fixture_event(fx, 0, SNAPMARK__TASK_EVENT__KIND__FAILED, 0, "boom");
	T_EQ_INT(fx->c.state, COORD_RESTARTING);
	fake_advance(&fx->io, 300000);
	coord_recovery_tick(&fx->c, fx->io.now_us);
	fixture_event(fx, 0, SNAPMARK__TASK_EVENT__KIND__FAILED, 0, "boom");
	T_EQ_INT(fx->c.state, COORD_FAILED);
	T_TRUE(strstr(fx->c.last_failure,
	           "restart attempts exhausted (2): task src.0 failed: boom") !=
	    NULL);
}

COORD_TEST(coordinator_restart_resumes_the_job, JOB, 2)
{
	T_TRUE(fixture_run(fx) == 0);
	uint64_t a = fixture_checkpoint(fx);
	T_TRUE(a != 0);
	/* a new coordinator on the same run directory */
	struct coord *c = &fx->c;
	coord_close(c);
	uint64_t epoch = 0;
	memset(c, 0, sizeof(*c));
	char err[200];
	T_OK(sm_job_parse(JOB, "job.ini", &c->job, err, sizeof(err)));
	c->job_text = strdup(JOB);
	c->io.ctx = &fx->io;
	c->io.send = fake_send;
	c->io.now_us = fake_now_us;
	c->io.wall_us = fake_wall_us;
	T_OK(coord_open(c, fx->root, 2));
	coord_recovery_start(c);
	T_EQ_INT(c->state, COORD_RESTARTING);
	T_EQ_INT(c->epoch, 1);
	T_TRUE(strstr(c->last_failure, "coordinator restarted") != NULL);
	for (int i = 0; i < 2; i++) { /* they register again */
		c->workers[i].alive = 1;
		c->workers[i].prefix = strdup("/tmp/w");
	}
	fake_clear(&fx->io);
	coord_recovery_tick(c, fx->io.now_us);
	const Snapmark__Control *m = fake_find(&fx->io, BODY_DEPLOY, 2);
	T_TRUE(m != NULL);
	T_EQ_INT(m->deploy->epoch, 2);
	T_EQ_INT(m->deploy->restore_checkpoint_id, a);
	T_OK(coord_catalog_counter(c->cat, "epoch", &epoch));
	T_EQ_INT(epoch, 3); /* the next to hand out */
}

static const struct sm_test tests[] = {
	{ "first_deploy_gives_each_worker_its_tasks",
	    first_deploy_gives_each_worker_its_tasks },
	{ "no_deploy_until_every_worker_is_alive",
	    no_deploy_until_every_worker_is_alive },
	{ "all_tasks_running_makes_the_job_running",
	    all_tasks_running_makes_the_job_running },
	{ "deploy_not_delivered_fails_the_epoch",
	    deploy_not_delivered_fails_the_epoch },
	{ "deploy_without_progress_fails_at_its_deadline",
	    deploy_without_progress_fails_at_its_deadline },
	{ "restart_restores_the_latest_completed_checkpoint",
	    restart_restores_the_latest_completed_checkpoint },
	{ "unusable_checkpoints_fall_back_then_fail_the_job",
	    unusable_checkpoints_fall_back_then_fail_the_job },
	{ "many_unusable_checkpoints_are_all_remembered",
	    many_unusable_checkpoints_are_all_remembered },
	{ "restart_waits_for_the_delay_and_counts_attempts",
	    restart_waits_for_the_delay_and_counts_attempts },
	{ "coordinator_restart_resumes_the_job",
	    coordinator_restart_resumes_the_job },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
