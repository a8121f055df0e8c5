# Loading a FastSnapshot's state section into an empty document (issue 11): the containers'
# visible state is decoded and checked here (phase 1, nothing of the document touched), then
# handed to the document, which builds each state in one pass (_doc.thin_load, phase 2) and
# keeps the blob: its change blocks stay undecoded until something needs history.

from loro_c import ephemeral_codec as _ephemeral


def load_snapshot_state(LoroDoc doc, bytes data not None):
    """Load a mode-3 blob into the empty `doc` from its state section. Returns the
    ImportStatus, or None (the document untouched) when the blob is not one this path
    loads: a shallow snapshot, a state left out, or a kind or mark whose state is not read
    here; the caller then replays the history. A malformed or lying blob raises DecodeError
    with the document untouched."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef dict vv
    parse_envelope(data, True, &mode, &body)
    check_mode(mode)
    if mode != MODE_SNAPSHOT:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0 or secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        return None
    got = snapshot_oplog_version(&secs[0])
    if got is None:
        return None
    vv, fr = got
    rows = []
    for key, value in sst_entries(&secs[1]):
        if key == b"fr":
            decode_frontiers_bytes(value, "the state frontiers")
            continue
        row = decode_container_state(key, value, vv)
        if row is None:
            return None
        rows.append(row)
    thin_load(doc, rows, data, vv, list((<Frontiers>fr)._ids))
    return _types.ImportStatus(_types.VersionRange.from_map({p: (0, e) for p, e in vv.items()}),
                               None)


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


cdef object decode_container_state(bytes key, bytes value, dict vv):
    """(cid, kind, payload) of one state entry, or None for a state this path does not read
    (Tree, MovableList, text with marks)."""
    cdef Reader r
    cdef uint8_t kind_byte = 0, flag = 0
    cdef uint64_t depth = 0
    cdef double counter = 0
    try:
        cid = _types.ContainerID.from_bytes(key)
    except LoroError:
        raise
    except Exception as e:
        fail(f"bad container id in the snapshot state: {e}")
    kind = kind_of_type(cid.container_type)
    if kind != KIND_TEXT and kind != KIND_LIST and kind != KIND_MAP and kind != KIND_COUNTER:
        return None
    if not isinstance(cid, _types.ContainerID.Root) and cid.counter >= vv.get(cid.peer, 0):
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
        skip_postcard_cid(&r)
    if kind == KIND_COUNTER:
        if reader_remaining(&r) != 8:
            fail("a counter state is not one f64")
        memcpy(&counter, r.data + r.pos, 8)
        return (cid, kind, counter)
    if kind == KIND_TEXT:
        payload = decode_text_state(&r, vv)
    elif kind == KIND_LIST:
        payload = decode_list_state(value, &r, vv)
    else:
        payload = decode_map_state(value, &r, vv)
    if payload is None:
        return None
    r_end(&r, "a container state")
    return (cid, kind, payload)


cdef int skip_postcard_cid(Reader* r) except -1:
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
    return 0


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


cdef int delta_rle_into(Reader* col, Py_ssize_t n, int32_t* out, int64_t lo, int64_t hi) except -1 nogil:
    """Exactly `n` values of a DeltaRle column (then its end), each in [lo, hi], into every
    third int32 of `out` (NULL: checked only)."""
    cdef Py_ssize_t i = 0, j
    cdef int64_t cnt, d = 0, acc = 0
    while i < n:
        r_zz(col, &cnt)
        if cnt == 0:
            failc(b"RLE segment with a zero count")
        if cnt > 0:
            if cnt > n - i:
                failc(b"RLE run is longer than its column")
            r_zz(col, &d)
            for j in range(<Py_ssize_t>cnt):
                if add_ovf(acc, d, &acc) or acc < lo or acc > hi:
                    failc(b"delta-encoded column value out of range")
                if out != NULL:
                    out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>cnt
        else:
            if cnt == INT64_MIN or -cnt > n - i:
                failc(b"RLE literal run is longer than its column")
            for j in range(<Py_ssize_t>(-cnt)):
                r_zz(col, &d)
                if add_ovf(acc, d, &acc) or acc < lo or acc > hi:
                    failc(b"delta-encoded column value out of range")
                if out != NULL:
                    out[3 * (i + j)] = <int32_t>acc
            i += <Py_ssize_t>(-cnt)
    if not reader_at_end(col):
        failc(b"snapshot state id columns differ in length")
    return 0


cdef object read_ids(Reader* r, list peers, bint with_len, dict vv, Py_ssize_t cap):
    """The columnar ids of a Text (4 columns) or List (3) state: (packed int32 (peer index,
    counter, len) runs, count), at most `cap` of them (a text's code points, a list's
    values), each checked against the version vector (an id beyond it is a lying state);
    None for a text span of no length (a style anchor: marks are not read here). One pass
    per column, straight into the packed runs."""
    cdef Reader cols[4]
    cdef Reader probe
    cdef Py_ssize_t ncols = 4 if with_len else 3, i, n
    cdef uint64_t v = 0
    cdef bytes out
    cdef int32_t* o
    cdef int64_t* ends
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
    delta_rle_into(&cols[1], n, o + 1, 0, INT32_MAX)
    # cols[2], the Lamports, is not read: the tree keeps none (the history has them)
    if with_len:
        delta_rle_into(&cols[3], n, o + 2, -2147483648, INT32_MAX)
    else:
        for i in range(n):
            o[3 * i + 2] = 1
    ends = <int64_t*>xalloc(len(peers) + 1, sizeof(int64_t))
    try:
        for i in range(len(peers)):
            ends[i] = vv.get(peers[i], 0)
        for i in range(n):
            if o[3 * i + 2] <= 0:
                return None
            if <int64_t>o[3 * i + 1] + o[3 * i + 2] > ends[o[3 * i]]:
                fail("the snapshot state holds an id its history does not")
    finally:
        free(ends)
    return out, n


cdef object decode_text_state(Reader* r, dict vv):
    """(the text, peers, packed runs, its UTF-8 length), or None with marks."""
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
    peers = read_peer_table(r)
    r_uleb(r, &v)
    if v != 3:
        fail("bad text state layout")
    got = read_ids(r, peers, True, vv, n_cps)
    if got is None:
        return None
    packed, n = got
    # style keys and marks: this path reads plain text only
    if reader_remaining(r) != 2 or r.data[r.pos] != 0 or r.data[r.pos + 1] != 0:
        return None
    r.pos += 2
    runs = <const int32_t*>PyBytes_AS_STRING(packed)
    for i in range(<Py_ssize_t>n):
        total += runs[3 * i + 2]
    if total != n_cps:
        fail("text state runs do not cover its text")
    return (text, peers, packed, <int64_t>nbytes)


cdef object decode_list_state(bytes value, Reader* r, dict vv):
    """(values, peers, packed per-item ids)."""
    cdef uint64_t v = 0
    values, end = _ephemeral.decode_state_values(value, r.pos, 0)
    r.pos = end
    peers = read_peer_table(r)
    r_uleb(r, &v)
    if v != 1:
        fail("bad list state layout")
    got = read_ids(r, peers, False, vv, len(values))
    if got is None:
        fail("bad list state ids")
    packed, n = got
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
    keys = sorted(list(live) + dead, key=_utf8_key1)
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


def _utf8_key1(key):
    return key.encode("utf-8")


cdef bint child_ids_fit(object values, dict vv) except -1:
    """Whether the child containers among a state's values are of kinds this path loads
    (False: replay instead); a child its history never created is a lying state."""
    for v in values:
        if isinstance(v, _types.ContainerID):
            if kind_of_type(v.container_type) == KIND_TREE:
                return False
            if not isinstance(v, _types.ContainerID.Root) and v.counter >= vv.get(v.peer, 0):
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
