"""The containers parsing a snapshot's change block registers, read from the block's columns
alone (codec/snapshot.pxi block_cids_scan: what an unrecorded import_batch's move to the
latest version numbers) against the full decode into change tuples it replaced: the same
ids, in the same order, for every block of random histories (every container kind, nested
containers, tree creates, moves and deletes, movable list moves and sets, rich text marks,
counters, deletes, many peers exchanging updates)."""

import os
import random

import pytest

import loro_c
from loro_c import _codec

SEEDS = int(os.environ.get("LORO_C_SCAN_SEEDS", "60"))


def _value(rng, depth=0):
    r = rng.random()
    if depth < 2 and r < 0.15:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and r < 0.3:
        return {f"n{i}": _value(rng, depth + 1) for i in range(rng.randint(0, 3))}
    return rng.choice([None, True, False, rng.randint(-10**12, 10**12), rng.random() * 1e6,
                       "s" * rng.randint(0, 40) + "é", b"\x00\xff" * rng.randint(0, 5)])


def _new_child(rng):
    return rng.choice([loro_c.LoroMap, loro_c.LoroList, loro_c.LoroText, loro_c.LoroCounter,
                       loro_c.LoroMovableList, loro_c.LoroTree])()


def _roots(doc):
    return [doc.get_text("t"), doc.get_map("m"), doc.get_list("l"), doc.get_movable_list("ml"),
            doc.get_tree("tr"), doc.get_counter("c")]


def _pool_after_import(doc, child_ids):
    """The roots and every child container some peer created that `doc` now has."""
    pool = _roots(doc)
    for cid in child_ids:
        h = doc.get_container(cid)
        if h is not None:
            pool.append(h)
    return pool


def _edit(rng, doc, pool):
    h = rng.choice(pool)
    if isinstance(h, loro_c.LoroText):
        n = len(h.to_string())
        r = rng.random()
        if n and r < 0.25:
            at = rng.randrange(n)
            h.delete(at, rng.randint(1, min(3, n - at)))
        elif n and r < 0.4:
            at = rng.randrange(n)
            h.mark(at, rng.randint(at + 1, n), "bold", rng.choice([True, 1, "x", None]))
        else:
            h.insert(rng.randint(0, n), rng.choice(["ab", "é", "\U0001F600", "".join(
                rng.choice("abcdefghij") for _ in range(rng.randint(1, 60)))]))
    elif isinstance(h, loro_c.LoroMovableList):
        n = len(h)
        r = rng.random()
        if n > 1 and r < 0.2:
            h.mov(rng.randrange(n), rng.randrange(n))
        elif n and r < 0.35:
            if rng.random() < 0.3:
                pool.append(h.set_container(rng.randrange(n), _new_child(rng)))
            else:
                h.set(rng.randrange(n), _value(rng))
        elif n and r < 0.5:
            h.delete(rng.randrange(n), 1)
        elif rng.random() < 0.3:
            pool.append(h.insert_container(rng.randint(0, n), _new_child(rng)))
        else:
            h.insert(rng.randint(0, n), _value(rng))
    elif isinstance(h, loro_c.LoroList):
        n = len(h)
        r = rng.random()
        if n and r < 0.25:
            h.delete(rng.randrange(n), 1)
        elif r < 0.5:
            pool.append(h.insert_container(rng.randint(0, n), _new_child(rng)))
        else:
            h.insert(rng.randint(0, n), _value(rng))
    elif isinstance(h, loro_c.LoroMap):
        r = rng.random()
        k = f"k{rng.randrange(6)}"
        if r < 0.2:
            h.delete(k)
        elif r < 0.5:
            pool.append(h.insert_container(k, _new_child(rng)))
        else:
            h.insert(k, _value(rng))
    elif isinstance(h, loro_c.LoroCounter):
        h.increment(rng.choice([1, -2, 0.5]))
    elif isinstance(h, loro_c.LoroTree):
        nodes = [n for n in h.nodes() if not h.is_node_deleted(n)]
        r = rng.random()
        if nodes and r < 0.2:
            h.delete(rng.choice(nodes))
        elif len(nodes) > 1 and r < 0.45:
            a, b = rng.sample(nodes, 2)
            try:
                h.mov(a, b)
            except Exception:
                pass
        elif nodes and r < 0.65:
            meta = h.get_meta(rng.choice(nodes))
            meta.insert("v", _value(rng))
            if rng.random() < 0.3:
                pool.append(meta.insert_container("sub", _new_child(rng)))
        else:
            parent = rng.choice(nodes + [None]) if nodes else None
            h.create(parent)


def _history(seed, steps=160):
    rng = random.Random(seed)
    peers = [loro_c.LoroDoc() for _ in range(rng.randint(2, 5))]
    for i, d in enumerate(peers):
        d.peer_id = 1000 + i * 7919 + seed
    pools = [_roots(d) for d in peers]
    child_ids = []
    for step in range(rng.randint(20, steps)):
        k = rng.randrange(len(peers))
        d = peers[k]
        before = len(pools[k])
        try:
            _edit(rng, d, pools[k])
        except loro_c.LoroError:
            pass
        child_ids.extend(h.id for h in pools[k][before:])
        if rng.random() < 0.4:
            d.commit()
        if rng.random() < 0.15:
            o = rng.randrange(len(peers))
            d.commit()
            peers[o].import_(d.export(loro_c.ExportMode.Updates(peers[o].oplog_vv)))
            pools[o] = _pool_after_import(peers[o], child_ids)
    for d in peers:
        d.commit()
    for d in peers[1:]:
        peers[0].import_(d.export(loro_c.ExportMode.Updates(peers[0].oplog_vv)))
    return peers[0]


def _compare(snap, known=None):
    old = _codec.snapshot_blocks_cids(snap, known)
    new = _codec.snapshot_blocks_cids(snap, known, True)
    assert old is not None
    assert new == old
    for (p1, s1, c1), (p2, s2, c2) in zip(old, new):
        # the same ids by equality and by kind, in the same order
        assert [str(c) for c in c1] == [str(c) for c in c2]
    return sum(len(c) for _, _, c in old)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_scan_matches_decode(seed):
    doc = _history(seed)
    snap = doc.export(loro_c.ExportMode.Snapshot())
    assert _compare(snap) > 0
    # with a document's own id objects (what the batch's numbering passes)
    loaded = loro_c.LoroDoc()
    loaded.import_(snap)
    loaded.get_deep_value()
    _compare(snap, loaded)
    _compare(snap, doc)


def test_scan_block_of_children_and_tree_metas():
    doc = loro_c.LoroDoc()
    doc.peer_id = 5
    l = doc.get_list("l")
    for i in range(30):
        l.insert_container(0, loro_c.LoroMap()).insert("x", [i, {"a": i}])
        l.insert(0, [1, [2, {"b": None}]])
    ml = doc.get_movable_list("ml")
    for i in range(5):
        ml.insert_container(0, loro_c.LoroText())
        ml.insert(0, i)
    ml.set_container(0, loro_c.LoroCounter())
    ml.mov(0, 3)
    t = doc.get_tree("tr")
    a = t.create()
    b = t.create(a)
    t.mov(b, None)
    t.delete(a)
    doc.get_map("m").insert_container("c", loro_c.LoroTree()).create()
    doc.get_counter("n").increment(2.5)
    doc.commit()
    snap = doc.export(loro_c.ExportMode.Snapshot())
    assert _compare(snap) > 40


def _long_history(seed):
    """Three peers one after another, each loading the last one's snapshot and committing
    700 random edits, each with 40 random characters more of text: every peer's history
    fills several change blocks."""
    rng = random.Random(seed)
    prev = None
    child_ids = []
    for k in range(3):
        d = loro_c.LoroDoc()
        d.peer_id = 50 + k
        if prev is not None:
            d.import_(prev.export(loro_c.ExportMode.Snapshot()))
        pool = _pool_after_import(d, child_ids)
        for _ in range(700):
            before = len(pool)
            try:
                _edit(rng, d, pool)
            except loro_c.LoroError:
                pass
            child_ids.extend(h.id for h in pool[before:])
            d.get_text("t").insert(0, "".join(rng.choice("abcdefghijklmnop") for _ in range(40)))
            d.commit()
        prev = d
    return prev


@pytest.mark.parametrize("seed", range(3))
def test_scan_matches_decode_long_histories(seed):
    doc = _long_history(seed)
    snap = doc.export(loro_c.ExportMode.Snapshot())
    blocks = _codec.snapshot_blocks_cids(snap, None)
    assert len(blocks) > len({p for p, _, _ in blocks})
    _compare(snap)
    loaded = loro_c.LoroDoc()
    loaded.import_(snap)
    _compare(snap, loaded)



def _meta(m):
    """Every field (vectors decoded with loro_c: zero entries kept)."""
    return (repr(loro_c.VersionVector.decode(m.partial_start_vv.encode())),
            repr(loro_c.VersionVector.decode(m.partial_end_vv.encode())),
            m.start_timestamp, m.end_timestamp, m.change_num, str(m.mode).split(".")[-1],
            repr(loro_c.Frontiers.decode(m.start_frontiers.encode())))


@pytest.mark.parametrize("seed", range(16))
def test_snapshot_blob_meta_reads_headers_as_loro(seed):
    """decode_import_blob_meta of a snapshot reads its change blocks' headers with no
    change tuples (codec/blob.pxi snapshot_oplog_spans): loro's fields, and the change
    count of the full decode."""
    import loro
    rng = random.Random(seed)
    doc = _history(seed) if seed % 4 else _long_history(seed)
    snap = doc.export(loro_c.ExportMode.Snapshot())
    # (recorded timestamps and commit messages on top, on two peers)
    x = loro_c.LoroDoc()
    x.import_(snap)
    x.set_record_timestamp(True)
    y = x.fork()
    for i in range(rng.randint(1, 6)):
        for d in (x, y):
            d.get_text("t").insert(0, "é")
            d.set_next_commit_timestamp(1000 + rng.randint(0, 9) * i)
            if rng.random() < 0.5:
                d.set_next_commit_message("mé" * i)
            d.commit()
    x.import_(y.export(loro_c.ExportMode.Updates(x.oplog_vv)))
    blobs = [snap, x.export(loro_c.ExportMode.Snapshot())]
    if x.len_changes > 2:
        blobs.append(x.export(loro_c.ExportMode.ShallowSnapshot(x.oplog_frontiers)))
    for blob in blobs:
        got = loro_c.LoroDoc.decode_import_blob_meta(blob, True)
        want = loro.LoroDoc.decode_import_blob_meta(blob, True)
        assert _meta(got) == _meta(want)
        if str(got.mode).endswith("Snapshot") and "Shallow" not in str(got.mode):
            assert got.change_num == len(_codec.decode_updates(blob))
