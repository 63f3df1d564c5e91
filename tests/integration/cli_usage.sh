#!/usr/bin/env bash
#
# cli_usage.sh - the `snapmark` CLI as a user and a script see it: usage
# errors and exit codes, how it finds the coordinator, and how it renders
# replies. The coordinator is faked with nngcat (a rep socket that answers
# every request with a fixed CliReply encoded by protoc from text format),
# so this test pins the CLI side of the wire contract on its own.
#
# Needs: SNAPMARK_BUILD_DIR, SNAPMARK_SOURCE_DIR, nngcat (nng-utils),
# protoc (protobuf-compiler), python3. A missing tool fails the test.

set -u

BUILD=${SNAPMARK_BUILD_DIR:?SNAPMARK_BUILD_DIR must name the build root}
SRC=${SNAPMARK_SOURCE_DIR:?SNAPMARK_SOURCE_DIR must name the source root}
CLI=$BUILD/cli/snapmark
unset SNAPMARK_RUN_DIR

for tool in nngcat protoc python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL: $tool is not installed (scripts/bootstrap installs it)"
		exit 1
	fi
done
if [ ! -x "$CLI" ]; then
	echo "FAIL: no CLI binary at $CLI" >&2
	exit 1
fi

WORK=$(mktemp -d /tmp/snapmark-cli.XXXXXX)
FAKE_PID=

stop_fake() {
	if [ -n "$FAKE_PID" ]; then
		kill -9 "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
}

cleanup() {
	stop_fake
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers

fail() {
	echo "FAIL: $*" >&2
	echo "--- stdout of snapmark ${LAST_ARGS:-}:" >&2
	cat "$WORK/out" >&2 2>/dev/null
	echo "--- stderr:" >&2
	cat "$WORK/err" >&2 2>/dev/null
	exit 1
}

check() {
	echo "check: $*"
}

# run ARGS...: runs the CLI, keeping stdout, stderr and the exit code.
run() {
	LAST_ARGS="$*"
	"$CLI" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "snapmark $LAST_ARGS exited $RC, expected $1"
}

# expect_out / expect_err TEXT: a fixed string on stdout / stderr.
expect_out() {
	grep -qF -- "$1" "$WORK/out" ||
		fail "snapmark $LAST_ARGS: stdout lacks '$1'"
}

expect_err() {
	grep -qF -- "$1" "$WORK/err" ||
		fail "snapmark $LAST_ARGS: stderr lacks '$1'"
}

# expect_line REGEX: a whole stdout line matches the extended regex.
expect_line() {
	grep -qE -- "^$1\$" "$WORK/out" ||
		fail "snapmark $LAST_ARGS: no stdout line matching '$1'"
}

expect_empty() {
	[ ! -s "$WORK/$1" ] || fail "snapmark $LAST_ARGS: $1 is not empty"
}

# encode NAME: text-format CliReply on stdin -> $WORK/NAME.bin
encode() {
	protoc --encode=snapmark.CliReply -I "$SRC/proto" snapmark.proto \
		>"$WORK/$1.bin" || fail "protoc could not encode $1"
}

# start_fake DIR REPLYFILE: a rep socket at ipc://DIR/cli.ipc answering
# every request with the bytes of REPLYFILE.
start_fake() {
	stop_fake
	rm -f "$1/cli.ipc"
	nngcat --rep --listen "ipc://$1/cli.ipc" --file "$2" \
		>/dev/null 2>"$WORK/nngcat.err" &
	FAKE_PID=$!
	for _ in $(seq 1 500); do
		[ -S "$1/cli.ipc" ] && return 0
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.01
	done
	cat "$WORK/nngcat.err" >&2
	fail "nngcat did not start listening on ipc://$1/cli.ipc"
}

# ------------------------------------------------------------ usage errors

check "no arguments: usage on stderr, exit 2"
run
expect_rc 2
expect_err "no command given"
expect_err "usage: snapmark"
expect_empty out

check "unknown command: exit 2 naming it"
run trgger
expect_rc 2
expect_err "snapmark: unknown command 'trgger'"
expect_err "usage: snapmark"

check "show without an id: exit 2"
run show
expect_rc 2
expect_err "show needs a checkpoint id"

check "show with a non-numeric id: exit 2"
run show abc
expect_rc 2
expect_err "invalid checkpoint id 'abc'"

check "show with an extra argument: exit 2"
run show 7 8
expect_rc 2
expect_err "unexpected argument '8'"

check "--timeout -5: exit 2"
run --timeout -5 status
expect_rc 2
expect_err "invalid --timeout '-5'"

check "--timeout 0 and --timeout=abc: exit 2"
run --timeout 0 status
expect_rc 2
run status --timeout=abc
expect_rc 2

check "unknown option: exit 2"
run status --verbose
expect_rc 2
expect_err "unknown option '--verbose'"

check "--wait on another command: exit 2"
run status --wait
expect_rc 2

check "help: usage on stdout, exit 0"
run help
expect_rc 0
expect_out "usage: snapmark"
expect_out "trigger [--wait]"
expect_empty err
run status --help
expect_rc 0
expect_out "usage: snapmark"

# --------------------------------------------------- finding a coordinator

check "--run-dir that does not exist: exit 1 with a hint"
run --run-dir /nonexistent status
expect_rc 1
expect_err "snapmark: no run directory /nonexistent (start a cluster with scripts/cluster up, or pass --run-dir)"

check "a run directory with no coordinator: exit 1 at once, saying so"
EMPTY=$WORK/empty
mkdir "$EMPTY"
start=$(date +%s%N)
run --run-dir "$EMPTY" --timeout 5000 status
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 1
expect_err "snapmark: coordinator is not running: $EMPTY/cli.ipc does not exist"
[ "$elapsed_ms" -lt 3000 ] || fail "it took $elapsed_ms ms (want at once)"

check "a coordinator pid that is alive but no socket yet: exit 1 after the timeout"
# A stand-in for a starting coordinator: alive, "--run-dir EMPTY" on its
# command line (how the CLI tells it from a recycled pid).
mkdir -p "$EMPTY/pids"
bash -c 'sleep 60; :' starting --run-dir "$EMPTY" &
FAKE=$!
echo "$FAKE" >"$EMPTY/pids/coordinator.pid"
start=$(date +%s%N)
run --run-dir "$EMPTY" --timeout 300 status
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc 1
expect_err "snapmark: coordinator at ipc://$EMPTY/cli.ipc did not answer within 300 ms (pid $FAKE is running but has not created its socket)"
[ "$elapsed_ms" -lt 3000 ] || fail "--timeout 300 took $elapsed_ms ms"
check "a pid file naming a process that is not this run dir's coordinator: not running, at once"
echo $$ >"$EMPTY/pids/coordinator.pid"
run --run-dir "$EMPTY" --timeout 5000 status
expect_rc 1
expect_err "snapmark: coordinator is not running: $EMPTY/cli.ipc does not exist; its pid $$ is gone"
pkill -P "$FAKE" sleep # its sleep would hold the test's output open
kill "$FAKE"
wait "$FAKE" 2>/dev/null || true
rm -r "$EMPTY/pids"

check "a run directory too long for an ipc socket: exit 1 saying so"
LONG=$WORK/$(printf 'd%.0s' $(seq 1 100))
mkdir "$LONG"
run --run-dir "$LONG" --timeout 300 status
expect_rc 1
expect_err "run directory path too long for an ipc socket"

# ------------------------------------------------------- a fake coordinator

# The run directory is $WORK/run so the default ./run is exercised too.
RUN=$WORK/run
mkdir "$RUN"

encode status <<'EOF'
ok: true
status {
  job_name: "wordcount"
  state: "RUNNING"
  epoch: 3
  restarts: 1
  latest_completed: 7
  restored_from: 4
  last_restore_us: 12345
  tasks_total: 5
  tasks_running: 5
  pending: 9
  pending: 8
  last_failure: "worker 2 exited (signal 9)"
  workers { worker_id: 2 alive: false tasks: "count.0" }
  workers { worker_id: 1 alive: true pid: 4242 tasks: "gen.0" tasks: "sink.0" }
}
EOF
start_fake "$RUN" "$WORK/status.bin"

check "status prints the job's key: value lines"
run --run-dir "$RUN" status
expect_rc 0
expect_line "job: wordcount"
expect_line "state: RUNNING"
expect_line "epoch: 3"
expect_line "restarts: 1"
expect_line "tasks: 5/5 running"
expect_line "latest completed checkpoint: 7"
expect_line "restored from checkpoint: 4"
expect_line "last restore took: 12.3 ms"
expect_line "pending checkpoints: 8 9"
expect_line "last failure: worker 2 exited \(signal 9\)"

check "status prints the workers table, sorted by worker id"
expect_line "WORKER +ALIVE +PID +TASKS"
expect_line "1 +yes +4242 +gen.0,sink.0"
expect_line "2 +no +- +count.0"
[ "$(grep -nE '^1 ' "$WORK/out" | cut -d: -f1)" -lt \
	"$(grep -nE '^2 ' "$WORK/out" | cut -d: -f1)" ] ||
	fail "workers are not sorted by id"

check "options after the command, \$SNAPMARK_RUN_DIR and ./run all work"
run status --run-dir "$RUN"
expect_rc 0
expect_line "state: RUNNING"
SNAPMARK_RUN_DIR=$RUN run status
expect_rc 0
expect_line "state: RUNNING"
(cd "$WORK" && "$CLI" status >"$WORK/out" 2>"$WORK/err")
RC=$?
LAST_ARGS="status (in $WORK)"
expect_rc 0
expect_line "state: RUNNING"

check "--json status is valid JSON with the proto's field names"
run --json --run-dir "$RUN" status
expect_rc 0
python3 - "$WORK/out" <<'EOF' || fail "status --json is not the expected JSON"
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1, "want one line"
d = json.loads(text)
assert d["job_name"] == "wordcount", d
assert d["state"] == "RUNNING" and d["epoch"] == 3, d
assert d["pending"] == [8, 9], d
assert [w["worker_id"] for w in d["workers"]] == [1, 2], d
assert d["workers"][0]["tasks"] == ["gen.0", "sink.0"], d
assert d["workers"][0]["pid"] == 4242 and "pid" not in d["workers"][1], d
EOF

check "a reply that is not a CliReply: exit 1, malformed reply"
printf 'this is not protobuf\377\377' >"$WORK/garbage.bin"
start_fake "$RUN" "$WORK/garbage.bin"
run --run-dir "$RUN" status
expect_rc 1
expect_err "malformed reply"
expect_empty out
run --run-dir "$RUN" --json checkpoints
expect_rc 1
expect_err "malformed reply"
expect_empty out

check "an error reply: its message on stderr, exit 1"
encode error <<'EOF'
ok: false
error: "no checkpoint 99"
EOF
start_fake "$RUN" "$WORK/error.bin"
run --run-dir "$RUN" show 99
expect_rc 1
expect_err "snapmark: no checkpoint 99"
run --run-dir "$RUN" --json show 99
expect_rc 1
expect_err "snapmark: no checkpoint 99"
expect_empty out

# One reply serves trigger (checkpoint_id), show and the --wait polling
# (checkpoints[0] is the record asked for) and checkpoints (the list).
encode history <<'EOF'
ok: true
checkpoint_id: 7
checkpoints {
  id: 7 status: COMPLETED trigger_time_ms: 1700000000123
  duration_us: 2100 bytes: 49152 tasks_total: 2 tasks_acked: 2
  epoch: 3 manual: true
  tasks { task: 1 task_name: "count.0" sync_us: 12 async_us: 840
    align_us: 1500 ack_us: 2050
    handle { task: 1 checkpoint_id: 7 location: "/run/task-1"
      bytes: 40000 checksum: 3735928559 entries: 1000 } }
  tasks { task: 0 task_name: "gen.0" sync_us: 3 async_us: 80
    align_us: 0 ack_us: 300
    handle { task: 0 checkpoint_id: 7 location: "/run/task-0"
      bytes: 9152 checksum: 171 } }
}
checkpoints {
  id: 6 status: FAILED trigger_time_ms: 1699999999000
  duration_us: 10000000 tasks_total: 2 tasks_acked: 1
  failure_reason: "timeout after 10000 ms"
}
checkpoints {
  id: 8 status: PENDING trigger_time_ms: 1700000001000
  tasks_total: 2 tasks_acked: 0
}
EOF
start_fake "$RUN" "$WORK/history.bin"

check "checkpoints --wide: newest first, with type, duration, size, acks"
run --run-dir "$RUN" checkpoints --wide
expect_rc 0
expect_line "ID +TYPE +STATUS +TRIGGERED +DURATION +SIZE +FULL +ACKED +FAILURE"
expect_line "8 +periodic +PENDING +2023-11-14T22:13:21\.000Z +- +- +- +0/2"
expect_line "7 +manual +COMPLETED +2023-11-14T22:13:20\.123Z +2.1 ms +48.0 KiB +- +2/2"
expect_line "6 +periodic +FAILED +2023-11-14T22:13:19\.000Z +10.00 s +- +- +1/2 +timeout after 10000 ms"
[ "$(sed -n 2p "$WORK/out" | cut -c1)" = 8 ] || fail "not newest first"

check "checkpoints: 80 columns, the time of day, no FULL, FAILURE cut"
run --run-dir "$RUN" checkpoints
expect_rc 0
expect_line "ID +TYPE +STATUS +TRIGGERED +DURATION +SIZE +ACKED +FAILURE"
expect_line "8 +periodic +PENDING +22:13:21\.000Z +- +- +0/2"
expect_line "7 +manual +COMPLETED +22:13:20\.123Z +2.1 ms +48.0 KiB +2/2"
expect_line "6 +periodic +FAILED +22:13:19\.000Z +10.00 s +- +1/2 +timeout af\.\.\."
awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$WORK/out" || fail "wider than 80 columns"

check "checkpoints --json: records without tasks, status as a name"
run --run-dir "$RUN" checkpoints --json
expect_rc 0
python3 - "$WORK/out" <<'EOF' || fail "checkpoints --json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
cps = d["checkpoints"]
assert [c["id"] for c in cps] == [8, 7, 6], cps
assert [c["status"] for c in cps] == ["PENDING", "COMPLETED", "FAILED"]
assert all("tasks" not in c for c in cps), cps
assert cps[2]["failure_reason"] == "timeout after 10000 ms"
EOF

check "show: the record and a per-task table"
run --run-dir "$RUN" show 7
expect_rc 0
expect_line "id: 7"
expect_line "status: COMPLETED"
expect_line "duration: 2.1 ms"
expect_line "size: 48.0 KiB"
expect_line "acked: 2/2"
expect_line "epoch: 3"
expect_line "TASK +NAME +SYNC +ASYNC +ALIGN +ACKED_AFTER +SIZE +FULL +KIND +ENTRIES +CHECKSUM +LOCATION"
expect_line "0 +gen.0 +0.003 ms +0.080 ms +0.000 ms +0.300 ms +8.9 KiB +- +- +- +000000ab +/run/task-0"
expect_line "1 +count.0 +0.012 ms +0.840 ms +1.5 ms +2.0 ms +39.1 KiB +- +- +1000 +deadbeef +/run/task-1"

check "show --json: the record with its tasks and their handles"
run --run-dir "$RUN" --json show 7
expect_rc 0
python3 - "$WORK/out" <<'EOF' || fail "show --json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["id"] == 7 and d["status"] == "COMPLETED" and d["manual"] is True
assert [t["task"] for t in d["tasks"]] == [0, 1], d["tasks"]
h = d["tasks"][1]["handle"]
assert h["checksum"] == 3735928559 and h["location"] == "/run/task-1", h
EOF

check "show of a record the coordinator did not send: malformed reply"
run --run-dir "$RUN" show 6
expect_rc 1
expect_err "malformed reply"

check "trigger, trigger --json, trigger --wait"
run --run-dir "$RUN" trigger
expect_rc 0
expect_line "checkpoint 7 triggered"
run --run-dir "$RUN" trigger --json
expect_rc 0
expect_line '\{"checkpoint_id":7\}'
run --run-dir "$RUN" trigger --wait
expect_rc 0
expect_line "checkpoint 7 completed in 2.1 ms \(2 tasks, 48.0 KiB\)"
run --run-dir "$RUN" trigger --wait --json
expect_rc 0
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["id"]==7 and len(d["tasks"])==2' \
	"$WORK/out" || fail "trigger --wait --json is not the final record"

check "trigger --wait on a checkpoint that fails: exit 1 with the reason"
encode failed <<'EOF'
ok: true
checkpoint_id: 7
checkpoints { id: 7 status: FAILED trigger_time_ms: 1 duration_us: 10000000
  tasks_total: 2 tasks_acked: 1 failure_reason: "task 1 declined" }
EOF
start_fake "$RUN" "$WORK/failed.bin"
run --run-dir "$RUN" trigger --wait
expect_rc 1
expect_line "checkpoint 7 failed after 10000.0 ms: task 1 declined"

check "trigger --wait that stays pending: exit 1 at the --timeout"
encode pending <<'EOF'
ok: true
checkpoint_id: 7
checkpoints { id: 7 status: PENDING trigger_time_ms: 1 tasks_total: 2
  tasks_acked: 1 }
EOF
start_fake "$RUN" "$WORK/pending.bin"
run --run-dir "$RUN" trigger --wait --timeout 1500
expect_rc 1
expect_err "checkpoint 7 still pending after 1500 ms"

stop_fake
echo "PASS: cli_usage"
