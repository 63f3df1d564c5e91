#!/usr/bin/env bash
# kill_during_snapshot.sh - a worker SIGKILLed while its tasks are writing
# a checkpoint's snapshots: that checkpoint never completes (it fails with
# the epoch's failure as its reason), the job restores from the previous
# completed checkpoint, and the output stays exactly-once.
#
# SNAPMARK_DEBUG_SNAPSHOT_DELAY_MS makes every task wait 2000 ms between
# forwarding the barrier and writing its snapshot: the kill (a bare
# kill -KILL right after the trigger, not `cluster kill`, whose start-up is
# slow on a loaded machine) lands inside that window. The sources hold
# their last record until the restore is seen, so the job still runs when
# the second checkpoint is triggered however loaded the machine is.
source "$(dirname "$0")/lib.sh"
export SNAPMARK_DEBUG_SNAPSHOT_DELAY_MS=2000

JOB="$TEST_TMP/upload.ini"
cat >"$JOB" <<'INI'
[job]
name = kill-during-snapshot
[checkpoint]
interval_ms = 0          ; only the checkpoints this test triggers
timeout_ms = 20000
[stage source]
operator = gen
parallelism = 2
records = 50000
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

hold_sources
cluster up "$JOB" 2 >/dev/null
say "a first checkpoint completes despite the slow upload"
first="$(cli trigger --wait)"
echo "$first"
[[ $first =~ ^checkpoint\ ([0-9]+)\ completed ]] || fail "first checkpoint failed"
good="${BASH_REMATCH[1]}"

say "trigger another and kill worker-1 while its snapshots are uploading"
status_now
[[ $(field state) == RUNNING ]] ||
	fail "job is $(field state) before the second trigger: it must still be running (make it carry more data)"
read -r pid1 <"$RUN/pids/worker-1.pid"
out="$(cli trigger)"
[[ $out =~ ^checkpoint\ ([0-9]+)\ triggered$ ]] || fail "trigger said: $out"
victim="${BASH_REMATCH[1]}"
cli show "$victim" | grep -q '^status: PENDING' ||
	fail "checkpoint $victim was no longer pending when the kill came"
kill -KILL "$pid1"

failed() { cli show "$victim" | grep -q '^status: FAILED'; }
wait_for 60 failed
cli show "$victim" | grep -E '^(status|failure|reason)' || true
cli --json show "$victim" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert "worker 1" in r.get("failure_reason", ""), r
assert r["tasks_acked"] < r["tasks_total"], r' ||
	fail "checkpoint $victim did not fail with the worker loss as its reason"

say "worker-1 comes back; the job restores checkpoint $good, not $victim"
cluster start worker-1 >/dev/null
wait_for 120 state_is RUNNING
cli status | grep -qx "restored from checkpoint: $good" ||
	fail "restored from the wrong checkpoint: $(cli status | grep restored)"
release_sources

cluster wait 180 >/dev/null || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "output is not exactly-once after a kill during snapshot upload"
say "PASS"
