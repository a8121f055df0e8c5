"""get_value()/get_deep_value() list the same root containers as loro after imports.

loro lists a root once the user fetched it, once an applied op touched it, when an import
none of whose changes could apply names it (the roots of the waiting changes), and, for a
snapshot loaded into an empty document outside a batch, every root of the snapshot's state,
including roots that have no ops at all.
"""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def source(seed):
    """A loro history with roots that have ops, roots emptied again, and a root with no op."""
    rng = random.Random(seed)
    a = loro.LoroDoc(); a.peer_id = 1
    b = loro.LoroDoc(); b.peer_id = 2
    a.get_text("no_ops")            # fetched only: in a's state, never in its history
    versions = [a.oplog_vv]
    for step in range(rng.randint(3, 12)):
        d = rng.choice((a, b))
        r = rng.random()
        if r < 0.3:
            d.get_text(f"t{rng.randrange(3)}").insert(0, "x")
        elif r < 0.5:
            lst = d.get_list(f"l{rng.randrange(2)}")
            lst.push(step)
            if rng.random() < 0.5:
                lst.delete(0, 1)
        elif r < 0.7:
            d.get_map("m").insert("k", step)
        elif r < 0.85:
            d.get_counter(f"c{rng.randrange(2)}").increment(1)
        else:
            (b if d is a else a).import_(d.export(loro.ExportMode.Updates((b if d is a else a).oplog_vv)))
        d.commit()
        versions.append(a.oplog_vv)
    a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    return a, versions


def roots_after(lib, blobs, batch=False, fetched=()):
    d = lib.LoroDoc()
    for name in fetched:
        d.get_text(name)
    if batch:
        d.import_batch(blobs)
    else:
        for blob in blobs:
            d.import_(blob)
    return sorted(d.get_value()), d.get_deep_value()


@pytest.mark.parametrize("seed", range(25))
def test_roots_after_snapshot_pending_range_and_batch_imports(seed):
    a, versions = source(seed)
    rng = random.Random(seed)
    snap = a.export(loro.ExportMode.Snapshot())
    full = a.export(loro.ExportMode.Updates(loro.VersionVector()))
    mid = rng.choice(versions)
    tail = a.export(loro.ExportMode.Updates(mid))            # pending in an empty doc
    head_end = mid.get_last(1)
    spans = [loro.IdSpan(1, loro.CounterSpan(0, head_end + 1))] if head_end is not None else []
    head = a.export(loro.ExportMode.UpdatesInRange(spans)) if spans else None
    cases = [("snapshot", [snap], False, ()),
             ("snapshot after a fetch", [snap], False, ("no_ops",)),
             ("updates", [full], False, ()),
             ("pending tail", [tail], False, ()),
             ("tail then full", [tail, full], False, ()),
             ("batch snapshot + tail", [snap, tail], True, ()),
             ("batch tail + full", [tail, full], True, ())]
    if head is not None:
        cases += [("range head", [head], False, ()),
                  ("range head then tail", [head, tail], False, ())]
    for name, blobs, batch, fetched in cases:
        want = roots_after(loro, blobs, batch, fetched)
        got = roots_after(loro_c, blobs, batch, fetched)
        assert got == want, f"seed {seed}, {name}"


def test_snapshot_roots_without_ops_are_listed():
    a = loro.LoroDoc(); a.peer_id = 3
    a.get_text("e")
    a.get_list("l").push(1)
    a.get_list("l").delete(0, 1)
    a.commit()
    d = loro_c.LoroDoc()
    d.import_(a.export(loro.ExportMode.Snapshot()))
    assert sorted(d.get_value()) == ["e", "l"]
    assert d.get_deep_value() == {"e": "", "l": []}
