/*
 * operator.c - choosing and owning operator instances, and saying why one
 * failed.
 */
#include "worker/operators/operator.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/log.h"

int
sm_operator_open(const struct sm_op_ctx *ctx, struct sm_op **out)
{
	const struct sm_op_ops *ops = NULL;
	switch (ctx->job->stages[ctx->stage].op) {
	case SM_OP_GEN:
		ops = &sm_op_gen;
		break;
	case SM_OP_PASSTHROUGH:
		ops = &sm_op_passthrough;
		break;
	case SM_OP_COUNT:
		ops = &sm_op_count;
		break;
	case SM_OP_FILE_SINK:
		ops = &sm_op_file_sink;
		break;
	case SM_OP_DISCARD:
		ops = &sm_op_discard;
		break;
	case SM_OP_USER:
		ops = &sm_op_sdk;
		break;
	}
	if (ops == NULL)
		return SM_EINVAL;
	struct sm_op *op = calloc(1, sizeof(*op));
	if (op == NULL)
		return SM_ENOMEM;
	op->ops = ops;
	op->ctx = *ctx;
	int rv = ops->open != NULL ? ops->open(op) : SM_OK;
	if (rv != SM_OK) {
		if (ctx->why != NULL && ctx->whylen > 0)
			snprintf(ctx->why, ctx->whylen, "%s", op->why);
		free(op);
		return rv;
	}
	*out = op;
	return SM_OK;
}

void
sm_operator_close(struct sm_op *op)
{
	if (op == NULL)
		return;
	if (op->ops->close != NULL)
		op->ops->close(op);
	free(op);
}

int
sm_op_fail(struct sm_op *op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->why, sizeof(op->why), fmt, ap);
	va_end(ap);
	return SM_EINVAL;
}
