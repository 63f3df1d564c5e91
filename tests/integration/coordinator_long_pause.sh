#!/usr/bin/env bash
#
# coordinator_long_pause.sh - longer and repeated pauses of the coordinator
# (issue 9, item 2), with the default heartbeat settings (500 / 3000 ms):
#   1. the coordinator is stopped for 7 s while the job runs, then
#      continued: the job runs again;
#   2. worker-2 is stopped until the coordinator declares it dead (the job
#      is RESTARTING), then the coordinator is stopped for 4 s during that
#      restart; both are continued: the job runs again;
#   3. the job finishes and the committed output is exact (expect.py).
# Before the fix the first pause left the job RESTARTING for good.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"

JOB="$TEST_TMP/long_pause.ini"
cat >"$JOB" <<'EOF'
; 2 x 150000 records at 5000/s per subtask: at least 30 s of data (more
; with the restarts replaying from their checkpoint), so the job still
; runs through both pauses.
[job]
name = coord_long_pause

[checkpoint]
interval_ms = 300

[stage src]
operator = gen
parallelism = 2
records = 150000
rate = 5000
seed = 12

[stage pass]
operator = passthrough
parallelism = 2
input = src forward

[stage sink]
operator = file
parallelism = 2
input = pass forward
EOF

now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }
running_or_done() { state_is RUNNING || state_is FINISHED; }

say "starting a coordinator and 3 workers (default heartbeat: 500 / 3000 ms)"
cluster up "$JOB" 3
wait_for 20 completed_at_least 2

say "1. SIGSTOP the coordinator for 7 s"
cluster stop coordinator
sleep 7
cluster cont coordinator
t_cont="$(now_ms)"
wait_for 5 status_now
wait_for 30 running_or_done
cli status
say "   $(field state) $(($(now_ms) - t_cont)) ms after SIGCONT (epoch $(field epoch))"
[[ $(field state) == RUNNING ]] ||
	fail "the job ended before the second scenario; make it longer"

say "2. SIGSTOP worker-2 until the coordinator restarts the job"
cluster stop worker-2
wait_for 20 state_is RESTARTING
say "   RESTARTING; SIGSTOP the coordinator for 4 s during the restart"
cluster stop coordinator
sleep 4
cluster cont coordinator
cluster cont worker-2
t_cont="$(now_ms)"
wait_for 5 status_now
wait_for 30 running_or_done
cli status
say "   $(field state) $(($(now_ms) - t_cont)) ms after SIGCONT (epoch $(field epoch))"

say "3. the job finishes with exactly-once output"
cluster wait 180 || fail "the job did not finish: $(cli status 2>&1 | sed -n 's/^state: //p')"
status_now
[[ $(field state) == FINISHED ]] || fail "final state $(field state)"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "expect.py check failed"
say "PASS"
