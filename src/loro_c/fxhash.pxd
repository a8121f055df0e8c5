# loro's hash maps in C: rustc-hash 2's FxHasher and the bucket layout of hashbrown
# (power-of-two tables, 4 and 8 buckets while small, groups of 16 control bytes, triangular
# probing, grown by rehashing in iteration order). loro_c.hash_order is the same model in
# Python, with the reasons; the C modules that replay loro's maps (_dag_order,
# ml_event_split) share these.
from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport realloc, free


cdef inline uint64_t fx_add(uint64_t h, uint64_t word) noexcept nogil:
    """The hasher's state after one more word."""
    return (h + word) * <uint64_t>0xF1357AEA2E62A9C5ULL


cdef inline uint64_t fx_finish(uint64_t h) noexcept nogil:
    return (h << 26) | (h >> 38)


cdef inline int64_t hb_buckets_for(int64_t capacity) noexcept nogil:
    """The table size hashbrown allocates for `capacity` entries."""
    cdef int64_t want, n
    if capacity < 8:
        return 4 if capacity < 4 else 8
    want = capacity * 8 // 7
    n = 1
    while n < want:
        n <<= 1
    return n


cdef inline int64_t hb_capacity_of(int64_t buckets) noexcept nogil:
    """How many entries a table of `buckets` holds before it grows."""
    return buckets - 1 if buckets <= 8 else buckets // 8 * 7


cdef inline int64_t hb_slot_of(int64_t *table, int64_t n, uint64_t h) noexcept nogil:
    """The bucket a new key of hash `h` takes in `table` (n buckets, -1 free)."""
    cdef int64_t mask = n - 1, pos = <int64_t>(h & <uint64_t>mask), i, bit, stride = 0
    if n < 16:
        # a group spans the whole small table: the first free bucket from pos, else from 0
        for i in range(pos, n):
            if table[i] < 0:
                return i
        for i in range(n):
            if table[i] < 0:
                return i
        return -1
    while True:
        for bit in range(16):
            i = (pos + bit) & mask
            if table[i] < 0:
                return i
        stride += 16
        pos = (pos + stride) & mask


cdef inline int hb_table_order(const uint64_t *hashes, int64_t n, int64_t *out) except -1:
    """Write to `out` the indices 0..n-1 (keys inserted in that order, with these hashes)
    in the order hashbrown's table yields them (loro_c.hash_order._table_order)."""
    cdef int64_t *table = NULL
    cdef int64_t *tmp
    cdef int64_t size = 0, room = 0, k, i, m, nsize
    try:
        for k in range(n):
            if room == 0:
                # grow: the next size, refilled in iteration order
                m = 0
                for i in range(size):
                    if table[i] >= 0:
                        out[m] = table[i]
                        m += 1
                nsize = hb_buckets_for(max(m + 1, (hb_capacity_of(size) if size else 0) + 1))
                tmp = <int64_t *>realloc(table, nsize * sizeof(int64_t))
                if tmp == NULL:
                    raise MemoryError()
                table = tmp
                size = nsize
                for i in range(size):
                    table[i] = -1
                for i in range(m):
                    table[hb_slot_of(table, size, hashes[out[i]])] = out[i]
                room = hb_capacity_of(size) - m
            table[hb_slot_of(table, size, hashes[k])] = k
            room -= 1
        m = 0
        for i in range(size):
            if table[i] >= 0:
                out[m] = table[i]
                m += 1
    finally:
        free(table)
    return 0
