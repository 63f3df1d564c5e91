/*
 * builtin.h - the SDK operators built into snapmark (operators/): written
 * against snapmark/snapmark.h alone, like a plugin, and found by name
 * instead of from a shared object. A job names one with `operator = NAME`
 * and no library; sdk/plugin.h resolves such a stage here, with the same
 * checks and configure as a plugin's.
 */
#ifndef SM_OPERATORS_BUILTIN_H
#define SM_OPERATORS_BUILTIN_H

#include <stddef.h>

#include "snapmark/snapmark.h"

/* sm_builtin_operator: the built-in SDK operator called name (its static
 * table), or NULL if there is none. */
const struct snapmark_operator *sm_builtin_operator(const char *name);

/* sm_builtin_operator_name: the name of built-in SDK operator i, in a
 * fixed order; NULL for i past the last. */
const char *sm_builtin_operator_name(size_t i);

#endif
