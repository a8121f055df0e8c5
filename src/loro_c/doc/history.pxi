# Versions of the document as Python values (included by _doc.pyx): the {peer: end}
# dict of a dense version, of the closure of some ids, and stamped snapshots of the
# log's version.


cdef dict dense_vv_dict(LoroDoc d, const int32_t *vv):
    """A new {peer id: end} dict of the version `vv` (dense, one slot per peer index)."""
    cdef uint32_t i
    cdef dict out
    cdef list objs = d.log.peer_objs
    if vv == d.log.vv:
        return d.log.vv_dict().copy()
    out = {}
    # the peer ids' int objects are built once (per peer, not per call)
    for i in range(d.log.n_peers):
        if vv[i] > 0:
            out[objs[i]] = vv[i]
    return out


cdef VersionVector version_snapshot(LoroDoc d):
    """A VersionVector of the log's version, stamped so that exporting from it later
    looks only at the peers that moved since."""
    cdef VersionVector vv = vv_wrap(dense_vv_dict(d, d.log.vv))
    vv._stamp = (d.log.serial, d.log.vv_snapshot_epoch())
    return vv


cdef dict version_dict(LoroDoc d, const lc_id *ids, int64_t n):
    """{peer id: end counter} of the closure of `ids` (committed ids): the log's version
    corrected by a walk from the log's committed head."""
    cdef OpLog log = d.log
    cdef int64_t i, k
    cdef int32_t saved = 0
    cdef const lc_id *tf = log.frontiers
    cdef int64_t n_tf = log.n_frontiers
    cdef lc_move mv
    if d.txn_open:
        # the open transaction is not a change yet: walk from the version before it
        saved = log.vv[d.self_idx]
        log.vv[d.self_idx] = d.txn_counter
        tf = d.txn_deps
        n_tf = d.n_txn_deps
    try:
        k = log.walk_diff(log.vv, tf, n_tf, ids, n)
    finally:
        if d.txn_open:
            log.vv[d.self_idx] = saved
    out = dense_vv_dict(d, log.vv)
    if d.txn_open:
        if d.txn_counter > 0:
            out[log.peer_objs[d.self_idx]] = d.txn_counter
        else:
            out.pop(log.peer_objs[d.self_idx], None)
    for i in range(k):
        mv = log.moves[i]
        if mv.new_end > 0:
            out[log.peer_ids[mv.peer]] = mv.new_end
        else:
            del out[log.peer_ids[mv.peer]]
    return out
