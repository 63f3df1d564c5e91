/*
 * keymap.h - the in-memory keyed state of the count operator: an
 * open-addressing hash map from uint64 key to int64 count.
 *
 * Linear probing over a power-of-two table kept at most 70% full; keys are
 * scrambled with a multiplicative hash so sequential keys spread out. No
 * deletion is needed by the built-in operators.
 */
#ifndef SM_KEYMAP_H
#define SM_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct sm_keymap {
	size_t cap;        /* slots, power of two */
	size_t len;        /* keys present */
	uint64_t *keys;
	int64_t *vals;
	unsigned char *used;
};

int sm_keymap_init(struct sm_keymap *m);
void sm_keymap_fini(struct sm_keymap *m);

/* sm_keymap_slot returns a pointer to the value of key, inserting 0 if the
 * key is new; NULL only when growing the table failed. */
int64_t *sm_keymap_slot(struct sm_keymap *m, uint64_t key);

/* sm_keymap_get: *val = value of key; SM_ENOTFOUND if absent. */
int sm_keymap_get(const struct sm_keymap *m, uint64_t key, int64_t *val);

/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->used[i]) ... */

#endif
