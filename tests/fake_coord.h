/*
 * fake_coord.h - a coordinator without a process, for the unit tests of
 * its logic (test_checkpointer.c, test_recovery.c).
 *
 * The fake I/O seam (struct coord_io) keeps a copy of every Control
 * message the logic sends, with the worker it went to, and can refuse the
 * sends to one worker; its two clocks move only when a test moves them.
 * The fixture runs a real catalog in a fresh directory under /tmp, removed
 * afterwards, and a job parsed from text, with every worker registered.
 */
#ifndef SM_FAKE_COORD_H
#define SM_FAKE_COORD_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/log.h"
#include "coordinator/checkpointer.h"
#include "coordinator/coord.h"
#include "coordinator/recovery.h"

/* One message sent, as the worker would have received it. */
struct fake_sent {
	int worker;
	Snapmark__Control *m; /* unpacked from its packed bytes: a copy */
};

struct fake_io {
	uint64_t now_us, wall_us;
	int fail_worker; /* sends to it fail with fail_rv (0: none) */
	int fail_rv;
	struct fake_sent *sent;
	size_t n_sent, cap_sent;
};

static inline int
fake_send(void *ctx, int worker_id, const Snapmark__Control *m)
{
	struct fake_io *f = ctx;
	if (worker_id == f->fail_worker)
		return f->fail_rv;
	if (f->n_sent == f->cap_sent) {
		size_t cap = f->cap_sent ? 2 * f->cap_sent : 32;
		struct fake_sent *s = realloc(f->sent, cap * sizeof(*s));
		if (s == NULL)
			return SM_ENOMEM;
		f->sent = s;
		f->cap_sent = cap;
	}
	size_t len = snapmark__control__get_packed_size(m);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return SM_ENOMEM;
	snapmark__control__pack(m, buf);
	Snapmark__Control *copy = snapmark__control__unpack(NULL, len, buf);
	free(buf);
	if (copy == NULL)
		return SM_EPROTO;
	f->sent[f->n_sent].worker = worker_id;
	f->sent[f->n_sent++].m = copy;
	return SM_OK;
}

static inline uint64_t
fake_now_us(void *ctx)
{
	return ((struct fake_io *) ctx)->now_us;
}

static inline uint64_t
fake_wall_us(void *ctx)
{
	return ((struct fake_io *) ctx)->wall_us;
}

/* fake_clear forgets the messages sent so far. */
static inline void
fake_clear(struct fake_io *f)
{
	for (size_t i = 0; i < f->n_sent; i++)
		snapmark__control__free_unpacked(f->sent[i].m, NULL);
	f->n_sent = 0;
}

/* fake_count: messages of kind body sent to worker (0: to any). */
static inline int
fake_count(const struct fake_io *f, Snapmark__Control__BodyCase body,
    int worker)
{
	int n = 0;
	for (size_t i = 0; i < f->n_sent; i++)
		n += f->sent[i].m->body_case == body &&
		    (worker == 0 || f->sent[i].worker == worker);
	return n;
}

/* fake_count_to: messages of any kind sent to worker. */
static inline int
fake_count_to(const struct fake_io *f, int worker)
{
	int n = 0;
	for (size_t i = 0; i < f->n_sent; i++)
		n += f->sent[i].worker == worker;
	return n;
}

/* fake_find: the first message of kind body sent to worker (0: any). */
static inline const Snapmark__Control *
fake_find(const struct fake_io *f, Snapmark__Control__BodyCase body,
    int worker)
{
	for (size_t i = 0; i < f->n_sent; i++)
		if (f->sent[i].m->body_case == body &&
		    (worker == 0 || f->sent[i].worker == worker))
			return f->sent[i].m;
	return NULL;
}

/* fake_advance moves both clocks by us. */
static inline void
fake_advance(struct fake_io *f, uint64_t us)
{
	f->now_us += us;
	f->wall_us += us;
}

/* ---- the fixture ------------------------------------------------------ */

struct fixture {
	char root[64];
	struct fake_io io;
	struct coord c;
};

static inline int
fake_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void) sb, (void) flag, (void) ftw;
	return remove(path);
}

/* fixture_open: job_text spread over n_workers, every worker registered
 * (alive, pid 100 + id), the job CREATED. 0 on success. */
static inline int
fixture_open(struct fixture *fx, const char *job_text, int n_workers)
{
	memset(fx, 0, sizeof(*fx));
	sm_log_init("test", SM_LOG_WARN);
	snprintf(fx->root, sizeof(fx->root), "/tmp/sm_coord_XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	char err[300];
	if (sm_job_parse(job_text, "job.ini", &fx->c.job, err, sizeof(err)) !=
	    SM_OK) {
		fprintf(stderr, "  test job: %s\n", err);
		return -1;
	}
	if ((fx->c.job_text = strdup(job_text)) == NULL)
		return -1;
	fx->io.now_us = 1000000000u;      /* monotonic: arbitrary */
	fx->io.wall_us = 1700000000000000u; /* wall: Nov 2023 */
	fx->c.io.ctx = &fx->io;
	fx->c.io.send = fake_send;
	fx->c.io.now_us = fake_now_us;
	fx->c.io.wall_us = fake_wall_us;
	if (coord_open(&fx->c, fx->root, n_workers) != SM_OK)
		return -1;
	for (int i = 0; i < n_workers; i++) {
		struct coord_worker *w = &fx->c.workers[i];
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "%s/w%d", fx->root, w->id);
		if ((w->prefix = strdup(prefix)) == NULL)
			return -1;
		w->alive = 1;
		w->pid = 100u + (uint32_t) w->id;
		w->last_seen_us = fx->io.now_us;
	}
	return 0;
}

static inline void
fixture_close(struct fixture *fx)
{
	coord_close(&fx->c);
	fake_clear(&fx->io);
	free(fx->io.sent);
	fx->io.sent = NULL;
	fx->io.cap_sent = 0;
	if (fx->root[0] != '\0')
		nftw(fx->root, fake_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	fx->root[0] = '\0';
}

/* fixture_event delivers task event kind of the current epoch for task
 * (checkpoint_id 0: none). */
static inline void
fixture_event(struct fixture *fx, uint32_t task,
    Snapmark__TaskEvent__Kind kind, uint64_t checkpoint_id,
    const char *reason)
{
	Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
	ev.epoch = fx->c.epoch;
	ev.task = task;
	ev.kind = kind;
	ev.has_checkpoint_id = checkpoint_id != 0;
	ev.checkpoint_id = checkpoint_id;
	ev.reason = (char *) reason;
	coord_on_task_event(&fx->c, &ev);
}

/* fixture_run deploys the next epoch and reports every task RUNNING:
 * 0 if the job is RUNNING then. */
static inline int
fixture_run(struct fixture *fx)
{
	coord_recovery_tick(&fx->c, fx->io.now_us);
	if (!fx->c.deployed)
		return -1;
	for (int t = 0; t < fx->c.job.n_tasks; t++)
		fixture_event(fx, (uint32_t) t,
		    SNAPMARK__TASK_EVENT__KIND__RUNNING, 0, NULL);
	return fx->c.state == COORD_RUNNING ? 0 : -1;
}

/* fixture_ack delivers task's ack of checkpoint id in the current epoch,
 * its snapshot at DIR/task-T (DIR: the savepoint's, or the run dir). */
static inline void
fixture_ack(struct fixture *fx, uint64_t id, uint32_t task,
    const char *dir)
{
	char location[800];
	snprintf(location, sizeof(location), "%s/task-%u",
	    dir != NULL ? dir : fx->root, (unsigned) task);
	Snapmark__SnapshotHandle h = SNAPMARK__SNAPSHOT_HANDLE__INIT;
	h.task = task;
	h.checkpoint_id = id;
	h.location = location;
	h.bytes = 100u * (task + 1);
	h.checksum = 0xAB00u + task;
	Snapmark__Ack a = SNAPMARK__ACK__INIT;
	a.epoch = fx->c.epoch;
	a.checkpoint_id = id;
	a.task = task;
	a.handle = &h;
	coord_on_ack(&fx->c, &a);
}

/* fixture_checkpoint triggers a checkpoint and acks it from every task:
 * its id, or 0 if it did not complete. */
static inline uint64_t
fixture_checkpoint(struct fixture *fx)
{
	uint64_t id = 0;
	if (coord_trigger(&fx->c, 0, 0, NULL, 0, &id) != SM_OK)
		return 0;
	for (int t = 0; t < fx->c.job.n_tasks; t++)
		fixture_ack(fx, id, (uint32_t) t, NULL);
	uint64_t latest = 0;
	coord_catalog_latest(fx->c.cat, &latest);
	return latest == id ? id : 0;
}

/* fixture_record: checkpoint id's record in the catalog (free_unpacked),
 * or NULL. */
static inline Snapmark__CheckpointRecord *
fixture_record(struct fixture *fx, uint64_t id)
{
	Snapmark__CheckpointRecord *r = NULL;
	return coord_catalog_get(fx->c.cat, id, &r) == SM_OK ? r : NULL;
}

/* A test with a fixture: COORD_TEST(name, job, workers) { body using fx }.
 * The fixture is closed whatever the body's checks did. */
#define COORD_TEST(name, job_text, n_workers)                                \
	static void name##_body(struct fixture *fx);                         \
	static void name(void)                                               \
	{                                                                    \
		static struct fixture fx_;                                   \
		if (fixture_open(&fx_, (job_text), (n_workers)) != 0) {      \
			fprintf(stderr, "  %s: cannot set up the fixture\n", \
			    #name);                                          \
			sm_test_failed = 1;                                  \
		} else {                                                     \
			name##_body(&fx_);                                   \
		}                                                            \
		fixture_close(&fx_);                                         \
	}                                                                    \
	static void name##_body(struct fixture *fx)

#endif
