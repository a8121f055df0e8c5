"""Trace loading, library loading and the interleaved best-of-N timer shared by the
benchmarks (``python -m benches`` and the pytest-benchmark files)."""
import gc
import gzip
import importlib
import json
import os
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TRACES = ("automerge-paper", "seph-blog1", "rustcode", "json-crdt-patch",
                  "friendsforever_flat")
ALL_TRACES = ("automerge-paper", "seph-blog1", "rustcode", "sveltecomponent",
              "clownschool_flat", "friendsforever_flat", "json-crdt-patch",
              "json-crdt-blog-post")
CONCURRENT_TRACES = ("friendsforever", "clownschool")
LIBRARIES = ("loro_c", "loro", "pycrdt")
LORO_LIBS = ("loro_c", "loro")
# pycrdt replays of long traces take ~15 s (automerge-paper): pytest-benchmark runs them once
SLOW_PATCHES = 100_000


def rounds_for(library_name, trace, default=3):
    """pytest-benchmark rounds for replaying `trace` with `library_name`."""
    if library_name == "pycrdt" and len(trace.patches) > SLOW_PATCHES:
        return 1
    return default


def traces_dir():
    env = os.environ.get("LORO_C_TRACES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "traces"


def trace_path(name):
    """'automerge-paper' or 'ascii_only/rustcode' -> path of the .json.gz file."""
    name = name[:-len(".json.gz")] if name.endswith(".json.gz") else name
    return traces_dir() / "sequential_traces" / (name + ".json.gz")


def concurrent_trace_path(name):
    name = name[:-len(".json.gz")] if name.endswith(".json.gz") else name
    return traces_dir() / "concurrent_traces" / (name + ".json.gz")


class Trace:
    """A sequential trace: patches as (pos, n_delete, insert) in code points.

    ``patches`` is the flat list, ``txns`` the same tuples grouped by trace transaction.
    """

    def __init__(self, name):
        self.name = name
        with gzip.open(trace_path(name), "rt", encoding="utf-8") as f:
            data = json.load(f)
        self.end = data["endContent"]
        self.txns = [[(pos, n_del, ins) for pos, n_del, ins in txn["patches"]]
                     for txn in data["txns"]]
        self.patches = [p for txn in self.txns for p in txn]
        self.txn_sizes = [len(txn) for txn in self.txns]
        self._utf8 = None

    @property
    def utf8_txns(self):
        """The trace's transactions, each a list of patches with UTF-8 byte positions and
        lengths (pycrdt/Yrs index bytes).

        Only non-ASCII characters make bytes and code points differ, and traces hold few of
        them, so the conversion tracks just those: (code point index, extra bytes) pairs.
        """
        if self._utf8 is None:
            if all(ins.isascii() for _, _, ins in self.patches):
                self._utf8 = self.txns
            else:
                flat = _to_utf8_positions(self.patches)
                txns, k = [], 0
                for n in self.txn_sizes:
                    txns.append(flat[k:k + n])
                    k += n
                self._utf8 = txns
        return self._utf8


class ConcurrentTrace:
    """A concurrent trace: ``txns`` is a list of (parents, agent, patches); each txn's
    patches are relative to the document at the merge of its parents."""

    def __init__(self, name):
        self.name = name
        with gzip.open(concurrent_trace_path(name), "rt", encoding="utf-8") as f:
            data = json.load(f)
        self.end = data["endContent"]
        self.num_agents = data["numAgents"]
        self.txns = [(tuple(t["parents"]), t["agent"],
                      [(pos, n_del, ins) for pos, n_del, ins in t["patches"]])
                     for t in data["txns"]]
        self.n_patches = sum(len(t[2]) for t in self.txns)
        self.ascii = all(ins.isascii() for t in self.txns for _, _, ins in t[2])


def _to_utf8_positions(patches):
    wide = []  # [code point index, extra bytes] of each non-ASCII char, by index
    out = []
    for pos, n_del, ins in patches:
        bpos = pos + sum(extra for idx, extra in wide if idx < pos)
        blen = n_del
        if n_del:
            kept = []
            for entry in wide:
                idx = entry[0]
                if idx < pos:
                    kept.append(entry)
                elif idx < pos + n_del:
                    blen += entry[1]
                else:
                    kept.append([idx - n_del, entry[1]])
            wide = kept
        if ins:
            n = len(ins)
            new = [[pos + k, len(ch.encode("utf-8")) - 1]
                   for k, ch in enumerate(ins) if ord(ch) > 0x7F]
            wide = ([e for e in wide if e[0] < pos] + new
                    + [[e[0] + n, e[1]] for e in wide if e[0] >= pos])
        out.append((bpos, blen, ins))
    return out


def load_library(name):
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def time_once(fn):
    """(seconds, result) of one call, after a full collection."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def interleaved_best(fns, repeats):
    """Best-of-N wall time of several candidates, measured interleaved.

    ``fns``: {name: zero-argument callable}; ``repeats``: {name: N} (a missing name gets
    the largest N given). Round r runs every candidate that still has runs left, the
    order rotating each round, so load spikes on a shared machine hit all of them alike.
    Returns {name: (best seconds, result of the last run)} or, for a candidate that raised,
    {name: (None, exception)}; it is not run again after an exception.
    """
    names = list(fns)
    top = max(repeats.values()) if repeats else 1
    want = {n: repeats.get(n, top) for n in names}
    best = {n: None for n in names}
    last = {n: None for n in names}
    failed = {}
    for r in range(max(want.values(), default=0)):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if name in failed or r >= want[name]:
                continue
            last[name] = None  # let the previous result go before the next run
            try:
                dt, last[name] = time_once(fns[name])
            except Exception as exc:  # reported by the caller
                failed[name] = exc
                continue
            best[name] = dt if best[name] is None else min(best[name], dt)
    out = {}
    for name in names:
        out[name] = (None, failed[name]) if name in failed else (best[name], last[name])
    return out


def interleaved_self_timed(fns, rounds):
    """interleaved_best for candidates that time their own part: ``fns``: {name:
    zero-argument callable returning (seconds, result)}, each run `rounds` times, the order
    rotating each round. Returns {name: (best seconds, result of the last run)}."""
    names = list(fns)
    best, last = {}, {}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            dt, last[name] = fns[name]()
            best[name] = min(best.get(name, dt), dt)
    return {name: (best[name], last[name]) for name in names}


def workload_result(res):
    """What a section keeps of `run.timed`'s result for one workload: seconds and whether
    the result was right, per library."""
    return {"s": {lib: r[0] for lib, r in res.items() if r[0] is not None},
            "ok": {lib: r[2] for lib, r in res.items()}}


def workload_table(run, section, title, notes, render, fmt_ratio, ratio):
    """A table of one row per workload of `section`: ms per library and loro_c/loro."""
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    rows = []
    for name, e in run.results.get(section, {}).items():
        t, oks = e["s"], e["ok"]
        row = [name] + [(f"{t[lib] * 1000:,.1f}" if lib in t else "n/a")
                        + ("" if oks.get(lib, True) else " WRONG") for lib in libs]
        row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
        rows.append(row)
    run.tables.append(render(title, ["workload"] + [f"{lib} ms" for lib in libs] + ["ratio"],
                             rows, notes))


def typed_history(lib, trace):
    """A document with `trace` typed by peer 1 into text "text", one commit per trace
    transaction."""
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    for txn in trace.txns:
        for pos, n_del, ins in txn:
            if n_del:
                text.delete(pos, n_del)
            if ins:
                text.insert(pos, ins)
        doc.commit()
    return doc


def peers_from(mod, blob, n=3):
    """`n` documents (peer ids 1..n) that start from the same blob."""
    peers = []
    for p in range(n):
        d = mod.LoroDoc()
        d.peer_id = p + 1
        d.import_(blob)
        peers.append(d)
    return peers


def sync_all(mod, peers):
    """Every peer imports what it lacks from every other."""
    for d in peers:
        for o in peers:
            if o is not d:
                d.import_(o.export(mod.ExportMode.Updates(d.oplog_vv)))


def merged_value(mod, blobs):
    """The deep value of a fresh document that imported the blobs in order."""
    doc = mod.LoroDoc()
    for b in blobs:
        doc.import_(b)
    return doc.get_deep_value()


def run_session_rows(run, log, section, local, concurrent):
    """The three rows of a container kind's section: `local(mod)` timed (its deep value
    compared), its history imported into a fresh document, and the blobs of
    `concurrent(mod)` merged; values checked against loro's."""
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault(section, {})
    log(f"[{section}] building the sessions (untimed, for the import rows)")
    mods = run.modules
    blobs = {lib: [local(mods[lib]).export(mods[lib].ExportMode.Updates(mods[lib].VersionVector()))]
             for lib in libs}
    cblobs = {lib: concurrent(mods[lib]) for lib in libs}
    rows = [
        ("local edits", {lib: (lambda lib=lib: local(mods[lib]).get_deep_value()) for lib in libs}),
        ("import", {lib: (lambda lib=lib: merged_value(mods[lib], blobs[lib])) for lib in libs}),
        ("concurrent import", {lib: (lambda lib=lib: merged_value(mods[lib], cblobs[lib])) for lib in libs}),
    ]
    for name, fns in rows:
        log(f"[{section}] {name}")
        expect = fns["loro"]() if "loro" in fns else None

        def check(lib, result, expect=expect):
            if expect is not None and result != expect:
                return "the value differs from loro's"
            return None

        res = run.timed(f"{section} ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)


# -- memory rows of a section (tree, movable): each library in a fresh process --------------

MIB = 1 << 20


def run_memory_rows(run, log, key, child_module, local, params="{}"):
    """The memory rows of a section: its local session, and the import of loro's blob of it,
    each library in a fresh process (``python -m <child_module> lib scenario blob params``,
    whose ``__main__`` calls memory_child), measured as section 6 measures."""
    import tempfile
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault(key, {})
    blob_lib = "loro" if "loro" in libs else libs[0]
    mod = run.modules[blob_lib]
    blob = local(mod).export(mod.ExportMode.Updates(mod.VersionVector()))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "session.blob")
        with open(path, "wb") as f:
            f.write(blob)
        for scenario in ("local", "import"):
            row = out.setdefault(scenario, {})
            for lib in libs:
                log(f"[{key}] {scenario} {lib} (fresh process)")
                r = _measure_child(child_module, lib, scenario, path, params)
                if "error" in r:
                    run.problem(f"{key} ({scenario})", lib, r["error"])
                    continue
                row[lib] = r
            counts = {lib: r["count"] for lib, r in row.items()}
            if len(set(counts.values())) > 1:
                run.problem(f"{key} ({scenario})", "loro_c", f"sizes differ: {counts}")


def _measure_child(child_module, lib, scenario, blob_path, params, timeout=900):
    import importlib.util
    import subprocess
    import sys
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [here]
    spec = importlib.util.find_spec("loro_c")
    if spec is not None and spec.origin:
        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(spec.origin))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", child_module, lib, scenario, blob_path, params],
                          capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {proc.returncode}: {tail[0]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_child(argv, local, size_of, prepare=None):
    """The child side of a memory row: the workload between two RSS readings. `prepare`
    (params dict) runs first, untimed and unmeasured; `size_of(doc)` is compared across
    the libraries."""
    from . import _rss
    lib, scenario, blob_path, params = argv
    if prepare is not None:
        prepare(json.loads(params))
    mod = importlib.import_module(lib)
    blob = None
    if scenario != "local":
        with open(blob_path, "rb") as f:
            blob = f.read()
    gc.collect()
    reset = _rss._reset_hwm()
    rss0 = _rss._rss()
    if scenario == "local":
        doc = local(mod)
    else:
        doc = mod.LoroDoc()
        doc.import_(blob)
    count = size_of(doc)
    gc.collect()
    rss1, hwm1 = _rss._rss(), _rss._hwm()
    peak = hwm1 if (reset and hwm1 is not None) else None
    print(json.dumps({"delta_rss": rss1 - rss0,
                      "peak_delta": None if peak is None else peak - rss0, "count": count}))
    del doc


def memory_table(run, render, fmt_ratio, ratio, key, title):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    rows = []
    for scenario, label in (("local", "local edits"), ("import", "import of loro's blob")):
        row = run.results.get(key, {}).get(scenario, {})
        for field, what in (("delta_rss", "Δrss"), ("peak_delta", "Δpeak")):
            vals = {lib: row[lib].get(field) for lib in libs if lib in row}
            rows.append([f"{label}, {what}"]
                        + [("n/a" if vals.get(lib) is None else f"{vals[lib] / MIB:,.1f}")
                           for lib in libs]
                        + [fmt_ratio(ratio(vals.get("loro_c"), vals.get("loro")))])
    run.tables.append(render(
        title, ["workload"] + [f"{lib} MiB" for lib in libs] + ["ratio"], rows,
        ["one fresh process per library and row; Δrss = RSS after (document alive, gc'd) - "
         "RSS before; Δpeak = peak RSS during the workload - RSS before"]))
