"""python -m benches [--traces a,b,...] [--repeat N] [--libs loro_c,loro,pycrdt]

Prints, per trace, the best wall time (time.perf_counter) of N replays through the text API
of each library, and the ratio loro_c / loro. Each replay builds a fresh document and applies
every patch; loro_c and loro commit once at the end, pycrdt runs one transaction per trace
transaction (see benches/_common.py). The final text is checked against the trace's
endContent (a wrong result is flagged, never timed as if it were right).
"""
import argparse
import gc
import sys
import time

from ._common import DEFAULT_TRACES, LIBRARIES, Trace, load_library, runner, traces_dir


def best_of(fn, repeat):
    best = None
    result = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, result


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benches", description=__doc__.split("\n\n")[1])
    ap.add_argument("--traces", default=",".join(DEFAULT_TRACES),
                    help="comma-separated trace names under sequential_traces/ "
                         "(e.g. automerge-paper,ascii_only/rustcode); default: %(default)s")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    ap.add_argument("--libs", default=",".join(LIBRARIES),
                    help="comma-separated subset of %(default)s")
    args = ap.parse_args(argv)

    root = traces_dir()
    if not root.is_dir():
        print(f"no traces at {root}; set LORO_C_TRACES", file=sys.stderr)
        return 2
    libs = [name.strip() for name in args.libs.split(",") if name.strip()]
    modules = {name: load_library(name) for name in libs}
    for name, mod in modules.items():
        if mod is None:
            print(f"note: {name} is not installed; its column shows n/a", file=sys.stderr)

    header = ["trace", "patches"] + [f"{name} ms" for name in libs] + ["loro_c/loro"]
    rows = []
    for tname in [t.strip() for t in args.traces.split(",") if t.strip()]:
        trace = Trace(tname)
        row = [tname, f"{len(trace.patches):,}"]
        times = {}
        for name in libs:
            mod = modules[name]
            if mod is None:
                row.append("n/a")
                continue
            try:
                dt, result = best_of(runner(name, mod, trace), args.repeat)
            except Exception as e:  # report, keep going with the other libraries
                row.append(f"error: {type(e).__name__}")
                print(f"{name} on {tname}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            times[name] = dt
            cell = f"{dt * 1000:,.1f}"
            if result != trace.end:
                cell += " (WRONG RESULT)"
            row.append(cell)
        if "loro_c" in times and "loro" in times:
            row.append(f"{times['loro_c'] / times['loro']:.2f}")
        else:
            row.append("n/a")
        rows.append(row)
        print(f"done: {tname}", file=sys.stderr)

    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(f"best of {args.repeat}; loro_c/loro: one commit per replay; "
          f"pycrdt: one transaction per trace txn; traces from {root}")
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
