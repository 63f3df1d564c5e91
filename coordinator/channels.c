/*
 * channels.c - per data channel, the latest frame counts of its two sides
 * and the frames buffered between them (see channels.h).
 *
 * Owned by the coordinator's event loop (one per job, indexed like the
 * job's channels); the heartbeat handler in coordinator.c validates an
 * entry (the worker hosts the side it reports, a channel connects the two
 * tasks) before it notes it here.
 */
#include "coordinator/channels.h"

#include <stdlib.h>

#include "common/error.h"

/* One side's latest count, and the epoch it was counted in (0: none). */
struct coord_channel_side {
	uint64_t epoch;
	uint64_t frames;
};

struct coord_channel_counts {
	struct coord_channel_side sent, processed;
};

struct coord_channels {
	int n;
	struct coord_channel_counts *ch;
};

int
coord_channels_alloc(int n, struct coord_channels **out)
{
	struct coord_channels *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return SM_ENOMEM;
	cs->n = n > 0 ? n : 0;
	cs->ch = calloc((size_t) cs->n + 1, sizeof(*cs->ch));
	if (cs->ch == NULL) {
		free(cs);
		return SM_ENOMEM;
	}
	*out = cs;
	return SM_OK;
}

void
coord_channels_free(struct coord_channels *cs)
{
	if (cs == NULL)
		return;
	free(cs->ch);
	free(cs);
}

int
coord_channel_between(const struct sm_job *job, uint32_t from, uint32_t to)
{
	if (from >= (uint32_t) job->n_tasks || to >= (uint32_t) job->n_tasks)
		return -1;
	int fs = sm_job_task_stage(job, (int) from);
	int ts = sm_job_task_stage(job, (int) to);
	if (fs < 0 || ts < 0)
		return -1;
	const struct sm_job_stage *st = &job->stages[ts];
	int u = (int) from - job->stages[fs].first_task;
	int d = (int) to - st->first_task;
	for (int i = 0; i < st->n_inputs; i++) {
		const struct sm_job_input *in = &st->inputs[i];
		if (in->stage != fs)
			continue;
		if (in->edge == SM_EDGE_FORWARD)
			return u == d ? in->first_channel + u : -1;
		return in->first_channel + u * st->parallelism + d;
	}
	return -1;
}

void
coord_channels_note(struct coord_channels *cs, int index, uint64_t epoch,
    int sent, uint64_t frames)
{
	if (cs == NULL || index < 0 || index >= cs->n)
		return;
	struct coord_channel_side *s =
	    sent ? &cs->ch[index].sent : &cs->ch[index].processed;
	s->epoch = epoch;
	s->frames = frames;
}

int
coord_channels_buffered(const struct coord_channels *cs, int index,
    uint64_t epoch, uint64_t *sent, uint64_t *processed, uint64_t *buffered)
{
	if (cs == NULL || index < 0 || index >= cs->n || epoch == 0)
		return 0;
	const struct coord_channel_counts *c = &cs->ch[index];
	if (c->sent.epoch != epoch || c->processed.epoch != epoch)
		return 0;
	if (sent != NULL)
		*sent = c->sent.frames;
	if (processed != NULL)
		*processed = c->processed.frames;
	if (buffered != NULL)
		*buffered = c->sent.frames > c->processed.frames
		    ? c->sent.frames - c->processed.frames
		    : 0;
	return 1;
}

int
coord_channels_status(const struct coord_channels *cs,
    const struct sm_job *job, uint64_t epoch, char *const *task_names,
    Snapmark__JobStatus *st)
{
	st->n_channel_metrics = 0;
	st->channel_metrics = NULL;
	if (cs == NULL)
		return SM_OK;
	size_t n = 0;
	for (int i = 0; i < cs->n; i++)
		n += (size_t) coord_channels_buffered(cs, i, epoch, NULL, NULL,
		    NULL);
	if (n == 0)
		return SM_OK;
	/* the pointers first, the entries after them: one block */
	void *block = calloc(n, sizeof(Snapmark__ChannelMetrics *) +
	        sizeof(Snapmark__ChannelMetrics));
	if (block == NULL)
		return SM_ENOMEM;
	Snapmark__ChannelMetrics **mp = block;
	Snapmark__ChannelMetrics *m = (Snapmark__ChannelMetrics *) (mp + n);
	size_t k = 0;
	for (int i = 0; i < cs->n && i < job->n_channels && k < n; i++) {
		struct sm_job_channel jc;
		uint64_t sent, processed, buffered;
		if (!coord_channels_buffered(cs, i, epoch, &sent, &processed,
		        &buffered) ||
		    sm_job_channel(job, i, &jc) != SM_OK)
			continue;
		snapmark__channel_metrics__init(&m[k]);
		m[k].has_from_task = m[k].has_to_task = 1;
		m[k].from_task = (uint32_t) jc.from_task;
		m[k].to_task = (uint32_t) jc.to_task;
		m[k].has_frames_sent = m[k].has_frames_processed = 1;
		m[k].frames_sent = sent;
		m[k].frames_processed = processed;
		m[k].has_channel = 1;
		m[k].channel = (uint32_t) i;
		if (task_names != NULL) {
			m[k].from_name = task_names[jc.from_task];
			m[k].to_name = task_names[jc.to_task];
		}
		m[k].has_frames_buffered = 1;
		m[k].frames_buffered = buffered;
		mp[k] = &m[k];
		k++;
	}
	st->n_channel_metrics = k;
	st->channel_metrics = k > 0 ? mp : NULL;
	if (k == 0)
		free(block);
	return SM_OK;
}

void
coord_channels_status_free(Snapmark__JobStatus *st)
{
	/* the block begins with the array of pointers */
	free(st->channel_metrics);
	st->channel_metrics = NULL;
	st->n_channel_metrics = 0;
}
