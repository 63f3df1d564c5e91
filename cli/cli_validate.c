/*
 * cli_validate.c - `snapmark validate`: a job file checked as the
 * coordinator checks it at start (the same parser, the same loading and
 * configuring of user operators, the same messages), with no run
 * directory and no process started.
 */
#include "cli/cli_validate.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/jobfile.h"
#include "sdk/plugin_check.h"

int
cli_validate_run(const char *path, FILE *out, FILE *errout)
{
	struct sm_job *job = calloc(1, sizeof(*job));
	char err[1024];
	int n_user = 0, rv;

	if (job == NULL) {
		fprintf(errout, "snapmark: out of memory\n");
		return SM_ENOMEM;
	}
	rv = sm_job_load(path, job, NULL, err, sizeof(err));
	if (rv == SM_OK)
		rv = sm_plugin_check_job(job, path, &n_user, err, sizeof(err));
	if (rv != SM_OK)
		fprintf(errout, "snapmark: %s\n", err);
	else
		fprintf(out,
		    "%s: ok (%d stage%s, %d task%s, %d user "
		    "operator%s)\n",
		    path, job->n_stages, job->n_stages == 1 ? "" : "s",
		    job->n_tasks, job->n_tasks == 1 ? "" : "s", n_user,
		    n_user == 1 ? "" : "s");
	free(job);
	return rv;
}
