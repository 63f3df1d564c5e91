/*
 * frame.h - data-plane frames: a batch of records, a barrier, or the end of
 * a channel's data, as one protobuf snapmark.Frame inside one NNG message.
 *
 * A batch collects records column by column and is packed straight into an
 * nng_msg body, so a frame costs one allocation and one pack. Decoding
 * checks everything a peer could get wrong (size cap, kind, column lengths,
 * channel) before anything trusts the frame.
 */
#ifndef SM_FRAME_H
#define SM_FRAME_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/snapmark.pb-c.h"

/* Records per frame: 1024 records are ~28 KiB packed, inside the 32-64 KiB
 * band where NNG's per-message cost stops mattering. */
#define SM_FRAME_RECORDS 1024

/* Largest frame a receiver accepts (NNG_OPT_RECVMAXSZ of data sockets). */
#define SM_FRAME_MAX_BYTES (1u << 20)

struct sm_record {
	uint32_t subtask;
	uint64_t seq;
	uint64_t key;
	int64_t value;
};

/* A batch of records bound for one channel. */
struct sm_batch {
	uint32_t n;
	uint32_t subtask[SM_FRAME_RECORDS];
	uint64_t seq[SM_FRAME_RECORDS];
	uint64_t key[SM_FRAME_RECORDS];
	int64_t value[SM_FRAME_RECORDS];
};

static inline int
sm_batch_full(const struct sm_batch *b)
{
	return b->n >= SM_FRAME_RECORDS;
}

static inline void
sm_batch_add(struct sm_batch *b, const struct sm_record *r)
{
	b->subtask[b->n] = r->subtask;
	b->seq[b->n] = r->seq;
	b->key[b->n] = r->key;
	b->value[b->n] = r->value;
	b->n++;
}

/* sm_frame_records packs the batch as a RECORDS frame into a new message
 * (*out, owned by the caller) and empties the batch. */
int sm_frame_records(uint64_t epoch, uint64_t seq, uint32_t channel,
    struct sm_batch *b, nng_msg **out);

/* sm_frame_marker packs a BARRIER (checkpoint_id) or END_OF_DATA frame. */
int sm_frame_marker(uint64_t epoch, uint64_t seq, uint32_t channel,
    Snapmark__Frame__Kind kind, uint64_t checkpoint_id, nng_msg **out);

/* sm_frame_barrier packs barrier `checkpoint_id`; savepoint_dir (NULL for
 * a checkpoint) travels with it to every task, like Flink's checkpoint
 * options. The frame carries the wall clock of its making (sent_us). */
int sm_frame_barrier(uint64_t epoch, uint64_t seq, uint32_t channel,
    uint64_t checkpoint_id, const char *savepoint_dir, nng_msg **out);

/*
 * sm_frame_decode unpacks and validates a received message. On success
 * *out is an unpacked frame the caller frees with sm_frame_free(); the
 * message is untouched (the caller still owns it). Returns SM_EPROTO with
 * a reason in why (static string) when the bytes are not a valid frame for
 * this channel.
 */
int sm_frame_decode(const nng_msg *msg, uint32_t channel,
    Snapmark__Frame **out, const char **why);

void sm_frame_free(Snapmark__Frame *f);

#endif
