#!/usr/bin/env python3
"""words.py - a word count computed independently, for the word count jobs
(lines -> tokenize -> hash -> count -> file, format = text).

  words.py corpus DIR MEGABYTES SEED
      writes a text corpus of about MEGABYTES into DIR (8 files): words of
      a Zipf-like vocabulary in mixed case, separated by runs of spaces and
      tabs, some empty and blank lines, a last line without its newline
  words.py check RUN INPUT [--top N]
      counts the words of INPUT (a file, or the regular files of a
      directory whose names do not start with '.', symlinks followed, as
      the lines source reads them): bytes split on ASCII whitespace, ASCII
      letters lowered (tokenize's lowercase = true); compares with the
      "WORD<TAB>COUNT" lines of RUN/output/part-*; prints one verdict line
      (and the top N words); exit 0 iff every word is there once with its
      exact count and nothing else is
"""
import collections
import glob
import os
import random
import sys


def input_files(path):
    if os.path.isfile(path):
        return [path]
    return [os.path.join(path, n) for n in sorted(os.listdir(path))
            if not n.startswith('.')
            and os.path.isfile(os.path.join(path, n))]


def count_words(path):
    """The words of every input file; a file that several names reach
    (symlinks to one file) is read once and counted once per name."""
    want, names = collections.Counter(), collections.Counter()
    for f in input_files(path):
        names[os.path.realpath(f)] += 1
    for f, n in names.items():
        with open(f, 'rb') as fh:
            words = collections.Counter(w.lower() for w in fh.read().split())
        for w, c in words.items():
            want[w] += c * n
    return want


def committed(run):
    got, lines, bad = collections.Counter(), collections.Counter(), []
    for path in sorted(glob.glob(os.path.join(run, 'output', 'part-*'))):
        with open(path, 'rb') as fh:
            for line in fh:
                word, tab, n = line.rstrip(b'\n').partition(b'\t')
                if not tab or not n.isdigit():
                    bad.append(f'{os.path.basename(path)}: {line!r}')
                    continue
                got[word] += int(n)
                lines[word] += 1
    return got, lines, bad


def check(run, inp, top):
    want = count_words(inp)
    got, lines, bad = committed(run)
    dups = [w for w, n in lines.items() if n > 1]
    wrong = [w for w in set(want) | set(got) if want[w] != got[w]]
    ok = not bad and not dups and not wrong
    print(f'{"EXACT" if ok else "WRONG"}: {len(lines)} words committed '
          f'({sum(got.values())} in all), {len(want)} expected '
          f'({sum(want.values())} in all): {len(wrong)} with a wrong count, '
          f'{len(dups)} on more than one line, {len(bad)} bad lines')
    for b in bad[:5]:
        print('  bad line:', b)
    for w in sorted(wrong)[:5]:
        print(f'  {w.decode(errors="replace")!r}: committed {got[w]}, '
              f'expected {want[w]}')
    if top:
        print(f'top {top} words:')
        for w, n in sorted(got.items(), key=lambda x: (-x[1], x[0]))[:top]:
            print(f'  {n:8d}  {w.decode(errors="replace")}')
    return 0 if ok else 1


def corpus(out, megabytes, seed):
    rnd = random.Random(seed)
    syll = ['ka', 'lo', 'mi', 'ne', 'su', 'ta', 'ri', 'vo', 'pe', 'dan',
            'gor', 'ix', 'ul', 'zeb', 'qua']
    vocab = []
    while len(vocab) < 5000:
        w = ''.join(rnd.choice(syll) for _ in range(rnd.randint(1, 4)))
        if rnd.random() < 0.05:
            w += rnd.choice(['.', ',', "'s", '-x', '!', '\u00e9'])
        vocab.append(w)
    # Mixed case: some words capitalized or in capitals.
    vocab += [w.capitalize() for w in vocab[:500]]
    vocab += [w.upper() for w in vocab[:200]]
    weights = [1.0 / (i % 5000 + 1) for i in range(len(vocab))]
    # Separators, the newline among them (lines of ~8 words on average),
    # and blank lines and runs of blanks now and then.
    seps = [' '] * 40 + ['  ', '\t', ' \t ', '\n', '\n', '\n', '\n', '\n',
                        '\n\n', '   \n', '\n \n']
    os.makedirs(out, exist_ok=True)
    per_file = megabytes * (1 << 20) // 8
    for f in range(8):
        n = per_file // 7
        words = rnd.choices(vocab, weights, k=n)
        gaps = rnd.choices(seps, k=n)
        text = ''.join(g + w for g, w in zip(gaps, words))
        # The last line has no newline.
        with open(os.path.join(out, f'text-{f}.txt'), 'w',
                  encoding='utf-8') as fh:
            fh.write(text.rstrip('\n'))


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == 'corpus':
        corpus(a[1], int(a[2]), int(a[3]))
        return 0
    if len(a) in (3, 5) and a[0] == 'check':
        top = int(a[4]) if len(a) == 5 and a[3] == '--top' else 0
        if len(a) == 5 and a[3] != '--top':
            sys.exit(__doc__)
        return check(a[1], a[2], top)
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
