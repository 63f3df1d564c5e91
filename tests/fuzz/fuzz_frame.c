/*
 * fuzz_frame.c - libFuzzer target: any bytes as a data frame from a peer.
 *
 * The contract under test: sm_frame_decode accepts a well-formed frame of
 * its channel or refuses it with a reason (the channel then drops the
 * connection); it never crashes, over-reads or leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "common/error.h"
#include "common/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nng_msg *msg;
	if (nng_msg_alloc(&msg, size) != 0)
		return 0;
	memcpy(nng_msg_body(msg), data, size);
	Snapmark__Frame *f = NULL;
	const char *why = NULL;
	if (sm_frame_decode(msg, 3, &f, &why) == SM_OK)
		sm_frame_free(f);
	else if (why == NULL)
		abort(); /* a refusal must say why */
	nng_msg_free(msg);
	return 0;
}
