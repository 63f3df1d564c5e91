#!/usr/bin/env bash
# kill_restore.sh - SIGKILL a worker mid-run: the coordinator sees it at
# once (pipe event, not a timeout), ends the epoch, waits for the worker to
# come back, restores every task from the latest completed checkpoint in a
# new epoch, and the committed output is still exactly-once.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/kill.ini"
cat >"$JOB" <<'INI'
[job]
name = kill-restore
heartbeat_timeout_ms = 30000   ; detection must come from the pipe event
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 60000
rate = 15000   ; held at the last record until the restore is seen
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage sink]
operator = file
parallelism = 2
input = relay forward
INI

hold_sources
cluster up "$JOB" 2 >/dev/null
wait_for 120 completed_at_least 1
[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
	fail "job is not RUNNING before the kill: it must still be running (make it carry more data)"

say "SIGKILL worker-2 while records flow"
cluster kill worker-2 >/dev/null
wait_for 60 state_is RESTARTING
grep -q 'worker 2 (pid [0-9]*) disconnected' "$RUN/logs/coordinator.log" ||
	fail "the coordinator did not log the disconnect"

say "start worker-2 again: the job restores and resumes"
cluster start worker-2 >/dev/null
wait_for 120 state_is RUNNING
status="$(cli status)"
echo "$status"
grep -qE '^epoch: 2$' <<<"$status" || fail "epoch did not advance to 2"
grep -qE '^restarts: 1$' <<<"$status" || fail "restart not counted"
grep -qE '^restored from checkpoint: [0-9]+$' <<<"$status" ||
	fail "status does not say which checkpoint was restored"
grep -qE 'all 6 tasks running; restored from checkpoint [0-9]+, [0-9.]+ ms after the failure' \
	"$RUN/logs/coordinator.log" || fail "restore time not logged"
release_sources

cluster wait 180 >/dev/null || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exactly-once after the kill"
say "PASS"
