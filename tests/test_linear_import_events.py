"""An import whose changes continue the document's version in one line (one peer's edits
since the last sync: the everyday case of a server relaying a client's typing) is diffed
by loro in its "Linear" mode: the text's ops are applied one by one to an empty delta,
instead of comparing the two versions. The items of the event's text delta then come out
in another shape (an insert before a delete at one position, inserts not joined when their
bytes do not continue). loro_c must give loro's items exactly, not only their effect."""
import random

import pytest

import loro
import loro_c

WORDS = ["X", "yz", "中", "😀a", "hello ", "é", "ab😀cd"]


def type_or_delete(rng, t, p_insert, most):
    """Insert a word at a random place (with probability `p_insert`, or when the text is
    empty), else delete up to `most` characters somewhere."""
    n = len(t.to_string())
    if rng.random() < p_insert or n == 0:
        t.insert(rng.randrange(n + 1), rng.choice(WORDS))
    else:
        p = rng.randrange(n)
        t.delete(p, rng.randrange(1, min(most, n - p) + 1))


def text_items(event):
    """The text deltas of an event, item by item; other diffs by kind."""
    out = []
    for diff in event.events:
        d = diff.diff
        if type(d).__name__.endswith("Text"):     # (loro's Diff_Text, loro_c's Diff.Text)
            out.append([(type(q).__name__.rsplit("_", 1)[-1].rsplit(".", 1)[-1],
                         getattr(q, "insert", None) or getattr(q, "delete", None)
                         or getattr(q, "retain", None), getattr(q, "attributes", None))
                        for q in d.diff])
        else:
            out.append("other")
    return out


def session(mod, seed, styled=False, marking=False):
    """Peer 1 types and deletes (some changes hold map writes too); peer 2, with a
    subscriber, takes each batch by binary or JSON updates, from a snapshot of the start
    or from nothing (then the history is one chain from the root). `styled`: the text has
    marks from the start; `marking`: the batches hold marks and unmarks too."""
    rng = random.Random(seed)
    a = mod.LoroDoc()
    a.peer_id = 1
    t = a.get_text("t")
    if seed % 3:
        t.insert(0, "abcdef中😀")
        a.commit()
        if styled:
            t.mark(1, 4, "bold", True)
            t.mark(3, 7, "link", "x")
            t.unmark(5, 6, "link")
            a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    if seed % 4:
        b.import_(a.export(mod.ExportMode.Snapshot()))
    events = []
    sub = b.subscribe_root(lambda e: events.append(text_items(e)))
    for _ in range(6):
        before = b.oplog_vv
        for _ in range(rng.randrange(1, 5)):
            for _ in range(rng.randrange(1, 4)):
                type_or_delete(rng, t, 0.55, 6)
                if rng.random() < 0.1:
                    a.get_map("m").insert("k", rng.randrange(9))
                n = len(t.to_string())
                if marking and n > 1 and rng.random() < 0.3:
                    p = rng.randrange(n - 1)
                    if rng.random() < 0.3:
                        t.unmark(p, rng.randrange(p + 1, n + 1), rng.choice(["bold", "link", "italic"]))
                    else:
                        t.mark(p, rng.randrange(p + 1, n + 1), rng.choice(["bold", "link", "italic"]),
                               rng.choice([True, "x", 3]))
            if rng.random() < 0.8:
                a.commit()
        a.commit()
        if rng.random() < 0.7:
            b.import_(a.export(mod.ExportMode.Updates(before)))
        else:
            b.import_json_updates(a.export_json_updates(before, a.oplog_vv))
    del sub
    return events, b.get_text("t").to_string()


def test_linear_imports_give_loros_text_items():
    """Measured: 0 of 1,000 such sessions differ (before: 230 of 300)."""
    for seed in range(300):
        assert session(loro_c, seed) == session(loro, seed), seed


def test_linear_imports_into_styled_text_give_loros_items():
    """The ops count style anchors, the event does not; an insert carries the styles open
    where it went in (None for a key a later unmark took). Measured: 0 of 300 differ
    (before: 142)."""
    for seed in range(200):
        assert session(loro_c, seed, True) == session(loro, seed, True), seed


def test_linear_imports_with_marks_give_loros_items():
    """The batches mark and unmark too: loro's rope takes each mark's anchors, its state
    styles an insert with the marks annotated by then and, at each new end anchor, adds a
    delta of the range's styles, composed over the event at the end. Measured: 0 of 1,500
    differ (before: 207 of 300; with unmarks 0 of 800, before 208 of 300)."""
    for seed in range(200):
        assert session(loro_c, seed, True, True) == session(loro, seed, True, True), seed


def cut_change(mod, pieces):
    """Peer 2's one change (a counter, a list child, a map child, then text typed and
    deleted) reaches peer 3 in pieces cut inside it: an early piece waits for the one
    before it, which then applies both in one import."""
    a = mod.LoroDoc()
    a.peer_id = 101
    a.get_text("t").insert(0, "aa中 ab")
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_counter("c").increment(-1)
    b.get_list("l").insert_container(0, mod.LoroMap())
    b.get_map("m").insert_container("a", mod.LoroList())
    t = b.get_text("t")
    t.insert(2, "bx")
    t.delete(5, 1)
    t.delete(4, 1)
    t.delete(3, 1)
    b.commit()
    c = mod.LoroDoc()
    c.peer_id = 3
    c.import_(a.export(mod.ExportMode.Snapshot()))
    events = []
    sub = c.subscribe_root(lambda e: events.append(text_items(e)))
    for start, end in pieces:
        c.import_(b.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(2, mod.CounterSpan(start, end))])))
    del sub
    return events, c.get_text("t").to_string()


@pytest.mark.parametrize("pieces", [[(0, 2), (5, 8), (2, 5)], [(0, 3), (5, 8), (3, 5)],
                                    [(5, 8), (0, 5)], [(0, 8)]])
def test_a_change_cut_in_pieces_gives_loros_text_items(pieces):
    """[(0, 2), (5, 8), (2, 5)]: loro shows [retain 2, insert 'b', delete 2] (its Linear
    mode: the version before is inside peer 2's change); in one piece, [retain 2,
    delete 2, insert 'b'] (the versions compared)."""
    got, want = cut_change(loro_c, pieces), cut_change(loro, pieces)
    assert got == want
    assert got[1] == "aabab"


def big_import(mod, n_ops, seed):
    """`n_ops` inserts and deletes at random places in one change, imported at once (the
    runs of linear_delta.pxi fill many blocks)."""
    rng = random.Random(seed)
    a = mod.LoroDoc()
    a.peer_id = 7
    t = a.get_text("t")
    t.insert(0, "x" * 500)
    a.commit()
    b = mod.LoroDoc()
    b.import_(a.export(mod.ExportMode.Snapshot()))
    before = a.oplog_vv
    n = 500
    for _ in range(n_ops):
        if rng.random() < 0.7 or n < 2:
            word = rng.choice(WORDS)
            t.insert(rng.randrange(n + 1), word)
            n += len(word)
        else:
            k = rng.randrange(1, min(4, n) + 1)
            t.delete(rng.randrange(n - k + 1), k)
            n -= k
    a.commit()
    events = []
    sub = b.subscribe_root(lambda e: events.append(text_items(e)))
    b.import_(a.export(mod.ExportMode.Updates(before)))
    del sub
    assert b.get_text("t").to_string() == t.to_string()
    return events


@pytest.mark.parametrize("seed", [1, 2])
def test_a_large_linear_import_gives_loros_text_items(seed):
    assert big_import(loro_c, 3000, seed) == big_import(loro, 3000, seed)


def typed_in_pieces(mod, order):
    """Peer 1 types 'céxy' (one op); a fresh document gets it in three pieces, the first
    last: the last import applies the two pieces that waited too, whose bytes lie in the
    buffers of their own blobs."""
    a = mod.LoroDoc()
    a.peer_id = 1
    t = a.get_text("t")
    for i, ch in enumerate("céxy"):
        t.insert(i, ch)
    a.commit()
    pieces = [(0, 1), (1, 3), (3, 4)]
    b = mod.LoroDoc()
    events = []
    sub = b.subscribe_root(lambda e: events.append(text_items(e)))
    for k in order:
        x, y = pieces[k]
        b.import_(a.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(1, mod.CounterSpan(x, y))])))
    del sub
    return events, b.get_text("t").to_string()


@pytest.mark.parametrize("order", [(1, 2, 0), (2, 1, 0), (0, 2, 1), (0, 1, 2)])
def test_pieces_that_waited_keep_their_own_bytes(order):
    """(1, 2, 0): loro shows [insert 'c', insert 'éx', insert 'y']: three buffers."""
    got = typed_in_pieces(loro_c, order)
    assert got == typed_in_pieces(loro, order)
    assert got[1] == "céxy"


def relay(mod, seed, steps=80, marking=False):
    """Three clients type, delete, push to a list and a map, and push their updates to a
    hub, which relays to each client what it lacks: every document subscribed. Returns
    the events (text items; other diffs by kind) and the values. `marking`: the clients
    mark and unmark ranges too."""
    rng = random.Random(seed)
    clients = []
    for i in range(3):
        d = mod.LoroDoc()
        d.peer_id = 10 + i
        clients.append(d)
    hub = mod.LoroDoc()
    hub.peer_id = 99
    docs = clients + [hub]
    events = [[] for _ in docs]
    subs = [d.subscribe_root(lambda e, k=k: events[k].append(text_items(e))) for k, d in enumerate(docs)]
    for _ in range(steps):
        c = clients[rng.randrange(3)]
        r = rng.random()
        if r < 0.6:
            t = c.get_text("t")
            for _ in range(rng.randrange(1, 4)):
                n = len(t.to_string())
                if marking and n > 1 and rng.random() < 0.2:
                    p = rng.randrange(n - 1)
                    end = rng.randrange(p + 1, n + 1)
                    key = rng.choice(["bold", "link"])
                    if rng.random() < 0.7:
                        t.mark(p, end, key, rng.choice([True, "x"]) if key == "link" else True)
                    else:
                        t.unmark(p, end, key)
                else:
                    type_or_delete(rng, t, 0.6, 4)
            if rng.random() < 0.2:
                c.get_list("l").insert(0, rng.randrange(9))
            if rng.random() < 0.2:
                c.get_map("m").insert(rng.choice("ab"), rng.randrange(9))
            c.commit()
        elif r < 0.85:
            hub.import_(c.export(mod.ExportMode.Updates(hub.oplog_vv)))
        else:
            c.import_(hub.export(mod.ExportMode.Updates(c.oplog_vv)))
    del subs
    return events, [d.get_deep_value() for d in docs]


def test_a_relaying_hub_and_its_clients_get_loros_events():
    """The server's everyday traffic: most imports are Linear (a client's edits since its
    last push), some concurrent. Measured: 0 of 300 sessions differ (before: 25)."""
    for seed in range(60):
        assert relay(loro_c, seed) == relay(loro, seed), seed


def test_a_hub_relaying_marked_text_gets_loros_events():
    """Concurrent imports take the comparison path: loro annotates each new mark's range
    when it meets its end anchor, in document order, so a mark's retains show only the
    marks of the import whose end anchors came before (and the older ones): composing
    them cuts the items there. Measured: 0 of 300 sessions differ (before: 51)."""
    for seed in range(40):
        assert relay(loro_c, seed, marking=True) == relay(loro, seed, marking=True), seed


def chain_history(mod, seed, n_ops, marking):
    """A text edited by peers taking turns, each continuing from the last (one chain of
    changes from the root): inserts, deletes and, when `marking`, overlapping marks and
    unmarks of three keys with values that differ."""
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = 1
    for _ in range(n_ops):
        if rng.random() < 0.3:
            nxt = mod.LoroDoc()
            nxt.peer_id = rng.choice([1, 2, 3, 7])
            nxt.import_(doc.export(mod.ExportMode.Snapshot()))
            doc = nxt
        t = doc.get_text("t")
        n = len(t.to_string())
        if marking and n > 1 and rng.random() < 0.3:
            p = rng.randrange(n - 1)
            end = rng.randrange(p + 1, min(n, p + 30) + 1)
            key = rng.choice(["bold", "link", "italic"])
            if rng.random() < 0.75:
                t.mark(p, end, key, rng.choice([True, "x", 1]) if key == "link" else rng.choice([True, 2]))
            else:
                t.unmark(p, end, key)
        else:
            type_or_delete(rng, t, 0.7, 4)
        doc.commit()
    return doc


def whole_history_events(mod, seed, n_ops, marking, as_json):
    """The events of a fresh document importing a chain's whole history at once."""
    src = chain_history(mod, seed, n_ops, marking)
    doc = mod.LoroDoc()
    seen = []
    sub = doc.subscribe_root(lambda e: seen.append(text_items(e)))
    if as_json:
        doc.import_json_updates(src.export_json_updates(mod.VersionVector(), src.oplog_vv))
    else:
        doc.import_(src.export(mod.ExportMode.Updates(mod.VersionVector())))
    del sub
    return seen, doc.get_text("t").to_string()


@pytest.mark.parametrize("marking", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_chain_of_several_peers_imported_whole_gives_loros_items(marking, as_json):
    """A history that is one chain is Linear into an empty document. JSON text lies in
    one arena in the order applied, so an insert continues another peer's when its bytes
    follow (loro_c joined only a peer's own: 15 of 300 JSON sessions differed, 33 with
    marks); with every mark the import's, the ranges' styles come from the marks annotated
    so far (LinStyleMap) instead of the marks open at each stretch."""
    for seed in range(60):
        n_ops = 5 + seed % 60
        assert (whole_history_events(loro_c, seed, n_ops, marking, as_json)
                == whole_history_events(loro, seed, n_ops, marking, as_json)), seed


def many_marks_session(mod, seed, n_marks):
    """Peer 2 marks and unmarks a shared text many times (overlapping ranges, three keys)
    while peer 1 inserts; peer 1, subscribed, imports them in one concurrent import."""
    rng = random.Random(seed)
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "abcdefghij" * 30)
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(mod.ExportMode.Snapshot()))
    a.get_text("t").insert(7, "zz")
    a.commit()
    tb = b.get_text("t")
    for _ in range(n_marks):
        p = rng.randrange(290)
        end = p + rng.randrange(1, 15)
        key = rng.choice(["bold", "link", "italic"])
        if rng.random() < 0.8:
            tb.mark(p, end, key, rng.choice([True, "x"]) if key == "link" else True)
        else:
            tb.unmark(p, end, key)
        if rng.random() < 0.1:
            tb.insert(rng.randrange(290), rng.choice(WORDS))
    b.commit()
    seen = []
    sub = a.subscribe_root(lambda e: seen.append(text_items(e)))
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    del sub
    return seen, a.get_text("t").to_delta() and [(q.insert, q.attributes) for q in a.get_text("t").to_delta()]


@pytest.mark.parametrize("seed", range(4))
def test_a_concurrent_import_of_many_marks_gives_loros_items(seed):
    """Each imported mark's retains are composed over the ones before (RetainRuns, found
    by bisection), then laid over the delta in one pass (overlay_all)."""
    assert many_marks_session(loro_c, seed, 200) == many_marks_session(loro, seed, 200)
