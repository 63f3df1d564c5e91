/*
 * fuzz_seeds.c - writes a starting corpus for the fuzz targets, made with
 * snapmark's own encoders so that it is never stale: a records frame and
 * a barrier frame (fuzz_frame), and an inline snapshot with operator-state
 * items (fuzz_snapshot_meta).
 * Job files need none: the .ini files of examples/ serve.
 *
 * usage: fuzz_seeds FRAME_DIR META_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "common/error.h"
#include "common/frame.h"
#include "common/snapshot.h"

static int
seed_write(const char *dir, const char *name, const void *data, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_seeds FRAME_DIR META_DIR\n");
		return 2;
	}
	static struct sm_batch b;
	for (uint64_t i = 0; i < 5; i++) {
		struct sm_record r = { .subtask = 1,
			.seq = i,
			.key = i * 7,
			.value = (int64_t) i - 2 };
		sm_batch_add(&b, &r);
	}
	nng_msg *m;
	int bad = 0;
	if (sm_frame_records(2, 10, 3, &b, &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "records", nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	if (sm_frame_barrier(2, 11, 3, 9, "/tmp/savepoint", &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "barrier", nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);

	char file[] = "out/part-0001-c8.tmp";
	char *pending[] = { file };
	uint64_t pending_id[] = { 8 };
	/* operator-state items: a position, an empty item, binary bytes */
	unsigned char pos[] = "file=in/a.txt offset=4096";
	unsigned char bin[] = { 0, 0xff, 0x80, 0x7f };
	struct sm_state_item items[] = { { pos, sizeof(pos) - 1 },
		{ pos, 0 }, { bin, sizeof(bin) } };
	struct sm_snapshot_data d = { .has_source_offset = 1,
		.source_next_seq = 77,
		.n_pending = 1,
		.pending = pending,
		.pending_id = pending_id,
		.drained = 1,
		.n_op_state = 3,
		.op_state = items };
	unsigned char *meta;
	size_t len;
	struct sm_snapshot_info info;
	if (sm_snapshot_inline(3, "sink.0", 1, 9, &d, &meta, &len, &info) !=
	    SM_OK)
		return 1;
	bad |= seed_write(argv[2], "inline", meta, len);
	free(meta);
	return bad ? 1 : 0;
}
