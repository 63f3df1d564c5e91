/*
 * cli_server.c - the coordinator's CLI endpoint on an ipc:// address.
 *
 * It owns the CLI's listening unix socket and its connections, and speaks
 * just enough of NNG's wire protocol for a req0 peer (the snapmark CLI,
 * nngcat --req0): the 8-byte SP handshake (0 'S' 'P' 0, protocol number,
 * 0 0; rep0 is 0x31, req0 0x30), then frames of a type byte (1, a
 * message), an 8-byte big-endian length and a body. A request body starts with
 * the req0 routing words (4 bytes each, the last one, the request id, with its
 * top bit set); the reply carries them back in front of the answer.
 *
 * Why not an NNG listener: NNG 1.5.2's ipc listener stops handing new
 * connections to the socket for good after clients hang up in the middle
 * of requests (30-270 `snapmark --timeout 1 status` calls were enough);
 * later connections were accepted by the kernel and never served, and
 * NNG's poller thread spun at 100% CPU on their hang-ups. Here every
 * connection is a plain nonblocking fd with bounded buffers and deadlines,
 * so no client, whatever it does, can stop the others from being served:
 *   - the handshake must complete within CLI_SERVER_HELLO_US;
 *   - a request may be at most CLI_SERVER_MAX_REQUEST bytes;
 *   - a reply the client does not read within CLI_SERVER_WRITE_US, or
 *     pending output above CLI_SERVER_MAX_OUTPUT, closes the connection;
 *   - a connection idle for CLI_SERVER_IDLE_US is closed;
 *   - at most CLI_SERVER_MAX_CONNS connections; beyond that the oldest
 *     idle one is closed to make room.
 * Anything that is not the protocol closes that connection, nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "coordinator/cli_server.h"
#include "common/error.h"
#include "common/log.h"

#define CLI_SERVER_MAX_CONNS 256
#define CLI_SERVER_MAX_REQUEST ((size_t) 65536)
#define CLI_SERVER_MAX_OUTPUT ((size_t) 256 << 20)
#define CLI_SERVER_HELLO_US 10000000ULL /* 10 s */
#define CLI_SERVER_WRITE_US 10000000ULL /* 10 s */
#define CLI_SERVER_IDLE_US 300000000ULL /* 5 min */
#define CLI_SERVER_MAX_HOPS 8
#define CLI_SERVER_LISTEN_TAG UINT32_MAX

struct cli_server_conn {
	int fd;   /* -1: free slot */
	int open; /* handshake done */
	uint8_t hello[8];
	size_t hello_got;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off;
	int want_out; /* EPOLLOUT armed */
	uint64_t since_us, last_us, out_since_us;
};

struct cli_server {
	int listen_fd, ep;
	char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
	cli_server_handler handler;
	void *arg;
	struct cli_server_conn conns[CLI_SERVER_MAX_CONNS];
};

static const uint8_t cli_server_hello[8] = { 0, 'S', 'P', 0, 0x00, 0x31, 0,
	0 };

static void
cli_server_drop(struct cli_server *s, struct cli_server_conn *k)
{
	if (k->fd < 0)
		return;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->in);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

static int
cli_server_bind(int fd, const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	return bind(fd, (struct sockaddr *) &sun, sizeof(sun));
}

/* cli_server_stale: the socket file at path has nobody listening. */
static int
cli_server_stale(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), stale;
	if (fd < 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	stale = connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0 &&
	    errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int
cli_server_open(struct cli_server **sp, const char *path,
    cli_server_handler handler, void *arg, char *err, size_t err_cap)
{
	struct cli_server *s;
	struct epoll_event e = { .events = EPOLLIN,
		.data.u32 = CLI_SERVER_LISTEN_TAG };

	*sp = NULL;
	if (strlen(path) >= sizeof(s->path)) {
		snprintf(err, err_cap, "socket path too long");
		return SM_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, err_cap, "%s", sm_strerror(SM_ENOMEM));
		return SM_ENOMEM;
	}
	for (int i = 0; i < CLI_SERVER_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->handler = handler;
	s->arg = arg;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->ep < 0 || s->listen_fd < 0)
		goto fail;
	if (cli_server_bind(s->listen_fd, path) != 0) {
		if (errno != EADDRINUSE || !cli_server_stale(path)) {
			if (errno == ECONNREFUSED)
				errno = EADDRINUSE;
			goto fail;
		}
		unlink(path);
		if (cli_server_bind(s->listen_fd, path) != 0)
			goto fail;
	}
	/* The user's alone, as NNG's listeners are (NNG_OPT_IPC_PERMISSIONS
	 * 0600): a unix socket is reachable by whoever may write to it. */
	if (chmod(path, 0600) != 0 || listen(s->listen_fd, 128) != 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &e) != 0)
		goto fail;
	*sp = s;
	return SM_OK;
fail:
	snprintf(err, err_cap, "%s", strerror(errno));
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->ep >= 0)
		close(s->ep);
	free(s);
	return SM_EIO;
}

int
cli_server_fd(const struct cli_server *s)
{
	return s->ep;
}

/* cli_server_arm sets the connection's epoll interest. */
static int
cli_server_arm(struct cli_server *s, struct cli_server_conn *k, int out)
{
	struct epoll_event e = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
		.data.u32 = (uint32_t) (k - s->conns) };
	if (out == k->want_out)
		return 0;
	k->want_out = out;
	return epoll_ctl(s->ep, EPOLL_CTL_MOD, k->fd, &e);
}

static void
cli_server_accept(struct cli_server *s, uint64_t now)
{
	for (int n = 0; n < 64; n++) {
		int fd = accept4(s->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				sm_warn("cli: accept: %s", strerror(errno));
			return;
		}
		struct cli_server_conn *k = NULL, *idle = NULL;
		for (int i = 0; i < CLI_SERVER_MAX_CONNS; i++) {
			struct cli_server_conn *x = &s->conns[i];
			if (x->fd < 0) {
				k = x;
				break;
			}
			if (x->out_len == x->out_off &&
			    (idle == NULL || x->last_us < idle->last_us))
				idle = x;
		}
		if (k == NULL && idle != NULL) {
			cli_server_drop(s, idle);
			k = idle;
		}
		/* The handshake starts with our half; a peer already gone
		 * just loses its connection. */
		if (k == NULL ||
		    send(fd, cli_server_hello, sizeof(cli_server_hello),
		        MSG_NOSIGNAL) != (ssize_t) sizeof(cli_server_hello)) {
			close(fd);
			continue;
		}
		struct epoll_event e = { .events = EPOLLIN,
			.data.u32 = (uint32_t) (k - s->conns) };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
			close(fd);
			continue;
		}
		k->fd = fd;
		k->since_us = k->last_us = now;
	}
}

/* cli_server_flush writes what it can of the pending output; -1 when the
 * connection broke. */
static int
cli_server_flush(struct cli_server *s, struct cli_server_conn *k, uint64_t now)
{
	while (k->out_off < k->out_len) {
		ssize_t w = send(k->fd, k->out + k->out_off,
		    k->out_len - k->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (!k->want_out)
				k->out_since_us = now;
			return cli_server_arm(s, k, 1);
		}
		if (w <= 0)
			return -1;
		k->out_off += (size_t) w;
	}
	k->out_off = k->out_len = 0;
	return cli_server_arm(s, k, 0);
}

static uint64_t
cli_server_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* cli_server_answer handles one request frame body; -1 closes. */
static int
cli_server_answer(struct cli_server *s, struct cli_server_conn *k,
    const uint8_t *body, size_t len)
{
	size_t hdr = 0;
	uint8_t *reply = NULL;
	size_t reply_len = 0;

	/* Routing words up to and including the request id (top bit). */
	for (int hops = 0;; hops++) {
		if (hops >= CLI_SERVER_MAX_HOPS || hdr + 4 > len)
			return -1;
		hdr += 4;
		if (body[hdr - 4] & 0x80)
			break;
	}
	s->handler(s->arg, body + hdr, len - hdr, &reply, &reply_len);
	if (reply == NULL)
		return 0;
	size_t frame = 9 + hdr + reply_len;
	if (k->out_len + frame > CLI_SERVER_MAX_OUTPUT) {
		free(reply);
		return -1;
	}
	uint8_t *out = realloc(k->out, k->out_len + frame);
	if (out == NULL) {
		free(reply);
		return -1;
	}
	k->out = out;
	uint64_t n = hdr + reply_len;
	out[k->out_len] = 1;
	for (int i = 0; i < 8; i++)
		out[k->out_len + 1 + (size_t) i] =
		    (uint8_t) (n >> (56 - 8 * i));
	memcpy(out + k->out_len + 9, body, hdr);
	if (reply_len > 0)
		memcpy(out + k->out_len + 9 + hdr, reply, reply_len);
	k->out_len += frame;
	free(reply);
	return 0;
}

/* cli_server_read reads and answers what the connection sent; -1 closes. */
static int
cli_server_read(struct cli_server *s, struct cli_server_conn *k, uint64_t now)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		if (!k->open) {
			ssize_t r = recv(k->fd, k->hello + k->hello_got,
			    sizeof(k->hello) - k->hello_got, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (r <= 0)
				return -1;
			k->hello_got += (size_t) r;
			if (k->hello_got < sizeof(k->hello))
				continue;
			/* A req0 peer: 0 'S' 'P' 0 0x00 0x30 0 0. */
			if (k->hello[0] != 0 || k->hello[1] != 'S' ||
			    k->hello[2] != 'P' || k->hello[3] != 0 ||
			    k->hello[4] != 0x00 || k->hello[5] != 0x30 ||
			    k->hello[6] != 0 || k->hello[7] != 0)
				return -1;
			k->open = 1;
			k->last_us = now;
			continue;
		}
		if (k->in_cap - k->in_len < 4096) {
			size_t cap = k->in_cap ? k->in_cap * 2 : 8192;
			if (cap > CLI_SERVER_MAX_REQUEST + 16)
				cap = CLI_SERVER_MAX_REQUEST + 16;
			if (cap <= k->in_len)
				return -1;
			uint8_t *in = realloc(k->in, cap);
			if (in == NULL)
				return -1;
			k->in = in;
			k->in_cap = cap;
		}
		ssize_t r =
		    recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r <= 0)
			return -1;
		k->in_len += (size_t) r;
		/* Every complete frame, in order. */
		size_t at = 0;
		while (k->in_len - at >= 9) {
			uint64_t n = cli_server_be64(k->in + at + 1);
			if (k->in[at] != 1 || n > CLI_SERVER_MAX_REQUEST)
				return -1;
			if (k->in_len - at - 9 < n)
				break;
			if (cli_server_answer(s, k, k->in + at + 9,
			        (size_t) n) != 0)
				return -1;
			at += 9 + (size_t) n;
			k->last_us = now;
		}
		memmove(k->in, k->in + at, k->in_len - at);
		k->in_len -= at;
		if (k->out_len > k->out_off &&
		    cli_server_flush(s, k, now) != 0)
			return -1;
	}
	return 0;
}

void
cli_server_run(struct cli_server *s, uint64_t now)
{
	struct epoll_event ev[64];
	int n = epoll_wait(s->ep, ev, 64, 0);

	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		if (tag == CLI_SERVER_LISTEN_TAG) {
			cli_server_accept(s, now);
			continue;
		}
		if (tag >= CLI_SERVER_MAX_CONNS)
			continue;
		struct cli_server_conn *k = &s->conns[tag];
		if (k->fd < 0)
			continue;
		if ((ev[i].events & EPOLLOUT) &&
		    cli_server_flush(s, k, now) != 0) {
			cli_server_drop(s, k);
			continue;
		}
		if ((ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    cli_server_read(s, k, now) != 0)
			cli_server_drop(s, k);
	}
	/* Deadlines: a handshake, a reply not read, an idle connection. */
	for (int i = 0; i < CLI_SERVER_MAX_CONNS; i++) {
		struct cli_server_conn *k = &s->conns[i];
		if (k->fd < 0)
			continue;
		if ((!k->open && now - k->since_us > CLI_SERVER_HELLO_US) ||
		    (k->out_len > k->out_off &&
		        now - k->out_since_us > CLI_SERVER_WRITE_US) ||
		    now - k->last_us > CLI_SERVER_IDLE_US)
			cli_server_drop(s, k);
	}
}

void
cli_server_close(struct cli_server *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < CLI_SERVER_MAX_CONNS; i++)
		cli_server_drop(s, &s->conns[i]);
	close(s->listen_fd);
	close(s->ep);
	unlink(s->path);
	free(s);
}
