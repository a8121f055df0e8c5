# Integrating sequence ops at the tracker version: an insert goes where Loro's Fugue rule
# puts it among the concurrent (future) spans of its gap, as a span of its own or as the
# continuation of the run before it (insert_span); a delete marks visible atoms. Both append
# tracker records for their own atoms.


cdef int origin_left_of(SeqArena a, lc_id id, lc_id *out) except -1 nogil:
    cdef int i
    cdef uint32_t nd = locate(a, id, &i)
    cdef lc_span *s = &a.nodes[nd].u.spans[i]
    if s.id.counter == id.counter:
        out[0] = s.origin_left
    else:
        out[0] = make_id(id.peer, id.counter - 1)
    return 0


cdef inline void span_lens_changed(SeqArena a, uint32_t t, uint32_t leaf, const lc_span *s,
                                   int64_t sign, bint new) noexcept nogil:
    """Span `s` of `leaf` was shown (sign 1; `new`: it was added to the leaf) or hidden (-1):
    bring the cached lengths up to date. A tree with style anchors recounts the leaf (its
    anchor counts and style summaries); any other walks up adding the span's lengths."""
    if a.tree_is_text[t] & TREE_ANCHORED:
        a.leaf_update(leaf)
    else:
        lens_shift_up(a, leaf, s, sign, new)


cdef int insert_span(SeqArena a, uint32_t t, uint32_t leaf, int slot, int64_t off,
                     lc_span *span) except -1 nogil:
    """Insert `span` at (leaf, slot, off): inside span `slot` when off > 0, else before it.
    Extends the previous span instead when the new atoms continue it."""
    cdef int idx = slot
    cdef lc_node *node
    cdef lc_span *prev
    cdef uint32_t pleaf
    cdef int pidx, half
    if off > 0:
        a.split_span(t, &leaf, &idx, <int32_t>off)
    node = &a.nodes[leaf]
    # the previous span: in this leaf, or the last one of the previous leaf
    pleaf = leaf
    pidx = idx - 1
    if pidx < 0 and node.prev_leaf != LC_NO_NODE:
        pleaf = node.prev_leaf
        pidx = a.nodes[pleaf].n - 1
    if pidx >= 0:
        prev = &a.nodes[pleaf].u.spans[pidx]
        if (prev.id.peer == span.id.peer
                and prev.id.counter + prev.len == span.id.counter
                and span.origin_left.peer == prev.id.peer
                and span.origin_left.counter == prev.id.counter + prev.len - 1
                and id_eq(prev.origin_right, span.origin_right)
                and prev.future == 0 and prev.deleted == 0
                and prev.content + <uint32_t>prev.len == span.content):
            prev.len += span.len
            prev.utf8_len += span.utf8_len
            prev.utf16_len += span.utf16_len
            reserve_atoms(a, span.id.peer, <int64_t>span.id.counter + span.len)
            span_lens_changed(a, t, pleaf, span, 1, True)
            return 0
    if node.n == LC_BT_MAX:
        # appending at the end of a leaf (typing at the end of a run of edits) leaves the
        # old leaf nearly full; otherwise split in the middle
        half = LC_BT_MAX - 1 if idx == LC_BT_MAX else LC_BT_MAX // 2
        pleaf = a.split_leaf(t, leaf, half)
        if idx > half:
            leaf = pleaf
            idx -= half
        node = &a.nodes[leaf]
    memmove(&node.u.spans[idx + 1], &node.u.spans[idx], (node.n - idx) * sizeof(lc_span))
    node.u.spans[idx] = span[0]
    node.n += 1
    index_span(a, span.id, span.len, leaf)
    # (the new span is visible: integrate_insert makes it at the tracker version)
    span_lens_changed(a, t, leaf, span, 1, True)
    return 0


cdef inline void skip_future(SeqArena a, uint32_t *leaf, int *idx) noexcept nogil:
    """Move (leaf, idx) past the future spans that start there: to the first known span,
    or to the end of the last leaf."""
    while True:
        if idx[0] == a.nodes[leaf[0]].n:
            if a.nodes[leaf[0]].next_leaf == LC_NO_NODE:
                return
            leaf[0] = a.nodes[leaf[0]].next_leaf
            idx[0] = 0
        if not a.nodes[leaf[0]].u.spans[idx[0]].future:
            return
        idx[0] += 1


cdef int64_t fugue_scan(SeqArena a, uint32_t leaf, int idx, uint32_t end_leaf, int end_idx,
                        lc_id origin_left, lc_id origin_right, const uint64_t *peer_ids,
                        uint64_t new_peer) except -1 nogil:
    """Loro's Fugue scan over the concurrent siblings from (leaf, idx) up to the first known
    span (end_leaf, end_idx) (spec section 2.4): the absolute index (tombstones counted)
    where a new span with these origins goes."""
    cdef lc_id ol, o_right
    cdef int64_t l_abs, parent_right, o_abs, insert_at, o_pr
    cdef lc_span *o
    cdef bint scanning = False
    l_abs = abs_index(a, a.nodes[leaf].u.spans[idx].id)
    parent_right = INT64_MAX
    if origin_right.peer != LC_NO_PEER:
        origin_left_of(a, origin_right, &ol)
    if origin_right.peer != LC_NO_PEER and id_eq(ol, origin_left):
        parent_right = abs_index(a, origin_right)
    insert_at = l_abs
    o_abs = l_abs
    while not (leaf == end_leaf and idx == end_idx):
        if idx == a.nodes[leaf].n:
            leaf = a.nodes[leaf].next_leaf
            idx = 0
            continue
        o = &a.nodes[leaf].u.spans[idx]
        ol = o.origin_left
        if not id_eq(ol, origin_left):
            if ol.peer == LC_NO_PEER or abs_index(a, ol) < l_abs:
                break
            # a descendant of a visited span keeps the scanning state
        else:
            o = &a.nodes[leaf].u.spans[idx]
            if id_eq(o.origin_right, origin_right):
                if peer_ids[o.id.peer] > new_peer:
                    break
                scanning = False
            else:
                o_right = o.origin_right
                o_pr = INT64_MAX
                if o_right.peer != LC_NO_PEER:
                    origin_left_of(a, o_right, &ol)
                if o_right.peer != LC_NO_PEER and id_eq(ol, origin_left):
                    o_pr = abs_index(a, o_right)
                o = &a.nodes[leaf].u.spans[idx]
                if o_pr < parent_right:
                    scanning = True
                elif o_pr == parent_right and peer_ids[o.id.peer] > new_peer:
                    break
                else:
                    scanning = False
        o = &a.nodes[leaf].u.spans[idx]
        o_abs += o.len
        if not scanning:
            insert_at = o_abs
        idx += 1
    return insert_at


cdef int integrate_insert(SeqArena a, uint32_t t, lc_id new_id, int64_t pos, int32_t n,
                          uint32_t content, const uint64_t *peer_ids) except -1 nogil:
    """Insert `n` atoms at visible index `pos` of the tracker version with Loro's Fugue
    rule. The caller has checked 0 <= pos <= visible_len(t)."""
    cdef uint32_t leaf
    cdef int idx
    cdef int64_t off
    cdef lc_span *s
    cdef lc_id left
    if pos == 0:
        left = make_id(LC_NO_PEER, 0)
        leaf = a.first_leaf(t)
        idx = 0
        off = 0
    else:
        leaf = a.find_visible(t, pos - 1, &idx, &off)
        s = &a.nodes[leaf].u.spans[idx]
        left = make_id(s.id.peer, <int32_t>(s.id.counter + off))
    insert_after(a, t, new_id, n, content, peer_ids, left, leaf, idx, off)
    add_record(a, new_id.peer, new_id.counter, n, new_id, LC_REC_INSERT)
    return 0


cdef int insert_after(SeqArena a, uint32_t t, lc_id new_id, int32_t n, uint32_t content,
                      const uint64_t *peer_ids, lc_id left, uint32_t leaf, int idx,
                      int64_t off) except -1 nogil:
    """Insert `n` atoms right after the visible atom `left`, which is atom `off` of span
    (leaf, idx); or at the start (`left` has no peer: the first leaf, 0, 0). No tracker
    record (the caller's)."""
    cdef lc_span span
    cdef uint32_t end_leaf
    cdef int end_idx
    cdef int64_t insert_at
    cdef lc_span *s
    memset(&span, 0, sizeof(lc_span))
    span.origin_left = left
    if left.peer != LC_NO_PEER:
        s = &a.nodes[leaf].u.spans[idx]
        off += 1
        if off == s.len:
            idx += 1
            off = 0
    span.id = new_id
    span.len = n
    span.content = content
    if a.tree_is_text[t] and content < LC_ANCHOR_MIN:
        fill_text_lens(a, &span)
    elif a.tree_is_text[t]:
        # a style anchor: no code point, so its UTF-8/UTF-16 lengths stay 0; from now on
        # the tree's nodes count its anchors
        a.tree_is_text[t] |= TREE_ANCHORED
    if off > 0:
        # inside a known run: nothing concurrent can sit in this gap
        s = &a.nodes[leaf].u.spans[idx]
        span.origin_right = make_id(s.id.peer, <int32_t>(s.id.counter + off))
        insert_span(a, t, leaf, idx, off, &span)
    else:
        # the future (concurrent, not yet known) spans that sit in the gap
        if idx == a.nodes[leaf].n and a.nodes[leaf].next_leaf != LC_NO_NODE:
            leaf = a.nodes[leaf].next_leaf
            idx = 0
        end_leaf = leaf
        end_idx = idx
        skip_future(a, &end_leaf, &end_idx)
        if end_idx < a.nodes[end_leaf].n:
            span.origin_right = a.nodes[end_leaf].u.spans[end_idx].id
        else:
            span.origin_right = make_id(LC_NO_PEER, 0)
        if end_leaf == leaf and end_idx == idx:
            insert_span(a, t, leaf, idx, 0, &span)
        else:
            insert_at = fugue_scan(a, leaf, idx, end_leaf, end_idx, span.origin_left,
                                   span.origin_right, peer_ids, peer_ids[new_id.peer])
            leaf = a.find_total(t, insert_at, &idx, &off)
            insert_span(a, t, leaf, idx, off, &span)
    return 0


cdef int delete_in_span(SeqArena a, uint32_t t, uint32_t leaf, int idx, int64_t off, int64_t m,
                        lc_id *target) except -1 nogil:
    """Delete atoms [off, off+m) of the visible span (leaf, idx); `target` gets the first.
    No tracker record (the caller's)."""
    cdef lc_span *s
    a.isolate(t, &leaf, &idx, off, m)
    s = &a.nodes[leaf].u.spans[idx]
    s.deleted += 1
    target[0] = s.id
    span_lens_changed(a, t, leaf, s, -1, False)
    a.merge_around(leaf, idx)
    return 0


cdef int integrate_delete(SeqArena a, uint32_t t, lc_id del_id, int64_t start, int64_t n,
                          bint reversed) except -1 nogil:
    """Delete visible atoms [start, start+n) of the tracker version. Atom k of the delete
    op removes target k from the left, or from the right when `reversed`. The caller has
    checked the range."""
    cdef int64_t done = 0, m, off
    cdef uint32_t leaf
    cdef int idx
    cdef lc_span *s
    cdef lc_id target
    cdef int64_t first_rec
    cdef lc_peer_index *pi
    cdef lc_record tmp
    cdef int64_t x, y
    a.ensure_peer(del_id.peer)
    first_rec = a.peers[del_id.peer].rec_len
    while done < n:
        leaf = a.find_visible(t, start, &idx, &off)
        s = &a.nodes[leaf].u.spans[idx]
        m = s.len - off
        if m > n - done:
            m = n - done
        delete_in_span(a, t, leaf, idx, off, m, &target)    # (find_visible: a visible span)
        if not reversed:
            add_record(a, del_id.peer, <int32_t>(del_id.counter + done), <int32_t>m, target, LC_REC_DELETE)
        else:
            # appended in descending counter order; put in order below
            push_raw_record(a, del_id.peer, <int32_t>(del_id.counter + n - done - m), <int32_t>m,
                            target, LC_REC_DELETE_REV)
        done += m
    if reversed:
        pi = &a.peers[del_id.peer]
        x = first_rec
        y = pi.rec_len - 1
        while x < y:
            tmp = pi.recs[x]
            pi.recs[x] = pi.recs[y]
            pi.recs[y] = tmp
            x += 1
            y -= 1
        coalesce_records(a, del_id.peer, first_rec)
    return 0
