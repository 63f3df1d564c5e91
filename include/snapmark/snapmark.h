/*
 * snapmark.h - the operator SDK: a stateful streaming operator in C (or in
 * anything with a C ABI), built as a shared object against this header
 * alone and run by snapmark under its checkpoints.
 *
 * An operator is a table of callbacks (struct snapmark_operator) returned
 * by one exported function of the shared object,
 *
 *     const struct snapmark_operator *snapmark_operator_v1_NAME(void);
 *
 * which a job file names with `operator = NAME` and `library = PATH`. The
 * plugin never links against snapmark: everything it asks of the runtime
 * (emit a record, read and write keyed state, set a timer) goes through
 * the function table every context carries, behind the static inline
 * wrappers below. Tables only ever grow at their end, and each starts
 * with its size, so a plugin built against an older header keeps working.
 *
 * Threading: one task runs one instance of an operator on one thread; no
 * callback of an instance runs concurrently with another of the same
 * instance. Different subtasks are different instances (and may run in
 * different processes): share nothing between them but configuration.
 *
 * Lifetime of everything passed in: records, keys and values handed to a
 * callback, and values returned by the state getters, are valid until the
 * callback returns (state values: until the next state write); copy what
 * you keep. Everything handed to the runtime (emit, state writes) is
 * copied before the call returns.
 *
 * Errors: callbacks return SNAPMARK_OK (0) or another code; before
 * returning one, call snapmark_fail(ctx, "...") to say why. The task then
 * fails with that message (stage, subtask and operator named in the log),
 * and the job restarts from its latest checkpoint under the job's restart
 * strategy. docs/SDK.md is the guide.
 */
#ifndef SNAPMARK_SNAPMARK_H
#define SNAPMARK_SNAPMARK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface. The runtime refuses an operator whose
 * api_version it does not implement. */
#define SNAPMARK_API_VERSION 1

/* Exported entry points must be visible even when the plugin is built
 * with -fvisibility=hidden. */
#if defined(__GNUC__)
#define SNAPMARK_EXPORT __attribute__((visibility("default")))
#else
#define SNAPMARK_EXPORT
#endif

/* Return codes of the runtime's functions and of callbacks. */
enum snapmark_status {
	SNAPMARK_OK = 0,
	SNAPMARK_ERROR = 1,     /* the operator failed (say why: snapmark_fail) */
	SNAPMARK_NOTFOUND = 2,  /* no value for this key / state */
	SNAPMARK_NOMEM = 3,     /* out of memory */
	SNAPMARK_INVALID = 4,   /* bad argument, or a call not allowed here
	                           (keyed state outside a keyed context) */
	SNAPMARK_STOPPED = 5,   /* the task is stopping: return at once */
};

/* A timestamp that is not there (a record without event time; no
 * watermark yet). Event time is in milliseconds since 1970 (UTC), as in
 * Flink; the runtime never interprets it beyond ordering. */
#define SNAPMARK_NO_TIME INT64_MIN

/* One record. Keys and values are byte strings of any content (at most
 * SNAPMARK_MAX_BYTES each); a hash edge partitions by the key's bytes. */
struct snapmark_record {
	const void *key;
	uint32_t key_len;
	const void *value;
	uint32_t value_len;
	int64_t timestamp; /* event time (ms), or SNAPMARK_NO_TIME */
};

#define SNAPMARK_MAX_BYTES (256u << 10)

/* One `key = value` line of the operator's [stage] section that the
 * runtime does not consume itself (operator, library, parallelism, input,
 * max_parallelism are the runtime's). */
struct snapmark_option {
	const char *key;
	const char *value;
	int line; /* in the job file, for messages */
};

/* Timer domains. */
enum snapmark_time_domain {
	SNAPMARK_EVENT_TIME = 0,      /* fires when the watermark passes it */
	SNAPMARK_PROCESSING_TIME = 1, /* fires when the wall clock passes it */
};

/* The context of one task: opaque but for its first member. */
typedef struct snapmark_ctx {
	const struct snapmark_api *api;
} snapmark_ctx;

/* What the runtime offers an operator. Call it through the wrappers. */
struct snapmark_api {
	uint32_t size;    /* sizeof(struct snapmark_api) of the runtime */
	uint32_t version; /* SNAPMARK_API_VERSION of the runtime */

	/* Who and where: stage name, this subtask, the stage's parallelism. */
	const char *(*stage)(snapmark_ctx *ctx);
	uint32_t (*subtask)(snapmark_ctx *ctx);
	uint32_t (*parallelism)(snapmark_ctx *ctx);

	/* Output. emit copies the record into the task's outgoing batches;
	 * watermark (sources) promises no record with an earlier event time
	 * follows. */
	int (*emit)(snapmark_ctx *ctx, const struct snapmark_record *r);
	int (*watermark)(snapmark_ctx *ctx, int64_t time);

	/* Time: the current watermark of this task (the minimum over its
	 * inputs; SNAPMARK_NO_TIME before the first), and the wall clock in
	 * ms since 1970. */
	int64_t (*current_watermark)(snapmark_ctx *ctx);
	int64_t (*processing_time)(snapmark_ctx *ctx);

	/* Keyed state, for the current key (set by the runtime in process
	 * for each record of a keyed stage - one whose inputs are hash
	 * edges - and in on_timer). A state is named; its id comes from
	 * state_id, called in open. Values are byte strings; a counter is
	 * a state whose value is an int64. */
	int (*state_id)(snapmark_ctx *ctx, const char *name, uint32_t *id);
	int (*current_key)(snapmark_ctx *ctx, const void **key,
	    uint32_t *key_len);
	int (*value_get)(snapmark_ctx *ctx, uint32_t state, const void **value,
	    uint32_t *value_len);
	int (*value_put)(snapmark_ctx *ctx, uint32_t state, const void *value,
	    uint32_t value_len);
	int (*value_delete)(snapmark_ctx *ctx, uint32_t state);
	int (*counter_add)(snapmark_ctx *ctx, uint32_t state, int64_t delta,
	    int64_t *now);

	/* Timers, per key (the current key), part of every checkpoint:
	 * on_timer(ctx, domain, time) runs once the watermark (event time)
	 * or the wall clock (processing time) reaches time, with the key
	 * current again. Setting the same (key, domain, time) twice sets
	 * one timer. */
	int (*timer_set)(snapmark_ctx *ctx, enum snapmark_time_domain domain,
	    int64_t time);
	int (*timer_delete)(snapmark_ctx *ctx,
	    enum snapmark_time_domain domain, int64_t time);

	/* Operator state (not keyed: a source's position, a sink's pending
	 * transactions), as a list of byte-string items. In snapshot, add
	 * the items that describe the operator now; in restore, read them.
	 * When a job is restored at its old parallelism each subtask gets
	 * its own items back; at another parallelism every subtask gets
	 * every item of every old subtask and keeps those it owns (Flink's
	 * union list state). */
	int (*opstate_add)(snapmark_ctx *ctx, const void *item, uint32_t len);
	size_t (*opstate_count)(snapmark_ctx *ctx);
	int (*opstate_item)(snapmark_ctx *ctx, size_t i, const void **item,
	    uint32_t *len);

	/* Say why the operator fails (the next non-OK return), and log. */
	void (*fail)(snapmark_ctx *ctx, const char *fmt, va_list ap);
	void (*log)(snapmark_ctx *ctx, int level, const char *fmt, va_list ap);
};

/* Log levels of snapmark_log. */
enum snapmark_log_level {
	SNAPMARK_LOG_DEBUG = 0,
	SNAPMARK_LOG_INFO = 1,
	SNAPMARK_LOG_WARN = 2,
	SNAPMARK_LOG_ERROR = 3,
};

/* Operator flags. */
#define SNAPMARK_SOURCE 0x1u /* no inputs; produce() makes the records */

/*
 * The operator: what a plugin's entry point returns (a static table).
 * Only api_version, size, name and the callbacks the operator needs must
 * be set; NULL callbacks do nothing (process: drops nothing - a NULL
 * process emits every record unchanged).
 */
struct snapmark_operator {
	uint32_t api_version; /* SNAPMARK_API_VERSION */
	uint32_t size;        /* sizeof(struct snapmark_operator) */
	const char *name;
	uint32_t flags;       /* SNAPMARK_SOURCE */

	/* configure reads the stage's options, before anything runs (also
	 * by `snapmark validate`): on success *config is the operator's
	 * own (passed to open, freed by free_config); a refusal writes a
	 * one-line message into err (the runtime prefixes FILE:LINE) and
	 * returns non-zero. */
	int (*configure)(const struct snapmark_option *options, size_t n,
	    void **config, char *err, size_t errlen);
	void (*free_config)(void *config);

	/* open makes the instance of one subtask (*self), before restore. */
	int (*open)(snapmark_ctx *ctx, const void *config, void **self);
	/* restore reads the state of checkpoint_id (opstate_item; keyed
	 * state and timers are already back), after open, before any record. */
	int (*restore)(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id);

	/* Sources: produce emits up to max records (and watermarks); *done
	 * = 1 once there will never be more. */
	int (*produce)(void *self, snapmark_ctx *ctx, size_t max, int *done);
	/* Others: process n records of one input, in order; in a keyed
	 * stage the runtime sets the current key per record, so process is
	 * called with n == 1. */
	int (*process)(void *self, snapmark_ctx *ctx,
	    const struct snapmark_record *records, size_t n);
	/* A timer of the current key fired. */
	int (*on_timer)(void *self, snapmark_ctx *ctx,
	    enum snapmark_time_domain domain, int64_t time);
	/* The task's watermark advanced (after the event-time timers up to
	 * it fired); the runtime forwards it downstream afterwards. */
	int (*on_watermark)(void *self, snapmark_ctx *ctx, int64_t watermark);

	/* The synchronous part of a checkpoint: add operator state items
	 * (opstate_add). Keyed state and timers are captured by the
	 * runtime in O(1). Keep it short: the task's inputs wait. */
	int (*snapshot)(void *self, snapmark_ctx *ctx, uint64_t checkpoint_id);
	/* Checkpoint checkpoint_id (and every earlier one) is committed:
	 * the second phase of a two-phase commit. May be called again for
	 * the same id after a restore; make it idempotent. */
	int (*checkpoint_complete)(void *self, snapmark_ctx *ctx,
	    uint64_t checkpoint_id);
	/* Every input ended: emit what is still held (final windows). */
	int (*end_input)(void *self, snapmark_ctx *ctx);
	/* The instance goes away (also after a failure). */
	void (*close)(void *self, snapmark_ctx *ctx);
};

/* The type of a plugin's entry point. */
typedef const struct snapmark_operator *(*snapmark_operator_entry_v1)(void);

/* ------------------------------------------------------------ wrappers */

static inline const char *
snapmark_stage(snapmark_ctx *ctx)
{
	return ctx->api->stage(ctx);
}

static inline uint32_t
snapmark_subtask(snapmark_ctx *ctx)
{
	return ctx->api->subtask(ctx);
}

static inline uint32_t
snapmark_parallelism(snapmark_ctx *ctx)
{
	return ctx->api->parallelism(ctx);
}

static inline int
snapmark_emit(snapmark_ctx *ctx, const struct snapmark_record *r)
{
	return ctx->api->emit(ctx, r);
}

static inline int
snapmark_watermark(snapmark_ctx *ctx, int64_t time)
{
	return ctx->api->watermark(ctx, time);
}

static inline int64_t
snapmark_current_watermark(snapmark_ctx *ctx)
{
	return ctx->api->current_watermark(ctx);
}

static inline int64_t
snapmark_processing_time(snapmark_ctx *ctx)
{
	return ctx->api->processing_time(ctx);
}

static inline int
snapmark_state_id(snapmark_ctx *ctx, const char *name, uint32_t *id)
{
	return ctx->api->state_id(ctx, name, id);
}

static inline int
snapmark_current_key(snapmark_ctx *ctx, const void **key, uint32_t *len)
{
	return ctx->api->current_key(ctx, key, len);
}

static inline int
snapmark_value_get(snapmark_ctx *ctx, uint32_t state, const void **value,
    uint32_t *len)
{
	return ctx->api->value_get(ctx, state, value, len);
}

static inline int
snapmark_value_put(snapmark_ctx *ctx, uint32_t state, const void *value,
    uint32_t len)
{
	return ctx->api->value_put(ctx, state, value, len);
}

static inline int
snapmark_value_delete(snapmark_ctx *ctx, uint32_t state)
{
	return ctx->api->value_delete(ctx, state);
}

static inline int
snapmark_counter_add(snapmark_ctx *ctx, uint32_t state, int64_t delta,
    int64_t *now)
{
	return ctx->api->counter_add(ctx, state, delta, now);
}

static inline int
snapmark_timer_set(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	return ctx->api->timer_set(ctx, domain, time);
}

static inline int
snapmark_timer_delete(snapmark_ctx *ctx, enum snapmark_time_domain domain,
    int64_t time)
{
	return ctx->api->timer_delete(ctx, domain, time);
}

static inline int
snapmark_opstate_add(snapmark_ctx *ctx, const void *item, uint32_t len)
{
	return ctx->api->opstate_add(ctx, item, len);
}

static inline size_t
snapmark_opstate_count(snapmark_ctx *ctx)
{
	return ctx->api->opstate_count(ctx);
}

static inline int
snapmark_opstate_item(snapmark_ctx *ctx, size_t i, const void **item,
    uint32_t *len)
{
	return ctx->api->opstate_item(ctx, i, item, len);
}

/* snapmark_fail says why the operator fails; return SNAPMARK_ERROR next. */
static inline int
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
snapmark_fail(snapmark_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctx->api->fail(ctx, fmt, ap);
	va_end(ap);
	return SNAPMARK_ERROR;
}

static inline void
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
snapmark_log(snapmark_ctx *ctx, enum snapmark_log_level level,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctx->api->log(ctx, (int) level, fmt, ap);
	va_end(ap);
}

#ifdef __cplusplus
}
#endif

#endif
