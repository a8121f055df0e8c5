# Text state: a sequence (state/sequence.pxi) whose atoms are code points in the content
# arena (`SeqArena.text`) and style anchors (state/richtext.pxi); positions here count code
# points. Local inserts also record where Loro's string arena would hold
# their bytes (lstr_place in _doc.pxd), which decides how Loro folds ops.


cdef int local_text_insert(LoroDoc d, uint32_t c, int64_t pos, str s) except -1:
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
    cdef uint32_t stack[STACK_CPS]
    cdef uint32_t *cps
    cdef int64_t off
    cdef lc_op piece
    cdef int32_t counter
    cdef uint32_t t = d.ctree[c]
    if pos < 0 or pos > d.seq.char_len(t):
        raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {d.seq.char_len(t)})")
    if n == 0:
        return 0
    if d.seq.nodes[d.seq.roots[t]].lens.anchors:
        # code point -> entity among the style anchors (state/richtext.pxi)
        pos = text_insert_entity(d, t, pos)
    check_alive(d, c)
    open_txn(d)
    # (loro's style map elements follow the local ops of a marked text, for the events
    # of later checkouts: state/richtext.pxi style_edit_begin)
    cdef bint styled = d.evs is not None and d.seq.tree_is_text[t] & TREE_ANCHORED
    if styled:
        style_edit_begin(d, c, False)
    cps = str_to_cps(s, stack, n)
    try:
        off = append_local_text(d, c, pos, cps, n)
    finally:
        if cps != stack:
            free(cps)
    counter = d.log.vv[d.self_idx]
    integrate_insert(d.seq, t, make_id(d.self_idx, counter), pos, <int32_t>n, <uint32_t>off,
                              d.log.peer_ids)
    memset(&piece, 0, sizeof(lc_op))
    piece.container = c
    piece.kind = LC_OP_INSERT
    piece.counter = counter
    piece.len = <int32_t>n
    piece.pos = pos
    piece.arg = off
    lstr_place(d, &piece, n if PyUnicode_IS_ASCII(s) else utf8_bytes(&d.seq.text[off], n))
    record_local_op(d, &piece)
    if styled:
        style_edit_end(d, c, 0, pos, n, None)
    return 0


cdef object text_value(LoroDoc d, uint32_t c):
    if d.thin_texts is not None:
        # a text loaded from a snapshot's state, its tree not built (state/snapshot_load.pxi)
        pending = d.thin_texts.get(c)
        if pending is not None:
            return (<tuple>pending)[0]
    return text_range(d, c, 0, d.seq.char_len(d.ctree[c]))


cdef object text_range(LoroDoc d, uint32_t c, int64_t a, int64_t b):
    """Code points [a, b) of a text as str (the caller checks the range)."""
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = b - a
    cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        n = copy_visible(d.seq, t, a, b, buf)
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n)
    finally:
        free(buf)
