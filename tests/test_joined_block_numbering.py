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
