#!/usr/bin/env bash
# run_dir_perms.sh - the run dir is 0700 and everything the processes put
# in it (catalog and task stores, ipc sockets, output, savepoints) is the
# user's alone, whatever umask they were started with: here 022, and a run
# dir created 0755 beforehand. The job runs for ~1000 s and is checked
# while it runs (keyed state in counter, records published by sink at every
# checkpoint). The processes are started directly, not through
# scripts/cluster, so only the binaries are under test.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/perms.ini"
cat >"$JOB" <<'INI'
[job]
name = perms
[checkpoint]
interval_ms = 100
[stage source]
operator = gen
parallelism = 2
records = 1000000
rate = 1000
keys = 500
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage drop]
operator = discard
parallelism = 2
input = counter forward
[stage sink]
operator = file
parallelism = 2
input = source forward
INI

umask 022
mkdir -p "$RUN/logs"
chmod 755 "$RUN"
"$B/coordinator/snapmark-coordinator" --job "$JOB" --run-dir "$RUN" \
	--workers 2 >>"$RUN/logs/coordinator.log" 2>&1 &
for k in 1 2; do
	"$B/worker/snapmark-worker" --id "$k" --run-dir "$RUN" \
		>>"$RUN/logs/worker-$k.log" 2>&1 &
done
wait_for 30 completed_at_least 1

# check: every file and directory the processes made is private.
check() {
	local mode
	mode="$(stat -c %a "$RUN")"
	[[ $mode == 700 ]] || fail "the run dir is $mode, want 700"
	local socks
	socks="$(find "$RUN" -type s -printf '%m %p\n')"
	[[ -n $socks ]] || fail "no ipc sockets found in $RUN"
	bad="$(awk '$1 != "600"' <<<"$socks")"
	[[ -z $bad ]] || fail "sockets not 0600: $bad"
	bad="$(find "$RUN" -mindepth 1 -path "$RUN/logs" -prune -o \
		\( -type f ! -perm 600 -o -type d ! -perm 700 \) -printf '%m %p\n')"
	[[ -z $bad ]] || fail "not private (want files 0600, dirs 0700): $bad"
}

say "while running: run dir, sockets, stores"
ls "$RUN"/coordinator/data.mdb "$RUN"/state/counter.0/data.mdb >/dev/null ||
	fail "stores missing"
check
say "after a savepoint and committed output: those too"
cli savepoint >/dev/null || fail "savepoint failed"
has_output() { compgen -G "$RUN/output/part-*" >/dev/null; }
wait_for 30 has_output
check
say "PASS"
