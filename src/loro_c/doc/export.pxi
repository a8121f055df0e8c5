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
    return (LC_OP_COUNTER, cid, o.counter, o.delta)
