# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Loro's binary formats: the envelope, FastUpdates (mode 4) and the history inside
FastSnapshot (mode 3) blobs.

Interface (used by ``LoroDoc``):

* ``encode_updates(changes) -> bytes``: a mode-4 blob holding the given change tuples
  (layout in :mod:`loro_c._json`).
* ``decode_updates(data) -> list``: the change tuples of a mode-4 blob, or of the change
  blocks inside a mode-3 snapshot (so a Loro snapshot imports as history).
* ``decode_blob_meta(data, check_checksum) -> ImportBlobMetadata``.

Layout summary (see docs in the spec, section 6)::

    blob   = "loro" + 12 zero bytes + u32le xxh32(blob[20:], seed "LORO") + u16be mode + body
    mode 4 = repeat(uleb len + change block)
    mode 3 = 3 x (u32le len + bytes): oplog SSTable, state SSTable, shallow-root state
    block  = postcard struct: 5 u32 varints, then 8 length-prefixed sections
             (header, change_meta, cids, keys, positions, ops, delete_start_ids, values)

Decoding is strict: every read is bounds-checked, every count is checked against the
bytes left before anything is allocated, sections must be consumed exactly, and any
inconsistency raises ``loro_c.errors.DecodeError`` (never another exception type, and
``MemoryError`` only for a real allocation failure).  Ops on containers loro_c does
not support (MovableList, Tree, rich-text marks, unknown kinds) raise ``DecodeError``
naming the kind: nothing is silently dropped.

The encoder writes any valid segmentation (not Loro's exact bytes); Loro reads it.
"""

from libc.stdint cimport (uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t,
                          INT32_MAX, INT64_MAX, INT64_MIN, UINT32_MAX)
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memset, memcmp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_GET_LENGTH, PyUnicode_AsUTF8AndSize

from ._varint cimport (
    Reader, Writer, reader_init, reader_fail, reader_remaining, reader_at_end,
    read_u8, read_bytes, read_uleb64, read_uleb32, read_sleb64, read_zigzag64,
    read_u16_be, read_u32_le, read_u64_le, read_u64_be, read_f64_be,
    raise_reader_error,
    writer_init, writer_free, writer_reserve, write_u8, write_bytes, write_uleb64,
    write_sleb64, write_zigzag64, write_u16_be, write_u32_le, write_u64_le, write_f64_be,
    raise_writer_error, writer_to_bytes,
)
from ._version cimport VersionVector, Frontiers, vv_wrap, frontiers_wrap, vv_read, frontiers_read
from ._seq cimport make_id
from ._oplog cimport lc_op
from ._doc cimport LoroDoc, DocOps
from ._import cimport (stage_begin, stage_dep, stage_container, stage_op, stage_dropped, stage_end,
                      stage_tuple, stage_value)

import operator

from . import _types
from .errors import DecodeError, LoroError, LoroValueError
from ._doc import kind_of_type, _TYPE_NAMES

__all__ = ["encode_updates", "decode_updates", "decode_blob_meta", "xxh32"]

cdef enum:
    # op kinds of the change tuples (loro_c._json)
    OP_INSERT = 1
    OP_DELETE = 2
    OP_MAP_SET = 3
    OP_MAP_DELETE = 4
    OP_COUNTER = 5
    # raw container kinds
    K_MAP = 0
    K_LIST = 1
    K_TEXT = 2
    K_TREE = 3
    K_MOVABLE_LIST = 4
    K_COUNTER = 5
    # value kinds of the ops column
    V_NULL = 0
    V_I64 = 3
    V_F64 = 4
    V_STR = 5
    V_DELETE_ONCE = 8
    V_DELETE_SEQ = 9
    V_LORO_VALUE = 11
    V_MARK_START = 12
    # nested LoroValue tags
    LV_NULL = 0
    LV_TRUE = 1
    LV_FALSE = 2
    LV_I64 = 3
    LV_F64 = 4
    LV_STR = 5
    LV_BINARY = 6
    LV_LIST = 7
    LV_MAP = 8
    LV_CONTAINER = 9
    # how an RLE column stores its values
    VK_U8 = 0      # postcard u8: one raw byte
    VK_ULEB = 1    # postcard unsigned varint (must fit i64)
    VK_ZZ = 2      # postcard zigzag signed varint
    MAX_VALUE_DEPTH = 512          # nesting limit of decoded values (C stack safety)
    MAX_COLLECTION = 1 << 28       # Loro's cap on one nested list/map
    ENC_MAX_OPS_PER_BLOCK = 4096   # the encoder splits changes/blocks at this many ops
    DEC_MIN_OPS_CAP = 65536        # decoder: ops per block <= this + 4 * block bytes
    DEC_BLOB_OPS = 1 << 20         # decoder: ops per blob <= this + 4 * blob bytes
    MAX_SST_BLOCKS = 10000000

cdef uint32_t LORO_SEED = 0x4F524F4C
cdef uint16_t MODE_SNAPSHOT = 3
cdef uint16_t MODE_UPDATES = 4


# ---------------------------------------------------------------------------
# xxHash32
# ---------------------------------------------------------------------------

cdef uint32_t XP1 = 2654435761U
cdef uint32_t XP2 = 2246822519U
cdef uint32_t XP3 = 3266489917U
cdef uint32_t XP4 = 668265263U
cdef uint32_t XP5 = 374761393U


cdef inline uint32_t _rotl32(uint32_t x, int r) noexcept nogil:
    return (x << r) | (x >> (32 - r))


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
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


# Inputs at least this long are hashed / decompressed / decoded with the GIL released, so
# threads working on different documents use more than one core; below it, releasing and
# re-taking the GIL costs more than the work.
cdef enum:
    NOGIL_MIN_BYTES = 4096


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


# ---------------------------------------------------------------------------
# error helpers and checked reads (each raises DecodeError on failure)
# ---------------------------------------------------------------------------

cdef int fail(str msg) except -1:
    raise DecodeError(msg)


cdef inline int r_u8(Reader* r, uint8_t* v) except -1:
    v[0] = 0
    if read_u8(r, v) < 0:
        raise_reader_error(r)
    return 0


cdef inline int r_uleb(Reader* r, uint64_t* v) except -1:
    v[0] = 0
    if read_uleb64(r, v) < 0:
        raise_reader_error(r)
    return 0


cdef inline int r_uleb32(Reader* r, uint32_t* v) except -1:
    v[0] = 0
    if read_uleb32(r, v) < 0:
        raise_reader_error(r)
    return 0


cdef inline int r_zz(Reader* r, int64_t* v) except -1:
    v[0] = 0
    if read_zigzag64(r, v) < 0:
        raise_reader_error(r)
    return 0


cdef inline int r_sleb(Reader* r, int64_t* v) except -1:
    v[0] = 0
    if read_sleb64(r, v) < 0:
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


cdef object utf8_str(const unsigned char* p, Py_ssize_t n, str what):
    try:
        return PyUnicode_DecodeUTF8(<const char*>p, n, "strict")
    except UnicodeDecodeError:
        raise DecodeError(f"{what} is not valid UTF-8") from None


# ---------------------------------------------------------------------------
# serde_columnar strategies (decoding)
# ---------------------------------------------------------------------------

cdef inline int rle_value(Reader* r, int vkind, int64_t* v) except -1:
    cdef uint8_t b
    cdef uint64_t u
    if vkind == VK_U8:
        r_u8(r, &b)
        v[0] = b
    elif vkind == VK_ULEB:
        r_uleb(r, &u)
        if u > <uint64_t>INT64_MAX:
            fail("column value out of range")
        v[0] = <int64_t>u
    else:
        r_zz(r, v)
    return 0


cdef int rle_read_n(Reader* r, Py_ssize_t n, int vkind, int64_t* out) except -1:
    """AnyRle: exactly ``n`` values from a concatenated stream (runs may not overshoot)."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, v
    while i < n:
        r_zz(r, &cnt)
        if cnt == 0:
            fail("RLE segment with a zero count")
        if cnt > 0:
            if cnt > n - i:
                fail("RLE run is longer than its column")
            rle_value(r, vkind, &v)
            for j in range(<Py_ssize_t>cnt):
                out[i + j] = v
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > n - i:
                fail("RLE literal run is longer than its column")
            for j in range(<Py_ssize_t>(-cnt)):
                rle_value(r, vkind, &out[i + j])
            i += <Py_ssize_t>(-cnt)
    return 0


cdef Py_ssize_t rle_read_all(Reader* r, int vkind, int64_t* out, Py_ssize_t cap) except -1:
    """AnyRle column until the end of ``r``; ``out`` NULL counts only. At most ``cap`` values."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, v
    while not reader_at_end(r):
        r_zz(r, &cnt)
        if cnt == 0:
            fail("RLE segment with a zero count")
        if cnt > 0:
            if cnt > cap - i:
                fail("RLE column has more values than allowed")
            rle_value(r, vkind, &v)
            if out != NULL:
                for j in range(<Py_ssize_t>cnt):
                    out[i + j] = v
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > cap - i:
                fail("RLE column has more values than allowed")
            for j in range(<Py_ssize_t>(-cnt)):
                rle_value(r, vkind, &v)
                if out != NULL:
                    out[i + j] = v
            i += <Py_ssize_t>(-cnt)
    return i


cdef int delta_accumulate(int64_t* vals, Py_ssize_t n, int64_t lo, int64_t hi) except -1:
    """DeltaRle: turn deltas into absolute values, each checked to lie in [lo, hi]."""
    cdef int64_t acc = 0
    cdef Py_ssize_t i
    for i in range(n):
        if add_ovf(acc, vals[i], &acc) or acc < lo or acc > hi:
            fail("delta-encoded column value out of range")
        vals[i] = acc
    return 0


cdef int bool_rle_read_n(Reader* r, Py_ssize_t n, uint8_t* out) except -1:
    cdef Py_ssize_t i = 0, j
    cdef uint64_t cnt
    cdef uint8_t val = 0
    while i < n:
        r_uleb(r, &cnt)
        if cnt > <uint64_t>(n - i):
            fail("bool RLE run is longer than its column")
        for j in range(<Py_ssize_t>cnt):
            out[i + j] = val
        i += <Py_ssize_t>cnt
        val = 1 - val
    return 0


cdef inline int bits_read(const unsigned char* p, int64_t* bitpos, int64_t total, int k,
                          uint64_t* out) except -1:
    cdef uint64_t v = 0
    cdef int i
    cdef int64_t b = bitpos[0]
    if total - b < k:
        fail("delta-of-delta stream ends early")
    for i in range(k):
        v = (v << 1) | ((p[b >> 3] >> (7 - (b & 7))) & 1)
        b += 1
    bitpos[0] = b
    out[0] = v
    return 0


cdef int dod_read_n(Reader* r, Py_ssize_t n, int64_t* out, int64_t lo, int64_t hi) except -1:
    """DeltaOfDelta: exactly ``n`` values; ``r`` then continues at the next whole byte."""
    cdef uint8_t tag, last_bits
    cdef int64_t head = 0, prev, delta = 0, dod, rest, total, bitpos = 0
    cdef uint64_t bit, payload
    cdef Py_ssize_t i
    cdef const unsigned char* p
    r_u8(r, &tag)
    if tag > 1:
        fail("bad option tag in a delta-of-delta stream")
    if tag == 1:
        r_zz(r, &head)
    r_u8(r, &last_bits)
    if last_bits > 8:
        fail("bad bit count in a delta-of-delta stream")
    if n == 0:
        if tag:
            fail("delta-of-delta stream holds a value where none is expected")
        return 0
    if tag == 0:
        fail("delta-of-delta stream lacks its first value")
    if head < lo or head > hi:
        fail("delta-of-delta value out of range")
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
            fail("delta-of-delta value out of range")
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


# ---------------------------------------------------------------------------
# block decoding
# ---------------------------------------------------------------------------

cdef object CT_MAP = _types.ContainerType.Map()
cdef object CT_LIST = _types.ContainerType.List()
cdef object CT_TEXT = _types.ContainerType.Text()
cdef object CT_COUNTER = _types.ContainerType.Counter()
cdef object CID_ROOT = _types.ContainerID.Root
cdef object CID_NORMAL = _types.ContainerID.Normal

cdef tuple KIND_NAMES = ("Map", "List", "Text", "Tree", "MovableList", "Counter")


cdef str kind_name(int k):
    if 0 <= k < 6:
        return KIND_NAMES[k]
    return f"Unknown({k})"


cdef object container_type(int k):
    if k == K_MAP:
        return CT_MAP
    if k == K_LIST:
        return CT_LIST
    if k == K_TEXT:
        return CT_TEXT
    if k == K_COUNTER:
        return CT_COUNTER
    return _types.ContainerType.from_byte(k)


cdef int unsupported_kind(int k) except -1:
    raise DecodeError(f"{kind_name(k)} containers are not supported by loro_c yet")


ctypedef struct BlockArrays:
    uint64_t* peers
    int64_t* ch_start      # n_changes + 1 counter boundaries
    int64_t* lamports
    int64_t* timestamps
    int64_t* msg_lens
    uint8_t* dep_self
    int64_t* dep_counts
    int64_t* dep_peers
    int64_t* dep_ctrs
    int64_t* col_cidx
    int64_t* col_prop
    int64_t* col_tag
    int64_t* col_len
    int64_t* del_peer
    int64_t* del_ctr
    int64_t* del_len
    uint8_t* cid_kind


cdef void arrays_free(BlockArrays* a) noexcept nogil:
    free(a.peers); free(a.ch_start); free(a.lamports); free(a.timestamps); free(a.msg_lens)
    free(a.dep_self); free(a.dep_counts); free(a.dep_peers); free(a.dep_ctrs)
    free(a.col_cidx); free(a.col_prop); free(a.col_tag); free(a.col_len)
    free(a.del_peer); free(a.del_ctr); free(a.del_len); free(a.cid_kind)
    memset(a, 0, sizeof(BlockArrays))


cdef void* xalloc(Py_ssize_t n, size_t size) except NULL:
    """calloc at least one element (so NULL always means failure)."""
    cdef void* p
    if n < 1:
        n = 1
    p = calloc(<size_t>n, size)
    if p == NULL:
        raise MemoryError("loro_c: out of memory while decoding")
    return p


ctypedef struct BlockHead:
    int64_t counter_start
    int64_t counter_len
    int64_t lamport_start
    int64_t lamport_len
    Py_ssize_t n_changes
    Py_ssize_t n_peers
    Py_ssize_t n_deps
    Py_ssize_t block_len
    Reader header, meta, cids, keys, positions, ops, dels, values


cdef int parse_block_struct(const unsigned char* p, Py_ssize_t n, BlockHead* h) except -1:
    cdef Reader r
    cdef uint32_t cs, cl, ls, ll, nc
    reader_init(&r, p, n)
    h.block_len = n
    r_uleb32(&r, &cs)
    r_uleb32(&r, &cl)
    r_uleb32(&r, &ls)
    r_uleb32(&r, &ll)
    r_uleb32(&r, &nc)
    if nc == 0:
        fail("change block holds no changes")
    if cs > <uint32_t>INT32_MAX or <uint64_t>cs + cl > <uint64_t>INT32_MAX:
        fail("change block counter range overflows i32")
    if <uint64_t>ls + ll > <uint64_t>UINT32_MAX:
        fail("change block lamport range overflows u32")
    if nc > cl:
        fail("change block has more changes than atoms")
    h.counter_start = cs
    h.counter_len = cl
    h.lamport_start = ls
    h.lamport_len = ll
    h.n_changes = nc
    r_slice(&r, &h.header)
    r_slice(&r, &h.meta)
    r_slice(&r, &h.cids)
    r_slice(&r, &h.keys)
    r_slice(&r, &h.positions)
    r_slice(&r, &h.ops)
    r_slice(&r, &h.dels)
    r_slice(&r, &h.values)
    r_end(&r, "change block")
    return 0


cdef int parse_header(BlockHead* h, BlockArrays* a) except -1:
    """Peer table, change lengths, deps and lamports (``header``); timestamps and
    message lengths (``change_meta``, whose messages then remain in ``h.meta``)."""
    cdef Reader* r = &h.header
    cdef uint64_t v, np
    cdef Py_ssize_t N = h.n_changes, i
    cdef int64_t total = 0, sum_deps = 0, last_len
    r_uleb(r, &np)
    if np == 0:
        fail("change block has an empty peer table")
    if np > <uint64_t>(reader_remaining(r) // 8):
        fail("peer table runs past the end of the block header")
    h.n_peers = <Py_ssize_t>np
    a.peers = <uint64_t*>xalloc(h.n_peers, sizeof(uint64_t))
    for i in range(h.n_peers):
        if read_u64_le(r, &a.peers[i]) < 0:
            raise_reader_error(r)
    if N - 1 > reader_remaining(r):
        fail("change lengths run past the end of the block header")
    a.ch_start = <int64_t*>xalloc(N + 1, sizeof(int64_t))
    a.ch_start[0] = h.counter_start
    for i in range(N - 1):
        r_uleb(r, &v)
        if v == 0:
            fail("change block holds an empty change")
        if v > <uint64_t>h.counter_len or total + <int64_t>v > h.counter_len:
            fail("change lengths exceed the block's counter range")
        total += <int64_t>v
        a.ch_start[i + 1] = h.counter_start + total
    last_len = h.counter_len - total
    if last_len <= 0:
        fail("change lengths exceed the block's counter range")
    a.ch_start[N] = h.counter_start + h.counter_len
    a.dep_self = <uint8_t*>xalloc(N, sizeof(uint8_t))
    bool_rle_read_n(r, N, a.dep_self)
    a.dep_counts = <int64_t*>xalloc(N, sizeof(int64_t))
    rle_read_n(r, N, VK_ULEB, a.dep_counts)
    for i in range(N):
        # every dependency counter needs at least one bit of the delta-of-delta stream
        if a.dep_counts[i] > 8 * reader_remaining(r) + 1 - sum_deps:
            fail("dependency count runs past the end of the block header")
        sum_deps += a.dep_counts[i]
    h.n_deps = <Py_ssize_t>sum_deps
    a.dep_peers = <int64_t*>xalloc(h.n_deps, sizeof(int64_t))
    rle_read_n(r, h.n_deps, VK_ULEB, a.dep_peers)
    for i in range(h.n_deps):
        if a.dep_peers[i] >= h.n_peers:
            fail("dependency peer index is not in the peer table")
    a.dep_ctrs = <int64_t*>xalloc(h.n_deps, sizeof(int64_t))
    dod_read_n(r, h.n_deps, a.dep_ctrs, 0, INT32_MAX)
    a.lamports = <int64_t*>xalloc(N, sizeof(int64_t))
    dod_read_n(r, N - 1, a.lamports, 0, UINT32_MAX)
    if h.lamport_start + h.lamport_len < last_len:
        fail("change block lamport range is too short")
    a.lamports[N - 1] = h.lamport_start + h.lamport_len - last_len
    r_end(r, "change block header")
    # change_meta
    r = &h.meta
    a.timestamps = <int64_t*>xalloc(N, sizeof(int64_t))
    dod_read_n(r, N, a.timestamps, INT64_MIN, INT64_MAX)
    a.msg_lens = <int64_t*>xalloc(N, sizeof(int64_t))
    rle_read_n(r, N, VK_ULEB, a.msg_lens)
    total = 0
    for i in range(N):
        if a.msg_lens[i] > reader_remaining(r) - total:
            fail("commit messages run past the end of the change metadata")
        total += a.msg_lens[i]
    if total != reader_remaining(r):
        fail("trailing bytes after the commit messages")
    return 0


cdef list decode_keys(Reader* r):
    cdef list keys = []
    cdef Reader s
    while not reader_at_end(r):
        r_slice(r, &s)
        keys.append(utf8_str(s.data, s.len, "a key"))
    return keys


cdef list decode_cids(Reader* r, BlockHead* h, BlockArrays* a, list keys, LoroDoc doc=None):
    cdef uint64_t n, fields, pidx
    cdef uint8_t is_root, kind
    cdef int64_t koc
    cdef Py_ssize_t i
    cdef list out
    r_uleb(r, &n)
    if n > <uint64_t>(reader_remaining(r) // 5):
        fail("container table runs past the end of its section")
    a.cid_kind = <uint8_t*>xalloc(<Py_ssize_t>n, sizeof(uint8_t))
    out = []
    for i in range(<Py_ssize_t>n):
        r_uleb(r, &fields)
        if fields != 4:
            fail("container table row must have 4 fields")
        r_u8(r, &is_root)
        r_u8(r, &kind)
        r_uleb(r, &pidx)
        r_zz(r, &koc)
        if is_root > 1:
            fail("bad boolean in the container table")
        a.cid_kind[i] = kind
        if doc is not None:
            # a container the document already has: reuse its id object (no validation,
            # and dictionary lookups hit by identity)
            if is_root:
                if 0 <= koc < len(keys):
                    cid = doc.cid_by_key.get((keys[koc], kind))
                    if cid is not None:
                        out.append(cid)
                        continue
            elif pidx < <uint64_t>h.n_peers and 0 <= koc <= INT32_MAX:
                cid = doc.cid_by_key.get((a.peers[pidx], koc, kind))
                if cid is not None:
                    out.append(cid)
                    continue
        if is_root:
            if koc < 0 or koc >= len(keys):
                fail("root container name index is out of range")
            try:
                cid = CID_ROOT(keys[koc], container_type(kind))
            except (LoroError, ValueError, TypeError, OverflowError) as e:
                raise DecodeError(f"bad root container: {e}") from None
        else:
            if pidx >= <uint64_t>h.n_peers:
                fail("container peer index is not in the peer table")
            if koc < 0 or koc > INT32_MAX:
                fail("container counter is out of range")
            cid = CID_NORMAL(a.peers[pidx], koc, container_type(kind))
        out.append(cid)
    r_end(r, "container table")
    return out


cdef Py_ssize_t decode_ops_columns(BlockHead* h, BlockArrays* a, Py_ssize_t n_cids,
                                   Py_ssize_t* budget) except -1:
    """The four op columns; returns the op count. Each op costs one unit of the blob's
    ``budget``, which bounds what a tiny block of run-length columns can make us build."""
    cdef Reader cols[4]
    cdef Reader c0
    cdef Py_ssize_t n, cap, got, i
    columnar_vec(&h.ops, 4, cols, "ops")
    cap = DEC_MIN_OPS_CAP + 4 * h.block_len
    if cap > h.counter_len:
        cap = <Py_ssize_t>h.counter_len      # every op takes at least one counter
    if cap > budget[0]:
        cap = budget[0]
    c0 = cols[0]
    n = rle_read_all(&c0, VK_ZZ, NULL, cap)
    budget[0] -= n
    a.col_cidx = <int64_t*>xalloc(n, sizeof(int64_t))
    a.col_prop = <int64_t*>xalloc(n, sizeof(int64_t))
    a.col_tag = <int64_t*>xalloc(n, sizeof(int64_t))
    a.col_len = <int64_t*>xalloc(n, sizeof(int64_t))
    rle_read_all(&cols[0], VK_ZZ, a.col_cidx, n)
    delta_accumulate(a.col_cidx, n, 0, <int64_t>n_cids - 1)
    got = rle_read_all(&cols[1], VK_ZZ, a.col_prop, n)
    if got != n:
        fail("ops columns have different lengths")
    delta_accumulate(a.col_prop, n, -2147483648, INT32_MAX)
    got = rle_read_all(&cols[2], VK_U8, a.col_tag, n)
    if got != n:
        fail("ops columns have different lengths")
    got = rle_read_all(&cols[3], VK_ULEB, a.col_len, n)
    if got != n:
        fail("ops columns have different lengths")
    for i in range(n):
        if a.col_len[i] < 1 or a.col_len[i] > INT32_MAX:
            fail("op length is out of range")
    return n


cdef Py_ssize_t decode_del_columns(BlockHead* h, BlockArrays* a, Py_ssize_t n_ops) except -1:
    cdef Reader cols[3]
    cdef Reader c0
    cdef Py_ssize_t n, got
    if reader_at_end(&h.dels):
        return 0
    columnar_vec(&h.dels, 3, cols, "delete start ids")
    c0 = cols[0]
    n = rle_read_all(&c0, VK_ZZ, NULL, n_ops)
    a.del_peer = <int64_t*>xalloc(n, sizeof(int64_t))
    a.del_ctr = <int64_t*>xalloc(n, sizeof(int64_t))
    a.del_len = <int64_t*>xalloc(n, sizeof(int64_t))
    rle_read_all(&cols[0], VK_ZZ, a.del_peer, n)
    delta_accumulate(a.del_peer, n, 0, h.n_peers - 1)
    got = rle_read_all(&cols[1], VK_ZZ, a.del_ctr, n)
    if got != n:
        fail("delete start id columns have different lengths")
    delta_accumulate(a.del_ctr, n, 0, INT32_MAX)
    got = rle_read_all(&cols[2], VK_ZZ, a.del_len, n)
    if got != n:
        fail("delete start id columns have different lengths")
    delta_accumulate(a.del_len, n, -<int64_t>INT32_MAX, INT32_MAX)
    return n


cdef object read_value(Reader* r, list keys, uint64_t peer, int64_t ctx, int depth, bint top):
    """A nested LoroValue. Containers are rebuilt as ``Normal(peer, ctx)``; the items of
    a top-level list use ``ctx + i``."""
    cdef uint8_t tag, kind
    cdef uint64_t n, kidx
    cdef int64_t iv
    cdef double dv
    cdef Py_ssize_t i
    cdef const unsigned char* p = NULL
    cdef list lst
    cdef dict dct
    if depth > MAX_VALUE_DEPTH:
        fail("value is nested too deeply")
    r_u8(r, &tag)
    if tag == LV_NULL:
        return None
    if tag == LV_TRUE:
        return True
    if tag == LV_FALSE:
        return False
    if tag == LV_I64:
        r_sleb(r, &iv)
        return iv
    if tag == LV_F64:
        if read_f64_be(r, &dv) < 0:
            raise_reader_error(r)
        return dv
    if tag == LV_STR or tag == LV_BINARY:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r):
            fail("string runs past the end of the values")
        read_bytes(r, <Py_ssize_t>n, &p)
        if tag == LV_STR:
            return utf8_str(p, <Py_ssize_t>n, "a string value")
        return PyBytes_FromStringAndSize(<const char*>p, <Py_ssize_t>n)
    if tag == LV_LIST:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r) or n > MAX_COLLECTION:
            fail("list length runs past the end of the values")
        lst = []
        for i in range(<Py_ssize_t>n):
            lst.append(read_value(r, keys, peer, ctx + i if top else ctx, depth + 1, False))
        return lst
    if tag == LV_MAP:
        r_uleb(r, &n)
        if n > <uint64_t>(reader_remaining(r) // 2) or n > MAX_COLLECTION:
            fail("map length runs past the end of the values")
        dct = {}
        for i in range(<Py_ssize_t>n):
            r_uleb(r, &kidx)
            if kidx >= <uint64_t>len(keys):
                fail("map key index is out of range")
            dct[keys[kidx]] = read_value(r, keys, peer, ctx, depth + 1, False)
        return dct
    if tag == LV_CONTAINER:
        r_u8(r, &kind)
        if kind != K_MAP and kind != K_LIST and kind != K_TEXT and kind != K_COUNTER:
            unsupported_kind(kind)
        if ctx > INT32_MAX:
            fail("child container id overflows i32")
        return CID_NORMAL(peer, ctx, container_type(kind))
    fail(f"unknown value tag {tag}")


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


cdef int decode_block(const unsigned char* p, Py_ssize_t n, bint with_ops, list out,
                      Py_ssize_t* budget, LoroDoc doc=None) except -1:
    """Decode one change block. Without `doc`, append its change tuples to ``out`` (ops
    None when ``with_ops`` is False: header-only decoding for blob metadata). With `doc`,
    stage its changes straight into the document's arenas (no per-op Python objects except
    list and map values) and append the block's container ids to ``out`` to keep them alive
    for the rest of the import."""
    cdef BlockHead h
    cdef BlockArrays a
    cdef Py_ssize_t N, i, j, d, n_ops, n_dels, n_cids, del_i = 0, ch = 0, msg_off = 0
    cdef int64_t counter, op_counter, ln, prop, sl
    cdef int kind, tag
    cdef uint64_t peer, slen
    cdef double dv
    cdef int64_t iv
    cdef const unsigned char* sp = NULL
    cdef list keys, cids, deps, ops, all_ops, deps_all, msgs
    cdef bint staging = doc is not None
    cdef bint skip = False
    cdef lc_op* sop
    cdef uint32_t* cdoc = NULL        # container index in `doc` per block cid, lazily
    cdef uint32_t* kdoc = NULL        # key index in `doc` per block key, lazily
    cdef uint32_t* pdoc = NULL        # peer index in `doc` per block peer, lazily
    cdef uint32_t* cps = NULL
    cdef uint32_t cps_stack[256]
    cdef Py_ssize_t ncp
    cdef uint32_t c
    cdef object values
    memset(&a, 0, sizeof(BlockArrays))
    try:
        parse_block_struct(p, n, &h)
        N = h.n_changes
        parse_header(&h, &a)
        peer = a.peers[0]
        py_peer = peer
        # deps and commit messages of every change, checked before the ops
        deps_all = []
        msgs = []
        d = 0
        for i in range(N):
            deps = []
            if a.ch_start[i] > 0 and not a.dep_self[i] and a.dep_counts[i] == 0:
                # a change without deps is a root of the DAG: it must be its peer's first
                fail("a change after counter 0 has no dependencies")
            if a.dep_self[i]:
                if a.ch_start[i] == 0:
                    fail("a change at counter 0 depends on its own peer")
                deps.append((py_peer, a.ch_start[i] - 1))
            for j in range(<Py_ssize_t>a.dep_counts[i]):
                if a.peers[a.dep_peers[d]] == peer and a.dep_ctrs[d] >= a.ch_start[i]:
                    fail("a change depends on a later op of its own peer")
                deps.append((a.peers[a.dep_peers[d]], a.dep_ctrs[d]))
                d += 1
            deps_all.append(deps)
            if a.msg_lens[i] == 0:
                msgs.append(None)
            else:
                msgs.append(utf8_str(h.meta.data + h.meta.pos + msg_off, <Py_ssize_t>a.msg_lens[i],
                                     "a commit message"))
                msg_off += <Py_ssize_t>a.msg_lens[i]
        all_ops = None
        if with_ops:
            keys = decode_keys(&h.keys)
            cids = decode_cids(&h.cids, &h, &a, keys, doc)
            n_cids = len(cids)
            n_ops = decode_ops_columns(&h, &a, n_cids, budget)
            n_dels = decode_del_columns(&h, &a, n_ops)
            if staging:
                out.append(cids)
                values = doc.log.values
                cdoc = <uint32_t*>xalloc(n_cids + 1, sizeof(uint32_t))
                kdoc = <uint32_t*>xalloc(len(keys) + 1, sizeof(uint32_t))
                pdoc = <uint32_t*>xalloc(h.n_peers + 1, sizeof(uint32_t))
                memset(cdoc, 0xFF, (n_cids + 1) * sizeof(uint32_t))
                memset(kdoc, 0xFF, (len(keys) + 1) * sizeof(uint32_t))
                memset(pdoc, 0xFF, (h.n_peers + 1) * sizeof(uint32_t))
            else:
                all_ops = [[] for i in range(N)]
                ops = all_ops[0]
            counter = h.counter_start
            for i in range(n_ops):
                if ch >= N:
                    fail("ops extend past the last change of the block")
                kind = a.cid_kind[a.col_cidx[i]]
                cid = cids[a.col_cidx[i]]
                tag = <int>a.col_tag[i]
                ln = a.col_len[i]
                prop = a.col_prop[i]
                op_counter = counter
                counter += ln
                if counter > a.ch_start[ch + 1]:
                    fail("an op crosses a change boundary")
                if staging and op_counter == a.ch_start[ch]:
                    # the first op of change `ch`: open it (unless it is already pending)
                    skip = stage_begin(doc, peer, <int32_t>a.ch_start[ch], a.ch_start[ch + 1], a.lamports[ch],
                                       a.timestamps[ch], len(deps_all[ch])) < 0
                    if not skip:
                        for dp, dc in deps_all[ch]:
                            stage_dep(doc, dp, dc)
                if staging and not skip and kind != K_TREE and kind != K_MOVABLE_LIST and kind <= K_COUNTER:
                    c = cdoc[a.col_cidx[i]]
                    if c == 0xFFFFFFFF:
                        c = stage_container(doc, cid, OP_COUNTER if kind == K_COUNTER else
                                            (OP_MAP_SET if kind == K_MAP else OP_INSERT))
                        cdoc[a.col_cidx[i]] = c
                if kind == K_TEXT or kind == K_LIST:
                    if tag == V_DELETE_SEQ:
                        if del_i >= n_dels:
                            fail("a delete has no start id row")
                        sl = a.del_len[del_i]
                        if sl == 0 or (sl if sl > 0 else -sl) != ln:
                            fail("delete length does not match its op length")
                        if a.del_ctr[del_i] + ln - 1 > INT32_MAX:
                            fail("delete start id range overflows i32")
                        if prop < 0:
                            fail("negative sequence position")
                        if not staging:
                            op = (OP_DELETE, cid, op_counter, prop, sl,
                                  a.peers[a.del_peer[del_i]], a.del_ctr[del_i])
                        elif not skip:
                            j = a.del_peer[del_i]
                            if pdoc[j] == 0xFFFFFFFF:
                                pdoc[j] = doc.log.peer_index(a.peers[j])
                            sop = stage_op(doc, c, OP_DELETE, <int32_t>op_counter, ln)
                            sop.pos = prop
                            sop.arg = sl
                            sop.start_id = make_id(pdoc[j], <int32_t>a.del_ctr[del_i])
                        del_i += 1
                    elif kind == K_TEXT:
                        if tag == V_STR:
                            r_uleb(&h.values, &slen)
                            if slen > <uint64_t>reader_remaining(&h.values):
                                fail("text insert runs past the end of the values")
                            read_bytes(&h.values, <Py_ssize_t>slen, &sp)
                            if prop < 0:
                                fail("negative sequence position")
                            if not staging:
                                s = utf8_str(sp, <Py_ssize_t>slen, "inserted text")
                                if PyUnicode_GET_LENGTH(s) != ln:
                                    fail("text insert length does not match its op length")
                                op = (OP_INSERT, cid, op_counter, prop, s)
                            else:
                                # at most one code point per byte
                                if slen <= 256:
                                    cps = &cps_stack[0]
                                else:
                                    cps = <uint32_t*>xalloc(<Py_ssize_t>slen, sizeof(uint32_t))
                                try:
                                    if slen < NOGIL_MIN_BYTES:
                                        ncp = utf8_to_cps(sp, <Py_ssize_t>slen, cps)
                                    else:
                                        # sp points into the blob (immutable), cps is ours
                                        with nogil:
                                            ncp = utf8_to_cps(sp, <Py_ssize_t>slen, cps)
                                    if ncp < 0:
                                        fail("inserted text is not valid UTF-8")
                                    if ncp != ln:
                                        fail("text insert length does not match its op length")
                                    if not skip:
                                        sop = stage_op(doc, c, OP_INSERT, <int32_t>op_counter, ln)
                                        sop.pos = prop
                                        if not stage_dropped(doc, sop):
                                            sop.arg = doc.seq.append_text(cps, ncp)
                                finally:
                                    if cps != &cps_stack[0]:
                                        free(cps)
                                    cps = NULL
                        elif tag == V_MARK_START or tag == V_NULL:
                            fail("rich text marks (StyleStart/StyleEnd) are not supported by loro_c yet")
                        else:
                            fail(f"value kind {tag} is not valid for a Text op")
                    else:
                        if tag != V_LORO_VALUE:
                            fail(f"value kind {tag} is not valid for a List op")
                        if reader_at_end(&h.values) or h.values.data[h.values.pos] != LV_LIST:
                            fail("a list insert must hold a list of values")
                        v = read_value(&h.values, keys, peer, op_counter, 0, True)
                        if len(v) != ln:
                            fail("list insert length does not match its op length")
                        if prop < 0:
                            fail("negative sequence position")
                        if not staging:
                            op = (OP_INSERT, cid, op_counter, prop, v)
                        elif not skip:
                            sop = stage_op(doc, c, OP_INSERT, <int32_t>op_counter, ln)
                            sop.pos = prop
                            if not stage_dropped(doc, sop):
                                sop.arg = len(values)
                                for j, x in enumerate(v):
                                    stage_value(doc, x, py_peer, op_counter + j)
                                values.extend(v)
                elif kind == K_MAP:
                    if ln != 1:
                        fail("a map op must have length 1")
                    if prop < 0 or prop >= len(keys):
                        fail("map key index is out of range")
                    if tag == V_LORO_VALUE:
                        v = read_value(&h.values, keys, peer, op_counter, 0, True)
                        if not staging:
                            op = (OP_MAP_SET, cid, op_counter, keys[prop], v)
                        elif not skip:
                            if kdoc[prop] == 0xFFFFFFFF:
                                kdoc[prop] = doc.log.key_index(keys[prop])
                            sop = stage_op(doc, c, OP_MAP_SET, <int32_t>op_counter, 1)
                            sop.pos = kdoc[prop]
                            if not stage_dropped(doc, sop):
                                stage_value(doc, v, py_peer, op_counter)
                                sop.arg = len(values)
                                values.append(v)
                    elif tag == V_DELETE_ONCE:
                        if not staging:
                            op = (OP_MAP_DELETE, cid, op_counter, keys[prop])
                        elif not skip:
                            if kdoc[prop] == 0xFFFFFFFF:
                                kdoc[prop] = doc.log.key_index(keys[prop])
                            sop = stage_op(doc, c, OP_MAP_DELETE, <int32_t>op_counter, 1)
                            sop.pos = kdoc[prop]
                            sop.arg = -1
                    else:
                        fail(f"value kind {tag} is not valid for a Map op")
                elif kind == K_COUNTER:
                    if ln != 1:
                        fail("a counter op must have length 1")
                    if tag == V_I64:
                        r_sleb(&h.values, &iv)
                        dv = <double>iv
                    elif tag == V_F64:
                        if read_f64_be(&h.values, &dv) < 0:
                            raise_reader_error(&h.values)
                    else:
                        fail(f"value kind {tag} is not valid for a Counter op")
                    if not staging:
                        op = (OP_COUNTER, cid, op_counter, dv)
                    elif not skip:
                        sop = stage_op(doc, c, OP_COUNTER, <int32_t>op_counter, 1)
                        sop.delta = dv
                else:
                    unsupported_kind(kind)
                if not staging:
                    ops.append(op)
                if counter == a.ch_start[ch + 1]:
                    if staging and not skip:
                        stage_end(doc, msgs[ch])
                    ch += 1
                    if ch < N and not staging:
                        ops = all_ops[ch]
            if ch != N:
                fail("the ops do not cover every change of the block")
            if del_i != n_dels:
                fail("unused delete start ids")
            r_end(&h.values, "op values")
            if not reader_at_end(&h.positions):
                fail("tree positions in a block without tree ops")
        if not staging:
            for i in range(N):
                if with_ops:
                    out.append((py_peer, a.ch_start[i], a.lamports[i], a.timestamps[i], msgs[i],
                                deps_all[i], all_ops[i]))
                else:
                    out.append((py_peer, a.ch_start[i], a.lamports[i], a.timestamps[i], msgs[i],
                                deps_all[i], None, a.ch_start[i + 1]))
    finally:
        arrays_free(&a)
        free(cdoc)
        free(kdoc)
        free(pdoc)
    return 0


# ---------------------------------------------------------------------------
# envelope, updates body, snapshot body
# ---------------------------------------------------------------------------

cdef int parse_envelope(bytes data, bint check_checksum, uint16_t* mode, Reader* body) except -1:
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef uint32_t stored
    if n < 22:
        fail("blob is shorter than the 22-byte header")
    if memcmp(p, b"loro", 4) != 0:
        fail("bad magic bytes: not a Loro blob")
    if check_checksum:
        stored = _le32(p + 16)
        if stored != xxh32_released(p + 20, n - 20, LORO_SEED):
            fail("checksum mismatch: the data is corrupted")
    mode[0] = (<uint16_t>p[20] << 8) | p[21]
    reader_init(body, p + 22, n - 22)
    return 0


cdef int check_mode(uint16_t mode) except -1:
    if mode == 1 or mode == 2:
        fail("outdated Loro encodings (modes 1 and 2) are not supported")
    if mode != MODE_UPDATES and mode != MODE_SNAPSHOT:
        fail(f"unknown encoding mode {mode}")
    return 0


cdef int decode_updates_body(Reader* body, bint with_ops, list out, Py_ssize_t* budget,
                             LoroDoc doc=None) except -1:
    cdef Reader blk
    while not reader_at_end(body):
        r_slice(body, &blk)
        if blk.len == 0:
            fail("empty change block")
        decode_block(blk.data, blk.len, with_ops, out, budget, doc)
    return 0


cdef list snapshot_state_roots(Reader* body):
    """Root container ids named by the state section of a mode-3 body (none when the state
    was left out)."""
    cdef Reader secs[3]
    cdef list roots = []
    snapshot_sections(body, secs)
    if secs[1].len == 1 and secs[1].data[0] == 0x45:     # "E": no state section
        return roots
    for key, value in sst_entries(&secs[1]):
        if key == b"fr" or not key or not (key[0] & 0x80):
            continue
        cid = _types.ContainerID.from_bytes(key)
        if _TYPE_NAMES[kind_of_type(cid.container_type)] in ("Tree", "MovableList"):
            continue
        roots.append(cid)
    return roots


cdef int snapshot_sections(Reader* body, Reader* secs) except -1:
    cdef uint32_t n = 0
    cdef int i
    for i in range(3):
        if read_u32_le(body, &n) < 0:
            raise_reader_error(body)
        r_fixed_slice(body, <Py_ssize_t>n, &secs[i])
    r_end(body, "the snapshot sections")
    return 0


# -- LZ4 frame decoding (SSTable block bodies) --------------------------------

cdef int lz4_block(const unsigned char* src, Py_ssize_t n, Writer* out, Py_ssize_t window_start,
                   Py_ssize_t limit) except -1:
    """Decompress one raw LZ4 block, appending to ``out`` (at most ``limit`` bytes in total).
    Matches may reach back to ``window_start``. Large blocks run with the GIL released:
    the input is the caller's immutable bytes and ``out`` is private to the call."""
    cdef const char* err
    if n < NOGIL_MIN_BYTES:
        err = lz4_block_c(src, n, out, window_start, limit)
    else:
        with nogil:
            err = lz4_block_c(src, n, out, window_start, limit)
    if err == NULL:
        return 0
    if err == LZ4_OOM:
        return raise_writer_error(out)
    return fail((<bytes>err).decode("ascii"))


cdef const char* LZ4_OOM = "out of memory while decompressing"


cdef const char* lz4_block_c(const unsigned char* src, Py_ssize_t n, Writer* out,
                             Py_ssize_t window_start, Py_ssize_t limit) noexcept nogil:
    """lz4_block's loop: NULL on success, else the error message (LZ4_OOM when a write
    failed)."""
    cdef Py_ssize_t i = 0, lit, ml, off, k, src_pos
    cdef uint8_t tok, b
    while True:
        if i >= n:
            return "truncated LZ4 block"
        tok = src[i]
        i += 1
        lit = tok >> 4
        if lit == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 literal length"
                b = src[i]
                i += 1
                lit += b
                if lit > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        if lit > n - i:
            return "truncated LZ4 literals"
        if lit > limit - out.len:
            return "LZ4 output exceeds its limit"
        if write_bytes(out, src + i, lit) < 0:
            return LZ4_OOM
        i += lit
        if i == n:
            return NULL
        if n - i < 2:
            return "truncated LZ4 match offset"
        off = src[i] | (<Py_ssize_t>src[i + 1] << 8)
        i += 2
        if off == 0 or off > out.len - window_start:
            return "bad LZ4 match offset"
        ml = tok & 15
        if ml == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 match length"
                b = src[i]
                i += 1
                ml += b
                if ml > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        ml += 4
        if ml > limit - out.len:
            return "LZ4 output exceeds its limit"
        if writer_reserve(out, ml) < 0:
            return LZ4_OOM
        src_pos = out.len - off
        for k in range(ml):
            out.data[out.len] = out.data[src_pos + k]
            out.len += 1


cdef bytes lz4_frame(const unsigned char* p, Py_ssize_t n, Py_ssize_t limit):
    cdef Reader r
    cdef uint32_t magic = 0, info = 0, size, ck = 0
    cdef uint8_t flg, bd, hc
    cdef Py_ssize_t block_max, desc_start, start, i
    cdef uint64_t content_size = 0
    cdef const unsigned char* blk = NULL
    cdef Writer w
    cdef bint independent, block_ck, content_ck, has_size
    reader_init(&r, p, n)
    if read_u32_le(&r, &magic) < 0:
        raise_reader_error(&r)
    if magic != 0x184D2204:
        fail("bad LZ4 frame magic")
    desc_start = r.pos
    r_u8(&r, &flg)
    r_u8(&r, &bd)
    if (flg >> 6) != 1 or (flg & 0x02) or (flg & 0x01):
        fail("unsupported LZ4 frame flags")
    if (bd & 0x8F) or ((bd >> 4) & 7) < 4:
        fail("bad LZ4 block descriptor")
    block_max = 1 << (8 + 2 * ((bd >> 4) & 7))
    independent = (flg & 0x20) != 0
    block_ck = (flg & 0x10) != 0
    has_size = (flg & 0x08) != 0
    content_ck = (flg & 0x04) != 0
    if has_size:
        if read_u64_le(&r, &content_size) < 0:
            raise_reader_error(&r)
    r_u8(&r, &hc)
    if hc != ((c_xxh32(p + desc_start, r.pos - 1 - desc_start, 0) >> 8) & 0xFF):
        fail("LZ4 frame header checksum mismatch")
    if writer_init(&w, 256) < 0:
        raise_writer_error(&w)
    try:
        while True:
            if read_u32_le(&r, &info) < 0:
                raise_reader_error(&r)
            if info == 0:
                break
            size = info & 0x7FFFFFFF
            if size > <uint32_t>block_max or size > <uint32_t>reader_remaining(&r):
                fail("bad LZ4 data block size")
            read_bytes(&r, <Py_ssize_t>size, &blk)
            if block_ck:
                if read_u32_le(&r, &ck) < 0:
                    raise_reader_error(&r)
                if ck != xxh32_released(blk, size, 0):
                    fail("LZ4 block checksum mismatch")
            start = w.len
            if info & 0x80000000:
                if <Py_ssize_t>size > limit - w.len:
                    fail("LZ4 output exceeds its limit")
                if write_bytes(&w, blk, size) < 0:
                    raise_writer_error(&w)
            else:
                lz4_block(blk, size, &w, start if independent else 0,
                          min(limit, start + block_max))
        if content_ck:
            if read_u32_le(&r, &ck) < 0:
                raise_reader_error(&r)
            if ck != xxh32_released(w.data, w.len, 0):
                fail("LZ4 content checksum mismatch")
        if has_size and content_size != <uint64_t>w.len:
            fail("LZ4 content size mismatch")
        r_end(&r, "the LZ4 frame")
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


# -- SSTable ----------------------------------------------------------------------

cdef int sst_block_entries(bytes body, bytes first_key, list out) except -1:
    """Entries of a normal SSTable block body (already decompressed)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(body), cnt, data_end, i, off, end, pl, sl
    cdef bytes prev = None
    if n < 2:
        fail("SSTable block is too short")
    cnt = p[n - 2] | (<Py_ssize_t>p[n - 1] << 8)
    if cnt == 0 or 2 * (cnt + 1) > n:
        fail("bad SSTable block entry count")
    data_end = n - 2 * (cnt + 1)
    if data_end > 0xFFFF:
        fail("SSTable block is too large")
    for i in range(cnt):
        off = p[data_end + 2 * i] | (<Py_ssize_t>p[data_end + 2 * i + 1] << 8)
        if i + 1 < cnt:
            end = p[data_end + 2 * i + 2] | (<Py_ssize_t>p[data_end + 2 * i + 3] << 8)
        else:
            end = data_end
        if (i == 0 and off != 0) or off > end or end > data_end:
            fail("bad SSTable entry offsets")
        if i == 0:
            key = first_key
            value = PyBytes_FromStringAndSize(<const char*>p + off, end - off)
        else:
            if end - off < 3:
                fail("truncated SSTable entry")
            pl = p[off]
            sl = p[off + 1] | (<Py_ssize_t>p[off + 2] << 8)
            if pl > len(first_key) or sl > end - off - 3:
                fail("bad SSTable entry key")
            key = first_key[:pl] + PyBytes_FromStringAndSize(<const char*>p + off + 3, sl)
            value = PyBytes_FromStringAndSize(<const char*>p + off + 3 + sl, end - off - 3 - sl)
        if not key or (prev is not None and prev >= key):
            fail("SSTable keys are not strictly increasing")
        prev = key
        out.append((key, value))
    return 0


cdef list sst_entries(Reader* sec):
    """All ``(key, value)`` pairs of an SSTable section (empty section: no entries)."""
    cdef const unsigned char* p = sec.data
    cdef Py_ssize_t n = sec.len, meta_off, nblocks, i, off, end, klen
    cdef Reader m
    cdef uint32_t v32 = 0
    cdef uint16_t v16 = 0
    cdef uint8_t flags
    cdef list metas = [], out = []
    cdef const unsigned char* kp = NULL
    if n == 0:
        return out
    if n < 9 or memcmp(p, b"LORO", 4) != 0:
        fail("bad SSTable magic")
    if p[4] != 0:
        fail("unsupported SSTable schema version")
    meta_off = _le32(p + n - 4)
    if meta_off < 5 or meta_off >= n - 4:
        fail("bad SSTable metadata offset")
    reader_init(&m, p + meta_off, n - 4 - meta_off)
    if read_u32_le(&m, &v32) < 0:
        raise_reader_error(&m)
    nblocks = v32
    if nblocks == 0 or nblocks > MAX_SST_BLOCKS or nblocks * 7 > reader_remaining(&m) - 4:
        fail("bad SSTable block count")
    if xxh32_released(m.data + 4, m.len - 8, LORO_SEED) != _le32(m.data + m.len - 4):
        fail("SSTable metadata checksum mismatch")
    m.len -= 4
    for i in range(nblocks):
        if read_u32_le(&m, &v32) < 0:
            raise_reader_error(&m)
        off = v32
        klen = 0
        if read_u16_le_(&m, &v16) < 0:
            raise_reader_error(&m)
        if v16 > reader_remaining(&m):
            fail("truncated SSTable metadata")
        read_bytes(&m, v16, &kp)
        first_key = PyBytes_FromStringAndSize(<const char*>kp, v16)
        r_u8(&m, &flags)
        last_key = None
        if not (flags & 0x80):
            if read_u16_le_(&m, &v16) < 0:
                raise_reader_error(&m)
            if v16 > reader_remaining(&m):
                fail("truncated SSTable metadata")
            read_bytes(&m, v16, &kp)
            last_key = PyBytes_FromStringAndSize(<const char*>kp, v16)
        if (flags & 0x7F) > 1:
            fail("unknown SSTable compression type")
        metas.append((off, first_key, flags, last_key))
    r_end(&m, "the SSTable metadata")
    for i in range(nblocks):
        off, first_key, flags, last_key = metas[i]
        end = metas[i + 1][0] if i + 1 < nblocks else meta_off
        if off < 5 or end > meta_off or off >= end or end - off < 4:
            fail("bad SSTable block range")
        if xxh32_released(p + off, end - off - 4, LORO_SEED) != _le32(p + end - 4):
            fail("SSTable block checksum mismatch")
        if flags & 0x7F:
            body = lz4_frame(p + off, end - off - 4,
                             (255 * (end - off) + 65536) if (flags & 0x80) else 3 * 65536 + 2)
        else:
            body = PyBytes_FromStringAndSize(<const char*>p + off, end - off - 4)
        start = len(out)
        if flags & 0x80:
            if not first_key or (out and out[len(out) - 1][0] >= first_key):
                fail("SSTable keys are not strictly increasing")
            out.append((first_key, body))
        else:
            sst_block_entries(body, first_key, out)
            if (start > 0 and out[start - 1][0] >= out[start][0]) or out[len(out) - 1][0] != last_key:
                fail("SSTable block keys do not match their metadata")
    return out


cdef inline int read_u16_le_(Reader* r, uint16_t* out) noexcept nogil:
    if r.len - r.pos < 2:
        return reader_fail(r, "unexpected end of input")
    out[0] = r.data[r.pos] | (<uint16_t>r.data[r.pos + 1] << 8)
    r.pos += 2
    return 0


cdef object decode_vv_bytes(bytes b, str what):
    cdef Reader r
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    vv = vv_read(&r)
    r_end(&r, what)
    return vv


cdef object decode_frontiers_bytes(bytes b, str what):
    cdef Reader r
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    f = frontiers_read(&r)
    r_end(&r, what)
    return f


cdef tuple decode_snapshot_oplog(Reader* body, bint with_ops, list out, Py_ssize_t* budget):
    """Changes of the oplog section of a mode-3 body. Returns (is_shallow, kv dict of the
    non-block keys)."""
    cdef Reader secs[3]
    cdef Py_ssize_t before
    cdef const unsigned char* kp
    cdef uint64_t kpeer
    cdef int64_t kctr
    cdef int j
    snapshot_sections(body, secs)
    shallow = secs[2].len > 0
    meta = {}
    for key, value in sst_entries(&secs[0]):
        if len(key) == 12:
            kp = <const unsigned char*>PyBytes_AS_STRING(key)
            kpeer = 0
            for j in range(8):
                kpeer = (kpeer << 8) | kp[j]
            kctr = (<int64_t>kp[8] << 24) | (<int64_t>kp[9] << 16) | (<int64_t>kp[10] << 8) | kp[11]
            before = len(out)
            decode_block(<const unsigned char*>PyBytes_AS_STRING(value), len(value), with_ops, out,
                         budget)
            if out[before][0] != kpeer or out[before][1] != kctr:
                fail("snapshot change block does not match its key")
        elif key in (b"vv", b"fr", b"sv", b"sf"):
            meta[key] = value
        else:
            fail(f"unknown key {key!r} in the snapshot oplog")
    if b"sv" in meta or b"sf" in meta:
        shallow = True
    return shallow, meta


cdef int check_snapshot_vv(list changes, dict meta) except -1:
    """The oplog's "vv" entry must equal the end of its change blocks."""
    cdef dict ends = {}
    if b"vv" not in meta:
        fail("snapshot oplog has no version vector")
    vv = decode_vv_bytes(meta[b"vv"], "the snapshot version vector")
    for ch in changes:
        end = ch[1] + _change_len(ch)
        if ends.get(ch[0], 0) < end:
            ends[ch[0]] = end
    if (<VersionVector>vv)._map != ends:
        fail("snapshot version vector does not match its change blocks")
    return 0


cdef object _change_len(tuple ch):
    """Atom length of a decoded change (ops decoded)."""
    cdef int64_t total = 0
    for op in ch[6]:
        total += _op_len(op)
    return total


cdef int64_t _op_len(tuple op) except -1:
    k = op[0]
    if k == OP_INSERT:
        return len(op[4])
    if k == OP_DELETE:
        return abs(op[4])
    return 1


def stage_blobs(LoroDoc doc, list blobs, bint fresh=False):
    """Stage the changes of every blob into `doc` (the import pipeline applies them). With
    `fresh` (an empty document), a snapshot's root containers are registered and shown too."""
    cdef uint16_t mode
    cdef Reader body
    cdef Py_ssize_t budget
    cdef list alive = []          # block container ids, alive until the import ends
    for data in blobs:
        if not isinstance(data, bytes):
            raise LoroValueError(f"a blob must be bytes, not {type(data).__name__}")
        parse_envelope(data, True, &mode, &body)
        check_mode(mode)
        if mode == MODE_UPDATES:
            budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
            decode_updates_body(&body, True, alive, &budget, doc)
        else:
            for raw in decode_updates(data):
                stage_tuple(doc, raw)
            if fresh:
                # only the first snapshot loads into the empty document (the rest are history)
                fresh = False
                parse_envelope(data, False, &mode, &body)
                for cid in snapshot_state_roots(&body):
                    doc.show_root(doc.container_index(cid, kind_of_type(cid.container_type)))
    return None


def decode_updates(bytes data not None):
    """Change tuples of a mode-4 (updates) blob, or of the history inside a mode-3
    (snapshot) blob. Raises DecodeError on anything malformed or unsupported."""
    cdef uint16_t mode
    cdef Reader body
    cdef list out = []
    cdef Py_ssize_t budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
    parse_envelope(data, True, &mode, &body)
    check_mode(mode)
    if mode == MODE_UPDATES:
        decode_updates_body(&body, True, out, &budget)
    else:
        shallow, meta = decode_snapshot_oplog(&body, True, out, &budget)
        if shallow:
            fail("shallow snapshots are not supported by loro_c yet")
        check_snapshot_vv(out, meta)
    return out


# ---------------------------------------------------------------------------
# blob metadata
# ---------------------------------------------------------------------------

def decode_blob_meta(bytes data not None, check_checksum=True):
    """``ImportBlobMetadata`` of a blob, computed as Loro does."""
    cdef uint16_t mode
    cdef Reader body
    cdef list changes = []
    cdef dict start = {}, end = {}, front = {}
    cdef VersionVector start_vv
    cdef Py_ssize_t budget = 0      # header-only decoding reads no ops
    parse_envelope(data, bool(check_checksum), &mode, &body)
    check_mode(mode)
    if mode == MODE_UPDATES:
        decode_updates_body(&body, False, changes, &budget)
        changes = sorted(changes, key=lambda c: c[2])   # stable: equal lamports keep blob order
        for ch in changes:
            peer, ctr = ch[0], ch[1]
            e = ch[7]
            if peer not in start or start[peer] > ctr:
                start[peer] = ctr
            if peer not in end or end[peer] < e:
                end[peer] = e
        for ch in changes:
            for dp, dc in ch[5]:
                if dp in start:
                    if start[dp] > dc:
                        _front_push(front, dp, dc)
                elif dp not in end:
                    _front_push(front, dp, dc)
        start_vv = vv_wrap({p: c for p, c in start.items() if c > 0})
        # loro lists peers whose first change starts at 0 as {peer: 0}
        start_vv._zeros = frozenset(p for p, c in start.items() if c == 0) or None
        return _types.ImportBlobMetadata(
            start_vv,
            vv_wrap({p: c for p, c in end.items() if c > 0}),
            changes[0][3] if changes else 0,
            frontiers_wrap(sorted(front.items())),
            changes[len(changes) - 1][3] if changes else 0,
            len(changes),
            _types.EncodedBlobMode.Updates,
        )
    shallow, meta = decode_snapshot_oplog(&body, False, changes, &budget)
    if b"vv" not in meta or b"fr" not in meta:
        fail("snapshot oplog has no version")
    end_vv = decode_vv_bytes(meta[b"vv"], "the snapshot version vector")
    end_f = decode_frontiers_bytes(meta[b"fr"], "the snapshot frontiers")
    if b"sv" in meta:
        start_vv = decode_vv_bytes(meta[b"sv"], "the snapshot start version vector")
    else:
        start_vv = VersionVector()
    if b"sf" in meta:
        start_f = decode_frontiers_bytes(meta[b"sf"], "the snapshot start frontiers")
    else:
        start_f = Frontiers()
    return _types.ImportBlobMetadata(
        start_vv, end_vv,
        _timestamp_at(changes, start_f, False),
        start_f,
        _timestamp_at(changes, end_f, True),
        len(changes),
        _types.EncodedBlobMode.ShallowSnapshot if shallow else _types.EncodedBlobMode.Snapshot,
    )


cdef int _front_push(dict front, object peer, object ctr) except -1:
    """Add a dependency to the start frontiers (greatest counter per peer, as Loro)."""
    old = front.get(peer)
    if old is None or old < ctr:
        front[peer] = ctr
    return 0


cdef object _timestamp_at(list changes, Frontiers f, bint must_exist):
    best = 0
    for peer, ctr in f._ids:
        found = False
        for ch in changes:
            if ch[0] == peer and ch[1] <= ctr < ch[7]:
                found = True
                if ch[3] > best:
                    best = ch[3]
                break
        if must_exist and not found:
            fail("snapshot frontiers name an op outside its change blocks")
    return best


# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------

ctypedef struct I64Vec:
    int64_t* data
    Py_ssize_t len
    Py_ssize_t cap


cdef int vec_push(I64Vec* v, int64_t x) except -1:
    cdef int64_t* p
    cdef Py_ssize_t cap
    if v.len == v.cap:
        cap = v.cap * 2 if v.cap else 16
        p = <int64_t*>realloc(v.data, cap * sizeof(int64_t))
        if p == NULL:
            raise MemoryError("loro_c: out of memory while encoding")
        v.data = p
        v.cap = cap
    v.data[v.len] = x
    v.len += 1
    return 0


cdef void vec_free(I64Vec* v) noexcept nogil:
    free(v.data)
    v.data = NULL
    v.len = v.cap = 0


cdef inline int wchk(Writer* w, int rc) except -1:
    if rc < 0:
        raise_writer_error(w)
    return 0


cdef inline int enc_value_rle(Writer* w, int vkind, int64_t v) except -1:
    if vkind == VK_U8:
        return wchk(w, write_u8(w, <uint8_t>v))
    if vkind == VK_ULEB:
        return wchk(w, write_uleb64(w, <uint64_t>v))
    return wchk(w, write_zigzag64(w, v))


cdef int enc_rle(Writer* w, const int64_t* v, Py_ssize_t n, int vkind) except -1:
    """AnyRle: runs for repeated values, literal segments otherwise."""
    cdef Py_ssize_t i = 0, j, k
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
            for k in range(i, j):
                enc_value_rle(w, vkind, v[k])
            i = j
    return 0


cdef int enc_delta_rle(Writer* w, const int64_t* v, Py_ssize_t n) except -1:
    cdef int64_t* d = <int64_t*>xalloc(n, sizeof(int64_t))
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


cdef int enc_bool_rle(Writer* w, const uint8_t* v, Py_ssize_t n) except -1:
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


cdef int bw_put(BitWriter* b, uint64_t value, int count) except -1:
    cdef int i
    for i in range(count - 1, -1, -1):
        b.cur = (b.cur << 1) | <uint8_t>((value >> i) & 1)
        b.used += 1
        if b.used == 8:
            wchk(b.w, write_u8(b.w, b.cur))
            b.cur = 0
            b.used = 0
    return 0


cdef int enc_dod(Writer* w, const int64_t* v, Py_ssize_t n) except -1:
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


cdef int w_section(Writer* w, Writer* sec) except -1:
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


MAX_OPS_PER_BLOCK = ENC_MAX_OPS_PER_BLOCK   # LoroDoc cuts DocOps ranges to this size


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


cdef int enc_counter(Writer* values, I64Vec* tags, double dv) except -1:
    """A counter delta: I64 when it is a whole number below 2**27, else F64 (as Loro)."""
    if -134217728.0 < dv < 134217728.0 and dv == <double>(<int64_t>dv):
        vec_push(tags, V_I64)
        return wchk(values, write_sleb64(values, <int64_t>dv))
    vec_push(tags, V_F64)
    return wchk(values, write_f64_be(values, dv))


cdef class _Registers:
    """Per-block registers: peers, keys and containers in first-use order."""
    cdef dict peer_idx
    cdef list peers
    cdef dict key_idx
    cdef list keys
    cdef dict cid_idx
    cdef list cids

    def __cinit__(self):
        self.peer_idx = {}
        self.peers = []
        self.key_idx = {}
        self.keys = []
        self.cid_idx = {}
        self.cids = []

    cdef Py_ssize_t peer(self, object p) except -1:
        i = self.peer_idx.get(p)
        if i is None:
            i = self.peer_idx[p] = len(self.peers)
            self.peers.append(p)
        return i

    cdef Py_ssize_t key(self, str k) except -1:
        i = self.key_idx.get(k)
        if i is None:
            i = self.key_idx[k] = len(self.keys)
            self.keys.append(k)
        return i

    cdef Py_ssize_t cid(self, object c) except -1:
        i = self.cid_idx.get(c)
        if i is None:
            i = self.cid_idx[c] = len(self.cids)
            self.cids.append(c)
        return i


cdef int enc_value(Writer* w, object v, _Registers reg, object peer, int64_t ctx, int depth,
                   bint top) except -1:
    """Nested LoroValue (tag byte + payload)."""
    cdef double d
    cdef int64_t i
    cdef Py_ssize_t k
    t = type(v)
    if depth > MAX_VALUE_DEPTH:
        raise LoroValueError("value is nested too deeply to encode")
    if v is None:
        return wchk(w, write_u8(w, LV_NULL))
    if t is bool:
        return wchk(w, write_u8(w, LV_TRUE if v else LV_FALSE))
    if isinstance(v, int) and t is not bool:
        if not (-(1 << 63) <= v < (1 << 63)):
            raise LoroValueError(f"integer {v} does not fit in i64")
        wchk(w, write_u8(w, LV_I64))
        return wchk(w, write_sleb64(w, <int64_t>v))
    if isinstance(v, float):
        d = v
        wchk(w, write_u8(w, LV_F64))
        return wchk(w, write_f64_be(w, d))
    if isinstance(v, str):
        wchk(w, write_u8(w, LV_STR))
        return w_str(w, v)
    if isinstance(v, bytes):
        wchk(w, write_u8(w, LV_BINARY))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        return wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(v), len(v)))
    if isinstance(v, list):
        wchk(w, write_u8(w, LV_LIST))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        for k in range(len(v)):
            enc_value(w, v[k], reg, peer, ctx + k if top else ctx, depth + 1, False)
        return 0
    if isinstance(v, dict):
        wchk(w, write_u8(w, LV_MAP))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        for key, x in v.items():
            if not isinstance(key, str):
                raise LoroValueError("map keys must be strings")
            wchk(w, write_uleb64(w, <uint64_t>reg.key(key)))
            enc_value(w, x, reg, peer, ctx, depth + 1, False)
        return 0
    if isinstance(v, _types.ContainerID):
        if (not isinstance(v, CID_NORMAL) or v.peer != peer or v.counter != ctx):
            raise LoroValueError(f"child container {v} is not the one created by op {ctx}@{peer}")
        wchk(w, write_u8(w, LV_CONTAINER))
        return wchk(w, write_u8(w, <uint8_t>v.container_type.kind))
    raise LoroValueError(f"cannot encode a value of type {t.__name__}")


cdef int64_t enc_op_len(tuple op) except -1:
    kind = op[0]
    if kind == OP_INSERT:
        return len(op[4])
    if kind == OP_DELETE:
        return abs(op[4])
    return 1


_PEER_COUNTER = operator.itemgetter(0, 1)


cdef list split_changes(list changes):
    """Sort by (peer, counter) and cut changes with more than ENC_MAX_OPS_PER_BLOCK ops
    into consecutive pieces (each piece depends on the previous one)."""
    cdef list out = []
    cdef Py_ssize_t i, n
    for ch in sorted(changes, key=_PEER_COUNTER):
        peer, counter, lamport, ts, msg, deps, ops = ch
        n = len(ops)
        if n == 0:
            raise LoroValueError(f"change {counter}@{peer} has no ops")
        if n <= ENC_MAX_OPS_PER_BLOCK:
            out.append(ch)
            continue
        for i in range(0, n, ENC_MAX_OPS_PER_BLOCK):
            part = ops[i:i + ENC_MAX_OPS_PER_BLOCK]
            c0 = part[0][2]
            if i == 0:
                out.append((peer, c0, lamport, ts, msg, deps, part))
            else:
                out.append((peer, c0, lamport + (c0 - counter), ts, msg, [(peer, c0 - 1)], part))
    return out


cdef int64_t gather_doc_ops(DocOps rng, int64_t counter, _Registers reg, object peer,
                            I64Vec* c_cidx, I64Vec* c_prop, I64Vec* c_tag, I64Vec* c_len,
                            I64Vec* d_peer, I64Vec* d_ctr, I64Vec* d_len,
                            Writer* values) except -1:
    """Fill the op columns of a block straight from a document's op arena; returns the
    counter after the range."""
    cdef LoroDoc doc = rng.doc
    cdef lc_op o
    cdef int64_t last_c = -1
    cdef Py_ssize_t last_idx = 0
    cdef list vals = doc.log.values
    cdef list keys = doc.log.keys
    while rng.next_op(&o):
        if o.counter != counter:
            raise LoroValueError(f"op counter {o.counter} does not follow {counter}")
        if o.container != last_c:
            last_c = o.container
            last_idx = reg.cid(doc.cids[o.container])
        vec_push(c_cidx, last_idx)
        if o.kind == OP_INSERT:
            vec_push(c_prop, o.pos)
            if doc.ckind[o.container] == K_TEXT:
                vec_push(c_tag, V_STR)
                w_cps_utf8(values, &doc.seq.text[o.arg], o.len)
            else:
                vec_push(c_tag, V_LORO_VALUE)
                enc_value(values, vals[o.arg:o.arg + o.len], reg, peer, counter, 0, True)
        elif o.kind == OP_DELETE:
            vec_push(c_prop, o.pos)
            vec_push(c_tag, V_DELETE_SEQ)
            vec_push(d_peer, reg.peer(doc.log.peer_ids[o.start_id.peer]))
            vec_push(d_ctr, o.start_id.counter)
            vec_push(d_len, o.arg)
        elif o.kind == OP_MAP_SET:
            vec_push(c_prop, reg.key(keys[o.pos]))
            vec_push(c_tag, V_LORO_VALUE)
            enc_value(values, vals[o.arg], reg, peer, counter, 0, True)
        elif o.kind == OP_MAP_DELETE:
            vec_push(c_prop, reg.key(keys[o.pos]))
            vec_push(c_tag, V_DELETE_ONCE)
        else:
            vec_push(c_prop, 0)
            enc_counter(values, c_tag, o.delta)
        vec_push(c_len, o.len)
        counter += o.len
    return counter


cdef int encode_block(Writer* out, list block) except -1:
    """One change block (all changes of one peer, contiguous counters)."""
    cdef _Registers reg = _Registers()
    cdef Writer header, meta, cids, keys, ops, dels, values, tmp
    cdef I64Vec c_cidx, c_prop, c_tag, c_len, d_peer, d_ctr, d_len
    cdef I64Vec lens, lamports, timestamps, msg_lens, dep_counts, dep_peers, dep_ctrs
    cdef uint8_t* dep_self = NULL
    cdef Py_ssize_t i, n = len(block)
    cdef int64_t counter, ln, first_counter, end_counter, first_lamport, last_end_lamport
    cdef double dv
    cdef int kind
    cdef Py_ssize_t last_idx = 0
    cdef list msgs = []
    cdef Writer* ws[8]
    memset(&c_cidx, 0, sizeof(I64Vec)); memset(&c_prop, 0, sizeof(I64Vec))
    memset(&c_tag, 0, sizeof(I64Vec)); memset(&c_len, 0, sizeof(I64Vec))
    memset(&d_peer, 0, sizeof(I64Vec)); memset(&d_ctr, 0, sizeof(I64Vec))
    memset(&d_len, 0, sizeof(I64Vec)); memset(&lens, 0, sizeof(I64Vec))
    memset(&lamports, 0, sizeof(I64Vec)); memset(&timestamps, 0, sizeof(I64Vec))
    memset(&msg_lens, 0, sizeof(I64Vec)); memset(&dep_counts, 0, sizeof(I64Vec))
    memset(&dep_peers, 0, sizeof(I64Vec)); memset(&dep_ctrs, 0, sizeof(I64Vec))
    ws[0] = &header; ws[1] = &meta; ws[2] = &cids; ws[3] = &keys
    ws[4] = &ops; ws[5] = &dels; ws[6] = &values; ws[7] = &tmp
    for i in range(8):
        ws[i].data = NULL
        ws[i].len = ws[i].cap = 0
        ws[i].oom = 0
    try:
        for i in range(8):
            if writer_init(ws[i], 64) < 0:
                raise_writer_error(ws[i])
        peer = block[0][0]
        reg.peer(peer)
        first_counter = block[0][1]
        first_lamport = block[0][2]
        counter = first_counter
        dep_self = <uint8_t*>xalloc(n, 1)
        # ---- ops
        last_cid = None
        for ch in block:
            if ch[1] != counter:
                raise LoroValueError("changes of a block must have contiguous counters")
            if type(ch[6]) is DocOps:
                counter = gather_doc_ops(<DocOps>ch[6], counter, reg, peer, &c_cidx, &c_prop,
                                         &c_tag, &c_len, &d_peer, &d_ctr, &d_len, &values)
                if counter > INT32_MAX:
                    raise LoroValueError("counter overflows i32")
                vec_push(&lens, counter - ch[1])
                continue
            for op in <list>ch[6]:
                kind = (<tuple>op)[0]
                cid = (<tuple>op)[1]
                if <int64_t>op[2] != counter:
                    raise LoroValueError(f"op counter {op[2]} does not follow {counter}")
                if cid is not last_cid:     # ContainerID hashing is slow: most runs share one
                    last_cid = cid
                    last_idx = reg.cid(cid)
                vec_push(&c_cidx, last_idx)
                ln = enc_op_len(op)
                if ln <= 0:
                    raise LoroValueError("an op must cover at least one atom")
                if kind == OP_INSERT:
                    vec_push(&c_prop, op[3])
                    content = op[4]
                    if isinstance(content, str):
                        vec_push(&c_tag, V_STR)
                        w_str(&values, content)
                    else:
                        vec_push(&c_tag, V_LORO_VALUE)
                        enc_value(&values, content, reg, peer, counter, 0, True)
                elif kind == OP_DELETE:
                    vec_push(&c_prop, op[3])
                    vec_push(&c_tag, V_DELETE_SEQ)
                    vec_push(&d_peer, reg.peer(op[5]))
                    vec_push(&d_ctr, op[6])
                    vec_push(&d_len, op[4])
                elif kind == OP_MAP_SET:
                    vec_push(&c_prop, reg.key(op[3]))
                    vec_push(&c_tag, V_LORO_VALUE)
                    enc_value(&values, op[4], reg, peer, counter, 0, True)
                elif kind == OP_MAP_DELETE:
                    vec_push(&c_prop, reg.key(op[3]))
                    vec_push(&c_tag, V_DELETE_ONCE)
                elif kind == OP_COUNTER:
                    vec_push(&c_prop, 0)
                    enc_counter(&values, &c_tag, op[3])
                else:
                    raise LoroValueError(f"unknown op kind {kind}")
                vec_push(&c_len, ln)
                counter += ln
            if counter > INT32_MAX:
                raise LoroValueError("counter overflows i32")
            vec_push(&lens, counter - ch[1])
        end_counter = counter
        # ---- container arena (registers root names as keys, normal cid peers)
        wchk(&cids, write_uleb64(&cids, <uint64_t>len(reg.cids)))
        for cid in reg.cids:
            wchk(&cids, write_uleb64(&cids, 4))
            if isinstance(cid, CID_ROOT):
                wchk(&cids, write_u8(&cids, 1))
                wchk(&cids, write_u8(&cids, <uint8_t>cid.container_type.kind))
                wchk(&cids, write_uleb64(&cids, 0))
                wchk(&cids, write_zigzag64(&cids, reg.key(cid.name)))
            else:
                wchk(&cids, write_u8(&cids, 0))
                wchk(&cids, write_u8(&cids, <uint8_t>cid.container_type.kind))
                wchk(&cids, write_uleb64(&cids, <uint64_t>reg.peer(cid.peer)))
                wchk(&cids, write_zigzag64(&cids, <int64_t>cid.counter))
        # ---- change headers (registers dependency peers)
        for i in range(n):
            ch = block[i]
            c0 = ch[1]
            others = 0
            for dp, dc in ch[5]:
                if dp == peer and dc == c0 - 1:
                    dep_self[i] = 1
                else:
                    vec_push(&dep_peers, reg.peer(dp))
                    vec_push(&dep_ctrs, dc)
                    others += 1
            vec_push(&dep_counts, others)
            vec_push(&lamports, ch[2])
            vec_push(&timestamps, ch[3])
            msg = ch[4]
            if msg:
                try:
                    mb = (<str>msg).encode("utf-8")
                except UnicodeEncodeError:
                    raise LoroValueError("a commit message with lone surrogates cannot be encoded") from None
                msgs.append(mb)
                vec_push(&msg_lens, len(mb))
            else:
                vec_push(&msg_lens, 0)
        last_end_lamport = block[n - 1][2] + lens.data[n - 1]
        if last_end_lamport < first_lamport or last_end_lamport > UINT32_MAX or first_lamport < 0:
            raise LoroValueError("lamports of a block are out of order")
        # header
        wchk(&header, write_uleb64(&header, <uint64_t>len(reg.peers)))
        for p in reg.peers:
            wchk(&header, write_u64_le(&header, <uint64_t>p))
        for i in range(n - 1):
            wchk(&header, write_uleb64(&header, <uint64_t>lens.data[i]))
        enc_bool_rle(&header, dep_self, n)
        enc_rle(&header, dep_counts.data, n, VK_ULEB)
        enc_rle(&header, dep_peers.data, dep_peers.len, VK_ULEB)
        enc_dod(&header, dep_ctrs.data, dep_ctrs.len)
        enc_dod(&header, lamports.data, n - 1)
        # change meta
        enc_dod(&meta, timestamps.data, n)
        enc_rle(&meta, msg_lens.data, n, VK_ULEB)
        for mb in msgs:
            wchk(&meta, write_bytes(&meta, <const unsigned char*>PyBytes_AS_STRING(mb), len(mb)))
        # keys (after every registration)
        for k in reg.keys:
            w_str(&keys, k)
        # ops columns
        wchk(&ops, write_uleb64(&ops, 1))
        wchk(&ops, write_uleb64(&ops, 4))
        tmp.len = 0
        enc_delta_rle(&tmp, c_cidx.data, c_cidx.len)
        w_section(&ops, &tmp)
        tmp.len = 0
        enc_delta_rle(&tmp, c_prop.data, c_prop.len)
        w_section(&ops, &tmp)
        tmp.len = 0
        enc_rle(&tmp, c_tag.data, c_tag.len, VK_U8)
        w_section(&ops, &tmp)
        tmp.len = 0
        enc_rle(&tmp, c_len.data, c_len.len, VK_ULEB)
        w_section(&ops, &tmp)
        # delete start ids
        if d_peer.len:
            wchk(&dels, write_uleb64(&dels, 1))
            wchk(&dels, write_uleb64(&dels, 3))
            tmp.len = 0
            enc_delta_rle(&tmp, d_peer.data, d_peer.len)
            w_section(&dels, &tmp)
            tmp.len = 0
            enc_delta_rle(&tmp, d_ctr.data, d_ctr.len)
            w_section(&dels, &tmp)
            tmp.len = 0
            enc_delta_rle(&tmp, d_len.data, d_len.len)
            w_section(&dels, &tmp)
        # the block struct
        tmp.len = 0
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>first_counter))
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>(end_counter - first_counter)))
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>first_lamport))
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>(last_end_lamport - first_lamport)))
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>n))
        w_section(&tmp, &header)
        w_section(&tmp, &meta)
        w_section(&tmp, &cids)
        w_section(&tmp, &keys)
        wchk(&tmp, write_uleb64(&tmp, 0))   # positions: no tree ops
        w_section(&tmp, &ops)
        w_section(&tmp, &dels)
        w_section(&tmp, &values)
        w_section(out, &tmp)
    finally:
        for i in range(8):
            writer_free(ws[i])
        vec_free(&c_cidx); vec_free(&c_prop); vec_free(&c_tag); vec_free(&c_len)
        vec_free(&d_peer); vec_free(&d_ctr); vec_free(&d_len); vec_free(&lens)
        vec_free(&lamports); vec_free(&timestamps); vec_free(&msg_lens)
        vec_free(&dep_counts); vec_free(&dep_peers); vec_free(&dep_ctrs)
        free(dep_self)
    return 0


def encode_updates(list changes not None):
    """A mode-4 updates blob holding ``changes`` (change tuples, any order)."""
    cdef Writer w
    cdef list pieces = split_changes(changes)
    cdef list block = []
    cdef Py_ssize_t i, ops_in_block = 0
    cdef uint32_t h
    if writer_init(&w, 256) < 0:
        raise_writer_error(&w)
    try:
        wchk(&w, write_bytes(&w, <const unsigned char*>b"loro", 4))
        for i in range(16):
            wchk(&w, write_u8(&w, 0))
        wchk(&w, write_u16_be(&w, MODE_UPDATES))
        for ch in pieces:
            if block:
                last = block[len(block) - 1]
                if (ch[0] != last[0] or ch[1] != last[1] + _enc_change_len(last)
                        or ops_in_block + len(ch[6]) > ENC_MAX_OPS_PER_BLOCK):
                    encode_block(&w, block)
                    block = []
                    ops_in_block = 0
            block.append(ch)
            ops_in_block += len(ch[6])
        if block:
            encode_block(&w, block)
        h = xxh32_released(w.data + 20, w.len - 20, LORO_SEED)
        for i in range(4):
            w.data[16 + i] = <unsigned char>((h >> (8 * i)) & 0xFF)
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


cdef object _enc_change_len(tuple ch):
    cdef int64_t total = 0
    if type(ch[6]) is DocOps:
        return (<DocOps>ch[6]).b - (<DocOps>ch[6]).a
    for op in ch[6]:
        total += enc_op_len(op)
    return total
