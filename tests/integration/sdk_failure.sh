#!/usr/bin/env bash
# sdk_failure.sh - a user operator that fails, and one that crashes.
#
# fail_on_value: keyed_sum (tests/plugins/keyed_sum.c) returns an error with
# snapmark_fail's message on one record of gen's. The task fails with that
# message ("task sum.S: operator keyed_sum failed: MESSAGE" in the worker's
# log), the coordinator records it as the epoch's failure, the job restarts
# under its strategy, replays the same record, fails again, and once the
# attempts are spent is FAILED with the operator's message in `snapmark
# status` and the coordinator's log.
#
# crash_on_value: the operator calls abort() in the worker's process: a
# worker death, like a SIGKILL. The job restarts once the worker is back,
# crashes again on the same record, and is FAILED per its strategy.
source "$(dirname "$0")/lib.sh"

job() { # NAME OPTION: gen -> hash -> keyed_sum (OPTION) -> file
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = sdk-$1
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 200
[restart]
strategy = fixed-delay
attempts = $3
delay_ms = 100
[stage source]
operator = gen
parallelism = 1
records = 6000
keys = 20
rate = 4000
[stage sum]
operator = keyed_sum
library = $B/tests/libkeyed_sum.so
parallelism = 2
input = source hash
$2
[stage sink]
operator = file
format = text
parallelism = 2
input = sum forward
INI
}

# The value of gen's record 3000: the operator trips on it mid-run.
job probe "" 1
N="$(python3 "$SRC/tests/integration/windows.py" value "$TEST_TMP/probe.ini" 3000)"
[[ $N =~ ^[0-9]+$ ]] || fail "windows.py value gave '$N'"

say "fail_on_value = $N: restarts, then FAILED with the operator's message"
job fail "fail_on_value = $N" 2
cluster up "$TEST_TMP/fail.ini" 2 >/dev/null 2>&1 || true
LOG="$RUN/logs/coordinator.log"
wait_for 90 state_is FAILED
cli status
reason="$(field 'last failure')"
want="operator keyed_sum failed: fail_on_value $N seen (seq 3000)"
[[ $reason == "restart attempts exhausted (2): task sum."[01]" failed: $want" ]] ||
	fail "last failure is '$reason', want '... $want'"
grep -qF "job failed: restart attempts exhausted (2): task sum." "$LOG" ||
	fail "the coordinator's log does not say why the job failed"
grep -qF "$want" "$LOG" || fail "the coordinator's log lacks the message"
n="$(grep -hcE "task sum\.[01]: operator keyed_sum failed: fail_on_value $N seen" \
	"$RUN"/logs/worker-*.log | paste -sd+ | bc)"
((n >= 3)) || fail "the worker logs show $n failures, want 3 (1 + 2 restarts)"
grep "epoch 3 failed: task sum\." "$LOG" | grep -qF "failed: $want" ||
	fail "the third epoch did not fail for the operator's reason"
cluster down >/dev/null

say "crash_on_value = $N: the worker dies; restored once, dies again, FAILED"
RUN="$TEST_TMP/run2"
export SNAPMARK_RUN_DIR="$RUN"
LOG="$RUN/logs/coordinator.log"
job crash "crash_on_value = $N" 1
cluster up "$TEST_TMP/crash.ini" 1 >/dev/null 2>&1 || true
wait_for 90 state_is RESTARTING
grep -qE 'worker 1 \(pid [0-9]+\) disconnected' "$LOG" ||
	fail "the crash was not seen as the worker's death"
wait_for 30 exited worker-1
cluster start worker-1 >/dev/null
wait_for 90 state_is FAILED
cli status
reason="$(field 'last failure')"
[[ $reason == "restart attempts exhausted (1): "*worker* ]] ||
	fail "last failure is '$reason', want the worker's death after 1 restart"
grep -qE '^epoch: 2$' "$TEST_TMP/status.txt" ||
	fail "the job did not restart once before failing"
say "PASS"
