"""Section 10: snapshots (issue 11), loro_c against loro on automerge-paper.

The document is automerge-paper typed by one peer with one commit per trace transaction,
built untimed by each library. Timed:

* ``export``: ``export(ExportMode.Snapshot())`` (the size is reported beside the time);
* ``load + read``: importing that library's own snapshot into an empty document and reading
  the text;
* ``load + first edit``: importing it and making one local insert and commit;
* ``shallow export after load``: importing that library's own snapshot into an empty
  document and exporting ``ShallowSnapshot`` at its frontiers straight away (a server
  loading a document to compact it; loro_c reads the root state from the loaded blob);
* ``shallow export at head`` / ``state-only export at head``: one local insert and commit,
  then ``ShallowSnapshot`` / ``StateOnly`` at the document's frontiers (a server compacting
  the document it holds; loro reads each library's blob back to the same text, untimed).

Each library loads its own snapshot, and loro also loads loro_c's (checked: same text).

Then a server's round trip on a large List (20,000 int items inserted at random places) and
a large Map (20,000 writes to 5,000 keys), one commit per 100 ops, built untimed: its
snapshot is loaded, a client's update (one insert by another peer) imported and a new
snapshot exported. Timed: ``server KIND: load + import + export``, the whole round trip,
and ``server KIND: export after load + import``, the export alone on documents loaded and
updated untimed (only the changed container's state is encoded afresh). loro reads each
library's new snapshot (checked: same value); the List snapshots are the same bytes
(checked; a Map's values are in each library's own order).

Then ``state load: KIND`` (and ``+ value``): a snapshot of a tree of 5,000 root nodes, of a
map of 5,000 child maps (one key each), of a tree of 5,000 nodes nested and moved, of a
movable list of 5,000 items with 1,000 moves and 1,000 sets, and of a map of 5,000 small
child containers (lists of three numbers and short texts, in turn), built
untimed, loaded into an empty document (then its deep value read; checked: the same in
both). loro keeps a loaded container's state encoded until it is read; loro_c checks the
state section whole at the import and decodes it when first read.

Last, ``batch load: snapshot + N updates``: a server's stored snapshot (a text of 2,000
one-insert commits) and the updates that came after it (N commits of 50 peers in turn, each
a map write and a text insert on top of the last) loaded into an empty document with one
``import_batch`` nobody listens to, then the text read (checked: the same in both).
"""
import random

from ._common import Trace, typed_history

SERVER_OPS = 20_000

TRACE = "automerge-paper"


def _load_read(mod, blob):
    doc = mod.LoroDoc()
    doc.import_(blob)
    return doc.get_text("text").to_string()


def _load_edit(mod, blob):
    doc = mod.LoroDoc()
    doc.import_(blob)
    doc.get_text("text").insert(0, "x")
    doc.commit()
    return doc.get_text("text").len_unicode


def _load_shallow(mod, blob):
    doc = mod.LoroDoc()
    doc.import_(blob)
    return doc.export(mod.ExportMode.ShallowSnapshot(doc.state_frontiers))


def _server_inputs(mod, kind):
    """(snapshot, client update) of a large List or Map, as a server would store and
    receive them."""
    rng = random.Random(1)
    doc = mod.LoroDoc()
    doc.peer_id = 1
    if kind == "list":
        lst = doc.get_list("l")
        for i in range(SERVER_OPS):
            lst.insert(rng.randint(0, len(lst)), i)
            if i % 100 == 0:
                doc.commit()
    else:
        m = doc.get_map("m")
        for i in range(SERVER_OPS):
            m.insert(f"k{rng.randrange(SERVER_OPS // 4)}", i)
            if i % 100 == 0:
                doc.commit()
    doc.commit()
    snap = doc.export(mod.ExportMode.Snapshot())
    client = mod.LoroDoc()
    client.peer_id = 2
    client.import_(snap)
    if kind == "list":
        client.get_list("l").insert(3, -1)
    else:
        client.get_map("m").insert("new", 1)
    client.commit()
    return snap, client.export(mod.ExportMode.Updates(doc.oplog_vv))


def _server_load_import(mod, snap, update):
    doc = mod.LoroDoc()
    doc.import_(snap)
    doc.import_(update)
    return doc


def run_server_roundtrip(run, log, libs, out):
    for kind in ("list", "map"):
        log(f"[snapshot] server {kind}")
        inputs = {lib: _server_inputs(run.modules[lib], kind) for lib in libs}
        made = {}

        def roundtrip(lib):
            mod = run.modules[lib]
            made[lib] = _server_load_import(mod, *inputs[lib]).export(mod.ExportMode.Snapshot())
            return len(made[lib])

        res = run.timed(f"snapshot server {kind} round trip",
                        {lib: (lambda lib=lib: roundtrip(lib)) for lib in libs}, run.repeats(libs))
        out[f"server {kind}: load + import + export"] = {
            "s": {l: r[0] for l, r in res.items() if r[0] is not None},
            "size": {l: r[1] for l, r in res.items()}}
        # the export alone: each run takes a document loaded and updated untimed
        ready = {lib: [_server_load_import(run.modules[lib], *inputs[lib])
                       for _ in range(run.repeats(libs)[lib])] for lib in libs}
        res = run.timed(f"snapshot server {kind} export",
                        {lib: (lambda lib=lib: len(ready[lib].pop().export(
                            run.modules[lib].ExportMode.Snapshot()))) for lib in libs},
                        run.repeats(libs))
        out[f"server {kind}: export after load + import"] = {
            "s": {l: r[0] for l, r in res.items() if r[0] is not None}}
        if "loro" in libs:
            loro = run.modules["loro"]
            want = None
            for lib, blob in made.items():
                back = loro.LoroDoc()
                back.import_(blob)
                got = back.get_deep_value()
                if want is None:
                    want = got
                elif got != want:
                    run.problem(f"snapshot server {kind}", lib, "loro reads the blob differently")
            # (a map's values are in loro's hash order in loro's snapshot, not in loro_c's)
            if kind == "list" and len(made) == 2 and made["loro"] != made["loro_c"]:
                run.problem(f"snapshot server {kind}", "loro_c", "the snapshot is not loro's bytes")


def run_snapshot(run, log):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("snapshot", {})
    log(f"[snapshot] building {TRACE}")
    trace = Trace(TRACE)
    docs = {lib: typed_history(run.modules[lib], trace) for lib in libs}
    blobs = {}

    def export(lib):
        blobs[lib] = docs[lib].export(run.modules[lib].ExportMode.Snapshot())
        return len(blobs[lib])

    res = run.timed("snapshot export", {lib: (lambda lib=lib: export(lib)) for lib in libs},
                    run.repeats(libs))
    out["export"] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None},
                     "size": {l: r[1] for l, r in res.items()}}
    expect = docs[libs[0]].get_text("text").to_string()
    if "loro" in libs and "loro_c" in libs:
        if _load_read(run.modules["loro"], blobs["loro_c"]) != expect:
            run.problem("snapshot load", "loro", "loro reads loro_c's snapshot differently")

    for name, fn, want in (("load + read", _load_read, expect),
                           ("load + first edit", _load_edit, len(expect) + 1)):
        log(f"[snapshot] {name}")
        res = run.timed(f"snapshot {name}",
                        {lib: (lambda lib=lib, fn=fn: fn(run.modules[lib], blobs[lib])) for lib in libs},
                        run.repeats(libs),
                        lambda lib, result, want=want: None if result == want else "wrong result")
        out[name] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None},
                     "ok": {l: r[2] for l, r in res.items()}}

    log("[snapshot] shallow export after load")
    made = {}

    def load_shallow(lib):
        made[lib] = _load_shallow(run.modules[lib], blobs[lib])
        return len(made[lib])

    res = run.timed("snapshot shallow export after load",
                    {lib: (lambda lib=lib: load_shallow(lib)) for lib in libs}, run.repeats(libs))
    if "loro" in libs:
        for lib, blob in made.items():
            back = run.modules["loro"].LoroDoc()
            back.import_(blob)
            if back.get_text("text").to_string() != expect:
                run.problem("snapshot shallow export after load", lib,
                            "loro reads the blob differently")
    out["shallow export after load"] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None},
                                        "size": {l: r[1] for l, r in res.items()}}

    for name, kind in (("shallow export at head", "ShallowSnapshot"),
                       ("state-only export at head", "StateOnly")):
        log(f"[snapshot] {name}")
        made = {}

        def compact(lib, kind=kind, made=made):
            mod = run.modules[lib]
            doc = docs[lib]
            doc.get_text("text").insert(0, "x")
            doc.commit()
            made[lib] = doc.export(getattr(mod.ExportMode, kind)(doc.oplog_frontiers))
            return len(made[lib])

        res = run.timed(f"snapshot {name}", {lib: (lambda lib=lib: compact(lib)) for lib in libs},
                        run.repeats(libs))
        if "loro" in libs:
            for lib, blob in made.items():
                back = run.modules["loro"].LoroDoc()
                back.import_(blob)
                if back.get_text("text").to_string() != docs[lib].get_text("text").to_string():
                    run.problem(f"snapshot {name}", lib, "loro reads the blob differently")
        out[name] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None},
                     "size": {l: r[1] for l, r in res.items()}}

    run_server_roundtrip(run, log, libs, out)
    run_state_load(run, log, libs, out)
    run_batch_load(run, log, libs, out)


STATE_LOAD_N = 5_000
STATE_LOADS = ("tree", "nested maps", "moved tree", "movable list", "small containers")


def _state_load_doc(mod, kind, n=STATE_LOAD_N):
    doc = mod.LoroDoc()
    doc.peer_id = 7
    if kind == "nested maps":
        m = doc.get_map("m")
        for i in range(n):
            m.insert_container(f"k{i}", mod.LoroMap()).insert("x", i)
    elif kind == "movable list":
        ml = doc.get_movable_list("ml")
        for i in range(n):
            ml.push(i)
        rng = random.Random(5)
        for i in range(n // 5):
            ml.mov(rng.randrange(n), rng.randrange(n))
            ml.set(rng.randrange(n), -i)
    elif kind == "small containers":
        m = doc.get_map("m")
        for i in range(n):
            if i % 2:
                lst = m.insert_container(f"k{i}", mod.LoroList())
                for j in range(3):
                    lst.push(i + j)
            else:
                m.insert_container(f"k{i}", mod.LoroText()).insert(0, f"t{i}")
    else:
        tree = doc.get_tree("t")
        nodes = []
        for i in range(n):
            parent = nodes[(i * 7919) % len(nodes)] if kind == "moved tree" and nodes else None
            nodes.append(tree.create(parent))
        if kind == "moved tree":
            rng = random.Random(5)
            for _ in range(n // 5):
                try:
                    tree.mov(rng.choice(nodes), rng.choice(nodes))
                except BaseException:
                    pass        # (under itself or a descendant: refused by both)
    doc.commit()
    return doc.export(mod.ExportMode.Snapshot())


def _state_load(mod, blob, value):
    doc = mod.LoroDoc()
    doc.import_(blob)
    return doc.get_deep_value() if value else None


def run_state_load(run, log, libs, out):
    for kind in STATE_LOADS:
        blobs = {lib: _state_load_doc(run.modules[lib], kind) for lib in libs}
        want = {lib: _state_load(run.modules[lib], blobs[lib], True) for lib in libs}
        if "loro" in libs and "loro_c" in libs and want["loro"] != want["loro_c"]:
            run.problem(f"snapshot state load: {kind}", "loro_c", "a different value")
        for value in (False, True):
            name = f"state load: {kind}" + (" + value" if value else "")
            log(f"[snapshot] {name}")
            res = run.timed(f"snapshot {name}",
                            {lib: (lambda lib=lib, value=value:
                                   _state_load(run.modules[lib], blobs[lib], value))
                             for lib in libs},
                            run.repeats(libs))
            out[name] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None}}


BATCH_UPDATES = 2_000


def _batch_inputs(mod):
    doc = mod.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    for _ in range(2_000):
        text.insert(0, "ab")
        doc.commit()
    snap = doc.export(mod.ExportMode.Snapshot())
    vv = doc.oplog_vv
    for i in range(BATCH_UPDATES):
        doc.peer_id = 100 + i % 50
        doc.get_map("m").insert("k", i)
        text.insert(i % 7, "c")
        doc.commit()
    return snap, doc.export(mod.ExportMode.Updates(vv)), text.to_string()


def _batch_load(mod, snap, updates):
    doc = mod.LoroDoc()
    doc.import_batch([snap, updates])
    return doc.get_text("t").to_string()


def run_batch_load(run, log, libs, out):
    name = f"batch load: snapshot + {BATCH_UPDATES:,} updates"
    log(f"[snapshot] {name}")
    inputs = {lib: _batch_inputs(run.modules[lib]) for lib in libs}
    res = run.timed(f"snapshot {name}",
                    {lib: (lambda lib=lib: _batch_load(run.modules[lib], *inputs[lib][:2]))
                     for lib in libs},
                    run.repeats(libs),
                    lambda lib, result: None if result == inputs[lib][2] else "wrong text")
    out[name] = {"s": {l: r[0] for l, r in res.items() if r[0] is not None}}


def table_snapshot(run, render, fmt_ratio, ratio):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    res = run.results.get("snapshot", {})
    rows = []
    for name in ("export", "load + read", "load + first edit", "shallow export after load",
                 "shallow export at head", "state-only export at head",
                 "server list: load + import + export", "server list: export after load + import",
                 "server map: load + import + export", "server map: export after load + import",
                 *[f"state load: {k}{v}" for k in STATE_LOADS for v in ("", " + value")],
                 f"batch load: snapshot + {BATCH_UPDATES:,} updates"):
        e = res.get(name)
        if not e:
            continue
        t = e["s"]
        row = [name] + [(f"{t[l] * 1000:,.1f}" if l in t else "n/a") for l in libs]
        row.append(fmt_ratio(ratio(t.get("loro_c"), t.get("loro"))))
        rows.append(row)
    sizes = res.get("export", {}).get("size", {})
    if sizes:
        rows.append(["snapshot bytes"] + [f"{sizes.get(l) or 0:,}" for l in libs]
                    + [fmt_ratio(ratio(sizes.get("loro_c"), sizes.get("loro")))])
    run.tables.append(render(
        f"10. Snapshots of {TRACE} (one commit per txn)",
        ["step"] + [f"{l} ms" for l in libs] + ["ratio"], rows,
        ["each library loads its own snapshot; best of the runs, libraries interleaved",
         "server rows: not automerge-paper but a 20,000-item List / a 5,000-key Map, its "
         "snapshot loaded, one client insert imported, a snapshot exported"]))
