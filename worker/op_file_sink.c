/*
 * op_file_sink.c - the `file` sink: exactly-once output by two-phase commit.
 *
 * Records go to a staging file that nobody reads. On barrier n the staging
 * file is made durable (fsync) and renamed into output/.pending/ as
 * part-SUB-n: it is pre-committed, and its name is part of the snapshot.
 * When checkpoint n completes, every pending file with an id <= n is renamed
 * into output/ (published). A rename is atomic and doing it twice is
 * harmless, so publishing again after a crash is safe.
 *
 * After a restore from checkpoint n the sink publishes the pending files
 * recorded in n (the commit may have been cut short by the crash), and
 * deletes everything of its subtask that is newer than n: pending or
 * staging files of the failed epoch, and published files of a checkpoint
 * that was abandoned because its snapshot failed verification. So output/
 * holds exactly the records of the restored checkpoint's history, and
 * replay writes the rest once.
 *
 * Output lines: "SUBTASK SEQ KEY VALUE" (records) or "KEY COUNT" (counts).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "operator.h"
#include "trust.h"

struct sink {
	char out_dir[512];
	char pending_dir[530];
	char staging_path[560];
	FILE *staging;
	size_t staged;        /* records in the staging file */
	int counts;           /* "KEY COUNT" lines */
	size_t n_pending;
	size_t cap_pending;
	char **pending;
	uint64_t *pending_id;
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

static int
sink_open(struct sm_op *op)
{
	const struct sm_job *job = op->ctx.job;
	const struct sm_job_stage *st = &job->stages[op->ctx.stage];
	struct sink *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	if (st->format[0] != '\0')
		s->counts = strcmp(st->format, "counts") == 0;
	else
		s->counts = st->n_inputs > 0 &&
		    job->stages[st->inputs[0].stage].op == SM_OP_COUNT;
	snprintf(s->out_dir, sizeof(s->out_dir), "%s/output",
	    op->ctx.run_dir);
	snprintf(s->pending_dir, sizeof(s->pending_dir), "%s/.pending",
	    s->out_dir);
	snprintf(s->staging_path, sizeof(s->staging_path),
	    "%s/.staging-%d", s->out_dir, op->ctx.subtask);
	op->impl = s;
	if (sink_mkdir(s->out_dir) != SM_OK ||
	    sink_mkdir(s->pending_dir) != SM_OK)
		return SM_EIO;
	return SM_OK;
}

static int
sink_write(struct sink *s, const struct sm_record *r)
{
	if (s->staging == NULL) {
		s->staging = fopen(s->staging_path, "w");
		if (s->staging == NULL) {
			sm_error("sink: cannot open %s: %s", s->staging_path,
			    strerror(errno));
			return SM_EIO;
		}
		setvbuf(s->staging, NULL, _IOFBF, 1 << 20);
	}
	int n = s->counts
	    ? fprintf(s->staging, "%" PRIu64 " %" PRId64 "\n", r->key,
	          r->value)
	    : fprintf(s->staging, "%" PRIu32 " %" PRIu64 " %" PRIu64
	                          " %" PRId64 "\n",
	          r->subtask, r->seq, r->key, r->value);
	if (n < 0)
		return SM_EIO;
	s->staged++;
	return SM_OK;
}

static int
sink_process(struct sm_op *op, const struct sm_record *recs, size_t n,
    struct sm_emitter *out)
{
	struct sink *s = op->impl;
	for (size_t i = 0; i < n; i++) {
		int rv = sink_write(s, &recs[i]);
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
	if (s->staging != NULL && s->staged > 0) {
		int rv = SM_OK;
		if (fflush(s->staging) != 0 || fsync(fileno(s->staging)) != 0)
			rv = SM_EIO;
		fclose(s->staging);
		s->staging = NULL;
		if (rv != SM_OK)
			return rv;
		char name[64], path[700];
		snprintf(name, sizeof(name), SM_SINK_PENDING_FMT,
		    op->ctx.subtask, checkpoint_id);
		snprintf(path, sizeof(path), "%s/%s", s->pending_dir, name);
		if (rename(s->staging_path, path) != 0) {
			sm_error("sink: cannot pre-commit %s: %s", path,
			    strerror(errno));
			return SM_EIO;
		}
		s->staged = 0;
		if ((rv = sink_fsync_dir(s->pending_dir)) != SM_OK ||
		    (rv = sink_add_pending(s, name, checkpoint_id)) != SM_OK)
			return rv;
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
	char from[700], to[700];
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
		char path[700];
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
	if (s->staging != NULL)
		fclose(s->staging);
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
