# cython: language_level=3, boundscheck=False, wraparound=False
"""hash_order's replay in C: rustc-hash 2's FxHasher on str and int keys and hashbrown's
table (fxhash.pxd; the same steps as hash_order._table_order and _fixed_table_order, which
stay the reference). A map diff of thousands of keys is ordered this way on every
apply_diff and undo, an event's containers on every event."""
from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport malloc, free
from loro_c.fxhash cimport hb_buckets_for, hb_slot_of, fx_add, fx_finish, hb_table_order

cdef extern from *:
    """
    #if defined(__SIZEOF_INT128__) && !defined(LC_NO_INT128)
    static inline uint64_t lc_fold_mul(uint64_t x, uint64_t y) {
        unsigned __int128 f = (unsigned __int128)x * y;
        return (uint64_t)f ^ (uint64_t)(f >> 64);
    }
    #else
    /* compilers without a 128-bit integer (MSVC): the product from 32-bit halves */
    static inline uint64_t lc_fold_mul(uint64_t x, uint64_t y) {
        uint64_t x0 = (uint32_t)x, x1 = x >> 32, y0 = (uint32_t)y, y1 = y >> 32;
        uint64_t p00 = x0 * y0, p01 = x0 * y1, p10 = x1 * y0, p11 = x1 * y1;
        uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
        uint64_t lo = (mid << 32) | (uint32_t)p00;
        uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
        return lo ^ hi;
    }
    #endif
    static inline uint64_t lc_le(const unsigned char *p, int n) {
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
        return v;
    }
    """
    uint64_t lc_fold_mul(uint64_t x, uint64_t y) nogil
    uint64_t lc_le(const unsigned char *p, int n) nogil

cdef uint64_t _K = 0xF1357AEA2E62A9C5ULL
cdef uint64_t _SEED1 = 0x243F6A8885A308D3ULL
cdef uint64_t _SEED2 = 0x13198A2E03707344ULL
cdef uint64_t _NO_COLLAPSE = 0xA4093822299F31D0ULL


cdef uint64_t hash_bytes(const unsigned char *b, int64_t n) noexcept nogil:
    cdef uint64_t s0 = _SEED1, s1 = _SEED2, x, y, t
    cdef int64_t off = 0, bulk
    if n <= 16:
        if n >= 8:
            s0 ^= lc_le(b, 8)
            s1 ^= lc_le(b + n - 8, 8)
        elif n >= 4:
            s0 ^= lc_le(b, 4)
            s1 ^= lc_le(b + n - 4, 4)
        elif n > 0:
            s0 ^= b[0]
            s1 ^= (<uint64_t>b[n - 1] << 8) | b[n // 2]
    else:
        bulk = n - 1
        while bulk - off >= 16:
            x = lc_le(b + off, 8)
            y = lc_le(b + off + 8, 8)
            t = lc_fold_mul(s0 ^ x, _NO_COLLAPSE ^ y)
            s0 = s1
            s1 = t
            off += 16
        s0 ^= lc_le(b + n - 16, 8)
        s1 ^= lc_le(b + n - 8, 8)
    return lc_fold_mul(s0, s1) ^ <uint64_t>n


cdef uint64_t utf8_key_hash(const unsigned char *b, int64_t n) noexcept nogil:
    """An InternalString key's hash in loro's maps, from its UTF-8 bytes (str's Hash writes
    the bytes, then 0xFF)."""
    cdef uint64_t h = hash_bytes(b, n) * _K
    h = (h + 0xFF) * _K
    return (h << 26) | (h >> 38)


cdef uint64_t hash_str(str s) except? 0:
    cdef bytes e = s.encode()
    return utf8_key_hash(<const unsigned char *>(<char *>e), len(e))


cdef int fixed_table_order(const uint64_t *hashes, int64_t n, int64_t *out) except -1 nogil:
    """Write to `out` the indices 0..n-1 (keys inserted in that order into a table made
    with room for all n: key_order's 'f') in the order hashbrown's table yields them."""
    cdef int64_t size = hb_buckets_for(n), i, m = 0
    cdef int64_t *table = <int64_t *>malloc(size * sizeof(int64_t))
    if table == NULL:
        with gil:
            raise MemoryError()
    for i in range(size):
        table[i] = -1
    for i in range(n):
        table[hb_slot_of(table, size, hashes[i])] = i
    for i in range(size):
        if table[i] >= 0:
            out[m] = table[i]
            m += 1
    free(table)
    return 0


cdef list _ordered(list ks, uint64_t *hs, bint grown):
    """Key numbers `ks` (their hashes in `hs`) in the order of a map grown as they come,
    or (not `grown`) of one made with room for all of them."""
    cdef Py_ssize_t n = len(ks), i
    cdef uint64_t *inserted = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
    cdef int64_t *out = <int64_t *>malloc((n + 1) * sizeof(int64_t))
    try:
        if inserted == NULL or out == NULL:
            raise MemoryError()
        for i in range(n):
            inserted[i] = hs[<int64_t>ks[i]]
        if grown:
            hb_table_order(inserted, n, out)
        else:
            fixed_table_order(inserted, n, out)
        return [ks[out[i]] for i in range(n)]
    finally:
        free(inserted)
        free(out)


cdef list _key_order(list keys, str passes, bint strs):
    """`keys` (strs, or ints hashed as u64) after going through hash maps in turn, one
    per letter of `passes` ('g' grown, 'f' made with room: _ordered)."""
    cdef Py_ssize_t n = len(keys), i
    cdef uint64_t *hs = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
    if hs == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            hs[i] = hash_str(keys[i]) if strs else fx_finish(fx_add(0, <uint64_t>keys[i]))
        ks = list(range(n))
        for p in passes:
            ks = _ordered(ks, hs, p == "g")
        return [keys[k] for k in ks]
    finally:
        free(hs)


def key_order(keys, str passes):
    """The str `keys` after going through hash maps in turn, one per letter of `passes`:
    'g' a map grown as they come, 'f' a map made with room for all of them."""
    return _key_order(list(keys), passes, True)


def int_key_order(keys):
    """hash_order.iteration_order in C: distinct int keys (u32 container indices, u64 peer
    ids) in the order of a map grown as they come. An event of thousands of containers
    orders them this way."""
    return _key_order(list(keys), "g", False)


def str_hash(str s):
    return hash_str(s)
