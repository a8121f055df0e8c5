"""loro's base for a concurrent import goes no lower than what its lazily read DAG shows
(probed on loro 1.17.1; late kinds differential sessions 8229 and 363).

An import whose new changes are concurrent with old ops on a container other than maps
and counters is replayed from a critical version. When loro's meet search leaves a path
unmatched and uncovered, loro searches down from the version before: for each peer's ids
past the cut, the version the first op of each change above it has in its history; one
that does not hold the cut lowers it, and the ids that exposes are pushed on a stack,
peer by peer in the order of a map of the peers, and looked at in turn. After a snapshot
load loro's DAG builds a peer's nodes only when it first looks up one of its ids
(tests/test_lazy_dag_split.py), and the search finds a peer's changes among the nodes
built: the exposed ids of a peer nothing has read yet are skipped, though its first op,
with no deps, is concurrent with all the others and would lower the cut to the empty
version. Reading the version of a change's deps reads every peer of it.

In the 8229 shape the document (peer 143) is loaded from a snapshot holding peers 1, 2 and
123; its commit 0@143 (deps 0@123) reads 123; the import brings 115's change on 2@2 and
123's on 1@115 and 0@123. The search lowers the cut to {2: 3} (the history of 0@115);
peer 1 (0@1, no deps) is read only by the version of 123's or 143's change, so whether
its exposed ids come first depends on the map's order of 1, 123 and 143: with 123 the
base stays {2: 3} and the event lists map m before the movable list; with 4 it goes down
to the empty version (the movable list first), as after a checkout round trip, which
reads every block. A peer id of 123's above 143's makes loro's meet search expand 123's
change first (a tie of Lamports goes to the greater peer) and read peer 1 there.

In the 363 shape the check of the unmatched path's tip goes down from the meet's node
0@134 to those not below the Lamport of the tip node's first op: 1's node from 7@1
(Lamport 7) is looked at, and its dep 1@2 reads peer 2, whose first ops lower the base
to the empty version."""
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


def _shape_8229(mod, read_first=None, batch=True, peer_b=123):
    """The last import event's roots in a document loaded from a snapshot (`batch`: by
    import_batch with the updates of the same version) and subscribed after the load;
    `read_first`: a call of _READS made before its commit and import; `peer_b`: the
    peer id of the document whose changes on 0@115 the import brings."""
    def inner(d):
        return d.get_container(mod.ContainerID.Normal(2, 0, mod.ContainerType.Map()))
    a, b = peer_doc(mod, 1), peer_doc(mod, 2)
    b.get_list("l").insert_container(0, mod.LoroMap())
    a.get_movable_list("ml").insert(0, 2)
    a.import_(b.export(span_mode(mod, 2, 0, 1)))
    a.get_text("t").insert(0, "\U0001F600x")
    inner(b).insert("a", {"k": 1})
    b.get_map("m").insert("d", "s")
    c = peer_doc(mod, 115)
    c.import_(b.export(mod.ExportMode.Snapshot()))
    a.get_counter("c").increment(-1)
    a.import_(b.export(span_mode(mod, 2, 1, 3)))
    b = peer_doc(mod, peer_b)
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_tree("tr").create(None)
    inner(c).insert("c", None)
    c.get_counter("c").increment(-1)
    a.import_batch([b.export(mod.ExportMode.Snapshot()),
                    b.export(mod.ExportMode.Updates(mod.VersionVector()))])
    b.import_(c.export(span_mode(mod, 115, 0, 2)))
    snap = a.export(mod.ExportMode.Snapshot())
    d = peer_doc(mod, 143)
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


UNLOWERED = ["c", "m", "ml"]
LOWERED = ["c", "ml", "m"]


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("read_first", [None] + sorted(_READS))
def test_unread_peer_does_not_lower_the_import_base(read_first, batch):
    want, have = (_shape_8229(m, read_first, batch) for m in MODS)
    assert want == have
    assert want == (LOWERED if read_first == "checkout" else UNLOWERED)


@pytest.mark.parametrize("peer_b, lowered", [
    (123, False), (3, False), (10, False),   # peer 1's ids popped before it is read
    (4, True), (100, True), (300, True),     # popped after 123's or 143's change read it
    (150, True),                             # the meet search reads it (150 > 143)
])
def test_the_search_order_decides_whether_the_peer_is_read(peer_b, lowered):
    want, have = (_shape_8229(m, peer_b=peer_b) for m in MODS)
    assert want == have
    assert want == (LOWERED if lowered else UNLOWERED)


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
