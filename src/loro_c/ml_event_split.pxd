# The hash map of elements of loro's MovableList diff calculator (ml_event_split.pyx), fed
# in C by the document's checkout walks (state/movable_local.pxi ml_fold_walks).
from libc.stdint cimport int64_t, uint64_t


cdef class ElementMap:
    cdef int64_t *table
    cdef uint64_t *hashes           # per bucket, the hash of its key
    cdef int64_t size, room, items
    cdef public int64_t fed         # (a checkout's map: the state moves noted so far)
    # the same keys in a sparse table of their own (at most half full), where a key held
    # is found in a probe or two: hashbrown's probe sequences in a table 7/8 full are long
    cdef int64_t *mset
    cdef int64_t mcap
    cdef bint has(self, int64_t key) noexcept
    cdef int add_member(self, int64_t key) except -1
    cdef int64_t find(self, int64_t key, uint64_t h) noexcept
    cdef int reserve(self) except -1
    cdef int put(self, int64_t key, uint64_t h) except -1
    cdef int feed(self, seq, list peer_ids) except -1
    cdef int feed_one(self, uint64_t e, uint64_t peer) except -1
    cdef ElementMap refilled(self)
    cdef list ordered(self, wanted, list peer_ids)
