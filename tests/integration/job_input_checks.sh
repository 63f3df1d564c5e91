#!/usr/bin/env bash
#
# job_input_checks.sh - the coordinator checks its job before it touches
# the disk: a rejected job leaves no run directory behind, and a --job that
# is not a regular file (a FIFO, a directory) is refused at once with exit 2
# instead of blocking on it.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

COORD="$B/coordinator/snapmark-coordinator"
[[ -x $COORD ]] || fail "no binary $COORD (build first)"

cat >"$TEST_TMP/bad.ini" <<'INI'
[job]
name = bad
[stage src]
operator = gne
INI

say "a rejected job: exit 2 and no run directory created"
RD="$TEST_TMP/fresh-rd"
rc=0
"$COORD" --job "$TEST_TMP/bad.ini" --run-dir "$RD" 2>"$TEST_TMP/err" || rc=$?
[[ $rc -eq 2 ]] || fail "bad job: exit $rc, expected 2"
[[ ! -e $RD ]] || fail "a rejected job left the run directory $RD"

say "a missing job file: no run directory either"
rc=0
"$COORD" --job "$TEST_TMP/none.ini" --run-dir "$RD" 2>"$TEST_TMP/err" || rc=$?
[[ $rc -eq 2 ]] || fail "missing job: exit $rc, expected 2"
[[ ! -e $RD ]] || fail "a missing job file left the run directory $RD"

say "a FIFO as --job: refused at once (exit 2), nothing blocks"
mkfifo "$TEST_TMP/job.fifo"
rc=0
timeout 10 "$COORD" --job "$TEST_TMP/job.fifo" --run-dir "$RD" \
	2>"$TEST_TMP/err" || rc=$?
[[ $rc -ne 124 ]] || fail "the coordinator blocked on a FIFO given as --job"
[[ $rc -eq 2 ]] || { cat "$TEST_TMP/err"; fail "FIFO: exit $rc, expected 2"; }
grep -q "not a regular file" "$TEST_TMP/err" ||
	{ cat "$TEST_TMP/err"; fail "FIFO: no 'not a regular file' on stderr"; }
[[ ! -e $RD ]] || fail "a FIFO job left the run directory $RD"

say "a directory as --job: refused with exit 2"
rc=0
timeout 10 "$COORD" --job "$TEST_TMP" --run-dir "$RD" 2>"$TEST_TMP/err" || rc=$?
[[ $rc -eq 2 ]] || { cat "$TEST_TMP/err"; fail "directory: exit $rc, expected 2"; }
[[ ! -e $RD ]] || fail "a directory job left the run directory $RD"
say "PASS"
