"""A local op climbs the container's parents first (loro's DocState::is_deleted, which
refuses an op on a deleted container): through its arena, whose resolver reads a parent
link it lacks from the lazily loaded store of a snapshot load nobody recorded and registers
the parent it names. So the meta map of a tree node above a child map takes its number at
that op, refused or not, before the roots a later commit makes (late kinds session 18905:
an insert_container refused on a dead map under a deleted node's meta map; its replay
missed the refused call, rec.py recorded only calls that returned)."""

import loro
import pytest

import loro_c
from _events_util import nev, new_roots

KINDS = ["List", "Text", "Counter", "Map"] * 5


def _session(mod, deleted, op, listen_first):
    b = mod.LoroDoc()
    b.peer_id = 2
    tr = b.get_tree("tr")
    node = tr.create()
    b.get_text("t").insert(0, "ab")
    child = tr.get_meta(node).insert_container("b", mod.LoroMap())
    child.insert("x", 1)
    b.get_list("l").insert(0, 1)
    b.commit()
    a = mod.LoroDoc()
    a.peer_id = 1
    a.import_(b.export(mod.ExportMode.Updates(mod.VersionVector())))
    if deleted:
        a.get_tree("tr").delete(node)
    a.get_counter("c").increment(1)
    a.commit()
    # (peer 2's block, below the frontier's, stays unparsed at the load)
    snap = a.export(mod.ExportMode.Snapshot())

    s = mod.LoroDoc()
    s.peer_id = 9
    got = []
    sub = s.subscribe_root(lambda e: got.append(nev(e))) if listen_first else None
    s.import_(snap)
    if sub is None:
        sub = s.subscribe_root(lambda e: got.append(nev(e)))
    h = s.get_container(child.id)
    try:
        if op == "insert":
            h.insert("y", 2)
        else:
            h.insert_container("d", mod.LoroMap())
    except BaseException as e:  # loro's refusal is a pyo3 PanicException
        assert deleted and "deleted" in str(e), e
    s.commit()
    got.clear()
    new_roots(s, len(KINDS), KINDS, "zq")
    s.commit()
    del sub
    return [[x[0] for x in ev[3]] for ev in got]


@pytest.mark.parametrize("listen_first", (False, True), ids=("unrecorded", "recorded"))
@pytest.mark.parametrize("op", ("insert", "insert_container"))
@pytest.mark.parametrize("deleted", (True, False), ids=("refused", "applied"))
def test_local_op_numbers_the_parents_its_check_resolves_as_loro(deleted, op, listen_first):
    want = _session(loro, deleted, op, listen_first)
    assert _session(loro_c, deleted, op, listen_first) == want
