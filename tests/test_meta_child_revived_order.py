"""A container inside the whole value of a tree node's meta map that loro's tree calculator
reports (a created node), none of them up to it with ops in the range, has no calculator that
reports it; if its own ops give it no diff (a counter incremented by 0), loro 1.17.1's
calculator leaves it out of its map of diffs (its diff is empty and nothing brings it back),
and its state revives it after the meta map. The map's size decides the order of the roots
(collect/order.pxi meta_shown_quiet; latek differential session 19896, shrunk to this
script: a checkout back to the latest version listed t, l, ml, tr where loro lists t, l, tr,
ml)."""
import pytest

import loro
import loro_c
from _events_util import nev


def _session(lib, inc):
    d0, d1, d2 = lib.LoroDoc(), lib.LoroDoc(), lib.LoroDoc()
    d0.peer_id, d1.peer_id, d2.peer_id = 1, 2, 3
    got = []
    sub = d0.subscribe_root(lambda e: got.append(nev(e)))
    EM = lib.ExportMode

    def span(peer, a, b):
        return EM.UpdatesInRange([lib.IdSpan(peer, lib.CounterSpan(a, b))])

    d0.get_tree("tr").create(None)
    d2.import_(d0.export(EM.Updates(d2.oplog_vv)))
    d1.get_tree("tr").create(None)
    d0.get_tree("tr").get_meta(lib.TreeID(1, 0)).insert_container("a", lib.LoroCounter())
    d0.get_text("t").insert(0, "é😀中")
    d2.get_list("l").insert(0, 1)
    d2.import_(d1.export(span(2, 0, 2)))
    b66, b67 = d2.export(span(1, 0, 1)), d2.export(span(3, 0, 1))
    d1.import_(b67)
    d1.import_(b66)
    d1.import_with(d0.export(span(1, 1, 6)), "sync")
    d0.import_(d2.export(span(2, 0, 2)))
    d1.get_container(lib.ContainerID.Normal(1, 1, lib.ContainerType.Counter())).increment(inc)
    d1.get_movable_list("ml").insert_container(0, lib.LoroText())
    d0.import_(d1.export(EM.Updates(d0.oplog_vv)))
    d0.checkout(lib.Frontiers.from_ids([lib.ID(1, 2)]))
    got.clear()
    d0.checkout_to_latest()
    del sub
    return got


@pytest.mark.parametrize("inc", [0, 2])
def test_a_quiet_child_of_a_reported_meta_map_is_revived_outside_the_calculators_map(inc):
    assert _session(loro_c, inc) == _session(loro, inc)
