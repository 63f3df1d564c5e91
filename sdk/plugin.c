/*
 * plugin.c - loading user operators: the registry of what this process
 * loaded, the checks of a table, configure.
 *
 * The registry keeps every operator ever loaded, and dlclose is never
 * called: an instance, a config or a pending callback of a plugin must
 * never find its code gone. It is a short list behind one mutex (a job has
 * at most SM_JOB_MAX_STAGES operators).
 *
 * An empty library names a built-in SDK operator (operators/builtin.h):
 * its table is found by name instead of by dlsym, and checked the same.
 */
#include "sdk/plugin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "operators/builtin.h"

#define PLUGIN_SYMBOL_PREFIX "snapmark_operator_v1_"
#define PLUGIN_KNOWN_FLAGS SNAPMARK_SOURCE

struct plugin_entry {
	struct sm_plugin plugin;
	struct plugin_entry *next;
	/* library and name follow, NUL-terminated */
};

static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static struct plugin_entry *plugin_loaded;

static const struct sm_plugin *
plugin_find(const char *library, const char *name)
{
	for (struct plugin_entry *e = plugin_loaded; e != NULL; e = e->next)
		if (strcmp(e->plugin.library, library) == 0 &&
		    strcmp(e->plugin.name, name) == 0)
			return &e->plugin;
	return NULL;
}

/* plugin_check_table checks what the entry point returned and copies it
 * into *op, zero-filled past the plugin's own size. */
static int
plugin_check_table(const char *library, const char *name,
    const struct snapmark_operator *t, struct snapmark_operator *op, char *err,
    size_t errlen)
{
	if (t == NULL) {
		snprintf(err, errlen,
		    "%s: " PLUGIN_SYMBOL_PREFIX "%s() returned no operator",
		    library, name);
		return SM_EINVAL;
	}
	/* api_version and size come first in every version's table. */
	if (t->api_version != SNAPMARK_API_VERSION) {
		snprintf(err, errlen,
		    "%s: operator '%s' is built for API version %u; this "
		    "snapmark runs version %d (rebuild it against this "
		    "snapmark's snapmark.h)",
		    library, name, (unsigned) t->api_version,
		    SNAPMARK_API_VERSION);
		return SM_EINVAL;
	}
	if (t->size < SM_PLUGIN_MIN_TABLE) {
		snprintf(err, errlen,
		    "%s: operator '%s' has a table of %u bytes, smaller "
		    "than the smallest this snapmark accepts (%zu)",
		    library, name, (unsigned) t->size, SM_PLUGIN_MIN_TABLE);
		return SM_EINVAL;
	}
	memset(op, 0, sizeof(*op));
	memcpy(op, t, t->size < sizeof(*op) ? t->size : sizeof(*op));
	if (op->name == NULL || strcmp(op->name, name) != 0) {
		snprintf(err, errlen,
		    "%s: operator '%s' names itself '%.64s' in its table",
		    library, name, op->name != NULL ? op->name : "(null)");
		return SM_EINVAL;
	}
	if ((op->flags & ~(uint32_t) PLUGIN_KNOWN_FLAGS) != 0) {
		snprintf(err, errlen,
		    "%s: operator '%s' has unknown flags 0x%x", library, name,
		    (unsigned) (op->flags & ~(uint32_t) PLUGIN_KNOWN_FLAGS));
		return SM_EINVAL;
	}
	if ((op->flags & SNAPMARK_SOURCE) && op->produce == NULL) {
		snprintf(err, errlen,
		    "%s: operator '%s' is a source (SNAPMARK_SOURCE) "
		    "without produce",
		    library, name);
		return SM_EINVAL;
	}
	return SM_OK;
}

static int plugin_register(const char *library, const char *name,
    const struct snapmark_operator *op, const struct sm_plugin **out,
    char *err, size_t errlen);

/* plugin_open does the work of sm_plugin_load, under the lock. */
static int
plugin_open(const char *library, const char *name,
    const struct sm_plugin **out, char *err, size_t errlen)
{
	char symbol[sizeof(PLUGIN_SYMBOL_PREFIX) + 256];
	struct snapmark_operator op;
	void *handle, *sym;
	int rv;

	if ((*out = plugin_find(library, name)) != NULL)
		return SM_OK;
	if (strlen(name) > 255) {
		snprintf(err, errlen, "operator name is too long");
		return SM_EINVAL;
	}
	if (library[0] == '\0') {
		const struct snapmark_operator *t = sm_builtin_operator(name);
		if (t == NULL) {
			snprintf(err, errlen,
			    "no built-in operator '%s' (give library = PATH "
			    "for a plugin's)",
			    name);
			return SM_ENOTFOUND;
		}
		if ((rv = plugin_check_table("built-in", name, t, &op, err,
		         errlen)) != SM_OK)
			return rv;
		return plugin_register(library, name, &op, out, err, errlen);
	}
	/* Never closed (see the top): also not after a failed check, as
	 * the library's constructors have run and another operator of it
	 * may be in use. */
	dlerror();
	handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		const char *why = dlerror();
		snprintf(err, errlen, "cannot load library: %s",
		    why != NULL ? why : library);
		return SM_EIO;
	}
	snprintf(symbol, sizeof(symbol), PLUGIN_SYMBOL_PREFIX "%s", name);
	dlerror();
	sym = dlsym(handle, symbol);
	if (sym == NULL) {
		snprintf(err, errlen, "%s has no operator '%s' (no symbol %s)",
		    library, name, symbol);
		return SM_ENOTFOUND;
	}
	/* A function pointer from dlsym's object pointer: POSIX's way. */
	snapmark_operator_entry_v1 entry;
	memcpy(&entry, &sym, sizeof(entry));
	if ((rv = plugin_check_table(library, name, entry(), &op, err,
	         errlen)) != SM_OK)
		return rv;
	return plugin_register(library, name, &op, out, err, errlen);
}

/* plugin_register keeps a checked table in the registry, under the lock. */
static int
plugin_register(const char *library, const char *name,
    const struct snapmark_operator *op, const struct sm_plugin **out,
    char *err, size_t errlen)
{
	size_t llen = strlen(library) + 1, nlen = strlen(name) + 1;
	struct plugin_entry *e = malloc(sizeof(*e) + llen + nlen);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return SM_ENOMEM;
	}
	char *strings = (char *) (e + 1);
	memcpy(strings, library, llen);
	memcpy(strings + llen, name, nlen);
	e->plugin.op = *op;
	e->plugin.library = strings;
	e->plugin.name = strings + llen;
	e->next = plugin_loaded;
	plugin_loaded = e;
	*out = &e->plugin;
	return SM_OK;
}

int
sm_plugin_load(const char *library, const char *name,
    const struct sm_plugin **out, char *err, size_t errlen)
{
	pthread_mutex_lock(&plugin_lock);
	int rv = plugin_open(library, name, out, err, errlen);
	pthread_mutex_unlock(&plugin_lock);
	return rv;
}

static int
plugin_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* plugin_named_line: the line of the option whose key msg names first,
 * as a whole word; 0 if it names none. */
static int
plugin_named_line(const char *msg, const struct snapmark_option *options,
    size_t n)
{
	const char *best = NULL;
	int line = 0;

	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(options[i].key);
		if (klen == 0)
			continue;
		for (const char *at = strstr(msg, options[i].key); at != NULL;
		     at = strstr(at + 1, options[i].key)) {
			if ((at > msg && plugin_word_char(at[-1])) ||
			    plugin_word_char(at[klen]))
				continue;
			if (best == NULL || at < best) {
				best = at;
				line = options[i].line;
			}
			break;
		}
	}
	return line;
}

int
sm_plugin_configure(const struct sm_plugin *p,
    const struct snapmark_option *options, size_t n, void **config, int *line,
    char *err, size_t errlen)
{
	char msg[512];
	void *made = NULL;

	*line = 0;
	if (p->op.configure == NULL) {
		if (n > 0) {
			*line = options[0].line;
			snprintf(err, errlen,
			    "unknown option '%s' (the operator takes no "
			    "options)",
			    options[0].key);
			return SM_EINVAL;
		}
		*config = NULL;
		return SM_OK;
	}
	memset(msg, 0, sizeof(msg));
	if (p->op.configure(options, n, &made, msg, sizeof(msg)) == 0) {
		*config = made;
		return SM_OK;
	}
	/* One line, whatever the operator wrote. */
	msg[sizeof(msg) - 1] = '\0';
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = ' ';
	for (size_t len = strlen(msg); len > 0 && msg[len - 1] == ' '; len--)
		msg[len - 1] = '\0';
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "configure refused (no message)");
	*line = plugin_named_line(msg, options, n);
	snprintf(err, errlen, "%s", msg);
	return SM_EINVAL;
}

void
sm_plugin_free_config(const struct sm_plugin *p, void *config)
{
	if (config != NULL && p->op.free_config != NULL)
		p->op.free_config(config);
}
