/*
 * jobfile.c - the job file: INI text to struct sm_job, and the task and
 * channel numbering every process derives from it.
 *
 * libinih splits "key = value" lines and strips comments; the grammar above
 * that lives here. libinih reads through jf_reader, which
 *
 *   - counts lines, because Debian's libinih does not pass line numbers to
 *     the handler and every error must name its line;
 *   - rejects lines the parser's fixed buffer would cut in two (it would
 *     silently parse the tail as a line of its own);
 *   - strips leading blanks, so an indented line is never taken for a
 *     libinih continuation line (an indented "keys = 5" would otherwise
 *     become a second value of the key before it);
 *   - parses [section] headers itself: libinih does not tell the handler
 *     about a section that has no keys and keeps only 49 bytes of a
 *     section name, while a stage name may have 63.
 *
 * Values are checked when their key is read. A section is checked when the
 * next header (or the end of the text) closes it, because the keys of a
 * stage come in any order: whether 'records' is allowed depends on an
 * 'operator' that may follow it. The job as a whole is checked last. The
 * first error wins and stops the parse; among the errors of one section
 * check, the one on the earliest line is reported.
 *
 * A [stage] with a `library` key runs a user operator. Whether it has one
 * decides how every other key is read (a user stage's `records` is the
 * operator's option, not gen's), so the header looks ahead through the
 * section's lines for it (jf_stage_has_library) before any key is read.
 */
#include "common/jobfile.h"
#include "common/keygroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "common/error.h"

/* Durations are capped at a week so that callers can turn milliseconds into
 * nanoseconds and add them to a clock without overflowing 64 bits. */
#define JF_MS_MAX 604800000u
#define JF_MAX_PARALLELISM 256
#define JF_MAX_KEY_GROUPS 32768
#define JF_DEFAULT_KEY_GROUPS 128
/* A job file is a screenful of text; the cap keeps a wrong path (a log, a
 * device) from being read whole. */
#define JF_MAX_TEXT (1024 * 1024)

#define JF_OPERATORS \
	"gen, passthrough, count, file, discard, lines, window_count"
#define JF_EDGES "forward, hash, broadcast"

enum jf_section { JF_NONE, JF_JOB, JF_CHECKPOINT, JF_STAGE, JF_RESTART };

enum jf_kind {
	JF_U64,      /* uint64_t in [min, max] */
	JF_U32,      /* uint32_t in [min, max] */
	JF_INT,      /* int in [min, max] */
	JF_NAME,     /* char[SM_JOB_NAME_MAX], [A-Za-z0-9_-] */
	JF_MODE,     /* enum sm_ckpt_mode */
	JF_OPERATOR, /* enum sm_operator */
	JF_FORMAT,   /* char[16]: records | counts | text */
	JF_INPUT,    /* "STAGE EDGE", appended to the stage's inputs */
	JF_BOOL,     /* uint32_t: true | false */
	JF_STRATEGY, /* enum sm_restart_strategy */
	JF_FACTOR,   /* double in [min, max]: a decimal number */
	JF_LIBRARY,  /* a user operator's library: path in the job's pool */
	JF_PATH,     /* a directory: the text as it is, in the job's pool */
};

struct jf_key {
	const char *name;
	enum jf_section section;
	int only_op; /* the one operator that accepts the key, or -1 */
	enum jf_kind kind;
	uint64_t min;
	uint64_t max;
	size_t offset; /* of the field in sm_job, sm_job_checkpoint or stage */
};

#define JF_JOB_FIELD(f) offsetof(struct sm_job, f)
#define JF_CKPT_FIELD(f) offsetof(struct sm_job_checkpoint, f)
#define JF_STAGE_FIELD(f) offsetof(struct sm_job_stage, f)
#define JF_RESTART_FIELD(f) offsetof(struct sm_job_restart, f)

static const struct jf_key jf_keys[] = {
	{ "name", JF_JOB, -1, JF_NAME, 0, 0, JF_JOB_FIELD(name) },
	{ "heartbeat_ms", JF_JOB, -1, JF_U64, 1, JF_MS_MAX,
	    JF_JOB_FIELD(heartbeat_ms) },
	{ "heartbeat_timeout_ms", JF_JOB, -1, JF_U64, 1, JF_MS_MAX,
	    JF_JOB_FIELD(heartbeat_timeout_ms) },
	{ "http_port", JF_JOB, -1, JF_INT, 0, 65535,
	    JF_JOB_FIELD(http_port) },
	{ "interval_ms", JF_CHECKPOINT, -1, JF_U64, 0, JF_MS_MAX,
	    JF_CKPT_FIELD(interval_ms) },
	{ "timeout_ms", JF_CHECKPOINT, -1, JF_U64, 1, JF_MS_MAX,
	    JF_CKPT_FIELD(timeout_ms) },
	{ "min_pause_ms", JF_CHECKPOINT, -1, JF_U64, 0, JF_MS_MAX,
	    JF_CKPT_FIELD(min_pause_ms) },
	{ "retained", JF_CHECKPOINT, -1, JF_U32, 1, UINT32_MAX,
	    JF_CKPT_FIELD(retained) },
	{ "mode", JF_CHECKPOINT, -1, JF_MODE, 0, 0, JF_CKPT_FIELD(mode) },
	{ "tolerable_failures", JF_CHECKPOINT, -1, JF_U32, 0, UINT32_MAX,
	    JF_CKPT_FIELD(tolerable_failures) },
	{ "incremental", JF_CHECKPOINT, -1, JF_U32, 0, 1,
	    JF_CKPT_FIELD(incremental) },
	{ "full_every", JF_CHECKPOINT, -1, JF_U32, 1, 1000,
	    JF_CKPT_FIELD(full_every) },
	{ "full_delta_percent", JF_CHECKPOINT, -1, JF_U32, 1, 10000,
	    JF_CKPT_FIELD(full_delta_percent) },
	{ "operator", JF_STAGE, -1, JF_OPERATOR, 0, 0, JF_STAGE_FIELD(op) },
	{ "parallelism", JF_STAGE, -1, JF_INT, 1, JF_MAX_PARALLELISM,
	    JF_STAGE_FIELD(parallelism) },
	{ "max_parallelism", JF_STAGE, SM_OP_COUNT, JF_INT, 1,
	    JF_MAX_KEY_GROUPS, JF_STAGE_FIELD(max_parallelism) },
	{ "input", JF_STAGE, -1, JF_INPUT, 0, 0, JF_STAGE_FIELD(inputs) },
	{ "records", JF_STAGE, SM_OP_GEN, JF_U64, 0, UINT64_MAX,
	    JF_STAGE_FIELD(records) },
	{ "keys", JF_STAGE, SM_OP_GEN, JF_U64, 1, UINT64_MAX,
	    JF_STAGE_FIELD(keys) },
	{ "rate", JF_STAGE, SM_OP_GEN, JF_U64, 0, UINT64_MAX,
	    JF_STAGE_FIELD(rate) },
	{ "seed", JF_STAGE, SM_OP_GEN, JF_U64, 0, UINT64_MAX,
	    JF_STAGE_FIELD(seed) },
	{ "format", JF_STAGE, SM_OP_FILE_SINK, JF_FORMAT, 0, 0,
	    JF_STAGE_FIELD(format) },
	{ "library", JF_STAGE, SM_OP_USER, JF_LIBRARY, 0, 0,
	    JF_STAGE_FIELD(library) },
	{ "path", JF_STAGE, SM_OP_FILE_SINK, JF_PATH, 0, 0,
	    JF_STAGE_FIELD(sink_path) },
	{ "fail_on_storage_error", JF_CHECKPOINT, -1, JF_BOOL, 0, 0,
	    JF_CKPT_FIELD(fail_on_storage_error) },
	/* [restart]: only_op holds the one strategy a key belongs to. */
	{ "strategy", JF_RESTART, -1, JF_STRATEGY, 0, 0,
	    JF_RESTART_FIELD(strategy) },
	{ "attempts", JF_RESTART, -1, JF_U32, 0, 1000000,
	    JF_RESTART_FIELD(attempts) },
	{ "delay_ms", JF_RESTART, -1, JF_U64, 0, JF_MS_MAX,
	    JF_RESTART_FIELD(delay_ms) },
	{ "max_delay_ms", JF_RESTART, SM_RESTART_EXPONENTIAL_DELAY, JF_U64, 0,
	    JF_MS_MAX, JF_RESTART_FIELD(max_delay_ms) },
	{ "backoff_multiplier", JF_RESTART, SM_RESTART_EXPONENTIAL_DELAY,
	    JF_FACTOR, 1, 100, JF_RESTART_FIELD(multiplier) },
	{ "reset_after_ms", JF_RESTART, -1, JF_U64, 0, JF_MS_MAX,
	    JF_RESTART_FIELD(reset_after_ms) },
};

#define JF_NKEYS ((int) (sizeof(jf_keys) / sizeof(jf_keys[0])))

static const char *const jf_operator_names[] = {
	[SM_OP_GEN] = "gen",
	[SM_OP_PASSTHROUGH] = "passthrough",
	[SM_OP_COUNT] = "count",
	[SM_OP_FILE_SINK] = "file",
	[SM_OP_DISCARD] = "discard",
	[SM_OP_USER] = "user",
};

/* The built-in operators `operator = NAME` may name: all but SM_OP_USER. */
#define JF_BUILTIN_OPERATORS ((int) SM_OP_USER)

/* The built-in SDK operators (operators/builtin.h, which common/ may not
 * include): a stage naming one without a library runs it as a user
 * operator (SM_OP_USER, library ""); sdk/ finds its table by the name.
 * tests/test_builtin.c checks this list against operators/builtin.c. */
static const char *const jf_sdk_operator_names[] = { "lines",
	"window_count" };
#define JF_SDK_OPERATORS                                                     \
	((int) (sizeof(jf_sdk_operator_names) / sizeof(char *)))

/* The keys of a user operator's stage that the runtime consumes; every
 * other key is an option for the operator. */
static const char *const jf_runtime_keys[] = { "operator", "library",
	"parallelism", "input", "max_parallelism" };

static const char *const jf_strategy_names[] = {
	[SM_RESTART_FIXED_DELAY] = "fixed-delay",
	[SM_RESTART_EXPONENTIAL_DELAY] = "exponential-delay",
	[SM_RESTART_NONE] = "none",
};

static const char *const jf_edge_names[] = {
	[SM_EDGE_FORWARD] = "forward",
	[SM_EDGE_HASH] = "hash",
	[SM_EDGE_BROADCAST] = "broadcast",
};

struct jf_parse {
	const char *cursor; /* next unread byte of the text */
	const char *origin;
	struct sm_job job;
	int line; /* lines handed to libinih so far */

	enum jf_section section;
	struct sm_job_stage *stage; /* the open [stage], else NULL */
	int key_line[JF_NKEYS];     /* where each key of the open
	                               section was set; 0 = not set */
	int input_line[SM_JOB_MAX_INPUTS];
	int job_line; /* [job] header; 0 = none yet */
	int checkpoint_line;
	int restart_line;

	int user_stage; /* the open [stage] has a library key or names a
	                   built-in SDK operator */

	int failed;
	int err_line;    /* the line the error names; 0 = whole text */
	int err_seen_at; /* the line being read when it was found */
	int checking;    /* in a section check: keep the earliest line */
	char *err;
	size_t errlen;
};

/*
 * jf_error records an error at `line` (0 for the whole text) unless an
 * earlier one is already recorded. Messages stay on one line: every piece of
 * user text in them goes through jf_quote.
 */
static void
jf_error(struct jf_parse *p, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->failed && !(p->checking && line < p->err_line))
		return;
	p->failed = 1;
	p->err_line = line;
	p->err_seen_at = p->line;
	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->origin, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->origin, msg);
}

/* jf_quote copies user text into buf for a message: at most 40 characters,
 * anything but printable ASCII shown as '?'. Returns buf. */
static const char *
jf_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && s[i] != '\0' && n + 4 < size; i++) {
		if (i == 40) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	buf[n] = '\0';
	return buf;
}

static int
jf_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= SM_JOB_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
jf_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* jf_words splits s into at most max blank-separated words; returns how
 * many there are (max + 1 if there are more). */
static int
jf_words(const char *s, const char **word, size_t *len, int max)
{
	int n = 0;

	for (;;) {
		while (jf_blank(*s))
			s++;
		if (*s == '\0' || *s == '\n')
			return n;
		if (n == max)
			return max + 1;
		word[n] = s;
		while (*s != '\0' && *s != '\n' && !jf_blank(*s))
			s++;
		len[n] = (size_t) (s - word[n]);
		n++;
	}
}

static int
jf_word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(w, s, len) == 0;
}

static int
jf_key_index(const char *name)
{
	for (int k = 0; k < JF_NKEYS; k++)
		if (strcmp(jf_keys[k].name, name) == 0)
			return k;
	return -1;
}

static int
jf_stage_index(const struct sm_job *job, const char *name, size_t len)
{
	for (int i = 0; i < job->n_stages; i++)
		if (jf_word_is(name, len, job->stages[i].name))
			return i;
	return -1;
}

/* jf_section_label writes "[job]", "[checkpoint]" or "[stage NAME]". */
static const char *
jf_section_label(const struct jf_parse *p, char *buf, size_t size)
{
	switch (p->section) {
	case JF_JOB:
		return "[job]";
	case JF_CHECKPOINT:
		return "[checkpoint]";
	case JF_RESTART:
		return "[restart]";
	case JF_STAGE:
		snprintf(buf, size, "[stage %s]", p->stage->name);
		return buf;
	case JF_NONE:
		break;
	}
	return "(no section)";
}

static void
jf_check_job_section(struct jf_parse *p)
{
	const struct sm_job *job = &p->job;
	int hb = jf_key_index("heartbeat_ms");
	int hbt = jf_key_index("heartbeat_timeout_ms");

	if (p->key_line[jf_key_index("name")] == 0)
		jf_error(p, p->job_line, "[job] has no name (name = NAME)");
	if (job->heartbeat_timeout_ms <= job->heartbeat_ms) {
		int line =
		    p->key_line[hbt] != 0 ? p->key_line[hbt] : p->key_line[hb];
		jf_error(p, line,
		    "heartbeat_timeout_ms (%llu) must be greater than "
		    "heartbeat_ms (%llu)",
		    (unsigned long long) job->heartbeat_timeout_ms,
		    (unsigned long long) job->heartbeat_ms);
	}
}

static void
jf_check_stage_section(struct jf_parse *p)
{
	struct sm_job_stage *st = p->stage;
	const struct sm_job *job = &p->job;
	int mp_line = p->key_line[jf_key_index("max_parallelism")];

	if (p->key_line[jf_key_index("operator")] == 0 &&
	    st->op == SM_OP_USER) {
		jf_error(p, st->line,
		    "stage '%s' has no operator (operator = NAME, the name "
		    "of an operator of its library)",
		    st->name);
	} else if (p->key_line[jf_key_index("operator")] == 0) {
		jf_error(p, st->line,
		    "stage '%s' has no operator (expected %s)", st->name,
		    JF_OPERATORS);
	} else if (st->op != SM_OP_USER) {
		/* A user operator's stage kept every key but the runtime's
		 * as an option; whether it is a source is sdk/'s check. */
		for (int k = 0; k < JF_NKEYS; k++) {
			int op = jf_keys[k].only_op;
			if (op >= 0 && p->key_line[k] != 0 &&
			    (int) st->op != op)
				jf_error(p, p->key_line[k],
				    "'%s' is only valid for operator %s",
				    jf_keys[k].name, jf_operator_names[op]);
		}
		if (st->op == SM_OP_GEN && st->n_inputs > 0)
			jf_error(p, p->input_line[0],
			    "gen stage '%s' is a source and takes no input",
			    st->name);
		if (st->op != SM_OP_GEN && st->n_inputs == 0)
			jf_error(p, st->line,
			    "stage '%s' (operator %s) needs an input "
			    "(input = STAGE EDGE)",
			    st->name, jf_operator_names[st->op]);
	}
	for (int i = 0; i < st->n_inputs; i++) {
		const struct sm_job_stage *up =
		    &job->stages[st->inputs[i].stage];
		if (st->inputs[i].edge == SM_EDGE_FORWARD &&
		    up->parallelism != st->parallelism)
			jf_error(p, p->input_line[i],
			    "forward edge from '%s' (parallelism %d) to '%s' "
			    "(parallelism %d) needs equal parallelism",
			    up->name, up->parallelism, st->name,
			    st->parallelism);
	}
	if (mp_line != 0 && st->max_parallelism < st->parallelism)
		jf_error(p, mp_line,
		    "max_parallelism (%d) must be at least parallelism (%d)",
		    st->max_parallelism, st->parallelism);
	if (mp_line == 0)
		st->max_parallelism = st->parallelism > JF_DEFAULT_KEY_GROUPS
		    ? st->parallelism
		    : JF_DEFAULT_KEY_GROUPS;
	if (st->op == SM_OP_FILE_SINK && st->format[0] == '\0' &&
	    st->n_inputs > 0) {
		const struct sm_job_stage *up =
		    &job->stages[st->inputs[0].stage];
		strcpy(st->format,
		    up->op == SM_OP_COUNT ? "counts" : "records");
	}
}

/* The keys of [restart] that belong to one strategy, and the delays. */
static void
jf_check_restart_section(struct jf_parse *p)
{
	const struct sm_job_restart *r = &p->job.restart;
	int md = jf_key_index("max_delay_ms");
	const char *name = jf_strategy_names[r->strategy];

	for (int k = 0; k < JF_NKEYS; k++) {
		int only = jf_keys[k].only_op;
		if (jf_keys[k].section == JF_RESTART && only >= 0 &&
		    p->key_line[k] != 0 && (int) r->strategy != only)
			jf_error(p, p->key_line[k],
			    "'%s' is only valid for strategy %s (strategy is "
			    "%s)",
			    jf_keys[k].name, jf_strategy_names[only], name);
	}
	if (r->strategy == SM_RESTART_NONE) {
		for (int k = 0; k < JF_NKEYS; k++)
			if (jf_keys[k].section == JF_RESTART &&
			    p->key_line[k] != 0 &&
			    strcmp(jf_keys[k].name, "strategy") != 0)
				jf_error(p, p->key_line[k],
				    "'%s' has no meaning with strategy none",
				    jf_keys[k].name);
	}
	if (r->strategy == SM_RESTART_EXPONENTIAL_DELAY &&
	    r->max_delay_ms < r->delay_ms) {
		int line = p->key_line[md] != 0
		    ? p->key_line[md]
		    : p->key_line[jf_key_index("delay_ms")];
		jf_error(p, line,
		    "max_delay_ms (%llu) must be at least delay_ms (%llu)",
		    (unsigned long long) r->max_delay_ms,
		    (unsigned long long) r->delay_ms);
	}
}

/* jf_section_end checks the section that the next header or the end of the
 * text closes. */
static void
jf_section_end(struct jf_parse *p)
{
	p->checking = 1;
	if (p->section == JF_JOB)
		jf_check_job_section(p);
	else if (p->section == JF_STAGE)
		jf_check_stage_section(p);
	else if (p->section == JF_RESTART)
		jf_check_restart_section(p);
	p->checking = 0;
	p->section = JF_NONE;
	p->stage = NULL;
	p->user_stage = 0;
}

/*
 * jf_stage_key looks ahead through the lines of the section that starts
 * at s (up to the next header) for the first `name` key, split as libinih
 * splits keys: at the first '=' or ':', blanks trimmed; comment lines
 * (';', '#') skipped. A line that is no key is libinih's to refuse. On a
 * find, *value and *vlen are its value with blanks trimmed and an inline
 * comment (';' or '#' after a blank) cut.
 */
static int
jf_stage_key(const char *s, const char *name, const char **value,
    size_t *vlen)
{
	while (*s != '\0') {
		const char *end = strchr(s, '\n');
		size_t len = end != NULL ? (size_t) (end - s) : strlen(s);
		const char *k = s, *stop = s + len;

		s = end != NULL ? end + 1 : s + len;
		while (k < stop && jf_blank(*k))
			k++;
		if (k < stop && *k == '[')
			return 0;
		if (k == stop || *k == ';' || *k == '#')
			continue;
		const char *delim = k;
		while (delim < stop && *delim != '=' && *delim != ':')
			delim++;
		if (delim == stop)
			continue;
		while (delim > k && jf_blank(delim[-1]))
			delim--;
		if (!jf_word_is(k, (size_t) (delim - k), name))
			continue;
		const char *v = delim, *e;
		while (v < stop && *v != '=' && *v != ':')
			v++;
		for (v++; v < stop && jf_blank(*v); v++)
			;
		for (e = v; e < stop; e++)
			if ((*e == ';' || *e == '#') && e > v && jf_blank(e[-1]))
				break;
		while (e > v && (jf_blank(e[-1]) || e[-1] == '\r'))
			e--;
		*value = v;
		*vlen = (size_t) (e - v);
		return 1;
	}
	return 0;
}

/* jf_stage_runs_user_operator: the section at s has a library, or names a
 * built-in SDK operator (operator = lines). */
static int
jf_stage_runs_user_operator(const char *s)
{
	const char *v;
	size_t len;

	if (jf_stage_key(s, "library", &v, &len))
		return 1;
	if (!jf_stage_key(s, "operator", &v, &len))
		return 0;
	for (int i = 0; i < JF_SDK_OPERATORS; i++)
		if (jf_word_is(v, len, jf_sdk_operator_names[i]))
			return 1;
	return 0;
}

/* jf_section_begin opens the section of a header line (blanks stripped). */
static void
jf_section_begin(struct jf_parse *p, const char *line)
{
	const char *close = strchr(line, ']');
	const char *word[3], *rest;
	size_t len[3];
	char q[48], inner[256];
	int n;

	if (p->section != JF_NONE)
		jf_section_end(p);
	if (p->failed)
		return;
	if (close == NULL) {
		jf_error(p, p->line, "malformed section header (missing ']')");
		return;
	}
	for (rest = close + 1; jf_blank(*rest); rest++)
		;
	if (*rest != '\n' && *rest != '\0' && *rest != ';' && *rest != '#') {
		jf_error(p, p->line, "unexpected '%s' after section header",
		    jf_quote(q, sizeof(q), rest, strcspn(rest, "\n")));
		return;
	}
	snprintf(inner, sizeof(inner), "%.*s", (int) (close - line - 1),
	    line + 1);
	n = jf_words(inner, word, len, 2);
	memset(p->key_line, 0, sizeof(p->key_line));
	memset(p->input_line, 0, sizeof(p->input_line));

	if (n == 1 && jf_word_is(word[0], len[0], "job")) {
		if (p->job_line != 0) {
			jf_error(p, p->line,
			    "duplicate section [job] (first on line %d)",
			    p->job_line);
			return;
		}
		p->job_line = p->line;
		p->section = JF_JOB;
	} else if (n == 1 && jf_word_is(word[0], len[0], "checkpoint")) {
		if (p->checkpoint_line != 0) {
			jf_error(p, p->line,
			    "duplicate section [checkpoint] (first on "
			    "line %d)",
			    p->checkpoint_line);
			return;
		}
		p->checkpoint_line = p->line;
		p->section = JF_CHECKPOINT;
	} else if (n == 1 && jf_word_is(word[0], len[0], "restart")) {
		if (p->restart_line != 0) {
			jf_error(p, p->line,
			    "duplicate section [restart] (first on line %d)",
			    p->restart_line);
			return;
		}
		p->restart_line = p->line;
		p->section = JF_RESTART;
	} else if (n >= 1 && jf_word_is(word[0], len[0], "stage")) {
		struct sm_job *job = &p->job;
		struct sm_job_stage *st;
		int dup;

		if (n != 2) {
			jf_error(p, p->line,
			    "a stage section needs one name: [stage NAME]");
			return;
		}
		if (!jf_name_ok(word[1], len[1])) {
			jf_error(p, p->line,
			    "invalid stage name '%s' (letters, digits, '_' "
			    "and '-', at most %d)",
			    jf_quote(q, sizeof(q), word[1], len[1]),
			    SM_JOB_NAME_MAX - 1);
			return;
		}
		if ((dup = jf_stage_index(job, word[1], len[1])) >= 0) {
			jf_error(p, p->line,
			    "duplicate stage '%s' (first defined on line %d)",
			    job->stages[dup].name, job->stages[dup].line);
			return;
		}
		if (job->n_stages == SM_JOB_MAX_STAGES) {
			jf_error(p, p->line, "too many stages (at most %d)",
			    SM_JOB_MAX_STAGES);
			return;
		}
		st = &job->stages[job->n_stages++];
		memset(st, 0, sizeof(*st));
		memcpy(st->name, word[1], len[1]);
		st->op = SM_OP_PASSTHROUGH; /* until 'operator' says */
		st->parallelism = 1;
		st->keys = 1000;
		st->seed = 1;
		st->line = p->line;
		p->stage = st;
		p->section = JF_STAGE;
		p->user_stage = jf_stage_runs_user_operator(p->cursor);
		if (p->user_stage)
			st->op = SM_OP_USER; /* whatever 'operator' names */
	} else {
		jf_error(p, p->line,
		    "unknown section '[%s]' (expected [job], [checkpoint], "
		    "[restart] or [stage NAME])",
		    jf_quote(q, sizeof(q), inner, strlen(inner)));
	}
}

/*
 * jf_reader is libinih's fgets: it hands over the next line of the text
 * (see the top of the file for what it does on the way) and ends the input
 * at the first error.
 */
static char *
jf_reader(char *buf, int size, void *arg)
{
	struct jf_parse *p = arg;
	const char *s = p->cursor;
	const char *nl;
	size_t len;

	if (p->failed || *s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	len = nl != NULL ? (size_t) (nl - s) : strlen(s);
	p->cursor = s + len + (nl != NULL);
	p->line++;
	if (p->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	if (len > 0 && s[len - 1] == '\r')
		len--;
	/* libinih needs room for "\r\n\0" after the longest line. */
	if (size < 3 || len > (size_t) size - 3) {
		jf_error(p, p->line,
		    "line is too long (%zu characters, at most %d)", len,
		    size < 3 ? 0 : size - 3);
		return NULL;
	}
	while (len > 0 && jf_blank(*s)) {
		s++;
		len--;
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	if (buf[0] == '[') {
		jf_section_begin(p, buf);
		if (p->failed)
			return NULL;
	}
	return buf;
}

/* jf_uint parses a decimal integer without sign into *out. */
static int
jf_uint(struct jf_parse *p, const struct jf_key *key, const char *value,
    uint64_t *out)
{
	unsigned long long v;
	char *end;
	char q[48];

	if (*value < '0' || *value > '9') {
		jf_error(p, p->line,
		    "invalid integer '%s' for '%s' (expected decimal digits, "
		    "no sign)",
		    jf_quote(q, sizeof(q), value, strlen(value)), key->name);
		return SM_EINVAL;
	}
	errno = 0;
	v = strtoull(value, &end, 10);
	if (*end != '\0') {
		jf_error(p, p->line,
		    "invalid integer '%s' for '%s' (trailing characters)",
		    jf_quote(q, sizeof(q), value, strlen(value)), key->name);
		return SM_EINVAL;
	}
	if (errno == ERANGE || v < key->min || v > key->max) {
		jf_error(p, p->line,
		    "'%s' is out of range for '%s' (%llu..%llu)",
		    jf_quote(q, sizeof(q), value, strlen(value)), key->name,
		    (unsigned long long) key->min,
		    (unsigned long long) key->max);
		return SM_EINVAL;
	}
	*out = v;
	return SM_OK;
}

/* jf_lookup finds value in names[0..n-1]; returns the index or -1. */
static int
jf_lookup(const char *const *names, int n, const char *value)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], value) == 0)
			return i;
	return -1;
}

static void
jf_set_input(struct jf_parse *p, const char *value)
{
	struct sm_job *job = &p->job;
	struct sm_job_stage *st = p->stage;
	struct sm_job_input *in;
	const char *word[2];
	size_t len[2];
	char q[48];
	int up, edge;

	if (st->n_inputs == SM_JOB_MAX_INPUTS) {
		jf_error(p, p->line,
		    "too many inputs for stage '%s' (at most %d)", st->name,
		    SM_JOB_MAX_INPUTS);
		return;
	}
	if (jf_words(value, word, len, 2) != 2) {
		jf_error(p, p->line,
		    "input must be 'STAGE EDGE' (e.g. 'source hash'), got "
		    "'%s'",
		    jf_quote(q, sizeof(q), value, strlen(value)));
		return;
	}
	if (jf_word_is(word[0], len[0], st->name)) {
		jf_error(p, p->line, "stage '%s' cannot be its own input",
		    st->name);
		return;
	}
	up = jf_stage_index(job, word[0], len[0]);
	if (up < 0) {
		jf_error(p, p->line,
		    "unknown stage '%s' (stages must be defined before they "
		    "are used as input)",
		    jf_quote(q, sizeof(q), word[0], len[0]));
		return;
	}
	for (edge = 0; edge < 3; edge++)
		if (jf_word_is(word[1], len[1], jf_edge_names[edge]))
			break;
	if (edge == 3) {
		jf_error(p, p->line, "unknown edge '%s' (expected %s)",
		    jf_quote(q, sizeof(q), word[1], len[1]), JF_EDGES);
		return;
	}
	for (int i = 0; i < st->n_inputs; i++) {
		if (st->inputs[i].stage == up) {
			jf_error(p, p->line,
			    "stage '%s' is already an input of '%s' (line %d)",
			    job->stages[up].name, st->name, p->input_line[i]);
			return;
		}
	}
	p->input_line[st->n_inputs] = p->line;
	in = &st->inputs[st->n_inputs++];
	in->stage = up;
	in->edge = (enum sm_edge) edge;
	in->first_channel = 0;
}

/* jf_set_factor parses a decimal number like "2" or "1.5" (digits, at most
 * one '.', no sign or exponent) within [key->min, key->max]. */
static void
jf_set_factor(struct jf_parse *p, const struct jf_key *key, const char *value,
    char *base)
{
	char q[48];
	const char *c = value;
	int digits = 0, dots = 0;

	for (; *c != '\0'; c++) {
		if (*c >= '0' && *c <= '9')
			digits++;
		else if (*c == '.' && dots == 0)
			dots++;
		else
			break;
	}
	if (*c != '\0' || digits == 0 || value[0] == '.') {
		jf_error(p, p->line,
		    "invalid number '%s' for '%s' (expected a decimal like 2 "
		    "or 1.5)",
		    jf_quote(q, sizeof(q), value, strlen(value)), key->name);
		return;
	}
	double v = strtod(value, NULL);
	if (v < (double) key->min || v > (double) key->max) {
		jf_error(p, p->line,
		    "'%s' is out of range for '%s' (%llu..%llu)",
		    jf_quote(q, sizeof(q), value, strlen(value)), key->name,
		    (unsigned long long) key->min,
		    (unsigned long long) key->max);
		return;
	}
	memcpy(base + key->offset, &v, sizeof(v));
}

/* jf_pool_add copies s[0..len) and a NUL into the job's pool; returns its
 * offset, or 0 (and an error) when the pool is full. */
static uint32_t
jf_pool_add(struct jf_parse *p, const char *s, size_t len)
{
	struct sm_job *job = &p->job;
	uint32_t off = job->pool_used;

	if (len >= SM_JOB_POOL_MAX - off) {
		jf_error(p, p->line,
		    "the options and library paths of the job's user "
		    "operators take more than %d bytes",
		    SM_JOB_POOL_MAX);
		return 0;
	}
	memcpy(job->pool + off, s, len);
	job->pool[off + len] = '\0';
	job->pool_used = off + (uint32_t) len + 1;
	return off;
}

/* jf_set_user_operator: `operator = NAME` of a stage with a library; NAME
 * goes into a C symbol (snapmark_operator_v1_NAME). */
static void
jf_set_user_operator(struct jf_parse *p, const char *value)
{
	size_t len = strlen(value);
	char q[48];

	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_'))
			len = 0;
	}
	if (len == 0 || len >= SM_JOB_NAME_MAX) {
		jf_error(p, p->line,
		    "invalid operator name '%s' for a library operator "
		    "(letters, digits and '_', at most %d)",
		    jf_quote(q, sizeof(q), value, strlen(value)),
		    SM_JOB_NAME_MAX - 1);
		return;
	}
	memcpy(p->stage->user_op, value, len + 1);
	p->stage->operator_line = p->line;
}

/* jf_set_library: `library = PATH`, absolute, or relative to the job's
 * directory; kept absolute. */
static void
jf_set_library(struct jf_parse *p, const char *value)
{
	const char *dir = p->job.pool + p->job.dir;
	char path[PATH_MAX];
	int n;

	if (value[0] == '\0') {
		jf_error(p, p->line,
		    "library needs a path (library = PATH of a shared "
		    "object, absolute or relative to the job file)");
		return;
	}
	if (value[0] != '/' && dir[0] == '\0') {
		jf_error(p, p->line,
		    "cannot resolve the relative library path (no current "
		    "directory): give an absolute path");
		return;
	}
	if (value[0] == '/')
		n = snprintf(path, sizeof(path), "%s", value);
	else
		n = snprintf(path, sizeof(path), "%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", value);
	if (n < 0 || (size_t) n >= sizeof(path)) {
		jf_error(p, p->line, "library path is too long (at most %d)",
		    PATH_MAX - 1);
		return;
	}
	uint32_t off = jf_pool_add(p, path, (size_t) n);
	if (off == 0)
		return;
	p->stage->library = off;
	p->stage->library_line = p->line;
}

/* jf_set_sink_path: the file sink's `path = DIR`, kept as written (the
 * worker resolves a relative one against its run directory). */
static void
jf_set_sink_path(struct jf_parse *p, const char *value)
{
	if (value[0] == '\0') {
		jf_error(p, p->line,
		    "path needs a directory (path = DIR, absolute or "
		    "relative to the run directory)");
		return;
	}
	if (strlen(value) > SM_JOB_PATH_MAX) {
		jf_error(p, p->line, "path is too long (at most %d)",
		    SM_JOB_PATH_MAX);
		return;
	}
	uint32_t off = jf_pool_add(p, value, strlen(value));
	if (off != 0)
		p->stage->sink_path = off;
}

/* jf_add_option keeps a key of a user operator's stage that the runtime
 * does not consume, for the operator's configure. */
static void
jf_add_option(struct jf_parse *p, const char *name, const char *value)
{
	struct sm_job_stage *st = p->stage;
	char label[SM_JOB_NAME_MAX + 16];

	for (int i = 0; i < st->n_options; i++) {
		if (strcmp(p->job.pool + st->options[i].key, name) == 0) {
			jf_error(p, p->line,
			    "duplicate key '%s' in %s (first set on line %d)",
			    name, jf_section_label(p, label, sizeof(label)),
			    st->options[i].line);
			return;
		}
	}
	if (st->n_options == SM_JOB_MAX_OPTIONS) {
		jf_error(p, p->line,
		    "too many options for stage '%s' (at most %d)", st->name,
		    SM_JOB_MAX_OPTIONS);
		return;
	}
	uint32_t k = jf_pool_add(p, name, strlen(name));
	uint32_t v = k != 0 ? jf_pool_add(p, value, strlen(value)) : 0;
	if (k == 0 || v == 0)
		return;
	st->options[st->n_options].key = k;
	st->options[st->n_options].value = v;
	st->options[st->n_options].line = p->line;
	st->n_options++;
}

static int
jf_runtime_key(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(jf_runtime_keys) / sizeof(jf_runtime_keys[0]); i++)
		if (strcmp(jf_runtime_keys[i], name) == 0)
			return 1;
	return 0;
}

/* jf_set stores the value of key into the open section. */
static void
jf_set(struct jf_parse *p, const struct jf_key *key, const char *value)
{
	char *base;
	uint64_t v;
	char q[48];
	int i;

	if (key->section == JF_JOB)
		base = (char *) &p->job;
	else if (key->section == JF_CHECKPOINT)
		base = (char *) &p->job.checkpoint;
	else if (key->section == JF_RESTART)
		base = (char *) &p->job.restart;
	else
		base = (char *) p->stage;

	switch (key->kind) {
	case JF_U64:
		if (jf_uint(p, key, value, &v) == SM_OK)
			memcpy(base + key->offset, &v, sizeof(uint64_t));
		break;
	case JF_U32:
		if (jf_uint(p, key, value, &v) == SM_OK) {
			uint32_t u = (uint32_t) v;
			memcpy(base + key->offset, &u, sizeof(u));
		}
		break;
	case JF_INT:
		if (jf_uint(p, key, value, &v) == SM_OK) {
			int n = (int) v;
			memcpy(base + key->offset, &n, sizeof(n));
		}
		break;
	case JF_NAME:
		if (!jf_name_ok(value, strlen(value))) {
			jf_error(p, p->line,
			    "invalid job name '%s' (letters, digits, '_' and "
			    "'-', "
			    "at most %d)",
			    jf_quote(q, sizeof(q), value, strlen(value)),
			    SM_JOB_NAME_MAX - 1);
			break;
		}
		strcpy(base + key->offset, value);
		break;
	case JF_MODE:
		if (strcmp(value, "exactly_once") == 0)
			p->job.checkpoint.mode = SM_MODE_EXACTLY_ONCE;
		else if (strcmp(value, "at_least_once") == 0)
			p->job.checkpoint.mode = SM_MODE_AT_LEAST_ONCE;
		else
			jf_error(p, p->line,
			    "unknown mode '%s' (expected exactly_once, "
			    "at_least_once)",
			    jf_quote(q, sizeof(q), value, strlen(value)));
		break;
	case JF_OPERATOR:
		if (p->user_stage) {
			jf_set_user_operator(p, value);
			break;
		}
		i = jf_lookup(jf_operator_names, JF_BUILTIN_OPERATORS, value);
		if (i < 0)
			jf_error(p, p->line,
			    "unknown operator '%s' (expected %s)",
			    jf_quote(q, sizeof(q), value, strlen(value)),
			    JF_OPERATORS);
		else
			p->stage->op = (enum sm_operator) i;
		break;
	case JF_FORMAT:
		if (strcmp(value, "records") != 0 &&
		    strcmp(value, "counts") != 0 &&
		    strcmp(value, "text") != 0)
			jf_error(p, p->line,
			    "unknown format '%s' (expected records, counts, "
			    "text)",
			    jf_quote(q, sizeof(q), value, strlen(value)));
		else
			strcpy(p->stage->format, value);
		break;
	case JF_INPUT:
		jf_set_input(p, value);
		break;
	case JF_BOOL:
		if (strcmp(value, "true") == 0 ||
		    strcmp(value, "false") == 0) {
			uint32_t b = value[0] == 't';
			memcpy(base + key->offset, &b, sizeof(b));
		} else {
			jf_error(p, p->line,
			    "invalid value '%s' for '%s' (expected true, "
			    "false)",
			    jf_quote(q, sizeof(q), value, strlen(value)),
			    key->name);
		}
		break;
	case JF_STRATEGY:
		i = jf_lookup(jf_strategy_names,
		    (int) (sizeof(jf_strategy_names) / sizeof(char *)), value);
		if (i < 0)
			jf_error(p, p->line,
			    "unknown restart strategy '%s' (expected "
			    "fixed-delay, exponential-delay, none)",
			    jf_quote(q, sizeof(q), value, strlen(value)));
		else
			p->job.restart.strategy = (enum sm_restart_strategy) i;
		break;
	case JF_FACTOR:
		jf_set_factor(p, key, value, base);
		break;
	case JF_LIBRARY:
		jf_set_library(p, value);
		break;
	case JF_PATH:
		jf_set_sink_path(p, value);
		break;
	}
}

/* jf_handler receives each "key = value" from libinih. The section it
 * passes is ignored: the reader tracks sections (see the top). */
static int
jf_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct jf_parse *p = arg;
	char q[48], label[SM_JOB_NAME_MAX + 16];
	int k;

	(void) section;
	if (p->failed)
		return 0;
	if (value == NULL)
		value = "";
	if (p->section == JF_NONE) {
		jf_error(p, p->line,
		    "key '%s' outside of a section (start with [job])",
		    jf_quote(q, sizeof(q), name, strlen(name)));
		return 0;
	}
	if (p->section == JF_STAGE && p->user_stage && !jf_runtime_key(name)) {
		jf_add_option(p, name, value);
		return !p->failed;
	}
	k = jf_key_index(name);
	if (k < 0 || jf_keys[k].section != p->section) {
		jf_error(p, p->line, "unknown key '%s' in %s",
		    jf_quote(q, sizeof(q), name, strlen(name)),
		    jf_section_label(p, label, sizeof(label)));
		return 0;
	}
	if (p->key_line[k] != 0 && jf_keys[k].kind != JF_INPUT) {
		jf_error(p, p->line,
		    "duplicate key '%s' in %s (first set on line %d)", name,
		    jf_section_label(p, label, sizeof(label)), p->key_line[k]);
		return 0;
	}
	if (p->key_line[k] == 0)
		p->key_line[k] = p->line;
	jf_set(p, &jf_keys[k], value);
	return !p->failed;
}

/* jf_check_job checks the whole job and derives the numbering. */
static void
jf_check_job(struct jf_parse *p)
{
	struct sm_job *job = &p->job;
	int sources = 0;

	if (p->job_line == 0) {
		jf_error(p, 0,
		    "missing [job] name (add a [job] section with "
		    "name = NAME)");
		return;
	}
	if (job->n_stages == 0) {
		jf_error(p, 0, "no stages (define at least one [stage NAME])");
		return;
	}
	for (int s = 0; s < job->n_stages; s++)
		sources += sm_job_is_source(job, s);
	if (sources == 0) {
		/* Unreachable today: the first stage cannot have an input,
		 * and every other operator needs one. Kept in case an
		 * operator without inputs other than gen appears. */
		jf_error(p, 0, "no source stage (operator gen)");
		return;
	}
	job->n_tasks = 0;
	job->n_channels = 0;
	for (int s = 0; s < job->n_stages; s++) {
		struct sm_job_stage *st = &job->stages[s];
		st->first_task = job->n_tasks;
		job->n_tasks += st->parallelism;
		for (int i = 0; i < st->n_inputs; i++) {
			struct sm_job_input *in = &st->inputs[i];
			int pu = job->stages[in->stage].parallelism;
			in->first_channel = job->n_channels;
			job->n_channels += in->edge == SM_EDGE_FORWARD
			    ? st->parallelism
			    : pu * st->parallelism;
		}
	}
}

int
sm_job_parse(const char *text, const char *origin, struct sm_job *job,
    char *err, size_t errlen)
{
	return sm_job_parse_in(text, origin, NULL, job, err, errlen);
}

/* jf_parse_text parses with p, a parse state of the caller's (large: it
 * holds a whole job). */
static int
jf_parse_text(struct jf_parse *p, const char *text, const char *origin,
    const char *dir, struct sm_job *job, char *err, size_t errlen)
{
	char cwd[PATH_MAX];
	int rv;

	memset(p, 0, sizeof(*p));
	p->origin = origin != NULL ? origin : "job";
	p->err = err;
	p->errlen = errlen;
	if (text == NULL || job == NULL) {
		jf_error(p, 0, "no job text");
		return SM_EINVAL;
	}
	if (dir == NULL)
		dir = getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "";
	p->job.pool_used = 1; /* offset 0 is "" */
	p->job.dir =
	    strlen(dir) < PATH_MAX ? jf_pool_add(p, dir, strlen(dir)) : 0;
	p->cursor = text;
	p->job.heartbeat_ms = 500;
	p->job.heartbeat_timeout_ms = 3000;
	p->job.http_port = -1;
	p->job.checkpoint.interval_ms = 1000;
	p->job.checkpoint.timeout_ms = 10000;
	p->job.checkpoint.min_pause_ms = 0;
	p->job.checkpoint.retained = 3;
	p->job.checkpoint.mode = SM_MODE_EXACTLY_ONCE;
	p->job.checkpoint.tolerable_failures = 3;
	p->job.checkpoint.incremental = 1;
	p->job.checkpoint.full_every = 10;
	p->job.checkpoint.full_delta_percent = 100;
	p->job.checkpoint.fail_on_storage_error = 0;
	p->job.restart.strategy = SM_RESTART_FIXED_DELAY;
	p->job.restart.attempts = 100;
	p->job.restart.delay_ms = 100;
	p->job.restart.max_delay_ms = 60000;
	p->job.restart.multiplier = 2.0;
	p->job.restart.reset_after_ms = 600000;

	rv = ini_parse_stream(jf_reader, p, jf_handler, p);
	if (rv < 0) {
		/* Only a heap-buffer libinih fails this way. */
		p->failed = 0;
		jf_error(p, 0, "out of memory");
		return SM_ENOMEM;
	}
	/* libinih reports lines it cannot split (no '=') only through its
	 * return value, after the fact: it names the first such line, which
	 * wins if it came before the error we stopped at. */
	if (rv > 0 && (!p->failed || rv < p->err_seen_at)) {
		p->failed = 0;
		p->line = rv;
		jf_error(p, rv,
		    "syntax error (expected 'key = value', [section] or a "
		    "comment)");
	}
	if (!p->failed)
		jf_section_end(p);
	if (!p->failed)
		jf_check_job(p);
	if (p->failed)
		return SM_EINVAL;
	*job = p->job;
	return SM_OK;
}

int
sm_job_parse_in(const char *text, const char *origin, const char *dir,
    struct sm_job *job, char *err, size_t errlen)
{
	/* On the heap: a parse holds a whole job with its pool. */
	struct jf_parse *p = malloc(sizeof(*p));
	int rv;

	if (p == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory",
			    origin != NULL ? origin : "job");
		return SM_ENOMEM;
	}
	rv = jf_parse_text(p, text, origin, dir, job, err, errlen);
	free(p);
	return rv;
}

/* jf_dir_of writes the absolute directory of the file at path into buf
 * (the path as given, not resolved through symlinks); NULL if it does not
 * fit or the current directory is unknown. */
static const char *
jf_dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(buf, size, "%.*s",
		    slash == path ? 1 : (int) (slash - path), path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	else if (slash == NULL)
		n = snprintf(buf, size, "%s", cwd);
	else
		n = snprintf(buf, size, "%s%s%.*s", cwd,
		    strcmp(cwd, "/") == 0 ? "" : "/", (int) (slash - path),
		    path);
	return n >= 0 && (size_t) n < size ? buf : NULL;
}

int
sm_job_load(const char *path, struct sm_job *job, char **text_out, char *err,
    size_t errlen)
{
	return sm_job_load_in(path, NULL, job, text_out, err, errlen);
}

int
sm_job_load_in(const char *path, const char *dir, struct sm_job *job,
    char **text_out, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0;
	const char *nul;
	int rv, e;

	/* Opened without blocking and checked before it is read: a FIFO or
	 * a device given as the job file would block the reader forever. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		goto fail_errno;
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_errno;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return SM_EINVAL;
	}
	if ((f = fdopen(fd, "rb")) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_errno;
	}
	if ((buf = malloc(JF_MAX_TEXT + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return SM_ENOMEM;
	}
	n = fread(buf, 1, JF_MAX_TEXT + 1, f);
	if (ferror(f)) {
		e = errno;
		fclose(f);
		free(buf);
		errno = e;
		goto fail_errno;
	}
	fclose(f);
	if (n > JF_MAX_TEXT) {
		snprintf(err, errlen,
		    "%s: too large for a job file (more than "
		    "%d bytes)",
		    path, JF_MAX_TEXT);
		free(buf);
		return SM_EINVAL;
	}
	buf[n] = '\0';
	if ((nul = memchr(buf, '\0', n)) != NULL) {
		int line = 1;
		for (const char *c = buf; c < nul; c++)
			line += *c == '\n';
		snprintf(err, errlen, "%s:%d: NUL byte in the job file", path,
		    line);
		free(buf);
		return SM_EINVAL;
	}
	char file_dir[PATH_MAX];
	if (dir == NULL)
		dir = jf_dir_of(path, file_dir, sizeof(file_dir));
	if ((rv = sm_job_parse_in(buf, path, dir, job, err, errlen)) !=
	    SM_OK) {
		free(buf);
		return rv;
	}
	if (text_out != NULL) {
		char *shrunk = realloc(buf, n + 1);
		*text_out = shrunk != NULL ? shrunk : buf;
	} else {
		free(buf);
	}
	return SM_OK;

fail_errno:
	snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	return SM_EIO;
}

int
sm_job_task_stage(const struct sm_job *job, int task)
{
	for (int s = 0; s < job->n_stages; s++) {
		const struct sm_job_stage *st = &job->stages[s];
		if (task >= st->first_task &&
		    task < st->first_task + st->parallelism)
			return s;
	}
	return -1;
}

void
sm_job_task_name(const struct sm_job *job, int task, char *buf, size_t len)
{
	int s = sm_job_task_stage(job, task);

	if (s < 0)
		snprintf(buf, len, "#%d", task);
	else
		snprintf(buf, len, "%s.%d", job->stages[s].name,
		    task - job->stages[s].first_task);
}

int
sm_job_channel(const struct sm_job *job, int index, struct sm_job_channel *out)
{
	if (index < 0 || index >= job->n_channels)
		return SM_EINVAL;
	for (int s = 0; s < job->n_stages; s++) {
		const struct sm_job_stage *st = &job->stages[s];
		for (int i = 0; i < st->n_inputs; i++) {
			const struct sm_job_input *in = &st->inputs[i];
			const struct sm_job_stage *up =
			    &job->stages[in->stage];
			int n = in->edge == SM_EDGE_FORWARD
			    ? st->parallelism
			    : up->parallelism * st->parallelism;
			int off = index - in->first_channel;
			int u, d;

			if (off < 0 || off >= n)
				continue;
			if (in->edge == SM_EDGE_FORWARD) {
				u = off;
				d = off;
			} else {
				u = off / st->parallelism;
				d = off % st->parallelism;
			}
			out->index = index;
			out->from_task = up->first_task + u;
			out->to_task = st->first_task + d;
			out->to_input = i;
			return SM_OK;
		}
	}
	return SM_EINVAL;
}

int
sm_job_is_source(const struct sm_job *job, int stage)
{
	if (stage < 0 || stage >= job->n_stages)
		return 0;
	const struct sm_job_stage *st = &job->stages[stage];
	return st->op == SM_OP_GEN ||
	    (st->op == SM_OP_USER && st->n_inputs == 0);
}

const char *
sm_job_dir(const struct sm_job *job)
{
	return job->pool + job->dir;
}

const char *
sm_job_sink_path(const struct sm_job *job, int stage)
{
	if (stage < 0 || stage >= job->n_stages ||
	    job->stages[stage].op != SM_OP_FILE_SINK ||
	    job->stages[stage].sink_path == 0)
		return NULL;
	return job->pool + job->stages[stage].sink_path;
}

const char *
sm_job_library(const struct sm_job *job, int stage)
{
	if (stage < 0 || stage >= job->n_stages ||
	    job->stages[stage].op != SM_OP_USER)
		return NULL;
	return job->pool + job->stages[stage].library;
}

const char *
sm_job_operator_name(const struct sm_job *job, int stage)
{
	if (stage < 0 || stage >= job->n_stages)
		return "?";
	if (job->stages[stage].op == SM_OP_USER)
		return job->stages[stage].user_op;
	return sm_operator_name(job->stages[stage].op);
}

size_t
sm_job_options(const struct sm_job *job, int stage,
    struct snapmark_option *out, size_t max)
{
	if (stage < 0 || stage >= job->n_stages ||
	    job->stages[stage].op != SM_OP_USER)
		return 0;
	const struct sm_job_stage *st = &job->stages[stage];
	for (int i = 0; i < st->n_options && (size_t) i < max; i++) {
		out[i].key = job->pool + st->options[i].key;
		out[i].value = job->pool + st->options[i].value;
		out[i].line = st->options[i].line;
	}
	return (size_t) st->n_options;
}

int
sm_job_user_operators(const struct sm_job *job)
{
	int n = 0;
	for (int s = 0; s < job->n_stages; s++)
		n += job->stages[s].op == SM_OP_USER;
	return n;
}

int
sm_job_key_group(const void *key, uint32_t len, int max_parallelism)
{
	/* One hash for routing and for keyed state, which files every
	 * entry under its key group (common/keygroup.h). */
	return sm_key_group_bytes(key, len, max_parallelism);
}

int
sm_job_key_group_owner(int key_group, int max_parallelism, int parallelism)
{
	if (max_parallelism <= 0)
		return 0;
	return (int) ((int64_t) key_group * parallelism / max_parallelism);
}

uint64_t
sm_job_restart_delay_ms(const struct sm_job_restart *r, uint32_t n)
{
	if (r->strategy == SM_RESTART_NONE)
		return 0;
	if (r->strategy == SM_RESTART_FIXED_DELAY || n <= 1)
		return r->delay_ms;
	/* Multiply step by step and stop at the cap: no overflow, and a
	 * multiplier of 1 keeps the delay where it is. */
	double d = (double) r->delay_ms;
	for (uint32_t i = 1; i < n && d < (double) r->max_delay_ms; i++)
		d *= r->multiplier;
	if (d >= (double) r->max_delay_ms)
		return r->max_delay_ms;
	return (uint64_t) d;
}

const char *
sm_restart_strategy_name(enum sm_restart_strategy s)
{
	if ((unsigned) s >= sizeof(jf_strategy_names) / sizeof(char *))
		return "?";
	return jf_strategy_names[s];
}

const char *
sm_operator_name(enum sm_operator op)
{
	if ((unsigned) op >= sizeof(jf_operator_names) / sizeof(char *))
		return "?";
	return jf_operator_names[op];
}

const char *
sm_edge_name(enum sm_edge edge)
{
	if ((unsigned) edge >= sizeof(jf_edge_names) / sizeof(char *))
		return "?";
	return jf_edge_names[edge];
}
