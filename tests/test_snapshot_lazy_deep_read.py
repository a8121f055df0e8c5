"""get_deep_value of a document whose snapshot load left its maps encoded reads each map's
keys from its entry (state/map.pxi lazy_map_live) and leaves the maps encoded, as loro
reads a container's value without building our state. Whatever the document does after
that read (read again, edit, import with events, check out, export, number its containers)
must be what a document that built every map first does, and what loro does."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_deferred_state import _mutated, _records
from test_snapshot_lazy_maps import TOUCHES, _after, _plain


def _nested(mod, n=25):
    """Maps of maps (of maps), lists and counters inside, no bytes values (so every map's
    value is read from its entry), keys deleted: maps and counters only."""
    doc = mod.LoroDoc()
    doc.peer_id = 5
    users = doc.get_map("users")
    for i in range(n):
        rec = users.insert_container(f"u{i}", mod.LoroMap())
        rec.insert("name", i)
        rec.insert("age", i * 2)
        rec.insert("tags", [i, "x", {"deep": [1, 2.5, None]}])
        if i % 3 == 0:
            sub = rec.insert_container("sub", mod.LoroMap())
            sub.insert("x", [i, {"y": "z"}])
            if i % 2 == 0:
                sub.insert_container("deeper", mod.LoroMap()).insert("k", i * 1.5)
        if i % 4 == 0:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
        if i % 5 == 0:
            rec.delete("age")
    for i in range(8, n, 10):
        users.delete(f"u{i}")
    doc.get_map("meta").insert("title", "records")
    doc.get_counter("c").increment(2)
    doc.commit()
    return doc


def _listed(mod, n=25):
    """_nested with root lists beside its maps (state/snapshot_load.pxi: the import's check
    decodes a list, its child maps stay encoded): a list of records, some holding maps and
    counters, items deleted and inserted by a second peer, and a list of plain values."""
    doc = _nested(mod, n)
    rows = doc.get_list("rows")
    for i in range(n):
        rec = rows.insert_container(i, mod.LoroMap())
        rec.insert("name", f"r{i}")
        rec.insert("vals", [i, {"k": [None, 1.5]}])
        if i % 4 == 1:
            rec.insert_container("sub", mod.LoroMap()).insert("x", i)
        if i % 6 == 2:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
    rows.insert(3, "plain item")
    rows.delete(7, 2)
    plain = doc.get_list("plain")
    for v in (1, "x", None, 2.5, True, [1, [2, "y"]], {"a": {"b": [None]}}):
        plain.push(v)
    doc.commit()
    other = mod.LoroDoc()
    other.peer_id = 6
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    orows = other.get_list("rows")
    orows.insert_container(0, mod.LoroMap()).insert("name", "first")
    orows.delete(5, 1)
    orows.get(2).container.insert("name", "by six")
    other.get_list("plain").insert(1, "six")
    other.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc


@pytest.fixture(scope="module")
def blobs():
    out = {}
    for name, build in (("nested", _nested), ("records", lambda m: _records(m, n=30, seed=3)),
                        ("listed", _listed)):
        for mod in (loro_c, loro):
            out[(name, mod.__name__)] = build(mod).export(mod.ExportMode.Snapshot())
    return out


KEYS = [(shape, who) for shape in ("nested", "records", "listed") for who in ("loro_c", "loro")]


def _lazy(blob):
    d = loro_c.LoroDoc()
    d.import_(blob)
    return d


def _eager(blob):
    d = _lazy(blob)
    d._check_invariants()       # (builds every map's state, numbers nothing)
    assert d._state_decoded
    return d


def _ref(blob):
    d = loro.LoroDoc()
    d.import_(blob)
    return d


@pytest.mark.parametrize("key", KEYS, ids=lambda k: "-".join(k))
def test_a_deep_read_leaves_the_maps_encoded_and_reads_the_eager_value(blobs, key):
    blob = blobs[key]
    assert _codec._state_section_ok(blob)
    d = _lazy(blob)
    d.get_map("users")
    encoded = d._maps_encoded
    assert encoded > 20
    value = d.get_deep_value()
    if key[0] != "records":
        assert d._maps_encoded == encoded       # (nothing built)
    eager = _eager(blob)
    eager.get_map("users")      # (the handle numbers its root as in `d`)
    assert value == eager.get_deep_value() == _ref(blob).get_deep_value()
    assert list(value["users"]) == list(eager.get_deep_value()["users"])    # (key order)
    assert d.get_deep_value() == value
    assert d._loro_numbers() == eager._loro_numbers()
    # a value read is private: changing it changes nothing in the document
    value["users"]["u3"]["tags"].append("mine")
    assert d.get_deep_value() == eager.get_deep_value()
    assert d.get_map("users").get_deep_value() == eager.get_map("users").get_deep_value()
    d._check_invariants()
    assert d._loro_numbers() == eager._loro_numbers()


@pytest.mark.parametrize("key", KEYS, ids=lambda k: "-".join(k))
@pytest.mark.parametrize("touch", TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_touch_after_a_deep_read_sees_the_eager_state(blobs, key, touch):
    blob = blobs[key]
    lazy = _lazy(blob)
    first = lazy.get_deep_value()
    eager = _eager(blob)
    assert first == eager.get_deep_value()
    ref = _ref(blob)
    ref.get_deep_value()
    got = _plain(touch(loro_c, lazy, blob))
    assert got == _plain(touch(loro_c, eager, blob))
    if not (touch.__name__ == "_touch_export_snapshot" and key[1] == "loro_c"):
        # (loro exports a loaded snapshot of its own byte for byte, ours its own way)
        assert got == _plain(touch(loro, ref, blob))
    assert _after(lazy) == _after(eager)
    assert lazy._loro_numbers() == eager._loro_numbers()
    assert lazy.get_deep_value() == ref.get_deep_value()
    lazy._check_invariants()


@pytest.mark.parametrize("key", KEYS, ids=lambda k: "-".join(k))
def test_events_after_a_deep_read_are_the_eager_documents(blobs, key):
    """An import after the deep read: the same events, in the same order, with the same
    diffs (the order models loro's container numbers)."""
    blob = blobs[key]
    other = _lazy(blob)
    other.peer_id = 77
    users = other.get_map("users")
    for k in ("u3", "u6", "u9", "u12"):
        child = users.get(k)
        if child is not None and hasattr(child, "container"):
            child.container.insert("age", -1)
    users.insert_container("new", loro_c.LoroMap()).insert("k", 1)
    users.delete("u5")
    other.get_counter("c").increment(1)
    other.commit()
    update = other.export(loro_c.ExportMode.Updates(_lazy(blob).oplog_vv))
    seen = {}
    for name, d in (("lazy", _lazy(blob)), ("eager", _eager(blob))):
        d.get_deep_value()
        got = []

        def on_event(e, got=got):
            got.append([(_plain(ev.target), [_plain(p) for p in ev.path], repr(ev.diff))
                        for ev in e.events])

        sub = d.subscribe_root(on_event)
        d.import_(update)
        sub.unsubscribe()
        seen[name] = (got, d.get_deep_value(), d._loro_numbers(),
                      d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        d._check_invariants()
    assert seen["lazy"] == seen["eager"]
    assert seen["lazy"][0]


@pytest.mark.parametrize("shape", ["nested", "listed"])
@pytest.mark.parametrize("seed", range(3))
def test_mutated_state_entries_read_deep_as_the_eager_document(blobs, seed, shape):
    """Byte edits of the state entries: a blob the import takes (deferred or not) reads,
    deep, as the document that built its maps first; one it refuses leaves the document
    empty and usable."""
    rng = random.Random(seed)
    blob = blobs[(shape, "loro_c")]
    deferred = 0
    for attempt in range(150):
        data = _mutated(blob, rng)
        d = loro_c.LoroDoc()
        try:
            d.import_(data)
        except loro_c.LoroError:
            assert d.get_deep_value() == {} and d._state_decoded
            d.get_map("m").insert("ok", 1)
            d.commit()
            continue
        deferred += not d._state_decoded
        eager = loro_c.LoroDoc()
        eager.import_(data)
        eager.get_value()
        eager._check_invariants()       # (decodes every state at once, numbers nothing)
        assert eager._state_decoded
        assert _no_nan(d.get_deep_value()) == _no_nan(eager.get_deep_value())
        assert d._loro_numbers() == eager._loro_numbers()
        d._check_invariants()
        d.get_map("meta").insert("later", attempt)
        d.commit()
        eager.get_map("meta").insert("later", attempt)
        eager.commit()
        assert _no_nan(d.get_deep_value()) == _no_nan(eager.get_deep_value())
    assert deferred > 0


def _no_nan(v):
    """`v` with each NaN (a mutated f64 may read as one) as a string, so that equal values
    compare equal."""
    if isinstance(v, dict):
        return {k: _no_nan(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_no_nan(x) for x in v]
    if isinstance(v, float) and v != v:
        return "nan"
    return v


def test_a_map_entry_that_does_not_decode_raises_loro_cs_error():
    """The lazy read of a map's keys trusts the import's check pass; bytes it would refuse
    raise LoroError (never another exception), never a crash."""
    rng = random.Random(7)
    d = _nested(loro_c, n=6)
    entries = [raw for key, raw in _codec._state_section_entries(d.export(loro_c.ExportMode.Snapshot()))
               if key[:1] in (b"\x00", b"\x80")]
    refused = 0
    for attempt in range(400):
        raw = bytearray(rng.choice(entries))
        for _ in range(rng.randint(1, 3)):
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        if rng.random() < 0.3:
            del raw[rng.randrange(len(raw) + 1):]
        pos = rng.randrange(-2, len(raw) + 3)
        try:
            live = _codec.decode_lazy_map_live(bytes(raw), pos)
        except loro_c.LoroError:
            refused += 1
            continue
        assert type(live) is dict
    assert refused > 0


def _entry(got):
    if got is None:
        return None
    if isinstance(got, loro_c.ValueOrContainer.Container):
        return ("container", _plain(got.container.id))
    return ("value", got.value)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: "-".join(k))
def test_gets_of_an_encoded_map_answer_from_its_keys_as_the_built_map(blobs, key):
    """LoroMap.get of a map the load left encoded reads its keys once and leaves it encoded;
    every get, the handles it gives, and what follows (edits, numbering, exports) are the
    built map's."""
    blob = blobs[key]
    lazy, eager = _lazy(blob), _eager(blob)
    names = [f"u{i}" for i in range(32)] + ["absent", ""]
    lu, eu = lazy.get_map("users"), eager.get_map("users")
    encoded = lazy._maps_encoded
    got = [[lu.get(k) for k in names] for _ in range(2)]
    if key[0] != "records":
        assert lazy._maps_encoded == encoded        # (keys read, nothing built)
    for run in got:
        assert [_entry(g) for g in run] == [_entry(eu.get(k)) for k in names]
    got = lu.get("u3").container.get("tags")
    got.value.append("mine")        # (a private copy)
    assert lu.get("u3").container.get("tags").value == eu.get("u3").container.get("tags").value
    assert lazy._loro_numbers() == eager._loro_numbers()
    for d in (lazy, eager):
        d.peer_id = 11
        users = d.get_map("users")
        users.get("u4").container.insert("age", -4)
        users.insert("u5", "gone")
        d.commit()
    assert lazy.get_deep_value() == eager.get_deep_value()
    assert _entry(lu.get("u5")) == _entry(eu.get("u5")) == ("value", "gone")
    assert lazy._loro_numbers() == eager._loro_numbers()
    assert (lazy.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
            == eager.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    lazy._check_invariants()
