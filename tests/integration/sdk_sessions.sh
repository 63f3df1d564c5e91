#!/usr/bin/env bash
# sdk_sessions.sh - a user operator with keyed state and event-time timers
# under kill and restore: gen (2) -hash-> sessionize (2, the example plugin
# examples/plugins/sessionize.c, loaded from the build's libsessionize.so)
# -forward-> file (2, format = text). A worker is SIGKILLed while records
# flow and started again, then the coordinator; the job restores the
# sessions (keyed state) and their gap timers from the latest checkpoint,
# finishes, and the committed sessions are exactly those expect.py computes
# from gen's definition (a key's event times, record i at i ms, split where
# the next is gap_ms or more later): none lost, none twice, none wrong.
source "$(dirname "$0")/lib.sh"

LIB="$B/examples/plugins/libsessionize.so"
[[ -f $LIB ]] || fail "not built: $LIB"
JOB="$TEST_TMP/sessions.ini"
cat >"$JOB" <<INI
[job]
name = sdk-sessions
heartbeat_timeout_ms = 30000   ; detection must come from the pipe event
[checkpoint]
interval_ms = 150
[stage source]
operator = gen
parallelism = 2
records = 30000
rate = 10000   ; held at the last record until the restores are seen
keys = 500
seed = 31
[stage sessions]
library = $LIB
operator = sessionize
parallelism = 2
input = source hash
gap_ms = 300
key_format = hex
[stage sink]
operator = file
parallelism = 2
input = sessions forward
format = text
INI

cli validate "$JOB" >/dev/null || fail "snapmark validate refused the job"
hold_sources
cluster up "$JOB" 2 >/dev/null
wait_for 120 completed_at_least 2
[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
	fail "job is not RUNNING before the kill"

say "SIGKILL worker-1 while records flow (sessions open, timers set)"
cluster kill worker-1 >/dev/null
wait_for 60 state_is RESTARTING
cluster start worker-1 >/dev/null
wait_for 120 state_is RUNNING
status_now
latest="$(field 'latest completed checkpoint')"
wait_for 120 completed_at_least $((latest + 2))

say "SIGKILL the coordinator; start it again"
cluster kill coordinator >/dev/null
cluster start coordinator >/dev/null
wait_for 120 state_is RUNNING
status_now
[[ $(field restarts) -ge 2 ]] || fail "restarts: $(field restarts), expected 2"
release_sources

cluster wait 180 >/dev/null || fail "job did not finish"
out="$(python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB")" || {
	echo "$out"
	fail "committed sessions are not exact after the kills"
}
echo "$out"
# Sessions close on the watermark while the job runs, not only at its end:
# the sinks published some at more than two checkpoints.
parts=$(find "$RUN/output" -maxdepth 1 -name 'part-*' -size +0 | wc -l)
say "$parts non-empty part files"
((parts > 4)) || fail "sessions were committed at $parts sink checkpoints only: do the timers fire before the end?"
say "PASS"
