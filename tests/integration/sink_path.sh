#!/usr/bin/env bash
# sink_path.sh - the file sink's `path = DIR`: a directory outside the run
# directory (with missing parents) holds the sink's staging, pending and
# committed files. SIGKILL a worker mid-run: the two-phase commit and the
# restore's cleanup work in that directory, the committed output is
# exactly-once, and RUN/output stays empty.
source "$(dirname "$0")/lib.sh"

DEST="$TEST_TMP/elsewhere/results"
JOB="$TEST_TMP/sink_path.ini"
cat >"$JOB" <<INI
[job]
name = sink-path
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 60000
rate = 15000
[stage sink]
operator = file
parallelism = 2
path = $DEST
input = source forward
INI

hold_sources
cluster up "$JOB" 2 >/dev/null
wait_for 120 completed_at_least 1
[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
	fail "job is not RUNNING before the kill"
[[ -d $DEST/.pending ]] || fail "the sink did not create $DEST/.pending"

say "SIGKILL worker-2 while records flow"
cluster kill worker-2 >/dev/null
wait_for 60 state_is RESTARTING
cluster start worker-2 >/dev/null
wait_for 120 state_is RUNNING
release_sources

cluster wait 180 >/dev/null || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output in $DEST is not exactly-once after the kill"
n="$(find "$DEST" -maxdepth 1 -name 'part-*' | wc -l)"
((n > 0)) || fail "no committed files in $DEST"
leftover="$(find "$DEST/.pending" "$DEST" -maxdepth 1 \( -name 'part-*' -path '*/.pending/*' -o -name '.staging-*' \) | wc -l)"
((leftover == 0)) || fail "pending or staging files left in $DEST"
if [[ -d $RUN/output ]] && [[ -n $(ls -A "$RUN/output") ]]; then
	fail "RUN/output is not empty: $(ls -A "$RUN/output")"
fi
say "PASS ($n committed files in $DEST)"
