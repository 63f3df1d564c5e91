/*
 * task_wiring.c - a task's place in the job's topology: the addresses of
 * its data channels and which channels feed it and which it feeds.
 */
#include "worker/task_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

int
sm_channel_address(const char *prefix, uint64_t epoch, int index, char *buf,
    size_t len)
{
	int n;
	if (strncmp(prefix, "tcp://", 6) == 0) {
		const char *colon = strrchr(prefix, ':');
		if (colon == NULL || colon < prefix + 6)
			return SM_EINVAL;
		long base = strtol(colon + 1, NULL, 10);
		if (base <= 0 || base + index > 65535)
			return SM_EINVAL;
		n = snprintf(buf, len, "%.*s:%ld", (int) (colon - prefix),
		    prefix, base + index);
	} else {
		n = snprintf(buf, len, "%se%" PRIu64 "-c%d", prefix, epoch,
		    index);
	}
	return n > 0 && (size_t) n < len ? SM_OK : SM_EINVAL;
}

int
task_open_inputs(struct worker_task *t)
{
	const struct sm_job_stage *st = &t->job->stages[t->stage];
	int pd = st->parallelism, d = t->subtask, n = 0;
	for (int i = 0; i < st->n_inputs; i++)
		n += st->inputs[i].edge == SM_EDGE_FORWARD
		    ? 1
		    : t->job->stages[st->inputs[i].stage].parallelism;
	if (n == 0)
		return SM_OK;
	t->in = calloc((size_t) n, sizeof(*t->in));
	t->tl.arrivals = calloc((size_t) n, sizeof(*t->tl.arrivals));
	t->pollfds = calloc((size_t) n + 1, sizeof(*t->pollfds));
	if (t->in == NULL || t->tl.arrivals == NULL || t->pollfds == NULL)
		return SM_ENOMEM;
	char url[600];
	for (int i = 0; i < st->n_inputs; i++) {
		const struct sm_job_input *e = &st->inputs[i];
		int pu = t->job->stages[e->stage].parallelism;
		int from = e->edge == SM_EDGE_FORWARD ? d : 0;
		int to = e->edge == SM_EDGE_FORWARD ? d + 1 : pu;
		for (int u = from; u < to; u++) {
			int idx = e->first_channel +
			    (e->edge == SM_EDGE_FORWARD ? u : u * pd + d);
			int rv = sm_channel_address(t->task_prefix[t->task],
			    t->epoch, idx, url, sizeof(url));
			if (rv == SM_OK)
				rv = sm_channel_listen(url, (uint32_t) idx,
				    t->epoch, &t->in[t->n_in].ch);
			if (rv != SM_OK)
				return rv;
			t->in[t->n_in].upstream_task =
			    (uint32_t) (t->job->stages[e->stage].first_task + u);
			t->n_in++;
		}
	}
	return SM_OK;
}

/* Build the routes and output channels: one route per downstream edge. */
int
task_open_outputs(struct worker_task *t)
{
	const struct sm_job *job = t->job;
	int u = t->subtask, n_out = 0, n_routes = 0;
	for (int s = t->stage + 1; s < job->n_stages; s++)
		for (int i = 0; i < job->stages[s].n_inputs; i++)
			if (job->stages[s].inputs[i].stage == t->stage) {
				n_routes++;
				n_out += job->stages[s].inputs[i].edge ==
				        SM_EDGE_FORWARD
				    ? 1
				    : job->stages[s].parallelism;
			}
	if (n_routes == 0)
		return SM_OK;
	t->routes = calloc((size_t) n_routes, sizeof(*t->routes));
	t->out = calloc((size_t) n_out, sizeof(*t->out));
	if (t->routes == NULL || t->out == NULL)
		return SM_ENOMEM;
	char url[600];
	for (int s = t->stage + 1; s < job->n_stages; s++) {
		const struct sm_job_stage *ds = &job->stages[s];
		for (int i = 0; i < ds->n_inputs; i++) {
			const struct sm_job_input *e = &ds->inputs[i];
			if (e->stage != t->stage)
				continue;
			struct task_route *rt = &t->routes[t->n_routes++];
			rt->edge = e->edge;
			rt->first_out = t->n_out;
			rt->max_parallelism = ds->max_parallelism > 0
			    ? ds->max_parallelism
			    : 128;
			int fwd = e->edge == SM_EDGE_FORWARD;
			int from = fwd ? u : 0, to = fwd ? u + 1
			                                : ds->parallelism;
			for (int d = from; d < to; d++) {
				int idx = e->first_channel +
				    (fwd ? u : u * ds->parallelism + d);
				int to_task = ds->first_task + d;
				struct task_output *o = &t->out[t->n_out++];
				o->to_task = (uint32_t) to_task;
				o->wm_pending = o->wm_sent =
				    SNAPMARK_NO_TIME;
				o->batch = calloc(1, sizeof(*o->batch));
				if (o->batch == NULL ||
				    sm_batch_init(o->batch) != SM_OK)
					return SM_ENOMEM;
				int rv = sm_channel_address(
				    t->task_prefix[to_task], t->epoch, idx,
				    url, sizeof(url));
				if (rv == SM_OK)
					rv = sm_channel_dial(url,
					    (uint32_t) idx, t->epoch, &o->ch);
				if (rv != SM_OK)
					return rv;
			}
			rt->n_out = t->n_out - rt->first_out;
		}
	}
	return SM_OK;
}
