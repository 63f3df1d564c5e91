/*
 * cli_answer.h - answering one request of the `snapmark` CLI (or of the
 * HTTP API, which asks the same questions): status, checkpoints, show,
 * explain, trigger, savepoint, cancel.
 */
#ifndef COORD_CLI_ANSWER_H
#define COORD_CLI_ANSWER_H

#include <stddef.h>
#include <stdint.h>

/* The most checkpoints one CLI reply lists (checkpoints --limit 0). */
#define COORD_CLI_MAX_LIST 10000

/*
 * coord_cli_answer answers one packed CliRequest body for the coordinator
 * `arg` (a struct coord *): *out is a malloc'd packed CliReply of *out_len
 * bytes (NULL if memory ran out). Both CLI endpoints (cli_server.c, the
 * raw rep0 socket) and the HTTP server (http.c) call it.
 */
void coord_cli_answer(void *arg, const uint8_t *body, size_t body_len,
    uint8_t **out, size_t *out_len);

#endif
