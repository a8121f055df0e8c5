"""LoroMap.get on a map a snapshot load left encoded finds its key in the map's entry and
decodes that value alone (state/snapshot_load.pxi lazy_map_key_locked), for the first few
reads of each map; later reads decode the map's keys once, as before. A map holding a bytes
value is read whole (and built), as before. Whatever follows those reads (more reads, edits,
imports, checkouts, exports, events, a deep read) must see what a document that decoded its
whole state at once sees, and what loro sees."""
import random

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import loro
import loro_c

from test_snapshot_lazy_maps import _load, _plain


def _records(mod, n=40):
    """A map of records without bytes values (their keys are found in the entries) but for
    every fifth, which holds one (read whole); keys that prefix one another, non-ASCII keys,
    nested values, child counters, deleted and overwritten keys."""
    doc = mod.LoroDoc()
    doc.peer_id = 5
    users = doc.get_map("users")
    for i in range(n):
        rec = users.insert_container(f"u{i}", mod.LoroMap())
        rec.insert("name", f"n\u00e9{i}")
        rec.insert("n", i)
        rec.insert("na", -i)
        rec.insert("nam", i / 7)
        rec.insert("cl\u00e9", [i, "x", {"deep": [1, 2.5, None]}])
        rec.insert("none", None)
        rec.insert("ok", i % 2 == 0)
        rec.insert("nested", {"a": {"b": [i, {"c": "d"}]}, "e": []})
        if i % 5 == 0:
            rec.insert("blob", bytes([i % 256, 0, 255]))
        if i % 6 == 0:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
        if i % 7 == 0:
            rec.delete("na")
    for i in range(0, n, 9):
        users.delete(f"u{i}")
    users.insert("u1", "replaced")
    users.insert("u100", {"plain": True})
    doc.get_counter("c").increment(3.5)
    doc.get_map("meta").insert("title", "records")
    doc.commit()
    return doc


@pytest.fixture(scope="module")
def blobs():
    return {"loro_c": _records(loro_c).export(loro_c.ExportMode.Snapshot()),
            "loro": _records(loro).export(loro.ExportMode.Snapshot())}


def _path(path):
    return [(_plain(p.container), getattr(p.index, "key", None), getattr(p.index, "index", None))
            for p in path]


def _events(e):
    return [(_plain(ev.target), _path(ev.path)) for ev in e.events]


def _got(v):
    """What a get answered: None, a plain value, or a container's kind and deep value."""
    if v is None:
        return None
    if hasattr(v, "container"):
        c = v.container
        return ("container", type(c).__name__, _plain(c.get_deep_value() if hasattr(c, "get_deep_value") else c.value))
    return ("value", _plain(v.value))


KEYS = ["name", "n", "na", "nam", "cl\u00e9", "none", "ok", "nested", "blob", "hits", "missing",
        "", "nam\u00e9"]


def _read(d, child, key):
    got = d.get_map("users").get(child)
    if got is None or not hasattr(got, "container"):
        return ("root", _got(got))
    return _got(got.container.get(key))


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_every_key_of_every_record_reads_as_loro(blobs, who):
    blob = blobs[who]
    d = _load(loro_c, blob)
    ref = _load(loro, blob)
    eager = _load(loro_c, blob, eager=True)
    for i in list(range(42)) + [100]:
        for key in KEYS:
            want = _read(ref, f"u{i}", key)
            assert _read(d, f"u{i}", key) == want
            assert _read(eager, f"u{i}", key) == want
    assert d.get_deep_value() == ref.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()


def test_one_read_decodes_nothing_else(blobs):
    d = _load(loro_c, blobs["loro_c"])
    users = d.get_map("users")
    encoded = d._maps_encoded
    child = users.get("u3").container
    assert child.get("name").value == "n\u00e93"
    assert child.get("missing") is None
    assert child.get("nested").value == {"a": {"b": [3, {"c": "d"}]}, "e": []}
    # neither the root nor the record was built or had its keys decoded
    assert d._maps_encoded == encoded
    # a record holding a bytes value is built by its first read, as before
    assert users.get("u5").container.get("n").value == 5
    assert d._maps_encoded == encoded - 1
    assert d.export(loro_c.ExportMode.Snapshot()) == blobs["loro_c"]
    assert not d._state_decoded
    d._check_invariants()


def test_many_reads_of_one_map_switch_to_its_decoded_keys(blobs):
    d = _load(loro_c, blobs["loro"])
    ref = _load(loro, blobs["loro"])
    users, rusers = d.get_map("users"), ref.get_map("users")
    for rnd in range(3):
        for i in range(42):
            assert _got(users.get(f"u{i}")) == _got(rusers.get(f"u{i}"))
            assert _got(users.get(f"x{i}")) is None
    assert d.get_map("users").get_deep_value() == ref.get_map("users").get_deep_value()
    d._check_invariants()


def _session(mod, blob, steps):
    d = _load(mod, blob)
    d.peer_id = 9
    out = []
    seen = []

    def on_event(e):
        seen.append(_events(e))

    sub = None
    for what, i, key in steps:
        child = f"u{i}"
        if what == "read":
            out.append(_read(d, child, key))
        elif what == "edit":
            got = d.get_map("users").get(child)
            if got is not None and hasattr(got, "container"):
                got.container.insert(key or "k", i)
            else:
                d.get_map("users").insert(child, i)
            d.commit()
        elif what == "root":
            d.get_map("users").insert(child, {"v": i})
            d.commit()
        elif what == "subscribe":
            if sub is None:
                sub = d.subscribe_root(on_event)
        elif what == "import":
            other = _load(mod, blob)
            other.peer_id = 77 + len(out)      # (a peer per import: its ops differ)
            out.append("import")
            got = other.get_map("users").get(child)
            if got is not None and hasattr(got, "container"):
                got.container.insert("from77", i)
            other.get_map("users").insert(f"new{i}", i)
            other.commit()
            d.import_(other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv)))
        elif what == "checkout":
            f = d.state_frontiers
            d.checkout(_load(mod, blob).oplog_frontiers)
            out.append(_plain(d.get_deep_value()))
            d.checkout(f)
            d.checkout_to_latest()
        elif what == "export":
            snap = d.export(mod.ExportMode.Snapshot())
            back = loro.LoroDoc()
            back.import_(snap)
            out.append(_plain(back.get_deep_value()))
        else:
            out.append(_plain(d.get_deep_value()))
    if sub is not None:
        sub.unsubscribe()
    return out, seen, _plain(d.get_deep_value()), sorted((i.peer, i.counter)
                                                   for i in loro_c.Frontiers.decode(d.oplog_frontiers.encode()).to_list())


_STEPS = st.lists(st.tuples(st.sampled_from(["read", "read", "read", "edit", "root", "subscribe",
                                             "import", "checkout", "export", "deep"]),
                            st.sampled_from(list(range(12)) + [100]),
                            st.sampled_from(KEYS)), min_size=1, max_size=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, who=st.sampled_from(["loro_c", "loro"]))
def test_sessions_after_lazy_reads_match_loro(blobs, steps, who):
    blob = blobs[who]
    got = _session(loro_c, blob, steps)
    assert got == _session(loro, blob, steps)


@pytest.mark.parametrize("seed", range(4))
def test_reads_then_numbering_and_events_as_eager(blobs, seed):
    """After lazy reads in a random order, the containers' numbers (they order events) and
    an import's events are those of a document that decoded everything first."""
    rng = random.Random(seed)
    blob = blobs["loro_c" if seed % 2 else "loro"]
    lazy = _load(loro_c, blob)
    eager = _load(loro_c, blob, eager=True)
    for _ in range(12):
        i, key = rng.randrange(42), rng.choice(KEYS)
        assert _read(lazy, f"u{i}", key) == _read(eager, f"u{i}", key)
    other = _load(loro_c, blob)
    other.peer_id = 77
    for i in range(0, 42, 4):
        got = other.get_map("users").get(f"u{i}")
        if got is not None and hasattr(got, "container"):
            got.container.insert("from77", i)
    other.commit()
    upd = other.export(loro_c.ExportMode.Updates(_load(loro_c, blob).oplog_vv))
    events = []
    for d in (lazy, eager):
        seen = []
        sub = d.subscribe_root(lambda e, seen=seen: seen.append(_events(e)))
        d.import_(upd)
        sub.unsubscribe()
        events.append(seen)
    assert events[0] == events[1]
    assert lazy._loro_numbers() == eager._loro_numbers()
    assert lazy.get_deep_value() == eager.get_deep_value()
    lazy._check_invariants()


def test_threads_reading_keys_of_encoded_maps(blobs):
    """Gets from several threads while maps are scanned, switched to their decoded keys
    and built: each answers loro's value."""
    import threading
    d = _load(loro_c, blobs["loro_c"])
    ref = _load(loro, blobs["loro_c"])
    want = {(i, key): _read(ref, f"u{i}", key) for i in range(42) for key in KEYS}
    errors = []

    def read(items):
        try:
            for _ in range(3):
                for i, key in items:
                    assert _read(d, f"u{i}", key) == want[(i, key)]
        except BaseException as e:      # (reported below)
            errors.append(e)

    items = sorted(want)
    threads = [threading.Thread(target=read, args=(items[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
