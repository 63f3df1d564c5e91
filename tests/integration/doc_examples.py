#!/usr/bin/env python3
"""doc_examples.py - run the ```console examples of the docs and compare
the shape of their output (not the numbers) with what the docs show.

  doc_examples.py PHASE SNAPMARK RUN FILE...

A ```console block holds "$ command" lines, each followed by the output the
docs show. Commands are `snapmark ...` (run as SNAPMARK --run-dir RUN ...)
and `echo $?` (the previous command's exit status). PHASE picks the blocks:
"live" (a running job), "cancel" (blocks that run `snapmark cancel`) and
"ended" (blocks whose output says the coordinator is not running).

The shape of a line: "key:" for "key: value" lines, the column names of a
table header (a line of upper-case words), "<n>" for a row that starts
with a number, else the first word; "snapmark: ..." lines whole, with
numbers as <n>. A "..." line ends the comparison of that output. The
example matches when every shape the command printed appears in the
docs' output and every table header of the docs appears in what it
printed. Exit 1 with a report on the first mismatch.
"""
import re
import shlex
import subprocess
import sys


def blocks(path):
    out, cur = [], None
    for n, line in enumerate(open(path), 1):
        line = line.rstrip('\n')
        if cur is None and line.strip() == '```console':
            cur = (path, n, [])
        elif cur is not None and line.strip() == '```':
            out.append(cur)
            cur = None
        elif cur is not None:
            cur[2].append(line)
    return out


def steps(lines):
    """[(command, [expected output lines])]"""
    res = []
    for line in lines:
        if line.startswith('$ '):
            res.append((line[2:], []))
        elif res:
            res[-1][1].append(line)
    return res


def phase_of(lines):
    text = '\n'.join(lines)
    if 'coordinator not running' in text:
        return 'ended'
    if re.search(r'^\$ snapmark cancel', text, re.M):
        return 'cancel'
    return 'live'


HEADER = re.compile(r'^[A-Z][A-Z_/]*( +[A-Z][A-Z_/]*)+$')


def shape(line):
    s = line.strip()
    if s.startswith('snapmark:'):
        return re.sub(r'\d+', '<n>', s.split(' (')[0])
    if HEADER.match(s):
        return tuple(s.split())
    m = re.match(r'^([a-z][a-z _]*):( |$)', s)
    if m:
        return m.group(1) + ':'
    first = s.split()[0]
    if re.match(r'^\d', first):
        return '<n>'
    return first


def shapes(lines):
    res = []
    for line in lines:
        if line.strip() == '...':
            break
        if line.strip():
            res.append(shape(line))
    return res


def main():
    phase, snapmark, run = sys.argv[1:4]
    ran, status = 0, 0
    for path in sys.argv[4:]:
        for _, n, lines in blocks(path):
            if phase_of(lines) != phase:
                continue
            for cmd, want in steps(lines):
                words = shlex.split(cmd)
                if words == ['echo', '$?']:
                    got = [str(status)]
                    if [w for w in want if w.strip()] != got:
                        print(f'{path}:{n}: exit status {status}, the '
                              f'docs say {want}')
                        return 1
                    continue
                if not words or words[0] != 'snapmark':
                    print(f'{path}:{n}: not a snapmark command: {cmd}')
                    return 1
                p = subprocess.run([snapmark, '--run-dir', run] + words[1:],
                                   capture_output=True, text=True,
                                   timeout=60)
                status = p.returncode
                text = p.stdout + p.stderr
                got_lines = text.splitlines()
                if any(w.strip() == '...' for w in want):
                    k = [w.strip() for w in want].index('...')
                    got_lines = got_lines[:k]
                got, exp = shapes(got_lines), shapes(want)
                extra = [g for g in got if g not in exp]
                missing = [e for e in exp if isinstance(e, tuple)
                           and e not in got]
                if extra or missing:
                    print(f'{path}:{n}: `{cmd}` no longer matches the docs')
                    print('  printed, not in the docs:', extra)
                    print('  table headers of the docs not printed:',
                          missing)
                    print('--- it printed:\n' + text)
                    return 1
                ran += 1
    print(f'{phase}: {ran} documented commands match')
    return 0 if ran > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
