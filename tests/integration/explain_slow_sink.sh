#!/usr/bin/env bash
# explain_slow_sink.sh - `snapmark explain ID` finds where a checkpoint's
# time went when one stage back-pressures the job:
#   - the sinks sleep 2 ms per batch (SNAPMARK_DEBUG_SINK_DELAY_US), the
#     sources produce as fast as they can, so every channel fills up and
#     barriers wait behind data;
#   - for a completed checkpoint, the critical path explain prints is the
#     chain an independent walk over the record's own timeline (`show
#     --json`) finds: from the last ack's task back through each task's
#     last-arriving barrier to a source; the phases add up to the total;
#   - the largest phase is a barrier queued behind frames, the path ends
#     in a sink's input channel, and the verdict blames a sink's
#     back-pressure.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/slow.ini"
cat >"$JOB" <<'INI'
[job]
name = slowsink
heartbeat_ms = 100
[checkpoint]
interval_ms = 300
timeout_ms = 30000
[stage source]
operator = gen
parallelism = 2
records = 100000000
[stage relay]
operator = passthrough
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = relay hash
INI

# The sources cannot finish before the test is done, however loaded.
hold_sources
export SNAPMARK_DEBUG_SINK_DELAY_US=2000
say "start a coordinator and 2 workers with slow sinks"
cluster up "$JOB" 2 >/dev/null
unset SNAPMARK_DEBUG_SINK_DELAY_US
wait_for 120 completed_at_least 3

# check ID: explain ID against an independent walk over show ID's record.
check() {
	local id=$1
	cli --json show "$id" >"$TEST_TMP/show.json" || return 1
	cli --json explain "$id" >"$TEST_TMP/explain.json" || return 1
	python3 - "$TEST_TMP/show.json" "$TEST_TMP/explain.json" <<'PY'
import json, sys
rec = json.load(open(sys.argv[1]))
ex = json.load(open(sys.argv[2]))
tasks = {t["task"]: t for t in rec["tasks"]}
# retention may have discarded it since: it completed all the same
assert rec["status"] in ("COMPLETED", "DISCARDED") and ex["status"] in ("COMPLETED", "DISCARDED"), ex
# The oracle: walk back from the last ack through the last barriers.
last = max(tasks.values(), key=lambda t: t["ack_received_us"])
chain, cur = [], last
while "trigger_received_us" not in cur:
    a = max(cur["arrivals"], key=lambda a: a["received_us"])
    chain.append((cur["task_name"], a["channel"], a.get("frames_ahead", 0),
                  max(0, a["received_us"] - a["sent_us"])))
    cur = tasks[a["upstream_task"]]
chain.reverse()
queues = [p for p in ex["path"] if p["kind"] == "queue"]
got = [(p["task"], p["channel"], p.get("frames_ahead", 0), p["us"]) for p in queues]
if got != chain:
    sys.exit("explain's channels %r, the record's walk %r" % (got, chain))
total = ex["total_us"]
if sum(p["us"] for p in ex["path"]) != total:
    sys.exit("phases do not add up to %d: %r" % (total, ex["path"]))
if total != rec["end_us"] - rec["trigger_sent_us"]:
    sys.exit("total %d is not trigger -> end of the record" % total)
if ex["path"][0]["kind"] != "trigger" or ex["path"][-1]["kind"] != "commit":
    sys.exit("path does not run from trigger to commit: %r" % ex["path"])
big = max(ex["path"], key=lambda p: p["us"])
if big["kind"] != "queue" or big.get("frames_ahead", 0) == 0:
    sys.exit("the biggest phase is not a barrier queued behind frames: %r" % big)
if not chain or not chain[-1][0].startswith("sink."):
    sys.exit("the path does not end in a sink's input channel: %r" % chain)
pct = round(100.0 * big["us"] / total)
want = "%d%% of %d ms: %s" % (pct, round(total / 1000.0), big["what"])
if not ex["verdict"].startswith(want):
    sys.exit("verdict %r does not start with %r" % (ex["verdict"], want))
if "back-pressure from sink." not in ex["verdict"] and not (
        big["task"].startswith("sink.") and "consumes slowly" in ex["verdict"]):
    sys.exit("verdict does not blame a sink: %r" % ex["verdict"])
print("verdict:", ex["verdict"])
PY
}

# latest_completed: the newest COMPLETED id.
latest_completed() {
	cli --json checkpoints --limit 0 | python3 -c '
import json, sys
print([c["id"] for c in json.load(sys.stdin)["checkpoints"] if c["status"] == "COMPLETED"][0])'
}

say "explain names the sink's back-pressure on the critical path"
# Back-pressure builds up over the first checkpoints: look at the newest
# completed ones until one shows it (at most 60 s).
deadline=$((${EPOCHREALTIME//[.,]/} / 1000000 + 60))
ok=0
while ((${EPOCHREALTIME//[.,]/} / 1000000 < deadline)); do
	id="$(latest_completed)" || fail "cannot list checkpoints"
	if out="$(check "$id" 2>&1)"; then
		echo "$out"
		ok=1
		break
	fi
	echo "checkpoint $id: $out"
	wait_for 60 completed_at_least $((id + 1))
done
((ok)) || fail "no checkpoint's explanation blamed the slow sinks"

say "the text form shows the path, the slowest channel and the verdict"
cli explain "$id" >"$TEST_TMP/explain.txt" || fail "snapmark explain failed"
cat "$TEST_TMP/explain.txt"
grep -qE "^checkpoint $id (COMPLETED|DISCARDED), " "$TEST_TMP/explain.txt" || fail "no headline"
grep -qE "^critical path" "$TEST_TMP/explain.txt" || fail "no critical path"
grep -qE "barrier queued behind [0-9]+ frames on sink\.[01] <- relay\.[01]" \
	"$TEST_TMP/explain.txt" || fail "the sink's input channel is not on the path"
grep -qE "^slowest channel: .* <- .*: barrier queued " "$TEST_TMP/explain.txt" ||
	fail "no slowest channel"
grep -qE "^verdict: [0-9]+% of [0-9]+ ms: " "$TEST_TMP/explain.txt" || fail "no verdict"

say "explain of an unknown checkpoint is an error"
expect_exit 1 cli explain 999999
[[ $OUT == *"no checkpoint 999999"* ]] || fail "unexpected error: $OUT"
release_sources
say "ok"
