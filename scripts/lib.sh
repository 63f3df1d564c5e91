# shellcheck shell=bash disable=SC2034
# scripts/lib.sh - small bash helpers shared by the scripts in scripts/.
#
# Sourced, never run. Owns: where the repository is (SM_ROOT), how a script
# prints its step lines and dies, and running a command as root when it has
# to (apt-get). Nothing here starts processes or touches a build directory.

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
