"""Loro's binary formats: sync between loro_c peers, interop with loro both ways, delivery
faults, snapshots, local-update subscriptions and blob metadata.

``loro`` (the reference package) is the oracle: bytes written by one implementation must
import into the other with the same deep value and the same version vector.

Random multi-peer sessions: ``LORO_C_BIN_SESSIONS`` (default 300) sets how many run.
"""
import os
import random
import struct

import loro
import pytest

import loro_c
from loro_c import ExportMode, LoroDoc, VersionVector
from loro_c import _codec

SESSIONS = int(os.environ.get("LORO_C_BIN_SESSIONS", "300"))
CHUNKS = 10

ALPHABET = list("abcxyz é中\n") + ["😀", "🎉", "𝄞"]
KEYS = ["a", "b", "c", "ké", "😀k"]
# dyadic deltas: float sums are exact, so any application order gives the same value
DELTAS = [1, 2, -3, 0.5, 0.125, 2**30, -7.25, 2**27 - 1, -(2**27)]


def lib_of(doc):
    return loro if isinstance(doc, loro.LoroDoc) else loro_c


def loro_vv(doc):
    """The oplog version of a loro or loro_c doc as a ``loro.VersionVector``."""
    return loro.VersionVector.decode(doc.oplog_vv.encode())


def vv_in(lib, doc):
    """``doc``'s oplog version as a VersionVector of ``lib``."""
    return lib.VersionVector.decode(doc.oplog_vv.encode())


def updates_for(src, dst):
    """What ``src`` has that ``dst`` lacks, exported by ``src``."""
    lib = lib_of(src)
    return src.export(lib.ExportMode.Updates(vv_in(lib, dst)))


def fix_checksum(blob):
    b = bytearray(blob)
    b[16:20] = struct.pack("<I", _codec.xxh32(bytes(b[20:])))
    return bytes(b)


# ---------------------------------------------------------------------------
# random editing (same calls on loro and loro_c docs)
# ---------------------------------------------------------------------------

def scalar(rng):
    return rng.choice([
        None, True, False, rng.randrange(-(2**63), 2**63), rng.choice([0.5, -1.25, 3.0, 1e300]),
        "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(4))), b"\x00\xffbin",
        [1, "x", [None]], {"k": 1, "ké": [2.5, {"deep": b""}]},
    ])


def random_text(rng, n=5):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, n + 1)))


def child_containers(lib, doc):
    # (getting a root container creates it locally, so only look at roots that exist)
    out = []
    roots = doc.get_value()
    if "list" in roots:
        lst = doc.get_list("list")
        for i in range(len(lst)):
            v = lst.get(i)
            if isinstance(v, lib.ValueOrContainer.Container):
                out.append(v.container)
    if "map" in roots:
        m = doc.get_map("map")
        for k in KEYS:
            v = m.get(k)
            if isinstance(v, lib.ValueOrContainer.Container):
                out.append(v.container)
    return out


def new_child(rng, lib):
    return rng.choice([lib.LoroText, lib.LoroMap, lib.LoroList, lib.LoroCounter])()


def edit_text(rng, t):
    n = t.len_unicode
    if n and rng.random() < 0.4:
        p = rng.randrange(n)
        t.delete(p, rng.randrange(1, min(n - p, 4) + 1))
    else:
        t.insert(rng.randrange(n + 1), random_text(rng))


def edit_list(rng, lib, lst, nested=True):
    n = len(lst)
    if n and rng.random() < 0.35:
        p = rng.randrange(n)
        lst.delete(p, rng.randrange(1, min(n - p, 3) + 1))
    elif nested and rng.random() < 0.25:
        lst.insert_container(rng.randrange(n + 1), new_child(rng, lib))
    else:
        lst.insert(rng.randrange(n + 1), scalar(rng))


def edit_map(rng, lib, m, nested=True):
    k = rng.choice(KEYS)
    r = rng.random()
    if r < 0.2:
        m.delete(k)
    elif nested and r < 0.4:
        m.insert_container(k, new_child(rng, lib))
    else:
        m.insert(k, scalar(rng))


def random_edit(rng, doc):
    lib = lib_of(doc)
    r = rng.randrange(9)
    if r < 3:
        edit_text(rng, doc.get_text("text"))
    elif r < 5:
        edit_list(rng, lib, doc.get_list("list"))
    elif r < 7:
        edit_map(rng, lib, doc.get_map("map"))
    elif r < 8:
        doc.get_counter("counter").increment(rng.choice(DELTAS))
    else:
        children = child_containers(lib, doc)
        if not children:
            edit_text(rng, doc.get_text("text"))
            return
        c = rng.choice(children)
        if isinstance(c, lib.LoroText):
            edit_text(rng, c)
        elif isinstance(c, lib.LoroList):
            edit_list(rng, lib, c, nested=False)
        elif isinstance(c, lib.LoroMap):
            edit_map(rng, lib, c, nested=False)
        else:
            c.increment(rng.choice(DELTAS))


def random_commit(rng, doc, edits=(1, 4)):
    for _ in range(rng.randrange(*edits)):
        random_edit(rng, doc)
    if rng.random() < 0.3:
        doc.set_next_commit_message(rng.choice(["m", "msg é😀", ""]))
    if isinstance(doc, loro.LoroDoc) and rng.random() < 0.3:
        doc.set_next_commit_timestamp(rng.choice([1, 1_700_000_000, 2**40, 2**50 + 7]))
    doc.commit()


def make_peer(rng, lib, i):
    d = lib.LoroDoc()
    d.peer_id = rng.choice([i + 1, 2**64 - 2 - i, rng.randrange(2**63) * 2 + i % 2])
    return d


def sync_once(rng, a, b):
    """Send ``a``'s missing updates to ``b`` in one of several ways."""
    la = lib_of(a)
    r = rng.random()
    if r < 0.1:
        blob = a.export(la.ExportMode.Updates(la.VersionVector()))
    elif r < 0.15 and la is loro:
        blob = a.export(loro.ExportMode.Snapshot())
    elif r < 0.2:
        blob = a.export(la.ExportMode.Snapshot())
    else:
        blob = updates_for(a, b)
    b.import_(blob)


def assert_converged(docs):
    values = [d.get_deep_value() for d in docs]
    vvs = [loro_vv(d) for d in docs]
    for i in range(1, len(docs)):
        assert values[i] == values[0], (lib_of(docs[i]).__name__, values[i], values[0])
        assert vvs[i] == vvs[0]


def full_sync(rng, docs):
    for _ in range(2):
        for a in docs:
            for b in docs:
                if a is not b:
                    sync_once(rng, a, b)


def run_session(seed, libs=None, edits=40):
    rng = random.Random(seed)
    n = rng.randrange(2, 5)
    docs = [make_peer(rng, libs[i % len(libs)] if libs else rng.choice([loro, loro_c]), i)
            for i in range(n)]
    for _ in range(edits):
        random_commit(rng, rng.choice(docs))
        if rng.random() < 0.4:
            a, b = rng.sample(docs, 2)
            sync_once(rng, a, b)
    full_sync(rng, docs)
    assert_converged(docs)
    return docs


# ---------------------------------------------------------------------------
# (1) the sync guide
# ---------------------------------------------------------------------------

def test_sync_guide_list():
    doc_a = LoroDoc()
    list_a = doc_a.get_list("list")
    list_a.push("A")
    list_a.push("B")
    list_a.push("C")
    doc_a.commit()

    doc_b = LoroDoc()
    doc_b.import_(doc_a.export(ExportMode.Updates(VersionVector())))
    assert doc_b.get_deep_value() == {"list": ["A", "B", "C"]}

    list_b = doc_b.get_list("list")
    list_b.delete(1, 1)
    doc_b.commit()
    doc_a.import_(doc_b.export(ExportMode.Updates(from_=doc_a.oplog_vv)))
    assert doc_a.get_deep_value() == {"list": ["A", "C"]}
    assert doc_b.get_deep_value() == {"list": ["A", "C"]}
    assert doc_a.oplog_vv == doc_b.oplog_vv


def test_sync_guide_offline_then_realtime():
    doc_a, doc_b = LoroDoc(), LoroDoc()
    doc_a.peer_id, doc_b.peer_id = 1, 2
    # offline edits
    doc_a.get_text("text").insert(0, "Hello from A 😀")
    doc_a.get_map("meta").insert("author", "A")
    doc_a.commit()
    doc_b.get_text("text").insert(0, "B was here. ")
    doc_b.get_list("items").push(1)
    doc_b.commit()
    # exchange version vectors, then the missing updates
    vv_a, vv_b = doc_a.oplog_vv, doc_b.oplog_vv
    for_b = doc_a.export(ExportMode.Updates(vv_b))
    for_a = doc_b.export(ExportMode.Updates(vv_a))
    doc_b.import_(for_b)
    doc_a.import_(for_a)
    assert doc_a.get_deep_value() == doc_b.get_deep_value()
    assert doc_a.oplog_vv == doc_b.oplog_vv

    # realtime: every local commit is shipped to the other doc
    subs = [doc_a.subscribe_local_update(lambda blob: doc_b.import_(blob) and True),
            doc_b.subscribe_local_update(lambda blob: doc_a.import_(blob) and True)]
    rng = random.Random(5)
    for i in range(30):
        d = doc_a if i % 3 else doc_b
        random_commit(rng, d)
        assert doc_a.get_deep_value() == doc_b.get_deep_value()
        assert doc_a.oplog_vv == doc_b.oplog_vv
    for s in subs:
        s.unsubscribe()


def test_sync_with_loro_peer_realtime():
    """A loro_c peer and a loro peer in realtime sync through local-update blobs."""
    c, lo = LoroDoc(), loro.LoroDoc()
    c.peer_id, lo.peer_id = 10, 11
    subs = [c.subscribe_local_update(lambda blob: lo.import_(blob) and True),
            lo.subscribe_local_update(lambda blob: c.import_(blob) and True)]
    rng = random.Random(9)
    for i in range(40):
        random_commit(rng, c if i % 2 else lo)
    assert c.get_deep_value() == lo.get_deep_value()
    assert loro_vv(c) == loro_vv(lo)
    del subs


# ---------------------------------------------------------------------------
# (2) interop
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mixed_sessions(chunk):
    """Mixed groups of loro and loro_c peers sync with each other and converge."""
    for k in range(chunk, SESSIONS, CHUNKS):
        run_session(1000 + k)


@pytest.mark.parametrize("direction", ["loro_to_loro_c", "loro_c_to_loro"])
def test_one_way_interop(direction):
    """A session edited by one implementation, exported whole and imported by the other."""
    src_lib, dst_lib = (loro, loro_c) if direction == "loro_to_loro_c" else (loro_c, loro)
    for seed in range(40):
        docs = run_session(5000 + seed, libs=[src_lib], edits=25)
        src = docs[0]
        dst = dst_lib.LoroDoc()
        dst.import_(src.export(src_lib.ExportMode.Updates(src_lib.VersionVector())))
        assert dst.get_deep_value() == src.get_deep_value()
        assert loro_vv(dst) == loro_vv(src)
        # and back again
        back = src_lib.LoroDoc()
        back.import_(dst.export(dst_lib.ExportMode.Updates(dst_lib.VersionVector())))
        assert back.get_deep_value() == src.get_deep_value()


def test_roundtrip_preserves_change_metadata():
    """Ids, lamports, deps, timestamps and messages survive loro -> loro_c -> loro."""
    lo = loro.LoroDoc()
    lo.peer_id = 3
    other = loro.LoroDoc()
    other.peer_id = 4
    other.get_text("t").insert(0, "other")
    other.commit()
    for i in range(5):
        lo.get_text("t").insert(0, f"{i}😀")
        lo.set_next_commit_message(f"commit {i} é" if i % 2 else "")
        lo.set_next_commit_timestamp(1_700_000_000 + 37 * i * i)
        lo.commit()
        if i == 2:
            lo.import_(other.export(loro.ExportMode.Updates(loro.VersionVector())))
    blob = lo.export(loro.ExportMode.Updates(loro.VersionVector()))
    c = LoroDoc()
    c.import_(blob)
    again = c.export(ExportMode.Updates(VersionVector()))
    back = loro.LoroDoc()
    back.import_(again)
    assert (back.export_json_updates(loro.VersionVector(), back.oplog_vv)
            == lo.export_json_updates(loro.VersionVector(), lo.oplog_vv))


def test_values_and_counter_encodings_roundtrip():
    c = LoroDoc()
    c.peer_id = 1
    m = c.get_map("m")
    values = {"none": None, "t": True, "f": False, "i": -(2**63), "j": 2**63 - 1, "small": -1,
              "f64": 1.5, "neg0": -0.0, "inf": float("inf"), "s": "é😀\x00", "b": b"\x00\x01",
              "l": [1, [2, [3, {"x": None}]]], "d": {"k": {"k2": [b"", ""]}}, "empty": [],
              "emptyd": {}}
    for k, v in values.items():
        m.insert(k, v)
    cnt = c.get_counter("cnt")
    for d in [1, -1, 2**27 - 1, -(2**27 - 1), 2**27, -(2**27), 0.5, 1e300, -2.0**-40, 3]:
        cnt.increment(d)
    c.commit()
    lo = loro.LoroDoc()
    lo.import_(c.export(ExportMode.Updates(VersionVector())))
    assert lo.get_deep_value() == c.get_deep_value()
    assert lo.get_deep_value()["m"] == values
    back = LoroDoc()
    back.import_(lo.export(loro.ExportMode.Updates(loro.VersionVector())))
    assert back.get_deep_value() == c.get_deep_value()


def test_large_changes_are_split_into_blocks():
    """More than 4096 ops in one commit: loro_c splits the change; loro reads it."""
    c = LoroDoc()
    c.peer_id = 8
    t = c.get_text("t")
    m = c.get_map("m")
    for i in range(5000):
        t.insert(0, "x😀"[i % 2])
        if i % 3 == 0:
            m.insert(f"k{i % 50}", i)
    c.commit()
    for _ in range(4500):
        t.delete(0, 1)
    t.insert(0, "z" * 100_000)
    c.commit()
    blob = c.export(ExportMode.Updates(VersionVector()))
    lo = loro.LoroDoc()
    lo.import_(blob)
    assert lo.get_deep_value() == c.get_deep_value()
    assert loro_vv(lo) == loro_vv(c)
    back = LoroDoc()
    back.import_(lo.export(loro.ExportMode.Updates(loro.VersionVector())))
    assert back.get_deep_value() == c.get_deep_value()


def test_empty_updates_blob():
    c = LoroDoc()
    c.get_text("t").insert(0, "x")
    c.commit()
    empty = c.export(ExportMode.Updates(c.oplog_vv))
    assert len(empty) == 22 and empty[:4] == b"loro" and empty[20:22] == b"\x00\x04"
    before = c.get_deep_value()
    c.import_(empty)
    assert c.get_deep_value() == before
    lo = loro.LoroDoc()
    lo.import_(empty)
    assert lo.get_deep_value() == {}
    assert LoroDoc.decode_import_blob_meta(empty, True).change_num == 0


def test_xxhash32_vectors():
    assert _codec.xxh32(b"") == 0xDC3BF95A
    assert _codec.xxh32(b"loro") == 0x74D321EA
    assert _codec.xxh32(bytes(range(16))) == 0x2EDAB25F
    assert _codec.xxh32(b"", 0) == 0x02CC5D05          # standard seed-0 vector
    assert _codec.xxh32(b"a", 0) == 0x550D7456
    # every blob loro writes carries a matching checksum
    lo = loro.LoroDoc()
    lo.get_text("t").insert(0, "checksum " * 20)
    lo.commit()
    for blob in (lo.export(loro.ExportMode.Updates(loro.VersionVector())),
                 lo.export(loro.ExportMode.Snapshot())):
        assert struct.unpack("<I", blob[16:20])[0] == _codec.xxh32(blob[20:])


# ---------------------------------------------------------------------------
# (3) delivery faults
# ---------------------------------------------------------------------------

def commit_blobs(src, rng, n):
    """``n`` commits of ``src``, each exported on its own (what a local-update hook sends)."""
    lib = lib_of(src)
    blobs = []
    while len(blobs) < n:
        before = lib.VersionVector.decode(src.oplog_vv.encode())
        random_commit(rng, src)
        blob = src.export(lib.ExportMode.Updates(before))
        if len(blob) > 22:      # a commit without ops exports an empty blob
            blobs.append(blob)
    return blobs


@pytest.mark.parametrize("src_lib", [loro, loro_c], ids=["from_loro", "from_loro_c"])
def test_reverse_and_duplicate_delivery(src_lib):
    for seed in range(10):
        rng = random.Random(seed)
        src = src_lib.LoroDoc()
        src.peer_id = 77
        blobs = commit_blobs(src, rng, 12)
        dst = LoroDoc()
        statuses = [dst.import_(b) for b in reversed(blobs)]
        assert all(s.pending is not None for s in statuses[:-1])
        assert statuses[-1].pending is None
        assert dst.get_deep_value() == src.get_deep_value()
        # duplicates change nothing
        for b in blobs + blobs[::2]:
            dst.import_(b)
        assert dst.get_deep_value() == src.get_deep_value()
        assert loro_vv(dst) == loro_vv(src)
        # loro agrees on the same delivery
        lo = loro.LoroDoc()
        for b in reversed(blobs):
            lo.import_(b)
        assert lo.get_deep_value() == dst.get_deep_value()


def test_gap_filled_later():
    for seed in range(10):
        rng = random.Random(100 + seed)
        src = LoroDoc()
        src.peer_id = 5
        other = loro.LoroDoc()
        other.peer_id = 6
        blobs = commit_blobs(src, rng, 8)
        other.import_(blobs[0])
        blobs += commit_blobs(other, rng, 4)  # depend on src's first commit
        gap = rng.randrange(1, len(blobs))
        dst = LoroDoc()
        st = None
        for i, b in enumerate(blobs):
            if i != gap:
                st = dst.import_(b)
        missing_before = dst.get_deep_value()
        assert st is not None
        pending_seen = any(dst.import_(b).pending is not None for b in blobs[gap + 1:]) or gap == len(blobs) - 1
        assert pending_seen or dst.get_deep_value() == missing_before
        st = dst.import_(blobs[gap])
        assert st.pending is None
        ref = loro.LoroDoc()
        for b in blobs:
            ref.import_(b)
        assert dst.get_deep_value() == ref.get_deep_value()
        assert loro_vv(dst) == loro_vv(ref)


def test_pending_reported_then_cleared():
    a = LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "one")
    a.commit()
    first = a.export(ExportMode.Updates(VersionVector()))
    v1 = a.oplog_vv
    a.get_text("t").insert(3, " two")
    a.commit()
    second = a.export(ExportMode.Updates(v1))
    b = LoroDoc()
    st = b.import_(second)
    assert st.pending is not None and st.pending.get(1) == (3, 7)
    assert b.get_deep_value() == {} or b.get_deep_value() == {"t": ""}
    st = b.import_(first)
    assert st.pending is None
    assert b.get_deep_value() == {"t": "one two"}


def test_import_batch_mixed_sources():
    rng = random.Random(3)
    lo, c = loro.LoroDoc(), LoroDoc()
    lo.peer_id, c.peer_id = 1, 2
    blobs = commit_blobs(lo, rng, 5) + commit_blobs(c, rng, 5)
    rng.shuffle(blobs)
    dst = LoroDoc()
    dst.import_batch(blobs)
    ref = loro.LoroDoc()
    ref.import_batch(blobs)
    assert dst.get_deep_value() == ref.get_deep_value()
    assert loro_vv(dst) == loro_vv(ref)


# ---------------------------------------------------------------------------
# (4) snapshots
# ---------------------------------------------------------------------------

def rich_loro_doc(seed=1, n=60):
    rng = random.Random(seed)
    lo = loro.LoroDoc()
    lo.peer_id = 42
    other = loro.LoroDoc()
    other.peer_id = 43
    for i in range(n):
        random_commit(rng, lo if i % 4 else other)
        if i % 10 == 9:
            lo.import_(updates_for(other, lo))
            other.import_(updates_for(lo, other))
    lo.import_(updates_for(other, lo))
    return lo


def test_loro_snapshot_imports_as_history():
    lo = rich_loro_doc()
    snap = lo.export(loro.ExportMode.Snapshot())
    c = LoroDoc()
    c.import_(snap)
    assert c.get_deep_value() == lo.get_deep_value()
    assert loro_vv(c) == loro_vv(lo)


def test_large_loro_snapshot_with_compressed_and_large_blocks():
    lo = rich_loro_doc(seed=2, n=150)
    lo.get_text("big").insert(0, "compressible " * 20_000)   # a large SSTable value
    lo.commit()
    lo.get_list("many").insert(0, "x")
    for i in range(3000):
        lo.get_map("keys").insert(f"key-{i}", i)             # many blocks, LZ4 frames
    lo.commit()
    snap = lo.export(loro.ExportMode.Snapshot())
    c = LoroDoc()
    c.import_(snap)
    assert c.get_deep_value() == lo.get_deep_value()
    assert loro_vv(c) == loro_vv(lo)


def test_snapshot_into_non_empty_doc():
    lo = rich_loro_doc(seed=3)
    half = loro.LoroDoc()
    half.import_(lo.export(loro.ExportMode.Updates(loro.VersionVector())))
    c = LoroDoc()
    c.import_(half.export(loro.ExportMode.Snapshot()))
    lo.get_text("text").insert(0, "later")
    lo.commit()
    c.import_(lo.export(loro.ExportMode.Snapshot()))
    assert c.get_deep_value() == lo.get_deep_value()
    assert loro_vv(c) == loro_vv(lo)


def test_loro_c_snapshot_export_imports_into_loro():
    c = LoroDoc()
    c.import_(rich_loro_doc(seed=4).export(loro.ExportMode.Snapshot()))
    lo = loro.LoroDoc()
    lo.import_(c.export(ExportMode.Snapshot()))
    assert lo.get_deep_value() == c.get_deep_value()


def test_shallow_snapshot_loads_as_loro():
    lo = rich_loro_doc(seed=5, n=20)
    shallow = lo.export(loro.ExportMode.ShallowSnapshot(lo.oplog_frontiers))
    c = LoroDoc()
    c.import_(shallow)
    theirs = loro.LoroDoc()
    theirs.import_(shallow)
    assert c.get_deep_value() == theirs.get_deep_value()
    assert c.is_shallow() == theirs.is_shallow()
    m = LoroDoc.decode_import_blob_meta(shallow, True)
    assert m.mode == loro_c.EncodedBlobMode.ShallowSnapshot


# ---------------------------------------------------------------------------
# every container kind is supported now (Tree: tests/test_tree.py); blobs that once were
# refused by name import with loro's value
# ---------------------------------------------------------------------------

def _once_unsupported_blobs():
    # (MovableList, rich-text marks and Tree are supported now: test_movable_list.py,
    # test_richtext.py, test_tree.py)
    def tree(doc):
        doc.get_tree("tree").create()

    def child_tree(doc):
        doc.get_map("m").insert_container("t", loro.LoroTree())

    return [("Tree", tree), ("Tree", child_tree)]


@pytest.mark.parametrize("name,make", _once_unsupported_blobs(), ids=lambda x: x if isinstance(x, str) else "")
def test_once_unsupported_kinds_import_as_loro(name, make):
    lo = loro.LoroDoc()
    lo.peer_id = 9
    make(lo)
    lo.commit()
    for blob in (lo.export(loro.ExportMode.Updates(loro.VersionVector())),
                 lo.export(loro.ExportMode.Snapshot())):
        c = LoroDoc()
        c.get_text("keep").insert(0, "me")
        c.commit()
        c.import_(blob)
        want = dict(lo.get_deep_value(), keep="me")
        assert c.get_deep_value() == want
        # the metadata reader does not need to understand the ops
        ours = LoroDoc.decode_import_blob_meta(blob, True)
        theirs = loro.LoroDoc.decode_import_blob_meta(blob, True)
        assert ours.change_num == theirs.change_num


# ---------------------------------------------------------------------------
# (5) subscribe_local_update
# ---------------------------------------------------------------------------

def test_local_update_holds_exactly_the_commit():
    c = LoroDoc()
    c.peer_id = 3
    blobs = []
    sub = c.subscribe_local_update(lambda b: blobs.append(b) or True)
    c.get_text("t").insert(0, "ab")
    c.commit()
    c.get_text("t").insert(2, "c😀")
    c.get_map("m").insert("k", [1, 2])
    c.commit()
    c.commit()  # nothing to commit: no blob
    assert len(blobs) == 2
    m0 = loro.LoroDoc.decode_import_blob_meta(blobs[0], True)
    m1 = loro.LoroDoc.decode_import_blob_meta(blobs[1], True)
    assert loro_c.VersionVector.decode(m0.partial_end_vv.encode()).to_dict() == {3: 2}
    assert loro_c.VersionVector.decode(m1.partial_start_vv.encode()).to_dict() == {3: 2}
    assert loro_c.VersionVector.decode(m1.partial_end_vv.encode()).to_dict() == {3: 5}
    assert m1.change_num == 1
    assert [(i.peer, i.counter) for i in loro_c.Frontiers.decode(m1.start_frontiers.encode())] == [(3, 1)]
    lo = loro.LoroDoc()
    assert lo.import_(blobs[1]).pending is not None
    lo.import_(blobs[0])
    assert lo.get_deep_value() == c.get_deep_value()
    ours = [_codec.decode_updates(b) for b in blobs]
    assert [len(ch) for ch in ours] == [1, 1]
    assert ours[1][0][1] == 2 and ours[1][0][5] == [(3, 1)]
    assert [op[0] for op in ours[1][0][6]] == [1, 3]
    sub.unsubscribe()


def test_local_update_false_unsubscribes():
    c = LoroDoc()
    calls = []
    # the handles are kept: as in loro, dropping one unsubscribes
    s1 = c.subscribe_local_update(lambda b: calls.append(b) is not None)  # returns False
    keep = []
    s2 = c.subscribe_local_update(lambda b: keep.append(b) or True)
    for i in range(3):
        c.get_text("t").insert(0, str(i))
        c.commit()
    assert len(calls) == 1 and len(keep) == 3


def commit_tolerating(doc):
    """Commit; the failing callback's error is reported as CallbackError but does not undo it."""
    with pytest.raises(loro_c.CallbackError) as info:
        doc.commit()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "callback failed" in str(info.value.__cause__)


def test_local_update_raising_callback_leaves_doc_consistent():
    c = LoroDoc()
    c.peer_id = 4
    got = []

    def bad(blob):
        raise RuntimeError("callback failed")

    subs = [c.subscribe_local_update(bad), c.subscribe_local_update(lambda b: got.append(b) or True)]
    c.get_text("t").insert(0, "hello")
    commit_tolerating(c)
    assert c.get_deep_value() == {"t": "hello"}
    assert c.oplog_vv.to_dict() == {4: 5}
    assert len(got) == 1
    c._check_invariants()
    lo = loro.LoroDoc()
    lo.import_(got[0])
    assert lo.get_deep_value() == {"t": "hello"}
    # the doc keeps working
    c.get_text("t").insert(5, "!")
    commit_tolerating(c)
    lo.import_(got[1])
    assert lo.get_deep_value() == c.get_deep_value() == {"t": "hello!"}
    snap = LoroDoc()
    snap.import_(c.export(ExportMode.Updates(VersionVector())))
    assert snap.get_deep_value() == {"t": "hello!"}


# ---------------------------------------------------------------------------
# (6) decode_import_blob_meta against loro
# ---------------------------------------------------------------------------

def meta_tuple(m):
    return (
        loro_c.VersionVector.decode(m.partial_start_vv.encode()).to_dict(),
        loro_c.VersionVector.decode(m.partial_end_vv.encode()).to_dict(),
        m.start_timestamp,
        sorted((i.peer, i.counter) for i in loro_c.Frontiers.decode(m.start_frontiers.encode())),
        m.end_timestamp,
        m.change_num,
        str(m.mode),
    )


def test_blob_meta_matches_loro():
    compared = 0
    for seed in range(60):
        rng = random.Random(seed)
        docs = [make_peer(rng, rng.choice([loro, loro_c]), i) for i in range(3)]
        blobs = []
        for _ in range(20):
            random_commit(rng, rng.choice(docs))
            if rng.random() < 0.5:
                a, b = rng.sample(docs, 2)
                blobs.append(updates_for(a, b))
                if isinstance(a, loro.LoroDoc) and rng.random() < 0.3:
                    blobs.append(a.export(loro.ExportMode.Snapshot()))
                b.import_(blobs[-1])
        for blob in blobs:
            ours = LoroDoc.decode_import_blob_meta(blob, True)
            assert isinstance(ours, loro_c.ImportBlobMetadata)
            assert meta_tuple(ours) == meta_tuple(loro.LoroDoc.decode_import_blob_meta(blob, True))
            compared += 1
    assert compared > 100


def test_blob_meta_checksum_flag():
    lo = loro.LoroDoc()
    lo.get_text("t").insert(0, "x")
    lo.commit()
    blob = bytearray(lo.export(loro.ExportMode.Updates(loro.VersionVector())))
    blob[17] ^= 0xFF
    with pytest.raises(loro_c.DecodeError, match="checksum"):
        LoroDoc.decode_import_blob_meta(bytes(blob), True)
    m = LoroDoc.decode_import_blob_meta(bytes(blob), False)
    assert m.change_num == 1 and m.mode == loro_c.EncodedBlobMode.Updates
    with pytest.raises(loro_c.DecodeError):
        LoroDoc.decode_import_blob_meta(b"loro" + bytes(16) + b"\x00\x02", False)


def test_encoded_blob_mode_enum():
    E = loro_c.EncodedBlobMode
    assert [m.name for m in E] == [m for m in ("Snapshot", "OutdatedSnapshot", "ShallowSnapshot",
                                                "OutdatedRle", "Updates")]
    assert str(E.Updates) == str(loro.EncodedBlobMode.Updates) == "EncodedBlobMode.Updates"
    assert int(E.Updates) == int(loro.EncodedBlobMode.Updates)
    assert "mode: Updates" in repr(LoroDoc.decode_import_blob_meta(
        LoroDoc().export(ExportMode.Updates(VersionVector())), True))


def test_shallow_and_state_only_snapshot_meta_match_loro():
    for seed in range(4):
        lo = rich_loro_doc(seed=seed, n=30)
        lo.set_next_commit_timestamp(1_234_567)
        lo.get_text("x").insert(0, "a")
        lo.commit()
        for blob in (lo.export(loro.ExportMode.ShallowSnapshot(lo.oplog_frontiers)),
                     lo.export(loro.ExportMode.StateOnly(None)),
                     lo.export(loro.ExportMode.Snapshot())):
            assert (meta_tuple(LoroDoc.decode_import_blob_meta(blob, True))
                    == meta_tuple(loro.LoroDoc.decode_import_blob_meta(blob, True)))


@pytest.mark.parametrize("delta,tail", [
    (3.0, b"\x01\x03"),                                   # I64, sleb 3
    (-(2.0**27 - 1), b"\x04\x81\x80\x80\x40"),            # I64 at the limit
    (2.0**27, b"\x08" + struct.pack(">d", 2.0**27)),      # too large: F64
    (0.5, b"\x08" + struct.pack(">d", 0.5)),              # fractional: F64
    (float("nan"), b"\x08" + struct.pack(">d", float("nan"))),
])
def test_counter_value_tags(delta, tail):
    """Counter deltas use I64 when integral and below 2**27 in magnitude, else F64 (as Loro)."""
    cid = loro_c.ContainerID.Root("c", loro_c.ContainerType.Counter())
    blob = _codec.encode_updates([(1, 0, 0, 0, None, [], [(5, cid, 0, delta)])])
    assert blob.endswith(tail)   # the values section is the block's last field
    got = _codec.decode_updates(blob)[0][6][0][3]
    assert got == delta or (got != got and delta != delta)
