/*
 * test_lines.c - the `lines` source (operators/lines.c) through the fake
 * host (tests/sdk_harness.h): files split among subtasks, positions in
 * snapshots, exact replay after a restore, the union at another
 * parallelism, follow mode and partial last lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "operators/builtin.h"
#include "tests/check.h"
#include "tests/sdk_harness.h"

static char dir[256];

static void
make_dir(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/test_lines.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void
remove_dir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void
write_file(const char *name, const char *text, const char *mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, mode);
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static struct sm_harness *
make(const char *path, const char *follow, uint32_t subtask,
    uint32_t parallelism)
{
	struct snapmark_option opts[2] = {
		{ "path", path, 1 },
		{ "follow", follow ? follow : "false", 2 },
	};
	struct sm_harness_setup s = {
		.op = sm_builtin_operator("lines"),
		.options = opts,
		.n_options = 2,
		.subtask = subtask,
		.parallelism = parallelism,
		.processing_time = 1000,
	};
	char err[256];
	struct sm_harness *h = sm_harness_create(&s, err, sizeof(err));
	if (h == NULL)
		fprintf(stderr, "  create: %s\n", err);
	return h;
}

/* drain produces (max records at a time) until done or rounds run out;
 * returns done. */
static int
drain(struct sm_harness *h, size_t max, int rounds)
{
	int done = 0;
	for (int i = 0; i < rounds && !done; i++)
		if (sm_harness_produce(h, max, &done) != SNAPMARK_OK) {
			fprintf(stderr, "  produce: %s\n",
			    sm_harness_failure(h));
			return -1;
		}
	return done;
}

/* value i of h as a string */
static const char *
value(const struct sm_harness *h, size_t i, char *buf, size_t len)
{
	const struct snapmark_record *r = sm_harness_emitted(h, i);
	snprintf(buf, len, "%.*s", r ? (int) r->value_len : 0,
	    r ? (const char *) r->value : "");
	return buf;
}

/* Six files "fN" with lines "fN:0".."fN:4". */
static void
six_files(void)
{
	for (int f = 0; f < 6; f++) {
		char name[8], text[128] = "";
		snprintf(name, sizeof(name), "f%d", f);
		for (int l = 0; l < 5; l++) {
			char line[16];
			snprintf(line, sizeof(line), "f%d:%d\n", f, l);
			strcat(text, line);
		}
		write_file(name, text, "w");
	}
}

static void
test_configure_refusals(void)
{
	const struct snapmark_operator *op = sm_builtin_operator("lines");
	T_TRUE(op != NULL);
	struct {
		struct snapmark_option o;
		const char *want;
	} cases[] = {
		{ { "path", "relative/dir", 1 }, "path must be an absolute" },
		{ { "follow", "yes", 1 }, "follow must be true or false" },
		{ { "pth", "/x", 1 }, "unknown option 'pth'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *config = NULL;
		char err[256] = "";
		T_TRUE(op->configure(&cases[i].o, 1, &config, err,
		           sizeof(err)) != 0);
		T_TRUE(strstr(err, cases[i].want) != NULL);
	}
	void *config = NULL;
	char err[256] = "";
	T_TRUE(op->configure(NULL, 0, &config, err, sizeof(err)) != 0);
	T_TRUE(strstr(err, "needs path") != NULL);
}

static void
test_one_file_partial_last_line(void)
{
	make_dir();
	write_file("only", "alpha\n\nbeta\ngamma", "w");
	char path[300], buf[64];
	snprintf(path, sizeof(path), "%s/only", dir);
	struct sm_harness *h = make(path, NULL, 0, 1);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(drain(h, 100, 10), 1);
	T_EQ_INT(sm_harness_emitted_count(h), 4);
	T_EQ_STR(value(h, 0, buf, sizeof(buf)), "alpha");
	T_EQ_STR(value(h, 1, buf, sizeof(buf)), "");
	T_EQ_STR(value(h, 2, buf, sizeof(buf)), "beta");
	T_EQ_STR(value(h, 3, buf, sizeof(buf)), "gamma");
	/* Key empty, stamped with processing time; watermark now - 1. */
	T_EQ_INT(sm_harness_emitted(h, 0)->key_len, 0);
	T_EQ_INT(sm_harness_emitted(h, 0)->timestamp, 1000);
	T_TRUE(sm_harness_watermark_count(h) >= 1);
	T_EQ_INT(sm_harness_watermark_at(h, 0), 999);
	sm_harness_free(h);
	remove_dir();
}

static void
test_split_by_file(void)
{
	make_dir();
	six_files();
	int seen[6][5] = { { 0 } };
	int owner[6] = { -1, -1, -1, -1, -1, -1 };
	size_t total = 0;
	for (uint32_t s = 0; s < 3; s++) {
		struct sm_harness *h = make(dir, NULL, s, 3);
		T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
		T_EQ_INT(drain(h, 4, 100), 1);
		int last_file = -1, last_line = -1;
		for (size_t i = 0; i < sm_harness_emitted_count(h); i++) {
			char buf[64];
			int f, l;
			T_EQ_INT(sscanf(value(h, i, buf, sizeof(buf)),
			             "f%d:%d", &f, &l),
			    2);
			T_TRUE(owner[f] == -1 || owner[f] == (int) s);
			owner[f] = (int) s;
			/* In order of file name, then of line. */
			T_TRUE(f > last_file ||
			    (f == last_file && l == last_line + 1));
			last_file = f;
			last_line = l;
			seen[f][l]++;
			total++;
		}
		sm_harness_free(h);
	}
	T_EQ_INT(total, 30);
	for (int f = 0; f < 6; f++)
		for (int l = 0; l < 5; l++)
			T_EQ_INT(seen[f][l], 1);
	remove_dir();
}

static void
test_restore_replays_exactly(void)
{
	make_dir();
	six_files();
	struct sm_harness *h = make(dir, NULL, 0, 1);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	int done = 0;
	/* 7 records: all of f0 and two of f1. */
	T_EQ_INT(sm_harness_produce(h, 4, &done), SNAPMARK_OK);
	T_EQ_INT(sm_harness_produce(h, 3, &done), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 7);
	struct sm_harness_snapshot *snap;
	T_EQ_INT(sm_harness_snapshot(h, 5, &snap), SNAPMARK_OK);
	T_EQ_INT(sm_harness_snapshot_items(snap), 6); /* one per file */
	/* What follows the snapshot, read twice: before the "crash" and
	 * after the restore. */
	T_EQ_INT(drain(h, 5, 100), 1);
	size_t n = sm_harness_emitted_count(h);
	T_EQ_INT(n, 30);

	struct sm_harness *r = make(dir, NULL, 0, 1);
	const struct sm_harness_snapshot *snaps[] = { snap };
	T_EQ_INT(sm_harness_restore(r, snaps, 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_open(r), SNAPMARK_OK);
	T_EQ_INT(drain(r, 2, 100), 1);
	T_EQ_INT(sm_harness_emitted_count(r), 23);
	for (size_t i = 0; i < 23; i++) {
		char a[64], b[64];
		T_EQ_STR(value(r, i, a, sizeof(a)),
		    value(h, 7 + i, b, sizeof(b)));
	}
	sm_harness_free(h);
	sm_harness_free(r);
	sm_harness_snapshot_free(snap);
	remove_dir();
}

static void
test_rescale_union(void)
{
	make_dir();
	six_files();
	int seen[6][5] = { { 0 } };
	struct sm_harness_snapshot *snaps[2];
	/* Parallelism 2: each reads 3 records, then the snapshot. */
	for (uint32_t s = 0; s < 2; s++) {
		struct sm_harness *h = make(dir, NULL, s, 2);
		T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
		int done;
		T_EQ_INT(sm_harness_produce(h, 3, &done), SNAPMARK_OK);
		for (size_t i = 0; i < sm_harness_emitted_count(h); i++) {
			char buf[64];
			int f, l;
			sscanf(value(h, i, buf, sizeof(buf)), "f%d:%d", &f,
			    &l);
			seen[f][l]++;
		}
		T_EQ_INT(sm_harness_snapshot(h, 9, &snaps[s]), SNAPMARK_OK);
		sm_harness_free(h);
	}
	/* Parallelism 3 from both: every line exactly once in all. */
	const struct sm_harness_snapshot *both[] = { snaps[0], snaps[1] };
	for (uint32_t s = 0; s < 3; s++) {
		struct sm_harness *h = make(dir, NULL, s, 3);
		T_EQ_INT(sm_harness_restore(h, both, 2), SNAPMARK_OK);
		T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
		T_EQ_INT(drain(h, 4, 100), 1);
		for (size_t i = 0; i < sm_harness_emitted_count(h); i++) {
			char buf[64];
			int f, l;
			sscanf(value(h, i, buf, sizeof(buf)), "f%d:%d", &f,
			    &l);
			seen[f][l]++;
		}
		sm_harness_free(h);
	}
	for (int f = 0; f < 6; f++)
		for (int l = 0; l < 5; l++)
			T_EQ_INT(seen[f][l], 1);
	sm_harness_snapshot_free(snaps[0]);
	sm_harness_snapshot_free(snaps[1]);
	remove_dir();
}

static void
test_follow(void)
{
	make_dir();
	write_file("a", "one\ntwo\npar", "w");
	struct sm_harness *h = make(dir, "true", 0, 1);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	T_EQ_INT(drain(h, 100, 3), 0); /* never done */
	char buf[64];
	T_EQ_INT(sm_harness_emitted_count(h), 2);
	T_EQ_STR(value(h, 1, buf, sizeof(buf)), "two");
	/* The partial line waits for its newline. */
	write_file("a", "tial\nthree\n", "a");
	T_EQ_INT(drain(h, 100, 2), 0);
	T_EQ_INT(sm_harness_emitted_count(h), 4);
	T_EQ_STR(value(h, 2, buf, sizeof(buf)), "partial");
	T_EQ_STR(value(h, 3, buf, sizeof(buf)), "three");
	/* A new file, seen at the next listing (after LINES_RESCAN_MS). */
	write_file("b", "bee\n", "w");
	T_EQ_INT(sm_harness_advance_processing_time(h, 1200), SNAPMARK_OK);
	T_EQ_INT(drain(h, 100, 3), 0);
	T_EQ_INT(sm_harness_emitted_count(h), 5);
	T_EQ_STR(value(h, 4, buf, sizeof(buf)), "bee");
	T_EQ_INT(sm_harness_emitted(h, 4)->timestamp, 1200);
	/* A snapshot in follow mode, restored: nothing is read twice. */
	struct sm_harness_snapshot *snap;
	T_EQ_INT(sm_harness_snapshot(h, 1, &snap), SNAPMARK_OK);
	write_file("b", "more\n", "a");
	struct sm_harness *r = make(dir, "true", 0, 1);
	const struct sm_harness_snapshot *snaps[] = { snap };
	T_EQ_INT(sm_harness_restore(r, snaps, 1), SNAPMARK_OK);
	T_EQ_INT(sm_harness_open(r), SNAPMARK_OK);
	T_EQ_INT(drain(r, 100, 3), 0);
	T_EQ_INT(sm_harness_emitted_count(r), 1);
	T_EQ_STR(value(r, 0, buf, sizeof(buf)), "more");
	sm_harness_free(h);
	sm_harness_free(r);
	sm_harness_snapshot_free(snap);
	remove_dir();
}

static void
test_missing_path_fails(void)
{
	struct sm_harness *h = make("/nonexistent/snapmark-lines", NULL, 0, 1);
	T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
	int done;
	T_EQ_INT(sm_harness_produce(h, 10, &done), SNAPMARK_ERROR);
	T_TRUE(strstr(sm_harness_failure(h), "cannot read") != NULL);
	sm_harness_free(h);
}

static const struct sm_test tests[] = {
	{ "configure_refusals", test_configure_refusals },
	{ "one_file_partial_last_line", test_one_file_partial_last_line },
	{ "split_by_file", test_split_by_file },
	{ "restore_replays_exactly", test_restore_replays_exactly },
	{ "rescale_union", test_rescale_union },
	{ "follow", test_follow },
	{ "missing_path_fails", test_missing_path_fails },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
