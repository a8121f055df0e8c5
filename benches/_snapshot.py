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
"""
from ._common import Trace, typed_history

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


def table_snapshot(run, render, fmt_ratio, ratio):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    res = run.results.get("snapshot", {})
    rows = []
    for name in ("export", "load + read", "load + first edit", "shallow export after load",
                 "shallow export at head", "state-only export at head"):
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
        ["each library loads its own snapshot; best of the runs, libraries interleaved"]))
