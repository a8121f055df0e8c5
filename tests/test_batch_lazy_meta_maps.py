"""After an import_batch of a snapshot and updates that nobody records, loro 1.17.1 reads the
snapshot lazily: a tree node's meta map gets its number in loro's arena only when something
registers it (a deep value reaches the live nodes' maps; a parse of the change block that
created the node registers its map as it decodes the create). So the meta map of a node the
snapshot's history deleted waits until a parse of that block: an export reading it, or a
lookup of an id there (doc/exchange.pxi number_lazily_loaded: such maps join the containers
waiting in LoroDoc.lnum_rest, in the order a visit of the blocks registers them).

Peer 3 creates a node, peer 1 creates another and writes m and l, peer 112 merges, writes m
and deletes one node (or none), then makes the snapshot; a new document imports it with
peer 1's updates (all known) in one import_batch nobody records, subscribes, reads the
deep value (as a server that loads, then listens), then exports or looks up (or does
nothing). The order of a later import's diffs of the roots and of ten new roots
shows the numbers (kinds late-subscriber differential session 1134: a deleted node's map
registered by an export of the whole history, so roots created later came one place on)."""

import itertools

import loro
import pytest

import loro_c

from _events_util import nev, new_roots


def _blobs(mod, deleted):
    a = mod.LoroDoc()
    a.peer_id = 3
    a.get_tree("tr").create()
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_map("m").insert_container("a", mod.LoroText())
    b.commit()
    c = mod.LoroDoc()
    c.peer_id = 1
    c.import_(a.export(mod.ExportMode.Snapshot()))
    c.get_tree("tr").create()
    c.get_map("m").insert_container("d", mod.LoroText())
    c.get_list("l").insert(0, [1, "x"])
    c.commit()
    s = mod.LoroDoc()
    s.peer_id = 112
    s.import_(c.export(mod.ExportMode.Snapshot()))
    s.import_(b.export(mod.ExportMode.Snapshot()))
    s.get_map("m").insert_container("c", mod.LoroMap())
    tree = s.get_tree("tr")
    if deleted is not None:
        tree.delete(sorted(tree.nodes(), key=lambda n: (n.peer, n.counter))[deleted])
    s.commit()
    return (s.export(mod.ExportMode.Snapshot()),
            c.export(mod.ExportMode.Updates(mod.VersionVector())))


def _order(mod, deleted, action):
    snap, updates = _blobs(mod, deleted)
    d = mod.LoroDoc()
    d.peer_id = 123
    d.import_batch([snap, updates])
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e))),
            d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()), lambda e: None)]
    d.get_deep_value()
    if action == "export":
        d.export(mod.ExportMode.Updates(mod.VersionVector()))
    elif action == "range":
        d.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(3, mod.CounterSpan(0, 1))]))
    elif action == "lookup":
        d.has_container(mod.ContainerID.Normal(3, 0, mod.ContainerType.Text()))
    got.clear()
    src = mod.LoroDoc()
    src.peer_id = 999
    src.get_text("t").insert(0, "p")
    src.get_counter("c").increment(1)
    src.get_map("m").insert("pz", 1)
    src.get_list("l").insert(0, 1)
    src.get_tree("tr").create()
    new_roots(src, 10)
    src.commit()
    d.import_(src.export(mod.ExportMode.Snapshot()))
    assert subs
    return [[df[0] for df in ev[3]] for ev in got]


@pytest.mark.parametrize("deleted,action", list(itertools.product(
    [0, 1, None], ["export", "range", "lookup", "none"])))
def test_a_deleted_nodes_meta_map_waits_for_a_parse_of_its_block(deleted, action):
    assert _order(loro_c, deleted, action) == _order(loro, deleted, action)
