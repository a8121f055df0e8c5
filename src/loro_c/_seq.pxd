cimport cython
from libc.stdint cimport uint8_t, uint16_t, int16_t, uint32_t, int32_t, int64_t, uint64_t

cdef extern from "loro_c/seq.h":
    void lc_prefetch(const void *p) noexcept nogil
    enum:
        LC_NO_PEER
        LC_NO_NODE
        LC_BT_MAX
        LC_REC_INSERT
        LC_REC_DELETE
        LC_REC_DELETE_REV
        LC_REC_MOVE
        LC_ANCHOR_START
        LC_ANCHOR_END
        LC_ANCHOR_MIN
        LC_STYLE_SLOTS
        LC_STYLE_DIRTY
        LC_STYLE_OVERFLOW

    ctypedef struct lc_id:
        uint32_t peer
        int32_t counter

    ctypedef struct lc_span:
        lc_id id
        lc_id origin_left
        lc_id origin_right
        int32_t len
        uint32_t content
        int32_t utf8_len
        int32_t utf16_len
        int16_t deleted
        uint8_t future

    ctypedef struct lc_lens:
        int64_t visible
        int64_t utf8
        int64_t utf16
        int64_t total
        int64_t anchors
        int64_t anchor_balance

    ctypedef union lc_node_union:
        uint32_t children[LC_BT_MAX]
        lc_span spans[LC_BT_MAX]

    ctypedef struct lc_node:
        uint32_t tree
        uint32_t parent
        uint32_t prev_leaf
        uint32_t next_leaf
        uint16_t n
        uint8_t is_leaf
        uint8_t style_flags
        lc_lens lens
        lc_node_union u

    ctypedef struct lc_style_summary:
        uint32_t n
        lc_id open[12]

    ctypedef struct lc_record:
        int32_t counter
        int32_t len
        lc_id target
        uint32_t kind

    ctypedef struct lc_peer_index:
        uint32_t *leaf
        int64_t leaf_len, leaf_cap
        uint64_t *starts
        int64_t starts_cap
        uint64_t *summary
        int64_t summary_cap
        lc_record *recs
        int64_t rec_len, rec_cap

    bint lc_span_is_anchor(const lc_span *s) nogil
    int lc_popcount64(uint64_t x) nogil
    int64_t lc_prev_start(const lc_peer_index *pi, int64_t c) nogil
    void lc_set_start(lc_peer_index *pi, int64_t c, uint32_t leaf) nogil
    void lc_clear_start(lc_peer_index *pi, int64_t c) nogil
    int lc_is_start(const lc_peer_index *pi, int64_t c) nogil
    int64_t lc_next_start(const lc_peer_index *pi, int64_t c) nogil


cdef extern from "loro_c/arena.h":
    void *lc_grow(void *ptr, int64_t *cap, int64_t need, size_t item) nogil


cdef inline void* grow(void *ptr, int64_t *cap, int64_t need, size_t item) except NULL nogil:
    """lc_grow, raising MemoryError when it fails (callable with or without the GIL)."""
    cdef void *p = lc_grow(ptr, cap, need, item)
    if p == NULL:
        with gil:
            raise MemoryError()
    return p


# tree_is_text[t]: bit 1 a text tree, bit 2 a tree that holds style anchors (set by the first
# one; its nodes count them in lc_lens.anchors, other trees leave that 0).
cdef enum:
    TREE_TEXT = 1
    TREE_ANCHORED = 2

# Units for position conversion.
cdef enum:
    UNIT_UNICODE = 0
    UNIT_UTF8 = 1
    UNIT_UTF16 = 2


cdef inline lc_id make_id(uint32_t peer, int32_t counter) noexcept nogil:
    cdef lc_id r
    r.peer = peer
    r.counter = counter if peer != LC_NO_PEER else 0
    return r


cdef inline bint span_visible(const lc_span *s) noexcept nogil:
    return s.future == 0 and s.deleted == 0


cdef inline bint id_eq(lc_id a, lc_id b) noexcept nogil:
    return a.peer == b.peer and a.counter == b.counter


@cython.final
cdef class SeqArena:
    """All sequence containers of one document: B-tree nodes, the atom -> leaf index, tracker
    records and the text content arena (UTF-32 code points). Every allocation is made and
    freed here; the other parts of _seq are functions over the arena (see _seq.pyx)."""
    cdef lc_node *nodes
    cdef uint32_t n_nodes, cap_nodes
    cdef uint32_t free_head, n_free     # freed nodes, chained through `parent`
    cdef uint32_t *roots
    cdef uint8_t *tree_is_text
    cdef uint32_t n_trees, cap_trees
    cdef lc_peer_index *peers
    cdef uint32_t n_peers, cap_peers
    cdef uint32_t *text
    cdef int64_t text_len, text_cap
    # scratch buffer of delete runs: (visible start, len, peer, counter) quadruples
    cdef int64_t *runs
    cdef int64_t runs_len, runs_cap
    # style summaries of the nodes of marked texts, indexed like `nodes` (seq.h)
    cdef lc_style_summary *styles
    cdef int64_t styles_cap

    # --- storage
    cdef uint32_t alloc_node(self, bint is_leaf) except? 0xFFFFFFFF nogil
    cdef int reserve_nodes(self, int64_t more) except -1 nogil
    cdef void free_node(self, uint32_t nd) noexcept
    cdef uint32_t new_tree(self, bint is_text) except? 0xFFFFFFFF
    cdef int ensure_peer(self, uint32_t peer) except -1 nogil
    cdef int reserve_text(self, int64_t n) except -1
    cdef int64_t append_text(self, const uint32_t *cps, int64_t n) except -1
    cdef int truncate_text(self, int64_t n) except -1
    # --- lengths and search
    cdef void leaf_update(self, uint32_t leaf) noexcept nogil
    cdef int64_t visible_len(self, uint32_t t) noexcept nogil
    cdef int64_t char_len(self, uint32_t t) noexcept nogil
    cdef int64_t unit_len(self, uint32_t t, int unit) noexcept nogil
    cdef uint32_t first_leaf(self, uint32_t t) noexcept nogil
    cdef uint32_t find_visible(self, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil
    cdef uint32_t find_total(self, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil
    cdef int64_t left_of(self, uint32_t nd, bint visible) noexcept nogil
    # --- structure changes
    cdef int insert_child(self, uint32_t t, uint32_t parent, uint32_t after, uint32_t child) except -1 nogil
    cdef uint32_t split_leaf(self, uint32_t t, uint32_t leaf, int half) except? 0xFFFFFFFF nogil
    cdef int split_span(self, uint32_t t, uint32_t *leaf, int *idx, int32_t off) except -1 nogil
    cdef int isolate(self, uint32_t t, uint32_t *leaf, int *idx, int64_t off, int64_t m) except -1 nogil
    cdef bint try_merge(self, uint32_t leaf, int idx) noexcept nogil
    cdef int merge_around(self, uint32_t leaf, int idx) except -1 nogil


# The parts other modules call (the rest of each part is private to _seq).
# seq/atoms.pxi
cdef uint32_t locate(SeqArena a, lc_id id, int *idx) except? 0xFFFFFFFF nogil
# seq/units.pxi
cdef int64_t to_unicode(SeqArena a, uint32_t t, int64_t pos, int unit, bint floor) except -2
cdef int64_t from_unicode(SeqArena a, uint32_t t, int64_t pos, int unit) except -2
# seq/tracker.pxi
cdef int tracker_move(SeqArena a, uint32_t peer, int32_t start, int32_t end, bint advance) except -1 nogil
# seq/fugue.pxi
cdef int integrate_insert(SeqArena a, uint32_t t, lc_id new_id, int64_t pos, int32_t n,
                          uint32_t content, const uint64_t *peer_ids) except -1 nogil
cdef int integrate_delete(SeqArena a, uint32_t t, lc_id del_id, int64_t start, int64_t n,
                          bint reversed) except -1 nogil
# seq/move.pxi
cdef int integrate_move(SeqArena a, uint32_t t, lc_id move_id, int64_t from_pos, int64_t to_pos,
                        uint32_t content, const uint64_t *peer_ids) except -1 nogil
cdef int integrate_move_after(SeqArena a, uint32_t t, lc_id move_id, lc_id from_atom,
                              lc_id left_atom, uint32_t content,
                              const uint64_t *peer_ids) except -1 nogil
# seq/query.pxi
cdef int64_t visible_before(SeqArena a, uint32_t leaf, int slot, int32_t counter) noexcept nogil
cdef int64_t abs_index(SeqArena a, lc_id id) except -1 nogil
cdef int64_t copy_visible(SeqArena a, uint32_t t, int64_t start, int64_t end, uint32_t *out) except -1
cdef int64_t visible_content(SeqArena a, uint32_t t, int64_t pos) except -1
cdef int64_t collect_runs(SeqArena a, uint32_t t, int64_t start, int64_t n) except -1
# seq/anchors.pxi
cdef uint32_t find_char(SeqArena a, uint32_t t, int64_t pos, int *idx, int64_t *off) noexcept nogil
cdef int64_t entity_at(SeqArena a, uint32_t leaf, int idx, int64_t off) noexcept nogil
cdef int64_t char_entity(SeqArena a, uint32_t t, int64_t pos) noexcept nogil
cdef int64_t anchors_before(SeqArena a, uint32_t leaf, int slot) noexcept nogil
cdef int64_t collect_text_runs(SeqArena a, uint32_t t, int64_t start, int64_t n) except -1
cdef int64_t balance_before(SeqArena a, uint32_t t, int64_t e) noexcept nogil
cdef int64_t anchors_in_prefix(SeqArena a, uint32_t t, int64_t e) noexcept nogil
cdef bint prev_anchor(SeqArena a, uint32_t *leaf, int *slot) noexcept nogil
cdef bint atom_visible(SeqArena a, lc_id id) noexcept nogil
cdef void style_dirty_up(SeqArena a, uint32_t nd) noexcept nogil
cdef int64_t open_marks_at(SeqArena a, uint32_t t, int64_t g) except -1
cdef bint leaves_open(SeqArena a, lc_id start, uint32_t x) noexcept nogil
# seq/drop.pxi
cdef int drop_atoms(SeqArena a, uint32_t peer, int32_t cut, list joins=*) except -1
cdef int rejoin_spans(SeqArena a, list joins) except -1
cdef int drop_trees(SeqArena a, uint32_t n_trees) except -1
# seq/bulk.pxi
cdef int bulk_fill(SeqArena a, uint32_t t, const lc_span *spans, int64_t n) except -1
