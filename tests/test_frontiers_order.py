"""The order in which frontiers are listed, against loro.

loro keeps frontiers of two ids or more in a hash map (peer -> counter, FxHasher) and lists
them in that map's order: str(oplog_frontiers), str(state_frontiers), str() of a Frontiers
built by from_ids or decode, and the deps of a local change (a copy of the state's
frontiers), which the change block encodes in that order. The JSON export sorts a change's
deps by id. loro_c keeps frontiers sorted for its algorithms and shows them in loro's
order (doc/order.pxi)."""
import json
import random

import loro
import pytest

import loro_c

PEERS = [1, 2, 3, 5, 6, 7, 8, 9, 12, 100, 105, 1000, 77777, 2**40 + 3, 2**63 + 11]


def _json(m, d):
    j = d.export_json_updates(m.VersionVector(), d.oplog_vv)
    return json.loads(j) if isinstance(j, str) else j


def _deps_by_change(m, d):
    """Each change's JSON deps named by peer id, keyed by the change's id (the order of
    the changes themselves is not the subject here)."""
    j = _json(m, d)
    peers = j["peers"]
    out = {}
    for c in j["changes"]:
        ctr, idx = c["id"].split("@")
        deps = []
        for x in c["deps"]:
            dc, di = x.split("@")
            deps.append(f"{dc}@{peers[int(di)]}")
        out[f"{ctr}@{peers[int(idx)]}"] = deps
    return out


def _session(m, seed, steps=40, batch=True, checkouts=True):
    """A random session of several peers: local commits, imports of updates or snapshots
    in any order, import_batch, restarts from a snapshot, checkouts and attaches. Returns
    what each step shows and each document's exports."""
    rng = random.Random(seed)
    n = rng.randint(3, 6)
    pids = rng.sample(PEERS, n)
    docs = []
    for p in pids:
        d = m.LoroDoc()
        d.peer_id = p
        docs.append(d)
    saved = {}
    shown = []
    for step in range(steps):
        r = rng.random()
        i = rng.randrange(n)
        d = docs[i]
        if r < 0.4:
            if d.is_detached():
                d.attach()
            d.get_text("t").insert(0, chr(97 + step % 26))
            d.commit()
        elif r < 0.7:
            j = rng.randrange(n)
            if j != i:
                mode = rng.randrange(3)
                if mode == 0:
                    d.import_(docs[j].export(m.ExportMode.Updates(d.oplog_vv)))
                elif mode == 1:
                    d.import_(docs[j].export(m.ExportMode.Snapshot()))
                else:
                    d.import_(docs[j].export(m.ExportMode.Updates(m.VersionVector())))
        elif r < 0.8:
            js = rng.sample(range(n), rng.randint(1, n))
            if batch:
                d.import_batch([docs[j].export(m.ExportMode.Updates(m.VersionVector())) for j in js])
        elif r < 0.85:
            if batch:
                nd = m.LoroDoc()
                if rng.random() < 0.5:
                    nd.import_(d.export(m.ExportMode.Snapshot()))
                else:
                    nd.import_batch([d.export(m.ExportMode.Snapshot())]
                                    + [docs[j].export(m.ExportMode.Updates(m.VersionVector()))
                                       for j in range(n) if j != i])
                nd.peer_id = pids[i]
                docs[i] = d = nd
        elif r < 0.92:
            sv = saved.setdefault(i, [])
            sv.append(d.oplog_frontiers)
            if checkouts and len(sv) > 1:
                d.checkout(rng.choice(sv))
        else:
            if d.is_detached():
                d.attach()
        shown.append((step, i, str(d.oplog_frontiers), str(d.state_frontiers)))
    for d in docs:
        if d.is_detached():
            d.attach()
    exports = [(_deps_by_change(m, d), d.export(m.ExportMode.Updates(m.VersionVector())))
               for d in docs]
    return shown, exports


# -- worked examples -----------------------------------------------------------------------

def _two_peers(m):
    a = m.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "a")
    a.commit()
    k = m.LoroDoc()
    k.peer_id = 7
    k.get_text("t").insert(0, "x")
    k.commit()
    k.import_(a.export(m.ExportMode.Updates(k.oplog_vv)))
    return k


@pytest.mark.parametrize("m", [loro, loro_c])
def test_import_lists_frontiers_in_map_order(m):
    # loro's map of {7: 0, 1: 0} lists peer 7 first
    k = _two_peers(m)
    assert str(k.oplog_frontiers) == "Frontiers([0@7, 0@1])"
    assert str(k.state_frontiers) == "Frontiers([0@7, 0@1])"
    if m is loro_c:
        # loro_c compares frontiers as sets of ids, whatever the order shown
        assert k.oplog_frontiers == m.Frontiers.from_ids([m.ID(1, 0), m.ID(7, 0)])


@pytest.mark.parametrize("m", [loro, loro_c])
def test_json_deps_are_sorted_by_id(m):
    k = _two_peers(m)
    k.get_text("t").insert(0, "y")
    k.commit()
    j = _json(m, k)
    assert j["peers"] == ["7", "1"]
    # the change of peer 7 depends on 0@1 and 0@7, written sorted by id: 0@1 (index 1) first
    assert [c["deps"] for c in j["changes"]][-1] == ["0@1", "0@0"]


def test_from_ids_and_decode_list_in_map_order():
    ids = [(5, 1), (3, 1), (1, 1), (2, 1), (9, 1), (100, 1), (7, 1)]
    a = loro.Frontiers.from_ids([loro.ID(p, c) for p, c in ids])
    b = loro_c.Frontiers.from_ids([loro_c.ID(p, c) for p, c in ids])
    assert str(a) == str(b) == "Frontiers([1@9, 1@7, 1@5, 1@1, 1@3, 1@100, 1@2])"
    # decode inserts the ids sorted (as encoded): another map, another order
    assert str(loro.Frontiers.decode(a.encode())) == str(loro_c.Frontiers.decode(b.encode())) \
        == "Frontiers([1@9, 1@7, 1@3, 1@1, 1@5, 1@100, 1@2])"
    # iteration stays sorted (loro_c's own API; loro's Frontiers is not iterable)
    assert [(i.peer, i.counter) for i in b] == sorted(ids)


def test_from_ids_random_against_loro():
    rng = random.Random(5)
    for _ in range(500):
        ps = rng.sample(PEERS + [rng.randrange(2**64) for _ in range(3)], rng.randint(2, 12))
        ids = [(p, rng.randrange(5)) for p in ps]
        a = loro.Frontiers.from_ids([loro.ID(*x) for x in ids])
        b = loro_c.Frontiers.from_ids([loro_c.ID(*x) for x in ids])
        assert str(a) == str(b), ids
        assert str(loro.Frontiers.decode(a.encode())) == str(loro_c.Frontiers.decode(b.encode())), ids


def _peers_with_one_commit(m, peer_ids):
    """A document per peer, each with one commit of its own."""
    docs = []
    for p in peer_ids:
        d = m.LoroDoc()
        d.peer_id = p
        d.get_text("t").insert(0, str(p))
        d.commit()
        docs.append(d)
    return docs


def _three_peers_then_commit(m):
    docs = _peers_with_one_commit(m, (3, 100, 1000))
    k = docs[0]
    k.import_(docs[2].export(m.ExportMode.Snapshot()))
    k.import_(docs[1].export(m.ExportMode.Snapshot()))
    shown = str(k.oplog_frontiers)
    k.get_text("t").insert(0, "z")
    k.commit()
    return shown, k.export(m.ExportMode.Updates(m.VersionVector()))


def test_local_change_deps_encoded_in_map_order():
    # the change's deps (three peers) are written to its block in loro's map order
    a_shown, a_bytes = _three_peers_then_commit(loro)
    b_shown, b_bytes = _three_peers_then_commit(loro_c)
    assert a_shown == b_shown
    assert a_bytes == b_bytes


def test_checkout_lists_state_frontiers_as_loro():
    def run(m):
        docs = _peers_with_one_commit(m, (2, 8, 100, 1000))
        k = docs[0]
        for d in docs[1:]:
            k.import_(d.export(m.ExportMode.Updates(m.VersionVector())))
        full = k.oplog_frontiers
        k.get_text("t").insert(0, "q")
        k.commit()
        out = [str(full)]
        k.checkout(full)
        out.append(str(k.state_frontiers))
        k.checkout(m.Frontiers.from_ids([m.ID(1000, 0), m.ID(8, 0), m.ID(100, 0)]))
        out.append(str(k.state_frontiers))
        k.detach()
        out.append(str(k.state_frontiers))
        k.attach()
        out.append(str(k.state_frontiers))
        return out
    assert run(loro) == run(loro_c)


# -- random sessions -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_random_sessions_show_frontiers_as_loro(seed):
    a_shown, a_exports = _session(loro, seed)
    b_shown, b_exports = _session(loro_c, seed)
    assert a_shown == b_shown
    assert [e[0] for e in a_exports] == [e[0] for e in b_exports]


@pytest.mark.parametrize("seed", range(40))
def test_random_sessions_encode_deps_as_loro(seed):
    # (without import_batch and restarts: see the module's note on blocks kept as read)
    a_shown, a_exports = _session(loro, seed, batch=False)
    b_shown, b_exports = _session(loro_c, seed, batch=False)
    assert a_shown == b_shown
    assert [e[1] for e in a_exports] == [e[1] for e in b_exports]
