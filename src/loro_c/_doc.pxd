from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t
from loro_c._seq cimport SeqArena, lc_id, grow
from loro_c._oplog cimport (OpLog, lc_op, lc_staged, LC_VAL_LOCAL, LC_VAL_IMPORTED, LC_OP_INSERT,
                            LC_OP_DELETE, LC_OP_COUNTER)
from loro_c._version cimport VersionVector

cdef extern from "pythread.h":
    ctypedef void *PyThread_type_lock
    PyThread_type_lock PyThread_allocate_lock()
    void PyThread_free_lock(PyThread_type_lock)
    int PyThread_acquire_lock(PyThread_type_lock, int mode) nogil
    void PyThread_release_lock(PyThread_type_lock) nogil
    unsigned long PyThread_get_thread_ident() nogil
    enum:
        WAIT_LOCK
        NOWAIT_LOCK

cdef extern from "loro_c/lock.h":
    bint lc_lock_enter(long *count) nogil
    bint lc_lock_leave(long *count) nogil

# Scratch size for converting short strings without a heap allocation.
cdef enum:
    STACK_CPS = 64
    # a change with at least this many ops is integrated with the GIL released
    NOGIL_MIN_OPS = 32
    # a tracker move over at least this many atoms runs with the GIL released
    NOGIL_MIN_MOVED = 256

cdef uint32_t* str_to_cps(str s, uint32_t *stack, Py_ssize_t n) except NULL

cdef extern from "loro_c/map.h":
    enum:
        LC_NO_KEY
    ctypedef struct lc_map_entry:
        uint32_t key
        uint32_t lamport
        uint32_t peer
        int64_t slot
    ctypedef struct lc_map:
        lc_map_entry *entries
        uint32_t cap
        uint32_t n
        uint32_t live
    lc_map_entry *lc_map_find(const lc_map *m, uint32_t key) nogil
    lc_map_entry *lc_map_upsert(lc_map *m, uint32_t key) nogil
    void lc_map_set_slot(lc_map *m, lc_map_entry *e, int64_t slot) nogil
    uint32_t lc_map_count_live(const lc_map *m) nogil
    void lc_map_free(lc_map *m) nogil
    void lc_map_remove(lc_map *m, uint32_t key) nogil
    ctypedef struct lc_map_write:
        uint32_t lamport
        uint32_t peer
        int32_t counter
        int64_t slot
        int64_t prev
    ctypedef struct lc_map_undo:
        uint32_t map
        uint32_t key
        uint32_t lamport
        uint32_t peer
        int64_t slot
        uint32_t existed

cdef extern from "loro_c/events.h":
    enum:
        LC_EV_INSERT
        LC_EV_DELETE
        LC_EV_MAP
        LC_EV_COUNTER
        LC_EV_MARK
        ML_HINT_INSERT
        ML_HINT_DELETE
        ML_HINT_MOVE
        ML_HINT_SET
    ctypedef struct lc_ev_note:
        uint32_t container
        uint32_t kind
        uint32_t peer
        int32_t counter
        int32_t len
        uint32_t key
        double delta
        int64_t old
    ctypedef struct lc_ev_log:
        lc_ev_note *notes
        int64_t n, cap
        int on
        int hooks
    int lc_ev_push(lc_ev_log *l, uint32_t container, uint32_t kind, uint32_t peer,
                   int32_t counter, int32_t len, uint32_t key, double delta, int64_t old) nogil

# Whether a container is a root and shown by get_value (loro lists a root once the user has
# fetched it, an applied op has touched it, or an all-pending import named it).
cdef enum:
    ROOT_NONE = 0
    ROOT_HIDDEN = 1
    ROOT_SHOWN = 2
    ROOT_DUE = 3        # hidden; an import touched it while detached: listed at the next checkout
    ROOT_MERGEABLE = 4  # a mergeable child (root name "🤝:..."): never listed; shown by its parent

# Container kinds (Loro's raw type bytes), re-exported from their one place (kinds.h).
from loro_c._kinds cimport KIND_MAP, KIND_LIST, KIND_TEXT, KIND_TREE, KIND_MOVABLE_LIST, KIND_COUNTER
from loro_c._kinds cimport LC_OP_MARK_START, LC_OP_MARK_END
from loro_c._kinds cimport LC_OP_TREE, LC_TREE_PARENT_ROOT, LC_TREE_PARENT_DELETED


# Loro's MAX_BLOCK_SIZE: a change joins its peer's last block while the block's estimated
# storage size stays within this many bytes.
cdef enum:
    MAX_BLOCK_SIZE = 4096


# A piece of a change too big for one block, while it is being cut (doc/grouping.pxi).
ctypedef struct lc_piece:
    int32_t start, pos              # atoms [start, pos) so far
    int64_t size                    # estimated size of its ops
    int64_t n                       # its ops
    int64_t first_size              # size of its first op
    int64_t est                     # Loro's running estimate while cutting
    bint first_joins                # its first op folds into the op before it
    bint first_piece


# A walk over one peer's ops in atoms [a, b), across its op records, yielding the ops cut to
# the range and folded together where Loro holds them as one op (merge_ops).
ctypedef struct lc_walk:
    uint32_t peer
    int64_t j                       # position of the current record in the peer's list
    int64_t i, end_i                # arena ops of the current record still to read
    int32_t a, b                    # the atom range
    bint have
    lc_op cur


cdef class DocOps:
    cdef LoroDoc doc
    cdef lc_walk w
    cdef int32_t a, b               # the atom range
    cdef Py_ssize_t n_arena_ops     # arena ops overlapping [a, b)
    cdef bint next_op(self, lc_op *out) noexcept


# A change an import has logged and whose ops wait to apply (doc/deferred.pxi): its ops, id,
# Lamport and deps (`deps_off` into LoroDoc.dq_deps).
ctypedef struct lc_deferred:
    int64_t ops_off
    int64_t deps_off
    uint32_t ops_len
    uint32_t deps_len
    uint32_t peer
    uint32_t lamport
    int32_t counter
    int32_t end


# -- MovableList state (state/movable_list.pxi) ----------------------------------------------
# An element (one per inserted value) and the last-writer-wins winners of its position (the
# list item, named by its value slot) and of its value, by (Lamport, peer id).
ctypedef struct lc_ml_elem:
    uint32_t container
    uint32_t peer               # creator (peer index) and Lamport: the element's IdLp
    uint32_t lamport
    int32_t counter             # its insert atom (a child container it holds is named by it)
    int64_t pos_slot            # winning list item (-1: none in the state's version)
    uint32_t pos_lamport, pos_peer
    int64_t val_slot            # winning value (-1: none in the state's version)
    uint32_t val_lamport, val_peer
    int32_t pos_counter         # the winning list item's atom is (pos_peer, pos_counter)


# -- where the characters of texts' states lie in loro's storage (state/text_backing.pxi) --------
ctypedef struct lc_backing_run:
    uint64_t peer               # ids [start, end) of a peer, of text `container`
    int64_t start
    int64_t end
    int64_t offset              # buf 0: code points into the snapshot's string of the text;
    int64_t cidx                # else: byte offset of `start` in buffer `buf`, `cidx` its
    int64_t op_end              # code point in the content arena, `op_end` its op's end record
    uint32_t buf                # (lstr_place: end offset, bit 31 a blob's op)
    uint32_t container


# What a text's StyleMemo is of (state/richtext.pxi)
cdef enum:
    STYLE_NONE = 0      # it keeps no style map elements
    STYLE_OPEN = 1      # a local op is applying itself to them (or failed doing so)
    STYLE_TXN = 2       # the state after the ops of the open transaction
    STYLE_STATE = 3     # the state after a move, import or commit


cdef class StyleMemo:
    # loro's style map elements of one text (loro_c.rich_checkout.Elements; None: unknown,
    # guessed when needed), the moves of the state waiting to be replayed on them (the runs
    # of each), and the state they are of (`kind`): the epoch of the state's moves and,
    # for STYLE_TXN, the open transaction (peer index, first counter) or, for STYLE_STATE,
    # the log's frontiers then (`heads`, in their order)
    cdef int kind
    cdef uint32_t epoch
    cdef uint32_t txn_peer
    cdef int32_t txn_counter
    cdef lc_id *heads
    cdef int64_t n_heads, cap_heads
    cdef object elems
    cdef list pending
    # the run of local commits (LoroDoc.style_chain) it was of the state in, 0: none; it
    # stays of the state through the commits of that run that leave its text alone
    cdef uint64_t chain


cdef class TextBacking:
    cdef lc_backing_run *runs       # sorted by (peer, start), owned
    cdef int64_t n, cap
    cdef list pending               # container, peer ids, packed runs, ... (flat) of loads, read at first use
    cdef bytes frozen_vv            # the log's version (int32 per peer index) at the last freeze
    cdef dict loaded_vv             # {peer id: end}: a load's runs hold its state's characters
    cdef bint revived               # a checkout brought characters back since then
    cdef int ready(self) except -1
    cdef TextBacking copy(self)
    cdef int add(self, uint32_t c, uint64_t peer, int64_t start, int64_t n, int64_t offset) except -1
    cdef int finish(self) noexcept
    cdef int64_t first_after(self, uint64_t peer, int64_t counter, int64_t hi) noexcept
    cdef int unback(self, uint64_t peer, int64_t lo, int64_t hi, const uint32_t *text) except -1
    cdef int64_t cut(self, uint64_t peer, int64_t counter, int64_t n, int64_t *run) except -1
    cdef void bounds(self, const uint32_t *text, int64_t i, int64_t counter, int64_t n,
                     int64_t *out) noexcept


cdef class MovableState:
    cdef lc_ml_elem *elems
    cdef int64_t n_elems, cap_elems
    cdef int64_t *slot_elem         # value slot of a list item -> its element (-1: none)
    # value slot of a list item -> 1 when its element stands on it (is its pos_slot), so an
    # import's snapshot walks the list without reading elements (ml_snap, lazily)
    cdef uint8_t *pointed
    cdef int64_t cap_slot
    cdef int64_t n_lazy             # `before` entries kept lazily (MLBefore.lazy)
    # (peer index << 32 | Lamport) -> element, for elements 0..n_indexed-1: the rest are
    # added when something looks one up (ml_elem_lookup), so a load builds no entry per
    # element. In C (open addressing, linear probes): the first look-up after an import of
    # thousands of elements fills it in a few microseconds, where a dict entry each cost
    # more than the import itself; the keys beside the elements (-1: free), so a probe
    # reads no element
    cdef uint64_t *ix_keys
    cdef int32_t *ix_slots
    cdef int64_t ix_size            # a power of two, more than twice n_indexed (0: none yet)
    cdef int ix_shift               # 64 - log2(ix_size): the hash's bits kept (ml_ix_home)
    cdef int64_t n_indexed
    cdef int64_t ix_gen             # bumped when ml_clear empties the elements (MLBefore.elem_gen)
    cdef bint dirty                 # a checkout moved movable ops: recompute the winners
    cdef int64_t reset_epoch        # the rebuild that last emptied it
    cdef dict before                # events: container -> its items before the batch
    # container -> list items (peer index << 32 | counter) that may be visible with no
    # element on them; while LoroDoc.cshown marks the container, every such item is listed
    # (concurrent moves of one element leave them; ml_unpointed_known)
    cdef dict unp
    cdef dict calc_keys             # container -> the elements loro's checkout calculator noted
    cdef list calc_walks            # every state move's (from, to) frontiers, for calc_keys
    # the user view of one container (ml_view_build), kept while it stays valid: local moves
    # and inserts update it in place, any other change of that container drops it
    cdef int64_t vc_container       # -1: none
    cdef int32_t *vc_op             # (32-bit, as ml_view's: a move shifts fewer bytes)
    cdef int32_t *vc_elem
    cdef int64_t vc_cap, vc_n_user, vc_n_op


cdef class LazyMaps:
    # the maps of a deferred snapshot state left encoded (state/snapshot_load.pxi): by
    # container index, the encoded entry and where its state starts, (entry, position), or
    # None (not a map left encoded, or built since); a list, not a dict: one slot per
    # container instead of an int and a hash entry for each of the thousands of records
    cdef list payloads
    cdef Py_ssize_t n               # how many are still encoded
    cdef object get(self, uint32_t c)
    cdef bint has(self, uint32_t c) noexcept
    cdef int put(self, uint32_t c, object payload) except -1
    cdef int drop(self, uint32_t c) except -1
    cdef int reserve(self, Py_ssize_t size) except -1
    cdef list indices(self)
    cdef list entries(self)


# The document's C state; LoroDoc is this class with the Python API layered on it:
# DocCore (doc/core.pxi) <- DocHistory (doc/history.pxi) <- DocExchange (doc/exchange.pxi)
# <- LoroDoc (_doc.pyx). Everything else types the document as LoroDoc.
cdef class DocCore:
    cdef OpLog log
    cdef SeqArena seq
    cdef uint64_t peer
    cdef uint32_t self_idx          # our peer index while a transaction is open
    # containers, by index
    cdef list cids                  # ContainerID
    cdef dict cid_index             # ContainerID -> index
    cdef dict lnum                  # ContainerID -> its number in loro's arena (hash_order)
    cdef list lnum_pending          # children an import created, numbered once it is applied
    cdef list lnum_rest             # a loaded snapshot's other history containers: numbered at the next checkout
    cdef int64_t *meta_q            # tree nodes created whose meta map loro numbers then:
    cdef int64_t meta_n, meta_cap   # (peer, counter, place in lnum_pending or -1) triples (lnum_flush)
    cdef bint lnum_lazy             # some containers are not numbered yet (a snapshot loaded lazily)
    cdef bint lnum_visited          # since that load, loro's history cache visited every change block
    cdef int checkout_parses_all    # the checkout just made parses every change block, and how (doc/checkout.pxi)
    cdef list lazy_roots            # the lazily loaded state's roots, numbered when first listed
    cdef object lazy_first          # (snapshot, numbers before it): its frontier blocks' containers, numbered when read
    cdef dict cid_by_key            # (name, kind) / (peer, counter, kind) -> the registered ContainerID
    cdef list roots                 # indices of the root containers shown in values, in order shown
    cdef uint8_t *croot             # per container: ROOT_NONE, ROOT_HIDDEN, ROOT_SHOWN or ROOT_DUE
    cdef dict root_cache            # (name, kind) -> (ContainerID, index) of roots asked for by name
    cdef lc_map *maps               # last-writer-wins state of each Map (index in ctree)
    cdef int64_t n_maps, cap_maps
    cdef uint8_t *ckind
    cdef uint32_t *ctree            # sequence tree of a Text/List
    cdef double *ccounter           # value of a Counter
    cdef int64_t n_containers, cap_containers
    # the tracker version: dense (end counter per peer index, for membership tests and
    # moves), and as the ids whose closure it is (the log's frontiers while at the head)
    cdef int32_t *tvv
    cdef int64_t tvv_cap
    cdef bint tracker_at_head
    cdef lc_id *tfront
    cdef int64_t n_tfront, cap_tfront
    # an import's changes whose ops apply once the import has logged them (doc/deferred.pxi),
    # their deps, and how far each got (DQ_QUEUED, DQ_STARTED, DQ_APPLIED)
    cdef lc_deferred *dq
    cdef uint8_t *dq_flag
    cdef int64_t n_dq, cap_dq, cap_dq_flag
    cdef lc_id *dq_deps
    cdef int64_t n_dq_deps, cap_dq_deps
    # the open transaction
    cdef bint txn_open
    cdef int32_t txn_counter
    cdef uint32_t txn_lamport
    cdef int64_t txn_ops_off
    cdef int64_t txn_merge_floor    # ops at or after this index may be extended by new ops
    cdef lc_op txn_base_op          # the previous change's last op as it was at txn open
    cdef lc_id *txn_deps
    cdef int64_t n_txn_deps, cap_txn_deps
    # txn_deps in the order of loro's map of them (its state's frontiers, which the change
    # takes as its deps), (peer index, counter); None for fewer than two (doc/order.pxi)
    cdef list txn_deps_order
    cdef object next_msg
    cdef object next_ts             # timestamp of the next commit (int), else None
    cdef bint record_ts             # stamp commits with the current time (set_record_timestamp)
    # decoded changes not applied yet: during an import, then the pending ones (at the front)
    cdef lc_staged *staged
    cdef int64_t n_staged, cap_staged
    cdef lc_id *sdeps               # their dependencies
    cdef int64_t n_sdeps, cap_sdeps
    cdef list local_update_subs     # _Subscriber entries of subscribe_local_update
    # Every public method runs holding the document lock (see doc_acquire): `lock_count`
    # is its atomic fast path (lock.h), `lock` the semaphore its waiters block on, and
    # `lock_owner` the thread holding it, so that a re-entrant call from that thread fails
    # instead of deadlocking.
    cdef long lock_count
    cdef PyThread_type_lock lock
    cdef unsigned long lock_owner
    # local-update blobs waiting for delivery after the call that made them (under `lock`),
    # and the thread delivering them (0: none), so that one thread delivers in order
    cdef list pending_events
    cdef unsigned long deliverer
    cdef object import_run          # the _import.ImportRun of the import in progress, else None
    # While an import applies, every in-place write to map and counter state is journaled so
    # that a rejected import can be undone without replaying the log (see _import.undo).
    cdef bint journal_on
    cdef lc_map_undo *map_journal
    cdef int64_t n_map_journal, cap_map_journal
    # Counter ops of an import are summed apart (like loro: the import's sum of deltas, in
    # apply order, is added to the value at the end), so a rejected import touches no value.
    cdef double *cimp_sum            # per container: this import's sum of deltas
    cdef uint8_t *cimp_set       # per container: listed in cimp_list
    cdef uint32_t *cimp_list
    cdef int64_t n_cimp, cap_cimp
    # set just before apply raises for an op that does not fit the document (nothing of that
    # op was applied), so that the import's undo may retreat instead of rebuilding
    cdef bint apply_rejected
    cdef int64_t n_rebuilds         # full state rebuilds (a rejected import should need none)
    cdef int64_t n_unapplies        # rejected imports undone in place after applying some ops
    cdef int64_t n_deferred         # changes whose ops applied from the queue (doc/deferred.pxi)
    # loro's root-listing options of get_deep_value: roots cleared by delete_root_container
    # are left out while they stay cleared; with hide_empty_roots, empty roots are too
    cdef set deleted_roots
    # doc/liveness.pxi: containers reachable from a root as of op count alive_ops (or None)
    cdef set alive_known
    cdef int64_t alive_ops
    cdef int64_t alive_tail_len     # the length of op alive_ops - 1 then (delete runs grow)
    cdef int64_t alive_last         # the container last found in it (C check, no set lookup)
    cdef bint hide_empty_roots
    cdef object pending             # the _import.PendingIndex over the pending records
    # diff events (_events.pyx, events.py): the journal of applied ops while someone
    # subscribes, the subscriber registry (events._DocEvents or None), the next commit's origin
    cdef lc_ev_log evlog
    cdef object evs
    cdef object next_origin
    # while the registry is set, loro's style map elements of texts (state/richtext.pxi):
    # a StyleMemo by container index (None where a text never kept any, or past the end)
    # and the containers that have one
    cdef list style_slots
    cdef list style_texts
    # (history epoch, frontiers as a frozenset of (peer id, counter)) of the state a
    # snapshot load left, until the first journaled import, move or local edit of a
    # marked text takes loro's loaded elements from it (style_load_memos); else None
    cdef object style_loaded
    # the run of local commits since the log last moved otherwise (0: none yet): its id,
    # the log's frontiers after its last commit (bytes of lc_id), and the texts whose
    # elements the open transaction's ops keep (a commit stamps those, not every text)
    cdef uint64_t style_chain
    cdef bytes style_chain_heads
    cdef list style_txn_texts
    cdef int64_t style_walked       # the memos commits looked at, in all (_stats, tests)
    # Loro's change grouping (doc/grouping.pxi)
    cdef int64_t merge_interval     # seconds; local changes this close merge (Loro's default 1000)
    cdef int64_t snap_lo, snap_hi   # staged records of a snapshot into an empty doc: blocks kept
    cdef dict snap_blocks           # peer id -> byte size of its last block in that snapshot
    # the change blocks loro keeps apart (codec/snapshot.pxi, doc/grouping.pxi): peer id ->
    # the counters where its blocks start, from a snapshot loaded into an empty document and
    # each block an import started since; the peers whose last block loro holds encoded
    # only (not parsed since the load), whose next change starts a block of its own; and
    # whether the change being grouped starts one
    cdef dict kept_blocks
    cdef set cold_peers
    cdef bint cold_cut
    cdef set snap_roots             # while a snapshot loads into an empty document: the roots
                                    # its state section names (codec/blob.pxi)
    # a snapshot loaded from its state section (state/snapshot_load.pxi): the blob whose
    # history is not imported yet (None once materialized), the value slots before it, and
    # whether the materializing import runs (it loads into the thin containers as if fresh)
    cdef object thin_blob
    # Text containers whose tree is not built yet: index -> (its str, peers, packed runs,
    # UTF-8 bytes); reads of the whole value take the str, anything else builds the trees
    cdef dict thin_texts
    # the ids of texts whose state loro decoded from a snapshot still in that string (None:
    # none; one for all texts: ids are unique across containers)
    cdef TextBacking text_backing
    cdef dict thin_vv               # the snapshot's version ({peer: end}) and frontiers
    # loro's version hash map grows when a local op updates it while full (hashbrown reserves
    # a slot before every insert, even of a key it holds): the number of peers it held at
    # each such local op (JSON exports list equal-Lamport changes in its order,
    # hash_order.vv_iteration_order), and the peer count last looked at
    cdef list vv_touches
    # the peers a snapshot load put in loro's version map, in the order of the snapshot's
    # "vv" entry (loro fills the map as it decodes it), or None (by first change)
    cdef list vv_loaded
    # after a snapshot load into an empty document, the peers ({peer id: end}) whose change
    # blocks loro's DAG has not read yet (it reads a peer's block when it first looks up one
    # of its ids): its nodes are split only where a read change depends on them, which a
    # causal walk's order can show (_dag_order.cold_view); None: all read, or not modelled
    cdef dict dag_cold
    cdef int64_t vv_touch_peers
    cdef object thin_fr             # (sorted (peer, counter) ids), answered while thin
    cdef tuple thin_roots           # the roots listed at the load (its snapshot export: the blob)
    cdef bint thin_relisted         # a shallow export made maps the loaded state did not list
    cdef int64_t thin_values0
    cdef uint32_t thin_peers0       # the log's peers and map keys before it (the state
    cdef int64_t thin_keys0         # registers its own; the history registers them anew)
    cdef bint thin_materializing
    # the snapshot whose state section an import checked whole and left encoded: decoded
    # (thin_load) when the document is first locked for anything but its snapshot export
    # and version (state/snapshot_load.pxi thin_defer), as loro decodes a state when read
    cdef object thin_pending
    # its lists, which the import's check decoded ({state key: row}; codec ListCheck), or None
    cdef dict thin_pre
    # its SSTable's blocks as the import's check decompressed them (codec state_section_ok),
    # read by thin_build_pending instead of decompressing them again; None after it
    cdef list thin_bodies
    # the maps of a deferred state not read since (thin_build_pending): index -> (encoded
    # entry, where its state starts); None when none is left
    cdef LazyMaps thin_lazy
    # the child maps of that state not registered yet (codec LazyChildren: C records of
    # where their entries lie), registered when first named (thin_register_listed) or all
    # at once before anything reads more than a few maps (thin_register_rest); None when
    # none is left. thin_lazy is never None while this is not
    cdef object thin_unreg
    # the item values of the lists that load built while thin_unreg held child maps (one
    # list per List or MovableList): the children they name register when first named
    # (cid_lookup, wrap_value), or all at once with the rest (thin_register_all), not at
    # the load; None when none is left. thin_lazy is never None while this is not
    cdef list thin_list_kids
    # during one get_deep_value: the keys present of the maps still encoded, decoded once
    # for both its numbering walk and its value (state/map.pxi lazy_map_live); else None
    cdef dict lazy_live
    # (with it: the maps among them whose keys hold a child container)
    cdef set lazy_holders
    # (with it: the values of the lists the numbering walk read that hold no child, by
    # container; the read takes each from here instead of reading it again)
    cdef dict deep_plain
    # during one deep read (value_of): how many containers deep it is in the C stack, and
    # the children past DEEP_READ_FRAMES left as empty dicts/lists to fill once the read
    # is back at the top ([(placeholder, container)]), so no nesting overflows the C stack
    cdef int deep_frames
    cdef list deep_deferred
    # the keys of the maps still encoded that LoroMap.get read ({map: {key: value}}; a map's
    # dropped when it is built): one decode for any number of gets
    cdef dict lazy_keys
    # the keys of the maps still encoded that LoroMap.get_value read, in key order, their
    # children not looked up ({map: {key: value}}; dropped with lazy_keys' entry): a
    # shallow value shows a child's id and a marker's bytes as the entry holds them
    cdef dict lazy_vals
    # how many of LoroMap.get's reads found their key in an encoded map's entry without
    # decoding its other keys ({map: count}; lazy_map_key_locked): a few per map, then the
    # keys are decoded once (lazy_keys), so a loop of gets stays linear. None when unused
    cdef dict lazy_scans
    # the answer lazy_map_key_locked hands to its caller (held only until it takes it)
    cdef object lazy_got
    # thin_load registers a state's containers without numbering them (it renumbers after)
    cdef bint lnum_hold
    # a shallow document (doc/shallow.pxi): the shallow root's version without its own ops
    # ({peer id: counter}, None when the whole history is kept) and frontiers, the root's
    # version by peer index (its ops are in the log but their effect is the base state's),
    # the base state's rows (a rebuild starts from them) and the import loading the root
    cdef dict shallow_sv
    cdef list shallow_sf
    cdef dict shallow_base
    cdef dict shallow_map_base      # (map, key index) -> (Lamport, peer index, slot) at the root
    cdef dict shallow_parents       # child container id -> (parent index, op kind, key index) at the root
    cdef list shallow_ml            # MovableList base states: (container, payload, first slot)
    cdef dict shallow_trees         # tree base states: container -> rows
    cdef list shallow_sf_idx        # the root's ids as (peer index, counter)
    cdef bytes shallow_root_state   # the root state section as imported (exports reuse it)
    cdef list shallow_rows
    cdef bint shallow_loading
    # Loro's content arenas, as far as they decide which inserts fold (oplog.h, LC_LSTR_MIN_CAP)
    cdef int64_t lstr_len, lstr_cap # the string arena's bytes and current buffer's capacity
    cdef uint32_t lstr_gen          # the current buffer's number (text buffers are numbered from 1)
    cdef uint32_t buf_serial        # the last buffer number given out
    cdef int64_t flushed_ops, flushed_text, flushed_changes   # the log as lstr_flush left it
    cdef dict flushed_vv            # peer -> its counter end then (lstr_flush, note_blocks_flushed)
    cdef dict joined_parsed         # peer -> the counter number_joined_block read its block to
    cdef tuple snapshot_cache       # (document stamp, the last snapshot export's bytes)
    # each container's state entry as the last snapshot export wrote it (state/snapshot.pxi
    # snapshot_state_entries): (key, ContainerWrapper bytes) by container index, None where
    # none is kept; the list None after a change that is not an op of one container (a
    # checkout, a rebuild, an undone import: snap_forget). `sdirty[c]` (c < n_sdirty) marks a
    # container whose state changed since its entry was kept: the one flag an op sets
    cdef list snap_entries
    cdef uint8_t *sdirty
    cdef int64_t n_sdirty
    cdef list snap_listed           # the containers that export listed, in order
    cdef list snap_order            # its entries' positions in key order
    cdef dict snap_meta             # tree container -> its meta maps' entries for snap_listed
    cdef bytes snap_listing         # snap_listed as one byte per container (1: listed)
    cdef list snap_result           # that export's entries in key order, as returned
    cdef dict snap_pos              # container -> the place of its entry in snap_result
    # the blob of a loaded snapshot whose history was replayed (thin_materialize): its state
    # entries are the kept entries of the containers `sdirty` has not marked since, taken
    # at the next export (state/snapshot.pxi seed_loaded_entries); None after snap_forget
    cdef bytes snap_seed
    # the change blocks of the snapshot this document's history was loaded from, as loro's
    # change store keeps them until their peer adds a change (an export writes such a block
    # as loaded): (the log's serial, the snapshot blob, or once read {(peer, first counter):
    # (end counter, bytes)}); None when nothing was loaded
    cdef object loaded_blocks
    # state/snapshot.pxi note_store_entries: child containers loro's state store never held
    # (ids, left out of a snapshot's state), and the containers already looked at
    cdef set unstored
    cdef int64_t store_seen
    # the containers a snapshot's state registered (thin_load): listed by that state, so in
    # loro's store; note_store_entries skips them without looking their ids up
    cdef int64_t thin_listed_lo, thin_listed_hi
    # (and those registered from it later: [lo, hi) index ranges, in order, or None)
    cdef list thin_listed_more
    # the snapshot this document was loaded from: [its version {peer: end}, the blob, the
    # ids its state lists (read when first needed)]; its containers, registered lazily, are
    # in the store when listed
    cdef list loaded_store
    cdef dict metas_ensured         # peer -> counter end: tree nodes below it have meta maps (tree_ensure_at)
    cdef int64_t lval_len           # the value arena's length
    cdef bint in_blob               # while a binary blob is staged (its text stays out of the arena)
    # time travel (doc/checkout.pxi): while detached, the state shows the closure of
    # `sfront` instead of the log's version
    cdef bint detached
    cdef bint detached_editing      # set_detached_editing: edits while detached branch off
    cdef set roots_due              # the containers marked ROOT_DUE
    cdef lc_id *sfront
    cdef int64_t n_sfront, cap_sfront
    # the state's frontiers (sfront, or the log's when attached) in the order loro's map of
    # them yields them, (peer index, counter), when it is not the log's own map; stale (and
    # ignored) once it holds other ids than the state's frontiers (doc/order.pxi)
    cdef list sf_order
    # the map writes of the log's first `hist_changes` changes (the last one with
    # `hist_last_ops` ops), gathered on the first checkout (state/map.pxi): `hwrites`, their
    # chains per key (`hheads`, one table per map), and the keys a checkout moves (`hdirty`,
    # map << 32 | key, deduplicated by marking their head with `hist_epoch`)
    cdef bint hist_on
    cdef lc_map_write *hwrites
    cdef int64_t n_hwrites, cap_hwrites
    cdef lc_map *hheads
    cdef int64_t n_hheads, cap_hheads
    cdef uint64_t *hdirty
    cdef int64_t n_hdirty, cap_hdirty
    cdef uint32_t hist_epoch
    cdef int64_t hist_changes
    cdef uint32_t hist_last_ops
    cdef MovableState mls           # MovableList elements (state/movable_list.pxi), made on first use
    # an import with subscribers keeps the movable lists and trees it touches as they
    # were, those with an index below snap_below (0: none), before its first change
    # applies (state/dispatch.pxi snapshot_touched); pending_touched: the movable lists and
    # trees the pending changes touch (None: none), each marked in ctouched (per container)
    cdef int64_t snap_below
    cdef set pending_touched
    cdef uint8_t *ctouched
    # per container: 1 for a movable list known to show every visible list item (no item
    # left visible that no element stands on, as two concurrent moves of one element
    # leave), whose import snapshot then reads nothing (state/movable_local.pxi
    # ML_LAZY_NONE); read by every remote move, so a byte, not a set
    cdef uint8_t *cshown
    # rich text (state/text.pxi): each mark op applied, by its start anchor's id (peer index
    # << 32 | counter) -> (key, value, info, lamport, peer id, end entity); the style
    # configuration (richtext.TextStyles)
    cdef dict styles
    cdef object text_styles
    # movable trees (state/tree.pxi): container index -> its TreeMoves (_tree.pyx), which
    # holds the moves outside the version shown too (left out); stale after an undone
    # import, then recomputed from the log when next read; container index -> whether
    # local moves generate fractional indexes
    cdef dict trees
    cdef bint trees_stale
    cdef dict tree_fi
    cdef dict tree_jitter           # tree container -> _tree.TreeJitter, once jitter was set
    cdef dict tree_ev               # events: tree -> how the batch found it (state/tree.pxi)
    # loro's hash map of each tree's nodes, for the order LoroTree.nodes() lists them:
    # tree container -> _tree.IdMap, advanced as the state changes (state/tree.pxi)
    cdef dict tree_maps
    # during an attached import: the tree containers it moved (each TreeMoves notes in
    # imp_start how many moves it held before), and the log's version before it ((vv
    # bytes, frontier id set)); else None
    cdef list tree_imp
    cdef object tree_imp_base
    # set while the state moves for a reading of another version (LoroDoc.diff, undo): not
    # a move of loro's state, so the maps of nodes stay as they are
    cdef bint tree_maps_quiet
    cdef object __weakref__


cdef class DocHistory(DocCore):
    pass


cdef class DocExchange(DocHistory):
    pass


cdef class LoroDoc(DocExchange):
    pass


# -- the document's functions that other modules call ---------------------------------------
# Each takes the document first; the bodies live in the doc/ and state/ parts that _doc.pyx
# includes (see ARCHITECTURE "The document"). Functions not declared here are private to it.

# registry (doc/registry.pxi)
cdef uint32_t container_index(LoroDoc d, object cid, int kind) except? 0xFFFFFFFF
cdef uint32_t container_register(LoroDoc d, object cid, int kind) except? 0xFFFFFFFF
cdef int show_root(LoroDoc d, uint32_t c) except -1
cdef int meta_queue(LoroDoc d, uint64_t peer, int32_t counter, int64_t at) except -1
cdef int lnum_flush(LoroDoc d) except -1
cdef int lnum_add(LoroDoc d, object cid) except -1
cdef int lnum_flush_marked(LoroDoc d) except -1
cdef uint32_t root_index(LoroDoc d, object name, int kind) except? 0xFFFFFFFF
cdef int ensure_tvv(LoroDoc d) except -1
# transactions (doc/txn.pxi)
cdef int commit_txn(LoroDoc d) except -1
# integration of remote changes (doc/integrate.pxi)
cdef int move_tracker_to_change(LoroDoc d, const lc_id *deps, int64_t n_deps, uint32_t peer,
                                int32_t counter) except -1
cdef int move_tracker_to_head(LoroDoc d) except -1
cdef int move_tracker_home(LoroDoc d) except -1
cdef int map_history_drop(LoroDoc d) noexcept
cdef int apply_change_ops(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                          int32_t counter, uint32_t lamport) except -1
cdef int rebuild_state(LoroDoc d) except -1
# an import's state application in a causal order that keeps the tracker's moves short
# (doc/deferred.pxi)
cdef bint change_deferrable(LoroDoc d, int64_t ops_off, uint32_t ops_len) noexcept
cdef int defer_change(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                      int32_t counter, int32_t end, uint32_t lamport, const lc_id *deps,
                      uint32_t n_deps) except -1
cdef int apply_deferred(LoroDoc d) except -1
cdef int deferred_unwind(LoroDoc d) except -1
cdef void deferred_release(LoroDoc d) noexcept
# per-kind state (state/*.pxi): local edits and reads
cdef int local_text_insert(LoroDoc d, uint32_t c, int64_t pos, str s) except -1
cdef object text_value(LoroDoc d, uint32_t c)
cdef object text_range(LoroDoc d, uint32_t c, int64_t a, int64_t b)
cdef int local_seq_delete(LoroDoc d, uint32_t c, int64_t pos, int64_t n) except -1
# state/richtext.pxi
cdef int local_text_mark(LoroDoc d, uint32_t c, int64_t start, int64_t end, str key,
                         object value, int64_t ev_start=*, int64_t ev_end=*) except -1
cdef int detached_text_mark(LoroDoc d, uint32_t c, int64_t start, int64_t end, str key,
                         object value) except -1
cdef list text_delta_runs(LoroDoc d, uint32_t c, bint with_null=*)
cdef set open_marks_before(LoroDoc d, uint32_t t, int64_t e)
# the state a replay of loro's style map elements left: its moves and the log's frontiers
cdef StyleMemo style_memo(LoroDoc d, uint32_t c)
cdef uint64_t style_chain_at(LoroDoc d, object heads) except? 0
cdef int style_memo_state(LoroDoc d, uint32_t c, object elems, list pending, uint32_t epoch) except -1
cdef int memo_stamp_state(LoroDoc d, StyleMemo m, uint32_t epoch) except -1
cdef bint memo_at_state(LoroDoc d, StyleMemo m, uint32_t epoch) noexcept
cdef void memo_drop(StyleMemo m) noexcept
cdef bint style_load_memos(LoroDoc d) except -1
cdef list styled_text(LoroDoc d, uint32_t t, int64_t es, int64_t ee)
cdef int64_t text_insert_entity(LoroDoc d, uint32_t t, int64_t p) except -1
cdef dict text_styles_at(LoroDoc d, uint32_t t, int64_t e)
cdef list style_walk(LoroDoc d, uint32_t t)
cdef dict style_attributes(LoroDoc d, frozenset ids, bint with_null)
cdef int local_list_insert(LoroDoc d, uint32_t c, int64_t pos, list values) except -1
cdef uint32_t local_list_insert_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF
cdef list list_slots(LoroDoc d, uint32_t c)
cdef bint reachable(LoroDoc d, uint32_t c) except -1
cdef int check_alive(LoroDoc d, uint32_t c) except -1
cdef int local_map_set(LoroDoc d, uint32_t c, str key, object value,
                       bint skip_same=*) except -1
cdef uint32_t local_map_set_container(LoroDoc d, uint32_t c, str key, int kind) except? 0xFFFFFFFF
cdef int local_map_delete(LoroDoc d, uint32_t c, str key) except -1
cdef int64_t map_slot(LoroDoc d, uint32_t c, str key) except -2
cdef int64_t map_len(LoroDoc d, uint32_t c) noexcept
cdef list map_live(LoroDoc d, uint32_t c)
cdef dict live_flat_value(dict live)
cdef dict sorted_live_value(dict live)
cdef list map_all_keys(LoroDoc d, uint32_t c)
cdef str as_str(object s, str what)
cdef object map_public_value(LoroDoc d, uint32_t c, str key, object v)
cdef int64_t mergeable_child_index(LoroDoc d, uint32_t c, str key, object v) except -2
cdef object mergeable_parent(LoroDoc d, uint32_t c)
cdef int local_counter_add(LoroDoc d, uint32_t c, double delta) except -1
cdef int flush_import_deltas(LoroDoc d, bint keep) noexcept
# MovableList (state/movable_list.pxi)
cdef int local_ml_insert(LoroDoc d, uint32_t c, int64_t pos, list values) except -1
cdef uint32_t local_ml_insert_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF
cdef int local_ml_delete(LoroDoc d, uint32_t c, int64_t pos, int64_t n) except -1
cdef int local_ml_move(LoroDoc d, uint32_t c, int64_t from_pos, int64_t to_pos) except -1
cdef int local_ml_set(LoroDoc d, uint32_t c, int64_t pos, object value) except -1
cdef uint32_t local_ml_set_container(LoroDoc d, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF
cdef int64_t ml_len(LoroDoc d, uint32_t c) except -1
cdef int64_t ml_value_slot_at(LoroDoc d, uint32_t c, int64_t pos) except -2
cdef list ml_slots(LoroDoc d, uint32_t c)
cdef tuple ml_item_peers(LoroDoc d, uint32_t c, int64_t pos)
cdef int ml_after_undo(LoroDoc d) except -1
cdef list ml_event_ops(LoroDoc d, uint32_t c, bint by_value=*)
cdef list ml_import_split(LoroDoc d, uint32_t c, list idxs)
cdef bint ml_kept_alive(LoroDoc d, uint32_t c, list ends) except -1
cdef int ml_events_done(LoroDoc d) noexcept
cdef int64_t ml_index_of(LoroDoc d, uint32_t c, object value) except -2
cdef int64_t ml_elem_lookup(MovableState s, uint64_t key) except -2
# movable trees (state/tree.pxi)
cdef object tree_state(LoroDoc d, uint32_t c)
cdef int local_tree_move(LoroDoc d, uint32_t c, tuple target, object parent, bytes fi) except -1
# the handle's C path of local tree ops (tree-speed)
from loro_c._tree cimport TreeMoves
cdef int local_tree_move_k(LoroDoc d, uint32_t c, TreeMoves tm, int64_t target,
                           int64_t parent, bytes fi, bint checked) except -1
cdef object tree_value(LoroDoc d, uint32_t c, bint deep)
cdef int tree_after_undo(LoroDoc d) except -1
cdef int tree_import_begin(LoroDoc d) except -1
cdef int tree_import_end(LoroDoc d, bint ok) except -1
cdef list tree_nodes_order(LoroDoc d, uint32_t c)
cdef int32_t local_next_counter(LoroDoc d) except -1
cdef int tree_note_before(LoroDoc d, uint32_t c) except -1
cdef int tree_snapshot_all(LoroDoc d) except -1
cdef int tree_note_local(LoroDoc d, uint32_t c, tuple item) except -1
cdef list tree_event_items(LoroDoc d, uint32_t c, int mode)
cdef int tree_events_done(LoroDoc d) noexcept
# kinds and values (state/dispatch.pxi)
cdef bint kind_has_state(int kind) noexcept
cdef bint op_fits_kind(uint32_t op_kind, int kind) noexcept
cdef object value_of(LoroDoc d, uint32_t c, bint deep)
cdef object resolve_value(LoroDoc d, object v, bint deep)


cdef int reentrant_error() except -1


cdef inline int ev_note(LoroDoc d, uint32_t c, uint32_t kind, uint32_t peer, int32_t counter,
                        int32_t n, uint32_t key, double delta, int64_t old=-2) except -1 nogil:
    """Journal one applied op for the diff events (only called while d.evlog.on)."""
    if lc_ev_push(&d.evlog, c, kind, peer, counter, n, key, delta, old) < 0:
        with gil:
            raise MemoryError()
    return 0


# A checkout's note of a map key whose winner before is a delete names that delete
# (-4 - (peer << 32 | lamport)): loro's calculator compares the winning writes, so a key
# deleted again by another write is in its map of diffs, though no event shows it.
cdef inline int64_t map_note_deleted(const lc_map_entry *e) noexcept nogil:
    if e.peer == LC_NO_KEY:
        return -1
    return -4 - ((<int64_t>e.peer << 32) | e.lamport)


cdef inline bint map_note_same_delete(int64_t old, const lc_map_entry *e) noexcept nogil:
    return old <= -4 and e.slot < 0 and old == map_note_deleted(e)


# a snapshot loaded from its state section (state/snapshot_load.pxi)
cdef int thin_load(LoroDoc d, list rows, bytes blob, dict vv, list fr, bint lists=*) except -1
cdef int shallow_base_load(LoroDoc d) except -1
cdef int shallow_apply_root_change(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                                   int32_t counter, uint32_t lamport) except -1
cdef int thin_materialize_locked(LoroDoc d) except -1
cdef int thin_build_texts_locked(LoroDoc d) except -1
cdef int thin_defer(LoroDoc d, bytes blob, dict vv, list fr, dict pre=*, list bodies=*) except -1
cdef int thin_build_pending_locked(LoroDoc d) except -1
cdef int thin_force_locked(LoroDoc d) except -1
cdef int thin_decode_one_locked(LoroDoc d, uint32_t c) except -1
cdef dict lazy_map_keys_locked(LoroDoc d, uint32_t c)
cdef dict lazy_map_vals_locked(LoroDoc d, uint32_t c)
cdef int lazy_map_key_locked(LoroDoc d, uint32_t c, str key) except -1
cdef int thin_register_all(LoroDoc d) except -1
cdef object lazy_deep_value(LoroDoc d, uint32_t c)


cdef inline int doc_lock(LoroDoc d) except -1:
    """Take the document lock as it is: a snapshot's state left encoded stays so (only the
    snapshot export and the version queries, which need none of it, take it this way).
    The GIL is released while waiting: the holder may need it to finish (Python code runs
    inside operations)."""
    cdef unsigned long me = PyThread_get_thread_ident()
    # only this thread can have stored its own id there, so the unlocked read is safe
    if d.lock_owner == me:
        return reentrant_error()
    if not lc_lock_enter(&d.lock_count):
        with nogil:
            PyThread_acquire_lock(d.lock, WAIT_LOCK)
    d.lock_owner = me
    return 0


cdef inline int doc_acquire_value(LoroDoc d) except -1:
    """Take the document lock, a snapshot's state left encoded decoded first. Only reads of
    whole values take it this way (a text's value comes from text_value): they are served
    by a document loaded from a snapshot's state before its history and its text trees are
    built."""
    doc_lock(d)
    if d.thin_pending is not None or d.thin_lazy is not None:
        return thin_force_locked(d)
    return 0


cdef inline int doc_acquire_handles(LoroDoc d) except -1:
    """Take the document lock to hand out a root's handle: a snapshot's state left encoded
    registers its containers first, their states still encoded (state/snapshot_load.pxi
    thin_build_pending)."""
    doc_lock(d)
    if d.thin_pending is not None:
        return thin_build_pending_locked(d)
    return 0


cdef inline int doc_acquire_one(LoroDoc d, uint32_t c) except -1:
    """Take the document lock for a read of container `c`'s own state (no other container's):
    of a snapshot's state left encoded, only that state is decoded (as loro decodes a
    container's state when it is first read)."""
    doc_lock(d)
    if d.thin_pending is not None or d.thin_lazy is not None:
        thin_decode_one_locked(d, c)
    if d.thin_texts is not None:
        return thin_build_texts_locked(d)
    return 0


cdef inline dict doc_acquire_map_keys(LoroDoc d, uint32_t c, bint shallow=False):
    """doc_acquire_one for a read of map `c`'s keys alone: a map a snapshot load left
    encoded answers from its decoded keys, {key: value} (state/map.pxi lazy_map_live;
    `shallow`: for its shallow value, in key order and its children not looked up,
    state/snapshot_load.pxi lazy_map_vals_locked), and stays encoded; otherwise None, the
    lock taken as doc_acquire_one takes it."""
    cdef dict live
    doc_lock(d)
    if d.thin_pending is not None or d.thin_lazy is not None:
        live = lazy_map_vals_locked(d, c) if shallow else lazy_map_keys_locked(d, c)
        if live is not None:
            return live
    if d.thin_texts is not None:
        thin_build_texts_locked(d)
    return None


cdef inline int doc_acquire_map_key(LoroDoc d, uint32_t c, str key) except -1:
    """doc_acquire_map_keys for a read of one key of map `c`: a map a snapshot load left
    encoded answers from its entry (state/snapshot_load.pxi lazy_map_key_locked): 1 when
    the key is absent, 2 when present, its value in `d.lazy_got`; else 0 with `d.lazy_got`
    what doc_acquire_map_keys returns."""
    doc_lock(d)
    if d.thin_pending is not None or d.thin_lazy is not None:
        return lazy_map_key_locked(d, c, key)
    d.lazy_got = None
    if d.thin_texts is not None:
        thin_build_texts_locked(d)
    return 0


cdef inline int doc_acquire_read(LoroDoc d) except -1:
    """Take the document lock for a read, served by a document loaded from a snapshot's
    state before its history is (its text trees built first)."""
    doc_acquire_value(d)
    if d.thin_texts is not None:
        return thin_build_texts_locked(d)
    return 0


cdef inline int doc_acquire(LoroDoc d) except -1:
    """Take the document lock; a document loaded from a snapshot's state imports the
    snapshot's history first (released again if that fails)."""
    if d.thin_blob is not None:
        # (the replay drops the loaded state: decoding it first would be wasted, but its
        # containers are registered, as the load listed them: thin_materialize)
        doc_lock(d)
        return thin_materialize_locked(d)
    return doc_acquire_read(d)


cdef inline void doc_release(LoroDoc d) noexcept:
    d.lock_owner = 0
    if lc_lock_leave(&d.lock_count):
        # hand the lock to one waiter (the semaphore is taken whenever nobody is woken)
        PyThread_release_lock(d.lock)


# -- Loro's change grouping (doc/grouping.pxi) ---------------------------------------------

cdef int group_change(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                      int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                      bint local, int64_t key, int64_t i0, int64_t i1) except -1
cdef int group_kept(LoroDoc d, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                    int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                    int64_t key) except -1
cdef int warm_peers(LoroDoc d, object peers) except -1


cdef inline int64_t utf8_bytes(const uint32_t *cps, int64_t n) noexcept nogil:
    cdef int64_t k, nbytes = 0
    cdef uint32_t c
    for k in range(n):
        c = cps[k]
        nbytes += 1 if c < 0x80 else (2 if c < 0x800 else (3 if c < 0x10000 else 4))
    return nbytes


cdef inline uint32_t next_buffer(LoroDoc d) noexcept:
    """A new buffer number (never one of the list markers LC_VAL_LOCAL / LC_VAL_IMPORTED)."""
    d.buf_serial += 1
    if d.buf_serial == LC_VAL_IMPORTED:
        d.buf_serial = 1
    return d.buf_serial


cdef inline void lstr_grow_to(LoroDoc d, int64_t length) noexcept:
    """Move Loro's string arena to a fresh buffer, its capacity doubled from `cap` until
    `length` fits."""
    while d.lstr_cap < length:
        d.lstr_cap *= 2
    d.lstr_gen = next_buffer(d)


cdef inline void lstr_place(LoroDoc d, lc_op *op, int64_t nbytes) noexcept:
    """Record where Loro would put a text insert's `nbytes` bytes. Local and JSON text is
    appended to the string arena, which moves to a buffer of twice the capacity when the
    bytes do not fit. Text decoded from a binary blob stays out of that arena: each op
    gets a buffer number of its own, consecutive within a block (an op that continues the
    one before it in its change folds into it and gives its number back:
    fold_block_text in codec/change_block_payloads.pxi). Bit 31 of its end offset (read modulo 2**31 everywhere) marks it,
    for the diff events (_events.stored_bytes), which follow Loro's block buffers."""
    if d.in_blob:
        op.start_id.peer = next_buffer(d)
        op.start_id.counter = 0
        op.delta = <double>((nbytes & 0x7FFFFFFF) | 0x80000000)
        return
    op.start_id.peer = d.lstr_gen
    op.start_id.counter = <int32_t>(d.lstr_len & 0x7FFFFFFF)
    d.lstr_len += nbytes
    if d.lstr_len > d.lstr_cap:
        lstr_grow_to(d, d.lstr_len)
        op.start_id.peer = d.lstr_gen
    op.delta = <double>(d.lstr_len & 0x7FFFFFFF)


cdef inline void lval_place(LoroDoc d, lc_op *op, int64_t n, bint imported) noexcept:
    """Record where Loro's value arena would put a list insert's `n` values (and whether it
    was imported, which changes how Loro folds it: LC_VAL_IMPORTED in oplog.h)."""
    op.start_id.peer = LC_VAL_IMPORTED if imported else LC_VAL_LOCAL
    op.start_id.counter = <int32_t>(d.lval_len & 0x7FFFFFFF)
    d.lval_len += n
    op.delta = <double>(d.lval_len & 0x7FFFFFFF)


cdef inline int ev_note_op(LoroDoc d, const lc_op *op, uint32_t peer) except -1 nogil:
    """Journal an imported sequence or counter op (map writes are journaled by map_apply,
    only when they change the key's winner)."""
    if d.ckind[op.container] == KIND_MOVABLE_LIST:
        # a movable list diffs its items before and after (state/movable_list.pxi): the
        # note only marks it touched
        return ev_note(d, op.container, LC_EV_COUNTER, peer, op.counter, op.len, 0, 0.0)
    if op.kind == LC_OP_INSERT:
        return ev_note(d, op.container, LC_EV_INSERT, peer, op.counter, op.len, 0, 0.0)
    if op.kind == LC_OP_DELETE:
        return ev_note(d, op.container, LC_EV_DELETE, peer, op.counter, op.len, 0, 0.0)
    if op.kind == LC_OP_COUNTER:
        return ev_note(d, op.container, LC_EV_COUNTER, peer, op.counter, 1, 0, op.delta)
    if op.kind == LC_OP_MARK_START:
        return ev_note(d, op.container, LC_EV_MARK, peer, op.counter, 1, 0, 0.0)
    if op.kind == LC_OP_TREE:
        # a tree's diff replays its moves from before the batch (state/tree.pxi): the note
        # only marks it touched
        return ev_note(d, op.container, LC_EV_COUNTER, peer, op.counter, 1, 0, 0.0)
    return 0


cdef inline void snap_mark(LoroDoc d, uint32_t c) noexcept nogil:
    """Container `c`'s state changed: its kept snapshot entry is stale."""
    if c < d.n_sdirty:
        d.sdirty[c] = 1


cdef inline void snap_forget(LoroDoc d) noexcept:
    """The state changed other than by ops of one container each: keep no entry."""
    d.snap_entries = None
    d.snap_meta = None
    d.snap_listed = None
    d.snap_order = None
    d.snap_listing = None
    d.snap_result = None
    d.snap_pos = None
    d.snap_seed = None

cdef int track_staged(LoroDoc d, int64_t first) except -1
cdef int pending_touched_clear(LoroDoc d) except -1
cdef int snapshot_touched(LoroDoc d) except -1

# subscriptions: call the active ones of a list, the first exception returned (_doc.pyx)
cdef object call_subscribers(list subs, object payload)
