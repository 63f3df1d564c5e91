/*
 * coord.h - the coordinator's state and the seam between its logic and
 * its process.
 *
 * The logic (the static library smcoordcore, unit-tested on its own):
 *
 *   savepoint.c     savepoint targets, metadata, loading and planning
 *   coord.c         this state's lifecycle, the job's states, sending
 *                   through the seam
 *   inflight.c      checkpoints in flight: finding, recording their end,
 *                   aborting them
 *   recovery.c      epochs: deploying tasks, failing over, restoring
 *   checkpointer.c  triggering, acknowledging, committing
 *   status.c        the job's status as the CLI, HTTP and the catalog's
 *                   saved end show it
 *   cli_answer.c    answering one CLI request
 *
 * Each calls only the ones above it in this list (never both ways). The
 * process (coordinator.c: arguments, sockets, the event loop) drives them
 * and is the only code that touches NNG: the logic reaches the outside
 * world through struct coord_io (send to a worker, the clocks), which the
 * unit tests replace by a fake (tests/test_checkpointer.c,
 * tests/test_recovery.c).
 *
 * Everything runs on the coordinator's single event-loop thread; the only
 * other thread is NNG's pipe callback, which only queues an event.
 */
#ifndef COORD_H
#define COORD_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/catalog.h"
#include "coordinator/channels.h"
#include "common/jobfile.h"
#include "coordinator/pending.h"
#include "proto/snapmark.pb-c.h"

enum coord_job_state {
	COORD_CREATED,     /* waiting for the first deployment */
	COORD_RUNNING,     /* every task runs in the current epoch */
	COORD_RESTARTING,  /* an epoch failed; redeploying */
	COORD_FINISHED,    /* the final checkpoint committed */
	COORD_FAILED,      /* cannot go on (no usable checkpoint) */
	COORD_FINISHING,   /* the final checkpoint committed; waiting for
	                      every task to confirm its output is published */
	COORD_CANCELED,    /* `snapmark cancel`: tasks stopped, no final
	                      checkpoint; output as of the latest completed */
};

/*
 * The I/O seam: everything the logic does outside its own memory and the
 * catalog. send delivers m to worker worker_id (1-based; the logic only
 * sends to workers it counts alive) and returns SM_OK or an SM_E* code
 * (SM_ESTOPPED: the process is terminating, not worth a log line); m is
 * borrowed for the call. now_us is the monotonic clock, wall_us the wall
 * clock (µs since 1970). ctx is passed back to each.
 */
struct coord_io {
	void *ctx;
	int (*send)(void *ctx, int worker_id, const Snapmark__Control *m);
	uint64_t (*now_us)(void *ctx);
	uint64_t (*wall_us)(void *ctx);
};

struct coord_worker {
	struct coord *c;
	int id;
	nng_socket sock;           /* this worker's own control socket */
	int recv_fd;
	int alive;
	nng_pipe pipe;             /* its current connection */
	uint32_t pid;
	char *prefix;              /* data prefix it registered */
	uint64_t last_seen_us;
	uint64_t last_sent_us; /* anything sent to it: a heartbeat too */
	/* Messages it sent about tasks it does not host (or for an epoch
	 * not started yet), refused: at most one log line a second, the
	 * rest counted (coordinator.c coord_refuse). */
	uint64_t refused_log_us;  /* last refusal line logged */
	uint64_t refused_last_us; /* last refusal, logged or not */
	uint64_t refused_unlogged;
	/* Its listening socket is replaced when its connection is gone
	 * (coordinator.c, coord_worker_reopen). */
	char *url; /* the control address it dials */
	nng_listener listener;
	uint64_t opened_us; /* since when it may come back on `sock` */
	int listening;      /* 0: the address is to be taken again */
	int reopens;        /* fresh sockets since it was last alive */
	/* Its wall clock minus the coordinator's, from its latest heartbeat
	 * (coordinator.c coord_on_heartbeat); 0 until one came. */
	int64_t clock_offset_us;
	uint64_t clock_rtt_us; /* the round trip behind it; 0: one-way */
};

/* One task's latest record counts, from its worker's heartbeats; the
 * rates are measured between the last two of the same epoch. */
struct coord_metrics {
	uint64_t epoch; /* 0: none yet */
	uint64_t in, out;
	uint64_t at_us; /* the worker's wall clock */
	double in_per_s, out_per_s;
	int has_rate;
	/* back-pressure: cumulative µs and the shares between the last two
	 * samples (docs/OBSERVABILITY.md) */
	uint64_t busy_us, idle_us, bp_us;
	double busy_ratio, idle_ratio, bp_ratio;
	int has_ratio;
};

#define COORD_MAX_PENDING 16

struct coord {
	struct coord_io io;
	struct sm_job job;
	char *job_text;
	char run_dir[512];
	struct coord_catalog *cat;
	nng_socket cli;

	int n_workers;
	struct coord_worker *workers;   /* index = worker id - 1 */
	int *task_worker;               /* task -> worker id */
	char **task_names;

	enum coord_job_state state;
	uint64_t epoch;
	uint32_t restarts;
	int deployed;                   /* Deploy sent for `epoch` */
	uint64_t deployed_us;           /* then, or when a task of it last
	                                   reported RUNNING (its deadline) */
	unsigned char *task_running;
	int n_running;
	unsigned char *task_drained;
	int n_drained;
	struct coord_metrics *metrics;  /* per task */
	struct coord_channels *channels; /* frame counts per channel */
	uint64_t next_heartbeat_tick_us;
	uint64_t restored_from;         /* checkpoint of the current epoch */
	int restored_from_savepoint;
	char restore_from[600];         /* --restore-from savepoint dir */
	Snapmark__SavepointMetadata *savepoint;  /* its _metadata */
	Snapmark__TaskRestore *savepoint_plan;   /* per new task */
	uint64_t *unusable;             /* checkpoints tasks could not
	                                   restore (recovery.c); grows */
	size_t n_unusable, cap_unusable;
	char last_failure[256];
	uint64_t failure_us;            /* when the current restart began */
	uint64_t last_restore_us;       /* failure -> all tasks running */

	struct coord_pending *pending[COORD_MAX_PENDING];
	int n_pending;
	uint64_t last_trigger_us;
	uint64_t last_complete_us;
	uint32_t consecutive_failures;
	int final_in_flight;
	/* Liveness of the coordinator itself (see coord_loop): when its
	 * event loop last ran, and the pauses of its own it has seen. */
	uint64_t loop_mark_us;
	uint64_t own_pauses;

	/* [restart] (recovery.c): restarts since the last reset, persisted
	 * in the catalog as "restart_attempts"; the next deploy waits for
	 * restart_due_us; running_since_us is when the current epoch had
	 * every task running (0: not yet). */
	uint32_t restart_attempts;
	uint64_t restart_due_us;
	uint64_t running_since_us;
	/* A failed final checkpoint is triggered again from then on. */
	uint64_t final_retry_us;
	char savepoint_error[400]; /* why coord_trigger refused a target */
	/* the HTTP server (http.h), if on, and its URL */
	struct coord_http *http;
	char http_url[320];

	/* FINISHING: the final checkpoint (or the stopping savepoint) whose
	 * publication every task of the epoch must confirm before FINISHED. */
	uint64_t finishing_id;
	int finishing_stop;
	uint64_t finishing_since_us;
	unsigned char *task_published;
	int n_published;

	/* The end of the job (coordinator.c coord_end_tick): without --stay
	 * the coordinator exits once the end is saved in the catalog and
	 * every worker was told (or a bound passed). */
	int stay;
	uint64_t ended_us;     /* when an end state was first seen; 0: not */
	int end_saved;         /* 1: saved by this coordinator; 2: saved
	                          when the job ended under an earlier one */
};

/* coord_open makes c ready for its job: c->io, c->job and c->job_text
 * (owned by c from then on) are set; it allocates the per-task and
 * per-worker tables (tasks spread round-robin over n_workers) and opens
 * the catalog in RUN_DIR/coordinator, checking it belongs to this job.
 * Logged and SM_E* on failure; coord_close cleans up either way. */
int coord_open(struct coord *c, const char *run_dir, int n_workers);

/* coord_close frees what coord_open and the logic allocated (closing the
 * catalog unless c->cat was closed and set to NULL already). */
void coord_close(struct coord *c);

/* coord_job_ended: FINISHED, CANCELED or FAILED (nothing runs any more). */
int coord_job_ended(const struct coord *c);
const char *coord_state_name(enum coord_job_state s);

/* The clocks of the seam. */
uint64_t coord_now_us(const struct coord *c);
uint64_t coord_wall_us(const struct coord *c);

/* coord_send sends m to worker_id if it is alive (SM_ECLOSED if not),
 * logging a failure; a success counts as contact (last_sent_us). */
int coord_send(struct coord *c, int worker_id, const Snapmark__Control *m);
/* coord_broadcast sends m to every alive worker; returns the first worker
 * it did not reach (0: none). */
int coord_broadcast(struct coord *c, const Snapmark__Control *m);
/* coord_broadcast_finish tells every worker the job is over (FinishJob,
 * with exit unless --stay); coord_send_finish tells one. */
void coord_broadcast_finish(struct coord *c);
int coord_send_finish(struct coord *c, int worker_id);

#endif
