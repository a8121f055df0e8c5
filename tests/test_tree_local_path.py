"""The C path of LoroTree.create and mov (handles/tree.pxi: fractional indexes on, nobody
subscribed) against loro: long one-peer sessions of creates and moves (cycles refused,
moves to where a node is, deleted parents, roots), mixed with ops that take the general
path (a subscription, fractional indexes off, create_at/mov_to next to siblings of equal
indexes), must write the same ops and give the same trees."""
import random

import loro
import pytest

import loro_c
from loro_c import _codec
from loro_c._tree import fi_new, fi_new_buf


def _session(mod, seed, n_ops):
    rng = random.Random(seed)
    doc = mod.LoroDoc()
    doc.peer_id = 7
    t = doc.get_tree("t")
    nodes = []
    outcomes = []
    sub = None
    for i in range(n_ops):
        r = rng.random()
        pick = (lambda: rng.choice(nodes)) if nodes else None
        try:
            if not nodes or r < 0.3:
                t.create(pick() if nodes and rng.random() < 0.8 else None)
                nodes.append(t.nodes()[-1] if mod is loro else None)
                nodes[-1] = sorted(t.nodes(), key=lambda n: n.counter)[-1]
            elif r < 0.85:
                t.mov(pick(), pick() if rng.random() < 0.9 else None)
            elif r < 0.9:
                t.delete(pick())
            elif r < 0.94:
                parent = pick() if rng.random() < 0.7 else None
                n = t.children_num(parent) or 0
                t.mov_to(pick(), rng.randint(0, n), parent)
            elif r < 0.96:
                if rng.random() < 0.5:
                    t.disable_fractional_index()
                else:
                    t.enable_fractional_index(0)
            elif r < 0.98:
                if sub is None:
                    sub = doc.subscribe_root(lambda e: None)
                else:
                    sub.unsubscribe()
                    sub = None
            else:
                t.create_at(0, pick() if rng.random() < 0.5 else None)
                nodes.append(sorted(t.nodes(), key=lambda n: n.counter)[-1])
            outcomes.append("ok")
        except BaseException as e:      # loro's errors derive from BaseException
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            outcomes.append("refused")
        if i % 17 == 16:
            doc.commit()
    doc.commit()
    return doc, outcomes


def _ops(doc, mod):
    blob = doc.export(mod.ExportMode.Updates(mod.VersionVector()))
    return [ch[:5] + (sorted(ch[5]),) + ch[6:] for ch in _codec.decode_updates(blob)]


@pytest.mark.parametrize("seed", range(8))
def test_local_sessions_write_loros_ops(seed):
    a, out_a = _session(loro, seed, 600)
    b, out_b = _session(loro_c, seed, 600)
    assert out_b == out_a
    assert b.get_deep_value() == a.get_deep_value()
    assert _ops(b, loro_c) == _ops(a, loro)
    b._check_invariants()


def test_fi_new_buf_agrees_with_fi_new():
    rng = random.Random(3)

    def rnd():
        return bytes(rng.choice([0, 1, 0x7F, 0x80, 0x81, 0xFE, 0xFF, rng.randrange(256)])
                     for _ in range(rng.randrange(0, 5)))
    for _ in range(20000):
        left = rnd() if rng.random() < 0.9 else None
        right = rnd() if rng.random() < 0.9 else None
        if left is not None and right is not None and left > right:
            left, right = right, left
        try:
            want = fi_new(left, right)
        except ValueError:
            want = None
        got = fi_new_buf(left, right)
        # the C path hands an empty index over to fi_new; elsewhere it must agree
        if got is not None or (left != b"" and right != b""):
            assert got == want, (left, right)


@pytest.mark.parametrize("mod", [loro, loro_c])
def test_tree_first_seen_in_an_import_while_detached(mod):
    """A tree whose ops arrive while the document is detached and that nobody read yet is
    rebuilt with the others when read (it was left empty)."""
    a = mod.LoroDoc()
    a.peer_id = 1
    t = a.get_tree("t")
    t.create(t.create())
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_text("x").insert(0, "h")
    b.commit()
    f = b.state_frontiers
    b.get_text("x").insert(0, "i")
    b.commit()
    b.checkout(f)
    b.import_(a.export(mod.ExportMode.Updates(mod.VersionVector())))
    b.checkout_to_latest()
    assert b.get_deep_value()["t"] == a.get_deep_value()["t"]
    assert len(b.get_tree("t").nodes()) == 2
