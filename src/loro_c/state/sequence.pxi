# Sequence state, shared by Text and List (and, later, MovableList): each container is a
# B-tree of the sequence index (SeqArena, `d.ctree[c]` names it). Remote inserts and deletes
# integrate at the tracker version (Fugue, seq/fugue.pxi); local ones at the document
# version, which is where the tracker sits between calls.


cdef int seq_state_init(LoroDoc d, uint32_t c) except -1:
    d.ctree[c] = d.seq.new_tree(d.ckind[c] == KIND_TEXT)
    return 0


cdef int seq_apply_insert(LoroDoc d, lc_op *op, uint32_t peer) except -1 nogil:
    """Integrate a remote insert; DecodeError (nothing applied) when its position lies
    beyond the container at the op's version."""
    cdef uint32_t t = d.ctree[op.container]
    cdef int64_t vis = d.seq.visible_len(t)
    if op.pos < 0 or op.pos > vis:
        d.apply_rejected = True
        with gil:
            raise DecodeError(f"op {op.counter}@{d.log.peer_ids[peer]} inserts at {op.pos}, "
                              f"beyond the container length {vis} at its version")
    integrate_insert(d.seq, t, make_id(peer, op.counter), op.pos, op.len, <uint32_t>op.arg,
                     d.log.peer_ids)
    return 0


cdef int seq_apply_delete(LoroDoc d, lc_op *op, uint32_t peer) except -1 nogil:
    """Integrate a remote delete (`op.arg` < 0: a backward delete ending at `op.pos`)."""
    cdef uint32_t t = d.ctree[op.container]
    cdef int64_t vis = d.seq.visible_len(t)
    cdef int64_t n = op.len
    cdef int64_t start = op.pos if op.arg > 0 else op.pos + op.arg + 1
    if start < 0 or start + n > vis:
        d.apply_rejected = True
        with gil:
            raise DecodeError(f"op {op.counter}@{d.log.peer_ids[peer]} deletes {start}..{start + n}, "
                              f"beyond the container length {vis} at its version")
    integrate_delete(d.seq, t, make_id(peer, op.counter), start, n, op.arg < 0)
    return 0


cdef int local_seq_delete(LoroDoc d, uint32_t c, int64_t pos, int64_t n) except -1:
    cdef uint32_t t = d.ctree[c]
    cdef int64_t k, i, j, run_pos, run_len
    cdef const int64_t *runs
    cdef lc_op piece
    cdef int32_t counter
    cdef bint is_text = d.ckind[c] == KIND_TEXT
    cdef int64_t length = d.seq.char_len(t) if is_text else d.seq.visible_len(t)
    if pos < 0 or n < 0 or pos + n > length:
        raise OutOfBoundsError(f"delete range {pos}..{pos + n} is out of bounds (length {length})")
    if n == 0:
        return 0
    check_alive(d, c)
    open_txn(d)
    if is_text and d.seq.nodes[d.seq.roots[t]].lens.anchors:
        # code points -> entity runs that skip the style anchors (Loro never deletes them)
        k = collect_text_runs(d.seq, t, pos, n)
    else:
        k = collect_runs(d.seq, t, pos, n)
    # (loro's style map elements follow: state/richtext.pxi style_edit_begin)
    cdef bint styled = is_text and d.evs is not None and d.seq.tree_is_text[t] & TREE_ANCHORED
    if styled:
        style_edit_begin(d, c, False)
    # the scratch runs stay put: nothing below collects runs again
    runs = d.seq.runs
    for j in range(k):
        # Text deletes go right to left, each at its own position; list deletes go
        # left to right at the same position (as Loro issues them).
        i = k - 1 - j if is_text else j
        run_pos = runs[4 * i] if is_text else pos
        run_len = runs[4 * i + 1]
        counter = d.log.vv[d.self_idx]
        integrate_delete(d.seq, t, make_id(d.self_idx, counter), run_pos, run_len, False)
        memset(&piece, 0, sizeof(lc_op))
        piece.container = c
        piece.kind = LC_OP_DELETE
        piece.counter = counter
        piece.len = <int32_t>run_len
        piece.pos = run_pos
        piece.arg = run_len
        piece.start_id = make_id(<uint32_t>runs[4 * i + 2], <int32_t>runs[4 * i + 3])
        record_local_op(d, &piece)
        if styled:
            style_edit_end(d, c, 1, run_pos, run_len, None, j == k - 1)
    return 0


cdef int seq_check(LoroDoc d, uint32_t c) except -1:
    d.seq.check(d.ctree[c])
    if d.seq.nodes[d.seq.roots[d.ctree[c]]].lens.anchors:
        check_open_marks(d, d.ctree[c])
    return 0
