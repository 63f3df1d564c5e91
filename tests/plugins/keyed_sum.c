/*
 * keyed_sum.c - a test plugin with keyed state and event-time timers:
 * tumbling windows of 1000 ms of event time over gen's records.
 *
 * Input: gen's records (key: 8 bytes big-endian; value: 20 bytes
 * big-endian u32 subtask, u64 seq, i64 value), keyed (hash edge). Per key
 * it keeps, in the value state "windows", the open windows as (end, sum,
 * records) triples, and counts every record it took in the counter
 * "records"; each record adds its value to the window [k*1000, (k+1)*1000)
 * holding its event time and sets an event-time timer at that window's end.
 * When the timer fires it emits (key as decimal text, "END SUM RECORDS")
 * and forgets the window. A snapshot adds one operator-state item naming
 * the subtask; a restore checks the items it gets back.
 *
 * Options (for failure tests): fail_on_value = N fails (snapmark_fail) on a
 * record whose value is N; crash_on_value = N calls abort() there.
 * Built against include/ alone, as a user builds one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snapmark/snapmark.h>

#define WINDOW_MS 1000

struct ks_config {
	int fail_set, crash_set;
	int64_t fail_on, crash_on;
};

struct ks {
	struct ks_config c;
	uint32_t windows, records;
	int64_t *buf; /* a copy of one key's windows, grown as needed */
	size_t cap;   /* int64s in buf */
};

static uint64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
ks_configure(const struct snapmark_option *options, size_t n, void **config,
    char *err, size_t errlen)
{
	struct ks_config *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return SNAPMARK_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char *end;
		int64_t v = strtoll(options[i].value, &end, 10);
		if (end == options[i].value || *end != '\0') {
			snprintf(err, errlen,
			    "%s must be an integer, not '%s'", options[i].key,
			    options[i].value);
			free(c);
			return SNAPMARK_INVALID;
		}
		if (strcmp(options[i].key, "fail_on_value") == 0) {
			c->fail_set = 1;
			c->fail_on = v;
		} else if (strcmp(options[i].key, "crash_on_value") == 0) {
			c->crash_set = 1;
			c->crash_on = v;
		} else {
			snprintf(err, errlen,
			    "unknown option '%s' (expected fail_on_value or "
			    "crash_on_value)",
			    options[i].key);
			free(c);
			return SNAPMARK_INVALID;
		}
	}
	*config = c;
	return SNAPMARK_OK;
}

static void
ks_free_config(void *config)
{
	free(config);
}

static int
ks_open(snapmark_ctx *ctx, const void *config, void **self)
{
	struct ks *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return snapmark_fail(ctx, "out of memory");
	s->c = *(const struct ks_config *) config;
	int rv = snapmark_state_id(ctx, "windows", &s->windows);
	if (rv == SNAPMARK_OK)
		rv = snapmark_state_id(ctx, "records", &s->records);
	if (rv != SNAPMARK_OK) {
		free(s);
		return rv;
	}
	*self = s;
	return SNAPMARK_OK;
}

/* The current key's windows into s->buf (3 int64s each); *n windows. */
static int
ks_load(struct ks *s, snapmark_ctx *ctx, size_t extra, size_t *n)
{
	const void *v;
	uint32_t len;
	int rv = snapmark_value_get(ctx, s->windows, &v, &len);
	if (rv == SNAPMARK_NOTFOUND)
		len = 0;
	else if (rv != SNAPMARK_OK)
		return rv;
	if (len % 24 != 0)
		return snapmark_fail(ctx, "state 'windows' holds %u bytes",
		    (unsigned) len);
	*n = len / 24;
	size_t need = (*n + extra) * 3;
	if (need > s->cap) {
		int64_t *b = realloc(s->buf, need * sizeof(int64_t));
		if (b == NULL)
			return snapmark_fail(ctx, "out of memory");
		s->buf = b;
		s->cap = need;
	}
	if (len > 0)
		memcpy(s->buf, v, len);
	return SNAPMARK_OK;
}

static int
ks_process(void *self, snapmark_ctx *ctx, const struct snapmark_record *r,
    size_t n)
{
	struct ks *s = self;
	for (size_t i = 0; i < n; i++) {
		if (r[i].key_len != 8 || r[i].value_len != 20)
			return snapmark_fail(ctx,
			    "not a gen record: %u-byte key, %u-byte value",
			    (unsigned) r[i].key_len,
			    (unsigned) r[i].value_len);
		const unsigned char *v = r[i].value;
		int64_t value = (int64_t) be64(v + 12);
		if (s->c.crash_set && value == s->c.crash_on)
			abort();
		if (s->c.fail_set && value == s->c.fail_on)
			return snapmark_fail(ctx,
			    "fail_on_value %" PRId64 " seen (seq %" PRIu64 ")",
			    value, be64(v + 4));
		int64_t ts = r[i].timestamp;
		if (ts == SNAPMARK_NO_TIME || ts < 0)
			return snapmark_fail(ctx,
			    "a record without event time");
		int64_t end = (ts / WINDOW_MS + 1) * WINDOW_MS;
		size_t nw;
		int rv = ks_load(s, ctx, 1, &nw);
		if (rv != SNAPMARK_OK)
			return rv;
		size_t k = 0;
		while (k < nw && s->buf[3 * k] != end)
			k++;
		if (k == nw) {
			s->buf[3 * k] = end;
			s->buf[3 * k + 1] = 0;
			s->buf[3 * k + 2] = 0;
			nw++;
			if ((rv = snapmark_timer_set(ctx, SNAPMARK_EVENT_TIME,
			         end)) != SNAPMARK_OK)
				return rv;
		}
		s->buf[3 * k + 1] += value;
		s->buf[3 * k + 2] += 1;
		if ((rv = snapmark_value_put(ctx, s->windows, s->buf,
		         (uint32_t) (nw * 24))) != SNAPMARK_OK ||
		    (rv = snapmark_counter_add(ctx, s->records, 1, NULL)) !=
		        SNAPMARK_OK)
			return rv;
	}
	return SNAPMARK_OK;
}

static int
ks_on_timer(void *self, snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct ks *s = self;
	if (domain != SNAPMARK_EVENT_TIME)
		return snapmark_fail(ctx, "a processing-time timer fired");
	if (snapmark_current_watermark(ctx) < time)
		return snapmark_fail(ctx,
		    "timer %" PRId64 " fired before the watermark reached it",
		    time);
	size_t nw;
	int rv = ks_load(s, ctx, 0, &nw);
	if (rv != SNAPMARK_OK)
		return rv;
	size_t k = 0;
	while (k < nw && s->buf[3 * k] != time)
		k++;
	if (k == nw)
		return snapmark_fail(ctx,
		    "timer %" PRId64 " without its window", time);
	const void *key;
	uint32_t key_len;
	if ((rv = snapmark_current_key(ctx, &key, &key_len)) != SNAPMARK_OK)
		return rv;
	char kbuf[24], vbuf[80];
	int kl = snprintf(kbuf, sizeof(kbuf), "%" PRIu64, be64(key));
	int vl =
	    snprintf(vbuf, sizeof(vbuf), "%" PRId64 " %" PRId64 " %" PRId64,
	        time, s->buf[3 * k + 1], s->buf[3 * k + 2]);
	struct snapmark_record out = { .key = kbuf,
		.key_len = (uint32_t) kl,
		.value = vbuf,
		.value_len = (uint32_t) vl,
		.timestamp = time - 1 };
	if ((rv = snapmark_emit(ctx, &out)) != SNAPMARK_OK)
		return rv;
	memmove(&s->buf[3 * k], &s->buf[3 * k + 3],
	    (nw - k - 1) * 3 * sizeof(int64_t));
	nw--;
	return nw == 0 ? snapmark_value_delete(ctx, s->windows)
	               : snapmark_value_put(ctx, s->windows, s->buf,
	                     (uint32_t) (nw * 24));
}

static int
ks_snapshot(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id)
{
	(void) self;
	char item[64];
	int n = snprintf(item, sizeof(item), "keyed_sum %u/%u %" PRIu64,
	    (unsigned) snapmark_subtask(ctx),
	    (unsigned) snapmark_parallelism(ctx), checkpoint_id);
	return snapmark_opstate_add(ctx, item, (uint32_t) n);
}

static int
ks_restore(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id)
{
	(void) self;
	size_t n = snapmark_opstate_count(ctx);
	for (size_t i = 0; i < n; i++) {
		const void *item;
		uint32_t len;
		int rv = snapmark_opstate_item(ctx, i, &item, &len);
		if (rv != SNAPMARK_OK)
			return rv;
		if (len < 10 || memcmp(item, "keyed_sum ", 10) != 0)
			return snapmark_fail(ctx, "a foreign state item");
	}
	snapmark_log(ctx, SNAPMARK_LOG_INFO,
	    "restored checkpoint %" PRIu64 " with %zu state item(s)",
	    checkpoint_id, n);
	return SNAPMARK_OK;
}

static void
ks_close(void *self, snapmark_ctx *ctx)
{
	struct ks *s = self;
	(void) ctx;
	if (s != NULL)
		free(s->buf);
	free(s);
}

static const struct snapmark_operator ks_operator = {
	.api_version = SNAPMARK_API_VERSION,
	.size = sizeof(struct snapmark_operator),
	.name = "keyed_sum",
	.configure = ks_configure,
	.free_config = ks_free_config,
	.open = ks_open,
	.restore = ks_restore,
	.process = ks_process,
	.on_timer = ks_on_timer,
	.snapshot = ks_snapshot,
	.close = ks_close,
};

SNAPMARK_EXPORT const struct snapmark_operator *
snapmark_operator_v1_keyed_sum(void)
{
	return &ks_operator;
}
