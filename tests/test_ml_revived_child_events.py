"""A movable list element deleted at the version before that a concurrent move brings back:
loro 1.17.1's state takes every child container a diff inserts (not as a move) into its set
to revive, and shows such a child's whole value after applying its own diff, so a child the
import edits too shows its whole value, not its own ops' diff (loro's DocState::apply_diff;
collect/whole_values.pxi shown_whole, latek differential session 14556: a counter at 2
incremented by -3 showed -3.0, loro -1.0). Without the delete the element is only moved:
an is_move insert revives nothing, and the child shows its own diff."""
import pytest

import loro
import loro_c
from _events_util import nev


def _session(lib, kind, deleted, moved, edited, pos):
    a, b, c = lib.LoroDoc(), lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id, c.peer_id = 1, 2, 3
    ml = a.get_movable_list("ml")
    if pos:
        ml.insert(0, 5)
    x = ml.insert_container(pos, getattr(lib, kind)())
    if kind == "LoroCounter":
        x.increment(2)
    elif kind == "LoroMap":
        x.insert("k", 1)
    else:
        x.insert(0, "ab" if kind == "LoroText" else 7)
    if not pos:
        ml.insert(1, 5)
    a.commit()
    for d in (b, c):
        d.import_(a.export(lib.ExportMode.Snapshot()))
    if deleted:
        b.get_movable_list("ml").delete(pos, 1)
    b.get_text("t").insert(0, "z")      # (concurrent to c's change)
    b.commit()
    if moved:
        c.get_movable_list("ml").mov(pos, 1 - pos)
    if edited:
        y = c.get_container(x.id)
        if kind == "LoroCounter":
            y.increment(-3)
        elif kind == "LoroMap":
            y.insert("j", 2)
        else:
            y.insert(1, "Q" if kind == "LoroText" else 8)
    c.commit()
    got = []
    sub = b.subscribe_root(lambda e: got.append(nev(e)))
    b.import_(c.export(lib.ExportMode.Updates(b.oplog_vv)))
    del sub
    return got


@pytest.mark.parametrize("kind", ["LoroCounter", "LoroText", "LoroList", "LoroMap"])
@pytest.mark.parametrize("deleted,moved,edited", [(True, True, True), (True, True, False),
                                                  (False, True, True), (True, False, True)])
@pytest.mark.parametrize("pos", [0, 1])
def test_a_child_brought_back_by_a_concurrent_move_shows_its_whole_value(kind, deleted, moved,
                                                                         edited, pos):
    want = _session(loro, kind, deleted, moved, edited, pos)
    assert _session(loro_c, kind, deleted, moved, edited, pos) == want
