# The invariant checkers (run by LoroDoc._check_invariants through SeqArena.check) and the
# arena sizes reported by LoroDoc._stats. Nothing here changes the arena.


cdef int check_tree(SeqArena a, uint32_t t) except -1:
    """Verify every structural invariant of tree `t`; raises AssertionError."""
    cdef uint32_t root = a.roots[t]
    if a.nodes[root].parent != LC_NO_NODE:
        raise AssertionError("root has a parent")
    leaves = []
    check_node(a, t, root, leaves)
    cdef uint32_t leaf = a.first_leaf(t)
    cdef uint32_t prev = LC_NO_NODE
    chained = []
    while leaf != LC_NO_NODE:
        if a.nodes[leaf].prev_leaf != prev:
            raise AssertionError("leaf chain prev pointer broken")
        chained.append(leaf)
        prev = leaf
        leaf = a.nodes[leaf].next_leaf
    if chained != leaves:
        raise AssertionError("leaf chain differs from in-order leaves")
    if a.tree_is_text[t] & TREE_ANCHORED:
        check_style_summary(a, root)
    return 0


cdef set check_style_summary(SeqArena a, uint32_t nd):
    """A clean node's style summary lists exactly the visible start anchors of its subtree
    whose end lies outside it (unless it says OVERFLOW), and a stale node's parent is stale;
    returns that set, computed from the spans."""
    cdef lc_node *x = &a.nodes[nd]
    cdef set found = set()
    cdef lc_span *s
    cdef int i
    cdef uint32_t k
    if x.style_flags & LC_STYLE_DIRTY and x.parent != LC_NO_NODE:
        if not (a.nodes[x.parent].style_flags & LC_STYLE_DIRTY):
            raise AssertionError(f"node {nd} has a stale style summary under a clean parent")
    if x.is_leaf:
        for i in range(x.n):
            s = &x.u.spans[i]
            if s.content == LC_ANCHOR_START and span_visible(s):
                found.add((s.id.peer, s.id.counter))
    else:
        for i in range(x.n):
            found |= check_style_summary(a, a.nodes[nd].u.children[i])
    expect = {sid for sid in found if leaves_open(a, make_id(sid[0], sid[1]), nd)}
    x = &a.nodes[nd]
    if not (x.style_flags & (LC_STYLE_DIRTY | LC_STYLE_OVERFLOW)):
        if nd >= a.styles_cap:
            raise AssertionError(f"node {nd} has a clean style summary outside the summary array")
        listed = {(a.styles[nd].open[k].peer, a.styles[nd].open[k].counter) for k in range(a.styles[nd].n)}
        if listed != expect:
            raise AssertionError(f"style summary of node {nd} lists {sorted(listed)}, "
                                 f"its subtree leaves {sorted(expect)} open")
    return found


cdef int check_leaf_span(SeqArena a, uint32_t t, uint32_t nd, const lc_span *sp) except -1:
    """One span of leaf `nd`: status and length, its atom-index entries, its cached
    UTF-8/16 lengths."""
    cdef lc_span s = sp[0]
    cdef lc_span probe
    cdef int64_t c
    cdef lc_peer_index *pi
    if s.len <= 0 or s.deleted < 0 or s.future > 1:
        raise AssertionError("bad span status or length")
    if s.id.peer >= a.n_peers or s.id.counter < 0:
        raise AssertionError("span id outside the atom index")
    pi = &a.peers[s.id.peer]
    if <int64_t>s.id.counter + s.len > pi.leaf_len:
        raise AssertionError("span atoms outside the atom index")
    if not lc_is_start(pi, s.id.counter) or pi.leaf[s.id.counter] != nd:
        raise AssertionError("atom index disagrees with leaf")
    for c in range(s.id.counter + 1, s.id.counter + s.len):
        if lc_is_start(pi, c):
            raise AssertionError("atom index marks a span start inside a span")
    if a.tree_is_text[t] and lc_span_is_anchor(&s):
        if s.len != 1 or s.utf8_len != 0 or s.utf16_len != 0:
            raise AssertionError("a style anchor span is not one atom without units")
    elif a.tree_is_text[t]:
        probe = s
        fill_text_lens(a, &probe)
        if probe.utf8_len != s.utf8_len or probe.utf16_len != s.utf16_len:
            raise AssertionError("cached UTF-8/16 span length is stale")
    return 0


cdef object check_node(SeqArena a, uint32_t t, uint32_t nd, list leaves):
    cdef lc_node *node = &a.nodes[nd]
    cdef lc_lens sums
    cdef int i
    memset(&sums, 0, sizeof(lc_lens))
    if node.tree != t:
        raise AssertionError("node belongs to another tree")
    if node.n > LC_BT_MAX:
        raise AssertionError("node overflow")
    if node.is_leaf:
        if node.n == 0 and node.parent != LC_NO_NODE:
            raise AssertionError("empty non-root leaf")
        leaves.append(nd)
        for i in range(node.n):
            check_leaf_span(a, t, nd, &node.u.spans[i])
            lens_add_span(&sums, &node.u.spans[i])
        if a.tree_is_text[t] & TREE_ANCHORED:
            leaf_anchor_lens(node, &sums)
    else:
        # one child is allowed: undoing a rejected import may empty its siblings
        if node.n < 1 or (node.n < 2 and node.parent == LC_NO_NODE):
            raise AssertionError("internal node without children, or a root with one")
        for i in range(node.n):
            if a.nodes[node.u.children[i]].parent != nd:
                raise AssertionError("child's parent pointer is wrong")
            check_node(a, t, node.u.children[i], leaves)
            lens_add(&sums, &a.nodes[node.u.children[i]].lens)
    node = &a.nodes[nd]
    if (sums.visible != node.lens.visible or sums.total != node.lens.total
            or sums.utf8 != node.lens.utf8 or sums.utf16 != node.lens.utf16
            or sums.anchors != node.lens.anchors or sums.anchor_balance != node.lens.anchor_balance):
        raise AssertionError(f"cached lengths differ from their sums at node {nd} (leaf={node.is_leaf}, "
                             f"n={node.n}, root={nd == a.roots[t]}): cached "
                             f"{(node.lens.visible, node.lens.total, node.lens.utf8)} vs "
                             f"{(sums.visible, sums.total, sums.utf8)}")
    return None


cdef int check_atom_index(SeqArena a) except -1:
    """Each peer's summary bits match its start bits, no bit lies past the atoms it
    covers, and there are exactly as many start bits as spans in all trees."""
    cdef uint32_t p, t, leaf
    cdef int64_t w, words, marked = 0, spans = 0
    cdef lc_peer_index *pi
    for p in range(a.n_peers):
        pi = &a.peers[p]
        words = (pi.leaf_len + 63) >> 6
        if words > pi.starts_cap or ((words + 63) >> 6) > pi.summary_cap:
            raise AssertionError("atom index bit arrays are too short")
        for w in range(words):
            if ((pi.summary[w >> 6] >> (w & 63)) & 1) != (pi.starts[w] != 0):
                raise AssertionError("atom index summary bit disagrees with its word")
            marked += lc_popcount64(pi.starts[w])
        if words > 0 and pi.leaf_len & 63 and pi.starts[words - 1] >> (pi.leaf_len & 63):
            raise AssertionError("atom index marks an atom it does not cover")
        for w in range(words, pi.starts_cap):
            if pi.starts[w]:
                raise AssertionError("atom index marks an atom it does not cover")
    for t in range(a.n_trees):
        leaf = a.first_leaf(t)
        while leaf != LC_NO_NODE:
            spans += a.nodes[leaf].n
            leaf = a.nodes[leaf].next_leaf
    if marked != spans:
        raise AssertionError(f"atom index marks {marked} span starts for {spans} spans")
    return 0


cdef int check_record_order(SeqArena a) except -1:
    """Each peer's tracker records are sorted and disjoint."""
    cdef uint32_t p
    cdef int64_t i
    for p in range(a.n_peers):
        for i in range(1, a.peers[p].rec_len):
            if a.peers[p].recs[i - 1].counter + a.peers[p].recs[i - 1].len > a.peers[p].recs[i].counter:
                raise AssertionError("tracker records overlap or are unsorted")
    return 0


cdef dict arena_stats(SeqArena a):
    cdef uint32_t i
    cdef int64_t leaves = 0, spans = 0, recs = 0, slots = 0, rec_bytes = 0, slot_bytes = 0
    for i in range(a.n_nodes):
        if a.nodes[i].is_leaf and a.nodes[i].tree != LC_NO_NODE:
            leaves += 1
            spans += a.nodes[i].n
    for i in range(a.n_peers):
        recs += a.peers[i].rec_len
        slots += a.peers[i].leaf_len
        rec_bytes += a.peers[i].rec_cap * sizeof(lc_record)
        slot_bytes += (a.peers[i].leaf_cap * sizeof(uint32_t)
                       + (a.peers[i].starts_cap + a.peers[i].summary_cap) * sizeof(uint64_t))
    return {"nodes": a.n_nodes - a.n_free, "free_nodes": a.n_free, "leaves": leaves, "spans": spans, "records": recs,
            "atom_slots": slots, "text_cps": a.text_len,
            "node_bytes": a.cap_nodes * sizeof(lc_node), "record_bytes": rec_bytes,
            "atom_index_bytes": slot_bytes, "text_bytes": a.text_cap * sizeof(uint32_t)}
