/*
 * test_pending.c - one checkpoint in flight (coordinator/pending.h): which
 * acks count, when it is complete or expired, and the catalog record built
 * from it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "coordinator/pending.h"

/* ---- fixture: an ack as a worker would send it ------------------------ */

struct ack_buf {
	Snapmark__Ack ack;
	Snapmark__SnapshotHandle handle;
	char location[64];
};

/* make_ack fills b with a well-formed ack of `task` for checkpoint id of
 * epoch; every number in it is derived from task so a test can tell the
 * stats of one task from another's. */
static Snapmark__Ack *
make_ack(struct ack_buf *b, uint64_t id, uint64_t epoch, uint32_t task)
{
	snapmark__ack__init(&b->ack);
	snapmark__snapshot_handle__init(&b->handle);
	snprintf(b->location, sizeof(b->location), "/run/tasks/%u/snap",
	    (unsigned) task);
	b->handle.task = task;
	b->handle.checkpoint_id = id;
	b->handle.location = b->location;
	b->handle.bytes = 1000u * (task + 1);
	b->handle.checksum = 0xC0DE0000u + task;
	b->handle.has_entries = 1;
	b->handle.entries = 10u * (task + 1);
	b->ack.epoch = epoch;
	b->ack.checkpoint_id = id;
	b->ack.task = task;
	b->ack.handle = &b->handle;
	b->ack.sync_us = 100u + task;
	b->ack.async_us = 200u + task;
	b->ack.align_us = 300u + task;
	return &b->ack;
}

/* ---- alloc ------------------------------------------------------------- */

static void
alloc_sets_id_epoch_tasks_and_deadline(void)
{
	struct coord_pending *p = NULL;
	T_OK(coord_pending_alloc(7, 3, 4, 1000, 500, &p));
	T_TRUE(p != NULL);
	int ok = p->id == 7 && p->epoch == 3 && p->n_tasks == 4 &&
	    p->n_acked == 0 && p->trigger_us == 1000 &&
	    p->deadline_us == 1500 && p->acks != NULL;
	for (int i = 0; ok && i < 4; i++)
		ok = !p->acks[i].acked;
	ok = ok && !coord_pending_complete(p);
	coord_pending_free(p);
	T_TRUE(ok);
}

static void
alloc_refuses_no_tasks_and_checkpoint_id_zero(void)
{
	static const struct {
		uint64_t id;
		int n_tasks;
	} bad[] = { { 1, 0 }, { 1, -1 }, { 0, 3 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct coord_pending untouched;
		struct coord_pending *p = &untouched;
		T_ERR(coord_pending_alloc(bad[i].id, 1, bad[i].n_tasks, 0,
			  1000, &p),
		    SM_EINVAL);
		/* out-parameters are written only on success */
		T_TRUE(p == &untouched);
	}
}

/* ---- acks -------------------------------------------------------------- */

static void
each_task_ack_counts_once(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(5, 2, 3, 0, 1000, &p));
	int rv = coord_pending_ack(p, make_ack(&b, 5, 2, 1), 40);
	int n1 = p->n_acked;
	int rv2 = coord_pending_ack(p, make_ack(&b, 5, 2, 1), 50);
	int n2 = p->n_acked, acked1 = p->acks[1].acked;
	uint64_t ack_us = p->acks[1].ack_us;
	coord_pending_free(p);
	T_OK(rv);
	T_EQ_INT(n1, 1);
	T_ERR(rv2, SM_EAGAIN);
	T_EQ_INT(n2, 1);
	T_TRUE(acked1);
	/* the duplicate is ignored: the first ack's timing stays */
	T_EQ_INT(ack_us, 40);
}

static void
a_duplicate_ack_with_other_stats_does_not_replace_the_first(void)
{
	struct coord_pending *p;
	struct ack_buf b1, b2;
	T_OK(coord_pending_alloc(5, 2, 2, 0, 1000, &p));
	int rv = coord_pending_ack(p, make_ack(&b1, 5, 2, 0), 10);
	Snapmark__Ack *dup = make_ack(&b2, 5, 2, 0);
	strcpy(b2.location, "/elsewhere");
	b2.handle.bytes = 1;
	b2.handle.checksum = 1;
	int rv2 = coord_pending_ack(p, dup, 20);
	int same = p->acks[0].location != NULL &&
	    strcmp(p->acks[0].location, "/run/tasks/0/snap") == 0 &&
	    p->acks[0].bytes == 1000 && p->acks[0].checksum == 0xC0DE0000u;
	coord_pending_free(p);
	T_OK(rv);
	T_ERR(rv2, SM_EAGAIN);
	T_TRUE(same);
}

static void
ack_keeps_the_handle_and_timings_of_its_task(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(9, 1, 3, 1000, 5000, &p));
	Snapmark__Ack *a = make_ack(&b, 9, 1, 2);
	T_OK(coord_pending_ack(p, a, 1750));
	/* the ack owns a copy: the sender's buffer may go away */
	strcpy(b.location, "XXXXXXXX");
	const struct coord_task_ack *t = &p->acks[2];
	int ok = t->acked && t->location != NULL &&
	    strcmp(t->location, "/run/tasks/2/snap") == 0 &&
	    t->bytes == 3000 && t->entries == 30 &&
	    t->checksum == 0xC0DE0002u && t->sync_us == 102 &&
	    t->async_us == 202 && t->align_us == 302 && t->ack_us == 750 &&
	    !p->acks[0].acked && !p->acks[1].acked;
	coord_pending_free(p);
	T_TRUE(ok);
}

/* A mutation of a good ack that must be refused. */
struct bad_ack {
	const char *what;
	void (*mutate)(struct ack_buf *b);
};

static void
other_checkpoint(struct ack_buf *b)
{
	b->ack.checkpoint_id = 6;
	b->handle.checkpoint_id = 6;
}

static void
older_checkpoint(struct ack_buf *b)
{
	b->ack.checkpoint_id = 4;
	b->handle.checkpoint_id = 4;
}

static void
other_epoch(struct ack_buf *b)
{
	b->ack.epoch = 3;
}

static void
older_epoch(struct ack_buf *b)
{
	b->ack.epoch = 1;
}

static void
task_out_of_range(struct ack_buf *b)
{
	b->ack.task = 3;
	b->handle.task = 3;
}

static void
task_far_out_of_range(struct ack_buf *b)
{
	b->ack.task = UINT32_MAX;
	b->handle.task = UINT32_MAX;
}

static void
no_handle(struct ack_buf *b)
{
	b->ack.handle = NULL;
}

static void
handle_of_another_task(struct ack_buf *b)
{
	b->handle.task = b->ack.task + 1;
}

static void
handle_of_another_checkpoint(struct ack_buf *b)
{
	b->handle.checkpoint_id = 4;
}

static const struct bad_ack bad_acks[] = {
	{ "ack for another checkpoint id", other_checkpoint },
	{ "ack for an older checkpoint id", older_checkpoint },
	{ "ack from another epoch", other_epoch },
	{ "ack from an older epoch", older_epoch },
	{ "ack of task n_tasks", task_out_of_range },
	{ "ack of task UINT32_MAX", task_far_out_of_range },
	{ "ack without a handle", no_handle },
	{ "handle of another task", handle_of_another_task },
	{ "handle of another checkpoint", handle_of_another_checkpoint },
};

static void
acks_for_another_checkpoint_epoch_task_or_handle_are_refused(void)
{
	for (size_t i = 0; i < sizeof(bad_acks) / sizeof(bad_acks[0]); i++) {
		struct coord_pending *p;
		struct ack_buf b;
		T_OK(coord_pending_alloc(5, 2, 3, 0, 1000, &p));
		make_ack(&b, 5, 2, 1);
		bad_acks[i].mutate(&b);
		int rv = coord_pending_ack(p, &b.ack, 10);
		int n = p->n_acked, any = 0;
		for (int t = 0; t < 3; t++)
			any |= p->acks[t].acked;
		/* a refused ack does not use up the task's one ack */
		int rv_good = coord_pending_ack(p, make_ack(&b, 5, 2, 1), 20);
		coord_pending_free(p);
		if (rv != SM_EINVAL)
			T_FAIL_("%s: got %s, expected %s", bad_acks[i].what,
			    sm_strerror(rv), sm_strerror(SM_EINVAL));
		if (n != 0 || any)
			T_FAIL_("%s: was counted", bad_acks[i].what);
		if (rv_good != SM_OK)
			T_FAIL_("%s: the good ack afterwards got %s",
			    bad_acks[i].what, sm_strerror(rv_good));
	}
}

/* A resend of the ack already counted is told apart from a different ack
 * for the same task (which the coordinator warns about). */
static void
same_ack_tells_a_resend_from_a_different_ack(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(5, 2, 3, 0, 1000, &p));
	int before = coord_pending_same_ack(p, make_ack(&b, 5, 2, 1));
	T_OK(coord_pending_ack(p, make_ack(&b, 5, 2, 1), 10));
	int resend = coord_pending_same_ack(p, make_ack(&b, 5, 2, 1));
	make_ack(&b, 5, 2, 1);
	snprintf(b.location, sizeof(b.location), "/elsewhere");
	int other_location = coord_pending_same_ack(p, &b.ack);
	make_ack(&b, 5, 2, 1);
	b.handle.checksum ^= 1;
	int other_checksum = coord_pending_same_ack(p, &b.ack);
	make_ack(&b, 5, 2, 1);
	b.handle.bytes++;
	int other_bytes = coord_pending_same_ack(p, &b.ack);
	int other_task = coord_pending_same_ack(p, make_ack(&b, 5, 2, 2));
	int out_of_range = coord_pending_same_ack(p, make_ack(&b, 5, 2, 7));
	make_ack(&b, 5, 2, 1);
	b.ack.handle = NULL;
	int no_handle = coord_pending_same_ack(p, &b.ack);
	coord_pending_free(p);
	T_TRUE(!before);
	T_TRUE(resend);
	T_TRUE(!other_location);
	T_TRUE(!other_checksum);
	T_TRUE(!other_bytes);
	T_TRUE(!other_task);
	T_TRUE(!out_of_range);
	T_TRUE(!no_handle);
}

/* ---- complete, expired ------------------------------------------------- */

static void
complete_exactly_when_every_task_acked(void)
{
	static const uint32_t order[] = { 3, 0, 4, 1, 2 };
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(11, 1, 5, 0, 1000, &p));
	int early = coord_pending_complete(p);
	size_t i;
	for (i = 0; i < 5 && !early; i++) {
		if (coord_pending_ack(p, make_ack(&b, 11, 1, order[i]), 1) !=
		    SM_OK)
			break;
		if ((coord_pending_complete(p) != 0) != (i == 4))
			break;
	}
	/* a duplicate after completion changes nothing */
	int dup = coord_pending_ack(p, make_ack(&b, 11, 1, 4), 2);
	int still = coord_pending_complete(p) && p->n_acked == 5;
	coord_pending_free(p);
	T_TRUE(!early);
	T_EQ_INT(i, 5);
	T_ERR(dup, SM_EAGAIN);
	T_TRUE(still);
}

static void
refused_acks_never_complete_a_checkpoint(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(5, 2, 1, 0, 1000, &p));
	for (size_t i = 0; i < sizeof(bad_acks) / sizeof(bad_acks[0]); i++) {
		make_ack(&b, 5, 2, 0);
		bad_acks[i].mutate(&b);
		(void) coord_pending_ack(p, &b.ack, 1);
	}
	int complete = coord_pending_complete(p);
	coord_pending_free(p);
	T_TRUE(!complete);
}

static void
expired_only_after_the_deadline(void)
{
	static const struct {
		uint64_t now;
		int expired;
	} at[] = {
		{ 0, 0 }, { 1000, 0 }, { 1001, 0 }, { 1499, 0 },
		{ 1501, 1 }, { 2000, 1 }, { UINT64_MAX, 1 },
	};
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(5, 2, 2, 1000, 500, &p));
	T_OK(coord_pending_ack(p, make_ack(&b, 5, 2, 0), 1100));
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int got = coord_pending_expired(p, at[i].now) != 0;
		if (got != at[i].expired) {
			coord_pending_free(p);
			T_FAIL_("expired at %llu: got %d, expected %d",
			    (unsigned long long) at[i].now, got,
			    at[i].expired);
		}
	}
	coord_pending_free(p);
}

static void
a_complete_checkpoint_never_expires(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	T_OK(coord_pending_alloc(5, 2, 2, 1000, 500, &p));
	T_OK(coord_pending_ack(p, make_ack(&b, 5, 2, 0), 1100));
	T_OK(coord_pending_ack(p, make_ack(&b, 5, 2, 1), 1200));
	int e1 = coord_pending_expired(p, 1600);
	int e2 = coord_pending_expired(p, UINT64_MAX);
	coord_pending_free(p);
	T_TRUE(!e1);
	T_TRUE(!e2);
}

/* ---- the catalog record ------------------------------------------------- */

static char *const task_names[] = { "gen-0", "count-0", "count-1",
	"sink-0" };

/* find_task returns the record's stats of task t, or NULL. */
static const Snapmark__TaskCheckpointStats *
find_task(const Snapmark__CheckpointRecord *r, uint32_t t)
{
	for (size_t i = 0; i < r->n_tasks; i++)
		if (r->tasks[i] != NULL && r->tasks[i]->task == t)
			return r->tasks[i];
	return NULL;
}

/* stats_match: s carries everything task t acked (see make_ack). */
static int
stats_match(const Snapmark__TaskCheckpointStats *s, uint32_t t, uint64_t id,
    uint64_t ack_us)
{
	char loc[64];
	snprintf(loc, sizeof(loc), "/run/tasks/%u/snap", (unsigned) t);
	return s != NULL && s->task_name != NULL &&
	    strcmp(s->task_name, task_names[t]) == 0 && s->handle != NULL &&
	    s->handle->location != NULL &&
	    strcmp(s->handle->location, loc) == 0 && s->handle->task == t &&
	    s->handle->checkpoint_id == id &&
	    s->handle->bytes == 1000u * (t + 1) &&
	    s->handle->checksum == 0xC0DE0000u + t &&
	    s->handle->has_entries && s->handle->entries == 10u * (t + 1) &&
	    s->sync_us == 100u + t && s->async_us == 200u + t &&
	    s->align_us == 300u + t && s->ack_us == ack_us;
}

static void
record_of_a_completed_checkpoint_holds_every_task(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	Snapmark__CheckpointRecord *r = NULL;
	T_OK(coord_pending_alloc(21, 4, 4, 10000, 60000, &p));
	p->trigger_wall_ms = 1700000000123ull;
	p->final = 1;
	p->manual = 0;
	for (uint32_t t = 0; t < 4; t++)
		T_OK(coord_pending_ack(p, make_ack(&b, 21, 4, 3 - t),
		    10000 + 100 * (t + 1)));
	int rv = coord_pending_record(p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED, NULL, 15000,
	    task_names, &r);
	coord_pending_free(p); /* the record owns copies */
	T_OK(rv);
	int ok = r->id == 21 &&
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED &&
	    r->failure_reason == NULL &&
	    r->trigger_time_ms == 1700000000123ull && r->has_duration_us &&
	    r->duration_us == 5000 && r->tasks_total == 4 &&
	    r->tasks_acked == 4 && r->n_tasks == 4 && r->has_bytes &&
	    r->bytes == 1000 + 2000 + 3000 + 4000 && r->has_epoch &&
	    r->epoch == 4 && r->has_final && r->final && r->has_manual &&
	    !r->manual;
	/* task 3 - t acked at 10000 + 100 (t + 1) */
	for (uint32_t t = 0; ok && t < 4; t++)
		ok = stats_match(find_task(r, t), t, 21, 100 * (4 - t));
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

static void
record_of_a_failed_checkpoint_holds_only_the_acked_tasks(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	Snapmark__CheckpointRecord *r = NULL;
	char reason[] = "task 1 declined: alignment subsumed";
	T_OK(coord_pending_alloc(8, 2, 4, 500, 100, &p));
	p->manual = 1;
	T_OK(coord_pending_ack(p, make_ack(&b, 8, 2, 3), 520));
	T_OK(coord_pending_ack(p, make_ack(&b, 8, 2, 0), 530));
	int rv = coord_pending_record(p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED, reason, 700,
	    task_names, &r);
	coord_pending_free(p);
	reason[0] = 'X'; /* the record keeps its own copy */
	T_OK(rv);
	int ok = r->id == 8 &&
	    r->status == SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED &&
	    r->failure_reason != NULL &&
	    strcmp(r->failure_reason,
		"task 1 declined: alignment subsumed") == 0 &&
	    r->duration_us == 200 && r->tasks_total == 4 &&
	    r->tasks_acked == 2 && r->n_tasks == 2 &&
	    r->bytes == 1000 + 4000 && r->epoch == 2 && r->has_final &&
	    !r->final && r->has_manual && r->manual &&
	    stats_match(find_task(r, 0), 0, 8, 30) &&
	    stats_match(find_task(r, 3), 3, 8, 20) &&
	    find_task(r, 1) == NULL && find_task(r, 2) == NULL;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

static void
record_with_no_acks_has_no_tasks_and_zero_bytes(void)
{
	struct coord_pending *p;
	Snapmark__CheckpointRecord *r = NULL;
	T_OK(coord_pending_alloc(3, 1, 2, 0, 100, &p));
	int rv = coord_pending_record(p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED, "expired", 100,
	    task_names, &r);
	coord_pending_free(p);
	T_OK(rv);
	int ok = r->n_tasks == 0 && r->tasks_acked == 0 &&
	    r->tasks_total == 2 && r->has_bytes && r->bytes == 0;
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	T_TRUE(ok);
}

static void
record_packs_and_unpacks_as_a_valid_message(void)
{
	struct coord_pending *p;
	struct ack_buf b;
	Snapmark__CheckpointRecord *r = NULL;
	T_OK(coord_pending_alloc(12, 3, 3, 0, 100, &p));
	T_OK(coord_pending_ack(p, make_ack(&b, 12, 3, 1), 40));
	T_OK(coord_pending_ack(p, make_ack(&b, 12, 3, 2), 60));
	int rv = coord_pending_record(p,
	    SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED, "declined", 90,
	    task_names, &r);
	coord_pending_free(p);
	T_OK(rv);
	size_t len = snapmark__checkpoint_record__get_packed_size(r);
	unsigned char *buf = malloc(len);
	T_TRUE(buf != NULL);
	snapmark__checkpoint_record__pack(r, buf);
	snapmark__checkpoint_record__free_unpacked(r, NULL);
	/* unpack refuses a message that lacks a required field */
	Snapmark__CheckpointRecord *u =
	    snapmark__checkpoint_record__unpack(NULL, len, buf);
	free(buf);
	T_TRUE(u != NULL);
	int ok = u->id == 12 && u->n_tasks == 2 && u->bytes == 5000 &&
	    stats_match(find_task(u, 1), 1, 12, 40) &&
	    stats_match(find_task(u, 2), 2, 12, 60);
	snapmark__checkpoint_record__free_unpacked(u, NULL);
	T_TRUE(ok);
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(alloc_sets_id_epoch_tasks_and_deadline),
	T(alloc_refuses_no_tasks_and_checkpoint_id_zero),
	T(each_task_ack_counts_once),
	T(a_duplicate_ack_with_other_stats_does_not_replace_the_first),
	T(ack_keeps_the_handle_and_timings_of_its_task),
	T(acks_for_another_checkpoint_epoch_task_or_handle_are_refused),
	T(same_ack_tells_a_resend_from_a_different_ack),
	T(complete_exactly_when_every_task_acked),
	T(refused_acks_never_complete_a_checkpoint),
	T(expired_only_after_the_deadline),
	T(a_complete_checkpoint_never_expires),
	T(record_of_a_completed_checkpoint_holds_every_task),
	T(record_of_a_failed_checkpoint_holds_only_the_acked_tasks),
	T(record_with_no_acks_has_no_tasks_and_zero_bytes),
	T(record_packs_and_unpacks_as_a_valid_message),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
