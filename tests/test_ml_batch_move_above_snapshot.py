"""An import_batch that loads a snapshot first moves the state from the snapshot's version
to the latest through the document's own diff calculator, whose MovableList maps keep the
elements of every move's ops from one checkout to the next. When none of the ops past the
snapshot acts on a movable list, that move notes the elements of those ops only: loro does
not note the snapshot's own elements, even when a change of the batch has no deps (a
concurrent import from the empty version would walk them all). Noting them grew the map,
which changes the order a later checkout handles its elements in: where an element's
insert lands beside the delete of another (kinds session 14426, subscribed before the
batch, and late kinds 14426, after: [delete 1, insert] against loro_c's [insert,
delete 1]). When one does, the list's calculator rebuilds its tracker from the empty
version and the whole walk's elements are noted: the batch's own event needs them (late
kinds sessions 10058, 17683, 18036, 19527; `with_ml_op` below)."""
import loro
import pytest

import loro_c
from _events_util import nev


def _doc(mod, peer):
    d = mod.LoroDoc()
    d.peer_id = peer
    return d


def _session(mod, listen, deps_free, with_ml_op=False):
    a, b, c = _doc(mod, 1), _doc(mod, 2), _doc(mod, 3)
    a.get_movable_list("ml").insert_container(0, mod.LoroMap())
    a.commit()
    if deps_free:
        c.get_tree("tr").create(None)           # with the insert below: a change, no deps
    b.get_tree("tr").create(None)
    b.get_map("m").insert("c", None)
    b.commit()
    b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    b.get_movable_list("ml").get(0).container.delete("b")
    c.get_list("l").insert(0, [1, "x"])
    if with_ml_op:
        c.get_movable_list("ml").insert(0, "c")     # a movable list op past the snapshot
    c.commit()
    b.get_movable_list("ml").insert_container(1, mod.LoroText())
    b.commit()
    c.import_(b.export(mod.ExportMode.Updates(c.oplog_vv)))
    snap = b.export(mod.ExportMode.Snapshot())
    upd = c.export(mod.ExportMode.Updates(mod.VersionVector()))

    d = _doc(mod, 118)
    got = []
    subs = []
    if listen == "before batch":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    d.import_batch([snap, upd])
    if listen == "after batch":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    back = d.oplog_frontiers
    d.get_movable_list("ml").delete(0, 1)
    before = c.oplog_vv
    c.get_movable_list("ml").insert(0, None)
    c.commit()
    d.get_movable_list("ml").insert(1, 1)
    d.import_(c.export(mod.ExportMode.Updates(before)))     # (commits d's change first)
    d.checkout(back)
    d.checkout_to_latest()
    return got, d.get_deep_value()


@pytest.mark.parametrize("listen", ("before batch", "after batch", "none"))
@pytest.mark.parametrize("deps_free", (True, False))
@pytest.mark.parametrize("with_ml_op", (False, True))
def test_the_batch_move_notes_only_the_elements_past_the_snapshot(listen, deps_free, with_ml_op):
    assert (_session(loro_c, listen, deps_free, with_ml_op)
            == _session(loro, listen, deps_free, with_ml_op))
