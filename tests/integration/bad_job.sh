#!/usr/bin/env bash
#
# bad_job.sh - what a user sees when they get the command line or the job
# file wrong: the coordinator refuses a malformed job file with exit 2 and
# one stderr line "FILE:LINE: what is wrong" naming the offending line
# (docs/JOBFILE.md, "Errors"); a missing job file is named; bad options of
# snapmark-coordinator, snapmark-worker and scripts/cluster exit 2 with the
# usage text. No cluster is started.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

COORD="$B/coordinator/snapmark-coordinator"
WORKER="$B/worker/snapmark-worker"
for bin in "$COORD" "$WORKER"; do
	[[ -x $bin ]] || fail "no binary $bin (build first)"
done
RD="$TEST_TMP/rd" # run dir for the refused coordinators

# defect MSG: a wrong detail that does not stop the other checks: noted,
# the test goes on, and fails at the end.
DEFECTS=()
defect() {
	say "DEFECT: $*"
	DEFECTS+=("$*")
}

# run_split CMD...: runs CMD with stdout and stderr kept apart in
# $TEST_TMP/out and $TEST_TMP/err; its exit code in RC.
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

want_rc() {
	[[ $RC -eq $1 ]] || {
		show
		fail "$2: expected exit $1, got $RC"
	}
}

# want_err_line REGEX WHAT: a whole stderr line matches the extended REGEX.
want_err_line() {
	grep -qE -- "$1" "$TEST_TMP/err" || {
		show
		fail "$2: no stderr line matching /$1/"
	}
}

want_err_fixed() {
	grep -qF -- "$1" "$TEST_TMP/err" || {
		show
		fail "$2: stderr lacks '$1'"
	}
}

# re_quote STR: STR with ERE metacharacters escaped.
re_quote() {
	sed -e 's/[]\/$*.^|[(){}+?]/\\&/g' <<<"$1"
}

# bad_job NAME LINE MESSAGE-REGEX: the job file $TEST_TMP/NAME.ini (written
# from stdin) is refused with exit 2 and a line "FILE:LINE: ..." on stderr.
bad_job() {
	local name=$1 line=$2 msg=$3 f="$TEST_TMP/$1.ini"
	cat >"$f"
	say "job file with $name: exit 2, stderr names $name.ini:$line"
	run_split "$COORD" --job "$f" --run-dir "$RD"
	want_rc 2 "$name"
	want_err_line "^snapmark-coordinator: $(re_quote "$f"):$line: $msg" "$name"
	# Exactly one error line (no usage text for a bad file).
	[[ $(wc -l <"$TEST_TMP/err") -eq 1 ]] || {
		show
		fail "$name: expected one stderr line"
	}
	[[ ! -s $TEST_TMP/out ]] || {
		show
		fail "$name: stdout is not empty"
	}
	[[ ! -S $RD/cli.ipc && ! -S $RD/coordinator-1.ipc ]] ||
		fail "$name: the coordinator opened its sockets for a bad job"
}

bad_job unknown_operator 10 "unknown operator 'fiel'" <<'EOF'
[job]
name = bad

[stage src]
operator = gen
records = 10

[stage sink]
input = src forward
operator = fiel
EOF

bad_job unknown_key 6 "unknown key 'recrods'" <<'EOF'
[job]
name = bad
[stage src]
operator = gen
parallelism = 1
recrods = 10
[stage sink]
operator = file
input = src forward
EOF

bad_job bad_integer 5 "invalid integer '12x' for 'interval_ms'" <<'EOF'
; a comment line counts
[job]
name = bad
[checkpoint]
interval_ms = 12x
[stage src]
operator = gen
[stage sink]
operator = file
input = src forward
EOF

bad_job undefined_input 9 "unknown stage 'nosuch'" <<'EOF'
[job]
name = bad
[stage src]
operator = gen
records = 10
[stage sink]
operator = file
parallelism = 1
input = nosuch forward
EOF

# The sink is defined before its input would be: still an unknown stage.
bad_job input_defined_later 5 "unknown stage 'src'" <<'EOF'
[job]
name = bad
[stage sink]
operator = file
input = src forward
[stage src]
operator = gen
EOF

bad_job forward_mismatch 10 "forward edge from 'src' \(parallelism 2\) to 'sink' \(parallelism 3\) needs equal parallelism" <<'EOF'
[job]
name = bad
[stage src]
operator = gen
parallelism = 2
records = 10
[stage sink]
operator = file
parallelism = 3
input = src forward
EOF

# A user operator whose library cannot be loaded is refused like any other
# error of the file, naming the library line (tests/integration/validate.sh
# has the other ways a user operator is refused).
bad_job missing_library 8 "stage up: cannot load library: /nonexistent/libup\.so: cannot open shared object file" <<'EOF'
[job]
name = bad
[stage src]
operator = gen
[stage up]
operator = up
input = src forward
library = /nonexistent/libup.so
EOF

say "missing job file: exit 2, stderr names the file"
run_split "$COORD" --job "$TEST_TMP/no-such-job.ini" --run-dir "$RD"
want_rc 2 "missing file"
want_err_fixed "$TEST_TMP/no-such-job.ini" "missing file"
want_err_line "^snapmark-coordinator: .*(No such file|not found)" "missing file"

say "snapmark-coordinator with no arguments: usage on stderr, exit 2"
run_split "$COORD"
want_rc 2 "coordinator without args"
want_err_fixed "--job is required" "coordinator without args"
want_err_line "^usage: snapmark-coordinator" "coordinator without args"
[[ ! -s $TEST_TMP/out ]] || fail "coordinator without args: usage went to stdout"

say "snapmark-coordinator with an unknown option: usage on stderr, exit 2"
run_split "$COORD" --job "$TEST_TMP/unknown_key.ini" --bogus
want_rc 2 "coordinator --bogus"
want_err_fixed "bogus" "coordinator --bogus"
want_err_line "^usage: snapmark-coordinator" "coordinator --bogus"

say "snapmark-coordinator with a stray argument: usage on stderr, exit 2"
run_split "$COORD" --job "$TEST_TMP/unknown_key.ini" stray
want_rc 2 "coordinator stray argument"
want_err_line "^usage: snapmark-coordinator" "coordinator stray argument"

say "snapmark-coordinator --help: usage on stdout, exit 0"
run_split "$COORD" --help
want_rc 0 "coordinator --help"
grep -q "^usage: snapmark-coordinator" "$TEST_TMP/out" || {
	show
	fail "coordinator --help: no usage on stdout"
}

say "snapmark-worker without --id: usage on stderr, exit 2"
run_split "$WORKER" --run-dir "$RD"
want_rc 2 "worker without --id"
want_err_fixed "--id is required" "worker without --id"
want_err_line "^usage: snapmark-worker" "worker without --id"

say "snapmark-worker --id abc: the bad id named, usage on stderr, exit 2"
run_split "$WORKER" --id abc --run-dir "$RD"
want_rc 2 "worker --id abc"
want_err_fixed "abc" "worker --id abc"
# Like every other bad usage of the three programs, the usage text follows.
grep -qE "^usage: snapmark-worker" "$TEST_TMP/err" || {
	show
	defect "snapmark-worker --id abc: exit 2 but no usage text on stderr (only: $(head -n 1 "$TEST_TMP/err"))"
}

say "snapmark-worker --id 0: exit 2"
run_split "$WORKER" --id 0 --run-dir "$RD"
want_rc 2 "worker --id 0"

say "scripts/cluster with an unknown subcommand: usage on stderr, exit 2"
run_split "$SRC/scripts/cluster" frobnicate
want_rc 2 "cluster frobnicate"
want_err_line "^usage: scripts/cluster" "cluster frobnicate"

say "scripts/cluster with no subcommand, or up with a bad N: exit 2"
run_split "$SRC/scripts/cluster"
want_rc 2 "cluster without a command"
run_split "$SRC/scripts/cluster" up "$TEST_TMP/unknown_key.ini" zero
want_rc 2 "cluster up JOB zero"
[[ ! -e $RUN ]] || fail "cluster up with a bad N created $RUN"

say "no process of these runs is left behind"
if pgrep -f -- "--run-dir $RD" >/dev/null; then
	pgrep -af -- "--run-dir $RD"
	fail "a process of $RD is still running"
fi

if ((${#DEFECTS[@]} > 0)); then
	fail "${#DEFECTS[@]} check(s) failed: $(printf '%s; ' "${DEFECTS[@]}")"
fi
say "PASS"
