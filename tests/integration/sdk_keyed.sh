#!/usr/bin/env bash
# sdk_keyed.sh - a user operator with keyed state and event-time timers
# (tests/plugins/keyed_sum.c: sums per key in windows of 1000 ms) runs
# under the checkpoints with the built-ins' guarantees: gen -> hash ->
# keyed_sum (parallelism 3) -> file. Workers are SIGKILLed mid-run (which
# and when drawn from a seed, printed: SNAPMARK_TEST_SEED=N replays it),
# the job restores keyed state and timers from its latest checkpoint, and
# the committed output is exactly the windows an independent computation
# (windows.py) makes from gen's definition: every window of every key
# once, closed at the end of input by the final watermark. Then the job
# is stopped with a savepoint at parallelism 3 and restored from it at 2:
# keyed state and timers split by key group, the windows still exact.
source "$(dirname "$0")/lib.sh"

SEED="${SNAPMARK_TEST_SEED:-$(( $(date +%s) % 100000 ))}"
RANDOM=$SEED
say "seed $SEED"

job() { # job NAME SUM_PARALLELISM
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = sdk-keyed
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 200
[restart]
strategy = fixed-delay
attempts = 10
delay_ms = 100
[stage source]
operator = gen
parallelism = 2
records = 24000
keys = 40
rate = 6000
[stage sum]
operator = keyed_sum
library = $B/tests/libkeyed_sum.so
parallelism = $2
input = source hash
[stage sink]
operator = file
format = text
parallelism = $2
input = sum forward
INI
	echo "$TEST_TMP/$1.ini"
}
JOB="$(job keyed 3)"

hold_sources
cluster up "$JOB" 2 >/dev/null
LOG="$RUN/logs/coordinator.log"

for round in 1 2; do
	wait_for 120 completed_at_least $((round * 2))
	[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
		fail "job is not RUNNING before kill $round"
	sleep "0.$((RANDOM % 8))"
	w=$((RANDOM % 2 + 1))
	say "kill $round: SIGKILL worker-$w"
	cluster kill "worker-$w" >/dev/null
	wait_for 60 state_is RESTARTING
	cluster start "worker-$w" >/dev/null
	wait_for 120 state_is RUNNING
	grep -q "restored from checkpoint" <<<"$(cli status)" ||
		fail "round $round: the job did not restore from a checkpoint"
done
grep -qE 'task sum\.[0-9]: operator keyed_sum: restored checkpoint [0-9]+ with 1 state item' \
	"$RUN"/logs/worker-*.log ||
	fail "keyed_sum's restore did not get its operator-state item back"
release_sources

cluster wait 180 >/dev/null || fail "job did not finish"
cli status | grep -qE '^restarts: 2$' || fail "two restarts expected"
python3 "$SRC/tests/integration/windows.py" check "$RUN" "$JOB" ||
	fail "committed windows are not exactly-once after the kills (seed $SEED)"
cluster down >/dev/null

say "stop with a savepoint at parallelism 3, restore at 2"
FIRST="$TEST_TMP/run-p3"
RUN="$FIRST"
export SNAPMARK_RUN_DIR="$RUN"
on_exit 'SNAPMARK_RUN_DIR=$FIRST "$SRC/scripts/cluster" down >/dev/null 2>&1'
JOB3="$(job p3 3)"
JOB2="$(job p2 2)"
hold_sources sp
cluster up "$JOB3" 2 >/dev/null
wait_for 120 completed_at_least 2
out="$(cli savepoint --stop --dir "$TEST_TMP/sp")"
echo "$out"
[[ $out == savepoint*completed* ]] || fail "stop with savepoint failed: $out"
wait_for 30 state_is FINISHED
cluster down >/dev/null
RUN="$TEST_TMP/run-p2"
export SNAPMARK_RUN_DIR="$RUN"
unset SNAPMARK_DEBUG_GEN_HOLD
cluster up "$JOB2" 2 --restore-from "$TEST_TMP/sp" >/dev/null
grep -q "deploying [0-9]* tasks from savepoint" "$RUN/logs/coordinator.log" ||
	fail "the job did not start from the savepoint"
cluster wait 180 >/dev/null || fail "restored job did not finish"
python3 "$SRC/tests/integration/windows.py" check "$FIRST" "$JOB2" "$RUN" ||
	fail "windows before the savepoint and after the rescale are not exact"
say "PASS"
