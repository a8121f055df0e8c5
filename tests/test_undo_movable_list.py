"""UndoManager over LoroMovableList, against loro: random sessions of peers, each with an
undo manager, inserting, deleting, moving and setting, committing, syncing in random
directions (so undos meet concurrent moves, sets and deletes), grouping, and undoing and
redoing. After every step both libraries must hold the same values and the same undo/redo
counts, and every undo/redo must report the same result. loro undoes a movable list
element by element (a set is set back, a move moved back, a deleted element inserted
after the nearest element before it that still exists), see loro_c/undo_movable.py."""
import json
import random

import loro
import pytest

import loro_c
from _undo_util import UndoSide, run_against_loro


class Side(UndoSide):
    """One library's peers and their undo managers, editing a MovableList."""

    def edit(self, kind, p, a, b):
        d = self.docs[p]
        ml = d.get_movable_list("ml")
        n = len(ml)
        if kind == "ins":
            ml.insert(a % (n + 1), b)
        elif kind == "del" and n:
            pos = a % n
            ml.delete(pos, min(b, n - pos))
        elif kind == "mov" and n:
            ml.mov(a % n, b % n)
        elif kind == "set" and n:
            ml.set(a % n, b)
        return None

    def state(self):
        return [(d.get_deep_value(), u.undo_count(), u.redo_count())
                for d, u in zip(self.docs, self.undos)]


def run(ops, peers=3):
    run_against_loro(Side(loro, peers), Side(loro_c, peers), ops)


def random_session(rng, peers):
    kinds = ["ins", "ins", "del", "mov", "mov", "set", "commit", "commit", "sync",
             "undo", "undo", "undo", "redo", "group"]
    ops = []
    for _ in range(rng.randrange(10, 60)):
        k = rng.choice(kinds)
        p = rng.randrange(peers)
        if k == "ins":
            ops.append((k, p, rng.randrange(50), rng.randrange(100)))
        elif k == "del":
            ops.append((k, p, rng.randrange(50), rng.randrange(1, 4)))
        elif k == "mov":
            ops.append((k, p, rng.randrange(50), rng.randrange(50)))
        elif k == "set":
            ops.append((k, p, rng.randrange(50), rng.randrange(100, 200)))
        elif k == "sync":
            ops.append((k, p, rng.randrange(peers), 0))
        else:
            ops.append((k, p, 0, 0))
    return ops


@pytest.mark.parametrize("block", range(4))
def test_random_movable_list_undo_sessions_match_loro(block):
    # 80 sessions of three peers and 20 of two, in four blocks
    rng = random.Random(21)
    sessions = [(random_session(rng, 3), 3) for _ in range(80)]
    sessions += [(random_session(rng, 2), 2) for _ in range(20)]
    for ops, peers in sessions[block * 25:(block + 1) * 25]:
        run(ops, peers)


BASE = [10, 11, 12, 13, 14]


def undo_after(lib, mine, theirs, concurrent):
    """Peer 1 edits a shared list (`mine`), peer 2 edits it too (`theirs`, after seeing
    peer 1's edit or concurrently), peer 1 imports that and undoes its edit: the list before
    the undo, undo's result, the undo's ops (JSON) and the list after."""
    a, b = lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    for v in BASE:
        a.get_movable_list("ml").push(v)
    a.commit()
    b.import_(a.export(lib.ExportMode.Snapshot()))
    u = lib.UndoManager(a)
    mine(a.get_movable_list("ml"))
    a.commit()
    if not concurrent:
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
    theirs(b.get_movable_list("ml"))
    b.commit()
    a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
    before = a.get_deep_value()["ml"]
    vv = a.oplog_vv
    r = u.undo()
    a.commit()
    ops = [o["content"]["type"] for c in json.loads(a.export_json_updates(vv, a.oplog_vv))["changes"]
           for o in c["ops"]]
    return before, r, ops, a.get_deep_value()["ml"]


CASES = {
    "set, remote set": (lambda m: m.set(1, 99), lambda m: m.set(1, 77)),
    "set, remote delete": (lambda m: m.set(1, 99), lambda m: m.delete(1, 1)),
    "set, remote move": (lambda m: m.set(1, 99), lambda m: m.mov(1, 4)),
    "insert, remote set": (lambda m: m.insert(1, 99), lambda m: m.set(1, 77)),
    "insert, remote move": (lambda m: m.insert(1, 99), lambda m: m.mov(1, 4)),
    "delete, remote moves the one before": (lambda m: m.delete(1, 2), lambda m: m.mov(0, 2)),
    "delete first, remote moves the next": (lambda m: m.delete(0, 1), lambda m: m.mov(0, 3)),
    "move, remote moves it": (lambda m: m.mov(0, 3), lambda m: m.mov(3, 1)),
    "move, remote moves the next": (lambda m: m.mov(0, 3), lambda m: m.mov(1, 4)),
    "move, remote deletes it": (lambda m: m.mov(0, 3), lambda m: m.delete(3, 1)),
    "move, remote sets it": (lambda m: m.mov(0, 3), lambda m: m.set(3, 55)),
    "move and set": (lambda m: (m.mov(0, 3), m.set(3, 77)), lambda m: m.insert(0, 5)),
    "two moves": (lambda m: (m.mov(4, 0), m.mov(4, 1)), lambda m: m.insert(0, 99)),
    "delete then move": (lambda m: (m.delete(1, 1), m.mov(2, 0)), lambda m: None),
}


@pytest.mark.parametrize("concurrent", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_undo_writes_loros_element_ops(name, concurrent):
    mine, theirs = CASES[name]
    assert undo_after(loro_c, mine, theirs, concurrent) == \
        undo_after(loro, mine, theirs, concurrent)


def test_a_revived_element_stands_for_the_deleted_one():
    # the second undo moves the element the first one inserted again (as loro's)
    def steps(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        ml = d.get_movable_list("ml")
        for v in BASE:
            ml.push(v)
        d.commit()
        u = lib.UndoManager(d)
        ml.mov(1, 3)
        d.commit()
        ml.delete(3, 1)
        d.commit()
        out = []
        for f in (u.undo, u.undo, u.redo, u.redo):
            vv = d.oplog_vv
            out.append((f(), ml.get_value()))
            out.append([o["content"]["type"] for c in json.loads(
                d.export_json_updates(vv, d.oplog_vv))["changes"] for o in c["ops"]])
        return out
    assert steps(loro_c) == steps(loro)


def movable_events(lib):
    """Root events of an import of sets that leave a value equal, then of a checkout
    back over them, as (target, diff items) with the item kinds only."""
    a, b = lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    a.get_movable_list("ml").insert(0, 53)
    a.get_movable_list("ml").insert(1, [1, 2])
    a.commit()
    b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
    f = a.state_frontiers
    m = b.get_movable_list("ml")
    m.set(0, 144)
    m.set(0, 53)
    m.set(1, [1, 2])
    m.insert(2, 7)
    b.commit()
    events = []
    sub = a.subscribe_root(lambda e: events.append(
        [type(x).__name__.split("_")[-1] for cd in e.events for x in cd.diff.diff]))
    a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
    a.checkout(f)
    a.checkout_to_latest()
    del sub
    return events


def test_imports_and_checkouts_report_no_set_of_an_equal_value():
    # (this decides whether an import breaks an undo group)
    assert movable_events(loro_c) == movable_events(loro)
