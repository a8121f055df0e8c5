# MovableList state, two layers (Loro's model; docs/ARCHITECTURE "Container state"):
#
# * list items: a sequence tree (state/sequence.pxi) whose atoms are list items. An insert
#   makes one item per value; a move deletes the element's item at `from` and inserts a new
#   one at `to` (seq/move.pxi, one tracker record). An atom's content is a value slot: the
#   inserted value for an insert's items, a placeholder slot for a move's item. Op positions
#   count every item visible at the op's version.
# * elements (MovableState, `d.mls`): one per inserted value, named by the IdLp (peer,
#   Lamport) of its insert atom. Its position is the item of the greatest (Lamport, peer) op
#   among its insert and its moves; its value the greatest among its insert and its sets.
#   User positions count the visible items that are their element's position item.
#
# Remote ops apply the item part at the tracker version and the element part as a
# last-writer-wins update (order independent). While detached, elements are created but
# their winners wait; a checkout (or an undone import) recomputes every winner from the log
# at the tracker's version, which is then the state's.


# the most list items a container may keep unshown and still be read without a walk (its
# candidates in MovableState.unp: each costs a lookup in the sequence tree per import)
cdef int64_t ML_UNP_MAX = 32


cdef class MovableState:
    def __cinit__(self):
        self.ix_gen = 1         # (an MLBefore never given one holds 0)
        self.before = {}
        self.unp = {}
        self.reset_epoch = -1
        self.vc_container = -1

    def __dealloc__(self):
        free(self.elems)
        free(self.ix_keys)
        free(self.ix_slots)
        free(self.slot_elem)
        free(self.pointed)
        free(self.vc_op)
        free(self.vc_elem)


cdef inline MovableState ml_state(LoroDoc d):
    if d.mls is None:
        d.mls = MovableState()
    return d.mls


cdef inline bint lp_after(LoroDoc d, uint32_t la, uint32_t pa, uint32_t lb, uint32_t pb) noexcept nogil:
    """Whether (Lamport la, peer pa) beats (lb, pb): Lamport first, then the peer id."""
    return la > lb or (la == lb and d.log.peer_ids[pa] > d.log.peer_ids[pb])


cdef int ml_reserve_slots(MovableState s, int64_t need) except -1:
    cdef int64_t old = s.cap_slot
    cdef uint8_t *p
    if need > s.cap_slot:
        s.slot_elem = <int64_t*>grow(s.slot_elem, &s.cap_slot, need, sizeof(int64_t))
        memset(&s.slot_elem[old], 0xFF, <size_t>(s.cap_slot - old) * sizeof(int64_t))
        p = <uint8_t*>realloc(s.pointed, <size_t>s.cap_slot)
        if p == NULL:
            raise MemoryError()
        s.pointed = p
        memset(&s.pointed[old], 0, <size_t>(s.cap_slot - old))
    return 0


cdef int ml_check_pointed(LoroDoc d) except -1:
    """(invariants) `pointed` marks exactly the elements' winning slots, each owned by its
    element."""
    cdef MovableState s = d.mls
    cdef int64_t e, slot, marked = 0, winners = 0
    if s is None:
        return 0
    for e in range(s.n_elems):
        slot = s.elems[e].pos_slot
        if slot >= 0:
            winners += 1
            if slot >= s.cap_slot or not s.pointed[slot] or s.slot_elem[slot] != e:
                raise AssertionError(f"movable list element {e}: its slot {slot} is not marked its")
    for slot in range(s.cap_slot):
        marked += s.pointed[slot]
    if marked != winners:
        raise AssertionError(f"movable lists: {marked} slots marked pointed, {winners} winners")
    if not d.detached and not s.dirty:
        for c in range(d.n_containers):
            if not d.cshown[c] or d.ckind[<uint32_t>c] != KIND_MOVABLE_LIST:
                continue
            listed = set(s.unp.get(c, ()))
            if len(listed) > ML_UNP_MAX:
                raise AssertionError(f"movable list {c}: {len(listed)} candidates kept")
            # every item shown by nobody is a candidate (found here by the elements)
            for at, peer, counter in ml_unshown_items(d, <uint32_t>c, False):
                if ((<uint64_t>peer << 32) | <uint32_t>counter) not in listed:
                    raise AssertionError(
                        f"movable list {c}: known to show its items, but the one at "
                        f"{at} is shown by nobody and not listed")
    return 0


cdef inline void ml_shown_unknown(LoroDoc d) noexcept:
    """No movable list is known to show every visible item any more (d.cshown)."""
    if d.n_containers:
        memset(d.cshown, 0, <size_t>d.n_containers)
    if d.mls is not None:
        d.mls.unp = {}


cdef inline void ml_invalidate(LoroDoc d, int64_t c) noexcept:
    """Container `c` (-1: every one) changed other than by a local move or insert: its
    cached user view is stale."""
    if d.mls is not None and (c < 0 or d.mls.vc_container == c):
        d.mls.vc_container = -1


cdef int ml_clear(LoroDoc d) except -1:
    # (the elements go: a lazy snapshot of the batch reads them first)
    cdef MovableState s = ml_state(d)
    ml_befores_full(s)
    ml_shown_unknown(d)
    s.vc_container = -1
    s.n_elems = 0
    s.ix_gen += 1           # (what an MLBefore kept tells it was emptied)
    s.n_indexed = 0
    if s.ix_size:
        memset(s.ix_slots, 0xFF, <size_t>s.ix_size * sizeof(int32_t))
    if s.cap_slot:
        memset(s.slot_elem, 0xFF, <size_t>s.cap_slot * sizeof(int64_t))
        memset(s.pointed, 0, <size_t>s.cap_slot)
    s.dirty = False
    return 0


cdef int64_t ml_new_elem(LoroDoc d, uint32_t c, uint32_t peer, int32_t counter,
                         uint32_t lamport, int64_t slot) except -1:
    """Register the element of an insert atom (its item is value slot `slot`)."""
    cdef MovableState s = ml_state(d)
    cdef lc_ml_elem *e
    if s.n_elems == s.cap_elems:
        s.elems = <lc_ml_elem*>grow(s.elems, &s.cap_elems, s.n_elems + 1, sizeof(lc_ml_elem))
    e = &s.elems[s.n_elems]
    e.container = c
    e.peer = peer
    e.lamport = lamport
    e.counter = counter
    e.pos_slot = -1
    e.val_slot = -1
    if s.n_elems >= INT32_MAX:
        raise MemoryError("a document holds at most 2**31 - 1 MovableList elements")
    ml_reserve_slots(s, slot + 1)
    s.slot_elem[slot] = s.n_elems
    s.n_elems += 1
    return s.n_elems - 1


cdef inline uint64_t ml_elem_key(lc_ml_elem *el) noexcept nogil:
    return (<uint64_t>el.peer << 32) | el.lamport


cdef inline int64_t ml_ix_home(uint64_t key, int shift) noexcept nogil:
    # (Fibonacci hashing: the high bits of the product, so runs of Lamports spread)
    return <int64_t>((key * <uint64_t>0x9E3779B97F4A7C15ULL) >> shift)


cdef inline int64_t ml_ix_probe(MovableState s, uint64_t key) noexcept nogil:
    """The bucket of `key`, or the free one where it would go."""
    cdef int64_t mask = s.ix_size - 1, i = ml_ix_home(key, s.ix_shift)
    while s.ix_slots[i] >= 0 and s.ix_keys[i] != key:
        i = (i + 1) & mask
    return i


cdef int ml_ix_grow(MovableState s, int64_t size) except -1:
    """Rehash into `size` buckets (its keys are distinct: each goes to a free bucket)."""
    cdef uint64_t *keys = <uint64_t*>malloc(<size_t>size * sizeof(uint64_t))
    cdef int32_t *slots = <int32_t*>malloc(<size_t>size * sizeof(int32_t))
    cdef uint64_t *old_keys = s.ix_keys
    cdef int32_t *old_slots = s.ix_slots
    cdef int64_t old_size = s.ix_size, i, j
    cdef int shift = 64
    if keys == NULL or slots == NULL:
        free(keys)
        free(slots)
        raise MemoryError()
    memset(slots, 0xFF, <size_t>size * sizeof(int32_t))
    while (<int64_t>1 << (64 - shift)) < size:
        shift -= 1
    s.ix_keys = keys
    s.ix_slots = slots
    s.ix_size = size
    s.ix_shift = shift
    for i in range(old_size):
        if old_slots[i] >= 0:
            j = ml_ix_probe(s, old_keys[i])
            keys[j] = old_keys[i]
            slots[j] = old_slots[i]
    free(old_keys)
    free(old_slots)
    return 0


cdef int ml_ix_fill(MovableState s) except -1:
    """Index elements n_indexed..n_elems-1, in their order (an element indexed under the
    IdLp of one made later gives way to it: the later one wins, as before the table)."""
    cdef int64_t size = s.ix_size, e, i
    cdef uint64_t key
    if s.n_elems * 2 >= size:
        size = max(size, 16)
        while size <= s.n_elems * 2:
            size <<= 1
        ml_ix_grow(s, size)
    for e in range(s.n_indexed, s.n_elems):
        key = ml_elem_key(&s.elems[e])
        i = ml_ix_probe(s, key)
        s.ix_keys[i] = key
        s.ix_slots[i] = <int32_t>e
    s.n_indexed = s.n_elems
    return 0


cdef int64_t ml_elem_lookup(MovableState s, uint64_t key) except -2:
    """The element of IdLp `key` (peer index << 32 | Lamport) in any container, or -1."""
    if s.n_indexed != s.n_elems:
        ml_ix_fill(s)
    if s.ix_size == 0:
        return -1
    return s.ix_slots[ml_ix_probe(s, key)]


cdef int ml_check_ix(LoroDoc d) except -1:
    """(invariants) The IdLp table holds exactly the indexed elements' keys, each naming
    the last of them made with that key, in a power-of-two table kept under half full."""
    cdef MovableState s = d.mls
    cdef int64_t e, i, used = 0
    cdef uint64_t key
    if s is None:
        return 0
    if not 0 <= s.n_indexed <= s.n_elems:
        raise AssertionError(f"movable lists: {s.n_indexed} of {s.n_elems} elements indexed")
    if s.ix_size == 0:
        if s.n_indexed:
            raise AssertionError("movable lists: elements indexed without a table")
        return 0
    if s.ix_size & (s.ix_size - 1) or s.ix_size <= 2 * s.n_indexed:
        raise AssertionError(f"movable lists: a table of {s.ix_size} for {s.n_indexed} elements")
    last = {}
    for e in range(s.n_indexed):
        last[ml_elem_key(&s.elems[e])] = e
    for i in range(s.ix_size):
        if s.ix_slots[i] >= 0:
            used += 1
            key = s.ix_keys[i]
            if last.get(key) != s.ix_slots[i] or s.ix_slots[i] != s.ix_slots[ml_ix_probe(s, key)]:
                raise AssertionError(f"movable lists: bucket {i} names element {s.ix_slots[i]} "
                                     f"for a key whose last element is {last.get(key)}")
    if used != len(last):
        raise AssertionError(f"movable lists: {used} keys in the table, {len(last)} indexed")
    return 0


cdef int64_t ml_find_elem(LoroDoc d, uint32_t c, uint32_t peer, uint32_t lamport) except -2:
    """The element IdLp (peer, lamport) of container `c`, or -1."""
    cdef MovableState s = ml_state(d)
    cdef int64_t e = ml_elem_lookup(s, (<uint64_t>peer << 32) | lamport)
    if e < 0 or s.elems[e].container != c:
        return -1
    return e


cdef inline void ml_win_pos(LoroDoc d, lc_ml_elem *e, int64_t slot, uint32_t lamport,
                            uint32_t peer, int32_t counter) noexcept:
    """(The slots are reserved: the element's, by ml_new_elem or ml_move_elem.)"""
    if e.pos_slot < 0 or lp_after(d, lamport, peer, e.pos_lamport, e.pos_peer):
        if e.pos_slot >= 0:
            d.mls.pointed[e.pos_slot] = 0
        d.mls.pointed[slot] = 1
        e.pos_slot = slot
        e.pos_lamport = lamport
        e.pos_peer = peer
        e.pos_counter = counter


cdef inline void ml_win_val(LoroDoc d, lc_ml_elem *e, int64_t slot, uint32_t lamport,
                            uint32_t peer) noexcept:
    if e.val_slot < 0 or lp_after(d, lamport, peer, e.val_lamport, e.val_peer):
        e.val_slot = slot
        e.val_lamport = lamport
        e.val_peer = peer


# -- the element part of each op (shared by remote, local and recomputing paths) ------------

cdef int ml_elems_of_insert(LoroDoc d, uint32_t c, uint32_t peer, int32_t counter,
                            uint32_t lamport, int64_t slot, int32_t n, bint win) except -1:
    cdef MovableState s = ml_state(d)
    cdef int64_t e
    cdef int32_t k
    cdef bint indexed = s.n_indexed == s.n_elems
    for k in range(n):
        e = ml_new_elem(d, c, peer, counter + k, lamport + <uint32_t>k, slot + k)
        if win:
            ml_win_pos(d, &s.elems[e], slot + k, lamport + <uint32_t>k, peer, counter + k)
            ml_win_val(d, &s.elems[e], slot + k, lamport + <uint32_t>k, peer)
    if indexed:
        # (a table kept whole stays whole while the elements are in the cache: else the
        # first move or set after an import of thousands of inserts indexes them all then,
        # the table and elements long out of the cache. A snapshot's elements wait.)
        ml_ix_fill(s)
    return 0


cdef int64_t ml_op_elem(LoroDoc d, lc_op *op, uint32_t peer) except -1:
    """The element a move or set names; DecodeError when container `op.container` has no
    such element (nothing is applied)."""
    cdef int64_t e = ml_find_elem(d, op.container, op.start_id.peer, <uint32_t>op.start_id.counter)
    if e < 0:
        d.apply_rejected = True
        raise DecodeError(f"op {op.counter}@{d.log.peer_ids[peer]} names an element "
                          f"L{<uint32_t>op.start_id.counter}@{d.log.peer_ids[op.start_id.peer]} "
                          f"that {d.cids[op.container]} does not have")
    return e


cdef int ml_move_elem(LoroDoc d, int64_t e, int64_t slot, uint32_t lamport, uint32_t peer,
                      int32_t counter, bint win) except -1:
    cdef MovableState s = ml_state(d)
    ml_reserve_slots(s, slot + 1)
    s.slot_elem[slot] = e
    if win:
        if s.n_lazy:
            ml_keep_old(s, e)
        ml_win_pos(d, &s.elems[e], slot, lamport, peer, counter)
    return 0


# -- remote ops (state/dispatch.pxi: apply_op), at the tracker version ----------------------

cdef int ml_apply_insert(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    seq_apply_insert(d, op, peer)
    with gil:
        ml_invalidate(d, op.container)
        if d.detached:
            d.cshown[op.container] = 0      # (the elements wait: nobody stands there)
        ml_elems_of_insert(d, op.container, peer, op.counter, lamport, op.arg, op.len,
                           not d.detached)
    return 0


cdef int ml_apply_move(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    cdef uint32_t t = d.ctree[op.container]
    cdef int64_t vis = d.seq.visible_len(t)
    cdef int64_t from_pos = <int64_t>op.delta
    cdef int64_t e, off, old_slot = -1
    cdef bint saw_winner = True
    cdef uint32_t leaf
    cdef int idx
    cdef lc_id old_atom
    with gil:
        e = ml_op_elem(d, op, peer)
        old_slot = d.mls.elems[e].pos_slot
        old_atom = make_id(d.mls.elems[e].pos_peer, d.mls.elems[e].pos_counter)
        if from_pos < 0 or from_pos >= vis or op.pos < 0 or op.pos > vis - 1:
            d.apply_rejected = True
            raise DecodeError(f"op {op.counter}@{d.log.peer_ids[peer]} moves {from_pos} to {op.pos}, "
                              f"beyond the container length {vis} at its version")
        if d.cshown[op.container] and d.mls.elems[e].pos_slot >= 0:
            # the list item the move takes away (at its version) is its element's winning
            # one when the move saw that: then it replaces it, and every item stays shown
            leaf = d.seq.find_visible(t, from_pos, &idx, &off)
            saw_winner = (d.seq.nodes[leaf].u.spans[idx].id.peer == d.mls.elems[e].pos_peer
                          and d.seq.nodes[leaf].u.spans[idx].id.counter + <int32_t>off
                          == d.mls.elems[e].pos_counter)
    integrate_move(d.seq, t, make_id(peer, op.counter), from_pos, op.pos, <uint32_t>op.arg,
                   d.log.peer_ids)
    with gil:
        ml_invalidate(d, op.container)
        ml_move_elem(d, e, op.arg, lamport, peer, op.counter, not d.detached)
        # (a move concurrent with another of its element leaves one item shown by nobody:
        # the loser's, or the winner's old one; only the element's winner changed, so
        # those two are the only candidates)
        if d.detached:
            d.cshown[op.container] = 0
        elif d.cshown[op.container] and (not saw_winner
                                          or d.mls.elems[e].pos_slot != <int64_t>op.arg):
            ml_unpointed_maybe(d, op.container, make_id(peer, op.counter))
            if old_slot >= 0:
                ml_unpointed_maybe(d, op.container, old_atom)
    return 0


cdef int ml_unpointed_maybe(LoroDoc d, uint32_t c, lc_id atom) except -1:
    """List item `atom` of `c` may be visible with no element on it (MovableState.unp);
    past ML_UNP_MAX of them, the container is no longer known to show its items."""
    cdef list cands = d.mls.unp.get(c)
    if cands is None:
        cands = d.mls.unp[c] = []
    if len(cands) >= ML_UNP_MAX:
        d.cshown[c] = 0
        del d.mls.unp[c]
        return 0
    cands.append((<uint64_t>atom.peer << 32) | <uint32_t>atom.counter)
    return 0


cdef int ml_apply_delete(LoroDoc d, lc_op *op, uint32_t peer) except -1 nogil:
    seq_apply_delete(d, op, peer)
    with gil:
        ml_invalidate(d, op.container)
    return 0


cdef int ml_apply_set(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    cdef int64_t e
    with gil:
        e = ml_op_elem(d, op, peer)
        if not d.detached:
            if d.mls.n_lazy:
                ml_keep_old(d.mls, e)
            ml_win_val(d, &ml_state(d).elems[e], op.arg, lamport, peer)
    return 0


# -- recomputing the winners (checkout, undone import, rebuild) -----------------------------

cdef int ml_state_reset(LoroDoc d, uint32_t c) except -1:
    """Empty before a replay (rebuild_state): the elements go all at once, on the first
    movable container the rebuild resets; the replay makes them again."""
    cdef MovableState s = ml_state(d)
    if s.reset_epoch != d.n_rebuilds:
        s.reset_epoch = d.n_rebuilds
        ml_clear(d)
    ml_invalidate(d, -1)
    return seq_state_init(d, c)


cdef int ml_mark_dirty(LoroDoc d) except -1:
    ml_befores_full(ml_state(d))     # (the winners are recomputed)
    ml_shown_unknown(d)
    ml_state(d).dirty = True
    ml_invalidate(d, -1)
    return 0


cdef int ml_resolve(LoroDoc d) except -1:
    """After a checkout moved movable ops: recompute every element from the log."""
    if d.mls is not None and d.mls.dirty:
        ml_recompute(d)
    return 0


cdef int ml_after_undo(LoroDoc d) except -1:
    """A failed import may have made or moved elements: recompute them from the log (the
    tracker is back at the state's version)."""
    ml_invalidate(d, -1)
    if d.mls is not None and d.mls.n_elems > 0:
        ml_recompute(d)
    return 0


cdef int ml_recompute(LoroDoc d) except -1:
    """Every element and winner from the logged ops; a winner only from ops the tracker's
    version holds (the state's version: callers have the tracker at home)."""
    cdef MovableState s = ml_state(d)
    cdef int64_t ci, i, e
    cdef lc_change *ch
    cdef lc_op *op
    cdef uint32_t lamport
    cdef bint win
    ensure_tvv(d)
    ml_clear(d)
    if d.shallow_ml:
        # a shallow document's lists start from their elements at the root
        for c, payload, base in d.shallow_ml:
            thin_ml_elems(d, <uint32_t>c, payload, <int64_t>base)
    for ci in range(d.log.n_changes):
        ch = &d.log.changes[ci]
        for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
            op = &d.log.ops[i]
            if d.ckind[op.container] != KIND_MOVABLE_LIST or shallow_root_op(d, ch.peer, op.counter):
                continue
            lamport = ch.lamport + <uint32_t>(op.counter - ch.counter)
            win = op.counter < d.tvv[ch.peer]
            if op.kind == LC_OP_INSERT:
                ml_elems_of_insert(d, op.container, ch.peer, op.counter, lamport, op.arg,
                                   op.len, win)
            elif op.kind == LC_OP_MOVE or op.kind == LC_OP_SET:
                e = ml_find_elem(d, op.container, op.start_id.peer, <uint32_t>op.start_id.counter)
                if e < 0:
                    raise AssertionError("a logged movable op names a missing element")
                if op.kind == LC_OP_MOVE:
                    ml_move_elem(d, e, op.arg, lamport, ch.peer, op.counter, win)
                elif win:
                    ml_win_val(d, &s.elems[e], op.arg, lamport, ch.peer)
    return 0


# -- reads ------------------------------------------------------------------------------------

ctypedef struct ml_view:
    int64_t n_op            # items visible at the state's version (op positions)
    int64_t n_user          # of them, the ones their element stands on (user positions)
    int32_t *op_gap         # each user item's op position minus its user position (so
                            # a local move or insert shifts entries without changing them:
                            # read op positions through ml_op_at)
    int32_t *elem           # the user items' elements (a user item's slot is its
                            # element's pos_slot); 32-bit, as ml_new_elem and
                            # ml_view_reserve bound them, so a move shifts 8 bytes an entry


cdef int ml_view_reserve(MovableState s, int64_t n) except -1:
    cdef int64_t cap = s.vc_cap
    if n <= s.vc_cap:
        return 0
    if n > INT32_MAX:
        raise MemoryError("a MovableList holds at most 2**31 - 1 visible items")
    s.vc_op = <int32_t*>grow(s.vc_op, &cap, n, sizeof(int32_t))
    cap = s.vc_cap
    s.vc_elem = <int32_t*>grow(s.vc_elem, &cap, n, sizeof(int32_t))
    s.vc_cap = cap
    return 0


cdef int ml_view_build(LoroDoc d, uint32_t c, ml_view *v) except -1:
    """Container `c`'s user view, cached (the arrays belong to MovableState: valid until
    the next change of `c` or the view of another container)."""
    cdef MovableState s = ml_state(d)
    if s.vc_container != c:
        ml_view_fill(d, s, c)
    v.n_op = s.vc_n_op
    v.n_user = s.vc_n_user
    v.op_gap = s.vc_op
    v.elem = s.vc_elem
    return 0


cdef inline int64_t ml_op_at(const ml_view *v, int64_t k) noexcept:
    """The op position of user item `k` of a view."""
    return v.op_gap[k] + k


cdef int ml_view_fill(LoroDoc d, MovableState s, uint32_t c) except -1:
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = d.seq.visible_len(t), i, e, k = 0
    cdef uint32_t slot
    cdef uint32_t *slots
    s.vc_container = -1
    ml_view_reserve(s, n + 1)
    slots = <uint32_t*>malloc(<size_t>(n + 1) * sizeof(uint32_t))
    if slots == NULL:
        raise MemoryError()
    try:
        copy_visible(d.seq, t, 0, n, slots)
        for i in range(n):
            slot = slots[i]
            e = s.slot_elem[slot] if slot < s.cap_slot else -1
            if e >= 0 and s.elems[e].pos_slot == slot:
                s.vc_op[k] = <int32_t>(i - k)
                s.vc_elem[k] = <int32_t>e
                k += 1
    finally:
        free(slots)
    s.vc_n_op = n
    s.vc_n_user = k
    s.vc_container = c
    return 0


cdef void ml_view_free(ml_view *v) noexcept:
    """(The arrays are the cache's: nothing to free.)"""
    v.op_gap = NULL
    v.elem = NULL


cdef int ml_view_moved(LoroDoc d, uint32_t c, int64_t from_pos, int64_t to_pos, int64_t op_to,
                       int64_t e) except -1:
    """Update the cached view after a local move from user position `from_pos` to `to_pos`
    (its new item at op position `op_to`). Only the entries between the two positions
    change: past both, the delete and the insert cancel out. Between them, an entry's op
    position and user position change by the same one, so its gap (view.op_gap) stays."""
    cdef MovableState s = ml_state(d)
    if s.vc_container != c:
        return 0
    if from_pos < to_pos:
        # the entries after the old place, up to the new one, move left
        memmove(&s.vc_op[from_pos], &s.vc_op[from_pos + 1], <size_t>(to_pos - from_pos) * sizeof(int32_t))
        memmove(&s.vc_elem[from_pos], &s.vc_elem[from_pos + 1], <size_t>(to_pos - from_pos) * sizeof(int32_t))
    else:
        # the entries from the new place up to the old one move right, after the new item
        memmove(&s.vc_op[to_pos + 1], &s.vc_op[to_pos], <size_t>(from_pos - to_pos) * sizeof(int32_t))
        memmove(&s.vc_elem[to_pos + 1], &s.vc_elem[to_pos], <size_t>(from_pos - to_pos) * sizeof(int32_t))
    s.vc_op[to_pos] = <int32_t>(op_to - to_pos)
    s.vc_elem[to_pos] = <int32_t>e
    return 0


cdef int ml_view_insert_at(MovableState s, int64_t at, int64_t n, int64_t op_pos,
                           int64_t e, int64_t m) except -1:
    """Put `m` entries (elements counting up from `e`) at `at` of the cached view of `n`
    entries."""
    cdef int64_t k
    ml_view_reserve(s, n + m + 1)
    memmove(&s.vc_op[at + m], &s.vc_op[at], <size_t>(n - at) * sizeof(int32_t))
    memmove(&s.vc_elem[at + m], &s.vc_elem[at], <size_t>(n - at) * sizeof(int32_t))
    for k in range(m):
        s.vc_op[at + k] = <int32_t>(op_pos - at)
        s.vc_elem[at + k] = <int32_t>(e + k)
    s.vc_n_user = n + m
    return 0


cdef int64_t ml_len(LoroDoc d, uint32_t c) except -1:
    cdef ml_view v
    ml_view_build(d, c, &v)
    n = v.n_user
    ml_view_free(&v)
    return n


cdef list ml_slots(LoroDoc d, uint32_t c):
    """The value slots of the items, in order."""
    cdef ml_view v
    cdef int64_t i
    cdef MovableState s = ml_state(d)
    ml_view_build(d, c, &v)
    try:
        return [s.elems[v.elem[i]].val_slot for i in range(v.n_user)]
    finally:
        ml_view_free(&v)


cdef tuple ml_item_peers(LoroDoc d, uint32_t c, int64_t pos):
    """(creator, last mover, last editor) peer ids of the item at `pos`, or None (an empty
    list; past the end, loro 1.17.1 answers for the last item)."""
    cdef ml_view v
    cdef lc_ml_elem *e
    ml_view_build(d, c, &v)
    try:
        if pos < 0 or v.n_user == 0:
            return None
        if pos >= v.n_user:
            pos = v.n_user - 1
        e = &ml_state(d).elems[v.elem[pos]]
        return (d.log.peer_ids[e.peer], d.log.peer_ids[e.pos_peer], d.log.peer_ids[e.val_peer])
    finally:
        ml_view_free(&v)


cdef object ml_value(LoroDoc d, uint32_t c, bint deep):
    """(resolve_value's copies and children without a list of slots: read from the view,
    whose arrays a child's value may replace, so the children come after)"""
    cdef list values = d.log.values
    cdef list out
    cdef Py_ssize_t i
    cdef ml_view view
    cdef MovableState s = ml_state(d)
    ml_view_build(d, c, &view)
    out = [None] * view.n_user
    for i in range(view.n_user):
        v = values[s.elems[view.elem[i]].val_slot]
        if type(v) is list or type(v) is dict:
            v = copy_value(v)
        out[i] = v
    ml_view_free(&view)
    if deep:
        for i in range(len(out)):
            v = out[i]
            t = type(v)
            if t is int or t is str or t is float or t is bool or v is None:
                continue
            if isinstance(v, _CID_TYPE):
                out[i] = value_of(d, d.cid_index[v], True)
    return out


cdef int ml_check(LoroDoc d, uint32_t c) except -1:
    """The tree's checker, every user item's element standing on it exactly once, and each
    element's list item atom."""
    cdef ml_view v
    cdef int64_t i
    cdef lc_ml_elem *e
    cdef int idx
    cdef uint32_t leaf
    cdef lc_span *sp
    cdef MovableState s = ml_state(d)
    d.seq.check(d.ctree[c])
    if s.vc_container == c:
        # the cached view (kept up to date by local moves and inserts) is the fresh one
        cached = ([s.vc_op[i] for i in range(s.vc_n_user)],
                  [s.vc_elem[i] for i in range(s.vc_n_user)], s.vc_n_op)
        ml_view_fill(d, s, c)
        if cached != ([s.vc_op[i] for i in range(s.vc_n_user)],
                      [s.vc_elem[i] for i in range(s.vc_n_user)], s.vc_n_op):
            raise AssertionError("the cached movable list view is stale")
    ml_view_build(d, c, &v)
    try:
        seen = set()
        for i in range(v.n_user):
            if v.elem[i] in seen:
                raise AssertionError("a movable list element stands on two items")
            seen.add(v.elem[i])
    finally:
        ml_view_free(&v)
    # each standing element names its list item's atom (local moves find atoms by it)
    for i in range(s.n_elems):
        e = &s.elems[i]
        if e.container != c or e.pos_slot < 0:
            continue
        leaf = locate(d.seq, make_id(e.pos_peer, e.pos_counter), &idx)
        sp = &d.seq.nodes[leaf].u.spans[idx]
        if sp.content + <uint32_t>(e.pos_counter - sp.id.counter) != <uint32_t>e.pos_slot:
            raise AssertionError("a movable list element names another list item's atom")
    return 0
