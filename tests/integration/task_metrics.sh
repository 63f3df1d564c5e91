#!/usr/bin/env bash
# task_metrics.sh - `snapmark status` reports what every running task has
# done, from the workers' heartbeats:
#   - every running task is listed once, by index and name, with its
#     records in and out and the rates between its last two heartbeats;
#   - the counts are consistent along the pipeline (a source has sent at
#     least what its relay took in, and so on down to the sink) and grow;
#   - the text view sums them per stage;
#   - after a worker is killed and the job restored, the counts are those
#     of the new epoch's tasks.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/metrics.ini"
cat >"$JOB" <<'INI'
[job]
name = metrics
heartbeat_ms = 50
[checkpoint]
interval_ms = 200
[stage source]
operator = gen
rate = 20000
[stage relay]
operator = passthrough
input = source forward
[stage sink]
operator = discard
input = relay forward
INI

say "start a coordinator and 1 worker"
cluster up "$JOB" 1 >/dev/null
wait_for 120 completed_at_least 1

# check_metrics FILE: the invariants of one status --json sample; prints
# the sink's records in.
check_metrics() {
	python3 - "$1" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
m = st.get("task_metrics", [])
names = sorted(t["task_name"] for t in m)
if names != ["relay.0", "sink.0", "source.0"]:
    sys.exit("task_metrics lists %r, expected the 3 running tasks once" % names)
by = {t["task_name"]: t for t in m}
src, rel, snk = by["source.0"], by["relay.0"], by["sink.0"]
if src["records_in"] != 0 or snk["records_out"] != 0:
    sys.exit("a source took records in or a sink sent some out: %r" % m)
# One worker samples all three at once: nothing arrives before it is sent.
if not src["records_out"] >= rel["records_in"] >= rel["records_out"] >= snk["records_in"]:
    sys.exit("counts not consistent along the pipeline: %r" % m)
if not snk["records_in"] > 0:
    sys.exit("the sink has taken in nothing: %r" % m)
if len({t["sampled_us"] for t in m}) != 1:
    sys.exit("one worker's tasks were sampled at different times: %r" % m)
for t in m:
    for k in ("records_in_per_s", "records_out_per_s"):
        if k not in t or t[k] < 0:
            sys.exit("%s has no %s: %r" % (t["task_name"], k, t))
if not src["records_out_per_s"] > 0:
    sys.exit("the running source reports no output rate: %r" % src)
print(snk["records_in"])
PY
}

say "every running task reports consistent counts"
wait_for 60 cli --json status >/dev/null
sleep 0.3
cli --json status >"$TEST_TMP/s1.json"
first="$(check_metrics "$TEST_TMP/s1.json")" || fail "first sample: $first"
echo "sink took in $first records"

say "the counts grow"
sleep 0.5
cli --json status >"$TEST_TMP/s2.json"
second="$(check_metrics "$TEST_TMP/s2.json")" || fail "second sample: $second"
echo "sink took in $second records"
((second > first)) || fail "sink count did not grow: $first -> $second"

say "the text view sums records per stage"
cli status >"$TEST_TMP/status.txt"
cat "$TEST_TMP/status.txt"
for stage in source relay sink; do
	grep -Eq "^$stage +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +([0-9]+/[0-9]+/[0-9]+|-)$" "$TEST_TMP/status.txt" ||
		fail "no records row for stage $stage"
done

say "after a restore the counts are the new epoch's"
before="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' "$TEST_TMP/s2.json")"
killed_us="$(python3 -c 'import time; print(int(time.time() * 1e6))')"
cluster kill worker-1 >/dev/null
cluster start worker-1 >/dev/null
restored() {
	cli --json status >"$TEST_TMP/s3.json" || return 1
	python3 - "$TEST_TMP/s3.json" "$before" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
ok = st["state"] == "RUNNING" and st["epoch"] > int(sys.argv[2]) and \
    len(st.get("task_metrics", [])) == 3
sys.exit(0 if ok else 1)
PY
}
wait_for 120 restored
sleep 0.3
cli --json status >"$TEST_TMP/s3.json"
after="$(check_metrics "$TEST_TMP/s3.json")" || fail "after restore: $after"
echo "sink took in $after records in the new epoch"
# Samples of the killed epoch's tasks must not survive the restore.
python3 - "$TEST_TMP/s3.json" "$killed_us" <<'PY' || fail "a sample from before the kill is still shown"
import json, sys
m = json.load(open(sys.argv[1]))["task_metrics"]
old = [t["task_name"] for t in m if t["sampled_us"] < int(sys.argv[2])]
if old:
    sys.exit("sampled before the kill: %r" % old)
PY
say "PASS"
