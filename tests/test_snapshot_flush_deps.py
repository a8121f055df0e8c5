"""What a snapshot export leaves in loro's change store, and what a loaded snapshot's
blocks and map states look like when exported again (probed on loro 1.17.1; kinds
late-subscriber sessions 2909 and 2951).

- A snapshot export (and a fork) flushes loro's change store: every block that took a
  change since the last flush is encoded, and read back from its bytes when next needed.
  The block lists a change's dep on its own peer first, then the others as its Frontiers
  yielded them, and the decoder pushes them in that order into a new Frontiers (a hash
  map of peer to counter), so a change's deps can come out in another order after each
  such export: the next updates export writes them so.
- A block loaded from a snapshot stays as stored until its peer adds a change to it, so a
  snapshot export writes it back byte for byte, whether the snapshot came alone or in an
  import_batch with updates. An updates blob's known block with those very bytes then
  stays unparsed in the next load (its containers wait), which shows in later events'
  order of roots.
- A map's state entry lists its keys by key (dead keys, peers by first use, each key's
  peer and Lamport), its value as the hash map loro builds from them with room for all.
"""
import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import loro  # noqa: E402

import loro_c  # noqa: E402
from loro_c import _codec  # noqa: E402
from _events_util import nev  # noqa: E402

MODS = (loro, loro_c)


def _deps_of(blob):
    """The deps of each change with two or more in an updates blob, as its block lists
    them (own peer first)."""
    return [ch[5] for block in _codec.decode_update_blocks(blob) for ch in block
            if len(ch[5]) > 1]


def _three_way(mod, order):
    """Peer 3's change 6@3 depends on its own 5@3 and on peers 1 and 2, merged in
    `order` ("ab": peer 1's snapshot first)."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "a")
    a.get_text("t").insert(0, "a")
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_text("t").insert(0, "bbbb")
    b.commit()
    c = mod.LoroDoc()
    c.peer_id = 3
    c.get_text("u").insert(0, "cccccc")
    c.commit()
    for who in order:
        c.import_((a if who == "a" else b).export(mod.ExportMode.Snapshot()))
    c.get_text("u").insert(0, "z")
    c.commit()
    return c


def _steps(mod, d, steps):
    """U: the deps an updates export writes; S: a snapshot export (its blocks' bytes); c:
    a change of peer 3 imported (its block grows); l: a local change; x: loro_c's block
    cache emptied."""
    out = []
    for s in steps:
        if s == "U":
            out.append(_deps_of(d.export(mod.ExportMode.Updates(mod.VersionVector()))))
        elif s == "S":
            snap = d.export(mod.ExportMode.Snapshot())
            out.append({k: v for k, v in _codec._state_section_entries(snap, 0)
                        if len(k) == 12})
        elif s == "c":
            w = mod.LoroDoc()
            w.peer_id = 3
            w.import_(d.export(mod.ExportMode.Updates(mod.VersionVector())))
            w.get_text("zz").insert(0, "k")
            w.commit()
            d.import_(w.export(mod.ExportMode.Updates(d.oplog_vv)))
        elif s == "l":
            d.get_text("u").insert(0, "q")
            d.commit()
        elif s == "x" and mod is loro_c:
            # (loro_c's cache of encoded blocks emptied, as exports of other documents
            # would: the blocks loro keeps are the document's own)
            _codec._clear_block_cache()
    return out


@pytest.mark.parametrize("order", ["ab", "ba"])
@pytest.mark.parametrize("steps", ["USU", "USUSU", "USUlU", "USUlSU", "SSU", "SlSU", "SxS",
                                   "SlSxSU", "SUxSlxS"])
def test_a_snapshot_export_rereads_the_deps_of_the_blocks_it_encoded(order, steps):
    got = [_steps(mod, _three_way(mod, order), steps) for mod in MODS]
    assert got[0] == got[1]


@pytest.mark.parametrize("order", ["ab", "ba"])
@pytest.mark.parametrize("load", ["batch", "batch of the snapshot twice", "import"])
@pytest.mark.parametrize("steps", ["S", "SU", "SSU", "SUcS", "cSU", "USUS", "SxS", "cSxSU"])
def test_a_loaded_snapshot_writes_its_blocks_back_as_loaded(order, load, steps):
    got = []
    for mod in MODS:
        c = _three_way(mod, order)
        snap = c.export(mod.ExportMode.Snapshot())
        upd = c.export(mod.ExportMode.Updates(mod.VersionVector()))
        d = mod.LoroDoc()
        d.peer_id = 140
        if load == "batch":
            d.import_batch([snap, upd])
        elif load == "import":
            d.import_(snap)
        else:
            d.import_batch([snap, snap])
        got.append(_steps(mod, d, steps))
    assert got[0] == got[1]


def _map_entry(mod, keys, via_imports, dead):
    d = mod.LoroDoc()
    d.peer_id = 1
    for i, key in enumerate(keys):
        if via_imports:
            e = mod.LoroDoc()
            e.peer_id = 10 + i
            e.import_(d.export(mod.ExportMode.Updates(e.oplog_vv)))
            e.get_map("m").insert(key, i)
            e.commit()
            d.import_(e.export(mod.ExportMode.Updates(d.oplog_vv)))
        else:
            d.get_map("m").insert(key, i)
            d.commit()
    for key in dead:
        d.get_map("m").delete(key)
    d.commit()
    entries = dict(_codec._state_section_entries(d.export(mod.ExportMode.Snapshot()), 1))
    return entries[b"\x80\x01m"]          # (the root map m's key)


@pytest.mark.parametrize("keys", ["cb", "bc", "za", "dcba", "xyzw", "qwertyu", "poiuytrewq"])
@pytest.mark.parametrize("via_imports", [False, True])
@pytest.mark.parametrize("dead", ["", "cx", "qa"])
def test_a_maps_state_entry_lists_its_keys_as_loro(keys, via_imports, dead):
    dead = [k for k in dead if k in keys]
    assert _map_entry(loro, keys, via_imports, dead) == _map_entry(loro_c, keys, via_imports, dead)


def _unparsed_known_block(mod, first, three_blobs, touch):
    """Peer 112's first change depends on peers 1 and 2 (merged in `first`'s order), peer
    105's change is the snapshot's frontier; the updates blob from the snapshot's writer
    (exported before its snapshot) holds peer 112's block with the snapshot's very bytes,
    though its deps would come out of loro's Frontiers in another order. Loaded by a
    batch nobody records (with a change past the snapshot on the movable list's counter
    or not), then a subscriber sees a local commit on the roots `touch`."""
    a = mod.LoroDoc()
    a.peer_id = 1
    a.get_tree("tr").create(None)
    a.commit()
    b = mod.LoroDoc()
    b.peer_id = 2
    b.get_tree("tr").create(None)
    b.commit()
    x = mod.LoroDoc()
    x.peer_id = 112
    for src in ((a, b) if first == "ab" else (b, a)):
        x.import_(src.export(mod.ExportMode.Updates(mod.VersionVector())))
    x.get_list("l").insert(0, 1)
    x.commit()
    x.get_movable_list("ml").insert_container(0, mod.LoroCounter())
    x.get_counter("c").increment(2)
    x.get_map("m").insert("b", 2)
    x.commit()
    z = mod.LoroDoc()
    z.peer_id = 105
    z.import_(x.export(mod.ExportMode.Updates(mod.VersionVector())))
    z.get_map("m").insert_container("c", mod.LoroCounter()).increment(5)
    z.get_counter("c").increment(1)
    z.commit()
    whole = z.export(mod.ExportMode.Updates(mod.VersionVector()))
    snap = z.export(mod.ExportMode.Snapshot())
    blobs = [snap, whole]
    if three_blobs:
        y = mod.LoroDoc()
        y.peer_id = 7
        y.import_(snap)
        v = y.oplog_vv
        y.get_movable_list("ml").get(0).container.increment(5)
        y.commit()
        blobs.append(y.export(mod.ExportMode.Updates(v)))
    d = mod.LoroDoc()
    d.peer_id = 142
    d.import_batch(blobs)
    got = []
    sub = d.subscribe_root(lambda e: got.append(nev(e)))
    d.get_deep_value()
    for name in touch:
        if name == "ml":
            d.get_movable_list("ml").insert(0, 1)
        elif name == "l":
            d.get_list("l").insert(0, 1)
        elif name == "tr":
            d.get_tree("tr").create(None)
        elif name == "m":
            d.get_map("m").insert("zz", 1)
        else:
            d.get_counter("c").increment(1)
    d.commit()
    sub.unsubscribe()
    return [diff[0] for diff in got[-1][3]]


@pytest.mark.parametrize("first", ["ab", "ba"])
@pytest.mark.parametrize("three_blobs", [False, True])
@pytest.mark.parametrize("touch", list(itertools.permutations(["l", "ml", "tr", "c", "m"], 2)))
def test_a_known_block_with_the_snapshots_bytes_stays_unparsed(first, three_blobs, touch):
    assert (_unparsed_known_block(loro, first, three_blobs, touch)
            == _unparsed_known_block(loro_c, first, three_blobs, touch))


def _with_forks(mod, order, steps):
    """_steps, where f also replaces the document by its fork (peer 150)."""
    d = _three_way(mod, order)
    out = []
    for s in steps:
        if s == "f":
            d = d.fork()
            d.peer_id = 150
        else:
            out += _steps(mod, d, s)
    return out


@pytest.mark.parametrize("order", ["ab", "ba"])
@pytest.mark.parametrize("steps", ["fS", "fU", "SfU", "fSS", "UfSU", "flSU", "fSlSU", "cflSU",
                                   "lfcSU", "fcSfU", "ffSU", "SflfSU"])
def test_a_fork_loads_the_blocks_as_a_snapshot_stores_them(order, steps):
    """loro's fork is a snapshot export and a load of it: the fork's blocks are the
    snapshot's bytes, its deps read back from them."""
    got = [_with_forks(mod, order, steps) for mod in MODS]
    assert got[0] == got[1]
