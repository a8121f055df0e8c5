"""An import's diff parses the change blocks of the old changes it walks over, and so
numbers the containers their ops name (a dead child a snapshot load left waiting,
LoroDoc.lnum_rest). loro 1.17.1 computes the diff of every import into an attached
document, whether anyone listens or not (calc_diff_internal), iterating the changes from
the common ancestor of the versions before and after to both; each is taken from the
change store, which parses the block holding it. So an import of a change concurrent to
the old ones from below them (a new peer's change with no deps) numbers the dead child of
the snapshot's history then, before the root a later commit makes; an import that follows
the version before, or whose common ancestor lies above the child's block, does not. An
import_batch of updates is imported detached, then the state moves to the latest version
(a checkout), whose diff walks the same changes.

When peer 2's change edits the map m instead of the text (`edit`), the root t stays
untouched after a load nobody recorded: loro's arena registers it when a parse of peer 1's
block reaches it, in op order, before the dead child there (an export, number_exported_rest),
or when the import's map calculator reads loro's history cache of map ops (m diverged: peer
3 edited it concurrently; a checkout, as import_batch's move, always reads it), whose first
build visits every block, so the untouched counter c gets its number there too
(number_history_visit).

The numbers show in the order of an event's diffs of equal depth (loro's hash map keyed by
the container index): the last import names the roots, the dead child's number decides
where the new list comes. Late-subscriber session 7375 (tests/test_events_differential.py)."""

import itertools

import loro
import pytest

import loro_c
from _events_util import nev


def _targets(events):
    return [[d[0] for d in ev[3]] for ev in events]


def _session(mod, load, listen, base, local, extra_roots, how="import", edit="text"):
    def doc(p):
        d = mod.LoroDoc()
        d.peer_id = p
        return d

    a = doc(1)
    a.get_counter("c").increment(1)
    a.get_text("t").insert(0, "ab")
    a.commit()
    first = a.export(mod.ExportMode.Updates(mod.VersionVector()))
    m = a.get_map("m")
    m.insert_container("a", mod.LoroCounter()).increment(2)    # 3@1: the dead child
    a.commit()
    peer1 = a.export(mod.ExportMode.Updates(mod.VersionVector()))
    b = doc(3)
    b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    b.get_map("m").insert("a", 1)                               # the child dies
    b.get_map("m").insert("b", 2)
    b.commit()
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    snap = a.export(mod.ExportMode.Snapshot())
    upd = a.export(mod.ExportMode.Updates(mod.VersionVector()))

    d = doc(122)
    got = []
    subs = []

    def listen_now():
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))

    if listen == "before load":
        listen_now()
    if load == "import":
        d.import_(snap)
    else:
        d.import_batch([snap, upd])
    if listen == "after load":
        listen_now()
    if local:
        d.get_text("t").insert(0, "q")
    # a change of peer 2 from `base`: nothing, peer 1's first change (the child's is in
    # the same block, after it), all of peer 1's (the block below the common ancestor), or
    # everything
    w = doc(2)
    if base == "first":
        w.import_(first)
    elif base == "peer 1":
        w.import_(peer1)
    elif base == "latest":
        w.import_(upd)
    w_vv = w.oplog_vv
    if edit == "text":
        w.get_text("t").insert(0, "x")
    else:
        w.get_map("m").insert("q", 5)
    if edit != "map only":
        w.get_counter("c").increment(1)
    w.commit()
    blob = w.export(mod.ExportMode.Updates(w_vv))
    if how == "import":
        d.import_(blob)
    else:
        # (loro imports the batch detached, then moves to the latest version: a checkout)
        d.import_batch([blob, blob])
    if listen == "after import":
        listen_now()
    d.get_list("l").insert(0, "s")
    d.commit()
    # a change on every root: the event lists them in the hash map's order
    w2 = doc(4)
    w2.import_(d.export(mod.ExportMode.Updates(mod.VersionVector())))
    w2.import_(w.export(mod.ExportMode.Updates(mod.VersionVector())))
    v = w2.oplog_vv
    w2.get_map("m").insert("z", 1)
    w2.get_counter("c").increment(-2)
    w2.get_text("t").insert(0, "cc")
    w2.get_list("l").insert(0, None)
    for i in range(extra_roots):
        w2.get_counter(f"z{i}").increment(1)
    w2.commit()
    d.import_(w2.export(mod.ExportMode.Updates(v)))
    return _targets(got)


CASES = list(itertools.product(("import", "batch"), ("before load", "after load", "after import"),
                               ("none", "first", "peer 1", "latest"), (False, True), (0, 6)))


@pytest.mark.parametrize("load,listen,base,local,extra", CASES)
@pytest.mark.parametrize("how", ("import", "batch"))
@pytest.mark.parametrize("edit", ("text", "map", "map only"))
def test_import_walk_numbers_dead_children_as_loro(load, listen, base, local, extra, how, edit):
    want = _session(loro, load, listen, base, local, extra, how, edit)
    assert _session(loro_c, load, listen, base, local, extra, how, edit) == want

