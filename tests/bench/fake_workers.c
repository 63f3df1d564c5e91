/*
 * fake_workers.c - load a real snapmark-coordinator with W simulated
 * workers, to measure how the coordinator copes with many tasks.
 *
 * Each fake worker has its own pair1 connection to the coordinator (a few
 * threads poll all of them) and speaks the control protocol of
 * proto/snapmark.proto through common/control.h, exactly as snapmark-worker
 * does, minus the tasks themselves:
 *
 *   connect   -> Register (worker id, pid, a data prefix nobody dials)
 *   Deploy    -> TaskEvent RUNNING for every task it lists
 *   Trigger   -> an Ack for each task it names, at once (a SnapshotHandle
 *                with the Deploy's epoch, zero durations): one message
 *                per task, or with --batch-acks one AckBatch for all of
 *                them, as a real worker's combining sender does when its
 *                tasks' acks are ready together (worker/acksender.h)
 *   Complete  -> noted; the first fake worker to receive it stamps the
 *                checkpoint's completion time
 *   every heartbeat_ms (from Deploy) -> Heartbeat
 *
 * A job whose stages are all `gen` sources gets a TriggerBarrier for every
 * task, so every task acknowledges every checkpoint. Per checkpoint the tool
 * records, on one monotonic clock:
 *
 *   first_trigger  when the first TriggerBarrier of it arrived
 *   last_trigger   when the last one arrived
 *   last_ack       when the last Ack was handed to NNG
 *   complete       when the first CheckpointComplete arrived
 *
 * and prints one CSV line per completed checkpoint (to --csv or stdout):
 *
 *   checkpoint,tasks,acks,trigger_spread_us,trigger_to_last_ack_us,
 *   last_ack_to_complete_us,first_trigger_to_complete_us,status
 *
 * (status completed, or aborted/pending with the triggers that arrived in
 * `acks` and zero times: a checkpoint some of whose triggers never came).
 *
 * last_ack_to_complete_us is the coordinator's own share: from the moment
 * the last acknowledgement left this process to the moment the commit's
 * CheckpointComplete came back. The tool stops after --checkpoints
 * completed checkpoints (exit 0) or after --timeout seconds (exit 1).
 */
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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

/* Threads that serve the fake workers (each polls a slice of them). */
#define FAKE_THREADS 8

/* Checkpoint ids tracked (ids start at 1 in a fresh run dir). */
#define FAKE_MAX_CHECKPOINTS 4096

struct fake_cp {
	uint64_t first_trigger, last_trigger, last_ack, complete;
	uint64_t triggers, acks;
	int completed, aborted;
};

struct fake_shared {
	pthread_mutex_t lock;
	struct fake_cp cp[FAKE_MAX_CHECKPOINTS];
	int n_completed;
	uint64_t tasks;            /* tasks of the job, from Deploys */
	int batch_acks;            /* --batch-acks */
	atomic_int stop;
};

struct fake_worker {
	int id;
	const char *url;
	struct fake_shared *sh;
	nng_socket sock;
	atomic_int need_register;
	uint64_t epoch;
	uint64_t heartbeat_us;
	uint64_t last_heartbeat;
	uint64_t sent_fail;
};

static uint64_t
fake_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void
fake_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct fake_worker *w = arg;
	(void) pipe;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_store(&w->need_register, 1);
}

static int
fake_send(struct fake_worker *w, const Snapmark__Control *c)
{
	nng_pipe none = NNG_PIPE_INITIALIZER;
	if (atomic_load(&w->sh->stop))
		return SM_ESTOPPED;
	int rv = sm_control_send(w->sock, none, c);
	if (rv != SM_OK)
		w->sent_fail++;
	return rv;
}

static void
fake_register(struct fake_worker *w)
{
	char prefix[64];
	/* Short: Deploy carries one prefix per task to every worker. */
	snprintf(prefix, sizeof(prefix), "ipc:///f%d/", w->id);
	Snapmark__Register r = SNAPMARK__REGISTER__INIT;
	r.worker_id = (uint32_t) w->id;
	r.pid = (uint32_t) getpid();
	r.data_prefix = prefix;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_REGISTER;
	c.register_ = &r;
	if (fake_send(w, &c) == SM_OK)
		atomic_store(&w->need_register, 0);
}

static void
fake_heartbeat(struct fake_worker *w, uint64_t now)
{
	if (now - w->last_heartbeat < w->heartbeat_us)
		return;
	w->last_heartbeat = now;
	Snapmark__Heartbeat h = SNAPMARK__HEARTBEAT__INIT;
	h.worker_id = (uint32_t) w->id;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_HEARTBEAT;
	c.heartbeat = &h;
	fake_send(w, &c);
}

static void
fake_deploy(struct fake_worker *w, const Snapmark__Deploy *d)
{
	w->epoch = d->epoch;
	if (d->has_heartbeat_ms && d->heartbeat_ms > 0)
		w->heartbeat_us = (uint64_t) d->heartbeat_ms * 1000u;
	pthread_mutex_lock(&w->sh->lock);
	w->sh->tasks = d->n_task_worker_prefix;
	pthread_mutex_unlock(&w->sh->lock);
	for (size_t i = 0; i < d->n_tasks; i++) {
		Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
		ev.epoch = d->epoch;
		ev.task = d->tasks[i];
		ev.kind = SNAPMARK__TASK_EVENT__KIND__RUNNING;
		Snapmark__Control c = SNAPMARK__CONTROL__INIT;
		c.body_case = SNAPMARK__CONTROL__BODY_TASK_EVENT;
		c.task_event = &ev;
		fake_send(w, &c);
	}
}

/* Fill ack/h for task's snapshot of the trigger's checkpoint. */
static void
fake_ack_of(const Snapmark__TriggerBarrier *t, uint32_t task,
    Snapmark__Ack *ack, Snapmark__SnapshotHandle *h)
{
	snapmark__snapshot_handle__init(h);
	h->task = task;
	h->checkpoint_id = t->checkpoint_id;
	h->location = "fake";
	h->has_entries = 1;
	snapmark__ack__init(ack);
	ack->epoch = t->epoch;
	ack->checkpoint_id = t->checkpoint_id;
	ack->task = task;
	ack->handle = h;
}

/* A trigger names all the sources of this worker: ack each of them, one
 * message per task, or (--batch-acks) all in one AckBatch, as a worker's
 * combining ack sender does with acks that are ready together. */
static void
fake_trigger(struct fake_worker *w, const Snapmark__TriggerBarrier *t)
{
	if (t->epoch != w->epoch || t->checkpoint_id == 0 ||
	    t->checkpoint_id >= FAKE_MAX_CHECKPOINTS)
		return;
	size_t n = 1 + t->n_more_tasks;
	struct fake_cp *cp = &w->sh->cp[t->checkpoint_id];
	uint64_t now = fake_now_us();
	pthread_mutex_lock(&w->sh->lock);
	if (cp->triggers == 0)
		cp->first_trigger = now;
	cp->triggers += (int) n;
	cp->last_trigger = now;
	pthread_mutex_unlock(&w->sh->lock);

	Snapmark__Ack *acks = calloc(n, sizeof(*acks));
	Snapmark__Ack **ackp = calloc(n, sizeof(*ackp));
	Snapmark__SnapshotHandle *hs = calloc(n, sizeof(*hs));
	if (acks == NULL || ackp == NULL || hs == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		fake_ack_of(t, i == 0 ? t->task : t->more_tasks[i - 1],
		    &acks[i], &hs[i]);
		ackp[i] = &acks[i];
	}
	size_t sent = 0;
	if (w->sh->batch_acks && n > 1) {
		Snapmark__AckBatch b = SNAPMARK__ACK_BATCH__INIT;
		b.n_acks = n;
		b.acks = ackp;
		Snapmark__Control c = SNAPMARK__CONTROL__INIT;
		c.body_case = SNAPMARK__CONTROL__BODY_ACK_BATCH;
		c.ack_batch = &b;
		if (fake_send(w, &c) == SM_OK)
			sent = n;
	} else {
		for (size_t i = 0; i < n; i++) {
			Snapmark__Control c = SNAPMARK__CONTROL__INIT;
			c.body_case = SNAPMARK__CONTROL__BODY_ACK;
			c.ack = &acks[i];
			if (fake_send(w, &c) == SM_OK)
				sent++;
		}
	}
	now = fake_now_us();
	pthread_mutex_lock(&w->sh->lock);
	cp->acks += (int) sent;
	if (sent > 0 && now > cp->last_ack)
		cp->last_ack = now;
	pthread_mutex_unlock(&w->sh->lock);
done:
	free(acks);
	free(ackp);
	free(hs);
}

static void
fake_complete(struct fake_worker *w, uint64_t id, int aborted)
{
	if (id == 0 || id >= FAKE_MAX_CHECKPOINTS)
		return;
	uint64_t now = fake_now_us();
	struct fake_cp *cp = &w->sh->cp[id];
	pthread_mutex_lock(&w->sh->lock);
	if (!cp->completed && !cp->aborted) {
		if (aborted) {
			cp->aborted = 1;
		} else {
			cp->completed = 1;
			cp->complete = now;
			w->sh->n_completed++;
		}
	}
	pthread_mutex_unlock(&w->sh->lock);
}

/* One thread serves a slice of the fake workers: it polls their receive
 * descriptors and handles whatever arrived, so thousands of workers need
 * only a few threads. */
struct fake_slice {
	struct fake_worker *ws;
	int n;
	struct fake_shared *sh;
};

static void
fake_handle(struct fake_worker *w, const Snapmark__Control *c)
{
	switch (c->body_case) {
	case SNAPMARK__CONTROL__BODY_DEPLOY:
		fake_deploy(w, c->deploy);
		break;
	case SNAPMARK__CONTROL__BODY_TRIGGER:
		fake_trigger(w, c->trigger);
		break;
	case SNAPMARK__CONTROL__BODY_COMPLETE:
		if (c->complete->epoch == w->epoch)
			fake_complete(w, c->complete->checkpoint_id, 0);
		break;
	case SNAPMARK__CONTROL__BODY_ABORT:
		if (c->abort->epoch == w->epoch)
			fake_complete(w, c->abort->checkpoint_id, 1);
		break;
	default:
		break;
	}
}

static void *
fake_main(void *arg)
{
	struct fake_slice *sl = arg;
	struct pollfd *fds = calloc((size_t) sl->n, sizeof(*fds));
	if (fds == NULL)
		return NULL;
	for (int i = 0; i < sl->n; i++) {
		int fd = -1;
		nng_socket_get_int(sl->ws[i].sock, NNG_OPT_RECVFD, &fd);
		fds[i].fd = fd;
		fds[i].events = POLLIN;
	}
	while (!atomic_load(&sl->sh->stop)) {
		uint64_t now = fake_now_us();
		for (int i = 0; i < sl->n; i++) {
			struct fake_worker *w = &sl->ws[i];
			if (atomic_load(&w->need_register))
				fake_register(w);
			fake_heartbeat(w, now);
		}
		if (poll(fds, (nfds_t) sl->n, 10) <= 0)
			continue;
		for (int i = 0; i < sl->n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			struct fake_worker *w = &sl->ws[i];
			Snapmark__Control *c;
			nng_pipe pipe;
			while (sm_control_recv(w->sock, NNG_FLAG_NONBLOCK, &c,
			           &pipe) == SM_OK) {
				fake_handle(w, c);
				snapmark__control__free_unpacked(c, NULL);
			}
		}
	}
	free(fds);
	return NULL;
}

static int
fake_open(struct fake_worker *w)
{
	int rv;
	if ((rv = nng_pair1_open(&w->sock)) != 0 ||
	    (rv = nng_socket_set_size(w->sock, NNG_OPT_RECVMAXSZ,
	         SM_CONTROL_MAX_BYTES)) != 0 ||
	    /* Room for every trigger of a checkpoint on our side. */
	    (rv = nng_socket_set_int(w->sock, NNG_OPT_RECVBUF, 8192)) != 0 ||
	    (rv = nng_socket_set_int(w->sock, NNG_OPT_SENDBUF, 8192)) != 0 ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_SENDTIMEO, 1000)) != 0 ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMINT, 10)) != 0 ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMAXT, 100)) != 0 ||
	    (rv = nng_pipe_notify(w->sock, NNG_PIPE_EV_ADD_POST,
	         fake_pipe_event, w)) != 0 ||
	    (rv = nng_dial(w->sock, w->url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		fprintf(stderr, "fake_workers: worker %d: %s\n", w->id,
		    nng_strerror(rv));
		return 1;
	}
	return 0;
}

static void
fake_usage(FILE *f)
{
	fprintf(f,
	    "usage: fake_workers --coordinator URL --workers W "
	    "[--checkpoints K]\n"
	    "                    [--timeout S] [--csv FILE] [--batch-acks]\n"
	    "  --coordinator URL  the coordinator's control address "
	    "base (ipc://RUN/coordinator)\n"
	    "  --workers W        fake workers 1..W (the coordinator's "
	    "--workers)\n"
	    "  --checkpoints K    stop after K completed checkpoints "
	    "(default 10)\n"
	    "  --timeout S        give up after S seconds (default 120)\n"
	    "  --csv FILE         per-checkpoint lines go here (default "
	    "stdout)\n"
	    "  --batch-acks       ack a trigger's tasks in one AckBatch "
	    "(default: one Ack each)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "coordinator", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "checkpoints", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "csv", required_argument, NULL, 'o' },
		{ "batch-acks", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *csv = NULL;
	int n_workers = 0, want = 10, ch, batch_acks = 0;
	double timeout_s = 120;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			url = optarg;
			break;
		case 'w':
			n_workers = atoi(optarg);
			break;
		case 'k':
			want = atoi(optarg);
			break;
		case 't':
			timeout_s = atof(optarg);
			break;
		case 'o':
			csv = optarg;
			break;
		case 'b':
			batch_acks = 1;
			break;
		case 'h':
			fake_usage(stdout);
			return 0;
		default:
			fake_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || url == NULL || n_workers < 1 ||
	    n_workers > 4096 || want < 1 || want >= FAKE_MAX_CHECKPOINTS - 1) {
		fake_usage(stderr);
		return 2;
	}

	static struct fake_shared sh;
	pthread_mutex_init(&sh.lock, NULL);
	sh.batch_acks = batch_acks;
	int n_threads = n_workers < FAKE_THREADS ? n_workers : FAKE_THREADS;
	struct fake_worker *ws = calloc((size_t) n_workers, sizeof(*ws));
	struct fake_slice *sl = calloc((size_t) n_threads, sizeof(*sl));
	pthread_t *th = calloc((size_t) n_threads, sizeof(*th));
	if (ws == NULL || sl == NULL || th == NULL)
		return 1;
	int rc = 0, started = 0;
	for (int i = 0; i < n_workers; i++) {
		ws[i].id = i + 1;
		/* Every worker has its own control address (control.h). */
		char *own = malloc(strlen(url) + 32);
		if (own == NULL ||
		    sm_control_address(url, i + 1, own, strlen(url) + 32) !=
		        SM_OK) {
			free(own);
			rc = 1;
			goto done;
		}
		ws[i].url = own;
		ws[i].sh = &sh;
		ws[i].heartbeat_us = 500000;
		if (fake_open(&ws[i]) != 0) {
			rc = 1;
			goto done;
		}
	}
	for (; started < n_threads; started++) {
		int lo = started * n_workers / n_threads;
		int hi = (started + 1) * n_workers / n_threads;
		sl[started].ws = &ws[lo];
		sl[started].n = hi - lo;
		sl[started].sh = &sh;
		pthread_create(&th[started], NULL, fake_main, &sl[started]);
	}

	uint64_t deadline = fake_now_us() + (uint64_t) (timeout_s * 1e6);
	for (;;) {
		pthread_mutex_lock(&sh.lock);
		int done = sh.n_completed;
		pthread_mutex_unlock(&sh.lock);
		if (done >= want)
			break;
		if (fake_now_us() >= deadline) {
			fprintf(stderr, "fake_workers: %d of %d checkpoints "
			                "completed before the timeout\n",
			    done, want);
			rc = 1;
			break;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}

done:
	atomic_store(&sh.stop, 1);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	FILE *out = stdout;
	if (csv != NULL && (out = fopen(csv, "w")) == NULL) {
		perror(csv);
		out = stdout;
	}
	fprintf(out, "checkpoint,tasks,acks,trigger_spread_us,"
	             "trigger_to_last_ack_us,last_ack_to_complete_us,"
	             "first_trigger_to_complete_us,status\n");
	uint64_t fails = 0;
	for (int i = 0; i < n_workers; i++)
		fails += ws[i].sent_fail;
	for (uint64_t id = 1; id < FAKE_MAX_CHECKPOINTS; id++) {
		struct fake_cp *cp = &sh.cp[id];
		if (cp->triggers == 0)
			continue;
		if (!cp->completed) {
			const char *what = cp->aborted ? "aborted" : "pending";
			fprintf(stderr, "fake_workers: checkpoint %" PRIu64
			                " %s: %" PRIu64 " of %" PRIu64
			                " triggers received\n",
			    id, what, cp->triggers, sh.tasks);
			fprintf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64
			             ",0,0,0,0,%s\n",
			    id, sh.tasks, cp->acks, what);
			continue;
		}
		fprintf(out,
		    "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		    ",%" PRId64 ",%" PRIu64 ",completed\n",
		    id, sh.tasks, cp->acks, cp->last_trigger - cp->first_trigger,
		    cp->last_ack - cp->first_trigger,
		    (int64_t) cp->complete - (int64_t) cp->last_ack,
		    cp->complete - cp->first_trigger);
	}
	if (out != stdout)
		fclose(out);
	if (fails > 0)
		fprintf(stderr, "fake_workers: %" PRIu64 " control sends "
		                "failed\n",
		    fails);
	fflush(stdout);
	fflush(stderr);
	/* The sockets are not closed: with thousands of dialers, NNG 1.5.2's
	 * nng_close() can block for good once the coordinator has gone, and
	 * the process ends here anyway. */
	_exit(rc);
}
