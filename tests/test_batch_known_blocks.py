"""An import of updates numbers the containers of the change blocks it parses (loro's arena
registers them), and loro 1.17.1 leaves a block the document already has whole unparsed:
its ops' containers stay unregistered (doc/exchange.pxi number_blobs_ops). So a dead child
of a snapshot's history (in no frontier block and not in the snapshot's state) that only
such a known block names is numbered after the roots the updates' new changes create.

The numbers show in the order of an event's diffs of equal depth (loro's hash map keyed by
the container index): a checkout to the empty version and back reports every root, and a
commit on new roots then a checkout around it shows where the dead child stands.

The case, built from ops (plain differential session 8735 had it): peer 3 writes a child
container under m["x"] and some lists; peer 2 overwrites m["x"], so the child is dead.
Peer 1's snapshot has all of that plus a text of its own; peer 130's updates hold peer 3's
and peer 2's blocks (known whole to the snapshot) and a root text "t" created concurrently
with peer 1's text. With a batch recorded by a subscriber, the dead child then waits for a
parse, as after a load alone, since loro's move to the latest version reads none of its
blocks (number_batch_recorded)."""

import itertools

import loro
import pytest

import loro_c


def _name(cid):
    return cid.name if hasattr(cid, "name") else f"{cid.peer}:{cid.counter}"


def _blobs(mod, lists, dead_kind):
    """Peer 1's snapshot and peer 130's updates (see the module's docstring)."""
    everything = mod.ExportMode.Updates(mod.VersionVector())
    p3 = mod.LoroDoc()
    p3.peer_id = 3
    for k in range(lists):
        p3.get_list(f"l{k}").insert(0, k)
    p3.get_map("m").insert_container("x", getattr(mod, dead_kind)())
    p3.commit()
    p2 = mod.LoroDoc()
    p2.peer_id = 2
    p2.import_(p3.export(everything))
    p2.get_map("m").insert("x", 5)
    p2.commit()
    p1 = mod.LoroDoc()
    p1.peer_id = 1
    p1.import_(p2.export(everything))
    p130 = mod.LoroDoc()
    p130.peer_id = 130
    p130.import_(p2.export(everything))
    p1.get_text("a").insert(0, "hi")
    p1.commit()
    p130.get_text("t").insert(0, "yo")
    p130.commit()
    return p1.export(mod.ExportMode.Snapshot()), p130.export(everything)


def _events(mod, lists, dead_kind, subscribed, batch, probe):
    """The targets of each event of the probe after the blobs' import (`subscribed`: the
    subscribers before it, or one after it)."""
    snapshot, updates = _blobs(mod, lists, dead_kind)
    d = mod.LoroDoc()
    d.peer_id = 140
    got = []
    subs = []

    def listen():
        subs.append(d.subscribe_root(lambda e: got.append([_name(x.target) for x in e.events])))

    if subscribed != "after":
        listen()
    if subscribed == "root and m":
        subs.append(d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()),
                                lambda e: None))
    if batch:
        d.import_batch([snapshot, updates])
    else:
        d.import_(snapshot)
        d.import_(updates)
    if subscribed == "after":
        listen()
    got.clear()
    if probe == "checkout":
        d.checkout(mod.Frontiers())
        d.checkout_to_latest()
    else:
        # a commit on new roots, then a checkout to the version before it and back
        f = d.oplog_frontiers
        d.get_text("z").insert(0, "q")
        d.get_counter("k").increment(1)
        d.commit()
        d.checkout(f)
        d.checkout_to_latest()
    return got, d.get_deep_value()


CASES = [c for c in itertools.product(range(6), ["LoroCounter", "LoroList", "LoroText"],
                                      ["root and m", "root", "after"], [True, False],
                                      ["checkout", "commit"])
         # (a load nobody records, then a checkout over the whole history: the numbering of
         # a lazily read state, run_session(late=True) in test_events_differential.py)
         if c[2:] != ("after", True, "checkout") and c[2:] != ("after", False, "checkout")]


@pytest.mark.parametrize("lists,dead_kind,subscribed,batch,probe", CASES)
def test_a_known_block_registers_nothing(lists, dead_kind, subscribed, batch, probe):
    mine, value = _events(loro_c, lists, dead_kind, subscribed, batch, probe)
    theirs, their_value = _events(loro, lists, dead_kind, subscribed, batch, probe)
    assert value == their_value
    assert mine == theirs
