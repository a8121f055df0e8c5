# Included by _oplog.pyx: cutting the log back (the undo of a failed import).

cdef int log_truncate(OpLog log, int64_t n_changes, int64_t n_ops, const lc_id *frontiers,
                      int64_t n_frontiers, uint32_t next_lamport) except -1:
    """Forget the changes and ops past the given counts, and restore the frontiers and
    Lamport clock saved with them (undo of a failed import). Changes that were extended
    in place must have been shortened first. The cost follows the changes cut."""
    cdef int64_t i
    cdef uint32_t p
    cdef lc_change_list *cl
    for i in range(log.n_changes - 1, n_changes - 1, -1):
        cl = &log.by_peer[log.changes[i].peer]
        if cl.len == 0 or cl.idx[cl.len - 1] != i:
            raise AssertionError("per-peer change index out of step with the log")
        cl.len -= 1
    for i in range(n_changes, log.n_changes):
        log.refresh_vv(log.changes[i].peer)
    log.n_changes = n_changes
    log.n_ops = n_ops
    log.n_deps = log.changes[n_changes - 1].deps_off + log.changes[n_changes - 1].deps_len if n_changes > 0 else 0
    if n_frontiers > log.cap_frontiers:
        log.frontiers = <lc_id*>grow(log.frontiers, &log.cap_frontiers, n_frontiers, sizeof(lc_id))
    for i in range(n_frontiers):
        log.frontiers[i] = frontiers[i]
    log.n_frontiers = n_frontiers
    log.next_lamport = next_lamport
    return 0


cdef int log_drop_peers(OpLog log, uint32_t n_peers) except -1:
    """Forget the peers registered after the first `n_peers` (they have no changes left)."""
    cdef uint32_t p
    cdef int64_t i, k = 0
    if n_peers >= log.n_peers:
        return 0
    for p in range(n_peers, log.n_peers):
        if log.by_peer[p].len != 0:
            raise AssertionError("a peer to drop still has changes")
        del log.peer_map[log.peer_ids[p]]
        if log.vv_cache is not None:
            log.vv_cache.pop(log.peer_objs[p], None)
        free(log.by_peer[p].idx)
        log.by_peer[p].idx = NULL
        log.by_peer[p].len = log.by_peer[p].cap = 0
        if log.groups[p].len != 0:
            raise AssertionError("a peer to drop still has logical changes")
        free(log.groups[p].items)
        log.groups[p].items = NULL
        log.groups[p].cap = 0
        log.vv_stale[p] = 0
    # the version cache must not refresh the entries of peers that no longer exist
    for i in range(log.n_vv_moved):
        if log.vv_moved[i] < n_peers:
            log.vv_moved[k] = log.vv_moved[i]
            k += 1
    log.n_vv_moved = k
    del log.peer_objs[n_peers:]
    log.n_peers = n_peers
    return 0
