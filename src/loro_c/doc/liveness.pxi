# Whether a child container is still part of the document. Loro refuses local ops on a
# container whose parent entry was deleted or overwritten (remote ops on it are kept: they
# may come from a peer that had not seen the delete). Reachability is a walk from the roots
# through the current values, too slow for every op; the document keeps the set of
# containers found reachable by its last walk, valid until an op that can unlink a container
# (a map write, a list or movable-list delete or set, a tree op) or a checkout
# (move_state_to clears it).


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
    if d.alive_known is not None and d.alive_ops <= d.log.n_ops:
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
    # Unknown here, or the cache is stale: walk again. A container created since the last
    # walk is not in the set yet, so a miss walks too.
    d.alive_known = reachable_containers(d)
    d.alive_ops = d.log.n_ops
    d.alive_last = c if c in d.alive_known else -1
    return d.alive_last == c


cdef int check_alive(LoroDoc d, uint32_t c) except -1:
    """Refuse a local op on a deleted container, as Loro does."""
    if (d.croot[c] == ROOT_NONE or d.croot[c] == ROOT_MERGEABLE) and not reachable(d, c):
        raise ContainerDeletedError(
            f"The container {d.cids[c]} is deleted. You cannot apply the op on a deleted "
            f"container.")
    return 0
