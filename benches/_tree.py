"""Section 14: a movable tree with many nodes and random moves, loro_c against loro.

* ``local edits``: one peer creates 100,000 nodes (each under a random earlier node or as
  a root), then 100,000 random moves (a move under its own descendant is refused by both
  and skipped) and 5,000 deletes, committing every 50 ops (the random draws are not
  timed). ``--quick``: 2,000 nodes, 5,000 moves, 200 deletes.
* ``import``: the session's whole history (one updates blob) imported into a fresh
  document, then its value read.
* ``concurrent import``: three peers move the nodes of one shared tree of 5,000 (quick:
  500) concurrently (2,000 (1,000) moves each, syncing every 100), so moves cross into
  cycles; their blobs merged into a fresh document.
* memory (a second table): the local session, and the import of loro's blob of it, each in
  a fresh process per library (``python -m benches._tree``): RSS after the workload with
  the document alive and garbage collected, minus RSS before; and the peak (VmHWM reset
  just before) minus RSS before, as section 6 measures.

Values are compared across the libraries (a wrong result is a problem, not a number).
"""
import json
import random
import sys

from ._common import (memory_child, memory_table, peers_from, run_memory_rows,
                      run_session_rows, sync_all, workload_table)

FULL = {"nodes": 100_000, "moves": 100_000, "deletes": 5_000, "shared": 5_000,
        "peer_moves": 2_000}
QUICK = {"nodes": 2_000, "moves": 5_000, "deletes": 200, "shared": 500, "peer_moves": 1_000}
SIZES = dict(QUICK)


def _script():
    rng = random.Random(14)
    n = SIZES["nodes"]
    creates = [rng.randrange(-1, i) if i else -1 for i in range(n)]
    moves = [(rng.randrange(n), rng.randrange(-1, n)) for _ in range(SIZES["moves"])]
    deletes = [rng.randrange(n) for _ in range(SIZES["deletes"])]
    return creates, moves, deletes


_SCRIPT = None


def _try_move(tree, node, parent):
    try:
        tree.mov(node, parent)
    except BaseException as e:         # a cycle (loro's errors derive from BaseException)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise


def _local(mod):
    global _SCRIPT
    if _SCRIPT is None:
        _SCRIPT = _script()
    creates, moves, deletes = _SCRIPT
    doc = mod.LoroDoc()
    doc.peer_id = 1
    tree = doc.get_tree("t")
    nodes = []
    for i, p in enumerate(creates):
        nodes.append(tree.create(None if p < 0 else nodes[p]))
        if i % 50 == 49:
            doc.commit()
    for i, (n, p) in enumerate(moves):
        _try_move(tree, nodes[n], None if p < 0 else nodes[p])
        if i % 50 == 49:
            doc.commit()
    for k in deletes:
        if not tree.is_node_deleted(nodes[k]):
            tree.delete(nodes[k])
    doc.commit()
    return doc


def _concurrent(mod):
    rng = random.Random(15)
    n_shared = SIZES["shared"]
    base = mod.LoroDoc()
    base.peer_id = 100
    tree = base.get_tree("t")
    nodes = [tree.create() for _ in range(n_shared)]
    base.commit()
    blob = base.export(mod.ExportMode.Updates(mod.VersionVector()))
    peers = peers_from(mod, blob)
    for step in range(SIZES["peer_moves"]):
        for d in peers:
            n, p = rng.randrange(n_shared), rng.randrange(-1, n_shared)
            t = d.get_tree("t")
            if not t.is_node_deleted(nodes[n]):
                _try_move(t, nodes[n], None if p < 0 else nodes[p])
        if step % 100 == 99:
            sync_all(mod, peers)
    return [d.export(mod.ExportMode.Updates(mod.VersionVector())) for d in peers]


def run_tree(run, log):
    global _SCRIPT
    SIZES.update(QUICK if run.args.quick else FULL)
    _SCRIPT = None
    run_session_rows(run, log, "tree", _local, _concurrent)
    run_memory_rows(run, log, "tree_memory", "benches._tree", _local, json.dumps(SIZES))


def _prepare_child(params):
    global _SCRIPT
    SIZES.update(params)
    _SCRIPT = _script()


def table_tree(run, render, fmt_ratio, ratio):
    workload_table(
        run, "tree",
        f"14. LoroTree: {SIZES['nodes']:,} nodes, {SIZES['moves']:,} random moves; three peers "
        f"moving {SIZES['shared']:,} nodes concurrently",
        ["best of the runs, libraries interleaved; values checked against loro's"], render, fmt_ratio, ratio)
    memory_table(run, render, fmt_ratio, ratio, "tree_memory",
                 f"14b. LoroTree memory: the {SIZES['nodes']:,}-node session")


if __name__ == "__main__":
    memory_child(sys.argv[1:], _local, lambda doc: len(doc.get_tree("t").nodes()),
                 _prepare_child)
