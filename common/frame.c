/*
 * frame.c - packing and validating data-plane frames.
 */
#include "common/frame.h"

#include "common/clock.h"
#include "common/error.h"

static int
frame_pack(const Snapmark__Frame *f, nng_msg **out)
{
	size_t len = snapmark__frame__get_packed_size(f);
	nng_msg *msg;
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
	f.n_rec_subtask = f.n_rec_seq = f.n_rec_key = f.n_rec_value = b->n;
	f.rec_subtask = b->subtask;
	f.rec_seq = b->seq;
	f.rec_key = b->key;
	f.rec_value = b->value;
	int rv = frame_pack(&f, out);
	if (rv == SM_OK)
		b->n = 0;
	return rv;
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
	    f->kind != SNAPMARK__FRAME__KIND__END_OF_DATA)
		bad = "unknown frame kind";
	else if (f->channel != channel)
		bad = "frame names another channel";
	else if (f->kind == SNAPMARK__FRAME__KIND__BARRIER &&
	    (!f->has_checkpoint_id || f->checkpoint_id == 0))
		bad = "barrier without a checkpoint id";
	else if (f->n_rec_seq != f->n_rec_subtask ||
	    f->n_rec_key != f->n_rec_subtask ||
	    f->n_rec_value != f->n_rec_subtask)
		bad = "record columns of different lengths";
	else if (f->kind != SNAPMARK__FRAME__KIND__RECORDS &&
	    f->n_rec_subtask != 0)
		bad = "marker frame carrying records";
	if (bad != NULL) {
		snapmark__frame__free_unpacked(f, NULL);
		*why = bad;
		return SM_EPROTO;
	}
	*out = f;
	return SM_OK;
}

void
sm_frame_free(Snapmark__Frame *f)
{
	if (f != NULL)
		snapmark__frame__free_unpacked(f, NULL);
}
