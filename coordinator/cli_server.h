/*
 * cli_server.h - the coordinator's CLI endpoint on an ipc:// address: a
 * small request/reply server speaking NNG's wire protocol (SP over IPC,
 * rep0 side) on its own nonblocking sockets. See cli_server.c for why it
 * does not use an NNG listener.
 */
#ifndef SNAPMARK_CLI_SERVER_H
#define SNAPMARK_CLI_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct cli_server;

/*
 * cli_server_handler answers one request body: it returns a malloc'd
 * reply body in *reply (NULL: no reply, e.g. out of memory) of *reply_len
 * bytes, which the server frees.
 */
typedef void (*cli_server_handler)(void *arg, const uint8_t *req, size_t len,
    uint8_t **reply, size_t *reply_len);

/* cli_server_open listens on the unix socket path (a stale socket file
 * nobody listens on is replaced). SM_OK, or a negative SM_E* code with
 * err filled in. */
int cli_server_open(struct cli_server **sp, const char *path,
    cli_server_handler handler, void *arg, char *err, size_t err_cap);

/* cli_server_fd is one fd that is readable whenever the server has work
 * (an epoll fd over its own sockets): poll it, then call cli_server_run. */
int cli_server_fd(const struct cli_server *s);

/* cli_server_run does whatever is ready without blocking: accepts,
 * handshakes, reads requests, answers them, writes replies; and closes
 * connections that broke the protocol or outstayed their time. */
void cli_server_run(struct cli_server *s, uint64_t now_us);

/* cli_server_close closes every connection and the listening socket and
 * removes the socket file. */
void cli_server_close(struct cli_server *s);

#endif
