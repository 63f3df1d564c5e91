/*
 * recovery.c - epochs, failover and restore.
 *
 * An epoch is one deployment of every task of the job. Any failure inside
 * it - a worker's connection dropping, a heartbeat going silent, a task
 * reporting a lost channel - ends the whole epoch: NNG drops in-flight
 * messages of a broken connection, so no channel of a failed epoch can be
 * trusted, and rolling every task back to one consistent cut is what makes
 * the output exactly-once.
 *
 *   fail:    abort pending checkpoints, tell every worker to stop its
 *            tasks, state RESTARTING
 *   wait:    until every worker that hosts tasks is registered and alive
 *            (a restarted worker re-registers with the same id)
 *   choose:  the latest COMPLETED checkpoint that lists every task and is
 *            not known to be unusable; none completed yet -> start fresh;
 *            some completed but none usable -> FAILED, never a silent
 *            fresh start
 *   deploy:  a new epoch number (persisted, so it only grows), every task
 *            with its snapshot handle; tasks verify their snapshot and
 *            report RUNNING or RESTORE_FAILED
 *   resume:  all RUNNING -> state RUNNING, the failure-to-resume time is
 *            logged and shown by `snapmark status`
 *   finish:  the final checkpoint (or a stopping savepoint) committed ->
 *            FINISHING until every task of the epoch reported PUBLISHED
 *            for it, then FinishJob and FINISHED. A failure meanwhile ends
 *            the epoch like any other; if the latest checkpoint is final,
 *            the next epoch deploys every task publish-only (restore it,
 *            sinks publish, confirm) - also after a coordinator restart -
 *            so FINISHED always means the output is published.
 *
 * Restarts follow the job's [restart] strategy (Flink's fixed-delay and
 * exponential-delay): the deploy after a failure waits for the strategy's
 * delay, and a failure beyond its attempts makes the job FAILED with
 * "restart attempts exhausted (N): <reason>". The attempts used are kept in
 * the catalog, so a coordinator restart goes on counting; the coordinator's
 * own restart is not an attempt and waits for no delay (its workers did
 * nothing wrong), and a job that had exhausted its attempts stays FAILED.
 * Running reset_after_ms without a failure starts the count (and the
 * exponential delay) again.
 *
 * A task that cannot verify its snapshot makes that checkpoint unusable
 * and the coordinator falls back to the previous one in the next epoch.
 * Frames of older epochs are discarded by the channels (their addresses
 * also differ per epoch).
 *
 * Savepoints are self-contained and relocatable: DIR/_metadata names every
 * task's snapshot store by a plain name relative to DIR, resolved against
 * the directory a restore names. Before anything is deployed the
 * coordinator verifies the whole savepoint (every task present, every
 * store there and its snapshot's checksums right), so a savepoint that
 * cannot be used fails the start instead of looping epochs; a task that
 * still cannot restore one fails the job at once.
 */
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

#include "common/clock.h"
#include "coordinator/coord.h"
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
	if (ns->op != ps->op) {
		snprintf(why, whylen, "stage '%s' was a %s, is now a %s",
		    ns->name, sm_operator_name(ps->op),
		    sm_operator_name(ns->op));
		return SM_EINVAL;
	}
	/* Stateless stages and sinks start fresh: the output up to the
	 * savepoint was committed by the job that took it. */
	if (ns->op != SM_OP_GEN && ns->op != SM_OP_COUNT)
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

static int
recovery_is_unusable(const struct coord *c, uint64_t id)
{
	for (int i = 0; i < c->n_unusable; i++)
		if (c->unusable[i] == id)
			return 1;
	return 0;
}

static void
recovery_mark_unusable(struct coord *c, uint64_t id)
{
	if (!recovery_is_unusable(c, id) && c->n_unusable < COORD_MAX_UNUSABLE)
		c->unusable[c->n_unusable++] = id;
}

/* The restart strategy's verdict on the failure just seen: schedule the
 * next deploy, or fail the job for good. */
static void
recovery_schedule(struct coord *c, const char *reason)
{
	const struct sm_job_restart *r = &c->job.restart;
	uint64_t now = sm_now_us();
	if (r->reset_after_ms > 0 && c->running_since_us != 0 &&
	    now - c->running_since_us >= r->reset_after_ms * 1000 &&
	    c->restart_attempts > 0) {
		sm_info("the job ran %.1f s without a failure: restart "
		        "attempts and delay start again",
		    (double) (now - c->running_since_us) / 1e6);
		c->restart_attempts = 0;
	}
	c->running_since_us = 0;
	uint32_t n = c->restart_attempts + 1;
	c->restart_attempts = n;
	int rv = coord_catalog_put_counter(c->cat, "restart_attempts", n);
	if (rv != SM_OK)
		sm_warn("cannot record restart attempt %u: %s", n,
		    sm_strerror(rv));
	uint32_t allowed = r->strategy == SM_RESTART_NONE ? 0 : r->attempts;
	if (n > allowed) {
		char why[sizeof(c->last_failure)];
		snprintf(why, sizeof(why),
		    "restart attempts exhausted (%u): ", allowed);
		size_t len = strlen(why);
		snprintf(why + len, sizeof(why) - len, "%s", reason);
		memcpy(c->last_failure, why, sizeof(why));
		c->state = COORD_FAILED;
		rv = coord_catalog_put_text(c->cat, "restart_failed", why);
		if (rv != SM_OK)
			sm_warn("cannot record the job's failure: %s",
			    sm_strerror(rv));
		sm_error("job failed: %s", c->last_failure);
		return;
	}
	uint64_t delay = sm_job_restart_delay_ms(r, n);
	c->restart_due_us = now + delay * 1000;
	sm_warn("restart %u of %u (%s) in %" PRIu64 " ms", n, allowed,
	    sm_restart_strategy_name(r->strategy), delay);
}

void
coord_fail_epoch(struct coord *c, const char *reason)
{
	if (coord_job_ended(c))
		return;
	if ((c->state == COORD_RESTARTING || c->state == COORD_CREATED) &&
	    !c->deployed)
		return; /* nothing deployed yet: nothing to roll back */
	snprintf(c->last_failure, sizeof(c->last_failure), "%s", reason);
	sm_warn("epoch %" PRIu64 " failed: %s", c->epoch, reason);
	if (c->state != COORD_RESTARTING)
		c->failure_us = sm_now_us();
	char why[300];
	snprintf(why, sizeof(why), "epoch %" PRIu64 " failed: %s", c->epoch,
	    reason);
	coord_stop_epoch(c, why);
	c->state = COORD_RESTARTING;
	c->deployed = 0;
	uint64_t total;
	if (coord_catalog_count_restart(c->cat, &total) == SM_OK)
		c->restarts = (uint32_t) total;
	recovery_schedule(c, reason);
}

void
coord_stop_epoch(struct coord *c, const char *why)
{
	coord_abort_all(c, why);
	Snapmark__StopTasks s = SNAPMARK__STOP_TASKS__INIT;
	s.epoch = c->epoch;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_STOP;
	m.stop = &s;
	coord_broadcast(c, &m);
	memset(c->task_running, 0, (size_t) c->job.n_tasks);
	c->n_running = 0;
	c->final_in_flight = 0;
}

void
coord_recovery_start(struct coord *c)
{
	uint64_t epoch = 0, restarts = 0;
	coord_catalog_counter(c->cat, "epoch", &epoch);
	coord_catalog_counter(c->cat, "restarts", &restarts);
	c->restarts = (uint32_t) restarts;
	uint64_t attempts = 0;
	coord_catalog_counter(c->cat, "restart_attempts", &attempts);
	c->restart_attempts = (uint32_t) attempts;
	if (epoch == 0)
		return;
	/* The status saved when the job ended under a previous coordinator
	 * stays (coordinator.c coord_end_tick): this one knows less. */
	void *saved = NULL;
	size_t saved_len;
	int have_final = coord_catalog_get_bytes(c->cat, "final_status",
	                     &saved, &saved_len) == SM_OK;
	free(saved);
	if (have_final) /* a FINISHED job republishing keeps it too */
		c->end_saved = 2;
	/* Canceled under a previous coordinator: still CANCELED. */
	char ended[32];
	if (coord_catalog_get_text(c->cat, "final_state", ended,
	        sizeof(ended)) == SM_OK &&
	    strcmp(ended, "CANCELED") == 0) {
		c->epoch = epoch - 1;
		c->state = COORD_CANCELED;
		sm_info("job '%s' was canceled (before this coordinator "
		        "started)",
		    c->job.name);
		return;
	}
	/* Attempts exhausted under a previous coordinator: still FAILED. */
	char failed[sizeof(c->last_failure)];
	if (coord_catalog_get_text(c->cat, "restart_failed", failed,
	        sizeof(failed)) == SM_OK &&
	    failed[0] != '\0') {
		memcpy(c->last_failure, failed, sizeof(failed));
		c->state = COORD_FAILED;
		sm_error("job failed (before this coordinator started): %s",
		    c->last_failure);
		return;
	}
	/* A previous coordinator ran this job: this start is a recovery. The
	 * counter holds the next epoch to hand out. */
	c->epoch = epoch - 1;
	c->state = COORD_RESTARTING;
	c->failure_us = sm_now_us();
	if (coord_catalog_count_restart(c->cat, &restarts) == SM_OK)
		c->restarts = (uint32_t) restarts;
	snprintf(c->last_failure, sizeof(c->last_failure),
	    "coordinator restarted during epoch %" PRIu64, c->epoch);
	sm_warn("recovering: a previous coordinator ran epoch %" PRIu64
	        "; waiting for the workers to reconnect",
	    c->epoch);
}

/* Pick the checkpoint to restore: *id = 0 means start fresh. */
static int
recovery_choose(struct coord *c, Snapmark__CheckpointRecord **chosen)
{
	Snapmark__CheckpointRecord **recs;
	size_t n = 0;
	/* Tasks keep the newest `retained` completed checkpoints (and the
	 * chains those need): older records describe deleted snapshots. */
	int rv = coord_catalog_list(c->cat, c->job.checkpoint.retained, 1,
	    &recs, &n);
	if (rv != SM_OK)
		return rv;
	*chosen = NULL;
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		Snapmark__CheckpointRecord *r = recs[i];
		int complete = r->n_tasks == (size_t) c->job.n_tasks;
		for (size_t k = 0; complete && k < r->n_tasks; k++)
			complete = r->tasks[k]->task == k &&
			    r->tasks[k]->handle != NULL;
		if (*chosen == NULL && complete &&
		    !recovery_is_unusable(c, r->id)) {
			*chosen = r;
			continue;
		}
		if (*chosen == NULL) {
			if (!complete)
				sm_warn("checkpoint %" PRIu64 " does not list "
				        "every task; not restorable",
				    r->id);
			if (skipped == 0)
				skipped = r->id;
		}
		snapmark__checkpoint_record__free_unpacked(r, NULL);
	}
	free(recs);
	if (*chosen == NULL && n > 0 && c->savepoint == NULL) {
		snprintf(c->last_failure, sizeof(c->last_failure),
		    "no usable checkpoint to restore: all %zu retained "
		    "checkpoints are unusable (newest: %" PRIu64 ")",
		    n, skipped);
		return SM_ECORRUPT;
	}
	if (*chosen != NULL && skipped > (*chosen)->id)
		sm_warn("falling back to checkpoint %" PRIu64
		        ": newer checkpoint %" PRIu64 " is unusable",
		    (*chosen)->id, skipped);
	return SM_OK;
}

static int
recovery_all_workers_alive(const struct coord *c)
{
	for (int t = 0; t < c->job.n_tasks; t++)
		if (!c->workers[c->task_worker[t] - 1].alive)
			return 0;
	return 1;
}

void
coord_begin_finishing(struct coord *c, uint64_t id, int stop)
{
	c->state = COORD_FINISHING;
	c->finishing_id = id;
	c->finishing_stop = stop;
	c->finishing_since_us = sm_now_us();
	memset(c->task_published, 0, (size_t) c->job.n_tasks);
	c->n_published = 0;
	sm_info("job '%s' finishing: %s %" PRIu64 " committed; waiting for "
	        "every task to confirm its output is published",
	    c->job.name, stop ? "savepoint" : "final checkpoint", id);
}

/* Every task confirmed: only now is the job's output all published. */
static void
recovery_finished(struct coord *c)
{
	uint64_t id = c->finishing_id;
	c->state = COORD_FINISHED;
	coord_broadcast_finish(c);
	if (c->finishing_stop)
		sm_info("job '%s' stopped with savepoint %" PRIu64,
		    c->job.name, id);
	else
		sm_info("job '%s' finished: final checkpoint %" PRIu64
		        " committed all output, published by all %d tasks",
		    c->job.name, id, c->job.n_tasks);
}

static void
recovery_deploy(struct coord *c)
{
	Snapmark__CheckpointRecord *rec = NULL;
	if (recovery_choose(c, &rec) != SM_OK) {
		c->state = COORD_FAILED;
		sm_error("job failed: %s", c->last_failure);
		return;
	}
	/* The latest checkpoint is the job's final one: nothing runs any
	 * more, but every task restores it (sinks publish what it
	 * pre-committed) and confirms before the job is FINISHED. */
	int publish_only = rec != NULL && rec->has_final && rec->final;
	uint64_t epoch;
	int rv = coord_catalog_next_epoch(c->cat, &epoch);
	if (rv != SM_OK) {
		sm_error("cannot reserve a new epoch: %s; retrying in 1 s",
		    sm_strerror(rv));
		c->restart_due_us = sm_now_us() + 1000000;
		snapmark__checkpoint_record__free_unpacked(rec, NULL);
		return;
	}
	c->epoch = epoch;
	c->deployed = 1;
	/* No checkpoint of its own yet: a savepoint it was started from. */
	int from_savepoint = rec == NULL && c->savepoint != NULL;
	c->restored_from_savepoint = from_savepoint;
	c->restored_from = rec != NULL ? rec->id
	    : from_savepoint          ? c->savepoint->record->id
	                              : 0;
	memset(c->task_running, 0, (size_t) c->job.n_tasks);
	memset(c->task_drained, 0, (size_t) c->job.n_tasks);
	c->n_running = c->n_drained = 0;
	c->last_trigger_us = sm_now_us();
	int undelivered = 0; /* a worker the Deploy did not reach */

	char **prefixes = calloc((size_t) c->job.n_tasks, sizeof(char *));
	uint32_t *tasks = calloc((size_t) c->job.n_tasks, sizeof(uint32_t));
	Snapmark__TaskRestore *plan = calloc((size_t) c->job.n_tasks,
	    sizeof(*plan));
	Snapmark__TaskRestore **restores = calloc((size_t) c->job.n_tasks,
	    sizeof(*restores));
	if (prefixes == NULL || tasks == NULL || plan == NULL ||
	    restores == NULL) {
		sm_error("out of memory deploying epoch %" PRIu64, epoch);
		goto done;
	}
	for (int t = 0; t < c->job.n_tasks; t++) {
		prefixes[t] = c->workers[c->task_worker[t] - 1].prefix;
		if (from_savepoint) {
			plan[t] = c->savepoint_plan[t];
			/* handle locations must lie in it (worker/trust.h) */
			plan[t].savepoint_dir = c->restore_from;
		} else {
			snapmark__task_restore__init(&plan[t]);
			plan[t].task = (uint32_t) t;
			if (rec != NULL) {
				plan[t].n_handles = 1;
				plan[t].handles = &rec->tasks[t]->handle;
			}
		}
	}
	for (int w = 1; w <= c->n_workers; w++) {
		Snapmark__Deploy d = SNAPMARK__DEPLOY__INIT;
		d.epoch = epoch;
		d.job_text = c->job_text;
		d.n_task_worker_prefix = (size_t) c->job.n_tasks;
		d.task_worker_prefix = prefixes;
		d.tasks = tasks;
		d.restores = restores;
		d.has_heartbeat_ms = 1;
		d.heartbeat_ms = (uint32_t) c->job.heartbeat_ms;
		d.has_publish_only = publish_only;
		d.publish_only = publish_only;
		if (c->restored_from != 0) {
			d.has_restore_checkpoint_id = 1;
			d.restore_checkpoint_id = c->restored_from;
		}
		for (int t = 0; t < c->job.n_tasks; t++) {
			if (c->task_worker[t] != w)
				continue;
			tasks[d.n_tasks++] = (uint32_t) t;
			if (plan[t].n_handles > 0)
				restores[d.n_restores++] = &plan[t];
		}
		if (!c->workers[w - 1].alive)
			continue;
		Snapmark__Control m = SNAPMARK__CONTROL__INIT;
		m.body_case = SNAPMARK__CONTROL__BODY_DEPLOY;
		m.deploy = &d;
		if (coord_send(c, w, &m) != SM_OK && undelivered == 0)
			undelivered = w;
	}
	if (publish_only) {
		sm_info("epoch %" PRIu64 ": deploying %d tasks to publish "
		        "final checkpoint %" PRIu64 " (nothing runs)",
		    epoch, c->job.n_tasks, rec->id);
		coord_begin_finishing(c, rec->id, 0);
	} else if (rec != NULL)
		sm_info("epoch %" PRIu64 ": deploying %d tasks, restoring "
		        "checkpoint %" PRIu64,
		    epoch, c->job.n_tasks, rec->id);
	else if (from_savepoint)
		sm_info("epoch %" PRIu64 ": deploying %d tasks from savepoint "
		        "%" PRIu64 " (%s)",
		    epoch, c->job.n_tasks, c->restored_from, c->restore_from);
	else
		sm_info("epoch %" PRIu64 ": deploying %d tasks from the start "
		        "(no completed checkpoint)",
		    epoch, c->job.n_tasks);
	if (undelivered != 0) {
		/* Its tasks would never run and the epoch would wait for
		 * them forever: fail it, and the next one deploys again. */
		char why[96];
		snprintf(why, sizeof(why),
		    "the deploy of epoch %" PRIu64 " did not reach worker %d",
		    epoch, undelivered);
		coord_fail_epoch(c, why);
	}
done:
	free(prefixes);
	free(tasks);
	free(plan);
	free(restores);
	snapmark__checkpoint_record__free_unpacked(rec, NULL);
}

void
coord_recovery_tick(struct coord *c, uint64_t now_us)
{
	/* A confirmation that never comes (a lost message, a wedged task)
	 * must not keep the job FINISHING for good: a new epoch publishes
	 * again, which is idempotent. */
	uint64_t limit = c->job.checkpoint.timeout_ms * 1000;
	if (c->state == COORD_FINISHING && now_us > c->finishing_since_us &&
	    now_us - c->finishing_since_us > limit) {
		char why[160];
		snprintf(why, sizeof(why),
		    "%d of %d tasks confirmed publishing checkpoint %" PRIu64
		    " within %" PRIu64 " ms",
		    c->n_published, c->job.n_tasks, c->finishing_id,
		    c->job.checkpoint.timeout_ms);
		coord_fail_epoch(c, why);
	}
	if ((c->state == COORD_CREATED || c->state == COORD_RESTARTING) &&
	    !c->deployed && now_us >= c->restart_due_us &&
	    recovery_all_workers_alive(c))
		recovery_deploy(c);
}

void
coord_on_task_event(struct coord *c, const Snapmark__TaskEvent *ev)
{
	if (ev->epoch != c->epoch || ev->task >= (uint32_t) c->job.n_tasks) {
		sm_debug("dropping a task event (%d) of task %u: epoch "
		         "%" PRIu64 " is over (now %" PRIu64 ")",
		    (int) ev->kind, ev->task, ev->epoch, c->epoch);
		return;
	}
	const char *name = c->task_names[ev->task];
	char why[400];
	switch (ev->kind) {
	case SNAPMARK__TASK_EVENT__KIND__RUNNING:
		if (c->task_running[ev->task] || coord_job_ended(c))
			break;
		c->task_running[ev->task] = 1;
		if (++c->n_running < c->job.n_tasks ||
		    c->state == COORD_RUNNING || c->state == COORD_FINISHING)
			break;
		if (c->state == COORD_RESTARTING) {
			c->last_restore_us = sm_now_us() - c->failure_us;
			sm_info("epoch %" PRIu64 ": all %d tasks running; "
			        "restored from checkpoint %" PRIu64
			        ", %.1f ms after the failure was detected",
			    c->epoch, c->job.n_tasks, c->restored_from,
			    (double) c->last_restore_us / 1000.0);
		} else {
			sm_info("epoch %" PRIu64 ": all %d tasks running%s",
			    c->epoch, c->job.n_tasks,
			    c->restored_from ? " (restored)" : "");
		}
		c->state = COORD_RUNNING;
		c->last_trigger_us = sm_now_us();
		c->running_since_us = c->last_trigger_us;
		break;
	case SNAPMARK__TASK_EVENT__KIND__PUBLISHED:
		if (c->state != COORD_FINISHING || !ev->has_checkpoint_id ||
		    ev->checkpoint_id != c->finishing_id ||
		    c->task_published[ev->task])
			break;
		c->task_published[ev->task] = 1;
		c->finishing_since_us = sm_now_us(); /* progress */
		if (++c->n_published == c->job.n_tasks)
			recovery_finished(c);
		break;
	case SNAPMARK__TASK_EVENT__KIND__DRAINED:
		if (!c->task_drained[ev->task]) {
			c->task_drained[ev->task] = 1;
			c->n_drained++;
		}
		break;
	case SNAPMARK__TASK_EVENT__KIND__FAILED:
		snprintf(why, sizeof(why), "task %s failed: %s", name,
		    ev->reason ? ev->reason : "no reason given");
		coord_fail_epoch(c, why);
		break;
	case SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED: {
		if (coord_job_ended(c))
			break;
		uint64_t id = ev->has_checkpoint_id ? ev->checkpoint_id
		                                    : c->restored_from;
		if (c->restored_from_savepoint) {
			/* The coordinator verified the savepoint before the
			 * start; there is nothing older to fall back to, and
			 * deploying it again would only loop. */
			char spwhy[1200];
			snprintf(spwhy, sizeof(spwhy),
			    "savepoint %" PRIu64 " at %s cannot be restored: "
			    "task %s: %s",
			    id, c->restore_from, name,
			    ev->reason ? ev->reason : "no reason given");
			coord_fail_epoch(c, spwhy);
			c->state = COORD_FAILED;
			sm_error("job failed: %s", spwhy);
			break;
		}
		recovery_mark_unusable(c, id);
		snprintf(why, sizeof(why),
		    "checkpoint %" PRIu64 " is unusable: task %s cannot "
		    "restore it (%s); falling back to the previous completed "
		    "checkpoint",
		    id, name, ev->reason ? ev->reason : "no reason given");
		sm_error("%s", why);
		coord_fail_epoch(c, why);
		break;
	}
	default:
		break;
	}
}
