/*
 * op_count.c - keyed running count: the state that grows.
 *
 * Counts records per key of the key groups this subtask owns; when every
 * input has ended it emits one record (key, count) per key, in key order.
 * A snapshot is the sorted list of (key, count) entries.
 */
#include <stdlib.h>

#include "error.h"
#include "keymap.h"
#include "operator.h"

struct count {
	struct sm_keymap map;
};

static int
count_open(struct sm_op *op)
{
	struct count *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SM_ENOMEM;
	if (sm_keymap_init(&c->map) != SM_OK) {
		free(c);
		return SM_ENOMEM;
	}
	op->impl = c;
	return SM_OK;
}

static int
count_process(struct sm_op *op, const struct sm_record *recs,
    size_t n, struct sm_emitter *out)
{
	struct count *c = op->impl;
	for (size_t i = 0; i < n; i++) {
		int64_t *slot = sm_keymap_slot(&c->map, recs[i].key);
		if (slot == NULL)
			return SM_ENOMEM;
		(*slot)++;
	}
	return SM_OK;
}

static int
entry_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct sm_state_entry *) a)->key;
	uint64_t y = ((const struct sm_state_entry *) b)->key;
	return x < y ? -1 : x > y;
}

/* count_sorted returns the state as entries sorted by key (malloc'ed). */
static int
count_sorted(struct count *c, struct sm_state_entry **out, size_t *n)
{
	struct sm_state_entry *e = malloc((c->map.len + 1) * sizeof(*e));
	if (e == NULL)
		return SM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->map.cap; i++)
		if (c->map.used[i]) {
			e[k].key = c->map.keys[i];
			e[k].count = c->map.vals[i];
			k++;
		}
	qsort(e, k, sizeof(*e), entry_cmp);
	*out = e;
	*n = k;
	return SM_OK;
}

static int
count_end_input(struct sm_op *op, struct sm_emitter *out)
{
	struct sm_state_entry *e;
	size_t n;
	int rv = count_sorted(op->impl, &e, &n);
	if (rv != SM_OK)
		return rv;
	for (size_t i = 0; i < n && rv == SM_OK; i++) {
		struct sm_record r = { .subtask = (uint32_t) op->ctx.subtask,
			.seq = i, .key = e[i].key, .value = e[i].count };
		rv = out->emit(out, &r);
	}
	free(e);
	return rv;
}

static int
count_snapshot(struct sm_op *op, uint64_t checkpoint_id,
    struct sm_snapshot_data *out)
{
	return count_sorted(op->impl, &out->entries, &out->n_entries);
}

static void
count_snapshot_release(struct sm_op *op, struct sm_snapshot_data *d)
{
	free(d->entries);
	d->entries = NULL;
	d->n_entries = 0;
}

static int
count_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	struct count *c = op->impl;
	for (size_t i = 0; i < in->n_entries; i++) {
		int64_t *slot = sm_keymap_slot(&c->map, in->entries[i].key);
		if (slot == NULL)
			return SM_ENOMEM;
		*slot = in->entries[i].count;
	}
	return SM_OK;
}

static void
count_close(struct sm_op *op)
{
	struct count *c = op->impl;
	sm_keymap_fini(&c->map);
	free(c);
}

const struct sm_op_ops sm_op_count = {
	.open = count_open,
	.process = count_process,
	.end_input = count_end_input,
	.snapshot = count_snapshot,
	.snapshot_release = count_snapshot_release,
	.restore = count_restore,
	.close = count_close,
};
