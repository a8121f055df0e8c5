# Included by _oplog.pyx: the records of Loro's change grouping and their undo log.
# The policy (when a change joins the previous one, block sizes) lives in the document's
# grouping part (doc/grouping.pxi), which knows the containers and the text.

cdef int log_groups_rollback(OpLog log, int64_t mark) except -1:
    """Undo the grouping steps logged after the first `mark` (a failed import), newest
    first."""
    cdef lc_group_undo *u
    while log.n_gundo > mark:
        log.n_gundo -= 1
        u = &log.gundo[log.n_gundo]
        log.n_groups -= log.groups[u.peer].len - u.len
        log.groups[u.peer].len = u.len
        log.groups[u.peer].block_size = u.block_size
        log.groups[u.peer].last_op = u.last_op
        log.groups[u.peer].has_last_op = u.has_last_op
        if u.len > 0:
            log.groups[u.peer].items[u.len - 1].end = u.end
        log.n_gdeps = u.n_gdeps
    return 0


cdef int log_group_undo_push(OpLog log, uint32_t peer, int64_t key) except -1:
    """Remember the peer's grouping state before a step on ops at arena offset `key`
    (nothing for key < 0: a local commit, which no import undo reaches)."""
    cdef lc_group_list *gl = &log.groups[peer]
    cdef lc_group_undo *u
    if key < 0:
        return 0
    if log.n_gundo == log.cap_gundo:
        log.gundo = <lc_group_undo*>grow(log.gundo, &log.cap_gundo, log.n_gundo + 1, sizeof(lc_group_undo))
    u = &log.gundo[log.n_gundo]
    u.key = key
    u.peer = peer
    u.len = gl.len
    u.block_size = gl.block_size
    u.n_gdeps = log.n_gdeps
    u.last_op = gl.last_op
    u.has_last_op = gl.has_last_op
    u.end = gl.items[gl.len - 1].end if gl.len > 0 else 0
    log.n_gundo += 1
    return 0


cdef int log_group_add(OpLog log, uint32_t peer, int32_t counter, int32_t end,
                       uint32_t lamport, int64_t timestamp, const lc_id *deps, uint32_t n_deps,
                       int32_t msg, int64_t size, bint new_block, int64_t key) except -1:
    """Start a logical change of `peer` (estimated size `size`), in a new block or
    appended to the peer's last block."""
    cdef lc_group_list *gl = &log.groups[peer]
    cdef lc_group *g
    cdef uint32_t i
    log_group_undo_push(log, peer, key)
    if gl.len == gl.cap:
        gl.items = <lc_group*>grow(gl.items, &gl.cap, gl.len + 1, sizeof(lc_group))
    if log.n_gdeps + n_deps > log.cap_gdeps:
        log.gdeps = <lc_id*>grow(log.gdeps, &log.cap_gdeps, log.n_gdeps + n_deps, sizeof(lc_id))
    g = &gl.items[gl.len]
    memset(g, 0, sizeof(lc_group))
    g.counter = counter
    g.end = end
    g.lamport = lamport
    g.timestamp = timestamp
    g.msg = msg
    g.deps_off = log.n_gdeps
    g.deps_len = n_deps
    for i in range(n_deps):
        log.gdeps[log.n_gdeps + i] = deps[i]
    log.n_gdeps += n_deps
    gl.len += 1
    log.n_groups += 1
    gl.block_size = size if new_block else gl.block_size + size
    return 0


cdef int log_group_extend(OpLog log, uint32_t peer, int32_t end, int64_t size,
                          int64_t key) except -1:
    """Merge atoms up to `end` into the peer's last logical change; its block grows by
    `size`."""
    cdef lc_group_list *gl = &log.groups[peer]
    log_group_undo_push(log, peer, key)
    gl.items[gl.len - 1].end = end
    gl.block_size += size
    return 0
