/*
 * cli_args.c - the command line of `snapmark`: getopt_long over argv into
 * a struct cli_args, and every usage problem as one exact message.
 *
 * It owns the grammar (docs/CLI.md, docs/man/snapmark.1.scd): options
 * before or after the command, "--option VALUE" or "--option=VALUE", "--"
 * ending the options, option names only in full (getopt_long would take
 * "--wa" for --wait; the CLI never has), and which options go with which
 * command. Nothing here prints or exits, so the unit tests feed it argument
 * vectors and compare the result or the problem.
 */
#include "cli/cli_args.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

const char cli_usage_text[] =
    "usage: snapmark [options] <command> [args]\n"
    "\n"
    "commands:\n"
    "  status             job state, epoch, restarts, checkpoints, workers\n"
    "  checkpoints [--limit N] [--wide]\n"
    "                     checkpoint history, newest first: the newest N\n"
    "                     (default 20, with --json 100; 0 for all, at\n"
    "                     most 10000), fitting 80 columns; --wide adds\n"
    "                     the date and the FULL column and does not cut\n"
    "                     the FAILURE column\n"
    "  show ID            one checkpoint with its per-task snapshots\n"
    "  explain ID         the critical path of a checkpoint: which tasks\n"
    "                     and channels its time went to, the slowest\n"
    "                     channel, a verdict; for a failed one, the tasks\n"
    "                     that did not acknowledge and what they were\n"
    "                     last seen doing\n"
    "  trigger [--wait]   trigger a checkpoint now; with --wait, wait for\n"
    "                     it to complete or fail\n"
    "  savepoint [--stop] [--dir DIR]\n"
    "                     write a full, self-contained snapshot of the job\n"
    "                     to DIR, an absolute path, empty or new, outside\n"
    "                     the run dir's live state (default\n"
    "                     RUN/savepoints/savepoint-ID),\n"
    "                     never removed by retention; waits for it; with\n"
    "                     --stop the job stops once it is written\n"
    "  stop [--dir DIR]   the same as savepoint --stop\n"
    "  cancel             stop the job without a savepoint: CANCELED, the\n"
    "                     output stays as of the latest completed\n"
    "                     checkpoint\n"
    "  validate JOBFILE   check a job file without a cluster: parse it,\n"
    "                     load and configure its user operators\n"
    "  help               this text\n"
    "\n"
    "Once the job has ended and its coordinator exited, status,\n"
    "checkpoints and show read RUN/coordinator (the catalog) read-only.\n"
    "\n"
    "options (before or after the command):\n"
    "  --run-dir DIR      the cluster's run directory (default:\n"
    "                     $SNAPMARK_RUN_DIR, else ./run); the coordinator\n"
    "                     answers on ipc://DIR/cli.ipc\n"
    "  --coordinator URL  talk to the coordinator at URL instead\n"
    "  --timeout MS       give up after MS milliseconds (default 5000;\n"
    "                     60000 for trigger --wait)\n"
    "  --json             print one JSON object instead of text\n"
    "  -h, --help         this text\n"
    "  --version          print the version and exit\n"
    "\n"
    "exit status: 0 ok, 1 failed (no coordinator, error reply, failed\n"
    "checkpoint, a job file validate refuses), 2 bad usage\n";

enum {
	OPT_HELP = 'h',
	OPT_VERSION = 256,
	OPT_JSON,
	OPT_WAIT,
	OPT_STOP,
	OPT_WIDE,
	OPT_LIMIT,
	OPT_DIR,
	OPT_COORDINATOR,
	OPT_RUN_DIR,
	OPT_TIMEOUT,
};

static const struct option cli_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "stop", no_argument, NULL, OPT_STOP },
	{ "wide", no_argument, NULL, OPT_WIDE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "coordinator", required_argument, NULL, OPT_COORDINATOR },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

/* The command names, in the order of enum cli_cmd. */
static const char *const cli_commands[] = { "help", "status", "checkpoints",
	"show", "trigger", "savepoint", "explain", "cancel", "stop",
	"validate" };

/* cli_parse_u64 accepts only plain decimal digits that fit. */
static int
cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
		return SM_EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return SM_EINVAL;
		unsigned d = (unsigned) (*s - '0');
		if (v > (max - d) / 10)
			return SM_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return SM_OK;
}

/* The first problem of a command line wins; later ones are dropped. */
struct cli_problem {
	char *text;
	size_t cap;
};

static void cli_problem(struct cli_problem *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cli_problem(struct cli_problem *p, const char *fmt, ...)
{
	va_list ap;
	if (p->text[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(p->text, p->cap, fmt, ap);
	va_end(ap);
}

/*
 * cli_long_named tells whether the argument arg spells option o in full:
 * "--NAME", or "--NAME=VALUE" for an option that takes a value.
 */
static int
cli_long_named(const char *arg, const struct option *o)
{
	size_t n = strlen(o->name);
	if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, o->name, n) != 0)
		return 0;
	return arg[2 + n] == '\0' ||
	    (arg[2 + n] == '=' && o->has_arg == required_argument);
}

/* cli_option_of returns the option whose value is val. */
static const struct option *
cli_option_of(int val)
{
	const struct option *o = cli_options;
	while (o->name != NULL && o->val != val)
		o++;
	return o->name != NULL ? o : NULL;
}

/* cli_valued_option tells whether arg is exactly "--NAME" of an option
 * that takes a value. */
static int
cli_valued_option(const char *arg)
{
	for (const struct option *o = cli_options; o->name != NULL; o++)
		if (o->has_arg == required_argument &&
		    strncmp(arg, "--", 2) == 0 &&
		    strcmp(arg + 2, o->name) == 0)
			return 1;
	return 0;
}

int
cli_args_parse(int argc, char **argv, struct cli_args *a, char *problem,
    size_t cap)
{
	struct cli_problem p = { problem, cap };
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0, help = 0, version = 0, c;
	uint64_t v;

	memset(a, 0, sizeof(*a));
	problem[0] = '\0';
	/*
	 * "-" first: non-options come back in order as 1 and argv is never
	 * permuted, so argv[at] is always the argument being parsed (also
	 * within "-hx"), the one a message names. ":": a missing value is
	 * ':', not '?'. optind 0 makes glibc start afresh on this argv.
	 */
	optind = 0;
	opterr = 0;
	for (;;) {
		int at = optind > 0 ? optind : 1;
		c = getopt_long(argc, argv, "-:h", cli_options, NULL);
		if (c == -1)
			break;
		const char *arg = argv[at];
		const struct option *o = cli_option_of(c);

		if (c == 1) {
			if (npos < 3)
				pos[npos] = optarg;
			npos++;
			continue;
		}
		if (c == ':') {
			if (cli_valued_option(arg))
				cli_problem(&p, "option %s needs a value",
				    arg);
			else
				cli_problem(&p, "unknown option '%s'", arg);
			continue;
		}
		if (c == '?' || o == NULL ||
		    !(cli_long_named(arg, o) ||
		        (c == OPT_HELP && strcmp(arg, "-h") == 0))) {
			/* Not an option, or a shortened name ("--wa"): what
			 * getopt_long took as its value is an argument. */
			if (o != NULL && o->has_arg == required_argument &&
			    strchr(arg, '=') == NULL)
				optind = at + 1;
			cli_problem(&p, "unknown option '%s'", arg);
			continue;
		}
		switch (c) {
		case OPT_HELP:
			help = 1;
			break;
		case OPT_VERSION:
			version = 1;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_WAIT:
			a->wait = 1;
			break;
		case OPT_STOP:
			a->stop = 1;
			break;
		case OPT_WIDE:
			a->wide = 1;
			break;
		case OPT_LIMIT:
			if (cli_parse_u64(optarg, UINT32_MAX, &a->limit) !=
			    SM_OK)
				cli_problem(&p,
				    "invalid --limit '%s' (want a number "
				    "of checkpoints, 0 for all)",
				    optarg);
			else
				a->has_limit = 1;
			break;
		case OPT_DIR:
			a->dir = optarg;
			break;
		case OPT_COORDINATOR:
			a->coordinator = optarg;
			break;
		case OPT_RUN_DIR:
			a->run_dir = optarg;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_u64(optarg, INT32_MAX, &v) != SM_OK ||
			    v == 0)
				cli_problem(&p,
				    "invalid --timeout '%s' (want a "
				    "positive number of milliseconds)",
				    optarg);
			else
				a->timeout_ms = (int) v;
			break;
		}
	}
	/* After "--", everything is an argument. */
	for (; optind < argc; optind++) {
		if (npos < 3)
			pos[npos] = argv[optind];
		npos++;
	}

	if (version) {
		a->cmd = CLI_VERSION;
		problem[0] = '\0';
		return SM_OK;
	}
	if (help) {
		a->cmd = CLI_HELP;
		problem[0] = '\0';
		return SM_OK;
	}
	if (npos == 0)
		cli_problem(&p, "no command given");
	if (problem[0] == '\0') {
		size_t k = 0;
		size_t n_names =
		    sizeof(cli_commands) / sizeof(cli_commands[0]);
		while (k < n_names && strcmp(pos[0], cli_commands[k]) != 0)
			k++;
		if (k == n_names)
			cli_problem(&p, "unknown command '%s'", pos[0]);
		else
			a->cmd = (enum cli_cmd) k;
		if (a->cmd == CLI_STOP) {
			if (a->stop)
				cli_problem(&p,
				    "--stop only applies to savepoint");
			a->cmd = CLI_SAVEPOINT;
			a->stop = 1;
		}
	}
	if (problem[0] == '\0' &&
	    (a->cmd == CLI_SHOW || a->cmd == CLI_EXPLAIN)) {
		if (npos < 2)
			cli_problem(&p, "%s needs a checkpoint id", pos[0]);
		else if (cli_parse_u64(pos[1], UINT64_MAX, &a->id) != SM_OK)
			cli_problem(&p, "invalid checkpoint id '%s'", pos[1]);
		else if (npos > 2)
			cli_problem(&p, "unexpected argument '%s'", pos[2]);
	} else if (problem[0] == '\0' && a->cmd == CLI_VALIDATE) {
		if (npos < 2)
			cli_problem(&p, "validate needs a job file");
		else if (npos > 2)
			cli_problem(&p, "unexpected argument '%s'", pos[2]);
		else
			a->job = pos[1];
		if (a->json)
			cli_problem(&p, "--json does not apply to validate");
	} else if (a->cmd != CLI_HELP && npos > 1) {
		cli_problem(&p, "unexpected argument '%s'", pos[1]);
	}
	if ((a->has_limit || a->wide) && a->cmd != CLI_CHECKPOINTS)
		cli_problem(&p,
		    "--limit and --wide only apply to checkpoints");
	if (a->wait && a->cmd != CLI_TRIGGER)
		cli_problem(&p, "--wait only applies to trigger");
	if ((a->stop || a->dir != NULL) && a->cmd != CLI_SAVEPOINT)
		cli_problem(&p, "--stop and --dir only apply to savepoint");
	/* The coordinator writes the savepoint, maybe elsewhere, in its own
	 * working directory: only an absolute path means the same there. */
	if (a->dir != NULL && a->dir[0] != '/')
		cli_problem(&p, "--dir must be an absolute path%s%s%s",
		    a->dir[0] == '\0' ? " (it is empty)" : ", not '",
		    a->dir[0] == '\0' ? "" : a->dir,
		    a->dir[0] == '\0' ? "" : "'");
	return problem[0] == '\0' ? SM_OK : SM_EINVAL;
}
