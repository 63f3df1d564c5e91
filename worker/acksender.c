/*
 * acksender.c - combining sender of acknowledgements (acksender.h).
 */
#include "worker/acksender.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/log.h"

struct sm_acksender {
	worker_send_fn send;
	void *ctx;
	pthread_mutex_t lock;
	int sending;           /* a thread is in the send loop */
	Snapmark__Ack **queue; /* copies queued meanwhile */
	size_t n, cap;
};

int
sm_acksender_new(worker_send_fn send, void *ctx, struct sm_acksender **out)
{
	struct sm_acksender *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return SM_ENOMEM;
	}
	s->send = send;
	s->ctx = ctx;
	*out = s;
	return SM_OK;
}

/* A deep copy through the wire format: the ack's handle owns strings and
 * bytes that belong to the caller. */
static Snapmark__Ack *
ack_copy(const Snapmark__Ack *ack)
{
	size_t len = snapmark__ack__get_packed_size(ack);
	uint8_t *buf = malloc(len + 1);
	if (buf == NULL)
		return NULL;
	snapmark__ack__pack(ack, buf);
	Snapmark__Ack *copy = snapmark__ack__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

static int
acksender_queue(struct sm_acksender *s, const Snapmark__Ack *ack)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		Snapmark__Ack **q = realloc(s->queue, cap * sizeof(*q));
		if (q == NULL)
			return SM_ENOMEM;
		s->queue = q;
		s->cap = cap;
	}
	Snapmark__Ack *copy = ack_copy(ack);
	if (copy == NULL)
		return SM_ENOMEM;
	s->queue[s->n++] = copy;
	return SM_OK;
}

static int
acksender_send_one(struct sm_acksender *s, const Snapmark__Ack *ack)
{
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_ACK;
	c.ack = (Snapmark__Ack *) ack;
	return s->send(s->ctx, &c);
}

static int
acksender_send_batch(struct sm_acksender *s, Snapmark__Ack **acks, size_t n)
{
	Snapmark__AckBatch b = SNAPMARK__ACK_BATCH__INIT;
	b.n_acks = n;
	b.acks = acks;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_ACK_BATCH;
	c.ack_batch = &b;
	return n == 1 ? acksender_send_one(s, acks[0]) : s->send(s->ctx, &c);
}

/* The acks queued by other threads could not be sent (their callers
 * were told SM_OK when they queued): log it, and decline each checkpoint,
 * so the coordinator aborts it now instead of waiting for its timeout. */
static void
acksender_lost(struct sm_acksender *s, Snapmark__Ack **q, size_t n, int err)
{
	sm_error("cannot send %zu combined acks: %s", n, sm_strerror(err));
	for (size_t i = 0; i < n; i++) {
		char name[32], why[96];
		snprintf(name, sizeof(name), "#%" PRIu32, q[i]->task);
		snprintf(why, sizeof(why), "its ack could not be sent: %s",
		    sm_strerror(err));
		worker_decline_err(s->send, s->ctx, q[i]->epoch,
		    q[i]->checkpoint_id, q[i]->task, name, why, err);
	}
}

int
sm_acksender_send(struct sm_acksender *s, const Snapmark__Ack *ack)
{
	pthread_mutex_lock(&s->lock);
	if (s->sending) {
		int rv = acksender_queue(s, ack);
		pthread_mutex_unlock(&s->lock);
		return rv;
	}
	s->sending = 1;
	pthread_mutex_unlock(&s->lock);

	int rv = acksender_send_one(s, ack);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		Snapmark__Ack **q = s->queue;
		size_t n = s->n;
		if (n == 0) {
			s->sending = 0;
			pthread_mutex_unlock(&s->lock);
			break;
		}
		s->queue = NULL;
		s->n = s->cap = 0;
		pthread_mutex_unlock(&s->lock);
		int brv = acksender_send_batch(s, q, n);
		if (brv != SM_OK)
			acksender_lost(s, q, n, brv);
		for (size_t i = 0; i < n; i++)
			snapmark__ack__free_unpacked(q[i], NULL);
		free(q);
	}
	return rv;
}

void
sm_acksender_free(struct sm_acksender *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		snapmark__ack__free_unpacked(s->queue[i], NULL);
	free(s->queue);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
