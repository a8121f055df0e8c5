"""Between two snapshot exports of one document, the export keeps its state section's
entries in key order (only the entries encoded afresh move into their places while the
same containers are listed) and the section's blocks (a block holding the very entries of
the last export's block at its place is stored as it was). These tests export after each
kind of change -- local edits of every kind, imports, checkouts, revert_to, undo, the
detached state -- and check that loro reads each blob as this document, and that the
blobs are byte for byte those of the same session exported with nothing kept."""
import random

import loro
import pytest

import loro_c as L
from loro_c import _codec


def _doc():
    """Enough containers for several state blocks: root maps with values of mixed sizes, a
    tree with meta maps, a text and a list."""
    d = L.LoroDoc()
    d.peer_id = 7
    for i in range(150):
        d.get_map(f"r{i:03d}").insert("v", "x" * (i % 40))
    tree = d.get_tree("tree")
    nodes = []
    for i in range(40):
        n = tree.create(nodes[i // 2] if i % 3 and nodes else None)
        nodes.append(n)
        if i % 2:
            tree.get_meta(n).insert("name", i)
    d.get_text("t").insert(0, "hello")
    d.get_list("l").insert(0, 1)
    d.commit()
    return d, nodes


def _other():
    o = L.LoroDoc()
    o.peer_id = 8
    o.get_map("r010").insert("w", "from 8" * 20)
    o.get_map("fresh").insert("k", 1)
    o.get_text("t").insert(0, ">> ")
    o.commit()
    return o


def _step(rng, d, nodes, other, undo, versions, k):
    """One change of kind `k` (a test's name for it) and a commit."""
    tree = d.get_tree("tree")
    if d.is_detached() and k not in ("detached", "attach"):
        d.attach()      # (a detached document takes no local edit)
    if k == "grow":
        d.get_map(f"r{rng.randrange(150):03d}").insert("v", "y" * rng.randint(30, 120))
    elif k == "shrink":
        d.get_map(f"r{rng.randrange(150):03d}").insert("v", rng.randint(0, 9))
    elif k == "key_delete":
        d.get_map(f"r{rng.randrange(150):03d}").delete("v")
    elif k == "new_root":
        d.get_map(f"n{rng.randrange(1000):03d}").insert("v", 1)
    elif k == "text":
        t = d.get_text("t")
        t.insert(rng.randint(0, t.len_unicode), "ab")
    elif k == "list":
        d.get_list("l").insert(0, rng.random())
    elif k == "meta":
        tree.get_meta(rng.choice(nodes)).insert("name", rng.random())
    elif k == "tree_move":
        tree.mov(rng.choice(nodes[20:]), rng.choice(nodes[:5]))
    elif k == "tree_create":
        nodes.append(tree.create(rng.choice(nodes[:5])))
    elif k == "import":
        o = other
        o.get_map(f"r{rng.randrange(150):03d}").insert("o", rng.random())
        o.commit()
        d.import_(o.export(L.ExportMode.Updates(d.oplog_vv)))
    elif k == "checkout":
        d.checkout(versions[rng.randrange(len(versions))])
        d.checkout_to_latest()
    elif k == "revert":
        d.revert_to(versions[rng.randrange(len(versions))])
    elif k == "undo":
        undo.undo()
    elif k == "detached":
        d.detach()
        o = other
        o.get_map("r020").insert("o", rng.random())
        o.commit()
        d.import_(o.export(L.ExportMode.Updates(d.oplog_vv)))
    elif k == "attach":
        d.attach()
    d.commit()
    if not d.is_detached():
        versions.append(d.oplog_frontiers)


KINDS = ["grow", "shrink", "key_delete", "new_root", "text", "list", "meta", "tree_move",
         "tree_create", "import", "checkout", "revert", "undo", "detached", "attach"]


def _session(seed, kept):
    """The blobs of a session's exports; `kept` False: each export encodes everything
    afresh (no entry, order or block of an earlier export)."""
    rng = random.Random(seed)
    d, nodes = _doc()
    other = _other()
    other.import_(d.export(L.ExportMode.Updates(L.VersionVector())))
    d.import_(other.export(L.ExportMode.Updates(d.oplog_vv)))
    undo = L.UndoManager(d)
    versions = [d.oplog_frontiers]
    blobs = []
    for _ in range(40):
        k = rng.choice(KINDS)
        _step(rng, d, nodes, other, undo, versions, k)
        if kept or d.is_detached():
            blob = d.export(L.ExportMode.Snapshot())
        else:
            _codec._clear_block_cache()
            blob = d._snapshot_uncached()
        blobs.append((k, blob))
        if kept:
            ref = loro.LoroDoc()
            ref.import_(blob)
            if not d.is_detached():
                assert ref.get_deep_value() == d.get_deep_value(), k
    return blobs


@pytest.mark.parametrize("seed", range(6))
def test_kept_exports_are_the_fresh_ones(seed):
    kept = _session(seed, True)
    fresh = _session(seed, False)
    assert [k for k, _ in kept] == [k for k, _ in fresh]
    for (k, a), (_, b) in zip(kept, fresh):
        assert a == b, k


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_change_between_exports(kind):
    """Exports before and after one change of each kind: loro reads the second as the
    document (a kept block or entry order left stale would give the first state)."""
    rng = random.Random(kind)
    d, nodes = _doc()
    other = _other()
    undo = L.UndoManager(d)
    versions = [d.oplog_frontiers]
    d.get_map("r005").insert("v", "before")
    d.commit()
    versions.append(d.oplog_frontiers)
    d.export(L.ExportMode.Snapshot())
    d.export(L.ExportMode.Snapshot())
    _step(rng, d, nodes, other, undo, versions, kind)
    detached = d.is_detached()
    if not detached:
        d.get_map("r100").insert("v", "after " + kind)
        d.commit()
    blob = d.export(L.ExportMode.Snapshot())
    ref = loro.LoroDoc()
    ref.import_(blob)
    d.attach()      # (a detached document's snapshot holds the state at the log's head)
    assert ref.get_deep_value() == d.get_deep_value()
    if not detached:
        assert ref.get_deep_value()["r100"]["v"] == "after " + kind
    # and an edit after that export
    d.get_map("r101").insert("v", "later")
    d.commit()
    ref = loro.LoroDoc()
    ref.import_(d.export(L.ExportMode.Snapshot()))
    assert ref.get_deep_value() == d.get_deep_value()
