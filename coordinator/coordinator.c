/*
 * coordinator.c - the snapmark-coordinator process.
 *
 * Owns the sockets and the single-threaded event loop:
 *
 *   control  one pair1 listener per worker, at that worker's own address
 *            (sm_control_address): FIFO, never dropping, back-pressured.
 *            A worker's death is seen as NNG_PIPE_EV_REM_POST within
 *            milliseconds; a worker that hangs without closing its
 *            connection is caught by the heartbeat timeout.
 *   cli      the `snapmark` CLI's endpoint: on an ipc:// address (the
 *            default) cli_server.c, which speaks NNG's req/rep wire
 *            protocol on its own sockets because NNG 1.5.2's ipc
 *            listener stops serving new connections for good after
 *            clients abandon requests; on any other address a raw rep0
 *            socket, where each reply carries its request's routing
 *            header back and is queued on that client's own connection
 *            (cooked rep0 drops a reply sent while the connection is
 *            still busy with the previous one).
 *   events   an eventfd the pipe callback writes to. NNG runs pipe
 *            callbacks under the socket lock, so the callback only queues
 *            the event; the loop handles it.
 *
 * Liveness rules (docs/ARCHITECTURE.md, "Liveness"):
 *  - the coordinator never closes a worker's connection itself. NNG
 *    1.5.2 loses the receive of a pipe closed while a message is arriving
 *    on it; its reaper thread then waits forever, no pipe of the process
 *    is ever released again, the pair1 listener keeps the dead pipe and
 *    rejects every reconnection, and nng_close hangs (seen after a
 *    SIGSTOP of the coordinator). A worker silent past its timeout is
 *    counted dead but keeps its connection; if it speaks on it again it
 *    is alive again and takes part in the next epoch.
 *  - a pause of the coordinator's own loop (a monotonic gap of more than
 *    one heartbeat period beyond what it meant to sleep) gives every
 *    worker a fresh period, and extends checkpoint deadlines by the gap.
 *  - SIGTERM ends the process within a bound: sends stop, sockets are
 *    closed on a helper thread that is waited for at most
 *    COORD_CLOSE_WAIT_US.
 *
 * The loop polls the three, then lets the checkpointer and the recovery
 * driver act on the time that passed.
 *
 * The coordinator's logic (checkpointer, recovery, savepoints, status, the
 * CLI's answers) is the library described in coord.h; this file gives it
 * its I/O seam (coord_io_*: sending on a worker's control socket, the
 * clocks) and feeds it what arrives.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/reqrep0/rep.h>

#include "coordinator/checkpointer.h"
#include "coordinator/cli_answer.h"
#include "coordinator/cli_server.h"
#include "common/clock.h"
#include "common/control.h"
#include "coordinator/coord.h"
#include "coordinator/http.h"
#include "common/error.h"
#include "common/log.h"
#include "coordinator/recovery.h"
#include "coordinator/savepoint.h"
#include "coordinator/status.h"
#include "sdk/plugin_check.h"
#include "common/version.h"

/* How long termination waits for NNG to close the sockets. */
#define COORD_CLOSE_WAIT_US 2000000u

static volatile sig_atomic_t coord_terminate;

static void coord_worker_reopen(struct coord *c, struct coord_worker *w);

/* The CLI endpoint on an ipc:// address (else NULL: c->cli serves it). */
static struct cli_server *coord_cli_server;

/*
 * Pipe events queued by NNG's callback thread for the loop: a growing
 * array, so no worker's death is dropped for want of room. If it cannot
 * grow, the loop is told (pipe_ev_lost) and checks every worker's current
 * connection itself (coord_drain_pipe_events).
 */
struct pipe_ev {
	int worker;
	nng_pipe pipe;
};
static pthread_mutex_t pipe_ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pipe_ev *pipe_ev_removed;
static size_t pipe_ev_n, pipe_ev_cap;
static int pipe_ev_lost;
static int pipe_ev_fd = -1;

static void
coord_on_signal(int sig)
{
	(void) sig;
	coord_terminate = 1;
}

static void
coord_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct coord_worker *w = arg;
	if (ev != NNG_PIPE_EV_REM_POST)
		return;
	pthread_mutex_lock(&pipe_ev_lock);
	if (pipe_ev_n == pipe_ev_cap) {
		size_t cap = pipe_ev_cap ? 2 * pipe_ev_cap : 64;
		struct pipe_ev *grown =
		    realloc(pipe_ev_removed, cap * sizeof(*grown));
		if (grown != NULL) {
			pipe_ev_removed = grown;
			pipe_ev_cap = cap;
		}
	}
	if (pipe_ev_n < pipe_ev_cap) {
		pipe_ev_removed[pipe_ev_n].worker = w->id;
		pipe_ev_removed[pipe_ev_n++].pipe = pipe;
	} else {
		pipe_ev_lost = 1;
	}
	pthread_mutex_unlock(&pipe_ev_lock);
	uint64_t one = 1;
	ssize_t n = write(pipe_ev_fd, &one, sizeof(one));
	(void) n;
}

/* ---------------------------------------------------------- the I/O seam */

static int
coord_io_send(void *ctx, int worker_id, const Snapmark__Control *m)
{
	struct coord *c = ctx;
	if (coord_terminate)
		return SM_ESTOPPED;
	nng_pipe any = NNG_PIPE_INITIALIZER;
	return sm_control_send(c->workers[worker_id - 1].sock, any, m);
}

static uint64_t
coord_io_now_us(void *ctx)
{
	(void) ctx;
	return sm_now_us();
}

static uint64_t
coord_io_wall_us(void *ctx)
{
	(void) ctx;
	return sm_wall_us();
}

/* ------------------------------------------------------------- workers */

/* Worker id is lost (recovery.c); a socket it may come back on is
 * opened from now, with a heartbeat timeout to come back (coord_reopen_tick).
 * The connection stays open: closing it can wedge NNG (see the top of
 * this file); a dead peer's connection ends by itself. */
static void
coord_lose_worker(struct coord *c, int id, const char *why)
{
	if (c->workers[id - 1].alive)
		c->workers[id - 1].opened_us = sm_now_us();
	coord_worker_lost(c, id, why);
}

static void
coord_on_register(struct coord *c, struct coord_worker *w, nng_pipe p,
    const Snapmark__Register *r)
{
	int id = (int) r->worker_id;
	if (id != w->id) {
		sm_warn("rejecting worker %d on the control address of worker "
		        "%d",
		    id, w->id);
		nng_pipe_close(p);
		return;
	}
	if (w->alive) {
		sm_warn("rejecting a second worker %d (pid %u): worker %d "
		        "(pid %u) is connected",
		    id, r->pid, id, w->pid);
		nng_pipe_close(p);
		return;
	}
	char *prefix = strdup(r->data_prefix);
	if (prefix == NULL) {
		nng_pipe_close(p);
		return;
	}
	free(w->prefix);
	w->prefix = prefix;
	w->alive = 1;
	w->reopens = 0;
	w->pipe = p;
	w->pid = r->pid;
	w->last_seen_us = sm_now_us();
	sm_info("worker %d registered (pid %u, data %s)", id, r->pid,
	    r->data_prefix);
	if (coord_job_ended(c)) {
		/* Back after the end: it learns the job is over. */
		coord_send_finish(c, id);
	}
}

/*
 * What a worker says about a task counts only if the task is deployed to
 * it, and only for the current epoch (older epochs are normal stragglers
 * and dropped by the handlers below). Anything else - a process on a free
 * worker slot acking, declining or reporting events for tasks it does not
 * host, or for an epoch not started yet - is refused and logged, at most
 * one line per worker per second; the lines left out are counted and
 * reported with the next one (or by coord_heartbeat_tick once a second
 * has passed without any).
 */
static void
coord_refuse(struct coord_worker *w, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	uint64_t now = sm_now_us();
	w->refused_last_us = now;
	if (w->refused_log_us != 0 && now - w->refused_log_us < 1000000) {
		w->refused_unlogged++;
		return;
	}
	if (w->refused_unlogged > 0)
		sm_warn("worker %d (pid %u): refusing %s (and %" PRIu64
		        " more refused messages of it since the last such "
		        "line)",
		    w->id, w->pid, what, w->refused_unlogged);
	else
		sm_warn("worker %d (pid %u): refusing %s", w->id, w->pid,
		    what);
	w->refused_log_us = now;
	w->refused_unlogged = 0;
}

/* The worker hosts `task` and speaks of the current or an older epoch;
 * otherwise the message is refused (what: "an ack of checkpoint 7"). */
static int
coord_from_owner(struct coord *c, struct coord_worker *w, uint32_t task,
    uint64_t epoch, const char *what)
{
	if (task >= (uint32_t) c->job.n_tasks) {
		coord_refuse(w,
		    "%s for task %u, which the job does not have (%d tasks)",
		    what, task, c->job.n_tasks);
		return 0;
	}
	if (c->task_worker[task] != w->id) {
		coord_refuse(w,
		    "%s for task %s, which is deployed to worker %d", what,
		    c->task_names[task], c->task_worker[task]);
		return 0;
	}
	if (epoch > c->epoch) {
		coord_refuse(w,
		    "%s for task %s in epoch %" PRIu64 ", which "
		    "has not started (current: %" PRIu64 ")",
		    what, c->task_names[task], epoch, c->epoch);
		return 0;
	}
	return 1;
}

static const char *
coord_event_kind_name(Snapmark__TaskEvent__Kind kind)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &snapmark__task_event__kind__descriptor, (int) kind);
	return v != NULL ? v->name : "of unknown kind";
}

/* Keep one side's frame count of a channel (channels.h): an entry must
 * name two tasks a channel connects and exactly one count, of the side
 * the worker hosts; anything else is refused (coord_refuse: one log line
 * a second at most). */
static void
coord_on_channel_metrics(struct coord *c, struct coord_worker *w,
    uint64_t epoch, const Snapmark__ChannelMetrics *m)
{
	if (!m->has_from_task || !m->has_to_task ||
	    m->has_frames_sent == m->has_frames_processed) {
		coord_refuse(w, "channel metrics without two tasks and exactly "
		                "one frame count");
		return;
	}
	int index = coord_channel_between(&c->job, m->from_task, m->to_task);
	if (index < 0) {
		coord_refuse(w,
		    "channel metrics for tasks %u -> %u, which no channel of "
		    "the job connects",
		    m->from_task, m->to_task);
		return;
	}
	int sent = m->has_frames_sent;
	if (!coord_from_owner(c, w, sent ? m->from_task : m->to_task, epoch,
	        "channel metrics"))
		return;
	coord_channels_note(c->channels, index, epoch, sent,
	    sent ? m->frames_sent : m->frames_processed);
}

/* Keep each task's latest counts and the rates since its previous
 * sample; samples of another epoch (in flight across a restart) are
 * dropped, and so are tasks the worker does not host. */
static void
coord_on_heartbeat(struct coord *c, struct coord_worker *w,
    const Snapmark__Heartbeat *h)
{
	/* The worker's clock offset, NTP-style: it stamped its send time
	 * (sent_us) and echoes our latest heartbeat's stamp with how long it
	 * held it; the round trip less that hold, halved, is the one-way
	 * delay, so it sent at about now - rtt/2 on our clock. Without an
	 * echo (or with an absurd one) the delay counts as zero. The latest
	 * estimate is kept (docs/ARCHITECTURE.md, "Checkpoint timelines"). */
	if (h->has_sent_us) {
		uint64_t now = sm_wall_us(), rtt = 0;
		if (h->has_echo_us && h->has_echo_held_us &&
		    now >= h->echo_us + h->echo_held_us &&
		    now - h->echo_us - h->echo_held_us < 10000000)
			rtt = now - h->echo_us - h->echo_held_us;
		w->clock_offset_us =
		    (int64_t) h->sent_us - (int64_t) (now - rtt / 2);
		w->clock_rtt_us = rtt;
	}
	if (!h->has_epoch || h->epoch != c->epoch)
		return;
	for (size_t i = 0; i < h->n_tasks; i++) {
		const Snapmark__TaskMetrics *m = h->tasks[i];
		if (!coord_from_owner(c, w, m->task, h->epoch, "metrics"))
			continue;
		struct coord_metrics *x = &c->metrics[m->task];
		if (x->epoch == c->epoch && m->sampled_us > x->at_us &&
		    m->records_in >= x->in && m->records_out >= x->out) {
			double dt = (double) (m->sampled_us - x->at_us) / 1e6;
			x->in_per_s = (double) (m->records_in - x->in) / dt;
			x->out_per_s = (double) (m->records_out - x->out) / dt;
			x->has_rate = 1;
		} else if (x->epoch != c->epoch) {
			x->has_rate = 0;
			x->has_ratio = 0;
		}
		if (m->has_busy_us && m->has_idle_us && m->has_backpressured_us) {
			uint64_t db = m->busy_us - x->busy_us;
			uint64_t di = m->idle_us - x->idle_us;
			uint64_t dp = m->backpressured_us - x->bp_us;
			uint64_t all = db + di + dp;
			if (x->epoch == c->epoch && m->busy_us >= x->busy_us &&
			    m->idle_us >= x->idle_us &&
			    m->backpressured_us >= x->bp_us && all > 0) {
				x->busy_ratio = (double) db / (double) all;
				x->idle_ratio = (double) di / (double) all;
				x->bp_ratio = (double) dp / (double) all;
				x->has_ratio = 1;
			}
			x->busy_us = m->busy_us;
			x->idle_us = m->idle_us;
			x->bp_us = m->backpressured_us;
		}
		x->epoch = c->epoch;
		x->in = m->records_in;
		x->out = m->records_out;
		x->at_us = m->sampled_us;
	}
	for (size_t i = 0; i < h->n_channels; i++)
		coord_on_channel_metrics(c, w, h->epoch, h->channels[i]);
}

static void
coord_on_control(struct coord *c, struct coord_worker *w, nng_pipe p,
    const Snapmark__Control *m)
{
	if (m->body_case == SNAPMARK__CONTROL__BODY_REGISTER) {
		coord_on_register(c, w, p, m->register_);
		return;
	}
	if (!w->alive && w->pid != 0 &&
	    nng_pipe_id(w->pipe) == nng_pipe_id(p)) {
		/* Counted dead for its silence, but still connected and
		 * speaking: it is alive, and the next epoch deploys to it
		 * without a reconnection. */
		w->alive = 1;
		sm_info("worker %d (pid %u) is responsive again on its "
		        "connection",
		    w->id, w->pid);
	}
	if (!w->alive || nng_pipe_id(w->pipe) != nng_pipe_id(p)) {
		sm_debug("ignoring a message from unregistered pipe %d",
		    nng_pipe_id(p));
		return;
	}
	int id = w->id;
	w->last_seen_us = sm_now_us();
	char what[64];
	switch (m->body_case) {
	case SNAPMARK__CONTROL__BODY_ACK:
		snprintf(what, sizeof(what), "an ack of checkpoint %" PRIu64,
		    m->ack->checkpoint_id);
		if (coord_from_owner(c, w, m->ack->task, m->ack->epoch, what))
			coord_on_ack(c, m->ack);
		break;
	case SNAPMARK__CONTROL__BODY_ACK_BATCH:
		for (size_t i = 0; i < m->ack_batch->n_acks; i++) {
			const Snapmark__Ack *a = m->ack_batch->acks[i];
			snprintf(what, sizeof(what),
			    "an ack of checkpoint %" PRIu64, a->checkpoint_id);
			if (coord_from_owner(c, w, a->task, a->epoch, what))
				coord_on_ack(c, a);
		}
		break;
	case SNAPMARK__CONTROL__BODY_DECLINE:
		snprintf(what, sizeof(what),
		    "a decline of checkpoint %" PRIu64,
		    m->decline->checkpoint_id);
		if (coord_from_owner(c, w, m->decline->task, m->decline->epoch,
		        what))
			coord_on_decline(c, m->decline);
		break;
	case SNAPMARK__CONTROL__BODY_TASK_EVENT:
		snprintf(what, sizeof(what), "a task event %s",
		    coord_event_kind_name(m->task_event->kind));
		if (coord_from_owner(c, w, m->task_event->task,
		        m->task_event->epoch, what))
			coord_on_task_event(c, m->task_event);
		break;
	case SNAPMARK__CONTROL__BODY_HEARTBEAT:
		coord_on_heartbeat(c, w, m->heartbeat);
		break;
	default:
		sm_warn("worker %d sent an unexpected message (%d); ignored",
		    id, (int) m->body_case);
	}
}

/*
 * Heartbeats, both ways, in one pass over the workers, run at most every
 * 10 ms (a quarter period if shorter), not on every wake-up of the event
 * loop, which at thousands of workers is thousands of times per
 * checkpoint:
 *  - a worker silent for heartbeat_timeout_ms is lost;
 *  - workers watch the coordinator too: every worker hears from it at
 *    least every heartbeat period. Any message counts, so a worker that
 *    got a trigger or a completion lately needs no heartbeat, and the ones
 *    that do fall due one by one instead of in a burst of thousands of
 *    sends. While a checkpoint is in flight (its completion will reach
 *    every worker) they wait, up to a third of the workers' timeout.
 */
static void
coord_heartbeat_tick(struct coord *c, uint64_t now)
{
	uint64_t period = c->job.heartbeat_ms * 1000;
	if (now < c->next_heartbeat_tick_us)
		return;
	c->next_heartbeat_tick_us = now + (period / 4 < 10000 ? period / 4 : 10000);
	uint64_t limit = c->job.heartbeat_timeout_ms * 1000;
	uint64_t patience = limit / 3;
	if (c->n_pending > 0 && patience > period)
		period = patience;
	Snapmark__Heartbeat h = SNAPMARK__HEARTBEAT__INIT;
	Snapmark__Control m = SNAPMARK__CONTROL__INIT;
	m.body_case = SNAPMARK__CONTROL__BODY_HEARTBEAT;
	m.heartbeat = &h;
	for (int i = 0; i < c->n_workers; i++) {
		struct coord_worker *w = &c->workers[i];
		/* Only once the refusals stopped: while they go on, the
		 * next one is logged with its reason and this count. */
		if (w->refused_unlogged > 0 &&
		    now - w->refused_log_us >= 1000000 &&
		    now - w->refused_last_us >= 1000000) {
			sm_warn("worker %d (pid %u): refused %" PRIu64 " more "
			        "messages of it since the last such line",
			    w->id, w->pid, w->refused_unlogged);
			w->refused_log_us = now;
			w->refused_unlogged = 0;
		}
		if (!w->alive)
			continue;
		if (now - w->last_seen_us > limit) {
			char why[96];
			snprintf(why, sizeof(why),
			    "sent no heartbeat for %.0f ms",
			    (double) (now - w->last_seen_us) / 1000.0);
			coord_lose_worker(c, i + 1, why);
			continue;
		}
		if (now - w->last_sent_us >= period) {
			h.has_sent_us = 1;
			h.sent_us = sm_wall_us();
			sm_control_offer(w->sock, &m);
			w->last_sent_us = now;
		}
	}
}

/*
 * The loop's own liveness. `slept_us` is what the loop asked epoll to wait
 * at most; a gap since the previous pass of more than that plus one
 * heartbeat period means this process did not run (SIGSTOP, a VM pause, a
 * debugger, a page-fault storm, a blocking call): the workers' silence
 * over that gap says nothing about them. Every alive worker gets a fresh
 * heartbeat period and every pending checkpoint's deadline moves by the
 * gap, so nobody is judged on time the coordinator itself was away.
 */
static void
coord_check_own_pause(struct coord *c, uint64_t now, uint64_t slept_us)
{
	uint64_t gap = now - c->loop_mark_us;
	uint64_t allowed = slept_us + c->job.heartbeat_ms * 1000;
	int first = c->loop_mark_us == 0;
	c->loop_mark_us = now;
	if (first || gap <= allowed)
		return;
	c->own_pauses++;
	sm_warn("the coordinator did not run for %.0f ms (paused?); every "
	        "worker gets a fresh heartbeat period",
	    (double) gap / 1000.0);
	for (int i = 0; i < c->n_workers; i++) {
		struct coord_worker *w = &c->workers[i];
		if (w->alive && w->last_seen_us < now)
			w->last_seen_us = now;
		/* A worker that dialed meanwhile gave up on a handshake this
		 * process could not answer: such abandoned connections can
		 * leave NNG 1.5.2's listener refusing every later one. */
		if (!w->alive && w->listening)
			coord_worker_reopen(c, w);
	}
	for (int i = 0; i < c->n_pending; i++)
		c->pending[i]->deadline_us += gap;
	if (c->state == COORD_FINISHING) /* publish confirmations too */
		c->finishing_since_us += gap;
	if (c->deployed_us != 0) /* and a deploy's */
		c->deployed_us += gap;
}

/* Worker w's current connection was removed: it is lost, and its next
 * connection goes to a fresh socket. */
static void
coord_pipe_removed(struct coord *c, struct coord_worker *w)
{
	if (w->alive)
		coord_lose_worker(c, w->id, "disconnected");
	coord_worker_reopen(c, w);
}

static void
coord_drain_pipe_events(struct coord *c)
{
	uint64_t junk;
	ssize_t r = read(pipe_ev_fd, &junk, sizeof(junk));
	(void) r;
	/* Take the queue as it is; the callback starts a new one. */
	pthread_mutex_lock(&pipe_ev_lock);
	struct pipe_ev *removed = pipe_ev_removed;
	size_t n = pipe_ev_n;
	int lost = pipe_ev_lost;
	pipe_ev_removed = NULL;
	pipe_ev_n = pipe_ev_cap = 0;
	pipe_ev_lost = 0;
	pthread_mutex_unlock(&pipe_ev_lock);
	for (size_t i = 0; i < n; i++) {
		struct coord_worker *w = &c->workers[removed[i].worker - 1];
		if (nng_pipe_id(w->pipe) <= 0 ||
		    nng_pipe_id(w->pipe) != nng_pipe_id(removed[i].pipe))
			continue;
		coord_pipe_removed(c, w);
	}
	free(removed);
	if (!lost)
		return;
	/* Events were lost (out of memory): every current connection NNG
	 * no longer knows is taken as removed. */
	sm_error("lost connection events (out of memory): checking every "
	         "worker's connection");
	for (int i = 0; i < c->n_workers; i++) {
		struct coord_worker *w = &c->workers[i];
		if (nng_pipe_id(w->pipe) > 0 &&
		    nng_socket_id(nng_pipe_socket(w->pipe)) <= 0)
			coord_pipe_removed(c, w);
	}
}

/* ------------------------------------------------------- the job's end */

/*
 * The job ends FINISHED (every task confirmed its output published),
 * CANCELED (`snapmark cancel`) or FAILED. The end is saved in the catalog
 * ("final_state", and "final_status": the status `snapmark` shows once the
 * coordinator is gone), every worker is told (FinishJob, with exit unless
 * --stay), and without --stay the coordinator leaves its loop once every
 * worker has gone or COORD_END_WAIT_US passed.
 */
#define COORD_END_WAIT_US 3000000

/* coord_end_tick: 1 when the coordinator should leave its loop. */
static int
coord_end_tick(struct coord *c, uint64_t now)
{
	if (!coord_job_ended(c))
		return 0;
	if (c->ended_us == 0) {
		c->ended_us = now;
		/* FINISHED told the workers already (recovery_finished). */
		if (c->state != COORD_FINISHED)
			coord_broadcast_finish(c);
		if (c->end_saved == 0) {
			coord_save_end(c);
			c->end_saved = 1;
		}
		if (!c->stay)
			sm_info("job %s: exiting once every worker has "
			        "stopped (at most %.1f s)",
			    coord_state_name(c->state),
			    COORD_END_WAIT_US / 1e6);
	}
	if (c->stay)
		return 0;
	/* A coordinator started on a job that had ended already (no worker
	 * registered with it) waits out the bound: workers started again
	 * meanwhile learn that the job is over (coord_on_register). */
	int known = 0;
	uint64_t waited = now - c->ended_us;
	for (int i = 0; i < c->n_workers; i++) {
		if (c->workers[i].alive && waited < COORD_END_WAIT_US)
			return 0;
		known |= c->workers[i].pid != 0;
	}
	return known || waited >= COORD_END_WAIT_US;
}

/*
 * coord_cli_serve answers what the CLI endpoint has ready. On the raw
 * rep0 socket the request's header (routing words) goes back in front of
 * the reply; a reply NNG cannot queue at once is dropped (the client's
 * own timeout reports it) rather than blocking the loop.
 */
static void
coord_cli_serve(struct coord *c, uint64_t now)
{
	if (coord_cli_server != NULL) {
		cli_server_run(coord_cli_server, now);
		return;
	}
	nng_msg *msg, *out;
	for (int k = 0;
	     k < 64 && nng_recvmsg(c->cli, &msg, NNG_FLAG_NONBLOCK) == 0;
	     k++) {
		uint8_t *reply = NULL;
		size_t len = 0;
		coord_cli_answer(c, nng_msg_body(msg), nng_msg_len(msg),
		    &reply, &len);
		if (reply != NULL && nng_msg_alloc(&out, len) == 0) {
			memcpy(nng_msg_body(out), reply, len);
			if (nng_msg_header_append(out, nng_msg_header(msg),
			        nng_msg_header_len(msg)) != 0 ||
			    nng_sendmsg(c->cli, out, NNG_FLAG_NONBLOCK) != 0)
				nng_msg_free(out);
		}
		free(reply);
		nng_msg_free(msg);
	}
}

/* ------------------------------------------------------------ start-up */

static void
coord_usage(FILE *f)
{
	fprintf(f,
	    "usage: snapmark-coordinator --job FILE [--job-dir DIR] "
	    "[--run-dir DIR] [--workers N]\n"
	    "                            [--listen URL] [--cli URL]\n"
	    "  --job FILE     the job file (see docs/JOBFILE.md)\n"
	    "  --job-dir DIR  resolve the job's relative library paths "
	    "against DIR\n"
	    "                 (default: the job file's directory)\n"
	    "  --run-dir DIR  run directory (default ./run); the catalog "
	    "lives in DIR/coordinator\n"
	    "  --workers N    workers the job is spread over (default: "
	    "DIR/workers, else 1)\n"
	    "  --listen URL   control base address: worker K at URL-K.ipc "
	    "(ipc)\n"
	    "                 or port+K (tcp://HOST:PORT); default "
	    "ipc://DIR/coordinator\n"
	    "  --cli URL      address for the snapmark CLI (default "
	    "ipc://DIR/cli.ipc)\n"
	    "  --http ADDR:PORT\n"
	    "                 serve metrics, the REST API and the dashboard "
	    "over HTTP\n"
	    "                 (PORT 0: any free port; default: [job] "
	    "http_port on\n"
	    "                 127.0.0.1, else no HTTP server)\n"
	    "  --restore-from SAVEPOINT\n"
	    "                 start the job from a savepoint directory (keyed "
	    "stages may\n"
	    "                 change parallelism); used until the job's first "
	    "checkpoint\n"
	    "  --stay         keep running after the job ended (FINISHED, "
	    "CANCELED,\n"
	    "                 FAILED); by default the coordinator and its "
	    "workers exit:\n"
	    "                 exit status 0 FINISHED, 3 CANCELED, 1 FAILED\n"
	    "  --version      print the version and exit\n");
}

struct coord_args {
	const char *job;
	char job_dir[PATH_MAX]; /* --job-dir, absolute; "" for the file's */
	const char *restore_from;
	int stay;
	char run_dir[512];
	int workers;
	char listen[600];
	char cli[600];
	const char *http; /* --http ADDR:PORT */
};

static int
coord_parse_args(struct coord_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", required_argument, NULL, 'j' },
		{ "job-dir", required_argument, NULL, 'J' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "workers", required_argument, NULL, 'w' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cli", required_argument, NULL, 'c' },
		{ "restore-from", required_argument, NULL, 's' },
		{ "http", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "stay", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *run_dir = getenv("SNAPMARK_RUN_DIR");
	const char *listen = NULL, *cli = NULL;
	int ch;
	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			a->job = optarg;
			break;
		case 'J':
			if (realpath(optarg, a->job_dir) == NULL) {
				fprintf(stderr,
				    "snapmark-coordinator: bad --job-dir '%s': "
				    "%s\n",
				    optarg, strerror(errno));
				coord_usage(stderr);
				return 2;
			}
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 4096) {
				fprintf(stderr, "snapmark-coordinator: bad "
				                "--workers '%s'\n",
				    optarg);
				coord_usage(stderr);
				return 2;
			}
			a->workers = (int) v;
			break;
		}
		case 'l':
			listen = optarg;
			break;
		case 'c':
			cli = optarg;
			break;
		case 's':
			a->restore_from = optarg;
			break;
		case 'S':
			a->stay = 1;
			break;
		case 'H':
			a->http = optarg;
			break;
		case 'h':
			coord_usage(stdout);
			exit(0);
		case 'V':
			printf("snapmark-coordinator %s\n", SM_VERSION_STRING);
			exit(0);
		default:
			coord_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || a->job == NULL) {
		fprintf(stderr, "snapmark-coordinator: %s\n",
		    a->job == NULL ? "--job is required"
		                   : "unexpected argument");
		coord_usage(stderr);
		return 2;
	}
	if (run_dir == NULL)
		run_dir = "run";
	/* The job is parsed, and its user operators loaded and configured,
	 * before anything is created: a rejected job (or a --job that is no
	 * regular file) leaves no run directory behind. */
	{
		struct sm_job *probe = calloc(1, sizeof(*probe));
		char err[1024];
		int lrv = probe == NULL
		    ? SM_ENOMEM
		    : sm_job_load_in(a->job, a->job_dir[0] ? a->job_dir : NULL,
		          probe, NULL, err, sizeof(err));
		if (lrv == SM_OK)
			lrv = sm_plugin_check_job(probe, a->job, NULL, err,
			    sizeof(err));
		if (probe == NULL)
			snprintf(err, sizeof(err), "out of memory");
		free(probe);
		if (lrv != SM_OK) {
			fprintf(stderr, "snapmark-coordinator: %s\n", err);
			return 2;
		}
	}
	mkdir(run_dir, 0700);
	if (realpath(run_dir, a->run_dir) == NULL) {
		fprintf(stderr, "snapmark-coordinator: run directory %s: %s\n",
		    run_dir, strerror(errno));
		return 2;
	}
	chmod(a->run_dir, 0700);
	if (a->workers == 0) {
		char path[600];
		snprintf(path, sizeof(path), "%s/workers", a->run_dir);
		FILE *f = fopen(path, "r");
		if (f == NULL || fscanf(f, "%d", &a->workers) != 1 ||
		    a->workers < 1)
			a->workers = 1;
		if (f != NULL)
			fclose(f);
	}
	snprintf(a->listen, sizeof(a->listen), "%s", listen ? listen : "");
	snprintf(a->cli, sizeof(a->cli), "%s", cli ? cli : "");
	if (listen == NULL)
		snprintf(a->listen, sizeof(a->listen), "ipc://%s/coordinator",
		    a->run_dir);
	if (cli == NULL)
		snprintf(a->cli, sizeof(a->cli), "ipc://%s/cli.ipc",
		    a->run_dir);
	return 0;
}

static int coord_epoll_fd = -1; /* the loop's, once it runs */

/* A fresh pair1 socket for worker w (not yet listening). */
static int
coord_worker_open(struct coord_worker *w)
{
	int nrv;
	if ((nrv = nng_pair1_open(&w->sock)) != 0)
		return nrv;
	if ((nrv = nng_socket_set_size(w->sock, NNG_OPT_RECVMAXSZ,
	         SM_CONTROL_MAX_BYTES)) != 0 ||
	    (nrv = nng_socket_set_int(w->sock, NNG_OPT_RECVBUF, 1024)) != 0 ||
	    (nrv = nng_socket_set_int(w->sock, NNG_OPT_SENDBUF, 1024)) != 0 ||
	    (nrv = nng_pipe_notify(w->sock, NNG_PIPE_EV_REM_POST,
	         coord_pipe_event, w)) != 0 ||
	    (nrv = nng_socket_get_int(w->sock, NNG_OPT_RECVFD, &w->recv_fd)) !=
	        0) {
		nng_close(w->sock);
		return nrv;
	}
	w->listening = 0;
	return 0;
}

/* Take worker w's control address with its current socket. */
static int
coord_worker_listen(struct coord_worker *w)
{
	int nrv = sm_listen_private(w->sock, w->url, &w->listener);
	if (nrv == 0) {
		w->listening = 1;
		w->opened_us = sm_now_us();
	}
	return nrv;
}

static void *
coord_socket_closer(void *arg)
{
	nng_socket sock = { .id = (uint32_t) (uintptr_t) arg };
	nng_close(sock);
	return NULL;
}

/*
 * Replace worker w's listening socket by a fresh one. NNG 1.5.2 frees a
 * closed pipe on one process-wide reaper thread, and pair1 accepts a new
 * connection only once the old pipe is freed; a pipe closed while a
 * message was arriving on it stops that reaper for good (see the top of
 * this file), after which the old socket refuses every reconnection
 * while the worker is alive and dialing. A new socket does not depend on
 * the reaper. Its listener is closed here (that releases the address at
 * once: the ipc path is unlinked, the port shut down), the socket itself
 * on a detached thread since nng_close may never return.
 */
static void
coord_worker_reopen(struct coord *c, struct coord_worker *w)
{
	nng_socket old = w->sock;
	int old_fd = w->recv_fd;
	if (w->listening)
		nng_listener_close(w->listener);
	int nrv = coord_worker_open(w);
	if (nrv != 0) {
		sm_warn("cannot open a new control socket for worker %d: %s",
		    w->id, nng_strerror(nrv));
		w->sock = old;
		w->recv_fd = old_fd;
		w->listening = 0;
		return;
	}
	w->pipe = (nng_pipe) NNG_PIPE_INITIALIZER;
	if (coord_epoll_fd >= 0) {
		struct epoll_event e = { .events = EPOLLIN,
			.data.u32 = (uint32_t) (w->id + 1) };
		epoll_ctl(coord_epoll_fd, EPOLL_CTL_DEL, old_fd, NULL);
		epoll_ctl(coord_epoll_fd, EPOLL_CTL_ADD, w->recv_fd, &e);
	}
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, coord_socket_closer,
	        (void *) (uintptr_t) old.id) != 0)
		sm_warn("cannot close worker %d's old control socket", w->id);
	pthread_attr_destroy(&attr);
	if ((nrv = coord_worker_listen(w)) != 0)
		sm_warn("cannot listen for worker %d at %s yet: %s; retrying",
		    w->id, w->url, nng_strerror(nrv));
	else if (w->reopens++ == 0)
		sm_info("worker %d: listening on a fresh control socket at %s",
		    w->id, w->url);
	else
		sm_debug("worker %d: fresh control socket number %d", w->id,
		    w->reopens);
	(void) c;
}

/*
 * Connections that are gone or may be wedged get a fresh socket: a
 * worker that is not alive for a heartbeat timeout since it was lost or
 * its socket was opened (it neither spoke on its old connection nor
 * registered on a new one - also one that never registered with this
 * coordinator: workers dial all the time, so a silent slot is a dead
 * worker or a wedged listener); and an address that could not be taken
 * again is retried.
 */
static void
coord_reopen_tick(struct coord *c, uint64_t now)
{
	uint64_t limit = c->job.heartbeat_timeout_ms * 1000;
	for (int i = 0; i < c->n_workers; i++) {
		struct coord_worker *w = &c->workers[i];
		if (w->alive)
			continue;
		if (!w->listening) {
			if (coord_worker_listen(w) == 0)
				sm_info("worker %d: listening again at %s",
				    w->id, w->url);
			continue;
		}
		/* Backing off (up to 32 timeouts) for a worker that stays
		 * away: each old socket may keep a closing thread. */
		int shift = w->reopens < 5 ? w->reopens : 5;
		if (now - w->opened_us > limit << shift)
			coord_worker_reopen(c, w);
	}
}

static int
coord_setup(struct coord *c, const struct coord_args *a)
{
	char err[512];
	int rv;
	if (sm_job_load_in(a->job, a->job_dir[0] ? a->job_dir : NULL, &c->job,
	        &c->job_text, err, sizeof(err)) != SM_OK) {
		fprintf(stderr, "snapmark-coordinator: %s\n", err);
		return 2;
	}
	c->stay = a->stay;
	c->io.ctx = c;
	c->io.send = coord_io_send;
	c->io.now_us = coord_io_now_us;
	c->io.wall_us = coord_io_wall_us;
	if (coord_open(c, a->run_dir, a->workers) != SM_OK)
		return 1;
	uint64_t latest = 0;
	coord_catalog_latest(c->cat, &latest);
	if (a->restore_from != NULL &&
	    coord_savepoint_load(c, a->restore_from, err, sizeof(err)) !=
	        SM_OK) {
		fprintf(stderr, "snapmark-coordinator: cannot restore from %s: "
		                "%s\n",
		    a->restore_from, err);
		sm_error("cannot restore from %s: %s", a->restore_from, err);
		return 2;
	}
	coord_recovery_start(c);

	if ((pipe_ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return 1;
	int nrv = 0;
	for (int i = 0; i < c->n_workers; i++) {
		struct coord_worker *w = &c->workers[i];
		char url[700];
		if (sm_control_address(a->listen, w->id, url, sizeof(url)) !=
		    SM_OK) {
			sm_error("bad control address %s for worker %d",
			    a->listen, w->id);
			return 1;
		}
		if ((w->url = strdup(url)) == NULL)
			return 1;
		if ((nrv = coord_worker_open(w)) != 0 ||
		    (nrv = coord_worker_listen(w)) != 0) {
			sm_error("cannot listen for worker %d at %s: %s",
			    w->id, url, nng_strerror(nrv));
			return 1;
		}
	}
	if (strncmp(a->cli, "ipc://", 6) == 0) {
		if ((rv = cli_server_open(&coord_cli_server, a->cli + 6,
		         coord_cli_answer, c, err, sizeof(err))) != SM_OK) {
			sm_error("cannot listen for the CLI at %s: %s", a->cli,
			    err);
			return 1;
		}
	} else if ((nrv = nng_rep0_open_raw(&c->cli)) != 0 ||
	    (nrv = nng_socket_set_size(c->cli, NNG_OPT_RECVMAXSZ, 65536)) !=
	        0 ||
	    (nrv = nng_socket_set_int(c->cli, NNG_OPT_SENDBUF, 1024)) != 0 ||
	    (nrv = sm_listen_private(c->cli, a->cli, NULL)) != 0) {
		sm_error("cannot listen for the CLI at %s: %s", a->cli,
		    nng_strerror(nrv));
		return 1;
	}
	/* HTTP: --http, else [job] http_port on loopback, else none. */
	char http_addr[320] = "";
	if (a->http != NULL)
		snprintf(http_addr, sizeof(http_addr), "%s", a->http);
	else if (c->job.http_port >= 0)
		snprintf(http_addr, sizeof(http_addr), "127.0.0.1:%d",
		    c->job.http_port);
	if (http_addr[0] != '\0') {
		if (coord_http_start(http_addr, &c->http, c->http_url,
		        sizeof(c->http_url)) != SM_OK)
			return 1;
		sm_info("http: dashboard and metrics at %s", c->http_url);
	}
	sm_info("coordinator (pid %d) for job '%s': %d tasks over %d "
	        "workers; workers at %s, CLI at %s; latest completed "
	        "checkpoint: %" PRIu64,
	    (int) getpid(), c->job.name, c->job.n_tasks, c->n_workers,
	    a->listen, a->cli, latest);
	return 0;
}

/* Serve one worker socket that NNG says is readable: up to 256 messages,
 * so one busy worker cannot starve the others. */
static void
coord_serve_worker(struct coord *c, struct coord_worker *w)
{
	for (int k = 0; k < 256; k++) {
		Snapmark__Control *m;
		nng_pipe p;
		int rv = sm_control_recv(w->sock, NNG_FLAG_NONBLOCK, &m, &p);
		if (rv == SM_EAGAIN || rv == SM_ECLOSED)
			break;
		if (rv != SM_OK)
			continue;
		coord_on_control(c, w, p, m);
		snapmark__control__free_unpacked(m, NULL);
	}
}

/*
 * The event loop. epoll, not poll: with thousands of workers a poll() of
 * every socket's fd on each wake-up costs more than the messages it finds
 * (the 10,000-task benchmark), while epoll hands back only the ready ones.
 * Tags: 0 the CLI socket, 1 the pipe-event fd, 2 + i worker i.
 */
static int
coord_loop(struct coord *c)
{
	enum { MAX_EVENTS = 256 };
	int cli_fd, ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[MAX_EVENTS];
	if (coord_cli_server != NULL)
		cli_fd = cli_server_fd(coord_cli_server);
	else
		nng_socket_get_int(c->cli, NNG_OPT_RECVFD, &cli_fd);
	int ok = ep >= 0;
	for (int i = -2; ok && i < c->n_workers; i++) {
		struct epoll_event e = { .events = EPOLLIN,
			.data.u32 = (uint32_t) (i + 2) };
		int fd = i == -2 ? cli_fd
		    : i == -1    ? pipe_ev_fd
		                 : c->workers[i].recv_fd;
		ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == 0;
	}
	if (!ok) {
		sm_error("epoll: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		return 1;
	}
	if (ok && c->http != NULL) {
		struct epoll_event e = { .events = EPOLLIN,
			.data.u32 = UINT32_MAX };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, coord_http_wake_fd(c->http),
		        &e) != 0)
			sm_warn("http: epoll: %s", strerror(errno));
	}
	coord_epoll_fd = ep;
	uint64_t wait_us = 0, cli_next_us = 0;
	int ended = 0;
	while (!coord_terminate && !ended) {
		int timeout = (int) ((wait_us + 999) / 1000);
		if (timeout > 100)
			timeout = 100;
		int n = epoll_wait(ep, ev, MAX_EVENTS, timeout);

		coord_check_own_pause(c, sm_now_us(),
		    (uint64_t) timeout * 1000);
		coord_drain_pipe_events(c);
		int cli_ready = 0;
		for (int k = 0; k < n; k++) {
			uint32_t tag = ev[k].data.u32;
			if (tag >= 2 && tag != UINT32_MAX)
				coord_serve_worker(c, &c->workers[tag - 2]);
			else if (tag == 0)
				cli_ready = 1;
		}
		coord_http_serve(c->http, coord_cli_answer, c);
		uint64_t now = sm_now_us();
		/* The CLI when it has something, and every 100 ms for its
		 * connections' deadlines. */
		if (cli_ready || now >= cli_next_us) {
			coord_cli_serve(c, now);
			cli_next_us = now + 100000;
		}
		coord_heartbeat_tick(c, now);
		coord_reopen_tick(c, now);
		coord_recovery_tick(c, now);
		wait_us = coord_checkpoint_tick(c, now);
		ended = coord_end_tick(c, now);
	}
	coord_epoll_fd = -1;
	close(ep);
	if (coord_job_ended(c) && c->end_saved == 1)
		coord_save_end(c); /* the final counts, as the last heard */
	if (!ended)
		return 0;
	/* The job ended by itself: 0 FINISHED, 3 CANCELED, 1 FAILED. */
	return c->state == COORD_FINISHED ? 0
	    : c->state == COORD_CANCELED  ? 3
	                                  : 1;
}

static atomic_int coord_closed;

static void *
coord_closer(void *arg)
{
	struct coord *c = arg;
	coord_http_stop(c->http);
	c->http = NULL;
	for (int i = 0; c->workers != NULL && i < c->n_workers; i++)
		if (c->workers[i].id != 0)
			nng_close(c->workers[i].sock);
	if (coord_cli_server == NULL)
		nng_close(c->cli);
	atomic_store(&coord_closed, 1);
	return NULL;
}

/* Close every socket, waiting at most COORD_CLOSE_WAIT_US: NNG 1.5.2's
 * nng_close can wait forever (a wedged pipe), and termination must not.
 * Returns whether the closes finished. */
static int
coord_close_sockets(struct coord *c)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int started = pthread_create(&th, &attr, coord_closer, c) == 0;
	pthread_attr_destroy(&attr);
	if (!started)
		return 0;
	uint64_t deadline = sm_now_us() + COORD_CLOSE_WAIT_US;
	while (!atomic_load(&coord_closed) && sm_now_us() < deadline)
		sm_sleep_us(1000);
	return atomic_load(&coord_closed);
}

int
main(int argc, char **argv)
{
	struct coord_args args;
	/* The run dir, the catalog, the sockets and savepoints are the
	 * user's alone, whatever umask the coordinator was started with. */
	umask(077);
	int rv = coord_parse_args(&args, argc, argv);
	if (rv != 0)
		return rv;
	sm_log_init("coordinator", SM_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = coord_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/* static: it outlives main if the socket closes time out (their
	 * thread and NNG callbacks still point into it) */
	static struct coord c;
	memset(&c, 0, sizeof(c));
	rv = coord_setup(&c, &args);
	if (rv == 0) {
		rv = coord_loop(&c);
		if (rv == 0)
			sm_info("terminating");
		else
			sm_info("terminating (exit status %d)", rv);
	}
	cli_server_close(coord_cli_server); /* plain fds: never blocks */
	coord_catalog_close(c.cat);
	c.cat = NULL;
	if (!coord_close_sockets(&c)) {
		/* NNG still holds the sockets, and its callbacks the worker
		 * table: leave both to the end of the process. */
		sm_warn("exiting with control sockets still closing");
		return rv;
	}
	coord_close(&c);
	free(pipe_ev_removed);
	return rv;
}
