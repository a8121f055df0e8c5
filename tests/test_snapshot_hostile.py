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


def mutated_block(rng, blob, a, b):
    """`blob` with one byte of a random stored block of the SSTable at [a, b) flipped, the
    block's and the envelope's checksums fixed (so only the decoding can refuse it)."""
    lo, hi, _flags = rng.choice(sst_blocks(blob, a, b))
    bad = bytearray(blob)
    bad[rng.randrange(lo, hi)] ^= rng.choice((0x01, 0x80, 0xFF))
    bad[hi:hi + 4] = struct.pack("<I", _codec.xxh32(bytes(bad[lo:hi])))
    return fix_checksum(bytes(bad))


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


def _lz4_length(src, i, n):
    """A token's length nibble `n` and its extension bytes (each 255 asks for one more)."""
    if n == 15:
        while True:
            if i >= len(src):
                raise ValueError("truncated")
            b = src[i]
            i += 1
            n += b
            if b != 255:
                break
    return n, i


def _ref_lz4_block(src, out, start):
    """A plain LZ4 block decoder (the format's rules, one byte at a time); raises ValueError."""
    i = 0
    while True:
        if i >= len(src):
            raise ValueError("truncated")
        tok = src[i]
        i += 1
        lit, i = _lz4_length(src, i, tok >> 4)
        if i + lit > len(src):
            raise ValueError("truncated")
        out += src[i:i + lit]
        i += lit
        if i == len(src):
            return
        if i + 2 > len(src):
            raise ValueError("truncated")
        off = src[i] | src[i + 1] << 8
        i += 2
        if off == 0 or off > len(out) - start:
            raise ValueError("offset")
        ml, i = _lz4_length(src, i, tok & 15)
        ml += 4
        for _ in range(ml):
            out.append(out[-off])


def _ref_lz4_frame(frame, limit):
    """Loro's frame profile (independent blocks, no checksums, no size) decoded plainly."""
    assert frame[4] == 0x60
    # block maximum from the descriptor: lz4_flex picks 64 KiB, 256 KiB or 4 MiB by input size
    bmax = 1 << (8 + 2 * ((frame[5] >> 4) & 7))
    i, out = 7, bytearray()
    while True:
        if i + 4 > len(frame):
            raise ValueError("truncated")
        info = struct.unpack_from("<I", frame, i)[0]
        i += 4
        if info == 0:
            break
        size = info & 0x7FFFFFFF
        if size > bmax or i + size > len(frame):
            raise ValueError("size")
        blk = frame[i:i + size]
        i += size
        start = len(out)
        if info & 0x80000000:
            out += blk
        else:
            _ref_lz4_block(blk, out, start)
        if len(out) - start > bmax or len(out) > limit:
            raise ValueError("limit")
    if i != len(frame):
        raise ValueError("trailing")
    return bytes(out)


def test_lz4_decoder_and_walks_agree_on_mutated_frames():
    """The decoder (16-byte copies into spare room), lz4_frame's walk and the snapshot load's
    paired walk accept exactly the frames a plain decoder accepts, with its output: random
    frames of our compressor, bytes flipped, cut or repeated."""
    rng = random.Random(7)
    frames = []
    for n in (1, 20, 300, 5000, 70000):
        for _ in range(3):
            data = bytes(rng.choice(b"abcab\x00xyz") if rng.random() < 0.7 else rng.randrange(256)
                         for _ in range(n))
            frames.append((_codec._lz4_compress_frame(data), data))
    checked = accepted = 0
    for frame, data in frames:
        limit = len(data) + rng.choice((0, 5, 1000))
        assert _codec._lz4_decode(frame, limit, 0) == data
        variants = [frame]
        for _ in range(40):
            bad = bytearray(frame)
            k = rng.randrange(3)
            if k == 0:
                j = rng.randrange(7, len(bad))
                bad[j] ^= rng.choice((1, 0x10, 0x80, 0xFF))
            elif k == 1:
                bad = bad[:rng.randrange(7, len(bad) + 1)] + b"\x00\x00\x00\x00"
            else:
                j = rng.randrange(11, len(bad))
                bad[j:j] = bad[j - 4:j]
            variants.append(bytes(bad))
        for v in variants:
            try:
                want = _ref_lz4_frame(v, limit)
            except ValueError:
                want = None
            except AssertionError:
                continue
            outs = []
            for how in (0, 1, 2):
                try:
                    outs.append(_codec._lz4_decode(v, limit, how))
                except loro_c.LoroError:
                    outs.append("error")
            if want is None:
                assert outs == ["error"] * 3, outs
            else:
                accepted += 1
                assert outs == [want, None, None]
            checked += 1
    assert checked > 500 and accepted > 20
