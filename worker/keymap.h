/*
 * keymap.h - an open-addressing hash map from (state id, key bytes) to
 * value bytes, the in-memory home of keyed operator state.
 *
 * Each entry is one allocation: its header, then the key bytes, then room
 * for the value (sm_kventry). Entries up to SM_KEYMAP_POOL_MAX bytes are
 * carved from the map's own blocks (growing up to 8 MiB, huge-page
 * advised: a lookup in a map of millions of keys costs no TLB miss on top
 * of its cache miss) and reused through per-size free lists; larger ones
 * are malloc'ed. A map that lives one interval (a delta) thus costs a few
 * large allocations, not one per key. The table holds, per slot, the entry's hash
 * and a pointer to it, so a probe compares hashes before it touches an
 * entry. Linear probing over a power-of-two table kept at most 70%
 * occupied (live entries plus tombstones); a deleted entry leaves a
 * tombstone that lookups probe past; growing the table drops tombstones.
 */
#ifndef SM_KEYMAP_H
#define SM_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/state.h"

struct sm_kventry {
	uint32_t state;
	uint32_t key_group;
	uint32_t key_len;
	uint32_t value_len;
	uint32_t value_cap;  /* bytes of room after the key */
	unsigned char bytes[]; /* key_len key bytes, then the value */
};

static inline const unsigned char *
sm_kventry_key(const struct sm_kventry *e)
{
	return e->bytes;
}

static inline unsigned char *
sm_kventry_value(struct sm_kventry *e)
{
	return e->bytes + e->key_len;
}

#define SM_KEYMAP_POOL_MAX 256 /* larger entries are malloc'ed */

struct sm_keymap_slot {
	uint64_t hash;
	struct sm_kventry *e; /* NULL: empty; sm_keymap_tomb: a tombstone */
};

struct sm_keymap {
	size_t cap;        /* slots, power of two */
	size_t len;        /* live entries */
	size_t occupied;   /* live entries + tombstones */
	struct sm_keymap_slot *slot;
	/* The entry pool: blocks (freed with the map) and free lists per
	 * 16-byte size class. */
	struct sm_state_arena *blocks;
	size_t next_block;
	void *free_list[SM_KEYMAP_POOL_MAX / 16 + 1];
};

/* The tombstone marker (never dereferenced). */
extern struct sm_kventry *const sm_keymap_tomb;

/* sm_keymap_live: slot i holds an entry. Iterate with
 *     for (size_t i = 0; i < m->cap; i++)
 *         if (sm_keymap_live(m, i)) ... m->slot[i].e ... */
static inline int
sm_keymap_live(const struct sm_keymap *m, size_t i)
{
	return m->slot[i].e != NULL && m->slot[i].e != sm_keymap_tomb;
}

int sm_keymap_init(struct sm_keymap *m);
/* sm_keymap_fini frees the table and every entry. */
void sm_keymap_fini(struct sm_keymap *m);

/* sm_keymap_reserve makes room for n live entries without growing. */
int sm_keymap_reserve(struct sm_keymap *m, size_t n);

/* sm_keymap_hash: the hash the map files (state, key) under. */
uint64_t sm_keymap_hash(uint32_t state, const void *key, uint32_t len);

/* sm_keymap_prefetch starts loading the first slot a lookup of hash
 * probes; sm_keymap_prefetch_entry the entry in it, if it is hash's. */
void sm_keymap_prefetch(const struct sm_keymap *m, uint64_t hash);
void sm_keymap_prefetch_entry(const struct sm_keymap *m, uint64_t hash);

/* sm_keymap_find returns the entry of (state, key) or NULL. */
struct sm_kventry *sm_keymap_find(const struct sm_keymap *m, uint32_t state,
    const void *key, uint32_t len);
/* The same with the hash (sm_keymap_hash) computed by the caller. */
struct sm_kventry *sm_keymap_find_h(const struct sm_keymap *m, uint64_t hash,
    uint32_t state, const void *key, uint32_t len);

/* sm_keymap_put sets (state, key)'s value to len bytes at value (inserting
 * it with key group kg if absent; kg is kept otherwise) and returns its
 * entry in *out (may be NULL). The entry's address changes when a longer
 * value does not fit its room; it is valid until the next write. */
int sm_keymap_put(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t key_len, uint32_t kg, const void *value, uint32_t value_len,
    struct sm_kventry **out);
int sm_keymap_put_h(struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t key_len, uint32_t kg, const void *value,
    uint32_t value_len, struct sm_kventry **out);

/* sm_keymap_del removes (state, key) and frees its entry; SM_ENOTFOUND if
 * it was absent. */
int sm_keymap_del(struct sm_keymap *m, uint32_t state, const void *key,
    uint32_t len);
int sm_keymap_del_h(struct sm_keymap *m, uint64_t hash, uint32_t state,
    const void *key, uint32_t len);

#endif
