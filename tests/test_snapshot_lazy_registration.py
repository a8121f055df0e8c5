"""A deferred snapshot load registers its child maps when something first names them
(state/snapshot_load.pxi thin_register_listed), not all of them at the first read: reading
one record of a map of thousands registers that record alone. A container registered that
way gets its index later than the eager load gave it; nothing users see may depend on it:
values, ids, events, exports, numbering, checkouts and later imports must be what a
document that registered everything at once shows, and what loro shows."""
import random

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import loro
import loro_c

from test_snapshot_lazy_maps import _plain
from test_snapshot_lazy_key_reads import _events as _event_rows


N = 24


def _nested(mod, n=N, seed=0):
    """Records two levels deep (plain values only, so reads stay on the encoded entries),
    a list of records, a counter in some records: a state of maps, lists and counters."""
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = 5
    users = doc.get_map("users")
    for i in range(n):
        rec = users.insert_container(f"u{i}", mod.LoroMap())
        rec.insert("name", f"n{i}")
        rec.insert("age", i)
        addr = rec.insert_container("addr", mod.LoroMap())
        addr.insert("city", f"c{rng.randrange(5)}")
        addr.insert("zip", rng.randrange(10000))
        if i % 6 == 0:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
        if i % 5 == 0:
            rec.delete("age")
    doc.commit()
    for i in range(0, n, 7):
        users.delete(f"u{i}")           # (a dead record: its state is listed all the same)
    users.insert("plain", 1)
    doc.commit()
    doc.get_counter("c").increment(3)
    meta = doc.get_map("meta")
    meta.insert("title", "t")
    doc.commit()
    return doc


def _listed(mod, n=N):
    """A root list of records (its children registered with the list, all at once)."""
    doc = mod.LoroDoc()
    doc.peer_id = 6
    rows = doc.get_list("rows")
    for i in range(n):
        rec = rows.insert_container(i, mod.LoroMap())
        rec.insert("v", i)
        rec.insert_container("sub", mod.LoroMap()).insert("w", -i)
    doc.commit()
    return doc


@pytest.fixture(scope="module")
def blobs():
    return {"loro_c": _nested(loro_c).export(loro_c.ExportMode.Snapshot()),
            "loro": _nested(loro).export(loro.ExportMode.Snapshot())}


def _load(mod, blob):
    d = mod.LoroDoc()
    d.import_(blob)
    return d


def _rec(d, key):
    """The record at `key`, or None (absent, or a plain value an edit put there)."""
    got = d.get_map("users").get(key)
    return None if got is None else getattr(got, "container", None)


def test_reading_one_record_registers_it_alone(blobs):
    d = _load(loro_c, blobs["loro_c"])
    assert d._maps_unregistered is None
    users = d.get_map("users")
    left = d._maps_unregistered
    # (every live record and its address, the dead ones' too: the state lists them)
    assert left >= 2 * (N - len(range(0, N, 7)))
    rec = _rec(d, "u3")
    assert d._maps_unregistered == left - 1
    assert rec.get("name").value == "n3"
    addr = rec.get("addr").container
    assert d._maps_unregistered == left - 2
    assert addr.get("city").value == _rec(_load(loro, blobs["loro_c"]), "u3").get("addr").container.get("city").value
    assert not d._state_decoded
    # the export of an unchanged load is still the blob
    assert d.export(loro_c.ExportMode.Snapshot()) == blobs["loro_c"]
    # a read of everything registers the rest
    assert users.get_deep_value() == _load(loro, blobs["loro_c"]).get_map("users").get_deep_value()
    assert d._maps_unregistered == 0
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_ids_of_records_read_lazily_are_loros(blobs, who):
    d = _load(loro_c, blobs[who])
    ref = _load(loro, blobs[who])
    for i in (5, 1, 22, 3):
        got, want = _rec(d, f"u{i}"), _rec(ref, f"u{i}")
        assert _plain(got.id) == _plain(want.id)
        assert _plain(got.get("addr").container.id) == _plain(want.get("addr").container.id)
    # a record named by its id (a handle through the root getter) is the same record
    cid = _rec(ref, "u9").id
    ours = d.get_map(loro_c.ContainerID.Normal(cid.peer, cid.counter, loro_c.ContainerType.Map()))
    assert ours.get("name").value == "n9"
    assert _plain(ours.get_value()) == _plain(_rec(ref, "u9").get_value())
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


def test_a_record_named_with_the_wrong_kind(blobs):
    d = _load(loro_c, blobs["loro_c"])
    eager = _load(loro_c, blobs["loro_c"])
    eager.get_deep_value()
    cid = _rec(_load(loro_c, blobs["loro_c"]), "u4").id
    for doc in (d, eager):
        with pytest.raises(loro_c.LoroError):
            doc.get_list(cid)
    # (registered by that lookup, as the eager load registered it: still the record)
    assert _rec(d, "u4").get_value() == _rec(eager, "u4").get_value()
    assert d.get_deep_value() == eager.get_deep_value()


def _peer_update(mod, blob):
    other = _load(mod, blob)
    other.peer_id = 77
    _rec(other, "u3").insert("age", -3)
    _rec(other, "u3").get("addr").container.insert("zip", 0)
    _rec(other, "u10").insert_container("more", mod.LoroMap()).insert("k", 1)
    other.get_map("users").insert("u11", "gone")
    other.get_counter("c").increment(1)
    other.commit()
    return other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))


def _events(mod, d, act):
    seen = []

    def on_event(e):
        seen.append(_event_rows(e))

    sub = d.subscribe_root(on_event)
    act()
    sub.unsubscribe()
    return _plain(seen)


def _read_some(d):
    out = []
    for k in ("u13", "u3", "u11"):
        rec = _rec(d, k)
        out.append(rec.get("name").value)
        out.append(rec.get("addr").container.get("zip").value)
    return out


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_second_import_after_lazy_reads(blobs, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    assert _read_some(d) == _read_some(ref)
    assert _events(loro_c, d, lambda: d.import_(_peer_update(loro_c, blob))) == \
        _events(loro, ref, lambda: ref.import_(_peer_update(loro, blob)))
    assert d.get_deep_value() == ref.get_deep_value()
    assert _rec(d, "u10").get("more").container.get("k").value == 1
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_record_read_lazily_then_edited_and_exported(blobs, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    eager = _load(loro_c, blob)
    eager.get_deep_value()
    for doc, mod in ((d, loro_c), (ref, loro), (eager, loro_c)):
        doc.peer_id = 9
        rec = _rec(doc, "u8")
        rec.get("addr").container.insert("city", "moved")
        rec.insert_container("extra", mod.LoroMap()).insert("x", 1)
        doc.commit()
    assert d.get_deep_value() == ref.get_deep_value()
    upd = d.export(loro_c.ExportMode.Updates(_load(loro_c, blob).oplog_vv))
    assert upd == eager.export(loro_c.ExportMode.Updates(_load(loro_c, blob).oplog_vv))
    snap = d.export(loro_c.ExportMode.Snapshot())
    assert snap == eager.export(loro_c.ExportMode.Snapshot())
    back = loro.LoroDoc()
    back.import_(snap)
    assert back.get_deep_value() == ref.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_record_read_lazily_then_checked_out(blobs, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    assert _read_some(d) == _read_some(ref)
    at = loro_c.Frontiers.from_id(loro_c.ID(5, 40))
    got = _events(loro_c, d, lambda: d.checkout(at))
    want = _events(loro, ref, lambda: ref.checkout(loro.Frontiers.from_id(loro.ID(5, 40))))
    assert got == want
    assert d.get_deep_value() == ref.get_deep_value()
    d.checkout_to_latest()
    ref.checkout_to_latest()
    assert _rec(d, "u3").get("addr").container.get_value() == \
        _rec(ref, "u3").get("addr").container.get_value()
    d._check_invariants()


def test_reading_every_record_one_by_one(blobs):
    """Every record registered and built by its own reads: the store notes taken at the end
    are the eager load's (the snapshot export lists the same containers)."""
    blob = blobs["loro_c"]
    d = _load(loro_c, blob)
    eager = _load(loro_c, blob)
    eager.get_deep_value()
    ref = _load(loro, blob)
    for i in reversed(range(N)):
        rec = _rec(d, f"u{i}")
        if rec is not None:
            assert _plain(rec.get_value()) == _plain(_rec(ref, f"u{i}").get_value())
            assert rec.get("addr").container.get_value() == \
                _rec(ref, f"u{i}").get("addr").container.get_value()
    assert d._maps_unregistered > 0         # (the dead records: nothing named them)
    assert d.get_deep_value() == ref.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d.peer_id = eager.peer_id = 9
    for doc in (d, eager):
        doc.get_counter("c").increment(1)
        doc.commit()
    assert d.export(loro_c.ExportMode.Snapshot()) == eager.export(loro_c.ExportMode.Snapshot())
    d._check_invariants()


def test_a_child_handle_asked_for_before_the_import(blobs):
    """A child named by its id before the import does not exist yet: the getter raises (loro
    panics there) and registers nothing, so the load reads its records lazily as ever; the
    same id names the record once the import brought it."""
    ref = _load(loro, blobs["loro"])
    cid = _rec(ref, "u2").id
    d = loro_c.LoroDoc()
    named = loro_c.ContainerID.Normal(cid.peer, cid.counter, loro_c.ContainerType.Map())
    with pytest.raises(loro_c.UnknownContainerError):
        d.get_map(named)
    d.import_(blobs["loro"])
    d.get_map("users")
    assert d._maps_unregistered > 0
    assert d.get_map(named).get("name").value == "n2"
    assert _rec(d, "u3").get("addr").container.get("city").value == \
        _rec(ref, "u3").get("addr").container.get("city").value
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


@pytest.mark.parametrize("n", [N, 100])
def test_a_list_of_records_registers_each_when_read(n):
    """The records register when read, each by its own lookup (their children later, when
    named), however many the list holds (state/snapshot_load.pxi thin_list_kids)."""
    blob = _listed(loro_c, n).export(loro_c.ExportMode.Snapshot())
    d, ref = _load(loro_c, blob), _load(loro, blob)
    rows, want = d.get_list("rows"), ref.get_list("rows")
    assert d._maps_unregistered == 2 * n      # (each record and its child map)
    for i in (3, 0, n - 1):
        assert rows.get(i).container.get("v").value == want.get(i).container.get("v").value
        assert rows.get(i).container.get("sub").container.get_value() == \
            want.get(i).container.get("sub").container.get_value()
        assert _plain(rows.get(i).container.id) == _plain(want.get(i).container.id)
    assert d._maps_unregistered == 2 * n - 6
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


_STEPS = st.lists(st.tuples(st.sampled_from(["get", "addr", "by_id", "get_value", "edit",
                                             "import", "deep", "export", "path", "numbers",
                                             "checkout"]),
                            st.integers(0, N - 1)), min_size=1, max_size=7)


def _step(mod, d, blob, what, i):
    key = f"u{i}"
    rec = _rec(d, key) if what not in ("import", "deep", "export", "numbers", "checkout") else None
    if what == "get":
        return None if rec is None else rec.get("name")
    if what == "addr":
        return None if rec is None else rec.get("addr").container.get("zip")
    if what == "by_id":
        if rec is None:
            return None
        cid = rec.id
        again = d.get_map(cid)
        return _plain(cid), again.get_value()
    if what == "get_value":
        return None if rec is None else rec.get_value()
    if what == "edit":
        d.peer_id = 9
        if rec is not None:
            rec.get("addr").container.insert("zip", -i)
        else:
            d.get_map("users").insert(key, i)
        d.commit()
        return None
    if what == "import":
        d.import_(_peer_update(mod, blob))
        return None
    if what == "deep":
        return d.get_deep_value()
    if what == "export":
        other = mod.LoroDoc()
        other.import_(d.export(mod.ExportMode.Snapshot()))
        return other.get_deep_value()
    if what == "path":
        got = d.get_by_str_path(f"users/{key}/addr/city")
        return None if got is None else got.value
    if what == "numbers":
        return None
    d.checkout(mod.Frontiers.from_id(mod.ID(5, 10 + i)))
    v = d.get_deep_value()
    d.checkout_to_latest()
    return v


def _value(v):
    if isinstance(v, (loro_c.ValueOrContainer, loro.ValueOrContainer)):
        return v.value if hasattr(v, "value") and not hasattr(v, "container") else _plain(v.container.id)
    return _plain(v)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, who=st.sampled_from(["loro_c", "loro"]))
def test_random_sessions_match_loro_and_the_eager_load(blobs, steps, who):
    blob = blobs[who]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    eager = _load(loro_c, blob)
    eager.get_deep_value()
    for what, i in steps:
        got = _step(loro_c, d, blob, what, i)
        assert _value(got) == _value(_step(loro, ref, blob, what, i))
        assert _value(got) == _value(_step(loro_c, eager, blob, what, i))
    assert d.get_deep_value() == ref.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    assert d.export(loro_c.ExportMode.Snapshot()) == eager.export(loro_c.ExportMode.Snapshot())
    d._check_invariants()


@pytest.mark.parametrize("read", ["gets", "get_value"])
def test_a_map_of_many_records_registers_them_at_once(read):
    """A map of more than 64 children whose keys are decoded for a loop of gets registers
    every child map left at once; its shallow value (get_value) shows their ids as its
    entry holds them and registers none (state/snapshot_load.pxi lazy_map_vals_locked),
    until a get names one; the same values."""
    n = 100
    blob = _nested(loro_c, n=n, seed=4).export(loro_c.ExportMode.Snapshot())
    d, ref = _load(loro_c, blob), _load(loro, blob)
    users, want = d.get_map("users"), ref.get_map("users")
    if read == "get_value":
        left = d._maps_unregistered
        assert left >= n
        assert _plain(users.get_value()) == _plain(want.get_value())
        assert d._maps_unregistered == left
        assert _plain(users.get_value()) == _plain(want.get_value())
        assert d._maps_unregistered == left
    if read == "gets" or read == "get_value":
        for i in range(n):
            got, exp = users.get(f"u{i}"), want.get(f"u{i}")
            assert (got is None) == (exp is None)
            if got is not None:
                assert got.container.get("name").value == exp.container.get("name").value
    # (the records' addresses too, which nothing named yet)
    assert d._maps_unregistered == 0
    assert not d._state_decoded
    for i in (33, 1, 97):
        assert _rec(d, f"u{i}").get("addr").container.get_value() == \
            _rec(ref, f"u{i}").get("addr").container.get_value()
        assert _plain(_rec(d, f"u{i}").id) == _plain(_rec(ref, f"u{i}").id)
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
