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
