/*
 * builtin.c - the registry of built-in SDK operators: a name to a table.
 * Adding one: its file here, its entry below, its name in common/jobfile.c's
 * list of built-in SDK operator names (tests/test_builtin.c checks that the
 * two lists agree).
 */
#include "operators/builtin.h"

#include <string.h>

#include "operators/lines.h"
#include "operators/window_count.h"

static const struct {
	const char *name;
	const struct snapmark_operator *(*table)(void);
} builtin_operators[] = {
	{ "lines", sm_lines_operator },
	{ "window_count", sm_window_count_operator },
};

#define BUILTIN_COUNT (sizeof(builtin_operators) / sizeof(builtin_operators[0]))

const struct snapmark_operator *
sm_builtin_operator(const char *name)
{
	for (size_t i = 0; i < BUILTIN_COUNT; i++)
		if (strcmp(builtin_operators[i].name, name) == 0)
			return builtin_operators[i].table();
	return NULL;
}

const char *
sm_builtin_operator_name(size_t i)
{
	return i < BUILTIN_COUNT ? builtin_operators[i].name : NULL;
}
