# Undoing a rejected import in place: once the tracker has retreated the import's atoms (they
# are future spans of their own), their spans, atom-index bits and tracker records are
# dropped, and the trees the import created are forgotten. Freed nodes go to the arena's
# free list.


cdef int unlink_empty(SeqArena a, uint32_t t, uint32_t nd) except -1:
    """Take the empty node `nd` (a leaf without spans) out of tree `t`, with the ancestors
    that it leaves without children; its lengths are already zero, so no sum changes.
    Then a root with a single internal child hands the root over to it."""
    cdef lc_node *node
    cdef lc_node *p
    cdef uint32_t parent, child
    cdef int i
    while True:
        node = &a.nodes[nd]
        parent = node.parent
        if parent == LC_NO_NODE:
            # the whole tree is empty: it becomes one empty root leaf again
            node.is_leaf = 1
            node.n = 0
            node.prev_leaf = node.next_leaf = LC_NO_NODE
            node.style_flags = LC_STYLE_DIRTY
            return 0
        if node.is_leaf:
            if node.prev_leaf != LC_NO_NODE:
                a.nodes[node.prev_leaf].next_leaf = node.next_leaf
            if node.next_leaf != LC_NO_NODE:
                a.nodes[node.next_leaf].prev_leaf = node.prev_leaf
        p = &a.nodes[parent]
        for i in range(p.n):
            if p.u.children[i] == nd:
                memmove(&p.u.children[i], &p.u.children[i + 1], (p.n - i - 1) * sizeof(uint32_t))
                p.n -= 1
                break
        a.free_node(nd)
        if a.nodes[parent].n > 0:
            style_dirty_up(a, parent)
            break
        nd = parent
    while not a.nodes[a.roots[t]].is_leaf and a.nodes[a.roots[t]].n == 1:
        child = a.nodes[a.roots[t]].u.children[0]
        a.free_node(a.roots[t])
        a.nodes[child].parent = LC_NO_NODE
        a.roots[t] = child
    return 0


cdef int drop_atoms(SeqArena a, uint32_t peer, int32_t cut, list joins=None) except -1:
    """Forget atoms `cut`.. of `peer`: their spans, tracker records and atom index bits.
    The tracker must have retreated them first, so that they are future atoms in spans
    of their own; anything else raises AssertionError (the caller then rebuilds).
    `joins` gets the id (peer, counter) of the atom before each span dropped: an insert
    into a run split it, and rejoin_spans makes the halves one span again."""
    if peer >= a.n_peers:
        return 0
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef int64_t c, start
    cdef int32_t n
    cdef uint32_t leaf, t
    cdef lc_node *node
    cdef int i, slot
    cdef int64_t lo
    cdef lc_record *r
    cdef lc_span *before
    if cut > 0 and cut - 1 < pi.leaf_len:
        start = lc_prev_start(pi, cut - 1)
        if start >= 0:
            leaf = pi.leaf[start]
            node = &a.nodes[leaf]
            for i in range(node.n):
                if node.u.spans[i].id.peer == peer and node.u.spans[i].id.counter == start:
                    if start + node.u.spans[i].len > cut:
                        raise AssertionError("a kept span runs into the atoms to drop")
                    break
    c = lc_next_start(pi, cut)
    while c >= 0:
        leaf = pi.leaf[c]
        if leaf >= a.n_nodes or not a.nodes[leaf].is_leaf:
            raise AssertionError("atom index points to no leaf")
        node = &a.nodes[leaf]
        slot = -1
        for i in range(node.n):
            if node.u.spans[i].id.peer == peer and node.u.spans[i].id.counter == c:
                slot = i
                break
        if slot < 0:
            raise AssertionError("atom index points to a leaf without the atom")
        if not node.u.spans[slot].future:
            raise AssertionError("an atom to drop is still inserted at the tracker version")
        n = node.u.spans[slot].len
        if joins is not None:
            if slot > 0:
                before = &node.u.spans[slot - 1]
                joins.append((before.id.peer, before.id.counter + before.len - 1))
            elif node.prev_leaf != LC_NO_NODE and a.nodes[node.prev_leaf].n > 0:
                before = &a.nodes[node.prev_leaf].u.spans[a.nodes[node.prev_leaf].n - 1]
                joins.append((before.id.peer, before.id.counter + before.len - 1))
        memmove(&node.u.spans[slot], &node.u.spans[slot + 1], (node.n - slot - 1) * sizeof(lc_span))
        node.n -= 1
        lc_clear_start(pi, c)
        a.leaf_update(leaf)
        if node.n == 0:
            t = node.tree
            unlink_empty(a, t, leaf)
        c = lc_next_start(pi, c + n)
    if pi.leaf_len > cut:
        pi.leaf_len = cut
    # records are sorted and disjoint: cut at the first one reaching `cut`
    lo = first_record_reaching(pi, cut)
    if lo < pi.rec_len and pi.recs[lo].counter < cut:
        r = &pi.recs[lo]
        if r.kind == LC_REC_DELETE_REV:
            # atom counter+i removes target+len-1-i: the kept atoms keep their targets
            r.target.counter += r.len - (cut - r.counter)
        r.len = cut - r.counter
        lo += 1
    pi.rec_len = lo
    return 0


cdef int rejoin_spans(SeqArena a, list joins) except -1:
    """After drop_atoms: the span ending at each atom of `joins` and the span after it (in
    its leaf or the next leaf) become one span again when they are one run (try_merge's
    rule: the halves of a run an insert split), so that the document's spans are those it
    had before the dropped inserts, as its snapshot encodes them."""
    cdef uint32_t peer, leaf, right_leaf, t
    cdef int32_t ctr
    cdef int64_t start
    cdef lc_peer_index *pi
    cdef lc_node *node
    cdef lc_node *rnode
    cdef lc_span *x
    cdef lc_span *y
    cdef int i, slot
    for peer, ctr in joins:
        if peer >= a.n_peers:
            continue
        pi = &a.peers[peer]
        if ctr >= pi.leaf_len:
            continue            # (dropped too)
        start = lc_prev_start(pi, ctr)
        if start < 0:
            continue
        leaf = pi.leaf[start]
        node = &a.nodes[leaf]
        slot = -1
        for i in range(node.n):
            if node.u.spans[i].id.peer == peer and node.u.spans[i].id.counter == start:
                slot = i
                break
        if slot < 0 or start + node.u.spans[slot].len - 1 != ctr:
            continue
        if slot + 1 < node.n:
            a.try_merge(leaf, slot + 1)
            continue
        right_leaf = node.next_leaf
        if right_leaf == LC_NO_NODE or a.nodes[right_leaf].n == 0:
            continue
        rnode = &a.nodes[right_leaf]
        x = &node.u.spans[slot]
        y = &rnode.u.spans[0]
        if not (rnode.tree == node.tree and x.id.peer == y.id.peer
                and x.id.counter + x.len == y.id.counter
                and y.origin_left.peer == x.id.peer
                and y.origin_left.counter == x.id.counter + x.len - 1
                and x.origin_right.peer == y.origin_right.peer
                and x.origin_right.counter == y.origin_right.counter
                and x.future == y.future and x.deleted == y.deleted
                and x.content + <uint32_t>x.len == y.content):
            continue
        # the halves sit in neighbouring leaves: the left one takes the right one's atoms
        x.len += y.len
        x.utf8_len += y.utf8_len
        x.utf16_len += y.utf16_len
        lc_clear_start(pi, y.id.counter)
        memmove(&rnode.u.spans[0], &rnode.u.spans[1], (rnode.n - 1) * sizeof(lc_span))
        rnode.n -= 1
        a.leaf_update(leaf)
        a.leaf_update(right_leaf)
        if a.nodes[right_leaf].n == 0:
            t = a.nodes[right_leaf].tree
            unlink_empty(a, t, right_leaf)
    return 0


cdef int drop_trees(SeqArena a, uint32_t n_trees) except -1:
    """Forget the trees made after the first `n_trees` (each must be empty by now)."""
    cdef uint32_t t, root
    for t in range(n_trees, a.n_trees):
        root = a.roots[t]
        if not a.nodes[root].is_leaf or a.nodes[root].n != 0:
            raise AssertionError("a tree to drop still holds spans")
        a.free_node(root)
    if n_trees < a.n_trees:
        a.n_trees = n_trees
    return 0
