#!/usr/bin/env bash
# checkpoints_limit.sh - `snapmark checkpoints` shows the newest 20 by
# default, `--limit N` the newest N (0: all), fits 80 columns unless
# `--wide`, and refuses a bad --limit:
#   - 25 checkpoints are triggered by hand (no periodic ones), so the
#     history does not change while the test reads it;
#   - the oracle is the full `--json --limit 0` list, sorted here.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/limit.ini"
cat >"$JOB" <<'INI'
[job]
name = limit
[checkpoint]
interval_ms = 0
[stage src]
operator = gen
records = 100000000
rate = 1000
[stage sink]
operator = file
input = src forward
INI

hold_sources
say "start a coordinator and 1 worker; trigger 25 checkpoints"
cluster up "$JOB" 1 >/dev/null
wait_for 120 state_is RUNNING
for i in $(seq 25); do
	cli trigger --wait >/dev/null || fail "trigger $i failed"
done

cli --json checkpoints --limit 0 >"$TEST_TMP/all.json" || fail "--limit 0 failed"
# newest N: the ids of the newest N checkpoints, one per line
newest() {
	python3 - "$TEST_TMP/all.json" "$1" <<'PY'
import json, sys
ids = sorted((c["id"] for c in json.load(open(sys.argv[1]))["checkpoints"]), reverse=True)
n = int(sys.argv[2])
if len(ids) != 25:
    sys.exit("expected 25 checkpoints, --limit 0 listed %d" % len(ids))
print("\n".join(str(i) for i in ids[:n]))
PY
}
# rows FILE: the ids of a text listing, one per line
rows() { awk 'NR > 1 { print $1 }' "$1"; }

say "by default: the newest 20, within 80 columns"
cli checkpoints >"$TEST_TMP/default.txt" || fail "checkpoints failed"
cat "$TEST_TMP/default.txt"
want="$(newest 20)" || fail "$want"
[[ $(rows "$TEST_TMP/default.txt") == "$want" ]] || fail "default listing is not the newest 20"
head -n 1 "$TEST_TMP/default.txt" | grep -qE '^ID +TYPE +STATUS +TRIGGERED +DURATION +SIZE +ACKED +FAILURE$' ||
	fail "unexpected header"
awk 'length($0) > 80 { print "too wide: " $0; bad = 1 } END { exit bad }' "$TEST_TMP/default.txt" ||
	fail "wider than 80 columns"

say "--limit 3: the newest 3; --json --limit 5: 5 records"
cli checkpoints --limit 3 >"$TEST_TMP/three.txt" || fail "--limit 3 failed"
[[ $(rows "$TEST_TMP/three.txt") == "$(newest 3)" ]] || fail "--limit 3 is not the newest 3"
cli --json checkpoints --limit=5 | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)["checkpoints"]]
want = [int(x) for x in sys.argv[1].split()]
assert ids == want, (ids, want)' "$(newest 5)" || fail "--json --limit 5 is wrong"

say "--wide: the date and the FULL column"
cli checkpoints --wide --limit 2 >"$TEST_TMP/wide.txt" || fail "--wide failed"
cat "$TEST_TMP/wide.txt"
head -n 1 "$TEST_TMP/wide.txt" | grep -qE '^ID +TYPE +STATUS +TRIGGERED +DURATION +SIZE +FULL +ACKED +FAILURE$' ||
	fail "--wide has no FULL column"
[[ $(awk 'NR == 2 { print $4 }' "$TEST_TMP/wide.txt") =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T ]] ||
	fail "--wide has no date"

say "a bad --limit, or --limit elsewhere, is a usage error"
expect_exit 2 cli checkpoints --limit ten
[[ $OUT == *"invalid --limit 'ten'"* ]] || fail "unexpected message: $OUT"
expect_exit 2 cli status --limit 3
[[ $OUT == *"--limit and --wide only apply to checkpoints"* ]] || fail "unexpected message: $OUT"
release_sources

say "after the job ended: the catalog read honours --limit as the coordinator did"
expect_exit 0 cli cancel
from_catalog() { cli status 2>&1 | grep -q "coordinator not running; from the catalog"; }
wait_for 60 from_catalog
cli checkpoints --limit 3 >"$TEST_TMP/ended3.txt" || fail "--limit 3 on the ended job failed"
[[ $(rows <(grep -v 'from the catalog' "$TEST_TMP/ended3.txt")) == "$(newest 3)" ]] ||
	fail "--limit 3 on the ended job is not the newest 3: $(cat "$TEST_TMP/ended3.txt")"
cli --json checkpoints --limit 0 2>/dev/null | python3 -c '
import json, sys
ids = sorted((c["id"] for c in json.load(sys.stdin)["checkpoints"]), reverse=True)
want = [int(x) for x in sys.argv[1].split()]
assert ids == want, (ids, want)' "$(newest 25)" || fail "--limit 0 on the ended job does not list all 25"
say "ok"
