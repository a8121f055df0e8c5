# Change blocks, writing side: the block layout of change_block_decode.pxi, written from
# change tuples (loro_c.codec.json layout) or straight from a document's op arena (a DocOps
# range in the ops slot of a change tuple). Any valid segmentation is written, not Loro's
# exact bytes; Loro reads it.
#
# Registration order fixes the bytes: ops register containers, keys and delete peers as they
# come; the container arena then registers root names (keys) and container peers; the change
# headers register dependency peers; the peer table and key arena are written last.

# -- change tuples ----------------------------------------------------------------------------

cdef int64_t op_len(tuple op) except -1:
    """Atom length of an op tuple."""
    kind = op[0]
    if kind == LC_OP_INSERT:
        return len(op[4])
    if kind == LC_OP_DELETE:
        return abs(op[4])
    return 1


_PEER_COUNTER = operator.itemgetter(0, 1)


cdef list split_changes(list changes):
    """Sort by (peer, counter) and cut changes with more than ENC_MAX_OPS_PER_BLOCK ops
    into consecutive pieces (each piece depends on the previous one)."""
    cdef list out = []
    cdef Py_ssize_t i, n
    # one change (a relayed keystroke) needs no sort
    for ch in (changes if len(changes) < 2 else sorted(changes, key=_PEER_COUNTER)):
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


cdef object change_len(tuple ch):
    """Atom length of a change tuple."""
    cdef int64_t total = 0
    if type(ch[6]) is DocOps:
        return (<DocOps>ch[6]).b - (<DocOps>ch[6]).a
    for op in ch[6]:
        total += op_len(op)
    return total


# -- the columns of one block -----------------------------------------------------------------

cdef enum:
    N_BLOCK_VECS = 14           # the I64Vecs of BlockCols
    VEC_INLINE = 4              # values of each held inside BlockCols
    N_SECTION_WRITERS = 8       # the writers of BlockSections
    SECTION_INLINE = 64         # bytes of each held inside BlockSections


ctypedef struct BlockCols:
    # op columns, one row per op
    I64Vec cidx, prop, tag, length
    # delete start ids, one row per sequence delete
    I64Vec del_peer, del_ctr, del_len
    # per change
    I64Vec lens, lamports, timestamps, msg_lens, dep_counts
    uint8_t* dep_self
    # deps other than the own previous op
    I64Vec dep_peers, dep_ctrs
    # the vectors' first values (a one-op block, a relayed keystroke, allocates none)
    int64_t small[N_BLOCK_VECS][VEC_INLINE]
    uint8_t dep_self_small[VEC_INLINE]


cdef void cols_init(BlockCols* c) noexcept nogil:
    """(after a memset to 0)"""
    cdef I64Vec* vs[N_BLOCK_VECS]
    cdef int i
    vs[0] = &c.cidx; vs[1] = &c.prop; vs[2] = &c.tag; vs[3] = &c.length
    vs[4] = &c.del_peer; vs[5] = &c.del_ctr; vs[6] = &c.del_len
    vs[7] = &c.lens; vs[8] = &c.lamports; vs[9] = &c.timestamps; vs[10] = &c.msg_lens
    vs[11] = &c.dep_counts; vs[12] = &c.dep_peers; vs[13] = &c.dep_ctrs
    for i in range(N_BLOCK_VECS):
        vec_init_on(vs[i], c.small[i], VEC_INLINE)


cdef void cols_free(BlockCols* c) noexcept nogil:
    vec_free(&c.cidx); vec_free(&c.prop); vec_free(&c.tag); vec_free(&c.length)
    vec_free(&c.del_peer); vec_free(&c.del_ctr); vec_free(&c.del_len)
    vec_free(&c.lens); vec_free(&c.lamports); vec_free(&c.timestamps); vec_free(&c.msg_lens)
    vec_free(&c.dep_counts); vec_free(&c.dep_peers); vec_free(&c.dep_ctrs)
    if c.dep_self != &c.dep_self_small[0]:
        free(c.dep_self)
    c.dep_self = NULL


# The block's sections, plus a scratch writer for one column at a time.
ctypedef struct BlockSections:
    Writer header, meta, cids, keys, ops, dels, values, tmp
    unsigned char small[N_SECTION_WRITERS][SECTION_INLINE]    # their first bytes


cdef void sections_list(BlockSections* s, Writer** ws) noexcept nogil:
    ws[0] = &s.header; ws[1] = &s.meta; ws[2] = &s.cids; ws[3] = &s.keys
    ws[4] = &s.ops; ws[5] = &s.dels; ws[6] = &s.values; ws[7] = &s.tmp


cdef int sections_init(BlockSections* s) except -1:
    cdef Writer* ws[N_SECTION_WRITERS]
    cdef int i
    sections_list(s, ws)
    for i in range(N_SECTION_WRITERS):
        writer_init_on(ws[i], s.small[i], SECTION_INLINE)
    return 0


cdef void sections_free(BlockSections* s) noexcept nogil:
    cdef Writer* ws[N_SECTION_WRITERS]
    cdef int i
    sections_list(s, ws)
    for i in range(N_SECTION_WRITERS):
        writer_free(ws[i])


# -- ops --------------------------------------------------------------------------------------

cdef int enc_counter(Writer* values, I64Vec* tags, double dv) except -1:
    """A counter delta: I64 when it is a whole number below 2**27, else F64 (as Loro)."""
    if -134217728.0 < dv < 134217728.0 and dv == <double>(<int64_t>dv):
        vec_push(tags, V_I64)
        return wchk(values, write_sleb64(values, <int64_t>dv))
    vec_push(tags, V_F64)
    return wchk(values, write_f64_be(values, dv))


cdef int enc_mark(Writer* values, BlockCols* cols, _Registers reg, object peer, int64_t counter,
                  int64_t start, int64_t end, str key, object value, int info) except -1:
    """A MarkStart: prop = start entity; values: info byte, end - start, key index, value."""
    vec_push(&cols.prop, start)
    vec_push(&cols.tag, V_MARK_START)
    wchk(values, write_u8(values, <uint8_t>info))
    wchk(values, write_uleb64(values, <uint64_t>(end - start)))
    wchk(values, write_uleb64(values, <uint64_t>reg.key(key)))
    enc_value(values, value, reg, peer, counter, 0, False)
    return 0


cdef int64_t gather_doc_ops(DocOps rng, int64_t counter, _Registers reg, object peer,
                            BlockCols* cols, Writer* values) except -1:
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
            last_idx = reg.cid_of_slot(doc, o.container, doc.cids[o.container])
        vec_push(&cols.cidx, last_idx)
        if o.kind == LC_OP_INSERT:
            vec_push(&cols.prop, o.pos)
            if doc.ckind[o.container] == KIND_TEXT:
                vec_push(&cols.tag, V_STR)
                w_cps_utf8(values, &doc.seq.text[o.arg], o.len)
            else:
                vec_push(&cols.tag, V_LORO_VALUE)
                enc_value(values, vals[o.arg:o.arg + o.len], reg, peer, counter, 0, True)
        elif o.kind == LC_OP_DELETE:
            vec_push(&cols.prop, o.pos)
            vec_push(&cols.tag, V_DELETE_SEQ)
            vec_push(&cols.del_peer, reg.peer(doc.log.peer_ids[o.start_id.peer]))
            vec_push(&cols.del_ctr, o.start_id.counter)
            vec_push(&cols.del_len, o.arg)
        elif o.kind == LC_OP_MAP_SET:
            vec_push(&cols.prop, reg.key(keys[o.pos]))
            vec_push(&cols.tag, V_LORO_VALUE)
            enc_value(values, vals[o.arg], reg, peer, counter, 0, True)
        elif o.kind == LC_OP_MAP_DELETE:
            vec_push(&cols.prop, reg.key(keys[o.pos]))
            vec_push(&cols.tag, V_DELETE_ONCE)
        elif o.kind == LC_OP_MOVE:       # MovableList (codec/movable_payloads.pxi)
            enc_move(values, cols, reg, o.pos, <int64_t>o.delta, doc.log.peer_ids[o.start_id.peer],
                     <uint32_t>o.start_id.counter)
        elif o.kind == LC_OP_SET:
            enc_set(values, cols, reg, doc.log.peer_ids[o.start_id.peer], <uint32_t>o.start_id.counter,
                    vals[o.arg], peer, counter)
        elif o.kind == LC_OP_MARK_START:
            enc_mark(values, cols, reg, peer, counter, o.pos, o.start_id.counter,
                     keys[o.start_id.peer], vals[o.arg], <int>o.delta)
        elif o.kind == LC_OP_MARK_END:
            vec_push(&cols.prop, 0)
            vec_push(&cols.tag, V_NULL)
        elif o.kind == LC_OP_TREE:       # codec/tree_payloads.pxi
            enc_tree(values, cols, reg, doc.log.peer_ids[o.start_id.peer], o.start_id.counter,
                     None if o.pos == LC_TREE_PARENT_ROOT else "deleted" if o.pos == LC_TREE_PARENT_DELETED
                     else (doc.log.peer_ids[o.pos], <int32_t>o.delta), vals[o.arg], reg.positions)
        else:
            vec_push(&cols.prop, 0)
            enc_counter(values, &cols.tag, o.delta)
        vec_push(&cols.length, o.len)
        counter += o.len
    return counter


cdef int64_t gather_tuple_ops(list ops, int64_t counter, _Registers reg, object peer,
                              BlockCols* cols, Writer* values) except -1:
    """Fill the op columns of a block from op tuples; returns the counter after them."""
    cdef int kind
    cdef int64_t ln
    for op in ops:
        kind = (<tuple>op)[0]
        cid = (<tuple>op)[1]
        if <int64_t>op[2] != counter:
            raise LoroValueError(f"op counter {op[2]} does not follow {counter}")
        vec_push(&cols.cidx, reg.cid_of_op(cid))
        ln = op_len(op)
        if ln <= 0:
            raise LoroValueError("an op must cover at least one atom")
        if kind == LC_OP_INSERT:
            vec_push(&cols.prop, op[3])
            content = op[4]
            if isinstance(content, str):
                vec_push(&cols.tag, V_STR)
                w_str(values, content)
            else:
                vec_push(&cols.tag, V_LORO_VALUE)
                enc_value(values, content, reg, peer, counter, 0, True)
        elif kind == LC_OP_DELETE:
            vec_push(&cols.prop, op[3])
            vec_push(&cols.tag, V_DELETE_SEQ)
            vec_push(&cols.del_peer, reg.peer(op[5]))
            vec_push(&cols.del_ctr, op[6])
            vec_push(&cols.del_len, op[4])
        elif kind == LC_OP_MAP_SET:
            vec_push(&cols.prop, reg.key(op[3]))
            vec_push(&cols.tag, V_LORO_VALUE)
            enc_value(values, op[4], reg, peer, counter, 0, True)
        elif kind == LC_OP_MAP_DELETE:
            vec_push(&cols.prop, reg.key(op[3]))
            vec_push(&cols.tag, V_DELETE_ONCE)
        elif kind == LC_OP_COUNTER:
            vec_push(&cols.prop, 0)
            enc_counter(values, &cols.tag, op[3])
        elif kind == LC_OP_MOVE:         # MovableList (codec/movable_payloads.pxi)
            enc_move(values, cols, reg, op[4], op[3], op[5], op[6])
        elif kind == LC_OP_SET:
            enc_set(values, cols, reg, op[3], op[4], op[5], peer, counter)
        elif kind == LC_OP_MARK_START:
            enc_mark(values, cols, reg, peer, counter, op[3], op[4], op[5], op[6], op[7])
        elif kind == LC_OP_MARK_END:
            vec_push(&cols.prop, 0)
            vec_push(&cols.tag, V_NULL)
        elif kind == LC_OP_TREE:         # codec/tree_payloads.pxi
            enc_tree(values, cols, reg, op[3], op[4], op[5], op[6], reg.positions)
        else:
            raise LoroValueError(f"unknown op kind {kind}")
        vec_push(&cols.length, ln)
        counter += ln
    return counter


cdef int64_t gather_block_ops(list block, int64_t counter, _Registers reg, object peer,
                              BlockCols* cols, Writer* values) except -1:
    """The op columns and values of every change of the block (the first starting at
    `counter`), and each change's length; returns the block's end counter."""
    for ch in block:
        if ch[1] != counter:
            raise LoroValueError("changes of a block must have contiguous counters")
        if type(ch[6]) is DocOps:
            counter = gather_doc_ops(<DocOps>ch[6], counter, reg, peer, cols, values)
        else:
            counter = gather_tuple_ops(<list>ch[6], counter, reg, peer, cols, values)
        if counter > INT32_MAX:
            raise LoroValueError("counter overflows i32")
        vec_push(&cols.lens, counter - ch[1])
    return counter


# -- container arena, change headers ----------------------------------------------------------

cdef int write_container_arena(Writer* w, _Registers reg) except -1:
    """Every container the ops named (registers root names as keys, normal cid peers)."""
    cdef tuple key
    wchk(w, write_uleb64(w, <uint64_t>len(reg.cids)))
    for cid in reg.cids:
        # its id's `_key`: (name, type) of a root, (peer, counter, type) of a child, and
        # its type's `_kind` (what the `kind` property returns): C-level reads, cheaper
        # than any cache of them (a first export's blocks name every container)
        key = cid._key
        wchk(w, write_uleb64(w, 4))
        if type(key[0]) is str:
            wchk(w, write_u8(w, 1))
            wchk(w, write_u8(w, <uint8_t>key[1]._kind))
            wchk(w, write_uleb64(w, 0))
            wchk(w, write_zigzag64(w, reg.key(key[0])))
        else:
            wchk(w, write_u8(w, 0))
            wchk(w, write_u8(w, <uint8_t>key[2]._kind))
            wchk(w, write_uleb64(w, <uint64_t>reg.peer(key[0])))
            wchk(w, write_zigzag64(w, <int64_t>key[1]))
    return 0


cdef int gather_change_headers(list block, _Registers reg, object peer, BlockCols* cols,
                               list msgs) except -1:
    """Deps (registering their peers), lamports, timestamps and UTF-8 messages of each
    change."""
    cdef Py_ssize_t i, others
    for i in range(len(block)):
        ch = block[i]
        c0 = ch[1]
        others = 0
        for dp, dc in ch[5]:
            if dp == peer and dc == c0 - 1:
                cols.dep_self[i] = 1
            else:
                vec_push(&cols.dep_peers, reg.peer(dp))
                vec_push(&cols.dep_ctrs, dc)
                others += 1
        vec_push(&cols.dep_counts, others)
        vec_push(&cols.lamports, ch[2])
        vec_push(&cols.timestamps, ch[3])
        msg = ch[4]
        if msg:
            try:
                mb = (<str>msg).encode("utf-8")
            except UnicodeEncodeError:
                raise LoroValueError("a commit message with lone surrogates cannot be encoded") from None
            msgs.append(mb)
            vec_push(&cols.msg_lens, len(mb))
        else:
            vec_push(&cols.msg_lens, 0)
    return 0


# -- sections ---------------------------------------------------------------------------------

cdef int write_header(Writer* w, _Registers reg, BlockCols* cols, Py_ssize_t n) except -1:
    cdef Py_ssize_t i
    wchk(w, write_uleb64(w, <uint64_t>len(reg.peers)))
    for p in reg.peers:
        wchk(w, write_u64_le(w, <uint64_t>p))
    for i in range(n - 1):
        wchk(w, write_uleb64(w, <uint64_t>cols.lens.data[i]))
    enc_bool_rle(w, cols.dep_self, n)
    enc_rle(w, cols.dep_counts.data, n, VK_ULEB)
    enc_rle(w, cols.dep_peers.data, cols.dep_peers.len, VK_ULEB)
    enc_dod(w, cols.dep_ctrs.data, cols.dep_ctrs.len)
    enc_dod(w, cols.lamports.data, n - 1)
    return 0


cdef int write_change_meta(Writer* w, BlockCols* cols, Py_ssize_t n, list msgs) except -1:
    enc_dod(w, cols.timestamps.data, n)
    enc_rle(w, cols.msg_lens.data, n, VK_ULEB)
    for mb in msgs:
        wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(mb), len(mb)))
    return 0


cdef inline int write_column(Writer* w, Writer* tmp, I64Vec* col, int strategy) except -1 nogil:
    """One length-prefixed column: strategy -1 is delta-RLE, else RLE with that value kind."""
    tmp.len = 0
    if strategy < 0:
        enc_delta_rle(tmp, col.data, col.len)
    else:
        enc_rle(tmp, col.data, col.len, strategy)
    return w_section(w, tmp)


cdef int write_op_columns(BlockSections* s, BlockCols* cols) except -1:
    if cols.cidx.len >= NOGIL_MIN_VALUES:
        # a large export's columns encode while other threads run (pure C over C arrays)
        with nogil:
            write_op_columns_c(s, cols)
    else:
        write_op_columns_c(s, cols)
    return 0


cdef int write_op_columns_c(BlockSections* s, BlockCols* cols) except -1 nogil:
    wchk(&s.ops, write_uleb64(&s.ops, 1))
    wchk(&s.ops, write_uleb64(&s.ops, 4))
    write_column(&s.ops, &s.tmp, &cols.cidx, -1)
    write_column(&s.ops, &s.tmp, &cols.prop, -1)
    write_column(&s.ops, &s.tmp, &cols.tag, VK_U8)
    write_column(&s.ops, &s.tmp, &cols.length, VK_ULEB)
    if cols.del_peer.len:
        wchk(&s.dels, write_uleb64(&s.dels, 1))
        wchk(&s.dels, write_uleb64(&s.dels, 3))
        write_column(&s.dels, &s.tmp, &cols.del_peer, -1)
        write_column(&s.dels, &s.tmp, &cols.del_ctr, -1)
        write_column(&s.dels, &s.tmp, &cols.del_len, -1)
    return 0


cdef int write_block_struct(Writer* out, BlockSections* s, int64_t first_counter,
                            int64_t end_counter, int64_t first_lamport,
                            int64_t last_end_lamport, Py_ssize_t n, bytes positions) except -1:
    cdef Writer* tmp = &s.tmp
    tmp.len = 0
    wchk(tmp, write_uleb64(tmp, <uint64_t>first_counter))
    wchk(tmp, write_uleb64(tmp, <uint64_t>(end_counter - first_counter)))
    wchk(tmp, write_uleb64(tmp, <uint64_t>first_lamport))
    wchk(tmp, write_uleb64(tmp, <uint64_t>(last_end_lamport - first_lamport)))
    wchk(tmp, write_uleb64(tmp, <uint64_t>n))
    w_section(tmp, &s.header)
    w_section(tmp, &s.meta)
    w_section(tmp, &s.cids)
    w_section(tmp, &s.keys)
    wchk(tmp, write_uleb64(tmp, <uint64_t>len(positions)))     # tree fractional indexes
    wchk(tmp, write_bytes(tmp, <const unsigned char*><const char*>positions, len(positions)))
    w_section(tmp, &s.ops)
    w_section(tmp, &s.dels)
    w_section(tmp, &s.values)
    return w_section(out, tmp)


# -- the block --------------------------------------------------------------------------------

cdef int encode_block(Writer* out, list block) except -1:
    """One change block (all changes of one peer, contiguous counters)."""
    cdef _Registers reg = _Registers.__new__(_Registers)
    cdef BlockSections s
    cdef BlockCols cols
    cdef Py_ssize_t n = len(block)
    cdef int64_t first_counter, end_counter, first_lamport, last_end_lamport
    cdef list msgs = []
    memset(&s, 0, sizeof(BlockSections))
    memset(&cols, 0, sizeof(BlockCols))
    cols_init(&cols)
    try:
        sections_init(&s)
        peer = block[0][0]
        reg.peer(peer)
        first_counter = block[0][1]
        first_lamport = block[0][2]
        if n <= VEC_INLINE:
            cols.dep_self = &cols.dep_self_small[0]
        else:
            cols.dep_self = <uint8_t*>xalloc(n, 1)
        reg.positions = tree_positions(block)       # before any op, as Loro registers them
        end_counter = gather_block_ops(block, first_counter, reg, peer, &cols, &s.values)
        write_container_arena(&s.cids, reg)
        gather_change_headers(block, reg, peer, &cols, msgs)
        last_end_lamport = block[n - 1][2] + cols.lens.data[n - 1]
        if last_end_lamport < first_lamport or last_end_lamport > UINT32_MAX or first_lamport < 0:
            raise LoroValueError("lamports of a block are out of order")
        write_header(&s.header, reg, &cols, n)
        write_change_meta(&s.meta, &cols, n, msgs)
        for k in reg.keys:       # after every registration
            w_str(&s.keys, k)
        write_op_columns(&s, &cols)
        write_block_struct(out, &s, first_counter, end_counter, first_lamport, last_end_lamport, n,
                           positions_section(reg.positions))
    finally:
        sections_free(&s)
        cols_free(&cols)
    return 0
