# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The sequence index: B-trees of run-length spans with cached lengths, the atom -> span index
(span-start bits and each span's leaf, see seq.h) and the tracker that moves every sequence
to an op's causal version (Eg-walker style).

Node indices (not pointers) are kept across calls because the node array grows by `realloc`.
Every index used below is produced by the tree itself (child arrays, `n` counts, the atom
index), which is why bounds checks are off; public entry points validate positions first,
and `locate` validates atom ids.
"""
from libc.stdlib cimport malloc, free
from libc.string cimport memmove, memcpy, memset
from libc.stdint cimport INT64_MAX

cdef enum:
    STATUS_SET_FUTURE = 0
    STATUS_CLEAR_FUTURE = 1
    STATUS_DELETE_INC = 2
    STATUS_DELETE_DEC = 3


cdef inline void lens_add_span(lc_lens *l, const lc_span *s) noexcept nogil:
    if s.future == 0 and s.deleted == 0:
        l.visible += s.len
        l.utf8 += s.utf8_len
        l.utf16 += s.utf16_len
    l.total += s.len


cdef inline void lens_add(lc_lens *l, const lc_lens *o) noexcept nogil:
    l.visible += o.visible
    l.utf8 += o.utf8
    l.utf16 += o.utf16
    l.total += o.total


cdef inline int64_t lens_unit(const lc_lens *l, int unit) noexcept nogil:
    if unit == UNIT_UTF16:
        return l.utf16
    if unit == UNIT_UTF8:
        return l.utf8
    return l.visible


cdef inline int64_t span_unit(const lc_span *s, int unit) noexcept nogil:
    if unit == UNIT_UTF16:
        return s.utf16_len
    if unit == UNIT_UTF8:
        return s.utf8_len
    return s.len


cdef inline int cp_units(uint32_t cp, int unit) noexcept nogil:
    # branch-free so that scans over code points vectorize
    if unit == UNIT_UTF16:
        return 1 + (cp >= 0x10000)
    if unit == UNIT_UTF8:
        return 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)
    return 1


cdef inline int64_t sum_units(const uint32_t *cps, int64_t n, int unit) noexcept nogil:
    cdef int64_t i, acc = 0
    if unit == UNIT_UTF16:
        for i in range(n):
            acc += 1 + (cps[i] >= 0x10000)
    elif unit == UNIT_UTF8:
        for i in range(n):
            acc += 1 + (cps[i] >= 0x80) + (cps[i] >= 0x800) + (cps[i] >= 0x10000)
    else:
        acc = n
    return acc


cdef inline int span_width(const lc_span *s, int unit) noexcept nogil:
    """The width in `unit` of every code point of a text span when its cached lengths prove
    they are all the same (ASCII, all-BMP 3-byte such as CJK, all astral), else 0. Only the
    extreme averages prove it: an average of 2 UTF-8 bytes may be a mix of 1 and 3."""
    if unit == UNIT_UNICODE or s.len <= 0:
        return 1
    if unit == UNIT_UTF16:
        if s.utf16_len == s.len:
            return 1
        if s.utf16_len == 2 * <int64_t>s.len:
            return 2
        return 0
    if s.utf8_len == s.len:
        return 1
    if s.utf8_len == 4 * <int64_t>s.len:
        return 4
    if s.utf16_len == s.len and s.utf8_len == 3 * <int64_t>s.len:
        return 3
    return 0


cdef inline int64_t first_record_reaching(const lc_peer_index *pi, int64_t counter) noexcept nogil:
    """Index of the first tracker record of `pi` that ends after `counter` (records are
    sorted by counter and disjoint), or rec_len."""
    cdef int64_t lo = 0, hi = pi.rec_len, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pi.recs[mid].counter + pi.recs[mid].len <= counter:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class SeqArena:

    def __cinit__(self):
        self.nodes = NULL
        self.roots = NULL
        self.tree_is_text = NULL
        self.peers = NULL
        self.text = NULL
        self.runs = NULL
        self.free_head = LC_NO_NODE

    def __dealloc__(self):
        cdef uint32_t i
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

    # ------------------------------------------------------------------ construction

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
        return i

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

    cdef int64_t append_text(self, const uint32_t *cps, int64_t n) except -1:
        """Append code points to the content arena; returns the offset of the first."""
        if self.text_len + n > self.text_cap:
            self.text = <uint32_t*>grow(self.text, &self.text_cap, self.text_len + n, sizeof(uint32_t))
        memcpy(&self.text[self.text_len], cps, <size_t>n * sizeof(uint32_t))
        cdef int64_t at = self.text_len
        self.text_len += n
        if self.text_len > 0xFFFFFFFF:
            raise MemoryError("text content arena exceeds 2**32 code points")
        return at

    cdef int truncate_text(self, int64_t n) except -1:
        if n < self.text_len:
            self.text_len = n
        return 0

    # ------------------------------------------------------------------ undo of an import

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

    cdef int unlink_empty(self, uint32_t t, uint32_t nd) except -1:
        """Take the empty node `nd` (a leaf without spans) out of tree `t`, with the ancestors
        that it leaves without children; its lengths are already zero, so no sum changes.
        Then a root with a single internal child hands the root over to it."""
        cdef lc_node *node
        cdef lc_node *p
        cdef uint32_t parent, child
        cdef int i
        while True:
            node = &self.nodes[nd]
            parent = node.parent
            if parent == LC_NO_NODE:
                # the whole tree is empty: it becomes one empty root leaf again
                node.is_leaf = 1
                node.n = 0
                node.prev_leaf = node.next_leaf = LC_NO_NODE
                return 0
            if node.is_leaf:
                if node.prev_leaf != LC_NO_NODE:
                    self.nodes[node.prev_leaf].next_leaf = node.next_leaf
                if node.next_leaf != LC_NO_NODE:
                    self.nodes[node.next_leaf].prev_leaf = node.prev_leaf
            p = &self.nodes[parent]
            for i in range(p.n):
                if p.u.children[i] == nd:
                    memmove(&p.u.children[i], &p.u.children[i + 1], (p.n - i - 1) * sizeof(uint32_t))
                    p.n -= 1
                    break
            self.free_node(nd)
            if self.nodes[parent].n > 0:
                break
            nd = parent
        while not self.nodes[self.roots[t]].is_leaf and self.nodes[self.roots[t]].n == 1:
            child = self.nodes[self.roots[t]].u.children[0]
            self.free_node(self.roots[t])
            self.nodes[child].parent = LC_NO_NODE
            self.roots[t] = child
        return 0

    cdef int drop_atoms(self, uint32_t peer, int32_t cut) except -1:
        """Forget atoms `cut`.. of `peer`: their spans, tracker records and atom index bits.
        The tracker must have retreated them first, so that they are future atoms in spans
        of their own; anything else raises AssertionError (the caller then rebuilds)."""
        if peer >= self.n_peers:
            return 0
        cdef lc_peer_index *pi = &self.peers[peer]
        cdef int64_t c, start
        cdef int32_t n
        cdef uint32_t leaf, t
        cdef lc_node *node
        cdef int i, slot
        cdef int64_t lo
        cdef lc_record *r
        if cut > 0 and cut - 1 < pi.leaf_len:
            start = lc_prev_start(pi, cut - 1)
            if start >= 0:
                leaf = pi.leaf[start]
                node = &self.nodes[leaf]
                for i in range(node.n):
                    if node.u.spans[i].id.peer == peer and node.u.spans[i].id.counter == start:
                        if start + node.u.spans[i].len > cut:
                            raise AssertionError("a kept span runs into the atoms to drop")
                        break
        c = lc_next_start(pi, cut)
        while c >= 0:
            leaf = pi.leaf[c]
            if leaf >= self.n_nodes or not self.nodes[leaf].is_leaf:
                raise AssertionError("atom index points to no leaf")
            node = &self.nodes[leaf]
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
            memmove(&node.u.spans[slot], &node.u.spans[slot + 1], (node.n - slot - 1) * sizeof(lc_span))
            node.n -= 1
            lc_clear_start(pi, c)
            self.leaf_update(leaf)
            if node.n == 0:
                t = node.tree
                self.unlink_empty(t, leaf)
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

    cdef int drop_trees(self, uint32_t n_trees) except -1:
        """Forget the trees made after the first `n_trees` (each must be empty by now)."""
        cdef uint32_t t, root
        for t in range(n_trees, self.n_trees):
            root = self.roots[t]
            if not self.nodes[root].is_leaf or self.nodes[root].n != 0:
                raise AssertionError("a tree to drop still holds spans")
            self.free_node(root)
        if n_trees < self.n_trees:
            self.n_trees = n_trees
        return 0

    cdef int reserve_atoms(self, uint32_t peer, int64_t end) except -1 nogil:
        """Let the atom index of `peer` cover atoms [0, end); new atoms start no span."""
        self.ensure_peer(peer)
        cdef lc_peer_index *pi = &self.peers[peer]
        cdef int64_t i, words, old
        if end <= pi.leaf_len:
            return 0
        if end > pi.leaf_cap:
            pi.leaf = <uint32_t*>grow(pi.leaf, &pi.leaf_cap, end, sizeof(uint32_t))
        for i in range(pi.leaf_len, end):
            pi.leaf[i] = LC_NO_NODE
        words = (end + 63) >> 6
        if words > pi.starts_cap:
            old = pi.starts_cap
            pi.starts = <uint64_t*>grow(pi.starts, &pi.starts_cap, words, sizeof(uint64_t))
            memset(&pi.starts[old], 0, <size_t>(pi.starts_cap - old) * sizeof(uint64_t))
        words = (words + 63) >> 6
        if words > pi.summary_cap:
            old = pi.summary_cap
            pi.summary = <uint64_t*>grow(pi.summary, &pi.summary_cap, words, sizeof(uint64_t))
            memset(&pi.summary[old], 0, <size_t>(pi.summary_cap - old) * sizeof(uint64_t))
        pi.leaf_len = end
        return 0

    cdef int index_span(self, lc_id id, int32_t n, uint32_t leaf) except -1 nogil:
        """Enter a new span of `n` atoms, in `leaf`, into the atom index."""
        self.reserve_atoms(id.peer, <int64_t>id.counter + n)
        lc_set_start(&self.peers[id.peer], id.counter, leaf)
        return 0

    cdef int add_record(self, uint32_t peer, int32_t counter, int32_t n, lc_id target,
                        uint32_t kind) except -1 nogil:
        """Append a tracker record; records of a peer arrive in counter order."""
        self.ensure_peer(peer)
        cdef lc_peer_index *pi = &self.peers[peer]
        cdef lc_record *last
        if pi.rec_len > 0:
            last = &pi.recs[pi.rec_len - 1]
            if last.counter + last.len > counter:
                with gil:
                    raise AssertionError("tracker records out of order")
            if last.counter + last.len == counter and last.target.peer == target.peer:
                if kind == LC_REC_INSERT:
                    if last.kind == LC_REC_INSERT:
                        last.len += n
                        return 0
                elif last.kind != LC_REC_INSERT:
                    # a one-atom delete record has no direction: it can start either run
                    if ((last.kind == LC_REC_DELETE or last.len == 1)
                            and (kind == LC_REC_DELETE or n == 1)
                            and last.target.counter + last.len == target.counter):
                        last.kind = LC_REC_DELETE
                        last.len += n
                        return 0
                    if ((last.kind == LC_REC_DELETE_REV or last.len == 1)
                            and (kind == LC_REC_DELETE_REV or n == 1)
                            and target.counter + n == last.target.counter):
                        last.kind = LC_REC_DELETE_REV
                        last.len += n
                        last.target.counter = target.counter
                        return 0
        if pi.rec_len == pi.rec_cap:
            pi.recs = <lc_record*>grow(pi.recs, &pi.rec_cap, pi.rec_len + 1, sizeof(lc_record))
        last = &pi.recs[pi.rec_len]
        last.counter = counter
        last.len = n
        last.target = target
        last.kind = kind
        pi.rec_len += 1
        return 0

    cdef void fill_text_lens(self, lc_span *s) noexcept nogil:
        # one branch-free pass for both units: every code point is one unit plus its extra
        # UTF-8 bytes, and an astral one is one more UTF-16 unit
        cdef const uint32_t *cps = &self.text[s.content]
        cdef int64_t i, extra8 = 0, astral = 0
        cdef uint32_t cp
        for i in range(s.len):
            cp = cps[i]
            extra8 += (cp >= 0x80) + (cp >= 0x800)
            astral += cp >= 0x10000
        s.utf8_len = <int32_t>(s.len + extra8 + astral)
        s.utf16_len = <int32_t>(s.len + astral)

    # ------------------------------------------------------------------ lengths

    cdef void leaf_update(self, uint32_t leaf) noexcept nogil:
        """Recompute a leaf's cached lengths and push the difference to its ancestors."""
        cdef lc_node *nd = &self.nodes[leaf]
        cdef lc_lens fresh, delta
        cdef int i
        memset(&fresh, 0, sizeof(lc_lens))
        for i in range(nd.n):
            lens_add_span(&fresh, &nd.u.spans[i])
        delta.visible = fresh.visible - nd.lens.visible
        delta.utf8 = fresh.utf8 - nd.lens.utf8
        delta.utf16 = fresh.utf16 - nd.lens.utf16
        delta.total = fresh.total - nd.lens.total
        nd.lens = fresh
        cdef uint32_t p = nd.parent
        while p != LC_NO_NODE:
            lens_add(&self.nodes[p].lens, &delta)
            p = self.nodes[p].parent

    cdef int64_t visible_len(self, uint32_t t) noexcept nogil:
        return self.nodes[self.roots[t]].lens.visible

    cdef int64_t unit_len(self, uint32_t t, int unit) noexcept nogil:
        return lens_unit(&self.nodes[self.roots[t]].lens, unit)

    # ------------------------------------------------------------------ navigation

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

    cdef uint32_t locate(self, lc_id id, int *idx) except? 0xFFFFFFFF nogil:
        """The leaf holding atom `id`, and in `idx` the slot of its span."""
        cdef lc_peer_index *pi
        cdef int64_t start
        cdef uint32_t leaf
        cdef lc_node *node
        cdef int i
        if id.peer >= self.n_peers or id.counter < 0 or id.counter >= self.peers[id.peer].leaf_len:
            with gil:
                raise AssertionError("unknown atom id")
        pi = &self.peers[id.peer]
        start = lc_prev_start(pi, id.counter)
        if start < 0:
            with gil:
                raise AssertionError("unknown atom id")
        leaf = pi.leaf[start]
        if leaf >= self.n_nodes or not self.nodes[leaf].is_leaf:
            with gil:
                raise AssertionError("atom index points to no leaf")
        node = &self.nodes[leaf]
        for i in range(node.n):
            if node.u.spans[i].id.counter == start and node.u.spans[i].id.peer == id.peer:
                # a counter between two spans belongs to an op that is no sequence insert
                if id.counter - start >= node.u.spans[i].len:
                    with gil:
                        raise AssertionError("unknown atom id")
                idx[0] = i
                return leaf
        with gil:
            raise AssertionError("atom index points to a leaf without the atom")

    cdef int64_t visible_before(self, uint32_t leaf, int slot, int32_t counter) noexcept nogil:
        """Visible atoms before atom `counter` of span `slot` of `leaf` (the atom itself
        counts its predecessors in its span only when the span is visible)."""
        cdef lc_node *node = &self.nodes[leaf]
        cdef int64_t acc = 0
        cdef int j
        if span_visible(&node.u.spans[slot]):
            acc = counter - node.u.spans[slot].id.counter
        for j in range(slot):
            if span_visible(&node.u.spans[j]):
                acc += node.u.spans[j].len
        return acc + self.left_of(leaf, True)

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

    cdef int64_t abs_index(self, lc_id id) except -1 nogil:
        """Absolute index (tombstones counted) of an atom."""
        cdef int i
        cdef uint32_t nd = self.locate(id, &i)
        cdef lc_node *node = &self.nodes[nd]
        cdef int64_t acc = id.counter - node.u.spans[i].id.counter
        cdef int j
        for j in range(i):
            acc += node.u.spans[j].len
        return acc + self.left_of(nd, False)

    cdef int origin_left_of(self, lc_id id, lc_id *out) except -1 nogil:
        cdef int i
        cdef uint32_t nd = self.locate(id, &i)
        cdef lc_span *s = &self.nodes[nd].u.spans[i]
        if s.id.counter == id.counter:
            out[0] = s.origin_left
        else:
            out[0] = make_id(id.peer, id.counter - 1)
        return 0

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
            self.split_text_lens(s, &right)
        memmove(&node.u.spans[idx[0] + 2], &node.u.spans[idx[0] + 1],
                (node.n - idx[0] - 1) * sizeof(lc_span))
        node.u.spans[idx[0] + 1] = right
        node.n += 1
        lc_set_start(&self.peers[right.id.peer], right.id.counter, leaf[0])
        idx[0] += 1
        return 0

    cdef void split_text_lens(self, lc_span *left, lc_span *right) noexcept nogil:
        """Share the cached UTF-8/16 lengths of a text span between its two parts; `left`
        still holds the whole span's lengths. Uniform widths need no scan, otherwise only the
        shorter part is scanned and the other one gets the difference."""
        cdef int64_t whole8 = left.utf8_len, whole16 = left.utf16_len
        cdef int64_t n = <int64_t>left.len + right.len
        cdef lc_span whole = left[0]
        whole.len = <int32_t>n
        cdef int w8 = span_width(&whole, UNIT_UTF8), w16 = span_width(&whole, UNIT_UTF16)
        cdef lc_span *short_part
        cdef lc_span *long_part
        if w8 and w16:
            left.utf8_len = w8 * left.len
            left.utf16_len = w16 * left.len
            right.utf8_len = w8 * right.len
            right.utf16_len = w16 * right.len
            return
        if left.len <= right.len:
            short_part = left
            long_part = right
        else:
            short_part = right
            long_part = left
        self.fill_text_lens(short_part)
        long_part.utf8_len = <int32_t>(whole8 - short_part.utf8_len)
        long_part.utf16_len = <int32_t>(whole16 - short_part.utf16_len)

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

    cdef int insert_span(self, uint32_t t, uint32_t leaf, int slot, int64_t off, lc_span *span) except -1 nogil:
        """Insert `span` at (leaf, slot, off): inside span `slot` when off > 0, else before it.
        Extends the previous span instead when the new atoms continue it."""
        cdef int idx = slot
        cdef lc_node *node
        cdef lc_span *prev
        cdef uint32_t pleaf
        cdef int pidx, half
        if off > 0:
            self.split_span(t, &leaf, &idx, <int32_t>off)
        node = &self.nodes[leaf]
        # the previous span: in this leaf, or the last one of the previous leaf
        pleaf = leaf
        pidx = idx - 1
        if pidx < 0 and node.prev_leaf != LC_NO_NODE:
            pleaf = node.prev_leaf
            pidx = self.nodes[pleaf].n - 1
        if pidx >= 0:
            prev = &self.nodes[pleaf].u.spans[pidx]
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
                self.reserve_atoms(span.id.peer, <int64_t>span.id.counter + span.len)
                self.leaf_update(pleaf)
                return 0
        if node.n == LC_BT_MAX:
            # appending at the end of a leaf (typing at the end of a run of edits) leaves the
            # old leaf nearly full; otherwise split in the middle
            half = LC_BT_MAX - 1 if idx == LC_BT_MAX else LC_BT_MAX // 2
            pleaf = self.split_leaf(t, leaf, half)
            if idx > half:
                leaf = pleaf
                idx -= half
            node = &self.nodes[leaf]
        memmove(&node.u.spans[idx + 1], &node.u.spans[idx], (node.n - idx) * sizeof(lc_span))
        node.u.spans[idx] = span[0]
        node.n += 1
        self.index_span(span.id, span.len, leaf)
        self.leaf_update(leaf)
        return 0

    # ------------------------------------------------------------------ integration

    cdef int integrate_insert(self, uint32_t t, lc_id new_id, int64_t pos, int32_t n,
                              uint32_t content, const uint64_t *peer_ids) except -1 nogil:
        """Insert `n` atoms at visible index `pos` of the tracker version with Loro's Fugue
        rule. The caller has checked 0 <= pos <= visible_len(t)."""
        cdef lc_span span
        cdef lc_id origin_left, origin_right, ol, o_right
        cdef uint32_t leaf, cur_leaf, end_leaf
        cdef int idx, cur_idx, end_idx
        cdef int64_t off, l_abs, parent_right, o_abs, insert_at, o_pr
        cdef lc_span *s
        cdef lc_span *o
        cdef bint scanning
        cdef uint64_t new_peer = peer_ids[new_id.peer]
        memset(&span, 0, sizeof(lc_span))
        if pos == 0:
            origin_left = make_id(LC_NO_PEER, 0)
            leaf = self.first_leaf(t)
            idx = 0
            off = 0
        else:
            leaf = self.find_visible(t, pos - 1, &idx, &off)
            s = &self.nodes[leaf].u.spans[idx]
            origin_left = make_id(s.id.peer, <int32_t>(s.id.counter + off))
            off += 1
            if off == s.len:
                idx += 1
                off = 0
        span.id = new_id
        span.origin_left = origin_left
        span.len = n
        span.content = content
        span.deleted = 0
        span.future = 0
        span.utf8_len = 0
        span.utf16_len = 0
        if self.tree_is_text[t]:
            self.fill_text_lens(&span)
        if off > 0:
            # inside a known run: nothing concurrent can sit in this gap
            s = &self.nodes[leaf].u.spans[idx]
            span.origin_right = make_id(s.id.peer, <int32_t>(s.id.counter + off))
            self.insert_span(t, leaf, idx, off, &span)
            self.add_record(new_id.peer, new_id.counter, n, new_id, LC_REC_INSERT)
            return 0
        # walk the future (concurrent, not yet known) spans that sit in the gap
        if idx == self.nodes[leaf].n and self.nodes[leaf].next_leaf != LC_NO_NODE:
            leaf = self.nodes[leaf].next_leaf
            idx = 0
        end_leaf = leaf
        end_idx = idx
        while True:
            if end_idx == self.nodes[end_leaf].n:
                if self.nodes[end_leaf].next_leaf == LC_NO_NODE:
                    break
                end_leaf = self.nodes[end_leaf].next_leaf
                end_idx = 0
            if not self.nodes[end_leaf].u.spans[end_idx].future:
                break
            end_idx += 1
        if end_idx < self.nodes[end_leaf].n:
            span.origin_right = self.nodes[end_leaf].u.spans[end_idx].id
        else:
            span.origin_right = make_id(LC_NO_PEER, 0)
        origin_right = span.origin_right
        if end_leaf == leaf and end_idx == idx:
            self.insert_span(t, leaf, idx, 0, &span)
            self.add_record(new_id.peer, new_id.counter, n, new_id, LC_REC_INSERT)
            return 0
        # the Fugue scan over concurrent siblings (spec section 2.4)
        l_abs = self.abs_index(self.nodes[leaf].u.spans[idx].id)
        parent_right = INT64_MAX
        if origin_right.peer != LC_NO_PEER:
            self.origin_left_of(origin_right, &ol)
        if origin_right.peer != LC_NO_PEER and id_eq(ol, origin_left):
            parent_right = self.abs_index(origin_right)
        insert_at = l_abs
        o_abs = l_abs
        scanning = False
        cur_leaf = leaf
        cur_idx = idx
        while not (cur_leaf == end_leaf and cur_idx == end_idx):
            if cur_idx == self.nodes[cur_leaf].n:
                cur_leaf = self.nodes[cur_leaf].next_leaf
                cur_idx = 0
                continue
            o = &self.nodes[cur_leaf].u.spans[cur_idx]
            ol = o.origin_left
            if not id_eq(ol, origin_left):
                if ol.peer == LC_NO_PEER or self.abs_index(ol) < l_abs:
                    break
                # a descendant of a visited span keeps the scanning state
            else:
                o = &self.nodes[cur_leaf].u.spans[cur_idx]
                if id_eq(o.origin_right, origin_right):
                    if peer_ids[o.id.peer] > new_peer:
                        break
                    scanning = False
                else:
                    o_right = o.origin_right
                    o_pr = INT64_MAX
                    if o_right.peer != LC_NO_PEER:
                        self.origin_left_of(o_right, &ol)
                    if o_right.peer != LC_NO_PEER and id_eq(ol, origin_left):
                        o_pr = self.abs_index(o_right)
                    o = &self.nodes[cur_leaf].u.spans[cur_idx]
                    if o_pr < parent_right:
                        scanning = True
                    elif o_pr == parent_right and peer_ids[o.id.peer] > new_peer:
                        break
                    else:
                        scanning = False
            o = &self.nodes[cur_leaf].u.spans[cur_idx]
            o_abs += o.len
            if not scanning:
                insert_at = o_abs
            cur_idx += 1
        leaf = self.find_total(t, insert_at, &idx, &off)
        self.insert_span(t, leaf, idx, off, &span)
        self.add_record(new_id.peer, new_id.counter, n, new_id, LC_REC_INSERT)
        return 0

    cdef int integrate_delete(self, uint32_t t, lc_id del_id, int64_t start, int64_t n,
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
        cdef int64_t a, b
        self.ensure_peer(del_id.peer)
        first_rec = self.peers[del_id.peer].rec_len
        while done < n:
            leaf = self.find_visible(t, start, &idx, &off)
            s = &self.nodes[leaf].u.spans[idx]
            m = s.len - off
            if m > n - done:
                m = n - done
            self.isolate(t, &leaf, &idx, off, m)
            s = &self.nodes[leaf].u.spans[idx]
            s.deleted += 1
            target = s.id
            self.leaf_update(leaf)
            self.merge_around(leaf, idx)
            if not reversed:
                self.add_record(del_id.peer, <int32_t>(del_id.counter + done), <int32_t>m, target, LC_REC_DELETE)
            else:
                # appended in descending counter order; put in order below
                self.push_raw_record(del_id.peer, <int32_t>(del_id.counter + n - done - m), <int32_t>m,
                                     target, LC_REC_DELETE_REV)
            done += m
        if reversed:
            pi = &self.peers[del_id.peer]
            a = first_rec
            b = pi.rec_len - 1
            while a < b:
                tmp = pi.recs[a]
                pi.recs[a] = pi.recs[b]
                pi.recs[b] = tmp
                a += 1
                b -= 1
            self.coalesce_records(del_id.peer, first_rec)
        return 0

    cdef int push_raw_record(self, uint32_t peer, int32_t counter, int32_t n, lc_id target,
                             uint32_t kind) except -1 nogil:
        cdef lc_peer_index *pi = &self.peers[peer]
        if pi.rec_len == pi.rec_cap:
            pi.recs = <lc_record*>grow(pi.recs, &pi.rec_cap, pi.rec_len + 1, sizeof(lc_record))
        pi.recs[pi.rec_len].counter = counter
        pi.recs[pi.rec_len].len = n
        pi.recs[pi.rec_len].target = target
        pi.recs[pi.rec_len].kind = kind
        pi.rec_len += 1
        return 0

    cdef int coalesce_records(self, uint32_t peer, int64_t first) except -1 nogil:
        """Re-add records [first, end) through add_record so that runs merge."""
        cdef lc_peer_index *pi = &self.peers[peer]
        cdef int64_t end = pi.rec_len, i, k = end - first
        if k <= 1 and first == 0:
            return 0
        cdef lc_record *tmp = <lc_record*>malloc(<size_t>(k if k > 0 else 1) * sizeof(lc_record))
        if tmp == NULL:
            with gil:
                raise MemoryError()
        memcpy(tmp, &pi.recs[first], <size_t>k * sizeof(lc_record))
        pi.rec_len = first
        try:
            for i in range(k):
                self.add_record(peer, tmp[i].counter, tmp[i].len, tmp[i].target, tmp[i].kind)
        finally:
            free(tmp)
        return 0

    cdef int apply_status(self, lc_id target, int32_t n, int mode) except -1 nogil:
        """Change the tracker status of atoms [target, target+n) (one peer's counters)."""
        cdef uint32_t leaf
        cdef int idx
        cdef int64_t off, m
        cdef lc_span *s
        cdef uint32_t t
        while n > 0:
            leaf = self.locate(target, &idx)
            t = self.nodes[leaf].tree
            s = &self.nodes[leaf].u.spans[idx]
            off = target.counter - s.id.counter
            m = s.len - off
            if m > n:
                m = n
            self.isolate(t, &leaf, &idx, off, m)
            s = &self.nodes[leaf].u.spans[idx]
            if mode == STATUS_SET_FUTURE:
                s.future = 1
            elif mode == STATUS_CLEAR_FUTURE:
                s.future = 0
            elif mode == STATUS_DELETE_INC:
                s.deleted += 1
            else:
                s.deleted -= 1
            self.leaf_update(leaf)
            self.merge_around(leaf, idx)
            target.counter += <int32_t>m
            n -= <int32_t>m
        return 0

    cdef int tracker_move(self, uint32_t peer, int32_t start, int32_t end, bint advance) except -1 nogil:
        """Advance (or retreat) the tracker over atoms [start, end) of `peer`: their inserts
        become known (future) and their deletes take (lose) effect."""
        if peer >= self.n_peers or start >= end:
            return 0
        cdef lc_peer_index *pi = &self.peers[peer]
        cdef int64_t lo = first_record_reaching(pi, start)
        cdef lc_record r
        cdef int32_t a, b
        while lo < self.peers[peer].rec_len:
            r = self.peers[peer].recs[lo]
            if r.counter >= end:
                break
            a = r.counter if r.counter > start else start
            b = r.counter + r.len if r.counter + r.len < end else end
            if r.kind == LC_REC_INSERT:
                self.apply_status(make_id(peer, a), b - a,
                                  STATUS_CLEAR_FUTURE if advance else STATUS_SET_FUTURE)
            elif r.kind == LC_REC_DELETE:
                self.apply_status(make_id(r.target.peer, r.target.counter + (a - r.counter)), b - a,
                                  STATUS_DELETE_INC if advance else STATUS_DELETE_DEC)
            else:
                self.apply_status(make_id(r.target.peer, r.target.counter + r.len - (b - r.counter)), b - a,
                                  STATUS_DELETE_INC if advance else STATUS_DELETE_DEC)
            lo += 1
        return 0

    # ------------------------------------------------------------------ reading

    cdef int64_t copy_visible(self, uint32_t t, int64_t start, int64_t end, uint32_t *out) except -1:
        """Write the content offsets' values of visible atoms [start, end) to `out`: code
        points for text trees, content indices (list value slots) for list trees."""
        cdef int idx
        cdef int64_t off, k = 0, i, take
        cdef uint32_t leaf
        cdef lc_span *s
        cdef bint is_text = self.tree_is_text[t]
        if start >= end:
            return 0
        leaf = self.find_visible(t, start, &idx, &off)
        while leaf != LC_NO_NODE and k < end - start:
            while idx < self.nodes[leaf].n and k < end - start:
                s = &self.nodes[leaf].u.spans[idx]
                if span_visible(s):
                    take = s.len - off
                    if take > end - start - k:
                        take = end - start - k
                    if is_text:
                        memcpy(&out[k], &self.text[s.content + off], <size_t>take * sizeof(uint32_t))
                    else:
                        for i in range(take):
                            out[k + i] = <uint32_t>(s.content + off + i)
                    k += take
                off = 0
                idx += 1
            leaf = self.nodes[leaf].next_leaf
            idx = 0
        return k

    cdef int64_t visible_content(self, uint32_t t, int64_t pos) except -1:
        """Content offset of visible atom `pos`."""
        cdef int idx
        cdef int64_t off
        cdef uint32_t leaf = self.find_visible(t, pos, &idx, &off)
        return self.nodes[leaf].u.spans[idx].content + off

    cdef int64_t to_unicode(self, uint32_t t, int64_t pos, int unit, bint floor) except -2:
        """Convert a visible position in `unit` to code points. A position inside a code point
        gives -1, or the code point's start when `floor` (as loro's convert_pos). The caller
        checks 0 <= pos <= unit_len."""
        if unit == UNIT_UNICODE:
            return pos
        cdef uint32_t nd = self.roots[t]
        cdef lc_node *node
        cdef int i
        cdef int64_t v, acc = 0
        cdef lc_span *s
        while True:
            node = &self.nodes[nd]
            if node.is_leaf:
                break
            for i in range(node.n):
                v = lens_unit(&self.nodes[node.u.children[i]].lens, unit)
                if pos < v or i == node.n - 1:
                    nd = node.u.children[i]
                    break
                pos -= v
                acc += self.nodes[node.u.children[i]].lens.visible
        for i in range(node.n):
            s = &node.u.spans[i]
            if not span_visible(s):
                continue
            v = span_unit(s, unit)
            if pos >= v:
                pos -= v
                acc += s.len
                continue
            return self.span_to_unicode(s, pos, v, unit, acc, floor)
        return acc if pos == 0 else -1

    cdef int64_t span_to_unicode(self, const lc_span *s, int64_t pos, int64_t v, int unit,
                                 int64_t acc, bint floor) noexcept:
        """acc + the code points of visible span `s` before its unit offset `pos` (0 <= pos <
        v, its length in units); inside a code point: -1, or its start when `floor`. Scans
        from the nearer end unless every code point has the same width."""
        cdef int64_t k, c, rem
        cdef int w = span_width(s, unit)
        cdef const uint32_t *cps = &self.text[s.content]
        if w:
            return -1 if pos % w and not floor else acc + pos // w
        if pos <= v - pos:
            k = 0
            while pos > 0:
                c = cp_units(cps[k], unit)
                if c > pos:
                    return acc + k if floor else -1
                pos -= c
                k += 1
            return acc + k
        rem = v - pos
        k = s.len
        while rem > 0:
            c = cp_units(cps[k - 1], unit)
            if c > rem:
                return acc + k - 1 if floor else -1
            rem -= c
            k -= 1
        return acc + k

    cdef int64_t from_unicode(self, uint32_t t, int64_t pos, int unit) except -2:
        """Convert a visible code point position to `unit`. The caller checks the range."""
        if unit == UNIT_UNICODE:
            return pos
        cdef uint32_t nd = self.roots[t]
        cdef lc_node *node
        cdef int i
        cdef int64_t v, acc = 0
        cdef int w
        cdef lc_span *s
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
                acc += lens_unit(&self.nodes[node.u.children[i]].lens, unit)
        for i in range(node.n):
            s = &node.u.spans[i]
            if not span_visible(s):
                continue
            if pos >= s.len:
                pos -= s.len
                acc += span_unit(s, unit)
                continue
            w = span_width(s, unit)
            if w:
                return acc + w * pos
            # from the nearer end of the span
            if pos <= s.len - pos:
                return acc + sum_units(&self.text[s.content], pos, unit)
            return acc + span_unit(s, unit) - sum_units(&self.text[s.content + pos], s.len - pos, unit)
        return acc

    cdef int64_t collect_runs(self, uint32_t t, int64_t start, int64_t n) except -1:
        """Split visible range [start, start+n) into runs of consecutive ids, left to right,
        into self.runs as (visible start, len, peer, counter); returns the run count."""
        cdef int idx
        cdef int64_t off, done = 0, take, count = 0
        cdef uint32_t leaf
        cdef lc_span *s
        cdef int64_t *r
        self.runs_len = 0
        if n <= 0:
            return 0
        leaf = self.find_visible(t, start, &idx, &off)
        while leaf != LC_NO_NODE and done < n:
            while idx < self.nodes[leaf].n and done < n:
                s = &self.nodes[leaf].u.spans[idx]
                if span_visible(s):
                    take = s.len - off
                    if take > n - done:
                        take = n - done
                    r = &self.runs[4 * (count - 1)] if count > 0 else NULL
                    if (r != NULL and r[2] == s.id.peer
                            and r[3] + r[1] == s.id.counter + off):
                        r[1] += take
                    else:
                        if 4 * (count + 1) > self.runs_cap:
                            self.runs = <int64_t*>grow(self.runs, &self.runs_cap, 4 * (count + 1), sizeof(int64_t))
                        r = &self.runs[4 * count]
                        r[0] = start + done
                        r[1] = take
                        r[2] = s.id.peer
                        r[3] = s.id.counter + off
                        count += 1
                    done += take
                off = 0
                idx += 1
            leaf = self.nodes[leaf].next_leaf
            idx = 0
        self.runs_len = count
        return count

    # ------------------------------------------------------------------ invariants

    cdef int check_tree(self, uint32_t t) except -1:
        """Verify every structural invariant of tree `t`; raises AssertionError."""
        cdef uint32_t root = self.roots[t]
        if self.nodes[root].parent != LC_NO_NODE:
            raise AssertionError("root has a parent")
        leaves = []
        self._check_node(t, root, leaves)
        cdef uint32_t leaf = self.first_leaf(t)
        cdef uint32_t prev = LC_NO_NODE
        chained = []
        while leaf != LC_NO_NODE:
            if self.nodes[leaf].prev_leaf != prev:
                raise AssertionError("leaf chain prev pointer broken")
            chained.append(leaf)
            prev = leaf
            leaf = self.nodes[leaf].next_leaf
        if chained != leaves:
            raise AssertionError("leaf chain differs from in-order leaves")
        return 0

    cdef object _check_node(self, uint32_t t, uint32_t nd, list leaves):
        cdef lc_node *node = &self.nodes[nd]
        cdef lc_lens sums
        cdef int i
        cdef int64_t c
        cdef lc_span s
        cdef lc_span probe
        cdef lc_peer_index *pi
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
                s = node.u.spans[i]
                if s.len <= 0 or s.deleted < 0 or s.future > 1:
                    raise AssertionError("bad span status or length")
                if s.id.peer >= self.n_peers or s.id.counter < 0:
                    raise AssertionError("span id outside the atom index")
                pi = &self.peers[s.id.peer]
                if <int64_t>s.id.counter + s.len > pi.leaf_len:
                    raise AssertionError("span atoms outside the atom index")
                if not lc_is_start(pi, s.id.counter) or pi.leaf[s.id.counter] != nd:
                    raise AssertionError("atom index disagrees with leaf")
                for c in range(s.id.counter + 1, s.id.counter + s.len):
                    if lc_is_start(pi, c):
                        raise AssertionError("atom index marks a span start inside a span")
                if self.tree_is_text[t]:
                    probe = s
                    self.fill_text_lens(&probe)
                    if probe.utf8_len != s.utf8_len or probe.utf16_len != s.utf16_len:
                        raise AssertionError("cached UTF-8/16 span length is stale")
                lens_add_span(&sums, &node.u.spans[i])
        else:
            # one child is allowed: undoing a rejected import may empty its siblings
            if node.n < 1 or (node.n < 2 and node.parent == LC_NO_NODE):
                raise AssertionError("internal node without children, or a root with one")
            for i in range(node.n):
                if self.nodes[node.u.children[i]].parent != nd:
                    raise AssertionError("child's parent pointer is wrong")
                self._check_node(t, node.u.children[i], leaves)
                lens_add(&sums, &self.nodes[node.u.children[i]].lens)
        node = &self.nodes[nd]
        if (sums.visible != node.lens.visible or sums.total != node.lens.total
                or sums.utf8 != node.lens.utf8 or sums.utf16 != node.lens.utf16):
            raise AssertionError(f"cached lengths differ from their sums at node {nd} (leaf={node.is_leaf}, "
                                 f"n={node.n}, root={nd == self.roots[t]}): cached "
                                 f"{(node.lens.visible, node.lens.total, node.lens.utf8)} vs "
                                 f"{(sums.visible, sums.total, sums.utf8)}")
        return None

    cdef int check_atom_index(self) except -1:
        """Each peer's summary bits match its start bits, no bit lies past the atoms it
        covers, and there are exactly as many start bits as spans in all trees."""
        cdef uint32_t p, t, leaf
        cdef int64_t w, words, marked = 0, spans = 0
        cdef lc_peer_index *pi
        for p in range(self.n_peers):
            pi = &self.peers[p]
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
        for t in range(self.n_trees):
            leaf = self.first_leaf(t)
            while leaf != LC_NO_NODE:
                spans += self.nodes[leaf].n
                leaf = self.nodes[leaf].next_leaf
        if marked != spans:
            raise AssertionError(f"atom index marks {marked} span starts for {spans} spans")
        return 0

    def check_records(self):
        """Verify that each peer's tracker records are sorted and disjoint."""
        cdef uint32_t p
        cdef int64_t i
        for p in range(self.n_peers):
            for i in range(1, self.peers[p].rec_len):
                if self.peers[p].recs[i - 1].counter + self.peers[p].recs[i - 1].len > self.peers[p].recs[i].counter:
                    raise AssertionError("tracker records overlap or are unsorted")

    def stats(self):
        """Sizes of the arenas (for memory benchmarks): nodes, leaves, spans, tracker
        records, atom-index slots, text code points, and bytes allocated for each."""
        cdef uint32_t i
        cdef int64_t leaves = 0, spans = 0, recs = 0, slots = 0, rec_bytes = 0, slot_bytes = 0
        for i in range(self.n_nodes):
            if self.nodes[i].is_leaf and self.nodes[i].tree != LC_NO_NODE:
                leaves += 1
                spans += self.nodes[i].n
        for i in range(self.n_peers):
            recs += self.peers[i].rec_len
            slots += self.peers[i].leaf_len
            rec_bytes += self.peers[i].rec_cap * sizeof(lc_record)
            slot_bytes += (self.peers[i].leaf_cap * sizeof(uint32_t)
                           + (self.peers[i].starts_cap + self.peers[i].summary_cap) * sizeof(uint64_t))
        return {"nodes": self.n_nodes - self.n_free, "free_nodes": self.n_free, "leaves": leaves, "spans": spans, "records": recs,
                "atom_slots": slots, "text_cps": self.text_len,
                "node_bytes": self.cap_nodes * sizeof(lc_node), "record_bytes": rec_bytes,
                "atom_index_bytes": slot_bytes, "text_bytes": self.text_cap * sizeof(uint32_t)}

    def check(self, uint32_t t):
        """Python entry point for the invariant checker of tree `t`."""
        if t >= self.n_trees:
            raise IndexError(t)
        self.check_tree(t)
        self.check_records()
        self.check_atom_index()
