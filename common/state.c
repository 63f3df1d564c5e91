/*
 * state.c - the small helpers of the snapshot types (state.h): entry
 * order, state ids, the byte arena entries point into, operator-state
 * items.
 */
#include "common/state.h"

#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"
#include "common/error.h"
#include "snapmark/snapmark.h"

/* The runtime's bound is the one the public API promises. */
_Static_assert(SM_STATE_MAX_BYTES == SNAPMARK_MAX_BYTES,
    "SM_STATE_MAX_BYTES must equal SNAPMARK_MAX_BYTES");

int
sm_state_entry_cmp(const struct sm_state_entry *a,
    const struct sm_state_entry *b)
{
	if (a->state != b->state)
		return a->state < b->state ? -1 : 1;
	uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = n ? memcmp(a->key, b->key, n) : 0;
	if (c != 0)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

int
sm_state_id(const char *name, uint32_t *id)
{
	uint32_t crc = sm_crc32c(0, name, strlen(name));
	if (crc >= SM_STATE_RESERVED)
		return SM_EINVAL;
	*id = crc;
	return SM_OK;
}

#define ARENA_BLOCK (1u << 20)

unsigned char *
sm_state_arena_alloc(struct sm_state_arena **a, size_t n)
{
	struct sm_state_arena *b = *a;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = *a;
		*a = b;
	}
	unsigned char *p = b->bytes + b->used;
	b->used += n;
	return p;
}

void
sm_state_arena_join(struct sm_state_arena **dst, struct sm_state_arena **src)
{
	struct sm_state_arena *s = *src;
	if (s == NULL)
		return;
	struct sm_state_arena *last = s;
	while (last->next != NULL)
		last = last->next;
	/* The source's blocks go behind the head, which stays the block
	 * being filled. */
	if (*dst == NULL) {
		*dst = s;
	} else {
		last->next = (*dst)->next;
		(*dst)->next = s;
	}
	*src = NULL;
}

void
sm_state_arena_free(struct sm_state_arena *a)
{
	while (a != NULL) {
		struct sm_state_arena *n = a->next;
		free(a);
		a = n;
	}
}

int
sm_snapshot_data_copy_pending(struct sm_snapshot_data *d,
    char *const *names, const uint64_t *ids, size_t n)
{
	if (n == 0)
		return SM_OK;
	d->pending = calloc(n, sizeof(char *));
	d->pending_id = calloc(n, sizeof(uint64_t));
	if (d->pending == NULL || d->pending_id == NULL)
		return SM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((d->pending[i] = strdup(names[i])) == NULL)
			return SM_ENOMEM;
		d->pending_id[i] = ids[i];
		d->n_pending++;
	}
	return SM_OK;
}

int
sm_snapshot_data_add_item(struct sm_snapshot_data *d, const void *item,
    uint32_t len)
{
	if (len > SM_STATE_MAX_BYTES || d->n_op_state >= SM_STATE_MAX_ITEMS)
		return SM_EINVAL;
	struct sm_state_item *p = realloc(d->op_state,
	    (d->n_op_state + 1) * sizeof(*p));
	if (p == NULL)
		return SM_ENOMEM;
	d->op_state = p;
	unsigned char *copy = malloc(len + 1u);
	if (copy == NULL)
		return SM_ENOMEM;
	if (len > 0)
		memcpy(copy, item, len);
	p[d->n_op_state++] = (struct sm_state_item) { copy, len };
	return SM_OK;
}
