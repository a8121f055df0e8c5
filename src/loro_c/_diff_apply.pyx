# cython: language_level=3
"""The parts of diffs.py (LoroDoc.apply_diff, revert_to) that walk every item of a
sequence's delta, compiled: a movable list's delta applied as local edits, and the
position check of a list's or text's delta. Deltas run to thousands of items; positions
live in C arrays here and only the edits themselves go through the list's handle."""
from libc.stdlib cimport calloc, free
from libc.string cimport memmove

from loro_c import _types
from loro_c.errors import OutOfBoundsError
from loro_c.events import ListDiffItem, TextDelta


def resolve(cid, to_delete, made):
    """The id an inserted child is looked up by: itself when the delta deletes it here,
    else along the batch's renames until one the delta deletes (or the last)."""
    if cid in to_delete:
        return cid
    while cid in made:
        cid = made[cid]
        if cid in to_delete:
            break
    return cid


cdef set _children(h):
    cid_type = _types.ContainerID
    return {x for x in h.to_vec() if isinstance(x, cid_type)}


cdef inline Py_ssize_t _bisect(Py_ssize_t *a, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t x):
    """The first index in a[lo:hi] (sorted) whose value is not below x."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void _fenwick_add(Py_ssize_t *tree, Py_ssize_t size, Py_ssize_t i):
    while i < size:
        tree[i] += 1
        i += i & -i


cdef inline Py_ssize_t _fenwick_sum(Py_ssize_t *tree, Py_ssize_t k):
    """How many of the numbers below k (1-based positions 1..k) were added."""
    cdef Py_ssize_t total = 0
    while k > 0:
        total += tree[k]
        k -= k & -k
    return total


cdef struct _Bufs:
    Py_ssize_t *rs          # the replacements' deleted ranges: rs[i]..re[i]
    Py_ssize_t *re
    char *kept              # original position -> a kept child the delta takes back
    Py_ssize_t *number
    Py_ssize_t *rest
    Py_ssize_t *gone


def apply_movable(h, items, made, new_container):
    """A movable list's delta, as loro's apply_diff gives it: a child the delta deletes
    and inserts again is kept and moved (its id, content and the batch's later diffs stay
    its own); every other deleted element goes first, the runs back to front; then the
    inserts in order. An insert that comes from a move of a child the list holds
    elsewhere is left out; other children are new (empty) containers (`new_container(cid)`
    makes a detached one of cid's kind)."""
    cdef Py_ssize_t n = len(h)
    cdef Py_ssize_t m = len(items)
    cdef _Bufs B
    B.rs = <Py_ssize_t *>calloc(m + 1, sizeof(Py_ssize_t))
    B.re = <Py_ssize_t *>calloc(m + 1, sizeof(Py_ssize_t))
    B.kept = <char *>calloc(n + 1, 1)
    B.number = <Py_ssize_t *>calloc(n + 1, sizeof(Py_ssize_t))
    B.rest = <Py_ssize_t *>calloc(n + 1, sizeof(Py_ssize_t))
    B.gone = NULL
    try:
        if B.rs == NULL or B.re == NULL or B.kept == NULL or B.number == NULL \
                or B.rest == NULL:
            raise MemoryError()
        _apply_movable(h, items, made, new_container, n, &B)
    finally:
        free(B.rs)
        free(B.re)
        free(B.kept)
        free(B.number)
        free(B.rest)
        free(B.gone)


cdef _apply_movable(h, items, made, new_container, Py_ssize_t n, _Bufs *B):
    Retain, Delete = ListDiffItem.Retain, ListDiffItem.Delete
    Container, Value = _types.ValueOrContainer.Container, _types.ValueOrContainer.Value
    cid_type = _types.ContainerID
    cdef Py_ssize_t pos = 0, n_ins = 0, nr = 0, g_cnt = 0, k, p, a, b, start
    cdef bint any_child = False, g_open = False, g_move = False, mv
    cdef Py_ssize_t *rs = B.rs
    cdef Py_ssize_t *re = B.re
    # the original positions each replacement deletes: loro's delta joins the deletes and
    # inserts between two retains into replacements of at most 8 values that agree on
    # is_move (False for one that only deletes); a delete joins the one before it
    for item in items:
        if isinstance(item, Retain):
            pos += item.retain
            g_open = False
        elif isinstance(item, Delete):
            if not g_open:
                g_open, g_move, g_cnt = True, False, 0
                rs[nr] = re[nr] = pos
                nr += 1
            pos += item.delete
            re[nr - 1] = pos
        else:
            ins = item.insert
            mv = item.is_move
            k = len(ins)
            n_ins += k
            if not g_open or g_move != mv or g_cnt + k > 8:
                k = (k - 1) % 8 + 1         # (the values of the last replacement)
                g_open, g_move, g_cnt = True, mv, 0
                rs[nr] = re[nr] = pos
                nr += 1
            g_cnt += k
            if not any_child:
                for v in ins:
                    if isinstance(v, Container):
                        any_child = True
                        break
    for i in range(nr):
        # (apply_diff checked the positions first; an undo's diff fails here, before any
        # edit, as a read of the list past its end would)
        if re[i] > rs[i]:
            if rs[i] < 0:
                raise OutOfBoundsError(f"delete range {rs[i]}..{re[i]} is out of bounds "
                                       f"(length {n})")
            if re[i] > n:
                raise IndexError("list index out of range")
    cdef dict to_delete = {}
    cdef list values = None
    if any_child:
        # (only an insert of a child can take a deleted one back)
        for i in range(nr):
            if re[i] > rs[i]:
                if values is None:
                    values = h.to_vec()     # (children as their ids; no plain value is one)
                for p in range(rs[i], re[i]):
                    x = values[p]
                    if isinstance(x, cid_type):
                        to_delete[x] = p
    # which of them an insert takes back (the first insert of each)
    cdef char *kept = B.kept
    cdef Py_ssize_t n_kept = 0
    cdef dict left
    if to_delete:
        left = dict(to_delete)
        for item in items:
            if isinstance(item, Retain) or isinstance(item, Delete):
                continue
            for v in item.insert:
                if isinstance(v, Container):
                    cid = v.container.id
                    found = left.pop(resolve(cid, left, made) if made else cid, None)
                    if found is not None:
                        kept[<Py_ssize_t>found] = 1
                        n_kept += 1
    # the rest goes first: each delete's runs between kept children, back to front
    cdef list runs = []
    for i in range(nr):
        a = rs[i]
        b = re[i]
        if b <= a:
            continue
        start = a
        if n_kept:
            for p in range(a, b):
                if kept[p]:
                    if p > start:
                        runs.append((start, p))
                    start = p + 1
        if b > start:
            runs.append((start, b))
    # The list is `before` (what lies before the cursor: original positions, None for
    # what this delta inserts) then rest[s0:rn] (what lies after it: original elements,
    # in their order, as a delta only inserts and moves to the cursor). The cursor stays
    # at a delete (its kept children stay after it) and a retain takes it past its last
    # element (and so past the kept children before that).
    cdef Py_ssize_t *rest = B.rest
    cdef Py_ssize_t rn = 0, prev = 0
    if runs:
        from loro_c._doc import ml_delete_runs
        ml_delete_runs(h.doc(), h.id, runs[::-1])       # (one view of the list for all)
        for run in runs:
            a = run[0]
            for p in range(prev, a):
                rest[rn] = p
                rn += 1
            prev = run[1]
    for p in range(prev, n):
        rest[rn] = p
        rn += 1
    # Before the cursor only the kept children are looked up: each gets a number as it
    # goes there (in order, one per element that goes there) and its position is that
    # number less the elements numbered before it that a later move took away (counted in
    # a Fenwick tree, from 1: a kept child can be moved back to the cursor from anywhere).
    cdef Py_ssize_t glen = n + n_ins + 2
    if n_kept:
        B.gone = <Py_ssize_t *>calloc(glen, sizeof(Py_ssize_t))
        if B.gone == NULL:
            raise MemoryError()
    cdef Py_ssize_t *gone = B.gone
    cdef Py_ssize_t *number = B.number
    cdef Py_ssize_t nb = 0      # the length of what lies before the cursor
    cdef Py_ssize_t seq = 0     # the next number
    cdef Py_ssize_t s0 = 0, opos = 0, r, last, q, j
    cdef set held = None        # the children the list holds (the new ones have new ids)
    insert = h.insert
    for item in items:
        if isinstance(item, Retain):
            r = item.retain
            if r:
                # (what a retain passes lies ahead of the cursor)
                last = opos + r - 1
                q = _bisect(rest, s0, rn, last)
                if q == rn or rest[q] != last:
                    raise ValueError(f"{last} is not in list")
                if n_kept:
                    for j in range(s0, q + 1):
                        if kept[rest[j]]:
                            number[rest[j]] = seq + j - s0
                seq += q + 1 - s0
                nb += q + 1 - s0
                s0 = q + 1
            opos += r
        elif isinstance(item, Delete):
            opos += item.delete
        else:
            mv = item.is_move
            for v in item.insert:
                if not isinstance(v, Container):
                    insert(nb, v.value if isinstance(v, Value) else v)
                    nb += 1
                    seq += 1
                    continue
                cid = v.container.id
                found = to_delete.get(cid) if to_delete else None
                if found is None and made and cid in made:
                    cid = resolve(cid, to_delete, made)
                    found = to_delete.get(cid)
                if found is not None and kept[<Py_ssize_t>found]:
                    p = found
                    del to_delete[cid]
                    q = _bisect(rest, s0, rn, p)
                    if q < rn and rest[q] == p:
                        if q != s0:
                            h.mov(nb + q - s0, nb)
                        memmove(&rest[q], &rest[q + 1], (rn - q - 1) * sizeof(Py_ssize_t))
                        rn -= 1
                        nb += 1
                    else:
                        k = number[p]
                        h.mov(k - _fenwick_sum(gone, k), nb - 1)
                        _fenwick_add(gone, glen, k + 1)
                    number[p] = seq
                    seq += 1
                else:
                    if mv:
                        if held is None:
                            held = _children(h)         # (read once, then kept up)
                        if cid in held:
                            continue
                    new = h.insert_container(nb, new_container(cid)).id
                    made[cid] = new
                    if held is not None:
                        held.add(new)
                    nb += 1
                    seq += 1


def seq_end(doc, items, n, set created, bint text):
    """The length of a text (`text`) or list of length `n` after its delta `items`;
    OutOfBoundsError for a retain or delete that reaches past its end. The children a
    list's inserts make go to `created` (not a movable list's moved child the document
    has: that one is moved, not made)."""
    if text:
        Retain, Insert = TextDelta.Retain, TextDelta.Insert
    else:
        Retain, Insert = ListDiffItem.Retain, ListDiffItem.Insert
    Container = _types.ValueOrContainer.Container
    pos = 0
    for item in items:
        if isinstance(item, Retain):
            pos += item.retain
            if pos > n:
                raise OutOfBoundsError(f"Index out of bound. The given pos is {pos}, "
                                       f"but the length is {n}")
        elif isinstance(item, Insert):
            k = len(item.insert)
            n += k
            pos += k
            if not text:
                for v in item.insert:
                    if isinstance(v, Container) and not (
                            item.is_move and
                            doc._known_container(v.container.id) is not None):
                        created.add(v.container.id)
        else:
            if pos + item.delete > n:
                raise OutOfBoundsError(f"delete range {pos}..{pos + item.delete} is out of "
                                       f"bounds (length {n})")
            n -= item.delete
    return n
