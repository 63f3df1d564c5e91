/*
 * timers.h - a task's timer service: per key, in event time and in
 * processing time, part of every checkpoint.
 *
 * A timer is (domain, key bytes, time). It is stored as a keyed state
 * entry of the task's kvstate under a reserved state id per domain
 * (SM_STATE_TIMERS_EVENT, _PROCESSING), entry key = the time as 8 bytes
 * big-endian with the sign bit flipped (so byte order is time order), then
 * the key's bytes; value empty; the key's key group. So timers are
 * checkpointed, incremental and split by key group on a rescale like any
 * other state, for free. Next to that the service keeps, per domain, an
 * in-memory index ordered by (time, key): a binary heap, rebuilt from the
 * state on restore (sm_timers_rebuild). A deleted timer stays in the heap
 * until it comes up, where the state says it is gone.
 *
 * Single-threaded: the task's thread only.
 */
#ifndef SM_TIMERS_H
#define SM_TIMERS_H

#include <stddef.h>
#include <stdint.h>

#include "worker/kvstate.h"

#define SM_TIMER_DOMAINS 2 /* 0: event time, 1: processing time */

struct sm_timer_ref {
	int64_t time;
	uint32_t key_len;
	unsigned char *key; /* malloc'ed */
};

struct sm_timer_heap {
	struct sm_timer_ref *a;
	size_t n, cap;
};

struct sm_timers {
	struct sm_kvstate *state; /* borrowed: where timers are kept */
	struct sm_timer_heap heap[SM_TIMER_DOMAINS];
	struct sm_timer_ref popped; /* the last timer popped (its key) */
};

/* A timer that came due. key is valid until the next sm_timers call. */
struct sm_timer {
	int domain;
	int64_t time;
	const unsigned char *key;
	uint32_t key_len;
	uint32_t key_group;
};

/* sm_timers_init: a service keeping its timers in state (not owned). */
int sm_timers_init(struct sm_timers *t, struct sm_kvstate *state);
void sm_timers_fini(struct sm_timers *t);

/* sm_timers_set sets the timer (domain, key, time); setting one that is
 * there already does nothing. kg is the key's key group. */
int sm_timers_set(struct sm_timers *t, int domain, const void *key,
    uint32_t key_len, uint32_t kg, int64_t time);

/* sm_timers_delete removes the timer (domain, key, time), if set. */
int sm_timers_delete(struct sm_timers *t, int domain, const void *key,
    uint32_t key_len, int64_t time);

/* sm_timers_pop removes and returns in *out the first timer of domain
 * with a time <= upto, in (time, key) order; SM_ENOTFOUND when none is
 * due. */
int sm_timers_pop(struct sm_timers *t, int domain, int64_t upto,
    struct sm_timer *out);

/* sm_timers_count: timers set in domain (walks the whole keyed state:
 * for tests and diagnostics, not per record). */
size_t sm_timers_count(const struct sm_timers *t, int domain);

/* sm_timers_rebuild rebuilds the index from the state (after a restore
 * loaded it). */
int sm_timers_rebuild(struct sm_timers *t);

/* sm_timer_state: the reserved state id of domain's timers. */
uint32_t sm_timer_state(int domain);

#endif
