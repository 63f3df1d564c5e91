/*
 * channel.c - data channels over NNG pair1 sockets.
 */
#include "common/channel.h"

#include <pthread.h>
#include <stdlib.h>

#include <nng/protocol/pair1/pair.h>

#include "common/clock.h"
#include "common/control.h"
#include "common/error.h"
#include "common/log.h"

/* Frames buffered on each side: 16 x ~28 KiB per side keeps a channel's
 * memory bounded near 1 MiB while hiding scheduling jitter. */
#define CHANNEL_BUFFER_FRAMES 16

/* How often a blocked sender looks at its stop flag. */
#define CHANNEL_SEND_POLL_MS 20

struct sm_channel {
	nng_socket sock;
	int open;
	uint32_t index;
	uint64_t epoch;
	uint64_t send_seq;
	uint64_t recv_seq;
	int recv_fd;
	atomic_int peers;      /* pipes currently attached */
	atomic_int broken;
	int sender;
	atomic_int good_pipe;  /* receiver: pipe that delivered valid frames */
};

static void
channel_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct sm_channel *ch = arg;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&ch->peers, 1);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&ch->peers, 1);
		/* A receiver only counts the loss of the pipe its real peer
		 * used: a stranger dropped for sending garbage must not fail
		 * the job. */
		if (ch->sender ||
		    atomic_load(&ch->good_pipe) == nng_pipe_id(pipe))
			atomic_store(&ch->broken, 1);
	}
}

static int
channel_open(uint32_t index, uint64_t epoch, struct sm_channel **out)
{
	struct sm_channel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return SM_ENOMEM;
	ch->index = index;
	ch->epoch = epoch;
	ch->recv_fd = -1;
	atomic_init(&ch->good_pipe, -1);
	if (nng_pair1_open(&ch->sock) != 0)
		goto fail;
	ch->open = 1;
	if (nng_socket_set_size(ch->sock, NNG_OPT_RECVMAXSZ,
	        SM_FRAME_MAX_BYTES) != 0 ||
	    nng_socket_set_int(ch->sock, NNG_OPT_SENDBUF,
	        CHANNEL_BUFFER_FRAMES) != 0 ||
	    nng_socket_set_int(ch->sock, NNG_OPT_RECVBUF,
	        CHANNEL_BUFFER_FRAMES) != 0 ||
	    nng_socket_set_ms(ch->sock, NNG_OPT_SENDTIMEO,
	        CHANNEL_SEND_POLL_MS) != 0 ||
	    nng_socket_set_ms(ch->sock, NNG_OPT_RECONNMINT, 5) != 0 ||
	    nng_socket_set_ms(ch->sock, NNG_OPT_RECONNMAXT, 100) != 0)
		goto fail;
	if (nng_pipe_notify(ch->sock, NNG_PIPE_EV_ADD_POST, channel_pipe_event,
	        ch) != 0 ||
	    nng_pipe_notify(ch->sock, NNG_PIPE_EV_REM_POST, channel_pipe_event,
	        ch) != 0)
		goto fail;
	*out = ch;
	return SM_OK;
fail:
	sm_channel_close(ch);
	return SM_ENET;
}

int
sm_channel_listen(const char *url, uint32_t index, uint64_t epoch,
    struct sm_channel **out)
{
	struct sm_channel *ch;
	int rv = channel_open(index, epoch, &ch);
	if (rv != SM_OK)
		return rv;
	int nrv = sm_listen_private(ch->sock, url, NULL);
	if (nrv != 0) {
		sm_error("channel %u: cannot listen at %s: %s", index, url,
		    nng_strerror(nrv));
		sm_channel_close(ch);
		return SM_ENET;
	}
	if (nng_socket_get_int(ch->sock, NNG_OPT_RECVFD, &ch->recv_fd) != 0) {
		sm_channel_close(ch);
		return SM_ENET;
	}
	*out = ch;
	return SM_OK;
}

int
sm_channel_dial(const char *url, uint32_t index, uint64_t epoch,
    struct sm_channel **out)
{
	struct sm_channel *ch;
	int rv = channel_open(index, epoch, &ch);
	if (rv != SM_OK)
		return rv;
	ch->sender = 1;
	int nrv = nng_dial(ch->sock, url, NULL, NNG_FLAG_NONBLOCK);
	if (nrv != 0) {
		sm_error("channel %u: cannot dial %s: %s", index, url,
		    nng_strerror(nrv));
		sm_channel_close(ch);
		return SM_ENET;
	}
	*out = ch;
	return SM_OK;
}

void
sm_channel_close(struct sm_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->open)
		nng_close(ch->sock);
	free(ch);
}

struct channel_batch {
	struct sm_channel **chs;
	size_t n;
};

static atomic_int channel_closers;

static void *
channel_closer(void *arg)
{
	struct channel_batch *b = arg;
	for (size_t i = 0; i < b->n; i++)
		sm_channel_close(b->chs[i]);
	free(b->chs);
	free(b);
	atomic_fetch_sub(&channel_closers, 1);
	return NULL;
}

int
sm_channel_wait_closed(uint64_t timeout_us)
{
	uint64_t deadline = sm_now_us() + timeout_us;
	while (atomic_load(&channel_closers) > 0 && sm_now_us() < deadline)
		sm_sleep_us(1000);
	return atomic_load(&channel_closers);
}

void
sm_channel_close_detached(struct sm_channel **chs, size_t n)
{
	struct channel_batch *b = malloc(sizeof(*b));
	pthread_attr_t attr;
	pthread_t th;
	if (b != NULL) {
		b->chs = chs;
		b->n = n;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		atomic_fetch_add(&channel_closers, 1);
		int rv = pthread_create(&th, &attr, channel_closer, b);
		pthread_attr_destroy(&attr);
		if (rv == 0)
			return;
		atomic_fetch_sub(&channel_closers, 1);
		free(b);
	}
	/* No thread: close here rather than leak. */
	struct channel_batch inline_batch = { .chs = chs, .n = n };
	for (size_t i = 0; i < inline_batch.n; i++)
		sm_channel_close(inline_batch.chs[i]);
	free(chs);
}

uint64_t
sm_channel_next_seq(struct sm_channel *ch)
{
	return ch->send_seq++;
}

int
sm_channel_try_send(struct sm_channel *ch, nng_msg *msg)
{
	if (atomic_load(&ch->broken))
		return SM_ECLOSED;
	return sm_err_from_nng(nng_sendmsg(ch->sock, msg, NNG_FLAG_NONBLOCK));
}

int
sm_channel_send(struct sm_channel *ch, nng_msg *msg, const atomic_int *stop)
{
	for (;;) {
		if (atomic_load(stop))
			return SM_ESTOPPED;
		if (atomic_load(&ch->broken))
			return SM_ECLOSED;
		int rv = nng_sendmsg(ch->sock, msg, 0);
		if (rv == 0)
			return SM_OK;
		if (rv != NNG_ETIMEDOUT)
			return sm_err_from_nng(rv);
	}
}

int
sm_channel_recv(struct sm_channel *ch, Snapmark__Frame **out)
{
	for (;;) {
		nng_msg *msg;
		int rv = nng_recvmsg(ch->sock, &msg, NNG_FLAG_NONBLOCK);
		if (rv != 0)
			return sm_err_from_nng(rv);
		Snapmark__Frame *f = NULL;
		const char *why = NULL;
		if (sm_frame_decode(msg, ch->index, &f, &why) != SM_OK) {
			sm_warn("channel %u: malformed frame of %zu bytes from "
			        "pipe %d (%s): dropping the connection",
			    ch->index, nng_msg_len(msg),
			    nng_pipe_id(nng_msg_get_pipe(msg)), why);
			nng_pipe_close(nng_msg_get_pipe(msg));
			nng_msg_free(msg);
			return SM_EPROTO;
		}
		int pipe_id = nng_pipe_id(nng_msg_get_pipe(msg));
		nng_msg_free(msg);
		if (f->epoch != ch->epoch) {
			sm_debug("channel %u: discarding frame of epoch %llu",
			    ch->index, (unsigned long long) f->epoch);
			sm_frame_free(f);
			continue;
		}
		if (f->seq != ch->recv_seq) {
			sm_warn("channel %u: frame %llu arrived, expected %llu: "
			        "dropping the connection",
			    ch->index, (unsigned long long) f->seq,
			    (unsigned long long) ch->recv_seq);
			sm_frame_free(f);
			atomic_store(&ch->broken, 1);
			return SM_EPROTO;
		}
		ch->recv_seq++;
		atomic_store(&ch->good_pipe, pipe_id);
		*out = f;
		return SM_OK;
	}
}

int
sm_channel_fd(struct sm_channel *ch)
{
	return ch->recv_fd;
}

int
sm_channel_broken(const struct sm_channel *ch)
{
	return atomic_load(&ch->broken);
}

uint32_t
sm_channel_index(const struct sm_channel *ch)
{
	return ch->index;
}
