# Change blocks, the per-kind op payloads (one reader per op shape: sequence delete, text
# insert, list insert, map set/delete, counter add). Each reader checks its op against the
# columns and the values section, then either returns the op's change tuple (layout in
# loro_c.codec.json) or, when staging into a document, writes the op into the document's
# arenas through the staging API of _import.pyx and returns None. The checks, and the order
# in which they read the values section, are the same in both modes.


@cython.final
cdef class _OpPayloads:
    """What the payload readers of one block share. Lives for one decode_block call: `h` and
    `a` point into that call's frame."""
    cdef BlockHead* h
    cdef BlockArrays* a
    cdef _BlockKeys keys
    cdef list cids
    cdef uint64_t peer
    cdef object py_peer
    cdef Py_ssize_t n_dels           # rows of the delete start id columns
    cdef Py_ssize_t del_i            # the next of them
    # staging only
    cdef bint staging
    cdef LoroDoc doc
    cdef list values                 # doc.log.values
    cdef bint skip                   # the current change is already known: check, stage nothing
    cdef lc_op skipped               # where the arena placement of a skipped op is written
    cdef uint32_t* cps_stack         # CPS_STACK code points on the op loop's stack
    cdef list positions              # the block's tree fractional indexes (codec/tree_payloads.pxi)
    # the import's comparison of ops the document has (_opid_check), and the end of the
    # current change's part it has: ops starting below it are compared
    cdef KnownCheck known
    cdef int64_t cmp_end

# The readers are module-level inline functions rather than methods: a method's address goes
# into the type's vtable, which keeps the C compiler from inlining it into the op loop, and a
# call per op costs about 1.5% of an import of a text trace. For the same reason the scratch
# for short text inserts lives in the op loop's frame (a function with a large stack array
# is not inlined).

cdef enum:
    CPS_STACK = 256


cdef int open_change(_OpPayloads st, Py_ssize_t ch, list deps) except -1:
    """Open change `ch` in the document (stage_begin refuses a change it already has)."""
    cdef BlockArrays* a = st.a
    st.cmp_end = known_open(st.known, st.peer, a.ch_start[ch], a.ch_start[ch + 1], deps)
    st.skip = stage_begin(st.doc, st.peer, <int32_t>a.ch_start[ch], a.ch_start[ch + 1],
                            a.lamports[ch], a.timestamps[ch], len(deps)) < 0
    if not st.skip:
        for dp, dc in deps:
            stage_dep(st.doc, dp, dc)
    return 0


cdef uint32_t register_container(_OpPayloads st, int64_t ci, int kind) except? 0xFFFFFFFF:
    """The document's index of block container `ci`, on its first op in the block (the
    op loop reads ``a.doc_cid`` itself afterwards)."""
    cdef uint32_t c = stage_container(st.doc, st.cids[ci],
                                      LC_OP_COUNTER if kind == KIND_COUNTER else
                                      LC_OP_TREE if kind == KIND_TREE else
                                      (LC_OP_MAP_SET if kind == KIND_MAP else LC_OP_INSERT))
    st.a.doc_cid[ci] = c
    return c


cdef uint32_t known_cid(_OpPayloads st, int64_t ci) except? 0xFFFFFFFF:
    """The document's index of block container `ci` for comparing a known op, without
    registering it (the change is not staged)."""
    if st.a.doc_cid[ci] != 0xFFFFFFFFU:
        return st.a.doc_cid[ci]
    if st.a.known_cid[ci] == 0xFFFFFFFFU:
        st.a.known_cid[ci] = known_container(st.known, st.cids[ci])
    return st.a.known_cid[ci]


cdef uint32_t known_peer(_OpPayloads st, Py_ssize_t j) except? 0xFFFFFFFF:
    """The document's index of block peer `j` for comparing a known op, without
    registering it."""
    if st.a.doc_peer[j] != 0xFFFFFFFFU:
        return st.a.doc_peer[j]
    if st.a.known_peer[j] == 0xFFFFFFFFU:
        st.a.known_peer[j] = known_peer_index(st.known, st.a.peers[j])
    return st.a.known_peer[j]


cdef uint32_t doc_key(_OpPayloads st, int64_t prop) except? 0xFFFFFFFF:
    if st.a.doc_key[prop] == 0xFFFFFFFFU:
        st.a.doc_key[prop] = st.doc.log.key_index_utf8(
            <const char*>st.keys.slices[prop].p, st.keys.slices[prop].n)
    return st.a.doc_key[prop]


cdef inline object seq_delete(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A Text or List delete: its start id is the next row of the delete columns."""
    cdef BlockArrays* a = st.a
    cdef int64_t ln = a.col_len[i], prop = a.col_prop[i], sl
    cdef Py_ssize_t d = st.del_i, j
    cdef lc_op* sop
    if d >= st.n_dels:
        fail("a delete has no start id row")
    sl = a.del_len[d]
    if sl == 0 or (sl if sl > 0 else -sl) != ln:
        fail("delete length does not match its op length")
    if a.del_ctr[d] + ln - 1 > INT32_MAX:
        fail("delete start id range overflows i32")
    if prop < 0:
        fail("negative sequence position")
    st.del_i = d + 1
    if not st.staging:
        return (LC_OP_DELETE, st.cids[a.col_cidx[i]], op_counter, prop, sl,
                a.peers[a.del_peer[d]], a.del_ctr[d])
    if op_counter < st.cmp_end:
        known_delete(st.known, op_counter, ln, c, prop, sl, known_peer(st, a.del_peer[d]), a.del_ctr[d])
    if not st.skip:
        j = a.del_peer[d]
        if a.doc_peer[j] == 0xFFFFFFFFU:
            a.doc_peer[j] = st.doc.log.peer_index(a.peers[j])
        sop = stage_op(st.doc, c, LC_OP_DELETE, <int32_t>op_counter, ln)
        sop.pos = prop
        sop.arg = sl
        sop.start_id = make_id(a.doc_peer[j], <int32_t>a.del_ctr[d])
    return None


cdef inline object text_insert(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A Text insert: UTF-8 in the values section, one atom per code point. Staged text
    goes to the document's code point arena without a Python string."""
    cdef BlockArrays* a = st.a
    cdef Reader* vals = &st.h.values
    cdef int64_t ln = a.col_len[i], prop = a.col_prop[i]
    cdef int tag = <int>a.col_tag[i]
    cdef uint64_t slen
    cdef const unsigned char* sp = NULL
    if tag == V_MARK_START or tag == V_NULL:
        return text_mark(st, i, c, op_counter, tag)
    if tag != V_STR:
        fail(f"value kind {tag} is not valid for a Text op")
    r_uleb(vals, &slen)
    if slen > <uint64_t>reader_remaining(vals):
        fail("text insert runs past the end of the values")
    read_bytes(vals, <Py_ssize_t>slen, &sp)
    if prop < 0:
        fail("negative sequence position")
    if not st.staging:
        s = utf8_str(sp, <Py_ssize_t>slen, "inserted text")
        if PyUnicode_GET_LENGTH(s) != ln:
            fail("text insert length does not match its op length")
        return (LC_OP_INSERT, st.cids[a.col_cidx[i]], op_counter, prop, s)
    stage_text(st, sp, <Py_ssize_t>slen, c, op_counter, ln, prop)
    return None


cdef object text_mark(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter, int tag):
    """A rich-text mark op: MarkStart (info byte, end - start, key index, a LoroValue; the
    prop column is the start entity) or its StyleEnd (Null, nothing in the values)."""
    cdef BlockArrays* a = st.a
    cdef Reader* vals = &st.h.values
    cdef int64_t prop = a.col_prop[i]
    cdef uint8_t info = 0
    cdef uint64_t span = 0, kidx = 0
    cdef lc_op* sop
    if a.col_len[i] != 1:
        fail("a mark op must have length 1")
    if tag == V_NULL:
        if not st.staging:
            return (LC_OP_MARK_END, st.cids[a.col_cidx[i]], op_counter)
        if op_counter < st.cmp_end:
            known_mark(st.known, op_counter, c, True, 0, 0, None, None, 0)
        if not st.skip:
            stage_op(st.doc, c, LC_OP_MARK_END, <int32_t>op_counter, 1)
        return None
    r_u8(vals, &info)
    r_uleb(vals, &span)
    r_uleb(vals, &kidx)
    if kidx >= <uint64_t>st.keys.n:
        fail("mark key index is out of range")
    if prop < 0 or <uint64_t>prop + span > INT32_MAX:
        fail("mark range is out of range")
    v = read_value(vals, st.keys, st.peer, op_counter, 0, False)
    if isinstance(v, _types.ContainerID):
        fail("a mark's value cannot be a container")
    if not st.staging:
        return (LC_OP_MARK_START, st.cids[a.col_cidx[i]], op_counter, prop, <int64_t>(prop + span),
                st.keys.get(kidx), v, info)
    if op_counter < st.cmp_end:
        known_mark(st.known, op_counter, c, False, prop, <int64_t>(prop + span), st.keys.get(kidx), v, info)
    if not st.skip:
        sop = stage_op(st.doc, c, LC_OP_MARK_START, <int32_t>op_counter, 1)
        sop.pos = prop
        if not stage_dropped(st.doc, sop):
            sop.start_id = make_id(doc_key(st, <int64_t>kidx), <int32_t>(prop + span))
            sop.arg = len(st.values)
            st.values.append(v)
        sop.delta = info
    return None


cdef inline int fold_block_text(LoroDoc doc, lc_op *sop) noexcept:
    """Fold a text insert just staged into the op before it in its change when it continues
    it (same text, next position, next counter): loro reads a block's ops back with their
    text side by side in one buffer and folds such ops as it does a typed run (measured on
    loro 1.17.1: 40 characters typed one by one export as two ops, 32 and 8, and import
    as one). The folded op keeps its buffer number, so the block's next op takes the one
    this op had (lstr_place)."""
    cdef OpLog log = doc.log
    cdef lc_op *prev
    cdef int64_t end
    if log.n_ops < 2 or log.n_ops - 2 < doc.staged[doc.n_staged].ops_off:
        return 0
    prev = &log.ops[log.n_ops - 2]
    if (prev.kind != LC_OP_INSERT or prev.container != sop.container
            or prev.counter + prev.len != sop.counter or prev.pos + prev.len != sop.pos
            or prev.arg + prev.len != sop.arg
            or not ((<int64_t>prev.delta) & 0x80000000)
            or prev.start_id.peer + 1 != sop.start_id.peer
            or sop.start_id.peer != doc.buf_serial):
        return 0
    end = ((<int64_t>prev.delta) & 0x7FFFFFFF) + ((<int64_t>sop.delta) & 0x7FFFFFFF)
    prev.len += sop.len
    prev.delta = <double>((end & 0x7FFFFFFF) | 0x80000000)
    doc.buf_serial = prev.start_id.peer
    log.n_ops -= 1
    return 0


cdef inline int stage_text(_OpPayloads st, const unsigned char* sp, Py_ssize_t slen,
                           uint32_t c, int64_t op_counter, int64_t ln, int64_t prop) except -1:
    cdef uint32_t* cps
    cdef Py_ssize_t ncp
    cdef lc_op* sop
    # at most one code point per byte
    if slen <= CPS_STACK:
        cps = st.cps_stack
    else:
        cps = <uint32_t*>xalloc(slen, sizeof(uint32_t))
    try:
        if slen < NOGIL_MIN_BYTES:
            ncp = utf8_to_cps(sp, slen, cps)
        else:
            # sp points into the blob (immutable), cps is ours
            with nogil:
                ncp = utf8_to_cps(sp, slen, cps)
        if ncp < 0:
            fail("inserted text is not valid UTF-8")
        if ncp != ln:
            fail("text insert length does not match its op length")
        if op_counter < st.cmp_end:
            known_insert(st.known, op_counter, ln, c, prop, cps, None)
        if not st.skip:
            sop = stage_op(st.doc, c, LC_OP_INSERT, <int32_t>op_counter, ln)
            sop.pos = prop
            if not stage_dropped(st.doc, sop):
                sop.arg = st.doc.seq.append_text(cps, ncp)
            lstr_place(st.doc, sop, slen)
            if not stage_dropped(st.doc, sop):
                fold_block_text(st.doc, sop)
        else:
            # Loro decodes (and allocates) the ops of changes it already has too
            lstr_place(st.doc, &st.skipped, slen)
    finally:
        if cps != st.cps_stack:
            free(cps)
    return 0


cdef inline object list_insert(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A List insert: one LoroValue list, one atom per item (child containers are
    created by the item's own op id)."""
    cdef BlockArrays* a = st.a
    cdef Reader* vals = &st.h.values
    cdef int64_t ln = a.col_len[i], prop = a.col_prop[i]
    cdef int tag = <int>a.col_tag[i]
    cdef Py_ssize_t j
    cdef lc_op* sop
    if tag != V_LORO_VALUE:
        fail(f"value kind {tag} is not valid for a List op")
    if reader_at_end(vals) or vals.data[vals.pos] != LV_LIST:
        fail("a list insert must hold a list of values")
    v = read_value(vals, st.keys, st.peer, op_counter, 0, True)
    if len(v) != ln:
        fail("list insert length does not match its op length")
    if prop < 0:
        fail("negative sequence position")
    if not st.staging:
        return (LC_OP_INSERT, st.cids[a.col_cidx[i]], op_counter, prop, v)
    if op_counter < st.cmp_end:
        known_insert(st.known, op_counter, ln, c, prop, NULL, v)
    if not st.skip:
        sop = stage_op(st.doc, c, LC_OP_INSERT, <int32_t>op_counter, ln)
        sop.pos = prop
        if not stage_dropped(st.doc, sop):
            sop.arg = len(st.values)
            # (read_value gave a list of ln items; a plain item names no container, so
            # stage_value has nothing to check: no call, no Python int per item)
            for j in range(ln):
                x = (<list>v)[j]
                if not plain_scalar(x):
                    stage_value(st.doc, x, st.py_peer, op_counter + j)
            st.values.extend(v)
        lval_place(st.doc, sop, ln, True)
    else:
        lval_place(st.doc, &st.skipped, ln, True)
    return None


cdef inline object map_op(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A Map set (a LoroValue) or delete; the prop column is the key's index."""
    cdef BlockArrays* a = st.a
    cdef int64_t prop = a.col_prop[i]
    cdef int tag = <int>a.col_tag[i]
    cdef uint32_t k
    cdef lc_op* sop
    if a.col_len[i] != 1:
        fail("a map op must have length 1")
    if prop < 0 or prop >= st.keys.n:
        fail("map key index is out of range")
    if tag == V_LORO_VALUE:
        v = read_value(&st.h.values, st.keys, st.peer, op_counter, 0, True)
        if not st.staging:
            return (LC_OP_MAP_SET, st.cids[a.col_cidx[i]], op_counter, st.keys.get(prop), v)
        if op_counter < st.cmp_end:
            known_map(st.known, op_counter, c, st.keys.get(prop), v, False)
        if not st.skip:
            k = doc_key(st, prop)
            sop = stage_op(st.doc, c, LC_OP_MAP_SET, <int32_t>op_counter, 1)
            sop.pos = k
            if not stage_dropped(st.doc, sop):
                stage_value(st.doc, v, st.py_peer, op_counter)
                sop.arg = len(st.values)
                st.values.append(v)
    elif tag == V_DELETE_ONCE:
        if not st.staging:
            return (LC_OP_MAP_DELETE, st.cids[a.col_cidx[i]], op_counter, st.keys.get(prop))
        if op_counter < st.cmp_end:
            known_map(st.known, op_counter, c, st.keys.get(prop), None, True)
        if not st.skip:
            k = doc_key(st, prop)
            sop = stage_op(st.doc, c, LC_OP_MAP_DELETE, <int32_t>op_counter, 1)
            sop.pos = k
            sop.arg = -1
    else:
        fail(f"value kind {tag} is not valid for a Map op")
    return None


cdef inline object counter_op(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A Counter increment, stored as I64 or F64."""
    cdef BlockArrays* a = st.a
    cdef int tag = <int>a.col_tag[i]
    cdef int64_t iv
    cdef double dv = 0
    cdef lc_op* sop
    if a.col_len[i] != 1:
        fail("a counter op must have length 1")
    if tag == V_I64:
        r_sleb(&st.h.values, &iv)
        dv = <double>iv
    elif tag == V_F64:
        if read_f64_be(&st.h.values, &dv) < 0:
            raise_reader_error(&st.h.values)
    else:
        fail(f"value kind {tag} is not valid for a Counter op")
    if not st.staging:
        return (LC_OP_COUNTER, st.cids[a.col_cidx[i]], op_counter, dv)
    if op_counter < st.cmp_end:
        known_counter(st.known, op_counter, c, dv)
    if not st.skip:
        sop = stage_op(st.doc, c, LC_OP_COUNTER, <int32_t>op_counter, 1)
        sop.delta = dv
    return None
