#!/usr/bin/env bash
# savepoint_damaged.sh - a savepoint that cannot be used fails the start
# with a clear message, before any epoch, creating nothing:
#   missing    a task's store directory removed
#   flipped    one state value changed in a task's data.mdb
#   escaping   _metadata names a store outside the savepoint ("../")
#   cluster    `cluster up --restore-from` the one with a missing store:
#              no epoch in the log, nothing created at the removed place
#   late       a store removed after the coordinator verified the
#              savepoint but before the tasks restore it: the job is
#              FAILED at once (one epoch), nothing is re-created
# Needs python3, mdb_dump (lmdb-utils) and protoc (scripts/bootstrap).
# `savepoint_damaged.sh flipped late` runs only those scenarios.
source "$(dirname "$0")/lib.sh"
ONLY=" $* "
want() { [[ $ONLY == "  " || $ONLY == *" $1 "* ]]; }

job() { # job NAME RATE_LINE
	cat >"$TEST_TMP/$1.ini" <<INI
[job]
name = damaged
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 100000
$2
keys = 3000
seed = 3
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
COORD="$B/coordinator/snapmark-coordinator"
WORKER="$B/worker/snapmark-worker"

# flip.py DIR ID: change one state value of snapshot ID in the LMDB
# environment DIR in place (its low bit: the entry still decodes, only the
# checksum can tell). Found with mdb_dump, replaced in data.mdb.
cat >"$TEST_TMP/flip.py" <<'PY'
import os, subprocess, sys
d, cid = sys.argv[1], int(sys.argv[2])
out = subprocess.run(['mdb_dump', d], check=True, capture_output=True,
                     text=True).stdout.split('\n')
body = [l[1:] for l in out[out.index('HEADER=END') + 1:] if l.startswith(' ')]
pairs = [(bytes.fromhex(body[i]), bytes.fromhex(body[i + 1]))
         for i in range(0, len(body) - 1, 2)]
prefix = b's' + cid.to_bytes(8, 'big')
state = [(k, v) for k, v in pairs if k.startswith(prefix) and len(k) == 17]
if not state:
    sys.exit(f'no state entry of snapshot {cid} in {d}')
key, val = state[len(state) // 2]
bad = val[:-1] + bytes([val[-1] ^ 0x01])
path = os.path.join(d, 'data.mdb')
data = open(path, 'rb').read()
if data.count(key + val) == 0:
    sys.exit(f'key+value not found in {path}')
open(path, 'r+b').write(data.replace(key + val, key + bad))
PY

use_run() { RUN="$TEST_TMP/$1"; export SNAPMARK_RUN_DIR="$RUN"; }
on_exit 'for r in "$TEST_TMP"/run-*; do SNAPMARK_RUN_DIR=$r "$SRC/scripts/cluster" down >/dev/null 2>&1; done'

say "take a savepoint"
use_run run-take
cluster up "$SLOW" 2 >/dev/null
wait_for 20 completed_at_least 1
out="$(cli savepoint --stop --dir "$TEST_TMP/sp-orig")"
[[ $out =~ ^savepoint\ ([0-9]+)\ completed ]] || fail "savepoint failed: $out"
SP_ID="${BASH_REMATCH[1]}"
cluster down >/dev/null
mv "$TEST_TMP/sp-orig" "$TEST_TMP/sp-good"
copy() { cp -a "$TEST_TMP/sp-good" "$TEST_TMP/$1"; echo "$TEST_TMP/$1"; }

# refused NAME SAVEPOINT WANT...: the coordinator started from SAVEPOINT
# exits 2 at once (timeout: it went on), saying every WANT, before any
# epoch.
refused() {
	local name=$1 sp=$2 want
	shift 2
	use_run "run-$name"
	mkdir -p "$RUN"
	expect_exit 2 timeout 20 "$COORD" --job "$JOB" --run-dir "$RUN" \
		--workers 2 --restore-from "$sp"
	for want in "$@"; do
		[[ $OUT == *"$want"* ]] || fail "$name: unclear refusal (want '$want'): $OUT"
	done
	[[ $OUT != *"epoch "* ]] || fail "$name: an epoch was started: $OUT"
}

if want missing; then
	say "missing: a task's store removed"
	SP="$(copy sp-missing)"
	rm -r "$SP/counter.0"
	refused missing "$SP" "cannot restore from" "task counter.0" "no snapshot store there"
	[[ ! -e $SP/counter.0 ]] || fail "missing: counter.0 was re-created"
fi

if want flipped; then
	say "flipped: one state value changed"
	SP="$(copy sp-flipped)"
	python3 "$TEST_TMP/flip.py" "$SP/counter.1" "$SP_ID" || fail "cannot flip a byte"
	refused flipped "$SP" "task counter.1" "does not verify" "checksum"
fi

if want escaping; then
	say "escaping: a location outside the savepoint"
	SP="$(copy sp-escaping)"
	protoc --decode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
		<"$SP/_metadata" >"$TEST_TMP/meta.txt"
	grep -q 'location: "counter.0"' "$TEST_TMP/meta.txt" ||
		fail "_metadata does not name counter.0 relatively: $(grep location "$TEST_TMP/meta.txt")"
	sed 's|location: "counter.0"|location: "../sp-good/counter.0"|' "$TEST_TMP/meta.txt" |
		protoc --encode=snapmark.SavepointMetadata -I "$SRC/proto" snapmark.proto \
			>"$SP/_metadata"
	refused escaping "$SP" "task counter.0" "does not lie inside the savepoint"
fi

if want cluster; then
	say "cluster: up --restore-from a savepoint with a missing store"
	SP="$(copy sp-cluster)"
	rm -r "$SP/counter.1"
	use_run run-cluster
	if cluster up "$JOB" 2 --restore-from "$SP" >"$TEST_TMP/up.txt" 2>&1; then
		fail "cluster up from a damaged savepoint succeeded"
	fi
	grep -q "cannot restore from .*task counter.1" "$RUN/logs/coordinator.log" ||
		fail "cluster: no clear message in the coordinator log"
	! grep -q "epoch [0-9]" "$RUN/logs/coordinator.log" ||
		fail "cluster: epochs were started: $(grep -c 'epoch [0-9]' "$RUN/logs/coordinator.log")"
	[[ ! -e $SP/counter.1 && ! -e $TEST_TMP/sp-orig ]] ||
		fail "cluster: directories were created at stale places"
	cluster down >/dev/null
fi

if want late; then
	say "late: a store goes missing after the coordinator verified the savepoint"
	SP="$(copy sp-late)"
	use_run run-late
	mkdir -p "$RUN/logs"
	"$COORD" --job "$JOB" --run-dir "$RUN" --workers 2 --restore-from "$SP" \
		>>"$RUN/logs/coordinator.log" 2>&1 &
	wait_for 20 grep -q "the job starts from it" "$RUN/logs/coordinator.log"
	rm -r "$SP/counter.0"
	for k in 1 2; do
		"$WORKER" --id "$k" --run-dir "$RUN" >>"$RUN/logs/worker-$k.log" 2>&1 &
	done
	wait_for 30 state_is FAILED
	status_now
	grep -q "savepoint $SP_ID at .* cannot be restored: task counter.0" "$TEST_TMP/status.txt" ||
		fail "late: unclear failure: $(cat "$TEST_TMP/status.txt")"
	epochs="$(grep -c 'epoch [0-9]*: deploying' "$RUN/logs/coordinator.log")"
	[[ $epochs -eq 1 ]] || fail "late: $epochs epochs, want 1"
	[[ ! -e $SP/counter.0 ]] || fail "late: a worker re-created counter.0"
fi
say "PASS"
