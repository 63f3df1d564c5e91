/*
 * fuzz_snapshot_meta.c - libFuzzer target: any bytes as an inline
 * snapshot (a packed SnapshotMeta carried in a checkpoint record).
 *
 * The checksum handed in is the CRC-32C of the bytes themselves, so every
 * input gets past the checksum and exercises the decoding and the checks
 * behind it (task, checkpoint, entry count, chain, pending files, the
 * count and lengths of operator-state items). The
 * contract: accepted or refused with a reason; never a crash, over-read
 * or leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/checksum.h"
#include "common/error.h"
#include "common/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_snapshot_data d;
	char why[256];
	if (sm_snapshot_read_inline(data, size, 3, 9, sm_crc32c(0, data, size),
	        &d, why, sizeof(why)) == SM_OK) {
		/* what was accepted is within bounds */
		if (d.n_op_state > SM_STATE_MAX_ITEMS || d.n_entries != 0)
			abort();
		for (size_t i = 0; i < d.n_op_state; i++)
			if (d.op_state[i].len > SM_STATE_MAX_BYTES)
				abort();
		sm_snapshot_data_free(&d);
	}
	else if (why[0] == '\0')
		abort(); /* a refusal must say why */
	return 0;
}
