"""loro 1.17.1 leaves a change block of an updates blob that the document already has whole
unparsed (its ops' containers stay unregistered in its arena) only when the snapshot the
document loaded stores, under the block's key (its peer and first counter), the very same
bytes. Any other known block is parsed and its containers registered, in the order of its
ops (doc/exchange.pxi number_blobs_ops).

The bytes differ where the updates' exporter re-encoded a block it had loaded from a
snapshot as it was stored: a change that took in a later commit of its peer keeps two ops
the re-encoding merges ("split"), a change merging two peers' histories lists its deps in
the order loro's Frontiers rebuilds them ("deps", the later change of a block whose first
change alone decides nothing), or the updates hold only the start of a block the snapshot
holds whole ("prefix"). Identical blocks stay unparsed ("same").

In each case peer 130 writes text t last and exports the snapshot (its frontier block
registers t first). A new document imports that snapshot with the updates in one
import_batch nobody records, then subscribes: the roots c, l and m take their numbers from
the parsed block's ops (c, l, m) or, unparsed, when the state's roots are listed (m, l, c),
which shows in the order of a later import's diffs (late-subscriber differential sessions
2460, 1269 and 2188)."""

import itertools

import loro
import pytest

import loro_c

from _events_util import nev, peer_doc, send


def _ops(d, names):
    for name in names:
        if name == "c":
            d.get_counter("c").increment(1)
        elif name == "l":
            d.get_list("l").insert(0, 1)
        elif name == "m":
            d.get_map("m").insert("k", 1)
        else:
            d.get_text("t").insert(0, "ab")
    d.commit()


def _blobs(mod, case, a, x):
    """The snapshot and the updates of `case` (see the module's docstring)."""
    everything = mod.ExportMode.Updates(mod.VersionVector())
    p = peer_doc(mod, a)
    _ops(p, "clm")
    if case == "split":
        # peer a's second commit joins its change; b takes both parts, then stores one
        # change of two text ops, which a re-encoding merges
        p.get_text("t").insert(0, "ab")
        p.commit()
        b = peer_doc(mod, x)
        send(mod, p, b)
        p.get_text("t").insert(2, "cd")
        p.commit()
        send(mod, p, b)
    elif case == "deps":
        # peer x's block: a change on peer a's, then one on the changes peers a and 2
        # made on top of it (two deps, as the snapshot of peer x stores them)
        b = peer_doc(mod, x)
        b.import_(p.export(mod.ExportMode.Snapshot()))
        _ops(b, "c")
        o = peer_doc(mod, 2 if a != 2 else 1)
        for peer in (p, o):
            peer.import_(b.export(mod.ExportMode.Snapshot()))
            _ops(peer, "t")
        for peer in (p, o):
            b.import_(peer.export(mod.ExportMode.Snapshot()))
        _ops(b, "l")
    else:
        b = peer_doc(mod, x)
        send(mod, p, b)
        _ops(b, "t")
    f = peer_doc(mod, 130)
    f.import_(b.export(mod.ExportMode.Snapshot()))
    part = None
    if case == "prefix":
        # a peer that took only peer a's first commit, before its second
        part = peer_doc(mod, 9)
        send(mod, p, part)
        _ops(p, "lc")
        send(mod, p, f)
    _ops(f, "t")
    return f.export(mod.ExportMode.Snapshot()), (part or f).export(everything)


def _order(mod, case, a, x, ops):
    snap, updates = _blobs(mod, case, a, x)
    d = peer_doc(mod, 102)
    d.import_batch([snap, updates])
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e))),
            d.subscribe(mod.ContainerID.Root("x", mod.ContainerType.Map()), lambda e: None)]
    d.get_deep_value()
    src = peer_doc(mod, 5)
    src.import_(snap)
    v = src.oplog_vv
    _ops(src, ops)
    got.clear()
    d.import_(src.export(mod.ExportMode.Updates(v)))
    del subs
    return [[y[0] for y in e[3]] for e in got]


@pytest.mark.parametrize("ops", ["".join(p) for p in itertools.permutations("tclm")][::5])
@pytest.mark.parametrize("case,a,x", [("split", 2, 5), ("split", 3, 1), ("deps", 1, 106),
                                      ("deps", 200, 300), ("deps", 3, 106), ("prefix", 1, 3),
                                      ("prefix", 4, 6), ("same", 2, 5)])
def test_known_block_parsed_unless_the_snapshot_stores_its_bytes(case, a, x, ops):
    assert _order(loro_c, case, a, x, ops) == _order(loro, case, a, x, ops)
