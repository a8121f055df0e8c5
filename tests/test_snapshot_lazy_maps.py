"""A snapshot of maps and counters loaded into an empty document decodes each map's state
the first time that map is read (state/snapshot_load.pxi thin_decode_lazy), as loro decodes
a container's state when it is first touched: a handle taken from the root or from a map
leaves every other map encoded. Whatever touches the document first (a read of one child,
an edit, an import, a checkout, an export, a subscription, a deep read, a path lookup,
undo) must see what a document that decoded its whole state at once sees, and what loro
sees."""
import random

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import loro
import loro_c

from test_snapshot_deferred_state import _records


@pytest.fixture(scope="module")
def blobs():
    ours = _records(loro_c, n=30, seed=3)
    ref = _records(loro, n=30, seed=3)
    return {"loro_c": ours.export(loro_c.ExportMode.Snapshot()),
            "loro": ref.export(loro.ExportMode.Snapshot())}


def _load(mod, blob, eager=False):
    d = mod.LoroDoc()
    d.import_(blob)
    if eager:
        d.get_value()               # (lists the roots, reads no state)
        if mod is loro_c:
            d._check_invariants()   # (decodes every state at once, numbers nothing)
            assert d._state_decoded
    return d


def _plain(v):
    """A value with the ContainerIDs of either library as comparable tuples."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (loro_c.ContainerID, loro.ContainerID)):
        return (getattr(v, "name", None), getattr(v, "peer", None), getattr(v, "counter", None))
    return v


def _child(doc, key):
    got = doc.get_map("users").get(key)
    return None if got is None else got.container


def _peer_update(mod, blob):
    """Updates of another peer, made on top of the snapshot."""
    other = _load(mod, blob)
    other.peer_id = 77
    _child(other, "u4").insert("age", -4)
    other.get_map("users").insert("u5", "gone")
    other.get_map("users").insert_container("new", mod.LoroMap()).insert("k", 1)
    other.get_counter("c").increment(1)
    other.commit()
    return other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))


def _touch_read_one(mod, d, blob):
    return _child(d, "u3").get("name").value


def _touch_read_child_deep(mod, d, blob):
    return _child(d, "u7").get_deep_value()


def _touch_edit_one(mod, d, blob):
    d.peer_id = 9
    _child(d, "u3").insert("name", "edited")
    d.commit()
    return d.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv)) is not None


def _touch_import(mod, d, blob):
    d.import_(_peer_update(mod, blob))
    return _child(d, "u4").get("age").value


def _touch_checkout(mod, d, blob):
    d.checkout(mod.Frontiers.from_id(mod.ID(5, 100)))       # (in the records' history)
    value = d.get_deep_value()
    d.checkout_to_latest()
    return value


def _touch_export_snapshot(mod, d, blob):
    return d.export(mod.ExportMode.Snapshot()) == blob


def _touch_export_updates(mod, d, blob):
    return len(d.export(mod.ExportMode.Updates(mod.VersionVector()))) > 0


def _touch_subscribe_import(mod, d, blob):
    seen = []

    def on_event(e):
        seen.append([(getattr(ev.target, "name", None), getattr(ev.target, "peer", None),
                      getattr(ev.target, "counter", None)) for ev in e.events])

    sub = d.subscribe_root(on_event)
    d.import_(_peer_update(mod, blob))
    sub.unsubscribe()
    return seen


def _touch_deep_value(mod, d, blob):
    return d.get_deep_value()


def _touch_json(mod, d, blob):
    import json
    return len(json.loads(d.export_json_updates(mod.VersionVector(), d.oplog_vv))["changes"])


def _touch_path(mod, d, blob):
    got = d.get_by_str_path("users/u8/age")
    return None if got is None else got.value


def _touch_jsonpath(mod, d, blob):
    return [v.value for v in d.jsonpath("$.users.u6.name")]


def _touch_undo(mod, d, blob):
    d.peer_id = 9
    undo = mod.UndoManager(d)
    _child(d, "u2").insert("age", 222)
    d.commit()
    undo.undo()
    return _child(d, "u2").get("age").value


def _touch_root_shallow(mod, d, blob):
    return sorted(d.get_map("users").keys()), d.get_map("meta").get_value()


TOUCHES = [_touch_read_one, _touch_read_child_deep, _touch_edit_one, _touch_import,
           _touch_checkout, _touch_export_snapshot, _touch_export_updates,
           _touch_subscribe_import, _touch_deep_value, _touch_json, _touch_path,
           _touch_jsonpath, _touch_undo, _touch_root_shallow]


def _after(d):
    """What the document shows after the touch: its value, its versions, its history."""
    return (d.get_deep_value(), d.oplog_vv.to_dict(), d.state_vv.to_dict(),
            len(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())
                         if isinstance(d, loro_c.LoroDoc)
                         else loro.ExportMode.Updates(loro.VersionVector()))))


@pytest.mark.parametrize("who", ["loro_c", "loro"])
@pytest.mark.parametrize("touch", TOUCHES, ids=lambda f: f.__name__[7:])
def test_a_first_touch_sees_the_eager_state(blobs, who, touch):
    blob = blobs[who]
    lazy = _load(loro_c, blob)
    eager = _load(loro_c, blob, eager=True)
    ref = _load(loro, blob)
    got = _plain(touch(loro_c, lazy, blob))
    assert got == _plain(touch(loro_c, eager, blob))
    expect = _plain(touch(loro, ref, blob))
    if not (touch is _touch_export_snapshot and who == "loro_c"):
        # (loro exports a loaded snapshot of its own byte for byte, ours its own way)
        assert got == expect
    assert _after(lazy) == _after(eager)
    assert lazy.get_deep_value() == ref.get_deep_value()
    lazy._check_invariants()


def test_reading_one_child_leaves_the_other_maps_encoded(blobs):
    d = _load(loro_c, blobs["loro_c"])
    assert d._maps_encoded is None          # (nothing read yet: the whole section)
    users = d.get_map("users")
    encoded = d._maps_encoded
    assert encoded > 20
    assert _child(d, "u3").get("name").value == "n\u00e93"
    # the root map answers from its decoded keys and stays encoded; the child, which holds
    # a bytes value (perhaps a mergeable child's marker), is built
    assert d._maps_encoded == encoded - 1
    assert not d._state_decoded
    # the snapshot export is still the blob, the versions are the snapshot's
    assert d.export(loro_c.ExportMode.Snapshot()) == blobs["loro_c"]
    assert users.get_deep_value() == _load(loro, blobs["loro_c"]).get_map("users").get_deep_value()
    assert d._state_decoded
    d._check_invariants()


def test_container_numbering_is_the_eager_loads(blobs):
    """The numbers containers get (they order events as loro's) do not depend on which maps
    were read first."""
    for who in ("loro_c", "loro"):
        lazy = _load(loro_c, blobs[who])
        _child(lazy, "u9")
        _child(lazy, "u3").get("tags")
        eager = _load(loro_c, blobs[who])
        eager.get_map("users")
        eager.get_deep_value()
        _child(eager, "u9")
        _child(eager, "u3")
        lazy.get_deep_value()
        assert lazy._loro_numbers() == eager._loro_numbers()


def test_a_handle_taken_before_the_import(blobs):
    d = loro_c.LoroDoc()
    users = d.get_map("users")
    d.import_(blobs["loro"])
    ref = loro.LoroDoc()
    ref.get_map("users")
    ref.import_(blobs["loro"])
    assert users.get("u3").container.get("age").value == ref.get_map("users").get("u3").container.get("age").value
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


def test_threads_reading_different_children(blobs):
    import threading
    d = _load(loro_c, blobs["loro_c"])
    users = d.get_map("users")
    ref = _load(loro, blobs["loro_c"]).get_map("users").get_deep_value()
    errors = []

    def read(keys):
        try:
            for k in keys:
                got = users.get(k)
                want = ref.get(k)
                if got is None:
                    assert want is None
                elif isinstance(want, dict):
                    assert got.container.get_deep_value() == want
                else:
                    assert got.value == want
        except BaseException as e:      # (reported below)
            errors.append(e)

    keys = [f"u{i}" for i in range(30)]
    threads = [threading.Thread(target=read, args=(keys[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    d._check_invariants()


_STEPS = st.lists(st.tuples(st.sampled_from(["get", "get_value", "edit", "import", "root",
                                             "keys", "export", "deep"]),
                            st.integers(0, 29)), min_size=1, max_size=8)


def _step(mod, d, blob, what, i):
    key = f"u{i}"
    if what == "get":
        got = d.get_map("users").get(key)
        if got is None:
            return None
        return got.container.get("age").value if hasattr(got, "container") else got.value
    if what == "get_value":
        got = d.get_map("users").get(key)
        return got.container.get_value() if got is not None and hasattr(got, "container") else None
    if what == "edit":
        d.peer_id = 9
        got = d.get_map("users").get(key)
        if got is not None and hasattr(got, "container"):
            got.container.insert("age", -i)
        else:
            d.get_map("users").insert(key, i)
        d.commit()
        return None
    if what == "import":
        d.import_(_peer_update(mod, blob))
        return None
    if what == "root":
        return d.get_counter("c").value, d.get_map("meta").get("title").value
    if what == "keys":
        return sorted(d.get_map("users").keys())
    if what == "export":
        return len(d.export(mod.ExportMode.Snapshot())) > 0
    return d.get_deep_value()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, who=st.sampled_from(["loro_c", "loro"]))
def test_random_touches_after_a_load(blobs, steps, who):
    blob = blobs[who]
    d = _load(loro_c, blob)
    ref = _load(loro, blob)
    for what, i in steps:
        assert _plain(_step(loro_c, d, blob, what, i)) == _plain(_step(loro, ref, blob, what, i))
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


@pytest.mark.parametrize("src", ["loro_c", "loro"])
def test_an_import_replays_the_history_without_decoding_the_state_first(src, blobs, monkeypatch):
    """The first import into a loaded document replays the snapshot's history and drops the
    loaded state: that state is not decoded before (it was, map by map, as a deep read
    does), and the document then equals loro's."""
    from loro_c import _codec
    blob = blobs[src]
    decoded = []
    real = _codec.decode_lazy_map
    monkeypatch.setattr(_codec, "decode_lazy_map", lambda *a: decoded.append(1) or real(*a))
    got = _load(loro_c, blob)
    assert not got._state_decoded
    got.import_(_peer_update(loro, blob))
    assert decoded == []
    want = _load(loro, blob)
    want.import_(_peer_update(loro, blob))
    assert _plain(got.get_deep_value()) == _plain(want.get_deep_value())
    got._check_invariants()
