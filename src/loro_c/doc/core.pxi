# The document's C state (its fields are declared once, in _doc.pxd): allocation, the one
# place every block is freed, the invariant checker and arena sizes. DocCore is the first
# base class of LoroDoc; the Python API is layered on it (doc/history.pxi, doc/exchange.pxi,
# _doc.pyx), and the engine's functions (doc/*.pxi, state/*.pxi) take the document itself.


cdef uint64_t random_peer() except? 0:
    """A random peer id (never 2**64 - 1, which Loro reserves)."""
    import random
    cdef uint64_t peer = random.getrandbits(64)
    while peer == 0xFFFFFFFFFFFFFFFF:
        peer = random.getrandbits(64)
    return peer


cdef class DocCore:
    """The C state of a LoroDoc (see LoroDoc)."""

    def __cinit__(self):
        self.deleted_roots = set()
        self.roots_due = set()
        self.styles = {}
        self.style_slots = []
        self.style_texts = []
        self.style_txn_texts = []
        self.text_styles = None
        self.vv_touches = []
        self.vv_loaded = None
        self.dag_cold = None
        self.vv_touch_peers = -1
        self.log = OpLog()
        self.seq = SeqArena()
        self.cids = []
        self.cid_index = {}
        self.lnum = {}
        self.lnum_pending = []
        self.lnum_rest = None
        self.cid_by_key = {}
        self.roots = []
        self.root_cache = {}
        self.local_update_subs = []
        self.next_msg = None
        self.ckind = NULL
        self.croot = NULL
        self.ctree = NULL
        self.ccounter = NULL
        self.tvv = NULL
        self.tracker_at_head = True
        self.tfront = NULL
        self.txn_deps = NULL
        self.staged = NULL
        self.sdeps = NULL
        self.maps = NULL
        self.pending_events = []
        self.merge_interval = 1000
        self.snap_blocks = None
        self.lstr_cap = LC_LSTR_MIN_CAP
        self.flushed_ops = self.flushed_text = self.flushed_changes = -1
        self.lstr_gen = self.buf_serial = 1
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError()
        # the semaphore starts taken: a waiter blocks on it until a release posts it
        PyThread_acquire_lock(self.lock, NOWAIT_LOCK)

    def __init__(self):
        self.peer = random_peer()

    def __dealloc__(self):
        cdef int64_t i
        free(self.ckind)
        free(self.sdirty)
        free(self.meta_q)
        free(self.croot)
        free(self.ctree)
        free(self.ccounter)
        free(self.tvv)
        free(self.tfront)
        free(self.dq)
        free(self.dq_flag)
        free(self.dq_deps)
        free(self.sfront)
        map_history_drop(self)
        free(self.hheads)
        free(self.hwrites)
        free(self.hdirty)
        free(self.txn_deps)
        free(self.staged)
        free(self.sdeps)
        free(self.map_journal)
        free(self.cimp_sum)
        free(self.cimp_set)
        free(self.ctouched)
        free(self.cshown)
        free(self.cimp_list)
        free(self.evlog.notes)
        for i in range(self.n_maps):
            lc_map_free(&self.maps[i])
        free(self.maps)
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

    def _lnum(self):
        """loro_c's model of loro's arena numbers: [(container id string, number)], by number,
        with the containers still waiting (lnum_rest) (for probes of the event order)."""
        lnum_flush(self)        # (the created tree nodes' meta maps noted but not numbered)
        lnum = self.lnum
        return ([(str(c), n) for c, n in sorted(lnum.items(), key=lambda x: x[1])],
                [str(c) for c in (self.lnum_rest or ())])

    def _stats(self):
        """Arena sizes of the sequence index and the log (for memory benchmarks)."""
        doc_acquire(self)
        try:
            st = self.seq.stats()
            st.update(changes=self.log.n_changes, ops=self.log.n_ops,
                      op_bytes=self.log.cap_ops * sizeof(lc_op), values=len(self.log.values),
                      pending=self.n_staged, pending_deps=self.n_sdeps, peers=self.log.n_peers,
                      keys=len(self.log.keys), key_slots=self.log.n_kslots, containers=self.n_containers,
                      state_rebuilds=self.n_rebuilds, import_unapplies=self.n_unapplies,
                      deferred_changes=self.n_deferred, deferred_slots=self.cap_dq,
                      style_memos=len(self.style_texts), style_walked=self.style_walked)
            return st
        finally:
            doc_release(self)

    def _loro_numbers(self):
        """Each container's number in loro's arena as loro_c models it (tests of event order)."""
        doc_acquire_value(self)     # (a state left encoded numbers its containers first)
        try:
            lnum_flush(self)
            lnum_settle(self)
            return dict(self.lnum)
        finally:
            doc_release(self)

    def _loro_waiting(self):
        """The containers loro's arena has not registered yet that a parse of their change
        blocks would register (doc/exchange.pxi lnum_rest), in order; None when none wait."""
        return None if self.lnum_rest is None else list(self.lnum_rest)

    def _frontiers_map_order(self):
        """The log's frontiers, (peer, counter), in the order loro's hash map of them yields
        them (oplog/frontier_map.pxi; loro's oplog_frontiers lists them so)."""
        doc_acquire(self)       # (a snapshot loaded lazily: its history read)
        try:
            return [(self.log.peer_ids[p], c) for p, c in self.log.frontier_order()]
        finally:
            doc_release(self)

    def _vv_map_order(self):
        """The peers of the log's version, in the order loro's hash map of it yields them
        (doc/history.pxi loro_vv_bytes; str() of loro's oplog_vv lists them so)."""
        doc_acquire(self)
        try:
            return vv_map_order(self)
        finally:
            doc_release(self)

    def _store_left_out(self):
        """The child containers a snapshot of this document leaves out because loro's
        state store never held them (state/snapshot.pxi note_store_entries), as strings."""
        return sorted(str(c) for c in self.unstored or ())

    def _check_invariants(self):
        """Run every structural checker (B-trees, tracker records, version bookkeeping).
        A document loaded from a snapshot's state is checked as it is (its history not
        imported: state/snapshot_load.pxi)."""
        doc_acquire_read(self)
        try:
            check_invariants(self)
            return True
        finally:
            doc_release(self)

    def _check_snapshot_entries(self):
        """The snapshot entries kept are the states encoded now (check_snapshot_entries,
        one of _check_invariants' checks)."""
        doc_acquire_read(self)
        try:
            check_snapshot_entries(self)
            return True
        finally:
            doc_release(self)


cdef int check_invariants(LoroDoc d) except -1:
    """Run every structural checker (B-trees, map tables, the tracker, the log, change
    grouping); AssertionError on the first violation."""
    cdef int64_t i
    for i in range(d.n_containers):
        state_check(d, <uint32_t>i)
    check_snapshot_entries(d)   # state/snapshot.pxi
    check_text_backing(d)       # state/text_backing.pxi
    ml_check_walks(d)           # state/movable_local.pxi
    ml_check_pointed(d)         # state/movable_list.pxi
    ml_check_ix(d)              # state/movable_list.pxi
    check_liveness(d)           # doc/liveness.pxi
    if d.thin_blob is not None:
        return 0        # no log yet: only the states (state/snapshot_load.pxi)
    ensure_tvv(d)
    if d.detached:
        check_detached_state(d)
    else:
        if not d.tracker_at_head:
            raise AssertionError("tracker is not at the document version")
        for i in range(d.log.n_peers):
            if d.tvv[i] != d.log.vv[i]:
                raise AssertionError("tracker is not at the document version")
    d.log._check(d.txn_open, d.self_idx, d.txn_counter)
    check_groups(d)
    d.log._check_walks(64, not d.txn_open)
    return 0
