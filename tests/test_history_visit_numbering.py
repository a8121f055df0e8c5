"""A recorded snapshot load (a subscriber attached before it) numbers every container of the
loaded state, but not a dead child of the history that no value reaches: loro registers it
when something parses its change block (LoroDoc.lnum_rest). One such parse is the first
build of loro's history cache of map ops, which a map's diff calculator reads in an import
concurrent to the document's own changes (DiffMode::Import): it visits every block. So the
dead counter gets its number at that import, before a root a later import brings, and the
two come in that order in a later event's map of diffs (keyed by the container index).
loro_c numbered it only after a load nobody recorded (tests/test_import_walk_numbering.py).

Late-subscriber session 21028 of tests/test_events_differential.py, shrunk: a checkout
back over the counter's, the list's and the text's changes (loro 1.17.1: c, l, t)."""

import itertools

import loro
import pytest

import loro_c
from _events_util import nev


def _doc(mod, peer):
    d = mod.LoroDoc()
    d.peer_id = peer
    return d


def _session(mod, listen, child, concurrent, map_edit, late_root):
    first = _doc(mod, 3)
    lst = first.get_list("l")
    if child:
        lst.insert_container(0, mod.LoroCounter())     # 0@3: the child that dies
    else:
        lst.insert(0, 5)
    lst.delete(0, 1)
    first.get_text("t").insert(0, "\N{GRINNING FACE}z")
    first.commit()
    relay = _doc(mod, 1)
    relay.import_(first.export(mod.ExportMode.Updates(mod.VersionVector())))
    writer = _doc(mod, 113)
    writer.import_batch([relay.export(mod.ExportMode.Snapshot()),
                         relay.export(mod.ExportMode.Updates(mod.VersionVector()))])
    writer.get_text("t").insert(2, "\N{GRINNING FACE}\u4e2db")
    writer.commit()

    d = _doc(mod, 122)
    got = []
    subs = []
    if listen == "before load":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    d.import_(writer.export(mod.ExportMode.Snapshot()))
    if listen == "after load":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    d.get_list("l").insert(0, [1, "x"])
    if concurrent:
        d.get_text("t").delete(1, 3)
    d.commit()
    if map_edit:
        writer.get_map("m").insert("d", 1)
    writer.get_text("t").insert(3, "  ")
    writer.commit()
    # (back to the first of the two spaces: inside the writer's last change)
    back = mod.Frontiers.from_id(mod.ID(113, writer.oplog_vv.get_last(113) - 1))
    d.import_(writer.export(mod.ExportMode.Updates(d.oplog_vv)))
    if late_root == "counter":
        writer.get_counter("c").increment(1)
    else:
        writer.get_list("l2").insert(0, 7)
    writer.commit()
    d.import_(writer.export(mod.ExportMode.Updates(d.oplog_vv)))
    d.checkout(back)
    return [[diff[0] for diff in ev[3]] for ev in got], d.get_deep_value()


CASES = list(itertools.product(("before load", "after load"), (True, False), (True, False),
                               (True, False), ("counter", "list")))


@pytest.mark.parametrize("listen,child,concurrent,map_edit,late_root", CASES)
def test_history_visit_numbers_the_waiting_dead_child_as_loro(listen, child, concurrent, map_edit,
                                                              late_root):
    want = _session(loro, listen, child, concurrent, map_edit, late_root)
    assert _session(loro_c, listen, child, concurrent, map_edit, late_root) == want


def test_the_shrunk_session_orders_the_checkout_as_loro():
    """The case of session 21028 itself: loro lists c before l (the dead counter took
    number 3 at the concurrent import, so the counter root c took 4)."""
    targets, _ = _session(loro, "before load", True, True, True, "counter")
    assert [t[1] for t in targets[-1]] == ["c", "l", "t"]
    got, _ = _session(loro_c, "before load", True, True, True, "counter")
    assert got == targets
