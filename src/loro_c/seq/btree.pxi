# The arena and its B-tree primitives. Every allocation of the sequence index (nodes, tree
# roots, the per-peer atom index and tracker records, text content, the delete-run scratch
# buffer) grows in the arena and is freed in SeqArena.__dealloc__, nowhere else. The class
# holds node storage and the free list, cached lengths, search by visible or total length,
# and the structure primitives (span and leaf splits, child insertion, merges); the other
# parts are module-level functions over the arena (`SeqArena a` as first argument).


cdef inline void lens_add_span(lc_lens *l, const lc_span *s) noexcept nogil:
    if s.future == 0 and s.deleted == 0:
        l.visible += s.len
        l.utf8 += s.utf8_len
        l.utf16 += s.utf16_len
    l.total += s.len


cdef inline void leaf_anchor_lens(const lc_node *nd, lc_lens *l) noexcept nogil:
    """Set the visible style anchors of a leaf and their balance in `l` (counted only in
    trees that hold anchors, so that plain text and lists pay nothing for them; see
    TREE_ANCHORED)."""
    cdef int64_t n = 0, balance = 0
    cdef int i
    for i in range(nd.n):
        if span_visible(&nd.u.spans[i]) and nd.u.spans[i].content >= LC_ANCHOR_MIN:
            n += 1
            balance += 1 if nd.u.spans[i].content == LC_ANCHOR_START else -1
    l.anchors = n
    l.anchor_balance = balance


cdef inline void lens_add(lc_lens *l, const lc_lens *o) noexcept nogil:
    l.visible += o.visible
    l.utf8 += o.utf8
    l.utf16 += o.utf16
    l.total += o.total
    l.anchors += o.anchors
    l.anchor_balance += o.anchor_balance


cdef inline void lens_shift_up(SeqArena a, uint32_t nd, const lc_span *s, int64_t sign,
                               bint counts_total) noexcept nogil:
    """Span `s` of leaf `nd` became visible (sign 1; `counts_total`: it is new to the leaf) or
    stopped being visible (sign -1): add its lengths to the leaf and its ancestors. A per-op
    path then costs one walk up instead of leaf_update's recount of the whole leaf (a
    reordered list's leaves are mostly tombstones). Not for trees holding style anchors
    (leaf_update keeps their anchor counts and style summaries)."""
    cdef int64_t vis = sign * s.len, u8 = sign * s.utf8_len, u16 = sign * s.utf16_len
    cdef int64_t tot = vis if counts_total else 0
    cdef lc_lens *l
    while nd != LC_NO_NODE:
        l = &a.nodes[nd].lens
        l.visible += vis
        l.utf8 += u8
        l.utf16 += u16
        l.total += tot
        nd = a.nodes[nd].parent


@cython.final
cdef class SeqArena:

    def __cinit__(self):
        self.nodes = NULL
        self.roots = NULL
        self.tree_is_text = NULL
        self.peers = NULL
        self.text = NULL
        self.runs = NULL
        self.styles = NULL
        self.free_head = LC_NO_NODE

    def __dealloc__(self):
        cdef uint32_t i
        free(self.styles)
        free(self.nodes)
        free(self.roots)
        free(self.tree_is_text)
        if self.peers != NULL:
            for i in range(self.n_peers):
                free(self.peers[i].leaf)
                free(self.peers[i].starts)
                free(self.peers[i].summary)
                free(self.peers[i].recs)
        free(self.peers)
        free(self.text)
        free(self.runs)

    # ------------------------------------------------------------------ storage

    cdef uint32_t alloc_node(self, bint is_leaf) except? 0xFFFFFFFF nogil:
        cdef int64_t cap
        cdef uint32_t i
        if self.free_head != LC_NO_NODE:
            i = self.free_head
            self.free_head = self.nodes[i].parent
            self.n_free -= 1
        else:
            if self.n_nodes == self.cap_nodes:
                cap = self.cap_nodes
                self.nodes = <lc_node*>grow(self.nodes, &cap, self.n_nodes + 1, sizeof(lc_node))
                self.cap_nodes = <uint32_t>cap
            i = self.n_nodes
            self.n_nodes += 1
        cdef lc_node *nd = &self.nodes[i]
        memset(nd, 0, sizeof(lc_node) - sizeof(lc_node_union))
        nd.parent = LC_NO_NODE
        nd.prev_leaf = LC_NO_NODE
        nd.next_leaf = LC_NO_NODE
        nd.is_leaf = is_leaf
        nd.n = 0
        nd.style_flags = LC_STYLE_DIRTY
        return i

    cdef int reserve_nodes(self, int64_t more) except -1 nogil:
        """Room for `more` nodes past the last one, the node array grown once (a load of
        thousands of small sequences, a bulk-filled tree), not doubled and copied as
        alloc_node takes them."""
        cdef int64_t cap = self.cap_nodes
        if self.n_nodes + more > cap:
            self.nodes = <lc_node*>grow(self.nodes, &cap, self.n_nodes + more, sizeof(lc_node))
            self.cap_nodes = <uint32_t>cap
        return 0

    cdef void free_node(self, uint32_t nd) noexcept:
        cdef lc_node *node = &self.nodes[nd]
        node.tree = LC_NO_NODE
        node.is_leaf = 0
        node.n = 0
        node.prev_leaf = node.next_leaf = LC_NO_NODE
        memset(&node.lens, 0, sizeof(lc_lens))
        node.parent = self.free_head
        self.free_head = nd
        self.n_free += 1

    cdef uint32_t new_tree(self, bint is_text) except? 0xFFFFFFFF:
        cdef int64_t cap
        if self.n_trees == self.cap_trees:
            cap = self.cap_trees
            self.roots = <uint32_t*>grow(self.roots, &cap, self.n_trees + 1, sizeof(uint32_t))
            cap = self.cap_trees
            self.tree_is_text = <uint8_t*>grow(self.tree_is_text, &cap, self.n_trees + 1, sizeof(uint8_t))
            self.cap_trees = <uint32_t>cap
        cdef uint32_t t = self.n_trees
        cdef uint32_t root = self.alloc_node(True)
        self.nodes[root].tree = t
        self.roots[t] = root
        self.tree_is_text[t] = is_text
        self.n_trees += 1
        return t

    cdef int ensure_peer(self, uint32_t peer) except -1 nogil:
        cdef int64_t cap
        if peer < self.n_peers:
            return 0
        if peer >= self.cap_peers:
            cap = self.cap_peers
            self.peers = <lc_peer_index*>grow(self.peers, &cap, peer + 1, sizeof(lc_peer_index))
            self.cap_peers = <uint32_t>cap
        memset(&self.peers[self.n_peers], 0, (peer + 1 - self.n_peers) * sizeof(lc_peer_index))
        self.n_peers = peer + 1
        return 0

    cdef int reserve_text(self, int64_t n) except -1:
        """Room for `n` more code points, so pointers into the arena stay valid while they
        are appended."""
        if self.text_len + n > self.text_cap:
            self.text = <uint32_t*>grow(self.text, &self.text_cap, self.text_len + n, sizeof(uint32_t))
        return 0

    cdef int64_t append_text(self, const uint32_t *cps, int64_t n) except -1:
        """Append code points to the content arena (`cps` may point into it after
        reserve_text); returns the offset of the first."""
        self.reserve_text(n)
        memcpy(&self.text[self.text_len], cps, <size_t>n * sizeof(uint32_t))
        cdef int64_t at = self.text_len
        self.text_len += n
        if self.text_len >= LC_ANCHOR_MIN:
            # the offsets above are the style anchors' content markers
            raise MemoryError("text content arena exceeds 2**32 - 3 code points")
        return at

    cdef int truncate_text(self, int64_t n) except -1:
        if n < self.text_len:
            self.text_len = n
        return 0

    # ------------------------------------------------------------------ lengths

    cdef void leaf_update(self, uint32_t leaf) noexcept nogil:
        """Recompute a leaf's cached lengths and push the difference to its ancestors."""
        cdef lc_node *nd = &self.nodes[leaf]
        cdef lc_lens fresh, delta
        cdef int i
        memset(&fresh, 0, sizeof(lc_lens))
        for i in range(nd.n):
            lens_add_span(&fresh, &nd.u.spans[i])
        if self.tree_is_text[nd.tree] & TREE_ANCHORED:
            leaf_anchor_lens(nd, &fresh)
        delta.visible = fresh.visible - nd.lens.visible
        delta.utf8 = fresh.utf8 - nd.lens.utf8
        delta.utf16 = fresh.utf16 - nd.lens.utf16
        delta.total = fresh.total - nd.lens.total
        delta.anchors = fresh.anchors - nd.lens.anchors
        delta.anchor_balance = fresh.anchor_balance - nd.lens.anchor_balance
        if fresh.anchors or nd.lens.anchors:
            # a style anchor appeared, changed status or is still here among changed spans
            style_dirty_up(self, leaf)
        nd.lens = fresh
        cdef uint32_t p = nd.parent
        while p != LC_NO_NODE:
            lens_add(&self.nodes[p].lens, &delta)
            p = self.nodes[p].parent

    cdef int64_t visible_len(self, uint32_t t) noexcept nogil:
        return self.nodes[self.roots[t]].lens.visible

    cdef int64_t char_len(self, uint32_t t) noexcept nogil:
        """Visible code points of a text tree (its visible atoms less its style anchors)."""
        return self.nodes[self.roots[t]].lens.visible - self.nodes[self.roots[t]].lens.anchors

    cdef int64_t unit_len(self, uint32_t t, int unit) noexcept nogil:
        return lens_unit(&self.nodes[self.roots[t]].lens, unit)

    # ------------------------------------------------------------------ search

    cdef uint32_t first_leaf(self, uint32_t t) noexcept nogil:
        cdef uint32_t nd = self.roots[t]
        while not self.nodes[nd].is_leaf:
            nd = self.nodes[nd].u.children[0]
        return nd

    cdef uint32_t find_visible(self, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil:
        """Locate visible atom `pos` (0-based, < visible_len): leaf, span slot, offset."""
        cdef uint32_t nd = self.roots[t]
        cdef lc_node *node
        cdef int i
        cdef int64_t v
        while True:
            node = &self.nodes[nd]
            if node.is_leaf:
                break
            for i in range(node.n):
                v = self.nodes[node.u.children[i]].lens.visible
                if pos < v or i == node.n - 1:
                    nd = node.u.children[i]
                    break
                pos -= v
        for i in range(node.n):
            if span_visible(&node.u.spans[i]):
                if pos < node.u.spans[i].len:
                    idx[0] = i
                    off[0] = pos
                    return nd
                pos -= node.u.spans[i].len
        idx[0] = node.n
        off[0] = 0
        return nd

    cdef uint32_t find_total(self, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil:
        """Locate the atom at absolute index `pos` (tombstones counted); pos == total gives
        the end of the last leaf."""
        cdef uint32_t nd = self.roots[t]
        cdef lc_node *node
        cdef int i
        cdef int64_t v
        while True:
            node = &self.nodes[nd]
            if node.is_leaf:
                break
            for i in range(node.n):
                v = self.nodes[node.u.children[i]].lens.total
                if pos < v or i == node.n - 1:
                    nd = node.u.children[i]
                    break
                pos -= v
        for i in range(node.n):
            if pos < node.u.spans[i].len:
                idx[0] = i
                off[0] = pos
                return nd
            pos -= node.u.spans[i].len
        idx[0] = node.n
        off[0] = 0
        return nd

    cdef int64_t left_of(self, uint32_t nd, bint visible) noexcept nogil:
        """Atoms (visible ones, or all) in the subtrees left of node `nd` on its way up."""
        cdef int64_t acc = 0
        cdef int j
        cdef uint32_t p = self.nodes[nd].parent
        cdef lc_node *node
        cdef lc_lens *l
        while p != LC_NO_NODE:
            node = &self.nodes[p]
            for j in range(node.n):
                if node.u.children[j] == nd:
                    break
                l = &self.nodes[node.u.children[j]].lens
                acc += l.visible if visible else l.total
            nd = p
            p = node.parent
        return acc

    # ------------------------------------------------------------------ structure changes

    cdef int insert_child(self, uint32_t t, uint32_t parent, uint32_t after, uint32_t child) except -1 nogil:
        """Insert `child` right after `after` under `parent` (a new root when parent is none).
        The child's content came out of `after`, so the sums above `parent` do not change."""
        cdef uint32_t root, new_node, i, n, half
        cdef uint32_t kids[LC_BT_MAX + 1]
        cdef lc_node *p
        cdef lc_node *q
        if parent == LC_NO_NODE:
            root = self.alloc_node(False)
            p = &self.nodes[root]
            p.tree = t
            p.n = 2
            p.u.children[0] = after
            p.u.children[1] = child
            p.lens = self.nodes[after].lens
            lens_add(&p.lens, &self.nodes[child].lens)
            self.nodes[after].parent = root
            self.nodes[child].parent = root
            self.roots[t] = root
            style_dirty_up(self, child)
            return 0
        p = &self.nodes[parent]
        for i in range(p.n):
            if p.u.children[i] == after:
                break
        if p.n < LC_BT_MAX:
            memmove(&p.u.children[i + 2], &p.u.children[i + 1], (p.n - i - 1) * sizeof(uint32_t))
            p.u.children[i + 1] = child
            p.n += 1
            self.nodes[child].parent = parent
            style_dirty_up(self, child)
            return 0
        # full: lay out the LC_BT_MAX + 1 children, keep the first half, move the rest to a
        # new right sibling; both halves are summed with the child already in place
        n = p.n + 1
        memcpy(kids, p.u.children, (i + 1) * sizeof(uint32_t))
        kids[i + 1] = child
        memcpy(&kids[i + 2], &p.u.children[i + 1], (p.n - i - 1) * sizeof(uint32_t))
        half = n // 2
        new_node = self.alloc_node(False)
        p = &self.nodes[parent]
        q = &self.nodes[new_node]
        q.tree = t
        memcpy(p.u.children, kids, half * sizeof(uint32_t))
        p.n = half
        memcpy(q.u.children, &kids[half], (n - half) * sizeof(uint32_t))
        q.n = n - half
        memset(&p.lens, 0, sizeof(lc_lens))
        for i in range(p.n):
            self.nodes[p.u.children[i]].parent = parent
            lens_add(&p.lens, &self.nodes[p.u.children[i]].lens)
        for i in range(q.n):
            self.nodes[q.u.children[i]].parent = new_node
            lens_add(&q.lens, &self.nodes[q.u.children[i]].lens)
        self.insert_child(t, p.parent, parent, new_node)
        style_dirty_up(self, parent)
        return 0

    cdef uint32_t split_leaf(self, uint32_t t, uint32_t leaf, int half) except? 0xFFFFFFFF nogil:
        """Move spans [half, n) of a full leaf into a new right neighbour; returns it."""
        cdef uint32_t new_leaf = self.alloc_node(True)
        cdef lc_node *a = &self.nodes[leaf]
        cdef lc_node *b = &self.nodes[new_leaf]
        cdef int n = a.n - half
        cdef int i
        cdef lc_span *s
        b.tree = t
        memcpy(&b.u.spans[0], &a.u.spans[half], n * sizeof(lc_span))
        b.n = n
        a.n = half
        memset(&a.lens, 0, sizeof(lc_lens))
        for i in range(a.n):
            lens_add_span(&a.lens, &a.u.spans[i])
        for i in range(b.n):
            lens_add_span(&b.lens, &b.u.spans[i])
        if self.tree_is_text[t] & TREE_ANCHORED:
            leaf_anchor_lens(a, &a.lens)
            leaf_anchor_lens(b, &b.lens)
            style_dirty_up(self, leaf)
        b.next_leaf = a.next_leaf
        b.prev_leaf = leaf
        if a.next_leaf != LC_NO_NODE:
            self.nodes[a.next_leaf].prev_leaf = new_leaf
        a.next_leaf = new_leaf
        for i in range(n):
            s = &self.nodes[new_leaf].u.spans[i]
            self.peers[s.id.peer].leaf[s.id.counter] = new_leaf
        self.insert_child(t, self.nodes[leaf].parent, leaf, new_leaf)
        return new_leaf

    cdef int split_span(self, uint32_t t, uint32_t *leaf, int *idx, int32_t off) except -1 nogil:
        """Split span `idx` of `leaf` at `off` (0 < off < len). On return (leaf, idx) names the
        right part."""
        cdef lc_node *node = &self.nodes[leaf[0]]
        cdef uint32_t right_leaf
        if node.n == LC_BT_MAX:
            right_leaf = self.split_leaf(t, leaf[0], LC_BT_MAX // 2)
            if idx[0] >= LC_BT_MAX // 2:
                leaf[0] = right_leaf
                idx[0] -= LC_BT_MAX // 2
            node = &self.nodes[leaf[0]]
        cdef lc_span *s = &node.u.spans[idx[0]]
        cdef lc_span right = s[0]
        right.id.counter += off
        right.origin_left = make_id(s.id.peer, s.id.counter + off - 1)
        right.content += off
        right.len = s.len - off
        s.len = off
        if self.tree_is_text[t]:
            split_text_lens(self, s, &right)
        memmove(&node.u.spans[idx[0] + 2], &node.u.spans[idx[0] + 1],
                (node.n - idx[0] - 1) * sizeof(lc_span))
        node.u.spans[idx[0] + 1] = right
        node.n += 1
        lc_set_start(&self.peers[right.id.peer], right.id.counter, leaf[0])
        idx[0] += 1
        return 0

    cdef int isolate(self, uint32_t t, uint32_t *leaf, int *idx, int64_t off, int64_t m) except -1 nogil:
        """Split so that atoms [off, off+m) of span (leaf, idx) form their own span."""
        if off > 0:
            self.split_span(t, leaf, idx, <int32_t>off)
        if m < self.nodes[leaf[0]].u.spans[idx[0]].len:
            self.split_span(t, leaf, idx, <int32_t>m)
            idx[0] -= 1
            # the split may have moved the left part to another leaf only if it moved both
            # halves together; split_span keeps the pair in one leaf, so idx-1 is valid
        return 0

    cdef bint try_merge(self, uint32_t leaf, int idx) noexcept nogil:
        """Fold span idx into span idx-1 of the same leaf when they are one run again: the
        same op (ids, origins and content continue) with the same tracker status."""
        cdef lc_node *node = &self.nodes[leaf]
        if idx <= 0 or idx >= node.n:
            return False
        cdef lc_span *a = &node.u.spans[idx - 1]
        cdef lc_span *b = &node.u.spans[idx]
        if not (a.id.peer == b.id.peer and a.id.counter + a.len == b.id.counter
                and b.origin_left.peer == a.id.peer
                and b.origin_left.counter == a.id.counter + a.len - 1
                and id_eq(a.origin_right, b.origin_right)
                and a.future == b.future and a.deleted == b.deleted
                and a.content + <uint32_t>a.len == b.content):
            return False
        a.len += b.len
        a.utf8_len += b.utf8_len
        a.utf16_len += b.utf16_len
        lc_clear_start(&self.peers[b.id.peer], b.id.counter)
        memmove(&node.u.spans[idx], &node.u.spans[idx + 1], (node.n - idx - 1) * sizeof(lc_span))
        node.n -= 1
        return True

    cdef int merge_around(self, uint32_t leaf, int idx) except -1 nogil:
        """Try to fold span idx with both neighbours (the leaf's sums do not change)."""
        if idx + 1 < self.nodes[leaf].n:
            self.try_merge(leaf, idx + 1)
        self.try_merge(leaf, idx)
        return 0

    # ------------------------------------------------------------------ Python entry points

    def stats(self):
        """Sizes of the arenas (for memory benchmarks): nodes, leaves, spans, tracker
        records, atom-index slots, text code points, and bytes allocated for each."""
        return arena_stats(self)

    def check_records(self):
        """Verify that each peer's tracker records are sorted and disjoint."""
        check_record_order(self)

    def check(self, uint32_t t):
        """Python entry point for the invariant checker of tree `t`."""
        if t >= self.n_trees:
            raise IndexError(t)
        check_tree(self, t)
        check_record_order(self)
        check_atom_index(self)
