#!/usr/bin/env bash
# lines_window.sh - the built-in SDK operators in a real cluster: `lines`
# over a directory of text files feeds
#   - forward -> a file sink (format = text, path = an absolute DIR) that
#     copies every line; it is slowed down on purpose
#     (SNAPMARK_DEBUG_SINK_DELAY_US) so the job is still running when
#   - hash -> `window_count` (event time: when lines read a line) -> a
#     file sink (format = text, path = a DIR relative to the run dir).
# A worker is SIGKILLed while records flow; the restore rewinds lines to
# its checkpointed file offsets and keeps the open windows, so the copy
# holds every line exactly once and the windows count every line exactly
# once (a Python oracle reads the files).
source "$(dirname "$0")/lib.sh"

TEXT="$TEST_TMP/text"
mkdir -p "$TEXT"
python3 - "$TEXT" <<'PY'
import os, sys
d = sys.argv[1]
for f in range(5):
    with open(os.path.join(d, f'book-{f}.txt'), 'w') as out:
        for i in range(30000 + 5000 * f):
            out.write(f'line {i} of book {f}\n')
        if f == 3:
            out.write('a last line without a newline')
with open(os.path.join(d, '.hidden'), 'w') as out:
    out.write('skipped\n')
PY

JOB="$TEST_TMP/lines_window.ini"
cat >"$JOB" <<INI
[job]
name = lines-window
heartbeat_timeout_ms = 30000
[checkpoint]
interval_ms = 150
[stage text]
operator = lines
parallelism = 2
path = $TEXT
[stage copy]
operator = file
parallelism = 2
input = text forward
format = text
path = $TEST_TMP/copy-out
[stage windows]
operator = window_count
parallelism = 2
input = text hash
size_ms = 50
[stage sink]
operator = file
parallelism = 2
input = windows forward
format = text
path = windows-out
INI

# A slow sink back-pressures the source: the job is still running when a
# worker is killed, however fast the machine.
export SNAPMARK_DEBUG_SINK_DELAY_US=50000
cluster up "$JOB" 2 >/dev/null
unset SNAPMARK_DEBUG_SINK_DELAY_US
wait_for 120 completed_at_least 1
[[ $(cli status | sed -n 's/^state: //p') == RUNNING ]] ||
	fail "job is not RUNNING before the kill (make it carry more data)"

say "SIGKILL worker-2 while lines flow"
cluster kill worker-2 >/dev/null
wait_for 60 state_is RESTARTING
cluster start worker-2 >/dev/null
wait_for 120 state_is RUNNING
status="$(cli status)"
grep -qE '^restarts: 1$' <<<"$status" || fail "restart not counted"
grep -qE '^restored from checkpoint: [0-9]+$' <<<"$status" ||
	fail "status does not say which checkpoint was restored"

cluster wait 300 >/dev/null || fail "job did not finish"
python3 - "$TEXT" "$RUN/windows-out" 50 "$TEST_TMP/copy-out" <<'PY' ||
import collections, glob, os, sys
text, out, size, copy = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = collections.Counter()
for path in sorted(glob.glob(os.path.join(text, '*'))):
    if os.path.basename(path).startswith('.'):
        continue
    data = open(path, 'rb').read()
    lines.update(data[:-1].split(b'\n') if data.endswith(b'\n')
                 else data.split(b'\n'))
want = sum(lines.values())
copied = collections.Counter()
for path in sorted(glob.glob(os.path.join(copy, 'part-*'))):
    for line in open(path, 'rb'):
        copied[line[:-1]] += 1
want_copy = collections.Counter({b'\t' + k: n for k, n in lines.items()})
print(f'{sum(copied.values())} lines copied, {want} expected')
if copied != want_copy:
    print('PROBLEM: the copy differs:',
          list((copied - want_copy).items())[:3], 'extra,',
          list((want_copy - copied).items())[:3], 'missing')
    sys.exit(1)
got, starts, problems = 0, set(), []
for path in sorted(glob.glob(os.path.join(out, 'part-*'))):
    for line in open(path, 'rb'):
        f = line.rstrip(b'\n').split(b'\t')
        if len(f) != 3 or f[0] != b'':
            problems.append(f'{path}: malformed {line!r}')
            continue
        start, count = int(f[1]), int(f[2])
        if start % size or count <= 0 or start in starts:
            problems.append(f'{path}: bad or repeated window {line!r}')
        starts.add(start)
        got += count
print(f'{got} lines counted in {len(starts)} windows, {want} expected')
for p in problems[:10]:
    print('PROBLEM:', p)
sys.exit(0 if got == want and not problems else 1)
PY
	fail "committed output is not exact"
[[ ! -e $RUN/output ]] || [[ -z $(ls -A "$RUN/output") ]] ||
	fail "RUN/output is not empty"
say "PASS"
