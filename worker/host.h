/*
 * host.h - the runtime as an SDK operator sees it: one task's
 * `struct snapmark_api` (include/snapmark/snapmark.h) over the task's
 * emitter, watermark, keyed state (worker/kvstate.h), timers
 * (worker/timers.h) and operator-state items.
 *
 * A struct sm_host is the snapmark_ctx handed to the operator: its first
 * member is the ctx, whose api points at one static table, so a callback
 * finds its task by casting the ctx back. The adapter that runs a plugin
 * (worker/operators/sdk_op.c) owns the host and tells it what the task is
 * doing: which key is current (keyed state and timers are refused outside
 * a keyed context), whether a snapshot or a restore is under way
 * (operator-state items are added only in the one, read only in the
 * other). Everything borrowed here outlives the host.
 *
 * Errors cross the boundary translated: runtime calls return
 * snapmark_status codes; a runtime error behind one (a channel lost while
 * emitting) is kept in `err` so the task ends for that reason, not for the
 * operator's.
 *
 * Single-threaded: the task's thread only.
 */
#ifndef SM_HOST_H
#define SM_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "common/state.h"
#include "snapmark/snapmark.h"
#include "worker/kvstate.h"
#include "worker/operators/operator.h"
#include "worker/timers.h"

/* The names one host has given ids (collisions of two names refused). */
struct sm_host_name {
	uint32_t id;
	char *name; /* owned */
};

struct sm_host {
	snapmark_ctx ctx; /* first: the operator's ctx */

	/* Who: stage name, task name ("STAGE.SUBTASK"), operator name. */
	const char *stage;
	const char *task_name;
	const char *op_name;
	uint32_t subtask, parallelism;
	int max_parallelism;
	int is_source;

	/* Borrowed from the task (NULL: emitting refused, no watermark). */
	struct sm_emitter *out;
	const int64_t *watermark;
	struct sm_kvstate *kv;
	struct sm_timers *timers;

	/* The current key (keyed context), its bytes owned (key_buf). */
	int keyed;
	unsigned char *key_buf;
	uint32_t key_len, key_cap, key_group;

	/* Operator-state items: the snapshot being taken (items go there),
	 * or the items being restored (read-only). */
	struct sm_snapshot_data *snap;
	const struct sm_state_item *items;
	size_t n_items;
	int restoring;

	struct sm_host_name *names;
	size_t n_names;

	uint64_t emitted; /* records emitted through this host */
	int err;          /* the runtime's error behind a refused call */
	char why[256];    /* the operator's message (snapmark_fail) */
};

/* sm_host_init: a host for stage `stage` subtask `subtask` of job (kv and
 * timers borrowed; out and watermark may be NULL). */
void sm_host_init(struct sm_host *h, const struct sm_job *job, int stage,
    int subtask, const char *task_name, const char *op_name,
    struct sm_emitter *out, const int64_t *watermark, struct sm_kvstate *kv,
    struct sm_timers *timers);
void sm_host_fini(struct sm_host *h);

/* sm_host_set_key makes key the current key (copied; SM_ENOMEM);
 * sm_host_clear_key leaves the keyed context. */
int sm_host_set_key(struct sm_host *h, const void *key, uint32_t len);
void sm_host_clear_key(struct sm_host *h);

/* sm_host_status translates a common/error.h code to a snapmark_status. */
int sm_host_status(int sm_err);

#endif
