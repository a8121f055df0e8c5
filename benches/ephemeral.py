"""Presence throughput: loro_c.EphemeralStore (Cython) against loro's (Rust).

    PYTHONPATH=src python benches/ephemeral.py

Typical presence traffic: one peer's cursor/selection map per message."""
import time

import loro

import loro_c
import loro_c.ephemeral_codec

CURSOR = {"user": "ann", "color": "#ff8800", "anchor": 1234, "head": 1240, "focus": True}


def best(fn, n, rounds=5):
    t = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(n)
        t.append(time.perf_counter() - t0)
    return min(t) / n * 1e6


def bench(mod):
    s = mod.EphemeralStore(30_000)
    sub = s.subscribe_local_updates(lambda b: True)
    ev = s.subscribe(lambda e: True)

    def set_(n):
        for i in range(n):
            s.set("ann", CURSOR)

    src = mod.EphemeralStore(30_000)
    src.set("ann", CURSOR)
    msg = src.encode("ann")
    dst = mod.EphemeralStore(30_000)

    def apply_(n):
        for _ in range(n):
            dst.apply(msg)

    # a server's case: every message newer than the last, a subscriber per store
    now = time.time_ns() // 1_000_000
    fresh = [loro_c.ephemeral_codec.encode_entries(
        [("ann", loro_c.ephemeral_codec.encode_value(dict(CURSOR, anchor=i)), now + i)])
        for i in range(4000)]
    seen = []

    def apply_fresh(n):
        live = mod.EphemeralStore(30_000)
        live_sub = live.subscribe(lambda e: seen.append(e) is None)
        for m in fresh[:n]:
            live.apply(m)
        assert live.get("ann")["anchor"] == n - 1
        del live_sub

    big = mod.EphemeralStore(30_000)
    for i in range(100):
        big.set(f"peer{i}", CURSOR)

    def encode_all(n):
        for _ in range(n):
            big.encode_all()

    out = {"set (1 local-update + 1 event subscriber)": best(set_, 2000),
           "apply (one cursor message)": best(apply_, 2000),
           "apply (newer each time, 1 event subscriber)": best(apply_fresh, 4000),
           "encode_all (100 peers)": best(encode_all, 200)}
    assert len(seen) == 5 * 4000
    del sub, ev
    return out


def interleaved(passes=3):
    """Best of `passes` runs of bench() per library, the libraries taking turns, so that a
    burst of load on this shared machine does not land on one side only."""
    ours, theirs = {}, {}
    for _ in range(passes):
        for best_of, mod in ((ours, loro_c), (theirs, loro)):
            for k, v in bench(mod).items():
                best_of[k] = min(v, best_of.get(k, v))
    return ours, theirs


if __name__ == "__main__":
    ours, theirs = interleaved()
    print(f"{'operation':45} {'loro_c us':>10} {'loro us':>10} {'ratio':>7}")
    for k in ours:
        print(f"{k:45} {ours[k]:10.2f} {theirs[k]:10.2f} {ours[k] / theirs[k]:7.2f}")
