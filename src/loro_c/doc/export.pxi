# Export gathering (included by _doc.pyx): the logical changes of a peer cut to a counter
# range (regrouped as Loro's binary export regroups them), an op cut to a range of its
# atoms, an op as the change tuple the codecs share.


cdef list change_spans(LoroDoc d, uint32_t p, int64_t g, int32_t lo, int32_t hi, bint regroup):
    """The peer's logical changes from index `g` cut to [lo, hi), each as [a, b, lamport,
    timestamp, message index, deps]; with `regroup`, merged as Loro's ChangesBlock::
    push_change merges them into the export's fresh change store (merge interval 0, no
    splitting)."""
    cdef OpLog log = d.log
    cdef lc_group *grp
    cdef int32_t a, b, cur_msg = -1
    cdef int64_t i, block = 0, ops_size, n_ops, first_size, size, cur_ts = 0
    cdef uint32_t n_deps
    cdef bint joins, full, sliced
    cdef lc_op first
    cdef list spans = []
    pid = log.peer_objs[p]
    while g < log.groups[p].len:
        grp = &log.groups[p].items[g]
        if grp.counter >= hi:
            break
        a = grp.counter if grp.counter > lo else lo
        b = grp.end if grp.end < hi else hi
        sliced = a > grp.counter
        n_deps = 1 if sliced else grp.deps_len
        if regroup:
            range_stats(d, p, a, b, &ops_size, &n_ops, &first_size, &first)
            size = header_size(n_deps) + ops_size
        if regroup and spans:
            full = size + block > MAX_BLOCK_SIZE
            joins = n_ops > 0 and joins_previous_op(d, p, a, &first)
            if ((sliced or (grp.deps_len == 1 and log.gdeps[grp.deps_off].peer == p))
                    and grp.timestamp - cur_ts <= 0 and same_msg(d, cur_msg, grp.msg)
                    and (not full or (n_ops == 1 and joins))):
                spans[len(spans) - 1][1] = b
                block += ops_size - (first_size if joins else 0)
                g += 1
                continue
            block = block + size if not full else size
        elif regroup:
            block = size
        cur_ts = grp.timestamp
        cur_msg = grp.msg
        if sliced:
            deps = [(pid, a - 1)]
        else:
            deps = [(log.peer_ids[log.gdeps[i].peer], log.gdeps[i].counter)
                    for i in range(grp.deps_off, grp.deps_off + grp.deps_len)]
        spans.append([a, b, grp.lamport + <uint32_t>(a - grp.counter), grp.timestamp,
                      grp.msg, deps])
        g += 1
    return spans


cdef lc_op op_slice(LoroDoc d, lc_op *op, int32_t a, int32_t b):
    """A copy of an op cut down to its atoms in [a, b)."""
    cdef lc_op o = op[0]
    cdef int32_t cut = a - o.counter if a > o.counter else 0
    cdef int32_t keep
    cdef const uint32_t *text
    if cut > 0:
        slice_op(&o, cut)
        if o.kind == LC_OP_INSERT and lc_insert_is_text(&o):
            # a text insert's start in Loro's string arena moves by the bytes cut off
            # (counted on the shorter side: a commit's extension of a long op is short)
            text = &d.seq.text[o.arg]
            if cut <= o.len:
                o.start_id.counter = <int32_t>((o.start_id.counter + utf8_bytes(text - cut, cut)) & 0x7FFFFFFF)
            else:
                o.start_id.counter = <int32_t>((<int64_t>o.delta - utf8_bytes(text, o.len)) & 0x7FFFFFFF)
    keep = b - o.counter
    if keep < o.len:
        if o.kind == LC_OP_DELETE:
            if o.arg > 0:
                o.arg = keep
            else:
                # a backward delete's first atoms remove its rightmost targets
                o.start_id.counter += o.len - keep
                o.arg = -keep
        elif o.kind == LC_OP_INSERT:
            if not lc_insert_is_text(&o):
                o.delta = <double>((o.start_id.counter + keep) & 0x7FFFFFFF)
            elif keep <= o.len - keep:
                o.delta = <double>((o.start_id.counter + utf8_bytes(&d.seq.text[o.arg], keep)) & 0x7FFFFFFF)
            else:
                o.delta = <double>((<int64_t>o.delta - utf8_bytes(&d.seq.text[o.arg + keep], o.len - keep))
                                   & 0x7FFFFFFF)
        o.len = keep
    return o


cdef tuple op_tuple(LoroDoc d, lc_op *op):
    """An op as the decoded tuple the codecs share."""
    cdef lc_op o = op[0]
    cid = d.cids[o.container]
    if o.kind == LC_OP_INSERT:
        if d.ckind[o.container] == KIND_TEXT:
            content = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &d.seq.text[o.arg], o.len)
        else:
            content = [copy_value(v) for v in d.log.values[o.arg:o.arg + o.len]]
        return (LC_OP_INSERT, cid, o.counter, o.pos, content)
    if o.kind == LC_OP_DELETE:
        return (LC_OP_DELETE, cid, o.counter, o.pos, o.arg,
                d.log.peer_ids[o.start_id.peer], o.start_id.counter)
    if o.kind == LC_OP_MAP_SET:
        return (LC_OP_MAP_SET, cid, o.counter, d.log.keys[o.pos], copy_value(d.log.values[o.arg]))
    if o.kind == LC_OP_MAP_DELETE:
        return (LC_OP_MAP_DELETE, cid, o.counter, d.log.keys[o.pos])
    if o.kind == LC_OP_MOVE:            # MovableList (state/movable_list.pxi)
        return (LC_OP_MOVE, cid, o.counter, <int64_t>o.delta, o.pos,
                d.log.peer_ids[o.start_id.peer], <uint32_t>o.start_id.counter)
    if o.kind == LC_OP_SET:
        return (LC_OP_SET, cid, o.counter, d.log.peer_ids[o.start_id.peer],
                <uint32_t>o.start_id.counter, copy_value(d.log.values[o.arg]))
    if o.kind == LC_OP_MARK_START:
        return (LC_OP_MARK_START, cid, o.counter, o.pos, o.start_id.counter,
                d.log.keys[o.start_id.peer], copy_value(d.log.values[o.arg]), <int>o.delta)
    if o.kind == LC_OP_MARK_END:
        return (LC_OP_MARK_END, cid, o.counter)
    if o.kind == LC_OP_TREE:            # state/tree.pxi
        return (LC_OP_TREE, cid, o.counter, d.log.peer_ids[o.start_id.peer], o.start_id.counter,
                tree_op_parent(d, &o), d.log.values[o.arg])
    return (LC_OP_COUNTER, cid, o.counter, o.delta)


cdef class DocOps:
    """The ops of one peer restricted to atoms [a, b), read from the op arena (across the
    peer's op records) and yielded one by one, cut to the range and folded together where
    loro would hold them as one op. Encoders read them without building a Python object
    per op."""

    def __len__(self):
        return self.n_arena_ops

    cdef bint next_op(self, lc_op *out) noexcept:
        return walk_next(self.doc, &self.w, out)


cdef list collect_changes(LoroDoc d, dict start, dict end, Py_ssize_t piece_ops, int64_t since,
                          bint regroup, bint commit):
    """Committed changes (grouped as Loro groups them) overlapping [start, end), peer by
    peer in counter order, as change tuples (end None: the log's version; then `since`
    >= 0 says `start` is the version at that snapshot epoch, so only peers that moved
    after it can differ). With `piece_ops` > 0 the ops are DocOps ranges (for the binary
    encoder) and a change is cut into pieces of at most that many arena ops; otherwise
    they are op tuples. Only the requested peers' changes are visited.

    With `regroup`, the changes are grouped again the way Loro's binary export does (it
    inserts the cut changes into a fresh change store: consecutive changes that may
    merge are merged while their new block has room); JSON exports keep them as they
    are. Without `commit`, the open transaction stays open and is left out."""
    if commit:
        commit_txn(d)
    cdef OpLog log = d.log
    cdef int64_t g
    cdef Py_ssize_t n
    cdef int32_t lo, hi, a, b, cut
    cdef uint32_t p
    cdef lc_op o
    cdef DocOps rng
    cdef PyObject *lo_ptr
    out = []
    if end is None:
        # one dict probe per peer, no dict of the whole version built
        items = []
        for p in range(log.n_peers):
            if log.vv[p] > 0 and (since < 0 or log.vv_epoch[p] > <uint64_t>since):
                pid = log.peer_objs[p]
                lo_ptr = PyDict_GetItem(start, pid)
                if lo_ptr == NULL or PyLong_AsLong(<object>lo_ptr) < log.vv[p]:
                    items.append((pid, log.vv[p]))
    else:
        items = end.items()
    for pid, hi_obj in items:
        idx = log.peer_map.get(pid)
        if idx is None:
            continue
        p = idx
        hi = hi_obj if hi_obj < log.vv[p] else log.vv[p]
        if d.txn_open and p == d.self_idx and hi > d.txn_counter:
            hi = d.txn_counter       # only committed ops
        lo = start.get(pid, 0)
        if lo < 0:
            lo = 0
        if lo >= hi:
            continue
        g = log.find_group(p, lo)
        if g < 0:
            continue
        spans = change_spans(d, p, g, lo, hi, regroup)
        for a0, b0, lamport, ts, msg_i, deps in spans:
            a = a0
            b = b0
            msg = log.messages[msg_i] if msg_i >= 0 else None
            while a < b:
                rng = DocOps.__new__(DocOps)
                rng.doc = d
                walk_init(d, &rng.w, p, a, b)
                # the piece ends before the op that would exceed `piece_ops`
                cut = walk_cut(d, &rng.w, piece_ops, &n)
                rng.w.b = cut
                rng.a = a
                rng.b = cut
                rng.n_arena_ops = n
                if a > a0:
                    deps = [(pid, a - 1)]
                if piece_ops > 0:
                    ops = rng
                else:
                    ops = []
                    while rng.next_op(&o):
                        ops.append(op_tuple(d, &o))
                out.append((pid, a, lamport + <uint32_t>(a - a0), ts, msg, deps, ops))
                a = cut
    return out


cdef list pending_changes(LoroDoc d):
    """The pending changes (staged by imports, waiting for dependencies) as change tuples,
    peer by peer in counter order, as their blobs gave them."""
    cdef int64_t i, j
    cdef lc_staged *st
    cdef OpLog log = d.log
    out = []
    for i in range(d.n_staged):
        st = &d.staged[i]
        if st.flags & (LC_STAGED_DEAD | LC_STAGED_DONE) or st.ops_len == 0:
            continue
        deps = [(log.peer_ids[d.sdeps[j].peer], d.sdeps[j].counter)
                for j in range(st.deps_off, st.deps_off + st.deps_len)]
        ops = [op_tuple(d, &log.ops[j]) for j in range(st.ops_off, st.ops_off + st.ops_len)]
        out.append((log.peer_ids[st.peer], st.counter, st.lamport, st.timestamp,
                    log.messages[st.msg] if st.msg >= 0 else None, deps, ops))
    out.sort(key=lambda c: (c[0], c[1]))
    return out
