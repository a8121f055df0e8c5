"""What a rejected update costs a large document, against an accepted one of the same size.

A document of N text ops (one peer, committed in runs) imports a JSON update holding one
change of another peer: six valid ops, then (rejected case) one op past the end of the text.
loro_c undoes a rejected import in place (docs/ARCHITECTURE.md, "Undoing a rejected import
in place"), so its cost should follow the update, not N; `loro` rejects the same update too
(it raises and keeps its state), so both libraries are timed on the same bytes.

    python -m pytest benches/test_rejected_import.py --benchmark-only --benchmark-group-by=group
"""
import json
import random

import pytest

from ._common import load_library

SIZES = (20_000, 200_000)
_cache = {}


def base_doc(module, n):
    doc = module.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    rng = random.Random(n)
    length = 0
    for i in range(n):
        text.insert(rng.randint(0, length), "ab")
        length += 2
        if i % 100 == 99:
            doc.commit()
    doc.commit()
    return doc


def updates(n):
    """(base blob, accepted JSON, rejected JSON) for a document of n inserts."""
    if n in _cache:
        return _cache[n]
    import loro_c
    doc = base_doc(loro_c, n)
    peer = loro_c.LoroDoc()
    peer.import_(doc.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    peer.peer_id = 2
    t = peer.get_text("t")
    t.insert(0, "valid")
    peer.get_map("m").insert("k", 1)
    peer.get_counter("c").increment(2)
    peer.get_list("l").insert(0, "x")
    t.insert(3, "mid")
    t.insert(len(t.to_string()), "!")
    peer.commit()
    good = peer.export_json_updates(doc.oplog_vv, peer.oplog_vv)
    upd = json.loads(good)
    upd["changes"][-1]["ops"][-1]["content"]["pos"] = 10 ** 7
    bad = json.dumps(upd)
    blob = doc.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    _cache[n] = (blob, good, bad)
    return _cache[n]


@pytest.fixture(params=("loro_c", "loro"))
def lib(request):
    module = load_library(request.param)
    if module is None:
        pytest.skip(f"{request.param} is not installed")
    return request.param, module


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", ("rejected", "accepted"))
def test_import_into_large_doc(benchmark, lib, n, case):
    name, module = lib
    blob, good, bad = updates(n)
    doc = module.LoroDoc()
    doc.import_(blob)
    before = doc.get_deep_value()
    benchmark.group = f"{case} update into a {n:,}-op document"
    if case == "rejected":
        def run():
            try:
                doc.import_json_updates(bad)
            except BaseException:   # loro raises a bare BaseException (a Rust panic)
                return True
            return False
        assert benchmark.pedantic(run, rounds=20, iterations=1, warmup_rounds=1)
        assert doc.get_deep_value() == before
    else:
        def setup():
            fresh = module.LoroDoc()
            fresh.import_(blob)
            return (fresh,), {}
        benchmark.pedantic(lambda d: d.import_json_updates(good), setup=setup, rounds=10,
                           iterations=1)
