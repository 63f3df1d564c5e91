/*
 * op_count.c - keyed running count: the state that grows.
 *
 * Counts records per key of the key groups this subtask owns; when every
 * input has ended it emits one record (key, count) per key, in key order.
 * The state lives in a change-tracked kvstate, so a snapshot hands over
 * only the keys counted since the previous one. A key is any byte string
 * (gen's are 8 bytes big-endian, so byte order is numeric order); each
 * count is a counter (SM_STATE_COUNT) filed under the key's group
 * (common/keygroup.h). The count goes out as decimal text in the value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/keygroup.h"
#include "common/store.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"

struct count_state {
	struct sm_kvstate kv;
	int max_parallelism;
};

static int
count_open(struct sm_op *op)
{
	struct count_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SM_ENOMEM;
	if (sm_kvstate_init(&s->kv) != SM_OK) {
		free(s);
		return SM_ENOMEM;
	}
	s->max_parallelism =
	    op->ctx.job->stages[op->ctx.stage].max_parallelism;
	op->impl = s;
	return SM_OK;
}

static int
count_process(struct sm_op *op, const struct snapmark_record *recs,
    size_t n, struct sm_emitter *out)
{
	/* A pipeline over the batch (kvstate.h, batches): record i's slots
	 * start loading at step i, its entries at step i + AHEAD, and it is
	 * counted at step i + 2 * AHEAD, so the cache misses of a few
	 * records overlap. */
	enum { AHEAD = 4, RING = 4 * AHEAD };
	struct count_state *s = op->impl;
	uint64_t hash[RING];
	uint32_t kg[RING];
	for (size_t i = 0; i < n + 2 * AHEAD; i++) {
		if (i < n) {
			size_t r = i % RING;
			kg[r] = (uint32_t) sm_key_group_bytes(recs[i].key,
			    recs[i].key_len, s->max_parallelism);
			hash[r] = sm_kvstate_hash(SM_STATE_COUNT, recs[i].key,
			    recs[i].key_len);
			sm_kvstate_prefetch(&s->kv, hash[r]);
		}
		if (i >= AHEAD && i - AHEAD < n)
			sm_kvstate_prefetch_entry(&s->kv,
			    hash[(i - AHEAD) % RING]);
		if (i >= 2 * AHEAD && i - 2 * AHEAD < n) {
			size_t k = i - 2 * AHEAD, r = k % RING;
			int rv = sm_kvstate_add_h(&s->kv, hash[r],
			    SM_STATE_COUNT, recs[k].key, recs[k].key_len, kg[r],
			    1, NULL);
			if (rv != SM_OK)
				return rv;
		}
	}
	return SM_OK;
}

static int
count_end_input(struct sm_op *op, struct sm_emitter *out)
{
	struct count_state *s = op->impl;
	struct sm_state_entry *e;
	size_t n;
	int rv = sm_state_entries_of(&s->kv.live, &e, &n);
	if (rv != SM_OK)
		return rv;
	for (size_t i = 0; i < n && rv == SM_OK; i++) {
		if (e[i].state != SM_STATE_COUNT || e[i].value_len != 8)
			continue;
		char count[24];
		int len = snprintf(count, sizeof(count), "%" PRId64,
		    sm_counter_get(e[i].value));
		struct snapmark_record r = { .key = e[i].key,
			.key_len = e[i].key_len,
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
	struct count_state *s = op->impl;
	return sm_kvstate_snapshot(&s->kv, out);
}

static void
count_snapshot_release(struct sm_op *op, struct sm_snapshot_data *d)
{
	sm_kvstate_snapshot_release(d);
}

static int
count_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	/* What was restored is already in the snapshot chain: not a change. */
	struct count_state *s = op->impl;
	return sm_kvstate_load(&s->kv, in->entries, in->n_entries);
}

static void
count_close(struct sm_op *op)
{
	struct count_state *s = op->impl;
	sm_kvstate_fini(&s->kv);
	free(s);
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
