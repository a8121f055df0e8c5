"""LoroTree events against loro 1.17.1: Diff.Tree items of local commits (loro's handler
hints) equal loro's; every event, imports and checkouts included, turns a mirror of the
tree into the tree."""
import os
import random

import loro
import pytest

import loro_c

from _events_util import hub_and_peers
from test_tree_differential import _edit

SESSIONS = 10 if os.environ.get("CI") else int(os.environ.get("TREE_SESSIONS", 30))


def _tid(t):
    return None if t is None else (t.peer, t.counter)


def _items(event, tree_cid):
    """The tree's items of an event, as plain tuples (None: the tree has no diff)."""
    for cd in event.events:
        if str(cd.target) == str(tree_cid) or cd.target == tree_cid:
            out = []
            for it in cd.diff.diff.diff:
                a = it.action
                kind = type(a).__name__
                if kind.endswith("Create"):
                    out.append(("create", _tid(it.target), _tid(a.parent), a.index, a.fractional_index))
                elif kind.endswith("Move"):
                    out.append(("move", _tid(it.target), _tid(a.parent), a.index, a.fractional_index,
                                _tid(a.old_parent), a.old_index))
                else:
                    out.append(("delete", _tid(it.target), _tid(a.old_parent), a.old_index))
            return out
    return None


class _Mirror:
    """A tree's parent -> children lists rebuilt from events alone. A deleted node keeps
    its children (they are hidden with it), as loro's local events assume; a created one
    starts empty (a node shown again is followed by creates of its children)."""

    def __init__(self):
        self.kids = {}
        self.where = {}

    def _take(self, node, parent, index):
        old = self.kids.get(parent, [])
        if index is not None and index < len(old) and old[index] == node:
            del old[index]
        elif node in self.where and node in self.kids.get(self.where[node], []):
            # (loro's hint for a respread sibling gives the moved node's old index)
            self.kids[self.where[node]].remove(node)
        self.where.pop(node, None)

    def apply(self, items):
        for it in items or ():
            if it[0] == "create":
                # a node shown again: its children come with creates of their own
                self._take(it[1], None, None) if it[1] in self.where else None
                self.kids[it[1]] = []
                self.kids.setdefault(it[2], []).insert(it[3], it[1])
                self.where[it[1]] = it[2]
            elif it[0] == "move":
                self._take(it[1], it[5], it[6])
                self.kids.setdefault(it[2], []).insert(it[3], it[1])
                self.where[it[1]] = it[2]
            else:
                self._take(it[1], it[2], it[3])

    def shown(self):
        out, queue = {}, [None]
        while queue:
            p = queue.pop()
            kids = self.kids.get(p, [])
            if kids:
                out[p] = list(kids)
                queue.extend(kids)
        return out


def _tree_shape(value, parent=None, out=None):
    out = {} if out is None else out
    if value:
        out[parent] = [tuple(map(int, reversed(n["id"].split("@")))) for n in value]
        for n in value:
            _tree_shape(n["children"], tuple(map(int, reversed(n["id"].split("@")))), out)
    return out


_SUBS = []


def _session(mod, seed, rounds):
    rng = random.Random(seed)
    docs, logs, mirrors = [], [], []
    for i in range(3):
        d = mod.LoroDoc()
        d.peer_id = i + 1
        t = d.get_tree("tree")
        log, mirror = [], _Mirror()
        cid = t.id

        def cb(e, log=log, mirror=mirror, cid=cid):
            items = _items(e, cid)
            log.append((str(e.triggered_by).split(".")[-1], items))
            mirror.apply(items)

        _SUBS.append(d.subscribe_root(cb))
        docs.append(d)
        logs.append(log)
        mirrors.append(mirror)
    for _ in range(rounds):
        for d in docs:
            t = d.get_tree("tree")
            for _ in range(rng.randint(1, 4)):
                _edit(rng, mod, t)
            d.commit()
        for d in docs:
            if rng.random() < 0.7:
                src = rng.choice(docs)
                d.import_(src.export(mod.ExportMode.Updates(d.oplog_vv)))
    return docs, logs, mirrors


@pytest.mark.parametrize("seed", range(SESSIONS))
def test_tree_events_as_loro(seed):
    A, logA, mirA = _session(loro, seed, 3 + seed % 3)
    B, logB, mirB = _session(loro_c, seed, 3 + seed % 3)
    for a, b, la, lb, ma, mb in zip(A, B, logA, logB, mirA, mirB):
        assert b.get_deep_value() == a.get_deep_value()
        # local commits: loro's items exactly
        assert [i for k, i in lb if k == "Local"] == [i for k, i in la if k == "Local"]
        # imports: events that turn a mirror into the tree (loro replays a concurrent
        # import from the common ancestor and may report unchanged nodes deleted and
        # created again; and it sends an event even when nothing shown changed)
        assert mb.shown() == _tree_shape(b.get_deep_value()["tree"])


@pytest.mark.parametrize("seed", range(SESSIONS))
def test_checkout_events_turn_a_mirror(seed):
    B, logB, mirB = _session(loro_c, 500 + seed, 3)
    d = loro_c.LoroDoc()
    for b in B:
        d.import_(b.export(loro_c.ExportMode.Updates(d.oplog_vv)))
    cid = d.get_tree("tree").id
    mirror = _Mirror()
    for p, kids in _tree_shape(d.get_deep_value()["tree"]).items():
        mirror.kids[p] = list(kids)
        mirror.where.update((k, p) for k in kids)
    sub = d.subscribe_root(lambda e: mirror.apply(_items(e, cid)))
    rng = random.Random(seed)
    versions = [b.state_frontiers for b in B] + [loro_c.Frontiers()]
    for _ in range(4):
        d.checkout(rng.choice(versions))
        assert mirror.shown() == _tree_shape(d.get_deep_value().get("tree", []))
    d.checkout_to_latest()
    assert mirror.shown() == _tree_shape(d.get_deep_value()["tree"])


def _hub_of_small_imports(mod, seed):
    """A server's document holding a tree of 600 nodes that imports, one by one, updates of
    a few ops (creates, moves among siblings and across, deletes, meta edits) from two
    peers editing in turns; the tree's items of each event (imports, and checkouts made
    between)."""
    rng = random.Random(seed)
    base = mod.LoroDoc()
    base.peer_id = 1
    t = base.get_tree("tree")
    nodes = []
    for _ in range(600):
        parent = rng.choice(nodes) if nodes and rng.random() < 0.6 else None
        nodes.append(t.create(parent))
    base.commit()
    hub, peers = hub_and_peers(mod, base.export(mod.ExportMode.Snapshot()))
    log = []
    sub = hub.subscribe_root(lambda e: log.append((str(e.triggered_by).split(".")[-1],
                                                   _items(e, hub.get_tree("tree").id))))
    for step in range(24):
        p = peers[step % 2]
        # each peer has seen the hub's latest state before it edits: its update follows it
        p.import_(hub.export(mod.ExportMode.Updates(p.oplog_vv)))
        pt = p.get_tree("tree")
        for _ in range(rng.randint(1, 4)):
            _edit(rng, mod, pt)
        p.commit()
        hub.import_(p.export(mod.ExportMode.Updates(hub.oplog_vv)))
        if mod is loro_c and step % 4 == 0:
            # (the tree's counts of moves left out and of unsorted sibling lists, and its
            # kept version, among them)
            hub._check_invariants()
        if step % 8 == 3:
            older = hub.state_frontiers
        if step % 8 == 7:
            # a look at an older version and back: later imports follow the latest again
            hub.checkout(older)
            assert hub.is_detached()
            hub.checkout_to_latest()
    del sub
    return log, hub.get_deep_value()


@pytest.mark.parametrize("seed", range(3))
def test_small_imports_into_a_large_tree_give_loros_items(seed):
    # (each import follows the version before: its moves are replayed from there, the
    # moves before it left as they are)
    want, want_value = _hub_of_small_imports(loro, seed)
    got, got_value = _hub_of_small_imports(loro_c, seed)
    assert got_value == want_value
    assert got == want
    assert sum(1 for k, items in got if k == "Import" and items) >= 20
