"""What loro 1.17.1's arena registers when an import_batch of a snapshot and updates past it
moves a document nobody records to the latest version, and the updates insert, delete or
move elements of a movable list concurrently to the snapshot's version
(doc/exchange.pxi lazy_move_parses, its `seq`).

The list's calculator then rebuilds its tracker from the empty version: a causal walk of
the whole history, whose first read of a change block of the snapshot's history parses the
block and numbers its containers. So the blocks come in the walk's order, not in the key
order (peer, then counter) of the history cache's visit: here peer 3's block (a root list)
before peer 1's (the other roots), though peer 1's key is the smaller. A set of an
element, or a sequence op that follows the snapshot's version, leaves the order to the
history cache. Each case then commits edits of every root in several orders: the local
event lists equal-depth containers in loro's hash-map order of their numbers, which is
compared with loro's (kinds late-subscriber session 18850)."""

import random

import pytest

import loro
import loro_c

ROOTS = [("t", "text"), ("ml", "movable_list"), ("tr", "tree"), ("c", "counter"),
         ("m", "map"), ("l", "list")]


def _updates(mod, p, q, case):
    ml = p.get_movable_list("ml")
    if case == "insert":
        ml.insert(0, True)
    elif case == "delete":
        ml.delete(0, 1)
    elif case == "insert a child":
        ml.insert_container(0, mod.LoroMap())
    elif case == "set":
        ml.set(0, 9)
    elif case == "insert after the snapshot":
        p.import_(q.export(mod.ExportMode.Snapshot()))
        ml.insert(0, True)
    p.commit()


def _loaded(mod, case):
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_counter("c").increment(4)
    a.get_movable_list("ml").insert(0, True)
    a.get_map("m").insert("c", True)
    a.get_text("t").insert(0, "ab")
    a.get_tree("tr").create(None)
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 3
    b.get_list("l").insert(0, 2)
    b.commit()
    p = mod.LoroDoc()
    p.peer_id = 115
    p.import_(a.export(mod.ExportMode.Snapshot()))
    p.import_(b.export(mod.ExportMode.Snapshot()))
    p.get_tree("tr").create(None)
    p.commit()
    q = mod.LoroDoc()
    q.peer_id = 121
    q.import_(p.export(mod.ExportMode.Snapshot()))
    q.get_text("t").insert(0, "zz")
    q.get_movable_list("ml").delete(0, 1)
    q.commit()
    _updates(mod, p, q, case)
    d = mod.LoroDoc()
    d.peer_id = 136
    d.import_batch([q.export(mod.ExportMode.Snapshot()),
                    p.export(mod.ExportMode.Updates(mod.VersionVector()))])
    d.get_deep_value()
    return d


def _edit_order(mod, case, order):
    d = _loaded(mod, case)
    got = []
    sub = d.subscribe_root(lambda e: got.append([getattr(x.target, "name", None)
                                                 for x in e.events]))
    for name, kind in order:
        h = getattr(d, "get_" + kind)(name)
        if kind == "text":
            h.insert(0, "q")
        elif kind in ("list", "movable_list"):
            h.insert(0, 7)
        elif kind == "map":
            h.insert("zz", 7)
        elif kind == "counter":
            h.increment(1)
        else:
            h.create(None)
    d.commit()
    sub.unsubscribe()
    return [n for n in got[-1] if n is not None]


@pytest.mark.parametrize("case", ["insert", "delete", "insert a child", "set",
                                  "insert after the snapshot"])
def test_a_batch_move_rebuilding_a_movable_lists_tracker_numbers_blocks_in_causal_order(case):
    rnd = random.Random(7)
    for k in range(4):
        order = rnd.sample(ROOTS, len(ROOTS)) if k else ROOTS[::-1]
        assert _edit_order(loro_c, case, order) == _edit_order(loro, case, order), order
