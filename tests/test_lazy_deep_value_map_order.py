"""A deep value of a snapshot loaded lazily (nobody recording the load) registers the
children of a map in the order loro's deep value walks the map's value: loro builds that
value from the map's entries in key order (its state and its lazily decoded snapshot value
keep them in a BTreeMap) into a hash map made with room for all of them, and the walk
registers each child container as it meets it. Later events list containers of equal
depth in the order of those numbers (kinds late-subscriber session 4331: a map's Map and
Counter children, listed the other way round by the next import)."""
import pytest

import loro
import loro_c
from _events_util import nev

CHILD = ("Map", "Counter", "Text", "List")


def _child(mod, kind):
    return getattr(mod, "Loro" + ("MovableList" if kind == "MovableList" else kind))()


def _edit(h, kind):
    if kind == "Map":
        h.insert("x", 1)
    elif kind == "Counter":
        h.increment(1)
    elif kind == "Text":
        h.insert(0, "x")
    else:
        h.insert(0, 1)


def _source(mod, keys, pad):
    """Peer 2 writes map m: a child container under each key but 'd' (a plain value),
    kinds in turn, and `pad` list roots; peer 3 then writes root t, so the change block
    a load parses first names none of m's children."""
    s = mod.LoroDoc()
    s.peer_id = 2
    m = s.get_map("m")
    kids = []
    for i, k in enumerate(keys):
        if k == "d":
            m.insert(k, 2)
            continue
        kind = CHILD[i % len(CHILD)]
        kids.append((m.insert_container(k, _child(mod, kind)).id, kind))
    for i in range(pad):
        s.get_list(f"p{i}").insert(0, 1)
    s.commit()
    t = mod.LoroDoc()
    t.peer_id = 3
    t.import_(s.export(mod.ExportMode.Snapshot()))
    t.get_text("t").insert(0, "x")
    t.commit()
    return t, kids


def _event_order(mod, keys, pad, load, before, new):
    src, kids = _source(mod, keys, pad)
    snap = src.export(mod.ExportMode.Snapshot())
    d = mod.LoroDoc()
    d.peer_id = 9
    if load == "batch":
        d.import_batch([snap, src.export(mod.ExportMode.Updates(mod.VersionVector()))])
    else:
        d.import_(snap)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    if before == "edit":
        # (the map's state decoded and written before the deep value)
        d.get_map("m").insert("d", 3)
        d.commit()
    d.get_deep_value()
    # an import that edits every child and creates `new` counters in m: its event lists
    # them in the order of the importer's numbers
    p = mod.LoroDoc()
    p.peer_id = 5
    p.import_(snap)
    vv = p.oplog_vv
    for cid, kind in kids:
        _edit(p.get_container(cid), kind)
    for i in range(new):
        p.get_map("m").insert_container(f"n{i}", mod.LoroCounter()).increment(1)
    p.commit()
    got.clear()
    d.import_(p.export(mod.ExportMode.Updates(vv)))
    sub.unsubscribe()
    return [[x[0] for x in ev[3]] for ev in got]


CASES = [(keys, pad, load, before, new)
         for keys in ("bcdxz", "adik", "adijkm", "abcdefkln")
         for pad in (1, 2, 3)
         for load in ("import", "batch")
         for before in ("none", "edit")
         for new in (1, 3)]


@pytest.mark.parametrize("keys,pad,load,before,new", CASES)
def test_lazy_deep_value_registers_map_children_in_value_order(keys, pad, load, before, new):
    assert (_event_order(loro_c, keys, pad, load, before, new)
            == _event_order(loro, keys, pad, load, before, new))
