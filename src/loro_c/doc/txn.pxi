cdef int open_txn(LoroDoc d) except -1:
    """Open a transaction on the state's frontiers: the log's, or while detached (with
    detached editing on) the checked-out ones, where the new change branches off."""
    cdef int64_t i
    cdef const lc_id *heads = d.log.frontiers
    cdef int64_t n_heads = d.log.n_frontiers
    if d.txn_open:
        return 0
    if d.detached:
        check_detached_edit(d)
        heads = d.sfront
        n_heads = d.n_sfront
    d.self_idx = d.log.peer_index(d.peer)
    ensure_tvv(d)
    d.seq.ensure_peer(d.self_idx)
    d.txn_counter = d.log.vv[d.self_idx]
    d.txn_lamport = d.log.next_lamport if not d.detached else next_lamport_of(d, heads, n_heads)
    d.txn_ops_off = d.log.n_ops
    if n_heads > d.cap_txn_deps:
        d.txn_deps = <lc_id*>grow(d.txn_deps, &d.cap_txn_deps, n_heads, sizeof(lc_id))
    for i in range(n_heads):
        d.txn_deps[i] = heads[i]
    d.n_txn_deps = n_heads
    # (the change's deps as loro orders them: a copy of its state's frontiers' map)
    d.txn_deps_order = local_deps_order(d)
    # Like loro, the first op of this commit may extend the previous change's last op
    # when the change is likely to merge (see _commit, which undoes it if not).
    d.txn_merge_floor = d.txn_ops_off
    if can_extend_last_change(d):
        d.txn_merge_floor = d.txn_ops_off - 1
        d.txn_base_op = d.log.ops[d.txn_ops_off - 1]
    d.txn_open = True
    return 0


cdef bint can_extend_last_change(LoroDoc d) noexcept:
    """Whether the open transaction continues the last change (the merge rule, with
    the commit message still unknown)."""
    cdef lc_change *last
    cdef uint32_t p = d.self_idx
    if d.log.n_changes == 0 or d.n_txn_deps != 1:
        return False
    last = &d.log.changes[d.log.n_changes - 1]
    return (last.peer == p and last.end == d.txn_counter and last.ops_len > 0
            and d.txn_deps[0].peer == p and d.txn_deps[0].counter == d.txn_counter - 1
            and last.ops_off + last.ops_len == d.txn_ops_off
            and last.lamport + <uint32_t>(last.end - last.counter) == d.txn_lamport)


cdef int unmerge_base_op(LoroDoc d) except -1:
    """The commit did not merge into the previous change, but its first op extended that
    change's last op: cut the extension off into an op of its own, first in the commit."""
    cdef int64_t b = d.txn_ops_off - 1
    cdef lc_op merged = d.log.ops[b]
    cdef lc_op base = d.txn_base_op
    cdef lc_op tail = merged
    cdef int32_t k = merged.len - base.len
    cdef lc_op *slot
    if k <= 0:
        return 0
    tail.counter = base.counter + base.len
    tail.len = k
    if merged.kind == LC_OP_INSERT:
        tail.pos = base.pos + base.len
        tail.arg = base.arg + base.len
        tail.start_id.counter = <int32_t>(<int64_t>base.delta & 0x7FFFFFFF)
    elif merged.arg > 0:
        # forward delete: the extension deleted the next targets at the same position
        tail.arg = k
        tail.start_id.counter = base.start_id.counter + base.len
    else:
        # backward delete: the extension deleted the k atoms left of the base's range
        tail.pos = (base.pos if base.arg > 0 else base.pos + base.arg + 1) - 1
        tail.arg = -k
        tail.start_id = merged.start_id
    d.log.ops[b] = base
    d.log.push_op()
    memmove(&d.log.ops[d.txn_ops_off + 1], &d.log.ops[d.txn_ops_off],
            <size_t>(d.log.n_ops - 1 - d.txn_ops_off) * sizeof(lc_op))
    slot = &d.log.ops[d.txn_ops_off]
    slot[0] = tail
    return 0


cdef int after_local_op(LoroDoc d, int32_t n) except -1:
    """Advance our version, the tracker and the frontiers past `n` new atoms."""
    cdef uint32_t p = d.self_idx
    # every local op ends here, the op it logged (or extended) last in the log
    snap_mark(d, d.log.ops[d.log.n_ops - 1].container)
    if <int64_t>d.log.vv[p] + n > INT32_MAX:
        raise OverflowError("peer counter exceeds 2**31")
    # loro updates its version map at every local op: an op of a peer the map holds
    # already is an insert that may grow a full map (a new peer's first op adds the key)
    if d.log.vv[p] > 0 and <int64_t>d.log.n_peers != d.vv_touch_peers:
        note_vv_touch(d)
    d.log.vv[p] += n
    d.log.vv_touch(p)
    d.tvv[p] = d.log.vv[p]
    # the open transaction depends on every head (of the state), so its last op is the only
    # head of the state; the log's other heads stay
    d.log.update_frontiers(d.txn_deps, <uint32_t>d.n_txn_deps, make_id(p, d.log.vv[p] - 1))
    cdef lc_id last
    if d.detached:
        last = make_id(p, d.log.vv[p] - 1)
        set_state_frontiers(d, &last, 1)
        if d.cap_tfront < 1:
            d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, 1, sizeof(lc_id))
        d.tfront[0] = last
        d.n_tfront = 1
    return 0


cdef int check_detached_edit(LoroDoc d) except -1:
    """Editing while detached needs detached editing on, and (as in Loro) the change must
    continue the peer's own ops that the checked-out version holds."""
    cdef int32_t next_counter = 0
    if not d.detached_editing:
        raise DetachedError("the document is detached (checkout or detach): it cannot be "
                            "edited until attach() or checkout_to_latest(), unless "
                            "set_detached_editing(True)")
    found = d.log.peer_map.get(d.peer)
    if found is not None:
        next_counter = d.log.vv[<uint32_t>found]
    if next_counter > 0 and version_dict(d, d.sfront, d.n_sfront).get(d.peer, 0) != next_counter:
        raise LoroError(f"peer {d.peer} has ops that the checked-out version does not hold: "
                        f"a change from it would be concurrent with them (the peer id is "
                        f"renewed by checkout while detached editing is on)")
    return 0


cdef uint32_t next_lamport_of(LoroDoc d, const lc_id *ids, int64_t n) noexcept:
    """The Lamport timestamp after the ops `ids` (0 for none)."""
    cdef uint32_t out = 0
    cdef int64_t i
    for i in range(n):
        out = max(out, d.log.lamport_of(ids[i]) + 1)
    return out


cdef int note_local_op(LoroDoc d, lc_op *piece) except -1:
    """Journal a local op for the commit's event (only while someone subscribes): its
    position (code points, style anchors left out) and content (text offset or value slot),
    from which the commit's delta is built as loro builds it (_events: local_delta.pxi)."""
    cdef uint32_t t = d.ctree[piece.container]
    cdef bint anchored = (d.ckind[piece.container] == KIND_TEXT
                          and d.seq.nodes[d.seq.roots[t]].lens.anchors != 0)
    cdef int64_t at = piece.pos, end
    if piece.kind == LC_OP_INSERT or piece.kind == LC_OP_DELETE:
        if anchored:
            at -= anchors_in_prefix(d.seq, t, piece.pos)
        ev_note(d, piece.container, LC_EV_INSERT if piece.kind == LC_OP_INSERT else LC_EV_DELETE,
                d.self_idx, piece.counter, piece.len, 0, <double>piece.arg, at)
        if anchored and piece.kind == LC_OP_INSERT:
            note_insert_styles(d, t, piece)
    elif piece.kind == LC_OP_MARK_START:
        # key 1: a local mark (its event shows only its own key, as loro's); the code points
        # it covers (its start anchor is in, its end one not yet)
        at -= anchors_in_prefix(d.seq, t, piece.pos)
        end = piece.start_id.counter + 1
        end -= anchors_in_prefix(d.seq, t, end)
        ev_note(d, piece.container, LC_EV_MARK, d.self_idx, piece.counter, 1, 1, 0.0,
                at | (end << 32))
    return 0


cdef int record_local_op(LoroDoc d, lc_op *piece) except -1:
    """Log a local op that is already integrated: fold it into the previous op when loro
    would (merge_ops), else append it; then advance our version past its atoms."""
    cdef lc_op *op
    if d.evlog.on:
        note_local_op(d, piece)
    if d.log.n_ops > d.txn_merge_floor and merge_ops(&d.log.ops[d.log.n_ops - 1], piece):
        return after_local_op(d, piece.len)
    op = d.log.push_op()
    op[0] = piece[0]
    return after_local_op(d, piece.len)


cdef int note_vv_touch(LoroDoc d) except -1:
    """A local op updates loro's version hash map, which holds this peer already (at every
    op, not once per change: two ops of a new peer's first change grow a full map): note how
    many peers it holds (see LoroDoc.vv_touches). Only looked at when the log has met a
    new peer since the last look (with no new key, a second update finds room)."""
    cdef int64_t i, n = 0
    d.vv_touch_peers = d.log.n_peers
    for i in range(d.log.n_peers):
        if d.log.vv[i] > 0:
            n += 1
    if not d.vv_touches or d.vv_touches[len(d.vv_touches) - 1] != n:     # (no wraparound)
        d.vv_touches.append(n)
    return 0


cdef int commit_txn(LoroDoc d) except -1:
    cdef uint32_t p = d.self_idx
    cdef int32_t end
    cdef Py_ssize_t i
    cdef lc_id *deps
    cdef lc_id ordered[8]
    # no import is under way here (imports commit before they start): the grouping undo
    # log of earlier imports is not needed any more
    d.log.n_gundo = 0
    if not d.txn_open:
        d.next_origin = None     # as in loro, every commit uses up the origin
        d.next_ts = None
        return 0
    # containers registered since the last look are local (loro's store holds them)
    d.store_seen = d.n_containers
    if d.evlog.hooks and d.log.vv[d.self_idx] > d.txn_counter:
        # first-commit and pre-commit subscribers may add to the commit or set its
        # message (the lock is let go meanwhile, see _events.before_commit)
        events_module().before_commit(d)
        if not d.txn_open:
            return 0
    origin = d.next_origin
    d.next_origin = None
    d.txn_open = False
    msg = d.next_msg
    d.next_msg = None
    # as in loro: the timestamp set for this commit, else the time when recording
    # timestamps, else 0 -- but never before the changes it depends on
    ts = d.next_ts if d.next_ts is not None else (int(time.time()) if d.record_ts else 0)
    ts = max(ts, deps_timestamp(d, d.txn_deps, d.n_txn_deps))
    d.next_ts = None
    end = d.log.vv[p]
    if end == d.txn_counter:
        return 0
    if d.dag_cold:
        # loro's transaction looked up its deps' Lamports (the state's frontiers) and
        # extends its peer's last node: both read those peers' blocks
        d.dag_cold.pop(d.peer, None)
        for i in range(d.n_txn_deps):
            d.dag_cold.pop(d.log.peer_ids[d.txn_deps[i].peer], None)
    if d.mls is not None and d.mls.calc_walks:
        ml_fold_walks(d)        # (before the log grows: state/movable_local.pxi)
    # the deps as the change keeps them, in loro's order (txn_deps keeps the log's order,
    # which the style memos compare with: state/richtext.pxi)
    deps = d.txn_deps
    if d.txn_deps_order is not None and d.n_txn_deps >= 2:
        if d.n_txn_deps <= 8:
            deps = &ordered[0]
        else:
            deps = <lc_id*>malloc(d.n_txn_deps * sizeof(lc_id))
            if deps == NULL:
                raise MemoryError()
        for i, (dp, dc) in enumerate(d.txn_deps_order):
            deps[i] = make_id(<uint32_t>dp, <int32_t>dc)
    try:
        commit_change(d, p, ts, msg, deps)
    finally:
        if deps != d.txn_deps and deps != &ordered[0]:
            free(deps)
    if d.evs is not None and d.style_texts:
        # (loro's style map elements kept through the commit's ops stay known)
        style_commit(d)
    if d.evlog.on:
        events_module().flush(d, 0, origin)
    if d.local_update_subs:
        emit_local_update(d, d.txn_counter, end)
    return 0


cdef int commit_change(LoroDoc d, uint32_t p, int64_t ts, object msg, lc_id *deps) except -1:
    """Log the transaction's ops as a change with `deps` (merged into the previous one
    when it continues it)."""
    cdef int32_t end = d.log.vv[p]
    cdef uint32_t n_ops
    cdef int64_t i0
    cdef int32_t msg_idx = -1
    cdef bint merge
    n_ops = <uint32_t>(d.log.n_ops - d.txn_ops_off)
    merge = d.log.can_extend(p, d.txn_counter, d.txn_lamport, ts, d.txn_deps,
                                <uint32_t>d.n_txn_deps, d.txn_ops_off, msg)
    if not merge and d.txn_merge_floor < d.txn_ops_off:
        unmerge_base_op(d)
        n_ops = <uint32_t>(d.log.n_ops - d.txn_ops_off)
    if merge:
        d.log.extend_last_change(end, n_ops)
        msg_idx = d.log.changes[d.log.n_changes - 1].msg
    else:
        if msg is not None:
            msg_idx = len(d.log.messages)
            d.log.messages.append(msg)
        d.log.add_change(p, d.txn_counter, end, d.txn_lamport, ts, deps,
                            <uint32_t>d.n_txn_deps, d.txn_ops_off, n_ops, msg_idx)
    i0 = d.txn_ops_off
    if merge and i0 > d.txn_merge_floor and d.log.ops[i0 - 1].counter + d.log.ops[i0 - 1].len > d.txn_counter:
        i0 -= 1         # the commit's first op extended the previous one
    group_change(d, p, d.txn_counter, end, d.txn_lamport, ts, deps,
                 <uint32_t>d.n_txn_deps, msg_idx, True, -1, i0, d.log.n_ops)
    d.log.update_frontiers(deps, <uint32_t>d.n_txn_deps, make_id(p, end - 1))
    return 0
