/*
 * cli_args.h - the command line of `snapmark`: which command, which
 * options (see cli_args.c), and the usage text.
 */
#ifndef SM_CLI_ARGS_H
#define SM_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

enum cli_cmd {
	CLI_HELP,
	CLI_STATUS,
	CLI_CHECKPOINTS,
	CLI_SHOW,
	CLI_TRIGGER,
	CLI_SAVEPOINT,
	CLI_EXPLAIN,
	CLI_CANCEL,
	CLI_STOP,     /* savepoint --stop; cli_args_parse turns it into that */
	CLI_VALIDATE, /* validate JOBFILE: no coordinator (cli_validate.h) */
	CLI_VERSION,  /* --version */
};

/* What the command line asks for. The strings point into argv. */
struct cli_args {
	enum cli_cmd cmd;
	const char *coordinator; /* --coordinator, or NULL */
	const char *run_dir;     /* --run-dir, or NULL */
	int timeout_ms;          /* --timeout, 0 when not given */
	int json;
	int wait;        /* trigger --wait */
	int stop;        /* savepoint --stop */
	const char *dir; /* savepoint --dir, absolute, or NULL */
	uint64_t id;     /* show, explain */
	const char *job; /* validate: the job file */
	uint64_t limit;  /* checkpoints --limit (0: all) */
	int has_limit;
	int wide; /* checkpoints --wide */
};

/* The text of `snapmark help`, also printed after a usage error. */
extern const char cli_usage_text[];

/*
 * cli_args_parse fills a from argv (options may come before or after the
 * command). --version anywhere wins (CLI_VERSION), then --help anywhere
 * (CLI_HELP), over any problem with the rest. Returns SM_OK, or SM_EINVAL
 * with the first problem, one line without "snapmark: " or a newline
 * ("unknown command 'x'"), in problem[0..cap). It prints nothing and
 * uses getopt_long, so it resets optind first.
 */
int cli_args_parse(int argc, char **argv, struct cli_args *a, char *problem,
    size_t cap);

#endif
