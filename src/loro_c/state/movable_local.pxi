# MovableList, the user's side (state/movable_list.pxi is the state): local ops at the
# document version, the items kept for diff events, cursors.


# -- local ops (the handle in _containers.pyx), at the document version ---------------------

cdef inline uint32_t local_lamport(LoroDoc d, int32_t counter) noexcept:
    return d.txn_lamport + <uint32_t>(counter - d.txn_counter)


cdef int ml_log_local(LoroDoc d, lc_op *piece, int64_t user_pos) except -1:
    """Log a local movable insert or delete at user position `user_pos` (record_local_op
    with a movable list's own event note)."""
    cdef lc_op *op
    if piece.kind == LC_OP_INSERT:
        ml_note_local(d, piece.container, piece.counter, piece.len, ML_HINT_INSERT, user_pos,
                      piece.arg)
    else:
        ml_note_local(d, piece.container, piece.counter, piece.len, ML_HINT_DELETE, user_pos, 0)
    if d.log.n_ops > d.txn_merge_floor and merge_ops(&d.log.ops[d.log.n_ops - 1], piece):
        return after_local_op(d, piece.len)
    op = d.log.push_op()
    op[0] = piece[0]
    return after_local_op(d, piece.len)


cdef int ml_view_inserted(LoroDoc d, uint32_t c, int64_t pos, int64_t op_pos,
                          int64_t e, int64_t n) except -1:
    """Update the cached view after a local insert of `n` items at user position `pos`
    (op position `op_pos`): the entries from `pos` on move right by `n` in both counts, so
    their gaps (view.op_gap) stay."""
    cdef MovableState s = ml_state(d)
    if s.vc_container != c:
        return 0
    s.vc_n_op += n
    return ml_view_insert_at(s, pos, s.vc_n_user, op_pos, e, n)


cdef int local_ml_insert(LoroDoc d, uint32_t c, int64_t pos, list values) except -1:
    cdef Py_ssize_t n = len(values)
    cdef int64_t slot, op_pos, first_elem
    cdef lc_op piece
    cdef int32_t counter
    cdef ml_view v
    ml_view_build(d, c, &v)
    try:
        if pos < 0 or pos > v.n_user:
            raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {v.n_user})")
        op_pos = v.n_op if pos == v.n_user else ml_op_at(&v, pos)
    finally:
        ml_view_free(&v)
    if n == 0:
        return 0
    check_alive(d, c)
    open_txn(d)
    ml_note_before(d, c)
    slot = len(d.log.values)
    d.log.values.extend(values)
    counter = d.log.vv[d.self_idx]
    integrate_insert(d.seq, d.ctree[c], make_id(d.self_idx, counter), op_pos, <int32_t>n,
                     <uint32_t>slot, d.log.peer_ids)
    first_elem = ml_state(d).n_elems
    ml_elems_of_insert(d, c, d.self_idx, counter, local_lamport(d, counter), slot, <int32_t>n, True)
    ml_view_inserted(d, c, pos, op_pos, first_elem, n)
    memset(&piece, 0, sizeof(lc_op))
    piece.container = c
    piece.kind = LC_OP_INSERT
    piece.counter = counter
    piece.len = <int32_t>n
    piece.pos = op_pos
    piece.arg = slot
    lval_place(d, &piece, n, False)
    return ml_log_local(d, &piece, pos)


cdef uint32_t local_ml_insert_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF:
    if pos < 0 or pos > ml_len(d, c):
        raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {ml_len(d, c)})")
    check_alive(d, c)
    open_txn(d)
    cid = _normal_cid(d.peer, d.log.vv[d.self_idx], _TYPE_BY_KIND[kind])
    cdef uint32_t child = container_index(d, cid, kind)
    local_ml_insert(d, c, pos, [cid])
    return child


cdef int local_ml_delete(LoroDoc d, uint32_t c, int64_t pos, int64_t n) except -1:
    """One delete op per item (Loro's), each at its op position once the earlier ones are
    gone; consecutive ones fold into one op (merge_ops)."""
    cdef ml_view v
    cdef int64_t i, op_pos
    cdef lc_op piece
    cdef int32_t counter
    cdef int idx
    cdef lc_span *sp
    cdef uint32_t t = d.ctree[c]
    cdef uint32_t leaf
    cdef int64_t off
    ml_view_build(d, c, &v)
    try:
        if pos < 0 or n < 0 or pos + n > v.n_user:
            raise OutOfBoundsError(f"delete range {pos}..{pos + n} is out of bounds (length {v.n_user})")
        if n == 0:
            return 0
        check_alive(d, c)
        open_txn(d)
        ml_note_before(d, c)
        for i in range(n):
            op_pos = ml_op_at(&v, pos + i) - i
            leaf = d.seq.find_visible(t, op_pos, &idx, &off)
            sp = &d.seq.nodes[leaf].u.spans[idx]
            memset(&piece, 0, sizeof(lc_op))
            piece.start_id = make_id(sp.id.peer, <int32_t>(sp.id.counter + off))
            counter = d.log.vv[d.self_idx]
            integrate_delete(d.seq, t, make_id(d.self_idx, counter), op_pos, 1, False)
            piece.container = c
            piece.kind = LC_OP_DELETE
            piece.counter = counter
            piece.len = 1
            piece.pos = op_pos
            piece.arg = 1
            ml_log_local(d, &piece, pos)
    finally:
        ml_view_free(&v)
        ml_invalidate(d, c)     # (the view's arrays were read until here)
    return 0


def ml_delete_runs(LoroDoc d, cid, list runs):
    """Delete the user ranges `runs` ([(start, stop)], each before the one ahead of it in
    the list: back to front) of movable list `cid` as local ops, the ops local_ml_delete
    gives for each in turn. The items before a deleted one keep their op positions, so one
    view of the list serves every run (apply_diff deletes hundreds of runs at a time)."""
    cdef ml_view v
    cdef int64_t i, op_pos, pos, n, last = -1
    cdef lc_op piece
    cdef int32_t counter
    cdef int idx
    cdef lc_span *sp
    cdef uint32_t t
    cdef uint32_t leaf
    cdef int64_t off
    cdef bint noted = False
    cdef uint32_t c
    doc_acquire(d)
    try:
        found = d.cid_index.get(cid)
        if found is None or d.ckind[<uint32_t>found] != KIND_MOVABLE_LIST:
            raise LoroError(f"{cid} is not a movable list of this document")
        c = <uint32_t>found
        t = d.ctree[c]
        ml_view_build(d, c, &v)
        try:
            for run in runs:
                pos, n = run[0], run[1] - run[0]
                if pos < 0 or n < 0 or pos + n > (v.n_user if last < 0 else last):
                    raise OutOfBoundsError(f"delete range {pos}..{pos + n} is out of bounds "
                                           f"(length {v.n_user})")
                last = pos
                if n == 0:
                    continue
                if not noted:
                    check_alive(d, c)
                    open_txn(d)
                    ml_note_before(d, c)
                    noted = True
                for i in range(n):
                    op_pos = ml_op_at(&v, pos + i) - i
                    leaf = d.seq.find_visible(t, op_pos, &idx, &off)
                    sp = &d.seq.nodes[leaf].u.spans[idx]
                    memset(&piece, 0, sizeof(lc_op))
                    piece.start_id = make_id(sp.id.peer, <int32_t>(sp.id.counter + off))
                    counter = d.log.vv[d.self_idx]
                    integrate_delete(d.seq, t, make_id(d.self_idx, counter), op_pos, 1, False)
                    piece.container = c
                    piece.kind = LC_OP_DELETE
                    piece.counter = counter
                    piece.len = 1
                    piece.pos = op_pos
                    piece.arg = 1
                    ml_log_local(d, &piece, pos)
        finally:
            ml_view_free(&v)
            if noted:
                ml_invalidate(d, c)
    finally:
        doc_release(d)


cdef int local_ml_move(LoroDoc d, uint32_t c, int64_t from_pos, int64_t to_pos) except -1:
    cdef ml_view v
    cdef int64_t op_from, op_to, e, slot, left = -1
    cdef lc_op *op
    cdef lc_ml_elem *el
    cdef lc_ml_elem *le
    cdef int32_t counter
    cdef MovableState s
    ml_view_build(d, c, &v)
    try:
        if from_pos == to_pos:
            return 0
        if from_pos < 0 or from_pos >= v.n_user:
            raise OutOfBoundsError(f"move source {from_pos} is out of bounds (length {v.n_user})")
        if to_pos < 0 or to_pos >= v.n_user:
            raise OutOfBoundsError(f"move target {to_pos} is out of bounds (length {v.n_user})")
        op_from = ml_op_at(&v, from_pos)
        op_to = ml_op_at(&v, to_pos)
        e = v.elem[from_pos]
        # The new item goes after the item at op position op_to - 1 once the old one is
        # gone: moving right, the user item at to_pos (it was at op_to); moving left, the one
        # at to_pos - 1 when no item none stands on lies between. That item's element names
        # its atom, so the sequence tree is not searched by position.
        if from_pos < to_pos:
            left = v.elem[to_pos]
        elif to_pos > 0 and ml_op_at(&v, to_pos - 1) == op_to - 1:
            left = v.elem[to_pos - 1]
    finally:
        ml_view_free(&v)
    check_alive(d, c)
    open_txn(d)
    ml_note_before(d, c)
    slot = len(d.log.values)
    d.log.values.append(None)        # the new item's slot (placeholder)
    counter = d.log.vv[d.self_idx]
    s = ml_state(d)
    el = &s.elems[e]
    if left >= 0:
        le = &s.elems[left]
        integrate_move_after(d.seq, d.ctree[c], make_id(d.self_idx, counter),
                             make_id(el.pos_peer, el.pos_counter),
                             make_id(le.pos_peer, le.pos_counter), <uint32_t>slot, d.log.peer_ids)
    else:
        integrate_move(d.seq, d.ctree[c], make_id(d.self_idx, counter), op_from, op_to,
                       <uint32_t>slot, d.log.peer_ids)
    ml_move_elem(d, e, slot, local_lamport(d, counter), d.self_idx, counter, True)
    ml_view_moved(d, c, from_pos, to_pos, op_to, e)
    el = &s.elems[e]
    ml_note_local(d, c, counter, 1, ML_HINT_MOVE, from_pos | (to_pos << 32), el.val_slot)
    op = d.log.push_op()
    memset(op, 0, sizeof(lc_op))
    op.container = c
    op.kind = LC_OP_MOVE
    op.counter = counter
    op.len = 1
    op.pos = op_to
    op.delta = <double>op_from
    op.arg = slot
    op.start_id = make_id(el.peer, <int32_t>el.lamport)
    return after_local_op(d, 1)


cdef int local_ml_set(LoroDoc d, uint32_t c, int64_t pos, object value) except -1:
    cdef ml_view v
    cdef int64_t e, slot
    cdef lc_op *op
    cdef lc_ml_elem *el
    cdef int32_t counter
    ml_view_build(d, c, &v)
    try:
        if pos < 0 or pos >= v.n_user:
            raise OutOfBoundsError(f"index {pos} is out of bounds (length {v.n_user})")
        e = v.elem[pos]
    finally:
        ml_view_free(&v)
    check_alive(d, c)
    open_txn(d)
    ml_note_before(d, c)
    slot = len(d.log.values)
    d.log.values.append(value)
    counter = d.log.vv[d.self_idx]
    if ml_state(d).n_lazy:
        ml_keep_old(ml_state(d), e)
    el = &ml_state(d).elems[e]
    ml_win_val(d, el, slot, local_lamport(d, counter), d.self_idx)
    ml_note_local(d, c, counter, 1, ML_HINT_SET, pos, slot)
    op = d.log.push_op()
    memset(op, 0, sizeof(lc_op))
    op.container = c
    op.kind = LC_OP_SET
    op.counter = counter
    op.len = 1
    op.arg = slot
    op.start_id = make_id(el.peer, <int32_t>el.lamport)
    return after_local_op(d, 1)


cdef uint32_t local_ml_set_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF:
    if pos < 0 or pos >= ml_len(d, c):
        raise OutOfBoundsError(f"index {pos} is out of bounds (length {ml_len(d, c)})")
    check_alive(d, c)
    open_txn(d)
    cid = _normal_cid(d.peer, d.log.vv[d.self_idx], _TYPE_BY_KIND[kind])
    cdef uint32_t child = container_index(d, cid, kind)
    local_ml_set(d, c, pos, cid)
    return child


# -- events: a movable list's diff is its items before the batch against after -------------

cdef class MLBefore:
    """A movable list's items as a batch found them (ml_note_before), in C arrays: an
    import's diff reads only the few that changed (ml_changes), so keeping them costs a
    copy of the view, not a Python object per item."""
    cdef int64_t n
    cdef uint64_t *key          # element IdLp (peer index << 32 | Lamport)
    cdef int64_t *elem          # element index (checked against `key` before use)
    cdef int64_t *val           # value slot
    cdef int64_t *pos           # winning list item's slot
    cdef lc_id *atom            # winning list item's atom
    cdef int64_t *op            # op position then (the list items it counts are ordered as now)
    # element - bidx_lo -> its index here (-1: not shown), for elements bidx_lo up to
    # bidx_hi, made on first use (ml_before_index): an import finds its changed elements'
    # old indices in the lists it touches only (every movable list is kept before an
    # import; a table per list over every element would cost their product)
    cdef int32_t *bidx
    cdef int64_t bidx_lo, bidx_hi
    # the least and greatest `elem` as the walk found them (elem_lo < 0: not known)
    cdef int64_t elem_lo, elem_hi
    cdef int64_t elem_gen       # MovableState.ix_gen then (ml_clear bumps it)
    # a checkout's: the visible list items no element stood on, [(op position, peer index,
    # counter)] (None: not kept)
    cdef list unpointed
    # Kept lazily (an import's), without reading an element each: ML_LAZY_SLOTS, ml_snap
    # found the shown items by MovableState.pointed and filled only `op` and `pos` (the
    # shown item's slot); ML_LAZY_ELEMS, it copied the list's cached view, `op` and `elem`.
    # An element's value slot and winning list item then are its own now, or `olds`'
    # (element -> (val_slot, pos_slot, pos_peer, pos_counter), kept by ml_keep_old before the
    # batch changed them); `full` fills the other arrays. `slot_lo`..`slot_hi`: the slots
    # seen (ML_LAZY_SLOTS).
    cdef int lazy
    cdef dict olds
    cdef int64_t slot_lo, slot_hi
    # (tests) an ML_LAZY_NONE's walked twin, its diff compared (ml_cross_check)
    cdef MLBefore shadow
    # ML_LAZY_NONE: the op positions then, ascending, of the visible list items no element
    # stood on (ml_unpointed_ops; the items are those at the other op positions)
    cdef int64_t *unp_ops
    cdef int64_t n_unp

    cdef void *block            # the arrays above, in one allocation (ml_block_take)
    cdef size_t block_size

    def __dealloc__(self):
        ml_block_give(self.block, self.block_size)
        free(self.bidx)
        free(self.unp_ops)

    cdef list items(self):
        """(element IdLp, value slot, winning list item's slot) of each item, in order."""
        cdef int64_t i
        return [(self.key[i], self.val[i], self.pos[i]) for i in range(self.n)]

    cdef int full(self, MovableState s) except -1:
        """Fill the arrays a lazy snapshot left out (from the elements now, and `olds`);
        before the elements are cleared or recomputed (ml_befores_full)."""
        cdef int64_t i, e
        cdef lc_ml_elem *el
        cdef int how = self.lazy
        if not how:
            return 0
        if how == ML_LAZY_NONE or how == ML_LAZY_LOST:
            # (nothing was read: the items before cannot be told after the batch; an
            # import that keeps none is small enough for ml_changes_small, and one that
            # fails shows no event)
            if how == ML_LAZY_NONE:
                self.lazy = ML_LAZY_LOST
                s.n_lazy -= 1
            return 0
        self.lazy = 0
        s.n_lazy -= 1
        self.elem_lo = INT64_MAX
        self.elem_hi = -1
        for i in range(self.n):
            e = s.slot_elem[self.pos[i]] if how == ML_LAZY_SLOTS else self.elem[i]
            el = &s.elems[e]
            self.elem[i] = e
            self.key[i] = (<uint64_t>el.peer << 32) | el.lamport
            old = self.olds.get(e) if self.olds else None
            if old is None:
                self.val[i] = el.val_slot
                self.pos[i] = el.pos_slot
                self.atom[i].peer = el.pos_peer
                self.atom[i].counter = el.pos_counter
            else:
                self.val[i] = <int64_t>old[0]
                self.pos[i] = <int64_t>old[1]
                self.atom[i].peer = <uint32_t>old[2]
                self.atom[i].counter = <int32_t>old[3]
            if e < self.elem_lo:
                self.elem_lo = e
            if e > self.elem_hi:
                self.elem_hi = e
        self.olds = None
        if self.bidx != NULL:
            # (a table by slot: ml_before_index makes it again by element)
            free(self.bidx)
            self.bidx = NULL
        return 0


cdef enum:
    ML_LAZY_SLOTS = 1
    ML_LAZY_ELEMS = 2
    ML_LAZY_NONE = 3    # nothing read: every item was shown (LoroDoc.cshown)
    ML_LAZY_LOST = 4    # (ML_LAZY_NONE whose elements were cleared: unusable)


cdef int ml_befores_full(MovableState s) except -1:
    """Every lazy snapshot of the batch filled (the elements are about to go or change)."""
    cdef MLBefore b
    if s.n_lazy == 0:
        return 0
    for b in s.before.values():
        b.full(s)
    return 0


cdef int ml_keep_old(MovableState s, int64_t e) except -1:
    """Element e is about to change: a lazy snapshot of its container keeps what it was."""
    cdef MLBefore b = s.before.get(s.elems[e].container)
    cdef lc_ml_elem *el
    if b is None or not b.lazy or e in b.olds:
        return 0
    el = &s.elems[e]
    b.olds[e] = (el.val_slot, el.pos_slot, el.pos_peer, el.pos_counter)
    return 0


cdef inline int64_t ml_b_val(MLBefore b, MovableState s, int64_t i, int64_t e):
    """Item i's value slot then (its element `e`)."""
    if not b.lazy:
        return b.val[i]
    old = b.olds.get(e)
    return s.elems[e].val_slot if old is None else <int64_t>old[0]


cdef inline lc_id ml_b_atom(MLBefore b, MovableState s, int64_t i, int64_t e):
    """Item i's winning list item then (its element `e`)."""
    cdef lc_id out
    if not b.lazy:
        return b.atom[i]
    old = b.olds.get(e)
    if old is None:
        out.peer = s.elems[e].pos_peer
        out.counter = s.elems[e].pos_counter
    else:
        out.peer = <uint32_t>old[2]
        out.counter = <int32_t>old[3]
    return out


cdef inline int64_t ml_b_pos(MLBefore b, MovableState s, int64_t i, int64_t e):
    """Item i's slot (its element `e`'s winning list item's) then."""
    if b.lazy != ML_LAZY_ELEMS and b.lazy != ML_LAZY_NONE:
        return b.pos[i]
    old = b.olds.get(e)
    return s.elems[e].pos_slot if old is None else <int64_t>old[1]


cdef inline uint64_t ml_b_key(MLBefore b, MovableState s, int64_t i, int64_t e) noexcept:
    if not b.lazy:
        return b.key[i]
    return (<uint64_t>s.elems[e].peer << 32) | s.elems[e].lamport


# One freed MLBefore block kept for the next batch: a subscribed import keeps every
# movable list's items, and memory freshly taken from the system for them (the allocator
# gives a freed large block back) costs a page fault per 4 KiB, more than the copy itself.
cdef void *ml_spare_block = NULL
cdef size_t ml_spare_size = 0
# the largest block kept (bytes): beyond, the copy dwarfs the faults
cdef size_t ML_SPARE_MAX = 16 << 20


cdef void *ml_block_take(size_t need, size_t *got) noexcept:
    """A block of at least `need` bytes (NULL: out of memory), its size in `got`."""
    global ml_spare_block, ml_spare_size
    cdef void *p
    if ml_spare_block != NULL and ml_spare_size >= need:
        p = ml_spare_block
        got[0] = ml_spare_size
        ml_spare_block = NULL
        ml_spare_size = 0
        return p
    got[0] = need
    return malloc(need)


cdef void ml_block_give(void *p, size_t size) noexcept:
    """Keep block `p` for ml_block_take if it is the larger one (within ML_SPARE_MAX)."""
    global ml_spare_block, ml_spare_size
    if p == NULL:
        return
    if size <= ML_SPARE_MAX and size > ml_spare_size:
        free(ml_spare_block)
        ml_spare_block = p
        ml_spare_size = size
    else:
        free(p)


cdef int ml_note_before(LoroDoc d, uint32_t c) except -1:
    """While someone subscribes, remember container `c`'s items (element, value slot,
    list item) as the batch found them, before its first op changes them."""
    if not d.evlog.on:
        return 0
    cdef MovableState s = ml_state(d)
    if c in s.before:
        return 0
    s.before[c] = ml_snap(d, c, False)
    return 0


cdef int ml_note_before_import(LoroDoc d, uint32_t c) except -1:
    """ml_note_before for an import (state/dispatch.pxi snapshot_touched): the items kept
    lazily (MLBefore.lazy), a walk over the list items that reads no element; the few an
    import of a few ops changes are read when its diff asks (ml_changes_small), the
    elements it changes kept by ml_keep_old. (A server's document imports small updates
    into large lists: the whole copy of them took most of such an import.)"""
    if not d.evlog.on:
        return 0
    cdef MovableState s = ml_state(d)
    cdef MLBefore b
    if c in s.before:
        return 0
    if d.cshown[c] and not d.detached and ml_staged_atoms(d, c) * 2 <= ML_SMALL_ATOMS:
        # the items no element stands on known and an import small enough for
        # ml_changes_small: the items before are the other list items then, read from the
        # sequence tree when asked
        b = MLBefore()
        b.lazy = ML_LAZY_NONE
        b.olds = {}
        unp = ml_unpointed_ops(d, c)
        if unp:
            b.unp_ops = <int64_t*>malloc(len(unp) * sizeof(int64_t))
            if b.unp_ops == NULL:
                raise MemoryError()
            for i in range(len(unp)):
                b.unp_ops[i] = unp[i]
            b.n_unp = len(unp)
        b.n = d.seq.visible_len(d.ctree[c]) - b.n_unp
        b.elem_gen = s.ix_gen
        s.n_lazy += 1
        global ml_none_snaps, ml_none_unshown
        ml_none_snaps += 1
        ml_none_unshown += b.n_unp
        if ml_cross_check:
            b.shadow = ml_snap(d, c, True)
            b.shadow.olds = b.olds
            if b.shadow.n != b.n:
                raise AssertionError(f"movable list {c}: {b.n - b.shadow.n} items shown by nobody")
        s.before[c] = b
        return 0
    b = ml_snap(d, c, True)
    s.before[c] = b
    if not d.cshown[c] and not d.detached:
        ml_unpointed_learn(d, c, d.seq.visible_len(d.ctree[c]) - b.n)
    return 0


cdef list ml_unpointed_ops(LoroDoc d, uint32_t c):
    """The op positions, ascending, of the visible list items of `c` no element stands on,
    for a container marked in LoroDoc.cshown: its candidates (MovableState.unp) that are
    such items, to which the candidates are cut down."""
    cdef MovableState s = d.mls
    cdef list cands = s.unp.get(c) if s is not None else None
    cdef lc_id atom
    cdef uint32_t leaf
    cdef int idx
    cdef lc_span *sp
    cdef int64_t slot
    if not cands:
        return []
    keep, ops = [], []
    for key in cands:
        if key in keep:
            continue
        atom = make_id(<uint32_t>(key >> 32), <int32_t>(key & 0xFFFFFFFF))
        try:
            leaf = locate(d.seq, atom, &idx)
        except AssertionError:
            continue        # (an item an undone import had made)
        sp = &d.seq.nodes[leaf].u.spans[idx]
        if d.seq.nodes[leaf].tree != d.ctree[c] or not span_visible(sp):
            continue
        slot = <int64_t>sp.content + (atom.counter - sp.id.counter)
        if slot < s.cap_slot and s.pointed[slot]:
            continue
        keep.append(key)
        ops.append(visible_before(d.seq, leaf, idx, atom.counter))
    if keep:
        s.unp[c] = keep
    else:
        del s.unp[c]
    ops.sort()
    return ops


cdef int ml_unpointed_learn(LoroDoc d, uint32_t c, int64_t n_unp) except -1:
    """After ml_snap found `n_unp` visible list items of `c` no element stands on (at the
    state's version): when they are few, list them (one walk by MovableState.pointed), so
    the next imports need not walk (ml_note_before_import)."""
    if n_unp <= 0 or n_unp > ML_UNP_MAX:
        return 0
    found = [(<uint64_t>peer << 32) | <uint32_t>counter
             for _, peer, counter in ml_unshown_items(d, c, True)]
    if len(found) != n_unp:
        raise AssertionError(f"movable list {c}: {len(found)} items shown by nobody, "
                             f"the snapshot's walk found {n_unp}")
    d.mls.unp[c] = found
    d.cshown[c] = 1
    return 0


cdef int64_t ml_staged_atoms(LoroDoc d, uint32_t c) noexcept:
    """The list items the staged changes' ops on container `c` may insert or remove (an
    insert or delete its length, a move two)."""
    cdef int64_t k, i, out = 0
    cdef lc_staged *st
    cdef lc_op *op
    for k in range(d.n_staged):
        st = &d.staged[k]
        for i in range(st.ops_off, st.ops_off + st.ops_len):
            op = &d.log.ops[i]
            if op.container == c:
                out += 2 if op.kind == LC_OP_MOVE else (op.len if op.len > 0 else -op.len)
    return out


cdef int ml_note_before_move(LoroDoc d, uint32_t c) except -1:
    """ml_note_before for a checkout, which also keeps the visible list items no element
    stands on (ml_checkout_tail: loro's first step counts their removal)."""
    cdef MovableState s
    cdef MLBefore b
    if not d.evlog.on:
        return 0
    s = ml_state(d)
    if c in s.before:
        return 0
    b = ml_snap(d, c, False)
    s.before[c] = b
    b.unpointed = ml_unpointed(d, c, b)
    return 0


cdef list ml_unpointed(LoroDoc d, uint32_t c, MLBefore b):
    """The visible list items of `c` no element stands on, as MLBefore.unpointed (a walk
    over the list only when there are any: concurrent moves leave them)."""
    if d.seq.visible_len(d.ctree[c]) == b.n:
        return []
    return ml_unshown_items(d, c, False)


cdef list ml_unshown_items(LoroDoc d, uint32_t c, bint by_pointed):
    """The visible list items of `c` no element stands on, in order: (op position, peer
    index, counter). Told by the elements' winning slots, or (`by_pointed`) by
    MovableState.pointed, which marks those slots without reading an element."""
    cdef MovableState s = ml_state(d)
    cdef SeqArena seq = d.seq
    cdef uint32_t t = d.ctree[c], leaf
    cdef int idx
    cdef int64_t off, n = seq.visible_len(t), op = 0, slot, e, i
    cdef lc_span *sp
    cdef bint shown
    out = []
    leaf = seq.find_visible(t, 0, &idx, &off)
    while leaf != LC_NO_NODE and op < n:
        while idx < seq.nodes[leaf].n:
            sp = &seq.nodes[leaf].u.spans[idx]
            if span_visible(sp):
                for i in range(sp.len):
                    slot = <int64_t>sp.content + i
                    if by_pointed:
                        shown = slot < s.cap_slot and s.pointed[slot]
                    else:
                        e = s.slot_elem[slot] if slot < s.cap_slot else -1
                        shown = e >= 0 and s.elems[e].pos_slot == slot
                    if not shown:
                        out.append((op + i, sp.id.peer, sp.id.counter + <int32_t>i))
                op += sp.len
            idx += 1
        leaf = seq.nodes[leaf].next_leaf
        idx = 0
    return out


cdef int64_t ml_checkout_tail(LoroDoc d, uint32_t c, MLBefore b, list recs) except -2:
    """ml_changes_small's `tail` for a checkout: the items of `b` before the last list item
    visible before and not now (pointed at or not), -1 when none or not known."""
    cdef int64_t last = -1, bi
    if b is None or b.unpointed is None:
        return -1
    for r in recs:
        bi = r[CH_BI]
        if bi >= 0 and r[CH_OLD_OP] < 0 and b.op[bi] > last:
            last = b.op[bi]
    for op, p, ctr in b.unpointed:
        if op > last and ml_atom_op(d, c, make_id(p, ctr)) < 0:
            last = op
    return ml_before_lower(b, last) if last >= 0 else -1


cdef MLBefore ml_snap(LoroDoc d, uint32_t c, bint lazy):
    """Container `c`'s items now. From the cached view when there is one, else in one walk
    over the visible list items (the view is not built: the batch is about to change the
    list, which drops it); `lazy`: the walk reads no element (MLBefore.lazy)."""
    cdef ml_view v
    cdef int64_t i, n, k = 0, op_pos = 0, e
    cdef MovableState s = ml_state(d)
    cdef MLBefore b = MLBefore()
    cdef SeqArena seq = d.seq
    cdef uint32_t t = d.ctree[c], leaf
    cdef int idx
    cdef int64_t off
    cdef uint32_t pf[2]
    cached = s.vc_container == c
    n = s.vc_n_user if cached else seq.visible_len(t)
    cdef size_t per = <size_t>(n + 1) * sizeof(int64_t)
    b.block = ml_block_take(5 * per + <size_t>(n + 1) * sizeof(lc_id), &b.block_size)
    if b.block == NULL:
        raise MemoryError()
    b.key = <uint64_t*>b.block
    b.elem = <int64_t*>(<char*>b.block + per)
    b.val = <int64_t*>(<char*>b.block + 2 * per)
    b.pos = <int64_t*>(<char*>b.block + 3 * per)
    b.op = <int64_t*>(<char*>b.block + 4 * per)
    b.atom = <lc_id*>(<char*>b.block + 5 * per)
    b.elem_gen = s.ix_gen
    b.elem_lo = INT64_MAX
    b.elem_hi = -1
    if lazy:
        global ml_lazy_snaps
        ml_lazy_snaps += 1
        b.lazy = ML_LAZY_ELEMS if cached else ML_LAZY_SLOTS
        b.olds = {}
        s.n_lazy += 1
    if cached:
        b.elem_lo = -1      # (ml_before_index finds them)
        ml_view_build(d, c, &v)
        if lazy:
            for i in range(n):
                b.elem[i] = v.elem[i]
                b.op[i] = ml_op_at(&v, i)
        else:
            for i in range(n):
                ml_snap_put(b, s, i, v.elem[i], ml_op_at(&v, i))
        ml_view_free(&v)
        k = n
    elif lazy:
        b.slot_lo = INT64_MAX
        b.slot_hi = -1
        if n > 0:
            leaf = seq.find_visible(t, 0, &idx, &off)
            while leaf != LC_NO_NODE and op_pos < n:
                k = ml_snap_leaf_lazy(b, s, &seq.nodes[leaf].u.spans[0], idx, seq.nodes[leaf].n,
                                      k, &op_pos)
                leaf = seq.nodes[leaf].next_leaf
                idx = 0
    elif n > 0:
        # (ml_view_fill's test, read from the tree's spans in place)
        leaf = seq.find_visible(t, 0, &idx, &off)
        # the items' elements lie in creation order, not list order: a cursor
        # ML_SNAP_AHEAD spans on asks for them while the walk reads (a cold list otherwise
        # waits on each in turn)
        pf[0] = leaf
        pf[1] = <uint32_t>idx
        for i in range(ML_SNAP_AHEAD):
            ml_ahead(seq.nodes, pf, s)
        while leaf != LC_NO_NODE and op_pos < n:
            k = ml_snap_leaf(b, s, &seq.nodes[leaf].u.spans[0], idx, seq.nodes[leaf].n, k,
                             &op_pos, seq.nodes, pf)
            leaf = seq.nodes[leaf].next_leaf
            idx = 0
    b.n = k
    if not d.detached and k == (s.vc_n_op if cached else n):
        d.cshown[c] = 1     # (every visible item shown)
    if ml_cross_check and not cached:
        ml_check_snap(d, c, b)
    return b


cdef int ml_check_snap(LoroDoc d, uint32_t c, MLBefore b) except -1:
    """(tests) AssertionError unless ml_snap's walk found the view's items (apart from
    ml_snap: its generator's closure would be made on every call)."""
    cdef ml_view v
    cdef int64_t i, k = b.n
    cdef MovableState s = ml_state(d)
    ml_view_build(d, c, &v)
    try:
        if b.lazy == ML_LAZY_SLOTS:
            if v.n_user != k or any(b.pos[i] != s.elems[v.elem[i]].pos_slot
                                    or b.op[i] != ml_op_at(&v, i) for i in range(k)):
                raise AssertionError("a movable list's items before the import are not its view's")
        elif v.n_user != k or any(b.elem[i] != v.elem[i] or b.op[i] != ml_op_at(&v, i)
                                for i in range(k)):
            raise AssertionError("a movable list's items before the batch are not its view's")
    finally:
        ml_view_free(&v)
    return 0


# how many spans ahead of ml_snap_leaf ml_ahead asks for an element
cdef int ML_SNAP_AHEAD = 16


cdef inline void ml_ahead(lc_node *nodes, uint32_t *pf, MovableState s) noexcept:
    """Ask for the element of the first item of the span at (leaf pf[0], index pf[1]) and
    step there to the next span (ML_SNAP_AHEAD spans before ml_snap_leaf reads it)."""
    cdef int64_t slot, e
    if pf[0] == LC_NO_NODE:
        return
    slot = <int64_t>nodes[pf[0]].u.spans[pf[1]].content
    if slot < s.cap_slot:
        e = s.slot_elem[slot]
        if e >= 0:
            lc_prefetch(&s.elems[e])
            lc_prefetch(<char*>&s.elems[e] + sizeof(lc_ml_elem) - 1)
    pf[1] += 1
    if pf[1] >= nodes[pf[0]].n:
        pf[0] = nodes[pf[0]].next_leaf
        pf[1] = 0


cdef int64_t ml_snap_leaf(MLBefore b, MovableState s, lc_span *spans, int idx, int n_spans,
                          int64_t k, int64_t *op_pos, lc_node *nodes, uint32_t *pf) noexcept:
    """ml_snap's walk over one leaf's spans from `idx`: the items there whose element
    stands on them, from `k` on; the end of the items is returned."""
    cdef int64_t *slot_elem = s.slot_elem
    cdef int64_t cap = s.cap_slot, e, op = op_pos[0]
    cdef lc_ml_elem *elems = s.elems
    cdef lc_ml_elem *el
    cdef uint64_t *key = b.key
    cdef int64_t *elem = b.elem
    cdef int64_t *val = b.val
    cdef int64_t *pos = b.pos
    cdef int64_t *ops = b.op
    cdef lc_id *atom = b.atom
    cdef lc_span *sp
    cdef int64_t slot, i, lo = b.elem_lo, hi = b.elem_hi
    while idx < n_spans:
        sp = &spans[idx]
        ml_ahead(nodes, pf, s)
        if span_visible(sp):
            for i in range(sp.len):
                slot = <int64_t>sp.content + i
                e = slot_elem[slot] if slot < cap else -1
                if e >= 0 and elems[e].pos_slot == slot:
                    el = &elems[e]
                    ops[k] = op + i
                    key[k] = (<uint64_t>el.peer << 32) | el.lamport
                    elem[k] = e
                    val[k] = el.val_slot
                    pos[k] = el.pos_slot
                    atom[k].peer = el.pos_peer
                    atom[k].counter = el.pos_counter
                    if e < lo:
                        lo = e
                    if e > hi:
                        hi = e
                    k += 1
            op += sp.len
        idx += 1
    op_pos[0] = op
    b.elem_lo = lo
    b.elem_hi = hi
    return k


cdef int64_t ml_snap_leaf_lazy(MLBefore b, MovableState s, lc_span *spans, int idx, int n_spans,
                               int64_t k, int64_t *op_pos) noexcept:
    """ml_snap_leaf for a lazy snapshot: the shown items' op positions and slots only (an
    item is shown when its element stands on it: `pointed`)."""
    cdef uint8_t *pointed = s.pointed
    cdef int64_t cap = s.cap_slot, op = op_pos[0], slot, i, end
    cdef int64_t lo = b.slot_lo, hi = b.slot_hi
    cdef int64_t *pos = b.pos
    cdef int64_t *ops = b.op
    cdef lc_span *sp
    while idx < n_spans:
        sp = &spans[idx]
        if span_visible(sp):
            slot = <int64_t>sp.content
            end = slot + sp.len
            if end > cap:
                end = cap
            for i in range(slot, end):
                if pointed[i]:
                    ops[k] = op + (i - slot)
                    pos[k] = i
                    k += 1
            if end > slot:
                if slot < lo:
                    lo = slot
                if end - 1 > hi:
                    hi = end - 1
            op += sp.len
        idx += 1
    op_pos[0] = op
    b.slot_lo = lo
    b.slot_hi = hi
    return k


cdef inline void ml_snap_put(MLBefore b, MovableState s, int64_t i, int64_t el, int64_t op) noexcept:
    cdef lc_ml_elem *e = &s.elems[el]
    b.op[i] = op
    b.key[i] = (<uint64_t>e.peer << 32) | e.lamport
    b.elem[i] = el
    b.val[i] = e.val_slot
    b.pos[i] = e.pos_slot
    b.atom[i].peer = e.pos_peer
    b.atom[i].counter = e.pos_counter


cdef list ml_items(LoroDoc d, uint32_t c):
    """(element IdLp, value slot, winning list item's slot) of each item, in order."""
    cdef ml_view v
    cdef int64_t i
    cdef lc_ml_elem *e
    cdef MovableState s = ml_state(d)
    ml_view_build(d, c, &v)
    try:
        out = []
        for i in range(v.n_user):
            e = &s.elems[v.elem[i]]
            out.append(((<uint64_t>e.peer << 32) | e.lamport, e.val_slot, e.pos_slot))
        return out
    finally:
        ml_view_free(&v)


cdef int ml_note_local(LoroDoc d, uint32_t c, int32_t counter, int32_t n, uint32_t hint,
                       int64_t user_pos, int64_t slot) except -1:
    """Journal a local op (after ml_note_before kept the items it changes), with what loro's
    event hint of it holds (key: its kind, old: the user position (a move: from | to << 32),
    delta: the value slot), from which _events builds the commit's delta (local_delta.pxi)."""
    if d.evlog.on:
        ev_note(d, c, LC_EV_COUNTER, d.self_idx, counter, n, hint, <double>slot, user_pos)
    return 0


cdef int ml_snapshot_all(LoroDoc d) except -1:
    """An import is about to apply while someone subscribes: keep every movable list's
    items (ops apply at their own versions, where the items cannot be read)."""
    cdef int64_t c
    for c in range(d.n_containers):
        if d.ckind[c] == KIND_MOVABLE_LIST:
            ml_note_before(d, <uint32_t>c)
    return 0


cdef list ml_event_ops(LoroDoc d, uint32_t c, bint by_value=False):
    """Container `c`'s diff since ml_note_before: [(0, n) retain | (2, n) delete |
    (1, [value slots], is_move) insert]. Items are matched by element (longest common
    subsequence); an element kept in place whose value changed shows as inserted and
    deleted, one that changed place as a move (inserted with is_move, as loro reports it).
    `by_value` (imports and checkouts): a value written again equal is no change, as in
    loro's events of those (a commit reports every set)."""
    cdef MovableState s = ml_state(d)
    import difflib
    ml_befores_full(s)
    if by_value:
        return ml_import_ops(d, c, s.before.get(c))
    snap = s.before.get(c)
    before = (<MLBefore>snap).items() if snap is not None else []
    after = ml_items(d, c)
    bkeys = [k[0] for k in before]
    akeys = [k[0] for k in after]
    existed = set(bkeys)
    out = []

    def push(op):
        last = out[len(out) - 1] if out else None      # (no negative indices: wraparound is off)
        if last is not None and last[0] == op[0] and op[0] != 1:
            out[len(out) - 1] = (op[0], last[1] + op[1])
        elif last is not None and op[0] == 1 and last[0] == 1 and last[2] == op[2]:
            out[len(out) - 1] = (1, last[1] + op[1], op[2])
        else:
            out.append(op)

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, bkeys, akeys, autojunk=False).get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                if before[i1 + k][1] == after[j1 + k][1]:
                    push((0, 1))
                else:
                    push((1, [after[j1 + k][1]], False))
                    push((2, 1))
            continue
        for j in range(j1, j2):
            push((1, [after[j][1]], akeys[j] in existed))
        if i2 > i1:
            push((2, i2 - i1))
    if out and out[len(out) - 1][0] == 0:
        out.pop()
    return out


cdef int64_t ml_lower(const ml_view *v, int64_t p) noexcept:
    """The user items of a view at op positions before `p`."""
    cdef int64_t lo = 0, hi = v.n_user, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if ml_op_at(v, mid) < p:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int64_t ml_atom_op(LoroDoc d, uint32_t c, lc_id atom) except -2:
    """The op position of list item `atom` of container `c`, or -1 when it is not visible."""
    cdef int idx
    cdef uint32_t leaf
    try:
        leaf = locate(d.seq, atom, &idx)
    except AssertionError:
        return -1
    if d.seq.nodes[leaf].tree != d.ctree[c] or not span_visible(&d.seq.nodes[leaf].u.spans[idx]):
        return -1
    return visible_before(d.seq, leaf, idx, atom.counter)


# a changed element (ml_changes): its IdLp, before (index, value slot, list item, the list
# item's op position now or -1 when gone) and after (index, value slot, list item, op
# position), -1 where it is not shown (but the value slot of an element kept unshown)
cdef enum:
    CH_KEY = 0
    CH_BI = 1
    CH_BVAL = 2
    CH_BPOS = 3
    CH_OLD_OP = 4
    CH_AJ = 5
    CH_AVAL = 6
    CH_APOS = 7
    CH_NEW_OP = 8


cdef list ml_changes(LoroDoc d, uint32_t c, MLBefore b, ml_view *v):
    """The elements of container `c` shown before the batch (`b`) or now whose value slot
    or list item changed or that are shown on one side only, as [CH_* fields], before ones
    in order, then new ones in order; `v`: the view now. Every other shown element stands
    on the same list item with the same value on both sides (two passes in C over the
    items: the rest of an import's diff reads only these)."""
    cdef MovableState s = ml_state(d)
    cdef int64_t n_el, i, j, e, old_op
    cdef int64_t nb = b.n if b is not None else 0
    if b is not None:
        b.full(s)
    n_el = s.n_elems
    cdef int64_t *bidx
    cdef int64_t *aidx
    cdef lc_ml_elem *el
    ml_view_build(d, c, v)
    bidx = <int64_t*>malloc(<size_t>(n_el + 1) * sizeof(int64_t))
    aidx = <int64_t*>malloc(<size_t>(n_el + 1) * sizeof(int64_t))
    if bidx == NULL or aidx == NULL:
        free(bidx)
        free(aidx)
        raise MemoryError()
    out = []
    try:
        memset(bidx, 0xFF, <size_t>(n_el + 1) * sizeof(int64_t))
        memset(aidx, 0xFF, <size_t>(n_el + 1) * sizeof(int64_t))
        for i in range(nb):
            e = b.elem[i]
            if e < 0 or e >= n_el or ((<uint64_t>s.elems[e].peer << 32) | s.elems[e].lamport) != b.key[i]:
                # (the elements were rebuilt since: find it again by its IdLp)
                e = ml_elem_lookup(s, b.key[i])
                e = e if e < n_el else -1
                b.elem[i] = e
                b.elem_lo = -1      # (renumbered: the walk's range no longer holds)
            if e >= 0:
                bidx[e] = i
        for j in range(v.n_user):
            aidx[v.elem[j]] = j
        for i in range(nb):
            e = b.elem[i]
            j = aidx[e] if e >= 0 else -1
            el = &s.elems[e] if e >= 0 else NULL
            if j >= 0 and el.val_slot == b.val[i] and el.pos_slot == b.pos[i]:
                continue
            if el != NULL and el.pos_slot == b.pos[i]:
                old_op = ml_op_at(v, j) if j >= 0 else -1
            else:
                old_op = ml_atom_op(d, c, b.atom[i])
            if j >= 0:
                out.append([b.key[i], i, b.val[i], b.pos[i], old_op,
                            j, el.val_slot, el.pos_slot, ml_op_at(v, j)])
            else:
                # (the value of an element that stands on no shown item now, if it is kept)
                out.append([b.key[i], i, b.val[i], b.pos[i], old_op, -1,
                            el.val_slot if el != NULL else -1, -1, -1])
        for j in range(v.n_user):
            e = v.elem[j]
            if bidx[e] >= 0:
                continue
            el = &s.elems[e]
            out.append([(<uint64_t>el.peer << 32) | el.lamport, -1, -1, -1, -1,
                        j, el.val_slot, el.pos_slot, ml_op_at(v, j)])
    finally:
        free(bidx)
        free(aidx)
    return out


from bisect import bisect_left as _bisect_left, bisect_right as _bisect_right


cdef list ml_import_ops(LoroDoc d, uint32_t c, MLBefore snap):
    """An import's or a checkout's diff, as loro's: an item is kept when its element still
    stands on the same list item with an equal value; every other old item is deleted and
    every other new one inserted, with is_move when its element was shown before with an
    equal value. (Loro applies the list items' diff, then each element's new position and
    value, so an element a concurrent move left at the same index is still reported.)
    Except: an element that moved to a later list item while its old item stays (a
    concurrent move's item lost to it) with no shown item between the two is kept, as
    loro's insert at the new index and delete at the old one then meet and cancel
    (ml_stayed). Only the changed elements (ml_changes) are read."""
    cdef ml_view v
    recs = ml_changes(d, c, snap, &v)
    try:
        return ml_import_ops_of(d, recs, &v, None)
    finally:
        ml_view_free(&v)


cdef int64_t ml_low(ml_view *v, dict low, int64_t p) except? -1:
    """The user items now at op positions before `p` (ml_lower of the view after), from
    `low` when the view was not built (ml_changes_small put there each position the diff
    reads)."""
    if low is None:
        return ml_lower(v, p)
    return low[p]


cdef list ml_import_ops_of(LoroDoc d, list recs, ml_view *v, dict low):
    cdef list r
    cdef int64_t bi, aj, bval, aval
    cdef Py_ssize_t n_um = 0
    cdef bint same_value
    cdef int64_t *unmoored
    values = d.log.values
    # op positions of the items shown now whose element was not shown on the same list
    # item before: the only shown items that do not stay put (sorted)
    unmoored = <int64_t*>malloc(<size_t>(len(recs) + 1) * sizeof(int64_t))
    if unmoored == NULL:
        raise MemoryError()
    dels = []
    ins = []
    try:
        for r in recs:
            if <int64_t>r[CH_AJ] >= 0 and (<int64_t>r[CH_BI] < 0
                                           or <int64_t>r[CH_BPOS] != <int64_t>r[CH_APOS]):
                unmoored[n_um] = r[CH_NEW_OP]
                n_um += 1
        qsort(unmoored, <size_t>n_um, sizeof(int64_t), cmp_i64)
        for r in recs:
            same_value = False
            bi = r[CH_BI]
            aj = r[CH_AJ]
            if bi >= 0 and aj >= 0:
                bval = r[CH_BVAL]
                aval = r[CH_AVAL]
                same_value = bval == aval or same_loro_value(values[bval], values[aval])
                if same_value and (<int64_t>r[CH_BPOS] == <int64_t>r[CH_APOS] or ml_stayed(
                        v, low, unmoored, n_um, r[CH_OLD_OP], r[CH_NEW_OP])):
                    continue
            if bi >= 0:
                dels.append(bi)
            if aj >= 0:
                ins.append((aj, same_value, r[CH_AVAL]))
    finally:
        free(unmoored)
    dels.sort()
    ins.sort()
    # a gap between kept items is named by the kept items before it
    gaps = {}
    for k in range(len(dels)):
        g = gaps.get(dels[k] - k)
        if g is None:
            g = gaps[dels[k] - k] = [[], 0]
        g[1] += 1
    for k in range(len(ins)):
        g = gaps.get(ins[k][0] - k)
        if g is None:
            g = gaps[ins[k][0] - k] = [[], 0]
        g[0].append(ins[k])
    out = []
    prev = 0
    for g in sorted(gaps):
        if g > prev:
            out.append((0, g - prev))
        prev = g
        gap_ins, n_dels = gaps[g]
        for it in gap_ins:
            same_value = it[1]
            if n_dels and same_value:
                # loro's delta puts an insert of a moved element after the deletes at
                # its place, a new or changed one before them
                out.append((2, n_dels))
                n_dels = 0
            if out and out[len(out) - 1][0] == 1 and out[len(out) - 1][2] == same_value:
                out[len(out) - 1][1].append(it[2])
            else:
                out.append((1, [it[2]], same_value))
        if n_dels:
            out.append((2, n_dels))
    return out


cdef bint ml_stayed(ml_view *v, dict low, const int64_t *unmoored, Py_ssize_t n_um,
                    int64_t old_pos, int64_t new_pos) except -1:
    """Whether an element now at op position `new_pos` was on a list item now at `old_pos`
    (-1: gone), before it with no item between of an element that kept its list item (see
    ml_import_ops: loro handles the changed elements in a hash map's order; those it has
    not shown yet when it handles this one are not between, which this takes for all of
    them). `unmoored`: the sorted op positions of the shown items that are not such."""
    if old_pos < 0 or old_pos > new_pos:
        return False
    return (ml_low(v, low, new_pos + 1) - ml_low(v, low, old_pos + 1)
            == ml_lower_i64(unmoored, n_um, new_pos + 1) - ml_lower_i64(unmoored, n_um, old_pos + 1))


# the most list items an import's diff looks up one by one (ml_changes_small) rather than
# reading the whole list
cdef int64_t ML_SMALL_ATOMS = 256
# tests: ml_import_split also diffs through the whole list and compares (_ml_cross_check)
cdef bint ml_cross_check = False
cdef int64_t ml_cross_checked = 0


cdef int64_t ml_lazy_snaps = 0
cdef int64_t ml_none_snaps = 0
cdef int64_t ml_none_unshown = 0


def _ml_lazy_snapshots():
    """(tests) How many lazy snapshots imports have taken so far: (walked or copied
    (ml_snap), read nothing (ML_LAZY_NONE))."""
    return ml_lazy_snaps + ml_none_snaps


def _ml_unwalked_snapshots():
    """(tests) How many of them read nothing (ML_LAZY_NONE)."""
    return ml_none_snaps


def _ml_unwalked_unshown_items():
    """(tests) How many list items shown by nobody those snapshots skipped, in all."""
    return ml_none_unshown


def _ml_cross_check(bint on):
    """Make every small MovableList import diff also run the full diff and raise
    AssertionError when they differ (tests); returns how many were compared so far."""
    global ml_cross_check
    ml_cross_check = on
    return ml_cross_checked


def _ml_calc_store(LoroDoc doc):
    """(tests) What a document keeps for its MovableList checkout maps: (state moves not
    yet noted in them, maps, their keys)."""
    cdef MovableState s = doc.mls
    if s is None:
        return (0, 0, 0)
    maps = list(s.calc_keys.values()) if s.calc_keys is not None else []
    return (len(s.calc_walks) if s.calc_walks is not None else 0, len(maps),
            sum(len(m) for m in maps))


cdef int ml_check_walks(LoroDoc d) except -1:
    """AssertionError when more state moves wait than ml_fold_walks lets wait."""
    if d.mls is not None and d.mls.calc_walks is not None \
            and len(d.mls.calc_walks) > ML_WALKS_KEPT:
        raise AssertionError(f"{len(d.mls.calc_walks)} state moves wait for the MovableList maps")
    return 0


cdef int64_t ml_atom_place(LoroDoc d, uint32_t c, lc_id atom, int64_t *abs_at) except -2:
    """The op position of list item `atom` of container `c` (-1 when not visible), and in
    `abs_at` its absolute index (tombstones counted: the document order of items, old or
    new)."""
    cdef int idx, j
    cdef uint32_t leaf = locate(d.seq, atom, &idx)
    cdef lc_span *sp = &d.seq.nodes[leaf].u.spans[idx]
    cdef int64_t acc = atom.counter - sp.id.counter
    for j in range(idx):
        acc += d.seq.nodes[leaf].u.spans[j].len
    abs_at[0] = acc + d.seq.left_of(leaf, False)
    if d.seq.nodes[leaf].tree != d.ctree[c] or not span_visible(sp):
        return -1
    return visible_before(d.seq, leaf, idx, atom.counter)


cdef int64_t ml_before_index(MLBefore b, MovableState s, int64_t e) except -2:
    """Element `e`'s index in `b`, -1 when it is not there."""
    cdef int64_t i, lo = b.elem_lo, hi = b.elem_hi
    if b.lazy == ML_LAZY_SLOTS:
        return ml_before_index_lazy(b, s, e)
    if b.bidx == NULL:
        if lo < 0:
            lo = INT64_MAX
            hi = -1
        for i in range(b.n if b.elem_lo < 0 else 0):
            if b.elem[i] >= 0:
                if b.elem[i] < lo:
                    lo = b.elem[i]
                if b.elem[i] > hi:
                    hi = b.elem[i]
        if hi < 0:
            lo = hi = 0
        b.bidx = <int32_t*>malloc(<size_t>(hi - lo + 1) * sizeof(int32_t))
        if b.bidx == NULL:
            raise MemoryError()
        memset(b.bidx, 0xFF, <size_t>(hi - lo + 1) * sizeof(int32_t))
        for i in range(b.n):
            if b.elem[i] >= 0:
                b.bidx[b.elem[i] - lo] = <int32_t>i
        b.bidx_lo = lo
        b.bidx_hi = hi
    if e < b.bidx_lo or e > b.bidx_hi:
        return -1
    return b.bidx[e - b.bidx_lo]


cdef int64_t ml_before_index_lazy(MLBefore b, MovableState s, int64_t e) except -2:
    """ml_before_index of a lazy snapshot: the item on the element's winning slot then
    (a table by slot, when the slots seen are not spread far wider than the items)."""
    cdef int64_t i, slot, lo = b.slot_lo, hi = b.slot_hi
    old = b.olds.get(e)
    slot = s.elems[e].pos_slot if old is None else <int64_t>old[1]
    if slot < 0 or slot < lo or slot > hi:
        return -1
    if hi - lo + 1 > 4 * b.n + 4096:
        for i in range(b.n):
            if b.pos[i] == slot:
                return i
        return -1
    if b.bidx == NULL:
        b.bidx = <int32_t*>malloc(<size_t>(hi - lo + 1) * sizeof(int32_t))
        if b.bidx == NULL:
            raise MemoryError()
        memset(b.bidx, 0xFF, <size_t>(hi - lo + 1) * sizeof(int32_t))
        for i in range(b.n):
            b.bidx[b.pos[i] - lo] = <int32_t>i
    return b.bidx[slot - lo]


cdef int64_t ml_none_index(LoroDoc d, uint32_t c, MLBefore b, MovableState s, int64_t e,
                           int64_t *added, int64_t n_added, int64_t *removed,
                           int64_t n_removed) except -2:
    """ml_before_index of an ML_LAZY_NONE snapshot: from the op position then of the
    element's list item then (-1 when that item was not visible then), less the items no
    element stood on before it. That op position is the one now, less the items the import
    made visible before it, plus those it hid (`added`, `removed`: their absolute indices,
    sorted; ml_changes_small)."""
    cdef int idx, j
    cdef uint32_t leaf
    cdef lc_span *sp
    cdef lc_id atom
    cdef int64_t slot, at, k_added, k_removed
    cdef bint shown_now, added_now, removed_now
    old = b.olds.get(e)
    if old is None:
        slot = s.elems[e].pos_slot
        atom = make_id(s.elems[e].pos_peer, s.elems[e].pos_counter)
    else:
        slot = <int64_t>old[1]
        atom = make_id(<uint32_t>old[2], <int32_t>old[3])
    if slot < 0:
        return -1
    leaf = locate(d.seq, atom, &idx)
    if d.seq.nodes[leaf].tree != d.ctree[c]:
        return -1
    sp = &d.seq.nodes[leaf].u.spans[idx]
    at = atom.counter - sp.id.counter
    for j in range(idx):
        at += d.seq.nodes[leaf].u.spans[j].len
    at += d.seq.left_of(leaf, False)
    k_added = ml_lower_i64(added, n_added, at)
    k_removed = ml_lower_i64(removed, n_removed, at)
    shown_now = span_visible(sp)
    added_now = k_added < n_added and added[k_added] == at
    removed_now = k_removed < n_removed and removed[k_removed] == at
    if not ((shown_now and not added_now) or removed_now):
        return -1
    at = visible_before(d.seq, leaf, idx, atom.counter) - k_added + k_removed
    return at - ml_lower_i64(b.unp_ops, b.n_unp, at)


cdef int64_t ml_before_lower(MLBefore b, int64_t p) noexcept:
    """The items of `b` at op positions (then) before `p`."""
    cdef int64_t lo = 0, hi = b.n, mid
    if b.lazy == ML_LAZY_NONE:
        # (every item shown but those at `unp_ops`)
        if p <= 0:
            return 0
        p -= ml_lower_i64(b.unp_ops, b.n_unp, p)
        return p if p < b.n else b.n
    while lo < hi:
        mid = (lo + hi) >> 1
        if b.op[mid] < p:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int ml_removed_atoms(SeqArena seq, uint32_t peer, int32_t start, int32_t end, list out,
                          int64_t limit) except -1:
    """Append the atoms (peer index << 32 | counter) that the deletes and moves [start, end)
    of `peer` removed, one entry per removal, as the tracker records them; stop past
    `limit` entries."""
    cdef lc_peer_index *pi
    cdef int64_t lo = 0, hi, mid
    cdef lc_record r
    cdef int32_t a, b, t, t0, t1
    if peer >= seq.n_peers:
        return 0
    pi = &seq.peers[peer]
    hi = pi.rec_len
    while lo < hi:
        mid = (lo + hi) >> 1
        if pi.recs[mid].counter + pi.recs[mid].len <= start:
            lo = mid + 1
        else:
            hi = mid
    while lo < pi.rec_len and len(out) <= limit:
        r = pi.recs[lo]
        if r.counter >= end:
            break
        if r.kind != LC_REC_INSERT:
            a = r.counter if r.counter > start else start
            b = r.counter + r.len if r.counter + r.len < end else end
            if r.kind == LC_REC_DELETE_REV:
                t0 = r.target.counter + r.len - (b - r.counter)
                t1 = r.target.counter + r.len - (a - r.counter)
            else:
                t0 = r.target.counter + (a - r.counter)
                t1 = r.target.counter + (b - r.counter)
            for t in range(t0, t1):
                out.append((<uint64_t>r.target.peer << 32) | <uint32_t>t)
        lo += 1
    return 0


cdef inline int64_t ml_lower_i64(const int64_t *a, int64_t n, int64_t x) noexcept:
    """The entries of sorted `a` below `x`."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# the most atoms an import inserts and removes for which ml_import_tail is found (past
# it, an import's diff goes without loro's retain of a last run of list items no element
# points at)
cdef int64_t ML_TAIL_ATOMS = 1 << 16


cdef int64_t ml_import_tail(LoroDoc d, uint32_t c, MLBefore b, list fresh, list gone) except -2:
    """ml_changes_small's `tail` for an import it does not diff (the same atoms): the items
    of `b` before the last list item of `c` the import removed that was visible before (in
    document order), -1 when none or not known."""
    cdef SeqArena seq = d.seq
    cdef int64_t n_fresh = len(fresh), n_gone = len(gone), k, m, at, n_added = 0
    cdef int64_t n_removed = 0, last_abs = -1, last_vis = 0
    cdef int64_t *mem
    cdef int64_t *added
    cdef int64_t *removed
    cdef int64_t *gone_a
    cdef int64_t *fresh_a
    cdef uint64_t key
    cdef lc_id atom
    cdef int idx, j
    cdef uint32_t leaf
    cdef lc_span *sp
    if b is None or b.elem_gen != ml_state(d).ix_gen or d.detached or ml_state(d).dirty:
        return -1
    mem = <int64_t*>malloc(<size_t>(2 * n_fresh + 2 * n_gone + 1) * sizeof(int64_t))
    if mem == NULL:
        raise MemoryError()
    fresh_a = mem
    added = mem + n_fresh
    gone_a = mem + 2 * n_fresh
    removed = gone_a + n_gone
    try:
        for k in range(n_fresh):
            key = fresh[k]
            fresh_a[k] = <int64_t>key
            if ml_atom_place(d, c, make_id(<uint32_t>(key >> 32), <int32_t>(key & 0xFFFFFFFF)), &at) >= 0:
                added[n_added] = at
                n_added += 1
        qsort(fresh_a, <size_t>n_fresh, sizeof(int64_t), cmp_i64)
        for k in range(n_gone):
            gone_a[k] = <int64_t>(<uint64_t>gone[k])
        qsort(gone_a, <size_t>n_gone, sizeof(int64_t), cmp_i64)
        k = 0
        while k < n_gone:
            m = k + 1
            while m < n_gone and gone_a[m] == gone_a[k]:
                m += 1
            key = <uint64_t>gone_a[k]
            at = ml_lower_i64(fresh_a, n_fresh, gone_a[k])
            if not (at < n_fresh and fresh_a[at] == gone_a[k]):
                atom = make_id(<uint32_t>(key >> 32), <int32_t>(key & 0xFFFFFFFF))
                leaf = locate(seq, atom, &idx)
                sp = &seq.nodes[leaf].u.spans[idx]
                # visible before iff the import's removals are all it took (as in
                # ml_changes_small)
                if seq.nodes[leaf].tree == d.ctree[c] and sp.future == 0 and sp.deleted == m - k:
                    at = atom.counter - sp.id.counter
                    for j in range(idx):
                        at += seq.nodes[leaf].u.spans[j].len
                    removed[n_removed] = at + seq.left_of(leaf, False)
                    if removed[n_removed] > last_abs:
                        last_abs = removed[n_removed]
                        last_vis = visible_before(seq, leaf, idx, atom.counter)
                    n_removed += 1
            k = m
        if last_abs < 0:
            return -1
        qsort(added, <size_t>n_added, sizeof(int64_t), cmp_i64)
        qsort(removed, <size_t>n_removed, sizeof(int64_t), cmp_i64)
        return ml_before_lower(b, last_vis - ml_lower_i64(added, n_added, last_abs)
                               + ml_lower_i64(removed, n_removed, last_abs))
    finally:
        free(mem)


cdef list ml_changes_small(LoroDoc d, uint32_t c, MLBefore b, list touched, list fresh,
                           list gone, dict low, int64_t *tail):
    """ml_changes for an import of a few ops, without the view after (None when it does not
    apply: then ml_changes). The changed elements can only be those the import's ops name
    (`touched`) and those that stood on a list item it removed (`gone`: the atoms its
    deletes and moves removed, once per removal; `fresh`: the atoms it inserted; atoms as
    peer index << 32 | counter). Each one's index before is `b`'s; its index now counts
    the elements kept (the shown items of `b` that did not change, in the same order now)
    before its list item plus the changed ones shown there: the kept ones are the items of
    `b` before the list item's op position then (its op position now, less the items the
    import made visible before it, plus those it hid, in document order), less the changed
    ones among them. `low` gets ml_lower of the view after at each op position the diff
    reads (ml_low). `tail` gets the items of `b` before the last list item the import
    removed (in document order; pointed at or not), -1 when it removed none: loro's
    first step composes a retain up to there (ml_event_split._replay)."""
    cdef MovableState s = ml_state(d)
    cdef SeqArena seq = d.seq
    cdef int64_t n_fresh = len(fresh), n_gone = len(gone), n_touched = len(touched)
    cdef int64_t cap = n_fresh + n_gone + n_touched + 1
    cdef int64_t k, m, e, bi, at, slot, p, i0, n_after, side
    cdef int64_t n_added = 0, n_removed = 0, n_cands = 0, n_recs = 0, n_new = 0, n_cb = 0
    cdef int64_t last_abs = -1, last_vis = 0, old_pos
    cdef int64_t *mem
    cdef int64_t *fresh_a      # fresh atoms, sorted
    cdef int64_t *gone_a       # removed atoms, sorted (a repeat: another removal)
    cdef int64_t *added        # absolute indices of the list items visible now only
    cdef int64_t *removed      # and of those visible before only
    cdef int64_t *cands        # elements that may have changed
    cdef int64_t *r_e          # per changed element: element, index before (-1: not
    cdef int64_t *r_bi         # shown), op positions before (its old list item's, now)
    cdef int64_t *r_old        # and now, absolute indices of both list items, index now
    cdef int64_t *r_new
    cdef int64_t *r_old_abs
    cdef int64_t *r_new_abs
    cdef int64_t *r_aj
    cdef int64_t *new_ops      # the op positions now of the changed elements shown now
    cdef int64_t *cb           # the indices before of the changed elements shown before
    cdef int64_t *order
    cdef uint64_t key
    cdef lc_id atom
    cdef int idx, j
    cdef uint32_t leaf
    cdef lc_span *sp
    cdef lc_ml_elem *el
    if b is None or b.elem_gen != s.ix_gen or d.detached or s.dirty or cap >= (1 << 20):
        return None
    mem = <int64_t*>malloc(<size_t>cap * 15 * sizeof(int64_t))
    if mem == NULL:
        raise MemoryError()
    fresh_a = mem
    gone_a = mem + cap
    added = mem + 2 * cap
    removed = mem + 3 * cap
    cands = mem + 4 * cap
    r_e = mem + 5 * cap
    r_bi = mem + 6 * cap
    r_old = mem + 7 * cap
    r_new = mem + 8 * cap
    r_old_abs = mem + 9 * cap
    r_new_abs = mem + 10 * cap
    r_aj = mem + 11 * cap
    new_ops = mem + 12 * cap
    cb = mem + 13 * cap
    order = mem + 14 * cap
    try:
        for k in range(n_fresh):
            key = fresh[k]
            fresh_a[k] = <int64_t>key
            if ml_atom_place(d, c, make_id(<uint32_t>(key >> 32), <int32_t>(key & 0xFFFFFFFF)), &at) >= 0:
                added[n_added] = at
                n_added += 1
        qsort(fresh_a, <size_t>n_fresh, sizeof(int64_t), cmp_i64)
        for k in range(n_gone):
            gone_a[k] = <int64_t>(<uint64_t>gone[k])
        qsort(gone_a, <size_t>n_gone, sizeof(int64_t), cmp_i64)
        k = 0
        while k < n_gone:
            m = k + 1
            while m < n_gone and gone_a[m] == gone_a[k]:
                m += 1
            key = <uint64_t>gone_a[k]
            at = ml_lower_i64(fresh_a, n_fresh, gone_a[k])
            if at < n_fresh and fresh_a[at] == gone_a[k]:
                k = m
                continue        # (made and removed by the import: never shown)
            atom = make_id(<uint32_t>(key >> 32), <int32_t>(key & 0xFFFFFFFF))
            leaf = locate(seq, atom, &idx)
            sp = &seq.nodes[leaf].u.spans[idx]
            # visible before iff the import's removals are all it took (as
            # _events.touched_pieces)
            if seq.nodes[leaf].tree == d.ctree[c] and sp.future == 0 and sp.deleted == m - k:
                at = atom.counter - sp.id.counter
                for j in range(idx):
                    at += seq.nodes[leaf].u.spans[j].len
                removed[n_removed] = at + seq.left_of(leaf, False)
                if removed[n_removed] > last_abs:
                    last_abs = removed[n_removed]
                    last_vis = visible_before(seq, leaf, idx, atom.counter)
                n_removed += 1
                slot = sp.content + (atom.counter - sp.id.counter)
                e = s.slot_elem[slot] if slot < s.cap_slot else -1
                if e >= 0:
                    cands[n_cands] = e
                    n_cands += 1
            k = m
        for k in range(n_touched):
            e = ml_elem_lookup(s, touched[k])
            if e >= 0:
                cands[n_cands] = e
                n_cands += 1
        qsort(added, <size_t>n_added, sizeof(int64_t), cmp_i64)
        qsort(removed, <size_t>n_removed, sizeof(int64_t), cmp_i64)
        qsort(cands, <size_t>n_cands, sizeof(int64_t), cmp_i64)
        tail[0] = -1
        if last_abs >= 0:
            # its op position then: the items visible now before it, less the ones the
            # import made visible, plus the ones it hid
            tail[0] = ml_before_lower(b, last_vis - ml_lower_i64(added, n_added, last_abs)
                                      + ml_lower_i64(removed, n_removed, last_abs))
        for k in range(n_cands):
            e = cands[k]
            if k > 0 and cands[k - 1] == e:
                continue
            el = &s.elems[e]
            if el.container != c:
                continue
            if b.lazy == ML_LAZY_NONE:
                bi = ml_none_index(d, c, b, s, e, added, n_added, removed, n_removed)
            else:
                bi = ml_before_index(b, s, e)
            if bi >= b.n or (bi >= 0 and (b.lazy == 0 or b.lazy == ML_LAZY_ELEMS)
                             and b.elem[bi] != e):
                return None
            r_new[n_recs] = -1
            if el.pos_slot >= 0:
                r_new[n_recs] = ml_atom_place(d, c, make_id(el.pos_peer, el.pos_counter),
                                              &r_new_abs[n_recs])
            if bi < 0:
                if r_new[n_recs] < 0:
                    continue
                r_old[n_recs] = -1
            else:
                old_pos = ml_b_pos(b, s, bi, e)
                if (r_new[n_recs] >= 0 and el.val_slot == ml_b_val(b, s, bi, e)
                        and el.pos_slot == old_pos):
                    continue
                if el.pos_slot == old_pos:
                    r_old[n_recs] = r_new[n_recs]
                    r_old_abs[n_recs] = r_new_abs[n_recs]
                else:
                    r_old[n_recs] = ml_atom_place(d, c, ml_b_atom(b, s, bi, e), &r_old_abs[n_recs])
                cb[n_cb] = bi
                n_cb += 1
            if r_new[n_recs] >= 0:
                new_ops[n_new] = r_new[n_recs]
                n_new += 1
            r_e[n_recs] = e
            r_bi[n_recs] = bi
            n_recs += 1
        qsort(new_ops, <size_t>n_new, sizeof(int64_t), cmp_i64)
        qsort(cb, <size_t>n_cb, sizeof(int64_t), cmp_i64)
        for k in range(n_recs):
            r_aj[k] = -1
            for side in range(2):
                p = r_old[k] if side == 0 else r_new[k]
                if p < 0 or (side == 0 and p == r_new[k]):
                    continue
                at = r_old_abs[k] if side == 0 else r_new_abs[k]
                i0 = ml_before_lower(b, p - ml_lower_i64(added, n_added, at)
                                     + ml_lower_i64(removed, n_removed, at))
                n_after = i0 - ml_lower_i64(cb, n_cb, i0) + ml_lower_i64(new_ops, n_new, p)
                low[p] = n_after
                m = ml_lower_i64(new_ops, n_new, p)
                low[p + 1] = n_after + (1 if m < n_new and new_ops[m] == p else 0)
                if side == 1:
                    r_aj[k] = n_after
            # ml_changes' order: the items shown before by their index then, then the new
            # ones by their index now
            order[k] = ((r_bi[k] if r_bi[k] >= 0 else b.n + r_aj[k]) << 20) | k
        qsort(order, <size_t>n_recs, sizeof(int64_t), cmp_i64)
        recs = []
        for m in range(n_recs):
            k = order[m] & ((1 << 20) - 1)
            el = &s.elems[r_e[k]]
            bi = r_bi[k]
            if bi < 0:
                recs.append([(<uint64_t>el.peer << 32) | el.lamport, -1, -1, -1, -1,
                             r_aj[k], el.val_slot, el.pos_slot, r_new[k]])
            elif r_new[k] >= 0:
                recs.append([ml_b_key(b, s, bi, r_e[k]), bi, ml_b_val(b, s, bi, r_e[k]),
                             ml_b_pos(b, s, bi, r_e[k]), r_old[k], r_aj[k], el.val_slot,
                             el.pos_slot, r_new[k]])
            else:
                # (as ml_changes: the value of an element that stands on no shown item now)
                recs.append([ml_b_key(b, s, bi, r_e[k]), bi, ml_b_val(b, s, bi, r_e[k]),
                             ml_b_pos(b, s, bi, r_e[k]), r_old[k], -1, el.val_slot, -1, -1])
        return recs
    finally:
        free(mem)


cdef object _ml_import_ops = None      # loro_c.ml_event_split.import_ops, found on first use


cdef list ml_import_split(LoroDoc d, uint32_t c, list idxs):
    """An import's or a checkout's diff of container `c` split into items as loro splits it
    (loro_c.ml_event_split); `idxs`: the import's journal notes of `c`, in apply order
    (None: a checkout)."""
    cdef MovableState s = ml_state(d)
    cdef OpLog log = d.log
    cdef lc_ev_note *note
    cdef lc_change *ch
    cdef lc_op *op
    cdef int64_t ci, k
    cdef int32_t i
    cdef uint32_t lam
    cdef ml_view v
    cdef dict low = None
    cdef int64_t tail = -1, first_peer = -1
    cdef int64_t tail2 = -1
    cdef bint several = False       # the notes hold ops of several peers
    global _ml_import_ops
    if _ml_import_ops is None:
        from loro_c.ml_event_split import import_ops as f
        _ml_import_ops = f
    import_ops = _ml_import_ops
    values = log.values
    touched = []
    named = []      # the same for ml_event_split.element_order (an insert's atoms marked)
    fresh = []      # list items the import inserted (peer index << 32 | counter)
    gone = []       # and removed (ml_removed_atoms)
    for k in (idxs if idxs is not None else ()):
        note = &d.evlog.notes[<int64_t>k]
        ci = log.find_change(note.peer, note.counter)
        if ci < 0:
            continue
        ch = &log.changes[ci]
        op = &log.ops[log.find_op(ci, note.counter)]
        lam = ch.lamport + <uint32_t>(note.counter - ch.counter)
        if first_peer < 0:
            first_peer = note.peer
        elif note.peer != first_peer:
            several = True
        if op.kind == LC_OP_INSERT:
            for i in range(note.len):
                touched.append((<uint64_t>note.peer << 32) | (lam + <uint32_t>i))
                named.append(ML_ALWAYS | (<uint64_t>note.peer << 32) | (lam + <uint32_t>i))
        elif op.kind == LC_OP_MOVE or op.kind == LC_OP_SET:
            touched.append((<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
            named.append(touched[len(touched) - 1])
        if len(fresh) + len(gone) <= ML_TAIL_ATOMS:
            if op.kind == LC_OP_INSERT or op.kind == LC_OP_MOVE:
                for i in range(note.len):
                    fresh.append((<uint64_t>note.peer << 32) | <uint32_t>(note.counter + i))
            if op.kind == LC_OP_DELETE or op.kind == LC_OP_MOVE:
                ml_removed_atoms(d.seq, note.peer, note.counter, note.counter + note.len, gone,
                                 ML_TAIL_ATOMS)
    peer_ids = [log.peer_ids[k] for k in range(log.n_peers)]
    v.n_op = v.n_user = 0
    v.op_gap = v.elem = NULL
    snap = s.before.get(c)
    recs = None
    if idxs is not None and len(fresh) + len(gone) <= ML_SMALL_ATOMS:
        # an import of a few ops: its changed elements one by one (a checkout's come from
        # the whole list)
        low = {}
        recs = ml_changes_small(d, c, snap, touched, fresh, gone, low, &tail)
    if recs is None:
        if snap is not None and (<MLBefore>snap).lazy >= ML_LAZY_NONE:
            # (ml_note_before_import kept nothing only for imports this small)
            raise AssertionError(f"movable list {c}: an import's diff needs the items it did not keep")
        low = None
        tail = -1
        if idxs is not None and len(fresh) + len(gone) <= ML_TAIL_ATOMS:
            tail = ml_import_tail(d, c, snap, fresh, gone)
        recs = ml_changes(d, c, snap, &v)
        if idxs is None:
            tail = ml_checkout_tail(d, c, snap, recs)
    elif ml_cross_check:
        if (<MLBefore>snap).lazy == ML_LAZY_NONE:
            # the same diff from the walked twin, then that one against the whole list
            low2 = {}
            recs2 = ml_changes_small(d, c, (<MLBefore>snap).shadow, touched, fresh, gone, low2, &tail2)
            if recs2 != recs or low2 != low or tail2 != tail:
                raise AssertionError(f"movable list import diff, unwalked: {recs} != {recs2}, "
                                     f"{low} != {low2} or {tail} != {tail2}")
            ml_check_small(d, c, (<MLBefore>snap).shadow, recs, low)
        else:
            ml_check_small(d, c, snap, recs, low)
        if ml_import_tail(d, c, snap, fresh, gone) != tail:
            raise AssertionError(f"movable list import tail: {ml_import_tail(d, c, snap, fresh, gone)} != {tail}")
    seq, extra, kept = ml_calc_elements(d, c, idxs, recs, named, peer_ids, several)
    cdef int64_t nn = 0, q, w
    cdef int64_t *nops = <int64_t*>malloc((len(recs) + 1) * sizeof(int64_t))
    if nops == NULL:
        ml_view_free(&v)
        raise MemoryError()
    try:
        # the diff found by comparing items checks the replay's effect (and is_move
        # flags), where that costs little next to the rest
        diffed = ml_import_ops_of(d, recs, &v, low) if len(recs) <= ML_SPLIT_CHECKED else None
        # shown items before an op position that are not a changed element's: they stay
        for r in recs:
            if r[CH_AJ] >= 0:
                nops[nn] = r[CH_NEW_OP]
                nn += 1
        qsort(nops, nn, sizeof(int64_t), cmp_i64)
        base_at = {}
        for r in recs:
            for w in range(2):
                q = r[CH_OLD_OP] if w == 0 else r[CH_NEW_OP]
                if q < 0:
                    continue
                base_at[q] = ml_low(&v, low, q) - ml_lower_i64(nops, nn, q)
    finally:
        free(nops)
        ml_view_free(&v)
    return import_ops(recs, base_at, seq, extra, peer_ids, values, _same_loro_value, diffed,
                      kept, tail)


cdef tuple ml_calc_elements(LoroDoc d, uint32_t c, list idxs, list recs, list named,
                            list peer_ids, bint several=False):
    """The elements loro's diff calculator notes for container `c` in this import (`idxs`
    its journal notes, `named` the elements its ops name) or checkout (None), as (seq,
    extra, kept) for ml_event_split.element_order. loro walks the ops from the versions'
    common ancestor (as its search finds it, often the empty version for a concurrent
    import) to both (loro_c._dag_order). When that is the version before (an import above
    it, or one whose new ops meet the old ones only on other containers or registers; its
    mode is not Import then), the calculator's map is the event's: the elements its ops
    name, in its walk's order (the order the import applied them when they are one peer's
    ops; `several`: they are not). Otherwise (a checkout, a concurrent import) it rebuilds
    the map adding the elements of the list items that show up (here: the changed elements
    now on another or a new list item, in list order). A checkout's calculator is the
    document's, kept across checkouts: its map (`kept`) keeps the elements of every
    checkout's walk
    (MovableState.calc_walks: every move of the state, LoroDoc.diff's included, as loro's
    diff checks out through that calculator; replayed here when an event needs them)."""
    cdef MovableState s = ml_state(d)
    lca = d.evs.tree_lca if d.evs is not None else None
    if lca is None or d.shallow_sv is not None:
        if idxs is None:
            # (not seen: a checkout always has its versions)
            return [r[CH_KEY] for r in recs], [], None
        if several and d.evs is not None and d.evs.ml_walk is not None and d.shallow_sv is None:
            from loro_c._dag_order import walk_containers, walked_from_before
            ranges = []
            walk_containers(d.log, list(d.evs.ml_walk[0]), list(d.evs.ml_walk[1]), ranges)
            if walked_from_before():
                return ml_walk_elements(d, c, ranges), None, None
        return named, None, None
    from loro_c._dag_order import walk_containers, walked_from_before
    kept = None
    if idxs is None:
        kept = ml_kept_caught_up(d, s, c, lca)
        seq = ()
    else:
        ranges = []
        walk_containers(d.log, list(lca[0]), list(lca[1]), ranges, before_ordered=d.evs.lca_ordered,
                        after_ordered=d.evs.lca_after_ordered)
        seq = ml_walk_elements(d, c, ranges)
        if walked_from_before():
            return seq, None, None
    shown = sorted([(r[CH_NEW_OP], r[CH_KEY]) for r in recs
                    if r[CH_AJ] >= 0 and (r[CH_BI] < 0 or r[CH_BPOS] != r[CH_APOS])])
    return seq, [x[1] for x in shown], kept


cdef ElementMap ml_kept_caught_up(LoroDoc d, MovableState s, uint32_t c, lca):
    """The map loro's checkout calculator keeps for MovableList `c`, fed the walks of the
    state's moves since it last caught up (this move's, `lca`, last)."""
    if s.calc_keys is None:
        s.calc_keys = {}
    cdef ElementMap kept = s.calc_keys.get(c)
    if kept is None:
        kept = s.calc_keys[c] = ElementMap()
    walks = s.calc_walks if s.calc_walks is not None else [[lca[0], lca[1], None, d.evs.lca_ordered,
                                                            d.evs.lca_after_ordered]]
    for k in range(kept.fed, len(walks)):
        ml_feed_walk(d, s.calc_keys, ml_walk_ranges(d, walks[k]), k, c)
    kept.fed = len(walks)
    return kept


cdef bint ml_kept_alive(LoroDoc d, uint32_t c, list ends) except -1:
    """Whether the map loro's checkout calculator keeps for MovableList `c` (every element
    the ops of every checkout's walk named since the calculator was made, see
    ml_calc_elements) holds an element version `ends` has. A checkout whose walk meets an
    op of `c` sets a placeholder for each of them in its diff and keeps those alive at
    the target: one of them makes the diff non-empty, so the list is in the calculator's
    map of diffs (and the event's order of the others follows from that map) even when
    the event shows nothing of it (kinds late session 7413: an element noted by the
    return to the latest version after an earlier checkout)."""
    cdef MovableState s = d.mls
    cdef ElementMap kept
    cdef lc_ml_elem *el
    cdef int64_t i, e
    if s is None or d.shallow_sv is not None or d.evs is None or d.evs.tree_lca is None:
        return False
    kept = ml_kept_caught_up(d, s, c, d.evs.tree_lca)
    for i in range(kept.size):
        if kept.table[i] < 0:
            continue
        e = ml_elem_lookup(s, kept.table[i])
        if e >= 0:
            el = &s.elems[e]
            if el.peer < len(ends) and el.counter < ends[el.peer]:
                return True
    return False


# the state moves kept unreplayed at most (MovableState.calc_walks): past them,
# ml_fold_walks brings every list's map up to date
cdef Py_ssize_t ML_WALKS_KEPT = 8


cdef list ml_walk_ranges(LoroDoc d, list walk):
    """The id ranges loro's checkout calculator visits for one state move (an entry of
    MovableState.calc_walks: [from, to, ranges or None, whether `from` is in the order of
    loro's map of the log's frontiers, whether `to` is]), found once."""
    if walk[2] is None:
        from loro_c._dag_order import walk_containers
        ranges = []
        walk_containers(d.log, list(walk[0]), list(walk[1]), ranges, before_ordered=walk[3],
                        after_ordered=walk[4])
        walk[2] = ranges
    return walk[2]


cdef int ml_fold_walks(LoroDoc d) except -1:
    """Note the elements of every pending state move (MovableState.calc_walks) in the kept
    map of each MovableList they name, as loro's calculator did at each move, and forget
    the moves: their number stays bounded, and so does the memory of a document checked
    out many times with nobody subscribed. A list with no map yet gets one when a move
    names it (one that none names has the empty map a later event creates). Called past
    ML_WALKS_KEPT moves and before the log gains changes: a walk depends on loro's DAG
    nodes, which a new change may split (a dependency into a node), so the moves are
    replayed on the DAG of their time."""
    cdef MovableState s = d.mls
    cdef Py_ssize_t k
    cdef ElementMap kept
    if s is None or not s.calc_walks:
        return 0
    walks = s.calc_walks
    s.calc_walks = None
    if d.shallow_sv is not None:
        return 0        # (no map is read then: ml_calc_elements)
    if s.calc_keys is None:
        s.calc_keys = {}
    for k in range(len(walks)):
        ml_feed_walk(d, s.calc_keys, ml_walk_ranges(d, walks[k]), k, -1)
    for kept in s.calc_keys.values():
        kept.fed = 0
    return 0


cdef int ml_feed_walk(LoroDoc d, dict maps, list ranges, Py_ssize_t k, int64_t only) except -1:
    """Note the elements the ops in id `ranges` (a walk: (peer index, start, end), in walk
    order) name in the map (`maps`: container -> ElementMap, one made when missing) of
    their MovableList (of container `only`, when not -1), in walk order: an insert's atoms
    (marked ML_ALWAYS), a move's or a set's element. That walk is state move `k`: a map
    already fed past it is left alone."""
    cdef OpLog log = d.log
    cdef lc_change *ch
    cdef lc_op *op
    cdef uint32_t p
    cdef int32_t s0, s1, olen, a0, a1, i
    cdef int64_t pos, j, last_c = -1
    cdef ElementMap m = None
    cdef bint skip = True
    for p, s0, s1 in ranges:
        pos = log.find_change_pos(p, s0)
        while pos >= 0 and pos < log.by_peer[p].len:
            ch = &log.changes[log.by_peer[p].idx[pos]]
            if ch.counter >= s1:
                break
            for j in range(ch.ops_off, ch.ops_off + ch.ops_len):
                op = &log.ops[j]
                if op.kind != LC_OP_INSERT and op.kind != LC_OP_MOVE and op.kind != LC_OP_SET:
                    continue
                if <int64_t>op.container != last_c:
                    if only >= 0 and op.container != only:
                        continue
                    if d.ckind[op.container] != KIND_MOVABLE_LIST:
                        continue
                    olen = op_atoms(op)
                    if op.counter + olen <= s0 or op.counter >= s1:
                        continue
                    last_c = op.container
                    m = maps.get(op.container)
                    if m is None:
                        m = maps[op.container] = ElementMap()
                    skip = m.fed > k
                if skip:
                    continue
                olen = op_atoms(op)
                if op.counter + olen <= s0 or op.counter >= s1:
                    continue
                if op.kind == LC_OP_INSERT:
                    a0 = max(op.counter, s0)
                    a1 = min(op.counter + olen, s1)
                    for i in range(a0, a1):
                        m.feed_one(ML_ALWAYS | (<uint64_t>p << 32)
                                   | (ch.lamport + <uint32_t>(i - ch.counter)), log.peer_ids[p])
                else:
                    m.feed_one((<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter,
                               log.peer_ids[op.start_id.peer])
            pos += 1
    return 0


# an element named by an insert (ml_event_split.ALWAYS)
cdef uint64_t ML_ALWAYS = 0x8000000000000000ULL


cdef list ml_walk_elements(LoroDoc d, uint32_t c, list ranges):
    """The elements the ops of container `c` in id `ranges` ((peer index, start, end), in
    walk order) name, in that order: an insert's atoms (marked ML_ALWAYS), a move's or a
    set's element."""
    cdef OpLog log = d.log
    cdef lc_range_ops it
    cdef lc_change *ch
    cdef lc_op *op
    cdef uint32_t p
    cdef int32_t s0, s1, a0, a1, i
    out = []
    for p, s0, s1 in ranges:
        range_ops_start(log, &it, p, s0, s1)
        op = range_ops_next(log, &it)
        while op != NULL:
            if op.container != c:
                pass
            elif op.kind == LC_OP_INSERT:
                ch = it.change
                a0 = max(op.counter, s0)
                a1 = min(op.counter + op_atoms(op), s1)
                for i in range(a0, a1):
                    out.append(ML_ALWAYS | (<uint64_t>p << 32)
                               | (ch.lamport + <uint32_t>(i - ch.counter)))
            elif op.kind == LC_OP_MOVE or op.kind == LC_OP_SET:
                out.append((<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
            op = range_ops_next(log, &it)
    return out


# the most changed elements of an import or checkout whose replayed diff is checked
# against the one found by comparing items (ml_import_split)
cdef Py_ssize_t ML_SPLIT_CHECKED = 64


cdef int cmp_i64(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return -1 if x < y else (1 if x > y else 0)


cdef int ml_check_small(LoroDoc d, uint32_t c, MLBefore snap, list recs, dict low) except -1:
    """AssertionError unless ml_changes_small's result is the full diff's (tests)."""
    cdef ml_view v
    global ml_cross_checked
    ml_cross_checked += 1
    full = ml_changes(d, c, snap, &v)
    try:
        if full != recs:
            raise AssertionError(f"movable list import diff: {recs} != {full}")
        for p in low:
            if low[p] != ml_lower(&v, p):
                raise AssertionError(f"movable list import diff: position {p}: "
                                     f"{low[p]} != {ml_lower(&v, p)}")
    finally:
        ml_view_free(&v)
    return 0


def _same_loro_value(a, b):
    return same_loro_value(a, b)


cdef bint same_loro_value(object a, object b):
    """Equal as loro's values are: of one kind (True is not 1, 1 is not 1.0), lists and maps
    item by item."""
    if type(a) is not type(b):
        return False
    # (loops, not generators: a generator's closure would be made on every call, scalars
    # included)
    if isinstance(a, list):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not same_loro_value(x, y):
                return False
        return True
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return False
        for k in a:
            if not same_loro_value(a[k], b[k]):
                return False
        return True
    return a == b


cdef int ml_events_done(LoroDoc d) noexcept:
    if d.mls is not None:
        d.mls.before.clear()
        d.mls.n_lazy = 0
    return 0


def ml_cursor_atom_at(LoroDoc d, uint32_t c, int64_t pos):
    """(length, (peer, counter) of the list item at user position `pos` or None), for
    cursors (loro_c.cursor.movable_cursor_at)."""
    cdef ml_view v
    cdef int slot
    cdef int64_t off
    cdef uint32_t leaf
    cdef lc_id a
    # (the list items' ids are the state's: a snapshot load answers without its history
    # or the maps it left encoded)
    doc_acquire_handles(d)
    try:
        ml_view_build(d, c, &v)
        try:
            if pos < 0 or pos >= v.n_user:
                return v.n_user, None
            leaf = d.seq.find_visible(d.ctree[c], ml_op_at(&v, pos), &slot, &off)
            a = d.seq.nodes[leaf].u.spans[slot].id
            return v.n_user, (d.log.peer_objs[a.peer], a.counter + <int32_t>off)
        finally:
            ml_view_free(&v)
    finally:
        doc_release(d)


cdef int64_t ml_index_of(LoroDoc d, uint32_t c, object value) except -2:
    """The position of the item holding `value` (a child ContainerID), or -1."""
    cdef list values = d.log.values
    for i, slot in enumerate(ml_slots(d, c)):
        if values[slot] == value:
            return i
    return -1


cdef int64_t ml_value_slot_at(LoroDoc d, uint32_t c, int64_t pos) except -2:
    """The value slot of the item at `pos`, or -1 when out of range."""
    cdef ml_view v
    ml_view_build(d, c, &v)
    if pos < 0 or pos >= v.n_user:
        return -1
    return ml_state(d).elems[v.elem[pos]].val_slot


def ml_cursor_find(LoroDoc d, cid, id):
    """For a cursor on MovableList `cid` at list item `id` (or None): (container index,
    length, user position, alive), as cursor_find gives for sequences; None when the item is unknown or
    its element stands elsewhere now (moved: loro does not find it either)."""
    cdef ml_view v
    cdef uint32_t p, leaf
    cdef int slot
    cdef int64_t before, k, e, item_slot
    cdef MovableState s
    cdef uint32_t c
    doc_acquire(d)
    try:
        found = d.cid_index.get(cid)
        if found is None or d.ckind[<uint32_t>found] != KIND_MOVABLE_LIST:
            return None
        c = <uint32_t>found
        ml_view_build(d, c, &v)
        if id is None:
            return c, v.n_user, 0, False
        pi = d.log.peer_map.get(id.peer)
        if pi is None or id.counter < 0 or id.counter >= d.log.vv[<uint32_t>pi]:
            return None
        p = <uint32_t>pi
        try:
            leaf = locate(d.seq, make_id(p, id.counter), &slot)
        except AssertionError:
            return None
        if d.seq.nodes[leaf].tree != d.ctree[c]:
            return None
        s = ml_state(d)
        item_slot = d.seq.nodes[leaf].u.spans[slot].content + (id.counter - d.seq.nodes[leaf].u.spans[slot].id.counter)
        e = s.slot_elem[item_slot] if item_slot < s.cap_slot else -1
        before = visible_before(d.seq, leaf, slot, id.counter)
        k = 0
        while k < v.n_user and ml_op_at(&v, k) < before:
            k += 1
        if e >= 0 and s.elems[e].pos_slot == item_slot:
            return c, v.n_user, k, span_visible(&d.seq.nodes[leaf].u.spans[slot])
        if e >= 0 and s.elems[e].pos_slot >= 0:
            return None         # its element was moved away
        return c, v.n_user, k, False
    finally:
        doc_release(d)
