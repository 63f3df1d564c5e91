/*
 * plugin_check.h - the check of a job's user operators before anything
 * runs: each loaded from its library and configured with its stage's
 * options, as the coordinator does at start and `snapmark validate` does
 * without a cluster.
 */
#ifndef SM_PLUGIN_CHECK_H
#define SM_PLUGIN_CHECK_H

#include <stddef.h>

#include "common/jobfile.h"

/*
 * sm_plugin_check_job loads every user operator of job (sdk/plugin.h),
 * checks that the stages without an input run sources (SNAPMARK_SOURCE)
 * and the others do not, and configures each with its stage's options
 * (freeing the config again). The libraries stay loaded. On success
 * *n_user (if not NULL) is the number of stages that run a user operator.
 * The first failure, in stage order, returns its code with one line in
 * err, origin naming the job file:
 *   "ORIGIN:LINE: stage S: <why the library or operator cannot load>"
 *       LINE of the stage's library key (of its operator key for a
 *       built-in SDK operator, which has none)
 *   "ORIGIN:LINE: stage S: operator NAME: <what it says>"
 *       a refusal of configure: LINE of the option its message names,
 *       else of the [stage] header; also a source that has an input or
 *       an operator that is none without one (the header's line)
 */
int sm_plugin_check_job(const struct sm_job *job, const char *origin,
    int *n_user, char *err, size_t errlen);

#endif
