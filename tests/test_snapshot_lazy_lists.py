"""A snapshot whose state holds root lists (of records, of plain values) besides maps and
counters is deferred as one of maps alone is (state/snapshot_load.pxi thin_defer): the
import's check pass decodes each list with the decoder itself (codec/state_check.pxi
ListCheck) and the load takes those rows when the document is first read, its child maps
left encoded. Whatever touches the document first must see what a document that decoded
its whole state at once sees, and what loro sees; a list entry the decoder refuses is
refused at the import, the document left as it was."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_state_load import _with_state
from test_snapshot_lazy_deep_read import _listed, _no_nan
from test_snapshot_lazy_maps import TOUCHES, _after, _plain


@pytest.fixture(scope="module")
def blobs():
    return {mod.__name__: _listed(mod).export(mod.ExportMode.Snapshot()) for mod in (loro_c, loro)}


def _load(mod, blob, eager=False):
    d = mod.LoroDoc()
    d.import_(blob)
    if eager:
        if mod is loro_c:
            d._check_invariants()       # (decodes every state at once, numbers nothing)
            assert d._state_decoded
        else:
            d.get_value()
    return d


def _row(doc, i):
    got = doc.get_list("rows").get(i)
    return got.container if hasattr(got, "container") else got.value


def _touch_list_deep(mod, d, blob):
    return d.get_list("rows").get_deep_value(), d.get_list("plain").get_value()


def _touch_list_item(mod, d, blob):
    return _row(d, 5).get_deep_value(), len(d.get_list("rows")), _row(d, 4)


def _touch_list_edit(mod, d, blob):
    d.peer_id = 9
    rows = d.get_list("rows")
    rows.insert_container(2, mod.LoroMap()).insert("name", "new")
    rows.delete(6, 1)
    _row(d, 7).insert("name", "edited")
    d.get_list("plain").push(42)
    d.commit()
    return d.get_deep_value()


def _touch_list_events(mod, d, blob):
    other = _load(mod, blob)
    other.peer_id = 77
    other.get_list("rows").insert_container(1, mod.LoroMap()).insert("k", 1)
    _row(other, 3).insert("name", "seventy-seven")
    other.get_list("plain").delete(0, 2)
    other.commit()
    update = other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))
    seen = []

    def on_event(e):
        seen.append([(_plain(ev.target), [_plain(p.container) for p in ev.path]) for ev in e.events])

    sub = d.subscribe_root(on_event)
    d.import_(update)
    sub.unsubscribe()
    return seen


def _touch_list_path(mod, d, blob):
    got = d.get_by_str_path("rows/3/name")
    return None if got is None else got.value


LIST_TOUCHES = [_touch_list_deep, _touch_list_item, _touch_list_edit, _touch_list_events,
                _touch_list_path]


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_a_state_with_lists_is_deferred_and_reads_as_loro(blobs, who):
    _deferred_reads_as_loro(blobs[who])


def _deferred_reads_as_loro(blob):
    """A snapshot's state the check pass takes stays encoded through its load and its
    export, and a deep read builds none of its maps yet reads as loro and an eager load."""
    assert _codec._state_section_ok(blob)
    d = _load(loro_c, blob)
    assert not d._state_decoded and d._maps_encoded is None
    assert d.export(loro_c.ExportMode.Snapshot()) == blob
    assert not d._state_decoded
    ref = _load(loro, blob)
    value = d.get_deep_value()
    assert d._maps_encoded > 40         # (the deep read built none of the maps)
    eager = _load(loro_c, blob, eager=True)
    assert value == eager.get_deep_value() == ref.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
@pytest.mark.parametrize("touch", LIST_TOUCHES + TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_first_touch_of_a_deferred_list_state_sees_the_eager_state(blobs, who, touch):
    blob = blobs[who]
    _first_touch_sees_the_eager_state(_load(loro_c, blob), blob, touch)


def _first_touch_sees_the_eager_state(lazy, blob, touch):
    """`touch` on `lazy` (`blob` loaded with its state deferred) gives what it gives on an
    eager load and on loro, and leaves the same document behind."""
    eager = _load(loro_c, blob, eager=True)
    ref = _load(loro, blob)
    got = _plain(touch(loro_c, lazy, blob))
    assert got == _plain(touch(loro_c, eager, blob))
    if touch.__name__ != "_touch_export_snapshot" and touch.__name__ != "_touch_checkout":
        # (loro exports a loaded snapshot of its own byte for byte, ours its own way; the
        # records' checkout frontier is not in this history)
        assert got == _plain(touch(loro, ref, blob))
    assert _after(lazy) == _after(eager)
    assert lazy._loro_numbers() == eager._loro_numbers()
    assert lazy.get_deep_value() == ref.get_deep_value()
    lazy._check_invariants()


def _nested_items_load_eagerly(handle):
    """A root sequence (`handle(doc)`) naming a child list, text or movable list beside a
    child map is left to the eager load, which reads as loro's."""
    for fill in (lambda seq: seq.insert_container(0, loro_c.LoroList()).push(1),
                 lambda seq: seq.insert_container(0, loro_c.LoroText()).insert(0, "t"),
                 lambda seq: seq.insert_container(0, loro_c.LoroMovableList()).push(2)):
        d = loro_c.LoroDoc()
        seq = handle(d)
        seq.insert_container(0, loro_c.LoroMap()).insert("k", 1)
        fill(seq)
        d.get_map("m").insert("x", 1)
        d.commit()
        blob = d.export(loro_c.ExportMode.Snapshot())
        assert not _codec._state_section_ok(blob)
        e = _load(loro_c, blob)
        assert e._state_decoded
        ref = _load(loro, blob)
        assert _plain(e.get_deep_value()) == _plain(ref.get_deep_value())


def test_a_list_state_whose_items_are_not_loaded_here_loads_eagerly():
    """A root list naming a child list, text or movable list is left to the eager load (the
    deferred load takes list items that are values, maps or counters only)."""
    _nested_items_load_eagerly(lambda d: d.get_list("rows"))


def _list_keys(blob):
    return [k for k, _ in _codec._state_section_entries(blob) if k[:1] == b"\x81"]   # (root lists)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_list_entries_pass_the_check_only_when_they_decode(blobs, seed):
    """Byte edits of a list's entry: when the check pass takes the section, the decoder
    takes it too and the deferred document reads as the one that decoded it at once; when
    it does not, the import refuses the blob (the document left empty and usable) or loads
    it eagerly."""
    rng = random.Random(seed)
    blob = blobs["loro_c"]
    entries = _codec._state_section_entries(blob)
    lists = set(_list_keys(blob))
    assert len(lists) == 2
    only = [i for i, (k, _) in enumerate(entries) if k in lists]
    passed = refused = 0
    for attempt in range(120):
        k = rng.choice(only)
        data = _with_state(blob, entries[:k] + [(entries[k][0], _mutated_bytes(entries[k][1], rng))]
                           + entries[k + 1:])
        outcome = _import_mutated(data, lambda d: d.get_list("plain").push(attempt))
        passed += outcome == "passed"
        refused += outcome == "refused"
    assert passed > 0 and refused > 0


def _import_mutated(data, edit):
    """Import blob `data` (a state entry edited) into a new document: "refused" when the
    import refuses it (then the check pass refused it too, and the document is left empty
    and usable); else the document reads as one that decoded the state at once, and
    "passed" when the check pass took the section (the state stays deferred) or "eager".
    `edit(doc)` then edits the loaded document before a commit."""
    ok = _codec._state_section_ok(data)
    d = loro_c.LoroDoc()
    try:
        d.import_(data)
    except loro_c.LoroError:
        assert not ok
        assert d.get_deep_value() == {} and d._state_decoded
        d.get_list("x").push(1)
        d.commit()
        return "refused"
    if ok:
        assert not d._state_decoded
        _codec.deferred_state_rows(data, dict(d.oplog_vv.to_dict()))
    eager = _load(loro_c, data, eager=True)
    assert _no_nan(d.get_deep_value()) == _no_nan(eager.get_deep_value())
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()
    edit(d)
    d.commit()
    return "passed" if ok else "eager"


def _mutated_bytes(raw, rng):
    """`raw` with one to three bytes set, cut, inserted or deleted at random."""
    raw = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.5 and raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif op < 0.6 and raw:
            del raw[rng.randrange(len(raw)):]
        elif op < 0.8:
            raw.insert(rng.randrange(len(raw) + 1), rng.randrange(256))
        elif raw:
            del raw[rng.randrange(len(raw))]
    return bytes(raw)
