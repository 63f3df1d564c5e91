# shellcheck shell=bash disable=SC2034
# scripts/lib.sh - small bash helpers shared by the scripts in scripts/.
#
# Sourced, never run. Owns: where the repository is (SM_ROOT), how a script
# prints its step lines, banners and usage and dies, whether it may use
# colours, and running a command as root when it has to (apt-get). Nothing
# here starts processes or touches a build directory.

# SM_ROOT is the repository root, whatever the caller's working directory.
SM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# sm_prog is the name of the running script, for message prefixes.
sm_prog="$(basename "$0")"

# step MSG: one progress line on stdout.
step() {
	printf '%s: %s\n' "$sm_prog" "$*"
}

# warn MSG: one line on stderr.
warn() {
	printf '%s: %s\n' "$sm_prog" "$*" >&2
}

# die MSG: one line on stderr, exit 1.
die() {
	warn "$*"
	exit 1
}

# as_root CMD...: run CMD as root: directly when we are root, through sudo
# when it is installed, otherwise fail with a message saying what to run.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		warn "need root for: $* (not root and no sudo)"
		return 1
	fi
}

# is_uint S: S is a non-negative decimal integer.
is_uint() {
	[[ $1 =~ ^[0-9]+$ ]]
}

# sm_color: true when output may carry colour escapes: stdout is a terminal
# and NO_COLOR is not set (https://no-color.org; set to anything, even
# empty, it turns colours off).
sm_color() {
	[[ -t 1 && -z ${NO_COLOR+set} ]]
}

# banner MSG: a section heading on stdout, bold on a terminal.
banner() {
	if sm_color; then
		printf '\n\033[1m== %s\033[0m\n' "$*"
	else
		printf '\n== %s\n' "$*"
	fi
}

# sm_usage CODE: prints the script's usage text, $sm_usage_text, and exits
# CODE: on stdout for 0 (asked for with -h/--help), else on stderr (bad
# arguments, exit 2).
sm_usage() {
	if [[ $1 -eq 0 ]]; then
		printf '%s\n' "$sm_usage_text"
	else
		printf '%s\n' "$sm_usage_text" >&2
	fi
	exit "$1"
}
