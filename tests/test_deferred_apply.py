"""An import nobody watches applies its changes' ops in a causal order of its own.

The log takes the changes by Lamport (Loro's order: it decides how changes are grouped),
but the state follows each branch as far as it goes (doc/deferred.pxi), so the tracker does
not walk back and forth between concurrent branches at every change. The state must not
show the difference: the same value as `loro`, the same snapshot as an import that applies
by Lamport (a subscribed document still does), and a rejected import, whose bad change
may be met anywhere in that order, undone in place.
"""
import json
import random

import loro
import pytest

import loro_c
from test_atomic_import import snapshot_of
from test_rejected_import_undo import with_change_inserted

LIBS = (loro, loro_c)


def sequence_edits(seed, doc, n, kinds=("text", "list", "map")):
    """The same random edits in either library; `kinds` picks the containers touched."""
    rng = random.Random(seed)
    t, lst, m = doc.get_text("t"), doc.get_list("l"), doc.get_map("m")
    for _ in range(n):
        kind = rng.choice(kinds)
        size = len(t.to_string())
        if kind == "text":
            if rng.random() < 0.7 or size == 0:
                t.insert(rng.randint(0, size), rng.choice(["a", "bcd", "é", "😀x", "xyz\n"]))
            else:
                i = rng.randrange(size)
                t.delete(i, min(size - i, rng.randint(1, 3)))
        elif kind == "list":
            if rng.random() < 0.7 or len(lst) == 0:
                lst.insert(rng.randint(0, len(lst)), rng.randint(0, 99))
            else:
                lst.delete(rng.randrange(len(lst)), 1)
        elif kind == "map":
            if rng.random() < 0.8 or len(m.keys()) == 0:
                m.insert(rng.choice("abcd"), rng.randint(0, 9))
            else:
                m.delete(rng.choice(sorted(m.keys())))
        elif kind == "counter":
            doc.get_counter("c").increment(rng.choice([1, 2, -3]))
        elif kind == "mark":
            if size > 1:
                i = rng.randrange(size - 1)
                t.mark(i, i + 1, "bold", True)
        elif kind == "movable":
            ml = doc.get_movable_list("ml")
            ml.insert(rng.randint(0, len(ml)), rng.randint(0, 9))
            if len(ml) > 1:
                ml.mov(rng.randrange(len(ml)), rng.randrange(len(ml)))
        elif kind == "nested":
            child = m.insert_container(rng.choice("xy"), loro_type(doc, "Text"))
            child.insert(0, "sub")


def loro_type(doc, name):
    lib = loro_c if isinstance(doc, loro_c.LoroDoc) else loro
    return getattr(lib, "Loro" + name)()


def configure(doc):
    lib = loro_c if isinstance(doc, loro_c.LoroDoc) else loro
    styles = lib.StyleConfigMap()
    styles.insert("bold", lib.ExpandType.After)
    doc.config_text_style(styles)


def replicas(seed, kinds, n_replicas=4, steps=40, sync_every=6):
    """Replicas edited as separate peers (new peer ids per session, as servers see), synced
    one random pair at a time: a history of concurrent branches. Returns each library's
    replicas."""
    rng = random.Random(seed)
    docs = {lib: [lib.LoroDoc() for _ in range(n_replicas)] for lib in LIBS}
    for lib in LIBS:
        for d in docs[lib]:
            configure(d)
    next_peer = 100
    for step in range(steps):
        i = rng.randrange(n_replicas)
        s = rng.randrange(1 << 30)
        k = rng.randint(1, 4)
        next_peer += 1
        pair = rng.sample(range(n_replicas), 2) if step % sync_every == sync_every - 1 else None
        for lib in LIBS:
            d = docs[lib][i]
            d.peer_id = next_peer
            sequence_edits(s, d, k, kinds)
            d.commit()
            if pair:
                a, b = pair
                docs[lib][b].import_(docs[lib][a].export(lib.ExportMode.Updates(docs[lib][b].oplog_vv)))
    return docs


def text_runs(doc):
    """The text's runs as (text, attributes), comparable across the libraries."""
    return [(d.insert, d.attributes) for d in doc.get_text("t").to_delta()]


def whole_history(lib, docs):
    """One blob with every change of the replicas (Loro's order of changes inside)."""
    merged = lib.LoroDoc()
    for d in docs:
        merged.import_(d.export(lib.ExportMode.Updates(lib.VersionVector())))
    return merged.export(lib.ExportMode.Updates(lib.VersionVector()))


KIND_SETS = {
    "sequences and maps": ("text", "list", "map"),
    "text only": ("text",),
    "with counters": ("text", "list", "counter"),
    "with marks": ("text", "mark", "map"),
    "with movable lists": ("text", "movable", "list"),
    "with child containers": ("text", "nested", "map"),
}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kinds", sorted(KIND_SETS))
def test_concurrent_history_in_one_import_equals_loro(kinds, seed):
    docs = replicas(seed, KIND_SETS[kinds])
    got = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        configure(d)
        d.import_(whole_history(lib, docs[lib]))
        got[lib] = d
    a, b = got[loro_c], got[loro]
    assert a.get_deep_value() == b.get_deep_value()
    assert text_runs(a) == text_runs(b)
    assert a.oplog_vv == loro_c.VersionVector.decode(b.oplog_vv.encode())
    a._check_invariants()
    # the log kept Loro's grouping: the same updates blob as loro's
    assert (a.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
            == b.export(loro.ExportMode.Updates(loro.VersionVector())))
    if kinds in ("sequences and maps", "text only"):
        assert a._stats()["deferred_changes"] > 0


@pytest.mark.parametrize("seed", range(12))
def test_the_queue_and_the_log_order_give_the_same_state(seed):
    """A subscribed document applies by Lamport (its journal follows the apply order): the
    same snapshot bytes, the same B-tree spans, as the unsubscribed one's queue."""
    docs = replicas(seed, KIND_SETS["sequences and maps"], steps=60)
    blob = whole_history(loro_c, docs[loro_c])
    quiet = loro_c.LoroDoc()
    quiet.import_(blob)
    watched = loro_c.LoroDoc()
    sub = watched.subscribe_root(lambda e: None)
    watched.import_(blob)
    assert quiet._stats()["deferred_changes"] > 0
    assert watched._stats()["deferred_changes"] == 0
    assert quiet.export(loro_c.ExportMode.Snapshot()) == watched.export(loro_c.ExportMode.Snapshot())
    assert text_runs(quiet) == text_runs(watched)
    # both keep working the same: local edits at the same positions, then a checkout
    for d in (quiet, watched):
        d.peer_id = 1
        d.get_text("t").insert(len(d.get_text("t").to_string()) // 2, "mid")
        d.get_list("l").insert(0, "first")
        d.commit()
        d.checkout(d.oplog_frontiers)
    assert quiet.get_deep_value() == watched.get_deep_value()
    assert quiet.export(loro_c.ExportMode.Snapshot()) == watched.export(loro_c.ExportMode.Snapshot())
    sub.unsubscribe()
    quiet._check_invariants()


def bad_text_change(receiver, rng):
    """JSON of peer 99's text-only change on top of `receiver`: valid inserts, then one
    past the end (queued like any text change, so met wherever the queue's order puts it)."""
    p = loro_c.LoroDoc()
    p.peer_id = 99
    p.import_(receiver.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    t = p.get_text("t")
    t.insert(0, "valid")
    t.insert(len(t.to_string()), "!")
    p.commit()
    mine = json.loads(p.export_json_updates(receiver.oplog_vv, p.oplog_vv))
    (change,) = mine["changes"]
    change["ops"][-1]["content"]["pos"] = 1_000_000 + rng.randrange(100)
    return mine


@pytest.mark.parametrize("seed", range(16))
def test_a_rejection_met_in_the_queue_is_undone_in_place(seed):
    """A server that has part of the history (maybe a pending change, an open transaction)
    imports the rest with a bad text change among it: it is rejected, the document is as
    before, without a rebuild, again and again; then the valid rest imports as loro's."""
    rng = random.Random(seed)
    docs = replicas(seed, KIND_SETS["sequences and maps"], steps=50)
    full = loro_c.LoroDoc()
    full.import_(whole_history(loro_c, docs[loro_c]))
    server = loro_c.LoroDoc()
    server.import_(docs[loro_c][0].export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    waiting = None
    if rng.random() < 0.5:
        # a change whose deps the server lacks waits
        extra = loro_c.LoroDoc()
        extra.import_(full.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        extra.peer_id = 77
        extra.get_text("t").insert(0, "late")
        extra.commit()
        waiting = extra.export(loro_c.ExportMode.Updates(full.oplog_vv))
        server.import_(waiting)
    server.peer_id = 5
    if rng.random() < 0.5:
        server.get_list("l").insert(0, "open txn")
    upd = json.loads(full.export_json_updates(server.oplog_vv, full.oplog_vv))
    bad = with_change_inserted(upd, bad_text_change(full, rng), rng)
    before = snapshot_of(server)
    stats = server._stats()
    for _ in range(3):
        with pytest.raises(loro_c.LoroError):
            server.import_json_updates(bad)
        assert snapshot_of(server) == before
        server._check_invariants()
    after = server._stats()
    assert after["state_rebuilds"] == stats["state_rebuilds"]
    assert after["import_unapplies"] == stats["import_unapplies"] + 3
    assert after["deferred_changes"] > stats["deferred_changes"]
    # the valid rest imports (the waiting change with it) and equals loro's document
    ref = loro.LoroDoc()
    ref.import_(server.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    ref.import_(full.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    if waiting is not None:
        ref.import_(waiting)
    server.import_(full.export(loro_c.ExportMode.Updates(server.oplog_vv)))
    assert server.get_deep_value() == ref.get_deep_value()
    server._check_invariants()


@pytest.mark.parametrize("seed", range(8))
def test_a_change_applied_at_once_flushes_the_queue_first(seed):
    """Counter changes apply at once (their sums follow the apply order): the queued
    changes before them apply first, so a counter change depending on queued text sees it,
    and a rejection after the flush is undone in place too."""
    docs = replicas(seed, ("text", "list", "counter"), steps=40)
    blob = {lib: whole_history(lib, docs[lib]) for lib in LIBS}
    got = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.import_(blob[lib])
        got[lib] = d
    assert got[loro_c].get_deep_value() == got[loro].get_deep_value()
    # a bad change after a queued part: the counter change of peer 98, then peer 99's bad one
    rng = random.Random(seed)
    server = loro_c.LoroDoc()
    server.import_(docs[loro_c][1].export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    full = got[loro_c]
    upd = json.loads(full.export_json_updates(server.oplog_vv, full.oplog_vv))
    bad = with_change_inserted(upd, bad_text_change(full, rng), rng)
    before = snapshot_of(server)
    with pytest.raises(loro_c.LoroError):
        server.import_json_updates(bad)
    assert snapshot_of(server) == before
    assert server._stats()["state_rebuilds"] == 0
    server._check_invariants()
    server.import_(full.export(loro_c.ExportMode.Updates(server.oplog_vv)))
    assert server.get_deep_value() == got[loro].get_deep_value()


def test_a_change_not_continuing_its_peer_is_rejected_from_the_queue():
    """A change whose deps do not hold its peer's previous op is refused wherever the
    queue meets it (loro refuses it too), and nothing of the import stays."""
    base = loro_c.LoroDoc()
    base.peer_id = 1
    base.get_text("t").insert(0, "base")
    base.commit()
    branches = []
    for peer in (2, 3, 4):
        d = loro_c.LoroDoc()
        d.import_(base.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        d.peer_id = peer
        for i in range(4):
            d.get_text("t").insert(i, str(peer))
            d.commit()
        branches.append(d)
    full = loro_c.LoroDoc()
    for d in branches:
        full.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    upd = json.loads(full.export_json_updates(base.oplog_vv, full.oplog_vv))
    peer1 = upd["peers"].index("1") if "1" in upd["peers"] else len(upd["peers"])
    if peer1 == len(upd["peers"]):
        upd["peers"].append("1")
    # peer 1's next change (counter 4) claims to depend on nothing, not on its own 3@1
    upd["changes"].append({
        "id": f"4@{peer1}", "timestamp": 0, "deps": [], "lamport": 0, "msg": None,
        "ops": [{"container": "cid:root-t:Text", "content": {"type": "insert", "pos": 0,
                                                            "text": "x"}, "counter": 4}]})
    server = loro_c.LoroDoc()
    server.import_(base.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    before = snapshot_of(server)
    with pytest.raises(loro_c.LoroError):
        server.import_json_updates(json.dumps(upd))
    assert snapshot_of(server) == before
    assert server._stats()["state_rebuilds"] == 0
    server._check_invariants()
    # (loro 1.17.1 takes such a change in; loro_c refuses it, see doc/integrate.pxi)
    server.import_(full.export(loro_c.ExportMode.Updates(server.oplog_vv)))
    assert server.get_text("t").to_string() == full.get_text("t").to_string()


def test_a_large_import_does_not_keep_its_queue():
    """The queue of a large import is freed once it applied (a server document keeps no
    memory for the largest import it ever took); a small one's stays for the next."""
    def branches(n):
        out = []
        for peer in (1, 2):
            d = loro_c.LoroDoc()
            d.peer_id = peer
            t = d.get_text("t")
            for i in range(n):
                t.insert(i, "ab"[peer - 1])
                d.set_next_commit_message(str(i))     # (one change per commit)
                d.commit()
            out.append(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        return out

    server = loro_c.LoroDoc()
    server.import_batch(branches(2600))
    stats = server._stats()
    assert stats["deferred_changes"] == 5200
    assert stats["deferred_slots"] == 0
    assert server.get_text("t").to_string() in ("a" * 2600 + "b" * 2600, "b" * 2600 + "a" * 2600)
    small = loro_c.LoroDoc()
    small.import_batch(branches(3))
    assert small._stats()["deferred_changes"] == 6
    assert small._stats()["deferred_slots"] > 0
