"""The order of loro's hash map of the log's version, against loro 1.17.1.

loro keeps the log's version in a hash map (peer -> end counter, FxHasher, hashbrown) and
lists it in that map's order: str(oplog_vv), the "vv" entry of a snapshot, and the order in
which a JSON export lists changes of equal Lamport. loro_c models the map
(LoroDoc._vv_map_order, doc/history.pxi). Two rules pinned here:

- every local op updates the map, not once per change, and an update of a key the map holds
  reserves a slot first: the second op of a new peer's first change grows a full map;
- a snapshot load makes the map with room for all the peers its "vv" entry lists, then fills
  it in that order, so peers that collide come out the other way round; an unchanged loaded
  document's snapshot then writes its "vv" entry in the new order (not the loaded bytes).
"""
import json
import random
import re

import loro
import pytest

import loro_c


def _loro_order(doc):
    return [int(x) for x in re.findall(r"(\d+):", str(doc.oplog_vv))]


def _order(mod, doc):
    return _loro_order(doc) if mod is loro else doc._vv_map_order()


def _first_changes(mod, peers, into):
    for p in peers:
        s = mod.LoroDoc()
        s.peer_id = p
        s.get_text("t").insert(0, "x")
        s.commit()
        into.import_(s.export(mod.ExportMode.Updates(into.oplog_vv)))


def _json_lamport0_peers(mod, doc):
    j = json.loads(doc.export_json_updates(mod.VersionVector(), doc.oplog_vv))
    return [j["peers"][int(ch["id"].split("@")[1])] for ch in j["changes"] if ch["lamport"] == 0]


def _local_ops_session(mod, ops):
    """Peers 1 and 3 each make a first change; a document loaded from a snapshot of both
    then makes its own first change of `ops` ('c' a counter increment, 't' a text insert,
    '|' a commit in between)."""
    a = mod.LoroDoc()
    a.peer_id = 1
    c = mod.LoroDoc()
    c.peer_id = 3
    c.get_text("t").insert(0, "cz")
    c.get_map("m").delete("d")
    c.get_list("l").insert_container(0, mod.LoroText())
    c.commit()
    a.get_text("t").insert(0, "c a")
    a.commit()
    a.import_(c.export(mod.ExportMode.Updates(mod.VersionVector())))
    d = mod.LoroDoc()
    d.peer_id = 107
    d.import_(a.export(mod.ExportMode.Snapshot()))
    for op in ops:
        if op == "c":
            d.get_counter("c").increment(4)
        elif op == "t":
            d.get_text("t").insert(0, "ybb")
        else:
            d.commit()
    d.commit()
    return d


@pytest.mark.parametrize("ops", ["c", "t", "cc", "ct", "tt", "ccc", "c|c", "c|t", "cc|c"])
def test_every_local_op_updates_the_version_map(ops):
    """Late session 16790: the second op of the loaded document's first change found the
    map of three peers full and grew it, which lists peers 3 and 1 the other way round
    (loro_c noted an update only at a commit of a peer the map held)."""
    docs = [_local_ops_session(m, ops) for m in (loro, loro_c)]
    assert _order(loro_c, docs[1]) == _order(loro, docs[0])
    assert _json_lamport0_peers(loro_c, docs[1]) == _json_lamport0_peers(loro, docs[0])


@pytest.mark.parametrize("seed", range(40))
def test_a_snapshot_load_makes_the_version_map_with_room_for_all_its_peers(seed):
    """Peers whose first changes an importer took one by one, loaded from its snapshot:
    the loaded map, a JSON export's order of the changes, and new peers imported after."""
    rng = random.Random(seed)
    peers = rng.sample(range(1, 300), rng.randint(2, 12))
    extra = rng.sample(range(300, 400), rng.randint(0, 5))
    seen = []
    for mod in (loro, loro_c):
        src = mod.LoroDoc()
        src.peer_id = 999
        _first_changes(mod, peers, src)
        d = mod.LoroDoc()
        d.peer_id = 5
        d.import_(src.export(mod.ExportMode.Snapshot()))
        got = [_order(mod, d), _json_lamport0_peers(mod, d)]
        _first_changes(mod, extra, d)
        got += [_order(mod, d), _json_lamport0_peers(mod, d)]
        seen.append(got)
    assert seen[1] == seen[0]


@pytest.mark.parametrize("seed", range(30))
def test_snapshots_of_snapshots_write_the_loaded_maps_order(seed):
    """A document loaded from a snapshot and exported unchanged, loaded again and so on:
    each load may swap colliding peers, and each snapshot's "vv" entry follows (the second
    snapshot of late session 25875 listed peers 1, 2 as the first did; loro 2, 1)."""
    rng = random.Random(seed)
    peers = rng.sample(range(1, 60), rng.randint(2, 8))
    seen = []
    for mod in (loro, loro_c):
        doc = mod.LoroDoc()
        doc.peer_id = 99
        _first_changes(mod, peers, doc)
        orders, snaps = [_order(mod, doc)], []
        for _ in range(3):
            snaps.append(doc.export(mod.ExportMode.Snapshot()))
            doc = mod.LoroDoc()
            doc.import_(snaps[-1])
            orders.append(_order(mod, doc))
        seen.append((orders, snaps))
    assert seen[1][0] == seen[0][0]
    assert seen[1][1] == seen[0][1]


def test_the_colliding_pair_swaps_at_every_load():
    """Peers 1 and 2 share a bucket of a map of four: each load lists them the other way."""
    orders = []
    doc = loro_c.LoroDoc()
    _first_changes(loro_c, [2, 1], doc)
    for _ in range(4):
        orders.append(doc._vv_map_order())
        nxt = loro_c.LoroDoc()
        nxt.import_(doc.export(loro_c.ExportMode.Snapshot()))
        doc = nxt
    assert orders == [[1, 2], [2, 1], [1, 2], [2, 1]]
