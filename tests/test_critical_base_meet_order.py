"""An import whose new changes are concurrent with an old change on a list-like container
is replayed from a critical version below the version before. loro 1.17.1 finds it by
lowering the meet of the two versions to a fixpoint (OpLog's multi-head critical version
search), and the meet is a new version map filled in the order the document's version
map before the import yields its peers; loro then turns it into frontiers (a map of the
last ids, shrink_frontiers' map by peer, a stable sort by Lamport taken from the greatest
down), back into a version vector, and the walk's map of id ranges from that vector. Each
of those maps yields two colliding peers (1 and 2 share a bucket) in the order opposite
to the one they were put in, so the number of maps decides which head of a Lamport tie
is walked first, and with it the first container the walk meets (the event's diffs of one
depth follow the calculator's hash map, filled in that order). Without the meet's own map
the heads came out the other way round: marks differential sessions 4503 and 5795 (the
imported changes met the counter before the list), and 4 of the scripted critical-version
imports of test_event_order (1, 723, 2193, 3139).

Here peers 1 and 2 each make a first change (Lamport 0-3, heads of one Lamport once
synced), peer 1 then edits the list while peer 2 and peer 3 edit on the synced version;
peer 1 imports peer 2's changes, whose base is the version of the two first changes."""

import itertools

import loro
import pytest

import loro_c

from _events_util import ncid


def _tied_heads_import(mod, first, handles):
    d = [mod.LoroDoc() for _ in range(3)]
    for i, x in enumerate(d):
        x.peer_id = i + 1
    getters = {"l": d[0].get_list, "t": d[0].get_text, "c": d[0].get_counter}
    for name in handles:          # the importer's arena numbers, whatever the first change
        getters[name](name)
    got = []
    sub = d[0].subscribe_root(lambda e: got.append([ncid(x.target) for x in e.events]))

    def sync(a, b):
        d[b].import_(d[a].export(mod.ExportMode.Updates(d[b].oplog_vv)))

    for name in first:
        if name == "l":
            d[0].get_list("l").insert_container(0, mod.LoroText())
        elif name == "t":
            d[0].get_text("t").insert(0, "ya")
        else:
            d[0].get_counter("c").increment(-3)
    d[1].get_text("t").insert(0, "ab ")
    d[1].get_counter("c").increment(0)
    sync(0, 1)
    sync(1, 2)
    sync(1, 0)
    d[0].get_list("l").insert(1, 2.5)        # concurrent with what peer 1 imports last
    d[1].get_text("t").insert(0, " ")
    d[1].get_list("l").insert(0, 1)
    sync(0, 1)
    d[2].get_counter("c").increment(4)
    d[1].get_list("l").delete(1, 1)
    d[1].get_counter("c").increment(3)
    sync(2, 1)
    d[1].get_text("t").insert(0, "q")
    got.clear()
    sync(1, 0)
    del sub
    return got


@pytest.mark.parametrize("first", ["ltc", "ctl"])
@pytest.mark.parametrize("handles", ["ltc", "lct", "tlc", "clt"])
def test_import_from_a_critical_version_walks_tied_heads_as_loros_maps(first, handles):
    want = _tied_heads_import(loro, first, handles)
    assert len(want) == 1 and len(want[0]) == 3, want
    assert _tied_heads_import(loro_c, first, handles) == want


def test_the_first_changes_below_the_base_do_not_decide():
    # (the base is above both first changes: their op order changes nothing in loro)
    got = {tuple(map(tuple, _tied_heads_import(loro, "".join(p), "ltc")))
           for p in itertools.permutations("ltc")}
    assert got == {((("root", "l", "List"), ("root", "c", "Counter"),
                     ("root", "t", "Text")),)}
