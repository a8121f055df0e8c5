"""A server's round trip: a stored snapshot loaded, a client's update imported, a new
snapshot exported. The export writes the loaded change blocks back as their stored LZ4
frames (not compressed anew) and a root map's state from its C state, its live keys in
the order of loro's map value replayed in C on the keys' UTF-8 bytes
(`_codec.encode_map_entries`). The bytes must be loro's own export after the same load
and import, and the rows encoder's (`_snapshot_uncached`, which compresses every block
and orders the keys in Python), for maps small and large (tables of 4 buckets to
thousands), keys of any script, deleted keys, blocks LZ4 could not shrink (stored raw),
and snapshots written by loro or by loro_c."""
import os
import random

import loro
import pytest

import loro_c as L


def _history(mod, n, seed, incompressible):
    rng = random.Random(seed)
    d = mod.LoroDoc()
    d.peer_id = 1
    m = d.get_map("m")
    for i in range(n):
        key = rng.choice(("k%d" % rng.randrange(n // 3 + 1), "\u00e9%d" % rng.randrange(50),
                          "\U00010000" * rng.randint(0, 2) + str(i % 7), "\uff61%d" % (i % 5)))
        if rng.random() < 0.1:
            m.delete(key)
        elif incompressible:
            m.insert(key, os.urandom(rng.randint(1, 64)))
        else:
            m.insert(key, rng.choice((i, "s" * (i % 5), 1.5, None, [1, "x"], {"a": i})))
        if i % 97 == 0:
            d.commit()
    d.commit()
    return d


def _round_trip(mod, snap, upd):
    d = mod.LoroDoc()
    d.import_(snap)
    d.import_(upd)
    return d


@pytest.mark.parametrize("n", (3, 20, 300, 3000))
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("writer", ("loro", "loro_c"))
@pytest.mark.parametrize("incompressible", (False, True))
def test_load_import_export_is_loros_export(n, seed, writer, incompressible):
    mod = loro if writer == "loro" else L
    src = _history(mod, n, seed, incompressible)
    snap = src.export(mod.ExportMode.Snapshot())
    client = mod.LoroDoc()
    client.peer_id = 2
    client.import_(snap)
    client.get_map("m").insert("new", 1)
    client.get_map("m").delete("k0")
    client.commit()
    upd = client.export(mod.ExportMode.Updates(src.oplog_vv))

    want = _round_trip(loro, snap, upd).export(loro.ExportMode.Snapshot())
    doc = _round_trip(L, snap, upd)
    got = doc.export(L.ExportMode.Snapshot())
    assert got == want
    assert doc._snapshot_uncached() == got
    # a second update on the same document: the blocks written by the first export go
    # back as they were, the map is encoded again
    doc.get_map("m").insert("later", "v")
    doc.commit()
    again = doc.export(L.ExportMode.Snapshot())
    assert again == doc._snapshot_uncached()
    back = loro.LoroDoc()
    back.import_(again)
    assert back.get_deep_value() == doc.get_deep_value()
    doc._check_invariants()
