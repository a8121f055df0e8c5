# Primitives every other part builds on: reads that raise DecodeError (the Reader/Writer
# themselves are the inline C of _varint.pxd), checked writes, UTF-8 both ways, allocation.

# -- checked reads: each raises DecodeError on failure ---------------------------------------

cdef int fail(str msg) except -1:
    raise DecodeError(msg)


cdef int failc(const char* msg) except -1 nogil:
    """fail() for code that may run without the GIL (a fixed ASCII message)."""
    with gil:
        raise DecodeError(msg.decode("ascii"))


cdef inline int r_u8(Reader* r, uint8_t* v) except -1 nogil:
    v[0] = 0
    if read_u8(r, v) < 0:
        with gil:
            raise_reader_error(r)
    return 0


cdef inline int r_uleb(Reader* r, uint64_t* v) except -1 nogil:
    v[0] = 0
    if read_uleb64(r, v) < 0:
        with gil:
            raise_reader_error(r)
    return 0


cdef inline int r_uleb32(Reader* r, uint32_t* v) except -1 nogil:
    v[0] = 0
    if read_uleb32(r, v) < 0:
        with gil:
            raise_reader_error(r)
    return 0


cdef inline int r_zz(Reader* r, int64_t* v) except -1 nogil:
    v[0] = 0
    if read_zigzag64(r, v) < 0:
        with gil:
            raise_reader_error(r)
    return 0


cdef extern from *:
    """
    /* A zigzag varint of at most 8 bytes read without a branch per byte (their lengths
       vary unpredictably in id columns): 8 bytes loaded, the first byte without its
       continuation bit found, the 7-bit groups up to it gathered. Returns the bytes used,
       or 0 when fewer than 8 bytes are left, the varint is longer, or the machine is
       big-endian (the caller then reads it byte by byte). */
    static inline int lc_zz8(const unsigned char *p, Py_ssize_t left, int64_t *out) {
    #if PY_BIG_ENDIAN
        (void)p; (void)left; (void)out;
        return 0;
    #else
        uint64_t w, stop, mask, x;
        if (left < 8) return 0;
        memcpy(&w, p, 8);
        stop = ~w & 0x8080808080808080ULL;
        if (!stop) return 0;
        mask = stop ^ (stop - 1);       /* the bytes up to the last one, whole */
        /* the 7-bit groups of the bytes up to the last one, joined pairwise */
        x = w & mask & 0x7F7F7F7F7F7F7F7FULL;
        x = (x & 0x007F007F007F007FULL) | ((x >> 1) & 0x3F803F803F803F80ULL);
        x = (x & 0x00003FFF00003FFFULL) | ((x >> 2) & 0x0FFFC0000FFFC000ULL);
        x = (x & 0x000000000FFFFFFFULL) | ((x >> 4) & 0x00FFFFFFF0000000ULL);
        *out = (int64_t)((x >> 1) ^ (0 - (x & 1)));
        /* one set low bit per byte of the mask, summed into the top byte */
        return (int)(((mask & 0x0101010101010101ULL) * 0x0101010101010101ULL) >> 56);
    #endif
    }
    """
    int lc_zz8(const unsigned char* p, Py_ssize_t left, int64_t* out) noexcept nogil


cdef inline int r_zz_fast(Reader* r, int64_t* v) except -1 nogil:
    """r_zz, 8 bytes at a time when there are that many (same values, same errors)."""
    cdef int k = lc_zz8(r.data + r.pos, r.len - r.pos, v)
    if k:
        r.pos += k
        return 0
    return r_zz(r, v)


cdef inline int r_sleb(Reader* r, int64_t* v) except -1 nogil:
    v[0] = 0
    if read_sleb64(r, v) < 0:
        with gil:
            raise_reader_error(r)
    return 0


cdef inline int r_slice(Reader* r, Reader* sub) except -1:
    """Read ``uleb len + bytes`` into the sub-reader ``sub``."""
    cdef uint64_t n
    cdef const unsigned char* p = NULL
    r_uleb(r, &n)
    if n > <uint64_t>reader_remaining(r):
        fail("length-prefixed section runs past the end of its container")
    read_bytes(r, <Py_ssize_t>n, &p)
    reader_init(sub, p, <Py_ssize_t>n)
    return 0


cdef inline int r_fixed_slice(Reader* r, Py_ssize_t n, Reader* sub) except -1:
    cdef const unsigned char* p = NULL
    if n < 0 or n > reader_remaining(r):
        fail("section runs past the end of the input")
    read_bytes(r, n, &p)
    reader_init(sub, p, n)
    return 0


cdef inline int r_end(Reader* r, str what) except -1:
    if not reader_at_end(r):
        fail(f"{reader_remaining(r)} trailing byte(s) after {what}")
    return 0


cdef inline bint add_ovf(int64_t a, int64_t b, int64_t* out) noexcept nogil:
    """``out = a + b``; True on i64 overflow."""
    if (b > 0 and a > INT64_MAX - b) or (b < 0 and a < INT64_MIN - b):
        return True
    out[0] = a + b
    return False


# -- checked writes: a failed write is out of memory ----------------------------------------

cdef inline int wchk(Writer* w, int rc) except -1 nogil:
    if rc < 0:
        with gil:
            raise_writer_error(w)
    return 0


cdef int w_section(Writer* w, Writer* sec) except -1 nogil:
    wchk(w, write_uleb64(w, <uint64_t>sec.len))
    return wchk(w, write_bytes(w, sec.data, sec.len))


cdef int w_str(Writer* w, str s) except -1:
    cdef Py_ssize_t n
    cdef const char* p
    try:
        p = PyUnicode_AsUTF8AndSize(s, &n)
    except UnicodeEncodeError:
        raise LoroValueError("a string with lone surrogates cannot be encoded") from None
    wchk(w, write_uleb64(w, <uint64_t>n))
    return wchk(w, write_bytes(w, <const unsigned char*>p, n))


# -- UTF-8 ------------------------------------------------------------------------------------

ctypedef struct KeySlice:         # UTF-8 bytes in place
    const unsigned char* p
    Py_ssize_t n


from loro_c.utf8 cimport utf8_ok, ascii_only


cdef object utf8_str(const unsigned char* p, Py_ssize_t n, str what):
    try:
        return PyUnicode_DecodeUTF8(<const char*>p, n, "strict")
    except UnicodeDecodeError:
        raise DecodeError(f"{what} is not valid UTF-8") from None


cdef Py_ssize_t utf8_to_cps(const unsigned char* p, Py_ssize_t n, uint32_t* out) noexcept nogil:
    """Decode strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF) into
    code points; returns their count, or -1 when the bytes are not valid UTF-8."""
    cdef Py_ssize_t i = 0, k = 0
    cdef uint32_t c, cp, least
    cdef int extra
    while i < n:
        c = p[i]
        i += 1
        if c < 0x80:
            out[k] = c
            k += 1
            continue
        if 0xC2 <= c <= 0xDF:
            extra = 1
            cp = c & 0x1F
            least = 0x80
        elif 0xE0 <= c <= 0xEF:
            extra = 2
            cp = c & 0x0F
            least = 0x800
        elif 0xF0 <= c <= 0xF4:
            extra = 3
            cp = c & 0x07
            least = 0x10000
        else:
            return -1
        if n - i < extra:
            return -1
        while extra > 0:
            c = p[i]
            if (c & 0xC0) != 0x80:
                return -1
            cp = (cp << 6) | (c & 0x3F)
            i += 1
            extra -= 1
        if cp < least or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            return -1
        out[k] = cp
        k += 1
    return k


cdef int w_cps_utf8(Writer* w, const uint32_t* cps, Py_ssize_t n) except -1:
    """A text insert's payload from code points: uleb byte length, then UTF-8."""
    cdef Py_ssize_t i, nb = 0
    cdef uint32_t c
    cdef unsigned char* d
    for i in range(n):
        c = cps[i]
        if 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
            raise LoroValueError("text with a lone surrogate cannot be encoded")
        nb += 1 if c < 0x80 else (2 if c < 0x800 else (3 if c < 0x10000 else 4))
    wchk(w, write_uleb64(w, <uint64_t>nb))
    if writer_reserve(w, nb) < 0:
        raise_writer_error(w)
    d = w.data + w.len
    for i in range(n):
        c = cps[i]
        if c < 0x80:
            d[0] = <unsigned char>c
            d += 1
        elif c < 0x800:
            d[0] = <unsigned char>(0xC0 | (c >> 6))
            d[1] = <unsigned char>(0x80 | (c & 0x3F))
            d += 2
        elif c < 0x10000:
            d[0] = <unsigned char>(0xE0 | (c >> 12))
            d[1] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
            d[2] = <unsigned char>(0x80 | (c & 0x3F))
            d += 3
        else:
            d[0] = <unsigned char>(0xF0 | (c >> 18))
            d[1] = <unsigned char>(0x80 | ((c >> 12) & 0x3F))
            d[2] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
            d[3] = <unsigned char>(0x80 | (c & 0x3F))
            d += 4
    w.len += nb
    return 0


# -- allocation -------------------------------------------------------------------------------

cdef void* xalloc(Py_ssize_t n, size_t size) except NULL nogil:
    """calloc at least one element (so NULL always means failure)."""
    cdef void* p
    if n < 1:
        n = 1
    p = calloc(<size_t>n, size)
    if p == NULL:
        with gil:
            raise MemoryError("loro_c: out of memory while decoding")
    return p


cdef void* xalloc_raw(Py_ssize_t n, size_t size) except NULL nogil:
    """xalloc without the zeroing, for a buffer its caller writes whole before reading it
    (a snapshot's id columns: calloc's memset of a few hundred KiB per export)."""
    cdef void* p
    if n < 1:
        n = 1
    if <size_t>n > (<size_t>-1) // size:
        with gil:
            raise MemoryError("loro_c: out of memory while decoding")
    p = malloc(<size_t>n * size)
    if p == NULL:
        with gil:
            raise MemoryError("loro_c: out of memory while decoding")
    return p


ctypedef struct I64Vec:
    int64_t* data
    Py_ssize_t len
    Py_ssize_t cap
    int borrowed        # data is the caller's buffer (vec_init_on): copied out to grow, never freed


cdef inline void vec_init_on(I64Vec* v, int64_t* buf, Py_ssize_t cap) noexcept nogil:
    """An empty vector on the caller's buffer of `cap` values (which must outlive it)."""
    v.data = buf
    v.len = 0
    v.cap = cap
    v.borrowed = 1


cdef int vec_push(I64Vec* v, int64_t x) except -1:
    cdef int64_t* p
    cdef Py_ssize_t cap
    if v.len == v.cap:
        cap = v.cap * 2 if v.cap >= 8 else 16
        if v.borrowed:
            p = <int64_t*>malloc(cap * sizeof(int64_t))
            if p != NULL and v.len > 0:
                memcpy(p, v.data, v.len * sizeof(int64_t))
        else:
            p = <int64_t*>realloc(v.data, cap * sizeof(int64_t))
        if p == NULL:
            raise MemoryError("loro_c: out of memory while encoding")
        v.data = p
        v.cap = cap
        v.borrowed = 0
    v.data[v.len] = x
    v.len += 1
    return 0


cdef void vec_free(I64Vec* v) noexcept nogil:
    if not v.borrowed:
        free(v.data)
    v.data = NULL
    v.len = v.cap = 0
    v.borrowed = 0
