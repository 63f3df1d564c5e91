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
		/* The one place a user operator (sdk/plugin.h) is refused
		 * inside a task, until the runtime runs them. */
		sm_error("stage %s: operator %s (%s): user operators cannot "
		         "run yet",
		    ctx->job->stages[ctx->stage].name,
		    sm_job_operator_name(ctx->job, ctx->stage),
		    sm_job_library(ctx->job, ctx->stage));
		return SM_EINVAL;
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
