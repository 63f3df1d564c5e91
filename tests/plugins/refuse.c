/*
 * refuse.c - a test plugin whose configure refuses every configuration.
 * Its message names no option but says on which lines its options were,
 * so a test sees that the runtime passed each option's line.
 */
#include <stdio.h>

#include <snapmark/snapmark.h>

static int
refuse_configure(const struct snapmark_option *options, size_t n,
    void **config, char *err, size_t errlen)
{
	size_t len;

	(void) config;
	len = (size_t) snprintf(err, errlen,
	    "refuses every configuration (%zu options, on lines", n);
	for (size_t i = 0; i < n && len < errlen; i++)
		len += (size_t) snprintf(err + len, errlen - len, " %d",
		    options[i].line);
	if (len < errlen)
		snprintf(err + len, errlen - len, ")");
	return SNAPMARK_INVALID;
}

static int
refuse_process(void *self, snapmark_ctx *ctx,
    const struct snapmark_record *records, size_t n)
{
	(void) self;
	(void) records;
	(void) n;
	return snapmark_fail(ctx, "never configured");
}

static const struct snapmark_operator refuse_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "refuse",
	.configure = refuse_configure,
	.process = refuse_process,
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_refuse(void)
{
	return &refuse_operator;
}
