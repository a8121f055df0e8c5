# cython: language_level=3
"""C-level declarations of loro_c._version (cimported by the core).

The attribute layout of the three classes below is a contract with the other
modules: do not change it without updating them.

Invariants the core must keep when it touches the fields directly:

* ``VersionVector._map``: ``dict`` from peer (Python ``int``, 0 <= peer < 2**64)
  to the *exclusive* end counter (Python ``int``, 0 < end <= 2**31 - 1).
  Entries with end <= 0 are never stored.
* ``Frontiers._ids``: ``list`` of ``(peer, counter)`` tuples of Python ints,
  sorted ascending, at most one entry per peer (counter is an i32).  A
  ``Frontiers`` is treated as immutable once handed out (it is hashable).
"""

from ._varint cimport Reader, Writer


cdef class ID:
    cdef readonly unsigned long long peer
    cdef readonly int counter


cdef class VersionVector:
    cdef dict _map        # peer (Python int, u64) -> exclusive end counter (Python int > 0); never store 0 entries
    cdef frozenset _zeros # peers listed with end 0 (loro keeps such entries: they encode and
                          # print, but never count in comparisons or queries); None when none
    # (log serial, epoch) when this is an unmodified copy of a document's version at that
    # epoch (LoroDoc.oplog_vv sets it, so export(Updates(vv)) looks only at the peers that
    # moved since); None otherwise. Every method that changes _map must clear it first.
    cdef object _stamp


cdef class Frontiers:
    cdef list _ids        # sorted list of (peer, counter) tuples, unique
    # The same ids in the order loro's hash map of them yields them (what str() shows, as
    # loro prints them), or None when that is _ids' order. Display only: equality, hashing,
    # iteration and every algorithm use _ids.
    cdef list _order


# Build an ID without argument parsing.
cdef ID make_id(unsigned long long peer, int counter)

# Wrap ``m`` as a VersionVector WITHOUT copying or checking it: the caller
# hands over ownership and guarantees the _map invariants above.
cdef VersionVector vv_wrap(dict m)

# Wrap ``ids`` as Frontiers WITHOUT copying or checking it: the caller hands
# over ownership and guarantees the _ids invariants above.
cdef Frontiers frontiers_wrap(list ids)

# The same with `order`, the ids in loro's map order (Frontiers._order).
cdef Frontiers frontiers_wrap_ordered(list ids, list order)

# Build Frontiers from any iterable of (peer, counter) pairs: keeps the
# greatest counter per peer and sorts.  Range-checks peer (u64) and counter (i32).
cdef Frontiers frontiers_from_pairs(object pairs)

# Postcard encoders/decoders usable inside larger streams.  Writers return -1
# with an exception set (MemoryError / OverflowError).  Readers raise
# loro_c.errors.DecodeError on malformed input and leave ``r.pos`` after the
# value on success; they do not check for trailing bytes.
cdef int vv_write(Writer* w, VersionVector vv) except -1
cdef bytes vv_bytes_in_order(dict m, list peers)
cdef VersionVector vv_read(Reader* r)
cdef int frontiers_write(Writer* w, Frontiers f) except -1
cdef Frontiers frontiers_read(Reader* r)
