/*
 * sdk_harness.c - the fake host of tests/sdk_harness.h: struct
 * snapmark_api over plain arrays (an operator under test holds a handful
 * of keys and timers, so linear searches are the simple choice).
 */
/* strdup under a strict -std=c11 outside this tree (POSIX 2008). */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "tests/sdk_harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte string the harness owns. */
struct hbytes {
	void *p;
	uint32_t len;
};

struct hentry {
	uint32_t state;
	struct hbytes key, value;
};

struct htimer {
	struct hbytes key;
	enum snapmark_time_domain domain;
	int64_t time;
	uint64_t order; /* setting order: ties fire in it */
};

struct hrecord {
	struct snapmark_record r; /* key/value point into the copies */
};

struct sm_harness_snapshot {
	uint64_t checkpoint_id;
	uint32_t subtask, parallelism;
	struct hbytes *items;
	size_t n_items;
	struct hentry *entries;
	size_t n_entries;
	struct htimer *timers;
	size_t n_timers;
};

struct sm_harness {
	snapmark_ctx ctx; /* first: the api finds the harness from ctx */
	struct snapmark_api api;
	struct sm_harness_setup setup;
	void *config;
	void *self;
	int open;

	struct hrecord *out;
	size_t n_out, cap_out;
	int64_t *wms;
	size_t n_wms, cap_wms;

	struct hentry *entries;
	size_t n_entries, cap_entries;
	struct htimer *timers;
	size_t n_timers, cap_timers;
	uint64_t timer_order;

	/* The current key (a borrowed pointer), or none. */
	const void *key;
	uint32_t key_len;
	int has_key;

	int64_t watermark;
	int64_t now;

	/* Items: added by snapshot (collecting), read by restore. */
	struct hbytes *items;
	size_t n_items, cap_items;
	int collecting;
	int restored;
	uint64_t restore_id;

	char failure[1024];
	char **logs;
	size_t n_logs, cap_logs;
};

static struct sm_harness *
H(snapmark_ctx *ctx)
{
	return (struct sm_harness *) (void *) ctx;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static int
bytes_set(struct hbytes *b, const void *p, uint32_t len)
{
	b->p = malloc(len ? len : 1);
	if (!b->p)
		return -1;
	if (len)
		memcpy(b->p, p, len);
	b->len = len;
	return 0;
}

static int
bytes_eq(const struct hbytes *b, const void *p, uint32_t len)
{
	return b->len == len && (len == 0 || memcmp(b->p, p, len) == 0);
}

/* CRC-32C, bitwise: a state's id (the runtime's definition). */
static uint32_t
crc32c(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return crc ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------- the api */

static const char *
api_stage(snapmark_ctx *ctx)
{
	return H(ctx)->setup.stage;
}

static uint32_t
api_subtask(snapmark_ctx *ctx)
{
	return H(ctx)->setup.subtask;
}

static uint32_t
api_parallelism(snapmark_ctx *ctx)
{
	return H(ctx)->setup.parallelism;
}

static int
api_emit(snapmark_ctx *ctx, const struct snapmark_record *r)
{
	struct sm_harness *h = H(ctx);
	if (!r || r->key_len > SNAPMARK_MAX_BYTES ||
	    r->value_len > SNAPMARK_MAX_BYTES)
		return SNAPMARK_INVALID;
	if (grow((void **) &h->out, &h->cap_out, h->n_out + 1, sizeof *h->out))
		return SNAPMARK_NOMEM;
	struct hbytes k, v;
	if (bytes_set(&k, r->key, r->key_len))
		return SNAPMARK_NOMEM;
	if (bytes_set(&v, r->value, r->value_len)) {
		free(k.p);
		return SNAPMARK_NOMEM;
	}
	struct snapmark_record *c = &h->out[h->n_out++].r;
	c->key = k.p;
	c->key_len = k.len;
	c->value = v.p;
	c->value_len = v.len;
	c->timestamp = r->timestamp;
	return SNAPMARK_OK;
}

static int
api_watermark(snapmark_ctx *ctx, int64_t time)
{
	struct sm_harness *h = H(ctx);
	if (grow((void **) &h->wms, &h->cap_wms, h->n_wms + 1, sizeof *h->wms))
		return SNAPMARK_NOMEM;
	h->wms[h->n_wms++] = time;
	return SNAPMARK_OK;
}

static int64_t
api_current_watermark(snapmark_ctx *ctx)
{
	return H(ctx)->watermark;
}

static int64_t
api_processing_time(snapmark_ctx *ctx)
{
	return H(ctx)->now;
}

static int
api_state_id(snapmark_ctx *ctx, const char *name, uint32_t *id)
{
	(void) ctx;
	if (!name || !id)
		return SNAPMARK_INVALID;
	uint32_t v = crc32c(name, strlen(name));
	if (v >= 0xFFFFFF00u)
		return SNAPMARK_INVALID; /* reserved for the runtime */
	*id = v;
	return SNAPMARK_OK;
}

static int
api_current_key(snapmark_ctx *ctx, const void **key, uint32_t *len)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key)
		return SNAPMARK_INVALID;
	*key = h->key;
	*len = h->key_len;
	return SNAPMARK_OK;
}

static struct hentry *
entry_find(struct sm_harness *h, uint32_t state)
{
	for (size_t i = 0; i < h->n_entries; i++)
		if (h->entries[i].state == state &&
		    bytes_eq(&h->entries[i].key, h->key, h->key_len))
			return &h->entries[i];
	return NULL;
}

static int
api_value_get(snapmark_ctx *ctx, uint32_t state, const void **value,
    uint32_t *len)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key)
		return SNAPMARK_INVALID;
	struct hentry *e = entry_find(h, state);
	if (!e)
		return SNAPMARK_NOTFOUND;
	*value = e->value.p;
	*len = e->value.len;
	return SNAPMARK_OK;
}

static int
api_value_put(snapmark_ctx *ctx, uint32_t state, const void *value,
    uint32_t len)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key || len > SNAPMARK_MAX_BYTES)
		return SNAPMARK_INVALID;
	struct hbytes v;
	if (bytes_set(&v, value, len))
		return SNAPMARK_NOMEM;
	struct hentry *e = entry_find(h, state);
	if (e) {
		free(e->value.p);
		e->value = v;
		return SNAPMARK_OK;
	}
	if (grow((void **) &h->entries, &h->cap_entries, h->n_entries + 1,
	        sizeof *h->entries)) {
		free(v.p);
		return SNAPMARK_NOMEM;
	}
	e = &h->entries[h->n_entries];
	if (bytes_set(&e->key, h->key, h->key_len)) {
		free(v.p);
		return SNAPMARK_NOMEM;
	}
	e->state = state;
	e->value = v;
	h->n_entries++;
	return SNAPMARK_OK;
}

static int
api_value_delete(snapmark_ctx *ctx, uint32_t state)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key)
		return SNAPMARK_INVALID;
	struct hentry *e = entry_find(h, state);
	if (!e)
		return SNAPMARK_OK;
	free(e->key.p);
	free(e->value.p);
	*e = h->entries[--h->n_entries];
	return SNAPMARK_OK;
}

static int
api_counter_add(snapmark_ctx *ctx, uint32_t state, int64_t delta,
    int64_t *now)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key)
		return SNAPMARK_INVALID;
	int64_t v = 0;
	struct hentry *e = entry_find(h, state);
	if (e) {
		if (e->value.len != 8)
			return SNAPMARK_INVALID;
		uint64_t u = 0;
		for (int i = 7; i >= 0; i--)
			u = (u << 8) | ((unsigned char *) e->value.p)[i];
		v = (int64_t) u;
	}
	v = (int64_t) ((uint64_t) v + (uint64_t) delta);
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char) ((uint64_t) v >> (8 * i));
	int rv = api_value_put(ctx, state, b, 8);
	if (rv == SNAPMARK_OK && now)
		*now = v;
	return rv;
}

static struct htimer *
timer_find(struct sm_harness *h, enum snapmark_time_domain domain,
    int64_t time)
{
	for (size_t i = 0; i < h->n_timers; i++)
		if (h->timers[i].domain == domain &&
		    h->timers[i].time == time &&
		    bytes_eq(&h->timers[i].key, h->key, h->key_len))
			return &h->timers[i];
	return NULL;
}

static int
api_timer_set(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key || (domain != SNAPMARK_EVENT_TIME &&
	                       domain != SNAPMARK_PROCESSING_TIME))
		return SNAPMARK_INVALID;
	if (timer_find(h, domain, time))
		return SNAPMARK_OK;
	if (grow((void **) &h->timers, &h->cap_timers, h->n_timers + 1,
	        sizeof *h->timers))
		return SNAPMARK_NOMEM;
	struct htimer *t = &h->timers[h->n_timers];
	if (bytes_set(&t->key, h->key, h->key_len))
		return SNAPMARK_NOMEM;
	t->domain = domain;
	t->time = time;
	t->order = h->timer_order++;
	h->n_timers++;
	return SNAPMARK_OK;
}

static int
api_timer_delete(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct sm_harness *h = H(ctx);
	if (!h->has_key)
		return SNAPMARK_INVALID;
	struct htimer *t = timer_find(h, domain, time);
	if (t) {
		free(t->key.p);
		*t = h->timers[--h->n_timers];
	}
	return SNAPMARK_OK;
}

static int
api_opstate_add(snapmark_ctx *ctx, const void *item, uint32_t len)
{
	struct sm_harness *h = H(ctx);
	if (!h->collecting || len > SNAPMARK_MAX_BYTES)
		return SNAPMARK_INVALID;
	if (grow((void **) &h->items, &h->cap_items, h->n_items + 1,
	        sizeof *h->items))
		return SNAPMARK_NOMEM;
	if (bytes_set(&h->items[h->n_items], item, len))
		return SNAPMARK_NOMEM;
	h->n_items++;
	return SNAPMARK_OK;
}

static size_t
api_opstate_count(snapmark_ctx *ctx)
{
	struct sm_harness *h = H(ctx);
	return h->collecting ? 0 : h->n_items;
}

static int
api_opstate_item(snapmark_ctx *ctx, size_t i, const void **item,
    uint32_t *len)
{
	struct sm_harness *h = H(ctx);
	if (h->collecting || i >= h->n_items)
		return SNAPMARK_INVALID;
	*item = h->items[i].p;
	*len = h->items[i].len;
	return SNAPMARK_OK;
}

static void
api_fail(snapmark_ctx *ctx, const char *fmt, va_list ap)
{
	struct sm_harness *h = H(ctx);
	vsnprintf(h->failure, sizeof h->failure, fmt, ap);
}

static void
api_log(snapmark_ctx *ctx, int level, const char *fmt, va_list ap)
{
	struct sm_harness *h = H(ctx);
	char line[1024];
	int n = snprintf(line, sizeof line, "%d ", level);
	vsnprintf(line + n, sizeof line - (size_t) n, fmt, ap);
	if (grow((void **) &h->logs, &h->cap_logs, h->n_logs + 1,
	        sizeof *h->logs))
		return;
	char *c = strdup(line);
	if (c)
		h->logs[h->n_logs++] = c;
}

/* -------------------------------------------------------------- driving */

struct sm_harness *
sm_harness_create(const struct sm_harness_setup *setup, char *err,
    size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	struct sm_harness *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->setup = *setup;
	if (!h->setup.stage)
		h->setup.stage = "test";
	if (!h->setup.parallelism)
		h->setup.parallelism = 1;
	h->api = (struct snapmark_api){
		.size = sizeof(struct snapmark_api),
		.version = SNAPMARK_API_VERSION,
		.stage = api_stage,
		.subtask = api_subtask,
		.parallelism = api_parallelism,
		.emit = api_emit,
		.watermark = api_watermark,
		.current_watermark = api_current_watermark,
		.processing_time = api_processing_time,
		.state_id = api_state_id,
		.current_key = api_current_key,
		.value_get = api_value_get,
		.value_put = api_value_put,
		.value_delete = api_value_delete,
		.counter_add = api_counter_add,
		.timer_set = api_timer_set,
		.timer_delete = api_timer_delete,
		.opstate_add = api_opstate_add,
		.opstate_count = api_opstate_count,
		.opstate_item = api_opstate_item,
		.fail = api_fail,
		.log = api_log,
	};
	h->ctx.api = &h->api;
	h->watermark = SNAPMARK_NO_TIME;
	h->now = setup->processing_time;
	const struct snapmark_operator *op = setup->op;
	if (op->configure) {
		char msg[512] = "";
		if (op->configure(setup->options, setup->n_options, &h->config,
		        msg, sizeof msg) != 0) {
			snprintf(err, errlen, "%s", msg[0] ? msg : "refused");
			free(h);
			return NULL;
		}
	} else if (setup->n_options) {
		snprintf(err, errlen, "unknown option '%s'",
		    setup->options[0].key);
		free(h);
		return NULL;
	}
	return h;
}

static void
items_clear(struct sm_harness *h)
{
	for (size_t i = 0; i < h->n_items; i++)
		free(h->items[i].p);
	h->n_items = 0;
}

void
sm_harness_clear_output(struct sm_harness *h)
{
	for (size_t i = 0; i < h->n_out; i++) {
		free((void *) h->out[i].r.key);
		free((void *) h->out[i].r.value);
	}
	h->n_out = 0;
	h->n_wms = 0;
}

void
sm_harness_free(struct sm_harness *h)
{
	if (!h)
		return;
	if (h->open && h->setup.op->close)
		h->setup.op->close(h->self, &h->ctx);
	if (h->setup.op->free_config)
		h->setup.op->free_config(h->config);
	sm_harness_clear_output(h);
	free(h->out);
	free(h->wms);
	for (size_t i = 0; i < h->n_entries; i++) {
		free(h->entries[i].key.p);
		free(h->entries[i].value.p);
	}
	free(h->entries);
	for (size_t i = 0; i < h->n_timers; i++)
		free(h->timers[i].key.p);
	free(h->timers);
	items_clear(h);
	free(h->items);
	for (size_t i = 0; i < h->n_logs; i++)
		free(h->logs[i]);
	free(h->logs);
	free(h);
}

static int
keep_key(const struct sm_harness *h, const struct hbytes *k, int same)
{
	if (same || !h->setup.key_owner)
		return 1;
	return h->setup.key_owner(k->p, k->len, h->setup.parallelism) ==
	    h->setup.subtask;
}

int
sm_harness_restore(struct sm_harness *h,
    const struct sm_harness_snapshot *const *snaps, size_t n)
{
	if (h->open || n == 0)
		return SNAPMARK_INVALID;
	int same = 1;
	for (size_t i = 0; i < n; i++)
		if (snaps[i]->parallelism != h->setup.parallelism)
			same = 0;
	h->restore_id = snaps[0]->checkpoint_id;
	h->collecting = 1;
	h->has_key = 1;
	int rv = SNAPMARK_OK;
	for (size_t i = 0; i < n && rv == SNAPMARK_OK; i++) {
		const struct sm_harness_snapshot *s = snaps[i];
		if (same && s->subtask != h->setup.subtask)
			continue;
		for (size_t j = 0; j < s->n_items && rv == SNAPMARK_OK; j++)
			rv = api_opstate_add(&h->ctx, s->items[j].p,
			    s->items[j].len);
		for (size_t j = 0; j < s->n_entries && rv == SNAPMARK_OK;
		     j++) {
			const struct hentry *e = &s->entries[j];
			if (!keep_key(h, &e->key, same))
				continue;
			h->key = e->key.p;
			h->key_len = e->key.len;
			rv = api_value_put(&h->ctx, e->state, e->value.p,
			    e->value.len);
		}
		for (size_t j = 0; j < s->n_timers && rv == SNAPMARK_OK; j++) {
			const struct htimer *t = &s->timers[j];
			if (!keep_key(h, &t->key, same))
				continue;
			h->key = t->key.p;
			h->key_len = t->key.len;
			rv = api_timer_set(&h->ctx, t->domain, t->time);
		}
	}
	h->has_key = 0;
	h->collecting = 0;
	h->restored = 1;
	return rv;
}

int
sm_harness_open(struct sm_harness *h)
{
	const struct snapmark_operator *op = h->setup.op;
	if (h->open)
		return SNAPMARK_INVALID;
	if (op->open) {
		int rv = op->open(&h->ctx, h->config, &h->self);
		if (rv != SNAPMARK_OK)
			return rv;
	}
	h->open = 1;
	if (h->restored && op->restore)
		return op->restore(h->self, &h->ctx, h->restore_id);
	return SNAPMARK_OK;
}

int
sm_harness_process(struct sm_harness *h, const struct snapmark_record *r)
{
	const struct snapmark_operator *op = h->setup.op;
	if (!h->open)
		return SNAPMARK_INVALID;
	if (!op->process)
		return api_emit(&h->ctx, r);
	if (h->setup.keyed) {
		h->key = r->key;
		h->key_len = r->key_len;
		h->has_key = 1;
	}
	int rv = op->process(h->self, &h->ctx, r, 1);
	h->has_key = 0;
	return rv;
}

int
sm_harness_feed(struct sm_harness *h, const char *key, const char *value,
    int64_t timestamp)
{
	struct snapmark_record r = {
		.key = key,
		.key_len = (uint32_t) strlen(key),
		.value = value,
		.value_len = (uint32_t) strlen(value),
		.timestamp = timestamp,
	};
	return sm_harness_process(h, &r);
}

int
sm_harness_produce(struct sm_harness *h, size_t max, int *done)
{
	const struct snapmark_operator *op = h->setup.op;
	*done = 0;
	if (!h->open || !op->produce)
		return SNAPMARK_INVALID;
	return op->produce(h->self, &h->ctx, max, done);
}

/* Fire the earliest due timer of domain (<= limit); *fired = 0 if none. */
static int
fire_one(struct sm_harness *h, enum snapmark_time_domain domain,
    int64_t limit, int *fired)
{
	struct htimer *best = NULL;
	for (size_t i = 0; i < h->n_timers; i++) {
		struct htimer *t = &h->timers[i];
		if (t->domain != domain || t->time > limit)
			continue;
		if (!best || t->time < best->time ||
		    (t->time == best->time && t->order < best->order))
			best = t;
	}
	*fired = best != NULL;
	if (!best)
		return SNAPMARK_OK;
	struct htimer t = *best;
	*best = h->timers[--h->n_timers];
	int rv = SNAPMARK_OK;
	if (h->setup.op->on_timer) {
		h->key = t.key.p;
		h->key_len = t.key.len;
		h->has_key = 1;
		rv = h->setup.op->on_timer(h->self, &h->ctx, domain, t.time);
		h->has_key = 0;
	}
	free(t.key.p);
	return rv;
}

int
sm_harness_advance_watermark(struct sm_harness *h, int64_t wm)
{
	if (!h->open)
		return SNAPMARK_INVALID;
	if (h->watermark != SNAPMARK_NO_TIME && wm <= h->watermark)
		return SNAPMARK_OK;
	h->watermark = wm;
	int fired = 1, rv = SNAPMARK_OK;
	while (fired && rv == SNAPMARK_OK)
		rv = fire_one(h, SNAPMARK_EVENT_TIME, wm, &fired);
	if (rv == SNAPMARK_OK && h->setup.op->on_watermark)
		rv = h->setup.op->on_watermark(h->self, &h->ctx, wm);
	return rv;
}

int
sm_harness_advance_processing_time(struct sm_harness *h, int64_t now)
{
	if (!h->open)
		return SNAPMARK_INVALID;
	if (now > h->now)
		h->now = now;
	int fired = 1, rv = SNAPMARK_OK;
	while (fired && rv == SNAPMARK_OK)
		rv = fire_one(h, SNAPMARK_PROCESSING_TIME, h->now, &fired);
	return rv;
}

int
sm_harness_end_input(struct sm_harness *h)
{
	if (!h->open)
		return SNAPMARK_INVALID;
	if (!h->setup.op->end_input)
		return SNAPMARK_OK;
	return h->setup.op->end_input(h->self, &h->ctx);
}

int
sm_harness_checkpoint_complete(struct sm_harness *h, uint64_t id)
{
	if (!h->open)
		return SNAPMARK_INVALID;
	if (!h->setup.op->checkpoint_complete)
		return SNAPMARK_OK;
	return h->setup.op->checkpoint_complete(h->self, &h->ctx, id);
}

void
sm_harness_snapshot_free(struct sm_harness_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_items; i++)
		free(s->items[i].p);
	free(s->items);
	for (size_t i = 0; i < s->n_entries; i++) {
		free(s->entries[i].key.p);
		free(s->entries[i].value.p);
	}
	free(s->entries);
	for (size_t i = 0; i < s->n_timers; i++)
		free(s->timers[i].key.p);
	free(s->timers);
	free(s);
}

int
sm_harness_snapshot(struct sm_harness *h, uint64_t checkpoint_id,
    struct sm_harness_snapshot **out)
{
	*out = NULL;
	if (!h->open)
		return SNAPMARK_INVALID;
	items_clear(h);
	h->collecting = 1;
	int rv = SNAPMARK_OK;
	if (h->setup.op->snapshot)
		rv = h->setup.op->snapshot(h->self, &h->ctx, checkpoint_id);
	h->collecting = 0;
	if (rv != SNAPMARK_OK) {
		items_clear(h);
		return rv;
	}
	struct sm_harness_snapshot *s = calloc(1, sizeof *s);
	if (!s)
		return SNAPMARK_NOMEM;
	s->checkpoint_id = checkpoint_id;
	s->subtask = h->setup.subtask;
	s->parallelism = h->setup.parallelism;
	/* The items move into the snapshot. */
	s->items = h->items;
	s->n_items = h->n_items;
	h->items = NULL;
	h->n_items = h->cap_items = 0;
	s->entries = calloc(h->n_entries + 1, sizeof *s->entries);
	s->timers = calloc(h->n_timers + 1, sizeof *s->timers);
	if (!s->entries || !s->timers) {
		sm_harness_snapshot_free(s);
		return SNAPMARK_NOMEM;
	}
	for (size_t i = 0; i < h->n_entries; i++) {
		const struct hentry *e = &h->entries[i];
		struct hentry *c = &s->entries[s->n_entries];
		if (bytes_set(&c->key, e->key.p, e->key.len) ||
		    bytes_set(&c->value, e->value.p, e->value.len)) {
			free(c->key.p);
			sm_harness_snapshot_free(s);
			return SNAPMARK_NOMEM;
		}
		c->state = e->state;
		s->n_entries++;
	}
	for (size_t i = 0; i < h->n_timers; i++) {
		struct htimer *c = &s->timers[s->n_timers];
		*c = h->timers[i];
		if (bytes_set(&c->key, h->timers[i].key.p,
		        h->timers[i].key.len)) {
			sm_harness_snapshot_free(s);
			return SNAPMARK_NOMEM;
		}
		s->n_timers++;
	}
	*out = s;
	return SNAPMARK_OK;
}

size_t
sm_harness_snapshot_items(const struct sm_harness_snapshot *s)
{
	return s->n_items;
}

size_t
sm_harness_emitted_count(const struct sm_harness *h)
{
	return h->n_out;
}

const struct snapmark_record *
sm_harness_emitted(const struct sm_harness *h, size_t i)
{
	return i < h->n_out ? &h->out[i].r : NULL;
}

const char *
sm_harness_emitted_text(const struct sm_harness *h, size_t i, char *buf,
    size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	if (i >= h->n_out)
		return buf;
	const struct snapmark_record *r = &h->out[i].r;
	snprintf(buf, len, "%.*s\t%.*s", (int) r->key_len,
	    (const char *) r->key, (int) r->value_len,
	    (const char *) r->value);
	return buf;
}

size_t
sm_harness_watermark_count(const struct sm_harness *h)
{
	return h->n_wms;
}

int64_t
sm_harness_watermark_at(const struct sm_harness *h, size_t i)
{
	return i < h->n_wms ? h->wms[i] : SNAPMARK_NO_TIME;
}

const char *
sm_harness_failure(const struct sm_harness *h)
{
	return h->failure;
}

size_t
sm_harness_log_count(const struct sm_harness *h)
{
	return h->n_logs;
}

const char *
sm_harness_log_line(const struct sm_harness *h, size_t i)
{
	return i < h->n_logs ? h->logs[i] : "";
}

size_t
sm_harness_state_entries(const struct sm_harness *h)
{
	return h->n_entries;
}

size_t
sm_harness_timer_count(const struct sm_harness *h,
    enum snapmark_time_domain domain)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n_timers; i++)
		n += h->timers[i].domain == domain;
	return n;
}
