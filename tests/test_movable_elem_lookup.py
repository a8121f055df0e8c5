"""A MovableList move or set names its element by IdLp (creator peer, Lamport); loro_c finds
it in a C table over all the documents' elements (state/movable_list.pxi ml_elem_lookup),
kept whole as imports and local edits make elements, filled at the first look-up after a
snapshot load, emptied by a checkout's rebuild. loro's rule pinned here: a move or set
finds the element its IdLp names in whichever movable list holds it, however the document
got its elements (imports of many inserts, several lists and peers, a snapshot load
followed by more inserts, a checkout away and back), and the import's events are loro's."""
import random

import loro
import loro_c

from _events_util import nev
from test_snapshot_lazy_maps import _plain

MODS = (loro_c, loro)


def _base(mod, n=1500):
    """Peers 1 and 3 insert `n` items each at random places of lists a and b (the table
    grows many times), peer 1 in one commit per 100 items."""
    rng = random.Random(7)
    doc = mod.LoroDoc()
    for peer in (1, 3):
        doc.peer_id = peer
        for name in ("a", "b"):
            ml = doc.get_movable_list(name)
            for i in range(n // 2):
                ml.insert(rng.randint(0, len(ml)), peer * 100000 + i)
                if i % 100 == 99:
                    doc.commit()
            doc.commit()
    return doc


def _update(mod, blob, seed):
    """Peer 2's moves, sets, inserts and deletes on both lists, from `blob`'s version."""
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.import_(blob)
    doc.peer_id = 2
    vv = doc.oplog_vv
    for k in range(30):
        ml = doc.get_movable_list("ab"[k % 2])
        n = len(ml)
        op = k % 4
        if op == 0:
            ml.mov(rng.randrange(n), rng.randrange(n))
        elif op == 1:
            ml.set(rng.randrange(n), -k)
        elif op == 2:
            ml.insert(rng.randint(0, n), -k)
        else:
            ml.delete(rng.randrange(n), 1)
        if k % 10 == 9:
            doc.commit()
    doc.commit()
    return doc.export(mod.ExportMode.Updates(vv))


def _import_seen(mod, doc, blob):
    evs = []
    sub = doc.subscribe_root(lambda e: evs.append(nev(e)))
    doc.import_(blob)
    del sub
    return evs


def _both(run):
    got = [run(mod) for mod in MODS]
    assert got[0] == got[1]


def _updates_doc(mod):
    d = mod.LoroDoc()
    d.import_(_base(mod).export(mod.ExportMode.Updates(mod.VersionVector())))
    return d


def test_an_import_into_a_document_built_by_imports_moves_and_sets_loros_elements():
    def run(mod):
        blob = _base(mod).export(mod.ExportMode.Updates(mod.VersionVector()))
        out = []
        for seed in range(3):
            d = _updates_doc(mod)
            out.append((_import_seen(mod, d, _update(mod, blob, seed)), _plain(d.get_deep_value())))
        return out
    _both(run)


def test_an_import_after_a_snapshot_load_and_more_inserts_finds_every_element():
    def run(mod):
        snap = _base(mod).export(mod.ExportMode.Snapshot())
        later = mod.LoroDoc()
        later.import_(snap)
        later.peer_id = 4
        rng = random.Random(3)
        for name in ("a", "b"):
            ml = later.get_movable_list(name)
            for i in range(300):
                ml.insert(rng.randint(0, len(ml)), f"{name}{i}")
        later.commit()
        d = mod.LoroDoc()
        d.import_(snap)
        evs = _import_seen(mod, d, later.export(mod.ExportMode.Updates(d.oplog_vv)))
        evs += _import_seen(mod, d, _update(mod, d.export(mod.ExportMode.Snapshot()), 5))
        return evs, _plain(d.get_deep_value())
    _both(run)


def test_an_import_after_a_checkout_away_and_back_finds_every_element():
    def run(mod):
        d = _updates_doc(mod)
        blob = d.export(mod.ExportMode.Snapshot())
        frontiers = d.oplog_frontiers
        evs = []
        sub = d.subscribe_root(lambda e: evs.append(nev(e)))
        d.checkout(mod.Frontiers())
        d.checkout(frontiers)
        d.attach()
        del sub
        evs += _import_seen(mod, d, _update(mod, blob, 9))
        return evs, _plain(d.get_deep_value())
    _both(run)
