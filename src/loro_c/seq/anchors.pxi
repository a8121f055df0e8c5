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


cdef int64_t anchors_in_prefix(SeqArena a, uint32_t t, int64_t e) noexcept nogil:
    """Visible style anchors among entities [0, e) (so entity e is code point e - that)."""
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
            acc += a.nodes[node.u.children[i]].lens.anchors
    for i in range(node.n):
        if e <= 0:
            break
        s = &node.u.spans[i]
        if span_visible(s):
            if lc_span_is_anchor(s):
                acc += 1
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


cdef uint32_t span_at_start(SeqArena a, lc_id id, int *slot) noexcept nogil:
    """The leaf of the span that starts at atom `id`, and its slot; LC_NO_NODE when no span
    starts there (an anchor's id always starts its own span; a mark's end op that is not
    integrated yet has none)."""
    cdef lc_peer_index *pi
    cdef uint32_t leaf
    cdef lc_node *node
    cdef int i
    if id.peer >= a.n_peers or id.counter < 0 or id.counter >= a.peers[id.peer].leaf_len:
        return LC_NO_NODE
    pi = &a.peers[id.peer]
    if lc_prev_start(pi, id.counter) != id.counter:
        return LC_NO_NODE
    leaf = pi.leaf[id.counter]
    if leaf >= a.n_nodes or not a.nodes[leaf].is_leaf:
        return LC_NO_NODE
    node = &a.nodes[leaf]
    for i in range(node.n):
        if node.u.spans[i].id.counter == id.counter and node.u.spans[i].id.peer == id.peer:
            slot[0] = i
            return leaf
    return LC_NO_NODE


cdef bint atom_visible(SeqArena a, lc_id id) noexcept nogil:
    """Whether the atom starting a span at `id` is in the tree and visible."""
    cdef int slot
    cdef uint32_t leaf = span_at_start(a, id, &slot)
    return leaf != LC_NO_NODE and span_visible(&a.nodes[leaf].u.spans[slot])


# ------------------------------------------------------------------ style summaries (seq.h)

cdef void style_dirty_up(SeqArena a, uint32_t nd) noexcept nogil:
    """Mark a node's style summary stale, and its ancestors' (up to the first one already
    stale: a stale node's ancestors are all stale)."""
    a.nodes[nd].style_flags |= LC_STYLE_DIRTY
    nd = a.nodes[nd].parent
    while nd != LC_NO_NODE and not (a.nodes[nd].style_flags & LC_STYLE_DIRTY):
        a.nodes[nd].style_flags |= LC_STYLE_DIRTY
        nd = a.nodes[nd].parent


cdef inline bint within(SeqArena a, uint32_t leaf, uint32_t x) noexcept nogil:
    """Whether `leaf` is in the subtree of node `x`."""
    while leaf != LC_NO_NODE:
        if leaf == x:
            return True
        leaf = a.nodes[leaf].parent
    return False


cdef bint leaves_open(SeqArena a, lc_id start, uint32_t x) noexcept nogil:
    """Whether the mark started at `start` (inside node x) ends outside x, or not yet."""
    cdef int slot
    cdef uint32_t end_leaf = span_at_start(a, make_id(start.peer, start.counter + 1), &slot)
    return end_leaf == LC_NO_NODE or not within(a, end_leaf, x)


cdef inline void style_add(SeqArena a, uint32_t nd, lc_id start) noexcept nogil:
    cdef lc_style_summary *sm = &a.styles[nd]
    if sm.n < LC_STYLE_SLOTS:
        sm.open[sm.n] = start
        sm.n += 1
    else:
        a.nodes[nd].style_flags |= LC_STYLE_OVERFLOW


cdef int style_refresh(SeqArena a, uint32_t nd) except -1 nogil:
    """Recompute a stale summary from the spans (leaf) or the children's summaries."""
    cdef lc_node *x = &a.nodes[nd]
    cdef lc_span *s
    cdef uint32_t k, child
    cdef int i
    if not (x.style_flags & LC_STYLE_DIRTY):
        return 0
    if a.styles_cap < a.n_nodes:
        a.styles = <lc_style_summary*>grow(a.styles, &a.styles_cap, a.n_nodes, sizeof(lc_style_summary))
    x.style_flags = 0
    a.styles[nd].n = 0
    if x.is_leaf:
        for i in range(x.n):
            s = &x.u.spans[i]
            if s.content == LC_ANCHOR_START and span_visible(s) and leaves_open(a, s.id, nd):
                style_add(a, nd, s.id)
        return 0
    for i in range(x.n):
        child = a.nodes[nd].u.children[i]
        style_refresh(a, child)
        if a.nodes[child].style_flags & LC_STYLE_OVERFLOW:
            a.nodes[nd].style_flags |= LC_STYLE_OVERFLOW
            continue
        for k in range(a.styles[child].n):
            if leaves_open(a, a.styles[child].open[k], nd):
                style_add(a, nd, a.styles[child].open[k])
    return 0


cdef int note_open(SeqArena a, lc_id start, int64_t g, int64_t *need, int64_t *count) except -1:
    """A start anchor before gap g: count it when its mark is open across g (end visible at
    or after g) and spend one of `need` on it either way when its end is not before g."""
    cdef int slot
    cdef uint32_t end_leaf = span_at_start(a, make_id(start.peer, start.counter + 1), &slot)
    cdef int64_t *r
    if end_leaf != LC_NO_NODE and span_visible(&a.nodes[end_leaf].u.spans[slot]):
        if visible_before(a, end_leaf, slot, start.counter + 1) < g:
            return 0
        if 2 * (count[0] + 1) > a.runs_cap:
            a.runs = <int64_t*>grow(a.runs, &a.runs_cap, 2 * (count[0] + 1), sizeof(int64_t))
        r = &a.runs[2 * count[0]]
        r[0] = start.peer
        r[1] = start.counter
        count[0] += 1
    need[0] -= 1
    return 0


cdef int collect_open(SeqArena a, uint32_t nd, int64_t g, int64_t *need, int64_t *count) except -1:
    """The marks open across gap g that start in the subtree of `nd` (which lies before g),
    last first, until `need` is spent."""
    cdef lc_node *x
    cdef lc_span *s
    cdef int i
    cdef uint32_t k
    style_refresh(a, nd)
    x = &a.nodes[nd]
    if not (x.style_flags & LC_STYLE_OVERFLOW):
        for k in range(a.styles[nd].n):
            note_open(a, a.styles[nd].open[k], g, need, count)
        return 0
    i = x.n - 1
    while i >= 0 and need[0] > 0:
        x = &a.nodes[nd]
        if x.is_leaf:
            s = &x.u.spans[i]
            if s.content == LC_ANCHOR_START and span_visible(s):
                note_open(a, s.id, g, need, count)
        elif a.nodes[x.u.children[i]].lens.anchors:
            collect_open(a, x.u.children[i], g, need, count)
        i -= 1
    return 0


cdef int64_t open_marks_at(SeqArena a, uint32_t t, int64_t g) except -1:
    """The marks open across the gap before entity g (start anchor before it, end anchor
    visible and not before it), as (peer, counter) pairs of their start ops in a.runs;
    returns how many. Reads the start anchors of g's leaf before g, then the summaries of
    the subtrees left of g's path, nearest first, and stops once it has met as many marks
    left open as the anchor balance before g counts."""
    cdef int64_t need = balance_before(a, t, g) if g > 0 else 0
    cdef int64_t count = 0, off
    cdef int slot, i
    cdef uint32_t leaf, nd, p
    cdef lc_span *s
    if need <= 0:
        return 0
    leaf = a.find_visible(t, g - 1, &slot, &off)
    i = slot
    while i >= 0 and need > 0:
        s = &a.nodes[leaf].u.spans[i]
        if s.content == LC_ANCHOR_START and span_visible(s):
            note_open(a, s.id, g, &need, &count)
        i -= 1
    nd = leaf
    p = a.nodes[nd].parent
    while p != LC_NO_NODE and need > 0:
        i = 0
        while a.nodes[p].u.children[i] != nd:
            i += 1
        i -= 1
        while i >= 0 and need > 0:
            if a.nodes[a.nodes[p].u.children[i]].lens.anchors:
                collect_open(a, a.nodes[p].u.children[i], g, &need, &count)
            i -= 1
        nd = p
        p = a.nodes[nd].parent
    return count
