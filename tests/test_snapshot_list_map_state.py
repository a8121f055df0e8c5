"""A server's round trip on a large List and root Map: a snapshot loaded, a client's update
imported, a snapshot exported. The changed containers' states are written from C data
(a List from its items' value slots and packed id runs, a root Map by the codec's
`encode_map_entries`, keys radix-sorted on their first bytes): the List entry must be
loro's bytes for the same history (values of every type, child containers, deleted items,
inserts by several peers), and the Map entry the row encoder's (`_snapshot_uncached`;
loro orders a map's values by its own hash) for keys of every script, deleted keys, keys
sharing more than 8 bytes, keys with NUL bytes, and maps above and below the size where
the radix sort starts. loro reads every blob as the same document."""
import math
import random

import loro
import pytest

import loro_c
from loro_c import _codec

VALUES = (None, True, False, 0, 1, -1, 255, -(2**31), 2**63 - 1, -(2**63), 0.0, -0.0, 1.5,
          -2.25e300, math.inf, -math.inf, 5e-324, "", "ascii", "éü", "中文", "😀x", "x" * 300,
          b"", b"\x00\xff", bytes(range(40)), [], [1, [2.5, None]], {"k": {"n": b"x"}},
          {"é": [True, "中"]})
KINDS = ("LoroMap", "LoroText", "LoroList", "LoroCounter", "LoroMovableList", "LoroTree")
# keys whose UTF-8 order is not their code-point order, NUL bytes (a zero-padded first-8-
# bytes head must not tie them wrongly), an empty key, prefixes of each other, and keys
# sharing their first 8 bytes (sorted by their whole bytes)
KEYS = (["", "a", "a\x00", "a\x00b", "ab", "b", "é", "z", "\uff61", "\U00010000", "中", "😀",
         "x" * 40, "x" * 41]
        + [f"common_prefix_{i:03}" for i in range(30)] + [f"k{i}" for i in range(60)])


def _ops(seed, n, peer):
    """`n` edits as plain tuples, the same for both libraries."""
    rng = random.Random(seed * 1000 + peer)
    out = []
    list_len = 0
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            out.append(("lins", rng.random(), rng.choice(VALUES)))
            list_len += 1
        elif r < 0.5:
            out.append(("lsub", rng.random(), rng.choice(KINDS)))
            list_len += 1
        elif r < 0.58:
            out.append(("ldel", rng.random(), rng.randint(1, 3)))
        elif r < 0.85:
            out.append(("mset", rng.choice(KEYS), rng.choice(VALUES)))
        elif r < 0.9:
            out.append(("msub", rng.choice(KEYS), rng.choice(KINDS)))
        elif r < 0.97:
            out.append(("mdel", rng.choice(KEYS), None))
        else:
            out.append(("small", rng.choice(KEYS[:14]), rng.choice(VALUES)))
    return out


def _apply(lib, doc, ops):
    lst, m, small = doc.get_list("l"), doc.get_map("m"), doc.get_map("small")
    for i, (op, a, b) in enumerate(ops):
        n = len(lst)
        if op == "lins":
            lst.insert(int(a * (n + 1)), b)
        elif op == "lsub":
            child = lst.insert_container(int(a * (n + 1)), getattr(lib, b)())
            if b == "LoroMap":
                child.insert("inner", i)
        elif op == "ldel":
            if n:
                pos = int(a * n)
                lst.delete(pos, min(b, n - pos))
        elif op == "mset":
            m.insert(a, b)
        elif op == "msub":
            m.insert_container(a, getattr(lib, b)())
        elif op == "mdel":
            m.delete(a)
        else:
            small.insert(a, b)
        if i % 37 == 36:
            doc.commit()
    doc.commit()


def _round_trip(lib, seed):
    """(the server's first snapshot, the client's update, the server's snapshot after
    loading the first and importing the update)."""
    doc = lib.LoroDoc()
    doc.peer_id = 11
    _apply(lib, doc, _ops(seed, 400, 11))
    snap = doc.export(lib.ExportMode.Snapshot())
    client = lib.LoroDoc()
    client.peer_id = 1 << 40
    client.import_(snap)
    _apply(lib, client, _ops(seed, 25, 1 << 40))
    # (a concurrent edit of the server too: the import interleaves two peers' items)
    _apply(lib, doc, _ops(seed, 10, 11 + 1))
    update = client.export(lib.ExportMode.Updates(doc.oplog_vv))
    server = lib.LoroDoc()
    server.import_(doc.export(lib.ExportMode.Snapshot()))
    server.import_(update)
    return server, server.export(lib.ExportMode.Snapshot())


def _entries(blob):
    return {str(cid): value for cid, key, value in _codec.loaded_state_entries(blob)}


@pytest.mark.parametrize("seed", range(6))
def test_list_and_root_map_after_load_and_import(seed):
    ours, blob = _round_trip(loro_c, seed)
    theirs, loro_blob = _round_trip(loro, seed)
    assert ours.get_deep_value() == theirs.get_deep_value()
    mine, ref = _entries(blob), _entries(loro_blob)
    # the list's state is loro's, byte for byte
    assert mine["cid:root-l:List"] == ref["cid:root-l:List"]
    # the maps' are the row encoder's (keys of every kind, deleted keys, the radix sort and
    # the small map's comparison sort)
    assert blob == ours._snapshot_uncached()
    back = loro.LoroDoc()
    back.import_(blob)
    assert back.get_deep_value() == theirs.get_deep_value()
    ours._check_invariants()
    # the kept entries of this export are used by the next one, after another edit
    ours.get_list("l").insert(0, {"late": [1, b"\x01"]})
    ours.get_map("m").insert("\uff61late", -(2**63))
    ours.commit()
    again = ours.export(loro_c.ExportMode.Snapshot())
    assert again == ours._snapshot_uncached()
    back = loro.LoroDoc()
    back.import_(again)
    assert back.get_deep_value() == ours.get_deep_value()


@pytest.mark.parametrize("seed", range(3))
def test_loro_c_loading_loros_blob_exports_loros_list(seed):
    """loro_c loads loro's snapshot and imports loro's update: the list it then writes is
    the one loro writes."""
    doc = loro.LoroDoc()
    doc.peer_id = 11
    _apply(loro, doc, _ops(seed, 300, 11))
    client = loro.LoroDoc()
    client.peer_id = 77
    client.import_(doc.export(loro.ExportMode.Snapshot()))
    _apply(loro, client, _ops(seed, 20, 77))
    update = client.export(loro.ExportMode.Updates(doc.oplog_vv))
    snap = doc.export(loro.ExportMode.Snapshot())
    server = loro_c.LoroDoc()
    server.import_(snap)
    server.import_(update)
    doc.import_(update)
    blob = server.export(loro_c.ExportMode.Snapshot())
    mine = _entries(blob)
    assert mine["cid:root-l:List"] == _entries(doc.export(loro.ExportMode.Snapshot()))["cid:root-l:List"]
    # a map entry is the row encoder's unless it is the one loaded (loro's key order)
    loaded, fresh = _entries(snap), _entries(server._snapshot_uncached())
    for cid in ("cid:root-m:Map", "cid:root-small:Map"):
        assert mine[cid] in (fresh[cid], loaded.get(cid))
    back = loro.LoroDoc()
    back.import_(blob)
    assert back.get_deep_value() == doc.get_deep_value()
    server._check_invariants()


def test_large_list_and_map_of_one_peer():
    """The sizes the radix sort and the prefetching are for: 3,000 list items inserted at
    random places (a run per item) and 1,500 keys."""
    rng = random.Random(4)
    docs = {}
    for lib in (loro_c, loro):
        r = random.Random(4)
        doc = lib.LoroDoc()
        doc.peer_id = 3
        lst, m = doc.get_list("l"), doc.get_map("m")
        for i in range(3000):
            lst.insert(r.randint(0, len(lst)), r.choice(VALUES))
            m.insert(f"key-{r.randrange(1500)}", i)
            if i % 100 == 0:
                doc.commit()
        doc.commit()
        docs[lib] = doc
    blob = docs[loro_c].export(loro_c.ExportMode.Snapshot())
    server = loro_c.LoroDoc()
    server.import_(blob)
    server.peer_id = 9
    server.get_list("l").insert(rng.randint(0, 3000), "new")
    server.get_map("m").delete("key-7")
    server.commit()
    out = server.export(loro_c.ExportMode.Snapshot())
    assert out == server._snapshot_uncached()
    ldoc = docs[loro]
    ldoc.import_(server.export(loro_c.ExportMode.Updates(
        loro_c.VersionVector.decode(ldoc.oplog_vv.encode()))))
    assert _entries(out)["cid:root-l:List"] == _entries(
        ldoc.export(loro.ExportMode.Snapshot()))["cid:root-l:List"]
    back = loro.LoroDoc()
    back.import_(out)
    assert back.get_deep_value() == ldoc.get_deep_value()
