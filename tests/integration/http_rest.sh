#!/usr/bin/env bash
# http_rest.sh - the coordinator's REST API mirrors the CLI's JSON:
#   - /api/status has the same fields as `snapmark --json status` (the
#     stable ones equal; http_url is the server's own URL);
#   - /api/checkpoints lists what `snapmark --json checkpoints` lists: the
#     completed checkpoints both show are equal, field by field;
#   - /api/checkpoints/ID equals `snapmark --json show ID` (with its tasks);
#   - /api/checkpoints/ID/explain equals `snapmark --json explain ID`;
#   - an unknown id is a 404 with a JSON error (its explain too), a
#     trailing slash is the same path.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/rest.ini"
cat >"$JOB" <<'INI'
[job]
name = rest
heartbeat_ms = 100
http_port = 0
[checkpoint]
interval_ms = 300
[stage source]
operator = gen
rate = 5000
[stage sink]
operator = discard
input = source forward
INI

get() { python3 "$SRC/tests/integration/httpget.py" "$url$1"; }

say "start a coordinator and 1 worker"
cluster up "$JOB" 1 >/dev/null
wait_for 120 completed_at_least 3
status_now
url="$(field http)"
[[ -n $url ]] || fail "no http URL in status"

say "/api/status mirrors status --json"
cli --json status >"$TEST_TMP/cli-status.json"
get /api/status >"$TEST_TMP/api-status.json" || fail "GET /api/status failed"
python3 - "$TEST_TMP/cli-status.json" "$TEST_TMP/api-status.json" "$url" <<'PY' || fail "/api/status differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if set(a) != set(b):
    sys.exit("fields differ: cli %s, api %s" % (sorted(a), sorted(b)))
for k in ("job_name", "state", "epoch", "restarts", "tasks_total", "tasks_running", "workers", "http_url"):
    if a[k] != b[k]:
        sys.exit("%s: cli %r, api %r" % (k, a[k], b[k]))
if b["http_url"] != sys.argv[3]:
    sys.exit("http_url %r is not %r" % (b["http_url"], sys.argv[3]))
if sorted(t["task_name"] for t in b["task_metrics"]) != ["sink.0", "source.0"]:
    sys.exit("task_metrics: %r" % b["task_metrics"])
PY

say "/api/checkpoints mirrors checkpoints --json"
cli --json checkpoints >"$TEST_TMP/cli-cps.json"
get /api/checkpoints >"$TEST_TMP/api-cps.json" || fail "GET /api/checkpoints failed"
id="$(python3 - "$TEST_TMP/cli-cps.json" "$TEST_TMP/api-cps.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if set(a) != {"checkpoints"} or set(b) != {"checkpoints"}:
    sys.exit("top-level keys: cli %r, api %r" % (sorted(a), sorted(b)))
# Retention may discard a checkpoint between the two reads: the same
# checkpoint then reads COMPLETED in one and DISCARDED in the other.
def done(l):
    return {r["id"]: dict(r, status="DONE") for r in l if r["status"] in ("COMPLETED", "DISCARDED")}
ca, cb = done(a["checkpoints"]), done(b["checkpoints"])
common = sorted(set(ca) & set(cb))
if len(common) < 3:
    sys.exit("fewer than 3 completed checkpoints in both: %r %r" % (sorted(ca), sorted(cb)))
if min(cb) > min(ca) or max(cb) < max(ca):
    sys.exit("api list %r does not cover the cli's %r" % (sorted(cb), sorted(ca)))
for i in common:
    if ca[i] != cb[i]:
        sys.exit("checkpoint %d: cli %r, api %r" % (i, ca[i], cb[i]))
print(common[-1])
PY
)" || fail "/api/checkpoints differs: $id"

say "/api/checkpoints/$id mirrors show $id"
cli --json show "$id" >"$TEST_TMP/cli-one.json"
get "/api/checkpoints/$id" >"$TEST_TMP/api-one.json" || fail "GET /api/checkpoints/$id failed"
get "/api/checkpoints/$id/" >"$TEST_TMP/api-one-slash.json" || fail "GET /api/checkpoints/$id/ failed"
python3 - "$TEST_TMP/cli-one.json" "$TEST_TMP/api-one.json" "$TEST_TMP/api-one-slash.json" <<'PY' || fail "/api/checkpoints/$id differs"
import json, sys
# (retention may discard it between the reads: status aside, it is equal)
a, b, c = (dict(json.load(open(p)), status="DONE") for p in sys.argv[1:4])
if a != b or b != c:
    sys.exit("cli %r\napi %r\napi/ %r" % (a, b, c))
if len(b.get("tasks", [])) != 2:
    sys.exit("no per-task stats: %r" % b)
PY

say "/api/checkpoints/$id/explain mirrors explain $id"
cli --json explain "$id" >"$TEST_TMP/cli-explain.json"
get "/api/checkpoints/$id/explain" >"$TEST_TMP/api-explain.json" ||
	fail "GET /api/checkpoints/$id/explain failed"
python3 - "$TEST_TMP/cli-explain.json" "$TEST_TMP/api-explain.json" <<'PY' || fail "/api/checkpoints/$id/explain differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if b.get("status") not in ("COMPLETED", "DISCARDED") or not b.get("path"):
    sys.exit("no critical path in %r" % b)
a["status"] = b["status"] = "DONE"
if a != b:
    sys.exit("cli %r\napi %r" % (a, b))
PY

say "unknown ids and their explain are 404 with a JSON error"
expect_404() {
	local rc=0 err
	err="$(get "$1" 2>&1 >/dev/null)" || rc=$?
	((rc == 1)) || fail "GET $1: expected a 404, got exit $rc: $err"
	[[ $(head -n 1 <<<"$err") == "HTTP 404" ]] || fail "GET $1: $err"
	tail -n +2 <<<"$err" | python3 -c 'import json,sys; assert "error" in json.load(sys.stdin)' ||
		fail "GET $1: the 404 body is not a JSON error: $err"
}
expect_404 /api/checkpoints/987654321
expect_404 /api/checkpoints/987654321/explain
expect_404 /api/nothing
expect_404 /api/checkpoints/abc
say "PASS"
