#!/usr/bin/env bash
#
# cli_dead_peers.sh - the CLI ends within its timeout and says what
# happened when nothing useful is at the other end:
#   1. something accepts connections at RUN/cli.ipc but never completes
#      NNG's handshake (a python3 unix-socket listener that never answers):
#      `snapmark --timeout 1000 status` returns within its bound, exit 1,
#      saying the handshake did not complete (it used to wait, then could
#      block for good in nng_close);
#   2. a stale run dir whose coordinator was SIGKILLed (cli.ipc left
#      behind, refusing connections; pids/coordinator.pid names a dead
#      process): `snapmark status` says the coordinator is not running at
#      once, well under its 5 s timeout, exit 1 (it used to wait the 5 s).
# Elapsed times are measured by python3 around the CLI, not by the CLI.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

SNAPMARK="$B/cli/snapmark"

# timed CMD...: run CMD (its stdout+stderr into $OUT, exit code into $RC),
# its wall time in ms into $MS, measured by python3; a hard 30 s cap.
timed() {
	local res
	res="$(python3 - "$@" <<'PY'
import subprocess, sys, time
t = time.monotonic()
try:
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=30)
    rc, out = p.returncode, p.stdout + p.stderr
except subprocess.TimeoutExpired:
    rc, out = 124, "(killed after 30 s)"
print(int((time.monotonic() - t) * 1000), rc)
print(out, end="")
PY
)"
	read -r MS RC <<<"$(head -n 1 <<<"$res")"
	OUT="$(tail -n +2 <<<"$res")"
	printf '  %s ms, exit %s: %s\n' "$MS" "$RC" "$OUT"
}

# ---------------------------------------------------------------- 1.
say "1. a listener at cli.ipc that accepts but never completes the handshake"
MUTE="$TEST_TMP/mute"
mkdir -p "$MUTE"
python3 - "$MUTE/cli.ipc" "$TEST_TMP/mute.ready" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
open(sys.argv[2], "w").close()
held = []
s.settimeout(1.0)
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        c, _ = s.accept()
        held.append(c)   # never read, never written, never closed
    except socket.timeout:
        pass
PY
MUTE_PID=$!
on_exit "kill $MUTE_PID 2>/dev/null; wait $MUTE_PID 2>/dev/null"
wait_for 30 test -e "$TEST_TMP/mute.ready"

for i in 1 2 3; do
	timed "$SNAPMARK" --run-dir "$MUTE" --timeout 1000 status
	[[ $RC -ne 124 ]] || fail "snapmark hung (killed after 30 s)"
	[[ $RC -eq 1 ]] || fail "exit $RC, want 1"
	((MS < 2500)) || fail "--timeout 1000 took $MS ms"
	[[ $OUT == "snapmark: coordinator at ipc://$MUTE/cli.ipc did not answer within 1000 ms"*"handshake"* ]] ||
		fail "the message does not say the handshake did not complete: $OUT"
done

# ---------------------------------------------------------------- 2.
JOB="$TEST_TMP/idle.ini"
cat >"$JOB" <<'INI'
[job]
name = idle
[checkpoint]
interval_ms = 500
[stage src]
operator = gen
parallelism = 1
rate = 200
[stage sink]
operator = discard
input = src forward
INI
say "2. a stale run dir: the coordinator SIGKILLed"
cluster up "$JOB" 1
cli status >/dev/null
cluster kill coordinator >/dev/null
[[ -S $RUN/cli.ipc ]] || fail "the killed coordinator left no cli.ipc behind (test premise)"
for i in 1 2 3; do
	timed "$SNAPMARK" --run-dir "$RUN" status
	[[ $RC -eq 1 ]] || fail "exit $RC, want 1"
	((MS < 1500)) || fail "status against a dead coordinator took $MS ms (want it at once)"
	[[ $OUT == "snapmark: coordinator is not running: $RUN/cli.ipc refuses connections; its pid "*" is gone" ]] ||
		fail "unexpected message: $OUT"
done
say "   and without its pid file too (the socket refuses connections)"
rm -f "$RUN/pids/coordinator.pid"
timed "$SNAPMARK" --run-dir "$RUN" status
[[ $RC -eq 1 ]] || fail "exit $RC, want 1"
((MS < 1500)) || fail "took $MS ms"
[[ $OUT == "snapmark: coordinator is not running: $RUN/cli.ipc refuses connections" ]] ||
	fail "unexpected message: $OUT"
say "PASS"
