"""loro 1.17.1 keeps a change's deps as a Frontiers, a hash map of peer to counter once there
are two or more, and writes them in that map's order. Its snapshot export encodes the
change blocks that took changes since the last one and keeps only their bytes; the next
read of such a block (an updates export among them) parses it back, pushing the ids in the
order written into a new map. Two peers sharing a bucket then come out in the other order
(peers 1 and 2 do), so an updates export made after a snapshot export writes them so,
while the snapshot holds the other order (doc/grouping.pxi deps_read_back).

Those bytes show: an import_batch of that snapshot and those updates that nobody records
parses the updates' block whose bytes differ from the snapshot's (doc/exchange.pxi
number_blobs_ops), registering its containers in loro's arena before the ones touched
later (kinds late-subscriber differential session 1372: a relayed change of peer 3 on
peers 1, 2 and 3, the relay's snapshot and updates loaded by a server that then listened).

Peers a, b and a third (5, 1 or 2) write counter c, then the third merges them (its
second change depends on all of them; the block reads a dep on its own previous change
back first), writes text t and a list into map h; a relay imports the merging peer's
updates, writes list l and h's key again (the list is dead: only a parse of the merging
peer's block registers it), exports snapshots `flushes` times, and (`joined`) continues
that peer's block with a map write or not. Compared with loro: the relay's updates and
snapshot bytes, and the order of a later import's diffs in a document that imported both
in one batch and then subscribed."""

import itertools

import loro
import pytest

import loro_c

from _events_util import nev, new_roots

# (peers a and b, then the merging peer: 1 and 2 share a bucket, the dep on the merging
# peer's own previous change is read back first)
CASES = list(itertools.product([(1, 2, 5), (3, 2, 5), (200, 2, 5), (2, 1, 5), (2, 3, 1),
                                (3, 2, 1), (1, 3, 2)], [0, 1, 2], [False, True]))


def _relay(mod, peers, flushes, joined):
    a, b, me = peers
    pa = mod.LoroDoc()
    pa.peer_id = a
    pa.get_counter("c").increment(1)
    pa.commit()
    pb = mod.LoroDoc()
    pb.peer_id = b
    pb.get_counter("c").increment(2)
    pb.commit()
    m = mod.LoroDoc()
    m.peer_id = me
    m.get_counter("c").increment(3)     # (the block's first change: no deps)
    m.commit()
    m.import_(pa.export(mod.ExportMode.Snapshot()))
    m.import_(pb.export(mod.ExportMode.Snapshot()))
    m.get_text("t").insert(0, "y")
    m.get_map("h").insert_container("k", mod.LoroList())
    m.commit()
    r = mod.LoroDoc()
    r.peer_id = 7
    r.import_(m.export(mod.ExportMode.Updates(mod.VersionVector())))
    r.get_list("l").insert(0, 1)
    r.get_map("h").insert("k", 1)      # (the list the merging peer created: a dead child)
    r.commit()
    for _ in range(flushes):
        r.export(mod.ExportMode.Snapshot())
    if joined:
        r.peer_id = me
        r.get_map("m").insert("k", 1)
        r.commit()
    return r


@pytest.mark.parametrize("peers,flushes,joined", CASES)
def test_an_updates_export_after_a_snapshot_export_writes_the_deps_read_back(peers, flushes,
                                                                             joined):
    mods = (loro, loro_c)
    docs = [_relay(mod, peers, flushes, joined) for mod in mods]
    for _ in range(2):
        updates = [d.export(mod.ExportMode.Updates(mod.VersionVector()))
                   for d, mod in zip(docs, mods)]
        assert updates[1] == updates[0]
        snapshots = [d.export(mod.ExportMode.Snapshot()) for d, mod in zip(docs, mods)]
        assert snapshots[1] == snapshots[0]


def _order(mod, peers, flushes, joined):
    r = _relay(mod, peers, flushes, joined)
    snap = r.export(mod.ExportMode.Snapshot())
    updates = r.export(mod.ExportMode.Updates(mod.VersionVector()))
    d = mod.LoroDoc()
    d.peer_id = 102
    d.import_batch([snap, updates])
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e))),
            d.subscribe(mod.ContainerID.Root("x", mod.ContainerType.Map()), lambda e: None)]
    d.get_deep_value()
    src = mod.LoroDoc()
    src.peer_id = 9
    src.get_text("t").insert(0, "p")
    src.get_list("l").insert(0, 2)
    new_roots(src, 10)
    src.commit()
    d.import_(src.export(mod.ExportMode.Snapshot()))
    assert subs
    return [[df[0] for df in ev[3]] for ev in got]


@pytest.mark.parametrize("peers,flushes,joined", CASES)
def test_a_batch_of_the_relays_snapshot_and_updates_numbers_as_loros(peers, flushes, joined):
    assert _order(loro_c, peers, flushes, joined) == _order(loro, peers, flushes, joined)
