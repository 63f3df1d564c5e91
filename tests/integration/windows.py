#!/usr/bin/env python3
"""windows.py - the committed output of a gen -> keyed_sum -> file job,
computed independently (sdk_keyed.sh, sdk_failure.sh).

keyed_sum (tests/plugins/keyed_sum.c) sums gen's record values per key in
tumbling windows of 1000 ms of event time (a gen record's event time is
its seq) and emits, per (key, window), the line "KEY<TAB>END SUM RECORDS"
(format = text), END the window's end. gen's function is the one
worker/operators/op_gen.c defines (tests/integration/expect.py has it).

  windows.py check RUN JOBFILE [RUN...]
                                 exit 0 iff the committed output (of every
                                 RUN: a job stopped with a savepoint and
                                 restored from it) is exactly that: every
                                 line once, nothing else
  windows.py value JOBFILE SEQ   the value of gen subtask 0's record SEQ
"""
import collections
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expect import gen_record, gen_stages, read_job  # noqa: E402

WINDOW_MS = 1000


def expected(stages):
    out = collections.Counter()
    sums = collections.defaultdict(lambda: [0, 0])
    for _name, par, records, keys, seed in gen_stages(stages):
        for sub in range(par):
            for seq in range(records):
                key, value = gen_record(seed, keys, sub, seq)
                w = sums[(key, (seq // WINDOW_MS + 1) * WINDOW_MS)]
                w[0] += value
                w[1] += 1
    for (key, end), (s, n) in sums.items():
        out['%d\t%d %d %d' % (key, end, s, n)] += 1
    return out


def committed(run):
    got = collections.Counter()
    for path in sorted(glob.glob(os.path.join(run, 'output', 'part-*'))):
        with open(path) as f:
            for line in f:
                got[line.rstrip('\n')] += 1
    return got


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'value':
        stages = read_job(sys.argv[2])
        _name, _par, _records, keys, seed = next(gen_stages(stages))
        print(gen_record(seed, keys, 0, int(sys.argv[3]))[1])
        return 0
    if len(sys.argv) < 4 or sys.argv[1] != 'check':
        sys.exit(__doc__)
    want = expected(read_job(sys.argv[3]))
    got = collections.Counter()
    for run in [sys.argv[2]] + sys.argv[4:]:
        got += committed(run)
    missing = want - got
    extra = got - want
    print('windows.py: %d lines expected, %d committed, %d missing, '
          '%d unexpected or duplicated' %
          (sum(want.values()), sum(got.values()), sum(missing.values()),
           sum(extra.values())))
    for line in list(missing)[:5]:
        print('  missing: %r' % line)
    for line in list(extra)[:5]:
        print('  unexpected: %r' % line)
    return 0 if not missing and not extra else 1


if __name__ == '__main__':
    sys.exit(main())
