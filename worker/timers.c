/*
 * timers.c - the timer service: timers as keyed state entries plus an
 * ordered in-memory index (timers.h).
 */
#include "worker/timers.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

uint32_t
sm_timer_state(int domain)
{
	return domain == 0 ? SM_STATE_TIMERS_EVENT : SM_STATE_TIMERS_PROCESSING;
}

/* The state key of a timer: time (sign-flipped, big-endian), key. */
static unsigned char *
timer_state_key(int64_t time, const void *key, uint32_t len,
    unsigned char *small, size_t small_len)
{
	unsigned char *k = (size_t) len + 8 <= small_len
	    ? small
	    : malloc((size_t) len + 8);
	if (k == NULL)
		return NULL;
	uint64_t u = (uint64_t) time ^ 0x8000000000000000ull;
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char) (u >> (56 - 8 * i));
	if (len > 0)
		memcpy(k + 8, key, len);
	return k;
}

static int64_t
timer_time_of(const unsigned char *k)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = (u << 8) | k[i];
	return (int64_t) (u ^ 0x8000000000000000ull);
}

/* (time, key) order. */
static int
timer_ref_cmp(const struct sm_timer_ref *a, const struct sm_timer_ref *b)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = n ? memcmp(a->key, b->key, n) : 0;
	if (c != 0)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int
heap_push(struct sm_timer_heap *h, int64_t time, const void *key,
    uint32_t len)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct sm_timer_ref *a = realloc(h->a, cap * sizeof(*a));
		if (a == NULL)
			return SM_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	unsigned char *copy = malloc(len + 1u);
	if (copy == NULL)
		return SM_ENOMEM;
	if (len > 0)
		memcpy(copy, key, len);
	size_t i = h->n++;
	h->a[i] = (struct sm_timer_ref) { time, len, copy };
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (timer_ref_cmp(&h->a[p], &h->a[i]) <= 0)
			break;
		struct sm_timer_ref x = h->a[p];
		h->a[p] = h->a[i];
		h->a[i] = x;
		i = p;
	}
	return SM_OK;
}

/* Remove the top into *out (the caller owns out->key). */
static void
heap_pop(struct sm_timer_heap *h, struct sm_timer_ref *out)
{
	*out = h->a[0];
	h->a[0] = h->a[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && timer_ref_cmp(&h->a[l], &h->a[m]) < 0)
			m = l;
		if (r < h->n && timer_ref_cmp(&h->a[r], &h->a[m]) < 0)
			m = r;
		if (m == i)
			break;
		struct sm_timer_ref x = h->a[m];
		h->a[m] = h->a[i];
		h->a[i] = x;
		i = m;
	}
}

static void
heap_clear(struct sm_timer_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->a[i].key);
	h->n = 0;
}

int
sm_timers_init(struct sm_timers *t, struct sm_kvstate *state)
{
	memset(t, 0, sizeof(*t));
	t->state = state;
	return SM_OK;
}

void
sm_timers_fini(struct sm_timers *t)
{
	for (int d = 0; d < SM_TIMER_DOMAINS; d++) {
		heap_clear(&t->heap[d]);
		free(t->heap[d].a);
	}
	free(t->popped.key);
	memset(t, 0, sizeof(*t));
}

int
sm_timers_set(struct sm_timers *t, int domain, const void *key,
    uint32_t key_len, uint32_t kg, int64_t time)
{
	if (domain < 0 || domain >= SM_TIMER_DOMAINS ||
	    key_len > SM_STATE_MAX_BYTES - 8)
		return SM_EINVAL;
	unsigned char small[64];
	unsigned char *k = timer_state_key(time, key, key_len, small,
	    sizeof(small));
	if (k == NULL)
		return SM_ENOMEM;
	uint32_t state = sm_timer_state(domain);
	const void *v;
	uint32_t vlen;
	int rv = SM_OK;
	if (sm_kvstate_get(t->state, state, k, key_len + 8, &v, &vlen) !=
	    SM_OK) {
		rv = sm_kvstate_put(t->state, state, k, key_len + 8, kg, NULL,
		    0);
		if (rv == SM_OK)
			rv = heap_push(&t->heap[domain], time, key, key_len);
		if (rv != SM_OK)
			(void) sm_kvstate_del(t->state, state, k, key_len + 8);
	}
	if (k != small)
		free(k);
	return rv;
}

int
sm_timers_delete(struct sm_timers *t, int domain, const void *key,
    uint32_t key_len, int64_t time)
{
	if (domain < 0 || domain >= SM_TIMER_DOMAINS ||
	    key_len > SM_STATE_MAX_BYTES - 8)
		return SM_EINVAL;
	unsigned char small[64];
	unsigned char *k = timer_state_key(time, key, key_len, small,
	    sizeof(small));
	if (k == NULL)
		return SM_ENOMEM;
	int rv = sm_kvstate_del(t->state, sm_timer_state(domain), k,
	    key_len + 8);
	if (k != small)
		free(k);
	return rv;
}

int
sm_timers_pop(struct sm_timers *t, int domain, int64_t upto,
    struct sm_timer *out)
{
	if (domain < 0 || domain >= SM_TIMER_DOMAINS)
		return SM_EINVAL;
	struct sm_timer_heap *h = &t->heap[domain];
	uint32_t state = sm_timer_state(domain);
	while (h->n > 0 && h->a[0].time <= upto) {
		struct sm_timer_ref top;
		heap_pop(h, &top);
		unsigned char small[64];
		unsigned char *k = timer_state_key(top.time, top.key,
		    top.key_len, small, sizeof(small));
		if (k == NULL) {
			free(top.key);
			return SM_ENOMEM;
		}
		struct sm_kventry *e = sm_keymap_find(&t->state->live, state,
		    k, top.key_len + 8);
		int rv = SM_ENOTFOUND;
		uint32_t kg = 0;
		if (e != NULL) {
			/* Set (not deleted since, nor a second heap copy of
			 * one popped already): it fires, and is gone. */
			kg = e->key_group;
			rv = sm_kvstate_del(t->state, state, k,
			    top.key_len + 8);
		}
		if (k != small)
			free(k);
		if (rv == SM_ENOTFOUND) {
			free(top.key);
			continue;
		}
		if (rv != SM_OK) {
			free(top.key);
			return rv;
		}
		free(t->popped.key);
		t->popped = top;
		*out = (struct sm_timer) { .domain = domain,
			.time = top.time,
			.key = top.key,
			.key_len = top.key_len,
			.key_group = kg };
		return SM_OK;
	}
	return SM_ENOTFOUND;
}

size_t
sm_timers_count(const struct sm_timers *t, int domain)
{
	const struct sm_keymap *m = &t->state->live;
	uint32_t state = sm_timer_state(domain);
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		n += sm_keymap_live(m, i) && m->slot[i].e->state == state;
	return n;
}

int
sm_timers_rebuild(struct sm_timers *t)
{
	for (int d = 0; d < SM_TIMER_DOMAINS; d++)
		heap_clear(&t->heap[d]);
	const struct sm_keymap *m = &t->state->live;
	for (size_t i = 0; i < m->cap; i++) {
		if (!sm_keymap_live(m, i))
			continue;
		const struct sm_kventry *e = m->slot[i].e;
		int d = e->state == SM_STATE_TIMERS_EVENT ? 0
		    : e->state == SM_STATE_TIMERS_PROCESSING ? 1
		                                             : -1;
		if (d < 0 || e->key_len < 8)
			continue;
		const unsigned char *k = sm_kventry_key(e);
		int rv = heap_push(&t->heap[d], timer_time_of(k), k + 8,
		    e->key_len - 8);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}
