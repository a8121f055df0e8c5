# Included by _doc.pyx: the order in which loro lists a document's frontiers.
#
# loro keeps frontiers of two ids or more in a hash map (peer -> counter, FxHasher), and
# lists them in that map's order: str(oplog_frontiers), str(state_frontiers), and the deps
# of a local change, which are a copy of its state's frontiers and are written to the
# change block in their order. loro_c's algorithms keep frontiers sorted or in the log's
# own order; only what users see and what is encoded follows loro's map:
#   - the log's frontiers: the log's replay of that map (oplog/frontier_map.pxi);
#   - the state's frontiers: loro's state shares the log's map after an import or a commit
#     (a copy of it), but keeps the map it was given by a checkout (shrink_frontiers builds
#     a new one) or held when detached, also through an attach to the same ids. `sf_order`
#     records that map's order while it is not the log's; it is stale once the state's
#     frontiers hold other ids, since every change of them but a checkout takes the log's.


cdef bint same_id_set(list order, const lc_id *ids, int64_t n):
    cdef int64_t i
    if len(order) != n:
        return False
    return set(order) == {(ids[i].peer, ids[i].counter) for i in range(n)}


cdef list state_order(LoroDoc d):
    """The state's frontiers, (peer index, counter), in loro's map order."""
    cdef const lc_id *ids = d.sfront if d.detached else d.log.frontiers
    cdef int64_t n = d.n_sfront if d.detached else d.log.n_frontiers, i
    if n < 2:
        return [(ids[i].peer, ids[i].counter) for i in range(n)]
    if d.sf_order is not None and same_id_set(d.sf_order, ids, n):
        return d.sf_order
    if not d.detached:
        return d.log.frontier_order()
    # (not expected: a map built from the ids sorted, as loro decodes frontiers)
    return ids_map_order(d, sorted((d.log.peer_ids[ids[i].peer], ids[i].counter) for i in range(n)))


cdef list ids_map_order(LoroDoc d, list pairs):
    """(peer id, counter) pairs in the order of loro's map built by inserting them in this
    order, as (peer index, counter)."""
    from loro_c.hash_order import frontiers_map_order
    return [(d.log.peer_map[p], c) for p, c in frontiers_map_order(pairs)]


cdef Frontiers order_frontiers(LoroDoc d, list order):
    """Frontiers of log ids listed in `order` (peer index, counter): sorted, shown so."""
    cdef list named = [(d.log.peer_ids[<uint32_t>p], c) for p, c in order]
    return frontiers_wrap_ordered(sorted(named), named)


cdef list checkout_order(LoroDoc d, Frontiers asked, const lc_id *ids, int64_t n):
    """The order of the state's frontiers after a checkout of `asked` that shrank to `ids`:
    loro's shrink_frontiers collects the ids asked for in a map (in the order `asked`
    lists them), sorts them by Lamport (stably), keeps those no later one holds going from
    the greatest Lamport down, and builds its frontiers from them in that order."""
    cdef int64_t i
    cdef lc_id x
    if n < 2:
        return [(ids[i].peer, ids[i].counter) for i in range(n)]
    if len(asked._ids) < 2:
        return ids_map_order(d, [(d.log.peer_ids[ids[i].peer], ids[i].counter) for i in range(n)])
    from loro_c.hash_order import frontiers_map_order
    listed = asked._order if asked._order is not None else asked._ids
    kept = {(d.log.peer_ids[ids[i].peer], ids[i].counter) for i in range(n)}
    lamports = []
    for p, c in frontiers_map_order(listed):
        x = make_id(<uint32_t>d.log.peer_map[p], <int32_t>c)
        lamports.append((d.log.lamport_of(x), (p, c)))
    by_lamport = [pc for _, pc in sorted(lamports, key=lambda t: t[0])]
    return ids_map_order(d, [pc for pc in reversed(by_lamport) if pc in kept])


cdef list local_deps_order(LoroDoc d):
    """The deps of the transaction being opened in loro's order (None under two)."""
    if d.n_txn_deps < 2:
        return None
    return state_order(d)


cdef Frontiers thin_frontiers(LoroDoc d):
    """The frontiers of a snapshot's state read before its history: loro's map of them as
    its snapshot load builds it, from the ids sorted (the log's fm_load)."""
    from loro_c.hash_order import frontiers_map_order
    ids = sorted(d.thin_fr)
    return frontiers_wrap_ordered(ids, frontiers_map_order(ids))
