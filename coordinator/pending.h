/*
 * pending.h - one checkpoint in flight: which tasks acknowledged it, with
 * what handle and timings, and when it expires.
 *
 * Pure bookkeeping (no I/O), so its rules are unit-tested on their own: an
 * ack counts once per task, only for this checkpoint and epoch; the
 * checkpoint is complete exactly when every task of the job acknowledged.
 */
#ifndef COORD_PENDING_H
#define COORD_PENDING_H

#include <stdint.h>

#include "proto/snapmark.pb-c.h"

struct coord_task_ack {
	int acked;
	char *location;
	uint64_t bytes;
	uint64_t entries;
	uint32_t checksum;
	uint64_t sync_us, async_us, align_us;
	uint64_t ack_us;      /* trigger -> ack arrived */
	uint64_t full_bytes;  /* full state size the snapshot represents */
	int incremental;
	ProtobufCBinaryData inline_meta; /* an inline snapshot, or empty */
	/* The task's timeline, on the coordinator's wall clock (µs since
	 * 1970; 0: not reported), set by coord_pending_timeline. */
	uint64_t trigger_received_us, first_barrier_us, last_barrier_us;
	uint64_t barrier_sent_us, ack_sent_us, ack_received_us;
	size_t n_arrivals;
	Snapmark__BarrierArrival *arrivals;
	Snapmark__BarrierArrival **arrival_ptrs;
	uint32_t worker_id;
};

struct coord_pending {
	uint64_t id;
	uint64_t epoch;
	uint64_t trigger_us;       /* monotonic */
	uint64_t trigger_wall_ms;
	uint64_t deadline_us;
	int n_tasks;
	int n_acked;
	int final;
	int manual;
	char *savepoint_dir;           /* a savepoint: where it goes */
	int stop;                      /* stop the job once it completes */
	struct coord_task_ack *acks;   /* per task index */
	uint64_t trigger_sent_us;      /* wall clock, µs */
	/* A failed checkpoint: the tasks that did not acknowledge, and what
	 * they were last seen doing (set by the checkpointer; copied into
	 * its record). */
	Snapmark__ExplainTask **missing;
	size_t n_missing;
};

/* coord_pending_alloc creates checkpoint `id` of `epoch` awaiting n_tasks
 * acknowledgements until now_us + timeout_us. */
int coord_pending_alloc(uint64_t id, uint64_t epoch, int n_tasks,
    uint64_t now_us, uint64_t timeout_us, struct coord_pending **out);

void coord_pending_free(struct coord_pending *p);

/*
 * coord_pending_ack records a task's ack. SM_EINVAL if it is for another
 * checkpoint or epoch, names no task of the job, or has no handle;
 * SM_EAGAIN if this task already acknowledged (the duplicate is ignored).
 */
int coord_pending_ack(struct coord_pending *p, const Snapmark__Ack *ack,
    uint64_t now_us);

/* coord_pending_same_ack: ack repeats the one already counted for its
 * task (same handle: location, checksum, bytes), i.e. a harmless resend;
 * 0 if none was counted or it differs. */
int coord_pending_same_ack(const struct coord_pending *p,
    const Snapmark__Ack *ack);

/*
 * coord_pending_timeline stores the timeline of task's counted ack,
 * converting the worker's clock to the coordinator's: offset_us[k] is
 * (worker clock - coordinator clock) of task k's worker. received_us is the
 * ack's arrival (coordinator wall clock); worker_id hosts the task.
 */
int coord_pending_timeline(struct coord_pending *p, const Snapmark__Ack *ack,
    const int64_t *offset_us, uint64_t received_us, uint32_t worker_id);

/* coord_pending_complete: every task acknowledged. */
int coord_pending_complete(const struct coord_pending *p);

/* coord_pending_expired: the deadline passed and it is not complete. */
int coord_pending_expired(const struct coord_pending *p, uint64_t now_us);

/*
 * coord_pending_record builds the catalog record of this checkpoint with
 * the given status (COMPLETED, FAILED with reason, or PENDING) at now_us.
 * task_names[i] names task i. *out owns all its memory, copied, like a
 * record unpacked from the catalog: the caller frees either kind the same
 * way, with snapmark__checkpoint_record__free_unpacked(*out, NULL).
 */
int coord_pending_record(const struct coord_pending *p,
    Snapmark__CheckpointRecord__Status status, const char *reason,
    uint64_t now_us, char *const *task_names,
    Snapmark__CheckpointRecord **out);

#endif
