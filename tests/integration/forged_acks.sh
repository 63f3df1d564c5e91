#!/usr/bin/env bash
# forged_acks.sh - a process that takes a free worker slot cannot speak
# for tasks it does not host.
#
# A keyed job of 5 tasks over 6 workers (round-robin: worker 6 hosts none).
# Worker 6 is replaced by tests/rogue_worker, which registers as worker 6
# and, in the current epoch, acknowledges the next checkpoints for every
# task, reports every task RUNNING and DRAINED, declines checkpoints and
# reports FAILED / RESTORE_FAILED for task 0. The coordinator must refuse
# all of it (acks, declines and task events count only from the worker a
# task is deployed to), say so in its log at most about once a second, and
# the job must finish with exact counts, checked by expect.py.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/forged.ini"
cat >"$JOB" <<'INI'
[job]
name = forged-acks
heartbeat_timeout_ms = 60000   ; worker 1 is paused on purpose
[checkpoint]
interval_ms = 150
[stage src]
operator = gen
parallelism = 1
records = 60000
rate = 10000
keys = 1000
[stage count]
operator = count
parallelism = 2
input = src hash
[stage sink]
operator = file
parallelism = 2
input = count forward
INI
ROGUE="$B/tests/rogue_worker"
[[ -x $ROGUE ]] || fail "$ROGUE is not built"

coord_log() { cat "$RUN/logs/coordinator.log"; }
log_has() { grep -qE -- "$1" "$RUN/logs/coordinator.log"; }
registrations_of_6() { grep -c 'worker 6 registered' "$RUN/logs/coordinator.log"; }

cluster up "$JOB" 6 >/dev/null
# Worker 1 hosts the source: stopped (SIGSTOP; the heartbeat timeout is
# long) until the rogue is in place, so the job cannot end before it.
W1="$(<"$RUN/pids/worker-1.pid")"
kill -STOP "$W1"
on_exit "kill -CONT $W1 2>/dev/null"
say "free worker 6 (it hosts no task) for the rogue; source paused"
cluster kill worker-6 >/dev/null
wait_for 10 log_has 'worker 6 \(pid [0-9]+\) disconnected'

say "start the rogue as worker 6"
"$ROGUE" --url "ipc://$RUN/coordinator" --id 6 --tasks 5 --seconds 120 \
	>"$TEST_TMP/rogue.out" 2>&1 &
ROGUE_PID=$!
on_exit "kill -TERM $ROGUE_PID 2>/dev/null; wait $ROGUE_PID 2>/dev/null"
two_registrations() { [[ $(registrations_of_6) -ge 2 ]]; }
wait_for 20 two_registrations
kill -CONT "$W1"
T0="${EPOCHREALTIME%[.,]*}"

say "the job runs to its end beside the rogue"
cluster wait 90 >/dev/null || true
T1="${EPOCHREALTIME%[.,]*}"
kill -TERM "$ROGUE_PID"
wait "$ROGUE_PID" || true
cat "$TEST_TMP/rogue.out"
sent="$(sed -nE 's/.*sent ([0-9]+) acks.*/\1/p' "$TEST_TMP/rogue.out")"
[[ $sent =~ ^[0-9]+$ ]] && ((sent >= 100)) ||
	fail "the rogue sent only '${sent}' acks: it did not get going"

status_now
cat "$TEST_TMP/status.txt"
[[ $(field state) == FINISHED ]] || fail "job state is $(field state), want FINISHED"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact with a rogue worker acking"

say "the coordinator refused the rogue's messages, and said so"
grep -E 'refus' "$RUN/logs/coordinator.log" | head -n 8
log_has 'worker 6 \(pid [0-9]+\): refusing an ack of checkpoint [0-9]+ for task (count|sink|src)\.[0-9], which is deployed to worker [1-5]' ||
	fail "no line refusing a forged ack"
log_has 'worker 6 \(pid [0-9]+\): (refusing .*\(and [0-9]+|refused [0-9]+) more( refused)? messages of it since the last such line' ||
	fail "the refusals are not counted when their lines are left out"
if log_has 'forged by rogue_worker'; then
	coord_log | grep -E 'forged by rogue_worker' | head -n 5
	fail "a forged decline or task event was acted upon"
fi
# Only the kill of worker 6 before the rogue may end an epoch.
n="$(grep -cE 'WARN epoch [0-9]+ failed: ' "$RUN/logs/coordinator.log")"
if ((n != 1)); then
	grep -E 'WARN epoch [0-9]+ failed: ' "$RUN/logs/coordinator.log"
	fail "$n epochs failed; only the kill of worker 6 should end one"
fi
lines="$(grep -cE 'refus' "$RUN/logs/coordinator.log")"
secs=$((T1 - T0 + 2))
say "   $lines refusal lines over about $secs s for $sent forged acks"
((lines <= 2 * secs + 4)) ||
	fail "$lines refusal lines in about $secs s: not rate-limited"
say "PASS"
