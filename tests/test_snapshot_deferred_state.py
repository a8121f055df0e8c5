"""A snapshot of maps and counters loaded into an empty document keeps its state section
encoded until the document is read (state/snapshot_load.pxi thin_defer), as loro keeps each
container's state encoded until it is touched: the import checks the whole section in C
(codec/state_check.pxi) and a snapshot export or a version query before any read needs none
of it. Whatever reads the document first sees what an eager load builds, as loro does; a
lying or truncated state is refused at the import, the document left as it was."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_hostile import mutated_block, sections
from test_snapshot_state_load import _with_state, _replayed


def _mutated(blob, rng, entries=None):
    """The snapshot with one state entry's bytes changed at random (a byte set, cut,
    inserted or deleted); `entries`: its state section's entries, when read already."""
    if entries is None:
        entries = _codec._state_section_entries(blob)
    k = rng.randrange(len(entries))
    key, raw = entries[k]
    raw = bytearray(raw)
    op = rng.random()
    if op < 0.5 and raw:
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif op < 0.7 and raw:
        del raw[rng.randrange(len(raw)):]
    elif op < 0.85:
        raw.insert(rng.randrange(len(raw) + 1), rng.randrange(256))
    elif raw:
        del raw[rng.randrange(len(raw))]
    return _with_state(blob, entries[:k] + [(key, bytes(raw))] + entries[k + 1:])


def _records(mod, n=40, seed=0):
    """A map of records (child maps with values of every kind, some nested), a counter, a
    child counter, keys deleted and overwritten: the state holds maps and counters only."""
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = 5
    users = doc.get_map("users")
    for i in range(n):
        rec = users.insert_container(f"u{i}", mod.LoroMap())
        rec.insert("name", f"n\u00e9{i}")
        rec.insert("age", i)
        rec.insert("score", i / 3)
        rec.insert("ok", i % 2 == 0)
        rec.insert("none", None)
        rec.insert("blob", bytes([i % 256, 0, 255]))
        rec.insert("tags", [i, "x", {"deep": [1, 2.5, None]}])
        if i % 7 == 0:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
        if i % 5 == 0:
            rec.delete("none")
    for i in range(0, n, 9):
        users.delete(f"u{i}")
    users.insert("u1", "replaced")
    doc.get_counter("c").increment(3.5)
    doc.get_map("meta").insert("title", "records")
    doc.commit()
    doc2 = mod.LoroDoc()
    doc2.peer_id = 6
    doc2.import_(doc.export(mod.ExportMode.Snapshot()))
    for i in range(rng.randint(1, 5)):
        doc2.get_map("users").get(f"u{2 + i}").container.insert("age", 1000 + i)
    doc2.get_map("meta").insert("by", 6)
    doc2.commit()
    doc.import_(doc2.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc


@pytest.fixture(scope="module")
def blobs():
    ours = _records(loro_c)
    ref = _records(loro)
    return {
        "loro_c": ours.export(loro_c.ExportMode.Snapshot()),
        "loro": ref.export(loro.ExportMode.Snapshot()),
        "value": ref.get_deep_value(),
    }


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_export_and_versions_before_any_read_keep_the_state_encoded(blobs, who):
    blob = blobs[who]
    assert _codec._state_section_ok(blob)
    d = loro_c.LoroDoc()
    d.import_(blob)
    assert not d._state_decoded
    replay, _ = _replayed(blob)
    assert d.oplog_vv == replay.oplog_vv and d.state_vv == replay.state_vv
    assert d.oplog_frontiers == replay.oplog_frontiers
    assert d.state_frontiers == replay.state_frontiers
    # the loaded bytes again, as loro exports its own snapshot it loaded and did not change
    assert d.export(loro_c.ExportMode.Snapshot()) == blob
    assert not d._state_decoded
    if who == "loro":
        ref = loro.LoroDoc()
        ref.import_(blob)
        assert ref.export(loro.ExportMode.Snapshot()) == blob
    assert d.get_deep_value() == blobs["value"]
    # (a deep read takes the maps' values from their entries: tests/test_snapshot_lazy_deep_read.py)
    # (the document's shallow value lists the roots alone, as loro's reads no root state)
    ref = loro.LoroDoc()
    ref.import_(blob)
    got = d.get_value()
    assert list(got) == list(ref.get_value())
    assert got == {k: loro_c.ContainerID.Root(k, v.container_type) for k, v in got.items()}
    assert not d._state_decoded
    d.get_map("users").get_deep_value()
    assert d._state_decoded
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_each_kind_reads_as_loro_after_a_deferred_load(blobs, who):
    blob = blobs[who]
    ref = loro.LoroDoc()
    ref.import_(blob)
    for read in (lambda d: d.get_map("users").get("u3").container.get_deep_value(),
                 lambda d: d.get_counter("c").value,
                 lambda d: d.get_map("users").get("u7").container.get("hits").container.value,
                 lambda d: d.get_map("meta").get_value(),
                 lambda d: sorted(d.get_map("users").keys()),
                 lambda d: sorted(d.get_value())):
        d = loro_c.LoroDoc()
        d.import_(blob)
        assert not d._state_decoded
        assert read(d) == read(ref)
        # (a map's own reads decode that map only: tests/test_snapshot_lazy_maps.py)
        assert d._state_decoded or d._maps_encoded > 0
        assert d.get_deep_value() == ref.get_deep_value()
        d._check_invariants()


def test_handle_taken_before_the_import_reads_the_loaded_state(blobs):
    d = loro_c.LoroDoc()
    meta = d.get_map("meta")
    users = d.get_map("users")
    d.import_(blobs["loro_c"])
    ref = loro.LoroDoc()
    rm, ru = ref.get_map("meta"), ref.get_map("users")
    ref.import_(blobs["loro_c"])
    assert meta.get_value() == rm.get_value()
    assert users.get_deep_value() == ru.get_deep_value()
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_edit_checkout_and_export_after_a_deferred_load_match_loro(blobs, who):
    blob = blobs[who]
    d = loro_c.LoroDoc()
    d.import_(blob)
    ref = loro.LoroDoc()
    ref.import_(blob)
    for doc in (d, ref):
        doc.peer_id = 77
        doc.get_map("users").get("u4").container.insert("age", -1)
        doc.get_map("users").insert_container("new", type(doc.get_map("x"))()).insert("k", 1)
        doc.get_counter("c").increment(1)
        doc.commit()
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
    back = loro.LoroDoc()
    back.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert back.get_deep_value() == ref.get_deep_value()
    upd = d.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    assert upd == ref.export(loro.ExportMode.Updates(loro.VersionVector()))
    # a checkout to the loaded version, then back
    at = loro_c.LoroDoc()
    at.import_(blob)
    f = at.oplog_frontiers
    at.get_map("meta").insert("later", 1)
    at.commit()
    at.checkout(f)
    assert at.get_deep_value() == _loaded(blob)
    at.checkout_to_latest()
    at._check_invariants()
    c = loro_c.LoroDoc()
    c.import_(blob)
    c.checkout(c.oplog_frontiers)
    assert c.is_detached and c.get_deep_value() == _loaded(blob)
    c._check_invariants()


def _loaded(blob):
    d = loro.LoroDoc()
    d.import_(blob)
    return d.get_deep_value()


def test_deferred_load_gives_the_replay_status_and_second_import(blobs):
    blob = blobs["loro_c"]
    old, old_status = _replayed(blob)
    d = loro_c.LoroDoc()
    status = d.import_(blob)
    assert repr(status) == repr(old_status)
    # a second import decodes the state, then the history
    d.import_(blob)
    assert d.get_deep_value() == old.get_deep_value()
    d._check_invariants()
    f = loro_c.LoroDoc()
    f.import_(blob)
    g = f.fork()
    assert g.get_deep_value() == old.get_deep_value()
    g._check_invariants()


def test_texts_and_trees_are_deferred_too():
    """A text's state is decoded by the check pass (kept for the load, as a list's) and a
    tree's checked in C: neither makes the load eager any more."""
    d = loro_c.LoroDoc()
    d.get_map("m").insert("k", 1)
    d.get_text("t").insert(0, "text")
    d.get_tree("tr").create()
    d.commit()
    blob = d.export(loro_c.ExportMode.Snapshot())
    assert _codec._state_section_ok(blob)
    e = loro_c.LoroDoc()
    e.import_(blob)
    assert not e._state_decoded
    assert e.get_deep_value() == d.get_deep_value()


def _expect_refused(data):
    d = loro_c.LoroDoc()
    before = d.get_map("before")
    with pytest.raises(loro_c.LoroError):
        d.import_(data)
    assert d.get_deep_value() == {"before": {}} and d._history_loaded and d._state_decoded
    before.insert("ok", 1)
    d.commit()
    d._check_invariants()


def _map_state(doc, name):
    key = loro_c.ContainerID.Root(name, loro_c.ContainerType.Map()).to_bytes()
    return key, dict(_codec._state_section_entries(doc.export(loro_c.ExportMode.Snapshot())))[key]


def test_lying_map_states_are_refused_at_the_import():
    a = loro_c.LoroDoc()
    a.peer_id = 1
    m = a.get_map("m")
    m.insert("a", 1)
    m.insert("b", "x")
    m.insert_container("c", loro_c.LoroMap()).insert("k", 2)
    m.insert("d", 3)
    m.delete("d")
    a.commit()
    blob = a.export(loro_c.ExportMode.Snapshot())
    entries = _codec._state_section_entries(blob)
    key, raw = _map_state(a, "m")
    assert _codec._state_section_ok(_with_state(blob, entries))
    # a key twice (live "a" renamed "b"), a string that is not UTF-8, a trailing byte, a
    # peer index past the table, a child container beyond the history
    i = raw.index(b"\x01a")
    twice = raw[:i] + b"\x01b" + raw[i + 2:]
    not_utf8 = raw[:i] + b"\x01\xff" + raw[i + 2:]
    child = loro_c.ContainerID.Normal(1, 500, loro_c.ContainerType.Map()).to_bytes()
    for bad in (twice, not_utf8, raw + b"\x00", raw[:-1], raw[:len(raw) // 2]):
        data = _with_state(blob, sorted([(k, bad if k == key else v) for k, v in entries]))
        assert not _codec._state_section_ok(data)
        _expect_refused(data)
    data = _with_state(blob, sorted(entries + [(child, raw)]))
    assert not _codec._state_section_ok(data)
    _expect_refused(data)
    # a key twice among many (the check's hash table)
    for i in range(30):
        m.insert(f"k{i:02}", i)
    a.commit()
    blob = a.export(loro_c.ExportMode.Snapshot())
    entries = _codec._state_section_entries(blob)
    key, raw = _map_state(a, "m")
    assert _codec._state_section_ok(blob)
    i = raw.index(b"\x03k05")
    twice = raw[:i] + b"\x03k17" + raw[i + 4:]
    data = _with_state(blob, sorted([(k, twice if k == key else v) for k, v in entries]))
    assert not _codec._state_section_ok(data)
    _expect_refused(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_state_entries_pass_the_check_only_when_they_decode(seed):
    """Random byte edits of each state entry: when the import's check pass takes the
    section, the decoder takes it too and every read after the import succeeds; otherwise
    the import refuses the blob or loads it eagerly, the document consistent either way."""
    rng = random.Random(seed)
    src = _records(loro_c, n=6, seed=seed)
    blob = src.export(loro_c.ExportMode.Snapshot())
    entries = _codec._state_section_entries(blob)
    passed = 0
    for attempt in range(150):
        data = _mutated(blob, rng, entries)
        ok = _codec._state_section_ok(data)
        d = loro_c.LoroDoc()
        try:
            d.import_(data)
        except loro_c.LoroError:
            assert not ok
            assert d.get_deep_value() == {} and d._state_decoded
            continue
        if ok:
            passed += 1
            _codec.deferred_state_rows(data, dict(d.oplog_vv.to_dict()))
            assert not d._state_decoded
        d.get_deep_value()
        d._check_invariants()
    assert passed > 0


def deferred_mutations(blob, seed, attempts=200):
    """(attempt, bad blob, document) for each of `attempts` random block mutations of
    `blob`'s history under valid checksums that loro_c loads with its state deferred."""
    rng = random.Random(seed)
    secs = sections(blob)
    for attempt in range(attempts):
        bad = mutated_block(rng, blob, *secs[0])
        d = loro_c.LoroDoc()
        try:
            d.import_(bad)
        except loro_c.LoroError:
            continue
        assert not d._state_decoded
        yield attempt, bad, d


def test_a_malformed_change_block_after_a_deferred_load():
    """A change block malformed under valid checksums: the import defers the state, and
    the edit that needs history raises LoroError, the document left as the load built it
    (its state decoded, the same containers numbered), whether or not it was read first."""
    src = _records(loro_c, n=30)
    blob = src.export(loro_c.ExportMode.Snapshot())
    assert _codec._state_section_ok(blob)
    found = 0
    for attempt, bad, d in deferred_mutations(blob, 4):
        read_first = attempt % 2 == 0
        value = d.get_deep_value() if read_first else None
        try:
            d.get_map("meta").insert("x", 1)
        except loro_c.LoroError:
            found += 1
            assert not d._history_loaded and d._state_decoded
            eager = loro_c.LoroDoc()
            eager.import_(bad)
            assert d.get_deep_value() == (value if read_first else eager.get_deep_value())
            d._check_invariants()
            continue
        d.commit()
        d._check_invariants()
    assert found > 5, found
