#!/usr/bin/env bash
# retention_discarded.sh - a checkpoint that retention let the tasks delete
# is DISCARDED in `snapmark checkpoints` and `snapmark show`, and `show`
# does not offer its (deleted) LMDB locations; the newest `retained`
# completed checkpoints stay COMPLETED. The oracle is the list of ids alone
# (python3): every completed checkpoint older than the newest 2 is
# discarded.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/keep2.ini"
cat >"$JOB" <<'INI'
[job]
name = keep2
[checkpoint]
interval_ms = 200
retained = 2
[stage source]
operator = gen
parallelism = 1
records = 4000
rate = 2000
keys = 50
[stage counter]
operator = count
parallelism = 1
input = source hash
[stage sink]
operator = file
parallelism = 1
input = counter forward
INI

hold_sources
cluster up "$JOB" 1 >/dev/null
say "wait for 5 completed checkpoints"
wait_for 120 completed_at_least 5
release_sources
cluster wait 120 >/dev/null || fail "the job did not finish"

cli --json checkpoints >"$TEST_TMP/ckpts.json" || fail "checkpoints failed"
read -r old keep < <(python3 - "$TEST_TMP/ckpts.json" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))["checkpoints"]
done = sorted((c["id"] for c in recs
               if c["status"] in ("COMPLETED", "DISCARDED")
               and not c.get("savepoint")), reverse=True)
keep, old = done[:2], done[2:]
bad = [c["id"] for c in recs if c["id"] in old and c["status"] != "DISCARDED"]
bad += [c["id"] for c in recs if c["id"] in keep and c["status"] != "COMPLETED"]
if bad or not old:
    print("wrong status for", bad, "old", old, file=sys.stderr)
    sys.exit(1)
print(old[-1], keep[0])
PY
) || fail "retention did not mark the older checkpoints DISCARDED"
say "checkpoint $old discarded, $keep kept"

cli checkpoints >"$TEST_TMP/ckpts.txt"
awk -v id="$old" '$1 == id && $3 == "DISCARDED" { ok = 1 } END { exit !ok }' \
	"$TEST_TMP/ckpts.txt" || { cat "$TEST_TMP/ckpts.txt"; fail "checkpoints does not show $old as DISCARDED"; }

cli show "$old" >"$TEST_TMP/show.txt"
cat "$TEST_TMP/show.txt"
grep -q "^status: DISCARDED$" "$TEST_TMP/show.txt" || fail "show $old: not DISCARDED"
! grep -q "$RUN/state" "$TEST_TMP/show.txt" ||
	fail "show $old presents LMDB locations of a discarded checkpoint"
cli show "$keep" >"$TEST_TMP/show2.txt"
grep -q "^status: COMPLETED$" "$TEST_TMP/show2.txt" || fail "show $keep: not COMPLETED"
say "PASS"
