#!/usr/bin/env bash
#
# validate.sh - user operators in job files, as a user meets them before
# anything runs: `snapmark validate JOBFILE` and snapmark-coordinator check
# the same job alike (parse it, load each `library`, configure each user
# operator with its stage's options) and refuse a bad one with the same
# "FILE:LINE: stage S: ..." line: validate with exit 1, the coordinator
# with exit 2 before it creates anything. Relative library paths resolve
# against the job file's directory, whatever the current directory, and
# the worker of a running cluster resolves them the same way (and runs
# the job to its end). Usage errors exit 2.
#
# The plugins are the test plugins of tests/plugins/ (built by meson).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SNAPMARK="$B/cli/snapmark"
COORD="$B/coordinator/snapmark-coordinator"
for f in "$SNAPMARK" "$COORD" "$B/tests/libupper.so"; do
	[[ -e $f ]] || fail "$f is not built"
done
JOBS="$TEST_TMP/jobs"
RD="$TEST_TMP/rd" # run dir of the refused coordinators
mkdir -p "$JOBS/plugins"
for p in upper wrong_symbol bad_version refuse; do
	ln -s "$B/tests/lib$p.so" "$JOBS/plugins/lib$p.so"
done

# run_split CMD...: stdout and stderr of CMD apart, its exit code in RC.
run_split() {
	RC=0
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
}

show() {
	echo "--- stdout:"
	cat "$TEST_TMP/out"
	echo "--- stderr:"
	cat "$TEST_TMP/err"
}

# expect RC STDOUT STDERR WHAT: the last run_split exited RC and printed
# exactly STDOUT and STDERR (each one line, or nothing).
expect() {
	if [[ $RC -ne $1 || $(<"$TEST_TMP/out") != "$2" || $(<"$TEST_TMP/err") != "$3" ]]; then
		show
		echo "--- wanted exit $1, stdout '$2', stderr '$3'"
		fail "$4: exit $RC"
	fi
}

# job NAME: $JOBS/NAME.ini from stdin.
job() {
	cat >"$JOBS/$1.ini"
}

# refused NAME LINE MESSAGE: validate and the coordinator both refuse
# $JOBS/NAME.ini with "FILE:LINE: MESSAGE"; the coordinator creates nothing.
refused() {
	local f="$JOBS/$1.ini"
	say "$1: refused at $1.ini:$2"
	run_split bash -c 'cd / && exec "$@"' - "$SNAPMARK" validate "$f"
	expect 1 "" "snapmark: $f:$2: $3" "validate $1"
	run_split "$COORD" --job "$f" --run-dir "$RD"
	expect 2 "" "snapmark-coordinator: $f:$2: $3" "coordinator $1"
	[[ ! -e $RD ]] || fail "$1: the coordinator created $RD for a bad job"
}

job good <<'EOF'
[job]
name = good
[restart]
strategy = none
[stage src]
operator = gen
records = 100
parallelism = 2
[stage up]
library = plugins/libupper.so
operator = upper
input = src forward
parallelism = 2
; mode is the operator's option; max_parallelism is the runtime's
mode = lower
max_parallelism = 16
[stage sink]
operator = file
input = up hash
EOF
say "a good job with a user operator: validate prints ok, from any directory"
run_split bash -c 'cd / && exec "$@"' - "$SNAPMARK" validate "$JOBS/good.ini"
expect 0 "$JOBS/good.ini: ok (3 stages, 5 tasks, 1 user operator)" "" "validate good"
run_split "$SNAPMARK" validate "$SRC/examples/wordcount.ini"
expect 0 "$SRC/examples/wordcount.ini: ok (3 stages, 6 tasks, 0 user operators)" "" \
	"validate wordcount"

job missing_library <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage up]
operator = upper
input = src forward
library = plugins/libnope.so
EOF
refused missing_library 8 "stage up: cannot load library: $JOBS/plugins/libnope.so: cannot open shared object file: No such file or directory"

job wrong_symbol <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage up]
library = plugins/libwrong_symbol.so
operator = upper
input = src forward
EOF
refused wrong_symbol 6 "stage up: $JOBS/plugins/libwrong_symbol.so has no operator 'upper' (no symbol snapmark_operator_v1_upper)"

job wrong_version <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage v]
input = src forward
library = plugins/libbad_version.so
operator = bad_version
EOF
refused wrong_version 7 "stage v: $JOBS/plugins/libbad_version.so: operator 'bad_version' is built for API version 999; this snapmark runs version 1 (rebuild it against this snapmark's snapmark.h)"

job configure_refuses <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage no]
library = plugins/librefuse.so
operator = refuse
input = src forward
answer = 42
EOF
refused configure_refuses 5 "stage no: operator refuse: refuses every configuration (1 options, on lines 9)"

job bad_option <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage up]
library = plugins/libupper.so
operator = upper
input = src forward
mode = lower
colour = red
EOF
refused bad_option 10 "stage up: operator upper: unknown option 'colour' (expected mode)"

job duplicate_library <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage up]
library = plugins/libupper.so
operator = upper
library = plugins/libupper.so
EOF
refused duplicate_library 8 "duplicate key 'library' in [stage up] (first set on line 6)"

job builtin_unknown_key <<'EOF'
[job]
name = bad
[stage src]
operator = gen
mode = lower
EOF
refused builtin_unknown_key 5 "unknown key 'mode' in [stage src]"

say "validate: usage errors exit 2, an unreadable job file 1"
run_split "$SNAPMARK" validate
[[ $RC -eq 2 ]] && grep -qx "snapmark: validate needs a job file" "$TEST_TMP/err" ||
	{ show; fail "validate without a file: exit $RC"; }
run_split "$SNAPMARK" validate "$JOBS/good.ini" extra
[[ $RC -eq 2 ]] && grep -qx "snapmark: unexpected argument 'extra'" "$TEST_TMP/err" ||
	{ show; fail "validate with two files: exit $RC"; }
run_split "$SNAPMARK" --json validate "$JOBS/good.ini"
[[ $RC -eq 2 ]] && grep -qx "snapmark: --json does not apply to validate" "$TEST_TMP/err" ||
	{ show; fail "validate --json: exit $RC"; }
run_split "$SNAPMARK" validate "$JOBS/none.ini"
expect 1 "" "snapmark: cannot read $JOBS/none.ini: No such file or directory" "validate none.ini"

say "a cluster takes the good job; the worker resolves the library as the coordinator did, and runs it"
cluster up "$JOBS/good.ini" 1 >/dev/null 2>&1 || true
wait_for 60 state_is FINISHED
! grep -q "cannot run yet" "$RUN/logs/worker-1.log" ||
	fail "the worker refused the user operator"
lines="$(cat "$RUN"/output/part-* | wc -l)"
[[ $lines -eq 200 ]] || fail "the job committed $lines lines, want 200 (2 x 100 records through upper)"
say "PASS"
