"""Section 13: undo and redo, loro_c against loro.

Each workload builds its document and an UndoManager untimed (one commit per trace
transaction), then times undoing every item and redoing them all, which leaves the stacks as
they were, so the tour can be repeated. The text at the end is compared across the
libraries.

* ``local``: the first 400 transactions of automerge-paper typed by one peer.
* ``with remote edits``: the same, while a second peer appends the text of the next 400
  transactions after it and the two sync every 20 commits (each undo is moved past them).
"""
from ._common import Trace, workload_result, workload_table

TRACE = "automerge-paper"
N_TXNS = 400


def _apply_txn(text, txn):
    for pos, n_del, ins in txn:
        if n_del:
            text.delete(pos, n_del)
        if ins:
            text.insert(pos, ins)


def _build(lib, trace, remote):
    doc = lib.LoroDoc()
    doc.peer_id = 1
    undo = lib.UndoManager(doc)
    undo.set_max_undo_steps(N_TXNS)
    other = lib.LoroDoc()
    other.peer_id = 2
    mine = doc.get_text("text")
    theirs = other.get_text("text")
    for i, txn in enumerate(trace.txns[:N_TXNS]):
        # the remote text is always after all of ours, so the trace's positions stay valid
        _apply_txn(mine, txn)
        doc.commit()
        if remote:
            for _, _, ins in trace.txns[N_TXNS + i]:
                if ins:
                    theirs.insert(theirs.len_unicode, ins)
            other.commit()
            if i % 20 == 19:
                doc.import_(other.export(lib.ExportMode.Updates(doc.oplog_vv)))
                other.import_(doc.export(lib.ExportMode.Updates(other.oplog_vv)))
    return doc, undo


def _tour(doc, undo):
    n = 0
    while undo.undo():
        n += 1
    after_undo = doc.get_text("text").to_string()
    while undo.redo():
        pass
    return n, after_undo, doc.get_text("text").to_string()


def run_undo(run, log):
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    out = run.results.setdefault("undo", {})
    trace = Trace(TRACE)
    for name, remote in (("local", False), ("with remote edits", True)):
        log(f"[undo] building {name}")
        built = {lib: _build(run.modules[lib], trace, remote) for lib in libs}
        expect = _tour(*built["loro"]) if "loro" in built else None

        def check(lib, result, expect=expect):
            if expect is not None and result[1:] != expect[1:]:
                return "the texts after undo and redo differ from loro's"
            return None

        fns = {lib: (lambda lib=lib, built=built: _tour(*built[lib])) for lib in libs}
        res = run.timed(f"undo ({name})", fns, run.repeats(libs), check)
        out[name] = workload_result(res)


def table_undo(run, render, fmt_ratio, ratio):
    workload_table(
        run, "undo", f"13. Undo: undo every item ({N_TXNS} commits), then redo them all",
        ["best of the runs, libraries interleaved; the texts are checked against loro's"],
        render, fmt_ratio, ratio)
