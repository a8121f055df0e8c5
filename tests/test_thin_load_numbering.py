"""A snapshot loaded into an empty document nobody subscribes to: loro's state store decodes
its containers lazily and its arena registers a container only when something touches it
(the roots and what a deep value reaches, a handle, a parse of a change block). So a child
the history created that no value reaches (a dead one) waits, and later numbers show in the
order of later events' diffs of equal depth (loro's hash map keyed by the container index).

Probed on loro 1.17.1 (plain differential sessions subscribed after a load, 174, 311, 464,
1627, 1909, 2448):

- a handle of the dead child (get_container, get_list by id, get_path_to_container, an
  edit that loro refuses) registers it; has_container does not (the store answers);
- a parse of the change block holding it registers it: an export that copies the block, a
  lookup of an id of that block (has_container of an id the store lacks), a checkout to an
  id of that block, and a checkout whose diff replays the whole history: one with a map's
  calculator (loro's history cache), or one that goes back over a list's or a text's ops
  (their trackers are rebuilt from the empty version); a checkout back over counters alone
  parses only the blocks of the changes it crosses.

Each case loads the snapshot, subscribes, reads the deep value (as a server would), does
the action, and then imports changes creating ten roots: the order of the import's diffs
shows how many containers loro registered in between."""

import loro
import pytest

import loro_c

from _events_util import new_roots, nev


def _history(mod):
    """Peer 3 makes a text in map m and a list in list l and deletes both (dead children
    of its one block); peer 5 loads that and writes a text and a counter."""
    a = mod.LoroDoc()
    a.peer_id = 3
    m = a.get_map("m")
    t = m.insert_container("a", mod.LoroText())
    t.insert(0, "hi")
    a.commit()
    a.get_list("l").insert(0, 1)
    a.commit()
    m.delete("a")
    a.commit()
    lst = a.get_list("l").insert_container(1, mod.LoroList())
    lst.insert(0, 2)
    a.commit()
    a.get_list("l").delete(1, 1)
    a.commit()
    z = mod.LoroDoc()
    z.peer_id = 5
    z.import_(a.export(mod.ExportMode.Snapshot()))
    kid = z.get_map("m").insert_container("k", mod.LoroMap())
    kid.insert("q", 1)
    z.get_text("t").insert(0, "x")
    z.commit()
    z.get_counter("c").increment(1)
    z.commit()
    return z, {"dead": t.id, "dead_list": lst.id, "live": kid.id}


def _checkout(mod, d, ids):
    d.checkout(mod.Frontiers.from_ids([mod.ID(p, c) for p, c in ids]))
    d.checkout_to_latest()


def _refused_edit(mod, d, ids):
    try:
        d.get_container(ids["dead"]).insert(0, "z")
    except BaseException:       # (refused: the text is deleted)
        pass


def _span(mod, peer, start, end):
    return mod.ExportMode.UpdatesInRange([mod.IdSpan(peer, mod.CounterSpan(start, end))])


ACTIONS = {
    "nothing": lambda mod, d, ids: None,
    "has_container of the dead child": lambda mod, d, ids: d.has_container(ids["dead"]),
    "get_container of the dead child": lambda mod, d, ids: d.get_container(ids["dead"]),
    "get_list by the dead list's id": lambda mod, d, ids: d.get_list(ids["dead_list"]),
    "path to the dead child": lambda mod, d, ids: d.get_path_to_container(ids["dead"]),
    "a refused edit of the dead child": _refused_edit,
    "get_container of a live child": lambda mod, d, ids: d.get_container(ids["live"]),
    "lookup of an id in peer 3's block": lambda mod, d, ids: d.has_container(
        mod.ContainerID.Normal(3, 1, mod.ContainerType.Text())),
    "lookup of an id in peer 5's block": lambda mod, d, ids: d.has_container(
        mod.ContainerID.Normal(5, 0, mod.ContainerType.Text())),
    "export of all updates": lambda mod, d, ids: d.export(
        mod.ExportMode.Updates(mod.VersionVector())),
    "export of peer 3's first changes": lambda mod, d, ids: d.export(_span(mod, 3, 0, 2)),
    "export of peer 3's last changes": lambda mod, d, ids: d.export(_span(mod, 3, 3, 5)),
    "export of peer 5's changes": lambda mod, d, ids: d.export(_span(mod, 5, 0, 2)),
    "checkout into peer 3's block": lambda mod, d, ids: _checkout(mod, d, [(3, 1)]),
    "checkout to peer 3's last change": lambda mod, d, ids: _checkout(mod, d, [(3, 4)]),
    "checkout back over a counter": lambda mod, d, ids: _checkout(mod, d, [(5, 1)]),
    "local list insert": lambda mod, d, ids: (d.get_list("l").insert(0, 7), d.commit()),
    "checkout back over a local list insert": lambda mod, d, ids: (
        d.get_list("l").insert(0, 7), d.commit(), _checkout(mod, d, [(5, 2)])),
    "checkout back over a local text insert": lambda mod, d, ids: (
        d.get_text("t").insert(0, "k"), d.commit(), _checkout(mod, d, [(5, 2)])),
    "checkout back over a local increment": lambda mod, d, ids: (
        d.get_counter("c").increment(2), d.commit(), _checkout(mod, d, [(5, 2)])),
    "checkout back over a local map write": lambda mod, d, ids: (
        d.get_map("m").insert("w", 2), d.commit(), _checkout(mod, d, [(5, 2)])),
}


def _ten_new_roots(mod, snap):
    """A peer of `snap` that creates ten roots of every kind in one commit, and the version
    it started from: an import of its update lists the roots in the order of the
    importer's numbers, which shows how many containers it had registered."""
    o = mod.LoroDoc()
    o.peer_id = 9
    o.import_(snap)
    vv = o.oplog_vv
    new_roots(o, 10)
    o.commit()
    return o, vv


def _import_order(mod, action, deep):
    z, ids = _history(mod)
    snap = z.export(mod.ExportMode.Snapshot())
    d = mod.LoroDoc()
    d.peer_id = 110
    d.import_(snap)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    if deep:
        d.get_deep_value()
    ACTIONS[action](mod, d, ids)
    d.get_deep_value()
    o, _ = _ten_new_roots(mod, snap)
    got.clear()
    d.import_(o.export(mod.ExportMode.Updates(d.oplog_vv)))
    del sub
    return [[diff[0] for diff in ev[3]] for ev in got]


@pytest.mark.parametrize("deep", [True, False], ids=["deep value", "no deep value"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_what_an_unrecorded_load_registers_later(action, deep):
    assert _import_order(loro_c, action, deep) == _import_order(loro, action, deep)


# -- a tree's deep value --------------------------------------------------------------------
# loro's deep value of a tree registers each live node's meta map (as it reads the map's
# value), then what that map's deep value reaches, before the node's children, in the
# value's order (roots by index, each node's children by index). So after a lazy load, a
# deep value numbers the meta maps of a tree the history made before the frontier blocks
# (kinds late sessions 75, 469: a root created after them listed in another order).

def _node(t, parent=None):
    return t.create(parent) if parent is not None else t.create()


TREE_SHAPES = {
    "one node": lambda mod, t: _node(t),
    "a meta value": lambda mod, t: t.get_meta(_node(t)).insert("x", 1),
    "a meta list": lambda mod, t: t.get_meta(_node(t)).insert_container(
        "y", mod.LoroList()).insert(0, 1),
    "a meta text and map": lambda mod, t: (
        t.get_meta(n := _node(t)).insert_container("y", mod.LoroText()),
        t.get_meta(n).insert_container("z", mod.LoroMap()).insert_container(
            "w", mod.LoroCounter())),
    "a meta tree": lambda mod, t: t.get_meta(_node(t)).insert_container(
        "y", mod.LoroTree()).create(),
    "two roots": lambda mod, t: (_node(t), _node(t)),
    "a child with a meta list": lambda mod, t: t.get_meta(_node(t, _node(t))).insert_container(
        "y", mod.LoroMovableList()).insert(0, 1),
    "a deleted node": lambda mod, t: (t.delete(_node(t)), _node(t)),
    "a moved node": lambda mod, t: (n := _node(t), m := _node(t), t.mov(n, m),
                                    t.get_meta(n).insert("x", 1)),
}


def _tree_snapshot(mod, shape):
    """Peer 2's tree of `shape`, then peer 1's edits of t, c and l in another block (so the
    tree's change block is not a frontier block): peer 1's document and its snapshot."""
    a = mod.LoroDoc()
    a.peer_id = 2
    TREE_SHAPES[shape](mod, a.get_tree("tr"))
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 1
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_text("t").insert(0, "abc")
    b.get_counter("c").increment(1)
    b.get_list("l").insert(0, 1)
    b.commit()
    return b, b.export(mod.ExportMode.Snapshot())


def _tree_order(mod, shape, deep, sub_m):
    b, snap = _tree_snapshot(mod, shape)
    o, _ = _ten_new_roots(mod, snap)
    d = mod.LoroDoc()
    d.peer_id = 115
    d.import_(snap)
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e)))]
    if sub_m:
        subs.append(d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()),
                                lambda e: None))
    if deep:
        d.get_deep_value()
    d.import_(o.export(mod.ExportMode.Updates(b.oplog_vv)))
    del subs
    return [[diff[0] for diff in ev[3]] for ev in got]


@pytest.mark.parametrize("sub_m", [False, True], ids=["root subscriber", "and m's"])
@pytest.mark.parametrize("deep", [True, False], ids=["deep value", "no deep value"])
@pytest.mark.parametrize("shape", list(TREE_SHAPES))
def test_a_trees_deep_value_registers_its_nodes_meta_maps(shape, deep, sub_m):
    assert _tree_order(loro_c, shape, deep, sub_m) == _tree_order(loro, shape, deep, sub_m)


def _batch_tree_order(mod, shape, past, deep):
    """import_batch of the snapshot and updates (all known, or with a text edit past it),
    nobody subscribed; then the deep value or not, and ten roots. (Updates past the
    snapshot that write a meta map: tests/test_batch_lazy_move_numbering.py.)"""
    _, snap = _tree_snapshot(mod, shape)
    e = mod.LoroDoc()
    e.peer_id = 3
    e.import_(snap)
    if past == "a text edit":
        e.get_text("t").insert(0, "z")
    e.commit()
    o, vv = _ten_new_roots(mod, e.export(mod.ExportMode.Snapshot()))
    d = mod.LoroDoc()
    d.peer_id = 115
    d.import_batch([snap, e.export(mod.ExportMode.Updates(mod.VersionVector()))])
    got = []
    sub = d.subscribe_root(lambda ev: got.append(nev(ev)))
    if deep:
        d.get_deep_value()
    d.import_(o.export(mod.ExportMode.Updates(vv)))
    del sub
    return [[diff[0] for diff in ev[3]] for ev in got]


@pytest.mark.parametrize("deep", [True, False], ids=["deep value", "no deep value"])
@pytest.mark.parametrize("past", ["nothing", "a text edit"])
@pytest.mark.parametrize("shape", list(TREE_SHAPES))
def test_a_batch_load_leaves_the_snapshots_meta_maps_to_the_deep_value(shape, past, deep):
    """An import_batch of a snapshot and updates into an empty document nobody subscribes
    to reads the snapshot's state lazily too: loro registers none of its tree's meta maps
    until a deep value reaches them, unless the updates' new ops act on a tree (the move
    to the latest version then runs the tree's diff). loro_c's replay of the snapshot's
    history queued them all, numbered before anything touched later."""
    assert (_batch_tree_order(loro_c, shape, past, deep)
            == _batch_tree_order(loro, shape, past, deep))
