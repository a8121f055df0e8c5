# Included by _oplog.pyx: the version walk's max-heap of steps (see ARCHITECTURE.md, "Versions").

cdef inline void heap_push(lc_walk_step *h, int64_t n, lc_walk_step s) noexcept nogil:
    """Put `s` into the max-heap h[0..n) (which has room for it)."""
    cdef int64_t i = n, parent
    while i > 0:
        parent = (i - 1) >> 1
        if h[parent].key >= s.key:
            break
        h[i] = h[parent]
        i = parent
    h[i] = s


cdef inline lc_walk_step heap_pop(lc_walk_step *h, int64_t n) noexcept nogil:
    """Take the largest step out of the max-heap h[0..n), n > 0."""
    cdef lc_walk_step top = h[0], last = h[n - 1]
    cdef int64_t i = 0, child
    n -= 1
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and h[child + 1].key > h[child].key:
            child += 1
        if h[child].key <= last.key:
            break
        h[i] = h[child]
        i = child
    if n > 0:
        h[i] = last
    return top


cdef int walk_collect_moves(OpLog log, const int32_t *tv) except -1:
    """The moves of a finished walk (into log.moves), one per touched peer whose end changes."""
    cdef int64_t i
    cdef uint32_t q
    cdef int32_t end
    cdef lc_walk_peer *w
    cdef lc_move *mv
    if log.n_wtouched > log.cap_moves:
        log.moves = <lc_move*>grow(log.moves, &log.cap_moves, log.n_wtouched, sizeof(lc_move))
    for i in range(log.n_wtouched):
        q = log.wtouched[i]
        w = &log.wpeer[q]
        # where the target is ahead `cov` is exact: all of that part was expanded.
        # Where the tracker retreats, let ch be the lowest change expanded there
        # (it starts at low_tracker): the target holds the op before ch (else a
        # dep chain would have queued it, outside the target, and expanded it), and
        # an op of ch the target holds was covered by a later change, expanded
        # before ch was; so the new end is max(cov, low_tracker).
        if w.flags & LC_WALK_RETREAT:
            end = w.cov if w.cov > w.low_tracker else w.low_tracker
        elif w.cov > tv[q]:
            end = w.cov
        else:
            continue
        if end == tv[q]:
            continue
        mv = &log.moves[log.n_moves]
        mv.peer = q
        mv.old_end = tv[q]
        mv.new_end = end
        log.n_moves += 1
    return 0


cdef void walk_reset(OpLog log) noexcept:
    """Clear the walk scratch of the touched peers only, and the heap."""
    cdef int64_t i
    cdef lc_walk_peer *w
    for i in range(log.n_wtouched):
        w = &log.wpeer[log.wtouched[i]]
        w.cov = 0
        w.low_target = INT32_MAX
        w.low_tracker = INT32_MAX
        w.flags = 0
    log.n_wtouched = 0
    log.n_wheap = 0
    log.w_live = 0


cdef int log_closure(OpLog log, const lc_id *ids, int64_t n, lc_id extra, int32_t *out) except -1:
    """Reference version (dense, n_peers slots) of the closure of `ids` and `extra`: a
    plain traversal that visits every change once, for the checkers only."""
    cdef uint8_t *seen = <uint8_t*>calloc(<size_t>log.n_changes + 1, 1)
    cdef lc_id *stack = NULL
    cdef int64_t n_stack = 0, cap_stack = 0, i, c
    cdef lc_id x
    cdef lc_change *ch
    if seen == NULL:
        raise MemoryError()
    memset(out, 0, log.n_peers * sizeof(int32_t))
    if log.has_floor:
        # every version of a shallow document holds its trimmed history
        memcpy(out, log.floor, log.n_peers * sizeof(int32_t))
    try:
        stack = <lc_id*>grow(stack, &cap_stack, n + 1, sizeof(lc_id))
        for i in range(n):
            stack[n_stack] = ids[i]
            n_stack += 1
        if extra.peer != LC_NO_PEER:
            stack[n_stack] = extra
            n_stack += 1
        while n_stack > 0:
            n_stack -= 1
            x = stack[n_stack]
            if log.has_floor and x.counter < log.floor[x.peer]:
                # trimmed history (a shallow document's): held, in no change
                if out[x.peer] < x.counter + 1:
                    out[x.peer] = x.counter + 1
                continue
            c = log.find_change(x.peer, x.counter)
            if c < 0:
                raise AssertionError("dependency is not in the log")
            if out[x.peer] < x.counter + 1:
                out[x.peer] = x.counter + 1
            if seen[c]:
                continue
            seen[c] = 1
            ch = &log.changes[c]
            if n_stack + ch.deps_len + 1 > cap_stack:
                stack = <lc_id*>grow(stack, &cap_stack, n_stack + ch.deps_len + 1, sizeof(lc_id))
            for i in range(ch.deps_off, ch.deps_off + ch.deps_len):
                stack[n_stack] = log.deps[i]
                n_stack += 1
            if ch.counter > 0:
                stack[n_stack] = make_id(ch.peer, ch.counter - 1)
                n_stack += 1
    finally:
        free(seen)
        free(stack)
    return 0
