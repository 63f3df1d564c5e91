/*
 * host.c - one task's `struct snapmark_api` (host.h): what an SDK
 * operator may ask of the runtime, checked and translated at the
 * boundary.
 */
#include "worker/host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/keygroup.h"
#include "common/log.h"

static struct sm_host *
host_of(snapmark_ctx *ctx)
{
	return (struct sm_host *) ctx; /* ctx is the host's first member */
}

int
sm_host_status(int sm_err)
{
	switch (sm_err) {
	case SM_OK:
		return SNAPMARK_OK;
	case SM_ENOTFOUND:
		return SNAPMARK_NOTFOUND;
	case SM_ENOMEM:
		return SNAPMARK_NOMEM;
	case SM_EINVAL:
		return SNAPMARK_INVALID;
	case SM_ESTOPPED:
	case SM_ECLOSED:
		return SNAPMARK_STOPPED;
	default:
		return SNAPMARK_ERROR;
	}
}

/* A runtime error behind a call: kept so the task ends for it. */
static int
host_runtime_error(struct sm_host *h, int sm_err)
{
	if (h->err == SM_OK)
		h->err = sm_err;
	return sm_host_status(sm_err);
}

/* A call the operator made wrongly: say why, as if it had failed. */
static int host_refuse(struct sm_host *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int
host_refuse(struct sm_host *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	return SNAPMARK_INVALID;
}

/* ------------------------------------------------------------ identity */

static const char *
host_stage(snapmark_ctx *ctx)
{
	return host_of(ctx)->stage;
}

static uint32_t
host_subtask(snapmark_ctx *ctx)
{
	return host_of(ctx)->subtask;
}

static uint32_t
host_parallelism(snapmark_ctx *ctx)
{
	return host_of(ctx)->parallelism;
}

/* -------------------------------------------------------------- output */

static int
host_emit(snapmark_ctx *ctx, const struct snapmark_record *r)
{
	struct sm_host *h = host_of(ctx);
	if (r == NULL || (r->key == NULL && r->key_len > 0) ||
	    (r->value == NULL && r->value_len > 0))
		return host_refuse(h, "emit: a record without its bytes");
	if (r->key_len > SNAPMARK_MAX_BYTES ||
	    r->value_len > SNAPMARK_MAX_BYTES)
		return host_refuse(h,
		    "emit: a record with a %u-byte key and a %u-byte value: "
		    "keys and values are at most %u bytes each "
		    "(SNAPMARK_MAX_BYTES)",
		    (unsigned) r->key_len, (unsigned) r->value_len,
		    (unsigned) SNAPMARK_MAX_BYTES);
	if (h->out == NULL)
		return host_refuse(h, "emit: not allowed here");
	int rv = h->out->emit(h->out, r);
	if (rv != SM_OK)
		return host_runtime_error(h, rv);
	h->emitted++;
	return SNAPMARK_OK;
}

static int
host_watermark(snapmark_ctx *ctx, int64_t time)
{
	struct sm_host *h = host_of(ctx);
	if (!h->is_source || h->out == NULL)
		return host_refuse(h,
		    "watermark: only a source announces "
		    "watermarks");
	int rv = h->out->watermark(h->out, time);
	return rv == SM_OK ? SNAPMARK_OK : host_runtime_error(h, rv);
}

/* ---------------------------------------------------------------- time */

static int64_t
host_current_watermark(snapmark_ctx *ctx)
{
	struct sm_host *h = host_of(ctx);
	return h->watermark != NULL ? *h->watermark : SNAPMARK_NO_TIME;
}

static int64_t
host_processing_time(snapmark_ctx *ctx)
{
	(void) ctx;
	return (int64_t) (sm_wall_us() / 1000);
}

/* ---------------------------------------------------------- keyed state */

static int
host_state_id(snapmark_ctx *ctx, const char *name, uint32_t *id)
{
	struct sm_host *h = host_of(ctx);
	uint32_t v;
	if (name == NULL || id == NULL || name[0] == '\0')
		return host_refuse(h, "state_id: a state needs a name");
	if (sm_state_id(name, &v) != SM_OK)
		return host_refuse(h,
		    "state_id: the id of state '%s' is reserved for the "
		    "runtime: choose another name",
		    name);
	for (size_t i = 0; i < h->n_names; i++) {
		if (h->names[i].id != v)
			continue;
		if (strcmp(h->names[i].name, name) == 0) {
			*id = v;
			return SNAPMARK_OK;
		}
		return host_refuse(h,
		    "state_id: states '%s' and '%s' have the same id: "
		    "rename one",
		    h->names[i].name, name);
	}
	struct sm_host_name *n =
	    realloc(h->names, (h->n_names + 1) * sizeof(*n));
	if (n == NULL)
		return SNAPMARK_NOMEM;
	h->names = n;
	if ((n[h->n_names].name = strdup(name)) == NULL)
		return SNAPMARK_NOMEM;
	n[h->n_names++].id = v;
	*id = v;
	return SNAPMARK_OK;
}

/* Keyed calls: a current key, and a state of the operator's own. */
static int
host_keyed(struct sm_host *h, const char *what, uint32_t state, int check)
{
	if (!h->keyed)
		return host_refuse(h,
		    "%s: keyed state outside a keyed context (no current "
		    "key: the stage's inputs are not hash edges, or the call "
		    "is not in process or on_timer)",
		    what);
	if (check && state >= SM_STATE_RESERVED)
		return host_refuse(h,
		    "%s: state id %#x is reserved for the runtime (ids "
		    "come from state_id)",
		    what, (unsigned) state);
	return SNAPMARK_OK;
}

static int
host_current_key(snapmark_ctx *ctx, const void **key, uint32_t *key_len)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_keyed(h, "current_key", 0, 0);
	if (rv != SNAPMARK_OK)
		return rv;
	*key = h->key_buf;
	*key_len = h->key_len;
	return SNAPMARK_OK;
}

static int
host_value_get(snapmark_ctx *ctx, uint32_t state, const void **value,
    uint32_t *value_len)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_keyed(h, "value_get", state, 1);
	if (rv != SNAPMARK_OK)
		return rv;
	rv = sm_kvstate_get(h->kv, state, h->key_buf, h->key_len, value,
	    value_len);
	return sm_host_status(rv);
}

static int
host_value_put(snapmark_ctx *ctx, uint32_t state, const void *value,
    uint32_t value_len)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_keyed(h, "value_put", state, 1);
	if (rv != SNAPMARK_OK)
		return rv;
	if (value_len > SNAPMARK_MAX_BYTES || (value == NULL && value_len > 0))
		return host_refuse(h,
		    "value_put: a %u-byte value (at most %u bytes)",
		    (unsigned) value_len, (unsigned) SNAPMARK_MAX_BYTES);
	rv = sm_kvstate_put(h->kv, state, h->key_buf, h->key_len, h->key_group,
	    value, value_len);
	return sm_host_status(rv);
}

static int
host_value_delete(snapmark_ctx *ctx, uint32_t state)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_keyed(h, "value_delete", state, 1);
	if (rv != SNAPMARK_OK)
		return rv;
	return sm_host_status(
	    sm_kvstate_del(h->kv, state, h->key_buf, h->key_len));
}

static int
host_counter_add(snapmark_ctx *ctx, uint32_t state, int64_t delta,
    int64_t *now)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_keyed(h, "counter_add", state, 1);
	if (rv != SNAPMARK_OK)
		return rv;
	rv = sm_kvstate_add(h->kv, state, h->key_buf, h->key_len, h->key_group,
	    delta, now);
	if (rv == SM_EINVAL)
		return host_refuse(h,
		    "counter_add: state %#x holds a value that is not a "
		    "counter (8 bytes)",
		    (unsigned) state);
	return sm_host_status(rv);
}

/* -------------------------------------------------------------- timers */

static int
host_timer_check(struct sm_host *h, const char *what,
    enum snapmark_time_domain domain)
{
	int rv = host_keyed(h, what, 0, 0);
	if (rv != SNAPMARK_OK)
		return rv;
	if (domain != SNAPMARK_EVENT_TIME &&
	    domain != SNAPMARK_PROCESSING_TIME)
		return host_refuse(h, "%s: unknown time domain %d", what,
		    (int) domain);
	return SNAPMARK_OK;
}

static int
host_timer_set(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_timer_check(h, "timer_set", domain);
	if (rv != SNAPMARK_OK)
		return rv;
	return sm_host_status(sm_timers_set(h->timers, (int) domain,
	    h->key_buf, h->key_len, h->key_group, time));
}

static int
host_timer_delete(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	struct sm_host *h = host_of(ctx);
	int rv = host_timer_check(h, "timer_delete", domain);
	if (rv != SNAPMARK_OK)
		return rv;
	return sm_host_status(sm_timers_delete(h->timers, (int) domain,
	    h->key_buf, h->key_len, time));
}

/* ------------------------------------------------------ operator state */

static int
host_opstate_add(snapmark_ctx *ctx, const void *item, uint32_t len)
{
	struct sm_host *h = host_of(ctx);
	if (h->snap == NULL)
		return host_refuse(h, "opstate_add: only in snapshot");
	if (len > SNAPMARK_MAX_BYTES || (item == NULL && len > 0))
		return host_refuse(h,
		    "opstate_add: a %u-byte item (at most %u bytes)",
		    (unsigned) len, (unsigned) SNAPMARK_MAX_BYTES);
	if (h->snap->n_op_state >= SM_STATE_MAX_ITEMS)
		return host_refuse(h,
		    "opstate_add: more than %u items in one snapshot",
		    (unsigned) SM_STATE_MAX_ITEMS);
	return sm_host_status(sm_snapshot_data_add_item(h->snap, item, len));
}

static size_t
host_opstate_count(snapmark_ctx *ctx)
{
	struct sm_host *h = host_of(ctx);
	return h->restoring ? h->n_items : 0;
}

static int
host_opstate_item(snapmark_ctx *ctx, size_t i, const void **item,
    uint32_t *len)
{
	struct sm_host *h = host_of(ctx);
	if (!h->restoring)
		return host_refuse(h, "opstate_item: only in restore");
	if (i >= h->n_items || item == NULL || len == NULL)
		return host_refuse(h, "opstate_item: no item %zu (%zu items)",
		    i, h->n_items);
	*item = h->items[i].data;
	*len = h->items[i].len;
	return SNAPMARK_OK;
}

/* ------------------------------------------------------ failing, logging */

static void
host_fail(snapmark_ctx *ctx, const char *fmt, va_list ap)
{
	struct sm_host *h = host_of(ctx);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
}

static void
host_log(snapmark_ctx *ctx, int level, const char *fmt, va_list ap)
{
	struct sm_host *h = host_of(ctx);
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	enum sm_log_level l = level <= SNAPMARK_LOG_DEBUG ? SM_LOG_DEBUG
	    : level == SNAPMARK_LOG_INFO                  ? SM_LOG_INFO
	    : level == SNAPMARK_LOG_WARN                  ? SM_LOG_WARN
	                                                  : SM_LOG_ERROR;
	sm_log(l, "task %s: operator %s: %s", h->task_name, h->op_name, msg);
}

static const struct snapmark_api host_api = {
	.size = sizeof(struct snapmark_api),
	.version = SNAPMARK_API_VERSION,
	.stage = host_stage,
	.subtask = host_subtask,
	.parallelism = host_parallelism,
	.emit = host_emit,
	.watermark = host_watermark,
	.current_watermark = host_current_watermark,
	.processing_time = host_processing_time,
	.state_id = host_state_id,
	.current_key = host_current_key,
	.value_get = host_value_get,
	.value_put = host_value_put,
	.value_delete = host_value_delete,
	.counter_add = host_counter_add,
	.timer_set = host_timer_set,
	.timer_delete = host_timer_delete,
	.opstate_add = host_opstate_add,
	.opstate_count = host_opstate_count,
	.opstate_item = host_opstate_item,
	.fail = host_fail,
	.log = host_log,
};

/* ----------------------------------------------------------- lifecycle */

void
sm_host_init(struct sm_host *h, const struct sm_job *job, int stage,
    int subtask, const char *task_name, const char *op_name,
    struct sm_emitter *out, const int64_t *watermark, struct sm_kvstate *kv,
    struct sm_timers *timers)
{
	memset(h, 0, sizeof(*h));
	h->ctx.api = &host_api;
	const struct sm_job_stage *st = &job->stages[stage];
	h->stage = st->name;
	h->task_name = task_name;
	h->op_name = op_name;
	h->subtask = (uint32_t) subtask;
	h->parallelism = (uint32_t) st->parallelism;
	h->max_parallelism = st->max_parallelism;
	h->is_source = sm_job_is_source(job, stage);
	h->out = out;
	h->watermark = watermark;
	h->kv = kv;
	h->timers = timers;
}

void
sm_host_fini(struct sm_host *h)
{
	for (size_t i = 0; i < h->n_names; i++)
		free(h->names[i].name);
	free(h->names);
	free(h->key_buf);
	h->names = NULL;
	h->key_buf = NULL;
	h->n_names = 0;
}

int
sm_host_set_key(struct sm_host *h, const void *key, uint32_t len)
{
	if (len > h->key_cap || h->key_buf == NULL) {
		uint32_t cap = len > 64 ? len : 64;
		unsigned char *b = realloc(h->key_buf, cap);
		if (b == NULL)
			return SM_ENOMEM;
		h->key_buf = b;
		h->key_cap = cap;
	}
	if (len > 0)
		memcpy(h->key_buf, key, len);
	h->key_len = len;
	h->key_group =
	    (uint32_t) sm_key_group_bytes(key, len, h->max_parallelism);
	h->keyed = 1;
	return SM_OK;
}

void
sm_host_clear_key(struct sm_host *h)
{
	h->keyed = 0;
}
