"""A text loaded from a snapshot, shown again by a checkout: loro decodes the text's state
from the one string the snapshot stores, so its whole value comes as one insert where an
import of the same history gives one per piece of the ops' storage; characters a checkout
brought back since come from their ops again (loro_c.state/text_backing.pxi). Every event
is compared with loro's item by item."""
import random

import loro
import pytest

import loro_c


def text_items(e):
    return [[(type(x).__name__.split("_")[-1], getattr(x, "insert", None), getattr(x, "retain", None),
              getattr(x, "delete", None)) for x in c.diff.diff]
            for c in e.events if "Text" in str(c.target)]


def history(mod):
    """Two peers typing into a text held by a list (each insert its own op)."""
    a = mod.LoroDoc()
    a.peer_id = 1
    b = mod.LoroDoc()
    b.peer_id = 2
    t = a.get_list("l").insert_container(0, mod.LoroText())
    t.insert(0, "ac😀")
    a.commit()
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_text(t.id).insert(1, "😀zax")
    b.commit()
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    return a, t.id


def loaded(mod, a, how):
    c = mod.LoroDoc()
    c.peer_id = 3
    snap = a.export(mod.ExportMode.Snapshot())
    if how == "updates":
        c.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    elif how == "subscribed":
        c.subscribe_root(lambda e: None)
        c.import_(snap)
    elif how == "batch":
        other = mod.LoroDoc()
        other.peer_id = 9
        other.import_(snap)
        other.get_text("x").insert(0, "q")
        other.commit()
        c.import_batch([snap, other.export(mod.ExportMode.Updates(a.oplog_vv))])
    elif how == "fork":
        c.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
        c = c.fork()
    elif how == "shallow":
        c.import_(a.export(mod.ExportMode.ShallowSnapshot(a.oplog_frontiers)))
    else:
        c.import_(snap)
    return c


def shown_again(mod, how, before):
    a, tid = history(mod)
    c = loaded(mod, a, how)
    at = c.oplog_frontiers
    before(mod, c, tid)
    if before is edit_then_mark:
        at = c.oplog_frontiers
    c.get_list("l").delete(0, 1)
    c.commit()
    got = []
    sub = c.subscribe_root(lambda e: got.append(text_items(e)))
    c.checkout(at)
    c.checkout_to_latest()
    c.checkout(at)
    del sub
    return got


def nothing(mod, c, tid):
    pass


def back_and_forth(mod, c, tid):
    # peer 2's insert leaves the state and comes back: from its op's bytes
    c.checkout(mod.Frontiers.from_id(mod.ID(1, 3)))
    c.checkout_to_latest()


def undelete(mod, c, tid):
    at = c.oplog_frontiers
    c.get_text(tid).delete(2, 2)
    c.commit()
    c.checkout(at)
    c.checkout_to_latest()


def edit_then_mark(mod, c, tid):
    c.get_text(tid).insert(3, "QQ")
    c.commit()


# (a shallow document cannot go back before its snapshot: back_and_forth is left out)
@pytest.mark.parametrize("how, before", [
    (how, before) for how in ["snapshot", "subscribed", "batch", "fork", "shallow", "updates"]
    for before in [nothing, back_and_forth, undelete, edit_then_mark]
    if (how, before) != ("shallow", back_and_forth)])
def test_a_text_loaded_from_a_snapshot_shows_again_as_loro_shows_it(how, before):
    want = shown_again(loro, how, before)
    assert shown_again(loro_c, how, before) == want
    assert want


def test_the_load_makes_the_difference():
    # the same history: one insert from a snapshot's state, three from the ops
    a = shown_again(loro_c, "snapshot", nothing)
    b = shown_again(loro_c, "updates", nothing)
    assert len(a[0][0]) == 1 and len(b[0][0]) == 3


def random_session(mod, seed):
    rng = random.Random(seed)
    peers = []
    for p in (1, 2):
        d = mod.LoroDoc()
        d.peer_id = p
        peers.append(d)
    t = peers[0].get_list("l").insert_container(0, mod.LoroText())
    t.insert(0, "start")
    peers[0].commit()
    peers[1].import_(peers[0].export(mod.ExportMode.Snapshot()))

    def edit(d):
        txt = d.get_text(t.id)
        n = len(txt.to_string())
        if n and rng.random() < 0.35:
            k = rng.randrange(n)
            txt.delete(k, rng.randint(1, min(3, n - k)))
        else:
            txt.insert(rng.randint(0, n), rng.choice(["ab", "é", "😀x", "q", "zz中"]))
        d.commit()

    for _ in range(rng.randint(4, 14)):
        d = rng.choice(peers)
        edit(d)
        if rng.random() < 0.4:
            o = peers[1] if d is peers[0] else peers[0]
            o.import_(d.export(mod.ExportMode.Updates(o.oplog_vv)))
    for x, y in ((0, 1), (1, 0)):
        peers[y].import_(peers[x].export(mod.ExportMode.Updates(peers[y].oplog_vv)))
    c = loaded(mod, peers[0], rng.choice(["snapshot", "subscribed", "fork", "snapshot"]))
    c.peer_id = 3
    versions = [c.oplog_frontiers]
    for _ in range(rng.randint(0, 4)):
        edit(c)
        versions.append(c.oplog_frontiers)
    history_ids = [(p, c.oplog_vv.get_last(p)) for p in (1, 2, 3)
                   if c.oplog_vv.get_last(p) is not None]
    got = []
    sub = c.subscribe_root(lambda e: got.append(text_items(e)))
    for _ in range(6):
        r = rng.random()
        if r < 0.5:
            p, last = rng.choice(history_ids)
            c.checkout(mod.Frontiers.from_id(mod.ID(p, rng.randint(0, last))))
        elif r < 0.8:
            c.checkout(rng.choice(versions))
        c.checkout_to_latest()
        if mod is loro_c:
            c._check_invariants()
    c.get_list("l").delete(0, 1)
    c.commit()
    for v in rng.sample(versions, min(3, len(versions))):
        c.checkout(v)
        c.checkout_to_latest()
    if mod is loro_c:
        c._check_invariants()
    del sub
    return got, c.get_deep_value()


@pytest.mark.parametrize("block", range(4))
def test_random_loads_and_checkouts_match_loro(block):
    for seed in range(block * 40, block * 40 + 40):
        assert random_session(loro_c, seed) == random_session(loro, seed), seed


# -- a loaded peer's next change, in a block of its own --------------------------------------
#
# A snapshot load (or a fork) leaves a peer's last change block encoded unless its last op is
# a frontier id; the peer's next change, local or imported, then starts a block of its own,
# and a save encodes only that block: its text goes to a buffer apart from the loaded ops'.
# A text shown again whole joins the two ops only when its peer's block was parsed (server
# cycle 3841: 'abab' and 'xyzxyzxyz' of one peer, its Lamport clocks not continuing).

def cold_peer_next(mod, how="snapshot", via="local", gap=True, save=True, at=6):
    """Peer 9 writes 'abab'; with `gap`, peer 1 writes after it (9's op is no frontier id);
    a server loads the snapshot `how`, peer 9's next insert 'xyz' comes `via` a local edit
    (the server takes peer 9's id) or an import; a save, then the text shown again whole."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "h")
    a.commit()
    tid = a.get_list("l").insert_container(0, mod.LoroText()).id
    a.get_text(tid).insert(0, "st")
    a.commit()
    s = mod.LoroDoc()
    s.peer_id = 9
    s.import_(a.export(mod.ExportMode.Snapshot()))
    s.get_text(tid).insert(2, "abab")
    s.commit()
    if gap:
        a.import_(s.export(mod.ExportMode.Updates(a.oplog_vv)))
        a.get_text("t").insert(0, "qqq")
        a.commit()
        s.import_(a.export(mod.ExportMode.Updates(s.oplog_vv)))
    c = mod.LoroDoc()
    snap = s.export(mod.ExportMode.Snapshot())
    if how == "fork":
        c.import_(snap)
        c = c.fork()
    elif how == "subscribed":
        c.subscribe_root(lambda e: None)
        c.import_(snap)
    else:
        c.import_(snap)
    got = []
    sub = c.subscribe_root(lambda e: got.append(text_items(e)))
    if via == "local":
        c.peer_id = 9
        c.get_text(tid).insert(at, "xyz")
        c.commit()
    else:
        c.peer_id = 8
        s.get_text(tid).insert(at, "xyz")
        s.commit()
        c.import_(s.export(mod.ExportMode.Updates(c.oplog_vv)))
    saved = c.export(mod.ExportMode.Snapshot()) if save else None
    c.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    c.checkout_to_latest()
    del sub
    return got, c.get_deep_value(), saved


@pytest.mark.parametrize("how", ["snapshot", "subscribed", "fork"])
@pytest.mark.parametrize("via", ["local", "import"])
@pytest.mark.parametrize("gap, save, at", [
    (True, True, 6), (True, True, 4), (True, True, 2), (True, False, 6),
    (False, True, 6), (False, False, 6)])
def test_a_loaded_peers_next_insert_shows_again_as_loro_shows_it(how, via, gap, save, at):
    want = cold_peer_next(loro, how, via, gap, save, at)
    got = cold_peer_next(loro_c, how, via, gap, save, at)
    assert got[:2] == want[:2]


def test_a_cold_peers_insert_is_shown_apart_from_its_loaded_op():
    # the rule itself: after the save, 'abab' and 'xyz' lie in two blocks' buffers
    got, _, _ = cold_peer_next(loro_c)
    assert got[-1][-1] == [("Insert", "st", None, None), ("Insert", "abab", None, None),
                           ("Insert", "xyz", None, None)]
    got, _, _ = cold_peer_next(loro_c, gap=False)
    assert got[-1][-1] == [("Insert", "st", None, None), ("Insert", "ababxyz", None, None)]


@pytest.mark.parametrize("how", ["snapshot", "fork"])
@pytest.mark.parametrize("via", ["local", "import"])
def test_a_cold_peers_next_change_starts_a_block_as_loro(how, via):
    from loro_c import _codec
    want = _codec.snapshot_block_ids(cold_peer_next(loro, how, via)[2])
    assert _codec.snapshot_block_ids(cold_peer_next(loro_c, how, via)[2]) == want
    assert (9, 4) in want


def long_running_server(mod, seed):
    """A server with its own peer id edits and restarts again and again (a snapshot load,
    subscribed or not, or a fork of its last save), clients' updates arrive out of order
    and twice, and each save is followed now and then by a checkout that shows the text
    again whole. Every text event and value is returned."""
    rng = random.Random(seed)
    a = mod.LoroDoc()
    a.peer_id = 1
    tid = a.get_list("l").insert_container(0, mod.LoroText()).id
    a.get_text(tid).insert(0, "start")
    a.commit()
    clients = [a]
    for p in (2, 3):
        d = mod.LoroDoc()
        d.peer_id = p
        d.import_(a.export(mod.ExportMode.Snapshot()))
        clients.append(d)
    server = mod.LoroDoc()
    server.import_(a.export(mod.ExportMode.Snapshot()))
    server.peer_id = 9
    got = []
    sub = server.subscribe_root(lambda e: got.append(text_items(e)))
    held = []

    def edit(d):
        # (the server types on at the end, the clients elsewhere: its next insert continues
        # its last one in the text, in counters, and across restarts)
        txt = d.get_text(tid)
        n = len(txt.to_string())
        if n > 2 and rng.random() < 0.25:
            k = rng.randrange(n - 1)
            txt.delete(k, rng.randint(1, min(3, n - 1 - k)))
        else:
            at = n if d is server and rng.random() < 0.7 else rng.randint(0, n - 1)
            txt.insert(at, rng.choice(["ab", "é", "😀x", "q", "zz中", "xyz"]))
        d.commit()

    for step in range(30):
        r = rng.random()
        if r < 0.35:
            k = rng.randrange(3)
            edit(clients[k])
            held.append(clients[k].export(mod.ExportMode.Updates(server.oplog_vv)))
            if len(held) > 1 and rng.random() < 0.5:
                held.reverse()          # (out of order: the later update waits)
            while held and rng.random() < 0.7:
                u = held.pop(0)
                server.import_(u)
                if rng.random() < 0.3:
                    server.import_(u)   # (twice)
            if rng.random() < 0.5:
                clients[k].import_(server.export(mod.ExportMode.Updates(clients[k].oplog_vv)))
        elif r < 0.6:
            for _ in range(rng.randint(1, 2)):
                edit(server)
        elif r < 0.8:
            blob = server.export(mod.ExportMode.Snapshot())
            how = rng.choice(["plain", "subscribed", "fork"])
            del sub
            server = mod.LoroDoc()
            if how == "subscribed":
                server.subscribe_root(lambda e: None)
            server.import_(blob)
            if how == "fork":
                server = server.fork()
            server.peer_id = 9
            sub = server.subscribe_root(lambda e: got.append(text_items(e)))
        else:
            server.export(mod.ExportMode.Snapshot())
            server.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
            server.checkout_to_latest()
        got.append(("step", step, server.get_deep_value()))
        if mod is loro_c:
            server._check_invariants()
    for u in held:
        server.import_(u)
    server.export(mod.ExportMode.Snapshot())
    server.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    server.checkout_to_latest()
    del sub
    return got, server.get_deep_value()


@pytest.mark.parametrize("block", range(3))
def test_a_long_running_server_shows_its_text_again_as_loro(block):
    for seed in range(block * 20, block * 20 + 20):
        assert long_running_server(loro_c, seed) == long_running_server(loro, seed), seed


def typing_on_after_restarts(mod, how):
    """The server (peer 9) types on after its loaded op in three commits, saves, types
    again, saves, forks and types once more: its typing stays in the block its first
    commit after the load started, across saves and forks."""
    a = mod.LoroDoc()
    a.peer_id = 1
    tid = a.get_list("l").insert_container(0, mod.LoroText()).id
    a.get_text(tid).insert(0, "st")
    a.commit()
    s = mod.LoroDoc()
    s.peer_id = 9
    s.import_(a.export(mod.ExportMode.Snapshot()))
    s.get_text(tid).insert(2, "abab")
    s.commit()
    a.import_(s.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_text("t").insert(0, "q")
    a.commit()
    s.import_(a.export(mod.ExportMode.Updates(s.oplog_vv)))
    c = mod.LoroDoc()
    c.import_(s.export(mod.ExportMode.Snapshot()))
    if how == "fork":
        c = c.fork()
    c.peer_id = 9
    t = c.get_text(tid)
    for k in range(3):
        t.insert(6 + k, "x")
        c.commit()
    snaps = [c.export(mod.ExportMode.Snapshot())]
    t.insert(9, "y")
    c.commit()
    snaps.append(c.export(mod.ExportMode.Snapshot()))
    d = c.fork()
    d.peer_id = 9
    d.get_text(tid).insert(10, "z")
    d.commit()
    snaps.append(d.export(mod.ExportMode.Snapshot()))
    got = []
    sub = d.subscribe_root(lambda e: got.append(text_items(e)))
    d.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    d.checkout_to_latest()
    del sub
    from loro_c import _codec
    return got, c.len_changes, d.len_changes, [_codec.snapshot_block_ids(x) for x in snaps]


@pytest.mark.parametrize("how", ["snapshot", "fork"])
def test_a_servers_typing_after_a_restart_keeps_its_own_block(how):
    want = typing_on_after_restarts(loro, how)
    assert typing_on_after_restarts(loro_c, how) == want
    assert want[0][-1][-1][-1] == ("Insert", "xxxyz", None, None)
