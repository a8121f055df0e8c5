# xxHash32: the envelope checksum (seed "LORO"), SSTable block and metadata checksums,
# and the LZ4 frame checksums (seed 0).

# C constants, so that the multiplications take them as immediates (module variables
# would be loaded from memory on every round)
cdef extern from *:
    """
    #define LC_XP1 2654435761U
    #define LC_XP2 2246822519U
    #define LC_XP3 3266489917U
    #define LC_XP4 668265263U
    #define LC_XP5 374761393U
    """
    const uint32_t XP1 "LC_XP1"
    const uint32_t XP2 "LC_XP2"
    const uint32_t XP3 "LC_XP3"
    const uint32_t XP4 "LC_XP4"
    const uint32_t XP5 "LC_XP5"


cdef inline uint32_t _rotl32(uint32_t x, int r) noexcept nogil:
    return (x << r) | (x >> (32 - r))


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    # the compilers this builds with turn the four shifted bytes into one load
    return (<uint32_t>p[0]) | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint32_t _xround(uint32_t acc, uint32_t lane) noexcept nogil:
    acc = acc + lane * XP2
    acc = _rotl32(acc, 13)
    return acc * XP1


cdef uint32_t c_xxh32(const unsigned char* p, Py_ssize_t n, uint32_t seed) noexcept nogil:
    """xxHash32 of ``n`` bytes at ``p``."""
    cdef const unsigned char* end = p + n
    cdef uint32_t v1, v2, v3, v4, h
    if n >= 16:
        v1 = seed + XP1 + XP2
        v2 = seed + XP2
        v3 = seed
        v4 = seed - XP1
        while end - p >= 16:
            v1 = _xround(v1, _le32(p))
            v2 = _xround(v2, _le32(p + 4))
            v3 = _xround(v3, _le32(p + 8))
            v4 = _xround(v4, _le32(p + 12))
            p += 16
        h = _rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)
    else:
        h = seed + XP5
    h = h + <uint32_t>n
    while end - p >= 4:
        h = h + _le32(p) * XP3
        h = _rotl32(h, 17) * XP4
        p += 4
    while p < end:
        h = h + (<uint32_t>p[0]) * XP5
        h = _rotl32(h, 11) * XP1
        p += 1
    h ^= h >> 15
    h = h * XP2
    h ^= h >> 13
    h = h * XP3
    h ^= h >> 16
    return h


cdef uint32_t xxh32_released(const unsigned char* p, Py_ssize_t n, uint32_t seed) noexcept:
    """c_xxh32 with the GIL released for large inputs. The callers hash an immutable bytes
    object they hold or a writer buffer private to the call, never document state."""
    cdef uint32_t h
    if n < NOGIL_MIN_BYTES:
        return c_xxh32(p, n, seed)
    with nogil:
        h = c_xxh32(p, n, seed)
    return h


def xxh32(data, seed=0x4F524F4C):
    """xxHash32 of a bytes-like object (default seed: Loro's ``"LORO"``)."""
    cdef bytes b = bytes(data)
    return c_xxh32(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), <uint32_t>seed)
