#!/usr/bin/env bash
# checkpoint_flow.sh - checkpoints taken while records flow, periodic and
# from the CLI, are complete and consistent, full or incremental:
#   - every completed checkpoint lists every task with a snapshot handle;
#   - `snapmark trigger --wait` reports the documented line;
#   - each task's snapshot, read from outside with mdb_dump + protoc (or,
#     for the sources, whose snapshots have no keyed state and travel
#     inline in the checkpoint record, from `snapmark show` + protoc),
#     decodes and holds what it should: sources their offsets, and every
#     count task exactly the counts of the records before those offsets
#     whose keys it owns (a consistent cut, computed independently here),
#     also when the snapshot is a delta on a chain of earlier ones;
#   - retention keeps exactly the retained checkpoints and the chain links
#     they build on.
source "$(dirname "$0")/lib.sh"

JOB="$TEST_TMP/flow.ini"
cat >"$JOB" <<'INI'
[job]
name = flow
[checkpoint]
interval_ms = 300
retained = 15
[stage source]
operator = gen
parallelism = 2
records = 24000
rate = 4000
keys = 20000
seed = 11
[stage counter]
operator = count
parallelism = 2
input = source hash
[stage sink]
operator = file
parallelism = 2
input = counter forward
INI

say "start a coordinator and 2 workers"
hold_sources # until the CLI-triggered checkpoint is done
cluster up "$JOB" 2 >/dev/null

completed() {
	cli --json checkpoints | python3 -c '
import json, sys
n = sum(1 for c in json.load(sys.stdin)["checkpoints"]
        if c["status"] == "COMPLETED")
sys.exit(0 if n >= int(sys.argv[1]) else 1)' "$1"
}
say "periodic checkpoints complete while records flow"
wait_for 120 completed 3

say "a checkpoint triggered from the CLI completes and says so"
line="$(cli trigger --wait)"
echo "$line"
[[ $line =~ ^checkpoint\ ([0-9]+)\ completed\ in\ [0-9.]+\ (ms|s)\ \(6\ tasks,\ [0-9.]+\ (B|KiB|MiB)\)$ ]] ||
	fail "unexpected trigger output: $line"
manual="${BASH_REMATCH[1]}"
release_sources

say "every completed checkpoint lists every task"
cli --json checkpoints >"$TEST_TMP/list.json"
python3 - "$TEST_TMP/list.json" "$manual" <<'PY' || fail "checkpoint list is wrong"
import json, sys
recs = json.load(open(sys.argv[1]))["checkpoints"]
ids = [c["id"] for c in recs]
assert ids == sorted(ids, reverse=True), f"not newest first: {ids}"
assert len(set(ids)) == len(ids), f"an id was used twice: {ids}"
done = [c for c in recs if c["status"] == "COMPLETED"]
assert len(done) >= 4, f"only {len(done)} completed"
for c in done:
    assert c["tasks_acked"] == c["tasks_total"] == 6, c
manual = [c for c in recs if c["id"] == int(sys.argv[2])][0]
assert manual.get("manual") is True, manual
print(f"{len(done)} completed checkpoints, ids {ids[-1]}..{ids[0]}")
PY

check_snapshots() {
	local id=$1
	cli --json show "$id" >"$TEST_TMP/show.json"
	python3 - "$TEST_TMP/show.json" "$SRC" <<'PY'
import collections, json, os, subprocess, sys
rec = json.load(open(sys.argv[1]))
tool = os.path.join(sys.argv[2], "tests", "integration", "snapshots.py")
tasks = sorted(rec["tasks"], key=lambda t: t["task"])
assert [t["task"] for t in tasks] == list(range(6)), tasks
def run(*args):
    return subprocess.run([sys.executable, tool, *args], check=True,
                          capture_output=True, text=True).stdout
M64 = (1 << 64) - 1
def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)
def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64
def key_group(k, maxp=128):
    # common/keygroup.c, written again: the hash of the key's 8 bytes
    # big-endian (one little-endian word), then splitmix64, modulo maxp
    M1, M2 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F
    w = int.from_bytes(k.to_bytes(8, "big"), "little")
    h = M2 ^ ((8 * M1) & M64)
    h ^= (rotl((w * M2) & M64, 31) * M1) & M64
    h = (rotl(h, 27) * M1 + 0x52DCE729) & M64
    h ^= h >> 33
    h = (h * M2) & M64
    h ^= h >> 29
    return mix(h) % maxp
def key_of(sub, seq, seed=11, keys=20000):
    stream = mix(seed ^ (((sub + 1) * 0x9E3779B97F4A7C15) & M64))
    return mix((stream + seq) & M64) % keys
offsets = {}
for t in tasks[:2]:
    h = t["handle"]
    assert h["location"] == "inline" and "inline_meta" in h, \
        f"a source's snapshot is not inline: {h}"
    meta = run("inline", h["inline_meta"], str(h["checksum"]))
    f = dict(l.split(": ", 1) for l in meta.splitlines() if ": " in l)
    assert f["task_name"] == f'"{t["task_name"]}"', meta
    offsets[t["task"]] = int(f["source_next_seq"])
assert all(0 < o <= 24000 for o in offsets.values()), offsets
want = [collections.Counter(), collections.Counter()]
for s, off in offsets.items():
    for q in range(off):
        k = key_of(s, q)
        want[key_group(k) * 2 // 128][k] += 1
for sub, t in enumerate(tasks[2:4]):
    got = collections.Counter()
    for line in run("state", t["handle"]["location"], str(rec["id"])).split("\n"):
        if line:
            k, c = line.split()
            got[int(k)] = int(c)
    assert got == want[sub], f"{t['task_name']}: state differs from the cut"
    if not t["handle"].get("incremental"):
        assert t["handle"]["entries"] == len(got), t
kind = "incremental" if tasks[2]["handle"].get("incremental") else "full"
print(f"checkpoint {rec['id']} ({kind}): offsets {offsets}, count state matches the cut")
PY
}
say "the job finishes with exact output"
cluster wait 180 >/dev/null || fail "job did not finish"
python3 "$SRC/tests/integration/expect.py" check "$RUN" "$JOB" ||
	fail "committed output is not exact"

say "two retained checkpoints taken mid-run hold a consistent cut (read once the job"
say "finished, so retention cannot race the reading)"
ids="$(cli --json checkpoints | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)["checkpoints"]
       if c["status"] == "COMPLETED" and not c.get("final")][4:6]
print(" ".join(map(str, ids)))')"
[[ $ids =~ ^[0-9]+\ [0-9]+$ ]] || fail "expected two completed checkpoints, got '$ids'"
for id in $ids; do
	check_snapshots "$id" || fail "snapshot of checkpoint $id is wrong"
done

say "some checkpoints were incremental, and their sizes say so"
cli --json checkpoints >"$TEST_TMP/all.json"
python3 - "$TEST_TMP/all.json" <<'PY' || fail "no incremental checkpoint was taken"
import json, sys
done = [c for c in json.load(open(sys.argv[1]))["checkpoints"]
        if c["status"] == "COMPLETED"]
inc = [c for c in done if c["bytes"] < c.get("full_bytes", 0)]
assert inc, "every checkpoint wrote its full state"
print(f"{len(inc)} of {len(done)} checkpoints wrote less than their full "
      f"state, e.g. {inc[0]['bytes']} of {inc[0]['full_bytes']} bytes")
PY

say "retention keeps the 15 newest checkpoints and the chains they need, nothing else"
cli --json checkpoints | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)["checkpoints"]
       if c["status"] == "COMPLETED"][:15]
print(" ".join(map(str, ids)))' >"$TEST_TMP/retained"
cli --json show "$(cut -d' ' -f1 "$TEST_TMP/retained")" >"$TEST_TMP/newest.json"
for dir in "$RUN"/state/*; do
	python3 - "$SRC" "$dir" "$(cat "$TEST_TMP/retained")" "$TEST_TMP/newest.json" <<'PY' || fail "retention is wrong in $dir"
import json, subprocess, sys
tool = sys.argv[1] + "/tests/integration/snapshots.py"
def run(*a):
    return subprocess.run([sys.executable, tool, *a], check=True,
                          capture_output=True, text=True).stdout
chains = {}
for line in run("chains", sys.argv[2]).splitlines():
    ids = [int(x) for x in line.split()]
    chains[ids[0]] = set(ids[1:])
present = set(chains)
name = sys.argv[2].rsplit("/", 1)[1]
handle = [t["handle"] for t in json.load(open(sys.argv[4]))["tasks"]
          if t["task_name"] == name][0]
if handle["location"] == "inline":
    # Sources and sinks keep no keyed state: their snapshots live in the
    # checkpoint records, and their stores hold none.
    assert not present, f"{name} is inline but its store holds {sorted(present)}"
    print(f"{name}: inline snapshots, none in its store")
    sys.exit(0)
retained = {int(x) for x in sys.argv[3].split()}
need = set()
for r in retained & present:
    need |= {r} | chains[r]
assert retained <= present, f"retained {sorted(retained - present)} missing"
assert present <= need, f"kept unreferenced {sorted(present - need)}"
print(f"{sys.argv[2].rsplit('/', 1)[1]}: {len(present)} snapshots "
      f"({len(need - retained)} chain links)")
PY
done
say "PASS"
