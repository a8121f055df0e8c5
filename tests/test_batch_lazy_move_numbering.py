"""What loro 1.17.1's arena registers when an import_batch of a snapshot and updates past it
moves a document nobody records to the latest version (doc/exchange.pxi lazy_move_parses).

That move is a checkout: its diff calculator walks the changes from the common ancestor of
the snapshot's version and the log's heads, and the first change it reads in a change block
of the snapshot's history parses the block (its containers get numbers); each op's
container gets its depth, which registers the ancestors the arena has no link to yet (read
from the snapshot's state). A map's, a movable list's or a tree's calculator reads loro's
history cache, built by a visit of every block in key order. So updates that continue the
snapshot's frontier and write a tree node's meta map (or any map) number the history's
containers; updates concurrent to it from below (or from nothing) parse the blocks above
their common ancestor. Later events list containers of equal depth in their numbers' order:
each case ends with an import that edits the roots and creates sixteen more, whose event
order is compared with loro's (kinds late-subscriber sessions 415 and 667)."""

import pytest

import loro
import loro_c
from _events_util import new_roots, nev


def _touch(o, roots):
    for name, kind in roots:
        h = getattr(o, "get_" + kind)(name)
        if kind == "text":
            h.insert(0, "Q")
        elif kind in ("list", "movable_list"):
            h.insert(0, 7)
        elif kind == "map":
            h.insert("Q", 7)
        elif kind == "counter":
            h.increment(3)
    new_roots(o, 16)


def _order(mod, history, updates, concurrent, roots, deep):
    """The root event of an import after the batch (its diffs' containers, in order)."""
    s = mod.LoroDoc()
    s.peer_id = 2
    below = history(mod, s)
    s.commit()
    snap = s.export(mod.ExportMode.Snapshot())
    u = mod.LoroDoc()
    u.peer_id = 1
    if concurrent == "from below":
        # (the history's first peer only: its last change is their common ancestor)
        u.import_(below)
    elif concurrent != "from nothing":
        u.import_(snap)
    vv0 = u.oplog_vv
    updates(mod, u)
    u.commit()
    blobs = [snap, u.export(mod.ExportMode.Updates(vv0))]
    d = mod.LoroDoc()
    d.peer_id = 115
    d.import_batch(blobs)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    if deep:
        d.get_deep_value()
    o = mod.LoroDoc()
    o.peer_id = 999
    o.import_batch(blobs)
    vv = o.oplog_vv
    _touch(o, roots)
    o.commit()
    d.import_(o.export(mod.ExportMode.Updates(vv)))
    del sub
    return [diff[0] for diff in got[-1][3]]


# -- histories: peer 3's changes first (a block the snapshot's frontier does not reach),
#    then peer 2's, on top of them (the snapshot's frontier block)

def _tree_with_meta(mod, s):
    x = mod.LoroDoc()
    x.peer_id = 3
    x.get_text("a0").insert(0, "a")
    x.get_counter("a1").increment(1)
    t = x.get_tree("tr")
    n = t.create()
    m = t.get_meta(n)
    m.insert("k", 1)
    m.insert_container("y", mod.LoroList()).insert(0, 1)
    x.get_list("a2").insert(0, 1)
    x.commit()
    below = x.export(mod.ExportMode.Snapshot())
    s.import_(below)
    s.get_text("t").insert(0, "abc")
    return below


def _child_maps(mod, s):
    x = mod.LoroDoc()
    x.peer_id = 3
    x.get_text("a0").insert(0, "a")
    x.get_movable_list("ml").insert_container(0, mod.LoroMap()).insert("k", 1)
    x.get_list("a2").insert(0, 1)
    x.get_map("mm").insert_container("c", mod.LoroMap()).insert("k", 1)
    x.commit()
    below = x.export(mod.ExportMode.Snapshot())
    s.import_(below)
    s.get_text("t").insert(0, "abc")
    s.get_map(mod.ContainerID.Normal(3, 1, mod.ContainerType.Map())).insert("z", 5)
    return below


HISTORIES = {
    "a tree's meta map": (_tree_with_meta,
                          [("a0", "text"), ("a1", "counter"), ("tr", "tree"), ("a2", "list"),
                           ("t", "text")]),
    "maps in a movable list and a map": (_child_maps,
                                         [("a0", "text"), ("ml", "movable_list"),
                                          ("a2", "list"), ("mm", "map"), ("t", "text")]),
}


def _write_meta(mod, u):
    t = u.get_tree("tr")
    t.get_meta(t.nodes()[0]).insert("q", 2)


def _write_child(mod, u):
    u.get_map(mod.ContainerID.Normal(3, 1, mod.ContainerType.Map())).insert("q", 2)


UPDATES = {
    "a text edit": lambda mod, u: u.get_text("t").insert(0, "z"),
    "a list insert": lambda mod, u: u.get_list("l").insert(0, True),
    "a root map entry": lambda mod, u: u.get_map("m").insert("q", 1),
    "a node's meta entry": _write_meta,
    "a child map entry": _write_child,
    "a tree node": lambda mod, u: u.get_tree("tr2").create(),
}

# which updates apply to which history (the others name a container it lacks)
APPLIES = {"a node's meta entry": "a tree's meta map",
           "a child map entry": "maps in a movable list and a map"}


# the combinations that exist: an update writing a child of the history needs that history,
# and a peer that has nothing cannot write a child of it
CASES = [(history, update, concurrent)
         for history in HISTORIES for update in UPDATES
         for concurrent in ("continuing", "from below", "from nothing")
         if APPLIES.get(update, history) == history
         and not (concurrent == "from nothing" and update in APPLIES)]


@pytest.mark.parametrize("deep", [False, True], ids=["no deep value", "deep value"])
@pytest.mark.parametrize("history, update, concurrent", CASES)
def test_a_lazy_batch_moves_as_loro_registers(history, update, concurrent, deep):
    build, roots = HISTORIES[history]
    args = (build, UPDATES[update], concurrent, roots, deep)
    assert _order(loro_c, *args) == _order(loro, *args)
