# cython: language_level=3
"""Refusing an import whose already-known part is different history (reused op ids).

Two documents that share a peer id write different ops under the same op ids. An import
skips the part of each change the document already has (by version vector) and applies
the rest on top of the local history; when that known part is not what the document has,
the rest would be applied to a state it was not written against, corrupting the merge.
Loro 1.17.1 refuses such an import ("Every op id should be unique. ID c@p has been
used"); so does loro_c, with the same decision (probed on loro 1.17.1):

* the known part is compared only when the import brings something new (an import made
  only of known changes is a no-op, so a duplicate delivery costs nothing);
* what is compared, atom by atom, is the op's container and content (text, values, map
  key and value, positions, delete targets, counter delta, marks, tree moves) and the
  deps of each atom (a change's deps at its start, the previous atom inside it): not the
  Lamport, the timestamp, the message, nor where either side split its changes;
* local history the document does not hold (before a shallow root) is not compared;
* import_batch imports blob by blob: a blob's known part is compared with the document
  and the blobs before it.
"""
import bisect
import math

from loro_c._codec import OP_INSERT as _OP_INSERT, OP_DELETE as _OP_DELETE
from loro_c._version import ID
from loro_c.errors import UsedOpIdError



def _same_value(a, b):
    """LoroValue equality (a NaN equals a NaN, as probed)."""
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return math.isnan(a) and math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return False


def _atoms(op):
    """(counter, what the atom does) for each atom of an op tuple (codec/json.py layout)."""
    kind, cid, ctr = op[0], op[1], op[2]
    if kind == _OP_INSERT:
        pos = op[3]
        for i, x in enumerate(op[4]):
            yield ctr + i, (kind, cid, pos + i, x)
    elif kind == _OP_DELETE:
        pos, n, sp, sc = op[3], op[4], op[5], op[6]
        if n > 0:
            for i in range(n):
                yield ctr + i, (kind, cid, pos, sp, sc + i)
        else:
            # a backward delete's first atoms remove its rightmost targets
            n = -n
            for i in range(n):
                yield ctr + i, (kind, cid, pos - i, sp, sc + n - 1 - i)
    else:
        yield ctr, (kind, cid) + tuple(op[3:])


def _same_atom(a, b):
    if a == b:
        return True
    return (len(a) == len(b) and a[0] == b[0]
            and all(_same_value(x, y) for x, y in zip(a, b)))


cdef long long _op_len(tuple o) except -1:
    if o[0] == _OP_INSERT:
        return len(o[4])
    if o[0] == _OP_DELETE:
        return abs(o[4])
    return 1


def _ops_len(ops):
    n = 0
    for o in ops:
        k = o[0]
        if k == _OP_INSERT:
            n += len(o[4])
        elif k == _OP_DELETE:
            n += abs(o[4])
        else:
            n += 1
    return n


cdef int _segments(list changes, long long lo, long long hi, list out) except -1:
    """Append (start, end, op, change) for the ops of `changes` overlapping [lo, hi)."""
    cdef long long ctr, n
    cdef tuple o
    for ch in changes:
        ctr = ch[1]
        for o in ch[6]:
            if ctr >= hi:
                break
            n = _op_len(o)
            if ctr + n > lo:
                out.append((ctr, ctr + n, o, ch))
            ctr += n
    return 0


def _deps_at(ch, ctr):
    """The deps of the atom at `ctr` of change `ch`: the change's deps at its start, the
    previous atom inside it (so how either side split its changes does not matter)."""
    if ctr == ch[1]:
        deps = ch[5]
        if len(deps) != 1 or tuple(deps[0]) != (ch[0], ctr - 1):
            return frozenset(tuple(d) for d in deps)
    return None


cdef long long _first_mismatch(tuple a, tuple b, long long ctr, long long n) except -2:
    """The first counter in [ctr, ctr + n) where segments `a` and `b` differ, or -1."""
    oa, ob = a[2], b[2]
    if oa[0] != ob[0] or oa[1] != ob[1]:
        return ctr
    da, db = ctr - a[0], ctr - b[0]
    if oa[0] == _OP_INSERT:
        if oa[3] + da != ob[3] + db:
            return ctr
        xa, xb = oa[4][da:da + n], ob[4][db:db + n]
        if xa == xb:
            return -1
        for i in range(n):
            if not _same_value(xa[i], xb[i]):
                return ctr + i
        return -1
    if oa[0] == _OP_DELETE:
        ta = dict(_atoms(oa))
        tb = dict(_atoms(ob))
        for i in range(n):
            if ta[oa[2] + da + i] != tb[ob[2] + db + i]:
                return ctr + i
        return -1
    return -1 if _same_atom(tuple(oa[3:]), tuple(ob[3:])) else ctr


def check_known_parts(doc, have, blobs_changes):
    """Raise UsedOpIdError when an import's already-known part differs from what is known.

    `have`: the document's version (peer -> end counter); `blobs_changes`: the change
    tuples of each blob, in import order. Reads only; the caller undoes its staging. The
    work is per op of the known part (both sides cut at every op boundary of either),
    nothing per op of the new part."""
    have = dict(have)
    earlier = []        # change tuples of the blobs already checked (import_batch)
    for changes in blobs_changes:
        ends = [ch[1] + _ops_len(ch[6]) for ch in changes]
        if any(e > have.get(ch[0], 0) for ch, e in zip(changes, ends)):
            # one range per peer covering its known parts, read from the log once
            spans = {}
            for ch, e in zip(changes, ends):
                known = have.get(ch[0], 0)
                if ch[1] < known:
                    hi = min(e, known)
                    lo0, hi0 = spans.get(ch[0], (ch[1], hi))
                    spans[ch[0]] = (min(lo0, ch[1]), max(hi0, hi))
            theirs = {}
            shallow = doc.shallow_since_vv if doc.is_shallow() else None
            for peer, (lo, hi) in spans.items():
                if shallow is not None:
                    # history before the shallow root is not held: not compared
                    last = shallow.get_last(peer)
                    if last is not None:
                        lo = max(lo, last + 1)
                segs = []
                if lo < hi:
                    _segments(doc._changes({peer: lo}, {peer: hi}, 0, -1, False, False),
                              lo, hi, segs)
                if earlier:
                    # (a batch: what the blobs before this one brought past the log)
                    end = segs[-1][1] if segs else lo
                    more = []
                    _segments([c for c in earlier if c[0] == peer], end, hi, more)
                    more.sort(key=lambda sg: sg[0])
                    for sg in more:
                        if sg[0] >= end:
                            segs.append(sg)
                            end = sg[1]
                theirs[peer] = (segs, [sg[1] for sg in segs], lo)
            for ch, e in zip(changes, ends):
                known = have.get(ch[0], 0)
                if ch[1] < known:
                    _check_change(ch, min(e, known), theirs[ch[0]])
        if len(blobs_changes) == 1:
            return
        earlier.extend(changes)
        # the changes that continue their peer's history become known to the next blob
        for ch, e in sorted(zip(changes, ends), key=lambda ce: ce[0][1]):
            if ch[1] <= have.get(ch[0], 0) < e:
                have[ch[0]] = e


cdef int _check_change(tuple ch, long long hi, tuple theirs) except -1:
    """Compare change `ch` over [its start, hi) with the local segments `theirs`."""
    cdef list segs, mine
    cdef tuple a, b
    cdef long long lo, ctr, n, bad, floor
    cdef Py_ssize_t i, j
    peer = ch[0]
    segs, ends, floor = theirs
    lo = max(<long long>ch[1], floor)
    if lo >= hi:
        return 0
    mine = []
    _segments([ch], lo, hi, mine)
    j = bisect.bisect_right(ends, lo)       # the first local segment ending after lo
    i = 0
    ctr = lo
    while ctr < hi:
        while mine[i][1] <= ctr:
            i += 1
        while j < len(segs) and segs[j][1] <= ctr:
            j += 1
        if j == len(segs) or segs[j][0] > ctr:
            return 0    # (not held locally: not compared)
        a = mine[i]
        b = segs[j]
        n = min(<long long>a[1], <long long>b[1], hi) - ctr
        if ((ctr == a[3][1] or ctr == b[3][1])
                and _deps_at(a[3], ctr) != _deps_at(b[3], ctr)):
            bad = ctr
        else:
            bad = _first_mismatch(a, b, ctr, n)
        if bad >= 0:
            raise UsedOpIdError(
                f"Every op id should be unique. ID {bad}@{peer} has been used. "
                f"You should use a new PeerID to edit the content.", ID(peer, bad))
        ctr += n
    return 0
