"""python -m benches.ml_checkout_store [--checkouts N] [--repeat R]

What a document with a MovableList keeps across checkouts nobody subscribes to. Loro's
checkout calculator notes the elements of every checkout's ops in a hash map that later
events split by (loro_c.ml_event_split); loro_c keeps a few checkouts' versions and folds
them into that map past a bound (state/movable_local.pxi ml_fold_walks), so its memory
stays flat and the first event after many checkouts replays only those few.

A 200-item list with 100 moves (300 commits of one peer) is checked out N times at 64
random versions: the time per checkout (loro_c and loro, best of R interleaved runs), the
Python memory loro_c's document gains over another N checkouts (tracemalloc: the kept
versions were Python lists; the maps are C memory, one per list, as big as its elements),
and the time of the first checkout event after them. Nothing is asserted on time.
"""
import argparse
import random
import time
import tracemalloc

import loro
import loro_c


def _doc(lib):
    d = lib.LoroDoc()
    d.peer_id = 1
    lst = d.get_movable_list("l")
    rng = random.Random(1)
    for i in range(200):
        lst.insert(rng.randint(0, len(lst)), i)
        if i % 10 == 9:
            d.commit()
    for _ in range(100):
        lst.mov(rng.randrange(len(lst)), rng.randrange(len(lst)))
        d.commit()
    last = d.oplog_vv.get_last(1)
    targets = [lib.Frontiers.from_id(lib.ID(1, rng.randint(0, last))) for _ in range(64)]
    return d, targets


def _tour(d, targets, n):
    t0 = time.perf_counter()
    for i in range(n):
        d.checkout(targets[i % len(targets)])
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkouts", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.checkouts
    best = {}
    for _ in range(args.repeat):
        for lib in (loro_c, loro):
            d, targets = _doc(lib)
            t = _tour(d, targets, n)
            best[lib.__name__] = min(best.get(lib.__name__, t), t)
    print(f"{n} checkouts, no subscriber: loro_c {1e6 * best['loro_c'] / n:.1f} us each, "
          f"loro {1e6 * best['loro'] / n:.1f} us each, ratio {best['loro_c'] / best['loro']:.2f}")
    d, targets = _doc(loro_c)
    _tour(d, targets, n)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    _tour(d, targets, n)
    d.checkout_to_latest()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    pending, maps, keys = loro_c._doc._ml_calc_store(d)
    print(f"loro_c memory over {n} more checkouts: {grown / 1024:+.1f} KiB traced; kept: "
          f"{pending} versions pending, {maps} map(s) of {keys} elements")
    events = []
    sub = d.subscribe_root(events.append)
    t0 = time.perf_counter()
    d.checkout(targets[0])
    print(f"first checkout event after them: {1e3 * (time.perf_counter() - t0):.2f} ms")
    del sub


if __name__ == "__main__":
    main()
