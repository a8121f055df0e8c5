"""Imports whose already-known part is different history (two documents, one peer id).

Loro 1.17.1 refuses an import that brings something new when the part of it the document
already has (by version vector) differs from the document's own ops under those ids
("Every op id should be unique. ID c@p has been used"); accepting it would apply the new
part on top of history it was not written against. loro_c must decide the same, raise
UsedOpIdError naming the id, and leave the document exactly as it was. A duplicate delivery
of the same ops is normal and accepted.
"""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def mk(lib, peer=1):
    d = lib.LoroDoc()
    d.peer_id = peer
    return d


def updates(lib, d):
    return d.export(lib.ExportMode.Updates(lib.VersionVector()))


def snapshot(lib, d):
    return d.export(lib.ExportMode.Snapshot())


def json_updates(lib, d):
    return d.export_json_updates(lib.VersionVector(), d.oplog_vv)


def fingerprint(lib, d):
    return (d.get_deep_value(), d.oplog_vv.encode(), d.oplog_frontiers.encode(),
            d.state_frontiers.encode(), updates(lib, d))


def attempt(lib, d, blob, how):
    """'ok' or the refused id (loro raises a bare BaseException)."""
    try:
        if how == "json":
            d.import_json_updates(blob)
        elif how == "batch":
            d.import_batch(blob)
        else:
            d.import_(blob)
    except loro_c.UsedOpIdError as e:
        assert isinstance(e, loro_c.LoroError)
        assert e.id is not None and f"{e.id.counter}@{e.id.peer}" in str(e)
        return str(e).split("ID ")[1].split(" ")[0]
    except loro_c.LoroError:
        return "other error"
    except BaseException as e:      # loro's UsedOpID
        if lib is loro_c or isinstance(e, (KeyboardInterrupt, AssertionError)):
            raise
        if "has been used" not in str(e):
            return "other error"
        return str(e).split("ID ")[1].split(" ")[0]
    return "ok"


def commit_each(*edits):
    def run(d):
        for e in edits:
            e(d)
            d.commit()
    return run


def li(v, pos=0):
    return lambda d: d.get_list("l").insert(pos, v)


def tx(s, pos=0):
    return lambda d: d.get_text("t").insert(pos, s)


def ms(k, v):
    return lambda d: d.get_map("m").insert(k, v)


CASES = {
    "same content, new op": (commit_each(li(1)), commit_each(li(1), li(3))),
    "same content only": (commit_each(li(1)), commit_each(li(1))),
    "different content only": (commit_each(li(1)), commit_each(li(2))),
    "different list value": (commit_each(li(1)), commit_each(li(2), li(3))),
    "different text": (commit_each(tx("ab")), commit_each(tx("ax"), tx("z"))),
    "same text, new op": (commit_each(tx("ab")), commit_each(tx("ab"), tx("z"))),
    "conflict in the middle of a partly new change": (commit_each(tx("abc")),
                                                     commit_each(tx("abXd"))),
    "same prefix of a partly new change": (commit_each(tx("abc")), commit_each(tx("abcd"))),
    "different map value": (commit_each(ms("k", 1)), commit_each(ms("k", 2), ms("q", 1))),
    "different map key": (commit_each(ms("k", 1)), commit_each(ms("j", 1), ms("q", 1))),
    "different container": (commit_each(li(1)),
                            commit_each(lambda d: d.get_list("l2").insert(0, 1), li(3))),
    "map delete vs set": (commit_each(ms("k", 1), lambda d: d.get_map("m").delete("k")),
                          commit_each(ms("k", 1), ms("k", 2), ms("z", 0))),
    "counter delta": (commit_each(lambda d: d.get_counter("c").increment(1)),
                      commit_each(lambda d: d.get_counter("c").increment(2), li(0))),
    "NaN is the same NaN": (commit_each(ms("k", float("nan"))),
                            commit_each(ms("k", float("nan")), ms("q", 1))),
    "message differs only": (commit_each(ms("k", 1)),
                             commit_each(lambda d: d.set_next_commit_message("x"), ms("k", 1),
                                         ms("q", 1))),
    "split differently": (commit_each(tx("ab")),
                          commit_each(tx("a"), tx("b", 1), tx("c", 2))),
    "delete targets": (commit_each(tx("abc"), lambda d: d.get_text("t").delete(0, 2)),
                       commit_each(tx("abc"), lambda d: d.get_text("t").delete(1, 2), tx("z"))),
}


@pytest.mark.parametrize("how", ["updates", "snapshot", "json"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_scripted_case_matches_loro(name, how):
    fa, fb = CASES[name]
    results = []
    for lib in LIBS:
        a, b = mk(lib), mk(lib)
        fa(a)
        fb(b)
        blob = {"updates": updates, "snapshot": snapshot, "json": json_updates}[how](lib, b)
        before = fingerprint(lib, a)
        r = attempt(lib, a, blob, "json" if how == "json" else "import")
        if r != "ok":
            assert fingerprint(lib, a) == before
        results.append((r, a.get_deep_value() if r == "ok" else None))
    assert results[1][0] == results[0][0], results
    if results[0][0] == "ok" and name != "NaN is the same NaN":
        assert results[1] == results[0]


def test_deps_differ_only():
    results = []
    for lib in LIBS:
        x = mk(lib, 2)
        x.get_map("n").insert("z", 1); x.commit()
        a = mk(lib)
        a.get_map("m").insert("k", 1); a.commit()
        b = mk(lib)
        b.import_(updates(lib, x))
        b.get_map("m").insert("k", 1); b.commit()
        b.get_map("m").insert("q", 1); b.commit()
        a.import_(updates(lib, x))
        before = fingerprint(lib, a)
        results.append(attempt(lib, a, updates(lib, b), "import"))
        if results[-1] != "ok":
            assert fingerprint(lib, a) == before
    assert results == ["0@1", "0@1"]


@pytest.mark.parametrize("order", [0, 1])
def test_import_batch_blob_by_blob(order):
    """loro imports a batch blob by blob: a blob is compared with the blobs before it, and
    one made only of changes known by then is accepted. On a refusal loro keeps the blobs
    before the refused one; loro_c refuses the whole batch and changes nothing."""
    results = []
    for lib in LIBS:
        b = mk(lib)
        commit_each(li(2), li(3))(b)
        c = mk(lib)
        commit_each(li(9), li(8), li(7))(c)
        a = mk(lib, 5)
        blobs = [updates(lib, b), updates(lib, c)]
        if order:
            blobs.reverse()
        before = fingerprint(lib, a)
        r = attempt(lib, a, blobs, "batch")
        if r != "ok" and lib is loro_c:
            assert fingerprint(lib, a) == before
        results.append((r, a.get_deep_value() if r == "ok" else None))
    assert results[1] == results[0]
    assert results[0][0] == ("0@1" if order == 0 else "ok")


def test_refusal_keeps_pending_and_open_transaction():
    """A pending change and an open transaction: the refused import commits the transaction
    first (as loro's import does) and changes nothing else; the pending change still
    applies when its dependency arrives."""
    out = []
    for lib in LIBS:
        a, b, x = mk(lib), mk(lib), mk(lib, 2)
        x.get_text("t").insert(0, "x"); x.commit()
        x.get_text("t").insert(0, "y"); x.commit()
        commit_each(li(1))(a)
        since = lib.VersionVector()
        since.set_end(lib.ID(2, 1))
        a.import_(x.export(lib.ExportMode.Updates(since)))     # waits for 0@2
        assert a.get_text("t").to_string() == ""
        a.get_list("l").insert(0, 42)                            # left open
        commit_each(li(2), li(3), li(4))(b)
        r = attempt(lib, a, updates(lib, b), "import")
        state = (r, a.get_deep_value(), a.oplog_vv.encode(), a.get_pending_txn_len())
        a.import_(updates(lib, x))
        out.append(state + (a.get_deep_value(),))
    assert out[0][0] == "0@1"
    assert out[1] == out[0]


def test_refusal_while_detached():
    a, b = mk(loro_c), mk(loro_c)
    commit_each(li(1))(a)
    first = a.oplog_frontiers
    commit_each(li(5))(a)
    commit_each(li(2), li(3), li(4))(b)
    a.checkout(first)
    before = fingerprint(loro_c, a)
    with pytest.raises(loro_c.UsedOpIdError):
        a.import_(updates(loro_c, b))
    assert fingerprint(loro_c, a) == before
    assert a.is_detached()


# ---------------------------------------------------------------- random differential

def edit(rng, d, n, rich=False):
    t, lst, m = d.get_text("t"), d.get_list("l"), d.get_map("m")
    for _ in range(n):
        r = rng.random()
        if rich:
            if r < 0.6:
                rich_edit(rng, d, r / 0.6)
                if rng.random() < 0.5:
                    d.commit()
                continue
            r = rng.random()
        if r < 0.4:
            t.insert(rng.randint(0, len(t.to_string())), rng.choice(["a", "bc", "é"]))
        elif r < 0.5 and len(t.to_string()) > 0:
            t.delete(rng.randrange(len(t.to_string())), 1)
        elif r < 0.7:
            lst.insert(rng.randint(0, len(lst)), rng.randint(0, 2))
        elif r < 0.9:
            m.insert(rng.choice("ab"), rng.randint(0, 2))
        else:
            d.get_counter("c").increment(rng.randint(1, 2))
        if rng.random() < 0.5:
            d.commit()
    d.commit()


def rich_edit(rng, d, r):
    """A MovableList, Tree or rich-text mark op (the kinds with their own op payloads)."""
    t, ml, tr = d.get_text("t"), d.get_movable_list("ml"), d.get_tree("tr")
    if r < 0.4:
        n = len(ml)
        k = rng.random()
        if n == 0 or k < 0.4:
            ml.insert(rng.randint(0, n), rng.randint(0, 2))
        elif k < 0.6 and n > 1:
            ml.mov(rng.randrange(n), rng.randrange(n))
        elif k < 0.8:
            ml.set(rng.randrange(n), rng.randint(0, 2))
        else:
            ml.delete(rng.randrange(n), 1)
    elif r < 0.8:
        alive = [x for x in tr.nodes() if not tr.is_node_deleted(x)]
        k = rng.random()
        if not alive or k < 0.5:
            tr.create(rng.choice(alive) if alive and rng.random() < 0.5 else None)
        else:
            node = rng.choice(alive)
            if k < 0.8:
                parent = rng.choice(alive + [None])
                try:
                    tr.mov(node, parent)
                except BaseException as e:      # a cycle (both libraries refuse it)
                    if isinstance(e, (KeyboardInterrupt, AssertionError)):
                        raise
            else:
                tr.delete(node)
    else:
        n = len(t.to_string())
        if n < 2:
            t.insert(0, "xy")
            n += 2
        a = rng.randrange(n - 1)
        t.mark(a, rng.randint(a + 1, n), rng.choice(["bold", "link"]), rng.randint(0, 1) == 1)


@pytest.mark.parametrize("seed", range(60))
def test_random_same_peer_differential(seed):
    same_peer_differential(seed, False)


@pytest.mark.parametrize("seed", range(60))
def test_random_same_peer_differential_movable_tree_marks(seed):
    same_peer_differential(seed, True)


def same_peer_differential(seed, rich):
    docs = {}
    for lib in LIBS:
        rng = random.Random(seed)
        # writers: two share peer 1 (the conflict), one has peer 2; the first two may start
        # from a common history (then diverge) or edit the same things (duplicates)
        w = [mk(lib, 1), mk(lib, 1), mk(lib, 2)]
        blobs = []
        common = rng.random() < 0.5
        if common:
            edit(rng, w[0], rng.randint(1, 4), rich)
            w[1].import_(updates(lib, w[0]))
        same = rng.random() < 0.3
        for step in range(rng.randint(2, 6)):
            k = rng.randrange(3)
            if same and k < 2:
                # both writers make the same edits: the same ops under the same ids
                s = rng.randrange(1 << 30)
                edit(random.Random(s), w[0], 2, rich)
                edit(random.Random(s), w[1], 2, rich)
            else:
                edit(rng, w[k], rng.randint(1, 3), rich)
            src = w[rng.randrange(3)]
            kind = rng.random()
            if kind < 0.5:
                blobs.append(("import", updates(lib, src)))
            elif kind < 0.65:
                blobs.append(("import", snapshot(lib, src)))
            elif kind < 0.8:
                blobs.append(("json", json_updates(lib, src)))
            else:
                # recent history only (may arrive before what it depends on: pending)
                since = lib.VersionVector()
                for p in (1, 2):
                    e = src.oplog_vv.get_last(p)
                    if e is not None and e > 0:
                        since.set_end(lib.ID(p, rng.randint(0, e)))
                blobs.append(("import", src.export(lib.ExportMode.Updates(since))))
            if rng.random() < 0.2:
                blobs.append(blobs[rng.randrange(len(blobs))])
        rng.shuffle(blobs)
        if rng.random() < 0.3 and sum(1 for h, _ in blobs if h == "import") > 1:
            batch = [b for h, b in blobs if h == "import"][:3]
            blobs = [("batch", batch)] + [x for x in blobs if x[0] == "json"]
        recv = mk(lib, 9)
        if rng.random() < 0.5:
            recv.import_(updates(lib, w[rng.randrange(2)]))
        log = []
        for how, blob in blobs:
            before = fingerprint(lib, recv)
            r = attempt(lib, recv, blob, how)
            log.append(r)
            if r == "other error":
                # a conflict no known part shows (new ops of one writer continuing the
                # other's history): both refuse it while applying; loro's document is not
                # reliable after that, so the run ends here
                break
            if r != "ok" and how == "batch":
                # loro imports a batch blob by blob and keeps the blobs before the refused
                # one; loro_c refuses the whole batch (all or nothing): the runs part here
                if lib is loro_c:
                    assert fingerprint(lib, recv) == before, (seed, how)
                break
            if r != "ok":
                assert fingerprint(lib, recv) == before, (seed, how)
        if log and log[-1] != "ok" and (log[-1] == "other error"
                                        or blobs[len(log) - 1][0] == "batch"):
            docs[lib] = (log,)
            continue
        docs[lib] = (log, recv.get_deep_value(), recv.oplog_vv.to_json() if hasattr(
            recv.oplog_vv, "to_json") else {p: recv.oplog_vv.get_last(p) for p in (1, 2, 9)})
    assert docs[loro_c][0] == docs[loro][0], seed
    assert docs[loro_c][1:] == docs[loro][1:], seed


@pytest.mark.parametrize("vals", [(9, 8, 3, 4), (1, 2, 7, 4)])
def test_shallow_document_compares_from_its_root(vals):
    """History before a shallow root is not held, so only ops from the root on are
    compared (probed on loro 1.17.1)."""
    out = []
    for lib in LIBS:
        a = mk(lib)
        commit_each(li(1), li(2), li(3))(a)
        shallow = a.export(lib.ExportMode.ShallowSnapshot(a.oplog_frontiers))
        b = mk(lib)
        commit_each(*[li(v) for v in vals])(b)
        d = lib.LoroDoc()
        d.import_(shallow)
        before = fingerprint(lib, d)
        r = attempt(lib, d, updates(lib, b), "import")
        if r != "ok":
            assert fingerprint(lib, d) == before
        out.append((r, d.get_deep_value()))
    assert out[1] == out[0]


@pytest.mark.parametrize("tail, expected", [((li(7),), "ok"), ((li(8),), "2@1"),
                                            ((li(8), li(9)), "2@1"), ((li(7), li(9)), "ok")])
def test_import_batch_compares_with_the_part_an_earlier_blob_brought(tail, expected):
    """Blob 2 shares blob 1's first ops and goes on; where it differs from what blob 1
    brought, loro refuses it (blob 1's ops are read back from the batch's staged records)."""
    results = []
    for lib in LIBS:
        b = mk(lib)
        commit_each(li(2), li(3), li(7))(b)
        c = mk(lib)
        commit_each(li(2), li(3), *tail)(c)
        c.get_text("t").insert(0, "new")
        c.commit()
        a = mk(lib, 5)
        before = fingerprint(lib, a)
        r = attempt(lib, a, [updates(lib, b), updates(lib, c)], "batch")
        if r != "ok" and lib is loro_c:
            assert fingerprint(lib, a) == before
        results.append((r, a.get_deep_value() if r == "ok" else None))
    assert results[1] == results[0]
    assert results[0][0] == expected


@pytest.mark.parametrize("how", ["snapshot", "shallow"])
def test_refusal_after_a_snapshot_load(how):
    """A document loaded from a snapshot (its state decoded lazily) compares an import's
    known part with the loaded history; after the refusal it still takes good updates."""
    out = []
    for lib in LIBS:
        w1, w2 = mk(lib), mk(lib)
        commit_each(tx("hello"), ms("k", 1), li(1))(w1)
        commit_each(tx("hellx"), ms("k", 1), li(1), li(2))(w2)
        if how == "snapshot":
            blob = snapshot(lib, w1)
        else:
            blob = w1.export(lib.ExportMode.ShallowSnapshot(w1.oplog_frontiers))
        a = lib.LoroDoc()
        a.import_(blob)
        before = fingerprint(lib, a)
        r = attempt(lib, a, updates(lib, w2), "import")
        if r != "ok":
            assert fingerprint(lib, a) == before
        value = a.get_deep_value()
        commit_each(li(5))(w1)
        a.import_(updates(lib, w1))
        out.append((r, value, a.get_deep_value()))
    assert out[1] == out[0]
    assert out[0][0] == ("4@1" if how == "snapshot" else "ok")


@pytest.mark.parametrize("order", [0, 1])
def test_import_batch_takes_the_blob_with_more_changes_first(order):
    """loro imports a batch's updates blobs by descending change count: the blob of two
    changes goes first, and the other, wholly known by then, is accepted whatever it holds
    (in the given order it would have been compared and refused)."""
    results = []
    for lib in LIBS:
        b = mk(lib)
        commit_each(li(2), li(3))(b)
        c = mk(lib)
        c.set_next_commit_message("x")
        commit_each(li(9))(c)
        c.set_next_commit_message("y")
        c.get_list("l").insert(0, 8)
        c.get_list("l").insert(0, 7)
        c.commit()
        a = mk(lib, 5)
        blobs = [updates(lib, b), updates(lib, c)]
        if order:
            blobs.reverse()
        r = attempt(lib, a, blobs, "batch")
        results.append((r, a.get_deep_value() if r == "ok" else None))
    assert results[1] == results[0]
    assert results[0] == ("ok", {"l": [7, 8, 9]})


def test_batch_with_a_snapshot_skips_a_copy_the_blobs_before_it_bring():
    """A batch loading a snapshot (ops 0..4 of peer 1): blob A continues it to 7, blob B is
    another writer's change 0..6 under the same peer id. loro imports the snapshot, then A,
    and B is then wholly known, so it is accepted without a comparison. Staging B's longer
    copy in place of the snapshot's change left A on top of history it was not written
    against (a DecodeError: usedid seed 1374)."""
    results = []
    for lib in LIBS:
        s = mk(lib)
        commit_each(tx("ab"), li(1), li(0))(s)
        snap = snapshot(lib, s)
        at = s.oplog_vv
        commit_each(tx("cd", 2), li(5, 2))(s)
        a = s.export(lib.ExportMode.Updates(at))
        w = mk(lib)
        commit_each(ms("k", 2), li(1), tx("x"), li(3), li(4))(w)
        assert w.oplog_vv.get_last(1) == 4 < s.oplog_vv.get_last(1)
        d = mk(lib, 9)
        r = attempt(lib, d, [a, updates(lib, w), snap], "batch")
        results.append((r, d.get_deep_value(), d.oplog_vv.get_last(1)))
    assert results[1] == results[0]
    assert results[0] == ("ok", {"t": "abcd", "l": [0, 1, 5]}, 6)
