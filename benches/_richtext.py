"""Section 12: rich text, loro_c against loro.

``automerge-paper`` typed by one peer with a mark every 40 transactions (bold, italic or
link over up to 30 code points around the last edit, an unmark every fifth time), one
commit per transaction. Timed: building it (local edits and marks), importing its updates
blob into an empty document, and reading ``to_delta()``. The deltas are compared across
the libraries (a wrong result is a problem, not a number).
"""
import random

from ._common import Trace, workload_result, workload_table

TRACE = "automerge-paper"
MARK_EVERY = 40
KEYS = (("bold", True), ("italic", True), ("link", "https://example.com"))


def _build(lib, trace):
    rng = random.Random(11)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    for i, txn in enumerate(trace.txns):
        for pos, n_del, ins in txn:
            if n_del:
                text.delete(pos, n_del)
            if ins:
                text.insert(pos, ins)
        if i % MARK_EVERY == MARK_EVERY - 1:
            n = text.len_unicode
            if n > 2:
                a = rng.randrange(n - 1)
                b = min(n, a + rng.randint(1, 30))
                key, value = KEYS[rng.randrange(len(KEYS))]
                if i % (5 * MARK_EVERY) == 5 * MARK_EVERY - 1:
                    text.unmark(a, b, key)
                else:
                    text.mark(a, b, key, value)
        doc.commit()
    return doc


def _delta(doc):
    return [(d.insert, d.attributes or None) for d in doc.get_text("text").to_delta()]


def _merged(items):
    out = []
    for t, a in items:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0] + t, a)
        else:
            out.append((t, a))
    return out


def run_richtext(run, log):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("richtext", {})
    trace = Trace(TRACE)
    log(f"[richtext] {TRACE} with marks")
    built = {lib: _build(run.modules[lib], trace) for lib in libs}
    expect = _merged(_delta(built["loro"])) if "loro" in built else None

    def check(lib, result):
        if expect is not None and _merged(result) != expect:
            return "the rich text differs from loro's"
        return None

    blobs = {lib: built[lib].export(run.modules[lib].ExportMode.Updates(run.modules[lib].VersionVector()))
             for lib in libs}

    def imported(lib):
        doc = run.modules[lib].LoroDoc()
        doc.import_(blobs[lib])
        return _delta(doc)

    steps = [
        ("build (edits and marks)", {lib: (lambda lib=lib: _delta(_build(run.modules[lib], trace)))
                                     for lib in libs}),
        ("import updates", {lib: (lambda lib=lib: imported(lib)) for lib in libs}),
        ("to_delta", {lib: (lambda lib=lib: _delta(built[lib])) for lib in libs}),
    ]
    for name, fns in steps:
        res = run.timed(f"richtext ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)


def table_richtext(run, render, fmt_ratio, ratio):
    workload_table(
        run, "richtext",
        f"12. Rich text: {TRACE} with a mark every {MARK_EVERY} transactions",
        ["best of the runs, libraries interleaved; the deltas are checked against loro's"], render, fmt_ratio, ratio)
