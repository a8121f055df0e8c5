"""An import's text delta item by item as loro 1.17.1 arranges it: inserts joined only
where the ids continue and the bytes follow in one buffer of loro's string storage (a
change block of a blob is one buffer), and a gap's delete before its insert where loro's
composition puts it."""
import loro
import loro_c
import pytest

from _events_util import nev


def raw_import_delta(mod, script, blobs_of):
    a, b = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id = 1
    b.peer_id = 2
    script(mod, a, b)
    got = []
    sub = b.subscribe_root(lambda e: got.append(nev(e)))
    for blob in blobs_of(mod, a, b):
        b.import_(blob)
    del sub
    return [[row[3] for row in ev[3]] for ev in got]


def one_update(mod, a, b):
    return [a.export(mod.ExportMode.Updates(b.oplog_vv))]


def base(mod, a, b, text="abcdef"):
    a.get_text("t").insert(0, text)
    a.commit()
    b.import_(a.export(mod.ExportMode.Snapshot()))


def two_changes_one_block(mod, a, b):
    t = a.get_text("t")
    t.insert(0, "中")
    a.set_next_commit_message("m1")
    a.commit()
    t.insert(1, " cb😀")
    a.set_next_commit_message("m2")
    a.commit()


def two_peers(mod, a, b):
    t = a.get_text("t")
    t.insert(0, "中")
    a.commit()
    c = mod.LoroDoc()
    c.import_(a.export(mod.ExportMode.Snapshot()))
    c.peer_id = 3
    c.get_text("t").insert(1, " cb")
    c.commit()
    a.import_(c.export(mod.ExportMode.Updates(a.oplog_vv)))


def ids_break(mod, a, b):
    t = a.get_text("t")
    t.insert(0, "中é")
    a.set_next_commit_message("m1")
    a.commit()
    t.insert(1, "x")
    t.insert(3, "zé")
    a.set_next_commit_message("m2")
    a.commit()


def delete_then_insert(mod, a, b):
    base(mod, a, b)
    t = a.get_text("t")
    t.delete(1, 1)
    t.insert(1, "X")
    a.commit()


def replace_runs(mod, a, b):
    base(mod, a, b)
    t = a.get_text("t")
    t.delete(1, 2)
    t.insert(1, "zé")
    a.commit()
    t.insert(3, "b😀")
    t.delete(4, 1)
    a.commit()


@pytest.mark.parametrize("script", [two_changes_one_block, two_peers, ids_break,
                                    delete_then_insert, replace_runs])
def test_import_text_delta_items_match_loro(script):
    got = [raw_import_delta(mod, script, one_update) for mod in (loro, loro_c)]
    assert got[0] == got[1]
    assert got[0]


def test_two_blobs_are_two_buffers():
    held = {}

    def script(mod, a, b):
        t = a.get_text("t")
        t.insert(0, "ab")
        a.set_next_commit_message("m1")
        a.commit()
        held[mod, 1] = a.export(mod.ExportMode.Updates(b.oplog_vv))
        v = a.oplog_vv
        t.insert(2, "cd")
        a.set_next_commit_message("m2")
        a.commit()
        held[mod, 2] = a.export(mod.ExportMode.Updates(v))

    def blobs(mod, a, b):
        return [held[mod, 2], held[mod, 1]]   # the second waits for the first

    got = [raw_import_delta(mod, script, blobs) for mod in (loro, loro_c)]
    assert got[0] == got[1] == [[("Text", [("i", "ab"), ("i", "cd")])]]
    together = [raw_import_delta(mod, two_changes_one_block, one_update)
                for mod in (loro, loro_c)]
    assert together[0] == together[1] == [[("Text", [("i", "中 cb😀")])]]


def _spanning_piece_session(mod, first, second, third):
    """Mergeable session 1398's shape: peer 1 makes a mergeable text and types `first`,
    takes peer 2's change, types `second` after it (a change of its own whose ids and
    Lamport clocks continue the first's: loro's tracker joins the two inserts into one
    piece), makes another mergeable child, and types `third` after them (another op of the
    block). Peer 2's import shows the text whole: the delta items of its event."""
    a, b = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    b.get_map("m").ensure_mergeable_map("nest").insert("k1", 1)
    b.commit()
    a.get_map("m").ensure_mergeable_text("a").insert(0, first)
    a.commit()
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    t = a.get_map("m").ensure_mergeable_text("a")
    t.insert(len(first), second)
    a.commit()
    a.get_map("m").ensure_mergeable_map("c").insert("k2", 2)
    a.commit()
    t.insert(len(first) + len(second), third)
    a.commit()
    got = []
    sub = b.subscribe_root(lambda e: got.append(
        [row[3] for row in nev(e)[3] if row[3][0] == "Text"]))
    b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    del sub
    return got


@pytest.mark.parametrize("texts", [("y", "x", "x"), ("中é", "😀x", "zé"), ("ab", "c", "😀")])
def test_a_piece_spanning_ops_ends_in_its_last_op(texts):
    """A piece of loro_c's may span ops loro's tracker joins: whether the next insert's
    bytes follow it is read at the end of its last op, not its first (the first op's
    buffer ends before the piece does)."""
    want = _spanning_piece_session(loro, *texts)
    assert _spanning_piece_session(loro_c, *texts) == want
    assert want[0] == [("Text", [("i", "".join(texts))])]
