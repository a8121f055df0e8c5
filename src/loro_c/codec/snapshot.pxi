# FastSnapshot (mode 3) bodies: three length-prefixed sections (oplog SSTable, state
# SSTable, shallow-root state). loro_c reads the oplog's change blocks as history, checks
# its version, and reads which root containers the state names.

# ContainerIDs of state keys, by the key's bytes (ids are immutable): a snapshot load reads
# each key twice (its state, then which containers the state lists), and a server loads
# the same documents again. Bounded: cleared when full.
cdef dict _key_cids = {}
cdef enum:
    KEY_CIDS_MAX = 1 << 16


cdef tuple _KEY_TYPES = _types.TYPE_BY_KIND


cdef object cid_of_key(bytes key):
    """ContainerID.from_bytes(key), kept (DecodeError for a malformed key, not kept)."""
    cdef const unsigned char* p
    cdef uint64_t peer
    cdef int32_t counter
    cid = _key_cids.get(key)
    if cid is None:
        p = <const unsigned char*>PyBytes_AS_STRING(key)
        if PyBytes_GET_SIZE(key) == 13 and p[0] < len(_KEY_TYPES):
            # a normal id of a known kind (what from_bytes reads, without its Python)
            memcpy(&peer, p + 1, 8)
            memcpy(&counter, p + 9, 4)
            cid = eph_normal_cid(peer, counter, <uint8_t>lc_kind_historical(p[0]))
        else:
            cid = _types.ContainerID.from_bytes(key)
        if len(_key_cids) >= KEY_CIDS_MAX:
            _key_cids.clear()
        _key_cids[key] = cid
    return cid


cdef bint key_beyond(bytes key, object cid, dict vv) except -1:
    """Whether normal container `cid` (`key` its state key, cid_of_key's) lies beyond
    version `vv`: its history never created it. Read from the key's bytes when cid_of_key
    read them (an id's attributes are Python lookups, two per entry of a state)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(key)
    cdef uint64_t peer
    cdef int32_t counter
    if PyBytes_GET_SIZE(key) == 13 and p[0] < len(_KEY_TYPES):
        memcpy(&peer, p + 1, 8)
        memcpy(&counter, p + 9, 4)
        return counter >= vv.get(peer, 0)
    return cid.counter >= vv.get(cid.peer, 0)


cdef object snapshot_state_roots(Reader* body):
    """Root container ids named by the state section of a mode-3 body (none when the state
    was left out), and whether roots it does not name are hidden when empty. A shallow
    snapshot rooted at the empty version (no shallow root: its history is whole) also
    lists the roots its root state names, as loro does."""
    cdef Reader secs[3]
    cdef list roots = []
    snapshot_sections(body, secs)
    hide = not (secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45))
    if hide:
        for key, value in sst_entries(&secs[1]):
            if key == b"fr" or not key or not (key[0] & 0x80):
                continue
            roots.append(cid_of_key(key))
    if secs[2].len > 0:
        for key, value in sst_entries(&secs[2]):
            if key == b"fr" or not key or not (key[0] & 0x80):
                continue
            cid = cid_of_key(key)
            if cid not in roots:
                roots.append(cid)
    return roots, hide


def snapshot_checks_out(bytes data not None):
    """Whether loro reaches the state of this snapshot by a checkout: a shallow snapshot
    (its root's state present) without the latest state."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return False
    snapshot_sections(&body, secs)
    return secs[2].len > 0 and (secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45))


def snapshot_block_ids(bytes data not None):
    """The (peer, counter) keys of a snapshot's change blocks, in key order (tests compare
    how loro and loro_c cut a peer's changes into blocks)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    out = []
    for key, value in sst_entries(&secs[0]):
        if len(key) == 12:
            out.append((int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big", signed=True)))
    return out


def snapshot_state_containers(bytes data not None):
    """Every container id the state section of a (non-shallow) snapshot names, in its order;
    None when the blob is not a snapshot or left its state out."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        return None
    out = []
    for key, value in sst_entries(&secs[1]):
        if key == b"fr" or not key:
            continue
        out.append(cid_of_key(key))
    return out


cdef int snapshot_sections(Reader* body, Reader* secs) except -1:
    cdef uint32_t n = 0
    cdef int i
    for i in range(3):
        if read_u32_le(body, &n) < 0:
            raise_reader_error(body)
        r_fixed_slice(body, <Py_ssize_t>n, &secs[i])
    r_end(body, "the snapshot sections")
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


cdef tuple decode_snapshot_oplog(Reader* body, bint with_ops, list out, Py_ssize_t* budget,
                                dict block_sizes=None):
    """Changes of the oplog section of a mode-3 body. Returns (is_shallow, kv dict of the
    non-block keys). `block_sizes`, when given, receives peer -> byte size of the peer's
    last change block."""
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
            if block_sizes is not None:
                block_sizes[kpeer] = len(value)     # keys ascend: the last one stays
        elif key in (b"vv", b"fr", b"sv", b"sf"):
            meta[key] = value
        else:
            fail(f"unknown key {key!r} in the snapshot oplog")
    if b"sv" in meta or b"sf" in meta:
        shallow = True
    return shallow, meta


cdef int stage_snapshot_oplog(Reader* body, LoroDoc doc, list alive, Py_ssize_t* budget,
                              dict block_sizes, dict starts=None) except -1:
    """Stage the change blocks of a mode-3 body straight into `doc` (as updates blocks are:
    no change tuples), checking each block against its key and the "vv" entry against the
    staged changes. `block_sizes` receives peer -> byte size of the peer's last block;
    `starts` peer -> the counters its blocks start at, and under None the peers whose last
    block holds no frontier id (a deep snapshot's only)."""
    cdef Reader secs[3]
    cdef const unsigned char* kp
    cdef uint64_t kpeer
    cdef int64_t kctr, before
    cdef int j
    cdef dict ends = {}
    snapshot_sections(body, secs)
    meta = {}
    for key, value in sst_entries(&secs[0]):
        if len(key) == 12:
            kp = <const unsigned char*>PyBytes_AS_STRING(key)
            kpeer = 0
            for j in range(8):
                kpeer = (kpeer << 8) | kp[j]
            kctr = (<int64_t>kp[8] << 24) | (<int64_t>kp[9] << 16) | (<int64_t>kp[10] << 8) | kp[11]
            before = doc.n_staged
            decode_block(<const unsigned char*>PyBytes_AS_STRING(value), len(value), True, alive,
                         budget, doc)
            if doc.n_staged == before:
                fail("snapshot change block repeats changes")
            if (doc.log.peer_ids[doc.staged[before].peer] != kpeer
                    or doc.staged[before].counter != kctr):
                fail("snapshot change block does not match its key")
            for j in range(<int>before, <int>doc.n_staged):
                p = doc.log.peer_ids[doc.staged[j].peer]
                if ends.get(p, 0) < doc.staged[j].end:
                    ends[p] = doc.staged[j].end
            block_sizes[kpeer] = len(value)     # keys ascend: the last one stays
            if starts is not None:
                starts.setdefault(kpeer, []).append(kctr)
        elif key in (b"vv", b"fr", b"sv", b"sf"):
            meta[key] = value
        else:
            fail(f"unknown key {key!r} in the snapshot oplog")
    shallow = secs[2].len > 0 or b"sv" in meta or b"sf" in meta
    if starts is not None:
        # loro parses the block of each frontier id as it loads (ChangeStore::import_all);
        # the others it holds encoded until something reads them
        cold = set(starts)
        if b"fr" in meta and not shallow:
            for p, _ in (<Frontiers>decode_frontiers_bytes(meta[b"fr"], "the snapshot frontiers"))._ids:
                cold.discard(p)
        else:
            cold.clear()
        starts[None] = cold
    if (shallow and not doc.shallow_loading and b"sf" in meta
            and (<Frontiers>decode_frontiers_bytes(meta[b"sf"], "the shallow start frontiers"))._ids):
        fail("a shallow snapshot loads only into an empty document")
    if b"vv" not in meta:
        fail("snapshot oplog has no version vector")
    vv = decode_vv_bytes(meta[b"vv"], "the snapshot version vector")
    if starts is not None:
        # (an empty document: loro's version map is filled in this entry's order)
        doc.vv_loaded = list((<VersionVector>vv)._map)
    if shallow and b"sv" in meta:
        # peers whose history is all trimmed have no change block
        for p, c in (<VersionVector>decode_vv_bytes(meta[b"sv"], "the shallow start version"))._map.items():
            if c > 0 and p not in ends:
                ends[p] = c
    if (<VersionVector>vv)._map != ends:
        fail("snapshot version vector does not match its change blocks")
    return 0


cdef int check_snapshot_vv(list changes, dict meta) except -1:
    """The oplog's "vv" entry must equal the end of its change blocks."""
    cdef dict ends = {}
    if b"vv" not in meta:
        fail("snapshot oplog has no version vector")
    vv = decode_vv_bytes(meta[b"vv"], "the snapshot version vector")
    for ch in changes:
        end = ch[1] + change_len(ch)
        if ends.get(ch[0], 0) < end:
            ends[ch[0]] = end
    if (<VersionVector>vv)._map != ends:
        fail("snapshot version vector does not match its change blocks")
    return 0


def snapshot_frontier_cids(bytes data not None):
    """The containers loro's arena holds right after it loads this (non-shallow) snapshot
    into an empty document, before its state is read, in the order it registers them; None
    for other blobs. Loading the change store looks up the change of each frontier id (in
    the order its hash map of frontier peers yields them), which parses the block holding
    it: the block registers the container of each op in turn, then the children its ops
    create. Every other block stays unparsed until something needs its changes."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef Py_ssize_t budget, meta_off = 0, i, at, end
    cdef object cid_type = _types.ContainerID
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0:
        return None
    # only the blocks that may hold the frontiers (or a shallow root's keys) and each
    # frontier's change block are read: the replay that follows reads (and checks) them all
    metas = sst_metas(&secs[0], &meta_off)
    entries = []
    for i in range(len(metas)):
        if sst_block_may_hold(metas[i][1], metas[i][3], (b"fr", b"sv", b"sf")):
            sst_metas_read(&secs[0], metas, i, meta_off, entries)
    fr = None
    for key, value in entries:
        if key == b"fr":
            fr = value
        elif key == b"sv" or key == b"sf":
            return None
    if fr is None:
        return None
    ends = dict((<Frontiers>decode_frontiers_bytes(fr, "the snapshot frontiers"))._ids)
    peers = list(ends)
    if len(peers) > 1:
        peers = iteration_order(peers)
    out = {}
    for peer in peers:
        # the peer's last change block starting at or before its frontier: the greatest
        # change key (8 bytes of peer, 4 of start counter, big-endian) at most this one,
        # in the last SSTable block whose first key is at most it
        target = int(peer).to_bytes(8, "big") + int(ends[peer]).to_bytes(4, "big")
        at = -1
        for i in range(len(metas)):
            if metas[i][1] <= target:
                at = i
        if at < 0:
            continue
        entries = []
        sst_metas_read(&secs[0], metas, at, meta_off, entries)
        found = None
        for key, value in entries:
            if len(key) == 12 and key <= target and key[:8] == target[:8]:
                found = value
        if found is None:
            continue
        block_cids_into(found, out)
    return list(out)



cdef int block_cids_into(bytes found, dict out, LoroDoc known=None,
                         bint checked=False) except -1:
    """Add to `out` the containers parsing change block `found` registers in loro's arena,
    in order: the container of each op in turn, then the children its ops create. With
    `known`, the ids that document holds are its own objects (a dictionary lookup instead
    of a validated ContainerID each). `checked`: the block was decoded whole before (by
    the import that staged it), so its columns and child values are read alone
    (block_cids_scan) instead of decoding it into change tuples."""
    cdef Py_ssize_t budget
    cdef object cid_type = _types.ContainerID
    budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(found)
    if checked:
        for cid in block_cids_scan(<const unsigned char*>PyBytes_AS_STRING(found), len(found),
                                   &budget, known):
            out[cid] = None
        return 0
    named = block_named_cids(<const unsigned char*>PyBytes_AS_STRING(found), len(found),
                             &budget, known)
    if named is not None:
        for cid in named:
            out[cid] = None
        return 0
    changes = []
    decode_block(<const unsigned char*>PyBytes_AS_STRING(found), len(found), True, changes,
                 &budget, None, known)
    created = []
    for ch in changes:
        for o in ch[6]:
            out[o[1]] = None
            kind = o[0]
            if kind == LC_OP_INSERT:
                vals = o[4]
                if type(vals) is list:
                    for v in <list>vals:
                        if not plain_scalar(v) and isinstance(v, cid_type):
                            created.append(v)
            elif kind == LC_OP_MAP_SET:
                if isinstance(o[4], cid_type):
                    created.append(o[4])
            elif kind == LC_OP_SET:
                if isinstance(o[5], cid_type):
                    created.append(o[5])
            elif kind == LC_OP_TREE and o[3] == ch[0] and o[4] == o[2]:
                # a node's creation registers its metadata map
                created.append(_types.ContainerID.Normal(o[3], o[4], _types.ContainerType.Map()))
    for cid in created:
        out[cid] = None
    return 0


def snapshot_block_cids(bytes data not None):
    """The containers a visit of every change block of this (non-shallow) snapshot
    registers in loro's arena, in order: the blocks by key (peer, then start counter),
    each as block_cids_into; None for other blobs."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef Py_ssize_t meta_off = 0, i
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0:
        return None
    metas = sst_metas(&secs[0], &meta_off)
    entries = []
    for i in range(len(metas)):
        sst_metas_read(&secs[0], metas, i, meta_off, entries)
    out = {}
    for key, value in sorted(entries):
        if len(key) == 12:
            block_cids_into(value, out)
    return list(out)

def snapshot_blocks_cids(bytes data not None, LoroDoc known=None, bint checked=False):
    """The change blocks of this (non-shallow) snapshot in key order, each as (peer, start
    counter, the containers parsing it registers: block_cids_into, reusing the id objects
    of `known`; `checked`: an import decoded these blocks whole already, their columns are
    read alone); None for other blobs."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef Py_ssize_t meta_off = 0, i
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0:
        return None
    metas = sst_metas(&secs[0], &meta_off)
    entries = []
    for i in range(len(metas)):
        sst_metas_read(&secs[0], metas, i, meta_off, entries)
    out = []
    for key, value in sorted(entries):
        if len(key) == 12:
            cids = {}
            block_cids_into(value, cids, known, checked)
            out.append((int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big", signed=True),
                        list(cids)))
    return out

cdef int sst_metas_read(Reader* sec, list metas, Py_ssize_t i, Py_ssize_t meta_off,
                        list out) except -1:
    """sst_read_block of block `i` of an SSTable section (`metas`, `meta_off`: sst_metas)."""
    cdef Py_ssize_t end = sst_block_end(metas, i, meta_off)
    if end < 0:
        fail("bad SSTable block range")
    off, first_key, flags, last_key = metas[i]
    return sst_read_block(sec.data, off, end, first_key, flags, last_key, out)


cdef object block_named_cids(const unsigned char* p, Py_ssize_t n, Py_ssize_t* budget,
                             LoroDoc known=None):
    """The containers a change block's ops name, in op order, read from its columns alone;
    None when an op may create a child (one on a list, map, movable list or tree: its
    values must be read)."""
    cdef BlockHead h
    cdef BlockArrays a
    cdef Py_ssize_t i, n_ops
    cdef int64_t ci
    cdef int kind
    memset(&a, 0, sizeof(BlockArrays))
    try:
        parse_block_struct(p, n, &h)
        parse_header(&h, &a)
        cids = decode_cids(&h.cids, &h, &a, decode_keys(&h.keys, &a), known)
        n_ops = decode_ops_columns(&h, &a, len(cids), budget)
        out = {}
        for i in range(n_ops):
            ci = a.col_cidx[i]
            kind = a.cid_kind[ci]
            if kind != KIND_TEXT and kind != KIND_COUNTER:
                return None
            out[cids[ci]] = None
        return list(out)
    finally:
        arrays_free(&a)


# -- the containers of a block from its columns ------------------------------------------------

cdef int skip_value(Reader* r, int depth) except -1:
    """Step over one nested LoroValue (read_value's layout) without building it."""
    cdef uint8_t tag, kind
    cdef uint64_t n, kidx
    cdef int64_t iv
    cdef const unsigned char* p = NULL
    cdef Py_ssize_t i
    if depth > MAX_VALUE_DEPTH:
        fail("value is nested too deeply")
    r_u8(r, &tag)
    if tag == LV_NULL or tag == LV_TRUE or tag == LV_FALSE:
        return 0
    if tag == LV_I64:
        return r_sleb(r, &iv)
    if tag == LV_F64:
        if read_bytes(r, 8, &p) < 0:
            raise_reader_error(r)
        return 0
    if tag == LV_STR or tag == LV_BINARY:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r):
            fail("string runs past the end of the values")
        r.pos += <Py_ssize_t>n
        return 0
    if tag == LV_LIST:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r) or n > MAX_COLLECTION:
            fail("list length runs past the end of the values")
        for i in range(<Py_ssize_t>n):
            skip_value(r, depth + 1)
        return 0
    if tag == LV_MAP:
        r_uleb(r, &n)
        if n > <uint64_t>(reader_remaining(r) // 2) or n > MAX_COLLECTION:
            fail("map length runs past the end of the values")
        for i in range(<Py_ssize_t>n):
            r_uleb(r, &kidx)
            skip_value(r, depth + 1)
        return 0
    if tag == LV_CONTAINER:
        return r_u8(r, &kind)
    fail(f"unknown value tag {tag}")


cdef inline int scan_child(Reader* r, int64_t ctr, I64Vec* created) except -1:
    """A top-level value of an op that may create a child: a container's (counter, kind)
    goes to `created`, anything else is stepped over."""
    cdef uint8_t kind
    if reader_at_end(r) or r.data[r.pos] != LV_CONTAINER:
        return skip_value(r, 1)
    r.pos += 1
    r_u8(r, &kind)
    if (kind != KIND_MAP and kind != KIND_LIST and kind != KIND_TEXT and kind != KIND_COUNTER
            and kind != KIND_MOVABLE_LIST and kind != KIND_TREE):
        unsupported_kind(kind)
    if ctr > INT32_MAX:
        fail("child container id overflows i32")
    vec_push(created, ctr)
    vec_push(created, kind)
    return 0


cdef list block_cids_scan(const unsigned char* p, Py_ssize_t n, Py_ssize_t* budget,
                          LoroDoc known=None):
    """The containers parsing a change block registers (what block_cids_into adds, in its
    order: each op's container, then the children the ops create), read from the op
    columns and only the values that may hold a child container (a list or movable list
    insert's items, a map set's or movable list set's value; a tree create's meta map),
    the other values stepped over with no Python object built. For a block the import
    decoded already (checked whole): it does not check what it skips."""
    cdef BlockHead h
    cdef BlockArrays a
    cdef Py_ssize_t i, j, n_ops, n_cids
    cdef int64_t ci, ctr, ln
    cdef int kind, tag
    cdef uint64_t m, tp, tc, u
    cdef uint8_t b
    cdef const unsigned char* sp = NULL
    cdef Reader* vals
    cdef uint8_t* seen = NULL
    cdef I64Vec created
    cdef uint64_t peer
    cdef list out = []
    memset(&a, 0, sizeof(BlockArrays))
    memset(&created, 0, sizeof(I64Vec))
    try:
        parse_block_struct(p, n, &h)
        parse_header(&h, &a)
        cids = decode_cids(&h.cids, &h, &a, decode_keys(&h.keys, &a), known)
        n_cids = len(cids)
        n_ops = decode_ops_columns(&h, &a, n_cids, budget)
        seen = <uint8_t*>xalloc(n_cids + 1, sizeof(uint8_t))
        peer = a.peers[0]
        vals = &h.values
        ctr = h.counter_start
        for i in range(n_ops):
            ci = a.col_cidx[i]
            if not seen[ci]:
                seen[ci] = 1
                out.append(cids[ci])
            kind = a.cid_kind[ci]
            tag = <int>a.col_tag[i]
            ln = a.col_len[i]
            if tag == V_DELETE_SEQ and (kind == KIND_TEXT or kind == KIND_LIST
                                        or kind == KIND_MOVABLE_LIST):
                pass                            # (its start id is in the delete columns)
            elif kind == KIND_TEXT:
                if tag == V_STR:
                    r_uleb(vals, &m)
                    if m > <uint64_t>reader_remaining(vals):
                        fail("text insert runs past the end of the values")
                    vals.pos += <Py_ssize_t>m
                elif tag == V_MARK_START:
                    r_u8(vals, &b)
                    r_uleb(vals, &u)
                    r_uleb(vals, &u)
                    skip_value(vals, 0)
                elif tag != V_NULL:
                    fail(f"value kind {tag} is not valid for a Text op")
            elif kind == KIND_LIST or (kind == KIND_MOVABLE_LIST and tag == V_LORO_VALUE):
                if tag != V_LORO_VALUE:
                    fail(f"value kind {tag} is not valid for a List op")
                if reader_at_end(vals) or vals.data[vals.pos] != LV_LIST:
                    fail("a list insert must hold a list of values")
                vals.pos += 1
                r_uleb(vals, &m)
                if m > <uint64_t>reader_remaining(vals) or m > MAX_COLLECTION:
                    fail("list length runs past the end of the values")
                for j in range(<Py_ssize_t>m):
                    scan_child(vals, ctr + j, &created)
            elif kind == KIND_MAP:
                if tag == V_LORO_VALUE:
                    scan_child(vals, ctr, &created)
                elif tag != V_DELETE_ONCE:
                    fail(f"value kind {tag} is not valid for a Map op")
            elif kind == KIND_COUNTER:
                if tag == V_I64:
                    r_sleb(vals, <int64_t*>&u)
                elif tag == V_F64:
                    if read_bytes(vals, 8, &sp) < 0:
                        raise_reader_error(vals)
                else:
                    fail(f"value kind {tag} is not valid for a Counter op")
            elif kind == KIND_MOVABLE_LIST:
                if tag == V_LIST_MOVE:
                    r_uleb(vals, &u)
                    r_uleb(vals, &u)
                    r_uleb(vals, &u)
                elif tag == V_LIST_SET:
                    r_uleb(vals, &u)
                    r_uleb(vals, &u)
                    scan_child(vals, ctr, &created)
                else:
                    fail(f"value kind {tag} is not valid for a MovableList op")
            elif kind == KIND_TREE:
                if tag != V_TREE_MOVE:
                    fail(f"value kind {tag} is not valid for a Tree op")
                r_uleb(vals, &tp)
                r_uleb(vals, &tc)
                r_uleb(vals, &u)
                r_u8(vals, &b)
                if not b:
                    r_uleb(vals, &u)
                    r_uleb(vals, &u)
                if tp >= <uint64_t>h.n_peers:
                    fail("tree target peer is not in the peer table")
                if a.peers[tp] == peer and <int64_t>tc == ctr:
                    # a node's creation registers its metadata map
                    vec_push(&created, ctr)
                    vec_push(&created, KIND_MAP)
            else:
                unsupported_kind(kind)
            ctr += ln
        for i in range(0, created.len, 2):
            out.append(child_cid(peer, created.data[i], <int>created.data[i + 1], known))
        return out
    finally:
        free(seen)
        vec_free(&created)
        arrays_free(&a)


cdef object child_cid(uint64_t peer, int64_t ctr, int kind, LoroDoc known):
    """ContainerID.Normal(peer, ctr, kind), the object `known` holds when it has it."""
    if known is not None:
        cid = known.cid_by_key.get((peer, ctr, kind))
        if cid is not None:
            return cid
    return normal_cid_c(peer, ctr, container_type(kind))
