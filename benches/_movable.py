"""Section 11: a reorder-heavy MovableList session, loro_c against loro.

* ``local edits``: one peer fills a list of 1,000 items, then 20,000 random moves with a
  set every seventh move, committing every 50 moves (timed from the empty document; the
  random positions are drawn beforehand).
* ``import``: the session's whole history (one updates blob) imported into a fresh
  document, then its value read.
* ``concurrent import``: three peers reorder one shared list of 300 items concurrently
  (2,000 moves and sets each, syncing every 200); their blobs merged into a fresh document.

Values are compared across the libraries (a wrong result is a problem, not a number).
"""
import random

import sys

from ._common import (memory_child, memory_table, peers_from, run_memory_rows,
                      run_session_rows, sync_all, workload_table)

N_ITEMS = 1_000
N_MOVES = 20_000
N_SHARED = 300
N_PEER_OPS = 2_000


def _script():
    """The local session's ops, drawn once (the random draws are not timed)."""
    rng = random.Random(11)
    out = []
    for i in range(N_MOVES):
        out.append((rng.randrange(N_ITEMS), rng.randrange(N_ITEMS),
                    rng.randrange(N_ITEMS) if i % 7 == 0 else -1, i % 50 == 49))
    return out


_SCRIPT = None


def _local(mod):
    global _SCRIPT
    if _SCRIPT is None:
        _SCRIPT = _script()
    doc = mod.LoroDoc()
    doc.peer_id = 1
    lst = doc.get_movable_list("l")
    for i in range(N_ITEMS):
        lst.push(i)
    doc.commit()
    for i, (a, b, s, commit) in enumerate(_SCRIPT):
        lst.mov(a, b)
        if s >= 0:
            lst.set(s, i)
        if commit:
            doc.commit()
    doc.commit()
    return doc


def _concurrent(mod):
    rng = random.Random(13)
    base = mod.LoroDoc()
    base.peer_id = 100
    lst = base.get_movable_list("l")
    for i in range(N_SHARED):
        lst.push(i)
    base.commit()
    blob = base.export(mod.ExportMode.Snapshot())
    peers = peers_from(mod, blob)
    for step in range(N_PEER_OPS):
        for d in peers:
            lst = d.get_movable_list("l")
            n = len(lst)
            if step % 5 == 4:
                lst.set(rng.randrange(n), step)
            else:
                lst.mov(rng.randrange(n), rng.randrange(n))
        if step % 200 == 199:
            sync_all(mod, peers)
    return [d.export(mod.ExportMode.Updates(mod.VersionVector())) for d in peers]


def run_movable(run, log):
    run_session_rows(run, log, "movable", _local, _concurrent)
    run_memory_rows(run, log, "movable_memory", "benches._movable", _local)


def table_movable(run, render, fmt_ratio, ratio):
    workload_table(
        run, "movable",
        f"11. MovableList: {N_MOVES:,} moves on {N_ITEMS:,} items; three peers reordering concurrently",
        ["best of the runs, libraries interleaved; values checked against loro's"], render, fmt_ratio, ratio)
    memory_table(run, render, fmt_ratio, ratio, "movable_memory",
                 f"11b. MovableList memory: the {N_ITEMS:,}-item session with {N_MOVES:,} moves")


if __name__ == "__main__":
    memory_child(sys.argv[1:], _local, lambda doc: len(doc.get_movable_list("l")))
