/*
 * test_trust.c - the checks of untrusted snapshot metadata
 * (worker/trust.h): sink pending names and snapshot locations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/check.h"
#include "common/state.h"
#include "worker/trust.h"

/* ---- pending names ------------------------------------------------------ */

static void
the_sinks_own_names_pass(void)
{
	char why[200] = "";
	T_OK(sm_trust_pending_name("part-0-000000000007", 7, 0, 7, why,
	    sizeof(why)));
	T_OK(sm_trust_pending_name("part-3-000000000002", 2, 3, 9, why,
	    sizeof(why)));
	T_OK(sm_trust_pending_name("part-12-123456789012", 123456789012u, 12,
	    123456789012u, why, sizeof(why)));
}

static void
names_that_are_not_plain_or_not_the_sinks_are_refused(void)
{
	static const struct {
		const char *name;
		const char *reason; /* a word of the reason */
	} bad[] = {
		{ "../../victim", "not a plain file name" },
		{ "../../../etc/passwd", "not a plain file name" },
		{ "/etc/passwd", "not a plain file name" },
		{ "..", "not a plain file name" },
		{ ".", "not a plain file name" },
		{ "", "not a plain file name" },
		{ "part-0-000000000007/../x", "not a plain file name" },
		{ "victim", "expected part-0-000000000007" },
		{ "part-1-000000000007", "expected part-0-000000000007" },
		{ "part-0-7", "expected part-0-000000000007" },
		{ "part-0-000000000008", "expected part-0-000000000007" },
		{ "part-0-000000000007 ", "expected part-0-000000000007" },
		{ "part-0-000000000007\n", "expected part-0-000000000007" },
		{ ".staging-0", "expected part-0-000000000007" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[200] = "";
		int rv = sm_trust_pending_name(bad[i].name, 7, 0, 7, why,
		    sizeof(why));
		if (rv != SM_ECORRUPT)
			T_FAIL_("'%s': got %s", bad[i].name, sm_strerror(rv));
		if (strstr(why, bad[i].reason) == NULL ||
		    strstr(why, "untrusted snapshot metadata") == NULL)
			T_FAIL_("'%s': reason '%s' lacks '%s'", bad[i].name,
			    why, bad[i].reason);
		if (strchr(why, '\n') != NULL)
			T_FAIL_("'%s': the reason holds a newline",
			    bad[i].name);
	}
	char why[200];
	T_ERR(sm_trust_pending_name(NULL, 7, 0, 7, why, sizeof(why)),
	    SM_ECORRUPT);
}

static void
a_pending_file_newer_than_the_restored_checkpoint_is_refused(void)
{
	char why[200] = "";
	T_ERR(sm_trust_pending_name("part-0-000000000008", 8, 0, 7, why,
	          sizeof(why)),
	    SM_ECORRUPT);
	T_TRUE(strstr(why, "newer than the restored 7") != NULL);
}

/* ---- locations ---------------------------------------------------------- */

struct dirs {
	char root[64];
	char own[128], own_sub[160], other[128], savepoint[128], sp_task[160];
	char link_out[160], link_in_sp[160], outside[128];
};

static int
dirs_make(struct dirs *d)
{
	snprintf(d->root, sizeof(d->root), "/tmp/sm_trust_XXXXXX");
	if (mkdtemp(d->root) == NULL)
		return SM_EIO;
	char state[100];
	snprintf(state, sizeof(state), "%s/state", d->root);
	snprintf(d->own, sizeof(d->own), "%s/count.0", state);
	snprintf(d->own_sub, sizeof(d->own_sub), "%s/sub", d->own);
	snprintf(d->other, sizeof(d->other), "%s/count.1", state);
	snprintf(d->savepoint, sizeof(d->savepoint), "%s/sp", d->root);
	snprintf(d->sp_task, sizeof(d->sp_task), "%s/count.0", d->savepoint);
	snprintf(d->outside, sizeof(d->outside), "%s/outside", d->root);
	snprintf(d->link_out, sizeof(d->link_out), "%s/link", d->own);
	snprintf(d->link_in_sp, sizeof(d->link_in_sp), "%s/link",
	    d->savepoint);
	if (mkdir(state, 0700) != 0 || mkdir(d->own, 0700) != 0 ||
	    mkdir(d->own_sub, 0700) != 0 || mkdir(d->other, 0700) != 0 ||
	    mkdir(d->savepoint, 0700) != 0 || mkdir(d->sp_task, 0700) != 0 ||
	    mkdir(d->outside, 0700) != 0 ||
	    symlink(d->outside, d->link_out) != 0 ||
	    symlink(d->other, d->link_in_sp) != 0)
		return SM_EIO;
	return SM_OK;
}

static void
dirs_remove(struct dirs *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", d->root);
}

static void
the_own_state_dir_and_the_savepoint_dir_pass(void)
{
	struct dirs d;
	T_OK(dirs_make(&d));
	char why[300] = "", dotted[300];
	int own = sm_trust_location(d.own, d.own, NULL, why, sizeof(why));
	int sub = sm_trust_location(d.own_sub, d.own, NULL, why, sizeof(why));
	snprintf(dotted, sizeof(dotted), "%s/./sub/..", d.own);
	int dots = sm_trust_location(dotted, d.own, NULL, why, sizeof(why));
	int sp =
	    sm_trust_location(d.sp_task, d.own, d.savepoint, why, sizeof(why));
	dirs_remove(&d);
	T_OK(own);
	T_OK(sub);
	T_OK(dots);
	T_OK(sp);
}

static void
locations_elsewhere_are_refused(void)
{
	struct dirs d;
	T_OK(dirs_make(&d));
	char up[300], prefix[300];
	snprintf(up, sizeof(up), "%s/../count.1", d.own);
	/* a sibling whose name starts with the own dir's */
	snprintf(prefix, sizeof(prefix), "%s0", d.own);
	mkdir(prefix, 0700);
	const struct {
		const char *loc;
		const char *sp;
		int want;
		const char *reason;
	} cases[] = {
		{ d.other, NULL, SM_ECORRUPT, "outside" },
		{ up, NULL, SM_ECORRUPT, "outside" },
		{ prefix, NULL, SM_ECORRUPT, "outside" },
		{ d.outside, NULL, SM_ECORRUPT, "outside" },
		{ d.link_out, NULL, SM_ECORRUPT, "outside" },
		{ d.link_in_sp, d.savepoint, SM_ECORRUPT, "outside" },
		{ d.sp_task, NULL, SM_ECORRUPT, "outside" },
		{ "/", NULL, SM_ECORRUPT, "outside" },
		{ "count.0", NULL, SM_ECORRUPT, "not an absolute path" },
		{ "inline", NULL, SM_ECORRUPT, "not an absolute path" },
		{ "", NULL, SM_ECORRUPT, "not an absolute path" },
		{ "/nonexistent/sm_trust/x", NULL, SM_ENOTFOUND,
		    "cannot open" },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[400] = "";
		int rv = sm_trust_location(cases[i].loc, d.own, cases[i].sp,
		    why, sizeof(why));
		if (rv != cases[i].want ||
		    strstr(why, cases[i].reason) == NULL) {
			fprintf(stderr, "  '%s': got %s (%s), want %s (%s)\n",
			    cases[i].loc, sm_strerror(rv), why,
			    sm_strerror(cases[i].want), cases[i].reason);
			failed = 1;
		}
	}
	dirs_remove(&d);
	T_TRUE(!failed);
}

static void
key_groups_at_or_past_max_parallelism_are_refused(void)
{
	struct sm_state_entry e[3] = {
		{ .state = 1, .key_group = 0 },
		{ .state = 1, .key_group = 127 },
		{ .state = 1, .key_group = 5 },
	};
	char why[256] = "";
	T_OK(sm_trust_key_groups(e, 3, 128, why, sizeof(why)));
	T_OK(sm_trust_key_groups(e, 0, 128, why, sizeof(why)));
	e[2].key_group = 128;
	T_ERR(sm_trust_key_groups(e, 3, 128, why, sizeof(why)), SM_ECORRUPT);
	T_TRUE(strstr(why, "key group 128") != NULL);
	e[2].key_group = UINT32_MAX;
	T_ERR(sm_trust_key_groups(e, 3, 128, why, sizeof(why)), SM_ECORRUPT);
	/* a smaller max_parallelism than the snapshot's groups */
	e[2].key_group = 5;
	T_ERR(sm_trust_key_groups(e, 3, 64, why, sizeof(why)), SM_ECORRUPT);
}

static const struct sm_test tests[] = {
#define T(name)                                                               \
	{                                                                     \
#name, name                                                   \
	}
	T(the_sinks_own_names_pass),
	T(names_that_are_not_plain_or_not_the_sinks_are_refused),
	T(a_pending_file_newer_than_the_restored_checkpoint_is_refused),
	T(the_own_state_dir_and_the_savepoint_dir_pass),
	T(locations_elsewhere_are_refused),
	T(key_groups_at_or_past_max_parallelism_are_refused),
#undef T
	{ NULL, NULL },
};

SM_TEST_MAIN(tests)
