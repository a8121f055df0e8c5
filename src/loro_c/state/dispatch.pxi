# The one place that switches on a container's kind (or an op's kind) to reach its state
# module: registering a container, rebuilding state, applying a remote op, reading a value,
# checking invariants. A new kind adds a branch to each switch here and its hooks in its
# own state/<kind>.pxi (see ARCHITECTURE "Container state").


cdef bint kind_has_state(int kind) noexcept:
    return (kind == KIND_TEXT or kind == KIND_LIST or kind == KIND_MAP or kind == KIND_COUNTER
            or kind == KIND_MOVABLE_LIST or kind == KIND_TREE)


cdef bint op_fits_kind(uint32_t op_kind, int kind) noexcept:
    """Whether an op of `op_kind` may target a container of `kind` (imports check it)."""
    if op_kind == LC_OP_INSERT or op_kind == LC_OP_DELETE:
        return kind == KIND_TEXT or kind == KIND_LIST or kind == KIND_MOVABLE_LIST
    # MovableList (state/movable_list.pxi)
    if op_kind == LC_OP_MOVE or op_kind == LC_OP_SET:
        return kind == KIND_MOVABLE_LIST
    if op_kind == LC_OP_MAP_SET or op_kind == LC_OP_MAP_DELETE:
        return kind == KIND_MAP
    if op_kind == LC_OP_COUNTER:
        return kind == KIND_COUNTER
    if op_kind == LC_OP_MARK_START or op_kind == LC_OP_MARK_END:
        return kind == KIND_TEXT
    if op_kind == LC_OP_TREE:           # state/tree.pxi
        return kind == KIND_TREE
    return False


cdef int state_init(LoroDoc d, uint32_t c) except -1:
    """Create the empty state of container `c` (just registered, its kind set)."""
    cdef int kind = d.ckind[c]
    if kind == KIND_MOVABLE_LIST:
        d.cshown[c] = 1             # (empty: every item shown)
    if kind == KIND_TEXT or kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        return seq_state_init(d, c)
    if kind == KIND_MAP:
        return map_state_init(d, c)
    return 0


cdef int state_reset(LoroDoc d, uint32_t c) except -1:
    """Empty the state of container `c` before the log is replayed (rebuild_state)."""
    cdef int kind = d.ckind[c]
    snap_mark(d, c)
    if kind == KIND_TEXT or kind == KIND_LIST:
        return seq_state_init(d, c)     # a fresh tree in the fresh arena
    if kind == KIND_MOVABLE_LIST:
        return ml_state_reset(d, c)
    if kind == KIND_MAP:
        return map_state_reset(d, c)
    if kind == KIND_COUNTER:
        return counter_state_reset(d, c)
    if kind == KIND_TREE:
        return tree_state_reset(d, c)
    return 0


cdef int apply_op(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    """Apply one remote op at the tracker version (which includes the op's causal past).
    Runs without the GIL (apply_change_ops has shown the roots the op touches)."""
    snap_mark(d, op.container)
    if op.kind == LC_OP_INSERT:
        if d.ckind[op.container] == KIND_MOVABLE_LIST:
            return ml_apply_insert(d, op, peer, lamport)
        return seq_apply_insert(d, op, peer)
    if op.kind == LC_OP_DELETE:
        if d.ckind[op.container] == KIND_MOVABLE_LIST:
            return ml_apply_delete(d, op, peer)
        return seq_apply_delete(d, op, peer)
    # MovableList: the list item part applies even while detached (elements wait)
    if op.kind == LC_OP_MOVE:
        return ml_apply_move(d, op, peer, lamport)
    if op.kind == LC_OP_SET:
        return ml_apply_set(d, op, peer, lamport)
    if op.kind == LC_OP_MARK_START or op.kind == LC_OP_MARK_END:
        return seq_apply_mark(d, op, peer, lamport)
    if op.kind == LC_OP_TREE:           # state/tree.pxi (while detached: marks it stale)
        return tree_apply(d, op, peer, lamport)
    if d.detached:
        # imported while detached: logged only, the state stays at the checked-out version
        # (sequences take the op in, the tracker hides it again: doc/checkout.pxi)
        return 0
    if op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE:
        return map_apply(d, op.container, <uint32_t>op.pos, lamport, peer, op.arg)
    if op.kind == LC_OP_COUNTER:
        return counter_apply(d, op)
    return 0


cdef int track_staged(LoroDoc d, int64_t first) except -1:
    """Add the movable lists and trees that the staged changes from `first` on touch to
    d.pending_touched (every import, subscribed or not: a change may wait and apply in a
    later import that someone watches). Dropped once nothing is pending."""
    cdef int64_t k, i
    cdef uint32_t c
    cdef lc_staged *st
    for k in range(first, d.n_staged):
        st = &d.staged[k]
        for i in range(st.ops_off, st.ops_off + st.ops_len):
            c = d.log.ops[i].container
            if not d.ctouched[c] and (d.ckind[c] == KIND_MOVABLE_LIST or d.ckind[c] == KIND_TREE):
                d.ctouched[c] = 1
                if d.pending_touched is None:
                    d.pending_touched = set()
                d.pending_touched.add(c)
    return 0


cdef int pending_touched_clear(LoroDoc d) except -1:
    """Nothing pending any more: no list or tree is touched by a pending change."""
    if d.pending_touched is not None:
        for c in d.pending_touched:
            if <int64_t>c < d.n_containers:
                d.ctouched[<uint32_t>c] = 0
        d.pending_touched = None
    return 0


cdef int snapshot_touched(LoroDoc d) except -1:
    """Keep, for the import's events, the movable lists and trees it may change (those its
    changes and the pending ones touch) that existed when it began, as they are before
    its first change applies (which moves the tracker to each change's version, where they
    cannot be read): an import into a document with large lists or trees it leaves alone
    costs nothing for them."""
    cdef int64_t below = d.snap_below
    d.snap_below = 0
    if d.tree_ev is None:
        d.tree_ev = {}
    if d.pending_touched:
        for c in sorted(d.pending_touched):
            if c >= below:
                continue
            if d.ckind[c] == KIND_MOVABLE_LIST:
                ml_note_before_import(d, <uint32_t>c)
            elif c not in d.tree_ev:
                tree_note_import(d, <uint32_t>c)
    return 0


cdef int state_move_op(LoroDoc d, lc_op *op, bint forward) except -1:
    """Bring a logged op into effect in the state (forward) or out of it, for a checkout.
    Sequence ops need nothing: their status is the tracker's (moved with it); a map key is
    only marked, and set to its winner once every op is moved (map_resolve_keys)."""
    if op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE:
        return map_mark_dirty(d, op)
    if op.kind == LC_OP_COUNTER:
        return counter_move(d, op, forward)
    if d.ckind[op.container] == KIND_MOVABLE_LIST:
        return ml_mark_dirty(d)     # elements recomputed once moved (ml_resolve)
    if op.kind == LC_OP_TREE and (d.trees is None or op.container not in d.trees):
        # (a tree the state never built: rebuilt from the log when read; the others are
        # replayed once every op is moved, state/tree.pxi tree_checkout_steps)
        return tree_mark_stale(d)
    return 0


# (each container level of a deep read takes a few C frames: value_of, its kind's value,
# resolve_value; past this many levels the rest waits, see value_of)
DEF DEEP_READ_FRAMES = 200


cdef object value_of(LoroDoc d, uint32_t c, bint deep):
    """The value of container `c`; child containers as ContainerIDs unless `deep`.
    A deep read nests one C call per container level, so past DEEP_READ_FRAMES levels a
    child that can hold children is returned as an empty dict or list and filled in place
    when the outermost read ends: a chain of any depth reads in bounded C stack."""
    cdef int kind = d.ckind[c]
    cdef object placeholder
    if not deep or kind == KIND_TEXT or kind == KIND_COUNTER:
        return kind_value(d, c, deep)
    if d.deep_plain is not None:
        # (a list the numbering walk of this read read already: get_deep_value)
        placeholder = d.deep_plain.pop(c, None)
        if placeholder is not None:
            return placeholder
    if d.deep_frames >= DEEP_READ_FRAMES:
        placeholder = {} if kind == KIND_MAP else []
        d.deep_deferred.append((placeholder, c))
        return placeholder
    if d.deep_frames > 0:
        d.deep_frames += 1
        try:
            return kind_value(d, c, True)
        finally:
            d.deep_frames -= 1
    d.deep_deferred = []
    d.deep_frames = 1
    try:
        value = kind_value(d, c, True)
        while d.deep_deferred:
            placeholder, c = d.deep_deferred.pop()
            filled = kind_value(d, c, True)
            if type(placeholder) is dict:
                (<dict>placeholder).update(filled)
            else:
                (<list>placeholder).extend(filled)
        return value
    finally:
        d.deep_frames = 0
        d.deep_deferred = None


cdef object kind_value(LoroDoc d, uint32_t c, bint deep):
    """value_of for one container, by its kind."""
    cdef int kind = d.ckind[c]
    if kind == KIND_TEXT:
        return text_value(d, c)
    if kind == KIND_COUNTER:
        return d.ccounter[c]
    if kind == KIND_LIST:
        return list_value(d, c, deep)
    if kind == KIND_MOVABLE_LIST:
        return ml_value(d, c, deep)
    if kind == KIND_TREE:
        return tree_value(d, c, deep)
    return map_value(d, c, deep)


cdef object resolve_value(LoroDoc d, object v, bint deep):
    """A value as a container's value shows it: a child container as its ContainerID, or
    (deep) its value; anything else a private copy."""
    cdef object t = type(v)
    if t is int or t is str or t is float or t is bool or v is None:
        return v        # (most values: isinstance looks ContainerID's hook up, ~0.1 us each)
    if isinstance(v, _CID_TYPE):
        if deep:
            return value_of(d, d.cid_index[v], True)
        return v
    return copy_value(v)


cdef int state_check(LoroDoc d, uint32_t c) except -1:
    """Run the invariant checker of container `c`'s state."""
    cdef int kind = d.ckind[c]
    if kind == KIND_TEXT or kind == KIND_LIST:
        return seq_check(d, c)
    if kind == KIND_MAP:
        return map_check(d, c)
    if kind == KIND_MOVABLE_LIST:
        return ml_check(d, c)
    if kind == KIND_TREE:
        tree_state(d, c).check()
    return 0
