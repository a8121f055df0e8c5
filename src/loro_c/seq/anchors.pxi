# Rich text: style anchors are atoms of a text tree (content LC_ANCHOR_START/END, seq.h) that
# take an entity position but no code point. Op positions count entities; the text API counts
# code points. These functions read a text tree in code points (descending by visible -
# anchors) and convert to entities. A tree whose root counts no anchor needs none of them.


cdef uint32_t find_char(SeqArena a, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil:
    """Locate visible code point `pos` (0-based, < char_len): leaf, span slot, offset. With
    pos == char_len: the end of the last leaf."""
    cdef uint32_t nd = a.roots[t]
    cdef lc_node *node
    cdef lc_span *s
    cdef int i
    cdef int64_t v
    while True:
        node = &a.nodes[nd]
        if node.is_leaf:
            break
        for i in range(node.n):
            v = a.nodes[node.u.children[i]].lens.visible - a.nodes[node.u.children[i]].lens.anchors
            if pos < v or i == node.n - 1:
                nd = node.u.children[i]
                break
            pos -= v
    for i in range(node.n):
        s = &node.u.spans[i]
        if span_visible(s) and not lc_span_is_anchor(s):
            if pos < s.len:
                idx[0] = i
                off[0] = pos
                return nd
            pos -= s.len
    idx[0] = node.n
    off[0] = 0
    return nd


cdef int64_t entity_at(SeqArena a, uint32_t leaf, int idx, int64_t off) noexcept nogil:
    """Visible atoms (entities) before offset `off` of span `idx` of `leaf`."""
    cdef lc_node *node = &a.nodes[leaf]
    cdef int64_t acc = off
    cdef int j
    for j in range(idx):
        if span_visible(&node.u.spans[j]):
            acc += node.u.spans[j].len
    return acc + a.left_of(leaf, True)


cdef int64_t char_entity(SeqArena a, uint32_t t, int64_t pos) noexcept nogil:
    """Entity index of visible code point `pos` (< char_len)."""
    cdef int idx
    cdef int64_t off
    cdef uint32_t leaf = find_char(a, t, pos, &idx, &off)
    return entity_at(a, leaf, idx, off)


cdef int64_t anchors_before(SeqArena a, uint32_t leaf, int slot) noexcept nogil:
    """Visible style anchors before span `slot` of `leaf`."""
    cdef int64_t acc = 0
    cdef int j
    cdef lc_node *node = &a.nodes[leaf]
    cdef uint32_t nd = leaf
    cdef uint32_t p
    for j in range(slot):
        if span_visible(&node.u.spans[j]) and lc_span_is_anchor(&node.u.spans[j]):
            acc += 1
    p = node.parent
    while p != LC_NO_NODE:
        node = &a.nodes[p]
        for j in range(node.n):
            if node.u.children[j] == nd:
                break
            acc += a.nodes[node.u.children[j]].lens.anchors
        nd = p
        p = node.parent
    return acc


cdef int64_t collect_text_runs(SeqArena a, uint32_t t, int64_t start, int64_t n) except -1:
    """Split code points [start, start+n) of a text tree into runs of consecutive ids and
    entity positions, skipping style anchors, left to right, into a.runs as (entity start,
    len, peer, counter); returns the run count (what collect_runs is for plain text)."""
    cdef int idx
    cdef int64_t off, done = 0, take, count = 0, entity
    cdef uint32_t leaf
    cdef lc_span *s
    cdef int64_t *r
    a.runs_len = 0
    if n <= 0:
        return 0
    leaf = find_char(a, t, start, &idx, &off)
    entity = entity_at(a, leaf, idx, off)
    while leaf != LC_NO_NODE and done < n:
        while idx < a.nodes[leaf].n and done < n:
            s = &a.nodes[leaf].u.spans[idx]
            if span_visible(s):
                take = s.len - off
                if lc_span_is_anchor(s):
                    entity += take
                    off = 0
                    idx += 1
                    continue
                if take > n - done:
                    take = n - done
                r = &a.runs[4 * (count - 1)] if count > 0 else NULL
                if (r != NULL and r[2] == s.id.peer and r[0] + r[1] == entity
                        and r[3] + r[1] == s.id.counter + off):
                    r[1] += take
                else:
                    if 4 * (count + 1) > a.runs_cap:
                        a.runs = <int64_t*>grow(a.runs, &a.runs_cap, 4 * (count + 1), sizeof(int64_t))
                    r = &a.runs[4 * count]
                    r[0] = entity
                    r[1] = take
                    r[2] = s.id.peer
                    r[3] = s.id.counter + off
                    count += 1
                done += take
                entity += take
            off = 0
            idx += 1
        leaf = a.nodes[leaf].next_leaf
        idx = 0
    a.runs_len = count
    return count


cdef int64_t balance_before(SeqArena a, uint32_t t, int64_t e) noexcept nogil:
    """Visible start anchors less visible end anchors among entities [0, e): the number of
    marks open across the gap before entity `e` (a start whose end is not visible counts
    too; open_marks_before allows for it)."""
    cdef uint32_t nd = a.roots[t]
    cdef lc_node *node
    cdef lc_span *s
    cdef int i
    cdef int64_t v, acc = 0
    while True:
        node = &a.nodes[nd]
        if node.is_leaf:
            break
        for i in range(node.n):
            v = a.nodes[node.u.children[i]].lens.visible
            if e < v or i == node.n - 1:
                nd = node.u.children[i]
                break
            e -= v
            acc += a.nodes[node.u.children[i]].lens.anchor_balance
    for i in range(node.n):
        if e <= 0:
            break
        s = &node.u.spans[i]
        if span_visible(s):
            if lc_span_is_anchor(s):
                acc += 1 if s.content == LC_ANCHOR_START else -1
            e -= s.len
    return acc


cdef bint prev_anchor(SeqArena a, uint32_t *leaf, int *slot) noexcept nogil:
    """Move (leaf, slot) to the nearest visible style anchor before it, skipping subtrees
    that hold none; False when there is none."""
    cdef uint32_t nd = leaf[0], p
    cdef int i = slot[0] - 1, j = 0
    cdef lc_node *node
    while True:
        node = &a.nodes[nd]
        while i >= 0:
            if span_visible(&node.u.spans[i]) and lc_span_is_anchor(&node.u.spans[i]):
                leaf[0] = nd
                slot[0] = i
                return True
            i -= 1
        # climb to the nearest left sibling subtree that holds an anchor, then down its right
        while True:
            p = a.nodes[nd].parent
            if p == LC_NO_NODE:
                return False
            node = &a.nodes[p]
            for j in range(node.n):
                if node.u.children[j] == nd:
                    break
            j -= 1
            while j >= 0 and a.nodes[node.u.children[j]].lens.anchors == 0:
                j -= 1
            if j >= 0:
                nd = node.u.children[j]
                break
            nd = p
        while not a.nodes[nd].is_leaf:
            node = &a.nodes[nd]
            j = node.n - 1
            while j > 0 and a.nodes[node.u.children[j]].lens.anchors == 0:
                j -= 1
            nd = node.u.children[j]
        i = a.nodes[nd].n - 1


cdef bint atom_visible(SeqArena a, lc_id id) noexcept nogil:
    """Whether the atom starting a span at `id` is in the tree and visible (False for an id
    the tree does not hold, e.g. a mark's end op not integrated yet)."""
    cdef lc_peer_index *pi
    cdef uint32_t leaf
    cdef lc_node *node
    cdef int i
    if id.peer >= a.n_peers or id.counter < 0 or id.counter >= a.peers[id.peer].leaf_len:
        return False
    pi = &a.peers[id.peer]
    if lc_prev_start(pi, id.counter) != id.counter:
        return False
    leaf = pi.leaf[id.counter]
    if leaf >= a.n_nodes or not a.nodes[leaf].is_leaf:
        return False
    node = &a.nodes[leaf]
    for i in range(node.n):
        if node.u.spans[i].id.counter == id.counter and node.u.spans[i].id.peer == id.peer:
            return span_visible(&node.u.spans[i])
    return False
