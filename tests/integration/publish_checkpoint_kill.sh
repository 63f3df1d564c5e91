#!/usr/bin/env bash
# publish_checkpoint_kill.sh - a restarted worker finishes publishing what
# the latest completed checkpoint pre-committed. A manual (non-final)
# checkpoint completes; sink.0's worker is SIGKILLed before the sink has
# published it (SNAPMARK_DEBUG_PUBLISH_DELAY_MS widens the window). The
# epoch fails, the next one restores that checkpoint, the sink publishes
# its files, and the job ends FINISHED with exact output (expect.py).
source "$(dirname "$0")/lib.sh"
export SNAPMARK_DEBUG_PUBLISH_DELAY_MS=8000

JOB="$TEST_TMP/ckpt.ini"
cat >"$JOB" <<'INI'
[job]
name = publish-checkpoint-kill
heartbeat_timeout_ms = 15000
[checkpoint]
interval_ms = 0          ; only the checkpoints this test triggers
timeout_ms = 20000
[stage source]
operator = gen
parallelism = 2
records = 40000
rate = 5000
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage sink]
operator = file
parallelism = 2
input = relay forward
INI

# kill_now NAME...: SIGKILL these processes of the cluster at once (no
# script start-up between the kills), then wait until they are gone.
gone() { [[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
kill_now() {
	local n pids=()
	for n in "$@"; do pids+=("$(<"$RUN/pids/$n.pid")"); done
	kill -KILL "${pids[@]}"
	for n in "${pids[@]}"; do wait_for 10 gone "$n"; done
}

# Tasks go round-robin: sink.0 (task 4 of 6) runs on worker-1.
cluster up "$JOB" 2 >/dev/null
out="$(cli trigger)"
[[ $out =~ ^checkpoint\ ([0-9]+)\ triggered$ ]] || fail "trigger said: $out"
id="${BASH_REMATCH[1]}"
completed() {
	grep -qE "checkpoint $id completed" "$RUN/logs/coordinator.log"
}
wait_for 30 completed
kill_now worker-1
say "killed worker-1 right after checkpoint $id completed"
[[ -n $(find "$RUN/output/.pending" -name "part-0-*$id") ]] ||
	fail "sink.0 published checkpoint $id before the kill: the window was missed"

cluster start worker-1 >/dev/null
# The moment the job is FINISHED, nothing may be left unpublished.
wait_for 120 state_is FINISHED
unpublished="$(find "$RUN/output/.pending" -name "part-*" | wc -l)"
((unpublished == 0)) ||
	fail "FINISHED with $unpublished pre-committed files unpublished"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact after the kill"
[[ -n $(find "$RUN/output" -maxdepth 1 -name "part-0-*$id") ]] ||
	fail "checkpoint $id's file of sink.0 was never published"
say "PASS"
