/*
 * trust.c - checks of untrusted snapshot metadata (see trust.h).
 */
#include "worker/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/state.h"

/* A copy of s fit for a log line: at most 80 bytes, non-printable bytes
 * as '?', so a forged name cannot forge log lines. */
static const char *
trust_printable(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < len && i < 80; i++)
		buf[i] =
		    (unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f
		    ? '?'
		    : s[i];
	buf[i] = '\0';
	return buf;
}

int
sm_trust_pending_name(const char *name, uint64_t name_id, int subtask,
    uint64_t restored_id, char *why, size_t whylen)
{
	char shown[96], expected[64];
	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(why, whylen,
		    "untrusted snapshot metadata: pending file name '%s' is "
		    "not a plain file name",
		    name == NULL
		        ? ""
		        : trust_printable(name, shown, sizeof(shown)));
		return SM_ECORRUPT;
	}
	snprintf(expected, sizeof(expected), SM_SINK_PENDING_FMT, subtask,
	    name_id);
	if (strcmp(name, expected) != 0) {
		snprintf(why, whylen,
		    "untrusted snapshot metadata: pending file name '%s' is "
		    "not one of this sink's (expected %s)",
		    trust_printable(name, shown, sizeof(shown)), expected);
		return SM_ECORRUPT;
	}
	if (name_id > restored_id) {
		snprintf(why, whylen,
		    "untrusted snapshot metadata: pending file %s is of "
		    "checkpoint %" PRIu64 ", newer than the restored %" PRIu64,
		    name, name_id, restored_id);
		return SM_ECORRUPT;
	}
	return SM_OK;
}

/* path (resolved) is root (resolved) or lies below it. */
static int
trust_under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return 1;
	return strncmp(path, root, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
sm_trust_location(const char *location, const char *own_dir,
    const char *savepoint_dir, char *why, size_t whylen)
{
	char shown[96], real[PATH_MAX], root[PATH_MAX];
	if (location == NULL || location[0] != '/') {
		snprintf(why, whylen,
		    "untrusted snapshot metadata: location '%s' is not an "
		    "absolute path",
		    location == NULL
		        ? ""
		        : trust_printable(location, shown, sizeof(shown)));
		return SM_ECORRUPT;
	}
	if (realpath(location, real) == NULL) {
		snprintf(why, whylen, "cannot open %s: %s",
		    trust_printable(location, shown, sizeof(shown)),
		    strerror(errno));
		return errno == ENOENT ? SM_ENOTFOUND : SM_EIO;
	}
	if (own_dir != NULL && realpath(own_dir, root) != NULL &&
	    trust_under(real, root))
		return SM_OK;
	if (savepoint_dir != NULL && savepoint_dir[0] != '\0' &&
	    realpath(savepoint_dir, root) != NULL && trust_under(real, root))
		return SM_OK;
	snprintf(why, whylen,
	    "untrusted snapshot metadata: location %s lies outside the "
	    "task's state directory %s%s%s",
	    trust_printable(location, shown, sizeof(shown)),
	    own_dir != NULL ? own_dir : "?",
	    savepoint_dir != NULL && savepoint_dir[0] != '\0'
	        ? " and the savepoint directory "
	        : "",
	    savepoint_dir != NULL ? savepoint_dir : "");
	return SM_ECORRUPT;
}

int
sm_trust_key_groups(const struct sm_state_entry *e, size_t n,
    int max_parallelism, char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		if (max_parallelism > 0 &&
		    e[i].key_group < (uint32_t) max_parallelism)
			continue;
		snprintf(why, whylen,
		    "untrusted snapshot metadata: state entry %zu has key "
		    "group %" PRIu32 ", the stage has %d",
		    i, e[i].key_group, max_parallelism);
		return SM_ECORRUPT;
	}
	return SM_OK;
}
