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

from ._common import workload_result, workload_table

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
    peers = []
    for p in range(3):
        d = mod.LoroDoc()
        d.peer_id = p + 1
        d.import_(blob)
        peers.append(d)
    for step in range(N_PEER_OPS):
        for d in peers:
            lst = d.get_movable_list("l")
            n = len(lst)
            if step % 5 == 4:
                lst.set(rng.randrange(n), step)
            else:
                lst.mov(rng.randrange(n), rng.randrange(n))
        if step % 200 == 199:
            for d in peers:
                for o in peers:
                    if o is not d:
                        d.import_(o.export(mod.ExportMode.Updates(d.oplog_vv)))
    return [d.export(mod.ExportMode.Updates(mod.VersionVector())) for d in peers]


def _import(mod, blobs):
    doc = mod.LoroDoc()
    for b in blobs:
        doc.import_(b)
    return doc.get_deep_value()


def run_movable(run, log):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("movable", {})
    log("[movable] building the sessions (untimed, for the import rows)")
    blobs = {lib: [_local(run.modules[lib]).export(run.modules[lib].ExportMode.Updates(
        run.modules[lib].VersionVector()))] for lib in libs}
    cblobs = {lib: _concurrent(run.modules[lib]) for lib in libs}
    rows = [
        ("local edits", {lib: (lambda lib=lib: _local(run.modules[lib]).get_deep_value()) for lib in libs}),
        ("import", {lib: (lambda lib=lib: _import(run.modules[lib], blobs[lib])) for lib in libs}),
        ("concurrent import", {lib: (lambda lib=lib: _import(run.modules[lib], cblobs[lib])) for lib in libs}),
    ]
    for name, fns in rows:
        log(f"[movable] {name}")
        expect = fns["loro"]() if "loro" in fns else None

        def check(lib, result, expect=expect):
            if expect is not None and result != expect:
                return "the value differs from loro's"
            return None

        res = run.timed(f"movable ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)


def table_movable(run, render, fmt_ratio, ratio):
    workload_table(
        run, "movable",
        f"11. MovableList: {N_MOVES:,} moves on {N_ITEMS:,} items; three peers reordering concurrently",
        ["best of the runs, libraries interleaved; values checked against loro's"], render, fmt_ratio, ratio)
