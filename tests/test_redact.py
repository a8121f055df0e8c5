"""LoroDoc.redact_json_updates against loro: worked examples of each rule, then random
multi-peer histories redacted over random version ranges by both libraries."""
import json
import random

import loro
import pytest

import loro_c
from test_rejected_import_undo import World

LIBS = (loro, loro_c)


def history(lib):
    d = lib.LoroDoc()
    d.peer_id = 7
    d.get_text("t").insert(0, "héllo😀")
    m = d.get_map("m")
    m.insert("k", "secret")
    m.insert("n", [1, 2])
    m.insert_container("sub", lib.LoroList()).push(5)
    d.commit()
    lst = d.get_list("l")
    lst.push("x")
    lst.push({"a": 1})
    lst.delete(0, 1)
    d.get_counter("c").increment(2.5)
    d.get_text("t").delete(1, 2)
    m.delete("k")
    d.commit()
    return d, d.export_json_updates(lib.VersionVector(), d.oplog_vv)


def redacted(lib, lo, hi):
    d, text = history(lib)
    return json.loads(d.redact_json_updates(text, lib.VersionRange.from_map({7: (lo, hi)})))


def contents(updates):
    return [op["content"] for ch in updates["changes"] for op in ch["ops"]]


def test_rules_whole_range():
    ops = contents(redacted(loro_c, 0, 100))
    assert ops[0] == {"type": "insert", "pos": 0, "text": "\ufffd" * 6}
    assert ops[1]["value"] is None and ops[1]["key"] == "k"      # map value
    assert ops[2]["value"] is None                                 # a list value in a map
    assert ops[3]["value"].startswith("🦜:cid:")                   # child container kept
    assert ops[4]["value"] == [None]                               # list insert
    assert ops[5]["value"] == [None, None]
    assert ops[6]["type"] == "delete"                              # deletes kept
    assert ops[7] == {"type": "counter", "prop": 0, "value_type": "i64", "value": 0}
    assert [o["type"] for o in ops[8:]] == ["delete", "delete"]
    assert ops == contents(redacted(loro, 0, 100))


def test_partial_range_and_other_peers():
    ops = contents(redacted(loro_c, 3, 5))
    assert ops[0]["text"] == "hél\ufffd\ufffd😀"
    assert ops[1]["value"] == "secret"
    assert redacted(loro_c, 3, 5) == redacted(loro, 3, 5)
    d, text = history(loro_c)
    other = d.redact_json_updates(text, loro_c.VersionRange.from_map({8: (0, 100)}))
    assert json.loads(other) == json.loads(text)
    assert json.loads(d.redact_json_updates(text, loro_c.VersionRange())) == json.loads(text)


@pytest.mark.parametrize("bad", ["", "nope", "[]", "{}", '{"schema_version":1}',
                                 '{"schema_version":1,"start_version":{},"peers":["x"],'
                                 '"changes":[{"id":"0@0","ops":[]}]}'])
def test_malformed_json_raises(bad):
    with pytest.raises(loro_c.LoroError):
        loro_c.LoroDoc().redact_json_updates(bad, loro_c.VersionRange())
    with pytest.raises(BaseException):  # loro panics
        loro.LoroDoc().redact_json_updates(bad, loro.VersionRange())


def random_range(lib, rng, vv):
    m = {}
    for peer, end in vv.items():
        if rng.random() < 0.7:
            a = rng.randint(0, end)
            m[peer] = (a, rng.randint(a, end + 2))
    return lib.VersionRange.from_map(m)


@pytest.mark.parametrize("seed", range(25))
def test_differential(seed):
    world = World(seed)
    rng = random.Random(seed * 31 + 1)
    vv = world.full[loro_c].oplog_vv.to_dict()
    for _ in range(3):
        state = rng.getstate()
        for source in LIBS:  # each library's export, redacted by both
            full = world.full[source]
            text = full.export_json_updates(source.VersionVector(), full.oplog_vv)
            out = {}
            for lib in LIBS:
                rng.setstate(state)
                out[lib] = lib.LoroDoc().redact_json_updates(text, random_range(lib, rng, vv))
            assert json.loads(out[loro_c]) == json.loads(out[loro])
            values = []
            for lib in LIBS:
                fresh = lib.LoroDoc()
                fresh.import_json_updates(out[loro_c])
                values.append(fresh.get_deep_value())
            assert values[0] == values[1]


def rich_history(seed):
    """Two loro peers using every kind loro_c lacks too (marks, movable lists, trees)."""
    rng = random.Random(seed)
    docs = []
    for peer in (3, 5):
        d = loro.LoroDoc()
        d.peer_id = peer
        docs.append(d)
    for _ in range(30):
        d = rng.choice(docs)
        k = rng.random()
        if k < 0.15:
            d.get_text("t").insert(0, rng.choice(["ab", "é😀", "xyz"]))
        elif k < 0.25:
            t = d.get_text("t")
            n = len(t.to_string())
            if n > 1:
                t.mark(0, rng.randint(1, n), rng.choice(["bold", "link"]),
                       rng.choice([True, "u", 3, None]))
        elif k < 0.4:
            ml = d.get_movable_list("ml")
            ml.insert(0, rng.choice([1, "s", [1], {"a": 1}]))
            if len(ml) > 1 and rng.random() < 0.5:
                ml.mov(0, len(ml) - 1)
            if rng.random() < 0.5:
                ml.set(0, "set")
            if rng.random() < 0.3:
                ml.insert_container(0, loro.LoroMap()).insert("q", 1)
        elif k < 0.55:
            tree = d.get_tree("tree")
            node = tree.create()
            tree.get_meta(node).insert("name", "x")
            if rng.random() < 0.5:
                tree.create(node)
        elif k < 0.7:
            m = d.get_map("m")
            m.insert(rng.choice("abc"), rng.choice([1, None, "s", [2]]))
            if rng.random() < 0.3:
                m.insert_container("cc", loro.LoroText()).insert(0, "in")
        elif k < 0.8:
            d.get_counter("c").increment(rng.choice([1, 2.5, -3]))
        else:
            lst = d.get_list("l")
            lst.insert(0, rng.choice([1, "s"]))
            if len(lst) > 2:
                lst.delete(1, 1)
        d.commit()
        if rng.random() < 0.3:
            a, b = docs
            b.import_(a.export(loro.ExportMode.Updates(b.oplog_vv)))
            a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    a, b = docs
    a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    return a


@pytest.mark.parametrize("seed", range(15))
def test_differential_rich_kinds(seed):
    d = rich_history(seed)
    text = d.export_json_updates(loro.VersionVector(), d.oplog_vv)
    rng = random.Random(seed)
    for _ in range(4):
        spans = {}
        for peer in (3, 5):
            last = d.oplog_vv.get_last(peer)
            if last is not None and rng.random() < 0.8:
                a = rng.randint(0, last + 1)
                spans[peer] = (a, rng.randint(a, last + 3))
        want = d.redact_json_updates(text, loro.VersionRange.from_map(spans))
        got = loro_c.LoroDoc().redact_json_updates(text, loro_c.VersionRange.from_map(spans))
        assert json.loads(got) == json.loads(want)
        fresh = loro.LoroDoc()
        fresh.import_json_updates(got)
        assert fresh.oplog_vv == d.oplog_vv
