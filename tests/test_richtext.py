"""Rich text (Loro's marks): worked examples and random multi-peer sessions, each run in
`loro` and loro_c side by side and compared (text, deltas, rich-text values, exports)."""
import random

import loro
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import loro_c

LIBS = (loro, loro_c)


def norm_delta(items):
    out = []
    for x in items:
        if isinstance(x, (loro.TextDelta.Insert, loro_c.TextDelta.Insert)):
            out.append(("insert", x.insert, x.attributes or None))
        elif isinstance(x, (loro.TextDelta.Retain, loro_c.TextDelta.Retain)):
            out.append(("retain", x.retain, x.attributes or None))
        else:
            out.append(("delete", x.delete))
    return out


def merged(items):
    """Adjacent inserts with equal attributes joined (loro splits where its storage does)."""
    out = []
    for it in items:
        if out and it[0] == "insert" and out[-1][0] == "insert" and out[-1][2] == it[2]:
            out[-1] = ("insert", out[-1][1] + it[1], it[2])
        else:
            out.append(it)
    return out


def richtext(value):
    out = []
    for item in value:
        a = item.get("attributes") or None
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0] + item["insert"], a)
        else:
            out.append((item["insert"], a))
    return out


def state(doc, name="t"):
    t = doc.get_text(name)
    return (t.to_string(), merged(norm_delta(t.to_delta())), richtext(t.get_richtext_value()))


def both(script, peer=1):
    """Run `script(lib, doc)` on a fresh document of each library; return the docs."""
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = peer
        script(lib, d)
        d.commit()
        docs[lib] = d
    return docs


def assert_same(docs, name="t"):
    a, b = state(docs[loro], name), state(docs[loro_c], name)
    assert b == a
    docs[loro_c]._check_invariants()


def json_all(doc, lib):
    return doc.export_json_updates(lib.VersionVector(), doc.oplog_vv)


# ----------------------------------------------------------------- worked examples

def test_mark_and_unmark_parts_of_a_range():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "hello world")
        t.mark(0, 5, "bold", True)
        t.mark(3, 8, "link", "https://x")
        t.unmark(1, 2, "bold")
        t.unmark(6, 7, "link")
    docs = both(script)
    assert_same(docs)
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)


@pytest.mark.parametrize("expand", ["Before", "After", "Both", "Null"])
@pytest.mark.parametrize("unmark", [False, True])
def test_inserts_at_both_edges_follow_the_expand_type(expand, unmark):
    def script(lib, d):
        cfg = lib.StyleConfigMap()
        cfg.insert("s", getattr(lib.ExpandType, expand))
        d.config_text_style(cfg)
        t = d.get_text("t")
        t.insert(0, "abcdef")
        t.mark(1, 5, "s", 7)
        if unmark:
            t.unmark(2, 4, "s")
        # at each edge of each range, and at both ends of the text
        for pos in (6, 5, 4, 2, 1, 0):
            t.insert(pos, "X")
    docs = both(script)
    assert_same(docs)
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)


def test_marks_on_emoji_with_utf16_and_utf8_positions():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "a😀b😀c€d")
        t.mark_utf16(1, 4, "bold", True)      # 😀b
        t.mark_utf8(6, 11, "italic", True)    # 😀c
        t.unmark_utf16(3, 4, "bold")
        t.insert_utf16(4, "Z")
        t.delete_utf16(0, 1)
    docs = both(script)
    assert_same(docs)
    for lib in LIBS:
        t = docs[lib].get_text("t")
        assert t.len_utf16 == docs[loro].get_text("t").len_utf16
        assert t.len_utf8 == docs[loro].get_text("t").len_utf8
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)


def test_config_default_text_style_and_missing_configuration():
    for lib in LIBS:
        d = lib.LoroDoc()
        t = d.get_text("t")
        t.insert(0, "abc")
        with pytest.raises(BaseException):
            t.mark(0, 1, "custom", 1)
        d.config_default_text_style(lib.ExpandType.Both)
        t.mark(0, 1, "custom", 1)
        t.insert(1, "Q")
        assert richtext(t.get_richtext_value()) == [("aQ", {"custom": 1}), ("bc", None)]
        with pytest.raises(BaseException):
            t.mark(2, 2, "bold", True)
        with pytest.raises(BaseException):
            t.mark(0, 99, "bold", True)


def test_a_mark_that_changes_nothing_writes_no_op():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "hello")
        t.mark(0, 5, "bold", True)
        t.mark(1, 3, "bold", True)      # already bold
        t.unmark(0, 5, "italic")        # no italic anywhere
    docs = both(script)
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)
    assert_same(docs)


def test_concurrent_bold_link_comment_marks():
    base = {lib: lib.LoroDoc() for lib in LIBS}
    for lib, d in base.items():
        d.peer_id = 100
        d.get_text("t").insert(0, "The quick brown fox")
        d.commit()
    peers = {}
    for lib in LIBS:
        snap = base[lib].export(lib.ExportMode.Snapshot())
        ds = []
        for p, ops in ((1, [("mark", 0, 9, "bold", True), ("insert", 4, "very ")]),
                       (2, [("mark", 4, 15, "link", "u"), ("unmark", 2, 6, "bold")]),
                       (3, [("mark", 10, 19, "comment", {"id": 1}), ("delete", 3, 4)])):
            d = lib.LoroDoc()
            d.peer_id = p
            d.import_(snap)
            t = d.get_text("t")
            for op in ops:
                if op[0] == "mark":
                    t.mark(*op[1:])
                elif op[0] == "unmark":
                    t.unmark(*op[1:])
                elif op[0] == "insert":
                    t.insert(op[1], op[2])
                else:
                    t.delete(op[1], op[2])
            d.commit()
            ds.append(d)
        peers[lib] = ds
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        results = {}
        for lib in LIBS:
            target = lib.LoroDoc()
            target.import_(base[lib].export(lib.ExportMode.Snapshot()))
            for i in order:
                target.import_(peers[lib][i].export(lib.ExportMode.Updates(lib.VersionVector())))
            results[lib] = target
        assert_same(results)


def test_marks_over_deleted_and_concurrently_inserted_text():
    docs = {}
    for lib in LIBS:
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        a.get_text("t").insert(0, "0123456789")
        a.commit()
        b.import_(a.export(lib.ExportMode.Snapshot()))
        a.get_text("t").mark(2, 8, "bold", True)
        a.get_text("t").delete(4, 2)
        a.commit()
        b.get_text("t").insert(5, "NEW")
        b.get_text("t").delete(1, 2)
        b.get_text("t").mark(0, 4, "italic", True)
        b.commit()
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        docs[lib] = a
        assert state(a) == state(b)
    assert_same(docs)


def test_blobs_cross_both_ways():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "héllo😀 world")
        t.mark(0, 3, "bold", True)
        t.insert(4, "X")
        t.delete(1, 2)
        t.mark(2, 9, "link", None if lib is None else "l")
    docs = both(script)
    for src, dst in ((loro, loro_c), (loro_c, loro)):
        d = docs[src]
        for blob in (d.export(src.ExportMode.Updates(src.VersionVector())),
                     d.export(src.ExportMode.Snapshot())):
            other = dst.LoroDoc()
            other.import_(blob)
            assert state(other) == state(docs[loro])
        other = dst.LoroDoc()
        other.import_json_updates(json_all(d, src))
        assert state(other) == state(docs[loro])
    a = docs[loro].export(loro.ExportMode.Updates(loro.VersionVector()))
    assert docs[loro_c].export(loro_c.ExportMode.Updates(loro_c.VersionVector())) == a


def test_apply_delta_and_to_delta_round_trip():
    delta_items = [("insert", "Hello", {"bold": True}), ("insert", " "),
                   ("insert", "world", {"link": "w", "italic": True}), ("insert", "!\n")]
    for lib in LIBS:
        d = lib.LoroDoc()
        t = d.get_text("t")
        t.apply_delta([lib.TextDelta.Insert(x[1], x[2] if len(x) > 2 else None) for x in delta_items])
        back = norm_delta(t.to_delta())
        assert merged(back) == [(x[0], x[1], x[2] if len(x) > 2 else None) for x in delta_items]
        # applied again into a fresh text, the delta gives the same text
        e = lib.LoroDoc().get_text("u")
        e.apply_delta(t.to_delta())
        assert merged(norm_delta(e.to_delta())) == merged(back)
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "abc")
        d.config_default_text_style(lib.ExpandType.Both)
        t.mark(0, 1, "foo", 1)
        t.apply_delta([lib.TextDelta.Retain(1, {"a": 1}), lib.TextDelta.Insert("xy", {"b": 2}),
                       lib.TextDelta.Delete(1), lib.TextDelta.Retain(1, {"bold": True})])
    docs = both(script)
    assert_same(docs)
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)


def test_slice_delta():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "a😀bcdef")
        t.mark(1, 4, "bold", True)
    docs = both(script)
    for start, end, unit in ((0, 3, "Unicode"), (3, 6, "Utf16"), (1, 9, "Bytes")):
        got = [merged(norm_delta(docs[lib].get_text("t").slice_delta(
            start, end, getattr(lib.PositionType, unit)))) for lib in LIBS]
        assert got[1] == got[0]


# ----------------------------------------------------------------- random sessions

# Values: mostly distinct ("unique", so that anchor placement shows in the deltas), some
# repeated (so that redundant marks, which loro does not write, occur).
KEYS = [("bold", [True, "unique", None]), ("italic", [True, "unique", None]),
        ("link", ["a", "unique", None]), ("comment", [{"id": 1}, "unique", None])]


def random_edit(rng, t, lib):
    n = t.len_unicode
    r = rng.random()
    if n == 0 or r < 0.4:
        s = rng.choice(["a", "bc", "😀", "d€", "xyz"])
        t.insert(rng.randint(0, n), s)
    elif r < 0.55:
        p = rng.randrange(n)
        t.delete(p, rng.randint(1, min(3, n - p)))
    elif n >= 1:
        a = rng.randrange(n)
        b = rng.randint(a + 1, n)
        key, values = rng.choice(KEYS)
        v = rng.choice(values)
        if v == "unique":
            v = rng.randrange(1 << 30)
        if v is None:
            t.unmark(a, b, key)
        else:
            t.mark(a, b, key, v)


def run_session(seed):
    rng = random.Random(seed)
    n_peers = rng.randint(2, 3)
    plan = []
    for _ in range(rng.randint(4, 12)):
        plan.append((rng.randrange(n_peers), rng.randint(1, 4), rng.random(), rng.randrange(n_peers),
                     rng.random()))
    docs = {}
    for lib in LIBS:
        peers = []
        for i in range(n_peers):
            d = lib.LoroDoc()
            d.peer_id = i + 1
            peers.append(d)
        erng = random.Random(seed + 1)
        for who, k, cut, sync_to, how in plan:
            t = peers[who].get_text("t")
            for _ in range(k):
                random_edit(erng, t, lib)
            peers[who].commit()
            if cut < 0.6 and sync_to != who:
                src, dst = peers[who], peers[sync_to]
                if how < 0.5:
                    dst.import_(src.export(lib.ExportMode.Updates(dst.oplog_vv)))
                else:
                    dst.import_json_updates(src.export_json_updates(dst.oplog_vv, src.oplog_vv))
        docs[lib] = peers
    for i in range(n_peers):
        assert state(docs[loro_c][i]) == state(docs[loro][i]), f"peer {i} before the final sync"
    # deliver everything to a fresh document in several orders, binary and JSON, with a
    # duplicated blob
    for order_seed in range(2):
        orng = random.Random(order_seed)
        order = list(range(n_peers)) * 2
        orng.shuffle(order)
        result = {}
        for lib in LIBS:
            fresh = lib.LoroDoc()
            for j, i in enumerate(order):
                src = docs[lib][i]
                if (j + order_seed) % 2:
                    fresh.import_(src.export(lib.ExportMode.Updates(lib.VersionVector())))
                else:
                    fresh.import_json_updates(json_all(src, lib))
            result[lib] = fresh
        assert state(result[loro_c]) == state(result[loro])
        assert result[loro_c].get_deep_value() == result[loro].get_deep_value()
        result[loro_c]._check_invariants()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_random_sessions_match_loro(seed):
    run_session(seed)


# ----------------------------------------------------------------- events

def event_items(diff):
    """A text diff in canonical form: between two retains the inserts (in order, equal
    attributes merged) before the deletes, as tests/_events_util.canonical (loro orders an
    insert and a delete of one gap either way)."""
    out, ins, dels = [], [], 0
    for it in norm_delta(diff.diff) + [("retain", 0, None)]:
        if it[0] == "retain":
            out.extend(merged(ins))
            if dels:
                out.append(("delete", dels))
            ins, dels = [], 0
            if it[1]:
                if out and out[-1][0] == "retain" and out[-1][2] == it[2]:
                    out[-1] = ("retain", out[-1][1] + it[1], it[2])
                else:
                    out.append(it)
        elif it[0] == "insert":
            ins.append(it)
        else:
            dels += it[1]
    while out and out[-1][0] == "retain" and not out[-1][2]:
        out.pop()
    return out


def test_text_events_carry_attributes_like_loros():
    logs = {}
    for lib in LIBS:
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        log = []
        subs = [a.subscribe_root(lambda e, log=log: log.append(("a", [event_items(x.diff) for x in e.events]))),
                b.subscribe_root(lambda e, log=log: log.append(("b", [event_items(x.diff) for x in e.events])))]
        t = a.get_text("t")
        t.insert(0, "hello world")
        a.commit()
        t.mark(0, 5, "bold", True)
        a.commit()
        t.mark(2, 8, "link", "x")
        a.commit()
        t.insert(3, "ZZ")
        a.commit()
        t.unmark(1, 3, "bold")
        a.commit()
        t.delete(0, 2)
        a.commit()
        b.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
        t.mark(0, 4, "italic", True)
        t.insert(1, "i")
        a.commit()
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        logs[lib] = log
        del subs
    assert logs[loro_c] == logs[loro]


def test_cursors_update_and_editor_in_marked_text():
    def script(lib, d):
        t = d.get_text("t")
        t.insert(0, "hello brave new world")
        t.mark(2, 9, "bold", True)
        t.mark(6, 15, "link", "z")
        t.update("hello, brave old world!")
        t.update_by_line("hello, brave old world!\nbye")
    docs = both(script)
    assert_same(docs)
    assert json_all(docs[loro_c], loro_c) == json_all(docs[loro], loro)
    for pos in (0, 3, 7, 12, 20):
        got = []
        for lib in LIBS:
            d = docs[lib]
            t = d.get_text("t")
            cur = t.get_cursor(pos, lib.Side.Middle)
            t.insert(1, "AB")
            t.mark(0, 4, "italic", True)
            got.append((d.get_cursor_pos(cur).current.pos, t.get_editor_at_unicode_pos(pos)))
        assert got[1] == got[0]


def event_session(seed):
    """Two peers editing, marking and syncing (binary updates); every event of both
    documents, canonical, per library."""
    rng = random.Random(seed)
    plan = [(rng.randrange(2), rng.randint(1, 4), rng.random()) for _ in range(rng.randint(3, 10))]
    logs = {}
    for lib in LIBS:
        peers = []
        for i in range(2):
            d = lib.LoroDoc()
            d.peer_id = i + 1
            peers.append(d)
        log = []
        subs = [p.subscribe_root(lambda e, log=log, i=i: log.append((i, [event_items(x.diff) for x in e.events])))
                for i, p in enumerate(peers)]
        erng = random.Random(seed + 1)
        for who, k, cut in plan:
            t = peers[who].get_text("t")
            for _ in range(k):
                random_edit(erng, t, lib)
            peers[who].commit()
            if cut < 0.7:
                dst = peers[1 - who]
                dst.import_(peers[who].export(lib.ExportMode.Updates(dst.oplog_vv)))
        logs[lib] = log
        del subs
    return logs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_random_session_events_match_loro(seed):
    logs = event_session(seed)
    assert logs[loro_c] == logs[loro]


# ----------------------------------------------------------------- long texts

def long_marked_session(lib, seed, rounds=300):
    """One peer typing a long text (many B-tree leaves and levels) with marks that grow as
    text is typed at their edges, redundant marks, unmarks and a second peer's concurrent
    marks merged in every 50 rounds: the paths that find the marks open at a position."""
    rng = random.Random(seed)
    a, b = lib.LoroDoc(), lib.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    ta, tb = a.get_text("t"), b.get_text("t")
    checks = []
    for i in range(rounds):
        n = ta.len_unicode
        r = rng.random()
        if n < 50 or r < 0.55:
            # mostly near the end, as typing goes, so that marks there expand
            p = n if rng.random() < 0.6 else rng.randint(0, n)
            ta.insert(p, "".join(rng.choice("abcdef ") for _ in range(rng.randint(1, 30))))
        elif r < 0.65:
            p = rng.randrange(n)
            ta.delete(p, rng.randint(1, min(8, n - p)))
        else:
            s = rng.randrange(n)
            e = min(n, s + (rng.randint(1, 40) if rng.random() < 0.8 else rng.randint(1, n)))
            key = rng.choice(["bold", "italic", "link"])
            if rng.random() < 0.2:
                ta.unmark(s, e, key)
            else:
                ta.mark(s, e, key, rng.choice([True, True, "x", 7]))
        a.commit()
        if i % 50 == 49:
            b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
            m = tb.len_unicode
            for _ in range(3):
                s = rng.randrange(m)
                tb.mark(s, min(m, s + rng.randint(1, 60)), rng.choice(["bold", "link"]), True)
            b.commit()
            a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
            checks.append((a.oplog_vv.get_last(1), a.oplog_vv.get_last(2), state(a)))
    return a, checks


@pytest.mark.parametrize("seed", range(3))
def test_long_marked_texts_write_loros_ops(seed):
    """A mark over a long text writes exactly the ops loro writes (none when redundant) and
    gives loro's styles: same counters at every sync, same deltas."""
    docs = {lib: long_marked_session(lib, seed) for lib in LIBS}
    assert docs[loro_c][1] == docs[loro][1]
    docs[loro_c][0]._check_invariants()
    assert docs[loro_c][0].get_text("t").len_unicode > 2000


def test_many_marks_open_across_long_text():
    """More marks open across a stretch than a B-tree node's style summary holds (the search
    then looks inside the node): 40 overlapping marks over a text of many leaves, with text
    typed inside them and redundant marks that loro does not write."""
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        t = d.get_text("t")
        rng = random.Random(5)
        for i in range(400):
            t.insert(rng.randint(0, t.len_unicode), "word%d " % i)
            d.commit()
        n = t.len_unicode
        for i in range(40):
            t.mark(i * 30, n - i * 20, "bold" if i % 2 else "link", i)
        for i in range(200):
            p = rng.randrange(t.len_unicode)
            t.insert(p, "xy")
            if i % 10 == 0:
                t.mark(p, min(t.len_unicode, p + 50), "bold", rng.choice([1, 3]))
        d.commit()
        docs[lib] = d
    assert docs[loro_c].oplog_vv.get_last(1) == docs[loro].oplog_vv.get_last(1)
    assert_same(docs)


@pytest.mark.parametrize("unit,text,ranges", [
    ("utf8", "a€b", [(0, 2), (1, 2), (2, 3), (2, 4), (0, 5), (3, 5)]),
    ("utf16", "a😀b", [(0, 2), (1, 2), (2, 3), (1, 4), (0, 4)]),
])
def test_marks_cut_inside_a_character_take_it_at_the_end(unit, text, ranges):
    """A UTF-8/UTF-16 mark range cut inside a character moves both ends up to the next
    character, as loro does; a range left empty is still written (two ops)."""
    for s, e in ranges:
        docs = {}
        for lib in LIBS:
            d = lib.LoroDoc()
            d.peer_id = 1
            t = d.get_text("t")
            t.insert(0, text)
            getattr(t, "mark_" + unit)(s, e, "bold", True)
            t.insert(t.len_unicode, "z")
            d.commit()
            docs[lib] = d
        assert docs[loro_c].oplog_vv.get_last(1) == docs[loro].oplog_vv.get_last(1), (s, e)
        assert_same(docs)
    for lib in LIBS:
        t = lib.LoroDoc().get_text("t")
        t.insert(0, text)
        with pytest.raises(BaseException, match="Start must be less than end"):
            getattr(t, "mark_" + unit)(2, 2, "bold", True)


def test_fork_keeps_the_style_configuration():
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        sc = lib.StyleConfigMap()
        sc.insert("foo", lib.ExpandType.After)
        d.config_text_style(sc)
        d.get_text("t").insert(0, "hello")
        f = d.fork()
        f.peer_id = 1
        ft = f.get_text("t")
        ft.mark(0, 2, "foo", 1)
        ft.insert(2, "XY")
        g = d.fork_at(d.oplog_frontiers)
        g.get_text("t").mark(1, 3, "foo", 2)
        f.import_(g.export(lib.ExportMode.Updates(f.oplog_vv)))
        docs[lib] = f
    assert_same(docs)
    for lib in LIBS:
        d = lib.LoroDoc()
        d.config_default_text_style(lib.ExpandType.Before)
        d.get_text("t").insert(0, "abc")
        f = d.fork()
        f.get_text("t").mark(0, 2, "zzz", 1)
        f.get_text("t").insert(0, "X")
        docs[lib] = f
    assert_same(docs)


def test_a_failing_apply_delta_changes_nothing():
    """An apply_delta refused part way (range past the end, a retain of nothing with
    attributes, a wrong item, a bad value) leaves the text and its history as they were."""
    d = loro_c.LoroDoc()
    t = d.get_text("t")
    t.insert(0, "hello")
    t.mark(0, 2, "bold", True)
    d.commit()
    before = (state(d), d.oplog_vv)
    TD = loro_c.TextDelta
    for delta, err in [
        ([TD.Insert("ab", None), TD.Retain(10, None)], loro_c.OutOfBoundsError),
        ([TD.Insert("ab", None), TD.Delete(9)], loro_c.OutOfBoundsError),
        ([TD.Insert("ab", None), TD.Retain(0, {"bold": True})], loro_c.LoroValueError),
        ([TD.Insert("ab", None), "x"], loro_c.LoroTypeError),
        ([TD.Retain(1, None), TD.Insert("ab", {"bold": object()})], loro_c.LoroError),
    ]:
        with pytest.raises(err):
            t.apply_delta(delta)
        d.commit()
        assert (state(d), d.oplog_vv) == before
        d._check_invariants()


# ----------------------------------------------------------------- detached texts

def detached_session(lib, seed):
    """Random inserts, deletes, marks and unmarks on a detached LoroText; its delta after
    every step, then attached (into a list, with an edit) and through a snapshot."""
    r = random.Random(seed)
    t = lib.LoroText()
    seen = []
    for _ in range(r.randint(3, 20)):
        n = t.len_unicode
        x = r.random()
        if n == 0 or x < 0.4:
            t.insert(r.randint(0, n), r.choice(["a", "bc", "😀"]))
        elif x < 0.5:
            p = r.randrange(n)
            t.delete(p, r.randint(1, min(3, n - p)))
        else:
            a = r.randrange(n)
            b = r.randint(a + 1, n)
            key = r.choice(["bold", "link", "italic"])
            v = r.choice([True, 1, None])
            if v is None:
                t.unmark(a, b, key)
            else:
                t.mark(a, b, key, v)
        seen.append(merged(norm_delta(t.to_delta())))
    d = lib.LoroDoc()
    d.peer_id = 3
    attached = d.get_list("l").insert_container(0, t)
    attached.insert(0, "Q")
    d.commit()
    loaded = lib.LoroDoc()
    loaded.import_(d.export(lib.ExportMode.Snapshot()))
    return (seen, merged(norm_delta(attached.to_delta())),
            merged(norm_delta(loaded.get_list("l").get(0).container.to_delta())), d.get_deep_value())


@pytest.mark.parametrize("seed", range(0, 240, 3))
def test_detached_texts_mark_like_loros(seed):
    """A detached text's marks all rank alike in loro (the first mark of a key on a
    character keeps it; unmarks and later marks only reach characters without one), and
    attaching writes its delta with the target document's style configuration."""
    assert detached_session(loro_c, seed) == detached_session(loro, seed)


def test_detached_text_marks_worked_example():
    for lib in LIBS:
        t = lib.LoroText()
        t.insert(0, "abcdef")
        t.mark(0, 3, "bold", True)
        t.mark(1, 4, "bold", "x")      # only "d" had no bold
        t.unmark(0, 2, "bold")         # every character has a bold already: nothing
        t.insert(3, "Q")               # typed at the end of a mark: joins it
        assert merged(norm_delta(t.to_delta())) == [
            ("insert", "abcQ", {"bold": True}), ("insert", "d", {"bold": "x"}), ("insert", "ef", None)]


@pytest.mark.parametrize("first, second", [(True, 1), (1, True), (False, 0), (0, False),
                                           (1, 1.0), (1.0, 1), ([1], [True])])
def test_marks_of_equal_but_differently_typed_values_stay_apart(first, second):
    """A mark of 1 over one of True (equal in Python, not in loro): to_delta and the
    events keep the two runs apart, as loro's do."""
    got = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.peer_id = 1
        cfg = lib.StyleConfigMap()
        cfg.insert("bold", lib.ExpandType.After)
        d.config_text_style(cfg)
        seen = []
        sub = d.subscribe_root(lambda e: seen.append(
            [[(type(x).__name__[-6:], getattr(x, "insert", getattr(x, "retain", None)),
               getattr(x, "attributes", None)) for x in c.diff.diff] for c in e.events]))
        t = d.get_text("t")
        t.insert(0, "zxz ")
        d.commit()
        t.mark(0, 4, "bold", first)
        d.commit()
        t.mark(0, 1, "bold", second)
        d.commit()
        fresh = lib.LoroDoc()
        fresh.config_text_style(cfg)
        fresh.import_(d.export(lib.ExportMode.Snapshot()))
        got.append(([(x.insert, x.attributes) for x in t.to_delta()],
                    [(x.insert, x.attributes) for x in fresh.get_text("t").to_delta()], seen))
        del sub
    assert repr(got[1]) == repr(got[0])
