#!/usr/bin/env bash
# publish_final_kill.sh - FINISHED means published. The sink's worker is
# SIGKILLed right after the final checkpoint commits, before its sink has
# published the pre-committed output (SNAPMARK_DEBUG_PUBLISH_DELAY_MS holds
# every sink's publish back, so the kill lands inside that window). The
# job must not be FINISHED while that output is unpublished; once the
# worker is back, its task restores the final checkpoint, the sink
# publishes, and only then is the job FINISHED, with exact output
# (expect.py, an independent model of the gen source).
source "$(dirname "$0")/lib.sh"
export SNAPMARK_DEBUG_PUBLISH_DELAY_MS=8000

JOB="$TEST_TMP/final.ini"
cat >"$JOB" <<'INI'
[job]
name = publish-final-kill
heartbeat_timeout_ms = 15000
[checkpoint]
interval_ms = 0          ; only the final checkpoint
timeout_ms = 20000
[stage source]
operator = gen
parallelism = 2
records = 40000
rate = 10000
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage sink]
operator = file
parallelism = 2
input = relay forward
INI

final_completed() {
	grep -qE 'checkpoint [0-9]+ completed .*\(final\)' \
		"$RUN/logs/coordinator.log"
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
kill_now worker-1
final="$(sed -nE 's/.*checkpoint ([0-9]+) completed .*\(final\).*/\1/p' \
	"$RUN/logs/coordinator.log" | head -n 1)"
say "killed worker-1 right after final checkpoint $final committed"
pending="$(find "$RUN/output/.pending" -name "part-0-*" | wc -l)"
((pending > 0)) ||
	fail "sink.0 published before the kill: the window was missed"
status_now
state_after_kill="$(field state)"
say "state with sink.0's output unpublished: $state_after_kill"

cluster start worker-1 >/dev/null
# The moment the job is FINISHED, nothing may be left unpublished.
wait_for 120 state_is FINISHED
left="$(find "$RUN/output/.pending" -name "part-*" | wc -l)"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact: the final checkpoint's output was not published"
[[ $state_after_kill != FINISHED ]] ||
	fail "the job was FINISHED while sink.0's output was unpublished"
((left == 0)) || fail "FINISHED with $left pre-committed files unpublished"
grep -qE "job 'publish-final-kill' finished" "$RUN/logs/coordinator.log" ||
	fail "no 'finished' line in the coordinator's log"
say "PASS"
