"""The order of an event's diffs among root containers (all of depth 1), as loro's: it
iterates hash maps keyed by its container index, a container's kind over its number in
loro's arena (see loro_c.hash_order). The cases here are those loro_c models exactly:
local commits (the transaction's map, then the event's), a container registered by
subscribe, and imports into a document with no concurrent edits, nested containers
created by the import included (loro's diff calculator adds them to its map)."""
import itertools

import loro
import pytest

import loro_c


def targets(e):
    return [str(c.target.container_type) + ":" + (c.target.name if hasattr(c.target, "name")
                                                  else f"{c.target.peer}@{c.target.counter}")
            for c in e.events]


def edit(d, mod, n, nested):
    if n == "t":
        d.get_text("t").insert(0, "x")
    elif n == "m":
        if nested:
            d.get_map("m").insert_container("k", mod.LoroList())
        else:
            d.get_map("m").insert("k", 1)
    elif n == "l":
        d.get_list("l").insert(0, 1)
    elif n == "c":
        d.get_counter("c").increment(1)


def run(mod, order, subscribed, via_import, nested, registered):
    d = mod.LoroDoc()
    d.peer_id = 1
    got = []
    subs = [d.subscribe_root(lambda e: got.append(targets(e)))]
    for n in subscribed:
        ct = {"t": mod.ContainerType.Text, "m": mod.ContainerType.Map,
              "l": mod.ContainerType.List, "c": mod.ContainerType.Counter}[n]()
        subs.append(d.subscribe(mod.ContainerID.Root(n, ct), lambda e: None))
    for n in registered:
        getattr(d, {"t": "get_text", "m": "get_map", "l": "get_list", "c": "get_counter"}[n])(n)
    src = d
    if via_import:
        src = mod.LoroDoc()
        src.peer_id = 2
    for n in order:
        edit(src, mod, n, nested)
    src.commit()
    if via_import:
        d.import_(src.export(mod.ExportMode.Updates(d.oplog_vv)))
    return got


ORDERS = ["".join(p) for p in itertools.permutations("tlmc")]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("subscribed", ["", "m", "cl"])
@pytest.mark.parametrize("via_import", [False, True])
def test_root_order_matches_loro(order, subscribed, via_import):
    for nested in (False, True):
        for registered in ("", "lt"):
            args = (order, subscribed, via_import, nested, registered)
            assert run(loro_c, *args) == run(loro, *args), args
