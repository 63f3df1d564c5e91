/*
 * control.h - the coordinator<->worker control link: snapmark.Control
 * envelopes over an NNG pair1 connection.
 *
 * The coordinator listens with a polyamorous pair1 socket (one pipe per
 * worker; a message's pipe says which worker sent it and addresses the
 * reply), each worker dials with an ordinary pair1 socket that reconnects
 * by itself when the coordinator comes back.
 */
#ifndef SM_CONTROL_H
#define SM_CONTROL_H

#include <nng/nng.h>

#include "snapmark.pb-c.h"

/* Largest control message accepted (Deploy carries the job text). */
#define SM_CONTROL_MAX_BYTES (4u << 20)

/* How long a control send waits for room before it gives up. */
#define SM_CONTROL_SEND_WAIT_US 1000000u

/* sm_control_send packs c and sends it on sock, to `pipe` when its id is
 * non-zero (polyamorous sockets). Waits at most SM_CONTROL_SEND_WAIT_US
 * for room (SM_ETIMEDOUT), whatever state the connection is in. */
int sm_control_send(nng_socket sock, nng_pipe pipe, const Snapmark__Control *c);

/*
 * sm_control_recv receives one envelope, waiting at most the socket's
 * receive timeout (SM_ETIMEDOUT) or not at all with NNG_FLAG_NONBLOCK
 * (SM_EAGAIN). *pipe receives the sender's pipe. A message that is not a
 * valid Control is logged, its pipe closed, and SM_EPROTO returned. On
 * success the caller owns *out (snapmark__control__free_unpacked).
 */
int sm_control_recv(nng_socket sock, int flags, Snapmark__Control **out,
    nng_pipe *pipe);

#endif
