"""UndoManager against loro: random sessions of two or three peers, each with an undo
manager, editing text, a list, a map (with a nested text) and a counter, committing,
syncing in random directions (so undos meet concurrent remote edits), grouping, and
undoing and redoing. After every step both libraries must hold the same deep values and
the same undo/redo counts, and every undo/redo must report the same result."""
import json
import random

import loro
import pytest

import loro_c
from _undo_util import UndoSide, run_against_loro

PEERS = 3

class Side(UndoSide):
    """One library's peers and their undo managers, editing every container kind."""

    def __init__(self, lib):
        super().__init__(lib, PEERS)

    def edit(self, kind, p, a, b):
        lib, d = self.lib, self.docs[p]
        if kind == "text_ins":
            t = d.get_text("t")
            t.insert(a % (t.len_unicode + 1), b)
        elif kind == "text_del":
            t = d.get_text("t")
            n = t.len_unicode
            if n:
                pos = a % n
                t.delete(pos, min(b, n - pos))
        elif kind == "list_ins":
            lst = d.get_list("l")
            lst.insert(a % (len(lst) + 1), b)
        elif kind == "list_del":
            lst = d.get_list("l")
            n = len(lst)
            if n:
                pos = a % n
                lst.delete(pos, min(b, n - pos))
        elif kind == "map_set":
            d.get_map("m").insert(a, b)
        elif kind == "map_del":
            d.get_map("m").delete(a)
        elif kind == "nested":
            m = d.get_map("m")
            v = m.get("sub%d" % p)
            if v is None or not isinstance(getattr(v, "container", None), lib.LoroText):
                m.insert_container("sub%d" % p, lib.LoroText())
                return "created"
            t = v.container
            t.insert(a % (t.len_unicode + 1), b)
        elif kind == "counter":
            d.get_counter("c").increment(a)
        return None

    def state(self):
        return [(d.get_deep_value(), u.undo_count(), u.redo_count())
                for d, u in zip(self.docs, self.undos)]


def run(ops):
    run_against_loro(Side(loro), Side(loro_c), ops, check_invariants=False)


def random_session(rng):
    kinds = ["text_ins", "text_del", "list_ins", "list_del", "map_set", "map_del", "nested",
             "counter", "commit", "sync", "undo", "undo", "undo", "redo", "group", "checkpoint"]
    ops = []
    for _ in range(rng.randrange(10, 80)):
        k = rng.choice(kinds)
        p = rng.randrange(PEERS)
        if k == "text_ins":
            ops.append((k, p, rng.randrange(50), rng.choice(["a", "bc", "xyz"])))
        elif k in ("text_del", "list_del"):
            ops.append((k, p, rng.randrange(50), rng.randrange(1, 4)))
        elif k == "list_ins":
            ops.append((k, p, rng.randrange(50), rng.randrange(99)))
        elif k in ("map_set", "map_del"):
            # peers share keys: which of two concurrent writes of one key with equal
            # Lamport wins follows the order an undo writes its keys in (loro's hash maps',
            # hash_order.undo_key_order)
            ops.append((k, p, rng.choice("ab") + str(rng.randrange(2)), rng.randrange(9)))
        elif k == "nested":
            ops.append((k, p, rng.randrange(50), "pq"))
        elif k == "counter":
            ops.append((k, p, rng.randrange(-3, 3), 0))
        elif k == "sync":
            ops.append((k, p, rng.randrange(PEERS), 0))
        else:
            ops.append((k, p, True, 0))
    return ops


@pytest.mark.parametrize("block", range(6))
def test_random_undo_sessions_match_loro(block):
    # 150 sessions of up to 80 steps, in six blocks
    rng = random.Random(1)
    sessions = [random_session(rng) for _ in range(150)]
    for ops in sessions[block * 25:(block + 1) * 25]:
        run(ops)


def test_undo_after_remote_insert_before():
    run([("text_ins", 0, 0, "hello"), ("commit", 0, 0, 0), ("sync", 1, 0, 0),
         ("text_ins", 1, 0, "AB"), ("commit", 1, 0, 0), ("text_ins", 0, 5, "!"),
         ("commit", 0, 0, 0), ("sync", 0, 1, 0), ("undo", 0, 0, 0), ("undo", 0, 0, 0),
         ("redo", 0, 0, 0), ("redo", 0, 0, 0)])


@pytest.mark.parametrize("mod", [loro, loro_c], ids=["loro", "loro_c"])
def test_an_undo_writes_map_keys_in_loros_order(mod):
    """An undo of a commit that wrote several keys writes them back in the order loro's
    maps yield them (its ops' Lamport clocks follow that order): the same ops as loro's,
    in 200 random key sets."""
    got = []
    for side in (loro, mod):
        orders = []
        for seed in range(200):
            rng = random.Random(seed)
            keys = rng.sample([chr(97 + i) + str(j) for i in range(8) for j in range(5)],
                              rng.randint(2, 12))
            d = side.LoroDoc()
            d.peer_id = 1
            undo = side.UndoManager(d)
            m = d.get_map("m")
            m.insert("first", 0)
            d.commit()
            for i, k in enumerate(keys):
                m.insert(k, i)
            d.commit()
            assert undo.undo()
            changes = json.loads(d.export_json_updates(side.VersionVector(), d.oplog_vv))["changes"]
            ops = [op for c in changes for op in c["ops"]]
            orders.append([op["content"]["key"] for op in ops[1 + len(keys):]])
        got.append(orders)
    differ = [seed for seed, (a, b) in enumerate(zip(*got)) if a != b]
    assert not differ, f"seeds {differ[:5]}: loro {got[0][differ[0]]}, ours {got[1][differ[0]]}"
