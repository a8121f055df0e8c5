# cython: language_level=3, boundscheck=False, wraparound=False
"""The movable tree's move log: the CRDT core of a LoroTree, in C arrays.

Loro's rule (its `TreeCacheForDiff`): every move of a tree (create, move and delete are all
moves; a delete moves a node under the deleted root) is ordered by (Lamport, peer); the
moves are applied in that order to a parent map, and a move is skipped, its *effect* nil,
when the new parent is the target or one of its descendants at that point (loro asks this
only of targets that already have moves: the same on any valid history, see
creates_cycle). A node's parent and position come from its last effective move.
A node is deleted while its parent chain reaches the deleted root. Siblings are ordered by
fractional index bytes, then by the (Lamport, peer) of their last effective move.

A move that arrives after later ones were applied takes back those later ones (newest
first; each remembers the parent and last move its target had before it), takes its place
in the order and applies them again, judging cycles anew: O(moves after it), never a
replay from the start. The re-application waits for the next read, so the late moves of
one import share a single retreat. Nodes are found by TreeID through an open-addressing hash table.
Everything is owned by one `TreeMoves` and freed in `__dealloc__`."""
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memmove, memcmp
from loro_c.fxhash cimport hb_buckets_for, hb_capacity_of, fx_add, fx_finish

cdef void *_grow(void *p, int64_t *cap, int64_t need, size_t item) except NULL:
    cdef int64_t n = cap[0] if cap[0] > 0 else 16
    while n < need:
        n *= 2
    cdef void *q = realloc(p, <size_t>n * item)
    if q == NULL:
        raise MemoryError()
    cap[0] = n
    return q


cdef inline uint64_t _mix(uint64_t peer, int32_t counter) noexcept nogil:
    cdef uint64_t h = peer * <uint64_t>0x9E3779B97F4A7C15 + <uint64_t><uint32_t>counter
    h ^= h >> 31
    return h * <uint64_t>0xBF58476D1CE4E5B9


# A slot of the TreeID table: 0 empty, else the node index + 1 in the low 32 bits and 31
# more bits of the hash above them, so that a probe of another node is told apart without
# reading that node (a cache miss per probe in a large tree)
cdef inline int64_t _slot_tag(uint64_t h) noexcept nogil:
    return <int64_t>((h >> 33) << 32)


cdef enum:
    SLOT_INDEX_BITS = 32



# -- fractional indexes in C (the functions fi_before ... fi_new below, on byte buffers, for
# the local op path): each writes its bytes to `out` and returns their length, or -1 where
# the bytes version returns None or raises (the caller then takes the bytes version)

cdef enum:
    FI_END = 0x80


cdef int64_t _fi_before_c(const uint8_t *b, int64_t n, uint8_t *out) noexcept:
    cdef int64_t i
    for i in range(n):
        if b[i] > FI_END:
            memcpy(out, b, <size_t>i)
            return i
        if b[i] > 0:
            memcpy(out, b, <size_t>i)
            out[i] = b[i] - 1
            return i + 1
    return -1


cdef int64_t _fi_after_c(const uint8_t *b, int64_t n, uint8_t *out) noexcept:
    cdef int64_t i
    for i in range(n):
        if b[i] < FI_END:
            memcpy(out, b, <size_t>i)
            return i
        if b[i] < 0xFF:
            memcpy(out, b, <size_t>i)
            out[i] = b[i] + 1
            return i + 1
    return -1


cdef int64_t _fi_between_c(const uint8_t *l, int64_t ln, const uint8_t *r, int64_t rn,
                           uint8_t *out) noexcept:
    cdef int64_t shorter = (ln if ln < rn else rn) - 1
    cdef int64_t i, k
    cdef int gap
    if shorter < 0:
        return -1                   # an empty index: left to the bytes version
    for i in range(shorter):
        gap = <int>r[i] - <int>l[i]
        if gap > 1:
            memcpy(out, l, <size_t>i)
            out[i] = <uint8_t>(l[i] + gap // 2)
            return i + 1
        if gap == 1:
            memcpy(out, l, <size_t>(i + 1))
            k = _fi_after_c(l + i + 1, ln - i - 1, out + i + 1)
            return -1 if k < 0 else i + 1 + k
        if gap < 0:
            return -1
    if ln < rn:
        if r[shorter] < FI_END:
            return -1
        memcpy(out, r, <size_t>(shorter + 1))
        k = _fi_before_c(r + shorter + 1, rn - shorter - 1, out + shorter + 1)
        return -1 if k < 0 else shorter + 1 + k
    if ln > rn:
        if l[shorter] >= FI_END:
            return -1
        memcpy(out, l, <size_t>(shorter + 1))
        k = _fi_after_c(l + shorter + 1, ln - shorter - 1, out + shorter + 1)
        return -1 if k < 0 else shorter + 1 + k
    return -1


cdef int64_t fi_new_c(const uint8_t *l, int64_t ln, const uint8_t *r, int64_t rn,
                      uint8_t *out) noexcept:
    """fi_new on buffers (a length of -1: no sibling on that side); `out` holds at least
    max(ln, rn) + 1 bytes."""
    cdef int64_t k
    if ln < 0 and rn < 0:
        out[0] = FI_END
        return 1
    if rn < 0:
        k = _fi_after_c(l, ln, out)
    elif ln < 0:
        k = _fi_before_c(r, rn, out)
    else:
        k = _fi_between_c(l, ln, r, rn, out)
    if k < 0:
        return -1
    out[k] = FI_END
    return k + 1


# -- loro's map of a tree's nodes (LoroTree.nodes lists them in its order) -------------------

cdef enum:
    _HB_EMPTY = 0
    _HB_DELETED = 1
    _HB_FULL = 2
    _HB_GROUP = 16


cdef class IdMap:
    """hashbrown's table of TreeID keys (FxHasher) under inserts and removes, kept for its
    iteration order only (hash_order.py has the table's rules in Python). A remove leaves a
    tombstone where a probe may have passed the bucket in a full group; tombstones take
    inserts but not growth, so a map of few items can run out of room: it is then rehashed
    in place when half its capacity holds the items, else grown (rehashed in iteration
    order). An insert reserves room first, also for a key the map holds. Owned by the
    document (LoroDoc.tree_maps, one per tree); its memory is freed here only."""

    def __dealloc__(self):
        free(self.ctrl)
        free(self.peers)
        free(self.ctrs)
        free(self.hs)

    cdef int64_t _free_slot(self, uint64_t h) noexcept:
        """The bucket an insert of hash h takes: the first empty or deleted one it probes
        (a table smaller than a group: from h's bucket, else from the first)."""
        cdef int64_t mask = self.n - 1, pos = <int64_t>(h & <uint64_t>mask), i, bit, stride = 0
        if self.n < _HB_GROUP:
            for i in range(pos, self.n):
                if self.ctrl[i] != _HB_FULL:
                    return i
            for i in range(self.n):
                if self.ctrl[i] != _HB_FULL:
                    return i
            return -1
        while True:
            for bit in range(_HB_GROUP):
                i = (pos + bit) & mask
                if self.ctrl[i] != _HB_FULL:
                    return i
            stride += _HB_GROUP
            pos = (pos + stride) & mask

    cdef int64_t _find(self, uint64_t peer, int32_t ctr, uint64_t h) noexcept:
        cdef int64_t mask = self.n - 1, pos, i, bit, stride = 0
        cdef bint seen_empty
        if self.n == 0:
            return -1
        if self.n < _HB_GROUP:
            for i in range(self.n):
                if self.ctrl[i] == _HB_FULL and self.peers[i] == peer and self.ctrs[i] == ctr:
                    return i
            return -1
        pos = <int64_t>(h & <uint64_t>mask)
        while True:
            seen_empty = False
            for bit in range(_HB_GROUP):
                i = (pos + bit) & mask
                if self.ctrl[i] == _HB_FULL:
                    if self.peers[i] == peer and self.ctrs[i] == ctr:
                        return i
                elif self.ctrl[i] == _HB_EMPTY:
                    seen_empty = True
            if seen_empty:
                return -1
            stride += _HB_GROUP
            if stride > self.n:
                return -1
            pos = (pos + stride) & mask

    cdef int _alloc(self, int64_t n) except -1:
        self.ctrl = <uint8_t *>calloc(<size_t>n, 1)
        self.peers = <uint64_t *>malloc(<size_t>n * sizeof(uint64_t))
        self.ctrs = <int32_t *>malloc(<size_t>n * sizeof(int32_t))
        self.hs = <uint64_t *>malloc(<size_t>n * sizeof(uint64_t))
        if self.ctrl == NULL or self.peers == NULL or self.ctrs == NULL or self.hs == NULL:
            raise MemoryError()
        self.n = n
        return 0

    cdef int _resize(self, int64_t capacity) except -1:
        cdef uint8_t *ctrl = self.ctrl
        cdef uint64_t *peers = self.peers
        cdef int32_t *ctrs = self.ctrs
        cdef uint64_t *hs = self.hs
        cdef int64_t old_n = self.n, i, j
        self.ctrl = NULL
        self.peers = NULL
        self.ctrs = NULL
        self.hs = NULL
        try:
            self._alloc(hb_buckets_for(capacity))
            for i in range(old_n):
                if ctrl[i] == _HB_FULL:
                    j = self._free_slot(hs[i])
                    self.ctrl[j] = _HB_FULL
                    self.peers[j] = peers[i]
                    self.ctrs[j] = ctrs[i]
                    self.hs[j] = hs[i]
        except BaseException:
            # (out of memory: the table stays as it was)
            free(self.ctrl)
            free(self.peers)
            free(self.ctrs)
            free(self.hs)
            self.ctrl, self.peers, self.ctrs, self.hs, self.n = ctrl, peers, ctrs, hs, old_n
            raise
        free(ctrl)
        free(peers)
        free(ctrs)
        free(hs)
        self.growth_left = hb_capacity_of(self.n) - self.items
        return 0

    cdef void _rehash_in_place(self) noexcept:
        cdef int64_t mask = self.n - 1, i, new_i, start
        cdef uint8_t prev
        cdef uint64_t tp, th
        cdef int32_t tc
        # every item is to be placed again (marked deleted), the old tombstones go
        for i in range(self.n):
            self.ctrl[i] = _HB_DELETED if self.ctrl[i] == _HB_FULL else _HB_EMPTY
        for i in range(self.n):
            if self.ctrl[i] != _HB_DELETED:
                continue
            while True:
                new_i = self._free_slot(self.hs[i])
                start = <int64_t>(self.hs[i] & <uint64_t>mask)
                if ((i - start) & mask) // _HB_GROUP == ((new_i - start) & mask) // _HB_GROUP:
                    self.ctrl[i] = _HB_FULL     # already in the group its probe starts at
                    break
                prev = self.ctrl[new_i]
                self.ctrl[new_i] = _HB_FULL
                tp = self.peers[new_i]
                tc = self.ctrs[new_i]
                th = self.hs[new_i]
                self.peers[new_i] = self.peers[i]
                self.ctrs[new_i] = self.ctrs[i]
                self.hs[new_i] = self.hs[i]
                if prev == _HB_EMPTY:
                    self.ctrl[i] = _HB_EMPTY
                    break
                # that bucket held an item still to be placed: it comes here, placed next
                self.peers[i] = tp
                self.ctrs[i] = tc
                self.hs[i] = th
        self.growth_left = hb_capacity_of(self.n) - self.items

    cdef int insert(self, uint64_t peer, int32_t ctr) except -1:
        cdef uint64_t h = fx_finish(fx_add(fx_add(0, peer), <uint64_t><uint32_t>ctr))
        cdef int64_t cap, i
        if self.growth_left == 0:
            cap = hb_capacity_of(self.n) if self.n else 0
            if self.items + 1 <= cap // 2:
                self._rehash_in_place()
            else:
                self._resize(max(self.items + 1, cap + 1))
        if self._find(peer, ctr, h) >= 0:
            return 0
        i = self._free_slot(h)
        if self.ctrl[i] == _HB_EMPTY:
            self.growth_left -= 1
        self.ctrl[i] = _HB_FULL
        self.peers[i] = peer
        self.ctrs[i] = ctr
        self.hs[i] = h
        self.items += 1
        return 0

    cdef int remove(self, uint64_t peer, int32_t ctr) except -1:
        cdef uint64_t h = fx_finish(fx_add(fx_add(0, peer), <uint64_t><uint32_t>ctr))
        cdef int64_t i = self._find(peer, ctr, h), before = 0, after = 0, mask = self.n - 1
        if i < 0:
            return 0
        if self.n >= _HB_GROUP:
            # a tombstone where some group holding this bucket has no empty bucket
            while before < _HB_GROUP and self.ctrl[(i - 1 - before) & mask] != _HB_EMPTY:
                before += 1
            while after < _HB_GROUP and self.ctrl[(i + after) & mask] != _HB_EMPTY:
                after += 1
        if before + after >= _HB_GROUP:
            self.ctrl[i] = _HB_DELETED
        else:
            self.ctrl[i] = _HB_EMPTY
            self.growth_left += 1
        self.items -= 1
        return 0

    cdef bint has(self, uint64_t peer, int32_t ctr) noexcept:
        return self._find(peer, ctr, fx_finish(fx_add(fx_add(0, peer),
                                                      <uint64_t><uint32_t>ctr))) >= 0

    def __contains__(self, key):
        return self.has(key[0], key[1])

    def add(self, key):
        """Insert the TreeID (peer, counter) (for tests: the document inserts in C)."""
        self.insert(key[0], key[1])

    def discard(self, key):
        self.remove(key[0], key[1])

    def order(self):
        """The keys, (peer, counter), in the table's iteration order."""
        cdef int64_t i
        return [(self.peers[i], self.ctrs[i]) for i in range(self.n) if self.ctrl[i] == _HB_FULL]

    def __len__(self):
        return self.items

    def check(self):
        """Raise AssertionError unless the table's counts agree with its buckets and every
        key is found where a lookup probes for it."""
        cdef int64_t i, full = 0, empty = 0
        for i in range(self.n):
            if self.ctrl[i] == _HB_FULL:
                full += 1
                assert self._find(self.peers[i], self.ctrs[i], self.hs[i]) == i, "a key is lost"
            elif self.ctrl[i] == _HB_EMPTY:
                empty += 1
        assert full == self.items, "the item count is wrong"
        assert self.n == 0 or self.growth_left == hb_capacity_of(self.n) - (self.n - empty), \
            "the growth left is wrong"


# what one step of an event's replay does to its node (replay_items), as loro names it
cdef enum:
    _UNCREATE = 0           # the node's first move taken back: it is gone
    _DELETE = 1             # into the deleted subtree from a shown place
    _MOVE_IN_DELETED = 2    # within the deleted subtree (or there from nowhere)
    _CREATE = 3             # shown again, from the deleted subtree or from nowhere
    _MOVE = 4


cdef inline int _action(bint new_deleted, bint old_deleted, bint old_unexist) noexcept:
    if new_deleted:
        return _MOVE_IN_DELETED if old_deleted or old_unexist else _DELETE
    return _CREATE if old_deleted or old_unexist else _MOVE


cdef inline bint _deleted_now(TreeMoves tm, int64_t p) noexcept:
    """TreeMoves.deleted_at, without walking up while no node is under the deleted root."""
    if p == TREE_DELETED:
        return True
    return tm.deleted_kids.n > 0 and p >= 0 and tm.top_of(p) == TREE_DELETED


cdef int _ensure_subtree(TreeMoves tm, int64_t t) except -1:
    """Node t and the nodes under it come out of the deleted subtree (or from nowhere):
    loro's diff creates them, which makes their meta maps (TreeMoves.unensured)."""
    cdef int64_t n, i
    cdef child_list *kids
    stack = [t]
    while stack and tm.unensured:
        n = stack.pop()
        tm.unensured.discard((tm.nodes[n].peer, tm.nodes[n].counter))
        kids = tm.kids_of(n)
        if kids != NULL:
            for i in range(kids.n):
                stack.append(kids.items[i])
    return 0


cdef int _forward_steps(TreeMoves tm, int64_t first, const uint8_t *in_to,
                        IdMap mp) except -1:
    """The second half of TreeMoves.replay_to: every move from order position `first` on
    (none applied) that the version wanted holds applied in order, each step made to `mp`
    as loro's state makes it."""
    cdef int64_t k, m, t, pre_parent
    cdef tree_move *mv
    cdef bint comes_back
    for k in range(first, tm.n_moves):
        m = tm.order[k]
        mv = &tm.moves[m]
        tm._set_excluded(mv, in_to != NULL and not in_to[m])
        if mv.excluded:
            continue
        if mp is None:
            tm.apply_one(m)
            continue
        t = mv.target
        pre_parent = tm.nodes[t].parent
        # (loro's diff: a create when the node leaves the deleted subtree or nowhere)
        comes_back = (not _deleted_now(tm, mv.parent)
                      and (pre_parent == TREE_NONE or _deleted_now(tm, pre_parent)))
        tm.apply_one(m)
        if not mv.effective:
            continue
        mp.insert(tm.nodes[t].peer, tm.nodes[t].counter)
        if comes_back:
            tm._map_subtree(mp, t)
            if tm.unensured:
                _ensure_subtree(tm, t)
        elif pre_parent == TREE_NONE and (tm.withdrawn is None or (tm.nodes[t].peer, tm.nodes[t].counter)
                                                                   not in tm.withdrawn):
            # created straight into the deleted subtree, new to the state: loro's diff item
            # is no create, so its state never makes the node's meta map (a snapshot
            # leaves it out)
            if tm.unensured is None:
                tm.unensured = set()
            tm.unensured.add((tm.nodes[t].peer, tm.nodes[t].counter))
    tm.pending = tm.n_moves
    return 0


cdef class TreeMoves:
    """The moves of one tree and the parent map they give (see the module docstring)."""
    def __cinit__(self):
        self.imp_start = -1

    def __dealloc__(self):
        cdef int64_t k
        if self.nodes != NULL:
            for k in range(self.n_nodes):
                free(self.nodes[k].kids.items)
        free(self.root_kids.items)
        free(self.deleted_kids.items)
        free(self.nodes)
        free(self.moves)
        free(self.order)
        free(self.fis)
        free(self.slots)
        free(self.ups)
        free(self.moved_lists)

    # -- nodes by TreeID

    cdef int64_t find(self, uint64_t peer, int32_t counter) noexcept:
        cdef int64_t mask, i, v, k
        cdef uint64_t h
        cdef int64_t tag
        cdef int64_t low = (<int64_t>1 << SLOT_INDEX_BITS) - 1
        if self.n_slots == 0:
            return -1
        mask = self.n_slots - 1
        h = _mix(peer, counter)
        tag = _slot_tag(h)
        i = <int64_t>(h & <uint64_t>mask)
        while True:
            v = self.slots[i]
            if v == 0:
                return -1
            if (v & ~low) == tag:
                k = (v & low) - 1
                if self.nodes[k].peer == peer and self.nodes[k].counter == counter:
                    return k
            i = (i + 1) & mask

    cdef int _rehash(self, int64_t n_slots) except -1:
        cdef int64_t *slots = <int64_t*>malloc(<size_t>n_slots * sizeof(int64_t))
        cdef int64_t k, i, mask = n_slots - 1
        cdef uint64_t h
        if slots == NULL:
            raise MemoryError()
        for k in range(n_slots):
            slots[k] = 0
        for k in range(self.n_nodes):
            h = _mix(self.nodes[k].peer, self.nodes[k].counter)
            i = <int64_t>(h & <uint64_t>mask)
            while slots[i] != 0:
                i = (i + 1) & mask
            slots[i] = _slot_tag(h) | (k + 1)
        free(self.slots)
        self.slots = slots
        self.n_slots = n_slots
        return 0

    cdef int64_t node(self, uint64_t peer, int32_t counter) except -1:
        """The node with this TreeID, added (with no effective move) when new."""
        cdef int64_t k = self.find(peer, counter)
        cdef int64_t i, mask
        cdef uint64_t h
        if k >= 0:
            return k
        if (self.n_nodes + 1) * 2 > self.n_slots:
            self._rehash(self.n_slots * 2 if self.n_slots else 64)
        if self.n_nodes == self.cap_nodes:
            self.nodes = <tree_node*>_grow(self.nodes, &self.cap_nodes, self.n_nodes + 1,
                                           sizeof(tree_node))
        if self.n_nodes == self.cap_ups:
            self.ups = <int32_t*>_grow(self.ups, &self.cap_ups, self.n_nodes + 1,
                                       sizeof(int32_t))
        k = self.n_nodes
        self.ups[k] = TREE_NONE
        self.nodes[k].peer = peer
        self.nodes[k].counter = counter
        self.nodes[k].n_applied = 0
        self.nodes[k].parent = TREE_NONE
        self.nodes[k].last_move = -1
        self.nodes[k].kids.items = NULL
        self.nodes[k].kids.n = 0
        self.nodes[k].kids.cap = 0
        self.nodes[k].kids.dirty = 0
        self.nodes[k].kids.renum = 0
        self.nodes[k].slot = -1
        self.n_nodes += 1
        mask = self.n_slots - 1
        h = _mix(peer, counter)
        i = <int64_t>(h & <uint64_t>mask)
        while self.slots[i] != 0:
            i = (i + 1) & mask
        self.slots[i] = _slot_tag(h) | (k + 1)
        return k

    # -- moves

    cdef bint creates_cycle(self, int64_t target, int64_t parent) noexcept:
        """Whether moving `target` under `parent` now would put it under itself. Loro judges
        this only once the target has an applied move; in a valid history a node's first
        move (its create) cannot make a cycle (nothing is under it yet), so judging every
        move differs only on hostile input (a node created under itself, or an unknown
        node moved under a node placed below it), where loro would keep a loop."""
        cdef int64_t p = parent
        cdef int64_t steps = 0
        cdef const int32_t *ups = self.ups
        while p >= 0:
            if p == target:
                return True
            p = ups[p]
            steps += 1
            if steps > self.n_nodes:
                return True         # unreachable while the parent map has no cycle
        return False

    cdef int apply_one(self, int64_t m) except -1:
        cdef tree_move *mv = &self.moves[m]
        # a node with no children can only be put under itself (most moves: every create)
        if self.nodes[mv.target].kids.n == 0:
            return self._apply_as(m, mv.parent == mv.target)
        return self._apply_as(m, self.creates_cycle(mv.target, mv.parent))

    cdef int _apply_as(self, int64_t m, bint cycle) except -1:
        """Apply move m; `cycle`: it would put its target under itself (no effect)."""
        cdef tree_move *mv = &self.moves[m]
        cdef tree_node *nd = &self.nodes[mv.target]
        if mv.excluded:
            return 0
        mv.effective = not cycle
        nd.n_applied += 1
        if mv.effective:
            mv.prev_parent = nd.parent
            mv.prev_last = nd.last_move
            self.place(mv.target, mv.parent, m)
        return 0

    cdef int take_back(self, int64_t m) except -1:
        cdef tree_move *mv = &self.moves[m]
        cdef tree_node *nd = &self.nodes[mv.target]
        if mv.excluded:
            return 0
        nd.n_applied -= 1
        if mv.effective:
            self.place(mv.target, mv.prev_parent, mv.prev_last)
        return 0

    cdef void _set_excluded(self, tree_move *mv, bint out) noexcept:
        """Leave move mv out of the version shown, or take it in (`n_excluded` counts them)."""
        if out and not mv.excluded:
            self.n_excluded += 1
        elif not out and mv.excluded:
            self.n_excluded -= 1
        mv.excluded = out

    cdef int include_last(self, int64_t m) except -1:
        """Include the excluded move m when every move after it in order is excluded too
        (an event's new moves, included one by one in order): it applies at the end."""
        self._set_excluded(&self.moves[m], False)
        return self.apply_one(m)

    # -- sibling order

    cdef child_list *kids_of(self, int64_t parent) noexcept:
        if parent >= 0:
            return &self.nodes[parent].kids
        if parent == TREE_ROOT:
            return &self.root_kids
        if parent == TREE_DELETED:
            return &self.deleted_kids
        return NULL

    cdef int sibling_cmp(self, int64_t a, int64_t b) noexcept:
        """Sibling order of nodes a and b: fractional index bytes, then the (Lamport,
        peer) of their last effective moves."""
        cdef tree_move *x = &self.moves[self.nodes[a].last_move]
        cdef tree_move *y = &self.moves[self.nodes[b].last_move]
        cdef int32_t n = x.fi_len if x.fi_len < y.fi_len else y.fi_len
        cdef int c = memcmp(&self.fis[x.fi_off], &self.fis[y.fi_off], <size_t>n) if n else 0
        if c != 0:
            return c
        if x.fi_len != y.fi_len:
            return -1 if x.fi_len < y.fi_len else 1
        if x.lamport != y.lamport:
            return -1 if x.lamport < y.lamport else 1
        if x.peer != y.peer:
            return -1 if x.peer < y.peer else 1
        return 0

    cdef int place(self, int64_t k, int64_t parent, int64_t last_move) except -1:
        """Give node k a new parent and last effective move. Sibling lists are only marked
        unsorted here (a late move takes back and re-applies many moves; the lists are
        sorted once, when read)."""
        cdef child_list *kids = self.kids_of(self.nodes[k].parent)
        cdef int64_t at, last
        if self.keep_sorted:
            return self._place_sorted(k, parent, last_move)
        if kids != NULL:
            at = self.nodes[k].slot
            last = kids.items[kids.n - 1]
            kids.items[at] = last
            self.nodes[last].slot = at
            kids.n -= 1
            if at != kids.n and not kids.dirty:
                kids.dirty = 1      # (the last sibling taken out leaves the order as it was)
                self.n_dirty_kids += 1
        self.nodes[k].parent = parent
        self.ups[k] = <int32_t>parent
        self.nodes[k].last_move = last_move
        self.nodes[k].slot = -1
        kids = self.kids_of(parent)
        if kids != NULL:
            if kids.n == kids.cap:
                kids.items = <int64_t*>_grow(kids.items, &kids.cap, kids.n + 1, sizeof(int64_t))
            # a node placed after the last sibling keeps a sorted list sorted: creating
            # nodes at the end re-sorts nothing (it re-sorted every sibling each time)
            if not kids.dirty and kids.n > 0 and self.sibling_cmp(kids.items[kids.n - 1], k) > 0:
                kids.dirty = 1
                self.n_dirty_kids += 1
            kids.items[kids.n] = k
            self.nodes[k].slot = kids.n
            kids.n += 1
        return 0

    cdef child_list *sorted_kids(self, int64_t parent) except? NULL:
        """The sibling list of `parent`, sorted (NULL when it has none)."""
        cdef child_list *kids = self.kids_of(parent)
        cdef int64_t i
        if kids == NULL or not kids.dirty:
            return kids
        if kids.n > 1:
            self._merge_sort(kids.items, kids.n)
        for i in range(kids.n):
            self.nodes[kids.items[i]].slot = i
        kids.dirty = 0
        self.n_dirty_kids -= 1
        return kids

    cdef int _merge_sort(self, int64_t *items, int64_t n, bint by_move=False) except -1:
        """Stable sort of node indices by sibling order, or (`by_move`) of move indices
        by (Lamport, peer, counter)."""
        cdef int64_t *tmp = <int64_t*>malloc(<size_t>n * sizeof(int64_t))
        cdef int64_t width = 1, lo, mid, hi, i, j, k
        cdef int64_t *src = items
        cdef int64_t *dst = tmp
        cdef int64_t *swap
        if tmp == NULL:
            raise MemoryError()
        while width < n:
            lo = 0
            while lo < n:
                mid = min(lo + width, n)
                hi = min(lo + 2 * width, n)
                i, j, k = lo, mid, lo
                while i < mid and j < hi:
                    if (self._move_lt(src[j], src[i]) if by_move
                            else self.sibling_cmp(src[j], src[i]) < 0):
                        dst[k] = src[j]
                        j += 1
                    else:
                        dst[k] = src[i]
                        i += 1
                    k += 1
                while i < mid:
                    dst[k] = src[i]
                    i += 1
                    k += 1
                while j < hi:
                    dst[k] = src[j]
                    j += 1
                    k += 1
                lo = hi
            swap = src
            src = dst
            dst = swap
            width *= 2
        if src != items:
            memcpy(items, src, <size_t>n * sizeof(int64_t))
        free(tmp)
        return 0

    cdef bint before(self, int64_t a, int64_t b) noexcept:
        """Whether move `a` sorts before move `b`: by Lamport, then peer."""
        if self.moves[a].lamport != self.moves[b].lamport:
            return self.moves[a].lamport < self.moves[b].lamport
        return self.moves[a].peer < self.moves[b].peer

    cdef int64_t add_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                          int64_t target, int64_t parent, const uint8_t *fi,
                          int32_t fi_len) except -1:
        """Log a move at its place in the order (applied by the next read). Returns how many
        later moves it goes before."""
        return self._order_in(self._log_move(lamport, peer, counter, target, parent, fi,
                                             fi_len))

    cdef int64_t _log_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                           int64_t target, int64_t parent, const uint8_t *fi,
                           int32_t fi_len) except -1:
        """Store a move (not yet in the order); returns its index."""
        cdef int64_t m
        cdef tree_move *mv
        if self.n_moves == self.cap_moves:
            self.moves = <tree_move*>_grow(self.moves, &self.cap_moves, self.n_moves + 1,
                                           sizeof(tree_move))
        if self.n_moves + 1 > self.cap_order:
            self.order = <int64_t*>_grow(self.order, &self.cap_order, self.n_moves + 1,
                                         sizeof(int64_t))
        if self.n_fis + fi_len > self.cap_fis:
            self.fis = <uint8_t*>_grow(self.fis, &self.cap_fis, self.n_fis + fi_len + 1, 1)
        m = self.n_moves
        mv = &self.moves[m]
        mv.lamport = lamport
        mv.peer = peer
        mv.counter = counter
        mv.target = target
        mv.parent = parent
        mv.fi_off = self.n_fis
        mv.fi_len = fi_len
        mv.effective = 0
        mv.excluded = 0
        if fi_len:
            memcpy(&self.fis[self.n_fis], fi, <size_t>fi_len)
        self.n_fis += fi_len
        self.n_moves += 1
        return m

    cdef int64_t _order_in(self, int64_t m) except -1:
        """Put the last stored move m at its place in the order: after every move that sorts
        before it; the applied moves after that place are taken back (see `pending`).
        Returns how many moves it goes before."""
        cdef int64_t pos, lo, hi, mid, k
        if m == 0 or self.before(self.order[m - 1], m):
            pos = m                 # the common case: it sorts last
        else:
            lo = 0
            hi = m
            while lo < hi:
                mid = (lo + hi) // 2
                if self.before(self.order[mid], m):
                    lo = mid + 1
                else:
                    hi = mid
            pos = lo
        for k in range(self.pending - 1, pos - 1, -1):
            self.take_back(self.order[k])
        if pos < self.pending:
            self.pending = pos
        memmove(&self.order[pos + 1], &self.order[pos], <size_t>(m - pos) * sizeof(int64_t))
        self.order[pos] = m
        return m - pos

    cdef int64_t add_local_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                                int64_t target, int64_t parent, const uint8_t *fi,
                                int32_t fi_len, bint checked) except -1:
        """Log a local move and apply it now. `checked`: the caller found, on this settled
        tree, that it makes no cycle (a local move sorts after every move known, so it is
        applied to the tree that was checked)."""
        cdef int64_t m
        self.settle()
        m = self._log_move(lamport, peer, counter, target, parent, fi, fi_len)
        if self._order_in(m) or self.pending != m:
            return 0                # not last after all: applied by the next read
        if checked:
            self._apply_as(m, False)
        else:
            self.apply_one(m)
        self.pending = self.n_moves
        return 0

    cdef int64_t kid_count(self, int64_t parent) noexcept:
        cdef child_list *kids = self.kids_of(parent)
        return 0 if kids == NULL else kids.n

    cdef int64_t slot_of(self, int64_t k) except -2:
        """Node k's index among its siblings (-1: it has no parent); the tree is settled."""
        cdef child_list *kids = self.sorted_kids(self.nodes[k].parent)
        return -1 if kids == NULL else self.nodes[k].slot

    cdef int64_t local_fi(self, int64_t parent, int64_t index, int64_t target, uint8_t *out,
                          int64_t cap) except -2:
        """generate_at's bytes in C, for a settled tree: the fractional index of `target`
        (a node index, or -1 for a new node) at `index` among the children of `parent`
        (the target left out), written to `out`; returns its length, or -1 where the
        general generate_at must decide (equal neighbours, an index without room, or one
        longer than `cap` - 1)."""
        cdef child_list *kids = self.sorted_kids(parent)
        cdef int64_t n = 0 if kids == NULL else kids.n
        cdef int64_t skip = -1, count, j
        cdef tree_move *lm
        cdef tree_move *rm
        cdef const uint8_t *l = NULL
        cdef const uint8_t *r = NULL
        cdef int64_t ln = -1, rn = -1
        if target >= 0 and self.nodes[target].parent == parent:
            skip = self.nodes[target].slot
        count = n - (1 if skip >= 0 else 0)
        if count == 0:
            out[0] = FI_END
            return 1
        if index > 0:
            j = index - 1
            lm = &self.moves[self.nodes[kids.items[j if skip < 0 or j < skip else j + 1]].last_move]
            l = &self.fis[lm.fi_off]
            ln = lm.fi_len
        if index < count:
            j = index
            rm = &self.moves[self.nodes[kids.items[j if skip < 0 or j < skip else j + 1]].last_move]
            r = &self.fis[rm.fi_off]
            rn = rm.fi_len
        if ln + 1 >= cap or rn + 1 >= cap:
            return -1
        if ln >= 0 and ln == rn and memcmp(l, r, <size_t>ln) == 0:
            return -1               # equal neighbours: siblings are spread anew
        return fi_new_c(l, ln, r, rn, out)

    cdef int settle(self) except -1:
        """Apply the moves logged since the last read, in order (see `pending`)."""
        cdef int64_t k
        for k in range(self.pending, self.n_moves):
            self.apply_one(self.order[k])
        self.pending = self.n_moves
        return 0

    # -- versions

    def checkout(self, dict vv):
        """Show the version `vv` ({peer: end counter}): the moves outside it are taken back
        and left out until a later checkout includes them again. Costs the moves after the
        first one whose inclusion changes."""
        return self.checkout_from(vv, 0)

    cdef int64_t checkout_from(self, dict vv, int64_t start) except -1:
        """checkout(vv), looking from order position `start` on: the caller knows the
        moves before it are in or out of effect as `vv` has them. (Moves come in runs of
        one peer: `vv` is read once per run.)"""
        self.settle()
        cdef int64_t k, first = -1, m, run_end = 0
        cdef uint64_t run_peer = 0
        cdef bint have_run = False
        cdef tree_move *mv
        cdef bint out
        for k in range(start, self.n_moves):
            mv = &self.moves[self.order[k]]
            if not have_run or mv.peer != run_peer:
                run_peer = mv.peer
                run_end = vv.get(mv.peer, 0)
                have_run = True
            out = mv.counter >= run_end
            if out != mv.excluded:
                first = k
                break
        if first < 0:
            return 0
        for k in range(self.n_moves - 1, first - 1, -1):
            self.take_back(self.order[k])
        have_run = False
        for k in range(first, self.n_moves):
            mv = &self.moves[self.order[k]]
            if not have_run or mv.peer != run_peer:
                run_peer = mv.peer
                run_end = vv.get(mv.peer, 0)
                have_run = True
            self._set_excluded(mv, mv.counter >= run_end)
            self.apply_one(self.order[k])
        return self.n_moves - first

    # -- Python side (the codec and the handle call these)

    def apply(self, uint32_t lamport, uint64_t peer, int32_t counter, target, parent,
              bytes fractional_index=b""):
        """Log the move `peer:counter` (Lamport `lamport`) of node `target` ((peer, counter))
        under `parent`: None for a root, "deleted" for the deleted root, or (peer, counter).
        Returns how many later moves it goes before."""
        fi = fractional_index
        if parent is None or parent == "deleted":
            return self.add_move_ids(lamport, peer, counter, target[0], target[1],
                                     TREE_ROOT if parent is None else TREE_DELETED, 0, 0,
                                     <const uint8_t*><char*>fi, len(fi))
        return self.add_move_ids(lamport, peer, counter, target[0], target[1], 0, parent[0],
                                 parent[1], <const uint8_t*><char*>fi, len(fi))

    cdef int64_t add_move_ids(self, uint32_t lamport, uint64_t peer, int32_t counter,
                              uint64_t target_peer, int32_t target_counter, int64_t parent_kind,
                              uint64_t parent_peer, int32_t parent_counter, const uint8_t *fi,
                              int32_t fi_len) except -1:
        """apply() from plain ids, for the document's remote ops: `parent_kind` TREE_ROOT,
        TREE_DELETED, or 0 for the node (parent_peer, parent_counter)."""
        cdef int64_t t = self.node(target_peer, target_counter)
        cdef int64_t p = parent_kind if parent_kind < 0 else self.node(parent_peer, parent_counter)
        return self.add_move(lamport, peer, counter, t, p, fi, fi_len)

    cdef object tree_id(self, int64_t k):
        return (self.nodes[k].peer, self.nodes[k].counter)

    def parent(self, target):
        """None (a root), "deleted", "unexist" (no effective move) or the parent's id."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        if k < 0 or self.nodes[k].parent == TREE_NONE:
            return "unexist"
        if self.nodes[k].parent == TREE_ROOT:
            return None
        if self.nodes[k].parent == TREE_DELETED:
            return "deleted"
        return self.tree_id(self.nodes[k].parent)

    def is_deleted(self, target):
        """Whether the node's parent chain reaches the deleted root."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        return k >= 0 and self.top_of(k) == TREE_DELETED

    def fractional_index(self, target):
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        cdef int64_t m
        if k < 0 or self.nodes[k].last_move < 0:
            return None
        m = self.nodes[k].last_move
        return (<char*>&self.fis[self.moves[m].fi_off])[:self.moves[m].fi_len]

    cdef int64_t parent_index(self, parent) except -4:
        """The parent as a node index, TREE_ROOT or TREE_DELETED; TREE_NONE for a node
        this tree has never seen."""
        cdef int64_t k
        if parent is None:
            return TREE_ROOT
        if parent == "deleted":
            return TREE_DELETED
        k = self.find(parent[0], parent[1])
        return TREE_NONE if k < 0 else k

    def children(self, parent):
        """The children of `parent` (None: the roots, "deleted": the deleted root) in
        sibling order."""
        self.settle()
        cdef child_list *kids = self.sorted_kids(self.parent_index(parent))
        cdef int64_t i
        if kids == NULL:
            return []
        return [self.tree_id(kids.items[i]) for i in range(kids.n)]

    def child_count(self, parent):
        """len(children(parent)), without sorting or listing them."""
        self.settle()
        cdef child_list *kids = self.kids_of(self.parent_index(parent))
        return 0 if kids == NULL else kids.n

    def is_under(self, parent, target):
        """Whether `parent` is `target` or below it (moving `target` there would make a
        cycle)."""
        self.settle()
        cdef int64_t t = self.find(target[0], target[1])
        cdef int64_t p = self.parent_index(parent)
        return t >= 0 and p >= 0 and self.creates_cycle(t, p)

    def index(self, target):
        """The node's index among its siblings, or None when it has no parent."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        cdef child_list *kids
        if k < 0:
            return None
        kids = self.sorted_kids(self.nodes[k].parent)
        return None if kids == NULL else self.nodes[k].slot

    def value(self, meta_of=None):
        """The live tree as loro's LoroTree.get_value gives it: the roots in order, each a
        dict of id ("counter@peer"), parent, meta (`meta_of(peer, counter)`, the node's map),
        index, fractional_index (hex) and children."""
        self.settle()
        return self._subtree(TREE_ROOT, None, meta_of)

    cdef list _subtree(self, int64_t parent, object parent_id, object meta_of):
        cdef child_list *kids = self.sorted_kids(parent)
        cdef int64_t i, k, m
        out = []
        for i in range(kids.n):
            k = kids.items[i]
            m = self.nodes[k].last_move
            peer, counter = self.tree_id(k)
            node_id = f"{counter}@{peer}"
            out.append({"id": node_id, "parent": parent_id,
                        "meta": None if meta_of is None else meta_of(peer, counter),
                        "index": i,
                        "fractional_index": (<char*>&self.fis[self.moves[m].fi_off])[
                            :self.moves[m].fi_len].hex().upper(),
                        "children": self._subtree(k, node_id, meta_of)})
        return out

    def contains(self, target):
        """Whether the node has an effective move (deleted nodes included)."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        return k >= 0 and self.nodes[k].parent != TREE_NONE

    def ever_had_children(self, target):
        """Whether a child was ever placed under the node (loro lists no children, None,
        for a node that never had one, and [] for one whose children all left)."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        return k >= 0 and self.nodes[k].kids.cap > 0

    def last_move_id(self, target):
        """(peer, counter) of the node's last effective move, or None."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        cdef int64_t m
        if k < 0 or self.nodes[k].last_move < 0:
            return None
        m = self.nodes[k].last_move
        return (self.moves[m].peer, self.moves[m].counter)

    def state_rows(self):
        """The rows of a snapshot's tree state (state/snapshot.pxi tree_state_rows): every
        node, the shown ones first, then the deleted ones, each group as loro walks it (a
        parent's children in sibling order, then each child's own the same way, depth first
        from the first child), as (node id, parent: None, "deleted" or its id, (peer,
        counter, Lamport) of its last move, fractional index bytes, b"\\x80" for none). In C
        on node indexes: a row costs its tuples, no method call per node."""
        cdef list rows = []
        cdef list ids
        cdef int64_t *stack
        cdef int64_t n_stack, p, k, i, m
        cdef child_list *kids
        cdef tree_move *mv
        self.settle()
        ids = [None] * self.n_nodes     # each node's id, made once (its children name it)
        stack = <int64_t*>malloc(<size_t>(self.n_nodes + 2) * sizeof(int64_t))
        if stack == NULL:
            raise MemoryError()
        try:
            for top in (TREE_ROOT, TREE_DELETED):
                stack[0] = top
                n_stack = 1
                while n_stack:
                    n_stack -= 1
                    p = stack[n_stack]
                    kids = self.sorted_kids(p)
                    if kids == NULL or kids.n == 0:
                        continue
                    parent = None if p == TREE_ROOT else "deleted" if p == TREE_DELETED else ids[p]
                    for i in range(kids.n):
                        k = kids.items[i]
                        kid = (self.nodes[k].peer, self.nodes[k].counter)
                        ids[k] = kid
                        mv = &self.moves[self.nodes[k].last_move]
                        rows.append((kid, parent, (mv.peer, mv.counter, mv.lamport),
                                     (<char*>&self.fis[mv.fi_off])[:mv.fi_len] if mv.fi_len
                                     else b"\x80"))
                    for i in range(kids.n - 1, -1, -1):
                        stack[n_stack] = kids.items[i]
                        n_stack += 1
        finally:
            free(stack)
        return rows

    def last_move_lamport(self, target):
        """The Lamport of the node's last effective move, or None."""
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        if k < 0 or self.nodes[k].last_move < 0:
            return None
        return self.moves[self.nodes[k].last_move].lamport

    cdef int64_t top_of(self, int64_t k) noexcept:
        """Where node k's parent chain ends: TREE_ROOT (it is shown), TREE_DELETED or
        TREE_NONE."""
        cdef int64_t p = self.ups[k]
        cdef int64_t steps = 0
        while p >= 0 and steps <= self.n_nodes:
            p = self.ups[p]
            steps += 1
        return p

    cdef bint alive_k(self, int64_t k) noexcept:
        """Whether node k is shown: its parent chain reaches the roots."""
        return self.top_of(k) == TREE_ROOT

    def is_alive(self, target):
        self.settle()
        cdef int64_t k = self.find(target[0], target[1])
        return k >= 0 and self.alive_k(k)

    def node_ids(self):
        """Every node that has an effective move, in the order they were first seen."""
        self.settle()
        return [self.tree_id(k) for k in range(self.n_nodes) if self.nodes[k].parent != TREE_NONE]

    def __len__(self):
        return self.n_moves

    def generate_at(self, parent, Py_ssize_t index, target, TreeJitter jitter=None):
        """The fractional index a local move of `target` to position `index` among the
        children of `parent` (the target itself left out) gets, as loro's handler makes
        it: bytes, or, when the neighbours there have equal indexes, a list of
        (node, bytes) for the target and the equal siblings after it, spread evenly.
        `jitter` (a TreeJitter, or None): random bytes appended, as loro's jitter does."""
        self.settle()
        sibs = [c for c in self.children(parent) if c != tuple(target)]
        fis = [self.fractional_index(c) for c in sibs]
        if not sibs:
            return fi_new(None, None) if jitter is None else jitter.index(None, None)
        left = fis[index - 1] if index > 0 else None
        right = fis[index] if index < len(sibs) else None
        if left is None or left != right:
            return fi_new(left, right) if jitter is None else jitter.index(left, right)
        reset = [sibs[index]]
        after = None
        for k in range(index + 1, len(sibs)):
            if fis[k] == left:
                reset.append(sibs[k])
            else:
                after = fis[k]
                break
        spread = fi_evenly(left, after, len(reset) + 1, jitter)
        return list(zip([tuple(target)] + reset, spread))

    def skipped(self):
        """How many logged moves have no effect (they would have made a cycle)."""
        self.settle()
        cdef int64_t k, n = 0
        for k in range(self.n_moves):
            if not self.moves[k].effective:
                n += 1
        return n

    def check(self):
        """Raise AssertionError unless the log and the parent map agree: the order is
        sorted, applying it from scratch gives the same parents, and no parent chain
        loops."""
        self.settle()
        cdef int64_t k, m, steps
        for k in range(1, self.n_moves):
            assert self.before(self.order[k - 1], self.order[k]), "move order is not sorted"
        saved = [(self.nodes[k].parent, self.nodes[k].last_move, self.nodes[k].n_applied)
                 for k in range(self.n_nodes)]
        for k in range(self.n_moves - 1, -1, -1):
            self.take_back(self.order[k])
        for k in range(self.n_nodes):
            assert self.nodes[k].parent == TREE_NONE and self.nodes[k].n_applied == 0, \
                "taking every move back does not empty the tree"
        for k in range(self.n_moves):
            self.apply_one(self.order[k])
        for k in range(self.n_nodes):
            assert (self.nodes[k].parent, self.nodes[k].last_move,
                    self.nodes[k].n_applied) == saved[k], "a replay gives another tree"
            steps = 0
            m = self.nodes[k].parent
            while m >= 0:
                m = self.nodes[m].parent
                steps += 1
                assert steps <= self.n_nodes, "a parent chain loops"
        for k in range(self.n_nodes):
            assert self.find(self.nodes[k].peer, self.nodes[k].counter) == k, "hash table"
        counts = {}
        for k in range(self.n_nodes):
            if self.nodes[k].parent != TREE_NONE:
                counts[self.nodes[k].parent] = counts.get(self.nodes[k].parent, 0) + 1
        for p in [TREE_ROOT, TREE_DELETED] + list(range(self.n_nodes)):
            self._check_kids(p, counts.get(p, 0))
        cdef int64_t n_out = 0, n_dirty = 0
        for m in range(self.n_moves):
            n_out += self.moves[m].excluded != 0
        assert n_out == self.n_excluded, f"{n_out} moves left out, {self.n_excluded} counted"
        for p in [TREE_ROOT, TREE_DELETED] + list(range(self.n_nodes)):
            n_dirty += self.kids_of(p).dirty != 0
            assert not self.kids_of(p).renum, "a sibling list still marked to number again"
        assert n_dirty == self.n_dirty_kids, f"{n_dirty} lists unsorted, {self.n_dirty_kids} counted"
        assert self.n_moved_lists == 0, "moved sibling lists left listed"
        if self.vv_cache is not None and self.n_excluded == 0:
            ends = {}
            for m in range(self.vv_cache_n):
                if self.moves[m].counter + 1 > ends.get(self.moves[m].peer, 0):
                    ends[self.moves[m].peer] = self.moves[m].counter + 1
            assert ends == self.vv_cache, "included_vv's kept answer"

    cdef int _place_sorted(self, int64_t k, int64_t parent, int64_t last_move) except -1:
        """place() while `keep_sorted`: the node leaves its sorted sibling list and enters
        the new one at its place, both found by binary search (slots are not kept: pos_in
        reads a position, end_sorted renumbers them)."""
        cdef int64_t old_parent = self.nodes[k].parent
        cdef child_list *kids = self.sorted_kids(old_parent)
        cdef int64_t at, lo
        if kids != NULL:
            at = self.pos_in(k)
            if at >= 0:
                memmove(&kids.items[at], &kids.items[at + 1],
                        <size_t>(kids.n - at - 1) * sizeof(int64_t))
                kids.n -= 1
                self._note_moved_list(old_parent, at)
        self.nodes[k].parent = parent
        self.ups[k] = <int32_t>parent
        self.nodes[k].last_move = last_move
        kids = self.sorted_kids(parent)
        if kids == NULL:
            return 0
        if kids.n == kids.cap:
            kids.items = <int64_t*>_grow(kids.items, &kids.cap, kids.n + 1, sizeof(int64_t))
        lo = self._lower_bound(kids, k)
        memmove(&kids.items[lo + 1], &kids.items[lo], <size_t>(kids.n - lo) * sizeof(int64_t))
        kids.items[lo] = k
        kids.n += 1
        self._note_moved_list(parent, lo)
        return 0

    cdef int64_t _lower_bound(self, child_list *kids, int64_t k) noexcept:
        """The first place in a sorted sibling list whose node does not sort before k."""
        cdef int64_t lo = 0, hi = kids.n, mid
        if hi > 0 and self.sibling_cmp(kids.items[hi - 1], k) < 0:
            # (after every sibling: a node created or moved to the end of its list, what
            # create(parent) does; one node read instead of a search's many, each out of
            # the CPU's caches on a server of many documents)
            return hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.sibling_cmp(kids.items[mid], k) < 0:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int64_t pos_in(self, int64_t k) except -2:
        """While `keep_sorted`: node k's index among its siblings, -1 when it has no parent
        (its sort key, fractional index then the (Lamport, peer) of its last move, is
        unique)."""
        cdef child_list *kids = self.sorted_kids(self.nodes[k].parent)
        cdef int64_t at
        if kids == NULL:
            return -1
        at = self._lower_bound(kids, k)
        return at if at < kids.n and kids.items[at] == k else -1

    cdef int begin_sorted(self) except -1:
        """Every sibling list sorted once; from here on each move keeps its lists sorted.
        (Sorting each list only when first read gave other indexes in loro_c's checkout
        events tests: a list must be sorted by the keys its nodes had here.)"""
        cdef int64_t k
        if self.n_dirty_kids:
            for k in range(self.n_nodes):
                self.sorted_kids(k)
            self.sorted_kids(TREE_ROOT)
            self.sorted_kids(TREE_DELETED)
        self.keep_sorted = True
        return 0

    cdef int _note_moved_list(self, int64_t parent, int64_t at) except -1:
        """While keep_sorted: the sibling list of `parent` changed from place `at` on (the
        slots before it still hold); listed once, `renum` keeping 1 + the first place
        changed (clamped: numbering more places again is only slower)."""
        cdef child_list *kids = self.kids_of(parent)
        if kids == NULL:
            return 0
        if at > 0x7ffffff0:
            at = 0x7ffffff0
        if kids.renum:
            if at + 1 < kids.renum:
                kids.renum = <int32_t>(at + 1)
            return 0
        kids.renum = <int32_t>(at + 1)
        if self.n_moved_lists == self.cap_moved_lists:
            self.moved_lists = <int64_t*>_grow(self.moved_lists, &self.cap_moved_lists,
                                               self.n_moved_lists + 1, sizeof(int64_t))
        self.moved_lists[self.n_moved_lists] = parent
        self.n_moved_lists += 1
        return 0

    cdef int end_sorted(self) except -1:
        """Leave `keep_sorted`: the slots of the lists moves changed are numbered again
        from the first place a move changed (the others' still hold: an import of a few
        moves into a tree of thousands of nodes renumbered every list; an import creating
        a few nodes at the end of a list of thousands renumbered that list, a write to
        each of its nodes, out of the CPU's caches on a server of many documents)."""
        cdef int64_t k
        cdef child_list *kids
        cdef bint every = 4 * self.n_moved_lists > self.n_nodes
        self.keep_sorted = False
        for k in range(self.n_moved_lists):
            kids = self.kids_of(self.moved_lists[k])
            if not every:
                self._renumber(kids, kids.renum - 1)
            kids.renum = 0
        self.n_moved_lists = 0
        if every:
            for k in range(self.n_nodes):
                self._renumber(&self.nodes[k].kids, 0)
            self._renumber(&self.root_kids, 0)
            self._renumber(&self.deleted_kids, 0)
        return 0

    cdef void _renumber(self, child_list *kids, int64_t start) noexcept:
        cdef int64_t i
        for i in range(start, kids.n):
            self.nodes[kids.items[i]].slot = i

    # -- an event's replay of loro's tree diff (a scratch TreeMoves; _events.tree_checkout_items)

    cdef int64_t sort_log(self) except -1:
        """Fill `order` with the logged moves by (Lamport, peer, counter), a second copy of
        a move left out; returns how many it holds."""
        cdef int64_t n = self.n_moves, i, out
        cdef tree_move *a
        cdef tree_move *b
        if n == 0:
            return 0
        if n > self.cap_order:
            self.order = <int64_t*>_grow(self.order, &self.cap_order, n, sizeof(int64_t))
        for i in range(n):
            self.order[i] = i
        self._merge_sort(self.order, n, True)
        out = 1
        for i in range(1, n):
            a = &self.moves[self.order[out - 1]]
            b = &self.moves[self.order[i]]
            if a.lamport == b.lamport and a.peer == b.peer and a.counter == b.counter:
                continue
            self.order[out] = self.order[i]
            out += 1
        return out

    cdef bint _move_lt(self, int64_t a, int64_t b) noexcept:
        cdef tree_move *x = &self.moves[a]
        cdef tree_move *y = &self.moves[b]
        if x.lamport != y.lamport:
            return x.lamport < y.lamport
        if x.peer != y.peer:
            return x.peer < y.peer
        return x.counter < y.counter

    cdef bint deleted_at(self, int64_t p) noexcept:
        """Whether parent `p` (a node index, TREE_ROOT, TREE_DELETED or TREE_NONE) is the
        deleted root or a node under it."""
        if p == TREE_DELETED:
            return True
        return p >= 0 and self.top_of(p) == TREE_DELETED

    cdef object _parent_id(self, int64_t p):
        return None if p == TREE_ROOT else self.tree_id(p)

    cdef object _fi_of(self, int64_t m):
        return (<char*>&self.fis[self.moves[m].fi_off])[:self.moves[m].fi_len]

    cdef list replay_items(self, int64_t n_order, uint32_t lmin, const uint8_t *in_to):
        """loro's tree diff between two versions, on a scratch TreeMoves holding the moves of
        both (`order`: sort_log's n_order moves; a move is `excluded` unless the version
        before holds it; in_to[m]: the version after holds move m). Every move of the
        version before is applied; those of Lamport `lmin` or more are taken back, latest
        first, then those of the version after from `lmin` on are applied in order. Each
        step that changes a node's parent is reported as loro's state turns it into an item
        (indexes of that moment; nothing for a node inside a deleted subtree), and a node
        that comes back is listed with its subtree, level by level, last child first."""
        cdef int64_t k, m, t, first, parent, last, pre_parent, pre_index, fi_move, i, n_stack
        cdef int64_t cap_stack = 0
        cdef int64_t *stack = NULL
        cdef tree_move *mv
        cdef bint pre_present, pre_deleted, new_deleted, old_deleted, shown
        cdef int action
        cdef child_list *kids
        items = []
        for k in range(n_order):
            self.apply_one(self.order[k])
        self.pending = self.n_moves
        self.begin_sorted()
        first = n_order
        for k in range(n_order):
            if self.moves[self.order[k]].lamport >= lmin:
                first = k
                break
        try:
            for k in range(n_order - 1, first - 1, -1):
                m = self.order[k]
                mv = &self.moves[m]
                if mv.excluded:
                    continue
                t = mv.target
                if not mv.effective:
                    self.take_back(m)
                    continue
                pre_parent = self.nodes[t].parent
                pre_present = pre_parent != TREE_NONE
                pre_deleted = self.top_of(t) == TREE_DELETED
                pre_index = self.pos_in(t)
                self.take_back(m)
                parent = self.nodes[t].parent
                last = self.nodes[t].last_move
                if parent == TREE_NONE:
                    action = _UNCREATE
                else:
                    action = _action(self.deleted_at(parent), self.deleted_at(mv.parent), False)
                self._report(items, action, t, parent, last, pre_present, pre_deleted,
                             pre_parent, pre_index, &stack, &cap_stack)
            for k in range(first, n_order):
                m = self.order[k]
                mv = &self.moves[m]
                if not in_to[m]:
                    self._set_excluded(mv, True)
                    continue
                self._set_excluded(mv, False)
                t = mv.target
                pre_parent = self.nodes[t].parent
                pre_present = pre_parent != TREE_NONE
                pre_deleted = self.top_of(t) == TREE_DELETED
                pre_index = self.pos_in(t)
                new_deleted = self.deleted_at(mv.parent)
                old_deleted = self.deleted_at(pre_parent)
                self.apply_one(m)
                if not mv.effective:
                    continue
                action = _action(new_deleted, old_deleted, pre_parent == TREE_NONE)
                self._report(items, action, t, mv.parent, m, pre_present, pre_deleted,
                             pre_parent, pre_index, &stack, &cap_stack)
        finally:
            free(stack)
            self.end_sorted()
        return items

    cdef int _report(self, list items, int action, int64_t t, int64_t parent, int64_t last,
                     bint pre_present, bint pre_deleted, int64_t pre_parent,
                     int64_t pre_index, int64_t **stack, int64_t *cap_stack) except -1:
        """The item (if any) of one step of replay_items, as loro's state makes it: node t
        now under `parent` by move `last`; pre_*: where it was shown before the step."""
        cdef int64_t n, i, kid, n_stack
        cdef child_list *kids
        if action == _UNCREATE or action == _DELETE:
            if pre_present and not pre_deleted:
                items.append(("delete", self.tree_id(t), self._parent_id(pre_parent), pre_index))
            return 0
        if action == _MOVE_IN_DELETED:
            return 0
        if parent != TREE_ROOT and self.deleted_at(parent):
            return 0
        if action == _MOVE and pre_present and not pre_deleted:
            items.append(("move", self.tree_id(t), self._parent_id(parent), self.pos_in(t),
                          self._fi_of(last), self._parent_id(pre_parent), pre_index))
            return 0
        items.append(("create", self.tree_id(t), self._parent_id(parent), self.pos_in(t),
                      self._fi_of(last)))
        if action != _CREATE:
            return 0
        # the node came back: its subtree is created too, each level's children in sibling
        # order, the last child's subtree entered first
        stack[0] = <int64_t*>_grow(stack[0], cap_stack, 1, sizeof(int64_t))
        stack[0][0] = t
        n_stack = 1
        while n_stack > 0:
            n_stack -= 1
            n = stack[0][n_stack]
            kids = self.kids_of(n)
            if kids.n == 0:
                continue
            nid = self.tree_id(n)
            for i in range(kids.n):
                kid = kids.items[i]
                items.append(("create", self.tree_id(kid), nid, i,
                               self._fi_of(self.nodes[kid].last_move)))
            if n_stack + kids.n > cap_stack[0]:
                stack[0] = <int64_t*>_grow(stack[0], cap_stack, n_stack + kids.n, sizeof(int64_t))
            memcpy(&stack[0][n_stack], kids.items, <size_t>kids.n * sizeof(int64_t))
            n_stack += kids.n
        return 0

    # -- loro's map of nodes (IdMap): the steps its tree state takes, as the state takes them

    cdef int64_t first_at_lamport(self, uint32_t lmin) noexcept:
        """The first order position whose move has Lamport `lmin` or more."""
        cdef int64_t lo = 0, hi = self.n_moves, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.moves[self.order[mid]].lamport < lmin:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int _map_subtree(self, IdMap mp, int64_t t, bint first_child_first=False) except -1:
        """Insert t's subtree into `mp` as loro's map takes it: each node's children all at
        once, in sibling order, then their own subtrees, depth first: the last child's
        entered first (a diff that creates the subtree) or the first child's
        (`first_child_first`: a snapshot load)."""
        cdef int64_t cap_stack = 0, n_stack = 1, n, i
        cdef int64_t *stack = <int64_t*>_grow(NULL, &cap_stack, 1, sizeof(int64_t))
        cdef child_list *kids
        try:
            stack[0] = t
            while n_stack > 0:
                n_stack -= 1
                n = stack[n_stack]
                kids = self.sorted_kids(n)
                if kids == NULL or kids.n == 0:
                    continue
                for i in range(kids.n):
                    mp.insert(self.nodes[kids.items[i]].peer, self.nodes[kids.items[i]].counter)
                if n_stack + kids.n > cap_stack:
                    stack = <int64_t*>_grow(stack, &cap_stack, n_stack + kids.n, sizeof(int64_t))
                if first_child_first:
                    for i in range(kids.n):
                        stack[n_stack + i] = kids.items[kids.n - 1 - i]
                else:
                    memcpy(&stack[n_stack], kids.items, <size_t>kids.n * sizeof(int64_t))
                n_stack += kids.n
        finally:
            free(stack)
        return 0

    cdef int replay_to(self, int64_t first, const uint8_t *in_to, IdMap mp) except -1:
        """Show another version as loro's tree diff gets there (a checkout, a concurrent
        import): the moves from order position `first` on that the version shown holds are
        taken back, latest first, then those the version wanted holds (in_to[m] for move m;
        NULL: all of them) applied in order. With `mp`, each step that changes a node is
        made to loro's map as its state makes it: a node whose first move is taken back
        leaves it, any other step inserts the node again, and a node that comes back out
        of the deleted subtree (or from nowhere) inserts its whole subtree after it. Costs
        the moves after `first` (and the subtrees that come back)."""
        cdef int64_t k, m, t
        cdef tree_move *mv
        self.settle()
        for k in range(self.n_moves - 1, first - 1, -1):
            m = self.order[k]
            mv = &self.moves[m]
            if mv.excluded:
                continue
            if mp is None or not mv.effective:
                self.take_back(m)
                continue
            t = mv.target
            self.take_back(m)
            if self.nodes[t].parent == TREE_NONE:
                mp.remove(self.nodes[t].peer, self.nodes[t].counter)
                self._withdraw(t)
                continue
            mp.insert(self.nodes[t].peer, self.nodes[t].counter)
            if (not _deleted_now(self, self.nodes[t].parent)
                    and _deleted_now(self, mv.parent)):
                self._map_subtree(mp, t)        # (loro's diff: a create)
                if self.unensured:
                    _ensure_subtree(self, t)
        return _forward_steps(self, first, in_to, mp)

    cdef int checkout_replay(self, uint32_t lmin, const uint64_t *peers, const int32_t *ends,
                             int64_t n_changed, IdMap mp) except -1:
        """A checkout: the version shown changes for the peers `peers` (each now ending at
        `ends`); loro's tree diff replays from Lamport `lmin` (replay_to)."""
        cdef int64_t first, k, m, j
        cdef uint8_t *in_to = NULL
        cdef tree_move *mv
        self.settle()
        first = self.first_at_lamport(lmin)
        if first >= self.n_moves:
            return 0
        in_to = <uint8_t*>malloc(<size_t>self.n_moves)
        if in_to == NULL:
            raise MemoryError()
        try:
            for k in range(first, self.n_moves):
                m = self.order[k]
                mv = &self.moves[m]
                in_to[m] = not mv.excluded
                for j in range(n_changed):
                    if peers[j] == mv.peer:
                        in_to[m] = mv.counter < ends[j]
                        break
            self.replay_to(first, in_to, mp)
        finally:
            free(in_to)
        return 0

    cdef int import_steps(self, int64_t n_before, bint greater, uint32_t lmin,
                          IdMap mp) except -1:
        """An attached import logged moves n_before.. (waiting for settle). `greater`: its
        changes all follow the version before: loro's state applies the new moves in
        (Lamport, peer) order, each that makes no cycle inserting its node. Else loro's
        tree diff replays from Lamport `lmin` (replay_to) between the tree before and after."""
        cdef int64_t k, k0, m, first
        cdef tree_move *mv
        if greater:
            k0 = self.pending
            self.settle()
            for k in range(k0, self.n_moves):
                m = self.order[k]
                if m >= n_before and self.moves[m].effective and not self.moves[m].excluded:
                    mp.insert(self.nodes[self.moves[m].target].peer,
                              self.nodes[self.moves[m].target].counter)
            return 0
        first = self.first_at_lamport(lmin)
        if self.deleted_kids.cap == 0 and first <= self.pending:
            # No node was ever deleted, so no step of the replay brings a subtree back: the
            # old moves the import took back (from `pending` on) are replayed from what
            # each noted when applied (its target had no parent before it: a remove), the
            # others taken back here, then everything applied again in order.
            for k in range(self.n_moves - 1, self.pending - 1, -1):
                m = self.order[k]
                mv = &self.moves[m]
                if m >= n_before or mv.excluded or not mv.effective:
                    continue
                if mv.prev_parent == TREE_NONE:
                    mp.remove(self.nodes[mv.target].peer, self.nodes[mv.target].counter)
                    self._withdraw(mv.target)
                else:
                    mp.insert(self.nodes[mv.target].peer, self.nodes[mv.target].counter)
            for k in range(self.pending - 1, first - 1, -1):
                m = self.order[k]
                mv = &self.moves[m]
                if mv.excluded:
                    continue
                if mv.effective:
                    self.take_back(m)
                    if self.nodes[mv.target].parent == TREE_NONE:
                        mp.remove(self.nodes[mv.target].peer, self.nodes[mv.target].counter)
                        self._withdraw(mv.target)
                    else:
                        mp.insert(self.nodes[mv.target].peer, self.nodes[mv.target].counter)
                else:
                    self.take_back(m)
            return _forward_steps(self, first, NULL, mp)
        # the tree before the import again (the new moves left out), then loro's replay
        for m in range(n_before, self.n_moves):
            self._set_excluded(&self.moves[m], True)
        self.settle()
        return self.replay_to(first, NULL, mp)

    cdef int _withdraw(self, int64_t t) except -1:
        """A replay took node t's creation back (see `withdrawn`)."""
        if self.withdrawn is None:
            self.withdrawn = set()
        self.withdrawn.add((self.nodes[t].peer, self.nodes[t].counter))
        return 0

    cdef int load_into(self, IdMap mp) except -1:
        """Insert the nodes as loro decodes a snapshot's tree into its map: the shown ones,
        then the deleted ones; under each root the children of a node all at once, then
        each child's own, in sibling order, depth first."""
        self.settle()
        self._map_subtree(mp, TREE_ROOT, True)
        self._map_subtree(mp, TREE_DELETED, True)
        return 0

    def map_of_state(self):
        """An IdMap of this tree's nodes as loro's map holds them after a snapshot load
        (load_into)."""
        mp = IdMap()
        self.load_into(mp)
        return mp

    cdef int _check_kids(self, int64_t p, int64_t expected) except -1:
        cdef child_list *kids = self.sorted_kids(p)
        cdef int64_t i
        assert kids.n == expected, "a sibling list misses or repeats a node"
        for i in range(kids.n):
            assert self.nodes[kids.items[i]].parent == p, "a node is listed under another parent"
            assert self.nodes[kids.items[i]].slot == i, "a node's slot is not its place"
            if i:
                assert self.sibling_cmp(kids.items[i - 1], kids.items[i]) < 0, \
                    "a sibling list is out of order"
        return 0


# -- diffs of one tree for events (state/tree.pxi): module functions over a TreeMoves

def included_vv(TreeMoves tm):
    """{peer: 1 + the greatest counter} of the moves in effect order (not left out). With
    no move left out, the answer for every move is kept (`vv_cache`) and brought up to date
    with the moves logged since: an import with a subscriber asks before it applies, and a
    pass over thousands of moves took a fifth of a small one's time."""
    tm.settle()
    cdef int64_t start = 0
    if tm.vv_cache is not None and tm.n_excluded == 0 and tm.vv_cache_n <= tm.n_moves:
        out = tm.vv_cache
        start = tm.vv_cache_n
    else:
        out = {}
    _add_log_ends(tm, out, start, tm.n_moves, True)
    if tm.n_excluded == 0:
        tm.vv_cache = out
        tm.vv_cache_n = tm.n_moves
    else:
        tm.vv_cache = None
    return dict(out)


def tree_view(TreeMoves tm):
    """{node: (parent, sort key)} of the shown nodes, the key (fractional index bytes,
    Lamport, peer) of its last effective move: what a diff of two versions compares."""
    tm.settle()
    cdef int64_t k, m
    out = {}
    for k in range(tm.n_nodes):
        if tm.alive_k(k):
            m = tm.nodes[k].last_move
            p = tm.nodes[k].parent
            out[tm.tree_id(k)] = (None if p == TREE_ROOT else tm.tree_id(p),
                                  ((<char*>&tm.fis[tm.moves[m].fi_off])[:tm.moves[m].fi_len],
                                   tm.moves[m].lamport, tm.moves[m].peer))
    return out


def greater_items(TreeMoves tm, dict vv_before, int64_t n_before=-1):
    """loro's diff of moves that all follow `vv_before` (a commit, or an import whose
    changes all follow the version before it): each new move, in (Lamport, peer)
    order, applied to the tree as it was, gives ("create", node, parent, index, fi),
    ("move", node, parent, index, fi, old_parent, old_index) or ("delete", node,
    old_parent, old_index); a move that changes what is shown gives nothing."""
    tm.settle()
    cdef int64_t k, m, t, run_end = 0
    cdef uint64_t run_peer = 0
    cdef bint have_run = False, any_excluded = False
    cdef tree_move *mv
    new = []
    cdef int64_t first_new = -1
    if n_before >= 0 and tm.n_excluded == 0:
        # `n_before`: the moves logged when the version before was kept, every one in
        # effect then and now; the new ones are those logged since. When they sort after
        # all the others (the common case), they are found from the end.
        k = tm.n_moves
        while k > 0 and tm.order[k - 1] >= n_before:
            k -= 1
        if k == n_before:
            if k == tm.n_moves:
                return []
            # (every move from k on is new: a version before that names none of their
            # peers leaves them all out, as the kept one would)
            return _greater_from(tm, {} if vv_before is None else vv_before,
                                 [tm.order[m] for m in range(k, tm.n_moves)], k, False)
    if vv_before is None:
        if n_before < 0:
            raise AssertionError("a tree's version before was kept as no count of moves")
        vv_before = _ends_of_first(tm, n_before)
    for k in range(tm.n_moves):
        mv = &tm.moves[tm.order[k]]
        if mv.excluded:
            any_excluded = True
            continue
        if not have_run or mv.peer != run_peer:
            run_peer = mv.peer
            run_end = vv_before.get(mv.peer, 0)
            have_run = True
        if mv.counter >= run_end:
            new.append(tm.order[k])
            if first_new < 0:
                first_new = k
    if not new:
        return []
    return _greater_from(tm, vv_before, new, first_new, any_excluded)


cdef list _greater_from(TreeMoves tm, dict vv_before, list new, int64_t first_new,
                        bint any_excluded):
    """greater_items from its new moves (in order; the first at order position
    `first_new`)."""
    # The new moves of a commit or of an import that follows the version before sort after
    # every other move: each is then included at the end instead of by a checkout (which
    # scans every move).
    cdef bint at_end = first_new + len(new) == tm.n_moves
    # with no move left out, those before the first new one are in effect at both
    # versions: the checkouts need not look at them
    cdef int64_t start = first_new if not any_excluded else 0
    # the version to show again: with no move left out, every move from `start` on (the
    # ends of those moves' peers), else what is in effect now
    final = included_vv(tm) if any_excluded else _ends_from(tm, start)
    tm.checkout_from(vv_before, start)
    vv = dict(vv_before)
    items = []
    if at_end:
        # each move reads indexes: sibling lists kept sorted at every move instead of
        # sorted again at each read (a flat tree of thousands of nodes)
        tm.begin_sorted()
    try:
        _greater_walk(tm, new, at_end, vv, items)
    finally:
        if tm.keep_sorted:
            tm.end_sorted()
    tm.checkout_from(final, start)
    return items


cdef dict _ends_of_first(TreeMoves tm, int64_t n):
    """{peer: 1 + the greatest counter} of the first `n` moves logged (tree_note_import's
    version, when every move was in effect: kept as their count only)."""
    return _add_log_ends(tm, {}, 0, n, False)


cdef dict _add_log_ends(TreeMoves tm, dict out, int64_t start, int64_t end, bint skip_excluded):
    """Raise `out` to {peer: 1 + the greatest counter} of the moves logged at [start, end)
    (with `skip_excluded`, of those in effect). (Moves come in runs of one peer: the dict
    is read once per run.)"""
    cdef int64_t m
    cdef uint64_t run_peer = 0
    cdef int32_t run_end = -1
    for m in range(start, end):
        if skip_excluded and tm.moves[m].excluded:
            continue
        if run_end < 0 or tm.moves[m].peer != run_peer:
            if run_end >= 0 and run_end > out.get(run_peer, 0):
                out[run_peer] = run_end
            run_peer = tm.moves[m].peer
            run_end = 0
        if tm.moves[m].counter >= run_end:
            run_end = tm.moves[m].counter + 1
    if run_end >= 0 and run_end > out.get(run_peer, 0):
        out[run_peer] = run_end
    return out


cdef dict _ends_from(TreeMoves tm, int64_t start):
    """{peer: 1 + the greatest counter} of the moves at order positions `start` on."""
    cdef int64_t k, run_end = -1
    cdef uint64_t run_peer = 0
    cdef tree_move *mv
    out = {}
    for k in range(start, tm.n_moves):
        mv = &tm.moves[tm.order[k]]
        if run_end < 0 or mv.peer != run_peer:
            if run_end >= 0 and run_end > out.get(run_peer, 0):
                out[run_peer] = run_end
            run_peer = mv.peer
            run_end = 0
        if mv.counter >= run_end:
            run_end = mv.counter + 1
    if run_end >= 0 and run_end > out.get(run_peer, 0):
        out[run_peer] = run_end
    return out


cdef object _index_k(TreeMoves tm, int64_t t):
    """TreeMoves.index of node t (None when it has no parent)."""
    cdef int64_t at
    if tm.keep_sorted:
        at = tm.pos_in(t)
        return None if at < 0 else at
    return tm.index(tm.tree_id(t))


cdef object _parent_k(TreeMoves tm, int64_t t):
    """TreeMoves.parent of node t."""
    cdef int64_t p = tm.nodes[t].parent
    if p == TREE_NONE:
        return "unexist"
    if p == TREE_ROOT:
        return None
    if p == TREE_DELETED:
        return "deleted"
    return tm.tree_id(p)


cdef int _greater_walk(TreeMoves tm, list new, bint at_end, dict vv, list items) except -1:
    cdef int64_t t
    cdef tree_move *mv
    for m in new:
        t = tm.moves[m].target
        tid = tm.tree_id(t)
        was_alive = tm.alive_k(t)
        old_parent = _parent_k(tm, t)
        old_index = _index_k(tm, t)
        vv[tm.moves[m].peer] = tm.moves[m].counter + 1
        if at_end:
            tm.include_last(m)
        else:
            tm.checkout(vv)
        mv = &tm.moves[m]
        if not mv.effective or tm.nodes[t].last_move != m:
            continue
        fi = (<char*>&tm.fis[mv.fi_off])[:mv.fi_len]
        parent = None if mv.parent == TREE_ROOT else (
            "deleted" if mv.parent == TREE_DELETED else tm.tree_id(mv.parent))
        if (mv.peer, mv.counter) == tid:
            if tm.alive_k(t):
                items.append(("create", tid, parent, _index_k(tm, t), fi))
        elif mv.parent == TREE_DELETED or not tm.alive_k(t):
            if was_alive:
                items.append(("delete", tid, old_parent, old_index))
        elif was_alive:
            items.append(("move", tid, parent, _index_k(tm, t), fi, old_parent, old_index))
        else:
            items.append(("create", tid, parent, _index_k(tm, t), fi))
    return 0


# -- fractional indexes (loro's scheme: byte strings ending in 0x80, compared as bytes)
# (FI_END and the C versions of these functions are at the top of the module)


cdef bytes fi_before(bytes b):
    """Unterminated bytes that sort before `b` (as loro makes them)."""
    cdef Py_ssize_t i
    for i in range(len(b)):
        if b[i] > FI_END:
            return b[:i]
        if b[i] > 0:
            return b[:i] + bytes((b[i] - 1,))
    raise ValueError("no fractional index sorts before %r" % b)


cdef bytes fi_after(bytes b):
    """Unterminated bytes that sort after `b`."""
    cdef Py_ssize_t i
    for i in range(len(b)):
        if b[i] < FI_END:
            return b[:i]
        if b[i] < 0xFF:
            return b[:i] + bytes((b[i] + 1,))
    raise ValueError("no fractional index sorts after %r" % b)


cdef object fi_between(bytes left, bytes right):
    """Unterminated bytes strictly between, or None when there are none."""
    cdef Py_ssize_t shorter = min(len(left), len(right)) - 1
    cdef Py_ssize_t i
    cdef int gap
    for i in range(shorter):
        gap = right[i] - left[i]
        if gap > 1:
            return left[:i] + bytes((left[i] + gap // 2,))
        if gap == 1:
            return left[:i + 1] + fi_after(left[i + 1:])
        if gap < 0:
            return None
    if len(left) < len(right):
        if right[shorter] < FI_END:
            return None
        return right[:shorter + 1] + fi_before(right[shorter + 1:])
    if len(left) > len(right):
        if left[shorter] >= FI_END:
            return None
        return left[:shorter + 1] + fi_after(left[shorter + 1:])
    return None


def fi_new(left, right):
    """The fractional index for a node between siblings `left` and `right` (None: no
    sibling on that side); None when there is no room (equal neighbours)."""
    if left is None and right is None:
        return bytes((FI_END,))
    if right is None:
        return fi_after(left) + bytes((FI_END,))
    if left is None:
        return fi_before(right) + bytes((FI_END,))
    mid = fi_between(left, right)
    return None if mid is None else mid + bytes((FI_END,))


def fi_evenly(left, right, Py_ssize_t n, TreeJitter jitter=None):
    """`n` fractional indexes spread between `left` and `right`, as loro spreads siblings
    that had equal indexes (its generate_n_evenly): the middle one first, then each half
    (with `jitter`, each gets its random bytes in that order, and bounds the halves with
    them)."""
    out = []
    if n == 0:
        return out
    if left is not None and right is not None and left >= right:
        return None
    _evenly(left, right, n, out, jitter)
    return out


cdef int _evenly(left, right, Py_ssize_t n, list out, TreeJitter jitter) except -1:
    cdef Py_ssize_t mid
    if n == 0:
        return 0
    mid = n // 2
    middle = fi_new(left, right) if jitter is None else jitter.index(left, right)
    if n == 1:
        out.append(middle)
        return 0
    _evenly(left, middle, mid, out, jitter)
    out.append(middle)
    if n - mid - 1:
        _evenly(middle, right, n - mid - 1, out, jitter)
    return 0


cdef extern from "loro_c/jitter.h":
    void lc_jitter_seed(lc_jitter_rng *r, uint64_t seed) nogil
    uint8_t lc_jitter_byte(lc_jitter_rng *r) nogil


cdef class TreeJitter:
    """A tree's jitter setting and loro's random generator behind it (include/loro_c/
    jitter.h): local fractional indexes get `jitter` random bytes after their terminator,
    the same bytes loro's tree state draws."""

    def __cinit__(self, uint64_t seed, int jitter):
        lc_jitter_seed(&self.rng, seed)
        self.jitter = jitter

    cpdef bytes draw(self):
        """The next `jitter` random bytes."""
        cdef bytearray out = bytearray(self.jitter)
        cdef int i
        cdef uint8_t b
        for i in range(self.jitter):
            b = lc_jitter_byte(&self.rng)   # once: an item assignment may use its value twice
            out[i] = b
        return bytes(out)

    def index(self, left, right):
        """fi_new(left, right) with the random bytes appended; None when there is no room."""
        base = fi_new(left, right)
        return None if base is None else base + self.draw()


def fi_new_buf(left, right):
    """fi_new through the C path of local ops (fi_new_c): bytes, or None where that path
    hands over to fi_new. For tests."""
    cdef uint8_t buf[512]
    cdef bytes l = b"" if left is None else left
    cdef bytes r = b"" if right is None else right
    if len(l) >= 500 or len(r) >= 500:
        return None
    cdef int64_t n = fi_new_c(<const uint8_t*><char*>l, -1 if left is None else len(l),
                              <const uint8_t*><char*>r, -1 if right is None else len(r), buf)
    return None if n < 0 else (<char*>buf)[:n]
