"""How deep a value may nest (lists and dicts in a map, list, movable list or tree value).

The codec's readers and writers recurse on the C stack and stop at 512 levels, so a value
may nest at most MAX_VALUE_NESTING (500) deep, whatever op carries it. Deeper values are
refused when they are written (LoroValueError, the document unchanged) or imported as JSON
(DecodeError, nothing applied). Before, a value 600 deep was taken and then failed every
export of the document, and one 300,000 deep overflowed the C stack of the value check and
killed the interpreter. (loro takes deeper values; loro_c's limit is documented here.)
"""
import subprocess
import sys

import loro
import pytest

import loro_c
from loro_c._types import MAX_VALUE_NESTING
from loro_c.errors import DecodeError, LoroValueError


def nested(depth, kind="list"):
    """A value with `depth` levels of lists (or dicts) around 1."""
    v = 1
    for i in range(depth):
        v = [v] if kind == "list" else {f"k{i % 3}": v}
    return v


def writer(d, where):
    """A function writing a value into `where` (its container made first, so that a refused
    write is the only thing tried)."""
    if where == "map":
        m = d.get_map("m")
        return lambda v: m.insert("k", v)
    if where == "list":
        lst = d.get_list("l")
        return lambda v: lst.insert(0, v)
    if where == "movable list":
        ml = d.get_movable_list("ml")
        return ml.push
    t = d.get_tree("t")
    meta = t.get_meta(t.create())
    return lambda v: meta.insert("x", v)


def write(d, where, v):
    writer(d, where)(v)


WHERE = ["map", "list", "movable list", "tree meta"]


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("where", WHERE)
def test_a_value_at_the_limit_round_trips(where, kind):
    v = nested(MAX_VALUE_NESTING, kind)
    d = loro_c.LoroDoc()
    d.peer_id = 1
    write(d, where, v)
    d.commit()
    d._check_invariants()
    blob = d.export(loro_c.ExportMode.Snapshot())
    ref = loro.LoroDoc()
    ref.import_(blob)
    ref.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    assert ref.get_deep_value() == d.get_deep_value()
    again = loro_c.LoroDoc()
    again.import_(ref.export(loro.ExportMode.Snapshot()))
    assert again.get_deep_value() == d.get_deep_value()
    js = loro_c.LoroDoc()
    js.import_json_updates(d.export_json_updates(loro_c.VersionVector(), d.oplog_vv))
    assert js.get_deep_value() == d.get_deep_value()


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("where", WHERE)
def test_a_deeper_value_is_refused_and_changes_nothing(where, kind):
    d = loro_c.LoroDoc()
    d.peer_id = 1
    d.get_map("m").insert("a", 1)
    d.commit()
    d.get_map("m").insert("open", 2)            # the open transaction stays as it is
    put = writer(d, where)
    before = (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len())
    with pytest.raises(LoroValueError, match="more than 500 deep"):
        put([0, nested(MAX_VALUE_NESTING, kind)])
    assert (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len()) == before
    d.commit()
    d._check_invariants()
    back = loro.LoroDoc()
    back.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == d.get_deep_value()


def test_a_far_deeper_value_does_not_crash_the_interpreter():
    code = (
        "import loro_c\n"
        "v = 1\n"
        "for _ in range(300000): v = [v]\n"
        "d = loro_c.LoroDoc()\n"
        "try:\n"
        "    d.get_map('m').insert('k', v)\n"
        "except loro_c.LoroValueError as e:\n"
        "    print('refused', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("refused")


def test_json_updates_with_a_deeper_value_are_refused_whole():
    src = loro.LoroDoc()
    src.peer_id = 5
    src.get_map("m").insert("k", "PLACE")
    src.get_list("l").insert(0, 1)
    src.commit()
    text = src.export_json_updates(loro.VersionVector(), src.oplog_vv)
    import json
    deep = json.dumps(nested(MAX_VALUE_NESTING + 1))
    d = loro_c.LoroDoc()
    d.get_map("m").insert("x", 1)
    d.commit()
    before = (d.get_deep_value(), d.oplog_vv)
    with pytest.raises(DecodeError, match="more than 500 deep"):
        d.import_json_updates(text.replace('"PLACE"', deep))
    assert (d.get_deep_value(), d.oplog_vv) == before
    d.import_json_updates(text.replace('"PLACE"', json.dumps(nested(MAX_VALUE_NESTING))))
    d._check_invariants()
    d.export(loro_c.ExportMode.Snapshot())
