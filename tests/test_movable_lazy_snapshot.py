"""An import's snapshot of a MovableList, kept lazily (state/movable_local.pxi: ml_snap with
`lazy`, MLBefore.olds, MovableState.pointed): the walk over the list items records each
shown item's slot and op position without reading its element; the elements the import
changes are kept by ml_keep_old before they change, and the few an import of a few ops
names are read when its diff asks. When every visible item of the list is shown
(LoroDoc.cshown: no two concurrent moves of one element left an item behind) and the
import is small, nothing is read before it (ML_LAZY_NONE): an item's index then is its
op position now less the items the import showed before it plus those it hid. A server's document (a large list, many small imports,
a subscriber) gets loro's events, every diff is also made from the whole list and compared
(conftest turns the cross-check on: ml_check_small, ml_check_snap), and a rejected import
leaves nothing of its snapshot behind."""
import json
import random

import loro
import pytest

import loro_c
from loro_c import _doc

from _events_util import hub_and_peers
from test_movable_list_import_events import _edit, canonical, normal, raw


def _list_hub(mod, n_items, rng=None, peer_ids=(2, 3)):
    """(base, hub, peers): a document of peer 1 holding a MovableList of `n_items`
    (inserted at random places of `rng`, else pushed), and a subscribed-to-be hub (peer 9)
    and peers loaded from its snapshot."""
    base = mod.LoroDoc()
    base.peer_id = 1
    lst = base.get_movable_list("l")
    for i in range(n_items):
        if rng is None:
            lst.push(i)
        else:
            lst.insert(rng.randint(0, len(lst)), i)
    base.commit()
    hub, peers = hub_and_peers(mod, base.export(mod.ExportMode.Snapshot()), hub_peer=9,
                               peer_ids=peer_ids)
    return base, hub, peers


def _hub_session(mod, seed, n_items=1200, steps=30):
    """[(events of each hub import or checkout (normal form), hub value after)]: two peers
    edit a shared list in small batches, mostly from the hub's latest version, in the
    second half sometimes concurrently (two moves of one element leave a list item no
    element stands on); the hub imports each batch, and now and then edits the list itself
    or checks out an older version and back."""
    rng = random.Random(seed)
    base, hub, peers = _list_hub(mod, n_items, rng)
    log = []
    sub = hub.subscribe_root(lambda e: log.append(normal(e)))
    out = []
    older = hub.state_frontiers
    for step in range(steps):
        p = peers[step % 2]
        if rng.random() < 0.75:
            p.import_(hub.export(mod.ExportMode.Updates(p.oplog_vv)))
        vv = p.oplog_vv
        l = p.get_movable_list("l")
        if step >= steps // 2 and rng.random() < 0.3:
            # (in the second half) both peers move the same element, neither seeing the
            # other's move: the list keeps an item nobody stands on from then on
            q = peers[1 - step % 2]
            q.import_(hub.export(mod.ExportMode.Updates(q.oplog_vv)))
            at = rng.randrange(len(l))
            qvv = q.oplog_vv
            l.mov(at, rng.randrange(len(l)))
            q.get_movable_list("l").mov(at, rng.randrange(len(l)))
            q.commit()
            log.clear()
            hub.import_(q.export(mod.ExportMode.Updates(qvv)))
            out.append(("import", log[:], hub.get_deep_value()))
        for _ in range(rng.randint(1, 5)):
            _edit(rng, mod, l)
        p.commit()
        log.clear()
        hub.import_(p.export(mod.ExportMode.Updates(vv)))
        out.append(("import", log[:], hub.get_deep_value()))
        if mod is loro_c:
            hub._check_invariants()     # (MovableState.pointed among them)
        if step % 10 == 4:
            # the hub's own edit (a local commit keeps the list's view cached)
            hub.get_movable_list("l").mov(0, 1)
            hub.commit()
            older = hub.state_frontiers
        if step % 10 == 8:
            log.clear()
            hub.checkout(older)
            hub.checkout_to_latest()
            out.append(("checkout", log[:], hub.get_deep_value()))
    del sub
    return out


def _snapshot_counts():
    """(small diffs cross-checked, lazy snapshots, snapshots that read nothing, unshown
    items those skipped), as counted so far (the cross-check turned on)."""
    return (_doc._ml_cross_check(True), _doc._ml_lazy_snapshots(),
            _doc._ml_unwalked_snapshots(), _doc._ml_unwalked_unshown_items())


def _grown(before):
    return [now - then for now, then in zip(_snapshot_counts(), before)]


@pytest.mark.parametrize("seed", range(4))
def test_a_hub_of_small_imports_into_a_large_list_gets_loros_events(seed):
    before = _snapshot_counts()
    want = _hub_session(loro, seed)
    got = _hub_session(loro_c, seed)
    # (the small diffs ran on lazy snapshots and agreed with the whole-list diffs; most
    # snapshots read nothing, each checked against a walk of the list)
    compared, lazy, unwalked, _ = _grown(before)
    assert compared > 20 and lazy > 20 and unwalked > 8
    assert len(got) == len(want)
    for k, ((kind, ev_want, value_want), (_, ev_got, value_got)) in enumerate(zip(want, got)):
        assert value_got == value_want, (seed, k)
        assert canonical(ev_got) == canonical(ev_want), (seed, k, kind)
        if kind == "import":
            assert raw(ev_got) == raw(ev_want), (seed, k)


def _relay_edits(mod, src, dst, log, rng):
    """`src` makes a few random edits of its list and commits; `dst` imports them: (its
    events (raw form), its value after)."""
    vv = src.oplog_vv
    for _ in range(rng.randint(1, 4)):
        _edit(rng, mod, src.get_movable_list("l"))
    src.commit()
    log.clear()
    dst.import_(src.export(mod.ExportMode.Updates(vv)))
    return (raw(log), dst.get_deep_value())


def _bad_move_update(receiver, edits_seed):
    """JSON: a change of peer 99 on top of the receiver's version that moves and sets some
    elements, then moves one from a position past the end."""
    p = loro_c.LoroDoc()
    p.peer_id = 99
    p.import_(receiver.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    l = p.get_movable_list("l")
    rng = random.Random(edits_seed)
    for _ in range(3):
        l.mov(rng.randrange(len(l)), rng.randrange(len(l)))
        l.set(rng.randrange(len(l)), -1)
    l.mov(0, 1)
    p.commit()
    upd = json.loads(p.export_json_updates(receiver.oplog_vv, p.oplog_vv))
    (change,) = upd["changes"]
    last = change["ops"][-1]["content"]
    assert last["type"] == "move"
    last["from"] = 1_000_000
    return json.dumps(upd)


def test_a_rejected_import_leaves_no_snapshot_behind():
    # its valid ops moved and set elements (kept by ml_keep_old) before the bad one; the
    # import is undone, and the next imports take snapshots of their own
    docs = {}
    for mod in (loro, loro_c):
        a = mod.LoroDoc()
        a.peer_id = 1
        lst = a.get_movable_list("l")
        for i in range(300):
            lst.insert(i, i)
        a.commit()
        hub = mod.LoroDoc()
        hub.import_(a.export(mod.ExportMode.Snapshot()))
        log = []
        sub = hub.subscribe_root(lambda e, log=log: log.append(normal(e)))
        docs[mod] = (a, hub, log, sub)
    a, hub, log, _ = docs[loro_c]
    lazy = _doc._ml_lazy_snapshots()
    before = hub.get_deep_value()
    frontiers = str(hub.oplog_frontiers)
    for k in range(3):
        with pytest.raises(loro_c.LoroError):
            hub.import_json_updates(_bad_move_update(hub, k))
        assert hub.get_deep_value() == before
        assert str(hub.oplog_frontiers) == frontiers
        assert log == []
    assert _doc._ml_lazy_snapshots() == lazy + 3
    hub._check_invariants()
    # valid updates from peer 1 now give loro's events
    rng = random.Random(5)
    seeds = [rng.randrange(1 << 30) for _ in range(6)]
    got = {}
    for mod, (a, hub, log, _) in docs.items():
        got[mod] = [_relay_edits(mod, a, hub, log, random.Random(s)) for s in seeds]
    assert got[loro_c] == got[loro]


@pytest.mark.parametrize("seed", range(8))
def test_imports_into_a_document_loaded_from_a_snapshot_get_loros_events(seed):
    # (its list's state left encoded until read: nothing is known of it until then)
    unwalked = _doc._ml_unwalked_snapshots()
    out = {}
    for mod in (loro, loro_c):
        rng = random.Random(seed)
        a = mod.LoroDoc()
        a.peer_id = 1
        lst = a.get_movable_list("l")
        for i in range(200):
            lst.insert(rng.randint(0, len(lst)), i)
        a.get_text("t").insert(0, "hello")
        a.commit()
        b = mod.LoroDoc()
        b.import_(a.export(mod.ExportMode.Snapshot()))
        log = []
        sub = b.subscribe_root(lambda e, log=log: log.append(normal(e)))
        out[mod] = [_relay_edits(mod, a, b, log, rng) for _ in range(4)]
        del sub
    assert out[loro_c] == out[loro]
    assert _doc._ml_unwalked_snapshots() > unwalked


def _contested_hub(mod, seed, n_items=600, steps=40):
    """[(events of each hub import, hub value after)]: three peers keep moving the same
    few elements concurrently (each round leaves list items no element stands on, more of
    them than ML_UNP_MAX in some seeds), delete and set elements, and the hub imports
    every peer's batch in turn; now and then the hub edits the list itself."""
    rng = random.Random(seed)
    base, hub, peers = _list_hub(mod, n_items, rng, peer_ids=(2, 3, 4))
    log = []
    sub = hub.subscribe_root(lambda e: log.append(normal(e)))
    out = []
    hot = rng.sample(range(n_items // 2), 4)
    for step in range(steps):
        vvs = []
        for p in peers:
            p.import_(hub.export(mod.ExportMode.Updates(p.oplog_vv)))
            vvs.append(p.oplog_vv)
        for p in peers:
            l = p.get_movable_list("l")
            if rng.random() < 0.6:
                l.mov(rng.choice(hot), rng.randrange(len(l)))
            for _ in range(rng.randint(0, 3)):
                _edit(rng, mod, l)
            p.commit()
        for p, vv in zip(peers, vvs):
            log.clear()
            hub.import_(p.export(mod.ExportMode.Updates(vv)))
            out.append((log[:], hub.get_deep_value()))
            if mod is loro_c:
                hub._check_invariants()     # (every unshown item a listed candidate)
        if step % 7 == 3:
            hub.get_movable_list("l").mov(rng.choice(hot), 0)
            hub.commit()
    del sub
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_list_keeping_items_shown_by_nobody_is_read_without_a_walk(seed):
    """Items that concurrent moves of one element leave behind are listed as they appear
    (MovableState.unp) and skipped by their op positions: the imports after them read
    nothing of the list, and still give loro's events."""
    before = _snapshot_counts()
    want = _contested_hub(loro, seed)
    got = _contested_hub(loro_c, seed)
    compared, _, unwalked, skipped = _grown(before)
    assert compared > 40 and unwalked > 40 and skipped > 40
    assert len(got) == len(want)
    for k, ((ev_want, value_want), (ev_got, value_got)) in enumerate(zip(want, got)):
        assert value_got == value_want, (seed, k)
        assert raw(ev_got) == raw(ev_want), (seed, k)


def _over_the_cap(mod, n_contested):
    """[(events, value)] of a hub importing two peers' concurrent moves of the same
    `n_contested` elements (leaving as many items shown by nobody), then small batches."""
    rng = random.Random(n_contested)
    base, hub, (a, b) = _list_hub(mod, 300)
    log = []
    sub = hub.subscribe_root(lambda e: log.append(normal(e)))
    out = []
    vva, vvb = a.oplog_vv, b.oplog_vv
    for value in rng.sample(range(300), n_contested):
        for p in (a, b):
            l = p.get_movable_list("l")
            l.mov(l.to_vec().index(value), rng.randrange(300))
    for p, vv in ((a, vva), (b, vvb)):
        p.commit()
        log.clear()
        hub.import_(p.export(mod.ExportMode.Updates(vv)))
        out.append((log[:], hub.get_deep_value()))
    for step in range(12):
        a.import_(hub.export(mod.ExportMode.Updates(a.oplog_vv)))
        vv = a.oplog_vv
        _edit(rng, mod, a.get_movable_list("l"))
        a.commit()
        log.clear()
        hub.import_(a.export(mod.ExportMode.Updates(vv)))
        out.append((log[:], hub.get_deep_value()))
        if mod is loro_c:
            hub._check_invariants()
    del sub
    return out


@pytest.mark.parametrize("n_contested", [31, 32, 33, 80])
def test_more_items_shown_by_nobody_than_are_listed_make_imports_walk(n_contested):
    """Past ML_UNP_MAX (32) such items the list is no longer read without a walk (from
    the first import on that finds them, whose walk lists them again when they are few)."""
    _doc._ml_cross_check(True)
    unwalked = _doc._ml_unwalked_snapshots()
    want = _over_the_cap(loro, n_contested)
    got = _over_the_cap(loro_c, n_contested)
    assert [raw(e) for e, _ in got] == [raw(e) for e, _ in want]
    assert [v for _, v in got] == [v for _, v in want]
    walkless = _doc._ml_unwalked_snapshots() - unwalked
    if n_contested <= 32:
        assert walkless >= 12
    else:
        assert walkless <= 1


def test_a_rejected_import_of_contested_moves_leaves_the_listed_items_sound():
    """A hub keeps items shown by nobody; an import whose valid ops move the same elements
    concurrently (adding candidates, and items that its undo takes away again) is rejected
    at its last op; the next imports still read the list without a walk and give loro's
    events."""
    docs = {}
    for mod in (loro, loro_c):
        base, hub, (a, b) = _list_hub(mod, 300)
        log = []
        sub = hub.subscribe_root(lambda e, log=log: log.append(normal(e)))
        for p in (a, b):
            for at in (3, 50, 120):
                p.get_movable_list("l").mov(at, at + 7)
            p.commit()
            hub.import_(p.export(mod.ExportMode.Updates(base.oplog_vv)))
        docs[mod] = (base, hub, a, log, sub)
    base, hub, a, log, _ = docs[loro_c]
    before = hub.get_deep_value()
    log.clear()
    p = loro_c.LoroDoc()
    p.peer_id = 99
    p.import_(base.export(loro_c.ExportMode.Snapshot()))
    for at in (3, 50, 120, 200):
        p.get_movable_list("l").mov(at, at + 11)
    p.commit()
    upd = json.loads(p.export_json_updates(base.oplog_vv, p.oplog_vv))
    upd["changes"][0]["ops"][-1]["content"]["from"] = 1_000_000
    for _ in range(2):
        with pytest.raises(loro_c.LoroError):
            hub.import_json_updates(json.dumps(upd))
        assert hub.get_deep_value() == before
        assert log == []
        hub._check_invariants()
    unwalked = _doc._ml_unwalked_snapshots()
    rng = random.Random(11)
    seeds = [rng.randrange(1 << 30) for _ in range(8)]
    got = {}
    for mod, (base, hub, a, log, _) in docs.items():
        a.import_(hub.export(mod.ExportMode.Updates(a.oplog_vv)))
        got[mod] = [_relay_edits(mod, a, hub, log, random.Random(s)) for s in seeds]
    assert got[loro_c] == got[loro]
    assert _doc._ml_unwalked_snapshots() >= unwalked + 7
    docs[loro_c][1]._check_invariants()
