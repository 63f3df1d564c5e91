/*
 * channel.h - one directed data channel: one NNG pair1 socket per
 * (sending task, receiving task) pair.
 *
 * Why one socket per channel: a task aligning barriers must stop reading
 * exactly one input, and back-pressure must reach exactly that sender. A
 * pair1 socket is FIFO over one connection and blocks the sender when both
 * buffers are full, so a blocked input fills up and stalls only its own
 * upstream task.
 *
 * The receiving side listens, the sending side dials (non-blocking: NNG
 * keeps retrying until the listener appears, so tasks may start in any
 * order). NNG drops in-flight messages when a connection breaks, so a
 * broken channel is never repaired: it is reported (sm_channel_broken) and
 * the epoch fails. Pipe callbacks run under NNG's socket lock; they only set
 * a flag here.
 */
#ifndef SM_CHANNEL_H
#define SM_CHANNEL_H

#include <nng/nng.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/frame.h"

struct sm_channel;

/* sm_channel_listen opens the receiving end of channel `index` at url. */
int sm_channel_listen(const char *url, uint32_t index, uint64_t epoch,
    struct sm_channel **out);

/* sm_channel_dial opens the sending end of channel `index` towards url. */
int sm_channel_dial(const char *url, uint32_t index, uint64_t epoch,
    struct sm_channel **out);

/* sm_channel_close closes the socket; safe on NULL. */
void sm_channel_close(struct sm_channel *ch);

/*
 * sm_channel_close_detached closes n channels (NULL entries allowed) on a
 * detached thread and frees them and the array there. NNG 1.5.2's
 * nng_close can wait forever on an ipc pipe that wedged (seen after a peer
 * was SIGSTOPped); a stopping task must not wait with it. The channels
 * must not be used after this call.
 */
void sm_channel_close_detached(struct sm_channel **chs, size_t n);

/* sm_channel_wait_closed waits up to timeout_us for every detached close
 * to finish (before exit: the messages NNG still holds are freed then);
 * returns the number still running. */
int sm_channel_wait_closed(uint64_t timeout_us);

/*
 * sm_channel_send sends msg in order, waiting while the channel is full
 * (back-pressure). It gives up with SM_ESTOPPED when *stop becomes non-zero
 * and with SM_ECLOSED when the connection broke. On success the channel owns
 * msg; on failure the caller keeps it.
 */
int sm_channel_send(struct sm_channel *ch, nng_msg *msg,
    const atomic_int *stop);

/* sm_channel_try_send sends msg only if the channel takes it at once:
 * SM_OK (msg is consumed), SM_EAGAIN (its buffers are full; msg is still
 * the caller's) or an error. */
int sm_channel_try_send(struct sm_channel *ch, nng_msg *msg);

/* sm_channel_next_seq returns (and advances) the sender's frame counter. */
uint64_t sm_channel_next_seq(struct sm_channel *ch);

/*
 * sm_channel_recv takes the next frame without waiting: SM_EAGAIN if none.
 * Frames of another epoch are discarded here; a malformed frame or a
 * sequence gap is logged, its connection dropped, and SM_EPROTO returned.
 * On success *out is owned by the caller (sm_frame_free).
 */
int sm_channel_recv(struct sm_channel *ch, Snapmark__Frame **out);

/* sm_channel_fd is a descriptor that polls readable when a frame waits. */
int sm_channel_fd(struct sm_channel *ch);

/* sm_channel_broken: a connection of this channel was lost after it had
 * been established (the peer died or was dropped). */
int sm_channel_broken(const struct sm_channel *ch);


uint32_t sm_channel_index(const struct sm_channel *ch);

#endif
