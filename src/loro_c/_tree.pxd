# The movable tree's move log (_tree.pyx): C state of a TreeMoves, declared here so that the
# document's tree state (state/tree.pxi) applies remote ops through C calls.
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t

cdef enum:
    TREE_ROOT = -1          # parent: a root of the tree
    TREE_DELETED = -2       # parent: the deleted root
    TREE_NONE = -3          # parent: the node has no effective move yet

ctypedef struct child_list:
    int64_t *items          # node indices, in sibling order unless `dirty`
    int64_t n, cap
    int32_t dirty           # changed since last sorted (sorted when read)
    int32_t renum           # listed in moved_lists: 1 + the first place whose slot to number again

ctypedef struct tree_node:
    child_list kids
    int64_t slot            # its index in its parent's `kids.items`
    uint64_t peer
    int32_t counter
    int32_t n_applied       # moves of this node in the applied log
    int64_t parent          # node index, or TREE_ROOT / TREE_DELETED / TREE_NONE
    int64_t last_move       # its last effective move (move index), -1 none

ctypedef struct tree_move:
    uint32_t lamport
    uint64_t peer
    int32_t counter
    int64_t target
    int64_t parent          # node index, TREE_ROOT or TREE_DELETED
    int64_t fi_off          # fractional index bytes in `fis`
    int32_t fi_len
    int32_t effective
    int32_t excluded        # left out of the version shown (see checkout)
    int64_t prev_parent     # the target's parent and last move before this one applied
    int64_t prev_last



# loro's hash map of a tree's nodes (hashbrown with FxHasher), for the order nodes() lists:
# inserts and removes of TreeIDs in the order loro's tree state makes them (state/tree.pxi)
cdef class IdMap:
    cdef uint8_t *ctrl              # per bucket: empty, deleted (a tombstone) or full
    cdef uint64_t *peers
    cdef int32_t *ctrs
    cdef uint64_t *hs
    cdef int64_t n, items, growth_left

    cdef int64_t _free_slot(self, uint64_t h) noexcept
    cdef int64_t _find(self, uint64_t peer, int32_t ctr, uint64_t h) noexcept
    cdef int _alloc(self, int64_t n) except -1
    cdef int _resize(self, int64_t capacity) except -1
    cdef void _rehash_in_place(self) noexcept
    cdef int insert(self, uint64_t peer, int32_t ctr) except -1
    cdef int remove(self, uint64_t peer, int32_t ctr) except -1
    cdef bint has(self, uint64_t peer, int32_t ctr) noexcept


cdef class TreeMoves:
    cdef tree_node *nodes
    cdef int64_t n_nodes, cap_nodes
    cdef tree_move *moves
    cdef int64_t n_moves, cap_moves
    cdef int64_t *order             # move indices by (lamport, peer)
    cdef int64_t cap_order
    cdef uint8_t *fis
    cdef int64_t n_fis, cap_fis
    cdef int64_t *slots             # hash table: node index + 1, 0 empty
    cdef int64_t n_slots
    cdef child_list root_kids, deleted_kids
    # moves at order positions >= pending are logged but not applied yet: a move that sorts
    # before applied ones takes them back once, and they are applied again, in one pass,
    # by the next read (settle), however many moves an import adds meanwhile
    cdef int64_t pending
    # each node's parent again (as in `nodes`), packed: cycle checks walk parent chains of
    # hundreds of nodes, and this keeps the walk in a few cache lines per step instead of one
    # tree_node (72 bytes) per step
    cdef int32_t *ups
    cdef int64_t cap_ups
    # set while a scratch copy replays an event (replay_items): sibling lists are kept sorted
    # at every move, so each report reads its index at once
    cdef bint keep_sorted
    # while keep_sorted: the parents (node index, TREE_ROOT, TREE_DELETED) whose sibling
    # lists moves changed, each once (child_list.renum), numbered again by end_sorted
    cdef int64_t *moved_lists
    cdef int64_t n_moved_lists, cap_moved_lists
    # included_vv's answer for the first vv_cache_n moves, kept while no move is left out
    cdef dict vv_cache
    cdef int64_t vv_cache_n
    cdef int64_t n_excluded         # moves left out (tree_move.excluded)
    cdef int64_t n_dirty_kids       # sibling lists marked unsorted (child_list.dirty)
    cdef void _set_excluded(self, tree_move *mv, bint out) noexcept
    # loro's map of this tree's nodes (the document's, LoroDoc.tree_maps: a rebuild hands it
    # to the TreeMoves that replaces this one), None until the document makes it; kept here
    # so that a local op reaches it without a lookup by container
    cdef IdMap mp
    # the nodes ((peer, counter)) whose meta map loro's state store never made: loro's tree diff
    # brought them in only inside the deleted subtree (created there by a replayed diff,
    # never shown since), so no Create item ensured the map; None while there are none
    cdef set unensured
    # the nodes ((peer, counter)) a replay took back to nowhere (their creation undone by a
    # checkout): their meta maps, made when they were created, stay in loro's store (both
    # sets are the store's, so a TreeMoves rebuilt for the tree takes them over: tree_put)
    cdef set withdrawn
    # while an import runs: n_moves when its first op on this tree came (the moves it adds
    # follow), else -1; the import lists the trees it marked (LoroDoc.tree_imp)
    cdef int64_t imp_start

    cdef int64_t find(self, uint64_t peer, int32_t counter) noexcept
    cdef int _rehash(self, int64_t n_slots) except -1
    cdef int64_t node(self, uint64_t peer, int32_t counter) except -1
    cdef bint creates_cycle(self, int64_t target, int64_t parent) noexcept
    cdef int _withdraw(self, int64_t t) except -1
    cdef int apply_one(self, int64_t m) except -1
    cdef int take_back(self, int64_t m) except -1
    cdef int include_last(self, int64_t m) except -1
    cdef child_list *kids_of(self, int64_t parent) noexcept
    cdef int sibling_cmp(self, int64_t a, int64_t b) noexcept
    cdef int place(self, int64_t k, int64_t parent, int64_t last_move) except -1
    cdef child_list *sorted_kids(self, int64_t parent) except? NULL
    cdef int _merge_sort(self, int64_t *items, int64_t n, bint by_move=*) except -1
    cdef bint before(self, int64_t a, int64_t b) noexcept
    cdef int64_t add_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                          int64_t target, int64_t parent, const uint8_t *fi,
                          int32_t fi_len) except -1
    cdef int64_t _log_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                           int64_t target, int64_t parent, const uint8_t *fi,
                           int32_t fi_len) except -1
    cdef int64_t _order_in(self, int64_t m) except -1
    cdef int _apply_as(self, int64_t m, bint cycle) except -1
    cdef int64_t add_local_move(self, uint32_t lamport, uint64_t peer, int32_t counter,
                                int64_t target, int64_t parent, const uint8_t *fi,
                                int32_t fi_len, bint checked) except -1
    cdef int64_t kid_count(self, int64_t parent) noexcept
    cdef int64_t slot_of(self, int64_t k) except -2
    cdef int64_t local_fi(self, int64_t parent, int64_t index, int64_t target, uint8_t *out,
                          int64_t cap) except -2
    cdef int64_t add_move_ids(self, uint32_t lamport, uint64_t peer, int32_t counter,
                              uint64_t target_peer, int32_t target_counter, int64_t parent_kind,
                              uint64_t parent_peer, int32_t parent_counter, const uint8_t *fi,
                              int32_t fi_len) except -1
    cdef int settle(self) except -1
    cdef object tree_id(self, int64_t k)
    cdef int64_t parent_index(self, parent) except -4
    cdef list _subtree(self, int64_t parent, object parent_id, object meta_of)
    cdef int64_t top_of(self, int64_t k) noexcept
    cdef bint alive_k(self, int64_t k) noexcept
    cdef int _check_kids(self, int64_t p, int64_t expected) except -1
    cdef int _place_sorted(self, int64_t k, int64_t parent, int64_t last_move) except -1
    cdef int64_t sort_log(self) except -1
    cdef bint _move_lt(self, int64_t a, int64_t b) noexcept
    cdef object _parent_id(self, int64_t p)
    cdef object _fi_of(self, int64_t m)
    cdef int _report(self, list items, int action, int64_t t, int64_t parent, int64_t last,
                     bint pre_present, bint pre_deleted, int64_t pre_parent,
                     int64_t pre_index, int64_t **stack, int64_t *cap_stack) except -1
    cdef bint deleted_at(self, int64_t p) noexcept
    cdef int64_t _lower_bound(self, child_list *kids, int64_t k) noexcept
    cdef int64_t pos_in(self, int64_t k) except -2
    cdef int begin_sorted(self) except -1
    cdef int end_sorted(self) except -1
    cdef int _note_moved_list(self, int64_t parent, int64_t at) except -1
    cdef int64_t checkout_from(self, dict vv, int64_t start) except -1
    cdef void _renumber(self, child_list *kids, int64_t start) noexcept
    cdef list replay_items(self, int64_t n_order, uint32_t lmin, const uint8_t *in_to)
    cdef int64_t first_at_lamport(self, uint32_t lmin) noexcept
    cdef int _map_subtree(self, IdMap mp, int64_t t, bint first_child_first=*) except -1
    cdef int replay_to(self, int64_t first, const uint8_t *in_to, IdMap mp) except -1
    cdef int checkout_replay(self, uint32_t lmin, const uint64_t *peers, const int32_t *ends,
                             int64_t n_changed, IdMap mp) except -1
    cdef int import_steps(self, int64_t n_before, bint greater, uint32_t lmin,
                          IdMap mp) except -1
    cdef int load_into(self, IdMap mp) except -1


cdef extern from "loro_c/jitter.h":
    ctypedef struct lc_jitter_rng:
        pass


# a tree's jitter setting and random generator (_tree.pyx; LoroDoc.tree_jitter)
cdef class TreeJitter:
    cdef lc_jitter_rng rng
    cdef public int jitter
    cpdef bytes draw(self)
