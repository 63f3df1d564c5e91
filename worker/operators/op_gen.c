/*
 * op_gen.c - the `gen` source: deterministic, replayable records.
 *
 * Record `seq` of subtask `s` is a pure function of (seed, s, seq), so the
 * source's whole state is the next seq to emit: a restore rewinds to the
 * snapshotted offset and re-emits exactly the same records. Tests compute
 * the expected output with an independent implementation of this function.
 *
 *   mix(z)  = splitmix64 finalizer
 *   r       = mix(mix(seed ^ ((s + 1) * 0x9E3779B97F4A7C15)) + seq)
 *   key     = r % keys
 *   value   = r >> 40
 *
 * As bytes (operator.h, sm_gen_encode): the key as 8 bytes big-endian, the
 * value as 20 bytes big-endian (u32 subtask, u64 seq, i64 value), event
 * time = seq. After each batch the source announces its watermark: the
 * highest event time emitted so far.
 *
 * Tests only: with SNAPMARK_DEBUG_GEN_HOLD=PATH in the environment, a
 * bounded gen holds back its last record until PATH exists, so a test can
 * inject a fault into a running job without racing the job's end however
 * slow the machine is (it creates PATH once the fault is done). Meant for
 * jobs with a `rate`: a held source is then polled once a millisecond.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "worker/operators/operator.h"

struct gen {
	uint64_t seed, keys, records, rate;
	uint64_t stream;      /* mix(seed ^ ...): per-subtask constant */
	uint64_t next_seq;
	uint64_t rate_start_us;
	uint64_t rate_start_seq;
	char *hold_path; /* SNAPMARK_DEBUG_GEN_HOLD, NULL once released */
};

void
sm_gen_record(uint64_t seed, uint64_t keys, uint32_t subtask, uint64_t seq,
    uint64_t *key, int64_t *value)
{
	uint64_t stream = sm_mix64(seed ^ ((uint64_t) (subtask + 1) *
	                                     0x9E3779B97F4A7C15u));
	uint64_t r = sm_mix64(stream + seq);
	*key = r % keys;
	*value = (int64_t) (r >> 40);
}

void
sm_gen_encode(uint32_t subtask, uint64_t seq, uint64_t key, int64_t value,
    uint8_t key_out[SM_GEN_KEY_BYTES], uint8_t value_out[SM_GEN_VALUE_BYTES])
{
	sm_put_be64(key_out, key);
	for (int i = 3; i >= 0; i--, subtask >>= 8)
		value_out[i] = (uint8_t) subtask;
	sm_put_be64(value_out + 4, seq);
	sm_put_be64(value_out + 12, (uint64_t) value);
}

int
sm_gen_decode(const struct snapmark_record *r, uint32_t *subtask,
    uint64_t *seq, uint64_t *key, int64_t *value)
{
	if (r->key_len != SM_GEN_KEY_BYTES ||
	    r->value_len != SM_GEN_VALUE_BYTES)
		return SM_EINVAL;
	const uint8_t *v = r->value;
	*key = sm_get_be64(r->key);
	*subtask = (uint32_t) v[0] << 24 | (uint32_t) v[1] << 16 |
	    (uint32_t) v[2] << 8 | v[3];
	*seq = sm_get_be64(v + 4);
	*value = (int64_t) sm_get_be64(v + 12);
	return SM_OK;
}

static int
gen_open(struct sm_op *op)
{
	const struct sm_job_stage *st = &op->ctx.job->stages[op->ctx.stage];
	struct gen *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return SM_ENOMEM;
	g->seed = st->seed;
	g->keys = st->keys > 0 ? st->keys : 1;
	g->records = st->records;
	g->rate = st->rate;
	g->stream = sm_mix64(g->seed ^ ((uint64_t) (op->ctx.subtask + 1) *
	                                  0x9E3779B97F4A7C15u));
	g->rate_start_us = sm_now_us();
	const char *hold = getenv("SNAPMARK_DEBUG_GEN_HOLD");
	if (hold != NULL && hold[0] != '\0' &&
	    (g->hold_path = strdup(hold)) == NULL) {
		free(g);
		return SM_ENOMEM;
	}
	op->impl = g;
	return SM_OK;
}

static int
gen_generate(struct sm_op *op, struct sm_emitter *out, size_t max,
    size_t *produced, int *done)
{
	struct gen *g = op->impl;
	size_t n = max;
	if (g->records > 0 && g->next_seq + n > g->records)
		n = (size_t) (g->records - g->next_seq);
	if (g->hold_path != NULL && g->records > 0 &&
	    g->next_seq + n >= g->records) {
		if (access(g->hold_path, F_OK) == 0) {
			free(g->hold_path);
			g->hold_path = NULL;
		} else {
			n = g->next_seq + 1 < g->records
			    ? (size_t) (g->records - 1 - g->next_seq)
			    : 0;
		}
	}
	if (g->rate > 0) {
		/* Emit no more than rate * elapsed since the rate window
		 * began (restarted at open and restore). */
		uint64_t elapsed = sm_now_us() - g->rate_start_us;
		uint64_t allowed = g->rate_start_seq +
		    elapsed * g->rate / 1000000u;
		uint64_t room = allowed > g->next_seq ? allowed - g->next_seq
		                                      : 0;
		if (room < n)
			n = (size_t) room;
	}
	enum { RUN = 256 };
	struct snapmark_record r[RUN];
	uint8_t keys[RUN][SM_GEN_KEY_BYTES], values[RUN][SM_GEN_VALUE_BYTES];
	size_t done_n = 0;
	while (done_n < n) {
		size_t k = n - done_n < RUN ? n - done_n : RUN;
		for (size_t i = 0; i < k; i++) {
			uint64_t seq = g->next_seq + i;
			uint64_t x = sm_mix64(g->stream + seq);
			sm_gen_encode((uint32_t) op->ctx.subtask, seq,
			    x % g->keys, (int64_t) (x >> 40), keys[i],
			    values[i]);
			r[i] = (struct snapmark_record) { .key = keys[i],
				.key_len = SM_GEN_KEY_BYTES,
				.value = values[i],
				.value_len = SM_GEN_VALUE_BYTES,
				.timestamp = (int64_t) seq };
		}
		int rv = out->emit_many(out, r, k);
		if (rv != SM_OK)
			return rv;
		g->next_seq += k;
		done_n += k;
	}
	*produced = done_n;
	if (done_n > 0) {
		int rv = out->watermark(out, (int64_t) (g->next_seq - 1));
		if (rv != SM_OK)
			return rv;
	}
	*done = g->records > 0 && g->next_seq >= g->records;
	return SM_OK;
}

static int
gen_snapshot(struct sm_op *op, uint64_t checkpoint_id,
    struct sm_snapshot_data *out)
{
	struct gen *g = op->impl;
	out->has_source_offset = 1;
	out->source_next_seq = g->next_seq;
	return SM_OK;
}

static int
gen_restore(struct sm_op *op, uint64_t checkpoint_id,
    const struct sm_snapshot_data *in)
{
	struct gen *g = op->impl;
	if (!in->has_source_offset)
		return SM_ECORRUPT;
	g->next_seq = in->source_next_seq;
	g->rate_start_us = sm_now_us();
	g->rate_start_seq = g->next_seq;
	return SM_OK;
}

static void
gen_close(struct sm_op *op)
{
	struct gen *g = op->impl;
	if (g != NULL)
		free(g->hold_path);
	free(g);
}

const struct sm_op_ops sm_op_gen = {
	.open = gen_open,
	.generate = gen_generate,
	.snapshot = gen_snapshot,
	.restore = gen_restore,
	.close = gen_close,
};
