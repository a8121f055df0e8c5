# Included by _oplog.pyx: the layout of loro's hash map of the log's frontiers.
#
# loro keeps a version's frontiers of two ids or more as a hash map of peer to counter
# (hashbrown, FxHasher), updated change by change: the ids a change depends on leave it,
# its last id joins it; a map left with one id becomes a single id, and a change that
# depends on exactly the frontiers replaces them. The order that map yields the ids decides
# the order of a checkout's walk of the history (loro_c._dag_order), so the log replays it:
# `fmap` holds, per bucket, the peer index of the id in it (FM_EMPTY, FM_DELETED when
# free), while the log holds two frontiers or more.

cdef enum:
    FM_EMPTY = -1
    FM_DELETED = -2


cdef inline uint64_t fm_hash(OpLog log, uint32_t p) noexcept:
    return fx_finish(fx_add(0, log.peer_ids[p]))


cdef int fm_clear(OpLog log) noexcept:
    log.fmap_n = log.fmap_items = log.fmap_growth = 0
    return 0


cdef int fm_resize(OpLog log, int64_t nbuckets) except -1:
    """Rehash into `nbuckets` (hashbrown's growth: the entries in iteration order)."""
    cdef int64_t *old = log.fmap
    cdef int64_t n_old = log.fmap_n, i, slot
    cdef int64_t *fresh = <int64_t *>malloc(nbuckets * sizeof(int64_t))
    if fresh == NULL:
        raise MemoryError()
    for i in range(nbuckets):
        fresh[i] = FM_EMPTY
    for i in range(n_old):
        if old[i] >= 0:
            slot = hb_slot_of(fresh, nbuckets, fm_hash(log, <uint32_t>old[i]))
            fresh[slot] = old[i]
    free(old)
    log.fmap = fresh
    log.fmap_n = nbuckets
    log.fmap_growth = hb_capacity_of(nbuckets) - log.fmap_items
    return 0


cdef int fm_insert(OpLog log, uint32_t p) except -1:
    """A peer new to the map (std's entry API reserves room for it first)."""
    cdef int64_t full, slot
    if log.fmap_growth == 0:
        full = hb_capacity_of(log.fmap_n) if log.fmap_n else 0
        if log.fmap_items + 1 <= full // 2:
            fm_resize(log, log.fmap_n)      # (a rehash in place: tombstones dropped)
        else:
            fm_resize(log, hb_buckets_for(max(log.fmap_items + 1, full + 1)))
    slot = hb_slot_of(log.fmap, log.fmap_n, fm_hash(log, p))
    if log.fmap[slot] == FM_EMPTY:
        log.fmap_growth -= 1
    log.fmap[slot] = p
    log.fmap_items += 1
    return 0


cdef bint fm_erased_as_deleted(OpLog log, int64_t i) noexcept:
    """Whether hashbrown marks bucket `i`, just emptied, deleted: the full buckets just
    before it and from it on span a group (never in a table smaller than one)."""
    cdef int64_t n = log.fmap_n, before = 0, after = 1
    if n < 16:
        return False
    while before < 16 and log.fmap[(i - 1 - before) & (n - 1)] >= 0:
        before += 1
    while after < 16 and log.fmap[(i + after) & (n - 1)] >= 0:
        after += 1
    return before + after >= 16


cdef int fm_erase(OpLog log, uint32_t p) noexcept:
    cdef int64_t i
    for i in range(log.fmap_n):
        if log.fmap[i] == <int64_t>p:
            if fm_erased_as_deleted(log, i):
                log.fmap[i] = FM_DELETED
            else:
                log.fmap[i] = FM_EMPTY
                log.fmap_growth += 1
            log.fmap_items -= 1
            return 0
    return 0


cdef int fm_new_change(OpLog log, const lc_id *deps, uint32_t n, lc_id last) except -1:
    """loro's update of its frontiers for a change with `deps` whose last id is `last`,
    called before the log's own frontiers take it (log.frontiers: the ids before)."""
    cdef int64_t i, k = log.n_frontiers, held
    cdef uint32_t j
    cdef bint same
    cdef lc_id one
    if k <= 8 and <int64_t>n == k:
        same = True
        for i in range(k):
            for j in range(n):
                if deps[j].peer == log.frontiers[i].peer and deps[j].counter == log.frontiers[i].counter:
                    break
            else:
                same = False
                break
        if same:
            return fm_clear(log)        # (replaced by the single id)
    held = k
    for j in range(n):
        for i in range(k):
            if deps[j].peer == log.frontiers[i].peer and deps[j].counter == log.frontiers[i].counter:
                break
        else:
            continue
        if held >= 2:
            fm_erase(log, deps[j].peer)
        held -= 1
        if held <= 1:
            fm_clear(log)               # (one id left, or none: no map)
    if held == 0:
        return 0
    for i in range(k):
        if log.frontiers[i].peer == last.peer:
            # (its peer's id stays where it is, the counter raised)
            same = True
            for j in range(n):
                if deps[j].peer == last.peer and deps[j].counter == log.frontiers[i].counter:
                    same = False
            if same:
                return 0
    if held == 1:
        # a single id becomes a map of two: the one there first
        for i in range(k):
            one = log.frontiers[i]
            for j in range(n):
                if deps[j].peer == one.peer and deps[j].counter == one.counter:
                    break
            else:
                fm_insert(log, one.peer)
                break
    fm_insert(log, last.peer)
    return 0


cdef int fm_load(OpLog log) except -1:
    """The map as a snapshot load leaves it: built from the frontiers by ascending id
    (loro decodes them sorted)."""
    cdef int64_t i, j, k = log.n_frontiers
    cdef uint32_t *order
    cdef uint32_t t
    fm_clear(log)
    if k < 2:
        return 0
    order = <uint32_t *>malloc(k * sizeof(uint32_t))
    if order == NULL:
        raise MemoryError()
    try:
        for i in range(k):
            t = log.frontiers[i].peer
            j = i
            while j > 0 and log.peer_ids[order[j - 1]] > log.peer_ids[t]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = t
        for i in range(k):
            fm_insert(log, order[i])
    finally:
        free(order)
    return 0


cdef int fm_load_then(OpLog log, list heads, dict ends) except -1:
    """The map as an import_batch of a snapshot and updates leaves it: the snapshot's
    frontiers (`heads`, (peer index, counter)) loaded, then each change past its version
    (`ends`: peer index -> end) in log order. Falls back to fm_load if that replay does not
    end at the log's frontiers."""
    cdef int64_t i
    cdef lc_change *ch
    cdef lc_id one
    cdef int32_t end0
    cdef list saved = [(log.frontiers[i].peer, log.frontiers[i].counter) for i in range(log.n_frontiers)]
    if len(heads) > log.cap_frontiers:
        log.frontiers = <lc_id*>grow(log.frontiers, &log.cap_frontiers, len(heads), sizeof(lc_id))
    for i, (p, c) in enumerate(heads):
        log.frontiers[i].peer = p
        log.frontiers[i].counter = c
    log.n_frontiers = len(heads)
    fm_load(log)
    for i in range(log.n_changes):
        ch = &log.changes[i]
        end0 = ends.get(ch.peer, 0)
        if ch.end <= end0:
            continue
        if ch.counter < end0:
            # (a change the snapshot holds the start of: its rest follows that start)
            one = make_id(ch.peer, end0 - 1)
            log.update_frontiers(&one, 1, make_id(ch.peer, ch.end - 1))
        else:
            log.update_frontiers(&log.deps[ch.deps_off], ch.deps_len, make_id(ch.peer, ch.end - 1))
    if sorted((log.frontiers[i].peer, log.frontiers[i].counter) for i in range(log.n_frontiers)) != sorted(saved):
        # (not a replay of this log: its frontiers as they were, loaded)
        if len(saved) > log.cap_frontiers:
            log.frontiers = <lc_id*>grow(log.frontiers, &log.cap_frontiers, len(saved), sizeof(lc_id))
        for i, (p, c) in enumerate(saved):
            log.frontiers[i].peer = p
            log.frontiers[i].counter = c
        log.n_frontiers = len(saved)
        fm_load(log)
    return 0


cdef list fm_order(OpLog log):
    """The frontiers as (peer index, counter), in the order loro's map of them yields
    them."""
    cdef int64_t i, j
    cdef dict at = {log.frontiers[i].peer: log.frontiers[i].counter for i in range(log.n_frontiers)}
    if log.n_frontiers < 2:
        return list(at.items())
    out = []
    for i in range(log.fmap_n):
        j = log.fmap[i]
        if j >= 0:
            out.append((<uint32_t>j, at[<uint32_t>j]))
    return out


cdef object fm_check(OpLog log):
    """The map holds exactly the frontiers' peers (two ids or more), its counts agree."""
    cdef int64_t i, n = 0, free_empty = 0
    peers = set()
    for i in range(log.fmap_n):
        if log.fmap[i] >= 0:
            n += 1
            peers.add(log.fmap[i])
    want = {log.frontiers[i].peer for i in range(log.n_frontiers)} if log.n_frontiers >= 2 else set()
    if peers != want or n != log.fmap_items:
        raise AssertionError(f"the frontiers' map holds peers {sorted(peers)}, the frontiers {sorted(want)}")
    if log.fmap_n and log.fmap_growth > hb_capacity_of(log.fmap_n) - n:
        raise AssertionError("the frontiers' map has more room than its size allows")
    return None
