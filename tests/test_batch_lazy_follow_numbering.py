"""What loro 1.17.1's arena registers when an import_batch of a snapshot and updates that
follow the snapshot's frontiers moves a document nobody records to the latest version
(doc/exchange.pxi lazy_move_parses, follows_frontiers).

The snapshot holds two branches: peer 3's history (a change on the roots t, l, c and m,
then more on m and l), peer 1's change on l concurrent to peer 3's last ones, and peer
2's change on c after all of peer 3's: its frontiers are peer 2's and peer 1's changes.
The updates follow those frontiers (a change on c continuing peer 2's, or a new peer's on
one frontier or on both). loro's search for the common ancestor of the snapshot's
frontiers and the log's heads shares each frontier at once (a head still, or the dep of a
new change): the ancestor is the snapshot's version, the move parses none of the
history's blocks, and the roots t and m, which only peer 3's block names, stay
unregistered until touched; updates concurrent to the snapshot from below still walk
peer 3's block (the "from below" cases). loro_c lowered that ancestor to the reach of
each head (the new peer's head lacks peer 1's change) and numbered t and m at the batch
("one frontier"; late-subscriber differential session 9914, FIXED_LATE_SESSIONS). Each case ends with an import that edits
the roots and creates sixteen more, whose event order is compared with loro's."""

import pytest

import loro
import loro_c
from _events_util import new_roots, nev


def _history(mod):
    """The snapshot's document, peer 3's first change alone, and peer 2's branch alone."""
    x = mod.LoroDoc()
    x.peer_id = 3
    x.get_text("t").insert(0, "y")
    x.get_list("l").insert(0, "s")
    x.get_counter("c").increment(1)
    x.get_map("m").insert("a", 1)
    x.commit()
    early = x.export(mod.ExportMode.Snapshot())
    x.get_map("m").insert("a", 2)
    x.commit()
    x.get_list("l").delete(0, 1)
    x.commit()
    b = mod.LoroDoc()
    b.peer_id = 1
    b.import_(early)
    b.get_list("l").insert(0, 1)
    b.commit()
    s = mod.LoroDoc()
    s.peer_id = 2
    s.import_(early)
    s.get_list("l").insert(0, 2)
    s.commit()
    s.import_(x.export(mod.ExportMode.Snapshot()))
    s.get_counter("c").increment(2)
    s.commit()
    branch = s.export(mod.ExportMode.Snapshot())
    s.import_(b.export(mod.ExportMode.Snapshot()))
    return s, early, branch


def _updates(mod, s, early, branch, how):
    vv = s.oplog_vv
    if how == "continue":
        s.get_counter("c").increment(-1)
        s.commit()
        # (from the version before peer 2's changes: its whole block again)
        return s.export(mod.ExportMode.Updates(mod.VersionVector.decode(
            mod.LoroDoc().oplog_vv.encode())))
    u = mod.LoroDoc()
    u.peer_id = 5
    # (a new peer's change on peer 2's frontier alone, on both, or on peer 3's first change)
    u.import_({"one frontier": branch, "from below": early}.get(how) or s.export(mod.ExportMode.Snapshot()))
    v0 = u.oplog_vv
    u.get_counter("c").increment(5)
    u.commit()
    return u.export(mod.ExportMode.Updates(v0))


def _order(mod, how, deep):
    s, early, branch = _history(mod)
    snap = s.export(mod.ExportMode.Snapshot())
    blobs = [snap, _updates(mod, s, early, branch, how)]
    d = mod.LoroDoc()
    d.peer_id = 127
    d.import_batch(blobs)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    if deep:
        d.get_deep_value()
    o = mod.LoroDoc()
    o.peer_id = 999
    o.import_batch(blobs)
    vv = o.oplog_vv
    o.get_text("t").insert(0, "Q")
    o.get_counter("c").increment(3)
    o.get_list("l").insert(0, 7)
    o.get_map("m").insert("Q", 7)
    new_roots(o, 16)
    o.commit()
    d.import_(o.export(mod.ExportMode.Updates(vv)))
    del sub
    return [diff[0] for diff in got[-1][3]]


@pytest.mark.parametrize("deep", [False, True], ids=["no deep value", "deep value"])
@pytest.mark.parametrize("how", ["continue", "one frontier", "both frontiers", "from below"])
def test_updates_following_the_snapshot_parse_nothing(how, deep):
    assert _order(loro_c, how, deep) == _order(loro, how, deep)
