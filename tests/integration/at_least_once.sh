#!/usr/bin/env bash
#
# at_least_once.sh - `mode = at_least_once`: no record lost across kills,
# and checkpoints keep completing.
#
# Two gen stages (left: 2 subtasks, right: 1; the same 500 keys, different
# seeds; about 10 s of data, the last record of each source held back until
# the kills are done) both -hash-> count (2) -forward-> file (2),
# a checkpoint every 200 ms. Each counter subtask has two inputs and three
# input channels; in at-least-once mode it never blocks a channel that
# delivered barrier n while it waits for n on the others, so records after
# the barrier are counted before the snapshot and, after a restore, counted
# again. The test kills every worker once while
# data flows (waiting for the job to run again and for a new checkpoint to
# complete before the next kill), starts it again, waits for FINISHED and
# checks with expect.py count that no key has a count below its number of
# records (counts above it are duplicates: allowed, and reported). It also
# asserts that checkpoints COMPLETED, including after the last recovery.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JOB="$TEST_TMP/at_least_once.ini"
cat >"$JOB" <<'EOF'
[job]
name = alo_count

[checkpoint]
interval_ms = 200
mode = at_least_once

[stage left]
operator = gen
parallelism = 2
records = 60000
rate = 6000
keys = 500
seed = 11

[stage right]
operator = gen
parallelism = 1
records = 90000
rate = 9000
keys = 500
seed = 23

[stage counter]
operator = count
parallelism = 2
input = left hash
input = right hash

[stage sink]
operator = file
parallelism = 2
input = counter forward
EOF

# query: ST, EPOCH, RESTARTS, LATEST (latest completed checkpoint, 0 if
# none) and RESTORED from `snapmark status`; ST=down if the coordinator does
# not answer. Any other failure of the CLI, or a sanitizer report on its
# stderr, fails the test.
query() {
	local out err rc=0
	ST=down EPOCH=- RESTARTS=- LATEST=0 RESTORED=-
	out="$(cli --timeout 2000 status 2>"$TEST_TMP/cli.err")" || rc=$?
	err="$(<"$TEST_TMP/cli.err")"
	if [[ $err =~ runtime\ error|ERROR:\ (AddressSanitizer|LeakSanitizer) ]]; then
		printf '%s\n' "$err"
		fail "sanitizer report from snapmark status (exit $rc)"
	fi
	if ((rc != 0)); then
		[[ $err == *"did not answer"* || $err == *"is not running"* ]] && return 0
		printf '%s\n' "$err"
		fail "snapmark status failed (exit $rc)"
	fi
	[[ $out =~ (^|$'\n')state:\ ([A-Z_]+) ]] && ST=${BASH_REMATCH[2]}
	[[ $out =~ (^|$'\n')epoch:\ ([0-9]+) ]] && EPOCH=${BASH_REMATCH[2]}
	[[ $out =~ (^|$'\n')restarts:\ ([0-9]+) ]] && RESTARTS=${BASH_REMATCH[2]}
	[[ $out =~ (^|$'\n')latest\ completed\ checkpoint:\ ([0-9]+) ]] && LATEST=${BASH_REMATCH[2]}
	[[ $out =~ (^|$'\n')restored\ from\ checkpoint:\ ([0-9]+) ]] && RESTORED=${BASH_REMATCH[2]}
	return 0
}

# wait_until SECS WHAT CMD...: run CMD every 50 ms until it succeeds; fail
# after SECS. Unlike wait_for it leaves CMD's output alone, so a failure
# inside CMD (query fails the test on a CLI error) shows.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((${EPOCHREALTIME//[.,]/} / 1000 + secs * 1000))
	until "$@"; do
		((${EPOCHREALTIME//[.,]/} / 1000 < deadline)) ||
			fail "timed out after ${secs}s waiting for $what (state $ST, latest completed checkpoint $LATEST)"
		sleep 0.05
	done
}

is_running() {
	query
	[[ $ST == RUNNING ]]
}

# completed_after ID: a checkpoint newer than ID has completed.
completed_after() {
	query
	((LATEST > $1))
}

completed_after_or_finished() {
	completed_after "$1" || [[ $ST == FINISHED ]]
}

say "starting: left gen (2) + right gen (1) -hash-> count (2) -> file (2), mode = at_least_once"
hold_sources
cluster up "$JOB" 3 >/dev/null || fail "cluster up failed"

kills=0
for name in worker-2 worker-1 worker-3; do
	# A checkpoint completes before every kill, so each kill rolls back
	# to a checkpoint taken in the epoch it ends.
	query
	wait_until 120 "a checkpoint after $LATEST" completed_after "$LATEST"
	sleep 0.3
	query
	[[ $ST == RUNNING ]] || fail "job is $ST before killing $name: it must still be running (make it carry more data)"
	cluster kill "$name" >/dev/null
	kills=$((kills + 1))
	say "killed $name (latest completed checkpoint: $LATEST, epoch $EPOCH)"
	sleep 0.2
	cluster start "$name" >/dev/null
	wait_until 120 "the job to run again" is_running
	say "started $name again; RUNNING in epoch $EPOCH, restored from checkpoint $RESTORED"
done

# Recovery did not stop the checkpointing: one more completes in the last
# epoch (the final one, at the latest).
release_sources
query
wait_until 120 "a checkpoint after $LATEST" completed_after_or_finished "$LATEST"

if ! out="$(cluster wait 240 2>&1)"; then
	echo "$out"
	fail "job did not reach FINISHED"
fi
query
[[ $ST == FINISHED ]] || fail "job is $ST, not FINISHED, after cluster wait"
say "FINISHED in epoch $EPOCH after $kills kills, $RESTARTS restarts"
if ! [[ $RESTARTS =~ ^[0-9]+$ ]] || ((RESTARTS < kills)); then
	fail "restarts: '$RESTARTS' after $kills kills"
fi

# Checkpoints: COMPLETED ones exist, also in the final epoch and in an
# epoch that began with a restore; the final one is among them.
cli --json checkpoints >"$TEST_TMP/checkpoints.json" 2>"$TEST_TMP/cli.err" || {
	cat "$TEST_TMP/cli.err"
	fail "snapmark --json checkpoints failed"
}
if grep -qE 'runtime error|ERROR: (AddressSanitizer|LeakSanitizer)' "$TEST_TMP/cli.err"; then
	cat "$TEST_TMP/cli.err"
	fail "sanitizer report from snapmark --json checkpoints"
fi
python3 - "$TEST_TMP/checkpoints.json" "$EPOCH" <<'EOF' || fail "checkpoints did not complete as they should"
import json, sys
cps = json.load(open(sys.argv[1]))["checkpoints"]
epoch = int(sys.argv[2])
done = [c for c in cps if c["status"] == "COMPLETED"]
failed = [c for c in cps if c["status"] == "FAILED"]
by_epoch = {}
for c in done:
    by_epoch[c.get("epoch", 0)] = by_epoch.get(c.get("epoch", 0), 0) + 1
print(f"checkpoints: {len(done)} COMPLETED, {len(failed)} FAILED; completed per epoch: "
      + ", ".join(f"epoch {e}: {n}" for e, n in sorted(by_epoch.items())))
assert done, "no COMPLETED checkpoint"
assert any(c.get("final") for c in done), "the final checkpoint is not COMPLETED"
assert any(c.get("epoch") == epoch for c in done), f"no COMPLETED checkpoint in the final epoch {epoch}"
assert any(c.get("epoch", 0) > 1 for c in done), "no COMPLETED checkpoint after a recovery"
EOF

# Nothing lost; duplicates are what at-least-once allows.
rc=0
out="$(python3 "$SRC/tests/integration/expect.py" count "$RUN" "$JOB" 2>&1)" || rc=$?
say "expect.py count: $out"
if ((rc != 0)); then
	cluster logs | tail -n 60
	fail "records were lost in at-least-once mode"
fi
# For information: did the kills make it count records twice?
rc=0
out="$(python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" 2>&1)" || rc=$?
if ((rc == 0)); then
	say "the output happens to be exact this time (no record was replayed into a count)"
else
	say "as at-least-once allows, some records were counted twice: $(head -n 1 <<<"$out")"
fi
say "PASS"
