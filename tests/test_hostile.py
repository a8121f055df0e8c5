"""Hostile binary input.

Truncated, bit-flipped, random and oversized blobs must make ``import_`` raise
``loro_c.LoroError`` (a ``DecodeError``): never a crash, never another exception type, never
a huge allocation. A failed import leaves the (non-empty) document exactly as it was: same
deep value, same oplog version. ``decode_import_blob_meta`` obeys the same rule.

Where a mutation happens to produce a *valid* blob (the body checksum is recomputed, so e.g.
a changed character inside a string is legal), the import may succeed; the document must
then still pass its structural checks.
"""
import contextlib
import os
import random
import struct
import sys

import loro
import pytest
from hypothesis import given, settings, strategies as st

import loro_c
from loro_c import ContainerID, ContainerType, ExportMode, LoroDoc, VersionVector
from loro_c import _codec


# ---------------------------------------------------------------------------
# byte helpers
# ---------------------------------------------------------------------------

def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zz(n):
    return uleb(n << 1 if n >= 0 else ((-n) << 1) - 1)


def sec(b):
    return uleb(len(b)) + b


def read_uleb(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def envelope(mode, body):
    blob = b"loro" + bytes(12) + b"\0\0\0\0" + struct.pack(">H", mode) + body
    return fix_checksum(blob)


def fix_checksum(blob):
    b = bytearray(blob)
    if len(b) >= 20:
        b[16:20] = struct.pack("<I", _codec.xxh32(bytes(b[20:])))
    return bytes(b)


def updates(*blocks):
    return envelope(4, b"".join(sec(b) for b in blocks))


def split_block(block):
    """A change block as 5 ints and 8 byte sections."""
    i, ints, secs = 0, [], []
    for _ in range(5):
        v, i = read_uleb(block, i)
        ints.append(v)
    for _ in range(8):
        n, i = read_uleb(block, i)
        secs.append(block[i:i + n])
        i += n
    assert i == len(block)
    return ints, secs


def join_block(ints, secs):
    return b"".join(uleb(v) for v in ints) + b"".join(sec(s) for s in secs)


def blocks_of(blob):
    """The change blocks of a mode-4 blob, and the body offsets where blocks end."""
    body, i, blocks, ends = blob[22:], 0, [], []
    while i < len(body):
        n, i = read_uleb(body, i)
        blocks.append(body[i:i + n])
        i += n
        ends.append(22 + i)
    return blocks, ends


# examples per random test (LORO_C_THOROUGH=1 for a long run)
EXAMPLES = 20_000 if os.environ.get("LORO_C_THOROUGH", "") not in ("", "0") else 300

SECTIONS = ["header", "change_meta", "cids", "keys", "positions", "ops", "delete_start_ids",
            "values"]


# ---------------------------------------------------------------------------
# fixtures: real blobs and a non-empty target document
# ---------------------------------------------------------------------------

def _edit_session(lib, seed):
    rng = random.Random(seed)
    a, b = lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id = 3, 2**64 - 5
    for i in range(14):
        d = a if i % 3 else b
        r = i % 5
        if r == 0:
            d.get_text("text").insert(0, rng.choice(["hé😀", "ab", "中\n"]))
        elif r == 1:
            t = d.get_text("text")
            if t.len_unicode > 1:
                t.delete(0, 2)
            else:
                t.insert(0, "x")
        elif r == 2:
            lst = d.get_list("list")
            lst.insert(0, rng.choice([1, -2.5, None, "s", b"\x01", [1, {"k": 2}]]))
            if i % 2:
                lst.insert_container(0, lib.LoroMap()).insert("in", 1)
        elif r == 3:
            m = d.get_map("map")
            m.insert(rng.choice(["a", "bé"]), {"n": [i, i * 0.5]})
            m.insert_container("c", lib.LoroText()).insert(0, "child")
            if i % 2:
                m.delete("a")
        else:
            d.get_counter("cnt").increment(rng.choice([1, -0.5, 2**40]))
        if i % 4 == 0:
            d.set_next_commit_message("msg é")
        d.commit()
        if i == 7:
            a.import_(b.export(lib.ExportMode.Updates(lib.VersionVector())))
    a.import_(b.export(lib.ExportMode.Updates(lib.VersionVector())))
    return a


@pytest.fixture(scope="module")
def blobs():
    return make_blobs()


def make_blobs():
    lo = _edit_session(loro, 1)
    c = _edit_session(loro_c, 2)
    local = []
    sub = c.subscribe_local_update(lambda b: local.append(b) or True)
    c.get_text("text").insert(0, "local")
    c.get_map("map").insert("z", [1, 2])
    c.commit()
    sub.unsubscribe()
    big = loro.LoroDoc()
    big.peer_id = 11
    for i in range(400):
        big.get_map("m").insert(f"key-{i}", "value " * (i % 7))
    big.get_text("t").insert(0, "compressible text " * 300)
    big.commit()
    return {
        "loro_updates": lo.export(loro.ExportMode.Updates(loro.VersionVector())),
        "loro_snapshot": lo.export(loro.ExportMode.Snapshot()),
        "loro_c_updates": c.export(ExportMode.Updates(VersionVector())),
        "loro_c_local": local[0],
        "loro_big_snapshot": big.export(loro.ExportMode.Snapshot()),
        "loro_c_snapshot": c.export(ExportMode.Snapshot()),
    }


def make_target():
    d = LoroDoc()
    d.peer_id = 99
    d.get_text("text").insert(0, "target 😀")
    d.get_list("list").insert(0, 7)
    d.get_map("map").insert("a", 1)
    d.commit()
    return d


class Target:
    """A non-empty doc; checks that failed imports leave it untouched."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.doc = make_target()
        self.value = self.doc.get_deep_value()
        self.vv = self.doc.oplog_vv

    def expect_error(self, data, meta_error=False):
        if meta_error:
            with pytest.raises(loro_c.LoroError):
                LoroDoc.decode_import_blob_meta(data, True)
        try:
            with pytest.raises(loro_c.LoroError):
                self.doc.import_(data)
        except BaseException:
            self.reset()    # keep later cases independent of this failure
            raise
        self.check_unchanged()
        self.meta(data)

    @staticmethod
    def meta(data):
        # decode_import_blob_meta reads the envelope and the change headers only (so that it
        # also describes blobs with ops loro_c cannot import): it may succeed on a blob whose
        # op sections are corrupt, but it never raises anything but LoroError
        try:
            m = LoroDoc.decode_import_blob_meta(data, True)
        except loro_c.LoroError:
            return
        assert isinstance(m, loro_c.ImportBlobMetadata)

    def check_unchanged(self):
        assert self.doc.get_deep_value() == self.value
        assert self.doc.oplog_vv == self.vv

    def try_import(self, data):
        """Import must either fail cleanly or succeed with a consistent doc."""
        try:
            self.doc.import_(data)
        except loro_c.LoroError:
            self.check_unchanged()
            ok = False
        else:
            self.doc._check_invariants()
            self.doc.get_deep_value()
            self.reset()
            ok = True
        self.meta(data)
        return ok


@pytest.fixture(scope="module")
def target():
    return Target()


# ---------------------------------------------------------------------------
# truncations
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["loro_updates", "loro_snapshot", "loro_c_updates",
                                  "loro_c_local", "loro_big_snapshot", "loro_c_snapshot"])
def test_every_truncation(blobs, target, name):
    blob = blobs[name]
    target.try_import(blob)   # the whole blob is fine
    ends = set(blocks_of(blob)[1]) if blob[20:22] == b"\x00\x04" else set()
    ends.add(22)              # an empty updates body is valid
    for n in range(len(blob)):
        cut = blob[:n]
        target.expect_error(cut, meta_error=True)   # checksum (or header) no longer matches
        if n >= 20:
            fixed = fix_checksum(cut)
            if n in ends and blob[20:22] == b"\x00\x04":
                assert target.try_import(fixed), n   # a prefix of whole blocks is valid
            else:
                target.expect_error(fixed)


# ---------------------------------------------------------------------------
# byte flips
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["loro_updates", "loro_c_updates", "loro_snapshot",
                                  "loro_c_snapshot"])
def test_every_byte_flipped_with_checksum_recomputed(blobs, target, name):
    blob = blobs[name]
    for i in range(22, len(blob)):
        for x in (0xFF, 0x01):
            b = bytearray(blob)
            b[i] ^= x
            target.try_import(fix_checksum(bytes(b)))


def test_flips_without_checksum_fix_are_rejected(blobs, target):
    blob = blobs["loro_c_updates"]
    for i in range(len(blob)):
        b = bytearray(blob)
        b[i] ^= 0x55
        if 4 <= i < 16:
            # bytes 4..15 are not covered by the checksum (Loro does not read them)
            assert target.try_import(bytes(b))
        else:
            target.expect_error(bytes(b), meta_error=not 4 <= i < 16)


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_random_mutations(blobs, target, data):
    name = data.draw(st.sampled_from(sorted(blobs)), label="blob")
    b = bytearray(blobs[name])
    for _ in range(data.draw(st.integers(1, 4), label="n")):
        kind = data.draw(st.integers(0, 3), label="kind")
        i = data.draw(st.integers(22, len(b) - 1), label="pos")
        if kind == 0:
            b[i] = data.draw(st.integers(0, 255), label="byte")
        elif kind == 1:
            del b[i:i + data.draw(st.integers(1, 16), label="len")]
        elif kind == 2:
            b[i:i] = data.draw(st.binary(min_size=1, max_size=8), label="ins")
        else:
            b[i] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        if len(b) <= 23:
            break
    if data.draw(st.booleans(), label="fix checksum") or bytes(b) == blobs[name]:
        target.try_import(fix_checksum(bytes(b)))
    else:
        target.expect_error(bytes(b))


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_random_section_contents(blobs, target, data):
    """Replace one section of a real change block with random bytes (lengths kept
    consistent), so the section parsers themselves see garbage."""
    name = data.draw(st.sampled_from(["loro_updates", "loro_c_updates", "loro_c_local"]))
    blocks, _ = blocks_of(blobs[name])
    k = data.draw(st.integers(0, len(blocks) - 1), label="block")
    ints, secs = split_block(blocks[k])
    which = data.draw(st.integers(0, 7), label="section")
    orig = secs[which]
    how = data.draw(st.integers(0, 2), label="how")
    if how == 0:
        secs[which] = data.draw(st.binary(max_size=64), label="random")
    elif how == 1 and orig:
        i = data.draw(st.integers(0, len(orig) - 1))
        secs[which] = orig[:i] + bytes([data.draw(st.integers(0, 255))]) + orig[i + 1:]
    else:
        secs[which] = orig[:data.draw(st.integers(0, max(0, len(orig))))]
    if data.draw(st.booleans(), label="mutate ints"):
        ints[data.draw(st.integers(0, 4))] = data.draw(
            st.one_of(st.integers(0, 8), st.integers(0, 2**32 - 1)), label="int")
    blocks[k] = join_block(ints, secs)
    target.try_import(updates(*blocks))


# ---------------------------------------------------------------------------
# random bytes
# ---------------------------------------------------------------------------

@settings(max_examples=EXAMPLES)
@given(body=st.binary(min_size=1, max_size=400), mode=st.sampled_from([4, 4, 4, 3]))
def test_random_body_with_valid_checksum(target, body, mode):
    target.expect_error(envelope(mode, body), meta_error=True)


@settings(max_examples=EXAMPLES)
@given(block=st.binary(min_size=0, max_size=300))
def test_random_block_with_valid_framing(target, block):
    target.expect_error(updates(block))


@given(data=st.binary(max_size=40))
def test_random_short_blobs(target, data):
    target.expect_error(data)
    target.expect_error(b"loro" + data)


def test_bad_envelopes(target, blobs):
    good = blobs["loro_c_updates"]
    for mode in (0, 1, 2, 5, 255, 0x0400, 0xFFFF):
        target.expect_error(envelope(mode, good[22:]))
    target.expect_error(b"LORO" + good[4:])
    target.expect_error(good[:21])
    with pytest.raises(TypeError):
        target.doc.import_(bytearray(good))
    target.check_unchanged()


def test_import_batch_is_all_or_nothing(blobs, target):
    bad = bytearray(blobs["loro_updates"])
    bad[-3] ^= 0xFF
    with pytest.raises(loro_c.LoroError):
        target.doc.import_batch([blobs["loro_c_updates"], bytes(bad)])
    target.check_unchanged()


# ---------------------------------------------------------------------------
# huge declared lengths and counts
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def address_space_limit(extra=512 << 20):
    """Cap the address space so a runaway allocation fails instead of succeeding lazily."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    new = vm + extra
    if hard != resource.RLIM_INFINITY:
        new = min(new, hard)
    resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def base_block():
    """A small valid block from loro_c's encoder: text insert, map set, list insert, delete."""
    t = ContainerID.Root("t", ContainerType.Text())
    m = ContainerID.Root("m", ContainerType.Map())
    lst = ContainerID.Root("l", ContainerType.List())
    blob = _codec.encode_updates([(1, 0, 0, 0, "hi", [], [
        (1, t, 0, 0, "hi"),
        (3, m, 2, "k", [1, {"x": 2}]),
        (1, lst, 3, 0, ["x"]),
        (2, t, 4, 0, 1, 1, 0),
    ])])
    (block,), _ = blocks_of(blob)
    return split_block(block)


def with_section(name, data, ints=None):
    base_ints, secs = base_block()
    secs[SECTIONS.index(name)] = data
    return updates(join_block(ints or base_ints, secs))


BIG = 2**60


def huge_cases():
    ints, secs = base_block()
    header = secs[0]
    peer = header[1:9]
    cases = {
        "block length": envelope(4, uleb(BIG) + b"\x00"),
        "block length u64 max": envelope(4, uleb(2**64 - 1)),
        "counter_len u32 max": updates(join_block([0, 2**32 - 1, 0, 5, 1], secs)),
        "n_changes u32 max": updates(join_block([0, 5, 0, 5, 2**32 - 1], secs)),
        "n_changes > header": updates(join_block([0, 5, 0, 5, 5], secs)),
        "counter overflow": updates(join_block([2**31 - 2, 5, 0, 5, 1], secs)),
        "lamport overflow": updates(join_block([0, 5, 2**32 - 2, 5, 1], secs)),
        "section length": updates(join_block(ints, secs)[:-len(sec(secs[7]))] + uleb(BIG)),
        "peer count": with_section("header", uleb(BIG) + peer),
        "dep count run": with_section("header", uleb(1) + peer + uleb(1) + zz(1) + uleb(BIG)),
        "dep count literal": with_section("header", uleb(1) + peer + uleb(1) + zz(-1) + uleb(2**40)),
        "dep peers run": with_section(
            "header", uleb(1) + peer + uleb(1) + zz(1) + uleb(3) + zz(BIG) + uleb(0)),
        "dod 64-bit overflow": with_section(
            "header", uleb(1) + peer + uleb(1) + zz(1) + uleb(3) + zz(3) + uleb(0)
            + b"\x01" + zz(2**62) + b"\x08" + b"\xff" * 18 + b"\x00\x00"),
        "msg length": with_section("change_meta", b"\x01\x00\x00" + zz(1) + uleb(BIG)),
        "timestamp varint overflow": with_section("change_meta", b"\x01" + b"\xff" * 11 + b"\x01"),
        "cid count": with_section("cids", uleb(BIG)),
        "key length": with_section("keys", uleb(BIG) + b"k"),
        "ops run count": with_section("ops", b"\x01\x04" + sec(zz(BIG) + zz(0)) + sec(b"") * 3),
        "ops literal count": with_section("ops", b"\x01\x04" + sec(zz(-BIG) + zz(0)) + sec(b"") * 3),
        "ops column count": with_section("ops", b"\x01" + uleb(BIG)),
        "ops column length": with_section("ops", b"\x01\x04" + uleb(BIG)),
        "ops field count": with_section("ops", uleb(BIG)),
        "delete rows run": with_section(
            "delete_start_ids", b"\x01\x03" + sec(zz(BIG) + zz(0)) + sec(b"") * 2),
        "positions": with_section("positions", b"\x01\x02" + sec(zz(BIG) + uleb(0)) + sec(uleb(BIG))),
        "string length": with_section("values", uleb(BIG) + b"hi"),
        "list length": with_section("values", b"\x02hi" + b"\x08\x01" + uleb(0) + b"\x07" + uleb(BIG)),
        "map length": with_section("values", b"\x02hi\x08" + uleb(BIG)),
        "deep nesting": with_section("values", b"\x02hi" + b"\x07\x01" * 200_000 + b"\x00"),
        "snapshot section length": envelope(3, struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 8),
        "snapshot trailing": envelope(3, struct.pack("<III", 0, 0, 0) + b"x"),
        "sstable block count": envelope(3, struct.pack("<I", 17) + b"LORO\x00"
                                        + struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 4
                                        + struct.pack("<I", 5) + struct.pack("<II", 0, 0)),
        "sstable meta offset": envelope(3, struct.pack("<I", 13) + b"LORO\x00"
                                        + b"\x00" * 4 + struct.pack("<I", 0xFFFFFFF0)
                                        + struct.pack("<II", 0, 0)),
    }
    return cases


def lz4_snapshot(frame, large=True):
    """A snapshot whose oplog SSTable holds one LZ4-compressed block ``frame``."""
    key = b"vv"
    block = frame + struct.pack("<I", _codec.xxh32(frame))
    metas = struct.pack("<I", 5) + struct.pack("<H", len(key)) + key + bytes([0x81 if large else 0x01])
    if not large:
        metas += struct.pack("<H", len(key)) + key
    meta = struct.pack("<I", 1) + metas + struct.pack("<I", _codec.xxh32(metas))
    sst = b"LORO\x00" + block + meta
    sst += struct.pack("<I", 5 + len(block))
    return envelope(3, struct.pack("<I", len(sst)) + sst + struct.pack("<II", 0, 0))


def lz4_header(flg=0x60, bd=0x40):
    return struct.pack("<I", 0x184D2204) + bytes([flg, bd, (_codec.xxh32(bytes([flg, bd]), 0) >> 8) & 0xFF])


def test_lz4_frame_cases_parse(target):
    # a valid frame holding a raw data block decodes (to a bad "vv" value: still a DecodeError)
    ok = lz4_header() + struct.pack("<I", 0x80000003) + b"abc" + struct.pack("<I", 0)
    target.expect_error(lz4_snapshot(ok))


def lz4_cases():
    h = lz4_header()
    return {
        "lz4 block size": lz4_snapshot(h + struct.pack("<I", 0x7FFFFFFF) + b"\x00" * 8),
        "lz4 match length": lz4_snapshot(
            h + struct.pack("<I", 4 + 1 + 2 + 2000) + b"\x1f" + b"a" + b"\x01\x00"
            + b"\xff" * 2000 + struct.pack("<I", 0), large=False),
        "lz4 literal length": lz4_snapshot(h + struct.pack("<I", 50) + b"\xf0" + b"\xff" * 49
                                           + struct.pack("<I", 0)),
        "lz4 bad offset": lz4_snapshot(h + struct.pack("<I", 4) + b"\x10a\x05\x00" + struct.pack("<I", 0)),
        "lz4 header checksum": lz4_snapshot(h[:-1] + bytes([h[-1] ^ 1]) + struct.pack("<I", 0)),
        "lz4 no end mark": lz4_snapshot(h + struct.pack("<I", 0x80000001) + b"a"),
        "lz4 bad magic": lz4_snapshot(b"\x00" * 7 + struct.pack("<I", 0)),
    }


@pytest.mark.parametrize("case", sorted(huge_cases()) + sorted(lz4_cases()))
def test_huge_declared_lengths(target, case):
    data = huge_cases().get(case) or lz4_cases()[case]
    with address_space_limit():
        target.expect_error(data)


def test_base_block_is_valid(target):
    """The hand-made cases above start from a block that does decode."""
    ints, secs = base_block()
    assert target.try_import(updates(join_block(ints, secs)))


def test_nested_value_depth_limit():
    # nesting loro_c accepts round-trips; deeper nesting is refused, not a crash
    v = None
    for _ in range(400):
        v = [v]
    m = ContainerID.Root("m", ContainerType.Map())
    blob = _codec.encode_updates([(1, 0, 0, 0, None, [], [(3, m, 0, "k", v)])])
    assert _codec.decode_updates(blob)[0][6][0][4] == v
    for _ in range(200):
        v = [v]
    with pytest.raises(loro_c.LoroError):
        _codec.encode_updates([(1, 0, 0, 0, None, [], [(3, m, 0, "k", v)])])


def cheap_ops_block(counter, n_ops, peer=5):
    """A valid block of ``n_ops`` map deletes on one key: every column is one RLE run, so
    the block is a few dozen bytes whatever ``n_ops`` is."""
    header = (uleb(1) + struct.pack("<Q", peer)
              + (uleb(0) + uleb(1) if counter else uleb(1))   # dep_on_self
              + zz(1) + uleb(0)                               # no other deps
              + b"\x00\x00"                                   # dep counters: none
              + b"\x00\x00")                                  # lamports of N-1 = 0 changes
    meta = b"\x01" + zz(0) + b"\x00" + zz(1) + uleb(0)        # timestamp 0, no message
    cids = uleb(1) + uleb(4) + b"\x01\x00" + uleb(0) + zz(0)  # root map named keys[0]
    keys = sec(b"m")
    run = lambda v, raw=False: zz(n_ops) + (bytes([v]) if raw else zz(v))
    ops = (b"\x01\x04" + sec(run(0)) + sec(run(0)) + sec(run(8, raw=True))
           + sec(zz(n_ops) + uleb(1)))
    return join_block([counter, n_ops, counter, n_ops, 1],
                      [header, meta, cids, keys, b"", ops, b"", b""])


def test_cheap_ops_block_is_valid(target):
    assert target.try_import(updates(cheap_ops_block(0, 60_000)))


def test_many_blocks_of_cheap_ops_hit_the_blob_budget(target):
    blocks = [cheap_ops_block(60_000 * i, 60_000) for i in range(100)]  # 6M ops in ~7 KB
    data = updates(*blocks)
    assert len(data) < 10_000
    with address_space_limit():
        target.expect_error(data)
