/*
 * error.c - descriptions of snapmark's error codes.
 */
#include "common/error.h"

#include <errno.h>

#include <nng/nng.h>

const char *
sm_strerror(int err)
{
	switch (err) {
	case SM_OK:
		return "ok";
	case SM_ENOMEM:
		return "out of memory";
	case SM_EINVAL:
		return "invalid argument or input";
	case SM_EIO:
		return "I/O error";
	case SM_ESTORE:
		return "storage (LMDB) error";
	case SM_EMAPFULL:
		return "LMDB map full";
	case SM_ECORRUPT:
		return "corrupt data (decode or checksum failed)";
	case SM_ENOTFOUND:
		return "not found";
	case SM_EPROTO:
		return "protocol error";
	case SM_ETIMEDOUT:
		return "timed out";
	case SM_ECLOSED:
		return "closed";
	case SM_ENET:
		return "network (NNG) error";
	case SM_ESTOPPED:
		return "stopped";
	case SM_EAGAIN:
		return "try again";
	case SM_ENOSPC:
		return "no space left on device";
	}
	return "unknown error";
}

int
sm_err_from_errno(int e)
{
	switch (e) {
	case 0:
		return SM_OK;
	case ENOMEM:
		return SM_ENOMEM;
	case EINVAL:
		return SM_EINVAL;
	case ENOENT:
		return SM_ENOTFOUND;
	case ETIMEDOUT:
		return SM_ETIMEDOUT;
	case ENOSPC:
	case EDQUOT:
		return SM_ENOSPC;
	default:
		return SM_EIO;
	}
}

int
sm_err_from_nng(int nng_rv)
{
	switch (nng_rv) {
	case 0:
		return SM_OK;
	case NNG_EAGAIN:
		return SM_EAGAIN;
	case NNG_ETIMEDOUT:
		return SM_ETIMEDOUT;
	case NNG_ECLOSED:
		return SM_ECLOSED;
	case NNG_ENOMEM:
		return SM_ENOMEM;
	default:
		return SM_ENET;
	}
}
