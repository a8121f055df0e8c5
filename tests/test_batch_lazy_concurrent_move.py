"""An import_batch of a snapshot and updates into an empty document nobody subscribes to,
whose updates bring changes concurrent to the snapshot's frontiers: loro moves the state to
the latest version, and that move parses some of the history's change blocks, registering in
its arena the containers they name before anything touches the lazily loaded state (the
rest register as they are touched: doc/exchange.pxi number_lazily_loaded). Which blocks,
in which order (lazy_move_parses): those holding the deps of the snapshot's frontier
changes that the new changes do not have in their history; then those of the changes
from the history the new changes all start from on, in causal order.

Each case loads the batch, subscribes to the root and to a map root x it does not hold,
reads the deep value, then imports edits of several roots: the order of the import's
diffs shows the numbers (late-subscriber differential sessions 557, 962, 1431, 2417)."""

import itertools

import loro
import pytest

import loro_c

from _events_util import nev


def _doc(mod, peer, *blobs):
    d = mod.LoroDoc()
    d.peer_id = peer
    for b in blobs:
        d.import_(b)
    return d


def _snap(mod, d):
    return d.export(mod.ExportMode.Snapshot())


def _all_updates(mod, d):
    return d.export(mod.ExportMode.Updates(mod.VersionVector()))


_EDITS = {
    "t": lambda d: d.get_text("t").insert(0, "z"),
    "u": lambda d: d.get_text("u").insert(0, "z"),
    "l": lambda d: d.get_list("l").insert(0, 7),
    "m": lambda d: d.get_map("m").insert("k", 1),
    "x": lambda d: d.get_map("x").insert("k", 1),
    "c": lambda d: d.get_counter("c").increment(3),
    "d": lambda d: d.get_counter("d").increment(3),
    "k": lambda d: d.get_counter("k").increment(3),
}


def _orders(mod, blobs, edits):
    """The roots of the import's diffs, in order, for each string of edits."""
    out = []
    for names in edits:
        d = mod.LoroDoc()
        d.peer_id = 77
        d.import_batch(blobs)
        got = []
        subs = [d.subscribe_root(lambda e: got.append(nev(e))),
                d.subscribe(mod.ContainerID.Root("x", mod.ContainerType.Map()), lambda e: None)]
        d.get_deep_value()
        src = _doc(mod, 9, *blobs)
        v = src.oplog_vv
        for n in names:
            _EDITS[n](src)
        src.commit()
        got.clear()
        d.import_(src.export(mod.ExportMode.Updates(v)))
        del subs
        out.append([x[0][1] for e in got for x in e[3]])
    return out


def _differences(build, edits):
    """The strings of edits whose import loro_c orders otherwise than loro (the first few)."""
    ours = _orders(loro_c, build(loro_c), edits)
    theirs = _orders(loro, build(loro), edits)
    return [(e, a, b) for e, a, b in zip(edits, theirs, ours) if a != b][:4]


def _two_branches(mod, concurrent):
    """Peer 1 writes text t; peer 2 (from peer 1) list l and makes the snapshot; peer 3
    (from peer 1, concurrent to peer 2) or peer 2 itself (continuing) writes counter c."""
    a = _doc(mod, 1)
    a.get_text("t").insert(0, "a")
    a.commit()
    b = _doc(mod, 2, _snap(mod, a))
    b.get_list("l").insert(0, 1)
    b.commit()
    snap = _snap(mod, b)
    c = _doc(mod, 3, _snap(mod, a)) if concurrent else _doc(mod, 2, snap)
    c.get_counter("c").increment(1)
    c.commit()
    return [snap, _all_updates(mod, c)]


@pytest.mark.parametrize("ops", ["tl", "lt", "tc", "ct", "lc", "cl", "tlc", "ctl", "tm", "mt",
                                 "cm", "tlcm", "mclt"])
@pytest.mark.parametrize("concurrent", [True, False])
def test_the_move_leaves_the_common_history_unparsed(concurrent, ops):
    # the new change starts from peer 1's change: the move parses peer 2's block and its
    # own, not peer 1's (t registers when the deep value reads it, after x)
    assert not _differences(lambda mod: _two_branches(mod, concurrent), [ops])


def _below_the_frontier(mod, new):
    """Peer 1 writes text t; peer 2 (from 1) list l and counter c; peer 4 (from 2) counter
    d and makes the snapshot; peer 3 (from peer 1) makes the new change (`new`: the root
    it edits)."""
    a = _doc(mod, 1)
    a.get_text("t").insert(0, "a")
    a.commit()
    b = _doc(mod, 2, _snap(mod, a))
    b.get_list("l").insert(0, 1)
    b.get_counter("c").increment(1)
    b.commit()
    e = _doc(mod, 4, _snap(mod, b))
    e.get_counter("d").increment(1)
    e.commit()
    c = _doc(mod, 3, _snap(mod, a))
    _EDITS[new](c)
    c.commit()
    return [_snap(mod, e), _all_updates(mod, c)]


_EDIT_STRINGS = ["".join(p) for k in (2, 3) for p in itertools.permutations("tclxd", k)]


@pytest.mark.parametrize("new", ["c", "k", "u", "t"])
def test_the_move_parses_the_blocks_of_the_concurrent_branch(new):
    # the branch of peers 2 and 4 is concurrent to peer 3's change (sharing counter c with
    # it, or nothing): the move replays it from peer 1's change, registering l and c
    # before x, t after it
    assert not _differences(lambda mod: _below_the_frontier(mod, new), _EDIT_STRINGS)
