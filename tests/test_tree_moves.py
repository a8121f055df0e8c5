"""The movable tree's move log (loro_c._tree.TreeMoves) against loro: random sessions of
three peers creating, moving and deleting nodes (cycles across peers included) are run in
loro; every tree move is read from loro's JSON updates and fed to a TreeMoves in several
delivery orders (shuffled, duplicated moves left out); parents, deletion and the order of
every node's children must be loro's."""
import json
import random

import loro
import pytest

from loro_c._tree import TreeMoves


def _id(s, peers):
    counter, idx = s.split("@")
    return (int(peers[int(idx)]), int(counter))


def tree_moves(doc):
    """[(lamport, peer, counter, target, parent, fractional index bytes)] of the doc's tree."""
    j = json.loads(doc.export_json_updates(loro.VersionVector(), doc.oplog_vv))
    peers = j["peers"]
    out = []
    for ch in j["changes"]:
        cpeer, ccounter = _id(ch["id"], peers)
        for op in ch["ops"]:
            c = op["content"]
            if c["type"] not in ("create", "move", "delete"):
                continue
            lamport = ch["lamport"] + op["counter"] - ccounter
            target = _id(c["target"], peers)
            if c["type"] == "delete":
                parent, fi = "deleted", b""
            else:
                parent = None if c["parent"] is None else _id(c["parent"], peers)
                fi = bytes.fromhex(c.get("fractional_index") or "")
            out.append((lamport, cpeer, op["counter"], target, parent, fi))
    return out


def random_session(rng, steps=40):
    docs = [loro.LoroDoc() for _ in range(3)]
    for i, d in enumerate(docs):
        d.peer_id = i + 1
    for _ in range(steps):
        d = rng.choice(docs)
        t = d.get_tree("tree")
        live = [n for n in t.nodes() if not t.is_node_deleted(n)]
        r = rng.random()
        if r < 0.35 or not live:
            parent = rng.choice(live) if live and rng.random() < 0.6 else None
            t.create(parent)
        elif r < 0.75:
            node = rng.choice(live)
            target = rng.choice(live + [None])
            try:
                t.mov(node, target)
            except BaseException:       # loro refuses a local move into the node itself
                pass
        elif r < 0.85:
            t.delete(rng.choice(live))
        else:
            node = rng.choice(live)
            sibs = [n for n in live if n != node]
            if sibs:
                try:
                    t.mov_after(node, rng.choice(sibs))
                except BaseException:
                    pass
        d.commit()
        if rng.random() < 0.3:
            a, b = rng.sample(docs, 2)
            a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    for a in docs:
        for b in docs:
            if a is not b:
                a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    return docs[0]


def expected(doc):
    t = doc.get_tree("tree")
    nodes = [(n.peer, n.counter) for n in t.nodes()]
    deleted = {(n.peer, n.counter): t.is_node_deleted(n) for n in t.nodes()}
    children = {None: [(n.peer, n.counter) for n in t.children(None)]}
    for n in t.nodes():
        children[(n.peer, n.counter)] = [(c.peer, c.counter) for c in t.children(n) or []]
    return sorted(nodes), deleted, children


def actual(core, nodes):
    deleted = {n: core.is_deleted(n) for n in nodes}
    children = {None: core.children(None)}
    for n in nodes:
        children[n] = core.children(n)
    return sorted(core.node_ids()), deleted, children


@pytest.mark.parametrize("seed", range(40))
def test_moves_in_any_order_give_loros_tree(seed):
    rng = random.Random(seed)
    doc = random_session(rng)
    moves = tree_moves(doc)
    want = expected(doc)
    for order in range(3):
        core = TreeMoves()
        shuffled = list(moves)
        if order:
            rng.shuffle(shuffled)
        for lamport, peer, counter, target, parent, fi in shuffled:
            core.apply(lamport, peer, counter, target, parent, fi)
        core.check()
        assert actual(core, want[0]) == want, (seed, order)


def test_concurrent_moves_forming_a_cycle():
    # x under y by peer 1 and y under x by peer 2, both at Lamport 2: peer 1's applies first,
    # peer 2's would make a cycle and is skipped
    core = TreeMoves()
    x, y = (1, 0), (1, 1)
    core.apply(0, 1, 0, x, None, b"\x80")
    core.apply(1, 1, 1, y, None, b"\x81\x80")
    core.apply(2, 2, 0, y, x, b"\x80")
    assert core.parent(y) == x
    redone = core.apply(2, 1, 2, x, y, b"\x80")     # sorts before peer 2's move
    assert redone == 1
    assert core.parent(x) == y and core.parent(y) is None
    assert core.skipped() == 1
    core.check()


def test_a_late_move_costs_the_moves_after_it():
    core = TreeMoves()
    for i in range(100):
        assert core.apply(i, 1, i, (1, i), None, b"\x80") == 0
    assert core.apply(50, 0, 0, (0, 0), None, b"\x80") == 50
    core.check()


def test_delete_hides_the_subtree_and_a_later_move_brings_it_back():
    core = TreeMoves()
    a, b = (1, 0), (1, 1)
    core.apply(0, 1, 0, a, None, b"\x80")
    core.apply(1, 1, 1, b, a, b"\x80")
    core.apply(2, 1, 2, a, "deleted")
    assert core.is_deleted(a) and core.is_deleted(b) and core.parent(b) == a
    core.apply(3, 2, 0, a, None, b"\x81\x80")
    assert not core.is_deleted(b)
    core.check()


def test_fractional_index_examples():
    from loro_c._tree import fi_new, fi_evenly
    h = bytes.fromhex
    assert fi_new(None, None) == h("80")
    assert fi_new(h("80"), None) == h("8180")
    assert fi_new(None, h("80")) == h("7f80")
    assert fi_new(h("0080"), h("008180")) == h("00817f80")
    assert fi_new(h("80"), h("80")) is None
    spread = fi_evenly(h("80"), None, 3)
    assert spread == sorted(spread) and len(set(spread)) == 3 and spread[0] > h("80")


def _local_session(rng, steps=60):
    d = loro.LoroDoc()
    d.peer_id = 7
    t = d.get_tree("tree")
    for _ in range(steps):
        live = [n for n in t.nodes() if not t.is_node_deleted(n)]
        r = rng.random()
        parent = rng.choice(live) if live and rng.random() < 0.5 else None
        if r < 0.45 or not live:
            n = len(t.children(parent) or [])
            t.create_at(rng.randrange(n + 1), parent)
        elif r < 0.7:
            node = rng.choice(live)
            try:
                n = len(t.children(parent) or [])
                t.mov_to(node, parent, rng.randrange(n + 1))
            except BaseException:
                pass
        elif r < 0.9:
            node, other = rng.choice(live), rng.choice(live)
            try:
                (t.mov_after if rng.random() < 0.5 else t.mov_before)(node, other)
            except BaseException:
                pass
        else:
            t.delete(rng.choice(live))
        d.commit()
    return d


@pytest.mark.parametrize("seed", range(15))
def test_local_moves_get_loros_fractional_indexes(seed):
    rng = random.Random(seed)
    moves = tree_moves(_local_session(rng))
    behind, ahead = TreeMoves(), TreeMoves()
    i = 0
    checked = 0
    while i < len(moves):
        lamport, peer, counter, target, parent, fi = moves[i]
        if parent == "deleted":
            behind.apply(*moves[i])
            ahead.apply(*moves[i])
            i += 1
            continue
        ahead.apply(*moves[i])
        index = ahead.children(parent).index(target)
        want = behind.generate_at(parent, index, target)
        if isinstance(want, list):
            # loro moves the target and the siblings that shared its neighbour's index
            group = moves[i:i + len(want)]
            assert [(m[3], m[5]) for m in group] == want, (seed, i)
            for m in group[1:]:
                ahead.apply(*m)
            for m in group:
                behind.apply(*m)
            i += len(group)
        else:
            assert fi == want, (seed, i, fi.hex(), want.hex())
            behind.apply(*moves[i])
            i += 1
        checked += 1
    assert checked > 20


def test_insert_between_equal_indexes_spreads_them_as_loro():
    a, b = loro.LoroDoc(), loro.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    for d in (a, b):
        d.get_tree("tree").create()       # both get index 80
        d.get_tree("tree").create()       # both get 8180
        d.commit()
    a.import_(b.export(loro.ExportMode.Updates(a.oplog_vv)))
    before = tree_moves(a)
    core = TreeMoves()
    for m in before:
        core.apply(*m)
    t = a.get_tree("tree")
    roots = t.children(None)
    assert [t.fractional_index(n) for n in roots] == ["80", "80", "8180", "8180"]
    t.create_at(1)                        # between the two nodes at 80
    a.commit()
    new = tree_moves(a)[len(before):]
    target = new[0][3]
    want = core.generate_at(None, 1, target)
    assert isinstance(want, list) and len(want) == 2
    assert [(m[3], m[5]) for m in new] == want


def _without_meta(nodes):
    return [{k: (_without_meta(v) if k == "children" else v) for k, v in n.items() if k != "meta"}
            for n in nodes]


@pytest.mark.parametrize("seed", range(10))
def test_value_is_loros_get_value(seed):
    rng = random.Random(100 + seed)
    doc = random_session(rng)
    core = TreeMoves()
    moves = tree_moves(doc)
    rng.shuffle(moves)
    for m in moves:
        core.apply(*m)
    assert core.value() and _without_meta(core.value()) == _without_meta(doc.get_tree("tree").get_value())


@pytest.mark.parametrize("seed", range(8))
def test_checkout_shows_loros_tree_at_each_version(seed):
    import loro_c
    rng = random.Random(200 + seed)
    doc = random_session(rng, steps=30)
    moves = tree_moves(doc)
    core = TreeMoves()
    for m in moves:
        core.apply(*m)
    # versions: every change's end, in a random order, then the latest
    j = json.loads(doc.export_json_updates(loro.VersionVector(), doc.oplog_vv))
    ends = [_id(ch["id"], j["peers"]) for ch in j["changes"]]
    versions = [loro.Frontiers.from_id(loro.ID(p, c)) for p, c in ends]
    rng.shuffle(versions)
    for f in versions + [doc.oplog_frontiers]:
        doc.checkout(f)
        vv = loro_c.VersionVector.decode(doc.frontiers_to_vv(f).encode()).to_dict()
        core.checkout(vv)
        assert _without_meta(core.value()) == _without_meta(doc.get_tree("tree").get_value())
        core.check()
    doc.checkout_to_latest()
