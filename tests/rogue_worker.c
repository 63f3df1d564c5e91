/*
 * rogue_worker.c - a forged peer for tests/integration/forged_acks.sh.
 *
 * Registers on a free worker slot of a running coordinator (a worker id
 * that hosts no task) and then speaks for tasks it does not host, in the
 * current epoch, learned from the coordinator's own messages:
 *
 *   every 20 ms   one AckBatch acknowledging the next two checkpoint ids for
 *                 every task (a handle naming a store that does not
 *                 exist), and TaskEvents RUNNING and DRAINED for every task
 *   every second  a Decline of the next checkpoint for every task, a
 *                 FAILED and a RESTORE_FAILED event for task 0, an ack for
 *                 a task the job does not have and one for the next epoch
 *   every 100 ms  a heartbeat, so it is not dropped as a silent worker
 *
 * A coordinator that trusts any registered worker completes checkpoints no
 * task made durable, finishes the job early and fails epochs for nothing.
 *
 * With --forge-channels F:T (tests/integration/forged_channel_metrics.sh)
 * it sends only heartbeats, carrying forged frame counts of channels
 * (ChannelMetrics), one kind for two seconds each, in turn: tasks the job
 * does not have, channel F -> T's sent count (F is another worker's), an
 * entry with no task and no count, T's processed count (another
 * worker's). A coordinator that believes them shows absurd frames
 * buffered.
 * Runs until SIGTERM or --seconds; prints what it sent.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "common/control.h"
#include "common/error.h"

static volatile sig_atomic_t rogue_stop;
static atomic_int rogue_need_register;

static void
rogue_on_signal(int sig)
{
	(void) sig;
	rogue_stop = 1;
}

static void
rogue_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	(void) pipe;
	(void) arg;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_store(&rogue_need_register, 1);
}

static uint64_t
rogue_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000;
}

struct rogue {
	nng_socket sock;
	int id;
	uint32_t n_tasks;
	uint64_t epoch;   /* the newest epoch the coordinator mentioned */
	uint64_t last_id; /* the newest checkpoint id it mentioned */
	uint64_t acks, declines, events, refused_sends;
	/* --forge-channels F:T: heartbeats with forged channel counts */
	int forge_channels;
	uint32_t forge_from, forge_to;
	uint64_t forged_entries;
};

static void
rogue_send(struct rogue *r, const Snapmark__Control *c)
{
	nng_pipe none = NNG_PIPE_INITIALIZER;
	if (sm_control_send(r->sock, none, c) != SM_OK)
		r->refused_sends++;
}

static void
rogue_learn(struct rogue *r, const Snapmark__Control *m)
{
	uint64_t epoch = 0, id = 0;
	switch (m->body_case) {
	case SNAPMARK__CONTROL__BODY_DEPLOY:
		epoch = m->deploy->epoch;
		break;
	case SNAPMARK__CONTROL__BODY_TRIGGER:
		epoch = m->trigger->epoch;
		id = m->trigger->checkpoint_id;
		break;
	case SNAPMARK__CONTROL__BODY_COMPLETE:
		epoch = m->complete->epoch;
		id = m->complete->checkpoint_id;
		break;
	case SNAPMARK__CONTROL__BODY_ABORT:
		epoch = m->abort->epoch;
		id = m->abort->checkpoint_id;
		break;
	case SNAPMARK__CONTROL__BODY_STOP:
		epoch = m->stop->epoch;
		break;
	default:
		break;
	}
	if (epoch > r->epoch)
		r->epoch = epoch;
	if (id > r->last_id)
		r->last_id = id;
}

static void
rogue_register(struct rogue *r)
{
	Snapmark__Register reg = SNAPMARK__REGISTER__INIT;
	reg.worker_id = (uint32_t) r->id;
	reg.pid = (uint32_t) getpid();
	reg.data_prefix = "ipc:///nonexistent/rogue/";
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_REGISTER;
	c.register_ = &reg;
	rogue_send(r, &c);
}

/* Forged frame counts for h (see the top of the file): kind 0..3. */
static void
rogue_forge_channel(struct rogue *r, Snapmark__ChannelMetrics *m, int kind)
{
	snapmark__channel_metrics__init(m);
	switch (kind) {
	case 0: /* tasks the job does not have */
		m->has_from_task = m->has_to_task = m->has_frames_sent = 1;
		m->from_task = r->n_tasks + 5;
		m->to_task = r->n_tasks + 6;
		m->frames_sent = 1000000000000000ull;
		break;
	case 1: /* a real channel's sent count, for another worker's task */
		m->has_from_task = m->has_to_task = m->has_frames_sent = 1;
		m->from_task = r->forge_from;
		m->to_task = r->forge_to;
		m->frames_sent = 1000000000000000ull;
		break;
	case 2: /* nothing in it */
		break;
	default: /* a real channel's processed count, another worker's */
		m->has_from_task = m->has_to_task = 1;
		m->has_frames_processed = 1;
		m->from_task = r->forge_from;
		m->to_task = r->forge_to;
		m->frames_processed = 0;
		break;
	}
	r->forged_entries++;
}

static void
rogue_heartbeat(struct rogue *r, int kind)
{
	Snapmark__Heartbeat h = SNAPMARK__HEARTBEAT__INIT;
	Snapmark__ChannelMetrics cm, *cmp = &cm;
	h.worker_id = (uint32_t) r->id;
	h.has_epoch = 1;
	h.epoch = r->epoch;
	if (r->forge_channels && r->epoch > 0) {
		rogue_forge_channel(r, &cm, kind);
		h.n_channels = 1;
		h.channels = &cmp;
	}
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_HEARTBEAT;
	c.heartbeat = &h;
	rogue_send(r, &c);
}

static void
rogue_event(struct rogue *r, uint32_t task, Snapmark__TaskEvent__Kind kind)
{
	Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
	ev.epoch = r->epoch;
	ev.task = task;
	ev.kind = kind;
	ev.reason = "forged by rogue_worker";
	if (kind == SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED) {
		ev.has_checkpoint_id = 1;
		ev.checkpoint_id = r->last_id;
	}
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_TASK_EVENT;
	c.task_event = &ev;
	rogue_send(r, &c);
	r->events++;
}

/* One AckBatch: for each task in [0, n) the checkpoints id .. id+k-1. */
static void
rogue_acks(struct rogue *r, uint64_t epoch, uint32_t first, uint32_t n,
    uint64_t id, int k)
{
	enum { MAX = 256 };
	Snapmark__Ack acks[MAX], *ap[MAX];
	Snapmark__SnapshotHandle hs[MAX];
	size_t na = 0;
	for (uint32_t t = first; t < first + n; t++)
		for (int j = 0; j < k && na < MAX; j++, na++) {
			snapmark__snapshot_handle__init(&hs[na]);
			hs[na].task = t;
			hs[na].checkpoint_id = id + (uint64_t) j;
			hs[na].location = "/nonexistent/forged-store";
			hs[na].bytes = 1;
			snapmark__ack__init(&acks[na]);
			acks[na].epoch = epoch;
			acks[na].checkpoint_id = id + (uint64_t) j;
			acks[na].task = t;
			acks[na].handle = &hs[na];
			ap[na] = &acks[na];
		}
	Snapmark__AckBatch b = SNAPMARK__ACK_BATCH__INIT;
	b.n_acks = na;
	b.acks = ap;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_ACK_BATCH;
	c.ack_batch = &b;
	rogue_send(r, &c);
	r->acks += na;
}

static void
rogue_decline(struct rogue *r, uint32_t task, uint64_t id)
{
	Snapmark__Decline d = SNAPMARK__DECLINE__INIT;
	d.epoch = r->epoch;
	d.checkpoint_id = id;
	d.task = task;
	d.reason = "forged by rogue_worker";
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_DECLINE;
	c.decline = &d;
	rogue_send(r, &c);
	r->declines++;
}

static void
rogue_usage(FILE *f)
{
	fprintf(f,
	    "usage: rogue_worker --url BASE --id K --tasks N "
	    "[--seconds S] [--forge-channels F:T]\n"
	    "  BASE: the coordinator's control base address "
	    "(ipc://RUN/coordinator)\n"
	    "  K: a worker id that hosts no task; N: the job's task "
	    "count\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "id", required_argument, NULL, 'i' },
		{ "tasks", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "forge-channels", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct rogue r;
	memset(&r, 0, sizeof(r));
	const char *url = NULL;
	double seconds = 300;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'i':
			r.id = atoi(optarg);
			break;
		case 't':
			r.n_tasks = (uint32_t) atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'c':
			if (sscanf(optarg, "%u:%u", &r.forge_from,
			        &r.forge_to) != 2) {
				rogue_usage(stderr);
				return 2;
			}
			r.forge_channels = 1;
			break;
		default:
			rogue_usage(stderr);
			return 2;
		}
	}
	if (url == NULL || r.id < 1 || r.n_tasks < 1 || r.n_tasks > 64) {
		rogue_usage(stderr);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rogue_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	char own[700];
	int rv;
	if (sm_control_address(url, r.id, own, sizeof(own)) != SM_OK ||
	    (rv = nng_pair1_open(&r.sock)) != 0 ||
	    (rv = nng_socket_set_size(r.sock, NNG_OPT_RECVMAXSZ,
	         SM_CONTROL_MAX_BYTES)) != 0 ||
	    (rv = nng_pipe_notify(r.sock, NNG_PIPE_EV_ADD_POST,
	         rogue_pipe_event, NULL)) != 0 ||
	    (rv = nng_dial(r.sock, own, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		fprintf(stderr, "rogue_worker: cannot dial %s\n", own);
		return 1;
	}
	uint64_t t0 = rogue_now_us(), next_hb = 0, next_second = 0;
	while (!rogue_stop && rogue_now_us() - t0 < seconds * 1e6) {
		if (atomic_exchange(&rogue_need_register, 0))
			rogue_register(&r);
		Snapmark__Control *m;
		nng_pipe p;
		while (sm_control_recv(r.sock, NNG_FLAG_NONBLOCK, &m, &p) ==
		    SM_OK) {
			rogue_learn(&r, m);
			snapmark__control__free_unpacked(m, NULL);
		}
		uint64_t now = rogue_now_us();
		if (now >= next_hb) {
			rogue_heartbeat(&r, (int) ((now - t0) / 2000000 % 4));
			next_hb = now + 100000;
		}
		if (r.forge_channels) {
			usleep(20000);
			continue;
		}
		if (r.epoch > 0) {
			rogue_acks(&r, r.epoch, 0, r.n_tasks, r.last_id + 1,
			    2);
			for (uint32_t t = 0; t < r.n_tasks; t++) {
				rogue_event(&r, t,
				    SNAPMARK__TASK_EVENT__KIND__RUNNING);
				rogue_event(&r, t,
				    SNAPMARK__TASK_EVENT__KIND__DRAINED);
			}
		}
		if (r.epoch > 0 && now >= next_second) {
			for (uint32_t t = 0; t < r.n_tasks; t++)
				rogue_decline(&r, t, r.last_id + 1);
			rogue_event(&r, 0, SNAPMARK__TASK_EVENT__KIND__FAILED);
			rogue_event(&r, 0,
			    SNAPMARK__TASK_EVENT__KIND__RESTORE_FAILED);
			rogue_acks(&r, r.epoch, r.n_tasks + 100, 1,
			    r.last_id + 1, 1);
			rogue_acks(&r, r.epoch + 1, 0, 1, r.last_id + 1, 1);
			next_second = now + 1000000;
		}
		usleep(20000);
	}
	printf("rogue_worker %d: sent %" PRIu64 " acks, %" PRIu64
	       " declines, %" PRIu64 " task events (last epoch %" PRIu64
	       ", last checkpoint seen %" PRIu64 ", %" PRIu64
	       " sends failed, %" PRIu64 " forged channel counts)\n",
	    r.id, r.acks, r.declines, r.events, r.epoch, r.last_id,
	    r.refused_sends, r.forged_entries);
	fflush(stdout);
	/* No nng_close: it can wait forever on a wedged pipe (NNG 1.5.2). */
	_exit(0);
}
