"""ExportMode.UpdatesInRange, import_with and import_batch atomicity, checked against loro."""
import pytest

import loro
import loro_c


def _history(lib):
    doc = lib.LoroDoc()
    doc.peer_id = 7
    t = doc.get_text("t")
    t.insert(0, "hello")
    doc.commit()
    mid = doc.oplog_vv
    t.insert(5, " world")
    doc.get_map("m").insert("k", [1, 2])
    doc.commit()
    t.delete(0, 1)
    doc.commit()
    return doc, mid


@pytest.mark.parametrize("src_lib,dst_lib", [(loro_c, loro), (loro, loro_c), (loro_c, loro_c)])
def test_updates_in_range_carries_exactly_the_span(src_lib, dst_lib):
    src, mid = _history(src_lib)
    end = src.oplog_vv.get_last(7) + 1
    first = src.export(src_lib.ExportMode.UpdatesInRange([src_lib.IdSpan(7, src_lib.CounterSpan(0, 5))]))
    rest = src.export(src_lib.ExportMode.UpdatesInRange([src_lib.IdSpan(7, src_lib.CounterSpan(5, end))]))
    dst = dst_lib.LoroDoc()
    dst.import_(first)
    assert dst.get_deep_value() == {"t": "hello"}
    dst.import_(rest)
    assert dst.get_deep_value() == src.get_deep_value() == {"t": "ello world", "m": {"k": [1, 2]}}
    # the rest alone waits for the first span
    lone = dst_lib.LoroDoc()
    status = lone.import_(rest)
    assert status.pending is not None


def test_import_with_imports_like_import():
    src, _ = _history(loro)
    blob = src.export(loro.ExportMode.Updates(loro.VersionVector()))
    doc = loro_c.LoroDoc()
    status = doc.import_with(blob, "from-server")
    assert status.pending is None and doc.get_deep_value() == src.get_deep_value()


def test_import_batch_is_all_or_nothing():
    src, mid = _history(loro_c)
    good = src.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    bad = bytearray(good)
    bad[-1] ^= 0xFF                      # checksum no longer matches
    doc = loro_c.LoroDoc()
    doc.peer_id = 3
    doc.get_text("t").insert(0, "mine")
    doc.commit()
    before, vv = doc.get_deep_value(), doc.oplog_vv
    with pytest.raises(loro_c.DecodeError):
        doc.import_batch([good, bytes(bad)])
    assert doc.get_deep_value() == before and doc.oplog_vv == vv
    doc._check_invariants()
    doc.import_batch([good])
    ref = loro.LoroDoc()
    ref.peer_id = 3
    ref.get_text("t").insert(0, "mine")
    ref.commit()
    ref.import_batch([good])
    assert doc.get_deep_value() == ref.get_deep_value()
