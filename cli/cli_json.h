/*
 * cli_json.h - the JSON rendering of the `snapmark` CLI's --json output
 * (see cli_json.c). The documents of status, checkpoints, show and
 * explain are the coordinator's (coordinator/message_json.h), the same as
 * its HTTP API serves; trigger and cancel add two of their own.
 */
#ifndef SM_CLI_JSON_H
#define SM_CLI_JSON_H

#include <stdint.h>

#include <jansson.h>

/* cli_json_triggered: {"checkpoint_id": id}, of `trigger` without
 * --wait. NULL when out of memory. */
json_t *cli_json_triggered(uint64_t id);

/* cli_json_canceled: {"state": "CANCELED"}, of `cancel`. NULL when out
 * of memory. */
json_t *cli_json_canceled(void);

/*
 * cli_json_print prints doc as one compact line on stdout and drops the
 * caller's reference to it. Returns SM_OK, or SM_ENOMEM if doc is NULL or
 * cannot be encoded (nothing printed).
 */
int cli_json_print(json_t *doc);

#endif
