/*
 * cli_text.c - how `snapmark` shows coordinator replies to a person.
 *
 * It owns the text side of the CLI: the key: value blocks, the aligned
 * tables and the human units (ms/s, B/KiB/MiB, local clock time). snapmark.c
 * owns the conversation with the coordinator and never formats text
 * itself, so the wording users and scripts rely on lives in one place.
 *
 * Strings come from another process, so control characters in them are
 * masked before they reach a terminal.
 */
#include "cli/cli_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

typedef Snapmark__WorkerStatus WorkerStatus;
typedef Snapmark__TaskCheckpointStats TaskCheckpointStats;

char *
cli_text_clean(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* cli_fmt allocates the formatted, cleaned string; NULL on ENOMEM. */
static char *cli_fmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
cli_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t) n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return cli_text_clean(s);
}

/* cli_puts_clean prints a peer's string with control characters masked. */
static void
cli_puts_clean(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char) *s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* ------------------------------------------------------------ formatting */

/* cli_text_ms: milliseconds, exact to the microsecond below 1 ms. */
const char *
cli_text_ms(char *buf, size_t cap, uint64_t us)
{
	if (us < 1000)
		snprintf(buf, cap, "%.3f ms", (double) us / 1e3);
	else
		snprintf(buf, cap, "%.1f ms", (double) us / 1e3);
	return buf;
}

/* cli_fmt_duration: like cli_text_ms, switching to seconds at 1 s. */
static const char *
cli_fmt_duration(char *buf, size_t cap, uint64_t us)
{
	if (us < 1000000)
		return cli_text_ms(buf, cap, us);
	snprintf(buf, cap, "%.2f s", (double) us / 1e6);
	return buf;
}

const char *
cli_text_size(char *buf, size_t cap, uint64_t bytes)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double) bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

/*
 * cli_fmt_time: ms since 1970 as an ISO-8601 UTC time with milliseconds,
 * 2026-11-21T21:34:45.211Z, the same form as the log lines' timestamps.
 */
static const char *
cli_fmt_time(char *buf, size_t cap, uint64_t ms)
{
	time_t sec = (time_t) (ms / 1000);
	struct tm tm;
	char ymdhms[32];

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(ymdhms, sizeof(ymdhms), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, cap, "%" PRIu64, ms);
		return buf;
	}
	snprintf(buf, cap, "%s.%03uZ", ymdhms, (unsigned) (ms % 1000));
	return buf;
}

static const char *
cli_status_name(int status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &snapmark__checkpoint_record__status__descriptor, status);
	return v != NULL ? v->name : "UNKNOWN";
}

static const char *
cli_kind(const CheckpointRecord *r)
{
	if (r->has_savepoint && r->savepoint)
		return "savepoint";
	if (r->has_final && r->final)
		return "final";
	if (r->has_manual && r->manual)
		return "manual";
	return "periodic";
}

/* cli_text_bytes: the record's size, or the sum of its tasks' snapshots. */
int
cli_text_bytes(const CheckpointRecord *r, uint64_t *bytes)
{
	uint64_t sum = 0;
	if (r->has_bytes) {
		*bytes = r->bytes;
		return 1;
	}
	if (r->n_tasks == 0)
		return 0;
	for (size_t i = 0; i < r->n_tasks; i++)
		sum += r->tasks[i]->handle->bytes;
	*bytes = sum;
	return 1;
}

/* ---------------------------------------------------------------- tables */

/*
 * A text table: cells are added row by row, then printed with every column
 * padded to its widest cell (counted in UTF-8 characters) and two spaces
 * between columns. Errors are sticky and reported by cli_table_print.
 */
struct cli_table {
	size_t ncols;
	size_t ncells;
	size_t cap;
	char **cells;
	int err;
	size_t max_width; /* non-zero: cut the last column to fit */
};

static void
cli_table_take(struct cli_table *t, char *cell)
{
	if (cell == NULL && t->err == SM_OK)
		t->err = SM_ENOMEM;
	if (t->err == SM_OK && t->ncells == t->cap) {
		size_t cap = t->cap == 0 ? 32 : t->cap * 2;
		char **cells = realloc(t->cells, cap * sizeof(*cells));
		if (cells == NULL) {
			t->err = SM_ENOMEM;
		} else {
			t->cells = cells;
			t->cap = cap;
		}
	}
	if (t->err != SM_OK) {
		free(cell);
		return;
	}
	t->cells[t->ncells++] = cell;
}

static void
cli_table_row(struct cli_table *t, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++)
		cli_table_take(t, cli_fmt("%s", cells[i]));
}

static size_t
cli_width(const char *s)
{
	size_t w = 0;
	for (; *s != '\0'; s++)
		w += ((unsigned char) *s & 0xC0) != 0x80;
	return w;
}

static int
cli_table_print(struct cli_table *t)
{
	size_t width[16] = { 0 };

	if (t->err != SM_OK || t->ncols > 16)
		return t->err != SM_OK ? t->err : SM_EINVAL;
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = cli_width(t->cells[i]);
		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	size_t before_last = 0;
	for (size_t c = 0; c + 1 < t->ncols; c++)
		before_last += width[c] + 2;
	for (size_t i = 0; i < t->ncells; i++) {
		size_t col = i % t->ncols;
		if (t->max_width > 0 && col + 1 == t->ncols &&
		    before_last + cli_width(t->cells[i]) > t->max_width) {
			/* Cut to the room left (at least 12), marked "...". */
			size_t room = t->max_width > before_last + 12
			    ? t->max_width - before_last
			    : 12;
			size_t w = 0;
			for (const char *s = t->cells[i];
			     *s != '\0' && w < room - 3; s++) {
				w += ((unsigned char) *s & 0xC0) != 0x80;
				putchar(*s);
			}
			fputs("...\n", stdout);
			continue;
		}
		fputs(t->cells[i], stdout);
		/* End the row early rather than pad up to empty cells. */
		size_t rest = col + 1;
		while (rest < t->ncols && t->cells[i - col + rest][0] == '\0')
			rest++;
		if (rest == t->ncols) {
			putchar('\n');
			i += t->ncols - col - 1;
			continue;
		}
		for (size_t w = cli_width(t->cells[i]); w < width[col] + 2;
		     w++)
			putchar(' ');
	}
	return SM_OK;
}

static void
cli_table_fini(struct cli_table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* cli_join joins strings with sep into a new string ("-" when empty). */
static char *
cli_join(char *const *items, size_t n, const char *sep)
{
	size_t len = 2;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + strlen(sep);
	if ((s = malloc(len)) == NULL)
		return NULL;
	strcpy(s, n == 0 ? "-" : "");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, items[i]);
	}
	return cli_text_clean(s);
}

/* Records per stage: the tasks' latest counts summed by the stage part
 * of their names ("stage.subtask"), in the order stages first appear. */
static int
cli_text_stage_records(const JobStatus *st)
{
	struct cli_table t = { .ncols = 6 };
	struct stage_sum {
		char name[128];
		uint64_t in, out;
		double in_s, out_s;
		double busy, idle, bp; /* sums of the tasks' ratios */
		int n_ratios;
	} *sums = calloc(st->n_task_metrics + 1, sizeof(*sums));
	size_t n = 0;
	if (sums == NULL)
		return SM_ENOMEM;
	for (size_t i = 0; i < st->n_task_metrics; i++) {
		const Snapmark__TaskMetrics *m = st->task_metrics[i];
		const char *name = m->task_name != NULL ? m->task_name : "?";
		size_t len = strcspn(name, ".");
		size_t k = 0;
		while (k < n &&
		    (strlen(sums[k].name) != len ||
		        strncmp(sums[k].name, name, len) != 0))
			k++;
		if (k == n) {
			snprintf(sums[k].name, sizeof(sums[k].name), "%.*s",
			    (int) len, name);
			n++;
		}
		sums[k].in += m->records_in;
		sums[k].out += m->records_out;
		sums[k].in_s += m->records_in_per_s;
		sums[k].out_s += m->records_out_per_s;
		if (m->has_busy_ratio) {
			sums[k].busy += m->busy_ratio;
			sums[k].idle += m->idle_ratio;
			sums[k].bp += m->backpressured_ratio;
			sums[k].n_ratios++;
		}
	}
	putchar('\n');
	cli_table_row(&t,
	    (const char *[]) { "STAGE", "RECORDS IN", "RECORDS OUT", "IN/S",
	        "OUT/S", "BUSY/IDLE/BP%" });
	for (size_t k = 0; k < n; k++) {
		cli_table_take(&t, cli_fmt("%s", sums[k].name));
		cli_table_take(&t, cli_fmt("%" PRIu64, sums[k].in));
		cli_table_take(&t, cli_fmt("%" PRIu64, sums[k].out));
		cli_table_take(&t, cli_fmt("%.0f", sums[k].in_s));
		cli_table_take(&t, cli_fmt("%.0f", sums[k].out_s));
		/* the stage's mean shares of the last heartbeat interval */
		int nr = sums[k].n_ratios;
		if (nr > 0)
			cli_table_take(&t,
			    cli_fmt("%.0f/%.0f/%.0f", 100 * sums[k].busy / nr,
			        100 * sums[k].idle / nr, 100 * sums[k].bp / nr));
		else
			cli_table_take(&t, cli_fmt("-"));
	}
	free(sums);
	int rv = cli_table_print(&t);
	cli_table_fini(&t);
	return rv;
}

/* Frames buffered per channel: the first CLI_TEXT_TOP_CHANNELS of the
 * list (the caller puts the most buffered first); --json has them all. */
#define CLI_TEXT_TOP_CHANNELS 5

static int
cli_text_channels(const JobStatus *st)
{
	struct cli_table t = { .ncols = 5 };
	size_t n = st->n_channel_metrics < CLI_TEXT_TOP_CHANNELS
	    ? st->n_channel_metrics
	    : CLI_TEXT_TOP_CHANNELS;
	putchar('\n');
	cli_table_row(&t,
	    (const char *[]) { "FROM", "TO", "BUFFERED", "SENT",
	        "PROCESSED" });
	for (size_t i = 0; i < n; i++) {
		const Snapmark__ChannelMetrics *m = st->channel_metrics[i];
		if (m->from_name != NULL)
			cli_table_take(&t, cli_fmt("%s", m->from_name));
		else
			cli_table_take(&t, cli_fmt("#%" PRIu32, m->from_task));
		if (m->to_name != NULL)
			cli_table_take(&t, cli_fmt("%s", m->to_name));
		else
			cli_table_take(&t, cli_fmt("#%" PRIu32, m->to_task));
		cli_table_take(&t, cli_fmt("%" PRIu64, m->frames_buffered));
		cli_table_take(&t, cli_fmt("%" PRIu64, m->frames_sent));
		cli_table_take(&t, cli_fmt("%" PRIu64, m->frames_processed));
	}
	int rv = cli_table_print(&t);
	cli_table_fini(&t);
	size_t more = st->n_channel_metrics - n;
	if (rv == SM_OK && more > 0)
		printf("and %zu more channel%s (--json lists all)\n", more,
		    more == 1 ? "" : "s");
	return rv;
}

int
cli_text_status(const JobStatus *st)
{
	struct cli_table t = { .ncols = 4 };
	char buf[64];
	int rv;

	fputs("job: ", stdout);
	cli_puts_clean(st->job_name);
	fputs("\nstate: ", stdout);
	cli_puts_clean(st->state);
	printf("\nepoch: %" PRIu64 "\nrestarts: %" PRIu32 "\n", st->epoch,
	    st->restarts);
	printf("tasks: %" PRIu32 "/%" PRIu32 " running\n", st->tasks_running,
	    st->tasks_total);
	if (st->has_latest_completed)
		printf("latest completed checkpoint: %" PRIu64 "\n",
		    st->latest_completed);
	else
		printf("latest completed checkpoint: none\n");
	if (st->has_restored_from)
		printf("restored from %s: %" PRIu64 "\n",
		    st->has_restored_from_savepoint &&
		            st->restored_from_savepoint
		        ? "savepoint"
		        : "checkpoint",
		    st->restored_from);
	if (st->has_last_restore_us)
		printf("last restore took: %s\n",
		    cli_text_ms(buf, sizeof(buf), st->last_restore_us));
	if (st->http_url != NULL) {
		fputs("http: ", stdout);
		cli_puts_clean(st->http_url);
		putchar('\n');
	}
	fputs("pending checkpoints:", stdout);
	for (size_t i = 0; i < st->n_pending; i++)
		printf(" %" PRIu64, st->pending[i]);
	puts(st->n_pending == 0 ? " none" : "");
	if (st->last_failure != NULL) {
		fputs("last failure: ", stdout);
		cli_puts_clean(st->last_failure);
		putchar('\n');
	}

	putchar('\n');
	cli_table_row(&t,
	    (const char *[]) { "WORKER", "ALIVE", "PID", "TASKS" });
	for (size_t i = 0; i < st->n_workers; i++) {
		const WorkerStatus *w = st->workers[i];
		cli_table_take(&t, cli_fmt("%" PRIu32, w->worker_id));
		cli_table_take(&t, cli_fmt("%s", w->alive ? "yes" : "no"));
		if (w->has_pid)
			cli_table_take(&t, cli_fmt("%" PRIu32, w->pid));
		else
			cli_table_take(&t, cli_fmt("-"));
		cli_table_take(&t, cli_join(w->tasks, w->n_tasks, ","));
	}
	rv = cli_table_print(&t);
	cli_table_fini(&t);
	if (rv == SM_OK && st->n_task_metrics > 0)
		rv = cli_text_stage_records(st);
	if (rv == SM_OK && st->n_channel_metrics > 0)
		rv = cli_text_channels(st);
	return rv;
}

/* cli_record_row adds one checkpoint to the history table; narrow: the
 * 80-column layout (time of day, no FULL column). */
static void
cli_record_row(struct cli_table *t, const CheckpointRecord *r, int narrow)
{
	char when[48], dur[32], size[32], full[32];
	uint64_t bytes;
	int pending =
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING;

	cli_table_take(t, cli_fmt("%" PRIu64, r->id));
	cli_table_take(t, cli_fmt("%s", cli_kind(r)));
	cli_table_take(t, cli_fmt("%s", cli_status_name(r->status)));
	cli_table_take(t,
	    cli_fmt("%s",
	        cli_fmt_time(when, sizeof(when), r->trigger_time_ms) +
	            (narrow && strlen(when) == 24 ? 11 : 0)));
	cli_table_take(t,
	    cli_fmt("%s",
	        pending || !r->has_duration_us
	            ? "-"
	            : cli_fmt_duration(dur, sizeof(dur), r->duration_us)));
	cli_table_take(t,
	    cli_fmt("%s",
	        cli_text_bytes(r, &bytes)
	            ? cli_text_size(size, sizeof(size), bytes)
	            : "-"));
	if (!narrow)
		cli_table_take(t,
		    cli_fmt("%s",
		        r->has_full_bytes && !pending
		            ? cli_text_size(full, sizeof(full), r->full_bytes)
		            : "-"));
	cli_table_take(t,
	    cli_fmt("%" PRIu32 "/%" PRIu32, r->tasks_acked, r->tasks_total));
	cli_table_take(t,
	    cli_fmt("%s", r->failure_reason != NULL ? r->failure_reason : ""));
}

int
cli_text_checkpoints(CheckpointRecord *const *recs, size_t n)
{
	return cli_text_checkpoints_layout(recs, n, 1);
}

int
cli_text_checkpoints_layout(CheckpointRecord *const *recs, size_t n,
    int wide)
{
	/* SIZE is what the checkpoint wrote (a delta when incremental), FULL
	 * the size of the whole state it represents. */
	static const char *const head[] = { "ID", "TYPE", "STATUS",
		"TRIGGERED", "DURATION", "SIZE", "FULL", "ACKED", "FAILURE" };
	/* 80 columns: the time of day (UTC), no FULL, FAILURE cut. */
	static const char *const narrow[] = { "ID", "TYPE", "STATUS",
		"TRIGGERED", "DURATION", "SIZE", "ACKED", "FAILURE" };
	struct cli_table t = { .ncols = wide ? 9 : 8,
		.max_width = wide ? 0 : 80 };
	int rv;

	if (n == 0) {
		puts("no checkpoints yet");
		return SM_OK;
	}
	cli_table_row(&t, wide ? head : narrow);
	for (size_t i = 0; i < n; i++)
		cli_record_row(&t, recs[i], !wide);
	rv = cli_table_print(&t);
	cli_table_fini(&t);
	return rv;
}

int
cli_text_record(const CheckpointRecord *r)
{
	static const char *const head[] = { "TASK", "NAME", "SYNC", "ASYNC",
		"ALIGN", "ACKED_AFTER", "SIZE", "FULL", "KIND", "ENTRIES",
		"CHECKSUM", "LOCATION" };
	struct cli_table t = { .ncols = 12 };
	char buf[64], b2[32], b3[32], b4[32];
	uint64_t bytes;
	int rv;

	printf("id: %" PRIu64 "\nstatus: %s\ntype: %s\n", r->id,
	    cli_status_name(r->status), cli_kind(r));
	printf("triggered: %s\n",
	    cli_fmt_time(buf, sizeof(buf), r->trigger_time_ms));
	printf("duration: %s\n",
	    r->has_duration_us
	        ? cli_fmt_duration(buf, sizeof(buf), r->duration_us)
	        : "-");
	printf("size: %s\n",
	    cli_text_bytes(r, &bytes) ? cli_text_size(buf, sizeof(buf), bytes)
	                              : "-");
	if (r->has_full_bytes)
		printf("full state: %s\n",
		    cli_text_size(buf, sizeof(buf), r->full_bytes));
	if (r->savepoint_dir != NULL) {
		fputs("savepoint: ", stdout);
		cli_puts_clean(r->savepoint_dir);
		putchar('\n');
	}
	printf("acked: %" PRIu32 "/%" PRIu32 "\n", r->tasks_acked,
	    r->tasks_total);
	if (r->has_epoch)
		printf("epoch: %" PRIu64 "\n", r->epoch);
	else
		printf("epoch: -\n");
	int discarded =
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__DISCARDED;
	if (discarded)
		printf("discarded: retention removed its snapshots; it "
		       "cannot be restored\n");
	if (r->failure_reason != NULL) {
		fputs("failure: ", stdout);
		cli_puts_clean(r->failure_reason);
		putchar('\n');
	}

	putchar('\n');
	cli_table_row(&t, head);
	for (size_t i = 0; i < r->n_tasks; i++) {
		const TaskCheckpointStats *ts = r->tasks[i];
		const Snapmark__SnapshotHandle *h = ts->handle;
		cli_table_take(&t, cli_fmt("%" PRIu32, ts->task));
		cli_table_take(&t, cli_fmt("%s", ts->task_name));
		cli_table_take(&t,
		    cli_fmt("%s", cli_text_ms(buf, sizeof(buf), ts->sync_us)));
		cli_table_take(&t,
		    cli_fmt("%s", cli_text_ms(b2, sizeof(b2), ts->async_us)));
		cli_table_take(&t,
		    cli_fmt("%s", cli_text_ms(b3, sizeof(b3), ts->align_us)));
		cli_table_take(&t,
		    cli_fmt("%s", cli_text_ms(b4, sizeof(b4), ts->ack_us)));
		cli_table_take(&t,
		    cli_fmt("%s", cli_text_size(buf, sizeof(buf), h->bytes)));
		cli_table_take(&t,
		    cli_fmt("%s",
		        h->has_full_bytes
		            ? cli_text_size(b2, sizeof(b2), h->full_bytes)
		            : "-"));
		cli_table_take(&t,
		    cli_fmt("%s",
		        h->has_inline_meta        ? "inline"
		            : !h->has_incremental ? "-"
		            : h->incremental      ? "delta"
		                                  : "full"));
		if (h->has_entries)
			cli_table_take(&t, cli_fmt("%" PRIu64, h->entries));
		else
			cli_table_take(&t, cli_fmt("-"));
		cli_table_take(&t, cli_fmt("%08" PRIx32, h->checksum));
		/* A discarded checkpoint's locations are gone: not shown
		 * as if they could be used. */
		cli_table_take(&t,
		    cli_fmt("%s", discarded ? "(deleted)" : h->location));
	}
	rv = cli_table_print(&t);
	cli_table_fini(&t);
	return rv;
}

/* ------------------------------------------------------------- explain */

int
cli_text_explain(const Snapmark__Explanation *e)
{
	char buf[64], b2[32];
	printf("checkpoint %" PRIu64 " %s, %s from trigger to %s\n",
	    e->checkpoint_id, e->status,
	    cli_fmt_duration(buf, sizeof(buf), e->total_us),
	    strcmp(e->status, "COMPLETED") == 0 ||
	            strcmp(e->status, "DISCARDED") == 0
	        ? "commit"
	        : strcmp(e->status, "PENDING") == 0 ? "now"
	                                            : "failure");
	if (e->failure_reason != NULL) {
		fputs("failure: ", stdout);
		cli_puts_clean(e->failure_reason);
		putchar('\n');
	}
	if (e->n_path > 0) {
		static const char *const head[] = { "AT", "TOOK", "SHARE",
			"PHASE" };
		struct cli_table t = { .ncols = 4 };
		uint64_t at = 0;
		puts("critical path (trigger -> commit):");
		cli_table_row(&t, head);
		for (size_t i = 0; i < e->n_path; i++) {
			const Snapmark__ExplainPhase *p = e->path[i];
			cli_table_take(&t, cli_fmt("+%s",
			                       cli_text_ms(buf, sizeof(buf), at)));
			cli_table_take(&t, cli_fmt("%s",
			                       cli_text_ms(b2, sizeof(b2), p->us)));
			cli_table_take(&t, cli_fmt("%.0f%%",
			                       e->total_us > 0
			                           ? 100.0 * (double) p->us /
			                               (double) e->total_us
			                           : 0.0));
			cli_table_take(&t, cli_fmt("%s", p->what));
			at += p->us;
		}
		int rv = cli_table_print(&t);
		cli_table_fini(&t);
		if (rv != SM_OK)
			return rv;
	}
	if (e->slowest_channel != NULL) {
		fputs("slowest channel: ", stdout);
		cli_puts_clean(e->slowest_channel);
		printf(": barrier queued %s", cli_text_ms(buf, sizeof(buf),
		                                  e->slowest_channel_us));
		if (e->has_slowest_channel_frames)
			printf(" behind %" PRIu32 " frames",
			    e->slowest_channel_frames);
		putchar('\n');
	}
	if (e->n_missing > 0) {
		puts("not acknowledged by:");
		for (size_t i = 0; i < e->n_missing; i++) {
			const Snapmark__ExplainTask *m = e->missing[i];
			fputs("  ", stdout);
			cli_puts_clean(m->task);
			fputs(": ", stdout);
			cli_puts_clean(m->last_seen != NULL ? m->last_seen : "-");
			putchar('\n');
		}
	}
	fputs("verdict: ", stdout);
	cli_puts_clean(e->verdict);
	putchar('\n');
	return SM_OK;
}
