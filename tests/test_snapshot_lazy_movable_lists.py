"""A snapshot whose state holds a root MovableList besides maps, counters and lists is
deferred as one without it is (state/snapshot_load.pxi thin_defer): the import's check
pass decodes the movable list with the decoder itself (codec/state_check.pxi ListCheck, as
a list's), and the load takes those rows when the document is first read, the maps beside
it and its child maps left encoded. Whatever touches the document first must see what a
document that decoded its whole state at once sees, and what loro sees; a movable list's
entry the decoder refuses is refused at the import, the document left as it was."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_state_load import _with_state
from test_snapshot_lazy_deep_read import _listed
from test_snapshot_lazy_maps import TOUCHES, _plain
from test_snapshot_lazy_lists import (LIST_TOUCHES, _deferred_reads_as_loro,
                                     _first_touch_sees_the_eager_state, _import_mutated, _load,
                                     _mutated_bytes, _nested_items_load_eagerly)


def _moved(mod, n=20):
    """_listed with a root movable list of records (maps, some holding maps and counters)
    and plain values, its items moved, set and deleted by two peers."""
    doc = _listed(mod)
    ml = doc.get_movable_list("moves")
    for i in range(n):
        if i % 5 == 4:
            ml.push(f"v{i}")
            continue
        rec = ml.push_container(mod.LoroMap())
        rec.insert("name", f"m{i}")
        if i % 3 == 1:
            rec.insert_container("sub", mod.LoroMap()).insert("x", i)
        if i % 7 == 2:
            rec.insert_container("hits", mod.LoroCounter()).increment(i)
    doc.commit()
    ml.mov(0, 5)
    ml.set(2, "set by one")
    ml.delete(8, 1)
    doc.commit()
    other = mod.LoroDoc()
    other.peer_id = 6
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    oml = other.get_movable_list("moves")
    oml.mov(3, 0)
    oml.set_container(4, mod.LoroMap()).insert("name", "set by six")
    oml.insert(1, [1, {"a": None}])
    oml.delete(10, 2)
    other.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc


@pytest.fixture(scope="module")
def blobs():
    return {mod.__name__: _moved(mod).export(mod.ExportMode.Snapshot()) for mod in (loro_c, loro)}


def _item(doc, i):
    got = doc.get_movable_list("moves").get(i)
    return got.container if hasattr(got, "container") else got.value


def _touch_ml_value(mod, d, blob):
    return d.get_movable_list("moves").get_value(), d.get_movable_list("moves").get_deep_value()


def _touch_ml_item(mod, d, blob):
    ml = d.get_movable_list("moves")
    return len(ml), _plain(_item(d, 0)), _plain(_item(d, 4)), ml.to_vec()


def _touch_ml_child(mod, d, blob):
    for i in range(len(d.get_movable_list("moves"))):
        got = _item(d, i)
        if hasattr(got, "get_deep_value"):
            return got.get_deep_value()


def _touch_ml_edit(mod, d, blob):
    d.peer_id = 9
    ml = d.get_movable_list("moves")
    ml.mov(1, 6)
    ml.set(0, "set by nine")
    ml.insert_container(2, mod.LoroMap()).insert("name", "new")
    ml.delete(5, 1)
    d.commit()
    return d.get_deep_value()


def _voc(v):
    return _plain(v.container.id if hasattr(v, "container") else v.value)


def _diff(diff):
    """A list or map event diff as comparable tuples (either library)."""
    items = diff.diff
    if hasattr(items, "updated"):
        return sorted((k, None if v is None else _voc(v)) for k, v in items.updated.items())
    out = []
    for it in items:
        if hasattr(it, "insert"):
            out.append(("insert", [_voc(v) for v in it.insert], it.is_move))
        elif hasattr(it, "delete"):
            out.append(("delete", it.delete))
        else:
            out.append(("retain", it.retain))
    return out


def _touch_ml_events(mod, d, blob):
    other = _load(mod, blob)
    other.peer_id = 77
    oml = other.get_movable_list("moves")
    oml.mov(0, 3)
    oml.set(1, "seventy-seven")
    oml.insert_container(2, mod.LoroMap()).insert("k", 1)
    oml.delete(6, 1)
    other.commit()
    update = other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))
    seen = []

    def on_event(e):
        seen.append([(_plain(ev.target), [_plain(p.container) for p in ev.path],
                      _diff(ev.diff))
                     for ev in e.events])

    sub = d.subscribe_root(on_event)
    d.import_(update)
    sub.unsubscribe()
    return seen


def _touch_ml_checkout(mod, d, blob):
    fr = d.oplog_frontiers
    d.checkout(mod.Frontiers.from_id(mod.ID(6, 0)))
    before = d.get_deep_value()
    d.checkout(fr)
    d.checkout_to_latest()
    return before, d.get_deep_value()


ML_TOUCHES = [_touch_ml_value, _touch_ml_item, _touch_ml_child, _touch_ml_edit,
              _touch_ml_events, _touch_ml_checkout]


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_state_with_a_movable_list_is_deferred_and_reads_as_loro(blobs, who):
    _deferred_reads_as_loro(blobs[who])


@pytest.mark.parametrize("who", ["loro_c", "loro"])
@pytest.mark.parametrize("touch", ML_TOUCHES + LIST_TOUCHES + TOUCHES,
                         ids=lambda f: f.__name__[7:])
def test_a_first_touch_of_a_deferred_movable_list_state_sees_the_eager_state(blobs, who, touch):
    blob = blobs[who]
    lazy = _load(loro_c, blob)
    assert not lazy._state_decoded
    _first_touch_sees_the_eager_state(lazy, blob, touch)


def test_a_movable_list_whose_items_are_not_loaded_here_loads_eagerly():
    """A root movable list naming a child list, text or movable list, or a root id, is
    left to the eager load (the deferred load takes items that are values, maps or
    counters only)."""
    _nested_items_load_eagerly(lambda d: d.get_movable_list("ml"))


@pytest.mark.parametrize("seed", range(4))
def test_mutated_movable_list_entries_pass_the_check_only_when_they_decode(blobs, seed):
    """Byte edits of a movable list's entry: when the check pass takes the section, the
    decoder takes it too and the deferred document reads as the one that decoded it at
    once; when it does not, the import refuses the blob (the document left empty and
    usable) or loads it eagerly."""
    rng = random.Random(seed)
    blob = blobs["loro_c"]
    entries = _codec._state_section_entries(blob)
    # (a root movable list's state key: 0x80 | its raw kind byte)
    only = [i for i, (k, _) in enumerate(entries) if k[:1] == b"\x84"]
    assert len(only) == 1
    passed = refused = 0
    for attempt in range(160):
        k = only[0]
        raw = entries[k][1]
        if attempt % 8 == 0:
            # (most random edits break its columns: some edit a value in place)
            at = raw.index(b"set by")
            raw = raw[:at] + bytes([rng.choice(b"abcdxyz")]) + raw[at + 1:]
        else:
            raw = _mutated_bytes(raw, rng)
        data = _with_state(blob, entries[:k] + [(entries[k][0], raw)] + entries[k + 1:])
        outcome = _import_mutated(data, lambda d: d.get_movable_list("moves").push(attempt))
        passed += outcome == "passed"
        refused += outcome == "refused"
    assert passed > 0 and refused > 0


@pytest.mark.parametrize("setter", [1, 2])
def test_a_movable_list_naming_a_child_its_history_never_created_is_refused(setter):
    """A movable list entry whose items lie in the version but one child (set after the
    others, by the same peer or another) does not: the import refuses it whole, the check
    pass does not take it (codec child_ids_fit's runs of one peer)."""
    from test_snapshot_state_load import _expect_error_empty
    a = loro_c.LoroDoc()
    a.peer_id = 1
    ml = a.get_movable_list("ml")
    for i in range(6):
        ml.push_container(loro_c.LoroMap()).insert("k", i)
    a.get_map("m").insert("x", 1)
    a.commit()
    blob = a.export(loro_c.ExportMode.Snapshot())
    b = loro_c.LoroDoc()
    b.import_(blob)
    b.peer_id = setter
    b.get_movable_list("ml").set_container(3, loro_c.LoroMap()).insert("k", "new")
    b.commit()
    key = loro_c.ContainerID.Root("ml", loro_c.ContainerType.MovableList()).to_bytes()
    lying = dict(_codec._state_section_entries(b.export(loro_c.ExportMode.Snapshot())))[key]
    entries = [(k, lying if k == key else v) for k, v in _codec._state_section_entries(blob)]
    data = _with_state(blob, entries)
    assert not _codec._state_section_ok(data)
    _expect_error_empty(data)
    # the honest entries still defer
    d = _load(loro_c, _with_state(blob, _codec._state_section_entries(blob)))
    assert not d._state_decoded
    assert d.get_deep_value() == a.get_deep_value()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_movable_lists_item_reads_after_a_load_leave_its_history_unloaded(blobs, who):
    """get, len, an index and a slice read the list the load built from its state (its
    items and elements), as loro answers them, without importing the history."""
    blob = blobs[who]
    d = _load(loro_c, blob)
    ref = _load(loro, blob)
    ml, rml = d.get_movable_list("moves"), ref.get_movable_list("moves")
    assert len(ml) == len(rml) and not ml.is_empty()
    for i in range(len(rml)):
        assert _plain(_voc(ml.get(i))) == _plain(_voc(rml.get(i)))
        assert _plain(_voc(ml[i])) == _plain(_voc(rml[i]))
    assert ml.get(len(rml)) is None
    with pytest.raises(IndexError):
        ml[len(rml)]
    assert [_plain(_voc(v)) for v in ml[1:7:2]] == [_plain(_voc(v)) for v in rml[1:7:2]]
    assert not d._history_loaded
    child = next(v.container for v in ml[0:len(ml)] if hasattr(v, "container"))
    assert child.get_deep_value() == next(
        v.container for v in rml[0:len(rml)] if hasattr(v, "container")).get_deep_value()
    assert not d._history_loaded
    # an edit then loads it, and the list goes on as loro's
    d.peer_id = ref.peer_id = 9
    ml.mov(0, 2)
    rml.mov(0, 2)
    d.commit()
    ref.commit()
    assert d._history_loaded
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
