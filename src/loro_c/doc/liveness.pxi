# Whether a child container is still part of the document. Loro refuses local ops on a
# container whose parent entry was deleted or overwritten (remote ops on it are kept: they
# may come from a peer that had not seen the delete). Reachability is a walk from the roots
# through the current values, too slow for every op; the document keeps the set of
# containers found reachable by its last walk or climb (held_up_to_root), valid until an op
# that can unlink a container (a map write, a list or movable-list delete or set, a tree
# op; appended, or a delete grown in place: alive_cache_valid) or a checkout
# (move_state_to clears it). It is a positive cache only: a container missing from it is
# climbed to, then walked to.


cdef inline bint op_can_unlink(LoroDoc d, const lc_op *op) noexcept:
    cdef uint8_t kind = d.ckind[op.container]
    if kind == KIND_MAP or kind == KIND_TREE:
        return True
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        return op.kind == LC_OP_DELETE or op.kind == LC_OP_SET
    return False


cdef inline void alive_stamp(LoroDoc d) noexcept:
    """The cache holds as of the log as it is now: its op count, and the length of its last
    op (a local delete next to the one before grows that op instead of appending one)."""
    d.alive_ops = d.log.n_ops
    d.alive_tail_len = d.log.ops[d.alive_ops - 1].len if d.alive_ops > 0 else 0


cdef bint alive_cache_valid(LoroDoc d) noexcept:
    """Whether no op that can unlink a container came since alive_stamp: none appended,
    the last op then not grown in place, the log not cut back under it."""
    cdef int64_t i
    if d.alive_ops > d.log.n_ops:
        return False
    if (d.alive_ops > 0 and d.log.ops[d.alive_ops - 1].len != d.alive_tail_len
            and op_can_unlink(d, &d.log.ops[d.alive_ops - 1])):
        return False
    for i in range(d.alive_ops, d.log.n_ops):
        if op_can_unlink(d, &d.log.ops[i]):
            return False
    return True


cdef set reachable_containers(LoroDoc d, bint deleted_nodes=False):
    """Indices of every container reachable from a root through the current values
    (`deleted_nodes`: a deleted tree node's meta map too, as loro's store keeps those
    nodes under its trash root)."""
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
                if deleted_nodes or not tm.is_deleted(node):
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


cdef set dead_container_keys(LoroDoc d):
    """The keys (ContainerID bytes) of the child containers no value reaches: loro's
    shallow root state lists only the containers alive at the root (the lock is held)."""
    cdef int64_t c
    cdef list unsure = [c for c in range(d.n_containers)
                        if d.croot[c] == ROOT_NONE and not reachable(d, <uint32_t>c)]
    if not unsure:
        return set()        # (the cached or climbed answer: no walk of the values)
    cdef set alive = reachable_containers(d, True)
    return {d.cids[c].to_bytes() for c in unsure if c not in alive}


cdef bint alive_cache_current(LoroDoc d) noexcept:
    """Whether the cache of reachable containers holds as of now: stamped again when it
    does (the next asker checks no op twice), dropped when an op since may have unlinked
    one."""
    if d.alive_known is None:
        return False
    if not alive_cache_valid(d):
        d.alive_known = None
        return False
    alive_stamp(d)
    return True


cdef inline bint holds_no_child(object v):
    """Whether a map entry's value is a scalar, which holds no child: a child is a
    ContainerID, a mergeable child a bytes marker."""
    cdef object t = type(v)
    return v is None or t is int or t is str or t is float or t is bool


cdef bint reachable(LoroDoc d, uint32_t c) except -1:
    """Whether container `c` can be reached from a root (the lock is held)."""
    cdef int64_t i
    if d.croot[c] != ROOT_NONE and d.croot[c] != ROOT_MERGEABLE:
        return True
    if alive_cache_current(d):
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
            alive_stamp(d)
        d.alive_known.add(c)
        d.alive_last = c
        return True
    # Held by no creating op (deleted, or reached through another value): walk again.
    d.alive_known = reachable_containers(d)
    alive_stamp(d)
    d.alive_last = c if c in d.alive_known else -1
    return d.alive_last == c


cdef int check_alive(LoroDoc d, uint32_t c) except -1:
    """Refuse a local op on a deleted container, as Loro does."""
    if d.detached and not d.txn_open:
        check_detached_edit(d)      # loro starts the transaction first: that refusal wins
    if d.lnum_lazy and d.loaded_store is not None and not is_root_cid(d.cids[c]):
        # loro's check climbs the parents through its arena, whose resolver reads a link it
        # lacks from the lazily loaded store, registering the parent: numbered now, whether
        # the op is refused or not (late kinds session 18905: an insert_container refused on
        # a dead map numbered the meta map of the deleted tree node above it)
        lnum_flush(d)
        number_ancestors(d, c, loaded_listing(d))
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
    cdef int64_t k, el, vslot
    cdef uint32_t p, found
    cdef MovableState s
    cdef TreeMoves tm
    cdef int kind
    cdef lc_span *sp
    cid = d.cids[c]
    if not isinstance(cid, _types.ContainerID.Normal):
        return -1
    k = child_op(d, cid, &found, True)
    if k < 0:
        return -1
    p = log.ops[k].container
    kind = d.ckind[p]
    if kind == KIND_MAP:
        if (map_key_holds(d, p, &log.ops[k]) and log.ops[k].kind == LC_OP_MAP_SET
                and same_id(log.values[log.ops[k].arg], cid)):
            return p
        return -1
    if kind == KIND_LIST:
        sp = list_atom(d, p, found, <int32_t>cid.counter)
        # the element must hold this very id (a malformed history may name a container
        # that no op of its parent created)
        if (sp != NULL and span_visible(sp)
                and same_id(log.values[sp.content + (cid.counter - sp.id.counter)], cid)):
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
    el = ml_elem_of_op(d, s, p, &log.ops[k], <int32_t>cid.counter, &vslot)
    if (el < 0 or s.elems[el].val_slot != vslot or s.elems[el].pos_slot < 0
            or not same_id(log.values[vslot], cid)):
        return -1
    sp = list_atom(d, p, s.elems[el].pos_peer, s.elems[el].pos_counter)
    return p if sp != NULL and span_visible(sp) else -1


# -- the op that created a child container, and what its parent holds of it (also asked
# by state/snapshot.pxi: parent_container, held_in_store) ----------------------------------

cdef int64_t child_op(LoroDoc d, object cid, uint32_t *peer, bint in_txn) except -2:
    """The op that created child container `cid` (its peer's index in `peer`): -1 when
    the log holds none (yet: a thin load parses its history later), -3 when it lies before
    a shallow document's root. `in_txn`: look in the open transaction too."""
    found = d.log.peer_map.get(cid.peer)
    if found is None:
        return -1
    peer[0] = <uint32_t>found
    if d.shallow_base is not None and cid.counter < <int32_t>d.shallow_base.get(peer[0], 0):
        return -3
    return creating_op(d, peer[0], <int32_t>cid.counter, in_txn)


cdef inline bint same_id(object value, object cid):
    # (the engine stores the very id object it made, so `is` settles most checks without
    # ContainerID's Python-level __eq__)
    return value is cid or value == cid


cdef inline bint map_key_holds(LoroDoc d, uint32_t p, const lc_op *op) noexcept:
    """Whether map `p`'s key of `op` is still won by that op's value."""
    cdef lc_map_entry *e = lc_map_find(&d.maps[d.ctree[p]], <uint32_t>op.pos)
    return e != NULL and e.slot == op.arg


cdef lc_span *list_atom(LoroDoc d, uint32_t p, uint32_t peer, int32_t counter) except? NULL:
    """The span of sequence container `p` holding atom (peer index, counter), or NULL."""
    cdef uint32_t leaf
    cdef int slot
    try:
        leaf = locate(d.seq, make_id(peer, counter), &slot)
    except AssertionError:
        return NULL
    if d.seq.nodes[leaf].tree != d.ctree[p]:
        return NULL
    return &d.seq.nodes[leaf].u.spans[slot]


cdef int64_t ml_elem_of_op(LoroDoc d, MovableState s, uint32_t p, const lc_op *op,
                           int32_t counter, int64_t *vslot) except -2:
    """The element of movable list `p` that `op` (an insert holding id `counter`, or a set)
    gave a value, and that value's slot; -1 for other ops or no such element."""
    if op.kind == LC_OP_INSERT:
        vslot[0] = op.arg + (counter - op.counter)
        return s.slot_elem[vslot[0]] if 0 <= vslot[0] < s.cap_slot else -1
    if op.kind == LC_OP_SET:
        vslot[0] = op.arg
        return ml_find_elem(d, p, op.start_id.peer, <uint32_t>op.start_id.counter)
    return -1


cdef int64_t creating_op(LoroDoc d, uint32_t peer, int32_t counter, bint in_txn) except -2:
    """The op holding id (peer index, counter): in the open transaction (its ops have no
    change record yet; with `in_txn`), or in a change of the log; -1 if none."""
    cdef OpLog log = d.log
    cdef int64_t lo, hi, mid, ch, k
    if in_txn and d.txn_open and peer == d.self_idx and counter >= <int32_t>d.txn_counter:
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
    cdef bint cache_valid = d.alive_known is not None and alive_cache_valid(d)
    walked = reachable_containers(d)
    if cache_valid and not d.alive_known <= walked:
        raise AssertionError(f"liveness cache lists unreachable containers "
                             f"{[d.cids[x] for x in sorted(d.alive_known - walked)[:5]]}")
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
