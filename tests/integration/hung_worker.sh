#!/usr/bin/env bash
#
# hung_worker.sh - a worker that hangs without closing its connection
# (SIGSTOP) is caught by the heartbeat timeout, not by a disconnect:
#   - within heartbeat_timeout_ms (+ slack) the coordinator logs that worker
#     2 "sent no heartbeat" and that the epoch failed; `snapmark status`
#     says RESTARTING and no checkpoint completes while it hangs;
#   - once the worker continues (SIGCONT) it registers again (or speaks
#     again on the connection it kept), the job is
#     restored from the latest completed checkpoint in a new epoch
#     (RUNNING, restarts >= 1, "restored from checkpoint"), finishes, and
#     the committed output is exactly-once (expect.py).

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3

JOB="$TEST_TMP/hung.ini"
cat >"$JOB" <<'EOF'
; 2 x 30000 records at 8000/s per subtask: ~4 s of data, the last record
; held back until the restore is seen.
; Tasks go round-robin: worker 1 runs src.0 pass.0 sink.0,
; worker 2 runs src.1 pass.1 sink.1.
[job]
name = hung
heartbeat_ms = 100
heartbeat_timeout_ms = 1000

[checkpoint]
interval_ms = 200

[stage src]
operator = gen
parallelism = 2
records = 30000
rate = 8000
seed = 5

[stage pass]
operator = passthrough
parallelism = 2
input = src forward

[stage sink]
operator = file
parallelism = 2
input = pass forward
EOF

log_has() { grep -qE -- "$2" "$RUN/logs/$1.log"; }

# count_lines LOG REGEX: how many lines of RUN/logs/LOG.log match.
count_lines() { grep -cE -- "$2" "$RUN/logs/$1.log" || true; }

now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }

# defect MSG: a wrong detail that does not stop the scenario: noted, the
# test goes on, and fails at the end.
DEFECTS=()
defect() {
	say "DEFECT: $*"
	DEFECTS+=("$*")
}

# diagnose_worker2: what worker-2 is doing when it does not come back: its
# sockets, its threads and (with gdb) their stacks.
diagnose_worker2() {
	echo "--- worker-2 (pid $PID2) state: $(awk '{print $3}' "/proc/$PID2/stat" 2>/dev/null)"
	echo "--- unix sockets of worker-2 and the coordinator (ss -xp):"
	ss -xp 2>/dev/null | grep -E "pid=($PID2|$(cat "$RUN/pids/coordinator.pid"))," || true
	if command -v gdb >/dev/null 2>&1; then
		echo "--- threads of worker-2 (gdb):"
		timeout 30 gdb -p "$PID2" -batch -ex 'thread apply all bt 12' 2>/dev/null |
			grep -E '^(Thread|#)' || true
	fi
}

say "starting a coordinator and 2 workers (heartbeat 100 ms, timeout 1000 ms)"
hold_sources
cluster up "$JOB" 2
wait_for 120 completed_at_least 2
status_now
EPOCH="$(field epoch)"
say "epoch $EPOCH running, latest completed checkpoint $(field 'latest completed checkpoint')"
if grep -E 'sent no heartbeat|epoch [0-9]+ failed' "$RUN/logs/coordinator.log"; then
	fail "a failure before anything hung (heartbeats too slow?)"
fi
PID2="$(cat "$RUN/pids/worker-2.pid")"
REG2_BEFORE="$(count_lines coordinator "worker 2 registered")"

say "SIGSTOP worker-2 (pid $PID2): it hangs with its connection open"
cluster stop worker-2
t_stop="$(now_ms)"

say "the coordinator notices the silence within a few seconds"
wait_for 30 log_has coordinator "WARN worker 2 \(pid $PID2\) sent no heartbeat for [0-9]+ ms"
t_seen="$(now_ms)"
line="$(grep -E "worker 2 \(pid $PID2\) sent no heartbeat for [0-9]+ ms" "$RUN/logs/coordinator.log" | head -n 1)"
echo "$line"
silent_ms="$(sed -nE 's/.*sent no heartbeat for ([0-9]+) ms.*/\1/p' <<<"$line")"
say "   reported silence ${silent_ms} ms; seen $((t_seen - t_stop)) ms after the stop"
((silent_ms >= 1000)) ||
	fail "worker 2 declared dead after ${silent_ms} ms of silence, before the 1000 ms timeout"
((silent_ms < 3000)) ||
	fail "worker 2 declared dead only after ${silent_ms} ms (timeout 1000 ms)"
wait_for 30 log_has coordinator \
	"WARN epoch $EPOCH failed: worker 2 \(pid $PID2\) sent no heartbeat"
grep -E "epoch $EPOCH failed" "$RUN/logs/coordinator.log"
if grep -E "worker 2 \(pid $PID2\) disconnected" "$RUN/logs/coordinator.log"; then
	fail "worker 2 was seen as disconnected, not as silent: the test did not exercise the heartbeat"
fi

say "snapmark status: RESTARTING, last failure names the silent worker"
wait_for 30 state_is RESTARTING
cli status
[[ $(field 'last failure') == *"worker 2 (pid $PID2) sent no heartbeat"* ]] ||
	fail "last failure is '$(field 'last failure')'"
LATEST_HUNG="$(field 'latest completed checkpoint')"
# docs/CLI.md: "tasks: RUNNING/TOTAL running". The failed epoch's tasks were
# told to stop (worker-1's are stopped, worker-2 is dead to the coordinator):
# none of them is running.
[[ $(field tasks) == "0/6 running" ]] ||
	defect "status during RESTARTING says 'tasks: $(field tasks)'; the failed epoch's tasks are stopped, want 0/6"

say "worker-1 stopped its tasks of epoch $EPOCH"
wait_for 30 log_has worker-1 "INFO stopped [0-9]+ task\(s\) of epoch $EPOCH"

say "nothing moves while worker-2 hangs (1 s): still RESTARTING, no new checkpoint"
sleep 1
status_now
[[ $(field state) == RESTARTING ]] || fail "state $(field state) while worker-2 hangs"
[[ $(field 'latest completed checkpoint') == "$LATEST_HUNG" ]] ||
	fail "checkpoint $(field 'latest completed checkpoint') completed while worker-2 was hung (was $LATEST_HUNG)"
[[ $(awk '{print $3}' "/proc/$PID2/stat") == T ]] || fail "worker-2 is not stopped any more"

say "SIGCONT worker-2: it registers again and the job is restored"
cluster cont worker-2
# It comes back on its old connection ("responsive again") or, if the
# coordinator gave that connection up meanwhile, on a new one.
reregistered() {
	(($(count_lines coordinator "worker 2 registered \(pid $PID2") > REG2_BEFORE)) ||
		log_has coordinator "worker 2 \(pid $PID2\) is responsive again"
}
deadline=$(($(now_ms) + 10000))
until reregistered; do
	if (($(now_ms) >= deadline)); then
		diagnose_worker2
		fail "worker-2 (pid $PID2) did not register again within 10 s of SIGCONT"
	fi
	sleep 0.05
done
grep -E "worker 2 (registered|\(pid [0-9]+\) is responsive again)" "$RUN/logs/coordinator.log"
wait_for 10 state_is RUNNING
cli status
NEW_EPOCH="$(field epoch)"
RESTARTS="$(field restarts)"
RESTORED="$(field 'restored from checkpoint')"
((NEW_EPOCH > EPOCH)) || fail "epoch $NEW_EPOCH after the restore, was $EPOCH"
((RESTARTS >= 1)) || fail "restarts = $RESTARTS after the restore"
if ! [[ $RESTORED =~ ^[0-9]+$ ]] || ((RESTORED < 1)); then
	fail "status does not say which checkpoint was restored ('$RESTORED')"
fi
((RESTORED <= LATEST_HUNG)) ||
	fail "restored from checkpoint $RESTORED, newer than the latest completed when the worker hung ($LATEST_HUNG)"
grep -E "epoch $NEW_EPOCH: (deploying [0-9]+ tasks, restoring checkpoint $RESTORED|all 6 tasks running; restored from checkpoint $RESTORED)" \
	"$RUN/logs/coordinator.log" ||
	fail "no coordinator line about restoring checkpoint $RESTORED in epoch $NEW_EPOCH"

say "the job finishes with exactly-once output"
release_sources
cluster wait 180 || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "expect.py check failed"
status_now
[[ $(field state) == FINISHED ]] || fail "final state $(field state)"
if ((${#DEFECTS[@]} > 0)); then
	fail "the scenario worked but the product got ${#DEFECTS[@]} detail(s) wrong: $(printf '%s; ' "${DEFECTS[@]}")"
fi
say "PASS"
