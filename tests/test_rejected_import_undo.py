"""A rejected import is undone in place, without replaying the log.

A long-running document (several peers' concurrent history over Text, List, Map with
nested containers, and Counter; maybe pending changes, maybe an open transaction) imports a
JSON update holding every change it lacks plus one change whose ops start valid and end with
one that does not fit the document. The import applies the valid changes (moving the tracker
back and forth between concurrent versions, writing map entries and counters, creating
containers and peers), reaches the bad op and is rejected. The document must then be exactly
as before, its B-trees valid, with no full state rebuild (`state_rebuilds` stays 0) and no
arena growth across repeated rejections; the valid updates then import and equal `loro`.
"""
import json
import random

import loro
import pytest

import loro_c
from test_atomic_import import snapshot_of  # what a failed import must leave as it was

LIBS = (loro, loro_c)


def edit(seed, doc, n):
    """The same random edits in either library (the documents converge exactly)."""
    rng = random.Random(seed)
    t, lst, m = doc.get_text("t"), doc.get_list("l"), doc.get_map("m")
    for _ in range(n):
        r = rng.random()
        size = len(t.to_string())
        if r < 0.3:
            t.insert(rng.randint(0, size), rng.choice(["a", "bcd", "é", "😀x", "xyz\n"]))
        elif r < 0.4 and size > 0:
            i = rng.randrange(size)
            t.delete(i, min(size - i, rng.randint(1, 3)))
        elif r < 0.55:
            lst.insert(rng.randint(0, len(lst)), rng.randint(0, 99))
        elif r < 0.62 and len(lst) > 0:
            lst.delete(rng.randrange(len(lst)), 1)
        elif r < 0.72:
            m.insert(rng.choice("abcd"), rng.random())
        elif r < 0.77 and len(m.keys()) > 0:
            m.delete(rng.choice(sorted(m.keys())))
        elif r < 0.82:
            child = m.insert_container(rng.choice("xy"), loro_type(doc, "Map"))
            child.insert("k", rng.randint(0, 5))
        elif r < 0.87:
            sub = lst.insert_container(rng.randint(0, len(lst)), loro_type(doc, "Text"))
            sub.insert(0, "sub")
        else:
            doc.get_counter("c").increment(rng.choice([1, 0.5, -2.25]))  # exact sums: see README on float counters


def loro_type(doc, name):
    lib = loro_c if isinstance(doc, loro_c.LoroDoc) else loro
    return getattr(lib, "Loro" + name)()


class World:
    """Peers editing concurrently and syncing at random, in both libraries."""

    def __init__(self, seed):
        rng = random.Random(seed)
        self.n = rng.randint(2, 4)
        self.docs = {}
        for lib in LIBS:
            self.docs[lib] = []
            for i in range(self.n):
                d = lib.LoroDoc()
                d.peer_id = 10 + i
                self.docs[lib].append(d)
        for step in range(rng.randint(4, 10)):
            i = rng.randrange(self.n)
            k = rng.randint(1, 6)
            s = rng.randrange(1 << 30)
            j = rng.randrange(self.n)
            sync = rng.random() < 0.5 and j != i
            for lib in LIBS:
                edit(s, self.docs[lib][i], k)
                self.docs[lib][i].commit()
                if sync:
                    dst, src = self.docs[lib][j], self.docs[lib][i]
                    dst.import_(src.export(lib.ExportMode.Updates(dst.oplog_vv)))
        self.full = {}
        for lib in LIBS:
            f = lib.LoroDoc()
            for d in self.docs[lib]:
                f.import_(d.export(lib.ExportMode.Updates(lib.VersionVector())))
            self.full[lib] = f
        self.rng = rng


def remap_ids(change, index):
    """Rewrite the peer indices of a JSON change ("counter@index") through `index`."""
    def fix(s):
        c, p = s.split("@")
        return f"{c}@{index[int(p)]}"
    change["id"] = fix(change["id"])
    change["deps"] = [fix(d) for d in change["deps"]]
    for op in change["ops"]:
        if "start_id" in op["content"]:
            op["content"]["start_id"] = fix(op["content"]["start_id"])
    return change


def bad_update(world, receiver, rng):
    """JSON: every change `receiver` lacks, then peer 99's change that starts with valid
    edits on top of the receiver's version and ends with an op past the end."""
    full = world.full[loro_c]
    upd = json.loads(full.export_json_updates(receiver.oplog_vv, full.oplog_vv))
    p = loro_c.LoroDoc()
    p.peer_id = 99
    p.import_(receiver.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    p.get_text("t").insert(0, "valid")
    p.get_map("m").insert("a", "from 99")
    p.get_map("m").insert("new key", 1)
    p.get_counter("c").increment(0.3)
    p.get_list("l").insert(0, "x")
    t = p.get_text("t")
    kind = rng.choice(["insert", "delete"])
    if kind == "insert":
        t.insert(len(t.to_string()), "!")
    else:
        t.delete(0, 1)
    p.commit()
    mine = json.loads(p.export_json_updates(receiver.oplog_vv, p.oplog_vv))
    (change,) = mine["changes"]
    last = change["ops"][-1]["content"]
    last["pos"] = 1_000_000
    return with_change_inserted(upd, mine, rng)


def with_change_inserted(upd, mine, rng):
    """JSON: the changes of `upd` with the one change of `mine` (JSON updates of their own)
    at a random place, its peer indices remapped into `upd`'s peers."""
    peers = upd["peers"]
    index = []
    for peer in mine["peers"]:
        if peer not in peers:
            peers.append(peer)
        index.append(peers.index(peer))
    (change,) = mine["changes"]
    upd["changes"].insert(rng.randint(0, len(upd["changes"])), remap_ids(change, index))
    return json.dumps(upd)


def receiver_in_state(world, lib, rng_seed):
    """Peer 0's document, maybe with a pending change and an open transaction."""
    rng = random.Random(rng_seed)
    r = lib.LoroDoc()
    r.import_(world.docs[lib][0].export(lib.ExportMode.Updates(lib.VersionVector())))
    r.peer_id = 10
    if rng.random() < 0.5:
        # a change of a peer that depends on history r lacks stays pending
        src = world.docs[lib][world.n - 1]
        extra = lib.LoroDoc()
        extra.import_(world.full[lib].export(lib.ExportMode.Updates(lib.VersionVector())))
        extra.peer_id = 77
        extra.get_text("t").insert(0, "late")
        extra.commit()
        r.import_(extra.export(lib.ExportMode.Updates(world.full[lib].oplog_vv)))
        del src
    if rng.random() < 0.5:
        r.get_list("l").insert(0, "open txn")
    return r


@pytest.mark.parametrize("seed", range(40))
def test_rejected_import_is_undone_in_place(seed):
    world = World(seed)
    rng = random.Random(seed)
    b = receiver_in_state(world, loro_c, seed)
    bad = bad_update(world, b, rng)
    before = snapshot_of(b)
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(bad)
    assert snapshot_of(b) == before
    b._check_invariants()
    assert b._stats()["state_rebuilds"] == 0
    assert b._stats()["import_unapplies"] == 1
    # the same rejection again and again grows nothing
    after_one = b._stats()
    for _ in range(4):
        with pytest.raises(loro_c.LoroError):
            b.import_json_updates(bad)
    grown = b._stats()
    assert grown.pop("import_unapplies") == 5
    after_one.pop("import_unapplies")
    # (a count of changes applied, not an arena: each attempt applies some of them again)
    grown.pop("deferred_changes")
    after_one.pop("deferred_changes")
    assert grown == after_one
    assert snapshot_of(b) == before
    # the valid updates import and the document equals loro's
    ref = receiver_in_state(world, loro, seed)
    for doc, lib in ((b, loro_c), (ref, loro)):
        doc.import_(world.full[lib].export(lib.ExportMode.Updates(doc.oplog_vv)))
        doc.get_text("t").insert(0, "after")
        doc.commit()
    assert b.get_deep_value() == ref.get_deep_value()
    b._check_invariants()


def test_rejected_change_after_its_own_valid_ops_restores_map_and_counter():
    """The change's first ops write a map key the document has, add a new key and change a
    float counter before the bad op: all of it is put back exactly (no float drift)."""
    a = loro_c.LoroDoc()
    a.peer_id = 1
    a.get_map("m").insert("a", 1)
    a.get_counter("c").increment(0.1)
    a.get_text("t").insert(0, "hello")
    a.commit()
    world_like = type("W", (), {})()
    world_like.full = {loro_c: a}
    b = loro_c.LoroDoc()
    b.import_(a.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    bad = bad_update(world_like, b, random.Random(3))
    value = b.get_deep_value()
    counter_before = b.get_counter("c").value
    with pytest.raises(loro_c.LoroError):
        b.import_json_updates(bad)
    assert b.get_deep_value() == value
    assert b.get_counter("c").value == counter_before
    assert b.get_map("m").get("new key") is None
    assert len(b.get_map("m")) == 1
    assert b._stats()["state_rebuilds"] == 0
    assert b._stats()["import_unapplies"] == 1
    b._check_invariants()


def test_rejection_in_a_long_history_does_not_touch_unrelated_containers():
    """Many containers and a long history: the rejected import only retreats its own ops."""
    d = loro_c.LoroDoc()
    d.peer_id = 5
    for i in range(200):
        d.get_text(f"t{i % 7}").insert(0, "ab")
        d.get_list("l").push(i)
        d.commit()
    stats = d._stats()
    before = snapshot_of(d)
    w = type("W", (), {})()
    other = loro_c.LoroDoc()
    other.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    other.peer_id = 6
    other.get_text("t3").insert(1, "concurrent")
    other.commit()
    w.full = {loro_c: other}
    bad = bad_update(w, d, random.Random(1))
    with pytest.raises(loro_c.LoroError):
        d.import_json_updates(bad)
    assert snapshot_of(d) == before
    assert d._stats()["state_rebuilds"] == 0
    assert d._stats()["import_unapplies"] == 1
    assert d._stats()["changes"] == stats["changes"]
    d._check_invariants()


def corrupt_random_seq_op(upd_json, rng):
    """Make one random Text/List op of the last change in `upd_json` point past the end."""
    upd = json.loads(upd_json)
    change = upd["changes"][-1]
    seq_ops = [op for op in change["ops"] if op["content"]["type"] in ("insert", "delete")
               and "pos" in op["content"]]
    op = rng.choice(seq_ops)
    op["content"]["pos"] = 10_000 + rng.randrange(1000)
    return json.dumps(upd)


@pytest.mark.parametrize("seed", range(12))
def test_long_running_server_rejects_and_accepts_in_turn(seed):
    """A server document takes a stream of updates from several clients: most valid (some
    late, some duplicated), some with a bad op somewhere in a change that also holds valid
    ops. After every step it equals loro's document that saw only the valid updates."""
    rng = random.Random(seed)
    clients = {lib: [] for lib in LIBS}
    for lib in LIBS:
        for i in range(3):
            c = lib.LoroDoc()
            c.peer_id = 100 + i
            clients[lib].append(c)
    server = {lib: lib.LoroDoc() for lib in LIBS}
    sent = []
    for step in range(30):
        i = rng.randrange(3)
        s = rng.randrange(1 << 30)
        k = rng.randint(1, 5)
        for lib in LIBS:
            c = clients[lib][i]
            c.import_(server[lib].export(lib.ExportMode.Updates(c.oplog_vv)))
            edit(s, c, k)
            c.commit()
        r = rng.random()
        if r < 0.25 and sent:
            # a late or duplicated delivery
            blobs = rng.choice(sent)
            for lib in LIBS:
                server[lib].import_(blobs[lib])
        elif r < 0.55:
            # client i sends a change with a bad op; the server rejects it as a whole
            probe = loro_c.LoroDoc()
            probe.import_(clients[loro_c][i].export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
            probe.peer_id = 200 + step
            edit(rng.randrange(1 << 30), probe, 4)
            probe.get_text("t").insert(0, "zz")
            probe.get_list("l").insert(0, 1)
            probe.commit()
            srv = server[loro_c]
            bad = corrupt_random_seq_op(
                probe.export_json_updates(srv.oplog_vv, probe.oplog_vv), rng)
            before = snapshot_of(srv)
            unapplies = srv._stats()["import_unapplies"]
            with pytest.raises(loro_c.LoroError):
                srv.import_json_updates(bad)
            assert snapshot_of(srv) == before
            assert srv._stats()["import_unapplies"] == unapplies + 1
            srv._check_invariants()
        blobs = {lib: clients[lib][i].export(lib.ExportMode.Updates(server[lib].oplog_vv))
                 for lib in LIBS}
        sent.append(blobs)
        if rng.random() < 0.8:
            for lib in LIBS:
                server[lib].import_(blobs[lib])
        assert server[loro_c].get_deep_value() == server[loro].get_deep_value()
    server[loro_c]._check_invariants()
    assert server[loro_c]._stats()["state_rebuilds"] == 0
