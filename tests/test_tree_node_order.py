"""LoroTree.nodes() lists nodes in loro's order: its tree state's hash map of nodes (hashbrown
with FxHasher), which a local move or delete of a node the map holds may grow."""
import random

import loro
import pytest

import loro_c


def _ids(nodes):
    return [(n.peer, n.counter) for n in nodes]


def _local_edits(mod, seed):
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = rng.choice([1, 7, 2**40 + 3])
    tree = doc.get_tree("t")
    for _ in range(rng.randrange(1, 50)):
        alive = sorted((n for n in tree.nodes() if not tree.is_node_deleted(n)),
                       key=lambda n: (n.peer, n.counter))
        r = rng.random()
        if r < 0.6 or not alive:
            tree.create(rng.choice(alive) if alive and rng.random() < .5 else None)
        elif r < 0.8:
            target = rng.choice(alive)
            parent = rng.choice(alive) if rng.random() < .6 else None
            try:
                tree.mov(target, parent)
            except BaseException:   # a cycle: both refuse it (loro's error type differs)
                pass
        else:
            tree.delete(rng.choice(alive))
        if rng.random() < 0.5:
            doc.commit()
    doc.commit()
    return doc


@pytest.mark.parametrize("seed", range(120))
def test_nodes_order_after_local_edits(seed):
    want = _ids(_local_edits(loro, seed).get_tree("t").nodes())
    got = _ids(_local_edits(loro_c, seed).get_tree("t").nodes())
    assert got == want


def test_nodes_order_grows_on_a_delete_of_a_full_map():
    # three nodes fill a map of 4 buckets; deleting one re-inserts it, which grows the map
    # to 8 buckets and changes its order
    def run(mod):
        doc = mod.LoroDoc()
        doc.peer_id = 1
        tree = doc.get_tree("t")
        a = tree.create()
        tree.create(a)
        tree.create()
        tree.delete(a)
        return _ids(tree.nodes())
    assert run(loro_c) == run(loro) == [(1, 1), (1, 0), (1, 2)]


# -- after imports, checkouts and snapshot loads: loro applies its tree diff item by item to
# that map (a remove for a node whose creation it takes back leaves a tombstone), and loads a
# snapshot's nodes in the order the snapshot lists them; loro_c's map takes the same steps.

def _check(doc):
    if doc.__class__.__module__.startswith("loro_c"):
        from loro_c._doc import check_tree_maps
        check_tree_maps(doc)


def _nodes(doc, name="t"):
    _check(doc)
    return _ids(doc.get_tree(name).nodes())


def _edit(rng, doc, name="t"):
    """One random local op on tree `name`: a create (often), a move, a delete."""
    tree = doc.get_tree(name)
    alive = sorted((n for n in tree.nodes() if not tree.is_node_deleted(n)),
                   key=lambda n: (n.peer, n.counter))
    r = rng.random()
    if r < 0.55 or not alive:
        tree.create(rng.choice(alive) if alive and rng.random() < .5 else None)
    elif r < 0.8:
        try:
            tree.mov(rng.choice(alive), rng.choice(alive) if rng.random() < .6 else None)
        except BaseException:   # a cycle: both refuse it (loro's error type differs)
            pass
    else:
        tree.delete(rng.choice(alive))


def _checkout_and_back(mod, seed):
    """A doc of local edits checked out at a random earlier version (loro's checkout takes
    the later creations back out of its map: tombstones), then back to the latest."""
    doc = _local_edits(mod, seed)
    rng = random.Random(seed + 1000)
    end = doc.oplog_vv.get_last(doc.peer_id)
    doc.checkout(mod.Frontiers.from_ids([mod.ID(doc.peer_id, rng.randrange(end + 1))]))
    mid = _nodes(doc)
    doc.checkout_to_latest()
    return mid, _nodes(doc)


@pytest.mark.parametrize("seed", range(60))
def test_nodes_order_after_checkout_and_back(seed):
    assert _checkout_and_back(loro_c, seed) == _checkout_and_back(loro, seed)


def _snapshot_loaded(mod, seed, edits_after):
    doc = mod.LoroDoc()
    doc.peer_id = 99
    doc.import_(_local_edits(mod, seed).export(mod.ExportMode.Snapshot()))
    if edits_after:
        rng = random.Random(seed)
        for _ in range(rng.randrange(1, 20)):
            _edit(rng, doc)
        doc.commit()
    return _nodes(doc)


@pytest.mark.parametrize("seed", range(40))
def test_nodes_order_after_snapshot_load(seed):
    # loro decodes a snapshot's tree into its map in the order its encoder lists the nodes
    assert _snapshot_loaded(loro_c, seed, False) == _snapshot_loaded(loro, seed, False)


@pytest.mark.parametrize("seed", range(40))
def test_nodes_order_after_snapshot_load_and_edits(seed):
    assert _snapshot_loaded(loro_c, seed, True) == _snapshot_loaded(loro, seed, True)


def _synced_peers(mod, seed):
    """Three peers editing one tree, one of them importing from another now and then
    (concurrent imports: loro's diff takes moves back and replays them), then the first
    importing the other two."""
    rng = random.Random(seed)
    docs = []
    for peer in (1, 7, 2**40 + 3):
        doc = mod.LoroDoc()
        doc.peer_id = peer
        docs.append(doc)
    for _ in range(rng.randrange(1, 50)):
        doc = rng.choice(docs)
        _edit(rng, doc)
        doc.commit()
        if rng.random() < 0.15:
            a, b = rng.sample(docs, 2)
            b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    first = docs[0]
    for other in docs[1:]:
        first.import_(other.export(mod.ExportMode.Updates(first.oplog_vv)))
    return _nodes(first)


@pytest.mark.parametrize("seed", range(40))
def test_nodes_order_after_imports(seed):
    assert _synced_peers(loro_c, seed) == _synced_peers(loro, seed)


def _session(mod, seed):
    """Many peers on two trees: local edits, imports of each other's updates (some held
    back and delivered out of order), checkouts to old versions and back (imports while
    checked out), snapshot loads into new peers that go on editing.
    Every tree's nodes() order is recorded after each step."""
    rng = random.Random(seed)
    n_peers = rng.randrange(2, 6)
    docs = []
    for i in range(n_peers):
        doc = mod.LoroDoc()
        doc.peer_id = [3, 11, 2**33 + 5, 77, 2**62 + 1, 5][i]
        docs.append(doc)
    peers = [doc.peer_id for doc in docs]
    held = []                   # updates not delivered yet: (doc index, blob)
    seen = []
    for step in range(rng.randrange(10, 70)):
        i = rng.randrange(n_peers)
        doc = docs[i]
        r = rng.random()
        if r < 0.5:
            _edit_and_commit(rng, doc)
        elif r < 0.7:
            src = rng.choice(docs)
            if src is not doc:
                blob = src.export(mod.ExportMode.Updates(doc.oplog_vv))
                if rng.random() < 0.3:
                    held.append((i, blob))
                else:
                    doc.import_(blob)
        elif r < 0.78 and held:
            j, blob = held.pop(rng.randrange(len(held)))
            docs[j].import_(blob)
        elif r < 0.88:
            vv = doc.oplog_vv
            ends = [(p, vv.get_last(p)) for p in peers if vv.get_last(p) is not None]
            if ends:
                p, last = rng.choice(ends)
                doc.checkout(mod.Frontiers.from_ids([mod.ID(p, rng.randrange(last + 1))]))
                seen.append(("co", step, _nodes(doc), _nodes(doc, "u")))
                if rng.random() < 0.3:
                    # an import while checked out: the state stays, the log grows
                    src = rng.choice(docs)
                    if src is not doc:
                        doc.import_(src.export(mod.ExportMode.Updates(doc.oplog_vv)))
                if rng.random() < 0.5:
                    doc.checkout_to_latest()
                else:
                    doc.attach()
        elif r < 0.95:
            fresh = mod.LoroDoc()
            fresh.peer_id = 1000 + step
            peers.append(fresh.peer_id)
            fresh.import_(doc.export(mod.ExportMode.Snapshot()))
            docs[i] = fresh
        if doc.is_detached() and rng.random() < 0.5:
            doc.checkout_to_latest()
        seen.append((step, i, _nodes(docs[i]), _nodes(docs[i], "u")))
    for doc in docs:
        if doc.is_detached():
            doc.checkout_to_latest()
        for other in docs:
            if other is not doc:
                doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
        seen.append(("end", _nodes(doc), _nodes(doc, "u")))
    return seen


@pytest.mark.parametrize("seed", range(60))
def test_nodes_order_in_random_sessions(seed):
    assert _session(loro_c, seed) == _session(loro, seed)


def test_nodes_order_after_checkout_pairs():
    """A document checked out back and forth many times (its map takes each diff's steps:
    tombstones pile up until a rehash in place or a growth clears them)."""
    def run(mod):
        doc = mod.LoroDoc()
        doc.peer_id = 5
        tree = doc.get_tree("t")
        marks = []
        rng = random.Random(4)
        for k in range(12):
            for _ in range(rng.randrange(1, 6)):
                _edit(rng, doc)
            doc.commit()
            marks.append(doc.state_frontiers)
        seen = []
        for k in range(30):
            doc.checkout(marks[rng.randrange(len(marks))])
            seen.append(_nodes(doc))
            doc.checkout_to_latest()
            seen.append(_nodes(doc))
        return seen
    assert run(loro_c) == run(loro)


def test_id_map_matches_a_python_model_of_the_table():
    """The C map (inserts, removes, tombstones, rehash in place, growth) against a direct
    model of hashbrown's table in Python."""
    from loro_c._tree import IdMap
    rng = random.Random(7)
    for trial in range(30):
        mp = IdMap()
        model = _Table()
        keys = [(rng.choice([1, 2, 2**40 + 3]), rng.randrange(60)) for _ in range(80)]
        for _ in range(rng.randrange(1, 400)):
            key = rng.choice(keys)
            if rng.random() < 0.6:
                mp.add(key)
                model.insert(key)
            else:
                mp.discard(key)
                model.remove(key)
            mp.check()
        assert mp.order() == model.order()


class _Table:
    """hashbrown's RawTable, step by step (insert reserves first; remove leaves a tombstone
    where a group around the bucket has no empty bucket; growth rehashes in place when half
    the capacity holds the items, else resizes in iteration order)."""

    def __init__(self):
        self.ctrl, self.keys, self.growth_left, self.items = [], [], 0, 0

    @staticmethod
    def _hash(key):
        from loro_c.hash_order import _hash_id
        return _hash_id(key)

    @staticmethod
    def _cap(n):
        return n - 1 if n <= 8 else n // 8 * 7

    def _slot(self, h):
        n = len(self.ctrl)
        pos = h & (n - 1)
        if n < 16:
            for i in list(range(pos, n)) + list(range(n)):
                if self.ctrl[i] != 2:
                    return i
        stride = 0
        while True:
            for b in range(16):
                i = (pos + b) & (n - 1)
                if self.ctrl[i] != 2:
                    return i
            stride += 16
            pos = (pos + stride) & (n - 1)

    def _resize(self, cap):
        old = self.order()
        n = 4 if cap < 4 else 8 if cap < 8 else 1 << (cap * 8 // 7 - 1).bit_length()
        self.ctrl, self.keys = [0] * n, [None] * n
        for key in old:
            i = self._slot(self._hash(key))
            self.ctrl[i], self.keys[i] = 2, key
        self.growth_left = self._cap(n) - len(old)

    def _rehash_in_place(self):
        n = len(self.ctrl)
        mask = n - 1
        self.ctrl = [1 if c == 2 else 0 for c in self.ctrl]
        for i in range(n):
            if self.ctrl[i] != 1:
                continue
            while True:
                h = self._hash(self.keys[i])
                j = self._slot(h)
                start = h & mask
                if ((i - start) & mask) // 16 == ((j - start) & mask) // 16:
                    self.ctrl[i] = 2
                    break
                prev = self.ctrl[j]
                self.ctrl[j] = 2
                if prev == 0:
                    self.ctrl[i] = 0
                    self.keys[j], self.keys[i] = self.keys[i], None
                    break
                self.keys[i], self.keys[j] = self.keys[j], self.keys[i]
        self.growth_left = self._cap(n) - self.items

    def _find(self, key):
        for i, c in enumerate(self.ctrl):
            if c == 2 and self.keys[i] == key:
                return i
        return -1

    def insert(self, key):
        if self.growth_left == 0:
            cap = self._cap(len(self.ctrl)) if self.ctrl else 0
            if self.items + 1 <= cap // 2:
                self._rehash_in_place()
            else:
                self._resize(max(self.items + 1, cap + 1))
        if self._find(key) >= 0:
            return
        i = self._slot(self._hash(key))
        if self.ctrl[i] == 0:
            self.growth_left -= 1
        self.ctrl[i], self.keys[i] = 2, key
        self.items += 1

    def remove(self, key):
        i = self._find(key)
        if i < 0:
            return
        n = len(self.ctrl)
        tomb = False
        if n >= 16:
            before = 0
            while before < 16 and self.ctrl[(i - 1 - before) % n] != 0:
                before += 1
            after = 0
            while after < 16 and self.ctrl[(i + after) % n] != 0:
                after += 1
            tomb = before + after >= 16
        if tomb:
            self.ctrl[i] = 1
        else:
            self.ctrl[i] = 0
            self.growth_left += 1
        self.keys[i] = None
        self.items -= 1

    def order(self):
        return [self.keys[i] for i, c in enumerate(self.ctrl) if c == 2]


# -- fork, fork_at, import_batch, shallow snapshots: loro forks through a snapshot of the
# state (its map in the snapshot's order), and loads a shallow snapshot without the latest
# state by decoding the root's state and checking the latest version out.

def _peer_docs(mod, peer_ids):
    """New documents with the given peer ids, and the list of peers seen so far."""
    docs = []
    for peer in peer_ids:
        doc = mod.LoroDoc()
        doc.peer_id = peer
        docs.append(doc)
    return docs, list(peer_ids)


def _edit_and_commit(rng, doc):
    for _ in range(rng.randrange(1, 4)):
        _edit(rng, doc, rng.choice("tu"))
    doc.commit()


def _fork_session(mod, seed):
    """Three peers editing two trees, exchanging updates, replaced now and then by a fork,
    a fork at an earlier version, or a fresh document that imports every peer's history
    in one import_batch; others import_batch the rest's updates."""
    rng = random.Random(seed)
    docs, peers = _peer_docs(mod, (3, 11, 2**33 + 5))
    seen = []
    for step in range(rng.randrange(10, 50)):
        i = rng.randrange(len(docs))
        doc = docs[i]
        r = rng.random()
        if r < 0.45:
            _edit_and_commit(rng, doc)
        elif r < 0.6:
            src = rng.choice(docs)
            if src is not doc:
                doc.import_(src.export(mod.ExportMode.Updates(doc.oplog_vv)))
        elif r < 0.7:
            docs[i] = doc.fork()
            docs[i].peer_id = 500 + step
            peers.append(docs[i].peer_id)
        elif r < 0.8:
            vv = doc.oplog_vv
            p, last = rng.choice([(p, vv.get_last(p)) for p in peers
                                  if vv.get_last(p) is not None] or [(None, None)])
            if p is not None:
                docs[i] = doc.fork_at(mod.Frontiers.from_ids([mod.ID(p, rng.randrange(last + 1))]))
                docs[i].peer_id = 500 + step
                peers.append(docs[i].peer_id)
        elif r < 0.9:
            blobs = [o.export(mod.ExportMode.Updates(doc.oplog_vv)) for o in docs if o is not doc]
            rng.shuffle(blobs)
            doc.import_batch(blobs)
        else:
            fresh = mod.LoroDoc()
            fresh.peer_id = 500 + step
            peers.append(fresh.peer_id)
            blobs = [o.export(mod.ExportMode.Updates(mod.VersionVector())) for o in docs]
            rng.shuffle(blobs)
            fresh.import_batch(blobs)
            docs[i] = fresh
        seen.append((step, i, _nodes(docs[i]), _nodes(docs[i], "u")))
    return seen


@pytest.mark.parametrize("seed", range(50))
def test_nodes_order_after_forks_and_import_batch(seed):
    assert _fork_session(loro_c, seed) == _fork_session(loro, seed)


def _shallow_session(mod, seed):
    """Two peers editing two trees and exchanging updates; now and then one is replaced by
    a document loaded from its shallow snapshot, rooted at its latest version or at an
    earlier id (loro roots it at a single id: from the empty version when none fits)."""
    rng = random.Random(seed)
    docs, peers = _peer_docs(mod, (3, 11))
    seen = []
    for step in range(rng.randrange(10, 50)):
        i = rng.randrange(len(docs))
        doc = docs[i]
        r = rng.random()
        if r < 0.55:
            _edit_and_commit(rng, doc)
        elif r < 0.75:
            src = rng.choice(docs)
            # (shallow peers only edit: which updates loro lets a shallow document import
            # or export is not what this test is about)
            if src is not doc and not src.is_shallow() and not doc.is_shallow():
                doc.import_(src.export(mod.ExportMode.Updates(doc.oplog_vv)))
        elif not doc.is_shallow():
            frontiers = doc.oplog_frontiers
            vv = doc.oplog_vv
            ends = [(p, vv.get_last(p)) for p in peers if vv.get_last(p) is not None]
            if ends and rng.random() < 0.5:
                p, last = rng.choice(ends)
                frontiers = mod.Frontiers.from_ids([mod.ID(p, rng.randrange(last + 1))])
            fresh = mod.LoroDoc()
            fresh.peer_id = 700 + step
            peers.append(fresh.peer_id)
            fresh.import_(doc.export(mod.ExportMode.ShallowSnapshot(frontiers)))
            seen.append(("shallow", step, _nodes(fresh), _nodes(fresh, "u")))
            docs[i] = fresh
        seen.append((step, i, _nodes(docs[i]), _nodes(docs[i], "u")))
    return seen


@pytest.mark.parametrize("seed", range(50))
def test_nodes_order_after_shallow_snapshot_loads(seed):
    assert _shallow_session(loro_c, seed) == _shallow_session(loro, seed)


def test_nodes_order_after_a_large_shallow_snapshot_load():
    """loro's shallow snapshot with more than 256 ops after its root carries the latest
    state: loro decodes it (the snapshot's order) instead of checking it out. (loro's blob,
    loaded into both: loro_c's export leaves the latest state out.)"""
    rng = random.Random(3)
    doc = loro.LoroDoc()
    doc.peer_id = 9
    for _ in range(40):
        _edit(rng, doc)
    doc.commit()
    root = doc.oplog_frontiers
    for _ in range(400):
        _edit(rng, doc)
    doc.commit()
    blob = doc.export(loro.ExportMode.ShallowSnapshot(root))
    got = []
    for mod in (loro_c, loro):
        fresh = mod.LoroDoc()
        fresh.import_(blob)
        got.append(_nodes(fresh))
    assert got[0] == got[1]
