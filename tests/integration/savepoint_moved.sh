#!/usr/bin/env bash
# savepoint_moved.sh - a savepoint is self-contained and relocatable: one
# taken into DIR, moved as a whole to another directory, restores from
# there with exact output. Nothing is read from, or created at, the
# directory it was written to (its _metadata names the task stores
# relative to itself). A savepoint of the older format (absolute locations
# inside the directory it was written to) restores after a move as well.
# The expected counts are the failure-free run's, computed by expect.py.
source "$(dirname "$0")/lib.sh"

# The job that takes the savepoint runs for ~50 s (rate-limited), so the
# savepoint never races its end; the restored job is the same job without
# the rate limit (the savepoint maps stages by name and operator).
job() { # job NAME RATE_LINE
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = moved
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 100000
$2
keys = 3000
seed = 11
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI
	echo "$TEST_TMP/$1.ini"
}
SLOW="$(job slow 'rate = 2000')"
JOB="$(job fast '')"

use_run() { RUN="$TEST_TMP/$1"; export SNAPMARK_RUN_DIR="$RUN"; }
on_exit 'for r in "$TEST_TMP"/run-*; do SNAPMARK_RUN_DIR=$r "$SRC/scripts/cluster" down >/dev/null 2>&1; done'

say "stop with a savepoint into sp-orig"
use_run run-before
cluster up "$SLOW" 2 >/dev/null
wait_for 20 completed_at_least 1
out="$(cli savepoint --stop --dir "$TEST_TMP/sp-orig")"
echo "$out"
[[ $out == savepoint*completed* ]] || fail "stop with savepoint failed: $out"
cluster down >/dev/null

# A savepoint written before locations were relative held them absolute
# (DIR/NAME, DIR where it was written): make such a copy too.
mkdir "$TEST_TMP/elsewhere"
cp -a "$TEST_TMP/sp-orig" "$TEST_TMP/elsewhere/sp-legacy"
protoc --decode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
	<"$TEST_TMP/sp-orig/_metadata" >"$TEST_TMP/meta.txt"
grep -q 'location: "counter.0"' "$TEST_TMP/meta.txt" ||
	fail "_metadata does not name the stores relatively: $(grep location "$TEST_TMP/meta.txt")"
sed -E "s|location: \"([a-z]+\.[0-9]+)\"|location: \"$TEST_TMP/sp-orig/\1\"|" "$TEST_TMP/meta.txt" |
	protoc --encode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
		>"$TEST_TMP/elsewhere/sp-legacy/_metadata"
n="$(protoc --decode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
	<"$TEST_TMP/elsewhere/sp-legacy/_metadata" | grep -c "location: \"$TEST_TMP/sp-orig/")"
[[ $n -eq 6 ]] || fail "the old-style copy has $n absolute locations, want 6"

say "move it elsewhere and restore from there"
mv "$TEST_TMP/sp-orig" "$TEST_TMP/elsewhere/sp-moved"
use_run run-after
cluster up "$JOB" 2 --restore-from "$TEST_TMP/elsewhere/sp-moved" >/dev/null ||
	fail "cluster up from the moved savepoint failed"
grep -q "deploying [0-9]* tasks from savepoint" "$RUN/logs/coordinator.log" ||
	fail "the job did not start from the savepoint"
cluster wait 60 >/dev/null || fail "restored job did not finish"
[[ ! -e $TEST_TMP/sp-orig ]] ||
	fail "something was created at the savepoint's old place: $(find "$TEST_TMP/sp-orig")"
epochs="$(grep -c 'epoch [0-9]*: deploying' "$RUN/logs/coordinator.log")"
[[ $epochs -eq 1 ]] || fail "$epochs epochs, want 1"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "counts after restoring the moved savepoint are not exact"
cluster down >/dev/null

say "an old-style savepoint (absolute locations), moved, restores too"
use_run run-legacy
cluster up "$JOB" 2 --restore-from "$TEST_TMP/elsewhere/sp-legacy" >/dev/null ||
	fail "cluster up from the moved old-style savepoint failed"
cluster wait 60 >/dev/null || fail "restored job did not finish"
[[ ! -e $TEST_TMP/sp-orig ]] || fail "something was created at the old place"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "counts after restoring the old-style savepoint are not exact"
say "PASS"
