/*
 * op_count.c - keyed running count: the state that grows.
 *
 * Counts records per key of the key groups this subtask owns; when every
 * input has ended it emits one record per key, in key order: the key's
 * bytes, and the count as decimal text. The state lives in a
 * change-tracked kvstate, so a snapshot hands over only the keys counted
 * since the previous one.
 *
 * For now the keyed state holds u64 keys: a record's key must be 8 bytes,
 * a big-endian u64 (gen's keys); any other key fails the task.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"

static int
count_open(struct sm_op *op)
{
	struct sm_kvstate *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	if (sm_kvstate_init(s) != SM_OK) {
		free(s);
		return SM_ENOMEM;
	}
	op->impl = s;
	return SM_OK;
}

static int
count_process(struct sm_op *op, const struct snapmark_record *recs,
    size_t n, struct sm_emitter *out)
{
	struct sm_kvstate *s = op->impl;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].key_len != 8)
			return sm_op_fail(op,
			    "count: a record's key is %" PRIu32 " bytes; count "
			    "takes 8-byte keys (a big-endian u64) for now",
			    recs[i].key_len);
		int rv = sm_kvstate_add(s, sm_get_be64(recs[i].key), 1);
		if (rv != SM_OK)
			return rv;
	}
	return SM_OK;
}

static int
count_end_input(struct sm_op *op, struct sm_emitter *out)
{
	struct sm_kvstate *s = op->impl;
	struct sm_state_entry *e;
	size_t n;
	int rv = sm_state_entries_of(&s->live, &e, &n);
	if (rv != SM_OK)
		return rv;
	for (size_t i = 0; i < n && rv == SM_OK; i++) {
		uint8_t key[8];
		char count[24];
		sm_put_be64(key, e[i].key);
		int len = snprintf(count, sizeof(count), "%" PRId64,
		    e[i].count);
		struct snapmark_record r = { .key = key,
			.key_len = sizeof(key),
			.value = count,
			.value_len = (uint32_t) len,
			.timestamp = SNAPMARK_NO_TIME };
		rv = out->emit(out, &r);
	}
	free(e);
	return rv;
}

static int
count_snapshot(struct sm_op *op, uint64_t checkpoint_id,
    struct sm_snapshot_data *out)
{
	out->incremental = 1;
	out->unsorted = 1;
	out->full_entries = sm_kvstate_len(op->impl);
	return sm_kvstate_take_delta(op->impl, &out->delta);
}

static void
count_snapshot_release(struct sm_op *op, struct sm_snapshot_data *d)
{
	free(d->entries);
	d->entries = NULL;
	d->n_entries = 0;
	sm_kvdelta_free(d->delta);
	d->delta = NULL;
}

static int
count_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	/* What was restored is already in the snapshot chain: not a change. */
	return sm_kvstate_load(op->impl, in->entries, in->n_entries);
}

static void
count_close(struct sm_op *op)
{
	sm_kvstate_fini(op->impl);
	free(op->impl);
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
