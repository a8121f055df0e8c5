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
import gc
import importlib
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile

from ._common import peers_from, run_session_rows, sync_all, workload_table

FULL = {"nodes": 100_000, "moves": 100_000, "deletes": 5_000, "shared": 5_000,
        "peer_moves": 2_000}
QUICK = {"nodes": 2_000, "moves": 5_000, "deletes": 200, "shared": 500, "peer_moves": 1_000}
SIZES = dict(QUICK)
MIB = 1 << 20


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
    _run_memory(run, log)


def _run_memory(run, log):
    """Both memory rows, each library in a fresh process (see the module docstring)."""
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("tree_memory", {})
    blob_lib = "loro" if "loro" in libs else libs[0]
    mod = run.modules[blob_lib]
    blob = _local(mod).export(mod.ExportMode.Updates(mod.VersionVector()))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tree.blob")
        with open(path, "wb") as f:
            f.write(blob)
        for scenario in ("local", "import"):
            row = out.setdefault(scenario, {})
            for lib in libs:
                log(f"[tree memory] {scenario} {lib} (fresh process)")
                r = _measure(lib, scenario, path)
                if "error" in r:
                    run.problem(f"tree memory ({scenario})", lib, r["error"])
                    continue
                row[lib] = r
            nodes = {lib: r["nodes"] for lib, r in row.items()}
            if len(set(nodes.values())) > 1:
                run.problem(f"tree memory ({scenario})", "loro_c", f"node counts differ: {nodes}")


def _measure(lib, scenario, blob_path, timeout=900):
    """Run this module as a child for one library and scenario; its JSON result."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [here]
    spec = importlib.util.find_spec("loro_c")
    if spec is not None and spec.origin:
        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(spec.origin))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", "benches._tree", lib, scenario, blob_path,
                           json.dumps(SIZES)], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {proc.returncode}: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(argv):
    """The child side of a memory row: the workload between two RSS readings."""
    from . import _rss
    lib, scenario, blob_path, sizes = argv
    SIZES.update(json.loads(sizes))
    mod = importlib.import_module(lib)
    if scenario == "local":
        global _SCRIPT
        _SCRIPT = _script()
    else:
        with open(blob_path, "rb") as f:
            blob = f.read()
    gc.collect()
    reset = _rss._reset_hwm()
    rss0 = _rss._rss()
    if scenario == "local":
        doc = _local(mod)
    else:
        doc = mod.LoroDoc()
        doc.import_(blob)
    nodes = len(doc.get_tree("t").nodes())
    gc.collect()
    rss1, hwm1 = _rss._rss(), _rss._hwm()
    peak = hwm1 if (reset and hwm1 is not None) else None
    print(json.dumps({"delta_rss": rss1 - rss0,
                      "peak_delta": None if peak is None else peak - rss0, "nodes": nodes}))
    del doc


def table_tree(run, render, fmt_ratio, ratio):
    workload_table(
        run, "tree",
        f"14. LoroTree: {SIZES['nodes']:,} nodes, {SIZES['moves']:,} random moves; three peers "
        f"moving {SIZES['shared']:,} nodes concurrently",
        ["best of the runs, libraries interleaved; values checked against loro's"], render, fmt_ratio, ratio)
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    rows = []
    for scenario, label in (("local", "local edits"), ("import", "import of loro's blob")):
        row = run.results.get("tree_memory", {}).get(scenario, {})
        for key, what in (("delta_rss", "Δrss"), ("peak_delta", "Δpeak")):
            vals = {lib: row[lib].get(key) for lib in libs if lib in row}
            rows.append([f"{label}, {what}"]
                        + [("n/a" if vals.get(lib) is None else f"{vals[lib] / MIB:,.1f}")
                           for lib in libs]
                        + [fmt_ratio(ratio(vals.get("loro_c"), vals.get("loro")))])
    run.tables.append(render(
        f"14b. LoroTree memory: the {SIZES['nodes']:,}-node session",
        ["workload"] + [f"{lib} MiB" for lib in libs] + ["ratio"], rows,
        ["one fresh process per library and row; Δrss = RSS after (document alive, gc'd) - "
         "RSS before; Δpeak = peak RSS during the workload - RSS before"]))


if __name__ == "__main__":
    _child(sys.argv[1:])
