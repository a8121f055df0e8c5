"""Shallow snapshots (ExportMode.ShallowSnapshot / StateOnly) imported into empty documents,
then edited and fed later updates, against loro 1.17.1: each library imports both
libraries' blobs and must end where loro ends (doc/shallow.pxi)."""
import random
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


def _loro_c_copy(doc):
    c = loro_c.LoroDoc()
    c.import_(doc.export(loro.ExportMode.Updates(loro.VersionVector())))
    return c


def _mode(lib, state_only, f):
    fr = lib.Frontiers.decode(f.encode())
    return lib.ExportMode.StateOnly(fr) if state_only else lib.ExportMode.ShallowSnapshot(fr)


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("SHALLOW_SEEDS", "40"))))
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
    for pair in docs:
        for blob in deliveries:
            for d in pair:
                d.import_(blob)
            assert _state(pair[1]) == _state(pair[0])
        # local edits, then exports that loro imports to the same state
        for d in pair:
            d.peer_id = 77
            d.get_text("t").insert(0, "local")
            d.get_map("m").insert("z", 5)
            d.commit()
        assert _state(pair[1]) == _state(pair[0])
        pair[1]._check_invariants()
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
