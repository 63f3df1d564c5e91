/*
 * kvstate.c - change-tracked keyed state (kvstate.h).
 */
#include "worker/kvstate.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/jobfile.h"

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

/* Record (state, key)'s new value in the delta d; h is its hash. */
static int
kvdelta_changed(struct sm_kvdelta *d, uint64_t h, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg, const void *value,
    uint32_t value_len)
{
	int rv = sm_keymap_put_h(&d->values, h, state, key, key_len, kg,
	    value, value_len, NULL);
	if (rv != SM_OK)
		return rv;
	if (d->removed.len > 0)
		(void) sm_keymap_del_h(&d->removed, h, state, key, key_len);
	return SM_OK;
}

/* Record (state, key)'s removal in d. */
static int
kvdelta_removed(struct sm_kvdelta *d, uint64_t h, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg)
{
	if (d->values.len > 0)
		(void) sm_keymap_del_h(&d->values, h, state, key, key_len);
	return sm_keymap_put_h(&d->removed, h, state, key, key_len, kg, NULL,
	    0, NULL);
}

int
sm_kvstate_put(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, const void *value, uint32_t value_len)
{
	if (key_len > SM_STATE_MAX_BYTES || value_len > SM_STATE_MAX_BYTES)
		return SM_EINVAL;
	struct sm_kventry *e;
	uint64_t h = sm_keymap_hash(state, key, key_len);
	int rv = sm_keymap_put_h(&s->live, h, state, key, key_len, kg, value,
	    value_len, &e);
	if (rv != SM_OK)
		return rv;
	return kvdelta_changed(&s->delta, h, state, key, key_len,
	    e->key_group, sm_kventry_value(e), value_len);
}

int
sm_kvstate_get(const struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len, const void **value, uint32_t *len)
{
	struct sm_kventry *e = sm_keymap_find(&s->live, state, key, key_len);
	if (e == NULL)
		return SM_ENOTFOUND;
	*value = sm_kventry_value(e);
	*len = e->value_len;
	return SM_OK;
}

int
sm_kvstate_del(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len)
{
	uint64_t h = sm_keymap_hash(state, key, key_len);
	struct sm_kventry *e = sm_keymap_find_h(&s->live, h, state, key,
	    key_len);
	if (e == NULL)
		return SM_OK;
	uint32_t kg = e->key_group;
	(void) sm_keymap_del_h(&s->live, h, state, key, key_len);
	return kvdelta_removed(&s->delta, h, state, key, key_len, kg);
}

void
sm_counter_put(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t) v;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (u >> (8 * i));
}

int64_t
sm_counter_get(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t) p[i] << (8 * i);
	return (int64_t) u;
}

uint64_t
sm_kvstate_hash(uint32_t state, const void *key, uint32_t key_len)
{
	return sm_keymap_hash(state, key, key_len);
}

void
sm_kvstate_prefetch(const struct sm_kvstate *s, uint64_t hash)
{
	sm_keymap_prefetch(&s->live, hash);
	sm_keymap_prefetch(&s->delta.values, hash);
}

void
sm_kvstate_prefetch_entry(const struct sm_kvstate *s, uint64_t hash)
{
	sm_keymap_prefetch_entry(&s->live, hash);
	sm_keymap_prefetch_entry(&s->delta.values, hash);
}

int
sm_kvstate_add(struct sm_kvstate *s, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, int64_t delta, int64_t *now)
{
	return sm_kvstate_add_h(s, sm_keymap_hash(state, key, key_len), state,
	    key, key_len, kg, delta, now);
}

int
sm_kvstate_add_h(struct sm_kvstate *s, uint64_t h, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg, int64_t delta,
    int64_t *now)
{
	if (key_len > SM_STATE_MAX_BYTES)
		return SM_EINVAL;
	struct sm_kventry *e = sm_keymap_find_h(&s->live, h, state, key,
	    key_len);
	unsigned char buf[8];
	int64_t v = delta;
	if (e != NULL) {
		if (e->value_len != 8)
			return SM_EINVAL;
		v = (int64_t) ((uint64_t) sm_counter_get(sm_kventry_value(e)) +
		    (uint64_t) delta);
		/* In place: the common case costs one lookup here. */
		sm_counter_put(sm_kventry_value(e), v);
	} else {
		sm_counter_put(buf, v);
		int rv = sm_keymap_put_h(&s->live, h, state, key, key_len, kg,
		    buf, 8, &e);
		if (rv != SM_OK)
			return rv;
	}
	if (now != NULL)
		*now = v;
	return kvdelta_changed(&s->delta, h, state, key, key_len,
	    e->key_group, sm_kventry_value(e), 8);
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
	return sm_state_entry_cmp(a, b);
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
sm_kvstate_snapshot(struct sm_kvstate *s, struct sm_snapshot_data *out)
{
	out->incremental = 1;
	out->unsorted = 1;
	out->full_entries = sm_kvstate_len(s);
	return sm_kvstate_take_delta(s, &out->delta);
}

void
sm_kvstate_snapshot_release(struct sm_snapshot_data *d)
{
	free(d->entries);
	d->entries = NULL;
	d->n_entries = 0;
	sm_kvdelta_free(d->delta);
	d->delta = NULL;
}

int
sm_kvstate_load(struct sm_kvstate *s, const struct sm_state_entry *e, size_t n)
{
	if (sm_keymap_reserve(&s->live, s->live.len + n) != SM_OK)
		return SM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (e[i].deleted)
			continue;
		int rv = sm_keymap_put(&s->live, e[i].state, e[i].key,
		    e[i].key_len, e[i].key_group, e[i].value, e[i].value_len,
		    NULL);
		if (rv != SM_OK)
			return rv;
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

int
sm_kvdelta_new(struct sm_kvdelta **out)
{
	struct sm_kvdelta *d = malloc(sizeof(*d));
	if (d == NULL)
		return SM_ENOMEM;
	if (kvdelta_init(d) != SM_OK) {
		free(d);
		return SM_ENOMEM;
	}
	*out = d;
	return SM_OK;
}

int
sm_kvdelta_record(struct sm_kvdelta *d, const struct sm_state_entry *e,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t h = sm_keymap_hash(e[i].state, e[i].key,
		    e[i].key_len);
		int rv = e[i].deleted
		    ? kvdelta_removed(d, h, e[i].state, e[i].key, e[i].key_len,
		          e[i].key_group)
		    : kvdelta_changed(d, h, e[i].state, e[i].key,
		          e[i].key_len, e[i].key_group, e[i].value,
		          e[i].value_len);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

/* Append m's live entries to e (unsorted), as deletions if deleted;
 * returns how many. */
static size_t
keymap_collect(const struct sm_keymap *m, int deleted,
    struct sm_state_entry *e)
{
	size_t k = 0;
	for (size_t i = 0; i < m->cap; i++) {
		if (!sm_keymap_live(m, i))
			continue;
		struct sm_kventry *x = m->slot[i].e;
		e[k++] = (struct sm_state_entry) { .state = x->state,
			.key_group = x->key_group,
			.key_len = x->key_len,
			.value_len = deleted ? 0 : x->value_len,
			.key = sm_kventry_key(x),
			.value = sm_kventry_value(x),
			.deleted = deleted };
	}
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

size_t
sm_state_keep_owned(struct sm_state_entry *e, size_t n, int max_parallelism,
    int parallelism, int subtask)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (sm_job_key_group_owner((int) e[i].key_group,
		        max_parallelism, parallelism) == subtask)
			e[k++] = e[i];
	return k;
}
