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


def test_walks_retreat_inside_a_change_and_between_long_branches():
    """A dependency into the middle of a merged change (the tracker retreats part of one
    change), then two long concurrent branches from many sessions, merged in both orders."""
    docs = {}
    for lib in LIBS:
        a, b = touch_roots(lib.LoroDoc()), touch_roots(lib.LoroDoc())
        a.peer_id, b.peer_id = 1, 2
        a.get_text("text").insert(0, "hello")
        a.commit()
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        a.get_text("text").insert(5, " world")    # joins a's first change in both libraries
        a.commit()
        b.get_text("text").insert(5, "!")          # depends on 4@1, inside that change
        b.commit()
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        for i in range(40):
            for d, base in ((a, 1000), (b, 2000)):
                if i % 3 == 0:
                    d.peer_id = base + i
                t = d.get_text("text")
                t.insert((i * 7) % (len(t.to_string()) + 1), "ab"[i % 2])
                if i % 5 == 4:
                    t.delete(0, 1)
                d.get_map("map").insert(f"k{i % 4}", i)
                d.commit()
        docs[lib] = (a, b)
    assert docs[loro_c][0].len_changes == docs[loro][0].len_changes
    blobs = {lib: [d.export(lib.ExportMode.Snapshot()) for d in docs[lib]] for lib in LIBS}
    for order in ((0, 1), (1, 0)):
        fresh = [touch_roots(lib.LoroDoc()) for lib in LIBS]
        for k in order:
            for lib, d in zip(LIBS, fresh):
                d.import_(blobs[lib][k])
        assert_same(f"order {order}", *fresh)
        fresh[1]._check_invariants()
    for lib in LIBS:
        a, b = docs[lib]
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
    assert_same("a after merge", docs[loro][0], docs[loro_c][0])
    docs[loro_c][0]._check_invariants()


@pytest.mark.parametrize("change", ["set_end", "shrink_to_exclude", "merge", "set_last"])
def test_export_from_a_changed_version_vector(change):
    """export(Updates(vv)) from a version read with oplog_vv skips the peers that did not
    move since; a version vector changed after it was read must be read in full."""
    results = []
    for lib in LIBS:
        a, other = touch_roots(lib.LoroDoc()), touch_roots(lib.LoroDoc())
        for p in range(1, 40):
            a.peer_id = p
            a.get_text("text").insert(0, f"{p},")
            a.commit()
        other.peer_id = 99
        other.get_map("map").insert("x", 1)
        other.commit()
        vv = a.oplog_vv
        a.peer_id = 7
        a.get_text("text").insert(0, "more")
        a.commit()
        if change == "set_end":
            vv.set_end(lib.ID(5, 0))
        elif change == "shrink_to_exclude":
            vv.shrink_to_exclude(lib.IdSpan(9, lib.CounterSpan(0, 1)))
        elif change == "merge":
            vv.merge(other.oplog_vv)
        else:
            vv.set_last(lib.ID(12, -1))
        fresh = touch_roots(lib.LoroDoc())
        fresh.import_(other.export(lib.ExportMode.Snapshot()))
        status = fresh.import_(a.export(lib.ExportMode.Updates(vv)))
        results.append((vv_of(lib, fresh.oplog_vv),
                        None if status.pending is None else [
                            (p, status.pending.get(p)) for p in range(1, 100)],
                        fresh.get_deep_value()))
    assert results[1] == results[0]


def test_oplog_vv_is_the_version_after_every_kind_of_step():
    """The cached version dict follows local edits, imports, and a rejected import."""
    a, b = loro_c.LoroDoc(), loro_c.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    seen = []
    for i in range(30):
        d = (a, b)[i % 2]
        d.get_text("text").insert(0, "ab")
        seen.append(d.oplog_vv)
        if i % 3 == 0:
            d.commit()
        if i % 4 == 0:
            b.import_(a.export(loro_c.ExportMode.Updates(b.oplog_vv)))
        for x in (a, b):
            x._check_invariants()
    with pytest.raises(loro_c.LoroError):
        a.import_(b"\x00garbage")
    a._check_invariants()
    a.import_(b.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    a._check_invariants()
    for vv in seen:
        # exporting from any earlier version and importing into a copy of it converges
        c = loro_c.LoroDoc()
        c.import_(a.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
        assert c.get_deep_value() == a.get_deep_value()
        assert a.export(loro_c.ExportMode.Updates(vv)) == a.export(
            loro_c.ExportMode.Updates(loro_c.VersionVector.decode(vv.encode())))


def test_change_whose_deps_skip_its_peers_previous_op_is_rejected():
    """Versions are walked through deps alone, so a change must depend (through its deps) on
    its peer's previous op, as every change a Loro peer commits does. One that does not is
    rejected and leaves the document as it was."""
    a, b = loro_c.LoroDoc(), loro_c.LoroDoc()
    a.peer_id, b.peer_id = 1, 2
    a.get_text("t").insert(0, "a")
    a.commit()
    b.import_(a.export(loro_c.ExportMode.Snapshot()))
    b.get_text("t").insert(1, "b")
    b.commit()
    a.import_(b.export(loro_c.ExportMode.Snapshot()))
    a.get_text("t").insert(2, "c")
    a.commit()
    good = a.export_json_updates(loro_c.VersionVector(), a.oplog_vv)
    # with no deps, its insert at 0 would fit the empty version it claims
    bad = good.replace('"id":"1@0","timestamp":0,"deps":["0@1"]', '"id":"1@0","timestamp":0,"deps":[]'
                       ).replace('"pos":2,"text":"c"', '"pos":0,"text":"c"')
    assert bad.count('"deps":[]') == 2 and '"pos":0,"text":"c"' in bad
    target = loro_c.LoroDoc()
    target.import_(b.export(loro_c.ExportMode.Snapshot()))
    before = (target.get_deep_value(), target.oplog_vv, target.oplog_frontiers,
              target.export(loro_c.ExportMode.Snapshot()))
    with pytest.raises(loro_c.LoroError, match="previous op"):
        target.import_json_updates(bad)
    assert (target.get_deep_value(), target.oplog_vv, target.oplog_frontiers,
            target.export(loro_c.ExportMode.Snapshot())) == before
    target._check_invariants()
    target.import_json_updates(good)
    assert target.get_deep_value() == a.get_deep_value() == {"t": "abc"}
    target._check_invariants()
