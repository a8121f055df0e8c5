"""Section 9: time travel (checkout) on long histories, loro_c against loro.

Each workload builds its document untimed, then times a tour of checkouts (the versions in
a fixed random order, each followed by a read of the state) ending with
``checkout_to_latest``. The reads are compared across the libraries (a wrong result is a
problem, not a number).

* ``text history``: automerge-paper typed by one peer, one commit per trace transaction;
  checkouts to 40 versions spread over its history, reading the text's length.
* ``concurrent text``: clownschool's three agents merged (concurrent history); checkouts to
  40 random ops of the merged history, reading the text.
* ``map and counter``: two peers each write 6,000 random keys of a map (out of 400) and
  increment a counter, syncing every 100 ops; checkouts to 40 random versions, reading the
  whole deep value.
"""
import random

from ._common import ConcurrentTrace, Trace, workload_result, workload_table, typed_history
from ._work import replay_concurrent

TEXT_TRACE = "automerge-paper"
CONCURRENT = "clownschool"
N_VERSIONS = 40
MAP_OPS = 6_000
MAP_KEYS = 400


def _map_history(lib):
    rng = random.Random(7)
    a, b = lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    for i in range(MAP_OPS):
        for doc in (a, b):
            doc.get_map("m").insert(f"k{rng.randrange(MAP_KEYS)}", rng.randrange(1000))
            if rng.random() < 0.1:
                doc.get_counter("c").increment(rng.randint(-3, 3))
            doc.commit()
        if i % 100 == 99:
            a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
            b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
    return a


def _versions(lib, ends, rng, n):
    """`n` single-op frontiers at random counters of the peers in `ends` ({peer: end})."""
    peers = sorted(ends)
    out = []
    for _ in range(n):
        p = rng.choice(peers)
        out.append(lib.Frontiers.from_id(lib.ID(p, rng.randrange(ends[p]))))
    return out


def _tour(doc, versions, read):
    out = [None] * len(versions)
    for i, f in enumerate(versions):
        doc.checkout(f)
        out[i] = read(doc)
    doc.checkout_to_latest()
    out.append(read(doc))
    return out


def run_checkout(run, log):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("checkout", {})
    workloads = []

    log(f"[checkout] building {TEXT_TRACE} with one commit per txn")
    trace = Trace(TEXT_TRACE)
    docs = {lib: typed_history(run.modules[lib], trace) for lib in libs}
    end = len(trace.patches)
    spread = [1 + end * i // N_VERSIONS for i in range(N_VERSIONS)]
    random.Random(3).shuffle(spread)
    versions = {lib: [run.modules[lib].Frontiers.from_id(run.modules[lib].ID(1, min(c, end) - 1))
                      for c in spread] for lib in libs}
    workloads.append(("text history", docs, versions, lambda d: d.get_text("text").len_unicode))

    log(f"[checkout] merging {CONCURRENT}")
    ctrace = ConcurrentTrace(CONCURRENT)
    docs, versions = {}, {}
    for lib in libs:
        mod = run.modules[lib]
        agent_blobs, _ = replay_concurrent(lib, mod, ctrace)
        doc = mod.LoroDoc()
        for blob in agent_blobs:
            doc.import_(blob)
        docs[lib] = doc
    ends = docs["loro_c"].oplog_vv.to_dict() if "loro_c" in docs else None
    for lib in libs:
        versions[lib] = _versions(run.modules[lib], ends, random.Random(5), N_VERSIONS)
    workloads.append(("concurrent text", docs, versions,
                      lambda d: d.get_text("text").to_string()))

    log("[checkout] building the map and counter history")
    docs = {lib: _map_history(run.modules[lib]) for lib in libs}
    ends = docs["loro_c"].oplog_vv.to_dict()
    versions = {lib: _versions(run.modules[lib], ends, random.Random(9), N_VERSIONS) for lib in libs}
    workloads.append(("map and counter", docs, versions, lambda d: d.get_deep_value()))

    for name, docs, versions, read in workloads:
        log(f"[checkout] {name}")
        expect = _tour(docs["loro"], versions["loro"], read) if "loro" in docs else None

        def check(lib, result, expect=expect):
            if expect is not None and result != expect:
                return "the states read at the checked-out versions differ from loro's"
            return None

        fns = {lib: (lambda lib=lib, docs=docs, versions=versions, read=read:
                     _tour(docs[lib], versions[lib], read)) for lib in libs}
        res = run.timed(f"checkout ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)


def table_checkout(run, render, fmt_ratio, ratio):
    workload_table(
        run, "checkout",
        f"9. Time travel: {N_VERSIONS} checkouts and a read of the state, then checkout_to_latest",
        ["versions in a fixed random order; best of the runs, libraries interleaved",
         "the reads at every version are checked against loro's"], render, fmt_ratio, ratio)
