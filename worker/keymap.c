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
	memset(m, 0, sizeof(*m));
	return keymap_alloc(m, 1024);
}

/* ---- the entry pool ---- */

#define POOL_FIRST_BLOCK ((size_t) 64 << 10)
#define POOL_LAST_BLOCK ((size_t) 8 << 20)

/* Bytes an entry of that many value bytes of room takes. */
static size_t
kventry_size(uint32_t key_len, uint32_t value_cap)
{
	return sizeof(struct sm_kventry) + key_len + value_cap;
}

static void *
pool_alloc(struct sm_keymap *m, size_t n)
{
	if (n > SM_KEYMAP_POOL_MAX)
		return malloc(n);
	size_t c = (n + 15) / 16;
	void *p = m->free_list[c];
	if (p != NULL) {
		memcpy(&m->free_list[c], p, sizeof(void *));
		return p;
	}
	struct sm_state_arena *b = m->blocks;
	if (b == NULL || b->cap - b->used < c * 16) {
		/* A new block, twice the last (64 KiB .. 8 MiB). */
		size_t size = m->next_block ? m->next_block : POOL_FIRST_BLOCK;
		m->next_block = size < POOL_LAST_BLOCK ? size * 2 : size;
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		sm_bigmem_advise(b->bytes, size);
		b->cap = size;
		b->used = 0;
		b->next = m->blocks;
		m->blocks = b;
	}
	p = b->bytes + b->used;
	b->used += c * 16;
	return p;
}

static void
pool_free(struct sm_keymap *m, void *p, size_t n)
{
	if (n > SM_KEYMAP_POOL_MAX) {
		free(p);
		return;
	}
	size_t c = (n + 15) / 16;
	memcpy(p, &m->free_list[c], sizeof(void *));
	m->free_list[c] = p;
}

static void
kventry_free(struct sm_keymap *m, struct sm_kventry *e)
{
	pool_free(m, e, kventry_size(e->key_len, e->value_cap));
}

void
sm_keymap_fini(struct sm_keymap *m)
{
	/* Pooled entries go with their blocks; only large ones one by one. */
	for (size_t i = 0; i < m->cap; i++) {
		if (!sm_keymap_live(m, i))
			continue;
		struct sm_kventry *e = m->slot[i].e;
		if (kventry_size(e->key_len, e->value_cap) > SM_KEYMAP_POOL_MAX)
			free(e);
	}
	sm_state_arena_free(m->blocks);
	free(m->slot);
	memset(m, 0, sizeof(*m));
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

void
sm_keymap_prefetch(const struct sm_keymap *m, uint64_t hash)
{
	if (m->cap > 0)
		__builtin_prefetch(&m->slot[keymap_home(hash, m->cap)]);
}

void
sm_keymap_prefetch_entry(const struct sm_keymap *m, uint64_t hash)
{
	if (m->cap == 0)
		return;
	const struct sm_keymap_slot *sl = &m->slot[keymap_home(hash, m->cap)];
	if (sl->hash == hash && sl->e != NULL && sl->e != sm_keymap_tomb)
		__builtin_prefetch(sl->e);
}

struct sm_kventry *
sm_keymap_find_h(const struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t len)
{
	size_t i = keymap_find(m, hash, state, key, len);
	return i == SIZE_MAX ? NULL : m->slot[i].e;
}

struct sm_kventry *
sm_keymap_find(const struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t len)
{
	return sm_keymap_find_h(m, sm_keymap_hash(state, key, len), state,
	    key, len);
}

/* A new entry with room for value_cap value bytes. */
static struct sm_kventry *
kventry_new(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, uint32_t value_cap)
{
	struct sm_kventry *e = pool_alloc(m, kventry_size(key_len, value_cap));
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

/* A copy of e with room for value_cap value bytes (e freed); NULL: out of
 * memory, e untouched. */
static struct sm_kventry *
kventry_grow(struct sm_keymap *m, struct sm_kventry *e, uint32_t value_cap)
{
	struct sm_kventry *g =
	    pool_alloc(m, kventry_size(e->key_len, value_cap));
	if (g == NULL)
		return NULL;
	memcpy(g, e, kventry_size(e->key_len, e->value_len));
	g->value_cap = value_cap;
	kventry_free(m, e);
	return g;
}

int
sm_keymap_put(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, const void *value, uint32_t value_len,
    struct sm_kventry **out)
{
	return sm_keymap_put_h(m, sm_keymap_hash(state, key, key_len), state,
	    key, key_len, kg, value, value_len, out);
}

int
sm_keymap_put_h(struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg, const void *value,
    uint32_t value_len, struct sm_kventry **out)
{
	size_t i = keymap_find(m, hash, state, key, key_len);
	struct sm_kventry *e;
	if (i != SIZE_MAX) {
		e = m->slot[i].e;
		if (e->value_cap < value_len) {
			struct sm_kventry *g = kventry_grow(m, e, value_len);
			if (g == NULL)
				return SM_ENOMEM;
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
		e = kventry_new(m, state, key, key_len, kg, value_len);
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
	return sm_keymap_del_h(m, sm_keymap_hash(state, key, len), state, key,
	    len);
}

int
sm_keymap_del_h(struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t len)
{
	size_t i = keymap_find(m, hash, state, key, len);
	if (i == SIZE_MAX)
		return SM_ENOTFOUND;
	kventry_free(m, m->slot[i].e);
	m->slot[i].e = sm_keymap_tomb;
	m->len--;
	return SM_OK;
}
