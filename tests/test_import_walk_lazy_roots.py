"""After a snapshot load nobody recorded, loro's arena holds only what was touched since;
an import's diff then walks the old changes from the common ancestor of the versions
before and after (iter_from_lca_causally), taking each from its change store, and the parse
of each block it meets registers every container the block's ops name: roots of the
loaded state nothing touched yet too, not only the dead children a recorded load leaves
waiting. Late session 4560 (probed on loro 1.17.1): a change on a new list and a text,
concurrent to the snapshot's last changes, numbered the movable list of the block below
them (and its map) at that import, before the roots a later commit made.

Except on loro's path for an isolated batch of root-map entries (a new peer's changes with
no deps on the old history, setting plain values under names no old change names): its
diff goes from the empty version to the batch's own, walking no old change.

The numbers show in the order of a commit event's diffs of equal depth (loro's hash map
keyed by the container index): a commit on the map m and twenty fresh roots after the
import."""

import loro
import pytest

import loro_c
from _events_util import dead_child_history, nev, new_roots, peer_doc, send

KINDS = ["List", "Text", "Counter", "MovableList", "Map"] * 4


def _session(mod, writer, edits, later=False, listen_first=False):
    def doc(p):
        return peer_doc(mod, p)

    def upd(src, dst):
        send(mod, src, dst)

    a, b, c, d, snap = dead_child_history(mod)
    # the writer: peer 3 itself (its change joins its block), a new peer that imported
    # peer 3's history, one that imported peer 1's only, or one with no history
    if writer == "peer 3":
        w = a
    else:
        w = doc(4)
        if writer == "after peer 3":
            upd(a, w)
        elif writer == "after peer 1":
            upd(b, w)
    for e in edits:
        if e == "list":
            w.get_list("l2").insert(0, 1)
        elif e == "text":
            w.get_text("t").insert(0, "aac")
        elif e == "map":
            w.get_map("m").insert("k", 1)
        elif e == "new map":
            w.get_map("m2").insert("k", 1)
        elif e == "ml":
            w.get_movable_list("ml").insert_container(0, mod.LoroMap())
    w.commit()
    if later:
        upd(d, w)
        w.get_counter("c").increment(-2)
        w.commit()
    s = doc(122)
    got = []
    sub = s.subscribe_root(lambda e: got.append(nev(e))) if listen_first else None
    s.import_(snap)
    if sub is None:
        sub = s.subscribe_root(lambda e: got.append(nev(e)))
    upd(w, s)
    got.clear()
    s.get_map("m").insert("zz", 1)     # (its number shows where it comes among the fresh roots)
    new_roots(s, len(KINDS), KINDS, "zq")
    s.commit()
    del sub
    return [[x[0] for x in ev[3]] for ev in got]


CASES = [
    ("peer 3", ("list", "text"), True),         # session 4560
    ("after peer 3", ("list", "text"), True),
    ("after peer 3", ("ml", "text"), True),      # the walk's block before the history cache's
    ("after peer 3", ("list",), False),
    ("after peer 3", ("new map",), False),
    ("after peer 1", ("new map",), False),
    ("after peer 1", ("list",), False),
    ("no history", ("new map",), False),         # isolated: no walk
    ("no history", ("map",), False),             # a map of the history: walks
    ("no history", ("list",), False),
    ("no history", ("text", "list"), False),
]


@pytest.mark.parametrize("writer,edits,later", CASES)
@pytest.mark.parametrize("listen_first", (False, True), ids=("unrecorded", "recorded"))
def test_import_walk_numbers_lazily_loaded_roots_as_loro(writer, edits, later, listen_first):
    want = _session(loro, writer, edits, later, listen_first)
    assert _session(loro_c, writer, edits, later, listen_first) == want
