/*
 * keymap.c - open-addressing uint64 -> int64 map (keymap.h).
 */
#include "worker/keymap.h"

#include <stdlib.h>

#include "common/bigmem.h"
#include "common/error.h"

/* Fibonacci hashing: the top log2(cap) bits of the product depend on
 * every bit of the key. */
static size_t
keymap_home(uint64_t key, size_t cap)
{
	int bits = __builtin_ctzll((unsigned long long) cap);
	return (size_t) ((key * 0x9E3779B97F4A7C15u) >> (64 - bits));
}

static int
keymap_alloc(struct sm_keymap *m, size_t cap)
{
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	m->slot = calloc(cap, 1);
	if (m->keys == NULL || m->vals == NULL || m->slot == NULL) {
		sm_keymap_fini(m);
		return SM_ENOMEM;
	}
	sm_bigmem_advise(m->keys, cap * sizeof(*m->keys));
	sm_bigmem_advise(m->vals, cap * sizeof(*m->vals));
	sm_bigmem_advise(m->slot, cap);
	m->cap = cap;
	m->len = m->occupied = 0;
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
	free(m->slot);
	m->keys = NULL;
	m->vals = NULL;
	m->slot = NULL;
	m->cap = m->len = m->occupied = 0;
}

static int
keymap_rehash(struct sm_keymap *m, size_t cap)
{
	struct sm_keymap old = *m;
	if (keymap_alloc(m, cap) != SM_OK) {
		*m = old;
		return SM_ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slot[i] == SM_KEYMAP_LIVE)
			*sm_keymap_slot(m, old.keys[i]) = old.vals[i];
	sm_keymap_fini(&old);
	return SM_OK;
}

int
sm_keymap_reserve(struct sm_keymap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 1024;
	while ((n + 1) * 10 > cap * 7)
		cap *= 2;
	return cap == m->cap ? SM_OK : keymap_rehash(m, cap);
}

/* Find key's slot; SIZE_MAX if absent. */
static size_t
keymap_find(const struct sm_keymap *m, uint64_t key)
{
	if (m->cap == 0)
		return SIZE_MAX;
	size_t i = keymap_home(key, m->cap);
	while (m->slot[i] != SM_KEYMAP_EMPTY) {
		if (m->slot[i] == SM_KEYMAP_LIVE && m->keys[i] == key)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return SIZE_MAX;
}

int64_t *
sm_keymap_slot(struct sm_keymap *m, uint64_t key)
{
	size_t i = keymap_find(m, key);
	if (i != SIZE_MAX)
		return &m->vals[i];
	if ((m->occupied + 1) * 10 > m->cap * 7) {
		/* Mostly tombstones: clean in place; else double. */
		size_t cap = m->len * 2 < m->cap / 2 ? m->cap : m->cap * 2;
		if (keymap_rehash(m, cap) != SM_OK)
			return NULL;
	}
	i = keymap_home(key, m->cap);
	while (m->slot[i] == SM_KEYMAP_LIVE)
		i = (i + 1) & (m->cap - 1);
	if (m->slot[i] == SM_KEYMAP_EMPTY)
		m->occupied++;
	m->slot[i] = SM_KEYMAP_LIVE;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->len++;
	return &m->vals[i];
}

int
sm_keymap_get(const struct sm_keymap *m, uint64_t key, int64_t *val)
{
	size_t i = keymap_find(m, key);
	if (i == SIZE_MAX)
		return SM_ENOTFOUND;
	*val = m->vals[i];
	return SM_OK;
}

int
sm_keymap_del(struct sm_keymap *m, uint64_t key)
{
	size_t i = keymap_find(m, key);
	if (i == SIZE_MAX)
		return SM_ENOTFOUND;
	m->slot[i] = SM_KEYMAP_TOMB;
	m->len--;
	return SM_OK;
}
