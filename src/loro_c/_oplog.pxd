cimport cython
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t
from loro_c._seq cimport lc_id
from loro_c._kinds cimport LC_OP_INSERT, LC_OP_DELETE, LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER

cdef extern from "loro_c/oplog.h":
    enum:
        LC_STAGED_DEAD
        LC_STAGED_DONE

    ctypedef struct lc_op:
        uint32_t container
        uint32_t kind
        int32_t counter
        int32_t len
        int64_t pos
        int64_t arg
        lc_id start_id
        double delta

    ctypedef struct lc_change:
        uint32_t peer
        int32_t counter
        int32_t end
        uint32_t lamport
        int64_t timestamp
        int64_t deps_off
        int64_t ops_off
        uint32_t deps_len
        uint32_t ops_len
        int32_t msg

    enum:
        LC_SIDE_TARGET
        LC_SIDE_TRACKER
        LC_WALK_TOUCHED
        LC_WALK_RETREAT

    ctypedef struct lc_walk_step:
        int64_t key
        int64_t change
        uint32_t peer
        int32_t counter
        uint32_t side

    ctypedef struct lc_move:
        uint32_t peer
        int32_t old_end
        int32_t new_end

    ctypedef struct lc_walk_peer:
        int32_t cov
        int32_t low_target
        int32_t low_tracker
        uint32_t flags

    ctypedef struct lc_staged:
        uint64_t sort_peer
        uint32_t peer
        int32_t counter
        int32_t end
        uint32_t lamport
        int64_t timestamp
        int64_t deps_off
        int64_t ops_off
        uint32_t deps_len
        uint32_t ops_len
        int32_t msg
        uint32_t flags

    ctypedef struct lc_group:
        int32_t counter
        int32_t end
        uint32_t lamport
        int32_t msg
        int64_t timestamp
        int64_t deps_off
        uint32_t deps_len

    ctypedef struct lc_group_list:
        lc_group *items
        int64_t len, cap
        int64_t block_size
        lc_op last_op
        int32_t has_last_op

    ctypedef struct lc_group_undo:
        int64_t key
        int64_t len
        int64_t block_size
        int64_t n_gdeps
        int32_t end
        uint32_t peer
        lc_op last_op
        int32_t has_last_op

    ctypedef struct lc_key_slot:
        uint64_t head
        uint32_t hash
        uint32_t meta
    uint32_t LC_KEY_MAX

    int64_t LC_LSTR_MIN_CAP
    uint32_t LC_VAL_LOCAL, LC_VAL_IMPORTED
    bint lc_insert_is_text(const lc_op *op) noexcept nogil

    ctypedef struct lc_change_list:
        int64_t *idx
        int64_t len, cap


@cython.final
cdef class OpLog:
    """The history of one document: peer table, changes (with their deps), ops and frontiers.
    Python objects appear only per change (messages) and per value (list/map payloads)."""
    cdef uint64_t *peer_ids
    cdef uint32_t n_peers, cap_peers
    cdef dict peer_map              # u64 peer -> peer index
    cdef list peer_objs             # peer index -> the peer id as a Python int (built once)
    cdef int32_t *vv                # per peer index: exclusive end counter (open txn included);
                                    # every write goes through vv_touch (or truncate)
    # {peer id: end} of `vv`, refreshed on read from the peers whose end moved since (so
    # reading the version costs the peers that changed plus a dict copy); None: rebuild
    cdef dict vv_cache
    # version snapshots: a snapshot taken at epoch e is stale exactly for the peers whose
    # vv_epoch is above e (see LoroDoc.oplog_vv and export)
    cdef readonly uint64_t serial   # unique per log, names its snapshots
    cdef uint64_t vv_clock
    cdef uint64_t *vv_epoch
    cdef uint8_t *vv_stale          # per peer index: 1 while listed in vv_moved
    cdef uint32_t *vv_moved
    cdef int64_t n_vv_moved, cap_vv_moved
    cdef lc_walk_peer *wpeer        # walk scratch, one slot per peer index (reset after each walk)
    cdef lc_change_list *by_peer
    # a shallow document's trimmed history (None elsewhere): per peer index, the counters
    # [0, floor) that every version of the document holds and no change of the log covers
    cdef int32_t *floor
    cdef bint has_floor
    cdef lc_change *changes
    cdef int64_t n_changes, cap_changes
    cdef lc_op *ops
    cdef int64_t n_ops, cap_ops
    cdef lc_id *deps
    cdef int64_t n_deps, cap_deps
    # the version walk (walk_diff): its heap, the peers it touched, and the moves it found
    cdef lc_walk_step *wheap
    cdef int64_t n_wheap, cap_wheap
    cdef uint32_t *wtouched
    cdef int64_t n_wtouched, cap_wtouched
    cdef lc_move *moves
    cdef int64_t n_moves, cap_moves
    cdef int64_t w_live             # queued steps that keep the walk going
    cdef lc_id *frontiers
    cdef int64_t n_frontiers, cap_frontiers
    cdef int64_t *fmap              # loro's hash map of the frontiers (oplog/frontier_map.pxi)
    cdef int64_t fmap_n, fmap_items, fmap_growth
    cdef uint32_t next_lamport
    cdef list messages              # change message table
    cdef list values                # value slots of list inserts and map sets
    cdef list keys                  # map key table: index -> str
    cdef lc_key_slot *kslots        # key's UTF-8 -> index (oplog/key_table.pxi)
    cdef int64_t n_kslots
    # Loro's change grouping (lc_group in oplog.h): per peer index, its logical changes
    cdef lc_group_list *groups
    cdef int64_t n_groups           # logical changes of all peers
    cdef lc_id *gdeps
    cdef int64_t n_gdeps, cap_gdeps
    cdef lc_group_undo *gundo       # undo log of grouping steps (for failed imports)
    cdef int64_t n_gundo, cap_gundo

    cdef uint32_t peer_index(self, uint64_t peer) except? 0xFFFFFFFF
    cdef uint32_t key_index(self, str key) except? 0xFFFFFFFF
    cdef uint32_t key_index_utf8(self, const char *utf8, Py_ssize_t n) except? 0xFFFFFFFF
    cdef int64_t key_find(self, object key) except -2
    cdef int keys_truncate(self, Py_ssize_t n) except -1
    cdef lc_op* push_op(self) except NULL
    cdef int64_t find_change_pos(self, uint32_t peer, int32_t counter) noexcept
    cdef int64_t find_change(self, uint32_t peer, int32_t counter) noexcept
    cdef int64_t find_op(self, int64_t change, int32_t counter) noexcept
    cdef uint32_t lamport_of(self, lc_id id) noexcept
    cdef bint includes(self, lc_id id) noexcept
    cdef int vv_touch(self, uint32_t p) except -1
    cdef int set_floor(self, uint32_t p, int32_t end) except -1
    cdef dict vv_dict(self)
    cdef uint64_t vv_snapshot_epoch(self) noexcept
    cdef int _walk_touch(self, lc_walk_peer *w, uint32_t peer) except -1
    cdef int walk_push(self, uint32_t side, uint32_t peer, int32_t counter, const int32_t *tv) except -1
    cdef int64_t walk_diff(self, const int32_t *tv, const lc_id *tf, int64_t n_tf,
                           const lc_id *target, int64_t n_target) except -1
    cdef int64_t add_change(self, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                            int64_t timestamp, const lc_id *deps, uint32_t n_deps,
                            int64_t ops_off, uint32_t ops_len, int32_t msg) except -1
    cdef bint can_extend(self, uint32_t peer, int32_t counter, uint32_t lamport, int64_t timestamp,
                         const lc_id *deps, uint32_t n_deps, int64_t ops_off, object msg) noexcept
    cdef int extend_last_change(self, int32_t end, uint32_t n_ops) except -1
    cdef int closure(self, const lc_id *ids, int64_t n, lc_id extra, int32_t *out) except -1
    cdef int update_frontiers(self, const lc_id *deps, uint32_t n, lc_id last) except -1
    cdef list frontier_order(self)
    cdef int frontiers_loaded(self) except -1
    cdef int frontiers_loaded_then(self, list heads, dict ends) except -1
    cdef bytes fmap_save(self)
    cdef int fmap_restore(self, bytes saved) except -1
    cdef int truncate(self, int64_t n_changes, int64_t n_ops, const lc_id *frontiers,
                      int64_t n_frontiers, uint32_t next_lamport) except -1
    cdef int refresh_vv(self, uint32_t p) except -1
    cdef int drop_peers(self, uint32_t n_peers) except -1
    cdef int64_t find_group(self, uint32_t peer, int32_t counter) noexcept
    cdef int groups_rollback(self, int64_t mark) except -1
    cdef int group_undo_push(self, uint32_t peer, int64_t key) except -1
    cdef int group_add(self, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                       int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                       int64_t size, bint new_block, int64_t key) except -1
    cdef int group_extend(self, uint32_t peer, int32_t end, int64_t size, int64_t key) except -1


cdef inline int slice_op(lc_op *op, int32_t cut) noexcept:
    """Drop the first `cut` atoms of an op (the receiver already has them)."""
    if op.kind == LC_OP_INSERT:
        op.pos += cut
        op.arg += cut
        if not lc_insert_is_text(op):
            # a list insert's values in Loro's value arena; a text insert's start in Loro's
            # string arena moves by bytes, which the caller adds
            op.start_id.counter += cut
    elif op.kind == LC_OP_DELETE:
        if op.arg > 0:
            # a forward delete's remaining targets start where the first ones were
            op.arg -= cut
            op.start_id.counter += cut
        else:
            # a backward delete's first atoms removed its rightmost targets
            op.pos -= cut
            op.arg += cut
    op.counter += cut
    op.len -= cut
    return 0


cdef inline bint merge_ops(lc_op *a, const lc_op *b) noexcept:
    """Fold op `b` into op `a` when `b` continues it exactly as one longer op would (the same
    rule loro uses when it merges ops): an insert typed right after the previous one, a
    forward delete repeated at the same position, or a backspace run."""
    cdef int32_t a_start
    if a.container != b.container or a.kind != b.kind or a.counter + a.len != b.counter:
        return False
    if a.kind == LC_OP_INSERT:
        # Loro folds inserts whose content is adjacent in its arena (and, for text, in one
        # buffer of it: start_id.peer names the buffer; see LC_LSTR_MIN_CAP in oplog.h)
        if b.pos != a.pos + a.len or b.start_id.peer != a.start_id.peer:
            return False
        if a.start_id.peer == LC_VAL_IMPORTED:
            # imported inserts fold where _import.place_held_fold found that Loro folds
            # them (start_id.counter -1: the slots before b's values hold a's), or a
            # one-value op and the insert whose values follow it
            if b.start_id.counter != -1 and (a.len != 1 or b.arg != a.arg + 1):
                return False
            a.arg = b.arg - a.len
        elif (b.arg != a.arg + a.len
                or b.start_id.counter != <int32_t>(<int64_t>a.delta & 0x7FFFFFFF)):
            return False
        a.len += b.len
        a.delta = b.delta
        return True
    if a.kind != LC_OP_DELETE or b.start_id.peer != a.start_id.peer:
        return False
    if a.arg > 0 and b.arg > 0 and b.pos == a.pos and b.start_id.counter == a.start_id.counter + a.len:
        a.len += b.len
        a.arg += b.arg
        return True
    a_start = <int32_t>(a.pos if a.arg > 0 else a.pos + a.arg + 1)
    if (b.len == 1 and (a.arg < 0 or a.len == 1) and b.pos + 1 == a_start
            and b.start_id.counter + 1 == a.start_id.counter):
        a.len += 1
        a.arg = -a.len
        a.start_id = b.start_id
        return True
    return False


cdef inline int32_t op_atoms(const lc_op *op) noexcept nogil:
    """The counters an op spans (a delete's length is signed; a map write, a counter step,
    a move... span one)."""
    return op.len if op.len > 0 else (-op.len if op.len < 0 else 1)


# The ops of one peer's counters [lo, hi), change by change: range_ops_start, then
# range_ops_next until it returns NULL (`change` is the change of the op it returned).
cdef struct lc_range_ops:
    uint32_t peer
    int32_t lo, hi
    int64_t pos             # the change's place in by_peer[peer] (-1: none left)
    int64_t k, k_end        # the next op and the end of the change's ops
    lc_change *change


cdef inline void range_ops_start(OpLog log, lc_range_ops *it, uint32_t p, int32_t lo,
                                 int32_t hi) noexcept:
    it.peer = p
    it.lo = lo
    it.hi = hi
    it.pos = log.find_change_pos(p, lo) if hi > lo else -1
    it.k = it.k_end = 0
    it.change = NULL


cdef inline lc_op *range_ops_next(OpLog log, lc_range_ops *it) noexcept:
    """The next op with a counter in [lo, hi), or NULL."""
    cdef lc_op *op
    while True:
        while it.k < it.k_end:
            op = &log.ops[it.k]
            it.k += 1
            if op.counter >= it.hi:
                it.k = it.k_end
                break
            if op.counter + op_atoms(op) > it.lo:
                return op
        if it.pos < 0 or it.pos >= log.by_peer[it.peer].len:
            return NULL
        it.change = &log.changes[log.by_peer[it.peer].idx[it.pos]]
        if it.change.counter >= it.hi:
            it.pos = -1
            return NULL
        it.pos += 1
        it.k = it.change.ops_off
        it.k_end = it.change.ops_off + it.change.ops_len
