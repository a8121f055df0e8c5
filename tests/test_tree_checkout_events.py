"""Tree events of checkouts in loro's order: random three-peer sessions of creates, moves
and deletes, synced now and then, replayed in both libraries; a root subscriber on the
merged document sees checkouts to versions of the history and back to the latest; and
every peer of such sessions sees its imports. Every event must turn a mirror of the tree
as loro's does and list loro's exact items (_events.tree_checkout_items replays loro's tree
diff: from the ops both versions hold below the lowest Lamport of an op only one holds)."""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def _tid(t):
    return (t.peer, t.counter)


def _items(events):
    out = []
    for diff in events:
        for it in diff.diff:
            a = it.action
            kind = type(a).__name__.split("_")[-1].split(".")[-1]
            par = lambda p: None if p is None else _tid(p)
            if kind == "Create":
                out.append(("create", _tid(it.target), par(a.parent), a.index, str(a.fractional_index)))
            elif kind == "Move":
                out.append(("move", _tid(it.target), par(a.parent), a.index, str(a.fractional_index),
                            par(a.old_parent), a.old_index))
            else:
                out.append(("delete", _tid(it.target), par(a.old_parent), a.old_index))
    return out


def _edit(rng, lib, d):
    t = d.get_tree("t")
    nodes = sorted((n for n in t.nodes() if not t.is_node_deleted(n)), key=_tid)
    k = rng.random()
    a, b = rng.random(), rng.random()
    try:
        if k < 0.35 or not nodes:
            t.create(nodes[int(a * len(nodes))] if nodes and b < 0.6 else None)
        elif k < 0.7:
            t.mov(nodes[int(a * len(nodes))], nodes[int(b * len(nodes))] if b < 0.8 else None)
        else:
            t.delete(nodes[int(a * len(nodes))])
    except BaseException as e:        # a cycle (loro raises a BaseException subclass)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
    d.commit()


def _play(rng, lib, docs, steps, p_sync):
    """Random edits and one-way syncs among the peers; then the first imports the others.
    Returns the versions each step left its peer at."""
    versions = []
    for _ in range(steps):
        p = rng.randrange(3)
        if rng.random() < p_sync:
            src = docs[rng.randrange(3)]
            if src is not docs[p]:
                docs[p].import_(src.export(lib.ExportMode.Updates(docs[p].oplog_vv)))
        else:
            _edit(rng, lib, docs[p])
        versions.append(docs[p].state_frontiers)
    for d in docs[1:]:
        docs[0].import_(d.export(lib.ExportMode.Updates(docs[0].oplog_vv)))
    return versions


def session(seed):
    """Per library: the merged document and the versions each peer was at."""
    out = {}
    for lib in LIBS:
        rng = random.Random(seed)
        docs = []
        for p in range(3):
            d = lib.LoroDoc()
            d.peer_id = p + 1
            docs.append(d)
        out[lib] = (docs[0], _play(rng, lib, docs, 30, 0.25))
    return out


class Mirror:
    def __init__(self, value):
        self.kids = {}
        self._add(None, value)

    def _add(self, parent, nodes):
        for n in sorted(nodes, key=lambda n: n["index"]):
            self.kids.setdefault(parent, []).append(n["id"])
            self._add(n["id"], n.get("children", []))

    def apply(self, items):
        for it in items:
            if it[0] in ("move", "delete"):
                old = "%d@%d" % (it[1][1], it[1][0])
                par = None if (it[5] if it[0] == "move" else it[2]) is None else \
                    "%d@%d" % tuple(reversed(it[5] if it[0] == "move" else it[2]))
                assert self.kids[par][it[6] if it[0] == "move" else it[3]] == old
                del self.kids[par][it[6] if it[0] == "move" else it[3]]
                if it[0] == "delete":
                    self._drop(old)
            if it[0] in ("create", "move"):
                par = None if it[2] is None else "%d@%d" % (it[2][1], it[2][0])
                self.kids.setdefault(par, []).insert(it[3], "%d@%d" % (it[1][1], it[1][0]))

    def _drop(self, node):
        # a deleted node's subtree goes with it
        for kid in self.kids.pop(node, []):
            self._drop(kid)

    def shown(self):
        return {p: list(k) for p, k in self.kids.items() if k}


def run(seed, tally):
    sides = session(seed)
    rng = random.Random(seed + 1)
    targets = [rng.randrange(30) for _ in range(6)] + [None]
    logs = {lib: [] for lib in LIBS}
    subs = [d.subscribe_root(lambda e, log=logs[lib]: log.extend(
        cd.diff.diff for cd in e.events if type(cd.diff).__name__.split("_")[-1].endswith("Tree")))
        for lib, (d, _) in sides.items()]
    mirror = Mirror(sides[loro_c][0].get_tree("t").get_value())
    for k in targets:
        for lib, (d, versions) in sides.items():
            logs[lib].clear()
            if k is None:
                d.checkout_to_latest()
            else:
                d.checkout(versions[k])
        ours, theirs = _items(logs[loro_c]), _items(logs[loro])
        mirror.apply(ours)
        assert mirror.shown() == Mirror(sides[loro_c][0].get_tree("t").get_value()).shown(), (seed, k)
        assert ours == theirs, (seed, k)
        tally[0] += 1
    del subs


@pytest.mark.parametrize("block", range(4))
def test_checkout_tree_events_in_loros_order(block):
    tally = [0]
    for seed in range(block * 10, block * 10 + 10):
        run(seed, tally)
    assert tally[0] == 70


def _tree_logging_peers(lib, with_trigger):
    """Three peers, each logging the tree items of every event it receives (with the
    event's trigger kind when `with_trigger`); the subscriptions must be kept alive."""
    docs, logs, subs = [], [], []
    for p in range(3):
        d = lib.LoroDoc()
        d.peer_id = p + 1
        docs.append(d)
        log = []
        logs.append(log)

        def record(e, log=log):
            items = _items([cd.diff.diff for cd in e.events
                            if type(cd.diff).__name__.split("_")[-1].endswith("Tree")])
            log.append((str(e.triggered_by).split(".")[-1], items) if with_trigger else items)
        subs.append(d.subscribe_root(record))
    return docs, logs, subs


def import_events(lib, seed):
    """Per peer, the tree items of each import event of a random three-peer session."""
    rng = random.Random(seed)
    docs, logs, subs = _tree_logging_peers(lib, with_trigger=True)
    for _ in range(40):
        p = rng.randrange(3)
        if rng.random() < 0.3:
            src = docs[rng.randrange(3)]
            if src is not docs[p]:
                docs[p].import_(src.export(lib.ExportMode.Updates(docs[p].oplog_vv)))
        else:
            _edit(rng, lib, docs[p])
    del subs
    return [[items for kind, items in log if kind == "Import"] for log in logs]


@pytest.mark.parametrize("block", range(3))
def test_concurrent_import_tree_events_in_loros_order(block):
    seen = 0
    for seed in range(block * 20, block * 20 + 20):
        for peer, (ours, theirs) in enumerate(zip(import_events(loro_c, seed),
                                                  import_events(loro, seed))):
            assert len(ours) == len(theirs), (seed, peer)
            for i, (a, b) in enumerate(zip(ours, theirs)):
                assert a == b, (seed, peer, i)
                seen += 1
    assert seen > 100


def _logged_session(lib, seed, n_edits):
    """Every tree item each of three peers sees in a longer session (imports syncing a
    twentieth of the steps, so they carry many concurrent moves), then the first peer's
    checkouts to five versions and back."""
    rng = random.Random(seed)
    docs, logs, subs = _tree_logging_peers(lib, with_trigger=False)
    versions = _play(rng, lib, docs, n_edits, 0.05)
    for _ in range(5):
        docs[0].checkout(versions[rng.randrange(n_edits)])
    docs[0].checkout_to_latest()
    del subs
    return logs


@pytest.mark.parametrize("seed", [0, 1])
def test_longer_sessions_tree_events_in_loros_order(seed):
    # trees of a few hundred nodes and over a thousand moves (the replay has no size limit)
    ours, theirs = _logged_session(loro_c, seed, 1200), _logged_session(loro, seed, 1200)
    assert [len(x) for x in ours] == [len(x) for x in theirs]
    for p in range(3):
        for i, (a, b) in enumerate(zip(ours[p], theirs[p])):
            assert a == b, (seed, p, i)
