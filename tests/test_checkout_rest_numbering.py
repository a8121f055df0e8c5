"""A checkout numbers the dead children a recorded snapshot load left waiting
(LoroDoc.lnum_rest) only when it parses their change blocks, as after a load nobody
recorded (doc/checkout.pxi checkout_parses): the blocks of the ids it goes to and of the
changes it crosses, or every block when a calculator replays the whole history (a map's, a
movable list's or a tree's, or a text's or a list's going back). A checkout back over a
counter's change and forward again parses neither, so the roots a later commit makes take
their numbers before the dead child (probed on loro 1.17.1; kinds session 14615, where an
import's new movable list came before the counter in its event). After a load nobody
recorded, the visit of every block that builds loro's history cache (a map's calculator
here: the local map edit) numbers the loaded state's untouched roots too, in block order:
the list the history's blocks edit took a number before the roots a later commit made."""

import loro
import pytest

import loro_c
from _events_util import new_roots


def _name(cid):
    return cid.name if hasattr(cid, "name") else f"{cid.peer}:{cid.counter}"


def _events(mod, local, listen):
    def doc(p):
        d = mod.LoroDoc()
        d.peer_id = p
        return d

    x, y, z = doc(3), doc(2), doc(127)
    x.get_list("l").insert_container(0, mod.LoroMap())     # 0@3: the dead child
    x.commit()
    x.get_list("l").delete(0, 1)
    x.commit()
    y.import_(x.export(mod.ExportMode.Updates(mod.VersionVector())))
    y.get_list("l").insert_container(0, mod.LoroMap())
    y.commit()
    z.import_(y.export(mod.ExportMode.Snapshot()))
    z.get_map("m").insert("b", "s")
    z.commit()
    snap = z.export(mod.ExportMode.Snapshot())

    d = doc(129)
    got = []
    subs = []
    if listen:
        subs.append(d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events])))
    d.import_(snap)
    if local == "counter":
        d.get_counter("c").increment(-1)
    elif local == "list":
        d.get_list("l").insert(0, 1)
    else:
        d.get_map("m").insert("q", 1)
    d.commit()
    d.checkout(z.oplog_frontiers)
    d.checkout_to_latest()
    if not listen:
        subs.append(d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events])))
    got.clear()
    new_roots(d, 12, ("List", "Text", "Counter"), "r")
    d.commit()
    return got


CASES = [(local, listen) for local in ("counter", "list", "map") for listen in (True, False)]


@pytest.mark.parametrize("local,listen", CASES)
def test_a_checkout_numbers_the_waiting_dead_children_as_loro(local, listen):
    want = _events(loro, local, listen)
    assert _events(loro_c, local, listen) == want
