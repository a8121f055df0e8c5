"""Differential test with hundreds of peers: random multi-peer histories in `loro` (oracle) and
`loro_c`, compared on deep value, version vectors and frontiers.

A few replicas edit a text, a list, a map and a counter; each replica starts a new session
(a fresh peer id, as Loro recommends) every few commits, so a history collects hundreds of
peers. Replicas exchange binary updates in random directions, sometimes holding one back
and delivering it after a later one (the later one waits as pending), which makes the
documents apply concurrent changes in many orders: each one moves loro_c's tracker between
versions through the dependency graph (no per-change version vectors are stored).

Checked after every delivery: the receiver's deep value, oplog_vv and oplog_frontiers
against the oracle's; now and then `frontiers_to_vv` of a past frontier and loro_c's
invariant checker (which compares walks between sampled versions with a reference
closure). At the end every replica and a fresh document importing everything in random
order agree with the oracle. Failures name the seed; ``LORO_C_PEER_SEEDS=3`` reruns one.
"""
import os
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def _seeds():
    explicit = os.environ.get("LORO_C_PEER_SEEDS")
    if explicit:
        return [int(s) for s in explicit.replace(",", " ").split()]
    return list(range(int(os.environ.get("LORO_C_PEER_SESSIONS", "4"))))


def vv_of(lib, vv):
    return loro_c.VersionVector.decode(vv.encode()) if lib is loro else vv


def frontiers_of(lib, f):
    return loro_c.Frontiers.decode(f.encode()) if lib is loro else f


def touch_roots(doc):
    """In loro a root shows up in get_deep_value() once fetched: fetch all of them."""
    for get, name in ((doc.get_text, "text"), (doc.get_list, "list"), (doc.get_map, "map"),
                      (doc.get_counter, "counter")):
        get(name)
    return doc


class Replica:
    """The same replica in both libraries: one doc each, edited with the same ops."""

    def __init__(self, rng):
        self.docs = [lib.LoroDoc() for lib in LIBS]
        self.rng = rng
        self.new_session()
        for d in self.docs:
            touch_roots(d)

    def new_session(self):
        peer = self.rng.getrandbits(63) + 1
        for d in self.docs:
            d.peer_id = peer
        return peer

    def edit(self):
        rng = self.rng
        oracle = self.docs[0]
        r = rng.random()
        if r < 0.45:
            n = len(oracle.get_text("text").to_string())
            if n > 4 and rng.random() < 0.35:
                pos = rng.randrange(n - 1)
                k = rng.randint(1, min(4, n - pos))
                for d in self.docs:
                    d.get_text("text").delete(pos, k)
            else:
                pos = rng.randint(0, n)
                s = "".join(rng.choice("abcxyz é中😀") for _ in range(rng.randint(1, 4)))
                for d in self.docs:
                    d.get_text("text").insert(pos, s)
        elif r < 0.65:
            n = len(oracle.get_list("list"))
            if n > 2 and rng.random() < 0.3:
                pos = rng.randrange(n)
                for d in self.docs:
                    d.get_list("list").delete(pos, 1)
            else:
                pos, v = rng.randint(0, n), rng.randint(-50, 50)
                for d in self.docs:
                    d.get_list("list").insert(pos, v)
        elif r < 0.9:
            key, v = f"k{rng.randrange(12)}", rng.choice((rng.randint(0, 99), "v", None, 2.5))
            for d in self.docs:
                d.get_map("map").insert(key, v)
        else:
            for d in self.docs:
                d.get_counter("counter").increment(1)
        for d in self.docs:
            d.commit()


def assert_same(where, lo_doc, c_doc):
    assert c_doc.get_deep_value() == lo_doc.get_deep_value(), where
    assert c_doc.oplog_vv == vv_of(loro, lo_doc.oplog_vv), where
    assert c_doc.oplog_frontiers == frontiers_of(loro, lo_doc.oplog_frontiers), where


def export_since(rep_from, rep_to):
    """Each library's update from one replica since the other's version."""
    return [src.export(lib.ExportMode.Updates(dst.oplog_vv))
            for lib, src, dst in zip(LIBS, rep_from.docs, rep_to.docs)]


def deliver(rep, blobs):
    for d, b in zip(rep.docs, blobs):
        d.import_(b)


@pytest.mark.parametrize("seed", _seeds())
def test_hundreds_of_peers(seed):
    rng = random.Random(seed)
    replicas = [Replica(rng) for _ in range(rng.randint(3, 5))]
    past = []            # (loro_c Frontiers, loro_c vv, loro Frontiers) seen on replica 0
    held = []            # (receiver, blobs) delivered later
    sessions = len(replicas)
    for step in range(900):
        rep = rng.choice(replicas)
        if rng.random() < 0.45:
            rep.new_session()
            sessions += 1
        rep.edit()
        if rng.random() < 0.3:
            a, b = rng.sample(replicas, 2)
            blobs = export_since(a, b)
            if rng.random() < 0.25:
                held.append((b, blobs))
            else:
                deliver(b, blobs)
                assert_same(f"seed {seed} step {step}", *b.docs)
        if held and rng.random() < 0.2:
            b, blobs = held.pop(rng.randrange(len(held)))
            deliver(b, blobs)
            assert_same(f"seed {seed} step {step} (late)", *b.docs)
        if step % 60 == 0:
            lo_doc, c_doc = replicas[0].docs
            past.append((c_doc.oplog_frontiers, c_doc.oplog_vv))
            for f, vv in rng.sample(past, min(3, len(past))):
                assert c_doc.frontiers_to_vv(f) == vv
                lo_f = loro.Frontiers.decode(f.encode())
                assert vv_of(loro, lo_doc.frontiers_to_vv(lo_f)) == vv
            for r in replicas:
                r.docs[1]._check_invariants()
    assert sessions >= 300
    for b, blobs in held:
        deliver(b, blobs)
    for a in replicas:
        for b in replicas:
            if a is not b:
                deliver(b, export_since(a, b))
    lo_ref, c_ref = replicas[0].docs
    assert len(c_ref.oplog_vv.to_dict()) >= 300
    for r in replicas:
        assert_same(f"seed {seed} final", *r.docs)
        assert_same(f"seed {seed} final vs replica 0", lo_ref, r.docs[1])
        r.docs[1]._check_invariants()
    # a fresh document gets every replica's whole history, in random order
    fresh = [touch_roots(lib.LoroDoc()) for lib in LIBS]
    order = list(replicas)
    rng.shuffle(order)
    for r in order:
        for lib, d, src in zip(LIBS, fresh, r.docs):
            d.import_(src.export(lib.ExportMode.Snapshot()))
    assert_same(f"seed {seed} fresh", *fresh)
    fresh[1]._check_invariants()
