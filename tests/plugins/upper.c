/*
 * upper.c - a test plugin (and the smallest useful operator): changes the
 * case of every record's value. Options: mode = upper (the default) or
 * lower; anything else is refused naming the option. Built against
 * include/ alone, with -fvisibility=hidden, as a user builds one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snapmark/snapmark.h>

struct upper_config {
	int lower;
};

struct upper {
	int lower;
	char *buf; /* SNAPMARK_MAX_BYTES: one value at a time */
};

static int
upper_configure(const struct snapmark_option *options, size_t n, void **config,
    char *err, size_t errlen)
{
	struct upper_config *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(options[i].key, "mode") != 0) {
			snprintf(err, errlen,
			    "unknown option '%s' (expected mode)",
			    options[i].key);
			free(c);
			return SNAPMARK_INVALID;
		}
		if (strcmp(options[i].value, "upper") == 0) {
			c->lower = 0;
		} else if (strcmp(options[i].value, "lower") == 0) {
			c->lower = 1;
		} else {
			snprintf(err, errlen,
			    "mode must be upper or lower, not '%s'",
			    options[i].value);
			free(c);
			return SNAPMARK_INVALID;
		}
	}
	*config = c;
	return SNAPMARK_OK;
}

static void
upper_free_config(void *config)
{
	free(config);
}

static int
upper_open(snapmark_ctx *ctx, const void *config, void **self)
{
	const struct upper_config *c = config;
	struct upper *u = calloc(1, sizeof(*u));

	if (u == NULL || (u->buf = malloc(SNAPMARK_MAX_BYTES)) == NULL) {
		free(u);
		return snapmark_fail(ctx, "out of memory");
	}
	u->lower = c->lower;
	*self = u;
	return SNAPMARK_OK;
}

static int
upper_process(void *self, snapmark_ctx *ctx,
    const struct snapmark_record *records, size_t n)
{
	struct upper *u = self;

	for (size_t i = 0; i < n; i++) {
		struct snapmark_record r = records[i];
		const char *v = r.value;
		for (uint32_t k = 0; k < r.value_len; k++) {
			char ch = v[k];
			if (u->lower && ch >= 'A' && ch <= 'Z')
				ch = (char) (ch - 'A' + 'a');
			else if (!u->lower && ch >= 'a' && ch <= 'z')
				ch = (char) (ch - 'a' + 'A');
			u->buf[k] = ch;
		}
		r.value = u->buf;
		int rv = snapmark_emit(ctx, &r);
		if (rv != SNAPMARK_OK)
			return rv;
	}
	return SNAPMARK_OK;
}

static void
upper_close(void *self, snapmark_ctx *ctx)
{
	struct upper *u = self;

	(void) ctx;
	if (u != NULL)
		free(u->buf);
	free(u);
}

static const struct snapmark_operator upper_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "upper",
	.configure = upper_configure,
	.free_config = upper_free_config,
	.open = upper_open,
	.process = upper_process,
	.close = upper_close,
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_upper(void)
{
	return &upper_operator;
}
