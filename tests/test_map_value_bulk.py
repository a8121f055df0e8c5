"""Shallow values of containers holding many child containers, and the ContainerIDs made in
bulk for them: `LoroMap.get_value` of a built map sorts its keys in C (state/map.pxi
map_flat_value), of a map a snapshot load keeps encoded it answers from the decoded entry
without registering the children (state/snapshot_load.pxi lazy_map_vals_locked), the ids
come from one C table (ephemeral_codec.normal_cid_cached) and are made without Python
(_kinds.normal_cid_c), and `LoroDoc.get_value` lists the roots without reading any state.
Values must equal loro's and an eager load's, ids must equal and hash as the ids the
handles give, and handles must stay valid after later edits, checkouts and imports."""
import pickle
import random

import pytest

import loro
import loro_c
from loro_c import _types

from test_snapshot_lazy_maps import _plain

# keys of every str width (one, two and four bytes per code point), prefixes of each other
KEYS = ["a", "ab", "a\x00", "b", "\u00e9", "\u00e9t\u00e9", "\u4e2d", "\u4e2da", "\U0001f600",
        "\U0001f600b", "Z", "", "k10", "k9", "k100"]


def _records(mod, n, seed=0):
    """Map "m" of `n` child maps beside plain values (lists, dicts, bytes), a child
    counter, deleted and overwritten keys (a state of maps and counters: its load keeps
    the maps encoded)."""
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = 9
    m = doc.get_map("m")
    for i in range(n):
        rec = m.insert_container(f"r{rng.randrange(10 ** 6)}-{i}", mod.LoroMap())
        rec.insert("v", i)
    for i, k in enumerate(KEYS):
        m.insert(k, [i, {"x": [i]}] if i % 3 == 0 else (bytes([i]) if i % 3 == 1 else f"s{i}"))
    m.insert_container("hits", mod.LoroCounter()).increment(2)
    doc.commit()
    for k in ("ab", "Z"):
        m.delete(k)
    m.insert("b", None)
    doc.get_map("other").insert("x", 1)
    doc.commit()
    return doc


def _lists(mod, n):
    """A root list and movable list of `n` maps each, and map "m" of a child list."""
    doc = _records(mod, n)
    lst = doc.get_list("l")
    ml = doc.get_movable_list("ml")
    for i in range(n):
        lst.push_container(mod.LoroMap()).insert("i", i)
        ml.push_container(mod.LoroMap()).insert("i", i)
    doc.get_map("m").insert_container("list", mod.LoroList()).push(1)
    doc.commit()
    return doc


@pytest.fixture(scope="module", params=[10, 200])
def blobs(request):
    n = request.param
    return {"loro_c": _records(loro_c, n).export(loro_c.ExportMode.Snapshot()),
            "loro": _records(loro, n).export(loro.ExportMode.Snapshot()),
            "lists_loro_c": _lists(loro_c, n).export(loro_c.ExportMode.Snapshot()),
            "lists_loro": _lists(loro, n).export(loro.ExportMode.Snapshot())}


def _load(mod, blob):
    d = mod.LoroDoc()
    d.import_(blob)
    return d


def _eager(blob):
    d = _load(loro_c, blob)
    d._check_invariants()       # (decodes every state at once)
    assert d._state_decoded
    return d


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_loaded_map_value_is_loros_and_the_eager_loads(blobs, who):
    blob = blobs[who]
    ref = _load(loro, blob)
    d = _load(loro_c, blob)
    m = d.get_map("m")
    v = m.get_value()
    assert d._maps_encoded, "the map is read from its entry, left encoded"
    assert _plain(v) == _plain(ref.get_map("m").get_value())
    assert list(v) == sorted(v)
    again = m.get_value()
    assert again == v and again is not v
    # the values handed out are copies: the next read does not see edits to them
    v[KEYS[0]][1]["x"].append("mine")
    v.clear()
    assert m.get_value() == again
    assert again == _eager(blob).get_map("m").get_value()
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
    # a state the load decodes whole (lists of maps beside): the built map's value
    lists = _load(loro_c, blobs["lists_" + who])
    assert _plain(lists.get_map("m").get_value()) == \
        _plain(_load(loro, blobs["lists_" + who]).get_map("m").get_value())


def test_built_map_value_sorts_every_str_width():
    d = _records(loro_c, 30, seed=4)
    ref = _records(loro, 30, seed=4)
    v = d.get_map("m").get_value()
    assert list(v) == sorted(v)
    assert _plain(v) == _plain(ref.get_map("m").get_value())
    assert [k for k, _ in d.get_map("m").items()] == sorted(v)
    v[KEYS[0]][1]["x"].append("mine")
    assert _plain(d.get_map("m").get_value()) == _plain(ref.get_map("m").get_value())


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_ids_of_the_value_are_the_handles_ids(blobs, who):
    d = _load(loro_c, blobs[who])
    m = d.get_map("m")
    v = m.get_value()
    kids = {k: x for k, x in v.items() if isinstance(x, loro_c.ContainerID)}
    assert len(kids) > 2
    for k, cid in kids.items():
        h = m.get(k).container
        assert h.id == cid and hash(h.id) == hash(cid) and str(h.id) == str(cid)
        assert h == m.get(k).container and hash(h) == hash(m.get(k).container)
    # (a get after get_value registered them: the value is the same)
    assert m.get_value() == v
    for k, cid in kids.items():
        assert d.get_container(cid) == m.get(k).container
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_handles_stay_valid_after_edits_checkouts_and_imports(blobs, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    d.peer_id = ref.peer_id = 3
    v0 = d.get_map("m").get_value()
    f0 = d.oplog_frontiers
    keys = sorted(k for k, x in v0.items() if isinstance(x, loro_c.ContainerID)
                  and x.container_type == loro_c.ContainerType.Map())[:3]
    for doc in (d, ref):
        for k in keys:
            doc.get_map("m").get(k).container.insert("later", k)
        doc.get_map("m").insert_container("fresh", (loro_c if doc is d else loro).LoroMap())
        doc.commit()
    handles = {k: d.get_map("m").get(k).container for k in keys}
    got = d.get_map("m").get_value()
    assert _plain(got) == _plain(ref.get_map("m").get_value())
    assert {k: got[k] for k in v0} == v0
    for k in keys:
        assert handles[k].get_value() == ref.get_map("m").get(k).container.get_value()
        assert handles[k].id == v0[k]
    d.checkout(f0)
    assert d.get_map("m").get_value() == v0
    for k in keys:
        assert "later" not in handles[k].get_value()
    d.checkout_to_latest()
    # another peer's update, imported into both
    other = _load(loro, blob)
    other.peer_id = 77
    other.get_map("m").get(keys[0]).container.insert("peer", 1)
    other.get_map("m").insert_container("theirs", loro.LoroMap()).insert("k", 2)
    other.commit()
    upd = other.export(loro.ExportMode.Updates(_load(loro, blob).oplog_vv))
    d.import_(upd)
    ref.import_(upd)
    assert _plain(d.get_map("m").get_value()) == _plain(ref.get_map("m").get_value())
    assert handles[keys[0]].get_value() == ref.get_map("m").get(keys[0]).container.get_value()
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_list_values_of_many_children_are_loros(blobs, who):
    blob = blobs["lists_" + who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    for name in ("l", "ml"):
        get = getattr(d, "get_list" if name == "l" else "get_movable_list")
        rget = getattr(ref, "get_list" if name == "l" else "get_movable_list")
        v = get(name).get_value()
        assert _plain(v) == _plain(rget(name).get_value())
        assert [x.container.id for x in (get(name)[i] for i in range(len(v)))] == v
    assert d.get_deep_value() == ref.get_deep_value()


@pytest.mark.parametrize("n", [10, 200])
def test_a_list_of_records_value_and_a_handles_id_read_no_state(n):
    """A root list of records (a state the load defers): the list's shallow value, and a
    child handle's id and repr, read no record's state."""
    docs = {}
    for mod in (loro_c, loro):
        src = mod.LoroDoc()
        src.peer_id = 4
        rows = src.get_list("rows")
        for i in range(n):
            rows.push_container(mod.LoroMap()).insert("v", i)
        src.get_map("m").insert_container("k", mod.LoroMap()).insert("x", 1)
        src.commit()
        docs[mod] = src.export(mod.ExportMode.Snapshot())
    for blob in docs.values():
        d, ref = _load(loro_c, blob), _load(loro, blob)
        v = d.get_list("rows").get_value()
        assert not d._state_decoded
        assert _plain(v) == _plain(ref.get_list("rows").get_value())
        assert d.get_list("rows").get_value() == v
        h = d.get_map("m").get("k").container
        assert repr(h) == f"LoroMap({h.id})" and not d._state_decoded
        assert h.id.peer == 4 and not d._state_decoded
        assert d.get_list("rows")[n - 1].container.id == v[n - 1]
        assert d.get_deep_value() == ref.get_deep_value()
        d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_document_value_reads_no_state(blobs, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    v = d.get_value()
    assert not d._state_decoded
    assert list(v) == list(ref.get_value())
    assert all(x == loro_c.ContainerID.Root(k, x.container_type) for k, x in v.items())
    assert d.get_map("m").get_value() == d.get_map("m").get_value()
    assert d.get_value() == v
    assert d.get_deep_value() == ref.get_deep_value()


PARTS = [(0, 0), (1, -1), ((1 << 64) - 1, (1 << 31) - 1), (987654321987, -(1 << 31)),
         (5, 7), (1 << 63, 123456)]


@pytest.mark.parametrize("peer,counter", PARTS)
def test_unchecked_ids_equal_the_checked_ones(peer, counter):
    for ct in _types.TYPE_BY_KIND:
        fast = _types.normal_cid(peer, counter, ct)
        slow = loro_c.ContainerID.Normal(peer, counter, ct)
        assert type(fast) is type(slow)
        assert fast == slow and not (fast != slow) and hash(fast) == hash(slow)
        assert (fast.peer, fast.counter, fast.container_type) == (peer, counter, ct)
        assert str(fast) == str(slow) and repr(fast) == repr(slow)
        assert pickle.loads(pickle.dumps(fast)) == slow
        assert {slow: 1}[fast] == 1
        # (two unchecked ids of the same parts: equal through their parts, built lazily)
        again = _types.normal_cid(peer, counter, ct)
        assert again is not fast and again == fast and {fast: 1}[again] == 1
        assert fast._key == slow._key == (peer, counter, ct)
        assert fast.to_bytes() == slow.to_bytes()
        assert loro_c.ContainerID.from_bytes(fast.to_bytes()) == fast
        with pytest.raises(Exception):
            fast.peer = 1


def test_more_ids_than_the_id_table_keeps():
    """More children than the ids' C table keeps (it is emptied when half full, 65,536
    ids): ids stay equal to the handles' and the values to loro's."""
    n = 70000
    src = loro.LoroDoc()
    src.peer_id = 11
    m = src.get_map("m")
    for i in range(n):
        m.insert_container(f"k{i}", loro.LoroMap())
    src.commit()
    blob = src.export(loro.ExportMode.Snapshot())
    d = _load(loro_c, blob)
    v = d.get_map("m").get_value()
    assert len(v) == n
    assert _plain(v) == _plain(src.get_map("m").get_value())
    for k in ("k0", "k1", f"k{n // 2}", f"k{n - 1}"):
        assert d.get_map("m").get(k).container.id == v[k]
    assert d.get_map("m").get_value() == v
    d._check_invariants()


@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 17, 33, 64, 100, 1000])
def test_keys_come_sorted_for_any_count_and_width(n):
    """The C sort of a map's keys (state/map.pxi sort_key_slots): runs of 16, merges, keys
    of mixed widths and prefixes of each other, built and read from a load's entry."""
    rng = random.Random(n)
    alphabet = ["a", "b", "\x00", "\u00e9", "\u4e2d", "\U0001f600", "z"]
    keys = set()
    while len(keys) < n:
        keys.add("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 4))) + str(len(keys) % 7))
    d = loro_c.LoroDoc()
    m = d.get_map("m")
    for k in sorted(keys, key=lambda _: rng.random()):
        m.insert(k, k)
    d.commit()
    v = m.get_value()
    assert list(v) == sorted(keys) and all(v[k] == k for k in keys)
    assert m.keys() == sorted(keys) and [k for k, _ in m.items()] == sorted(keys)
    loaded = _load(loro_c, d.export(loro_c.ExportMode.Snapshot()))
    lv = loaded.get_map("m").get_value()
    assert list(lv) == sorted(keys) and lv == v
    assert list(loaded.get_map("m").get_value()) == sorted(keys)
