/*
 * test_jobfile.c - the job file: parsing, defaults, the task and channel
 * numbering, the errors (each naming its line) and key groups.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "common/jobfile.h"
#include "common/keygroup.h"

/* An sm_job is ~100 KiB (its pool): keep it off the stack. */
static struct sm_job job;
static char err[512];

/* parse parses text as "job.ini" and prints the error if there is one. */
static int
parse(const char *text)
{
	int rv;

	err[0] = '\0';
	rv = sm_job_parse(text, "job.ini", &job, err, sizeof(err));
	if (rv != SM_OK)
		fprintf(stderr, "  parse error: %s\n", err);
	return rv;
}

/* T_CHANNEL: channel c runs from task `from` to task `to` and arrives on
 * input `input` of the receiving stage. */
#define T_CHANNEL(c, from, to, input)                                         \
	do {                                                                  \
		struct sm_job_channel ch_;                                    \
		T_OK(sm_job_channel(&job, c, &ch_));                          \
		T_EQ_INT(ch_.index, c);                                       \
		T_EQ_INT(ch_.from_task, from);                                \
		T_EQ_INT(ch_.to_task, to);                                    \
		T_EQ_INT(ch_.to_input, input);                                \
	} while (0)

static const char wordcount[] =
    "; the word count of the docs\n"
    "[job]\n"
    "name = wordcount   ; inline comment\n"
    "heartbeat_ms = 200\n"
    "heartbeat_timeout_ms = 2000\n"
    "\n"
    "[checkpoint]\n"
    "interval_ms = 500\n"
    "timeout_ms = 5000\n"
    "min_pause_ms = 50\n"
    "retained = 5\n"
    "mode = at_least_once\n"
    "tolerable_failures = 7\n"
    "\n"
    "# a source of two subtasks\n"
    "[stage source]\n"
    "operator = gen\n"
    "parallelism = 2\n"
    "records = 200000\n"
    "keys = 1000\n"
    "rate = 0\n"
    "seed = 7\n"
    "\n"
    "[stage counter]\n"
    "input = source hash   ; before operator: order does not matter\n"
    "operator = count\n"
    "parallelism = 3\n"
    "max_parallelism = 64\n"
    "\n"
    "[stage sink]\n"
    "operator = file\n"
    "parallelism = 3\n"
    "input = counter forward\n";

static void
wordcount_parses_with_every_setting(void)
{
	T_OK(parse(wordcount));
	T_EQ_STR(job.name, "wordcount");
	T_EQ_INT(job.heartbeat_ms, 200);
	T_EQ_INT(job.heartbeat_timeout_ms, 2000);
	T_EQ_INT(job.checkpoint.interval_ms, 500);
	T_EQ_INT(job.checkpoint.timeout_ms, 5000);
	T_EQ_INT(job.checkpoint.min_pause_ms, 50);
	T_EQ_INT(job.checkpoint.retained, 5);
	T_EQ_INT(job.checkpoint.mode, SM_MODE_AT_LEAST_ONCE);
	T_EQ_INT(job.checkpoint.tolerable_failures, 7);

	T_EQ_INT(job.n_stages, 3);
	T_EQ_STR(job.stages[0].name, "source");
	T_EQ_INT(job.stages[0].op, SM_OP_GEN);
	T_EQ_INT(job.stages[0].parallelism, 2);
	T_EQ_INT(job.stages[0].records, 200000);
	T_EQ_INT(job.stages[0].keys, 1000);
	T_EQ_INT(job.stages[0].rate, 0);
	T_EQ_INT(job.stages[0].seed, 7);
	T_EQ_INT(job.stages[0].n_inputs, 0);
	T_EQ_INT(job.stages[0].line, 16);

	T_EQ_STR(job.stages[1].name, "counter");
	T_EQ_INT(job.stages[1].op, SM_OP_COUNT);
	T_EQ_INT(job.stages[1].max_parallelism, 64);
	T_EQ_INT(job.stages[1].n_inputs, 1);
	T_EQ_INT(job.stages[1].inputs[0].stage, 0);
	T_EQ_INT(job.stages[1].inputs[0].edge, SM_EDGE_HASH);

	T_EQ_STR(job.stages[2].name, "sink");
	T_EQ_INT(job.stages[2].op, SM_OP_FILE_SINK);
	T_EQ_INT(job.stages[2].inputs[0].stage, 1);
	T_EQ_INT(job.stages[2].inputs[0].edge, SM_EDGE_FORWARD);
	/* A file sink fed by a count writes counts unless told otherwise. */
	T_EQ_STR(job.stages[2].format, "counts");
}

static void
tasks_are_numbered_stage_by_stage(void)
{
	char name[80];

	T_OK(parse(wordcount));
	T_EQ_INT(job.n_tasks, 8);
	T_EQ_INT(job.stages[0].first_task, 0);
	T_EQ_INT(job.stages[1].first_task, 2);
	T_EQ_INT(job.stages[2].first_task, 5);
	T_EQ_INT(sm_job_task_stage(&job, 0), 0);
	T_EQ_INT(sm_job_task_stage(&job, 1), 0);
	T_EQ_INT(sm_job_task_stage(&job, 2), 1);
	T_EQ_INT(sm_job_task_stage(&job, 4), 1);
	T_EQ_INT(sm_job_task_stage(&job, 7), 2);
	T_EQ_INT(sm_job_task_stage(&job, 8), -1);
	T_EQ_INT(sm_job_task_stage(&job, -1), -1);
	sm_job_task_name(&job, 3, name, sizeof(name));
	T_EQ_STR(name, "counter.1");
	sm_job_task_name(&job, 0, name, sizeof(name));
	T_EQ_STR(name, "source.0");
	sm_job_task_name(&job, 7, name, sizeof(name));
	T_EQ_STR(name, "sink.2");
	sm_job_task_name(&job, 99, name, sizeof(name));
	T_EQ_STR(name, "#99");
}

static void
channels_are_numbered_by_stage_input_and_upstream_subtask(void)
{
	struct sm_job_channel ch;

	T_OK(parse(wordcount));
	/* source (tasks 0,1) -hash-> counter (tasks 2,3,4): 2 x 3 pairs,
	 * upstream-major, then counter -forward-> sink (tasks 5,6,7). */
	T_EQ_INT(job.n_channels, 9);
	T_EQ_INT(job.stages[1].inputs[0].first_channel, 0);
	T_EQ_INT(job.stages[2].inputs[0].first_channel, 6);
	T_CHANNEL(0, 0, 2, 0);
	T_CHANNEL(1, 0, 3, 0);
	T_CHANNEL(2, 0, 4, 0);
	T_CHANNEL(3, 1, 2, 0);
	T_CHANNEL(5, 1, 4, 0);
	T_CHANNEL(6, 2, 5, 0);
	T_CHANNEL(7, 3, 6, 0);
	T_CHANNEL(8, 4, 7, 0);
	T_ERR(sm_job_channel(&job, 9, &ch), SM_EINVAL);
	T_ERR(sm_job_channel(&job, -1, &ch), SM_EINVAL);
}

static void
every_channel_joins_a_stage_to_one_of_its_inputs_exactly_once(void)
{
	static char seen[64][64];

	T_OK(parse(wordcount));
	memset(seen, 0, sizeof(seen));
	for (int c = 0; c < job.n_channels; c++) {
		struct sm_job_channel ch;
		int from, to;

		T_OK(sm_job_channel(&job, c, &ch));
		from = sm_job_task_stage(&job, ch.from_task);
		to = sm_job_task_stage(&job, ch.to_task);
		T_TRUE(to >= 0 && ch.to_input < job.stages[to].n_inputs);
		T_EQ_INT(job.stages[to].inputs[ch.to_input].stage, from);
		T_EQ_INT(seen[ch.from_task][ch.to_task], 0);
		seen[ch.from_task][ch.to_task] = 1;
	}
}

static void
defaults_apply_when_keys_are_left_out(void)
{
	T_OK(parse("[job]\nname = tiny\n"
	           "[stage src]\noperator = gen\n"
	           "[stage out]\noperator = discard\ninput = src forward\n"));
	T_EQ_INT(job.heartbeat_ms, 500);
	T_EQ_INT(job.heartbeat_timeout_ms, 3000);
	T_EQ_INT(job.checkpoint.interval_ms, 1000);
	T_EQ_INT(job.checkpoint.timeout_ms, 10000);
	T_EQ_INT(job.checkpoint.min_pause_ms, 0);
	T_EQ_INT(job.checkpoint.retained, 3);
	T_EQ_INT(job.checkpoint.mode, SM_MODE_EXACTLY_ONCE);
	T_EQ_INT(job.checkpoint.tolerable_failures, 3);
	T_EQ_INT(job.stages[0].parallelism, 1);
	T_EQ_INT(job.stages[0].max_parallelism, 128);
	T_EQ_INT(job.stages[0].records, 0);
	T_EQ_INT(job.stages[0].keys, 1000);
	T_EQ_INT(job.stages[0].rate, 0);
	T_EQ_INT(job.stages[0].seed, 1);
	T_EQ_INT(job.stages[1].max_parallelism, 128);
	T_EQ_STR(job.stages[1].format, "");
	T_EQ_INT(job.n_tasks, 2);
	T_EQ_INT(job.n_channels, 1);
}

#define JOB_TINY                                                              \
	"[job]\nname = tiny\n[stage src]\noperator = gen\n"                   \
	"[stage out]\noperator = discard\ninput = src forward\n"

static void
restart_and_storage_defaults_apply_when_left_out(void)
{
	T_OK(parse(JOB_TINY));
	T_EQ_INT(job.restart.strategy, SM_RESTART_FIXED_DELAY);
	T_EQ_INT(job.restart.attempts, 100);
	T_EQ_INT(job.restart.delay_ms, 100);
	T_EQ_INT(job.restart.max_delay_ms, 60000);
	T_TRUE(job.restart.multiplier == 2.0);
	T_EQ_INT(job.restart.reset_after_ms, 600000);
	T_EQ_INT(job.checkpoint.fail_on_storage_error, 0);
}

static void
restart_section_sets_every_key(void)
{
	T_OK(parse("[job]\nname = r\n"
	           "[checkpoint]\nfail_on_storage_error = true\n"
	           "[restart]\n"
	           "strategy = exponential-delay\n"
	           "attempts = 7\n"
	           "delay_ms = 250\n"
	           "max_delay_ms = 4000\n"
	           "backoff_multiplier = 1.5\n"
	           "reset_after_ms = 0\n"
	           "[stage src]\noperator = gen\n"
	           "[stage out]\noperator = discard\ninput = src forward\n"));
	T_EQ_INT(job.checkpoint.fail_on_storage_error, 1);
	T_EQ_INT(job.restart.strategy, SM_RESTART_EXPONENTIAL_DELAY);
	T_EQ_INT(job.restart.attempts, 7);
	T_EQ_INT(job.restart.delay_ms, 250);
	T_EQ_INT(job.restart.max_delay_ms, 4000);
	T_TRUE(job.restart.multiplier == 1.5);
	T_EQ_INT(job.restart.reset_after_ms, 0);
	T_EQ_STR(sm_restart_strategy_name(job.restart.strategy),
	    "exponential-delay");

	T_OK(parse("[job]\nname = r\n[restart]\nstrategy = none\n"
	           "[stage src]\noperator = gen\n"
	           "[stage out]\noperator = discard\ninput = src forward\n"));
	T_EQ_INT(job.restart.strategy, SM_RESTART_NONE);
	T_OK(parse("[job]\nname = r\n[restart]\nstrategy = fixed-delay\n"
	           "attempts = 0\ndelay_ms = 0\n"
	           "[stage src]\noperator = gen\n"
	           "[stage out]\noperator = discard\ninput = src forward\n"));
	T_EQ_INT(job.restart.attempts, 0);
	T_EQ_INT(job.restart.delay_ms, 0);
}

static void
restart_delays_follow_the_strategy(void)
{
	struct sm_job_restart r = { .strategy = SM_RESTART_FIXED_DELAY,
		.attempts = 5,
		.delay_ms = 300,
		.max_delay_ms = 1000,
		.multiplier = 2.0 };
	/* fixed-delay: the same delay every time */
	for (uint32_t n = 1; n <= 10; n++)
		T_EQ_INT(sm_job_restart_delay_ms(&r, n), 300);

	/* exponential-delay: 100, 200, 400, ... capped at 1000 */
	r.strategy = SM_RESTART_EXPONENTIAL_DELAY;
	r.delay_ms = 100;
	static const uint64_t want[] = { 100, 100, 200, 400, 800, 1000, 1000 };
	for (uint32_t n = 0; n < 7; n++)
		T_EQ_INT(sm_job_restart_delay_ms(&r, n), want[n]);
	/* no overflow however many restarts */
	T_EQ_INT(sm_job_restart_delay_ms(&r, UINT32_MAX), 1000);
	r.max_delay_ms = 604800000;
	T_EQ_INT(sm_job_restart_delay_ms(&r, 1000000), 604800000);

	/* a fractional multiplier */
	r.delay_ms = 1000;
	r.max_delay_ms = 10000;
	r.multiplier = 1.5;
	T_EQ_INT(sm_job_restart_delay_ms(&r, 2), 1500);
	T_EQ_INT(sm_job_restart_delay_ms(&r, 3), 2250);
	T_EQ_INT(sm_job_restart_delay_ms(&r, 4), 3375);
	T_EQ_INT(sm_job_restart_delay_ms(&r, 7), 10000);

	/* a multiplier of 1 is a fixed delay below the cap */
	r.multiplier = 1.0;
	T_EQ_INT(sm_job_restart_delay_ms(&r, 50), 1000);

	/* a first delay of 0 stays 0 */
	r.delay_ms = 0;
	r.multiplier = 2.0;
	T_EQ_INT(sm_job_restart_delay_ms(&r, 9), 0);

	r.strategy = SM_RESTART_NONE;
	T_EQ_INT(sm_job_restart_delay_ms(&r, 1), 0);
}

static void
file_format_defaults_to_records_unless_fed_by_a_count(void)
{
	T_OK(parse("[job]\nname = j\n"
	           "[stage src]\noperator = gen\n"
	           "[stage out]\noperator = file\ninput = src forward\n"
	           "[stage raw]\noperator = file\ninput = src broadcast\n"
	           "format = counts\n"
	           "[stage txt]\noperator = file\ninput = src forward\n"
	           "format = text\n"));
	T_EQ_STR(job.stages[1].format, "records");
	T_EQ_STR(job.stages[2].format, "counts");
	T_EQ_STR(job.stages[3].format, "text");
}

static void
max_parallelism_default_grows_with_a_parallelism_above_128(void)
{
	T_OK(parse("[job]\nname = j\n"
	           "[stage src]\noperator = gen\n"
	           "[stage c]\noperator = count\nparallelism = 200\n"
	           "input = src hash\n"));
	T_EQ_INT(job.stages[1].max_parallelism, 200);
}

static void
several_inputs_feed_one_stage_in_file_order(void)
{
	T_OK(parse("[job]\nname = union\n"
	           "[stage a]\noperator = gen\nparallelism = 2\n"
	           "[stage b]\noperator = gen\nseed = 2\n"
	           "[stage c]\noperator = count\nparallelism = 2\n"
	           "input = a hash\ninput = b broadcast\n"
	           "[stage out]\noperator = file\nparallelism = 2\n"
	           "input = c forward\n"));
	/* tasks: a 0,1; b 2; c 3,4; out 5,6 */
	T_EQ_INT(job.n_tasks, 7);
	T_EQ_INT(job.stages[2].n_inputs, 2);
	T_EQ_INT(job.stages[2].inputs[0].stage, 0);
	T_EQ_INT(job.stages[2].inputs[1].stage, 1);
	T_EQ_INT(job.stages[2].inputs[1].edge, SM_EDGE_BROADCAST);
	T_EQ_INT(job.stages[2].inputs[0].first_channel, 0);
	T_EQ_INT(job.stages[2].inputs[1].first_channel, 4);
	T_EQ_INT(job.stages[3].inputs[0].first_channel, 6);
	T_EQ_INT(job.n_channels, 8);
	T_CHANNEL(0, 0, 3, 0);
	T_CHANNEL(3, 1, 4, 0);
	T_CHANNEL(4, 2, 3, 1);
	T_CHANNEL(5, 2, 4, 1);
	T_CHANNEL(6, 3, 5, 0);
	T_CHANNEL(7, 4, 6, 0);
	T_TRUE(sm_job_is_source(&job, 0));
	T_TRUE(sm_job_is_source(&job, 1));
	T_TRUE(!sm_job_is_source(&job, 2));
	T_TRUE(!sm_job_is_source(&job, 4));
}

static void
a_stage_takes_at_most_eight_inputs(void)
{
	char text[2048];
	size_t n = 0;

	n += snprintf(text + n, sizeof(text) - n, "[job]\nname = j\n");
	for (int i = 0; i < 9; i++)
		n += snprintf(text + n, sizeof(text) - n,
		    "[stage g%d]\noperator = gen\n", i);
	n += snprintf(text + n, sizeof(text) - n,
	    "[stage c]\noperator = count\n");
	for (int i = 0; i < 8; i++)
		n += snprintf(text + n, sizeof(text) - n, "input = g%d hash\n",
		    i);
	T_OK(parse(text));
	T_EQ_INT(job.stages[9].n_inputs, 8);
	/* line 1-2 [job], 3-20 the gens, 21-22 [stage c], 23-30 inputs */
	snprintf(text + n, sizeof(text) - n, "input = g8 hash\n");
	T_ERR(sm_job_parse(text, "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	T_TRUE(strncmp(err, "job.ini:31: too many inputs", 27) == 0);
}

static void
a_job_has_at_most_64_stages(void)
{
	static char text[8192];
	size_t n = 0;

	n += snprintf(text + n, sizeof(text) - n, "[job]\nname = j\n");
	for (int i = 0; i < 64; i++)
		n += snprintf(text + n, sizeof(text) - n,
		    "[stage s%d]\noperator = gen\n", i);
	T_OK(parse(text));
	T_EQ_INT(job.n_stages, 64);
	T_EQ_INT(job.n_tasks, 64);
	snprintf(text + n, sizeof(text) - n, "[stage s64]\noperator = gen\n");
	T_ERR(sm_job_parse(text, "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err, "job.ini:131: too many stages (at most 64)");
}

static void
layout_is_free_indentation_crlf_bom_and_colons(void)
{
	/* An indented line is a key of its own, never a continuation of the
	 * key above it. */
	T_OK(parse("\xEF\xBB\xBF[job]\r\n"
	           "\tname = j\r\n"
	           "  [stage src]  ; comment\r\n"
	           "    operator = gen\r\n"
	           "    records = 3\r\n"
	           "    keys: 5\r\n"
	           "    seed = 18446744073709551615\r\n"));
	T_EQ_STR(job.name, "j");
	T_EQ_INT(job.stages[0].records, 3);
	T_EQ_INT(job.stages[0].keys, 5);
	T_TRUE(job.stages[0].seed == UINT64_MAX);
}

static void
names_may_have_63_characters(void)
{
	char text[512];
	char name[64];

	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text),
	    "[job]\nname = %s\n[stage %s]\noperator = gen\n", name, name);
	T_OK(parse(text));
	T_EQ_STR(job.name, name);
	T_EQ_STR(job.stages[0].name, name);
	snprintf(text, sizeof(text),
	    "[job]\nname = j\n[stage %sx]\noperator = gen\n", name);
	T_ERR(sm_job_parse(text, "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	T_TRUE(strncmp(err, "job.ini:3: invalid stage name", 29) == 0);
}

static void
lines_up_to_197_characters_parse_and_longer_ones_are_named(void)
{
	char text[1024];
	char comment[256];

	memset(comment, 'x', sizeof(comment));
	comment[0] = ';';
	comment[197] = '\0';
	snprintf(text, sizeof(text),
	    "[job]\nname = j\n%s\n[stage src]\noperator = gen\n", comment);
	T_OK(parse(text));

	comment[197] = 'x';
	comment[198] = '\0';
	snprintf(text, sizeof(text),
	    "[job]\nname = j\n%s\n[stage src]\noperator = gen\n", comment);
	T_ERR(sm_job_parse(text, "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:3: line is too long (198 characters, at most 197)");
}

/* Lines 1-5 of most malformed jobs below. */
#define JOB "[job]\nname = j\n"
#define SRC "[stage src]\noperator = gen\nparallelism = 2\n"

struct bad_job {
	const char *what;
	const char *text;
	const char *prefix;  /* the start of the error: "job.ini:LINE:" */
	const char *message; /* a part of the rest */
};

static const struct bad_job bad_jobs[] = {
	{ "unknown operator", JOB SRC "[stage c]\noperator = cuont\n",
	    "job.ini:7:",
	    "unknown operator 'cuont' (expected gen, passthrough, count, "
	    "file, discard, lines, window_count)" },
	{ "unknown key", JOB "[stage source]\noperator = gen\nrecrods = 5\n",
	    "job.ini:5:", "unknown key 'recrods' in [stage source]" },
	{ "key of another section", JOB "[checkpoint]\nname = x\n" SRC,
	    "job.ini:4:", "unknown key 'name' in [checkpoint]" },
	{ "key of another operator, before the operator",
	    JOB SRC "[stage c]\nrecords = 5\noperator = count\n"
	            "input = src hash\n",
	    "job.ini:7:", "'records' is only valid for operator gen" },
	{ "max_parallelism outside a count",
	    JOB SRC "[stage p]\noperator = passthrough\ninput = src hash\n"
	            "max_parallelism = 8\n",
	    "job.ini:9:",
	    "'max_parallelism' is only valid for operator count" },
	{ "unknown format",
	    JOB SRC "[stage f]\noperator = file\ninput = src forward\n"
	            "format = json\n",
	    "job.ini:9:",
	    "unknown format 'json' (expected records, counts, text)" },
	{ "format outside a file sink",
	    JOB SRC "[stage c]\noperator = count\ninput = src hash\n"
	            "format = counts\n",
	    "job.ini:9:", "'format' is only valid for operator file" },
	{ "integer with trailing junk", JOB SRC "records = 12x\n",
	    "job.ini:6:", "invalid integer '12x' for 'records'" },
	{ "negative integer", JOB SRC "seed = -1\n",
	    "job.ini:6:", "invalid integer '-1' for 'seed'" },
	{ "signed integer", JOB SRC "seed = +1\n",
	    "job.ini:6:", "invalid integer '+1'" },
	{ "hexadecimal integer", JOB SRC "seed = 0x10\n",
	    "job.ini:6:", "invalid integer '0x10'" },
	{ "empty integer", JOB SRC "seed =\n",
	    "job.ini:6:", "invalid integer '' for 'seed'" },
	{ "integer above uint64", JOB SRC "records = 18446744073709551616\n",
	    "job.ini:6:",
	    "'18446744073709551616' is out of range for 'records'" },
	{ "parallelism 0",
	    JOB "[stage src]\noperator = gen\nparallelism = 0\n",
	    "job.ini:5:", "out of range for 'parallelism' (1..256)" },
	{ "parallelism 257",
	    JOB "[stage src]\noperator = gen\nparallelism = 257\n",
	    "job.ini:5:", "out of range for 'parallelism' (1..256)" },
	{ "keys 0", JOB SRC "keys = 0\n",
	    "job.ini:6:", "out of range for 'keys'" },
	{ "max_parallelism above 32768",
	    JOB SRC "[stage c]\noperator = count\ninput = src hash\n"
	            "max_parallelism = 32769\n",
	    "job.ini:9:", "out of range for 'max_parallelism' (1..32768)" },
	{ "max_parallelism below parallelism",
	    JOB SRC "[stage c]\noperator = count\nmax_parallelism = 2\n"
	            "parallelism = 4\ninput = src hash\n",
	    "job.ini:8:",
	    "max_parallelism (2) must be at least parallelism (4)" },
	{ "checkpoint timeout 0", JOB "[checkpoint]\ntimeout_ms = 0\n" SRC,
	    "job.ini:4:", "out of range for 'timeout_ms'" },
	{ "retained 0", JOB "[checkpoint]\nretained = 0\n" SRC,
	    "job.ini:4:", "out of range for 'retained'" },
	{ "bad mode", JOB "[checkpoint]\nmode = exactly_twice\n" SRC,
	    "job.ini:4:",
	    "unknown mode 'exactly_twice' (expected exactly_once, "
	    "at_least_once)" },
	{ "heartbeat not below the default timeout",
	    "[job]\nname = j\nheartbeat_ms = 5000\n" SRC, "job.ini:3:",
	    "heartbeat_timeout_ms (3000) must be greater than heartbeat_ms "
	    "(5000)" },
	{ "heartbeat timeout not above the heartbeat",
	    "[job]\nheartbeat_timeout_ms = 500\nname = j\n" SRC, "job.ini:2:",
	    "heartbeat_timeout_ms (500) must be greater than heartbeat_ms" },
	{ "input from an undefined stage",
	    JOB SRC "[stage c]\noperator = count\ninput = nosuch hash\n",
	    "job.ini:8:",
	    "unknown stage 'nosuch' (stages must be defined before they are "
	    "used as input)" },
	{ "input from a stage defined later",
	    JOB "[stage a]\noperator = passthrough\ninput = b forward\n"
	        "[stage b]\noperator = gen\n",
	    "job.ini:5:", "unknown stage 'b'" },
	{ "input from itself",
	    JOB SRC "[stage c]\noperator = count\ninput = c hash\n",
	    "job.ini:8:", "stage 'c' cannot be its own input" },
	{ "same upstream twice",
	    JOB SRC "[stage c]\noperator = count\ninput = src hash\n"
	            "input = src broadcast\n",
	    "job.ini:9:", "stage 'src' is already an input of 'c' (line 8)" },
	{ "unknown edge",
	    JOB SRC "[stage c]\noperator = count\n"
	            "input = src hsah\n",
	    "job.ini:8:",
	    "unknown edge 'hsah' (expected forward, hash, "
	    "broadcast)" },
	{ "input without edge",
	    JOB SRC "[stage c]\noperator = count\n"
	            "input = src\n",
	    "job.ini:8:", "input must be 'STAGE EDGE'" },
	{ "forward between different parallelisms",
	    JOB SRC "[stage c]\noperator = passthrough\ninput = src forward\n"
	            "parallelism = 3\n",
	    "job.ini:8:",
	    "forward edge from 'src' (parallelism 2) to 'c' (parallelism 3) "
	    "needs equal parallelism" },
	{ "gen with an input",
	    JOB SRC "[stage g]\noperator = gen\ninput = src hash\n",
	    "job.ini:8:", "gen stage 'g' is a source and takes no input" },
	{ "count without an input", JOB SRC "[stage c]\noperator = count\n",
	    "job.ini:6:", "stage 'c' (operator count) needs an input" },
	{ "first stage not a source",
	    JOB "[stage c]\noperator = passthrough\n[stage src]\n"
	        "operator = gen\n",
	    "job.ini:3:", "stage 'c' (operator passthrough) needs an input" },
	{ "stage without operator", JOB SRC "[stage c]\ninput = src hash\n",
	    "job.ini:6:", "stage 'c' has no operator" },
	{ "empty last stage", JOB SRC "[stage c]\n",
	    "job.ini:6:", "stage 'c' has no operator" },
	{ "duplicate stage", JOB SRC "[stage src]\noperator = gen\n",
	    "job.ini:6:", "duplicate stage 'src' (first defined on line 3)" },
	{ "duplicate key", JOB SRC "parallelism = 3\n", "job.ini:6:",
	    "duplicate key 'parallelism' in [stage src] (first set on line "
	    "5)" },
	{ "duplicate [job]", JOB SRC "[job]\n",
	    "job.ini:6:", "duplicate section [job] (first on line 1)" },
	{ "unknown section", JOB "[stages src]\noperator = gen\n",
	    "job.ini:3:", "unknown section '[stages src]'" },
	{ "stage section without a name", JOB "[stage]\n",
	    "job.ini:3:", "a stage section needs one name: [stage NAME]" },
	{ "stage name with a dot", JOB "[stage a.b]\n",
	    "job.ini:3:", "invalid stage name 'a.b'" },
	{ "text after a section header", JOB "[stage a] b\n",
	    "job.ini:3:", "unexpected 'b' after section header" },
	{ "section header without ']'", JOB "[stage a\n",
	    "job.ini:3:", "malformed section header" },
	{ "key before any section", "name = j\n[job]\n",
	    "job.ini:1:", "key 'name' outside of a section" },
	{ "line without '='", JOB "just words\n" SRC,
	    "job.ini:3:", "syntax error" },
	{ "invalid job name", "[job]\nname = word count\n" SRC,
	    "job.ini:2:", "invalid job name 'word count'" },
	{ "[job] without name", "[job]\nheartbeat_ms = 100\n" SRC,
	    "job.ini:1:", "[job] has no name" },
	{ "no [job] at all", SRC, "job.ini: ", "missing [job] name" },
	{ "no stages", JOB, "job.ini: ", "no stages" },
	{ "empty text", "", "job.ini: ", "missing [job] name" },
	{ "control characters are not echoed",
	    JOB "[stage src]\noperator = g\x01n\n",
	    "job.ini:4:", "unknown operator 'g?n'" },
	{ "the first error wins over a later one",
	    JOB "[stage src]\noperator = cuont\nrecrods = 1\n",
	    "job.ini:4:", "unknown operator" },
	{ "a syntax error wins over a later error",
	    JOB "bogus\n[stage src]\noperator = cuont\n",
	    "job.ini:3:", "syntax error" },
	{ "an error wins over a later syntax error",
	    JOB SRC "seed = x\nbogus\n", "job.ini:6:", "invalid integer 'x'" },
	{ "unknown restart strategy", JOB "[restart]\nstrategy = fixed\n" SRC,
	    "job.ini:4:",
	    "unknown restart strategy 'fixed' (expected fixed-delay, "
	    "exponential-delay, none)" },
	{ "restart attempts not a number",
	    JOB "[restart]\nattempts = many\n" SRC,
	    "job.ini:4:", "invalid integer 'many' for 'attempts'" },
	{ "negative restart delay", JOB "[restart]\ndelay_ms = -5\n" SRC,
	    "job.ini:4:", "invalid integer '-5' for 'delay_ms'" },
	{ "restart delay beyond a week",
	    JOB "[restart]\ndelay_ms = 604800001\n" SRC,
	    "job.ini:4:", "'604800001' is out of range for 'delay_ms'" },
	{ "multiplier below one",
	    JOB "[restart]\nstrategy = exponential-delay\n"
	        "backoff_multiplier = 0.5\n" SRC,
	    "job.ini:5:", "'0.5' is out of range for 'backoff_multiplier'" },
	{ "multiplier not a decimal",
	    JOB "[restart]\nstrategy = exponential-delay\n"
	        "backoff_multiplier = 2e3\n" SRC,
	    "job.ini:5:", "invalid number '2e3' for 'backoff_multiplier'" },
	{ "multiplier for a fixed delay",
	    JOB
	    "[restart]\nbackoff_multiplier = 2\nstrategy = fixed-delay\n" SRC,
	    "job.ini:4:",
	    "'backoff_multiplier' is only valid for strategy "
	    "exponential-delay (strategy is fixed-delay)" },
	{ "max delay for the default strategy",
	    JOB "[restart]\nmax_delay_ms = 5\n" SRC, "job.ini:4:",
	    "'max_delay_ms' is only valid for strategy exponential-delay" },
	{ "attempts with strategy none",
	    JOB "[restart]\nstrategy = none\nattempts = 3\n" SRC,
	    "job.ini:5:", "'attempts' has no meaning with strategy none" },
	{ "cap below the first delay",
	    JOB "[restart]\nstrategy = exponential-delay\ndelay_ms = 500\n"
	        "max_delay_ms = 100\n" SRC,
	    "job.ini:6:",
	    "max_delay_ms (100) must be at least delay_ms (500)" },
	{ "first delay above the default cap",
	    JOB "[restart]\nstrategy = exponential-delay\n"
	        "delay_ms = 70000\n" SRC,
	    "job.ini:5:", "max_delay_ms (60000) must be at least delay_ms" },
	{ "duplicate [restart]",
	    JOB "[restart]\nattempts = 1\n[restart]\n" SRC,
	    "job.ini:5:", "duplicate section [restart] (first on line 3)" },
	{ "restart key in [checkpoint]",
	    JOB "[checkpoint]\nattempts = 1\n" SRC,
	    "job.ini:4:", "unknown key 'attempts' in [checkpoint]" },
	{ "fail_on_storage_error not a boolean",
	    JOB "[checkpoint]\nfail_on_storage_error = yes\n" SRC,
	    "job.ini:4:",
	    "invalid value 'yes' for 'fail_on_storage_error' (expected true, "
	    "false)" },
	{ "the earliest error of a stage wins",
	    JOB SRC "[stage c]\ninput = src forward\nparallelism = 3\n"
	            "records = 1\noperator = count\n",
	    "job.ini:7:", "forward edge from 'src'" },
};

static void
malformed_jobs_are_rejected_naming_the_line_and_the_reason(void)
{
	size_t n = sizeof(bad_jobs) / sizeof(bad_jobs[0]);

	for (size_t i = 0; i < n; i++) {
		const struct bad_job *b = &bad_jobs[i];
		int rv;

		strcpy(err, "(nothing)");
		rv = sm_job_parse(b->text, "job.ini", &job, err, sizeof(err));
		if (rv != SM_EINVAL ||
		    strncmp(err, b->prefix, strlen(b->prefix)) != 0 ||
		    strstr(err + strlen(b->prefix), b->message) == NULL ||
		    strchr(err, '\n') != NULL) {
			fprintf(stderr,
			    "  %s: got %s \"%s\"\n  expected \"%s "
			    "...%s...\"\n",
			    b->what, sm_strerror(rv), err, b->prefix,
			    b->message);
			sm_test_failed = 1;
		}
	}
}

static void
a_failed_parse_leaves_the_job_untouched(void)
{
	struct sm_job before;

	memset(&job, 0xA5, sizeof(job));
	before = job;
	T_ERR(sm_job_parse(JOB SRC "seed = x\n", "job.ini", &job, err,
	          sizeof(err)),
	    SM_EINVAL);
	T_TRUE(memcmp(&before, &job, sizeof(job)) == 0);
}

static void
load_reads_the_file_and_names_it_in_errors(void)
{
	char path[] = "/tmp/sm_jobfile_XXXXXX";
	char *text = (char *) "untouched";
	int fd = mkstemp(path);
	FILE *f;

	T_TRUE(fd >= 0);
	f = fdopen(fd, "w");
	fputs(wordcount, f);
	fclose(f);
	T_OK(sm_job_load(path, &job, &text, err, sizeof(err)));
	T_EQ_STR(text, wordcount);
	T_EQ_INT(job.n_tasks, 8);
	free(text);
	T_OK(sm_job_load(path, &job, NULL, err, sizeof(err)));

	f = fopen(path, "w");
	fputs("[job]\nname = j\n[stage x]\noperator = cuont\n", f);
	fclose(f);
	text = (char *) "untouched";
	T_ERR(sm_job_load(path, &job, &text, err, sizeof(err)), SM_EINVAL);
	T_EQ_STR(text, "untouched");
	T_TRUE(strncmp(err, path, strlen(path)) == 0);
	T_TRUE(strncmp(err + strlen(path), ":4: unknown operator", 20) == 0);

	f = fopen(path, "w");
	fwrite("[job]\nname = j\0\n", 1, 16, f);
	fclose(f);
	T_ERR(sm_job_load(path, &job, NULL, err, sizeof(err)), SM_EINVAL);
	T_TRUE(strstr(err, ":2: NUL byte") != NULL);
	unlink(path);

	T_ERR(sm_job_load("/nonexistent/job.ini", &job, NULL, err,
	          sizeof(err)),
	    SM_EIO);
	T_EQ_STR(err,
	    "cannot read /nonexistent/job.ini: No such file or directory");
}

static void
operator_and_edge_names_match_the_file_format(void)
{
	T_EQ_STR(sm_operator_name(SM_OP_GEN), "gen");
	T_EQ_STR(sm_operator_name(SM_OP_PASSTHROUGH), "passthrough");
	T_EQ_STR(sm_operator_name(SM_OP_COUNT), "count");
	T_EQ_STR(sm_operator_name(SM_OP_FILE_SINK), "file");
	T_EQ_STR(sm_operator_name(SM_OP_DISCARD), "discard");
	T_EQ_STR(sm_edge_name(SM_EDGE_FORWARD), "forward");
	T_EQ_STR(sm_edge_name(SM_EDGE_HASH), "hash");
	T_EQ_STR(sm_edge_name(SM_EDGE_BROADCAST), "broadcast");
}

/* The 8 bytes big-endian of k: how gen's keys travel. */
static const void *
be64(uint64_t k, uint8_t buf[8])
{
	for (int i = 7; i >= 0; i--, k >>= 8)
		buf[i] = (uint8_t) k;
	return buf;
}

static void
key_groups_are_a_hash_of_the_key_bytes_modulo_max_parallelism(void)
{
	static int hits[128];
	uint8_t b[8];

	/* Pinned values (computed by an independent implementation of the
	 * definition in docs/JOBFILE.md): savepoints are restored by them,
	 * so any other implementation must agree. */
	T_TRUE(sm_hash_bytes64("", 0) == 0x9e3779b97f4a7c15ull);
	T_TRUE(sm_hash_bytes64("hello", 5) == 0x6fc4237f0d9e6454ull);
	T_TRUE(sm_hash_bytes64(be64(1000, b), 8) == 0xfb2f752735c1a5b0ull);
	T_EQ_INT(sm_job_key_group("", 0, 128), 47);
	T_EQ_INT(sm_job_key_group("a", 1, 128), 80);
	T_EQ_INT(sm_job_key_group("a\0", 2, 128), 66);
	T_EQ_INT(sm_job_key_group("hello", 5, 128), 12);
	T_EQ_INT(sm_job_key_group("snapmark key byte", 17, 32768), 2520);
	T_EQ_INT(sm_job_key_group(be64(0, b), 8, 128), 114);
	T_EQ_INT(sm_job_key_group(be64(1, b), 8, 128), 18);
	T_EQ_INT(sm_job_key_group(be64(42, b), 8, 128), 54);
	T_EQ_INT(sm_job_key_group(be64(1000, b), 8, 32768), 5322);
	T_EQ_INT(sm_job_key_group(be64(UINT64_MAX, b), 8, 128), 112);
	T_EQ_INT(sm_job_key_group("hello", 5, 0), 0);
	/* 10000 sequential keys reach every one of 128 groups. */
	memset(hits, 0, sizeof(hits));
	for (uint64_t k = 0; k < 10000; k++) {
		int kg = sm_job_key_group(be64(k, b), 8, 128);
		T_TRUE(kg >= 0 && kg < 128);
		hits[kg]++;
	}
	for (int kg = 0; kg < 128; kg++)
		T_TRUE(hits[kg] > 0);
}

static void
key_group_owners_cover_every_subtask_in_monotonic_ranges(void)
{
	static const int maxps[] = { 1, 7, 128, 1000, 32768 };
	static int owned[256];

	for (size_t m = 0; m < sizeof(maxps) / sizeof(maxps[0]); m++) {
		int maxp = maxps[m];
		for (int par = 1; par <= 256 && par <= maxp; par++) {
			int prev = 0, lo = maxp, hi = 0;
			memset(owned, 0, sizeof(owned));
			for (int kg = 0; kg < maxp; kg++) {
				int o = sm_job_key_group_owner(kg, maxp, par);
				T_TRUE(o >= prev && o < par);
				owned[o]++;
				prev = o;
			}
			for (int s = 0; s < par; s++) {
				lo = owned[s] < lo ? owned[s] : lo;
				hi = owned[s] > hi ? owned[s] : hi;
			}
			/* every subtask owns a range; sizes differ by <= 1 */
			T_TRUE(lo >= 1 && hi - lo <= 1);
		}
	}
}

static void
the_example_job_files_parse(void)
{
	static const char *const examples[] = { "wordcount.ini",
		"passthrough.ini", "union.ini", "bench.ini",
		"at_least_once.ini" };
	/* The test runs in the build directory; __FILE__ is this file's path
	 * as the compiler saw it, so examples/ is found next to tests/. */
	char dir[512], path[600];
	const char *slash;

	strcpy(dir, __FILE__);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		dir[slash - dir] = '\0';
	else
		strcpy(dir, ".");
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		snprintf(path, sizeof(path), "%s/../examples/%s", dir,
		    examples[i]);
		if (sm_job_load(path, &job, NULL, err, sizeof(err)) != SM_OK) {
			fprintf(stderr, "  %s\n", err);
			sm_test_failed = 1;
		}
	}
}

/* A stage with library = PATH runs a user operator: the runtime's keys
 * are read as for any stage, every other key is kept for the operator's
 * configure with its line, gen's and file's keys included. */
static void
a_library_stage_keeps_its_other_keys_as_options(void)
{
	static const char text[] =
	    "[job]\n"                          /* 1 */
	    "name = j\n"                       /* 2 */
	    "[stage src]\n"                    /* 3 */
	    "records = 5\n"                    /* 4: before library */
	    "operator = lines\n"               /* 5 */
	    "library = plugins/liblines.so\n"  /* 6 */
	    "parallelism = 2\n"                /* 7 */
	    "[stage up]\n"                     /* 8 */
	    "operator = upper\n"               /* 9 */
	    "input = src hash\n"               /* 10 */
	    "mode = lower\n"                   /* 11 */
	    "format = csv\n"                   /* 12 */
	    "max_parallelism = 64\n"           /* 13 */
	    "library = /opt/ops/libupper.so\n" /* 14 */
	    "[stage sink]\n"                   /* 15 */
	    "operator = file\n"                /* 16 */
	    "input = up forward\n";            /* 17 */
	struct snapmark_option opts[4];

	err[0] = '\0';
	T_OK(
	    sm_job_parse_in(text, "job.ini", "/jobs", &job, err, sizeof(err)));
	T_EQ_STR(sm_job_dir(&job), "/jobs");
	T_EQ_INT(sm_job_user_operators(&job), 2);

	T_EQ_INT(job.stages[0].op, SM_OP_USER);
	T_EQ_STR(sm_job_operator_name(&job, 0), "lines");
	T_EQ_STR(sm_job_library(&job, 0), "/jobs/plugins/liblines.so");
	T_EQ_INT(job.stages[0].library_line, 6);
	T_EQ_INT(job.stages[0].operator_line, 5);
	T_EQ_INT(job.stages[0].parallelism, 2);
	T_TRUE(sm_job_is_source(&job, 0));
	T_EQ_INT(sm_job_options(&job, 0, opts, 4), 1);
	T_EQ_STR(opts[0].key, "records");
	T_EQ_STR(opts[0].value, "5");
	T_EQ_INT(opts[0].line, 4);
	T_EQ_INT(job.stages[0].records, 0); /* not gen's */

	T_EQ_STR(sm_job_library(&job, 1), "/opt/ops/libupper.so");
	T_TRUE(!sm_job_is_source(&job, 1));
	T_EQ_INT(job.stages[1].max_parallelism, 64);
	T_EQ_INT(sm_job_options(&job, 1, opts, 4), 2);
	T_EQ_STR(opts[0].key, "mode");
	T_EQ_STR(opts[0].value, "lower");
	T_EQ_INT(opts[0].line, 11);
	T_EQ_STR(opts[1].key, "format");
	T_EQ_STR(opts[1].value, "csv");
	T_EQ_INT(opts[1].line, 12);
	T_EQ_INT(sm_job_options(&job, 1, opts, 1), 2); /* the count */

	T_EQ_STR(sm_job_operator_name(&job, 2), "file");
	T_TRUE(sm_job_library(&job, 2) == NULL);
	T_EQ_INT(sm_job_options(&job, 2, opts, 4), 0);
	T_EQ_INT(job.n_tasks, 2 + 1 + 1);

	/* Without a directory: the current one. */
	char cwd[4096], want[4200];
	T_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
	T_OK(parse(text));
	snprintf(want, sizeof(want), "%s/plugins/liblines.so", cwd);
	T_EQ_STR(sm_job_library(&job, 0), want);
}

/* A built-in SDK operator named without a library (operator = lines) is
 * a user stage with library "": its other keys are its options, wherever
 * the operator key is (also after them, with a comment). The file sink
 * keeps path = DIR as written. */
static void
builtin_sdk_operators_parse_as_user_stages(void)
{
	static const char text[] =
	    "[job]\n"                           /* 1 */
	    "name = j\n"                        /* 2 */
	    "[stage src]\n"                     /* 3 */
	    "path = /data/in\n"                 /* 4 */
	    "operator = lines ; a source\n"     /* 5 */
	    "follow = true\n"                   /* 6 */
	    "[stage w]\n"                       /* 7 */
	    "operator = window_count\n"         /* 8 */
	    "input = src hash\n"                /* 9 */
	    "size_ms = 1000\n"                  /* 10 */
	    "[stage sink]\n"                    /* 11 */
	    "operator = file\n"                 /* 12 */
	    "path = out/dir\n"                  /* 13 */
	    "format = text\n"                   /* 14 */
	    "input = w forward\n";              /* 15 */
	struct snapmark_option opts[4];

	err[0] = '\0';
	T_OK(parse(text));
	T_EQ_INT(sm_job_user_operators(&job), 2);
	T_EQ_INT(job.stages[0].op, SM_OP_USER);
	T_EQ_STR(sm_job_operator_name(&job, 0), "lines");
	T_EQ_STR(sm_job_library(&job, 0), "");
	T_EQ_INT(job.stages[0].operator_line, 5);
	T_TRUE(sm_job_is_source(&job, 0));
	T_EQ_INT(sm_job_options(&job, 0, opts, 4), 2);
	T_EQ_STR(opts[0].key, "path");
	T_EQ_STR(opts[0].value, "/data/in");
	T_EQ_INT(opts[0].line, 4);
	T_EQ_STR(opts[1].key, "follow");
	T_EQ_STR(sm_job_operator_name(&job, 1), "window_count");
	T_EQ_STR(sm_job_library(&job, 1), "");
	T_EQ_INT(sm_job_options(&job, 1, opts, 4), 1);
	T_EQ_STR(opts[0].key, "size_ms");
	T_EQ_INT(job.stages[2].op, SM_OP_FILE_SINK);
	T_EQ_STR(sm_job_sink_path(&job, 2), "out/dir");
	T_TRUE(sm_job_sink_path(&job, 0) == NULL);

	/* No path: RUN/output (NULL); path only for file; empty refused. */
	T_OK(parse("[job]\nname = j\n[stage s]\noperator = gen\n"
		   "[stage f]\noperator = file\ninput = s forward\n"));
	T_TRUE(sm_job_sink_path(&job, 1) == NULL);
	T_ERR(parse("[job]\nname = j\n[stage s]\noperator = gen\n"
		    "path = /x\n"),
	    SM_EINVAL);
	T_TRUE(strstr(err, "job.ini:5: 'path' is only valid for operator "
			   "file") != NULL);
	T_ERR(parse("[job]\nname = j\n[stage s]\noperator = gen\n"
		    "[stage f]\noperator = file\npath =\ninput = s forward\n"),
	    SM_EINVAL);
	T_TRUE(strstr(err, "job.ini:7: path needs a directory") != NULL);
	/* A misspelt built-in SDK operator is an unknown operator. */
	T_ERR(parse("[job]\nname = j\n[stage s]\noperator = lnes\n"
		    "path = /x\n"),
	    SM_EINVAL);
	T_TRUE(strstr(err, "job.ini:4: unknown operator 'lnes'") != NULL);
}

static void
library_stage_errors_name_their_line(void)
{
	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{ "[job]\nname = j\n[stage s]\noperator = gen\nmode = x\n",
		    "job.ini:5: unknown key 'mode' in [stage s]" },
		{ "[job]\nname = j\n[stage s]\nlibrary = l.so\n"
		  "operator = my-op\n",
		    "job.ini:5: invalid operator name 'my-op' for a library "
		    "operator (letters, digits and '_', at most 63)" },
		{ "[job]\nname = j\n[stage s]\nlibrary = l.so\n"
		  "operator = op\nmode = a\nmode = b\n",
		    "job.ini:7: duplicate key 'mode' in [stage s] (first set "
		    "on line 6)" },
		{ "[job]\nname = j\n[stage s]\nlibrary =\noperator = op\n",
		    "job.ini:4: library needs a path (library = PATH of a "
		    "shared object, absolute or relative to the job file)" },
		{ "[job]\nname = j\n[stage s]\nlibrary = l.so\n",
		    "job.ini:3: stage 's' has no operator (operator = NAME, "
		    "the name of an operator of its library)" },
		{ "[job]\nname = j\n[stage s]\nlibrary = l.so\noperator = o\n"
		  "library = m.so\n",
		    "job.ini:6: duplicate key 'library' in [stage s] (first "
		    "set on line 4)" },
		/* The look-ahead stops at the next header. */
		{ "[job]\nname = j\n[stage s]\noperator = gen\nmode = x\n"
		  "[stage t]\nlibrary = l.so\noperator = o\ninput = s hash\n",
		    "job.ini:5: unknown key 'mode' in [stage s]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		T_ERR(sm_job_parse_in(bad[i].text, "job.ini", "/d", &job, err,
		          sizeof(err)),
		    SM_EINVAL);
		T_EQ_STR(err, bad[i].err);
	}

	char text[2048];
	size_t n = (size_t) snprintf(text, sizeof(text),
	    "[job]\nname = j\n[stage s]\nlibrary = l.so\noperator = o\n");
	for (int i = 0; i < SM_JOB_MAX_OPTIONS; i++)
		n += (size_t) snprintf(text + n, sizeof(text) - n, "k%d = v\n",
		    i);
	T_OK(parse(text));
	T_EQ_INT(job.stages[0].n_options, SM_JOB_MAX_OPTIONS);
	snprintf(text + n, sizeof(text) - n, "one_more = v\n");
	T_ERR(sm_job_parse(text, "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:22: too many options for stage 's' (at most 16)");
}

/* sm_job_load resolves a relative library against the job file's own
 * directory, wherever the process runs. */
static void
load_resolves_libraries_against_the_job_files_directory(void)
{
	char dir[] = "/tmp/sm_test_jobfile_XXXXXX", path[600], want[700];
	char cwd[4096];
	FILE *f;

	T_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/job.ini", dir);
	f = fopen(path, "w");
	T_TRUE(f != NULL);
	fputs("[job]\nname = j\n[stage s]\nlibrary = lib/libo.so\n"
	      "operator = o\n",
	    f);
	fclose(f);
	T_OK(sm_job_load(path, &job, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/lib/libo.so", dir);
	T_EQ_STR(sm_job_library(&job, 0), want);
	T_EQ_STR(sm_job_dir(&job), dir);
	/* The same through a relative path to the file. */
	T_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
	T_TRUE(chdir("/tmp") == 0);
	T_OK(
	    sm_job_load(path + strlen("/tmp/"), &job, NULL, err, sizeof(err)));
	T_TRUE(chdir(cwd) == 0);
	T_EQ_STR(sm_job_library(&job, 0), want);
	unlink(path);
	rmdir(dir);
}

static const struct sm_test tests[] = {
	{ "wordcount_parses_with_every_setting",
	    wordcount_parses_with_every_setting },
	{ "tasks_are_numbered_stage_by_stage",
	    tasks_are_numbered_stage_by_stage },
	{ "channels_are_numbered_by_stage_input_and_upstream_subtask",
	    channels_are_numbered_by_stage_input_and_upstream_subtask },
	{ "every_channel_joins_a_stage_to_one_of_its_inputs_exactly_once",
	    every_channel_joins_a_stage_to_one_of_its_inputs_exactly_once },
	{ "defaults_apply_when_keys_are_left_out",
	    defaults_apply_when_keys_are_left_out },
	{ "file_format_defaults_to_records_unless_fed_by_a_count",
	    file_format_defaults_to_records_unless_fed_by_a_count },
	{ "restart_and_storage_defaults_apply_when_left_out",
	    restart_and_storage_defaults_apply_when_left_out },
	{ "restart_section_sets_every_key", restart_section_sets_every_key },
	{ "restart_delays_follow_the_strategy",
	    restart_delays_follow_the_strategy },
	{ "max_parallelism_default_grows_with_a_parallelism_above_128",
	    max_parallelism_default_grows_with_a_parallelism_above_128 },
	{ "several_inputs_feed_one_stage_in_file_order",
	    several_inputs_feed_one_stage_in_file_order },
	{ "a_stage_takes_at_most_eight_inputs",
	    a_stage_takes_at_most_eight_inputs },
	{ "a_job_has_at_most_64_stages", a_job_has_at_most_64_stages },
	{ "layout_is_free_indentation_crlf_bom_and_colons",
	    layout_is_free_indentation_crlf_bom_and_colons },
	{ "names_may_have_63_characters", names_may_have_63_characters },
	{ "lines_up_to_197_characters_parse_and_longer_ones_are_named",
	    lines_up_to_197_characters_parse_and_longer_ones_are_named },
	{ "malformed_jobs_are_rejected_naming_the_line_and_the_reason",
	    malformed_jobs_are_rejected_naming_the_line_and_the_reason },
	{ "a_failed_parse_leaves_the_job_untouched",
	    a_failed_parse_leaves_the_job_untouched },
	{ "load_reads_the_file_and_names_it_in_errors",
	    load_reads_the_file_and_names_it_in_errors },
	{ "operator_and_edge_names_match_the_file_format",
	    operator_and_edge_names_match_the_file_format },
	{ "key_groups_are_a_hash_of_the_key_bytes_modulo_max_parallelism",
	    key_groups_are_a_hash_of_the_key_bytes_modulo_max_parallelism },
	{ "a_library_stage_keeps_its_other_keys_as_options",
	    a_library_stage_keeps_its_other_keys_as_options },
	{ "library_stage_errors_name_their_line",
	    library_stage_errors_name_their_line },
	{ "builtin_sdk_operators_parse_as_user_stages",
	    builtin_sdk_operators_parse_as_user_stages },
	{ "load_resolves_libraries_against_the_job_files_directory",
	    load_resolves_libraries_against_the_job_files_directory },
	{ "key_group_owners_cover_every_subtask_in_monotonic_ranges",
	    key_group_owners_cover_every_subtask_in_monotonic_ranges },
	{ "the_example_job_files_parse", the_example_job_files_parse },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
