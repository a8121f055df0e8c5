"""MovableList events of imports against loro 1.17.1's: seeded three-peer sessions (insert,
push, delete, mov, set, some child maps), each commit exported on its own and delivered to
the other peers in random orders and subsets. After every import the root subscriber's
events must equal loro's in canonical form (the items of each list diff with adjacent ones
of a kind merged, a gap's inserts before its deletes, is_move kept; a diff of retains only
changes nothing and is left out), and item by item: loro's split of a delta into items
follows the order it composes the element changes in (its diff calculator's hash map of
elements), which loro_c.ml_event_split replays (all 1,917 imports of these 60 sessions
split as loro's; 23 did not when that map was taken for a table sized for every element
the list ever had, e.g. seed 4, import 32: loro [retain 3, delete 1, insert 2 values],
loro_c [retain 3, insert 2 values, delete 1]; 121 before the replay). Replaying loro_c's
events on a mirror must give the document's value."""
import random

import loro
import pytest

import loro_c

import _events_util as eu
from _events_util import apply_event, shown

SESSIONS = 60


@pytest.fixture(autouse=True)
def _cross_check():
    # every small import's diff (read element by element, state/movable_local.pxi
    # ml_changes_small) is also made from the whole list and the two compared
    from loro_c import _doc
    before = _doc._ml_cross_check(True)
    yield
    assert _doc._ml_cross_check(True) > before     # (left on: conftest turns it on for every test)


def _list_items(df, targets):
    out = []
    for x in df.diff:
        k = type(x).__name__
        if "Retain" in k:
            out.append(("r", x.retain))
        elif "Insert" in k:
            out.append(("i", [_moved(v, targets) if x.is_move else eu.nval(v) for v in x.insert],
                        bool(x.is_move)))
        else:
            out.append(("d", x.delete))
    return out


def _moved(v, targets):
    """A moved child container as a mirror takes it: with the content it keeps."""
    n = eu.nval(v)
    if n[0] == "C" and n[1] not in targets:
        return ("V", v.container.get_deep_value())
    return n


def normal(e):
    targets = {eu.ncid(c.target) for c in e.events}
    return [(eu.ncid(c.target), [(eu.ncid(p.container), eu.nindex(p.index)) for p in c.path],
             ("List", _list_items(c.diff, targets)) if "List" in type(c.diff).__name__
             else eu.ndiff(c.diff)) for c in e.events]


def raw(events):
    """The events as they are, but for list diffs of retains only."""
    return [rows for rows in ([r for r in ev if not (r[2][0] == "List" and all(
        x[0] == "r" for x in r[2][1]))] for ev in events) if rows]


def canonical(events):
    out = []
    for ev in events:
        rows = []
        for target, path, (kind, items) in ev:
            if kind == "List":
                items = eu.canonical("List", items)
                if not items:
                    continue
            rows.append((target, path, (kind, items)))
        if rows:
            out.append(rows)
    return out


def _edit(rng, mod, l):
    n = len(l)
    r = rng.random()
    if n == 0 or r < 0.3:
        p = rng.randint(0, n)
        if rng.random() < 0.08:
            c = l.insert_container(p, mod.LoroMap())
            c.insert("x", rng.randint(0, 9))
        elif rng.random() < 0.3:
            l.push(rng.randint(0, 99))
        else:
            l.insert(p, rng.randint(0, 99))
    elif r < 0.42:
        p = rng.randrange(n)
        l.delete(p, rng.randint(1, min(3, n - p)))
    elif r < 0.75:
        l.mov(rng.randrange(n), rng.randrange(n))
    else:
        l.set(rng.randrange(n), rng.randint(100, 199))


def run_session(mod, seed, steps=40, peers=3):
    """[(events of the import (normal form), value after)] for every import."""
    rng = random.Random(seed)
    docs, logs, subs, mirrors = [], [], [], []
    for i in range(peers):
        d = mod.LoroDoc()
        d.peer_id = i + 1
        log, mirror = [], {}

        def on_event(e, log=log, mirror=mirror):
            log.append(normal(e))
            if mod is loro_c:
                targets = {eu.ncid(c.target) for c in e.events}
                apply_event(mirror, (None, None, None, [
                    (eu.ncid(c.target), [(eu.ncid(p.container), eu.nindex(p.index)) for p in c.path],
                     c.is_unknown, ("List", [(x[0], x[1]) if x[0] == "i" else x
                                             for x in _list_items(c.diff, targets)])
                     if "List" in type(c.diff).__name__ else eu.ndiff(c.diff))
                    for c in e.events]))
        subs.append(d.subscribe_root(on_event))
        docs.append(d)
        logs.append(log)
        mirrors.append(mirror)
    blobs, got, trace = [], [set() for _ in docs], []
    for _ in range(steps):
        p = rng.randrange(peers)
        d = docs[p]
        if rng.random() < 0.55:
            vv = d.oplog_vv
            for _ in range(rng.randint(1, 3)):
                _edit(rng, mod, d.get_movable_list("l"))
            d.commit()
            got[p].add(len(blobs))
            blobs.append(d.export(mod.ExportMode.Updates(vv)))
        else:
            todo = [i for i in range(len(blobs)) if i not in got[p]]
            rng.shuffle(todo)
            for i in todo[:rng.randint(1, max(1, len(todo)))]:
                logs[p].clear()
                d.import_(blobs[i])
                got[p].add(i)
                trace.append((logs[p][:], d.get_deep_value()))
                if mod is loro_c:
                    assert shown(mirrors[p]) == shown(d.get_deep_value())
    return trace


@pytest.mark.parametrize("block", range(6))
def test_import_events_match_loro(block):
    imports = split_differently = 0
    for seed in range(block * SESSIONS // 6, (block + 1) * SESSIONS // 6):
        want = run_session(loro, seed)
        got = run_session(loro_c, seed)
        assert len(got) == len(want)
        for k, ((ev_want, value_want), (ev_got, value_got)) in enumerate(zip(want, got)):
            assert value_got == value_want, (seed, k)
            assert canonical(ev_got) == canonical(ev_want), (seed, k)
            imports += 1
            split_differently += raw(ev_got) != raw(ev_want)
    # (none of the 1,917 imports; 23 before the calculator's map was replayed)
    assert split_differently == 0, (split_differently, imports)


def run_big_session(mod, seed):
    """[(kind, events (normal form), value after)] of a session on a shared list of 50 to
    400 items: commits of 1 to 150 ops delivered in random subsets ("import": at most 60
    ops, "large": more), and checkouts to a past version and back ("checkout")."""
    rng = random.Random(seed)
    docs, logs, subs = [], [], []
    for i in range(3):
        d = mod.LoroDoc()
        d.peer_id = i + 1
        log = []
        subs.append(d.subscribe_root(lambda e, log=log: log.append(normal(e))))
        docs.append(d)
        logs.append(log)
    first = docs[0].get_movable_list("l")
    for i in range(rng.randint(50, 400)):
        first.insert(rng.randint(0, len(first)), i)
    docs[0].commit()
    base = docs[0].export(mod.ExportMode.Updates(mod.VersionVector()))
    for d in docs[1:]:
        d.import_(base)
    out, blobs = [], []
    for _ in range(12):
        d = docs[rng.randrange(3)]
        vv = d.oplog_vv
        n = rng.choice([1, 3, 10, 40, 70, 150])
        for _ in range(n):
            _edit(rng, mod, d.get_movable_list("l"))
        d.commit()
        blobs.append((n, d.export(mod.ExportMode.Updates(vv))))
        q = rng.randrange(3)
        for n, blob in rng.sample(blobs, rng.randint(1, len(blobs))):
            logs[q].clear()
            docs[q].import_(blob)
            out.append(("import" if n <= 60 else "large", logs[q][:], docs[q].get_deep_value()))
        if rng.random() < 0.4:
            k = rng.randrange(3)
            peer = rng.choice([1, 2, 3])
            last = docs[k].oplog_vv.get_last(peer)
            if last is not None:
                logs[k].clear()
                docs[k].checkout(mod.Frontiers.from_id(mod.ID(peer, rng.randint(0, last))))
                out.append(("checkout", logs[k][:], docs[k].get_deep_value()))
                logs[k].clear()
                docs[k].checkout_to_latest()
                out.append(("checkout", logs[k][:], docs[k].get_deep_value()))
    return out


def test_large_imports_and_checkouts_match_loro():
    """Imports of many ops and checkouts replay loro's steps too (ml_event_split): the
    events equal loro's, item by item (in these 15 sessions all 248 large imports, 402
    smaller ones and 138 checkouts; seeds 15-45 too: 492, 849 and 202. With the element
    map taken for a table sized for every element the list ever had, 42, 9 and 64 split
    otherwise here, and 55 large imports and 113 checkouts when they were only diffed)."""
    total, differ = {}, {}
    for seed in range(15):
        want = run_big_session(loro, seed)
        got = run_big_session(loro_c, seed)
        assert len(got) == len(want)
        for k, ((kind, ev_want, value_want), (_, ev_got, value_got)) in enumerate(zip(want, got)):
            assert value_got == value_want, (seed, k)
            assert canonical(ev_got) == canonical(ev_want), (seed, k)
            total[kind] = total.get(kind, 0) + 1
            differ[kind] = differ.get(kind, 0) + (raw(ev_got) != raw(ev_want))
    assert differ == {kind: 0 for kind in total}, (differ, total)


# One event each, split otherwise before the fix named (ml_event_split.element_order):
# ("small", seed, import) of run_session, ("big", seed, event) of run_big_session,
# ("many", seed, event) of run_many_checkouts.
SPLIT_CASES = [
    # a concurrent import: the map holds the elements of the ops from the common ancestor
    # (here the empty version), then those of the list items shown anew
    ("small", 4, 32),
    ("small", 28, 25),
    # the list diff names an element the full map holds: its insert grows the table
    ("small", 49, 9),
    ("small", 40, 8),
    # an import of 150 ops above the version before it: a map of its own ops' elements
    ("big", 0, 0),
    ("big", 1, 5),
    # a first checkout of the document
    ("big", 1, 2),
    ("big", 4, 57),
    # later checkouts: the document's map keeps the elements of the checkouts before (a
    # fresh map splits these otherwise)
    ("big", 1, 22),
    ("big", 5, 48),
    # loro's first step composes retain(u).delete(k) for each delete run of its list diff;
    # a run of list items no element points at (k = 0) still extends the rope to u
    # (ml_event_split._replay): the last run, the event ends in that retain
    # (loro [insert 1, retain 3] where the replay gave [insert 1])...
    ("small", 60, 9),
    ("small", 61, 22),
    ("big", 50, 50),
    # ... and a later step lands inside it rather than at the rope's end (loro [retain 2,
    # delete 1, insert 1, delete 1] where the replay gave [retain 2, insert 1, delete 2])
    ("small", 60, 10),
    # the replay moves an element off its list item and back onto its index with its value
    # (loro: [..., insert 100 (is_move), ...]); comparing items takes it for a kept item,
    # so the two splits differ in form, not in effect (ml_event_split._same_effect)
    ("small", 254, 25),
    # a concurrent import whose new ops meet the old ones only on another list (the base
    # is the version before: loro's mode is not Import, so its calculator's map is the
    # event's as it is, with no list-diff elements added: loro [retain 3, delete 1, delete
    # 1, insert 2 values, ...] where adding them gave [retain 3, insert 1, delete 2, ...])
    ("many", 199, 73),
    ("many", 88, 66),
    ("many", 154, 51),
    ("many", 191, 35),
    # an import above the version before it bringing two peers' changes (one held back
    # until then): the map notes their ops in loro's causal walk, not in the order the
    # import applied them
    ("big", 297, 17),
]


@pytest.mark.parametrize("kind,seed,k", SPLIT_CASES)
def test_split_cases_match_loro(kind, seed, k):
    if kind == "small":
        want = run_session(loro, seed)[k][0]
        got = run_session(loro_c, seed)[k][0]
    elif kind == "big":
        want = run_big_session(loro, seed)[k][1]
        got = run_big_session(loro_c, seed)[k][1]
    else:
        want = run_many_checkouts(loro, seed)[0][k][1]
        got = run_many_checkouts(loro_c, seed)[0][k][1]
        # (the order of the lists' diffs in an event is loro_c._dag_order's business)
        want = [sorted(ev, key=repr) for ev in want]
        got = [sorted(ev, key=repr) for ev in got]
    assert raw(got) == raw(want)
    assert raw(want)        # (the event shows a list diff)


def _unpointed_delete_only(mod, n_front=0, checkouts=False):
    """An import whose only change to the list deletes a list item no element points at:
    element 0, moved concurrently by peers 1 and 2, stands on 2's item (its move's Lamport
    is higher); peer 3, who saw only 1's move, moves it again, which deletes 1's item (3's
    new item loses to 2's too). Peer 3 also inserts `n_front` items at the front. With
    `checkouts`: the events of checkouts over 3's changes instead."""
    docs = []
    for p in range(4):
        d = mod.LoroDoc()
        d.peer_id = p + 1
        docs.append(d)
    a, b, c, d = docs
    la = a.get_movable_list("l")
    for i in range(5):
        la.push(i)
    a.commit()
    for x in (b, c, d):
        x.import_(a.export(mod.ExportMode.Snapshot()))
    la.mov(0, 2)
    a.commit()
    lb = b.get_movable_list("l")
    for i in range(5):
        lb.set(1, 100 + i)
    lb.mov(0, 4)
    b.commit()
    c.import_(a.export(mod.ExportMode.Updates(c.oplog_vv)))
    c.get_movable_list("l").mov(2, 1)
    for i in range(n_front):
        c.get_movable_list("l").insert(0, 1000 + i)
    c.commit()
    d.import_(a.export(mod.ExportMode.Updates(d.oplog_vv)))
    d.import_(b.export(mod.ExportMode.Updates(d.oplog_vv)))
    if checkouts:
        # d goes back to before c's changes and forward again, twice
        mid = d.oplog_frontiers
        d.import_(c.export(mod.ExportMode.Updates(d.oplog_vv)))
        log, out = [], []
        sub = d.subscribe_root(lambda e: log.append(normal(e)))
        for move in (lambda: d.checkout(mid), d.checkout_to_latest) * 2:
            log.clear()
            move()
            out.append((log[:], d.get_deep_value()))
        del sub
        return out
    log = []
    sub = d.subscribe_root(lambda e: log.append(normal(e)))
    d.import_(c.export(mod.ExportMode.Updates(d.oplog_vv)))
    del sub
    return log, d.get_deep_value()


def test_import_deleting_an_unpointed_item_reports_a_retain():
    """Loro composes the retain up to that item's index and reports it: one event whose
    list diff is [retain 2], though nothing shown changes."""
    want = _unpointed_delete_only(loro)
    got = _unpointed_delete_only(loro_c)
    assert got == want
    assert [[r[2] for r in ev] for ev in want[0]] == [[("List", [("r", 2)])]]


@pytest.mark.parametrize("n_front", [10, 300, 1000])
def test_large_import_deleting_an_unpointed_item_ends_in_its_retain(n_front):
    """The same with inserts at the front: loro's event ends with the retain over the two
    items before the unpointed one. An import of more atoms than its diff reads one by one
    (state/movable_local.pxi ML_SMALL_ATOMS) finds that retain too (ml_import_tail; before,
    300 and 1000 inserts ended in [..., insert 3] where loro has [..., retain 2])."""
    want = _unpointed_delete_only(loro, n_front)
    got = _unpointed_delete_only(loro_c, n_front)
    assert got == want
    assert want[0][0][0][2][1][-1] == ("r", 2)
    # (and without the inserts, an import the diff reads one by one, cross-checked)
    assert _unpointed_delete_only(loro_c) == _unpointed_delete_only(loro)


def _three_peers_with_a_list(mod, rng, lo, hi):
    """Three peers; the first made a movable list of lo..hi inserted values (committed).
    Returns the documents and an event log per peer."""
    docs, logs = [], []
    for i in range(3):
        d = mod.LoroDoc()
        d.peer_id = i + 1
        docs.append(d)
        logs.append([])
    first = docs[0].get_movable_list("l")
    for i in range(rng.randint(lo, hi)):
        first.insert(rng.randint(0, len(first)), i)
    docs[0].commit()
    return docs, logs


@pytest.mark.parametrize("n_front", [0, 2, 300])
def test_checkouts_removing_an_unpointed_item_end_in_its_retain(n_front):
    """Checkouts compose that retain too: back over 3's changes removes 3's own new item
    (no element points at it: [retain 1]), forward removes 1's ([retain 2]; loro_c's
    checkouts keep the unpointed list items they find, ml_checkout_tail; before, these
    events had no retain at their end, or were empty)."""
    want = _unpointed_delete_only(loro, n_front, True)
    got = _unpointed_delete_only(loro_c, n_front, True)
    assert got == want
    assert [ev[0][0][2][1][-1] for ev, _ in want] == [("r", 1), ("r", 2)] * 2
    # (and an import the diff reads one by one, cross-checked)
    assert _unpointed_delete_only(loro_c) == _unpointed_delete_only(loro)


def run_late_subscriber(mod, seed):
    """Events of checkouts (and back) of three peers' shared list, a subscriber joining
    half way: the checkouts before it still count (loro's checkout calculator notes the
    elements of every checkout's ops, events or not)."""
    rng = random.Random(seed)
    docs, logs = _three_peers_with_a_list(mod, rng, 50, 200)
    subs = []
    for d in docs[1:]:
        d.import_(docs[0].export(mod.ExportMode.Updates(mod.VersionVector())))
    out = []
    for step in range(12):
        if step == 6:
            for d, log in zip(docs, logs):
                subs.append(d.subscribe_root(lambda e, log=log: log.append(normal(e))))
        d = docs[rng.randrange(3)]
        for _ in range(rng.choice([3, 10, 40])):
            _edit(rng, mod, d.get_movable_list("l"))
        d.commit()
        q = docs[rng.randrange(3)]
        q.import_(d.export(mod.ExportMode.Updates(q.oplog_vv)))
        k = rng.randrange(3)
        peer = rng.choice([1, 2, 3])
        last = docs[k].oplog_vv.get_last(peer)
        if last is not None:
            target = mod.Frontiers.from_id(mod.ID(peer, rng.randint(0, last)))
            for move in (lambda: docs[k].checkout(target), docs[k].checkout_to_latest):
                logs[k].clear()
                move()
                if subs:
                    out.append((logs[k][:], docs[k].get_deep_value()))
    return out


def test_checkouts_before_subscribing_count():
    """(54 of 210 such checkouts in 20 sessions split otherwise while only the checkouts
    made with a subscriber were noted; 0 now.)"""
    n = 0
    for seed in range(8):
        want = run_late_subscriber(loro, seed)
        got = run_late_subscriber(loro_c, seed)
        assert len(got) == len(want)
        for (ev_want, value_want), (ev_got, value_got) in zip(want, got):
            assert value_got == value_want
            assert raw(ev_got) == raw(ev_want), seed
            n += 1
    assert n > 40


def run_many_checkouts(mod, seed):
    """Three peers edit two lists and sync (each import's changes may depend on the middle
    of the importer's history: loro's DAG nodes split), one of them checks out 20-40
    versions per round; a subscriber joins half way. [(kind, events, value)] after it
    joined, and what loro_c keeps for its checkout maps after each round."""
    rng = random.Random(seed)
    docs, logs = _three_peers_with_a_list(mod, rng, 20, 80)
    subs, out, stores = [], [], []
    for r in range(8):
        if r == 5:
            for d, log in zip(docs, logs):
                subs.append(d.subscribe_root(lambda e, log=log: log.append(normal(e))))
        for d in docs:
            if rng.random() < 0.7:
                name = rng.choice(["l", "l", "m"])
                for _ in range(rng.choice([1, 3, 10])):
                    _edit(rng, mod, d.get_movable_list(name))
                d.commit()
        for k in range(3):
            src = docs[rng.randrange(3)]
            if src is not docs[k]:
                logs[k].clear()
                docs[k].import_(src.export(mod.ExportMode.Updates(docs[k].oplog_vv)))
                if subs:
                    out.append(("import", logs[k][:], docs[k].get_deep_value()))
        k = rng.randrange(3)
        d = docs[k]
        for _ in range(rng.randint(20, 40)):
            peer = rng.choice([1, 2, 3])
            last = d.oplog_vv.get_last(peer)
            if last is not None:
                logs[k].clear()
                d.checkout(mod.Frontiers.from_id(mod.ID(peer, rng.randint(0, last))))
                if subs:
                    out.append(("checkout", logs[k][:], d.get_deep_value()))
        logs[k].clear()
        d.checkout_to_latest()
        if subs:
            out.append(("latest", logs[k][:], d.get_deep_value()))
        if mod is loro_c:
            for d in docs:
                assert d._check_invariants()
                stores.append(loro_c._doc._ml_calc_store(d))
    return out, stores


def test_many_checkouts_keep_a_bounded_store():
    """A document checked out many times keeps its MovableList checkout maps up to date
    past a few state moves (state/movable_local.pxi ml_fold_walks) rather than every
    move's versions, and replays its pending moves before its log grows (a new change can
    split loro's DAG nodes, which the walks follow); the events after a subscriber joins
    still split as loro's. (Before: 0.36 KiB kept per checkout, a first event after
    10,000 checkouts replayed them all, 0.5 s.)"""
    n = 0
    for seed in range(6):
        want, _ = run_many_checkouts(loro, seed)
        got, stores = run_many_checkouts(loro_c, seed)
        assert len(got) == len(want)
        for (kind, ev_want, value_want), (_, ev_got, value_got) in zip(want, got):
            assert value_got == value_want
            # (the order of the lists' diffs in an event is loro_c._dag_order's business)
            assert [sorted(ev, key=repr) for ev in raw(ev_got)] == \
                [sorted(ev, key=repr) for ev in raw(ev_want)], (seed, kind)
            n += 1
        assert max(s[0] for s in stores) <= 8
        assert any(s[1] > 0 for s in stores)
    assert n > 300


@pytest.mark.parametrize("seed", [23, 27, 28, 35, 50])
def test_many_checkouts_list_their_diffs_in_loros_order(seed):
    """The two lists' diffs of these sessions' events come in loro's order too (before: 2,
    3 and 5 events of them in another): a child a movable list shows again, whose element
    the version before has, is brought back by loro's state after the diffs of its depth,
    not reported by its calculator (28); a checkout's base below both versions gives the
    walk its peers as loro's map of the base's frontiers yields them (27); children of a
    list brought back are revived in the order loro's state meets them, the list's inserts
    (35); a checkout's base below both versions takes its frontiers by descending Lamport
    (50). Over seeds 0-59, 1 of 5,901 events differs in order (32)."""
    want, _ = run_many_checkouts(loro, seed)
    got, _ = run_many_checkouts(loro_c, seed)
    assert [raw(ev) for _, ev, _ in got] == [raw(ev) for _, ev, _ in want]
