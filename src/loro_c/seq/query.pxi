# Reading a sequence at the tracker version: positions of atoms (for cursors and the Fugue
# scan), content of visible ranges, and the id runs of a visible range (for local deletes).


cdef int64_t abs_index(SeqArena a, lc_id id) except -1 nogil:
    """Absolute index (tombstones counted) of an atom."""
    cdef int i
    cdef uint32_t nd = locate(a, id, &i)
    cdef lc_node *node = &a.nodes[nd]
    cdef int64_t acc = id.counter - node.u.spans[i].id.counter
    cdef int j
    for j in range(i):
        acc += node.u.spans[j].len
    return acc + a.left_of(nd, False)


cdef int64_t visible_before(SeqArena a, uint32_t leaf, int slot, int32_t counter) noexcept nogil:
    """Visible atoms before atom `counter` of span `slot` of `leaf` (the atom itself
    counts its predecessors in its span only when the span is visible)."""
    cdef lc_node *node = &a.nodes[leaf]
    cdef int64_t acc = 0
    cdef int j
    if span_visible(&node.u.spans[slot]):
        acc = counter - node.u.spans[slot].id.counter
    for j in range(slot):
        if span_visible(&node.u.spans[j]):
            acc += node.u.spans[j].len
    return acc + a.left_of(leaf, True)


cdef int64_t copy_visible(SeqArena a, uint32_t t, int64_t start, int64_t end, uint32_t *out) except -1:
    """Write the content offsets' values of visible atoms [start, end) to `out`: code
    points [start, end) for text trees (style anchors skipped), content indices (list value
    slots) for list trees."""
    cdef int idx
    cdef int64_t off, k = 0, i, take
    cdef uint32_t leaf
    cdef lc_span *s
    cdef bint is_text = a.tree_is_text[t]
    if start >= end:
        return 0
    if is_text and a.nodes[a.roots[t]].lens.anchors:
        leaf = find_char(a, t, start, &idx, &off)
    else:
        leaf = a.find_visible(t, start, &idx, &off)
    while leaf != LC_NO_NODE and k < end - start:
        while idx < a.nodes[leaf].n and k < end - start:
            s = &a.nodes[leaf].u.spans[idx]
            if span_visible(s) and not lc_span_is_anchor(s):
                take = s.len - off
                if take > end - start - k:
                    take = end - start - k
                if is_text:
                    memcpy(&out[k], &a.text[s.content + off], <size_t>take * sizeof(uint32_t))
                else:
                    for i in range(take):
                        out[k + i] = <uint32_t>(s.content + off + i)
                k += take
            off = 0
            idx += 1
        leaf = a.nodes[leaf].next_leaf
        idx = 0
    return k


cdef int64_t visible_content(SeqArena a, uint32_t t, int64_t pos) except -1:
    """Content offset of visible atom `pos`."""
    cdef int idx
    cdef int64_t off
    cdef uint32_t leaf = a.find_visible(t, pos, &idx, &off)
    return a.nodes[leaf].u.spans[idx].content + off


cdef int64_t collect_runs(SeqArena a, uint32_t t, int64_t start, int64_t n) except -1:
    """Split visible range [start, start+n) into runs of consecutive ids, left to right,
    into a.runs as (visible start, len, peer, counter); returns the run count."""
    cdef int idx
    cdef int64_t off, done = 0, take, count = 0
    cdef uint32_t leaf
    cdef lc_span *s
    cdef int64_t *r
    a.runs_len = 0
    if n <= 0:
        return 0
    leaf = a.find_visible(t, start, &idx, &off)
    while leaf != LC_NO_NODE and done < n:
        while idx < a.nodes[leaf].n and done < n:
            s = &a.nodes[leaf].u.spans[idx]
            if span_visible(s):
                take = s.len - off
                if take > n - done:
                    take = n - done
                r = &a.runs[4 * (count - 1)] if count > 0 else NULL
                if (r != NULL and r[2] == s.id.peer
                        and r[3] + r[1] == s.id.counter + off):
                    r[1] += take
                else:
                    if 4 * (count + 1) > a.runs_cap:
                        a.runs = <int64_t*>grow(a.runs, &a.runs_cap, 4 * (count + 1), sizeof(int64_t))
                    r = &a.runs[4 * count]
                    r[0] = start + done
                    r[1] = take
                    r[2] = s.id.peer
                    r[3] = s.id.counter + off
                    count += 1
                done += take
            off = 0
            idx += 1
        leaf = a.nodes[leaf].next_leaf
        idx = 0
    a.runs_len = count
    return count
