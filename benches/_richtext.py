"""Section 12: rich text, loro_c against loro.

``automerge-paper`` typed by one peer with a mark every 40 transactions (bold, italic or
link over up to 30 code points around the last edit, an unmark every fifth time), one
commit per transaction. Timed: building it (local edits and marks), importing its updates
blob into an empty document, reading ``to_delta()``, and merging two concurrent versions
(a second peer shares the first half of the history, then types and marks its own way while
the first peer finishes the trace; each imports the other's updates). The deltas are compared across
the libraries (a wrong result is a problem, not a number).
"""
import random

from ._common import Trace, workload_result, workload_table

TRACE = "automerge-paper"
MARK_EVERY = 40
KEYS = (("bold", True), ("italic", True), ("link", "https://example.com"))


def _build(lib, trace, txns=None):
    rng = random.Random(11)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    for i, txn in enumerate(trace.txns if txns is None else trace.txns[:txns]):
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


def _concurrent(lib, trace, first):
    """Peer 2 shares the first half of peer 1's history (the same ops: the build is
    deterministic), then inserts and marks at random. Returns the updates each peer lacks."""
    rng = random.Random(12)
    other = _build(lib, trace, len(trace.txns) // 2)
    other.peer_id = 2
    text = other.get_text("text")
    for i in range(3000):
        n = text.len_unicode
        p = rng.randrange(n)
        if i % 3 == 0:
            key, value = KEYS[rng.randrange(len(KEYS))]
            text.mark(p, min(n, p + rng.randint(1, 80)), key, value)
        else:
            text.insert(p, "xy ")
        other.commit()
    return (other, other.export(lib.ExportMode.Updates(first.oplog_vv)),
            first.export(lib.ExportMode.Updates(other.oplog_vv)))


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

    concurrent = {lib: _concurrent(run.modules[lib], trace, built[lib]) for lib in libs}

    def fresh_pair(lib):
        other, _, _ = concurrent[lib]
        mod = run.modules[lib]
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.import_(blobs[lib])
        b.import_(other.export(mod.ExportMode.Updates(mod.VersionVector())))
        return a, b

    # the two peers' documents are loaded before the clock starts: one pair per run
    pairs = {lib: [fresh_pair(lib) for _ in range(run.repeats(libs)[lib])] for lib in libs}

    def merge_both_ways(lib):
        _, to_first, to_other = concurrent[lib]
        a, b = pairs[lib].pop()
        a.import_(to_first)
        b.import_(to_other)
        return a, b

    expect_merged = None

    def check_merged(lib, result):
        nonlocal expect_merged
        a, b = (_merged(_delta(d)) for d in result)
        if a != b:
            return "the two peers differ after merging"
        if expect_merged is None:
            expect_merged = a
        elif a != expect_merged:
            return "the merged rich text differs from the other library's"
        return None

    steps = [
        ("build (edits and marks)", {lib: (lambda lib=lib: _delta(_build(run.modules[lib], trace)))
                                     for lib in libs}),
        ("import updates", {lib: (lambda lib=lib: imported(lib)) for lib in libs}),
        ("to_delta", {lib: (lambda lib=lib: _delta(built[lib])) for lib in libs}),
    ]
    for name, fns in steps:
        res = run.timed(f"richtext ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)
    name = "merge concurrent versions"
    res = run.timed(f"richtext ({name})", {lib: (lambda lib=lib: merge_both_ways(lib)) for lib in libs},
                    run.repeats(libs), check_merged)
    out[name] = workload_result(res)


def table_richtext(run, render, fmt_ratio, ratio):
    workload_table(
        run, "richtext",
        f"12. Rich text: {TRACE} with a mark every {MARK_EVERY} transactions",
        ["best of the runs, libraries interleaved; the deltas are checked against loro's"], render, fmt_ratio, ratio)
