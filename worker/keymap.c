/*
 * keymap.c - open-addressing uint64 -> int64 map.
 */
#include "keymap.h"

#include <stdlib.h>

#include "error.h"

static size_t
keymap_home(uint64_t key, size_t cap)
{
	return (size_t) ((key * 0x9E3779B97F4A7C15u) >> 17) & (cap - 1);
}

static int
keymap_alloc(struct sm_keymap *m, size_t cap)
{
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	m->used = calloc(cap, 1);
	if (m->keys == NULL || m->vals == NULL || m->used == NULL) {
		sm_keymap_fini(m);
		return SM_ENOMEM;
	}
	m->cap = cap;
	m->len = 0;
	return SM_OK;
}

int
sm_keymap_init(struct sm_keymap *m)
{
	return keymap_alloc(m, 1024);
}

void
sm_keymap_fini(struct sm_keymap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	m->keys = NULL;
	m->vals = NULL;
	m->used = NULL;
	m->cap = m->len = 0;
}

static int
keymap_grow(struct sm_keymap *m)
{
	struct sm_keymap old = *m;
	if (keymap_alloc(m, old.cap * 2) != SM_OK) {
		*m = old;
		return SM_ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.used[i])
			*sm_keymap_slot(m, old.keys[i]) = old.vals[i];
	sm_keymap_fini(&old);
	return SM_OK;
}

int64_t *
sm_keymap_slot(struct sm_keymap *m, uint64_t key)
{
	if ((m->len + 1) * 10 > m->cap * 7 && keymap_grow(m) != SM_OK)
		return NULL;
	size_t i = keymap_home(key, m->cap);
	while (m->used[i]) {
		if (m->keys[i] == key)
			return &m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->len++;
	return &m->vals[i];
}

int
sm_keymap_get(const struct sm_keymap *m, uint64_t key, int64_t *val)
{
	if (m->cap == 0)
		return SM_ENOTFOUND;
	size_t i = keymap_home(key, m->cap);
	while (m->used[i]) {
		if (m->keys[i] == key) {
			*val = m->vals[i];
			return SM_OK;
		}
		i = (i + 1) & (m->cap - 1);
	}
	return SM_ENOTFOUND;
}
