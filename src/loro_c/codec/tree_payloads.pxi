# LoroTree op payloads both ways. Create, move and delete are one value kind, RawTreeMove:
# the target's peer index and counter, the index of its fractional index in the block's
# `positions` arena, a byte "parent is null" (a root), then unless null the parent's peer
# index and counter. A delete names the deleted root (peer u64::MAX, counter i32::MAX) as
# its parent and position 0. The prop column holds 0. Change tuple:
# (OP_TREE, cid, counter, target_peer, target_counter, parent, fractional_index), parent
# None, "deleted" or (peer, counter), the fractional index bytes (empty for a delete).
#
# The positions arena (before the ops): every fractional index of the block's creates and
# moves, sorted and deduplicated, as a columnar vec of (common prefix length with the
# previous one: AnyRle of uleb; the rest: a postcard list of byte strings).

cdef enum:
    V_TREE_MOVE = 16

OP_TREE = LC_OP_TREE
cdef uint64_t TREE_DELETED_PEER = 0xFFFFFFFFFFFFFFFF
cdef int64_t TREE_DELETED_COUNTER = 0x7FFFFFFF


cdef Py_ssize_t positions_walk(Reader* section, Py_ssize_t n_ops, int64_t** prefix,
                               Reader* rest) except -1:
    """decode_positions' checks of its section, nothing built: how many fractional
    indexes (at most `n_ops`; none for an empty section). When `prefix` is not NULL it
    receives their common prefix lengths (xalloc'd, the caller frees them) and `rest` the
    column of the rest of each, unread."""
    cdef Reader cols[2]
    cdef Reader c0
    cdef uint64_t n_rest, ln
    cdef int64_t* pre = NULL
    cdef Py_ssize_t n, i, last = 0
    if reader_at_end(section):
        return 0
    columnar_vec(section, 2, cols, "positions")
    c0 = cols[0]
    n = rle_read_all(&c0, VK_ULEB, NULL, n_ops)
    r_uleb(&cols[1], &n_rest)
    if n_rest != <uint64_t>n:
        fail("positions: the columns have different lengths")
    pre = <int64_t*>xalloc(n + 1, sizeof(int64_t))
    try:
        rle_read_all(&cols[0], VK_ULEB, pre, n)
        if rest != NULL:
            rest[0] = cols[1]
        for i in range(n):
            r_uleb(&cols[1], &ln)
            if ln > <uint64_t>(cols[1].len - cols[1].pos):
                fail("positions: a fractional index runs past its column")
            if pre[i] > last or (i == 0 and pre[i] != 0):
                fail("positions: a common prefix is out of range")
            last = <Py_ssize_t>pre[i] + <Py_ssize_t>ln
            cols[1].pos += <Py_ssize_t>ln
        r_end(&cols[1], "positions")
    except BaseException:
        free(pre)
        raise
    if prefix != NULL:
        prefix[0] = pre
    else:
        free(pre)
    return n


cdef list decode_positions(Reader* section, Py_ssize_t n_ops):
    """The block's fractional indexes, in arena order (empty section: none); at most one
    per op."""
    cdef Reader rest
    cdef uint64_t ln
    cdef int64_t* prefix = NULL
    cdef Py_ssize_t n, i
    cdef list out = []
    n = positions_walk(section, n_ops, &prefix, &rest)
    if n == 0:
        free(prefix)
        return out
    try:
        last = b""
        for i in range(n):
            r_uleb(&rest, &ln)
            last = last[:prefix[i]] + (<const char*>rest.data)[rest.pos:rest.pos + <Py_ssize_t>ln]
            rest.pos += <Py_ssize_t>ln
            out.append(last)
    finally:
        free(prefix)
    return out


cdef object tree_op(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A tree create, move or delete."""
    cdef BlockArrays* a = st.a
    cdef uint64_t tp, tc, pos_idx, pp = 0, pc = 0
    cdef uint8_t is_root
    cdef int64_t parent_at
    cdef lc_op* sop
    if a.col_tag[i] != V_TREE_MOVE:
        fail(f"value kind {a.col_tag[i]} is not valid for a Tree op")
    if a.col_len[i] != 1:
        fail("a tree op must have length 1")
    r_uleb(&st.h.values, &tp)
    r_uleb(&st.h.values, &tc)
    r_uleb(&st.h.values, &pos_idx)
    r_u8(&st.h.values, &is_root)
    if not is_root:
        r_uleb(&st.h.values, &pp)
        r_uleb(&st.h.values, &pc)
        if pp >= <uint64_t>st.h.n_peers:
            fail("tree parent peer is not in the peer table")
        if pc > <uint64_t>INT32_MAX:
            fail("tree parent counter is out of range")
    if tp >= <uint64_t>st.h.n_peers:
        fail("tree target peer is not in the peer table")
    if tc > <uint64_t>INT32_MAX:
        fail("tree target counter is out of range")
    if not is_root and a.peers[pp] == TREE_DELETED_PEER and <int64_t>pc == TREE_DELETED_COUNTER:
        parent = "deleted"
        fi = b""
    else:
        parent = None if is_root else (a.peers[pp], <int64_t>pc)
        if pos_idx >= <uint64_t>len(st.positions):
            fail("tree op position is not in the positions arena")
        fi = st.positions[pos_idx]
    if not st.staging:
        return (LC_OP_TREE, st.cids[a.col_cidx[i]], op_counter, a.peers[tp], <int64_t>tc, parent, fi)
    if op_counter < st.cmp_end:
        # (the parent as the op arena holds it: kinds.h)
        if is_root:
            parent_at = LC_TREE_PARENT_ROOT
        elif type(parent) is str:         # ("deleted")
            parent_at = LC_TREE_PARENT_DELETED
        else:
            parent_at = known_peer(st, pp)
        known_tree(st.known, op_counter, c, known_peer(st, tp), <int64_t>tc, parent_at, <int64_t>pc, fi)
    if not st.skip:
        sop = stage_op(st.doc, c, LC_OP_TREE, <int32_t>op_counter, 1)
        if not stage_dropped(st.doc, sop):
            sop.start_id = make_id(doc_peer_of(st, tp), <int32_t>tc)
            stage_tree_created(st.doc, sop)
            if parent is None:
                sop.pos = LC_TREE_PARENT_ROOT
            elif type(parent) is str:         # ("deleted")
                sop.pos = LC_TREE_PARENT_DELETED
            else:
                sop.pos = doc_peer_of(st, pp)
                sop.delta = <double><int32_t>pc
            sop.arg = len(st.values)
            st.values.append(fi)
    return None


cdef int enc_tree(Writer* values, BlockCols* cols, _Registers reg, object target_peer,
                  int64_t target_counter, object parent, bytes fi, dict positions) except -1:
    vec_push(&cols.prop, 0)
    vec_push(&cols.tag, V_TREE_MOVE)
    wchk(values, write_uleb64(values, <uint64_t>reg.peer(target_peer)))
    wchk(values, write_uleb64(values, <uint64_t>target_counter))
    if isinstance(parent, str):
        wchk(values, write_uleb64(values, 0))
        wchk(values, write_u8(values, 0))
        wchk(values, write_uleb64(values, <uint64_t>reg.peer(TREE_DELETED_PEER)))
        wchk(values, write_uleb64(values, <uint64_t>TREE_DELETED_COUNTER))
        return 0
    wchk(values, write_uleb64(values, <uint64_t>positions[fi]))
    if parent is None:
        wchk(values, write_u8(values, 1))
        return 0
    wchk(values, write_u8(values, 0))
    wchk(values, write_uleb64(values, <uint64_t>reg.peer(parent[0])))
    wchk(values, write_uleb64(values, <uint64_t>parent[1]))
    return 0


cdef dict tree_positions(list block):
    """Every fractional index the block's tree creates and moves use -> its arena index
    (sorted, deduplicated: Loro registers them before any op)."""
    cdef DocOps rng
    cdef lc_op o
    cdef lc_walk saved
    found = set()
    for ch in block:
        if type(ch[6]) is DocOps:
            rng = <DocOps>ch[6]
            saved = rng.w
            while rng.next_op(&o):
                if o.kind == LC_OP_TREE and o.pos != LC_TREE_PARENT_DELETED:
                    found.add(rng.doc.log.values[o.arg])
            rng.w = saved
        else:
            for op in <list>ch[6]:
                if op[0] == LC_OP_TREE and not isinstance(op[5], str):
                    found.add(op[6])
    if not found:
        return {}
    return {fi: k for k, fi in enumerate(sorted(found))}


cdef bytes positions_section(dict positions):
    """The positions section's bytes (empty when the block has no creates or moves)."""
    cdef Py_ssize_t i
    cdef list ordered
    cdef const unsigned char **ps
    cdef Py_ssize_t *ns
    if not positions:
        return b""
    ordered = [fi if type(fi) is bytes else bytes(fi)
               for fi in sorted(positions, key=positions.__getitem__)]
    ps = <const unsigned char**>xalloc(len(ordered), sizeof(unsigned char*))
    ns = <Py_ssize_t*>xalloc(len(ordered), sizeof(Py_ssize_t))
    try:
        for i in range(len(ordered)):
            ps[i] = <const unsigned char*>PyBytes_AS_STRING(<bytes>ordered[i])
            ns[i] = PyBytes_GET_SIZE(<bytes>ordered[i])
        return positions_section_of(ps, ns, len(ordered))
    finally:
        free(ps)
        free(ns)


cdef bytes positions_section_of(const unsigned char **ps, const Py_ssize_t *ns, Py_ssize_t n):
    """positions_section of the `n` distinct fractional indexes `ps` (`ns` bytes each),
    in order."""
    cdef I64Vec prefix, rest_at
    cdef Writer w, tmp
    cdef Py_ssize_t k, i, fn, last_n
    cdef const unsigned char* fp
    cdef const unsigned char* last_p
    memset(&prefix, 0, sizeof(I64Vec))
    memset(&rest_at, 0, sizeof(I64Vec))
    memset(&w, 0, sizeof(Writer))
    memset(&tmp, 0, sizeof(Writer))
    try:
        if writer_init(&w, 64) < 0:
            raise_writer_error(&w)
        if writer_init(&tmp, 64) < 0:
            raise_writer_error(&tmp)
        # each index is written as its common prefix length with the previous one and
        # the rest (compared in C: a block of tree ops has hundreds of them)
        last_p = NULL
        last_n = 0
        for i in range(n):
            fp = ps[i]
            fn = ns[i]
            k = 0
            while k < fn and k < last_n and fp[k] == last_p[k]:
                k += 1
            vec_push(&prefix, k)
            vec_push(&rest_at, k)
            last_p = fp
            last_n = fn
        wchk(&w, write_uleb64(&w, 1))
        wchk(&w, write_uleb64(&w, 2))
        enc_rle(&tmp, prefix.data, prefix.len, VK_ULEB)
        w_section(&w, &tmp)
        tmp.len = 0
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>n))
        for i in range(n):
            fp = ps[i]
            fn = ns[i]
            k = rest_at.data[i]
            wchk(&tmp, write_uleb64(&tmp, <uint64_t>(fn - k)))
            wchk(&tmp, write_bytes(&tmp, fp + k, fn - k))
        w_section(&w, &tmp)
        return writer_to_bytes(&w)
    finally:
        vec_free(&prefix)
        vec_free(&rest_at)
        writer_free(&w)
        writer_free(&tmp)
