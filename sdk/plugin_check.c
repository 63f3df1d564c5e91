/*
 * plugin_check.c - a job's user operators loaded and configured once,
 * before anything runs, so that a bad library or option stops the job at
 * its start with the line to fix.
 */
#include "sdk/plugin_check.h"

#include <stdio.h>

#include "common/error.h"
#include "sdk/plugin.h"

/* plugin_check_stage checks the user operator of stage s. */
static int
plugin_check_stage(const struct sm_job *job, int s, const char *origin,
    char *err, size_t errlen)
{
	const struct sm_job_stage *st = &job->stages[s];
	const char *name = sm_job_operator_name(job, s);
	const struct sm_plugin *p;
	struct snapmark_option options[SM_JOB_MAX_OPTIONS];
	char why[512];
	void *config = NULL;
	int line = 0, rv;

	rv =
	    sm_plugin_load(sm_job_library(job, s), name, &p, why, sizeof(why));
	if (rv != SM_OK) {
		snprintf(err, errlen, "%s:%d: stage %s: %s", origin,
		    st->library_line != 0 ? st->library_line
		                          : st->operator_line,
		    st->name, why);
		return rv;
	}
	int source = (p->op.flags & SNAPMARK_SOURCE) != 0;
	if (source != sm_job_is_source(job, s)) {
		snprintf(err, errlen, "%s:%d: stage %s: operator %s: %s",
		    origin, st->line, st->name, name,
		    source ? "is a source (SNAPMARK_SOURCE) and takes no "
		             "input"
		           : "needs an input (input = STAGE EDGE): it is "
		             "not a source");
		return SM_EINVAL;
	}
	size_t n = sm_job_options(job, s, options, SM_JOB_MAX_OPTIONS);
	rv = sm_plugin_configure(p, options, n, &config, &line, why,
	    sizeof(why));
	if (rv != SM_OK) {
		snprintf(err, errlen, "%s:%d: stage %s: operator %s: %s",
		    origin, line != 0 ? line : st->line, st->name, name, why);
		return rv;
	}
	sm_plugin_free_config(p, config);
	return SM_OK;
}

int
sm_plugin_check_job(const struct sm_job *job, const char *origin, int *n_user,
    char *err, size_t errlen)
{
	int n = 0;

	if (origin == NULL)
		origin = "job";
	for (int s = 0; s < job->n_stages; s++) {
		if (job->stages[s].op != SM_OP_USER)
			continue;
		int rv = plugin_check_stage(job, s, origin, err, errlen);
		if (rv != SM_OK)
			return rv;
		n++;
	}
	if (n_user != NULL)
		*n_user = n;
	return SM_OK;
}
