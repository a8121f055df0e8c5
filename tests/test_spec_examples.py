"""The 13 worked examples of concurrent text edits (spec section 2.5).

Peer 100 writes the base text. Each listed peer receives it through JSON updates, does its
ops and commits. Then every permutation of the peers' full exports is imported into a fresh
document, which must always show the table's merged text.
"""
import itertools

import pytest

import loro_c

# (base text, [(peer, [op, ...]), ...], expected); op = ("i", pos, text) or ("d", pos, len)
EXAMPLES = {
    1: ("", [(1, [("i", 0, "A")]), (2, [("i", 0, "B")]), (3, [("i", 0, "C")])], "ABC"),
    2: ("", [(3, [("i", 0, "A")]), (2, [("i", 0, "B")]), (1, [("i", 0, "C")])], "CBA"),
    3: ("xy", [(1, [("i", 1, "A")]), (2, [("i", 1, "B")]), (3, [("i", 1, "C")])], "xABCy"),
    4: ("xy", [(2, [("i", 1, "ab")]), (1, [("i", 1, "cd")]), (3, [("i", 1, "ef")])], "xcdabefy"),
    5: ("", [(2**64 - 2, [("i", 0, "A")]), (1, [("i", 0, "B")]), (2**63, [("i", 0, "C")])], "BCA"),
    6: ("xy", [(1, [("i", 2, "A")]), (2, [("i", 2, "B")])], "xyAB"),
    7: ("xy", [(1, [("i", 1, "A"), ("i", 1, "a")]), (2, [("i", 1, "B"), ("i", 2, "b")])], "xaABby"),
    8: ("abc", [(1, [("d", 1, 1)]), (2, [("i", 2, "X")])], "aXc"),
    9: ("abcd", [(1, [("d", 0, 4)]), (2, [("i", 2, "X")]), (3, [("i", 2, "Y")])], "XY"),
    10: ("xy", [(1, [("i", 1, "c"), ("i", 1, "b"), ("i", 1, "a")]),
                (2, [("i", 1, "z"), ("i", 1, "y"), ("i", 1, "x")])], "xabcxyzy"),
    11: ("xy", [(1, [("i", 1, "a"), ("i", 2, "b"), ("i", 3, "c")]),
                (2, [("i", 1, "d"), ("i", 2, "e"), ("i", 3, "f")])], "xabcdefy"),
    12: ("", [(2, [("i", 0, "a"), ("i", 1, "b")]), (1, [("i", 0, "d"), ("i", 0, "c")])], "cdab"),
    13: ("ab", [(1, [("i", 1, "X")]), (2, [("d", 0, 1), ("i", 0, "Y")])], "YXb"),
}


def full_export(doc):
    return doc.export_json_updates(loro_c.VersionVector(), doc.oplog_vv)


@pytest.mark.parametrize("number", sorted(EXAMPLES))
def test_worked_example(number):
    base_text, edits, expected = EXAMPLES[number]

    base = loro_c.LoroDoc()
    base.peer_id = 100
    if base_text:
        base.get_text("t").insert(0, base_text)
        base.commit()
    base_json = full_export(base)

    exports = []
    for peer, ops in edits:
        d = loro_c.LoroDoc()
        d.peer_id = peer
        d.import_json_updates(base_json)
        t = d.get_text("t")
        assert t.to_string() == base_text
        for op in ops:
            if op[0] == "i":
                t.insert(op[1], op[2])
            else:
                t.delete(op[1], op[2])
        d.commit()
        exports.append(full_export(d))

    for order in itertools.permutations(range(len(exports))):
        out = loro_c.LoroDoc()
        out.peer_id = 999
        for i in order:
            out.import_json_updates(exports[i])
        got = out.get_text("t").to_string()
        assert got == expected, (
            f"example {number}: import order {[edits[i][0] for i in order]} "
            f"gave {got!r}, expected {expected!r}"
        )
        assert out.get_deep_value() == {"t": expected}
