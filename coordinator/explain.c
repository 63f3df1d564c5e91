/*
 * explain.c - the critical path of a checkpoint (see explain.h).
 */
#include "coordinator/explain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/catalog.h"
#include "common/error.h"

#define EXPLAIN_MAX_PHASES 512

/* b - a, or 0 if either is unknown or clocks disagree (b before a). */
static uint64_t
span(uint64_t a, uint64_t b)
{
	return a != 0 && b > a ? b - a : 0;
}

static const Snapmark__TaskCheckpointStats *
find_task(const Snapmark__CheckpointRecord *r, uint32_t task)
{
	for (size_t i = 0; i < r->n_tasks; i++)
		if (r->tasks[i]->task == task)
			return r->tasks[i];
	return NULL;
}

static void
task_label(const Snapmark__CheckpointRecord *r, uint32_t task, char *buf,
    size_t len)
{
	const Snapmark__TaskCheckpointStats *s = find_task(r, task);
	if (s != NULL)
		snprintf(buf, len, "%s", s->task_name);
	else
		snprintf(buf, len, "task %u", task);
}

/* The barrier that completed a task's alignment: the last one dequeued. */
static const Snapmark__BarrierArrival *
last_arrival(const Snapmark__TaskCheckpointStats *s)
{
	const Snapmark__BarrierArrival *best = NULL;
	for (size_t i = 0; i < s->n_arrivals; i++)
		if (best == NULL ||
		    s->arrivals[i]->received_us > best->received_us)
			best = s->arrivals[i];
	return best;
}

/* When the checkpoint reached the task: the trigger (a source) or its
 * last barrier. */
static uint64_t
task_reached(const Snapmark__TaskCheckpointStats *s)
{
	if (s->has_trigger_received_us)
		return s->trigger_received_us;
	return s->has_last_barrier_us ? s->last_barrier_us : 0;
}

static char *
fmt(const char *f, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return strdup(buf);
}

struct path {
	Snapmark__ExplainPhase *ph[EXPLAIN_MAX_PHASES];
	size_t n;
	int oom;
};

/* Add a phase (the walk goes backwards; reversed at the end). */
static Snapmark__ExplainPhase *
add(struct path *p, const char *kind, const char *task, uint64_t us,
    char *what)
{
	Snapmark__ExplainPhase *e = calloc(1, sizeof(*e));
	if (e == NULL || what == NULL || p->n == EXPLAIN_MAX_PHASES) {
		free(e);
		free(what);
		p->oom = 1;
		return NULL;
	}
	snapmark__explain_phase__init(e);
	e->kind = strdup(kind);
	e->task = strdup(task);
	e->what = what;
	e->us = us;
	if (e->kind == NULL || e->task == NULL)
		p->oom = 1;
	p->ph[p->n++] = e;
	return e;
}

/* Walk back from the last ack to the trigger. */
static void
walk(const Snapmark__CheckpointRecord *r, struct path *p)
{
	const Snapmark__TaskCheckpointStats *last = NULL;
	for (size_t i = 0; i < r->n_tasks; i++)
		if (r->tasks[i]->has_ack_received_us &&
		    (last == NULL ||
		        r->tasks[i]->ack_received_us > last->ack_received_us))
			last = r->tasks[i];
	if (last == NULL)
		return;
	char name[160], up[160];
	const char *ln = last->task_name;
	if (r->has_end_us)
		add(p, "commit", "coordinator",
		    span(last->ack_received_us, r->end_us),
		    fmt("last ack (%s) -> commit: writing the record", ln));
	add(p, "ack", ln, span(last->ack_sent_us, last->ack_received_us),
	    fmt("%s's ack on its way to the coordinator", ln));
	add(p, "async", ln, span(last->barrier_sent_us, last->ack_sent_us),
	    fmt("%s: asynchronous snapshot (%" PRIu64 " bytes written)", ln,
	        last->handle != NULL ? last->handle->bytes : 0));
	uint64_t next_sent = last->barrier_sent_us;
	const Snapmark__TaskCheckpointStats *cur = last;
	for (size_t hops = 0; hops <= r->n_tasks && cur != NULL; hops++) {
		snprintf(name, sizeof(name), "%s", cur->task_name);
		uint64_t reached = task_reached(cur);
		if (cur == last)
			add(p, "sync", name, span(reached, next_sent),
			    fmt("%s: synchronous snapshot (%.1f ms) and "
			        "barrier forwarded",
			        name, (double) cur->sync_us / 1000.0));
		else
			add(p, "forward", name, span(reached, next_sent),
			    fmt("%s: from its %s to forwarding the barrier "
			        "(sync snapshot %.1f ms, flushing outputs)",
			        name,
			        cur->has_trigger_received_us ? "trigger"
			                                     : "last barrier",
			        (double) cur->sync_us / 1000.0));
		if (cur->has_trigger_received_us) {
			add(p, "trigger", name,
			    span(r->trigger_sent_us, cur->trigger_received_us),
			    fmt("trigger from the coordinator reached %s",
			        name));
			return;
		}
		const Snapmark__BarrierArrival *a = last_arrival(cur);
		if (a == NULL) {
			add(p, "unknown", name,
			    span(r->trigger_sent_us, reached),
			    fmt("trigger -> %s's barrier (no arrivals "
			        "reported)",
			        name));
			return;
		}
		task_label(r, a->upstream_task, up, sizeof(up));
		Snapmark__ExplainPhase *q = add(p, "queue", name,
		    span(a->sent_us, a->received_us),
		    a->has_frames_ahead
		        ? fmt("barrier queued behind %u frames on %s <- %s",
		              a->frames_ahead, name, up)
		        : fmt("barrier queued on %s <- %s", name, up));
		if (q != NULL) {
			q->has_channel = 1;
			q->channel = a->channel;
			q->has_frames_ahead = a->has_frames_ahead;
			q->frames_ahead = a->frames_ahead;
		}
		next_sent = a->sent_us;
		cur = find_task(r, a->upstream_task);
		if (cur == NULL) {
			add(p, "unknown", up,
			    span(r->trigger_sent_us, next_sent),
			    fmt("trigger -> %s sent its barrier (%s did not "
			        "report)",
			        up, up));
			return;
		}
	}
}

int
coord_explain(const Snapmark__CheckpointRecord *r, Snapmark__Explanation **out)
{
	Snapmark__Explanation *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	snapmark__explanation__init(e);
	e->checkpoint_id = r->id;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &snapmark__checkpoint_record__status__descriptor, (int) r->status);
	e->status = strdup(v != NULL ? v->name : "UNKNOWN");
	e->total_us = r->has_trigger_sent_us && r->has_end_us
	    ? span(r->trigger_sent_us, r->end_us)
	    : r->duration_us;
	e->has_has_timeline = 1;
	e->has_timeline = r->has_trigger_sent_us;
	if (r->failure_reason != NULL)
		e->failure_reason = strdup(r->failure_reason);
	double total_ms = (double) e->total_us / 1000.0;

	/* The slowest channel by barrier queueing, over every task. */
	uint64_t worst = 0;
	const Snapmark__BarrierArrival *wa = NULL;
	const Snapmark__TaskCheckpointStats *wt = NULL;
	for (size_t i = 0; i < r->n_tasks; i++)
		for (size_t k = 0; k < r->tasks[i]->n_arrivals; k++) {
			const Snapmark__BarrierArrival *a =
			    r->tasks[i]->arrivals[k];
			uint64_t d = span(a->sent_us, a->received_us);
			if (wa == NULL || d > worst) {
				worst = d;
				wa = a;
				wt = r->tasks[i];
			}
		}
	char up[160];
	if (wa != NULL) {
		task_label(r, wa->upstream_task, up, sizeof(up));
		e->slowest_channel = fmt("%s <- %s", wt->task_name, up);
		e->has_slowest_channel_us = 1;
		e->slowest_channel_us = worst;
		e->has_slowest_channel_frames = wa->has_frames_ahead;
		e->slowest_channel_frames = wa->frames_ahead;
	}

	/* Who did not acknowledge (a failed record keeps them). */
	if (r->n_missing > 0) {
		e->missing = calloc(r->n_missing, sizeof(*e->missing));
		for (size_t i = 0; e->missing != NULL && i < r->n_missing;
		     i++) {
			const Snapmark__ExplainTask *m = r->missing[i];
			Snapmark__ExplainTask *c = calloc(1, sizeof(*c));
			if (c == NULL)
				break;
			snapmark__explain_task__init(c);
			c->task = strdup(m->task);
			c->worker_id = m->worker_id;
			c->worker_alive = m->worker_alive;
			if (m->last_seen != NULL)
				c->last_seen = strdup(m->last_seen);
			c->has_silent_ms = m->has_silent_ms;
			c->silent_ms = m->silent_ms;
			e->missing[e->n_missing++] = c;
		}
	}

	/* A discarded checkpoint completed: retention only deleted its
	 * snapshots later, its timeline is whole. */
	int completed = coord_record_completed(r);
	struct path p = { .n = 0 };
	if (completed && e->has_timeline)
		walk(r, &p);
	e->path = calloc(p.n + 1, sizeof(*e->path));
	if (e->path != NULL)
		for (size_t i = 0; i < p.n; i++)
			e->path[e->n_path++] = p.ph[p.n - 1 - i];
	else
		for (size_t i = 0; i < p.n; i++) {
			free(p.ph[i]->kind);
			free(p.ph[i]->task);
			free(p.ph[i]->what);
			free(p.ph[i]);
		}

	/* The verdict: the phase that took the largest share. */
	if (!completed) {
		char who[600] = "";
		size_t len = 0;
		for (size_t i = 0; i < e->n_missing && len < sizeof(who) - 1;
		     i++)
			len += (size_t) snprintf(who + len, sizeof(who) - len,
			    "%s%s", i ? ", " : "", e->missing[i]->task);
		if (r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING)
			e->verdict = fmt("in flight for %.0f ms: %u of %u "
			                 "tasks acknowledged%s%s",
			    (double) r->duration_us / 1000.0, r->tasks_acked,
			    r->tasks_total, who[0] ? "; waiting for " : "",
			    who);
		else
			e->verdict = fmt("failed after %.0f ms: %s%s%s",
			    (double) r->duration_us / 1000.0,
			    r->failure_reason ? r->failure_reason
			                      : "no reason recorded",
			    who[0] ? "; did not acknowledge: " : "", who);
	} else if (!e->has_timeline || e->n_path == 0) {
		e->verdict = fmt("%.0f ms; no timeline recorded for this "
		                 "checkpoint (taken by an older snapmark?)",
		    (double) r->duration_us / 1000.0);
	} else {
		const Snapmark__ExplainPhase *big = e->path[0];
		for (size_t i = 1; i < e->n_path; i++)
			if (e->path[i]->us > big->us)
				big = e->path[i];
		double pct = e->total_us > 0
		    ? 100.0 * (double) big->us / (double) e->total_us
		    : 0.0;
		/* Back-pressure comes from the most downstream task on the
		 * path whose input held the barrier back noticeably. */
		const char *from = NULL;
		if (strcmp(big->kind, "queue") == 0)
			for (size_t i = 0; i < e->n_path; i++)
				if (strcmp(e->path[i]->kind, "queue") == 0 &&
				    e->path[i]->us * 10 >= e->total_us)
					from = e->path[i]->task;
		if (from != NULL && strcmp(from, big->task) != 0)
			e->verdict =
			    fmt("%.0f%% of %.0f ms: %s: back-pressure "
			        "from %s",
			        pct, total_ms, big->what, from);
		else if (from != NULL)
			e->verdict = fmt("%.0f%% of %.0f ms: %s: %s consumes "
			                 "slowly",
			    pct, total_ms, big->what, from);
		else
			e->verdict = fmt("%.0f%% of %.0f ms: %s", pct,
			    total_ms, big->what);
	}
	if (e->status == NULL || e->verdict == NULL || p.oom) {
		coord_explain_free(e);
		return SM_ENOMEM;
	}
	*out = e;
	return SM_OK;
}

void
coord_explain_free(Snapmark__Explanation *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n_path; i++) {
		free(e->path[i]->kind);
		free(e->path[i]->task);
		free(e->path[i]->what);
		free(e->path[i]);
	}
	free(e->path);
	for (size_t i = 0; i < e->n_missing; i++) {
		free(e->missing[i]->task);
		free(e->missing[i]->last_seen);
		free(e->missing[i]);
	}
	free(e->missing);
	free(e->status);
	free(e->slowest_channel);
	free(e->verdict);
	free(e->failure_reason);
	free(e);
}
