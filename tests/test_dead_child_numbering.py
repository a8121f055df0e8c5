"""An import parses a change block that a loaded snapshot keeps encoded, and so numbers the
containers its ops name (a dead child the load left waiting, LoroDoc.lnum_rest), when
loro 1.17.1's import reads that block's ops:

- a new change of the block's peer joins it (it depends on the peer's old op, so the
  block was looked up: doc/grouping.pxi cold_change) and the change store parses the
  block to push the change (doc/exchange.pxi number_joined_block);
- the import's diff runs a tree's or a movable list's calculator in DiffMode::Import (a
  concurrent import): they read loro's history cache, whose first build visits every
  change of the log (_events.import_builds_history_cache). A list's, a text's or a
  counter's calculator does not, nor does an import that follows the version before; a
  map's does only when it compares values: the map, or a sequence the import edits,
  diverged (doc/exchange.pxi number_history_visit, tests/test_import_walk_numbering.py).
  The map of the session here did not.

The numbers show in the order of an event's diffs of equal depth (loro's hash map keyed by
the container index): here peer 122 restarts from a snapshot whose history holds a dead
child counter (0@3, a map entry deleted again), imports a change of the first kind, commits
on roots the import did not name (numbered after the dead child, or before it), then
imports a change on several roots (kinds differential session 4560, whose concurrent JSON
import inserted into the movable list)."""

import itertools
import json

import loro
import pytest

import loro_c
from _events_util import dead_child_history, peer_doc, send


def _name(cid):
    return cid.name if hasattr(cid, "name") else f"{cid.peer}:{cid.counter}"


def _session(mod, first, writer, base, delivery):
    """Peer 122's events after its snapshot load, each as its targets."""
    def doc(p):
        return peer_doc(mod, p)

    def upd(src, dst):
        send(mod, src, dst)

    a, b, c, d, snap = dead_child_history(mod)     # 0@3 the dead child; its only frontier: 109's
    w = a
    if writer == "another peer":
        w = doc(4)
        upd(a, w)
    if base == "after":
        upd(d, w)
    if first == "movable list":
        w.get_movable_list("ml").insert_container(0, mod.LoroMap())
    elif first == "tree":
        w.get_tree("tr").create()
    elif first == "map":
        w.get_map("m").insert("z", 5)
    elif first == "list":
        w.get_list("l2").insert(0, 1)
    w.get_text("t").insert(0, "aac")
    w.commit()
    upd(d, w)
    w.get_counter("c").increment(-2)
    w.commit()
    if w is not a:
        upd(w, a)

    s = doc(122)
    got = []
    sub = s.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    s.import_(snap)
    if delivery == "json":
        s.import_json_updates(w.export_json_updates(s.oplog_vv, w.oplog_vv))
    else:
        upd(w, s)
    s.get_list("l").insert_container(0, mod.LoroMap())
    s.get_map("m").insert("b", "s")
    s.commit()
    s.get_movable_list("ml").insert_container(0, mod.LoroCounter())
    s.commit()

    upd(d, c)
    c.get_tree("tr").delete([n for n in c.get_tree("tr").nodes() if n.peer == 109][0])
    c.get_movable_list("ml").delete(0, 1)
    c.commit()
    tr = a.get_tree("tr")
    tr.delete([n for n in tr.nodes() if n.peer == 1][0])
    a.get_list("l").insert_container(0, mod.LoroCounter())
    a.get_list("l").insert_container(1, mod.LoroCounter())
    a.commit()
    upd(c, a)
    upd(s, a)
    a.get_text("t").insert(0, "x😀中y")
    a.commit()
    upd(a, s)
    del sub
    return got


CASES = list(itertools.product(
    ("movable list", "tree", "map", "list", "text and counter"),
    ("snapshot's peer", "another peer"),
    ("concurrent", "after"),
    ("updates", "json")))


@pytest.mark.parametrize("first,writer,base,delivery", CASES)
def test_an_import_that_reads_a_loaded_block_numbers_its_dead_children_as_loro(
        first, writer, base, delivery):
    want = _session(loro, first, writer, base, delivery)
    assert _session(loro_c, first, writer, base, delivery) == want
