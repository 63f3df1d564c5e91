#!/usr/bin/env bash
# savepoint_rescale.sh - savepoints are self-contained, outlive retention,
# and restore a job with a different parallelism of its keyed stage:
#   1. a savepoint taken while the job runs survives many later checkpoints
#      (retention never touches it);
#   2. stop with savepoint (2 count tasks), restore with 3: exact counts;
#   3. stop with savepoint (3 count tasks), restore with 1: exact counts.
# The expected counts are the failure-free run's, computed by expect.py.
source "$(dirname "$0")/lib.sh"

job() { # job NAME COUNT_PARALLELISM
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = rescale
[checkpoint]
interval_ms = 150
retained = 2
[stage source]
operator = gen
parallelism = 2
records = 30000
rate = 10000   ; held at the last record until the savepoint is taken
keys = 4000
seed = 5
[stage counter]
operator = count
parallelism = $2
input = source hash
[stage sink]
operator = file
parallelism = $2
input = counter forward
INI
	echo "$TEST_TMP/$1.ini"
}
JOB2="$(job p2 2)"
JOB3="$(job p3 3)"
JOB1="$(job p1 1)"

use_run() { RUN="$TEST_TMP/$1"; export SNAPMARK_RUN_DIR="$RUN"; }
on_exit 'for r in "$TEST_TMP"/run-*; do SNAPMARK_RUN_DIR=$r "$SRC/scripts/cluster" down >/dev/null 2>&1; done'

say "1. a savepoint outlives retention"
use_run run-a
hold_sources run-a
cluster up "$JOB2" 2 >/dev/null
out="$(cli savepoint --dir "$TEST_TMP/sp-kept")"
echo "$out"
[[ $out =~ ^savepoint\ ([0-9]+)\ completed\ in\ .*:\ $TEST_TMP/sp-kept$ ]] ||
	fail "unexpected savepoint output: $out"
sp_id="${BASH_REMATCH[1]}"
release_sources run-a
cluster wait 180 >/dev/null || fail "job did not finish"
latest="$(cli status | sed -n 's/^latest completed checkpoint: //p')"
((latest > sp_id + 2)) || fail "not enough checkpoints after the savepoint"
[[ -f $TEST_TMP/sp-kept/_metadata ]] || fail "savepoint metadata gone"
for t in source.0 source.1 counter.0 counter.1; do
	python3 "$SRC/tests/integration/snapshots.py" ids "$TEST_TMP/sp-kept/$t" |
		grep -qx "$sp_id" || fail "savepoint snapshot of $t is gone"
done
protoc --decode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
	<"$TEST_TMP/sp-kept/_metadata" | grep -q "savepoint: true" ||
	fail "_metadata does not decode as a savepoint"
cli --json checkpoints | python3 -c '
import json, sys
sp = [c for c in json.load(sys.stdin)["checkpoints"] if c.get("savepoint")]
assert len(sp) == 1 and sp[0]["status"] == "COMPLETED", sp' ||
	fail "the savepoint is not in the history"
cluster down >/dev/null

rescale() { # rescale FROM_JOB TO_JOB TO_WORKERS LABEL
	local from=$1 to=$2 workers=$3 label=$4
	use_run "run-$label-before"
	hold_sources "$label" # no release: the savepoint stops the job
	cluster up "$from" 2 >/dev/null
	wait_for 120 completed_at_least 1
	local out
	out="$(cli savepoint --stop --dir "$TEST_TMP/sp-$label")"
	echo "$out"
	[[ $out == savepoint*completed* ]] || fail "stop with savepoint failed: $out"
	# FINISHING until every task confirmed the savepoint's output published
	wait_for 20 state_is FINISHED
	cluster down >/dev/null

	use_run "run-$label-after"
	unset SNAPMARK_DEBUG_GEN_HOLD
	cluster up "$to" "$workers" --restore-from "$TEST_TMP/sp-$label" >/dev/null
	grep -q "deploying [0-9]* tasks from savepoint" "$RUN/logs/coordinator.log" ||
		fail "the job did not start from the savepoint"
	cluster wait 180 >/dev/null || fail "restored job did not finish"
	python3 "$SRC/tests/integration/expect.py" check "$RUN" "$to" ||
		fail "counts after rescaling ($label) differ from the failure-free run"
	cluster down >/dev/null
}
say "2. stop with savepoint at parallelism 2, restore at 3"
rescale "$JOB2" "$JOB3" 3 2to3
say "3. stop with savepoint at parallelism 3, restore at 1"
rescale "$JOB3" "$JOB1" 1 3to1

say "a savepoint of another job shape is refused clearly"
unset SNAPMARK_DEBUG_GEN_HOLD
use_run run-bad
bad="$TEST_TMP/bad.ini"
sed 's/^parallelism = 2$/parallelism = 3/' "$JOB2" >"$bad" # sources too
mkdir -p "$RUN"
expect_exit 2 "$B/coordinator/snapmark-coordinator" --job "$bad" \
	--run-dir "$RUN" --restore-from "$TEST_TMP/sp-2to3"
[[ $OUT == *"source stage 'source' cannot change parallelism"* ]] ||
	fail "unclear refusal: $OUT"
say "PASS"
