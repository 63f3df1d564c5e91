# shellcheck shell=bash
# tests/integration/lib.sh - the harness of the process-level tests.
#
# Sourced by every tests/integration/*.sh. Owns the test's scratch space and
# its cleanup; the tests own what they check. After sourcing:
#   SRC, B       source and build dir (SNAPMARK_SOURCE_DIR/SNAPMARK_BUILD_DIR,
#                which meson sets per build dir; defaults: this repo, build/)
#   TEST_TMP     a fresh mktemp -d for this test's own files
#   RUN          TEST_TMP/run, exported as SNAPMARK_RUN_DIR, so every
#                `cluster` and `cli` call below works on this test's cluster
# On exit the cluster is brought down (scripts/cluster down) and its logs are
# searched for sanitizer reports, which fail the test. TEST_TMP is removed if
# the test passed; if it failed it is kept and its path printed.
#
# Helpers:
#   say MSG                 progress line, with seconds since the start
#   fail MSG                FAIL line, the tail of every log, exit 1
#   wait_for SECS CMD...    run CMD every 50 ms until it succeeds; fail the
#                           test (showing CMD's last output) after SECS
#   cluster ARGS...         scripts/cluster on this test's run dir
#   cli ARGS...             the snapmark CLI with --run-dir RUN
#   expect_exit CODE CMD... run CMD, fail unless it exits CODE; its stdout and
#                           stderr are left in $OUT (and echoed)
#   on_exit CMD             add a command to run at exit, before cleanup
#   status_now              `snapmark status` into $TEST_TMP/status.txt
#   field NAME              the value of "NAME: value" in the last status_now
#   state_is STATE          the job's state is STATE now
#   completed_at_least N    the latest completed checkpoint is >= N
#   hold_sources [NAME]     bounded gen sources of the processes started
#                           from now on hold back their last record until
#                           release_sources NAME (SNAPMARK_DEBUG_GEN_HOLD,
#                           worker/operators/op_gen.c): a fault injected before the
#                           release cannot race the job's end, however
#                           loaded the machine is
#   release_sources [NAME]  let them finish
set -euo pipefail

SRC="${SNAPMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
B="${SNAPMARK_BUILD_DIR:-$SRC/build}"
export SNAPMARK_SOURCE_DIR="$SRC" SNAPMARK_BUILD_DIR="$B"

TEST_NAME="$(basename "$0" .sh)"
TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/snapmark-$TEST_NAME.XXXXXX")"
RUN="$TEST_TMP/run"
export SNAPMARK_RUN_DIR="$RUN"
OUT=""

_t0="${EPOCHREALTIME//[.,]/}"
_on_exit=()

# _elapsed: seconds since the test started, one decimal.
_elapsed() {
	local now="${EPOCHREALTIME//[.,]/}"
	local ds=$(((10#$now - 10#$_t0) / 100000))
	printf '%d.%d' $((ds / 10)) $((ds % 10))
}

say() {
	printf '[%s +%ss] %s\n' "$TEST_NAME" "$(_elapsed)" "$*"
}

# _tail_logs: the last lines of every process log of the run dir.
_tail_logs() {
	local f
	for f in "$RUN"/logs/*.log; do
		[[ -f $f ]] || continue
		echo "--- ${f#"$RUN"/} (last 30 lines)"
		tail -n 30 "$f"
	done
}

# need_tools TOOL...: scripts/bootstrap installs every tool a test uses, so
# one that is missing is a failure (a broken install step), never a skip.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			fail "$t is not installed (scripts/bootstrap installs it)"
	done
}

fail() {
	printf '[%s +%ss] FAIL: %s\n' "$TEST_NAME" "$(_elapsed)" "$*"
	_tail_logs
	exit 1
}

wait_for() {
	local secs=$1
	shift
	local deadline=$((${EPOCHREALTIME//[.,]/} / 1000 + secs * 1000))
	while ! "$@" >/dev/null 2>&1; do
		if ((${EPOCHREALTIME//[.,]/} / 1000 >= deadline)); then
			echo "last attempt of: $*"
			"$@" 2>&1 || true
			fail "timed out after ${secs}s waiting for: $*"
		fi
		sleep 0.05
	done
}

cluster() {
	"$SRC/scripts/cluster" "$@"
}

cli() {
	"$B/cli/snapmark" --run-dir "$RUN" "$@"
}

expect_exit() {
	local want=$1 rc=0
	shift
	OUT="$("$@" 2>&1)" || rc=$?
	[[ -n $OUT ]] && printf '%s\n' "$OUT"
	[[ $rc -eq $want ]] || fail "expected exit $want, got $rc from: $*"
}

on_exit() {
	_on_exit+=("$1")
}

status_now() {
	cli status >"$TEST_TMP/status.txt"
}

field() {
	sed -n "s/^$1: //p" "$TEST_TMP/status.txt" | head -n 1
}

state_is() {
	status_now || return 1
	[[ $(field state) == "$1" ]]
}

completed_at_least() {
	status_now || return 1
	local v
	v="$(field 'latest completed checkpoint')"
	[[ $v =~ ^[0-9]+$ ]] && ((v >= $1))
}

hold_sources() {
	export SNAPMARK_DEBUG_GEN_HOLD="$TEST_TMP/release-${1:-sources}"
}

release_sources() {
	: >"$TEST_TMP/release-${1:-sources}"
}

# _sanitizer_reports: the cluster's processes run detached from the test,
# so an ASan/UBSan/LSan report (leaks only show at exit, i.e. during
# `cluster down`) would go unnoticed in their logs. Print any and return 1.
_sanitizer_reports() {
	local f found=0
	for f in "$RUN"/logs/*.log; do
		[[ -f $f ]] || continue
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
			echo "[$TEST_NAME] FAIL: sanitizer report in ${f#"$RUN"/}:"
			grep -E -A 40 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | head -n 120
			found=1
		fi
	done
	return $((found))
}

# _finish: the EXIT trap. Runs the test's own exit hooks, brings the cluster
# down (keeping it up would leak processes into the next test), then removes
# or keeps TEST_TMP.
_finish() {
	local rc=$? hook
	set +e
	for hook in "${_on_exit[@]}"; do
		eval "$hook"
	done
	if [[ -d $RUN ]]; then
		"$SRC/scripts/cluster" down >/dev/null
		_sanitizer_reports || rc=1
	fi
	if [[ $rc -eq 0 ]]; then
		rm -rf -- "$TEST_TMP"
	else
		echo "[$TEST_NAME] exit $rc; kept $TEST_TMP"
	fi
	exit "$rc"
}
trap _finish EXIT
# meson test ends a test that runs too long with SIGTERM: make that exit
# through the trap above too, killing the cluster without a grace period.
trap 'export SNAPMARK_DOWN_GRACE_S=0; exit 143' TERM
trap 'export SNAPMARK_DOWN_GRACE_S=0; exit 130' INT

# exited NAME: process NAME (coordinator, worker-K) of the cluster is not
# running: killed, or it exited by itself once the job ended (FINISHED,
# CANCELED, FAILED).
exited() {
	! cluster status 2>/dev/null | grep -qE "^$1 +pid [0-9]+ +alive"
}
