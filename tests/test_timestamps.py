"""Commit timestamps and the merge interval, checked against `loro`: explicit timestamps
(commit_with, set_next_commit_timestamp, set_next_commit_options, a pre-commit modifier),
recorded ones (set_record_timestamp), and how they decide which local changes merge."""
import random
import time

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def changes(lib, doc, peer):
    out, c = [], 0
    last = doc.oplog_vv.get_last(peer)
    while last is not None and c <= last:
        m = doc.get_change(lib.ID(peer, c))
        out.append((m.id.counter, m.len, m.timestamp, m.message))
        c = m.id.counter + m.len
    return out


def both(fn):
    return [fn(lib) for lib in LIBS]


def test_explicit_timestamps_and_the_merge_interval():
    def run(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        t = d.get_text("t")
        t.insert(0, "a")
        d.commit_with(timestamp=100)
        t.insert(1, "b")
        d.commit_with(timestamp=200)       # within 1000 s: merges
        t.insert(2, "c")
        d.commit_with(timestamp=2000)      # 1900 s later: a change of its own
        t.insert(3, "d")
        d.commit()                         # timestamp 0: merges
        t.insert(4, "e")
        d.set_next_commit_timestamp(50)
        d.commit()
        d.set_next_commit_timestamp(7)
        d.commit()                         # no ops: the timestamp is dropped
        t.insert(5, "f")
        d.commit()
        d.set_change_merge_interval(10)
        for ts in (5000, 5010, 5021, 5015):
            t.insert(0, "x")
            d.commit_with(timestamp=ts)
        d.set_next_commit_options(timestamp=9000, commit_msg="m")
        t.insert(0, "y")
        d.commit()
        blob = d.export(lib.ExportMode.Updates(lib.VersionVector()))
        return changes(lib, d, 1), blob
    (ours, ours_blob), (ref, ref_blob) = both(run)[::-1]
    assert ours == ref
    assert [c[2] for c in ours] == [100, 2000, 5000, 5021, 9000]
    # the timestamps travel in the blobs, both ways
    for lib, blob in ((loro, ours_blob), (loro_c, ref_blob)):
        d = lib.LoroDoc()
        d.import_(blob)
        assert changes(lib, d, 1) == ref


@pytest.mark.parametrize("seed", range(20))
def test_random_timestamps_group_like_loro(seed):
    rng = random.Random(seed)
    steps = []
    ts = 1_000_000
    for _ in range(60):
        ts += rng.choice([0, 1, 5, 30, 400, 2000])
        steps.append((rng.choice(["commit_with", "next", "plain", "options"]), ts,
                      rng.choice([None, None, "m"]), rng.random() < 0.1))
    interval = rng.choice([1000, 10, 0, -1])

    def run(lib):
        d = lib.LoroDoc()
        d.peer_id = 3
        d.set_change_merge_interval(interval)
        t = d.get_text("t")
        for how, ts, msg, empty in steps:
            if not empty:
                t.insert(len(t.to_string()), "ab")
            if how == "commit_with":
                d.commit_with(timestamp=ts, commit_msg=msg)
            elif how == "next":
                d.set_next_commit_timestamp(ts)
                d.commit()
            elif how == "options":
                d.set_next_commit_options(timestamp=ts, commit_msg=msg)
                d.commit()
            else:
                d.commit()
        return changes(lib, d, 3), d.len_changes
    ours, ref = both(run)[::-1]
    assert ours == ref


def test_recorded_timestamps_are_the_current_time():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    d.set_record_timestamp(True)
    before = int(time.time())
    d.get_text("t").insert(0, "a")
    d.commit()
    d.get_text("t").insert(1, "b")
    d.commit()
    after = int(time.time())
    [(counter, length, ts, msg)] = changes(loro_c, d, 1)
    assert (counter, length) == (0, 2) and before <= ts <= after


def test_pre_commit_modifier_sets_the_timestamp():
    def run(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        seen = []

        def pre(e):
            seen.append(e["change_meta"].timestamp)
            e["modifier"].set_timestamp(4242)
            return True
        sub = d.subscribe_pre_commit(pre)
        d.get_text("t").insert(0, "a")
        d.commit_with(timestamp=11)
        del sub
        return seen, changes(lib, d, 1)
    ours, ref = both(run)[::-1]
    assert ours == ref


def test_bad_timestamps_raise_and_change_nothing():
    d = loro_c.LoroDoc()
    d.get_text("t").insert(0, "a")
    for bad in ("1", 1.5, True, 1 << 64):
        with pytest.raises((loro_c.LoroTypeError, loro_c.LoroValueError)):
            d.commit_with(timestamp=bad)
        with pytest.raises((loro_c.LoroTypeError, loro_c.LoroValueError)):
            d.set_next_commit_timestamp(bad)
    with pytest.raises(loro_c.LoroTypeError):
        d.set_record_timestamp(1)
    d.commit()
    assert d.get_change(loro_c.ID(d.peer_id, 0)).timestamp == 0


def test_local_changes_are_never_stamped_before_their_deps():
    """A local change takes at least the greatest timestamp of the changes it depends on,
    including imported ones, as in loro."""
    def run(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        d.set_change_merge_interval(-1)
        t = d.get_text("t")
        t.insert(0, "a")
        d.commit_with(timestamp=100)
        t.insert(1, "b")
        d.commit_with(timestamp=50)
        e = lib.LoroDoc()
        e.peer_id = 2
        e.get_text("u").insert(0, "z")
        e.commit_with(timestamp=500)
        d.import_(e.export(lib.ExportMode.Snapshot()))
        t.insert(2, "c")
        d.commit()
        return changes(lib, d, 1)
    ours, ref = both(run)[::-1]
    assert ours == ref
    assert [c[2] for c in ours] == [100, 100, 500]
