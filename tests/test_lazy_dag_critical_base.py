"""What loro's lazily read DAG has read when it replays a concurrent import from a
critical version decides the order the replay meets the containers in (probed on loro
1.17.1, its calls traced; late kinds differential sessions 8229 and 363).

An import whose new changes are concurrent with old ops on a container other than maps
and counters is replayed from a critical version. When loro's meet search leaves a path
unmatched and uncovered, loro searches down from the version before: for each peer's ids
past the cut, the version the first op of each change above it has in its history; one
that does not hold the cut lowers it, and the ids that exposes are pushed on a stack,
peer by peer in the order of a map of the peers; the search stops when the cut is empty.
It takes the changes from the change store, so it sees every one; what it reads of the
DAG is the version of each change's deps, which reads the nodes of every peer of it.
After a snapshot load loro's DAG builds a peer's nodes only when it first looks up one
of its ids (tests/test_lazy_dag_split.py): until then the nodes of other peers that only
its changes depend on are not split there. The replay then walks the nodes from the
base, starting with the roots in the order of a hash map of node ids, and a peer whose
nodes it builds on the way splits only the nodes it has not walked yet.

In the 8229 shape the document (peer 143) is loaded from a snapshot holding peers 1, 2 and
123; its commit 0@143 (deps 0@123) reads 123; the import brings 115's change on 2@2 and
123's on 1@115 and 0@123. The search lowers the cut to {2: 3} (the history of 0@115) and,
at 0@1 (no deps), to the empty version, whatever the order. Peer 1 is read before that
only by the version of 123's or 143's change, so whether their exposed ids come before
1's depends on the map's order of 1, 123 and 143. Unread, peer 1 leaves 2's node 0@2..2@2
whole (1@1 depends on 0@2) when the replay walks 2 first, and the hash map of node ids
then holds one node of 2 less: with 123 the replay starts at 0@1 and the event lists map m
before the movable list; with 4 it starts at 0@2 (the movable list first), as after a
checkout round trip, which reads every block. With 165, 170 or 187 for peer 1 the map
yields 0@2 last even so, and the replay starts there. A peer id of 123's above 143's makes loro's meet search expand 123's
change first (a tie of Lamports goes to the greater peer) and read peer 1 there.

In the 363 shape the check of the unmatched path's tip goes down from the meet's node
0@134 to those not below the Lamport of the tip node's first op: 1's node from 7@1
(Lamport 7) is looked at, and its dep 1@2 reads peer 2, before the replay walks it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import loro  # noqa: E402

import loro_c  # noqa: E402
from _events_util import nev, peer_doc, span_mode  # noqa: E402

MODS = (loro, loro_c)


def _round_trip(mod, d):
    d.checkout(mod.Frontiers())
    d.checkout_to_latest()


# calls before the import that read every block of loro's DAG, or none
_READS = {
    "checkout": _round_trip,
    "export_updates": lambda mod, d: d.export(mod.ExportMode.Updates(mod.VersionVector())),
    "export_json": lambda mod, d: d.export_json_updates(mod.VersionVector(), d.oplog_vv),
}


def _roots(got):
    return [t[1] for t in got if t[0] == "root"]


def _observe(d):
    got = []
    subs = [d.subscribe_root(lambda e: got.append([x[0] for x in nev(e)[3]]))]
    d.get_deep_value()
    return got, subs


def _shape_8229(mod, read_first=None, batch=True, peer_b=123, peers=(1, 2, 115, 143)):
    """The last import event's roots in a document loaded from a snapshot (`batch`: by
    import_batch with the updates of the same version) and subscribed after the load;
    `read_first`: a call of _READS made before its commit and import; `peer_b`: the
    peer id of the document whose changes on 0@115 the import brings; `peers`: the ids
    of the peers 1, 2, 115 and 143."""
    p1, p2, pc, pd = peers
    def inner(d):
        return d.get_container(mod.ContainerID.Normal(p2, 0, mod.ContainerType.Map()))
    a, b = peer_doc(mod, p1), peer_doc(mod, p2)
    b.get_list("l").insert_container(0, mod.LoroMap())
    a.get_movable_list("ml").insert(0, 2)
    a.import_(b.export(span_mode(mod, p2, 0, 1)))
    a.get_text("t").insert(0, "\U0001F600x")
    inner(b).insert("a", {"k": 1})
    b.get_map("m").insert("d", "s")
    c = peer_doc(mod, pc)
    c.import_(b.export(mod.ExportMode.Snapshot()))
    a.get_counter("c").increment(-1)
    a.import_(b.export(span_mode(mod, p2, 1, 3)))
    b = peer_doc(mod, peer_b)
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_tree("tr").create(None)
    inner(c).insert("c", None)
    c.get_counter("c").increment(-1)
    a.import_batch([b.export(mod.ExportMode.Snapshot()),
                    b.export(mod.ExportMode.Updates(mod.VersionVector()))])
    b.import_(c.export(span_mode(mod, pc, 0, 2)))
    snap = a.export(mod.ExportMode.Snapshot())
    d = peer_doc(mod, pd)
    if batch:
        d.import_batch([snap, a.export(mod.ExportMode.Updates(mod.VersionVector()))])
    else:
        d.import_(snap)
    got, subs = _observe(d)
    if read_first is not None:
        _READS[read_first](mod, d)
    b.get_map("m").insert("d", {"k": 1})
    inner(d).delete("a")
    b.get_movable_list("ml").insert(0, {"k": 1})
    upd = b.export(mod.ExportMode.Updates(d.oplog_vv))
    got.clear()
    d.import_(upd)
    del subs
    return _roots(got[-1])


PEER1_FIRST = ["c", "m", "ml"]     # the replay starts at 0@1 (its movable list)
PEER2_FIRST = ["c", "ml", "m"]     # at 0@2 (its map m)


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("read_first", [None] + sorted(_READS))
def test_an_unread_peer_leaves_the_node_it_depends_on_whole(read_first, batch):
    want, have = (_shape_8229(m, read_first, batch) for m in MODS)
    assert want == have
    assert want == (PEER2_FIRST if read_first == "checkout" else PEER1_FIRST)


@pytest.mark.parametrize("peer_b, read", [
    (123, False), (3, False), (10, False),   # 0@1 met before 1 is read: the search stops
    (4, True), (100, True), (300, True),     # met after 123's or 143's change read 1
    (150, True),                             # the meet search reads it (150 > 143)
])
def test_the_search_order_decides_whether_the_peer_is_read(peer_b, read):
    want, have = (_shape_8229(m, peer_b=peer_b) for m in MODS)
    assert want == have
    assert want == (PEER2_FIRST if read else PEER1_FIRST)


@pytest.mark.parametrize("peer_b, peers, first", [
    # peer 1 unread: the hash map of the replay's node ids, one node of 2 short, decides
    (123, (1, 2, 115, 143), PEER1_FIRST), (123, (167, 2, 115, 143), PEER1_FIRST),
    (123, (165, 2, 115, 143), PEER2_FIRST), (123, (170, 2, 115, 143), PEER2_FIRST),
    (123, (187, 2, 115, 143), PEER2_FIRST), (265, (109, 2, 177, 315), PEER2_FIRST),
    (138, (146, 2, 251, 397), PEER2_FIRST), (326, (80, 2, 294, 350), PEER2_FIRST),
    # the search pops the union's ids first, in that map's order: 205's change before
    # 163's, and its version reads peer 391 before 0@391 is met
    (205, (391, 17, 163, 422), PEER2_FIRST),
])
def test_the_replay_starts_at_the_root_its_node_map_gives_last(peer_b, peers, first):
    want, have = (_shape_8229(m, peer_b=peer_b, peers=peers) for m in MODS)
    assert want == have
    assert want == first


def _shape_363(mod, text):
    """The last import event's roots (session 363, shrunk): peer 101's change inserts
    `text` into text t between its movable list and list ops, so the tip of the path the
    meet search leaves unmatched has a Lamport 1 + len(text) above 1's node from 7@1."""
    a, b, c = peer_doc(mod, 1), peer_doc(mod, 2), peer_doc(mod, 101)
    a.get_text("t").insert(0, "xx")
    c.get_map("m").insert_container("a", mod.LoroMap())
    c.get_container(mod.ContainerID.Normal(101, 0, mod.ContainerType.Map())).delete("a")
    tr = b.get_tree("tr")
    tr.create(None)
    tr.create(mod.TreeID(2, 0))
    a.get_list("l").insert_container(0, mod.LoroText())
    a.get_container(mod.ContainerID.Normal(1, 2, mod.ContainerType.Text())).insert(0, "bb")
    a.import_(c.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_tree("tr").create(None)
    c.import_with(a.export(span_mode(mod, 1, 0, 6)), "sync")
    a.get_counter("c").increment(0)
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_list("l").insert(0, None)
    c.get_movable_list("ml").insert_container(0, mod.LoroList())
    a.get_tree("tr").create(mod.TreeID(1, 5))
    d = peer_doc(mod, 134)
    d.import_batch([a.export(mod.ExportMode.Snapshot()),
                    a.export(mod.ExportMode.Updates(mod.VersionVector()))])
    got, subs = _observe(d)
    if text:
        c.get_text("t").insert(1, text)
    c.get_list("l").insert(1, 2)
    d.get_tree("tr").create(mod.TreeID(1, 8))
    upd = c.export(mod.ExportMode.Updates(d.oplog_vv))
    got.clear()
    d.import_with(upd, "sync")
    del subs
    return _roots(got[-1])


@pytest.mark.parametrize("text", ["", "a", "\u4e2dz", "abc"])
def test_the_tip_check_reads_down_to_the_tip_nodes_first_lamport(text):
    want, have = (_shape_363(m, text) for m in MODS)
    assert want == have
    assert want[:2] == ["l", "ml"]
