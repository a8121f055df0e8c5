# List state: a sequence (state/sequence.pxi) whose atoms are slots of the log's value
# list (`d.log.values`); a child container is a ContainerID value.


cdef int local_list_insert(LoroDoc d, uint32_t c, int64_t pos, list values) except -1:
    cdef Py_ssize_t n = len(values)
    cdef int64_t slot
    cdef lc_op piece
    cdef int32_t counter
    cdef uint32_t t = d.ctree[c]
    if pos < 0 or pos > d.seq.visible_len(t):
        raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {d.seq.visible_len(t)})")
    if n == 0:
        return 0
    check_alive(d, c)
    open_txn(d)
    slot = len(d.log.values)
    d.log.values.extend(values)
    counter = d.log.vv[d.self_idx]
    integrate_insert(d.seq, t, make_id(d.self_idx, counter), pos, <int32_t>n, <uint32_t>slot,
                              d.log.peer_ids)
    memset(&piece, 0, sizeof(lc_op))
    piece.container = c
    piece.kind = LC_OP_INSERT
    piece.counter = counter
    piece.len = <int32_t>n
    piece.pos = pos
    piece.arg = slot
    lval_place(d, &piece, n, False)
    return record_local_op(d, &piece)


cdef uint32_t local_list_insert_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF:
    cdef uint32_t t = d.ctree[c]
    if pos < 0 or pos > d.seq.visible_len(t):
        raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {d.seq.visible_len(t)})")
    check_alive(d, c)
    open_txn(d)
    cid = _normal_cid(d.peer, d.log.vv[d.self_idx], _TYPE_BY_KIND[kind])
    cdef uint32_t child = container_index(d, cid, kind)
    local_list_insert(d, c, pos, [cid])
    return child


cdef list list_slots(LoroDoc d, uint32_t c):
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = d.seq.visible_len(t), i
    cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        copy_visible(d.seq, t, 0, n, buf)
        return [buf[i] for i in range(n)]
    finally:
        free(buf)


cdef object list_value(LoroDoc d, uint32_t c, bint deep):
    cdef list values = d.log.values
    cdef list out
    if deep:
        return [resolve_value(d, values[s], True) for s in list_slots(d, c)]
    # (resolve_value's copies without its type test per item, and no list of slots: a
    # child's id and every scalar as they are, lists and dicts copied)
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = d.seq.visible_len(t), i
    cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        copy_visible(d.seq, t, 0, n, buf)
        out = [None] * n
        for i in range(n):
            v = values[buf[i]]
            if type(v) is list or type(v) is dict:
                v = copy_value(v)
            out[i] = v
        return out
    finally:
        free(buf)
