/*
 * error.h - snapmark's one error convention.
 *
 * Every fallible function returns int: SM_OK (0) on success or one of the
 * positive codes below. Out-parameters are written only on success.
 * Failures from errno, NNG, LMDB and protobuf-c are translated once, at the
 * call that produced them, so no other code has to know their conventions.
 */
#ifndef SM_ERROR_H
#define SM_ERROR_H

enum sm_err {
	SM_OK = 0,
	SM_ENOMEM,    /* allocation failed */
	SM_EINVAL,    /* bad argument or malformed input */
	SM_EIO,       /* file system or OS call failed */
	SM_ESTORE,    /* LMDB failed */
	SM_EMAPFULL,  /* LMDB map is full (caller may grow and retry) */
	SM_ECORRUPT,  /* stored bytes do not decode or fail their checksum */
	SM_ENOTFOUND, /* no such key, checkpoint, task */
	SM_EPROTO,    /* a peer sent something that is not our protocol */
	SM_ETIMEDOUT, /* a deadline passed */
	SM_ECLOSED,   /* the connection or object is closed */
	SM_ENET,      /* NNG failed */
	SM_ESTOPPED,  /* the operation was cancelled by a stop request */
	SM_EAGAIN,    /* nothing now, try later */
	SM_ENOSPC,    /* no space left on the device (ENOSPC, EDQUOT) */
};

/* sm_strerror returns a static description of an sm_err code. */
const char *sm_strerror(int err);

/* sm_err_from_errno maps an errno value to an sm_err code. */
int sm_err_from_errno(int e);

/* sm_err_from_nng maps an NNG return value to an sm_err code: NNG_EAGAIN,
 * NNG_ETIMEDOUT, NNG_ECLOSED and NNG_ENOMEM to their own, any other
 * failure to SM_ENET. The one place NNG's codes are translated. */
int sm_err_from_nng(int nng_rv);

#endif
