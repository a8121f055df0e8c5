"""The compiled EphemeralStore (ephemeral_store.pyx): an applied entry is kept as its bytes,
checked whole by ephemeral_codec.scan_entries and decoded when read. scan_entries must
refuse exactly what decode_entries refuses (the same DecodeError), so a message is still
taken whole or not at all, and reads must give what the decoded value gave: a fresh object
each time. Store events are loro's: read-only, a new list per read, untracked by the cycle
collector."""
import gc
import random
import time

import loro
import pytest

import loro_c
from loro_c import ephemeral_codec as pc

VALUES = [None, True, False, 0, -1, 1 << 62, 2.5, float("-inf"), "", "é", "a" * 200, b"",
          b"\x00\xff", [1, [2, [3]]], {"x": {"y": [None, "z"]}},
          loro_c.ContainerID.Normal(5, 6, loro_c.ContainerType.Text()),
          loro_c.ContainerID.Root("r", loro_c.ContainerType.Map()),
          {"user": "ann", "color": "#ff8800", "anchor": 1234, "head": 1240, "focus": True}]


def message(rng, now):
    entries = []
    for i in range(rng.randrange(0, 5)):
        raw = None if rng.random() < 0.2 else pc.encode_value(rng.choice(VALUES))
        entries.append((f"k{rng.randrange(4)}", raw, now + rng.randrange(-5, 5)))
    return pc.encode_entries(entries)


def outcome(fn, data):
    try:
        return fn(data), None
    except loro_c.DecodeError as e:
        return None, str(e)


@pytest.mark.parametrize("seed", range(4))
def test_scan_refuses_what_decode_refuses(seed):
    rng = random.Random(seed)
    now = time.time_ns() // 1_000_000
    for _ in range(600):
        data = bytearray(message(rng, now))
        for _ in range(rng.randrange(0, 4)):
            if not data:
                break
            op = rng.random()
            i = rng.randrange(len(data))
            if op < 0.6:
                data[i] = rng.choice([0, 1, 2, 0x7F, 0x80, 0xC3, 0xED, 0xFF, rng.randrange(256)])
            elif op < 0.8:
                del data[i:]
            else:
                data.insert(i, rng.randrange(256))
        data = bytes(data)
        scanned, scan_err = outcome(pc.scan_entries, data)
        decoded, decode_err = outcome(pc.decode_entries, data)
        assert scan_err == decode_err, data.hex()
        if decoded is not None:
            assert len(scanned) == len(decoded)
            for (k1, raw, t1), (k2, val, t2) in zip(scanned, decoded):
                assert (k1, t1) == (k2, t2)
                assert (raw is None) == (val is None)
                if raw is not None:
                    assert raw == val[1]
                    assert repr(pc.decode_value(raw)) == repr(val[0])   # (NaN too)


def test_surrogates_and_overlong_utf8_are_refused_alike():
    for bad in (b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"):
        raw = b"\x04" + bytes([len(bad)]) + bad          # a string value
        data = b"\x01\x01k\x01" + raw + b"\x02"
        assert outcome(pc.scan_entries, data)[1] == outcome(pc.decode_entries, data)[1] \
            is not None
        key = b"\x01" + bytes([len(bad)]) + bad + b"\x00\x02"   # as the key
        assert outcome(pc.scan_entries, key)[1] == outcome(pc.decode_entries, key)[1] \
            is not None


def test_applied_values_read_as_loro_reads_them_and_fresh_each_time():
    theirs = loro.EphemeralStore(60_000)
    for i, v in enumerate(VALUES):
        if isinstance(v, loro_c.ContainerID):
            continue
        theirs.set(f"k{i}", v)
    ours = loro_c.EphemeralStore(60_000)
    ours.apply(theirs.encode_all())
    assert ours.get_all_states() == theirs.get_all_states()
    got = ours.get("k14")
    got["x"]["y"].append("changed")
    assert ours.get("k14") == {"x": {"y": [None, "z"]}}
    assert ours.get_all_states()["k14"] == {"x": {"y": [None, "z"]}}
    # and sent on as they came
    again = loro.EphemeralStore(60_000)
    again.apply(ours.encode_all())
    assert again.get_all_states() == theirs.get_all_states()


@pytest.mark.parametrize("mod", [loro, loro_c], ids=["loro", "loro_c"])
def test_events_are_read_only_and_give_fresh_lists_like_loros(mod):
    store = mod.EphemeralStore(60_000)
    seen = []

    def spoil(e):
        e.added.append("spoilt")
        seen.append(("first", e.added))
        return True

    subs = [store.subscribe(spoil), store.subscribe(lambda e: seen.append(("second", e.added)) is None)]
    other = mod.EphemeralStore(60_000)
    other.set("a", 1)
    store.apply(other.encode_all())
    assert seen == [("first", ["a"]), ("second", ["a"])]
    event = []
    subs.append(store.subscribe(lambda e: event.append(e) is None))
    store.delete("a")
    (e,) = event
    assert (e.by, e.added, e.updated, e.removed) == ("Local", [], [], ["a"])
    assert e.removed is not e.removed
    with pytest.raises(AttributeError):
        e.by = "Import"
    assert not gc.is_tracked(e)
    del subs


def _follow(events):
    """Check the key's events against loro's rules in the order the store changed: "added"
    only as its first event (a deletion leaves an entry, so a later set is an update);
    returns whether the last event left it with a value."""
    has_value, first = None, True
    for e in events:
        if e.added:
            assert first, "added after another event of the key"
            has_value = True
        if e.updated:
            has_value = True
        if e.removed:
            has_value = False
        first = first and not (e.added or e.updated or e.removed)
    return has_value


@pytest.mark.parametrize("slow_clock", [False, True])
def test_threads_see_events_in_the_order_the_store_changed(slow_clock):
    """Several threads set, delete and apply one shared key. Each event is handed out (or
    queued) under the lock that made it, so the subscriber sees added -> updated* ->
    removed for the key, never out of turn, and the last event agrees with the store. A
    slow clock (it sleeps with the store's lock held) makes the threads wait on the lock."""
    import threading

    def clock():
        if slow_clock:
            time.sleep(0.00002)
        return time.time_ns() // 1_000_000

    store = loro_c.EphemeralStore(60_000, clock=clock)
    seen = []
    sub = store.subscribe(seen.append)
    now = time.time_ns() // 1_000_000

    def work(i):
        rng = random.Random(i)
        for j in range(150):
            r = rng.random()
            if r < 0.4:
                store.set("shared", [i, j])
            elif r < 0.6:
                store.delete("shared")
            else:
                raw = None if r < 0.7 else pc.encode_value([i, j])
                store.apply(pc.encode_entries([("shared", raw, now + 60_000 + i * 1000 + j)]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _follow(seen) == ("shared" in store.keys())
    del sub
