"""Containers nested far deeper than a C stack holds frames for.

A document may hold a chain of containers of any depth: each level is one op, so a
client can build 100,000 levels with a few lines. Every walk over the nesting must then
keep its own stack: the deep value (value_of leaves the levels past a few hundred to be
filled when it is back at the top), the numbering walk of a lazily loaded snapshot
(number_reached), the deep value with ids, an event's path (path_of climbs in a loop) and
get_path_to_container. loro itself overflows its stack on get_deep_value of 20,000 levels,
so the depths past that are checked on loro_c alone, in a subprocess (a crash there fails
the test instead of the run); up to a few thousand levels both libraries must agree
exactly, values, paths and events.
"""
import subprocess
import sys
import textwrap

import loro
import pytest

import loro_c
from _events_util import ncid, nev, nindex, peer_doc

KINDS = ("map", "list", "movable", "mixed", "tree")


def chain(mod, kind, depth):
    """A document with `depth` nested containers under root map "root"; (doc, leaf)."""
    doc = peer_doc(mod, 7)
    here = doc.get_map("root")
    for level in range(depth):
        here = _nest(mod, here, kind, level)
    doc.commit()
    return doc, here


def _nest(mod, here, kind, level):
    if kind == "tree":
        if isinstance(here, mod.LoroMap):
            here = here.insert_container("t", mod.LoroTree())
        return here.get_meta(here.create())
    if kind == "mixed":
        child = mod.LoroList() if level % 2 == 0 else mod.LoroMap()
    else:
        child = {"map": mod.LoroMap, "list": mod.LoroList,
                 "movable": mod.LoroMovableList}[kind]()
    if isinstance(here, mod.LoroMap):
        return here.insert_container("k", child)
    return here.insert_container(0, child)


def depth_of(value):
    """How many dicts and lists nest in `value` along its first entries (a loop)."""
    n = 0
    while isinstance(value, (dict, list)) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
        n += 1
    return n


def path_steps(path):
    return [(ncid(cid), nindex(index)) for cid, index in path]


def same_value(a, b):
    """a == b (dicts equal whatever their key order) for values nested past Python's
    recursion limit (a loop)."""
    todo = [(a, b)]
    while todo:
        x, y = todo.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            todo.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            todo.extend(zip(x, y))
        elif x != y:
            return False
    return True


def deep_with_id_shape(value):
    """The nesting of a get_deep_value_with_id answer as [(cid, key or index)] (a loop)."""
    out = []
    while isinstance(value, dict) and "cid" in value:
        inner = value["value"]
        if isinstance(inner, dict) and inner:
            key = next(iter(inner))
        elif isinstance(inner, list) and inner:
            key = 0
        else:
            out.append((value["cid"], None))
            break
        out.append((value["cid"], key))
        value = inner[key]
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_deep_chain_reads_as_loro_reads_it(kind):
    """Past the levels value_of keeps on the C stack (a few hundred), every read agrees."""
    depth = 700
    ours, our_leaf = chain(loro_c, kind, depth)
    theirs, their_leaf = chain(loro, kind, depth)
    assert same_value(ours.get_deep_value(), theirs.get_deep_value())
    assert same_value(ours.get_map("root").get_deep_value(),
                      theirs.get_map("root").get_deep_value())
    assert deep_with_id_shape(ours.get_deep_value_with_id()["root"]) == \
        deep_with_id_shape(theirs.get_deep_value_with_id()["root"])
    assert path_steps(ours.get_path_to_container(our_leaf.id)) == \
        path_steps(theirs.get_path_to_container(their_leaf.id))


@pytest.mark.parametrize("kind", KINDS)
def test_deep_chain_after_a_snapshot_load(kind):
    """A loaded chain's first deep read numbers its containers depth first with its own
    stack; the next import's event lists them in loro's order, with loro's paths."""
    depth = 600
    results = []
    for mod in (loro_c, loro):
        doc, leaf = chain(mod, kind, depth)
        snap = doc.export(mod.ExportMode.Snapshot())
        loaded = peer_doc(mod, 9)
        loaded.import_(snap)
        value = loaded.get_deep_value()
        events = []
        sub = loaded.subscribe_root(lambda e: events.append(nev(e)))
        writer = _leaf_writer(mod, leaf)
        writer(0)
        doc.commit()
        loaded.import_(doc.export(mod.ExportMode.Updates(loaded.oplog_vv)))
        results.append((value, events, loaded.get_deep_value(),
                        path_steps(loaded.get_path_to_container(leaf.id))))
        del sub
    ours, theirs = results
    assert same_value(ours[0], theirs[0]) and same_value(ours[2], theirs[2])
    assert ours[1] == theirs[1] and ours[3] == theirs[3]
    if kind != "tree":      # (a tree node's first entry is its id, not its meta map)
        assert depth_of(ours[0]["root"]) >= depth


def _leaf_writer(mod, leaf):
    if isinstance(leaf, mod.LoroMap):
        return lambda i: leaf.insert(f"x{i}", i)
    return lambda i: leaf.insert(0, i)


@pytest.mark.parametrize("kind", ("map", "mixed", "movable"))
def test_events_of_a_deep_chain(kind):
    """An import that builds a chain 1,500 deep gives one diff per level, each with its
    path from the root: the same events as loro's, and a mirror of them is the value."""
    depth = 1500
    got = []
    for mod in (loro_c, loro):
        doc, leaf = chain(mod, kind, depth)
        blob = doc.export(mod.ExportMode.Updates(mod.VersionVector()))
        sink = peer_doc(mod, 3)
        events = []
        sub = sink.subscribe_root(lambda e: events.append(nev(e)))
        sink.import_(blob)
        got.append(events)
        del sub
    assert got[0] == got[1]
    # (each level but the empty leaf has a diff; the deepest one's path runs from the root)
    longest = max(len(d[1]) for d in got[0][0][3])
    assert longest == depth


DEEPER = textwrap.dedent("""
    import sys
    sys.path[:0] = {paths!r}
    import loro_c
    from test_deep_nesting import chain, depth_of, deep_with_id_shape

    depth = {depth}
    doc, leaf = chain(loro_c, {kind!r}, depth)
    assert depth_of(doc.get_deep_value()["root"]) == depth
    assert len(deep_with_id_shape(doc.get_deep_value_with_id()["root"])) == depth + 1
    assert len(doc.get_path_to_container(leaf.id)) == depth + 1
    for mode in (loro_c.ExportMode.Snapshot(), loro_c.ExportMode.StateOnly(None),
                 loro_c.ExportMode.ShallowSnapshot(doc.oplog_frontiers)):
        loaded = loro_c.LoroDoc()
        loaded.import_(doc.export(mode))
        assert depth_of(loaded.get_deep_value()["root"]) == depth
    print("ok")
""")


@pytest.mark.parametrize("kind", ("map", "list", "movable", "mixed"))
def test_a_hundred_thousand_levels_read_without_a_crash(kind):
    """Deeper than any C stack: before, get_deep_value (and a snapshot's numbering walk)
    recursed once per level and killed the interpreter."""
    script = DEEPER.format(paths=list(sys.path), depth=100_000, kind=kind)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
