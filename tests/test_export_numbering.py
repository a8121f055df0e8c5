"""An export parses the change blocks a loaded snapshot keeps encoded, and so numbers the
containers their ops name (a dead child the load left waiting) as loro's arena does; a
batch of a snapshot and updates it already holds parses none of them.

The numbers show in the order of an event's diffs of equal depth (loro's hash map keyed by
the container index): here a doc restarted from a snapshot whose history holds a dead child
exports (or not) before a local edit creates a container, then imports a concurrent change
on two roots (plain differential session 6142)."""

import loro
import pytest

import loro_c
from loro_c import _codec


def _name(cid):
    return cid.name if hasattr(cid, "name") else f"{cid.peer}:{cid.counter}"


def _touch(doc, kind, name):
    if kind == "Counter":
        doc.get_counter(name).increment(1)
    elif kind == "Text":
        doc.get_text(name).insert(0, "x")
    else:
        doc.get_map(name).insert("q", 1)


def _as_loro(session, *args):
    """loro's events of `session`, after checking that loro_c's are the same."""
    want = session(loro, *args)
    assert session(loro_c, *args) == want
    return want


def _targets(second, read):
    """The one event's order: the root list first unless the dead child was read (so the
    case shows the numbering)."""
    return [[second[1], "a"] if read else ["a", second[1]]]


def _history_with_a_dead_child(mod):
    """Peer 1's block holds a dead child counter (0@1); the snapshot's only frontier is
    peer 2's, so loading it leaves peer 1's block encoded."""
    a = mod.LoroDoc()
    a.peer_id = 1
    lst = a.get_list("l")
    lst.insert_container(0, mod.LoroCounter())     # 0@1: dead child, peer 1's only block
    lst.delete(0, 1)
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_map("m").insert("x", 1)
    b.commit()
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_map("m").insert("y", 2)                   # the only frontier: peer 2's
    b.commit()
    return b


def _restarted(mod):
    """Peer 3, a new document whose root subscriber lists each event's targets."""
    d = mod.LoroDoc()
    d.peer_id = 3
    got = []
    sub = d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events]))
    return d, got, sub


def _concurrent(mod, snap, second, delivery, since):
    """Peer 4 from `snap`: an insert into the root list 'a', then a change on `second`; its
    updates since `since` whole, or the later change first (it waits for the earlier one)
    and, "repeated", the earlier one again."""
    e = mod.LoroDoc()
    e.peer_id = 4
    e.import_(snap)
    e.get_list("a").insert(0, 1)
    e.commit()
    _touch(e, second[0], second[1])
    e.commit()
    if delivery == "whole":
        return [e.export(mod.ExportMode.Updates(since))]
    blobs = [e.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(4, mod.CounterSpan(1, 2))])),
             e.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(4, mod.CounterSpan(0, 1))]))]
    if delivery == "repeated":
        blobs.append(blobs[1])
    return blobs


def _edit_then_import(mod, d, got, sub, snap, second, delivery, since):
    """Peer 3 makes a list in map 'm' (a container numbered after what waits), then takes
    peer 4's concurrent edits since `since` (None: its own version): that import's events."""
    d.get_map("m").insert_container("k", mod.LoroList())
    d.commit()
    blobs = _concurrent(mod, snap, second, delivery, d.oplog_vv if since is None else since)
    got.clear()
    for blob in blobs:
        d.import_(blob)
    del sub
    return got


def _session(mod, export, second, delivery):
    b = _history_with_a_dead_child(mod)
    snap = b.export(mod.ExportMode.Snapshot())
    d, got, sub = _restarted(mod)
    d.import_(snap)
    if export == "updates":
        d.export(mod.ExportMode.Updates(mod.VersionVector()))
    elif export == "range":
        d.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(1, mod.CounterSpan(1, 2))]))
    elif export == "json":
        d.export_json_updates(mod.VersionVector(), d.oplog_vv)
    elif export == "json span":
        d.export_json_in_id_span(mod.IdSpan(1, mod.CounterSpan(0, 1)))
    elif export == "snapshot":
        d.export(mod.ExportMode.Snapshot())     # (copies the blocks as they are)
    elif export == "peer 2 only":
        # peer 1's block is not read: the dead child waits
        vv = mod.VersionVector()
        vv.set_end(mod.ID(1, 3))
        d.export(mod.ExportMode.Updates(vv))
    return _edit_then_import(mod, d, got, sub, snap, second, delivery, None)


@pytest.mark.parametrize("delivery", ["whole", "out of order", "repeated"])
@pytest.mark.parametrize("second", [("Counter", "c"), ("Text", "t"), ("Map", "b")])
@pytest.mark.parametrize("export", [None, "updates", "range", "json", "json span", "snapshot",
                                    "peer 2 only"])
def test_an_export_numbers_the_dead_children_of_the_blocks_it_reads(export, second, delivery):
    want = _as_loro(_session, export, second, delivery)
    if delivery == "whole":
        assert want == _targets(second, export in ("updates", "range", "json", "json span"))


def _batch(mod, extra, second, delivery):
    b = _history_with_a_dead_child(mod)
    snap = b.export(mod.ExportMode.Snapshot())
    at = b.oplog_vv
    if extra == "own updates":
        blobs = [snap, b.export(mod.ExportMode.Updates(mod.VersionVector()))]
    elif extra == "peer 1's range":
        blobs = [snap, b.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(1, mod.CounterSpan(0, 3))]))]
    else:
        # a change past the snapshot: loro moves to the latest version, parsing the blocks
        b.get_map("m").insert("z", 3)
        b.commit()
        blobs = [snap, b.export(mod.ExportMode.Updates(at if extra == "past it" else mod.VersionVector()))]
    d, got, sub = _restarted(mod)
    d.import_batch(blobs)
    return _edit_then_import(mod, d, got, sub, snap, second, delivery, at)


@pytest.mark.parametrize("delivery", ["whole", "out of order", "repeated"])
@pytest.mark.parametrize("second", [("Counter", "c"), ("Text", "t"), ("Map", "b")])
@pytest.mark.parametrize("extra", ["own updates", "peer 1's range", "past it", "all and past it"])
def test_a_batch_with_nothing_past_its_snapshot_leaves_the_dead_children_waiting(extra, second,
                                                                               delivery):
    want = _as_loro(_batch, extra, second, delivery)
    if delivery == "whole":
        assert want == _targets(second, extra in ("past it", "all and past it"))


def _checkout(mod, target, second):
    b = _history_with_a_dead_child(mod)
    b.get_map("m").insert("z", 3)
    b.commit()
    snap = b.export(mod.ExportMode.Snapshot())
    at = b.oplog_vv
    d, got, sub = _restarted(mod)
    d.import_(snap)
    if target == "its own version":
        d.checkout(d.oplog_frontiers)
    elif target == "an earlier version":
        # (a walk of peer 2's last change only: loro parses every block all the same)
        d.checkout(mod.Frontiers.from_ids([mod.ID(2, 1)]))
    d.checkout_to_latest()
    d.get_map("m").insert_container("k", mod.LoroList())
    d.commit()
    e = mod.LoroDoc()
    e.peer_id = 4
    e.import_(snap)
    e.get_list("a").insert(0, 1)
    _touch(e, second[0], second[1])
    e.commit()
    got.clear()
    d.import_(e.export(mod.ExportMode.Updates(at)))
    del sub
    return got


@pytest.mark.parametrize("second", [("Counter", "c"), ("Text", "t"), ("Map", "b")])
@pytest.mark.parametrize("target", [None, "its own version", "an earlier version"])
def test_a_checkout_to_the_version_shown_parses_no_block(target, second):
    want = _as_loro(_checkout, target, second)
    assert want == _targets(second, target == "an earlier version")


def _look_up(mod, d, how, cid):
    if how == "has_container":
        d.has_container(cid)
    elif how == "get_container":
        d.get_container(cid)
    elif how == "get_path_to_container":
        d.get_path_to_container(cid)
    elif how == "try_get":
        getattr(d, "try_get_" + str(cid.container_type).lower())(cid)
    else:
        getattr(d, "get_" + str(cid.container_type).lower())(cid)


# (kind, peer, counter) asked for, and whether loro reads peer 1's block for it
LOOKED_UP = {
    "the dead child": (("Counter", 1, 0), True),
    "another kind at its id": (("Map", 1, 0), True),
    "the id of an op creating none": (("Text", 1, 2), True),
    "an id past the peer's changes": (("Map", 1, 3), False),
    "an id of the frontier's peer": (("Counter", 2, 0), False),
    "an unknown peer": (("Counter", 7, 0), False),
}


def _lookup_session(mod, how, target, second, delivery):
    (kind, peer, counter), _ = LOOKED_UP[target]
    b = _history_with_a_dead_child(mod)
    snap = b.export(mod.ExportMode.Snapshot())
    d, got, sub = _restarted(mod)
    d.import_(snap)
    _look_up(mod, d, how, mod.ContainerID.Normal(peer, counter, getattr(mod.ContainerType, kind)()))
    return _edit_then_import(mod, d, got, sub, snap, second, delivery, None)


@pytest.mark.parametrize("delivery", ["whole", "out of order"])
@pytest.mark.parametrize("second", [("Counter", "c"), ("Text", "t"), ("Map", "b")])
@pytest.mark.parametrize("how, target", [
    (how, target) for how in ("has_container", "get_container", "get_path_to_container", "try_get")
    for target in LOOKED_UP] + [("get by kind", "the dead child")])
def test_a_lookup_of_a_container_by_id_reads_the_block_holding_that_id(how, target, second,
                                                                       delivery):
    """loro's has_container (which get_container, get_path_to_container and the getters by
    id ask first) of a child container its arena has not registered and its state store
    does not hold looks for its id in the history: that parses the change block holding
    the id, whatever the kind asked, and so numbers the dead child the load left waiting
    there (kinds differential session 2913: a handle of a dead list, whose edit loro then
    refused, before a commit created a container). An id no change of the log holds
    parses nothing."""
    want = _as_loro(_lookup_session, how, target, second, delivery)
    if delivery == "whole":
        assert want == _targets(second, LOOKED_UP[target][1])


def _path_then_snapshot(mod, peer_counter):
    b = _history_with_a_dead_child(mod)
    d, _, sub = _restarted(mod)
    d.import_(b.export(mod.ExportMode.Snapshot()))
    d.get_path_to_container(mod.ContainerID.Normal(*peer_counter, mod.ContainerType.Counter()))
    del sub
    return sorted(str(c) for c in _codec.snapshot_state_containers(d.export(mod.ExportMode.Snapshot())))


@pytest.mark.parametrize("peer_counter", [(1, 0), (1, 1)])
def test_a_path_to_a_dead_child_gives_it_a_store_entry(peer_counter):
    """get_path_to_container of a container loro's arena had not registered registers it
    with an entry in the state store (ensure_container): a snapshot exported since holds
    the dead child (a lookup of another id of its block only parses it)."""
    want = _as_loro(_path_then_snapshot, peer_counter)
    assert ("cid:0@1:Counter" in want) == (peer_counter == (1, 0))

def _joined_block(mod, order, tail, dead, split):
    """Peer 1 makes and deletes `dead` child lists of root list 'l', then inserts one more
    (in the same change, or, `split`, in a change of its own); peer 3 takes all but that
    last op and writes map 'm': its snapshot's only frontier is its own, so a load leaves
    peer 1's block encoded, its dead children waiting. A new document loads it, takes the
    last op (`tail`: it joins peer 1's block) and then peer 5's edits of the roots 't', 'c'
    and 'm' (in `order`): that import's event."""
    a = mod.LoroDoc()
    a.peer_id = 1
    lst = a.get_list("l")
    for _ in range(dead):
        lst.insert_container(0, mod.LoroList())
        lst.delete(0, 1)
    if split:
        a.commit()
    lst.insert_container(0, mod.LoroList())
    a.commit()
    n = a.oplog_vv.get_last(1) + 1
    p = mod.LoroDoc()
    p.peer_id = 3
    p.import_(a.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(1, mod.CounterSpan(0, n - 1))])))
    p.get_map("m").insert("x", 2.5)
    p.commit()
    snap = p.export(mod.ExportMode.Snapshot())
    d, got, sub = _restarted(mod)
    sub2 = d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()), lambda e: None)
    d.import_(snap)
    if tail:
        d.import_(a.export(mod.ExportMode.UpdatesInRange([mod.IdSpan(1, mod.CounterSpan(n - 1, n))])))
    e = mod.LoroDoc()
    e.peer_id = 5
    e.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    e.import_(p.export(mod.ExportMode.Updates(mod.VersionVector())))
    for step in order:
        if step == "t":
            e.get_text("t").insert(0, "x")
        elif step == "c":
            e.get_counter("c").increment(2)
        else:
            e.get_map("m").insert("y", 1)
        e.commit()
    got.clear()
    d.import_(e.export(mod.ExportMode.Updates(d.oplog_vv)))
    del sub, sub2
    return got


# A change that joins a peer's block (here the rest of a change the snapshot held in part,
# or the peer's next change) makes loro's change store parse that block, which registers
# the dead children a snapshot load left waiting there: they come before the containers
# the later import names (plain session 7993: root 'c' before 'm' and 't' until then). A
# change that does not come leaves them waiting. The 8 cases with the tail whose import
# writes 't' or 'c' first failed before (none without the tail).
@pytest.mark.parametrize("order", ["tcm", "tmc", "ctm", "cmt", "mtc", "mct"])
@pytest.mark.parametrize("tail", [True, False])
@pytest.mark.parametrize("split", [False, True])
def test_a_change_joining_a_loaded_block_numbers_its_dead_children(order, tail, split):
    for dead in (1, 2, 3):
        _as_loro(_joined_block, order, tail, dead, split)
