"""Hostile snapshots into an empty document and a non-empty one: truncated, corrupted with the
checksums fixed (envelope and SSTable block), lying section lengths, bad LZ4. Each must raise
a LoroError and leave the document as it was, or (a mutation that happens to be valid) import
into a consistent document."""
import random
import struct

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_export import random_history


def fix_checksum(blob):
    blob = bytearray(blob)
    blob[16:20] = struct.pack("<I", _codec.xxh32(bytes(blob[20:])))
    return bytes(blob)


def sections(blob):
    """(start, end) of the three sections of a mode-3 blob."""
    out, i = [], 22
    for _ in range(3):
        n = struct.unpack_from("<I", blob, i)[0]
        out.append((i + 4, i + 4 + n))
        i += 4 + n
    return out


def sst_blocks(blob, a, b):
    """(start, end, flags) of the stored blocks (checksum excluded) of the SSTable at [a, b)."""
    sst = blob[a:b]
    meta_off = struct.unpack_from("<I", sst, len(sst) - 4)[0]
    count = struct.unpack_from("<I", sst, meta_off)[0]
    i, metas = meta_off + 4, []
    for _ in range(count):
        off, kl = struct.unpack_from("<IH", sst, i)
        i += 6 + kl
        flags = sst[i]
        i += 1
        if not flags & 0x80:
            kl = struct.unpack_from("<H", sst, i)[0]
            i += 2 + kl
        metas.append((off, flags))
    out = []
    for j, (off, flags) in enumerate(metas):
        end = metas[j + 1][0] if j + 1 < len(metas) else meta_off
        out.append((a + off, a + end - 4, flags))
    return out


@pytest.fixture(scope="module")
def snaps():
    src = random_history(3, rounds=20)
    src.get_text("t").insert(0, "compressible " * 200)
    src.commit()
    lsrc = loro.LoroDoc()
    lsrc.import_(src.export(loro_c.ExportMode.Snapshot()))
    return {"loro_c": src.export(loro_c.ExportMode.Snapshot()),
            "loro": lsrc.export(loro.ExportMode.Snapshot())}


def _target(empty):
    d = loro_c.LoroDoc()
    if not empty:
        d.peer_id = 77
        d.get_text("t").insert(0, "mine")
        d.get_map("m").insert("x", 1)
        d.commit()
    return d


def _try(data, empty):
    d = _target(empty)
    before, vv = d.get_deep_value(), d.oplog_vv
    try:
        d.import_(data)
    except loro_c.LoroError:
        assert d.get_deep_value() == before and d.oplog_vv == vv
        # the document still works after the failed import
        d.get_text("t").insert(0, "ok")
        d.commit()
        return False
    d._check_invariants()
    d.get_deep_value()
    return True


def _expect_error(data, empty):
    assert not _try(data, empty)


@pytest.mark.parametrize("empty", [True, False])
@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_truncations_with_checksum_fixed(snaps, who, empty):
    blob = snaps[who]
    step = max(1, len(blob) // 150)
    for n in list(range(22, len(blob), step)) + [len(blob) - 1, len(blob) - 4]:
        _expect_error(fix_checksum(blob[:n]), empty)


@pytest.mark.parametrize("empty", [True, False])
def test_lying_section_lengths(snaps, empty):
    blob = snaps["loro_c"]
    for k, (a, b) in enumerate(sections(blob)):
        at = a - 4
        n = b - a
        for lie in (n + 1, n - 1, n + 1000, 0xFFFFFFFF, 0 if n else 5):
            if lie < 0 or lie == n:
                continue
            bad = bytearray(blob)
            bad[at:at + 4] = struct.pack("<I", lie)
            _expect_error(fix_checksum(bytes(bad)), empty)


@pytest.mark.parametrize("empty", [True, False])
@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_block_corruption_with_block_checksum_fixed(snaps, who, empty):
    blob = snaps[who]
    rng = random.Random(11)
    secs = sections(blob)
    blocks = sst_blocks(blob, *secs[0]) + (sst_blocks(blob, *secs[1]) if secs[1][1] > secs[1][0] else [])
    assert any(flags & 0x7F for _, _, flags in blocks), "expected an LZ4 block"
    for a, b, flags in blocks:
        for _ in range(6):
            bad = bytearray(blob)
            i = rng.randrange(a, b)
            bad[i] ^= rng.choice((0x01, 0x80, 0xFF))
            bad[b:b + 4] = struct.pack("<I", _codec.xxh32(bytes(bad[a:b])))
            _try(fix_checksum(bytes(bad)), empty)


@pytest.mark.parametrize("empty", [True, False])
def test_bad_lz4_frames(snaps, empty):
    blob = snaps["loro_c"]
    secs = sections(blob)
    for a, b, flags in sst_blocks(blob, *secs[0]):
        if not flags & 0x7F:
            continue
        for cut in (7, (b - a) // 2, b - a - 6):
            # a frame cut short inside the stored bytes (block checksum made to match)
            bad = bytearray(blob)
            bad[a + cut:b] = b"\x00" * (b - a - cut)
            if bad == bytearray(blob):
                continue
            bad[b:b + 4] = struct.pack("<I", _codec.xxh32(bytes(bad[a:b])))
            _expect_error(fix_checksum(bytes(bad)), empty)


def test_corrupt_blob_leaves_a_fresh_document_usable(snaps):
    blob = snaps["loro_c"]
    d = loro_c.LoroDoc()
    with pytest.raises(loro_c.LoroError):
        d.import_(fix_checksum(blob[:-9]))
    d.import_(blob)
    ref = loro_c.LoroDoc()
    ref.import_(blob)
    assert d.get_deep_value() == ref.get_deep_value()
