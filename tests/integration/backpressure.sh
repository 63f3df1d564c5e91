#!/usr/bin/env bash
# backpressure.sh - busy, idle and back-pressured shares per task, from the
# heartbeats: with a sink slowed down on purpose
# (SNAPMARK_DEBUG_SINK_DELAY_US, worker/operators/op_file_sink.c) behind a relay,
#   - `snapmark --json status` shows the sink busy most of the time and the
#     relay feeding it back-pressured most of the time; every task's three
#     shares add up to 1;
#   - the text status shows the shares per stage (BUSY/IDLE/BP%);
#   - /metrics exports the same per-task ratios;
#   - frames buffered per channel: the channel into the slow sink holds
#     many frames, the channel of a free-flowing pipeline of its own in
#     the same job (tick -> drop, at a modest rate into a discard sink)
#     few, alike in `snapmark --json status`, /api/status and /metrics
#     (as snapmark_channel_frames_buffered), and the text status lists the
#     most buffered channels first.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/slow.ini"
cat >"$JOB" <<'INI'
[job]
name = slow
heartbeat_ms = 200
http_port = 0
[checkpoint]
interval_ms = 1000
[stage source]
operator = gen
[stage relay]
operator = passthrough
input = source forward
[stage sink]
operator = file
input = relay forward
[stage tick]
operator = gen
rate = 200
[stage drop]
operator = discard
input = tick forward
INI

say "start a job whose sink sleeps 20 ms per batch of records"
export SNAPMARK_DEBUG_SINK_DELAY_US=20000
cluster up "$JOB" 1 >/dev/null
unset SNAPMARK_DEBUG_SINK_DELAY_US
wait_for 120 state_is RUNNING

# pressured: the latest status shows the relay back-pressured and the sink
# busy, each more than half of the last heartbeat interval.
pressured() {
	cli --json status >"$TEST_TMP/status.json" || return 1
	python3 - "$TEST_TMP/status.json" <<'PY'
import json, sys
m = {t["task_name"]: t for t in json.load(open(sys.argv[1])).get("task_metrics", [])}
for t in m.values():
    s = [t.get(k) for k in ("busy_ratio", "idle_ratio", "backpressured_ratio")]
    if None in s:
        sys.exit("%s has no shares yet: %r" % (t["task_name"], t))
    if abs(sum(s) - 1) > 1e-6:
        sys.exit("%s shares %r do not add up to 1" % (t["task_name"], s))
relay, sink = m["relay.0"], m["sink.0"]
print("relay busy/idle/bp %.2f/%.2f/%.2f, sink %.2f/%.2f/%.2f" % (
    relay["busy_ratio"], relay["idle_ratio"], relay["backpressured_ratio"],
    sink["busy_ratio"], sink["idle_ratio"], sink["backpressured_ratio"]))
if not relay["backpressured_ratio"] > 0.5:
    sys.exit("the relay is not back-pressured")
if not sink["busy_ratio"] > 0.5:
    sys.exit("the sink is not busy")
PY
}

say "status --json: the relay is back-pressured, the sink busy"
wait_for 90 pressured
pressured

say "the text status shows the shares per stage"
cli status >"$TEST_TMP/status.txt"
cat "$TEST_TMP/status.txt"
grep -Eq '^STAGE .* BUSY/IDLE/BP%$' "$TEST_TMP/status.txt" || fail "no BUSY/IDLE/BP% column"
for stage in source relay sink; do
	grep -Eq "^$stage .* [0-9]+/[0-9]+/[0-9]+$" "$TEST_TMP/status.txt" ||
		fail "no shares for stage $stage"
done

say "/metrics exports the ratios"
status_now
url="$(field http)"
python3 "$SRC/tests/integration/httpget.py" "$url/metrics" >"$TEST_TMP/metrics.txt" ||
	fail "GET /metrics failed"
for k in busy idle backpressured; do
	grep -Eq "^snapmark_task_${k}_ratio\{task=\"relay\.0\"\} [0-9.e+-]+$" "$TEST_TMP/metrics.txt" ||
		fail "no snapmark_task_${k}_ratio for relay.0"
done

# buffered FILE: from the JobStatus JSON (or /metrics text) in FILE, the
# channel relay.0 -> sink.0 (into the slow sink) buffers many frames (at
# least 16: the sender's share of the channel alone holds 16) and
# tick.0 -> drop.0 (free-flowing, 1 worker: both sides in one heartbeat)
# at most 4; every channel of the job is listed, each with
# buffered = sent - processed.
buffered() {
	python3 - "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
if text.lstrip().startswith("{"):
    chans = json.loads(text).get("channel_metrics", [])
    for c in chans:
        if c["frames_buffered"] != max(0, c["frames_sent"] - c["frames_processed"]):
            sys.exit("buffered != sent - processed: %r" % c)
    b = {(c["from_name"], c["to_name"]): c["frames_buffered"] for c in chans}
else:
    b = {(m[0], m[1]): float(m[2]) for m in re.findall(
        r'^snapmark_channel_frames_buffered\{from="([^"]*)",to="([^"]*)"\} (\S+)$', text, re.M)}
want = {("source.0", "relay.0"), ("relay.0", "sink.0"), ("tick.0", "drop.0")}
if set(b) != want:
    sys.exit("channels %r, want %r" % (sorted(b), sorted(want)))
slow, free = b[("relay.0", "sink.0")], b[("tick.0", "drop.0")]
print("buffered: relay.0 -> sink.0 %d, tick.0 -> drop.0 %d" % (slow, free))
if not slow >= 16:
    sys.exit("the channel into the slow sink buffers only %d frames" % slow)
if not free <= 4:
    sys.exit("the free-flowing channel buffers %d frames" % free)
PY
}
status_buffered() { cli --json status >"$TEST_TMP/chan.json" && buffered "$TEST_TMP/chan.json"; }
api_buffered() {
	python3 "$SRC/tests/integration/httpget.py" "$url/api/status" >"$TEST_TMP/api.json" &&
		buffered "$TEST_TMP/api.json"
}
metrics_buffered() {
	python3 "$SRC/tests/integration/httpget.py" "$url/metrics" >"$TEST_TMP/chan-metrics.txt" &&
		buffered "$TEST_TMP/chan-metrics.txt"
}

say "frames buffered per channel: many into the slow sink, few elsewhere"
wait_for 60 status_buffered
say "... the same in /api/status"
wait_for 60 api_buffered
say "... and in /metrics"
wait_for 60 metrics_buffered
grep -q '^# TYPE snapmark_channel_frames_buffered gauge$' "$TEST_TMP/chan-metrics.txt" ||
	fail "snapmark_channel_frames_buffered is not a gauge"

say "the text status lists the most buffered channels first"
cli status >"$TEST_TMP/status.txt"
cat "$TEST_TMP/status.txt"
grep -Eq '^FROM +TO +BUFFERED +SENT +PROCESSED$' "$TEST_TMP/status.txt" ||
	fail "no channel table in the text status"
first="$(grep -A1 -E '^FROM +TO +BUFFERED' "$TEST_TMP/status.txt" | tail -n 1)"
[[ $first =~ ^(source\.0\ +relay\.0|relay\.0\ +sink\.0)\ +[0-9]+ ]] ||
	fail "the most buffered channel is not on the slow path: '$first'"
awk 'length($0) > 80 { print "too wide: " $0; bad = 1 } END { exit bad }' "$TEST_TMP/status.txt" ||
	fail "status is wider than 80 columns"
say "PASS"
