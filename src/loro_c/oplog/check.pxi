# Included by _oplog.pyx: the log's invariant checkers (tests and LoroDoc._check_invariants).

cdef object log_check(OpLog log, bint txn_open, uint32_t txn_peer, int32_t txn_counter):
    """Check the log's structure: per-peer change lists (contiguous, in log order), deps
    that precede their change in the log (the walk's keys rely on it), versions and
    frontiers recomputed from the deps, and a clean walk scratch."""
    cdef uint32_t p
    cdef int64_t i, j, c
    cdef lc_change *ch
    cdef int32_t end
    cdef int32_t *ref
    cdef uint8_t *covered
    cdef lc_walk_peer *w
    for p in range(log.n_peers):
        end = log.floor[p] if log.has_floor else 0
        for j in range(log.by_peer[p].len):
            c = log.by_peer[p].idx[j]
            ch = &log.changes[c]
            if ch.peer != p or ch.counter != end or ch.end <= ch.counter:
                raise AssertionError(f"changes of peer index {p} are not contiguous")
            if j > 0 and c <= log.by_peer[p].idx[j - 1]:
                raise AssertionError(f"changes of peer index {p} are out of log order")
            end = ch.end
        if (not (end == txn_counter and log.vv[p] >= end) if txn_open and p == txn_peer
                else log.vv[p] != end):
            raise AssertionError(f"version of peer index {p} is {log.vv[p]}, its changes end at {end}")
        w = &log.wpeer[p]
        if w.cov != 0 or w.low_target != INT32_MAX or w.low_tracker != INT32_MAX or w.flags != 0:
            raise AssertionError("walk scratch was not reset")
    if log.n_wheap or log.n_wtouched or log.w_live:
        raise AssertionError("walk state was not reset")
    if log.vv_dict() != {log.peer_objs[p]: log.vv[p] for p in range(log.n_peers) if log.vv[p] > 0}:
        raise AssertionError("the cached version dict differs from the version")
    for i in range(log.n_changes):
        ch = &log.changes[i]
        for j in range(ch.deps_off, ch.deps_off + ch.deps_len):
            if log.has_floor and log.deps[j].counter < log.floor[log.deps[j].peer]:
                continue    # trimmed history
            c = log.find_change(log.deps[j].peer, log.deps[j].counter)
            if c < 0 or c >= i:
                raise AssertionError(f"a dependency of change {i} is not before it in the log")
            if log.lamport_of(log.deps[j]) >= ch.lamport:
                raise AssertionError(f"change {i} has a Lamport below its dependency's")
    if txn_open:
        return True
    # the log's version is the closure of its frontiers, and each frontier is a head
    ref = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    covered = <uint8_t*>calloc(log.n_peers + 1, 1)
    try:
        if ref == NULL or covered == NULL:
            raise MemoryError()
        log.closure(log.frontiers, log.n_frontiers, make_id(LC_NO_PEER, 0), ref)
        for p in range(log.n_peers):
            if ref[p] != log.vv[p]:
                raise AssertionError(f"the closure of the frontiers misses peer index {p}")
        # a peer's last op is a head unless another change depends on it
        for i in range(log.n_changes):
            ch = &log.changes[i]
            for j in range(ch.deps_off, ch.deps_off + ch.deps_len):
                if log.deps[j].peer != ch.peer and log.deps[j].counter == log.vv[log.deps[j].peer] - 1:
                    covered[log.deps[j].peer] = 1
        heads = {(p, log.vv[p] - 1) for p in range(log.n_peers) if log.vv[p] > 0 and not covered[p]
                 and not (log.has_floor and log.vv[p] <= log.floor[p])}
        got = {(log.frontiers[i].peer, log.frontiers[i].counter) for i in range(log.n_frontiers)}
        if heads != got or len(got) != log.n_frontiers:
            raise AssertionError(f"frontiers {sorted(got)} are not the heads {sorted(heads)}")
    finally:
        free(ref)
        free(covered)
    fm_check(log)
    key_table_check(log)
    return True


cdef object log_check_walks(OpLog log, int64_t samples, bint from_head):
    """Compare walk_diff with the reference closure: from the head (unless a transaction
    is open: its ops are in no change yet), and from the version after change i, to the
    causal version of change j, for sampled pairs (all pairs of a small log). The walk
    follows deps only; the reference also follows each change's peer's previous op, so
    this checks too that deps imply it."""
    cdef int64_t n = log.n_changes, k, k2, i, j, m, pairs
    cdef int32_t *tv = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef int32_t *ref = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef lc_change *chi
    cdef lc_change *chj
    cdef lc_id tf
    cdef uint32_t p
    cdef uint64_t rnd = 88172645463325252
    try:
        if tv == NULL or ref == NULL:
            raise MemoryError()
        if n == 0:
            return True
        pairs = n * (n + 1) if n * (n + 1) <= samples else samples
        for k in range(pairs):
            if n * (n + 1) <= samples:
                i, j = k // n - 1, k % n
            else:
                rnd = rnd * <uint64_t>6364136223846793005 + <uint64_t>1442695040888963407
                i = <int64_t>((rnd >> 33) % <uint64_t>(n + 1)) - 1
                j = <int64_t>((rnd >> 13) % <uint64_t>n)
            # tracker: the head (i == -1) or the version right after change i
            if i < 0 and not from_head:
                i = j
            if i < 0:
                memcpy(tv, log.vv, log.n_peers * sizeof(int32_t))
            else:
                chi = &log.changes[i]
                tf = make_id(chi.peer, chi.end - 1)
                log.closure(&tf, 1, make_id(LC_NO_PEER, 0), tv)
            chj = &log.changes[j]
            if i < 0:
                m = log.walk_diff(tv, log.frontiers, log.n_frontiers, &log.deps[chj.deps_off],
                                   chj.deps_len)
            else:
                m = log.walk_diff(tv, &tf, 1, &log.deps[chj.deps_off], chj.deps_len)
            for k2 in range(m):
                if tv[log.moves[k2].peer] != log.moves[k2].old_end or log.moves[k2].old_end == log.moves[k2].new_end:
                    raise AssertionError("a walk move does not start at the tracker version")
                tv[log.moves[k2].peer] = log.moves[k2].new_end
            chj = &log.changes[j]
            log.closure(&log.deps[chj.deps_off], chj.deps_len,
                         make_id(chj.peer, chj.counter - 1) if chj.counter > 0 else make_id(LC_NO_PEER, 0), ref)
            for p in range(log.n_peers):
                if tv[p] != ref[p]:
                    raise AssertionError(f"walk from change {i} to the version of change {j} "
                                         f"ends at {tv[p]} for peer index {p}, not {ref[p]}")
    finally:
        free(tv)
        free(ref)
    return True
