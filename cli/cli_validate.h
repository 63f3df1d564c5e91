/*
 * cli_validate.h - `snapmark validate JOBFILE`: the checks a coordinator
 * makes of a job before it starts anything, without a cluster.
 */
#ifndef SM_CLI_VALIDATE_H
#define SM_CLI_VALIDATE_H

#include <stdio.h>

/*
 * cli_validate_run parses the job file at path, then loads and
 * configures each of its user operators (sdk/plugin_check.h). A valid
 * job prints "PATH: ok (N stages, M tasks, K user operators)" on out and
 * returns SM_OK; anything wrong prints one line on errout, "snapmark:
 * PATH:LINE: what is wrong" (or "snapmark: cannot read PATH: ..."), and
 * returns its code.
 */
int cli_validate_run(const char *path, FILE *out, FILE *errout);

#endif
