"""An import with subscribers keeps, for its events, the movable lists and trees it may
change as they were before (their items and versions): those its changes touch and those the
pending changes it may wake touch, not every list and tree of the document. These tests
pin the cases where that choice matters, each against loro's events: a change waiting on
a list or a tree (staged with or without a subscriber) woken by a later import, a document
whose large list and tree an import leaves alone, and containers the import creates."""
import random

import pytest

import loro
import loro_c

from _events_util import nev


def base_doc(mod, n_items=300):
    """Peer 1's document: a text, a movable list and a tree, each with content."""
    doc = mod.LoroDoc()
    doc.peer_id = 1
    doc.get_text("t").insert(0, "hello")
    lst = doc.get_movable_list("ml")
    for i in range(n_items):
        lst.insert(i, i)
    tree = doc.get_tree("tr")
    for _ in range(n_items // 10):
        tree.create()
    doc.commit()
    return doc


def touch(mod, doc, rng, what):
    """One commit of `doc` editing `what` ("t", "ml" or "tr")."""
    if what == "t":
        doc.get_text("t").insert(0, "ab")
    elif what == "ml":
        lst = doc.get_movable_list("ml")
        n = len(lst)
        lst.mov(rng.randrange(n), rng.randrange(n))
        lst.set(rng.randrange(n), -1)
        lst.delete(rng.randrange(n - 1), 1)
        lst.insert(rng.randrange(n), "x")
    else:
        tree = doc.get_tree("tr")
        nodes = tree.nodes()
        tree.mov(rng.choice(nodes), rng.choice(nodes[:3]))
        tree.create(rng.choice(nodes))
    doc.commit()


def end_of(vv, peer):
    """The counter after `peer`'s last op in `vv` (0: none)."""
    last = vv.get_last(peer)
    return 0 if last is None else last + 1


def waiting_session(mod, seed, watch_early):
    """A receiver gets peer 2's second change (on the list or the tree) before its first
    (on the text): it waits. Subscribed from the start (`watch_early`) or only once it
    waits, the receiver then takes the first change, which wakes the second."""
    rng = random.Random(seed)
    base = base_doc(mod)
    sender = mod.LoroDoc()
    sender.peer_id = 2
    sender.import_(base.export(mod.ExportMode.Snapshot()))
    receiver = mod.LoroDoc()
    receiver.peer_id = 3
    receiver.import_(base.export(mod.ExportMode.Snapshot()))
    seen = []
    subs = []
    if watch_early:
        subs.append(receiver.subscribe_root(lambda e: seen.append(nev(e))))
    at_start = sender.oplog_vv
    touch(mod, sender, rng, "t")
    after_first = sender.oplog_vv
    touch(mod, sender, rng, rng.choice(["ml", "tr"]))
    receiver.import_(sender.export(mod.ExportMode.Updates(after_first)))   # waits
    if not watch_early:
        subs.append(receiver.subscribe_root(lambda e: seen.append(nev(e))))
    # (the first change alone: the waiting one is not sent again)
    first = mod.IdSpan(2, mod.CounterSpan(end_of(at_start, 2), end_of(after_first, 2)))
    receiver.import_(sender.export(mod.ExportMode.UpdatesInRange([first])))
    return seen, receiver.get_deep_value()


@pytest.mark.parametrize("watch_early", [False, True])
def test_a_woken_change_on_a_list_or_tree_gives_loros_events(watch_early):
    """The woken change's list or tree was kept as it was before the import, even when the
    change was staged while nobody subscribed."""
    for seed in range(12):
        got = waiting_session(loro_c, seed, watch_early)
        assert got == waiting_session(loro, seed, watch_early), seed
        assert len(got[0]) == 1


def untouched_session(mod, seed):
    """A receiver with a large list and tree, subscribed, imports text edits, then list
    and tree edits, then edits creating a new list and tree."""
    rng = random.Random(seed)
    base = base_doc(mod, 2000)
    sender = mod.LoroDoc()
    sender.peer_id = 2
    sender.import_(base.export(mod.ExportMode.Snapshot()))
    receiver = mod.LoroDoc()
    receiver.import_(base.export(mod.ExportMode.Snapshot()))
    seen = []
    sub = receiver.subscribe_root(lambda e: seen.append(nev(e)))
    for step in ("t", "t", "ml", "t", "tr", "new"):
        vv = receiver.oplog_vv
        if step == "new":
            sender.get_map("m").insert_container("l", mod.LoroMovableList()).insert(0, 1)
            sender.get_map("m").insert_container("tree", mod.LoroTree()).create()
            sender.commit()
        else:
            touch(mod, sender, rng, step)
        receiver.import_(sender.export(mod.ExportMode.Updates(vv)))
    del sub
    return seen, receiver.get_deep_value()


def test_imports_that_leave_a_large_list_and_tree_alone_give_loros_events():
    for seed in range(4):
        assert untouched_session(loro_c, seed) == untouched_session(loro, seed), seed
