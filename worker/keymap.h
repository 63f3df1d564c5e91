/*
 * keymap.h - an open-addressing hash map from uint64 key to int64 value,
 * the in-memory home of keyed operator state.
 *
 * Linear probing over a power-of-two table kept at most 70% occupied
 * (live keys plus tombstones); keys are scrambled with a multiplicative
 * hash so sequential keys spread out. A deleted key leaves a tombstone
 * that lookups probe past; growing the table drops tombstones.
 */
#ifndef SM_KEYMAP_H
#define SM_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#define SM_KEYMAP_EMPTY 0
#define SM_KEYMAP_LIVE 1
#define SM_KEYMAP_TOMB 2

struct sm_keymap {
	size_t cap;        /* slots, power of two */
	size_t len;        /* live keys */
	size_t occupied;   /* live keys + tombstones */
	uint64_t *keys;
	int64_t *vals;
	unsigned char *slot; /* SM_KEYMAP_EMPTY, _LIVE or _TOMB */
};

int sm_keymap_init(struct sm_keymap *m);
void sm_keymap_fini(struct sm_keymap *m);

/* sm_keymap_reserve makes room for n live keys without growing again. */
int sm_keymap_reserve(struct sm_keymap *m, size_t n);

/* sm_keymap_slot returns a pointer to the value of key, inserting 0 if the
 * key is absent; NULL only when growing the table failed. The pointer is
 * valid until the next insertion. */
int64_t *sm_keymap_slot(struct sm_keymap *m, uint64_t key);

/* sm_keymap_get: *val = value of key; SM_ENOTFOUND if absent. */
int sm_keymap_get(const struct sm_keymap *m, uint64_t key, int64_t *val);

/* sm_keymap_del removes key; SM_ENOTFOUND if it was absent. */
int sm_keymap_del(struct sm_keymap *m, uint64_t key);

/* Iterate: for (size_t i = 0; i < m->cap; i++)
 *              if (m->slot[i] == SM_KEYMAP_LIVE) ... */

#endif
