# The sequence reads behind loro_c.cursor (Python-visible, taking the document lock):
# the atom at a visible position, and where a cursor's atom is now.


def cursor_atom_at(LoroDoc d, uint32_t c, int64_t pos, bint a_list=False):
    """(visible length, (peer, counter) of the atom at visible index `pos` or None).
    `a_list`: `c` is a List, whose items' ids a snapshot load takes from its state, so the
    read needs neither the history nor the maps the load left encoded (a text's style
    anchors and trees do)."""
    cdef int slot
    cdef int64_t off
    cdef uint32_t leaf, t
    cdef lc_id a
    if a_list:
        doc_acquire_handles(d)
    else:
        doc_acquire(d)
    try:
        t = d.ctree[c]
        rich = d.ckind[c] == KIND_TEXT and d.seq.nodes[d.seq.roots[t]].lens.anchors
        n = d.seq.char_len(t) if rich else d.seq.visible_len(t)
        if pos < 0 or pos >= n:
            return n, None
        if rich:
            # text with style anchors: positions count code points (seq/anchors.pxi)
            leaf = find_char(d.seq, t, pos, &slot, &off)
        else:
            leaf = d.seq.find_visible(t, pos, &slot, &off)
        a = d.seq.nodes[leaf].u.spans[slot].id
        return n, (d.log.peer_objs[a.peer], a.counter + <int32_t>off)
    finally:
        doc_release(d)


def cursor_find(LoroDoc d, cid, id):
    """For a cursor on container `cid` at op id `id` (or None): (container index,
    visible length, visible atoms before the atom, whether it is visible); None when the
    container or the atom is unknown here."""
    cdef uint32_t c, t, p, leaf
    cdef int slot
    cdef int64_t before
    doc_acquire(d)
    try:
        found = d.cid_index.get(cid)
        if found is None:
            return None
        c = <uint32_t>found
        if d.ckind[c] != KIND_TEXT and d.ckind[c] != KIND_LIST:
            return None
        t = d.ctree[c]
        rich = d.ckind[c] == KIND_TEXT and d.seq.nodes[d.seq.roots[t]].lens.anchors
        n = d.seq.char_len(t) if rich else d.seq.visible_len(t)
        if id is None:
            return c, n, 0, False
        pi = d.log.peer_map.get(id.peer)
        if pi is None or id.counter < 0 or id.counter >= d.log.vv[<uint32_t>pi]:
            return None
        p = <uint32_t>pi
        try:
            leaf = locate(d.seq, make_id(p, id.counter), &slot)
        except AssertionError:
            return None     # an op of that peer that is no atom of a sequence
        if d.seq.nodes[leaf].tree != t:
            return None
        before = visible_before(d.seq, leaf, slot, id.counter)
        if rich:
            before -= anchors_before(d.seq, leaf, slot)
        return c, n, before, span_visible(&d.seq.nodes[leaf].u.spans[slot])
    finally:
        doc_release(d)
