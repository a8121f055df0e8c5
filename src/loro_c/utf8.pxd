# Strict UTF-8 checks on bytes in place, shared by the codecs (_codec, ephemeral_codec):
# the bytes of a decoded string are checked without making the str.
from libc.stdint cimport uint32_t


cdef inline bint utf8_ok(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """Strict UTF-8, as PyUnicode_DecodeUTF8(..., "strict") takes it."""
    cdef Py_ssize_t i = 0
    cdef uint32_t c, cp, least
    cdef int extra
    while i < n:
        c = p[i]
        i += 1
        if c < 0x80:
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
            return False
        if n - i < extra:
            return False
        while extra > 0:
            c = p[i]
            if (c & 0xC0) != 0x80:
                return False
            cp = (cp << 6) | (c & 0x3F)
            i += 1
            extra -= 1
        if cp < least or cp > 0x10FFFF or (0xD800 <= cp <= 0xDFFF):
            return False
    return True


cdef inline bint ascii_only(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """No byte of the `n` at `p` has its high bit set (a key or short string of a record:
    OR-ed together, one branch at the end)."""
    cdef unsigned char acc = 0
    cdef Py_ssize_t i
    for i in range(n):
        acc |= p[i]
    return acc < 0x80
