"""The import's check pass takes a List's, a Text's and a MovableList's state in C
(codec/state_check.pxi seq_entry_ok: list_state_ok, text_state_ok, movable_list_state_ok),
with no object per item, and leaves it encoded until the document is first read, as loro
keeps every loaded state encoded until it is read; only a text with style anchors is still
decoded by the check (its marks: the decoder's own rows, ListCheck). loro's rule pinned
here: a load reads exactly as the state it holds (its value, the events a later
subscriber sees, a later snapshot), whatever touches it first; a state the decoder refuses
is refused at the import with loro_c's error, the document left as it was."""
import random

import pytest

import loro
import loro_c
from loro_c import _codec

from _events_util import nev
from test_snapshot_state_load import _with_state, _expect_error_empty
from test_snapshot_lazy_deep_read import _listed
from test_snapshot_lazy_maps import TOUCHES, _plain
from test_snapshot_lazy_lists import _first_touch_sees_the_eager_state, _load, _mutated_bytes


def fill_small(mod, m, n, text_of, trimmed=lambda i: False):
    """Under map `m`, `n` small containers: at odd i list "l{i}" of i % 4 + 1 values (its
    first deleted where `trimmed(i)`), at even i text "t{i}" holding `text_of(i)`."""
    for i in range(n):
        if i % 2:
            lst = m.insert_container(f"l{i}", mod.LoroList())
            for j in range(i % 4 + 1):
                lst.push(i * 10 + j)
            if trimmed(i):
                lst.delete(0, 1)
        else:
            m.insert_container(f"t{i}", mod.LoroText()).insert(0, text_of(i))


def _sequenced(mod, n=40):
    """_listed with a root movable list (pushes, moves, sets, deletes, a child map and a
    counter; a second peer moves, sets and inserts), a map of small child lists and texts
    (one text multi-byte, one marked, one emptied), and a root text."""
    doc = _listed(mod)
    ml = doc.get_movable_list("ml")
    for i in range(n):
        ml.push(i)
    rng = random.Random(3)
    for i in range(n // 2):
        ml.mov(rng.randrange(n), rng.randrange(n))
        ml.set(rng.randrange(n), f"s{i}")
    ml.delete(4, 3)
    ml.insert_container(2, mod.LoroMap()).insert("k", 1)
    ml.insert_container(5, mod.LoroCounter()).increment(3)
    small = doc.get_map("small")
    fill_small(mod, small, n, lambda i: f"text {i} é€😀" if i % 6 == 0 else f"t{i}",
               lambda i: i % 7 == 1)
    small.insert_container("marked", mod.LoroText()).insert(0, "bold here")
    small.get("marked").container.mark(0, 4, "bold", True)
    small.insert_container("emptied", mod.LoroText()).insert(0, "gone")
    small.get("emptied").container.delete(0, 4)
    doc.get_text("notes").insert(0, "a root text ünïcode")
    doc.commit()
    other = mod.LoroDoc()
    other.peer_id = 6
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    oml = other.get_movable_list("ml")
    oml.mov(0, len(oml) - 1)
    oml.set(3, "by six")
    oml.insert(1, "six")
    other.get_map("small").get("l1").container.push("six")
    other.get_map("small").get("t2").container.insert(1, "6")
    other.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc


@pytest.fixture(scope="module")
def blobs():
    return {mod.__name__: _sequenced(mod).export(mod.ExportMode.Snapshot()) for mod in (loro_c, loro)}


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_sequence_states_are_checked_in_c_and_deferred(blobs, who):
    blob = blobs[who]
    marked = loro_c.LoroDoc()
    marked.import_(blob)
    want = [str(marked.get_map("small").get("marked").container.id)]
    # (only the marked text is decoded by the check; every list, text and movable list
    # else is left encoded)
    assert _codec._state_check_decoded(blob) == want
    d = _load(loro_c, blob)
    assert not d._state_decoded
    assert d.export(loro_c.ExportMode.Snapshot()) == blob
    eager = _load(loro_c, blob, eager=True)
    assert d.get_deep_value() == eager.get_deep_value() == _load(loro, blob).get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()


def _touch_ml_reads(mod, d, blob):
    ml = d.get_movable_list("ml")
    return (ml.get_value(), len(ml), [ml.get_creator_at(i) for i in range(len(ml))],
            [ml.get_last_mover_at(i) for i in range(len(ml))],
            [ml.get_last_editor_at(i) for i in range(len(ml))])


def _touch_small_reads(mod, d, blob):
    small = d.get_map("small")
    return (small.get("l3").container.get_value(), small.get("t6").container.to_string(),
            small.get("marked").container.get_richtext_value(), d.get_text("notes").to_string())


def _edit(mod, d):
    d.peer_id = 9
    ml = d.get_movable_list("ml")
    ml.mov(1, 4)
    ml.set(0, "nine")
    ml.delete(2, 1)
    small = d.get_map("small")
    small.get("l5").container.insert(0, "nine")
    small.get("t8").container.insert(1, "9")
    small.get("marked").container.insert(9, "!")
    d.get_text("notes").delete(0, 2)
    d.commit()


def _touch_seq_edit(mod, d, blob):
    _edit(mod, d)
    return d.get_deep_value()


def _touch_seq_events(mod, d, blob):
    """A subscriber after the load, then another peer's edits of every sequence kind."""
    other = _load(mod, blob)
    _edit(mod, other)
    update = other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))
    seen = []
    sub = d.subscribe_root(lambda e: seen.append(nev(e)))
    d.import_(update)
    sub.unsubscribe()
    return seen


def _touch_seq_local_events(mod, d, blob):
    seen = []
    sub = d.subscribe_root(lambda e: seen.append(nev(e)))
    _edit(mod, d)
    sub.unsubscribe()
    return seen


def _touch_later_snapshot(mod, d, blob):
    """A snapshot after an edit, read back by loro."""
    _edit(mod, d)
    back = loro.LoroDoc()
    back.import_(d.export(mod.ExportMode.Snapshot()))
    return back.get_deep_value()


SEQ_TOUCHES = [_touch_ml_reads, _touch_small_reads, _touch_seq_edit, _touch_seq_events,
               _touch_seq_local_events, _touch_later_snapshot]


@pytest.mark.parametrize("who", ["loro_c", "loro"])
@pytest.mark.parametrize("touch", SEQ_TOUCHES + TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_first_touch_of_deferred_sequences_sees_the_eager_state(blobs, who, touch):
    lazy = _load(loro_c, blobs[who])
    assert not lazy._state_decoded
    _first_touch_sees_the_eager_state(lazy, blobs[who], touch)


def test_the_later_snapshot_is_the_eager_loads_bytes(blobs):
    got = []
    for eager in (False, True):
        d = _load(loro_c, blobs["loro_c"], eager=eager)
        _edit(loro_c, d)
        got.append(d.export(loro_c.ExportMode.Snapshot()))
    assert got[0] == got[1]


def _entry_keys(blob):
    """The state keys of the movable list, of a child list and of a child text (plain and
    multi-byte), and of the root text."""
    d = loro_c.LoroDoc()
    d.import_(blob)
    small = d.get_map("small")
    ids = [d.get_movable_list("ml").id, small.get("l3").container.id,
           small.get("l5").container.id, small.get("t6").container.id,
           small.get("t2").container.id, d.get_text("notes").id]
    return [cid.to_bytes() for cid in ids]


def _import_checked(data):
    """The import of an edited blob: refused with the document left as it was, or taken;
    taken deferred only when the check passed, and then it reads as the eager decode."""
    ok = _codec._state_section_ok(data)
    d = loro_c.LoroDoc()
    d.get_map("before")
    try:
        d.import_(data)
    except loro_c.LoroError:
        assert not ok
        assert d.get_deep_value() == {"before": {}} and d._state_decoded
        d.get_map("after").insert("k", 1)
        d.commit()
        return "refused"
    if not ok:
        return "eager"
    assert not d._state_decoded
    eager = loro_c.LoroDoc()
    eager.import_(data)
    eager._check_invariants()
    assert d.get_deep_value() == eager.get_deep_value()
    d.get_map("after").insert("k", 1)
    d.commit()
    return "passed"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("which", range(6))
def test_mutated_sequence_entries_pass_the_check_only_when_they_decode(blobs, seed, which):
    """Byte edits of a movable list's, a list's or a text's entry: when the check pass takes
    the section the decoder takes it too, and the deferred document reads as the eager one;
    else the import refuses it (the document left as it was) or loads it eagerly."""
    rng = random.Random(seed * 10 + which)
    blob = blobs["loro_c"]
    entries = _codec._state_section_entries(blob)
    key = _entry_keys(blob)[which]
    k = [i for i, (kk, _) in enumerate(entries) if kk == key][0]
    outcomes = []
    for _ in range(150):
        edited = _mutated_bytes(entries[k][1], rng)
        outcomes.append(_import_checked(
            _with_state(blob, entries[:k] + [(entries[k][0], edited)] + entries[k + 1:])))
    assert "refused" in outcomes


def test_an_entry_naming_another_entrys_id_is_refused(blobs):
    """Two child lists whose states are swapped for copies of one: their ids are named
    twice across the section (the atom index is shared), refused by the check as by the
    decoder."""
    blob = blobs["loro_c"]
    entries = _codec._state_section_entries(blob)
    keys = _entry_keys(blob)
    a = [i for i, (kk, _) in enumerate(entries) if kk == keys[1]][0]
    b = [i for i, (kk, _) in enumerate(entries) if kk == keys[2]][0]
    edited = list(entries)
    edited[b] = (entries[b][0], entries[a][1])
    data = _with_state(blob, edited)
    assert not _codec._state_section_ok(data)
    _expect_error_empty(data)


@pytest.mark.parametrize("cut", [1, 9, 60])
def test_a_truncated_snapshot_of_sequences_is_refused(blobs, cut):
    _expect_error_empty(blobs["loro_c"][:-cut])
