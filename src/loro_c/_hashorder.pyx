# cython: language_level=3, boundscheck=False, wraparound=False
"""hash_order's string-key replay in C: rustc-hash 2's FxHasher on str keys and
hashbrown's table (the same steps as hash_order._table_order and _fixed_table_order, which
stay the reference). A map diff of thousands of keys is ordered this way on every
apply_diff and undo."""
from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy
from loro_c.fxhash cimport hb_buckets_for, hb_capacity_of, hb_slot_of

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


cdef uint64_t hash_str(str s) except? 0:
    cdef bytes e = s.encode()
    cdef uint64_t h = hash_bytes(<const unsigned char *>(<char *>e), len(e)) * _K
    h = (h + 0xFF) * _K
    return (h << 26) | (h >> 38)


cdef class _Table:
    """A hashbrown table of key numbers (-1 empty), their hashes in `hs`."""
    cdef int64_t *t
    cdef int64_t size
    cdef int64_t room
    cdef uint64_t *hs

    def __dealloc__(self):
        free(self.t)

    cdef int grow(self) except -1:
        cdef int64_t held = 0, i, k, size
        cdef int64_t *old = self.t
        cdef int64_t old_size = self.size
        for i in range(old_size):
            if old[i] >= 0:
                held += 1
        size = hb_buckets_for(max(held + 1, (hb_capacity_of(old_size) if old_size else 0) + 1))
        self.t = <int64_t *>malloc(size * sizeof(int64_t))
        if self.t == NULL:
            self.t = old
            raise MemoryError()
        for i in range(size):
            self.t[i] = -1
        self.size = size
        for i in range(old_size):
            k = old[i]
            if k >= 0:
                self.t[hb_slot_of(self.t, size, self.hs[k])] = k
        free(old)
        self.room = hb_capacity_of(size) - held
        return 0

    cdef int fixed(self, int64_t nkeys) except -1:
        free(self.t)
        self.size = hb_buckets_for(nkeys)
        self.t = <int64_t *>malloc(self.size * sizeof(int64_t))
        if self.t == NULL:
            raise MemoryError()
        for i in range(self.size):
            self.t[i] = -1
        self.room = hb_capacity_of(self.size)
        return 0

    cdef list order(self):
        return [self.t[i] for i in range(self.size) if self.t[i] >= 0]


cdef list _grown_order(list ks, uint64_t *hs):
    cdef _Table tb = _Table()
    cdef int64_t k
    tb.hs = hs
    for k in ks:
        if tb.room == 0:
            tb.grow()
        tb.t[hb_slot_of(tb.t, tb.size, hs[k])] = k
        tb.room -= 1
    return tb.order()


cdef list _fixed_order(list ks, uint64_t *hs):
    cdef _Table tb = _Table()
    cdef int64_t k
    tb.hs = hs
    tb.fixed(len(ks))
    for k in ks:
        tb.t[hb_slot_of(tb.t, tb.size, hs[k])] = k
    return tb.order()


def key_order(keys, str passes):
    """The str `keys` after going through hash maps in turn, one per letter of `passes`:
    'g' a map grown as they come, 'f' a map made with room for all of them."""
    keys = list(keys)
    cdef Py_ssize_t n = len(keys), i
    cdef uint64_t *hs = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
    if hs == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            hs[i] = hash_str(keys[i])
        ks = list(range(n))
        for p in passes:
            ks = _grown_order(ks, hs) if p == "g" else _fixed_order(ks, hs)
        return [keys[k] for k in ks]
    finally:
        free(hs)


def str_hash(str s):
    return hash_str(s)


# -- hash_order.RemovingMap in C (LoroTree.nodes replays loro's map of a tree's nodes) ----

from loro_c.fxhash cimport fx_add, fx_finish
from libc.stdint cimport uint8_t, int32_t, uint32_t

cdef enum:
    _EMPTY = 0
    _DELETED = 1
    _FULL = 2


cdef class IdMap:
    """hash_order.RemovingMap of (peer, counter) keys (its steps, with the reasons)."""
    cdef uint8_t *ctrl
    cdef uint64_t *peers
    cdef int32_t *ctrs
    cdef uint64_t *hs
    cdef int64_t n, items, growth_left

    def __dealloc__(self):
        free(self.ctrl)
        free(self.peers)
        free(self.ctrs)
        free(self.hs)

    cdef int64_t _free_slot(self, uint64_t h) noexcept:
        cdef int64_t mask = self.n - 1, pos = <int64_t>(h & <uint64_t>mask), i, bit, stride = 0
        if self.n < 16:
            for i in range(pos, self.n):
                if self.ctrl[i] != _FULL:
                    return i
            for i in range(self.n):
                if self.ctrl[i] != _FULL:
                    return i
            return -1
        while True:
            for bit in range(16):
                i = (pos + bit) & mask
                if self.ctrl[i] != _FULL:
                    return i
            stride += 16
            pos = (pos + stride) & mask

    cdef int64_t _find(self, uint64_t peer, int32_t ctr, uint64_t h) noexcept:
        cdef int64_t mask = self.n - 1, pos, i, bit, stride = 0
        cdef bint seen_empty
        if self.n == 0:
            return -1
        if self.n < 16:
            for i in range(self.n):
                if self.ctrl[i] == _FULL and self.peers[i] == peer and self.ctrs[i] == ctr:
                    return i
            return -1
        pos = <int64_t>(h & <uint64_t>mask)
        while True:
            seen_empty = False
            for bit in range(16):
                i = (pos + bit) & mask
                if self.ctrl[i] == _FULL:
                    if self.peers[i] == peer and self.ctrs[i] == ctr:
                        return i
                elif self.ctrl[i] == _EMPTY:
                    seen_empty = True
            if seen_empty:
                return -1
            stride += 16
            if stride > self.n:
                return -1
            pos = (pos + stride) & mask

    cdef int _alloc(self, int64_t n) except -1:
        self.ctrl = <uint8_t *>calloc(n, 1)
        self.peers = <uint64_t *>malloc(n * sizeof(uint64_t))
        self.ctrs = <int32_t *>malloc(n * sizeof(int32_t))
        self.hs = <uint64_t *>malloc(n * sizeof(uint64_t))
        if self.ctrl == NULL or self.peers == NULL or self.ctrs == NULL or self.hs == NULL:
            raise MemoryError()
        self.n = n
        return 0

    cdef int _resize(self, int64_t capacity) except -1:
        cdef uint8_t *ctrl = self.ctrl
        cdef uint64_t *peers = self.peers
        cdef int32_t *ctrs = self.ctrs
        cdef uint64_t *hs = self.hs
        cdef int64_t old_n = self.n, i, j
        self.ctrl = NULL
        self.peers = NULL
        self.ctrs = NULL
        self.hs = NULL
        try:
            self._alloc(hb_buckets_for(capacity))
            for i in range(old_n):
                if ctrl[i] == _FULL:
                    j = self._free_slot(hs[i])
                    self.ctrl[j] = _FULL
                    self.peers[j] = peers[i]
                    self.ctrs[j] = ctrs[i]
                    self.hs[j] = hs[i]
        finally:
            free(ctrl)
            free(peers)
            free(ctrs)
            free(hs)
        self.growth_left = hb_capacity_of(self.n) - self.items
        return 0

    cdef void _rehash_in_place(self) noexcept:
        cdef int64_t mask = self.n - 1, i, new_i, start
        cdef uint8_t prev
        cdef uint64_t tp, th
        cdef int32_t tc
        for i in range(self.n):
            self.ctrl[i] = _DELETED if self.ctrl[i] == _FULL else _EMPTY
        for i in range(self.n):
            if self.ctrl[i] != _DELETED:
                continue
            while True:
                new_i = self._free_slot(self.hs[i])
                start = <int64_t>(self.hs[i] & <uint64_t>mask)
                if ((i - start) & mask) // 16 == ((new_i - start) & mask) // 16:
                    self.ctrl[i] = _FULL
                    break
                prev = self.ctrl[new_i]
                self.ctrl[new_i] = _FULL
                tp = self.peers[new_i]
                tc = self.ctrs[new_i]
                th = self.hs[new_i]
                self.peers[new_i] = self.peers[i]
                self.ctrs[new_i] = self.ctrs[i]
                self.hs[new_i] = self.hs[i]
                if prev == _EMPTY:
                    self.ctrl[i] = _EMPTY
                    break
                self.peers[i] = tp
                self.ctrs[i] = tc
                self.hs[i] = th
        self.growth_left = hb_capacity_of(self.n) - self.items

    cdef int insert(self, uint64_t peer, int32_t ctr) except -1:
        cdef uint64_t h = fx_finish(fx_add(fx_add(0, peer), <uint64_t><uint32_t>ctr))
        cdef int64_t cap, i
        if self.growth_left == 0:
            cap = hb_capacity_of(self.n) if self.n else 0
            if self.items + 1 <= cap // 2:
                self._rehash_in_place()
            else:
                self._resize(max(self.items + 1, cap + 1))
        if self._find(peer, ctr, h) >= 0:
            return 0
        i = self._free_slot(h)
        if self.ctrl[i] == _EMPTY:
            self.growth_left -= 1
        self.ctrl[i] = _FULL
        self.peers[i] = peer
        self.ctrs[i] = ctr
        self.hs[i] = h
        self.items += 1
        return 0

    cdef int remove(self, uint64_t peer, int32_t ctr) except -1:
        cdef uint64_t h = fx_finish(fx_add(fx_add(0, peer), <uint64_t><uint32_t>ctr))
        cdef int64_t i = self._find(peer, ctr, h), before = 0, after = 0, mask = self.n - 1
        if i < 0:
            return 0
        if self.n >= 16:
            while before < 16 and self.ctrl[(i - 1 - before) & mask] != _EMPTY:
                before += 1
            while after < 16 and self.ctrl[(i + after) & mask] != _EMPTY:
                after += 1
        if before + after >= 16:
            self.ctrl[i] = _DELETED
        else:
            self.ctrl[i] = _EMPTY
            self.growth_left += 1
        self.items -= 1
        return 0

    def run(self, list steps):
        """Apply [((peer, counter), removed)] in order."""
        cdef tuple key
        for key, removed in steps:
            if removed:
                self.remove(key[0], key[1])
            else:
                self.insert(key[0], key[1])

    def insert_all(self, list keys):
        cdef tuple key
        for key in keys:
            self.insert(key[0], key[1])

    def order(self):
        return [(self.peers[i], self.ctrs[i]) for i in range(self.n) if self.ctrl[i] == _FULL]
