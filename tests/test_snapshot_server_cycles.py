"""A server's cycle on a text document: load a snapshot, import a client's update, save a
new Snapshot; again and again, sometimes from a fresh document that loads the last save.

The save records where the characters of the texts' state lie in loro's string storage
before it moves the ops' text (state/text_backing.pxi). After a load the first save
records only the characters of ops past the loaded version (the loaded state's runs hold
the rest), as every later save does; the full walk of every text is kept for what a load
cannot vouch for (a checkout that brought characters back, a shallow document). These
sessions compare with loro, on documents loaded every way a server loads them: the values
and the events of checkouts that show a text again whole (the only reader of those
records: each character's place decides where loro joins inserts; the saved bytes do not
depend on them, and are compared with loro's in the sessions at the end).
Every incremental save also runs the full walk on a copy of the records and compares
(_doc._freeze_cross_check)."""
import random

import loro
import pytest

import loro_c
from loro_c import _doc


@pytest.fixture(autouse=True)
def cross_check():
    _doc._freeze_cross_check(True)
    yield
    _doc._freeze_cross_check(False)


def text_items(e):
    return [[(type(x).__name__.split("_")[-1], getattr(x, "insert", None),
              getattr(x, "retain", None), getattr(x, "delete", None),
              getattr(x, "attributes", None)) for x in c.diff.diff]
            for c in e.events if "Text" in str(c.target)]


def delta(t):
    return [(x.insert, x.attributes) for x in t.to_delta()]


TEXTS = ["ab", "é", "😀x", "q", "zz中", "xyz", "\n"]


def edit(mod, rng, d, list_text):
    """One random edit of a peer: an insert, a delete or a mark in the root text or in the
    text a list holds; committed or left open."""
    t = d.get_text("t") if rng.random() < 0.5 else d.get_text(list_text)
    n = len(t.to_string())
    r = rng.random()
    if n and r < 0.3:
        k = rng.randrange(n)
        t.delete(k, rng.randint(1, min(4, n - k)))
    elif n > 1 and r < 0.42:
        a = rng.randrange(n - 1)
        b = rng.randint(a + 1, min(n, a + 5))
        if rng.random() < 0.7:
            t.mark(a, b, rng.choice(["bold", "link"]), True if rng.random() < 0.6 else "u")
        else:
            t.unmark(a, b, rng.choice(["bold", "link"]))
    else:
        t.insert(rng.randint(0, n), rng.choice(TEXTS) * rng.randint(1, 3))
    if rng.random() < 0.8:
        d.commit()


def start(mod):
    """Peer 1's first change (its root text, then a list holding a text), known to all."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "h")
    a.commit()
    lt = a.get_list("l").insert_container(0, mod.LoroText())
    lt.insert(0, "start")
    a.commit()
    return a, lt.id


def load(mod, blob, how, extra=None, peer=9):
    """A server document of `blob` (a Snapshot), loaded as `how` says."""
    d = mod.LoroDoc()
    if how == "subscribed":
        d.subscribe_root(lambda e: None)     # (loro_c replays the history at the import)
        d.import_(blob)
    elif how == "batch" and extra is not None:
        d.import_batch([blob, extra])
    elif how == "fork":
        d.import_(blob)
        d = d.fork()
    else:
        d.import_(blob)
    d.peer_id = peer
    return d


def server_session(mod, seed):
    """Three peers edit concurrently and send their updates to a server, which saves a
    Snapshot after each; the server restarts from its last save now and then, edits
    itself, travels back and returns (events recorded). Returns what it saw."""
    rng = random.Random(seed)
    a, list_text = start(mod)
    peers = [a]
    for p in (2, 3):
        d = mod.LoroDoc()
        d.peer_id = p
        d.import_(a.export(mod.ExportMode.Snapshot()))
        peers.append(d)
    for _ in range(rng.randint(0, 12)):
        edit(mod, rng, rng.choice(peers), list_text)
    for d in peers:
        d.commit()
    blob = peers[0].export(mod.ExportMode.Snapshot())
    server = load(mod, blob, rng.choice(["plain", "plain", "subscribed", "fork"]))
    seen = []
    events = []
    sub = server.subscribe_root(lambda e: events.append(text_items(e)))
    versions = [server.oplog_frontiers]
    for step in range(rng.randint(6, 18)):
        r = rng.random()
        k = rng.randrange(3)
        if r < 0.55:
            what = "import"
            # a client's edits since it last heard from the server, then the save
            for _ in range(rng.randint(1, 3)):
                edit(mod, rng, peers[k], list_text)
            peers[k].commit()
            update = peers[k].export(mod.ExportMode.Updates(server.oplog_vv))
            server.import_(update)
            if rng.random() < 0.5:
                peers[k].import_(server.export(mod.ExportMode.Updates(peers[k].oplog_vv)))
        elif r < 0.65:
            what = "edit"
            edit(mod, rng, server, list_text)
            server.commit()
        elif r < 0.78:
            # the server restarts from its last save (the rest of a batch with it)
            blob = server.export(mod.ExportMode.Snapshot())
            how = rng.choice(["plain", "plain", "subscribed", "batch", "fork"])
            what = "load " + how
            extra = None
            if how == "batch":
                edit(mod, rng, peers[k], list_text)
                peers[k].commit()
                extra = peers[k].export(mod.ExportMode.Updates(server.oplog_vv))
            del sub
            server = load(mod, blob, how, extra)
            sub = server.subscribe_root(lambda e: events.append(text_items(e)))
        elif r < 0.9 and versions:
            # back to a version it was at (characters shown again), then to the latest
            what = "checkout"
            server.checkout(rng.choice(versions))
            server.checkout_to_latest()
        else:
            # back to before the list held its text: the text shown again whole
            what = "shown again"
            server.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
            server.checkout_to_latest()
        seen.append(("save", step, what, server.get_deep_value(),
                     server.export(mod.ExportMode.Snapshot())))
        versions.append(server.oplog_frontiers)
        if mod is loro_c:
            server._check_invariants()
    server.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    server.checkout_to_latest()
    seen.append(("end", server.get_deep_value(), delta(server.get_text(list_text)),
                 delta(server.get_text("t"))))
    del sub
    return seen, events


def compare(seed):
    """The events item by item and the values after each step as loro's. (The saved bytes
    are not compared here: in about half of these sessions loro_c's change blocks differ
    from loro's in ways older than the records of the save, e.g. seed 17's second
    import. The tests below compare the bytes of sessions loro_c models.)"""
    want = server_session(loro, seed)
    got = server_session(loro_c, seed)
    assert got[1] == want[1], seed
    assert [x[:4] for x in got[0]] == [x[:4] for x in want[0]], seed


# sessions past the blocks below whose checkouts once retained {key: None} from earlier
# than loro, before loro_c's texts took loro's loaded style map elements
# (tests/test_style_elements_after_load.py; seed 78, in the blocks, too)
LOADED_ELEMENTS = (1769, 1998, 2715, 2870, 3201, 3741)


@pytest.mark.parametrize("block", range(6))
def test_server_cycles_match_loro(block):
    checked = _doc._freeze_cross_check(True)
    for seed in range(block * 25, block * 25 + 25):
        compare(seed)
    # (the saves after a load took the incremental path, each checked against a full walk)
    assert _doc._freeze_cross_check(True) > checked + 25


def test_server_cycles_of_loaded_style_elements_match_loro():
    for seed in LOADED_ELEMENTS:
        compare(seed)


# sessions whose checkout back to the latest version showed a marked text's deletes before
# an insert loro's tracker keeps apart from the one before it by Lamport clock
# (test_checkout_text_deltas.test_lamport_gap_keeps_inserts_apart_in_a_marked_text)
LAMPORT_GAPS = (2850, 3450)


def test_server_cycles_with_lamport_gaps_in_marked_texts_match_loro():
    for seed in LAMPORT_GAPS:
        compare(seed)


# sessions where the server's own insert after a restart went into a change block of its
# own (its peer's loaded block still encoded) and a save encoded only that block: a text
# shown again keeps the insert apart from the loaded op it follows (doc/grouping.pxi
# cold_change, lstr_flush)
COLD_OWN_BLOCK = (3841,)


def test_server_cycles_of_a_cold_peers_own_block_match_loro():
    for seed in COLD_OWN_BLOCK:
        compare(seed)


def test_loro_snapshot_loaded_by_loro_c_then_saved_after_an_import():
    """loro's own save, loaded by loro_c: the next saves are loro's bytes."""
    rng = random.Random(7)
    a, list_text = start(loro)
    for _ in range(30):
        edit(loro, rng, a, list_text)
    a.commit()
    snap = a.export(loro.ExportMode.Snapshot())
    sides = []
    for mod in (loro, loro_c):
        server = mod.LoroDoc()
        server.import_(snap)
        b = mod.LoroDoc()
        b.peer_id = 2
        b.import_(snap)
        rr = random.Random(8)
        saves = []
        for _ in range(6):
            edit(mod, rr, b, list_text)
            b.commit()
            server.import_(b.export(mod.ExportMode.Updates(server.oplog_vv)))
            saves.append(server.export(mod.ExportMode.Snapshot()))
            server = mod.LoroDoc()      # (the next request loads the last save)
            server.import_(saves[-1])
        sides.append((saves, _checkout_items(mod, server)))
    assert sides[0] == sides[1]


def _checkout_items(mod, doc):
    """The text items of `doc`'s events for a checkout to peer 1's first op and back
    (the freeze's records are what a checkout's events read)."""
    got = []
    sub = doc.subscribe_root(lambda e: got.append(text_items(e)))
    doc.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    doc.checkout_to_latest()
    del sub
    return got


def test_a_large_text_saved_after_a_small_import():
    """The thin load of a long random text, one client insert, the save: loro's bytes, and
    the records as the full walk makes them."""
    checked = _doc._freeze_cross_check(True)
    sides = []
    for mod in (loro, loro_c):
        rng = random.Random(1)
        d = mod.LoroDoc()
        d.peer_id = 1
        t = d.get_text("t")
        for i in range(2000):
            t.insert(rng.randint(0, len(t)), "ab")
            if i % 100 == 0:
                d.commit()
        d.commit()
        snap = d.export(mod.ExportMode.Snapshot())
        e = mod.LoroDoc()
        e.peer_id = 2
        e.import_(snap)
        e.get_text("t").insert(5, "xyz")
        e.commit()
        upd = e.export(mod.ExportMode.Updates(d.oplog_vv))
        x = mod.LoroDoc()
        x.import_(snap)
        x.import_(upd)
        saved = x.export(mod.ExportMode.Snapshot())
        sides.append((saved, _checkout_items(mod, x)))
    assert sides[0] == sides[1]
    assert _doc._freeze_cross_check(True) > checked
