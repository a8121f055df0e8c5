"""A server's cycle on List snapshots: load a snapshot (its List state checked at the import
with the values left encoded, codec/state_check.pxi checked_list_row), import a client's
update (the first write replays the history without building the loaded Lists,
state/snapshot_load.pxi thin_materialize) and export a new Snapshot. The values, the
events of that import and the saved bytes must be loro's, whether or not the list was read
between the load and the import; a corrupt blob on that path must be refused with the
document left as it was."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

import _events_util
from test_snapshot_deferred_state import deferred_mutations
from test_snapshot_lazy_deep_read import _no_nan
from test_snapshot_lazy_lists import _mutated_bytes
from test_snapshot_state_load import _with_state

VALUES = [None, True, False, 0, -1, 7, 2 ** 40, -(2 ** 62), 1.5, -0.25, "", "a", "héllo", "😀",
          b"", b"\x00\xff", [1, "x", None], {"k": 1, "n": [True]}, [[], {}]]


def _random_value(rng, plain_only):
    v = rng.choice(VALUES)
    if plain_only and isinstance(v, dict):
        return rng.choice(VALUES[:16])
    return v


def _session(mod, seed, children, plain_only):
    """A document of one root List edited at random (inserts of every value type, deletes,
    committed in groups), with child maps and counters in it when `children`; its
    snapshot, and a client's update made on top of that snapshot."""
    rng = random.Random(seed)
    d = mod.LoroDoc()
    d.peer_id = 1
    lst = d.get_list("l")
    for i in range(rng.randint(30, 200)):
        n = len(lst)
        r = rng.random()
        if n and r < 0.25:
            k = rng.randrange(n)
            lst.delete(k, rng.randint(1, min(3, n - k)))
        elif children and r < 0.35:
            m = lst.insert_container(rng.randint(0, n), mod.LoroMap())
            m.insert("x", rng.randrange(100))
        elif children and r < 0.4:
            lst.insert_container(rng.randint(0, n), mod.LoroCounter()).increment(rng.randint(1, 5))
        else:
            lst.insert(rng.randint(0, n), _random_value(rng, plain_only))
        if rng.random() < 0.1:
            d.commit()
            if rng.random() < 0.3:
                d.peer_id = rng.choice((1, 2, 3))
    d.commit()
    snap = d.export(mod.ExportMode.Snapshot())
    client = mod.LoroDoc()
    client.peer_id = 9
    client.import_(snap)
    cl = client.get_list("l")
    for _ in range(rng.randint(1, 4)):
        n = len(cl)
        if n and rng.random() < 0.4:
            cl.delete(rng.randrange(n), 1)
        else:
            cl.insert(rng.randint(0, n), _random_value(rng, plain_only))
    if children and rng.random() < 0.5:
        cl.insert_container(0, mod.LoroMap()).insert("new", 1)
    client.commit()
    return snap, client.export(mod.ExportMode.Updates(d.oplog_vv))


def _cycle(mod, snap, update, read_first, listen):
    d = mod.LoroDoc()
    d.import_(snap)
    if mod is loro_c:
        assert not d._state_decoded      # (the deferred load: the path under test)
    before = _no_nan(d.get_deep_value()) if read_first else None
    events = []
    sub = d.subscribe_root(lambda e: events.append(_events_util.nev(e))) if listen else None
    d.import_(update)
    if sub is not None:
        sub.unsubscribe()
    if mod is loro_c:
        d._check_invariants()
    return d, before, events, d.export(mod.ExportMode.Snapshot())


@pytest.mark.parametrize("seed", range(24))
def test_a_load_import_export_cycle_on_a_list_matches_loro(seed):
    children = seed % 3 != 0
    plain_only = seed % 4 == 0
    read_first = seed % 2 == 1
    listen = seed % 5 != 4
    got = {}
    for mod in (loro_c, loro):
        snap, update = _session(mod, seed, children, plain_only)
        got[mod] = _cycle(mod, snap, update, read_first, listen)
    (d, before, events, blob), (ref, ref_before, ref_events, ref_blob) = got[loro_c], got[loro]
    assert _no_nan(d.get_deep_value()) == _no_nan(ref.get_deep_value())
    assert before == ref_before
    assert events == ref_events
    back = loro.LoroDoc()
    back.import_(blob)
    assert back.get_deep_value() == ref.get_deep_value()
    if not children and plain_only:
        assert blob == ref_blob
    # the saved snapshot loads again through the same path, and reads as it was saved
    again = loro_c.LoroDoc()
    again.import_(blob)
    assert not again._state_decoded
    assert again.get_deep_value() == d.get_deep_value()


def _ids(v):
    return _events_util.ncid(v) if hasattr(v, "container_type") else v


def test_the_list_values_stay_encoded_until_the_list_is_built():
    """A List loaded deferred decodes its values when it is first read (the build), and
    a first write replays the history without reading them: both read as loro."""
    snap = _session(loro_c, 3, True, False)[0]
    ref = loro.LoroDoc()
    ref.import_(snap)
    read = loro_c.LoroDoc()
    read.import_(snap)
    assert ([_ids(v) for v in read.get_list("l").get_value()]
            == [_ids(v) for v in ref.get_list("l").get_value()])
    written = loro_c.LoroDoc()
    written.import_(snap)
    written.get_list("l").insert(0, "w")
    written.commit()
    ref.get_list("l").insert(0, "w")
    ref.commit()
    assert written.get_deep_value() == ref.get_deep_value()
    assert written._history_loaded
    written._check_invariants()


def _refused_unchanged(data):
    d = loro_c.LoroDoc()
    try:
        d.import_(data)
    except loro_c.LoroError:
        assert d.get_deep_value() == {} and d._state_decoded
        d.get_list("x").push(1)
        d.commit()
        return True
    return False


def test_truncated_list_snapshots_are_refused_and_leave_the_document_empty():
    snap = _session(loro_c, 5, True, False)[0]
    refused = 0
    for cut in range(1, len(snap), max(1, len(snap) // 97)):
        refused += _refused_unchanged(snap[:cut])
    assert refused > 0


@pytest.mark.parametrize("seed", range(3))
def test_mutated_list_values_pass_the_check_only_when_they_decode(seed):
    """Byte edits inside a List entry's values (the part the check pass reads without
    decoding): the import refuses the blob with the document left empty, loads it eagerly,
    or defers it, and then a read, a write and the replay all see what an eager load sees."""
    rng = random.Random(seed)
    blob = _session(loro_c, 10 + seed, True, False)[0]
    entries = _codec._state_section_entries(blob)
    k = next(i for i, (key, _) in enumerate(entries) if key[:1] == b"\x81")
    key, raw = entries[k]
    outcomes = set()
    for attempt in range(150):
        data = _with_state(blob, entries[:k] + [(key, _mutated_bytes(raw, rng))] + entries[k + 1:])
        ok = _codec._state_section_ok(data)
        if _refused_unchanged(data):
            assert not ok
            outcomes.add("refused")
            continue
        eager = loro_c.LoroDoc()
        eager.import_(data)
        eager._check_invariants()
        d = loro_c.LoroDoc()
        d.import_(data)
        assert d._state_decoded != ok
        outcomes.add("deferred" if ok else "eager")
        if attempt % 2:
            assert _no_nan(d.get_deep_value()) == _no_nan(eager.get_deep_value())
        try:
            d.get_list("l").push(attempt)
        except loro_c.LoroError:
            # the history disagrees with the state: refused as the eager document does
            with pytest.raises(loro_c.LoroError):
                eager.get_list("l").push(attempt)
            continue
        d.commit()
        d._check_invariants()
    assert "refused" in outcomes and "deferred" in outcomes


def test_a_malformed_change_block_after_a_list_load_leaves_the_document_as_loaded():
    """A change block malformed under valid checksums: the load defers the List, and the
    import that replays the history raises LoroError with the document as the load left it
    (its state now decoded), read before or not."""
    src = loro_c.LoroDoc()
    src.peer_id = 1
    lst = src.get_list("l")
    for i in range(300):
        lst.insert(i // 2, i)
        if i % 50 == 0:
            src.commit()
    src.commit()
    blob = src.export(loro_c.ExportMode.Snapshot())
    client = loro_c.LoroDoc()
    client.import_(blob)
    client.get_list("l").insert(0, "c")
    client.commit()
    update = client.export(loro_c.ExportMode.Updates(src.oplog_vv))
    found = 0
    for attempt, _bad, d in deferred_mutations(blob, 7):
        value = d.get_deep_value() if attempt % 2 == 0 else None
        try:
            d.import_(update)
        except loro_c.LoroError:
            found += 1
            assert not d._history_loaded and d._state_decoded
            assert d.get_deep_value() == {"l": list(src.get_list("l").get_value())}
            if value is not None:
                assert d.get_deep_value() == value
            d._check_invariants()
            continue
        d._check_invariants()
    assert found > 5, found
