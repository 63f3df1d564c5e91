/*
 * worker.c - the snapmark-worker process: registers with the coordinator,
 * runs the tasks it is given, relays checkpoint commands to them.
 *
 * The worker dials the coordinator with a pair1 socket that reconnects by
 * itself, and registers again on every new connection, so a restarted
 * coordinator finds its workers without help. A Deploy always replaces
 * whatever ran before: the old epoch's tasks are stopped first, so no
 * task of an older epoch ever overlaps one of a newer epoch in a process.
 * A Deploy the worker cannot carry out (a bad job, no memory) is reported
 * back as failed tasks, never left for the coordinator to wait on.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "worker/acksender.h"
#include "common/channel.h"
#include "common/clock.h"
#include "common/control.h"
#include "common/error.h"
#include "common/jobfile.h"
#include "common/log.h"
#include "worker/task.h"
#include "common/version.h"

struct worker {
	int id;
	char run_dir[512];
	char coordinator[640];
	char data_prefix[640];
	/* The control socket's id: task threads send on it while the main
	 * thread may replace the socket (see worker_reconnect). */
	atomic_uint sock_id;
	atomic_int need_register;
	nng_dialer dialer; /* the control socket's */
	uint64_t heartbeat_ms;
	uint64_t heartbeat_timeout_ms;
	uint64_t last_heartbeat_us;
	uint64_t last_heard_us;     /* anything from the coordinator */
	/* The coordinator's latest heartbeat stamp and when (monotonic) it
	 * arrived: echoed for its clock offset estimate. */
	uint64_t echo_us, echo_at_us;

	struct sm_job job;
	uint64_t epoch;
	char **task_prefix;   /* per task index */
	int n_prefix;
	struct worker_task **tasks;
	int n_tasks;
	struct sm_acksender *acks; /* every task's acks go through it */
};

static volatile sig_atomic_t worker_terminate;

static void
worker_on_signal(int sig)
{
	(void) sig;
	worker_terminate = 1;
}

static void
worker_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct worker *w = arg;
	(void) pipe;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_store(&w->need_register, 1);
}

static int
worker_send_now(void *ctx, const Snapmark__Control *c)
{
	struct worker *w = ctx;
	nng_pipe none = NNG_PIPE_INITIALIZER;
	nng_socket sock = { .id = atomic_load(&w->sock_id) };
	return sm_control_send(sock, none, c);
}

/* What tasks send with: acks are combined (acksender.h). */
static int
worker_send(void *ctx, const Snapmark__Control *c)
{
	struct worker *w = ctx;
	if (c->body_case == SNAPMARK__CONTROL__BODY_ACK)
		return sm_acksender_send(w->acks, c->ack);
	return worker_send_now(w, c);
}

static void
worker_stop_tasks(struct worker *w)
{
	for (int i = 0; i < w->n_tasks; i++)
		worker_task_stop(w->tasks[i]);
	free(w->tasks);
	w->tasks = NULL;
	if (w->n_tasks > 0)
		sm_info("stopped %d task(s) of epoch %" PRIu64, w->n_tasks,
		    w->epoch);
	w->n_tasks = 0;
	for (int i = 0; i < w->n_prefix; i++)
		free(w->task_prefix[i]);
	free(w->task_prefix);
	w->task_prefix = NULL;
	w->n_prefix = 0;
}

static void
worker_task_failed(struct worker *w, uint64_t epoch, uint32_t task,
    const char *why)
{
	Snapmark__TaskEvent ev = SNAPMARK__TASK_EVENT__INIT;
	ev.epoch = epoch;
	ev.task = task;
	ev.kind = SNAPMARK__TASK_EVENT__KIND__FAILED;
	ev.reason = (char *) why;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_TASK_EVENT;
	c.task_event = &ev;
	int rv = worker_send(w, &c);
	if (rv != SM_OK)
		sm_error("cannot report task %" PRIu32 " of epoch %" PRIu64
		         " failed to the coordinator: %s",
		    task, epoch, sm_strerror(rv));
}

/* A deploy this worker cannot carry out: log why and report every task
 * it names as failed, so the coordinator recovers at once instead of
 * waiting for tasks that never start. */
static void
worker_deploy_failed(struct worker *w, const Snapmark__Deploy *d,
    const char *why)
{
	sm_error("cannot deploy epoch %" PRIu64 ": %s", d->epoch, why);
	for (size_t i = 0; i < d->n_tasks; i++)
		worker_task_failed(w, d->epoch, d->tasks[i], why);
}

static void
worker_deploy(struct worker *w, const Snapmark__Deploy *d)
{
	worker_stop_tasks(w);
	char err[256];
	/* Relative library paths resolve against the coordinator's job
	 * directory, not this worker's. */
	if (sm_job_parse_in(d->job_text, "deployed job", d->job_dir, &w->job,
	        err, sizeof(err)) != SM_OK) {
		sm_error("cannot parse the job the coordinator sent: %s", err);
		for (size_t i = 0; i < d->n_tasks; i++)
			worker_task_failed(w, d->epoch, d->tasks[i], err);
		return;
	}
	if ((int) d->n_task_worker_prefix != w->job.n_tasks) {
		snprintf(err, sizeof(err),
		    "deploy lists %zu task addresses for %d tasks",
		    d->n_task_worker_prefix, w->job.n_tasks);
		worker_deploy_failed(w, d, err);
		return;
	}
	/* Allocate everything first: the worker takes the epoch on only
	 * once it can run its tasks. */
	char **prefix = calloc(d->n_task_worker_prefix + 1, sizeof(char *));
	struct worker_task **tasks = calloc(d->n_tasks + 1, sizeof(*tasks));
	int n_prefix = 0;
	for (; prefix != NULL && tasks != NULL &&
	     n_prefix < (int) d->n_task_worker_prefix;
	     n_prefix++)
		if ((prefix[n_prefix] = strdup(
		         d->task_worker_prefix[n_prefix])) == NULL)
			break;
	if (prefix == NULL || tasks == NULL ||
	    n_prefix < (int) d->n_task_worker_prefix) {
		for (int i = 0; prefix != NULL && i < n_prefix; i++)
			free(prefix[i]);
		free(prefix);
		free(tasks);
		worker_deploy_failed(w, d, "out of memory");
		return;
	}
	w->task_prefix = prefix;
	w->n_prefix = n_prefix;
	w->tasks = tasks;
	w->epoch = d->epoch;
	if (d->has_heartbeat_ms && d->heartbeat_ms > 0)
		w->heartbeat_ms = d->heartbeat_ms;
	w->heartbeat_timeout_ms = w->job.heartbeat_timeout_ms;
	for (size_t i = 0; i < d->n_tasks; i++) {
		int task = (int) d->tasks[i];
		if (task < 0 || task >= w->job.n_tasks) {
			snprintf(err, sizeof(err),
			    "deploy names unknown task %d", task);
			sm_error("%s", err);
			worker_task_failed(w, d->epoch, d->tasks[i], err);
			continue;
		}
		const Snapmark__TaskRestore *restore = NULL;
		for (size_t k = 0; k < d->n_restores; k++)
			if ((int) d->restores[k]->task == task)
				restore = d->restores[k];
		struct worker_task_config cfg = { .job = &w->job, .task = task,
			.epoch = d->epoch, .run_dir = w->run_dir,
			.task_prefix = w->task_prefix, .restore = restore,
			.send = worker_send, .send_ctx = w,
			.publish_only_id = d->has_publish_only &&
			        d->publish_only && d->has_restore_checkpoint_id
			    ? d->restore_checkpoint_id
			    : 0,
			.why = err, .whylen = sizeof(err) };
		err[0] = '\0';
		int rv = worker_task_start(&cfg, &w->tasks[w->n_tasks]);
		if (rv != SM_OK) {
			/* The operator's own reason when it gave one (a user
			 * operator's open), else the error's text. */
			worker_task_failed(w, d->epoch, (uint32_t) task,
			    err[0] != '\0' ? err : sm_strerror(rv));
			continue;
		}
		w->n_tasks++;
	}
	sm_info("epoch %" PRIu64 ": deployed %d task(s)%s%s", d->epoch,
	    w->n_tasks,
	    d->has_restore_checkpoint_id
	        ? ", restoring from a checkpoint"
	        : "",
	    d->has_publish_only && d->publish_only
	        ? " to publish its output (the job is finishing)"
	        : "");
}

static void worker_heartbeat(struct worker *w);

static void
worker_handle(struct worker *w, const Snapmark__Control *c)
{
	switch (c->body_case) {
	case SNAPMARK__CONTROL__BODY_DEPLOY:
		worker_deploy(w, c->deploy);
		break;
	case SNAPMARK__CONTROL__BODY_TRIGGER:
		if (c->trigger->epoch != w->epoch)
			break;
		for (int i = 0; i < w->n_tasks; i++) {
			uint32_t task = (uint32_t) worker_task_index(w->tasks[i]);
			int mine = task == c->trigger->task;
			for (size_t k = 0; !mine && k < c->trigger->n_more_tasks;
			     k++)
				mine = task == c->trigger->more_tasks[k];
			if (mine)
				worker_task_trigger(w->tasks[i],
				    c->trigger->checkpoint_id,
				    c->trigger->savepoint_dir);
		}
		break;
	case SNAPMARK__CONTROL__BODY_COMPLETE:
		if (c->complete->epoch != w->epoch)
			break;
		/* The job's last checkpoint: the counts are final now, and
		 * they reach the coordinator before any PUBLISHED does. */
		if (c->complete->has_confirm && c->complete->confirm) {
			w->last_heartbeat_us = 0;
			worker_heartbeat(w);
		}
		for (int i = 0; i < w->n_tasks; i++)
			worker_task_complete(w->tasks[i],
			    c->complete->checkpoint_id, c->complete->retained,
			    c->complete->n_retained,
			    c->complete->has_confirm && c->complete->confirm);
		break;
	case SNAPMARK__CONTROL__BODY_ABORT:
		if (c->abort->epoch != w->epoch)
			break;
		for (int i = 0; i < w->n_tasks; i++)
			worker_task_abort(w->tasks[i],
			    c->abort->checkpoint_id);
		break;
	case SNAPMARK__CONTROL__BODY_STOP:
		if (c->stop->epoch >= w->epoch)
			worker_stop_tasks(w);
		break;
	case SNAPMARK__CONTROL__BODY_FINISH:
		worker_stop_tasks(w);
		if (c->finish->has_exit && c->finish->exit) {
			sm_info("job ended: exiting");
			worker_terminate = 1;
		} else {
			sm_info("job ended");
		}
		break;
	case SNAPMARK__CONTROL__BODY_HEARTBEAT:
		if (c->heartbeat->has_sent_us) {
			w->echo_us = c->heartbeat->sent_us;
			w->echo_at_us = sm_now_us();
		}
		break;
	default:
		sm_warn("ignoring unexpected control message %d",
		    (int) c->body_case);
	}
}

static void
worker_register(struct worker *w)
{
	Snapmark__Register r = SNAPMARK__REGISTER__INIT;
	r.worker_id = (uint32_t) w->id;
	r.pid = (uint32_t) getpid();
	r.data_prefix = w->data_prefix;
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_REGISTER;
	c.register_ = &r;
	if (worker_send(w, &c) == SM_OK) {
		atomic_store(&w->need_register, 0);
		sm_info("registered with the coordinator at %s",
		    w->coordinator);
	}
}

static void
worker_heartbeat(struct worker *w)
{
	uint64_t now = sm_now_us();
	if (now - w->last_heartbeat_us < w->heartbeat_ms * 1000)
		return;
	w->last_heartbeat_us = now;
	Snapmark__Heartbeat h = SNAPMARK__HEARTBEAT__INIT;
	h.worker_id = (uint32_t) w->id;
	/* Each task's record counts ride along. */
	Snapmark__TaskMetrics *m = calloc((size_t) w->n_tasks + 1, sizeof(*m));
	Snapmark__TaskMetrics **mp =
	    calloc((size_t) w->n_tasks + 1, sizeof(*mp));
	if (m != NULL && mp != NULL && w->n_tasks > 0) {
		uint64_t wall = sm_wall_us();
		for (int i = 0; i < w->n_tasks; i++) {
			snapmark__task_metrics__init(&m[i]);
			m[i].task = (uint32_t) worker_task_index(w->tasks[i]);
			worker_task_records(w->tasks[i], &m[i].records_in,
			    &m[i].records_out);
			worker_task_times(w->tasks[i], &m[i].busy_us,
			    &m[i].idle_us, &m[i].backpressured_us);
			m[i].has_busy_us = m[i].has_idle_us =
			    m[i].has_backpressured_us = 1;
			m[i].sampled_us = wall;
			mp[i] = &m[i];
		}
		h.has_epoch = 1;
		h.epoch = w->epoch;
		h.n_tasks = (size_t) w->n_tasks;
		h.tasks = mp;
	}
	/* And each channel side's frame count: every task's processed
	 * counts first, then the sent ones, so that the sender's count of a
	 * channel inside this worker is the newer of the two (frames
	 * buffered is then not underestimated). */
	size_t n_ch = 0, k = 0;
	for (int i = 0; i < w->n_tasks; i++)
		n_ch += worker_task_n_channels(w->tasks[i]);
	Snapmark__ChannelMetrics *cm = calloc(n_ch + 1, sizeof(*cm));
	Snapmark__ChannelMetrics **cmp = calloc(n_ch + 1, sizeof(*cmp));
	if (h.has_epoch && cm != NULL && cmp != NULL && n_ch > 0) {
		for (int i = 0; i < w->n_tasks; i++)
			k += worker_task_frames_processed(w->tasks[i], cm + k,
			    n_ch - k);
		for (int i = 0; i < w->n_tasks; i++)
			k += worker_task_frames_sent(w->tasks[i], cm + k,
			    n_ch - k);
		for (size_t i = 0; i < k; i++)
			cmp[i] = &cm[i];
		h.n_channels = k;
		h.channels = cmp;
	}
	/* Clock offset estimate (coordinator.c coord_on_heartbeat). */
	h.has_sent_us = 1;
	h.sent_us = sm_wall_us();
	if (w->echo_us != 0) {
		h.has_echo_us = h.has_echo_held_us = 1;
		h.echo_us = w->echo_us;
		h.echo_held_us = sm_now_us() - w->echo_at_us;
	}
	Snapmark__Control c = SNAPMARK__CONTROL__INIT;
	c.body_case = SNAPMARK__CONTROL__BODY_HEARTBEAT;
	c.heartbeat = &h;
	/* Never block on a heartbeat. */
	nng_socket sock = { .id = atomic_load(&w->sock_id) };
	sm_control_offer(sock, &c);
	free(m);
	free(mp);
	free(cm);
	free(cmp);
}

static int
worker_open_socket(struct worker *w)
{
	nng_socket sock;
	int nrv;
	if ((nrv = nng_pair1_open(&sock)) != 0)
		goto fail;
	if ((nrv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
	         SM_CONTROL_MAX_BYTES)) != 0 ||
	    (nrv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 50)) != 0 ||
	    (nrv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, 1000)) != 0 ||
	    (nrv = nng_socket_set_int(sock, NNG_OPT_SENDBUF, 1024)) != 0 ||
	    (nrv = nng_socket_set_ms(sock, NNG_OPT_RECONNMINT, 10)) != 0 ||
	    (nrv = nng_socket_set_ms(sock, NNG_OPT_RECONNMAXT, 200)) != 0 ||
	    (nrv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST,
	         worker_pipe_event, w)) != 0 ||
	    (nrv = nng_dial(sock, w->coordinator, &w->dialer,
	         NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(sock);
		goto fail;
	}
	atomic_store(&w->sock_id, sock.id);
	w->last_heard_us = sm_now_us();
	return SM_OK;
fail:
	sm_error("cannot connect to the coordinator at %s: %s",
	    w->coordinator, nng_strerror(nrv));
	return SM_ENET;
}

static void *
worker_closer(void *arg)
{
	nng_socket sock = { .id = (uint32_t) (uintptr_t) arg };
	nng_close(sock);
	return NULL;
}

/* Close a socket off the main thread: NNG 1.5.2's nng_close can wait
 * forever on a wedged ipc pipe (seen after SIGSTOP), and the main thread
 * must go on to register over the new connection. */
static void
worker_close_later(nng_socket sock)
{
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, worker_closer,
	        (void *) (uintptr_t) sock.id) != 0)
		sm_warn("cannot close the old control socket; leaving it open");
	pthread_attr_destroy(&attr);
}

/*
 * The coordinator sends something at least every heartbeat period. If it
 * has been silent for the heartbeat timeout, the connection is presumed
 * dead even if the kernel still shows it open (seen after this process was
 * SIGSTOPped while the coordinator dropped it): replace the socket, which
 * dials again and registers on connect.
 */
static void
worker_check_coordinator(struct worker *w)
{
	uint64_t silent = sm_now_us() - w->last_heard_us;
	if (silent < w->heartbeat_timeout_ms * 1000)
		return;
	sm_warn("no word from the coordinator for %.0f ms; reconnecting",
	    (double) silent / 1000.0);
	nng_socket old = { .id = atomic_load(&w->sock_id) };
	nng_dialer old_dialer = w->dialer;
	if (worker_open_socket(w) == SM_OK) {
		/* The old socket must not dial again while its close may
		 * hang: its connection would compete with the new one. */
		nng_dialer_close(old_dialer);
		worker_close_later(old);
	}
	w->last_heard_us = sm_now_us();
}

/*
 * The coordinator is judged on time this process was running: a gap in
 * the main loop of more than a heartbeat period beyond its 50 ms receive
 * wait (this process was stopped, or a Deploy took long to restore) gives
 * the coordinator a fresh period, as the coordinator does for workers.
 */
static void
worker_check_own_pause(struct worker *w, uint64_t *mark)
{
	uint64_t now = sm_now_us();
	uint64_t gap = now - *mark;
	*mark = now;
	if (gap <= w->heartbeat_ms * 1000 + 50000)
		return;
	sm_info("this worker did not run for %.0f ms; the coordinator gets a "
	        "fresh heartbeat period",
	    (double) gap / 1000.0);
	if (w->last_heard_us < now)
		w->last_heard_us = now;
}

static void
worker_usage(FILE *f)
{
	fprintf(f,
	    "usage: snapmark-worker --id K [--run-dir DIR] "
	    "[--coordinator URL] [--data-prefix PREFIX]\n"
	    "  --id K             worker identity (1..65535), stable across "
	    "restarts\n"
	    "  --run-dir DIR      run directory (default ./run): state/, "
	    "output/, sock/\n"
	    "  --coordinator URL  the coordinator's control base address "
	    "(default\n"
	    "                     ipc://DIR/coordinator); worker K dials "
	    "URL-K.ipc, or PORT+K\n"
	    "                     for tcp://HOST:PORT\n"
	    "  --data-prefix P    where this worker's tasks listen: "
	    "ipc://DIR/sock/ (default)\n"
	    "                     or tcp://HOST:PORT (channel c listens on "
	    "PORT+c)\n"
	    "  --version          print the version and exit\n");
}

static int
worker_parse_args(struct worker *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "coordinator", required_argument, NULL, 'c' },
		{ "data-prefix", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *run_dir = getenv("SNAPMARK_RUN_DIR");
	const char *coordinator = NULL, *prefix = NULL;
	int c;
	w->id = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 1 || v > 65535) {
				fprintf(stderr, "snapmark-worker: bad --id "
				                "'%s'\n",
				    optarg);
				worker_usage(stderr);
				return 2;
			}
			w->id = (int) v;
			break;
		}
		case 'r':
			run_dir = optarg;
			break;
		case 'c':
			coordinator = optarg;
			break;
		case 'd':
			prefix = optarg;
			break;
		case 'h':
			worker_usage(stdout);
			exit(0);
		case 'V':
			printf("snapmark-worker %s\n", SM_VERSION_STRING);
			exit(0);
		default:
			worker_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || w->id == 0) {
		fprintf(stderr, "snapmark-worker: %s\n",
		    w->id == 0 ? "--id is required" : "unexpected argument");
		worker_usage(stderr);
		return 2;
	}
	if (run_dir == NULL)
		run_dir = "run";
	mkdir(run_dir, 0700);
	if (realpath(run_dir, w->run_dir) == NULL) {
		fprintf(stderr, "snapmark-worker: run directory %s: %s\n",
		    run_dir, strerror(errno));
		return 2;
	}
	chmod(w->run_dir, 0700);
	char base[600];
	if (coordinator != NULL)
		snprintf(base, sizeof(base), "%s", coordinator);
	else
		snprintf(base, sizeof(base), "ipc://%s/coordinator", w->run_dir);
	if (sm_control_address(base, w->id, w->coordinator,
	        sizeof(w->coordinator)) != SM_OK) {
		fprintf(stderr, "snapmark-worker: bad --coordinator '%s'\n",
		    base);
		worker_usage(stderr);
		return 2;
	}
	if (prefix != NULL) {
		snprintf(w->data_prefix, sizeof(w->data_prefix), "%s", prefix);
	} else {
		char sock[600];
		snprintf(sock, sizeof(sock), "%s/sock", w->run_dir);
		mkdir(sock, 0700);
		snprintf(w->data_prefix, sizeof(w->data_prefix),
		    "ipc://%s/", sock);
		/* sun_path holds 107 bytes: leave room for "e<epoch>-c<n>". */
		if (strlen(sock) > 80) {
			fprintf(stderr,
			    "snapmark-worker: run directory path too long for "
			    "ipc sockets (%zu > 80 bytes); use a shorter "
			    "--run-dir or --data-prefix tcp://...\n",
			    strlen(sock));
			return 2;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct worker w;
	memset(&w, 0, sizeof(w));
	w.heartbeat_ms = 500;
	w.heartbeat_timeout_ms = 10000; /* until a Deploy brings the job's */
	/* The run dir, its stores, sockets and output are the user's alone,
	 * whatever umask the worker was started with. */
	umask(077);
	int rv = worker_parse_args(&w, argc, argv);
	if (rv != 0)
		return rv;
	char name[32];
	snprintf(name, sizeof(name), "worker-%d", w.id);
	sm_log_init(name, SM_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (sm_acksender_new(worker_send_now, &w, &w.acks) != SM_OK ||
	    worker_open_socket(&w) != SM_OK)
		return 1;
	sm_info("worker %d (pid %d) started; coordinator %s, data %s", w.id,
	    (int) getpid(), w.coordinator, w.data_prefix);

	uint64_t loop_mark = sm_now_us();
	while (!worker_terminate) {
		worker_check_own_pause(&w, &loop_mark);
		if (atomic_load(&w.need_register))
			worker_register(&w);
		worker_heartbeat(&w);
		Snapmark__Control *c;
		nng_pipe pipe;
		nng_socket sock = { .id = atomic_load(&w.sock_id) };
		rv = sm_control_recv(sock, 0, &c, &pipe);
		if (rv == SM_OK) {
			w.last_heard_us = sm_now_us();
			worker_handle(&w, c);
			snapmark__control__free_unpacked(c, NULL);
		}
		worker_check_coordinator(&w);
	}
	sm_info("terminating");
	worker_stop_tasks(&w);
	sm_acksender_free(w.acks);
	if (sm_channel_wait_closed(2000000) > 0)
		sm_warn("exiting with data channels still closing");
	/* Exiting ends the closer thread if the socket is wedged. */
	worker_close_later((nng_socket) { .id = atomic_load(&w.sock_id) });
	return 0;
}
