"""loro's DAG after a snapshot load reads each peer's change block lazily (probed on loro
1.17.1; kinds differential session 19975).

A snapshot loaded into an empty document leaves its change blocks unread by loro's DAG: a
peer's nodes are built the first time one of its ids is looked up (a local commit looks up
its deps' Lamports and extends its own peer's last node; an import looks up its changes'
deps; a causal walk looks up each peer's first id in its map's order). A node is split
only where a change already read depends on it; a dependent read later splits it again.
So a causal walk from below the snapshot can see one of a peer's nodes whole when it
lists the ids to visit, and visit the rest of it (split meanwhile, when another peer's
block was read) as that peer's next id, before the other peer's change that split it:
that order decides the import event's order of roots of equal depth.

Here peer 2's change [0, 3) holds a list insert (2:1) that peer 1's map change depends
on and a movable-list insert (2:2). After the load, the commit reads peer 120's block and
the JSON import peer 3's; the walk reads peer 2 before peer 1, so it visits 1:0 (map m)
before 2:2 (the movable list). Reading peer 1's block before the import (frontiers_to_vv
of 1:0) splits peer 2's node first, and the walk visits 2:2 first."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import loro  # noqa: E402

import loro_c  # noqa: E402
from _events_util import nev  # noqa: E402

MODS = (loro, loro_c)


def _span(mod, peer, a, b):
    return mod.ExportMode.UpdatesInRange([mod.IdSpan(peer, mod.CounterSpan(a, b))])


# calls that read every peer's DAG nodes (vv_to_frontiers of two ids or more looks up
# their Lamports) or none (exports read the change store, not the DAG; an attached
# checkout_to_latest does nothing)
_READS = {
    "vv_to_frontiers": lambda mod, d: d.vv_to_frontiers(d.oplog_vv),
    "checkout_to_latest": lambda mod, d: d.checkout_to_latest(),
    "export_updates": lambda mod, d: d.export(mod.ExportMode.Updates(mod.VersionVector())),
    "export_snapshot": lambda mod, d: d.export(mod.ExportMode.Snapshot()),
    "export_json": lambda mod, d: d.export_json_updates(mod.VersionVector(), d.oplog_vv),
    "fork": lambda mod, d: d.fork(),
}


def _script(mod, read_first=None):
    """The import event's targets of a document restarted from a snapshot (peer 133),
    subscribed (root and map m) before the load; `read_first`: an id (peer, counter)
    whose history the document reads before the import."""
    a, b, c = mod.LoroDoc(), mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id, c.peer_id = 1, 2, 3
    c.get_movable_list("ml").insert(0, [1, "x"])
    b.get_counter("c").increment(5)
    c.import_(b.export(mod.ExportMode.Updates(c.oplog_vv)))
    b.get_list("l").insert_container(0, mod.LoroMap())
    a.import_with(b.export(_span(mod, 2, 0, 2)), "sync")
    b.get_movable_list("ml").insert(0, True)
    c.get_movable_list("ml").insert(1, 2)
    a.get_map("m").insert("b", [1, "x"])
    a.import_(b.export(_span(mod, 2, 2, 3)))
    c.get_list("l").insert(0, True)
    a.import_(c.export(_span(mod, 3, 0, 6)))
    c.get_movable_list("ml").insert_container(0, mod.LoroCounter())
    b = mod.LoroDoc()
    b.peer_id = 120
    b.import_(a.export(mod.ExportMode.Snapshot()))
    c.get_map("m").insert("c", [1, "x"])
    b.get_movable_list("ml").mov(0, 2)
    snap = b.export(mod.ExportMode.Snapshot())
    d, got, subs = _observed_load(mod, 133, snap)
    d.get_list("l").insert_container(2, mod.LoroCounter())
    if isinstance(read_first, tuple):
        d.frontiers_to_vv(mod.Frontiers.from_ids([mod.ID(*read_first)]))
    elif read_first is not None:
        _READS[read_first](mod, d)
    j = c.export_json_updates(d.oplog_vv, c.oplog_vv)
    got.clear()
    d.import_json_updates(j)
    del subs
    return got


def _observed_load(mod, peer, snap):
    """A document of `peer` that registered map m (its own subscriber) and read its empty
    value before loading `snap`; (doc, the targets of each root event, subscriptions)."""
    d = mod.LoroDoc()
    d.peer_id = peer
    got = []
    subs = [d.subscribe_root(lambda e: got.append([x[0] for x in nev(e)[3]])),
            d.subscribe(d.get_map("m").id, lambda e: None)]
    d.get_deep_value()
    d.import_(snap)
    return d, got, subs


LAZY = [("root", "m", "Map"), ("root", "ml", "MovableList")]


@pytest.mark.parametrize("read_first", [None, (1, 0), (2, 2), (3, 1), (120, 0)])
def test_walk_sees_lazily_split_nodes(read_first):
    want, have = (_script(m, read_first) for m in MODS)
    assert want == have
    assert (want[-1] == LAZY) == (read_first not in ((1, 0), (120, 0)))


@pytest.mark.parametrize("call", sorted(_READS))
def test_which_calls_read_the_dag(call):
    want, have = (_script(m, call) for m in MODS)
    assert want == have
    assert (want[-1] == LAZY) == (call != "vv_to_frontiers")


def _onto_frontier(mod):
    """The import event's targets of a document restarted from a snapshot (peer 127)
    whose frontier change 1@3 depends on peer 1's 1@1, importing peer 1's changes past
    1@1 (text t, then movable list ml): the walk goes down from the empty version."""
    a, c = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, c.peer_id = 1, 3
    c.get_list("l").insert(0, {"k": 1})
    a.get_map("m").insert_container("d", mod.LoroMap())
    b = mod.LoroDoc()
    b.peer_id = 113
    b.import_batch([a.export(mod.ExportMode.Snapshot()),
                    a.export(mod.ExportMode.Updates(mod.VersionVector()))])
    c.import_with(b.export(mod.ExportMode.Updates(c.oplog_vv)), "sync")
    a.get_map("m").delete("a")
    c.import_(a.export(_span(mod, 1, 1, 2)))
    c.get_movable_list("ml").insert_container(0, mod.LoroMap())
    snap = c.export(mod.ExportMode.Snapshot())
    d, got, subs = _observed_load(mod, 127, snap)
    a.get_text("t").insert(0, " éé")
    a.get_movable_list("ml").insert(0, 2)
    c.import_with(a.export(mod.ExportMode.Updates(c.oplog_vv)), "sync")
    got.clear()
    d.import_with(c.export(_span(mod, 1, 2, 6)), "sync")
    del subs
    return got


def test_the_base_search_reads_the_frontier_peers():
    """loro's search for the walk's base starts from the nodes of both versions' frontier
    ids, which reads their peers' blocks (fitted, kinds session 6459): here peer 3's, whose
    change splits peer 1's node at 1@1 before the walk lists peer 1, so peer 1's next node
    (the text) comes before 3's change, as it would with every block read."""
    want, have = (_onto_frontier(m) for m in MODS)
    assert want == have
    assert want[-1] == [("root", "t", "Text"), ("root", "ml", "MovableList")]
