/*
 * wrong_symbol.c - a test plugin that exports its operator under another
 * name than the job asks for (snapmark_operator_v1_uppercase, asked for
 * as `operator = upper`), and a symbol the loader must never take for an
 * operator because it is hidden.
 */
#include <snapmark/snapmark.h>

static const struct snapmark_operator wrong_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "uppercase",
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_uppercase(void)
{
	return &wrong_operator;
}

/* Not exported (-fvisibility=hidden): dlsym cannot find it. */
const struct snapmark_operator *
snapmark_operator_v1_upper(void)
{
	return &wrong_operator;
}
