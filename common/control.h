/*
 * control.h - the coordinator<->worker control link: snapmark.Control
 * envelopes over an NNG pair1 connection.
 *
 * One ordinary (one-to-one) pair1 socket per worker on each side: the
 * coordinator listens on worker K's own address, worker K dials it and
 * reconnects by itself when the coordinator comes back. Not one
 * polyamorous socket for all: NNG's polyamorous pair1 queues two messages
 * per pipe and silently drops the rest, and a control plane that loses a
 * trigger or a checkpoint-complete is wrong, not slow.
 */
#ifndef SM_CONTROL_H
#define SM_CONTROL_H

#include <nng/nng.h>

#include "proto/snapmark.pb-c.h"

/* Largest control message accepted (Deploy carries the job text). */
#define SM_CONTROL_MAX_BYTES (4u << 20)

/*
 * sm_control_address writes worker `worker_id`'s control address for the
 * coordinator's base address: "ipc://PATH" -> "ipc://PATH-K.ipc",
 * "tcp://HOST:PORT" -> "tcp://HOST:<PORT+K>".
 */
int sm_control_address(const char *base, int worker_id, char *buf,
    size_t len);

/* How long a control send waits for room before it gives up. */
#define SM_CONTROL_SEND_WAIT_US 1000000u

/* sm_control_send packs c and sends it on sock, to `pipe` when its id is
 * non-zero (polyamorous sockets). Waits at most SM_CONTROL_SEND_WAIT_US
 * for room (SM_ETIMEDOUT), whatever state the connection is in. */
int sm_control_send(nng_socket sock, nng_pipe pipe, const Snapmark__Control *c);

/* sm_control_offer sends c if there is room right now and drops it
 * otherwise (heartbeats: one that cannot go now is moot). */
int sm_control_offer(nng_socket sock, const Snapmark__Control *c);

/*
 * sm_control_recv receives one envelope, waiting at most the socket's
 * receive timeout (SM_ETIMEDOUT) or not at all with NNG_FLAG_NONBLOCK
 * (SM_EAGAIN). *pipe receives the sender's pipe. A message that is not a
 * valid Control is logged, its pipe closed, and SM_EPROTO returned. On
 * success the caller owns *out (snapmark__control__free_unpacked).
 */
int sm_control_recv(nng_socket sock, int flags, Snapmark__Control **out,
    nng_pipe *pipe);

/* sm_listen_private is nng_listen(sock, url, out, 0) for snapmark's own
 * sockets: an ipc:// socket file is made 0600 (NNG_OPT_IPC_PERMISSIONS),
 * whatever the umask, before anyone can connect. Returns NNG's code. */
int sm_listen_private(nng_socket sock, const char *url,
    nng_listener *out);

#endif
