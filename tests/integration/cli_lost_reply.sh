#!/usr/bin/env bash
#
# cli_lost_reply.sh - a request that was carried out is reported as
# carried out, even when its reply is lost:
#   `snapmark savepoint --stop --dir D` goes through a relay (python3) that
#   drops the first reply the coordinator sends on each connection, i.e.
#   the reply to SAVEPOINT. The coordinator writes the savepoint and stops
#   the job; the CLI must notice (it looks the savepoint up by its
#   directory once the reply is overdue) and report it completed, exit 0.
#   Before the fix it said "did not answer within ... ms", exit 1, for a
#   savepoint that was written. The oracle is independent of the CLI's
#   output parsing: the coordinator's log line "stopped with savepoint N",
#   D/_metadata, and the job FINISHED in `snapmark status`.
# First, 20 `trigger --wait` calls straight to the coordinator (their
# quick polls are where cooked rep0 dropped replies) must all succeed.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# Through --coordinator URL the CLI has no run dir whose catalog it could
# read once the stopped job's coordinator exits: it stays (--stay).
export SNAPMARK_STAY=1

JOB="$TEST_TMP/sp.ini"
cat >"$JOB" <<'INI'
; unbounded: it ends with the savepoint
[job]
name = lostreply
[checkpoint]
interval_ms = 300
[stage src]
operator = gen
parallelism = 2
rate = 2000
keys = 100
[stage counter]
operator = count
parallelism = 2
input = src hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

say "starting a coordinator and 2 workers"
cluster up "$JOB" 2
wait_for 20 completed_at_least 1

say "20 x trigger --wait, straight to the coordinator"
for i in $(seq 1 20); do
	out="$(cli --timeout 20000 trigger --wait 2>&1)" || fail "trigger --wait failed: $out"
	[[ $out == "checkpoint "*" completed in "* ]] || fail "unexpected output: $out"
done

say "a relay that drops the first reply on each connection"
RELAY="$TEST_TMP/relay.ipc"
python3 - "$RUN/cli.ipc" "$RELAY" "$TEST_TMP/relay.log" <<'PY' &
import socket, struct, sys, threading
upstream, path, logf = sys.argv[1], sys.argv[2], sys.argv[3]
log = open(logf, "a", buffering=1)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b

def up(c, u):          # client -> coordinator: bytes as they come
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            u.sendall(d)
    except OSError:
        pass
    for s in (c, u):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def down(c, u):        # coordinator -> client: handshake, then frames
    try:
        c.sendall(recv_exact(u, 8))
        dropped = False
        while True:
            head = recv_exact(u, 9)            # type byte, u64 length
            body = recv_exact(u, struct.unpack(">Q", head[1:])[0])
            if not dropped:
                dropped = True
                log.write("dropped a reply of %d bytes\n" % len(body))
                continue
            c.sendall(head + body)
    except (OSError, EOFError):
        pass

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
log.write("ready\n")
while True:
    c, _ = srv.accept()
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(upstream)
    threading.Thread(target=up, args=(c, u), daemon=True).start()
    threading.Thread(target=down, args=(c, u), daemon=True).start()
PY
RELAY_PID=$!
on_exit "kill $RELAY_PID 2>/dev/null; wait $RELAY_PID 2>/dev/null"
wait_for 30 grep -q ready "$TEST_TMP/relay.log"

SP="$TEST_TMP/savepoint"
say "savepoint --stop --dir $SP through the relay"
rc=0
out="$("$B/cli/snapmark" --coordinator "ipc://$RELAY" --timeout 10000 \
	savepoint --stop --dir "$SP" 2>"$TEST_TMP/cli.err")" || rc=$?
echo "  exit $rc, stdout: $out"
echo "  stderr: $(<"$TEST_TMP/cli.err")"
grep -q "dropped a reply" "$TEST_TMP/relay.log" || fail "the relay dropped nothing (test premise)"

say "the coordinator wrote it and stopped the job"
wait_for 10 grep -qE "job 'lostreply' stopped with savepoint [0-9]+" "$RUN/logs/coordinator.log"
ID="$(sed -nE "s/.*job 'lostreply' stopped with savepoint ([0-9]+).*/\1/p" "$RUN/logs/coordinator.log" | head -n 1)"
[[ -f $SP/_metadata ]] || fail "no $SP/_metadata"
wait_for 10 state_is FINISHED

say "the CLI reported savepoint $ID completed, exit 0"
[[ $rc -eq 0 ]] || fail "snapmark savepoint --stop exited $rc for savepoint $ID, which was written"
[[ $out == "savepoint $ID completed in "*": $SP" ]] || fail "unexpected output: $out"
say "PASS"
