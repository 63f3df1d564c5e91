/*
 * kvstate.c - change-tracked keyed state (kvstate.h).
 */
#include "kvstate.h"

#include <stdlib.h>

#include "error.h"

int
sm_kvstate_init(struct sm_kvstate *s)
{
	s->change_list = NULL;
	s->n_changes = s->cap_changes = 0;
	s->copied = 0;
	if (sm_keymap_init(&s->live) != SM_OK)
		return SM_ENOMEM;
	if (sm_keymap_init(&s->changed) != SM_OK) {
		sm_keymap_fini(&s->live);
		return SM_ENOMEM;
	}
	return SM_OK;
}

void
sm_kvstate_fini(struct sm_kvstate *s)
{
	sm_keymap_fini(&s->live);
	sm_keymap_fini(&s->changed);
	free(s->change_list);
	s->change_list = NULL;
	s->n_changes = s->cap_changes = 0;
}

/* Remember that key changed; O(1) for a key already remembered. */
static int
kvstate_touch(struct sm_kvstate *s, uint64_t key)
{
	size_t before = s->changed.len;
	if (sm_keymap_slot(&s->changed, key) == NULL)
		return SM_ENOMEM;
	if (s->changed.len == before)
		return SM_OK;
	if (s->n_changes == s->cap_changes) {
		size_t cap = s->cap_changes ? s->cap_changes * 2 : 1024;
		uint64_t *p = realloc(s->change_list, cap * sizeof(*p));
		if (p == NULL)
			return SM_ENOMEM;
		s->change_list = p;
		s->cap_changes = cap;
	}
	s->change_list[s->n_changes++] = key;
	return SM_OK;
}

int
sm_kvstate_add(struct sm_kvstate *s, uint64_t key, int64_t delta)
{
	int64_t *v = sm_keymap_slot(&s->live, key);
	if (v == NULL)
		return SM_ENOMEM;
	*v += delta;
	return kvstate_touch(s, key);
}

int
sm_kvstate_put(struct sm_kvstate *s, uint64_t key, int64_t value)
{
	int64_t *v = sm_keymap_slot(&s->live, key);
	if (v == NULL)
		return SM_ENOMEM;
	*v = value;
	return kvstate_touch(s, key);
}

int
sm_kvstate_del(struct sm_kvstate *s, uint64_t key)
{
	if (sm_keymap_del(&s->live, key) != SM_OK)
		return SM_OK;
	return kvstate_touch(s, key);
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

int
sm_kvstate_capture_delta(struct sm_kvstate *s, struct sm_state_entry **out,
    size_t *n)
{
	struct sm_state_entry *e = malloc((s->n_changes + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	for (size_t i = 0; i < s->n_changes; i++) {
		int64_t v;
		e[i].key = s->change_list[i];
		e[i].deleted = sm_keymap_get(&s->live, e[i].key, &v) != SM_OK;
		e[i].count = e[i].deleted ? 0 : v;
	}
	size_t k = s->n_changes;
	if (sm_kvstate_forget_changes(s) != SM_OK) {
		free(e);
		return SM_ENOMEM;
	}
	s->copied += k;
	*out = e;
	*n = k;
	return SM_OK;
}

int
sm_kvstate_forget_changes(struct sm_kvstate *s)
{
	/* A fresh set is cheaper than deleting every key of the old one. */
	struct sm_keymap fresh;
	if (sm_keymap_init(&fresh) != SM_OK)
		return SM_ENOMEM;
	sm_keymap_fini(&s->changed);
	s->changed = fresh;
	s->n_changes = 0;
	return SM_OK;
}

int
sm_kvstate_capture_all(struct sm_kvstate *s, struct sm_state_entry **out,
    size_t *n)
{
	struct sm_state_entry *e = malloc((s->live.len + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < s->live.cap; i++)
		if (s->live.slot[i] == SM_KEYMAP_LIVE) {
			e[k].key = s->live.keys[i];
			e[k].count = s->live.vals[i];
			e[k].deleted = 0;
			k++;
		}
	sm_kvstate_sort(e, k);
	s->copied += k;
	*out = e;
	*n = k;
	return SM_OK;
}
