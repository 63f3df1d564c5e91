/*
 * task_internal.h - the state of one running task, shared by the files of
 * the task runtime and by nobody else:
 *
 *   task.c          the loop (inbox, inputs, alignment, checkpoints) and
 *                   the lifecycle (start, thread, stop)
 *   task_output.c   routing records to output channels, batching, markers
 *   task_wiring.c   the topology: which channels feed and leave a subtask
 *   task_restore.c  restoring (and rescaling) state from snapshot handles
 *
 * Every field belongs to the task's thread unless its comment says
 * otherwise.
 */
#ifndef SM_TASK_INTERNAL_H
#define SM_TASK_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/channel.h"
#include "common/frame.h"
#include "common/jobfile.h"
#include "common/state.h"
#include "common/store.h"
#include "proto/snapmark.pb-c.h"
#include "worker/align.h"
#include "worker/operators/operator.h"
#include "worker/report.h"
#include "worker/snapwriter.h"
#include "worker/task.h"
#include "worker/watermark.h"
#include "snapmark/snapmark.h"

/* Dequeue times kept per input, to count the frames queued ahead of a
 * barrier (one clock read per frame of up to 1024 records). */
#define TASK_DEQ_RING 512

enum task_cmd_kind { CMD_TRIGGER, CMD_COMPLETE, CMD_ABORT };

struct task_cmd {
	enum task_cmd_kind kind;
	uint64_t id;
	int confirm; /* CMD_COMPLETE: report PUBLISHED when done */
	int skip_retention; /* CMD_COMPLETE: retained list lost (no memory) */
	uint64_t posted_wall_us; /* CMD_TRIGGER: when it reached the worker */
	char *savepoint_dir;
	size_t n_retained;
	uint64_t *retained;
};

struct task_output {
	struct sm_channel *ch;
	struct sm_batch *batch;
	uint64_t first_us;   /* when the oldest record of batch was added */
	/* Watermarks go out coalesced (task_output.c): the latest one not
	 * yet sent (wm_pending > wm_sent), since when one is pending. */
	int64_t wm_pending, wm_sent;
	uint64_t wm_since_us;
	uint32_t to_task;
	/* Frames the channel took (every kind); written by the task's
	 * thread, read by the heartbeat, like records_out. */
	_Atomic uint64_t frames_sent;
};

struct task_route {
	enum sm_edge edge;
	int first_out;
	int n_out;
	int max_parallelism;
};

struct task_input {
	struct sm_channel *ch;
	int ended;
	uint32_t upstream_task;
	/* Frames taken from the channel and handled (every kind); written
	 * by the task's thread, read by the heartbeat, like records_in. */
	_Atomic uint64_t frames_processed;
	/* wall clock of the last TASK_DEQ_RING record frames dequeued */
	uint64_t deq_us[TASK_DEQ_RING];
	unsigned n_deq;
};

struct task_emitter {
	struct sm_emitter base;
	struct worker_task *t;
};

struct worker_task {
	const struct sm_job *job;
	int task, stage, subtask, is_source;
	char name[SM_JOB_NAME_MAX + 16];
	uint64_t epoch;
	char run_dir[512];
	char *const *task_prefix;
	Snapmark__TaskRestore *restore;
	struct sm_snapwriter *writer;
	/* the savepoint directory of the barrier being aligned, if any */
	uint64_t savepoint_id;
	char *savepoint_dir;
	worker_send_fn send;
	void *send_ctx;

	struct sm_op *op;
	struct sm_store *store;
	struct task_input *in;
	struct pollfd *pollfds; /* 1 + every input: the loop's poll set */
	int n_in;
	struct task_output *out;
	int n_out;
	struct task_route *routes;
	int n_routes;
	struct sm_align align;
	struct task_emitter emitter;
	/* Event time: the watermark of each input, and the task's own (the
	 * minimum over its inputs; a source's: what it announced), or
	 * SNAPMARK_NO_TIME before the first. */
	struct sm_watermarks in_wm;
	int64_t watermark;
	/* The records of the frame being processed, pointing into it. */
	struct snapmark_record in_recs[SM_FRAME_RECORDS];
	int drained;
	uint64_t publish_only_id;           /* see worker_task_config */
	uint64_t debug_snapshot_delay_us;   /* SNAPMARK_DEBUG_SNAPSHOT_DELAY_MS */
	/* The timeline of the checkpoint being aligned (tl_id): per input,
	 * when its barrier was sent and dequeued (docs/ARCHITECTURE.md,
	 * "Checkpoint timelines"). */
	uint64_t tl_id;
	struct sm_ack_timeline tl;

	pthread_t thread;
	int thread_started;
	atomic_int stop;
	/* Written by the task's thread only, read by the worker's heartbeat:
	 * relaxed loads and stores, no locked instruction per record. */
	_Atomic uint64_t records_in, records_out;
	/* Back-pressure accounting (one clock read around each poll and each
	 * frame send, never per record): time the thread waited for input
	 * and for a full output channel, in µs of the monotonic clock, since
	 * started_us. Same relaxed single-writer discipline. */
	_Atomic uint64_t idle_us, backpressured_us;
	_Atomic uint64_t started_us;
	int wake_fd;
	pthread_mutex_t lock;
	struct task_cmd *cmds;
	size_t n_cmds, cap_cmds;
	/* The job's last checkpoint whose publication this task confirmed
	 * (0: none). After it the job is over: peers stopped by FinishJob
	 * close their channels, which is no failure. Task thread only. */
	uint64_t confirmed_id;
};

/* Add n to a counter only the task's thread writes (relaxed: the
 * heartbeat reads it from another thread, no locked instruction). */
static inline void
task_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter,
	    atomic_load_explicit(counter, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

/* task.c */

/* task_event_time_reached is the hook of event time: called once each
 * time the task's watermark advances to wm, before wm goes downstream.
 * Event-time timers <= wm will fire here and the operator hear of it;
 * today it does nothing. */
int task_event_time_reached(struct worker_task *t, int64_t wm);

/* task_output.c */

/* task_advance_watermark: the task's watermark becomes wm if that is
 * later: task_event_time_reached, then wm goes out on every output (as a
 * WATERMARK frame after the records before it, coalesced with later ones:
 * at the latest about two lingers later). */
int task_advance_watermark(struct worker_task *t, int64_t wm);

/* task_emitter_init points t->emitter at the routing below. */
void task_emitter_init(struct worker_task *t);
/* task_send_marker flushes every output, then sends a BARRIER (with
 * savepoint_dir) or another marker frame on each; before END_OF_DATA also
 * the watermark not yet sent. */
int task_send_marker(struct worker_task *t, Snapmark__Frame__Kind kind,
    uint64_t id, const char *savepoint_dir);
/* task_flush_lingering flushes batches whose oldest record waited for the
 * linger, and watermarks that did; returns the µs until the next is due
 * (-1: none waiting). */
int64_t task_flush_lingering(struct worker_task *t, int *err);
/* task_outputs_broken: 1 if an output channel lost its peer. */
int task_outputs_broken(struct worker_task *t);

/* task_wiring.c */

/* sm_channel_address writes the listen address of channel `index` in
 * `epoch` for a receiver whose worker has data prefix `prefix`:
 * "ipc://DIR/" -> "ipc://DIR/e<epoch>-c<index>", "tcp://HOST:PORT" ->
 * "tcp://HOST:<PORT+index>". */
int sm_channel_address(const char *prefix, uint64_t epoch, int index,
    char *buf, size_t len);
/* task_open_inputs listens on every channel that feeds this subtask. */
int task_open_inputs(struct worker_task *t);
/* task_open_outputs dials every channel this subtask feeds and builds one
 * route per downstream edge. */
int task_open_outputs(struct worker_task *t);

/* task_restore.c */

/* task_restore restores the task's state from t->restore (or starts fresh)
 * and starts its snapshot writer; on failure writes why. */
int task_restore(struct worker_task *t, char *why, size_t whylen);

#endif
