#!/usr/bin/env bash
# tests/fuzz/run.sh FUZZER SEEDS KIND RUNS - one deterministic libFuzzer run
# of a fuzz target (meson's `fuzz` suite, build-fuzz/ only).
#
# Builds a starting corpus in a temporary directory (examples/*.ini for
# jobfile; fuzz_seeds' frames and inline snapshot for the others), then
# runs RUNS inputs with a fixed seed, so a run is repeatable: the same
# binary finds the same thing. A crash, sanitizer report or leak fails the
# test, and libFuzzer leaves the input that did it in the working
# directory (crash-*, leak-*) to replay with `FUZZER FILE`.
set -euo pipefail
fuzzer=$1 seeds=$2 kind=$3 runs=$4
src="${SNAPMARK_SOURCE_DIR:?}"
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
case $kind in
jobfile) cp "$src"/examples/*.ini "$corpus"/ ;;
frame) "$seeds" "$corpus" "$corpus" && rm -f "$corpus"/inline ;;
snapshot_meta) "$seeds" "$corpus" "$corpus" && rm -f "$corpus"/records* "$corpus"/barrier "$corpus"/watermark ;;
*) echo "run.sh: unknown kind $kind" >&2; exit 2 ;;
esac
# libFuzzer exits 77 on a crash by default, which meson reads as "skipped".
exec "$fuzzer" -runs="$runs" -seed=1 -max_len=4096 -error_exitcode=1 \
	-timeout_exitcode=1 "$corpus"
