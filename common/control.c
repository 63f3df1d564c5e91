/*
 * control.c - sending and receiving control envelopes.
 */
#include "common/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

int
sm_control_address(const char *base, int worker_id, char *buf, size_t len)
{
	int n;
	if (strncmp(base, "tcp://", 6) == 0) {
		const char *colon = strrchr(base, ':');
		long port = colon != NULL && colon > base + 6
		    ? strtol(colon + 1, NULL, 10)
		    : 0;
		if (port <= 0 || port + worker_id > 65535)
			return SM_EINVAL;
		n = snprintf(buf, len, "%.*s:%ld", (int) (colon - base), base,
		    port + worker_id);
	} else {
		n = snprintf(buf, len, "%s-%d.ipc", base, worker_id);
	}
	return n > 0 && (size_t) n < len ? SM_OK : SM_EINVAL;
}

static int
control_pack(const Snapmark__Control *c, nng_msg **out)
{
	size_t len = snapmark__control__get_packed_size(c);
	nng_msg *msg;
	if (nng_msg_alloc(&msg, len) != 0)
		return SM_ENOMEM;
	snapmark__control__pack(c, nng_msg_body(msg));
	*out = msg;
	return SM_OK;
}

int
sm_control_offer(nng_socket sock, const Snapmark__Control *c)
{
	nng_msg *msg;
	int rv = control_pack(c, &msg);
	if (rv != SM_OK)
		return rv;
	if (nng_sendmsg(sock, msg, NNG_FLAG_NONBLOCK) != 0) {
		nng_msg_free(msg);
		return SM_EAGAIN;
	}
	return SM_OK;
}

int
sm_control_send(nng_socket sock, nng_pipe pipe, const Snapmark__Control *c)
{
	nng_msg *msg;
	int rv = control_pack(c, &msg);
	if (rv != SM_OK)
		return rv;
	if (nng_pipe_id(pipe) > 0)
		nng_msg_set_pipe(msg, pipe);
	/* Non-blocking tries with a bounded wait instead of a blocking send:
	 * NNG 1.5.2 can leave a blocking send on a wedged ipc pipe waiting
	 * past its send timeout, and a task stuck there cannot be stopped. */
	uint64_t deadline = sm_now_us() + SM_CONTROL_SEND_WAIT_US;
	while ((rv = nng_sendmsg(sock, msg, NNG_FLAG_NONBLOCK)) == NNG_EAGAIN &&
	    sm_now_us() < deadline)
		sm_sleep_us(1000);
	if (rv != 0) {
		nng_msg_free(msg);
		/* still no room at the deadline: timed out */
		return rv == NNG_EAGAIN ? SM_ETIMEDOUT : sm_err_from_nng(rv);
	}
	return SM_OK;
}

int
sm_control_recv(nng_socket sock, int flags, Snapmark__Control **out,
    nng_pipe *pipe)
{
	nng_msg *msg;
	int rv = nng_recvmsg(sock, &msg, flags);
	if (rv != 0)
		return sm_err_from_nng(rv);
	nng_pipe p = nng_msg_get_pipe(msg);
	Snapmark__Control *c = NULL;
	if (nng_msg_len(msg) <= SM_CONTROL_MAX_BYTES)
		c = snapmark__control__unpack(NULL, nng_msg_len(msg),
		    nng_msg_body(msg));
	if (c == NULL ||
	    c->body_case == SNAPMARK__CONTROL__BODY__NOT_SET) {
		sm_warn("control: malformed message of %zu bytes from pipe "
		        "%d: dropping the connection",
		    nng_msg_len(msg), nng_pipe_id(p));
		if (c != NULL)
			snapmark__control__free_unpacked(c, NULL);
		nng_msg_free(msg);
		nng_pipe_close(p);
		return SM_EPROTO;
	}
	nng_msg_free(msg);
	*out = c;
	*pipe = p;
	return SM_OK;
}

int
sm_listen_private(nng_socket sock, const char *url, nng_listener *out)
{
	nng_listener l;
	int rv = nng_listener_create(&l, sock, url);
	if (rv != 0)
		return rv;
	if (strncmp(url, "ipc://", 6) == 0 &&
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600)) !=
	        0) {
		nng_listener_close(l);
		return rv;
	}
	if ((rv = nng_listener_start(l, 0)) != 0)
		nng_listener_close(l);
	else if (out != NULL)
		*out = l;
	return rv;
}
