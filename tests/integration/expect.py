#!/usr/bin/env python3
"""expect.py - what a job's committed output must be, computed independently.

Reimplements the gen source's record function from its documented
definition (worker/operators/op_gen.c) and compares it with the file sink's
committed part-* files (in RUN/output, or the sink's path = DIR: absolute or
relative to RUN):

  expect.py check RUN JOBFILE   exit 0 iff the committed output is exact;
                                prints one summary line either way
  expect.py count RUN JOBFILE   (at-least-once) exit 0 iff nothing is lost;
                                duplicates are reported, not failed

For a records sink: every (subtask, seq) of every gen stage exactly once,
with the right key and value. For a counts sink: every key once, with the
count of records that carry it. For a job with a `sessionize` stage (the
example plugin, examples/plugins/sessionize.c, key_format = hex) and a
text sink: every session of every key exactly once, the sessions computed
the plain way from gen's records (event time = seq ms): a key's event
times sorted and split where the next is gap_ms or more later, each
session "KEY<TAB>START<TAB>LAST+gap_ms<TAB>COUNT", KEY the 8-byte
big-endian key in hex.
"""
import collections
import glob
import os
import sys

M64 = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def gen_record(seed, keys, subtask, seq):
    stream = mix(seed ^ (((subtask + 1) * 0x9E3779B97F4A7C15) & M64))
    r = mix((stream + seq) & M64)
    return r % keys, r >> 40


def read_job(path):
    """Minimal reader of the job file: sections and key = value lines."""
    stages, section = {}, None
    for raw in open(path):
        line = raw.split(';')[0].strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('['):
            name = line.strip('[]').split()
            section = name[1] if name[0] == 'stage' else None
            if section:
                stages[section] = {'input': []}
            continue
        if section and '=' in line:
            k, v = (x.strip() for x in line.split('=', 1))
            if k == 'input':
                stages[section]['input'].append(v.split()[0])
            else:
                stages[section][k] = v
    return stages


def gen_stages(stages):
    for name, st in stages.items():
        if st.get('operator') == 'gen':
            yield (name, int(st.get('parallelism', 1)),
                   int(st.get('records', 0)), int(st.get('keys', 1000)),
                   int(st.get('seed', 1)))


def sink_format(stages):
    for st in stages.values():
        if st.get('operator') == 'file':
            if 'format' in st:
                return st['format']
            up = stages[st['input'][0]]
            return 'counts' if up.get('operator') == 'count' else 'records'
    sys.exit('expect.py: the job has no file sink')


def sink_dir(run, stages):
    for st in stages.values():
        if st.get('operator') == 'file':
            return os.path.join(run, st.get('path', 'output'))
    sys.exit('expect.py: the job has no file sink')


def committed_lines(run, stages):
    out = sink_dir(run, stages)
    for path in sorted(glob.glob(os.path.join(out, 'part-*'))):
        with open(path) as f:
            for line in f:
                yield path, line.split()


def sessionize_stage(stages):
    for st in stages.values():
        if st.get('operator') == 'sessionize':
            return st
    return None


def expected_sessions(gens, gap):
    """Multiset of (hexkey, start, end, count) of every gen record."""
    times = collections.defaultdict(list)
    for _, par, records, keys, seed in gens:
        for s in range(par):
            for q in range(records):
                times[gen_record(seed, keys, s, q)[0]].append(q)
    want = collections.Counter()
    for key, ts in times.items():
        ts.sort()
        start = prev = ts[0]
        n = 0
        for t in ts:
            if t - prev >= gap:
                want[('%016x' % key, start, prev + gap, n)] += 1
                start, n = t, 0
            prev = t
            n += 1
        want[('%016x' % key, start, prev + gap, n)] += 1
    return want


def check_sessions(run, stages, gens, sess):
    if sess.get('key_format') != 'hex':
        sys.exit('expect.py: sessionize needs key_format = hex here')
    want = expected_sessions(gens, int(sess['gap_ms']))
    got = collections.Counter()
    problems = []
    for path, f in committed_lines(run, stages):
        if len(f) != 4:
            problems.append(f'{path}: not KEY START END COUNT: {f}')
            continue
        got[(f[0], int(f[1]), int(f[2]), int(f[3]))] += 1
    missing = want - got
    extra = got - want
    dups = sum(n - 1 for n in got.values() if n > 1)
    summary = (f'{sum(got.values())} sessions committed, '
               f'{sum(want.values())} expected: {sum(missing.values())} '
               f'missing, {sum(extra.values())} unexpected '
               f'({dups} duplicated)')
    if missing or extra:
        problems.append(summary)
        for k in list(missing)[:3]:
            problems.append(f'missing {k}')
        for k in list(extra)[:3]:
            problems.append(f'unexpected {k}')
    print(summary)
    for p in problems[:10]:
        print('PROBLEM:', p)
    return 1 if problems else 0


def check(run, job, allow_duplicates):
    stages = read_job(job)
    fmt = sink_format(stages)
    gens = list(gen_stages(stages))
    sess = sessionize_stage(stages)
    if sess is not None:
        return check_sessions(run, stages, gens, sess)
    if len(gens) != 1 and fmt == 'records':
        sys.exit('expect.py: records check supports one gen stage')
    problems, dups = [], 0
    if fmt == 'records':
        _, par, records, keys, seed = gens[0]
        seen = collections.Counter()
        for path, f in committed_lines(run, stages):
            sub, seq, key, val = (int(x) for x in f)
            if (key, val) != gen_record(seed, keys, sub, seq):
                problems.append(f'{path}: wrong record {f}')
            seen[(sub, seq)] += 1
        missing = sum(1 for s in range(par) for q in range(records)
                      if seen[(s, q)] == 0)
        dups = sum(n - 1 for n in seen.values() if n > 1)
        extra = sum(1 for (s, q) in seen
                    if s >= par or q >= records)
        total = par * records
        summary = (f'{sum(seen.values())} records committed, {total} '
                   f'expected: {missing} missing, {dups} duplicated, '
                   f'{extra} unknown')
        if missing or extra:
            problems.append(summary)
    else:
        want = collections.Counter()
        for _, par, records, keys, seed in gens:
            for s in range(par):
                for q in range(records):
                    want[gen_record(seed, keys, s, q)[0]] += 1
        got, seen_keys = collections.Counter(), collections.Counter()
        for path, f in committed_lines(run, stages):
            got[int(f[0])] += int(f[1])
            seen_keys[int(f[0])] += 1
        dups = sum(n - 1 for n in seen_keys.values() if n > 1)
        wrong = [k for k in set(want) | set(got) if want[k] != got[k]]
        summary = (f'{len(seen_keys)} keys committed, {len(want)} expected:'
                   f' {len(wrong)} with a wrong count, {dups} duplicated')
        if wrong and not allow_duplicates:
            problems.append(summary + f'; e.g. key {wrong[0]}: '
                            f'{got[wrong[0]]} != {want[wrong[0]]}')
        if allow_duplicates and any(got[k] < want[k] for k in want):
            problems.append(summary + ': counts were lost')
    if dups and not allow_duplicates:
        problems.append(f'{dups} duplicated lines')
    print(summary)
    for p in problems[:10]:
        print('PROBLEM:', p)
    return 1 if problems else 0


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ('check', 'count'):
        sys.exit('usage: expect.py check|count RUN JOBFILE')
    sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[1] == 'count'))


if __name__ == '__main__':
    main()
