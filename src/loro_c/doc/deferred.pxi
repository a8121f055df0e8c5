# An import's state application in a causal order of its own. The log takes an import's
# changes in Loro's order (by Lamport, waits first: _import.apply_staged), which decides how
# changes are grouped; but the state only needs some causal order. By Lamport, the changes of
# concurrent branches alternate, and the tracker (doc/integrate.pxi) walks back and forth
# between the branches at every change: importing the history of four replicas that
# synced every 25 changes took 25 times the tracker moves of an order that follows each
# branch as far as it goes. So the import queues the changes whose ops integrate the same
# in any causal order (text and list inserts and deletes, map writes: `change_deferrable`),
# and `apply_deferred` applies the queue depth first: after a change, one of the changes it
# made ready (the earliest queued), else the earliest queued change that is ready.
#
# Nobody may observe the order: imports with subscribers (their journal follows the apply
# order), detached or shallow documents, and changes with other ops (counters sum their
# deltas in apply order; movable lists, trees and marks keep order-dependent notes) apply
# immediately, after the queue is flushed, so causality holds across both paths.

cdef enum:
    DQ_QUEUED = 0
    DQ_STARTED = 1      # its tracker move succeeded; its ops may have applied in part
    DQ_APPLIED = 2


cdef bint change_deferrable(LoroDoc d, int64_t ops_off, uint32_t ops_len) noexcept:
    """Whether a change's ops integrate the same whatever causal order the import applies
    its changes in, unobserved: text and list inserts and deletes, map writes."""
    cdef int64_t i
    cdef lc_op *op
    cdef int kind
    for i in range(ops_off, ops_off + ops_len):
        op = &d.log.ops[i]
        kind = d.ckind[op.container]
        if op.kind == LC_OP_INSERT or op.kind == LC_OP_DELETE:
            if kind != KIND_TEXT and kind != KIND_LIST:
                return False
        elif op.kind != LC_OP_MAP_SET and op.kind != LC_OP_MAP_DELETE:
            return False
    return True


cdef int defer_change(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                      int32_t counter, int32_t end, uint32_t lamport, const lc_id *deps,
                      uint32_t n_deps) except -1:
    """Queue a logged change's ops (the roots they touch are shown now, in the log's order,
    as an immediate apply shows them)."""
    cdef int64_t i
    cdef uint32_t c
    cdef lc_deferred *e
    if d.tracker_at_head:
        # the log's head moves on while the tracker stays: name its version by ids
        if d.log.n_frontiers > d.cap_tfront:
            d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, d.log.n_frontiers, sizeof(lc_id))
        for i in range(d.log.n_frontiers):
            d.tfront[i] = d.log.frontiers[i]
        d.n_tfront = d.log.n_frontiers
        d.tracker_at_head = False
    for i in range(ops_off, ops_off + ops_len):
        c = d.log.ops[i].container
        if d.croot[c] == ROOT_HIDDEN:
            show_root(d, c)
    if d.n_dq == d.cap_dq:
        d.dq = <lc_deferred*>grow(d.dq, &d.cap_dq, d.n_dq + 1, sizeof(lc_deferred))
    if d.n_dq == d.cap_dq_flag:
        d.dq_flag = <uint8_t*>grow(d.dq_flag, &d.cap_dq_flag, d.n_dq + 1, sizeof(uint8_t))
    if d.n_dq_deps + n_deps > d.cap_dq_deps:
        d.dq_deps = <lc_id*>grow(d.dq_deps, &d.cap_dq_deps, d.n_dq_deps + n_deps, sizeof(lc_id))
    e = &d.dq[d.n_dq]
    e.ops_off = ops_off
    e.ops_len = ops_len
    e.peer = peer
    e.counter = counter
    e.end = end
    e.lamport = lamport
    e.deps_off = d.n_dq_deps
    e.deps_len = n_deps
    if n_deps > 0:
        memcpy(&d.dq_deps[d.n_dq_deps], deps, n_deps * sizeof(lc_id))
    d.n_dq_deps += n_deps
    d.dq_flag[d.n_dq] = DQ_QUEUED
    d.n_dq += 1
    return 0


cdef enum:
    DQ_KEEP_CAP = 4096      # queue slots kept between imports (a large import's are freed)


cdef void deferred_release(LoroDoc d) noexcept:
    """Empty the queue; free its arrays when a large import grew them, so that a server
    document does not keep the largest import's queue for its lifetime."""
    d.n_dq = 0
    d.n_dq_deps = 0
    if d.cap_dq > DQ_KEEP_CAP or d.cap_dq_deps > 4 * DQ_KEEP_CAP:
        free(d.dq)
        free(d.dq_flag)
        free(d.dq_deps)
        d.dq = NULL
        d.dq_flag = NULL
        d.dq_deps = NULL
        d.cap_dq = d.cap_dq_flag = d.cap_dq_deps = 0


cdef inline void heap_push_i64(int64_t *h, int64_t n, int64_t v) noexcept nogil:
    cdef int64_t i = n, parent
    while i > 0:
        parent = (i - 1) >> 1
        if h[parent] <= v:
            break
        h[i] = h[parent]
        i = parent
    h[i] = v


cdef inline int64_t heap_pop_i64(int64_t *h, int64_t n) noexcept nogil:
    """Remove and return the least of h[0:n] (n > 0)."""
    cdef int64_t top = h[0], last = h[n - 1], i = 0, child
    n -= 1
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and h[child + 1] < h[child]:
            child += 1
        if last <= h[child]:
            break
        h[i] = h[child]
        i = child
    if n > 0:
        h[i] = last
    return top


cdef int64_t queued_holding(LoroDoc d, const int64_t *by_peer, const int64_t *peer_start,
                            lc_id dep) noexcept:
    """The queued change holding op `dep`, or -1 (the document had it before)."""
    cdef int64_t lo, hi, mid
    if dep.peer >= <uint32_t>d.log.n_peers:
        return -1
    lo = peer_start[dep.peer]
    hi = peer_start[dep.peer + 1]
    # a peer's queued changes are in counter order: the last one starting at or before it
    while lo < hi:
        mid = (lo + hi) >> 1
        if d.dq[by_peer[mid]].counter <= dep.counter:
            lo = mid + 1
        else:
            hi = mid
    if lo == peer_start[dep.peer]:
        return -1
    mid = by_peer[lo - 1]
    return mid if dep.counter < d.dq[mid].end else -1


cdef int apply_deferred(LoroDoc d) except -1:
    """Apply the queued changes' ops, depth first (see the top of this file), and empty the
    queue. On failure the queue stays, each change flagged, for deferred_unwind."""
    cdef int64_t n = d.n_dq, n_peers = d.log.n_peers, i, j, k, r, n_edges = 0, n_ready = 0
    cdef int64_t nxt, applied = 0
    cdef lc_deferred *e
    if n == 0:
        return 0
    cdef int64_t *peer_start = <int64_t*>calloc(n_peers + 2, sizeof(int64_t))
    cdef int64_t *by_peer = <int64_t*>malloc(n * sizeof(int64_t))
    cdef int64_t *parent_of = <int64_t*>malloc((d.n_dq_deps + 1) * sizeof(int64_t))
    cdef int64_t *child_start = <int64_t*>calloc(n + 1, sizeof(int64_t))
    cdef int64_t *children = NULL
    cdef int64_t *waiting = <int64_t*>calloc(n, sizeof(int64_t))
    cdef int64_t *ready = <int64_t*>malloc(n * sizeof(int64_t))
    try:
        if (peer_start == NULL or by_peer == NULL or parent_of == NULL or child_start == NULL
                or waiting == NULL or ready == NULL):
            raise MemoryError()
        # the queued changes by peer (a counting sort: each peer's stay in counter order)
        for i in range(n):
            peer_start[d.dq[i].peer + 1] += 1
        for i in range(n_peers):
            peer_start[i + 1] += peer_start[i]
        for i in range(n):
            k = d.dq[i].peer
            by_peer[peer_start[k]] = i
            peer_start[k] += 1
        for i in range(n_peers, 0, -1):
            peer_start[i] = peer_start[i - 1]
        peer_start[0] = 0
        # each change waits for the queued changes holding its deps
        for i in range(n):
            e = &d.dq[i]
            for j in range(e.deps_off, e.deps_off + e.deps_len):
                r = queued_holding(d, by_peer, peer_start, d.dq_deps[j])
                parent_of[j] = r
                if r >= 0 and r != i:
                    waiting[i] += 1
                    child_start[r + 1] += 1
                    n_edges += 1
        for i in range(n):
            child_start[i + 1] += child_start[i]
        children = <int64_t*>malloc((n_edges + 1) * sizeof(int64_t))
        if children == NULL:
            raise MemoryError()
        for i in range(n):
            e = &d.dq[i]
            for j in range(e.deps_off, e.deps_off + e.deps_len):
                r = parent_of[j]
                if r >= 0 and r != i:
                    children[child_start[r]] = i
                    child_start[r] += 1
        for i in range(n, 0, -1):
            child_start[i] = child_start[i - 1]
        child_start[0] = 0
        for i in range(n):
            if waiting[i] == 0:
                heap_push_i64(ready, n_ready, i)
                n_ready += 1
        nxt = -1
        while applied < n:
            if nxt < 0:
                if n_ready == 0:
                    raise AssertionError("the queued changes' deps form a cycle")
                nxt = heap_pop_i64(ready, n_ready)
                n_ready -= 1
            i = nxt
            nxt = -1
            e = &d.dq[i]
            move_tracker_to_change(d, &d.dq_deps[e.deps_off], e.deps_len, e.peer, e.counter)
            d.dq_flag[i] = DQ_STARTED
            apply_change_ops(d, e.ops_off, e.ops_len, e.peer, e.counter, e.lamport)
            d.dq_flag[i] = DQ_APPLIED
            d.n_deferred += 1
            applied += 1
            # depth first: the earliest change this one made ready goes next
            for k in range(child_start[i], child_start[i + 1]):
                j = children[k]
                waiting[j] -= 1
                if waiting[j] == 0:
                    if nxt < 0 or j < nxt:
                        if nxt >= 0:
                            heap_push_i64(ready, n_ready, nxt)
                            n_ready += 1
                        nxt = j
                    else:
                        heap_push_i64(ready, n_ready, j)
                        n_ready += 1
        deferred_release(d)
        return 0
    finally:
        free(peer_start)
        free(by_peer)
        free(parent_of)
        free(child_start)
        free(children)
        free(waiting)
        free(ready)


cdef int deferred_unwind(LoroDoc d) except -1:
    """After apply_deferred failed: take the ops of the change it stopped in back out of the
    tracker, then move the tracker to the version of everything applied (the document's
    version before the import and the import's changes applied, at once or from the queue),
    where _import.unapply retreats the import's ops. Empties the queue."""
    cdef int64_t i, n_ids = 0
    cdef uint32_t p
    cdef lc_deferred *e
    cdef OpLog log = d.log
    cdef int32_t *ends = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef lc_id *ids = <lc_id*>malloc((log.n_peers + 1) * sizeof(lc_id))
    try:
        if ends == NULL or ids == NULL:
            raise MemoryError()
        ensure_tvv(d)
        for i in range(d.n_dq):
            e = &d.dq[i]
            if d.dq_flag[i] == DQ_STARTED and d.tvv[e.peer] > e.counter:
                tracker_move(d.seq, e.peer, e.counter, d.tvv[e.peer], False)
                d.tvv[e.peer] = e.counter
        # what is not applied is the queue's rest, which holds every change depending on
        # one of it (a change applied at once flushed the queue first): the log minus it
        # is a version, each peer's part of it a prefix
        for p in range(log.n_peers):
            ends[p] = log.vv[p]
        for i in range(d.n_dq):
            e = &d.dq[i]
            if d.dq_flag[i] != DQ_APPLIED and ends[e.peer] > e.counter:
                ends[e.peer] = e.counter
        for p in range(log.n_peers):
            if ends[p] > 0:
                ids[n_ids] = make_id(p, ends[p] - 1)
                n_ids += 1
        deferred_release(d)
        move_tracker_to(d, ids, n_ids)
        return 0
    finally:
        free(ends)
        free(ids)
