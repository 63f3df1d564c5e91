/*
 * test_cli.c - the `snapmark` CLI's library (cli/, linked as smcli): its
 * command line and its JSON documents.
 *
 * The parser is fed argument vectors and must give the parsed request or
 * exactly the problem a user sees after "snapmark: " (docs/CLI.md). The
 * JSON checks compare the exact bytes, because scripts parse this output
 * and the coordinator's HTTP API serves the same documents: escaping
 * (control characters, UTF-8 passed through, invalid UTF-8 replaced),
 * exact 64-bit numbers, doubles that read back, and the protobuf message
 * mapping (coordinator/message_json.c, which smcli links).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "cli/cli_args.h"
#include "cli/cli_json.h"
#include "common/error.h"
#include "coordinator/message_json.h"
#include "proto/snapmark.pb-c.h"

/* ------------------------------------------------------------- arguments */

#define ARGV_MAX 8

/* parse runs cli_args_parse on the NULL-terminated words after "snapmark";
 * a fresh, writable copy each time, as getopt_long may expect. */
static int
parse(const char *const *words, struct cli_args *a, char *problem,
    size_t cap)
{
	static char store[ARGV_MAX][64];
	char *argv[ARGV_MAX + 2];
	int argc = 0;

	argv[argc++] = "snapmark";
	for (; *words != NULL && argc <= ARGV_MAX; words++, argc++) {
		snprintf(store[argc - 1], sizeof(store[0]), "%s", *words);
		argv[argc] = store[argc - 1];
	}
	argv[argc] = NULL;
	return cli_args_parse(argc, argv, a, problem, cap);
}

#define W(...) ((const char *const[]) { __VA_ARGS__, NULL })

static void
commands_and_their_options_parse(void)
{
	struct cli_args a;
	char problem[256];

	T_OK(parse(W("status"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_STATUS);
	T_EQ_INT(a.json, 0);
	T_TRUE(a.run_dir == NULL && a.coordinator == NULL);
	T_EQ_STR(problem, "");

	/* Options before and after the command, both value forms. */
	T_OK(parse(W("--json", "checkpoints", "--limit", "0", "--wide",
	    "--run-dir=/tmp/r", "--timeout", "250"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_CHECKPOINTS);
	T_EQ_INT(a.json, 1);
	T_EQ_INT(a.has_limit, 1);
	T_EQ_INT(a.limit, 0);
	T_EQ_INT(a.wide, 1);
	T_EQ_STR(a.run_dir, "/tmp/r");
	T_EQ_INT(a.timeout_ms, 250);

	T_OK(parse(W("checkpoints", "--limit=4294967295"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.limit, UINT32_MAX);

	T_OK(parse(W("show", "18446744073709551615", "--coordinator",
	    "tcp://127.0.0.1:7000"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_SHOW);
	T_TRUE(a.id == UINT64_MAX);
	T_EQ_STR(a.coordinator, "tcp://127.0.0.1:7000");

	T_OK(parse(W("explain", "7"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_EXPLAIN);
	T_EQ_INT(a.id, 7);

	T_OK(parse(W("trigger", "--wait"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_TRIGGER);
	T_EQ_INT(a.wait, 1);

	T_OK(parse(W("savepoint", "--stop", "--dir", "/sp/one"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_SAVEPOINT);
	T_EQ_INT(a.stop, 1);
	T_EQ_STR(a.dir, "/sp/one");

	/* stop is savepoint --stop. */
	T_OK(parse(W("stop", "--dir=/sp/two"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_SAVEPOINT);
	T_EQ_INT(a.stop, 1);
	T_EQ_STR(a.dir, "/sp/two");

	T_OK(parse(W("cancel"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_CANCEL);

	/* validate takes the job file; the connection options are no
	 * problem, it just does not use them. */
	T_OK(parse(W("validate", "jobs/a.ini", "--run-dir", "/r"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_VALIDATE);
	T_EQ_STR(a.job, "jobs/a.ini");

	/* "--" ends the options: what follows is an argument. */
	T_OK(parse(W("--", "show", "3"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_SHOW);
	T_EQ_INT(a.id, 3);

	/* An option's value may look like an option. */
	T_OK(parse(W("savepoint", "--dir", "/--json"), &a, problem,
	    sizeof(problem)));
	T_EQ_STR(a.dir, "/--json");
	T_EQ_INT(a.json, 0);
}

static void
help_and_version_win_over_any_problem(void)
{
	struct cli_args a;
	char problem[256];

	T_OK(parse(W("help"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_HELP);
	T_OK(parse(W("--bogus", "nonsense", "-h"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_HELP);
	T_EQ_STR(problem, "");
	T_OK(parse(W("status", "--help", "--timeout", "x"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_HELP);
	T_OK(parse(W("--help", "--version"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_VERSION);
	T_OK(parse(W("--limit", "x", "--version", "show"), &a, problem,
	    sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_VERSION);
	/* ...unless it is an option's value. */
	T_ERR(parse(W("--timeout", "--version"), &a, problem, sizeof(problem)),
	    SM_EINVAL);
	T_EQ_STR(problem, "invalid --timeout '--version' (want a positive "
	                  "number of milliseconds)");
}

/* One bad command line per row, with the exact problem it reports. */
static const struct {
	const char *const *words;
	const char *problem;
} bad_cases[] = {
	{ (const char *const[]) { NULL }, "no command given" },
	{ W("--json"), "no command given" },
	{ W("frobnicate"), "unknown command 'frobnicate'" },
	{ W("status", "extra"), "unexpected argument 'extra'" },
	{ W("status", "--bogus"), "unknown option '--bogus'" },
	{ W("--bogus=1", "status"), "unknown option '--bogus=1'" },
	{ W("-x", "status"), "unknown option '-x'" },
	{ W("-hx", "status"), "unknown option '-hx'" },
	{ W("-xh", "status"), "unknown option '-xh'" },
	{ W("--json=1", "status"), "unknown option '--json=1'" },
	/* getopt_long would take these shortened names; the CLI does not. */
	{ W("trigger", "--wa"), "unknown option '--wa'" },
	{ W("--w", "status"), "unknown option '--w'" },
	{ W("--hel"), "unknown option '--hel'" },
	{ W("--time", "50", "status"), "unknown option '--time'" },
	{ W("--time=50", "status"), "unknown option '--time=50'" },
	{ W("status", "--timeout"), "option --timeout needs a value" },
	{ W("status", "--run-dir"), "option --run-dir needs a value" },
	{ W("status", "--tim"), "unknown option '--tim'" },
	{ W("status", "--timeout", "0"),
	    "invalid --timeout '0' (want a positive number of "
	    "milliseconds)" },
	{ W("status", "--timeout=2147483648"),
	    "invalid --timeout '2147483648' (want a positive number of "
	    "milliseconds)" },
	{ W("status", "--timeout", "-5"),
	    "invalid --timeout '-5' (want a positive number of "
	    "milliseconds)" },
	{ W("checkpoints", "--limit", "4294967296"),
	    "invalid --limit '4294967296' (want a number of checkpoints, 0 "
	    "for all)" },
	{ W("checkpoints", "--limit="),
	    "invalid --limit '' (want a number of checkpoints, 0 for all)" },
	{ W("show"), "show needs a checkpoint id" },
	{ W("explain"), "explain needs a checkpoint id" },
	{ W("show", "7x"), "invalid checkpoint id '7x'" },
	{ W("show", "18446744073709551616"),
	    "invalid checkpoint id '18446744073709551616'" },
	{ W("show", "7", "8"), "unexpected argument '8'" },
	{ W("status", "--limit", "3"),
	    "--limit and --wide only apply to checkpoints" },
	{ W("show", "3", "--wide"),
	    "--limit and --wide only apply to checkpoints" },
	{ W("status", "--wait"), "--wait only applies to trigger" },
	{ W("trigger", "--stop"), "--stop and --dir only apply to savepoint" },
	{ W("status", "--dir", "/x"),
	    "--stop and --dir only apply to savepoint" },
	{ W("stop", "--stop"), "--stop only applies to savepoint" },
	{ W("savepoint", "--dir", "rel/dir"),
	    "--dir must be an absolute path, not 'rel/dir'" },
	{ W("savepoint", "--dir="), "--dir must be an absolute path (it is "
	                            "empty)" },
	/* The first problem wins. */
	{ W("--bogus", "--timeout", "0", "frob"), "unknown option '--bogus'" },
	{ W("frob", "--timeout", "0"),
	    "invalid --timeout '0' (want a positive number of "
	    "milliseconds)" },
	{ W("-", "status"), "unknown command '-'" },
	{ W("validate"), "validate needs a job file" },
	{ W("validate", "a.ini", "b.ini"), "unexpected argument 'b.ini'" },
	{ W("validate", "a.ini", "--json"),
	    "--json does not apply to validate" },
	{ W("validate", "a.ini", "--wait"), "--wait only applies to trigger" },
};

static void
bad_command_lines_report_the_exact_problem(void)
{
	struct cli_args a;
	char problem[256];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]);
	     i++) {
		int rv = parse(bad_cases[i].words, &a, problem,
		    sizeof(problem));
		if (rv != SM_EINVAL || strcmp(problem, bad_cases[i].problem))
			T_FAIL_("case %zu (%s ...): %s '%s', expected '%s'", i,
			    bad_cases[i].words[0] ? bad_cases[i].words[0] : "",
			    sm_strerror(rv), problem, bad_cases[i].problem);
	}
}

static void
the_parser_starts_afresh_each_time(void)
{
	struct cli_args a;
	char problem[256];

	/* A problem and half-parsed cluster must not leak into the next. */
	T_ERR(parse(W("-hx", "status"), &a, problem, sizeof(problem)),
	    SM_EINVAL);
	T_OK(parse(W("status", "--json"), &a, problem, sizeof(problem)));
	T_EQ_INT(a.cmd, CLI_STATUS);
	T_EQ_INT(a.json, 1);
	T_EQ_INT(a.wait, 0);
}

/* ------------------------------------------------------------------ JSON */

/* dump returns the compact text of doc (dropping doc), "" on failure. */
static char dumped[4096];

static const char *
dump(json_t *doc)
{
	char *text = doc != NULL ? sm_json_dump(doc) : NULL;
	json_decref(doc);
	snprintf(dumped, sizeof(dumped), "%s", text != NULL ? text : "");
	free(text);
	return dumped;
}

/* U+FFFD, as UTF-8 */
#define R "\xef\xbf\xbd"

/* One case per line, so the table stays a table. */
/* clang-format off */
static const struct {
	const char *in;
	const char *want;
} string_cases[] = {
	{ "", "\"\"" },
	{ "plain", "\"plain\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "C:\\run\\", "\"C:\\\\run\\\\\"" },
	{ "a/b", "\"a/b\"" },
	{ "line\nnext", "\"line\\nnext\"" },
	{ "\t\r\b\f", "\"\\t\\r\\b\\f\"" },
	{ "\x01\x1f", "\"\\u0001\\u001F\"" },
	{ "del\x7f", "\"del\x7f\"" },
	/* Valid UTF-8 of 2, 3 and 4 bytes passes through unchanged. */
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"" },
	{ "\xf0\x9f\x93\xb8", "\"\xf0\x9f\x93\xb8\"" },
	{ "\xef\xbf\xbf", "\"\xef\xbf\xbf\"" },
	{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
	/* Each byte of an invalid sequence becomes U+FFFD. */
	{ "\x80", "\"" R "\"" },
	{ "a\xffz", "\"a" R "z\"" },
	{ "\xc0\xaf", "\"" R R "\"" },            /* overlong '/' */
	{ "\xe0\x80\xaf", "\"" R R R "\"" },      /* overlong */
	{ "\xed\xa0\x80", "\"" R R R "\"" },      /* surrogate */
	{ "\xf4\x90\x80\x80", "\"" R R R R "\"" }, /* above U+10FFFF */
	{ "\xe6\x97", "\"" R R "\"" },            /* truncated */
	{ "\xe6\x97x", "\"" R R "x\"" },          /* cut short */
};
/* clang-format on */

static void
strings_are_escaped_and_made_valid_utf8(void)
{
	for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]);
	     i++) {
		const char *got = dump(sm_json_text(string_cases[i].in));
		if (strcmp(got, string_cases[i].want) != 0)
			T_FAIL_("case %zu: got %s, expected %s", i, got,
			    string_cases[i].want);
	}
	T_EQ_STR(dump(sm_json_text(NULL)), "null");
}

static void
every_control_character_is_escaped(void)
{
	char in[2] = { 0, 0 };
	for (int c = 1; c < 0x20; c++) {
		in[0] = (char) c;
		const char *got = dump(sm_json_text(in));
		T_TRUE(got[0] == '"' && got[1] == '\\');
		for (const char *p = got; *p != '\0'; p++)
			T_TRUE((unsigned char) *p >= 0x20);
	}
}

static void
integers_are_exact_to_int64_max(void)
{
	json_t *a = json_array();
	json_array_append_new(a, sm_json_uint(0));
	json_array_append_new(a, sm_json_uint(9007199254740993u)); /* 2^53+1 */
	json_array_append_new(a, sm_json_uint(INT64_MAX));
	json_array_append_new(a, json_integer(INT64_MIN));
	T_EQ_STR(dump(a), "[0,9007199254740993,9223372036854775807,"
	                  "-9223372036854775808]");
	/* Above INT64_MAX: still a positive number, not a wrapped one. */
	json_t *big = sm_json_uint(UINT64_MAX);
	T_TRUE(json_is_real(big) && json_real_value(big) > 1.8e19);
	json_decref(big);
}

static void
doubles_read_back_exactly_and_non_finite_is_null(void)
{
	static const double values[] = { 0.1, -2.5, 1e300, 1.0 / 3.0, 2048.5 };
	Snapmark__TaskMetrics m = SNAPMARK__TASK_METRICS__INIT;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_t *a = json_array();
		json_array_append_new(a, json_real(values[i]));
		json_t *back = json_loads(dump(a), 0, NULL);
		T_TRUE(back != NULL &&
		    json_real_value(json_array_get(back, 0)) == values[i]);
		json_decref(back);
	}
	m.task_name = "t";
	m.has_busy_ratio = 1;
	m.busy_ratio = NAN;
	m.has_idle_ratio = 1;
	m.idle_ratio = INFINITY;
	m.has_backpressured_ratio = 1;
	m.backpressured_ratio = 0.5;
	m.has_records_in_per_s = 1;
	m.records_in_per_s = 0.0;
	m.has_records_out_per_s = 1;
	m.records_out_per_s = -3.0;
	T_EQ_STR(dump(sm_json_message(&m.base, NULL)),
	    "{\"task\":0,\"records_in\":0,\"records_out\":0,"
	    "\"sampled_us\":0,\"records_in_per_s\":0,"
	    "\"records_out_per_s\":-3,\"task_name\":\"t\",\"busy_ratio\":null,"
	    "\"idle_ratio\":null,\"backpressured_ratio\":0.5}");
}

static void
the_cli_documents_of_trigger_and_cancel(void)
{
	T_EQ_STR(dump(cli_json_triggered(42)),
	    "{\"checkpoint_id\":42}");
	T_EQ_STR(dump(cli_json_canceled()), "{\"state\":\"CANCELED\"}");
}

/* json_of_message writes msg (skipping the fields in skip) into *docp. */
static int
json_of_message(const ProtobufCMessage *msg, const char *const *skip,
    char **docp)
{
	json_t *doc = sm_json_message(msg, skip);
	*docp = doc != NULL ? sm_json_dump(doc) : NULL;
	json_decref(doc);
	return *docp != NULL ? SM_OK : SM_ENOMEM;
}

static void
a_checkpoint_record_maps_field_names_enums_and_nesting(void)
{
	Snapmark__SnapshotHandle h = SNAPMARK__SNAPSHOT_HANDLE__INIT;
	Snapmark__TaskCheckpointStats ts =
	    SNAPMARK__TASK_CHECKPOINT_STATS__INIT;
	Snapmark__TaskCheckpointStats *tasks[] = { &ts };
	Snapmark__CheckpointRecord r = SNAPMARK__CHECKPOINT_RECORD__INIT;
	static const char *const skip[] = { "tasks", NULL };
	char *doc = NULL;

	h.task = 3;
	h.checkpoint_id = 7;
	h.location = "/run/task-3 \"x\"";
	h.bytes = 49152;
	h.checksum = 0xdeadbeef;
	ts.task = 3;
	ts.task_name = "count.1";
	ts.handle = &h;
	ts.sync_us = 12;
	ts.async_us = 840;
	ts.align_us = 0;
	ts.ack_us = 2050;
	r.id = 7;
	r.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__FAILED;
	r.trigger_time_ms = 1795296882211u;
	r.has_duration_us = 1;
	r.duration_us = 10000000;
	r.tasks_total = 5;
	r.tasks_acked = 1;
	r.failure_reason = "timeout\n";
	r.n_tasks = 1;
	r.tasks = tasks;
	r.has_manual = 1;
	r.manual = 1;

	T_OK(json_of_message(&r.base, NULL, &doc));
	T_EQ_STR(doc,
	    "{\"id\":7,\"status\":\"FAILED\",\"trigger_time_ms\":"
	    "1795296882211,"
	    "\"duration_us\":10000000,\"tasks_total\":5,\"tasks_acked\":1,"
	    "\"failure_reason\":\"timeout\\n\",\"tasks\":[{\"task\":3,"
	    "\"task_name\":\"count.1\",\"handle\":{\"task\":3,"
	    "\"checkpoint_id\":7,\"location\":\"/run/task-3 \\\"x\\\"\","
	    "\"bytes\":49152,\"checksum\":3735928559},\"sync_us\":12,"
	    "\"async_us\":840,\"align_us\":0,\"ack_us\":2050,"
	    "\"arrivals\":[]}],"
	    "\"manual\":true,\"missing\":[]}");
	free(doc);
	doc = NULL;

	/* The list view leaves the tasks out; an unknown enum is a number. */
	r.status = (Snapmark__CheckpointRecord__Status) 42;
	r.failure_reason = NULL;
	r.has_duration_us = 0;
	T_OK(json_of_message(&r.base, skip, &doc));
	T_EQ_STR(doc,
	    "{\"id\":7,\"status\":42,\"trigger_time_ms\":1795296882211,"
	    "\"tasks_total\":5,\"tasks_acked\":1,\"manual\":true,"
	    "\"missing\":[]}");
	free(doc);
}

static void
a_job_status_writes_repeated_fields_as_arrays(void)
{
	Snapmark__WorkerStatus w1 = SNAPMARK__WORKER_STATUS__INIT;
	Snapmark__WorkerStatus w2 = SNAPMARK__WORKER_STATUS__INIT;
	Snapmark__WorkerStatus *workers[] = { &w1, &w2 };
	char *w1_tasks[] = { "gen.0", "count.0" };
	uint64_t pending[] = { 8, 9 };
	Snapmark__TaskMetrics m0 = SNAPMARK__TASK_METRICS__INIT;
	Snapmark__TaskMetrics *metrics[] = { &m0 };
	Snapmark__JobStatus st = SNAPMARK__JOB_STATUS__INIT;
	char *doc = NULL;

	w1.worker_id = 1;
	w1.alive = 1;
	w1.has_pid = 1;
	w1.pid = 4242;
	w1.n_tasks = 2;
	w1.tasks = w1_tasks;
	w2.worker_id = 2;
	st.job_name = "wordcount \xe6\x97\xa5";
	st.state = "RUNNING";
	st.epoch = 3;
	st.restarts = 1;
	st.has_latest_completed = 1;
	st.latest_completed = 7;
	st.n_workers = 2;
	st.workers = workers;
	st.tasks_total = 5;
	st.tasks_running = 5;
	st.n_pending = 2;
	st.pending = pending;
	m0.task = 1;
	m0.task_name = "count.0";
	m0.records_in = 1024;
	m0.sampled_us = 1795306068405970u;
	m0.has_records_in_per_s = 1;
	m0.records_in_per_s = 2048.5;
	st.n_task_metrics = 1;
	st.task_metrics = metrics;

	T_OK(json_of_message(&st.base, NULL, &doc));
	T_EQ_STR(doc,
	    "{\"job_name\":\"wordcount \xe6\x97\xa5\",\"state\":\"RUNNING\","
	    "\"epoch\":3,\"restarts\":1,\"latest_completed\":7,"
	    "\"workers\":[{\"worker_id\":1,\"alive\":true,\"pid\":4242,"
	    "\"tasks\":[\"gen.0\",\"count.0\"]},{\"worker_id\":2,"
	    "\"alive\":false,\"tasks\":[]}],\"tasks_total\":5,"
	    "\"tasks_running\":5,\"pending\":[8,9],"
	    "\"task_metrics\":[{\"task\":1,\"records_in\":1024,"
	    "\"records_out\":0,\"sampled_us\":1795306068405970,"
	    "\"records_in_per_s\":2048.5,\"task_name\":\"count.0\"}],"
	    "\"channel_metrics\":[]}");
	free(doc);
}

static void
the_checkpoint_list_leaves_the_tasks_out(void)
{
	Snapmark__TaskCheckpointStats ts =
	    SNAPMARK__TASK_CHECKPOINT_STATS__INIT;
	Snapmark__TaskCheckpointStats *tasks[] = { &ts };
	Snapmark__CheckpointRecord r1 = SNAPMARK__CHECKPOINT_RECORD__INIT;
	Snapmark__CheckpointRecord r2 = SNAPMARK__CHECKPOINT_RECORD__INIT;
	Snapmark__CheckpointRecord *recs[] = { &r2, &r1 };

	r1.id = 1;
	r1.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__COMPLETED;
	r1.n_tasks = 1;
	r1.tasks = tasks;
	r2.id = 2;
	r2.status = SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING;
	T_EQ_STR(dump(sm_json_checkpoint_list(recs, 2)),
	    "{\"checkpoints\":[{\"id\":2,\"status\":\"PENDING\","
	    "\"trigger_time_ms\":0,\"tasks_total\":0,\"tasks_acked\":0,"
	    "\"missing\":[]},{\"id\":1,\"status\":\"COMPLETED\","
	    "\"trigger_time_ms\":0,\"tasks_total\":0,\"tasks_acked\":0,"
	    "\"missing\":[]}]}");
	T_EQ_STR(dump(sm_json_checkpoint_list(recs, 0)), "{\"checkpoints\":[]}");
}

static const struct sm_test tests[] = {
	{ "commands_and_their_options_parse",
	    commands_and_their_options_parse },
	{ "help_and_version_win_over_any_problem",
	    help_and_version_win_over_any_problem },
	{ "bad_command_lines_report_the_exact_problem",
	    bad_command_lines_report_the_exact_problem },
	{ "the_parser_starts_afresh_each_time",
	    the_parser_starts_afresh_each_time },
	{ "strings_are_escaped_and_made_valid_utf8",
	    strings_are_escaped_and_made_valid_utf8 },
	{ "every_control_character_is_escaped",
	    every_control_character_is_escaped },
	{ "integers_are_exact_to_int64_max", integers_are_exact_to_int64_max },
	{ "doubles_read_back_exactly_and_non_finite_is_null",
	    doubles_read_back_exactly_and_non_finite_is_null },
	{ "the_cli_documents_of_trigger_and_cancel",
	    the_cli_documents_of_trigger_and_cancel },
	{ "a_checkpoint_record_maps_field_names_enums_and_nesting",
	    a_checkpoint_record_maps_field_names_enums_and_nesting },
	{ "a_job_status_writes_repeated_fields_as_arrays",
	    a_job_status_writes_repeated_fields_as_arrays },
	{ "the_checkpoint_list_leaves_the_tasks_out",
	    the_checkpoint_list_leaves_the_tasks_out },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
