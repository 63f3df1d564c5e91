#!/usr/bin/env bash
# backpressure.sh - busy, idle and back-pressured shares per task, from the
# heartbeats: with a sink slowed down on purpose
# (SNAPMARK_DEBUG_SINK_DELAY_US, worker/operators/op_file_sink.c) behind a relay,
#   - `snapmark --json status` shows the sink busy most of the time and the
#     relay feeding it back-pressured most of the time; every task's three
#     shares add up to 1;
#   - the text status shows the shares per stage (BUSY/IDLE/BP%);
#   - /metrics exports the same per-task ratios.
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
say "PASS"
