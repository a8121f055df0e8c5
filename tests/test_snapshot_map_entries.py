"""A snapshot's state entry of a child Map is written from the map's C state by the codec
(`_codec.encode_map_entries`), not from Python rows (`encode_state_rows` of
`snapshot_state_rows`, which `_snapshot_uncached` still takes). The two must give the same
bytes for maps holding every kind of value (ints at the i64 limits, floats, strings of any
script, bytes, bools, None, nested lists and maps, child containers), deleted keys, keys
whose UTF-8 order differs from their code-point order, writers from several peers, maps
in maps, in lists, in movable lists and as tree nodes' meta; loro reads the bytes as the
document. Bad plans handed to the codec raise LoroError."""
import math
import random

import loro
import pytest

import loro_c as L
from loro_c import _codec

# keys whose UTF-8 byte order is not their code-point order (U+FF61 against U+10000), an
# empty key, a prefix of another
KEYS = ("a", "ab", "", "b", "é", "z", "\uff61", "\U00010000", "中", "name", "x" * 40)


def _value(rng, depth=0):
    r = rng.random()
    if r < 0.12:
        return rng.choice((0, 1, -1, 2**63 - 1, -(2**63), rng.randint(-10**9, 10**9)))
    if r < 0.22:
        return rng.choice((0.0, -0.0, 1.5, -2.25e300, math.inf, -math.inf, 5e-324,
                           rng.random()))
    if r < 0.36:
        return rng.choice(("", "ascii", "éü", "中文", "😀x", "a\nb", "x" * 300))
    if r < 0.44:
        return rng.choice((b"", b"\x00\xff", bytes(range(40))))
    if r < 0.52:
        return rng.random() < 0.5
    if r < 0.6:
        return None
    if r < 0.72 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if r < 0.84 and depth < 3:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.randint(0, 50)


def _fill(rng, m, pool):
    """Random writes into map `m`: values, deletes, child containers (kept in `pool`)."""
    for _ in range(rng.randint(0, 8)):
        key = rng.choice(KEYS)
        q = rng.random()
        if q < 0.15:
            m.delete(key)
        elif q < 0.3:
            kind = rng.choice((L.LoroMap, L.LoroMap, L.LoroText, L.LoroList, L.LoroCounter,
                               L.LoroMovableList, L.LoroTree))
            child = m.insert_container(key, kind())
            if kind is L.LoroMap:
                pool.append(child)
        else:
            m.insert(key, _value(rng))


def _edit(rng, doc, pool, nodes):
    r = rng.random()
    if r < 0.25 or not pool:
        holder = rng.random()
        if holder < 0.3:
            m = doc.get_map("root").insert_container(rng.choice(KEYS), L.LoroMap())
        elif holder < 0.55:
            lst = doc.get_list("rows")
            m = lst.insert_container(rng.randint(0, len(lst)), L.LoroMap())
        elif holder < 0.7:
            ml = doc.get_movable_list("ml")
            m = ml.insert_container(rng.randint(0, len(ml)), L.LoroMap())
        else:
            tree = doc.get_tree("tree")
            parent = rng.choice(nodes) if nodes and rng.random() < 0.5 else None
            if parent is not None and not tree.contains(parent):
                parent = None       # (deleted by an import)
            node = tree.create(parent)
            nodes.append(node)
            m = tree.get_meta(node)
        pool.append(m)
        _fill(rng, m, pool)
    elif r < 0.8:
        m = rng.choice(pool)
        try:
            _fill(rng, m, pool)
        except L.LoroError:
            pool.remove(m)      # deleted meanwhile (an import overwrote its key)
    elif r < 0.9:
        _fill(rng, doc.get_map("root"), pool)
    elif nodes:
        tree = doc.get_tree("tree")
        node = rng.choice(nodes)
        try:
            if rng.random() < 0.5:
                nodes.remove(node)
                tree.delete(node)
            else:
                tree.mov(node, rng.choice(nodes) if nodes and rng.random() < 0.5 else None)
        except L.LoroError:
            pass        # deleted by an import, or a move into its own subtree


def _peers(seed, steps):
    """Three peers editing and syncing: maps written by several peers, concurrently."""
    rng = random.Random(seed)
    docs = []
    for i in range(3):
        d = L.LoroDoc()
        d.peer_id = 10 + i * 1_000_003
        docs.append(d)
    pools = [[] for _ in docs]
    nodes = [[] for _ in docs]
    for _ in range(steps):
        i = rng.randrange(3)
        if rng.random() < 0.25:
            src = docs[(i + rng.randint(1, 2)) % 3]
            docs[i].import_(src.export(L.ExportMode.Updates(docs[i].oplog_vv)))
            continue
        for _ in range(rng.randint(1, 4)):
            _edit(rng, docs[i], pools[i], nodes[i])
        docs[i].commit()
    return docs


def _check_fresh(doc):
    """The first export (child maps through encode_map_entries) is the row encoder's
    export, byte for byte, and loro reads it as this document."""
    doc.commit()
    first = doc.export(L.ExportMode.Snapshot())
    assert first == doc._snapshot_uncached()
    r = loro.LoroDoc()
    r.import_(first)
    assert r.get_deep_value() == doc.get_deep_value()
    # loaded by loro_c, the snapshot exports what loro's load of it exports: the same
    # bytes again, but for the "vv" entry when the load swapped colliding peers
    # (test_version_map_order)
    back = L.LoroDoc()
    back.import_(first)
    assert back.export(L.ExportMode.Snapshot()) == r.export(loro.ExportMode.Snapshot())
    doc._check_invariants()


@pytest.mark.parametrize("seed", range(12))
def test_child_maps_of_every_value_kind_encode_as_the_rows_do(seed):
    for doc in _peers(seed, 40):
        _check_fresh(doc)


@pytest.mark.parametrize("seed", range(4))
def test_synced_peers_export_the_same_map_entries(seed):
    docs = _peers(100 + seed, 30)
    for d in docs:
        for s in docs:
            d.import_(s.export(L.ExportMode.Updates(d.oplog_vv)))
    for d in docs:
        _check_fresh(d)
    # second exports reuse the kept entries; an edit of one map encodes it again
    for d in docs:
        again = d.export(L.ExportMode.Snapshot())
        assert again == d._snapshot_uncached()
        d.get_map("root").insert_container("late", L.LoroMap()).insert("\uff61", b"\x01")
        d.commit()
        assert d.export(L.ExportMode.Snapshot()) == d._snapshot_uncached()


def test_tree_meta_maps_and_deep_maps():
    doc = L.LoroDoc()
    doc.peer_id = 7
    tree = doc.get_tree("tree")
    rng = random.Random(5)
    nodes = []
    for i in range(200):
        parent = nodes[rng.randrange(len(nodes))] if nodes and rng.random() < 0.3 else None
        node = tree.create(parent)
        nodes.append(node)
        meta = tree.get_meta(node)
        meta.insert("name", i)
        if i % 7 == 0:
            meta.insert("é", {"nested": [1, 2.5, None, b"z"]})
        if i % 11 == 0:
            meta.insert_container("child", L.LoroMap()).insert("deep", "x")
        if i % 13 == 0:
            meta.delete("name")
    m = doc.get_map("root")
    for depth in range(30):
        m = m.insert_container("k", L.LoroMap())
        m.insert("depth", depth)
    for k in nodes[::9]:
        tree.delete(k)
    _check_fresh(doc)


def test_shallow_and_state_only_exports_read_the_same_maps():
    doc = _peers(77, 40)[0]
    doc.commit()
    first = doc.export(L.ExportMode.Snapshot())
    for mode in (L.ExportMode.ShallowSnapshot(doc.oplog_frontiers),
                 L.ExportMode.StateOnly(None)):
        blob = doc.export(mode)
        r = loro.LoroDoc()
        r.import_(blob)
        assert r.get_deep_value() == doc.get_deep_value()
    assert doc.export(L.ExportMode.Snapshot()) == first


def _plan(*triples):
    import struct
    return b"".join(struct.pack("<qqq", *t) for t in triples)


def test_bad_map_plans_raise():
    doc = L.LoroDoc()
    child = doc.get_map("root").insert_container("c", L.LoroMap())
    child.insert("k", 1)
    doc.get_text("t").insert(0, "x")
    doc.commit()
    doc.export(L.ExportMode.Snapshot())
    n = len(doc._snapshot_kept()) + 10
    for plan in (b"\x00" * 23,                       # not whole triples
                 _plan((10_000, 2, -1)),             # no such container
                 _plan((-1, 2, -1)),
                 _plan((0, 2, 10_000)),              # no such parent
                 _plan((0, -1, -1)),                 # a negative depth
                 _plan((0, 2, -5))):
        with pytest.raises(L.LoroError):
            _codec.encode_map_entries(doc, plan)
    # a container that is not a map (the text), whatever its index
    kinds_ok = 0
    for c in range(n):
        try:
            _codec.encode_map_entries(doc, _plan((c, 1, -1)))
            kinds_ok += 1
        except L.LoroError:
            pass
    assert kinds_ok == 2        # the root map and its child; the text and the rest raise
    assert doc.export(L.ExportMode.Snapshot()) == doc._snapshot_uncached()


def test_trees_with_equal_indexes_deleted_nodes_and_no_nodes():
    """The tree writer in C (w_tree_moves) against the row writer: concurrent creates at
    the same place (equal fractional indexes, ranked once), deleted subtrees, moves, an
    empty tree and one whose only node is deleted."""
    a, b = L.LoroDoc(), L.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    for d in (a, b):
        d.get_tree("empty")
        t = d.get_tree("gone")
        t.delete(t.create())
    ta = a.get_tree("tree")
    root = ta.create()
    a.commit()
    b.import_(a.export(L.ExportMode.Snapshot()))
    tb = b.get_tree("tree")
    for i in range(5):
        ka = ta.create_at(0, root)
        kb = tb.create_at(0, root)
        ta.get_meta(ka).insert("i", i)
        if i % 2:
            tb.get_meta(kb).insert("j", [i, {"k": b"v"}])
    sub = ta.create(root)
    for _ in range(3):
        sub = ta.create(sub)
    a.commit()
    b.commit()
    for _ in range(2):
        a.import_(b.export(L.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(L.ExportMode.Updates(b.oplog_vv)))
    kids = ta.children(root)
    ta.mov(kids[0], None)
    ta.delete(kids[-1])
    a.commit()
    _check_fresh(a)
    _check_fresh(b)
