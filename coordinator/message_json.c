/*
 * message_json.c - protobuf-c messages as JSON documents (jansson).
 *
 * It owns the mapping of any protobuf-c message onto a JSON object through
 * the message descriptors, so a field added to snapmark.proto shows up in
 * the CLI's --json output and in the HTTP API without touching either.
 * Encoding itself (escaping, separators, numbers) is jansson's; this file
 * adds the two things jansson does not do the way the documents need:
 * strings from peers are made valid UTF-8 first (jansson refuses invalid
 * UTF-8 rather than replacing it), unsigned 64-bit values above
 * INT64_MAX, which jansson's integers (long long) cannot hold, become the
 * nearest floating-point number instead of a negative one, and a double
 * holding a whole number is written as one.
 */
#include "coordinator/message_json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

json_t *
sm_json_text(const char *s)
{
	static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *) s;
	size_t n, i, bad = 0;

	if (s == NULL)
		return json_null();
	n = strlen(s);
	for (i = 0; i < n;) {
		size_t len = json_utf8_len(p + i, n - i);
		bad += len == 0;
		i += len == 0 ? 1 : len;
	}
	if (bad == 0)
		return json_stringn(s, n);

	/* Each invalid byte (1) becomes three. */
	char *clean = malloc(n + 2 * bad + 1);
	size_t k = 0;
	if (clean == NULL)
		return NULL;
	for (i = 0; i < n;) {
		size_t len = json_utf8_len(p + i, n - i);
		if (len == 0) {
			memcpy(clean + k, replacement, 3);
			k += 3;
			i++;
		} else {
			memcpy(clean + k, s + i, len);
			k += len;
			i += len;
		}
	}
	json_t *v = json_stringn(clean, k);
	free(clean);
	return v;
}

json_t *
sm_json_uint(uint64_t v)
{
	if (v > (uint64_t) INT64_MAX)
		return json_real((double) v);
	return json_integer((json_int_t) v);
}

/* A whole number is written as an integer ("0", not jansson's "0.0"), as
 * these documents always have; non-finite values, which JSON cannot
 * express, as null. */
static json_t *
json_double(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == trunc(v) && fabs(v) <= 9007199254740992.0) /* 2^53 */
		return json_integer((json_int_t) v);
	return json_real(v);
}

static json_t *
json_hex(const ProtobufCBinaryData *bin)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(bin->len * 2 + 1);
	if (hex == NULL)
		return NULL;
	for (size_t i = 0; i < bin->len; i++) {
		hex[2 * i] = digits[bin->data[i] >> 4];
		hex[2 * i + 1] = digits[bin->data[i] & 0xF];
	}
	json_t *v = json_stringn(hex, bin->len * 2);
	free(hex);
	return v;
}

/* json_field_value returns one value of field f stored at p. */
static json_t *
json_field_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	const ProtobufCEnumValue *ev;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *) p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *) p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *) p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sm_json_uint(*(const uint64_t *) p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_double(*(const float *) p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_double(*(const double *) p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) p);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor,
		    *(const int *) p);
		return ev != NULL ? json_string(ev->name)
		                  : json_integer(*(const int *) p);
	case PROTOBUF_C_TYPE_STRING:
		return sm_json_text(*(char *const *) p);
	case PROTOBUF_C_TYPE_BYTES:
		return json_hex(p);
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *) p == NULL)
			return json_null();
		return sm_json_message(*(ProtobufCMessage *const *) p, NULL);
	}
	return NULL;
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

/* json_repeated returns the array of repeated field f of the message. */
static json_t *
json_repeated(const ProtobufCFieldDescriptor *f, const char *base)
{
	size_t n = *(const size_t *) (base + f->quantifier_offset);
	const char *arr = *(const char *const *) (base + f->offset);
	size_t sz = json_elem_size(f);
	json_t *a = json_array();

	for (size_t k = 0; k < n && a != NULL; k++) {
		if (json_array_append_new(a,
		        json_field_value(f, arr + k * sz)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

json_t *
sm_json_message(const ProtobufCMessage *msg, const char *const *skip)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *base = (const char *) msg;
	json_t *o = json_object();

	for (unsigned i = 0; i < d->n_fields && o != NULL; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;
		if (json_skipped(f->name, skip))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			v = json_repeated(f, base);
		else if (json_present(f, base))
			v = json_field_value(f, base + f->offset);
		else
			continue;
		/* _new takes v, also when it fails (v NULL included). */
		if (json_object_set_new(o, f->name, v) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *
sm_json_checkpoint_list(Snapmark__CheckpointRecord *const *recs, size_t n)
{
	static const char *const skip[] = { "tasks", NULL };
	json_t *list = json_array();

	for (size_t i = 0; i < n && list != NULL; i++) {
		if (json_array_append_new(list,
		        sm_json_message(&recs[i]->base, skip)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (list == NULL)
		return NULL;
	json_t *doc = json_object();
	if (doc != NULL &&
	    json_object_set_new(doc, "checkpoints", list) != 0) {
		json_decref(doc);
		doc = NULL;
	} else if (doc == NULL) {
		json_decref(list);
	}
	return doc;
}

char *
sm_json_dump(const json_t *doc)
{
	/* 17 significant digits: every double reads back exactly. */
	return json_dumps(doc,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) |
	        JSON_ENCODE_ANY);
}
