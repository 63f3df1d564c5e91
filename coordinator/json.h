/*
 * json.h - a small JSON writer for the `snapmark` CLI's --json output.
 *
 * The writer appends to a growing in-memory buffer, so the CLI prints a
 * document in one write and a unit test can compare the exact bytes.
 * Errors are sticky (like ferror on a FILE): every call after the first
 * failure does nothing, and sm_json_finish reports the first error, so
 * call sites that emit dozens of values need one check, not one each.
 *
 * Output is compact (no whitespace). Strings are escaped per RFC 8259:
 * quote, backslash and control characters are escaped, valid UTF-8 passes
 * through unchanged, and each byte of an invalid UTF-8 sequence becomes
 * U+FFFD, so the output is always valid JSON whatever the peer sent.
 * Integers are written exactly (64-bit values are not rounded to doubles).
 */
#ifndef SM_JSON_H
#define SM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Deepest nesting of objects and arrays the writer accepts. */
#define SM_JSON_MAX_DEPTH 32

/*
 * struct sm_json is public so callers can keep it on the stack; its fields
 * are private to json.c. Zero it or call sm_json_init before use.
 */
struct sm_json {
	char *buf;
	size_t len;
	size_t cap;
	int err;      /* first error, SM_OK while none */
	int depth;    /* open containers */
	int done;     /* a complete top-level value was written */
	int want_val; /* a key was written; its value comes next */
	/* per open container: 'o' or 'a', and whether it has a member yet */
	char kind[SM_JSON_MAX_DEPTH];
	char nonempty[SM_JSON_MAX_DEPTH];
};

/* sm_json_init prepares an empty writer. It cannot fail. */
void sm_json_init(struct sm_json *j);

/* sm_json_fini frees the writer's buffer; safe on a zeroed writer. */
void sm_json_fini(struct sm_json *j);

/*
 * Structure. Misuse (a value in an object without a key, a key outside an
 * object, a close that does not match, more than SM_JSON_MAX_DEPTH levels,
 * a second top-level value) sets SM_EINVAL.
 */
void sm_json_object_begin(struct sm_json *j);
void sm_json_object_end(struct sm_json *j);
void sm_json_array_begin(struct sm_json *j);
void sm_json_array_end(struct sm_json *j);
void sm_json_key(struct sm_json *j, const char *key);

/* Values. sm_json_string writes null for a NULL string. */
void sm_json_string(struct sm_json *j, const char *s);
void sm_json_string_n(struct sm_json *j, const char *s, size_t n);
void sm_json_uint(struct sm_json *j, uint64_t v);
void sm_json_int(struct sm_json *j, int64_t v);
/* sm_json_double writes a non-finite value as null. */
void sm_json_double(struct sm_json *j, double v);
void sm_json_bool(struct sm_json *j, int v);
void sm_json_null(struct sm_json *j);

/*
 * sm_json_message writes a protobuf-c message as one JSON object, keyed by
 * the field names of the .proto file: scalars as numbers or booleans, enums
 * as their names (an unknown value as its number), strings as strings,
 * bytes as lowercase hex, sub-messages as objects, repeated fields as
 * arrays (always present, possibly empty). Unset optional fields are
 * omitted. A field named in skip (a NULL-terminated list, or NULL) is left
 * out at this level only; nested messages are written in full.
 */
void sm_json_message(struct sm_json *j, const ProtobufCMessage *msg,
    const char *const *skip);

/*
 * sm_json_finish returns the first error of the writer, or SM_EINVAL if the
 * document is incomplete. On SM_OK, *out points at the NUL-terminated
 * document (owned by the writer, valid until sm_json_fini) and *len is its
 * length without the NUL.
 */
int sm_json_finish(struct sm_json *j, const char **out, size_t *len);

#endif
