#!/usr/bin/env python3
"""snapshots.py - read a task's snapshots from outside, with the external
tools only: `mdb_dump` lists the LMDB environment, `protoc --decode` decodes
each value against proto/snapmark.proto. Used by the integration tests to
check what a checkpoint really holds.

  snapshots.py meta LOCATION ID      the SnapshotMeta of checkpoint ID as
                                     protoc's text format
  snapshots.py state LOCATION ID     "KEY COUNT" per entry of the count
                                     operator's state (8-byte big-endian
                                     key, 8-byte little-endian count),
                                     key order
  snapshots.py ids LOCATION          the checkpoint ids present
  snapshots.py chains LOCATION       per snapshot: "ID CHAIN-IDS..."
  snapshots.py inline HEX CHECKSUM   an inline snapshot (the handle's
                                     inline_meta, as `snapmark --json show`
                                     prints it) checked against the handle's
                                     CRC-32C, then decoded as `meta` does
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


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7


COUNT_STATE = 0xFFFFFF01  # SM_STATE_COUNT, common/state.h


def state_entry(value):
    """Decode a StateEntry (state=4, key=5 bytes, key_group=6, value=7
    bytes, deleted=8) by hand: protoc per entry would be far too slow for
    large states. The first entry of every snapshot is cross-checked
    against protoc."""
    i, out = 0, {'deleted': False, 'value': b''}
    while i < len(value):
        tag, i = varint(value, i)
        field, wire = tag >> 3, tag & 7
        if wire == 2:
            n, i = varint(value, i)
            v, i = value[i:i + n], i + n
        else:
            v, i = varint(value, i)
        if field == 4:
            out['state'] = v
        elif field == 5:
            out['key'] = v
        elif field == 6:
            out['key_group'] = v
        elif field == 7:
            out['value'] = v
        elif field == 8:
            out['deleted'] = bool(v)
    return out


def crc32c(data):
    """CRC-32C (Castagnoli, reflected 0x82F63B78), bit by bit: an
    implementation independent of common/checksum.c."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


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
    if cmd == 'inline':
        meta = bytes.fromhex(location)
        if crc32c(meta) != int(sys.argv[3]):
            sys.exit('inline snapshot: CRC-32C %d, handle says %s'
                     % (crc32c(meta), sys.argv[3]))
        print(decode('SnapshotMeta', meta), end='')
        return
    pairs = dump(location)
    if cmd == 'ids':
        for k, _ in pairs:
            if k[:1] == b'm':
                print(int.from_bytes(k[1:9], 'big'))
        return
    if cmd == 'chains':
        for k, v in pairs:
            if k[:1] == b'm':
                chain = fields(decode('SnapshotMeta', v)).get('chain', [])
                print(int.from_bytes(k[1:9], 'big'), *chain)
        return
    cid = int(sys.argv[3]).to_bytes(8, 'big')
    if cmd == 'meta':
        for k, v in pairs:
            if k == b'm' + cid:
                print(decode('SnapshotMeta', v), end='')
                return
        sys.exit(f'no snapshot {sys.argv[3]} in {location}')
    if cmd == 'state':
        # A delta builds on the chain its meta lists: apply base first.
        metas = {k[1:9]: v for k, v in pairs if k[:1] == b'm'}
        if cid not in metas:
            sys.exit(f'no snapshot {sys.argv[3]} in {location}')
        chain = fields(decode('SnapshotMeta', metas[cid])).get('chain', [])
        state, first = {}, True
        for link in [int(x).to_bytes(8, 'big') for x in chain] + [cid]:
            for k, v in pairs:
                if k[:9] != b's' + link:
                    continue
                e = state_entry(v)
                if first:
                    f = fields(decode('StateEntry', v))
                    assert int(f['state'][0]) == e['state'], (f, e)
                    assert int(f['key_group'][0]) == e['key_group'], (f, e)
                    first = False
                if e['state'] != COUNT_STATE or len(e['key']) != 8:
                    continue
                key = int.from_bytes(e['key'], 'big')
                if e['deleted']:
                    state.pop(key, None)
                else:
                    state[key] = int.from_bytes(e['value'], 'little',
                                                signed=True)
        for key in sorted(state):
            print(key, state[key])
        return
    sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main()
