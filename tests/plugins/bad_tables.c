/*
 * bad_tables.c - a test plugin of operator tables the loader must refuse:
 * too small, named otherwise than its symbol, unknown flags, a source
 * without produce, no table at all. Also one minimal good source (gen-like
 * counter) for the source/non-source checks of a job.
 */
#include <stddef.h>

#include <snapmark/snapmark.h>

static const struct snapmark_operator small_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = 16,
	.name = "small",
};

static const struct snapmark_operator misnamed_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "other",
};

static const struct snapmark_operator flagged_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "flagged",
	.flags = 0x80,
};

static const struct snapmark_operator dry_source_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "dry_source",
	.flags = SNAPMARK_SOURCE,
};

static int
ticks_produce(void *self, snapmark_ctx *ctx, size_t max, int *done)
{
	(void) self;
	(void) ctx;
	(void) max;
	*done = 1;
	return SNAPMARK_OK;
}

static const struct snapmark_operator ticks_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "ticks",
	.flags = SNAPMARK_SOURCE,
	.produce = ticks_produce,
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_small(void)
{
	return &small_operator;
}

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_misnamed(void)
{
	return &misnamed_operator;
}

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_flagged(void)
{
	return &flagged_operator;
}

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_dry_source(void)
{
	return &dry_source_operator;
}

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_ticks(void)
{
	return &ticks_operator;
}

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_null(void)
{
	return NULL;
}
