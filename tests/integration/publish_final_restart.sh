#!/usr/bin/env bash
# publish_final_restart.sh - FINISHED means published, across a
# coordinator restart. Right after the final checkpoint commits, the
# coordinator and the worker of sink.0 are SIGKILLed before sink.0 has
# published (SNAPMARK_DEBUG_PUBLISH_DELAY_MS widens the window). Started
# again, the coordinator finds the final checkpoint as the latest one and
# must not declare FINISHED on its own: it deploys the tasks to restore
# it, the sink publishes, and then the job is FINISHED with exact output.
# A second coordinator restart after FINISHED publishes again, which must
# be idempotent: the output stays exact (nothing doubled, nothing lost).
source "$(dirname "$0")/lib.sh"
export SNAPMARK_DEBUG_PUBLISH_DELAY_MS=8000

JOB="$TEST_TMP/final.ini"
cat >"$JOB" <<'INI'
[job]
name = publish-final-restart
heartbeat_timeout_ms = 15000
[checkpoint]
interval_ms = 0          ; only the final checkpoint
timeout_ms = 20000
[stage source]
operator = gen
parallelism = 2
records = 40000
rate = 10000
keys = 500
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

final_completed() {
	grep -qE 'checkpoint [0-9]+ completed .*\(final\)' \
		"$RUN/logs/coordinator.log"
}
recovering() {
	grep -q 'recovering: a previous coordinator' "$RUN/logs/coordinator.log"
}

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
say "waiting for the final checkpoint to commit"
wait_for 60 final_completed
kill_now coordinator worker-1
say "killed the coordinator and worker-1 right after the final commit"
pending="$(find "$RUN/output/.pending" -name "part-0-*" | wc -l)"
((pending > 0)) ||
	fail "sink.0 published before the kill: the window was missed"

cluster start coordinator >/dev/null
wait_for 20 recovering
cluster start worker-1 >/dev/null
# The moment the job is FINISHED, nothing may be left unpublished.
wait_for 120 state_is FINISHED
left="$(find "$RUN/output/.pending" -name "part-*" | wc -l)"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact after the coordinator restart"
((left == 0)) || fail "FINISHED with $left pre-committed files unpublished"

say "restart the coordinator of the FINISHED job: publishing again is idempotent"
before="$(cat "$RUN"/output/part-* | sort | md5sum)"
n_finished="$(grep -c "job 'publish-final-restart' finished" "$RUN/logs/coordinator.log" || true)"
cluster kill coordinator >/dev/null
cluster start coordinator >/dev/null
finished_again() {
	local n
	n="$(grep -c "job 'publish-final-restart' finished" "$RUN/logs/coordinator.log" || true)"
	((n > n_finished))
}
wait_for 60 finished_again
cluster wait 30 >/dev/null || fail "job not FINISHED after the second restart"
after="$(cat "$RUN"/output/part-* | sort | md5sum)"
[[ $before == "$after" ]] || fail "publishing again changed the output"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "output not exact after publishing the final checkpoint again"
say "PASS"
