#!/usr/bin/env bash
# wordcount_exact.sh - bounded jobs run to the end without failures commit
# exactly the expected output, computed independently by expect.py:
#   - examples/wordcount.ini  gen -> hash -> count -> file (KEY COUNT)
#   - examples/union.ini      two sources into one count: alignment of
#                             several upstream stages
# and the job ends with a final checkpoint: FINISHED, nothing left pending.
source "$(dirname "$0")/lib.sh"

run_to_end() {
	local job=$1 workers=$2
	say "run $(basename "$job") on $workers workers to the end"
	cluster up "$job" "$workers" >/dev/null
	cluster wait 120 >/dev/null || fail "$(basename "$job") did not finish"
	cli status | grep -qx 'state: FINISHED' || fail "state is not FINISHED"
	python3 "$SRC/tests/integration/expect.py" check "$RUN" "$job" ||
		fail "committed output of $(basename "$job") is not exact"
	cli --json checkpoints | python3 -c '
import json, sys
recs = json.load(sys.stdin)["checkpoints"]
final = [c for c in recs if c.get("final")]
assert final and final[0]["status"] == "COMPLETED", recs[:2]
assert final[0]["id"] == max(c["id"] for c in recs), "final is not the last"
print("final checkpoint", final[0]["id"], "committed")' ||
		fail "no completed final checkpoint"
	[[ -z "$(ls -A "$RUN/output/.pending")" ]] ||
		fail "pre-committed files left unpublished: $(ls "$RUN/output/.pending")"
	if ls "$RUN"/output/.staging-* >/dev/null 2>&1; then
		fail "staging files left behind"
	fi
	cluster down >/dev/null
}

run_to_end "$SRC/examples/wordcount.ini" 2
run_to_end "$SRC/examples/union.ini" 3
say "PASS"
