"""The order in which a relayed change lists its deps, against loro.

loro keeps a change's deps as a Frontiers: two ids or more in a hash map of peer to counter,
which yields them in its bucket order. A decoded change gets a map built by pushing its ids
in the order the block lists them (its own previous op first, then the others:
block_meta_encode.rs decode_changes_header; a JSON change's list through
Frontiers::from_iter), and an export writes them in that map's order (encode_changes walks
change.deps). Peers 1 and 2 share a bucket of a map of four, so the one pushed second
comes first: a change depending on both lists them the other way round at each hop
through loro. loro_c logs an imported change's deps in that map's order
(_import.deps_as_kept); it wrote them as it had read them, so a document relaying a
relayed change exported other bytes than loro's (and peers meeting those blocks number
the containers otherwise)."""
import itertools

import loro
import pytest

import loro_c
from loro_c import _codec


def _merged(mod, peers, dep_self=False):
    """Peers[2] writes after importing the others' changes: its change depends on them."""
    docs = []
    for p in peers:
        d = mod.LoroDoc()
        d.peer_id = p
        docs.append(d)
    *others, c = docs
    if dep_self:
        c.get_list("l").insert(0, 0)
        c.commit()
    for i, d in enumerate(others):
        d.get_text("t").insert(0, "ab"[i % 2])
        d.get_map("m").insert(str(i), i)
        d.commit()
        c.import_(d.export(mod.ExportMode.Updates(mod.VersionVector())))
    c.get_text("t").insert(0, "c")
    c.get_map("m").insert("c", 1)
    c.commit()
    return c


def _hop(mod, src, how, k):
    if how == "fork":
        return src.fork()
    d = mod.LoroDoc()
    d.peer_id = 50 + k
    if how == "json":
        d.import_json_updates(src.export_json_updates(mod.VersionVector(), src.oplog_vv))
    elif how == "snapshot":
        d.import_(src.export(mod.ExportMode.Snapshot()))
    elif how == "range":
        d.import_(src.export(mod.ExportMode.UpdatesInRange(
            list(src.oplog_vv.sub_iter(mod.VersionVector())))))
    else:
        d.import_(src.export(mod.ExportMode.Updates(mod.VersionVector())))
    return d


def _relayed(mod, peers, hops, dep_self=False):
    d = _merged(mod, peers, dep_self)
    out = []
    for k, how in enumerate(hops):
        d = _hop(mod, d, how, k)
        out.append(d.export(mod.ExportMode.Updates(mod.VersionVector())))
    return out


@pytest.mark.parametrize("peers", [(1, 2, 3), (2, 1, 3), (1, 2, 7, 3), (5, 9, 3)])
@pytest.mark.parametrize("dep_self", [False, True])
def test_a_relayed_change_lists_its_deps_in_the_order_of_loros_map(peers, dep_self):
    hops = ["updates", "updates", "updates"]
    assert _relayed(loro_c, peers, hops, dep_self) == _relayed(loro, peers, hops, dep_self)


@pytest.mark.parametrize("hops", list(itertools.product(["updates", "json", "snapshot", "range"],
                                                        repeat=2)))
def test_relays_through_every_kind_of_blob_give_loros_bytes(hops):
    assert _relayed(loro_c, (1, 2, 3), hops) == _relayed(loro, (1, 2, 3), hops)


def test_peers_one_and_two_swap_at_each_hop():
    """The rule itself, not only agreement: the change of peer 3 lists (2, 1) first as peer
    3 wrote it, (1, 1) first once relayed, and (2, 1) first again after a second hop."""
    got = []
    for blob in [_merged(loro_c, (1, 2, 3)).export(loro_c.ExportMode.Updates(loro_c.VersionVector()))] + \
            _relayed(loro_c, (1, 2, 3), ["updates", "updates"]):
        changes = _codec.decode_updates(blob)
        got.append([c[5] for c in changes if c[0] == 3][0])
    assert got == [[(2, 1), (1, 1)], [(1, 1), (2, 1)], [(2, 1), (1, 1)]]


# loro's change store encodes the blocks that took changes since its last flush when it
# exports a snapshot (or forks), and drops their parsed changes: the next read parses the
# block's bytes, so each change's deps come back as a map built from the block's list (its
# own previous op first, then the others as written), in that map's order. A change of
# peer 3 depending on peers 1 and 2 lists them swapped after each snapshot export that
# encodes its block (session 3201 of the late-subscriber differential sessions). A block
# loro loaded from a snapshot stays as its bytes until a change joins it: a snapshot of
# the document writes those bytes, in the order the loaded snapshot listed the deps.

def _after(mod, peers, actions):
    d = _merged(mod, peers)
    out = []
    for k, what in enumerate(actions):
        if what == "snapshot":
            d.export(mod.ExportMode.Snapshot())
        elif what == "fork":
            d.fork()
        elif what == "edit":
            d.get_text("t").insert(0, "e")
            d.commit()
        elif what == "other":
            # a change of another peer: a block of its own
            o = mod.LoroDoc()
            o.peer_id = 40 + k
            o.import_(d.export(mod.ExportMode.Updates(mod.VersionVector())))
            o.get_map("m").insert("o", k)
            o.commit()
            d.import_(o.export(mod.ExportMode.Updates(d.oplog_vv)))
        else:
            # a load of the document's snapshot, which then goes on
            s = mod.LoroDoc()
            s.peer_id = 60 + k
            s.import_(d.export(mod.ExportMode.Snapshot()))
            d = s
        out.append(d.export(mod.ExportMode.Updates(mod.VersionVector())))
    return out


@pytest.mark.parametrize("peers", [(1, 2, 3), (2, 1, 3), (1, 2, 7, 3), (5, 9, 3)])
@pytest.mark.parametrize("actions", [
    ["snapshot"], ["snapshot", "snapshot"], ["snapshot", "edit", "snapshot"],
    ["edit", "snapshot", "edit", "snapshot", "edit"], ["snapshot", "other", "snapshot"],
    ["load"], ["snapshot", "load"], ["load", "load"], ["load", "load", "load"],
    ["load", "snapshot", "load"], ["load", "edit", "load"], ["load", "other", "load"],
    ["snapshot", "load", "edit", "snapshot", "load"],
])
def test_a_snapshot_export_reads_back_the_blocks_it_encodes(peers, actions):
    assert _after(loro_c, peers, actions) == _after(loro, peers, actions)


def test_peer_3_lists_peers_one_and_two_swapped_after_each_snapshot():
    """The rule itself: peer 3's change lists (2, 1) first as peer 3 wrote it, (1, 1) first
    once a snapshot encoded its block, and (2, 1) first again once a later change joined
    the block and a second snapshot encoded it again; a load of that snapshot and a
    snapshot of the loaded document list them as the loaded bytes do."""
    got = []
    for blob in _after(loro_c, (1, 2, 3), ["snapshot", "edit", "snapshot", "load", "load"]):
        changes = _codec.decode_updates(blob)
        got.append([c[5] for c in changes if c[0] == 3 and len(c[5]) > 1][0])
    assert got == [[(1, 1), (2, 1)], [(1, 1), (2, 1)], [(2, 1), (1, 1)], [(2, 1), (1, 1)],
                   [(2, 1), (1, 1)]]
