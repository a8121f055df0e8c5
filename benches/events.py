"""python -m benches.events [--traces a,b] [--repeat N] [--quick]

The cost of diff events: a trace applied through the text API (one commit per trace
transaction, so one event per transaction) and the trace's full history imported into a
fresh document, each by loro_c without a subscriber, loro_c with a root subscriber, loro
without and loro with one. The subscriber reads every event (the diff lists are built
either way). Best of N interleaved runs; nothing is asserted on time.

Two tree rows follow (``--tree-only`` runs just them): ``tree checkout`` checks a
5,000-node tree that took 3,000 random moves out at the version half way and back to the
latest (two checkout events); ``tree concurrent import``: a fresh document imports the
blobs of section 14's three peers moving 5,000 shared nodes (``--quick``: 500; the last
hundred moves of each not synced), the second and third imports concurrent. Both replay
loro's tree diff while subscribed.

Then ``movable import N`` rows (``--movable-only`` runs just them): a document holding a
4,000-item MovableList imports one update of N random ops (moves, sets, deletes, inserts;
N = 10, 60, 2,000, ``--quick``: 10 and 60); only that import is timed, the document being
made fresh for each run. Every import replays loro's split of the diff
(loro_c.ml_event_split).

``concurrent checkout N`` rows (``--concurrent-only`` runs just them): three peers' N
commits on shared root containers, synced now and then, imported into one document that
checks out 20 versions along the way and back to the latest (40 checkout events; loro's DAG
walk orders their diffs, see loro_c._dag_order).

``rich edits N`` and ``rich checkouts N`` rows (``--rich-only`` runs just them): N random
inserts, deletes and marks (bold, italic, link) of one text, a commit each (one event per
commit); then checkouts to versions along the way and back, with edits in between (each
event carries the style boundaries loro's state keeps: loro_c.rich_checkout).

``one commit N`` rows (``--commit-only`` runs just them): N inserts and deletes at
scattered places of a 1,000-character text, then one commit (one event whose delta loro
builds by composing the transaction's N hints; N = 1,000, 4,000, 20,000, ``--quick``:
4,000). The edits and the commit are timed.

``nested commit`` rows (``--nested-only`` runs just them): a root map of 40 maps of 10
lists of 5 maps each (2,000 maps three levels down); one commit writes a key in every one
of them, with a root subscriber (one event of 2,000 map diffs with their paths) and
without.

``server import KIND`` rows (``--server-only`` runs just them): 300 documents, each holding
a large container (a text of 4,000 characters, a list or movable list of 4,000 items, a map
of 4,000 keys, a tree of 2,000 nodes) with a root subscriber, each import the same update of
10 ops; the time per import, over all of them (a server's many documents: each import
finds its document out of the CPU's caches).

Ratios printed: loro_c+sub / loro_c (what subscribing costs), loro_c+sub / loro+sub (the
issue's target is <= 1.0).
"""
import argparse
import sys

from ._common import (DEFAULT_TRACES, Trace, interleaved_best, interleaved_self_timed,
                      load_library, trace_path)
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


def tree_session(lib, n_nodes=5000, n_moves=3000):
    """One peer's tree: `n_nodes` created (each under a random earlier node or as a root),
    then `n_moves` random moves, committing every 50 ops; returns (doc, the version half
    way through the moves)."""
    import random
    from ._tree import _try_move
    rng = random.Random(16)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    tree = doc.get_tree("t")
    nodes = []
    for i in range(n_nodes):
        p = rng.randrange(-1, i) if i else -1
        nodes.append(tree.create(None if p < 0 else nodes[p]))
        if i % 50 == 49:
            doc.commit()
    doc.commit()
    mid = None
    for i in range(n_moves):
        _try_move(tree, nodes[rng.randrange(n_nodes)],
                  None if rng.random() < 0.05 else nodes[rng.randrange(n_nodes)])
        if i % 50 == 49:
            doc.commit()
        if i == n_moves // 2:
            doc.commit()
            mid = doc.state_frontiers
    doc.commit()
    return doc, mid


def tree_checkout_pair(doc, mid, subscribe):
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    doc.checkout(mid)
    doc.checkout_to_latest()
    del sub
    return len(doc.get_tree("t").nodes()), len(seen)


def tree_concurrent_import(lib, blobs, subscribe):
    doc = lib.LoroDoc()
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    for b in blobs:
        doc.import_(b)
    del sub
    return len(doc.get_tree("t").nodes()), len(seen)


def tree_concurrent_blobs(lib):
    """Section 14's three peers moving the shared nodes (its sizes), without the final
    sync: each peer's blob holds moves the others lack, so the second and third imports
    into one document are concurrent."""
    import random
    from . import _tree
    from ._common import peers_from, sync_all
    rng = random.Random(15)
    n_shared, steps = _tree.SIZES["shared"], _tree.SIZES["peer_moves"]
    base = lib.LoroDoc()
    base.peer_id = 100
    tree = base.get_tree("t")
    nodes = [tree.create() for _ in range(n_shared)]
    base.commit()
    peers = peers_from(lib, base.export(lib.ExportMode.Updates(lib.VersionVector())))
    for step in range(steps):
        for d in peers:
            n, p = rng.randrange(n_shared), rng.randrange(-1, n_shared)
            t = d.get_tree("t")
            if not t.is_node_deleted(nodes[n]):
                _tree._try_move(t, nodes[n], None if p < 0 else nodes[p])
        if step % 100 == 99 and step + 1 < steps:
            sync_all(lib, peers)
    for d in peers:
        d.commit()
    return [d.export(lib.ExportMode.Updates(lib.VersionVector())) for d in peers]


def run_tree(quick, repeat):
    from . import _tree
    _tree.SIZES.update(_tree.QUICK if quick else _tree.FULL)
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for section in ("tree checkout", "tree concurrent import"):
        fns = {}
        for lib_name, lib in libs.items():
            if lib is None:
                continue
            if section == "tree checkout":
                doc, mid = tree_session(lib)
            else:
                blobs = tree_concurrent_blobs(lib)
            for sub in (False, True):
                key = f"{lib_name}{'+sub' if sub else ''}"
                if section == "tree checkout":
                    fns[key] = (lambda doc=doc, mid=mid, sub=sub: tree_checkout_pair(doc, mid, sub))
                else:
                    fns[key] = (lambda lib=lib, blobs=blobs, sub=sub:
                                tree_concurrent_import(lib, blobs, sub))
        res = interleaved_best(fns, {k: repeat for k in fns})
        counts = {res[k][1][0] for k in fns if res[k][0] is not None}
        for key, (secs, result) in res.items():
            ok = secs is not None and len(counts) == 1
            rows.append(("tree", section, key, secs, ok, result[1] if ok else None))
        print_row(section, {key: res[key][0] for key in fns}, "8.1f")
    return rows


def print_row(section, secs_by_key, fmt):
    """One table row: each library's best time (None: failed), then the cost of
    subscribing and loro_c's ratio to loro, both subscribed."""
    print(f"{section:28}", end="")
    for key, secs in secs_by_key.items():
        print(f"  {key} {secs * 1000:{fmt}} ms" if secs else f"  {key} failed", end="")
    base, with_sub = secs_by_key.get("loro_c"), secs_by_key.get("loro_c+sub")
    loro_sub = secs_by_key.get("loro+sub")
    if base and with_sub:
        print(f"  | sub/nosub {with_sub / base:5.2f}", end="")
    if with_sub and loro_sub:
        print(f"  loro_c+sub/loro+sub {with_sub / loro_sub:5.2f}", end="")
    print(flush=True)


def movable_update(lib, n_ops, n_items=4000, seed=1):
    """(the blob of a `n_items`-item MovableList, an update of `n_ops` random ops on it)."""
    import random
    rng = random.Random(seed)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    lst = doc.get_movable_list("l")
    for i in range(n_items):
        lst.insert(rng.randint(0, len(lst)), i)
    doc.commit()
    base = doc.export(lib.ExportMode.Updates(lib.VersionVector()))
    vv = doc.oplog_vv
    for i in range(n_ops):
        r, n = rng.random(), len(lst)
        if r < 0.4:
            lst.mov(rng.randrange(n), rng.randrange(n))
        elif r < 0.7:
            lst.set(rng.randrange(n), -i)
        elif r < 0.85:
            lst.delete(rng.randrange(n), 1)
        else:
            lst.insert(rng.randint(0, n), i)
    doc.commit()
    return base, doc.export(lib.ExportMode.Updates(vv))


def movable_import_once(lib, base, update, subscribe):
    """(seconds of the import of `update` into a fresh doc holding `base`, (list length,
    events seen))."""
    import time
    doc = lib.LoroDoc()
    doc.import_(base)
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    t = time.perf_counter()
    doc.import_(update)
    dt = time.perf_counter() - t
    del sub
    return dt, (len(doc.get_movable_list("l")), len(seen))


def concurrent_history(lib, n_changes=60, seed=3):
    """(a document of three peers' `n_changes` commits on shared root containers, synced now
    and then so branches interleave, the frontiers of versions along the way)."""
    import random
    rng = random.Random(seed)
    peers = []
    for i in range(3):
        d = lib.LoroDoc()
        d.peer_id = i + 1
        peers.append(d)
    marks = []
    for k in range(n_changes):
        d = peers[rng.randrange(3)]
        r = rng.random()
        if r < 0.35:
            t = d.get_text("t%d" % rng.randrange(3))
            t.insert(rng.randint(0, len(t)), "ab")
        elif r < 0.7:
            d.get_map("m%d" % rng.randrange(3)).insert("k%d" % rng.randrange(5), k)
        else:
            lst = d.get_list("l%d" % rng.randrange(2))
            lst.insert(rng.randint(0, len(lst)), k)
        d.commit()
        if rng.random() < 0.25:
            a, b = rng.sample(peers, 2)
            b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        marks.append(d.state_frontiers)
    doc = lib.LoroDoc()
    for d in peers:
        doc.import_(d.export(lib.ExportMode.Updates(lib.VersionVector())))
    return doc, marks


def concurrent_checkouts(doc, marks, subscribe, n=20):
    """Check `doc` out at `n` versions of `marks` and back to the latest after each (2n
    events); returns the events seen."""
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    step = max(len(marks) // n, 1)
    for f in marks[::step][:n]:
        doc.checkout(f)
        doc.checkout_to_latest()
    del sub
    return len(seen)


def run_concurrent(quick, repeat):
    """Rows ``concurrent checkout N``: subscribed checkouts of a concurrent history (loro's
    DAG walk orders their diffs: loro_c._dag_order)."""
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for n in ((60,) if quick else (60, 2000)):
        section = f"concurrent checkout {n}"
        fns = {}
        for lib_name, lib in libs.items():
            if lib is None:
                continue
            doc, marks = concurrent_history(lib, n)
            for sub in (False, True):
                key = f"{lib_name}{'+sub' if sub else ''}"
                fns[key] = (lambda doc=doc, marks=marks, sub=sub: (None, concurrent_checkouts(doc, marks, sub)))
        res = interleaved_best(fns, {k: repeat for k in fns})
        counts = {res[k][1][1] for k in fns if res[k][0] is not None and k.endswith("+sub")}
        for key, (secs, result) in res.items():
            ok = secs is not None and len(counts) == 1
            rows.append(("concurrent", section, key, secs, ok, result[1] if ok else None))
        print_row(section, {key: res[key][0] for key in fns}, "8.1f")
    return rows


def run_movable(quick, repeat):
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for n_ops in ((10, 60) if quick else (10, 60, 2000)):
        section = f"movable import {n_ops}"
        blobs = {name: movable_update(lib, n_ops) for name, lib in libs.items() if lib is not None}
        keys = [(name, sub) for name in blobs for sub in (False, True)]
        best, last = {}, {}
        for r in range(repeat):
            for name, sub in keys[r % len(keys):] + keys[:r % len(keys)]:
                key = f"{name}{'+sub' if sub else ''}"
                dt, last[key] = movable_import_once(libs[name], *blobs[name], sub)
                best[key] = min(best.get(key, dt), dt)
        lengths = {last[k][0] for k in last}
        for key in best:
            ok = len(lengths) == 1 and (last[key][1] == 1) == key.endswith("+sub")
            rows.append(("movable", section, key, best[key], ok, last[key][1]))
        print_row(section, best, "7.2f")
    return rows


def rich_edits(lib, n_ops, subscribe, seed=3):
    """(the document after `n_ops` random edits and marks of one text, a commit each; the
    frontiers every 50 commits; events seen)."""
    import random
    rng = random.Random(seed)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    t = doc.get_text("t")
    marks = []
    for i in range(n_ops):
        n = t.len_unicode
        r = rng.random()
        if r < 0.6 or n < 10:
            t.insert(rng.randint(0, n), "abc de"[:rng.randint(1, 6)])
        elif r < 0.8:
            a = rng.randrange(n - 1)
            t.delete(a, min(3, n - a))
        else:
            a = rng.randrange(n - 2)
            t.mark(a, min(n, a + rng.randint(1, 20)), rng.choice(["bold", "italic", "link"]),
                   True if rng.random() < 0.7 else "x")
        doc.commit()
        if i % 50 == 0:
            marks.append(doc.state_frontiers)
    del sub
    return doc, marks, len(seen)


def rich_checkouts(doc, marks, subscribe):
    """Checkouts of `doc` to `marks` (latest first) and back, then 40 rounds of an edit and
    a checkout to a recent version and back; returns (the text, events seen)."""
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    t = doc.get_text("t")
    for f in reversed(marks):
        doc.checkout(f)
    doc.checkout_to_latest()
    for k in range(40):
        t.insert(k % 7, "xy")
        doc.commit()
        doc.checkout(marks[-1 - k % 3])
        doc.checkout_to_latest()
    del sub
    return t.to_string(), len(seen)


def rich_import(lib, blob, subscribe, base=None):
    """A fresh document (from the snapshot `base` when given) imports `blob` with or
    without a root subscriber: (the text, events seen)."""
    doc = lib.LoroDoc()
    if base is not None:
        doc.import_(base)
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    doc.import_(blob)
    del sub
    return doc.get_text("t").to_string(), len(seen)


def rich_import_inputs(lib, n, concurrent):
    """(snapshot or None, blob): the history of `n` rich edits whole, or, `concurrent`,
    one peer's `n` edits over a snapshot of another's `n` made at the same time."""
    doc = rich_edits(lib, n, False)[0]
    if not concurrent:
        return None, doc.export(lib.ExportMode.Updates(lib.VersionVector()))
    other = lib.LoroDoc()
    other.peer_id = 2
    twin = rich_edits(lib, n, False, seed=4)[0]
    # (the same edits under another peer id: replayed as JSON with peer 1 renamed)
    other.import_json_updates(twin.export_json_updates(lib.VersionVector(), twin.oplog_vv)
                              .replace('"1"', '"2"'))
    return doc.export(lib.ExportMode.Snapshot()), other.export(lib.ExportMode.Updates(lib.VersionVector()))


def _per_library(libs, make):
    """{"loro_c", "loro_c+sub", "loro", "loro+sub": a run}: `make(lib, subscribe)`."""
    fns = {}
    for lib_name, lib in libs.items():
        if lib is None:
            continue
        for sub in (False, True):
            fns[f"{lib_name}{'+sub' if sub else ''}"] = (lambda lib=lib, sub=sub: (None, make(lib, sub)))
    return fns


def _timed_rows(tag, section, fns, repeat, ok_of, fmt="8.1f"):
    """Time `fns` (each returning (text, count)) interleaved and print the row; a run is
    right when every text is the same and ok_of(key, count)."""
    res = interleaved_best(fns, {k: repeat for k in fns})
    texts = {res[k][1][1][0] for k in fns if res[k][0] is not None}
    rows = []
    for key, (secs, result) in res.items():
        ok = secs is not None and len(texts) == 1 and ok_of(key, result[1][1])
        rows.append((tag, section, key, secs, ok, result[1][1] if ok else None))
    print_row(section, {key: res[key][0] for key in fns}, fmt)
    return rows


def run_rich(quick, repeat):
    """Rows ``rich edits N``, ``rich checkouts N`` and ``rich import N`` (a history of
    rich edits imported whole into an empty document, and concurrently over a snapshot)."""
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    n = 400
    for section in ("rich import 2000", "rich import 2000 concurrent"):
        inputs = {lib: rich_import_inputs(lib, 2000, section.endswith("concurrent"))
                  for lib in libs.values() if lib is not None}
        fns = _per_library(libs, lambda lib, sub, inputs=inputs:
                           rich_import(lib, inputs[lib][1], sub, inputs[lib][0]))
        rows += _timed_rows("rich", section, fns, repeat,
                            lambda key, count: (count > 0) == key.endswith("+sub"))
    fns = _per_library(libs, lambda lib, sub: (rich_edits(lib, n, sub)[0].get_text("t").to_string(), 0))
    rows += _timed_rows("rich", f"rich edits {n}", fns, repeat, lambda key, count: True)
    # (a fresh document each run, its edits made without a subscriber inside the timed run:
    # its checkouts add edits)
    fns = _per_library(libs, lambda lib, sub: rich_checkouts(*rich_edits(lib, n, False)[:2], sub))
    rows += _timed_rows("rich", f"rich checkouts {n}", fns, repeat, lambda key, count: True)
    return rows


def one_commit(lib, n_ops, subscribe, seed=5):
    """(the text, events seen) after `n_ops` scattered edits committed at once."""
    import random
    rng = random.Random(seed)
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    text.insert(0, "abcdefghij" * 100)
    doc.commit()
    seen = []
    sub = _subscribe(doc, seen) if subscribe else None
    n = 1000
    for _ in range(n_ops):
        pos = rng.randrange(n)
        if rng.random() < 0.2:
            text.delete(pos, 1)
            n -= 1
        else:
            text.insert(pos, "xy")
            n += 2
    doc.commit()
    del sub
    return text.to_string(), len(seen)


def run_commit(quick, repeat):
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for n_ops in ((4000,) if quick else (1000, 4000, 20000)):
        fns = _per_library(libs, lambda lib, sub, n_ops=n_ops: one_commit(lib, n_ops, sub))
        rows += _timed_rows("commit", f"one commit {n_ops}", fns, repeat,
                            lambda key, count: (count == 1) == key.endswith("+sub"), "8.2f")
    return rows


def server_inputs(lib, kind, seed=1):
    """(the blob of a document holding a large container of `kind`, an update of 10 ops on
    it by another peer)."""
    import random
    rng = random.Random(seed)
    d = lib.LoroDoc()
    d.peer_id = 1
    if kind == "text":
        t = d.get_text("c")
        for _ in range(2000):
            t.insert(rng.randint(0, len(t)), "ab")
    elif kind in ("list", "movable"):
        c = d.get_list("c") if kind == "list" else d.get_movable_list("c")
        for i in range(4000):
            c.insert(rng.randint(0, len(c)), i)
    elif kind == "map":
        m = d.get_map("c")
        for i in range(4000):
            m.insert(f"k{i}", i)
    else:
        t = d.get_tree("c")
        nodes = []
        for _ in range(2000):
            nodes.append(t.create(rng.choice(nodes) if nodes and rng.random() < 0.7 else None))
    d.commit()
    base = d.export(lib.ExportMode.Updates(lib.VersionVector()))
    vv = d.oplog_vv
    e = lib.LoroDoc()
    e.peer_id = 2
    e.import_(base)
    for i in range(10):
        if kind == "text":
            e.get_text("c").insert(rng.randint(0, 3000), "x")
        elif kind == "list":
            e.get_list("c").insert(rng.randint(0, 3000), -i)
        elif kind == "movable":
            m = e.get_movable_list("c")
            if i % 3 == 0:
                m.mov(rng.randrange(3000), rng.randrange(3000))
            elif i % 3 == 1:
                m.set(rng.randrange(3000), -i)
            else:
                m.insert(rng.randint(0, 3000), -i)
        elif kind == "map":
            e.get_map("c").insert(f"k{rng.randrange(4000)}", -i)
        else:
            e.get_tree("c").create(None)
    e.commit()
    return base, e.export(lib.ExportMode.Updates(vv))


def server_imports(lib, base, update, n_docs=300):
    """(seconds per import of `update` into each of `n_docs` subscribed documents holding
    `base`, (events seen, the length of the container's value))."""
    import time
    docs = []
    for _ in range(n_docs):
        d = lib.LoroDoc()
        d.import_(base)
        docs.append(d)
    seen = [0]

    def count(e):
        seen[0] += 1
    subs = [d.subscribe_root(count) for d in docs]
    t = time.perf_counter()
    for d in docs:
        d.import_(update)
    dt = (time.perf_counter() - t) / n_docs
    del subs
    return dt, (seen[0], len(docs[-1].get_deep_value()["c"]))


def nested_leaves(lib):
    """A document of 2,000 maps nested three levels under root map r, and the maps."""
    doc = lib.LoroDoc()
    doc.peer_id = 1
    leaves = []
    root = doc.get_map("r")
    for i in range(40):
        outer = root.insert_container(f"a{i}", lib.LoroMap())
        for j in range(10):
            middle = outer.insert_container(f"b{j}", lib.LoroList())
            leaves.extend(middle.insert_container(k, lib.LoroMap()) for k in range(5))
    doc.commit()
    return doc, leaves


def nested_commit(lib, subscribe):
    """One commit writing a key into each of nested_leaves' maps; (seconds, diffs seen)."""
    import time
    doc, leaves = nested_leaves(lib)
    seen = []
    sub = doc.subscribe_root(lambda e: seen.append(len(e.events))) if subscribe else None
    t = time.perf_counter()
    for i, leaf in enumerate(leaves):
        leaf.insert("v", i)
    doc.commit()
    dt = time.perf_counter() - t
    del sub
    return dt, sum(seen)


def run_nested(quick, repeat):
    loro_c, loro = load_library("loro_c"), load_library("loro")
    fns = {f"{name}{'+sub' if sub else ''}": (lambda lib=lib, sub=sub: nested_commit(lib, sub))
           for name, lib in (("loro_c", loro_c), ("loro", loro)) if lib is not None
           for sub in (False, True)}
    res = interleaved_self_timed(fns, max(3, repeat) * 4)
    rows = [("nested", "nested commit", key, secs, seen == (2000 if "+sub" in key else 0), seen)
            for key, (secs, seen) in res.items()]
    print(f"{'nested commit':28}", end="")
    for key, (secs, _) in res.items():
        print(f"  {key} {secs * 1000:6.2f} ms", end="")
    if "loro_c+sub" in res and "loro+sub" in res:
        print(f"  | loro_c+sub/loro+sub {res['loro_c+sub'][0] / res['loro+sub'][0]:5.2f}", end="")
    print(flush=True)
    return rows


def run_server(quick, repeat):
    loro_c, loro = load_library("loro_c"), load_library("loro")
    libs = {"loro_c": loro_c, "loro": loro}
    rows = []
    for kind in ("text", "list", "map", "movable", "tree"):
        section = f"server import {kind}"
        inputs = {name: server_inputs(lib, kind) for name, lib in libs.items() if lib is not None}
        res = interleaved_self_timed(
            {name: (lambda name=name: server_imports(libs[name], *inputs[name])) for name in inputs},
            max(2, repeat // 2))
        best = {name: secs for name, (secs, _) in res.items()}
        last = {name: got for name, (_, got) in res.items()}
        lengths = {last[k][1] for k in last}
        for key in best:
            ok = len(lengths) == 1 and last[key][0] == 300
            rows.append(("server", section, key, best[key], ok, last[key][0]))
        print(f"{section:28}", end="")
        for key, secs in best.items():
            print(f"  {key}+sub {secs * 1e6:7.1f} us", end="")
        if "loro_c" in best and "loro" in best:
            print(f"  | loro_c+sub/loro+sub {best['loro_c'] / best['loro']:5.2f}", end="")
        print(flush=True)
    return rows


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
    ap.add_argument("--tree-only", action="store_true", help="only the tree rows")
    ap.add_argument("--movable-only", action="store_true", help="only the movable list rows")
    ap.add_argument("--concurrent-only", action="store_true", help="only the concurrent checkout rows")
    ap.add_argument("--rich-only", action="store_true", help="only the rich text rows")
    ap.add_argument("--commit-only", action="store_true", help="only the one commit rows")
    ap.add_argument("--server-only", action="store_true", help="only the server import rows")
    ap.add_argument("--nested-only", action="store_true", help="only the nested commit rows")
    args = ap.parse_args(argv)
    traces = args.traces.split(",")
    if args.quick:
        traces, args.repeat = traces[:1], 3
    for flag, section in (("concurrent_only", run_concurrent), ("rich_only", run_rich),
                          ("commit_only", run_commit), ("server_only", run_server),
                          ("nested_only", run_nested)):
        if getattr(args, flag):
            rows = section(args.quick, args.repeat)
            return 1 if any(not r[4] for r in rows) else 0
    rows = [] if args.tree_only or args.movable_only else run(traces, args.repeat)
    if not args.movable_only:
        rows += run_tree(args.quick, args.repeat)
    if not args.tree_only and not args.movable_only:
        rows += run_concurrent(args.quick, args.repeat)
        rows += run_rich(args.quick, args.repeat)
        rows += run_commit(args.quick, args.repeat)
        rows += run_server(args.quick, args.repeat)
        rows += run_nested(args.quick, args.repeat)
    if not args.tree_only:
        # (each run's import is short: more runs for a steadier best)
        rows += run_movable(args.quick, max(args.repeat, 5) * 2)
    for r in rows:
        if not r[4]:
            print(f"PROBLEM: {r[1]} {r[2]} gave a wrong result or failed", file=sys.stderr)
    return 1 if any(not r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
