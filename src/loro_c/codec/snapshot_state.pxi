# Loading a FastSnapshot's state section into an empty document (issue 11): the containers'
# visible state is decoded and checked here (phase 1, nothing of the document touched), then
# handed to the document, which builds each state in one pass (_doc.thin_load, phase 2) and
# keeps the blob: its change blocks stay undecoded until something needs history.

from loro_c import ephemeral_codec as _ephemeral


def load_snapshot_state(LoroDoc doc, bytes data not None, bint defer=True, tuple head=None):
    """Load a mode-3 blob into the empty `doc` from its state section. Returns the
    ImportStatus, or None (the document untouched) when the blob is not one this path
    loads: a shallow snapshot, a state left out, or a kind whose state is not read here;
    the caller then replays the history. A malformed or lying blob raises DecodeError
    with the document untouched. With `defer`, a state the check pass takes whole is
    left encoded (thin_defer). `head`: the oplog's (version vector, frontiers) that
    shallow_parts read from this very bytes object, its envelope checksum and oplog
    SSTable checked there (the import's probe), so neither is walked again."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef dict vv
    cdef ListCheck lists
    parse_envelope(data, head is None, &mode, &body)
    check_mode(mode)
    if mode != MODE_SNAPSHOT:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0 or secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        return None
    got = snapshot_oplog_version(&secs[0]) if head is None else head
    if got is None:
        return None
    vv, fr = got
    lists = ListCheck(vv) if defer else None
    bodies = [] if defer else None
    if defer and state_section_ok(&secs[1], vv, lists, bodies):
        # checked whole (codec/state_check.pxi): decoded when the document is first read,
        # but for the lists the check decoded; its blocks are kept decompressed
        thin_defer(doc, data, vv, list((<Frontiers>fr)._ids), lists.rows or None, bodies)
    else:
        rows = state_rows(&secs[1], vv)
        if rows is None:
            return None
        thin_load(doc, rows, data, vv, list((<Frontiers>fr)._ids))
    return _types.ImportStatus(_types.VersionRange.from_map({p: (0, e) for p, e in vv.items()}),
                               None)


cdef list state_rows(Reader* sec, dict vv, bint lazy_maps=False, dict decoded=None,
                     list bodies=None, LazyChildren children=None):
    """The (cid, kind, payload) rows of a state section for thin_load, or None when one
    entry's state is not read here. With `lazy_maps` (a section state_section_ok checked
    whole), a map's payload is its encoded entry and where its state starts (decode_lazy_map
    reads it when the map is first read); `decoded`: the rows of the entries that check
    decoded already, by key (ListCheck); `children`: where the child maps go instead of
    rows (lazy_state_rows)."""
    cdef Py_ssize_t pos
    seen = _IdBits(vv)
    rows = []
    if lazy_maps:
        kind_tables()
        return lazy_state_rows(sec, vv, decoded, seen, rows, bodies, children)
    for key, value in sst_entries(sec):
        if key == b"fr":
            decode_frontiers_bytes(value, "the state frontiers")
            continue
        if decoded is not None:
            row = decoded.get(key)
            if row is not None:
                rows.append(row)
                continue
        if lazy_maps:
            pos = lazy_child_map_pos(key, value)
            if pos >= 0:
                # (checked whole by state_section_ok: only where its state starts is read)
                rows.append((cid_of_key(key), KIND_MAP, (value, pos)))
                continue
        row = decode_container_state(key, value, vv, seen, None, True, lazy_maps)
        if row is None:
            return None
        if row is not False:
            rows.append(row)
    return rows


cdef object key_cid(const unsigned char* kp):
    """cid_of_key of the normal 13-byte state key at `kp`: the id its parent's value
    decodes to, the same object while the ephemeral codec's C table keeps it (cid_of_key's
    dict wants the key as bytes, hashed with SipHash: a deferred load of 20,000 maps spent
    a tenth of its build there)."""
    cdef uint64_t peer
    cdef int32_t counter
    if kp[0] < N_KINDS:
        memcpy(&peer, kp + 1, 8)
        memcpy(&counter, kp + 9, 4)
        return eph_normal_cid(peer, counter, <uint8_t>lc_kind_historical(kp[0]))
    return cid_of_key(PyBytes_FromStringAndSize(<const char*>kp, 13))


cdef Py_ssize_t lazy_map_state_pos(const unsigned char* kp, Py_ssize_t kn,
                                   const unsigned char* vp, Py_ssize_t vn) noexcept:
    """lazy_child_map_pos of a key and entry given by pointers."""
    cdef Reader r
    cdef uint8_t b = 0, flag = 0
    cdef uint64_t depth = 0
    if kn != 13 or kp[0] & 0x80 or _raw_kind[kp[0] & 0x7F] != KIND_MAP:
        return -1
    reader_init(&r, vp, vn)
    if (read_u8(&r, &b) < 0 or b != KIND_MAP or read_uleb64(&r, &depth) < 0
            or read_u8(&r, &flag) < 0 or flag > 1):
        return -1
    if flag == 1:
        try:
            if skip_postcard_cid(&r) == POSTCARD_TREE:
                return -1
        except Exception:
            return -1
    return r.pos


cdef list lazy_state_rows(Reader* sec, dict vv, dict decoded, _IdBits seen, list rows,
                          list bodies, LazyChildren children=None):
    """state_rows(lazy_maps=True) of a section state_section_ok took whole: the SSTable
    walked as that check walks it, each key written straight into its bytes, so a child
    map's row costs its key's and entry's bytes and its id from the cache (cid_of_key)
    and nothing else: no pair per entry, no key built from slices. With `children`, a
    child map costs less still: where its entry lies is noted there (a C record), no row."""
    cdef Py_ssize_t meta_off = 0, nblocks, i, e, off, end, n, cnt, data_end, pl, sl
    cdef Py_ssize_t vstart
    cdef const unsigned char* bp
    cdef const unsigned char* fk
    cdef Py_ssize_t fkn
    cdef uint8_t flags
    cdef bytes key
    cdef unsigned char kbuf[16]
    cdef const unsigned char* kp
    cdef Py_ssize_t kn, pos
    cdef ListRows lists
    if sec.len == 0:
        return rows
    lists = ListRows(vv)
    metas = sst_metas(sec, &meta_off)
    nblocks = len(metas)
    if bodies is not None and len(bodies) != nblocks:
        bodies = None
    for i in range(nblocks):
        off, first_key, flags, last_key = metas[i]
        end = sst_block_end(metas, i, meta_off)
        if end < 0:
            fail("bad SSTable block range")
        if bodies is not None:
            body = bodies[i]        # (the check's, state_section_ok)
        else:
            body = sst_block_body(sec.data, off, end, flags)
        if children is not None:
            children.bodies.append(body)
        if flags & 0x80:
            if lazy_state_row(first_key, body, vv, decoded, seen, rows, lists) < 0:
                return None
            continue
        bp = <const unsigned char*>PyBytes_AS_STRING(body)
        n = PyBytes_GET_SIZE(body)
        fk = <const unsigned char*>PyBytes_AS_STRING(first_key)
        fkn = PyBytes_GET_SIZE(first_key)
        if n < 2:
            fail("SSTable block is too short")
        cnt = bp[n - 2] | (<Py_ssize_t>bp[n - 1] << 8)
        if cnt == 0 or 2 * (cnt + 1) > n:
            fail("bad SSTable block entry count")
        data_end = n - 2 * (cnt + 1)
        for e in range(cnt):
            off = bp[data_end + 2 * e] | (<Py_ssize_t>bp[data_end + 2 * e + 1] << 8)
            if e + 1 < cnt:
                end = bp[data_end + 2 * e + 2] | (<Py_ssize_t>bp[data_end + 2 * e + 3] << 8)
            else:
                end = data_end
            if off > end or end > data_end:
                fail("bad SSTable entry offsets")
            if e == 0:
                vstart = off
                kp = fk
                kn = fkn
            else:
                if end - off < 3:
                    fail("truncated SSTable entry")
                pl = bp[off]
                sl = bp[off + 1] | (<Py_ssize_t>bp[off + 2] << 8)
                if pl > fkn or sl > end - off - 3:
                    fail("bad SSTable entry key")
                kn = pl + sl
                vstart = off + 3 + sl
                if kn <= 13:
                    lc_copy_short(kbuf, fk, pl)
                    lc_copy_short(kbuf + pl, bp + off + 3, sl)
                    kp = kbuf
                else:
                    kp = NULL
            if kp != NULL:
                pos = lazy_map_state_pos(kp, kn, bp + vstart, end - vstart)
                if pos >= 0 and children is not None:
                    children.add(kp, i, vstart, end - vstart, pos)
                    continue
                if pos >= 0:
                    # a child map (lazy_state_row's first case, without the key's bytes)
                    payload = (PyBytes_FromStringAndSize(<const char*>bp + vstart, end - vstart),
                               pos)
                    PyObject_GC_UnTrack(payload)
                    row = (key_cid(kp), KIND_MAP, payload)
                    PyObject_GC_UnTrack(row)
                    rows.append(row)
                    continue
            if e == 0:
                key = first_key
            else:
                key = PyBytes_FromStringAndSize(NULL, kn)
                memcpy(PyBytes_AS_STRING(key), fk, <size_t>pl)
                memcpy(PyBytes_AS_STRING(key) + pl, bp + off + 3, <size_t>sl)
            value = PyBytes_FromStringAndSize(<const char*>bp + vstart, end - vstart)
            if lazy_state_row(key, value, vv, decoded, seen, rows, lists) < 0:
                return None
    return rows


ctypedef struct ChildRec:
    unsigned char key[13]   # its state key (a normal map's id)
    uint8_t done            # handed out (find or register_rest)
    int32_t blk             # the SSTable block holding its entry (LazyChildren.bodies)
    int32_t vstart, vlen    # the entry's bytes in that block
    int32_t pos             # where its state starts in the entry (lazy_map_state_pos)


cdef class LazyChildren:
    """The child maps of a deferred state that its load has not registered yet (_doc
    thin_build_pending): each one's state key and where its entry lies in the section's
    decompressed blocks, as C records in the state's (key) order; no Python object per
    map. A map is registered when something names it (find: a binary search of the keys,
    its row the one lazy_state_rows would have made) or all of them at once
    (register_rest)."""
    cdef list bodies
    cdef ChildRec* recs
    cdef Py_ssize_t n, cap, left

    def __cinit__(self):
        self.bodies = []
        self.recs = NULL
        self.n = self.cap = self.left = 0

    def __dealloc__(self):
        free(self.recs)

    def __len__(self):
        return self.left

    cdef int add(self, const unsigned char* kp, Py_ssize_t blk, Py_ssize_t vstart,
                 Py_ssize_t vlen, Py_ssize_t pos) except -1:
        cdef ChildRec* grown
        cdef ChildRec* r
        if self.n == self.cap:
            self.cap = self.cap * 2 if self.cap else 256
            grown = <ChildRec*>realloc(self.recs, <size_t>self.cap * sizeof(ChildRec))
            if grown == NULL:
                raise MemoryError()
            self.recs = grown
        r = &self.recs[self.n]
        memcpy(r.key, kp, 13)
        r.done = 0
        r.blk = <int32_t>blk
        r.vstart = <int32_t>vstart
        r.vlen = <int32_t>vlen
        r.pos = <int32_t>pos
        self.n += 1
        self.left += 1
        return 0

    cdef tuple row(self, Py_ssize_t i):
        cdef ChildRec* r = &self.recs[i]
        body = self.bodies[r.blk]
        payload = (PyBytes_FromStringAndSize(PyBytes_AS_STRING(body) + r.vstart, r.vlen),
                   r.pos)
        PyObject_GC_UnTrack(payload)
        r.done = 1
        self.left -= 1
        row = (key_cid(r.key), KIND_MAP, payload)
        PyObject_GC_UnTrack(row)        # (acyclic, as lazy_state_rows's rows)
        return row

    def find(self, cid):
        """The row of child map `cid` when it is one of these not handed out yet (then
        handed out), else None."""
        cdef unsigned char key[13]
        cdef uint64_t peer
        cdef int32_t counter
        cdef Py_ssize_t lo = 0, hi = self.n, mid
        cdef int cmp
        if self.left == 0 or not isinstance(cid, _types.ContainerID.Normal):
            return None
        if kind_of_type(cid.container_type) != KIND_MAP:
            return None
        peer = cid.peer
        counter = cid.counter
        key[0] = self.recs[0].key[0]        # (every record is a map's: one type byte)
        memcpy(key + 1, &peer, 8)
        memcpy(key + 9, &counter, 4)
        while lo < hi:
            mid = (lo + hi) >> 1
            cmp = memcmp(self.recs[mid].key, key, 13)
            if cmp == 0:
                if self.recs[mid].done:
                    return None
                return self.row(mid)
            if cmp < 0:
                lo = mid + 1
            else:
                hi = mid
        return None

    def register_rest(self, LoroDoc d not None):
        """Register those not handed out yet in `d`, in the state's order, their entries
        in `d.thin_lazy` (_doc thin_register_rest, which holds the numbering; none of them
        is registered yet): no row built for each."""
        cdef Py_ssize_t i
        cdef ChildRec* r
        cdef LazyMaps lazy = d.thin_lazy
        cdef uint32_t c
        try:
            for i in range(self.n):
                r = &self.recs[i]
                if r.done:
                    continue
                body = self.bodies[r.blk]
                payload = (PyBytes_FromStringAndSize(PyBytes_AS_STRING(body) + r.vstart,
                                                     r.vlen), r.pos)
                PyObject_GC_UnTrack(payload)
                r.done = 1
                self.left -= 1
                c = container_register(d, key_cid(r.key), KIND_MAP)
                lazy.put(c, payload)
        finally:
            # (nothing is left to find: the records and blocks go now, not with the document)
            free(self.recs)
            self.recs = NULL
            self.n = self.cap = self.left = 0
            self.bodies = []


cdef int lazy_state_row(bytes key, bytes value, dict vv, dict decoded, _IdBits seen,
                        list rows, ListRows lists=None) except -2:
    """One entry's row for lazy_state_rows (-1: a state this path does not read); `lists`:
    a List's row is the check pass's, its values left encoded."""
    cdef Py_ssize_t pos
    if PyBytes_GET_SIZE(key) == 2 and key == b"fr":
        decode_frontiers_bytes(value, "the state frontiers")
        return 0
    if decoded is not None:
        row = decoded.get(key)
        if row is not None:
            rows.append(row)
            return 0
    pos = lazy_child_map_pos(key, value)
    if pos >= 0:
        # (checked whole by state_section_ok: only where its state starts is read). Both
        # tuples hold ids, bytes and ints, so no cycle goes through them: untracked, the
        # cyclic collector does not walk them (the payloads stay, as many as the maps,
        # until each map is built; the collector untracks them too, but only after walking
        # them once per generation: a tenth of the build of 20,000 maps)
        payload = (value, pos)
        PyObject_GC_UnTrack(payload)
        row = (cid_of_key(key), KIND_MAP, payload)
        PyObject_GC_UnTrack(row)
        rows.append(row)
        return 0
    if lists is not None and PyBytes_GET_SIZE(key) > 0 and _raw_kind[key[0] & 0x7F] == KIND_LIST:
        row = checked_list_row_of(lists, key, value, seen)
        if row is not None:
            keep_row(rows, row)
            return 0
    row = decode_container_state(key, value, vv, seen, None, True, True)
    if row is None:
        return -1
    if row is not False:
        keep_row(rows, row)
    return 0


cdef int keep_row(list rows, tuple row) except -1:
    """rows.append(row), the row and its payload untracked by the cyclic collector: both
    are fresh from the decoder and nothing they hold refers back to them, so no cycle goes
    through them, and a state of thousands of small texts and lists made the collections
    during its build walk each of them (a text's payload stays, in thin_texts)."""
    PyObject_GC_UnTrack(row)
    if type(row[2]) is tuple:
        PyObject_GC_UnTrack(row[2])
    rows.append(row)
    return 0


cdef Py_ssize_t lazy_child_map_pos(bytes key, bytes value) except -2:
    """Where the state of a non-root map's entry starts when decode_container_state would
    leave it encoded (lazy_maps: its parent is not a tree), else -1 (decoded the long way).
    Only for an entry state_section_ok took."""
    cdef const unsigned char* kp = <const unsigned char*>PyBytes_AS_STRING(key)
    cdef Reader r
    cdef uint8_t b = 0, flag = 0
    cdef uint64_t depth = 0
    if PyBytes_GET_SIZE(key) != 13 or kp[0] & 0x80 or _raw_kind[kp[0] & 0x7F] != KIND_MAP:
        return -1
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    if (read_u8(&r, &b) < 0 or b != KIND_MAP or read_uleb64(&r, &depth) < 0
            or read_u8(&r, &flag) < 0 or flag > 1):
        return -1
    if flag == 1 and skip_postcard_cid(&r) == POSTCARD_TREE:
        return -1
    return r.pos


def deferred_state_rows(bytes data not None, dict vv not None, bint lazy_maps=False,
                        dict decoded=None, list bodies=None, bint children=False):
    """The rows of a snapshot whose state section passed state_section_ok at its import,
    `vv` its version then (_doc.thin_build_pending); `lazy_maps`, `decoded`, `bodies`: see
    state_rows. With `children` (and `lazy_maps`): (rows, LazyChildren), the child maps
    left out of the rows and noted there."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef LazyChildren kids = LazyChildren() if children and lazy_maps else None
    parse_envelope(data, False, &mode, &body)
    snapshot_sections(&body, secs)
    rows = state_rows(&secs[1], vv, lazy_maps, decoded, bodies, kids)
    if rows is None:
        raise LoroError("a snapshot state checked at its import does not decode")
    if children:
        return rows, kids
    return rows


def decode_lazy_map(bytes value not None, Py_ssize_t pos, dict vv not None):
    """The rows of a map state entry deferred_state_rows left encoded (`pos`: where its
    state starts). The entry passed state_section_ok at the import, so this fails only on
    memory (or on a bug of that check, raised as LoroError)."""
    cdef Reader r
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    if pos < 0 or pos > r.len:
        raise LoroError("a snapshot map state checked at its import does not decode")
    r.pos = pos
    try:
        payload = decode_checked_map_state(value, &r)
        r_end(&r, "a container state")
    except DecodeError as e:
        raise LoroError(f"a snapshot map state checked at its import does not decode: {e}")
    return payload


def decode_lazy_map_live(bytes value not None, Py_ssize_t pos):
    """{key: value} of the keys present in a map state entry deferred_state_rows left
    encoded (`pos`: where its state starts), for a read of its value alone (the rest of
    the entry is read when the map is built: decode_lazy_map). Fails as decode_lazy_map."""
    return lazy_map_live(value, pos)


cdef object _decode_state_values = _ephemeral.decode_state_values


def checked_list_values(bytes value not None, Py_ssize_t pos):
    """The values of a List's state entry the check pass took with its values left encoded
    (codec/state_check.pxi checked_list_row; `pos`: where they start), for the document's
    build of the list. They were checked there, so this fails only on memory (or on a bug
    of that check, raised as LoroError)."""
    if pos < 0 or pos > PyBytes_GET_SIZE(value):
        raise LoroError("a snapshot list state checked at its import does not decode")
    try:
        values, end = _decode_state_values(value, pos, 0)
    except DecodeError as e:
        raise LoroError(f"a snapshot list state checked at its import does not decode: {e}")
    return values


cdef dict lazy_map_live(bytes value, Py_ssize_t pos):
    if pos < 0 or pos > PyBytes_GET_SIZE(value):
        raise LoroError("a snapshot map state checked at its import does not decode")
    try:
        live, end = _decode_state_values(value, pos, 1)
    except DecodeError as e:
        raise LoroError(f"a snapshot map state checked at its import does not decode: {e}")
    return live


cdef object _find_state_map_key = _ephemeral.find_state_map_key
cdef object _state_map_missing = _ephemeral.MISSING
cdef object _state_map_bytes = _ephemeral.HOLDS_BYTES


def find_lazy_map_key(bytes value not None, Py_ssize_t pos, str key not None):
    """(value,) of `key` among the keys present in a map state entry deferred_state_rows
    left encoded, None when absent, the other keys not decoded; False when the map holds
    a bytes value (read as a whole: lazy_map_live). Fails as decode_lazy_map."""
    if pos < 0 or pos > PyBytes_GET_SIZE(value):
        raise LoroError("a snapshot map state checked at its import does not decode")
    try:
        v = _find_state_map_key(value, pos, key)
    except DecodeError as e:
        raise LoroError(f"a snapshot map state checked at its import does not decode: {e}")
    if v is _state_map_missing:
        return None
    if v is _state_map_bytes:
        return False
    return (v,)


cdef object _decode_state_maps = _ephemeral.decode_state_maps


def decode_lazy_maps_live(list entries not None):
    """decode_lazy_map_live of each (entry, position) of `entries`, in one call."""
    try:
        return _decode_state_maps(entries)
    except DecodeError as e:
        raise LoroError(f"a snapshot map state checked at its import does not decode: {e}")


def _state_section_ok(bytes data not None):
    """Test hook: whether a snapshot's state section passes the import's check pass
    (codec/state_check.pxi), so that its load is deferred."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, True, &mode, &body)
    snapshot_sections(&body, secs)
    got = snapshot_oplog_version(&secs[0])
    return got is not None and secs[2].len == 0 and secs[1].len > 1 and bool(
        state_section_ok(&secs[1], got[0], ListCheck(got[0])))


def _state_check_decoded(bytes data not None):
    """Test hook: the ContainerIDs whose states the import's check pass decoded into
    objects (ListCheck.rows: the sequence states its C check left to the decoder), or
    None when the pass does not take the section."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef ListCheck lists
    parse_envelope(data, True, &mode, &body)
    snapshot_sections(&body, secs)
    got = snapshot_oplog_version(&secs[0])
    if got is None or secs[2].len != 0 or secs[1].len <= 1:
        return None
    lists = ListCheck(got[0])
    if not state_section_ok(&secs[1], got[0], lists):
        return None
    return sorted(str(cid_of_key(k)) for k in lists.rows)


def snapshot_text_runs(bytes data not None, list version=None):
    """[(ContainerID, peer ids, packed (peer index, counter, len) runs)] of the Text states
    in a snapshot's state section (a blob an import just took, so already checked), or
    None for any other blob (_doc.backing_from_snapshot). `version` gets the snapshot's
    version vector {peer: end} when the state read is the one at that version (not a
    shallow snapshot's root state)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode != MODE_SNAPSHOT:
        return None
    snapshot_sections(&body, secs)
    cdef Reader *state = &secs[1]
    if secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        # a shallow snapshot at its root version keeps the state as the root's
        state = &secs[2]
        if secs[2].len == 0:
            return None
    vv = None
    for key, value in sst_entries(&secs[0], (b"vv",)):
        if key == b"vv":
            vv = dict((<VersionVector>decode_vv_bytes(value, "the snapshot version vector"))._map)
    if vv is None:
        return None
    if version is not None and state == &secs[1] and secs[2].len == 0:
        version.append(vv)
    seen = _IdBits(vv)
    out = []
    for key, value in sst_entries(state):
        if key == b"fr" or not key:
            continue
        cid = cid_of_key(key)
        if cid.container_type.kind != 2:     # a Text
            continue
        try:
            row = decode_container_state(key, value, vv, seen)
        except DecodeError:
            # (a shallow snapshot's checks are the shallow load's: this text is left out)
            continue
        if row is not None:
            out.append((cid, row[2][1], row[2][2]))
    return out


def shallow_parts(bytes data not None, list probe=None):
    """The parts of a shallow snapshot (ShallowSnapshot or StateOnly, mode 3 with "sv"/"sf")
    that a shallow document is built from, checked: (state rows at the shallow root S,
    shallow_since_vv as a VersionVector, shallow_since_frontiers as (peer, counter) ids,
    S's version {peer: end}, the bytes of the root state section, the containers created
    after S, whether the latest state is there too). None for any other
    blob. Nothing of a document is touched; a malformed blob raises DecodeError.
    `probe` (the import's, for load_snapshot_state): when None is returned, it receives
    False for a blob that is not a snapshot, or the oplog's (version vector, frontiers)
    of a full snapshot whose envelope and oplog were checked here (snapshot_oplog_version's
    checks), so that the load does not walk them a second time; nothing when unsure."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, True, &mode, &body)
    check_mode(mode)
    if mode != MODE_SNAPSHOT:
        if probe is not None:
            probe.append(False)
        return None
    snapshot_sections(&body, secs)
    meta = {}
    for key, value in sst_entries(&secs[0], (b"vv", b"fr", b"sv", b"sf")):
        if key in (b"vv", b"fr", b"sv", b"sf"):
            meta[key] = value
        elif len(key) != 12:
            fail(f"unknown key {key!r} in the snapshot oplog")
    if b"sv" not in meta and b"sf" not in meta:
        if probe is not None:
            try:
                probe.append(oplog_version_of(meta))
            except DecodeError:
                pass        # (the load's own walk raises it)
        return None
    for k in (b"vv", b"fr", b"sv", b"sf"):
        if k not in meta:
            fail("shallow snapshot oplog lacks its versions")
    vv = dict((<VersionVector>decode_vv_bytes(meta[b"vv"], "the snapshot version vector"))._map)
    sv = decode_vv_bytes(meta[b"sv"], "the shallow start version")
    sf = list((<Frontiers>decode_frontiers_bytes(meta[b"sf"], "the shallow start frontiers"))._ids)
    root_vv = {p: c for p, c in (<VersionVector>sv)._map.items() if c > 0}
    for p, c in sf:
        if root_vv.get(p, 0) < c + 1:
            root_vv[p] = c + 1
        if (<VersionVector>sv)._map.get(p, 0) != c:
            fail("shallow start frontiers do not match the start version")
    if not sf:
        if root_vv:
            fail("shallow snapshot has no start frontiers")
        return None     # rooted at the empty version: the whole history, as loro reads it
    for p, c in root_vv.items():
        if vv.get(p, 0) < c:
            fail("shallow start version lies outside the version vector")
    if secs[2].len == 0:
        fail("shallow snapshot has no root state")
    seen = _IdBits(root_vv)
    rows = []
    later = []
    for key, value in sst_entries(&secs[2]):
        if key == b"fr":
            if sorted((<Frontiers>decode_frontiers_bytes(value, "the root state frontiers"))._ids) != sorted(sf):
                fail("shallow root state is not at the start frontiers")
            continue
        row = decode_container_state(key, value, root_vv, seen, vv)
        if row is None:
            fail("shallow root state holds a container loro_c cannot read")
        cid = row[0]
        if not isinstance(cid, _types.ContainerID.Root) and cid.counter >= root_vv.get(cid.peer, 0):
            # created after the root: its ops build it (known to the document from the
            # start, as loro's store knows it, when its history creates it)
            if cid.counter < vv.get(cid.peer, 0):
                later.append((cid, row[1]))
            continue
        rows.append(row)
    # (whether the blob holds the latest state too: loro then decodes it instead of
    # checking the root's state out to the latest version)
    has_state = not (secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45))
    return rows, sv, sf, root_vv, (<const char*>secs[2].data)[:secs[2].len], later, has_state


cdef tuple snapshot_oplog_version(Reader* sec):
    """The oplog's version vector ({peer: end}) and frontiers; None for a shallow oplog. Only the SSTable
    blocks holding "vv" and "fr" are read: the change blocks are checked by their checksums
    and LZ4 frames, and decoded when the history is (at materialization)."""
    meta = {}
    for key, value in sst_entries(sec, (b"vv", b"fr", b"sv", b"sf")):
        if key in (b"vv", b"fr"):
            meta[key] = value
        elif key in (b"sv", b"sf"):
            return None
        elif len(key) != 12:
            fail(f"unknown key {key!r} in the snapshot oplog")
    return oplog_version_of(meta)


cdef tuple oplog_version_of(dict meta):
    """snapshot_oplog_version's checks of the oplog's "vv" and "fr" entries (`meta`)."""
    if b"vv" not in meta or b"fr" not in meta:
        fail("snapshot oplog has no version")
    vv = dict((<VersionVector>decode_vv_bytes(meta[b"vv"], "the snapshot version vector"))._map)
    fr = decode_frontiers_bytes(meta[b"fr"], "the snapshot frontiers")
    for peer, ctr in (<Frontiers>fr)._ids:
        if ctr >= vv.get(peer, 0):
            fail("snapshot frontiers lie outside the version vector")
    if vv and not (<Frontiers>fr)._ids:
        fail("snapshot frontiers are empty for a history")
    return vv, fr


cdef object decode_container_state(bytes key, bytes value, dict vv, _IdBits seen, dict cvv=None,
                                   bint skip_meta=False, bint lazy_maps=False):
    """(cid, kind, payload) of one state entry, or None for a state this path does not read
    (a kind without a state codec here)."""
    cdef Reader r
    cdef uint8_t kind_byte = 0, flag = 0
    cdef uint64_t depth = 0
    cdef double counter = 0
    cdef int parent_type = -1
    try:
        cid = cid_of_key(key)
    except LoroError:
        raise
    except Exception as e:
        fail(f"bad container id in the snapshot state: {e}")
    # (the key is a valid id now: its first byte is the raw kind, 0x80 for a root)
    kind_tables()
    kind = _raw_kind[key[0] & 0x7F]
    if kind < 0:
        kind = kind_of_type(cid.container_type)
    if not kind_has_state_codec(kind):
        return None
    # (a shallow root's state lists, empty, every container of the exporting document:
    # its caller passes cvv and drops the ones after the root)
    if cvv is None and not (key[0] & 0x80) and key_beyond(key, cid, vv):
        fail("the snapshot state names a container its history never created")
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    r_u8(&r, &kind_byte)
    if kind_byte != kind:
        fail("a snapshot state's kind differs from its container id")
    r_uleb(&r, &depth)
    r_u8(&r, &flag)
    if flag > 1:
        fail("bad parent tag in the snapshot state")
    if flag == 1:
        parent_type = skip_postcard_cid(&r)
    if kind == KIND_COUNTER:
        if reader_remaining(&r) != 8:
            fail("a counter state is not one f64")
        memcpy(&counter, r.data + r.pos, 8)
        return (cid, kind, counter)
    if lazy_maps and kind == KIND_MAP and parent_type != POSTCARD_TREE:
        return (cid, kind, (value, r.pos))
    if kind == KIND_TEXT:
        payload = decode_text_state(value, &r, vv, seen)
    elif kind == KIND_LIST:
        payload = decode_list_state(value, &r, vv, seen)
    elif kind == KIND_TREE:
        payload = decode_tree_state(&r, vv)
    elif kind == KIND_MOVABLE_LIST:
        payload = decode_movable_list_state(value, &r, vv, seen)
    else:
        payload = decode_map_state(value, &r, vv)
    if payload is None:
        return None
    r_end(&r, "a container state")
    if skip_meta and kind == KIND_MAP and parent_type == POSTCARD_TREE and not payload:
        # an untouched tree node's meta map (loro lists one per node): nothing to load,
        # it registers when asked for (and numbers from the state's listing)
        return False
    return (cid, kind, payload)


# a parent's container type as a state's postcard id writes it (a tree: measured on the
# entries loro writes for tree nodes' meta maps)
cdef int POSTCARD_TREE = 4


cdef int skip_postcard_cid(Reader* r) except -1:
    """Skip a parent's postcard container id; its container type code.""" 
    cdef uint8_t tag = 0, ct = 0
    cdef uint64_t n = 0
    cdef int64_t ctr = 0
    cdef const unsigned char* p = NULL
    r_u8(r, &tag)
    if tag == 0:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r):
            fail("truncated parent id in the snapshot state")
        read_bytes(r, <Py_ssize_t>n, &p)
    elif tag == 1:
        r_uleb(r, &n)
        r_zz(r, &ctr)
    else:
        fail("bad parent id in the snapshot state")
    r_u8(r, &ct)
    return ct


cdef list read_peer_table(Reader* r):
    cdef uint64_t n = 0, p = 0, j
    r_uleb(r, &n)
    if n > <uint64_t>(reader_remaining(r) // 8):
        fail("snapshot state peer table runs past its bytes")
    peers = []
    for j in range(n):
        if read_u64_le(r, &p) < 0:
            raise_reader_error(r)
        peers.append(p)
    return peers


# the peer table read_peer_table_shared returned last: its bytes and its list
DEF SHARED_PEERS_MAX = 4
# (peer tables up to this long get their per-peer arrays on the stack: read_ids)
DEF FEW_PEERS = 8
cdef unsigned char _shared_raw[8 * SHARED_PEERS_MAX]
cdef Py_ssize_t _shared_n = -1
cdef list _shared_peers = None


cdef list read_peer_table_shared(Reader* r):
    """read_peer_table, giving the list it gave last when the table's bytes are the same
    (the containers of a state mostly name the same few peers: a load of thousands of small
    texts and lists made a list each). Its callers only read it."""
    global _shared_n, _shared_peers
    cdef uint64_t n = 0
    cdef Py_ssize_t at = r.pos
    r_uleb(r, &n)
    if n == 0 or n > SHARED_PEERS_MAX or <Py_ssize_t>n * 8 > reader_remaining(r):
        r.pos = at
        return read_peer_table(r)
    if <Py_ssize_t>n == _shared_n and memcmp(r.data + r.pos, _shared_raw, 8 * n) == 0:
        r.pos += 8 * n
        return _shared_peers
    memcpy(_shared_raw, r.data + r.pos, 8 * n)
    r.pos = at
    peers = read_peer_table(r)
    _shared_n = <Py_ssize_t>n
    _shared_peers = peers
    return peers


cdef int delta_rle_into(Reader* col, Py_ssize_t n, int32_t* out, int64_t lo, int64_t hi) except -1 nogil:
    """Exactly `n` values of a DeltaRle column (then its end), each in [lo, hi] (a range
    inside int32's), into every third int32 of `out` (NULL: checked only)."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, d = 0, acc = 0
    # acc stays in [lo, hi], so hi - acc and lo - acc cannot overflow: a delta outside
    # them is a value out of range, checked before it is added
    while i < n:
        r_zz(col, &cnt)
        if cnt == 0:
            failc(b"RLE segment with a zero count")
        if cnt > 0:
            if cnt > n - i:
                failc(b"RLE run is longer than its column")
            r_zz(col, &d)
            if d == 0:
                if acc < lo or acc > hi:
                    failc(b"delta-encoded column value out of range")
                if out != NULL:
                    for j in range(<Py_ssize_t>cnt):
                        out[3 * (i + j)] = <int32_t>acc
            else:
                for j in range(<Py_ssize_t>cnt):
                    if d > hi - acc or d < lo - acc:
                        failc(b"delta-encoded column value out of range")
                    acc += d
                    if out != NULL:
                        out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > n - i:
                failc(b"RLE literal run is longer than its column")
            for j in range(<Py_ssize_t>(-cnt)):
                r_zz_fast(col, &d)
                if d > hi - acc or d < lo - acc:
                    failc(b"delta-encoded column value out of range")
                acc += d
                if out != NULL:
                    out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>(-cnt)
    if not reader_at_end(col):
        failc(b"snapshot state id columns differ in length")
    return 0


ctypedef struct DeltaCursor:
    # one DeltaRle column read value by value (delta_next)
    Reader* col
    int64_t left        # values left in the current segment
    int64_t d           # the delta of a run segment
    bint literal        # the current segment lists its deltas
    int64_t acc
    int64_t lo
    int64_t hi


cdef inline void delta_cursor(DeltaCursor* c, Reader* col, int64_t lo, int64_t hi) noexcept nogil:
    c.col = col
    c.left = 0
    c.d = 0
    c.literal = False
    c.acc = 0
    c.lo = lo
    c.hi = hi


cdef inline int delta_next(DeltaCursor* c, Py_ssize_t room, int32_t* out) noexcept nogil:
    """The column's next value into `out` (checked in [lo, hi], a range inside int32's);
    a new segment may hold at most `room` values (the column's values still expected).
    0, or the DELTA_* error (raised by the caller: no error path here, so that it inlines
    into the loop)."""
    cdef int64_t cnt = 0
    cdef int k
    if c.left == 0:
        if read_zigzag64(c.col, &cnt) < 0:
            return DELTA_READ
        if cnt == 0:
            return DELTA_ZERO
        if cnt > 0:
            if cnt > room or read_zigzag64(c.col, &c.d) < 0:
                return DELTA_READ if cnt <= room else DELTA_LONG
            c.literal = False
            c.left = cnt
        else:
            if cnt == INT64_MIN or -cnt > room:
                return DELTA_LONG
            c.literal = True
            c.left = -cnt
    if c.literal:
        k = lc_zz8(c.col.data + c.col.pos, c.col.len - c.col.pos, &c.d)
        if k:
            c.col.pos += k
        elif read_zigzag64(c.col, &c.d) < 0:
            return DELTA_READ
    # acc stays in [lo, hi]: hi - acc and lo - acc cannot overflow
    if c.d > c.hi - c.acc or c.d < c.lo - c.acc:
        return DELTA_RANGE
    c.acc += c.d
    c.left -= 1
    out[0] = <int32_t>c.acc
    return 0


cdef enum:
    DELTA_READ = 1
    DELTA_ZERO = 2
    DELTA_LONG = 3
    DELTA_RANGE = 4


cdef int delta_fail(DeltaCursor* c, int err) except -1 nogil:
    if err == DELTA_READ:
        with gil:
            raise_reader_error(c.col)
    if err == DELTA_ZERO:
        failc(b"RLE segment with a zero count")
    if err == DELTA_LONG:
        failc(b"RLE run is longer than its column")
    failc(b"delta-encoded column value out of range")


cdef int delta_rle_pair_into(Reader* a, Reader* b, Py_ssize_t n, int32_t* oa, int32_t* ob,
                             int64_t lo_a, int64_t hi_a, int64_t lo_b, int64_t hi_b) except -1 nogil:
    """delta_rle_into of two columns of `n` values at once, value by value: the varints of
    one column are read while those of the other are (their reads do not wait on each
    other)."""
    cdef DeltaCursor ca, cb
    cdef Py_ssize_t i
    cdef int err
    delta_cursor(&ca, a, lo_a, hi_a)
    delta_cursor(&cb, b, lo_b, hi_b)
    cdef int64_t d
    cdef int k
    for i in range(n):
        # inside a literal segment with 8 bytes left: the varint and the checks here,
        # inline; the rest (segment starts, runs, the column's end) by delta_next
        k = lc_zz8(a.data + a.pos, a.len - a.pos, &d) if ca.left and ca.literal else 0
        if k and d <= ca.hi - ca.acc and d >= ca.lo - ca.acc:
            a.pos += k
            ca.acc += d
            ca.left -= 1
            oa[3 * i] = <int32_t>ca.acc
        else:
            err = delta_next(&ca, n - i, oa + 3 * i)
            if err:
                return delta_fail(&ca, err)
        k = lc_zz8(b.data + b.pos, b.len - b.pos, &d) if cb.left and cb.literal else 0
        if k and d <= cb.hi - cb.acc and d >= cb.lo - cb.acc:
            b.pos += k
            cb.acc += d
            cb.left -= 1
            ob[3 * i] = <int32_t>cb.acc
        else:
            err = delta_next(&cb, n - i, ob + 3 * i)
            if err:
                return delta_fail(&cb, err)
    if not reader_at_end(a) or not reader_at_end(b):
        failc(b"snapshot state id columns differ in length")
    return 0


cdef object read_ids(Reader* r, list peers, bint with_len, dict vv, Py_ssize_t cap,
                     bint anchors, _IdBits seen):
    """The columnar ids of a Text (4 columns) or List (3) state: (packed int32 (peer index,
    counter, len) runs, count, Lamports), at most `cap` of them, each checked against the
    version vector (an id beyond it is a lying state). With `anchors` a text span of len 0
    (a style start) or -1 (its end) is allowed, and when there is one the Lamports are read
    (packed int32, every third: the styles' winners need them), else None; without, such
    a span returns None. One pass per column, straight into the packed runs."""
    cdef Reader cols[4]
    cdef Reader probe
    cdef Py_ssize_t ncols = 4 if with_len else 3, i, n
    cdef uint64_t v = 0
    cdef bytes out, lams = None
    cdef int32_t* o
    cdef int32_t* lo
    cdef int64_t* ends
    cdef bint has_anchor = False
    cdef int64_t lamport
    cdef int64_t few[FEW_PEERS]
    r_uleb(r, &v)
    if v != <uint64_t>ncols:
        fail("bad column count in the snapshot state")
    for i in range(ncols):
        r_slice(r, &cols[i])
    probe = cols[0]
    n = rle_read_all(&probe, VK_ZZ, NULL, cap)
    if n > 0 and not peers:
        fail("snapshot state ids without peers")
    out = PyBytes_FromStringAndSize(NULL, 12 * n)
    o = <int32_t*>PyBytes_AS_STRING(out)
    delta_rle_into(&cols[0], n, o, 0, len(peers) - 1)
    if with_len:
        delta_rle_pair_into(&cols[1], &cols[3], n, o + 1, o + 2, 0, INT32_MAX,
                            -1 if anchors else -2147483648, INT32_MAX)
    else:
        delta_rle_into(&cols[1], n, o + 1, 0, INT32_MAX)
        for i in range(n):
            o[3 * i + 2] = 1
    for i in range(n):
        if o[3 * i + 2] <= 0:
            if not anchors:
                return None
            has_anchor = True
    if has_anchor:
        # the Lamports (lamport - counter); a plain text's are not read: the tree keeps none
        lams = PyBytes_FromStringAndSize(NULL, 12 * n)
        lo = <int32_t*>PyBytes_AS_STRING(lams)
        delta_rle_into(&cols[2], n, lo, -2147483648, INT32_MAX)
        for i in range(n):
            lamport = <int64_t>lo[3 * i] + o[3 * i + 1]
            if lamport < 0 or lamport > UINT32_MAX:
                fail("a snapshot state's Lamport is out of range")
            lo[3 * i] = <int32_t><uint32_t>lamport
    if not peers_distinct(peers):
        fail("a snapshot state's peer table names a peer twice")
    # (a table of a few peers, as most are, on the stack: a load of thousands of small
    # containers called calloc twice for each)
    ends = &few[0] if len(peers) <= FEW_PEERS else <int64_t*>xalloc(len(peers) + 1, sizeof(int64_t))
    try:
        for i in range(len(peers)):
            ends[i] = vv.get(peers[i], 0)
        for i in range(n):
            if <int64_t>o[3 * i + 1] + max(o[3 * i + 2], 1) > ends[o[3 * i]]:
                fail("the snapshot state holds an id its history does not")
        seen.add_runs(o, n, peers)
    finally:
        if ends != &few[0]:
            free(ends)
    return out, n, lams


@cython.final
cdef class _IdBits:
    """The sequence atoms' ids a state section names so far, one bit per id its version
    vector holds (the atom index is shared by every text and list: no id may be named
    twice, in one container or two). Runs are added a word at a time: linear in the runs
    and the history's length / 64 (their ids are checked to lie inside it first)."""
    cdef uint64_t *bits
    cdef dict base          # peer -> its first bit

    def __cinit__(self, dict vv):
        cdef int64_t at = 0
        self.base = {}
        for peer, end in vv.items():
            self.base[peer] = at
            at += end
        self.bits = <uint64_t*>xalloc(at // 64 + 2, sizeof(uint64_t))

    def __dealloc__(self):
        free(self.bits)

    cdef int add_runs(self, const int32_t *o, Py_ssize_t n, list peers) except -1:
        """Packed (peer index, counter, len) runs; a len <= 0 (a style anchor) is one id."""
        cdef int64_t few[FEW_PEERS]
        cdef int64_t *base = &few[0] if len(peers) <= FEW_PEERS else <int64_t*>xalloc(len(peers) + 1, sizeof(int64_t))
        cdef Py_ssize_t i
        try:
            for i in range(len(peers)):
                base[i] = self.base.get(peers[i], 0)     # (a peer without ids: unused)
            self.add_runs_at(o, n, base)
        finally:
            if base != &few[0]:
                free(base)
        return 0

    cdef int add_runs_at(self, const int32_t *o, Py_ssize_t n, const int64_t *base) except -1:
        """add_runs with each peer index's first bit given (`base`: the version vector's
        ids before its peer's, in the order of the dict this was made from)."""
        cdef uint64_t *bits = self.bits
        cdef uint64_t mask, m, lo, hi
        cdef int64_t at, stop, k, ln, w, sh
        cdef Py_ssize_t i
        for i in range(n):
            at = base[o[3 * i]] + o[3 * i + 1]
            ln = o[3 * i + 2] if o[3 * i + 2] > 0 else 1
            if ln <= 64:
                # at most two words, both taken without a branch (the bitmap has a
                # spare word at its end): m's bits shifted to the run's place
                w = at >> 6
                sh = at & 63
                m = (~<uint64_t>0) >> (64 - ln)
                lo = m << sh
                hi = (m >> 1) >> (63 - sh)
                if (bits[w] & lo) | (bits[w + 1] & hi):
                    fail("the snapshot state names an id twice")
                bits[w] |= lo
                bits[w + 1] |= hi
                continue
            stop = at + ln
            while at < stop:
                k = 64 - (at & 63)
                if k > stop - at:
                    k = stop - at
                mask = (~<uint64_t>0 if k == 64 else ((<uint64_t>1 << k) - 1)) << (at & 63)
                if bits[at >> 6] & mask:
                    fail("the snapshot state names an id twice")
                bits[at >> 6] |= mask
                at += k
        return 0


cdef object decode_text_state(bytes value, Reader* r, dict vv, _IdBits seen):
    """(the text, peers, packed runs, its UTF-8 length, marks). Marks: None for a plain
    text, else [(run index, key, value, info, lamport)] of every style start (a run of len
    0; its end, len -1, is the start's id plus one and follows it)."""
    cdef uint64_t nbytes = 0, v = 0
    cdef const unsigned char* p = NULL
    cdef Py_ssize_t n_cps, i, total = 0
    cdef const int32_t* runs
    r_uleb(r, &nbytes)
    if nbytes > <uint64_t>reader_remaining(r):
        fail("text state runs past its bytes")
    read_bytes(r, <Py_ssize_t>nbytes, &p)
    text = utf8_str(p, <Py_ssize_t>nbytes, "the text state")
    n_cps = PyUnicode_GET_LENGTH(text)
    peers = read_peer_table_shared(r)
    r_uleb(r, &v)
    if v != 3:
        fail("bad text state layout")
    # each style start has a mark row (at least four bytes) and at most one end
    packed, n, lams = read_ids(r, peers, True, vv, n_cps + 2 * reader_remaining(r), True,
                               seen)
    runs = <const int32_t*>PyBytes_AS_STRING(packed)
    for i in range(<Py_ssize_t>n):
        if runs[3 * i + 2] > 0:
            total += runs[3 * i + 2]
    if total != n_cps:
        fail("text state runs do not cover its text")
    marks = decode_text_marks(value, r, packed, n, lams)
    return (text, peers, packed, <int64_t>nbytes, marks)


cdef object decode_text_marks(bytes whole, Reader* r, bytes packed, Py_ssize_t n, bytes lams):
    """The style keys and mark rows after a text's spans, matched to its style anchors:
    one row per start in order, each end closing a start still open (its id the start's
    plus one), none left open."""
    cdef uint64_t n_keys = 0, n_marks = 0, fields = 0, kidx = 0, j
    cdef uint8_t info = 0
    cdef const int32_t* runs = <const int32_t*>PyBytes_AS_STRING(packed)
    cdef const int32_t* lo
    cdef Py_ssize_t i, used = 0
    cdef Py_ssize_t at = r.pos
    r_uleb(r, &n_keys)
    if n_keys == 0 and lams is None:
        # a plain text (most): no style keys and no mark rows, so no lists built
        r_uleb(r, &n_marks)
        if n_marks == 0:
            return None
        r.pos = at      # (the rows are read below, which raises their error)
        r_uleb(r, &n_keys)
    if n_keys > <uint64_t>reader_remaining(r):
        fail("text state style keys run past its bytes")
    keys = []
    for j in range(n_keys):
        keys.append(read_state_str(r))
    r_uleb(r, &n_marks)
    if n_marks > <uint64_t>reader_remaining(r):
        fail("text state marks run past its bytes")
    rows = []
    for j in range(n_marks):
        r_uleb(r, &fields)
        if fields != 3:
            fail("bad text mark row")
        r_uleb(r, &kidx)
        if kidx >= n_keys:
            fail("text mark key index out of range")
        value, end = _ephemeral.decode_state_value(whole, r.pos)
        r.pos = end
        r_u8(r, &info)
        if isinstance(value, _types.ContainerID):
            fail("a text mark's value cannot be a container")
        rows.append((keys[kidx], value, info))
    if lams is None:
        if n_marks:
            fail("text state has marks but no style anchors")
        return None
    lo = <const int32_t*>PyBytes_AS_STRING(lams)
    marks = []
    open_starts = set()
    for i in range(n):
        if runs[3 * i + 2] == 0:
            if used >= <Py_ssize_t>n_marks:
                fail("text state has more style starts than marks")
            key, value, info = rows[used]
            used += 1
            marks.append((i, key, value, info, <uint32_t>lo[3 * i]))
            open_starts.add((runs[3 * i], runs[3 * i + 1]))
        elif runs[3 * i + 2] == -1:
            start = (runs[3 * i], runs[3 * i + 1] - 1)
            if start not in open_starts:
                fail("text state has a style end without its start")
            open_starts.remove(start)
    if used != <Py_ssize_t>n_marks or open_starts:
        fail("text state's marks and style anchors differ")
    return marks


cdef str read_state_str(Reader* r):
    cdef uint64_t n = 0
    cdef const unsigned char* p = NULL
    r_uleb(r, &n)
    if n > <uint64_t>reader_remaining(r):
        fail("a string runs past the snapshot state")
    read_bytes(r, <Py_ssize_t>n, &p)
    return utf8_str(p, <Py_ssize_t>n, "a snapshot state string")


cdef object decode_list_state(bytes value, Reader* r, dict vv, _IdBits seen):
    """(values, peers, packed per-item ids)."""
    cdef uint64_t v = 0
    values, end = _ephemeral.decode_state_values(value, r.pos, 0)
    r.pos = end
    peers = read_peer_table_shared(r)
    r_uleb(r, &v)
    if v != 1:
        fail("bad list state layout")
    got = read_ids(r, peers, False, vv, len(values), False, seen)
    if got is None:
        fail("bad list state ids")
    packed, n, _ = got
    if n != len(values):
        fail("list state ids and values differ in length")
    if not child_ids_fit(values, vv):
        return None
    return (values, peers, packed)


cdef object decode_map_state(bytes value, Reader* r, dict vv):
    """[(key, has value, value, peer, lamport)] in key order."""
    cdef uint64_t idx = 0, lamport = 0
    live, end = _ephemeral.decode_state_values(value, r.pos, 1)
    dead, end = _ephemeral.decode_state_values(value, end, 2)
    r.pos = end
    if not child_ids_fit(live.values(), vv):
        return None
    # (code point order is UTF-8's byte order: the strings' own order)
    keys = sorted(list(live) + dead)
    for j in range(1, len(keys)):
        if keys[j] == keys[j - 1]:
            fail("map state names a key twice")
    peers = read_peer_table(r)
    rows = []
    for key in keys:
        r_uleb(r, &idx)
        r_uleb(r, &lamport)
        if idx >= <uint64_t>len(peers) or lamport > UINT32_MAX:
            fail("bad map state entry")
        peer = peers[idx]
        if vv.get(peer, 0) == 0:
            fail("map state names a peer its history does not")
        if key in live:
            rows.append((key, True, live[key], peer, <uint32_t>lamport))
        else:
            rows.append((key, False, None, peer, <uint32_t>lamport))
    return rows


cdef object _ABSENT = object()


cdef list decode_checked_map_state(bytes value, Reader* r):
    """decode_map_state's rows of an entry state_section_ok took: its children, its keys
    and its peers were checked there against the version (only the bounds that keep
    the reads in range are checked again)."""
    cdef uint64_t idx = 0, lamport = 0
    cdef Py_ssize_t n_peers
    live, end = _ephemeral.decode_state_values(value, r.pos, 1)
    dead, end = _ephemeral.decode_state_values(value, end, 2)
    r.pos = end
    keys = list(live)
    if dead:
        keys.extend(dead)
    keys.sort()
    peers = read_peer_table(r)
    n_peers = len(peers)
    rows = []
    for key in keys:
        r_uleb(r, &idx)
        r_uleb(r, &lamport)
        if idx >= <uint64_t>n_peers or lamport > UINT32_MAX:
            fail("bad map state entry")
        v = live.get(key, _ABSENT)
        if v is _ABSENT:
            rows.append((key, False, None, peers[idx], <uint32_t>lamport))
        else:
            rows.append((key, True, v, peers[idx], <uint32_t>lamport))
    return rows


cdef bint peers_distinct(list peers) except -1:
    """Whether a state's peer table names each peer once (a set only for long tables: most
    name one peer, and thousands of small containers are read at a load)."""
    cdef Py_ssize_t n = len(peers), i, j
    if n > 8:
        return len(set(peers)) == n
    for i in range(n):
        for j in range(i):
            if peers[i] == peers[j]:
                return False
    return True


cdef bint kind_has_state_codec(int kind) noexcept:
    return (kind == KIND_TEXT or kind == KIND_LIST or kind == KIND_MAP or kind == KIND_COUNTER
            or kind == KIND_TREE or kind == KIND_MOVABLE_LIST)


cdef int32_t* delta_col(Reader* col, Py_ssize_t n, int64_t lo, int64_t hi) except NULL:
    """Exactly `n` values of a DeltaRle column (then its end), each in [lo, hi], in every
    third int32 of a buffer the caller frees."""
    cdef int32_t* buf = <int32_t*>xalloc(3 * n, sizeof(int32_t))
    try:
        delta_rle_into(col, n, buf, lo, hi)
    except BaseException:
        free(buf)
        raise
    return buf


cdef uint8_t* bool_col(Reader* col, Py_ssize_t n) except NULL:
    """Exactly `n` values of a bool RLE column (then its end), in a buffer the caller
    frees."""
    cdef uint8_t* buf = <uint8_t*>xalloc(n, 1)
    try:
        bool_rle_read_n(col, n, buf)
        if not reader_at_end(col):
            fail("a snapshot state's bool column runs on")
    except BaseException:
        free(buf)
        raise
    return buf


cdef Py_ssize_t column_rows(Reader* col, Py_ssize_t cap) except -1:
    cdef Reader probe = col[0]
    return rle_read_all(&probe, VK_ZZ, NULL, cap)


cdef int class_vec(Reader* r, Py_ssize_t ncols, Reader* cols) except -1:
    """One class-vector field of a serde_columnar struct: its column count, its columns."""
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    r_uleb(r, &v)
    if v != <uint64_t>ncols:
        fail("bad column count in the snapshot state")
    for i in range(ncols):
        r_slice(r, &cols[i])
    return 0


cdef object checked_id(list peers, int64_t pidx, int64_t counter, dict vv, set seen, str what):
    """(peer, counter) of an id the history holds, seen once."""
    peer = peers[pidx]
    if counter < 0 or counter >= vv.get(peer, 0):
        fail(f"the snapshot state holds a {what} its history does not")
    key = (peer, counter)
    if key in seen:
        fail(f"the snapshot state names a {what} twice")
    seen.add(key)
    return key


ctypedef struct TreeCols:
    # a tree state's columns, checked (tree_state_cols), one int32 triple per node as
    # delta_rle_into writes them: node (peer index, counter, parent column: 0 a root,
    # 1 deleted, 2 + the parent's row) and last move (peer index, counter, its Lamport
    # minus its counter), and the index of its fractional index
    Py_ssize_t n
    int32_t* node
    int32_t* move
    uint32_t* fi


cdef list tree_state_cols(Reader* r, dict vv, TreeCols* t, Reader* fis):
    """The peer table of a tree state, its columns read and checked into `t` (the
    caller frees t.node, t.move, t.fi) and its fractional indexes left in `fis`: every
    check decode_tree_state makes, without an object per node, so the import's check
    pass (state_entry_ok) takes a tree's state as its decode would."""
    cdef Reader ids[2]
    cdef Reader cols[5]
    cdef Reader reserved, probe
    cdef uint64_t v = 0, cnt = 0, idx = 0
    cdef Py_ssize_t n, i, n_pos, cap = 0, np_
    cdef int64_t lamport, at = 0, p
    cdef int64_t* ends = NULL
    cdef int64_t* base = NULL
    cdef uint64_t* seen = NULL
    cdef uint64_t bit
    peers = read_peer_table(r)
    r_uleb(r, &v)
    if v != 4:
        fail("bad tree state layout")
    class_vec(r, 2, ids)
    class_vec(r, 5, cols)
    r_slice(r, fis)
    r_slice(r, &reserved)
    for end in vv.values():
        cap += end
    n = column_rows(&ids[0], cap)
    np_ = len(peers)
    if n > 0 and not np_:
        fail("snapshot state ids without peers")
    t.n = n
    t.node = <int32_t*>xalloc(3 * n, sizeof(int32_t))
    t.move = <int32_t*>xalloc(3 * n, sizeof(int32_t))
    t.fi = <uint32_t*>xalloc(n, sizeof(uint32_t))
    delta_rle_into(&ids[0], n, t.node, 0, np_ - 1)
    delta_rle_into(&ids[1], n, t.node + 1, 0, INT32_MAX)
    delta_rle_into(&cols[0], n, t.node + 2, 0, n + 1)
    delta_rle_into(&cols[1], n, t.move, 0, np_ - 1)
    delta_rle_into(&cols[2], n, t.move + 1, 0, INT32_MAX)
    delta_rle_into(&cols[3], n, t.move + 2, -2147483648, INT32_MAX)
    r_uleb(&cols[4], &cnt)
    if cnt != <uint64_t>n:
        fail("tree state columns differ in length")
    probe = fis[0]      # (left unread for decode_positions)
    n_pos = positions_walk(&probe, n, NULL, NULL)
    # each node and each move named once: a bit per id of the version, for the nodes
    # below and the moves above it (`cap` bits each)
    ends = <int64_t*>xalloc(np_, sizeof(int64_t))
    base = <int64_t*>xalloc(np_, sizeof(int64_t))
    seen = <uint64_t*>xalloc(2 * (cap // 64 + 1), sizeof(uint64_t))
    try:
        firsts = {}
        for peer, end in vv.items():
            firsts[peer] = at
            at += end
        for i in range(np_):
            ends[i] = vv.get(peers[i], 0)
            base[i] = firsts.get(peers[i], 0)
        for i in range(n):
            # (peer indexes are in range: delta_rle_into checked them)
            if t.node[3 * i + 1] >= ends[t.node[3 * i]]:
                fail("the snapshot state holds a tree node its history does not")
            bit = <uint64_t>(base[t.node[3 * i]] + t.node[3 * i + 1])
            if seen[bit >> 6] & (<uint64_t>1 << (bit & 63)):
                fail("the snapshot state names a tree node twice")
            seen[bit >> 6] |= <uint64_t>1 << (bit & 63)
            if t.move[3 * i + 1] >= ends[t.move[3 * i]]:
                fail("the snapshot state holds a tree move its history does not")
            bit = <uint64_t>(base[t.move[3 * i]] + t.move[3 * i + 1]) + <uint64_t>(64 * (cap // 64 + 1))
            if seen[bit >> 6] & (<uint64_t>1 << (bit & 63)):
                fail("the snapshot state names a tree move twice")
            seen[bit >> 6] |= <uint64_t>1 << (bit & 63)
            lamport = <int64_t>t.move[3 * i + 1] + <int64_t>t.move[3 * i + 2]
            if lamport < 0 or lamport > UINT32_MAX:
                fail("a snapshot state's Lamport is out of range")
            r_uleb(&cols[4], &idx)
            if idx >= <uint64_t>n_pos:
                fail("tree state fractional index out of range")
            t.fi[i] = <uint32_t>idx
            p = t.node[3 * i + 2]
            if p >= 2 and p - 2 >= i:
                fail("a tree state node comes before its parent")
        r_end(&cols[4], "tree state fractional indexes")
    finally:
        free(ends)
        free(base)
        free(seen)
    return peers


cdef uint32_t max_u32(const uint32_t* v, Py_ssize_t n) noexcept:
    cdef uint32_t m = 0
    cdef Py_ssize_t i
    for i in range(n):
        if v[i] > m:
            m = v[i]
    return m


cdef int tree_cols_free(TreeCols* t) noexcept:
    free(t.node)
    free(t.move)
    free(t.fi)
    t.node = t.move = NULL
    t.fi = NULL
    return 0


cdef object decode_tree_state(Reader* r, dict vv):
    """[(node, parent, last move (peer, counter, lamport), fractional index)] in the
    state's order: parent None (a root), "deleted" or a node listed before it (as Loro's
    walk lists them, which also rules out cycles)."""
    cdef TreeCols t
    cdef Reader fis
    cdef Py_ssize_t i
    cdef int32_t p
    t.node = t.move = NULL
    t.fi = NULL
    try:
        peers = tree_state_cols(r, vv, &t, &fis)
        positions = decode_positions(&fis, t.n)
        if t.n and max_u32(t.fi, t.n) >= <uint32_t>len(positions):
            raise LoroError("tree state positions differ from their check")
        rows = []
        for i in range(t.n):
            p = t.node[3 * i + 2]
            parent = None if p == 0 else "deleted" if p == 1 else rows[p - 2][0]
            rows.append(((peers[t.node[3 * i]], t.node[3 * i + 1]), parent,
                         (peers[t.move[3 * i]], t.move[3 * i + 1],
                          <uint32_t>(<int64_t>t.move[3 * i + 1] + <int64_t>t.move[3 * i + 2])),
                         positions[t.fi[i]]))
    finally:
        tree_cols_free(&t)
    return rows


cdef int tree_state_ok(Reader* r, dict vv) except -1:
    """1 when decode_tree_state takes the tree state at `r` (and nothing follows it), 0
    otherwise (its error then raised by the decode); raises only MemoryError."""
    cdef TreeCols t
    cdef Reader fis
    t.node = t.move = NULL
    t.fi = NULL
    try:
        tree_state_cols(r, vv, &t, &fis)
    except MemoryError:
        raise
    except Exception:
        return 0
    finally:
        tree_cols_free(&t)
    return 1 if reader_at_end(r) else 0


cdef bytes list_item_ids(Reader* cols, list peers, dict vv, Py_ssize_t n, _IdBits seen,
                         lc_ml_item* items):
    """A MovableList's list item ids, exactly `n`, as packed (peer index, counter, 1)
    runs, each inside the version vector, none twice; their Lamports into `items`."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 12 * n if n > 0 else 0)
    cdef int32_t* o = <int32_t*>PyBytes_AS_STRING(out)
    cdef int64_t* ends
    cdef Py_ssize_t i
    cdef int64_t lamport
    delta_rle_into(&cols[0], n, o, 0, len(peers) - 1)
    delta_rle_into(&cols[1], n, o + 1, 0, INT32_MAX)
    # (each Lamport minus its counter, in the third slot until the Lamport is known)
    delta_rle_into(&cols[2], n, o + 2, -2147483648, INT32_MAX)
    for i in range(n):
        lamport = <int64_t>o[3 * i + 1] + <int64_t>o[3 * i + 2]
        if lamport < 0 or lamport > UINT32_MAX:
            fail("a snapshot state's Lamport is out of range")
        items[i].lamport = <uint32_t>lamport
        o[3 * i + 2] = 1
    if not peers_distinct(peers):
        fail("a snapshot state's peer table names a peer twice")
    ends = <int64_t*>xalloc(len(peers) + 1, sizeof(int64_t))
    try:
        for i in range(len(peers)):
            ends[i] = vv.get(peers[i], 0)
        for i in range(n):
            if <int64_t>o[3 * i + 1] + 1 > ends[o[3 * i]]:
                fail("the snapshot state holds an id its history does not")
        seen.add_runs(o, n, peers)
    finally:
        free(ends)
    return out


cdef object decode_movable_list_state(bytes value, Reader* r, dict vv, _IdBits seen):
    """(values, peers, packed item ids (one (peer index, counter, 1) per list item), the
    items' records (bytes of lc_ml_item, include/loro_c/ml_items.h: its Lamport, the
    element standing on it and that element's last set)), or None when a value is a child
    this path does not load. No object per item: a load builds its elements from C."""
    cdef Reader items[3]
    cdef Reader item_ids[3]
    cdef Reader elem_ids[2]
    cdef Reader set_ids[2]
    cdef uint64_t v = 0
    cdef Py_ssize_t n_vals, n_items, i, j, k, e_at = 0, s_at = 0, n_e = 0, n_s = 0, cap, top
    cdef int32_t* inv = NULL
    cdef uint8_t* pos_eq = NULL
    cdef uint8_t* set_eq = NULL
    cdef int32_t* es = NULL
    cdef uint64_t* tab = NULL
    cdef lc_ml_item* it
    cdef lc_ml_item* rec
    cdef const int32_t* o
    cdef uint64_t key, h, mask
    values, end = _ephemeral.decode_state_values(value, r.pos, 0)
    r.pos = end
    n_vals = len(values)
    peers = read_peer_table(r)
    r_uleb(r, &v)
    if v != 4:
        fail("bad movable list state layout")
    class_vec(r, 3, items)
    class_vec(r, 3, item_ids)
    class_vec(r, 2, elem_ids)
    class_vec(r, 2, set_ids)
    try:
        inv = delta_col(&items[0], n_vals + 1, 0, INT32_MAX)
        pos_eq = bool_col(&items[1], n_vals + 1)
        set_eq = bool_col(&items[2], n_vals + 1)
        n_items = n_vals
        for i in range(n_vals + 1):
            n_items += inv[3 * i]
        if n_items > 0 and not peers:
            fail("snapshot state ids without peers")
        recs = PyBytes_FromStringAndSize(NULL, n_items * <Py_ssize_t>sizeof(lc_ml_item))
        it = <lc_ml_item*>PyBytes_AS_STRING(recs)
        packed = list_item_ids(item_ids, peers, vv, n_items, seen, it)
        for i in range(1, n_vals + 1):
            n_e += pos_eq[i] == 0
            n_s += set_eq[i] == 0
        if n_e and not peers or n_s and not peers:
            fail("snapshot state ids without peers")
        # the moved elements' ids, then the set values' writers: (peer index, Lamport) pairs
        top = max(len(peers) - 1, 0)
        es = <int32_t*>xalloc(3 * (n_e + n_s), sizeof(int32_t))
        delta_rle_into(&elem_ids[0], n_e, es, 0, top)
        delta_rle_into(&elem_ids[1], n_e, es + 1, 0, INT32_MAX)
        delta_rle_into(&set_ids[0], n_s, es + 3 * n_e, 0, top)
        delta_rle_into(&set_ids[1], n_s, es + 3 * n_e + 1, 0, INT32_MAX)
        if not child_ids_fit(values, vv):
            return None
        o = <const int32_t*>PyBytes_AS_STRING(packed)
        # each element named once: a C hash set of (peer index, Lamport) (the peer table
        # names no peer twice, so an index stands for its peer)
        cap = 16
        while cap < 2 * n_vals + 2:
            cap <<= 1
        mask = <uint64_t>(cap - 1)
        tab = <uint64_t*>xalloc(cap, sizeof(uint64_t))
        k = 0
        for i in range(n_vals + 1):
            if i > 0:
                rec = &it[k]
                if pos_eq[i]:
                    rec.elem_peer = <uint32_t>o[3 * k]
                    rec.elem_lamport = rec.lamport
                else:
                    rec.elem_peer = <uint32_t>es[3 * e_at]
                    rec.elem_lamport = <uint32_t>es[3 * e_at + 1]
                    e_at += 1
                key = (<uint64_t>rec.elem_peer << 32) | rec.elem_lamport
                h = ((key + 1) * <uint64_t>0x9E3779B97F4A7C15ULL >> 32) & mask
                while tab[h] != 0:
                    if tab[h] == key + 1:
                        fail("the snapshot state names a list element twice")
                    h = (h + 1) & mask
                tab[h] = key + 1
                if set_eq[i]:
                    rec.set_peer = rec.elem_peer
                    rec.set_lamport = rec.elem_lamport
                else:
                    rec.set_peer = <uint32_t>es[3 * (n_e + s_at)]
                    rec.set_lamport = <uint32_t>es[3 * (n_e + s_at) + 1]
                    s_at += 1
                k += 1
            for j in range(inv[3 * i]):
                rec = &it[k]
                rec.elem_peer = LC_ML_NO_ELEM
                rec.elem_lamport = rec.set_peer = rec.set_lamport = 0
                k += 1
    finally:
        free(inv)
        free(pos_eq)
        free(set_eq)
        free(es)
        free(tab)
    return (values, peers, packed, recs)


# the raw kind of each known ContainerType, by its class (one class per known kind)
cdef dict _KIND_OF_CLASS = {type(t): k for k, t in enumerate(_types.TYPE_BY_KIND)}


cdef bint child_ids_fit(object values, dict vv) except -1:
    """Whether the child containers among a state's values are of kinds this path loads
    (False: replay instead); a child its history never created is a lying state."""
    cdef object kind
    cdef object cid_type = _types.ContainerID
    cdef object root_type = CID_ROOT
    cdef object normal_type = CID_NORMAL
    cdef object ct, last_ct = None
    cdef uint64_t peer, last_peer = 0
    cdef int64_t end = -1
    for v in values:
        if plain_scalar(v):
            continue
        if type(v) is normal_type:
            # (a list of records: one child after another, of one type and mostly one
            # peer; each type and each run of a peer looked up once)
            ct = v.container_type
            if ct is not last_ct:
                kind = _KIND_OF_CLASS.get(type(ct))
                if not kind_has_state_codec(kind if kind is not None else kind_of_type(ct)):
                    return False
                last_ct = ct
            peer = v.peer
            if end < 0 or peer != last_peer:
                end = vv.get(peer, 0)
                last_peer = peer
            if <int64_t>v.counter >= end:
                fail("the snapshot state holds a child container its history never created")
        elif isinstance(v, cid_type):
            kind = _KIND_OF_CLASS.get(type(v.container_type))
            if not kind_has_state_codec(kind if kind is not None else kind_of_type(v.container_type)):
                return False
            if not isinstance(v, root_type) and v.counter >= vv.get(v.peer, 0):
                fail("the snapshot state holds a child container its history never created")
    return True


# -- test hooks: building state sections (tests/test_snapshot_state_load.py) ----------------

def _sst_build(list entries):
    """An SSTable of sorted (key, value) entries."""
    return sst_build(entries)


def _state_entries(LoroDoc doc):
    """The (key, ContainerWrapper bytes) entries of `doc`'s state section."""
    from loro_c._doc import snapshot_state_rows
    return sorted((row[0].to_bytes(), container_state_bytes(row))
                  for row in snapshot_state_rows(doc))


def _state_section_entries(bytes data not None, int section=1):
    """The (key, value) entries of a snapshot's state section (`section` 2: its shallow
    root state section; 0: its oplog section), in key order (tests)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, True, &mode, &body)
    snapshot_sections(&body, secs)
    if section not in (0, 1, 2):
        raise ValueError("a snapshot's sections are 0, 1 and 2")
    if secs[section].len == 0 or (secs[section].len == 1 and secs[section].data[0] == 0x45):
        return []
    return list(sst_entries(&secs[section]))


def _zz_read_all(bytes data not None, bint fast):
    """Every zigzag varint of `data`, read by r_zz_fast (`fast`) or r_zz (tests)."""
    cdef Reader r
    cdef int64_t v = 0
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    out = []
    while not reader_at_end(&r):
        if fast:
            r_zz_fast(&r, &v)
        else:
            r_zz(&r, &v)
        out.append(v)
    return out
