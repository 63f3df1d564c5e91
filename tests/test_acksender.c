/*
 * test_acksender.c - a worker's acks reach the coordinator exactly once,
 * and acks that arrive while one is being sent leave together as one
 * AckBatch (worker/acksender.h).
 *
 * The send function here is a fake coordinator link: it records every
 * message (unpacking batches), and can be held inside a send so that the
 * test decides what queues up meanwhile.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "worker/acksender.h"
#include "tests/check.h"

#define MAX_ACKS 4096

struct fake_link {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int hold_first; /* block inside the first send until released */
	int held;       /* the first send is blocked now */
	int messages;
	int batches;
	int per_message[MAX_ACKS];
	uint32_t task[MAX_ACKS]; /* in arrival order */
	uint64_t id[MAX_ACKS];
	int n;
	int fail_batches; /* an AckBatch send fails (SM_EIO), unrecorded */
	int declines;
	uint32_t declined_task[MAX_ACKS];
	uint64_t declined_id[MAX_ACKS];
	int declined_with_error;  /* declines that carried SM_EIO */
};

static void
link_record(struct fake_link *l, const Snapmark__Ack *a)
{
	if (l->n < MAX_ACKS) {
		l->task[l->n] = a->task;
		l->id[l->n] = a->checkpoint_id;
		l->n++;
	}
}

static int
fake_send(void *ctx, const Snapmark__Control *c)
{
	struct fake_link *l = ctx;
	pthread_mutex_lock(&l->lock);
	if (l->hold_first && l->messages == 0) {
		l->held = 1;
		pthread_cond_broadcast(&l->cond);
		while (l->hold_first)
			pthread_cond_wait(&l->cond, &l->lock);
	}
	int k = 0;
	if (c->body_case == SNAPMARK__CONTROL__BODY_ACK_BATCH &&
	    l->fail_batches) {
		l->messages++;
		pthread_mutex_unlock(&l->lock);
		return SM_EIO;
	}
	if (c->body_case == SNAPMARK__CONTROL__BODY_DECLINE) {
		if (l->declines < MAX_ACKS) {
			l->declined_task[l->declines] = c->decline->task;
			l->declined_id[l->declines] = c->decline->checkpoint_id;
		}
		l->declines++;
		l->declined_with_error += c->decline->has_error &&
		    c->decline->error == (uint32_t) SM_EIO;
		pthread_mutex_unlock(&l->lock);
		return SM_OK;
	}
	if (c->body_case == SNAPMARK__CONTROL__BODY_ACK) {
		link_record(l, c->ack);
		k = 1;
	} else if (c->body_case == SNAPMARK__CONTROL__BODY_ACK_BATCH) {
		for (size_t i = 0; i < c->ack_batch->n_acks; i++)
			link_record(l, c->ack_batch->acks[i]);
		k = (int) c->ack_batch->n_acks;
		l->batches++;
	}
	if (l->messages < MAX_ACKS)
		l->per_message[l->messages] = k;
	l->messages++;
	pthread_mutex_unlock(&l->lock);
	return SM_OK;
}

static void
link_init(struct fake_link *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
}

/* An ack of task on checkpoint id, with a handle whose strings the
 * sender must copy: the caller's buffers change right after. */
static void
make_ack(Snapmark__Ack *a, Snapmark__SnapshotHandle *h, char *loc,
    uint32_t task, uint64_t id)
{
	snapmark__ack__init(a);
	snapmark__snapshot_handle__init(h);
	snprintf(loc, 32, "/state/t%u", task);
	h->task = task;
	h->checkpoint_id = id;
	h->location = loc;
	a->epoch = 1;
	a->task = task;
	a->checkpoint_id = id;
	a->handle = h;
}

struct first_sender {
	struct sm_acksender *s;
	int rv;
};

static void *
send_task0(void *arg)
{
	struct first_sender *f = arg;
	Snapmark__Ack a;
	Snapmark__SnapshotHandle h;
	char loc[32];
	make_ack(&a, &h, loc, 0, 7);
	f->rv = sm_acksender_send(f->s, &a);
	return NULL;
}

static void
acks_queued_during_a_send_leave_together_right_after_it(void)
{
	struct fake_link l;
	link_init(&l);
	l.hold_first = 1;
	struct first_sender f = { NULL, -1 };
	T_OK(sm_acksender_new(fake_send, &l, &f.s));
	pthread_t th;
	pthread_create(&th, NULL, send_task0, &f);
	pthread_mutex_lock(&l.lock);
	while (!l.held)
		pthread_cond_wait(&l.cond, &l.lock);
	pthread_mutex_unlock(&l.lock);
	/* task 0's ack is on its way: tasks 1..9 queue behind it and return
	 * at once, without sending anything themselves */
	for (uint32_t t = 1; t < 10; t++) {
		Snapmark__Ack a;
		Snapmark__SnapshotHandle h;
		char loc[32];
		make_ack(&a, &h, loc, t, 7);
		T_OK(sm_acksender_send(f.s, &a));
		memset(loc, 'x', sizeof(loc) - 1); /* the copy must not care */
	}
	pthread_mutex_lock(&l.lock);
	int sent_meanwhile = l.messages;
	l.hold_first = 0;
	pthread_cond_broadcast(&l.cond);
	pthread_mutex_unlock(&l.lock);
	pthread_join(th, NULL);
	sm_acksender_free(f.s);
	T_OK(f.rv);
	T_EQ_INT(sent_meanwhile, 0);
	T_EQ_INT(l.messages, 2);
	T_EQ_INT(l.per_message[0], 1);
	T_EQ_INT(l.per_message[1], 9);
	T_EQ_INT(l.batches, 1);
	for (int i = 0; i < 10; i++) {
		T_EQ_INT(l.task[i], i);
		T_EQ_INT(l.id[i], 7);
	}
}

static void
queued_acks_that_cannot_be_sent_decline_their_checkpoints(void)
{
	struct fake_link l;
	link_init(&l);
	l.hold_first = 1;
	l.fail_batches = 1;
	struct first_sender f = { NULL, -1 };
	T_OK(sm_acksender_new(fake_send, &l, &f.s));
	pthread_t th;
	pthread_create(&th, NULL, send_task0, &f);
	pthread_mutex_lock(&l.lock);
	while (!l.held)
		pthread_cond_wait(&l.cond, &l.lock);
	pthread_mutex_unlock(&l.lock);
	/* their callers hear SM_OK (queued): nobody else can tell the
	 * coordinator when the batch fails */
	for (uint32_t t = 1; t < 4; t++) {
		Snapmark__Ack a;
		Snapmark__SnapshotHandle h;
		char loc[32];
		make_ack(&a, &h, loc, t, 9);
		T_OK(sm_acksender_send(f.s, &a));
	}
	pthread_mutex_lock(&l.lock);
	l.hold_first = 0;
	pthread_cond_broadcast(&l.cond);
	pthread_mutex_unlock(&l.lock);
	pthread_join(th, NULL);
	sm_acksender_free(f.s);
	T_OK(f.rv);              /* task 0's own ack went out */
	T_EQ_INT(l.n, 1);
	T_EQ_INT(l.declines, 3); /* the batch of three failed */
	T_EQ_INT(l.declined_with_error, 3);
	for (int i = 0; i < 3; i++) {
		T_EQ_INT(l.declined_task[i], i + 1);
		T_EQ_INT(l.declined_id[i], 9);
	}
}

static void
a_lone_ack_goes_out_at_once_as_a_plain_ack(void)
{
	struct fake_link l;
	link_init(&l);
	struct sm_acksender *s;
	T_OK(sm_acksender_new(fake_send, &l, &s));
	Snapmark__Ack a;
	Snapmark__SnapshotHandle h;
	char loc[32];
	make_ack(&a, &h, loc, 3, 11);
	T_OK(sm_acksender_send(s, &a));
	T_EQ_INT(l.messages, 1);
	T_EQ_INT(l.batches, 0);
	T_EQ_INT(l.task[0], 3);
	make_ack(&a, &h, loc, 4, 11);
	T_OK(sm_acksender_send(s, &a));
	sm_acksender_free(s);
	T_EQ_INT(l.messages, 2);
	T_EQ_INT(l.task[1], 4);
}

#define THREADS 8
#define PER_THREAD 300

struct racer {
	struct sm_acksender *s;
	uint32_t task;
	int failed;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	for (uint64_t id = 1; id <= PER_THREAD; id++) {
		Snapmark__Ack a;
		Snapmark__SnapshotHandle h;
		char loc[32];
		make_ack(&a, &h, loc, r->task, id);
		r->failed |= sm_acksender_send(r->s, &a) != SM_OK;
	}
	return NULL;
}

static void
acks_from_many_threads_arrive_exactly_once_each_in_order_per_task(void)
{
	struct fake_link l;
	link_init(&l);
	struct sm_acksender *s;
	T_OK(sm_acksender_new(fake_send, &l, &s));
	pthread_t th[THREADS];
	struct racer r[THREADS];
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer) { s, (uint32_t) i, 0 };
		pthread_create(&th[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	sm_acksender_free(s);
	T_EQ_INT(l.n, THREADS * PER_THREAD);
	uint64_t next[THREADS];
	for (int i = 0; i < THREADS; i++) {
		T_TRUE(!r[i].failed);
		next[i] = 1;
	}
	/* each task's acks come in the order it sent them, none twice */
	for (int i = 0; i < l.n; i++) {
		T_TRUE(l.task[i] < THREADS);
		T_EQ_INT(l.id[i], next[l.task[i]]);
		next[l.task[i]]++;
	}
	printf("  %d acks from %d threads in %d messages (%d batches)\n", l.n,
	    THREADS, l.messages, l.batches);
	T_TRUE(l.messages <= l.n);
}

static const struct sm_test tests[] = {
	{ "acks_queued_during_a_send_leave_together_right_after_it",
	    acks_queued_during_a_send_leave_together_right_after_it },
	{ "queued_acks_that_cannot_be_sent_decline_their_checkpoints",
	    queued_acks_that_cannot_be_sent_decline_their_checkpoints },
	{ "a_lone_ack_goes_out_at_once_as_a_plain_ack",
	    a_lone_ack_goes_out_at_once_as_a_plain_ack },
	{ "acks_from_many_threads_arrive_exactly_once_each_in_order_per_task",
	    acks_from_many_threads_arrive_exactly_once_each_in_order_per_task },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
