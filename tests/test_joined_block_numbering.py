"""A change joining a lazily loaded snapshot's change block numbers the containers its ops
name, against loro.

A snapshot loaded with nobody recording leaves its change blocks encoded and registers a
container in loro's arena only when something touches it. A change (imported or local)
that continues a peer's last loaded block goes into that block: loro's change store parses
the block, which registers every container the block's ops name, in op order (after the
containers of the change's own blob), then the children they create; roots the lazily
loaded state had not registered among them. A root a later import creates comes after
all of them, which shows in the order of that import's event (kinds session 1665 of the
late-subscriber differential sessions: the block's ops on a map, on a dead tree node's
meta map and on a tree)."""
import loro
import pytest

import loro_c
from _events_util import nev


def _docs(mod, later_op, new_ops):
    a, b, c = (mod.LoroDoc() for _ in range(3))
    a.peer_id, b.peer_id, c.peer_id = 1, 2, 3
    node = a.get_tree("tr").create()
    a.commit()
    b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    b.get_map("m").insert("d", 2.5)
    child = b.get_list("l").insert_container(0, mod.LoroMap())
    b.commit()
    b.get_tree("tr").get_meta(node).insert("c", "s")
    b.get_list("l").insert(0, 2)
    b.get_map("m").insert("a", "s")
    b.get_tree("tr").delete(node)
    live = b.get_tree("tr").create()
    b.commit()
    c.get_text("t").insert(0, "yzc")
    c.commit()
    c.import_(b.export(mod.ExportMode.Updates(mod.VersionVector())))
    c.get_map(child.id).insert("b", 1)
    c.commit()
    snap = c.export(mod.ExportMode.Snapshot())
    # peer 2 goes on from its block; another peer then writes after both
    v = b.oplog_vv
    {"l": lambda: b.get_list("l").delete(0, 1), "m": lambda: b.get_map("m").insert("e", 1),
     "t": lambda: b.get_text("t").insert(0, "q")}[later_op]()
    b.commit()
    u1 = b.export(mod.ExportMode.Updates(v))
    d = mod.LoroDoc()
    d.peer_id = 127
    d.import_(snap)
    d.import_(u1)
    v = d.oplog_vv
    for what in new_ops:
        {"t": lambda: d.get_text("t").insert(0, "x"), "c": lambda: d.get_counter("c").increment(3),
         "tr": lambda: d.get_tree("tr").create(live), "l": lambda: d.get_list("l").insert(0, 1),
         "m": lambda: d.get_map("m").insert("z", 1), "k": lambda: d.get_counter("k").increment(1)}[what]()
    d.commit()
    return snap, u1, d.export(mod.ExportMode.Updates(v))


def _orders(mod, later_op, new_ops):
    snap, u1, u2 = _docs(mod, later_op, new_ops)
    d = mod.LoroDoc()
    d.peer_id = 125
    d.import_(snap)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    d.import_(u1)
    d.import_(u2)
    sub.unsubscribe()
    return [[x[0] for x in ev[3]] for ev in got]


@pytest.mark.parametrize("later_op", ["l", "m", "t"])
@pytest.mark.parametrize("new_ops", [("t", "c", "tr"), ("c", "t", "tr"), ("t", "c"), ("c", "tr"),
                                     ("t", "k", "c", "tr"), ("c", "l", "m", "tr"), ("k", "m", "t")])
def test_a_change_joining_a_loaded_block_numbers_its_ops_containers(later_op, new_ops):
    assert _orders(loro_c, later_op, new_ops) == _orders(loro, later_op, new_ops)



def _restart_inputs(mod):
    """A snapshot whose history holds a dead list peer 3 created (no frontier block names
    it, so it waits after a load) and peer 2's block of map and text ops; the peers' docs."""
    b, c, e = (mod.LoroDoc() for _ in range(3))
    b.peer_id, c.peer_id, e.peer_id = 2, 3, 4
    c.get_map("m").insert_container("x", mod.LoroList()).insert(0, 1)
    c.commit()
    c.get_map("m").delete("x")
    c.commit()
    b.get_map("m").insert("a", 1)
    b.get_text("t").insert(0, "ab")
    b.commit()
    for x in (b, c):
        e.import_(x.export(mod.ExportMode.Updates(mod.VersionVector())))
    e.get_list("l").insert(0, 0)
    e.commit()
    b.import_(e.export(mod.ExportMode.Updates(mod.VersionVector())))
    return e.export(mod.ExportMode.Snapshot()), b


def _joins(mod, steps):
    """A restart from the snapshot, then peer 2's changes continuing its loaded block arrive
    one import at a time ('u'), with the restarted document's own commits ('c': a counter,
    'r': a new root list) and snapshot exports ('s') in between; the event orders of all
    imports, the containers still waiting, the value."""
    snap, b = _restart_inputs(mod)
    d = mod.LoroDoc()
    d.peer_id = 125
    d.import_(snap)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    n = 0
    for step in steps:
        if step == "u":
            v = b.oplog_vv
            n += 1
            b.get_map("m").insert(f"k{n}", n)
            b.get_text("t").insert(0, "p")
            b.commit()
            d.import_(b.export(mod.ExportMode.Updates(v)))
        elif step == "c":
            d.get_counter(f"c{n}").increment(1)
            d.commit()
        elif step == "r":
            d.get_list(f"r{n}").insert(0, n)
            d.commit()
        else:
            d.export(mod.ExportMode.Snapshot())
    # (an event naming the waiting list: its number shows where a checkout puts it)
    d.checkout(mod.Frontiers.from_id(mod.ID(3, 1)))
    d.checkout_to_latest()
    sub.unsubscribe()
    return [[x[0] for x in ev[3]] for ev in got], d.get_deep_value()


@pytest.mark.parametrize("steps", ["uuu", "ucuru", "uusuu", "ursucu", "suuru", "ucsrsu", "uuuuuusu"])
def test_later_changes_joining_a_parsed_block_number_as_loro(steps):
    """Loro parses a peer's loaded block once, at the first change joining it, and again
    only after a snapshot export encoded it: the later changes (and the restarted document's
    own commits in between) register their containers as they come, while a dead list
    another peer created still waits."""
    assert _joins(loro_c, steps) == _joins(loro, steps)
