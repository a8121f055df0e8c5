"""Detached editing (set_detached_editing): edits made while a document shows an old
version branch off that version, as in loro.

Each scenario runs in loro and loro_c with the same peer ids (the random peer a checkout
gives is replaced by a fixed one in both) and compares the state, both frontiers, the
version vectors, the branch's change (its Lamport and deps), the values after returning to
the latest version, and what a fresh loro document makes of each side's export.
"""
import random
import re

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def lib_of(doc):
    return loro_c if isinstance(doc, loro_c.LoroDoc) else loro


def fr(lib, pairs):
    return lib.Frontiers.from_ids([lib.ID(p, c) for p, c in pairs]) if pairs else lib.Frontiers()


def ids(frontiers):
    """(peer, counter) pairs of either library's Frontiers (loro's has no to_list)."""
    return sorted((int(p), int(c)) for c, p in re.findall(r"(\d+)@(\d+)", str(frontiers)))


def show(doc):
    return {"deep": doc.get_deep_value(), "detached": doc.is_detached(),
            "state": ids(doc.state_frontiers), "oplog": ids(doc.oplog_frontiers)}


def same(a, b):
    assert show(a) == show(b)
    assert a.oplog_vv == loro_c.VersionVector.decode(b.oplog_vv.encode())
    assert a.state_vv == loro_c.VersionVector.decode(b.state_vv.encode())


def base_docs():
    """Peers 1 and 2 edit all four kinds concurrently and sync; returns the docs and the
    frontiers after each of peer 1's commits."""
    docs, marks = {}, []
    for lib in LIBS:
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        docs[lib] = (a, b)
    rng = random.Random(4)
    for step in range(6):
        for lib, (a, b) in docs.items():
            r = random.Random(step)
            a.get_text("t").insert(0, f"a{step}")
            b.get_text("t").insert(0, f"b{step}")
            a.get_map("m").insert("k", step)
            b.get_map("m").insert("k", -step)
            a.get_list("l").insert(0, step)
            b.get_counter("c").increment(r.choice([1, 2, -1]))
            a.commit()
            b.commit()
            if step % 2:
                a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
                b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        marks.append(ids(docs[loro_c][0].oplog_frontiers))
    rng.shuffle(marks)
    return {lib: pair[0] for lib, pair in docs.items()}, marks


def test_edits_branch_off_the_checked_out_version():
    docs, marks = base_docs()
    for lib, d in docs.items():
        d.set_detached_editing(True)
        assert d.is_detached_editing_enabled
    for n, at in enumerate(marks[:4]):
        before = {lib: d.peer_id for lib, d in docs.items()}
        for lib, d in docs.items():
            d.checkout(fr(lib, at))
            assert d.peer_id != before[lib]     # each checkout renews the peer
            d.peer_id = 100 + n
        same(docs[loro_c], docs[loro])
        for lib, d in docs.items():
            t = d.get_text("t")
            t.insert(len(t.to_string()) // 2, "XY")
            t.delete(0, 1)
            d.get_map("m").insert("k", f"branch {n}")
            d.get_map("m").insert(f"b{n}", True)
            d.get_list("l").insert(0, "branch")
            d.get_counter("c").increment(10)
            sub = d.get_map("m").insert_container("sub", lib.LoroList())
            sub.insert(0, n)
            d.commit()
            d.get_text("t").insert(0, "more")   # a second commit merges into the first
            d.commit()
        same(docs[loro_c], docs[loro])
        meta = {lib: d.get_change(lib.ID(100 + n, 0)) for lib, d in docs.items()}
        assert (meta[loro_c].lamport, meta[loro_c].len) == (meta[loro].lamport, meta[loro].len)
        assert ids(meta[loro_c].deps) == ids(meta[loro].deps)
        docs[loro_c]._check_invariants()
    for lib, d in docs.items():
        d.checkout_to_latest()
    same(docs[loro_c], docs[loro])
    docs[loro_c]._check_invariants()
    # each side's export, imported by loro, gives the same document
    fresh = []
    for lib, d in docs.items():
        f = loro.LoroDoc()
        f.import_(d.export(lib.ExportMode.Snapshot()))
        fresh.append(f.get_deep_value())
    assert fresh[0] == fresh[1]


def test_edits_on_the_empty_version_and_after_detach():
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        d.get_text("t").insert(0, "hello")
        d.commit()
        d.set_detached_editing(True)
        d.checkout(lib.Frontiers())
        d.peer_id = 7
        d.get_text("t").insert(0, "new")
        d.commit()
        docs[lib] = d
    same(docs[loro_c], docs[loro])
    for lib, d in docs.items():
        d.detach()                      # already detached: nothing moves, no new peer
        assert d.peer_id == 7
        d.get_text("t").insert(3, "!")
        d.commit()
    same(docs[loro_c], docs[loro])
    for lib, d in docs.items():
        d.attach()
        assert d.peer_id != 7
    same(docs[loro_c], docs[loro])


def test_imports_while_editing_detached_stay_in_the_log():
    docs = {}
    other = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        d.get_map("m").insert("a", 1)
        d.commit()
        f = d.oplog_frontiers
        d.get_map("m").insert("a", 2)
        d.commit()
        d.set_detached_editing(True)
        d.checkout(f)
        d.peer_id = 5
        d.get_map("m").insert("b", 1)
        d.commit()
        o = lib.LoroDoc()
        o.peer_id = 3
        o.get_map("m").insert("a", 3)
        o.get_counter("c").increment(4)
        o.commit()
        d.import_(o.export(lib.ExportMode.Updates(lib.VersionVector())))
        docs[lib], other[lib] = d, o
    same(docs[loro_c], docs[loro])
    assert docs[loro_c].get_deep_value()["m"] == {"a": 1, "b": 1}
    for lib, d in docs.items():
        d.get_map("m").insert("c", 1)
        d.commit()
    same(docs[loro_c], docs[loro])
    docs[loro_c]._check_invariants()
    for d in docs.values():
        d.checkout_to_latest()
    same(docs[loro_c], docs[loro])
    docs[loro_c]._check_invariants()


# loro's document is poisoned by its panic, and its destructor reports that
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_peer_whose_ops_the_version_lacks_cannot_edit_there():
    """As in loro: the branch's first change must continue the peer's own ops that the
    checked-out version holds, so a peer with later ops is refused (loro panics, and its
    document is unusable afterwards; loro_c raises LoroError and changes nothing)."""
    docs = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        d.get_text("t").insert(0, "ab")
        d.commit()
        f = d.oplog_frontiers
        d.get_text("t").insert(2, "cd")
        d.commit()
        d.set_detached_editing(True)
        d.checkout(f)
        docs[lib] = d
    with pytest.raises(BaseException):
        docs[loro].peer_id = 1
        docs[loro].get_text("t").insert(0, "x")
    d = docs[loro_c]
    d.peer_id = 1
    m = d.get_map("m")                  # (getting a root lists it)
    before = (d.get_deep_value(), str(d.state_frontiers), str(d.oplog_vv), d.len_changes)
    with pytest.raises(loro_c.LoroError):
        d.get_text("t").insert(0, "x")
    with pytest.raises(loro_c.LoroError):
        m.insert("k", 1)
    assert (d.get_deep_value(), str(d.state_frontiers), str(d.oplog_vv), d.len_changes) == before
    d._check_invariants()
    d.checkout_to_latest()
    assert d.get_text("t").to_string() == "abcd"
    d.get_text("t").insert(0, "x")      # attached, the peer continues its own ops
    d.commit()
    assert d.get_text("t").to_string() == "xabcd"


def test_turning_detached_editing_off_while_detached_refuses_edits():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    d.get_text("t").insert(0, "ab")
    d.commit()
    f = d.oplog_frontiers
    d.get_text("t").insert(0, "x")
    d.commit()
    d.set_detached_editing(True)
    d.checkout(f)
    d.get_text("t").insert(0, "y")
    d.set_detached_editing(False)       # commits the open edit first
    assert d.get_text("t").to_string() == "yab"
    with pytest.raises(loro_c.DetachedError):
        d.get_text("t").insert(0, "z")
    with pytest.raises(loro_c.LoroTypeError):
        d.set_detached_editing(1)
    d._check_invariants()
