"""Loading a snapshot from its state section (issue 11): a snapshot imported into an empty
document is read from its state, its history decoded only when something needs it. Loro's
snapshots and ours, of random multi-peer histories: the loaded document reads as loro's;
concurrent updates on top, checkouts, exports and edits after the load give loro's
results; lying state sections raise LoroError and leave the document empty."""
import random
import struct

import pytest

import loro
import loro_c
from loro_c._types import _uleb
from loro_c import _codec

from test_snapshot_export import random_history, _edit, _same_doc
from test_snapshot_hostile import fix_checksum, sections


def _both_snapshots(seed):
    src = random_history(seed)
    ours = src.export(loro_c.ExportMode.Snapshot())
    ref = loro.LoroDoc()
    ref.import_(ours)
    return src, ours, ref, ref.export(loro.ExportMode.Snapshot())


def _concurrent_update(seed, blob_src):
    """An update from a peer that forked off an older version of the history."""
    rng = random.Random(seed + 1000)
    fork = loro_c.LoroDoc()
    fork.import_(blob_src.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    frontiers = fork.oplog_frontiers
    if rng.random() < 0.7 and fork.len_changes > 2:
        fork.checkout(fork.oplog_frontiers)
    fork = fork.fork()
    fork.peer_id = 999_000 + seed
    for _ in range(rng.randint(1, 8)):
        _edit(rng, fork, loro_c)
    fork.commit()
    return fork.export(loro_c.ExportMode.Updates(blob_src.oplog_vv)), frontiers


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_state_load_reads_and_stays_thin(seed, who):
    src, ours, ref, theirs = _both_snapshots(seed)
    blob = ours if who == "loro_c" else theirs
    d = loro_c.LoroDoc()
    d.import_(blob)
    assert not d._history_loaded
    assert d.get_deep_value() == ref.get_deep_value()
    for name in ("t", "u"):
        assert d.get_text(name).to_string() == ref.get_text(name).to_string()
        assert d.get_text(name).len_utf16 == ref.get_text(name).len_utf16
    assert d.get_list("l").get_deep_value() == ref.get_list("l").get_deep_value()
    assert d.get_map("m").get_deep_value() == ref.get_map("m").get_deep_value()
    d._check_invariants()
    assert not d._history_loaded
    # anything else loads the history first and sees the whole document
    _same_doc(loro, ref, loro_c, d)
    assert d._history_loaded
    d._check_invariants()


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_concurrent_updates_on_a_loaded_snapshot_converge_with_loro(seed, who):
    src, ours, ref, theirs = _both_snapshots(seed)
    blob = ours if who == "loro_c" else theirs
    update, _ = _concurrent_update(seed, src)
    d = loro_c.LoroDoc()
    d.import_(blob)
    d.import_(update)
    ref.import_(update)
    _same_doc(loro, ref, loro_c, d)
    d._check_invariants()
    # a local edit, exported both ways
    rng = random.Random(seed)
    d.peer_id = 4242
    _edit(rng, d, loro_c)
    d.commit()
    ref.import_(d.export(loro_c.ExportMode.Updates(loro_c.VersionVector.decode(ref.oplog_vv.encode()))))
    _same_doc(loro, ref, loro_c, d)
    again = loro.LoroDoc()
    again.import_(d.export(loro_c.ExportMode.Snapshot()))
    assert again.get_deep_value() == ref.get_deep_value()


@pytest.mark.parametrize("seed", range(12))
def test_checkout_and_exports_after_load_match_loro(seed):
    src, ours, ref, theirs = _both_snapshots(seed)
    d = loro_c.LoroDoc()
    d.import_(theirs)
    f = src.oplog_frontiers
    changes = list(src.oplog_vv.to_dict().items())
    peer, end = changes[seed % len(changes)]
    at = loro_c.Frontiers.from_id(loro_c.ID(peer, end // 2))
    d.checkout(at)
    ref.checkout(loro.Frontiers.decode(at.encode()))
    assert d.get_deep_value() == ref.get_deep_value()
    d.checkout_to_latest()
    ref.checkout_to_latest()
    assert d.get_deep_value() == ref.get_deep_value()
    upd = d.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    other = loro.LoroDoc()
    other.import_(upd)
    assert other.get_deep_value() == ref.get_deep_value()


def test_local_edit_loads_history_first():
    src = random_history(3)
    d = loro_c.LoroDoc()
    d.import_(src.export(loro_c.ExportMode.Snapshot()))
    d.get_text("t").insert(0, "x")
    assert d._history_loaded
    d.commit()
    src.get_text("t").insert(0, "x")
    assert d.get_text("t").to_string() == src.get_text("t").to_string()
    assert d.oplog_vv.to_dict().keys() >= src.oplog_vv.to_dict().keys() - {src.peer_id}


def test_roots_created_while_thin_stay_listed():
    src = random_history(5)
    d = loro_c.LoroDoc()
    d.import_(src.export(loro_c.ExportMode.Snapshot()))
    d.get_text("fresh")
    listed = d.get_value()
    assert "fresh" in listed
    d.commit()                          # loads the history
    assert d._history_loaded
    assert d.get_value() == listed


def test_subscriber_before_import_replays_as_before():
    src = random_history(6)
    d = loro_c.LoroDoc()
    seen = []
    sub = d.subscribe_root(seen.append)
    d.import_(src.export(loro_c.ExportMode.Snapshot()))
    assert d._history_loaded and seen
    assert d.get_deep_value() == src.get_deep_value()
    del sub


# -- lying state sections ---------------------------------------------------------------------

def _with_state(blob, state_entries):
    """`blob` with its state section replaced by an SSTable of `state_entries`."""
    (a0, b0), (a1, b1), (a2, b2) = sections(blob)
    state = _codec._sst_build(state_entries) if state_entries else b""
    out = bytearray(blob[:22])
    for sec in (blob[a0:b0], state, blob[a2:b2]):
        out += struct.pack("<I", len(sec)) + sec
    return fix_checksum(bytes(out))


def _state_entries(doc):
    return _codec._state_entries(doc)


def _expect_error_empty(data):
    d = loro_c.LoroDoc()
    with pytest.raises(loro_c.LoroError):
        d.import_(data)
    assert d.get_deep_value() == {} and d._history_loaded
    d.get_text("t").insert(0, "ok")
    d.commit()


def test_lying_state_sections():
    a = loro_c.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "hello")
    a.get_list("l").push(1)
    a.get_map("m").insert("k", 1)
    a.commit()
    b = loro_c.LoroDoc()
    b.peer_id = 2
    b.get_text("t").insert(0, "other peer")
    b.get_list("l").push(2)
    b.get_map("m").insert("k", 2)
    b.commit()
    blob_a = a.export(loro_c.ExportMode.Snapshot())
    entries_b = _state_entries(b)
    # the state of another history: ids its version vector does not hold
    for k in range(len(entries_b)):
        _expect_error_empty(_with_state(blob_a, [entries_b[k]]))
    # a state whose text runs do not cover its text
    entries_a = dict(_state_entries(a))
    key_t = loro_c.ContainerID.Root("t", loro_c.ContainerType.Text()).to_bytes()
    raw = bytearray(entries_a[key_t])
    i = raw.index(b"hello")
    raw[i - 1] = 4
    del raw[i + 4]
    _expect_error_empty(_with_state(blob_a, [(key_t, bytes(raw))]))
    # a kind byte that differs from the container id
    bad = bytearray(entries_a[key_t])
    bad[0] = 1
    _expect_error_empty(_with_state(blob_a, [(key_t, bytes(bad))]))
    # a child container its history never created
    child = loro_c.ContainerID.Normal(1, 500, loro_c.ContainerType.Map()).to_bytes()
    key_m = loro_c.ContainerID.Root("m", loro_c.ContainerType.Map()).to_bytes()
    _expect_error_empty(_with_state(blob_a, sorted([(key_t, entries_a[key_t]),
                                                    (child, entries_a[key_m])])))
    # the honest state still loads
    d = loro_c.LoroDoc()
    d.import_(_with_state(blob_a, sorted(entries_a.items())))
    assert d.get_deep_value() == a.get_deep_value()


def _replayed(blob):
    """`blob` imported the old way (a subscriber turns the state-section load off)."""
    d = loro_c.LoroDoc()
    sub = d.subscribe_root(lambda e: None)
    status = d.import_(blob)
    del sub
    return d, status


@pytest.mark.parametrize("seed", range(6))
def test_thin_load_behaves_as_the_replay(seed):
    src, ours, ref, theirs = _both_snapshots(seed)
    for blob in (ours, theirs):
        old, old_status = _replayed(blob)
        d = loro_c.LoroDoc()
        status = d.import_(blob)
        assert not d._history_loaded
        assert repr(status) == repr(old_status)
        assert d.get_value() == old.get_value()
        # the version comes from the snapshot's oplog keys
        assert d.oplog_vv == old.oplog_vv and d.state_vv == old.state_vv
        assert repr(d.oplog_vv) == repr(old.oplog_vv)
        assert d.oplog_frontiers == old.oplog_frontiers
        assert repr(d.state_frontiers) == repr(old.state_frontiers)
        assert not d._history_loaded
        # a text tree built for a read, then the history for an edit
        assert d.get_text("t").len_utf16 == old.get_text("t").len_utf16
        assert d.get_text("t").slice(0, min(3, d.get_text("t").len_unicode)) == \
            old.get_text("t").slice(0, min(3, old.get_text("t").len_unicode))
        assert not d._history_loaded
        d._check_invariants()
        assert d.export_json_updates(loro_c.VersionVector(), old.oplog_vv) == \
            old.export_json_updates(loro_c.VersionVector(), old.oplog_vv)
        # unchanged since the load (the JSON export replayed the history), it exports the
        # loaded bytes again, as loro does; the replay's own encoding holds the same document
        assert d._history_loaded
        assert d.export(loro_c.ExportMode.Snapshot()) == blob
        again = loro_c.LoroDoc()
        again.import_(old.export(loro_c.ExportMode.Snapshot()))
        assert again.get_deep_value() == old.get_deep_value()
        for doc in (d, old):
            doc.peer_id = 77
            doc.get_list("l").insert(0, "x")
            doc.commit()
        assert d.get_deep_value() == old.get_deep_value()
        assert d.export(loro_c.ExportMode.Updates(loro_c.VersionVector())) == \
            old.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))


def test_events_after_a_thin_load():
    src = random_history(8)
    blob = src.export(loro_c.ExportMode.Snapshot())
    d = loro_c.LoroDoc()
    d.import_(blob)
    seen = []
    sub = d.subscribe_root(seen.append)
    d.get_text("t").insert(0, "abc")
    d.commit()
    assert len(seen) == 1
    diffs = [(str(ev.target), ev.diff) for ev in seen[0].events]
    assert len(diffs) == 1 and diffs[0][0].startswith("cid:root-t")
    del sub


def test_second_import_and_fork_load_the_history():
    src = random_history(9)
    blob = src.export(loro_c.ExportMode.Snapshot())
    d = loro_c.LoroDoc()
    d.import_(blob)
    f = d.fork()
    assert d._history_loaded and f.get_deep_value() == src.get_deep_value()
    d2 = loro_c.LoroDoc()
    d2.import_(blob)
    d2.import_(blob)
    assert d2.get_deep_value() == src.get_deep_value()
    assert d2.oplog_vv == src.oplog_vv


def test_a_malformed_change_block_fails_where_history_is_needed():
    """A change block that is malformed under valid checksums loads (its frame is sound),
    and the call that needs history raises LoroError, the thin document left as it was."""
    from test_snapshot_hostile import sst_blocks
    src = random_history(4, rounds=20)
    blob = src.export(loro_c.ExportMode.Snapshot())
    rng = random.Random(4)
    secs = sections(blob)
    found = 0
    for attempt in range(300):
        a, b, flags = rng.choice(sst_blocks(blob, *secs[0]))
        bad = bytearray(blob)
        i = rng.randrange(a, b)
        bad[i] ^= rng.choice((0x01, 0x80, 0xFF))
        bad[b:b + 4] = struct.pack("<I", _codec.xxh32(bytes(bad[a:b])))
        d = loro_c.LoroDoc()
        try:
            d.import_(fix_checksum(bytes(bad)))
        except loro_c.LoroError:
            continue
        assert not d._history_loaded
        value = d.get_deep_value()
        try:
            d.get_text("t").insert(0, "x")
        except loro_c.LoroError:
            found += 1
            assert not d._history_loaded
            assert d.get_deep_value() == value
            d._check_invariants()
            with pytest.raises(loro_c.LoroError):
                d.len_changes
            continue
        d.commit()
        d._check_invariants()
    assert found > 10, found


@pytest.mark.parametrize("seed", range(5))
def test_handles_taken_before_the_import_read_the_state_as_in_loro(seed):
    src, ours, ref, theirs = _both_snapshots(seed)
    docs = {}
    for lib, blob in ((loro_c, ours), (loro, theirs)):
        d = lib.LoroDoc()
        handles = (d.get_text("t"), d.get_map("m"), d.get_text("never"))
        d.import_(blob)
        docs[lib] = (d, handles)
    (d, (t, m, never)), (r, (rt, rm, rnever)) = docs[loro_c], docs[loro]
    assert not d._history_loaded
    assert t.to_string() == rt.to_string()
    assert m.get_deep_value() == rm.get_deep_value()
    assert sorted(d.get_value()) == sorted(r.get_value())
    d.get_text("never")
    r.get_text("never")
    assert sorted(d.get_value()) == sorted(r.get_value())
    t.insert(0, "z")
    rt.insert(0, "z")
    d.commit()
    r.commit()
    assert d.get_deep_value() == r.get_deep_value()
    assert sorted(d.get_value()) == sorted(r.get_value())


def _zz(v):
    return _uleb(((v << 1) ^ (v >> 63)) & ((1 << 64) - 1))


def test_eight_byte_varint_reads_match_the_byte_loop():
    """The id columns' zigzag varints read 8 bytes at a time: same values and errors as one
    byte at a time, for every length (1 to 10 bytes, over-long forms, near the end)."""
    rng = random.Random(3)
    values = [0, -1, 1, 63, -64, 64, 8191, -8192, 2 ** 27, -(2 ** 27) - 1, 2 ** 31, 2 ** 48,
              2 ** 55, -(2 ** 55), 2 ** 62, -(2 ** 63), 2 ** 63 - 1]
    values += [rng.randrange(-(2 ** rng.randrange(1, 64)), 2 ** rng.randrange(1, 64))
               for _ in range(3000)]
    data = b"".join(_zz(v) for v in values)
    for cut in range(0, 12):
        blob = data[:len(data) - cut] if cut else data
        try:
            slow = _codec._zz_read_all(blob, False)
        except loro_c.LoroError:
            with pytest.raises(loro_c.LoroError):
                _codec._zz_read_all(blob, True)
            continue
        assert _codec._zz_read_all(blob, True) == slow
    assert _codec._zz_read_all(data, True) == values
    # over-long forms (continuation bytes of zeros), as the byte loop accepts them
    for body in (b"\x82\x80\x00", b"\x81\x80\x80\x80\x80\x80\x80\x00", b"\x80" * 9 + b"\x00"):
        blob = body + b"\x00" * 9
        assert _codec._zz_read_all(blob, True) == _codec._zz_read_all(blob, False)
    for bad in (b"\xff" * 10 + b"\x7f", b"\x80" * 11):
        for fast in (True, False):
            with pytest.raises(loro_c.LoroError):
                _codec._zz_read_all(bad + b"\x00" * 8, fast)
