/*
 * acksender.h - a worker's acknowledgements to the coordinator, combined.
 *
 * Tasks and their snapshot writers acknowledge checkpoints from their own
 * threads, often within microseconds of one another (every source of a
 * worker acks as soon as its trigger arrives). Each NNG message costs the
 * coordinator a handful of system calls whatever its size, so with
 * thousands of tasks the message count, not the bytes, is what it pays
 * for. The sender combines: the thread that finds it idle sends its own
 * ack at once (no added latency), and before it leaves sends whatever
 * acks the other threads queued meanwhile as one AckBatch.
 */
#ifndef SM_ACKSENDER_H
#define SM_ACKSENDER_H

#include "proto/snapmark.pb-c.h"
#include "worker/report.h"

struct sm_acksender;

/* sm_acksender_new: acks go out through send(ctx, ...) (thread-safe). */
int sm_acksender_new(worker_send_fn send, void *ctx,
    struct sm_acksender **out);

/* sm_acksender_send sends ack now, or queues a copy for the thread that
 * is sending; thread-safe. Returns what sending it returned, or SM_OK once
 * queued: a queued ack that then cannot be sent is logged and its
 * checkpoint declined here. */
int sm_acksender_send(struct sm_acksender *s, const Snapmark__Ack *ack);

/* sm_acksender_free: no thread may be sending; safe on NULL. */
void sm_acksender_free(struct sm_acksender *s);

#endif
