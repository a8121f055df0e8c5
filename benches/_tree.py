"""Section 14: a movable tree with many nodes and random moves, loro_c against loro.

* ``local edits``: one peer creates 2,000 nodes (each under a random earlier node or as a
  root), then 5,000 random moves (a move under its own descendant is refused by both and
  skipped) and 200 deletes, committing every 50 ops (the random draws are not timed).
* ``import``: the session's whole history (one updates blob) imported into a fresh
  document, then its value read.
* ``concurrent import``: three peers move the nodes of one shared tree of 500 concurrently
  (1,000 moves each, syncing every 100), so moves cross into cycles; their blobs merged
  into a fresh document.

Values are compared across the libraries (a wrong result is a problem, not a number).
"""
import random

from ._common import peers_from, run_session_rows, sync_all, workload_table

N_NODES = 2_000
N_MOVES = 5_000
N_DELETES = 200
N_SHARED = 500
N_PEER_MOVES = 1_000


def _script():
    rng = random.Random(14)
    creates = [rng.randrange(-1, i) if i else -1 for i in range(N_NODES)]
    moves = [(rng.randrange(N_NODES), rng.randrange(-1, N_NODES)) for _ in range(N_MOVES)]
    deletes = [rng.randrange(N_NODES) for _ in range(N_DELETES)]
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
    base = mod.LoroDoc()
    base.peer_id = 100
    tree = base.get_tree("t")
    nodes = [tree.create() for _ in range(N_SHARED)]
    base.commit()
    blob = base.export(mod.ExportMode.Updates(mod.VersionVector()))
    peers = peers_from(mod, blob)
    for step in range(N_PEER_MOVES):
        for d in peers:
            n, p = rng.randrange(N_SHARED), rng.randrange(-1, N_SHARED)
            t = d.get_tree("t")
            if not t.is_node_deleted(nodes[n]):
                _try_move(t, nodes[n], None if p < 0 else nodes[p])
        if step % 100 == 99:
            sync_all(mod, peers)
    return [d.export(mod.ExportMode.Updates(mod.VersionVector())) for d in peers]


def run_tree(run, log):
    run_session_rows(run, log, "tree", _local, _concurrent)


def table_tree(run, render, fmt_ratio, ratio):
    workload_table(
        run, "tree",
        f"14. LoroTree: {N_NODES:,} nodes, {N_MOVES:,} random moves; three peers moving concurrently",
        ["best of the runs, libraries interleaved; values checked against loro's"], render, fmt_ratio, ratio)
