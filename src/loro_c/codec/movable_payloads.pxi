# MovableList op payloads both ways (inserts and deletes are List's): a move (value kind
# ListMove: `from`, the element's peer index and Lamport; the prop column holds `to`) and
# a set (ListSet: the element, then a nested LoroValue; prop 0). Change tuples:
# (OP_MOVE, cid, counter, from, to, elem_peer, elem_lamport) and
# (OP_SET, cid, counter, elem_peer, elem_lamport, value).

cdef enum:
    V_LIST_MOVE = 14
    V_LIST_SET = 15

OP_MOVE = LC_OP_MOVE
OP_SET = LC_OP_SET


cdef int read_elem(_OpPayloads st, uint64_t *peer_idx, uint64_t *lamport) except -1:
    r_uleb(&st.h.values, peer_idx)
    r_uleb(&st.h.values, lamport)
    if peer_idx[0] >= <uint64_t>st.h.n_peers:
        fail("movable list element peer is not in the peer table")
    if lamport[0] > 0xFFFFFFFFU:
        fail("movable list element Lamport is out of range")
    return 0


cdef inline uint32_t doc_peer_of(_OpPayloads st, uint64_t j) except? 0xFFFFFFFF:
    if st.a.doc_peer[j] == 0xFFFFFFFFU:
        st.a.doc_peer[j] = st.doc.log.peer_index(st.a.peers[j])
    return st.a.doc_peer[j]


cdef object movable_op(_OpPayloads st, Py_ssize_t i, uint32_t c, int64_t op_counter):
    """A MovableList move or set (inserts and deletes go to the List readers)."""
    cdef BlockArrays* a = st.a
    cdef int tag = <int>a.col_tag[i]
    cdef int64_t prop = a.col_prop[i]
    cdef uint64_t from_pos, pj, lamport
    cdef lc_op* sop
    if a.col_len[i] != 1:
        fail("a movable list move or set must have length 1")
    if tag == V_LIST_MOVE:
        r_uleb(&st.h.values, &from_pos)
        read_elem(st, &pj, &lamport)
        if prop < 0 or from_pos > INT32_MAX:
            fail("movable list move position is out of range")
        if not st.staging:
            return (LC_OP_MOVE, st.cids[a.col_cidx[i]], op_counter, <int64_t>from_pos, prop,
                    a.peers[pj], <int64_t>lamport)
        if op_counter < st.cmp_end:
            known_move(st.known, op_counter, c, <int64_t>from_pos, prop, known_peer(st, pj),
                       <int64_t>lamport)
        if not st.skip:
            sop = stage_op(st.doc, c, LC_OP_MOVE, <int32_t>op_counter, 1)
            sop.pos = prop
            sop.delta = <double>from_pos
            sop.start_id = make_id(doc_peer_of(st, pj), <int32_t><uint32_t>lamport)
            if not stage_dropped(st.doc, sop):
                sop.arg = len(st.values)
                st.values.append(None)
        return None
    if tag == V_LIST_SET:
        read_elem(st, &pj, &lamport)
        v = read_value(&st.h.values, st.keys, st.peer, op_counter, 0, False)
        if not st.staging:
            return (LC_OP_SET, st.cids[a.col_cidx[i]], op_counter, a.peers[pj], <int64_t>lamport, v)
        if op_counter < st.cmp_end:
            known_set(st.known, op_counter, c, known_peer(st, pj), <int64_t>lamport, v)
        if not st.skip:
            sop = stage_op(st.doc, c, LC_OP_SET, <int32_t>op_counter, 1)
            sop.start_id = make_id(doc_peer_of(st, pj), <int32_t><uint32_t>lamport)
            if not stage_dropped(st.doc, sop):
                stage_value(st.doc, v, st.py_peer, op_counter)
                sop.arg = len(st.values)
                st.values.append(v)
        return None
    fail(f"value kind {tag} is not valid for a MovableList op")


cdef int enc_move(Writer* values, BlockCols* cols, _Registers reg, int64_t to_pos, int64_t from_pos,
                  object elem_peer, int64_t elem_lamport) except -1:
    vec_push(&cols.prop, to_pos)
    vec_push(&cols.tag, V_LIST_MOVE)
    wchk(values, write_uleb64(values, <uint64_t>from_pos))
    wchk(values, write_uleb64(values, <uint64_t>reg.peer(elem_peer)))
    wchk(values, write_uleb64(values, <uint64_t>elem_lamport))
    return 0


cdef int enc_set(Writer* values, BlockCols* cols, _Registers reg, object elem_peer,
                 int64_t elem_lamport, object v, object peer, int64_t counter) except -1:
    vec_push(&cols.prop, 0)
    vec_push(&cols.tag, V_LIST_SET)
    wchk(values, write_uleb64(values, <uint64_t>reg.peer(elem_peer)))
    wchk(values, write_uleb64(values, <uint64_t>elem_lamport))
    enc_value(values, v, reg, peer, counter, 0, False)
    return 0
