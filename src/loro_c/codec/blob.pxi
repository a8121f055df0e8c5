# The blob envelope ("loro", checksum, mode), mode dispatch, and the module's Python entry
# points: decode_updates, stage_blobs (the import's decoder), encode_updates,
# decode_blob_meta.

# -- envelope and modes -----------------------------------------------------------------------

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
    cdef int64_t mk
    while not reader_at_end(body):
        r_slice(body, &blk)
        if blk.len == 0:
            fail("empty change block")
        decode_block(blk.data, blk.len, with_ops, out, budget, doc)
        if doc is None:
            continue
        # loro registers the children a block's changes create (and its created tree
        # nodes' meta maps) when it has decoded that block, before the next block's
        # containers: a blob of several peers numbers them block by block
        if doc.lnum_pending:
            lnum_flush(doc)
        elif doc.meta_n and doc.meta_q[doc.meta_n - 1] >= 0:
            # only meta maps: numbered (no ContainerID built) when the import next numbers
            # a container, if it does (-2; see container_index), else when read
            mk = doc.meta_n - 1
            while mk >= 2 and doc.meta_q[mk] >= 0:
                doc.meta_q[mk] = -2
                mk -= 3
    return 0


cdef bint next_block_head(Reader* body, BlockHead* h) except -1:
    """The struct of the next change block of an updates body, its ops left encoded (False
    at the body's end); DecodeError for a malformed one."""
    cdef Reader blk
    if reader_at_end(body):
        return False
    r_slice(body, &blk)
    if blk.len == 0:
        fail("empty change block")
    parse_block_struct(blk.data, blk.len, h)
    return True


cdef bint updates_bring_new(const Reader* body, KnownCheck known) except -1:
    """Whether an updates body holds ops the document (with a batch's earlier blobs) lacks,
    read from its block headers alone: a blob that brings nothing new (an echo, a repeated
    delivery) is accepted whatever its known part holds, so it is not compared."""
    cdef Reader r = body[0]
    cdef Reader head
    cdef BlockHead h
    cdef uint64_t n_peers, peer
    try:
        while next_block_head(&r, &h):
            head = h.header
            r_uleb(&head, &n_peers)
            if n_peers == 0 or read_u64_le(&head, &peer) < 0:
                return True
            if h.counter_start + h.counter_len > known_end_for_peer(known, peer):
                return True
    except DecodeError:
        return True     # (malformed: the decoder reports it where it finds it)
    return False


def updates_known_to(bytes data not None, dict vv not None):
    """Whether `data` is a sound updates blob (its checksum right, every change block
    decoding, as an import decodes them: loro refuses a known change that does not), with
    at least one change, every one of which `vv` ({peer: end}) holds (read from the block
    headers first). False for anything else: the import goes the usual way then, and
    says what is wrong."""
    cdef uint16_t mode
    cdef Reader body, blocks, head
    cdef BlockHead h
    cdef uint64_t n_peers, peer
    cdef bint any_block = False
    cdef Py_ssize_t budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
    try:
        parse_envelope(data, True, &mode, &body)
        if mode != MODE_UPDATES:
            return False
        blocks = body
        while next_block_head(&blocks, &h):
            head = h.header
            r_uleb(&head, &n_peers)
            if n_peers == 0 or read_u64_le(&head, &peer) < 0:
                return False
            if h.counter_start + h.counter_len > vv.get(peer, 0):
                return False
            any_block = True
        if any_block:
            decode_updates_body(&body, True, [], &budget)
    except DecodeError:
        return False
    return any_block


def updates_change_count(bytes data not None):
    """The number of changes of an updates blob, read from its block headers alone (what
    decode_blob_meta's change_num says, without decoding the changes); -1 when the blob is
    not a well-formed updates blob (its import reports why)."""
    cdef uint16_t mode
    cdef Reader body
    cdef BlockHead h
    cdef int64_t n = 0
    try:
        parse_envelope(data, False, &mode, &body)
        if mode != MODE_UPDATES:
            return -1
        while next_block_head(&body, &h):
            n += h.n_changes
    except DecodeError:
        return -1
    return n


# -- decoding ---------------------------------------------------------------------------------

def decode_updates(bytes data not None, dict block_sizes=None):
    """Change tuples of a mode-4 (updates) blob, or of the history inside a mode-3
    (snapshot) blob (with `block_sizes`: peer -> byte size of its last block). Raises
    DecodeError on anything malformed or unsupported."""
    cdef uint16_t mode
    cdef Reader body
    cdef list out = []
    cdef Py_ssize_t budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
    parse_envelope(data, True, &mode, &body)
    check_mode(mode)
    if mode == MODE_UPDATES:
        decode_updates_body(&body, True, out, &budget)
    else:
        shallow, meta = decode_snapshot_oplog(&body, True, out, &budget, block_sizes)
        if not shallow:
            # (a shallow one's version also counts its trimmed history: its changes, from
            # the shallow root on, are imported as updates, as loro imports them into a
            # document that is not empty)
            check_snapshot_vv(out, meta)
    return out


def decode_update_blocks(bytes data not None):
    """The change tuples of a mode-4 (updates) blob, block by block: a list of lists, one
    per change block as the blob holds them (None for another mode). Raises DecodeError on
    anything malformed or unsupported."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader blk
    cdef list out = []
    cdef list block
    cdef Py_ssize_t budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
    parse_envelope(data, True, &mode, &body)
    check_mode(mode)
    if mode != MODE_UPDATES:
        return None
    while not reader_at_end(&body):
        r_slice(&body, &blk)
        if blk.len == 0:
            fail("empty change block")
        block = []
        decode_block(blk.data, blk.len, True, block, &budget, None)
        out.append(block)
    return out


def update_block_bytes(bytes data not None):
    """The raw bytes of each change block of a mode-4 (updates) blob, in the blob's order
    (None for another mode): what loro compares with the blocks its change store holds."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader blk
    cdef list out = []
    parse_envelope(data, False, &mode, &body)
    if mode != MODE_UPDATES:
        return None
    while not reader_at_end(&body):
        r_slice(&body, &blk)
        out.append(PyBytes_FromStringAndSize(<const char*>blk.data, blk.len))
    return out


def snapshot_blocks_at(bytes data not None, tuple keys not None):
    """The change blocks a snapshot's oplog section stores under `keys` (12 bytes each: a
    peer big-endian, then its first counter), as {key: raw bytes}; the others are left
    unread. Empty for another mode."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES or not keys:
        return {}
    snapshot_sections(&body, secs)
    if secs[0].len == 0:
        return {}
    wanted = set(keys)
    return {k: v for k, v in sst_entries(&secs[0], keys) if k in wanted}


def stage_blobs(LoroDoc doc, list blobs, bint fresh=False):
    """Stage the changes of every blob into `doc` (the import pipeline applies them). With
    `fresh` (an empty document), a snapshot's root containers are registered and shown too."""
    cdef uint16_t mode
    cdef Reader body
    cdef Py_ssize_t budget
    cdef list alive = []          # block container ids, alive until the import ends
    cdef dict block_sizes
    cdef int64_t mk
    for data in blobs:
        if not isinstance(data, bytes):
            raise LoroValueError(f"a blob must be bytes, not {type(data).__name__}")
        parse_envelope(data, True, &mode, &body)
        check_mode(mode)
        # Loro decodes a blob's text apart from the document's string arena
        doc.in_blob = True
        try:
            if mode == MODE_UPDATES:
                budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
                known = import_known(doc)
                known.idle = not updates_bring_new(&body, known)
                decode_updates_body(&body, True, alive, &budget, doc)
            elif fresh and doc.snap_blocks is None:
                # a snapshot into an empty document: Loro keeps its change blocks as they are
                block_sizes = {}
                starts = {}
                budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(data)
                doc.snap_lo = doc.n_staged
                stage_snapshot_oplog(&body, doc, alive, &budget, block_sizes, starts)
                doc.snap_blocks = block_sizes
                # (doc/grouping.pxi: the blocks it keeps, the peers whose last one it
                # has not parsed)
                cold = starts.pop(None)
                doc.kept_blocks = starts
                doc.loaded_blocks = (doc.log.serial, data)
                doc.cold_peers = cold or None
                doc.snap_hi = doc.n_staged
            else:
                # a snapshot into a document that is not empty: Loro reads the changes
                # it lacks from the snapshot's change store (by peer, then counter),
                # slices them to what it lacks (a change it has the start of adds only
                # its new text: a peer's 'xx' then 'xxyy' from two snapshots fold into
                # one op 'xxyy'; test_checkout_text_deltas seeds 31, 36, 755), sorts them
                # by their Lamport alone with Rust's unstable sort (beyond 20 changes it
                # moves changes of equal Lamport around: _rust_sort) and appends their
                # text to the document's string arena op by op, each op moving to a
                # fresh buffer when it does not fit (probed on loro 1.17.1: with 23 to 27
                # bytes before, the second of two 5-byte ops starts a buffer of its own;
                # seeds 1120 and 12 others of 0-3999). The ops it reads back from the
                # block fold as the block's do (300 characters typed in ops of 32, 32,
                # 64, 128 and 44 characters take room as one op). A later local insert's
                # bytes follow the last op, and the first follows the document's local
                # text typed before, unless a flush moved that text (lstr_flush); changes
                # it has take no room, whatever their peers and clocks.
                doc.in_blob = False
                have = doc.log.vv_dict()
                raws = decode_updates(data)
                known = import_known(doc)
                for raw in raws:
                    known_tuple(known, raw)
                raws.sort(key=lambda raw: (raw[0], raw[1]))
                sort_unstable_by_key(raws, lambda raw: raw[2])
                raws = [folded_text(new_part(raw, have.get(raw[0], 0))) for raw in raws
                        if raw[1] + tuple_ops_len(raw[6]) > have.get(raw[0], 0)]
                for raw in raws:
                    stage_tuple(doc, raw)
        finally:
            doc.in_blob = False
        import_blob_end(doc, len(blobs) > 1)
        if len(blobs) > 1 and doc.lnum_pending:
            # loro's import_batch imports blob by blob: the children a blob creates are
            # numbered before the next blob's containers (an updates blob numbered its own
            # block by block as it decoded them: decode_updates_body)
            lnum_flush(doc)
        elif len(blobs) > 1 and doc.meta_n:
            # only created tree nodes' meta maps: they are numbered (lnum_flush) when the
            # next blob numbers a container, if one does (-2 marks them; see container_index)
            for mk in range(2, doc.meta_n, 3):
                doc.meta_q[mk] = -2
        if mode != MODE_UPDATES:
            if fresh and doc.shallow_loading:
                fresh = False       # (the shallow root's state listed its roots)
            if fresh:
                # only the first snapshot loads into the empty document (the rest are history)
                fresh = False
                parse_envelope(data, False, &mode, &body)
                named, hide = snapshot_state_roots(&body)
                snap_roots = set()
                for cid in named:
                    c = container_index(doc, cid, kind_of_type(cid.container_type))
                    show_root(doc, c)
                    snap_roots.add(c)
                if hide:
                    doc.snap_roots = snap_roots
    return None


# -- encoding ---------------------------------------------------------------------------------

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
                if (ch[0] != last[0] or ch[1] != last[1] + change_len(last)
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


# -- blob metadata ----------------------------------------------------------------------------

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
    cdef I64Vec spans
    memset(&spans, 0, sizeof(I64Vec))
    try:
        shallow, meta = snapshot_oplog_spans(&body, &spans)
        return snapshot_blob_meta(shallow, meta, &spans)
    finally:
        vec_free(&spans)


cdef object snapshot_blob_meta(bint shallow, dict meta, I64Vec* spans):
    """decode_blob_meta of a snapshot from its oplog's meta entries and change spans
    (snapshot_oplog_spans)."""
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
        _timestamp_at(spans, start_f, False),
        start_f,
        _timestamp_at(spans, end_f, True),
        spans.len // 4,
        _types.EncodedBlobMode.ShallowSnapshot if shallow else _types.EncodedBlobMode.Snapshot,
    )


cdef tuple snapshot_oplog_spans(Reader* body, I64Vec* spans):
    """The oplog section of a mode-3 body read as decode_snapshot_oplog reads it without
    ops (every change block's header checked, in key order, the same way), but with no
    Python object per change: each change goes to `spans` as four words (peer, start
    counter, end counter, timestamp). Returns (is_shallow, the non-block entries)."""
    cdef Reader secs[3]
    cdef const unsigned char* kp
    cdef uint64_t kpeer
    cdef int64_t kctr
    cdef int j
    cdef BlockHead h
    cdef BlockArrays a
    cdef Py_ssize_t i
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
            memset(&a, 0, sizeof(BlockArrays))
            try:
                parse_block_struct(<const unsigned char*>PyBytes_AS_STRING(value), len(value), &h)
                parse_header(&h, &a)
                check_deps_and_messages(&h, &a)
                if a.peers[0] != kpeer or a.ch_start[0] != kctr:
                    fail("snapshot change block does not match its key")
                for i in range(h.n_changes):
                    vec_push(spans, <int64_t>a.peers[0])
                    vec_push(spans, a.ch_start[i])
                    vec_push(spans, a.ch_start[i + 1])
                    vec_push(spans, a.timestamps[i])
            finally:
                arrays_free(&a)
        elif key in (b"vv", b"fr", b"sv", b"sf"):
            meta[key] = value
        else:
            fail(f"unknown key {key!r} in the snapshot oplog")
    if b"sv" in meta or b"sf" in meta:
        shallow = True
    return shallow, meta


cdef int _front_push(dict front, object peer, object ctr) except -1:
    """Add a dependency to the start frontiers (greatest counter per peer, as Loro)."""
    old = front.get(peer)
    if old is None or old < ctr:
        front[peer] = ctr
    return 0


cdef object _timestamp_at(I64Vec* spans, Frontiers f, bint must_exist):
    """The greatest timestamp of the changes holding the ids of `f` (`spans`:
    snapshot_oplog_spans; the first change holding an id counts)."""
    cdef int64_t best = 0, ctr
    cdef uint64_t peer
    cdef Py_ssize_t k
    cdef bint found
    for fp, fc in f._ids:
        peer = fp
        ctr = fc
        found = False
        for k in range(0, spans.len, 4):
            if (<uint64_t>spans.data[k] == peer and spans.data[k + 1] <= ctr
                    and ctr < spans.data[k + 2]):
                found = True
                if spans.data[k + 3] > best:
                    best = spans.data[k + 3]
                break
        if must_exist and not found:
            fail("snapshot frontiers name an op outside its change blocks")
    return best


cdef inline bint text_continues(tuple p, tuple o):
    """Whether staged op `o` is a text insert that continues insert `p`: same text, next
    position, next counter."""
    return (o[0] == LC_OP_INSERT and p[0] == LC_OP_INSERT and o[1] == p[1]
            and isinstance(o[4], str) and isinstance(p[4], str)
            and p[2] + len(p[4]) == o[2] and p[3] + len(p[4]) == o[3])


cdef tuple folded_text(tuple raw):
    """The change with each text insert that continues the one before it folded into it:
    loro reads the block's ops back so (as fold_block_text does for an updates blob) before
    it places their text op by op, so a typed run cut where the exporter's arena grew takes
    room as one op."""
    ops = raw[6]
    cdef Py_ssize_t i
    for i in range(1, len(ops)):
        if text_continues(ops[i - 1], ops[i]):
            break
    else:
        return raw
    kept = [ops[0]]
    for o in ops[1:]:
        p = kept[len(kept) - 1]     # (no wraparound in this module)
        if text_continues(p, o):
            kept[len(kept) - 1] = (p[0], p[1], p[2], p[3], p[4] + o[4]) + tuple(p[5:])
        else:
            kept.append(o)
    return raw[:6] + (kept,)


cdef tuple new_part(tuple raw, int64_t known):
    """A decoded change without its atoms below counter `known` (the document has them):
    its ops from there, a text insert cut in two (the change as it is when another kind of
    op straddles `known`: staging drops what the document has of it)."""
    peer, counter, lamport, timestamp, msg, deps, ops = raw
    cdef int64_t at = counter, n, k
    if counter >= known:
        return raw
    kept = []
    for o in ops:
        n = tuple_ops_len((o,))
        if at + n <= known:
            at += n
            continue
        if at < known:
            if o[0] != LC_OP_INSERT or not isinstance(o[4], str):
                return raw
            k = known - at
            o = (o[0], o[1], o[2] + k, o[3] + k, o[4][k:]) + tuple(o[5:])
        kept.append(o)
        at += n
    return (peer, known, lamport + (known - counter), timestamp, msg, [(peer, known - 1)], kept)
