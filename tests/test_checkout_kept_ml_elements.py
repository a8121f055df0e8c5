"""A checkout goes through the document's own diff calculator, kept from one checkout to
the next: its MovableList calculator keeps every element the ops of its walks named, and
at each checkout whose walk meets an op of the list it puts a placeholder for each of
them in the list's diff, keeping those the target version has. One kept from an earlier
walk (a checkout back, then the return to the latest version) makes the list's diff
non-empty though the event shows nothing of it: the list is in the calculator's map of
diffs, and the order of that map is the order in which the event's map takes the other
containers of equal depth (kinds late-subscriber session 7413: the second checkout to the
same version listed root l, c and m the other way round)."""
import pytest

import loro
import loro_c
from _events_util import nev


def _doc(mod, sub):
    """Peer 1 writes c, m, ml (two inserts) and tr; peer 3, concurrently, m, l (a counter
    inside) and t; peer 111 loads peer 1's snapshot, imports peer 3's changes, then inserts into l, deletes ml's second item
    and increments c."""
    a = mod.LoroDoc()
    a.peer_id = 3
    a.get_map("m").delete("a")
    a.get_list("l").insert_container(0, mod.LoroCounter())
    a.get_text("t").insert(0, "zxx")
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 1
    b.get_counter("c").increment(3)
    b.get_map("m").insert("c", 2)
    b.get_movable_list("ml").insert(0, 2.5)
    b.get_tree("tr").create()
    b.get_map("m").insert("d", "s")
    b.get_movable_list("ml").insert(1, None)
    b.commit()
    d = mod.LoroDoc()
    d.peer_id = 111
    got = []
    subs = []
    if sub == "before":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    d.import_(b.export(mod.ExportMode.Snapshot()))
    d.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    if sub == "after":
        subs.append(d.subscribe_root(lambda e: got.append(nev(e))))
    d.get_list("l").insert(1, 2)
    d.get_movable_list("ml").delete(1, 1)
    d.get_counter("c").increment(2)
    d.commit()
    return d, got, subs


def _frontiers(mod, ids):
    return mod.Frontiers.from_ids([mod.ID(p, c) for p, c in ids])


def _events(mod, sub, earlier):
    d, got, subs = _doc(mod, sub)
    for ids in earlier:
        d.checkout(_frontiers(mod, ids))
        d.checkout_to_latest()
    got.clear()
    d.checkout(_frontiers(mod, [(1, 3), (3, 5)]))
    d.checkout_to_latest()
    return got


@pytest.mark.parametrize("sub", ["before", "after"])
@pytest.mark.parametrize("earlier", [
    [],
    [[(1, 3), (3, 5)]],     # the same checkout before (session 7413)
    [[(1, 3)]],
    [[(3, 5)]],
    [[(1, 5)]],
    [[(111, 0)]],           # a walk that names no element of ml alive at the target
    [[(1, 3), (3, 5)], [(1, 3)]],
])
def test_a_checkout_keeps_the_movable_list_elements_of_earlier_walks(sub, earlier):
    want = _events(loro, sub, earlier)
    got = _events(loro_c, sub, earlier)
    assert [[r[0] for r in e[3]] for e in got] == [[r[0] for r in e[3]] for e in want]
    assert got == want
