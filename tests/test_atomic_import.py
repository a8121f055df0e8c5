"""An import is all or nothing in the states a long-running server reaches.

The receiving document already holds a prefix of peer A's history (so the blob's first change
*continues* the document's last change), and may hold pending changes and an open
transaction. The blob then carries A's next changes followed by a broken change. After the
rejection the document must be exactly as before: deep value, version vectors, frontiers,
``len_ops``, ``len_changes``, its full export, and the invariant checker. Then the valid
continuation must import and equal `loro` replaying the same valid imports.

Broken changes come three ways: JSON with an out-of-range op (rejected while applying),
binary blobs with bytes flipped and the checksum recomputed (rejected while decoding or
applying), and an exception (KeyboardInterrupt) raised from inside the import, once after
staging and once after everything was applied.
"""
import json
import random

import loro
import pytest

import loro_c
from loro_c import _codec, _types

LIBS = (loro, loro_c)


def fix_checksum(blob):
    b = bytearray(blob)
    b[16:20] = _codec.xxh32(bytes(b[20:])).to_bytes(4, "little")
    return bytes(b)


def edit(rng, doc, n):
    t, lst, m = doc.get_text("t"), doc.get_list("l"), doc.get_map("m")
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            t.insert(rng.randint(0, len(t.to_string())), rng.choice(["a", "bc", "é", "😀x"]))
        elif r < 0.65 and len(t.to_string()) > 0:
            t.delete(rng.randrange(len(t.to_string())), 1)
        elif r < 0.8:
            lst.insert(rng.randint(0, len(lst)), rng.randint(0, 9))
        elif r < 0.9:
            m.insert(rng.choice("abc"), rng.random())
        else:
            doc.get_counter("c").increment(1)


class World:
    """Peers A and C in both libraries, and the receiver B's import sequence."""

    def __init__(self, seed):
        self.rng = rng = random.Random(seed)
        self.seed = seed
        self.a = {}
        self.c = {}
        for lib in LIBS:
            a = lib.LoroDoc(); a.peer_id = 1
            c = lib.LoroDoc(); c.peer_id = 3
            self.a[lib], self.c[lib] = a, c
        # A's history in steps; B will hold a prefix of it
        self.a_versions = []
        for step in range(rng.randint(2, 5)):
            for lib in LIBS:
                edit(random.Random(seed * 1000 + step), self.a[lib], 1 + step % 3)
                self.a[lib].commit()
            self.a_versions.append({lib: self.a[lib].oplog_vv for lib in LIBS})
        # C builds on A's full history: its blob is pending for a B that lacks A's tail
        for lib in LIBS:
            self.c[lib].import_(self.a[lib].export(lib.ExportMode.Updates(lib.VersionVector())))
            edit(random.Random(seed), self.c[lib], 2)
            self.c[lib].commit()
        self.with_pending = rng.random() < 0.5
        self.with_txn = rng.random() < 0.5
        self.prefix = rng.randrange(len(self.a_versions) - 1)

    def receiver(self, lib):
        """B: A's prefix imported, maybe C's change pending, maybe an open local edit."""
        b = lib.LoroDoc()
        b.peer_id = 2
        b.import_(self.a[lib].export(lib.ExportMode.UpdatesInRange(
            [lib.IdSpan(1, lib.CounterSpan(0, self.a_versions[self.prefix][lib].get_last(1) + 1))])))
        if self.with_pending:
            st = b.import_(self.c[lib].export(lib.ExportMode.Updates(self.a[lib].oplog_vv)))
            assert st.pending is not None
        if self.with_txn:
            b.get_text("t").insert(0, "local")
        return b

    def continuation(self, lib, b):
        """A's changes after the prefix (they continue B's copy of A's last change)."""
        return self.a[lib].export(lib.ExportMode.Updates(b.oplog_vv))


def snapshot_of(doc):
    """Everything observable that a failed import must leave as it was."""
    doc.commit()
    vv = doc.oplog_vv
    return (json.dumps(doc.get_deep_value(), sort_keys=True, default=repr), repr(vv),
            repr(doc.oplog_frontiers), doc.len_ops, doc.len_changes,
            doc.export(loro_c.ExportMode.Updates(loro_c.VersionVector())),
            sorted(doc.get_value()))


def finish_and_compare(world, sut_b):
    """The valid continuation (and C's change) imports, and B equals loro's B."""
    ref_b = world.receiver(loro)
    ref_b.commit()
    for b, lib in ((ref_b, loro), (sut_b, loro_c)):
        b.import_(world.continuation(lib, b))
        b.import_(world.c[lib].export(lib.ExportMode.Updates(b.oplog_vv)))
    assert sut_b.get_deep_value() == ref_b.get_deep_value()
    assert sut_b.oplog_vv == loro_c.VersionVector.decode(ref_b.oplog_vv.encode())
    sut_b._check_invariants()


def broken_json(world, b):
    """A's continuation as JSON, then a change of peer 9 that deletes past the end."""
    src = world.a[loro_c]
    doc = json.loads(src.export_json_updates(b.oplog_vv, src.oplog_vv))
    peers = doc["peers"]
    peers.append("9")
    a_idx = peers.index("1")
    a_end = src.oplog_vv.get_last(1)
    bad = {"id": f"0@{len(peers) - 1}", "timestamp": 0, "deps": [f"{a_end}@{a_idx}"],
           "lamport": 10_000, "msg": None,
           "ops": [{"container": "cid:root-t:Text",
                    "content": {"type": "delete", "pos": 1_000_000, "len": 2,
                                "start_id": f"0@{a_idx}"},
                    "counter": 0}]}
    doc["changes"].append(bad)
    return json.dumps(doc)


@pytest.mark.parametrize("seed", range(40))
def test_broken_json_after_a_continuation_leaves_the_doc_unchanged(seed):
    world = World(seed)
    b = world.receiver(loro_c)
    bad = broken_json(world, b)
    before = snapshot_of(b)
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(bad)
    assert snapshot_of(b) == before
    b._check_invariants()
    # undone in place: the tracker retreated, the log was not replayed
    assert b._stats()["state_rebuilds"] == 0
    finish_and_compare(world, b)


def same_as_twin(b, twin):
    """`b` (which saw a rejected import) and `twin` (which did not) are the same document:
    their snapshots (kept and freshly encoded), and after the same edits, their exports."""
    for d in (b, twin):
        d.commit()
    assert b.export(loro_c.ExportMode.Snapshot()) == twin.export(loro_c.ExportMode.Snapshot())
    assert b._snapshot_uncached() == twin._snapshot_uncached()
    for d in (b, twin):
        t = d.get_text("t")
        t.insert(t.len_unicode // 2, "later")
        d.get_list("l").insert(0, "later")
        d.commit()
    assert b._snapshot_uncached() == twin._snapshot_uncached()
    assert (b.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
            == twin.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    assert b.get_deep_value() == twin.get_deep_value()


@pytest.mark.parametrize("seed", range(40))
def test_broken_json_leaves_the_snapshot_bytes_as_they_were(seed):
    world = World(seed)
    b = world.receiver(loro_c)
    twin = world.receiver(loro_c)
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(broken_json(world, b))
    same_as_twin(b, twin)


def flipped_blobs(world, seed, tries):
    """The update a receiver lacks (A's continuation, then C's change in another block),
    `tries` times with one bit flipped after the header and the checksum fixed."""
    rng = random.Random(seed)
    probe = world.receiver(loro_c)
    probe.commit()
    joined = world.c[loro_c].export(loro_c.ExportMode.Updates(probe.oplog_vv))
    for _ in range(tries):
        blob = bytearray(joined)
        i = rng.randrange(22, len(blob))
        blob[i] ^= 1 << rng.randrange(8)
        yield fix_checksum(bytes(blob))


@pytest.mark.parametrize("seed", range(6))
def test_flipped_bytes_leave_the_snapshot_bytes_as_they_were(seed):
    world = World(seed)
    rejected = 0
    for blob in flipped_blobs(world, seed, 15):
        b = world.receiver(loro_c)
        try:
            b.import_(blob)
        except loro_c.LoroError:
            rejected += 1
            same_as_twin(b, world.receiver(loro_c))
    assert rejected > 0


@pytest.mark.parametrize("seed", range(12))
def test_flipped_bytes_after_a_continuation_leave_the_doc_unchanged(seed):
    world = World(seed)
    rejected = 0
    # flips in the later block hit after the first change has already continued the
    # document's last change
    for blob in flipped_blobs(world, seed, 25):
        b = world.receiver(loro_c)
        before = snapshot_of(b)
        try:
            b.import_(blob)
        except loro_c.LoroError:
            rejected += 1
            assert snapshot_of(b) == before
            b._check_invariants()
            assert b._stats()["state_rebuilds"] == 0
            finish_and_compare(world, b)
    assert rejected > 0


@pytest.mark.parametrize("where", ["after staging", "after applying"])
@pytest.mark.parametrize("seed", range(10))
def test_interrupt_inside_the_import_leaves_the_doc_unchanged(seed, where, monkeypatch):
    world = World(seed)
    b = world.receiver(loro_c)
    before = snapshot_of(b)
    blob = world.c[loro_c].export(loro_c.ExportMode.Updates(b.oplog_vv))
    if where == "after staging":
        original = _codec.stage_blobs

        def stage_then_interrupt(*args):
            original(*args)
            raise KeyboardInterrupt
        monkeypatch.setattr(_codec, "stage_blobs", stage_then_interrupt)
    else:
        def interrupt(*args):
            raise KeyboardInterrupt
        monkeypatch.setattr(_types, "ImportStatus", interrupt)
    with pytest.raises(KeyboardInterrupt):
        b.import_(blob)
    monkeypatch.undo()
    assert snapshot_of(b) == before
    b._check_invariants()
    finish_and_compare(world, b)


def test_repeated_known_and_pending_imports_stage_nothing():
    """Re-importing known updates, snapshots and pending blobs keeps the arenas flat."""
    a = loro_c.LoroDoc(); a.peer_id = 1
    edit(random.Random(1), a, 200)
    a.commit()
    v = a.oplog_vv
    edit(random.Random(2), a, 50)
    a.commit()
    full = a.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    tail = a.export(loro_c.ExportMode.Updates(v))
    loro_snap_src = loro.LoroDoc()
    loro_snap_src.import_(full)
    snap = loro_snap_src.export(loro.ExportMode.Snapshot())
    b = loro_c.LoroDoc()
    b.import_(full)
    pending = loro_c.LoroDoc()
    pending.import_(tail)       # waits for the first part
    for doc, blobs in ((b, (full, tail, snap)), (pending, (tail,))):
        for blob in blobs:
            doc.import_(blob)
        stats = doc._stats()
        for _ in range(50):
            for blob in blobs:
                doc.import_(blob)
        assert doc._stats() == stats


def test_known_prefix_of_a_change_is_not_staged():
    """A stale export (it restarts inside a change the receiver partly has) costs what the
    exact one costs: the known ops are dropped while decoding, not staged and trimmed."""
    a = loro_c.LoroDoc(); a.peer_id = 1
    edit(random.Random(5), a, 120)
    a.commit()                  # one long change
    end = a.oplog_vv.get_last(1) + 1
    for cut in (end // 3, end // 2, end - 2):
        stale_from = max(0, cut - 25)
        results = []
        for start in (cut, stale_from):
            b = loro_c.LoroDoc()
            b.import_(a.export(loro_c.ExportMode.UpdatesInRange([loro_c.IdSpan(1, loro_c.CounterSpan(0, cut))])))
            vv = loro_c.VersionVector()
            vv.set_end(loro_c.ID(1, start))
            b.import_(a.export(loro_c.ExportMode.Updates(vv)))
            assert b.get_deep_value() == a.get_deep_value()
            results.append(b._stats())
        assert results[0] == results[1]
