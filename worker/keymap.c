/*
 * keymap.c - open-addressing (state, key bytes) -> value bytes map
 * (keymap.h).
 */
#include "worker/keymap.h"

#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "common/error.h"
#include "common/keygroup.h"

static struct sm_kventry keymap_tomb_entry;
struct sm_kventry *const sm_keymap_tomb = &keymap_tomb_entry;

uint64_t
sm_keymap_hash(uint32_t state, const void *key, uint32_t len)
{
	return sm_hash_bytes64(key, len) ^
	    ((uint64_t) state * 0x9E3779B97F4A7C15u);
}

/* Fibonacci hashing of the hash: the top log2(cap) bits. */
static size_t
keymap_home(uint64_t hash, size_t cap)
{
	int bits = __builtin_ctzll((unsigned long long) cap);
	return (size_t) ((hash * 0x9E3779B97F4A7C15u) >> (64 - bits));
}

static int
keymap_alloc(struct sm_keymap *m, size_t cap)
{
	m->slot = calloc(cap, sizeof(*m->slot));
	if (m->slot == NULL)
		return SM_ENOMEM;
	sm_bigmem_advise(m->slot, cap * sizeof(*m->slot));
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
	for (size_t i = 0; i < m->cap; i++)
		if (sm_keymap_live(m, i))
			free(m->slot[i].e);
	free(m->slot);
	m->slot = NULL;
	m->cap = m->len = m->occupied = 0;
}

/* Put an entry known to be absent into a table with room. */
static void
keymap_place(struct sm_keymap *m, uint64_t hash, struct sm_kventry *e)
{
	size_t i = keymap_home(hash, m->cap);
	while (sm_keymap_live(m, i))
		i = (i + 1) & (m->cap - 1);
	if (m->slot[i].e == NULL)
		m->occupied++;
	m->slot[i].hash = hash;
	m->slot[i].e = e;
	m->len++;
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
		if (sm_keymap_live(&old, i))
			keymap_place(m, old.slot[i].hash, old.slot[i].e);
	free(old.slot);
	return SM_OK;
}

int
sm_keymap_reserve(struct sm_keymap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 1024;
	while ((n + 1) * 10 > cap * 7)
		cap *= 2;
	if (m->slot == NULL)
		return keymap_alloc(m, cap);
	return cap == m->cap ? SM_OK : keymap_rehash(m, cap);
}

/* The slot of (state, key) with hash; SIZE_MAX if absent. */
static size_t
keymap_find(const struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t len)
{
	if (m->cap == 0)
		return SIZE_MAX;
	size_t i = keymap_home(hash, m->cap);
	for (; m->slot[i].e != NULL; i = (i + 1) & (m->cap - 1)) {
		const struct sm_kventry *e = m->slot[i].e;
		if (m->slot[i].hash != hash || e == sm_keymap_tomb)
			continue;
		if (e->state == state && e->key_len == len &&
		    (len == 0 || memcmp(e->bytes, key, len) == 0))
			return i;
	}
	return SIZE_MAX;
}

struct sm_kventry *
sm_keymap_find(const struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t len)
{
	size_t i = keymap_find(m, sm_keymap_hash(state, key, len), state, key,
	    len);
	return i == SIZE_MAX ? NULL : m->slot[i].e;
}

/* A new entry with room for value_cap value bytes. */
static struct sm_kventry *
kventry_new(uint32_t state, const void *key, uint32_t key_len, uint32_t kg,
    uint32_t value_cap)
{
	struct sm_kventry *e = malloc(sizeof(*e) + key_len + value_cap);
	if (e == NULL)
		return NULL;
	e->state = state;
	e->key_group = kg;
	e->key_len = key_len;
	e->value_len = 0;
	e->value_cap = value_cap;
	if (key_len > 0)
		memcpy(e->bytes, key, key_len);
	return e;
}

int
sm_keymap_put(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, const void *value, uint32_t value_len,
    struct sm_kventry **out)
{
	uint64_t hash = sm_keymap_hash(state, key, key_len);
	size_t i = keymap_find(m, hash, state, key, key_len);
	struct sm_kventry *e;
	if (i != SIZE_MAX) {
		e = m->slot[i].e;
		if (e->value_cap < value_len) {
			struct sm_kventry *g = realloc(e,
			    sizeof(*e) + e->key_len + value_len);
			if (g == NULL)
				return SM_ENOMEM;
			g->value_cap = value_len;
			m->slot[i].e = e = g;
		}
	} else {
		if ((m->occupied + 1) * 10 > m->cap * 7) {
			/* Mostly tombstones: clean in place; else double. */
			size_t cap = m->len * 2 < m->cap / 2 ? m->cap
			                                     : m->cap * 2;
			if (keymap_rehash(m, cap ? cap : 1024) != SM_OK)
				return SM_ENOMEM;
		}
		e = kventry_new(state, key, key_len, kg, value_len);
		if (e == NULL)
			return SM_ENOMEM;
		keymap_place(m, hash, e);
	}
	if (value_len > 0 && sm_kventry_value(e) != value)
		memmove(sm_kventry_value(e), value, value_len);
	e->value_len = value_len;
	if (out != NULL)
		*out = e;
	return SM_OK;
}

int
sm_keymap_del(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t len)
{
	size_t i = keymap_find(m, sm_keymap_hash(state, key, len), state, key,
	    len);
	if (i == SIZE_MAX)
		return SM_ENOTFOUND;
	free(m->slot[i].e);
	m->slot[i].e = sm_keymap_tomb;
	m->len--;
	return SM_OK;
}
