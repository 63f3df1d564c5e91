/*
 * tokenize.c - an example user operator: splits each record's value (a
 * line of text) into words, one record per whitespace-separated word:
 * key = the word, value empty, the event timestamp of the line kept.
 *
 * Option: lowercase = true | false (default true): ASCII letters of each
 * word are lowered, so "The" and "the" count as one word. Any other option
 * is refused, naming it. Stateless: it keeps nothing across records, so it
 * has no snapshot or restore. Built against <snapmark/snapmark.h> alone
 * (examples/plugins/meson.build; docs/SDK.md walks through this file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snapmark/snapmark.h>

/* The configuration: a value made once by configure, read by every open. */
struct tokenize_config {
	int lowercase;
};

/* One instance (one subtask): the configuration and a buffer for one
 * lowered word (records are read-only, so a lowered copy goes here). */
struct tokenize {
	int lowercase;
	char *word; /* SNAPMARK_MAX_BYTES */
};

/* The whitespace Python's bytes.split() splits on: ASCII blanks. */
static int
is_blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	    ch == '\v' || ch == '\f';
}

static int
tokenize_configure(const struct snapmark_option *options, size_t n,
    void **config, char *err, size_t errlen)
{
	struct tokenize_config *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	c->lowercase = 1;
	for (size_t i = 0; i < n; i++) {
		const char *k = options[i].key, *v = options[i].value;
		if (strcmp(k, "lowercase") != 0) {
			/* The message names the option first: the runtime
			 * reports the line of that option. */
			snprintf(err, errlen,
			    "unknown option '%s' (tokenize takes only "
			    "lowercase)", k);
			free(c);
			return SNAPMARK_INVALID;
		}
		if (strcmp(v, "true") == 0) {
			c->lowercase = 1;
		} else if (strcmp(v, "false") == 0) {
			c->lowercase = 0;
		} else {
			snprintf(err, errlen,
			    "lowercase must be true or false, not '%s'", v);
			free(c);
			return SNAPMARK_INVALID;
		}
	}
	*config = c;
	return SNAPMARK_OK;
}

static void
tokenize_free_config(void *config)
{
	free(config);
}

static int
tokenize_open(snapmark_ctx *ctx, const void *config, void **self)
{
	const struct tokenize_config *c = config;
	struct tokenize *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->word = malloc(SNAPMARK_MAX_BYTES)) == NULL) {
		free(t);
		return snapmark_fail(ctx, "out of memory");
	}
	t->lowercase = c->lowercase;
	*self = t;
	return SNAPMARK_OK;
}

/* emit_word sends one word on, lowered into t->word when asked to. */
static int
emit_word(struct tokenize *t, snapmark_ctx *ctx, const unsigned char *w,
    uint32_t len, int64_t timestamp)
{
	struct snapmark_record out = {
		.key = w,
		.key_len = len,
		.value = "",
		.value_len = 0,
		.timestamp = timestamp,
	};

	if (t->lowercase) {
		for (uint32_t i = 0; i < len; i++) {
			unsigned char ch = w[i];
			t->word[i] = (char) (ch >= 'A' && ch <= 'Z' ?
			    ch - 'A' + 'a' : ch);
		}
		out.key = t->word;
	}
	return snapmark_emit(ctx, &out);
}

static int
tokenize_process(void *self, snapmark_ctx *ctx,
    const struct snapmark_record *records, size_t n)
{
	struct tokenize *t = self;

	for (size_t r = 0; r < n; r++) {
		const unsigned char *v = records[r].value;
		uint32_t len = records[r].value_len, i = 0;
		while (i < len) {
			while (i < len && is_blank(v[i]))
				i++;
			uint32_t start = i;
			while (i < len && !is_blank(v[i]))
				i++;
			if (i == start)
				continue;
			int rv = emit_word(t, ctx, v + start, i - start,
			    records[r].timestamp);
			if (rv != SNAPMARK_OK)
				return rv;
		}
	}
	return SNAPMARK_OK;
}

static void
tokenize_close(void *self, snapmark_ctx *ctx)
{
	struct tokenize *t = self;

	(void) ctx;
	if (t != NULL)
		free(t->word);
	free(t);
}

static const struct snapmark_operator tokenize_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "tokenize",
	.configure = tokenize_configure,
	.free_config = tokenize_free_config,
	.open = tokenize_open,
	.process = tokenize_process,
	.close = tokenize_close,
};

/* The entry point `operator = tokenize` resolves: the only exported
 * symbol of the library (everything else is static, and the build hides
 * the rest with -fvisibility=hidden). */
SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_tokenize(void)
{
	return &tokenize_operator;
}
