/*
 * op_file_sink.c - the `file` sink: exactly-once output by two-phase commit.
 *
 * The sink's directory, OUT below, is the stage's `path = DIR` (absolute,
 * or relative to the worker's run directory; created with its parents if
 * missing), by default RUN/output. Every file of the sink lives in it.
 *
 * Records go to a staging file that nobody reads. On barrier n the staging
 * file is made durable (fsync) and renamed into OUT/.pending/ as
 * part-SUB-n: it is pre-committed, and its name is part of the snapshot.
 * When checkpoint n completes, every pending file with an id <= n is renamed
 * into OUT (published). A rename is atomic and doing it twice is
 * harmless, so publishing again after a crash is safe.
 *
 * After a restore from checkpoint n the sink publishes the pending files
 * recorded in n (the commit may have been cut short by the crash), and
 * deletes everything of its subtask that is newer than n: pending or
 * staging files of the failed epoch, and published files of a checkpoint
 * that was abandoned because its snapshot failed verification. So OUT
 * holds exactly the records of the restored checkpoint's history, and
 * replay writes the rest once.
 *
 * A full disk loses nothing: the sink buffers the staging file's bytes
 * itself and knows which of them write() took. Bytes the disk has no room
 * for are held in memory (up to SINK_HOLD_MAX, beyond which the task fails
 * and the job replays from its last checkpoint); a barrier that cannot
 * write them declines its checkpoint with SM_ENOSPC and the staging file
 * goes on growing, so the next checkpoint that can write pre-commits all
 * of it. A failed fsync leaves the file's contents unknown: the task fails
 * and the records are replayed.
 *
 * Output lines (docs/JOBFILE.md, "Output files"), one per record:
 *   records  "SUBTASK SEQ KEY VALUE" of a gen record (8-byte key, 20-byte
 *            value: operator.h, sm_gen_encode); any other record fails
 *            the task
 *   counts   "KEY COUNT": the 8-byte key as a decimal u64, and the value,
 *            which is decimal text (what count emits); a gen record's
 *            value prints its value field, as before records were bytes
 *   text     the key's bytes, a TAB, the value's bytes, as they are
 *
 * SNAPMARK_DEBUG_PUBLISH_DELAY_MS (tests only) makes the sink wait that
 * long before publishing a completed checkpoint's files, widening the
 * window between a commit and its publication.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "worker/operators/operator.h"
#include "worker/trust.h"

/* Bytes buffered before a write(); a full disk holds at most this many. */
#define SINK_FLUSH_BYTES ((size_t) 1 << 20)
#define SINK_HOLD_MAX ((size_t) 256 << 20)
/* The sink's directory: RUN/output or path = DIR (SM_JOB_PATH_MAX) below
 * a run directory; the files in it add a name. */
#define SINK_DIR_MAX 4096
#define SINK_FILE_MAX (SINK_DIR_MAX + 128)

enum sink_format { SINK_RECORDS, SINK_COUNTS, SINK_TEXT };

struct sink {
	char out_dir[SINK_DIR_MAX];
	char pending_dir[SINK_DIR_MAX + 16];
	char staging_path[SINK_DIR_MAX + 32];
	int staging; /* its fd, -1 = not open */
	char *buf;   /* bytes not yet taken by write() */
	size_t len, cap;
	size_t retry_at;      /* a full disk: try write() again at this len */
	int failed;           /* an sm_err that ends the task, or SM_OK */
	size_t staged;        /* records in the staging file */
	enum sink_format format;
	size_t n_pending;
	size_t cap_pending;
	char **pending;
	uint64_t *pending_id;
	uint64_t debug_publish_delay_ms; /* SNAPMARK_DEBUG_PUBLISH_DELAY_MS */
	/* Tests only: SNAPMARK_DEBUG_SINK_DELAY_US=N sleeps N µs per batch of
	 * records, a slow sink that back-pressures its upstream. */
	uint64_t debug_delay_us;
};

static int
sink_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return sm_err_from_errno(errno);
	int rv = fsync(fd) == 0 ? SM_OK : sm_err_from_errno(errno);
	close(fd);
	return rv;
}

static int
sink_mkdir(const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		sm_error("sink: cannot create %s: %s", dir, strerror(errno));
		return SM_EIO;
	}
	return SM_OK;
}

/* sink_mkdirs creates dir and its missing parents (path = DIR). */
static int
sink_mkdirs(const char *dir)
{
	char path[SINK_DIR_MAX];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *c = path + 1; *c != '\0'; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			sm_error("sink: cannot create %s: %s", path,
			    strerror(errno));
			return SM_EIO;
		}
		*c = '/';
	}
	return sink_mkdir(path);
}

static int
sink_open(struct sm_op *op)
{
	const struct sm_job *job = op->ctx.job;
	const struct sm_job_stage *st = &job->stages[op->ctx.stage];
	struct sink *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	const char *slow = getenv("SNAPMARK_DEBUG_SINK_DELAY_US");
	if (slow != NULL)
		s->debug_delay_us = strtoull(slow, NULL, 10);
	if (strcmp(st->format, "text") == 0)
		s->format = SINK_TEXT;
	else if (strcmp(st->format, "counts") == 0 ||
	    (st->format[0] == '\0' && st->n_inputs > 0 &&
	        job->stages[st->inputs[0].stage].op == SM_OP_COUNT))
		s->format = SINK_COUNTS;
	else
		s->format = SINK_RECORDS;
	const char *dir = sm_job_sink_path(job, op->ctx.stage);
	int n;
	if (dir == NULL)
		n = snprintf(s->out_dir, sizeof(s->out_dir), "%s/output",
		    op->ctx.run_dir);
	else if (dir[0] == '/')
		n = snprintf(s->out_dir, sizeof(s->out_dir), "%s", dir);
	else
		n = snprintf(s->out_dir, sizeof(s->out_dir), "%s/%s",
		    op->ctx.run_dir, dir);
	s->staging = -1;
	op->impl = s;
	if (n < 0 || (size_t) n >= sizeof(s->out_dir))
		return sm_op_fail(op, "sink: output directory path too long");
	/* Trailing slashes of path = DIR/ go: names are joined with one. */
	while (n > 1 && s->out_dir[n - 1] == '/')
		s->out_dir[--n] = '\0';
	snprintf(s->pending_dir, sizeof(s->pending_dir), "%s/.pending",
	    s->out_dir);
	snprintf(s->staging_path, sizeof(s->staging_path),
	    "%s/.staging-%d", s->out_dir, op->ctx.subtask);
	const char *delay = getenv("SNAPMARK_DEBUG_PUBLISH_DELAY_MS");
	if (delay != NULL)
		s->debug_publish_delay_ms = strtoull(delay, NULL, 10);
	if (sink_mkdirs(s->out_dir) != SM_OK ||
	    sink_mkdir(s->pending_dir) != SM_OK)
		return SM_EIO;
	return SM_OK;
}

/* sink_drain hands the buffered bytes to the staging file. SM_ENOSPC:
 * the disk is full and the bytes it did not take stay in the buffer. */
static int
sink_drain(struct sink *s)
{
	if (s->staging < 0) {
		s->staging = open(s->staging_path,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->staging < 0) {
			int e = errno;
			sm_error("sink: cannot open %s: %s", s->staging_path,
			    strerror(e));
			return e == ENOSPC || e == EDQUOT ? SM_ENOSPC : SM_EIO;
		}
	}
	size_t off = 0;
	int rv = SM_OK;
	while (off < s->len) {
		ssize_t n = write(s->staging, s->buf + off, s->len - off);
		if (n > 0) {
			off += (size_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		rv = n < 0 && (errno == ENOSPC || errno == EDQUOT) ? SM_ENOSPC
		                                                   : SM_EIO;
		if (rv == SM_EIO)
			sm_error("sink: cannot write %s: %s", s->staging_path,
			    n < 0 ? strerror(errno) : "short write");
		break;
	}
	if (rv == SM_ENOSPC && s->retry_at == 0)
		sm_warn("sink: %s: no space left on device; holding the "
		        "records in memory until there is",
		    s->staging_path);
	else if (rv == SM_OK && s->retry_at != 0)
		sm_info("sink: %s: space is back, %zu held bytes written",
		    s->staging_path, s->len);
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	s->retry_at = rv == SM_ENOSPC ? s->len + SINK_FLUSH_BYTES : 0;
	return rv;
}

/* sink_reserve makes room for n more bytes in the buffer. */
static int
sink_reserve(struct sink *s, size_t n)
{
	if (s->len + n <= s->cap)
		return SM_OK;
	size_t cap = s->cap ? s->cap : SINK_FLUSH_BYTES + 4096;
	while (cap < s->len + n)
		cap *= 2;
	char *b = realloc(s->buf, cap);
	if (b == NULL)
		return SM_ENOMEM;
	s->buf = b;
	s->cap = cap;
	return SM_OK;
}

/* 1 if the n bytes at p are a decimal integer: an optional '-', then 1 to
 * 20 digits. */
static int
sink_is_decimal(const uint8_t *p, uint32_t n)
{
	uint32_t i = n > 0 && p[0] == '-';
	if (n - i < 1 || n - i > 20)
		return 0;
	for (; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Format r as one line into line[cap]: its length, or -1 (and op->why)
 * when r has not the shape the format reads. */
static int
sink_format_line(struct sm_op *op, const struct snapmark_record *r,
    char *line, size_t cap)
{
	struct sink *s = op->impl;
	uint32_t sub;
	uint64_t seq, key;
	int64_t value;
	int n;
	if (s->format == SINK_RECORDS) {
		if (sm_gen_decode(r, &sub, &seq, &key, &value) != SM_OK) {
			sm_op_fail(op, "file sink (format = records): a record "
			               "with a %" PRIu32 "-byte key and a %" PRIu32
			               "-byte value is not a gen record (8-byte "
			               "key, 20-byte value); use format = text",
			    r->key_len, r->value_len);
			return -1;
		}
		n = snprintf(line, cap,
		    "%" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRId64 "\n", sub,
		    seq, key, value);
		return n > 0 && (size_t) n < cap ? n : -1;
	}
	/* counts */
	if (r->key_len != 8) {
		sm_op_fail(op, "file sink (format = counts): a record's key is "
		               "%" PRIu32 " bytes, not 8 (a big-endian u64); use "
		               "format = text",
		    r->key_len);
		return -1;
	}
	key = sm_get_be64(r->key);
	if (sink_is_decimal(r->value, r->value_len)) {
		n = snprintf(line, cap, "%" PRIu64 " %.*s\n", key,
		    (int) r->value_len, (const char *) r->value);
	} else if (sm_gen_decode(r, &sub, &seq, &key, &value) == SM_OK) {
		n = snprintf(line, cap, "%" PRIu64 " %" PRId64 "\n", key,
		    value);
	} else {
		sm_op_fail(op, "file sink (format = counts): a record's value "
		               "(%" PRIu32 " bytes) is not a decimal count; use "
		               "format = text",
		    r->value_len);
		return -1;
	}
	return n > 0 && (size_t) n < cap ? n : -1;
}

static int
sink_write(struct sm_op *op, const struct snapmark_record *r)
{
	struct sink *s = op->impl;
	int rv;
	if (s->format == SINK_TEXT) {
		/* key TAB value NL, the bytes as they are */
		size_t n = (size_t) r->key_len + r->value_len + 2;
		if ((rv = sink_reserve(s, n)) != SM_OK)
			return rv;
		char *p = s->buf + s->len;
		if (r->key_len > 0)
			memcpy(p, r->key, r->key_len);
		p[r->key_len] = '\t';
		if (r->value_len > 0)
			memcpy(p + r->key_len + 1, r->value, r->value_len);
		p[n - 1] = '\n';
		s->len += n;
	} else {
		char line[128];
		int n = sink_format_line(op, r, line, sizeof(line));
		if (n < 0)
			return op->why[0] != '\0' ? SM_EINVAL : SM_EIO;
		if ((rv = sink_reserve(s, (size_t) n)) != SM_OK)
			return rv;
		memcpy(s->buf + s->len, line, (size_t) n);
		s->len += (size_t) n;
	}
	s->staged++;
	if (s->len < SINK_FLUSH_BYTES || s->len < s->retry_at)
		return SM_OK;
	rv = sink_drain(s);
	if (rv == SM_ENOSPC && s->len > SINK_HOLD_MAX) {
		sm_error("sink: %s: more than %zu bytes held for a full disk",
		    s->staging_path, SINK_HOLD_MAX);
		return SM_ENOSPC;
	}
	return rv == SM_ENOSPC ? SM_OK : rv;
}

static int
sink_process(struct sm_op *op, const struct snapmark_record *recs,
    size_t n, struct sm_emitter *out)
{
	struct sink *s = op->impl;
	if (s->failed != SM_OK)
		return s->failed;
	if (s->debug_delay_us > 0 && n > 0)
		usleep((useconds_t) s->debug_delay_us);
	for (size_t i = 0; i < n; i++) {
		int rv = sink_write(op, &recs[i]);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

static int
sink_add_pending(struct sink *s, const char *name, uint64_t id)
{
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? s->cap_pending * 2 : 8;
		char **p = realloc(s->pending, cap * sizeof(*p));
		if (p == NULL)
			return SM_ENOMEM;
		s->pending = p;
		uint64_t *ids = realloc(s->pending_id, cap * sizeof(*ids));
		if (ids == NULL)
			return SM_ENOMEM;
		s->pending_id = ids;
		s->cap_pending = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return SM_ENOMEM;
	s->pending[s->n_pending] = copy;
	s->pending_id[s->n_pending] = id;
	s->n_pending++;
	return SM_OK;
}

/* Pre-commit: make the staged records durable under .pending/. */
static int
sink_snapshot(struct sm_op *op, uint64_t checkpoint_id,
    struct sm_snapshot_data *out)
{
	struct sink *s = op->impl;
	if (s->failed != SM_OK)
		return s->failed;
	if (s->staged > 0) {
		/* No room: decline, keep staging; the next barrier tries. */
		int rv = sink_drain(s);
		if (rv != SM_OK)
			return rv;
		if (fsync(s->staging) != 0) {
			sm_error("sink: cannot fsync %s: %s", s->staging_path,
			    strerror(errno));
			s->failed = SM_EIO;
			return SM_EIO;
		}
		close(s->staging);
		s->staging = -1;
		char name[64], path[SINK_FILE_MAX];
		snprintf(name, sizeof(name), SM_SINK_PENDING_FMT,
		    op->ctx.subtask, checkpoint_id);
		snprintf(path, sizeof(path), "%s/%s", s->pending_dir, name);
		/* From here a failure would leave records outside every
		 * later pre-commit: the task fails and replays them. */
		if (rename(s->staging_path, path) != 0) {
			sm_error("sink: cannot pre-commit %s: %s", path,
			    strerror(errno));
			s->failed = SM_EIO;
			return SM_EIO;
		}
		s->staged = 0;
		if ((rv = sink_fsync_dir(s->pending_dir)) != SM_OK ||
		    (rv = sink_add_pending(s, name, checkpoint_id)) != SM_OK) {
			s->failed = rv == SM_ENOSPC ? SM_EIO : rv;
			return s->failed;
		}
	}
	out->n_pending = s->n_pending;
	out->pending = s->pending;
	out->pending_id = s->pending_id;
	return SM_OK;
}

static void
sink_snapshot_release(struct sm_op *op, struct sm_snapshot_data *d)
{
	d->n_pending = 0;
	d->pending = NULL;
	d->pending_id = NULL;
}

/* Publish one pre-committed file; already published counts as done. */
static int
sink_publish(struct sink *s, const char *name)
{
	char from[SINK_FILE_MAX], to[SINK_FILE_MAX];
	snprintf(from, sizeof(from), "%s/%s", s->pending_dir, name);
	snprintf(to, sizeof(to), "%s/%s", s->out_dir, name);
	if (rename(from, to) == 0)
		return SM_OK;
	struct stat sb;
	if (errno == ENOENT && stat(to, &sb) == 0)
		return SM_OK;
	sm_error("sink: cannot publish %s: %s", from, strerror(errno));
	return SM_EIO;
}

static int
sink_notify_complete(struct sm_op *op, uint64_t checkpoint_id)
{
	struct sink *s = op->impl;
	size_t kept = 0;
	int rv = SM_OK, published = 0;
	for (size_t i = 0; s->debug_publish_delay_ms > 0 && i < s->n_pending;
	     i++) {
		if (s->pending_id[i] > checkpoint_id)
			continue;
		sm_info("sink %d: publishing checkpoint %" PRIu64
		        " in %" PRIu64 " ms (SNAPMARK_DEBUG_PUBLISH_DELAY_MS)",
		    op->ctx.subtask, checkpoint_id, s->debug_publish_delay_ms);
		struct timespec ts = {
			.tv_sec = (time_t) (s->debug_publish_delay_ms / 1000),
			.tv_nsec = (long) (s->debug_publish_delay_ms % 1000) *
			    1000000L
		};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		break;
	}
	for (size_t i = 0; i < s->n_pending; i++) {
		if (s->pending_id[i] <= checkpoint_id && rv == SM_OK) {
			rv = sink_publish(s, s->pending[i]);
			if (rv == SM_OK) {
				free(s->pending[i]);
				published = 1;
				continue;
			}
		}
		s->pending[kept] = s->pending[i];
		s->pending_id[kept] = s->pending_id[i];
		kept++;
	}
	s->n_pending = kept;
	if (published && rv == SM_OK)
		rv = sink_fsync_dir(s->out_dir);
	return rv;
}

/* Remove files of this subtask in dir whose checkpoint id is > keep_upto
 * (and, in the pending dir, every file: they were published first). */
static void
sink_prune(struct sink *s, const char *dir, int subtask, uint64_t keep_upto,
    int all)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int sub;
		uint64_t id;
		char tail;
		if (sscanf(e->d_name, "part-%d-%" SCNu64 "%c", &sub, &id,
		        &tail) != 2 ||
		    sub != subtask)
			continue;
		if (!all && id <= keep_upto)
			continue;
		char path[SINK_FILE_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!all)
			sm_warn("sink: removing %s, published by checkpoint "
			        "%" PRIu64 " which is newer than the restored "
			        "one (%" PRIu64 ")",
			    path, id, keep_upto);
		unlink(path);
	}
	closedir(d);
	sink_fsync_dir(dir);
}

static int
sink_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	struct sink *s = op->impl;
	int sub = op->ctx.subtask;
	/* The names come from a snapshot: rename nothing unless every one
	 * is a name this subtask gave (the task checked them too). */
	for (size_t i = 0; i < in->n_pending; i++) {
		char why[200];
		if (sm_trust_pending_name(in->pending[i], in->pending_id[i],
		        sub, checkpoint_id, why, sizeof(why)) != SM_OK) {
			sm_error("sink: %s", why);
			return SM_ECORRUPT;
		}
	}
	for (size_t i = 0; i < in->n_pending; i++) {
		int rv = sink_publish(s, in->pending[i]);
		if (rv != SM_OK)
			return rv;
	}
	if (in->n_pending > 0)
		sink_fsync_dir(s->out_dir);
	sink_prune(s, s->pending_dir, sub, 0, 1);
	sink_prune(s, s->out_dir, sub, checkpoint_id, 0);
	unlink(s->staging_path);
	return SM_OK;
}

static void
sink_close(struct sm_op *op)
{
	struct sink *s = op->impl;
	if (s == NULL)
		return;
	if (s->staging >= 0)
		close(s->staging);
	free(s->buf);
	for (size_t i = 0; i < s->n_pending; i++)
		free(s->pending[i]);
	free(s->pending);
	free(s->pending_id);
	free(s);
}

const struct sm_op_ops sm_op_file_sink = {
	.open = sink_open,
	.process = sink_process,
	.snapshot = sink_snapshot,
	.snapshot_release = sink_snapshot_release,
	.notify_complete = sink_notify_complete,
	.restore = sink_restore,
	.close = sink_close,
};
