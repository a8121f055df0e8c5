# Building a tree in one pass from visible runs (a snapshot's state section, issue 11): no
# per-span search or split, the leaves packed in document order and the levels above them
# laid bottom-up.


cdef int bulk_fill(SeqArena a, uint32_t t, const lc_span *spans, int64_t n) except -1:
    """Fill the empty tree `t` with `n` spans in document order: leaves of LC_BT_MAX spans,
    internal nodes of LC_BT_MAX children, every span entered into the atom index. Text
    trees get their spans' UTF-8/UTF-16 lengths here (`content` already in `a.text`); a
    style anchor (content LC_ANCHOR_START/END) has none and marks the tree anchored."""
    cdef int64_t n_leaves, i, k, count, j
    cdef uint32_t *level
    cdef uint32_t nd, prev = LC_NO_NODE, parent
    cdef lc_node *node
    cdef bint text = a.tree_is_text[t] & TREE_TEXT
    cdef int m
    if n <= 0:
        return 0
    n_leaves = (n + LC_BT_MAX - 1) // LC_BT_MAX
    # the nodes this tree takes (its root leaf is there already), reserved at once: no
    # doubling and copying of the node array as the levels are laid
    count = n_leaves - 1
    k = n_leaves
    while k > 1:
        k = (k + LC_BT_MAX - 1) // LC_BT_MAX
        count += k
    a.reserve_nodes(count)
    level = <uint32_t*>malloc(<size_t>n_leaves * sizeof(uint32_t))
    if level == NULL:
        raise MemoryError()
    try:
        for i in range(n_leaves):
            nd = a.roots[t] if i == 0 else a.alloc_node(True)
            node = &a.nodes[nd]
            node.tree = t
            m = <int>(LC_BT_MAX if n - i * LC_BT_MAX > LC_BT_MAX else n - i * LC_BT_MAX)
            memcpy(&node.u.spans[0], &spans[i * LC_BT_MAX], <size_t>m * sizeof(lc_span))
            node.n = <uint16_t>m
            memset(&node.lens, 0, sizeof(lc_lens))
            for k in range(m):
                if text and node.u.spans[k].content < LC_ANCHOR_MIN:
                    fill_text_lens(a, &node.u.spans[k])
                elif text:
                    a.tree_is_text[t] |= TREE_ANCHORED
                lens_add_span(&node.lens, &node.u.spans[k])
            if a.tree_is_text[t] & TREE_ANCHORED:
                leaf_anchor_lens(node, &node.lens)
            node.prev_leaf = prev
            node.next_leaf = LC_NO_NODE
            if prev != LC_NO_NODE:
                a.nodes[prev].next_leaf = nd
            prev = nd
            level[i] = nd
            for k in range(m):
                index_span(a, a.nodes[nd].u.spans[k].id, a.nodes[nd].u.spans[k].len, nd)
        count = n_leaves
        while count > 1:
            j = 0
            for i in range(0, count, LC_BT_MAX):
                parent = a.alloc_node(False)
                node = &a.nodes[parent]
                node.tree = t
                m = <int>(LC_BT_MAX if count - i > LC_BT_MAX else count - i)
                node.n = <uint16_t>m
                for k in range(m):
                    node.u.children[k] = level[i + k]
                    a.nodes[level[i + k]].parent = parent
                    lens_add(&node.lens, &a.nodes[level[i + k]].lens)
                level[j] = parent
                j += 1
            count = j
        a.roots[t] = level[0]
        a.nodes[level[0]].parent = LC_NO_NODE
    finally:
        free(level)
    return 0
