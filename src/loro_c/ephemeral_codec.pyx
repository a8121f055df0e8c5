# cython: language_level=3, boundscheck=False, wraparound=False
"""Loro's wire format for presence messages: postcard (serde) encodings of LoroValue,
of EphemeralStore entries and of the legacy Awareness peer records.

This is not the columnar value encoding of change blocks (_codec.pyx): Loro serialises
presence with serde + postcard, so a LoroValue is an enum tag (varint) followed by its
payload, integers are zigzag varints, doubles 8 little-endian bytes, strings and byte
strings a varint length then the bytes, lists and maps a varint count then the items, and
a ContainerID a variant tag then (name, type byte) or (peer, zigzag counter, type byte),
with the type in Loro's historical numbering.

    EphemeralStore message = Vec<(key: str, value: Option<LoroValue>, timestamp: i64)>
    Awareness message      = Vec<(peer: u64, counter: i32, record: LoroValue)>
    Cursor                 = (id: Option<(peer: u64, counter: i32)>, container: ContainerID,
                              side: variant index, origin position: u64)

Decoding follows postcard's rules, including the ones that matter for hostile input:
varints of at most 10 bytes (5 for 32-bit fields) whose last byte must not overflow,
bools and Option tags that are exactly 0 or 1, strict UTF-8, at most 512 nested lists and
maps (Loro's limit for ephemeral values), and bytes after the message are ignored.
Compiled because a server decodes every presence message of its %EPS rooms.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcmp
from libc.stdlib cimport calloc
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cpython.long cimport PyLong_AsLongLongAndOverflow
from loro_c._kinds cimport normal_cid_c
from loro_c.utf8 cimport utf8_ok, ascii_only

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    bint PyUnicode_IS_ASCII(object s)
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t

from loro_c._varint cimport (Reader, Writer, reader_init, reader_fail, read_u8, read_bytes,
                             read_uleb64, read_uleb32, read_zigzag64, read_zigzag32,
                             read_f64_le, raise_reader_error, writer_init, writer_free,
                             writer_reserve, put_uleb64,
                             write_u8, write_bytes, write_uleb64, write_zigzag64,
                             write_f64_le, raise_writer_error, writer_to_bytes)

from loro_c import _types
from loro_c.errors import DecodeError, LoroTypeError, LoroValueError

__all__ = ["encode_value", "encode_entries", "decode_entries", "scan_entries", "decode_value",
           "encode_peers", "decode_peers", "MAX_DEPTH"]

MAX_DEPTH = 512
cdef enum:
    # (MAX_DEPTH for the decoders: a module variable is a dictionary lookup per read)
    DECODE_MAX_DEPTH = 512
# Loro encodes values of any depth but no Loro peer decodes more than 512 levels; the cap
# only keeps the recursive encoder off the end of the C stack.
cdef enum:
    ENCODE_MAX_DEPTH = 4096

cdef object CID = _types.ContainerID
cdef object CID_ROOT = _types.ContainerID.Root
cdef object CID_NORMAL = _types.ContainerID.Normal
cdef object CT_FROM_HIST = _types.ContainerType.from_historical_byte
# the known container types by historical type byte
cdef dict _KNOWN_HIST = {t.to_historical_byte(): t for t in _types.TYPE_BY_KIND}

# LoroValue variant tags, in Loro's serde order
cdef enum:
    T_NULL = 0
    T_BOOL = 1
    T_DOUBLE = 2
    T_I64 = 3
    T_STRING = 4
    T_LIST = 5
    T_MAP = 6
    T_CONTAINER = 7
    T_BINARY = 8


# ------------------------------------------------------------------ encoding

cdef int w_ok(Writer* w, int status) except -1:
    if status < 0:
        raise_writer_error(w)
    return 0


cdef int w_str(Writer* w, str s) except -1:
    cdef bytes raw
    cdef Py_ssize_t n
    cdef const char* p
    if PyUnicode_IS_ASCII(s):
        # its UTF-8 is its own buffer: no copy made (a non-ASCII str would keep one)
        p = PyUnicode_AsUTF8AndSize(s, &n)
        w_ok(w, write_uleb64(w, <uint64_t>n))
        w_ok(w, write_bytes(w, <const unsigned char*>p, n))
        return 0
    try:
        raw = s.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError("string is not valid Unicode (it has a lone surrogate)") from None
    w_ok(w, write_uleb64(w, <uint64_t>PyBytes_GET_SIZE(raw)))
    w_ok(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw)))
    return 0


cdef int w_zigzag32(Writer* w, int32_t v) except -1:
    cdef uint32_t u = (<uint32_t>v << 1) ^ <uint32_t>(v >> 31)
    w_ok(w, write_uleb64(w, u))
    return 0


cdef int w_cid(Writer* w, object cid) except -1:
    cdef int ct = cid.container_type.to_historical_byte()
    if isinstance(cid, CID_ROOT):
        w_ok(w, write_u8(w, 0))
        w_str(w, cid.name)
    else:
        w_ok(w, write_u8(w, 1))
        w_ok(w, write_uleb64(w, <uint64_t>cid.peer))
        w_zigzag32(w, <int32_t>cid.counter)
    w_ok(w, write_u8(w, <uint8_t>ct))
    return 0


cdef int w_value(Writer* w, object v, int depth) except -1:
    cdef type t = type(v)
    cdef long long as_i64
    cdef int overflow = 0
    if depth > ENCODE_MAX_DEPTH:
        raise LoroValueError("value is nested too deeply")
    if v is None:
        w_ok(w, write_u8(w, T_NULL))
    elif t is bool:
        w_ok(w, write_u8(w, T_BOOL))
        w_ok(w, write_u8(w, 1 if v else 0))
    elif t is int:
        # (C's conversion checks the range: comparing with Python's bounds cost two rich
        # comparisons per integer, the most common value in a list or map state)
        as_i64 = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow:
            raise LoroTypeError(f"integer {v} does not fit in a signed 64-bit value")
        # the tag and the zigzag varint in one reservation
        w_ok(w, writer_reserve(w, 11))
        w.data[w.len] = T_I64
        w.len = put_uleb64(w.data + w.len + 1, (<uint64_t>as_i64 << 1)
                           ^ <uint64_t>(<int64_t>as_i64 >> 63)) - w.data
    elif t is float:
        w_ok(w, write_u8(w, T_DOUBLE))
        w_ok(w, write_f64_le(w, <double>v))
    elif t is str:
        w_ok(w, write_u8(w, T_STRING))
        w_str(w, <str>v)
    elif t is bytes:
        w_ok(w, write_u8(w, T_BINARY))
        w_ok(w, write_uleb64(w, <uint64_t>PyBytes_GET_SIZE(v)))
        w_ok(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v)))
    elif t is list:
        w_ok(w, write_u8(w, T_LIST))
        w_ok(w, write_uleb64(w, <uint64_t>len(<list>v)))
        for x in <list>v:
            w_value(w, x, depth + 1)
    elif t is dict:
        w_ok(w, write_u8(w, T_MAP))
        w_ok(w, write_uleb64(w, <uint64_t>len(<dict>v)))
        for k, x in (<dict>v).items():
            if type(k) is not str:
                raise LoroTypeError(f"map keys must be str, not {type(k).__name__}")
            w_str(w, <str>k)
            w_value(w, x, depth + 1)
    elif isinstance(v, CID):
        w_ok(w, write_u8(w, T_CONTAINER))
        w_cid(w, v)
    else:
        raise LoroTypeError(f"{t.__name__} is not a Loro value (None, bool, int, float, str, "
                            "bytes, list, dict, ContainerID)")
    return 0


def encode_value(v):
    """The postcard bytes of one LoroValue; validates it (LoroTypeError/LoroValueError)."""
    cdef Writer w
    if writer_init(&w, 64) < 0:
        raise MemoryError()
    try:
        w_value(&w, v, 0)
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


cpdef object copy_value(object v):
    """A private copy of a validated value (lists and dicts copied, the rest shared)."""
    cdef type t = type(v)
    if t is list:
        return [copy_value(x) for x in <list>v]
    if t is dict:
        return {k: copy_value(x) for k, x in (<dict>v).items()}
    return v


def encode_entries(entries):
    """EphemeralStore message from (key, encoded value or None, timestamp) triples."""
    cdef Writer w
    cdef bytes raw
    if writer_init(&w, 64) < 0:
        raise MemoryError()
    try:
        w_ok(&w, write_uleb64(&w, <uint64_t>len(entries)))
        for key, raw, ts in entries:
            w_str(&w, key)
            if raw is None:
                w_ok(&w, write_u8(&w, 0))
            else:
                w_ok(&w, write_u8(&w, 1))
                w_ok(&w, write_bytes(&w, <const unsigned char*>PyBytes_AS_STRING(raw),
                                     PyBytes_GET_SIZE(raw)))
            w_ok(&w, write_zigzag64(&w, <int64_t>ts))
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


def encode_cursor(id_peer_counter, cid, int side_index, uint64_t origin):
    """Loro's bytes of a cursor: `id_peer_counter` is (peer, counter) or None."""
    cdef Writer w
    if writer_init(&w, 32) < 0:
        raise MemoryError()
    try:
        if id_peer_counter is None:
            w_ok(&w, write_u8(&w, 0))
        else:
            w_ok(&w, write_u8(&w, 1))
            w_ok(&w, write_uleb64(&w, <uint64_t>id_peer_counter[0]))
            w_zigzag32(&w, <int32_t>id_peer_counter[1])
        w_cid(&w, cid)
        w_ok(&w, write_uleb64(&w, <uint64_t>side_index))
        w_ok(&w, write_uleb64(&w, origin))
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


def decode_cursor(data):
    """(id as (peer, counter) or None, ContainerID, side variant index, origin position)
    from Loro's bytes of a cursor; DecodeError when they are not one (bytes after it are
    ignored, as postcard does)."""
    cdef bytes b = as_bytes(data)
    cdef Reader r
    cdef uint64_t peer = 0, origin = 0
    cdef int32_t counter = 0
    cdef uint32_t side = 0
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    id_peer_counter = None
    if r_flag(&r, "a cursor's Option tag"):
        ok(&r, read_uleb64(&r, &peer))
        ok(&r, read_zigzag32(&r, &counter))
        id_peer_counter = (peer, counter)
    cid = r_cid(&r)
    if cid.container_type.to_historical_byte() > 5:
        bad(f"a cursor names a container type this version does not know ({cid.container_type})")
    ok(&r, read_uleb32(&r, &side))
    if side > 2:
        bad(f"bad side {side} in a cursor")
    ok(&r, read_uleb64(&r, &origin))
    return id_peer_counter, cid, side, origin


def encode_peers(peers):
    """Awareness message from (peer, counter, encoded value) triples."""
    cdef Writer w
    cdef bytes raw
    if writer_init(&w, 64) < 0:
        raise MemoryError()
    try:
        w_ok(&w, write_uleb64(&w, <uint64_t>len(peers)))
        for peer, counter, raw in peers:
            w_ok(&w, write_uleb64(&w, <uint64_t>peer))
            w_zigzag32(&w, <int32_t>counter)
            w_ok(&w, write_bytes(&w, <const unsigned char*>PyBytes_AS_STRING(raw),
                                 PyBytes_GET_SIZE(raw)))
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


# ------------------------------------------------------------------ decoding

cdef inline int ok(Reader* r, int status) except -1:
    if status < 0:
        raise_reader_error(r)
    return 0


cdef int bad(str msg) except -1:
    raise DecodeError(f"ephemeral data: {msg}")


cdef bint r_flag(Reader* r, str what) except -1:
    cdef uint8_t b = 0
    ok(r, read_u8(r, &b))
    if b > 1:
        bad(f"{what} that is neither 0 nor 1")
    return b == 1


cdef int str_bytes(Reader* r, const unsigned char** p, Py_ssize_t* n) except -1:
    """A string's (or binary value's) bytes in place (`p`, `n`; UTF-8 not checked), the
    reader past them."""
    cdef uint64_t size = 0
    ok(r, read_uleb64(r, &size))
    if size > <uint64_t>(r.len - r.pos):
        ok(r, reader_fail(r, "unexpected end of input"))
    n[0] = <Py_ssize_t>size
    return ok(r, read_bytes(r, n[0], p))


cdef str r_str(Reader* r):
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = NULL
    str_bytes(r, &p, &n)
    try:
        return PyUnicode_DecodeUTF8(<const char*>p, <Py_ssize_t>n, "strict")
    except UnicodeDecodeError:
        bad("a string that is not valid UTF-8")


cdef object r_cid(Reader* r):
    cdef uint32_t kind = 0
    cdef uint64_t peer = 0
    cdef int32_t counter = 0
    cdef uint8_t ct = 0
    ok(r, read_uleb32(r, &kind))
    if kind == 0:
        name = r_str(r)
        ok(r, read_u8(r, &ct))
        try:
            return CID_ROOT(name, CT_FROM_HIST(ct))
        except LoroValueError as e:
            # Loro would take any name; loro_c's ContainerID refuses invalid ones
            bad(str(e))
    if kind == 1:
        ok(r, read_uleb64(r, &peer))
        ok(r, read_zigzag32(r, &counter))
        ok(r, read_u8(r, &ct))
        return normal_cid_cached(peer, counter, ct)
    bad(f"unknown ContainerID variant {kind}")


# Normal ContainerIDs decoded, by (peer, counter, historical type byte): ids are immutable,
# and a snapshot's state names each child container in its parent's value (thousands of
# them, and again when the same document is loaded again; the codec's state keys come
# here too, _codec key_cid). A C table (a dict keyed by a tuple built and hashed per
# lookup was most of a loaded map's first read). Bounded: emptied when half full.
ctypedef struct NormalCid:
    uint64_t peer
    int32_t counter
    uint8_t ct
    PyObject* cid           # (a reference held; NULL: a free slot)

cdef NormalCid* _ncid_tab = NULL
cdef Py_ssize_t _ncid_n = 0
cdef enum:
    NORMAL_CID_SLOTS = 1 << 17      # (at most half of them used)


cdef inline size_t ncid_slot(uint64_t peer, int32_t counter, uint8_t ct) noexcept nogil:
    # a block of 16 counters of a peer and type hashed to one place, each counter its
    # offset there: the ids a state names one after another (children created in turn)
    # share cache lines, where a hash per id missed the cache on most lookups of a map of
    # thousands of children in a 3 MiB table
    cdef uint32_t block = <uint32_t>counter >> 4
    cdef uint64_t a = (peer ^ (<uint64_t>block << 29) ^ (<uint64_t>ct << 56)
                       ^ block) * 0x9E3779B97F4A7C15ULL
    return (<size_t>(a >> 47) + (<uint32_t>counter & 15)) & (NORMAL_CID_SLOTS - 1)


cdef object normal_cid_cached(uint64_t peer, int32_t counter, uint8_t ct):
    """The ContainerID.Normal of these parts (`ct`: the historical type byte), from the
    table above while it keeps one."""
    global _ncid_tab, _ncid_n
    cdef size_t i
    cdef Py_ssize_t j
    cdef NormalCid* e
    if _ncid_tab != NULL:
        i = ncid_slot(peer, counter, ct)
        while True:
            e = &_ncid_tab[i]
            if e.cid == NULL:
                break
            if e.peer == peer and e.counter == counter and e.ct == ct:
                return <object>e.cid
            i = (i + 1) & (NORMAL_CID_SLOTS - 1)
    known = _KNOWN_HIST.get(ct)
    if known is not None:
        cid = normal_cid_c(peer, counter, known)
    else:
        cid = CID_NORMAL(peer, counter, CT_FROM_HIST(ct))
    if _ncid_tab == NULL:
        _ncid_tab = <NormalCid*>calloc(NORMAL_CID_SLOTS, sizeof(NormalCid))
        if _ncid_tab == NULL:
            return cid
    elif _ncid_n >= NORMAL_CID_SLOTS // 2:
        for j in range(NORMAL_CID_SLOTS):
            if _ncid_tab[j].cid != NULL:
                Py_DECREF(<object>_ncid_tab[j].cid)
                _ncid_tab[j].cid = NULL
        _ncid_n = 0
    i = ncid_slot(peer, counter, ct)
    while _ncid_tab[i].cid != NULL:
        i = (i + 1) & (NORMAL_CID_SLOTS - 1)
    e = &_ncid_tab[i]
    e.peer = peer
    e.counter = counter
    e.ct = ct
    Py_INCREF(cid)
    e.cid = <PyObject*>cid
    _ncid_n += 1
    return cid


cdef object r_value(Reader* r, int depth, bint build):
    """One LoroValue; without `build`, only checked and None returned (refused where it
    would be, with the same DecodeError, building nothing but a ContainerID, whose root
    name has rules): a presence message's entries are checked whole, and only the ones a
    store takes are decoded."""
    cdef uint32_t tag = 0
    cdef int64_t i = 0
    cdef double d = 0
    cdef uint64_t n = 0, j
    cdef Py_ssize_t size = 0
    cdef const unsigned char* p = NULL
    cdef bint flag
    cdef list lst
    cdef dict dct
    ok(r, read_uleb32(r, &tag))
    if tag == T_NULL:
        return None
    if tag == T_BOOL:
        flag = r_flag(r, "a bool")
        return flag if build else None
    if tag == T_DOUBLE:
        ok(r, read_f64_le(r, &d))
        return d if build else None
    if tag == T_I64:
        ok(r, read_zigzag64(r, &i))
        return i if build else None
    if tag == T_STRING:
        if build:
            return r_str(r)
        check_str(r)
        return None
    if tag == T_LIST or tag == T_MAP:
        if depth == 0:
            bad("value nested deeper than 512 levels")
        ok(r, read_uleb64(r, &n))
        # every item takes at least one byte, so a lying count stops at the end
        if not build:
            for j in range(n):
                if tag == T_MAP:
                    check_str(r)
                r_value(r, depth - 1, False)
            return None
        if tag == T_LIST:
            lst = []
            for j in range(n):
                lst.append(r_value(r, depth - 1, True))
            return lst
        dct = {}
        for j in range(n):
            k = r_str(r)
            dct[k] = r_value(r, depth - 1, True)
        return dct
    if tag == T_CONTAINER:
        return r_cid(r)
    if tag == T_BINARY:
        str_bytes(r, &p, &size)
        return PyBytes_FromStringAndSize(<const char*>p, size) if build else None
    bad(f"unknown LoroValue tag {tag}")


cdef tuple r_raw_value(Reader* r):
    """(value, its encoded bytes), so re-encoding copies the bytes."""
    cdef Py_ssize_t start = r.pos
    v = r_value(r, DECODE_MAX_DEPTH, True)
    return v, PyBytes_FromStringAndSize(<const char*>r.data + start, r.pos - start)


cdef int check_str(Reader* r) except -1:
    """Step over a string, checked as r_str checks it."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = NULL
    str_bytes(r, &p, &n)
    if not ascii_only(p, n) and not utf8_ok(p, n):
        bad("a string that is not valid UTF-8")
    return 0


cdef list read_entries(data, bint build):
    """An EphemeralStore message's (key, value, timestamp) entries; the value is None for a
    deletion, else (decoded value, its bytes) when `build`, or only its bytes, checked as
    decoding checks them. Raises DecodeError; trailing bytes are ignored, as postcard
    does."""
    cdef bytes b = as_bytes(data)
    cdef Reader r
    cdef uint64_t n = 0, j
    cdef int64_t ts = 0
    cdef Py_ssize_t start
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    ok(&r, read_uleb64(&r, &n))
    out = []
    for j in range(n):
        key = r_str(&r)
        val = None
        if r_flag(&r, "an Option tag"):
            if build:
                val = r_raw_value(&r)
            else:
                start = r.pos
                r_value(&r, DECODE_MAX_DEPTH, False)
                val = PyBytes_FromStringAndSize(<const char*>r.data + start, r.pos - start)
        ok(&r, read_zigzag64(&r, &ts))
        out.append((key, val, ts))
    return out


def scan_entries(data):
    """decode_entries with each value checked and left encoded: a list of (key, encoded
    value or None, timestamp). Raises the DecodeError decode_entries would."""
    return read_entries(data, False)


def decode_value(raw):
    """The LoroValue of one encoded value (bytes scan_entries checked)."""
    cdef bytes b = as_bytes(raw)
    cdef Reader r
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    return r_value(&r, DECODE_MAX_DEPTH, True)


cdef bytes as_bytes(data):
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise LoroTypeError(f"expected bytes, not {type(data).__name__}")


def decode_entries(data):
    """An EphemeralStore message as a list of (key, (value, raw) or None, timestamp).
    Raises DecodeError; trailing bytes are ignored, as postcard does."""
    return read_entries(data, True)


def decode_peers(data):
    """An Awareness message as a list of (peer, counter, (value, raw))."""
    cdef bytes b = as_bytes(data)
    cdef Reader r
    cdef uint64_t n = 0, j, peer = 0
    cdef int32_t counter = 0
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    ok(&r, read_uleb64(&r, &n))
    out = []
    for j in range(n):
        ok(&r, read_uleb64(&r, &peer))
        ok(&r, read_zigzag32(&r, &counter))
        out.append((peer, counter, r_raw_value(&r)))
    return out


# ------------------------------------------------------------------ snapshot state (issue 11)

cdef int open_state_collection(object data, Py_ssize_t pos, Reader* r, uint64_t* n) except -1:
    """Point `r` at the postcard collection a snapshot's container state holds at `pos` of
    `data`, its length read into `n` (checked against the bytes left)."""
    if data is None or pos < 0 or pos > PyBytes_GET_SIZE(data):
        bad("state position out of range")
    reader_init(r, <const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    r.pos = pos
    ok(r, read_uleb64(r, n))
    if n[0] > <uint64_t>(r.len - r.pos):
        bad("a collection longer than its bytes")
    return 0


def decode_state_values(bytes data not None, Py_ssize_t pos, int what):
    """A postcard collection of a snapshot's container state starting at `pos`: `what` 0 a
    Vec<LoroValue> (a list's values), 1 a map of String -> LoroValue (a map's live keys), 2
    a Vec<String> (a map's deleted keys). Returns (value, the position after it); raises
    DecodeError."""
    cdef Reader r
    cdef uint64_t n = 0, j
    open_state_collection(data, pos, &r, &n)
    if what == 0:
        out = []
        for j in range(n):
            out.append(r_value(&r, DECODE_MAX_DEPTH, True))
    elif what == 1:
        out = r_state_map_items(&r, n)
    else:
        out = []
        for j in range(n):
            out.append(r_str(&r))
    return out, r.pos


def decode_state_maps(list entries not None):
    """decode_state_values(data, pos, 1)[0] of each (data, pos) of `entries` (the live keys
    of the map states a snapshot load left encoded), in one call; raises DecodeError."""
    cdef Reader r
    cdef uint64_t n = 0
    cdef tuple e
    cdef bytes data
    cdef Py_ssize_t pos
    cdef list res = []
    for e in entries:
        data = e[0]
        pos = e[1]
        open_state_collection(data, pos, &r, &n)
        res.append(r_state_map_items(&r, n))
    return res


cdef dict r_state_map_items(Reader* r, uint64_t n):
    """The `n` (key, value) items of a map state's live keys (a repeated key is refused)."""
    cdef uint64_t j
    cdef dict out = {}
    for j in range(n):
        k = r_str(r)
        if k in out:
            bad("a map state repeats a key")
        out[k] = r_value(r, DECODE_MAX_DEPTH, True)
    return out


# what find_state_map_key answers for a key the map does not hold (None is a value), and
# for a map that holds a bytes value (perhaps a mergeable child's marker: the caller builds
# such a map, as it builds it for a read of all its keys)
MISSING = object()
HOLDS_BYTES = object()
cdef object _MISSING = MISSING
cdef object _HOLDS_BYTES = HOLDS_BYTES


cdef int skip_str(Reader* r) except -1:
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = NULL
    return str_bytes(r, &p, &n)


cdef int skip_value(Reader* r, int depth) except -1:
    """Step over one postcard LoroValue as r_value reads it, building nothing; returns its
    tag. Only for bytes a check already took (a snapshot state that state_section_ok
    checked): the reads stay bounded, but strings' UTF-8 is not looked at again."""
    cdef uint32_t tag = 0, variant = 0
    cdef uint64_t n = 0, j
    cdef int64_t i = 0
    cdef int32_t counter = 0
    cdef uint8_t b = 0
    cdef const unsigned char* p = NULL
    ok(r, read_uleb32(r, &tag))
    if tag == T_NULL:
        return tag
    if tag == T_BOOL:
        ok(r, read_u8(r, &b))
        return tag
    if tag == T_DOUBLE:
        ok(r, read_bytes(r, 8, &p))
        return tag
    if tag == T_I64:
        ok(r, read_zigzag64(r, &i))
        return tag
    if tag == T_STRING or tag == T_BINARY:
        skip_str(r)
        return tag
    if tag == T_LIST or tag == T_MAP:
        if depth == 0:
            bad("value nested deeper than 512 levels")
        ok(r, read_uleb64(r, &n))
        if n > <uint64_t>(r.len - r.pos):
            bad("a collection longer than its bytes")
        for j in range(n):
            if tag == T_MAP:
                skip_str(r)
            skip_value(r, depth - 1)
        return tag
    if tag == T_CONTAINER:
        ok(r, read_uleb32(r, &variant))
        if variant == 0:
            skip_str(r)
        elif variant == 1:
            ok(r, read_uleb64(r, &n))
            ok(r, read_zigzag32(r, &counter))
        else:
            bad(f"unknown ContainerID variant {variant}")
        ok(r, read_u8(r, &b))
        return tag
    bad(f"unknown LoroValue tag {tag}")


cdef inline bint skip_varint(Reader* r, int most) noexcept nogil:
    """Step over a varint of at most `most` bytes (its value not checked: see skip_value)."""
    cdef int k
    for k in range(most):
        if r.pos >= r.len:
            return False
        r.pos += 1
        if r.data[r.pos - 1] < 0x80:
            return True
    return False


cdef inline int skip_top_value(Reader* r) noexcept nogil:
    """skip_value's common cases (a child id, a number, a string), without a call: the
    value's tag, or -1 for the others (skip_value then reads it from the start)."""
    cdef Py_ssize_t start = r.pos
    cdef uint8_t tag
    cdef uint64_t n = 0
    cdef int k
    if r.pos >= r.len:
        return -1
    tag = r.data[r.pos]
    r.pos += 1
    if tag == T_CONTAINER:
        if r.pos < r.len and r.data[r.pos] == 1:
            r.pos += 1
            if skip_varint(r, 10) and skip_varint(r, 5) and r.pos < r.len:
                r.pos += 1
                return tag
    elif tag == T_I64:
        if skip_varint(r, 10):
            return tag
    elif tag == T_DOUBLE:
        if r.len - r.pos >= 8:
            r.pos += 8
            return tag
    elif tag == T_STRING or tag == T_BINARY:
        if r.pos < r.len and r.data[r.pos] < 0x80:
            n = r.data[r.pos]
            if <uint64_t>(r.len - r.pos - 1) >= n:
                r.pos += 1 + <Py_ssize_t>n
                return tag
    elif tag == T_NULL:
        return tag
    r.pos = start
    return -1


def find_state_map_key(bytes data not None, Py_ssize_t pos, str key not None):
    """decode_state_values(data, pos, 1)[0].get(key, MISSING) without building the other
    entries: the value of `key` among the live keys of the map state at `pos`, or
    MISSING; HOLDS_BYTES when one of them is a bytes value. For a state a check already
    took (see skip_value); raises DecodeError."""
    cdef Reader r
    cdef uint64_t n = 0, j, kn = 0
    cdef Py_ssize_t want_n = 0
    cdef const char* want
    cdef const unsigned char* p = NULL
    cdef object got = _MISSING
    cdef int tag
    try:
        want = PyUnicode_AsUTF8AndSize(key, &want_n)
    except UnicodeEncodeError:
        return _MISSING      # (a lone surrogate: no key of a state is one)
    open_state_collection(data, pos, &r, &n)
    for j in range(n):
        if r.pos < r.len and r.data[r.pos] < 0x80:
            kn = r.data[r.pos]
            r.pos += 1
        else:
            ok(&r, read_uleb64(&r, &kn))
        if kn > <uint64_t>(r.len - r.pos):
            ok(&r, reader_fail(&r, "unexpected end of input"))
        p = r.data + r.pos
        r.pos += <Py_ssize_t>kn
        if got is _MISSING and <Py_ssize_t>kn == want_n and memcmp(p, want, <size_t>kn) == 0:
            got = r_value(&r, DECODE_MAX_DEPTH, True)
            if type(got) is bytes:
                return _HOLDS_BYTES
            continue
        tag = skip_top_value(&r)
        if tag < 0:
            tag = skip_value(&r, DECODE_MAX_DEPTH)
        if tag == T_BINARY:
            return _HOLDS_BYTES
    return got


def decode_state_value(bytes data not None, Py_ssize_t pos):
    """One postcard LoroValue of a snapshot's container state (a text mark's value) at
    `pos`. Returns (value, the position after it); raises DecodeError."""
    cdef Reader r
    if pos < 0 or pos > PyBytes_GET_SIZE(data):
        bad("state position out of range")
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    r.pos = pos
    v = r_value(&r, DECODE_MAX_DEPTH, True)
    return v, r.pos
