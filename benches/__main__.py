"""python -m benches [--sections apply,export,import,merge,small,rss,scaling,threads,peers,hot,checkout,snapshot,movable,richtext,undo,tree,nested] [--quick]
                    [--all-traces | --traces a,b] [--repeat N] [--json PATH] ...

Compares loro_c with loro (the oracle, same API) and pycrdt (Yrs) on real editing traces
and prints one report: a table per section, the ratio loro_c/loro (lower is better) in each
row, and at the end the target ratios marked met / not met.

Every timing is the best of N wall-clock runs (time.perf_counter), with the libraries
measured interleaved in the same process (the order rotates each round), so a load spike
on a shared machine hits all of them alike. Results are checked against the trace's
endContent; a wrong result or an exception is flagged in the table and listed under
"Problems" at the end, never reported as a plain number.
"""
import argparse
import importlib
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

from . import _rss
from ._common import (ALL_TRACES, CONCURRENT_TRACES, DEFAULT_TRACES, LIBRARIES, LORO_LIBS,
                      ConcurrentTrace, Trace, concurrent_trace_path, interleaved_best,
                      load_library, time_once, trace_path, traces_dir)
from ._work import (SMALL_VARIANTS, apply_fn, apply_patches_loro, edit_export_rounds,
                    export_all, import_all, import_blob, many_peer_history, replay_concurrent,
                    scaled_patches, small_edits, small_roundtrips, threaded_imports)

SECTIONS = ("apply", "export", "import", "merge", "small", "rss", "scaling", "threads", "peers", "hot",
            "checkout", "snapshot", "movable", "richtext", "undo", "tree", "nested")
MODES = ("once", "per_txn")
MODE_LABEL = {"once": "one commit", "per_txn": "commit per txn"}
SCALING_TRACE = "automerge-paper"
THREADS_TRACE = "automerge-paper"
RSS_TRACE = "automerge-paper"
TARGET_TRACE = "automerge-paper"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ formatting

def fmt_ms(seconds):
    if seconds is None:
        return "n/a"
    ms = seconds * 1000
    return f"{ms:,.0f}" if ms >= 1000 else f"{ms:,.1f}" if ms >= 10 else f"{ms:.2f}"


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def geomean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def render(title, header, rows, notes=()):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [title, "=" * len(title), line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out += [f"  {n}" for n in notes]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------- report

class Run:
    """Collects results (for --json), rendered tables and problems."""

    def __init__(self, args, modules):
        self.args = args
        self.modules = modules
        # columns always in the order loro_c, loro, pycrdt
        self.libs = [n for n in LIBRARIES if modules.get(n) is not None]
        self.results = {"machine": machine_info(modules), "config": {}}
        self.tables = []
        self.problems = []
        self.cells = {}  # (section, key) -> {lib: value}

    def problem(self, where, lib, what):
        self.problems.append(f"{where}: {lib}: {what}")
        log(f"PROBLEM {where}: {lib}: {what}")

    def timed(self, where, fns, repeats, check=None):
        """interleaved_best + error/check bookkeeping. Returns {lib: (seconds|None,
        result|None, ok)}; `check(lib, result)` returns an error string or None."""
        res = interleaved_best(fns, repeats)
        out = {}
        for lib, (dt, result) in res.items():
            if dt is None:
                self.problem(where, lib, f"{type(result).__name__}: {result}")
                out[lib] = (None, None, False)
                continue
            err = check(lib, result) if check else None
            if err:
                self.problem(where, lib, err)
            out[lib] = (dt, result, err is None)
        return out

    def repeats(self, libs, slow_pycrdt=False):
        r = {lib: self.args.repeat for lib in libs}
        if "pycrdt" in r and slow_pycrdt:
            r["pycrdt"] = self.args.pycrdt_repeat
        return r


def machine_info(modules):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name, mod in modules.items():
        if mod is None:
            continue
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:
            versions[name] = getattr(mod, "__version__", "?")
        if name == "loro_c":
            versions[name] += f" ({os.path.dirname(mod.__file__)})"
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)),
                             timeout=10).stdout.strip()
    except Exception:
        rev = ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "git": rev,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def lib_cells(values, libs, fmt):
    return [fmt(values.get(lib)) if lib in values else "n/a" for lib in libs]


def ok_mark(cell, ok):
    return cell if ok else f"{cell} WRONG"


# ---------------------------------------------------------- sections 1-3 (sequential traces)

def run_sequential(run, sections):
    args = run.args
    apply_res = run.results.setdefault("apply", {}) if "apply" in sections else None
    export_res = run.results.setdefault("export", {}) if "export" in sections else None
    import_res = run.results.setdefault("import", {}) if "import" in sections else None
    interop = run.results.setdefault("interop", {})
    rss_blobs = {}
    for tname in args.traces:
        if not trace_path(tname).is_file():
            run.problem(f"trace {tname}", "-", f"missing file {trace_path(tname)}")
            continue
        log(f"[{tname}] loading")
        trace = Trace(tname)
        n = len(trace.patches)
        libs = [lib for lib in run.libs
                if lib != "pycrdt" or not args.pycrdt_max_patches or n <= args.pycrdt_max_patches]
        docs = {}

        def check_text(lib, result, _end=trace.end):
            return None if result[1] == _end else "final text differs from endContent"

        if apply_res is not None:
            entry = apply_res[tname] = {"patches": n, "txns": len(trace.txns)}
            for mode in MODES:
                mlibs = [l for l in libs if mode == "once" or l != "pycrdt"]
                log(f"[{tname}] apply, {MODE_LABEL[mode]}: {', '.join(mlibs)}")
                fns = {lib: apply_fn(lib, run.modules[lib], trace, mode == "per_txn")
                       for lib in mlibs}
                res = run.timed(f"apply {tname} ({MODE_LABEL[mode]})", fns,
                                run.repeats(mlibs, slow_pycrdt=True), check_text)
                entry[mode] = {lib: r[0] for lib, r in res.items()}
                entry[mode + "_ok"] = {lib: r[2] for lib, r in res.items()}
                for lib, (dt, result, ok) in res.items():
                    if result is not None:
                        docs[(lib, mode)] = result[0]
                del res, fns
        if export_res is None and import_res is None and not (
                "rss" in sections and tname == RSS_TRACE):
            continue

        # build (untimed) the documents the apply section did not leave behind
        for mode in MODES:
            for lib in libs:
                if (lib, mode) in docs or (lib == "pycrdt" and mode != "once"):
                    continue
                log(f"[{tname}] building {lib} doc ({MODE_LABEL[mode]}) for export/import")
                try:
                    doc, text = apply_fn(lib, run.modules[lib], trace, mode == "per_txn")()
                    docs[(lib, mode)] = doc
                except Exception as exc:
                    run.problem(f"apply {tname} ({MODE_LABEL[mode]})", lib, repr(exc))

        blobs = {}
        ex_entry = export_res.setdefault(tname, {}) if export_res is not None else None
        for mode in MODES:
            mlibs = [l for l in libs if (l, mode) in docs]
            fns = {lib: (lambda lib=lib, d=docs[(lib, mode)]: export_all(
                lib, run.modules[lib], d)) for lib in mlibs}
            if ex_entry is not None:
                log(f"[{tname}] export, {MODE_LABEL[mode]}")
                res = run.timed(f"export {tname} ({MODE_LABEL[mode]})", fns,
                                run.repeats(mlibs))
                ex_entry[mode] = {lib: r[0] for lib, r in res.items()}
                ex_entry[mode + "_bytes"] = {lib: len(r[1]) for lib, r in res.items()
                                            if r[1] is not None}
                for lib, r in res.items():
                    if r[1] is not None:
                        blobs[(lib, mode)] = r[1]
            else:
                for lib, fn in fns.items():
                    try:
                        blobs[(lib, mode)] = fn()
                    except Exception as exc:
                        run.problem(f"export {tname} ({MODE_LABEL[mode]})", lib, repr(exc))
        docs.clear()

        # interop: each of loro / loro_c imports the other's blob (correctness only)
        for mode in MODES:
            for src, dst in (("loro_c", "loro"), ("loro", "loro_c")):
                if (src, mode) not in blobs or dst not in run.modules or run.modules[dst] is None:
                    continue
                key = f"{tname} ({MODE_LABEL[mode]}): {src} blob -> {dst}"
                try:
                    got = import_all(dst, run.modules[dst], [blobs[(src, mode)]])
                    interop[key] = got == trace.end
                    if got != trace.end:
                        run.problem(f"interop {key}", dst, "imported text differs from endContent")
                except Exception as exc:
                    interop[key] = False
                    run.problem(f"interop {key}", dst, repr(exc))

        if import_res is not None:
            im_entry = import_res.setdefault(tname, {})
            for mode in MODES:
                mlibs = [l for l in libs if (l, mode) in blobs]
                log(f"[{tname}] import, {MODE_LABEL[mode]}")
                fns = {lib: (lambda lib=lib, b=blobs[(lib, mode)]: import_all(
                    lib, run.modules[lib], [b])) for lib in mlibs}
                res = run.timed(f"import {tname} ({MODE_LABEL[mode]})", fns, run.repeats(mlibs),
                                lambda lib, r: None if r == trace.end else
                                "imported text differs from endContent")
                im_entry[mode] = {lib: r[0] for lib, r in res.items()}
                im_entry[mode + "_ok"] = {lib: r[2] for lib, r in res.items()}
        if tname == RSS_TRACE:
            rss_blobs = {lib: blobs[(lib, "once")] for lib in libs if (lib, "once") in blobs}
            rss_blobs["_trace"] = trace
        blobs.clear()
    return rss_blobs


def tables_sequential(run, sections):
    libs = run.libs
    res = run.results
    pyc = "pycrdt" in libs
    if "apply" in sections and res.get("apply"):
        header = ["trace", "patches"]
        for mode in MODES:
            tag = "1 commit" if mode == "once" else "per txn"
            header += [f"{lib} ms ({tag})" for lib in LORO_LIBS if lib in libs]
            if mode == "once" and pyc:
                header.append("pycrdt ms")
            header.append(f"ratio ({tag})")
        rows = []
        for tname, e in res["apply"].items():
            row = [tname, f"{e['patches']:,}"]
            for mode in MODES:
                t, oks = e.get(mode, {}), e.get(mode + "_ok", {})
                for lib in [l for l in libs if l != "pycrdt" or mode == "once"]:
                    row.append(ok_mark(fmt_ms(t.get(lib)), oks.get(lib, True)))
                row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
            rows.append(row)
        run.tables.append(render(
            "1. Local apply of sequential traces (text API, fresh doc)", header, rows,
            [f"best of {run.args.repeat} (pycrdt: best of {run.args.pycrdt_repeat}); "
             "ratio = loro_c/loro, lower is better",
             "loro/loro_c: one commit at the end, or one commit after every trace txn;",
             "pycrdt runs one transaction per trace txn in both cases (a single 260k-edit "
             "Yrs transaction is ~10x slower), so it is measured once",
             "the final text is checked against endContent (WRONG marks a mismatch)"]))
    if "export" in sections and res.get("export"):
        header = ["trace", "history"] + [f"{lib} ms" for lib in libs] + ["time ratio"] + \
                 [f"{lib} bytes" for lib in libs] + ["size ratio"]
        rows = []
        for tname, e in res["export"].items():
            for mode in MODES:
                t, b = e.get(mode, {}), e.get(mode + "_bytes", {})
                row = [tname, MODE_LABEL[mode]]
                row += [fmt_ms(t.get(l)) if (l != "pycrdt" or mode == "once") else "="
                        for l in libs]
                row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
                row += [(f"{b[l]:,}" if l in b else "n/a") if (l != "pycrdt" or mode == "once")
                        else "=" for l in libs]
                row.append(fmt_ratio(ratio(b.get("loro_c"), b.get("loro"))))
                rows.append(row)
        run.tables.append(render(
            "2. Export of the full history as one update blob", header, rows,
            ["loro/loro_c: export(ExportMode.Updates(VersionVector())); pycrdt: get_update()",
             "history = the document built by section 1 with that commit mode "
             "(pycrdt: one doc, shown on the first row; '=' means same as above)",
             f"best of {run.args.repeat}"]))
    if "import" in sections and res.get("import"):
        header = ["trace", "history"] + [f"{lib} ms" for lib in libs] + ["ratio"]
        rows = []
        for tname, e in res["import"].items():
            for mode in MODES:
                t, oks = e.get(mode, {}), e.get(mode + "_ok", {})
                row = [tname, MODE_LABEL[mode]]
                row += [ok_mark(fmt_ms(t.get(l)), oks.get(l, True))
                        if (l != "pycrdt" or mode == "once") else "=" for l in libs]
                row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
                rows.append(row)
        bad = [k for k, v in res.get("interop", {}).items() if not v]
        run.tables.append(render(
            "3. Import of that blob into a fresh document, text materialised", header, rows,
            ["each library imports its own blob from section 2, then to_string() / str(text)",
             f"best of {run.args.repeat}; checked against endContent",
             "interop (loro imports loro_c's blob and vice versa): "
             + ("all equal endContent" if not bad else "FAILED: " + "; ".join(bad))]))


# ----------------------------------------------------------------------------- 4. merge

def run_merge(run):
    out = run.results.setdefault("merge", {})
    for cname in CONCURRENT_TRACES:
        if not concurrent_trace_path(cname).is_file():
            run.problem(f"merge {cname}", "-", f"missing {concurrent_trace_path(cname)}")
            continue
        ct = ConcurrentTrace(cname)
        entry = out[cname] = {"agents": ct.num_agents, "txns": len(ct.txns),
                              "replay_s": {}, "agent_blob_bytes": {}, "txn_blob_bytes": {}}
        agent_blobs = {}
        for lib in run.libs:
            log(f"[{cname}] replaying with {lib} (one doc per agent, untimed)")
            try:
                dt, (ab, tb) = time_once(
                    lambda lib=lib: replay_concurrent(lib, run.modules[lib], ct))
            except Exception as exc:
                run.problem(f"merge {cname} replay", lib, f"{type(exc).__name__}: {exc}")
                continue
            agent_blobs[lib] = ab
            entry["replay_s"][lib] = dt
            entry["agent_blob_bytes"][lib] = sum(map(len, ab))
            entry["txn_blob_bytes"][lib] = sum(map(len, tb))
            del tb
        log(f"[{cname}] merge")
        fns = {lib: (lambda lib=lib, ab=ab: import_all(lib, run.modules[lib], ab))
               for lib, ab in agent_blobs.items()}
        res = run.timed(f"merge {cname}", fns, run.repeats(list(fns)),
                        lambda lib, r: None if r == ct.end else "merged text differs from endContent")
        entry["merge"] = {lib: r[0] for lib, r in res.items()}
        entry["ok"] = {lib: r[2] for lib, r in res.items()}
        # interop: loro merges loro_c's agent blobs
        if "loro_c" in agent_blobs and run.modules.get("loro") is not None:
            try:
                got = import_all("loro", run.modules["loro"], agent_blobs["loro_c"])
                entry["interop_loro_imports_loro_c"] = got == ct.end
                if got != ct.end:
                    run.problem(f"merge {cname} interop", "loro", "text from loro_c blobs differs")
            except Exception as exc:
                entry["interop_loro_imports_loro_c"] = False
                run.problem(f"merge {cname} interop", "loro", repr(exc))


def table_merge(run):
    libs = run.libs
    rows = []
    for cname, e in run.results.get("merge", {}).items():
        t, oks = e.get("merge", {}), e.get("ok", {})
        row = [cname, f"{e['agents']}", f"{e['txns']:,}"]
        row += [ok_mark(fmt_ms(t.get(l)), oks.get(l, True)) for l in libs]
        row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
        b = e["agent_blob_bytes"]
        row += [f"{b[l]:,}" if l in b else "n/a" for l in libs]
        row.append(fmt_ratio(ratio(b.get("loro_c"), b.get("loro"))))
        row += [fmt_ms(e["replay_s"].get(l)) for l in libs]
        rows.append(row)
    header = (["trace", "agents", "txns"] + [f"{l} ms" for l in libs] + ["ratio"]
              + [f"{l} bytes" for l in libs] + ["size ratio"]
              + [f"{l} replay ms" for l in libs])
    run.tables.append(render(
        "4. Merge of real concurrency (concurrent traces, one peer per agent)", header, rows,
        ["untimed replay: each txn is applied on its agent's doc after importing the per-txn "
         "blobs of its unseen ancestors;",
         "  its own blob is export(Updates(vv_before)) after its commit (pycrdt: "
         "get_update(state_before); the traces are ASCII)",
         "timed: a fresh doc imports every agent's full-history blob (bytes = their sum) "
         f"and materialises the text; best of {run.args.repeat}",
         "the merged text is checked against endContent; 'replay ms' (one run) is for "
         "information only"]))


# ----------------------------------------------------------------------- 5. small updates

def run_small(run):
    out = run.results.setdefault("small", {"edits": run.args.small_n})
    n = run.args.small_n
    for variant in SMALL_VARIANTS:
        edits = small_edits(variant, n)
        expect = []
        for pos, ch in edits:
            expect.insert(pos, ch)
        expect = "".join(expect)

        def check(lib, r, expect=expect):
            total, a, b = r
            if a != expect:
                return "sender's text differs from the expected text"
            return None if b == a else "receiver's text differs from sender's"

        log(f"[small] {variant}")
        fns = {lib: (lambda lib=lib: small_roundtrips(lib, run.modules[lib], edits))
               for lib in run.libs}
        res = run.timed(f"small updates ({variant})", fns, run.repeats(run.libs), check)
        out[variant] = {
            "us_per_roundtrip": {l: r[0] / n * 1e6 for l, r in res.items() if r[0] is not None},
            "bytes_per_update": {l: r[1][0] / n for l, r in res.items() if r[1] is not None},
            "ok": {l: r[2] for l, r in res.items()}}


def table_small(run):
    libs = run.libs
    rows = []
    for variant in SMALL_VARIANTS:
        e = run.results.get("small", {}).get(variant)
        if not e:
            continue
        t, b, oks = e["us_per_roundtrip"], e["bytes_per_update"], e["ok"]
        row = [variant] + [ok_mark(f"{t[l]:.1f}" if l in t else "n/a", oks.get(l, True))
                           for l in libs]
        row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
        row += [f"{b[l]:.1f}" if l in b else "n/a" for l in libs]
        row.append(fmt_ratio(ratio(b.get("loro_c"), b.get("loro"))))
        rows.append(row)
    header = (["edits"] + [f"{l} µs" for l in libs] + ["ratio"]
              + [f"{l} B/update" for l in libs] + ["size ratio"])
    run.tables.append(render(
        f"5. Many small updates ({run.args.small_n:,} one-character edits, each synced A -> B)",
        header, rows,
        ["µs per round trip: insert on A, commit, export(Updates(vv_before)), B.import_ "
         "(pycrdt: get_state, insert, get_update(state), apply_update)",
         f"best of {run.args.repeat}; B's text must equal A's, A's the expected string"]))


# ----------------------------------------------------------------------------- 6. memory

def run_rss(run, rss_blobs):
    out = run.results.setdefault("rss", {"trace": RSS_TRACE})
    trace = rss_blobs.pop("_trace", None) or Trace(RSS_TRACE)
    libs = [l for l in run.libs if l != "pycrdt" or not run.args.pycrdt_max_patches
            or len(trace.patches) <= run.args.pycrdt_max_patches]
    with tempfile.TemporaryDirectory(prefix="loro_c_bench_") as tmp:
        paths = {}
        cp = os.path.join(tmp, "apply_cp.pickle")
        _rss.write_apply_input(cp, trace.txns, trace.end)
        for lib in libs:
            if lib == "pycrdt":
                p = os.path.join(tmp, "apply_utf8.pickle")
                if trace.utf8_txns is trace.txns:
                    p = cp
                else:
                    _rss.write_apply_input(p, trace.utf8_txns, trace.end)
                paths[lib] = p
            else:
                paths[lib] = cp
        for scenario in ("apply", "import"):
            out[scenario] = {}
            for lib in libs:
                if scenario == "import":
                    blob = rss_blobs.get(lib)
                    if blob is None:
                        log(f"[rss] building the {lib} update blob")
                        try:
                            doc, _ = apply_fn(lib, run.modules[lib], trace)()
                            blob = export_all(lib, run.modules[lib], doc)
                            del doc
                        except Exception as exc:
                            run.problem("rss import blob", lib, repr(exc))
                            continue
                    p = os.path.join(tmp, f"import_{lib}.pickle")
                    _rss.write_import_input(p, blob, trace.end)
                else:
                    p = paths[lib]
                log(f"[rss] {scenario} {lib} (fresh process)")
                r = _rss.measure(lib, scenario, p)
                if "error" in r:
                    run.problem(f"rss {scenario}", lib, r["error"])
                    continue
                if not r["ok"]:
                    run.problem(f"rss {scenario}", lib, "final text differs from endContent")
                out[scenario][lib] = r


def table_rss(run):
    libs = run.libs
    mb = lambda x: f"{x / 2**20:,.1f}"
    rows = []
    e = run.results.get("rss", {})
    for scenario in ("apply", "import"):
        r = e.get(scenario)
        if not r:
            continue
        label = {"apply": f"apply {RSS_TRACE}", "import": f"import its update blob"}[scenario]
        row = [label]
        for key in ("rss_before", "delta_rss", "peak_delta"):
            for l in libs:
                if l not in r:
                    row.append("n/a")
                    continue
                cell = mb(r[l][key])
                if key == "peak_delta" and r[l]["peak_from_loading"]:
                    cell = "<=" + cell
                row.append(ok_mark(cell, r[l]["ok"]))
            if key != "rss_before":
                row.append(fmt_ratio(ratio(r.get("loro_c", {}).get(key),
                                           r.get("loro", {}).get(key))))
        rows.append(row)
    header = (["fresh process"] + [f"{l} base" for l in libs]
              + [f"{l} Δrss" for l in libs] + ["ratio"]
              + [f"{l} Δpeak" for l in libs] + ["ratio"])
    run.tables.append(render(
        "6. Memory (MiB), one fresh process per library and scenario", header, rows,
        ["base = RSS (/proc/self/statm) after importing the library and loading the input "
         "(trace as flat arrays, or the blob);",
         "Δrss = RSS after the workload (doc alive, gc'd) - base; Δpeak = peak RSS during "
         "the workload (VmHWM, reset after loading) - base",
         "(ru_maxrss is in --json too; on Linux it keeps the parent's peak across exec, "
         "so it is not used)",
         "apply: loro/loro_c commit once; pycrdt one transaction per trace txn. "
         "import: each library's own blob (section 2, one commit), text materialised"]))


# ---------------------------------------------------------------------------- 7. scaling

def run_scaling(run):
    out = run.results.setdefault("scaling", {"trace": SCALING_TRACE})
    trace = Trace(SCALING_TRACE)
    libs = [l for l in run.libs if l in LORO_LIBS]
    for n in run.args.scaling_sizes:
        patches, expect = scaled_patches(trace, n)
        # small sizes take milliseconds: more rounds; 1M ops take seconds: at most 3
        reps = (3 * run.args.repeat if n <= 20_000 else run.args.repeat if n <= 200_000
                else min(run.args.repeat, 3))
        log(f"[scaling] {n:,} ops, best of {reps}")
        fns = {lib: (lambda lib=lib: apply_patches_loro(run.modules[lib], patches))
               for lib in libs}
        res = run.timed(f"scaling {n:,} ops", fns, {l: reps for l in libs},
                        (lambda lib, r: None if r == expect else "final text is wrong")
                        if expect is not None else None)
        texts = {l: r[1] for l, r in res.items() if r[1] is not None}
        if expect is None and len(texts) == 2 and texts["loro_c"] != texts["loro"]:
            run.problem(f"scaling {n:,} ops", "loro_c", "final text differs from loro's")
        out[n] = {"us_per_op": {l: r[0] / n * 1e6 for l, r in res.items() if r[0] is not None},
                  "seconds": {l: r[0] for l, r in res.items()}, "repeat": reps}
        del patches, res, texts


def table_scaling(run):
    libs = [l for l in run.libs if l in LORO_LIBS]
    e = run.results.get("scaling", {})
    sizes = [n for n in run.args.scaling_sizes if n in e]
    rows = []
    for n in sizes:
        u = e[n]["us_per_op"]
        rows.append([f"{n:,}", f"{e[n]['repeat']}"]
                    + [f"{u[l]:.3f}" if l in u else "n/a" for l in libs]
                    + [fmt_ratio(ratio(u.get("loro_c"), u.get("loro")))])
    if len(sizes) >= 2:
        first, last = e[sizes[0]]["us_per_op"], e[sizes[-1]]["us_per_op"]
        rows.append([f"growth {sizes[-1]:,}/{sizes[0]:,}", ""]
                    + [fmt_ratio(ratio(last.get(l), first.get(l))) for l in libs] + [""])
    run.tables.append(render(
        f"7. Scaling: µs per op, {SCALING_TRACE} patches repeated", ["ops", "best of"]
        + [f"{l} µs/op" for l in libs] + ["ratio"], rows,
        ["each repetition of the trace is offset by the document length before it (appends "
         "a fresh copy); one commit at the end",
         "'growth' = µs/op at the largest size / µs/op at the smallest (1.0 = flat)"]))


# ---------------------------------------------------------------------------- 8. threads

def run_threads(run):
    """Thread scaling: N threads x N documents, each thread importing blobs into documents
    of its own, against one thread doing the same per-thread work; loro_c and loro
    measured interleaved in the same run."""
    out = run.results.setdefault("threads", {"trace": THREADS_TRACE,
                                             "per_thread": run.args.threads_per})
    trace = Trace(THREADS_TRACE)
    libs = [l for l in run.libs if l in LORO_LIBS]
    blobs = {}
    for lib in libs:
        log(f"[threads] building the {lib} blobs (untimed)")
        doc, _ = apply_fn(lib, run.modules[lib], trace)()
        blobs[(lib, "updates")] = export_all(lib, run.modules[lib], doc)
        if lib == "loro":
            # loro's own snapshot (LZ4-compressed state), imported by both libraries
            snap = doc.export(run.modules[lib].ExportMode.Snapshot())
        del doc
    workloads = [("own updates blob", {l: blobs[(l, "updates")] for l in libs})]
    if "loro" in libs:
        workloads.append(("loro snapshot", {l: snap for l in libs}))
    per = run.args.threads_per
    for label, wblobs in workloads:
        entry = out.setdefault(label, {"bytes": {l: len(b) for l, b in wblobs.items()}})
        for n in run.args.threads_n:
            log(f"[threads] {label}: {n} thread(s) x {per} imports")
            fns = {lib: (lambda lib=lib, n=n: threaded_imports(run.modules[lib], wblobs[lib], n, per))
                   for lib in libs}
            res = run.timed(f"threads {label} x{n}", fns, run.repeats(libs),
                            lambda lib, r, n=n: None if r == [trace.end] * (n * per) else
                            "an imported text differs from endContent")
            entry[n] = {lib: {"seconds": r[0], "imports_per_s": n * per / r[0] if r[0] else None,
                              "ok": r[2]} for lib, r in res.items()}


def table_threads(run):
    libs = [l for l in run.libs if l in LORO_LIBS]
    e = run.results.get("threads", {})
    ns = run.args.threads_n
    rows = []
    for label in [k for k in e if isinstance(e[k], dict)]:
        w = e[label]
        base = w.get(ns[0], {}) if ns else {}
        for n in ns:
            if n not in w:
                continue
            cells = w[n]
            row = [label, f"{n}"]
            row += [ok_mark(f"{cells[l]['imports_per_s']:.1f}", cells[l]["ok"])
                    if l in cells and cells[l]["imports_per_s"] else "n/a" for l in libs]
            row += [fmt_ratio(ratio(cells.get(l, {}).get("imports_per_s"),
                                    base.get(l, {}).get("imports_per_s"))) for l in libs]
            row.append(fmt_ratio(ratio(cells.get("loro_c", {}).get("seconds"),
                                       cells.get("loro", {}).get("seconds"))))
            rows.append(row)
    header = (["blob", "threads"] + [f"{l} imports/s" for l in libs]
              + [f"{l} scaling" for l in libs] + ["time ratio"])
    run.tables.append(render(
        f"8. Thread scaling: N threads x N documents ({THREADS_TRACE})", header, rows,
        [f"each thread imports the blob into {run.args.threads_per} fresh documents of its "
         "own (text materialised); all threads start together",
         f"imports/s = all imports / wall time, best of {run.args.repeat}; scaling = "
         f"imports/s / imports/s with {ns[0] if ns else 1} thread (ideal: N); "
         "time ratio = loro_c/loro at that N",
         f"{os.cpu_count()} CPUs; loro_c releases the GIL for checksums, LZ4, long UTF-8 "
         "runs and the integration of changes of 32 ops or more; decoding holds it",
         "loro snapshot: loro loads its state, loro_c replays the history inside it, so "
         "only the scaling columns compare there"]))
# ------------------------------------------------------------------------- 9. many peers

PEER_EDITS = 200


PEER_SCENARIOS = (("linear", 1), ("concurrent", 4))


def run_peers(run):
    n_peers, per_peer = run.args.peers, run.args.peer_changes
    res_all = run.results.setdefault("peers", {"peers": n_peers, "changes_per_peer": per_peer,
                                               "edits": PEER_EDITS, "scenarios": {}})
    libs = [l for l in run.libs if l in LORO_LIBS]
    gen = "loro_c" if "loro_c" in libs else libs[0]
    for scenario, replicas in PEER_SCENARIOS:
        out = res_all["scenarios"][scenario] = {"replicas": replicas}
        log(f"[peers {scenario}] building a {n_peers:,}-peer, {n_peers * per_peer:,}-change "
            f"history on {replicas} replica(s) with {gen}")
        blob, end = many_peer_history(run.modules[gen], n_peers, per_peer, replicas=replicas)
        out["blob_bytes"] = len(blob)
        log(f"[peers {scenario}] import")
        fns = {lib: (lambda lib=lib: import_blob(run.modules[lib], blob)[1]) for lib in libs}
        # loro takes tens of seconds on the full-size history: one run each
        reps = 1 if n_peers * per_peer > 10_000 else run.args.repeat
        res = run.timed(f"peers {scenario} import", fns, {l: reps for l in libs},
                        lambda lib, r: None if r == end else "imported text differs")
        out["import_s"] = {l: r[0] for l, r in res.items()}
        log(f"[peers {scenario}] edit + export")
        docs = {lib: import_blob(run.modules[lib], blob)[0] for lib in libs}
        fns = {lib: (lambda lib=lib: edit_export_rounds(run.modules[lib], docs[lib], PEER_EDITS))
               for lib in libs}
        res = run.timed(f"peers {scenario} edit+export", fns, run.repeats(libs))
        out["edit_export_us"] = {l: r[0] / PEER_EDITS * 1e6 for l, r in res.items()
                                 if r[0] is not None}
        docs = None
        out["rss"] = {}
        with tempfile.TemporaryDirectory(prefix="loro_c_bench_") as tmp:
            p = os.path.join(tmp, "peers.pickle")
            _rss.write_import_input(p, blob, end)
            for lib in libs:
                log(f"[peers {scenario}] rss {lib} (fresh process)")
                r = _rss.measure(lib, "import", p)
                if "error" in r:
                    run.problem(f"peers {scenario} rss", lib, r["error"])
                    continue
                if not r["ok"]:
                    run.problem(f"peers {scenario} rss", lib, "final text differs")
                out["rss"][lib] = r


def table_peers(run):
    libs = [l for l in run.libs if l in LORO_LIBS]
    e = run.results.get("peers")
    if not e:
        return
    mb = lambda x: f"{x / 2**20:,.1f}"
    rows = []
    for scenario, s in e["scenarios"].items():
        t = s.get("import_s", {})
        rows.append([scenario, "import the history (ms)"] + [fmt_ms(t.get(l)) for l in libs]
                    + [fmt_ratio(ratio(t.get("loro_c"), t.get("loro")))])
        u = s.get("edit_export_us", {})
        rows.append(["", "edit + commit + export (µs)"]
                    + [f"{u[l]:.1f}" if l in u else "n/a" for l in libs]
                    + [fmt_ratio(ratio(u.get("loro_c"), u.get("loro")))])
        r = s.get("rss", {})
        for key, label in (("delta_rss", "Δrss after import (MiB)"),
                           ("peak_delta", "Δpeak during import (MiB)")):
            rows.append(["", label] + [mb(r[l][key]) if l in r else "n/a" for l in libs]
                        + [fmt_ratio(ratio(r.get("loro_c", {}).get(key),
                                           r.get("loro", {}).get(key)))])
    run.tables.append(render(
        f"9. Many peers: {e['peers']:,} peers x {e['changes_per_peer']} changes",
        ["history", "measure"] + libs + ["ratio"], rows,
        ["a long-lived doc edited in one session per peer id, each change a random text "
         "insert/delete or map set (history built by loro_c);",
         "  linear: every change on top of the doc's frontier; concurrent: the changes land "
         "on 4 replicas that sync a random pair every 25 changes, then merge",
         "import: a fresh doc imports the whole history's blob and materialises the text "
         "(one run when the history has over 10,000 changes, else best of --repeat)",
         f"edit + export: on the imported doc, {PEER_EDITS} x (oplog_vv, insert one character, "
         "commit, export(Updates(vv))), per round; best of --repeat",
         "memory: the import in a fresh process per library (see section 6)"]))


# ----------------------------------------------------------------------------- summary

TARGETS = (
    ("apply", f"local apply {TARGET_TRACE} (one commit)", 0.5),
    ("import", "import of the full update blob", 1.0),
    ("merge", "merge of the concurrent traces", 0.5),
    ("size", "update blob size", 1.05),
    ("small", "small update round trip time", 0.7),
    ("rss", "peak RSS", 1.0),
    ("peers_import", "many peers: import", 0.5),
    ("peers_edit", "many peers: edit + export", 1.0),
    ("peers_rss", "many peers: memory after import", 1.0),
)


def summary(run):
    res = run.results
    rows = []
    out = []

    def cases_seq(section, field_ok_keys):
        cases = {}
        for tname, e in res.get(section, {}).items():
            for mode in MODES:
                t = e.get(mode, {})
                r = ratio(t.get("loro_c"), t.get("loro"))
                if r is not None:
                    cases[f"{tname}, {MODE_LABEL[mode]}"] = r
        return cases

    for key, label, target in TARGETS:
        primary, basis, cases = None, "", {}
        if key == "apply":
            cases = cases_seq("apply", None)
            primary = cases.get(f"{TARGET_TRACE}, one commit")
            basis = f"{TARGET_TRACE}, one commit"
        elif key == "import":
            cases = cases_seq("import", None)
            primary = cases.get(f"{TARGET_TRACE}, one commit")
            basis = f"{TARGET_TRACE}, one-commit history"
        elif key == "size":
            for tname, e in res.get("export", {}).items():
                for mode in MODES:
                    b = e.get(mode + "_bytes", {})
                    r = ratio(b.get("loro_c"), b.get("loro"))
                    if r is not None:
                        cases[f"{tname}, {MODE_LABEL[mode]}"] = r
            primary = cases.get(f"{TARGET_TRACE}, one commit")
            basis = f"{TARGET_TRACE}, one-commit history"
        elif key == "merge":
            for cname, e in res.get("merge", {}).items():
                r = ratio(e.get("merge", {}).get("loro_c"), e.get("merge", {}).get("loro"))
                if r is not None:
                    cases[cname] = r
            primary = geomean(cases.values())
            basis = "geomean of " + ", ".join(cases) if cases else ""
        elif key == "small":
            for variant in SMALL_VARIANTS:
                u = res.get("small", {}).get(variant, {}).get("us_per_roundtrip", {})
                r = ratio(u.get("loro_c"), u.get("loro"))
                if r is not None:
                    cases[variant] = r
            primary = geomean(cases.values())
            basis = "geomean of " + ", ".join(cases) if cases else ""
        elif key == "rss":
            for scenario in ("apply", "import"):
                s = res.get("rss", {}).get(scenario, {})
                r = ratio(s.get("loro_c", {}).get("peak_delta"), s.get("loro", {}).get("peak_delta"))
                if r is not None:
                    cases[f"{scenario} {RSS_TRACE}" if scenario == "apply" else
                          "import its blob"] = r
            primary = geomean(cases.values())
            basis = "Δpeak, geomean of " + ", ".join(cases) if cases else ""
        elif key.startswith("peers_"):
            e = res.get("peers", {})
            for scenario, sc in e.get("scenarios", {}).items():
                if key == "peers_import":
                    t = sc.get("import_s", {})
                elif key == "peers_edit":
                    t = sc.get("edit_export_us", {})
                else:
                    t = {l: v.get("delta_rss") for l, v in sc.get("rss", {}).items()}
                r = ratio(t.get("loro_c"), t.get("loro"))
                if r is not None:
                    cases[scenario] = r
            primary = cases.get("linear")
            if e:
                basis = f"{e['peers']:,} peers x {e['changes_per_peer']} changes, linear"
        if primary is None:
            status = "not measured"
        else:
            status = "met" if primary <= target else "NOT MET"
        worst = max(cases.items(), key=lambda kv: kv[1]) if cases else None
        worst_cell = f"{worst[1]:.2f} ({worst[0]})" if worst else "n/a"
        if worst and primary is not None and worst[1] > target and status == "met":
            status = "met (worst case not)"
        rows.append([label, f"<= {target}", fmt_ratio(primary), status, basis, worst_cell])
        out.append({"target": label, "max_ratio": target, "ratio": primary, "basis": basis,
                    "status": status, "cases": cases})
    res["summary"] = out
    return render("Summary: target ratios loro_c/loro (lower is better)",
                  ["target", "goal", "ratio", "status", "measured on", "worst case"], rows)


# --------------------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benches",
                                 description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: traces automerge-paper,friendsforever_flat, repeat 2, "
                         "1,000 small edits, scaling to 100k ops, pycrdt skipped on traces "
                         "over 100k patches")
    ap.add_argument("--traces", default=None,
                    help="comma-separated sequential traces (e.g. automerge-paper,"
                         f"ascii_only/rustcode); default: {','.join(DEFAULT_TRACES)}")
    ap.add_argument("--all-traces", action="store_true",
                    help=f"every sequential trace: {','.join(ALL_TRACES)}")
    ap.add_argument("--libs", default=",".join(LIBRARIES), help="subset of %(default)s")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per measurement, best kept (default 5, --quick 2)")
    ap.add_argument("--pycrdt-repeat", type=int, default=1,
                    help="runs of pycrdt's trace replays in section 1, which are slow "
                         "(default %(default)s)")
    ap.add_argument("--pycrdt-max-patches", type=int, default=None,
                    help="skip pycrdt on sequential traces with more patches (0 = never "
                         "skip; default 0, --quick 100000)")
    ap.add_argument("--small-n", type=int, default=None,
                    help="edits in section 5 (default 5000, --quick 1000)")
    ap.add_argument("--scaling-sizes", default=None,
                    help="op counts for section 7 (default 10000,100000,1000000; --quick "
                         "10000,100000)")
    ap.add_argument("--threads", dest="threads_n", default=None,
                    help="thread counts for section 8 (default 1,2)")
    ap.add_argument("--threads-per", type=int, default=None,
                    help="imports per thread in section 8 (default 4, --quick 2)")
    ap.add_argument("--peers", type=int, default=None,
                    help="peers in section 9 (default 2000, --quick 500)")
    ap.add_argument("--peer-changes", type=int, default=20,
                    help="changes per peer in section 9 (default %(default)s)")
    ap.add_argument("--json", metavar="PATH", help="also write every number to PATH")
    args = ap.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    q = args.quick
    if args.traces:
        args.traces = [t.strip() for t in args.traces.split(",") if t.strip()]
    elif args.all_traces:
        args.traces = list(ALL_TRACES)
    else:
        args.traces = ["automerge-paper", "friendsforever_flat"] if q else list(DEFAULT_TRACES)
    args.libs = [l.strip() for l in args.libs.split(",") if l.strip()]
    if set(args.libs) - set(LIBRARIES):
        ap.error(f"unknown libraries: {', '.join(sorted(set(args.libs) - set(LIBRARIES)))}")
    if args.repeat is None:
        args.repeat = 2 if q else 5
    if args.pycrdt_max_patches is None:
        args.pycrdt_max_patches = 100_000 if q else 0
    if args.small_n is None:
        args.small_n = 1000 if q else 5000
    if args.peers is None:
        args.peers = 500 if q else 2000
    if args.scaling_sizes:
        args.scaling_sizes = [int(s.replace("_", "")) for s in args.scaling_sizes.split(",")]
    else:
        args.scaling_sizes = [10_000, 100_000] if q else [10_000, 100_000, 1_000_000]
    args.threads_n = ([int(s) for s in args.threads_n.split(",")] if args.threads_n else [1, 2])
    if args.threads_per is None:
        args.threads_per = 2 if q else 4
    return args


def main(argv=None):
    args = parse_args(argv)
    if not traces_dir().is_dir():
        print(f"no traces at {traces_dir()}; set LORO_C_TRACES", file=sys.stderr)
        return 2
    modules = {name: load_library(name) for name in args.libs}
    for name, mod in modules.items():
        if mod is None:
            log(f"note: {name} is not installed; it is left out")
    run = Run(args, modules)
    run.results["config"] = {k: v for k, v in vars(args).items() if k != "json"}
    t_start = time.perf_counter()
    secs = args.sections
    rss_blobs = {}
    if {"apply", "export", "import", "rss"} & set(secs):
        rss_blobs = run_sequential(run, secs)
        tables_sequential(run, secs)
    if "merge" in secs:
        run_merge(run)
        table_merge(run)
    if "small" in secs:
        run_small(run)
        table_small(run)
    if "rss" in secs:
        run_rss(run, rss_blobs)
        table_rss(run)
    rss_blobs = None
    if "scaling" in secs:
        run_scaling(run)
        table_scaling(run)
    if "threads" in secs:
        run_threads(run)
        table_threads(run)
    if "peers" in secs:
        run_peers(run)
        table_peers(run)
    # sections in their own modules: benches/_<name>.py with run_<name> and table_<name>
    for name in ("hot", "checkout", "snapshot", "movable", "richtext", "undo", "tree", "nested"):
        if name in secs:
            module = importlib.import_module(f"._{name}", __package__)
            getattr(module, f"run_{name}")(run, log)
            getattr(module, f"table_{name}")(run, render, fmt_ratio, ratio)
    elapsed = time.perf_counter() - t_start
    m = run.results["machine"]
    print(f"loro_c benchmarks -- {m['date']}, {m['nproc']} CPUs ({m['cpu']}), "
          f"Python {m['python']}, {m['platform']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
          + (f"; git {m['git']}" if m["git"] else ""))
    print(f"traces: {traces_dir()}; ratio = loro_c/loro (lower is better)\n")
    for t in run.tables:
        print(t)
    print(summary(run))
    if run.problems:
        print("Problems")
        print("========")
        for p in run.problems:
            print(f"  {p}")
        print()
    print(f"total time {elapsed:.0f} s")
    run.results["problems"] = run.problems
    run.results["elapsed_s"] = elapsed
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump(run.results, f, indent=1, default=str)
        log(f"wrote {args.json}")
    return 1 if run.problems else 0


if __name__ == "__main__":
    sys.exit(main())
