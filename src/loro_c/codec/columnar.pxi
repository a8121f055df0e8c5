# serde_columnar's column strategies, as Loro's change blocks use them, both ways:
# AnyRle (runs and literal segments; values as u8, uleb or zigzag), DeltaRle (AnyRle of
# the differences), BoolRle (alternating run lengths, starting with false) and
# DeltaOfDelta (head value, then a bit stream of second differences in 1/9/12/16/25/69-bit
# codes). Columns are C arrays of int64: no Python object per value.

# -- decoding ---------------------------------------------------------------------------------

cdef inline int rle_value(Reader* r, int vkind, int64_t* v) except -1 nogil:
    cdef uint8_t b
    cdef uint64_t u
    if vkind == VK_U8:
        r_u8(r, &b)
        v[0] = b
    elif vkind == VK_ULEB:
        r_uleb(r, &u)
        if u > <uint64_t>INT64_MAX:
            failc(b"column value out of range")
        v[0] = <int64_t>u
    else:
        r_zz(r, v)
    return 0


cdef int rle_read_n(Reader* r, Py_ssize_t n, int vkind, int64_t* out) except -1 nogil:
    """AnyRle: exactly ``n`` values from a concatenated stream (runs may not overshoot)."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, v
    while i < n:
        r_zz(r, &cnt)
        if cnt == 0:
            failc(b"RLE segment with a zero count")
        if cnt > 0:
            if cnt > n - i:
                failc(b"RLE run is longer than its column")
            rle_value(r, vkind, &v)
            for j in range(<Py_ssize_t>cnt):
                out[i + j] = v
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > n - i:
                failc(b"RLE literal run is longer than its column")
            for j in range(<Py_ssize_t>(-cnt)):
                rle_value(r, vkind, &out[i + j])
            i += <Py_ssize_t>(-cnt)
    return 0


cdef Py_ssize_t rle_read_all(Reader* r, int vkind, int64_t* out, Py_ssize_t cap) except -1 nogil:
    """AnyRle column until the end of ``r``; ``out`` NULL counts only. At most ``cap`` values."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, v
    while not reader_at_end(r):
        r_zz(r, &cnt)
        if cnt == 0:
            failc(b"RLE segment with a zero count")
        if cnt > 0:
            if cnt > cap - i:
                failc(b"RLE column has more values than allowed")
            rle_value(r, vkind, &v)
            if out != NULL:
                for j in range(<Py_ssize_t>cnt):
                    out[i + j] = v
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > cap - i:
                failc(b"RLE column has more values than allowed")
            for j in range(<Py_ssize_t>(-cnt)):
                rle_value(r, vkind, &v)
                if out != NULL:
                    out[i + j] = v
            i += <Py_ssize_t>(-cnt)
    return i


cdef int delta_accumulate(int64_t* vals, Py_ssize_t n, int64_t lo, int64_t hi) except -1 nogil:
    """DeltaRle: turn deltas into absolute values, each checked to lie in [lo, hi]."""
    cdef int64_t acc = 0
    cdef Py_ssize_t i
    for i in range(n):
        if add_ovf(acc, vals[i], &acc) or acc < lo or acc > hi:
            failc(b"delta-encoded column value out of range")
        vals[i] = acc
    return 0


cdef int bool_rle_read_n(Reader* r, Py_ssize_t n, uint8_t* out) except -1 nogil:
    cdef Py_ssize_t i = 0, j
    cdef uint64_t cnt
    cdef uint8_t val = 0
    while i < n:
        r_uleb(r, &cnt)
        if cnt > <uint64_t>(n - i):
            failc(b"bool RLE run is longer than its column")
        for j in range(<Py_ssize_t>cnt):
            out[i + j] = val
        i += <Py_ssize_t>cnt
        val = 1 - val
    return 0


cdef inline int bits_read(const unsigned char* p, int64_t* bitpos, int64_t total, int k,
                          uint64_t* out) except -1 nogil:
    cdef uint64_t v = 0
    cdef int i
    cdef int64_t b = bitpos[0]
    if total - b < k:
        failc(b"delta-of-delta stream ends early")
    for i in range(k):
        v = (v << 1) | ((p[b >> 3] >> (7 - (b & 7))) & 1)
        b += 1
    bitpos[0] = b
    out[0] = v
    return 0


cdef int dod_read_n(Reader* r, Py_ssize_t n, int64_t* out, int64_t lo, int64_t hi) except -1 nogil:
    """DeltaOfDelta: exactly ``n`` values; ``r`` then continues at the next whole byte."""
    cdef uint8_t tag, last_bits
    cdef int64_t head = 0, prev, delta = 0, dod, rest, total, bitpos = 0
    cdef uint64_t bit, payload
    cdef Py_ssize_t i
    cdef const unsigned char* p
    r_u8(r, &tag)
    if tag > 1:
        failc(b"bad option tag in a delta-of-delta stream")
    if tag == 1:
        r_zz(r, &head)
    r_u8(r, &last_bits)
    if last_bits > 8:
        failc(b"bad bit count in a delta-of-delta stream")
    if n == 0:
        if tag:
            failc(b"delta-of-delta stream holds a value where none is expected")
        return 0
    if tag == 0:
        failc(b"delta-of-delta stream lacks its first value")
    if head < lo or head > hi:
        failc(b"delta-of-delta value out of range")
    p = r.data + r.pos
    rest = reader_remaining(r)
    total = 0 if rest == 0 else (rest - 1) * 8 + last_bits
    out[0] = head
    prev = head
    for i in range(1, n):
        bits_read(p, &bitpos, total, 1, &bit)
        if bit == 0:
            dod = 0
        else:
            bits_read(p, &bitpos, total, 1, &bit)
            if bit == 0:
                bits_read(p, &bitpos, total, 7, &payload)
                dod = <int64_t>payload - 63
            else:
                bits_read(p, &bitpos, total, 1, &bit)
                if bit == 0:
                    bits_read(p, &bitpos, total, 9, &payload)
                    dod = <int64_t>payload - 255
                else:
                    bits_read(p, &bitpos, total, 1, &bit)
                    if bit == 0:
                        bits_read(p, &bitpos, total, 12, &payload)
                        dod = <int64_t>payload - 2047
                    else:
                        bits_read(p, &bitpos, total, 1, &bit)
                        if bit == 0:
                            bits_read(p, &bitpos, total, 21, &payload)
                            dod = <int64_t>payload - ((1 << 20) - 1)
                        else:
                            bits_read(p, &bitpos, total, 64, &payload)
                            dod = <int64_t>payload
        if add_ovf(delta, dod, &delta) or add_ovf(prev, delta, &prev) or prev < lo or prev > hi:
            failc(b"delta-of-delta value out of range")
        out[i] = prev
    r.pos += <Py_ssize_t>((bitpos + 7) >> 3)
    return 0


cdef int columnar_vec(Reader* r, Py_ssize_t ncols, Reader* cols, str what) except -1:
    """serde_columnar framing of a struct with one vec field: ``1, ncols, cols...``."""
    cdef uint64_t v
    cdef Py_ssize_t i
    r_uleb(r, &v)
    if v != 1:
        fail(f"{what}: expected 1 field, found {v}")
    r_uleb(r, &v)
    if v != <uint64_t>ncols:
        fail(f"{what}: expected {ncols} columns, found {v}")
    for i in range(ncols):
        r_slice(r, &cols[i])
    r_end(r, what)
    return 0


# -- encoding ---------------------------------------------------------------------------------

cdef inline int enc_value_rle(Writer* w, int vkind, int64_t v) except -1 nogil:
    if vkind == VK_U8:
        return wchk(w, write_u8(w, <uint8_t>v))
    if vkind == VK_ULEB:
        return wchk(w, write_uleb64(w, <uint64_t>v))
    return wchk(w, write_zigzag64(w, v))


cdef int enc_rle(Writer* w, const int64_t* v, Py_ssize_t n, int vkind) except -1 nogil:
    """AnyRle: runs for repeated values, literal segments otherwise."""
    cdef Py_ssize_t i = 0, j, k
    cdef unsigned char* p
    while i < n:
        if i + 1 < n and v[i] == v[i + 1]:
            j = i + 1
            while j < n and v[j] == v[i]:
                j += 1
            wchk(w, write_zigzag64(w, j - i))
            enc_value_rle(w, vkind, v[i])
            i = j
        else:
            j = i + 1
            while j < n and not (j + 1 < n and v[j] == v[j + 1]):
                j += 1
            wchk(w, write_zigzag64(w, -(j - i)))
            # the segment's values (a list's random counters are one segment of thousands)
            # into one reservation of at most 10 bytes each, written in place
            wchk(w, writer_reserve(w, 10 * (j - i)))
            p = w.data + w.len
            for k in range(i, j):
                if vkind == VK_U8:
                    p[0] = <uint8_t>v[k]
                    p += 1
                elif vkind == VK_ULEB:
                    p = put_uleb64(p, <uint64_t>v[k])
                else:       # (write_zigzag64's)
                    p = put_uleb64(p, (<uint64_t>v[k] << 1) ^ <uint64_t>(v[k] >> 63))
            w.len = p - w.data
            i = j
    return 0


cdef int enc_delta_rle(Writer* w, const int64_t* v, Py_ssize_t n) except -1 nogil:
    cdef int64_t* d = <int64_t*>xalloc_raw(n, sizeof(int64_t))     # (written whole below)
    cdef int64_t prev = 0
    cdef Py_ssize_t i
    try:
        for i in range(n):
            d[i] = v[i] - prev
            prev = v[i]
        enc_rle(w, d, n, VK_ZZ)
    finally:
        free(d)
    return 0


cdef int enc_bool_rle(Writer* w, const uint8_t* v, Py_ssize_t n) except -1 nogil:
    cdef Py_ssize_t i = 0, j
    cdef uint8_t cur = 0
    while i < n:
        j = i
        while j < n and v[j] == cur:
            j += 1
        wchk(w, write_uleb64(w, <uint64_t>(j - i)))
        i = j
        cur = 1 - cur
    return 0


ctypedef struct BitWriter:
    Writer* w
    uint8_t cur
    int used      # bits used in cur


cdef int bw_put(BitWriter* b, uint64_t value, int count) except -1 nogil:
    cdef int i
    for i in range(count - 1, -1, -1):
        b.cur = (b.cur << 1) | <uint8_t>((value >> i) & 1)
        b.used += 1
        if b.used == 8:
            wchk(b.w, write_u8(b.w, b.cur))
            b.cur = 0
            b.used = 0
    return 0


cdef int enc_dod(Writer* w, const int64_t* v, Py_ssize_t n) except -1 nogil:
    """DeltaOfDelta: Option<i64> head, bits-used byte, MSB-first bit stream."""
    cdef Writer bits
    cdef BitWriter b
    cdef int64_t prev, delta = 0, nd, dod
    cdef Py_ssize_t i
    cdef int last
    if n == 0:
        wchk(w, write_u8(w, 0))
        return wchk(w, write_u8(w, 0))
    wchk(w, write_u8(w, 1))
    wchk(w, write_zigzag64(w, v[0]))
    if writer_init(&bits, 16) < 0:
        with gil:
            raise_writer_error(&bits)
    try:
        b.w = &bits
        b.cur = 0
        b.used = 0
        prev = v[0]
        for i in range(1, n):
            # wrapping arithmetic: no signed overflow even for extreme timestamps
            nd = <int64_t>(<uint64_t>v[i] - <uint64_t>prev)
            dod = <int64_t>(<uint64_t>nd - <uint64_t>delta)
            prev = v[i]
            delta = nd
            if dod == 0:
                bw_put(&b, 0, 1)
            elif -63 <= dod <= 64:
                bw_put(&b, 0b10, 2)
                bw_put(&b, <uint64_t>(dod + 63), 7)
            elif -255 <= dod <= 256:
                bw_put(&b, 0b110, 3)
                bw_put(&b, <uint64_t>(dod + 255), 9)
            elif -2047 <= dod <= 2048:
                bw_put(&b, 0b1110, 4)
                bw_put(&b, <uint64_t>(dod + 2047), 12)
            elif -(1 << 20) + 1 <= dod <= (1 << 20):
                bw_put(&b, 0b11110, 5)
                bw_put(&b, <uint64_t>(dod + (1 << 20) - 1), 21)
            else:
                bw_put(&b, 0b11111, 5)
                bw_put(&b, <uint64_t>dod, 64)
        if b.used:
            last = b.used
            wchk(&bits, write_u8(&bits, <uint8_t>(b.cur << (8 - b.used))))
        else:
            last = 8 if bits.len else 0
        wchk(w, write_u8(w, <uint8_t>last))
        wchk(w, write_bytes(w, bits.data, bits.len))
    finally:
        writer_free(&bits)
    return 0
