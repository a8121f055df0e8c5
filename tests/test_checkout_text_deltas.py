"""A checkout's text delta item by item as loro 1.17.1 arranges it.

Loro reads the changed spans of a text in document order into a delta where an insert joins
the one before only when their ids (Lamport clocks included) continue and their bytes follow
in one buffer of its string storage; then it builds the event from that delta, each item's
deletes first, where an insert joins the item before whenever its bytes follow. A text
shown again whole (a map key holds it once more) is read the same way from empty. JSON
updates list the changes by Lamport, ties in the order of loro's hash map of the peers;
the importer's string arena holds their text in that order. A snapshot export or a fork
makes loro re-read its change blocks: their text then lies side by side per peer and
nothing new folds into it."""
import json
import random

import loro
import pytest

import loro_c
import test_events_differential as differential
from _events_util import canonical, nev


def text_rows(mod, script):
    """The raw text deltas (item lists) of the events `script` makes a subscriber see."""
    got = []
    docs = {}

    def watch(doc):
        # (sorted: the order of the containers follows a hash map, compared elsewhere)
        docs["sub"] = doc.subscribe_root(lambda e: got.append(
            sorted((row[3] for row in nev(e)[3] if row[3][0] == "Text"), key=repr)))

    script(mod, watch)
    return [rows for rows in got if rows]


def checkout(mod, doc, ids):
    doc.checkout(mod.Frontiers.from_ids([mod.ID(p, c) for p, c in ids]))


def both(script):
    got = [text_rows(mod, script) for mod in (loro, loro_c)]
    assert got[0] == got[1]
    assert got[0]
    return got[0]


def test_a_text_shown_again_is_read_span_by_span():
    # 'é' is typed before 'a' (ids 8 before 7): two inserts, as loro's tracker has them
    def script(mod, watch):
        d = mod.LoroDoc()
        d.peer_id = 1
        m = d.get_map("m")
        t = m.insert_container("c", mod.LoroText())
        d.commit()
        t.insert(0, "a😀")
        t.insert(0, "é")
        d.commit()
        m.insert("c", 1)
        d.commit()
        watch(d)
        checkout(mod, d, [(1, 3)])
        d.checkout_to_latest()

    rows = both(script)
    assert ("Text", [("i", "é"), ("i", "a😀")]) in rows[0]


def test_bytes_that_follow_join_even_where_ids_do_not():
    # the counters of 'ab' and 'cd' are apart (a map write between), their bytes follow in
    # loro's arena: one insert; 'x', typed last before 'ab', is one of its own
    def script(mod, watch):
        d = mod.LoroDoc()
        d.peer_id = 1
        t = d.get_text("t")
        d.get_map("m").insert("k", 1)
        d.commit()
        t.insert(0, "ab")
        d.commit()
        d.get_map("m").insert("k", 2)
        d.commit()
        t.insert(2, "cd")
        d.commit()
        t.insert(0, "x")
        d.commit()
        watch(d)
        checkout(mod, d, [(1, 0)])
        d.checkout_to_latest()
        checkout(mod, d, [(1, 2)])
        d.checkout_to_latest()

    assert both(script)[1] == [("Text", [("i", "x"), ("i", "abcd")])]


def test_lamport_gap_keeps_a_delete_after_the_next_insert():
    # ' x' and 'cxx' continue in ids and bytes, but the import between them raised the
    # Lamport clock: loro's tracker keeps them apart, so the deletes of 'yba' that follow
    # 'cxx' are applied before it, join ' x', and show after the joined ' xcxx'
    def script(mod, watch):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        t = a.get_text("t")
        t.insert(0, "Pyba")
        a.commit()
        b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
        for k in range(5):
            b.get_map("m").insert(str(k), k)
        b.get_text("t").insert(4, "aa")
        b.commit()
        t.insert(1, " x")
        a.commit()
        a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
        t.insert(3, "cxx")
        t.delete(6, 3)
        a.commit()
        watch(a)
        checkout(mod, a, [(1, 3)])
        a.checkout_to_latest()

    assert both(script)[1] == [("Text", [("r", 1), ("i", " xcxx"), ("d", 3), ("i", "aa")])]


@pytest.mark.parametrize("value", [True, "u"])
@pytest.mark.parametrize("delivery", ["one blob", "in order", "reversed", "twice", "late snapshot"])
def test_lamport_gap_keeps_inserts_apart_in_a_marked_text(value, delivery):
    # peer 2 types '\n' (2:0), then 'xyz' (2:1..) after peer 1's change that deletes 'ha'
    # and marks its own '\n': the ids continue, the Lamport clocks do not, so loro's tracker
    # keeps them apart and the deletes join the first: [insert '\nxyz', delete 2], not
    # [delete 2, insert '\nxyz'] (server cycle 2850). A text holding anchors is composed by
    # rich_checkout, where the mark's retain cuts the items.
    def session(mod):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        blobs = []

        def send(src, dst):
            blob = src.export(mod.ExportMode.Updates(dst.oplog_vv))
            blobs.append(blob)
            dst.import_(blob)

        a.get_text("t").insert(0, "hab")
        a.commit()
        send(a, b)
        b.get_text("t").insert(0, "\n")
        b.commit()
        a.get_text("t").insert(0, "\n")
        a.commit()
        send(b, a)
        t = a.get_text("t")
        t.delete(t.to_string().index("h"), 2)
        t.mark(0, 1, "bold", value)
        a.commit()
        send(a, b)
        b.get_text("t").insert(2, "xyz")
        b.commit()
        blobs.append(b.export(mod.ExportMode.Updates(a.oplog_vv)))
        d = mod.LoroDoc()
        if delivery == "one blob":
            order = [b.export(mod.ExportMode.Updates(mod.VersionVector()))]
        elif delivery == "in order":
            order = blobs
        elif delivery == "reversed":
            order = blobs[::-1]
        elif delivery == "twice":
            order = blobs[1:] + blobs
        else:
            order = [blobs[0], b.export(mod.ExportMode.Snapshot())]
        for blob in order:
            d.import_(blob)
        assert d.get_text("t").to_string() == "\n\nxyzb"
        got = []
        sub = d.subscribe_root(lambda e: got.append([
            [(getattr(x, "insert", None), getattr(x, "retain", None),
              getattr(x, "delete", None), getattr(x, "attributes", None))
             for x in c.diff.diff] for c in e.events]))
        checkout(mod, d, [(1, 3)])
        d.checkout_to_latest()
        sub.unsubscribe()
        return got

    want, got = session(loro), session(loro_c)
    assert got == want
    if delivery == "one blob":
        # (from several blobs the bytes of '\n' and 'xyz' part in loro's string storage)
        assert want[1] == [[(None, 1, None, {"bold": value}), ("\nxyz", None, None, None),
                            (None, None, 2, None)]]


@pytest.mark.parametrize("flush", ["snapshot", "fork", "snapshot twice", "none"])
@pytest.mark.parametrize("holder", ["map", "list"])
def test_a_flush_leaves_the_state_s_bytes_where_they_were(flush, holder):
    # 'ab中' typed, then a flush (loro re-reads its change blocks: the op's text moves to
    # the block's buffer), then 'b' deleted: when a checkout shows the text again, 'a' and
    # '中' still hold the bytes the state took when they were typed, 'b' comes back with
    # the op's new ones: three inserts (one without the flush; test_events_differential
    # seed 1018, step 58, reduced)
    def script(mod, watch):
        d = mod.LoroDoc()
        d.peer_id = 1
        if holder == "map":
            m = d.get_map("m")
            t = m.insert_container("c", mod.LoroText())
        else:
            m = d.get_list("l")
            t = m.insert_container(0, mod.LoroText())
        t.insert(0, "ab中")
        d.commit()
        at = d.oplog_frontiers
        if flush.startswith("snapshot"):
            d.export(mod.ExportMode.Snapshot())
        elif flush == "fork":
            d.fork()
        t.delete(1, 1)
        d.commit()
        if flush == "snapshot twice":
            # a second flush: the state's 'a' and '中' keep the bytes of their first place
            t.insert(2, "z")
            d.commit()
            d.export(mod.ExportMode.Snapshot())
        if holder == "map":
            m.insert("c", 1)
        else:
            m.delete(0, 1)
        d.commit()
        watch(d)
        d.checkout(at)

    want = [("i", "ab中")] if flush == "none" else [("i", "a"), ("i", "b"), ("i", "中")]
    assert both(script)[0] == [("Text", want)]


def test_characters_brought_back_between_flushes_keep_their_second_place():
    # 'bx' is deleted, a checkout brings it back (the op's text as the first flush left
    # it), a second flush moves the op's text again: 'bx' keeps the place it came back
    # with, one insert that follows neither 'a' nor '中' (still where they were typed)
    def script(mod, watch):
        d = mod.LoroDoc()
        d.peer_id = 1
        m = d.get_map("m")
        t = m.insert_container("c", mod.LoroText())
        t.insert(0, "abx中")
        d.commit()
        full = d.oplog_frontiers
        d.export(mod.ExportMode.Snapshot())
        t.delete(1, 2)
        d.commit()
        d.checkout(full)
        d.checkout_to_latest()
        d.get_map("n").insert("k", 1)
        d.commit()
        d.export(mod.ExportMode.Snapshot())
        m.insert("c", 1)
        d.commit()
        watch(d)
        d.checkout(full)

    assert both(script)[0] == [("Text", [("i", "a"), ("i", "bx"), ("i", "中")])]


@pytest.mark.parametrize("load", ["updates", "snapshot", "batch", "fork", "fork_at"])
@pytest.mark.parametrize("revive", [False, True])
@pytest.mark.parametrize("author_edits", [False, True])
def test_a_flush_moves_only_the_text_of_peers_with_new_changes(load, revive, author_edits):
    # peer 1 types ' c' (one op); peer 2 gets it (an import and a flush, or a load that
    # holds peer 1's blocks as encoded), brings it back with a checkout (revive: the state
    # then holds the op's bytes as re-read), deletes ' ' and the text, and flushes again.
    # loro encodes again only the blocks that took changes since, so unless peer 1 wrote
    # more in between, ' ' comes back next to 'c': one insert (plain seed 2797, step 48)
    def script(mod, watch):
        a = mod.LoroDoc()
        a.peer_id = 1
        t = a.get_list("l").insert_container(0, mod.LoroText())
        t.insert(0, " c")
        a.commit()
        typed = a.oplog_frontiers
        if load == "updates":
            b = mod.LoroDoc()
            b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
            b.export(mod.ExportMode.Snapshot())
        elif load == "snapshot":
            b = mod.LoroDoc()
            b.import_(a.export(mod.ExportMode.Snapshot()))
        elif load == "batch":
            b = mod.LoroDoc()
            b.import_batch([a.export(mod.ExportMode.Snapshot())])
        elif load == "fork":
            b = a.fork()
        else:
            b = a.fork_at(typed)
        b.peer_id = 2
        if revive:
            b.checkout(mod.Frontiers())
            b.checkout_to_latest()
        b.get_text(t.id).delete(0, 1)
        b.get_list("l").delete(0, 1)
        b.commit()
        if author_edits:
            a.get_text("other").insert(0, "zz")
            a.commit()
            b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
        b.export(mod.ExportMode.Snapshot())
        watch(b)
        b.checkout(typed)

    rows = both(script)
    want = [("i", " c")] if revive and not author_edits else [("i", " "), ("i", "c")]
    # (with author_edits, the checkout also empties peer 1's other text)
    assert rows[-1] == sorted([("Text", want)] + [("Text", [("d", 2)])] * author_edits, key=repr)


@pytest.mark.parametrize("first", ["snapshot", "json", "local"])
@pytest.mark.parametrize("flush", [False, True])
def test_a_snapshot_into_history_appends_to_the_string_arena(first, flush):
    # peer 2 types 'xx', later 'yy' (one change, one op 'xxyy' in its store); peer 1, which
    # holds text of its own, takes 'xx' and then a snapshot with 'xxyy': loro slices the
    # change to 'yy' before it places the text, at the end of the string arena, right
    # after 'xx' (one op 'xxyy', one insert), unless a flush moved 'xx' since
    # (test_checkout_text_deltas seed 31 reduced)
    def script(mod, watch):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        a.get_text("t").insert(0, "q")
        a.commit()
        watch(a)
        v0 = a.oplog_frontiers
        if first == "local":
            b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
        b.get_text("t").insert(b.get_text("t").len_unicode, "xx")
        b.commit()
        if first == "snapshot":
            a.import_(b.export(mod.ExportMode.Snapshot()))
        elif first == "json":
            a.import_json_updates(b.export_json_updates(a.oplog_vv, b.oplog_vv))
        if flush:
            a.export(mod.ExportMode.Snapshot())
        b.get_text("t").insert(b.get_text("t").len_unicode, "yy")
        b.commit()
        a.import_(b.export(mod.ExportMode.Snapshot()))
        a.checkout(v0)
        a.checkout_to_latest()
        rows.append(change_ops(a.export_json_updates(mod.VersionVector(), a.oplog_vv)))

    got = []
    for mod in (loro, loro_c):
        rows = []
        got.append((text_rows(mod, script), rows))
    assert got[0] == got[1]


def test_checkouts_after_imports_from_several_peers_and_exports():
    def script(mod, watch):
        docs = [mod.LoroDoc() for _ in range(3)]
        for i, d in enumerate(docs):
            d.peer_id = i + 1
        words = ["ab😀", "é中", "xyz"]
        for rnd in range(3):
            for i, d in enumerate(docs):
                t = d.get_text("t")
                t.insert(min(rnd * 2, len(t.to_string())), words[(i + rnd) % 3])
                if rnd == 1:
                    t.delete(0, 1)
                d.commit()
                d.export(mod.ExportMode.Updates(mod.VersionVector()))
                nxt = docs[(i + 1) % 3]
                if rnd == 2:
                    nxt.import_json_updates(d.export_json_updates(nxt.oplog_vv, d.oplog_vv))
                else:
                    nxt.import_(d.export(mod.ExportMode.Updates(nxt.oplog_vv)))
        d = docs[0]
        for other in docs[1:]:
            d.import_(other.export(mod.ExportMode.Updates(d.oplog_vv)))
        watch(d)
        for f in ([(1, 2)], [(2, 4), (3, 1)], [], [(3, 7)]):
            checkout(mod, d, f)
            d.checkout_to_latest()

    both(script)


@pytest.mark.parametrize("seed", [25, 81, 110, 197, 352, 452, 814])
def test_random_sessions_with_checkouts(seed):
    """Sessions of test_events_differential whose checkouts loro_c once arranged otherwise
    (whole texts shown again, ops that loro keeps apart inside one span, a Lamport gap)."""
    differential.run_session(seed)


@pytest.mark.parametrize("seed", [154, 216, 367])
def test_random_sessions_with_json_imports(seed):
    differential.run_session(seed)


def test_json_updates_list_equal_lamports_in_loro_s_peer_order():
    def order(mod):
        docs = []
        for p in (1, 2, 3):
            d = mod.LoroDoc()
            d.peer_id = p
            d.get_text("t").insert(0, str(p))
            d.commit()
            docs.append(d)
        d = mod.LoroDoc()
        d.peer_id = 9
        for other in docs:
            d.import_(other.export(mod.ExportMode.Updates(mod.VersionVector())))
        return differential.json_change_order(d.export_json_updates(mod.VersionVector(), d.oplog_vv))

    assert order(loro) == order(loro_c)


def test_json_updates_follow_loro_s_version_map_grown_by_a_local_op():
    """loro's version hash map reserves a slot before every insert, even of a peer it holds:
    a local op finding it full (3 peers in 4 buckets) grows it, which reorders the peers,
    and so the changes of equal Lamport in JSON updates (seed 5 of
    test_events_differential listed 2@5 and 1@3 the other way round)."""
    def order(mod, commits):
        d = mod.LoroDoc()
        d.peer_id = 3
        for p in (1, 2):
            other = mod.LoroDoc()
            other.peer_id = p
            other.get_text("t").insert(0, str(p))
            other.commit()
            d.import_(other.export(mod.ExportMode.Updates(mod.VersionVector())))
        for k in range(commits):
            d.get_text("t").insert(0, str(k))
            d.commit()
        return differential.json_change_order(d.export_json_updates(mod.VersionVector(), d.oplog_vv))

    for commits in range(4):
        assert order(loro_c, commits) == order(loro, commits), commits
    assert order(loro, 1)[:2] != order(loro, 2)[:2]


def change_ops(text):
    """{change id: its ops} of JSON updates (their order is compared elsewhere)."""
    doc = json.loads(text)
    peers = doc["peers"]

    def resolved(content):
        if "start_id" in content:
            counter, peer = content["start_id"].split("@")
            content = dict(content, start_id=(peers[int(peer)], int(counter)))
        return content

    out = {}
    for ch in doc["changes"]:
        counter, peer = ch["id"].split("@")
        out[(peers[int(peer)], int(counter))] = [resolved(o["content"]) for o in ch["ops"]]
    return out


def shown_text(ev):
    """An event's text deltas: an import's or checkout's item by item, a commit's in
    canonical form (loro splits some of a commit's items: not modelled)."""
    # (an empty text diff left out: loro reports one in some snapshot imports)
    rows = [row[3] for row in ev[3] if row[3][0] == "Text" and row[3][1]]
    if ev[0] == "Local":
        rows = [(kind, canonical(kind, items)) for kind, items in rows]
    return (ev[0], sorted(rows, key=repr))


def flush_session(seed, steps=40):
    """Three peers type into two texts, sync (binary, JSON, snapshots), export snapshots and
    fork now and then (loro then encodes its change blocks: the text of the ops read back
    lies side by side per peer, and nothing folds into it), and travel to versions they
    were at; every text delta item by item and every change's ops as loro's."""
    rng = random.Random(seed)
    sides = []
    for mod in (loro, loro_c):
        docs = []
        for i in range(3):
            d = mod.LoroDoc()
            d.peer_id = i + 1
            docs.append(d)
        sides.append((mod, docs, [[] for _ in docs]))
    subs = [[d.subscribe_root(lambda e, got=got: got.extend(
        x for x in [shown_text(nev(e))] if x[1])) for d, got in zip(docs, gots)]
        for _, docs, gots in sides]
    versions = [[] for _ in range(3)]
    for step in range(steps):
        i = rng.randrange(3)
        r = rng.random()
        name = rng.choice("tu")
        text = "".join(rng.choice("ab😀é中 ") for _ in range(rng.randint(1, 3)))
        j = (i + 1 + rng.randrange(2)) % 3
        how = rng.random()
        at = rng.choice(versions[i]) if versions[i] else None
        for mod, docs, _ in sides:
            d = docs[i]
            rr = random.Random(seed * 7919 + step)
            if r < 0.45:
                t = d.get_text(name)
                n = len(t.to_string())
                if n and rr.random() < 0.3:
                    a = rr.randrange(n)
                    t.delete(a, rr.randint(1, min(3, n - a)))
                else:
                    t.insert(rr.randint(0, n), text)
                if rr.random() < 0.7:
                    d.commit()
            elif r < 0.55:
                d.export(mod.ExportMode.Snapshot())
            elif r < 0.6:
                d.fork()
            elif r < 0.7 and at is not None:
                checkout(mod, d, at)
                d.checkout_to_latest()
            elif r >= 0.7:
                d.commit()
                if how < 0.2:
                    docs[j].import_json_updates(d.export_json_updates(docs[j].oplog_vv, d.oplog_vv))
                elif how < 0.35:
                    docs[j].import_(d.export(mod.ExportMode.Snapshot()))
                else:
                    docs[j].import_(d.export(mod.ExportMode.Updates(docs[j].oplog_vv)))
        for k in (i, j):
            versions[k].append([(f.peer, f.counter)
                                for f in sides[1][1][k].oplog_frontiers.to_list()])
        for k in range(3):
            assert sides[0][2][k] == sides[1][2][k], (seed, step, k)
    for k in range(3):
        # (a peer's own changes: loro folds some ops of a change decoded from a blob that
        # loro_c keeps apart, not modelled)
        ops = [{cid: ops for cid, ops in change_ops(docs[k].export_json_updates(
                    mod.VersionVector(), docs[k].oplog_vv)).items() if cid[0] == str(k + 1)}
               for mod, docs, _ in sides]
        assert ops[0] == ops[1], (seed, k)
    del subs


# seeds where loro joins inserts that loro_c's model of its storage keeps apart (none of
# 0-9999 now but for the final ops comparison, not modelled, of 1979, 3500, 5183 and
# 8156; 691 and 12 more of 0-3999 pass since a snapshot into a document with history
# places its text op by op in Rust's order of the Lamport clocks). 31
# and 301 pass since such a snapshot's text follows the arena's text before it and a
# change the document has the start of adds only its new text; 39 since JSON updates
# list changes of equal Lamport in loro's order, 47 and 51 since a snapshot into a
# document that is not empty places its text as loro does
# (test_snapshot_into_a_document_with_history_places_its_text_as_loro; 14 of seeds
# 60-399 differed before)
UNMODELLED: set = set()


@pytest.mark.parametrize("seed", [s for s in range(60) if s not in UNMODELLED])
def test_checkouts_after_snapshot_exports_and_forks(seed):
    flush_session(seed)


# sessions where a snapshot into a document with history placed its text otherwise than
# loro: its ops take room in the string arena one by one, in Rust's unstable order of the
# changes' Lamport clocks (test_a_snapshot_into_history_places_its_text_op_by_op, 1120 at
# step 16: [insert 'a', insert 'baé', insert 'béb😀中'])
@pytest.mark.parametrize("seed", [691, 1120, 1617, 1824, 2080, 2252, 2456, 2484, 2939, 3093,
                                  3429, 3487, 3510])
def test_checkouts_after_snapshots_into_history(seed):
    flush_session(seed)


def typed_then_imported(mod, n, route, seed):
    """A peer types `n` characters one at a time (its string arena cuts the run into ops
    as it grows) with other edits between, another peer takes them from an updates blob:
    loro reads each block's text back into one buffer and folds ops that continue each
    other (e.g. 40 characters: 32 + 8 where typed, one op where imported)."""
    rng = random.Random(seed)
    a = mod.LoroDoc()
    a.peer_id = 1
    t = a.get_text("t")
    for i in range(n):
        t.insert(len(t.to_string()), rng.choice("ab😀é中"))
        if rng.random() < 0.05:
            a.get_text("u").insert(0, "x")
        if rng.random() < 0.05:
            t.insert(rng.randint(0, len(t.to_string())), "y")
        if rng.random() < 0.1:
            a.commit()
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_text("t").insert(0, "q")
    b.commit()
    blob = a.export(mod.ExportMode.Updates(mod.VersionVector()))
    if route == "relayed":
        r = mod.LoroDoc()
        r.import_(blob)
        blob = r.export(mod.ExportMode.Updates(mod.VersionVector()))
    if route == "batch":
        b.import_batch([blob, a.export(mod.ExportMode.Updates(mod.VersionVector()))])
    else:
        b.import_(blob)
    ops = change_ops(b.export_json_updates(mod.VersionVector(), b.oplog_vv))
    got = []
    sub = b.subscribe_root(lambda e: got.append([[(type(x).__name__.split("_")[-1],
                                                   getattr(x, "insert", None))
                                                  for x in c.diff.diff] for c in e.events]))
    b.get_text("t").insert(0, "z")
    b.commit()
    b.checkout(mod.Frontiers.from_id(mod.ID(2, 0)))
    b.checkout_to_latest()
    del sub
    return ops, got


@pytest.mark.parametrize("route", ["direct", "relayed", "batch"])
@pytest.mark.parametrize("n", [10, 40, 300])
def test_imported_typed_runs_fold_as_loros(n, route):
    for seed in range(4):
        assert typed_then_imported(loro_c, n, route, seed) == typed_then_imported(loro, n, route, seed)


def snapshot_into_history(mod, order, typed, known_high):
    """Peers (ids in `order`: the importer, a third peer it knows, the exporter) with text;
    the exporter types `typed` characters one by one and sends a snapshot to the importer,
    which has history of its own (and, with `known_high`, changes of higher Lamport than
    the exporter's that the exporter has too); the importer then types after the new text.
    Returns the ops of the importer's JSON updates and the deltas of a checkout to before
    the import and back."""
    pb, pc, pa = order
    b = mod.LoroDoc()
    b.peer_id = pb
    b.get_text("t").insert(0, "q")
    b.commit()
    c = mod.LoroDoc()
    c.peer_id = pc
    c.import_(b.export(mod.ExportMode.Snapshot()))
    c.get_text("t").insert(0, "cc")
    c.commit()
    b.import_(c.export(mod.ExportMode.Updates(b.oplog_vv)))
    a = mod.LoroDoc()
    a.peer_id = pa
    if not known_high:
        a.import_(b.export(mod.ExportMode.Snapshot()))
    t = a.get_text("t")
    for _ in range(typed):
        t.insert(len(t.to_string()), "xé")
    a.commit()
    if known_high:
        for _ in range(4):
            b.get_text("u").insert(0, "qq")
            b.commit()
        a.import_(b.export(mod.ExportMode.Snapshot()))
    before = b.oplog_frontiers
    b.import_(a.export(mod.ExportMode.Snapshot()))
    tt = b.get_text("t")
    tt.insert(len(tt.to_string()), "Z")
    b.commit()
    ops = change_ops(b.export_json_updates(mod.VersionVector(), b.oplog_vv))
    got = []
    sub = b.subscribe_root(lambda e: got.append([[(type(x).__name__.split("_")[-1],
                                                   getattr(x, "insert", None))
                                                  for x in c.diff.diff] for c in e.events]))
    b.checkout(before)
    b.checkout_to_latest()
    b.checkout(mod.Frontiers())
    b.checkout_to_latest()
    del sub
    return ops, got


@pytest.mark.parametrize("order", [(1, 5, 9), (1, 9, 5), (5, 1, 9), (5, 9, 1), (9, 1, 5), (9, 5, 1)])
@pytest.mark.parametrize("typed", [2, 20, 150])
@pytest.mark.parametrize("known_high", [False, True])
def test_snapshot_into_a_document_with_history_places_its_text_as_loro(order, typed, known_high):
    """loro places the text of such a snapshot's new changes in its string arena by
    Lamport, op by op: their typed runs fold into one op (as the block's ops do), and a
    later local insert's bytes follow them."""
    want = snapshot_into_history(loro, order, typed, known_high)
    assert snapshot_into_history(loro_c, order, typed, known_high) == want


def snapshot_ops_placed(mod, local, delivery, watch):
    """Peer 1 types 'aaaaa', a map write and 'ccccc' after it (one change, two text ops
    whose ids do not continue), peer 2 'bbbbb' after them (the same Lamport); peer 3, which
    holds `local` characters of its own, takes peer 2's snapshot as `delivery` says."""
    p1, p2, x = mod.LoroDoc(), mod.LoroDoc(), mod.LoroDoc()
    p1.peer_id, p2.peer_id, x.peer_id = 1, 2, 3
    t = p1.get_text("t")
    t.insert(0, "aaaaa")
    p1.get_map("m").insert("k", 1)
    t.insert(5, "ccccc")
    p1.commit()
    p2.get_text("t").insert(0, "bbbbb")
    p2.commit()
    p2.import_(p1.export(mod.ExportMode.Updates(p2.oplog_vv)))
    x.get_text("u").insert(0, "q" * local)
    x.commit()
    if delivery == "stale":
        # a snapshot of peer 1's change alone first: the second brings only peer 2's
        x.import_(p1.export(mod.ExportMode.Snapshot()))
    watch(x)
    snap = p2.export(mod.ExportMode.Snapshot())
    if delivery == "out of order":
        # peer 2's later change first (pending), then the snapshot
        p2.get_text("t").insert(0, "zz")
        p2.commit()
        x.import_(p2.export(mod.ExportMode.Updates(p1.oplog_vv)))
    shown_again_after(mod, x, snap, delivery)


def shown_again_after(mod, x, snap, delivery):
    """`x` imports `snap` (twice when "duplicated"), then shows its texts again from the
    empty version."""
    x.import_(snap)
    if delivery == "duplicated":
        x.import_(snap)
    x.checkout(mod.Frontiers())
    x.checkout_to_latest()


@pytest.mark.parametrize("delivery", ["once", "duplicated", "out of order", "stale"])
@pytest.mark.parametrize("local", [1, 20, 22, 23, 25, 27, 28, 40, 54, 55, 59, 60])
def test_a_snapshot_into_history_places_its_text_op_by_op(local, delivery):
    # loro appends the text of such a snapshot's changes to its string arena op by op (in
    # the changes' Lamport order), each op moving to a fresh buffer when it does not fit:
    # with 23 to 27 bytes before, 'bbbbb' (or 'ccccc') starts the arena's second buffer and
    # shows as an insert of its own (test_checkout_text_deltas seed 1120)
    both(lambda mod, watch: snapshot_ops_placed(mod, local, delivery, watch))


def many_changes_snapshot(mod, seed, delivery, watch):
    """4 to 12 peers type into one text in rounds, taking each other's updates now and
    then (so that many changes share a Lamport clock), then peer 100, which holds text of
    its own, takes a snapshot of them all as `delivery` says, and checks out the empty
    version and back."""
    rng = random.Random(seed)
    peers = [mod.LoroDoc() for _ in range(rng.randint(4, 12))]
    for i, p in enumerate(peers):
        p.peer_id = i + 1
    for _ in range(rng.randint(2, 5)):
        for p in peers:
            if rng.random() < 0.8:
                t = p.get_text("t")
                t.insert(rng.randint(0, len(t.to_string())), rng.choice(["ab", "c", "dé", "xyz"]))
                p.commit()
        for p in peers:
            if rng.random() < 0.3:
                q = rng.choice(peers)
                p.import_(q.export(mod.ExportMode.Updates(p.oplog_vv)))
    hub = peers[0]
    for p in peers[1:]:
        hub.import_(p.export(mod.ExportMode.Updates(hub.oplog_vv)))
    x = mod.LoroDoc()
    x.peer_id = 100
    x.get_text("u").insert(0, "q" * rng.randint(1, 40))
    x.commit()
    some = peers[rng.randrange(1, len(peers))]
    if delivery == "stale":
        # an older snapshot of one peer first: the hub's brings the rest
        x.import_(some.export(mod.ExportMode.Snapshot()))
    elif delivery == "out of order":
        # one peer's changes first, their deps missing (pending) unless they have none
        x.import_(some.export(mod.ExportMode.Updates(mod.VersionVector())))
    watch(x)
    snap = hub.export(mod.ExportMode.Snapshot())
    shown_again_after(mod, x, snap, delivery)


@pytest.mark.parametrize("delivery", ["once", "duplicated", "out of order", "stale"])
@pytest.mark.parametrize("seed", [9, 17, 63, 83, 116, 156])
def test_a_snapshot_into_history_sorts_its_changes_as_rust(seed, delivery):
    # loro visits the snapshot's change store by peer, then counter, sorts all of its
    # changes by their Lamport alone with Rust's unstable sort and only then drops what the
    # document has: beyond 20 changes (these have 21 to 25) that sort moves changes of
    # equal Lamport around, and their text lands in the string arena in that order (a
    # stable sort differs from loro in 12 of these seeds 0-299; sorting only the changes
    # the document lacks, in 21 of 1,000 with an older snapshot or updates before)
    both(lambda mod, watch: many_changes_snapshot(mod, seed, delivery, watch))
