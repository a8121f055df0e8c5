"""loro's style map elements of a text loaded from a snapshot (docs/ARCHITECTURE.md, "Rich
text"): loro's snapshot loader builds them from the loaded state, annotating each mark's
range (start anchor to end anchor, both included) over one element, and then every import
and local edit applies itself to them. The event of a later checkout that drains an end
anchor retains `{key: None}` back to the start of the element before the mark, so where
those elements are cut shows in the event. loro_c takes the loader's elements at the first
journaled import, move or local edit after the load (state/richtext.pxi
style_load_memos), and keeps them through imports that loro applies as a linear delta too.
"""
import random

import loro
import pytest

import loro_c
from test_snapshot_server_cycles import text_items


def marked_origin(mod):
    """Peer 1's text "yyzh" + "ab" linked: the link's start anchor right after the 'h'."""
    a = mod.LoroDoc()
    a.peer_id = 1
    t = a.get_text("t")
    t.insert(0, "h")
    a.commit()
    for step in (lambda: t.insert(0, "yz"), lambda: t.delete(1, 1), lambda: t.insert(2, "ab"),
                 lambda: t.insert(1, "yz"), lambda: t.mark(4, 6, "link", True)):
        step()
        a.commit()
    return a


def load(mod, blob, how):
    d = mod.LoroDoc()
    if how == "subscribed":
        keep = d.subscribe_root(lambda e: None)
        d.import_(blob)
        keep.unsubscribe()
    elif how == "fork":
        d.import_(blob)
        d = d.fork()
    elif how == "fork_at":
        d.import_(blob)
        d = d.fork_at(d.oplog_frontiers)
    else:
        d.import_(blob)
    return d


def back_and_forth(mod, d):
    """The events of a checkout to peer 1's first op (the text "h") and back."""
    events = []
    sub = d.subscribe_root(lambda e: events.append(text_items(e)))
    d.checkout(mod.Frontiers.from_id(mod.ID(1, 0)))
    d.checkout_to_latest()
    sub.unsubscribe()
    return events


def serve(mod, origin, how):
    """A server that loaded `origin`'s snapshot (as `how` says) and subscribed, the list
    of its events, the subscription, and peer 2 starting from the same snapshot."""
    blob = origin.export(mod.ExportMode.Snapshot())
    server = load(mod, blob, how)
    events = []
    sub = server.subscribe_root(lambda e: events.append(text_items(e)))
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(blob)
    return server, events, sub, b


def send(mod, b, server):
    """Peer 2 commits and the server imports its update."""
    b.commit()
    server.import_(b.export(mod.ExportMode.Updates(server.oplog_vv)))


def plain_origin(mod):
    """Peer 1's text "h" (its first op), then "hyz"; no mark."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "h")
    a.commit()
    a.get_text("t").insert(1, "yz")
    a.commit()
    return a


def import_then_travel(mod, how, edits, server_edit=None, bad_blob=False):
    """A server loads peer 1's snapshot (as `how` says), subscribes, imports peer 2's
    `edits` one update at a time (a rejected blob first with `bad_blob`), makes
    `server_edit` itself, then travels back and forth."""
    server, events, sub, b = serve(mod, marked_origin(mod), how)
    blob = b.export(mod.ExportMode.Snapshot())
    if bad_blob:
        c = mod.LoroDoc()
        c.peer_id = 3
        c.import_(blob)
        c.get_text("t").insert(0, "q")
        c.commit()
        update = c.export(mod.ExportMode.Updates(server.oplog_vv))
        with pytest.raises(loro_c.LoroError if mod is loro_c else BaseException):
            server.import_(update[:-3])
    for pos, s in edits:
        b.get_text("t").insert(pos, s)
        send(mod, b, server)
    if server_edit is not None:
        server.get_text("t").insert(*server_edit)
        server.commit()
    sub.unsubscribe()
    return server, events + back_and_forth(mod, server)


HOWS = ["plain", "subscribed", "fork", "fork_at"]


@pytest.mark.parametrize("how", HOWS)
def test_text_inserted_before_a_loaded_marks_start_makes_its_own_element(how):
    # "éyyzh" then "yz" between the 'h' and the link's start anchor: a new element (its
    # marks are not the link's), so removing the link later retains {link: None} over "yz"
    # only, not over the "h" before it (the loader cut the elements at the start anchor)
    got = import_then_travel(loro_c, how, [(0, "é"), (5, "yz")])
    want = import_then_travel(loro, how, [(0, "é"), (5, "yz")])
    assert got[1] == want[1]
    assert got[1][-2] == [[("Delete", None, None, 4, None), ("Retain", None, 1, None, None),
                           ("Delete", None, None, 4, None)]]
    sid = next(iter(got[0].get_text("t")._style_elements()[2][1]))
    assert got[0].get_text("t")._style_elements() == [
        [5, frozenset()], [2, frozenset()], [4, frozenset([sid])], [0, frozenset()]]


@pytest.mark.parametrize("how", HOWS)
def test_a_local_edit_after_a_load_takes_the_loaders_elements(how):
    got = import_then_travel(loro_c, how, [], server_edit=(4, "xx"))
    want = import_then_travel(loro, how, [], server_edit=(4, "xx"))
    assert got[1] == want[1]
    assert got[0].get_text("t")._style_elements() is not None


@pytest.mark.parametrize("how", HOWS)
def test_a_rejected_import_after_a_load_leaves_the_loaders_elements(how):
    got = import_then_travel(loro_c, how, [(0, "é"), (5, "yz")], bad_blob=True)
    want = import_then_travel(loro, how, [(0, "é"), (5, "yz")], bad_blob=True)
    assert got[1] == want[1]
    got[0]._check_invariants()


@pytest.mark.parametrize("how", HOWS)
def test_updates_out_of_order_after_a_load(how):
    """Peer 2's second update arrives first (pending), then its first, twice."""
    out = []
    for mod in (loro, loro_c):
        server, events, sub, b = serve(mod, marked_origin(mod), how)
        ups = []
        for pos, s in [(0, "é"), (5, "yz")]:
            vv = b.oplog_vv
            b.get_text("t").insert(pos, s)
            b.commit()
            ups.append(b.export(mod.ExportMode.Updates(vv)))
        for u in (ups[1], ups[0], ups[0], ups[1]):
            server.import_(u)
        sub.unsubscribe()
        out.append(events + back_and_forth(mod, server))
    assert out[0] == out[1]


@pytest.mark.parametrize("how", HOWS)
def test_a_small_import_bringing_a_texts_first_mark_starts_its_elements(how):
    """The loaded text has no mark; peer 2 bolds "yz", then inserts "ab" before it (an
    element of its own): both imports are linear ones in loro."""
    out = []
    for mod in (loro, loro_c):
        server, events, sub, b = serve(mod, plain_origin(mod), how)
        for step in (lambda t: t.mark(1, 3, "bold", True), lambda t: t.insert(1, "ab")):
            step(b.get_text("t"))
            send(mod, b, server)
        sub.unsubscribe()
        out.append(events + back_and_forth(mod, server))
    assert out[0] == out[1]
    assert out[1][-2] == [[("Retain", None, 1, None, None), ("Delete", None, None, 4, None)]]


def test_a_checkout_first_then_imports():
    """The first journaled change after the load is a move (the elements follow it)."""
    out = []
    for mod in (loro, loro_c):
        server, events, sub, b = serve(mod, marked_origin(mod), "plain")
        server.checkout(mod.Frontiers.from_id(mod.ID(1, 3)))
        server.checkout_to_latest()
        for pos, s in [(0, "é"), (5, "yz")]:
            b.get_text("t").insert(pos, s)
            send(mod, b, server)
        sub.unsubscribe()
        out.append(events + back_and_forth(mod, server))
    assert out[0] == out[1]


def test_import_batch_with_a_subscriber_starts_from_the_loaders_elements():
    out = []
    for mod in (loro, loro_c):
        a = marked_origin(mod)
        blob = a.export(mod.ExportMode.Snapshot())
        b = mod.LoroDoc()
        b.peer_id = 2
        b.import_(blob)
        b.get_text("t").insert(0, "é")
        b.commit()
        extra = b.export(mod.ExportMode.Updates(a.oplog_vv))
        server = mod.LoroDoc()
        events = []
        sub = server.subscribe_root(lambda e: events.append(text_items(e)))
        server.import_batch([blob, extra])
        b.get_text("t").insert(5, "yz")
        send(mod, b, server)
        sub.unsubscribe()
        out.append(events + back_and_forth(mod, server))
    assert out[0] == out[1]


def batch_restart(mod, origin, edits, faults=(), bad_blob=False):
    """A server restarts with one import_batch of `origin`'s snapshot and peer 2's updates
    (one per edit of `edits`: (pos, text) inserted, or a callable on peer 2) while nobody
    subscribes: loro loads the snapshot's state (its loader's elements), then moves it to
    the latest version. `faults`: "reverse" (the updates in reverse order), "dup" (each
    twice), "stale" (one more from the empty version); `bad_blob`: a batch with a
    truncated update is rejected first. Returns the server, peer 2 and the snapshot."""
    blob = origin.export(mod.ExportMode.Snapshot())
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(blob)
    ups = []
    for e in edits:
        vv = b.oplog_vv
        if callable(e):
            e(b)
        else:
            b.get_text("t").insert(*e)
        b.commit()
        ups.append(b.export(mod.ExportMode.Updates(vv)))
    if "stale" in faults:
        ups.append(b.export(mod.ExportMode.Updates(mod.VersionVector())))
    if "reverse" in faults:
        ups.reverse()
    if "dup" in faults:
        ups = ups + ups
    server = mod.LoroDoc()
    if bad_blob:
        with pytest.raises(loro_c.LoroError if mod is loro_c else BaseException):
            server.import_batch([blob] + ups + [ups[-1][:-3]])
    server.import_batch([blob] + ups)
    return server, b


def batch_then_travel(mod, batch_edits, later_edits, **kw):
    """batch_restart of marked_origin, then the server subscribes, imports peer 2's
    `later_edits` one update at a time and travels back and forth: its events."""
    server, b = batch_restart(mod, marked_origin(mod), batch_edits, **kw)
    events = []
    sub = server.subscribe_root(lambda e: events.append(text_items(e)))
    for pos, s in later_edits:
        b.get_text("t").insert(pos, s)
        send(mod, b, server)
    sub.unsubscribe()
    return server, events + back_and_forth(mod, server)


BATCH_FAULTS = [{}, {"faults": ("reverse",)}, {"faults": ("dup", "stale")}, {"bad_blob": True}]


@pytest.mark.parametrize("kw", BATCH_FAULTS)
def test_import_batch_without_a_subscriber_moves_the_loaders_elements(kw):
    # the batch inserts "é" before the text and "yz" between the 'h' and the link's start
    # anchor: loro's move from the snapshot gives "yz" an element of its own, so the
    # checkout that removes the link retains the 'h' without {link: None}
    got = batch_then_travel(loro_c, [(0, "é"), (5, "yz")], [], **kw)
    want = batch_then_travel(loro, [(0, "é"), (5, "yz")], [], **kw)
    assert got[1] == want[1]
    assert got[1][-2] == [[("Delete", None, None, 4, None), ("Retain", None, 1, None, None),
                           ("Delete", None, None, 4, None)]]
    got[0]._check_invariants()


@pytest.mark.parametrize("kw", BATCH_FAULTS)
def test_import_batch_without_a_subscriber_then_subscribed_imports(kw):
    """The first journaled change after the batch is an import (the elements the move left
    follow it)."""
    for batch, later in [([(0, "é")], [(5, "yz")]), ([(0, "é"), (5, "yz")], [(1, "q")])]:
        got = batch_then_travel(loro_c, batch, later, **kw)
        want = batch_then_travel(loro, batch, later, **kw)
        assert got[1] == want[1], (batch, later)


def test_import_batch_without_a_subscriber_then_a_local_edit():
    out = []
    for mod in (loro, loro_c):
        server, b = batch_restart(mod, marked_origin(mod), [(0, "é"), (5, "yz")])
        events = []
        sub = server.subscribe_root(lambda e: events.append(text_items(e)))
        server.get_text("t").insert(1, "xx")
        server.commit()
        sub.unsubscribe()
        out.append((events + back_and_forth(mod, server), server.get_text("t")._style_elements()
                    if mod is loro_c else None))
    assert out[1][0] == out[0][0]
    # "éxxyyzh", then the batch's "yz" in an element of its own, then the link's
    sid = next(iter(out[1][1][2][1]))
    assert out[1][1] == [[7, frozenset()], [2, frozenset()], [4, frozenset([sid])],
                         [0, frozenset()]]


def test_import_batch_without_a_subscriber_bringing_marks():
    """The batch marks and unmarks past the snapshot (anchors the snapshot lacks), and
    deletes text the loader's element held."""
    out = []
    for mod in (loro, loro_c):
        server, b = batch_restart(mod, marked_origin(mod), [
            lambda d: d.get_text("t").mark(0, 3, "bold", True), (3, "q"),
            lambda d: d.get_text("t").delete(4, 2), lambda d: d.get_text("t").unmark(1, 2, "bold")])
        out.append(back_and_forth(mod, server))
    assert out[1] == out[0]


TEXTS = ["ab", "é", "x", "yz"]


def random_edit(rng, d):
    t = d.get_text("t")
    n = len(t.to_string())
    r = rng.random()
    if n and r < 0.3:
        k = rng.randrange(n)
        t.delete(k, min(n - k, rng.randint(1, 3)))
    elif n > 1 and r < 0.55:
        a = rng.randrange(n - 1)
        b = min(n, a + rng.randint(1, 4))
        if rng.random() < 0.7:
            t.mark(a, b, rng.choice(["bold", "link"]), True)
        else:
            t.unmark(a, b, rng.choice(["bold", "link"]))
    else:
        t.insert(rng.randint(0, n), rng.choice(TEXTS))
    d.commit()


def random_origin(mod, rng):
    """Peer 1's text: 'h', then a few random edits and marks."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "h")
    a.commit()
    for _ in range(rng.randint(2, 6)):
        random_edit(rng, a)
    return a


def travelled(mod, server, events, sub):
    """The server's events so far, those of its travel back and forth, and its text."""
    sub.unsubscribe()
    return events + back_and_forth(mod, server), [
        (x.insert, x.attributes) for x in server.get_text("t").to_delta()]


def random_session(mod, seed):
    """Peer 1 edits and marks, a server loads its snapshot and imports peer 2's edits one
    update at a time, then travels back and forth. (The server's own edits concurrent with
    peer 2's are left out: a few such sessions order a checkout's insert and delete
    otherwise than loro, from before this took loro's loaded elements, e.g. seed 1161 with
    them.)"""
    rng = random.Random(seed)
    a = random_origin(mod, rng)
    server, events, sub, b = serve(mod, a, rng.choice(HOWS))
    for _ in range(rng.randint(1, 4)):
        random_edit(rng, b)
        send(mod, b, server)
    return travelled(mod, server, events, sub)


@pytest.mark.parametrize("block", range(8))
def test_random_loads_then_imports_match_loro(block):
    for seed in range(block * 250, block * 250 + 250):
        assert random_session(loro_c, seed) == random_session(loro, seed), seed


def random_batch_session(mod, seed):
    """Peer 1 edits and marks; a server restarts with one import_batch of its snapshot and
    peer 2's updates (delivery faults, a rejected batch first) while nobody subscribes,
    then subscribes, imports peer 2's next edits and travels back and forth."""
    rng = random.Random(seed)
    a = random_origin(mod, rng)
    kw = rng.choice(BATCH_FAULTS)
    server, b = batch_restart(mod, a, [lambda d: random_edit(rng, d)] * rng.randint(1, 3), **kw)
    events = []
    sub = server.subscribe_root(lambda e: events.append(text_items(e)))
    for _ in range(rng.randint(0, 3)):
        random_edit(rng, b)
        send(mod, b, server)
    return travelled(mod, server, events, sub)


@pytest.mark.parametrize("block", range(4))
def test_random_batch_restarts_then_imports_match_loro(block):
    for seed in range(block * 250, block * 250 + 250):
        assert random_batch_session(loro_c, seed) == random_batch_session(loro, seed), seed
