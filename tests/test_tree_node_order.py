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


def _checkout_and_back(mod, seed):
    """A doc of local edits checked out at a random earlier version (loro's checkout takes
    the later creations back out of its map: tombstones), then back to the latest."""
    doc = _local_edits(mod, seed)
    rng = random.Random(seed + 1000)
    end = doc.oplog_vv.get_last(doc.peer_id)
    doc.checkout(mod.Frontiers.from_ids([mod.ID(doc.peer_id, rng.randrange(end + 1))]))
    mid = _ids(doc.get_tree("t").nodes())
    doc.checkout_to_latest()
    return mid, _ids(doc.get_tree("t").nodes())


@pytest.mark.parametrize("seed", range(60))
def test_nodes_order_after_checkout_and_back(seed):
    assert _checkout_and_back(loro_c, seed) == _checkout_and_back(loro, seed)


def _snapshot_loaded(mod, seed, edits_after):
    doc = mod.LoroDoc()
    doc.peer_id = 99
    doc.import_(_local_edits(mod, seed).export(mod.ExportMode.Snapshot()))
    tree = doc.get_tree("t")
    if edits_after:
        rng = random.Random(seed)
        for _ in range(rng.randrange(1, 20)):
            alive = sorted((n for n in tree.nodes() if not tree.is_node_deleted(n)),
                           key=lambda n: (n.peer, n.counter))
            if alive and rng.random() < 0.3:
                tree.delete(rng.choice(alive))
            else:
                tree.create(rng.choice(alive) if alive and rng.random() < .5 else None)
        doc.commit()
    return _ids(tree.nodes())


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
        tree = doc.get_tree("t")
        alive = sorted((n for n in tree.nodes() if not tree.is_node_deleted(n)),
                       key=lambda n: (n.peer, n.counter))
        r = rng.random()
        if r < 0.6 or not alive:
            tree.create(rng.choice(alive) if alive and rng.random() < .5 else None)
        elif r < 0.8:
            try:
                tree.mov(rng.choice(alive), rng.choice(alive) if rng.random() < .6 else None)
            except BaseException:   # a cycle: both refuse it (loro's error type differs)
                pass
        else:
            tree.delete(rng.choice(alive))
        doc.commit()
        if rng.random() < 0.15:
            a, b = rng.sample(docs, 2)
            b.import_(a.export(mod.ExportMode.Updates(b.oplog_vv)))
    first = docs[0]
    for other in docs[1:]:
        first.import_(other.export(mod.ExportMode.Updates(first.oplog_vv)))
    return _ids(first.get_tree("t").nodes())


@pytest.mark.parametrize("seed", range(40))
def test_nodes_order_after_imports(seed):
    assert _synced_peers(loro_c, seed) == _synced_peers(loro, seed)


def test_a_long_running_document_keeps_its_moves_of_version_bounded():
    """nodes() replays the state's moves of version (imports, checkouts) to follow loro's
    order; a server's document takes them without end, so that record must stay bounded
    (past it nodes() keeps listing every node, in the order of local edits)."""
    import tracemalloc

    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    tree = doc.get_tree("t")
    for _ in range(20):
        tree.create()
    doc.commit()
    early = doc.state_frontiers
    doc.get_map("m").insert("k", 1)
    doc.commit()
    late = doc.state_frontiers
    for _ in range(100):                       # past any bound, before measuring
        doc.checkout(early)
        doc.checkout(late)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(1500):
            doc.checkout(early)
            doc.checkout(late)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # one noted move costs a tuple and two lists: 3,000 of them would be far above this
    assert grown < 64 * 1024, grown
    doc.attach()
    assert sorted(_ids(tree.nodes())) == sorted((1, i) for i in range(20))
