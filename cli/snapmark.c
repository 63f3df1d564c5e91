/*
 * snapmark.c - `snapmark`, the command-line client of a running coordinator
 * (docs/CLI.md): the process around one command.
 *
 * It owns what the process says back as a whole: the usage text after a
 * bad command line, help and version, and the exit status: 0 success,
 * 1 runtime failure (no coordinator, an error reply, a malformed reply, a
 * failed checkpoint, a job validate refuses, output that cannot be
 * written), 2 bad usage. The
 * command line is cli_args.c's, the conversation cli_session.c's.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli_args.h"
#include "cli/cli_session.h"
#include "cli/cli_validate.h"
#include "common/error.h"
#include "common/version.h"

int
main(int argc, char **argv)
{
	struct cli_args args;
	char problem[256];
	int rv = SM_OK;

	if (cli_args_parse(argc, argv, &args, problem, sizeof(problem)) !=
	    SM_OK) {
		fprintf(stderr, "snapmark: %s\n", problem);
		fputs(cli_usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (args.cmd == CLI_VERSION) {
		printf("snapmark %s\n", SM_VERSION_STRING);
		return 0;
	}
	if (args.cmd == CLI_HELP)
		fputs(cli_usage_text, stdout);
	else if (args.cmd == CLI_VALIDATE)
		rv = cli_validate_run(args.job, stdout, stderr);
	else
		rv = cli_session_run(&args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("snapmark: cannot write output\n", stderr);
		rv = SM_EIO;
	}
	int code = rv == SM_OK ? 0 : CLI_EXIT_FAIL;
	/* A session leaves NNG's threads running (it never calls nng_close,
	 * which can wait forever on a wedged pipe): leave at once, output
	 * flushed, so that nothing at exit runs beside them (atexit handlers;
	 * LeakSanitizer's stop-the-world once crashed on them). The
	 * session's code is leak-checked by tests/test_cli instead. */
	if (args.cmd != CLI_HELP && args.cmd != CLI_VALIDATE)
		_exit(code);
	return code;
}
