# A check pass over a snapshot's state section that lets the document defer decoding it
# (state/snapshot_load.pxi thin_defer): loro keeps each container's state encoded until it
# is read, and a snapshot loaded only to be stored or sent on is never read. An import is
# all or nothing, so the state is still checked whole at import time, here, in C and
# without an object per entry. The pass answers only "the decoder (load_snapshot_state)
# takes this state": 1 when it would build every row without an error, 0 for anything it
# is unsure of (the import then decodes eagerly, which raises the real error or takes the
# blob). Maps and counters: the kinds a document of records holds by the thousand; trees
# (tree_state_cols: their columns in C, no object per node; a tree's every node lists a
# meta map, an entry of its own); and
# sequences (lists, texts, movable lists), checked in C too (seq_entry_ok: their values as
# list_values_ok takes them, their id columns, peer tables and, for a movable list, its
# elements; no object per item) and left encoded for the deferred load to decode when first
# read, their items plain values or child maps and counters. Where the C check is unsure
# (a text with style anchors, or bytes the decoder may refuse) it has noted nothing yet
# and the decoder itself decides, its rows kept for that load (ListCheck). At the build, a
# List's row is cut with its values still encoded (checked_list_row): a server that loads
# a snapshot and imports into it replays the history, which drops the loaded state unread.


# the load kind (_doc.kind_of_type) of each raw type byte of a state key (ContainerType.
# from_byte) and of each historical type byte of a value's ContainerID (from_historical_byte);
# -1 for an unknown type. Filled once, from the types module.
cdef int8_t _raw_kind[128]
cdef int8_t _hist_kind[256]
cdef bint _kind_tables = False


cdef int kind_tables() except -1:
    global _kind_tables
    cdef int b
    if _kind_tables:
        return 0
    for b in range(128):
        try:
            _raw_kind[b] = kind_of_type(_types.ContainerType.from_byte(b))
        except Exception:
            _raw_kind[b] = -1
    for b in range(256):
        try:
            _hist_kind[b] = kind_of_type(_types.ContainerType.from_historical_byte(b))
        except Exception:
            _hist_kind[b] = -1
    _kind_tables = True
    return 0


cdef inline int chk_uleb64(Reader* r, uint64_t* out) noexcept nogil:
    """read_uleb64 with the one-byte case first (nearly every count, length, index and
    Lamport of a state of records): no call."""
    if r.pos < r.len and r.data[r.pos] < 0x80:
        out[0] = r.data[r.pos]
        r.pos += 1
        return 0
    return read_uleb64(r, out)


cdef inline int chk_uleb32(Reader* r, uint32_t* out) noexcept nogil:
    if r.pos < r.len and r.data[r.pos] < 0x80:
        out[0] = r.data[r.pos]
        r.pos += 1
        return 0
    return read_uleb32(r, out)


ctypedef struct VvTab:
    # a version vector as C arrays: peer ids and their ends
    uint64_t* peers
    int64_t* ends
    Py_ssize_t n


cdef int vv_tab_fill(VvTab* tab, dict vv) except -1:
    """`tab` made from `vv`, in its order (the caller frees tab.peers and tab.ends)."""
    cdef Py_ssize_t i = 0
    tab.n = len(vv)
    tab.peers = <uint64_t*>xalloc(tab.n + 1, sizeof(uint64_t))
    tab.ends = <int64_t*>xalloc(tab.n + 1, sizeof(int64_t))
    for peer, end_ in vv.items():
        tab.peers[i] = <uint64_t>peer
        tab.ends[i] = <int64_t>end_
        i += 1
    return 0


@cython.final
cdef class ListRows:
    """checked_list_row for the deferred load of a section the check pass took (a List's
    values stay encoded until the list is built: a server's load + import replays the
    history and never reads them); `tab` the version vector as that check reads it."""
    cdef VvTab tab
    cdef dict vv

    def __cinit__(self, dict vv):
        self.vv = vv
        self.tab.peers = NULL
        self.tab.ends = NULL
        vv_tab_fill(&self.tab, vv)

    def __dealloc__(self):
        free(self.tab.peers)
        free(self.tab.ends)


cdef object checked_list_row_of(ListRows lr, bytes key, bytes value, _IdBits seen):
    """A List entry's row as the check pass made it (checked_list_row), or None."""
    return checked_list_row(key, value, lr.vv, &lr.tab, seen)


cdef inline int64_t vv_end(const VvTab* t, uint64_t peer) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(t.n):
        if t.peers[i] == peer:
            return t.ends[i]
    return 0


cdef bint keys_distinct(const KeySlice* keys, Py_ssize_t n) except -1:
    """Whether no two of the `n` keys are equal: pairwise for a few, else by an open
    addressing table of their FNV-1a hashes (a map's keys are written in hash order, not
    sorted)."""
    cdef Py_ssize_t i, j, cap
    cdef uint64_t h
    cdef int32_t* table
    cdef const unsigned char* p
    if n > 0x3FFFFFFF:
        return False        # (left to the decoder)
    if n <= 8:
        for i in range(n):
            for j in range(i):
                if keys[i].n == keys[j].n and (keys[i].n == 0 or (
                        keys[i].p[0] == keys[j].p[0]
                        and memcmp(keys[i].p, keys[j].p, <size_t>keys[i].n) == 0)):
                    return False
        return True
    cap = 16
    while cap < 2 * n:
        cap *= 2
    table = <int32_t*>malloc(<size_t>cap * sizeof(int32_t))
    if table == NULL:
        raise MemoryError()
    memset(table, 0xFF, <size_t>cap * sizeof(int32_t))
    try:
        for i in range(n):
            h = 14695981039346656037ULL
            p = keys[i].p
            for j in range(keys[i].n):
                h = (h ^ p[j]) * 1099511628211ULL
            j = <Py_ssize_t>(h & <uint64_t>(cap - 1))
            while table[j] >= 0:
                if (keys[table[j]].n == keys[i].n
                        and memcmp(keys[table[j]].p, p, <size_t>keys[i].n) == 0):
                    return False
                j = (j + 1) & (cap - 1)
            table[j] = <int32_t>i
        return True
    finally:
        free(table)


cdef inline bint str_ok(Reader* r, KeySlice* out) noexcept nogil:
    """A postcard string (ephemeral_codec.r_str's checks)."""
    cdef uint64_t n = 0
    cdef const unsigned char* p = NULL
    if chk_uleb64(r, &n) < 0 or n > <uint64_t>(r.len - r.pos):
        return False
    p = r.data + r.pos
    r.pos += <Py_ssize_t>n
    if not ascii_only(p, <Py_ssize_t>n) and not utf8_ok(p, <Py_ssize_t>n):
        return False
    if out != NULL:
        out.p = p
        out.n = <Py_ssize_t>n
    return True


cdef inline int skip_uleb64(Reader* r) noexcept nogil:
    """read_uleb64's checks (at most 10 bytes, no bit past 64), the value not needed."""
    cdef Py_ssize_t i = r.pos, lim = r.pos + 10
    if lim > r.len:
        lim = r.len
    while i < lim:
        if r.data[i] < 0x80:
            if i - r.pos == 9 and r.data[i] > 1:
                return -1
            r.pos = i + 1
            return 0
        i += 1
    return -1


cdef enum:
    # where a value holding a child container id stands (value_ok's `top`; 0: nested in
    # another value, where none may stand)
    TOP_LIST = 1        # a List's item: a child map or counter (the lists' deferred load)
    TOP_MAP = 2         # a map's value: any kind with a state codec here


cdef inline bint child_kind_ok(int kind, int top) noexcept nogil:
    """A child container's kind the deferred load takes where `top` says (a map's: the
    decoder's child_ids_fit, any kind with a state codec here; the others replay)."""
    if kind == KIND_MAP or kind == KIND_COUNTER:
        return True
    return top == TOP_MAP and (kind == KIND_LIST or kind == KIND_TEXT or kind == KIND_TREE
                               or kind == KIND_MOVABLE_LIST)


cdef inline bint value_ok(Reader* r, int depth, const VvTab* vv, int top) noexcept nogil:
    """value_ok_any with a record's values (null, bool, i64, a short string, a child id)
    read here, in the caller's loop: the same checks. `vv` NULL: a value that may hold no
    container id at all (a list item's nested values, list_values_ok)."""
    cdef unsigned char tag
    cdef uint64_t peer = 0
    cdef int32_t counter = 0
    cdef uint32_t u = 0
    cdef uint8_t b = 0
    if r.pos >= r.len:
        return False
    tag = r.data[r.pos]
    if tag == 3:
        r.pos += 1
        return skip_uleb64(r) == 0
    if tag == 4:
        r.pos += 1
        return str_ok(r, NULL)
    if tag == 0:
        r.pos += 1
        return True
    if tag == 1:
        r.pos += 1
        return read_u8(r, &b) == 0 and b <= 1
    if tag == 7 and r.pos + 1 < r.len and r.data[r.pos + 1] == 1:
        # a ContainerID, variant 1 (normal) written in one byte
        if vv == NULL:
            return False
        r.pos += 2
        if chk_uleb64(r, &peer) < 0 or chk_uleb32(r, &u) < 0 or read_u8(r, &b) < 0:
            return False
        counter = <int32_t>((u >> 1) ^ (<uint32_t>0 - (u & 1)))
        if _hist_kind[b] < 0:
            return False
        if top:
            if not child_kind_ok(_hist_kind[b], top):
                return False
            if counter >= vv_end(vv, peer):
                return False
        return True
    return value_ok_any(r, depth, vv, top)


cdef inline bint child_id_ok(Reader* r, const VvTab* vv, int top) noexcept nogil:
    """A map's value that is a child map or counter id (a map of records' values), its
    peer, counter and kind each one to three bytes: value_ok's checks (True), the reader
    past it; False, the reader unmoved, for anything else (value_ok then decides)."""
    cdef const unsigned char* p = r.data + r.pos
    cdef Py_ssize_t n = r.len - r.pos, i
    cdef uint64_t peer
    cdef uint32_t u
    cdef int32_t counter
    cdef int8_t kind
    if n < 5 or p[0] != 7 or p[1] != 1 or p[2] >= 0x80:
        return False
    peer = p[2]
    i = 3
    if p[i] < 0x80:
        u = p[i]
        i += 1
    elif i + 1 < n and p[i + 1] < 0x80:
        u = (p[i] & 0x7F) | (<uint32_t>p[i + 1] << 7)
        i += 2
    elif i + 2 < n and p[i + 1] >= 0x80 and p[i + 2] < 0x80:
        u = (p[i] & 0x7F) | (<uint32_t>(p[i + 1] & 0x7F) << 7) | (<uint32_t>p[i + 2] << 14)
        i += 3
    else:
        return False
    if i >= n:
        return False
    kind = _hist_kind[p[i]]
    if not child_kind_ok(kind, top):
        return False
    counter = <int32_t>((u >> 1) ^ (<uint32_t>0 - (u & 1)))
    if counter >= vv_end(vv, peer):
        return False
    r.pos += i + 1
    return True


cdef bint value_ok_any(Reader* r, int depth, const VvTab* vv, int top) noexcept nogil:
    """A postcard LoroValue that ephemeral_codec.r_value decodes; `top`: a map's own value,
    whose child container must be of a kind the load builds and one its history created
    (child_ids_fit). A root ContainerID is left to the decoder (its name has rules)."""
    cdef uint32_t tag = 0, variant = 0
    cdef uint64_t n = 0, j, peer = 0
    cdef int32_t counter = 0
    cdef int64_t i64 = 0
    cdef uint8_t b = 0
    cdef const unsigned char* p = NULL
    if chk_uleb32(r, &tag) < 0:
        return False
    if tag == 0:
        return True
    if tag == 1:
        return read_u8(r, &b) == 0 and b <= 1
    if tag == 2:
        return read_bytes(r, 8, &p) == 0
    if tag == 3:
        return read_zigzag64(r, &i64) == 0
    if tag == 4:
        return str_ok(r, NULL)
    if tag == 5 or tag == 6:
        if depth == 0 or chk_uleb64(r, &n) < 0:
            return False
        # (each item takes a byte at least: a lying count stops at the end)
        for j in range(n):
            if tag == 6 and not str_ok(r, NULL):
                return False
            if not value_ok(r, depth - 1, vv, 0):
                return False
        return True
    if tag == 7:
        if vv == NULL:
            return False
        if chk_uleb32(r, &variant) < 0 or variant != 1:
            return False
        if chk_uleb64(r, &peer) < 0 or read_zigzag32(r, &counter) < 0 or read_u8(r, &b) < 0:
            return False
        if _hist_kind[b] < 0:
            return False
        if top:
            if not child_kind_ok(_hist_kind[b], top):
                return False
            if counter >= vv_end(vv, peer):
                return False
        return True
    if tag == 8:
        if chk_uleb64(r, &n) < 0 or n > <uint64_t>(r.len - r.pos):
            return False
        return read_bytes(r, <Py_ssize_t>n, &p) == 0
    return False


cdef int map_state_ok(Reader* r, const VvTab* vv, KeySlice** scratch,
                      Py_ssize_t* cap) except -1:
    """decode_map_state's checks, from the live values on (1 / 0). `scratch` holds the
    keys (grown as needed, the caller frees it)."""
    cdef uint64_t n_live = 0, n_dead = 0, n_peers = 0, idx = 0, lamport = 0, j, peer = 0, checked
    cdef unsigned char b0
    cdef Py_ssize_t total, k
    cdef KeySlice* keys
    cdef KeySlice* grown
    cdef const unsigned char* peer_at = NULL
    cdef const unsigned char* p
    if chk_uleb64(r, &n_live) < 0 or n_live > <uint64_t>(r.len - r.pos):
        return 0
    # each live entry takes two bytes at least
    if n_live > <uint64_t>(r.len - r.pos):
        return 0
    if <Py_ssize_t>n_live + 1 > cap[0]:
        grown = <KeySlice*>realloc(scratch[0], (<size_t>n_live + 64) * sizeof(KeySlice))
        if grown == NULL:
            raise MemoryError()
        scratch[0] = grown
        cap[0] = <Py_ssize_t>n_live + 64
    keys = scratch[0]
    for j in range(n_live):
        # a record's field: a short ASCII key, then an i64 or a short ASCII string, read
        # here (str_ok's and value_ok's checks); anything else through them
        b0 = r.data[r.pos] if r.pos < r.len else 0x80
        if b0 < 0x80 and b0 < r.len - r.pos and ascii_only(r.data + r.pos + 1, b0):
            keys[j].p = r.data + r.pos + 1
            keys[j].n = b0
            r.pos += 1 + b0
        elif not str_ok(r, &keys[j]):
            return 0
        if r.pos + 1 < r.len and r.data[r.pos] == 3:
            r.pos += 1
            if skip_uleb64(r) < 0:
                return 0
        elif (r.pos + 1 < r.len and r.data[r.pos] == 4 and r.data[r.pos + 1] < 0x80
                and r.data[r.pos + 1] < r.len - r.pos - 1
                and ascii_only(r.data + r.pos + 2, r.data[r.pos + 1])):
            r.pos += 2 + r.data[r.pos + 1]
        elif not child_id_ok(r, vv, TOP_MAP) and not value_ok(r, 512, vv, TOP_MAP):
            return 0
    if chk_uleb64(r, &n_dead) < 0 or n_dead > <uint64_t>(r.len - r.pos):
        return 0
    total = <Py_ssize_t>(n_live + n_dead)
    if total > cap[0]:
        grown = <KeySlice*>realloc(scratch[0], (<size_t>total + 64) * sizeof(KeySlice))
        if grown == NULL:
            raise MemoryError()
        scratch[0] = grown
        cap[0] = total + 64
    keys = scratch[0]
    for j in range(n_dead):
        if not str_ok(r, &keys[n_live + j]):
            return 0
    # every key once, live or deleted (two keys, a record's usual count, compared here)
    if total == 2:
        if keys[0].n == keys[1].n and (keys[0].n == 0 or (
                keys[0].p[0] == keys[1].p[0]
                and memcmp(keys[0].p, keys[1].p, <size_t>keys[0].n) == 0)):
            return 0
    elif total > 2 and not keys_distinct(keys, total):
        # (none or one key, a tree node's meta map or a child of one field: no call)
        return 0
    # the peer table, then (peer index, Lamport) per key
    if chk_uleb64(r, &n_peers) < 0 or n_peers > <uint64_t>((r.len - r.pos) >> 3):
        return 0
    peer_at = r.data + r.pos
    r.pos += <Py_ssize_t>(8 * n_peers)
    checked = n_peers       # (the peer index last found in the version vector)
    for k in range(total):
        # (a one-byte peer index and a Lamport of up to three bytes, the usual pair, read
        # here; read_uleb64's loop for the rest)
        p = r.data + r.pos
        if r.len - r.pos >= 4 and p[0] < 0x80 and (p[1] < 0x80 or p[2] < 0x80 or p[3] < 0x80):
            idx = p[0]
            if p[1] < 0x80:
                lamport = p[1]
                r.pos += 2
            elif p[2] < 0x80:
                lamport = (p[1] & 0x7F) | (<uint64_t>p[2] << 7)
                r.pos += 3
            else:
                lamport = ((p[1] & 0x7F) | (<uint64_t>(p[2] & 0x7F) << 7)
                           | (<uint64_t>p[3] << 14))
                r.pos += 4
        elif chk_uleb64(r, &idx) < 0 or chk_uleb64(r, &lamport) < 0:
            return 0
        if idx >= n_peers or lamport > UINT32_MAX:
            return 0
        if idx != checked:
            memcpy(&peer, peer_at + 8 * idx, 8)
            if vv_end(vv, peer) == 0:
                return 0
            checked = idx
    return 1 if reader_at_end(r) else 0


cdef class ListCheck:
    """The sequence states (lists, texts, movable lists) of a state section the check pass
    took, their atoms' ids checked disjoint across them (`seen`). Most are checked in C
    (seq_state_ok) and left encoded, decoded again by the deferred load when first read;
    the few the C check leaves to the decoder (a text with style anchors) are decoded
    here, their rows kept by state key for that load (state_rows: `decoded`). The C check's
    scratch: the current entry's peer table as ends in the version vector and first bits
    in `seen` (`pend`, `pbase`), and the int32 columns it reads (`buf`)."""
    cdef dict vv
    cdef _IdBits seen
    cdef dict rows
    cdef int64_t* vbase         # each peer's first bit, in the version vector's order
    cdef int64_t* pend
    cdef int64_t* pbase
    cdef Py_ssize_t pcap
    cdef int32_t* buf
    cdef Py_ssize_t bcap

    def __cinit__(self, dict vv):
        self.vv = vv
        self.seen = None
        self.rows = {}
        self.vbase = self.pend = self.pbase = NULL
        self.buf = NULL
        self.pcap = self.bcap = 0

    def __dealloc__(self):
        free(self.vbase)
        free(self.pend)
        free(self.pbase)
        free(self.buf)

    cdef int ready(self) except -1:
        """`seen` and the version vector's first bits, made at the first sequence state."""
        cdef int64_t at = 0
        cdef Py_ssize_t i = 0
        if self.seen is not None:
            return 0
        self.seen = _IdBits(self.vv)
        self.vbase = <int64_t*>xalloc(len(self.vv) + 1, sizeof(int64_t))
        # (_IdBits numbers the bits in the dict's order, as the VvTab lists the peers)
        for end in self.vv.values():
            self.vbase[i] = at
            at += <int64_t>end
            i += 1
        return 0

    cdef int32_t* scratch(self, Py_ssize_t n) except NULL:
        """`buf` grown to at least `n` int32s (its contents not kept)."""
        if n > self.bcap:
            free(self.buf)
            self.buf = NULL
            self.bcap = 0
            self.buf = <int32_t*>xalloc_raw(n, sizeof(int32_t))
            self.bcap = n
        return self.buf


cdef inline int chk_cols(Reader* r, Py_ssize_t ncols, Reader* cols) noexcept nogil:
    """class_vec without raising (-1: the decoder decides)."""
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    if chk_uleb64(r, &v) < 0 or v != <uint64_t>ncols:
        return -1
    for i in range(ncols):
        if chk_uleb64(r, &v) < 0 or v > <uint64_t>(r.len - r.pos):
            return -1
        reader_init(&cols[i], r.data + r.pos, <Py_ssize_t>v)
        r.pos += <Py_ssize_t>v
    return 0


cdef inline int chk_zz(Reader* r, int64_t* out) noexcept nogil:
    """read_zigzag64 with the one-byte case first."""
    cdef uint64_t u
    if r.pos < r.len and r.data[r.pos] < 0x80:
        u = r.data[r.pos]
        r.pos += 1
    elif read_uleb64(r, &u) < 0:
        return -1
    out[0] = <int64_t>((u >> 1) ^ (<uint64_t>0 - (u & 1)))
    return 0


cdef int chk_delta(Reader* col, Py_ssize_t n, int32_t* out, int64_t lo, int64_t hi) noexcept nogil:
    """delta_rle_into without raising (-1 where it raises): exactly `n` values of a
    DeltaRle column, each in [lo, hi], into every third int32 of `out`, then its end. The
    sequence states' columns are short (a few items a container): no call per value."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt = 0, d = 0, acc = 0
    while i < n:
        if chk_zz(col, &cnt) < 0 or cnt == 0:
            return -1
        if cnt > 0:
            if cnt > n - i or chk_zz(col, &d) < 0:
                return -1
            for j in range(<Py_ssize_t>cnt):
                # (acc stays in [lo, hi]: neither difference overflows)
                if d > hi - acc or d < lo - acc:
                    return -1
                acc += d
                out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > n - i:
                return -1
            for j in range(<Py_ssize_t>(-cnt)):
                if chk_zz(col, &d) < 0 or d > hi - acc or d < lo - acc:
                    return -1
                acc += d
                out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>(-cnt)
    return 0 if reader_at_end(col) else -1


cdef Py_ssize_t chk_rle_count(Reader col, Py_ssize_t cap) noexcept nogil:
    """rle_read_all's count of a zigzag AnyRle column (at most `cap`), or -1 where it
    raises."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt = 0, v = 0
    while not reader_at_end(&col):
        if chk_zz(&col, &cnt) < 0 or cnt == 0:
            return -1
        if cnt > 0:
            if cnt > cap - i or chk_zz(&col, &v) < 0:
                return -1
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > cap - i:
                return -1
            for j in range(<Py_ssize_t>(-cnt)):
                if chk_zz(&col, &v) < 0:
                    return -1
            i += <Py_ssize_t>(-cnt)
    return i


cdef int chk_bools(Reader* col, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """bool_rle_read_n of exactly `n` values then the column's end (bool_col), or -1."""
    cdef Py_ssize_t i = 0
    cdef uint64_t cnt = 0
    cdef uint8_t val = 0
    while i < n:
        if chk_uleb64(col, &cnt) < 0 or cnt > <uint64_t>(n - i):
            return -1
        memset(out + i, val, <size_t>cnt)
        i += <Py_ssize_t>cnt
        val = 1 - val
    return 0 if reader_at_end(col) else -1


cdef Py_ssize_t seq_peers(Reader* r, const VvTab* tab, ListCheck lists) except -2:
    """read_peer_table's peers of a sequence state into lists.pend / lists.pbase (each
    one's end in the version vector, 0 when absent, and its first bit in `seen`); the
    table's length, or -1 where the decoder raises (a table past its bytes, a peer named
    twice: read_ids' check)."""
    cdef uint64_t n = 0, peer = 0
    cdef Py_ssize_t i, j, k
    if chk_uleb64(r, &n) < 0 or n > <uint64_t>(reader_remaining(r) // 8):
        return -1
    if <Py_ssize_t>n + 1 > lists.pcap:
        free(lists.pend)
        free(lists.pbase)
        lists.pend = lists.pbase = NULL
        lists.pcap = 0
        lists.pend = <int64_t*>xalloc(<Py_ssize_t>n + 1, sizeof(int64_t))
        lists.pbase = <int64_t*>xalloc(<Py_ssize_t>n + 1, sizeof(int64_t))
        lists.pcap = <Py_ssize_t>n + 1
    for i in range(<Py_ssize_t>n):
        memcpy(&peer, r.data + r.pos + 8 * i, 8)
        lists.pend[i] = 0
        lists.pbase[i] = 0
        for k in range(tab.n):
            if tab.peers[k] == peer:
                lists.pend[i] = tab.ends[k]
                lists.pbase[i] = lists.vbase[k]
                break
        for j in range(i):
            if memcmp(r.data + r.pos + 8 * j, r.data + r.pos + 8 * i, 8) == 0:
                return -1
    r.pos += 8 * <Py_ssize_t>n
    return <Py_ssize_t>n


cdef int seq_ids_ok(ListCheck lists, const int32_t* o, Py_ssize_t n) except -1:
    """read_ids' checks of packed (peer index, counter, len) runs: each inside the version
    vector, none named before in this section (then noted in `seen`)."""
    cdef Py_ssize_t i
    for i in range(n):
        if <int64_t>o[3 * i + 1] + max(o[3 * i + 2], 1) > lists.pend[o[3 * i]]:
            fail("the snapshot state holds an id its history does not")
    return lists.seen.add_runs_at(o, n, lists.pbase)


cdef int list_state_ok(Reader* r, const VvTab* tab, ListCheck lists) except -1:
    """decode_list_state's checks of a List's state (its values as list_values_ok takes
    them), in C: 1, or 0 where the decoder may raise (it decides: nothing is noted in
    `seen` before the ids, the last step, which raises as the decoder does)."""
    cdef Reader cols[3]
    cdef uint64_t v = 0
    cdef int64_t n = list_values_ok(r, tab)
    cdef Py_ssize_t np, i
    cdef int32_t* o
    if n < 0:
        return 0
    np = seq_peers(r, tab, lists)
    if (np < 0 or chk_uleb64(r, &v) < 0 or v != 1 or chk_cols(r, 3, cols) < 0
            or (n > 0 and np == 0) or not reader_at_end(r)):
        return 0
    o = lists.scratch(3 * n + 3) if 3 * n + 3 > lists.bcap else lists.buf
    # (the peer column read for exactly n values, then its end: read_ids' count of it
    # and its check against the values' count at once)
    if (chk_delta(&cols[0], <Py_ssize_t>n, o, 0, np - 1) < 0
            or chk_delta(&cols[1], <Py_ssize_t>n, o + 1, 0, INT32_MAX) < 0):
        return 0
    for i in range(<Py_ssize_t>n):
        o[3 * i + 2] = 1
    seq_ids_ok(lists, o, <Py_ssize_t>n)
    return 1


cdef int text_state_ok(Reader* r, const VvTab* tab, ListCheck lists) except -1:
    """decode_text_state's checks of a plain Text's state, in C: 1, or 0 where the decoder
    may raise and for a text with style anchors (the decoder reads its marks); as
    list_state_ok, only the last step notes ids."""
    cdef Reader cols[4]
    cdef uint64_t nbytes = 0, v = 0, n_keys = 0, j
    cdef const unsigned char* p = NULL
    cdef Py_ssize_t n_cps = 0, np, n, i, total = 0, cap
    cdef int32_t* o
    if chk_uleb64(r, &nbytes) < 0 or nbytes > <uint64_t>reader_remaining(r):
        return 0
    p = r.data + r.pos
    r.pos += <Py_ssize_t>nbytes
    if ascii_only(p, <Py_ssize_t>nbytes):
        n_cps = <Py_ssize_t>nbytes
    elif not utf8_ok(p, <Py_ssize_t>nbytes):
        return 0
    else:
        for i in range(<Py_ssize_t>nbytes):
            n_cps += (p[i] & 0xC0) != 0x80
    np = seq_peers(r, tab, lists)
    if np < 0 or chk_uleb64(r, &v) < 0 or v != 3:
        return 0
    # (each style start has a mark row and at most one end: read_ids' bound)
    cap = n_cps + 2 * reader_remaining(r)
    if chk_cols(r, 4, cols) < 0:
        return 0
    n = chk_rle_count(cols[0], cap)
    if n < 0 or (n > 0 and np == 0):
        return 0
    o = lists.scratch(3 * n + 3) if 3 * n + 3 > lists.bcap else lists.buf
    if (chk_delta(&cols[0], n, o, 0, np - 1) < 0
            or chk_delta(&cols[1], n, o + 1, 0, INT32_MAX) < 0
            or chk_delta(&cols[3], n, o + 2, -1, INT32_MAX) < 0):
        return 0
    for i in range(n):
        if o[3 * i + 2] <= 0:
            return 0        # (a style anchor: the decoder reads the marks)
        total += o[3 * i + 2]
    if total != n_cps:
        return 0
    # (no anchor: its style keys are read, and it may hold no mark row)
    if chk_uleb64(r, &n_keys) < 0 or n_keys > <uint64_t>reader_remaining(r):
        return 0
    for j in range(n_keys):
        if chk_uleb64(r, &v) < 0 or v > <uint64_t>reader_remaining(r):
            return 0
        p = r.data + r.pos
        r.pos += <Py_ssize_t>v
        if not ascii_only(p, <Py_ssize_t>v) and not utf8_ok(p, <Py_ssize_t>v):
            return 0
    if chk_uleb64(r, &v) < 0 or v != 0 or not reader_at_end(r):
        return 0
    seq_ids_ok(lists, o, n)
    return 1


# a movable list state's item count beyond which the C check leaves it to the decoder (its
# invisible items are counts: a few bytes may claim any number)
cdef Py_ssize_t ML_CHECK_MAX = 1 << 26


cdef int movable_list_state_ok(Reader* r, const VvTab* tab, ListCheck lists) except -1:
    """decode_movable_list_state's checks, in C (its values as list_values_ok takes them):
    1, or 0 where the decoder may raise (it decides; as list_state_ok, only the last step
    notes ids)."""
    cdef Reader items[3]
    cdef Reader item_ids[3]
    cdef Reader elem_ids[2]
    cdef Reader set_ids[2]
    cdef uint64_t v = 0, key, h, mask
    cdef int64_t n_vals = list_values_ok(r, tab), lamport
    cdef Py_ssize_t np, n_items, i, k, n_e = 0, n_s = 0, e_at = 0, cap
    cdef int32_t* inv_col = NULL
    cdef uint8_t* eq = NULL
    cdef int32_t* o = NULL
    cdef int32_t* es = NULL
    cdef uint64_t* seen_el = NULL
    cdef int pidx
    if n_vals < 0:
        return 0
    np = seq_peers(r, tab, lists)
    if (np < 0 or chk_uleb64(r, &v) < 0 or v != 4 or chk_cols(r, 3, items) < 0
            or chk_cols(r, 3, item_ids) < 0 or chk_cols(r, 2, elem_ids) < 0
            or chk_cols(r, 2, set_ids) < 0 or not reader_at_end(r)):
        return 0
    try:
        inv_col = <int32_t*>xalloc_raw(3 * (n_vals + 1), sizeof(int32_t))
        eq = <uint8_t*>xalloc_raw(2 * (n_vals + 1), 1)
        if (chk_delta(&items[0], n_vals + 1, inv_col, 0, INT32_MAX) < 0
                or chk_bools(&items[1], n_vals + 1, eq) < 0
                or chk_bools(&items[2], n_vals + 1, eq + n_vals + 1) < 0):
            return 0
        n_items = n_vals
        for i in range(n_vals + 1):
            n_items += inv_col[3 * i]
            if n_items > ML_CHECK_MAX:
                return 0
        if n_items > 0 and np == 0:
            return 0
        # the list items' ids and Lamports (lamport - counter in the third slot's place)
        o = <int32_t*>xalloc_raw(3 * n_items, sizeof(int32_t))
        if (chk_delta(&item_ids[0], n_items, o, 0, np - 1) < 0
                or chk_delta(&item_ids[1], n_items, o + 1, 0, INT32_MAX) < 0
                or chk_delta(&item_ids[2], n_items, o + 2, -2147483648, INT32_MAX) < 0):
            return 0
        for i in range(n_items):
            lamport = <int64_t>o[3 * i + 1] + <int64_t>o[3 * i + 2]
            if lamport < 0 or lamport > UINT32_MAX:
                return 0
            o[3 * i + 2] = <int32_t><uint32_t>lamport
        for i in range(1, n_vals + 1):
            n_e += eq[i] == 0
            n_s += eq[n_vals + 1 + i] == 0
        if (n_e or n_s) and np == 0:
            return 0
        es = <int32_t*>xalloc_raw(3 * (n_e + n_s) + 3, sizeof(int32_t))
        if (chk_delta(&elem_ids[0], n_e, es, 0, max(np - 1, 0)) < 0
                or chk_delta(&elem_ids[1], n_e, es + 1, 0, INT32_MAX) < 0
                or chk_delta(&set_ids[0], n_s, es + 3 * n_e, 0, max(np - 1, 0)) < 0
                or chk_delta(&set_ids[1], n_s, es + 3 * n_e + 1, 0, INT32_MAX) < 0):
            return 0
        # each element named once (decode_movable_list_state's hash set of (peer index,
        # Lamport)): an element on its item, or the one its column names
        cap = 16
        while cap < 2 * n_vals + 2:
            cap <<= 1
        mask = <uint64_t>(cap - 1)
        seen_el = <uint64_t*>xalloc(cap, sizeof(uint64_t))
        k = inv_col[0]
        for i in range(1, n_vals + 1):
            if eq[i]:
                pidx = o[3 * k]
                key = (<uint64_t>pidx << 32) | <uint64_t><uint32_t>o[3 * k + 2]
            else:
                pidx = es[3 * e_at]
                key = (<uint64_t>pidx << 32) | <uint64_t><uint32_t>es[3 * e_at + 1]
                e_at += 1
            h = ((key + 1) * <uint64_t>0x9E3779B97F4A7C15ULL >> 32) & mask
            while seen_el[h] != 0:
                if seen_el[h] == key + 1:
                    return 0
                h = (h + 1) & mask
            seen_el[h] = key + 1
            k += 1 + inv_col[3 * i]
        # (the ids: one per item, checked as list_item_ids does; len 1 in the third slot)
        for i in range(n_items):
            o[3 * i + 2] = 1
        seq_ids_ok(lists, o, n_items)
    finally:
        free(inv_col)
        free(eq)
        free(o)
        free(es)
        free(seen_el)
    return 1


cdef enum:
    SEQ_REFUSED = 0
    SEQ_OK = 1
    SEQ_UNSURE = 2      # the C check stopped before noting its ids: the decoder decides


cdef int seq_entry_ok(Reader* r, int kind, const VvTab* tab, ListCheck lists) except -1:
    """A sequence state's C check, its header read (SEQ_*); raises only MemoryError."""
    cdef int got
    if lists.seen is None:
        lists.ready()
    try:
        if kind == KIND_LIST:
            got = list_state_ok(r, tab, lists)
        elif kind == KIND_TEXT:
            got = text_state_ok(r, tab, lists)
        else:
            got = movable_list_state_ok(r, tab, lists)
    except MemoryError:
        raise
    except Exception:
        return SEQ_REFUSED
    return SEQ_OK if got else SEQ_UNSURE


cdef bint plain_value(object v, int depth):
    """Whether `v` holds no container id (nested lists and maps walked)."""
    if isinstance(v, _types.ContainerID):
        return False
    if depth == 0:
        return False
    if type(v) is list:
        for x in <list>v:
            if not plain_value(x, depth - 1):
                return False
    elif type(v) is dict:
        for x in (<dict>v).values():
            if not plain_value(x, depth - 1):
                return False
    return True


cdef int64_t list_values_ok(Reader* r, const VvTab* vv) noexcept nogil:
    """decode_list_state's checks of a List state's values (a postcard Vec<LoroValue>, as
    ephemeral_codec.decode_state_values reads it), none decoded, and list_entry_ok's: an
    item's container is a child map or counter its history created, a nested value holds
    none. Their count, or -1."""
    cdef uint64_t n = 0, j
    cdef unsigned char tag
    if chk_uleb64(r, &n) < 0 or n > <uint64_t>(r.len - r.pos):
        return -1
    for j in range(n):
        if r.pos >= r.len:
            return -1
        tag = r.data[r.pos]
        if tag == 3:
            # (an i64, the usual item)
            r.pos += 1
            if skip_uleb64(r) < 0:
                return -1
        elif tag == 5 or tag == 6:
            if not value_ok(r, 512, NULL, 0):
                return -1
        elif not child_id_ok(r, vv, TOP_LIST) and not value_ok(r, 512, vv, TOP_LIST):
            return -1
    return <int64_t>n


cdef object checked_list_row(bytes key, bytes value, dict vv, const VvTab* tab, _IdBits seen):
    """decode_container_state's row of a List's entry with its values checked and left
    encoded (list_values_ok): (cid, KIND_LIST, (None, peers, packed ids, entry, where the
    values start)); the document decodes them when it builds the list (thin_load_states:
    checked_list_values). None when the entry is not one the check takes; raises
    DecodeError as the decoder does."""
    cdef Reader r
    cdef uint8_t kind_byte = 0, flag = 0
    cdef uint64_t depth = 0, v = 0
    cdef Py_ssize_t pos
    cdef int64_t n
    cid = cid_of_key(key)
    if not (key[0] & 0x80) and key_beyond(key, cid, vv):
        return None
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    r_u8(&r, &kind_byte)
    if kind_byte != KIND_LIST:
        return None
    r_uleb(&r, &depth)
    r_u8(&r, &flag)
    if flag > 1:
        return None
    if flag == 1:
        skip_postcard_cid(&r)
    pos = r.pos
    n = list_values_ok(&r, tab)
    if n < 0:
        return None
    peers = read_peer_table_shared(&r)
    r_uleb(&r, &v)
    if v != 1:
        return None
    got = read_ids(&r, peers, False, vv, <Py_ssize_t>n, False, seen)
    if got is None or got[1] != n:
        return None
    r_end(&r, "a container state")
    return (cid, KIND_LIST, (None, peers, got[0], value, pos))


cdef int list_entry_ok(const unsigned char* kp, Py_ssize_t kn, const unsigned char* vp,
                       Py_ssize_t vn, ListCheck lists, int entry_kind, const VvTab* tab) except -1:
    """A list's (or a text's) entry as the decoder reads it (1 / 0), its rows kept in `lists`: its items
    plain values or child maps and counters the history created (as a map's own values,
    map_state_ok), no root id anywhere."""
    cdef object kind
    cdef object cid_type = _types.ContainerID
    cdef object normal_type = CID_NORMAL
    cdef object ct, last_ct = None
    key = PyBytes_FromStringAndSize(<const char*>kp, kn)
    if lists.seen is None:
        lists.seen = _IdBits(lists.vv)
    if entry_kind == KIND_LIST:
        try:
            row = checked_list_row(key, PyBytes_FromStringAndSize(<const char*>vp, vn),
                                   lists.vv, tab, lists.seen)
        except MemoryError:
            raise
        except Exception:
            return 0
        if row is None:
            return 0
        lists.rows[key] = row
        return 1
    try:
        row = decode_container_state(key, PyBytes_FromStringAndSize(<const char*>vp, vn),
                                     lists.vv, lists.seen, None, True, False)
    except MemoryError:
        raise
    except Exception:
        return 0
    if row is None or row is False:
        return 0
    if entry_kind == KIND_TEXT:
        # (a text's state holds no container: its row as the decoder made it)
        lists.rows[key] = row
        return 1
    for v in (<tuple>row)[2][0]:
        t = type(v)
        if t is int or t is str or t is float or t is bool or t is bytes or v is None:
            continue    # (most items: no isinstance, which looks ContainerID's hook up)
        if t is normal_type:
            # (the decoder checked its peer and counter: its type alone, once per type)
            ct = v.container_type
            if ct is not last_ct:
                kind = _KIND_OF_CLASS.get(type(ct))
                if kind is None or (kind != KIND_MAP and kind != KIND_COUNTER):
                    return 0
                last_ct = ct
        elif isinstance(v, cid_type):
            if isinstance(v, CID_ROOT):
                return 0
            kind = _KIND_OF_CLASS.get(type(v.container_type))
            if kind is None or (kind != KIND_MAP and kind != KIND_COUNTER):
                return 0
        elif (type(v) is list or type(v) is dict) and not plain_value(v, 512):
            return 0
    lists.rows[key] = row
    return 1


# seq_entry_ok, called through a pointer so that the compiler does not inline the three
# sequence checks into the entry loop: the loop grew past its inlining limits and stopped
# inlining map_state_ok, which made a state of maps (or a tree's meta maps) a fifth slower
ctypedef int (*SeqCheck)(Reader*, int, const VvTab*, ListCheck) except -1
cdef SeqCheck seq_check = seq_entry_ok


cdef int state_entry_ok(const unsigned char* kp, Py_ssize_t kn, const unsigned char* vp,
                        Py_ssize_t vn, const VvTab* vv, KeySlice** scratch,
                        Py_ssize_t* cap, ListCheck lists, dict vvd) except -1:
    """decode_container_state's checks of one entry (1 / 0); `vvd`: `vv` as a dict."""
    cdef Reader r
    cdef int kind
    cdef uint64_t peer = 0, depth = 0, n = 0
    cdef int32_t counter = 0
    cdef uint8_t b = 0, flag = 0, tag = 0
    cdef const unsigned char* p = NULL
    cdef int seq
    if kn == 0:
        return 0
    if kp[0] & 0x80:
        # a root: its name's rules are ContainerID's (few of them: decoded)
        try:
            cid = cid_of_key(PyBytes_FromStringAndSize(<const char*>kp, kn))
            kind = kind_of_type(cid.container_type)
        except Exception:
            return 0
    else:
        if kn != 13:
            return 0
        kind = _raw_kind[kp[0] & 0x7F]
        memcpy(&peer, kp + 1, 8)
        memcpy(&counter, kp + 9, 4)
        if counter >= vv_end(vv, peer):
            return 0
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST or kind == KIND_TEXT:
        if lists is None:
            return 0
    elif kind != KIND_MAP and kind != KIND_COUNTER and kind != KIND_TREE:
        return 0
    reader_init(&r, vp, vn)
    if read_u8(&r, &b) < 0 or b != kind:
        return 0
    if chk_uleb64(&r, &depth) < 0 or read_u8(&r, &flag) < 0 or flag > 1:
        return 0
    if flag == 1:
        # the parent's postcard id (skip_postcard_cid)
        if read_u8(&r, &tag) < 0:
            return 0
        if tag == 0:
            if chk_uleb64(&r, &n) < 0 or n > <uint64_t>reader_remaining(&r):
                return 0
            read_bytes(&r, <Py_ssize_t>n, &p)
        elif tag == 1:
            if chk_uleb64(&r, &n) < 0 or skip_uleb64(&r) < 0:
                return 0
        else:
            return 0
        if read_u8(&r, &b) < 0:
            return 0
    if kind == KIND_COUNTER:
        return 1 if reader_remaining(&r) == 8 else 0
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST or kind == KIND_TEXT:
        # checked in C and left encoded (the deferred load decodes it when first read);
        # one the C check is unsure of is decoded here and its row kept (a movable list's
        # own state as a list's: the maps beside it stay encoded)
        seq = seq_check(&r, kind, vv, lists)
        if seq == SEQ_UNSURE:
            return list_entry_ok(kp, kn, vp, vn, lists, kind, vv)
        return seq
    if kind == KIND_TREE:
        # (its columns checked in C; a node's meta map is a map entry of its own)
        return tree_state_ok(&r, vvd)
    return map_state_ok(&r, vv, scratch, cap)


cdef extern from *:
    """
    #include <string.h>
    /* memcmp's order of two short keys (a state key is 13 bytes), compared a word at a
       time in the loop itself: libc's call cost more than the compare, once per entry */
    static inline int lc_key_cmp(const unsigned char *a, Py_ssize_t an,
                                 const unsigned char *b, Py_ssize_t bn) {
        Py_ssize_t m = an < bn ? an : bn, i = 0;
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        for (; i + 8 <= m; i += 8) {
            uint64_t x, y;
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) {
                x = __builtin_bswap64(x);
                y = __builtin_bswap64(y);
                return x < y ? -1 : 1;
            }
        }
    #endif
        for (; i < m; i++)
            if (a[i] != b[i])
                return a[i] < b[i] ? -1 : 1;
        return an < bn ? -1 : (an > bn ? 1 : 0);
    }
    /* memcpy of a key's few bytes in fixed-size moves: the compiler's inlined memcpy of a
       variable length (rep movsq) took a third of the check loop's own time */
    static inline void lc_copy_short(unsigned char *d, const unsigned char *s, Py_ssize_t n) {
        if (n >= 8 && n <= 16) {
            memcpy(d, s, 8);
            memcpy(d + n - 8, s + n - 8, 8);
        } else if (n >= 4 && n < 8) {
            memcpy(d, s, 4);
            memcpy(d + n - 4, s + n - 4, 4);
        } else if (n > 0 && n < 4) {
            d[0] = s[0];
            d[n / 2] = s[n / 2];
            d[n - 1] = s[n - 1];
        } else if (n > 16) {
            memcpy(d, s, (size_t)n);
        }
    }
    """
    int lc_key_cmp(const unsigned char* a, Py_ssize_t an, const unsigned char* b,
                   Py_ssize_t bn) noexcept nogil
    void lc_copy_short(unsigned char* d, const unsigned char* s, Py_ssize_t n) noexcept nogil


cdef inline int sst_keys_check(const unsigned char* prev, Py_ssize_t pn, const unsigned char* key,
                               Py_ssize_t kn) noexcept nogil:
    """1 when `key` is non-empty and sorts after `prev` (pn < 0: no key before)."""
    if kn == 0:
        return 0
    if pn < 0:
        return 1
    return 1 if lc_key_cmp(prev, pn, key, kn) < 0 else 0


cdef int state_section_ok(Reader* sec, dict vv, ListCheck lists=None,
                          list bodies=None) except -1:
    """1 when load_snapshot_state's decode of this (non-empty) state section takes every
    entry, all of them maps, counters and trees (the SSTable's own checks included: sst_entries',
    entry by entry without bytes objects), and with `lists` non-root lists too (decoded
    into it); 0 otherwise. `bodies` receives each block's body, decompressed (the
    deferred load reads them: lazy_state_rows). Raises only MemoryError."""
    cdef VvTab tab
    cdef KeySlice* scratch = NULL
    cdef Py_ssize_t cap = 0, meta_off = 0, nblocks, i, e, off, end, n, cnt, data_end, pl, sl
    cdef Py_ssize_t kn, vstart, pn = -1
    cdef unsigned char* keybuf = NULL
    cdef unsigned char* prevbuf = NULL
    cdef unsigned char* swap
    cdef const unsigned char* bp
    cdef const unsigned char* fk
    cdef Py_ssize_t fkn
    cdef uint8_t flags
    cdef int ok = 1
    kind_tables()
    tab.peers = NULL
    tab.ends = NULL
    # a key is a first key's prefix (< 64 KiB) and a suffix (< 64 KiB)
    keybuf = <unsigned char*>malloc(2 * 65536)
    prevbuf = <unsigned char*>malloc(2 * 65536)
    try:
        if keybuf == NULL or prevbuf == NULL:
            raise MemoryError()
        vv_tab_fill(&tab, vv)
        try:
            metas = sst_metas(sec, &meta_off)
        except DecodeError:
            return 0
        nblocks = len(metas)
        for i in range(nblocks):
            off, first_key, flags, last_key = metas[i]
            end = sst_block_end(metas, i, meta_off)
            if end < 0:
                return 0
            try:
                body = sst_block_body(sec.data, off, end, flags)
            except DecodeError:
                return 0
            if bodies is not None:
                bodies.append(body)
            bp = <const unsigned char*>PyBytes_AS_STRING(body)
            n = PyBytes_GET_SIZE(body)
            fk = <const unsigned char*>PyBytes_AS_STRING(first_key)
            fkn = PyBytes_GET_SIZE(first_key)
            if flags & 0x80:
                # a large value: its block holds the one entry
                if not sst_keys_check(prevbuf, pn, fk, fkn):
                    return 0
                if not entry_ok(fk, fkn, bp, n, &tab, &scratch, &cap, lists, vv):
                    return 0
                memcpy(prevbuf, fk, <size_t>fkn)
                pn = fkn
                continue
            # sst_block_entries' checks
            if n < 2:
                return 0
            cnt = bp[n - 2] | (<Py_ssize_t>bp[n - 1] << 8)
            if cnt == 0 or 2 * (cnt + 1) > n:
                return 0
            data_end = n - 2 * (cnt + 1)
            if data_end > 0xFFFF:
                return 0
            for e in range(cnt):
                off = bp[data_end + 2 * e] | (<Py_ssize_t>bp[data_end + 2 * e + 1] << 8)
                if e + 1 < cnt:
                    end = bp[data_end + 2 * e + 2] | (<Py_ssize_t>bp[data_end + 2 * e + 3] << 8)
                else:
                    end = data_end
                if (e == 0 and off != 0) or off > end or end > data_end:
                    return 0
                if e == 0:
                    lc_copy_short(keybuf, fk, fkn)
                    kn = fkn
                    vstart = off
                else:
                    if end - off < 3:
                        return 0
                    pl = bp[off]
                    sl = bp[off + 1] | (<Py_ssize_t>bp[off + 2] << 8)
                    if pl > fkn or sl > end - off - 3:
                        return 0
                    lc_copy_short(keybuf, fk, pl)
                    lc_copy_short(keybuf + pl, bp + off + 3, sl)
                    kn = pl + sl
                    vstart = off + 3 + sl
                if not sst_keys_check(prevbuf, pn, keybuf, kn):
                    return 0
                if not entry_ok(keybuf, kn, bp + vstart, end - vstart, &tab, &scratch, &cap, lists, vv):
                    return 0
                swap = prevbuf
                prevbuf = keybuf
                keybuf = swap
                pn = kn
            # the block's last key is its metadata's
            if last_key is None or pn != PyBytes_GET_SIZE(last_key) or (
                    pn > 0 and memcmp(prevbuf, PyBytes_AS_STRING(last_key), <size_t>pn) != 0):
                return 0
        return ok
    finally:
        free(tab.peers)
        free(tab.ends)
        free(keybuf)
        free(prevbuf)
        free(scratch)


cdef int entry_ok(const unsigned char* kp, Py_ssize_t kn, const unsigned char* vp,
                  Py_ssize_t vn, const VvTab* vv, KeySlice** scratch,
                  Py_ssize_t* cap, ListCheck lists, dict vvd) except -1:
    """One state entry: the frontiers ("fr", decoded: one per section) or a container's."""
    if kn == 2 and kp[0] == 0x66 and kp[1] == 0x72:
        try:
            decode_frontiers_bytes(PyBytes_FromStringAndSize(<const char*>vp, vn),
                                   "the state frontiers")
        except Exception:
            return 0
        return 1
    return state_entry_ok(kp, kn, vp, vn, vv, scratch, cap, lists, vvd)
