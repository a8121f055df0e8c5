"""A snapshot export keeps each container's encoded state entry and re-encodes only the
containers whose state changed since (as loro keeps its store's encoded states). The bytes
must be exactly those of an export that encodes every container afresh
(`_snapshot_uncached`), after any kind of change: local ops of every kind, imports
(concurrent ones move the tracker over other containers), checkouts, detach/attach, undo,
revert_to, apply_diff, and imports rejected halfway (rolled back). `_check_invariants`
compares every kept entry with a fresh encoding."""
import json
import random

import loro
import pytest

import loro_c as L

ALPHA = "abcdefgh éü中😀\n"


def _str(rng):
    return "".join(rng.choice(ALPHA) for _ in range(rng.choice((1, 1, 2, 3, 8))))


def _val(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randint(-1000, 1000)
    if r < 0.4:
        return None
    if r < 0.5:
        return rng.random() < 0.5
    if r < 0.55:
        return [1, "x", {"k": None}]
    return _str(rng)


def _edit(rng, doc, pool):
    """One random local edit: text (with marks), list, map, counter, movable list, tree
    (meta maps too), or a child container made earlier (maybe deleted since)."""
    r = rng.random()
    try:
        if r < 0.18:
            t = doc.get_text(rng.choice(("t", "u")))
            n = t.len_unicode
            q = rng.random()
            if n and q < 0.3:
                p = rng.randrange(n)
                t.delete(p, rng.randint(1, min(4, n - p)))
            elif n and q < 0.45:
                a = rng.randrange(n)
                b = rng.randint(a + 1, min(n, a + 5))
                key = rng.choice(("bold", "link"))
                if rng.random() < 0.2:
                    t.unmark(a, b, key)
                else:
                    t.mark(a, b, key, True if key == "bold" else _str(rng))
            else:
                t.insert(rng.randint(0, n), _str(rng))
        elif r < 0.32:
            lst = doc.get_list("l")
            n = len(lst)
            q = rng.random()
            if n and q < 0.3:
                p = rng.randrange(n)
                lst.delete(p, rng.randint(1, min(3, n - p)))
            elif q < 0.45:
                kind = rng.choice((L.LoroMap, L.LoroText, L.LoroList, L.LoroCounter))
                pool.append(lst.insert_container(rng.randint(0, n), kind()))
            else:
                lst.insert(rng.randint(0, n), _val(rng))
        elif r < 0.48:
            m = doc.get_map("m")
            key = rng.choice("abcdef")
            q = rng.random()
            if q < 0.2 and m.get(key) is not None:
                m.delete(key)
            elif q < 0.4:
                kind = rng.choice((L.LoroMap, L.LoroText, L.LoroList, L.LoroCounter,
                                   L.LoroMovableList))
                pool.append(m.insert_container(key, kind()))
            else:
                m.insert(key, _val(rng))
        elif r < 0.55:
            doc.get_counter("c").increment(rng.choice((1, 2, -3)))
        elif r < 0.68:
            ml = doc.get_movable_list("ml")
            n = len(ml)
            q = rng.random()
            if n and q < 0.2:
                p = rng.randrange(n)
                ml.delete(p, rng.randint(1, min(2, n - p)))
            elif n >= 2 and q < 0.45:
                ml.mov(rng.randrange(n), rng.randrange(n))
            elif n and q < 0.65:
                ml.set(rng.randrange(n), _val(rng))
            elif q < 0.72:
                pool.append(ml.insert_container(rng.randint(0, n), L.LoroMap()))
            else:
                ml.insert(rng.randint(0, n), _val(rng))
        elif r < 0.84:
            tr = doc.get_tree("tr")
            nodes = [x for x in tr.nodes() if not tr.is_node_deleted(x)]
            q = rng.random()
            if nodes and q < 0.12:
                tr.delete(rng.choice(nodes))
            elif len(nodes) >= 2 and q < 0.35:
                a, b = rng.sample(nodes, 2)
                try:
                    tr.mov(a, b if rng.random() < 0.7 else None)
                except L.LoroError as e:
                    assert "ycle" in str(e)
            elif nodes and q < 0.6:
                tr.get_meta(rng.choice(nodes)).insert(rng.choice("ab"), _val(rng))
            else:
                tr.create(rng.choice(nodes) if nodes and rng.random() < 0.6 else None)
        elif pool:
            c = rng.choice(pool)
            if isinstance(c, L.LoroMap):
                c.insert(rng.choice("xy"), _val(rng))
            elif isinstance(c, L.LoroText):
                c.insert(0, _str(rng))
            elif isinstance(c, (L.LoroList, L.LoroMovableList)):
                c.insert(0, _val(rng))
            elif isinstance(c, L.LoroCounter):
                c.increment(1)
    except L.ContainerDeletedError:
        pass


def _bad_update(src, receiver):
    """JSON: a change of a fresh peer on top of both documents that edits several
    containers, then inserts past the end of a text (rejected after the valid ops applied),
    with src's changes the receiver lacks."""
    p = L.LoroDoc()
    p.peer_id = 4242
    p.import_(src.export(L.ExportMode.Updates(L.VersionVector())))
    p.import_(receiver.export(L.ExportMode.Updates(L.VersionVector())))
    p.get_text("t").insert(0, "valid")
    p.get_map("m").insert("a", "from 4242")
    p.get_counter("c").increment(5)
    p.get_list("l").insert(0, "x")
    t = p.get_text("t")
    t.insert(t.len_unicode, "!")
    p.commit()
    upd = json.loads(p.export_json_updates(receiver.oplog_vv, p.oplog_vv))
    upd["changes"][-1]["ops"][-1]["content"]["pos"] = 1_000_000
    return json.dumps(upd)


def _check(doc, unchanged_since=None):
    """The export (kept entries) equals the export encoding every container afresh; loro
    reads it as this document. `unchanged_since`: the export before a rejected import,
    which both must still give (the undone import joins the runs its inserts split)."""
    if doc.is_detached():
        return
    doc.commit()
    warm = doc.export(L.ExportMode.Snapshot())
    doc._check_invariants()     # (its snapshot entries check, the text backing's too)
    if unchanged_since is not None:
        assert warm == unchanged_since
        assert doc._snapshot_uncached() == unchanged_since
    else:
        assert warm == doc._snapshot_uncached()
    r = loro.LoroDoc()
    r.import_(warm)
    assert r.get_deep_value() == doc.get_deep_value()


def _session(seed, steps):
    rng = random.Random(seed)
    docs = []
    for i in range(3):
        d = L.LoroDoc()
        d.peer_id = 100 + i
        docs.append(d)
    pools = [[] for _ in docs]
    undos = [L.UndoManager(d) for d in docs]
    versions = [[] for _ in docs]
    for _ in range(steps):
        i = rng.randrange(3)
        d = docs[i]
        r = rng.random()
        unchanged = None
        if r < 0.45:
            if d.is_detached():
                d.checkout_to_latest()
            for _ in range(rng.randint(1, 5)):
                _edit(rng, d, pools[i])
            d.commit()
            versions[i].append(d.oplog_frontiers)
        elif r < 0.62:
            src = docs[(i + rng.randint(1, 2)) % 3]
            if rng.random() < 0.5:
                d.import_(src.export(L.ExportMode.Updates(d.oplog_vv)))
            else:
                d.import_(src.export(L.ExportMode.Snapshot()))
        elif r < 0.68 and versions[i]:
            d.checkout(rng.choice(versions[i]))
            if rng.random() < 0.5:
                d.checkout_to_latest()
        elif r < 0.71:
            d.detach()
            src = docs[(i + rng.randint(1, 2)) % 3]
            d.import_(src.export(L.ExportMode.Updates(d.oplog_vv)))
            if rng.random() < 0.6:
                d.attach()
        elif r < 0.77:
            d.attach()
            (undos[i].undo if rng.random() < 0.7 else undos[i].redo)()
        elif r < 0.81 and versions[i]:
            d.attach()
            d.revert_to(rng.choice(versions[i]))
        elif r < 0.85:
            d.attach()
            if versions[i]:
                # the diff from here back to an earlier version (what revert_to applies)
                d.commit()
                d.apply_diff(d.diff(d.oplog_frontiers, rng.choice(versions[i])))
        elif r < 0.90:
            if not d.is_detached():
                d.commit()
                before = d.export(L.ExportMode.Snapshot())
            with pytest.raises(L.LoroError):
                d.import_json_updates(_bad_update(docs[(i + 1) % 3], d))
            unchanged = None if d.is_detached() else before
        elif r < 0.93:
            f = L.LoroDoc()
            f.import_(d.export(L.ExportMode.Snapshot()))
            f.peer_id = 777
            _edit(rng, f, [])
            f.get_map("m").insert("loaded", rng.random())
            _check(f)
        if rng.random() < 0.6:
            _check(d, unchanged)
    for d in docs:
        d.attach()
        _check(d)


# (45, 93: a rejected import split a run that a fresh encoding showed)
@pytest.mark.parametrize("seed", list(range(30)) + [45, 93])
def test_random_sessions_export_what_a_fresh_encoding_exports(seed):
    _session(seed, 60)


def _tree_doc():
    d = L.LoroDoc()
    d.peer_id = 1
    tr = d.get_tree("tree")
    nodes = []
    for i in range(30):
        n = tr.create(nodes[i // 3] if i % 3 and nodes else None)
        nodes.append(n)
        if i % 2:
            tr.get_meta(n).insert("name", i)
    d.get_text("t").insert(0, "hello")
    d.get_map("m").insert("k", 0)
    d.commit()
    return d, nodes


def test_only_the_changed_container_is_encoded_again():
    d, nodes = _tree_doc()
    d.export(L.ExportMode.Snapshot())
    kept = d._snapshot_kept()
    assert len(kept) == 15 + 3       # the meta maps written, the tree, the text, the map
    d.get_map("m").insert("k", 1)
    assert set(d._snapshot_kept()) == set(kept) - {"cid:root-m:Map"}
    d.get_tree("tree").get_meta(nodes[1]).insert("name", "x")
    blob = d.export(L.ExportMode.Snapshot())
    assert set(d._snapshot_kept()) == set(kept)
    assert blob == d._snapshot_uncached()
    d._check_invariants()
    assert d._check_snapshot_entries()


def test_the_fresh_encoding_is_not_the_kept_export():
    """`_snapshot_uncached` encodes again even when nothing changed (were it to hand back
    the kept bytes, the checks above would compare an export with itself)."""
    d, nodes = _tree_doc()
    warm = d.export(L.ExportMode.Snapshot())
    assert d.export(L.ExportMode.Snapshot()) is warm
    fresh = d._snapshot_uncached()
    assert fresh is not warm and fresh == warm
    d.checkout(d.oplog_frontiers)
    d.checkout_to_latest()
    again = d._snapshot_uncached()
    assert again is not warm and again == warm


@pytest.mark.parametrize("change", ["checkout", "detach_import_attach", "undo", "revert",
                                    "concurrent_import", "rejected_import", "apply_diff",
                                    "tree_move"])
def test_each_change_gives_the_fresh_bytes(change):
    d, nodes = _tree_doc()
    v0 = d.oplog_frontiers
    o = L.LoroDoc()
    o.peer_id = 2
    o.import_(d.export(L.ExportMode.Snapshot()))
    undo = L.UndoManager(d)
    d.get_text("t").insert(5, " world")
    d.get_tree("tree").mov(nodes[4], nodes[0])
    d.commit()
    d.export(L.ExportMode.Snapshot())
    o.get_text("t").insert(0, ">> ")
    o.get_tree("tree").delete(nodes[3])
    o.commit()
    if change == "checkout":
        d.checkout(v0)
        d.checkout_to_latest()
    elif change == "detach_import_attach":
        d.detach()
        d.import_(o.export(L.ExportMode.Updates(d.oplog_vv)))
        d.attach()
    elif change == "undo":
        undo.undo()
    elif change == "revert":
        d.revert_to(v0)
    elif change == "concurrent_import":
        d.import_(o.export(L.ExportMode.Updates(d.oplog_vv)))
    elif change == "rejected_import":
        before = d._snapshot_kept()
        with pytest.raises(L.LoroError):
            d.import_json_updates(_bad_update(o, d))
        assert d._snapshot_kept() == []     # (an undone import keeps no entry)
        assert before
    elif change == "apply_diff":
        d.apply_diff(d.diff(d.oplog_frontiers, v0))
    else:
        d.get_tree("tree").mov(nodes[7], None)
    _check(d)
    # and once more after a further edit (entries kept by the export above)
    d.get_text("t").insert(0, "!")
    _check(d)
