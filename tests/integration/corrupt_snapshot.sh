#!/usr/bin/env bash
#
# corrupt_snapshot.sh - a snapshot that does not verify is never used:
#
#   corrupt  With worker-1 dead, one state value of the latest completed
#            checkpoint N of count.0 (hosted on worker-1) is changed in its
#            LMDB file. When worker-1 is back, count.0 refuses to restore N
#            (state checksum mismatch); the coordinator says once, clearly,
#            that N is unusable and falls back to the previous completed
#            checkpoint M < N. The job finishes with exact counts.
#   missing  With worker-1 dead, count.0's whole LMDB environment (every
#            snapshot it has) is removed. No checkpoint can be restored:
#            the coordinator must end in FAILED saying there is no usable
#            checkpoint, and never silently start the job from scratch.
#
# Each scenario runs its own cluster in its own run dir (RUN, then
# TEST_TMP/run2); both are brought down at exit. Run one alone with
# `corrupt_snapshot.sh corrupt` or `corrupt_snapshot.sh missing`.
#
# Needs python3 and mdb_dump (lmdb-utils); a missing one fails the test.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3 mdb_dump

JOB="$TEST_TMP/keyed.ini"
cat >"$JOB" <<'EOF'
; 2 x 60000 records at 15000/s per subtask over 500 keys: ~4 s of data; the
; sources hold their last record until the test has done its faults.
; Tasks go round-robin over 2 workers: worker 1 runs src.0 count.0 sink.0.
[job]
name = keyed

[checkpoint]
interval_ms = 200
retained = 3
; Full snapshots: checkpoint N holds state entries of its own even when the
; held sources have long stopped changing the counts (a delta would be
; empty, leaving nothing to corrupt).
incremental = 0

[stage src]
operator = gen
parallelism = 2
records = 60000
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
EOF

# corrupt.py DIR ID: change one state value of snapshot ID in the LMDB
# environment DIR, in place. The value is found with mdb_dump; its key
# ('s' + ID + entry number, snapshot.h) and value are contiguous in a leaf
# page, so key+value is searched for in data.mdb (every copy: LMDB's
# copy-on-write may leave stale ones in free pages) and the value's last
# byte - the top byte of the 8-byte count, the StateEntry's last field -
# gets its low bit flipped. The entry still decodes, with a count off by
# 2^56: only the checksum can tell.
cat >"$TEST_TMP/corrupt.py" <<'EOF'
import os, subprocess, sys

def entries(d):
    out = subprocess.run(['mdb_dump', d], check=True, capture_output=True,
                         text=True).stdout.split('\n')
    body = out[out.index('HEADER=END') + 1:]
    lines = [l[1:] for l in body if l.startswith(' ')]
    return [(bytes.fromhex(lines[i]), bytes.fromhex(lines[i + 1]))
            for i in range(0, len(lines) - 1, 2)]

d, cid = sys.argv[1], int(sys.argv[2])
prefix = b's' + cid.to_bytes(8, 'big')
state = [(k, v) for k, v in entries(d) if k.startswith(prefix) and len(k) == 17]
if not state:
    sys.exit(f'no state entry of snapshot {cid} in {d}')
key, val = state[len(state) // 2]
bad = val[:-1] + bytes([val[-1] ^ 0x01])
path = os.path.join(d, 'data.mdb')
data = open(path, 'rb').read()
n = data.count(key + val)
if n == 0:
    sys.exit(f'key+value of {key.hex()} not found in {path}')
open(path, 'r+b').write(data.replace(key + val, key + bad))
now = dict(entries(d))
if now.get(key) != bad:
    sys.exit(f'mdb_dump still shows {now.get(key, b"").hex()} for {key.hex()}')
print(f'{d}: snapshot {cid}, state entry {int.from_bytes(key[9:], "big")}: '
      f'value {val.hex()} -> {bad.hex()} ({n} cop{"y" if n == 1 else "ies"} '
      f'in data.mdb; {len(state)} entries in the snapshot)')
EOF

# ------------------------------------------------------------- helpers

# defect MSG: a wrong detail that does not stop the scenario: noted, the
# test goes on, and fails at the end.
DEFECTS=()
defect() {
	say "DEFECT: $*"
	DEFECTS+=("$*")
}

# log_after LINE REGEX: lines of the coordinator log after line LINE that
# match REGEX.
log_after() {
	tail -n "+$(($1 + 1))" "$RUN/logs/coordinator.log" | grep -E -- "$2"
}
has_log_after() { log_after "$@" >/dev/null; }

log_lines() { wc -l <"$RUN/logs/coordinator.log"; }

# count_task_on_worker1: the name of the count task worker 1 hosts.
count_task_on_worker1() {
	cli --json status | python3 -c '
import json, sys
st = json.load(sys.stdin)
w = [w for w in st["workers"] if w["worker_id"] == 1][0]
print([t for t in w["tasks"] if t.startswith("count.")][0])'
}

# location TASK ID: the LMDB dir of TASK's snapshot in checkpoint ID.
location() {
	cli --json show "$2" | python3 -c '
import json, sys
rec = json.load(sys.stdin)
assert rec["status"] == "COMPLETED", rec["status"]
print([t for t in rec["tasks"] if t["task_name"] == sys.argv[1]][0]
      ["handle"]["location"])' "$1"
}

# previous_completed ID: the newest COMPLETED checkpoint older than ID.
previous_completed() {
	cli --json checkpoints | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)["checkpoints"]
       if c["status"] == "COMPLETED" and c["id"] < int(sys.argv[1])]
print(max(ids) if ids else 0)' "$1"
}

# newest_completed K: the K newest COMPLETED checkpoint ids, newest first,
# space-separated: what the tasks keep with `retained = K`.
newest_completed() {
	cli --json checkpoints | python3 -c '
import json, sys
ids = sorted((c["id"] for c in json.load(sys.stdin)["checkpoints"]
              if c["status"] == "COMPLETED"), reverse=True)
print(" ".join(str(i) for i in ids[:int(sys.argv[1])]))' "$1"
}

# use_run DIR: the following cluster/cli calls work on the cluster in DIR;
# it is brought down at exit whatever happens.
use_run() {
	RUN="$1"
	export SNAPMARK_RUN_DIR="$RUN"
	on_exit "SNAPMARK_RUN_DIR='$RUN' '$SRC/scripts/cluster' down >/dev/null 2>&1"
}

# start_and_kill MIN: a fresh cluster on the keyed job; once MIN checkpoints
# have completed, SIGKILL worker-1. Sets N (latest completed checkpoint,
# read once the epoch has failed), TASK (count task of worker-1), LOC (its
# LMDB dir), KILL_LINE (coordinator log length at the kill).
start_and_kill() {
	hold_sources "${RUN##*/}"
	cluster up "$JOB" 2
	wait_for 120 completed_at_least "$1"
	TASK="$(count_task_on_worker1)"
	KILL_LINE="$(log_lines)"
	status_now
	[[ $(field state) == RUNNING ]] ||
		fail "job is $(field state) before the kill: it must still be running (make it carry more data)"
	cluster kill worker-1
	wait_for 60 state_is RESTARTING
	N="$(field 'latest completed checkpoint')"
	if ! [[ $N =~ ^[0-9]+$ ]] || ((N < $1)); then
		fail "latest completed checkpoint is '$N' after the kill"
	fi
	LOC="$(location "$TASK" "$N")"
	[[ -f $LOC/data.mdb ]] || fail "no LMDB environment at $LOC ($TASK in checkpoint $N)"
	say "   killed worker-1 after checkpoint $N; it hosted $TASK, snapshots in $LOC"
}

# ---------------------------------------------------------- scenario 1

scenario_corrupt() {
	use_run "$RUN"
	say "corrupt: keyed job on 2 workers, wait for 3 checkpoints, SIGKILL worker-1"
	start_and_kill 3
	local prev
	prev="$(previous_completed "$N")"
	((prev >= 1)) || fail "no completed checkpoint before $N to fall back to"

	say "corrupt: change one state value of checkpoint $N of $TASK in $LOC"
	python3 "$TEST_TMP/corrupt.py" "$LOC" "$N" || fail "could not corrupt $LOC"

	say "corrupt: restart worker-1; $TASK must refuse checkpoint $N"
	cluster start worker-1
	wait_for 60 has_log_after "$KILL_LINE" "ERROR checkpoint $N is unusable"
	local line
	line="$(log_after "$KILL_LINE" "ERROR checkpoint $N is unusable")"
	echo "$line"
	[[ $(wc -l <<<"$line") -eq 1 ]] ||
		fail "checkpoint $N declared unusable more than once"
	grep -qE "ERROR checkpoint $N is unusable: task $TASK cannot restore it \([^)]*checksum mismatch[^)]*\)" <<<"$line" ||
		fail "the unusable line does not name $TASK and a checksum mismatch"
	grep -qE "task $TASK: cannot restore checkpoint $N: .*checksum mismatch" \
		"$RUN/logs/worker-1.log" ||
		fail "worker-1 does not say why $TASK cannot restore checkpoint $N"
	if [[ $(log_after "$KILL_LINE" "ERROR checkpoint [0-9]+ is unusable" | wc -l) -ne 1 ]]; then
		log_after "$KILL_LINE" "ERROR checkpoint [0-9]+ is unusable"
		fail "more than one checkpoint declared unusable: only $N was corrupted"
	fi

	say "corrupt: the coordinator falls back to checkpoint $prev (the previous completed one)"
	wait_for 60 has_log_after "$KILL_LINE" "restoring checkpoint $prev\$"
	log_after "$KILL_LINE" "falling back|restoring checkpoint|unusable"
	has_log_after "$KILL_LINE" "falling back to checkpoint $prev: newer checkpoint $N is unusable" ||
		fail "no 'falling back to checkpoint $prev' line"
	local m
	m="$(log_after "$KILL_LINE" "restoring checkpoint [0-9]+\$" | tail -n 1 |
		sed -nE 's/.*restoring checkpoint ([0-9]+)$/\1/p')"
	((m < N)) || fail "the last restore after the corruption is of checkpoint $m, not older than $N"
	if log_after "$KILL_LINE" "from the start"; then
		fail "the job was started from scratch instead of from checkpoint $prev"
	fi

	say "corrupt: the job runs again from checkpoint $m"
	wait_for 60 state_is RUNNING
	cli status
	[[ $(field 'restored from checkpoint') == "$m" ]] ||
		fail "status says restored from '$(field 'restored from checkpoint')', want $m"
	((N > m)) || fail "restored $m is not older than $N"
	release_sources "${RUN##*/}"

	say "corrupt: the job finishes with exact counts"
	cluster wait 180 || fail "job did not finish"
	python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
		fail "expect.py check failed"

	cluster down
	_sanitizer_reports || fail "sanitizer report in $RUN"
}

# ---------------------------------------------------------- scenario 2

scenario_missing() {
	use_run "$TEST_TMP/run2"
	say "missing: keyed job on 2 workers in $RUN, wait for 2 checkpoints, SIGKILL worker-1"
	start_and_kill 2

	local retained
	retained="$(newest_completed 3)"
	say "   retained = 3: the tasks keep the snapshots of checkpoints $retained"

	say "missing: remove $TASK's LMDB environment $LOC (every snapshot of $TASK)"
	rm -rf -- "$LOC"

	say "missing: restart worker-1; no checkpoint can be restored"
	cluster start worker-1
	wait_for 60 state_is FAILED
	cli status
	[[ $(field 'last failure') == *"no usable checkpoint"* ]] ||
		fail "last failure is '$(field 'last failure')', want it to say there is no usable checkpoint"
	log_after "$KILL_LINE" "is unusable|job failed|restoring checkpoint"
	has_log_after "$KILL_LINE" "ERROR checkpoint $N is unusable: task $TASK cannot restore it \(.*\)" ||
		fail "the coordinator does not say why checkpoint $N is unusable"
	has_log_after "$KILL_LINE" "ERROR job failed: no usable checkpoint" ||
		fail "no 'job failed: no usable checkpoint' line"

	# The failure names the newest unusable checkpoint: N.
	local newest
	newest="$(field 'last failure' | sed -nE 's/.*\(newest: ([0-9]+)\).*/\1/p')"
	[[ -z $newest || $newest == "$N" ]] ||
		defect "last failure says '(newest: $newest)', but the newest unusable checkpoint is $N"
	# Only retained checkpoints have snapshots; restoring any other one
	# cannot work (the tasks deleted it when told to retain $retained).
	local k tried
	tried="$(log_after "$KILL_LINE" "restoring checkpoint [0-9]+\$" |
		sed -nE 's/.*restoring checkpoint ([0-9]+)$/\1/p' | paste -sd' ')"
	say "   restores tried after the kill: $tried"
	for k in $tried; do
		[[ " $retained " == *" $k "* ]] ||
			defect "the coordinator tried to restore checkpoint $k, which is not among the retained ($retained): its snapshots had been deleted"
	done

	say "missing: it did not silently start from scratch"
	if log_after "$KILL_LINE" "deploying [0-9]+ tasks from the start"; then
		fail "after the kill the job was deployed from the start: silent data loss"
	fi

	say "missing: it stays FAILED (no restart loop), the coordinator alive or exited by itself"
	local lines
	lines="$(log_lines)"
	sleep 1
	status_now
	[[ $(field state) == FAILED ]] || fail "state went from FAILED to $(field state)"
	if log_after "$lines" "deploying"; then
		fail "the coordinator deployed again after FAILED"
	fi
	local st
	st="$(cluster status)"
	# Alive, or (the job ended) exited by itself with status 1: no crash.
	grep -E '^coordinator +pid [0-9]+ +alive' <<<"$st" >/dev/null ||
		grep -q 'INFO terminating (exit status 1)$' "$RUN/logs/coordinator.log" ||
		fail "the coordinator is not alive and did not exit for the FAILED job: $(grep '^coordinator' <<<"$st")"
}

# ---------------------------------------------------------------- main

case "${1:-all}" in
corrupt) scenario_corrupt ;;
missing) scenario_missing ;;
all)
	scenario_corrupt
	scenario_missing
	;;
*)
	echo "usage: corrupt_snapshot.sh [corrupt|missing|all]" >&2
	exit 2
	;;
esac
if ((${#DEFECTS[@]} > 0)); then
	fail "the scenarios ran but the product got ${#DEFECTS[@]} detail(s) wrong: $(printf '%s; ' "${DEFECTS[@]}")"
fi
say "PASS"
