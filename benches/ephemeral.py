"""Presence throughput: loro_c.EphemeralStore (pure Python) against loro's (Rust).

    PYTHONPATH=src python benches/ephemeral.py

Typical presence traffic: one peer's cursor/selection map per message."""
import time

import loro

import loro_c

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

    big = mod.EphemeralStore(30_000)
    for i in range(100):
        big.set(f"peer{i}", CURSOR)

    def encode_all(n):
        for _ in range(n):
            big.encode_all()

    out = {"set (1 local-update + 1 event subscriber)": best(set_, 2000),
           "apply (one cursor message)": best(apply_, 2000),
           "encode_all (100 peers)": best(encode_all, 200)}
    del sub, ev
    return out


if __name__ == "__main__":
    ours, theirs = bench(loro_c), bench(loro)
    print(f"{'operation':45} {'loro_c us':>10} {'loro us':>10} {'ratio':>7}")
    for k in ours:
        print(f"{k:45} {ours[k]:10.2f} {theirs[k]:10.2f} {ours[k] / theirs[k]:7.2f}")
