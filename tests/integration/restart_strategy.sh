#!/usr/bin/env bash
# restart_strategy.sh - a job whose sink fails in every epoch (the debug
# knob SNAPMARK_DEBUG_FAIL_TASK) restarts as its [restart] section says and
# no more: exponential delays between a failure and the next deploy (read
# loosely from the log's timestamps), then FAILED with "restart attempts
# exhausted (3): <the last reason>" in the status and the log. A restarted
# coordinator keeps the job FAILED instead of restarting it again; one
# restarted in the middle goes on counting where the old one stopped.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/restart.ini"
cat >"$JOB" <<'INI'
[job]
name = restart-strategy
[checkpoint]
interval_ms = 200
[restart]
strategy = exponential-delay
attempts = 3
delay_ms = 400
max_delay_ms = 1200
backoff_multiplier = 2
[stage source]
operator = gen
parallelism = 2
rate = 2000
[stage sink]
operator = file
parallelism = 2
input = source forward
INI

export SNAPMARK_DEBUG_FAIL_TASK=sink.1
LOG="$RUN/logs/coordinator.log"

# `cluster up` waits for RUNNING, which this job may never reach, or may
# reach for a moment before it fails: either way it goes on below.
cluster up "$JOB" 2 >/dev/null 2>&1 || true
[[ -f $LOG ]] || fail "the cluster did not start"

say "the sink fails in every epoch: wait for FAILED"
wait_for 60 state_is FAILED
cli status
reason="$(field 'last failure')"
want="restart attempts exhausted (3): task sink.1 failed: SNAPMARK_DEBUG_FAIL_TASK=sink.1"
[[ $reason == *"$want"* ]] || fail "last failure is '$reason', want '$want'"
grep -qF "job failed: $want" "$LOG" || fail "the log does not say why the job failed"

say "exactly 4 epochs (the first and 3 restarts), the delays growing"
python3 - "$LOG" <<'PY' || fail "the restarts did not follow the strategy"
import re, sys
from datetime import datetime

def ts(line):
    return datetime.strptime(line.split()[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")

failed, deployed = {}, {}
for line in open(sys.argv[1]):
    m = re.search(r" epoch (\d+) failed: ", line)
    if m:
        failed.setdefault(int(m.group(1)), ts(line))
    m = re.search(r" epoch (\d+): deploying ", line)
    if m:
        deployed[int(m.group(1))] = ts(line)
print("deployed epochs:", sorted(deployed), "failed epochs:", sorted(failed))
if sorted(deployed) != [1, 2, 3, 4] or sorted(failed) != [1, 2, 3, 4]:
    sys.exit("want epochs 1-4 deployed and failed")
want = {2: 400, 3: 800, 4: 1200}  # delay before deploying epoch e, ms
for e, ms in want.items():
    gap = (deployed[e] - failed[e - 1]).total_seconds() * 1000
    print(f"epoch {e - 1} failed -> epoch {e} deployed: {gap:.0f} ms "
          f"(delay {ms} ms)")
    # Never earlier than the delay (the log's clock has ms resolution);
    # later is fine on a loaded machine.
    if gap < ms - 5:
        sys.exit(f"epoch {e} was deployed {gap:.0f} ms after the failure, "
                 f"before its delay of {ms} ms")
PY
grep -qE 'restart 3 of 3 \(exponential-delay\) in 1200 ms' "$LOG" ||
	fail "the third restart's delay was not logged"

say "a restarted coordinator keeps the job FAILED"
cluster kill coordinator >/dev/null
cluster start coordinator >/dev/null
wait_for 20 state_is FAILED
[[ $(field 'last failure') == *"$want"* ]] ||
	fail "after the coordinator restart the last failure is '$(field 'last failure')'"
sleep 1 # a deploy would come at once: give it the chance to show
if grep -qE ' epoch [5-9]: deploying ' "$LOG"; then
	fail "the coordinator restarted a job that had exhausted its attempts"
fi

say "again with fixed delays; the coordinator is killed after the first restart"
cluster down >/dev/null 2>&1
sed -e 's/^strategy = .*/strategy = fixed-delay/' -e '/^max_delay_ms/d' \
	-e '/^backoff_multiplier/d' -e 's/^delay_ms = .*/delay_ms = 300/' \
	"$JOB" >"$TEST_TMP/fixed.ini"
cluster up "$TEST_TMP/fixed.ini" 2 >/dev/null 2>&1 || true
wait_for 60 grep -q 'restart 1 of 3 (fixed-delay) in 300 ms' "$LOG"
cluster kill coordinator >/dev/null
cluster start coordinator >/dev/null
wait_for 60 state_is FAILED
[[ $(field 'last failure') == *"$want"* ]] ||
	fail "last failure is '$(field 'last failure')', want '$want'"
# Both coordinators' lines (the log is appended to): restarts 1, 2, 3 of 3,
# each once, in order - the new coordinator counted on from the old one.
got="$(grep -oE 'restart [0-9]+ of 3 \(fixed-delay\) in 300 ms' "$LOG" |
	awk '{print $2}' | paste -sd' ')"
[[ $got == "1 2 3" ]] || fail "restarts logged: '$got', want '1 2 3'"
say "PASS"
