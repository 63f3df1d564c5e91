/*
 * snapwriter.h - the asynchronous part of a task's checkpoints.
 *
 * A task's thread captures what changed (the synchronous part, O(1): the
 * operator's delta map changes hands whole, kvstate.h) and hands it here;
 * the writer thread writes it into the task's LMDB, makes it durable and
 * only then acknowledges, while the task thread keeps processing records.
 *
 * The writer keeps a shadow copy of the task's keyed state, updated with
 * every delta it is handed. That replica is what lets it write a full
 * snapshot without touching the live state: after `full_every` deltas, or
 * once the deltas since the last full snapshot outweigh
 * `full_delta_percent` of the full size, after a restore, after a failed
 * write, or when incremental checkpoints are off, it materialises the
 * shadow as a full snapshot; otherwise it writes the delta on the current
 * chain. Savepoints are full snapshots of the shadow written to their own
 * directory; they do not touch the chain. The price is a second copy of
 * the keyed state in memory.
 *
 * All writes to the task's LMDB (snapshots and retention) happen on this
 * thread, in submission order.
 */
#ifndef SM_SNAPWRITER_H
#define SM_SNAPWRITER_H

#include <stdint.h>

#include "common/jobfile.h"
#include "common/state.h"
#include "common/store.h"
#include "worker/report.h"

struct sm_snapwriter;

struct sm_snapwriter_config {
	struct sm_store *store;
	uint32_t task;
	const char *task_name;
	uint64_t epoch;
	const struct sm_job_checkpoint *policy;
	worker_send_fn send;
	void *send_ctx;
	uint64_t debug_delay_us;
};

/* sm_snapwriter_start starts the writer; `restored` (n entries, may be
 * NULL) seeds its shadow state. The first snapshot it writes is full. */
int sm_snapwriter_start(const struct sm_snapwriter_config *cfg,
    const struct sm_state_entry *restored, size_t n,
    struct sm_snapwriter **out);

/*
 * sm_snapwriter_submit queues checkpoint `id`: data as captured by the
 * operator, sync and alignment times for the ack, and savepoint_dir (NULL
 * for a checkpoint). The writer takes data->entries (set to NULL here, so
 * the caller's release does not free them) and copies the rest. A
 * snapshot without keyed state, submitted while the writer is idle, is
 * packed inline and acknowledged right here on the caller's thread: there
 * is nothing to write, so no reason to wake the writer thread.
 */
int sm_snapwriter_submit(struct sm_snapwriter *w, uint64_t id,
    struct sm_snapshot_data *data, const char *savepoint_dir,
    uint64_t sync_us, uint64_t align_us);

/* A task's timeline of one checkpoint (wall clock, µs since 1970), sent
 * with its ack: see Ack in proto/snapmark.proto. */
struct sm_ack_timeline {
	uint64_t trigger_received_us;
	uint64_t first_barrier_us, last_barrier_us;
	uint64_t barrier_sent_us;
	size_t n_arrivals;
	Snapmark__BarrierArrival *arrivals;
};

/* sm_snapwriter_submit_timeline is sm_snapwriter_submit with the task's
 * timeline of the checkpoint (copied; may be NULL). */
int sm_snapwriter_submit_timeline(struct sm_snapwriter *w, uint64_t id,
    struct sm_snapshot_data *data, const char *savepoint_dir,
    uint64_t sync_us, uint64_t align_us, const struct sm_ack_timeline *tl);

/* sm_snapwriter_prune queues retention after checkpoint `completed`. */
int sm_snapwriter_prune(struct sm_snapwriter *w, uint64_t completed,
    const uint64_t *retained, size_t n_retained);

/* sm_snapwriter_stop abandons queued snapshots (retention still runs),
 * stops and frees the writer. */
void sm_snapwriter_stop(struct sm_snapwriter *w);

/* sm_snapwriter_wait blocks until the queue is empty (tests). */
void sm_snapwriter_wait(struct sm_snapwriter *w);

#endif
