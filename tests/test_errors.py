"""Error behaviour of loro_c (loro itself raises pyo3 panics here, so this file is loro_c-only).

Bad positions raise ``loro_c.OutOfBoundsError``, bad JSON raises ``loro_c.LoroError``, and a
failed call leaves the document exactly as it was (deep value and oplog_vv).
"""
import json

import pytest

import loro_c


def snapshot(doc):
    vv = doc.oplog_vv
    return doc.get_deep_value(), {p: vv.get_last(p) for p in (1, 2, 9)}


@pytest.fixture
def doc():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    d.get_text("text").insert(0, "héllo😀")
    lst = d.get_list("list")
    for v in (1, "two", None):
        lst.push(v)
    d.get_map("map").insert("k", 1)
    d.commit()
    return d


def test_hierarchy():
    assert issubclass(loro_c.OutOfBoundsError, loro_c.LoroError)
    assert issubclass(loro_c.LoroError, Exception)


def test_text_insert_past_end(doc):
    t = doc.get_text("text")
    before = snapshot(doc)
    with pytest.raises(loro_c.OutOfBoundsError):
        t.insert(t.len_unicode + 1, "x")
    assert snapshot(doc) == before
    doc.commit()
    assert snapshot(doc) == before


def test_text_delete_past_end(doc):
    t = doc.get_text("text")
    before = snapshot(doc)
    with pytest.raises(loro_c.OutOfBoundsError):
        t.delete(0, t.len_unicode + 1)
    with pytest.raises(loro_c.OutOfBoundsError):
        t.delete(t.len_unicode, 1)
    doc.commit()
    assert snapshot(doc) == before
    assert t.to_string() == "héllo😀"


def test_text_utf16_inside_code_point(doc):
    t = doc.get_text("text")
    before = snapshot(doc)
    # "héllo😀": the emoji occupies UTF-16 units 5 and 6
    with pytest.raises(loro_c.LoroError):
        t.insert_utf16(6, "x")
    doc.commit()
    assert snapshot(doc) == before


def test_list_get_out_of_range_is_none(doc):
    lst = doc.get_list("list")
    assert lst.get(len(lst)) is None
    assert lst.get(100) is None


def test_list_delete_out_of_range(doc):
    lst = doc.get_list("list")
    before = snapshot(doc)
    with pytest.raises(loro_c.OutOfBoundsError):
        lst.delete(0, len(lst) + 1)
    with pytest.raises(loro_c.OutOfBoundsError):
        lst.delete(len(lst), 1)
    doc.commit()
    assert snapshot(doc) == before


def test_list_insert_out_of_range(doc):
    lst = doc.get_list("list")
    before = snapshot(doc)
    with pytest.raises(loro_c.OutOfBoundsError):
        lst.insert(len(lst) + 1, 5)
    doc.commit()
    assert snapshot(doc) == before


def test_import_not_json(doc):
    before = snapshot(doc)
    with pytest.raises(loro_c.LoroError):
        doc.import_json_updates("not json")
    assert snapshot(doc) == before


def _update(changes, peers=("9",)):
    return json.dumps({"schema_version": 1, "start_version": {}, "peers": list(peers),
                       "changes": changes})


GOOD_CHANGE = {
    "id": "0@0", "timestamp": 0, "deps": [], "lamport": 0, "msg": None,
    "ops": [{"container": "cid:root-text:Text",
             "content": {"type": "insert", "pos": 0, "text": "ab"}, "counter": 0}],
}


def test_good_change_template_imports():
    """The template used below is valid: it must import (guards the malformed cases)."""
    d = loro_c.LoroDoc()
    d.peer_id = 2
    d.import_json_updates(_update([GOOD_CHANGE]))
    assert d.get_text("text").to_string() == "ab"
    assert d.oplog_vv.get_last(9) == 1


MALFORMED = {
    "change without ops": {k: v for k, v in GOOD_CHANGE.items() if k != "ops"},
    "change without id": {k: v for k, v in GOOD_CHANGE.items() if k != "id"},
    "bad id string": dict(GOOD_CHANGE, id="zero@0"),
    "peer index outside peers table": dict(GOOD_CHANGE, id="0@5"),
    "op content of unknown shape": dict(GOOD_CHANGE, ops=[
        {"container": "cid:root-text:Text", "content": {"type": "insert", "pos": 0},
         "counter": 0}]),
    "ops is not a list": dict(GOOD_CHANGE, ops=5),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_import_malformed_change(doc, case):
    before = snapshot(doc)
    with pytest.raises(loro_c.LoroError):
        doc.import_json_updates(_update([MALFORMED[case]]))
    assert snapshot(doc) == before


def test_import_is_all_or_nothing(doc):
    """A valid change followed by a malformed one imports nothing (spec 5.4)."""
    second = dict(GOOD_CHANGE, id="2@0", deps=["1@0"], lamport=2, ops=5)
    before = snapshot(doc)
    with pytest.raises(loro_c.LoroError):
        doc.import_json_updates(_update([GOOD_CHANGE, second]))
    assert snapshot(doc) == before


def test_import_wrong_top_level_types(doc):
    before = snapshot(doc)
    for bad in ("[]", "{}", '{"schema_version": 1, "start_version": {}, "peers": ["9"], '
                            '"changes": 5}'):
        with pytest.raises(loro_c.LoroError):
            doc.import_json_updates(bad)
        assert snapshot(doc) == before
