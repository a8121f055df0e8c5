"""LoroDoc.apply_diff speed: loro_c against loro.

    PYTHONPATH=src python -m benches.apply_diff [--quick]

Each case edits one document from version v1 to v2, takes the DiffBatch of v1 -> v2 (and of
v2 -> v1), and times applying it (and committing) to a fork at the start version. The
result is checked against the document at the target version and against loro's."""
import argparse
import random
import time

import loro

import loro_c


def _movable(mod, n, moves):
    rng = random.Random(1)
    d = mod.LoroDoc()
    d.peer_id = 1
    lst = d.get_movable_list("l")
    for i in range(n):
        if i % 5 == 0:
            lst.insert_container(i, mod.LoroMap()).insert("k", i)
        else:
            lst.insert(i, i)
    d.commit()
    v1 = d.state_frontiers
    for _ in range(moves):
        lst.mov(rng.randrange(n), rng.randrange(n))
    for _ in range(moves // 4):
        lst.set(rng.randrange(n), rng.randrange(10**6))
    for _ in range(moves // 8):
        lst.delete(rng.randrange(len(lst)), 1)
    d.commit()
    return d, v1, d.state_frontiers


def _list(mod, n, edits):
    rng = random.Random(2)
    d = mod.LoroDoc()
    d.peer_id = 1
    lst = d.get_list("l")
    for i in range(n):
        lst.insert(i, i)
    d.commit()
    v1 = d.state_frontiers
    for i in range(edits):
        if rng.random() < 0.5 and len(lst) > 1:
            lst.delete(rng.randrange(len(lst) - 1), rng.randrange(1, 3))
        else:
            lst.insert(rng.randrange(len(lst) + 1), -i)
    d.commit()
    return d, v1, d.state_frontiers


def _text(mod, n, edits):
    rng = random.Random(3)
    d = mod.LoroDoc()
    d.peer_id = 1
    t = d.get_text("t")
    t.insert(0, "abcdefghij" * (n // 10))
    d.commit()
    v1 = d.state_frontiers
    for _ in range(edits):
        if rng.random() < 0.5 and t.len_unicode > 4:
            t.delete(rng.randrange(t.len_unicode - 3), rng.randrange(1, 4))
        else:
            t.insert(rng.randrange(t.len_unicode + 1), "xyz"[:rng.randrange(1, 4)])
    d.commit()
    return d, v1, d.state_frontiers


def _map(mod, n, edits):
    rng = random.Random(4)
    d = mod.LoroDoc()
    d.peer_id = 1
    m = d.get_map("m")
    for i in range(n):
        m.insert(f"k{i}", i)
    d.commit()
    v1 = d.state_frontiers
    for i in range(edits):
        k = f"k{rng.randrange(n * 2)}"
        if rng.random() < 0.2:
            m.delete(k)
        else:
            m.insert(k, -i)
    d.commit()
    return d, v1, d.state_frontiers


def cases(quick):
    s = 1 if quick else 3
    return [
        (f"movable list {3000 * s} (moves, sets, deletes)", _movable, (3000 * s, 1500 * s)),
        (f"list {5000 * s} (inserts, deletes)", _list, (5000 * s, 1500 * s)),
        (f"text {20000 * s} (edits)", _text, (20000 * s, 1500 * s)),
        (f"map {3000 * s} keys", _map, (3000 * s, 2000 * s)),
    ]


def _time(mod, make, args, rounds):
    d, v1, v2 = make(mod, *args)
    out = []
    for a, b in ((v1, v2), (v2, v1)):
        batch = d.diff(a, b)
        best = None
        for _ in range(rounds):
            f = d.fork_at(a)
            t = time.perf_counter()
            f.apply_diff(batch)
            f.commit()
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        want = d.fork_at(b).get_deep_value()
        out.append((best, f.get_deep_value() == want, want))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    print(f"{'apply_diff of':44} {'dir':>5} {'loro_c ms':>10} {'loro ms':>9} {'ratio':>6}")
    for name, make, cargs in cases(args.quick):
        ours = _time(loro_c, make, cargs, rounds)
        theirs = _time(loro, make, cargs, rounds)
        for label, (t1, ok1, v1), (t2, ok2, v2) in zip(("fwd", "back"), ours, theirs):
            flag = "" if ok1 and ok2 and v1 == v2 else "  WRONG RESULT"
            print(f"{name:44} {label:>5} {t1 * 1e3:10.2f} {t2 * 1e3:9.2f} {t1 / t2:6.2f}{flag}")


if __name__ == "__main__":
    main()
