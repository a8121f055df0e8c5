# Change blocks, reading side. A block holds consecutive changes of one peer:
#
#   block  = postcard struct: counter start/len, lamport start/len, change count (u32
#            varints), then 8 length-prefixed sections:
#   header     peer table, change lengths, deps (bool-RLE "on own previous op", RLE counts,
#              RLE peer indices, delta-of-delta counters), lamports (delta-of-delta)
#   change_meta  timestamps (delta-of-delta), message lengths (RLE), the messages
#   cids       container arena: (is_root, kind, peer index, name key index or counter)
#   keys       key arena: length-prefixed UTF-8 strings
#   positions  tree fractional indexes (codec/tree_payloads.pxi)
#   ops        4 columns: container index (delta-RLE), prop (delta-RLE), value kind (RLE),
#              length (RLE)
#   delete_start_ids  3 delta-RLE columns (peer index, counter, signed length), one row per
#              sequence delete
#   values     the op payloads, in op order (read by change_block_payloads.pxi)
#
# decode_block reads the sections into C arrays (BlockArrays), then walks the ops once:
# the per-kind payload readers either build change tuples or stage straight into a document.

cdef enum:
    BLOCK_SMALL_WORDS = 96     # words of BlockArrays.small


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
    KeySlice* keys         # the key arena's strings, in place
    # staging only: the document's index of each block container / key / peer, filled
    # lazily (0xFFFFFFFF: not looked up yet)
    uint32_t* doc_cid
    uint32_t* doc_key
    uint32_t* doc_peer
    # staging only: the document's index of each block container for comparing the known
    # ops of changes it has (not registered; NOT_HELD_CID when it lacks it), filled lazily
    uint32_t* known_cid
    uint32_t* known_peer            # (and of each peer, NOT_HELD_PEER when it lacks it)
    # the arrays of a small block (a relayed keystroke's: a few elements each) are carved
    # from here instead of a calloc and free apiece; zeroed with the struct
    Py_ssize_t small_used
    int64_t small[BLOCK_SMALL_WORDS]


cdef void* balloc(BlockArrays* a, Py_ssize_t n, size_t size) except NULL nogil:
    """xalloc for one of the block's arrays (zeroed, at least one element)."""
    cdef Py_ssize_t words
    if n < 1:
        n = 1
    if n <= BLOCK_SMALL_WORDS:
        words = <Py_ssize_t>((<size_t>n * size + 7) // 8)
        if a.small_used + words <= BLOCK_SMALL_WORDS:
            a.small_used += words
            return &a.small[a.small_used - words]
    return xalloc(n, size)


cdef inline void bfree(BlockArrays* a, void* p) noexcept nogil:
    if not (<char*>a.small <= <char*>p < <char*>(a.small + BLOCK_SMALL_WORDS)):
        free(p)


cdef void arrays_free(BlockArrays* a) noexcept nogil:
    bfree(a, a.peers); bfree(a, a.ch_start); bfree(a, a.lamports); bfree(a, a.timestamps)
    bfree(a, a.msg_lens); bfree(a, a.dep_self); bfree(a, a.dep_counts); bfree(a, a.dep_peers)
    bfree(a, a.dep_ctrs); bfree(a, a.col_cidx); bfree(a, a.col_prop); bfree(a, a.col_tag)
    bfree(a, a.col_len); bfree(a, a.del_peer); bfree(a, a.del_ctr); bfree(a, a.del_len)
    bfree(a, a.cid_kind); bfree(a, a.keys); bfree(a, a.doc_cid); bfree(a, a.doc_key); bfree(a, a.doc_peer)
    bfree(a, a.known_cid); bfree(a, a.known_peer)
    memset(a, 0, sizeof(BlockArrays))


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
    a.peers = <uint64_t*>balloc(a, h.n_peers, sizeof(uint64_t))
    for i in range(h.n_peers):
        if read_u64_le(r, &a.peers[i]) < 0:
            raise_reader_error(r)
    if N - 1 > reader_remaining(r):
        fail("change lengths run past the end of the block header")
    a.ch_start = <int64_t*>balloc(a, N + 1, sizeof(int64_t))
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
    a.dep_self = <uint8_t*>balloc(a, N, sizeof(uint8_t))
    bool_rle_read_n(r, N, a.dep_self)
    a.dep_counts = <int64_t*>balloc(a, N, sizeof(int64_t))
    rle_read_n(r, N, VK_ULEB, a.dep_counts)
    for i in range(N):
        # every dependency counter needs at least one bit of the delta-of-delta stream
        if a.dep_counts[i] > 8 * reader_remaining(r) + 1 - sum_deps:
            fail("dependency count runs past the end of the block header")
        sum_deps += a.dep_counts[i]
    h.n_deps = <Py_ssize_t>sum_deps
    a.dep_peers = <int64_t*>balloc(a, h.n_deps, sizeof(int64_t))
    rle_read_n(r, h.n_deps, VK_ULEB, a.dep_peers)
    for i in range(h.n_deps):
        if a.dep_peers[i] >= h.n_peers:
            fail("dependency peer index is not in the peer table")
    a.dep_ctrs = <int64_t*>balloc(a, h.n_deps, sizeof(int64_t))
    dod_read_n(r, h.n_deps, a.dep_ctrs, 0, INT32_MAX)
    a.lamports = <int64_t*>balloc(a, N, sizeof(int64_t))
    dod_read_n(r, N - 1, a.lamports, 0, UINT32_MAX)
    if h.lamport_start + h.lamport_len < last_len:
        fail("change block lamport range is too short")
    a.lamports[N - 1] = h.lamport_start + h.lamport_len - last_len
    r_end(r, "change block header")
    # change_meta
    r = &h.meta
    a.timestamps = <int64_t*>balloc(a, N, sizeof(int64_t))
    dod_read_n(r, N, a.timestamps, INT64_MIN, INT64_MAX)
    a.msg_lens = <int64_t*>balloc(a, N, sizeof(int64_t))
    rle_read_n(r, N, VK_ULEB, a.msg_lens)
    total = 0
    for i in range(N):
        if a.msg_lens[i] > reader_remaining(r) - total:
            fail("commit messages run past the end of the change metadata")
        total += a.msg_lens[i]
    if total != reader_remaining(r):
        fail("trailing bytes after the commit messages")
    return 0


# -- container and key arenas -----------------------------------------------------------------

cdef _BlockKeys decode_keys(Reader* r, BlockArrays* a):
    """The key arena, checked; its strs are made on first use (_BlockKeys)."""
    cdef Reader s, scan = r[0]
    cdef Py_ssize_t n = 0, i
    cdef _BlockKeys keys = _BlockKeys.__new__(_BlockKeys)
    while not reader_at_end(&scan):
        r_slice(&scan, &s)
        n += 1
    a.keys = <KeySlice*>balloc(a, n, sizeof(KeySlice))
    for i in range(n):
        r_slice(r, &s)
        if not ascii_only(s.data, s.len) and not utf8_ok(s.data, s.len):
            fail("a key is not valid UTF-8")
        a.keys[i].p = s.data
        a.keys[i].n = s.len
    keys.slices = a.keys
    keys.n = n
    return keys


cdef list decode_cids(Reader* r, BlockHead* h, BlockArrays* a, _BlockKeys keys, LoroDoc doc=None):
    cdef uint64_t n, fields, pidx
    cdef uint8_t is_root, kind
    cdef int64_t koc
    cdef Py_ssize_t i
    cdef list out
    r_uleb(r, &n)
    if n > <uint64_t>(reader_remaining(r) // 5):
        fail("container table runs past the end of its section")
    a.cid_kind = <uint8_t*>balloc(a, <Py_ssize_t>n, sizeof(uint8_t))
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
                if 0 <= koc < keys.n:
                    cid = doc.cid_by_key.get((keys.get(koc), kind))
                    if cid is not None:
                        out.append(cid)
                        continue
            elif pidx < <uint64_t>h.n_peers and 0 <= koc <= INT32_MAX:
                cid = doc.cid_by_key.get((a.peers[pidx], koc, kind))
                if cid is not None:
                    out.append(cid)
                    continue
        if is_root:
            if koc < 0 or koc >= keys.n:
                fail("root container name index is out of range")
            try:
                cid = CID_ROOT(keys.get(koc), container_type(kind))
            except (LoroError, ValueError, TypeError, OverflowError) as e:
                raise DecodeError(f"bad root container: {e}") from None
        else:
            if pidx >= <uint64_t>h.n_peers:
                fail("container peer index is not in the peer table")
            if koc < 0 or koc > INT32_MAX:
                fail("container counter is out of range")
            if known_kind(kind):
                # (valid parts: the unchecked constructor, an equal id)
                cid = normal_cid_c(a.peers[pidx], koc, container_type(kind))
            else:
                cid = CID_NORMAL(a.peers[pidx], koc, container_type(kind))
        out.append(cid)
    r_end(r, "container table")
    return out


# -- op and delete columns --------------------------------------------------------------------

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
    if n >= NOGIL_MIN_VALUES:
        # a large block's columns decode while other threads run (pure C over the bytes)
        with nogil:
            read_op_columns(cols, a, n, n_cids)
    else:
        read_op_columns(cols, a, n, n_cids)
    return n


cdef int read_op_columns(Reader* cols, BlockArrays* a, Py_ssize_t n, Py_ssize_t n_cids) except -1 nogil:
    cdef Py_ssize_t got, i
    a.col_cidx = <int64_t*>balloc(a, n, sizeof(int64_t))
    a.col_prop = <int64_t*>balloc(a, n, sizeof(int64_t))
    a.col_tag = <int64_t*>balloc(a, n, sizeof(int64_t))
    a.col_len = <int64_t*>balloc(a, n, sizeof(int64_t))
    rle_read_all(&cols[0], VK_ZZ, a.col_cidx, n)
    delta_accumulate(a.col_cidx, n, 0, <int64_t>n_cids - 1)
    got = rle_read_all(&cols[1], VK_ZZ, a.col_prop, n)
    if got != n:
        failc(b"ops columns have different lengths")
    delta_accumulate(a.col_prop, n, -2147483648, INT32_MAX)
    got = rle_read_all(&cols[2], VK_U8, a.col_tag, n)
    if got != n:
        failc(b"ops columns have different lengths")
    got = rle_read_all(&cols[3], VK_ULEB, a.col_len, n)
    if got != n:
        failc(b"ops columns have different lengths")
    for i in range(n):
        if a.col_len[i] < 1 or a.col_len[i] > INT32_MAX:
            failc(b"op length is out of range")
    return 0


cdef Py_ssize_t decode_del_columns(BlockHead* h, BlockArrays* a, Py_ssize_t n_ops) except -1:
    cdef Reader cols[3]
    cdef Reader c0
    cdef Py_ssize_t n, got
    if reader_at_end(&h.dels):
        return 0
    columnar_vec(&h.dels, 3, cols, "delete start ids")
    c0 = cols[0]
    n = rle_read_all(&c0, VK_ZZ, NULL, n_ops)
    a.del_peer = <int64_t*>balloc(a, n, sizeof(int64_t))
    a.del_ctr = <int64_t*>balloc(a, n, sizeof(int64_t))
    a.del_len = <int64_t*>balloc(a, n, sizeof(int64_t))
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


# -- the block --------------------------------------------------------------------------------

cdef int decode_block(const unsigned char* p, Py_ssize_t n, bint with_ops, list out,
                      Py_ssize_t* budget, LoroDoc doc=None, LoroDoc known=None) except -1:
    """Decode one change block. Without `doc`, append its change tuples to ``out`` (ops
    None when ``with_ops`` is False: header-only decoding for blob metadata). With `doc`,
    stage its changes straight into the document's arenas (no per-op Python objects except
    list and map values) and append the block's container ids to ``out`` to keep them alive
    for the rest of the import."""
    cdef BlockHead h
    cdef BlockArrays a
    cdef list deps_all = [], msgs = [], all_ops = None
    memset(&a, 0, sizeof(BlockArrays))
    try:
        parse_block_struct(p, n, &h)
        parse_header(&h, &a)
        decode_deps_and_messages(&h, &a, deps_all, msgs)
        if with_ops:
            all_ops = decode_block_ops(&h, &a, budget, doc, deps_all, msgs, out, known)
        if doc is None:
            append_change_tuples(&a, h.n_changes, deps_all, msgs, all_ops, out)
    finally:
        arrays_free(&a)
    return 0


cdef int decode_deps_and_messages(BlockHead* h, BlockArrays* a, list deps_all,
                                  list msgs) except -1:
    """Each change's deps as ``(peer, counter)`` pairs and its commit message (None when
    empty), checked before any op is read."""
    cdef Py_ssize_t i, j, d = 0, msg_off = 0
    cdef uint64_t peer = a.peers[0]
    cdef list deps
    py_peer = peer
    for i in range(h.n_changes):
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
    return 0


cdef int check_deps_and_messages(BlockHead* h, BlockArrays* a) except -1:
    """The checks of decode_deps_and_messages, in its order, building nothing (a commit
    message is still read as UTF-8)."""
    cdef Py_ssize_t i, j, d = 0, msg_off = 0
    cdef uint64_t peer = a.peers[0]
    for i in range(h.n_changes):
        if a.ch_start[i] > 0 and not a.dep_self[i] and a.dep_counts[i] == 0:
            fail("a change after counter 0 has no dependencies")
        if a.dep_self[i] and a.ch_start[i] == 0:
            fail("a change at counter 0 depends on its own peer")
        for j in range(<Py_ssize_t>a.dep_counts[i]):
            if a.peers[a.dep_peers[d]] == peer and a.dep_ctrs[d] >= a.ch_start[i]:
                fail("a change depends on a later op of its own peer")
            d += 1
        if a.msg_lens[i] != 0:
            utf8_str(h.meta.data + h.meta.pos + msg_off, <Py_ssize_t>a.msg_lens[i],
                     "a commit message")
            msg_off += <Py_ssize_t>a.msg_lens[i]
    return 0


cdef list decode_block_ops(BlockHead* h, BlockArrays* a, Py_ssize_t* budget, LoroDoc doc,
                           list deps_all, list msgs, list out, LoroDoc known=None):
    """Arenas, columns, then every op. Returns the op tuples of each change, or None when
    staging into `doc` (the block's container ids are then appended to ``out``). `known`,
    without `doc`: a document whose container id objects the op tuples reuse (nothing is
    staged into it)."""
    cdef _BlockKeys keys = decode_keys(&h.keys, a)
    cdef list cids = decode_cids(&h.cids, h, a, keys, doc if doc is not None else known)
    cdef Py_ssize_t n_cids = len(cids), n_ops, i
    cdef _OpPayloads st = _OpPayloads.__new__(_OpPayloads)
    cdef list all_ops = None
    n_ops = decode_ops_columns(h, a, n_cids, budget)
    st.h = h
    st.a = a
    st.keys = keys
    st.cids = cids
    st.peer = a.peers[0]
    st.py_peer = st.peer
    st.n_dels = decode_del_columns(h, a, n_ops)
    st.positions = decode_positions(&h.positions, n_ops)   # codec/tree_payloads.pxi
    if doc is not None:
        out.append(cids)
        st.doc = doc
        if doc.in_blob:
            # Loro holds a block's text in one buffer, the ops' bytes side by side: the
            # text inserts of a block get consecutive buffer numbers (lstr_place), and one
            # left unused between blocks tells the events where that buffer ends
            next_buffer(doc)
        st.staging = True
        st.values = doc.log.values
        a.doc_cid = <uint32_t*>balloc(a, n_cids + 1, sizeof(uint32_t))
        a.doc_key = <uint32_t*>balloc(a, keys.n + 1, sizeof(uint32_t))
        a.doc_peer = <uint32_t*>balloc(a, h.n_peers + 1, sizeof(uint32_t))
        memset(a.doc_cid, 0xFF, (n_cids + 1) * sizeof(uint32_t))
        memset(a.doc_key, 0xFF, (keys.n + 1) * sizeof(uint32_t))
        memset(a.doc_peer, 0xFF, (h.n_peers + 1) * sizeof(uint32_t))
        a.known_cid = <uint32_t*>balloc(a, n_cids + 1, sizeof(uint32_t))
        memset(a.known_cid, 0xFF, (n_cids + 1) * sizeof(uint32_t))
        a.known_peer = <uint32_t*>balloc(a, h.n_peers + 1, sizeof(uint32_t))
        memset(a.known_peer, 0xFF, (h.n_peers + 1) * sizeof(uint32_t))
        st.known = import_known(doc)
    else:
        all_ops = [[] for i in range(h.n_changes)]
    decode_op_loop(h, a, st, n_ops, deps_all, msgs, all_ops)
    return all_ops


cdef int decode_op_loop(BlockHead* h, BlockArrays* a, _OpPayloads st, Py_ssize_t n_ops,
                        list deps_all, list msgs, list all_ops) except -1:
    """Walk the op columns: cut them into the block's changes, open and close each change
    when staging, and hand each op to its kind's payload reader."""
    cdef Py_ssize_t i, ch = 0, N = h.n_changes
    cdef int64_t counter = h.counter_start, op_counter, ci
    cdef int kind
    cdef uint32_t c = 0
    cdef bint staging = st.staging
    cdef list ops = None if staging else all_ops[0]
    cdef uint32_t cps_stack[CPS_STACK]
    st.cps_stack = &cps_stack[0]
    for i in range(n_ops):
        if ch >= N:
            fail("ops extend past the last change of the block")
        ci = a.col_cidx[i]
        kind = a.cid_kind[ci]
        op_counter = counter
        counter += a.col_len[i]
        if counter > a.ch_start[ch + 1]:
            fail("an op crosses a change boundary")
        if staging:
            if op_counter == a.ch_start[ch]:
                # the first op of change `ch`: open it (unless it is already pending)
                open_change(st, ch, deps_all[ch])
            if not st.skip and kind <= KIND_COUNTER:
                c = a.doc_cid[ci]
                if c == 0xFFFFFFFFU:
                    c = register_container(st, ci, kind)
            elif op_counter < st.cmp_end:
                c = known_cid(st, ci)
        if (kind == KIND_TEXT or kind == KIND_LIST) and a.col_tag[i] == V_DELETE_SEQ:
            op = seq_delete(st, i, c, op_counter)
        elif kind == KIND_TEXT:
            op = text_insert(st, i, c, op_counter)
        elif kind == KIND_LIST:
            op = list_insert(st, i, c, op_counter)
        elif kind == KIND_MAP:
            op = map_op(st, i, c, op_counter)
        elif kind == KIND_COUNTER:
            op = counter_op(st, i, c, op_counter)
        elif kind == KIND_MOVABLE_LIST:
            # inserts and deletes are List's (codec/movable_payloads.pxi)
            if a.col_tag[i] == V_DELETE_SEQ:
                op = seq_delete(st, i, c, op_counter)
            elif a.col_tag[i] == V_LORO_VALUE:
                op = list_insert(st, i, c, op_counter)
            else:
                op = movable_op(st, i, c, op_counter)
        elif kind == KIND_TREE:
            op = tree_op(st, i, c, op_counter)      # codec/tree_payloads.pxi
        else:
            unsupported_kind(kind)
        if not staging:
            ops.append(op)
        if counter == a.ch_start[ch + 1]:
            if staging and not st.skip:
                stage_end(st.doc, msgs[ch])
            ch += 1
            if ch < N and not staging:
                ops = all_ops[ch]
    if ch != N:
        fail("the ops do not cover every change of the block")
    if st.del_i != st.n_dels:
        fail("unused delete start ids")
    r_end(&h.values, "op values")
    return 0


cdef int append_change_tuples(BlockArrays* a, Py_ssize_t N, list deps_all, list msgs,
                              list all_ops, list out) except -1:
    """``(peer, counter, lamport, timestamp, msg, deps, ops)`` per change; without ops
    (``all_ops`` None) the ops slot is None and the change's end counter follows."""
    cdef Py_ssize_t i
    py_peer = a.peers[0]
    for i in range(N):
        if all_ops is not None:
            out.append((py_peer, a.ch_start[i], a.lamports[i], a.timestamps[i], msgs[i],
                        deps_all[i], all_ops[i]))
        else:
            out.append((py_peer, a.ch_start[i], a.lamports[i], a.timestamps[i], msgs[i],
                        deps_all[i], None, a.ch_start[i + 1]))
    return 0
