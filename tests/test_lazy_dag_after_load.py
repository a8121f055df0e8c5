"""Which of loro's lookups read a peer's change block between a snapshot load and an
import's causal walk (probed on loro 1.17.1; kinds session 12041, late kinds 16843).

After a snapshot load loro's DAG builds a peer's nodes when it first looks up one of its
ids, and splits a node only where a change already read depends on it
(tests/test_lazy_dag_split.py: the walk lists the nodes it sees, which can decide the
order of an import event's roots). What the model takes as read before the walk:
- the local commit's deps and the import's new changes' deps (their Lamports);
- the base search's lookups: the deps of the nodes holding the version before's ids and
  the deps of the nodes the new changes' old deps are in (no further down: in kinds
  19975 the peer of the commit's dep's own dep stays unread).
Where loro's reads are not known (the version before has two ids, or a new change depends
on another peer's op) the walk sees every block read, as it did before the model: there
loro's events match that view (12041, 16843)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import loro  # noqa: E402

import loro_c  # noqa: E402
from _events_util import nev, peer_doc, span_mode  # noqa: E402

MODS = (loro, loro_c)


def _watch(d, got):
    """A root subscriber (the names of the roots each event targets) and one on map m, as
    the sessions have."""
    subs = [d.subscribe_root(lambda e: got.append([x[0][1] for x in nev(e)[3]])),
            d.subscribe(d.get_map("m").id, lambda e: None)]
    d.get_deep_value()
    return subs


def _new_peer_import(mod):
    """12041: a document restarted from a snapshot (peer 128) commits on a map, then
    imports a new peer's first change, which depends on 2@2 and 3@3. Peer 111's block
    (111@0 depends on 2@1) is read in loro before the walk lists peer 2's nodes: the
    walk sees 2:[0,2) and 2:2 apart (t, l, ml)."""
    a, b, c = peer_doc(mod, 1), peer_doc(mod, 2), peer_doc(mod, 3)
    b.get_tree("tr").create(None)
    b.get_counter("c").increment(5)
    a.import_(b.export(span_mode(mod, 2, 0, 2)))
    c.get_text("t").insert(0, "zxc\u4e2d")
    a.import_(c.export(span_mode(mod, 3, 0, 4)))
    c = peer_doc(mod, 111)
    c.import_(a.export(mod.ExportMode.Snapshot()))
    c.get_map("m").delete("b")
    b.get_movable_list("ml").insert_container(0, mod.LoroMap())
    c.import_with(b.export(span_mode(mod, 2, 2, 4)), "sync")
    a.import_json_updates(b.export_json_updates(a.oplog_vv, b.oplog_vv))
    a.get_list("l").insert(0, {"k": 1})
    c.get_list("l").insert_container(0, mod.LoroMap())
    u3, u111 = c.export(span_mode(mod, 3, 0, 4)), c.export(span_mode(mod, 111, 0, 3))
    b.import_(u3)
    b.import_(u111)
    a.get_movable_list("ml").set(0, True)
    b.get_counter("c").increment(2)
    d = peer_doc(mod, 128)
    got = []
    subs = _watch(d, got)
    d.import_(b.export(mod.ExportMode.Snapshot()))
    d.get_container(mod.ContainerID.Normal(111, 1, mod.ContainerType.Map())).insert("b", True)
    a.get_text("t").insert(2, "\u00e9 ")
    got.clear()
    d.import_(a.export(mod.ExportMode.Updates(d.oplog_vv)))
    del subs
    return got


def test_a_new_peers_first_change_walks_every_block_read():
    want, have = (_new_peer_import(m) for m in MODS)
    assert want == have
    assert want[-1] == ["t", "l", "ml"]


def _late_import(mod, local_op):
    """16843: peer 149 loads a snapshot of peer 123 (subscribed after the load), then
    imports peer 1's changes past 1@7. 1@6 depends on peer 3's 3@1, whose read splits
    peer 1's node at 1@3 before the walk lists peer 1 (l before t). Without `local_op`
    the version before is 123@0 and 1@7 (two ids); with it, 123@1 (one id, depending on
    1@7): the search reads the deps of the node 1@7 is in (the new changes continue it)."""
    a, c = peer_doc(mod, 1), peer_doc(mod, 3)
    a.get_list("l").insert_container(0, mod.LoroList())
    c.import_with(a.export(span_mode(mod, 1, 0, 1)), "sync")
    a.get_tree("tr").create(None)
    a.get_counter("c").increment(-2)
    a.get_tree("tr").create(None)
    c.get_container(mod.ContainerID.Normal(1, 0, mod.ContainerType.List())).insert_container(
        0, mod.LoroMap())
    c.import_(a.export(mod.ExportMode.Updates(c.oplog_vv)))
    a.get_map("m").delete("d")
    a.import_with(c.export(span_mode(mod, 3, 0, 1)), "sync")
    c.get_counter("c").increment(1)
    b = peer_doc(mod, 123)
    b.import_(a.export(mod.ExportMode.Snapshot()))
    a.get_counter("c").increment(-2)
    a.import_(c.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_text("t").insert(0, "\U0001f600\u4e2d")
    b.get_list("l").delete(0, 1)
    c.import_with(a.export(span_mode(mod, 1, 4, 8)), "sync")
    u1, u3 = c.export(span_mode(mod, 1, 5, 8)), c.export(span_mode(mod, 3, 1, 5))
    b.import_with(u3, "sync")
    b.import_with(u1, "sync")
    if local_op:
        b.get_counter("c").increment(1)
    a.get_list("l").insert_container(1, mod.LoroCounter())
    a.get_text("t").delete(1, 1)
    d = peer_doc(mod, 149)
    d.import_(b.export(mod.ExportMode.Snapshot()))
    got = []
    subs = _watch(d, got)
    b.import_with(a.export(span_mode(mod, 1, 8, 13)), "sync")
    got.clear()
    d.import_with(b.export(mod.ExportMode.Updates(d.oplog_vv)), "sync")
    del subs
    return got


def test_a_two_id_version_before_walks_every_block_read():
    want, have = (_late_import(m, False) for m in MODS)
    assert want == have
    assert want[-1] == ["l", "t"]


def test_the_search_reads_the_deps_of_the_continued_node():
    want, have = (_late_import(m, True) for m in MODS)
    assert want == have
    assert want[-1] == ["l", "t"]
