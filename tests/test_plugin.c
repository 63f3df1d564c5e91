/*
 * test_plugin.c - loading user operators (sdk/plugin.h) and checking a
 * job's (sdk/plugin_check.h) with the test plugins of tests/plugins/:
 * a good load and configure, each way a load fails (missing library, not
 * a shared object, missing symbol, wrong API version, bad tables), a
 * configure refusing, and options reaching configure with their lines.
 * The messages are compared whole: they are what a user reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jobfile.h"
#include "sdk/plugin.h"
#include "sdk/plugin_check.h"
#include "tests/check.h"

#define DIR SM_TEST_PLUGIN_DIR

static char err[1024];
static struct sm_job job;

static const struct sm_plugin *
load(const char *lib, const char *name, int want)
{
	const struct sm_plugin *p = NULL;
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", DIR, lib);
	err[0] = '\0';
	int rv = sm_plugin_load(path, name, &p, err, sizeof(err));
	if (rv != want)
		fprintf(stderr, "  load %s %s: %s (%s)\n", lib, name,
		    sm_strerror(rv), err);
	return rv == want ? p : NULL;
}

static void
a_good_operator_loads_once_and_configures(void)
{
	const struct sm_plugin *p = load("libupper.so", "upper", SM_OK);
	struct snapmark_option opt = { "mode", "lower", 7 };
	void *config = NULL;
	int line = -1;

	T_TRUE(p != NULL);
	T_EQ_STR(p->name, "upper");
	T_EQ_STR(p->library, DIR "/libupper.so");
	T_EQ_STR(p->op.name, "upper");
	T_EQ_INT(p->op.api_version, SNAPMARK_API_VERSION);
	T_TRUE(p->op.process != NULL && p->op.produce == NULL);
	T_TRUE(load("libupper.so", "upper", SM_OK) == p);

	T_OK(
	    sm_plugin_configure(p, &opt, 1, &config, &line, err, sizeof(err)));
	T_TRUE(config != NULL);
	sm_plugin_free_config(p, config);
	config = NULL;
	T_OK(
	    sm_plugin_configure(p, NULL, 0, &config, &line, err, sizeof(err)));
	sm_plugin_free_config(p, config);
}

static void
a_refusal_names_the_line_of_the_option_it_names(void)
{
	const struct sm_plugin *p = load("libupper.so", "upper", SM_OK);
	struct snapmark_option opts[] = {
		{ "mode", "sideways", 7 },
		{ "colour", "red", 9 },
	};
	void *config = NULL;
	int line = 0;

	T_TRUE(p != NULL);
	T_ERR(sm_plugin_configure(p, opts, 2, &config, &line, err,
	          sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err, "mode must be upper or lower, not 'sideways'");
	T_EQ_INT(line, 7);
	/* The message names colour first (and mode after it). */
	opts[0].value = "upper";
	T_ERR(sm_plugin_configure(p, opts, 2, &config, &line, err,
	          sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err, "unknown option 'colour' (expected mode)");
	T_EQ_INT(line, 9);
}

static void
a_refusal_that_names_no_option_has_no_line_and_options_carry_theirs(void)
{
	const struct sm_plugin *p = load("librefuse.so", "refuse", SM_OK);
	struct snapmark_option opts[] = {
		{ "a", "1", 4 },
		{ "b", "2", 12 },
	};
	void *config = NULL;
	int line = -1;

	T_TRUE(p != NULL);
	T_ERR(sm_plugin_configure(p, opts, 2, &config, &line, err,
	          sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "refuses every configuration (2 options, on lines 4 12)");
	T_EQ_INT(line, 0);
}

static void
an_operator_without_configure_takes_no_options(void)
{
	const struct sm_plugin *p = load("libbad_tables.so", "ticks", SM_OK);
	struct snapmark_option opt = { "speed", "3", 5 };
	void *config = &config;
	int line = 0;

	T_TRUE(p != NULL);
	T_OK(
	    sm_plugin_configure(p, NULL, 0, &config, &line, err, sizeof(err)));
	T_TRUE(config == NULL);
	T_ERR(sm_plugin_configure(p, &opt, 1, &config, &line, err,
	          sizeof(err)),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "unknown option 'speed' (the operator takes no options)");
	T_EQ_INT(line, 5);
}

static void
a_missing_library_or_other_file_is_refused_with_dlerrors_text(void)
{
	char path[600];
	FILE *f;

	T_TRUE(load("libnope.so", "upper", SM_EIO) == NULL);
	T_EQ_STR(err,
	    "cannot load library: " DIR "/libnope.so: cannot open "
	    "shared object file: No such file or directory");
	snprintf(path, sizeof(path), "%s/not_a_plugin.so", DIR);
	f = fopen(path, "w");
	T_TRUE(f != NULL);
	fputs("[job]\nname = not a library\n", f);
	fclose(f);
	T_TRUE(load("not_a_plugin.so", "upper", SM_EIO) == NULL);
	unlink(path);
	T_TRUE(strncmp(err, "cannot load library: " DIR "/not_a_plugin.so: ",
	           strlen("cannot load library: " DIR "/not_a_plugin.so: ")) ==
	    0);
	T_TRUE(strstr(err, "ELF") != NULL || strstr(err, "too short") != NULL);
}

static void
a_missing_symbol_is_named(void)
{
	/* libwrong_symbol.so has snapmark_operator_v1_upper, but hidden. */
	T_TRUE(load("libwrong_symbol.so", "upper", SM_ENOTFOUND) == NULL);
	T_EQ_STR(err,
	    DIR "/libwrong_symbol.so has no operator 'upper' (no "
	        "symbol snapmark_operator_v1_upper)");
	T_TRUE(load("libwrong_symbol.so", "uppercase", SM_OK) != NULL);
}

static void
a_wrong_api_version_is_refused(void)
{
	T_TRUE(load("libbad_version.so", "bad_version", SM_EINVAL) == NULL);
	T_EQ_STR(err,
	    DIR "/libbad_version.so: operator 'bad_version' is "
	        "built for API version 999; this snapmark runs "
	        "version 1 (rebuild it against this snapmark's "
	        "snapmark.h)");
}

static void
bad_tables_are_refused(void)
{
	static const struct {
		const char *name;
		const char *err;
	} bad[] = {
		{ "small",
		    "operator 'small' has a table of 16 bytes, smaller "
		    "than the smallest this snapmark accepts (" },
		{ "misnamed",
		    "operator 'misnamed' names itself 'other' in its "
		    "table" },
		{ "flagged", "operator 'flagged' has unknown flags 0x80" },
		{ "dry_source",
		    "operator 'dry_source' is a source "
		    "(SNAPMARK_SOURCE) without produce" },
		{ "null", "snapmark_operator_v1_null() returned no operator" },
	};
	char want[600];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_TRUE(
		    load("libbad_tables.so", bad[i].name, SM_EINVAL) == NULL);
		snprintf(want, sizeof(want), "%s/libbad_tables.so: %s", DIR,
		    bad[i].err);
		T_TRUE(strncmp(err, want, strlen(want)) == 0 ||
		    (fprintf(stderr, "  got  %s\n  want %s\n", err, want), 0));
	}
	snprintf(want, sizeof(want), "accepts (%zu)", SM_PLUGIN_MIN_TABLE);
	load("libbad_tables.so", "small", SM_EINVAL);
	T_TRUE(strstr(err, want) != NULL);
	T_TRUE(SM_PLUGIN_MIN_TABLE == sizeof(struct snapmark_operator));
}

/* check parses text as job.ini in the plugins' directory and checks its
 * user operators. */
static int
check(const char *text, int *n_user)
{
	err[0] = '\0';
	int rv = sm_job_parse_in(text, "job.ini", DIR, &job, err, sizeof(err));
	if (rv != SM_OK) {
		fprintf(stderr, "  parse: %s\n", err);
		return -1;
	}
	return sm_plugin_check_job(&job, "job.ini", n_user, err, sizeof(err));
}

#define JOB_HEAD "[job]\nname = j\n[stage src]\noperator = gen\n" /* 1-4 */

static void
a_jobs_operators_are_checked_with_file_and_line(void)
{
	int n = -1;

	T_OK(check(JOB_HEAD "[stage up]\n"            /* 5 */
	                    "library = libupper.so\n" /* 6 */
	                    "operator = upper\n"      /* 7 */
	                    "input = src forward\n"   /* 8 */
	                    "mode = lower\n"          /* 9 */
	                    "[stage t]\n"
	                    "library = libbad_tables.so\n"
	                    "operator = ticks\n",
	    &n));
	T_EQ_INT(n, 2);
	T_OK(check(JOB_HEAD, &n));
	T_EQ_INT(n, 0);

	T_ERR(check(JOB_HEAD "[stage up]\nlibrary = libupper.so\n"
	                     "operator = upper\ninput = src forward\n"
	                     "; a comment\nmode = sideways\n",
	          &n),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:10: stage up: operator upper: mode must be "
	    "upper or lower, not 'sideways'");

	T_ERR(check(JOB_HEAD "[stage no]\nlibrary = librefuse.so\n"
	                     "operator = refuse\ninput = src hash\nx = 1\n",
	          &n),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:5: stage no: operator refuse: refuses every "
	    "configuration (1 options, on lines 9)");

	T_ERR(check(JOB_HEAD "[stage up]\noperator = upper\n"
	                     "input = src forward\nlibrary = libnope.so\n",
	          &n),
	    SM_EIO);
	T_EQ_STR(err,
	    "job.ini:8: stage up: cannot load library: " DIR
	    "/libnope.so: cannot open shared object file: No such "
	    "file or directory");

	T_ERR(check(JOB_HEAD "[stage up]\nlibrary = libwrong_symbol.so\n"
	                     "operator = upper\ninput = src forward\n",
	          &n),
	    SM_ENOTFOUND);
	T_EQ_STR(err,
	    "job.ini:6: stage up: " DIR "/libwrong_symbol.so has no "
	    "operator 'upper' (no symbol "
	    "snapmark_operator_v1_upper)");

	T_ERR(check(JOB_HEAD "[stage up]\nlibrary = libbad_version.so\n"
	                     "operator = bad_version\ninput = src forward\n",
	          &n),
	    SM_EINVAL);
	T_TRUE(strncmp(err,
	           "job.ini:6: stage up: " DIR "/libbad_version.so: "
	           "operator 'bad_version' is built for API version "
	           "999",
	           strlen("job.ini:6: stage up: " DIR "/libbad_version.so: "
	                  "operator 'bad_version' is built for API version "
	                  "999")) == 0);
}

static void
sources_and_inputs_must_agree(void)
{
	T_ERR(check("[job]\nname = j\n[stage up]\nlibrary = libupper.so\n"
	            "operator = upper\n",
	          NULL),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:3: stage up: operator upper: needs an input "
	    "(input = STAGE EDGE): it is not a source");
	T_ERR(check(JOB_HEAD "[stage t]\nlibrary = libbad_tables.so\n"
	                     "operator = ticks\ninput = src forward\n",
	          NULL),
	    SM_EINVAL);
	T_EQ_STR(err,
	    "job.ini:5: stage t: operator ticks: is a source "
	    "(SNAPMARK_SOURCE) and takes no input");
}

static const struct sm_test tests[] = {
	{ "a_good_operator_loads_once_and_configures",
	    a_good_operator_loads_once_and_configures },
	{ "a_refusal_names_the_line_of_the_option_it_names",
	    a_refusal_names_the_line_of_the_option_it_names },
	{ "a_refusal_that_names_no_option_has_no_line_and_options_carry_"
	  "theirs",
	    a_refusal_that_names_no_option_has_no_line_and_options_carry_theirs },
	{ "an_operator_without_configure_takes_no_options",
	    an_operator_without_configure_takes_no_options },
	{ "a_missing_library_or_other_file_is_refused_with_dlerrors_text",
	    a_missing_library_or_other_file_is_refused_with_dlerrors_text },
	{ "a_missing_symbol_is_named", a_missing_symbol_is_named },
	{ "a_wrong_api_version_is_refused", a_wrong_api_version_is_refused },
	{ "bad_tables_are_refused", bad_tables_are_refused },
	{ "a_jobs_operators_are_checked_with_file_and_line",
	    a_jobs_operators_are_checked_with_file_and_line },
	{ "sources_and_inputs_must_agree", sources_and_inputs_must_agree },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
