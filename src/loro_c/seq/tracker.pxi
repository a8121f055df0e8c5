# The tracker: per peer, records of what its atoms did to a sequence (inserted themselves,
# deleted other atoms, see lc_record in seq.h), and the moves of the tracker version over a
# peer's counter range, which set or clear the status (future, deleted count) of the atoms
# those records name.

cdef enum:
    STATUS_SET_FUTURE = 0
    STATUS_CLEAR_FUTURE = 1
    STATUS_DELETE_INC = 2
    STATUS_DELETE_DEC = 3


cdef inline int64_t first_record_reaching(const lc_peer_index *pi, int64_t counter) noexcept nogil:
    """Index of the first tracker record of `pi` that ends after `counter` (records are
    sorted by counter and disjoint), or rec_len."""
    cdef int64_t lo = 0, hi = pi.rec_len, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pi.recs[mid].counter + pi.recs[mid].len <= counter:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int add_record(SeqArena a, uint32_t peer, int32_t counter, int32_t n, lc_id target,
                    uint32_t kind) except -1 nogil:
    """Append a tracker record; records of a peer arrive in counter order."""
    a.ensure_peer(peer)
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef lc_record *last
    if pi.rec_len > 0:
        last = &pi.recs[pi.rec_len - 1]
        if last.counter + last.len > counter:
            with gil:
                raise AssertionError("tracker records out of order")
        if (last.counter + last.len == counter and last.target.peer == target.peer
                and kind != LC_REC_MOVE and last.kind != LC_REC_MOVE):   # moves never merge
            if kind == LC_REC_INSERT:
                if last.kind == LC_REC_INSERT:
                    last.len += n
                    return 0
            elif last.kind != LC_REC_INSERT:
                # a one-atom delete record has no direction: it can start either run
                if ((last.kind == LC_REC_DELETE or last.len == 1)
                        and (kind == LC_REC_DELETE or n == 1)
                        and last.target.counter + last.len == target.counter):
                    last.kind = LC_REC_DELETE
                    last.len += n
                    return 0
                if ((last.kind == LC_REC_DELETE_REV or last.len == 1)
                        and (kind == LC_REC_DELETE_REV or n == 1)
                        and target.counter + n == last.target.counter):
                    last.kind = LC_REC_DELETE_REV
                    last.len += n
                    last.target.counter = target.counter
                    return 0
    if pi.rec_len == pi.rec_cap:
        pi.recs = <lc_record*>grow(pi.recs, &pi.rec_cap, pi.rec_len + 1, sizeof(lc_record))
    last = &pi.recs[pi.rec_len]
    last.counter = counter
    last.len = n
    last.target = target
    last.kind = kind
    pi.rec_len += 1
    return 0


cdef int push_raw_record(SeqArena a, uint32_t peer, int32_t counter, int32_t n, lc_id target,
                         uint32_t kind) except -1 nogil:
    cdef lc_peer_index *pi = &a.peers[peer]
    if pi.rec_len == pi.rec_cap:
        pi.recs = <lc_record*>grow(pi.recs, &pi.rec_cap, pi.rec_len + 1, sizeof(lc_record))
    pi.recs[pi.rec_len].counter = counter
    pi.recs[pi.rec_len].len = n
    pi.recs[pi.rec_len].target = target
    pi.recs[pi.rec_len].kind = kind
    pi.rec_len += 1
    return 0


cdef int coalesce_records(SeqArena a, uint32_t peer, int64_t first) except -1 nogil:
    """Re-add records [first, end) through add_record so that runs merge."""
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef int64_t end = pi.rec_len, i, k = end - first
    if k <= 1 and first == 0:
        return 0
    cdef lc_record *tmp = <lc_record*>malloc(<size_t>(k if k > 0 else 1) * sizeof(lc_record))
    if tmp == NULL:
        with gil:
            raise MemoryError()
    memcpy(tmp, &pi.recs[first], <size_t>k * sizeof(lc_record))
    pi.rec_len = first
    try:
        for i in range(k):
            add_record(a, peer, tmp[i].counter, tmp[i].len, tmp[i].target, tmp[i].kind)
    finally:
        free(tmp)
    return 0


cdef int apply_status(SeqArena a, lc_id target, int32_t n, int mode) except -1 nogil:
    """Change the tracker status of atoms [target, target+n) (one peer's counters)."""
    cdef uint32_t leaf
    cdef int idx
    cdef int64_t off, m
    cdef lc_span *s
    cdef uint32_t t
    cdef bint was
    while n > 0:
        leaf = locate(a, target, &idx)
        t = a.nodes[leaf].tree
        s = &a.nodes[leaf].u.spans[idx]
        off = target.counter - s.id.counter
        m = s.len - off
        if m > n:
            m = n
        a.isolate(t, &leaf, &idx, off, m)
        s = &a.nodes[leaf].u.spans[idx]
        was = span_visible(s)
        if mode == STATUS_SET_FUTURE:
            s.future = 1
        elif mode == STATUS_CLEAR_FUTURE:
            s.future = 0
        elif mode == STATUS_DELETE_INC:
            s.deleted += 1
        else:
            s.deleted -= 1
        # only a change of visibility moves the cached lengths (a concurrent import moves
        # the tracker back and forth over many spans: no recount of each leaf)
        if a.tree_is_text[t] & TREE_ANCHORED:
            a.leaf_update(leaf)
        elif span_visible(s) != was:
            lens_shift_up(a, leaf, s, 1 if not was else -1, False)
        a.merge_around(leaf, idx)
        target.counter += <int32_t>m
        n -= <int32_t>m
    return 0


cdef int tracker_move(SeqArena a, uint32_t peer, int32_t start, int32_t end, bint advance) except -1 nogil:
    """Advance (or retreat) the tracker over atoms [start, end) of `peer`: their inserts
    become known (future) and their deletes take (lose) effect."""
    if peer >= a.n_peers or start >= end:
        return 0
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef int64_t lo = first_record_reaching(pi, start)
    cdef lc_record r
    cdef int32_t x, y
    while lo < a.peers[peer].rec_len:
        r = a.peers[peer].recs[lo]
        if r.counter >= end:
            break
        x = r.counter if r.counter > start else start
        y = r.counter + r.len if r.counter + r.len < end else end
        if r.kind == LC_REC_INSERT:
            apply_status(a, make_id(peer, x), y - x,
                         STATUS_CLEAR_FUTURE if advance else STATUS_SET_FUTURE)
        elif r.kind == LC_REC_DELETE:
            apply_status(a, make_id(r.target.peer, r.target.counter + (x - r.counter)), y - x,
                         STATUS_DELETE_INC if advance else STATUS_DELETE_DEC)
        elif r.kind == LC_REC_MOVE:
            # MovableList move (seq/move.pxi): its new item and the delete of the old one
            apply_status(a, make_id(peer, r.counter), 1,
                         STATUS_CLEAR_FUTURE if advance else STATUS_SET_FUTURE)
            apply_status(a, r.target, 1, STATUS_DELETE_INC if advance else STATUS_DELETE_DEC)
        else:
            apply_status(a, make_id(r.target.peer, r.target.counter + r.len - (y - r.counter)), y - x,
                         STATUS_DELETE_INC if advance else STATUS_DELETE_DEC)
        lo += 1
    return 0
