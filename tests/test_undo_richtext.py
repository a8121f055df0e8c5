"""UndoManager over rich text, against loro: random sessions of three peers, each with an
undo manager, inserting, deleting, marking and unmarking (expand types of every kind,
inserts into marked ranges and at their edges), committing, syncing in random directions,
grouping, and undoing and redoing. After every step both libraries must hold the same
text with the same styles and the same undo/redo counts, and every undo/redo must report
the same result."""
import random

import loro
import pytest

import loro_c
from _undo_util import UndoSide, run_against_loro
from test_richtext import state

PEERS = 3
EXPANDS = {"bold": "After", "italic": "Both", "link": "Null", "comment": "Before"}
VALUES = {"bold": [True, 7], "italic": [True, "x"], "link": ["a", "b"], "comment": [{"id": 1}, 2]}


class Side(UndoSide):
    """One library's peers and their undo managers, editing marked text."""

    def __init__(self, lib):
        super().__init__(lib, PEERS)

    def setup_doc(self, d):
        cfg = self.lib.StyleConfigMap()
        for key, e in EXPANDS.items():
            cfg.insert(key, getattr(self.lib.ExpandType, e))
        d.config_text_style(cfg)

    def edit(self, kind, p, a, b):
        d = self.docs[p]
        t = d.get_text("t")
        n = t.len_unicode
        if kind == "ins":
            t.insert(a % (n + 1), b)
        elif kind == "del" and n:
            pos = a % n
            t.delete(pos, min(b, n - pos))
        elif kind in ("mark", "unmark") and n:
            start = a % n
            end = start + 1 + b[0] % (n - start)
            if kind == "mark":
                t.mark(start, end, b[1], b[2])
            else:
                t.unmark(start, end, b[1])
        return None

    def state(self):
        return [(state(d), u.undo_count(), u.redo_count()) for d, u in zip(self.docs, self.undos)]


def run(ops):
    run_against_loro(Side(loro), Side(loro_c), ops)


def random_session(rng):
    kinds = ["ins", "ins", "del", "mark", "mark", "unmark", "commit", "commit", "sync",
             "undo", "undo", "undo", "redo", "group"]
    ops = []
    for _ in range(rng.randrange(10, 60)):
        k = rng.choice(kinds)
        p = rng.randrange(PEERS)
        if k == "ins":
            ops.append((k, p, rng.randrange(50), rng.choice(["a", "bc", "xyz", "😀"])))
        elif k == "del":
            ops.append((k, p, rng.randrange(50), rng.randrange(1, 4)))
        elif k in ("mark", "unmark"):
            key = rng.choice(sorted(VALUES))
            ops.append((k, p, rng.randrange(50), (rng.randrange(50), key, rng.choice(VALUES[key]))))
        elif k == "sync":
            ops.append((k, p, rng.randrange(PEERS), 0))
        else:
            ops.append((k, p, 0, 0))
    return ops


@pytest.mark.parametrize("block", range(4))
def test_random_rich_text_undo_sessions_match_loro(block):
    rng = random.Random(5)
    sessions = [random_session(rng) for _ in range(100)]
    for ops in sessions[block * 25:(block + 1) * 25]:
        run(ops)


def test_undo_of_a_mark_restores_the_styles_before_it():
    run([("ins", 0, 0, "hello world"), ("commit", 0, 0, 0),
         ("mark", 0, 0, (4, "bold", True)), ("commit", 0, 0, 0),
         ("mark", 0, 2, (6, "bold", 7)), ("commit", 0, 0, 0),
         ("unmark", 0, 3, (2, "bold", None)), ("commit", 0, 0, 0),
         ("ins", 0, 4, "Z"), ("commit", 0, 0, 0),
         ("undo", 0, 0, 0), ("undo", 0, 0, 0), ("undo", 0, 0, 0), ("undo", 0, 0, 0),
         ("redo", 0, 0, 0), ("redo", 0, 0, 0), ("redo", 0, 0, 0)])
