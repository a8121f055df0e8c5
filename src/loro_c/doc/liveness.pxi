# Whether a child container is still part of the document. Loro refuses local ops on a
# container whose parent entry was deleted or overwritten (remote ops on it are kept: they
# may come from a peer that had not seen the delete). Reachability is a walk from the roots
# through the current values, too slow for every op; the document keeps the set of
# containers found reachable by its last walk or climb (held_up_to_root), valid until an op
# that can unlink a container (a map write, a list or movable-list delete or set, a tree op)
# or a checkout (move_state_to clears it). It is a positive cache only: a container missing
# from it is climbed to, then walked to.


cdef inline bint op_can_unlink(LoroDoc d, const lc_op *op) noexcept:
    cdef uint8_t kind = d.ckind[op.container]
    if kind == KIND_MAP or kind == KIND_TREE:
        return True
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        return op.kind == LC_OP_DELETE or op.kind == LC_OP_SET
    return False


cdef set reachable_containers(LoroDoc d):
    """Indices of every container reachable from a root through the current values."""
    cdef set seen = set()
    cdef list stack = [i for i in range(d.n_containers)
                       if d.croot[i] != ROOT_NONE and d.croot[i] != ROOT_MERGEABLE]
    cdef uint8_t kind
    cdef int64_t child
    cdef list slots
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        kind = d.ckind[<uint32_t>c]
        if kind == KIND_LIST:
            slots = list_slots(d, c)
        elif kind == KIND_MOVABLE_LIST:
            slots = ml_slots(d, c)
        elif kind == KIND_MAP:
            slots = []
            for k, sl in map_live(d, c):
                child = mergeable_child_index(d, c, k, d.log.values[sl])
                if child >= 0:
                    stack.append(child)     # reached through its marker
                else:
                    slots.append(sl)
        elif kind == KIND_TREE:
            tm = tree_state(d, c)
            for node in tm.node_ids():
                if not tm.is_deleted(node):
                    meta = d.cid_index.get(_types.ContainerID.Normal(
                        node[0], node[1], _types.ContainerType.Map()))
                    if meta is not None:
                        stack.append(meta)
            continue
        else:
            continue
        for sl in slots:
            v = d.log.values[sl]
            if isinstance(v, _types.ContainerID):
                stack.append(d.cid_index[v])
    return seen


cdef bint reachable(LoroDoc d, uint32_t c) except -1:
    """Whether container `c` can be reached from a root (the lock is held)."""
    cdef int64_t i
    if d.croot[c] != ROOT_NONE and d.croot[c] != ROOT_MERGEABLE:
        return True
    if d.alive_ops > d.log.n_ops:
        d.alive_known = None        # the log was rolled back under it
    if d.alive_known is not None:
        for i in range(d.alive_ops, d.log.n_ops):
            if op_can_unlink(d, &d.log.ops[i]):
                d.alive_known = None
                break
        else:
            d.alive_ops = d.log.n_ops
            if c == d.alive_last:
                return True         # typing into one nested container: no set lookup
            if c in d.alive_known:
                d.alive_last = c
                return True
    # Unknown here, or the cache is stale. Most often the container was just created, or
    # its parent was written since: the ops that created it and its ancestors still hold
    # them, which a climb finds in O(depth log n). A walk of the whole document per local
    # op made building nested containers quadratic (4,000 child maps: 17 s, loro 44 ms).
    if held_up_to_root(d, c):
        # the set holds containers known reachable since alive_ops: a positive cache (a
        # miss climbs, then walks), so the climb need not repeat for every op on `c`
        if d.alive_known is None:
            d.alive_known = set()
            d.alive_ops = d.log.n_ops
        d.alive_known.add(c)
        d.alive_last = c
        return True
    # Held by no creating op (deleted, or reached through another value): walk again.
    d.alive_known = reachable_containers(d)
    d.alive_ops = d.log.n_ops
    d.alive_last = c if c in d.alive_known else -1
    return d.alive_last == c


cdef int check_alive(LoroDoc d, uint32_t c) except -1:
    """Refuse a local op on a deleted container, as Loro does."""
    if d.detached and not d.txn_open:
        check_detached_edit(d)      # loro starts the transaction first: that refusal wins
    if (d.croot[c] == ROOT_NONE or d.croot[c] == ROOT_MERGEABLE) and not reachable(d, c):
        raise ContainerDeletedError(
            f"The container {d.cids[c]} is deleted. You cannot apply the op on a deleted "
            f"container.")
    return 0


cdef bint held_up_to_root(LoroDoc d, uint32_t c) except -1:
    """Whether every container from `c` up to a root is held by the op that created it
    (False also when a step cannot tell cheaply: the caller walks the document then)."""
    cdef int64_t x = c
    cdef int64_t steps = 0
    while steps <= d.n_containers:
        if d.croot[x] == ROOT_MERGEABLE:
            return False
        if d.croot[x] != ROOT_NONE:
            return True
        if d.alive_known is not None and x in d.alive_known:
            return True
        x = creator_holding(d, <uint32_t>x)
        if x < 0:
            return False
        steps += 1
    return False


cdef int64_t creator_holding(LoroDoc d, uint32_t c) except -2:
    """The container whose op created child container `c`, when the current state still
    holds `c` through that op: the op's key of a map, its element of a list or movable
    list, its node of a tree (for a node's meta map); else -1."""
    cdef OpLog log = d.log
    cdef int64_t ch, k, el, vslot
    cdef uint32_t p, leaf
    cdef int slot
    cdef lc_map_entry *e
    cdef MovableState s
    cdef TreeMoves tm
    cdef int kind
    cdef lc_span *sp
    cid = d.cids[c]
    # (the engine stores the very id object it made, so `is` settles most checks below
    # without ContainerID's Python-level __eq__)
    if not isinstance(cid, _types.ContainerID.Normal):
        return -1
    found = log.peer_map.get(cid.peer)
    if found is None or (d.shallow_base is not None
                         and cid.counter < <int32_t>d.shallow_base.get(<uint32_t>found, 0)):
        return -1
    k = creating_op(d, <uint32_t>found, <int32_t>cid.counter)
    if k < 0:
        return -1
    p = log.ops[k].container
    kind = d.ckind[p]
    if kind == KIND_MAP:
        e = lc_map_find(&d.maps[d.ctree[p]], <uint32_t>log.ops[k].pos)
        if e != NULL and e.slot == log.ops[k].arg and log.ops[k].kind == LC_OP_MAP_SET \
                and (d.log.values[log.ops[k].arg] is cid or d.log.values[log.ops[k].arg] == cid):
            return p
        return -1
    if kind == KIND_LIST:
        try:
            leaf = locate(d.seq, make_id(<uint32_t>found, <int32_t>cid.counter), &slot)
        except AssertionError:
            return -1
        sp = &d.seq.nodes[leaf].u.spans[slot]
        # the element must hold this very id (a malformed history may name a container
        # that no op of its parent created)
        if (d.seq.nodes[leaf].tree == d.ctree[p] and span_visible(sp)
                and (d.log.values[sp.content + (cid.counter - sp.id.counter)] is cid
                     or d.log.values[sp.content + (cid.counter - sp.id.counter)] == cid)):
            return p
        return -1
    if kind == KIND_TREE:
        if d.ckind[c] != KIND_MAP:
            return -1
        tm = <TreeMoves>tree_state(d, p)
        tm.settle()
        k = tm.find(<uint64_t>cid.peer, <int32_t>cid.counter)
        return p if k >= 0 and tm.alive_k(k) else -1
    if kind != KIND_MOVABLE_LIST or d.detached or d.mls is None or d.mls.dirty:
        return -1
    # the element the op inserted or set keeps this op's value and has a shown list item
    s = d.mls
    if log.ops[k].kind == LC_OP_INSERT:
        vslot = log.ops[k].arg + (cid.counter - log.ops[k].counter)
        el = s.slot_elem[vslot] if 0 <= vslot < s.cap_slot else -1
    elif log.ops[k].kind == LC_OP_SET:
        vslot = log.ops[k].arg
        el = ml_find_elem(d, p, log.ops[k].start_id.peer, <uint32_t>log.ops[k].start_id.counter)
    else:
        return -1
    if el < 0 or s.elems[el].val_slot != vslot or s.elems[el].pos_slot < 0 \
            or (d.log.values[vslot] is not cid and d.log.values[vslot] != cid):
        return -1
    try:
        leaf = locate(d.seq, make_id(s.elems[el].pos_peer, s.elems[el].pos_counter), &slot)
    except AssertionError:
        return -1
    if (d.seq.nodes[leaf].tree == d.ctree[p]
            and span_visible(&d.seq.nodes[leaf].u.spans[slot])):
        return p
    return -1


cdef int64_t creating_op(LoroDoc d, uint32_t peer, int32_t counter) except -2:
    """The op holding id (peer index, counter): in the open transaction (its ops have no
    change record yet), or in a change of the log; -1 if none."""
    cdef OpLog log = d.log
    cdef int64_t lo, hi, mid, ch, k
    if d.txn_open and peer == d.self_idx and counter >= <int32_t>d.txn_counter:
        lo = d.txn_merge_floor
        hi = log.n_ops
        while lo < hi:
            mid = (lo + hi) // 2
            if log.ops[mid].counter + <int32_t>log.ops[mid].len <= counter:
                lo = mid + 1
            else:
                hi = mid
        if lo < log.n_ops and log.ops[lo].counter <= counter:
            return lo
        return -1
    ch = log.find_change(peer, counter)
    if ch < 0:
        return -1
    k = log.find_op(ch, counter)
    if (k >= <int64_t>(log.changes[ch].ops_off + log.changes[ch].ops_len)
            or log.ops[k].counter > counter):
        return -1
    return k


cdef int check_liveness(LoroDoc d) except -1:
    """The climb and the cache agree with a walk of the whole document: a container the
    creating ops hold up to a root, or the valid cache lists, is reachable."""
    cdef int64_t i
    cdef bint cache_valid = d.alive_known is not None and d.alive_ops <= d.log.n_ops
    if cache_valid:
        for i in range(d.alive_ops, d.log.n_ops):
            if op_can_unlink(d, &d.log.ops[i]):
                cache_valid = False
                break
    walked = reachable_containers(d)
    if cache_valid and not d.alive_known <= walked:
        raise AssertionError(f"liveness cache lists unreachable containers "
                             f"{sorted(d.alive_known - walked)[:5]}")
    kept = d.alive_known
    d.alive_known = None
    try:
        for i in range(d.n_containers):
            if held_up_to_root(d, <uint32_t>i) and i not in walked:
                raise AssertionError(f"container {d.cids[i]} is held up to a root by its "
                                     "creating ops but no walk reaches it")
    finally:
        d.alive_known = kept
    return 0
