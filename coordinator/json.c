/*
 * json.c - the JSON writer behind `snapmark --json`.
 *
 * It owns two things: correct JSON text (escaping, separators, nesting)
 * and the mapping of any protobuf-c message onto a JSON object through the
 * message descriptors, so a field added to snapmark.proto shows up in the
 * CLI's JSON output without touching the CLI. A generic library would do,
 * but the whole need is ~300 lines and one fewer dependency keeps the CLI
 * buildable from Debian packages alone.
 *
 * Numbers are formatted with the C locale's conventions; the CLI never
 * calls setlocale, so the decimal point is always '.'.
 */
#include "coordinator/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void
sm_json_init(struct sm_json *j)
{
	memset(j, 0, sizeof(*j));
}

void
sm_json_fini(struct sm_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static void
json_fail(struct sm_json *j, int err)
{
	if (j->err == SM_OK)
		j->err = err;
}

/* json_reserve makes room for n more bytes plus the terminating NUL. */
static int
json_reserve(struct sm_json *j, size_t n)
{
	if (j->err != SM_OK)
		return 0;
	if (n > SIZE_MAX / 2 - j->len - 1) {
		json_fail(j, SM_ENOMEM);
		return 0;
	}
	if (j->len + n + 1 <= j->cap)
		return 1;
	size_t cap = j->cap < 256 ? 256 : j->cap;
	while (cap < j->len + n + 1)
		cap *= 2;
	char *nbuf = realloc(j->buf, cap);
	if (nbuf == NULL) {
		json_fail(j, SM_ENOMEM);
		return 0;
	}
	j->buf = nbuf;
	j->cap = cap;
	return 1;
}

static void
json_put(struct sm_json *j, const char *s, size_t n)
{
	if (!json_reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void
json_puts(struct sm_json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

/*
 * json_before_value checks that a value may be written here and writes the
 * separator it needs. Returns 0 (having set the error) when it may not.
 */
static int
json_before_value(struct sm_json *j)
{
	if (j->err != SM_OK)
		return 0;
	if (j->depth == 0) {
		if (j->done) {
			json_fail(j, SM_EINVAL);
			return 0;
		}
		return 1;
	}
	int top = j->depth - 1;
	if (j->kind[top] == 'o') {
		if (!j->want_val) {
			json_fail(j, SM_EINVAL);
			return 0;
		}
		j->want_val = 0;
		return 1;
	}
	if (j->nonempty[top])
		json_put(j, ",", 1);
	j->nonempty[top] = 1;
	return j->err == SM_OK;
}

/* json_after_value marks the document complete after a top-level value. */
static void
json_after_value(struct sm_json *j)
{
	if (j->depth == 0 && j->err == SM_OK)
		j->done = 1;
}

static void
json_open(struct sm_json *j, char kind)
{
	if (!json_before_value(j))
		return;
	if (j->depth >= SM_JSON_MAX_DEPTH) {
		json_fail(j, SM_EINVAL);
		return;
	}
	json_put(j, kind == 'o' ? "{" : "[", 1);
	j->kind[j->depth] = kind;
	j->nonempty[j->depth] = 0;
	j->depth++;
}

static void
json_close(struct sm_json *j, char kind)
{
	if (j->err != SM_OK)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != kind || j->want_val) {
		json_fail(j, SM_EINVAL);
		return;
	}
	json_put(j, kind == 'o' ? "}" : "]", 1);
	j->depth--;
	json_after_value(j);
}

void
sm_json_object_begin(struct sm_json *j)
{
	json_open(j, 'o');
}

void
sm_json_object_end(struct sm_json *j)
{
	json_close(j, 'o');
}

void
sm_json_array_begin(struct sm_json *j)
{
	json_open(j, 'a');
}

void
sm_json_array_end(struct sm_json *j)
{
	json_close(j, 'a');
}

/*
 * json_utf8_len returns the length of the valid UTF-8 sequence at s (at
 * most n bytes available), or 0 if the bytes there are not valid UTF-8:
 * overlong forms, surrogates and code points above U+10FFFF are invalid.
 */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* json_quote writes s[0..n) as a quoted, escaped JSON string. */
static void
json_quote(struct sm_json *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0;

	json_put(j, "\"", 1);
	while (i < n && j->err == SM_OK) {
		/* Copy the longest run that needs no escaping in one go. */
		size_t run = i;
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\')
			run++;
		json_put(j, s + i, run - i);
		i = run;
		if (i >= n)
			break;

		unsigned char c = p[i];
		char esc[8];
		if (c >= 0x80) {
			size_t len = json_utf8_len(p + i, n - i);
			if (len == 0) {
				json_puts(j, "\\ufffd");
				i++;
			} else {
				json_put(j, s + i, len);
				i += len;
			}
			continue;
		}
		switch (c) {
		case '"':
			json_puts(j, "\\\"");
			break;
		case '\\':
			json_puts(j, "\\\\");
			break;
		case '\b':
			json_puts(j, "\\b");
			break;
		case '\f':
			json_puts(j, "\\f");
			break;
		case '\n':
			json_puts(j, "\\n");
			break;
		case '\r':
			json_puts(j, "\\r");
			break;
		case '\t':
			json_puts(j, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_puts(j, esc);
			break;
		}
		i++;
	}
	json_put(j, "\"", 1);
}

void
sm_json_key(struct sm_json *j, const char *key)
{
	if (j->err != SM_OK)
		return;
	int top = j->depth - 1;
	if (j->depth == 0 || j->kind[top] != 'o' || j->want_val ||
	    key == NULL) {
		json_fail(j, SM_EINVAL);
		return;
	}
	if (j->nonempty[top])
		json_put(j, ",", 1);
	j->nonempty[top] = 1;
	json_quote(j, key, strlen(key));
	json_put(j, ":", 1);
	j->want_val = 1;
}

void
sm_json_string_n(struct sm_json *j, const char *s, size_t n)
{
	if (!json_before_value(j))
		return;
	json_quote(j, s, n);
	json_after_value(j);
}

void
sm_json_string(struct sm_json *j, const char *s)
{
	if (s == NULL)
		sm_json_null(j);
	else
		sm_json_string_n(j, s, strlen(s));
}

/* json_raw writes an already formatted scalar token. */
static void
json_raw(struct sm_json *j, const char *tok)
{
	if (!json_before_value(j))
		return;
	json_puts(j, tok);
	json_after_value(j);
}

void
sm_json_uint(struct sm_json *j, uint64_t v)
{
	char tok[24];
	snprintf(tok, sizeof(tok), "%" PRIu64, v);
	json_raw(j, tok);
}

void
sm_json_int(struct sm_json *j, int64_t v)
{
	char tok[24];
	snprintf(tok, sizeof(tok), "%" PRId64, v);
	json_raw(j, tok);
}

void
sm_json_double(struct sm_json *j, double v)
{
	char tok[32];
	if (!isfinite(v)) {
		json_raw(j, "null");
		return;
	}
	/* The shortest of the two precisions that reads back exactly. */
	snprintf(tok, sizeof(tok), "%.15g", v);
	if (strtod(tok, NULL) != v)
		snprintf(tok, sizeof(tok), "%.17g", v);
	json_raw(j, tok);
}

void
sm_json_bool(struct sm_json *j, int v)
{
	json_raw(j, v ? "true" : "false");
}

void
sm_json_null(struct sm_json *j)
{
	json_raw(j, "null");
}

/* json_field_value writes one value of field f stored at p. */
static void
json_field_value(struct sm_json *j, const ProtobufCFieldDescriptor *f,
    const void *p)
{
	const ProtobufCEnumValue *ev;
	const ProtobufCBinaryData *bin;
	char hex[3];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		sm_json_int(j, *(const int32_t *) p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		sm_json_int(j, *(const int64_t *) p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		sm_json_uint(j, *(const uint32_t *) p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		sm_json_uint(j, *(const uint64_t *) p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		sm_json_double(j, *(const float *) p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		sm_json_double(j, *(const double *) p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		sm_json_bool(j, *(const protobuf_c_boolean *) p);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor,
		    *(const int *) p);
		if (ev != NULL)
			sm_json_string(j, ev->name);
		else
			sm_json_int(j, *(const int *) p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		sm_json_string(j, *(char *const *) p);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		bin = p;
		if (!json_before_value(j))
			break;
		json_put(j, "\"", 1);
		for (size_t i = 0; i < bin->len; i++) {
			snprintf(hex, sizeof(hex), "%02x", bin->data[i]);
			json_put(j, hex, 2);
		}
		json_put(j, "\"", 1);
		json_after_value(j);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *) p == NULL)
			sm_json_null(j);
		else
			sm_json_message(j, *(ProtobufCMessage *const *) p,
			    NULL);
		break;
	default:
		json_fail(j, SM_EINVAL);
		break;
	}
}

/* json_elem_size is the size of one element of a repeated field. */
static size_t
json_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* json_present tells whether a non-repeated field holds a value. */
static int
json_present(const ProtobufCFieldDescriptor *f, const char *base)
{
	const void *q = base + f->quantifier_offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *) q == f->id;
	if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return 1;
	if (f->type == PROTOBUF_C_TYPE_STRING ||
	    f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *) (base + f->offset) != NULL;
	return *(const protobuf_c_boolean *) q;
}

static int
json_skipped(const char *name, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++)
		if (strcmp(*skip, name) == 0)
			return 1;
	return 0;
}

void
sm_json_message(struct sm_json *j, const ProtobufCMessage *msg,
    const char *const *skip)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *base = (const char *) msg;

	sm_json_object_begin(j);
	for (unsigned i = 0; i < d->n_fields && j->err == SM_OK; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (json_skipped(f->name, skip))
			continue;
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (!json_present(f, base))
				continue;
			sm_json_key(j, f->name);
			json_field_value(j, f, base + f->offset);
			continue;
		}
		size_t n = *(const size_t *) (base + f->quantifier_offset);
		const char *arr = *(const char *const *) (base + f->offset);
		size_t sz = json_elem_size(f);
		sm_json_key(j, f->name);
		sm_json_array_begin(j);
		for (size_t k = 0; k < n && j->err == SM_OK; k++)
			json_field_value(j, f, arr + k * sz);
		sm_json_array_end(j);
	}
	sm_json_object_end(j);
}

int
sm_json_finish(struct sm_json *j, const char **out, size_t *len)
{
	if (j->err != SM_OK)
		return j->err;
	if (!j->done || j->buf == NULL)
		return SM_EINVAL;
	*out = j->buf;
	*len = j->len;
	return SM_OK;
}
