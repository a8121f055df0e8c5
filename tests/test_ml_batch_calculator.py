"""An import_batch nobody records still feeds the document's MovableList diff calculator.

loro imports a batch's blobs detached, then moves its state to the latest version through
the document's own diff calculator, the one its checkouts use, whether anyone listens or
not. That calculator keeps the elements of the ops each move walks in a hash map, kept from
one checkout to the next, and a later checkout's MovableList event lists its elements in
that map's order, which decides where an element's insert lands next to the delete of its
old list item. A subscriber added only after the batch must see the checkout loro reports
(kinds late session 1956: [delete 1, insert (move), insert] against loro_c's [insert
(move), insert, delete 1])."""
import loro
import pytest

import loro_c


def _items(diff):
    out = []
    for it in diff:
        kind = type(it).__name__.rsplit("_", 1)[-1].rsplit(".", 1)[-1]
        if kind == "Insert":
            out.append(("insert", [v.value if hasattr(v, "value") else v for v in it.insert],
                        it.is_move))
        elif kind == "Delete":
            out.append(("delete", it.delete))
        else:
            out.append(("retain", it.retain))
    return out


def _vv_of(mod, blob):
    """The version a document that imported only `blob` is at (encoded)."""
    d = mod.LoroDoc()
    d.import_(blob)
    return d.oplog_vv.encode()


def _checkout_back(mod, first, late):
    """Peer 2's list [None] (an insert, then a set) reaches document d in an import_batch
    (after `first`: a snapshot, one of an empty document, or its first change while d
    has a state of its own);
    peer 1 inserts [1, 'x'] concurrently, then moves peer 2's element before it. d checks
    out the version the batch left, then back: the MovableList diffs of both moves."""
    a, b = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    b.get_movable_list("ml").insert(0, "c")
    b.commit()
    part = b.export(mod.ExportMode.Updates(mod.VersionVector()))
    b.get_movable_list("ml").set(0, None)
    b.commit()
    a.get_movable_list("ml").insert(0, [1, "x"])
    a.commit()
    d = mod.LoroDoc()
    d.peer_id = 9
    got = []

    def listen():
        return d.subscribe_root(lambda e: got.extend(
            _items(x.diff.diff) for x in e.events if "ml" in str(x.target)))

    if first == "updates":
        # an attached document with a state of its own, given peer 2's changes in two
        # blobs: the move starts at its latest version
        d.get_text("t").insert(0, "hi")
        d.commit()
        blobs = [part, b.export(mod.ExportMode.Updates(mod.VersionVector.decode(
            _vv_of(mod, part))))]
    else:
        base = mod.LoroDoc()
        base.peer_id = 3
        if first == "snapshot":
            base.get_text("t").insert(0, "hi")
            base.commit()
        blobs = [base.export(mod.ExportMode.Snapshot()),
                 b.export(mod.ExportMode.Updates(mod.VersionVector()))]
    sub = None if late else listen()
    d.import_batch(blobs)
    if late:
        sub = listen()
    at = d.oplog_frontiers
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_movable_list("ml").mov(1, 0)
    a.commit()
    d.import_(a.export(mod.ExportMode.Updates(d.oplog_vv)))
    got.clear()
    d.checkout(at)
    d.checkout_to_latest()
    sub.unsubscribe()
    return got, d.get_deep_value()


@pytest.mark.parametrize("late", [False, True], ids=["early", "late"])
@pytest.mark.parametrize("first", ["snapshot", "empty-snapshot", "updates"])
def test_a_checkout_after_an_unrecorded_batch_lists_loros_items(first, late):
    assert _checkout_back(loro_c, first, late) == _checkout_back(loro, first, late)
