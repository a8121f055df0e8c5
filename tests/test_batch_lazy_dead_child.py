"""An import_batch of a snapshot and updates into an empty document nobody subscribes to
loads the snapshot lazily (loro's state store decodes a container when it is touched), and
the dead children of the snapshot's history (in no frontier block and not reachable from
the state) stay unregistered in loro's arena until a parse of their change blocks reaches
them: a checkout past its early return (its diff calculation parses the history's blocks),
an export, a handle. So after such a batch, a checkout to an earlier version and back
numbers the dead child, and a root an import creates afterwards comes after it, as after a
snapshot load a subscriber records (doc/exchange.pxi number_lazily_loaded, then
number_loaded_rest). Before, loro_c left the dead child unnumbered: the root took its
number, which showed in the order of a later event's diffs of equal depth (loro's hash map
keyed by the container index). Late-subscriber differential sessions 479, 2723, 2769.
(A plain import_ of the snapshot, loaded thin, still numbers the dead child otherwise: not
covered here.)"""

import loro
import pytest

import loro_c

from _events_util import nev


def _history(mod):
    """Peer 1 inserts a list into root l and writes text t; peer 2 deletes that list (a
    dead child) and makes the snapshot."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_list("l").insert_container(0, mod.LoroList())
    a.get_text("t").insert(0, " 中")
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(mod.ExportMode.Snapshot()))
    b.get_list("l").delete(0, 1)
    b.commit()
    return a, b


def _session(mod, checkout, with_updates, text_first):
    a, b = _history(mod)
    blobs = [b.export(mod.ExportMode.Snapshot())]
    if with_updates:
        blobs.append(b.export(mod.ExportMode.Updates(mod.VersionVector())))
    d = mod.LoroDoc()
    d.peer_id = 102
    if with_updates:
        d.import_batch(blobs)
    else:
        d.import_(blobs[0])
    got = []
    subs = [d.subscribe_root(lambda e: got.append(nev(e))),
            d.subscribe(mod.ContainerID.Root("m", mod.ContainerType.Map()),
                        lambda e: got.append(nev(e)))]
    d.get_deep_value()
    if checkout:
        d.checkout(mod.Frontiers.from_ids([mod.ID(1, 2)]))
        d.get_deep_value()
        d.checkout_to_latest()
        d.get_deep_value()
    got.clear()
    # another peer writes the text and creates the counter root c
    src = mod.LoroDoc()
    src.peer_id = 9
    src.import_(b.export(mod.ExportMode.Snapshot()))
    v = src.oplog_vv
    if text_first:
        src.get_text("t").insert(0, "x")
        src.get_counter("c").increment(2)
    else:
        src.get_counter("c").increment(2)
        src.get_text("t").insert(0, "x")
    src.commit()
    d.import_(src.export(mod.ExportMode.Updates(v)))
    out = [[x[0] for x in e[3]] for e in got]
    del subs
    return out


@pytest.mark.parametrize("text_first", [True, False])
@pytest.mark.parametrize("checkout", [True, False])
@pytest.mark.parametrize("with_updates", [True])
def test_dead_child_numbered_at_a_checkout_after_a_lazy_batch(checkout, with_updates,
                                                              text_first):
    want = _session(loro, checkout, with_updates, text_first)
    assert _session(loro_c, checkout, with_updates, text_first) == want
