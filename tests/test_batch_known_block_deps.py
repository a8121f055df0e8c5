"""loro 1.17.1 leaves an updates blob's change block that the document already has whole
unparsed (its ops' containers stay unregistered in its arena) only when the snapshot it
loaded stores the same bytes under the block's key (doc/exchange.pxi number_blobs_ops;
tests/test_batch_known_block_bytes.py). An exporter that loaded a block as stored and
re-encodes it writes a change's deps as loro's Frontiers rebuilds them (a hash map of peer
to counter once there are two or more): two peers that share a bucket of that map come in
the order of their insertion, so a rebuilt map reverses them, the bytes differ and the
block is parsed, its containers registered.

Here peer 108 merges the histories of two peers and writes text t; peer 116 continues it
with list l and makes the snapshot. A new document imports that snapshot with the whole
updates of peer 116 (all known) in one import_batch that nobody records, then subscribes to
the root and to a map root x the document does not hold: t takes its number before x when
loro parsed the block of peer 108 (deps on peers 1 and 2), after it otherwise (peers 1 and
3, 200 and 300). The numbers show in the order of a later import's diffs of t and l
(late-subscriber differential session 681)."""

import loro
import pytest

import loro_c

from _events_util import nev


def _blobs(mod, a, x):
    pa = mod.LoroDoc()
    pa.peer_id = a
    pa.get_counter("c").increment(1)
    pa.commit()
    px = mod.LoroDoc()
    px.peer_id = x
    px.get_counter("c").increment(2)
    px.commit()
    b = mod.LoroDoc()
    b.peer_id = 108
    b.import_(pa.export(mod.ExportMode.Snapshot()))
    b.import_(px.export(mod.ExportMode.Snapshot()))
    b.get_text("t").insert(0, "y")
    b.commit()
    f = mod.LoroDoc()
    f.peer_id = 116
    f.import_(b.export(mod.ExportMode.Snapshot()))
    f.get_list("l").insert(0, 1)
    f.commit()
    return f.export(mod.ExportMode.Snapshot()), f.export(mod.ExportMode.Updates(mod.VersionVector()))


def _order(mod, a, x, ops):
    snap, updates = _blobs(mod, a, x)
    d = mod.LoroDoc()
    d.peer_id = 102
    d.import_batch([snap, updates])
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e))),
            d.subscribe(mod.ContainerID.Root("x", mod.ContainerType.Map()), lambda e: None)]
    d.get_deep_value()
    src = mod.LoroDoc()
    src.peer_id = 9
    src.import_(snap)
    v = src.oplog_vv
    for name in ops:
        if name == "t":
            src.get_text("t").insert(0, "z")
        elif name == "l":
            src.get_list("l").insert(0, 7)
        else:
            src.get_counter("c").increment(3)
    src.commit()
    got.clear()
    d.import_(src.export(mod.ExportMode.Updates(v)))
    del subs
    return [[x[0] for x in e[3]] for e in got]


@pytest.mark.parametrize("ops", ["tl", "lt", "tc", "ct", "tlc"])
@pytest.mark.parametrize("a,x", [(1, 2), (1, 3), (200, 300), (2, 1)])
def test_known_block_parsed_as_its_deps_rebuild(a, x, ops):
    assert _order(loro_c, a, x, ops) == _order(loro, a, x, ops)
