/*
 * check.h - the tiny assertion kit of snapmark's unit tests.
 *
 * A test file is a table of named test functions run by sm_test_main();
 * each check prints the expression, file:line and (for T_OK) sm_strerror of
 * the code it got, then fails the current test. The runner prints one line
 * per test and exits non-zero if any failed.
 */
#ifndef SM_CHECK_H
#define SM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

extern int sm_test_failed;

#define T_FAIL_(fmt, ...)                                                    \
	do {                                                                 \
		fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__,    \
		    __VA_ARGS__);                                            \
		sm_test_failed = 1;                                          \
		return;                                                      \
	} while (0)

/* T_OK(expr): expr must return SM_OK. */
#define T_OK(expr)                                                           \
	do {                                                                 \
		int t_rv_ = (expr);                                          \
		if (t_rv_ != SM_OK)                                          \
			T_FAIL_("%s failed: %s", #expr, sm_strerror(t_rv_)); \
	} while (0)

/* T_ERR(expr, code): expr must return exactly code. */
#define T_ERR(expr, code)                                                    \
	do {                                                                 \
		int t_rv_ = (expr);                                          \
		if (t_rv_ != (code))                                         \
			T_FAIL_("%s returned %s, expected %s", #expr,        \
			    sm_strerror(t_rv_), sm_strerror(code));          \
	} while (0)

#define T_TRUE(expr)                                                         \
	do {                                                                 \
		if (!(expr))                                                 \
			T_FAIL_("expected %s", #expr);                       \
	} while (0)

#define T_EQ_INT(a, b)                                                       \
	do {                                                                 \
		long long t_a_ = (long long) (a), t_b_ = (long long) (b);    \
		if (t_a_ != t_b_)                                            \
			T_FAIL_("%s == %lld, expected %s == %lld", #a, t_a_, \
			    #b, t_b_);                                       \
	} while (0)

#define T_EQ_STR(a, b)                                                       \
	do {                                                                 \
		const char *t_a_ = (a), *t_b_ = (b);                         \
		if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) \
			T_FAIL_("%s == \"%s\", expected \"%s\"", #a,         \
			    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
	} while (0)

struct sm_test {
	const char *name;
	void (*fn)(void);
};

/* sm_test_main runs every test of the NULL-terminated table (or only those
 * named on the command line) and returns the process exit status. */
static inline int
sm_test_main(const struct sm_test *tests, int argc, char **argv)
{
	int failures = 0, run = 0;
	for (const struct sm_test *t = tests; t->name != NULL; t++) {
		if (argc > 1) {
			int wanted = 0;
			for (int i = 1; i < argc; i++)
				wanted |= strcmp(argv[i], t->name) == 0;
			if (!wanted)
				continue;
		}
		sm_test_failed = 0;
		t->fn();
		run++;
		printf("%s %s\n", sm_test_failed ? "FAIL" : "ok  ", t->name);
		failures += sm_test_failed;
	}
	printf("%d tests, %d failed\n", run, failures);
	return failures == 0 && run > 0 ? 0 : 1;
}

#define SM_TEST_MAIN(table)                                                  \
	int sm_test_failed;                                                  \
	int main(int argc, char **argv)                                      \
	{                                                                    \
		return sm_test_main(table, argc, argv);                      \
	}

#endif
