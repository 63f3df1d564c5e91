/*
 * lmdb_scan.c - LMDB's raw sequential read rate over a task's snapshot
 * store, the yardstick for the rate at which a restore reads it.
 *
 * A restore walks the state entries of a snapshot chain with an LMDB
 * cursor, decodes each protobuf value, checks its key and checksum and
 * builds the state. This program walks the same store with the bare LMDB
 * API and nothing else: a read-only transaction, one cursor, MDB_NEXT over
 * every key of the prefix, and every value byte summed so that each page
 * is really read. By default it times the first walk of a fresh process:
 * the file in the page cache but not yet mapped, exactly what a restarted
 * task finds when it restores right after a crash (--repeat N times N
 * walks in the same process and reports the fastest, with the mapping
 * warm). One line of key=value pairs for scripts/bench:
 *
 *   entries=N bytes=B seconds=S mb_per_s=M entries_per_s=E
 *
 * bytes counts value bytes, as the restore's log line does, so the two
 * rates compare directly. Nothing here is timed against a target.
 *
 * usage: lmdb_scan --dir STORE_DIR [--prefix CHAR] [--repeat N]
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: lmdb_scan --dir STORE_DIR [--prefix CHAR] [--repeat N]\n");
	exit(2);
}

struct scan {
	uint64_t entries, bytes, sum;
};

static int
scan_once(MDB_env *env, const char *prefix, struct scan *out)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0) {
		fprintf(stderr, "lmdb_scan: %s\n", mdb_strerror(rc));
		return -1;
	}
	size_t plen = strlen(prefix);
	k.mv_size = plen;
	k.mv_data = (void *) prefix;
	memset(out, 0, sizeof(*out));
	rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 &&
	    (k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0)) {
		const unsigned char *p = v.mv_data;
		uint64_t s = 0;
		for (size_t i = 0; i < v.mv_size; i++)
			s += p[i];
		out->sum += s;
		out->entries++;
		out->bytes += v.mv_size;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		fprintf(stderr, "lmdb_scan: %s\n", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *prefix = "";
	int repeat = 1;
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc || repeat < 1 || strlen(prefix) > 1)
		usage();
	MDB_env *env;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_open(env, dir, MDB_RDONLY, 0644);
	if (rc != 0) {
		fprintf(stderr, "lmdb_scan: %s: %s\n", dir, mdb_strerror(rc));
		return 1;
	}
	double best = 0;
	struct scan s;
	for (int i = 0; i < repeat; i++) {
		double t0 = now_s();
		if (scan_once(env, prefix, &s) != 0)
			return 1;
		double t = now_s() - t0;
		if (i == 0 || t < best)
			best = t;
	}
	mdb_env_close(env);
	printf("entries=%llu bytes=%llu seconds=%.6f mb_per_s=%.1f "
	       "entries_per_s=%.0f checksum=%llu\n",
	    (unsigned long long) s.entries, (unsigned long long) s.bytes, best,
	    best > 0 ? (double) s.bytes / best / 1e6 : 0.0,
	    best > 0 ? (double) s.entries / best : 0.0,
	    (unsigned long long) (s.sum & 0xffff));
	return 0;
}
