/*
 * snapshot_read.c - a task's restore read, alone: sm_snapshot_read of one
 * checkpoint of a snapshot store, in a fresh process.
 *
 * The recovery row times the read inside the restarted worker, where the
 * rest of the restarting job competes for the two cores. This program
 * runs exactly the same code (worker/snapshot.c: the cursor walk over the
 * chain, the decode, key check and CRC-32C of every entry, into a sorted
 * array) with nothing else around, under the same conditions as
 * tests/bench/lmdb_scan (file in the page cache, mapping cold), so the
 * two rates compare the code, not the moment. One line for scripts/bench:
 *
 *   entries=N bytes=B seconds=S mb_per_s=M
 *
 * bytes counts value bytes, as lmdb_scan does. Nothing here is timed
 * against a target.
 *
 * usage: snapshot_read --dir STORE_DIR --task T --checkpoint ID
 *                      --checksum C
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/snapshot.h"
#include "common/store.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: snapshot_read --dir STORE_DIR --task T "
	    "--checkpoint ID --checksum C\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "task", required_argument, NULL, 't' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "checksum", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	long long task = -1, id = -1, sum = -1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			task = atoll(optarg);
			break;
		case 'c':
			id = atoll(optarg);
			break;
		case 's':
			sum = atoll(optarg);
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc || task < 0 || id < 1 || sum < 0)
		usage();
	struct sm_store *st;
	int rv = sm_store_open(dir, 0, 0, &st);
	if (rv != SM_OK) {
		fprintf(stderr, "snapshot_read: %s: %s\n", dir,
		    sm_strerror(rv));
		return 1;
	}
	struct sm_snapshot_data d;
	char why[256];
	uint64_t t0 = sm_now_us();
	rv = sm_snapshot_read(st, (uint32_t) task, (uint64_t) id,
	    (uint32_t) sum, &d, why, sizeof(why));
	double s = (double) (sm_now_us() - t0) / 1e6;
	if (rv != SM_OK) {
		fprintf(stderr, "snapshot_read: %s\n", why);
		sm_store_close(st);
		return 1;
	}
	printf("entries=%zu bytes=%llu seconds=%.6f mb_per_s=%.1f\n",
	    d.n_entries, (unsigned long long) d.bytes_read, s,
	    s > 0 ? (double) d.bytes_read / s / 1e6 : 0.0);
	sm_snapshot_data_free(&d);
	sm_store_close(st);
	return 0;
}
