/*
 * sessionize.c - an example user operator with keyed state and event-time
 * timers: session windows. Per key it counts the events of a session, a run
 * of events in which each follows the one before by less than gap_ms of
 * event time; once the watermark shows that gap_ms passed after the last
 * event (no later event can join it), it emits the session as one record:
 *
 *     key   = the key (raw, or hex with key_format = hex)
 *     value = "START<TAB>END<TAB>COUNT" in decimal: START the event time of
 *             the first event, END that of the last one plus gap_ms (the
 *             session window [START, END) as Flink has it), COUNT events
 *     timestamp = END - 1
 *
 * Options: gap_ms = N (required, > 0); key_format = raw | hex (default
 * raw; hex prints keys that are not text, such as gen's 8-byte keys, as
 * lowercase hex). Anything else is refused, naming it.
 *
 * Events may arrive out of order (a key's events come from several
 * sources): a key holds a short list of open sessions in one value state,
 * "sessions" (24 bytes each: start, last, count, int64 little-endian,
 * ordered by start). An event within gap_ms of one or more of them merges
 * them; each open session has one event-time timer at last + gap_ms, moved
 * (snapmark_timer_delete, snapmark_timer_set) as the session grows. An
 * event older than the watermark is late: its session may be emitted
 * already, so it is dropped and counted in the log. Keyed state and timers
 * are in every checkpoint, so the operator needs no snapshot of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snapmark/snapmark.h>

#define SESSION_BYTES 24u
#define MAX_SESSIONS (SNAPMARK_MAX_BYTES / SESSION_BYTES)

struct sessionize_config {
	int64_t gap_ms;
	int hex_keys;
};

struct session {
	int64_t start, last, count;
};

/* One instance: its configuration, the id of its state, the sessions of
 * the current key being worked on, and buffers for an emitted record. */
struct sessionize {
	struct sessionize_config cfg;
	uint32_t sessions_id;
	struct session *open; /* MAX_SESSIONS */
	size_t n_open;
	unsigned char *bytes; /* SNAPMARK_MAX_BYTES: the state value written */
	char *key_text;       /* 2 * SNAPMARK_MAX_BYTES: a hex key */
	uint64_t late;        /* late events dropped */
};

static void
put_i64le(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t) v;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (u >> (8 * i));
}

static int64_t
get_i64le(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t) p[i] << (8 * i);
	return (int64_t) u;
}

static int
sessionize_configure(const struct snapmark_option *options, size_t n,
    void **config, char *err, size_t errlen)
{
	struct sessionize_config *c = calloc(1, sizeof(*c));
	int have_gap = 0;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = options[i].key, *v = options[i].value;
		if (strcmp(k, "gap_ms") == 0) {
			char *end;
			errno = 0;
			long long g = strtoll(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' || g <= 0 ||
			    g > INT64_MAX / 4) {
				snprintf(err, errlen,
				    "gap_ms must be a positive number of "
				    "milliseconds, not '%s'", v);
				free(c);
				return SNAPMARK_INVALID;
			}
			c->gap_ms = g;
			have_gap = 1;
		} else if (strcmp(k, "key_format") == 0) {
			if (strcmp(v, "raw") == 0) {
				c->hex_keys = 0;
			} else if (strcmp(v, "hex") == 0) {
				c->hex_keys = 1;
			} else {
				snprintf(err, errlen,
				    "key_format must be raw or hex, not '%s'",
				    v);
				free(c);
				return SNAPMARK_INVALID;
			}
		} else {
			snprintf(err, errlen,
			    "unknown option '%s' (sessionize takes gap_ms "
			    "and key_format)", k);
			free(c);
			return SNAPMARK_INVALID;
		}
	}
	if (!have_gap) {
		snprintf(err, errlen, "gap_ms is required (the inactivity "
		    "gap that ends a session, in ms of event time)");
		free(c);
		return SNAPMARK_INVALID;
	}
	*config = c;
	return SNAPMARK_OK;
}

static void
sessionize_free_config(void *config)
{
	free(config);
}

static void
sessionize_close(void *self, snapmark_ctx *ctx)
{
	struct sessionize *s = self;

	if (s == NULL)
		return;
	if (s->late > 0)
		snapmark_log(ctx, SNAPMARK_LOG_WARN,
		    "sessionize: %" PRIu64 " late events dropped", s->late);
	free(s->open);
	free(s->bytes);
	free(s->key_text);
	free(s);
}

static int
sessionize_open(snapmark_ctx *ctx, const void *config, void **self)
{
	struct sessionize *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return snapmark_fail(ctx, "out of memory");
	s->cfg = *(const struct sessionize_config *) config;
	s->open = malloc(MAX_SESSIONS * sizeof(*s->open));
	s->bytes = malloc(SNAPMARK_MAX_BYTES);
	s->key_text = malloc(2 * (size_t) SNAPMARK_MAX_BYTES);
	if (s->open == NULL || s->bytes == NULL || s->key_text == NULL) {
		sessionize_close(s, ctx);
		return snapmark_fail(ctx, "out of memory");
	}
	int rv = snapmark_state_id(ctx, "sessions", &s->sessions_id);
	if (rv != SNAPMARK_OK) {
		sessionize_close(s, ctx);
		return snapmark_fail(ctx, "cannot name state 'sessions'");
	}
	*self = s;
	return SNAPMARK_OK;
}

/* load reads the open sessions of the current key into s->open. */
static int
load(struct sessionize *s, snapmark_ctx *ctx)
{
	const void *v;
	uint32_t len;

	s->n_open = 0;
	int rv = snapmark_value_get(ctx, s->sessions_id, &v, &len);
	if (rv == SNAPMARK_NOTFOUND)
		return SNAPMARK_OK;
	if (rv != SNAPMARK_OK)
		return rv;
	if (len % SESSION_BYTES != 0)
		return snapmark_fail(ctx, "state 'sessions' holds %" PRIu32
		    " bytes, not a multiple of %u", len, SESSION_BYTES);
	const unsigned char *p = v;
	for (uint32_t off = 0; off < len; off += SESSION_BYTES) {
		struct session *o = &s->open[s->n_open++];
		o->start = get_i64le(p + off);
		o->last = get_i64le(p + off + 8);
		o->count = get_i64le(p + off + 16);
	}
	return SNAPMARK_OK;
}

/* store writes s->open back as the current key's state (none: deleted). */
static int
store(struct sessionize *s, snapmark_ctx *ctx)
{
	if (s->n_open == 0)
		return snapmark_value_delete(ctx, s->sessions_id);
	for (size_t i = 0; i < s->n_open; i++) {
		unsigned char *p = s->bytes + i * SESSION_BYTES;
		put_i64le(p, s->open[i].start);
		put_i64le(p + 8, s->open[i].last);
		put_i64le(p + 16, s->open[i].count);
	}
	return snapmark_value_put(ctx, s->sessions_id, s->bytes,
	    (uint32_t) (s->n_open * SESSION_BYTES));
}

/* add_event puts an event at time t into the sessions of the current key:
 * every open session within gap_ms of it merges with it into one, whose
 * timer replaces theirs. */
static int
add_event(struct sessionize *s, snapmark_ctx *ctx, int64_t t)
{
	const int64_t gap = s->cfg.gap_ms;
	struct session merged = { t, t, 1 };
	size_t kept = 0;
	int rv;

	for (size_t i = 0; i < s->n_open; i++) {
		struct session o = s->open[i];
		if (t > o.start - gap && t < o.last + gap) {
			rv = snapmark_timer_delete(ctx, SNAPMARK_EVENT_TIME,
			    o.last + gap);
			if (rv != SNAPMARK_OK && rv != SNAPMARK_NOTFOUND)
				return rv;
			if (o.start < merged.start)
				merged.start = o.start;
			if (o.last > merged.last)
				merged.last = o.last;
			merged.count += o.count;
		} else {
			s->open[kept++] = o;
		}
	}
	if (kept == MAX_SESSIONS)
		return snapmark_fail(ctx, "more than %u open sessions for "
		    "one key", (unsigned) MAX_SESSIONS);
	/* Insert in order of start. */
	size_t at = kept;
	while (at > 0 && s->open[at - 1].start > merged.start) {
		s->open[at] = s->open[at - 1];
		at--;
	}
	s->open[at] = merged;
	s->n_open = kept + 1;
	rv = snapmark_timer_set(ctx, SNAPMARK_EVENT_TIME, merged.last + gap);
	if (rv != SNAPMARK_OK)
		return rv;
	return store(s, ctx);
}

static int
sessionize_process(void *self, snapmark_ctx *ctx,
    const struct snapmark_record *records, size_t n)
{
	struct sessionize *s = self;

	for (size_t i = 0; i < n; i++) {
		int64_t t = records[i].timestamp;
		if (t == SNAPMARK_NO_TIME)
			return snapmark_fail(ctx, "a record without event "
			    "time: sessionize needs timestamped records");
		int64_t wm = snapmark_current_watermark(ctx);
		if (wm != SNAPMARK_NO_TIME && t < wm) {
			if (s->late++ == 0)
				snapmark_log(ctx, SNAPMARK_LOG_WARN,
				    "sessionize: dropping late events (the "
				    "first at %" PRId64 ", watermark %" PRId64
				    ")", t, wm);
			continue;
		}
		int rv = load(s, ctx);
		if (rv == SNAPMARK_OK)
			rv = add_event(s, ctx, t);
		if (rv != SNAPMARK_OK)
			return rv;
	}
	return SNAPMARK_OK;
}

/* emit_session sends one closed session of the current key downstream. */
static int
emit_session(struct sessionize *s, snapmark_ctx *ctx, const struct session *o)
{
	static const char hex[] = "0123456789abcdef";
	const void *key;
	uint32_t key_len;
	char value[3 * 24];

	int rv = snapmark_current_key(ctx, &key, &key_len);
	if (rv != SNAPMARK_OK)
		return rv;
	if (s->cfg.hex_keys) {
		if (key_len > SNAPMARK_MAX_BYTES / 2)
			return snapmark_fail(ctx, "a key of %" PRIu32 " bytes "
			    "is too long to print as hex", key_len);
		const unsigned char *k = key;
		for (uint32_t i = 0; i < key_len; i++) {
			s->key_text[2 * i] = hex[k[i] >> 4];
			s->key_text[2 * i + 1] = hex[k[i] & 15];
		}
		key = s->key_text;
		key_len *= 2;
	}
	int64_t end = o->last + s->cfg.gap_ms;
	int len = snprintf(value, sizeof(value), "%" PRId64 "\t%" PRId64
	    "\t%" PRId64, o->start, end, o->count);
	struct snapmark_record out = {
		.key = key,
		.key_len = key_len,
		.value = value,
		.value_len = (uint32_t) len,
		.timestamp = end - 1,
	};
	return snapmark_emit(ctx, &out);
}

/* on_timer: the watermark reached `time`, so every open session of the
 * current key whose last event is gap_ms or more before it is complete. */
static int
sessionize_on_timer(void *self, snapmark_ctx *ctx,
    enum snapmark_time_domain domain, int64_t time)
{
	struct sessionize *s = self;
	size_t kept = 0;

	if (domain != SNAPMARK_EVENT_TIME)
		return SNAPMARK_OK;
	int rv = load(s, ctx);
	if (rv != SNAPMARK_OK)
		return rv;
	for (size_t i = 0; i < s->n_open; i++) {
		if (s->open[i].last + s->cfg.gap_ms <= time) {
			rv = emit_session(s, ctx, &s->open[i]);
			if (rv != SNAPMARK_OK)
				return rv;
		} else {
			s->open[kept++] = s->open[i];
		}
	}
	if (kept == s->n_open)
		return SNAPMARK_OK;
	s->n_open = kept;
	return store(s, ctx);
}

static const struct snapmark_operator sessionize_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "sessionize",
	.configure = sessionize_configure,
	.free_config = sessionize_free_config,
	.open = sessionize_open,
	.process = sessionize_process,
	.on_timer = sessionize_on_timer,
	.close = sessionize_close,
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_sessionize(void)
{
	return &sessionize_operator;
}
