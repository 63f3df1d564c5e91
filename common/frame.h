/*
 * frame.h - data-plane frames: a batch of records, a barrier, a watermark,
 * or the end of a channel's data, as one protobuf snapmark.Frame inside one
 * NNG message.
 *
 * Records are byte strings with an event time (struct snapmark_record,
 * snapmark/snapmark.h). A batch collects them column by column - key
 * length, value length, timestamp - plus one payload buffer holding every
 * key and value back to back, and is packed straight into an nng_msg body:
 * a frame costs one allocation and one pack. Decoding checks everything a
 * peer could get wrong (size cap, kind, column counts, every length inside
 * the payload, channel) once, before anything trusts the frame; the
 * records of a decoded frame then point into it, with no copy per record.
 */
#ifndef SM_FRAME_H
#define SM_FRAME_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/snapmark.pb-c.h"
#include "snapmark/snapmark.h"

/* Records per frame, at most. */
#define SM_FRAME_RECORDS 1024

/* Bytes of keys and values per frame: a batch is flushed before a record
 * would take its payload past this (unless the record is alone in it). A
 * frame of 1024 `gen` records (8-byte keys, 20-byte values) holds 28 KiB
 * of payload plus 16 KiB of columns, inside the 32-64 KiB band where NNG's
 * per-message cost stops mattering. */
#define SM_FRAME_PAYLOAD_BYTES (32u << 10)

/* Largest frame a receiver accepts (NNG_OPT_RECVMAXSZ of data sockets). */
#define SM_FRAME_MAX_BYTES (1u << 20)

/* Bytes of columns per record: key_len, value_len (fixed32), timestamp
 * (sfixed64). */
#define SM_FRAME_COLUMN_BYTES 16u

/* A record alone in a frame always fits under the cap: keys and values are
 * at most SNAPMARK_MAX_BYTES each. */
_Static_assert(2u * SNAPMARK_MAX_BYTES + SM_FRAME_PAYLOAD_BYTES +
        SM_FRAME_RECORDS * SM_FRAME_COLUMN_BYTES + 256u <=
    SM_FRAME_MAX_BYTES, "a frame's largest batch exceeds the frame cap");

/*
 * A batch of records bound for one channel: columns plus the payload
 * (owned; sm_batch_init / sm_batch_fini). Record i's key is at the sum of
 * the lengths of the keys and values of records 0..i-1, its value right
 * after its key.
 */
struct sm_batch {
	uint32_t n;
	uint32_t key_len[SM_FRAME_RECORDS];
	uint32_t value_len[SM_FRAME_RECORDS];
	int64_t timestamp[SM_FRAME_RECORDS];
	uint8_t *payload;
	size_t payload_len, payload_cap;
};

/* sm_batch_init makes an empty batch with room for SM_FRAME_PAYLOAD_BYTES
 * of payload; sm_batch_fini frees its payload (safe after a failed init). */
int sm_batch_init(struct sm_batch *b);
void sm_batch_fini(struct sm_batch *b);

/* sm_record_fits_frame: 1 if r can travel at all (its key and value are
 * at most SNAPMARK_MAX_BYTES each, so a frame of it alone is under the
 * cap). */
static inline int
sm_record_fits_frame(const struct snapmark_record *r)
{
	return r->key_len <= SNAPMARK_MAX_BYTES &&
	    r->value_len <= SNAPMARK_MAX_BYTES;
}

/* sm_batch_full: flush now (records or payload budget reached). */
static inline int
sm_batch_full(const struct sm_batch *b)
{
	return b->n >= SM_FRAME_RECORDS ||
	    b->payload_len >= SM_FRAME_PAYLOAD_BYTES;
}

/* sm_batch_has_room: r may join b without flushing first (an empty batch
 * takes any record that fits a frame). */
static inline int
sm_batch_has_room(const struct sm_batch *b, const struct snapmark_record *r)
{
	return b->n == 0 ||
	    (b->n < SM_FRAME_RECORDS &&
	        b->payload_len + (size_t) r->key_len + r->value_len <=
	            SM_FRAME_PAYLOAD_BYTES);
}

/* sm_batch_add copies r into b, which must have room (sm_batch_has_room).
 * SM_EINVAL if r does not fit any frame (sm_record_fits_frame) or b has no
 * room; SM_ENOMEM if a large record's payload cannot grow. */
int sm_batch_add(struct sm_batch *b, const struct snapmark_record *r);

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

/* sm_frame_watermark packs a WATERMARK frame: no record with an event time
 * before `watermark` follows on this channel. */
int sm_frame_watermark(uint64_t epoch, uint64_t seq, uint32_t channel,
    int64_t watermark, nng_msg **out);

/*
 * sm_frame_decode unpacks and validates a received message. On success
 * *out is an unpacked frame the caller frees with sm_frame_free(); the
 * message is untouched (the caller still owns it). Returns SM_EPROTO with
 * a reason in why (static string) when the bytes are not a valid frame for
 * this channel. A valid RECORDS frame has at most SM_FRAME_RECORDS
 * records, as many lengths and timestamps as records, every key and value
 * at most SNAPMARK_MAX_BYTES, and a payload of exactly the lengths' sum.
 */
int sm_frame_decode(const nng_msg *msg, uint32_t channel,
    Snapmark__Frame **out, const char **why);

/* sm_frame_n_records: the records of a decoded frame (0 unless RECORDS). */
static inline size_t
sm_frame_n_records(const Snapmark__Frame *f)
{
	return f->n_key_len;
}

/* sm_frame_get_records fills out[0 .. sm_frame_n_records(f)) (at most
 * SM_FRAME_RECORDS) with the records of a frame sm_frame_decode accepted,
 * pointing into f's payload: valid until sm_frame_free(f). Returns the
 * number of records. */
size_t sm_frame_get_records(const Snapmark__Frame *f,
    struct snapmark_record *out);

void sm_frame_free(Snapmark__Frame *f);

#endif
