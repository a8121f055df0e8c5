"""`fork()` and `fork_at(frontiers)` against loro: same values, versions and root listing."""
import random

import loro
import pytest

import loro_c
from test_rejected_import_undo import World

LIBS = (loro, loro_c)


def view(doc):
    return doc.get_deep_value(), sorted(doc.get_value()), repr(doc.oplog_vv)


@pytest.mark.parametrize("seed", range(30))
def test_fork_and_fork_at_match_loro(seed):
    world = World(seed)
    rng = random.Random(seed)
    src = {lib: world.docs[lib][0] for lib in LIBS}
    for lib in LIBS:
        # fold in everything, and leave an open transaction: fork commits it first
        src[lib].import_(world.full[lib].export(lib.ExportMode.Updates(src[lib].oplog_vv)))
        src[lib].get_text("t").insert(0, "open")
    forks = {lib: src[lib].fork() for lib in LIBS}
    got, want = view(forks[loro_c]), view(forks[loro])
    assert got[0] == want[0] and got[1] == want[1]
    assert loro_c.VersionVector.decode(forks[loro].oplog_vv.encode()) == forks[loro_c].oplog_vv
    assert forks[loro_c].peer_id != src[loro_c].peer_id
    # random points of the history, in the middle of changes too
    vv = src[loro_c].oplog_vv.to_dict()
    for _ in range(4):
        peer = rng.choice(sorted(vv))
        ctr = rng.randrange(vv[peer])
        at = {lib: src[lib].fork_at(lib.Frontiers.from_id(lib.ID(peer, ctr))) for lib in LIBS}
        assert at[loro_c].get_deep_value() == at[loro].get_deep_value()
        assert sorted(at[loro_c].get_value()) == sorted(at[loro].get_value())
        assert at[loro_c].oplog_vv == loro_c.VersionVector.decode(at[loro].oplog_vv.encode())
        at[loro_c]._check_invariants()
    # a fork is a document of its own
    before = src[loro_c].get_deep_value()
    forks[loro_c].get_text("t").insert(0, "fork only")
    forks[loro_c].commit()
    assert src[loro_c].get_deep_value() == before


def test_fork_leaves_pending_changes_behind_like_loro():
    res = []
    for lib in LIBS:
        a = lib.LoroDoc()
        a.peer_id = 1
        a.get_text("t").insert(0, "ab")
        a.commit()
        v = a.oplog_vv
        a.get_text("t").insert(2, "cd")
        a.commit()
        b = lib.LoroDoc()
        st = b.import_(a.export(lib.ExportMode.Updates(v)))
        assert st.pending is not None
        f = b.fork()
        res.append((f.get_deep_value(), bytes(f.oplog_vv.encode())))
        f.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
        res.append(f.get_deep_value())
    assert res[:2] == res[2:]


def test_fork_at_unknown_frontiers_raises():
    doc = loro_c.LoroDoc()
    doc.get_text("t").insert(0, "x")
    doc.commit()
    with pytest.raises(loro_c.LoroError):
        doc.fork_at(loro_c.Frontiers.from_id(loro_c.ID(99, 5)))
    empty = doc.fork_at(loro_c.Frontiers())
    assert empty.get_deep_value() == {"t": ""}
