"""LoroTree worked examples against loro 1.17.1: the local API (values, sibling order with
fractional indexes, meta maps, deleted nodes, cycles), refused ops (a LoroError, the
document unchanged), and both codecs across the two libraries."""
import loro
import pytest

import loro_c
from loro_c import _codec


def _both(script):
    """Run `script(mod, doc, tree)` in loro and loro_c with peer 1; returns both docs."""
    out = []
    for mod in (loro, loro_c):
        d = mod.LoroDoc()
        d.peer_id = 1
        script(mod, d, d.get_tree("t"))
        d.commit()
        out.append(d)
    return out


def _changes(blob):
    return sorted((ch[:5] + (sorted(ch[5]),) + ch[6:] for ch in _codec.decode_updates(blob)),
                  key=lambda ch: (ch[0], ch[1]))


def _same(a, b):
    """The same value, and the same changes in both codecs."""
    assert b.get_deep_value() == a.get_deep_value()
    ours = b.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    theirs = a.export(loro.ExportMode.Updates(loro.VersionVector()))
    assert _changes(ours) == _changes(theirs)
    via_json = loro_c.LoroDoc()
    via_json.get_tree("t")
    via_json.import_json_updates(a.export_json_updates(loro.VersionVector(), a.oplog_vv))
    assert via_json.get_deep_value() == a.get_deep_value()
    back = loro.LoroDoc()
    back.get_tree("t")
    back.import_json_updates(b.export_json_updates(loro_c.VersionVector(), b.oplog_vv))
    assert back.get_deep_value() == a.get_deep_value()


def test_create_move_delete_as_loro():
    def script(mod, d, t):
        a = t.create()
        b = t.create()
        c = t.create(a)
        e = t.create(a)
        t.get_meta(a).insert("color", "red")
        t.mov(c, a)                  # already a child: to the end, one op
        t.mov_to(c, 1, a)            # already there: no op
        t.mov_to(c, 0, a)
        t.mov_after(c, e)
        t.mov_before(e, c)           # already there: no op
        t.delete(b)
        t.create_at(0)               # before the first root: 7F80
        t.mov(e, None)
    a, b = _both(script)
    _same(a, b)
    tb = b.get_tree("t")
    assert tb.get_value_with_meta() == a.get_tree("t").get_value_with_meta()
    assert tb.is_fractional_index_enabled()


def test_reads_as_loro():
    def script(mod, d, t):
        a = t.create()
        b = t.create(a)
        t.create(a)
        c = t.create()
        t.delete(a)
        t.get_meta(c).insert("k", [1, 2])
    a, b = _both(script)
    ta, tb = a.get_tree("t"), b.get_tree("t")
    ids = lambda xs: None if xs is None else [(x.peer, x.counter) for x in xs]
    A, B = loro.TreeID, loro_c.TreeID
    assert ids(tb.roots) == ids(ta.roots) == [(1, 3)]
    assert sorted(ids(tb.nodes())) == sorted(ids(ta.nodes()))
    for k in range(4):
        assert tb.contains(B(1, k)) == ta.contains(A(1, k))
        assert (B(1, k) in tb) == (A(1, k) in ta)
        assert tb.is_node_deleted(B(1, k)) == ta.is_node_deleted(A(1, k))
        assert tb.fractional_index(B(1, k)) == ta.fractional_index(A(1, k))
        assert ids(tb.children(B(1, k))) == ids(ta.children(A(1, k)))
        assert tb.children_num(B(1, k)) == ta.children_num(A(1, k))
        lb, la = tb.get_last_move_id(B(1, k)), ta.get_last_move_id(A(1, k))
        assert (lb.peer, lb.counter) == (la.peer, la.counter)
    assert ids(tb.children(None)) == ids(ta.children(None))
    assert tb.children(B(9, 9)) is None and ta.children(A(9, 9)) is None
    assert tb.parent(B(1, 1)) == B(1, 0)
    assert tb.parent(B(1, 3)) is None and ta.parent(A(1, 3)) is None
    assert tb.parent(B(9, 9)) is None
    assert tb.fractional_index(B(9, 9)) is None
    nb = tb.get_nodes(False)
    na = ta.get_nodes(False)
    assert [(n.id.counter, n.parent, n.index, n.fractional_index) for n in nb] == \
        [(n.id.counter, n.parent, n.index, n.fractional_index) for n in na]
    assert not tb.is_empty()
    assert tb.get_meta(B(1, 3)).id == loro_c.ContainerID.Normal(1, 3, loro_c.ContainerType.Map())
    value = tb.get_value()
    assert value[0]["meta"] == loro_c.ContainerID.Normal(1, 3, loro_c.ContainerType.Map())
    assert b.get_value() == {"t": tb.id}
    assert tb.id == loro_c.ContainerID.Root("t", loro_c.ContainerType.Tree())
    assert tb.is_attached and tb.doc() is b
    assert b.try_get_tree("t") == tb
    assert tb.get_attached() is tb


def test_empty_tree_and_ids():
    d = loro_c.LoroDoc()
    t = d.get_tree("t")
    assert t.is_empty() and t.roots == [] and t.nodes() == [] and t.get_value() == []
    assert d.get_deep_value() == loro.LoroDoc().get_deep_value() | {"t": []}
    x = loro_c.TreeID(1, 2)
    assert x == loro_c.TreeID(1, 2) and x != loro_c.TreeID(2, 1)
    assert str(x) == str(loro.TreeID(1, 2)) == "TreeID { peer: 1, counter: 2 }"
    assert {x: 1}[loro_c.TreeID(1, 2)] == 1


@pytest.mark.parametrize("op", [
    lambda m, t, n: t.mov(n[0], n[2]),              # under its own child: a cycle
    lambda m, t, n: t.mov(n[0], n[0]),              # under itself
    lambda m, t, n: t.mov(n[1], m.TreeID(9, 9)),    # unknown parent
    lambda m, t, n: t.mov(m.TreeID(9, 9), None),    # unknown target
    lambda m, t, n: t.delete(m.TreeID(9, 9)),
    lambda m, t, n: t.delete(n[3]),                 # already deleted
    lambda m, t, n: t.mov(n[3], None),              # a deleted target
    lambda m, t, n: t.mov_after(n[3], n[1]),
    lambda m, t, n: t.mov_after(n[1], n[3]),        # beside a deleted node
    lambda m, t, n: t.create_at(5),                 # past the end
    lambda m, t, n: t.mov_to(n[1], 5, None),
    lambda m, t, n: t.create(m.TreeID(9, 9)),
    lambda m, t, n: t.get_meta(m.TreeID(9, 9)),
    lambda m, t, n: t.is_node_deleted(m.TreeID(9, 9)),
])
def test_refused_ops_as_loro(op):
    docs = []
    for mod in (loro, loro_c):
        d = mod.LoroDoc()
        d.peer_id = 1
        t = d.get_tree("t")
        a = t.create()
        b = t.create()
        c = t.create(a)
        gone = t.create()
        t.delete(gone)
        d.commit()
        before = d.export_json_updates(mod.VersionVector(), d.oplog_vv)
        with pytest.raises(BaseException) as err:
            op(mod, t, [a, b, c, gone])
        if mod is loro_c:
            assert isinstance(err.value, loro_c.LoroError)
        d.commit()
        assert d.export_json_updates(mod.VersionVector(), d.oplog_vv) == before
        docs.append(d)
    assert docs[1].get_deep_value() == docs[0].get_deep_value()


def test_moving_under_a_deleted_node_as_loro():
    def script(mod, d, t):
        a = t.create()
        b = t.create()
        t.delete(a)
        t.mov(b, a)                  # allowed: b is hidden with a
        t.create(a)
    a, b = _both(script)
    _same(a, b)
    tb = b.get_tree("t")
    assert tb.is_node_deleted(loro_c.TreeID(1, 1))
    assert tb.roots == []


def test_disabled_fractional_index_as_loro():
    def script(mod, d, t):
        t.disable_fractional_index()
        x = t.create()
        t.create()
        t.create(x)
        for f in (lambda: t.create_at(0), lambda: t.mov_to(x, 1, None)):
            try:
                f()
            except BaseException as e:
                if mod is loro_c:
                    assert isinstance(e, loro_c.LoroError)
            else:
                raise AssertionError("not refused")
        t.mov(x, None)
        t.enable_fractional_index(0)
        t.create_at(0)
    a, b = _both(script)
    _same(a, b)
    assert b.get_tree("t").is_fractional_index_enabled()


def test_equal_indexes_spread_as_loro():
    docs = []
    for mod in (loro, loro_c):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        for d in (a, b):
            d.get_tree("t").create()
            d.get_tree("t").create()
            d.commit()
        a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
        a.get_tree("t").create_at(1)        # between two nodes at 80: siblings respread
        a.get_tree("t").mov_to(mod.TreeID(2, 1), 0)
        a.commit()
        docs.append(a)
    _same(*docs)


def test_concurrent_cycle_and_delete_as_loro():
    def session(mod):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        ta = a.get_tree("t")
        x, y = ta.create(), ta.create()
        z = ta.create(x)
        a.commit()
        b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
        tb = b.get_tree("t")
        ta.mov(x, y)
        tb.mov(y, x)                 # concurrent: one of the two is skipped
        tb.delete(z)
        ta.mov(z, y)                 # concurrent with the delete
        ta.get_meta(z).insert("k", 1)
        a.commit()
        b.commit()
        a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
        assert a.get_deep_value() == b.get_deep_value()
        return a
    want, got = session(loro), session(loro_c)
    assert got.get_deep_value() == want.get_deep_value()
    got._check_invariants()


def test_imports_across_libraries_and_nested_meta():
    src = loro.LoroDoc()
    src.peer_id = 7
    t = src.get_tree("t")
    n = t.create()
    m = t.get_meta(n)
    m.insert("title", "x")
    txt = m.insert_container("body", loro.LoroText())
    txt.insert(0, "hello")
    kid = t.create(n)
    src.commit()
    for blob in (src.export(loro.ExportMode.Updates(loro.VersionVector())),
                 src.export(loro.ExportMode.Snapshot())):
        d = loro_c.LoroDoc()
        d.import_(blob)
        assert d.get_deep_value() == src.get_deep_value()
        d._check_invariants()
    d = loro_c.LoroDoc()
    d.import_json_updates(src.export_json_updates(loro.VersionVector(), src.oplog_vv))
    assert d.get_deep_value() == src.get_deep_value()
    # and back: loro_c's edits on the imported tree, into loro
    d.peer_id = 8
    td = d.get_tree("t")
    td.get_meta(loro_c.TreeID(7, 0)).get("body").container.insert(5, "!")
    td.mov(loro_c.TreeID(kid.peer, kid.counter), None)
    d.commit()
    src.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    assert src.get_deep_value() == d.get_deep_value()
    back = loro.LoroDoc()
    back.import_json_updates(d.export_json_updates(loro_c.VersionVector(), d.oplog_vv))
    assert back.get_deep_value() == d.get_deep_value()


def test_tree_as_a_map_child_as_loro():
    def script(mod, d, t):
        m = d.get_map("m")
        sub = m.insert_container("tree", mod.LoroTree())
        n = sub.create()
        sub.get_meta(n).insert("a", 1)
    a, b = _both(script)
    _same(a, b)


# -- hostile input: refused with nothing changed, or accepted as loro accepts it -------------

import json
import random
import struct


def _json_tree_ops(ops, peer="1"):
    return json.dumps({"schema_version": 1, "start_version": {}, "peers": [peer], "changes": [
        {"id": "0@0", "timestamp": 0, "deps": [], "lamport": 0, "msg": None,
         "ops": [{"container": "cid:root-t:Tree", "content": c, "counter": i}
                 for i, c in enumerate(ops)]}]})


@pytest.mark.parametrize("ops", [
    [{"type": "move", "target": "5@0", "parent": None, "fractional_index": "80"}],
    [{"type": "create", "target": "0@0", "parent": "7@0", "fractional_index": "80"}],
    [{"type": "delete", "target": "3@0"}],
    [{"type": "create", "target": "0@0", "parent": None, "fractional_index": ""}],
    [{"type": "create", "target": "0@0", "parent": None, "fractional_index": "12"}],
])
def test_odd_tree_ops_are_accepted_as_loro(ops):
    """loro takes moves of nodes it never saw created, parents it does not know, odd
    indexes; so does loro_c, with the same values."""
    text = _json_tree_ops(ops)
    lo = loro.LoroDoc()
    lo.import_json_updates(text)
    d = loro_c.LoroDoc()
    d.import_json_updates(text)
    assert d.get_deep_value() == lo.get_deep_value()
    d._check_invariants()
    back = loro.LoroDoc()
    back.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    assert back.get_deep_value() == lo.get_deep_value()


@pytest.mark.parametrize("ops,roots", [
    ([{"type": "create", "target": "0@0", "parent": None, "fractional_index": "80"},
      {"type": "move", "target": "0@0", "parent": "0@0", "fractional_index": "80"}], 1),
    ([{"type": "create", "target": "0@0", "parent": "0@0", "fractional_index": "80"}], 0),
    ([{"type": "create", "target": "0@0", "parent": "9@0", "fractional_index": "80"},
      {"type": "move", "target": "9@0", "parent": "0@0", "fractional_index": "80"}], 0),
])
def test_parent_loops_are_skipped(ops, roots):
    """Moves that would put a node under itself through nodes never created: loro 1.17.1
    keeps the loop and then panics ("tree parent cycle") on reads and snapshots; loro_c
    skips them as cycles, so the document stays readable."""
    d = loro_c.LoroDoc()
    d.import_json_updates(_json_tree_ops(ops))
    t = d.get_tree("t")
    assert len(t.roots) == roots
    assert d.export(loro_c.ExportMode.Snapshot())
    d._check_invariants()


@pytest.mark.parametrize("ops", [
    [{"type": "create", "target": "5@0", "parent": None, "fractional_index": "80"}],
    [{"type": "create", "target": "0@0", "parent": None, "fractional_index": "ZZ"}],
    [{"type": "create", "target": "0@0", "fractional_index": "80"}],
    [{"type": "create", "target": "0@0", "parent": None}],
    [{"type": "move", "target": "x", "parent": None, "fractional_index": "80"}],
    [{"type": "delete"}],
    [{"type": "rename", "target": "0@0"}],
])
def test_hostile_json_tree_ops_are_refused(ops):
    d = loro_c.LoroDoc()
    t = d.get_tree("t")
    t.create()
    d.commit()
    before, vv = d.get_deep_value(), d.oplog_vv
    with pytest.raises(loro_c.LoroError):
        d.import_json_updates(_json_tree_ops(ops, peer="2"))
    assert d.get_deep_value() == before and d.oplog_vv == vv
    d._check_invariants()


def test_rejected_import_takes_its_tree_ops_back():
    """An import whose later op is refused while applying is undone in place: the tree
    moves it added are gone too."""
    d = loro_c.LoroDoc()
    d.peer_id = 1
    t = d.get_tree("t")
    a = t.create()
    d.commit()
    before, vv = d.get_deep_value(), d.oplog_vv
    bad = json.dumps({"schema_version": 1, "start_version": {}, "peers": ["2", "1"], "changes": [
        {"id": "0@0", "timestamp": 0, "deps": ["0@1"], "lamport": 1, "msg": None, "ops": [
            {"container": "cid:root-t:Tree", "counter": 0,
             "content": {"type": "create", "target": "0@0", "parent": "0@1", "fractional_index": "80"}},
            {"container": "cid:root-t:Tree", "counter": 1,
             "content": {"type": "move", "target": "0@1", "parent": None, "fractional_index": "7F80"}},
            {"container": "cid:root-x:Text", "counter": 2,
             "content": {"type": "delete", "pos": 5, "len": 1, "start_id": "0@0"}}]}]})
    with pytest.raises(loro_c.LoroError):
        d.import_json_updates(bad)
    assert d.get_deep_value() == before and d.oplog_vv == vv
    assert t.children(a) is None and t.fractional_index(a) == "80"
    assert d._stats()["state_rebuilds"] == 0
    d._check_invariants()


def test_corrupted_tree_blocks_are_refused_or_consistent():
    """Every byte of a block with tree creates, moves and deletes changed in turn (the
    envelope's checksum recomputed): each blob is refused with a LoroError and nothing
    changed, or imported into a consistent document."""
    lo = loro.LoroDoc()
    lo.peer_id = 3
    t = lo.get_tree("t")
    a = t.create()
    b = t.create(a)
    t.create_at(0, a)
    t.mov(b, None)
    t.delete(a)
    lo.commit()
    blob = lo.export(loro.ExportMode.Updates(loro.VersionVector()))
    rng = random.Random(5)
    for at in range(22, len(blob)):
        data = bytearray(blob)
        data[at] = (data[at] + rng.randint(1, 255)) & 0xFF
        data[16:20] = struct.pack("<I", _codec.xxh32(bytes(data[20:])))
        d = loro_c.LoroDoc()
        d.get_text("keep").insert(0, "k")
        d.commit()
        before, vv = d.get_deep_value(), d.oplog_vv
        try:
            d.import_(bytes(data))
        except loro_c.LoroError:
            assert d.get_deep_value() == before and d.oplog_vv == vv
        d._check_invariants()


def test_detached_tree_inserted_as_loro():
    """A LoroTree() made and filled on its own is copied node by node (each node, then its
    meta map, then its children) when inserted, as loro copies it."""
    def script(mod, d, t):
        free = mod.LoroTree()
        a = free.create()
        free.create()
        b = free.create(a)
        free.get_meta(a).insert("k", 1)
        free.get_meta(b).insert_container("txt", mod.LoroText()).insert(0, "hi")
        d.get_map("m").insert_container("t", free)
    a, b = _both(script)
    _same(a, b)


def test_delete_root_container_of_a_tree_as_loro():
    def script(mod, d, t):
        x = t.create()
        t.create(x)
        t.create()
        d.commit()
        d.delete_root_container(t.id)
    a, b = _both(script)
    assert b.get_deep_value() == a.get_deep_value()
    assert _changes(b.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))) == \
        _changes(a.export(loro.ExportMode.Updates(loro.VersionVector())))


def test_paths_through_a_tree_as_loro():
    """Meta maps sit at Index.Node(node) under their tree: get_path_to_container,
    get_by_path, get_by_str_path ("tree/counter@peer/key") and get_deep_value_with_id."""
    def run(mod):
        d = mod.LoroDoc()
        d.peer_id = 1
        t = d.get_tree("t")
        a = t.create()
        t.create(a)
        m = t.get_meta(a)
        m.insert("k", 1)
        lst = m.insert_container("l", mod.LoroList())
        lst.insert(0, 5)
        d.commit()

        def val(x):
            if x is None:
                return None
            return ("V", x.value) if mod.ValueOrContainer.is_value(x) else "C"

        def kinds(p):
            return None if p is None else [type(i).__name__.split("_")[-1] for _, i in p]

        return (d.get_deep_value_with_id(),
                val(d.get_by_path([mod.Index.Key("t"), mod.Index.Node(a), mod.Index.Key("k")])),
                val(d.get_by_str_path("t/0@1/k")), val(d.get_by_str_path("t/0@1/l/0")),
                val(d.get_by_str_path("t/0")), val(d.get_by_str_path("t/1@1")),
                kinds(d.get_path_to_container(lst.id)), kinds(d.get_path_to_container(m.id)))
    assert run(loro_c) == run(loro)
