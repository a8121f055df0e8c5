"""An event's paths are kept as one table of steps (_events.PathTable) and built into
PathItems when a diff's `path` is read, as loro builds its Python objects on read: each
read gives a new list, the path is the one the event saw (later edits do not move it),
`path` is read-only, and container subscribers still get the diffs under their container.
A diff built from Python keeps the list it was given."""
import gc

import loro
import pytest

import loro_c
from _events_util import nev, nindex, ncid


def npath(path):
    return [(ncid(p.container), nindex(p.index)) for p in path]


def tree_doc(mod):
    """Root map r > list l > maps, a tree whose node meta maps are edited, a text under
    a map key, all in one commit (paths through keys, list positions and tree nodes)."""
    doc = mod.LoroDoc()
    doc.peer_id = 7
    root = doc.get_map("r")
    lst = root.insert_container("l", mod.LoroList())
    kids = [lst.insert_container(i, mod.LoroMap()) for i in range(4)]
    tree = doc.get_tree("t")
    nodes = [tree.create() for _ in range(3)]
    doc.commit()
    return doc, root, lst, kids, tree, nodes


def edit(mod, doc, root, lst, kids, tree, nodes):
    for i, k in enumerate(kids):
        k.insert("v", i)
        k.insert_container("deep", mod.LoroMap()).insert("x", i)
    for i, n in enumerate(nodes):
        tree.get_meta(n).insert("name", i)
    root.insert_container("txt", mod.LoroText()).insert(0, "hi")
    doc.commit()


@pytest.mark.parametrize("mod", [loro, loro_c])
def test_each_read_of_a_path_is_a_new_list(mod):
    doc, *rest = tree_doc(mod)
    got = []
    sub = doc.subscribe_root(got.append)
    edit(mod, doc, *rest)
    diffs = got[0].events
    deep = [d for d in diffs if len(d.path) == 4]
    assert deep
    d = deep[0]
    a, b = d.path, d.path
    assert a is not b and npath(a) == npath(b)
    a.clear()
    assert len(d.path) == 4
    with pytest.raises(AttributeError):
        d.path = []
    del sub


def test_paths_are_the_events_not_the_documents_later():
    """Read only after the documents moved on (inserts before the maps in the list, the
    maps deleted, tree nodes deleted): loro's paths and ours still equal the event's."""
    seen = {}
    for mod in (loro, loro_c):
        doc, root, lst, kids, tree, nodes = tree_doc(mod)
        got = []
        sub = doc.subscribe_root(got.append)
        edit(mod, doc, root, lst, kids, tree, nodes)
        lst.insert(0, "x")
        lst.delete(2, 2)
        tree.delete(nodes[0])
        root.delete("txt")
        doc.commit()
        seen[mod] = [[(ncid(d.target), npath(d.path)) for d in e.events] for e in got]
        del sub
    assert seen[loro_c] == seen[loro]
    assert any(len(p) == 4 for ev in seen[loro_c] for _, p in ev)


def test_container_subscribers_get_the_diffs_under_them():
    got = {}
    for mod in (loro, loro_c):
        doc, root, lst, kids, tree, nodes = tree_doc(mod)
        evs = {"lst": [], "kid": [], "tree": [], "root": []}
        subs = [doc.subscribe(lst.id, lambda e: evs["lst"].append(nev(e))),
                doc.subscribe(kids[1].id, lambda e: evs["kid"].append(nev(e))),
                doc.subscribe(tree.id, lambda e: evs["tree"].append(nev(e))),
                doc.subscribe_root(lambda e: evs["root"].append(nev(e)))]
        edit(mod, doc, root, lst, kids, tree, nodes)
        got[mod] = evs
        del subs
    assert got[loro_c] == got[loro]
    assert got[loro_c]["kid"] and got[loro_c]["lst"]


def test_a_diff_made_in_python_keeps_its_path():
    cid = loro_c.ContainerID.Root("r", loro_c.ContainerType.Map())
    item = loro_c.PathItem(cid, loro_c.Index.Key("r"))
    diff = loro_c.Diff.Map(loro_c.MapDelta({}))
    d = loro_c.ContainerDiff(cid, [item], False, diff)
    p = d.path
    assert p == [item] and p is not d.path
    assert d == loro_c.ContainerDiff(cid, [item], False, diff)
    assert d != loro_c.ContainerDiff(cid, [], False, diff)
    assert "path=[" in repr(d)


def test_a_bad_node_raises_instead_of_reading_past_the_table():
    doc, *rest = tree_doc(loro_c)
    got = []
    sub = doc.subscribe_root(got.append)
    edit(loro_c, doc, *rest)
    d = got[0].events[0]
    for bad in (-1, 10 ** 6, 1 << 40):
        d._node = bad
        with pytest.raises(IndexError):
            d.path
    del sub


def test_the_path_table_is_not_tracked():
    doc, *rest = tree_doc(loro_c)
    got = []
    sub = doc.subscribe_root(got.append)
    edit(loro_c, doc, *rest)
    d = got[0].events[-1]
    assert not gc.is_tracked(d._path)
    del sub
