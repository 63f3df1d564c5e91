#!/usr/bin/env bash
# forged_metadata.sh - snapshot metadata is untrusted input.
#
# A keyed job on 2 workers (worker 1 runs src.0, count.0, sink.0). Once a
# few checkpoints completed, every process is SIGKILLed and the catalog is
# forged with tests/forge_catalog, checksums recomputed, as someone with
# write access to the run dir could:
#
#   newest completed N     sink.0's snapshot gains the pending file name
#                          "../../victim": a sink that trusts it renames
#                          RUN/victim (outside its directories) to
#                          TEST_TMP/victim when it restores N
#   previous completed M   count.0's handle names a copy of its own store
#                          in TEST_TMP/foreign: a valid snapshot, but not
#                          in the task's state directory
#
# When the cluster comes back, the coordinator must find N and then M
# unusable with the reason logged, restore the checkpoint before M, and the
# job must finish with exact counts; RUN/victim stays where it was, nothing
# appears in TEST_TMP/foreign (not even an LMDB lock file).
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/forged.ini"
cat >"$JOB" <<'INI'
; 2 x 90000 records at 15000/s per subtask over 500 keys: ~6 s of data.
[job]
name = forged-metadata
[checkpoint]
interval_ms = 200
retained = 4
[stage src]
operator = gen
parallelism = 2
records = 90000
rate = 15000
keys = 500
[stage count]
operator = count
parallelism = 2
input = src hash
[stage sink]
operator = file
parallelism = 2
input = count forward
INI
FORGE="$B/tests/forge_catalog"
[[ -x $FORGE ]] || fail "$FORGE is not built"

log_has() { grep -qE -- "$1" "$RUN/logs/coordinator.log"; }

# stop_worker1_after N: once N checkpoints completed, SIGSTOP worker 1 at
# once: no checkpoint (the final one neither) can complete without its
# tasks, so however slowly the kills below run, the job cannot end first.
stop_worker1_after() {
	completed_at_least "$1" || return 1
	kill -STOP "$(<"$RUN/pids/worker-1.pid")"
}

cluster up "$JOB" 2 >/dev/null
wait_for 20 stop_worker1_after 4
say "SIGKILL every process after 4 completed checkpoints (worker 1 stopped)"
cluster kill coordinator >/dev/null
cluster kill worker-1 >/dev/null
cluster kill worker-2 >/dev/null
"$FORGE" "$RUN/coordinator" list >"$TEST_TMP/completed.txt"
mapfile -t ids < <(cut -d' ' -f1 "$TEST_TMP/completed.txt")
((${#ids[@]} >= 3)) || fail "fewer than 3 completed checkpoints: ${ids[*]}"
grep -q final "$TEST_TMP/completed.txt" &&
	fail "the job finished before worker 1 was stopped; make it longer"
N=${ids[0]} M=${ids[1]} L=${ids[2]}
say "   completed checkpoints: ${ids[*]}: forge $N and $M, expect a restore of $L"

echo "the victim's content" >"$RUN/victim"
mkdir -p "$TEST_TMP/foreign/count.0"
cp -- "$RUN/state/count.0/data.mdb" "$TEST_TMP/foreign/count.0/data.mdb"
cp -- "$RUN/state/count.0/data.mdb" "$TEST_TMP/foreign.data.mdb"
"$FORGE" "$RUN/coordinator" location "$M" count.0 "$TEST_TMP/foreign/count.0" ||
	fail "cannot forge checkpoint $M"
"$FORGE" "$RUN/coordinator" pending "$N" sink.0 "../../victim" ||
	fail "cannot forge checkpoint $N"
KILL_LINE="$(wc -l <"$RUN/logs/coordinator.log")"
log_after() { tail -n "+$((KILL_LINE + 1))" "$RUN/logs/coordinator.log" | grep -E -- "$1"; }
has_log_after() { log_after "$1" >/dev/null; }

say "start the cluster again"
cluster start coordinator >/dev/null
cluster start worker-1 >/dev/null
cluster start worker-2 >/dev/null
wait_for 30 has_log_after "restoring checkpoint $L\$"
log_after "unusable|falling back|restoring checkpoint"
has_log_after "ERROR checkpoint $N is unusable: task sink.0 cannot restore it \(untrusted snapshot metadata: pending file name '\.\./\.\./victim' is not a plain file name\)" ||
	fail "checkpoint $N is not declared unusable for sink.0's forged pending name"
has_log_after "ERROR checkpoint $M is unusable: task count.0 cannot restore it \(untrusted snapshot metadata: location $TEST_TMP/foreign/count.0 lies outside the task's state directory" ||
	fail "checkpoint $M is not declared unusable for count.0's foreign location"
grep -qE "task sink.0: cannot restore checkpoint $N: untrusted snapshot metadata" "$RUN/logs/worker-1.log" ||
	fail "worker-1 does not say why sink.0 cannot restore $N"

say "the job finishes with exact counts from checkpoint $L"
cluster wait 60 >/dev/null || fail "the job did not finish"
status_now
[[ $(field state) == FINISHED ]] || fail "state $(field state)"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact after the fallback"

say "nothing outside the sink's and the task's directories was touched"
[[ -f $RUN/victim && $(<"$RUN/victim") == "the victim's content" ]] ||
	fail "RUN/victim was moved or changed by a restore"
[[ ! -e $TEST_TMP/victim ]] || fail "TEST_TMP/victim appeared: the sink renamed a file outside its directories"
ls -A "$TEST_TMP/foreign/count.0"
[[ $(ls -A "$TEST_TMP/foreign/count.0") == data.mdb ]] ||
	fail "files appeared in the foreign store: it was opened"
cmp -s "$TEST_TMP/foreign/count.0/data.mdb" "$TEST_TMP/foreign.data.mdb" ||
	fail "the foreign store changed"
say "PASS"
