/*
 * window_count.c - the `window_count` operator: records counted per key in
 * tumbling windows of size_ms, in event time (the record's timestamp; a
 * window closes when the watermark passes its end) or processing time
 * (the wall clock when the record arrives; a window closes when the clock
 * passes its end).
 *
 * A window [START, START + size_ms) is closed by a timer at its last
 * millisecond, START + size_ms - 1; the timer emits one record: key the
 * key, value "START<TAB>COUNT" (both decimal ASCII, START in ms since
 * 1970, may be negative), timestamp START + size_ms - 1, and forgets the
 * window. Windows start at multiples of size_ms (since 1970).
 *
 * State: one named state "window_count" per key, whose value lists the
 * open windows of the key as 16-byte entries (START, COUNT; both int64
 * big-endian), so keys with several open windows (out-of-order event
 * time) need one lookup. Timers and state are checkpointed by the
 * runtime, so a restore keeps counts and pending windows.
 *
 * In event time, a record without a timestamp (SNAPMARK_NO_TIME) fails
 * the task (the message says to use time = processing); a record of a
 * window the watermark already passed (late) is dropped, with a warning
 * logged for the first one.
 *
 * Written against snapmark/snapmark.h alone, like a plugin.
 */
#include "operators/window_count.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WC_ENTRY 16
/* The largest window: a year, far from int64 overflow. */
#define WC_SIZE_MAX 31536000000ull

struct window_count_config {
	int64_t size_ms;
	enum snapmark_time_domain domain;
};

struct window_count {
	struct window_count_config cfg;
	uint32_t state;
	int warned_late;
	unsigned char *buf; /* the state value being rewritten */
	size_t buf_cap;
};

static int
wc_configure(const struct snapmark_option *options, size_t n, void **config,
    char *err, size_t errlen)
{
	int have_size = 0;
	struct window_count_config c = { 0, SNAPMARK_EVENT_TIME };

	for (size_t i = 0; i < n; i++) {
		const char *k = options[i].key, *v = options[i].value;
		if (strcmp(k, "size_ms") == 0) {
			char *end;
			errno = 0;
			unsigned long long s =
			    v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10)
			                               : 0;
			if (s == 0 || errno != 0 || *end != '\0' ||
			    s > WC_SIZE_MAX) {
				snprintf(err, errlen,
				    "size_ms must be a whole number of "
				    "milliseconds from 1 to %llu, not '%s'",
				    WC_SIZE_MAX, v);
				return SNAPMARK_INVALID;
			}
			c.size_ms = (int64_t) s;
			have_size = 1;
		} else if (strcmp(k, "time") == 0) {
			if (strcmp(v, "event") == 0) {
				c.domain = SNAPMARK_EVENT_TIME;
			} else if (strcmp(v, "processing") == 0) {
				c.domain = SNAPMARK_PROCESSING_TIME;
			} else {
				snprintf(err, errlen,
				    "time must be event or processing, not "
				    "'%s'",
				    v);
				return SNAPMARK_INVALID;
			}
		} else {
			snprintf(err, errlen,
			    "unknown option '%s' (window_count takes size_ms, "
			    "time)",
			    k);
			return SNAPMARK_INVALID;
		}
	}
	if (!have_size) {
		snprintf(err, errlen,
		    "window_count needs size_ms = N (the window's length in "
		    "milliseconds)");
		return SNAPMARK_INVALID;
	}
	struct window_count_config *made = malloc(sizeof(*made));
	if (made == NULL) {
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	*made = c;
	*config = made;
	return SNAPMARK_OK;
}

static void
wc_free_config(void *config)
{
	free(config);
}

static int64_t
wc_get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return (int64_t) v;
}

static void
wc_put64(unsigned char *b, int64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char) ((uint64_t) v >> (56 - 8 * i));
}

/* wc_load copies the key's windows into w->buf (room for one more);
 * *len is their bytes. */
static int
wc_load(struct window_count *w, snapmark_ctx *ctx, size_t *len)
{
	const void *v;
	uint32_t vlen;
	int rv = snapmark_value_get(ctx, w->state, &v, &vlen);
	if (rv == SNAPMARK_NOTFOUND) {
		vlen = 0;
	} else if (rv != SNAPMARK_OK) {
		return snapmark_fail(ctx, "window_count: cannot read state");
	} else if (vlen % WC_ENTRY != 0) {
		return snapmark_fail(ctx,
		    "window_count: a state value of %u bytes (not a list of "
		    "16-byte windows)",
		    (unsigned) vlen);
	}
	if (vlen + WC_ENTRY > w->buf_cap) {
		size_t cap = (vlen + WC_ENTRY) * 2;
		unsigned char *b = realloc(w->buf, cap);
		if (b == NULL)
			return snapmark_fail(ctx, "window_count: out of memory");
		w->buf = b;
		w->buf_cap = cap;
	}
	if (vlen > 0)
		memcpy(w->buf, v, vlen);
	*len = vlen;
	return SNAPMARK_OK;
}

static int
wc_store(struct window_count *w, snapmark_ctx *ctx, size_t len)
{
	if (len == 0)
		return snapmark_value_delete(ctx, w->state);
	if (len > SNAPMARK_MAX_BYTES)
		return snapmark_fail(ctx,
		    "window_count: too many open windows for one key (%zu)",
		    len / WC_ENTRY);
	return snapmark_value_put(ctx, w->state, w->buf, (uint32_t) len);
}

static int
wc_open(snapmark_ctx *ctx, const void *config, void **self)
{
	struct window_count *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return snapmark_fail(ctx, "window_count: out of memory");
	w->cfg = *(const struct window_count_config *) config;
	int rv = snapmark_state_id(ctx, "window_count", &w->state);
	if (rv != SNAPMARK_OK) {
		free(w);
		return snapmark_fail(ctx, "window_count: no state id");
	}
	*self = w;
	return SNAPMARK_OK;
}

static int
wc_count(struct window_count *w, snapmark_ctx *ctx, int64_t time)
{
	int64_t size = w->cfg.size_ms;
	int64_t m = time % size;
	if (m < 0)
		m += size;
	int64_t start = time - m, last = start + size - 1;

	if (w->cfg.domain == SNAPMARK_EVENT_TIME) {
		int64_t wm = snapmark_current_watermark(ctx);
		if (wm != SNAPMARK_NO_TIME && last <= wm) {
			if (!w->warned_late)
				snapmark_log(ctx, SNAPMARK_LOG_WARN,
				    "window_count: dropping late records "
				    "(the first at %lld; watermark %lld)",
				    (long long) time, (long long) wm);
			w->warned_late = 1;
			return SNAPMARK_OK;
		}
	}
	size_t len;
	int rv = wc_load(w, ctx, &len);
	if (rv != SNAPMARK_OK)
		return rv;
	for (size_t at = 0; at < len; at += WC_ENTRY) {
		if (wc_get64(w->buf + at) == start) {
			wc_put64(w->buf + at + 8, wc_get64(w->buf + at + 8) + 1);
			return wc_store(w, ctx, len);
		}
	}
	wc_put64(w->buf + len, start);
	wc_put64(w->buf + len + 8, 1);
	if ((rv = wc_store(w, ctx, len + WC_ENTRY)) != SNAPMARK_OK)
		return rv;
	return snapmark_timer_set(ctx, w->cfg.domain, last);
}

static int
wc_process(void *self, snapmark_ctx *ctx,
    const struct snapmark_record *records, size_t n)
{
	struct window_count *w = self;
	for (size_t i = 0; i < n; i++) {
		int64_t time;
		if (w->cfg.domain == SNAPMARK_PROCESSING_TIME) {
			time = snapmark_processing_time(ctx);
		} else {
			time = records[i].timestamp;
			if (time == SNAPMARK_NO_TIME)
				return snapmark_fail(ctx,
				    "window_count (time = event): a record "
				    "without event time; use time = "
				    "processing, or a source that stamps its "
				    "records");
		}
		int rv = wc_count(w, ctx, time);
		if (rv != SNAPMARK_OK)
			return rv;
	}
	return SNAPMARK_OK;
}

static int
wc_on_timer(void *self, snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct window_count *w = self;
	int64_t start = time - w->cfg.size_ms + 1;
	size_t len;
	int rv;

	if (domain != w->cfg.domain)
		return SNAPMARK_OK;
	if ((rv = wc_load(w, ctx, &len)) != SNAPMARK_OK)
		return rv;
	for (size_t at = 0; at < len; at += WC_ENTRY) {
		if (wc_get64(w->buf + at) != start)
			continue;
		const void *key;
		uint32_t key_len;
		if ((rv = snapmark_current_key(ctx, &key, &key_len)) !=
		    SNAPMARK_OK)
			return snapmark_fail(ctx, "window_count: no current key");
		char value[48];
		int vlen = snprintf(value, sizeof(value), "%lld\t%lld",
		    (long long) start, (long long) wc_get64(w->buf + at + 8));
		struct snapmark_record out = {
			.key = key,
			.key_len = key_len,
			.value = value,
			.value_len = (uint32_t) vlen,
			.timestamp = time,
		};
		if ((rv = snapmark_emit(ctx, &out)) != SNAPMARK_OK)
			return rv;
		memmove(w->buf + at, w->buf + at + WC_ENTRY,
		    len - at - WC_ENTRY);
		return wc_store(w, ctx, len - WC_ENTRY);
	}
	return SNAPMARK_OK;
}

static void
wc_close(void *self, snapmark_ctx *ctx)
{
	struct window_count *w = self;
	if (w != NULL)
		free(w->buf);
	free(w);
}

static const struct snapmark_operator window_count_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "window_count",
	.configure = wc_configure,
	.free_config = wc_free_config,
	.open = wc_open,
	.process = wc_process,
	.on_timer = wc_on_timer,
	.close = wc_close,
};

const struct snapmark_operator *
sm_window_count_operator(void)
{
	return &window_count_operator;
}
