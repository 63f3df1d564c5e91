/*
 * http.h - the coordinator's HTTP server: /metrics (Prometheus text),
 * a read-only REST API in JSON (/api/...) and the dashboard (/).
 *
 * NNG's HTTP server runs its handlers on NNG's threads, while the
 * coordinator's state belongs to its event loop. So a handler never looks
 * at the coordinator: it queues the request (bounded) and wakes the loop
 * through an eventfd; the loop calls coord_http_serve, which answers every
 * queued request through the same code path as a CLI request (a packed
 * CliRequest in, a packed CliReply out) and turns the reply into JSON
 * (message_json.c, as the CLI does) or Prometheus text.
 */
#ifndef SM_COORD_HTTP_H
#define SM_COORD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

struct coord_http;

/* Answers one packed CliRequest: *reply is a malloc'd packed CliReply of
 * *reply_len bytes (NULL: no memory). Called on the loop's thread only. */
typedef void (*coord_http_cli_fn)(void *ctx, const uint8_t *req, size_t len,
    uint8_t **reply, size_t *reply_len);

/* coord_http_start listens on HOST:PORT (PORT 0: an ephemeral port) and
 * writes the server's URL ("http://HOST:PORT") into url. */
int coord_http_start(const char *host_port, struct coord_http **out,
    char *url, size_t url_len);

/* The fd that becomes readable when requests are queued. */
int coord_http_wake_fd(const struct coord_http *h);

/* coord_http_serve answers every queued request (loop thread). */
void coord_http_serve(struct coord_http *h, coord_http_cli_fn fn, void *ctx);

/* coord_http_stop fails the queued requests, stops the server and frees
 * h. It may wait on NNG (call it where a wedged close is bounded). */
void coord_http_stop(struct coord_http *h);

#endif
