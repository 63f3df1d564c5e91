#!/usr/bin/env bash
# explain_expired.sh - a checkpoint that expires because a worker hangs
# (SIGSTOP, its connection kept open) is explained by naming the tasks
# that did not acknowledge and what each was last seen doing:
#   - checkpoint timeout 800 ms, heartbeat timeout 30 s: the checkpoint
#     expires long before the worker is declared lost;
#   - `explain ID --json` lists exactly the stopped worker's tasks (the
#     oracle: `status --json`'s worker task lists) as not acknowledged,
#     each with its worker id, the worker still counted alive, and a
#     last-seen line saying the worker has been silent;
#   - the text form says so too, and `checkpoints` shows the failure
#     within 80 columns.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/expire.ini"
cat >"$JOB" <<'INI'
; Tasks go round-robin: worker 1 runs src.0 pass.0 sink.0, worker 2 runs
; src.1 pass.1 sink.1.
[job]
name = expire
heartbeat_ms = 100
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 200
timeout_ms = 800
tolerable_failures = 1000
[stage src]
operator = gen
parallelism = 2
records = 100000000
rate = 5000
[stage pass]
operator = passthrough
parallelism = 2
input = src forward
[stage sink]
operator = file
parallelism = 2
input = pass forward
INI

hold_sources
say "start a coordinator and 2 workers"
cluster up "$JOB" 2 >/dev/null
wait_for 120 completed_at_least 1
cli --json status >"$TEST_TMP/status.json" || fail "status failed"

pid="$(cat "$RUN/pids/worker-2.pid")"
[[ $pid =~ ^[0-9]+$ ]] || fail "no pid of worker-2"
stopped_ms=$((${EPOCHREALTIME//[.,]/} / 1000))
kill -STOP "$pid"
on_exit "kill -CONT $pid 2>/dev/null || true"
say "worker 2 (pid $pid) stopped"

# expired_after MS: the id of a checkpoint triggered 100 ms or more after
# MS that expired.
expired_after() {
	cli --json checkpoints --limit 0 | python3 -c '
import json, sys
since = int(sys.argv[1])
ids = [c["id"] for c in json.load(sys.stdin)["checkpoints"]
       if c["status"] == "FAILED" and "expired" in c.get("failure_reason", "")
       and c["trigger_time_ms"] >= since + 100]
print(min(ids)) if ids else sys.exit(1)' "$1"
}
wait_for 60 expired_after "$stopped_ms"
id="$(expired_after "$stopped_ms")"
say "checkpoint $id expired"

say "explain names the stopped worker's tasks and what they were doing"
cli --json explain "$id" >"$TEST_TMP/explain.json" || fail "explain failed"
python3 - "$TEST_TMP/status.json" "$TEST_TMP/explain.json" <<'PY' || fail "explain --json is wrong"
import json, sys
st = json.load(open(sys.argv[1]))
ex = json.load(open(sys.argv[2]))
w2 = [w for w in st["workers"] if w["worker_id"] == 2][0]
want = sorted(w2["tasks"])
got = sorted(m["task"] for m in ex["missing"])
assert got == want, (got, want)
assert ex["status"] == "FAILED", ex
for m in ex["missing"]:
    assert m["worker_id"] == 2 and m["worker_alive"] is True, m
    assert "worker 2 (pid %d) silent for" % w2["pid"] in m["last_seen"], m
    assert "stopped or hung" in m["last_seen"], m
    assert "records in" in m["last_seen"], m
    assert m["silent_ms"] >= 700, m
assert "expired" in ex["failure_reason"], ex
assert ex["verdict"].startswith("failed after "), ex
assert "did not acknowledge: " + ", ".join(m["task"] for m in ex["missing"]) in ex["verdict"], ex
print("verdict:", ex["verdict"])
PY

cli explain "$id" >"$TEST_TMP/explain.txt" || fail "explain (text) failed"
cat "$TEST_TMP/explain.txt"
grep -qE "^checkpoint $id FAILED, " "$TEST_TMP/explain.txt" || fail "no headline"
grep -q "^not acknowledged by:" "$TEST_TMP/explain.txt" || fail "no list of missing tasks"
for t in src.1 pass.1 sink.1; do
	grep -qE "^  $t: worker 2 \(pid $pid\) silent for [0-9]+ ms" "$TEST_TMP/explain.txt" ||
		fail "$t is not named as silent"
done

say "a checkpoint still in flight is explained the same way"
# (it cannot complete while worker 2 is stopped; it may expire meanwhile)
wait_for 30 eval 'cli --json status | python3 -c "import json,sys; sys.exit(not json.load(sys.stdin)[\"pending\"])"'
pend="$(cli --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"][0])')"
cli --json explain "$pend" >"$TEST_TMP/pending.json" || fail "explain of $pend failed"
python3 - "$TEST_TMP/status.json" "$TEST_TMP/pending.json" <<'PY' || fail "explain of a pending checkpoint is wrong"
import json, sys
st = json.load(open(sys.argv[1]))
ex = json.load(open(sys.argv[2]))
w2 = [w for w in st["workers"] if w["worker_id"] == 2][0]
assert ex["status"] in ("PENDING", "FAILED"), ex
assert sorted(m["task"] for m in ex["missing"]) == sorted(w2["tasks"]), ex
if ex["status"] == "PENDING":
    assert ex["verdict"].startswith("in flight for "), ex
    assert "3 of 6 tasks acknowledged; waiting for " in ex["verdict"], ex
print("verdict:", ex["verdict"])
PY

say "checkpoints shows the failure within 80 columns"
# (all of them: more may have expired since, on a slow machine)
cli checkpoints --limit 0 >"$TEST_TMP/list.txt" || fail "checkpoints failed"
cat "$TEST_TMP/list.txt"
awk -v id="$id" '$1 == id && $3 == "FAILED" { f = 1 } END { exit !f }' "$TEST_TMP/list.txt" ||
	fail "checkpoint $id is not listed as FAILED"
awk 'length($0) > 80 { print "too wide: " $0; bad = 1 } END { exit bad }' "$TEST_TMP/list.txt" ||
	fail "checkpoints is wider than 80 columns"

kill -CONT "$pid"
release_sources
say "ok"
