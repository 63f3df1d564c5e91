/*
 * bad_version.c - a test plugin built for an API version this runtime
 * does not implement (999).
 */
#include <snapmark/snapmark.h>

static const struct snapmark_operator bad_version_operator = {
	.api_version = 999,
	.size = sizeof(struct snapmark_operator),
	.name = "bad_version",
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_bad_version(void)
{
	return &bad_version_operator;
}
