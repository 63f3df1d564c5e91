/*
 * coord.h - the coordinator's state, shared by its three parts:
 *
 *   coordinator.c   the process: sockets, event loop, workers, CLI requests
 *   checkpointer.c  triggering, acknowledging, committing, aborting
 *   recovery.c      epochs: deploying tasks, failing over, restoring
 *
 * Everything runs on the coordinator's single event-loop thread; the only
 * other thread is NNG's pipe callback, which only queues an event.
 */
#ifndef COORD_H
#define COORD_H

#include <nng/nng.h>
#include <pthread.h>
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
#define COORD_MAX_UNUSABLE 64

struct coord {
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
	uint64_t unusable[COORD_MAX_UNUSABLE];
	int n_unusable;
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

/* coord_job_ended: FINISHED, CANCELED or FAILED (nothing runs any more). */
int coord_job_ended(const struct coord *c);

/* coordinator.c */
int coord_send(struct coord *c, int worker_id, const Snapmark__Control *m);
void coord_broadcast(struct coord *c, const Snapmark__Control *m);
/* coord_broadcast_finish tells every worker the job is over. */
void coord_broadcast_finish(struct coord *c);
const char *coord_state_name(enum coord_job_state s);

/* checkpointer.c */
/* coord_trigger starts a checkpoint; with savepoint_dir a savepoint into
 * that directory (and with stop, the job stops once it completes). */
int coord_trigger(struct coord *c, int manual, int final,
    const char *savepoint_dir, int stop, uint64_t *id);
void coord_on_ack(struct coord *c, const Snapmark__Ack *ack);
void coord_on_decline(struct coord *c, const Snapmark__Decline *d);
void coord_abort(struct coord *c, struct coord_pending *p,
    const char *reason);
void coord_abort_all(struct coord *c, const char *reason);
/* coord_explain_missing: what task was last seen doing (heartbeats,
 * its worker's liveness), into *out (for a checkpoint it did not ack). */
int coord_explain_missing(struct coord *c, int task,
    Snapmark__ExplainTask **out);
/* coord_checkpoint_tick expires, triggers periodic and final checkpoints;
 * returns the microseconds until it wants to run again. */
uint64_t coord_checkpoint_tick(struct coord *c, uint64_t now_us);
struct coord_pending *coord_find_pending(struct coord *c, uint64_t id);

/* recovery.c */
/* coord_recovery_start reads what a previous coordinator left behind. */
void coord_recovery_start(struct coord *c);
/* coord_savepoint_load reads DIR/_metadata and plans how every task of
 * the job restores from it (rescaling keyed stages by key group). */
int coord_savepoint_load(struct coord *c, const char *dir, char *why,
    size_t whylen);
void coord_savepoint_free(struct coord *c);
/* coord_savepoint_target checks a savepoint target and creates it (0700):
 * absolute, no "." or ".." in it, empty or absent, and inside the run dir
 * only under RUN/savepoints/. *out receives it with symlinks resolved;
 * SM_EINVAL/SM_EIO with the reason in why otherwise. */
int coord_savepoint_target(struct coord *c, const char *dir, char *out,
    size_t outlen, char *why, size_t whylen);
/* coord_savepoint_write writes DIR/_metadata for a completed savepoint. */
int coord_savepoint_write(struct coord *c,
    const Snapmark__CheckpointRecord *rec);
void coord_fail_epoch(struct coord *c, const char *reason);
/* coord_stop_epoch aborts the pending checkpoints (with `why`) and tells
 * every worker to stop the current epoch's tasks; the caller sets the
 * state that follows (RESTARTING after a failure, CANCELED). */
void coord_stop_epoch(struct coord *c, const char *why);
void coord_on_task_event(struct coord *c, const Snapmark__TaskEvent *ev);
/* coord_begin_finishing enters FINISHING for checkpoint id of the current
 * epoch: FINISHED follows once every task reported it PUBLISHED. */
void coord_begin_finishing(struct coord *c, uint64_t id, int stop);
/* coord_recovery_tick deploys a new epoch when every worker is alive (and
 * the restart strategy's delay has passed). */
void coord_recovery_tick(struct coord *c, uint64_t now_us);

#endif
