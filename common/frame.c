/*
 * frame.c - batching records, packing and validating data-plane frames.
 */
#include "common/frame.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"

int
sm_batch_init(struct sm_batch *b)
{
	b->n = 0;
	b->payload_len = 0;
	b->payload = malloc(SM_FRAME_PAYLOAD_BYTES);
	b->payload_cap = b->payload != NULL ? SM_FRAME_PAYLOAD_BYTES : 0;
	return b->payload != NULL ? SM_OK : SM_ENOMEM;
}

void
sm_batch_fini(struct sm_batch *b)
{
	free(b->payload);
	b->payload = NULL;
	b->payload_cap = b->payload_len = 0;
	b->n = 0;
}

int
sm_batch_add(struct sm_batch *b, const struct snapmark_record *r)
{
	if (!sm_record_fits_frame(r) || !sm_batch_has_room(b, r))
		return SM_EINVAL;
	size_t need = b->payload_len + (size_t) r->key_len + r->value_len;
	if (need > b->payload_cap) {
		/* Only a large record alone in its batch gets here. */
		uint8_t *p = realloc(b->payload, need);
		if (p == NULL)
			return SM_ENOMEM;
		b->payload = p;
		b->payload_cap = need;
	}
	uint8_t *dst = b->payload + b->payload_len;
	if (r->key_len > 0)
		memcpy(dst, r->key, r->key_len);
	if (r->value_len > 0)
		memcpy(dst + r->key_len, r->value, r->value_len);
	b->payload_len = need;
	b->key_len[b->n] = r->key_len;
	b->value_len[b->n] = r->value_len;
	b->timestamp[b->n] = r->timestamp;
	b->n++;
	return SM_OK;
}

static int
frame_pack(const Snapmark__Frame *f, nng_msg **out)
{
	size_t len = snapmark__frame__get_packed_size(f);
	nng_msg *msg;
	if (len > SM_FRAME_MAX_BYTES)
		return SM_EINVAL; /* no receiver would take it */
	if (nng_msg_alloc(&msg, len) != 0)
		return SM_ENOMEM;
	snapmark__frame__pack(f, nng_msg_body(msg));
	*out = msg;
	return SM_OK;
}

int
sm_frame_records(uint64_t epoch, uint64_t seq, uint32_t channel,
    struct sm_batch *b, nng_msg **out)
{
	Snapmark__Frame f = SNAPMARK__FRAME__INIT;
	f.epoch = epoch;
	f.seq = seq;
	f.channel = channel;
	f.kind = SNAPMARK__FRAME__KIND__RECORDS;
	f.n_key_len = f.n_value_len = f.n_timestamp = b->n;
	f.key_len = b->key_len;
	f.value_len = b->value_len;
	f.timestamp = b->timestamp;
	f.has_payload = 1;
	f.payload.len = b->payload_len;
	f.payload.data = b->payload;
	int rv = frame_pack(&f, out);
	if (rv != SM_OK)
		return rv;
	b->n = 0;
	b->payload_len = 0;
	if (b->payload_cap > SM_FRAME_PAYLOAD_BYTES) {
		/* Give back what one large record took. */
		uint8_t *p = realloc(b->payload, SM_FRAME_PAYLOAD_BYTES);
		if (p != NULL) {
			b->payload = p;
			b->payload_cap = SM_FRAME_PAYLOAD_BYTES;
		}
	}
	return SM_OK;
}

int
sm_frame_marker(uint64_t epoch, uint64_t seq, uint32_t channel,
    Snapmark__Frame__Kind kind, uint64_t checkpoint_id, nng_msg **out)
{
	Snapmark__Frame f = SNAPMARK__FRAME__INIT;
	f.epoch = epoch;
	f.seq = seq;
	f.channel = channel;
	f.kind = kind;
	if (kind == SNAPMARK__FRAME__KIND__BARRIER) {
		f.has_checkpoint_id = 1;
		f.checkpoint_id = checkpoint_id;
	}
	return frame_pack(&f, out);
}

int
sm_frame_barrier(uint64_t epoch, uint64_t seq, uint32_t channel,
    uint64_t checkpoint_id, const char *savepoint_dir, nng_msg **out)
{
	Snapmark__Frame f = SNAPMARK__FRAME__INIT;
	f.epoch = epoch;
	f.seq = seq;
	f.channel = channel;
	f.kind = SNAPMARK__FRAME__KIND__BARRIER;
	f.has_checkpoint_id = 1;
	f.checkpoint_id = checkpoint_id;
	f.savepoint_dir = (char *) savepoint_dir;
	f.has_sent_us = 1;
	f.sent_us = sm_wall_us();
	return frame_pack(&f, out);
}

int
sm_frame_watermark(uint64_t epoch, uint64_t seq, uint32_t channel,
    int64_t watermark, nng_msg **out)
{
	Snapmark__Frame f = SNAPMARK__FRAME__INIT;
	f.epoch = epoch;
	f.seq = seq;
	f.channel = channel;
	f.kind = SNAPMARK__FRAME__KIND__WATERMARK;
	f.has_watermark = 1;
	f.watermark = watermark;
	return frame_pack(&f, out);
}

/* The record columns and payload of f: NULL if consistent, else why not. */
static const char *
frame_check_records(const Snapmark__Frame *f)
{
	size_t n = f->n_key_len;
	if (f->n_value_len != n || f->n_timestamp != n)
		return "record columns of different lengths";
	if (f->kind != SNAPMARK__FRAME__KIND__RECORDS)
		return n != 0 || (f->has_payload && f->payload.len != 0)
		    ? "marker frame carrying records"
		    : NULL;
	if (n > SM_FRAME_RECORDS)
		return "more records than a frame may carry";
	/* Each length is capped, so the sum of at most SM_FRAME_RECORDS
	 * pairs cannot overflow 64 bits. */
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (f->key_len[i] > SNAPMARK_MAX_BYTES ||
		    f->value_len[i] > SNAPMARK_MAX_BYTES)
			return "record key or value longer than "
			       "SNAPMARK_MAX_BYTES";
		sum += (uint64_t) f->key_len[i] + f->value_len[i];
	}
	size_t have = f->has_payload ? f->payload.len : 0;
	if (sum > have)
		return "record lengths run past the payload";
	if (sum < have)
		return "payload longer than its records";
	return NULL;
}

int
sm_frame_decode(const nng_msg *msg, uint32_t channel, Snapmark__Frame **out,
    const char **why)
{
	size_t len = nng_msg_len(msg);
	if (len > SM_FRAME_MAX_BYTES) {
		*why = "frame larger than the 1 MiB cap";
		return SM_EPROTO;
	}
	Snapmark__Frame *f = snapmark__frame__unpack(NULL, len,
	    nng_msg_body((nng_msg *) msg));
	if (f == NULL) {
		*why = "bytes do not decode as a snapmark.Frame";
		return SM_EPROTO;
	}
	const char *bad = NULL;
	if (f->kind != SNAPMARK__FRAME__KIND__RECORDS &&
	    f->kind != SNAPMARK__FRAME__KIND__BARRIER &&
	    f->kind != SNAPMARK__FRAME__KIND__END_OF_DATA &&
	    f->kind != SNAPMARK__FRAME__KIND__WATERMARK)
		bad = "unknown frame kind";
	else if (f->channel != channel)
		bad = "frame names another channel";
	else if (f->kind == SNAPMARK__FRAME__KIND__BARRIER &&
	    (!f->has_checkpoint_id || f->checkpoint_id == 0))
		bad = "barrier without a checkpoint id";
	else if ((f->kind == SNAPMARK__FRAME__KIND__WATERMARK) !=
	    (f->has_watermark != 0))
		bad = f->has_watermark ? "watermark on a frame of another kind"
		                       : "watermark frame without a watermark";
	else
		bad = frame_check_records(f);
	if (bad != NULL) {
		snapmark__frame__free_unpacked(f, NULL);
		*why = bad;
		return SM_EPROTO;
	}
	*out = f;
	return SM_OK;
}

size_t
sm_frame_get_records(const Snapmark__Frame *f, struct snapmark_record *out)
{
	/* Empty keys and values point here rather than at NULL. */
	static const uint8_t empty[1];
	size_t n = f->n_key_len;
	const uint8_t *p = f->has_payload && f->payload.data != NULL
	    ? f->payload.data
	    : empty;
	for (size_t i = 0; i < n; i++) {
		out[i].key = f->key_len[i] > 0 ? p : empty;
		out[i].key_len = f->key_len[i];
		p += f->key_len[i];
		out[i].value = f->value_len[i] > 0 ? p : empty;
		out[i].value_len = f->value_len[i];
		p += f->value_len[i];
		out[i].timestamp = f->timestamp[i];
	}
	return n;
}

void
sm_frame_free(Snapmark__Frame *f)
{
	if (f != NULL)
		snapmark__frame__free_unpacked(f, NULL);
}
