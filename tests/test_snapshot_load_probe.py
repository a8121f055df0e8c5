"""A snapshot imported into an empty document has its envelope and oplog checked once: the
shallow-snapshot probe (`_codec.shallow_parts`) reads the oplog's version and hands it to the
state load (`load_snapshot_state(head=...)`), which then neither verifies the envelope
checksum nor walks the oplog's blocks again. The import must refuse exactly what the two
separate walks refused, leaving the document as it was; and the state check's fast paths
(ASCII strings, one-byte tags, integers stepped over, the peer table checked once per peer)
must refuse exactly what the decoder refuses."""
import random
import struct

import pytest

import loro_c
from loro_c import _codec

from test_snapshot_hostile import fix_checksum, sections, sst_blocks
from test_snapshot_state_load import _with_state


def _records(n=30, peers=(1,)):
    d = loro_c.LoroDoc()
    root = d.get_map("m")
    for i in range(n):
        d.peer_id = peers[i % len(peers)]
        c = root.insert_container(f"k{i}", loro_c.LoroMap())
        c.insert("a", i * 1000003)
        c.insert("b", "x")
        d.commit()
    return d


def _separate_walks_refuse(data):
    """Whether the load refuses `data` when nothing is handed over between the probe and
    the state load (each verifies the envelope and walks the oplog itself)."""
    try:
        if _codec.shallow_parts(data) is not None:
            return None
        # (a throwaway document: only whether the state load raises is used)
        _codec.load_snapshot_state(loro_c.LoroDoc(), data)
    except loro_c.LoroError:
        return True
    return False


def _import_refuses(data):
    d = loro_c.LoroDoc()
    before = d.get_map("before")
    try:
        d.import_(data)
    except loro_c.LoroError:
        assert d.get_deep_value() == {"before": {}}
        assert d._history_loaded and d._state_decoded
        before.insert("ok", 1)
        d.commit()
        d._check_invariants()
        return True
    d._check_invariants()
    return False


def test_probe_hands_the_oplog_version_to_the_state_load():
    blob = _records().export(loro_c.ExportMode.Snapshot())
    probe = []
    assert _codec.shallow_parts(blob, probe) is None
    (vv, fr), = probe
    assert vv == _records().oplog_vv.to_dict()
    assert fr == _records().oplog_frontiers
    d = loro_c.LoroDoc()
    d.import_(blob)
    assert not d._state_decoded
    assert d.get_deep_value() == _records().get_deep_value()
    # an updates blob: not a snapshot, the state load is skipped
    probe = []
    upd = _records().export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    assert _codec.shallow_parts(upd, probe) is None and probe == [False]
    e = loro_c.LoroDoc()
    e.import_(upd)
    assert e.get_deep_value() == _records().get_deep_value()


@pytest.mark.parametrize("seed", range(3))
def test_mutated_oplog_blocks_are_refused_as_by_separate_walks(seed):
    """Bytes of the oplog's SSTable blocks (change blocks, the version entries) changed,
    the block and envelope checksums fixed: the import refuses what the two walks refused,
    and leaves the document as it was."""
    rng = random.Random(seed)
    src = _records(n=40, peers=(1, 2, 3))
    blob = src.export(loro_c.ExportMode.Snapshot())
    blocks = sst_blocks(blob, *sections(blob)[0])
    refused = taken = 0
    for attempt in range(120):
        # the last block (the version entries) half of the time
        a, b, flags = blocks[-1] if attempt % 2 else rng.choice(blocks)
        bad = bytearray(blob)
        for _ in range(rng.randint(1, 3)):
            bad[rng.randrange(a, b)] = rng.randrange(256)
        bad[b:b + 4] = struct.pack("<I", _codec.xxh32(bytes(bad[a:b])))
        bad = fix_checksum(bytes(bad))
        ref = _separate_walks_refuse(bad)
        if ref is None:
            continue
        got = _import_refuses(bad)
        if ref:
            assert got, attempt
            refused += 1
        elif not got:
            taken += 1
    assert refused > 10 and taken > 0, (refused, taken)


def test_envelope_and_truncation_are_refused_once_checked():
    blob = _records().export(loro_c.ExportMode.Snapshot())
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 0x40          # the envelope checksum no longer matches
    assert _import_refuses(bytes(bad))
    for cut in (len(blob) - 1, len(blob) // 2, 30):
        assert _import_refuses(blob[:cut])
        assert _import_refuses(fix_checksum(blob[:cut]))


def _child_entry(blob):
    """(entries, index) of the state entry of a child map holding "a" and "b"."""
    entries = _codec._state_section_entries(blob)
    for i, (key, raw) in enumerate(entries):
        if len(key) == 13 and b"\x01a" in raw and b"\x01b" in raw:
            return entries, i
    raise AssertionError("no child map entry")


def _agree(blob, entries, i, raw):
    """The state check and the eager decoder agree on `raw` as entry i, and the import
    refuses it exactly when the decoder does."""
    data = _with_state(blob, entries[:i] + [(entries[i][0], raw)] + entries[i + 1:])
    ok = _codec._state_section_ok(data)
    try:
        _codec.load_snapshot_state(loro_c.LoroDoc(), data, False)
        decodes = True
    except loro_c.LoroError:
        decodes = False
    if ok:
        assert decodes
    assert _import_refuses(data) == (not decodes)
    return ok, decodes


def test_record_values_on_the_fast_paths():
    blob = _records().export(loro_c.ExportMode.Snapshot())
    entries, i = _child_entry(blob)
    raw = entries[i][1]
    assert _agree(blob, entries, i, raw) == (True, True)
    ia = raw.index(b"\x01a") + 2
    assert raw[ia] == 3                 # "a": an i64
    end = ia + 1
    while raw[end] & 0x80:
        end += 1
    end += 1
    for varint, valid in ((b"\x00", True), (b"\x7f", True),
                          (b"\xff" * 9 + b"\x01", True),        # ten bytes, 64 bits
                          (b"\xff" * 9 + b"\x02", False),       # a bit past 64
                          (b"\xff" * 10 + b"\x00", False),      # eleven bytes
                          (b"\x80\x00", True)):                 # overlong, as postcard takes it
        ok, decodes = _agree(blob, entries, i, raw[:ia + 1] + varint + raw[end:])
        assert (ok, decodes) == (valid, valid), varint
    ib = raw.index(b"\x01b") + 2
    assert raw[ib:ib + 3] == b"\x04\x01x"   # "b": a one-byte string
    for s, valid in ((b"\x01y", True), (b"\x02\xc3\xa9", True), (b"\x01\xff", False),
                     (b"\x02\xc0\x80", False), (b"\x03\xed\xa0\x80", False),
                     (b"\x00", True)):
        ok, decodes = _agree(blob, entries, i, raw[:ib + 1] + s + raw[ib + 3:])
        assert ok == decodes == valid, s
    # a key that is not UTF-8, and one that is not ASCII but valid
    for k, valid in ((b"\x01\x80", False), (b"\x02\xc3\xa9", True)):
        ia0 = raw.index(b"\x01a")
        ok, decodes = _agree(blob, entries, i, raw[:ia0] + k + raw[ia0 + 2:])
        assert decodes == valid and ok == valid, k


def test_child_ids_and_peer_tables_on_the_fast_paths():
    src = _records(n=30, peers=(0x1122334455667788, 0x0102030405060799))
    # each child map edited by both peers: its peer table holds two peers
    for i in range(30):
        src.peer_id = 0x0102030405060799 if i % 2 == 0 else 0x1122334455667788
        src.get_map("m").get(f"k{i}").container.insert("b", "y")
        src.commit()
    blob = src.export(loro_c.ExportMode.Snapshot())
    entries = _codec._state_section_entries(blob)
    two = [(i, raw) for i, (key, raw) in enumerate(entries)
           if len(key) == 13 and struct.pack("<Q", 0x1122334455667788) in raw
           and struct.pack("<Q", 0x0102030405060799) in raw]
    assert two
    i, raw = two[0]
    assert _agree(blob, entries, i, raw) == (True, True)
    for peer in (0x1122334455667788, 0x0102030405060799):
        at = raw.index(struct.pack("<Q", peer))
        lying = raw[:at] + struct.pack("<Q", 0x5555) + raw[at + 8:]
        assert _agree(blob, entries, i, lying) == (False, False), hex(peer)
    # the root map's values: child ids, a one-byte variant (normal) or not
    rk = loro_c.ContainerID.Root("m", loro_c.ContainerType.Map()).to_bytes()
    r = next(j for j, (key, _) in enumerate(entries) if key == rk)
    root = entries[r][1]
    at = root.index(b"\x07\x01")
    assert _agree(blob, entries, r, root) == (True, True)
    assert _agree(blob, entries, r, root[:at + 1] + b"\x02" + root[at + 2:]) == (False, False)
    # a child beyond the history: its counter past the version vector
    cut = at + 2
    peer_end = cut
    while root[peer_end] & 0x80:
        peer_end += 1
    peer_end += 1
    ctr_end = peer_end
    while root[ctr_end] & 0x80:
        ctr_end += 1
    ctr_end += 1
    far = root[:peer_end] + b"\xfe\xff\x03" + root[ctr_end:]   # zigzag 32767
    assert _agree(blob, entries, r, far) == (False, False)
