#!/usr/bin/env bash
# publish_confirm_timeout.sh - FINISHING does not last for good. The sinks
# take longer to publish the final checkpoint (SNAPMARK_DEBUG_PUBLISH_DELAY_MS)
# than the checkpoint timeout allows for their confirmation: the epoch
# fails, the next one deploys the tasks publish-only, the sinks publish
# again (idempotently: their files are already in output/ by then or get
# there now) and the job is FINISHED with exact output (expect.py).
source "$(dirname "$0")/lib.sh"
export SNAPMARK_DEBUG_PUBLISH_DELAY_MS=6000

JOB="$TEST_TMP/timeout.ini"
cat >"$JOB" <<'INI'
[job]
name = publish-confirm-timeout
heartbeat_timeout_ms = 15000
[checkpoint]
interval_ms = 0          ; only the final checkpoint
timeout_ms = 2500
[stage source]
operator = gen
parallelism = 2
records = 20000
rate = 10000
[stage relay]
operator = passthrough
parallelism = 2
input = source forward
[stage sink]
operator = file
parallelism = 2
input = relay forward
INI

cluster up "$JOB" 2 >/dev/null
# The moment the job is FINISHED, nothing may be left unpublished.
wait_for 120 state_is FINISHED
unpublished="$(find "$RUN/output/.pending" -name "part-*" | wc -l)"
((unpublished == 0)) ||
	fail "FINISHED with $unpublished pre-committed files unpublished"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact"
grep -E 'epoch [0-9]+ failed: [0-9]+ of 6 tasks confirmed publishing checkpoint' \
	"$RUN/logs/coordinator.log" ||
	fail "the missing confirmations did not fail the epoch"
grep -E 'deploying 6 tasks to publish final checkpoint' "$RUN/logs/coordinator.log" ||
	fail "no publish-only epoch"
say "PASS"
