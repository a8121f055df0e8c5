"""Strs with a lone surrogate: they have no UTF-8 form, so no Loro document can hold them.

loro (through pyo3) takes them in two ways, and loro_c now does the same:
- a str *value* (a map, list or movable-list value, a dict key or list item nested in one, a
  mark's value) is converted lossily: the surrogate's 3 surrogate-escaped UTF-8 bytes are
  invalid, and each becomes U+FFFD. The document reads the converted str back, and it
  exports and syncs like any other.
- where loro needs the exact text (a map or mark key, a root name, a commit message, a style
  key), the call is refused: UnicodeEncodeError in loro, LoroValueError here, and the
  document is left as it was.
- JSON updates that spell one (\\ud800) are refused whole, as loro's parser refuses them.
Before, loro_c stored such strs as given, and the document could then not be exported at
all (a server holding it could never snapshot it again).
"""
import loro
import pytest

import loro_c
from loro_c.errors import CallbackError, DecodeError, LoroValueError

LONE = ["\ud800", "x\udfffy", "\ud83d\ude00", "é\udc00中", "😀\ud800😀", "\ud800" * 3]


def both(script):
    out = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.peer_id = 3
        script(lib, d)
        d.commit()
        out.append(d)
    return out


@pytest.mark.parametrize("s", LONE)
@pytest.mark.parametrize("where", ["map", "list", "movable list", "nested dict key",
                                   "nested list", "tree meta", "mark value"])
def test_a_value_with_a_lone_surrogate_is_stored_as_loro_stores_it(s, where):
    def script(lib, d):
        if where == "map":
            d.get_map("m").insert("k", s)
        elif where == "list":
            d.get_list("l").insert(0, s)
        elif where == "movable list":
            ml = d.get_movable_list("ml")
            ml.insert(0, 1)
            ml.set(0, s)
        elif where == "nested dict key":
            d.get_map("m").insert("k", {s: 1, "plain": {s + "!": [s]}})
        elif where == "nested list":
            d.get_list("l").insert(0, [1, [s, {"a": s}]])
        elif where == "tree meta":
            t = d.get_tree("t")
            t.get_meta(t.create()).insert("x", s)
        else:
            t = d.get_text("t")
            t.insert(0, "abcdef")
            t.mark(1, 4, "link", s)
    ref, ours = both(script)
    assert ours.get_deep_value() == ref.get_deep_value()
    if where == "mark value":
        def runs(doc):
            return [(x.insert, x.attributes) for x in doc.get_text("t").to_delta()]
        assert runs(ours) == runs(ref)
    ours._check_invariants()
    # it exports, loro reads it, and it syncs back
    back = loro.LoroDoc()
    back.import_(ours.export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == ref.get_deep_value()
    again = loro_c.LoroDoc()
    again.import_(ref.export(loro.ExportMode.Snapshot()))
    assert again.get_deep_value() == ours.get_deep_value()
    again.import_json_updates(ours.export_json_updates(loro_c.VersionVector(), ours.oplog_vv))
    assert again.get_deep_value() == ours.get_deep_value()


def test_the_lossy_form_is_loros():
    d = loro_c.LoroDoc()
    d.get_map("m").insert("k", "x\ud800y")
    assert d.get_map("m").get("k").value == "x\ufffd\ufffd\ufffdy"
    d.get_map("m").insert("p", "\ud83d\ude00")          # a pair of lone surrogates in a str
    assert d.get_map("m").get("p").value == "\ufffd" * 6
    d.get_map("m").insert("q", "😀")                      # one code point: kept
    assert d.get_map("m").get("q").value == "😀"


def commit_with_message(d, msg, how):
    if how == "commit_with":
        d.commit_with(commit_msg=msg)
    elif how == "set_next_commit_message":
        d.set_next_commit_message(msg)
        d.commit()
    else:
        def pre(e):
            e["modifier"].set_message(msg)
        sub = d.subscribe_pre_commit(pre)
        try:
            d.commit()
        finally:
            sub.unsubscribe()


@pytest.mark.parametrize("how", ["commit_with", "set_next_commit_message"])
def test_a_commit_message_with_a_lone_surrogate_is_refused(how):
    d = loro_c.LoroDoc()
    d.peer_id = 4
    d.get_map("m").insert("x", 0)
    d.commit()
    d.get_map("m").insert("a", 1)         # the open transaction stays open
    before = (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len())
    with pytest.raises(LoroValueError, match="lone surrogate"):
        commit_with_message(d, "ok\ud800", how)
    assert (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len()) == before
    commit_with_message(d, "fine", how)
    d._check_invariants()
    back = loro.LoroDoc()
    back.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == d.get_deep_value()
    assert back.get_change(loro.ID(4, 1)).message == "fine"
    ref = loro.LoroDoc()
    ref.get_map("m").insert("a", 1)
    with pytest.raises(UnicodeEncodeError):
        commit_with_message(ref, "ok\ud800", how)


def test_a_pre_commit_message_with_a_lone_surrogate_is_the_callbacks_error():
    """The modifier refuses it inside the callback; the commit goes ahead without it, and
    the callback's error is reported after it (loro panics here)."""
    d = loro_c.LoroDoc()
    d.peer_id = 4
    d.get_map("m").insert("a", 1)
    with pytest.raises(CallbackError) as info:
        commit_with_message(d, "ok\ud800", "pre-commit modifier")
    assert isinstance(info.value.__cause__, LoroValueError) or "lone surrogate" in str(info.value)
    assert d.get_pending_txn_len() == 0
    assert d.get_change(loro_c.ID(4, 0)).message is None
    back = loro.LoroDoc()
    back.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == {"m": {"a": 1}}


def test_a_style_key_with_a_lone_surrogate_is_refused():
    with pytest.raises(UnicodeEncodeError):
        loro.StyleConfigMap().insert("\ud800", loro.ExpandType.After)
    with pytest.raises(LoroValueError, match="lone surrogate"):
        loro_c.StyleConfigMap().insert("\ud800", loro_c.ExpandType.After)


@pytest.mark.parametrize("field", ["value", "dict key", "list item", "msg", "map key"])
def test_json_updates_with_a_lone_surrogate_are_refused_whole(field):
    src = loro.LoroDoc()
    src.peer_id = 5
    src.get_map("m").insert("KEY", "VAL")
    src.get_list("l").insert(0, {"kk": ["ITEM"]})
    src.set_next_commit_message("MSG")
    src.commit()
    good = src.export_json_updates(loro.VersionVector(), src.oplog_vv)
    token = {"value": "VAL", "dict key": "kk", "list item": "ITEM", "msg": "MSG", "map key": "KEY"}[field]
    bad = good.replace(token, "a\\ud800")
    d = loro_c.LoroDoc()
    d.get_map("m").insert("x", 1)
    d.commit()
    before = (d.get_deep_value(), d.oplog_vv)
    with pytest.raises(DecodeError, match="lone surrogate"):
        d.import_json_updates(bad)
    assert (d.get_deep_value(), d.oplog_vv) == before
    ref = loro.LoroDoc()
    with pytest.raises(BaseException):
        ref.import_json_updates(bad)
    # a surrogate pair spelled as two escapes is one code point, and is taken
    d.import_json_updates(good.replace(token, "a\\ud83d\\ude00"))
    d._check_invariants()
    d.export(loro_c.ExportMode.Snapshot())


def test_an_ephemeral_value_with_a_lone_surrogate_is_loros_lossy_form():
    """EphemeralStore.set takes such a value as loro does; the bytes interoperate both ways.
    A key with one is refused (loro: UnicodeEncodeError)."""
    value = {"\ud800": ["x\udc00", 1], "plain": "é\ud83d\ude00"}
    ours, ref = loro_c.EphemeralStore(60_000), loro.EphemeralStore(60_000)
    ours.set("k", value)
    ref.set("k", value)
    assert ours.get("k") == ref.get("k") == {"\ufffd" * 3: ["x" + "\ufffd" * 3, 1], "plain": "é" + "\ufffd" * 6}
    into_ref, into_ours = loro.EphemeralStore(60_000), loro_c.EphemeralStore(60_000)
    into_ref.apply(ours.encode_all())
    into_ours.apply(ref.encode_all())
    assert into_ref.get("k") == into_ours.get("k") == ref.get("k")
    with pytest.raises(LoroValueError, match="lone surrogate"):
        ours.set("\ud800", 1)
    with pytest.raises(UnicodeEncodeError):
        ref.set("\ud800", 1)
