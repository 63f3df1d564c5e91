#!/usr/bin/env bash
# savepoint_in_run_dir.sh - `scripts/cluster up JOB N --restore-from
# RUN/savepoints/savepoint-ID` (the default place of `snapmark savepoint`)
# keeps the savepoint it restores from while it wipes the run dir, and the
# job restores from it with exact output. The savepoint is still there,
# unchanged in content, afterwards.
# The expected counts are the failure-free run's, computed by expect.py.
source "$(dirname "$0")/lib.sh"

job() { # job NAME RATE_LINE
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = inrun
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 100000
$2
keys = 2000
seed = 17
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

say "stop with a savepoint at its default place"
cluster up "$SLOW" 2 >/dev/null
wait_for 20 completed_at_least 1
out="$(cli savepoint --stop)"
echo "$out"
[[ $out =~ ^savepoint\ ([0-9]+)\ completed\ in\ .*:\ (.*)$ ]] ||
	fail "stop with savepoint failed: $out"
SP="${BASH_REMATCH[2]}"
[[ $SP == "$RUN/savepoints/savepoint-${BASH_REMATCH[1]}" ]] ||
	fail "savepoint not at its default place: $SP"
cluster down >/dev/null
# What the savepoint holds, to compare afterwards (lock files change).
sums() { (cd "$SP" && find . -type f ! -name lock.mdb -exec md5sum {} + | sort -k2); }
sums >"$TEST_TMP/before.txt"
echo stale >"$RUN/output/stale-file"

say "cluster up --restore-from the savepoint inside the run dir"
cluster up "$JOB" 2 --restore-from "$SP" >/dev/null ||
	fail "cluster up --restore-from $SP failed"
[[ -f $SP/_metadata ]] || fail "the savepoint was deleted"
[[ ! -e $RUN/output/stale-file ]] || fail "the rest of the run dir was not wiped"
grep -q "deploying [0-9]* tasks from savepoint" "$RUN/logs/coordinator.log" ||
	fail "the job did not start from the savepoint"
cluster wait 60 >/dev/null || fail "restored job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "counts after restoring are not exact"
sums >"$TEST_TMP/after.txt"
diff "$TEST_TMP/before.txt" "$TEST_TMP/after.txt" ||
	fail "the savepoint's content changed"
say "PASS"
