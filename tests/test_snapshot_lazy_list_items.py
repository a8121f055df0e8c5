"""After a snapshot load, a List's and a MovableList's reads of their own items (`len`,
`l[i]`, `get`, slices, `to_vec`, `get_value`, `get_deep_value`; a movable list's creators,
movers, editors and cursors) read the lists' states alone: the maps beside them stay
encoded, and the child maps their items name stay encoded and unregistered until something
names them (state/snapshot_load.pxi thin_list_kids; loro likewise reads a container's state
when it is first touched). What they answer, and what the document does afterwards (edits,
imports, exports, checkouts), must be what a document that decoded everything first
shows, and what loro shows. A child a list names that the state does not list gets the
same number, handle and value either way."""
import struct

import pytest

import loro
import loro_c
from loro_c import _codec

from test_snapshot_state_load import _with_state
from test_snapshot_lazy_maps import _after, _plain
from test_snapshot_lazy_lists import _first_touch_sees_the_eager_state, _load


def _lists(mod, n):
    """A root list and a root movable list of `n` items each (records, some holding a map
    or a counter, and plain values), edited by two peers, beside a root map of records."""
    doc = mod.LoroDoc()
    doc.peer_id = 3
    lst = doc.get_list("l")
    ml = doc.get_movable_list("ml")
    side = doc.get_map("side")
    for i in range(n):
        for target in (lst, ml):
            if i % 6 == 5:
                target.push(f"v{i}")
                continue
            rec = target.push_container(mod.LoroMap())
            rec.insert("a", i)
            if i % 7 == 1:
                rec.insert_container("sub", mod.LoroMap()).insert("x", i)
            if i % 9 == 2:
                rec.insert_container("hits", mod.LoroCounter()).increment(i)
        side.insert_container(f"k{i % 10}", mod.LoroMap()).insert("b", i)
    doc.commit()
    ml.mov(0, 5)
    ml.set(2, "set by three")
    ml.delete(8, 1)
    lst.delete(4, 1)
    doc.commit()
    other = mod.LoroDoc()
    other.peer_id = 8
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    oml = other.get_movable_list("ml")
    oml.mov(3, 0)
    oml.set_container(4, mod.LoroMap()).insert("a", "set by eight")
    oml.insert(1, [1, {"z": None}])
    oml.delete(10, 2)
    other.get_list("l").insert_container(2, mod.LoroMap()).insert("a", "eight")
    other.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc


@pytest.fixture(scope="module", params=[12, 90])
def blobs(request):
    n = request.param
    return {"n": n, **{mod.__name__: _lists(mod, n).export(mod.ExportMode.Snapshot())
                       for mod in (loro_c, loro)}}


def _item(v):
    """A list item as a comparable value: a plain value, or a container's kind and id."""
    if v is None:
        return None
    if hasattr(v, "container"):
        c = v.container
        return ("container", type(c).__name__, _plain(c.id))
    return ("value", _plain(v.value))


def _positions(n):
    return (0, 1, 3, 5, n // 2, n - 1, n, n + 3)


def _touch_items(mod, d, blob):
    out = []
    for name in ("l", "ml"):
        h = d.get_list(name) if name == "l" else d.get_movable_list(name)
        n = len(h)
        out += [n, h.is_empty()]
        for i in _positions(n):
            out.append(_item(h.get(i)))
            try:
                out.append(_item(h[i]))
            except IndexError:
                out.append("IndexError")
    return out


def _touch_values(mod, d, blob):
    lst, ml = d.get_list("l"), d.get_movable_list("ml")
    return lst.to_vec(), lst.get_value(), ml.to_vec(), ml.get_value()


def _touch_slices(mod, d, blob):
    lst, ml = d.get_list("l"), d.get_movable_list("ml")
    return [[_item(v) for v in h[s]] for h in (lst, ml)
            for s in (slice(3, 8), slice(None, None, 7), slice(-4, None), slice(None, None, -5))]


def _touch_deep(mod, d, blob):
    return d.get_list("l").get_deep_value(), d.get_movable_list("ml").get_deep_value()


def _touch_child(mod, d, blob):
    """One child map of each list read, then edited."""
    out = []
    for h in (d.get_list("l"), d.get_movable_list("ml")):
        for i in range(len(h)):
            got = h[i]
            if hasattr(got, "container") and isinstance(got.container, mod.LoroMap):
                out.append((i, got.container.get_value(), got.container.get_deep_value()))
                break
    d.peer_id = 11
    d.get_movable_list("ml")[0].container.insert("a", "edited") if hasattr(
        d.get_movable_list("ml")[0], "container") else d.get_movable_list("ml").set(0, "e")
    d.commit()
    return out, d.get_deep_value()


def _touch_peers(mod, d, blob):
    ml = d.get_movable_list("ml")
    return [(ml.get_creator_at(i), ml.get_last_mover_at(i), ml.get_last_editor_at(i))
            for i in range(len(ml) + 2)]


def _cursor(c):
    return None if c is None else (None if c.id is None else (c.id.peer, c.id.counter),
                                   str(c.side), _plain(c.container))


def _touch_cursors(mod, d, blob):
    ml = d.get_movable_list("ml")
    n = len(ml)
    out = []
    for i in (0, 2, n - 1, n, n + 4):
        for side in (mod.Side.Left, mod.Side.Middle, mod.Side.Right):
            out.append(_cursor(ml.get_cursor(i, side)))
    return out


def _touch_list_cursors(mod, d, blob):
    lst = d.get_list("l")
    n = len(lst)
    out = [_cursor(lst.get_cursor(i, side)) for i in (0, 2, n - 1, n, n + 4)
           for side in (mod.Side.Left, mod.Side.Middle, mod.Side.Right)]
    ids = [lst.get_id_at(i) for i in (0, 1, 4, n - 1, n, n + 2)]
    return out, [None if i is None else (i.peer, i.counter) for i in ids]


def _touch_cursor_pos(mod, d, blob):
    ml = d.get_movable_list("ml")
    cursors = [ml.get_cursor(i, side) for i in (0, 3, len(ml) - 1, len(ml))
               for side in (mod.Side.Left, mod.Side.Right)]
    pos = [_pos(d, c) for c in cursors]
    d.peer_id = 14
    ml.mov(0, 2)
    ml.delete(3, 1)
    d.commit()
    return pos, [_pos(d, c) for c in cursors]


def _pos(d, c):
    try:
        return d.get_cursor_pos(c).current.pos
    except BaseException as e:      # (loro raises a BaseException here)
        if not isinstance(e, Exception) and "Cannot find relative position" not in str(e):
            raise
        return "not found"      # (its item moved away: loro does not find it either)


def _touch_read_then_edit(mod, d, blob):
    """Item reads, then edits of both lists (the history loads), an import from another
    peer, a checkout there and back, and a snapshot of the result."""
    lst, ml = d.get_list("l"), d.get_movable_list("ml")
    seen = [_item(lst[5]), _item(ml.get(5)), len(ml), ml.get_creator_at(3), _item(ml[1:3][0])]
    d.peer_id = 12
    ml.mov(1, 4)
    ml.set(0, "set by twelve")
    ml.insert_container(2, mod.LoroMap()).insert("a", "new")
    lst.insert_container(1, mod.LoroMap()).insert("a", "new")
    lst.delete(6, 1)
    d.commit()
    other = mod.LoroDoc()
    other.import_(blob)
    other.peer_id = 13
    other.get_movable_list("ml").mov(0, 3)
    other.get_list("l").push("thirteen")
    other.commit()
    d.import_(other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv)))
    fr = d.oplog_frontiers
    d.checkout(mod.Frontiers.from_id(mod.ID(8, 0)))
    back = d.get_deep_value()
    d.checkout(fr)
    d.checkout_to_latest()
    again = mod.LoroDoc()
    again.import_(d.export(mod.ExportMode.Snapshot()))
    return seen, back, d.get_deep_value(), again.get_deep_value(), _touch_peers(mod, d, blob)


ITEM_TOUCHES = [_touch_items, _touch_values, _touch_slices, _touch_deep, _touch_child,
                _touch_peers, _touch_cursors, _touch_list_cursors,
                _touch_cursor_pos, _touch_read_then_edit]


@pytest.mark.parametrize("who", ["loro_c", "loro"])
@pytest.mark.parametrize("touch", ITEM_TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_first_list_read_sees_the_eager_state(blobs, who, touch):
    blob = blobs[who]
    lazy = _load(loro_c, blob)
    assert not lazy._state_decoded
    _first_touch_sees_the_eager_state(lazy, blob, touch)


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_list_reads_decode_and_register_no_other_map(blobs, who):
    """The reads of a list's items read its state and register the children they name,
    nothing else: every other map stays encoded (and its children unregistered)."""
    blob = blobs[who]
    d = _load(loro_c, blob)
    lst, ml = d.get_list("l"), d.get_movable_list("ml")
    encoded = d._maps_encoded
    unregistered = d._maps_unregistered
    assert unregistered > 0         # (the lists' children too: registered when named)
    named = set()
    for h in (lst, ml):
        for got in (h[5], h.get(3), h[len(h) - 1], *h[1:3]):
            if hasattr(got, "container"):
                named.add(got.container.id)
        len(h), h.is_empty(), h.to_vec(), h.get_value()
    ml.get_creator_at(2), ml.get_last_mover_at(2), ml.get_last_editor_at(2)
    ml.get_cursor(2, loro_c.Side.Left)
    lst.get_cursor(2, loro_c.Side.Left), lst.get_id_at(3)
    assert d._maps_encoded == encoded
    assert d._maps_unregistered == unregistered - len(
        [c for c in named if "Map" in str(c.container_type)])
    assert not d._state_decoded and not d._history_loaded
    d._check_invariants()
    ref = _load(loro, blob)
    assert d.get_deep_value() == ref.get_deep_value()


def test_reads_before_and_after_the_history_agree(blobs):
    """The same reads on a loaded document before and after its history loads (an edit
    elsewhere)."""
    blob = blobs["loro"]
    d = _load(loro_c, blob)
    before = [_plain(_touch_items(loro_c, d, blob)), _plain(_touch_peers(loro_c, d, blob)),
              _plain(_touch_cursors(loro_c, d, blob)), _plain(_touch_values(loro_c, d, blob)),
              _plain(_touch_list_cursors(loro_c, d, blob))]
    d.get_map("elsewhere").insert("k", 1)       # (loads the history; the lists unchanged)
    assert d._history_loaded
    after = [_plain(_touch_items(loro_c, d, blob)), _plain(_touch_peers(loro_c, d, blob)),
             _plain(_touch_cursors(loro_c, d, blob)), _plain(_touch_values(loro_c, d, blob)),
              _plain(_touch_list_cursors(loro_c, d, blob))]
    assert before == after


def _without_one_child(blob, which):
    """`blob` with the state entry of the child map at item `which` of the root list
    dropped (a state that names a child it does not list: loro then shows it empty)."""
    d = _load(loro, blob)
    cid = d.get_list("l")[which].container.id
    entries = _codec._state_section_entries(blob)
    left = [e for e in entries if not _names(e[0], cid)]
    assert len(left) == len(entries) - 1
    return _with_state(blob, left)


def _names(key, cid):
    """Whether state key `key` is child map `cid`'s: its kind byte, peer and counter."""
    return (len(key) == 13 and key[0] == 0 and struct.unpack("<Q", key[1:9])[0] == cid.peer
            and struct.unpack("<i", key[9:13])[0] == cid.counter)


@pytest.fixture(scope="module")
def unlisted(blobs):
    blob = blobs["loro"]
    return _without_one_child(blob, 0), _without_one_child(blob, 6)


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("touch", ITEM_TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_child_the_state_does_not_list(unlisted, which, touch):
    """A child map a list names but the state leaves out is registered when read, numbered
    as the eager load numbers it, and reads as loro reads it (empty: loro reads the state;
    once the history loads, which loro never does, the history's keys win)."""
    blob = unlisted[which]
    assert _codec._state_section_ok(blob)
    lazy = _load(loro_c, blob)
    assert not lazy._state_decoded
    eager = _load(loro_c, blob, eager=True)
    got = _plain(touch(loro_c, lazy, blob))
    assert got == _plain(touch(loro_c, eager, blob))
    if touch not in (_touch_child, _touch_read_then_edit, _touch_cursor_pos):
        assert not lazy._history_loaded
        assert got == _plain(touch(loro, _load(loro, blob), blob))
        assert lazy.get_deep_value() == eager.get_deep_value() == _load(loro, blob).get_deep_value()
    assert lazy._loro_numbers() == eager._loro_numbers()
    assert _after(lazy) == _after(eager)
    lazy._check_invariants()


def _reach(d, pos, cid, how):
    if how == "item":
        return d.get_list("l")[pos].container
    if how == "id":
        return d.get_container(cid)         # (loads the history)
    if how == "deep":
        d.get_list("l").get_deep_value()
        return d.get_list("l").get(pos).container
    if how == "ml":
        d.get_movable_list("ml").get(3)
        d.get_movable_list("ml")[2:5]
        return d.get_list("l")[pos:pos + 1][0].container
    return d.get_list("l")[pos:pos + 1][0].container


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("how", ["item", "id", "deep", "ml", "slice"])
def test_an_unlisted_child_is_the_same_container_however_reached(unlisted, which, how):
    blob = unlisted[which]
    pos = (0, 6)[which]
    ref = _load(loro, blob)
    got = ref.get_list("l")[pos].container.id
    cid = loro_c.ContainerID.Normal(got.peer, got.counter, loro_c.ContainerType.Map())
    d = _load(loro_c, blob)
    eager = _load(loro_c, blob, eager=True)
    h = _reach(d, pos, cid, how)
    e = _reach(eager, pos, cid, how)
    assert h == d.get_list("l")[pos].container == d.get_list("l").get(pos).container
    assert hash(h) == hash(d.get_list("l")[pos].container)
    assert h.id == e.id == cid
    assert h.get_value() == e.get_value()
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()
    assert d.get_deep_value() == eager.get_deep_value()
    if not d._history_loaded:
        assert h.get_value() == {}
        assert d.get_deep_value() == ref.get_deep_value()
    assert h == d.get_container(cid)
    for doc in (d, eager):
        doc.peer_id = 21
        doc.get_list("l")[pos].container.insert("b", "now")     # (the history loads)
        doc.commit()
    assert d.get_deep_value() == eager.get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    assert _after(d) == _after(eager)
