#!/usr/bin/env bash
# http_dashboard.sh - the dashboard at / in a real browser (Debian's
# chromium, headless): the page the coordinator serves, once its scripts
# have polled the REST API, shows
#   - the live checkpoints: exactly the ids `snapmark --json checkpoints`
#     lists (checkpoints are triggered by hand, so the list stays still);
#   - the job graph with every stage, and the job's state;
#   - frames buffered per channel: a table row per channel of the job
#     and, on the graph's edges, the frames buffered between the stages;
#   - the per-task timeline of a checkpoint: one row per task;
# and a screenshot of it is saved as TEST_TMP/dashboard.png (kept with
# TEST_TMP when the test fails).
source "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || fail "chromium missing (scripts/bootstrap installs it)"

JOB="$TEST_TMP/dash.ini"
cat >"$JOB" <<'INI'
[job]
name = dashboard
heartbeat_ms = 100
http_port = 0
[checkpoint]
interval_ms = 0
[stage source]
operator = gen
rate = 5000
[stage relay]
operator = passthrough
input = source forward
[stage sink]
operator = discard
input = relay forward
INI

say "start a coordinator and 1 worker, take 3 checkpoints"
cluster up "$JOB" 1 >/dev/null
wait_for 120 state_is RUNNING
for i in 1 2 3; do
	cli trigger --wait >/dev/null || fail "checkpoint $i did not complete"
done
status_now
url="$(field http)"
[[ -n $url ]] || fail "no http URL in status"
cli --json checkpoints >"$TEST_TMP/cli-cps.json"

# browser ARGS...: headless chromium on the dashboard, bounded in time.
browser() {
	local profile
	profile="$(mktemp -d "$TEST_TMP/chromium.XXXXXX")"
	timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --virtual-time-budget=4000 \
		--window-size=1000,1200 "$@" "$url/" 2>>"$TEST_TMP/chromium.err"
}

say "render $url/ in headless chromium"
browser --dump-dom >"$TEST_TMP/dom.html" || fail "chromium failed: $(tail -n 5 "$TEST_TMP/chromium.err")"
python3 - "$TEST_TMP/dom.html" "$TEST_TMP/cli-cps.json" <<'PY' || fail "the dashboard does not show the job (DOM in $TEST_TMP/dom.html)"
import json, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.stages, self.gantt, self.text = [], [], [], []
        self.chans, self.edges = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "ckpt" in a.get("class", "").split():
            self.rows.append(int(a["data-id"]))
        if tag == "g" and a.get("class") == "stagebox":
            self.stages.append(a["data-stage"])
        if tag == "g" and a.get("class") == "gantt-row":
            self.gantt.append(a["data-task"])
        if tag == "tr" and a.get("class") == "chan":
            self.chans.append((a["data-from"], a["data-to"], int(a["data-buffered"])))
        if tag == "text" and a.get("class") == "edgebuf":
            self.edges.append((a["data-from"], a["data-to"]))
    def handle_data(self, data):
        self.text.append(data)

dom = Dom()
dom.feed(open(sys.argv[1], encoding="utf-8").read())
want = sorted(r["id"] for r in json.load(open(sys.argv[2]))["checkpoints"])
errs = []
if sorted(dom.rows) != want:
    errs.append("checkpoint rows %r, the CLI lists %r" % (sorted(dom.rows), want))
if dom.stages != ["source", "relay", "sink"]:
    errs.append("job graph stages %r" % dom.stages)
if sorted(dom.gantt) != ["relay.0", "sink.0", "source.0"]:
    errs.append("timeline rows %r" % dom.gantt)
text = " ".join(dom.text)
if sorted(c[:2] for c in dom.chans) != [("relay.0", "sink.0"), ("source.0", "relay.0")]:
    errs.append("channel rows %r" % dom.chans)
if sorted(dom.edges) != [("relay", "sink"), ("source", "relay")]:
    errs.append("frames buffered on the graph's edges %r" % dom.edges)
if "state: RUNNING" not in text:
    errs.append("no 'state: RUNNING' in the page")
if errs:
    sys.exit("\n".join(errs))
print("dashboard shows checkpoints %r, stages %r, timeline of %d tasks, channels %r" % (want, dom.stages, len(dom.gantt), dom.chans))
PY

say "screenshot"
browser --screenshot="$TEST_TMP/dashboard.png" >/dev/null || fail "chromium could not take a screenshot"
[[ -s $TEST_TMP/dashboard.png ]] || fail "no screenshot"
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(8); sys.exit(d != b"\x89PNG\r\n\x1a\n")' "$TEST_TMP/dashboard.png" ||
	fail "the screenshot is not a PNG"
say "PASS"
