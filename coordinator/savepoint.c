/*
 * savepoint.c - savepoints: their targets, their metadata, and restoring a
 * job from one (coordinator/savepoint.h).
 *
 * Savepoints are self-contained and relocatable: DIR/_metadata names every
 * task's snapshot store by a plain name relative to DIR, resolved against
 * the directory a restore names. Before anything is deployed the
 * coordinator verifies the whole savepoint (every task present, every
 * store there and its snapshot's checksums right), so a savepoint that
 * cannot be used fails the start instead of looping epochs; a task that
 * still cannot restore one fails the job (recovery.c).
 *
 * It reads the coordinator's state (struct coord) and calls no other part
 * of the coordinator.
 */
#include "coordinator/savepoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/snapshot.h"
#include "common/store.h"

#define SAVEPOINT_MAX_BYTES (64u << 20)

/* ----------------------------------------------------------- savepoints */

/* A plain name: one path component, not "." or "..". */
static int
savepoint_plain_name(const char *s)
{
	return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0;
}

/* The name of a task's store inside savepoint dir: location is dir/NAME
 * (how tasks acknowledge a savepoint snapshot). NULL if it is not. */
static const char *
savepoint_relative(const char *dir, const char *location)
{
	size_t n = strlen(dir);
	if (strncmp(location, dir, n) != 0 || location[n] != '/' ||
	    !savepoint_plain_name(location + n + 1))
		return NULL;
	return location + n + 1;
}

/* Pack the metadata with every task's location relative to the savepoint
 * directory, so the savepoint can be moved as a whole. */
static int
savepoint_pack(struct coord *c, const Snapmark__CheckpointRecord *rec,
    uint8_t **out, size_t *outlen)
{
	char **saved = calloc(rec->n_tasks + 1, sizeof(*saved));
	if (saved == NULL)
		return SM_ENOMEM;
	int rv = SM_OK;
	size_t k;
	for (k = 0; k < rec->n_tasks; k++) {
		Snapmark__SnapshotHandle *h = rec->tasks[k]->handle;
		saved[k] = h->location;
		if (strcmp(h->location, SM_SNAPSHOT_INLINE) == 0)
			continue;
		const char *rel =
		    savepoint_relative(rec->savepoint_dir, h->location);
		if (rel == NULL) {
			sm_error("savepoint %" PRIu64 ": task %u's snapshot "
			         "%s is not inside %s",
			    rec->id, h->task, h->location, rec->savepoint_dir);
			rv = SM_EINVAL;
			break;
		}
		h->location = (char *) rel;
	}
	if (rv == SM_OK) {
		Snapmark__SavepointMetadata m =
		    SNAPMARK__SAVEPOINT_METADATA__INIT;
		m.record = (Snapmark__CheckpointRecord *) rec;
		m.job_text = c->job_text;
		*outlen = snapmark__savepoint_metadata__get_packed_size(&m);
		if ((*out = malloc(*outlen + 1)) == NULL)
			rv = SM_ENOMEM;
		else
			snapmark__savepoint_metadata__pack(&m, *out);
	}
	for (size_t i = 0; i < rec->n_tasks; i++)
		if (saved[i] != NULL)
			rec->tasks[i]->handle->location = saved[i];
	free(saved);
	return rv;
}

/* Is path equal to dir or inside it? */
static int
savepoint_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

int
coord_savepoint_target(struct coord *c, const char *dir, char *out,
    size_t outlen, char *why, size_t whylen)
{
	if (dir == NULL || dir[0] == '\0') {
		snprintf(why, whylen, "the savepoint directory is empty");
		return SM_EINVAL;
	}
	if (dir[0] != '/') {
		snprintf(why, whylen,
		    "savepoint directory '%s' is not an absolute path", dir);
		return SM_EINVAL;
	}
	/* Resolve the part that exists (symlinks included), keep the rest,
	 * which this function creates; "." and ".." are refused outright. */
	char res[PATH_MAX] = "/", tmp[PATH_MAX], part[PATH_MAX];
	const char *p = dir;
	int exists = 1;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len >= sizeof(part)) {
			snprintf(why, whylen, "savepoint directory too long");
			return SM_EINVAL;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		p += len;
		if (!savepoint_plain_name(part)) {
			snprintf(why, whylen,
			    "savepoint directory '%s' contains '%s'", dir,
			    part);
			return SM_EINVAL;
		}
		int n = snprintf(tmp, sizeof(tmp), "%s%s%s", res,
		    strcmp(res, "/") == 0 ? "" : "/", part);
		if (n < 0 || (size_t) n >= sizeof(tmp)) {
			snprintf(why, whylen, "savepoint directory too long");
			return SM_EINVAL;
		}
		char real[PATH_MAX];
		if (exists && realpath(tmp, real) != NULL) {
			snprintf(res, sizeof(res), "%s", real);
			continue;
		}
		exists = 0;
		memcpy(res, tmp, (size_t) n + 1);
	}
	/* Inside the run dir only under RUN/savepoints/: everything else
	 * there is live state (stores, sockets, output, logs). */
	char sp[PATH_MAX];
	snprintf(sp, sizeof(sp), "%s/savepoints", c->run_dir);
	if (savepoint_path_within(res, c->run_dir) &&
	    (!savepoint_path_within(res, sp) || strcmp(res, sp) == 0)) {
		snprintf(why, whylen,
		    "savepoint directory %s is inside the run directory %s, "
		    "whose live state it could overwrite; use a directory "
		    "outside it, or under %s/",
		    res, c->run_dir, sp);
		return SM_EINVAL;
	}
	struct stat sb;
	if (stat(res, &sb) == 0) {
		DIR *d = S_ISDIR(sb.st_mode) ? opendir(res) : NULL;
		struct dirent *e;
		int empty = d != NULL;
		while (d != NULL && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0)
				empty = 0;
		if (d != NULL)
			closedir(d);
		if (!empty) {
			snprintf(why, whylen,
			    "savepoint directory %s already exists and is %s",
			    res,
			    S_ISDIR(sb.st_mode) ? "not empty"
			                        : "not a directory");
			return SM_EINVAL;
		}
	}
	/* Create what is missing, private to the user. */
	for (char *s = res + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char ch = *s;
		*s = '\0';
		if (mkdir(res, 0700) != 0 && errno != EEXIST) {
			snprintf(why, whylen, "cannot create %s: %s", res,
			    strerror(errno));
			return SM_EIO;
		}
		*s = ch;
		if (ch == '\0')
			break;
	}
	if ((size_t) snprintf(out, outlen, "%s", res) >= outlen) {
		snprintf(why, whylen, "savepoint directory too long");
		return SM_EINVAL;
	}
	return SM_OK;
}

int
coord_savepoint_write(struct coord *c, const Snapmark__CheckpointRecord *rec)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int prv = savepoint_pack(c, rec, &buf, &len);
	if (prv != SM_OK)
		return prv;
	char tmp[800], path[800];
	snprintf(tmp, sizeof(tmp), "%s/_metadata.tmp", rec->savepoint_dir);
	snprintf(path, sizeof(path), "%s/_metadata", rec->savepoint_dir);
	int rv = SM_EIO;
	/* temp file -> fsync -> rename -> fsync the directory */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, buf, len) == (ssize_t) len && fsync(fd) == 0)
			rv = SM_OK;
		else if (errno == ENOSPC || errno == EDQUOT)
			rv = SM_ENOSPC; /* a short write: the disk is full */
		close(fd);
	}
	if (rv == SM_OK && rename(tmp, path) != 0)
		rv = SM_EIO;
	if (rv == SM_OK) {
		int dfd = open(rec->savepoint_dir, O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		sm_error("cannot write savepoint metadata %s: %s", path,
		    strerror(errno));
	}
	free(buf);
	return rv;
}

void
coord_savepoint_free(struct coord *c)
{
	if (c->savepoint_plan != NULL)
		for (int t = 0; t < c->job.n_tasks; t++)
			free(c->savepoint_plan[t].handles);
	free(c->savepoint_plan);
	c->savepoint_plan = NULL;
	if (c->savepoint != NULL)
		snapmark__savepoint_metadata__free_unpacked(c->savepoint, NULL);
	c->savepoint = NULL;
}

static int
savepoint_read(const char *dir, Snapmark__SavepointMetadata **out, char *why,
    size_t whylen)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/_metadata", dir);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		return SM_ENOTFOUND;
	}
	uint8_t *buf = malloc(SAVEPOINT_MAX_BYTES);
	size_t len = buf ? fread(buf, 1, SAVEPOINT_MAX_BYTES, f) : 0;
	fclose(f);
	Snapmark__SavepointMetadata *m = NULL;
	if (buf != NULL && len < SAVEPOINT_MAX_BYTES)
		m = snapmark__savepoint_metadata__unpack(NULL, len, buf);
	free(buf);
	if (m == NULL || m->record == NULL ||
	    m->record->status !=
	        SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED) {
		if (m != NULL)
			snapmark__savepoint_metadata__free_unpacked(m, NULL);
		snprintf(why, whylen, "%s is not a completed savepoint", path);
		return SM_ECORRUPT;
	}
	*out = m;
	return SM_OK;
}

/* Point every task's handle of the savepoint at its store under dir, the
 * directory the savepoint is in now. A location is a plain name inside
 * the savepoint; one written before locations were relative is
 * THEN_DIR/NAME and taken as NAME. Anything else - absolute elsewhere, a
 * path with '/', "..": never opened. */
static int
savepoint_resolve(Snapmark__CheckpointRecord *rec, const struct sm_job *old,
    const char *dir, char *why, size_t whylen)
{
	char name[SM_JOB_NAME_MAX + 16];
	if (rec->n_tasks != (size_t) old->n_tasks) {
		snprintf(why, whylen,
		    "its record lists %zu tasks, its job has %d: the "
		    "savepoint is incomplete",
		    rec->n_tasks, old->n_tasks);
		return SM_ECORRUPT;
	}
	for (size_t k = 0; k < rec->n_tasks; k++) {
		Snapmark__TaskCheckpointStats *ts = rec->tasks[k];
		sm_job_task_name(old, (int) k, name, sizeof(name));
		if (ts == NULL || ts->task != k || ts->handle == NULL ||
		    ts->handle->task != k ||
		    ts->handle->checkpoint_id != rec->id) {
			snprintf(why, whylen, "the savepoint lacks task %s",
			    name);
			return SM_ECORRUPT;
		}
		Snapmark__SnapshotHandle *h = ts->handle;
		if (h->has_inline_meta)
			continue;
		const char *rel = h->location;
		if (rel[0] == '/')
			rel = rec->savepoint_dir != NULL
			    ? savepoint_relative(rec->savepoint_dir, rel)
			    : NULL;
		else if (!savepoint_plain_name(rel))
			rel = NULL;
		if (rel == NULL) {
			snprintf(why, whylen,
			    "task %s: snapshot location '%s' does not lie "
			    "inside the savepoint",
			    name, h->location);
			return SM_ECORRUPT;
		}
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
		char *abs =
		    n > 0 && (size_t) n < sizeof(path) ? strdup(path) : NULL;
		if (abs == NULL)
			return SM_ENOMEM;
		free(h->location);
		h->location = abs;
	}
	return SM_OK;
}

/* Verify every task's snapshot as a task would before using it: the store
 * is there (nothing is created), the metadata checksum matches the
 * handle, the state matches its checksum and entry count. */
static int
savepoint_verify(const Snapmark__CheckpointRecord *rec,
    const struct sm_job *old, char *why, size_t whylen)
{
	char name[SM_JOB_NAME_MAX + 16], err[300];
	for (size_t k = 0; k < rec->n_tasks; k++) {
		const Snapmark__SnapshotHandle *h = rec->tasks[k]->handle;
		struct sm_snapshot_data d;
		memset(&d, 0, sizeof(d));
		sm_job_task_name(old, (int) k, name, sizeof(name));
		int rv;
		if (h->has_inline_meta) {
			rv = sm_snapshot_read_inline(h->inline_meta.data,
			    h->inline_meta.len, h->task, h->checkpoint_id,
			    h->checksum, &d, err, sizeof(err));
		} else {
			struct sm_store *st = NULL;
			rv = sm_store_open(h->location, 0, SM_STORE_EXISTING,
			    &st);
			if (rv != SM_OK) {
				snprintf(why, whylen, "task %s: %s: %s", name,
				    h->location,
				    rv == SM_ENOTFOUND
				        ? "no snapshot store there"
				        : sm_strerror(rv));
				return rv;
			}
			rv = sm_snapshot_read(st, h->task, h->checkpoint_id,
			    h->checksum, &d, err, sizeof(err));
			sm_store_close(st);
		}
		sm_snapshot_data_free(&d);
		if (rv != SM_OK) {
			snprintf(why, whylen,
			    "task %s: its snapshot does not verify: %s", name,
			    err);
			return rv;
		}
	}
	return SM_OK;
}

/* The old stage of the savepoint with the same name, or -1. */
static int
savepoint_stage(const struct sm_job *old, const char *name)
{
	for (int s = 0; s < old->n_stages; s++)
		if (strcmp(old->stages[s].name, name) == 0)
			return s;
	return -1;
}

/* Plan one new stage's restore from old stage `os`. */
static int
savepoint_plan_stage(struct coord *c, const struct sm_job *old, int s,
    int os, char *why, size_t whylen)
{
	const struct sm_job_stage *ns = &c->job.stages[s];
	const struct sm_job_stage *ps = &old->stages[os];
	Snapmark__CheckpointRecord *rec = c->savepoint->record;
	if (ns->op != ps->op ||
	    strcmp(sm_job_operator_name(&c->job, s),
	        sm_job_operator_name(old, os)) != 0) {
		snprintf(why, whylen, "stage '%s' was a %s, is now a %s",
		    ns->name, sm_job_operator_name(old, os),
		    sm_job_operator_name(&c->job, s));
		return SM_EINVAL;
	}
	/* Stateless stages and sinks start fresh: the output up to the
	 * savepoint was committed by the job that took it. A user operator
	 * gets its state back (keyed state by key group; at another
	 * parallelism every old subtask's operator-state items). */
	if (ns->op != SM_OP_GEN && ns->op != SM_OP_COUNT &&
	    ns->op != SM_OP_USER)
		return SM_OK;
	int rescale = ns->parallelism != ps->parallelism;
	if (rescale && ns->op == SM_OP_GEN) {
		snprintf(why, whylen,
		    "source stage '%s' cannot change parallelism (%d -> %d)",
		    ns->name, ps->parallelism, ns->parallelism);
		return SM_EINVAL;
	}
	if (rescale && ns->max_parallelism != ps->max_parallelism) {
		snprintf(why, whylen,
		    "stage '%s' cannot change max_parallelism (%d -> %d): "
		    "it fixes the key groups",
		    ns->name, ps->max_parallelism, ns->max_parallelism);
		return SM_EINVAL;
	}
	for (int k = 0; k < ns->parallelism; k++) {
		Snapmark__TaskRestore *r = &c->savepoint_plan[ns->first_task + k];
		int from = rescale ? 0 : k, to = rescale ? ps->parallelism : k + 1;
		r->handles = calloc((size_t) (to - from),
		    sizeof(Snapmark__SnapshotHandle *));
		if (r->handles == NULL)
			return SM_ENOMEM;
		r->has_rescale = 1;
		r->rescale = rescale;
		for (int o = from; o < to; o++) {
			size_t old_task = (size_t) (ps->first_task + o);
			if (old_task >= rec->n_tasks ||
			    rec->tasks[old_task]->task != old_task) {
				snprintf(why, whylen,
				    "the savepoint lacks task %s.%d", ps->name,
				    o);
				return SM_ECORRUPT;
			}
			r->handles[r->n_handles++] =
			    rec->tasks[old_task]->handle;
		}
	}
	return SM_OK;
}

int
coord_savepoint_load(struct coord *c, const char *dir, char *why,
    size_t whylen)
{
	char abs[600];
	if (realpath(dir, abs) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return SM_ENOTFOUND;
	}
	int rv = savepoint_read(abs, &c->savepoint, why, whylen);
	if (rv != SM_OK)
		return rv;
	struct sm_job *old = calloc(1, sizeof(*old));
	c->savepoint_plan = calloc((size_t) c->job.n_tasks,
	    sizeof(*c->savepoint_plan));
	if (old == NULL || c->savepoint_plan == NULL) {
		free(old);
		return SM_ENOMEM;
	}
	for (int t = 0; t < c->job.n_tasks; t++) {
		snapmark__task_restore__init(&c->savepoint_plan[t]);
		c->savepoint_plan[t].task = (uint32_t) t;
	}
	char err[300];
	rv = sm_job_parse(c->savepoint->job_text, "savepoint job", old, err,
	    sizeof(err));
	if (rv != SM_OK)
		snprintf(why, whylen, "its job does not parse: %s", err);
	if (rv == SM_OK)
		rv = savepoint_resolve(c->savepoint->record, old, abs, why,
		    whylen);
	if (rv == SM_OK)
		rv = savepoint_verify(c->savepoint->record, old, why, whylen);
	for (int s = 0; rv == SM_OK && s < c->job.n_stages; s++) {
		int os = savepoint_stage(old, c->job.stages[s].name);
		if (os < 0) {
			sm_warn("stage '%s' is not in the savepoint: it starts "
			        "fresh",
			    c->job.stages[s].name);
			continue;
		}
		rv = savepoint_plan_stage(c, old, s, os, why, whylen);
	}
	free(old);
	if (rv != SM_OK)
		return rv;
	snprintf(c->restore_from, sizeof(c->restore_from), "%s", abs);
	sm_info("savepoint %" PRIu64 " at %s: the job starts from it unless "
	        "it has a completed checkpoint of its own",
	    c->savepoint->record->id, abs);
	return SM_OK;
}
