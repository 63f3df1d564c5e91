/*
 * plugin.h - user operators from shared objects (docs/SDK.md): load one
 * by (library, name), check its table against this runtime, configure it
 * with a stage's options.
 *
 * A library, once opened, stays open for the life of the process: tasks
 * may run its code at any time, and a config or an instance the operator
 * made must never outlive its code. Loading the same (library, name) again
 * returns the same plugin. Every function here may be called from any
 * thread.
 */
#ifndef SM_PLUGIN_H
#define SM_PLUGIN_H

#include <stddef.h>

#include "snapmark/snapmark.h"

/* The smallest operator table this runtime accepts: the table of API
 * version 1, up to and including close. Tables only grow at their end,
 * so this stays what it is when the header grows. */
#define SM_PLUGIN_MIN_TABLE                                                   \
	(offsetof(struct snapmark_operator, close) + sizeof(void (*)(void)))

/* A loaded operator. */
struct sm_plugin {
	/* The plugin's table as this runtime knows it: what the plugin's
	 * own table (of its own size) lacks is NULL or 0. */
	struct snapmark_operator op;
	const char *library; /* the path it was loaded from */
	const char *name;    /* NAME of snapmark_operator_v1_NAME */
};

/*
 * sm_plugin_load loads operator `name` from the shared object at library
 * (dlopen RTLD_NOW | RTLD_LOCAL, then the symbol
 * snapmark_operator_v1_NAME, called once) and checks its table: its
 * api_version is SNAPMARK_API_VERSION, its size at least
 * SM_PLUGIN_MIN_TABLE, its name `name`, its flags known, and a source
 * (SNAPMARK_SOURCE) has produce. *out is valid for the life of the
 * process. An empty library ("") names a built-in SDK operator
 * (operators/builtin.h, a job's `operator = lines` without a library):
 * the same checks, "no built-in operator 'NAME'" (SM_ENOTFOUND) if there
 * is none. Errors, with a one-line message in err:
 *   SM_EIO       the library cannot be loaded ("cannot load library: "
 *                and dlerror's text: missing, not a shared object, ...)
 *   SM_ENOTFOUND "LIB has no operator 'NAME' (no symbol
 *                snapmark_operator_v1_NAME)"
 *   SM_EINVAL    a wrong API version, or a bad table ("LIB: operator
 *                'NAME' ...")
 *   SM_ENOMEM
 */
int sm_plugin_load(const char *library, const char *name,
    const struct sm_plugin **out, char *err, size_t errlen);

/*
 * sm_plugin_configure gives the operator its options (configure). On
 * success *config is the operator's (NULL if it has no configure); free
 * it with sm_plugin_free_config. A refusal returns SM_EINVAL with the
 * operator's message in err (made one line) and, in *line, the line of
 * the option the message names (the option whose key appears first in it
 * as a word), or 0 if it names none. An operator without configure takes
 * no options: any option is refused, naming the first.
 */
int sm_plugin_configure(const struct sm_plugin *p,
    const struct snapmark_option *options, size_t n, void **config, int *line,
    char *err, size_t errlen);

/* sm_plugin_free_config frees what configure made (free_config). */
void sm_plugin_free_config(const struct sm_plugin *p, void *config);

#endif
