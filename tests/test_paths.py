"""Path queries against loro: get_by_path, get_by_str_path, get_path_to_container and
get_deep_value_with_id on random documents with nested containers."""
import random

import loro
import pytest

import loro_c
from test_rejected_import_undo import World

LIBS = (loro, loro_c)


def cid_text(c):
    """"cid:..." text of a container id of either library."""
    if isinstance(c, loro_c.ContainerID):
        return str(c)
    t = str(c.container_type).split(".")[-1]
    if hasattr(c, "name"):
        return f"cid:root-{c.name}:{t}"
    return f"cid:{c.counter}@{c.peer}:{t}"


def norm(x):
    """A comparable form of a ValueOrContainer (or None) from either library."""
    if x is None:
        return None
    if x.is_container(x):
        return ("container", cid_text(x.container.id))
    return ("value", x.value)


def norm_path(p):
    if p is None:
        return None
    out = []
    for cid, idx in p:
        step = ("key", idx.key) if hasattr(idx, "key") else ("seq", idx.index)
        out.append((cid_text(cid), step))
    return out


def to_loro(cid):
    """The same container id as a loro object."""
    t = getattr(loro.ContainerType, str(cid.container_type))()
    if isinstance(cid, loro_c.ContainerID.Root):
        return loro.ContainerID.Root(cid.name, t)
    return loro.ContainerID.Normal(cid.peer, cid.counter, t)


def cids_of(doc):
    """Every container id reachable in the deep value with ids (loro_c's view)."""
    found = []

    def walk(v):
        if isinstance(v, dict) and set(v) == {"value", "cid"}:
            found.append(v["cid"])
            walk(v["value"])
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc.get_deep_value_with_id())
    return found


@pytest.mark.parametrize("seed", range(30))
def test_paths_match_loro(seed):
    world = World(seed)
    rng = random.Random(seed)
    docs = {lib: world.full[lib] for lib in LIBS}
    assert docs[loro_c].get_deep_value_with_id() == docs[loro].get_deep_value_with_id()
    for cid_str in cids_of(docs[loro_c]):
        got = norm_path(docs[loro_c].get_path_to_container(loro_c.ContainerID.parse(cid_str)))
        want = norm_path(docs[loro].get_path_to_container(to_loro(loro_c.ContainerID.parse(cid_str))))
        assert got == want, cid_str
    paths = ["m", "l", "t", "c", "m/a", "m/x", "m/x/k", "l/0", "l/1", "l/0/0", "t/0", "t/2",
             "nope", "m/nope", "l/99", "l/-1", "", "m/y/k", "l/2/0"]
    for _ in range(20):
        paths.append("/".join(rng.choice(["m", "l", "x", "y", "k", "0", "1", "2", "a"])
                              for _ in range(rng.randint(1, 4))))
    for p in paths:
        assert norm(docs[loro_c].get_by_str_path(p)) == norm(docs[loro].get_by_str_path(p)), p
        steps = [s for s in p.split("/") if s]
        if steps:
            idx = {lib: [lib.Index.Key(steps[0])] + [lib.Index.Seq(int(s)) if s.isdigit() else
                                                      lib.Index.Key(s) for s in steps[1:]]
                   for lib in LIBS}
            assert norm(docs[loro_c].get_by_path(idx[loro_c])) == norm(docs[loro].get_by_path(idx[loro])), p


def test_deleted_and_root_paths():
    for lib in LIBS:
        d = lib.LoroDoc()
        m = d.get_map("m")
        child = m.insert_container("list", lib.LoroList())
        d.commit()
        assert norm_path(d.get_path_to_container(child.id)) == [
            ("cid:root-m:Map", ("key", "m")), (cid_text(child.id), ("key", "list"))]
        m.delete("list")
        d.commit()
        assert d.get_path_to_container(child.id) is None
        root = lib.ContainerID.Root("zz", lib.ContainerType.Text())
        assert norm_path(d.get_path_to_container(root)) == [("cid:root-zz:Text", ("key", "zz"))]
        assert d.get_by_path([]) is None
