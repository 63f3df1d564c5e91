/*
 * coord.c - the coordinator's state (coord.h): its lifecycle, the job's
 * states, and sending through the I/O seam.
 *
 * The only code of the logic that calls struct coord_io: everything else
 * sends with coord_send/coord_broadcast and reads the clocks here, so a
 * fake seam sees every message the logic sends.
 */
#include "coordinator/coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/error.h"
#include "common/log.h"
#include "coordinator/savepoint.h"

int
coord_open(struct coord *c, const char *run_dir, int n_workers)
{
	snprintf(c->run_dir, sizeof(c->run_dir), "%s", run_dir);
	c->n_workers = n_workers;
	c->workers = calloc((size_t) c->n_workers, sizeof(*c->workers));
	c->task_worker = calloc((size_t) c->job.n_tasks, sizeof(int));
	c->task_names = calloc((size_t) c->job.n_tasks, sizeof(char *));
	c->task_running = calloc((size_t) c->job.n_tasks, 1);
	c->task_drained = calloc((size_t) c->job.n_tasks, 1);
	c->task_published = calloc((size_t) c->job.n_tasks, 1);
	c->metrics = calloc((size_t) c->job.n_tasks, sizeof(*c->metrics));
	if (c->workers == NULL || c->task_worker == NULL ||
	    c->task_names == NULL || c->task_running == NULL ||
	    c->task_drained == NULL || c->task_published == NULL ||
	    c->metrics == NULL ||
	    coord_channels_alloc(c->job.n_channels, &c->channels) != SM_OK) {
		sm_error("out of memory setting up the coordinator");
		return SM_ENOMEM;
	}
	for (int i = 0; i < c->n_workers; i++) {
		c->workers[i].c = c;
		c->workers[i].id = i + 1;
	}
	/* Tasks are spread round-robin and stay with their worker id, so a
	 * restarted worker takes back exactly the tasks it had. */
	for (int t = 0; t < c->job.n_tasks; t++) {
		c->task_worker[t] = t % c->n_workers + 1;
		char name[SM_JOB_NAME_MAX + 16];
		sm_job_task_name(&c->job, t, name, sizeof(name));
		if ((c->task_names[t] = strdup(name)) == NULL) {
			sm_error("out of memory setting up the coordinator");
			return SM_ENOMEM;
		}
	}
	char dir[600], err[512] = "";
	snprintf(dir, sizeof(dir), "%s/coordinator", c->run_dir);
	int rv = coord_catalog_open(dir, &c->cat);
	if (rv != SM_OK) {
		sm_error("cannot open the catalog in %s: %s", dir,
		    sm_strerror(rv));
		return rv;
	}
	/* The tasks keep the newest `retained` completed checkpoints: the
	 * record of each older one says DISCARDED, written with the record
	 * that displaced it (the Complete message's retained list). */
	coord_catalog_set_retention(c->cat, c->job.checkpoint.retained);
	uint32_t crc = sm_crc32c(0, c->job_text, strlen(c->job_text));
	if ((rv = coord_catalog_check_job(c->cat, c->job.name, crc,
	         (uint32_t) c->job.n_tasks, err, sizeof(err))) != SM_OK) {
		sm_error("cannot use %s: %s", dir,
		    err[0] ? err : sm_strerror(rv));
		return rv;
	}
	return SM_OK;
}

void
coord_close(struct coord *c)
{
	coord_savepoint_free(c);
	if (c->cat != NULL)
		coord_catalog_close(c->cat);
	c->cat = NULL;
	for (int t = 0; c->task_names != NULL && t < c->job.n_tasks; t++)
		free(c->task_names[t]);
	for (int i = 0; c->workers != NULL && i < c->n_workers; i++) {
		free(c->workers[i].prefix);
		free(c->workers[i].url);
	}
	for (int i = 0; i < c->n_pending; i++)
		coord_pending_free(c->pending[i]);
	c->n_pending = 0;
	free(c->task_names);
	free(c->workers);
	free(c->task_worker);
	free(c->task_running);
	free(c->task_drained);
	free(c->task_published);
	free(c->metrics);
	coord_channels_free(c->channels);
	c->channels = NULL;
	free(c->unusable);
	free(c->job_text);
	c->task_names = NULL;
	c->workers = NULL;
	c->task_worker = NULL;
	c->task_running = c->task_drained = c->task_published = NULL;
	c->metrics = NULL;
	c->unusable = NULL;
	c->n_unusable = c->cap_unusable = 0;
	c->job_text = NULL;
}

const char *
coord_state_name(enum coord_job_state s)
{
	switch (s) {
	case COORD_CREATED:
		return "CREATED";
	case COORD_RUNNING:
		return "RUNNING";
	case COORD_RESTARTING:
		return "RESTARTING";
	case COORD_FINISHED:
		return "FINISHED";
	case COORD_FAILED:
		return "FAILED";
	case COORD_FINISHING:
		return "FINISHING";
	case COORD_CANCELED:
		return "CANCELED";
	}
	return "UNKNOWN";
}

int
coord_job_ended(const struct coord *c)
{
	return c->state == COORD_FINISHED || c->state == COORD_CANCELED ||
	    c->state == COORD_FAILED;
}

uint64_t
coord_now_us(const struct coord *c)
{
	return c->io.now_us(c->io.ctx);
}

uint64_t
coord_wall_us(const struct coord *c)
{
	return c->io.wall_us(c->io.ctx);
}

int
coord_send(struct coord *c, int worker_id, const Snapmark__Control *m)
{
	if (worker_id < 1 || worker_id > c->n_workers)
		return SM_EINVAL;
	struct coord_worker *w = &c->workers[worker_id - 1];
	if (!w->alive)
		return SM_ECLOSED;
	int rv = c->io.send(c->io.ctx, worker_id, m);
	if (rv == SM_OK)
		w->last_sent_us = coord_now_us(c);
	else if (rv != SM_ESTOPPED)
		sm_warn("cannot send to worker %d: %s", worker_id,
		    sm_strerror(rv));
	return rv;
}

int
coord_broadcast(struct coord *c, const Snapmark__Control *m)
{
	int missed = 0;
	for (int w = 1; w <= c->n_workers; w++)
		if (c->workers[w - 1].alive && coord_send(c, w, m) != SM_OK &&
		    missed == 0)
			missed = w;
	return missed;
}

/* The FinishJob message of the current epoch into f and m (m points at
 * f): the job is over, and the worker exits unless --stay. */
static void
coord_finish_message(const struct coord *c, Snapmark__FinishJob *f,
    Snapmark__Control *m)
{
	snapmark__finish_job__init(f);
	f->epoch = c->epoch;
	f->has_exit = !c->stay;
	f->exit = !c->stay;
	snapmark__control__init(m);
	m->body_case = SNAPMARK__CONTROL__BODY_FINISH;
	m->finish = f;
}

void
coord_broadcast_finish(struct coord *c)
{
	Snapmark__FinishJob f;
	Snapmark__Control m;
	coord_finish_message(c, &f, &m);
	coord_broadcast(c, &m);
}

int
coord_send_finish(struct coord *c, int worker_id)
{
	Snapmark__FinishJob f;
	Snapmark__Control m;
	coord_finish_message(c, &f, &m);
	return coord_send(c, worker_id, &m);
}
