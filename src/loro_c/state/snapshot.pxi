# The state of every container as a snapshot's state section needs it (issue 11): for each
# container its id, kind, depth and parent, and its state read out of the C structures with
# the ids and Lamports Loro keeps beside the values. The codec (codec/snapshot_encode.pxi)
# writes the bytes; this part only reads the document, at the tracker's (= the log's) head.


def snapshot_state_rows(LoroDoc d):
    """[(cid, kind, depth, parent cid or None, payload)] of the containers a snapshot's state
    holds: the roots the document lists and every child container its log created.
    Payloads: Text (str, [(peer, counter, lamport, len)], style ranges), List (values,
    [(peer, counter, lamport)]), Map ([(key, has value, value, peer, lamport)]), Counter
    (float)."""
    cdef uint32_t c
    cdef dict depth_of = {}
    cdef list rows = []
    for c in range(<uint32_t>d.n_containers):
        cid = d.cids[c]
        if d.croot[c] != ROOT_NONE:
            if d.croot[c] != ROOT_SHOWN:
                continue
            if cid in d.deleted_roots:
                # a root cleared by delete_root_container stays out while it is empty, as
                # in loro's state (and in get_value)
                v = value_of(d, c, False)
                if (v == 0.0 if d.ckind[c] == KIND_COUNTER else len(v) == 0):
                    continue
            parent = None
        else:
            link = parent_container(d, cid)
            if link is None:
                continue
            parent = d.cids[<uint32_t>link]
        rows.append((cid, d.ckind[c], container_depth(d, c, depth_of), parent,
                     state_payload(d, c)))
    return rows


cdef object parent_container(LoroDoc d, object cid):
    """Index of the container whose op created the child container `cid`, or None."""
    cdef OpLog log = d.log
    cdef int64_t ch, k
    found = log.peer_map.get(cid.peer)
    if found is None:
        return None
    ch = log.find_change(<uint32_t>found, <int32_t>cid.counter)
    if ch < 0:
        return None
    k = log.find_op(ch, <int32_t>cid.counter)
    if k >= <int64_t>(log.changes[ch].ops_off + log.changes[ch].ops_len) or log.ops[k].counter > cid.counter:
        return None
    return log.ops[k].container


cdef Py_ssize_t container_depth(LoroDoc d, uint32_t c, dict depth_of) except -1:
    """Loro's arena depth: 1 for a root, its parent's plus one for a child (iterative: a
    chain of nested containers may be deep)."""
    cdef list chain = []
    cdef Py_ssize_t depth
    while True:
        got = depth_of.get(c)
        if got is not None:
            depth = got
            break
        if d.croot[c] != ROOT_NONE:
            depth = 1
            depth_of[c] = 1
            break
        chain.append(c)
        link = parent_container(d, d.cids[c])
        if link is None:
            depth = 0
            break
        c = <uint32_t>link
    for c in reversed(chain):
        depth += 1
        depth_of[c] = depth
    return depth


cdef object state_payload(LoroDoc d, uint32_t c):
    cdef int kind = d.ckind[c]
    if kind == KIND_TEXT:
        if d.seq.nodes[d.seq.roots[d.ctree[c]]].lens.anchors:
            # style ranges (marks) would join here: [(start id, end id, key, value, info)]
            # in the order Loro's chunks hold their style anchors; not written yet
            raise SnapshotStateUnsupported("text marks have no snapshot state in loro_c yet")
        return (text_value(d, c), seq_visible_runs(d, c, True), [])
    if kind == KIND_LIST:
        values = d.log.values
        return ([resolve_value(d, values[s], False) for s in list_slots(d, c)],
                seq_visible_runs(d, c, False))
    if kind == KIND_MAP:
        return map_state_rows(d, c)
    if kind == KIND_COUNTER:
        return d.ccounter[c]
    raise SnapshotStateUnsupported(
        f"{_TYPE_NAMES[kind]} containers have no snapshot state in loro_c yet")


class SnapshotStateUnsupported(LoroError):
    """A container kind whose state loro_c cannot write in a snapshot's state section yet
    (MovableList): ExportMode.Snapshot then falls back to the whole history as updates."""


cdef list seq_visible_runs(LoroDoc d, uint32_t c, bint merge):
    """Ids of the visible atoms of a Text or List in document order: (peer id, counter,
    lamport, len) runs of one op, joined with the next when ids and Lamports continue (when
    `merge`); otherwise one (peer, counter, lamport) per atom."""
    cdef SeqArena a = d.seq
    cdef OpLog log = d.log
    cdef uint32_t leaf = a.first_leaf(d.ctree[c])
    cdef lc_span *s
    cdef int i
    cdef int32_t k
    cdef uint32_t lam, last_peer = LC_NO_PEER
    cdef int64_t last_end = -1, last_lam_end = -1
    cdef list out = []
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            lam = log.lamport_of(s.id)
            pid = log.peer_objs[s.id.peer]
            if not merge:
                for k in range(s.len):
                    out.append((pid, s.id.counter + k, lam + <uint32_t>k))
                continue
            if (s.id.peer == last_peer and s.id.counter == last_end and lam == last_lam_end):
                prev = out[len(out) - 1]
                out[len(out) - 1] = (prev[0], prev[1], prev[2], prev[3] + s.len)
            else:
                out.append((pid, s.id.counter, lam, s.len))
            last_peer = s.id.peer
            last_end = s.id.counter + s.len
            last_lam_end = lam + s.len
        leaf = a.nodes[leaf].next_leaf
    return out


cdef list map_state_rows(LoroDoc d, uint32_t c):
    """(key, has value, value, peer id, lamport) of every key the map holds a winner for."""
    cdef lc_map *m = &d.maps[d.ctree[c]]
    cdef uint32_t i
    cdef list keys = d.log.keys, values = d.log.values
    cdef list out = []
    for i in range(m.cap):
        if m.entries[i].key == LC_NO_KEY or m.entries[i].peer == LC_NO_KEY:
            continue
        if m.entries[i].slot >= 0:
            out.append((keys[m.entries[i].key], True,
                        resolve_value(d, values[m.entries[i].slot], False),
                        d.log.peer_objs[m.entries[i].peer], m.entries[i].lamport))
        else:
            out.append((keys[m.entries[i].key], False, None,
                        d.log.peer_objs[m.entries[i].peer], m.entries[i].lamport))
    return out
