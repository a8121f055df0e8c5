# cython: language_level=3
"""Bounds-checked binary reader and growable writer (inline C helpers).

This file has no .pyx: everything here is ``cdef inline`` and is compiled into
each module that cimports it.  Only the two ``raise_*`` helpers and
``writer_to_bytes`` touch Python objects; every other function is plain C,
``noexcept nogil``.

Conventions
-----------
* Every read/write function returns an ``int`` status: ``0`` on success,
  ``-1`` on failure.  Results are written through an out-pointer.
* A failed read leaves a static message in ``Reader.err`` (never freed).  The
  first failure wins; later failures do not overwrite it.  ``Reader.pos`` is
  left unspecified after a failure: stop reading.
* A failed write means out of memory (or a size overflow); it sets
  ``Writer.oom = 1`` and leaves the buffer contents intact.
* Callers turn a failure into a Python exception with
  ``raise_reader_error(&r)`` (raises ``loro_c.errors.DecodeError``) or
  ``raise_writer_error(&w)`` (raises ``MemoryError``).  Typical use::

      if read_uleb64(&r, &v) < 0:
          raise_reader_error(&r)

* ``Reader.data`` borrows the buffer of a Python object: the caller must keep
  that object alive while the Reader is in use.
* ``Writer`` owns a ``malloc`` buffer: call ``writer_free`` on every path
  (``try/finally``).  ``writer_to_bytes`` copies; it does not free.

Encodings
---------
* ``uleb``: unsigned LEB128.  Postcard unsigned integers use the same form.
  Over-long encodings (extra ``0x80`` bytes) are accepted, as postcard does,
  but never more than the type's maximum byte count (5 for u32, 10 for u64)
  and never bits beyond the type's width.
* ``sleb``: signed LEB128 (sign-extended), max 10 bytes for i64.
* ``zigzag``: postcard signed integers: zigzag then unsigned LEB128
  (``-1`` -> ``01``).
* Fixed-width little/big-endian helpers for u16/u32/u64/f64.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize


ctypedef struct Reader:
    const unsigned char* data
    Py_ssize_t len
    Py_ssize_t pos
    const char* err


ctypedef struct Writer:
    unsigned char* data
    Py_ssize_t len
    Py_ssize_t cap
    int oom
    int borrowed    # data is the caller's buffer (writer_init_on): copied out to grow, never freed


# ---------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------

cdef inline void reader_init(Reader* r, const unsigned char* data, Py_ssize_t n) noexcept nogil:
    """Point ``r`` at ``n`` bytes starting at ``data`` (borrowed)."""
    r.data = data
    r.len = n
    r.pos = 0
    r.err = NULL


cdef inline int reader_fail(Reader* r, const char* msg) noexcept nogil:
    """Record ``msg`` (if no earlier error) and return -1."""
    if r.err == NULL:
        r.err = msg
    return -1


cdef inline Py_ssize_t reader_remaining(const Reader* r) noexcept nogil:
    """Bytes left to read."""
    return r.len - r.pos


cdef inline bint reader_at_end(const Reader* r) noexcept nogil:
    """True when every byte has been consumed."""
    return r.pos >= r.len


cdef inline int read_u8(Reader* r, uint8_t* out) noexcept nogil:
    if r.pos >= r.len:
        return reader_fail(r, "unexpected end of input")
    out[0] = r.data[r.pos]
    r.pos += 1
    return 0


cdef inline int read_bytes(Reader* r, Py_ssize_t n, const unsigned char** out) noexcept nogil:
    """Borrow ``n`` bytes: ``out[0]`` points into the reader's buffer."""
    if n < 0 or n > r.len - r.pos:
        return reader_fail(r, "unexpected end of input")
    out[0] = r.data + r.pos
    r.pos += n
    return 0


cdef inline int read_uleb64(Reader* r, uint64_t* out) noexcept nogil:
    """Unsigned LEB128 into u64: at most 10 bytes, overflow checked."""
    cdef uint64_t value = 0
    cdef uint8_t byte
    cdef int shift = 0
    cdef int i
    for i in range(10):
        if r.pos >= r.len:
            return reader_fail(r, "unexpected end of input in varint")
        byte = r.data[r.pos]
        r.pos += 1
        if i == 9 and byte > 1:
            return reader_fail(r, "varint overflows u64")
        value |= (<uint64_t>(byte & 0x7F)) << shift
        if (byte & 0x80) == 0:
            out[0] = value
            return 0
        shift += 7
    return reader_fail(r, "varint overflows u64")


cdef inline int read_uleb32(Reader* r, uint32_t* out) noexcept nogil:
    """Unsigned LEB128 into u32: at most 5 bytes, overflow checked."""
    cdef uint32_t value = 0
    cdef uint8_t byte
    cdef int shift = 0
    cdef int i
    for i in range(5):
        if r.pos >= r.len:
            return reader_fail(r, "unexpected end of input in varint")
        byte = r.data[r.pos]
        r.pos += 1
        if i == 4 and byte > 0x0F:
            return reader_fail(r, "varint overflows u32")
        value |= (<uint32_t>(byte & 0x7F)) << shift
        if (byte & 0x80) == 0:
            out[0] = value
            return 0
        shift += 7
    return reader_fail(r, "varint overflows u32")


cdef inline int read_sleb64(Reader* r, int64_t* out) noexcept nogil:
    """Signed (sign-extended) LEB128 into i64: at most 10 bytes, overflow checked."""
    cdef uint64_t value = 0
    cdef uint8_t byte
    cdef int shift = 0
    cdef int i
    for i in range(10):
        if r.pos >= r.len:
            return reader_fail(r, "unexpected end of input in varint")
        byte = r.data[r.pos]
        r.pos += 1
        if i == 9:
            # Bits 63.. : only a pure sign byte is valid (0x00 or 0x7F).
            if byte != 0x00 and byte != 0x7F:
                return reader_fail(r, "signed varint overflows i64")
            if byte == 0x7F:
                value |= (<uint64_t>1) << 63
            out[0] = <int64_t>value
            return 0
        value |= (<uint64_t>(byte & 0x7F)) << shift
        shift += 7
        if (byte & 0x80) == 0:
            if (byte & 0x40) != 0 and shift < 64:
                value |= (~(<uint64_t>0)) << shift
            out[0] = <int64_t>value
            return 0
    return reader_fail(r, "signed varint overflows i64")


cdef inline int read_zigzag64(Reader* r, int64_t* out) noexcept nogil:
    """Postcard signed i64: zigzag-decoded unsigned LEB128."""
    cdef uint64_t u
    if read_uleb64(r, &u) < 0:
        return -1
    out[0] = <int64_t>((u >> 1) ^ (<uint64_t>0 - (u & 1)))
    return 0


cdef inline int read_zigzag32(Reader* r, int32_t* out) noexcept nogil:
    """Postcard signed i32: zigzag-decoded unsigned LEB128 (max 5 bytes)."""
    cdef uint32_t u
    if read_uleb32(r, &u) < 0:
        return -1
    out[0] = <int32_t>((u >> 1) ^ (<uint32_t>0 - (u & 1)))
    return 0


cdef inline int read_u16_be(Reader* r, uint16_t* out) noexcept nogil:
    if r.len - r.pos < 2:
        return reader_fail(r, "unexpected end of input")
    cdef const unsigned char* p = r.data + r.pos
    out[0] = (<uint16_t>p[0] << 8) | <uint16_t>p[1]
    r.pos += 2
    return 0


cdef inline int read_u32_le(Reader* r, uint32_t* out) noexcept nogil:
    if r.len - r.pos < 4:
        return reader_fail(r, "unexpected end of input")
    cdef const unsigned char* p = r.data + r.pos
    out[0] = (<uint32_t>p[0]) | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)
    r.pos += 4
    return 0


cdef inline int read_u32_be(Reader* r, uint32_t* out) noexcept nogil:
    if r.len - r.pos < 4:
        return reader_fail(r, "unexpected end of input")
    cdef const unsigned char* p = r.data + r.pos
    out[0] = (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | (<uint32_t>p[3])
    r.pos += 4
    return 0


cdef inline int read_u64_le(Reader* r, uint64_t* out) noexcept nogil:
    if r.len - r.pos < 8:
        return reader_fail(r, "unexpected end of input")
    cdef const unsigned char* p = r.data + r.pos
    cdef uint64_t v = 0
    cdef int i
    for i in range(7, -1, -1):
        v = (v << 8) | p[i]
    out[0] = v
    r.pos += 8
    return 0


cdef inline int read_u64_be(Reader* r, uint64_t* out) noexcept nogil:
    if r.len - r.pos < 8:
        return reader_fail(r, "unexpected end of input")
    cdef const unsigned char* p = r.data + r.pos
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    out[0] = v
    r.pos += 8
    return 0


cdef inline int read_f64_le(Reader* r, double* out) noexcept nogil:
    cdef uint64_t bits
    if read_u64_le(r, &bits) < 0:
        return -1
    memcpy(out, &bits, 8)
    return 0


cdef inline int read_f64_be(Reader* r, double* out) noexcept nogil:
    cdef uint64_t bits
    if read_u64_be(r, &bits) < 0:
        return -1
    memcpy(out, &bits, 8)
    return 0


cdef inline int raise_reader_error(const Reader* r) except -1:
    """Raise ``loro_c.errors.DecodeError`` with the reader's message."""
    from loro_c.errors import DecodeError
    if r.err != NULL:
        raise DecodeError(r.err.decode("ascii", "replace"))
    raise DecodeError("malformed input")


# ---------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------

cdef inline int writer_init(Writer* w, Py_ssize_t cap) noexcept nogil:
    """Start an empty writer with room for ``cap`` bytes (at least 16)."""
    if cap < 16:
        cap = 16
    w.len = 0
    w.oom = 0
    w.borrowed = 0
    w.data = <unsigned char*>malloc(<size_t>cap)
    if w.data == NULL:
        w.cap = 0
        w.oom = 1
        return -1
    w.cap = cap
    return 0


cdef inline void writer_init_on(Writer* w, unsigned char* buf, Py_ssize_t cap) noexcept nogil:
    """Start an empty writer on the caller's buffer of ``cap`` bytes (which must outlive
    it): small outputs need no allocation; a larger one moves to the heap."""
    w.len = 0
    w.oom = 0
    w.borrowed = 1
    w.data = buf
    w.cap = cap


cdef inline void writer_free(Writer* w) noexcept nogil:
    """Release the buffer; safe to call twice."""
    if w.data != NULL and not w.borrowed:
        free(w.data)
    w.data = NULL
    w.len = 0
    w.cap = 0
    w.borrowed = 0


cdef inline int writer_reserve(Writer* w, Py_ssize_t extra) noexcept nogil:
    """Make room for ``extra`` more bytes (amortised doubling)."""
    cdef Py_ssize_t need
    cdef Py_ssize_t new_cap
    cdef unsigned char* p
    if extra < 0 or w.len > (<Py_ssize_t>(<size_t>-1 >> 1)) - extra:
        w.oom = 1
        return -1
    need = w.len + extra
    if need <= w.cap and w.data != NULL:
        return 0
    new_cap = w.cap if w.cap > 0 else 16
    while new_cap < need:
        if new_cap > (<Py_ssize_t>(<size_t>-1 >> 2)):
            new_cap = need
            break
        new_cap *= 2
    if w.borrowed:
        p = <unsigned char*>malloc(<size_t>new_cap)
        if p != NULL and w.len > 0:
            memcpy(p, w.data, <size_t>w.len)
    else:
        p = <unsigned char*>realloc(w.data, <size_t>new_cap)
    if p == NULL:
        w.oom = 1
        return -1
    w.data = p
    w.borrowed = 0
    w.cap = new_cap
    return 0


cdef inline int write_u8(Writer* w, uint8_t v) noexcept nogil:
    if w.len >= w.cap or w.data == NULL:
        if writer_reserve(w, 1) < 0:
            return -1
    w.data[w.len] = v
    w.len += 1
    return 0


cdef inline int write_bytes(Writer* w, const unsigned char* src, Py_ssize_t n) noexcept nogil:
    if n == 0:
        return 0
    if writer_reserve(w, n) < 0:
        return -1
    memcpy(w.data + w.len, src, <size_t>n)
    w.len += n
    return 0


cdef inline unsigned char* put_uleb64(unsigned char* p, uint64_t v) noexcept nogil:
    """write_uleb64's bytes at `p`, in room already reserved (10 bytes at most): a run of
    values takes one writer_reserve. The byte after them is returned."""
    while v >= 0x80:
        p[0] = <unsigned char>((v & 0x7F) | 0x80)
        p += 1
        v >>= 7
    p[0] = <unsigned char>v
    return p + 1


cdef inline int write_uleb64(Writer* w, uint64_t v) noexcept nogil:
    if writer_reserve(w, 10) < 0:
        return -1
    while v >= 0x80:
        w.data[w.len] = <unsigned char>((v & 0x7F) | 0x80)
        w.len += 1
        v >>= 7
    w.data[w.len] = <unsigned char>v
    w.len += 1
    return 0


cdef inline int write_sleb64(Writer* w, int64_t v) noexcept nogil:
    cdef unsigned char byte
    cdef bint more = 1
    if writer_reserve(w, 10) < 0:
        return -1
    while more:
        byte = <unsigned char>(v & 0x7F)
        v >>= 7  # arithmetic shift on signed
        if (v == 0 and (byte & 0x40) == 0) or (v == -1 and (byte & 0x40) != 0):
            more = 0
        else:
            byte |= 0x80
        w.data[w.len] = byte
        w.len += 1
    return 0


cdef inline int write_zigzag64(Writer* w, int64_t v) noexcept nogil:
    """Postcard signed integer (works for i32 values too: same bytes)."""
    return write_uleb64(w, (<uint64_t>v << 1) ^ <uint64_t>(v >> 63))


cdef inline int write_u16_be(Writer* w, uint16_t v) noexcept nogil:
    if writer_reserve(w, 2) < 0:
        return -1
    w.data[w.len] = <unsigned char>(v >> 8)
    w.data[w.len + 1] = <unsigned char>(v & 0xFF)
    w.len += 2
    return 0


cdef inline int write_u32_le(Writer* w, uint32_t v) noexcept nogil:
    cdef int i
    if writer_reserve(w, 4) < 0:
        return -1
    for i in range(4):
        w.data[w.len + i] = <unsigned char>((v >> (8 * i)) & 0xFF)
    w.len += 4
    return 0


cdef inline int write_u32_be(Writer* w, uint32_t v) noexcept nogil:
    cdef int i
    if writer_reserve(w, 4) < 0:
        return -1
    for i in range(4):
        w.data[w.len + i] = <unsigned char>((v >> (8 * (3 - i))) & 0xFF)
    w.len += 4
    return 0


cdef inline int write_u64_le(Writer* w, uint64_t v) noexcept nogil:
    cdef int i
    if writer_reserve(w, 8) < 0:
        return -1
    for i in range(8):
        w.data[w.len + i] = <unsigned char>((v >> (8 * i)) & 0xFF)
    w.len += 8
    return 0


cdef inline int write_u64_be(Writer* w, uint64_t v) noexcept nogil:
    cdef int i
    if writer_reserve(w, 8) < 0:
        return -1
    for i in range(8):
        w.data[w.len + i] = <unsigned char>((v >> (8 * (7 - i))) & 0xFF)
    w.len += 8
    return 0


cdef inline int write_f64_le(Writer* w, double v) noexcept nogil:
    cdef uint64_t bits
    memcpy(&bits, &v, 8)
    return write_u64_le(w, bits)


cdef inline int write_f64_be(Writer* w, double v) noexcept nogil:
    cdef uint64_t bits
    memcpy(&bits, &v, 8)
    return write_u64_be(w, bits)


cdef inline int raise_writer_error(const Writer* w) except -1:
    """Raise ``MemoryError`` for a failed write."""
    raise MemoryError("loro_c: out of memory while encoding")


cdef inline bytes writer_to_bytes(const Writer* w):
    """Copy the written bytes into a new ``bytes`` object (does not free)."""
    if w.oom:
        raise MemoryError("loro_c: out of memory while encoding")
    if w.data == NULL:
        return b""
    return PyBytes_FromStringAndSize(<const char*>w.data, w.len)
