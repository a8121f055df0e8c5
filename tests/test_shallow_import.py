"""Shallow snapshots (ExportMode.ShallowSnapshot / StateOnly) imported into empty documents,
then edited and fed later updates, against loro 1.17.1: each library imports both
libraries' blobs and must end where loro ends (doc/shallow.pxi)."""
import json
import random
import re
import struct

import loro
import pytest

import loro_c
from loro_c import _codec
from loro_c.errors import LoroError, OutdatedVersionError


def fix_checksum(blob):
    blob[16:20] = struct.pack("<I", _codec.xxh32(bytes(blob[20:])))


def _vv(doc):
    return loro_c.VersionVector.decode(doc.oplog_vv.encode()).to_dict()


def _ids(f):
    return sorted((i.peer, i.counter) for i in loro_c.Frontiers.decode(f.encode()))


def _sv(doc):
    v = loro_c.VersionVector.decode(doc.shallow_since_vv.encode()).to_dict()
    return {p: c for p, c in v.items() if c > 0}


def _state(doc):
    return (doc.get_deep_value(), {p: c for p, c in _vv(doc).items()}, _ids(doc.oplog_frontiers),
            _ids(doc.state_frontiers), doc.is_shallow(), _sv(doc), _ids(doc.shallow_since_frontiers))


def _random_op(rng, doc):
    k = rng.randrange(10)
    t = doc.get_text("t")
    if k == 0 or len(t.to_string()) == 0:
        t.insert(rng.randint(0, len(t.to_string())), rng.choice(["ab", "x", "hello", "Z"]))
    elif k == 1:
        n = len(t.to_string())
        p = rng.randrange(n)
        t.delete(p, min(n - p, rng.randint(1, 3)))
    elif k == 2:
        n = len(t.to_string())
        a = rng.randrange(n)
        t.mark(a, min(n, a + rng.randint(1, 4)), "bold", True)
    elif k == 3:
        lst = doc.get_list("l")
        if len(lst) and rng.random() < 0.3:
            lst.delete(rng.randrange(len(lst)), 1)
        else:
            lst.insert(rng.randint(0, len(lst)), rng.randrange(100))
    elif k == 4:
        doc.get_map("m").insert(rng.choice("abc"), rng.randrange(100))
    elif k == 5:
        doc.get_counter("c").increment(rng.randint(1, 5))
    elif k == 6:
        doc.get_map("m").delete(rng.choice("abc"))
    elif k == 7:
        ml = doc.get_movable_list("ml")
        n = len(ml)
        r = rng.random()
        if n and r < 0.3:
            ml.mov(rng.randrange(n), rng.randrange(n))
        elif n and r < 0.5:
            ml.set(rng.randrange(n), rng.randrange(100))
        elif n and r < 0.6:
            ml.delete(rng.randrange(n), 1)
        else:
            ml.insert(rng.randint(0, n), rng.randrange(100))
    else:
        tree = doc.get_tree("tr")
        nodes = [n for n in tree.nodes() if not tree.is_node_deleted(n)]
        r = rng.random()
        if nodes and r < 0.3:
            target = rng.choice(nodes)
            parent = rng.choice(nodes + [None])
            try:
                tree.mov(target, parent)
            except BaseException:
                pass
        elif nodes and r < 0.4:
            tree.delete(rng.choice(nodes))
        elif nodes and r < 0.55:
            tree.get_meta(rng.choice(nodes)).insert("v", rng.randrange(10))
        else:
            tree.create(rng.choice(nodes + [None]) if nodes else None)
    doc.commit()


def _config(doc):
    pass


def _session(seed):
    rng = random.Random(seed)
    peers = []
    for i in range(3):
        d = loro.LoroDoc()
        d.peer_id = i + 1
        _config(d)
        peers.append(d)
    checkpoints = []
    for _ in range(rng.randint(2, 4)):
        for _ in range(rng.randint(1, 8)):
            _random_op(rng, rng.choice(peers))
        # a sync point: every later op depends on everything before it
        for a in peers:
            for b in peers:
                if a is not b:
                    b.import_(a.export(loro.ExportMode.Updates(b.oplog_vv)))
        checkpoints.append(peers[0].oplog_frontiers)
    return rng, peers, checkpoints


def _fr(lib, f):
    return lib.Frontiers.decode(f.encode())


def _vv_of(lib, v):
    return lib.VersionVector.decode(v.encode())


def _exports_match(rng, theirs, mine, versions):
    """A shallow loro_c document exports what the loro one (same blob, same updates)
    exports, as loro reads it; checkouts after the root and forks agree."""
    for f in rng.sample(versions, min(2, len(versions))):
        theirs.checkout(f)
        mine.checkout(_fr(loro_c, f))
        assert mine.get_deep_value() == theirs.get_deep_value()
        mine._check_invariants()
        theirs.checkout_to_latest()
        mine.checkout_to_latest()
    assert mine.get_deep_value() == theirs.get_deep_value()
    fork = mine.fork()
    assert fork.is_shallow() == theirs.is_shallow()
    assert fork.get_deep_value() == theirs.get_deep_value()
    modes = [(loro.ExportMode.Updates(loro.VersionVector()),
              loro_c.ExportMode.Updates(loro_c.VersionVector())),
             (loro.ExportMode.Snapshot(), loro_c.ExportMode.Snapshot())]
    if theirs.is_shallow():
        f = theirs.oplog_frontiers
        modes.append((loro.ExportMode.ShallowSnapshot(f),
                      loro_c.ExportMode.ShallowSnapshot(_fr(loro_c, f))))
        f = theirs.shallow_since_frontiers
        modes.append((loro.ExportMode.StateOnly(f), loro_c.ExportMode.StateOnly(_fr(loro_c, f))))
    if not theirs.is_shallow():
        # (rooted at the empty version: loro keeps its root state for later exports, loro_c
        # a whole history; their blobs list other empty roots)
        return
    for ml, mc in modes:
        a, b = loro.LoroDoc(), loro.LoroDoc()
        sa = a.import_(theirs.export(ml))
        sb = b.import_(mine.export(mc))
        assert _status(sa) == _status(sb)
        assert _state(a)[:5] == _state(b)[:5]
    j = theirs.export_json_updates(loro.VersionVector(), theirs.oplog_vv)
    jc = mine.export_json_updates(loro_c.VersionVector(), _vv_of(loro_c, theirs.oplog_vv))
    assert _json_ids(j) == _json_ids(jc)


def _status(st):
    """An ImportStatus as ({peer: span} applied, {peer: span} pending)."""
    def spans(r):
        return {} if r is None else {int(p): (int(a), int(b)) for p, a, b in
                                     re.findall(r"(\d+): \((\d+), (\d+)\)", str(r))}
    return spans(st.success), spans(st.pending)


def _json_ids(text):
    """The change ids of JSON updates, peers resolved (the peer table's order may differ)."""
    doc = json.loads(text)
    peers = doc.get("peers")
    out = []
    for c in doc["changes"]:
        ctr, idx = c["id"].split("@")
        out.append((int(peers[int(idx)]) if peers else int(idx), int(ctr)))
    return sorted(out)


def _loro_c_copy(doc):
    c = loro_c.LoroDoc()
    c.import_(doc.export(loro.ExportMode.Updates(loro.VersionVector())))
    return c


def _mode(lib, state_only, f):
    fr = lib.Frontiers.decode(f.encode())
    return lib.ExportMode.StateOnly(fr) if state_only else lib.ExportMode.ShallowSnapshot(fr)


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("SHALLOW_SEEDS", "150"))))
def test_random_shallow_sessions(seed):
    rng, peers, checkpoints = _session(seed)
    f = rng.choice(checkpoints)
    state_only = rng.random() < 0.3
    src = peers[0]
    src_c = _loro_c_copy(src)
    blobs = [src.export(_mode(loro, state_only, f)), src_c.export(_mode(loro_c, state_only, f))]
    start_vv = src.oplog_vv
    docs = []
    for blob in blobs:
        pair = []
        for lib in (loro, loro_c):
            d = lib.LoroDoc()
            st = d.import_(blob)
            assert d.is_shallow() == pair[0].is_shallow() if pair else True
            pair.append(d)
        assert _state(pair[1]) == _state(pair[0])
        docs.append(pair)
    # the full peers go on concurrently (all of it after the shallow root)
    for _ in range(rng.randint(3, 15)):
        _random_op(rng, rng.choice(peers))
    updates = [p.export(loro.ExportMode.Updates(start_vv)) for p in peers]
    deliveries = updates + [rng.choice(updates) for _ in range(2)]
    rng.shuffle(deliveries)
    versions = [[] for _ in docs]
    for k, pair in enumerate(docs):
        for blob in deliveries:
            for d in pair:
                d.import_(blob)
            assert _state(pair[1]) == _state(pair[0])
            versions[k].append(pair[0].oplog_frontiers)
        # local edits, then exports that loro imports to the same state
        for d in pair:
            d.peer_id = 77
            d.get_text("t").insert(0, "local")
            d.get_map("m").insert("z", 5)
            d.commit()
        assert _state(pair[1]) == _state(pair[0])
        pair[1]._check_invariants()
        _exports_match(rng, pair[0], pair[1], versions[docs.index(pair)])
        # updates after the shallow root reach a full peer
        full = loro.LoroDoc()
        full.import_(peers[0].export(loro.ExportMode.Snapshot()))
        for p in peers[1:]:
            full.import_(p.export(loro.ExportMode.Updates(full.oplog_vv)))
        full.import_(pair[1].export(loro_c.ExportMode.Updates(
            loro_c.VersionVector.decode(full.oplog_vv.encode()))))
        ref = loro.LoroDoc()
        ref.import_(full.export(loro.ExportMode.Snapshot()))
        ref.import_(pair[0].export(loro.ExportMode.Updates(loro.VersionVector())))
        assert full.get_deep_value() == ref.get_deep_value()


def _simple(lib):
    a = lib.LoroDoc()
    a.peer_id = 1
    t = a.get_text("t")
    t.insert(0, "hello")
    a.commit()
    c = lib.LoroDoc()
    c.peer_id = 3
    c.import_(a.export(lib.ExportMode.Snapshot()))
    t.insert(5, " world")
    a.commit()
    return a, c


def test_outdated_updates_and_versions_before_the_root():
    for lib in (loro, loro_c):
        a, c = _simple(lib)
        s = a.export(lib.ExportMode.ShallowSnapshot(a.oplog_frontiers))
        d = loro_c.LoroDoc()
        d.import_(s)
        assert d.is_shallow()
        assert d.shallow_since_vv.to_dict() == {1: 10}
        c.get_text("t").insert(0, "C")
        c.commit()
        blob = c.export(lib.ExportMode.Updates(a.oplog_vv))
        before = _state(d)
        with pytest.raises(OutdatedVersionError):
            d.import_(blob)
        assert _state(d) == before
        with pytest.raises(LoroError):
            d.checkout(loro_c.Frontiers.from_id(loro_c.ID(1, 2)))
        with pytest.raises(LoroError):
            d.checkout(loro_c.Frontiers())
        with pytest.raises(LoroError, match="fork_at on shallow docs"):
            d.fork_at(d.oplog_frontiers)
        with pytest.raises(LoroError, match="not found"):
            d.export(loro_c.ExportMode.ShallowSnapshot(loro_c.Frontiers.from_id(loro_c.ID(1, 2))))
        # the trimmed ops are in no export (loro's blob holds none either)
        old = d.export(loro_c.ExportMode.UpdatesInRange([loro_c.IdSpan(1, loro_c.CounterSpan(0, 3))]))
        probe = loro.LoroDoc()
        assert _status(probe.import_(old)) == ({}, {})
        assert _state(d) == before
        # loro applies the rest of a mixed import, then reports the outdated part
        a.get_text("t").insert(0, "A")
        a.commit()
        mixed = lib.LoroDoc()
        mixed.import_(a.export(lib.ExportMode.Snapshot()))
        mixed.import_(c.export(lib.ExportMode.Snapshot()))
        with pytest.raises(OutdatedVersionError):
            d.import_(mixed.export(lib.ExportMode.Updates(
                lib.VersionVector.decode(d.oplog_vv.encode()))))
        assert d.get_deep_value() == {"t": "Ahello world"}


def test_hostile_shallow_blobs():
    a, _ = _simple(loro)
    a.get_map("m").insert("k", 1)
    a.commit()
    s = a.export(loro.ExportMode.ShallowSnapshot(a.oplog_frontiers))
    rng = random.Random(5)
    for trial in range(300):
        bad = bytearray(s)
        if trial % 2:
            del bad[rng.randrange(22, len(bad)):]
        else:
            bad[rng.randrange(22, len(bad))] ^= 1 << rng.randrange(8)
        fix_checksum(bad)
        d = loro_c.LoroDoc()
        try:
            d.import_(bytes(bad))
        except LoroError:
            assert d.get_deep_value() == {}
            assert not d.is_shallow() and d.oplog_vv.to_dict() == {}
            continue
        d._check_invariants()


@pytest.mark.parametrize("seed", range(6))
def test_rejected_updates_leave_a_shallow_document_unchanged(seed):
    rng, peers, checkpoints = _session(seed + 1000)
    blob = peers[0].export(loro.ExportMode.ShallowSnapshot(peers[0].oplog_frontiers))
    start_vv = peers[0].oplog_vv
    for _ in range(12):
        _random_op(rng, rng.choice(peers))
    good = peers[1].export(loro.ExportMode.Updates(start_vv))
    d = loro_c.LoroDoc()
    d.import_(blob)
    before = _state(d)
    for trial in range(60):
        bad = bytearray(good)
        bad[rng.randrange(22, len(bad))] ^= 1 << rng.randrange(8)
        fix_checksum(bad)
        try:
            d.import_(bytes(bad))
        except LoroError:
            assert _state(d) == before
            d._check_invariants()
            continue
        # a flip that still decodes: start again from the snapshot
        d = loro_c.LoroDoc()
        d.import_(blob)
    d.import_(good)
    ref = loro.LoroDoc()
    ref.import_(blob)
    ref.import_(good)
    assert _state(d) == _state(ref)


def test_shallow_snapshot_into_documents_that_are_not_empty():
    a, _ = _simple(loro)
    s = a.export(loro.ExportMode.ShallowSnapshot(a.oplog_frontiers))
    for prepare in ("own", "full", "shallow"):
        docs = []
        for lib in (loro, loro_c):
            d = lib.LoroDoc()
            if prepare == "own":
                d.peer_id = 9
                d.get_text("x").insert(0, "q")
                d.commit()
            elif prepare == "full":
                d.import_(a.export(loro.ExportMode.Snapshot()))
            else:
                d.import_(s)
            st = d.import_(s)
            docs.append((d, _status(st)))
        assert docs[0][1] == docs[1][1]
        assert _state(docs[0][0]) == _state(docs[1][0])


def test_detached_and_subscribed_shallow_documents():
    rng, peers, checkpoints = _session(7)
    blob = peers[0].export(loro.ExportMode.ShallowSnapshot(peers[0].oplog_frontiers))
    start_vv = peers[0].oplog_vv
    for _ in range(10):
        _random_op(rng, rng.choice(peers))
    ups = [p.export(loro.ExportMode.Updates(start_vv)) for p in peers]
    docs = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.import_(blob)
        seen = []
        sub = d.subscribe_root(lambda e, seen=seen: seen.append(len(e.events)))
        d.checkout(d.oplog_frontiers)
        d.import_(ups[0])           # while detached: history only
        d.checkout_to_latest()
        for u in ups[1:]:
            d.import_(u)
        docs.append((d, seen, sub))
    assert _state(docs[0][0]) == _state(docs[1][0])
    docs[1][0]._check_invariants()
    assert len(docs[0][1]) == len(docs[1][1])


def _norm_event(e):
    """An event's diffs in a comparable form (text inserts of equal attributes joined,
    tree items as tuples, sorted by target)."""
    from _events_util import canonical, ncid, ndiff, nindex

    def tid(x):
        return None if x is None else (x.peer, x.counter)

    def idx(i):
        r = nindex(i)
        if r[0] == "N":
            return ("N", tuple(int(x) for x in re.findall(r"\d+", str(r[1]))[-2:]))
        return r

    def diff(df):
        name = type(df).__name__
        if "Tree" in name:
            items = df.diff if isinstance(df.diff, list) else df.diff.diff
            return ("Tree", [(tid(it.target), type(it.action).__name__.split("_")[-1].split(".")[-1],
                              tid(getattr(it.action, "parent", None)), getattr(it.action, "index", None),
                              str(getattr(it.action, "fractional_index", None))) for it in items])
        if "Text" in name:
            out = []
            for it in df.diff:
                k = type(it).__name__.split("_")[-1].split(".")[-1]
                row = (k, getattr(it, "insert", None), getattr(it, "retain", None),
                       getattr(it, "delete", None), sorted((getattr(it, "attributes", None) or {}).items()))
                if out and k == "Insert" and out[-1][0] == "Insert" and out[-1][4] == row[4]:
                    out[-1] = ("Insert", out[-1][1] + row[1], None, None, row[4])
                else:
                    out.append(row)
            return ("Text", out)
        kind, items = ndiff(df)
        return (kind, canonical(kind, items))

    return sorted(((ncid(c.target), [(ncid(p.container), idx(p.index)) for p in c.path], diff(c.diff))
                   for c in e.events), key=repr)


@pytest.mark.parametrize("seed", range(40))
def test_the_event_of_a_shallow_load_is_loros(seed):
    rng, peers, checkpoints = _session(seed)
    blob = peers[0].export(_mode(loro, False, rng.choice(checkpoints)))
    seen = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        got = []
        sub = d.subscribe_root(lambda e, got=got: got.append(_norm_event(e)))
        d.import_(blob)
        seen.append((got, d.is_shallow()))
        del sub
    if seen[0][1]:
        assert seen[0] == seen[1]


def test_undo_on_a_shallow_document():
    a = loro.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "hello")
    a.get_map("m").insert("k", 1)
    a.commit()
    s = a.export(loro.ExportMode.ShallowSnapshot(a.oplog_frontiers))
    runs = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.import_(s)
        d.peer_id = 7
        um = lib.UndoManager(d)
        d.get_text("t").insert(5, " world")
        d.commit()
        d.get_text("t").delete(0, 2)
        d.commit()
        d.get_map("m").insert("k", 2)
        d.commit()
        got = [(um.undo(), d.get_deep_value()) for _ in range(4)]
        got += [(um.redo(), d.get_deep_value()) for _ in range(2)]
        runs.append(got)
    assert runs[0] == runs[1]
