/*
 * cli_session.h - one `snapmark` command's conversation with the
 * coordinator (see cli_session.c).
 */
#ifndef SM_CLI_SESSION_H
#define SM_CLI_SESSION_H

#include "cli/cli_args.h"

/*
 * cli_session_run carries out a parsed request command (not help,
 * version or validate): finds and asks the coordinator (or the catalog of an ended
 * job) and prints the answer on stdout, every problem as one "snapmark:
 * ..." line on stderr. Returns SM_OK, or the negative SM_E* code of the
 * failure (already reported). Once per process: it sets a SIGALRM
 * watchdog and leaves the coordinator's socket open for exit to close.
 */
int cli_session_run(const struct cli_args *args);

#endif
