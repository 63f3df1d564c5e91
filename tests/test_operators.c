/*
 * test_operators.c - the built-in operators on byte records: gen's bytes
 * (the SDK's decision 3), the file sink's formats (records and counts
 * print exactly the lines of before records were bytes; text prints key
 * TAB value), a record of the wrong shape failing the task with a
 * message, and count taking 8-byte keys and emitting decimal text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "common/jobfile.h"
#include "worker/operators/operator.h"
#include "worker/trust.h"

static const char job_text[] = "[job]\nname = ops\n"
                               "[stage src]\noperator = gen\n"
                               "[stage rec]\noperator = file\n"
                               "input = src forward\nformat = records\n"
                               "[stage cnt]\noperator = file\n"
                               "input = src forward\nformat = counts\n"
                               "[stage txt]\noperator = file\n"
                               "input = src forward\nformat = text\n"
                               "[stage counter]\noperator = count\n"
                               "input = src hash\n";

static struct sm_job job;
static char run_dir[256];

/* The sink's directories go when the test does. */
static void
cleanup(void)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/output/.staging-0", run_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/output/.pending", run_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/output", run_dir);
	rmdir(path);
	rmdir(run_dir);
}

static int
setup(void)
{
	char err[256];
	if (job.n_stages == 0 &&
	    sm_job_parse(job_text, "ops.ini", &job, err, sizeof(err)) != SM_OK)
		return SM_EINVAL;
	if (run_dir[0] == '\0') {
		snprintf(run_dir, sizeof(run_dir), "/tmp/sm-test-ops-XXXXXX");
		if (mkdtemp(run_dir) == NULL)
			return SM_EIO;
		atexit(cleanup);
	}
	return SM_OK;
}

static int
open_stage(int stage, struct sm_op **op)
{
	struct sm_op_ctx ctx = { .job = &job,
		.stage = stage,
		.subtask = 0,
		.task = job.stages[stage].first_task,
		.epoch = 1,
		.run_dir = run_dir };
	return sm_operator_open(&ctx, op);
}

/* A gen record of (subtask, seq, key, value) in caller's buffers. */
static struct snapmark_record
gen_rec(uint32_t sub, uint64_t seq, uint64_t key, int64_t value,
    uint8_t k[8], uint8_t v[20])
{
	sm_gen_encode(sub, seq, key, value, k, v);
	return (struct snapmark_record) { k, 8, v, 20, (int64_t) seq };
}

/* Run recs through the sink of `stage` and pre-commit them as checkpoint
 * id; *out is the pre-committed file's text (caller frees). Returns the
 * first error of process or snapshot (op->why into why). */
static int
sink_lines(int stage, uint64_t id, const struct snapmark_record *recs,
    size_t n, char **out, char *why, size_t whylen)
{
	struct sm_op *op = NULL;
	struct sm_snapshot_data d;
	*out = NULL;
	why[0] = '\0';
	int rv = open_stage(stage, &op);
	if (rv == SM_OK) {
		rv = op->ops->process(op, recs, n, NULL);
		snprintf(why, whylen, "%s", op->why);
	}
	if (rv == SM_OK) {
		memset(&d, 0, sizeof(d));
		rv = op->ops->snapshot(op, id, &d);
		op->ops->snapshot_release(op, &d);
	}
	sm_operator_close(op);
	if (rv != SM_OK)
		return rv;
	char name[64], path[600];
	snprintf(name, sizeof(name), SM_SINK_PENDING_FMT, 0, id);
	snprintf(path, sizeof(path), "%s/output/.pending/%s", run_dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return SM_EIO;
	char *buf = calloc(1, 1 << 16);
	size_t len = buf != NULL ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	fclose(f);
	unlink(path);
	(void) len;
	*out = buf;
	return buf != NULL ? SM_OK : SM_ENOMEM;
}

static void
gen_records_are_big_endian_bytes_and_decode_back(void)
{
	uint8_t k[8], v[20];
	sm_gen_encode(0x01020304u, 0x1112131415161718ull, 0x2122232425262728ull,
	    -2, k, v);
	static const uint8_t want_k[8] = { 0x21, 0x22, 0x23, 0x24, 0x25, 0x26,
		0x27, 0x28 };
	static const uint8_t want_v[20] = { 1, 2, 3, 4, 0x11, 0x12, 0x13, 0x14,
		0x15, 0x16, 0x17, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xfe };
	T_TRUE(memcmp(k, want_k, 8) == 0);
	T_TRUE(memcmp(v, want_v, 20) == 0);
	struct snapmark_record r = { k, 8, v, 20, 0 };
	uint32_t sub;
	uint64_t seq, key;
	int64_t value;
	T_OK(sm_gen_decode(&r, &sub, &seq, &key, &value));
	T_TRUE(sub == 0x01020304u && seq == 0x1112131415161718ull &&
	    key == 0x2122232425262728ull && value == -2);
	r.value_len = 19;
	T_ERR(sm_gen_decode(&r, &sub, &seq, &key, &value), SM_EINVAL);
}

static void
records_format_prints_the_lines_of_before(void)
{
	uint8_t k[3][8], v[3][20];
	char *text = NULL, why[256];
	T_OK(setup());
	const struct snapmark_record recs[] = {
		gen_rec(0, 0, 17, 42, k[0], v[0]),
		gen_rec(3, 999, UINT64_MAX, INT64_MIN, k[1], v[1]),
		gen_rec(1, 5, 0, -1, k[2], v[2]),
	};
	T_OK(sink_lines(1, 1, recs, 3, &text, why, sizeof(why)));
	int ok = strcmp(text, "0 0 17 42\n"
	                      "3 999 18446744073709551615 "
	                      "-9223372036854775808\n"
	                      "1 5 0 -1\n") == 0;
	if (!ok)
		fprintf(stderr, "  got: %s\n", text);
	free(text);
	T_TRUE(ok);
}

static void
records_format_fails_on_a_record_not_of_gen_shape(void)
{
	char *text = NULL, why[256];
	T_OK(setup());
	const struct snapmark_record r = { "word", 4, "", 0, 0 };
	T_ERR(sink_lines(1, 2, &r, 1, &text, why, sizeof(why)), SM_EINVAL);
	T_TRUE(text == NULL);
	T_TRUE(strstr(why, "format = records") != NULL);
	T_TRUE(strstr(why, "4-byte key") != NULL);
}

static void
counts_format_prints_key_and_decimal_count(void)
{
	uint8_t k[3][8], v[20];
	char *text = NULL, why[256];
	T_OK(setup());
	sm_put_be64(k[0], 7);
	sm_put_be64(k[1], UINT64_MAX);
	const struct snapmark_record recs[] = {
		{ k[0], 8, "42", 2, SNAPMARK_NO_TIME },
		{ k[1], 8, "-3", 2, SNAPMARK_NO_TIME },
		/* a gen record under counts: its value, as before */
		gen_rec(2, 9, 5, -77, k[2], v),
	};
	T_OK(sink_lines(2, 3, recs, 3, &text, why, sizeof(why)));
	int ok = strcmp(text, "7 42\n18446744073709551615 -3\n5 -77\n") == 0;
	if (!ok)
		fprintf(stderr, "  got: %s\n", text);
	free(text);
	T_TRUE(ok);
	/* a value that is no count fails the task, saying so */
	const struct snapmark_record bad = { k[0], 8, "4x", 2, 0 };
	T_ERR(sink_lines(2, 4, &bad, 1, &text, why, sizeof(why)), SM_EINVAL);
	T_TRUE(strstr(why, "format = counts") != NULL);
	const struct snapmark_record short_key = { "abc", 3, "1", 1, 0 };
	T_ERR(sink_lines(2, 5, &short_key, 1, &text, why, sizeof(why)),
	    SM_EINVAL);
	T_TRUE(strstr(why, "3 bytes") != NULL);
}

static void
text_format_prints_key_tab_value_as_they_are(void)
{
	char *text = NULL, why[256];
	T_OK(setup());
	const struct snapmark_record recs[] = {
		{ "word", 4, "3", 1, 0 },
		{ NULL, 0, "a line", 6, 0 },
		{ "k", 1, NULL, 0, 0 },
	};
	T_OK(sink_lines(3, 6, recs, 3, &text, why, sizeof(why)));
	int ok = strcmp(text, "word\t3\n\ta line\nk\t\n") == 0;
	free(text);
	T_TRUE(ok);
}

/* An emitter that keeps "KEY=VALUE " of each record: an 8-byte key as
 * the big-endian number it holds, any other as its text. */
struct capture {
	struct sm_emitter base;
	char text[512];
	size_t len;
};

static int
capture_emit(struct sm_emitter *e, const struct snapmark_record *r)
{
	struct capture *c = (struct capture *) e;
	if (r->timestamp != SNAPMARK_NO_TIME)
		return SM_EINVAL;
	int n = r->key_len == 8
	    ? snprintf(c->text + c->len, sizeof(c->text) - c->len,
	          "%" PRIu64 "=%.*s ", sm_get_be64(r->key),
	          (int) r->value_len, (const char *) r->value)
	    : snprintf(c->text + c->len, sizeof(c->text) - c->len,
	          "%.*s=%.*s ", (int) r->key_len, (const char *) r->key,
	          (int) r->value_len, (const char *) r->value);
	c->len += n > 0 ? (size_t) n : 0;
	return SM_OK;
}

static void
count_counts_byte_keys_and_emits_decimal_text_in_key_order(void)
{
	struct sm_op *op = NULL;
	struct capture c = { .base = { .emit = capture_emit } };
	uint8_t k[4][8];
	T_OK(setup());
	sm_put_be64(k[0], 5);
	sm_put_be64(k[1], 300);
	sm_put_be64(k[2], 5);
	sm_put_be64(k[3], 5);
	const struct snapmark_record recs[] = {
		{ k[0], 8, "", 0, 0 },
		{ "word", 4, "", 0, 0 },
		{ k[1], 8, "x", 1, 1 },
		{ k[2], 8, "", 0, 2 },
		{ "", 0, "", 0, 0 },
		{ "word", 4, "y", 1, 0 },
		{ k[3], 8, "", 0, 3 },
	};
	T_OK(open_stage(4, &op));
	int rv = op->ops->process(op, recs, 7, &c.base);
	if (rv == SM_OK)
		rv = op->ops->end_input(op, &c.base);
	sm_operator_close(op);
	T_OK(rv);
	/* keys in byte order: the empty key, the big-endian numbers (a
	 * zero first byte), then "word" */
	T_EQ_STR(c.text, "=1 5=3 300=1 word=2 ");
}

static const struct sm_test tests[] = {
#define T(name) { #name, name }
	T(gen_records_are_big_endian_bytes_and_decode_back),
	T(records_format_prints_the_lines_of_before),
	T(records_format_fails_on_a_record_not_of_gen_shape),
	T(counts_format_prints_key_and_decimal_count),
	T(text_format_prints_key_tab_value_as_they_are),
	T(count_counts_byte_keys_and_emits_decimal_text_in_key_order),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
