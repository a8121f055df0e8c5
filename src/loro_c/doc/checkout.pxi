# Time travel: the state moved to any version of the log (checkout), and kept there while
# the log goes on growing (detached). Sequences follow the tracker (their status is the
# tracker's); maps and counters are moved by the ops between the two versions, found by the
# same DAG walk, so a checkout costs the changes between the versions, never a replay.
#
# While detached, the state's version is `sfront` and the tracker returns there after an
# import; imported map and counter ops are logged but not applied (state/dispatch.pxi), and
# roots they name are listed when the state moves past them, as Loro lists them.


cdef int check_frontier_ids(LoroDoc d, Frontiers frontiers, lc_id *out) except -1:
    """The frontiers as log ids into `out`; LoroError when the log lacks one of them."""
    cdef Py_ssize_t bad = frontier_ids(d, frontiers, out)
    if bad >= 0:
        peer, ctr = frontiers._ids[bad]
        raise LoroError(f"The given ID ({ctr}@{peer}) is not contained by the doc")
    return 0


cdef bint same_ids(const lc_id *a, int64_t na, const lc_id *b, int64_t nb) noexcept:
    """Whether two frontiers hold the same ids (each has one id per peer at most)."""
    cdef int64_t i, j
    if na != nb:
        return False
    for i in range(na):
        for j in range(nb):
            if a[i].peer == b[j].peer and a[i].counter == b[j].counter:
                break
        else:
            return False
    return True


cdef int64_t shrink_ids(LoroDoc d, lc_id *ids, int64_t n) except -1:
    """Drop the ids that the closure of the others holds (Loro checks out, and reports as
    state frontiers, the shrunk set); returns the new count."""
    cdef int64_t i, j, k
    cdef lc_id x
    i = 0
    while i < n and n > 1:
        x = ids[i]
        ids[i] = ids[n - 1]
        version = version_dict(d, ids, n - 1)
        if version.get(d.log.peer_ids[x.peer], 0) > x.counter:
            n -= 1              # implied by the others: dropped
        else:
            ids[n - 1] = ids[i]
            ids[i] = x
            i += 1
    return n


cdef enum:
    PARSES_REPLAY = 1       # a text's or a list's tracker replays the history from empty
    PARSES_CACHE = 2        # a calculator reads the history cache: a visit of every block


cdef int checkout_parses(LoroDoc d, const lc_id *ids, int64_t n, const lc_id *cur,
                         int64_t n_cur) except -1:
    """The change blocks a checkout parses after a snapshot load, which register the
    containers waiting there (dead children: state/snapshot_load.pxi thin_materialize, or
    number_as_loaded's when the load was recorded, kinds session 14615):
    the block holding each id it goes to (loro looks its change up), those of the
    changes its diff visits, and every block when a calculator of its diff replays the
    whole history: a map's, a movable list's or a tree's (in checkout mode each reads
    loro's history cache, built by a visit of every change), or a text's or a list's
    when the checkout goes back (the state has changes the target lacks: loro rebuilds
    their trackers from the empty version, replaying every change up to both versions).
    Probed on loro 1.17.1: a checkout forward, or one that goes back over counters only,
    leaves another peer's dead children waiting; one back over a list's insert does not.
    Returns PARSES_CACHE when a calculator reads the history cache, PARSES_REPLAY when a
    text or a list replays the history, else 0."""
    cdef int64_t i
    cdef uint32_t peer
    cdef int k
    from loro_c._dag_order import walk_containers
    ranges = []
    walked = walk_containers(d.log, [(cur[i].peer, cur[i].counter) for i in range(n_cur)],
                             [(ids[i].peer, ids[i].counter) for i in range(n)], ranges, True)
    to = version_dict(d, ids, n)
    at = version_dict(d, cur, n_cur)
    back = any(c > to.get(p, 0) for p, c in at.items())
    cdef int parses = 0
    for c in walked:
        k = d.ckind[<uint32_t>c]
        # (numbered once the checkout's event registered the diff's own containers:
        # LoroDoc.checkout)
        if k == KIND_MAP or k == KIND_MOVABLE_LIST or k == KIND_TREE:
            return PARSES_CACHE
        if back and (k == KIND_TEXT or k == KIND_LIST):
            parses = PARSES_REPLAY
    if parses:
        return parses
    for i in range(n):
        peer = d.log.peer_ids[ids[i].peer]
        number_exported_rest(d, {peer: ids[i].counter}, {peer: ids[i].counter + 1})
        if d.lnum_rest is None:
            return 0
    for r in ranges:
        peer = d.log.peer_ids[<uint32_t>r[0]]
        number_exported_rest(d, {peer: r[1]}, {peer: r[2]})
        if d.lnum_rest is None:
            return 0
    return 0


cdef int checkout_frontiers(LoroDoc d, lc_id *ids, int64_t n, Frontiers asked) except -1:
    """Loro's checkout once the transaction is committed and the ids checked: the same
    frontiers as the state's only decide whether the document is detached (it is unless
    they are the log's); otherwise the shrunk frontiers, when they differ from the
    state's, detach the state there."""
    cdef const lc_id *cur = d.sfront if d.detached else d.log.frontiers
    cdef int64_t n_cur = d.n_sfront if d.detached else d.log.n_frontiers
    if same_ids(ids, n, cur, n_cur):
        if same_ids(ids, n, d.log.frontiers, d.log.n_frontiers):
            if d.detached:
                # the state is the log's version already: follow the log again
                move_tracker_to_head(d)
                d.detached = False
        elif not d.detached:
            detach_here(d)
        return 0
    # past loro's early return, its shrink and diff parse the history's change blocks: the
    # containers a snapshot load left waiting get their numbers (plain differential session
    # 6530: a checkout to the version shown and back left them waiting)
    cdef int parses_all = 0
    if d.lnum_rest is not None:
        parses_all = checkout_parses(d, ids, n, cur, n_cur)
    n = shrink_ids(d, ids, n)
    if same_ids(ids, n, cur, n_cur):
        return 0
    order = checkout_order(d, asked, ids, n)   # (before the state moves: doc/order.pxi)
    checkout_to(d, ids, n)
    d.checkout_parses_all = parses_all
    d.sf_order = order
    return note_store_entries(d)


cdef int detach_here(LoroDoc d) except -1:
    """Detach the state at the log's version (it stays where it is)."""
    # (loro's state keeps the map of its frontiers it holds: doc/order.pxi)
    d.sf_order = state_order(d)
    set_state_frontiers(d, d.log.frontiers, d.log.n_frontiers)
    move_tracker_to(d, d.log.frontiers, d.log.n_frontiers)
    d.detached = True
    return 0


cdef int set_state_frontiers(LoroDoc d, const lc_id *ids, int64_t n) except -1:
    if n > d.cap_sfront:
        d.sfront = <lc_id*>grow(d.sfront, &d.cap_sfront, n, sizeof(lc_id))
    memcpy(d.sfront, ids, <size_t>n * sizeof(lc_id))
    d.n_sfront = n
    return 0


cdef list before_ids(LoroDoc d, const lc_id *tf, int64_t n_tf, bint at_head):
    """A move's version before, (peer index, counter), as loro's walk takes it."""
    if at_head:
        return d.log.frontier_order()
    return [(tf[i].peer, tf[i].counter) for i in range(n_tf)]


cdef int ml_note_unrecorded_move(LoroDoc d, list before, bint at_head, bint loaded,
                                 dict above=None) except -1:
    """An import_batch nobody records: loro imports its blobs detached, then moves the state
    from `before` (its version after loading the batch's snapshot when `loaded`, else the
    latest version before the batch, `at_head`) to the latest version through the
    document's diff calculator, as a checkout does, so that calculator's MovableList maps
    note the elements of the move's walk (MovableState.calc_walks) as with a subscriber,
    where move_state_to notes them. A snapshot's load itself feeds no map (import_batch_locked
    forgets them when it replays that load). Nothing when the versions are equal (loro does
    not move) or the document has no movable list. `above`: the loaded snapshot's version
    (peer index -> end), past which alone the move notes elements (ml_walk_above)."""
    cdef int64_t c
    cdef MovableState s = d.mls
    after = d.log.frontier_order()
    if sorted(before) == sorted(after):
        return 0
    if s is None:
        for c in range(d.n_containers):
            if d.ckind[c] == KIND_MOVABLE_LIST:
                break
        else:
            return 0
        s = ml_state(d)
    if loaded or s.calc_walks is None:
        s.calc_walks = []
    if loaded:
        s.calc_keys = None
    elif len(s.calc_walks) >= ML_WALKS_KEPT:
        raise AssertionError("the state moves for the MovableList maps were not folded")
    walk = [before, after, None, at_head, True]
    if above is not None:
        ml_walk_above(d, walk, above)
    s.calc_walks.append(walk)
    return 0


cdef int ml_walk_above(LoroDoc d, list walk, dict vv) except -1:
    """Keep of a state move's walk (an entry of MovableState.calc_walks) only the ops past
    version `vv` (peer index -> end): the move to the latest version after an import_batch
    that loaded a snapshot first starts from the loaded state's version, and loro's
    MovableList calculator notes the elements of the ops above it only, whatever common
    ancestor the walk of a concurrent import would find (kinds late session 14426: a new
    peer's change with no deps; noting the snapshot's elements too grew the map, which
    ordered a later checkout's delete after its insert). Only when no op past the snapshot
    acts on a movable list (ml_move_above), whether a subscriber records the batch or not."""
    from loro_c._dag_order import walk_containers
    ranges = []
    walk_containers(d.log, list(walk[0]), list(walk[1]), ranges, before_ordered=walk[3],
                    after_ordered=walk[4])
    kept = []
    for p, a0, a1 in ranges:
        lo = vv.get(p, 0)
        if a1 > lo:
            kept.append((p, max(a0, lo), a1))
    walk[2] = kept
    return 0


cdef int move_state_to(LoroDoc d, const lc_id *ids, int64_t n) except -1:
    """Move the whole state from the tracker's version to the closure of `ids`."""
    cdef const lc_id *tf
    cdef int64_t n_tf
    cdef int64_t i, k
    if d.style_loaded is not None and d.evlog.on and d.evs is not None:
        # (a journaled move from a loaded state: loro's elements; first, as the tracker
        # may visit the snapshot's version for them, style_memos_moved)
        style_load_memos(d)
    tf = d.log.frontiers if d.tracker_at_head else d.tfront
    n_tf = d.log.n_frontiers if d.tracker_at_head else d.n_tfront
    cdef lc_move mv
    # loro rebuilds the version before from its state's frontiers: at the latest version
    # that is the log's own map of them (OpLog.frontier_order), the walks take its order
    cdef bint at_head = not d.detached and d.tracker_at_head
    # (a move to the latest version: loro walks to a clone of the log's map of its
    # frontiers, in that map's order)
    cdef bint to_head = ids == <const lc_id *>d.log.frontiers
    after = d.log.frontier_order() if to_head else None
    before = None
    d.alive_known = None      # doc/liveness.pxi: the state changes without new ops
    snap_forget(d)
    warm_peers(d, None)       # (loro's walk of the history parses the blocks it reads)
    if d.mls is not None:
        # loro's checkout calculator notes the elements of the ops each move walks
        # (ml_calc_elements replays them when an event needs them)
        # (ml_fold_walks: replayed past a few, kept maps then hold them)
        if d.mls.calc_walks is None:
            d.mls.calc_walks = []
        elif len(d.mls.calc_walks) >= ML_WALKS_KEPT:
            ml_fold_walks(d)
            d.mls.calc_walks = []
        before = before_ids(d, tf, n_tf, at_head)
        d.mls.calc_walks.append([before, after if to_head
                                 else [(ids[i].peer, ids[i].counter) for i in range(n)],
                                 None, at_head, to_head])
    ensure_tvv(d)
    map_history_update(d)
    next_history_epoch(d)
    k = d.log.walk_diff(d.tvv, tf, n_tf, ids, n)
    for i in range(k):
        mv = d.log.moves[i]
        if mv.new_end > mv.old_end:
            move_ops_of_range(d, mv.peer, mv.old_end, mv.new_end, True)
        else:
            move_ops_of_range(d, mv.peer, mv.new_end, mv.old_end, False)
    if d.evlog.on and d.evlog.n > 0:
        # subscribers: how the touched atoms look before the move (_events.flush diffs them)
        events_module().checkout_before(d)
        # (tree events replay loro's tree diff between these two: _events.tree_diff)
        # (a detached state's version before is its own map of its frontiers, which it
        # keeps as it got it: an import_batch's move starts from a clone of the log's map)
        from_state = (not at_head and d.detached and n_tf > 1 and d.sf_order is not None
                      and same_id_set(d.sf_order, tf, n_tf))
        d.evs.tree_lca = (list(d.sf_order) if from_state
                          else before if before is not None else before_ids(d, tf, n_tf, at_head),
                          after if to_head
                          else [(ids[i].peer, ids[i].counter) for i in range(n)])
        d.evs.lca_ordered = at_head or from_state
        d.evs.lca_after_ordered = to_head
    elif d.evlog.on and d.evs is not None:
        # a journaled move that touches nothing: the texts keep their style map elements
        # (_events.carry_style_elems)
        d.evs.before = {}
    tree_checkout_steps(d, k)   # (state/tree.pxi)
    apply_moves(d, k)
    map_resolve_keys(d)
    ml_resolve(d)               # MovableList elements (state/movable_list.pxi)
    if d.roots_due:
        for c in sorted(d.roots_due):
            if c < d.n_containers:
                show_root(d, c)
        d.roots_due.clear()
    if n > d.cap_tfront:
        d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, n, sizeof(lc_id))
    memcpy(d.tfront, ids, <size_t>n * sizeof(lc_id))
    d.n_tfront = n
    d.tracker_at_head = False
    return 0


cdef int next_history_epoch(LoroDoc d) noexcept:
    """A new mark for the keys one checkout queues (marks restart when the counter wraps)."""
    cdef int64_t m, i
    d.hist_epoch += 1
    if d.hist_epoch == 0:
        for m in range(d.n_hheads):
            for i in range(d.hheads[m].cap):
                d.hheads[m].entries[i].lamport = 0
        d.hist_epoch = 1
    return 0


cdef int move_ops_of_range(LoroDoc d, uint32_t p, int32_t lo, int32_t hi, bint forward) except -1:
    """Apply (forward) or retreat the non-sequence ops of peer `p`'s atoms [lo, hi) to the
    state; list the roots that ops coming into effect touch."""
    cdef int64_t pos = d.log.find_change_pos(p, lo)
    cdef int64_t i
    cdef lc_change *ch
    cdef lc_op *op
    if pos < 0:
        return 0
    while pos < d.log.by_peer[p].len:
        ch = &d.log.changes[d.log.by_peer[p].idx[pos]]
        if ch.counter >= hi:
            break
        for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
            op = &d.log.ops[i]
            if op.counter + op.len <= lo or op.counter >= hi:
                continue
            if forward and d.croot[op.container] == ROOT_HIDDEN:
                show_root(d, op.container)
            if d.evlog.on:
                note_moved_op(d, op, p, lo, hi, forward)
            if d.text_backing is not None and d.ckind[op.container] == KIND_TEXT:
                unback_moved_op(d, op, p, lo, hi, forward)    # state/text_backing.pxi
            state_move_op(d, op, forward)
        pos += 1
    return 0


cdef int note_moved_op(LoroDoc d, lc_op *op, uint32_t p, int32_t lo, int32_t hi,
                       bint forward) except -1:
    """Journal an op that a checkout brings into effect or takes out of it (the atoms of
    [lo, hi) it holds), for the Checkout event: as an imported op is journaled
    (ev_note_op), clipped to the range, a counter's delta negated when taken out."""
    cdef lc_op part
    cdef lc_map_entry *e
    if op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE:
        # a map key: its slot before the checkout (a delete: map_note_deleted; -3 never
        # written), to report it only if it changes (_events.map_diff)
        e = lc_map_find(&d.maps[d.ctree[op.container]], <uint32_t>op.pos)
        return ev_note(d, op.container, LC_EV_MAP, p, op.counter, 1, <uint32_t>op.pos, 0.0,
                       -3 if e == NULL else (e.slot if e.slot >= 0 else map_note_deleted(e)))
    if d.ckind[op.container] == KIND_MOVABLE_LIST:
        # its items before the move, diffed against after (state/movable_list.pxi)
        ml_note_before_move(d, op.container)
    if op.kind == LC_OP_TREE:
        tree_note_before(d, op.container)       # state/tree.pxi
    if op.kind == LC_OP_MARK_END:
        # a mark whose end alone moves (a version between its two ops): journaled as its
        # mark, so that the event replays both anchors (loro_c.rich_checkout)
        return ev_note(d, op.container, LC_EV_MARK, p, op.counter - 1, 1, 0, 0.0)
    part = op[0]
    part.counter = op.counter if op.counter > lo else lo
    part.len = (op.counter + op.len if op.counter + op.len < hi else hi) - part.counter
    if not forward:
        part.delta = -op.delta
    return ev_note_op(d, &part, p)


cdef int checkout_to(LoroDoc d, const lc_id *ids, int64_t n) except -1:
    """Detach the document at the closure of `ids` (the open transaction is committed)."""
    move_state_to(d, ids, n)
    set_state_frontiers(d, ids, n)
    d.detached = True
    return 0


cdef int attach_state(LoroDoc d) except -1:
    """Move the state to the log's version and follow it again."""
    if d.detached:
        move_state_to(d, d.log.frontiers, d.log.n_frontiers)
        d.tracker_at_head = True
        d.detached = False
    return 0


cdef int renew_peer(LoroDoc d) except -1:
    """A new random peer id (detached editing gives each checkout its own, as Loro does, so
    that a branch never continues ops the checked-out version lacks)."""
    d.peer = random_peer()
    if d.evs is not None:
        events_module().peer_changed(d)
    return 0


cdef int move_tracker_home(LoroDoc d) except -1:
    """Move the sequences' tracker to the state's version: the log's, or the checked-out
    one while detached (imports end here; maps and counters never left it)."""
    if not d.detached:
        return move_tracker_to_head(d)
    move_tracker_to(d, d.sfront, d.n_sfront)
    return 0


cdef int check_detached_state(LoroDoc d) except -1:
    """While detached: the tracker sits at the checked-out version, and every map entry is
    the winner among the writes of that version."""
    cdef int32_t *want = <int32_t*>malloc(<size_t>(d.log.n_peers + 1) * sizeof(int32_t))
    cdef uint32_t i
    if want == NULL:
        raise MemoryError()
    try:
        d.log.closure(d.sfront, d.n_sfront, make_id(LC_NO_PEER, 0), want)
        for i in range(d.log.n_peers):
            if d.tvv[i] != want[i]:
                raise AssertionError("tracker is not at the checked-out version")
    finally:
        free(want)
    return map_check_version(d)


cdef bint range_has_mark_end(LoroDoc d, uint32_t p, int32_t lo, int32_t hi) except -1:
    """Whether peer `p`'s ops [lo, hi) hold the end op of a mark."""
    cdef int64_t pos = d.log.find_change_pos(p, lo)
    cdef int64_t i
    cdef lc_change *ch
    cdef lc_op *op
    if pos < 0:
        return False
    while pos < d.log.by_peer[p].len:
        ch = &d.log.changes[d.log.by_peer[p].idx[pos]]
        if ch.counter >= hi:
            break
        for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
            op = &d.log.ops[i]
            if op.kind == LC_OP_MARK_END and lo <= op.counter < hi:
                return True
        pos += 1
    return False


cdef bint drains_mark_end(LoroDoc d, const lc_id *a, int64_t na, const lc_id *b, int64_t nb) except -1:
    """Whether going from version `a` to `b` takes out the end op of a mark. Its anchor is
    drained, and loro's event then retains the text back to where an element of its style
    map starts, which the state's earlier moves decided (loro_c.rich_checkout): nothing
    else in a rich-text event depends on those elements."""
    cdef int32_t *va
    cdef int32_t *vb
    cdef uint32_t p
    if not d.styles:
        return False            # (no mark was ever applied)
    va = <int32_t*>malloc(<size_t>(d.log.n_peers + 1) * sizeof(int32_t))
    vb = <int32_t*>malloc(<size_t>(d.log.n_peers + 1) * sizeof(int32_t))
    try:
        if va == NULL or vb == NULL:
            raise MemoryError()
        d.log.closure(a, na, make_id(LC_NO_PEER, 0), va)
        d.log.closure(b, nb, make_id(LC_NO_PEER, 0), vb)
        for p in range(d.log.n_peers):
            if va[p] > vb[p] and range_has_mark_end(d, p, vb[p], va[p]):
                return True
        return False
    finally:
        free(va)
        free(vb)


cdef int replayed_move(LoroDoc d, const lc_id *ids, int64_t n) except -1:
    """Move the state journaled for the style map elements the replay of each text that
    holds anchors leaves (loro_c.rich_checkout), which the next journaled move starts
    from; no diff is built (`d.evs` must be set). The replay waits until a journaled move
    needs the elements (_events.defer_style_elements)."""
    d.evlog.on = 1
    d.evlog.n = 0
    try:
        move_state_to(d, ids, n)
        events_module().defer_style_elements(d)
    finally:
        d.evs.before = None
        d.evs.tree_lca = None
        d.evlog.n = 0
        d.evlog.on = 0
    return 0


cdef object diff_versions(LoroDoc d, const lc_id *a, int64_t na, const lc_id *b, int64_t nb):
    """The DiffBatch that takes the state at `a` to the state at `b` (LoroDoc.diff): the
    state moves to `a`, then to `b` journaled as a checkout's event is, then back. Nothing
    else changes: not the roots listed, the journal, or the subscribers. (loro's diff
    sometimes lists an empty root afterwards; loro_c's never does.)"""
    cdef int64_t n_home = d.n_sfront if d.detached else d.log.n_frontiers
    cdef lc_id *home = <lc_id*>malloc(<size_t>(n_home + 1) * sizeof(lc_id))
    cdef bint was_on = d.evlog.on
    cdef bytes shown = (<char*>d.croot)[:d.n_containers]
    cdef list roots = list(d.roots)
    cdef set due = set(d.roots_due)     # (they wait for the user's next checkout)
    saved_evs = d.evs
    # a document with subscribers keeps loro's style map elements for its next journaled
    # move (_events.style_elems_before), and loro's are those its three moves leave
    cdef bint keep = saved_evs is not None and bool(d.styles)
    cdef bint quiet = d.tree_maps_quiet
    if home == NULL:
        raise MemoryError()
    memcpy(home, d.sfront if d.detached else d.log.frontiers, <size_t>n_home * sizeof(lc_id))
    d.tree_maps_quiet = True    # (loro's state does not move: its maps of tree nodes stay)
    try:
        d.evlog.on = 0
        if d.evs is None:
            d.evs = events_module()._new_registry()
        if keep or drains_mark_end(d, a, na, b, nb):
            # loro's state keeps the style map elements its move to `a` leaves, and the
            # event shows them where an end anchor is drained: that move is journaled
            # for them (also when the document keeps them past the diff: its next
            # journaled move starts from the elements all three moves leave)
            replayed_move(d, a, na)
        else:
            move_state_to(d, a, na)
        d.evlog.on = 1
        d.evlog.n = 0
        d.evs.tree_views = True
        move_state_to(d, b, nb)
        return events_module().diff_batch(d)
    finally:
        d.evs.before = None
        d.evs.tree_views = False
        d.evs = saved_evs
        if saved_evs is None:
            style_memos_clear(d)    # (they were the passing registry's)
        d.evlog.on = 0          # the way back is not an edit: nothing of it is journaled
        try:
            if keep:
                replayed_move(d, home, n_home)
            else:
                move_state_to(d, home, n_home)
            if not d.detached:
                d.tracker_at_head = True
        finally:
            d.tree_maps_quiet = quiet
            d.evlog.n = 0
            d.evlog.on = was_on
            free(home)
            memcpy(d.croot, <const char*>shown, <size_t>len(shown))
            d.roots[:] = roots
            d.roots_due.clear()
            d.roots_due.update(due)


def movable_items_at(LoroDoc d, list versions, cid):
    """The items of movable list `cid` at each of `versions` (Frontiers, or None for the
    state as it is), for undo (`loro_c/undo_movable.py`): per item in order, (element as
    (peer id, Lamport), its position's write as (Lamport, peer id), its value's write as
    (Lamport, peer id), the stored value: a ContainerID for a child). The state moves to
    each version without a journal and comes back; nothing else changes."""
    cdef int64_t n_home, na, k
    cdef lc_id *home
    cdef lc_id *ids
    cdef bint was_on
    cdef uint32_t c
    doc_acquire(d)
    try:
        found = d.cid_index.get(cid)
        if found is None:
            return [[] for _ in versions]
        c = found
        if all(v is None for v in versions):
            # the state as it is, the open transaction's ops included (an undo reads the
            # elements it has just made)
            return [ml_item_records(d, c) for _ in versions]
        commit_txn(d)
        n_home = d.n_sfront if d.detached else d.log.n_frontiers
        home = <lc_id*>malloc(<size_t>(n_home + 1) * sizeof(lc_id))
        if home == NULL:
            raise MemoryError()
        memcpy(home, d.sfront if d.detached else d.log.frontiers, <size_t>n_home * sizeof(lc_id))
        was_on = d.evlog.on
        quiet = d.tree_maps_quiet
        out = []
        d.tree_maps_quiet = True    # (a reading: loro's maps of tree nodes stay)
        try:
            d.evlog.on = 0
            for v in versions:
                if v is None:
                    move_state_to(d, home, n_home)
                else:
                    na = len((<Frontiers>v)._ids)
                    ids = <lc_id*>malloc(<size_t>(na + 1) * sizeof(lc_id))
                    if ids == NULL:
                        raise MemoryError()
                    try:
                        check_frontier_ids(d, v, ids)
                        move_state_to(d, ids, na)
                    finally:
                        free(ids)
                out.append(ml_item_records(d, c))
        finally:
            try:
                move_state_to(d, home, n_home)
                if not d.detached:
                    d.tracker_at_head = True
            finally:
                d.tree_maps_quiet = quiet
                d.evlog.n = 0
                d.evlog.on = was_on
                free(home)
        return out
    finally:
        doc_release(d)


cdef list ml_item_records(LoroDoc d, uint32_t c):
    cdef ml_view v
    cdef int64_t i
    cdef lc_ml_elem *e
    cdef MovableState s = ml_state(d)
    cdef list values = d.log.values
    ml_view_build(d, c, &v)
    out = []
    for i in range(v.n_user):
        e = &s.elems[v.elem[i]]
        out.append(((d.log.peer_ids[e.peer], e.lamport),
                    (e.pos_lamport, d.log.peer_ids[e.pos_peer]),
                    (e.val_lamport, d.log.peer_ids[e.val_peer]), values[e.val_slot]))
    return out
