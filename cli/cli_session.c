/*
 * cli_session.c - one `snapmark` command's conversation with a running
 * coordinator.
 *
 * It owns how the coordinator is found (--coordinator URL, else
 * ipc://RUNDIR/cli.ipc), one req0 request per command, checking the reply,
 * and handing it to the text (cli_text.c) or JSON (cli_json.c) renderer in
 * a stable order; once the job has ended, the catalog answers the
 * read-only commands instead. The command line is cli_args.c's and the
 * process (exit status, help, version) snapmark.c's. The coordinator does
 * all the thinking; the CLI only asks and prints, and reads the catalog
 * (read-only) only once the coordinator has exited, so it is safe against
 * a live cluster. Every error is one "snapmark: ..." line on stderr, also
 * with --json.
 *
 * Requests are at most once: req0's automatic resend is switched off so a
 * slow TRIGGER is never sent twice; a lost request shows up as a timeout.
 * Read-only requests (status, checkpoints, show) are sent again on a fresh
 * connection when theirs breaks.
 *
 * Every call ends within its timeout, whatever NNG does: one deadline
 * covers finding, connecting, sending and receiving; a watchdog (SIGALRM)
 * ends the process shortly after it if NNG still blocks; and the socket is
 * never closed (NNG 1.5.2's nng_close can wait forever on a pipe that
 * never finishes; the process is about to exit anyway). Before NNG dials
 * an ipc:// address the CLI checks it itself (cli_probe): a socket that
 * refuses connections, or none, with no live coordinator pid in
 * RUN/pids/coordinator.pid means the coordinator is not running, said at
 * once instead of after the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "cli/cli_args.h"
#include "cli/cli_json.h"
#include "cli/cli_session.h"
#include "cli/cli_text.h"
#include "common/clock.h"
#include "common/error.h"
#include "coordinator/catalog.h"
#include "coordinator/message_json.h"
#include "proto/snapmark.pb-c.h"

#define CLI_TIMEOUT_MS 5000       /* one request */
#define CLI_WAIT_TIMEOUT_MS 60000 /* trigger --wait, the whole wait */
#define CLI_RECV_MAX ((size_t) 64 << 20)
#define CLI_POLL_MIN_US 2000
#define CLI_POLL_MAX_US 20000
#define CLI_POLL_MIN_LEFT_MS 50 /* below this, a wait stops polling */
#define CLI_WATCHDOG_GRACE_MS 250 /* NNG's own timeouts report first */
#define CLI_PROBE_RETRY_US 20000  /* a starting coordinator: try again */

typedef Snapmark__CliRequest CliRequest;
typedef Snapmark__CliReply CliReply;
typedef Snapmark__WorkerStatus WorkerStatus;
typedef Snapmark__TaskCheckpointStats TaskCheckpointStats;

/* checkpoints without --limit: the newest this many (a screenful); with
 * --json the 100 that scripts have always been given */
#define CLI_DEFAULT_LIMIT 20
#define CLI_DEFAULT_JSON_LIMIT 100

struct cli_conn {
	nng_socket sock;
	int open;
	char url[PATH_MAX + 32];
	char run_dir[PATH_MAX]; /* "" with --coordinator */
	uint64_t deadline_us;   /* the whole command ends by then */
	int total_ms;           /* its timeout, for messages */
	atomic_int connected;   /* NNG has a pipe to the coordinator */
};

/* What the process is doing, for the watchdog's message. */
static const char *volatile cli_step = "starting";
static char cli_watchdog_msg[PATH_MAX + 128];

static void cli_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* While cli_hold is set, the last error is kept in cli_held instead of
 * printed: a lost SAVEPOINT reply is only an error if the savepoint
 * cannot be found afterwards. */
static int cli_hold;
static char cli_held[1024];

static void
cli_err(const char *fmt, ...)
{
	va_list ap;
	sigset_t alarm, old;
	va_start(ap, fmt);
	if (cli_hold) {
		vsnprintf(cli_held, sizeof(cli_held), fmt, ap);
		va_end(ap);
		return;
	}
	/* One whole line: the watchdog's message never cuts into it. */
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alarm, &old);
	fputs("snapmark: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ------------------------------------------------------------ connection */

/*
 * cli_address works out the coordinator's URL. The run directory is made
 * absolute because an ipc:// URL is resolved by the dialer's cwd.
 */
static int
cli_address(const struct cli_args *o, char *url, size_t cap, char *run_dir,
    size_t run_dir_cap)
{
	const char *dir = o->run_dir;
	char *abs = NULL;
	struct stat st;
	struct sockaddr_un sun;
	int rv = SM_ENOTFOUND;

	if (o->coordinator != NULL) {
		if (snprintf(url, cap, "%s", o->coordinator) >= (int) cap) {
			cli_err("coordinator URL too long");
			return SM_EINVAL;
		}
		return SM_OK;
	}
	if (dir == NULL)
		dir = getenv("SNAPMARK_RUN_DIR");
	if (dir == NULL || *dir == '\0')
		dir = "./run";
	if ((abs = realpath(dir, NULL)) == NULL || stat(abs, &st) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		cli_err("no run directory %s (start a cluster with "
		        "scripts/cluster up, or pass --run-dir)",
		    dir);
		goto fail;
	}
	/* NNG would accept a longer path and then never connect. */
	if (strlen(abs) + strlen("/cli.ipc") >= sizeof(sun.sun_path) ||
	    snprintf(url, cap, "ipc://%s/cli.ipc", abs) >= (int) cap) {
		cli_err("run directory path too long for an ipc socket (at "
		        "most %zu bytes): %s",
		    sizeof(sun.sun_path) - 1 - strlen("/cli.ipc"), abs);
		rv = SM_EINVAL;
		goto fail;
	}
	snprintf(run_dir, run_dir_cap, "%s", abs);
	rv = SM_OK;
fail:
	free(abs);
	return rv;
}

/* ------------------------------------------------------------- watchdog */

static void
cli_on_alarm(int sig)
{
	(void) sig;
	/* Only async-signal-safe calls: write and _exit. */
	const char *step = cli_step;
	ssize_t n =
	    write(STDERR_FILENO, cli_watchdog_msg, strlen(cli_watchdog_msg));
	n = write(STDERR_FILENO, step, strlen(step));
	n = write(STDERR_FILENO, ")\n", 2);
	(void) n;
	_exit(CLI_EXIT_FAIL);
}

/* cli_watchdog ends the process CLI_WATCHDOG_GRACE_MS after the command's
 * deadline if it is still running then (NNG blocked somewhere);
 * cli_watchdog_off once the outcome is known. */
static void
cli_watchdog(const struct cli_conn *c)
{
	struct sigaction sa;
	struct itimerval it;
	long ms = (long) c->total_ms + CLI_WATCHDOG_GRACE_MS;

	snprintf(cli_watchdog_msg, sizeof(cli_watchdog_msg),
	    "snapmark: no outcome from the coordinator at %s within %d ms; "
	    "giving up (stuck ",
	    c->url, c->total_ms);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
cli_watchdog_off(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
}

/* cli_left_ms: milliseconds to the deadline, 0 once it has passed. */
static int
cli_left_ms(const struct cli_conn *c)
{
	uint64_t now = sm_now_us();
	return now >= c->deadline_us
	    ? 0
	    : (int) ((c->deadline_us - now + 999) / 1000);
}

/* ------------------------------------------------------------ connection */

/*
 * cli_coordinator_pid reads RUN/pids/coordinator.pid (written by
 * scripts/cluster): 1 with *pid if it names a live process, 0 if it names
 * one that is gone, -1 if there is no usable pid file.
 */
static int
cli_coordinator_pid(const struct cli_conn *c, long *pid)
{
	char path[PATH_MAX + 32], stat_path[64], buf[512];
	FILE *f;
	int n;

	*pid = 0;
	if (c->run_dir[0] == '\0')
		return -1;
	snprintf(path, sizeof(path), "%s/pids/coordinator.pid", c->run_dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fscanf(f, "%ld", pid);
	fclose(f);
	if (n != 1 || *pid <= 0)
		return -1;
	if (kill((pid_t) *pid, 0) != 0 && errno == ESRCH)
		return 0;
	/* A zombie is gone too: "pid (comm) S ..." with S == Z. */
	snprintf(stat_path, sizeof(stat_path), "/proc/%ld/stat", *pid);
	if ((f = fopen(stat_path, "r")) != NULL) {
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *close_paren = strrchr(buf, ')');
		if (close_paren != NULL && close_paren[1] == ' ' &&
		    close_paren[2] == 'Z')
			return 0;
	}
	/* A recycled pid is not ours: scripts/cluster starts the
	 * coordinator with "--run-dir RUN" on its command line. */
	snprintf(stat_path, sizeof(stat_path), "/proc/%ld/cmdline", *pid);
	if ((f = fopen(stat_path, "r")) != NULL) {
		char cmd[PATH_MAX + 4096];
		size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
		int ours = 0;
		fclose(f);
		cmd[len] = '\0';
		for (size_t i = 0; i + 1 < len; i += strlen(cmd + i) + 1)
			if (strcmp(cmd + i, "--run-dir") == 0 &&
			    strcmp(cmd + i + strlen(cmd + i) + 1,
			        c->run_dir) == 0)
				ours = 1;
		if (len > 0 && !ours)
			return 0;
	}
	return 1;
}

/*
 * cli_probe_once connects to the ipc socket at path and completes NNG's
 * 8-byte SP handshake by hand (a req0 peer: 0 'S' 'P' 0 0x00 0x30 0 0),
 * then closes. Completing it matters: a client that hangs up before the
 * coordinator has sent its half makes NNG 1.5.2's listener stop accepting
 * (the coordinator notices and listens again, but better not to cause it).
 * Returns 0 when a rep0 peer answered, else an errno-style code: ENOENT,
 * ECONNREFUSED, ETIMEDOUT (connected, no handshake by the deadline),
 * ECONNRESET or EPIPE (the peer hung up: a coordinator exiting), EPROTO
 * (something else answered), or another connect error.
 */
static int
cli_probe_once(const struct cli_conn *c, const char *path)
{
	static const unsigned char hello[8] = { 0, 'S', 'P', 0, 0x00, 0x30, 0,
		0 };
	unsigned char got[8];
	size_t sent = 0, have = 0;
	struct sockaddr_un sun;
	int fd, rv = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		rv = errno;
		close(fd);
		return rv;
	}
	/* A unix connect with a full backlog is EAGAIN: the listener is
	 * there but busy; the handshake below waits for it to accept. */
	while (have < sizeof(got)) {
		struct pollfd p = { .fd = fd,
			.events = sent < sizeof(hello) ? POLLOUT : POLLIN };
		int left = cli_left_ms(c);
		if (left == 0) {
			rv = ETIMEDOUT;
			break;
		}
		int n = poll(&p, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rv = n == 0 ? ETIMEDOUT : errno;
			break;
		}
		if (sent < sizeof(hello)) {
			ssize_t w = send(fd, hello + sent,
			    sizeof(hello) - sent, MSG_NOSIGNAL);
			if (w < 0 && errno == ENOTCONN) {
				/* Still connecting (backlog full): retry. */
				if (connect(fd, (struct sockaddr *) &sun,
				        sizeof(sun)) != 0 &&
				    errno != EISCONN && errno != EAGAIN &&
				    errno != EINPROGRESS &&
				    errno != EALREADY) {
					rv = errno;
					break;
				}
				sm_sleep_us(1000);
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				rv = errno;
				break;
			}
			if (w > 0)
				sent += (size_t) w;
			continue;
		}
		ssize_t r = recv(fd, got + have, sizeof(got) - have, 0);
		if (r == 0) {
			/* Hung up before its half: a coordinator exiting. */
			rv = ECONNRESET;
			break;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			rv = errno;
			break;
		}
		if (r > 0)
			have += (size_t) r;
	}
	if (rv == 0 &&
	    (got[0] != 0 || got[1] != 'S' || got[2] != 'P' || got[3] != 0 ||
	        got[4] != 0x00 || got[5] != 0x31))
		rv = EPROTO;
	close(fd);
	return rv;
}

/*
 * cli_probe checks an ipc:// coordinator before NNG dials it. A socket
 * that is missing or refuses connections, with no live coordinator pid in
 * the run dir, fails at once ("not running"); with a live one (a
 * coordinator starting) it is tried again until the deadline. Other URLs
 * are left to NNG.
 */
static int
cli_probe(struct cli_conn *c)
{
	const char *path;
	long pid;
	int rv, alive;

	if (strncmp(c->url, "ipc://", 6) != 0)
		return SM_OK;
	path = c->url + 6;
	cli_step = "checking the coordinator's socket";
	for (;;) {
		rv = cli_probe_once(c, path);
		if (rv == 0)
			return SM_OK;
		if (rv == ETIMEDOUT) {
			cli_err(
			    "coordinator at %s did not answer within %d ms "
			    "(it accepted the connection but did not "
			    "complete NNG's handshake: stopped, overloaded, "
			    "or not a snapmark coordinator)",
			    c->url, c->total_ms);
			return SM_ETIMEDOUT;
		}
		if (rv == EPROTO) {
			cli_err("%s is not a snapmark coordinator (no NNG "
			        "rep0 handshake on that socket)",
			    c->url);
			return SM_EPROTO;
		}
		if ((rv == ECONNRESET || rv == EPIPE) &&
		    cli_left_ms(c) * 1000 > CLI_PROBE_RETRY_US) {
			/* A coordinator closing down as the job ended: look
			 * again, it is gone (or answers) in a moment. */
			sm_sleep_us(CLI_PROBE_RETRY_US);
			continue;
		}
		if (rv != ENOENT && rv != ECONNREFUSED) {
			cli_err("cannot connect to %s: %s", c->url,
			    strerror(rv));
			return SM_ENET;
		}
		alive = cli_coordinator_pid(c, &pid);
		if (alive != 1) {
			char why[96] = "";
			if (alive == 0)
				snprintf(why, sizeof(why),
				    "; its pid %ld is gone", pid);
			cli_err("coordinator is not running: %s %s%s", path,
			    rv == ENOENT ? "does not exist"
			                 : "refuses connections",
			    why);
			return SM_ECLOSED;
		}
		/* Alive but not listening (yet): starting up. */
		if (cli_left_ms(c) * 1000 <= CLI_PROBE_RETRY_US) {
			cli_err("coordinator at %s did not answer within %d "
			        "ms "
			        "(pid %ld is running but %s)",
			    c->url, c->total_ms, pid,
			    rv == ENOENT ? "has not created its socket"
			                 : "does not accept connections");
			return SM_ETIMEDOUT;
		}
		sm_sleep_us(CLI_PROBE_RETRY_US);
	}
}

static void
cli_on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct cli_conn *c = arg;
	(void) p;
	atomic_store(&c->connected, ev == NNG_PIPE_EV_ADD_POST);
}

/*
 * cli_connect opens the req0 socket and starts dialing in the background
 * (NNG_FLAG_NONBLOCK), so a coordinator that is not listening yet is
 * retried every 10-100 ms until the request's deadline. A pipe notifier
 * tells whether a connection (handshake included) exists, so a timeout
 * can say which step it hit.
 */
static int
cli_connect(struct cli_conn *c)
{
	int rv;

	if ((rv = cli_probe(c)) != SM_OK)
		return rv;
	cli_step = "connecting";
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		cli_err("cannot open a socket: %s", nng_strerror(rv));
		return SM_ENET;
	}
	c->open = 1;
	if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	         CLI_RECV_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 10)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	         NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, cli_on_pipe,
	         c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, cli_on_pipe,
	         c)) != 0) {
		cli_err("cannot set socket options: %s", nng_strerror(rv));
		return SM_ENET;
	}
	if ((rv = nng_dial(c->sock, c->url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		cli_err("cannot dial %s: %s", c->url, nng_strerror(rv));
		return SM_ENET;
	}
	return SM_OK;
}

/* Whether a request changes nothing, so it may be sent again. */
static int
cli_idempotent(const CliRequest *req)
{
	return req->command == SNAPMARK__CLI_REQUEST__COMMAND__STATUS ||
	    req->command == SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS ||
	    req->command == SNAPMARK__CLI_REQUEST__COMMAND__SHOW ||
	    req->command == SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN;
}

/*
 * cli_call sends one request and waits for its reply, within timeout_ms
 * and the command's deadline, whichever ends first. On SM_OK *replyp
 * holds a reply with ok == true, owned by the caller (free it with
 * snapmark__cli_reply__free_unpacked). Every failure has already been
 * reported on stderr, naming the step that failed. A read-only request
 * whose connection broke is sent again while time is left; for the others
 * the message says the request may have been carried out (SM_ECLOSED).
 */
/* ------------------------------------------- the catalog of an ended job */

/*
 * Once the job has ended (FINISHED, CANCELED, FAILED) its coordinator
 * exits; it left "final_status" in its catalog. status, checkpoints and
 * show then read RUN/coordinator with MDB_RDONLY, like a history server:
 * only a coordinator that is not running is replaced this way, and only
 * for a job that ended (a crashed coordinator is reported as before).
 */
static struct coord_catalog *cli_catalog;
static Snapmark__JobStatus *cli_final;
/* The notice that the catalog answers goes to stderr with --json, and
 * for a command that only polls it (savepoint, trigger --wait), so that
 * its stdout is its result alone. */
static int cli_notice_stderr;
static char cli_catalog_dir[PATH_MAX + 32];

static int
cli_open_catalog(const struct cli_conn *c)
{
	void *buf = NULL;
	size_t len = 0;
	int rv;

	if (c->run_dir[0] == '\0')
		return SM_ENOTFOUND;
	snprintf(cli_catalog_dir, sizeof(cli_catalog_dir), "%s/coordinator",
	    c->run_dir);
	if ((rv = coord_catalog_open_readonly(cli_catalog_dir,
	         &cli_catalog)) != SM_OK)
		return rv;
	rv = coord_catalog_get_bytes(cli_catalog, "final_status", &buf, &len);
	if (rv == SM_OK &&
	    (cli_final = snapmark__job_status__unpack(NULL, len, buf)) ==
	        NULL)
		rv = SM_ECORRUPT;
	free(buf);
	if (rv != SM_OK) {
		coord_catalog_close(cli_catalog);
		cli_catalog = NULL;
	}
	return rv;
}

/* cli_call_catalog answers req from the catalog, as the coordinator would
 * (a packed and unpacked CliReply, freed by the caller alike). */
static int
cli_call_catalog(CliRequest *req, CliReply **replyp)
{
	CliReply rep = SNAPMARK__CLI_REPLY__INIT;
	Snapmark__CheckpointRecord **recs = NULL, *one = NULL;
	size_t n = 0;
	char err[96];
	int rv = SM_OK;
	static int told;

	if (!told++)
		fprintf(cli_notice_stderr ? stderr : stdout,
		    "%scoordinator not running; from the catalog of %s "
		    "(read-only)\n",
		    cli_notice_stderr ? "snapmark: " : "", cli_catalog_dir);

	rep.ok = 1;
	switch (req->command) {
	case SNAPMARK__CLI_REQUEST__COMMAND__STATUS:
		cli_final->has_coordinator_running = 1;
		cli_final->coordinator_running = 0;
		cli_final->catalog = cli_catalog_dir;
		rep.status = cli_final;
		break;
	case SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS:
		/* --limit N as the coordinator reads it (0: all, capped
		 * like its replies). */
		rv = coord_catalog_list(cli_catalog,
		    req->has_limit && req->limit > 0 && req->limit < 10000
		        ? req->limit
		        : 10000,
		    0, &recs, &n);
		rep.checkpoints = recs;
		rep.n_checkpoints = rv == SM_OK ? n : 0;
		break;
	case SNAPMARK__CLI_REQUEST__COMMAND__SHOW:
		if (coord_catalog_get(cli_catalog, req->checkpoint_id, &one) ==
		    SM_OK) {
			rep.checkpoints = &one;
			rep.n_checkpoints = 1;
		} else {
			snprintf(err, sizeof(err), "no checkpoint %" PRIu64,
			    req->checkpoint_id);
			rep.ok = 0;
			rep.error = err;
		}
		break;
	default:
		rep.ok = 0;
		rep.error = "the job has ended: its coordinator is not running";
	}
	size_t len = snapmark__cli_reply__get_packed_size(&rep);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	CliReply *reply = NULL;
	if (buf != NULL && rv == SM_OK) {
		snapmark__cli_reply__pack(&rep, buf);
		reply = snapmark__cli_reply__unpack(NULL, len, buf);
	}
	free(buf);
	for (size_t i = 0; i < n; i++)
		snapmark__checkpoint_record__free_unpacked(recs[i], NULL);
	free(recs);
	if (one != NULL)
		snapmark__checkpoint_record__free_unpacked(one, NULL);
	if (reply == NULL) {
		cli_err("cannot read the catalog %s: %s", cli_catalog_dir,
		    sm_strerror(rv != SM_OK ? rv : SM_ENOMEM));
		return rv != SM_OK ? rv : SM_ENOMEM;
	}
	if (!reply->ok) {
		cli_err("%s", cli_text_clean(reply->error));
		snapmark__cli_reply__free_unpacked(reply, NULL);
		return SM_EINVAL;
	}
	*replyp = reply;
	return SM_OK;
}

static int
cli_call(struct cli_conn *c, CliRequest *req, int timeout_ms,
    CliReply **replyp)
{
	long pid;
	if (cli_catalog != NULL)
		return cli_call_catalog(req, replyp);
	/* A wait (savepoint, trigger --wait) outliving the coordinator of a
	 * job that just ended reads the rest from its catalog. */
	if (cli_idempotent(req) && !atomic_load(&c->connected) &&
	    cli_coordinator_pid(c, &pid) == 0 && cli_open_catalog(c) == SM_OK)
		return cli_call_catalog(req, replyp);
	nng_msg *msg = NULL;
	CliReply *reply = NULL;
	uint64_t deadline = sm_now_us() + (uint64_t) timeout_ms * 1000;
	uint64_t now;
	int rv, err = SM_ENET, sent = 0;

	if (deadline > c->deadline_us)
		deadline = c->deadline_us;
again:
	if ((rv = nng_msg_alloc(&msg,
	         snapmark__cli_request__get_packed_size(req))) != 0) {
		cli_err("cannot build request: %s", nng_strerror(rv));
		goto fail;
	}
	snapmark__cli_request__pack(req, nng_msg_body(msg));
	now = sm_now_us();
	rv = NNG_ETIMEDOUT;
	cli_step = "sending the request";
	if (now >= deadline ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO,
	         (nng_duration) ((deadline - now + 999) / 1000))) != 0 ||
	    (rv = nng_sendmsg(c->sock, msg, 0)) != 0)
		goto nng_fail;
	msg = NULL; /* nng owns it now */
	sent = 1;
	now = sm_now_us();
	rv = NNG_ETIMEDOUT;
	cli_step = "waiting for the reply";
	if (now >= deadline ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO,
	         (nng_duration) ((deadline - now + 999) / 1000))) != 0 ||
	    (rv = nng_recvmsg(c->sock, &msg, 0)) != 0)
		goto nng_fail;
	cli_step = "printing the reply";

	reply = snapmark__cli_reply__unpack(NULL, nng_msg_len(msg),
	    nng_msg_body(msg));
	if (reply == NULL) {
		cli_err("malformed reply from coordinator at %s (%zu bytes "
		        "that are not a CliReply)",
		    c->url, nng_msg_len(msg));
		err = SM_EPROTO;
		goto fail;
	}
	if (!reply->ok) {
		if (reply->error != NULL && *reply->error != '\0')
			cli_err("%s", cli_text_clean(reply->error));
		else
			cli_err("coordinator at %s refused the request",
			    c->url);
		err = SM_EINVAL;
		goto fail;
	}
	nng_msg_free(msg);
	*replyp = reply;
	return SM_OK;

nng_fail:
	if (msg != NULL) {
		nng_msg_free(msg);
		msg = NULL;
	}
	if (cli_idempotent(req) && cli_coordinator_pid(c, &pid) == 0 &&
	    cli_open_catalog(c) == SM_OK)
		return cli_call_catalog(req, replyp); /* it just exited */
	if ((rv == NNG_ECONNRESET || rv == NNG_ECLOSED) &&
	    cli_idempotent(req) && sm_now_us() + 20000 < deadline) {
		/* The connection broke under a read-only request: again,
		 * once NNG has reconnected. */
		sm_sleep_us(10000);
		goto again;
	}
	if (rv == NNG_ETIMEDOUT && !atomic_load(&c->connected)) {
		cli_err("coordinator at %s did not answer within %d ms (no "
		        "connection: NNG could not connect or complete its "
		        "handshake)",
		    c->url, timeout_ms);
		err = SM_ETIMEDOUT;
	} else if (rv == NNG_ETIMEDOUT) {
		cli_err("coordinator at %s did not answer within %d ms (the "
		        "request was sent%s)",
		    c->url, timeout_ms,
		    cli_idempotent(req) ? ""
		                        : "; it may have been carried out");
		err = SM_ETIMEDOUT;
	} else if (sent && (rv == NNG_ECONNRESET || rv == NNG_ECLOSED)) {
		cli_err("coordinator at %s: the connection was lost after the "
		        "request was sent%s",
		    c->url,
		    cli_idempotent(req) ? ""
		                        : "; it may have been carried out");
		err = SM_ECLOSED;
	} else {
		cli_err("coordinator at %s: %s", c->url, nng_strerror(rv));
	}
fail:
	if (reply != NULL)
		snapmark__cli_reply__free_unpacked(reply, NULL);
	if (msg != NULL)
		nng_msg_free(msg);
	return err;
}

static int
cli_malformed(const struct cli_conn *c, const char *what)
{
	cli_err("malformed reply from coordinator at %s: %s", c->url, what);
	return SM_EPROTO;
}

/* cli_emit_json prints doc (dropping it) as one line on stdout. */
static int
cli_emit_json(json_t *doc)
{
	int rv = cli_json_print(doc);
	if (rv != SM_OK)
		cli_err("cannot format JSON: %s", sm_strerror(rv));
	return rv;
}

/* cli_emit_message prints one protobuf message as a JSON object. */
static int
cli_emit_message(const ProtobufCMessage *m)
{
	return cli_emit_json(sm_json_message(m, NULL));
}

/* -------------------------------------------------------------- commands */

static int
cli_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return (x > y) - (x < y);
}

static int
cli_cmp_worker(const void *a, const void *b)
{
	const WorkerStatus *x = *(WorkerStatus *const *) a;
	const WorkerStatus *y = *(WorkerStatus *const *) b;
	return (x->worker_id > y->worker_id) - (x->worker_id < y->worker_id);
}

/* Channels most buffered first, then by channel index. */
static int
cli_cmp_channel_buffered(const void *a, const void *b)
{
	const Snapmark__ChannelMetrics *x =
	    *(Snapmark__ChannelMetrics *const *) a;
	const Snapmark__ChannelMetrics *y =
	    *(Snapmark__ChannelMetrics *const *) b;
	if (x->frames_buffered != y->frames_buffered)
		return (x->frames_buffered < y->frames_buffered) -
		    (x->frames_buffered > y->frames_buffered);
	return (x->channel > y->channel) - (x->channel < y->channel);
}

/* Records newest (highest id) first. */
static int
cli_cmp_record(const void *a, const void *b)
{
	const CheckpointRecord *x = *(CheckpointRecord *const *) a;
	const CheckpointRecord *y = *(CheckpointRecord *const *) b;
	return (x->id < y->id) - (x->id > y->id);
}

static int
cli_cmp_task(const void *a, const void *b)
{
	const TaskCheckpointStats *x = *(TaskCheckpointStats *const *) a;
	const TaskCheckpointStats *y = *(TaskCheckpointStats *const *) b;
	return (x->task > y->task) - (x->task < y->task);
}


/* cli_sort is qsort for arrays that may be empty: an unpacked repeated
 * field with no elements is a NULL pointer, which qsort must not get. */
static void
cli_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int
cli_status(struct cli_conn *c, const struct cli_args *o, int timeout_ms)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv;

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__STATUS;
	if ((rv = cli_call(c, &req, timeout_ms, &reply)) != SM_OK)
		goto fail;
	if (reply->status == NULL) {
		rv = cli_malformed(c, "no job status");
		goto fail;
	}
	/* Text and JSON list both in a stable order, whatever was sent. */
	cli_sort(reply->status->pending, reply->status->n_pending,
	    sizeof(uint64_t), cli_cmp_u64);
	cli_sort(reply->status->workers, reply->status->n_workers,
	    sizeof(WorkerStatus *), cli_cmp_worker);
	if (o->json) {
		rv = cli_emit_message(&reply->status->base);
	} else {
		/* text: the most buffered channels first (JSON: by index) */
		cli_sort(reply->status->channel_metrics,
		    reply->status->n_channel_metrics,
		    sizeof(Snapmark__ChannelMetrics *),
		    cli_cmp_channel_buffered);
		rv = cli_text_status(reply->status);
	}
fail:
	if (reply != NULL)
		snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cli_checkpoints(struct cli_conn *c, const struct cli_args *o, int timeout_ms)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv;

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS;
	req.has_limit = 1;
	req.limit = (uint32_t) (o->has_limit ? o->limit
	        : o->json                      ? CLI_DEFAULT_JSON_LIMIT
	                                       : CLI_DEFAULT_LIMIT);
	if ((rv = cli_call(c, &req, timeout_ms, &reply)) != SM_OK)
		goto fail;
	cli_sort(reply->checkpoints, reply->n_checkpoints,
	    sizeof(CheckpointRecord *), cli_cmp_record);
	/* An older coordinator ignores the limit: keep the newest. */
	size_t n = reply->n_checkpoints;
	if (req.limit > 0 && n > req.limit)
		n = req.limit;
	if (!o->json) {
		rv = cli_text_checkpoints_layout(reply->checkpoints, n,
		    o->wide);
		goto fail;
	}
	rv = cli_emit_json(sm_json_checkpoint_list(reply->checkpoints, n));
fail:
	if (reply != NULL)
		snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

/*
 * cli_fetch asks for one checkpoint record, its tasks sorted by index. On
 * SM_OK *recp points into *replyp, which the caller frees.
 */
static int
cli_fetch(struct cli_conn *c, uint64_t id, int timeout_ms, CliReply **replyp,
    CheckpointRecord **recp)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv;

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__SHOW;
	req.has_checkpoint_id = 1;
	req.checkpoint_id = id;
	if ((rv = cli_call(c, &req, timeout_ms, &reply)) != SM_OK)
		return rv;
	if (reply->n_checkpoints == 0 || reply->checkpoints[0]->id != id) {
		snapmark__cli_reply__free_unpacked(reply, NULL);
		return cli_malformed(c, "not the checkpoint asked for");
	}
	cli_sort(reply->checkpoints[0]->tasks, reply->checkpoints[0]->n_tasks,
	    sizeof(TaskCheckpointStats *), cli_cmp_task);
	*replyp = reply;
	*recp = reply->checkpoints[0];
	return SM_OK;
}

static int
cli_show(struct cli_conn *c, const struct cli_args *o, int timeout_ms)
{
	CliReply *reply = NULL;
	CheckpointRecord *r;
	int rv;

	if ((rv = cli_fetch(c, o->id, timeout_ms, &reply, &r)) != SM_OK)
		return rv;
	if (o->json)
		rv = cli_emit_message(&r->base);
	else
		rv = cli_text_record(r);
	snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cli_explain(struct cli_conn *c, const struct cli_args *o, int timeout_ms)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv;

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__EXPLAIN;
	req.has_checkpoint_id = 1;
	req.checkpoint_id = o->id;
	if ((rv = cli_call(c, &req, timeout_ms, &reply)) != SM_OK)
		return rv;
	if (reply->explanation == NULL ||
	    reply->explanation->checkpoint_id != o->id) {
		snapmark__cli_reply__free_unpacked(reply, NULL);
		return cli_malformed(c, "no explanation of the checkpoint");
	}
	if (o->json)
		rv = cli_emit_message(&reply->explanation->base);
	else
		rv = cli_text_explain(reply->explanation);
	snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

/*
 * cli_wait polls checkpoint id until it leaves PENDING, every 2 ms backing
 * off to 20 ms, for at most wait_ms in total. A checkpoint that completes
 * returns SM_OK; one that fails is printed and returns SM_ESTOPPED.
 */
static int
cli_wait(struct cli_conn *c, const struct cli_args *o, uint64_t id, int req_ms,
    int wait_ms, const char *what)
{
	uint64_t deadline = sm_now_us() + (uint64_t) wait_ms * 1000;
	uint64_t pause = CLI_POLL_MIN_US, bytes = 0, now;
	CliReply *reply = NULL;
	CheckpointRecord *r;
	char dur[32], size[32];
	int rv;

	for (int polls = 0;; polls++) {
		now = sm_now_us();
		/* Each poll may take what is left of the wait, at most. */
		int left = 1;
		if (now < deadline)
			left = (int) ((deadline - now + 999) / 1000);
		/* Too little left for a round trip after a pending answer: the
		 * outcome is "still pending", not "no answer". */
		if (polls > 0 && left < CLI_POLL_MIN_LEFT_MS) {
			cli_err("%s %" PRIu64 " still pending after %d ms",
			    what, id, wait_ms);
			return SM_ETIMEDOUT;
		}
		/* A poll that runs out of time after a pending answer means
		 * "still pending", not "no answer". */
		cli_hold = polls > 0;
		rv = cli_fetch(c, id, left < req_ms ? left : req_ms, &reply,
		    &r);
		cli_hold = 0;
		if (rv == SM_ETIMEDOUT && polls > 0 && cli_left_ms(c) == 0) {
			cli_err("%s %" PRIu64 " still pending after %d ms",
			    what, id, wait_ms);
			return rv;
		}
		if (rv != SM_OK) {
			if (polls > 0)
				cli_err("%s", cli_held);
			return rv;
		}
		if (r->status != SNAPMARK__CHECKPOINT_RECORD__STATUS__PENDING)
			break;
		snapmark__cli_reply__free_unpacked(reply, NULL);
		reply = NULL;
		now = sm_now_us();
		if (now >= deadline) {
			cli_err("%s %" PRIu64 " still pending after %d ms",
			    what, id, wait_ms);
			return SM_ETIMEDOUT;
		}
		sm_sleep_us(pause < deadline - now ? pause : deadline - now);
		pause *= 2;
		if (pause > CLI_POLL_MAX_US)
			pause = CLI_POLL_MAX_US;
	}

	if (o->json && (rv = cli_emit_message(&r->base)) != SM_OK)
		goto done;
	if (r->has_duration_us)
		cli_text_ms(dur, sizeof(dur), r->duration_us);
	else
		snprintf(dur, sizeof(dur), "?");
	/* DISCARDED: it completed, and a newer one already displaced it. */
	if (coord_record_completed(r)) {
		cli_text_bytes(r, &bytes);
		if (!o->json)
			printf("%s %" PRIu64 " completed in %s (%" PRIu32
			       " tasks, %s)%s%s\n",
			    what, id, dur, r->tasks_acked,
			    cli_text_size(size, sizeof(size), bytes),
			    r->savepoint_dir ? ": " : "",
			    r->savepoint_dir ? r->savepoint_dir : "");
		rv = SM_OK;
		goto done;
	}
	rv = SM_ESTOPPED;
	if (r->failure_reason != NULL)
		cli_text_clean(r->failure_reason);
	/* The outcome is the result on stdout; with --json the record is. */
	fprintf(o->json ? stderr : stdout, "%s%s %" PRIu64 " failed after %s: %s\n",
	    o->json ? "snapmark: " : "", what, id, dur,
	    r->failure_reason != NULL ? r->failure_reason : "no reason given");
done:
	snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

/*
 * cli_find_savepoint looks for the savepoint a SAVEPOINT request whose
 * reply was lost started: the newest record going to dir (or, without
 * --dir, any savepoint) triggered at or after since_ms. SM_OK with *id, or
 * SM_ENOTFOUND.
 */
static int
cli_find_savepoint(struct cli_conn *c, const char *dir, uint64_t since_ms,
    uint64_t *id)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv, left = cli_left_ms(c);

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__CHECKPOINTS;
	if (left == 0 || cli_call(c, &req, left, &reply) != SM_OK)
		return SM_ENOTFOUND;
	rv = SM_ENOTFOUND;
	for (size_t i = 0; i < reply->n_checkpoints; i++) {
		const CheckpointRecord *r = reply->checkpoints[i];
		if (r->savepoint_dir == NULL ||
		    r->trigger_time_ms < since_ms ||
		    (dir != NULL && strcmp(r->savepoint_dir, dir) != 0))
			continue;
		if (rv != SM_OK || r->id > *id)
			*id = r->id;
		rv = SM_OK;
	}
	snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cli_trigger(struct cli_conn *c, const struct cli_args *o)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int req_ms = o->timeout_ms > 0 ? o->timeout_ms : CLI_TIMEOUT_MS;
	int wait_ms = o->timeout_ms > 0 ? o->timeout_ms : CLI_WAIT_TIMEOUT_MS;
	uint64_t id = 0;

	/* A wait leaves itself time after the request: its reply may be
	 * lost while the savepoint or checkpoint goes ahead. */
	if ((o->cmd == CLI_SAVEPOINT || o->wait) && req_ms > wait_ms / 2)
		req_ms = wait_ms / 2 > 0 ? wait_ms / 2 : 1;
	int rv;

	char dir[PATH_MAX];
	req.command = SNAPMARK__CLI_REQUEST__COMMAND__TRIGGER;
	if (o->cmd == CLI_SAVEPOINT) {
		req.command = SNAPMARK__CLI_REQUEST__COMMAND__SAVEPOINT;
		req.has_stop = 1;
		req.stop = o->stop;
		/* Absolute (cli_args_parse): the coordinator checks the
		 * rest. */
		if (o->dir != NULL) {
			snprintf(dir, sizeof(dir), "%s", o->dir);
			req.dir = dir;
		}
	}
	/* Wall clock, as in CheckpointRecord.trigger_time_ms; a second of
	 * slack for clocks read on either side. */
	uint64_t sent_ms = sm_wall_ms() - 1000;
	cli_hold = o->cmd == CLI_SAVEPOINT;
	rv = cli_call(c, &req, req_ms, &reply);
	if (rv != SM_OK && cli_hold &&
	    (rv == SM_ETIMEDOUT || rv == SM_ECLOSED)) {
		/* The reply to a SAVEPOINT that was sent got lost: the
		 * savepoint may well be under way; look for it. */
		char lost[sizeof(cli_held)];
		snprintf(lost, sizeof(lost), "%s", cli_held);
		if (cli_find_savepoint(c, req.dir, sent_ms, &id) == SM_OK) {
			cli_hold = 0;
			rv = cli_wait(c, o, id, req_ms, cli_left_ms(c),
			    "savepoint");
			goto fail;
		}
		snprintf(cli_held, sizeof(cli_held), "%s", lost);
	}
	if (cli_hold && rv != SM_OK) {
		cli_hold = 0;
		cli_err("%s", cli_held);
	}
	cli_hold = 0;
	if (rv != SM_OK)
		goto fail;
	if (!reply->has_checkpoint_id) {
		rv = cli_malformed(c, "no checkpoint id");
		goto fail;
	}
	id = reply->checkpoint_id;
	if (o->cmd == CLI_SAVEPOINT) {
		rv = cli_wait(c, o, id, req_ms, wait_ms, "savepoint");
	} else if (o->wait) {
		rv = cli_wait(c, o, id, req_ms, wait_ms, "checkpoint");
	} else if (o->json) {
		rv = cli_emit_json(cli_json_triggered(id));
	} else {
		printf("checkpoint %" PRIu64 " triggered\n", id);
	}
fail:
	if (reply != NULL)
		snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

/* cli_cancel: stop the job without a savepoint. */
static int
cli_cancel(struct cli_conn *c, const struct cli_args *o, int timeout_ms)
{
	CliRequest req = SNAPMARK__CLI_REQUEST__INIT;
	CliReply *reply = NULL;
	int rv;

	req.command = SNAPMARK__CLI_REQUEST__COMMAND__CANCEL;
	if ((rv = cli_call(c, &req, timeout_ms, &reply)) != SM_OK)
		return rv;
	if (o->json) {
		rv = cli_emit_json(cli_json_canceled());
	} else {
		printf("job canceled\n");
	}
	snapmark__cli_reply__free_unpacked(reply, NULL);
	return rv;
}

int
cli_session_run(const struct cli_args *args)
{
	struct cli_args o = *args;
	struct cli_conn c;
	int rv, timeout_ms;

	memset(&c, 0, sizeof(c));
	timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : CLI_TIMEOUT_MS;
	/* The whole command ends within its timeout: a wait's is longer. */
	c.total_ms = timeout_ms;
	if (o.cmd == CLI_SAVEPOINT || (o.cmd == CLI_TRIGGER && o.wait))
		c.total_ms =
		    o.timeout_ms > 0 ? o.timeout_ms : CLI_WAIT_TIMEOUT_MS;
	c.deadline_us = sm_now_us() + (uint64_t) c.total_ms * 1000;
	if ((rv = cli_address(&o, c.url, sizeof(c.url), c.run_dir,
	         sizeof(c.run_dir))) != SM_OK)
		goto done;
	cli_watchdog(&c);
	/* Read-only commands keep their errors until it is known whether
	 * the catalog of an ended job answers instead (cli_open_catalog). */
	int ro = o.cmd == CLI_STATUS || o.cmd == CLI_CHECKPOINTS ||
	    o.cmd == CLI_SHOW;
	cli_notice_stderr = o.json || !ro;
	cli_hold = ro;
	cli_held[0] = '\0';
	long pid;
	if ((rv = cli_connect(&c)) != SM_OK) {
		if (!ro || rv != SM_ECLOSED || cli_open_catalog(&c) != SM_OK) {
			cli_hold = 0;
			if (cli_held[0] != '\0')
				cli_err("%s", cli_held);
			goto done;
		}
	}
again:
	switch (o.cmd) {
	case CLI_STATUS:
		rv = cli_status(&c, &o, timeout_ms);
		break;
	case CLI_CHECKPOINTS:
		rv = cli_checkpoints(&c, &o, timeout_ms);
		break;
	case CLI_SHOW:
		rv = cli_show(&c, &o, timeout_ms);
		break;
	case CLI_EXPLAIN:
		rv = cli_explain(&c, &o, timeout_ms);
		break;
	case CLI_TRIGGER:
	case CLI_SAVEPOINT:
		rv = cli_trigger(&c, &o);
		break;
	case CLI_CANCEL:
		rv = cli_cancel(&c, &o, timeout_ms);
		break;
	case CLI_STOP:
	case CLI_HELP:
	case CLI_VERSION:
	case CLI_VALIDATE: /* cli_validate.c: no coordinator */
		break;
	}
	if (ro && rv != SM_OK && cli_catalog == NULL &&
	    cli_coordinator_pid(&c, &pid) == 0 && cli_open_catalog(&c) == SM_OK)
		goto again; /* it exited under the request: the job ended */
	if (ro) {
		cli_hold = 0;
		if (rv != SM_OK && cli_held[0] != '\0')
			cli_err("%s", cli_held);
	}
done:
	/* The outcome is known: no watchdog message after it. No nng_close
	 * (see the top of this file): exit closes the connection without
	 * waiting for NNG. */
	cli_watchdog_off();
	if (cli_final != NULL) {
		cli_final->catalog = NULL; /* points to cli_catalog_dir */
		snapmark__job_status__free_unpacked(cli_final, NULL);
	}
	coord_catalog_close(cli_catalog);
	return rv;
}
