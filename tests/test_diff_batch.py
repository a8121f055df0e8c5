"""LoroDoc.diff / apply_diff / revert_to and DiffBatch, against loro.

Random multi-peer histories (Text, List, Map, Counter, nested containers) in both
libraries: the diff between two random versions must equal loro's (deltas in canonical
form, diffs in a fixed order), leave the document exactly as it was, and take a fork at the
first version to the second when applied; revert_to must edit the document back to the
same value as loro's revert_to, then commit and sync like any local edit.
"""
import json
import random

import loro
import pytest

import loro_c
from _events_util import canonical, ncid, ndiff
from test_rejected_import_undo import World

LIBS = (loro, loro_c)


def batch_form(batch):
    rows = []
    for cid, d in batch.get_diff():
        kind, items = ndiff(d)
        if kind == "Map":
            items = sorted(items.items())
        rows.append((ncid(cid), kind, repr(canonical(kind, items))))
    return sorted(rows)


def versions(doc, rng, n):
    """`n` random frontiers of the document's history (single ids or merges of two), in
    canonical form (no id implied by another: loro misbehaves on others)."""
    ends = doc.oplog_vv.to_dict()
    peers = sorted(p for p, e in ends.items() if e > 0)
    out = [[]]
    for _ in range(n):
        picked = rng.sample(peers, min(len(peers), rng.randint(1, 2)))
        ids = [(p, rng.randrange(ends[p])) for p in picked]
        vv = doc.frontiers_to_vv(fr(loro_c, ids))
        out.append([(i.peer, i.counter) for i in doc.vv_to_frontiers(vv).to_list()])
    return out


def fr(lib, ids):
    return lib.Frontiers.from_ids([lib.ID(p, c) for p, c in ids]) if ids else lib.Frontiers()


def state(doc):
    return (json.dumps(doc.get_deep_value(), sort_keys=True, default=repr), str(doc.state_vv),
            str(doc.oplog_vv), doc.is_detached(), doc.len_changes)


@pytest.mark.parametrize("seed", range(12))
def test_diffs_between_versions_match_loro(seed):
    world = World(seed)
    rng = random.Random(seed)
    docs = {lib: world.full[lib] for lib in LIBS}
    vs = versions(docs[loro_c], rng, 6)
    for _ in range(6):
        a, b = rng.choice(vs), rng.choice(vs)
        before = state(docs[loro_c])
        got = {lib: d.diff(fr(lib, a), fr(lib, b)) for lib, d in docs.items()}
        assert state(docs[loro_c]) == before
        assert batch_form(got[loro_c]) == batch_form(got[loro]), (a, b)
        docs[loro_c]._check_invariants()
        # the batch takes a fork at `a` to the value at `b`
        for lib, d in docs.items():
            f = d.fork_at(fr(lib, a))
            f.apply_diff(got[lib])
            f.commit()
            d.checkout(fr(lib, b))
            assert f.get_deep_value() == d.get_deep_value(), (lib.__name__, a, b)
            d.checkout_to_latest()


@pytest.mark.parametrize("seed", range(12))
def test_revert_to_matches_loro(seed):
    world = World(seed)
    rng = random.Random(seed)
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.import_(world.full[lib].export(lib.ExportMode.Updates(lib.VersionVector())))
        d.peer_id = 50
        docs[lib] = d
    # versions of the shared history only: the reverting changes' ops come in the order of
    # each library's batch (loro's follows a hash map), so versions inside them differ
    choices = versions(docs[loro_c], rng, 6)
    for _ in range(3):
        target = rng.choice(choices)
        for lib, d in docs.items():
            d.revert_to(fr(lib, target))
        for lib, d in docs.items():
            d.commit()
        assert docs[loro_c].get_deep_value() == docs[loro].get_deep_value()
        docs[loro_c]._check_invariants()
    # the reverting edits are ordinary changes: loro imports them
    back = loro.LoroDoc()
    back.import_(docs[loro_c].export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == docs[loro].get_deep_value()


def test_hand_made_batches_apply_like_loro():
    out = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 3
        d.get_text("t").insert(0, "abc")
        d.get_list("l").insert(0, 1)
        d.commit()
        b = lib.DiffBatch()
        b.push(lib.ContainerID.Root("t", lib.ContainerType.Text()),
               lib.Diff.Text([lib.TextDelta.Retain(1, None), lib.TextDelta.Insert("XY", None),
                              lib.TextDelta.Delete(1)]))
        b.push(lib.ContainerID.Root("l", lib.ContainerType.List()),
               lib.Diff.List([lib.ListDiffItem.Insert([lib.ValueOrContainer.Value(7)], False)]))
        b.push(lib.ContainerID.Root("c", lib.ContainerType.Counter()), lib.Diff.Counter(2.5))
        assert len(b.get_diff()) == 3
        d.apply_diff(b)
        d.commit()
        out[lib] = d.get_deep_value()
    assert out[loro_c] == out[loro]
    # (loro cannot make a MapDelta from Python; loro_c can)
    d = loro_c.LoroDoc()
    d.get_map("m").insert("gone", 1)
    b = loro_c.DiffBatch()
    b.push(loro_c.ContainerID.Root("m", loro_c.ContainerType.Map()),
           loro_c.Diff.Map(loro_c.MapDelta({"k": loro_c.ValueOrContainer.Value("v"), "gone": None})))
    d.apply_diff(b)
    assert d.get_deep_value() == {"m": {"k": "v"}}


def test_a_batch_reaching_past_the_end_changes_nothing():
    """As in loro: apply_diff is all or nothing when a diff retains or deletes past the end
    of its sequence (loro panics; loro_c raises OutOfBoundsError)."""
    for delta in ([loro_c.TextDelta.Retain(5, None), loro_c.TextDelta.Insert("x", None)],
                  [loro_c.TextDelta.Insert("xy", None), loro_c.TextDelta.Delete(5)],
                  [loro_c.TextDelta.Delete(1), loro_c.TextDelta.Retain(2, None)]):
        d = loro_c.LoroDoc()
        d.get_text("t").insert(0, "ab")
        d.commit()
        b = loro_c.DiffBatch()
        b.push(loro_c.ContainerID.Root("c", loro_c.ContainerType.Counter()), loro_c.Diff.Counter(2.0))
        b.push(loro_c.ContainerID.Root("l", loro_c.ContainerType.List()),
               loro_c.Diff.List([loro_c.ListDiffItem.Insert([loro_c.ValueOrContainer.Value(1)], False)]))
        b.push(loro_c.ContainerID.Root("t", loro_c.ContainerType.Text()), loro_c.Diff.Text(delta))
        with pytest.raises(loro_c.OutOfBoundsError):
            d.apply_diff(b)
        assert d.get_pending_txn_len() == 0
        assert d.get_deep_value() == {"t": "ab"}
    # the lengths the batch's own earlier diffs make count
    d = loro_c.LoroDoc()
    b = loro_c.DiffBatch()
    t = loro_c.ContainerID.Root("t", loro_c.ContainerType.Text())
    b.push(t, loro_c.Diff.Text([loro_c.TextDelta.Insert("hello", None)]))
    b.push(t, loro_c.Diff.Text([loro_c.TextDelta.Retain(5, None), loro_c.TextDelta.Insert("!", None)]))
    d.apply_diff(b)
    assert d.get_text("t").to_string() == "hello!"


def test_bad_batches_raise():
    d = loro_c.LoroDoc()
    with pytest.raises(loro_c.LoroTypeError):
        loro_c.DiffBatch().push(loro_c.ContainerID.Root("t", loro_c.ContainerType.Text()), "x")
    with pytest.raises(loro_c.LoroTypeError):
        d.apply_diff([1])
    with pytest.raises(loro_c.LoroError):
        d.diff(loro_c.Frontiers.from_id(loro_c.ID(5, 5)), loro_c.Frontiers())


def test_a_moved_child_keeps_its_length_for_the_bounds_check():
    """A movable list's child the delta deletes and inserts again (a move) is kept, so the
    batch's later diff of it is checked against its length, not taken as a new, empty
    container's (loro_c once raised OutOfBoundsError where loro applied the batch)."""
    out = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        ml = d.get_movable_list("ml")
        ml.insert(0, "s")
        ml.insert(1, 1)
        t = ml.insert_container(2, lib.LoroText())
        t.insert(0, "bcéc")
        d.commit()
        v1 = d.state_frontiers
        ml.mov(2, 0)
        ml.delete(1, 2)
        t.delete(0, 4)
        d.commit()
        f = d.fork_at(v1)
        f.apply_diff(d.diff(v1, d.state_frontiers))
        out.append(f.get_deep_value_with_id())
    assert out[1] == out[0]
    assert out[0]["ml"]["value"][0]["cid"] == "cid:2@1:Text"


def test_a_tree_nodes_meta_map_is_a_container_of_the_document():
    """As in loro, the meta map of a tree node (deleted ones too) is found by
    get_container / has_container even when nothing asked for it before (a document
    that imported the tree; apply_diff's meta diffs rely on it)."""
    got = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 3
        t = d.get_tree("tree")
        a = t.create()
        t.get_meta(a).insert("k", 1)
        b = t.create()
        t.delete(b)
        d.commit()
        e = lib.LoroDoc()
        e.import_(d.export(lib.ExportMode.Snapshot()))
        row = []
        for c in (0, 2, 3, 9):
            cid = lib.ContainerID.Normal(3, c, lib.ContainerType.Map())
            h = e.get_container(cid)
            row.append((e.has_container(cid), None if h is None else h.get_value()))
        got.append(row)
    assert got[1] == got[0]
    assert got[0][0] == (True, {"k": 1}) and got[0][-1] == (False, None)


def test_apply_diff_leaves_out_containers_no_root_reaches():
    """As loro's apply_diff: the diff of a container no root reaches (a child whose key
    was deleted) is left out, the rest applied (loro_c once raised ContainerDeletedError
    and applied nothing)."""
    got = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        m = d.get_map("m")
        c = m.insert_container("c", lib.LoroText())
        c.insert(0, "ab")
        d.commit()
        m.delete("c")
        d.commit()
        b = lib.DiffBatch()
        b.push(c.id, lib.Diff.Text([lib.TextDelta.Insert("X", None)]))
        b.push(lib.ContainerID.Root("t", lib.ContainerType.Text()),
               lib.Diff.Text([lib.TextDelta.Insert("Y", None)]))
        d.apply_diff(b)
        d.commit()
        got.append((d.get_deep_value(), d.get_container(c.id).to_string(),
                    d.oplog_vv.get_last(1)))
    assert got[1] == got[0]
    assert got[0][:2] == ({"m": {}, "t": "Y"}, "ab")


@pytest.mark.parametrize("keys", ["ba", "ab", "xkc", "cab", "pq"])
def test_apply_diff_writes_small_maps_keys_in_loros_order(keys):
    """apply_diff writes a map diff's keys in loro's order (its batch's map passed through
    another hash map; measured right for every map of 2-3 keys), so the new ops, and the
    ids of containers they create, are loro's."""
    got = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        m = d.get_map("m")
        d.commit()
        v0 = d.state_frontiers
        for k in keys:
            m.insert(k, 1)
        d.commit()
        f = d.fork_at(v0)
        f.peer_id = 7
        vv = f.oplog_vv
        f.apply_diff(d.diff(v0, d.state_frontiers))
        f.commit()
        js = f.export_json_updates(vv, f.oplog_vv)
        js = json.loads(js) if isinstance(js, str) else js
        got.append([o["content"]["key"] for c in js["changes"] for o in c["ops"]])
    assert got[1] == got[0]
