/*
 * fuzz_seeds.c - writes a starting corpus for the fuzz targets, made with
 * snapmark's own encoders so that it is never stale: records frames (gen's
 * shape, and keys and values of other lengths, empty ones included), a
 * barrier and a watermark frame (fuzz_frame), and an inline snapshot with
 * operator-state items (fuzz_snapshot_meta).
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
	if (sm_batch_init(&b) != SM_OK)
		return 1;
	for (uint64_t i = 0; i < 5; i++) {
		uint8_t key[8], value[20];
		for (int k = 0; k < 8; k++)
			key[k] = (uint8_t) (i * 7 >> (56 - 8 * k));
		for (int k = 0; k < 20; k++)
			value[k] = (uint8_t) (i + (uint64_t) k);
		struct snapmark_record r = { .key = key,
			.key_len = sizeof(key),
			.value = value,
			.value_len = sizeof(value),
			.timestamp = (int64_t) i };
		if (sm_batch_add(&b, &r) != SM_OK)
			return 1;
	}
	nng_msg *m;
	int bad = 0;
	if (sm_frame_records(2, 10, 3, &b, &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "records", nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	static const struct snapmark_record mixed[] = {
		{ "", 0, "", 0, SNAPMARK_NO_TIME },
		{ "word", 4, "", 0, -1 },
		{ "", 0, "a line of text", 14, 1700000000000 },
		{ "k\0\t", 3, "\n\xff", 2, INT64_MAX },
	};
	for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
		if (sm_batch_add(&b, &mixed[i]) != SM_OK)
			return 1;
	if (sm_frame_records(2, 11, 3, &b, &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "records-bytes", nng_msg_body(m),
	    nng_msg_len(m));
	nng_msg_free(m);
	sm_batch_fini(&b);
	if (sm_frame_barrier(2, 12, 3, 9, "/tmp/savepoint", &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "barrier", nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	if (sm_frame_watermark(2, 13, 3, 4242, &m) != SM_OK)
		return 1;
	bad |= seed_write(argv[1], "watermark", nng_msg_body(m),
	    nng_msg_len(m));
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
