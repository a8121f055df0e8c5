"""A MovableList's snapshot state reaches the document as C records, one per list item
(codec decode_movable_list_state -> state/snapshot_load.pxi thin_ml_elems), not an object
per item, and the elements' IdLp table is filled when something first looks an element up
(state/movable_list.pxi ml_elem_lookup), not at the load. loro's rule pinned here: a loaded
movable list reads, imports, edits, undoes and checks out exactly as loro's load of the
same snapshot, whatever its items went through: an element moved many times (its old items
left with no element on them), elements deleted, values set by other peers, values that
are containers; and a deep value reads a root list once for its numbering and its value
(doc/registry.pxi number_reached `plain`) with the same result."""
import pytest

import loro
import loro_c

from _events_util import nev
from test_snapshot_lazy_maps import _plain

MODS = (loro_c, loro)


def _history(mod):
    """Peer 1 pushes plain values and containers, moves one element many times, deletes
    some; peer 2, from a copy, moves, sets and inserts concurrently; merged."""
    doc = mod.LoroDoc()
    doc.peer_id = 1
    ml = doc.get_movable_list("ml")
    for i in range(24):
        if i % 6 == 3:
            rec = ml.push_container(mod.LoroMap())
            rec.insert("n", i)
            if i % 12 == 3:
                rec.insert_container("sub", mod.LoroList()).push(i)
        elif i % 6 == 5:
            ml.push_container(mod.LoroCounter()).increment(i)
        else:
            ml.push(i)
    doc.commit()
    for k in range(40):
        ml.mov(k % len(ml), (k * 7 + 3) % len(ml))
        if k % 5 == 0:
            ml.set((k * 3) % len(ml), f"set{k}")
        doc.commit()
    ml.delete(2, 3)
    ml.delete(len(ml) - 2, 1)
    doc.commit()
    other = mod.LoroDoc()
    other.peer_id = 2
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    oml = other.get_movable_list("ml")
    oml.mov(0, len(oml) - 1)
    oml.set(1, {"from": 2})
    oml.insert(3, "two")
    oml.set_container(5, mod.LoroText()).insert(0, "text from 2")
    oml.delete(7, 1)
    other.commit()
    ml.mov(len(ml) - 1, 0)
    ml.set(1, "concurrent")
    doc.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    doc.get_map("m").insert("k", 1)
    doc.commit()
    return doc


@pytest.fixture(scope="module")
def blobs():
    return {mod: _history(mod).export(mod.ExportMode.Snapshot()) for mod in MODS}


def _load(mod, blob):
    d = mod.LoroDoc()
    d.import_(blob)
    return d


def test_a_loaded_list_of_moved_deleted_and_set_elements_reads_as_loro(blobs):
    for read in (lambda d: d.get_deep_value(), lambda d: d.get_value(),
                 lambda d: d.get_movable_list("ml").get_deep_value(),
                 lambda d: [d.get_movable_list("ml").get_creator_at(i)
                            for i in range(len(d.get_movable_list("ml")))],
                 lambda d: [d.get_movable_list("ml").get_last_mover_at(i)
                            for i in range(len(d.get_movable_list("ml")))],
                 lambda d: [d.get_movable_list("ml").get_last_editor_at(i)
                            for i in range(len(d.get_movable_list("ml")))]):
        got = [_plain(read(_load(mod, blobs[mod]))) for mod in MODS]
        assert got[0] == got[1]


def _remote_edits(mod, blob):
    """Peer 3's moves and sets of elements the snapshot holds (looked up by their IdLp)."""
    d = _load(mod, blob)
    d.peer_id = 3
    ml = d.get_movable_list("ml")
    vv = d.oplog_vv
    for k in range(6):
        ml.mov(k, len(ml) - 1 - k)
        ml.set(len(ml) // 2 - k, f"p3-{k}")
    d.commit()
    return d.export(mod.ExportMode.Updates(vv))


def test_an_import_moving_and_setting_loaded_elements_gives_loros_events(blobs):
    got = []
    for mod in MODS:
        d = _load(mod, blobs[mod])
        evs = []
        d.subscribe_root(lambda e: evs.append(nev(e)))
        d.import_(_remote_edits(mod, blobs[mod]))
        got.append((evs, _plain(d.get_deep_value())))
    assert got[0] == got[1]


def test_local_edits_and_their_undo_after_a_load_read_as_loro(blobs):
    got = []
    for mod in MODS:
        d = _load(mod, blobs[mod])
        undo = mod.UndoManager(d)
        ml = d.get_movable_list("ml")
        steps = []
        for k in range(4):
            ml.mov(k * 2, len(ml) - 1)
            ml.set(k, f"local{k}")
            d.commit()
            steps.append(_plain(d.get_deep_value()))
        while undo.can_undo():
            undo.undo()
            steps.append(_plain(d.get_deep_value()))
        got.append(steps)
    assert got[0] == got[1]


def test_a_checkout_of_a_loaded_list_reads_as_loro(blobs):
    got = []
    for mod in MODS:
        d = _load(mod, blobs[mod])
        evs = []
        d.subscribe_root(lambda e: evs.append(nev(e)))
        seen = []
        for fr in ([mod.ID(1, 30)], [mod.ID(1, 60), mod.ID(2, 3)], [mod.ID(1, 5)]):
            d.checkout(mod.Frontiers.from_ids(fr) if hasattr(mod.Frontiers, "from_ids")
                       else fr)
            seen.append(_plain(d.get_deep_value()))
        d.checkout_to_latest()
        seen.append(_plain(d.get_deep_value()))
        got.append((seen, evs))
    assert got[0] == got[1]


@pytest.mark.parametrize("n_moves", [0, 1, 200])
def test_one_element_moved_many_times_reads_as_loro(n_moves):
    """Every move leaves an item no element stands on: the records of those items carry
    no element, and the element's counter is not its item's."""
    got = []
    for mod in MODS:
        doc = mod.LoroDoc()
        doc.peer_id = 9
        ml = doc.get_movable_list("ml")
        for i in range(5):
            ml.push(i)
        for k in range(n_moves):
            ml.mov(k % 5, (k + 2) % 5)
        ml.set(0, "last")
        doc.commit()
        d = _load(mod, doc.export(mod.ExportMode.Snapshot()))
        d.peer_id = 10
        first = _plain(d.get_deep_value())
        d.get_movable_list("ml").mov(4, 0)
        d.commit()
        got.append((first, _plain(d.get_deep_value()),
                    [d.get_movable_list("ml").get_creator_at(i) for i in range(5)]))
    assert got[0] == got[1]
