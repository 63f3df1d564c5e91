/*
 * op_passthrough.c - `passthrough` relays records unchanged (their bytes
 * and event time); `discard` drops them (a sink for measuring the data
 * plane). Both are stateless.
 */
#include "common/error.h"
#include "worker/operators/operator.h"

static int
passthrough_process(struct sm_op *op, const struct snapmark_record *recs,
    size_t n, struct sm_emitter *out)
{
	return out->emit_many(out, recs, n);
}

static int
discard_process(struct sm_op *op, const struct snapmark_record *recs,
    size_t n, struct sm_emitter *out)
{
	return SM_OK;
}

const struct sm_op_ops sm_op_passthrough = {
	.process = passthrough_process,
};

const struct sm_op_ops sm_op_discard = {
	.process = discard_process,
};
