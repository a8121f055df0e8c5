"""Map keys are found by their UTF-8 bytes (oplog/key_table.pxi, codec _BlockKeys).

A change block's key arena is looked up as stored, without a str per key, and a str key by
its UTF-8 form. So the same key must get the same index whichever way it comes: typed by a
local edit, read from a block, read from a snapshot's map state, or all three in turn. These
tests run the server path that replays a whole history by bytes (load a snapshot, import an
update, export) on keys that could fool a byte table, against `loro`. A key with a lone
surrogate has no UTF-8 form: no Loro document can hold it, so a local edit with one is
refused with LoroValueError and leaves the document as it was (loro_c used to take it, and
then could not export the document at all).
"""
import random

import loro
import pytest

import loro_c
from loro_c.errors import DecodeError, LoroError, LoroValueError

from test_map_key_table import TRICKY_KEYS

NON_ASCII = ["é", "éé", "e\u0301", "ü中", "中文字符串", "😀", "x😀" * 5, "\xff" * 9, "Ω" * 4]
KEYS = TRICKY_KEYS + NON_ASCII + [f"k{i}" for i in range(200)] + [f"ключ{i}" for i in range(50)]


def history(lib, keys, peer=1, rounds=3, seed=0):
    """A map with every key set several times over many commits, and some deleted."""
    rng = random.Random(seed)
    d = lib.LoroDoc()
    d.peer_id = peer
    m = d.get_map("m")
    for r in range(rounds):
        for i, k in enumerate(rng.sample(keys, len(keys))):
            m.insert(k, r * 1000 + i)
            if i % 17 == 0:
                d.commit()
        for k in rng.sample(keys, len(keys) // 5):
            m.delete(k)
        d.commit()
    return d


def update_from(lib, snap, peer, edits):
    client = lib.LoroDoc()
    client.peer_id = peer
    client.import_(snap)
    vv = client.oplog_vv
    m = client.get_map("m")
    for k, v in edits:
        if v is None:
            m.delete(k)
        else:
            m.insert(k, v)
    client.commit()
    return client.export(lib.ExportMode.Updates(vv))


@pytest.mark.parametrize("seed", range(4))
def test_a_server_replays_a_history_of_tricky_keys_as_loro_does(seed):
    """Load + import + export: the import replays every map op of the loaded history by the
    key bytes of its blocks; the update's keys are old, new and deleted ones."""
    rng = random.Random(seed)
    edits = [(k, None if rng.random() < 0.3 else rng.randrange(100)) for k in rng.sample(KEYS, 40)]
    edits += [("new" + k, 5) for k in rng.sample(NON_ASCII, 3)]
    out = {}
    for lib in (loro, loro_c):
        snap = history(lib, KEYS, seed=seed).export(lib.ExportMode.Snapshot())
        srv = lib.LoroDoc()
        srv.import_(snap)
        srv.import_(update_from(lib, snap, 2, edits))
        if lib is loro_c:
            srv._check_invariants()
            m = srv.get_map("m")
            for k, v in edits:
                assert (m.get(k) is None) == (v is None)
                if v is not None:
                    assert m.get(k).value == v and m.get_last_editor(k) == 2
        out[lib] = (srv.get_deep_value(), srv.export(lib.ExportMode.Snapshot()))
    assert out[loro][0] == out[loro_c][0]
    back = loro.LoroDoc()
    back.import_(out[loro_c][1])
    assert back.get_deep_value() == out[loro][0]


def test_a_key_typed_after_a_replay_is_the_replayed_key():
    """Keys registered from block bytes, then set, read and deleted through strs (ASCII and
    not: a non-ASCII str is looked up by its UTF-8 form)."""
    src = history(loro_c, KEYS, rounds=1)
    doc = loro_c.LoroDoc()
    doc.import_(src.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    m = doc.get_map("m")
    n_keys = doc._stats()["keys"]
    for i, k in enumerate(KEYS):
        m.insert("".join(list(k)), -i)        # an equal str, not the same object
    doc.commit()
    doc._check_invariants()
    assert m.get_deep_value() == {k: -i for i, k in enumerate(KEYS)}
    assert doc._stats()["keys"] == n_keys     # no key registered twice
    ref = loro.LoroDoc()
    ref.import_(doc.export(loro_c.ExportMode.Snapshot()))
    assert ref.get_deep_value() == doc.get_deep_value()


def test_invalid_utf8_in_a_block_key_is_refused_whole():
    """A key arena entry that is not UTF-8 (here an unused one as well as a used one) fails
    the import, and the document keeps what it had."""
    src = loro.LoroDoc()
    src.peer_id = 9
    src.get_map("m").insert("qkeyq", 1)
    src.get_map("m").insert("zkeyz", 2)
    src.commit()
    blob = src.export(loro.ExportMode.Updates(loro.VersionVector()))
    doc = history(loro_c, KEYS[:40], rounds=1)
    before = (doc.get_deep_value(), doc.oplog_vv, doc.export(loro_c.ExportMode.Snapshot()))
    for key in (b"qkeyq", b"zkeyz"):
        i = blob.index(key)
        bad = blob[:i] + b"\xff" + blob[i + 1:]
        with pytest.raises(LoroError):
            doc.import_(bad)
        doc._check_invariants()
        assert (doc.get_deep_value(), doc.oplog_vv, doc.export(loro_c.ExportMode.Snapshot())) == before
    doc.import_(blob)
    assert doc.get_map("m").get("zkeyz").value == 2


SURROGATE_EDITS = [
    lambda d: d.get_map("m").insert("\ud800", 1),
    lambda d: d.get_map("m").insert("a\udfffb", 1),
    lambda d: d.get_map("m").insert_container("\udc00", loro_c.LoroText()),
    lambda d: d.get_map("m").get_or_create_container("\ud800x", loro_c.LoroList()),
    lambda d: d.get_map("m").delete("\ud800"),
]


@pytest.mark.parametrize("edit", SURROGATE_EDITS)
@pytest.mark.parametrize("open_txn", [False, True])
def test_a_lone_surrogate_key_is_refused_and_changes_nothing(edit, open_txn):
    d = history(loro_c, KEYS[:30], rounds=1)
    m = d.get_map("m")
    if open_txn:
        m.insert("pending", 1)            # an edit of the open transaction stays
    before = (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len(), d._stats()["keys"])
    with pytest.raises(LoroValueError, match="lone surrogate"):
        edit(d)
    assert (d.get_deep_value(), d.oplog_vv, d.get_pending_txn_len(), d._stats()["keys"]) == before
    d.commit()
    d._check_invariants()
    ref = loro.LoroDoc()
    ref.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert ref.get_deep_value() == d.get_deep_value()
    assert ("pending" in d.get_map("m").keys()) == open_txn


def test_a_lone_surrogate_key_is_absent_when_read():
    d = history(loro_c, KEYS[:30], rounds=1)
    m = d.get_map("m")
    assert m.get("\ud800") is None
    assert "\ud800" not in m
    with pytest.raises(KeyError):
        m["\ud800"]


def test_loro_refuses_a_lone_surrogate_key_too():
    """The reference: loro cannot take such a key either (pyo3's str conversion)."""
    m = loro.LoroDoc().get_map("m")
    with pytest.raises(UnicodeEncodeError):
        m.insert("\ud800", 1)


def test_a_json_update_with_a_lone_surrogate_key_is_refused_whole():
    """JSON can spell such a key ("\\ud800"); the import refuses it and keeps the document
    as it was (its other ops are not applied either)."""
    src = loro.LoroDoc()
    src.peer_id = 5
    src.get_map("m").insert("abc", 1)
    src.get_map("m").insert("zz", 2)
    src.commit()
    bad = src.export_json_updates(loro.VersionVector(), src.oplog_vv).replace('"abc"', '"\\ud800"')
    d = history(loro_c, KEYS[:30], rounds=1)
    before = (d.get_deep_value(), d.oplog_vv, d._stats()["keys"])
    with pytest.raises(DecodeError, match="lone surrogate"):
        d.import_json_updates(bad)
    assert (d.get_deep_value(), d.oplog_vv, d._stats()["keys"]) == before
    d._check_invariants()
    d.export(loro_c.ExportMode.Snapshot())
