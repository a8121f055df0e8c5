"""The order of an event's diffs among root containers (all of depth 1), as loro's: it
iterates hash maps keyed by its container index, a container's kind over its number in
loro's arena (see loro_c.hash_order). The cases here are those loro_c models exactly:
local commits (the transaction's map, then the event's), a container registered by
subscribe, and imports into a document with no concurrent edits, nested containers
created by the import included (loro's diff calculator adds them to its map); then
checkouts and concurrent imports, whose order follows loro's walk of the version DAG
(loro_c._dag_order), for scripted cases and as a measured rate in random sessions."""
import itertools

import loro
import pytest

import loro_c


def targets(e):
    return [str(c.target.container_type) + ":" + (c.target.name if hasattr(c.target, "name")
                                                  else f"{c.target.peer}@{c.target.counter}")
            for c in e.events]


def edit(d, mod, n, nested):
    if n == "t":
        d.get_text("t").insert(0, "x")
    elif n == "m":
        if nested:
            d.get_map("m").insert_container("k", mod.LoroList())
        else:
            d.get_map("m").insert("k", 1)
    elif n == "l":
        d.get_list("l").insert(0, 1)
    elif n == "c":
        d.get_counter("c").increment(1)


def run(mod, order, subscribed, via_import, nested, registered):
    d = mod.LoroDoc()
    d.peer_id = 1
    got = []
    subs = [d.subscribe_root(lambda e: got.append(targets(e)))]
    for n in subscribed:
        ct = {"t": mod.ContainerType.Text, "m": mod.ContainerType.Map,
              "l": mod.ContainerType.List, "c": mod.ContainerType.Counter}[n]()
        subs.append(d.subscribe(mod.ContainerID.Root(n, ct), lambda e: None))
    for n in registered:
        getattr(d, {"t": "get_text", "m": "get_map", "l": "get_list", "c": "get_counter"}[n])(n)
    src = d
    if via_import:
        src = mod.LoroDoc()
        src.peer_id = 2
    for n in order:
        edit(src, mod, n, nested)
    src.commit()
    if via_import:
        d.import_(src.export(mod.ExportMode.Updates(d.oplog_vv)))
    return got


ORDERS = ["".join(p) for p in itertools.permutations("tlmc")]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("subscribed", ["", "m", "cl"])
@pytest.mark.parametrize("via_import", [False, True])
def test_root_order_matches_loro(order, subscribed, via_import):
    for nested in (False, True):
        for registered in ("", "lt"):
            args = (order, subscribed, via_import, nested, registered)
            assert run(loro_c, *args) == run(loro, *args), args


# -- checkouts and imports concurrent with local edits ----------------------------------
# loro lists these diffs as its diff calculator meets the containers walking the version
# DAG from the base version it chooses (loro_c._dag_order). Each script below: ("e", peer,
# roots edited in one commit), ("s", from, to) an import of what `to` lacks, ("c", k) peer 0
# checks out the version of its k-th commit and back. Every event of peer 0's root
# subscriber is compared; in each of the first seven loro's order of some import or
# checkout differs from the one the ops alone give (loro_c's order before _dag_order), in
# each of the last three from the one the model fitted before gave: an import whose new ops
# share only maps and counters with the old ops they are concurrent with (loro replays from
# the version before it), an import concurrent on other containers (replayed from the
# latest critical version under the one before it) with its checkout back (a search path
# left unmatched: the latest critical version under the meet), and one of the first kind
# with a checkout back of the second.

WALK_SCRIPTS = [
    [("e", 2, "l"), ("e", 0, "l"), ("e", 0, "lcm"), ("e", 1, "ct"), ("e", 1, "ct"),
     ("e", 0, "tm"), ("e", 1, "mlct"), ("s", 1, 0), ("c", 0)],
    [("s", 0, 2), ("e", 0, "t"), ("e", 0, "lct"), ("e", 1, "lmc"), ("s", 1, 2), ("e", 2, "lm"),
     ("e", 0, "cml"), ("e", 1, "cm"), ("s", 1, 0), ("c", 0)],
    [("e", 2, "m"), ("e", 2, "lmt"), ("e", 1, "c"), ("s", 2, 1), ("s", 1, 2), ("s", 0, 2),
     ("e", 0, "ct"), ("e", 1, "mtl"), ("s", 1, 0), ("c", 0)],
    [("e", 1, "l"), ("s", 1, 0), ("e", 0, "ctm"), ("e", 1, "mct"), ("e", 0, "ct"), ("e", 1, "cl"),
     ("s", 1, 0), ("c", 0)],
    [("s", 0, 1), ("e", 0, "tcl"), ("e", 2, "lcm"), ("s", 2, 1), ("s", 2, 0), ("s", 2, 0),
     ("e", 0, "l"), ("e", 1, "tc"), ("s", 1, 0), ("c", 0)],
    [("s", 1, 0), ("e", 0, "ltm"), ("e", 2, "tlm"), ("s", 1, 2), ("e", 1, "m"), ("e", 0, "tcm"),
     ("e", 1, "mltc"), ("s", 1, 0), ("c", 0)],
    [("e", 0, "lc"), ("s", 2, 0), ("e", 1, "c"), ("s", 0, 1), ("s", 0, 1), ("e", 0, "tcm"),
     ("e", 1, "clmt"), ("s", 1, 0), ("c", 0)],
    [("e", 1, "t"), ("e", 1, "cm"), ("s", 1, 2), ("e", 0, "lc"), ("s", 2, 0), ("c", 0)],
    [("e", 2, "lct"), ("s", 0, 1), ("e", 0, "lm"), ("e", 2, "lt"), ("s", 2, 0), ("c", 0)],
    [("s", 0, 2), ("s", 1, 2), ("e", 1, "clm"), ("e", 2, "mtc"), ("e", 0, "mlc"), ("s", 2, 0),
     ("c", 0)],
]


def play(mod, script, nested=False):
    docs = []
    for p in (1, 2, 3):
        d = mod.LoroDoc()
        d.peer_id = p
        docs.append(d)
    got = []
    sub = docs[0].subscribe_root(
        lambda e: got.append((str(e.triggered_by).split(".")[-1], targets(e))))
    marks = []
    for step in script:
        if step[0] == "e":
            _, p, names = step
            for n in names:
                edit(docs[p], mod, n, nested)
            docs[p].commit()
            if p == 0:
                marks.append(docs[0].oplog_frontiers)
        elif step[0] == "s":
            _, a, b = step
            docs[b].import_(docs[a].export(mod.ExportMode.Updates(docs[b].oplog_vv)))
        else:
            docs[0].checkout(marks[step[1]])
            docs[0].checkout_to_latest()
    del sub
    return got


@pytest.mark.parametrize("k", range(len(WALK_SCRIPTS)))
def test_concurrent_imports_and_checkouts_in_loros_order(k):
    script = WALK_SCRIPTS[k]
    want = play(loro, script)
    assert any(t == "Checkout" for t, _ in want)
    assert play(loro_c, script) == want


# imports (found by a random search of such scripts; each failed before): one whose
# changes all follow the document's but are concurrent among themselves (loro's calculator
# walks them in its causal order, not in the order they were applied), and, with the maps'
# entries nested containers (an empty list), imports whose event's map leaves the new,
# empty list out (a map of three diffs, not four).
IMPORT_SCRIPTS = [
    ([("e", 2, "tmc"), ("e", 1, "lctm"), ("s", 1, 2), ("s", 2, 0)], False),
    ([("e", 2, "tlmc"), ("e", 2, "lmc"), ("e", 2, "ct"), ("s", 2, 0)], True),
    ([("e", 2, "mtl"), ("e", 1, "c"), ("e", 0, "t"), ("s", 2, 0)], True),
    # a map's new child: loro's map calculator reports it only when it replays the map
    # from an ancestor, not for an import that follows the document's version
    ([("e", 2, "mct"), ("s", 2, 0)], True),
    ([("e", 2, "cmt"), ("s", 2, 1), ("e", 1, "m"), ("s", 1, 0)], True),
]


@pytest.mark.parametrize("k", range(len(IMPORT_SCRIPTS)))
def test_imports_in_loros_order(k):
    script, nested = IMPORT_SCRIPTS[k]
    want = play(loro, script, nested)
    assert any(t == "Import" and len(x) > 2 for t, x in want)
    assert play(loro_c, script, nested) == want


def test_order_of_checkouts_and_concurrent_imports_in_random_sessions():
    """How many events of the random differential sessions list their diffs of one depth
    in another order than loro's (among those with such ties). Before loro_c modelled
    loro's walk of the version DAG, 125 of 753 imports and 231 of 686 checkouts of seeds
    0-99 differed, then 96 and 83 (a model fitted to loro 1.17.1's results). The sessions
    now also restart peers from snapshots (with import_batch): 845 imports, 601 checkouts
    and 253 commits with ties, of which 171, 55 and 4 differed with that model; 122, 29
    and 4 with the base version chosen as loro 1.17.1 does (loro_c._dag_order); 19,
    14 and 0 once loro_c also numbered the containers of a loaded snapshot as loro's
    arena registers them (doc/exchange.pxi number_as_loaded); 15, 14 and 0 once its
    snapshots left out the dead children loro's store never held; 13, 6 and 0 once the
    walk took the peers in the order of loro's map of id ranges (base_peer_order). Seeds
    100-299: 20 of 1,651 imports and 18 of 1,150 checkouts (22 and 20 before). Then 3 and
    1 of seeds 0-99 (8 and 2 of seeds 100-299; 24 of 3,282 and 21 of 2,128 of seeds
    300-699) once an import whose changes all follow the document's was walked too (they
    may be concurrent among themselves) and the event's map left out containers without a
    diff (test_imports_in_loros_order); 2, 1 and 0 (seeds 100-299: 7 and 2; 300-699: 21
    and 21) once a map's new child stayed out of the calculator's map where loro's map
    calculator does not report it (_events.fast_map_child). Then 0 and 0 (counted again
    just before: 1 and 1; seeds 100-299: 1 and 0, before 6 and 1; 300-699: 3 and 1,
    before 12 and 6) once the event's map took
    the diffs sorted by depth, as loro's state applies them, and a map's new counter
    without a diff of its own was revived, not in the calculator's map
    (test_import_diffs_in_loros_order). No checkout differs now: seeds 0-699 hold 0 of
    3,879 (with movable lists and trees: 3 of 3,941, 5 before the containers the
    calculators create went in loro's set of them and a map whose key an equal write now
    wins was in its calculator's map: test_checkouts_follow_the_calculators_map). With
    movable lists and trees, 14 of 6,114 imports of seeds 0-699 differ (35 before a
    concurrent import's movable list and tree calculators handed their changes on without
    replaying when only the import edited them:
    test_concurrent_import_from_the_version_before_reports_no_new_child). Then plain 0 of
    3,874 checkouts and 2 of 5,771 imports (459, 604), with movable lists and trees 1 of
    3,921 and 4 of 6,093, once loro_c cut a peer's change blocks where loro does after a
    snapshot load, which decides the roots' order of a later load of a snapshot
    (test_kept_change_blocks). The differential sessions compare imports' and checkouts'
    diffs in their order."""
    import collections
    from test_events_differential import run_session
    stats = collections.Counter()
    for seed in range(100):
        run_session(seed, order_stats=stats)
    assert stats["Import"] > 500 and stats["Checkout"] > 500 and stats["Local"] > 150
    assert stats["Import differs"] == 0, stats
    assert stats["Checkout differs"] == 0, stats
    assert stats["Local differs"] == 0, stats


def _session_order_stats(seed, marks_patch=None, kinds=False):
    """Run differential session `seed` (with rich-text marks when given the monkeypatch to
    install them with) and return its counts of events, and of events whose order differs
    from loro's."""
    import collections
    import test_events_differential as differential
    if marks_patch is not None:
        from test_events_differential_marks import with_marks
        with_marks(marks_patch)
    stats = collections.Counter()
    differential.run_session(seed, order_stats=stats, kinds=kinds)
    return stats


# seeds of the differential sessions whose checkouts and imports with ties come in loro's
# order only when the walk takes the peers in the order of loro's map of id ranges
# (_dag_order.base_peer_order, each map modelled as filled): 15, a checkout back to a merge
# of peers 1 and 2 whose branch goes on (the base's map yields 1 before 2: 1@1 is walked
# before 2@2); 3, a concurrent import walked from the empty version (the document's
# version met peer 1 first); 8, a checkout from the empty version (the version before,
# rebuilt from its frontiers, holds peer 2 first); 51, a checkout that walks a restarted
# peer's change too; 90, where a map filled by ascending peer would give loro's order but
# the base's frontiers do not. Peers 1, 2 and 3 share a bucket in a map of four, so
# which was put in first decides. Every event of these seeds was compared; before, 4, 1,
# 1, 2 and 0 events of them differed.
@pytest.mark.parametrize("seed", [15, 3, 8, 51, 90])
def test_walk_takes_peers_in_the_order_of_loros_maps(seed):
    stats = _session_order_stats(seed)
    assert stats["Checkout"] >= 4, stats
    assert not any(k.endswith("differs") for k in stats), stats


# seeds of the wide sweeps (plain 0-3999, with movable lists and trees 0-1999) whose events
# tied on depth came in another order than loro's: 3261, an import onto two frontiers whose
# walk took them by peer index (loro's common-ancestor search fills its map of them by
# descending Lamport); 3655, a checkout from the latest version, whose version before loro
# rebuilds from its state's frontiers, the log's own map (OpLog.frontier_order), not a map
# filled by Lamport; 3611 and 3916 (and 1583 with the other kinds), a checkout that
# restores a list holding an empty list: the inner list shows only in the whole value of
# one brought back, whose calculator reports nothing, so it is not in the calculator's map
# (8 members grew that map to 16 buckets, which reordered the roots); 1386 with the other
# kinds, two children of such a list: loro's state revives them in the order it meets them
# (the list's inserts), and they share a bucket of that set; 1244 with the other kinds and
# 4094 with marks, a checkout whose base lies below both versions: loro's search fills its
# map of the base's frontiers by descending Lamport (peers 1 and 2 share a bucket).
@pytest.mark.parametrize("seed,kinds,marks", [(3261, False, False), (3655, False, False),
                                              (3611, False, False), (3916, False, False),
                                              (1583, True, False), (1386, True, False),
                                              (1244, True, False), (4094, False, True)])
def test_sweep_sessions_tie_in_loros_order(seed, kinds, marks, monkeypatch):
    stats = _session_order_stats(seed, monkeypatch if marks else None, kinds=kinds)
    assert stats["Checkout"] + stats["Import"] >= 4, stats
    assert not any(k.endswith("differs") for k in stats), stats


def _walked_session(mod, seed=24, steps=80):
    """Three peers editing root containers, syncing and travelling back (their events;
    the history grows past a hundred change records over the longer runs)."""
    from _events_util import ncid
    import random
    rng = random.Random(seed)
    docs = [mod.LoroDoc() for _ in range(3)]
    seen = []
    for i, d in enumerate(docs):
        d.peer_id = [5, 2**63 + 7, 1234567][i]
    subs = [d.subscribe_root(lambda e, i=i: seen.append(
        (i, str(e.triggered_by).split(".")[-1], sorted(ncid(x.target) for x in e.events))))
        for i, d in enumerate(docs)]
    versions = [[] for _ in range(3)]
    for step in range(steps):
        i = rng.randrange(3)
        d = docs[i]
        r = rng.random()
        if r < 0.5:
            for _ in range(rng.randint(1, 3)):
                k, name = rng.random(), "c%d" % rng.randrange(4)
                if k < 0.25:
                    t = d.get_text("t" + name)
                    t.insert(rng.randint(0, len(t)), "xy"[: rng.randint(1, 2)])
                elif k < 0.5:
                    d.get_map("m" + name).insert("k%d" % rng.randrange(4), step)
                elif k < 0.75:
                    lst = d.get_list("l" + name)
                    lst.insert(rng.randint(0, len(lst)), step)
                else:
                    d.get_counter("n" + name).increment(1)
            d.commit()
            versions[i].append(d.state_frontiers)
        elif r < 0.8:
            j = (i + rng.randrange(1, 3)) % 3
            docs[j].import_(d.export(mod.ExportMode.Updates(docs[j].oplog_vv)))
            versions[j].append(docs[j].state_frontiers)
        elif versions[i]:
            d.checkout(rng.choice(versions[i]))
            if rng.random() < 0.3 and len(versions[i]) > 1:
                d.checkout(rng.choice(versions[i]))
            d.checkout_to_latest()
    del subs
    return seen, [d.get_deep_value() for d in docs]


@pytest.mark.parametrize("seed,steps", [(24, 80), (3, 300)])
def test_walks_on_grown_and_long_histories(seed, steps):
    """The DAG walk keeps its nodes while the log grows: an import that extends a change
    record in place (seed 24) once left a stale DAG behind (a checkout then raised), and
    histories of any length are walked (300 steps: some 150 change records)."""
    a, b = _walked_session(loro, seed, steps), _walked_session(loro_c, seed, steps)
    assert a == b


# checkouts whose order follows what loro's diff calculator puts in its map of diffs and
# how its state hands them on (found by random searches; each failed before):
# - loro's state applies the diffs in its map's order sorted by depth, and the event's map
#   takes them in that order (a map of nine diffs, four of them empty children, then one
#   of five);
# - a movable list shows a child again whose element the version before has: loro's
#   calculator does not report it (only new elements), its state brings it back after the
#   diffs of its depth;
# - a tree's replayed diff creates nodes: the calculator reports their meta maps (empty);
# - a movable list whose walked ops insert, move or set elements the target version has
#   is in the map (its diff holds them, changed or not) though the event shows nothing;
# - the containers the calculators report as created (a restored tree node's meta map, a
#   list's child) go into the map after the calculated ones in the order of loro's set of
#   them, keyed by ContainerID (hashed as derive(Hash) does), not by container number
#   (the last two cases: the two restored nodes' meta maps decide the order of the roots).
def _fresh_checkout(mod, order, cuts):
    a = mod.LoroDoc()
    a.peer_id = 1
    t, l, c, m = a.get_text("t"), a.get_list("l"), a.get_counter("c"), a.get_map("m")
    x = None
    for i, o in enumerate(order):
        if o == "t":
            t.insert(0, "x")
        elif o == "l":
            l.insert(0, 1)
        elif o == "c":
            c.increment(1)
        elif o == "X":
            x = l.insert_container(0, mod.LoroText())
        elif o == "x":
            x.insert(0, "y")
        elif o == "mc":
            m.insert("c", 2)
        elif o == "ma":
            m.insert_container("a", mod.LoroText())
        elif o == "md":
            m.insert_container("d", mod.LoroMap())
        elif o == "lt":
            l.insert_container(0, mod.LoroText())
        if i in cuts:
            a.commit()
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    got = []
    sub = b.subscribe_root(lambda e: got.append(targets(e)))
    b.checkout(mod.Frontiers())
    b.checkout_to_latest()
    del sub
    return got


def _two_lists(mod, steps, checkouts):
    docs = [mod.LoroDoc(), mod.LoroDoc()]
    for i, d in enumerate(docs):
        d.peer_id = i + 1
    marks = []
    for p, kind, *args in steps:
        d = docs[p]
        if kind == "sync":
            d.import_(docs[1 - p].export(mod.ExportMode.Updates(d.oplog_vv)))
            continue
        ml = d.get_movable_list(args[0])
        n = len(ml)
        if kind == "ins":
            ml.insert(args[1] % (n + 1), args[2])
        elif kind == "insc":
            ml.insert_container(args[1] % (n + 1), mod.LoroMap())
        elif kind == "set":
            ml.set(args[1] % n, args[2])
        elif kind == "mov":
            ml.mov(args[1] % n, args[2] % n)
        elif kind == "del":
            ml.delete(args[1] % n, 1)
        d.commit()
        marks.append(d.oplog_frontiers)
    d = docs[0]
    d.import_(docs[1].export(mod.ExportMode.Updates(d.oplog_vv)))
    return _checkout_targets(d, marks, checkouts)


def _checkout_targets(d, marks, checkouts):
    """The targets of the events of checkouts of `d` to `marks` (by `checkouts`, indices
    taken modulo their number), then to the latest version, with a root subscriber."""
    got = []
    sub = d.subscribe_root(lambda e: got.append(targets(e)))
    for k in checkouts:
        d.checkout(marks[k % len(marks)])
    d.checkout_to_latest()
    del sub
    return got


def _tree_and_roots(mod, steps, checkouts):
    docs = [mod.LoroDoc() for _ in range(3)]
    for i, d in enumerate(docs):
        d.peer_id = i + 1
    marks = []
    for p, kind, *args in steps:
        d = docs[p]
        if kind == "sync":
            src = docs[args[0] if args else 1 - p]
            d.import_(src.export(mod.ExportMode.Updates(d.oplog_vv)))
            continue
        tr = d.get_tree("tr")
        nodes = [n for n in tr.nodes() if not tr.is_node_deleted(n)]
        if kind == "root":
            edit(d, mod, args[0], False)
        elif kind == "ml":
            ml = d.get_movable_list("ml")
            n = len(ml)
            if args[0] == "ins":
                ml.insert(args[1] % (n + 1), args[2])
            elif n == 0:
                continue
            elif args[0] == "set":
                ml.set(args[1] % n, args[2])
            else:
                ml.delete(args[1] % n, 1)
        elif kind == "create":
            tr.create(nodes[args[0] % len(nodes)] if nodes and args[0] < 5 else None)
        elif not nodes:
            continue
        elif kind == "move":
            tr.mov(nodes[args[0] % len(nodes)], nodes[args[1] % len(nodes)] if args[1] < 5 else None)
        elif kind == "delete":
            tr.delete(nodes[args[0] % len(nodes)])
        elif kind == "meta":
            tr.get_meta(nodes[args[0] % len(nodes)]).insert("a", args[0])
        d.commit()
        marks.append(d.oplog_frontiers)
    d = docs[0]
    for src in docs[1:]:
        d.import_(src.export(mod.ExportMode.Updates(d.oplog_vv)))
    return _checkout_targets(d, marks, checkouts)


CALCULATOR_MAP_CASES = [
    (_fresh_checkout, ["lt", "t", "c", "X", "x", "ma", "md", "mc", "l"], {4, 7}),
    (_two_lists, [(0, "ins", "l", 9, 55), (1, "insc", "m", 1), (1, "insc", "m", 6),
                  (1, "ins", "m", 1, 23), (0, "ins", "l", 4, 6), (0, "sync"),
                  (1, "ins", "m", 2, 31), (0, "set", "m", 0, 49), (0, "insc", "l", 4),
                  (1, "ins", "m", 3, 72), (1, "insc", "m", 3), (0, "del", "m", 8)], [13, 38, 40]),
    (_tree_and_roots, [(1, "create", 2), (0, "move", 7, 9), (0, "move", 9, 0), (1, "create", 7),
                       (1, "create", 3), (0, "create", 8), (0, "root", "m"), (0, "sync"),
                       (0, "root", "m"), (0, "root", "l")], [35, 43]),
    (_tree_and_roots, [(1, "delete", 8), (1, "create", 2), (1, "create", 1), (1, "delete", 6),
                       (0, "sync"), (1, "ml", "ins", 1, 4), (0, "delete", 0), (1, "move", 8, 9),
                       (1, "ml", "del", 5, 7), (0, "create", 3), (1, "root", "l")], [87, 91]),
    (_tree_and_roots, [(1, "create", 2, 6), (0, "create", 2, 5), (0, "root", "m"), (0, "root", "c"),
                       (0, "ml", "ins", 6, 52), (0, "create", 0, 9), (1, "root", "t"),
                       (0, "root", "c"), (0, "root", "l")], [3]),
    (_tree_and_roots, [(0, "create", 1, 9), (0, "create", 2, 3), (1, "root", "t"), (1, "root", "c"),
                       (1, "create", 2, 3), (1, "meta", 2, 3), (0, "ml", "ins", 7, 12),
                       (1, "root", "c"), (0, "root", "c"), (1, "ml", "ins", 5, 56),
                       (0, "root", "l")], [34]),
]


@pytest.mark.parametrize("k", range(len(CALCULATOR_MAP_CASES)))
def test_checkouts_follow_the_calculators_map(k):
    play_case, steps, checkouts = CALCULATOR_MAP_CASES[k]
    want = play_case(loro, steps, checkouts)
    assert any(len(x) > 1 for x in want)
    assert play_case(loro_c, steps, checkouts) == want


def _emptied_child(mod, ml, child):
    """Element 0 of movable list `ml` given a child whose own ops leave it as it was made:
    a counter incremented by 0 ("counter") or a text typed and emptied ("text")."""
    if child == "counter":
        ml.set_container(0, mod.LoroCounter()).increment(0)
    else:
        x = ml.set_container(0, mod.LoroText())
        x.insert(0, "ab")
        x.delete(0, 2)


def _checkout_over_an_emptied_child(mod, child):
    """Peer 1 makes an element of "ml" (version A), then a list's child map and the
    element's emptied child; the events of a checkout to A and back."""
    d = mod.LoroDoc()
    d.peer_id = 1
    if child == "counter":
        d.get_tree("tr")    # (registered first: numbered as in the search that found it)
    ml = d.get_movable_list("ml")
    ml.insert(0, 1)
    if child == "text":
        d.get_text("t").insert(0, "x")
    d.commit()
    a = d.oplog_frontiers
    if child == "counter":
        d.get_list("l").insert_container(0, mod.LoroMap())
        _emptied_child(mod, ml, child)
    else:
        _emptied_child(mod, ml, child)
        d.get_list("l").insert_container(0, mod.LoroMap())
    d.commit()
    got = []
    sub = d.subscribe_root(lambda e: got.append(targets(e)))
    d.checkout(a)
    d.checkout_to_latest()
    del sub
    return got


def _import_over_an_emptied_child(mod, child):
    """Peer 2 gives an element of peer 1's "ml" an emptied child and edits roots while peer
    1 edits others (a text in root map "m" among them); the event of peer 1's import."""
    a, b = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    if child == "counter":
        a.get_tree("tr")
    else:
        a.get_counter("c"), a.get_map("m"), a.get_tree("tr")
    a.get_movable_list("ml").insert(0, 1)
    a.commit()
    b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    if child == "counter":
        a.get_map("m").insert_container("x", mod.LoroText()).insert(0, "y")
        a.get_counter("c").increment(1)
        a.get_list("l").insert_container(0, mod.LoroMap())
    else:
        a.get_movable_list("ml").insert(0, 1)
    a.commit()
    _emptied_child(mod, b.get_movable_list("ml"), child)
    if child == "counter":
        b.get_map("m").insert("k", 1)
        b.get_list("l").insert(0, 1)
    else:
        b.get_map("m").insert_container("x", mod.LoroText()).insert(0, "y")
    b.commit()
    got = []
    sub = a.subscribe_root(lambda e: got.append(targets(e)))
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    del sub
    return got


# a movable list's child whose element the version before has, with ops of its own that
# give it no diff (a counter incremented by 0, a text typed and emptied): no calculator
# reports it new (its element is older) and its own calculator's diff is empty, so it is
# not in loro's calculator map (the state brings it back after its depth's diffs), which
# then stays small enough to list the roots in another order (kinds session 461, back to
# the latest version; found again by searches of such scripts: 142 of 3,000 checkouts and
# 71 of 1,500 concurrent imports fixed, none broken)
@pytest.mark.parametrize("play_case", [_checkout_over_an_emptied_child,
                                       _import_over_an_emptied_child])
@pytest.mark.parametrize("child", ["counter", "text"])
def test_an_emptied_child_of_an_older_element_stays_out_of_the_calculators_map(play_case,
                                                                             child):
    want = play_case(loro, child)
    assert any(len(x) > 1 for x in want)
    assert play_case(loro_c, child) == want


def _rewritten_with_an_equal_value(mod, handles):
    """Peer 2 edits a text, a list and a movable list, then writes key k of map m; peer 1
    (with `handles` other roots registered first: they shift the container numbers) wrote
    k twice, with the same value, and checks out its own version: k's winner changes, its
    value does not. The event's targets."""
    a, b = mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    b.get_text("t").insert(0, "x")
    b.commit()
    b.get_list("l").insert(0, 1)
    b.commit()
    for i in range(handles):
        a.get_map("h%d" % i)
    a.get_map("m").insert("k", 1)
    a.commit()
    b.get_movable_list("ml").insert(0, 18)
    b.commit()
    a.get_movable_list("ml")
    a.get_map("m").insert("k", 1)
    a.commit()
    a.get_text("t").insert(0, "x")
    a.commit()
    mark = a.oplog_frontiers
    b.get_map("m").insert("k", 1)
    b.commit()
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    got = []
    sub = a.subscribe_root(lambda e: got.append(targets(e)))
    a.checkout(mark)
    del sub
    return got


@pytest.mark.parametrize("handles", range(4))
def test_checkout_keeps_a_map_whose_key_another_equal_write_wins(handles):
    """A map key whose winner a checkout changes to another write of the same value is
    not in the event, but loro's calculator holds it: the map is in its map of diffs, which
    decides the order of the others (before, 2 and 3 handles gave another order)."""
    want = _rewritten_with_an_equal_value(loro, handles)
    assert len(want[0]) == 3 and "Map:m" not in want[0]
    assert _rewritten_with_an_equal_value(loro_c, handles) == want


def _deleted_again(mod, roots, dead):
    """Map x (a child of list l) has key a written and deleted; past that version, the
    roots `roots` are edited and a is deleted again (and, if `dead`, x is then removed from
    l). The targets of the checkout back to that version and of the return."""
    d = mod.LoroDoc()
    d.peer_id = 7
    lst = d.get_list("l")
    x = lst.insert_container(0, mod.LoroMap())
    x.insert("a", 1)
    d.commit()
    x.delete("a")
    d.commit()
    mark = d.state_frontiers
    for name in roots:
        if name.startswith("c"):
            d.get_counter(name).increment(1)
        elif name.startswith("t"):
            d.get_text(name).insert(0, "z")
        else:
            d.get_map(name).insert("k", 1)
    x.delete("a")
    d.commit()
    if dead:
        lst.delete(0, 1)
        d.commit()
    got = []
    sub = d.subscribe_root(lambda e: got.append(targets(e)))
    d.checkout(mark)
    d.checkout_to_latest()
    del sub
    return got


@pytest.mark.parametrize("roots", [("n", "r", "s"), ("q", "r", "s"), ("m", "t2", "c2"),
                                   ("c", "m2", "q", "s")])
@pytest.mark.parametrize("dead", [False, True])
def test_checkout_keeps_a_map_whose_deleted_key_another_delete_wins(roots, dead):
    """A key deleted at both versions by different deletes is in loro's calculator's map
    of diffs (it compares the winning writes), though no event shows it: the map decides
    the order of the roots (marks session 2521; before, ("n", "r", "s") and ("q", "r",
    "s") came in another order)."""
    want = _deleted_again(loro, roots, dead)
    assert len(want) == 2 and all(len(x) >= len(roots) for x in want)
    assert _deleted_again(loro_c, roots, dead) == want


def _checkout_below_a_redundant_path(mod):
    """Peer 3 writes, peer 1 builds on its first three ops, peer 3 writes on, peer 2 builds
    on all of that, and peer 3's last change merges both: from it, loro's meet search of
    the checkout to (1@1, 2@2) (peer 2's change cut) goes down peer 3's own previous op
    alone, a path that ends unmatched though peer 2's change depends on that op. The
    targets of the checkout and of the return."""
    a, b, c = mod.LoroDoc(), mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id, c.peer_id = 3, 2, 1
    b.get_counter("c").increment(-3)
    b.commit()
    m = a.get_map("m")
    a.get_counter("c").increment(-1)
    m.insert_container("c", mod.LoroText())
    a.get_list("l").insert(0, 1)
    a.commit()
    c.import_(a.export(mod.ExportMode.Updates(c.oplog_vv)))
    c.get_counter("c").increment(-1)
    c.get_list("l").insert(1, 2)
    c.commit()
    a.get_counter("c").increment(-3)
    a.get_list("l").insert(0, 3)
    a.commit()
    b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    b.get_map("m").insert_container("a", mod.LoroCounter()).increment(0)
    b.get_text("t").insert(0, "abzz")
    b.commit()
    a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.import_(c.export(mod.ExportMode.Updates(a.oplog_vv)))
    a.get_list("l").insert(3, 4)
    a.get_list("l").insert(1, 5)
    m.insert("c", 1)
    a.commit()
    got = []
    sub = a.subscribe_root(lambda e: got.append(targets(e)))
    a.checkout(mod.Frontiers.from_ids([mod.ID(1, 1), mod.ID(2, 2)]))
    a.checkout_to_latest()
    del sub
    return got


def test_checkout_replays_from_the_meet_when_an_unmatched_path_is_covered():
    """loro gives each path of its meet search the ids where it forked first (its tips);
    a path that ends unmatched with its tips in the meet's history only went down a second
    way, and the checkout replays from the meet rather than from a critical version under
    it, meeting l before m (plain and marks session 1032)."""
    want = _checkout_below_a_redundant_path(loro)
    assert want[0] == ["List:l", "Map:m", "Text:t"]
    assert _checkout_below_a_redundant_path(loro_c) == want


# differential sessions with a checkout whose diffs of one depth came in another order
# than loro's (every checkout of these seeds now in loro's order): 56, 116, 373, 457 and
# 489, back to the latest version (the state's depth sort before the event's map); 596
# (the target's frontiers as loro's map yields them); with the other kinds (kinds=True):
# 12, 183 and 139 (tree meta maps, a movable list holding kept elements), 353 (a created
# child whose own calculator brings it back), 545 (a movable list's child with a diff of
# its own is in the map where its diff is); 1032 (a search path that ends unmatched and
# covered: replayed from the meet); 461 with the other kinds (a movable list's child with
# ops that leave it no diff stays out of the calculator's map).
@pytest.mark.parametrize("seed,kinds", [(56, False), (116, False), (373, False), (457, False),
                                        (489, False), (596, False), (12, True), (183, True),
                                        (139, True), (353, True), (545, True), (1032, False),
                                        (461, True)])
def test_checkouts_in_loros_order_in_these_sessions(seed, kinds):
    stats = _session_order_stats(seed, kinds=kinds)
    assert stats["Checkout"] >= 1, stats
    assert stats["Checkout differs"] == 0, stats


# a checkout's walk takes the version before from the state's frontiers as loro's map of
# them yields them, filled by descending Lamport (as loro's shrink_frontiers leaves a
# checkout's target), not in peer order: marks sessions 1675 and 1843 (checkouts from the
# latest version), 1024 and 1219 (back to the latest version) differed before; plain 643
# needs the Lamport order of two peers that share a bucket.
@pytest.mark.parametrize("seed,marks", [(1024, True), (1219, True), (1675, True), (1843, True),
                                        (643, False)])
def test_checkouts_take_the_version_before_as_loros_frontiers_map_yields_it(seed, marks,
                                                                            monkeypatch):
    stats = _session_order_stats(seed, monkeypatch if marks else None)
    assert stats["Checkout"] >= 1, stats
    assert stats["Checkout differs"] == 0, stats



# a checkout whose base is one of the two versions (the target under the version before,
# or the version before under the target) fills the base's version from its frontiers as
# loro's map of them yields them (filled by descending Lamport, then descending peer), not
# in peer order: two changes on the same deps with the same Lamport were walked in the wrong
# order in marks sessions 2623 and 2812; 1359 (two target ids with one Lamport) fails with
# the Lamport order alone.
@pytest.mark.parametrize("seed", [2623, 2812, 1359])
def test_checkouts_to_an_ancestor_take_its_frontiers_as_loros_map_yields_them(seed,
                                                                             monkeypatch):
    stats = _session_order_stats(seed, monkeypatch)
    assert stats["Checkout"] >= 1, stats
    assert stats["Checkout differs"] == 0, stats

def _empty_importer(mod):
    """Peers 1 and 2 edit roots, 2 imports 1 and edits again; peer 3, empty, imports all:
    the walk starts from both peers' first changes."""
    d = [mod.LoroDoc() for _ in range(3)]
    for i, x in enumerate(d):
        x.peer_id = i + 1
    d[0].get_map("m").insert("nest", 1)
    d[0].get_map("nest").insert("c", 1)
    d[0].get_text("nc").insert(0, "x")
    d[0].commit()
    d[1].get_map("m").insert("nest", 1)
    d[1].get_map("nest").insert("b", 1)
    d[1].get_text("nb").insert(0, "x")
    d[1].commit()
    d[0].get_map("m").insert("a", 1)
    d[0].get_counter("a").increment(5)
    d[0].commit()
    d[1].import_(d[0].export(mod.ExportMode.Updates(d[1].oplog_vv)))
    d[1].get_map("m").insert("b", 1)
    d[1].get_counter("b").increment(3)
    d[1].commit()
    got = []
    sub = d[2].subscribe_root(lambda e: got.append(targets(e)))
    d[2].import_(d[1].export(mod.ExportMode.Updates(d[2].oplog_vv)))
    del sub
    return got


def test_an_import_into_an_empty_document_takes_peers_from_a_clone_of_its_version():
    # loro's union of the two versions is a clone of the (empty) version before into which
    # the version after's peers go in the order that map yields them: peers 1 and 2 share
    # a bucket, so they come out reversed, and the walk starts from peer 2's change (it
    # started from peer 1's: Text:nc before Text:nb)
    want = _empty_importer(loro)
    assert want == [["Map:m", "Text:nb", "Text:nc", "Map:nest", "Counter:b", "Counter:a"]]
    assert _empty_importer(loro_c) == want



def _concurrent_import_after_own_ops(mod, delivery):
    """Peer 3 takes peers 1's and 2's changes in turns between two ops of its own, then
    imports (as `delivery` says) a map edit of peer 1 and a text edit of peer 2, each
    concurrent with its own ops, followed by a counter change of peer 1 that depends on
    both; the targets of the events it got."""
    a, b, c = mod.LoroDoc(), mod.LoroDoc(), mod.LoroDoc()
    a.peer_id, b.peer_id, c.peer_id = 1, 2, 3

    def sync(src, dst):
        dst.import_(src.export(mod.ExportMode.Updates(dst.oplog_vv)))

    c.get_counter("e0")
    a.get_counter("c").increment(1)
    a.get_counter("c").increment(1)
    a.commit()
    sync(a, c)
    c.get_counter("c").increment(1)
    c.commit()
    for _ in range(4):
        b.get_counter("c").increment(2)
    b.commit()
    sync(b, c)
    c.get_counter("c").increment(1)
    c.commit()
    a.get_counter("c").increment(1)
    a.commit()
    b.get_counter("c").increment(1)
    b.commit()
    sync(a, c)
    sync(b, c)
    vv = c.oplog_vv
    a.get_map("m").insert("k", 1)
    a.commit()
    first = a.export(mod.ExportMode.Updates(vv))         # (peer 1's map edit alone)
    sync(b, a)
    mid = a.oplog_vv
    a.get_counter("c").increment(1)
    a.commit()
    last = a.export(mod.ExportMode.Updates(mid))          # (its counter change alone)
    b.get_text("t").insert(0, "x")
    b.commit()
    u = mod.LoroDoc()
    sync(a, u)
    sync(b, u)
    blob = u.export(mod.ExportMode.Updates(vv))
    text = b.export(mod.ExportMode.Updates(vv))
    history = u.export(mod.ExportMode.Updates(mod.VersionVector()))
    got = []
    sub = c.subscribe_root(lambda e: got.append(targets(e)))
    if delivery == "one":
        c.import_(blob)
    elif delivery == "twice":
        c.import_(blob)
        c.import_(blob)
    elif delivery == "batch_twice":
        c.import_batch([blob, blob])
    elif delivery == "last_change_first":
        # peer 1's counter change waits for its map edit
        c.import_(last)
        c.import_(text)
        c.import_(first)
    elif delivery == "reversed_batch":
        c.import_batch([last, text, first])
    elif delivery == "whole_history":
        c.import_(history)
        c.import_(blob)
    del sub
    return got


@pytest.mark.parametrize("delivery", ["one", "twice", "batch_twice", "last_change_first",
                                      "reversed_batch", "whole_history"])
def test_a_concurrent_import_walks_from_the_version_before_as_the_log_holds_its_frontiers(delivery):
    # the import's base is the version before: loro takes its frontiers as the log's own
    # map of them yields them (4@2, 1@3, 2@1), not refilled by descending Lamport (2@1
    # first): the base's version then yields peer 2 before peer 1, the walk meets peer 1's
    # map edit first and the event lists Counter:c, Text:t, Map:m (loro_c had Text:t
    # first)
    want = _concurrent_import_after_own_ops(loro, delivery)
    if delivery == "one":
        assert want == [["Counter:c", "Text:t", "Map:m"]]
    assert _concurrent_import_after_own_ops(loro_c, delivery) == want


def _import_from_a_critical_version(mod, seed, delivery):
    """Three peers (ids drawn from 1, 2, 3, 5 and 200: 1, 2 and 200 share a bucket of a map of
    four) make first changes of a few ops each that every peer takes; then an importer and
    one of the three edit concurrently on that version, a second of the three merges the
    concurrent edit (and the importer's, mostly) and edits, and the importer takes the
    merger's updates as `delivery` says. The concurrent edits meet on a list-like
    container (or none), so loro replays the import from the version of the three first
    changes, a critical version of three heads below the version before; the targets of
    the importer's events (its root containers' names)."""
    import random
    rng = random.Random(seed)
    base = rng.sample([1, 2, 3, 5, 200], 3)
    pid = rng.choice([114, 4, 7, 9, 100, 6])
    other = base[rng.randrange(3)]
    merger = rng.choice([p for p in base if p != other])
    docs = {}
    for p in base + [pid]:
        docs[p] = mod.LoroDoc()
        docs[p].peer_id = p

    def sync(a, b):
        docs[b].import_(docs[a].export(mod.ExportMode.Updates(docs[b].oplog_vv)))

    def edit(d, k):
        for _ in range(k):
            c = rng.choice(["t", "l", "ml", "m", "c"])
            if c == "t":
                t = d.get_text("t")
                t.insert(rng.randint(0, len(t.to_string())), rng.choice("abc"))
            elif c == "l":
                d.get_list("l").insert(0, rng.randint(0, 9))
            elif c == "ml":
                d.get_movable_list("ml").insert(0, rng.randint(0, 9))
            elif c == "m":
                d.get_map("m").insert(rng.choice("xy"), rng.randint(0, 9))
            else:
                d.get_counter("c").increment(1)
        d.commit()

    for p in base:
        edit(docs[p], rng.randint(1, 4))
    order = base[:]
    rng.shuffle(order)
    for a in order:
        for b in base + [pid]:
            if a != b:
                sync(a, b)
    edit(docs[pid], rng.randint(1, 3))
    edit(docs[other], rng.randint(1, 3))
    if rng.random() < 0.5:
        edit(docs[pid], rng.randint(1, 2))
    sync(other, merger)
    if rng.random() < 0.7:
        sync(pid, merger)
    edit(docs[merger], rng.randint(1, 4))
    imp, src = docs[pid], docs[merger]
    got = []
    sub = imp.subscribe_root(lambda e: got.append(targets(e)))
    vv = imp.oplog_vv
    if delivery == "updates":
        imp.import_(src.export(mod.ExportMode.Updates(vv)))
    elif delivery == "json":
        imp.import_json_updates(src.export_json_updates(vv, src.oplog_vv))
    elif delivery == "batch_twice":
        blob = src.export(mod.ExportMode.Updates(vv))
        imp.import_batch([blob, blob])
    elif delivery == "whole_history":
        imp.import_(src.export(mod.ExportMode.Updates(mod.VersionVector())))
    del sub
    return got


# scripts (seeds of _import_from_a_critical_version) whose import loro_c walked in another
# order than loro while it took the critical version's heads by ascending Lamport: the
# walk's peers come from the base's version vector, filled from loro's map of the heads
# (peers 1, 2 and 200 collide there), which loro fills as vv_to_frontiers turns a version
# vector into frontiers (lowered_base_order): the heads of greater Lamport first (114,
# 1052), ties in the order the maps it passes them through leave them (78, 267, 890, 1077,
# 1120, 1176, 1330, and kinds session 4378; kinds session 27, in the default sessions, took
# a tie by the Lamport of the start of each head's DAG node until the meet's own map was
# modelled: loro's stable sort by Lamport alone leaves it as those maps do).
CRITICAL_VERSION_SCRIPTS = (78, 114, 267, 890, 1052, 1077, 1120, 1176, 1330)

# scripts whose heads tie in Lamport and node start, which a map filled by descending peer
# on a tie walked in another order than loro (the lower peer first in 500 and 603, the
# higher in 714, 738 and 1330: no order of the peers alone); as loro turns the base's
# vector into frontiers they come out right. 1, 723, 2193 and 3139 still differed (the maps
# gave the other order) until the base was the meet's own map, filled in the order of the
# document's version map, before it is lowered (tests/test_critical_base_meet_order.py):
# seeds 0-3399 all agree since. With batch_twice 500, 603, 738, 1785, 2066, 2267, 2746,
# 3277 and 3353 failed under every order of the heads: import_batch's move to the latest
# version is a checkout's walk, whose base loro lowers the same way (from the meet, filled
# in the order of frontiers_to_vv's map of the state's frontiers), not found by the meet
# search.
CRITICAL_VERSION_TIES = (500, 603, 714, 738, 1785, 2066, 2267, 2746, 2789, 3277, 3353,
                         1, 723, 2193, 3139)


@pytest.mark.parametrize("delivery", ["updates", "json", "whole_history", "batch_twice"])
@pytest.mark.parametrize("seed", CRITICAL_VERSION_TIES)
def test_an_import_replayed_from_a_critical_version_orders_tied_heads_as_loros_maps(seed,
                                                                                    delivery):
    _critical_version_import_as_loros(seed, delivery)


def _critical_version_import_as_loros(seed, delivery):
    want = _import_from_a_critical_version(loro, seed, delivery)
    assert len(want) == 1 and len(want[0]) >= 2, want
    assert _import_from_a_critical_version(loro_c, seed, delivery) == want


@pytest.mark.parametrize("delivery", ["updates", "json", "batch_twice", "whole_history"])
@pytest.mark.parametrize("seed", CRITICAL_VERSION_SCRIPTS)
def test_an_import_replayed_from_a_critical_version_walks_its_heads_in_loros_order(seed,
                                                                                   delivery):
    _critical_version_import_as_loros(seed, delivery)


# differential sessions with an import whose diffs of one depth came in another order than
# loro's (every import of these seeds now in loro's order): 459 and 604, whose importer's
# version map a local op grew when full (LoroDoc.vv_touches), so its peers come out in
# another order; with the other kinds (kinds=True) 219, an import into an empty document
# (the union a clone of the version before), and 434, whose import brought a change that
# waited for another peer's (loro's version map took that peer first: the peers' first
# records, not the order the log met them; 434 went wrong while only the clone was
# modelled), and 449, whose import loro walks from a base below the version before with
# two first changes whose peers share a bucket: the base's frontiers as loro's map of them
# yields them, filled by descending Lamport (test_an_import_replayed_from_a_critical_...).
@pytest.mark.parametrize("seed,kinds", [(459, False), (604, False), (107, False), (219, True),
                                        (434, True), (449, True), (163, True)])
def test_imports_in_loros_order_in_these_sessions(seed, kinds):
    stats = _session_order_stats(seed, kinds=kinds)
    assert stats["Import"] >= 1, stats
    assert stats["Import differs"] == 0, stats


def _pair_with_subscribers(mod, sub):
    """Peer 1's document, and peer 3's with a root subscriber (its targets go to `got`) and
    one on root map `sub` when given."""
    got = []
    a = mod.LoroDoc()
    a.peer_id = 1
    b = mod.LoroDoc()
    b.peer_id = 3
    subs = [b.subscribe_root(lambda e: got.append(targets(e)))]
    if sub:
        subs.append(b.subscribe(mod.ContainerID.Root(sub, mod.ContainerType.Map()), lambda e: None))
    return a, b, got, subs


def _import_one_change(mod, before, sub, body):
    """Peer 3 (subscribed to the root, and to root map `sub` when given) imports one change
    of peer 1 that follows its version: `before` "own" (peer 3 made the change peer 1's
    depends on), "imp" (peer 3 imported peer 1's earlier one) or "none"."""
    a, b, got, subs = _pair_with_subscribers(mod, sub)
    if before == "own":
        b.get_text("u").insert(0, "x")
        b.commit()
        a.import_(b.export(mod.ExportMode.Updates(a.oplog_vv)))
    elif before == "imp":
        a.get_text("u").insert(0, "x")
        a.commit()
        b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    for step in body:
        if step == "L":     # an empty child map in a list
            a.get_list("l").insert_container(0, mod.LoroMap())
        elif step == "M":   # an empty child map in a movable list
            a.get_movable_list("ml").insert_container(0, mod.LoroMap())
        elif step == "N":   # a child counter in a list, incremented
            a.get_list("l").insert_container(0, mod.LoroCounter()).increment(2)
        elif step == "X":   # a child text in a map, edited
            a.get_map("m").insert_container("x", mod.LoroText()).insert(0, "q")
        elif step == "K":   # a child counter in a map, incremented by 0
            a.get_map("m").insert_container("b", mod.LoroCounter()).increment(0)
        elif step == "k":   # a child counter in a map, untouched
            a.get_map("m").insert_container("b", mod.LoroCounter())
        elif step == "s":
            a.get_map("m").insert("b", 1)
        elif step == "c":
            a.get_counter("c").increment(1)
        elif step == "t":
            a.get_text("t").insert(0, "ab")
        elif step == "v":
            a.get_list("v").insert(0, 1)
    a.commit()
    got.clear()
    b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    del subs
    return got


# imports whose order each rule gives (found by a search of such scripts; each failed
# before its rule): loro's state applies the calculator's diffs sorted by depth, in that
# order into the event's map (a deeper diff the calculator's map yields first comes after
# the roots there: depth 2 children with diffs of their own); a map's new counter without
# a diff of its own (no ops, or ops adding up to 0) is in no calculator map, as the map's
# calculator of such an import reports no child: loro's state revives it when the map's
# diff shows it, after the diffs of its depth (so the list's new, empty child map is the
# calculator map's fourth key, and the counter is not); a movable list's calculator
# reports no new child either in such an import (it does only when it replays the list
# from an ancestor), where a list's does.
IMPORT_RULE_CASES = [
    ("Nsc", "none", ""), ("Nst", "none", ""), ("XvN", "own", "a"), ("Xcv", "imp", "a"),
    ("LK", "own", "m"), ("LK", "imp", "m"), ("KvL", "own", ""), ("kLv", "imp", "a"),
    ("sKL", "own", "a"), ("KcM", "own", "a"), ("MMvc", "none", ""), ("MMK", "imp", "m"),
]


@pytest.mark.parametrize("body,before,sub", IMPORT_RULE_CASES)
def test_import_diffs_in_loros_order(body, before, sub):
    want = _import_one_change(loro, before, sub, body)
    assert len(want) == 1 and len(want[0]) >= 3
    assert _import_one_change(loro_c, before, sub, body) == want


def _concurrent_import(mod, own, body, sub):
    """Peer 3 (subscribed to the root, and to root map `sub` when given) commits `own`, then
    imports peer 1's concurrent change `body` (R: a tree node created, N: one whose meta
    map holds a map holding a counter, Q: a text in a movable list, L: a list in a list)."""
    def step(d, s):
        if s == "R":
            d.get_tree("tr").create()
        elif s == "c":
            d.get_counter("c").increment(1)
        elif s == "t":
            d.get_text("t").insert(0, "ab")
        elif s == "v":
            d.get_list("v").insert(0, 1)
        elif s == "s":
            d.get_map("m").insert("b", 1)
        elif s == "M":
            d.get_movable_list("ml").insert(0, 1)
        elif s == "Q":
            d.get_movable_list("ml").insert_container(0, mod.LoroText())
        elif s == "L":
            d.get_list("l").insert_container(0, mod.LoroList())
        elif s == "N":
            t = d.get_tree("tr")
            meta = t.get_meta(t.create())
            meta.insert_container("x", mod.LoroMap()).insert_container("y", mod.LoroCounter())
    a, b, got, subs = _pair_with_subscribers(mod, sub)
    for s in own:
        step(b, s)
    b.commit()
    for s in body:
        step(a, s)
    a.commit()
    got.clear()
    b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    del subs
    return got


# concurrent imports with a tree node created: loro's tree calculator, replaying from an
# ancestor, reports the node's meta map new, so it joins the calculator's map (found by a
# search of such scripts; each failed before: 36 of 518 were fixed, 17 others broke, and
# 19 still differ, for reasons not modelled: docs/ARCHITECTURE.md)
TREE_META_CASES = [("RR", "McR", ""), ("s", "RsscM", "m"), ("cR", "cRtt", "m"), ("sR", "ctR", ""),
                   ("tv", "Rvssv", "")]


@pytest.mark.parametrize("own,body,sub", TREE_META_CASES)
def test_concurrent_import_counts_created_nodes_meta_maps(own, body, sub):
    want = _concurrent_import(loro, own, body, sub)
    assert len(want) == 1 and len(want[0]) >= 3
    assert _concurrent_import(loro_c, own, body, sub) == want


# concurrent imports that loro calculates from the version before: the calculator of a
# movable list or tree that only the import edits hands on its changes then, reporting no
# new child of the list (where a list's does: the list's child alone joins the calculator's
# map) and no created node's meta map; a map both sides edited is in the calculator's map
# when a key's winner is now the import's write of the same value (nothing in the event).
# Found by searches of such scripts: 99 of 3,000 and 54 of 3,000 fixed, none broken; seeds
# 11, 14, 37 and 98 of the sessions with movable lists and trees.
ML_CHILD_CASES = [("vs", "QL", ""), ("t", "QL", "m"), ("c", "tQv", ""), ("v", "tQs", ""),
                  ("R", "Qct", ""), ("t", "cRs", ""), ("v", "tcRc", ""), ("c", "vsR", "m"),
                  ("c", "ttsR", ""), ("sv", "sQL", ""), ("Rs", "QQQvs", ""),
                  ("s", "tRsMs", ""), ("sR", "QQRRs", "m")]

# concurrent imports whose tree calculator reports the meta maps of the nodes it creates:
# the containers under such a meta map without calculators of their own (a child map and
# its counter) stay out of the calculator's map, loro's state revives them after the meta
# map (found by a search of such scripts: 5 of 2,000 fixed, none broken; seed 108 of the
# sessions with movable lists and trees)
META_CHILD_CASES = [("sR", "NLRcs", ""), ("sRR", "NcsNL", ""), ("sN", "cLsN", "m")]


@pytest.mark.parametrize("own,body,sub", META_CHILD_CASES)
def test_concurrent_import_leaves_meta_maps_children_to_the_state(own, body, sub):
    want = _concurrent_import(loro, own, body, sub)
    assert len(want) == 1 and len(want[0]) >= 3
    assert _concurrent_import(loro_c, own, body, sub) == want


@pytest.mark.parametrize("own,body,sub", ML_CHILD_CASES)
def test_concurrent_import_from_the_version_before_reports_no_new_child(own, body, sub):
    want = _concurrent_import(loro, own, body, sub)
    assert len(want) == 1 and len(want[0]) >= 2
    assert _concurrent_import(loro_c, own, body, sub) == want


def _commits_after_a_load_with_a_dead_child(mod, between):
    """The orders of commits touching t, l, m and c (all their orders) on a document that
    loaded a snapshot whose history holds a dead child no frontier change block names (a
    text peer 3 made and replaced in m, imported whole: not in the state), having
    registered m first (subscribed) and t by a commit since; `between(d, mod, f0)` runs
    after that commit (f0: peer 1's first version), its result kept alive to the end."""
    out = []
    for order in itertools.permutations("tlmc"):
        a = mod.LoroDoc()
        a.peer_id = 3
        a.get_map("m").insert_container("d", mod.LoroText())
        a.get_map("m").insert("d", 1)
        a.commit()
        src = mod.LoroDoc()
        src.peer_id = 1
        src.import_(a.export(mod.ExportMode.Updates(src.oplog_vv)))
        src.get_list("l").insert_container(0, mod.LoroMap())
        src.commit()
        d = mod.LoroDoc()
        d.peer_id = 2
        got = []
        subs = [d.subscribe_root(lambda e: got.append(targets(e))),
                d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()), lambda e: None)]
        d.import_(src.export(mod.ExportMode.Snapshot()))
        d.get_text("t").insert(0, "x")
        d.commit()
        kept = between(d, mod, mod.Frontiers.from_ids([mod.ID(1, 0)]))
        got.clear()
        for n in order:
            edit(d, mod, n, False)
        d.commit()
        out.append(got[-1])
        del subs, kept
    return out


def _checkout_and_back(d, mod, f0):
    d.checkout(f0)
    d.checkout_to_latest()


_BETWEEN = {False: lambda d, mod, f0: None, True: _checkout_and_back}


@pytest.mark.parametrize("checkout", [False, True])
def test_loaded_history_containers_are_numbered_at_the_next_checkout(checkout):
    # loro registers the containers of a loaded snapshot's history that neither the
    # frontier change blocks nor the state name when a checkout parses their blocks, after
    # the containers commits made since (seed 164 of the plain differential sessions)
    want = _commits_after_a_load_with_a_dead_child(loro, _BETWEEN[checkout])
    assert _commits_after_a_load_with_a_dead_child(loro_c, _BETWEEN[checkout]) == want


_HISTORY_READS = {
    "diff": lambda d, m, f0: d.diff(f0, d.oplog_frontiers),
    "diff_from_empty": lambda d, m, f0: d.diff(m.Frontiers(), d.oplog_frontiers),
    "diff_at_one_old_version": lambda d, m, f0: d.diff(f0, f0),
    "revert_to": lambda d, m, f0: d.revert_to(f0),
    "fork_at": lambda d, m, f0: d.fork_at(d.oplog_frontiers),
    "shallow_snapshot": lambda d, m, f0: d.export(m.ExportMode.ShallowSnapshot(f0)),
    "state_only": lambda d, m, f0: d.export(m.ExportMode.StateOnly(f0)),
    "snapshot_at": lambda d, m, f0: d.export(m.ExportMode.SnapshotAt(f0)),
    "undo": lambda d, m, f0: _typed_and_undone(d, m),
    # (no numbers: both ends the state's version)
    "diff_of_the_state": lambda d, m, f0: d.diff(d.oplog_frontiers, d.oplog_frontiers),
    "revert_to_the_state": lambda d, m, f0: d.revert_to(d.oplog_frontiers),
}


def _typed_and_undone(d, mod):
    u = mod.UndoManager(d)
    d.get_text("t").insert(0, "y")
    d.commit()
    u.undo()
    return u


@pytest.mark.parametrize("read", sorted(_HISTORY_READS))
def test_loaded_history_containers_are_numbered_when_loro_parses_the_history(read):
    # loro parses the loaded history's change blocks for a diff (unless both ends are the
    # state's version), a revert, an undo, a fork and a shallow, state-only or
    # at-a-version snapshot export, and numbers their containers then, as at a checkout
    want = _commits_after_a_load_with_a_dead_child(loro, _HISTORY_READS[read])
    assert _commits_after_a_load_with_a_dead_child(loro_c, _HISTORY_READS[read]) == want


def _import_over_a_lowered_base(mod, pa, pb, pc, rounds):
    """The Import event of peer `pa`, which edited m and l concurrently with a change of
    peer 7 (m, then l), when that change comes in: loro replays both sides from a base
    below the version before (a critical version), whose frontiers are pa's first change
    and pc's change on pb's and its own `rounds` ops; the walk takes the peers in the
    order of loro's map of the base's version vector, filled from the map of those
    frontiers."""
    a, b, c, d = (mod.LoroDoc() for _ in range(4))
    for doc, peer in zip((a, b, c, d), (pa, pb, pc, 7)):
        doc.peer_id = peer
    a.get_map("m").insert("a", 1)
    a.commit()
    for _ in range(rounds):
        c.get_counter("c").increment(1)
        c.commit()
        b.get_text("t").insert(0, "x")
        b.commit()
    c.import_(b.export(mod.ExportMode.Snapshot()))
    c.get_counter("c").increment(2)
    c.commit()
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.import_(c.export(mod.ExportMode.Snapshot()))
    b.get_list("l").insert(0, 1)
    b.commit()
    a.import_(c.export(mod.ExportMode.Snapshot()))
    a.get_map("m").insert("b", 2)
    a.commit()
    a.import_(b.export(mod.ExportMode.Snapshot()))
    a.get_list("l").insert(0, 2)
    a.commit()
    d.import_(b.export(mod.ExportMode.Snapshot()))
    d.get_map("m").insert("c", 3)
    d.get_list("l").insert(0, 3)
    d.commit()
    got = []
    sub = a.subscribe_root(lambda e: got.append(targets(e)))
    a.import_(d.export(mod.ExportMode.Updates(a.oplog_vv)))
    del sub
    return got


@pytest.mark.parametrize("peers", [(1, 2, 3), (1, 2, 4), (1, 2, 5), (3, 5, 4), (2, 1, 3),
                                   (4, 5, 1)])
@pytest.mark.parametrize("rounds", [2, 4, 5])
def test_an_import_over_a_lowered_base_walks_its_frontiers_as_loros_map_holds_them(peers,
                                                                                    rounds):
    # loro turns the lowered base, a version vector cloned from the version before's, into
    # frontiers as vv_to_frontiers does (through shrink_frontiers' maps, the greatest
    # Lamport first): not by ascending Lamport (plain session 8736, kinds 5487; 14 of 480
    # such scripts over peers 1-5 differed taken so)
    want = _import_over_a_lowered_base(loro, *peers, rounds)
    assert len(want) == 1 and len(want[0]) == 2
    assert _import_over_a_lowered_base(loro_c, *peers, rounds) == want
