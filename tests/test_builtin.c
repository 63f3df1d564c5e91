/*
 * test_builtin.c - built-in SDK operators as a job sees them: the names
 * the job-file parser knows (common/jobfile.c) are exactly those of the
 * registry (operators/builtin.c); sdk/ loads them with an empty library
 * and checks and configures them like plugins, errors naming FILE:LINE.
 */
#include <stdio.h>
#include <string.h>

#include "common/jobfile.h"
#include "operators/builtin.h"
#include "sdk/plugin.h"
#include "sdk/plugin_check.h"
#include "tests/check.h"

static struct sm_job job;
static char err[512];

static void
test_parser_and_registry_agree(void)
{
	char text[256];
	for (size_t i = 0; sm_builtin_operator_name(i) != NULL; i++) {
		const char *name = sm_builtin_operator_name(i);
		T_TRUE(sm_builtin_operator(name) != NULL);
		snprintf(text, sizeof(text),
		    "[job]\nname = j\n[stage s]\noperator = %s\n", name);
		T_OK(sm_job_parse(text, "job.ini", &job, err, sizeof(err)));
		T_EQ_INT(job.stages[0].op, SM_OP_USER);
		T_EQ_STR(sm_job_library(&job, 0), "");
		T_EQ_STR(sm_job_operator_name(&job, 0), name);
	}
	/* The parser lists its names after the classic built-ins. */
	T_ERR(sm_job_parse("[job]\nname = j\n[stage s]\noperator = x\n",
	          "job.ini", &job, err, sizeof(err)),
	    SM_EINVAL);
	const char *classic = "gen, passthrough, count, file, discard";
	char *at = strstr(err, classic);
	T_TRUE(at != NULL);
	at += strlen(classic);
	size_t listed = 0;
	char word[64];
	int n;
	while (sscanf(at, ", %63[a-z_]%n", word, &n) == 1) {
		T_TRUE(sm_builtin_operator(word) != NULL);
		at += n;
		listed++;
	}
	size_t registered = 0;
	while (sm_builtin_operator_name(registered) != NULL)
		registered++;
	T_EQ_INT(listed, registered);
}

static void
test_load_by_name(void)
{
	const struct sm_plugin *p;
	T_OK(sm_plugin_load("", "lines", &p, err, sizeof(err)));
	T_TRUE(p->op.flags & SNAPMARK_SOURCE);
	T_EQ_STR(p->library, "");
	const struct sm_plugin *again;
	T_OK(sm_plugin_load("", "lines", &again, err, sizeof(err)));
	T_TRUE(again == p);
	T_OK(sm_plugin_load("", "window_count", &p, err, sizeof(err)));
	T_TRUE(!(p->op.flags & SNAPMARK_SOURCE));
	T_ERR(sm_plugin_load("", "nope", &p, err, sizeof(err)), SM_ENOTFOUND);
	T_TRUE(strstr(err, "no built-in operator 'nope'") != NULL);
}

static int
check(const char *text)
{
	err[0] = '\0';
	int rv = sm_job_parse(text, "job.ini", &job, err, sizeof(err));
	if (rv != SM_OK)
		return rv;
	return sm_plugin_check_job(&job, "job.ini", NULL, err, sizeof(err));
}

static void
test_check_job(void)
{
	T_OK(check("[job]\nname = j\n"
		   "[stage src]\noperator = lines\npath = /tmp\n"
		   "[stage w]\noperator = window_count\ninput = src hash\n"
		   "size_ms = 10\ntime = processing\n"
		   "[stage out]\noperator = file\ninput = w forward\n"
		   "format = text\n"));
	T_ERR(check("[job]\nname = j\n"
		    "[stage src]\noperator = lines\nfollow = maybe\n"
		    "path = /tmp\n"),
	    SM_EINVAL);
	T_EQ_STR(err, "job.ini:5: stage src: operator lines: follow must be "
		      "true or false, not 'maybe'");
	T_ERR(check("[job]\nname = j\n[stage src]\noperator = lines\n"),
	    SM_EINVAL);
	T_EQ_STR(err, "job.ini:3: stage src: operator lines: lines needs "
		      "path = FILE_OR_DIR (an absolute path)");
	T_ERR(check("[job]\nname = j\n"
		    "[stage w]\noperator = window_count\nsize_ms = 5\n"),
	    SM_EINVAL);
	T_TRUE(strstr(err, "job.ini:3: stage w: operator window_count: "
			   "needs an input") != NULL);
}

static const struct sm_test tests[] = {
	{ "parser_and_registry_agree", test_parser_and_registry_agree },
	{ "load_by_name", test_load_by_name },
	{ "check_job", test_check_job },
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
