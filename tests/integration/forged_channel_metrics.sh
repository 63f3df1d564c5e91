#!/usr/bin/env bash
# forged_channel_metrics.sh - frame counts of channels (heartbeat
# ChannelMetrics) count only from the worker that hosts the side they
# report, and only for channels the job has.
#
# A job of 3 tasks over 4 workers (round-robin: worker 4 hosts none).
# Worker 4 is replaced by tests/rogue_worker --forge-channels, whose
# heartbeats name tasks the job does not have, carry no task and no
# count, and report both sides of the real channel src.0 -> relay.0 (hosted
# by workers 1 and 2) with absurd counts. The coordinator must refuse
# every kind, say so in its log at most about once a second, stay up and
# running, and show the channel's real counts.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/forged-channels.ini"
cat >"$JOB" <<'INI'
[job]
name = forged-channels
heartbeat_ms = 100
[checkpoint]
interval_ms = 500
[stage src]
operator = gen
rate = 1000
[stage relay]
operator = passthrough
input = src forward
[stage sink]
operator = discard
input = relay forward
INI
ROGUE="$B/tests/rogue_worker"
[[ -x $ROGUE ]] || fail "$ROGUE is not built"

log_has() { grep -qE -- "$1" "$RUN/logs/coordinator.log"; }
registrations_of_4() { grep -c 'worker 4 registered' "$RUN/logs/coordinator.log"; }

cluster up "$JOB" 4 >/dev/null
wait_for 120 state_is RUNNING
say "free worker 4 (it hosts no task) for the rogue"
cluster kill worker-4 >/dev/null
wait_for 10 log_has 'worker 4 \(pid [0-9]+\) disconnected'

say "start the rogue as worker 4, forging frame counts of channel 0 -> 1"
T0="${EPOCHREALTIME%[.,]*}"
"$ROGUE" --url "ipc://$RUN/coordinator" --id 4 --tasks 3 --seconds 60 \
	--forge-channels 0:1 >"$TEST_TMP/rogue.out" 2>&1 &
ROGUE_PID=$!
on_exit "kill -TERM $ROGUE_PID 2>/dev/null; wait $ROGUE_PID 2>/dev/null"
two_registrations() { [[ $(registrations_of_4) -ge 2 ]]; }
wait_for 20 two_registrations

say "every kind of forged entry is refused, and said so"
R='worker 4 \(pid [0-9]+\): refusing channel metrics'
wait_for 40 log_has "$R for tasks [0-9]+ -> [0-9]+, which no channel of the job connects"
wait_for 40 log_has "$R without two tasks and exactly one frame count"
wait_for 40 log_has "$R for task src\.0, which is deployed to worker 1"
wait_for 40 log_has "$R for task relay\.0, which is deployed to worker 2"
T1="${EPOCHREALTIME%[.,]*}"
kill -TERM "$ROGUE_PID"
wait "$ROGUE_PID" || true
cat "$TEST_TMP/rogue.out"
grep -E 'refusing channel metrics' "$RUN/logs/coordinator.log" | head -n 8

say "the coordinator is up, the job running, the counts real"
wait_for 60 state_is RUNNING
real_counts() {
	cli --json status >"$TEST_TMP/status.json" || return 1
	python3 - "$TEST_TMP/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
ch = {(c["from_name"], c["to_name"]): c for c in st.get("channel_metrics", [])}
if set(ch) != {("src.0", "relay.0"), ("relay.0", "sink.0")}:
    sys.exit("channels %r" % sorted(ch))
c = ch[("src.0", "relay.0")]
print("src.0 -> relay.0: sent %d, processed %d, buffered %d" % (
    c["frames_sent"], c["frames_processed"], c["frames_buffered"]))
if c["frames_sent"] >= 10**12 or c["frames_buffered"] >= 10**12:
    sys.exit("a forged count was believed: %r" % c)
if c["frames_processed"] == 0:
    sys.exit("no frames processed on src.0 -> relay.0 yet")
PY
}
wait_for 60 real_counts

lines="$(grep -cE 'refus' "$RUN/logs/coordinator.log")"
secs=$((T1 - T0 + 2))
say "   $lines refusal lines over about $secs s"
((lines <= 2 * secs + 4)) || fail "$lines refusal lines in about $secs s: not rate-limited"
say "PASS"
