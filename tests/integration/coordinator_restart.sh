#!/usr/bin/env bash
# coordinator_restart.sh - SIGKILL the coordinator mid-run and start it
# again: it reads its LMDB catalog, keeps checkpoint ids increasing, lets the
# workers reconnect, restores the job from the latest completed checkpoint,
# and the committed counts are exact. The sources hold their last record
# until the restore is done, so the kill cannot race the job's end however
# loaded the machine is; waits are for events, with generous bounds.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/restart.ini"
cat >"$JOB" <<'INI'
[job]
name = coordinator-restart
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 50000
rate = 12000
keys = 300
[stage counter]
operator = count
parallelism = 3
input = source hash
[stage sink]
operator = file
parallelism = 3
input = counter forward
INI

max_id() {
	cli --json checkpoints | python3 -c '
import json, sys
print(max([c["id"] for c in json.load(sys.stdin)["checkpoints"]] or [0]))'
}
hold_sources
cluster up "$JOB" 3 >/dev/null
wait_for 120 completed_at_least 1
before="$(max_id)"
latest="$(cli status | sed -n 's/^latest completed checkpoint: //p')"
[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
	fail "job is not RUNNING before the kill: it must still be running (make it carry more data)"
say "kill the coordinator after checkpoint $before (latest completed $latest)"
cluster kill coordinator >/dev/null
cluster start coordinator >/dev/null

wait_for 120 state_is RUNNING
status="$(cli status)"
echo "$status"
restored="$(sed -n 's/^restored from checkpoint: //p' <<<"$status")"
((restored >= latest)) || fail "restored $restored, older than $latest"
grep -qE '^restarts: 1$' <<<"$status" || fail "restart not counted"
cli trigger --wait >/dev/null || fail "a checkpoint after the restart failed"
release_sources
after="$(max_id)"
((after > before)) || fail "checkpoint ids went back: $after after $before"
say "ids keep growing: $before before the kill, $after after"

cluster wait 180 >/dev/null || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed counts are not exact after the coordinator restart"
say "PASS"
