/*
 * test_cli_json.c - the JSON writer behind `snapmark --json`.
 *
 * Every check compares the exact bytes written, because scripts parse this
 * output: escaping (quotes, backslashes, every control character, UTF-8
 * passed through, invalid UTF-8 replaced), separators and nesting, exact
 * 64-bit numbers, misuse reported instead of emitting broken JSON, and the
 * protobuf message mapping the CLI uses for its replies.
 *
 * json.c is compiled into this test directly: it is part of the snapmark
 * executable, not of a library the test could link.
 */
#include "../coordinator/json.c"

#include <math.h>

#include "tests/check.h"
#include "proto/snapmark.pb-c.h"

/* json_of_string writes s[0..n) as a top-level JSON string into out. */
static int
json_of_string(const char *s, size_t n, char *out, size_t cap)
{
	struct sm_json j;
	const char *doc;
	size_t len;
	int rv;

	sm_json_init(&j);
	sm_json_string_n(&j, s, n);
	if ((rv = sm_json_finish(&j, &doc, &len)) == SM_OK) {
		if (len + 1 > cap)
			rv = SM_ENOMEM;
		else
			memcpy(out, doc, len + 1);
	}
	sm_json_fini(&j);
	return rv;
}

/* One case per line, so the table stays a table. */
/* clang-format off */
#define STR_CASE(in, want) { in, sizeof(in) - 1, want }

static const struct {
	const char *in;
	size_t len;
	const char *want;
} string_cases[] = {
	STR_CASE("", "\"\""),
	STR_CASE("plain", "\"plain\""),
	STR_CASE("say \"hi\"", "\"say \\\"hi\\\"\""),
	STR_CASE("C:\\run\\", "\"C:\\\\run\\\\\""),
	STR_CASE("a/b", "\"a/b\""),
	STR_CASE("line\nnext", "\"line\\nnext\""),
	STR_CASE("\t\r\b\f", "\"\\t\\r\\b\\f\""),
	STR_CASE("\x01\x1f", "\"\\u0001\\u001f\""),
	STR_CASE("nul\0byte", "\"nul\\u0000byte\""),
	STR_CASE("del\x7f", "\"del\x7f\""),
	/* Valid UTF-8 of 2, 3 and 4 bytes passes through unchanged. */
	STR_CASE("caf\xc3\xa9", "\"caf\xc3\xa9\""),
	STR_CASE("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""),
	STR_CASE("\xf0\x9f\x93\xb8", "\"\xf0\x9f\x93\xb8\""),
	STR_CASE("\xef\xbf\xbf", "\"\xef\xbf\xbf\""),
	STR_CASE("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
	/* Each byte of an invalid sequence becomes U+FFFD. */
	STR_CASE("\x80", "\"\\ufffd\""),
	STR_CASE("a\xffz", "\"a\\ufffdz\""),
	STR_CASE("\xc0\xaf", "\"\\ufffd\\ufffd\""),       /* overlong '/' */
	STR_CASE("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""), /* overlong */
	STR_CASE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""), /* surrogate */
	STR_CASE("\xf4\x90\x80\x80",
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* above U+10FFFF */
	STR_CASE("\xe6\x97", "\"\\ufffd\\ufffd\""),     /* truncated */
	STR_CASE("\xe6\x97x", "\"\\ufffd\\ufffdx\""),   /* cut short */
};
/* clang-format on */

static void
strings_are_escaped_exactly(void)
{
	char out[128];
	for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]);
	     i++) {
		T_OK(json_of_string(string_cases[i].in, string_cases[i].len,
		    out, sizeof(out)));
		if (strcmp(out, string_cases[i].want) != 0)
			T_FAIL_("case %zu: got %s, expected %s", i, out,
			    string_cases[i].want);
	}
}

static void
every_control_character_is_escaped(void)
{
	char in[1], out[16];
	for (int c = 0; c < 0x20; c++) {
		in[0] = (char) c;
		T_OK(json_of_string(in, 1, out, sizeof(out)));
		T_TRUE(out[1] == '\\');
		for (const char *p = out; *p != '\0'; p++)
			T_TRUE((unsigned char) *p >= 0x20);
	}
}

static void
a_null_string_is_written_as_null(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	sm_json_string(&j, NULL);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_STR(doc, "null");
	sm_json_fini(&j);
}

static void
nested_containers_get_commas_only_between_members(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	sm_json_object_begin(&j);
	sm_json_key(&j, "empty_obj");
	sm_json_object_begin(&j);
	sm_json_object_end(&j);
	sm_json_key(&j, "empty_arr");
	sm_json_array_begin(&j);
	sm_json_array_end(&j);
	sm_json_key(&j, "rows");
	sm_json_array_begin(&j);
	for (int i = 0; i < 2; i++) {
		sm_json_object_begin(&j);
		sm_json_key(&j, "i");
		sm_json_int(&j, i);
		sm_json_key(&j, "tags");
		sm_json_array_begin(&j);
		sm_json_string(&j, "a");
		sm_json_array_begin(&j);
		sm_json_array_end(&j);
		sm_json_null(&j);
		sm_json_array_end(&j);
		sm_json_object_end(&j);
	}
	sm_json_array_end(&j);
	sm_json_key(&j, "ok");
	sm_json_bool(&j, 1);
	sm_json_key(&j, "k\"ey");
	sm_json_bool(&j, 0);
	sm_json_object_end(&j);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_STR(doc,
	    "{\"empty_obj\":{},\"empty_arr\":[],\"rows\":["
	    "{\"i\":0,\"tags\":[\"a\",[],null]},"
	    "{\"i\":1,\"tags\":[\"a\",[],null]}],"
	    "\"ok\":true,\"k\\\"ey\":false}");
	T_EQ_INT(len, strlen(doc));
	sm_json_fini(&j);
}

static void
integers_are_exact_at_the_64_bit_limits(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	sm_json_array_begin(&j);
	sm_json_uint(&j, 0);
	sm_json_uint(&j, UINT64_MAX);
	sm_json_uint(&j, 9007199254740993u); /* 2^53 + 1: not a double */
	sm_json_int(&j, -1);
	sm_json_int(&j, INT64_MIN);
	sm_json_int(&j, INT64_MAX);
	sm_json_array_end(&j);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_STR(doc,
	    "[0,18446744073709551615,9007199254740993,-1,"
	    "-9223372036854775808,9223372036854775807]");
	sm_json_fini(&j);
}

static void
doubles_round_trip_and_non_finite_is_null(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	sm_json_array_begin(&j);
	sm_json_double(&j, 0.1);
	sm_json_double(&j, -2.5);
	sm_json_double(&j, 1e300);
	sm_json_double(&j, 1.0 / 3.0);
	sm_json_double(&j, NAN);
	sm_json_double(&j, INFINITY);
	sm_json_array_end(&j);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_STR(doc, "[0.1,-2.5,1e+300,0.33333333333333331,null,null]");
	sm_json_fini(&j);
}

static void
misuse_is_an_error_not_broken_json(void)
{
	struct sm_json j;
	const char *doc = NULL;
	size_t len;

	/* A value in an object without its key. */
	sm_json_init(&j);
	sm_json_object_begin(&j);
	sm_json_uint(&j, 1);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);

	/* A key inside an array. */
	sm_json_init(&j);
	sm_json_array_begin(&j);
	sm_json_key(&j, "k");
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);

	/* A key whose value never comes. */
	sm_json_init(&j);
	sm_json_object_begin(&j);
	sm_json_key(&j, "k");
	sm_json_object_end(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);

	/* Closing an array with an object's end. */
	sm_json_init(&j);
	sm_json_array_begin(&j);
	sm_json_object_end(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);

	/* An unfinished document, and an empty one. */
	sm_json_init(&j);
	sm_json_array_begin(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);
	sm_json_init(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);

	/* Two top-level values; the error sticks through later calls. */
	sm_json_init(&j);
	sm_json_uint(&j, 1);
	sm_json_uint(&j, 2);
	sm_json_array_begin(&j);
	sm_json_array_end(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);
	T_TRUE(doc == NULL);
}

static void
nesting_deeper_than_the_limit_is_refused(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	for (int i = 0; i < SM_JSON_MAX_DEPTH; i++)
		sm_json_array_begin(&j);
	for (int i = 0; i < SM_JSON_MAX_DEPTH; i++)
		sm_json_array_end(&j);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_INT(len, 2 * SM_JSON_MAX_DEPTH);
	sm_json_fini(&j);

	sm_json_init(&j);
	for (int i = 0; i <= SM_JSON_MAX_DEPTH; i++)
		sm_json_array_begin(&j);
	T_ERR(sm_json_finish(&j, &doc, &len), SM_EINVAL);
	sm_json_fini(&j);
}

static void
a_large_document_grows_the_buffer(void)
{
	struct sm_json j;
	const char *doc;
	size_t len;

	sm_json_init(&j);
	sm_json_array_begin(&j);
	for (int i = 0; i < 10000; i++)
		sm_json_string(&j, "0123456789");
	sm_json_array_end(&j);
	T_OK(sm_json_finish(&j, &doc, &len));
	T_EQ_INT(len, 2 + 10000 * 13 - 1); /* "..." plus a comma each */
	T_TRUE(strncmp(doc, "[\"0123456789\",\"0123", 19) == 0);
	T_TRUE(doc[len - 1] == ']' && doc[len] == '\0');
	sm_json_fini(&j);
}

/* json_of_message writes msg (skipping the fields in skip) into *doc. */
static int
json_of_message(const ProtobufCMessage *msg, const char *const *skip,
    char **docp)
{
	struct sm_json j;
	const char *doc;
	size_t len;
	int rv;

	sm_json_init(&j);
	sm_json_message(&j, msg, skip);
	if ((rv = sm_json_finish(&j, &doc, &len)) == SM_OK &&
	    (*docp = strdup(doc)) == NULL)
		rv = SM_ENOMEM;
	sm_json_fini(&j);
	return rv;
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

static const struct sm_test tests[] = {
	{ "strings_are_escaped_exactly", strings_are_escaped_exactly },
	{ "every_control_character_is_escaped",
	    every_control_character_is_escaped },
	{ "a_null_string_is_written_as_null",
	    a_null_string_is_written_as_null },
	{ "nested_containers_get_commas_only_between_members",
	    nested_containers_get_commas_only_between_members },
	{ "integers_are_exact_at_the_64_bit_limits",
	    integers_are_exact_at_the_64_bit_limits },
	{ "doubles_round_trip_and_non_finite_is_null",
	    doubles_round_trip_and_non_finite_is_null },
	{ "misuse_is_an_error_not_broken_json",
	    misuse_is_an_error_not_broken_json },
	{ "nesting_deeper_than_the_limit_is_refused",
	    nesting_deeper_than_the_limit_is_refused },
	{ "a_large_document_grows_the_buffer",
	    a_large_document_grows_the_buffer },
	{ "a_checkpoint_record_maps_field_names_enums_and_nesting",
	    a_checkpoint_record_maps_field_names_enums_and_nesting },
	{ "a_job_status_writes_repeated_fields_as_arrays",
	    a_job_status_writes_repeated_fields_as_arrays },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
