# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The import pipeline: decoders stage changes (C records, ops straight into the op arena),
then apply_staged() replays every change whose dependencies are met in causal order, each at
its own causal version; the rest wait as pending. Changes already known, and copies of
pending ones, are refused at stage_begin before anything of them is staged. A failed import
undoes the in-place edits it journaled, cuts the arenas back to their marks and rebuilds the
state, so an import is all or nothing."""
from heapq import heappush, heappop
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset, memcpy
from libc.stdint cimport INT32_MAX, uint8_t, uint32_t, int32_t, int64_t, uint64_t
from cpython.unicode cimport PyUnicode_GET_LENGTH

from loro_c._seq cimport lc_id, make_id, grow
from loro_c.fxhash cimport fx_add, fx_finish, hb_table_order
from loro_c._seq cimport tracker_move, drop_atoms, drop_trees, rejoin_spans
from loro_c._oplog cimport (OpLog, lc_op, lc_staged, lc_change, slice_op, merge_ops, LC_STAGED_DEAD, LC_STAGED_DONE,
                            LC_LSTR_MIN_CAP, LC_VAL_IMPORTED, lc_insert_is_text,
                            LC_OP_INSERT, LC_OP_DELETE, lc_range_ops, range_ops_start, range_ops_next,
                            LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER)
from loro_c._kinds cimport LC_OP_MOVE, LC_OP_SET      # MovableList
from loro_c._kinds cimport LC_OP_MARK_START, LC_OP_MARK_END
from loro_c._kinds cimport plain_scalar       # stage_value
from loro_c._kinds cimport LC_OP_TREE, LC_TREE_PARENT_ROOT, LC_TREE_PARENT_DELETED
from loro_c._doc cimport (LoroDoc, group_change, group_kept, warm_peers, lstr_place, lval_place, lstr_grow_to, utf8_bytes,
                          lc_map_free, lc_map_find, lc_map_remove, lc_map_set_slot, lc_map_entry,
                          lc_map_undo, ROOT_HIDDEN, KIND_TEXT,
                          str_to_cps, STACK_CPS)
from loro_c._doc cimport (kind_has_state, op_fits_kind, container_index, show_root, ensure_tvv, commit_txn,
                          move_tracker_to_change, move_tracker_to_head, move_tracker_home, map_history_drop, apply_change_ops,
                          rebuild_state, flush_import_deltas, ml_after_undo,
                          tree_after_undo, shallow_apply_root_change, snap_forget,
                          tree_import_begin, tree_import_end)
from loro_c._doc cimport meta_queue, lnum_flush, lnum_flush_marked, lnum_add      # tree nodes' meta maps (doc/registry.pxi)
from loro_c._doc cimport track_staged, snapshot_touched, pending_touched_clear     # movable lists and trees before an import
from loro_c._doc cimport change_deferrable, defer_change, apply_deferred, deferred_unwind, deferred_release   # doc/deferred.pxi
from loro_c._doc import kind_of_type, _TYPE_NAMES
from loro_c.errors import LoroError, DecodeError
from loro_c._opid_check cimport KnownCheck, known_check_new, known_tuple, known_blob_end, known_end_of
from loro_c import _types
from cpython.object cimport PyObject_GenericSetAttr

# the status classes, looked up once: every import (a relayed keystroke) builds one status
cdef object _VersionRange = _types.VersionRange
cdef object _ImportStatus = _types.ImportStatus
cdef object _codec_mod = None

cdef extern from "stdlib.h":
    void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *) noexcept nogil) nogil

ctypedef struct lc_sort_key:
    uint32_t blob       # the blob of a batch it came in (loro imports them one by one)
    uint32_t lamport
    uint64_t peer
    int32_t counter
    int64_t idx


cdef int cmp_sort_key(const void *a, const void *b) noexcept nogil:
    """Causal import order: blob, Lamport, then peer id, then counter."""
    cdef const lc_sort_key *x = <const lc_sort_key*>a
    cdef const lc_sort_key *y = <const lc_sort_key*>b
    if x.blob != y.blob:
        return -1 if x.blob < y.blob else 1
    if x.lamport != y.lamport:
        return -1 if x.lamport < y.lamport else 1
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    if x.counter != y.counter:
        return -1 if x.counter < y.counter else 1
    return 0


def import_changes(LoroDoc doc, list changes):
    """Import decoded change tuples (see loro_c._json for the layout)."""
    return run_import(doc, changes, None, False)


def import_blobs(LoroDoc doc, list blobs, bint batch=False, bint shallow_loads=True):
    """Import binary blobs: the codec stages their changes straight into the arenas. A batch
    of several blobs reports every pending change of the document (as loro's import_batch).
    Without `shallow_loads` a shallow snapshot is history only, even into an empty document
    (loro's import_batch)."""
    return run_import(doc, None, blobs, batch and len(blobs) > 1, shallow_loads)


cdef class ImportRun:
    """What one import must remember: how to undo what it changed in place if it fails, and
    what to report. Everything appended past the marks is simply cut off on failure."""
    cdef dict memo              # id(ContainerID) -> (index, kind, the ContainerID kept alive)
    cdef int64_t n_pending_before
    cdef PendingIndex pending   # the document's pending index (rebuilt if the import fails)
    cdef dict turns_before      # old pending records woken and waiting again -> their turn
    cdef list rec_undo          # (index, bytes): old pending records edited in place
    cdef list dups              # (peer index, counter, end, index): copies of pending changes
    cdef list dup_at            # for each of dups, how many changes were staged before it
    cdef list dup_blob          # for each of dups, the blob it came in
    cdef list blob_ends         # for each blob staged, how many changes were staged by its end
    # apply the changes in the order given (a JSON import: loro takes its array as it
    # comes), not by Lamport (a binary blob: loro sorts its changes by Lamport first)
    cdef bint given_order
    # (peer index, counter, end): changes of a batch that loads a snapshot which the blobs
    # before them bring (not staged; preflight_warm notes their known part)
    cdef list batch_known
    cdef list op_undo           # (op index, bytes): ops of old pending records trimmed in place
    cdef list change_undo       # (change index, end, ops_len): old changes extended in place
    cdef int64_t expect_end     # declared end counter of the change being staged
    cdef int32_t known_end      # the document's end counter for that change's peer
    cdef lc_op discard          # where decoders write ops the document already has
    cdef bint whole_pending     # report every pending change of the document
    cdef bint applies           # some new change had all its dependencies before the import
    # marks: the sizes of everything before the import
    cdef int64_t n_changes, n_ops, n_text, n_containers, n_sdeps, n_maps
    cdef Py_ssize_t n_values, n_msgs, n_keys, n_roots
    cdef object roots_due
    cdef uint32_t n_peers, n_trees, next_lamport
    cdef int64_t lstr_len, lval_len   # Loro's arenas (a failed import rolls them back as Loro does)
    cdef int64_t n_gundo              # the grouping undo log's length
    cdef bytes frontiers        # the log's frontiers (lc_id array) before the import
    cdef bytes fmap             # loro's map of them (OpLog.fmap_save)
    # the staged change being applied (-1: none), and whether its ops have begun to apply
    # and whether it is in the log yet: a rejected change is retreated op by op
    cdef int64_t applying
    cdef bint ops_started, logged
    # the state takes the changes nobody watches apply in a causal order of its own, not
    # the log's (doc/deferred.pxi): the tracker follows one branch at a time
    cdef bint defer
    # a shallow document dropped changes depending on its trimmed history (loro applies the
    # rest of the import, then reports ImportUpdatesThatDependsOnOutdatedVersion)
    cdef bint outdated
    # the same for the blob being staged (a batch judges each blob as loro imports it)
    cdef bint blob_outdated
    cdef dict applied_end       # peer index -> end of its last change applied by this import
    # cold peers (doc/grouping.pxi cold_change) -> how this import's changes of theirs that
    # the document has in part reach their last block (note_known_part, preflight_warm)
    cdef dict known_reach
    # the comparison of what the import carries under ids the document has (_opid_check)
    cdef KnownCheck known


cdef ImportRun begin_run(LoroDoc doc, bint whole_pending):
    cdef OpLog log = doc.log
    cdef ImportRun run = ImportRun.__new__(ImportRun)
    cdef int64_t i
    # the meta maps queued so far (local creates, earlier imports) come before anything
    # this import numbers: marked -2, they are numbered as soon as it numbers a container
    # (container_index, stage_container), if it does
    for i in range(2, doc.meta_n, 3):
        doc.meta_q[i] = -2
    run.memo = {}
    run.dups = []
    run.dup_at = []
    run.dup_blob = []
    run.blob_ends = []
    run.turns_before = {}
    run.batch_known = []
    run.applied_end = {}
    run.op_undo = []
    run.change_undo = []
    run.whole_pending = whole_pending
    run.n_changes = log.n_changes
    run.n_ops = log.n_ops
    run.n_values = len(log.values)
    run.n_msgs = len(log.messages)
    run.n_keys = len(log.keys)
    run.n_peers = log.n_peers
    run.n_text = doc.seq.text_len
    run.n_containers = doc.n_containers
    run.n_roots = len(doc.roots)
    run.roots_due = set(doc.roots_due) if doc.roots_due else None
    run.n_maps = doc.n_maps
    run.n_trees = doc.seq.n_trees
    run.next_lamport = log.next_lamport
    run.lstr_len = doc.lstr_len
    run.n_gundo = log.n_gundo
    run.lval_len = doc.lval_len
    doc.snap_lo = doc.snap_hi = 0
    doc.snap_blocks = None
    run.frontiers = (<char*>log.frontiers)[:log.n_frontiers * sizeof(lc_id)] if log.n_frontiers else b""
    run.fmap = log.fmap_save()
    run.applying = -1
    doc.apply_rejected = False
    doc.n_map_journal = 0
    # pending records sit at the front of the staging arenas (with holes where later imports
    # applied some); the ones an import edits in place are journaled in rec_undo
    run.n_pending_before = doc.n_staged
    run.n_sdeps = doc.n_sdeps
    run.rec_undo = []
    if doc.pending is None:
        doc.pending = PendingIndex()
    run.pending = <PendingIndex>doc.pending
    run.known = known_check_new(doc)
    return run


cdef KnownCheck import_known(LoroDoc doc):
    """The running import's comparison of its known part (for the decoders)."""
    return (<ImportRun>doc.import_run).known


cdef int import_blob_end(LoroDoc doc, bint batch) except -1:
    """A blob is staged: refuse it if it brings something new on top of a known part
    that differs from the document's (UsedOpIdError). In a batch, a blob that set aside
    changes depending on a shallow document's trimmed history is dropped whole: loro
    imports a batch's blobs into the document detached, which refuses such a blob whole,
    and goes on with the next one (the batch raises OutdatedVersionError after the rest
    applied)."""
    cdef ImportRun run = <ImportRun>doc.import_run
    cdef int64_t i
    if batch and run.blob_outdated:
        for i in range(run.known.blob_staged, doc.n_staged):
            doc.staged[i].flags |= LC_STAGED_DEAD
    run.blob_outdated = False
    run.blob_ends.append(doc.n_staged)
    return known_blob_end(run.known, batch)


cdef class PendingIndex:
    """Lookups over the pending records that survive between imports, so an import costs
    what its own changes cost, not the number of changes pending: `at` finds a pending change
    by its start, `waits` says which pending changes wait on which op."""
    cdef dict at                # (peer index, counter) -> record index
    # peer index -> heap of (counter that must be known, turn, peer index, counter of the
    # waiting record): those waiting on one op are woken in the turn they began to wait, as
    # loro keeps them (a list per awaited op)
    cdef dict waits
    cdef dict turn              # (peer index, counter) -> the turn of that record's wait
    cdef int64_t next_turn
    cdef int64_t holes          # records applied or superseded since the last compaction

    def __cinit__(self):
        self.at = {}
        self.waits = {}
        self.turn = {}


cdef int pending_wait(PendingIndex pi, lc_id missing, lc_staged *st) except -1:
    cdef int64_t turn = pi.next_turn
    pi.next_turn = turn + 1
    pi.turn[(st.peer, st.counter)] = turn
    heappush(pi.waits.setdefault(missing.peer, []), (missing.counter, turn, st.peer, st.counter))
    return 0


cdef int rebuild_pending(LoroDoc doc, dict turns_before) except -1:
    """Recompute the pending index from the records (after a failed import), each waiting
    in the turn it had before the import (`turns_before`: the old records' turns the import
    changed)."""
    cdef PendingIndex old = <PendingIndex>doc.pending
    cdef PendingIndex pi = PendingIndex()
    cdef int64_t i
    cdef lc_id missing
    waiting = []
    for i in range(doc.n_staged):
        if doc.staged[i].flags & (LC_STAGED_DEAD | LC_STAGED_DONE):
            pi.holes += 1
            continue
        key = (doc.staged[i].peer, doc.staged[i].counter)
        pi.at[key] = i
        turn = turns_before.get(key)
        if turn is None and old is not None:
            turn = old.turn.get(key)
        waiting.append((i if turn is None else turn, i))
    waiting.sort()
    for _, i in waiting:
        first_missing(doc, &doc.staged[i], &missing)
        pending_wait(pi, missing, &doc.staged[i])
    doc.pending = pi
    return 0


cdef int note_known_part(LoroDoc doc, dict reach, uint32_t p, int64_t end,
                         int64_t known) except -1:
    """A change of this import that the document has up to `end` of peer index `p`, whose
    changes it has up to `known`: loro compares that part with its own, block by block
    (preflight_warm). Kept only when it reaches the peer's last block (whose start is the
    last in kept_blocks): bit 1 when it ends inside it (loro parses the block), bit 2 when
    it covers it to its end (loro reads a block of text inserts only from its bytes)."""
    pid = doc.log.peer_ids[p]
    if pid in doc.cold_peers:
        starts = doc.kept_blocks.get(pid)
        # (this module is compiled without negative indexing)
        if end > (starts[len(starts) - 1] if starts else 0):
            reach[pid] = reach.get(pid, 0) | (1 if end < known else 2)
    return 0


cdef bint text_inserts_only(LoroDoc doc, uint32_t p, int32_t lo, int32_t hi, int64_t k0,
                            int64_t k1) except -1:
    """Whether peer index `p`'s ops in [lo, hi) all insert text: those of the log, or (k0 <
    k1) of the staged records k0..k1 (a batch's snapshot, not applied yet)."""
    cdef OpLog log = doc.log
    cdef lc_range_ops it
    cdef lc_op *op
    cdef lc_staged *st
    cdef int64_t k, i
    if k0 < k1:
        for k in range(k0, k1):
            st = &doc.staged[k]
            if st.peer != p or st.end <= lo or st.counter >= hi:
                continue
            for i in range(st.ops_off, st.ops_off + st.ops_len):
                op = &log.ops[i]
                if op.kind != LC_OP_INSERT or doc.ckind[op.container] != KIND_TEXT:
                    return False
        return True
    range_ops_start(log, &it, p, lo, hi)
    op = range_ops_next(log, &it)
    while op != NULL:
        if op.kind != LC_OP_INSERT or doc.ckind[op.container] != KIND_TEXT:
            return False
        op = range_ops_next(log, &it)
    return True


cdef int preflight_warm(LoroDoc doc, ImportRun run) except -1:
    """The cold peers (doc/grouping.pxi cold_change) whose last block loro parses before it
    inserts any of this import's changes, so that their new changes join that block. Loro
    reads the blocks it holds twice before inserting: decoding compares the part of each
    imported change it already has with its own copy (when the import brings anything new;
    probed on loro 1.17.1: a blob carrying a cold peer's known change and its new one keeps
    one block, an import of the known change alone parses nothing), and a preflight over
    the new changes looks up the Lamport of each change's deps, in the order its Frontiers
    (a hash map of peer to counter) yields them, up to the first one it lacks (probed: a
    cold peer's new change joins its block when a later change of the import depends on
    one of its old ops). A peer's known part reaches its last block unless it ends before
    the block's start. A batch that loads a snapshot into this empty document imports its
    other blobs after it: they are checked against the snapshot's changes (snap_lo..hi)."""
    cdef OpLog log = doc.log
    cdef set cold = doc.cold_peers
    cdef int64_t k, i, n, first = run.n_pending_before
    cdef lc_staged *st
    cdef lc_id dep
    cdef uint64_t hs[8]
    cdef int64_t order[8]
    cdef bint new
    cdef dict ends = None       # a batch's snapshot: peer index -> its end there
    cdef dict reach = run.known_reach
    ks = list(range(first, doc.n_staged)) + [d[3] for d in run.dups]
    if doc.snap_hi > doc.snap_lo:
        ends = {}
        for k in range(doc.snap_lo, doc.snap_hi):
            st = &doc.staged[k]
            if ends.get(st.peer, 0) < st.end:
                ends[st.peer] = st.end
        first = doc.snap_hi
        reach = {}
        new = False
        for k in range(first, doc.n_staged):
            st = &doc.staged[k]
            e = ends.get(st.peer, 0)
            if st.end > e:
                new = True
            if st.counter < e:
                note_known_part(doc, reach, st.peer, min(st.end, e), e)
        for q, counter, end in run.batch_known:
            e = ends.get(q, 0)
            if counter < e:
                note_known_part(doc, reach, q, min(end, e), e)
        ks = []
        for d in run.dups:
            if doc.snap_lo <= d[3] < doc.snap_hi:
                note_known_part(doc, reach, d[0], d[2], ends.get(d[0], 0))
            else:
                ks.append(d[3])
                new = True
        if not new:
            return 0
        ks = list(range(first, doc.n_staged)) + ks
    elif doc.n_staged == run.n_pending_before and not run.dups:
        return 0        # nothing new: loro compares nothing either
    if reach:
        for pid, r in reach.items():
            if pid in cold:
                p = log.peer_map[pid]
                starts = doc.kept_blocks.get(pid)
                lo = starts[len(starts) - 1] if starts else 0
                if r & 1 or not (
                        text_inserts_only(doc, p, lo, log.vv[p], 0, 0) if ends is None else
                        text_inserts_only(doc, p, lo, ends.get(p, 0), doc.snap_lo, doc.snap_hi)):
                    cold.discard(pid)
    for k in ks:
        if not cold:
            break
        st = &doc.staged[k]
        if st.flags & LC_STAGED_DEAD and k >= first:
            continue
        if ends is not None and st.end <= ends.get(st.peer, 0):
            continue        # known to the batch's snapshot: no lookup
        n = st.deps_len
        if n == 0:
            continue
        if 1 < n <= 8:
            for i in range(n):
                hs[i] = fx_finish(fx_add(0, log.peer_ids[doc.sdeps[st.deps_off + i].peer]))
            hb_table_order(hs, n, order)
        for i in range(n):
            # (more deps than 8, never met: in their order)
            dep = doc.sdeps[st.deps_off + (order[i] if 1 < n <= 8 else i)]
            if dep.counter >= (log.vv[dep.peer] if ends is None else ends.get(dep.peer, 0)):
                break       # a dep the document lacks: loro stops there
            cold.discard(log.peer_ids[dep.peer])
    if not cold:
        doc.cold_peers = None
    return 0


cdef int journal_record(LoroDoc doc, ImportRun run, int64_t i) except -1:
    """Save an old pending record before it is edited in place."""
    if i < run.n_pending_before:
        run.rec_undo.append((i, (<char*>&doc.staged[i])[:sizeof(lc_staged)]))
    return 0


cdef object run_import(LoroDoc doc, list changes, list blobs, bint whole_pending,
                       bint shallow_loads=True):
    """Stage everything, then apply. All or nothing: on any error (or interrupt) the document
    is left exactly as it was; errors other than LoroError/MemoryError become DecodeError."""
    commit_txn(doc)
    cdef ImportRun run = begin_run(doc, whole_pending)
    cdef bint applying = False
    # (loro's blocks kept apart: doc/grouping.pxi cold_change; put back on failure. Only
    # a cold peer's change adds a block start, so with none cold nothing is copied)
    kept = (doc.kept_blocks, doc.cold_peers)
    vv_loaded = doc.vv_loaded
    if doc.cold_peers is not None:
        doc.kept_blocks = {p: list(v) for p, v in doc.kept_blocks.items()}
        doc.cold_peers = set(doc.cold_peers)
    doc.cold_cut = False
    doc.import_run = run
    tree_import_begin(doc)      # (loro's maps of tree nodes: state/tree.pxi)
    try:
        if changes is not None:
            run.given_order = True
            for raw in changes:
                stage_tuple(doc, raw)
            import_blob_end(doc, False)
        else:
            global _codec_mod
            if _codec_mod is None:
                from loro_c import _codec
                _codec_mod = _codec
            # like loro, a snapshot loaded into an empty document also brings the roots its
            # state lists, even those without ops
            _codec_mod.stage_blobs(doc, blobs, ((run.n_changes == 0 and run.n_pending_before == 0
                                             and shallow_loads)
                                            or doc.thin_materializing or doc.shallow_loading))
        if run.outdated and (not run.applies or doc.detached):
            # loro refuses the whole import when nothing else of it joins the history
            # (every other change waits or is known) or the document is detached
            raise_outdated()
        if doc.cold_peers is not None and (kept[1] is not None or doc.n_staged > doc.snap_hi):
            preflight_warm(doc, run)
        track_staged(doc, run.n_pending_before)
        if doc.snap_below:
            snapshot_touched(doc)
        applying = True
        status = apply_staged(doc, run)
        if doc.n_staged == 0:
            pending_touched_clear(doc)
        # the grouping undo log serves this import only
        doc.log.n_gundo = run.n_gundo
        if (changes is None and doc.log.n_changes == run.n_changes and not run.change_undo
                and doc.n_staged == run.n_pending_before
                and (<char*>doc.log.frontiers)[:doc.log.n_frontiers * sizeof(lc_id)]
                == run.frontiers):
            # a blob the document already holds all of: loro 1.17.1 allocates no list values
            # for it (the next local list insert still folds into the one before), nor text
            # for an updates blob (a snapshot's text it does decode)
            doc.lval_len = run.lval_len
            if all(len(b) > 21 and b[20] == 0 and b[21] == 4 for b in blobs):
                doc.lstr_len = run.lstr_len
        tree_import_end(doc, True)
        if kept[1] is not None and ((<char*>doc.log.frontiers)[:doc.log.n_frontiers * sizeof(lc_id)]
                                    != run.frontiers):
            # loro's diff of the import reads the history's DAG, parsing the blocks it
            # holds encoded (doc/grouping.pxi cold_change)
            warm_peers(doc, None)
        if not run.outdated:
            return status
    except BaseException as e:
        tree_import_end(doc, False)
        undo(doc, run, applying)
        doc.kept_blocks, doc.cold_peers = kept
        doc.vv_loaded = vv_loaded
        doc.cold_cut = False
        if isinstance(e, (LoroError, MemoryError)) or not isinstance(e, Exception):
            raise
        if applying:
            raise DecodeError(f"the update does not fit the document: {e}") from e
        raise DecodeError(f"malformed change: {e}") from e
    finally:
        doc.import_run = None
    raise_outdated()


cdef int raise_outdated() except -1:
    from loro_c.errors import OutdatedVersionError
    raise OutdatedVersionError("Import Failed: The dependencies of the importing updates are "
                               "not included in the shallow history of the doc.")


cdef enum:
    # what a change's deps say about a shallow document's root S (shallow_dep_flags)
    DEPS_NONE = 1           # no deps at all
    DEPS_TRIMMED = 2        # a dep in the trimmed history
    DEPS_IN_ROOT = 4        # a dep that is one of S's ops
    DEPS_ALL_ROOT = 8       # every dep is one of S's ops
    DEPS_EXACT_ROOT = 16    # the deps are exactly S's ops


cdef int shallow_dep_flags(LoroDoc doc, const lc_staged *st, int32_t known) except -1:
    """The DEPS_* flags of a staged change. A change whose start the document has
    (`known`: its peer's end) is judged as loro's decoder cuts it: its one dep is its
    peer's op before the cut."""
    cdef OpLog log = doc.log
    cdef int64_t i, n = st.deps_len
    cdef lc_id dep
    cdef int flags = DEPS_ALL_ROOT
    if st.counter < known:
        n = 1
    elif n == 0:
        return DEPS_NONE
    sf = doc.shallow_sf_idx
    for i in range(n):
        dep = make_id(st.peer, known - 1) if st.counter < known else doc.sdeps[st.deps_off + i]
        if log.has_floor and dep.peer < log.n_peers and dep.counter < log.floor[dep.peer]:
            flags |= DEPS_TRIMMED
        if (dep.peer, dep.counter) in sf:
            flags |= DEPS_IN_ROOT
        else:
            flags &= ~DEPS_ALL_ROOT
    if flags & DEPS_ALL_ROOT and n == len(sf):
        flags |= DEPS_EXACT_ROOT
    return flags


cdef bint shallow_outdated(LoroDoc doc, const lc_staged *st, int32_t known) except -1:
    """Whether a change imported into a shallow document depends on a version before its
    root S, by loro's rule (decided from the deps alone, whatever the log holds yet): no deps
    at all; a dep in the trimmed history unless another dep is one of S's ops; deps that
    are some of S's ops but not all of them. A dep the log does not hold yet, or one after
    S, counts as after the root (every logged change after S descends from it); a change
    whose start the document has is judged from its cut (shallow_dep_flags)."""
    cdef int flags
    if doc.shallow_loading:
        return False                # the shallow snapshot's own retained changes
    flags = shallow_dep_flags(doc, st, known)
    if flags & DEPS_NONE:
        return True
    if flags & DEPS_TRIMMED:
        return not (flags & DEPS_IN_ROOT)
    return (flags & DEPS_ALL_ROOT) and not (flags & DEPS_EXACT_ROOT)


cdef bint shallow_before_root(LoroDoc doc, const lc_staged *st) except -1:
    """Loro's other test of a change's deps against a shallow document's root S (the one
    that decides whether a waiting change shows its roots): no deps; a dep in the trimmed
    history; or deps holding one of S's ops without being exactly S's ops. A change whose
    start the document has is judged from its cut (shallow_dep_flags)."""
    cdef int flags = shallow_dep_flags(doc, st, doc.log.vv[st.peer])
    if flags & (DEPS_NONE | DEPS_TRIMMED):
        return True
    return (flags & DEPS_IN_ROOT) and not (flags & DEPS_EXACT_ROOT)


cdef undo(LoroDoc doc, ImportRun run, bint state_touched):
    """Put the document back as it was before `run` began. When the apply was stopped by an
    op that does not fit the document (the usual way a hostile or corrupt update fails), the
    state is undone in place: the tracker retreats this import's ops, their spans are taken
    out of the B-trees and the journaled map and counter writes are restored, so a rejected
    import costs about what an accepted one does. Any other failure during the apply (an
    interrupt or out of memory in the middle of a B-tree edit) rebuilds the state from the log."""
    cdef OpLog log = doc.log
    cdef int64_t i
    cdef bint rebuild = False
    snap_forget(doc)    # (the containers it registered go: their indices are given again)
    doc.journal_on = False
    flush_import_deltas(doc, False)
    if state_touched:
        if doc.apply_rejected:
            try:
                unapply(doc, run)
            except AssertionError:
                rebuild = True
        else:
            rebuild = True
    deferred_release(doc)   # (a queue unapply did not unwind goes with the rebuild)
    for i, end, ops_len in reversed(run.change_undo):
        log.changes[<int64_t>i].end = <int32_t>end
        log.changes[<int64_t>i].ops_len = <uint32_t>ops_len
        log.refresh_vv(log.changes[<int64_t>i].peer)
    for i, saved in reversed(run.op_undo):
        memcpy(&log.ops[<int64_t>i], <char*>saved, sizeof(lc_op))
    truncate(doc, run)
    map_history_drop(doc)       # it may hold writes of changes cut off or cut back
    log.keys_truncate(run.n_keys)
    for r in doc.roots[run.n_roots:]:
        if <int64_t>r < doc.n_containers:
            doc.croot[<uint32_t>r] = ROOT_HIDDEN
    del doc.roots[run.n_roots:]
    for r in doc.roots_due:
        if <int64_t>r < doc.n_containers and (not run.roots_due or r not in run.roots_due):
            doc.croot[<uint32_t>r] = ROOT_HIDDEN
    doc.roots_due.clear()
    if run.roots_due:
        doc.roots_due.update(run.roots_due)
    for i, saved in reversed(run.rec_undo):
        memcpy(&doc.staged[<int64_t>i], <char*>saved, sizeof(lc_staged))
    doc.n_staged = run.n_pending_before
    doc.n_sdeps = run.n_sdeps
    rebuild_pending(doc, run.turns_before)
    if rebuild:
        rebuild_state(doc)
    elif state_touched:
        doc.tracker_at_head = True
        move_tracker_home(doc)
        ml_after_undo(doc)      # MovableList elements, from the log cut back
        tree_after_undo(doc)    # trees, from the log cut back (state/tree.pxi)


cdef int unapply(LoroDoc doc, ImportRun run) except -1:
    """Undo the state changes of the changes this import applied (all in the log but the
    rejected one, which may have applied some of its ops). Raises AssertionError when the
    structures are not as expected; the caller then rebuilds."""
    cdef OpLog log = doc.log
    cdef lc_staged *st
    cdef int64_t i
    cdef uint32_t p
    cdef dict cuts = {}         # peer index -> its first counter this import applied
    if run.applying >= 0 and run.ops_started:
        if run.logged:
            raise AssertionError("the rejected change is already in the log")
        # the rejected change's ops before the bad one: the tracker covers them, the log not
        st = &doc.staged[run.applying]
        if doc.tvv[st.peer] > st.counter:
            tracker_move(doc.seq, st.peer, st.counter, doc.tvv[st.peer], False)
            doc.tvv[st.peer] = st.counter
        cuts[st.peer] = st.counter
    # from the tracker's version (inside the log) to the log's head, where every op is in
    # effect (or, when queued changes are left, to the version of those applied); then
    # retreating exactly this import's ops gives the state before it
    if doc.n_dq > 0:
        deferred_unwind(doc)
    else:
        move_tracker_to_head(doc)
    for i in range(run.n_changes, log.n_changes):
        p = log.changes[i].peer
        if log.changes[i].counter < cuts.get(p, INT32_MAX):
            cuts[p] = log.changes[i].counter
    for i, end, ops_len in run.change_undo:
        p = log.changes[<int64_t>i].peer
        if end < cuts.get(p, INT32_MAX):
            cuts[p] = end
    for p, cut in cuts.items():
        tracker_move(doc.seq, p, cut, doc.tvv[p], False)
        doc.tvv[p] = cut
    joins = []
    for p, cut in cuts.items():
        drop_atoms(doc.seq, p, cut, joins)
    # (the runs the dropped inserts split are one span again: the snapshot encodes spans)
    rejoin_spans(doc.seq, joins)
    restore_journals(doc, run)
    drop_trees(doc.seq, run.n_trees)
    doc.n_unapplies += 1
    return 0


cdef int restore_journals(LoroDoc doc, ImportRun run) except -1:
    """Put back the map entries and counter values this import overwrote, newest first
    (the state of containers it created is dropped with them)."""
    cdef int64_t i
    cdef lc_map_undo *j
    cdef lc_map_entry *e
    for i in range(doc.n_map_journal - 1, -1, -1):
        j = &doc.map_journal[i]
        if j.map >= run.n_maps:
            continue
        if not j.existed:
            lc_map_remove(&doc.maps[j.map], j.key)
            continue
        e = lc_map_find(&doc.maps[j.map], j.key)
        if e == NULL:
            raise AssertionError("a journaled map entry is missing")
        e.lamport = j.lamport
        e.peer = j.peer
        lc_map_set_slot(&doc.maps[j.map], e, j.slot)
    doc.n_map_journal = 0
    return 0


cdef truncate(LoroDoc doc, ImportRun run):
    """Cut every arena back to the marks of `run`."""
    cdef int64_t i
    cdef int64_t n_containers = run.n_containers
    doc.log.groups_rollback(run.n_gundo)
    doc.log.truncate(run.n_changes, run.n_ops, <const lc_id*><char*>run.frontiers,
                     len(run.frontiers) // sizeof(lc_id), run.next_lamport)
    doc.log.fmap_restore(run.fmap)
    doc.log.drop_peers(run.n_peers)
    del doc.log.values[run.n_values:]
    del doc.log.messages[run.n_msgs:]
    doc.seq.truncate_text(run.n_text)
    if doc.lstr_len > run.lstr_len:
        # Loro rolls its string arena back by copying what it kept into a fresh default
        # buffer (grown as usual), so the next text starts a new buffer (measured on loro
        # 1.17.1)
        doc.lstr_cap = LC_LSTR_MIN_CAP
        lstr_grow_to(doc, run.lstr_len)
        doc.lstr_len = run.lstr_len
    doc.lval_len = run.lval_len
    for i in range(n_containers, doc.n_containers):
        cid = doc.cids[i]
        del doc.cid_index[cid]
        if isinstance(cid, _types.ContainerID.Root):
            del doc.cid_by_key[(cid.name, doc.ckind[i])]
        else:
            doc.cid_by_key.pop((cid.peer, cid.counter, doc.ckind[i]), None)
    del doc.cids[n_containers:]
    # maps are numbered in container order: drop the tables of the containers cut off
    for i in range(run.n_maps, doc.n_maps):
        lc_map_free(&doc.maps[i])
    doc.n_maps = run.n_maps
    doc.n_containers = n_containers

# The staging API: decoders open a change, add its deps and ops, and close it. Ops go
# straight into the op arena; nothing is applied until apply_staged().

cdef int64_t stage_begin(LoroDoc doc, uint64_t peer, int32_t counter, int64_t end, int64_t lamport,
                         int64_t timestamp, int64_t n_deps) except -2:
    """Open a staged change covering counters [counter, end); -1 when nothing of it is needed
    (already in the log, or a copy of a pending change at least as long): the caller then
    skips its ops, so known and repeated updates stage nothing."""
    cdef OpLog log = doc.log
    cdef ImportRun run = <ImportRun>doc.import_run
    cdef uint32_t p = log.peer_index(peer)
    cdef lc_staged *st
    if counter < 0:
        raise DecodeError(f"change {counter}@{peer} has a negative counter")
    if end <= counter or end > INT32_MAX:
        raise DecodeError(f"change {counter}@{peer} has a bad end counter {end}")
    if not 0 <= lamport <= 0xFFFFFFFFU:
        raise DecodeError(f"lamport {lamport} of change {counter}@{peer} is out of range")
    if n_deps < 0 or n_deps > 0xFFFFFF:
        raise DecodeError(f"change {counter}@{peer} claims {n_deps} dependencies")
    if counter < log.vv[p] and doc.cold_peers is not None:
        if run.known_reach is None:
            run.known_reach = {}
        note_known_part(doc, run.known_reach, p, min(end, log.vv[p]), log.vv[p])
    if end <= log.vv[p]:
        return -1
    if run.known.batch_end is not None and end <= known_end_of(run.known, p):
        # in a batch, what the blobs before this one brought: loro has imported them.
        # Staging the copy would let it replace a shorter one another blob continues
        if doc.snap_hi > doc.snap_lo:
            run.batch_known.append((p, counter, end))
        return -1
    found = run.pending.at.get((p, counter))
    if found is not None:
        st = &doc.staged[<int64_t>found]
        if st.end == end:
            run.dups.append((p, counter, end, found))
            run.dup_at.append(doc.n_staged)
            run.dup_blob.append(len(run.blob_ends))
            return -1
        if st.end > end:
            # a shorter copy (cut where the sender's change ended then): Loro applies it
            # first and trims the pending one, so both are kept and the change boundary falls
            # where this copy ends
            return stage_new(doc, run, p, peer, counter, end, lamport, timestamp, n_deps)
        # this copy is longer (the sender extended the change since): it replaces the old one
        journal_record(doc, run, found)
        st = &doc.staged[<int64_t>found]
        st.flags |= LC_STAGED_DEAD
        del run.pending.at[(p, counter)]
        run.pending.holes += 1
    return stage_new(doc, run, p, peer, counter, end, lamport, timestamp, n_deps)


cdef int64_t stage_new(LoroDoc doc, ImportRun run, uint32_t p, uint64_t peer, int32_t counter,
                       int64_t end, int64_t lamport, int64_t timestamp, int64_t n_deps) except -2:
    cdef OpLog log = doc.log
    cdef lc_staged *st
    if doc.n_staged == doc.cap_staged:
        doc.staged = <lc_staged*>grow(doc.staged, &doc.cap_staged, doc.n_staged + 1, sizeof(lc_staged))
    if doc.n_sdeps + n_deps > doc.cap_sdeps:
        doc.sdeps = <lc_id*>grow(doc.sdeps, &doc.cap_sdeps, doc.n_sdeps + n_deps, sizeof(lc_id))
    st = &doc.staged[doc.n_staged]
    memset(st, 0, sizeof(lc_staged))
    st.sort_peer = peer
    st.peer = p
    st.counter = counter
    st.end = counter
    st.lamport = <uint32_t>lamport
    st.timestamp = timestamp
    st.msg = -1
    st.deps_off = doc.n_sdeps
    st.ops_off = log.n_ops
    run.expect_end = end
    run.known_end = log.vv[p]
    return doc.n_staged

cdef int stage_dep(LoroDoc doc, uint64_t peer, int32_t counter) except -1:
    """Add a dependency to the open change (capacity was reserved by stage_begin)."""
    if counter < 0:
        raise DecodeError(f"dependency counter {counter} is out of range")
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    doc.sdeps[st.deps_off + st.deps_len] = make_id(doc.log.peer_index(peer), counter)
    st.deps_len += 1
    doc.n_sdeps = st.deps_off + st.deps_len
    return 0

cdef uint32_t stage_container(LoroDoc doc, object cid, uint32_t op_kind) except? 0xFFFFFFFF:
    """The container index for an op of `op_kind` on `cid`, checking the kinds agree."""
    cdef ImportRun run = <ImportRun>doc.import_run
    # keyed by identity (decoders reuse one object per container); the entry keeps the
    # object alive so its id cannot be reused by another container during this import
    memo = run.memo.get(id(cid))
    if memo is not None:
        c = (<tuple>memo)[0]
        ckind = (<tuple>memo)[1]
    else:
        found = doc.cid_index.get(cid)
        if found is not None:
            # registered already (decoders hand back the document's own id objects, so
            # the probe hits by identity): no kind lookup through the ContainerType
            c = found
            ckind = doc.ckind[<uint32_t>found]
        else:
            ckind = kind_of_type(cid.container_type)
            if not kind_has_state(ckind):
                raise DecodeError(f"{_TYPE_NAMES[ckind]} containers are not supported by loro_c yet")
            c = container_index(doc, cid, ckind)
        run.memo[id(cid)] = (c, ckind, cid)
        if cid not in doc.lnum:
            # a child created earlier in this import and deferred (stage_value): loro
            # numbers it at the first op on it
            if doc.meta_n and doc.meta_q[2] == -2:
                lnum_flush_marked(doc)      # (after the meta maps an earlier blob created)
            lnum_add(doc, cid)      # (a mergeable child's parent right after it)
    if not op_fits_kind(op_kind, ckind):
        raise DecodeError(f"an op of kind {op_kind} cannot target {cid} (a {_TYPE_NAMES[ckind]})")
    return c

cdef lc_op* stage_op(LoroDoc doc, uint32_t c, uint32_t kind, int32_t counter, int64_t n) except NULL:
    """Append an op of `n` atoms to the open change; its counter must continue the
    change's. The caller fills the kind-specific fields, and stages the op's content only
    when stage_dropped() is false: an op the document already has (the known prefix of a
    change) is not kept."""
    cdef ImportRun run = <ImportRun>doc.import_run
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    if counter != st.end:
        raise DecodeError(f"op counter {counter} of change {st.counter}@{doc.log.peer_ids[st.peer]} "
                          f"does not follow {st.end}")
    if n <= 0 or <int64_t>counter + n > INT32_MAX:
        raise DecodeError(f"op {counter}@{doc.log.peer_ids[st.peer]} has a bad length {n}")
    st.end = <int32_t>(counter + n)
    if st.end <= run.known_end:
        return &run.discard
    cdef lc_op *op = doc.log.push_op()
    op.container = c
    op.kind = kind
    op.counter = counter
    op.len = <int32_t>n
    return op

cdef bint stage_dropped(LoroDoc doc, const lc_op *op) noexcept:
    """Whether `op` (from stage_op) is one the document already has: stage nothing of it."""
    return op == &(<ImportRun>doc.import_run).discard

cdef int stage_end(LoroDoc doc, object msg) except -1:
    """Close the open change: keep it, or drop it when it is already known."""
    cdef OpLog log = doc.log
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    st.ops_len = <uint32_t>(log.n_ops - st.ops_off)
    if st.ops_len == 0:
        raise DecodeError(f"change {st.counter}@{log.peer_ids[st.peer]} has no ops")
    cdef ImportRun run = <ImportRun>doc.import_run
    cdef int64_t i
    if st.end != run.expect_end:
        raise DecodeError(f"the ops of change {st.counter}@{log.peer_ids[st.peer]} end at {st.end}, "
                          f"not at {run.expect_end}")
    if doc.shallow_sv is not None:
        if shallow_outdated(doc, st, run.known_end):
            # dropped, never pending (loro sets such changes aside while it decodes)
            st.flags |= LC_STAGED_DEAD
            run.outdated = run.blob_outdated = True
    if not run.applies and not (st.flags & LC_STAGED_DEAD):
        run.applies = True
        for i in range(st.deps_off, st.deps_off + st.deps_len):
            if not log.includes(doc.sdeps[i]):
                run.applies = False
                break
    if msg is not None:
        st.msg = len(log.messages)
        log.messages.append(msg)
    doc.n_staged += 1
    return 0

cdef object stage_tuple(LoroDoc doc, tuple raw):
    """Stage one decoded change tuple (the JSON decoder's output)."""
    cdef OpLog log = doc.log
    peer, counter, lamport, timestamp, msg, deps, ops = raw
    cdef lc_op *op
    cdef uint32_t kind, c
    cdef Py_ssize_t n
    cdef uint32_t stack[STACK_CPS]
    cdef uint32_t *cps
    cdef lc_op skipped
    known_tuple((<ImportRun>doc.import_run).known, raw)
    if stage_begin(doc, peer, counter, counter + tuple_ops_len(ops), lamport, timestamp,
                   len(deps)) < 0:
        # Loro decodes (and allocates) the ops of changes it already has too
        for o in ops:
            if o[0] == LC_OP_INSERT and isinstance(o[4], str):
                lstr_place(doc, &skipped, len(o[4].encode("utf-8", "surrogatepass")))
            elif o[0] == LC_OP_INSERT and isinstance(o[4], list):
                lval_place(doc, &skipped, len(o[4]), True)
        return None
    for dp, dc in deps:
        stage_dep(doc, dp, dc)
    for o in ops:
        kind = o[0]
        c = stage_container(doc, o[1], kind)
        if kind == LC_OP_INSERT:
            content = o[4]
            if doc.ckind[c] == KIND_TEXT:
                if not isinstance(content, str):
                    raise DecodeError("a text insert needs a string")
                n = PyUnicode_GET_LENGTH(content)
                op = stage_op(doc, c, kind, o[2], n)
                cps = str_to_cps(content, stack, n)
                try:
                    if not stage_dropped(doc, op):
                        op.arg = doc.seq.append_text(cps, n)
                    lstr_place(doc, op, utf8_bytes(cps, n))
                finally:
                    if cps != stack:
                        free(cps)
            else:
                if not isinstance(content, list):
                    raise DecodeError("a list insert needs a list of values")
                op = stage_op(doc, c, kind, o[2], len(content))
                if not stage_dropped(doc, op):
                    op.arg = len(log.values)
                    for i, v in enumerate(content):
                        stage_value(doc, v, peer, o[2] + i)
                    log.values.extend(content)
                lval_place(doc, op, len(content), True)
            op.pos = o[3]
        elif kind == LC_OP_DELETE:
            if o[4] == 0 or not -INT32_MAX <= o[4] <= INT32_MAX:
                raise DecodeError(f"bad delete length {o[4]}")
            op = stage_op(doc, c, kind, o[2], abs(o[4]))
            op.pos = o[3]
            op.arg = o[4]
            op.start_id = make_id(log.peer_index(o[5]), o[6])
        elif kind == LC_OP_MARK_START:
            op = stage_op(doc, c, kind, o[2], 1)
            op.pos = o[3]
            if not stage_dropped(doc, op):
                op.start_id = make_id(log.key_index(o[5]), o[4])
                op.arg = len(log.values)
                log.values.append(o[6])
            op.delta = o[7]
        elif kind == LC_OP_MARK_END:
            stage_op(doc, c, kind, o[2], 1)
        elif kind == LC_OP_MAP_SET:
            op = stage_op(doc, c, kind, o[2], 1)
            if not stage_dropped(doc, op):
                op.pos = log.key_index(o[3])
                stage_value(doc, o[4], peer, o[2])
                op.arg = len(log.values)
                log.values.append(o[4])
        elif kind == LC_OP_MAP_DELETE:
            op = stage_op(doc, c, kind, o[2], 1)
            op.pos = log.key_index(o[3])
            op.arg = -1
        elif kind == LC_OP_MOVE or kind == LC_OP_SET:
            stage_movable_tuple(doc, c, o, peer)
        elif kind == LC_OP_TREE:
            stage_tree_tuple(doc, c, o)
        else:
            op = stage_op(doc, c, kind, o[2], 1)
            op.delta = o[3]
    stage_end(doc, msg)
    return None

cdef int stage_movable_tuple(LoroDoc doc, uint32_t c, tuple o, object peer) except -1:
    """A MovableList move (OP_MOVE, cid, counter, from, to, elem_peer, elem_lamport) or set
    (OP_SET, cid, counter, elem_peer, elem_lamport, value); layout in state/movable_list.pxi."""
    cdef OpLog log = doc.log
    cdef lc_op *op = stage_op(doc, c, o[0], o[2], 1)
    ep, el = (o[5], o[6]) if o[0] == LC_OP_MOVE else (o[3], o[4])
    if not 0 <= el <= 0xFFFFFFFF:
        raise DecodeError(f"element Lamport {el} is out of range")
    op.start_id = make_id(log.peer_index(ep), <int32_t><uint32_t>el)
    if o[0] == LC_OP_MOVE:
        if not (0 <= o[3] <= INT32_MAX and 0 <= o[4] <= INT32_MAX):
            raise DecodeError(f"bad move positions {o[3]} -> {o[4]}")
        op.delta = <double>o[3]
        op.pos = o[4]
        if not stage_dropped(doc, op):
            op.arg = len(log.values)
            log.values.append(None)
    elif not stage_dropped(doc, op):
        stage_value(doc, o[5], peer, o[2])
        op.arg = len(log.values)
        log.values.append(o[5])
    return 0

cdef int stage_tree_created(LoroDoc doc, const lc_op *op) except -1:
    """A staged tree op that creates its target (the node's id is the op's): loro registers
    the node's meta map with the change's created children."""
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    if op.start_id.peer == st.peer and op.start_id.counter == op.counter:
        meta_queue(doc, doc.log.peer_ids[st.peer], op.counter, len(doc.lnum_pending))
    return 0


cdef int stage_tree_tuple(LoroDoc doc, uint32_t c, tuple o) except -1:
    """A tree op (OP_TREE, cid, counter, target_peer, target_counter, parent, fractional
    index bytes), parent None (a root), "deleted" (a delete) or (peer, counter); layout in
    kinds.h."""
    cdef OpLog log = doc.log
    cdef lc_op *op = stage_op(doc, c, LC_OP_TREE, o[2], 1)
    parent = o[5]
    if not 0 <= o[4] <= INT32_MAX:
        raise DecodeError(f"bad tree node counter {o[4]}")
    if type(o[6]) is not bytes:
        raise DecodeError("a tree op's fractional index must be bytes")
    if parent is not None and not isinstance(parent, str):
        if not 0 <= parent[1] <= INT32_MAX:
            raise DecodeError(f"bad tree parent counter {parent[1]}")
    elif isinstance(parent, str) and parent != "deleted":
        raise DecodeError(f"bad tree parent {parent!r}")
    if stage_dropped(doc, op):
        return 0
    op.start_id = make_id(log.peer_index(o[3]), <int32_t>o[4])
    stage_tree_created(doc, op)
    if parent is None:
        op.pos = LC_TREE_PARENT_ROOT
    elif isinstance(parent, str):
        op.pos = LC_TREE_PARENT_DELETED
    else:
        op.pos = log.peer_index(parent[0])
        op.delta = <double><int32_t>parent[1]
    op.arg = len(log.values)
    log.values.append(o[6])
    return 0

cdef int64_t tuple_ops_len(object ops) except -1:
    """Atoms covered by decoded op tuples (their counters are checked when staged)."""
    cdef int64_t n = 0
    for o in ops:
        kind = o[0]
        if kind == LC_OP_INSERT:
            n += len(o[4])
        elif kind == LC_OP_DELETE:
            n += abs(o[4])
        else:
            n += 1
    return n

cdef object _CID_TYPE = _types.ContainerID


cdef stage_value(LoroDoc doc, v, peer, counter):
    """A container value must name the container its op creates."""
    if plain_scalar(v):
        return
    if isinstance(v, _CID_TYPE):
        if (not isinstance(v, _types.ContainerID.Normal) or v.peer != peer
                or v.counter != counter):
            raise DecodeError(f"a created child container must be {counter}@{peer}, not {v}")
        numbered = v in doc.lnum
        container_index(doc, v, kind_of_type(v.container_type))
        if not numbered:
            # loro numbers a created child after every container its blob's ops name
            # (when it links the changes' children): hash_order ranks follow that number
            if v in doc.lnum:
                del doc.lnum[v]     # numbered just now: the last entry
            doc.lnum_pending.append(v)


cdef object apply_staged(LoroDoc doc, ImportRun run):
    """Apply every staged change whose dependencies are met, in causal order; the rest stay
    pending. This import's changes are visited by (Lamport, peer, counter); one that cannot
    apply yet waits on its first missing op (PendingIndex.waits) and is woken when that op's
    peer reaches it, together with the changes pending from earlier imports that wait there.
    So the cost follows this import's changes and the ones it unblocks: neither a blob in
    reverse order nor many blobs delivered in reverse make imports quadratic. The order is
    Loro's (see below), so changes are grouped as Loro groups them."""
    cdef OpLog log = doc.log
    cdef PendingIndex pi = run.pending
    cdef int64_t n = doc.n_staged, n_new = n - run.n_pending_before, i, k
    if doc.lnum_pending:
        lnum_flush(doc)     # (the created tree nodes' meta maps alone wait for a reader)
    cdef int64_t n_dups = len(run.dups), n_keys = n_new + n_dups
    cdef lc_sort_key *keys = <lc_sort_key*>malloc((n_keys + 1) * sizeof(lc_sort_key))
    cdef uint8_t *done = <uint8_t*>calloc(n + 1, 1)     # 0 waiting, 1 applied, 2 dropped
    cdef list stack = []        # peers whose new ops may unblock waiting changes
    cdef list set_aside = []    # this import's changes that could not apply at their turn
    cdef list old_done = []     # old pending records applied or dropped now
    cdef dict new_at = {}       # (peer index, counter) -> index of this import's waiting changes
    cdef dict success = {}      # peer index -> [start, end]
    if keys == NULL or done == NULL:
        free(keys); free(done)
        raise MemoryError()
    cdef uint32_t blob = 0
    cdef Py_ssize_t n_blobs = len(run.blob_ends)
    try:
        for i in range(n_new):
            k = run.n_pending_before + i
            while blob + 1 < n_blobs and k >= <int64_t>run.blob_ends[blob]:
                blob += 1
            keys[i].blob = blob
            keys[i].lamport = doc.staged[k].lamport
            keys[i].peer = doc.staged[k].sort_peer
            keys[i].counter = doc.staged[k].counter
            keys[i].idx = k
            if doc.staged[k].flags & LC_STAGED_DEAD:
                done[k] = 2
        # a pending change this import brought again takes the new copy's turn (Loro applies
        # the new copy then and drops the pending one)
        for i in range(n_dups):
            k = <int64_t>run.dups[i][3]
            keys[n_new + i].blob = <uint32_t>run.dup_blob[i]
            keys[n_new + i].lamport = doc.staged[k].lamport
            keys[n_new + i].peer = doc.staged[k].sort_peer
            keys[n_new + i].counter = doc.staged[k].counter
            keys[n_new + i].idx = k
        if run.given_order:
            # (a copy of a pending change takes its place among the staged ones)
            for i in range(n_new):
                keys[i].lamport = 0
                keys[i].peer = 2 * <uint64_t>i + 1
            for i in range(n_dups):
                keys[n_new + i].lamport = 0
                keys[n_new + i].peer = 2 * <uint64_t>(<int64_t>run.dup_at[i] - run.n_pending_before)
        qsort(keys, n_keys, sizeof(lc_sort_key), cmp_sort_key)
        ensure_tvv(doc)
        # (a subscriber's journal, a detached or shallow document see the order of applies)
        run.defer = (n_keys > 1 and doc.evs is None and not doc.evlog.on and not doc.detached
                     and doc.shallow_base is None and not log.has_floor)
        doc.journal_on = True
        # Loro's order, which decides where change boundaries fall when copies of a change
        # overlap and how its map of the frontiers is filled (oplog/frontier_map.pxi), blob
        # by blob in a batch: first the blob's changes by (Lamport, peer) (a JSON import's
        # as given), each applied if its dependencies are in the log and set aside
        # otherwise; then the changes waiting from earlier that the applied ones unblock,
        # peer by peer from the last one (Loro's try_apply_pending), each woken set in
        # counter order; then the ones set aside, in turn, each applied if it can be by now
        # and left waiting otherwise; then the waiting changes those unblock (session 1125
        # of tests/test_frontier_map.py: a change set aside applies after the older pending
        # ones its import's first change unblocked, though one of them unblocked it).
        i = 0
        while i < n_keys:
            blob = keys[i].blob
            while i < n_keys and keys[i].blob == blob:
                k = keys[i].idx
                i += 1
                if done[k] or doc.staged[k].flags & (LC_STAGED_DEAD | LC_STAGED_DONE):
                    continue
                if doc.staged[k].end > log.vv[doc.staged[k].peer]:
                    stack.append(doc.staged[k].peer)
                if not try_apply(doc, run, k, done, old_done, new_at, success, False) and not done[k]:
                    set_aside.append(k)
            wake_all(doc, run, pi, stack, done, old_done, new_at, success)
            for k in set_aside:
                if try_apply(doc, run, k, done, old_done, new_at, success, True):
                    stack.append(doc.staged[k].peer)
            del set_aside[:]
            wake_all(doc, run, pi, stack, done, old_done, new_at, success)
        apply_deferred(doc)
        move_tracker_home(doc)
        doc.journal_on = False
        flush_import_deltas(doc, True)
        return finish(doc, run, done, old_done, success, new_at)
    finally:
        doc.journal_on = False
        free(keys)
        free(done)


cdef int wake_all(LoroDoc doc, ImportRun run, PendingIndex pi, list stack, uint8_t *done,
                  list old_done, dict new_at, dict success) except -1:
    """Apply the waiting changes that the ops of the peers on `stack` unblock, and those
    these unblock in turn, the last peer first (Loro's try_apply_pending)."""
    cdef list batch
    while stack:
        batch = []
        wake(doc, pi, new_at, <uint32_t>stack.pop(), batch)
        for k in batch:
            if try_apply(doc, run, k, done, old_done, new_at, success, True):
                stack.append(doc.staged[k].peer)
    return 0


cdef bint try_apply(LoroDoc doc, ImportRun run, int64_t k, uint8_t *done, list old_done,
                    dict new_at, dict success, bint park) except -1:
    """Apply staged change k if its dependencies are in the log (True), drop it if the log
    has it, or (`park`) leave it waiting on its first missing op."""
    cdef lc_staged *st = &doc.staged[k]
    cdef lc_id missing
    cdef int state
    if done[k] or st.flags & (LC_STAGED_DEAD | LC_STAGED_DONE):
        return False
    state = ready(doc, run, k, &missing)
    if state == 0:
        if not park:
            return False
        if k < run.n_pending_before:
            key = (doc.staged[k].peer, doc.staged[k].counter)
            if key not in run.turns_before:
                run.turns_before[key] = run.pending.turn.get(key)
        pending_wait(run.pending, missing, &doc.staged[k])
        if k >= run.n_pending_before:
            new_at[(doc.staged[k].peer, doc.staged[k].counter)] = k
        return False
    done[k] = state
    if k < run.n_pending_before:
        old_done.append(k)
    if state == 2:
        return False
    st = &doc.staged[k]
    span = success.get(st.peer)
    if span is None:
        success[st.peer] = [st.counter, st.end]
    else:
        if st.counter < span[0]:
            span[0] = st.counter
        if st.end > span[1]:
            span[1] = st.end
    apply_one(doc, run, k)
    return True


cdef int wake(LoroDoc doc, PendingIndex pi, dict new_at, uint32_t peer, list woken) except -1:
    """Queue the pending changes (older ones, or this import's in `new_at`) that waited on
    an op of `peer` now in the log."""
    heap = pi.waits.get(peer)
    if heap is None:
        return 0
    cdef int32_t known = doc.log.vv[peer]
    while heap and heap[0][0] < known:
        _, _, rp, rc = heappop(heap)
        found = pi.at.get((rp, rc))
        if found is not None:
            woken.append(found)
        found = new_at.get((rp, rc))
        if found is not None:
            woken.append(found)
    if not heap:
        del pi.waits[peer]
    return 0


cdef object finish(LoroDoc doc, ImportRun run, uint8_t *done, list old_done, dict success,
                   dict new_at):
    """Keep this import's changes that still wait (compacted after the older pending ones)
    and build the ImportStatus: what applied, and which of this import's changes wait (loro
    reports those; import_batch reports every pending change)."""
    cdef OpLog log = doc.log
    cdef PendingIndex pi = run.pending
    cdef int64_t n = doc.n_staged, i, kept = run.n_pending_before
    cdef lc_staged *st
    cdef dict pend = {}
    # the older records that applied (or turned out known) become holes
    for k in old_done:
        journal_record(doc, run, k)
        st = &doc.staged[<int64_t>k]
        st.flags |= LC_STAGED_DONE
        pi.at.pop((st.peer, st.counter), None)
        pi.turn.pop((st.peer, st.counter), None)
        pi.holes += 1
    for i in range(run.n_pending_before, n):
        if not done[i] and doc.staged[i].end <= log.vv[doc.staged[i].peer]:
            done[i] = 2     # a copy of a change that applied through its twin
        if not done[i]:
            add_range(pend, doc.staged[i].peer, doc.staged[i].counter, doc.staged[i].end)
    for key, k in new_at.items():
        if done[<int64_t>k]:
            pi.turn.pop(key, None)      # (waited, then woken and applied)
    for p, counter, end, idx in run.dups:
        # a copy of a pending change waits as long as its ops are not all in the log
        if end > log.vv[<uint32_t>p]:
            add_range(pend, p, counter, end)
    if not run.applies and not run.whole_pending:
        # nothing of this import could apply: like loro, show the roots its changes touch
        # (loro's import_batch imports detached, where this does not happen)
        # (a shallow document's loro leaves out the changes it takes for ones before its
        # root: shallow_before_root)
        for i in range(run.n_pending_before, n):
            if not done[i] and not (doc.shallow_sv is not None
                                    and shallow_before_root(doc, &doc.staged[i])):
                show_roots_of(doc, doc.staged[i].ops_off, doc.staged[i].ops_len, doc.staged[i].end)
        for p, counter, end, idx in run.dups:
            st = &doc.staged[<int64_t>idx]
            if not (doc.shallow_sv is not None and shallow_before_root(doc, st)):
                show_roots_of(doc, st.ops_off, st.ops_len, end)
    for i in range(run.n_pending_before, n):
        if done[i]:
            continue
        st = &doc.staged[i]
        prev = pi.at.get((st.peer, st.counter))
        if prev is not None:
            # two copies of one change wait: keep the longer
            if doc.staged[<int64_t>prev].end < st.end:
                doc.staged[<int64_t>prev] = st[0]
            continue
        pi.at[(st.peer, st.counter)] = kept
        doc.staged[kept] = st[0]
        kept += 1
    doc.n_staged = kept
    if run.whole_pending:
        for i in range(kept):
            st = &doc.staged[i]
            if not st.flags & (LC_STAGED_DEAD | LC_STAGED_DONE):
                add_range(pend, st.peer, st.counter, st.end)
    if pi.holes * 2 > kept or kept == 0:
        compact_pending(doc, pi)
    ids = log.peer_ids
    ok = {ids[<uint32_t>p]: (span[0], span[1]) for p, span in success.items()}
    waits = {ids[<uint32_t>p]: tuple(span) for p, span in pend.items()}
    return import_status(ok, waits if waits else None)


cdef object version_range(dict m):
    """A VersionRange holding `m` as it is: its peers are u64 and its bounds i32 already
    (from_map's checks, a Python call per entry, are for user input)."""
    vr = _VersionRange.__new__(_VersionRange)
    PyObject_GenericSetAttr(vr, "_m", m)
    return vr


cdef object import_status(dict ok, dict waits):
    """ImportStatus(VersionRange(ok), VersionRange(waits) or None), built without its
    Python __init__ (the frozen class's fields set through the generic setter)."""
    cls = _types.ImportStatus
    success = version_range(ok)
    pending = version_range(waits) if waits is not None else None
    if cls is not _ImportStatus:
        # replaced (tests interrupt an import there, after it applied)
        return cls(success, pending)
    st = _ImportStatus.__new__(_ImportStatus)
    PyObject_GenericSetAttr(st, "success", success)
    PyObject_GenericSetAttr(st, "pending", pending)
    return st


cdef int compact_pending(LoroDoc doc, PendingIndex pi) except -1:
    """Drop the holes (amortised: done once they outnumber the live records)."""
    cdef int64_t i, kept = 0
    turn = pi.turn
    pi.at.clear()
    pi.turn = {}
    for i in range(doc.n_staged):
        if doc.staged[i].flags & (LC_STAGED_DEAD | LC_STAGED_DONE):
            continue
        doc.staged[kept] = doc.staged[i]
        key = (doc.staged[kept].peer, doc.staged[kept].counter)
        pi.at[key] = kept
        if key in turn:
            pi.turn[key] = turn[key]
        kept += 1
    doc.n_staged = kept
    pi.holes = 0
    if kept == 0:
        doc.n_sdeps = 0
        pi.waits.clear()
    return 0


cdef int show_roots_of(LoroDoc doc, int64_t ops_off, uint32_t ops_len, int32_t end) except -1:
    """Show the root containers of the ops before `end` in an op range."""
    cdef int64_t i
    for i in range(ops_off, ops_off + ops_len):
        if doc.log.ops[i].counter >= end:
            break
        show_root(doc, doc.log.ops[i].container)
    return 0


cdef add_range(dict ranges, object p, int32_t start, int32_t end):
    span = ranges.get(p)
    if span is None:
        ranges[p] = [start, end]
    else:
        if start < span[0]:
            span[0] = start
        if end > span[1]:
            span[1] = end


cdef bint first_missing(LoroDoc doc, const lc_staged *st, lc_id *missing) noexcept:
    """Whether change `st` lacks an op it depends on; the first such op goes to `missing`."""
    cdef OpLog log = doc.log
    cdef int64_t i
    if st.counter > log.vv[st.peer]:
        missing.peer = st.peer
        missing.counter = st.counter - 1
        return True
    for i in range(st.deps_off, st.deps_off + st.deps_len):
        if not log.includes(doc.sdeps[i]):
            missing[0] = doc.sdeps[i]
            return True
    return False


cdef int ready(LoroDoc doc, ImportRun run, int64_t k, lc_id *missing) except -1:
    """0: wait (the first missing op goes to `missing`), 1: apply now, 2: drop (already
    known). Trims a partly known change; an old pending record is journaled first."""
    cdef OpLog log = doc.log
    cdef lc_staged *st = &doc.staged[k]
    cdef int32_t known = log.vv[st.peer]
    cdef int32_t cut
    cdef int64_t i
    cdef lc_op *op
    if st.end <= known:
        return 2
    if first_missing(doc, st, missing):
        return 0
    if st.counter < known:
        journal_record(doc, run, k)
        st = &doc.staged[k]
        # drop the known prefix: whole ops, then a slice of the op that straddles `known`
        i = st.ops_off
        while log.ops[i].counter + log.ops[i].len <= known:
            i += 1
        op = &log.ops[i]
        if known > op.counter:
            if i < run.n_ops:
                run.op_undo.append((i, (<char*>op)[:sizeof(lc_op)]))
            cut = known - op.counter
            slice_op(op, cut)
            if op.kind == LC_OP_INSERT and lc_insert_is_text(op):
                # a text insert's start in Loro's string arena moves by the bytes cut off
                op.start_id.counter += <int32_t>utf8_bytes(&doc.seq.text[op.arg - cut], cut)
        st.ops_len -= <uint32_t>(i - st.ops_off)
        st.ops_off = i
        st.counter = known
        # the rest depends on the known prefix only
        if doc.n_sdeps == doc.cap_sdeps:
            doc.sdeps = <lc_id*>grow(doc.sdeps, &doc.cap_sdeps, doc.n_sdeps + 1, sizeof(lc_id))
            st = &doc.staged[k]
        doc.sdeps[doc.n_sdeps] = make_id(st.peer, known - 1)
        st.deps_off = doc.n_sdeps
        st.deps_len = 1
        doc.n_sdeps += 1
    return 1

cdef int place_held_fold(LoroDoc doc, ImportRun run, uint32_t peer, int64_t off,
                         uint32_t n) except -1:
    """Loro folds an imported list insert into the peer's op before it (as Loro holds it)
    when that op is an imported insert applied by the same import (any length), or one of
    one value applied earlier, wherever the values lie in its value arena (measured on loro
    1.17.1: a value allocated in between, delivery in reverse order, pending changes, do not
    stop it). One op's values must be contiguous in OpLog.values, so an insert of the change
    (not applied yet) that folds so gets, when its values do not follow, a copy of the held
    op's values followed by its own at the end of the arena; start_id.counter -1 tells
    merge_ops the fold holds (oplog.h, LC_VAL_IMPORTED)."""
    cdef OpLog log = doc.log
    cdef lc_op held
    cdef lc_op *b
    cdef bint have = log.groups[peer].has_last_op
    cdef bint same_run = run.applied_end.get(peer, -1) == log.ops[off].counter
    cdef int64_t i
    cdef Py_ssize_t at
    if have:
        held = log.groups[peer].last_op
    for i in range(off, off + n):
        b = &log.ops[i]
        if (have and b.kind == LC_OP_INSERT and b.start_id.peer == LC_VAL_IMPORTED
                and held.kind == LC_OP_INSERT and held.start_id.peer == LC_VAL_IMPORTED
                and (same_run or held.len == 1) and held.container == b.container
                and held.counter + held.len == b.counter and held.pos + held.len == b.pos):
            if b.start_id.counter != -1:
                if i < run.n_ops:
                    run.op_undo.append((i, (<char*>b)[:sizeof(lc_op)]))
                if b.arg != held.arg + held.len:
                    values = log.values
                    at = len(values)
                    values.extend(values[held.arg:held.arg + held.len])
                    values.extend(values[b.arg:b.arg + b.len])
                    b.arg = at + held.len
                b.start_id.counter = -1
            merge_ops(&held, b)
        else:
            held = b[0]
            have = True
        same_run = True     # the change's own ops fold as one import's
    return 0


cdef const lc_id *deps_as_kept(LoroDoc doc, const lc_staged *st, lc_id *small,
                               lc_id **owned) except? NULL:
    """A staged change's deps in the order loro's change keeps them: a Frontiers built by
    pushing the decoded ids in turn (its own previous op first, as a block's header
    lists the deps, or the JSON change's list) into a hash map of peer to counter, which
    yields them in its bucket order (block_meta_encode.rs decode_changes_header, and
    json_schema.rs decode_changes' Frontiers::from_iter). That order is what loro's
    export then writes (encode_changes walks change.deps), so a change relayed through
    loro can list its deps in another order at each hop: peers 1 and 2 share a bucket
    (a change depending on both, re-exported, swaps them). `small` holds up to 8; more
    go to `*owned`, which the caller frees. Deps naming one peer twice are kept as sent."""
    cdef const lc_id *sent = &doc.sdeps[st.deps_off]
    cdef int64_t n = st.deps_len, i, j
    cdef uint64_t hs_small[8]
    cdef int64_t order_small[8]
    cdef uint64_t *hs = hs_small
    cdef int64_t *order = order_small
    cdef lc_id *out = small
    if n < 2:
        return sent
    for i in range(n):
        for j in range(i):
            if sent[i].peer == sent[j].peer:
                return sent
    if n > 8:
        hs = <uint64_t*>malloc(n * sizeof(uint64_t))
        order = <int64_t*>malloc(n * sizeof(int64_t))
        out = owned[0] = <lc_id*>malloc(n * sizeof(lc_id))
        if hs == NULL or order == NULL or out == NULL:
            free(hs)
            free(order)
            raise MemoryError()
    try:
        for i in range(n):
            hs[i] = fx_finish(fx_add(0, doc.log.peer_ids[sent[i].peer]))
        hb_table_order(hs, n, order)
        for i in range(n):
            out[i] = sent[order[i]]
    finally:
        if n > 8:
            free(hs)
            free(order)
    return out


cdef int apply_one(LoroDoc doc, ImportRun run, int64_t k) except -1:
    """Integrate staged change k (its dependencies are in the log) and log it."""
    cdef lc_id *owned = NULL
    try:
        return apply_one_change(doc, run, k, &owned)
    finally:
        free(owned)


cdef int apply_one_change(LoroDoc doc, ImportRun run, int64_t k, lc_id **owned) except -1:
    cdef OpLog log = doc.log
    cdef lc_staged st = doc.staged[k]
    cdef lc_id small[8]
    cdef const lc_id *deps = deps_as_kept(doc, &st, small, owned)
    cdef uint32_t lamport = 0, lp
    cdef uint32_t i
    cdef lc_change *last
    cdef bint root_op = doc.shallow_base is not None and st.counter < <int32_t>doc.shallow_base.get(st.peer, 0)
    for i in range(st.deps_len):
        lp = log.lamport_of(deps[i]) + 1
        if lp > lamport:
            lamport = lp
    if root_op:
        lamport = st.lamport        # its deps are trimmed history: the Lamport sent
    run.applying = k
    run.ops_started = False
    run.logged = False
    if not root_op and st.ops_len > 0:
        place_held_fold(doc, run, st.peer, st.ops_off, st.ops_len)
    if root_op:
        # a change holding one of the shallow root's ops: those are in the base state
        run.ops_started = True
        shallow_apply_root_change(doc, st.ops_off, st.ops_len, st.peer, st.counter, lamport)
    elif run.defer and change_deferrable(doc, st.ops_off, st.ops_len):
        defer_change(doc, st.ops_off, st.ops_len, st.peer, st.counter, st.end, lamport, deps,
                     st.deps_len)
    else:
        apply_deferred(doc)     # (the queued changes first: one may be among its deps)
        move_tracker_to_change(doc, deps, st.deps_len, st.peer, st.counter)
        run.ops_started = True
        apply_change_ops(doc, st.ops_off, st.ops_len, st.peer, st.counter, lamport)
    msg = log.messages[st.msg] if st.msg >= 0 else None
    if log.can_extend(st.peer, st.counter, lamport, st.timestamp, deps, st.deps_len, st.ops_off, msg):
        # like loro, a change continuing the peer's last one joins it
        if log.n_changes <= run.n_changes:
            last = &log.changes[log.n_changes - 1]
            run.change_undo.append((log.n_changes - 1, last.end, last.ops_len))
        log.extend_last_change(st.end, st.ops_len)
    else:
        log.add_change(st.peer, st.counter, st.end, lamport, st.timestamp, deps, st.deps_len,
                       st.ops_off, st.ops_len, st.msg)
    # how Loro groups it into changes (independent of the op records above)
    if doc.snap_lo <= k < doc.snap_hi:
        group_kept(doc, st.peer, st.counter, st.end, lamport, st.timestamp, deps, st.deps_len,
                   st.msg, st.ops_off)
    else:
        group_change(doc, st.peer, st.counter, st.end, lamport, st.timestamp, deps, st.deps_len,
                     st.msg, False, st.ops_off, st.ops_off, st.ops_off + st.ops_len)
    run.logged = True
    run.applied_end[st.peer] = st.end
    log.update_frontiers(deps, st.deps_len, make_id(st.peer, st.end - 1))
    return 0
