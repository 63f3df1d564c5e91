#!/usr/bin/env bash
#
# sigterm_bound.sh - every process ends on SIGTERM within a bound, whatever
# state it is in (issue 9): each is given 5 s, measured from the signal
# until the process is gone.
#   1. a worker while the coordinator is stopped (SIGSTOP, 4 s past a
#      1.5 s heartbeat timeout); the worker is started again;
#   2. the coordinator after a second pause of its own: the state in
#      which NNG 1.5.2 wedges its sockets and nng_close never returns
#      (before the fix it ignored SIGTERM for good); it is started again;
#   3. a worker while the job is RESTARTING because another worker hangs
#      (SIGSTOP) and its tasks cannot be redeployed.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/sigterm.ini"
cat >"$JOB" <<'EOF'
; An endless source (records = 0) at a bounded rate: the job never ends by
; itself, so no step races its end.
[job]
name = sigterm_bound
heartbeat_timeout_ms = 1500

[checkpoint]
interval_ms = 200

[stage src]
operator = gen
parallelism = 3
records = 0
rate = 5000

[stage pass]
operator = passthrough
parallelism = 3
input = src hash

[stage sink]
operator = discard
parallelism = 3
input = pass forward
EOF

now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }
log_has() { grep -qE -- "$2" "$RUN/logs/$1.log"; }

# alive PID: PID exists and is not a zombie.
alive() {
	local st
	st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# term_within NAME SECS: SIGTERM process NAME, fail unless it is gone
# within SECS; SIGKILL it then so the test can go on.
term_within() {
	local name=$1 secs=$2 pid t0 deadline
	pid="$(cat "$RUN/pids/$name.pid")"
	alive "$pid" || fail "$name (pid $pid) is not running"
	t0="$(now_ms)"
	deadline=$((t0 + secs * 1000))
	kill -TERM "$pid"
	while alive "$pid"; do
		if (($(now_ms) >= deadline)); then
			if command -v gdb >/dev/null 2>&1; then
				timeout 30 gdb -p "$pid" -batch -ex 'thread apply all bt 8' 2>/dev/null |
					grep -E '^(Thread|#)' | head -n 80 || true
			fi
			kill -KILL "$pid" 2>/dev/null || true
			fail "$name (pid $pid) still running ${secs} s after SIGTERM"
		fi
		sleep 0.02
	done
	say "   $name (pid $pid) ended $(($(now_ms) - t0)) ms after SIGTERM"
}

say "starting a coordinator and 3 workers (heartbeat timeout 1500 ms)"
cluster up "$JOB" 3
wait_for 20 completed_at_least 2

# After a pause the coordinator either notices it ("did not run for",
# since the fix) or blames the workers ("sent no heartbeat", before it).
judged() { grep -cE 'did not run for|sent no heartbeat' "$RUN/logs/coordinator.log" || true; }
judged_more() { (($(judged) > JUDGED)); }

say "1. SIGTERM worker-3 while the coordinator is stopped (4 s)"
JUDGED="$(judged)"
cluster stop coordinator
term_within worker-3 5
sleep 3
cluster cont coordinator
cluster start worker-3
wait_for 10 judged_more

say "2. SIGTERM the coordinator after a second pause of its own (4 s)"
JUDGED="$(judged)"
cluster stop coordinator
sleep 4
cluster cont coordinator
wait_for 10 judged_more
wait_for 10 status_now
term_within coordinator 5
cluster start coordinator
wait_for 30 state_is RUNNING

say "3. SIGTERM worker-1 while worker-2 hangs and the job is RESTARTING"
cluster stop worker-2
wait_for 20 state_is RESTARTING
term_within worker-1 5
cluster start worker-1
cluster cont worker-2
say "PASS"
