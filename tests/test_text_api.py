"""LoroText.update / update_by_line (text diffs) and the rest of the text API, against `loro`
and against independent checks (an LCS computed by dynamic programming for minimality)."""
import random

import pytest
from hypothesis import given, strategies as st

import loro
import loro_c
from loro_c import LoroTypeError, LoroValueError
from loro_c import _textdiff

ALPHABETS = ["ab", "abc", "abcdefgh ", "a😀b\n", "xy\n", "é😀👍🏽z"]


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def mutate(rng, s, alphabet, k):
    out = list(s)
    for _ in range(k):
        r = rng.random()
        if out and r < 0.4:
            del out[rng.randrange(len(out))]
        elif out and r < 0.6:
            out[rng.randrange(len(out))] = rng.choice(alphabet)
        else:
            out.insert(rng.randint(0, len(out)), rng.choice(alphabet))
    return "".join(out)


def edited(lib, old, new, method="update", **kw):
    """(resulting text, atoms inserted + deleted by the call) in a fresh doc."""
    doc = lib.LoroDoc()
    doc.peer_id = 5
    t = doc.get_text("t")
    t.insert(0, old)
    doc.commit()
    before = doc.len_ops
    getattr(t, method)(new, **kw)
    doc.commit()
    return t.to_string(), doc.len_ops - before


def apply_edits(old, edits):
    """Apply (DELETE, pos, count) / (INSERT, pos, text) edits given in `old`'s positions."""
    out, last = [], 0
    for kind, pos, payload in edits:
        assert pos >= last
        out.append(old[last:pos])
        if kind == _textdiff.DELETE:
            last = pos + payload
        else:
            out.append(payload)
            last = pos
    out.append(old[last:])
    return "".join(out)


def edit_size(edits):
    return sum(p if k == _textdiff.DELETE else len(p) for k, _, p in edits)


def test_unrefined_diff_is_minimal():
    """Without refinement the edit is a shortest one: len(old) + len(new) - 2 * LCS atoms."""
    rng = random.Random(9)
    for _ in range(400):
        alphabet = rng.choice(ALPHABETS)
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        new = (mutate(rng, old, alphabet, rng.randint(0, 8)) if rng.random() < 0.7
               else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        edits = _textdiff.char_edits(old, new, False)
        assert apply_edits(old, edits) == new
        assert edit_size(edits) == len(old) + len(new) - 2 * lcs(old, new), (old, new)
        text, n_ops = edited(loro_c, old, new, use_refined_diff=False)
        assert text == new
        assert n_ops == len(old) + len(new) - 2 * lcs(old, new)


def test_update_matches_loro_on_random_edits():
    """Resulting text equals the target, with as many atoms inserted and deleted as loro."""
    rng = random.Random(3)
    for _ in range(300):
        alphabet = rng.choice(ALPHABETS)
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        new = mutate(rng, old, alphabet, rng.randint(0, 12))
        refined = rng.random() < 0.7
        want = edited(loro, old, new, use_refined_diff=refined)
        got = edited(loro_c, old, new, use_refined_diff=refined)
        assert got == want
        assert got[0] == new


@given(st.text(alphabet="ab😀\n", max_size=30), st.text(alphabet="ab😀\n", max_size=30),
       st.booleans())
def test_update_reaches_any_target(old, new, refined):
    for method in ("update", "update_by_line"):
        assert edited(loro_c, old, new, method, use_refined_diff=refined)[0] == new


@pytest.mark.parametrize("refined", [True, False])
def test_one_character_change_is_one_character_edit(refined):
    rng = random.Random(1)
    base = "".join(rng.choice("abcdefghij klmnop\n😀") for _ in range(5000))
    for _ in range(20):
        i = rng.randrange(len(base))
        ins = base[:i] + "Z" + base[i:]
        dele = base[:i] + base[i + 1:]
        assert edited(loro_c, base, ins, use_refined_diff=refined) == (ins, 1)
        assert edited(loro_c, base, dele, use_refined_diff=refined) == (dele, 1)
        rep = base[:i] + "Q" + base[i + 1:]
        assert edited(loro_c, base, rep, use_refined_diff=refined) == (rep, 2)


def test_update_by_line_replaces_whole_lines():
    old = "alpha\nbeta\ngamma\ndelta"
    new = "alpha\nBETA\ngamma\ndelta\nepsilon\n"
    for lib in (loro, loro_c):
        text, n = edited(lib, old, new, "update_by_line")
        assert text == new
    # "beta\n" out, "BETA\n" in; "delta" out, "delta\nepsilon\n" in
    assert edited(loro_c, old, new, "update_by_line") == edited(loro, old, new, "update_by_line")
    assert edited(loro_c, old, new, "update_by_line", use_refined_diff=False)[1] == 5 + 5 + 5 + 14


def test_update_by_line_random_multiline():
    rng = random.Random(5)
    words = ["one", "two", "three", "😀", "", "é"]
    for _ in range(100):
        lines = [rng.choice(words) for _ in range(rng.randint(0, 30))]
        old = "\n".join(lines) + rng.choice(["", "\n"])
        new_lines = list(lines)
        for _ in range(rng.randint(0, 5)):
            r = rng.random()
            if new_lines and r < 0.4:
                del new_lines[rng.randrange(len(new_lines))]
            else:
                new_lines.insert(rng.randint(0, len(new_lines)), rng.choice(words))
        new = "\n".join(new_lines) + rng.choice(["", "\n"])
        refined = rng.random() < 0.5
        got = edited(loro_c, old, new, "update_by_line", use_refined_diff=refined)
        want = edited(loro, old, new, "update_by_line", use_refined_diff=refined)
        assert got[0] == want[0] == new
        edits = _textdiff.line_edits(old, new, refined)
        assert apply_edits(old, edits) == new
        if not refined:
            # minimal in lines (the character count of equally short line diffs may differ)
            ol, nl = _textdiff.split_lines(old), _textdiff.split_lines(new)
            changed = sum(len(_textdiff.split_lines(old[pos:pos + p] if k == _textdiff.DELETE
                                                    else p)) for k, pos, p in edits)
            assert changed == len(ol) + len(nl) - 2 * lcs(ol, nl)


def test_update_converges_through_sync():
    """Concurrent updates from two peers merge like any other text edits, in both libraries."""
    results = []
    for lib in (loro, loro_c):
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        a.get_text("t").insert(0, "the quick brown fox\njumps over\nthe lazy dog")
        b.import_(a.export(lib.ExportMode.Snapshot()))
        a.get_text("t").update("the quick red fox\njumps over\nthe lazy dog", use_refined_diff=False)
        b.get_text("t").update_by_line("the quick brown fox\njumps high\nthe lazy dog")
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        assert a.get_text("t").to_string() == b.get_text("t").to_string()
        results.append(a.get_text("t").to_string())
    assert results[0] == results[1] == "the quick red fox\njumps high\nthe lazy dog"


def test_update_exports_import_into_loro():
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    t.insert(0, "héllo 😀 world")
    t.update("hello 👍🏽 wörld!")
    ref = loro.LoroDoc()
    ref.import_(doc.export(loro_c.ExportMode.Snapshot()))
    assert ref.get_text("t").to_string() == "hello 👍🏽 wörld!"


def test_detached_text_update():
    for lib in (loro, loro_c):
        t = lib.LoroText()
        t.update("abc")
        t.update_by_line("a\nb")
        assert t.to_string() == "a\nb"
    doc = loro_c.LoroDoc()
    got = doc.get_map("m").insert_container("t", t)
    assert got.to_string() == "a\nb"


def test_timeout_leaves_text_unchanged():
    rng = random.Random(2)
    a = "".join(rng.choice("ab") for _ in range(20000))
    b = "".join(rng.choice("ab") for _ in range(20000))
    for lib, err in ((loro, ValueError), (loro_c, LoroValueError)):
        doc = lib.LoroDoc()
        t = doc.get_text("t")
        t.insert(0, a)
        with pytest.raises(err, match="Timeout"):
            t.update(b, timeout_ms=1)
        assert t.to_string() == a
        for ms in (0, -1.0):
            with pytest.raises(err, match="Timeout"):
                t.update(b, True, ms)
        # trimming alone settles it: no search, no timeout
        t.update(a + "c", timeout_ms=0)
        assert t.to_string() == a + "c"
        t.update_by_line(b, timeout_ms=10_000)
        assert t.to_string() == b


@pytest.mark.parametrize("args", [("x", 1), ("x", True, "a"), ("x", None), ("x", True, [1])])
def test_update_option_types(args):
    for lib, err in ((loro, TypeError), (loro_c, LoroTypeError)):
        t = lib.LoroDoc().get_text("t")
        t.insert(0, "keep")
        for method in (t.update, t.update_by_line):
            with pytest.raises(err):
                method(*args)
        assert t.to_string() == "keep"


def test_update_refuses_lone_surrogates_and_changes_nothing():
    t = loro_c.LoroDoc().get_text("t")
    t.insert(0, "abc")
    for method in (t.update, t.update_by_line):
        with pytest.raises(LoroValueError):
            method("ab\ud800c")
        assert t.to_string() == "abc"


def test_refined_diff_prefers_runs():
    """The refined search trades a few extra atoms for one contiguous replacement, like
    loro: 'örld' -> 'Örld!' is one delete and one insert, not three scattered edits."""
    for refined, want in ((True, 9), (False, 3)):
        got = edited(loro_c, "héllo😀wörld", "héllo😀wÖrld!", use_refined_diff=refined)
        assert got == edited(loro, "héllo😀wörld", "héllo😀wÖrld!", use_refined_diff=refined)
        assert got[1] == want


def test_large_text_small_change_uses_myers_path():
    rng = random.Random(4)
    base = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz \n") for _ in range(200_000))
    new = base[:1000] + "XYZ" + base[1010:150_000] + base[150_500:]
    for lib in (loro, loro_c):
        text, n = edited(lib, base, new)
        assert text == new
        assert n <= 3 + 10 + 500


line_texts = st.lists(st.sampled_from(["a", "b", "", "😀"]), max_size=7).map("\n".join)


@given(line_texts, line_texts, st.booleans(), st.booleans())
def test_line_diff_is_minimal_in_lines(old, new, old_nl, new_nl):
    """Unrefined line edits cut at line boundaries of both texts and change a minimal number
    of lines, whatever the common ends look like."""
    old += "\n" if old_nl else ""
    new += "\n" if new_nl else ""
    edits = _textdiff.line_edits(old, new, False)
    assert apply_edits(old, edits) == new
    ol, nl = _textdiff.split_lines(old), _textdiff.split_lines(new)
    changed = sum(len(_textdiff.split_lines(old[pos:pos + p] if k == _textdiff.DELETE else p))
                  for k, pos, p in edits)
    assert changed == len(ol) + len(nl) - 2 * lcs(ol, nl)
    assert edited(loro_c, old, new, "update_by_line")[0] == new


def _ops(lib, old, new, method, refined):
    """The text ops an update writes, adjacent inserts joined (loro sometimes stores one
    run as two ops, depending on its string arena; the edits are what is compared)."""
    import json
    doc = lib.LoroDoc()
    doc.peer_id = 3
    t = doc.get_text("t")
    t.insert(0, old)
    doc.commit()
    vv = doc.oplog_vv
    getattr(t, method)(new, use_refined_diff=refined)
    doc.commit()
    out = []
    for change in json.loads(doc.export_json_updates(vv, doc.oplog_vv))["changes"]:
        for op in change["ops"]:
            c = dict(op["content"])
            if (out and c["type"] == "insert" and out[-1]["type"] == "insert"
                    and c["pos"] == out[-1]["pos"] + len(out[-1]["text"])):
                out[-1]["text"] += c["text"]
                continue
            out.append(c)
    return out


def test_update_writes_the_same_edits_as_loro():
    """Same Myers search, same refined-search costs and the same heap tie-breaking as
    Loro: the inserts and deletes are Loro's own, for char and line diffs alike."""
    rng = random.Random(11)
    for _ in range(300):
        alphabet = rng.choice(ALPHABETS)
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        new = (mutate(rng, old, alphabet, rng.randint(0, 30)) if rng.random() < 0.8
               else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))))
        method = rng.choice(["update", "update_by_line"])
        refined = rng.random() < 0.6
        assert _ops(loro_c, old, new, method, refined) == _ops(loro, old, new, method, refined)
