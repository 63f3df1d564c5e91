#!/usr/bin/env bash
# job_lifecycle.sh - the end of a job (docs/CLI.md, "After the job has
# ended"):
#   1. a bounded job FINISHES: the coordinator and the workers exit by
#      themselves (coordinator exit status 0), no ERROR line is logged, and
#      `snapmark status` still answers from the catalog, read-only, saying
#      the coordinator is not running, with the final record counts (the
#      oracle: records x parallelism from the job file) and no rates;
#   2. `snapmark cancel` stops an endless job without a checkpoint: state
#      CANCELED (also from the catalog afterwards), exit status 3, no
#      checkpoint after the cancel, and a second cancel is refused;
#   3. `snapmark stop` is `savepoint --stop`: parsing only here.
source "$(dirname "$0")/lib.sh"

RECORDS=30000
JOB="$TEST_TMP/bounded.ini"
cat >"$JOB" <<INI
[job]
name = bounded
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
records = $RECORDS
rate = 20000
keys = 300
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

# all_gone: no process of the run dir is alive any more.
all_gone() {
	local name pid
	for name in coordinator worker-1 worker-2; do
		pid="$(<"$RUN/pids/$name.pid")"
		if [[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
			return 1
		fi
	done
}

say "1. a bounded job finishes; its processes exit by themselves"
cluster up "$JOB" 2 >/dev/null
cluster wait 120 >/dev/null || fail "the job did not finish"
wait_for 60 all_gone
grep -q "INFO terminating$" "$RUN/logs/coordinator.log" ||
	fail "the coordinator did not end with 'terminating' (exit status 0)"
if grep -h " ERROR " "$RUN"/logs/*.log; then
	fail "ERROR lines in the logs of a clean run"
fi
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "the output is not exact"

expect_exit 0 cli status
head -n 1 <<<"$OUT" | grep -qx "coordinator not running; from the catalog of $RUN/coordinator (read-only)" ||
	fail "status does not say first that it read the catalog"
sed -n 's/^state: //p' <<<"$OUT" | grep -qx FINISHED || fail "state is not FINISHED"
want=$((RECORDS * 2))
awk -v want="$want" '
	$1 == "source"  { s = ($3 == want) }
	$1 == "counter" { c = ($2 == want) }
	$1 == "source" || $1 == "counter" || $1 == "sink" {
		if ($4 != 0 || $5 != 0) r = 1
	}
	END { exit !(s && c && !r) }' <<<"$OUT" ||
	fail "final counts not $want (source out, counter in) with rates 0"
cli --json status 2>"$TEST_TMP/err" | python3 -c '
import json, sys
st = json.load(sys.stdin)
assert st["coordinator_running"] is False, st
assert st["catalog"].endswith("/coordinator"), st
assert st["state"] == "FINISHED", st' || fail "JSON status lacks coordinator_running/catalog"
expect_exit 0 cli checkpoints
expect_exit 0 cli show 1
expect_exit 1 cli trigger

say "2. cancel an endless job"
ENDLESS="$TEST_TMP/endless.ini"
cat >"$ENDLESS" <<'INI'
[job]
name = endless
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
parallelism = 2
rate = 5000
keys = 300
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI
cluster up "$ENDLESS" 2 >/dev/null
wait_for 120 completed_at_least 2
expect_exit 0 cli cancel
[[ $OUT == "job canceled" ]] || fail "cancel printed: $OUT"
wait_for 60 all_gone
grep -q "INFO terminating (exit status 3)$" "$RUN/logs/coordinator.log" ||
	fail "the coordinator of a canceled job did not exit with status 3"
expect_exit 0 cli status
sed -n 's/^state: //p' <<<"$OUT" | grep -qx CANCELED || fail "state is not CANCELED"
latest="$(sed -n 's/^latest completed checkpoint: //p' <<<"$OUT")"
[[ $latest =~ ^[0-9]+$ ]] || fail "no latest completed checkpoint after the cancel"
# Exactly once: the published output is that of completed checkpoints only
# (files part-SUBTASK-CHECKPOINT), nothing written after the latest.
for f in "$RUN"/output/part-*; do
	[[ -e $f ]] || continue
	id="${f##*-}"
	((10#$id <= latest)) || fail "$f published after the cancel (latest completed: $latest)"
done
if grep -h " ERROR " "$RUN"/logs/*.log; then
	fail "ERROR lines after a cancel"
fi
expect_exit 1 cli cancel

say "3. stop is savepoint --stop"
expect_exit 2 cli stop --stop
expect_exit 2 cli stop extra
say "PASS"
