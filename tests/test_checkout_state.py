"""Time travel in the states a long-running server reaches.

A document is checked out at an old version (so its state is detached from the log) while
it holds several peers' concurrent history, maybe pending changes and an open transaction.
Imports then fail (rejected while applying, or interrupted after applying, which rebuilds
the state), succeed, or leave changes pending; local commits merge into the last change
between checkouts. Each time the checked-out state must stay exactly as it was, the
invariant checker must pass (the tracker at the checked-out version, every map key holding
its winner at that version), and the values must equal `loro` checked out at the same
version. tests/test_checkout.py compares the public behaviour with loro more broadly.
"""
import json
import random

import loro
import pytest

import loro_c
from loro_c import _types
from test_rejected_import_undo import World, bad_update, receiver_in_state

LIBS = (loro, loro_c)


def state_of(doc):
    """Everything a detached document shows (the log's side included)."""
    return (json.dumps(doc.get_deep_value(), sort_keys=True, default=repr), doc.is_detached(),
            doc.state_vv, doc.state_frontiers, doc.oplog_vv, doc.len_ops, doc.len_changes,
            doc.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))


def random_version(doc, rng):
    """Frontiers of one or two random ops of the document's history."""
    ends = doc.oplog_vv.to_dict()
    peers = sorted(p for p, e in ends.items() if e > 0)
    picked = rng.sample(peers, min(len(peers), rng.randint(1, 2)))
    return [(p, rng.randrange(ends[p])) for p in picked]


def frontiers(lib, ids):
    return lib.Frontiers.from_ids([lib.ID(p, c) for p, c in ids])


def same_values(a, b):
    assert a.get_deep_value() == b.get_deep_value()
    assert a.is_detached() == b.is_detached()
    assert a.state_vv == loro_c.VersionVector.decode(b.state_vv.encode())
    assert a.oplog_vv == loro_c.VersionVector.decode(b.oplog_vv.encode())


@pytest.mark.parametrize("seed", range(16))
def test_rejected_import_while_detached_changes_nothing(seed):
    world = World(seed)
    rng = random.Random(seed)
    b = receiver_in_state(world, loro_c, seed)
    ref = receiver_in_state(world, loro, seed)
    ref.commit()
    b.commit()
    at = random_version(b, rng)
    b.checkout(frontiers(loro_c, at))
    ref.checkout(frontiers(loro, at))
    same_values(b, ref)
    bad = bad_update(world, b, rng)
    before = state_of(b)
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(bad)
    assert state_of(b) == before
    b._check_invariants()
    assert b._stats()["state_rebuilds"] == 0
    # the valid updates grow the log only; attaching shows them
    for doc, lib in ((b, loro_c), (ref, loro)):
        doc.import_(world.full[lib].export(lib.ExportMode.Updates(doc.oplog_vv)))
    if b.is_detached():         # (a checkout of the log's own frontiers leaves it attached)
        assert b.get_deep_value() == json.loads(before[0])
    same_values(b, ref)
    b._check_invariants()
    b.checkout_to_latest()
    ref.checkout_to_latest()
    same_values(b, ref)
    b._check_invariants()


@pytest.mark.parametrize("seed", range(8))
def test_interrupt_after_applying_while_detached_rebuilds_the_checked_out_state(seed, monkeypatch):
    world = World(seed)
    rng = random.Random(seed)
    b = receiver_in_state(world, loro_c, seed)
    b.commit()
    b.checkout(frontiers(loro_c, random_version(b, rng)))
    before = state_of(b)
    blob = world.full[loro_c].export(loro_c.ExportMode.Updates(b.oplog_vv))

    def interrupt(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(_types, "ImportStatus", interrupt)
    with pytest.raises(KeyboardInterrupt):
        b.import_(blob)
    monkeypatch.undo()
    assert state_of(b) == before
    b._check_invariants()
    # the import had applied its changes: its undo replayed the log, then the checkout
    assert b._stats()["state_rebuilds"] == 1
    ref = receiver_in_state(world, loro, seed)
    ref.commit()
    ref.import_(world.full[loro].export(loro.ExportMode.Updates(ref.oplog_vv)))
    b.import_(blob)
    b.checkout_to_latest()
    same_values(b, ref)
    b._check_invariants()


def test_checkout_inside_a_change_that_later_grows():
    """Local commits merge into one change; checkouts land inside it, before and after it
    grows (the map history must see the ops added to the change it scanned last)."""
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 5
        docs[lib] = d
    marks = []
    for step in range(6):
        for lib, d in docs.items():
            d.get_map("m").insert("k", step)
            d.get_map("m").insert(f"k{step}", step)
            d.get_counter("c").increment(step)
            d.get_text("t").insert(0, str(step))
            d.commit()
        marks.append(docs[loro_c].oplog_frontiers.to_list()[0].counter)
        for at in marks:
            for lib, d in docs.items():
                d.checkout(lib.Frontiers.from_id(lib.ID(5, at)))
            same_values(docs[loro_c], docs[loro])
            docs[loro_c]._check_invariants()
            for lib, d in docs.items():
                d.checkout(lib.Frontiers.from_id(lib.ID(5, max(0, at - 2))))
            same_values(docs[loro_c], docs[loro])
        for d in docs.values():
            d.checkout_to_latest()
        assert docs[loro_c].len_changes == docs[loro].len_changes == 1


@pytest.mark.parametrize("seed", range(6))
def test_checkouts_around_rejected_imports(seed):
    """A checkout gathers the map history; a rejected import drops it; later checkouts
    (after valid imports) must see exactly the log's writes."""
    world = World(seed)
    rng = random.Random(seed)
    b = receiver_in_state(world, loro_c, seed)
    ref = receiver_in_state(world, loro, seed)
    for doc in (b, ref):
        doc.commit()
    at = random_version(b, rng)
    b.checkout(frontiers(loro_c, at))
    b.checkout_to_latest()
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(bad_update(world, b, rng))
    for doc, lib in ((b, loro_c), (ref, loro)):
        doc.import_(world.full[lib].export(lib.ExportMode.Updates(doc.oplog_vv)))
    for _ in range(6):
        at = random_version(b, rng)
        b.checkout(frontiers(loro_c, at))
        ref.checkout(frontiers(loro, at))
        same_values(b, ref)
        b._check_invariants()
    b.attach()
    ref.attach()
    same_values(b, ref)


def test_edits_while_detached_raise_and_change_nothing():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    t, lst, m, c = d.get_text("t"), d.get_list("l"), d.get_map("m"), d.get_counter("c")
    t.insert(0, "hello")
    lst.insert(0, 1)
    m.insert("k", 1)
    c.increment(2)
    d.commit()
    old = d.oplog_frontiers
    t.insert(5, "!")
    d.commit()
    d.checkout(old)
    before = state_of(d)
    edits = [lambda: t.insert(0, "x"), lambda: t.delete(0, 1), lambda: t.update("other"),
             lambda: lst.insert(0, 2), lambda: lst.delete(0, 1), lambda: m.insert("k", 2),
             lambda: m.delete("k"), lambda: c.increment(1),
             lambda: m.insert_container("sub", loro_c.LoroMap()),
             lambda: lst.insert_container(0, loro_c.LoroText()),
             lambda: d.delete_root_container(t.id)]
    for edit in edits:
        with pytest.raises(loro_c.DetachedError):
            edit()
        d.commit()
        assert state_of(d) == before
    d._check_invariants()
    d.attach()
    t.insert(0, ">")
    d.commit()
    assert t.to_string() == ">hello!"


def test_checkout_of_unknown_ids_changes_nothing():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    d.get_text("t").insert(0, "abc")
    d.commit()
    before = state_of(d)
    for bad in ([(1, 3)], [(2, 0)], [(1, 0), (7, 1)]):
        with pytest.raises(loro_c.LoroError):
            d.checkout(frontiers(loro_c, bad))
        assert state_of(d) == before
    d._check_invariants()


@pytest.mark.parametrize("seed", range(12))
def test_pending_changes_and_open_transactions_across_checkouts(seed):
    """A detached import leaves some changes pending; a later blob releases them while the
    document is still detached; the state moves only on checkout."""
    rng = random.Random(seed)
    world = World(seed)
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.import_(world.docs[lib][0].export(lib.ExportMode.Updates(lib.VersionVector())))
        d.peer_id = 10
        d.get_text("t").insert(0, "open")      # committed by the checkout
        docs[lib] = d
    at = random_version(docs[loro_c], rng)
    for lib, d in docs.items():
        d.checkout(frontiers(lib, at))
    same_values(docs[loro_c], docs[loro])
    # every other peer's history, delivered newest first: the later blobs wait for the first
    blobs = {}
    ends = world.full[loro_c].oplog_vv.to_dict()
    for lib in LIBS:
        full = world.full[lib]
        mid = lib.VersionVector()
        for p, e in ends.items():
            mid.set_end(lib.ID(p, e // 2))
        blobs[lib] = [full.export(lib.ExportMode.Updates(mid)),
                      full.export(lib.ExportMode.Updates(lib.VersionVector()))]
    for i in range(2):
        for lib, d in docs.items():
            d.import_(blobs[lib][i])
        same_values(docs[loro_c], docs[loro])
        docs[loro_c]._check_invariants()
    for _ in range(4):
        at = random_version(docs[loro_c], rng)
        for lib, d in docs.items():
            d.checkout(frontiers(lib, at))
        same_values(docs[loro_c], docs[loro])
        docs[loro_c]._check_invariants()
    for d in docs.values():
        d.checkout_to_latest()
    same_values(docs[loro_c], docs[loro])
    docs[loro_c]._check_invariants()


def test_history_cache_is_built_by_checkouts_and_can_be_freed():
    """As in loro: a checkout of a document with maps gathers their writes
    (has_history_cache), free_history_cache drops them, the next checkout gathers again;
    text alone needs none. Checkouts give the same values either way."""
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 3
        d.get_text("t").insert(0, "x")
        d.commit()
        docs[lib] = d
    for lib, d in docs.items():
        f = d.oplog_frontiers
        d.get_text("t").insert(0, "y")
        d.commit()
        d.checkout(f)
        assert d.has_history_cache is False
        d.checkout_to_latest()
    marks = []
    for step in range(5):
        for lib, d in docs.items():
            d.get_map("m").insert("k", step)
            d.get_map("m").insert(f"k{step % 2}", step)
            d.commit()
        marks.append(docs[loro_c].oplog_frontiers.to_list()[0].counter)
    for i, at in enumerate(marks):
        for lib, d in docs.items():
            d.checkout(lib.Frontiers.from_id(lib.ID(3, at)))
            assert d.has_history_cache is True
            if i % 2:
                d.free_history_cache()
                assert d.has_history_cache is False
                d.free_diff_calculator()
        same_values(docs[loro_c], docs[loro])
        docs[loro_c]._check_invariants()
    for lib, d in docs.items():
        d.checkout_to_latest()
    same_values(docs[loro_c], docs[loro])
