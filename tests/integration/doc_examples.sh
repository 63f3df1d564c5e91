#!/usr/bin/env bash
# doc_examples.sh - the command examples of README.md and docs/CLI.md
# marked ```console run against a live cluster (examples/endless.ini, the
# job the docs' examples come from), then `snapmark cancel`, then against
# the ended job; the test fails when an example's output no longer has
# the shape the docs show (doc_examples.py says how shapes compare).
source "$(dirname "$0")/lib.sh"

DOCS=("$SRC/README.md" "$SRC/docs/CLI.md")
cluster up "$SRC/examples/endless.ini" 2 >/dev/null
say "wait for a few checkpoints (the examples show some)"
wait_for 120 completed_at_least 3
say "a savepoint, as the checkpoints example shows one"
cli savepoint >/dev/null
for phase in live cancel ended; do
	if [[ $phase == ended ]]; then
		all_gone() { ! pgrep -f -- "--run-dir $RUN" >/dev/null; }
		wait_for 60 all_gone
	fi
	python3 "$SRC/tests/integration/doc_examples.py" "$phase" \
		"$B/cli/snapmark" "$RUN" "${DOCS[@]}" ||
		fail "the $phase examples of the docs do not match"
done
say "PASS"
