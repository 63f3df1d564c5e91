#!/usr/bin/env bash
# savepoint_targets.sh - where a savepoint may go:
#   refused by the CLI (usage, exit 2): --dir "" and a relative --dir; and
#     nothing is written into the CLI's working directory
#   refused by the coordinator (exit 1, clear reason, job runs on): the
#     live RUN/state, RUN itself, RUN/coordinator, a path with "..", a
#     non-empty directory
#   accepted: a new absolute directory (created with its parents, 0700)
#     and the default RUN/savepoints/savepoint-ID (0700)
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/targets.ini"
cat >"$JOB" <<'INI'
[job]
name = targets
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
records = 1000000
rate = 1000
keys = 100
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

cluster up "$JOB" 2 >/dev/null
wait_for 20 completed_at_least 1
mkdir "$TEST_TMP/cwd"
cd "$TEST_TMP/cwd"

say "--dir \"\" and a relative --dir: usage errors"
expect_exit 2 cli savepoint --dir ""
[[ $OUT == *"--dir must be an absolute path (it is empty)"* && $OUT == *usage:* ]] ||
	fail "unclear refusal of an empty --dir: $OUT"
expect_exit 2 cli savepoint --dir sp-relative
[[ $OUT == *"--dir must be an absolute path, not 'sp-relative'"* ]] ||
	fail "unclear refusal of a relative --dir: $OUT"
[[ -z $(ls -A "$TEST_TMP/cwd") ]] ||
	fail "something was written into the CLI's directory: $(ls -A "$TEST_TMP/cwd")"

# refused DIR WANT: the coordinator refuses DIR saying WANT; nothing is
# created and the job runs on.
refused() {
	expect_exit 1 cli savepoint --dir "$1"
	[[ $OUT == *"cannot take a savepoint: "*"$2"* ]] ||
		fail "unclear refusal of $1: $OUT"
	state_is RUNNING || fail "the job is no longer RUNNING after refusing $1"
}
say "the run dir's live state is refused"
refused "$RUN/state" "is inside the run directory"
refused "$RUN/state/counter.0" "is inside the run directory"
refused "$RUN" "is inside the run directory"
refused "$RUN/coordinator" "is inside the run directory"
refused "$RUN/savepoints" "is inside the run directory"
refused "$RUN/savepoints/../state" "contains '..'"
[[ ! -e $RUN/state/_metadata && ! -e $RUN/savepoints ]] ||
	fail "a refused savepoint left something behind"

say "a non-empty directory is refused"
mkdir -p "$TEST_TMP/full" && echo x >"$TEST_TMP/full/file"
refused "$TEST_TMP/full" "already exists and is not empty"

say "a new absolute directory is created 0700, with its parents"
umask 022
out="$(cli savepoint --dir "$TEST_TMP/new/deep/sp")"
[[ $out == savepoint*completed*": $TEST_TMP/new/deep/sp" ]] || fail "savepoint failed: $out"
[[ -f $TEST_TMP/new/deep/sp/_metadata ]] || fail "no _metadata"
for d in new new/deep new/deep/sp; do
	mode="$(stat -c %a "$TEST_TMP/$d")"
	[[ $mode == 700 ]] || fail "$d is $mode, want 700"
done
bad="$(find "$TEST_TMP/new" -perm /077 -printf '%m %p\n')"
[[ -z $bad ]] || fail "savepoint files others can read: $bad"

say "the default RUN/savepoints/savepoint-ID is accepted, 0700"
out="$(cli savepoint)"
[[ $out =~ completed\ in\ .*:\ ($RUN/savepoints/savepoint-[0-9]+)$ ]] ||
	fail "default savepoint failed: $out"
[[ $(stat -c %a "${BASH_REMATCH[1]}") == 700 ]] || fail "default savepoint dir not 0700"
say "PASS"
