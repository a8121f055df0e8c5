"""Version queries against loro: cmp_frontiers, cmp_with_frontiers, vv_to_frontiers,
get_pending_txn_len and try_get_*."""
import random

import loro
import pytest

import loro_c
from test_rejected_import_undo import World

LIBS = (loro, loro_c)


def name(x):
    return None if x is None else str(x).split(".")[-1]


def ids_of(f):
    """The ids of a loro or loro_c Frontiers, sorted."""
    return sorted((i.peer, i.counter) for i in loro_c.Frontiers.decode(f.encode()).to_list())


@pytest.mark.parametrize("seed", range(30))
def test_version_queries_match_loro(seed):
    world = World(seed)
    rng = random.Random(seed)
    docs = {lib: world.full[lib] for lib in LIBS}
    vv = docs[loro_c].oplog_vv.to_dict()

    def random_frontiers():
        picks = {}
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(sorted(vv))
            picks[p] = rng.randrange(vv[p])
        return list(picks.items())

    for _ in range(12):
        a, b = random_frontiers(), random_frontiers()
        got = {}
        for lib in LIBS:
            fa = lib.Frontiers.from_ids([lib.ID(p, c) for p, c in a])
            fb = lib.Frontiers.from_ids([lib.ID(p, c) for p, c in b])
            d = docs[lib]
            vva = d.frontiers_to_vv(fa)
            got[lib] = (name(d.cmp_frontiers(fa, fb)), name(d.cmp_with_frontiers(fa)),
                        ids_of(d.vv_to_frontiers(vva)), ids_of(d.vv_to_frontiers(d.oplog_vv)))
        assert got[loro_c] == got[loro]
    # ops this document does not have
    for lib in LIBS:
        d = docs[lib]
        unknown = lib.Frontiers.from_id(lib.ID(999, 3))
        assert name(d.cmp_with_frontiers(unknown)) == "Less"
        with pytest.raises((ValueError, loro_c.LoroError)):
            d.cmp_frontiers(unknown, d.oplog_frontiers)


def test_pending_txn_len_and_try_get():
    res = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        row = [d.get_pending_txn_len()]
        t = d.get_text("t")
        t.insert(0, "zab")
        d.get_map("m").insert("a", 1)
        t.delete(0, 1)
        row.append(d.get_pending_txn_len())
        d.commit()
        row.append(d.get_pending_txn_len())
        child = d.get_map("m").insert_container("c", lib.LoroList())
        child.insert(0, 1)
        d.commit()
        row += [str(d.try_get_text("t")), str(d.try_get_text("nope")),
                d.try_get_list(child.id) is not None,
                d.try_get_map(child.id) is None,
                d.try_get_list(lib.ContainerID.Normal(5, 0, lib.ContainerType.List())) is None,
                d.try_get_text(lib.ContainerID.Root("t", lib.ContainerType.Text())).to_string()]
        res.append(row)
    assert res[0] == res[1]


@pytest.mark.parametrize("getter", ["get_map", "get_list", "get_text", "get_tree",
                                    "get_movable_list", "get_counter"])
def test_a_getter_by_the_id_of_a_container_the_document_lacks_raises(getter):
    # loro panics ("The container does not exist in the document"); loro_c raises its own
    # UnknownContainerError and leaves the document as it was: no container registered
    d = loro_c.LoroDoc()
    d.peer_id = 1
    m = d.get_map("m")
    child = m.insert_container("c", loro_c.LoroList())
    d.commit()
    kind = getter[4:].title().replace("_", "")
    missing = loro_c.ContainerID.Normal(5, 0, getattr(loro_c.ContainerType, kind)())
    before = (d.get_deep_value(), d.export(loro_c.ExportMode.Snapshot()))
    with pytest.raises(loro_c.UnknownContainerError, match="does not exist"):
        getattr(d, getter)(missing)
    assert not d.has_container(missing) and d.get_container(missing) is None
    assert (d.get_deep_value(), d.export(loro_c.ExportMode.Snapshot())) == before
    try:
        getattr(loro.LoroDoc(), getter)(
            loro.ContainerID.Normal(5, 0, getattr(loro.ContainerType, kind)()))
    except BaseException as e:     # (pyo3's PanicException)
        assert "does not exist" in str(e)
    else:
        pytest.fail("loro gave a handle of a container it does not have")
    # those it has: by id, and a tree node's meta map before anyone asked for it
    assert d.get_list(child.id).id == child.id
    tree = d.get_tree("tr")
    node = tree.create()
    meta = loro_c.ContainerID.Normal(node.peer, node.counter, loro_c.ContainerType.Map())
    assert d.get_map(meta).id == meta


def vrange(r):
    """A VersionRange of either library as sorted (peer, start, end) triples."""
    text = str(r)
    body = text[text.index("{"):text.rindex("}") + 1]
    return sorted((p, a, b) for p, (a, b) in eval(body).items())


@pytest.mark.parametrize("seed", range(20))
def test_spans_between_and_changed_containers_match_loro(seed):
    from test_paths import cid_text
    world = World(seed)
    rng = random.Random(seed)
    docs = {lib: world.full[lib] for lib in LIBS}
    vv = docs[loro_c].oplog_vv.to_dict()
    for _ in range(10):
        pa, pb = rng.choice(sorted(vv)), rng.choice(sorted(vv))
        ca, cb = rng.randrange(vv[pa]), rng.randrange(vv[pb])
        got = {}
        for lib in LIBS:
            d = docs[lib]
            diff = d.find_id_spans_between(lib.Frontiers.from_id(lib.ID(pa, ca)),
                                           lib.Frontiers.from_id(lib.ID(pb, cb)))
            changed = d.get_changed_containers_in(lib.ID(pa, ca), (cb % 7) + 1)
            got[lib] = (vrange(diff.retreat), vrange(diff.forward),
                        sorted(cid_text(c) for c in changed))
        assert got[loro_c] == got[loro]
    d = docs[loro_c]
    assert d.get_changed_containers_in(loro_c.ID(424242, 0), 5) == set()
    with pytest.raises(loro_c.LoroError):
        d.find_id_spans_between(loro_c.Frontiers.from_id(loro_c.ID(424242, 0)), d.oplog_frontiers)
