/*
 * http.c - the coordinator's HTTP server (see http.h and
 * docs/OBSERVABILITY.md).
 *
 * NNG's own HTTP server (nng/supplemental/http): no new dependency, and
 * the same asynchronous model as the rest of the coordinator's I/O. One
 * handler takes every path. The dashboard is constant and answered on
 * NNG's thread; everything else is queued for the event loop (at most
 * HTTP_MAX_QUEUED requests, beyond that 503) and answered there. NNG
 * bounds a request's header to its 8 KiB read buffer (larger: an error
 * and the connection is closed) and the handler accepts no body.
 */
#include "coordinator/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nng/supplemental/http/http.h>

#include "coordinator/catalog.h"
#include "common/error.h"
#include "common/log.h"
#include "coordinator/message_json.h"
#include "proto/snapmark.pb-c.h"

#define HTTP_MAX_QUEUED 256

/* coordinator/dashboard/index.html, embedded at build time (embed.py) */
extern const unsigned char coord_dashboard_html[];
extern const size_t coord_dashboard_html_len;

struct coord_http {
	nng_http_server *server;
	nng_http_handler *handler;
	int wake_fd;
	pthread_mutex_t lock;
	nng_aio *queue[HTTP_MAX_QUEUED];
	int n_queued;
	int stopping;
};

/* ------------------------------------------------------------ responses */

static void
http_reply(nng_aio *aio, uint16_t status, const char *type, const void *body,
    size_t len)
{
	nng_http_res *res;
	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	nng_http_res_set_header(res, "Content-Type", type);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	if (nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void
http_json_error(nng_aio *aio, uint16_t status, const char *msg)
{
	json_t *o = json_object();
	char *doc = NULL;
	if (o != NULL && json_object_set_new(o, "error", sm_json_text(msg)) == 0)
		doc = sm_json_dump(o);
	json_decref(o);
	if (doc != NULL)
		http_reply(aio, status, "application/json", doc, strlen(doc));
	else
		nng_aio_finish(aio, NNG_ENOMEM);
	free(doc);
}

/* http_json_doc answers with doc (NULL: out of memory) and drops it. */
static void
http_json_doc(nng_aio *aio, json_t *doc)
{
	char *text = doc != NULL ? sm_json_dump(doc) : NULL;
	json_decref(doc);
	if (text != NULL)
		http_reply(aio, 200, "application/json", text, strlen(text));
	else
		http_json_error(aio, 500, "cannot encode the reply");
	free(text);
}

/* ---------------------------------------------------------- NNG threads */

/* No cancel routine: NNG's connection reaper waits for the handler's aio
 * to finish (nni_aio_stop), and the loop finishes every queued one soon;
 * nng_aio_defer in NNG 1.5.2 gives no way to tell that the aio was closed
 * before it, after which finishing it would be a use after free. */
static void
http_handle(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	struct coord_http *h = nng_http_handler_get_data(hd);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *method = nng_http_req_get_method(req);
	const char *uri = nng_http_req_get_uri(req);
	size_t plen = strcspn(uri, "?#");

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_json_error(aio, 405, "only GET is served");
		return;
	}
	if ((plen == 1 && uri[0] == '/') ||
	    (plen == 11 && strncmp(uri, "/index.html", 11) == 0)) {
		http_reply(aio, 200, "text/html; charset=utf-8",
		    coord_dashboard_html, coord_dashboard_html_len);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->stopping || h->n_queued == HTTP_MAX_QUEUED) {
		pthread_mutex_unlock(&h->lock);
		http_json_error(aio, 503, "the coordinator is busy");
		return;
	}
	h->queue[h->n_queued++] = aio;
	pthread_mutex_unlock(&h->lock);
	uint64_t one = 1;
	ssize_t w = write(h->wake_fd, &one, sizeof(one));
	(void) w;
}

/* ----------------------------------------------------------- the loop */

/* Ask the coordinator as the CLI would; NULL with *err set on failure. */
static Snapmark__CliReply *
http_ask(coord_http_cli_fn fn, void *ctx, Snapmark__CliRequest__Command cmd,
    uint64_t id, int has_id)
{
	Snapmark__CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	req.command = cmd;
	req.has_checkpoint_id = has_id;
	req.checkpoint_id = id;
	uint8_t buf[64], *rep = NULL;
	size_t len = snapmark__cli_request__get_packed_size(&req), rep_len = 0;
	if (len > sizeof(buf))
		return NULL;
	snapmark__cli_request__pack(&req, buf);
	fn(ctx, buf, len, &rep, &rep_len);
	if (rep == NULL)
		return NULL;
	Snapmark__CliReply *r = snapmark__cli_reply__unpack(NULL, rep_len, rep);
	free(rep);
	return r;
}

struct http_route_ctx {
	nng_aio *aio;
	coord_http_cli_fn fn;
	void *ctx;
	uint64_t id; /* the {id} of the path, if any */
};

static void
route_status(struct http_route_ctx *r)
{
	Snapmark__CliReply *rep = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__STATUS, 0, 0);
	if (rep == NULL || !rep->ok || rep->status == NULL) {
		http_json_error(r->aio, 500, rep != NULL && rep->error != NULL
		        ? rep->error
		        : "no job status");
	} else {
		http_json_doc(r->aio, sm_json_message(&rep->status->base, NULL));
	}
	if (rep != NULL)
		snapmark__cli_reply__free_unpacked(rep, NULL);
}

static void
route_checkpoints(struct http_route_ctx *r)
{
	/* as `snapmark --json checkpoints`: without the per-task stats */
	Snapmark__CliReply *rep = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS, 0, 0);
	if (rep == NULL || !rep->ok) {
		http_json_error(r->aio, 500, rep != NULL && rep->error != NULL
		        ? rep->error
		        : "no checkpoint list");
	} else {
		http_json_doc(r->aio, sm_json_checkpoint_list(rep->checkpoints,
		                          rep->n_checkpoints));
	}
	if (rep != NULL)
		snapmark__cli_reply__free_unpacked(rep, NULL);
}

static void
route_checkpoint(struct http_route_ctx *r)
{
	Snapmark__CliReply *rep = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__SHOW, r->id, 1);
	if (rep == NULL) {
		http_json_error(r->aio, 500, "no reply");
	} else if (!rep->ok || rep->n_checkpoints != 1) {
		http_json_error(r->aio, 404,
		    rep->error != NULL ? rep->error : "no such checkpoint");
	} else {
		http_json_doc(r->aio,
		    sm_json_message(&rep->checkpoints[0]->base, NULL));
	}
	if (rep != NULL)
		snapmark__cli_reply__free_unpacked(rep, NULL);
}

/* as `snapmark --json explain ID`: the checkpoint's critical path */
static void
route_explain(struct http_route_ctx *r)
{
	Snapmark__CliReply *rep = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN, r->id, 1);
	if (rep == NULL) {
		http_json_error(r->aio, 500, "no reply");
	} else if (!rep->ok || rep->explanation == NULL) {
		http_json_error(r->aio, 404,
		    rep->error != NULL ? rep->error : "no such checkpoint");
	} else {
		http_json_doc(r->aio,
		    sm_json_message(&rep->explanation->base, NULL));
	}
	if (rep != NULL)
		snapmark__cli_reply__free_unpacked(rep, NULL);
}

/* ------------------------------------------------------- /metrics */

struct prom {
	char *buf;
	size_t len, cap;
	int err;
};

static void
prom_printf(struct prom *p, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (p->err)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->err = 1;
			return;
		}
		if ((size_t) n < p->cap - p->len) {
			p->len += (size_t) n;
			return;
		}
		size_t cap = (p->cap + (size_t) n + 1) * 2;
		char *b = realloc(p->buf, cap);
		if (b == NULL) {
			p->err = 1;
			return;
		}
		p->buf = b;
		p->cap = cap;
	}
}

/* A label value, escaped as the exposition format wants. */
static void
prom_label(struct prom *p, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\')
			prom_printf(p, "\\\\");
		else if (*s == '"')
			prom_printf(p, "\\\"");
		else if (*s == '\n')
			prom_printf(p, "\\n");
		else
			prom_printf(p, "%c", *s);
	}
}

static void
prom_head(struct prom *p, const char *name, const char *type,
    const char *help)
{
	prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_value(struct prom *p, double v)
{
	if (isnan(v))
		prom_printf(p, " NaN\n");
	else if (isinf(v))
		prom_printf(p, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		prom_printf(p, " %.17g\n", v);
}

/* name{task="..."} value */
static void
prom_task(struct prom *p, const char *name, const char *task, double v)
{
	prom_printf(p, "%s{task=\"", name);
	prom_label(p, task);
	prom_printf(p, "\"}");
	prom_value(p, v);
}

struct prom_hist {
	const double *le;
	size_t n_le;
	uint64_t counts[16];
	uint64_t count;
	double sum;
};

static void
hist_add(struct prom_hist *h, double v)
{
	for (size_t i = 0; i < h->n_le; i++)
		if (v <= h->le[i])
			h->counts[i]++;
	h->count++;
	h->sum += v;
}

static void
hist_print(struct prom *p, const char *name, const struct prom_hist *h)
{
	for (size_t i = 0; i < h->n_le; i++)
		prom_printf(p, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
		    h->le[i], h->counts[i]);
	prom_printf(p, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
	prom_printf(p, "%s_sum", name);
	prom_value(p, h->sum);
	prom_printf(p, "%s_count %" PRIu64 "\n", name, h->count);
}

static void
metrics_render(struct prom *p, const Snapmark__JobStatus *st,
    const Snapmark__CliReply *cps)
{
	static const double dur_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
		0.5, 1, 2.5, 5, 10, 30, 60 };
	static const double size_le[] = { 1024, 16384, 131072, 1048576,
		8388608, 67108864, 536870912, 4294967296.0 };
	static const double align_le[] = { 0.0001, 0.001, 0.005, 0.01, 0.05,
		0.1, 0.5, 1, 5 };
	struct prom_hist dur = { dur_le, sizeof(dur_le) / sizeof(double), {0},
		0, 0 };
	struct prom_hist size = { size_le, sizeof(size_le) / sizeof(double),
		{0}, 0, 0 };
	struct prom_hist align = { align_le,
		sizeof(align_le) / sizeof(double), {0}, 0, 0 };
	/* start delay: a barrier's send upstream to its dequeue here, per
	 * input channel (both on the coordinator's clock in the record) */
	struct prom_hist start = { align_le,
		sizeof(align_le) / sizeof(double), {0}, 0, 0 };
	uint64_t by_status[4] = { 0, 0, 0, 0 };
	const Snapmark__CheckpointRecord *last = NULL;

	for (size_t i = 0; i < cps->n_checkpoints; i++) {
		const Snapmark__CheckpointRecord *r = cps->checkpoints[i];
		if ((unsigned) r->status < 4)
			by_status[r->status]++;
		if (!coord_record_completed(r))
			continue;
		if (last == NULL || r->id > last->id)
			last = r;
		if (r->has_duration_us)
			hist_add(&dur, (double) r->duration_us / 1e6);
		if (r->has_bytes)
			hist_add(&size, (double) r->bytes);
		for (size_t k = 0; k < r->n_tasks; k++) {
			const Snapmark__TaskCheckpointStats *t = r->tasks[k];
			hist_add(&align, (double) t->align_us / 1e6);
			for (size_t a = 0; a < t->n_arrivals; a++) {
				const Snapmark__BarrierArrival *b =
				    t->arrivals[a];
				if (b->has_sent_us && b->has_received_us &&
				    b->received_us >= b->sent_us)
					hist_add(&start,
					    (double) (b->received_us -
					        b->sent_us) /
					        1e6);
			}
		}
	}

	prom_head(p, "snapmark_info", "gauge",
	    "The job this coordinator runs (always 1).");
	prom_printf(p, "snapmark_info{job=\"");
	prom_label(p, st->job_name);
	prom_printf(p, "\",state=\"");
	prom_label(p, st->state);
	prom_printf(p, "\"} 1\n");
	prom_head(p, "snapmark_epoch", "gauge",
	    "Current epoch (one more per restart or redeploy).");
	prom_printf(p, "snapmark_epoch %" PRIu64 "\n", st->epoch);
	prom_head(p, "snapmark_restarts_total", "counter",
	    "Restarts of the job since the coordinator started it.");
	prom_printf(p, "snapmark_restarts_total %" PRIu32 "\n", st->restarts);
	prom_head(p, "snapmark_tasks", "gauge", "Tasks of the job.");
	prom_printf(p, "snapmark_tasks %" PRIu32 "\n", st->tasks_total);
	prom_head(p, "snapmark_tasks_running", "gauge", "Tasks running now.");
	prom_printf(p, "snapmark_tasks_running %" PRIu32 "\n",
	    st->tasks_running);
	uint32_t alive = 0;
	for (size_t i = 0; i < st->n_workers; i++)
		alive += st->workers[i]->alive ? 1 : 0;
	prom_head(p, "snapmark_workers_alive", "gauge",
	    "Workers connected to the coordinator.");
	prom_printf(p, "snapmark_workers_alive %" PRIu32 "\n", alive);
	prom_head(p, "snapmark_checkpoint_latest_completed", "gauge",
	    "Id of the latest completed checkpoint (0: none).");
	prom_printf(p, "snapmark_checkpoint_latest_completed %" PRIu64 "\n",
	    st->has_latest_completed ? st->latest_completed : 0);
	prom_head(p, "snapmark_checkpoints_pending", "gauge",
	    "Checkpoints in flight.");
	prom_printf(p, "snapmark_checkpoints_pending %zu\n", st->n_pending);
	prom_head(p, "snapmark_checkpoints", "gauge",
	    "Checkpoints the coordinator lists (the newest 100 of its history "
	    "and those in flight), by status.");
	static const char *const names[4] = { "pending", "completed",
		"failed", "discarded" };
	for (int s = 0; s < 4; s++)
		prom_printf(p, "snapmark_checkpoints{status=\"%s\"} %" PRIu64
		               "\n",
		    names[s], by_status[s]);
	prom_head(p, "snapmark_checkpoint_duration_seconds", "histogram",
	    "Trigger to commit of the listed completed checkpoints.");
	hist_print(p, "snapmark_checkpoint_duration_seconds", &dur);
	prom_head(p, "snapmark_checkpoint_size_bytes", "histogram",
	    "Bytes written by the listed completed checkpoints.");
	hist_print(p, "snapmark_checkpoint_size_bytes", &size);
	prom_head(p, "snapmark_checkpoint_alignment_seconds", "histogram",
	    "Barrier alignment per task of the listed completed checkpoints.");
	hist_print(p, "snapmark_checkpoint_alignment_seconds", &align);
	prom_head(p, "snapmark_checkpoint_start_delay_seconds", "histogram",
	    "Per input channel of the listed completed checkpoints: barrier "
	    "sent upstream to dequeued here (its wait behind data).");
	hist_print(p, "snapmark_checkpoint_start_delay_seconds", &start);
	if (last != NULL) {
		prom_head(p, "snapmark_checkpoint_last_duration_seconds",
		    "gauge", "Duration of the latest completed checkpoint.");
		prom_printf(p, "snapmark_checkpoint_last_duration_seconds");
		prom_value(p, (double) last->duration_us / 1e6);
		prom_head(p, "snapmark_checkpoint_last_size_bytes", "gauge",
		    "Bytes written by the latest completed checkpoint.");
		prom_printf(p, "snapmark_checkpoint_last_size_bytes %" PRIu64
		               "\n",
		    last->bytes);
		prom_head(p, "snapmark_checkpoint_last_full_size_bytes",
		    "gauge",
		    "Full state size the latest completed checkpoint "
		    "represents.");
		prom_printf(p,
		    "snapmark_checkpoint_last_full_size_bytes %" PRIu64 "\n",
		    last->has_full_bytes ? last->full_bytes : last->bytes);
		prom_head(p, "snapmark_checkpoint_last_alignment_seconds",
		    "gauge",
		    "Per task: alignment in the latest completed checkpoint.");
		for (size_t k = 0; k < last->n_tasks; k++)
			prom_task(p,
			    "snapmark_checkpoint_last_alignment_seconds",
			    last->tasks[k]->task_name,
			    (double) last->tasks[k]->align_us / 1e6);
	}
	prom_head(p, "snapmark_restore_last_seconds", "gauge",
	    "Failure detected to processing resumed, of the last restore "
	    "(0: none).");
	prom_printf(p, "snapmark_restore_last_seconds");
	prom_value(p, st->has_last_restore_us
	        ? (double) st->last_restore_us / 1e6
	        : 0.0);

	static const struct {
		const char *name, *type, *help;
	} task_metrics[] = {
		{ "snapmark_task_records_in_total", "counter",
		    "Records the task took in in this epoch." },
		{ "snapmark_task_records_out_total", "counter",
		    "Records the task sent out in this epoch." },
		{ "snapmark_task_records_in_per_second", "gauge",
		    "Input rate over the last heartbeat interval." },
		{ "snapmark_task_records_out_per_second", "gauge",
		    "Output rate over the last heartbeat interval." },
		{ "snapmark_task_busy_ratio", "gauge",
		    "Share of the last heartbeat interval the task was busy." },
		{ "snapmark_task_idle_ratio", "gauge",
		    "Share of the last heartbeat interval the task waited for "
		    "input." },
		{ "snapmark_task_backpressured_ratio", "gauge",
		    "Share of the last heartbeat interval the task waited for "
		    "a full output channel." },
		{ "snapmark_task_busy_seconds_total", "counter",
		    "Time the task was busy in this epoch." },
		{ "snapmark_task_idle_seconds_total", "counter",
		    "Time the task waited for input in this epoch." },
		{ "snapmark_task_backpressured_seconds_total", "counter",
		    "Time the task waited for full output channels in this "
		    "epoch." },
	};
	for (size_t k = 0; k < sizeof(task_metrics) / sizeof(task_metrics[0]);
	     k++) {
		prom_head(p, task_metrics[k].name, task_metrics[k].type,
		    task_metrics[k].help);
		for (size_t i = 0; i < st->n_task_metrics; i++) {
			const Snapmark__TaskMetrics *m = st->task_metrics[i];
			double v;
			switch (k) {
			case 0: v = (double) m->records_in; break;
			case 1: v = (double) m->records_out; break;
			case 2: if (!m->has_records_in_per_s) continue;
				v = m->records_in_per_s; break;
			case 3: if (!m->has_records_out_per_s) continue;
				v = m->records_out_per_s; break;
			case 4: if (!m->has_busy_ratio) continue;
				v = m->busy_ratio; break;
			case 5: if (!m->has_idle_ratio) continue;
				v = m->idle_ratio; break;
			case 6: if (!m->has_backpressured_ratio) continue;
				v = m->backpressured_ratio; break;
			case 7: v = (double) m->busy_us / 1e6; break;
			case 8: v = (double) m->idle_us / 1e6; break;
			default: v = (double) m->backpressured_us / 1e6; break;
			}
			prom_task(p, task_metrics[k].name,
			    m->task_name != NULL ? m->task_name : "?", v);
		}
	}
	prom_head(p, "snapmark_channel_frames_buffered", "gauge",
	    "Per channel: frames its sender sent minus frames its receiver "
	    "processed, in this epoch (sampled up to one heartbeat apart).");
	for (size_t i = 0; i < st->n_channel_metrics; i++) {
		const Snapmark__ChannelMetrics *m = st->channel_metrics[i];
		prom_printf(p, "snapmark_channel_frames_buffered{from=\"");
		prom_label(p, m->from_name != NULL ? m->from_name : "?");
		prom_printf(p, "\",to=\"");
		prom_label(p, m->to_name != NULL ? m->to_name : "?");
		prom_printf(p, "\"}");
		prom_value(p, (double) m->frames_buffered);
	}
}

static void
route_metrics(struct http_route_ctx *r)
{
	Snapmark__CliReply *st = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__STATUS, 0, 0);
	Snapmark__CliReply *cps = http_ask(r->fn, r->ctx,
	    SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS, 0, 0);
	if (st == NULL || cps == NULL || !st->ok || st->status == NULL ||
	    !cps->ok) {
		http_reply(r->aio, 500, "text/plain", "no job status\n", 14);
	} else {
		struct prom p = { NULL, 0, 0, 0 };
		metrics_render(&p, st->status, cps);
		if (p.err || p.buf == NULL)
			http_reply(r->aio, 500, "text/plain", "no memory\n", 10);
		else
			http_reply(r->aio, 200,
			    "text/plain; version=0.0.4; charset=utf-8", p.buf,
			    p.len);
		free(p.buf);
	}
	if (st != NULL)
		snapmark__cli_reply__free_unpacked(st, NULL);
	if (cps != NULL)
		snapmark__cli_reply__free_unpacked(cps, NULL);
}

/* ----------------------------------------------------------- routing */

/* The routes: a path of segments, "{id}" standing for a checkpoint id.
 * New endpoints are one line here. */
static const struct http_route {
	const char *pattern;
	void (*fn)(struct http_route_ctx *);
} http_routes[] = {
	{ "/metrics", route_metrics },
	{ "/api/status", route_status },
	{ "/api/checkpoints", route_checkpoints },
	{ "/api/checkpoints/{id}", route_checkpoint },
	{ "/api/checkpoints/{id}/explain", route_explain },
};

/* Does path (plen bytes) match pattern? Fills *id for "{id}". */
static int
http_match(const char *pattern, const char *path, size_t plen, uint64_t *id)
{
	const char *end = path + plen;
	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			const char *q = path;
			uint64_t v = 0;
			while (q < end && *q >= '0' && *q <= '9' && q - path < 19)
				v = v * 10 + (uint64_t) (*q++ - '0');
			if (q == path || (q < end && *q != '/'))
				return 0;
			*id = v;
			path = q;
			pattern += 4;
			continue;
		}
		if (path == end || *pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	/* a trailing slash is the same path */
	return path == end || (path + 1 == end && *path == '/');
}

static void
http_route(nng_aio *aio, coord_http_cli_fn fn, void *ctx)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);
	size_t plen = strcspn(uri, "?#");
	struct http_route_ctx r = { aio, fn, ctx, 0 };
	for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]);
	     i++) {
		if (http_match(http_routes[i].pattern, uri, plen, &r.id)) {
			http_routes[i].fn(&r);
			return;
		}
	}
	http_json_error(aio, 404, "not found");
}

void
coord_http_serve(struct coord_http *h, coord_http_cli_fn fn, void *ctx)
{
	if (h == NULL)
		return;
	uint64_t n;
	ssize_t rd = read(h->wake_fd, &n, sizeof(n));
	(void) rd;
	for (;;) {
		pthread_mutex_lock(&h->lock);
		nng_aio *aio = NULL;
		if (h->n_queued > 0) {
			aio = h->queue[0];
			memmove(h->queue, h->queue + 1,
			    (size_t) (--h->n_queued) * sizeof(h->queue[0]));
		}
		pthread_mutex_unlock(&h->lock);
		if (aio == NULL)
			return;
		http_route(aio, fn, ctx);
	}
}

/* ---------------------------------------------------------- lifecycle */

int
coord_http_start(const char *host_port, struct coord_http **out, char *url,
    size_t url_len)
{
	char buf[300];
	nng_url *u = NULL;
	int nrv;
	struct coord_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return SM_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->wake_fd < 0) {
		sm_error("http: eventfd: %s", strerror(errno));
		free(h);
		return SM_EIO;
	}
	snprintf(buf, sizeof(buf), "http://%s", host_port);
	if ((nrv = nng_url_parse(&u, buf)) != 0 ||
	    (nrv = nng_http_server_hold(&h->server, u)) != 0 ||
	    (nrv = nng_http_handler_alloc(&h->handler, "/", http_handle)) !=
	        0 ||
	    (nrv = nng_http_handler_set_method(h->handler, NULL)) != 0 ||
	    (nrv = nng_http_handler_set_tree(h->handler)) != 0 ||
	    (nrv = nng_http_handler_collect_body(h->handler, true, 0)) != 0 ||
	    (nrv = nng_http_handler_set_data(h->handler, h, NULL)) != 0 ||
	    (nrv = nng_http_server_add_handler(h->server, h->handler)) != 0 ||
	    (nrv = nng_http_server_start(h->server)) != 0) {
		sm_error("http: cannot serve %s: %s (want ADDR:PORT, e.g. "
		         "127.0.0.1:8081)",
		    buf, nng_strerror(nrv));
		if (u != NULL)
			nng_url_free(u);
		if (h->server != NULL)
			nng_http_server_release(h->server);
		close(h->wake_fd);
		free(h);
		return SM_EINVAL;
	}
	nng_sockaddr sa;
	unsigned port = 0;
	if (nng_http_server_get_addr(h->server, &sa) == 0 &&
	    sa.s_family == NNG_AF_INET)
		port = ntohs(sa.s_in.sa_port);
	snprintf(url, url_len, "http://%s:%u", u->u_hostname,
	    port != 0 ? port : (unsigned) atoi(u->u_port));
	nng_url_free(u);
	*out = h;
	return SM_OK;
}

int
coord_http_wake_fd(const struct coord_http *h)
{
	return h->wake_fd;
}

void
coord_http_stop(struct coord_http *h)
{
	if (h == NULL)
		return;
	for (;;) {
		pthread_mutex_lock(&h->lock);
		h->stopping = 1;
		nng_aio *aio = h->n_queued > 0 ? h->queue[--h->n_queued]
		                               : NULL;
		pthread_mutex_unlock(&h->lock);
		if (aio == NULL)
			break;
		nng_aio_finish(aio, NNG_ECLOSED);
	}
	/* returns once every connection is closed: no handler runs after */
	nng_http_server_stop(h->server);
	nng_http_server_release(h->server);
	close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
