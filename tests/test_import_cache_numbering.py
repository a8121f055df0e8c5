"""A concurrent import builds loro's history cache (whose first build parses every change
block, numbering the containers a loaded snapshot left waiting, such as a dead child) only
where one of its calculators reads the cache in DiffMode::Import: a movable list's or a
tree's that the import edits, when that container diverged (the version before edited it
past what every imported change has seen) or a Text, List, MovableList or Tree the import
edits diverged; a map's that compares values (diverged_containers). A movable list or tree
that only the import edits reads nothing (probed on loro 1.17.1; late kinds sessions 16329
and 17680: a movable list a concurrent import created left the dead child waiting, so the
next containers took lower numbers and a later event listed its diffs in another order).

The numbers show in the order of a later commit's diffs on many fresh roots (loro's hash
map keyed by the container index)."""

import loro
import pytest

import loro_c
from _events_util import new_roots


def _name(cid):
    return cid.name if hasattr(cid, "name") else f"{cid.peer}:{cid.counter}"


def _events(mod, early, what):
    def doc(p):
        d = mod.LoroDoc()
        d.peer_id = p
        return d

    x, y, z, w = doc(101), doc(3), doc(111), doc(2)
    # a dead child no state stores: created, then deleted, and imported in one go
    x.get_list("l").insert_container(0, mod.LoroCounter())
    x.commit()
    y.import_(x.export(mod.ExportMode.Snapshot()))
    y.get_list("l").delete(0, 1)
    y.commit()
    z.import_(y.export(mod.ExportMode.Updates(mod.VersionVector())))
    z.get_text("t").insert(0, "a")
    z.commit()
    w.import_(z.export(mod.ExportMode.Updates(mod.VersionVector())))
    # the version before's own edits, past the base of the import
    w.get_counter("c").increment(1)
    if what in ("ml diverged", "ml edited before only"):
        w.get_movable_list("ml").insert(0, 2)
    if what == "tree diverged":
        w.get_tree("tr").create(None)
    if what in ("ml, text diverged", "tree, text diverged", "list, text diverged"):
        w.get_text("t").insert(0, "w")
    if what == "ml, map diverged":
        w.get_map("m").insert("k", 2)
    w.commit()
    # the concurrent change the document imports
    if what in ("ml, text diverged", "tree, text diverged", "list, text diverged",
                "ml edited before only"):
        z.get_text("t").insert(0, "z")
    if what == "ml, map diverged":
        z.get_map("m").insert("k", 3)
    if what.startswith("tree"):
        z.get_tree("tr").create(None)
    elif what.startswith("list"):
        z.get_list("l5").insert(0, 1)
    elif what != "ml edited before only":
        z.get_movable_list("ml").insert(0, 1)
    z.commit()

    d = doc(129)
    got = []
    if early:
        sub = d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    d.import_(w.export(mod.ExportMode.Snapshot()))
    if not early:
        sub = d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    d.import_(z.export(mod.ExportMode.Updates(d.oplog_vv)))
    got.clear()
    new_roots(d, 12, ("List", "Text", "Counter"), "r")
    d.commit()
    del sub
    return got


CASES = ("ml", "tree", "ml diverged", "tree diverged", "ml, text diverged",
         "tree, text diverged", "list, text diverged", "ml, map diverged",
         "ml edited before only")


@pytest.mark.parametrize("early", (True, False), ids=("subscribed", "late"))
@pytest.mark.parametrize("what", CASES)
def test_a_concurrent_import_numbers_the_waiting_children_as_loro(what, early):
    want = _events(loro, early, what)
    assert _events(loro_c, early, what) == want


def _walk_events(mod, early, edits, batch):
    """A snapshot whose history holds a dead child in a block its load leaves unparsed
    (peer 3's: a text the movable list held until peer 2 set the element), then a change of
    a new peer with no deps: loro's diff of an import walks the old changes from the common
    ancestor (the empty version), parsing their blocks, unless the import's ops act on
    maps only (late kinds session 13235: a map entry from a new peer left the child waiting
    until a later import joined peer 3's block)."""
    def doc(p):
        d = mod.LoroDoc()
        d.peer_id = p
        return d

    x, y, n = doc(3), doc(2), doc(1)
    x.get_movable_list("ml").insert_container(0, mod.LoroText())
    x.get_text("t").insert(0, "ab")
    x.commit()
    y.get_list("l").insert_container(0, mod.LoroList())
    y.commit()
    y.import_(x.export(mod.ExportMode.Updates(mod.VersionVector())))
    y.get_movable_list("ml").set(0, True)
    y.commit()
    for e in edits:
        if e == "map":
            n.get_map("m").insert("d", 2)
        elif e == "new map":
            n.get_map("x").insert("d", 2)
        elif e == "text":
            n.get_text("t").insert(0, "q")
        else:
            n.get_counter("c").increment(3)
    n.commit()

    d = doc(131)
    got = []
    if early:
        sub = d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    snap = y.export(mod.ExportMode.Snapshot())
    if batch:
        d.import_batch([snap, y.export(mod.ExportMode.Updates(mod.VersionVector()))])
    else:
        d.import_(snap)
    if not early:
        sub = d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    d.get_deep_value()
    d.import_(n.export(mod.ExportMode.Updates(mod.VersionVector())))
    got.clear()
    new_roots(d, 12, ("List", "Text", "Counter"), "r")
    d.commit()
    del sub
    return got


@pytest.mark.parametrize("batch", (False, True), ids=("snapshot", "batch"))
@pytest.mark.parametrize("early", (True, False), ids=("subscribed", "late"))
@pytest.mark.parametrize("edits", (("map",), ("new map",), ("map", "text"), ("counter",),
                                   ("map", "new map")))
def test_an_import_on_maps_only_walks_no_old_change_as_loro(edits, early, batch):
    want = _walk_events(loro, early, edits, batch)
    assert _walk_events(loro_c, early, edits, batch) == want
