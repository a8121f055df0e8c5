"""Undo after several remote imports: the undo manager composes the remote edits made since
an item into one diff and moves the undo over it. Loro composes in place (its delta
rope): where a delete and an insert meet in one gap, the composed diff keeps the delete
first unless one item of the later edit replaced text inside one item of the earlier, and
that order decides where the restored text goes. Each case is built from ops and checked
against loro."""
import loro
import pytest

import loro_c


def _apply(seq, is_list, ops):
    for op in ops:
        n = len(seq)
        if op[0] == "ins":
            pos = min(op[1], n)
            if is_list:
                for k, v in enumerate(op[2]):
                    seq.insert(pos + k, v)
            else:
                seq.insert(pos, op[2])
        elif n:
            pos = min(op[1], n - 1)
            seq.delete(pos, min(op[2], n - pos))


def _session(lib, is_list, base, local, remote_steps, undos=2):
    """A server (peer 1, with an undo manager) imports `base` from a remote peer, applies
    the `local` ops and commits; the remote peer, which never sees the local ops, then
    makes each step of `remote_steps` (a list of op lists), each imported by the server.
    Returns the server's value after each undo."""
    srv, rem = lib.LoroDoc(), lib.LoroDoc()
    srv.peer_id, rem.peer_id = 1, 2

    def seq(d):
        return d.get_list("l") if is_list else d.get_text("t")

    undo = lib.UndoManager(srv)
    _apply(seq(rem), is_list, [("ins", 0, base)])
    rem.commit()
    srv.import_(rem.export(lib.ExportMode.Snapshot()))
    _apply(seq(srv), is_list, local)
    srv.commit()
    for step in remote_steps:
        vv = srv.oplog_vv
        _apply(seq(rem), is_list, step)
        rem.commit()
        srv.import_(rem.export(lib.ExportMode.Updates(vv)))
    out = []
    for _ in range(undos):
        undo.undo()
        out.append(srv.get_deep_value())
    return out


def _check(is_list, base, local, steps):
    ours = _session(loro_c, is_list, base, local, steps)
    theirs = _session(loro, is_list, base, local, steps)
    assert ours == theirs
    return ours


# (local ops, remote steps): remote edits that delete around or at the undone spot
CASES = [
    # an insert where the text after the spot was deleted to the end
    ([("del", 3, 1)], [[("del", 2, 1)], [("ins", 0, "XYZ"), ("del", 3, 2), ("ins", 4, "Q")]]),
    ([("del", 5, 1)], [[("del", 3, 2)], [("ins", 0, "XY"), ("del", 2, 3)]]),
    # an earlier remote insert after the spot; a later one deletes the text before it
    ([("del", 1, 3)], [[("ins", 1, "XYZ")], [("del", 0, 1), ("ins", 3, "Q")]]),
    ([("del", 1, 3)], [[("ins", 1, "XYZ")], [("del", 0, 1)]]),
    ([("del", 2, 2)], [[("ins", 2, "XY")], [("del", 0, 2)]]),
    ([("del", 2, 2)], [[("ins", 4, "XY")], [("del", 1, 3)]]),
    # a later remote edit inserts where an earlier one deleted
    ([("del", 3, 1)], [[("del", 2, 1)], [("ins", 0, "XY"), ("del", 2, 2), ("ins", 4, "Z")]]),
    ([("del", 3, 1)], [[("del", 2, 1)], [("ins", 0, "XY")]]),
    ([("del", 3, 2)], [[("del", 3, 2)], [("ins", 1, "X"), ("del", 2, 1)]]),
    # deletes reaching the end, then inserts there
    ([("del", 4, 2)], [[("del", 5, 1)], [("del", 0, 5), ("ins", 0, "XYZ")]]),
    ([("del", 1, 1)], [[("del", 4, 2)], [("del", 2, 2), ("ins", 2, "XY")]]),
    ([("del", 0, 2)], [[("ins", 6, "XY")], [("del", 3, 5)]]),
    # three remote steps
    ([("del", 2, 3)], [[("ins", 2, "XY")], [("del", 1, 1)], [("ins", 0, "Z"), ("del", 3, 2)]]),
    ([("del", 1, 2)], [[("del", 0, 1)], [("ins", 0, "XYZ")], [("del", 2, 2), ("ins", 1, "Q")]]),
    # an insert of a remote step replaced inside it
    ([("del", 2, 2)], [[("ins", 3, "XYZW")], [("del", 4, 2), ("ins", 4, "Q")]]),
    ([("del", 2, 2)], [[("ins", 3, "XYZW")], [("del", 2, 2), ("ins", 3, "Q")]]),
]


@pytest.mark.parametrize("local,steps", CASES)
def test_text_undo_over_composed_remote_edits(local, steps):
    _check(False, "abcdef", local, steps)


@pytest.mark.parametrize("local,steps", CASES)
def test_list_undo_over_composed_remote_edits(local, steps):
    _check(True, [1, 2, 3, 4, 5, 6], local, [
        [(op[0], op[1], [ord(c) for c in op[2]]) if op[0] == "ins" else op for op in step]
        for step in steps])


def test_restored_text_stays_before_a_remote_insert_after_a_remote_delete():
    # the first found case: "😀x😀x", the server deletes "x😀x"; the remote peer inserts
    # "éxyz\n" after "😀", then deletes "😀" and inserts "é" before the "\n"
    out = _check(False, "😀x😀x", [("del", 1, 3)],
                 [[("ins", 1, "éxyz\n")], [("del", 0, 1), ("ins", 4, "é")]])
    assert out[0]["t"] == "x😀xéxyzé\n"


def test_restored_value_goes_between_remote_inserts_after_a_remote_delete():
    # list: the remote peer inserts 1 at the start, 22 at the end, then deletes the 5 the
    # restored 58 followed; loro keeps that delete before the insert of 22, and 58 lands
    # between 1 and 22
    out = _check(True, [5, 58], [("del", 1, 1)],
                 [[("ins", 0, [1])], [("ins", 3, [22])], [("del", 1, 1)]])
    assert out[0]["l"] == [1, 58, 22]


def test_insert_over_a_deleted_end_goes_before_the_last_delete():
    # From a recorded server session (its remote changes arrive out of order, so it is
    # given here as the diffs loro's undo manager sees): the remote edits since the undone
    # delete of "d" from "bcéd" are delete "é" (retain 2, delete 1), then insert "bcd",
    # delete "bc", insert "😀x". Composed in place, the insert of "bcd" falls where no
    # text follows ("bc" and "é" deleted), and loro places it before the last item, the
    # delete of "é": the undo (retain 3, insert "d") then restores "d" after "bcd"
    from loro_c import delta_ot as D
    first = [[D.RETAIN, 2, None], [D.DELETE, 1, None]]
    second = [[D.INSERT, "bcd", None], [D.DELETE, 2, None], [D.INSERT, "😀x", None]]
    composed = D.compose((D.SEQ, first, "text"), (D.SEQ, second, "text"))
    assert [(k, p) for k, p, _ in composed[1]] == [
        (D.DELETE, 2), (D.INSERT, "bcd"), (D.DELETE, 1), (D.INSERT, "😀x")]
    undo = D.transform((D.SEQ, [[D.RETAIN, 3, None], [D.INSERT, "d", None]], "text"),
                       composed, True)
    assert undo[1] == [[D.RETAIN, 3, None], [D.INSERT, "d", None]]
    assert D.to_public(composed).diff[0] == D.TextDelta.Delete(2)


def _two_undos(lib):
    # the server deletes 62 from [5, 62], then inserts 7 at the start (two undo items);
    # the remote peer appends 28, then deletes 5. The first undo removes 7 and moves the
    # remote diff (retain 1, delete 1, insert 28) over it: loro's push joins the list
    # insert to the delete's item (insert 28, then delete 1), so the second undo puts 62
    # after 28
    srv, rem = lib.LoroDoc(), lib.LoroDoc()
    srv.peer_id, rem.peer_id = 1, 2
    undo = lib.UndoManager(srv)
    rem.get_list("l").insert(0, 5)
    rem.get_list("l").insert(1, 62)
    rem.commit()
    srv.import_(rem.export(lib.ExportMode.Snapshot()))
    srv.get_list("l").delete(1, 1)
    srv.commit()
    srv.get_list("l").insert(0, 7)
    srv.commit()
    for step in ([("ins", 2, [28])], [("del", 0, 1)]):
        vv = srv.oplog_vv
        _apply(rem.get_list("l"), True, step)
        rem.commit()
        srv.import_(rem.export(lib.ExportMode.Updates(vv)))
    out = [srv.get_deep_value()["l"]]
    for _ in range(2):
        undo.undo()
        out.append(srv.get_deep_value()["l"])
    return out


def test_list_insert_joins_the_delete_before_it_when_moved_over_an_undo():
    ours, theirs = _two_undos(loro_c), _two_undos(loro)
    assert ours == theirs
    assert ours == [[7, 28], [28], [28, 62]]
