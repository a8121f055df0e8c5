cdef int move_tracker_to(LoroDoc d, const lc_id *ids, int64_t n) except -1:
    """Move every sequence's tracker status to the closure of `ids` (committed ids), by
    the differences a DAG walk finds: the cost follows the changes between the two
    versions, never the number of peers."""
    cdef const lc_id *tf = d.log.frontiers if d.tracker_at_head else d.tfront
    cdef int64_t n_tf = d.log.n_frontiers if d.tracker_at_head else d.n_tfront
    cdef int64_t i, j, k, span
    cdef bint same = n_tf * n <= 64
    cdef lc_move mv
    ensure_tvv(d)
    # the common case (a change on top of what was just applied): the target holds the
    # tracker's ids and the tracker holds the target's, so the versions are equal
    if same:
        for i in range(n):
            if d.tvv[ids[i].peer] <= ids[i].counter:
                same = False
        for j in range(n_tf):
            if not same:
                break
            same = False
            for i in range(n):
                if ids[i].peer == tf[j].peer and ids[i].counter == tf[j].counter:
                    same = True
    if not same:
        k = d.log.walk_diff(d.tvv, tf, n_tf, ids, n)
        span = 0
        for i in range(k):
            # (Cython's abs() of an int64_t goes through Python ints: one per move)
            mv = d.log.moves[i]
            span += (<int64_t>mv.new_end - mv.old_end if mv.new_end >= mv.old_end
                     else <int64_t>mv.old_end - mv.new_end)
            if d.snap_entries is not None:
                snap_mark_range(d, mv.peer, mv.new_end if mv.new_end < mv.old_end else mv.old_end,
                                mv.old_end if mv.new_end < mv.old_end else mv.new_end)
        if span >= NOGIL_MIN_MOVED:
            with nogil:
                apply_moves(d, k)
        else:
            apply_moves(d, k)
        if n > d.cap_tfront:
            d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, n, sizeof(lc_id))
        for i in range(n):
            d.tfront[i] = ids[i]
        d.n_tfront = n
        d.tracker_at_head = False
    return 0


cdef int apply_moves(LoroDoc d, int64_t k) except -1 nogil:
    """Apply the first k moves of the log's last walk to the sequence trackers and tvv."""
    cdef int64_t i
    cdef lc_move mv
    for i in range(k):
        mv = d.log.moves[i]
        if mv.new_end < mv.old_end:
            tracker_move(d.seq, mv.peer, mv.new_end, mv.old_end, False)
        else:
            tracker_move(d.seq, mv.peer, mv.old_end, mv.new_end, True)
        d.tvv[mv.peer] = mv.new_end
    return 0


cdef int snap_mark_range(LoroDoc d, uint32_t p, int32_t lo, int32_t hi) except -1:
    """The tracker moves peer `p`'s atoms [lo, hi) in or out: the sequences their ops edit
    may show other spans (their kept snapshot entries are stale)."""
    cdef lc_range_ops it
    cdef lc_op *op
    range_ops_start(d.log, &it, p, lo, hi)
    op = range_ops_next(d.log, &it)
    while op != NULL:
        snap_mark(d, op.container)
        op = range_ops_next(d.log, &it)
    return 0


cdef int move_tracker_to_change(LoroDoc d, const lc_id *deps, int64_t n_deps, uint32_t peer,
                                int32_t counter) except -1:
    """Move the tracker to the causal version of a change of `peer` starting at `counter`
    whose deps are in the log. The deps must imply the peer's previous op (true of every
    change a Loro peer makes: it depends on its document's frontiers): versions are
    walked through deps alone."""
    move_tracker_to(d, deps, n_deps)
    if d.tvv[peer] != counter:
        d.apply_rejected = True
        raise DecodeError(f"change {counter}@{d.log.peer_ids[peer]} does not depend on its "
                          f"peer's previous op")
    return 0


cdef int move_tracker_to_head(LoroDoc d) except -1:
    """Move the tracker to the document version (where local edits apply)."""
    if not d.tracker_at_head:
        move_tracker_to(d, d.log.frontiers, d.log.n_frontiers)
        d.tracker_at_head = True
    return 0


cdef int apply_change_ops(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                          int32_t counter, uint32_t lamport) except -1:
    """Apply a change's ops in order; the tracker already sits at its causal version
    (move_tracker_to_change) and ends at the change's last op."""
    cdef int64_t i
    cdef uint32_t c
    cdef bint tree_ops = False
    for i in range(ops_off, ops_off + ops_len):
        c = d.log.ops[i].container
        tree_ops = tree_ops or d.log.ops[i].kind == LC_OP_TREE
        if d.croot[c] == ROOT_HIDDEN:
            if not d.detached:
                show_root(d, c)
            else:
                # loro lists it at the next checkout, whichever version that shows
                d.croot[c] = ROOT_DUE
                d.roots_due.add(c)
    if ops_len >= NOGIL_MIN_OPS and not tree_ops:
        # long changes integrate without the GIL: threads importing into other documents
        # run meanwhile (this document is held by its lock). Not those with tree ops,
        # which take the GIL for each op (state/tree.pxi): a third of a tree import.
        with nogil:
            apply_ops_run(d, ops_off, ops_len, peer, counter, lamport)
    else:
        apply_ops_run(d, ops_off, ops_len, peer, counter, lamport)
    if ops_len > 0:
        if d.cap_tfront < 1:
            d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, 1, sizeof(lc_id))
        d.tfront[0] = make_id(peer, d.tvv[peer] - 1)
        d.n_tfront = 1
        d.tracker_at_head = False
    return 0


cdef int apply_ops_run(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer, int32_t counter,
                       uint32_t lamport) except -1 nogil:
    cdef int64_t i
    cdef lc_op *op
    for i in range(ops_off, ops_off + ops_len):
        op = &d.log.ops[i]
        if d.evlog.on:
            ev_note_op(d, op, peer)
        apply_op(d, op, peer, lamport + <uint32_t>(op.counter - counter))
        op = &d.log.ops[i]
        d.tvv[peer] = op.counter + op.len
    return 0


cdef int rebuild_state(LoroDoc d) except -1:
    """Recompute every container's state by replaying the log from the start (to the log's
    version, then back to the checked-out one while detached)."""
    cdef SeqArena fresh = SeqArena()
    cdef int64_t i
    cdef lc_change *ch
    cdef bint was_detached = d.detached
    cdef bytes shown = None
    cdef list roots = None
    d.n_rebuilds += 1
    snap_forget(d)
    if was_detached:
        # the replay applies every op (and lists the roots they touch): the roots listed
        # at the checked-out version are put back after it
        shown = (<char*>d.croot)[:d.n_containers]
        roots = list(d.roots)
        d.detached = False
    fresh.append_text(d.seq.text, d.seq.text_len)
    d.seq = fresh
    for i in range(d.n_containers):
        state_reset(d, <uint32_t>i)
    # the fresh trees hold nothing: the tracker starts at the empty version
    ensure_tvv(d)
    memset(d.tvv, 0, <size_t>d.tvv_cap * sizeof(int32_t))
    d.n_tfront = 0
    d.tracker_at_head = False
    for i in range(d.log.n_changes if d.shallow_rows is None else 0):
        ch = &d.log.changes[i]
        move_tracker_to_change(d, &d.log.deps[ch.deps_off], ch.deps_len, ch.peer, ch.counter)
        ch = &d.log.changes[i]
        apply_change_ops(d, ch.ops_off, ch.ops_len, ch.peer, ch.counter, ch.lamport)
    if d.shallow_rows is not None:
        shallow_rebuild(d)      # (doc/shallow.pxi)
    move_tracker_to_head(d)
    if was_detached:
        memcpy(d.croot, <const char*>shown, <size_t>d.n_containers)
        d.roots[:] = roots
        due = set(d.roots_due)
        d.roots_due.clear()         # (they wait for the user's next checkout)
        quiet = d.tree_maps_quiet
        d.tree_maps_quiet = True    # (the state comes back where it was: so do its maps)
        try:
            checkout_to(d, d.sfront, d.n_sfront)
        finally:
            d.tree_maps_quiet = quiet
        d.roots_due.update(due)
    return 0
