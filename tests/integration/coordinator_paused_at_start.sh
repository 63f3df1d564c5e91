#!/usr/bin/env bash
#
# coordinator_paused_at_start.sh - a restarted coordinator that is paused
# (SIGSTOP) right after it starts, before any worker registered with it,
# for longer than the heartbeat timeout, still gets its workers back:
#   - the job runs, the coordinator is SIGKILLed and started again, and
#     stopped at once for 3 s (heartbeat timeout 1500 ms). Meanwhile the
#     workers dial its sockets, hear nothing, give up and dial again: NNG
#     1.5.2's listener can stop accepting after such abandoned handshakes;
#   - after SIGCONT the job is RUNNING again within 20 s (the coordinator
#     opens fresh sockets for the workers it has not heard from), and it
#     finishes with exact output (expect.py, independent of the code).
# Found by the chaos test (seed 799629154): the job stayed RESTARTING.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

need_tools python3

JOB="$TEST_TMP/paused-start.ini"
cat >"$JOB" <<'INI'
; 2 x 75000 records at 5000/s per subtask: 15 s of data.
[job]
name = coord_paused_at_start
heartbeat_timeout_ms = 1500

[checkpoint]
interval_ms = 200

[stage src]
operator = gen
parallelism = 2
records = 75000
rate = 5000
seed = 5

[stage pass]
operator = passthrough
parallelism = 2
input = src forward

[stage sink]
operator = file
parallelism = 2
input = pass forward
INI

log_has() { grep -qE -- "$2" "$RUN/logs/$1.log"; }

say "a job on 3 workers (heartbeat timeout 1500 ms)"
cluster up "$JOB" 3
wait_for 20 completed_at_least 2
status_now
[[ $(field state) == RUNNING ]] || fail "state $(field state) before the restart"

for round in 1 2; do
	say "round $round: SIGKILL the coordinator, start it again and SIGSTOP it at once for 3 s"
	cluster kill coordinator >/dev/null
	cluster start coordinator >/dev/null
	cluster stop coordinator
	sleep 3
	cluster cont coordinator
	say "   the job runs again (or has already finished)"
	running_or_done() { state_is RUNNING || state_is FINISHED; }
	wait_for 20 running_or_done
	status_now
	say "   $(field state), epoch $(field epoch), restarts $(field restarts)"
done

say "the job finishes with exactly-once output"
cluster wait 120 || fail "the job did not finish: $(cli status 2>&1 | sed -n 's/^state: //p')"
status_now
[[ $(field state) == FINISHED ]] || fail "final state $(field state)"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "expect.py check failed"
log_has coordinator "did not run for [0-9]+ ms" ||
	fail "the coordinator did not notice its own pause"
say "PASS"
