/*
 * test_examples.c - the example plugins of examples/plugins/ (tokenize,
 * sessionize) unit-tested through the fake host of tests/sdk_harness.h,
 * as docs/SDK.md shows a user testing an operator: the plugins' sources
 * are compiled into this test, which calls their entry points directly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "tests/sdk_harness.h"

/* The entry points of examples/plugins/tokenize.c and sessionize.c. */
const struct snapmark_operator *snapmark_operator_v1_tokenize(void);
const struct snapmark_operator *snapmark_operator_v1_sessionize(void);

/* A harness for op with the given options (key = value pairs). */
static struct sm_harness *
start(const struct snapmark_operator *op, int keyed,
    const struct snapmark_option *opts, size_t n, char *err, size_t errlen)
{
	struct sm_harness_setup st = {
		.op = op,
		.options = opts,
		.n_options = n,
		.keyed = keyed,
	};
	struct sm_harness *h = sm_harness_create(&st, err, errlen);
	if (h != NULL && sm_harness_open(h) != SNAPMARK_OK) {
		sm_harness_free(h);
		return NULL;
	}
	return h;
}

/* Every emitted record as "KEY<TAB>VALUE@TIMESTAMP\n", in order. */
static const char *
emitted(const struct sm_harness *h, char *buf, size_t len)
{
	size_t used = 0;
	char line[512];

	buf[0] = '\0';
	for (size_t i = 0; i < sm_harness_emitted_count(h); i++) {
		const struct snapmark_record *r = sm_harness_emitted(h, i);
		int n = snprintf(buf + used, len - used, "%s@%" PRId64 "\n",
		    sm_harness_emitted_text(h, i, line, sizeof line),
		    r->timestamp);
		if (n < 0 || (size_t) n >= len - used)
			break;
		used += (size_t) n;
	}
	return buf;
}

/* ----------------------------------------------------------- tokenize */

static void
test_tokenize_words_lowered(void)
{
	char err[256], out[1024];
	struct sm_harness *h = start(snapmark_operator_v1_tokenize(), 0, NULL,
	    0, err, sizeof err);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_feed(h, "", "  The quick\tbrown  FOX\r\n\vjumps",
	    42), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "", "", 43), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "", " \t ", 44), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "", "x", SNAPMARK_NO_TIME), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out),
	    "the\t@42\nquick\t@42\nbrown\t@42\nfox\t@42\njumps\t@42\n"
	    "x\t@-9223372036854775808\n");
	for (size_t i = 0; i < sm_harness_emitted_count(h); i++)
		T_EQ_INT(sm_harness_emitted(h, i)->value_len, 0);
	sm_harness_free(h);
}

static void
test_tokenize_keeps_case_and_bytes(void)
{
	char err[256], out[1024];
	struct snapmark_option keep = {"lowercase", "false", 3};
	struct sm_harness *h = start(snapmark_operator_v1_tokenize(), 0, &keep,
	    1, err, sizeof err);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_feed(h, "", "Hello  WORLD", 7), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out), "Hello\t@7\nWORLD\t@7\n");
	sm_harness_free(h);

	/* Lowering touches ASCII letters only: the bytes of "É" stay. */
	h = start(snapmark_operator_v1_tokenize(), 0, NULL, 0, err,
	    sizeof err);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_feed(h, "", "\xc3\x89" "COLE d'\xc3\x89t\xc3\xa9", 1),
	    SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out),
	    "\xc3\x89" "cole\t@1\nd'\xc3\x89t\xc3\xa9\t@1\n");
	sm_harness_free(h);
}

static void
test_tokenize_refuses_options(void)
{
	char err[256] = "";
	struct snapmark_option colour = {"colour", "red", 4};
	struct snapmark_option maybe = {"lowercase", "maybe", 5};
	struct sm_harness_setup st = {
		.op = snapmark_operator_v1_tokenize(),
		.options = &colour,
		.n_options = 1,
	};

	T_TRUE(sm_harness_create(&st, err, sizeof err) == NULL);
	T_TRUE(strstr(err, "unknown option 'colour'") != NULL);
	st.options = &maybe;
	T_TRUE(sm_harness_create(&st, err, sizeof err) == NULL);
	T_EQ_STR(err, "lowercase must be true or false, not 'maybe'");
}

/* --------------------------------------------------------- sessionize */

static struct snapmark_option gap200[] = {{"gap_ms", "200", 1}};

static void
test_sessionize_refuses_options(void)
{
	char err[256] = "";
	struct snapmark_option bad[][2] = {
		{{"key_format", "hex", 1}, {"gap_ms", "0", 2}},
		{{"gap_ms", "12ms", 1}, {"key_format", "hex", 2}},
		{{"gap_ms", "5", 1}, {"key_format", "base64", 2}},
		{{"gap_ms", "5", 1}, {"window", "5", 2}},
	};
	const char *want[] = {
		"gap_ms must be a positive number of milliseconds, not '0'",
		"gap_ms must be a positive number of milliseconds, not '12ms'",
		"key_format must be raw or hex, not 'base64'",
		"unknown option 'window' (sessionize takes gap_ms and "
		"key_format)",
	};
	struct sm_harness_setup st = {.op = snapmark_operator_v1_sessionize()};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.options = bad[i];
		st.n_options = 2;
		T_TRUE(sm_harness_create(&st, err, sizeof err) == NULL);
		T_EQ_STR(err, want[i]);
	}
	st.n_options = 0;
	T_TRUE(sm_harness_create(&st, err, sizeof err) == NULL);
	T_TRUE(strncmp(err, "gap_ms is required", 18) == 0);
}

static void
test_sessionize_sessions_close_on_watermark(void)
{
	char err[256], out[1024];
	struct sm_harness *h = start(snapmark_operator_v1_sessionize(), 1,
	    gap200, 1, err, sizeof err);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_feed(h, "a", "", 0), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "b", "", 50), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "", 100), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "a", "", 250), SNAPMARK_OK);
	/* a: one session (gaps of 100 and 150 < 200), one timer at 450. */
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 2);
	T_EQ_INT(sm_harness_advance_watermark(h, 249), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 0);
	T_EQ_INT(sm_harness_advance_watermark(h, 250), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out), "b\t50\t250\t1@249\n");
	/* A gap of exactly gap_ms starts a new session. */
	T_EQ_INT(sm_harness_feed(h, "a", "", 450), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(h, 449), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 1);
	T_EQ_INT(sm_harness_advance_watermark(h, INT64_MAX), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out), "b\t50\t250\t1@249\n"
	    "a\t0\t450\t3@449\na\t450\t650\t1@649\n");
	/* Nothing is left behind: no state, no timer. */
	T_EQ_INT(sm_harness_state_entries(h), 0);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 0);
	sm_harness_free(h);
}

static void
test_sessionize_merges_out_of_order(void)
{
	char err[256], out[1024];
	struct sm_harness *h = start(snapmark_operator_v1_sessionize(), 1,
	    gap200, 1, err, sizeof err);
	T_TRUE(h != NULL);
	/* Two sessions, then events in between that bridge them. */
	T_EQ_INT(sm_harness_feed(h, "k", "", 0), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "k", "", 500), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 2);
	T_EQ_INT(sm_harness_feed(h, "k", "", 350), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 2);
	/* 160: within 200 of 0 and of 350 (150 would not be: a gap of
	 * exactly gap_ms separates). */
	T_EQ_INT(sm_harness_feed(h, "k", "", 160), SNAPMARK_OK);
	T_EQ_INT(sm_harness_timer_count(h, SNAPMARK_EVENT_TIME), 1);
	T_EQ_INT(sm_harness_advance_watermark(h, 699), SNAPMARK_OK);
	T_EQ_INT(sm_harness_emitted_count(h), 0);
	T_EQ_INT(sm_harness_advance_watermark(h, 700), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out), "k\t0\t700\t4@699\n");
	sm_harness_free(h);
}

static void
test_sessionize_late_and_untimed(void)
{
	char err[256];
	struct sm_harness *h = start(snapmark_operator_v1_sessionize(), 1,
	    gap200, 1, err, sizeof err);
	T_TRUE(h != NULL);
	T_EQ_INT(sm_harness_advance_watermark(h, 1000), SNAPMARK_OK);
	T_EQ_INT(sm_harness_feed(h, "k", "", 999), SNAPMARK_OK);
	T_EQ_INT(sm_harness_state_entries(h), 0);
	T_TRUE(sm_harness_log_count(h) == 1 &&
	    strstr(sm_harness_log_line(h, 0), "late") != NULL);
	T_EQ_INT(sm_harness_feed(h, "k", "", SNAPMARK_NO_TIME), SNAPMARK_ERROR);
	T_TRUE(strstr(sm_harness_failure(h), "without event time") != NULL);
	sm_harness_free(h);
}

static void
test_sessionize_hex_keys(void)
{
	char err[256], out[1024];
	struct snapmark_option opts[] = {{"gap_ms", "10", 1},
	    {"key_format", "hex", 2}};
	struct sm_harness *h = start(snapmark_operator_v1_sessionize(), 1,
	    opts, 2, err, sizeof err);
	T_TRUE(h != NULL);
	unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0x01, 0xfe};
	struct snapmark_record r = {key, 8, "", 0, 5};
	T_EQ_INT(sm_harness_process(h, &r), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(h, 15), SNAPMARK_OK);
	T_EQ_STR(emitted(h, out, sizeof out), "00000000000001fe\t5\t15\t1@14\n");
	sm_harness_free(h);
}

/* A tiny PRNG (xorshift) for the randomized checks: reproducible. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define N_EVENTS 3000
#define N_KEYS 7
#define BLOCK_MS 300

struct event {
	int key;
	int64_t t;
};

static int
by_key_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->t > y->t) - (x->t < y->t);
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The sessions of events, computed the plain way (sort each key's
 * events, split where the next is gap or more later), as sorted lines. */
static char *
reference_sessions(struct event *ev, size_t n, int64_t gap)
{
	char *text = calloc(1, 64 * n + 1);
	char **lines = calloc(n, sizeof(*lines));
	size_t used = 0, nl = 0;

	qsort(ev, n, sizeof(*ev), by_key_time);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ev[j].key == ev[i].key &&
		    ev[j].t - ev[j - 1].t < gap)
			j++;
		lines[nl] = malloc(64);
		snprintf(lines[nl++], 64, "k%d\t%" PRId64 "\t%" PRId64 "\t%zu",
		    ev[i].key, ev[i].t, ev[j - 1].t + gap, j - i);
		i = j;
	}
	qsort(lines, nl, sizeof(*lines),
	    cmp_lines);
	for (size_t i = 0; i < nl; i++) {
		used += (size_t) sprintf(text + used, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return text;
}

/* Sorted "KEY<TAB>VALUE" lines of everything emitted. */
static char *
emitted_sorted(const struct sm_harness *h)
{
	size_t n = sm_harness_emitted_count(h);
	char **lines = calloc(n + 1, sizeof(*lines));
	char *text = calloc(1, 64 * n + 1);
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		lines[i] = malloc(64);
		sm_harness_emitted_text(h, i, lines[i], 64);
	}
	qsort(lines, n, sizeof(*lines),
	    cmp_lines);
	for (size_t i = 0; i < n; i++) {
		used += (size_t) sprintf(text + used, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return text;
}

/*
 * Random events, fed out of order within blocks of BLOCK_MS (the watermark
 * is the start of the current block, so no event is late), with a snapshot
 * and a restore into a new harness every few blocks: the sessions emitted
 * are exactly those of the plain computation.
 */
static void
test_sessionize_random_with_restores(void)
{
	static struct event ev[N_EVENTS];
	uint64_t seed = 0x5eed;
	char err[256];

	for (size_t i = 0; i < N_EVENTS; i++) {
		ev[i].key = (int) (next_rand(&seed) % N_KEYS);
		ev[i].t = (int64_t) (next_rand(&seed) % 60000);
	}
	/* Feed order: by block, shuffled within each block. */
	static struct event feed[N_EVENTS];
	memcpy(feed, ev, sizeof(ev));
	for (size_t i = 0; i < N_EVENTS; i++)
		for (size_t j = i + 1; j < N_EVENTS; j++)
			if (feed[j].t / BLOCK_MS < feed[i].t / BLOCK_MS) {
				struct event x = feed[i];
				feed[i] = feed[j];
				feed[j] = x;
			}
	for (size_t i = 0; i + 1 < N_EVENTS; i++) {
		size_t j = i + 1 + next_rand(&seed) % 8;
		if (j < N_EVENTS && feed[j].t / BLOCK_MS == feed[i].t / BLOCK_MS) {
			struct event x = feed[i];
			feed[i] = feed[j];
			feed[j] = x;
		}
	}

	struct snapmark_option gap = {"gap_ms", "250", 1};
	struct sm_harness *h = start(snapmark_operator_v1_sessionize(), 1,
	    &gap, 1, err, sizeof err);
	T_TRUE(h != NULL);
	/* All output across restores, as "KEY<TAB>VALUE" lines. */
	char *all = calloc(1, 64 * (size_t) N_EVENTS + 1);
	size_t used = 0;
	int64_t block = -1;
	int restores = 0;
	for (size_t i = 0; i < N_EVENTS; i++) {
		int64_t b = feed[i].t / BLOCK_MS;
		if (b != block) {
			block = b;
			T_EQ_INT(sm_harness_advance_watermark(h, b * BLOCK_MS),
			    SNAPMARK_OK);
			if (b % 17 == 0) {
				/* What came out so far, then a restore. */
				char *part = emitted_sorted(h);
				used += (size_t) sprintf(all + used, "%s", part);
				free(part);
				struct sm_harness_snapshot *s;
				T_EQ_INT(sm_harness_snapshot(h, (uint64_t) b, &s),
				    SNAPMARK_OK);
				sm_harness_free(h);
				struct sm_harness_setup st = {
					.op = snapmark_operator_v1_sessionize(),
					.options = &gap,
					.n_options = 1,
					.keyed = 1,
				};
				h = sm_harness_create(&st, err, sizeof err);
				T_TRUE(h != NULL);
				const struct sm_harness_snapshot *one = s;
				T_EQ_INT(sm_harness_restore(h, &one, 1),
				    SNAPMARK_OK);
				T_EQ_INT(sm_harness_open(h), SNAPMARK_OK);
				sm_harness_snapshot_free(s);
				T_EQ_INT(sm_harness_advance_watermark(h,
				    b * BLOCK_MS), SNAPMARK_OK);
				restores++;
			}
		}
		char key[8];
		snprintf(key, sizeof key, "k%d", feed[i].key);
		T_EQ_INT(sm_harness_feed(h, key, "", feed[i].t), SNAPMARK_OK);
	}
	T_EQ_INT(sm_harness_end_input(h), SNAPMARK_OK);
	T_EQ_INT(sm_harness_advance_watermark(h, INT64_MAX), SNAPMARK_OK);
	char *part = emitted_sorted(h);
	used += (size_t) sprintf(all + used, "%s", part);
	free(part);
	T_EQ_INT(sm_harness_log_count(h), 0); /* nothing late */
	sm_harness_free(h);
	T_TRUE(restores >= 5);

	/* Sort all lines together and compare with the reference. */
	size_t nl = 0;
	for (char *p = all; *p; p++)
		nl += *p == '\n';
	char **lines = calloc(nl + 1, sizeof(*lines));
	size_t k = 0;
	for (char *p = strtok(all, "\n"); p != NULL; p = strtok(NULL, "\n"))
		lines[k++] = p;
	qsort(lines, k, sizeof(*lines),
	    cmp_lines);
	char *got = calloc(1, 64 * (size_t) N_EVENTS + 1);
	used = 0;
	for (size_t i = 0; i < k; i++)
		used += (size_t) sprintf(got + used, "%s\n", lines[i]);
	char *want = reference_sessions(ev, N_EVENTS, 250);
	T_TRUE(k > N_KEYS * 10);
	T_EQ_STR(got, want);
	free(lines);
	free(all);
	free(got);
	free(want);
}

static const struct sm_test tests[] = {
	{"tokenize_words_lowered", test_tokenize_words_lowered},
	{"tokenize_keeps_case_and_bytes", test_tokenize_keeps_case_and_bytes},
	{"tokenize_refuses_options", test_tokenize_refuses_options},
	{"sessionize_refuses_options", test_sessionize_refuses_options},
	{"sessionize_sessions_close_on_watermark",
	    test_sessionize_sessions_close_on_watermark},
	{"sessionize_merges_out_of_order",
	    test_sessionize_merges_out_of_order},
	{"sessionize_late_and_untimed", test_sessionize_late_and_untimed},
	{"sessionize_hex_keys", test_sessionize_hex_keys},
	{"sessionize_random_with_restores",
	    test_sessionize_random_with_restores},
	{NULL, NULL},
};

SM_TEST_MAIN(tests)
