/*
 * message_json.h - the JSON form of snapmark's protobuf messages, shared by
 * the `snapmark` CLI's --json output and the coordinator's HTTP API
 * (/api/...), so both print the same documents (see message_json.c).
 *
 * Documents are jansson values (json_t, reference counted: every function
 * returning one hands the caller a new reference to json_decref).
 */
#ifndef SM_MESSAGE_JSON_H
#define SM_MESSAGE_JSON_H

#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "proto/snapmark.pb-c.h"

/*
 * sm_json_message returns msg as one JSON object, keyed by the field names
 * of the .proto file: integers as exact integers, floating point as
 * numbers (whole ones as integers, non-finite ones as null), booleans,
 * enums as their names (an unknown value as its number), strings as
 * strings (see sm_json_text), bytes as lowercase hex, sub-messages as
 * objects, repeated fields as arrays (always present, possibly empty), in
 * the order of the .proto file. Unset optional fields are omitted. A field
 * named in skip (a NULL-terminated list, or NULL) is left out at this level
 * only; nested messages are written in full. NULL when out of memory.
 */
json_t *sm_json_message(const ProtobufCMessage *msg, const char *const *skip);

/*
 * sm_json_checkpoint_list returns {"checkpoints": [...]}, the records in
 * the given order without their per-task stats (`snapmark --json
 * checkpoints` and GET /api/checkpoints). NULL when out of memory.
 */
json_t *sm_json_checkpoint_list(Snapmark__CheckpointRecord *const *recs,
    size_t n);

/* sm_json_uint returns v as a JSON integer (above INT64_MAX, which
 * jansson cannot hold, the nearest floating-point number). */
json_t *sm_json_uint(uint64_t v);

/*
 * sm_json_text returns s as a JSON string, NULL for a NULL s: valid UTF-8
 * passes through unchanged and each byte of an invalid sequence becomes
 * U+FFFD, so whatever a peer sent, the document is valid JSON. NULL when
 * out of memory.
 */
json_t *sm_json_text(const char *s);

/*
 * sm_json_dump returns the compact text of doc (no whitespace, members in
 * insertion order), NUL-terminated, for the caller to free(); NULL if it
 * cannot be encoded (out of memory).
 */
char *sm_json_dump(const json_t *doc);

#endif
