/*
 * kvstate.c - change-tracked keyed state (kvstate.h).
 */
#include "worker/kvstate.h"

#include <stdlib.h>

#include "common/error.h"

static int
kvdelta_init(struct sm_kvdelta *d)
{
	if (sm_keymap_init(&d->values) != SM_OK)
		return SM_ENOMEM;
	if (sm_keymap_init(&d->removed) != SM_OK) {
		sm_keymap_fini(&d->values);
		return SM_ENOMEM;
	}
	return SM_OK;
}

static void
kvdelta_fini(struct sm_kvdelta *d)
{
	sm_keymap_fini(&d->values);
	sm_keymap_fini(&d->removed);
}

int
sm_kvstate_init(struct sm_kvstate *s)
{
	if (sm_keymap_init(&s->live) != SM_OK)
		return SM_ENOMEM;
	if (kvdelta_init(&s->delta) != SM_OK) {
		sm_keymap_fini(&s->live);
		return SM_ENOMEM;
	}
	return SM_OK;
}

void
sm_kvstate_fini(struct sm_kvstate *s)
{
	sm_keymap_fini(&s->live);
	kvdelta_fini(&s->delta);
}

/* Record key's new value in the delta. */
static int
kvstate_changed(struct sm_kvstate *s, uint64_t key, int64_t value)
{
	int64_t *v = sm_keymap_slot(&s->delta.values, key);
	if (v == NULL)
		return SM_ENOMEM;
	*v = value;
	if (s->delta.removed.len > 0)
		(void) sm_keymap_del(&s->delta.removed, key);
	return SM_OK;
}

int
sm_kvstate_add(struct sm_kvstate *s, uint64_t key, int64_t delta)
{
	int64_t *v = sm_keymap_slot(&s->live, key);
	if (v == NULL)
		return SM_ENOMEM;
	*v += delta;
	return kvstate_changed(s, key, *v);
}

int
sm_kvstate_put(struct sm_kvstate *s, uint64_t key, int64_t value)
{
	int64_t *v = sm_keymap_slot(&s->live, key);
	if (v == NULL)
		return SM_ENOMEM;
	*v = value;
	return kvstate_changed(s, key, value);
}

int
sm_kvstate_del(struct sm_kvstate *s, uint64_t key)
{
	if (sm_keymap_del(&s->live, key) != SM_OK)
		return SM_OK;
	(void) sm_keymap_del(&s->delta.values, key);
	return sm_keymap_slot(&s->delta.removed, key) != NULL ? SM_OK
	                                                      : SM_ENOMEM;
}

int
sm_kvstate_get(const struct sm_kvstate *s, uint64_t key, int64_t *val)
{
	return sm_keymap_get(&s->live, key, val);
}

size_t
sm_kvstate_len(const struct sm_kvstate *s)
{
	return s->live.len;
}

size_t
sm_kvstate_changes(const struct sm_kvstate *s)
{
	return sm_kvdelta_len(&s->delta);
}

static int
entry_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct sm_state_entry *) a)->key;
	uint64_t y = ((const struct sm_state_entry *) b)->key;
	return x < y ? -1 : x > y;
}

void
sm_kvstate_sort(struct sm_state_entry *e, size_t n)
{
	qsort(e, n, sizeof(*e), entry_cmp);
}

/* Start an empty delta; the one it replaces goes to *old. */
static int
kvstate_swap_delta(struct sm_kvstate *s, struct sm_kvdelta *old)
{
	struct sm_kvdelta fresh;
	if (kvdelta_init(&fresh) != SM_OK)
		return SM_ENOMEM;
	*old = s->delta;
	s->delta = fresh;
	return SM_OK;
}

int
sm_kvstate_take_delta(struct sm_kvstate *s, struct sm_kvdelta **out)
{
	struct sm_kvdelta *d = malloc(sizeof(*d));
	if (d == NULL)
		return SM_ENOMEM;
	if (kvstate_swap_delta(s, d) != SM_OK) {
		free(d);
		return SM_ENOMEM;
	}
	*out = d;
	return SM_OK;
}

int
sm_kvstate_load(struct sm_kvstate *s, const struct sm_state_entry *e, size_t n)
{
	if (sm_keymap_reserve(&s->live, s->live.len + n) != SM_OK)
		return SM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int64_t *v = sm_keymap_slot(&s->live, e[i].key);
		if (v == NULL)
			return SM_ENOMEM;
		*v = e[i].count;
	}
	return SM_OK;
}

int
sm_kvstate_forget_changes(struct sm_kvstate *s)
{
	struct sm_kvdelta old;
	if (kvstate_swap_delta(s, &old) != SM_OK)
		return SM_ENOMEM;
	kvdelta_fini(&old);
	return SM_OK;
}

/* Append m's live keys to e (unsorted), as deletions if deleted; returns
 * how many. */
static size_t
keymap_collect(const struct sm_keymap *m, int deleted,
    struct sm_state_entry *e)
{
	size_t k = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i] == SM_KEYMAP_LIVE)
			e[k++] = (struct sm_state_entry) { .key = m->keys[i],
				.count = deleted ? 0 : m->vals[i],
				.deleted = deleted };
	return k;
}

int
sm_state_entries_of(const struct sm_keymap *m, struct sm_state_entry **out,
    size_t *n)
{
	struct sm_state_entry *e = malloc((m->len + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	size_t k = keymap_collect(m, 0, e);
	sm_kvstate_sort(e, k);
	*out = e;
	*n = k;
	return SM_OK;
}

size_t
sm_kvdelta_len(const struct sm_kvdelta *d)
{
	return d->values.len + d->removed.len;
}

int
sm_kvdelta_flatten(const struct sm_kvdelta *d, struct sm_state_entry **out,
    size_t *n)
{
	struct sm_state_entry *e =
	    malloc((sm_kvdelta_len(d) + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	size_t k = keymap_collect(&d->values, 0, e);
	k += keymap_collect(&d->removed, 1, e + k);
	*out = e;
	*n = k;
	return SM_OK;
}

void
sm_kvdelta_free(struct sm_kvdelta *d)
{
	if (d == NULL)
		return;
	kvdelta_fini(d);
	free(d);
}
