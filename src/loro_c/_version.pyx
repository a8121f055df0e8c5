# cython: language_level=3, boundscheck=False, wraparound=False
"""Op ids and versions: ``ID``, ``VersionVector`` and ``Frontiers``.

* ``ID(peer, counter)``: one op.  ``peer`` is a u64, ``counter`` an i32.
* ``VersionVector``: peer -> *exclusive* end counter.  ``{7: 5}`` includes
  ops ``0..=4`` of peer 7.  Peers with end 0 are never stored.
* ``Frontiers``: a set of op ids (at most one per peer), the heads of a
  version.

Binary forms (postcard, compatible with ``loro``):

* VersionVector: entry count (varint), then per entry the peer (varint) and
  the end counter (zigzag varint).  We write entries in ascending peer order;
  Loro uses hash order, so compare decoded values, not bytes.
* Frontiers: id count (varint), then per id the peer (varint) and the counter
  (zigzag varint), sorted by (peer, counter).

Decoding is stricter than Loro: truncated input, trailing bytes, varint
overflow, duplicate peers and (for version vectors) negative counters raise
``loro_c.errors.DecodeError``.
"""

import re

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.number cimport PyNumber_Index
from libc.stdint cimport uint64_t, int32_t

from ._varint cimport (
    Reader, Writer, reader_init, reader_fail, reader_remaining, reader_at_end,
    read_uleb64, read_zigzag32, raise_reader_error,
    writer_init, writer_free, write_uleb64, write_zigzag64,
    raise_writer_error, writer_to_bytes,
)

from ._types import CounterSpan, IdSpan, VersionRange, VersionVectorDiff
from .errors import LoroValueError

__all__ = ["ID", "VersionVector", "Frontiers"]

cdef long long _I32_MAX = 2147483647
cdef long long _I32_MIN = -2147483648
cdef object _U64_MAX = (1 << 64) - 1

_ID_RE = re.compile(r"([+-]?[0-9]+)@(\+?[0-9]+)", re.ASCII)


cdef inline object _check_u64(object v, str what):
    v = PyNumber_Index(v)
    if v < 0:
        raise OverflowError(f"argument '{what}': can't convert negative int to unsigned")
    if v > _U64_MAX:
        raise OverflowError(f"argument '{what}': int too big to convert")
    return v


cdef inline object _check_i32(object v, str what):
    v = PyNumber_Index(v)
    if v < _I32_MIN or v > _I32_MAX:
        raise OverflowError(f"argument '{what}': number does not fit in an i32")
    return v


cdef inline bytes _as_bytes(object data):
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(
        f"argument 'bytes': '{type(data).__name__}' object cannot be converted to 'PyBytes'"
    )


cdef inline object _check_span(object span):
    if not isinstance(span, IdSpan):
        raise TypeError(
            f"argument 'span': '{type(span).__name__}' object cannot be converted to 'IdSpan'"
        )
    return span


# ---------------------------------------------------------------------------
# ID
# ---------------------------------------------------------------------------

cdef class ID:
    """The id of one op: ``ID(peer, counter)``.

    ``peer`` is a u64 and ``counter`` an i32 (``OverflowError`` otherwise).
    Immutable, hashable, ordered by ``(peer, counter)``.  ``str(id)`` is
    Loro's form ``"counter@peer"``; :meth:`parse` reads it back.
    """

    def __init__(self, peer, counter):
        # PyNumber_Index: refuse floats and other non-integers (TypeError);
        # out-of-range values raise OverflowError on conversion.
        self.peer = PyNumber_Index(peer)
        self.counter = PyNumber_Index(counter)

    @staticmethod
    def parse(s):
        """Parse ``"counter@peer"`` (e.g. ``"3@7"``).

        Raises :class:`~loro_c.errors.LoroValueError` on malformed input.
        """
        if not isinstance(s, str):
            raise TypeError(f"ID.parse() expects str, not {type(s).__name__}")
        m = _ID_RE.fullmatch(s)
        if m is None:
            raise LoroValueError(f"invalid ID string {s!r}; expected 'counter@peer'")
        counter = int(m.group(1))
        peer = int(m.group(2))
        if counter < _I32_MIN or counter > _I32_MAX or peer > _U64_MAX:
            raise LoroValueError(f"invalid ID string {s!r}: value out of range")
        return make_id(peer, counter)

    def __eq__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer == o.peer and self.counter == o.counter

    def __ne__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer != o.peer or self.counter != o.counter

    def __lt__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer < o.peer or (self.peer == o.peer and self.counter < o.counter)

    def __le__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer < o.peer or (self.peer == o.peer and self.counter <= o.counter)

    def __gt__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer > o.peer or (self.peer == o.peer and self.counter > o.counter)

    def __ge__(self, other):
        if not isinstance(other, ID):
            return NotImplemented
        cdef ID o = <ID>other
        return self.peer > o.peer or (self.peer == o.peer and self.counter >= o.counter)

    def __hash__(self):
        return hash((self.peer, self.counter))

    def __repr__(self):
        return f"ID(peer={self.peer}, counter={self.counter})"

    def __str__(self):
        return f"{self.counter}@{self.peer}"

    def __reduce__(self):
        return (ID, (self.peer, self.counter))


cdef ID make_id(unsigned long long peer, int counter):
    cdef ID i = ID.__new__(ID)
    i.peer = peer
    i.counter = counter
    return i


# ---------------------------------------------------------------------------
# VersionVector
# ---------------------------------------------------------------------------

cdef inline object _inc32(object x):
    """``x + 1`` with i32 wrap-around, as Loro's span normalisation does."""
    return _I32_MIN if x == _I32_MAX else x + 1


cdef inline object _end_of_last(int counter):
    """Exclusive end for an inclusive last counter, saturating like Loro."""
    cdef long long e = <long long>counter + 1
    if e > _I32_MAX:
        e = _I32_MAX
    return e


cdef class VersionVector:
    """Map from peer to the exclusive end counter of the ops included.

    ``VersionVector()`` is empty.  Mutable, so not hashable.  ``==`` ignores
    peers with end 0 (they are never stored).  Only ``==`` and ``!=`` are
    supported (``<`` etc. raise ``NotImplementedError``, as in Loro); use
    :meth:`includes_vv` for the partial order.

    Outputs that list peers (spans, ``repr``, ``encode``) use ascending peer
    order.
    """

    def __cinit__(self):
        self._map = {}

    def __init__(self):
        pass

    # -- construction / conversion -------------------------------------

    @classmethod
    def from_dict(cls, d):
        """Build from ``{peer: end}``; entries with ``end <= 0`` are dropped.

        ``peer`` must be a u64 and ``end`` an i32 (``OverflowError`` otherwise).
        """
        cdef dict m = {}
        for p, e in dict(d).items():
            p = _check_u64(p, "peer")
            e = _check_i32(e, "end")
            if e > 0:
                m[p] = e
        return vv_wrap(m)

    def to_dict(self):
        """A new ``dict`` ``{peer: end}`` (only peers with end > 0)."""
        return dict(self._map)

    def encode(self):
        """Postcard encoding, readable by ``loro.VersionVector.decode``."""
        cdef Writer w
        if writer_init(&w, 1 + 15 * len(vv_listed(self))) < 0:
            raise_writer_error(&w)
        try:
            vv_write(&w, self)
            return writer_to_bytes(&w)
        finally:
            writer_free(&w)

    @classmethod
    def decode(cls, data):
        """Decode :meth:`encode` output (or ``loro.VersionVector.encode``).

        Raises :class:`~loro_c.errors.DecodeError` on malformed input.
        """
        cdef bytes b = _as_bytes(data)
        cdef Reader r
        reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
        cdef VersionVector vv = vv_read(&r)
        if not reader_at_end(&r):
            reader_fail(&r, "trailing bytes after version vector")
            raise_reader_error(&r)
        return vv

    # -- queries ---------------------------------------------------------

    def get_last(self, client_id):
        """Inclusive last counter of ``client_id``, or ``None``."""
        cdef unsigned long long peer = PyNumber_Index(client_id)
        e = self._map.get(peer)
        return None if e is None else e - 1

    def includes_id(self, ID id not None):
        """Whether the op ``id`` is included (never for a negative counter)."""
        return id.counter >= 0 and self._map.get(id.peer, 0) > id.counter

    def includes_vv(self, VersionVector other not None):
        """Whether every op of ``other`` is included (``self >= other``)."""
        cdef dict m = self._map
        for p, e in other._map.items():
            if m.get(p, 0) < e:
                return False
        return True

    def intersect_span(self, target):
        """The part of ``target`` (normalised, clipped at 0) included here, or ``None``."""
        _check_span(target)
        cs = target.counter
        s, e = cs.start, cs.end
        if e < s:
            s, e = _inc32(e), _inc32(s)
        if s < 0:
            s = 0
        end = self._map.get(target.peer, 0)
        if e > end:
            e = end
        if s < e:
            return CounterSpan(s, e)
        return None

    def get_frontiers(self):
        """``Frontiers`` of the last id of every peer (no DAG reduction)."""
        return frontiers_wrap(sorted([(p, e - 1) for p, e in self._map.items()]))

    def to_spans(self):
        """``VersionRange`` ``{peer: (0, end)}``."""
        vr = VersionRange()
        vr._m = {p: (0, self._map[p]) for p in sorted(self._map)}
        return vr

    def sub_iter(self, VersionVector rhs not None):
        """``IdSpan`` list of the ops in ``self`` but not in ``rhs``."""
        return _sub_spans(self._map, rhs._map)

    def sub_vec(self, VersionVector rhs not None):
        """``VersionRange`` of the ops in ``self`` but not in ``rhs``."""
        return _sub_range(self._map, rhs._map)

    def diff(self, VersionVector rhs not None):
        """``VersionVectorDiff``: ``retreat`` = ops only in ``self``,
        ``forward`` = ops only in ``rhs``."""
        return VersionVectorDiff(_sub_range(self._map, rhs._map), _sub_range(rhs._map, self._map))

    def diff_iter(self, VersionVector rhs not None):
        """``(self.sub_iter(rhs), rhs.sub_iter(self))``."""
        return (_sub_spans(self._map, rhs._map), _sub_spans(rhs._map, self._map))

    def iter_between(self, VersionVector other not None):
        """All spans from ``self`` to ``other`` and from ``other`` to ``self``."""
        return _sub_spans(self._map, other._map) + _sub_spans(other._map, self._map)

    def get_missing_span(self, VersionVector target not None):
        """``IdSpan`` list of the ops in ``target`` but not in ``self``."""
        return _sub_spans(target._map, self._map)

    def distance_between(self, VersionVector other not None):
        """Number of ops in exactly one of the two version vectors."""
        cdef dict a = self._map
        cdef dict b = other._map
        total = 0
        for p, e in a.items():
            total += abs(e - b.get(p, 0))
        for p, e in b.items():
            if p not in a:
                total += e
        return total

    def intersection(self, VersionVector other not None):
        """New VersionVector of the ops included in both."""
        cdef dict b = other._map
        cdef dict m = {}
        for p, e in self._map.items():
            o = b.get(p)
            if o is not None:
                m[p] = e if e < o else o
        return vv_wrap(m)

    # -- updates -----------------------------------------------------------

    def set_last(self, ID id not None):
        """Set the inclusive last counter of ``id.peer`` to ``id.counter``."""
        self._stamp = None
        _vv_set(self._map, id.peer, _end_of_last(id.counter))

    def set_end(self, ID id not None):
        """Set the exclusive end of ``id.peer`` to ``id.counter`` (0 or less removes it)."""
        self._stamp = None
        _vv_set(self._map, id.peer, id.counter)

    def try_update_last(self, ID id not None):
        """Raise the end of ``id.peer`` to include ``id``; return whether it changed."""
        self._stamp = None
        new = _end_of_last(id.counter)
        if new > self._map.get(id.peer, 0):
            self._map[id.peer] = new
            return True
        return False

    def extend_to_include_last_id(self, ID id not None):
        """Raise the end of ``id.peer`` so that ``id`` is included."""
        self._stamp = None
        new = _end_of_last(id.counter)
        if new > self._map.get(id.peer, 0):
            self._map[id.peer] = new

    def extend_to_include_end_id(self, ID id not None):
        """Raise the end of ``id.peer`` to ``id.counter`` (exclusive)."""
        self._stamp = None
        new = id.counter
        if new > self._map.get(id.peer, 0):
            self._map[id.peer] = new

    def extend_to_include(self, span):
        """Raise the end of ``span.peer`` to the span's normalised end.

        As in Loro, an empty or reversed span ``(s, e)`` with ``s >= e`` ends at
        ``s + 1`` (i32 wrap-around: ``s == 2**31 - 1`` changes nothing).
        """
        self._stamp = None
        _check_span(span)
        cs = span.counter
        new = cs.end if cs.start < cs.end else _inc32(cs.start)
        if new > self._map.get(span.peer, 0):
            self._map[span.peer] = new

    def shrink_to_exclude(self, span):
        """Lower the end of ``span.peer`` so the span (normalised, clipped at 0) is excluded."""
        self._stamp = None
        _check_span(span)
        cs = span.counter
        s, e = cs.start, cs.end
        if e < s:
            s, e = _inc32(e), _inc32(s)
        if s < 0:
            s = 0
        if s >= e:
            return
        if s == 0:
            self._map.pop(span.peer, None)
            return
        cur = self._map.get(span.peer)
        if cur is not None and cur > s:
            self._map[span.peer] = s

    def merge(self, VersionVector other not None):
        """Raise every end to at least ``other``'s (union of the versions)."""
        self._stamp = None
        _merge_into(self._map, other._map)

    def extend_to_include_vv(self, VersionVector vv not None):
        """Same as :meth:`merge`."""
        self._stamp = None
        _merge_into(self._map, vv._map)

    # -- dunder ------------------------------------------------------------

    def __eq__(self, other):
        if not isinstance(other, VersionVector):
            return NotImplemented
        return self._map == (<VersionVector>other)._map

    def __ne__(self, other):
        if not isinstance(other, VersionVector):
            return NotImplemented
        return self._map != (<VersionVector>other)._map

    def __lt__(self, other):
        raise NotImplementedError("Only == and != comparisons are supported")

    def __le__(self, other):
        raise NotImplementedError("Only == and != comparisons are supported")

    def __gt__(self, other):
        raise NotImplementedError("Only == and != comparisons are supported")

    def __ge__(self, other):
        raise NotImplementedError("Only == and != comparisons are supported")

    __hash__ = None

    def __len__(self):
        return len(self._map)

    def __repr__(self):
        m = vv_listed(self)
        items = ", ".join([f"{p}: {m[p]}" for p in sorted(m)])
        return f"VersionVector({{{items}}})"

    def __reduce__(self):
        return (_vv_unpickle, (dict(self._map),))


def _vv_unpickle(d):
    return VersionVector.from_dict(d)


cdef list _sub_spans(dict a, dict b):
    cdef list out = []
    for p in sorted(a):
        e = a[p]
        s = b.get(p, 0)
        if e > s:
            out.append(IdSpan(p, CounterSpan(s, e)))
    return out


cdef object _sub_range(dict a, dict b):
    cdef dict m = {}
    for p in sorted(a):
        e = a[p]
        s = b.get(p, 0)
        if e > s:
            m[p] = (s, e)
    vr = VersionRange()
    vr._m = m
    return vr


cdef inline void _vv_set(dict m, object peer, object end) except *:
    if end <= 0:
        m.pop(peer, None)
    else:
        m[peer] = end


cdef void _merge_into(dict a, dict b) except *:
    for p, e in b.items():
        if e > a.get(p, 0):
            a[p] = e


cdef VersionVector vv_wrap(dict m):
    cdef VersionVector vv = VersionVector.__new__(VersionVector)
    vv._map = m
    return vv


cdef dict vv_listed(VersionVector vv):
    """Every listed entry, the kept zero entries included."""
    cdef dict m = vv._map
    if vv._zeros:
        m = dict(m)
        for p in vv._zeros:
            m.setdefault(p, 0)
    return m


cdef int vv_write(Writer* w, VersionVector vv) except -1:
    cdef dict m = vv_listed(vv)
    return vv_write_in_order(w, m, sorted(m))


cdef int vv_write_in_order(Writer* w, dict m, list peers) except -1:
    """{peer: end} `m` as a postcard map, its entries in the order of `peers` (its keys)."""
    cdef uint64_t peer
    cdef int32_t end
    if write_uleb64(w, <uint64_t>len(m)) < 0:
        raise_writer_error(w)
    for p in peers:
        peer = p
        end = m[p]
        if write_uleb64(w, peer) < 0 or write_zigzag64(w, end) < 0:
            raise_writer_error(w)
    return 0


cdef bytes vv_bytes_in_order(dict m, list peers):
    """vv_write_in_order's bytes (a version vector written in another library's map
    order)."""
    cdef Writer w
    if writer_init(&w, 1 + 15 * len(m)) < 0:
        raise_writer_error(&w)
    try:
        vv_write_in_order(&w, m, peers)
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


cdef VersionVector vv_read(Reader* r):
    cdef uint64_t count = 0, i, peer = 0
    cdef int32_t ctr = 0
    cdef dict m = {}
    cdef set zeros = None
    if read_uleb64(r, &count) < 0:
        raise_reader_error(r)
    # every entry takes at least two bytes
    if count > <uint64_t>(reader_remaining(r) // 2):
        reader_fail(r, "version vector entry count exceeds the input size")
        raise_reader_error(r)
    for i in range(count):
        if read_uleb64(r, &peer) < 0 or read_zigzag32(r, &ctr) < 0:
            raise_reader_error(r)
        if ctr < 0:
            reader_fail(r, "negative counter in version vector")
            raise_reader_error(r)
        key = peer
        if key in m or (zeros is not None and key in zeros):
            reader_fail(r, "duplicate peer in version vector")
            raise_reader_error(r)
        if ctr == 0:
            if zeros is None:
                zeros = set()
            zeros.add(key)
        else:
            m[key] = ctr
    cdef VersionVector vv = vv_wrap(m)
    if zeros is not None:
        vv._zeros = frozenset(zeros)
    return vv


# ---------------------------------------------------------------------------
# Frontiers
# ---------------------------------------------------------------------------

cdef class Frontiers:
    """The heads of a version: a set of op ids, at most one per peer.

    ``Frontiers()`` is empty; use :meth:`from_id` / :meth:`from_ids`.  When
    several ids of one peer are given, only the greatest counter is kept (the
    others are its ancestors), as in Loro.  Immutable, hashable, compares by
    value; iterates in ascending ``(peer, counter)`` order. ``str()`` lists the
    ids as loro prints them: in the order of loro's hash map of them (which
    depends on how the frontiers were built, see hash_order.frontiers_map_order).
    """

    def __cinit__(self):
        self._ids = []

    def __init__(self):
        pass

    @classmethod
    def from_id(cls, ID id not None):
        """Frontiers holding the single id ``id``."""
        return frontiers_wrap([(id.peer, id.counter)])

    @classmethod
    def from_ids(cls, ids):
        """Frontiers from a sequence of ``ID`` (greatest counter per peer kept)."""
        cdef dict best = {}
        cdef ID i
        for x in ids:
            if not isinstance(x, ID):
                raise TypeError(
                    f"argument 'ids': '{type(x).__name__}' object cannot be converted to 'ID'"
                )
            i = <ID>x
            p = i.peer
            c = best.get(p)
            if c is None or i.counter > c:
                best[p] = i.counter
        # (loro builds its map by inserting the ids in the order given)
        return frontiers_wrap_ordered(sorted(best.items()),
                                      _map_order([(x.peer, x.counter) for x in ids]))

    def encode(self):
        """Postcard encoding, readable by ``loro.Frontiers.decode``."""
        cdef Writer w
        if writer_init(&w, 1 + 15 * len(self._ids)) < 0:
            raise_writer_error(&w)
        try:
            frontiers_write(&w, self)
            return writer_to_bytes(&w)
        finally:
            writer_free(&w)

    @classmethod
    def decode(cls, data):
        """Decode :meth:`encode` output (or ``loro.Frontiers.encode``).

        Raises :class:`~loro_c.errors.DecodeError` on malformed input.
        """
        cdef bytes b = _as_bytes(data)
        cdef Reader r
        reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
        cdef Frontiers f = frontiers_read(&r)
        if not reader_at_end(&r):
            reader_fail(&r, "trailing bytes after frontiers")
            raise_reader_error(&r)
        return f

    def to_list(self):
        """The ids as a new ``list`` of ``ID``."""
        return [make_id(p, c) for p, c in self._ids]

    def __iter__(self):
        for p, c in self._ids:
            yield make_id(p, c)

    def __len__(self):
        return len(self._ids)

    def __contains__(self, item):
        if not isinstance(item, ID):
            return False
        cdef ID i = <ID>item
        return (i.peer, i.counter) in self._ids

    def __eq__(self, other):
        if not isinstance(other, Frontiers):
            return NotImplemented
        return self._ids == (<Frontiers>other)._ids

    def __ne__(self, other):
        if not isinstance(other, Frontiers):
            return NotImplemented
        return self._ids != (<Frontiers>other)._ids

    def __hash__(self):
        return hash(tuple(self._ids))

    def __repr__(self):
        ids = self._ids if self._order is None else self._order
        return "Frontiers([" + ", ".join([f"{c}@{p}" for p, c in ids]) + "])"

    def __reduce__(self):
        return (_frontiers_unpickle, (list(self._ids),))


def _frontiers_unpickle(ids):
    return frontiers_from_pairs(ids)


cdef Frontiers frontiers_wrap(list ids):
    cdef Frontiers f = Frontiers.__new__(Frontiers)
    f._ids = ids
    return f


cdef Frontiers frontiers_wrap_ordered(list ids, list order):
    cdef Frontiers f = Frontiers.__new__(Frontiers)
    f._ids = ids
    if order is not None and len(order) > 1 and order != ids:
        f._order = order
    return f


cdef list _map_order(list pairs):
    """The ids in the order of loro's Frontiers built from them in this order."""
    if len(pairs) < 2:
        return None
    from loro_c.hash_order import frontiers_map_order
    return frontiers_map_order(pairs)


cdef Frontiers frontiers_from_pairs(object pairs):
    cdef dict best = {}
    for pair in pairs:
        p, c = pair
        p = _check_u64(p, "peer")
        c = _check_i32(c, "counter")
        old = best.get(p)
        if old is None or c > old:
            best[p] = c
    return frontiers_wrap(sorted(best.items()))


cdef int frontiers_write(Writer* w, Frontiers f) except -1:
    cdef list ids = f._ids
    cdef uint64_t peer
    cdef int32_t counter
    if write_uleb64(w, <uint64_t>len(ids)) < 0:
        raise_writer_error(w)
    for p, c in ids:
        peer = p
        counter = c
        if write_uleb64(w, peer) < 0 or write_zigzag64(w, counter) < 0:
            raise_writer_error(w)
    return 0


cdef Frontiers frontiers_read(Reader* r):
    cdef uint64_t count = 0, i, peer = 0
    cdef int32_t ctr = 0
    cdef dict seen = {}
    cdef list order = []
    if read_uleb64(r, &count) < 0:
        raise_reader_error(r)
    if count > <uint64_t>(reader_remaining(r) // 2):
        reader_fail(r, "frontiers id count exceeds the input size")
        raise_reader_error(r)
    for i in range(count):
        if read_uleb64(r, &peer) < 0 or read_zigzag32(r, &ctr) < 0:
            raise_reader_error(r)
        key = peer
        if key in seen:
            reader_fail(r, "duplicate peer in frontiers")
            raise_reader_error(r)
        seen[key] = ctr
        order.append((key, ctr))
    # (loro's decode builds its map by inserting the ids in the order read)
    return frontiers_wrap_ordered(sorted(seen.items()), _map_order(order))
