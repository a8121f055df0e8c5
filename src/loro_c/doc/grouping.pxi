# Loro's change grouping: which ops form one change, as Loro's change store decides it.
# Included by _doc.pyx; see docs/ARCHITECTURE.md, "Change grouping".
#
# Every commit and every applied imported change goes through group_change, which mirrors
# Loro's ChangeStore::insert_change: the change's ops are read back as Loro holds them
# (walk_next folds arena ops with merge_ops), its estimated storage size computed (op_size);
# a change over the block size is first cut into pieces the way Loro cuts it (group_split);
# each change or piece then joins the peer's last logical change, starts one in the peer's
# last block, or starts a new block (group_piece). The records live in OpLog.groups.


cdef int walk_init(LoroDoc d, lc_walk *w, uint32_t peer, int32_t a, int32_t b) noexcept:
    """Start a walk over the peer's ops in atoms [a, b) (which must be in the log)."""
    cdef OpLog log = d.log
    cdef int64_t c
    w.peer = peer
    w.a = a
    w.b = b
    w.have = False
    w.j = log.find_change_pos(peer, a)
    if w.j < 0:
        w.j = log.by_peer[peer].len if peer < log.n_peers else 0
        w.i = w.end_i = 0
        return 0
    c = log.by_peer[peer].idx[w.j]
    w.i = log.find_op(c, a)
    w.end_i = log.changes[c].ops_off + log.changes[c].ops_len
    return 0


cdef inline void walk_arena(lc_walk *w, uint32_t peer, int64_t i0, int64_t i1, int32_t a,
                            int32_t b, int64_t n_records) noexcept:
    """Start a walk over the arena ops [i0, i1) only (cut to atoms [a, b)), never moving on to
    another record (`n_records`: the peer's record count)."""
    w.peer = peer
    w.a = a
    w.b = b
    w.have = False
    w.i = i0
    w.end_i = i1
    w.j = n_records


cdef int32_t walk_cut(LoroDoc d, const lc_walk *w, Py_ssize_t max_ops, Py_ssize_t *n) noexcept:
    """Where a walk's piece of at most `max_ops` arena ops (0: no limit) ends: its counter
    end, with the number of arena ops it covers in `n`. The walk itself does not move."""
    cdef OpLog log = d.log
    cdef int64_t j = w.j, i = w.i, e = w.end_i
    cdef lc_change *ch
    n[0] = 0
    while True:
        if i >= e:
            j += 1
            if j >= log.by_peer[w.peer].len:
                break
            ch = &log.changes[log.by_peer[w.peer].idx[j]]
            i = ch.ops_off
            e = ch.ops_off + ch.ops_len
            continue
        if log.ops[i].counter >= w.b:
            break
        if max_ops > 0 and n[0] == max_ops:
            return log.ops[i].counter
        n[0] += 1
        i += 1
    return w.b


cdef bint walk_next(LoroDoc d, lc_walk *w, lc_op *out) noexcept:
    """The next op of the walk, folded with the following ones where merge_ops allows."""
    cdef OpLog log = d.log
    cdef lc_op piece
    cdef lc_op *op
    cdef lc_change *ch
    while True:
        if w.i >= w.end_i:
            # continue in the peer's next op record
            if w.peer >= log.n_peers or w.j + 1 >= log.by_peer[w.peer].len:
                break
            w.j += 1
            ch = &log.changes[log.by_peer[w.peer].idx[w.j]]
            if ch.counter >= w.b:
                w.j = log.by_peer[w.peer].len
                break
            w.i = ch.ops_off
            w.end_i = ch.ops_off + ch.ops_len
            continue
        op = &log.ops[w.i]
        if op.counter >= w.b:
            w.i = w.end_i
            w.j = log.by_peer[w.peer].len
            break
        if op.counter >= w.a and op.counter + op.len <= w.b:
            piece = op[0]                       # (most ops lie inside the range)
        else:
            piece = op_slice(d, op, w.a, w.b)
        w.i += 1
        if w.have and merge_ops(&w.cur, &piece):
            continue
        if w.have:
            out[0] = w.cur
            w.cur = piece
            return True
        w.cur = piece
        w.have = True
    if w.have:
        out[0] = w.cur
        w.have = False
        return True
    return False


cdef int64_t op_size(LoroDoc d, const lc_op *op) noexcept:
    """Loro's estimated storage size of an op: the UTF-8 bytes of a text insert, 4 per list
    value, 8 per delete, 4 per counter increment, 3 per map op."""
    if op.kind == LC_OP_INSERT:
        if d.ckind[op.container] != KIND_TEXT:
            return 4 * <int64_t>op.len
        # its span in Loro's string arena (lstr_place): end - start
        return (<int64_t>op.delta - op.start_id.counter) & 0x7FFFFFFF
    if op.kind == LC_OP_DELETE:
        return 8
    if op.kind == LC_OP_COUNTER:
        return 4
    if op.kind == LC_OP_MOVE:           # MovableList
        return 8
    if op.kind == LC_OP_SET:
        return 7
    if op.kind == LC_OP_MARK_START:
        return 10
    if op.kind == LC_OP_MARK_END:
        return 1
    if op.kind == LC_OP_TREE:
        return 8
    return 3


cdef int64_t append_local_text(LoroDoc d, uint32_t c, int64_t pos, const uint32_t *cps,
                               int64_t n) except -1:
    """Append a local text insert's code points to the sequence content arena; returns the
    offset of the first.

    Loro folds an insert typed right after the peer's previous insert when both lie side by
    side in its string arena, which holds local (and JSON) text only. Ours also holds the
    text of imported changes, so after an import that left changes pending, the content of
    the peer's last op (as Loro holds it: `last_op` of the groups) is no longer at the end
    and the new insert could not fold into it. Its content is then copied to the end first
    (once per such import) and its arena pieces pointed at the copy, so the ops fold as in
    Loro and the change sizes Loro's grouping depends on stay the same."""
    cdef OpLog log = d.log
    cdef SeqArena seq = d.seq
    cdef lc_group_list *gl
    cdef lc_op *last
    cdef int64_t at
    if (d.txn_ops_off == log.n_ops and d.self_idx < log.n_peers
            and log.groups[d.self_idx].has_last_op):
        gl = &log.groups[d.self_idx]
        last = &gl.last_op
        if (last.kind == LC_OP_INSERT and last.container == c and last.pos + last.len == pos
                and last.counter + last.len == log.vv[d.self_idx]
                and <int64_t>last.arg + last.len != seq.text_len
                and last.start_id.peer == d.lstr_gen
                and ((<int64_t>last.delta) & 0x7FFFFFFF) == (d.lstr_len & 0x7FFFFFFF)):
            seq.reserve_text(last.len)          # the copy's source stays in place
            at = seq.append_text(&seq.text[last.arg], last.len)
            repoint_pieces(d, last.counter, at)
            last.arg = at
    return seq.append_text(cps, n)


cdef int repoint_pieces(LoroDoc d, int32_t counter, int64_t new_arg) except -1:
    """Point the peer's arena ops from `counter` on (the pieces of its last op, whose
    content moved to `new_arg`) at the new place."""
    cdef OpLog log = d.log
    cdef uint32_t p = d.self_idx
    cdef int64_t j, i
    cdef lc_change *ch
    if d.txn_merge_floor < d.txn_ops_off and d.txn_base_op.counter >= counter:
        d.txn_base_op.arg = new_arg + (d.txn_base_op.counter - counter)
    j = log.by_peer[p].len - 1
    while j >= 0:
        ch = &log.changes[log.by_peer[p].idx[j]]
        i = ch.ops_off + ch.ops_len - 1
        while i >= ch.ops_off:
            if log.ops[i].counter < counter:
                return 0
            log.ops[i].arg = new_arg + (log.ops[i].counter - counter)
            i -= 1
        j -= 1
    return 0


cdef inline int64_t header_size(uint32_t n_deps) noexcept:
    return 4 + (4 * (<int64_t>n_deps - 1) if n_deps > 1 else 0)


cdef bint joins_previous_op(LoroDoc d, uint32_t peer, int32_t counter, const lc_op *first) noexcept:
    """Whether `first`, the first op of the peer's change starting at `counter`, folds into
    the peer's op just before it (Loro merges ops when changes merge)."""
    cdef OpLog log = d.log
    cdef int64_t c, k
    cdef lc_op prev
    if counter <= 0:
        return False
    c = log.find_change(peer, counter - 1)
    if c < 0:
        return False
    k = log.find_op(c, counter - 1)
    if k >= log.changes[c].ops_off + log.changes[c].ops_len:
        return False
    prev = log.ops[k]
    if prev.counter + prev.len > counter:
        return True     # one op in the arena already: a local commit's first op extended it
    return merge_ops(&prev, first)


cdef bint same_msg(LoroDoc d, int32_t a, int32_t b):
    if a == b:
        return True
    if a < 0 or b < 0:
        return False
    return d.log.messages[a] == d.log.messages[b]


cdef int walk_stats(LoroDoc d, lc_walk *w, int64_t *ops_size, int64_t *n_ops,
                    int64_t *first_size, lc_op *first, lc_op *last) noexcept:
    """Run a walk to its end: the estimated size of its ops as Loro holds them, their
    number, the first one with its size, and the last one."""
    cdef lc_op o
    cdef int64_t sz
    ops_size[0] = 0
    n_ops[0] = 0
    first_size[0] = 0
    while walk_next(d, w, &o):
        sz = op_size(d, &o)
        if n_ops[0] == 0:
            first[0] = o
            first_size[0] = sz
        ops_size[0] += sz
        n_ops[0] += 1
        last[0] = o
    return 0


cdef int range_stats(LoroDoc d, uint32_t peer, int32_t a, int32_t b, int64_t *ops_size,
                     int64_t *n_ops, int64_t *first_size, lc_op *first) noexcept:
    """walk_stats of the peer's ops in atoms [a, b)."""
    cdef lc_walk w
    cdef lc_op last
    walk_init(d, &w, peer, a, b)
    return walk_stats(d, &w, ops_size, n_ops, first_size, first, &last)


cdef int group_change(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                      int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                      bint local, int64_t key, int64_t i0, int64_t i1) except -1:
    """Group a change just logged (atoms [counter, end) of `peer`, its ops the arena ops
    [i0, i1) at the end of the log's last record; the first may begin before `counter`
    when a commit's first op extended the previous op) as Loro's change store does. `key`
    >= 0 asks for an undo record (an import); a local commit is never undone."""
    cdef OpLog log = d.log
    cdef lc_op first, prev, last
    cdef int64_t ops_size, n_ops, first_size
    cdef bint joins = False, merged, prev_known = False
    cdef lc_walk w
    cdef lc_group_list *gl
    cdef int64_t interval = d.merge_interval if local else 0
    if local:
        key = -1
    if d.cold_peers is not None:
        if not local:
            cold_change(d, peer, counter, deps, n_deps)
        elif not (i1 > i0 and log.ops[i0].counter < counter):
            # a local commit too: loro's change store looks for the peer's block among the
            # parsed ones only (probed on loro 1.17.1, server cycle 3841). Its deps are the
            # document's frontiers, parsed by the load, a checkout or an import's diff; a
            # commit that extended the peer's previous op follows a commit of its own, so
            # neither is looked at (a typist pays nothing)
            cold_change(d, peer, counter, NULL, 0)
    if d.lnum_rest is not None and not d.cold_cut and log.groups[peer].len > 0:
        number_joined_block(d, peer, counter)
    if i1 - i0 == 1 and log.ops[i0].counter < counter and log.groups[peer].len > 0 and (
            not d.cold_cut) and can_merge_right(
            d, &log.groups[peer].items[log.groups[peer].len - 1], peer, counter, timestamp,
            deps, n_deps, msg, interval):
        # typing: the commit only extended the previous op, which Loro folds into the last
        # change whatever the block's size, and which adds nothing to it
        log.group_extend(peer, end, 0, key)
        log.groups[peer].last_op = log.ops[i0]
        log.groups[peer].has_last_op = True
        return 0
    # the ops as Loro holds them (folded where merge_ops allows) and their estimated size
    walk_arena(&w, peer, i0, i1, counter, end, log.by_peer[peer].len)
    walk_stats(d, &w, &ops_size, &n_ops, &first_size, &first, &last)
    if header_size(n_deps) + ops_size > MAX_BLOCK_SIZE:
        return group_split(d, peer, counter, end, lamport, timestamp, deps, n_deps, msg, key)
    # `prev`: the peer's last op folded with this change's first one, when that is known
    gl = &log.groups[peer]
    if n_ops > 0:
        if log.ops[i0].counter < counter:
            joins = True    # one arena op: a commit's first op extended the previous one
            prev = log.ops[i0]
            prev_known = True
        elif gl.has_last_op and gl.last_op.counter + gl.last_op.len == counter:
            prev = gl.last_op           # the peer's previous op as Loro holds it
            joins = merge_ops(&prev, &first)
            prev_known = True
        else:
            joins = joins_previous_op(d, peer, counter, &first)
    merged = group_piece(d, peer, counter, end, lamport, timestamp, deps, n_deps, msg,
                         ops_size, n_ops, first_size, joins, interval, key)
    if n_ops > 0:
        # the peer's last op as Loro now holds it
        gl = &log.groups[peer]
        if merged and joins and n_ops == 1:
            gl.last_op = prev
            gl.has_last_op = prev_known
        else:
            gl.last_op = last
            gl.has_last_op = True
    return 0


cdef int cold_change(LoroDoc d, uint32_t peer, int32_t counter, const lc_id *deps,
                     uint32_t n_deps) except -1:
    """A change, imported or local, while loro holds some peers' last blocks encoded only (a
    snapshot loaded into an empty document, ChangeStore::import_all: it parses only the
    blocks of the frontier ids; a fork likewise): loro's change store merges a change into
    the peer's last block only when it has parsed that block (insert_change), so the change
    of such a peer starts a block (kept apart in later snapshots: kept_blocks, and by a
    flush, which encodes only that block: lstr_flush), which it holds parsed. The import's
    diff, calculated once its changes went in, looks up their ancestors in the DAG, which
    parses the other blocks (_import.run_import then warms every peer: probed on loro
    1.17.1, an import of a change depending only on a parsed block's id lets the next
    change of a cold peer join its block). Before that, loro takes the change's Lamport from
    its deps (DagManager::get_change_lamport_from_deps), which loads the DAG nodes of each
    dep's peer from the dep up, parsing those blocks: a change depending on a cold peer's
    op joins that peer's block (probed likewise; seed 564 of the differential sessions).
    """
    cdef uint32_t k
    cdef set cold = d.cold_peers
    for k in range(n_deps):
        cold.discard(d.log.peer_ids[deps[k].peer])
    pid = d.log.peer_ids[peer]
    if pid in cold:
        cold.discard(pid)
        d.kept_blocks.setdefault(pid, []).append(counter)
        d.cold_cut = True
    return 0


cdef int warm_peers(LoroDoc d, object peers) except -1:
    """Loro parsed these peers' last blocks (an export reading their changes; None: every
    peer, a checkout or a diff walking the history)."""
    if d.cold_peers is None:
        return 0
    if peers is None:
        d.cold_peers = None
    else:
        d.cold_peers.difference_update(peers)
        if not d.cold_peers:
            d.cold_peers = None
    return 0


cdef int forked_blocks(LoroDoc fork) except -1:
    """A fork_at loads its history as a change store built anew, one block per peer: it
    parses only the blocks of its frontier ids, as a snapshot load does (probed on loro
    1.17.1). (A fork loads a snapshot: its blocks are that snapshot's.)"""
    cdef OpLog log = fork.log
    cdef int64_t i
    cdef uint32_t k
    fork.kept_blocks = {}
    cold = {log.peer_ids[k] for k in range(log.n_peers) if log.vv[k] > 0}
    for i in range(log.n_frontiers):
        cold.discard(log.peer_ids[log.frontiers[i].peer])
    fork.cold_peers = cold or None
    return 0


cdef int warm_exported(LoroDoc d, dict start, dict end=None) except -1:
    """An export of the changes from version `start` (to `end`, by default the log's):
    loro reads them from its change store, which parses their blocks: the cold peers' get
    warm, and the dead children a snapshot load left waiting there their numbers
    (number_exported_rest)."""
    cdef OpLog log = d.log
    if d.cold_peers is not None:
        warm = []
        for pid in d.cold_peers:
            k = log.peer_map.get(pid)
            if k is None:
                continue
            hi = log.vv[<uint32_t>k] if end is None else min(end.get(pid, 0), log.vv[<uint32_t>k])
            if hi > start.get(pid, 0):
                warm.append(pid)
        warm_peers(d, warm)
    return number_exported_rest(d, start, end)


cdef int warm_frontier_lookups(LoroDoc d, dict vv) except -1:
    """Loro's vv_to_frontiers of `vv` ({peer: end}; the public call, and the start version
    an export_json_updates writes): with two last ids or more (those of the retained
    history, in a shallow document) shrink_frontiers takes each one's Lamport from the
    DAG, which loads that peer's blocks from its last one down (AppDag
    ensure_lazy_load_node): those peers are warm. One id is returned as is, unread
    (probed on loro 1.17.1: seed 1652 of the differential sessions with movable lists and
    trees, test_kept_change_blocks)."""
    cdef OpLog log = d.log
    if d.cold_peers is None and not d.dag_cold:
        return 0
    looked = []
    for p, e in vv.items():
        if e <= 0:
            continue
        if d.shallow_sv is not None and e - 1 < d.shallow_sv.get(p, 0):
            continue
        looked.append(p)
    if len(looked) < 2:
        return 0
    warm = []
    for p in looked:
        k = log.peer_map.get(p)
        # (an id past the log's end loads nothing)
        if k is not None and vv[p] <= log.vv[<uint32_t>k]:
            warm.append(p)
    if d.dag_cold:
        # (the DAG nodes of those peers are read: LoroDoc.dag_cold)
        for p in warm:
            d.dag_cold.pop(p, None)
    return warm_peers(d, warm)


cdef inline bint can_merge_right(LoroDoc d, lc_group *last, uint32_t peer, int32_t counter,
                                 int64_t timestamp, const lc_id *deps, uint32_t n_deps,
                                 int32_t msg, int64_t interval):
    """Loro's Change::can_merge_right: the change continues `last`, depends only on the same
    peer, comes within the merge interval and carries the same message."""
    return (last.end == counter and n_deps == 1 and deps[0].peer == peer
            and timestamp - last.timestamp <= interval and same_msg(d, last.msg, msg))


cdef int group_split(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                     int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                     int64_t key) except -1:
    """A change bigger than a block, cut into pieces the way Loro's change store cuts it
    (ops in order; a text or list insert that does not fit is sliced to the room left; each
    piece depends on the previous one), each piece grouped with Loro's rule for imported
    changes."""
    cdef lc_walk w
    cdef lc_op o, part
    cdef lc_piece pc
    cdef int64_t sz, room, k
    cdef bint cont
    memset(&pc, 0, sizeof(lc_piece))
    pc.start = counter
    pc.pos = counter
    pc.est = header_size(n_deps)
    pc.first_piece = True
    walk_init(d, &w, peer, counter, end)
    while walk_next(d, &w, &o):
        sz = op_size(d, &o)
        cont = False
        if sz >= MAX_BLOCK_SIZE - pc.est and pc.n > 0:
            group_flush(d, peer, counter, lamport, timestamp, deps, n_deps, msg, key, &pc)
        while o.kind == LC_OP_INSERT and sz > MAX_BLOCK_SIZE - pc.est:
            room = MAX_BLOCK_SIZE - pc.est
            k = room if d.ckind[o.container] == KIND_TEXT else room // 4
            if k > o.len:
                k = o.len
            if k <= 0:
                break
            part = op_slice(d, &o, o.counter, o.counter + <int32_t>k)
            piece_add(d, peer, &pc, &part, op_size(d, &part), cont)
            group_flush(d, peer, counter, lamport, timestamp, deps, n_deps, msg, key, &pc)
            if k == o.len:
                o.len = 0
                break
            o = op_slice(d, &o, o.counter + <int32_t>k, o.counter + o.len)
            sz = op_size(d, &o)
            cont = True
        if o.len == 0:
            continue
        pc.est += sz
        if pc.est > MAX_BLOCK_SIZE and pc.n > 0:
            # like Loro, the op that starts the next piece is not counted in its estimate
            group_flush(d, peer, counter, lamport, timestamp, deps, n_deps, msg, key, &pc)
        piece_add(d, peer, &pc, &o, sz, cont)
    if pc.n > 0:
        group_flush(d, peer, counter, lamport, timestamp, deps, n_deps, msg, key, &pc)
    d.log.groups[peer].has_last_op = False
    return 0


cdef int piece_add(LoroDoc d, uint32_t peer, lc_piece *pc, const lc_op *o, int64_t sz,
                   bint cont) except -1:
    """Add an op to the piece being cut; `cont`: it continues an op sliced at the previous
    piece's end."""
    if pc.n == 0:
        pc.first_size = sz
        pc.first_joins = joins_previous_op(d, peer, pc.start, o) if pc.first_piece else cont
    pc.size += sz
    pc.n += 1
    pc.pos = o.counter + o.len
    return 0


cdef int group_flush(LoroDoc d, uint32_t peer, int32_t counter, uint32_t lamport,
                     int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                     int64_t key, lc_piece *pc) except -1:
    """Group the piece cut so far and start the next one."""
    cdef lc_id prev
    if pc.first_piece:
        group_piece(d, peer, pc.start, pc.pos, lamport, timestamp, deps, n_deps, msg,
                    pc.size, pc.n, pc.first_size, pc.first_joins, 0, key)
    else:
        prev = make_id(peer, pc.start - 1)
        group_piece(d, peer, pc.start, pc.pos, lamport + <uint32_t>(pc.start - counter),
                    timestamp, &prev, 1, msg, pc.size, pc.n, pc.first_size,
                    pc.first_joins, 0, key)
    pc.first_piece = False
    pc.start = pc.pos
    pc.size = 0
    pc.n = 0
    pc.est = 4
    return 0


cdef int group_piece(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                     int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                     int64_t ops_size, int64_t n_ops, int64_t first_size, bint first_joins,
                     int64_t interval, int64_t key) except -1:
    """Loro's ChangesBlock::push_change for a change that fits a block: it merges into the
    peer's last change (Change::can_merge_right with `interval`) while the block is not full,
    or when it is a single op that folds into the last op (returns 1); else it is a separate
    change in that block, or in a new block when that one is full (returns 0)."""
    cdef OpLog log = d.log
    cdef lc_group_list *gl = &log.groups[peer]
    cdef lc_group *last
    cdef int64_t size = header_size(n_deps) + ops_size
    cdef bint full
    if gl.len == 0 or d.cold_cut:
        # (a peer's first change, or one loro puts in a block of its own: cold_change)
        d.cold_cut = False
        log.group_add(peer, counter, end, lamport, timestamp, deps, n_deps, msg, size, True, key)
        return 0
    last = &gl.items[gl.len - 1]
    full = size + gl.block_size > MAX_BLOCK_SIZE
    if (can_merge_right(d, last, peer, counter, timestamp, deps, n_deps, msg, interval)
            and (not full or (n_ops == 1 and first_joins))):
        # ops that fold into the previous op do not grow the block
        log.group_extend(peer, end, ops_size - (first_size if first_joins else 0), key)
        return 1
    log.group_add(peer, counter, end, lamport, timestamp, deps, n_deps, msg, size, full, key)
    return 0


cdef int group_kept(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                    int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                    int64_t key) except -1:
    """A change of a snapshot imported into an empty document: Loro keeps the snapshot's
    blocks as they are, so it stays a change of its own; the peer's last block then has the
    size of its encoded bytes (what Loro estimates for a block read from bytes)."""
    size = d.snap_blocks.get(d.log.peer_ids[peer], 0) if d.snap_blocks else 0
    d.log.group_add(peer, counter, end, lamport, timestamp, deps, n_deps, msg, size, True, key)
    d.log.groups[peer].has_last_op = False
    return 0


cdef int64_t deps_timestamp(LoroDoc d, const lc_id *deps, int64_t n) noexcept:
    """The greatest timestamp of the (logical) changes holding `deps`: Loro never stamps a
    local change earlier than that."""
    cdef int64_t i, g, best = 0
    cdef lc_group *grp
    for i in range(n):
        g = d.log.find_group(deps[i].peer, deps[i].counter)
        if g >= 0:
            grp = &d.log.groups[deps[i].peer].items[g]
            if grp.timestamp > best:
                best = grp.timestamp
    return best


cdef int check_groups(LoroDoc d) except -1:
    """Invariant: each peer's logical changes tile its counters [0, vv) in order, and their
    count is n_groups."""
    cdef OpLog log = d.log
    cdef uint32_t p
    cdef int64_t i, total = 0
    cdef int32_t at
    cdef lc_group_list *gl
    for p in range(log.n_peers):
        gl = &log.groups[p]
        at = log.floor[p] if log.has_floor else 0     # (a shallow document's trimmed history)
        for i in range(gl.len):
            if gl.items[i].counter != at or gl.items[i].end <= at:
                raise AssertionError(f"logical changes of peer index {p} do not tile its counters at {at}")
            at = gl.items[i].end
        if log.by_peer[p].len > 0 and at != log.changes[log.by_peer[p].idx[log.by_peer[p].len - 1]].end:
            raise AssertionError(f"logical changes of peer index {p} end at {at}, its records elsewhere")
        total += gl.len
    if total != log.n_groups:
        raise AssertionError("n_groups out of step with the per-peer lists")
    return 0


cdef int note_blocks_flushed(LoroDoc d, dict ends=None) except -1:
    """Loro's blocks of this document's history are as a snapshot holds them, encoded
    (a snapshot load, a fork): lstr_flush leaves them until their peers add changes.
    `ends`: peer -> the counter end the snapshot holds (by default the whole log's; a
    thin load's log is read later)."""
    cdef OpLog log = d.log
    cdef uint32_t p
    if ends is None:
        ends = {log.peer_ids[p]: log.vv[p] for p in range(log.n_peers)}
    d.flushed_vv = ends
    d.joined_parsed = None
    return 0


cdef int reread_group_deps(OpLog log, uint32_t p, int64_t lo) except -1:
    """The deps of peer `p`'s changes from counter `lo` on as loro holds them once a flush
    encoded their blocks and it reads them back (lstr_flush): the block lists a change's
    dep on its own peer first (a flag), then the others in the order its Frontiers yielded
    them; the decoder pushes them in that order into a new Frontiers, a hash map of peer to
    counter for two deps or more, which yields them in its bucket order. So a change with
    deps on peers that share a bucket, or whose own dep sat between two others, lists them
    in another order after each export of a snapshot that encoded its block again (probed
    on loro 1.17.1: deps on peers 3, 1 and 2 of a peer-3 change, written [3, 2, 1] before
    a snapshot export and [3, 1, 2] after, back to [3, 2, 1] after a new change of peer 3
    and another snapshot export, unchanged by a second export with nothing new; kinds late
    sessions 2909, 2951). Only the exported deps (the groups', log.gdeps) change: loro's
    DAG keeps its own copy of each change's deps as they were."""
    cdef lc_group_list *gl = &log.groups[p]
    cdef lc_group *g
    cdef lc_id *ids
    cdef lc_id sent[8]
    cdef uint64_t hs[8]
    cdef int64_t order[8]
    cdef int64_t i, j, k, n, m
    cdef bint dup
    for k in range(gl.len):
        g = &gl.items[k]
        n = g.deps_len
        if g.counter < lo or n < 2:
            continue
        ids = &log.gdeps[g.deps_off]
        dup = False
        for i in range(n):
            for j in range(i):
                if ids[i].peer == ids[j].peer:
                    dup = True
        if dup:
            continue        # (never met: kept as they are)
        if n > 8:
            from loro_c.hash_order import frontiers_map_order
            pairs = [(log.peer_ids[ids[i].peer], ids[i].counter) for i in range(n) if ids[i].peer == p]
            pairs += [(log.peer_ids[ids[i].peer], ids[i].counter) for i in range(n) if ids[i].peer != p]
            for i, (dp, dc) in enumerate(frontiers_map_order(pairs)):
                ids[i] = make_id(<uint32_t>log.peer_map[dp], <int32_t>dc)
            continue
        m = 0
        for i in range(n):
            if ids[i].peer == p:
                sent[m] = ids[i]
                m += 1
        for i in range(n):
            if ids[i].peer != p:
                sent[m] = ids[i]
                m += 1
        for i in range(n):
            hs[i] = fx_finish(fx_add(0, log.peer_ids[sent[i].peer]))
        hb_table_order(hs, n, order)
        for i in range(n):
            ids[i] = sent[order[i]]
    return 0


cdef int lstr_flush(LoroDoc d) except -1:
    """Loro encodes its change blocks when it exports a snapshot or forks
    (`flush_and_compact`) and reads a block back from its bytes when it next needs it
    (measured on loro 1.17.1). The ops read back hold their text in the block's buffer,
    side by side in counter order, and consecutive ones fold where one longer op would
    do (`ab` and `cd` typed around one snapshot export are two ops, after a second export
    one); no later insert, whose text goes to the string arena, folds into them, and the
    events join their bytes as they lie in the block. So the text ops of each peer (taken
    as one block) get one fresh buffer number and consecutive offsets; merge_ops then
    folds them as Loro's decoder does.

    Only a block with changes added since the last flush is encoded again: one already
    encoded keeps the ops it parsed since, and their bytes (ChangesBlock.flushed; probed on
    loro 1.17.1: a text's character a checkout brings back after a second export follows
    its neighbour brought back after the first, unless its peer had a change in between).
    So a peer's ops move only when its counters grew since the last flush, and then only
    those of the blocks that took the new changes: loro's store keeps a peer's history in
    blocks (the ones a load read, LoroDoc.kept_blocks, and those a cold peer's change
    started since, cold_change), and a block encoded before, e.g. the one a snapshot load
    left encoded, keeps the bytes it was read with; each block encoded again gets a buffer
    of its own (probed on loro 1.17.1: 'abab' loaded, its peer's next insert 'xyz' right
    after it in a block of its own, a save: the text shown again as 'abab', 'xyz', joined
    only when the insert went into the loaded block; server cycle 3841)."""
    cdef OpLog log = d.log
    cdef uint32_t p, buf
    cdef int64_t j, k, ch, nbytes, end, lo, nxt, flushed
    cdef Py_ssize_t b
    cdef list starts
    cdef int64_t blob_bit = 0x80000000, mask = 0x7FFFFFFF
    cdef lc_op *op
    cdef dict done = d.flushed_vv
    if (d.flushed_ops == log.n_ops and d.flushed_text == d.lstr_len
            and d.flushed_changes == log.n_changes):
        return 0            # nothing new since the last flush: the same layout
    freeze_text_state(d)    # (the state keeps the bytes it holds: state/text_backing.pxi)
    for p in range(log.n_peers):
        pid = log.peer_ids[p]
        flushed = -1 if done is None else done.get(pid, -1)
        if flushed == log.vv[p]:
            continue
        # the blocks from the one holding the flushed end on took changes since (a block
        # ending there did not); `nxt`: where the next block starts
        lo = 0
        nxt = INT64_MAX
        b = 0
        starts = d.kept_blocks.get(pid) if d.kept_blocks else None
        if starts:
            starts = sorted(starts)
            while b < len(starts) and starts[b] <= flushed:
                lo = starts[b]
                b += 1
            if b < len(starts):
                nxt = starts[b]
        if d.shallow_sv is None:
            reread_group_deps(log, p, lo)
        buf = next_buffer(d)
        end = 0
        for j in range(log.by_peer[p].len):
            ch = log.by_peer[p].idx[j]
            if log.changes[ch].end <= lo:
                continue
            for k in range(log.changes[ch].ops_off, log.changes[ch].ops_off + log.changes[ch].ops_len):
                op = &log.ops[k]
                if op.kind != LC_OP_INSERT or d.ckind[op.container] != KIND_TEXT:
                    continue
                if op.counter < lo:
                    continue
                if op.counter >= nxt:
                    # (a block of its own: encoded apart)
                    buf = next_buffer(d)
                    end = 0
                    while b < len(starts) and starts[b] <= op.counter:
                        b += 1
                    nxt = starts[b] if b < len(starts) else INT64_MAX
                if (<int64_t>op.delta) & blob_bit:
                    nbytes = (<int64_t>op.delta) & mask
                else:
                    nbytes = ((<int64_t>op.delta) - op.start_id.counter) & mask
                op.start_id.peer = buf
                op.start_id.counter = <int32_t>(end & mask)
                end += nbytes
                op.delta = <double>(end & mask)
        op = &log.groups[p].last_op
        if log.groups[p].has_last_op and op.kind == LC_OP_INSERT and d.ckind[op.container] == KIND_TEXT:
            # (the peer's last op as Loro holds it: nothing new folds into it)
            op.start_id.peer = next_buffer(d)
    d.flushed_ops = log.n_ops
    d.flushed_text = d.lstr_len
    d.flushed_changes = log.n_changes
    note_blocks_flushed(d)
    return 0
