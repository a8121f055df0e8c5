"""export_pending_updates, against loro: a server saves the changes it could not apply yet
beside its snapshot, and restoring both gives back the same pending state."""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def history(lib, seed):
    """Peer 2's edits in four commits, and the version after each."""
    rng = random.Random(seed)
    e = lib.LoroDoc()
    e.peer_id = 2
    versions = [e.oplog_vv]
    for step in range(4):
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.4:
                e.get_text("t").insert(0, rng.choice(["x", "yz", "é😀"]))
            elif r < 0.6:
                e.get_list("l").insert(0, [step, {"a": step}])
            elif r < 0.8:
                e.get_map("m").insert(rng.choice("ab"), step)
            else:
                e.get_counter("c").increment(step + 0.5)
        e.set_next_commit_message(f"step {step}")
        e.commit()
        versions.append(e.oplog_vv)
    return e, versions


def commit_blob(lib, e, vs, k):
    """Peer 2's commit k alone (ops from version k to version k + 1)."""
    lo = vs[k].get_last(2)
    return e.export(lib.ExportMode.UpdatesInRange(
        [lib.IdSpan(2, lib.CounterSpan(0 if lo is None else lo + 1, vs[k + 1].get_last(2) + 1))]))


@pytest.mark.parametrize("seed", range(8))
def test_pending_changes_export_and_restore_like_loro(seed):
    rng = random.Random(seed)
    gap = rng.randint(0, 2)                  # this commit's blob comes last
    late = list(range(gap + 1, 4))
    rng.shuffle(late)
    result = {}
    for lib in LIBS:
        e, vs = history(lib, seed)
        d = lib.LoroDoc()
        d.peer_id = 1
        d.get_text("t").insert(0, "base")
        d.commit()
        for k in list(range(gap)) + late:
            d.import_(commit_blob(lib, e, vs, k))
        pending = d.export_pending_updates()
        assert pending is not None
        meta = lib.LoroDoc.decode_import_blob_meta(pending, True)
        # restore: a fresh document gets the snapshot, then the pending bytes
        r = lib.LoroDoc()
        r.import_(d.export(lib.ExportMode.Snapshot()))
        status = r.import_(pending)
        assert r.export_pending_updates() is not None
        # the missing blob arrives: everything applies
        r.import_(commit_blob(lib, e, vs, gap))
        assert r.export_pending_updates() is None
        result[lib] = (str(meta.partial_start_vv), str(meta.partial_end_vv), meta.change_num,
                       str(status.pending), r.get_deep_value())
    assert result[loro_c] == result[loro]


def test_nothing_pending_is_none_and_local_edits_stay_open():
    for lib in LIBS:
        d = lib.LoroDoc()
        assert d.export_pending_updates() is None
        d.get_text("t").insert(0, "open")
        assert d.export_pending_updates() is None
        assert d.get_pending_txn_len() == 4     # not committed by the export
