"""A commit that touches thousands of containers: its event lists them in loro's order (by
depth, roots first and the others by creation counter, then as loro's two hash maps of
container indices yield them: _events' commit_order replays those maps in C, and their
tables grow many times over such a commit), with loro's paths and diffs.

Building such an event makes tens of thousands of value objects. Like loro's (pyo3 classes
without __traverse__), they are not tracked by the cycle collector, which is paused while
they are made and left as the caller had it."""
import gc
import random

import loro
import pytest

import loro_c
from _events_util import nev


def nested_maps(mod, outer, middle, leaves):
    """A document with `outer` maps under root map r, each holding `middle` lists of
    `leaves` maps; (the document, the leaf maps, the lists)."""
    doc = mod.LoroDoc()
    doc.peer_id = 1
    root = doc.get_map("r")
    found, lists = [], []
    for i in range(outer):
        m = root.insert_container(f"a{i}", mod.LoroMap())
        for j in range(middle):
            lst = m.insert_container(f"b{j}", mod.LoroList())
            lists.append(lst)
            found.extend(lst.insert_container(k, mod.LoroMap()) for k in range(leaves))
    doc.commit()
    return doc, found, lists


def one_commit(mod, shape, seed):
    """The events of one commit writing into the shape's leaves in a shuffled order, with
    a few new containers, list inserts and root edits in the same commit."""
    rng = random.Random(seed)
    doc, leaves, lists = nested_maps(mod, *shape)
    got = []
    sub = doc.subscribe_root(lambda e: got.append(nev(e)))
    order = list(range(len(leaves)))
    rng.shuffle(order)
    for n, i in enumerate(order):
        leaves[i].insert("v", n)
        if rng.random() < 0.05:
            leaves[i].insert_container("c", mod.LoroMap()).insert("x", n)
        if rng.random() < 0.02:
            lists[rng.randrange(len(lists))].insert(0, n)
        if rng.random() < 0.01:
            doc.get_text(f"t{rng.randrange(3)}").insert(0, "y")
    doc.commit()
    sub.unsubscribe()
    return got


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 5), (8, 10, 5), (40, 10, 5)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_commit_across_many_containers_matches_loro(shape, seed):
    ours, theirs = one_commit(loro_c, shape, seed), one_commit(loro, shape, seed)
    assert len(ours) == len(theirs) == 1
    # (every leaf has its diff)
    assert len(ours[0][3]) >= shape[0] * shape[1] * shape[2]
    assert ours == theirs


def event_values(mod):
    doc, leaves, _ = nested_maps(mod, 2, 2, 2)
    kept = []
    sub = doc.subscribe_root(kept.append)
    for i, leaf in enumerate(leaves):
        leaf.insert("v", i)
    doc.get_text("t").insert(0, "ab")
    doc.get_list("l").insert(0, 1)
    doc.commit()
    sub.unsubscribe()
    (event,) = kept
    values = [event]
    for d in event.events:
        values += [d, d.diff] + list(d.path) + [p.index for p in d.path]
        if hasattr(d.diff, "diff") and not isinstance(d.diff.diff, list):
            values.append(d.diff.diff)
        elif hasattr(d.diff, "diff"):
            values += d.diff.diff
    return values


@pytest.mark.parametrize("mod", [loro, loro_c], ids=["loro", "loro_c"])
def test_event_values_are_not_tracked_by_the_cycle_collector(mod):
    values = event_values(mod)
    assert len(values) > 20
    assert [type(v).__name__ for v in values if gc.is_tracked(v)] == []


@pytest.mark.parametrize("enabled", [True, False])
def test_a_commit_leaves_the_collector_as_it_was(enabled):
    doc, leaves, _ = nested_maps(loro_c, 4, 4, 4)
    seen = []
    sub = doc.subscribe_root(lambda e: seen.append(gc.isenabled()))
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        for i, leaf in enumerate(leaves):
            leaf.insert("v", i)
        doc.commit()
        assert gc.isenabled() is enabled
        # (the callback runs with the collector as the caller had it)
        assert seen == [enabled]
        sub.unsubscribe()
    finally:
        (gc.enable if was else gc.disable)()
