/*
 * status.c - the job's status (status.h): state, epoch, checkpoints, every
 * worker and the running tasks' latest counts, as one JobStatus.
 */
#include "coordinator/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"

/* The running tasks' latest counts, into tm/tmp (n_tasks each). */
static void
status_metrics(struct coord *c, Snapmark__JobStatus *st,
    Snapmark__TaskMetrics *tm, Snapmark__TaskMetrics **tmp)
{
	size_t n = 0;
	for (int t = 0; t < c->job.n_tasks; t++) {
		const struct coord_metrics *x = &c->metrics[t];
		/* After the end the last counts stay, final; no rates. */
		int ended = coord_job_ended(c);
		if (x->epoch != c->epoch || (!c->task_running[t] && !ended))
			continue;
		Snapmark__TaskMetrics *m = &tm[n];
		snapmark__task_metrics__init(m);
		m->task = (uint32_t) t;
		m->task_name = c->task_names[t];
		m->records_in = x->in;
		m->records_out = x->out;
		m->sampled_us = x->at_us;
		m->has_records_in_per_s = m->has_records_out_per_s =
		    x->has_rate && !ended;
		m->records_in_per_s = x->in_per_s;
		m->records_out_per_s = x->out_per_s;
		m->has_busy_us = m->has_idle_us = m->has_backpressured_us = 1;
		m->busy_us = x->busy_us;
		m->idle_us = x->idle_us;
		m->backpressured_us = x->bp_us;
		m->has_busy_ratio = m->has_idle_ratio =
		    m->has_backpressured_ratio = x->has_ratio;
		m->busy_ratio = x->busy_ratio;
		m->idle_ratio = x->idle_ratio;
		m->backpressured_ratio = x->bp_ratio;
		tmp[n++] = m;
	}
	st->n_task_metrics = n;
	st->task_metrics = tmp;
	/* per channel: frames buffered (coord_channels_status_free); after
	 * the end nothing runs and nothing is buffered: none */
	if (!coord_job_ended(c) &&
	    coord_channels_status(c->channels, &c->job, c->epoch,
	        c->task_names, st) != SM_OK)
		sm_warn("status: no memory for the channels' frame counts");
}

int
coord_status_fill(struct coord *c, struct coord_status *s)
{
	memset(s, 0, sizeof(*s));
	snapmark__job_status__init(&s->st);
	s->ws = calloc((size_t) c->n_workers + 1, sizeof(*s->ws));
	s->wsp = calloc((size_t) c->n_workers + 1, sizeof(*s->wsp));
	s->tm = calloc((size_t) c->job.n_tasks + 1, sizeof(*s->tm));
	s->tmp = calloc((size_t) c->job.n_tasks + 1, sizeof(*s->tmp));
	if (s->ws == NULL || s->wsp == NULL || s->tm == NULL ||
	    s->tmp == NULL)
		return SM_ENOMEM;
	Snapmark__JobStatus *st = &s->st;
	st->job_name = c->job.name;
	st->state = (char *) coord_state_name(c->state);
	st->epoch = c->epoch;
	st->restarts = c->restarts;
	uint64_t latest = 0;
	coord_catalog_latest(c->cat, &latest);
	st->has_latest_completed = latest != 0;
	st->latest_completed = latest;
	st->has_restored_from = c->restored_from != 0;
	st->restored_from = c->restored_from;
	st->has_restored_from_savepoint = c->restored_from_savepoint;
	st->restored_from_savepoint = c->restored_from_savepoint;
	st->tasks_total = (uint32_t) c->job.n_tasks;
	/* A finished or failed job runs nothing, whatever was counted. */
	st->tasks_running = coord_job_ended(c)
	    ? 0
	    : (uint32_t) c->n_running;
	for (int i = 0; i < c->n_pending; i++)
		s->pending[i] = c->pending[i]->id;
	st->n_pending = (size_t) c->n_pending;
	st->pending = s->pending;
	if (c->last_failure[0] != '\0')
		st->last_failure = c->last_failure;
	st->has_last_restore_us = c->last_restore_us != 0;
	st->last_restore_us = c->last_restore_us;
	if (c->http_url[0] != '\0')
		st->http_url = c->http_url;
	int rv = SM_OK;
	for (int i = 0; i < c->n_workers; i++) {
		Snapmark__WorkerStatus *ws = &s->ws[i];
		snapmark__worker_status__init(ws);
		ws->worker_id = (uint32_t) i + 1;
		ws->alive = c->workers[i].alive;
		ws->has_pid = c->workers[i].pid != 0;
		ws->pid = c->workers[i].pid;
		ws->tasks = calloc((size_t) c->job.n_tasks + 1,
		    sizeof(char *));
		if (ws->tasks == NULL)
			rv = SM_ENOMEM;
		for (int t = 0; ws->tasks != NULL && t < c->job.n_tasks; t++)
			if (c->task_worker[t] == i + 1)
				ws->tasks[ws->n_tasks++] = c->task_names[t];
		s->wsp[i] = ws;
	}
	st->n_workers = (size_t) c->n_workers;
	st->workers = s->wsp;
	status_metrics(c, st, s->tm, s->tmp);
	return rv;
}

void
coord_status_free(struct coord *c, struct coord_status *s)
{
	for (int i = 0; s->ws != NULL && i < c->n_workers; i++)
		free(s->ws[i].tasks);
	free(s->ws);
	free(s->wsp);
	free(s->tm);
	free(s->tmp);
	coord_channels_status_free(&s->st);
	s->ws = NULL;
	s->wsp = NULL;
	s->tm = NULL;
	s->tmp = NULL;
}

void
coord_save_end(struct coord *c)
{
	struct coord_status s;
	uint8_t *buf = NULL;
	int rv = coord_status_fill(c, &s);
	if (rv == SM_OK) {
		size_t len = snapmark__job_status__get_packed_size(&s.st);
		if ((buf = malloc(len > 0 ? len : 1)) == NULL)
			rv = SM_ENOMEM;
		else {
			snapmark__job_status__pack(&s.st, buf);
			rv = coord_catalog_put_bytes(c->cat, "final_status",
			    buf, len);
		}
	}
	if (rv == SM_OK)
		rv = coord_catalog_put_text(c->cat, "final_state",
		    coord_state_name(c->state));
	if (rv != SM_OK)
		sm_warn("cannot save the job's end (%s) in the catalog: %s",
		    coord_state_name(c->state), sm_strerror(rv));
	coord_status_free(c, &s);
	free(buf);
}
