#!/usr/bin/env bash
# http_metrics.sh - the coordinator's /metrics (HTTP server on [job]
# http_port = 0: an ephemeral port, its URL in `snapmark status`):
#   - the URL is logged at start and shown by `snapmark status`;
#   - the page passes `promtool check metrics` (Prometheus text 0.0.4);
#   - parsed by a parser of its own (below, python3), its values agree with
#     `snapmark --json status` and `--json checkpoints` taken just before
#     and after it: epoch, restarts, latest completed checkpoint and the
#     checkpoint counts by status are equal, the histograms count every
#     completed checkpoint, records counters lie between the two samples,
#     the rates are plausible for the source's configured rate and the
#     back-pressure shares of each task add up to 1.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fail "promtool missing (scripts/bootstrap installs prometheus)"

JOB="$TEST_TMP/metrics.ini"
cat >"$JOB" <<'INI'
[job]
name = metrics
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

say "start a coordinator and 1 worker"
cluster up "$JOB" 1 >/dev/null
wait_for 120 state_is RUNNING
# checkpoints by hand only: the history stays still while it is compared
for i in 1 2 3 4; do
	cli trigger --wait >/dev/null || fail "checkpoint $i did not complete"
done
wait_for 60 completed_at_least 4

status_now
url="$(field http)"
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "status shows no http URL: '$url'"
grep -q "http: dashboard and metrics at $url" "$RUN/logs/coordinator.log" ||
	fail "the coordinator did not log its URL $url"
echo "serving at $url"

say "promtool accepts /metrics"
python3 "$SRC/tests/integration/httpget.py" "$url/metrics" >"$TEST_TMP/metrics.txt" ||
	fail "GET /metrics failed"
promtool check metrics <"$TEST_TMP/metrics.txt" || fail "promtool rejects /metrics"

# sample N: CLI before, /metrics, CLI after
sample() {
	cli --json status >"$TEST_TMP/st-a.json" &&
		cli --json checkpoints >"$TEST_TMP/cp-a.json" &&
		python3 "$SRC/tests/integration/httpget.py" "$url/metrics" >"$TEST_TMP/metrics.txt" &&
		cli --json checkpoints >"$TEST_TMP/cp-b.json" &&
		cli --json status >"$TEST_TMP/st-b.json"
}

# compare: exit 0 if the metrics agree, 3 if the CLI samples differ (a
# checkpoint completed in between: sample again), 1 on a mismatch.
compare() {
	python3 - "$TEST_TMP" <<'PY'
import json, re, sys
d = sys.argv[1]
sa, sb = (json.load(open("%s/st-%s.json" % (d, k))) for k in "ab")
ca, cb = (json.load(open("%s/cp-%s.json" % (d, k)))["checkpoints"] for k in "ab")

def counts(cps):
    c = {"PENDING": 0, "COMPLETED": 0, "FAILED": 0, "DISCARDED": 0}
    for r in cps:
        c[r["status"]] += 1
    return c
stable = ("epoch", "restarts", "latest_completed", "pending")
if any(sa.get(k) != sb.get(k) for k in stable) or counts(ca) != counts(cb):
    sys.exit(3)

# An independent reader of the text format: '# HELP'/'# TYPE' lines, then
# samples 'name{l="v",...} value' with escaped label values.
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
types, samples = {}, []
for ln in open("%s/metrics.txt" % d, encoding="utf-8"):
    ln = ln.rstrip("\n")
    if ln.startswith("# TYPE "):
        _, _, name, typ = ln.split(" ", 3)
        types[name] = typ
        continue
    if ln.startswith("#") or not ln:
        continue
    m = line_re.match(ln)
    if not m:
        sys.exit("bad sample line: %r" % ln)
    labels, rest = {}, m.group(3) or ""
    pos = 0
    while pos < len(rest):
        lm = label_re.match(rest, pos)
        if not lm:
            sys.exit("bad labels in %r" % ln)
        labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), lm.group(2))
        pos = lm.end()
    samples.append((m.group(1), labels, float(m.group(4))))

def one(name, **labels):
    v = [s[2] for s in samples if s[0] == name and all(s[1].get(k) == x for k, x in labels.items())]
    if len(v) != 1:
        sys.exit("%s%r: %d samples" % (name, labels, len(v)))
    return v[0]

errs = []
def check(what, got, want):
    if got != want:
        errs.append("%s: /metrics says %r, the CLI %r" % (what, got, want))

check("epoch", one("snapmark_epoch"), sa["epoch"])
check("restarts", one("snapmark_restarts_total"), sa["restarts"])
check("latest completed", one("snapmark_checkpoint_latest_completed"), sa.get("latest_completed", 0))
check("pending", one("snapmark_checkpoints_pending"), len(sa.get("pending", [])))
check("tasks", one("snapmark_tasks"), sa["tasks_total"])
check("info", one("snapmark_info", job=sa["job_name"], state=sa["state"]), 1)
for st, n in counts(ca).items():
    check("checkpoints %s" % st, one("snapmark_checkpoints", status=st.lower()), n)
# DISCARDED ones completed too (retention deleted their snapshots later)
done = [r for r in ca if r["status"] in ("COMPLETED", "DISCARDED")]
check("duration count", one("snapmark_checkpoint_duration_seconds_count"), len(done))
check("duration +Inf", one("snapmark_checkpoint_duration_seconds_bucket", le="+Inf"), len(done))
within = sum(1 for r in done if r["duration_us"] / 1e6 <= 1.0)
check("duration le=1", one("snapmark_checkpoint_duration_seconds_bucket", le="1"), within)
check("duration sum", round(one("snapmark_checkpoint_duration_seconds_sum"), 6),
      round(sum(r["duration_us"] for r in done) / 1e6, 6))
check("size count", one("snapmark_checkpoint_size_bytes_count"), len(done))
for name in ("snapmark_checkpoint_duration_seconds", "snapmark_checkpoint_size_bytes",
             "snapmark_checkpoint_alignment_seconds",
             "snapmark_checkpoint_start_delay_seconds"):
    check("type of " + name, types.get(name), "histogram")
# every completed checkpoint has a barrier on each input channel of relay
# and sink: at least two start delays per checkpoint
if not one("snapmark_checkpoint_start_delay_seconds_count") >= 2 * len(done):
    errs.append("start delays: %r for %d completed checkpoints" %
                (one("snapmark_checkpoint_start_delay_seconds_count"), len(done)))
check("type of records", types.get("snapmark_task_records_out_total"), "counter")
ma = {t["task_name"]: t for t in sa["task_metrics"]}
mb = {t["task_name"]: t for t in sb["task_metrics"]}
for name in ("source.0", "relay.0", "sink.0"):
    for k in ("records_in", "records_out"):
        v = one("snapmark_task_%s_total" % k, task=name)
        if not ma[name][k] <= v <= mb[name][k]:
            errs.append("%s %s: %r not within the CLI's %r..%r" % (name, k, v, ma[name][k], mb[name][k]))
    shares = [one("snapmark_task_%s_ratio" % k, task=name) for k in ("busy", "idle", "backpressured")]
    if abs(sum(shares) - 1) > 1e-6 or min(shares) < 0:
        errs.append("%s: busy/idle/back-pressured shares %r do not add up to 1" % (name, shares))
rate = one("snapmark_task_records_out_per_second", task="source.0")
if not 500 <= rate <= 50000:
    errs.append("source.0 sends %r records/s, configured 5000" % rate)
if errs:
    sys.exit("\n".join(errs))
print("metrics agree with the CLI: %d completed checkpoints, epoch %d" % (len(done), sa["epoch"]))
PY
}

say "/metrics agrees with the CLI of the same moment"
ok=0
for attempt in $(seq 1 10); do
	sample || fail "sampling failed"
	rc=0
	compare || rc=$?
	if ((rc == 0)); then ok=1; break; fi
	((rc == 3)) || fail "/metrics disagrees with the CLI (see above)"
done
((ok)) || fail "never got two equal CLI samples around a /metrics read"
say "PASS"
