"""python -m benches.events [--traces a,b] [--repeat N] [--quick]

The cost of diff events: a trace applied through the text API (one commit per trace
transaction, so one event per transaction) and the trace's full history imported into a
fresh document, each by loro_c without a subscriber, loro_c with a root subscriber, loro
without and loro with one. The subscriber reads every event (the diff lists are built
either way). Best of N interleaved runs; nothing is asserted on time.

Ratios printed: loro_c+sub / loro_c (what subscribing costs), loro_c+sub / loro+sub (the
issue's target is <= 1.0).
"""
import argparse
import sys

from ._common import DEFAULT_TRACES, Trace, interleaved_best, load_library, trace_path
from ._work import apply_loro


def _subscribe(doc, sink):
    return doc.subscribe_root(lambda e: sink.append(len(e.events)))


def apply_events(lib, trace, subscribe):
    """Replay `trace` with a commit per trace transaction; returns (text, events seen)."""
    seen = []
    _, text = apply_loro(lib, trace, per_txn=True,
                         on_doc=(lambda doc: _subscribe(doc, seen)) if subscribe else None)
    return text, len(seen)


def import_events(lib, blob, subscribe):
    """A fresh doc imports `blob`; returns (text, events seen)."""
    doc = lib.LoroDoc()
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    doc.import_(blob)
    del sub
    return doc.get_text("text").to_string(), len(seen)


def history_blob(lib, trace):
    doc, _ = apply_loro(lib, trace, per_txn=True)
    return doc.export(lib.ExportMode.Updates(lib.VersionVector()))


def run(traces, repeat):
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for name in traces:
        if not trace_path(name).is_file():
            print(f"skip {name}: trace data absent", file=sys.stderr)
            continue
        trace = Trace(name)
        for section in ("apply", "import"):
            fns = {}
            for lib_name, lib in libs.items():
                if lib is None:
                    continue
                if section == "import":
                    blob = history_blob(lib, trace)
                for sub in (False, True):
                    key = f"{lib_name}{'+sub' if sub else ''}"
                    if section == "apply":
                        fns[key] = (lambda lib=lib, sub=sub: apply_events(lib, trace, sub))
                    else:
                        fns[key] = (lambda lib=lib, sub=sub, blob=blob: import_events(lib, blob, sub))
            res = interleaved_best(fns, {k: repeat for k in fns})
            for key, (secs, result) in res.items():
                ok = secs is not None and result[0] == trace.end
                rows.append((name, section, key, secs, ok, result[1] if ok else None))
            base = res.get("loro_c", (None,))[0]
            with_sub = res.get("loro_c+sub", (None,))[0]
            loro_sub = res.get("loro+sub", (None,))[0]
            print(f"{name:20} {section:7}", end="")
            for key in fns:
                secs = res[key][0]
                print(f"  {key} {secs * 1000:9.1f} ms" if secs else f"  {key} failed", end="")
            if base and with_sub:
                print(f"  | sub/nosub {with_sub / base:5.2f}", end="")
            if with_sub and loro_sub:
                print(f"  loro_c+sub/loro+sub {with_sub / loro_sub:5.2f}", end="")
            print(flush=True)
    bad = [r for r in rows if not r[4]]
    for r in bad:
        print(f"PROBLEM: {r[0]} {r[1]} {r[2]} gave a wrong result or failed", file=sys.stderr)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", default=",".join(DEFAULT_TRACES))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one trace, 3 runs")
    args = ap.parse_args(argv)
    traces = args.traces.split(",")
    if args.quick:
        traces, args.repeat = traces[:1], 3
    rows = run(traces, args.repeat)
    return 1 if any(not r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
