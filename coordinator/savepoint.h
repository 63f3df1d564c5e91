/*
 * savepoint.h - savepoints (savepoint.c): checking and creating a target
 * directory, writing a completed savepoint's self-contained _metadata, and
 * loading one to restore a job from (--restore-from).
 */
#ifndef COORD_SAVEPOINT_H
#define COORD_SAVEPOINT_H

#include <stddef.h>

#include "coordinator/coord.h"

/* coord_savepoint_load reads DIR/_metadata and plans how every task of
 * the job restores from it (rescaling keyed stages by key group) into
 * c->savepoint, c->savepoint_plan and c->restore_from. */
int coord_savepoint_load(struct coord *c, const char *dir, char *why,
    size_t whylen);

/* coord_savepoint_free frees what coord_savepoint_load loaded. */
void coord_savepoint_free(struct coord *c);

/* coord_savepoint_target checks a savepoint target and creates it (0700):
 * absolute, no "." or ".." in it, empty or absent, and inside the run dir
 * only under RUN/savepoints/. *out receives it with symlinks resolved;
 * SM_EINVAL/SM_EIO with the reason in why otherwise. */
int coord_savepoint_target(struct coord *c, const char *dir, char *out,
    size_t outlen, char *why, size_t whylen);

/* coord_savepoint_write writes DIR/_metadata for a completed savepoint. */
int coord_savepoint_write(struct coord *c,
    const Snapmark__CheckpointRecord *rec);

#endif
