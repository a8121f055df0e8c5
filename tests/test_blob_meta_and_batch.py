"""Blob metadata equal to loro's, and import_batch that is deterministic across processes.

* ``decode_import_blob_meta`` of updates exported by loro from random multi-peer histories
  (with recorded, often equal timestamps and concurrent changes of equal Lamport) must give
  loro's fields, including ``{peer: 0}`` entries of ``partial_start_vv``, which loro keeps
  (they encode and print, but compare equal to a vector without them).
* ``import_batch([snapshot, updates])`` into a fresh document, run in many fresh
  interpreters with random hash seeds, must always succeed and equal loro (issue 14.3: the
  container memo of an import was keyed by ``id()`` of objects freed between blobs).
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import loro

import loro_c


def meta_fields(m):
    """Every field of an ImportBlobMetadata, vectors decoded with loro_c (zero entries kept)."""
    return (repr(loro_c.VersionVector.decode(m.partial_start_vv.encode())),
            repr(loro_c.VersionVector.decode(m.partial_end_vv.encode())),
            m.start_timestamp, m.end_timestamp, m.change_num, str(m.mode).split(".")[-1],
            repr(loro_c.Frontiers.decode(m.start_frontiers.encode())))


def test_blob_meta_matches_loro_on_random_histories():
    checked = 0
    for seed in range(120):
        rng = random.Random(seed)
        peers = list(range(1, rng.randint(3, 7)))
        docs = []
        for p in peers:
            d = loro.LoroDoc()
            d.peer_id = p
            d.set_record_timestamp(True)
            docs.append(d)
        ts = 1000
        versions = [loro.VersionVector()]
        for _ in range(rng.randint(5, 60)):
            d = rng.choice(docs)
            d.get_text("t").insert(0, "x")
            ts += rng.choice((0, 0, 1, 5))
            d.set_next_commit_timestamp(ts)
            d.commit()
            if rng.random() < 0.3:
                a, b = rng.sample(docs, 2)
                b.import_(a.export(loro.ExportMode.Updates(b.oplog_vv)))
            versions.append(d.oplog_vv)
        for d in docs:
            for v in rng.sample(versions, min(3, len(versions))):
                blob = d.export(loro.ExportMode.Updates(v))
                want = meta_fields(loro.LoroDoc.decode_import_blob_meta(blob, True))
                got = meta_fields(loro_c.LoroDoc.decode_import_blob_meta(blob, True))
                assert got == want, f"seed {seed}"
                checked += 1
    assert checked > 300


def test_zero_entries_of_partial_start_vv_encode_like_loro():
    a = loro.LoroDoc(); a.peer_id = 1
    a.get_text("t").insert(0, "ab"); a.commit()
    v = a.oplog_vv
    a.get_text("t").insert(0, "c"); a.commit()
    b = loro.LoroDoc(); b.peer_id = 2
    b.import_(a.export(loro.ExportMode.Updates(loro.VersionVector())))
    b.get_text("t").insert(0, "x"); b.commit()
    blob = b.export(loro.ExportMode.Updates(v))
    want = loro.LoroDoc.decode_import_blob_meta(blob, True).partial_start_vv
    got = loro_c.LoroDoc.decode_import_blob_meta(blob, True).partial_start_vv
    assert loro.VersionVector.decode(got.encode()) == want
    assert repr(got) == "VersionVector({1: 2, 2: 0})"
    assert got == loro_c.VersionVector.decode(loro.VersionVector.decode(b"\x01\x01\x04").encode())
    assert got.get_last(2) is None
    # a decoded zero entry survives a round trip
    assert loro_c.VersionVector.decode(got.encode()).encode() == got.encode()


_CHILD = r"""
import json, sys
import loro_c
snap, upd = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
d = loro_c.LoroDoc()
d.import_batch([snap, upd])
vv = d.oplog_vv
print(json.dumps({"value": d.get_deep_value(), "vv": sorted((str(p), vv.get_last(p)) for p in json.loads(sys.argv[3]))}))
"""


def _history():
    """A multi-peer loro history over Text/List/Map/Counter with nested containers."""
    rng = random.Random(14)
    docs = []
    for p in (100, 200, 300):
        d = loro.LoroDoc()
        d.peer_id = p
        docs.append(d)
    for step in range(240):
        d = rng.choice(docs)
        r = rng.random()
        if r < 0.25:
            t = d.get_text("text")
            t.insert(rng.randint(0, len(t.to_string())), rng.choice("abcdé😀"))
        elif r < 0.45:
            m = d.get_map("map")
            key = rng.choice("abcdef")
            kind = rng.random()
            if kind < 0.3:
                m.insert_container(key, loro.LoroCounter())
            elif kind < 0.5:
                m.insert_container(key, loro.LoroList())
            else:
                m.insert(key, rng.randint(0, 99))
        elif r < 0.65:
            lst = d.get_list("list")
            if rng.random() < 0.3:
                lst.insert_container(0, loro.LoroMap())
            else:
                lst.insert(rng.randint(0, len(lst)), rng.random())
        elif r < 0.8:
            d.get_counter("counter").increment(rng.choice((1, 2.5, -3)))
            # grow the nested counters and lists so later ops target them
            m = d.get_map("map")
            for key in m.keys():
                child = m.get(key)
                c = getattr(child, "container", None)
                if isinstance(c, loro.LoroCounter):
                    c.increment(1)
                elif isinstance(c, loro.LoroList):
                    c.push(step)
        else:
            a, b = rng.sample(docs, 2)
            b.import_(a.export(loro.ExportMode.Updates(b.oplog_vv)))
        if rng.random() < 0.3:
            d.commit()
    for d in docs:
        d.commit()
    return docs


def test_import_batch_snapshot_then_updates_is_deterministic_across_processes():
    docs = _history()
    src = docs[0]
    for d in docs[1:]:
        src.import_(d.export(loro.ExportMode.Updates(src.oplog_vv)))
    mid_vv = src.oplog_vv
    snap = src.export(loro.ExportMode.Snapshot())
    for d in docs[1:]:
        d.import_(src.export(loro.ExportMode.Updates(d.oplog_vv)))
    # more concurrent work after the snapshot, with new nested containers
    for i, d in enumerate(docs):
        d.get_map("map").insert_container(f"late{i}", loro.LoroCounter()).increment(i + 1)
        d.get_text("text").insert(0, f"<{i}>")
        d.commit()
    for d in docs[1:]:
        src.import_(d.export(loro.ExportMode.Updates(src.oplog_vv)))
    upd = src.export(loro.ExportMode.Updates(mid_vv))
    ref = loro.LoroDoc()
    ref.import_batch([snap, upd])
    peers = [100, 200, 300]
    want = {"value": json.loads(json.dumps(ref.get_deep_value())),
            "vv": sorted([str(p), ref.oplog_vv.get_last(p)] for p in peers)}
    with tempfile.TemporaryDirectory() as tmp:
        sp, up = os.path.join(tmp, "snap"), os.path.join(tmp, "upd")
        with open(sp, "wb") as f:
            f.write(snap)
        with open(up, "wb") as f:
            f.write(upd)
        procs = []
        for k in range(24):
            env = dict(os.environ, PYTHONHASHSEED=str(random.Random(k).randrange(1, 2**32)))
            procs.append(subprocess.Popen(
                [sys.executable, "-c", _CHILD, sp, up, json.dumps(peers)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for k, p in enumerate(procs):
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"process {k} failed: {err[-2000:]}"
            assert json.loads(out) == want, f"process {k} differs from loro"
