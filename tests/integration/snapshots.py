#!/usr/bin/env python3
"""snapshots.py - read a task's snapshots from outside, with the external
tools only: `mdb_dump` lists the LMDB environment, `protoc --decode` decodes
each value against proto/snapmark.proto. Used by the integration tests to
check what a checkpoint really holds.

  snapshots.py meta LOCATION ID      the SnapshotMeta of checkpoint ID as
                                     protoc's text format
  snapshots.py state LOCATION ID     "KEY COUNT" per state entry, key order
  snapshots.py ids LOCATION          the checkpoint ids present
"""
import os
import subprocess
import sys

SRC = os.environ.get('SNAPMARK_SOURCE_DIR',
                     os.path.join(os.path.dirname(__file__), '..', '..'))


def dump(location):
    """All (key, value) pairs of the environment, as bytes."""
    out = subprocess.run(['mdb_dump', location], check=True,
                         capture_output=True, text=True).stdout
    lines = out.split('HEADER=END\n', 1)[1].splitlines()
    data = [bytes.fromhex(ln.strip()) for ln in lines if ln.startswith(' ')]
    return list(zip(data[0::2], data[1::2]))


def decode(msg_type, value):
    """protoc's text rendering of one value."""
    return subprocess.run(
        ['protoc', f'--decode=snapmark.{msg_type}',
         f'--proto_path={os.path.join(SRC, "proto")}', 'snapmark.proto'],
        input=value, check=True, capture_output=True).stdout.decode()


def fields(text):
    """Scalar fields of a text-format message: name -> [values]."""
    out = {}
    for line in text.splitlines():
        if ':' in line:
            k, v = line.split(':', 1)
            out.setdefault(k.strip(), []).append(v.strip().strip('"'))
    return out


def main():
    cmd, location = sys.argv[1], sys.argv[2]
    pairs = dump(location)
    if cmd == 'ids':
        for k, _ in pairs:
            if k[:1] == b'm':
                print(int.from_bytes(k[1:9], 'big'))
        return
    cid = int(sys.argv[3]).to_bytes(8, 'big')
    if cmd == 'meta':
        for k, v in pairs:
            if k == b'm' + cid:
                print(decode('SnapshotMeta', v), end='')
                return
        sys.exit(f'no snapshot {sys.argv[3]} in {location}')
    if cmd == 'state':
        values = [v for k, v in pairs if k[:9] == b's' + cid]
        if values:
            # One protoc call for all: decode a concatenation as repeated
            # messages is not possible, so decode each (small jobs only).
            for v in values:
                f = fields(decode('StateEntry', v))
                print(f['key'][0], f['count'][0])
        return
    sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main()
