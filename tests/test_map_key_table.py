"""The log's map key table (oplog/key_table.pxi): str -> key index without reading strs.

A slot compares a key's hash bits, its first 8 bytes of str data, its kind and byte length,
so short keys are decided from the slot alone and longer ones through the stored str. These
tests give it the keys that could fool such a table: keys that share their first 8 bytes,
keys that differ only by a trailing NUL, keys whose chars are 1, 2 or 4 bytes wide, the empty
key, str subclasses with their own hash and equality; and they grow and shrink it through
rejected imports, which forget the keys they registered. Every document is checked against
`loro` and by `_check_invariants` (key_table_check: every key found at its index).
"""
import json
import random

import loro
import pytest

import loro_c

TRICKY_KEYS = [
    "", "a", "a\x00", "a\x00\x00", "\x00", "ab", "abcdefgh", "abcdefgh\x00", "abcdefghi",
    "abcdefghj", "abcdefgh" * 5, "abcdefgh" * 5 + "!", "é", "éé", "e\u0301", "\xff" * 8,
    "\xff" * 9, "ü中", "中", "中文字符", "中文字符串", "😀", "😀x", "x😀", "😀😀", "😀😀😀",
    "k1", "k10", "k100", "K1", " k1", "k1 ",
]


class Shouty(str):
    """A str subclass whose own hash and equality must not decide the key."""

    def __hash__(self):
        return 7

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731


def fill(lib, keys, peer=1):
    d = lib.LoroDoc()
    d.peer_id = peer
    m = d.get_map("m")
    for i, k in enumerate(keys):
        m.insert(k, i)
    d.commit()
    return d


def test_tricky_keys_are_kept_apart_as_loro_keeps_them():
    keys = TRICKY_KEYS + [f"k{i}" for i in range(300)]
    ours, ref = fill(loro_c, keys), fill(loro, keys)
    assert ours.get_deep_value() == ref.get_deep_value()
    assert len(ours.get_map("m")) == len(set(keys))
    ours._check_invariants()
    m = ours.get_map("m")
    last = {k: i for i, k in enumerate(keys)}
    for k, i in last.items():
        assert m.get(k).value == i
        assert m.get_last_editor(k) == 1
    for absent in ("a\x00\x00\x00", "abcdefgh" * 5 + "?", "😀😀😀😀", "k300", "中文字"):
        assert m.get(absent) is None
        assert m.get_last_editor(absent) is None
    # the keys travel: binary and JSON updates into loro and back
    blob = ours.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    back = loro.LoroDoc()
    back.import_(blob)
    assert back.get_deep_value() == ref.get_deep_value()
    again = loro_c.LoroDoc()
    again.import_(ref.export(loro.ExportMode.Snapshot()))
    again.import_json_updates(ref.export_json_updates(loro.VersionVector(), ref.oplog_vv))
    assert again.get_deep_value() == ref.get_deep_value()
    again._check_invariants()


def test_a_str_subclass_key_is_its_str():
    d = loro_c.LoroDoc()
    m = d.get_map("m")
    m.insert(Shouty("one"), 1)
    m.insert(Shouty("two"), 2)
    m.insert("one", 11)
    d.commit()
    assert d.get_deep_value() == {"m": {"one": 11, "two": 2}}
    assert m.get(Shouty("two")).value == 2 and m.get("two").value == 2
    assert all(type(k) is str for k in m.keys())
    d._check_invariants()


@pytest.mark.parametrize("seed", range(6))
def test_rejected_imports_forget_the_keys_they_registered(seed):
    """A hub with a grown key table rejects imports that registered hundreds of new keys
    (some sharing heads with kept ones) before their bad op; the table must drop exactly
    those, so later imports of the same keys under other indexes find the right entries."""
    rng = random.Random(seed)
    base_keys = [f"key-{i}" for i in range(rng.randint(20, 400))] + TRICKY_KEYS
    hub, ref = fill(loro_c, base_keys), fill(loro, base_keys)
    for round_ in range(4):
        new_keys = [rng.choice(["abcdefgh", "k", "😀", "é", "key-"]) + str(rng.randrange(10_000))
                    for _ in range(rng.randint(1, 300))]
        peer = 10 + round_
        src = loro_c.LoroDoc()
        src.peer_id = peer
        src.import_(hub.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        for i, k in enumerate(new_keys):
            src.get_map("m").insert(k, -i)
        src.commit()
        update = json.loads(src.export_json_updates(hub.oplog_vv, src.oplog_vv))
        bad = dict(update["changes"][-1])
        peers = update["peers"]
        bad_peer = str(99 + round_)
        peers.append(bad_peer)
        own = peers.index(str(peer))
        bad.update(id=f"0@{len(peers) - 1}", deps=[f"{len(new_keys) - 1}@{own}"], lamport=10 ** 6,
                   ops=[{"container": "cid:root-t:Text", "counter": 0,
                         "content": {"type": "delete", "pos": 10 ** 6, "len": 2,
                                     "start_id": f"0@{own}"}}])
        update["changes"].append(bad)
        before, keys_before = hub.get_deep_value(), hub._stats()["keys"]
        with pytest.raises(loro_c.LoroError):
            hub.import_json_updates(json.dumps(update))
        assert hub.get_deep_value() == before
        assert hub._stats()["keys"] == keys_before
        hub._check_invariants()
        # the same keys again, from another peer: registered anew, found at their entries
        for d, lib in ((hub, loro_c), (ref, loro)):
            d.get_map("m").insert(new_keys[0], "local")
            d.commit()
        blob = src.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
        hub.import_(blob)
        ref.import_(blob)
        assert hub.get_deep_value() == ref.get_deep_value()
        hub._check_invariants()


@pytest.mark.parametrize("call", [
    lambda d: d.get_map("m").insert(5, 1),
    lambda d: d.get_map("m").get(None),
    lambda d: d.get_map("m").delete(b"k"),
    lambda d: d.get_text("t").insert(0, 5),
    lambda d: d.get_text("t").mark(0, 0, 1, True),
    lambda d: d.set_next_commit_message(3),
    lambda d: d.import_json_updates(b"{}"),
])
def test_a_wrong_argument_type_is_a_loro_type_error(call):
    d = fill(loro_c, ["a"])
    d.get_text("t")
    before = d.export(loro_c.ExportMode.Snapshot())
    with pytest.raises(loro_c.LoroTypeError, match="must be a str, not"):
        call(d)
    assert d.export(loro_c.ExportMode.Snapshot()) == before


def test_str_subclass_text_and_values_are_their_strs():
    ours, ref = loro_c.LoroDoc(), loro.LoroDoc()
    for d in (ours, ref):
        d.get_text("t").insert(0, Shouty("abc"))
        d.get_list("l").push(Shouty("v"))
        d.get_map("m").insert("k", {"x": [Shouty("w")]})
        d.commit()
    assert ours.get_deep_value() == ref.get_deep_value()
    assert type(ours.get_list("l").get(0).value) is str


def test_the_mapping_protocol_takes_a_str_subclass_key_as_its_str():
    d = loro_c.LoroDoc()
    m = d.get_map("m")
    m[Shouty("a")] = 1
    m[Shouty("b")] = 2
    assert Shouty("b") in m and m[Shouty("a")].value == 1
    del m[Shouty("a")]
    d.commit()
    assert d.get_deep_value() == {"m": {"b": 2}}
    with pytest.raises(loro_c.LoroTypeError, match="must be a str, not int"):
        m[5] = 1
