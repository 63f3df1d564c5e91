#!/usr/bin/env bash
# http_bad_requests.sh - bad HTTP requests leave the coordinator up and the
# job running to its exact end:
#   - unknown paths, a path of 4 KB and other methods: 404 / 405 with a
#     JSON error;
#   - a request with a 100 KB header: refused (an error status or the
#     connection closed), never a hang;
#   - 200 connections left open at once (half of them stopped in the middle
#     of a request, slowloris-like): a fresh request is still answered;
# then the sources are released, the job finishes, its output is exact
# (expect.py) and the coordinator is the process that started.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/wordcount.ini"
sed 's/^name = wordcount$/&\nhttp_port = 0/' "$SRC/examples/wordcount.ini" >"$JOB"
grep -q '^http_port = 0$' "$JOB" || fail "could not add http_port to the job"

say "start a coordinator and 2 workers, sources held before their end"
hold_sources
cluster up "$JOB" 2 >/dev/null
wait_for 120 completed_at_least 1
status_now
url="$(field http)"
[[ -n $url ]] || fail "no http URL in status"
coord_pid="$(cat "$RUN/pids/coordinator.pid")"

say "abuse $url"
python3 - "$url" <<'PY' || fail "the HTTP server misbehaved (see above)"
import json, socket, sys, time, urllib.error, urllib.request

url = sys.argv[1]
host, port = url[len("http://"):].split(":")
port = int(port)

def status_of(path, method="GET", data=None):
    req = urllib.request.Request(url + path, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

for path in ("/nope", "/api", "/api/", "/metrics/x", "/api/status/x",
             "/api/checkpoints/1/x", "/%2e%2e/%2e%2e/etc/passwd",
             "/api/checkpoints/99999999999999999999999", "/" + "a" * 4000):
    code, body = status_of(path)
    if code != 404:
        sys.exit("GET %s: %d, expected 404" % (path[:60], code))
    json.loads(body)["error"]
code, body = status_of("/api/status", "POST", b"x" * 100)
if code not in (400, 405):
    sys.exit("POST /api/status: %d, expected 405 (or 400 for the body)" % code)
code, body = status_of("/api/status", "DELETE")
if code != 405:
    sys.exit("DELETE /api/status: %d, expected 405" % code)
print("unknown paths and methods refused")

# A 100 KB header: an error status or a closed connection, within 30 s.
s = socket.create_connection((host, port), timeout=30)
try:
    s.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
except OSError as e:
    print("100 KB header: the server closed the connection while it was sent (%s)" % e)
else:
    try:
        reply = s.recv(4096)
    except ConnectionResetError:
        reply = b""
    if reply.startswith(b"HTTP/1.1 200"):
        sys.exit("100 KB header answered 200: %r" % reply[:200])
    print("100 KB header: %r" % (reply.split(b"\r\n")[0] or b"connection closed"))
s.close()

# 200 connections held open: 100 idle, 100 stopped inside a request.
held = []
for i in range(200):
    c = socket.create_connection((host, port), timeout=30)
    if i % 2:
        c.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    held.append(c)
t0 = time.time()
code, body = status_of("/api/status")
if code != 200 or json.loads(body)["state"] != "RUNNING":
    sys.exit("with 200 connections open: /api/status %d %r" % (code, body[:200]))
code, body = status_of("/metrics")
if code != 200 or b"snapmark_epoch" not in body:
    sys.exit("with 200 connections open: /metrics %d" % code)
print("with 200 connections open, /api/status and /metrics answered in %.2f s" % (time.time() - t0))
for c in held:
    c.close()
PY

say "the coordinator is up and serves the CLI"
[[ $(cat "$RUN/pids/coordinator.pid") == "$coord_pid" ]] && kill -0 "$coord_pid" ||
	fail "the coordinator is gone"
state_is RUNNING || fail "the job is not RUNNING after the requests"
python3 "$SRC/tests/integration/httpget.py" "$url/api/status" >/dev/null ||
	fail "the HTTP server stopped answering"

say "release the sources: the job finishes with exact output"
release_sources
cluster wait 180 >/dev/null || fail "the job did not finish"
cli status | grep -qx 'state: FINISHED' || fail "state is not FINISHED"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact"
[[ $(cat "$RUN/pids/coordinator.pid") == "$coord_pid" ]] ||
	fail "the coordinator was restarted"
say "PASS"
