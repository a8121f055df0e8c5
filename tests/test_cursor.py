"""Cursors (stable positions) against loro: the same cursors, bytes and query answers.

Peers edit a Text and a List concurrently and sync; cursors are taken at
random positions and sides, then more edits (inserts around them, deletes of their atoms,
whole-container deletes) happen; `get_cursor_pos` must answer as loro does: position, side
and the updated cursor when the atom was deleted. Encoded cursors are byte-identical and
decode in both libraries.
"""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def seq_of(doc, which):
    if which == "text":
        return doc.get_text("t")
    return doc.get_list("l")


def length(seq):
    return len(seq.to_string()) if hasattr(seq, "to_string") else len(seq)


def edit(rng, doc, which, n):
    seq = seq_of(doc, which)
    for _ in range(n):
        size = length(seq)
        if size and rng.random() < 0.35:
            i = rng.randrange(size)
            seq.delete(i, min(size - i, rng.randint(1, 4)))
        elif which == "text":
            seq.insert(rng.randint(0, size), rng.choice(["a", "xyz", "é", "😀b"]))
        else:
            seq.insert(rng.randint(0, size), rng.randint(0, 9))


def side_of(lib, name):
    return getattr(lib.Side, name)


def id_tuple(i):
    return None if i is None else (i.peer, i.counter)


def answer(lib, doc, cursor):
    r = doc.get_cursor_pos(cursor)
    up = r.update
    return (r.current.pos, str(r.current.side).split(".")[-1],
            None if up is None else (id_tuple(up.id), str(up.side).split(".")[-1]))


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("which", ["text", "list"])
def test_cursor_queries_match_loro(seed, which):
    rng = random.Random(seed)
    docs = {}
    for lib in LIBS:
        ds = []
        for i in range(3):
            d = lib.LoroDoc()
            d.peer_id = 10 + i
            ds.append(d)
        docs[lib] = ds
    plan = []
    for step in range(rng.randint(3, 8)):
        plan.append(("edit", rng.randrange(3), rng.randrange(1 << 30), rng.randint(1, 5)))
        if rng.random() < 0.5:
            plan.append(("sync", rng.randrange(3), rng.randrange(3)))
    cursors = {lib: [] for lib in LIBS}
    sides = [rng.choice(["Left", "Middle", "Right"]) for _ in range(6)]
    positions = [rng.random() for _ in range(6)]

    def run(steps):
        for st in steps:
            for lib in LIBS:
                if st[0] == "edit":
                    edit(random.Random(st[2]), docs[lib][st[1]], which, st[3])
                    docs[lib][st[1]].commit()
                elif st[1] != st[2]:
                    a, b = docs[lib][st[1]], docs[lib][st[2]]
                    a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))

    run(plan)
    for lib in LIBS:
        seq = seq_of(docs[lib][0], which)
        n = length(seq)
        for frac, side in zip(positions, sides):
            c = seq.get_cursor(int(frac * (n + 2)), side_of(lib, side))
            cursors[lib].append(c)
    for a, b in zip(cursors[loro], cursors[loro_c]):
        assert id_tuple(a.id) == id_tuple(b.id)
        assert str(a.side).split(".")[-1] == str(b.side).split(".")[-1]
        assert b.encode() == a.encode()
        assert id_tuple(loro_c.Cursor.decode(a.encode()).id) == id_tuple(a.id)
        assert loro.Cursor.decode(b.encode()).encode() == b.encode()
    # more concurrent edits, deletes of the cursors' atoms among them, then full sync
    later = [("edit", rng.randrange(3), rng.randrange(1 << 30), rng.randint(2, 8))
             for _ in range(rng.randint(2, 6))]
    later += [("sync", 0, j) for j in range(3)] + [("sync", j, 0) for j in range(3)]
    run(later)
    for k in range(len(sides)):
        for i in range(3):
            want = answer(loro, docs[loro][i], cursors[loro][k])
            got = answer(loro_c, docs[loro_c][i], cursors[loro_c][k])
            assert got == want, (k, i)
    docs[loro_c][0]._check_invariants()


def test_cursor_follows_edits_like_loros_example():
    for lib in LIBS:
        doc = lib.LoroDoc()
        text = doc.get_text("text")
        text.insert(0, "01234")
        pos = text.get_cursor(5, lib.Side.Middle)
        assert doc.get_cursor_pos(pos).current.pos == 5
        text.insert(0, "01234")
        assert doc.get_cursor_pos(pos).current.pos == 10
        text.delete(0, 10)
        assert doc.get_cursor_pos(pos).current.pos == 0
        text.insert(0, "01234")
        assert doc.get_cursor_pos(pos).current.pos == 5


def test_emoji_positions_are_code_points():
    res = []
    for lib in LIBS:
        doc = lib.LoroDoc()
        doc.peer_id = 1
        t = doc.get_text("t")
        t.insert(0, "😀abc")
        c = t.get_cursor(1, lib.Side.Middle)
        t.delete(1, 2)
        r = doc.get_cursor_pos(c)
        res.append((id_tuple(c.id), r.current.pos, id_tuple(r.update.id)))
    assert res[0] == res[1]


def test_cursor_of_a_root_this_document_never_used():
    for lib in LIBS:
        c = lib.LoroDoc().get_list("l").get_cursor(0, lib.Side.Left)
        r = lib.LoroDoc().get_cursor_pos(c)
        assert (r.current.pos, str(r.current.side)) == (0, "Side.Left")
        assert r.update is not None and r.update.id is None


def test_bad_input():
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    t.insert(0, "abc")
    with pytest.raises(loro_c.LoroTypeError):
        t.get_cursor(0, 1)
    with pytest.raises(loro_c.LoroError):
        t.get_cursor(-1, loro_c.Side.Left)
    assert loro_c.LoroText().get_cursor(0, loro_c.Side.Left) is None
    other = loro_c.LoroDoc()
    other.get_text("zz").insert(0, "abc")
    with pytest.raises(loro_c.LoroError):
        doc.get_cursor_pos(other.get_text("zz").get_cursor(1, loro_c.Side.Middle))
    with pytest.raises(loro_c.LoroTypeError):
        doc.get_cursor_pos("not a cursor")
    # an id of a peer the document knows, but of a map op, is no atom of the text
    doc.get_map("m").insert("k", 1)
    doc.commit()
    fake = loro_c.Cursor(loro_c.ID(doc.peer_id, 3), t.id, loro_c.Side.Middle)
    with pytest.raises(loro_c.LoroError):
        doc.get_cursor_pos(fake)
    data = t.get_cursor(1, loro_c.Side.Right).encode()
    for cut in range(len(data)):
        with pytest.raises(loro_c.DecodeError):
            loro_c.Cursor.decode(data[:cut])
    rng = random.Random(5)
    for _ in range(500):
        b = bytearray(data)
        b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            c = loro_c.Cursor.decode(bytes(b))
        except loro_c.DecodeError:
            continue
        assert loro_c.Cursor.decode(c.encode()).encode() == c.encode()
    # bytes after a cursor are ignored, as in loro
    assert loro_c.Cursor.decode(data + b"\0").encode() == data
