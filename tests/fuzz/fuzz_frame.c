/*
 * fuzz_frame.c - libFuzzer target: any bytes as a data frame from a peer.
 *
 * The contract under test: sm_frame_decode accepts a well-formed frame of
 * its channel or refuses it with a reason (the channel then drops the
 * connection); it never crashes, over-reads or leaks. And what it accepts
 * is safe to read: every record of an accepted frame lies inside the
 * frame's payload, the records tile the payload exactly, and no key or
 * value is longer than SNAPMARK_MAX_BYTES (read here byte by byte, so a
 * sanitizer sees any over-read).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "common/error.h"
#include "common/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned read_sum;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nng_msg *msg;
	if (nng_msg_alloc(&msg, size) != 0)
		return 0;
	memcpy(nng_msg_body(msg), data, size);
	Snapmark__Frame *f = NULL;
	const char *why = NULL;
	static struct snapmark_record recs[SM_FRAME_RECORDS];
	if (sm_frame_decode(msg, 3, &f, &why) == SM_OK) {
		if (sm_frame_n_records(f) > SM_FRAME_RECORDS)
			abort();
		size_t n = sm_frame_get_records(f, recs);
		uint64_t total = 0;
		unsigned sum = 0;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *k = recs[i].key, *v = recs[i].value;
			if (recs[i].key_len > SNAPMARK_MAX_BYTES ||
			    recs[i].value_len > SNAPMARK_MAX_BYTES)
				abort();
			for (uint32_t j = 0; j < recs[i].key_len; j++)
				sum += k[j];
			for (uint32_t j = 0; j < recs[i].value_len; j++)
				sum += v[j];
			total += (uint64_t) recs[i].key_len + recs[i].value_len;
		}
		if (total != (f->has_payload ? f->payload.len : 0))
			abort(); /* the records must tile the payload */
		read_sum = sum; /* the reads above may not be optimised out */
		sm_frame_free(f);
	} else if (why == NULL) {
		abort(); /* a refusal must say why */
	}
	nng_msg_free(msg);
	return 0;
}
