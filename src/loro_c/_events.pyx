# cython: language_level=3, boundscheck=False, cdivision=True
"""Diff collection: the journal of one commit or import (include/loro_c/events.h) becomes
one ContainerDiff per changed, reachable container, in the document's coordinates after
the change (events.py holds the types, the dispatch and the async stream).

Sequences. The journal names the atoms each op inserted and, through the tracker records,
the atoms each delete op targeted. With the tracker at the document version, an atom was
visible before the batch when it is not new and its delete count minus this batch's deletes
of it is zero; it is visible now when its span is. The atoms whose visibility changed are
located in the B-tree (abs_index orders them, visible_before gives their position in the
current document) and walked in document order: the visible atoms between two of them are
retained, the newly visible ones inserted, the newly hidden ones deleted. The cost follows
the touched atoms, not the container's length.

Maps: the keys whose winner changed (map_apply journals them), with their current value.
Counters: the summed delta (an import's zero sum is dropped, a commit's is kept, as loro).
Paths: a container's parent is the container of the op that created it (its id is the op
id); the index is that op's map key while the key's winner is still this container, or the
list position of the op's atom while it is visible. A container that cannot be reached from
a root gets no diff, as in loro.
"""
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t, INT32_MIN
from libc.stdlib cimport malloc, free, qsort
from libc.string cimport memset, memcpy, memmove

from loro_c._doc cimport map_public_value, map_slot, mergeable_parent, ROOT_MERGEABLE    # mergeable children
from loro_c._doc cimport map_note_same_delete      # a checkout's map notes
from loro_c._doc cimport (LoroDoc, lc_ev_note, ROOT_NONE, ev_note, lc_map_find, lc_map_entry, KIND_TEXT, KIND_LIST,
                          KIND_MAP, KIND_COUNTER, LC_EV_INSERT, LC_EV_DELETE, LC_EV_MAP, LC_EV_COUNTER,
                          doc_acquire, doc_release)
from loro_c._doc cimport (commit_txn, text_value, list_slots, map_live, lc_map, LC_NO_KEY,
                          utf8_bytes)
from loro_c._doc cimport KIND_MOVABLE_LIST, ml_event_ops, ml_events_done, ml_index_of, ml_slots     # MovableList
from loro_c._doc cimport MovableState, lc_ml_elem      # ml_elems_before
from loro_c._kinds cimport LC_OP_SET, LC_OP_MOVE
from loro_c._doc cimport ml_import_split     # MovableList import diffs, split as loro's
from loro_c._doc cimport container_index     # a loaded tree node's meta map
from loro_c._doc cimport lnum_flush          # the created tree nodes' meta maps get numbers
from loro_c._doc cimport TextBacking      # texts loaded from a snapshot (events_checkout.pxi)
from loro_c._doc cimport LC_EV_MARK, LC_OP_MARK_START, LC_OP_COUNTER, style_attributes, text_delta_runs
from loro_c._doc cimport open_marks_before, styled_text
from loro_c._doc cimport style_chain_at
from loro_c._doc cimport (StyleMemo, STYLE_NONE, STYLE_STATE, style_memo, style_memo_state, style_load_memos,
                          memo_stamp_state, memo_at_state, memo_drop)  # loro's style map elements (state/richtext.pxi)
from loro_c._seq cimport anchors_before, LC_ANCHOR_MIN, anchors_in_prefix, LC_ANCHOR_START, LC_ANCHOR_END, LC_NO_NODE, TREE_ANCHORED, LC_NO_PEER
from loro_c._doc cimport (KIND_TREE, LC_OP_TREE, tree_event_items, tree_events_done,
                          tree_state)     # LoroTree (state/tree.pxi)
from loro_c._kinds cimport LC_TREE_PARENT_ROOT, LC_TREE_PARENT_DELETED     # tree_checkout_items
from loro_c._tree cimport TreeMoves, TREE_ROOT, TREE_DELETED                 # tree_checkout_items
from loro_c._seq cimport (SeqArena, lc_span, lc_node, lc_lens, lc_id, lc_record, lc_peer_index, make_id, span_visible, grow,
                          LC_REC_INSERT, LC_REC_DELETE_REV, locate, visible_before, abs_index)
from loro_c._oplog cimport (OpLog, lc_op, lc_change, LC_OP_INSERT, LC_OP_DELETE, LC_OP_MAP_SET,
                            LC_OP_MAP_DELETE, lc_group, lc_range_ops, range_ops_start,
                            range_ops_next, op_atoms)

from loro_c import _types
from loro_c.mergeable import parse_child as _mergeable_parse
import time
from bisect import bisect_right     # RetainRuns (and linear_delta.pxi's LinStyleMap)
from loro_c._version import ID
from loro_c._version cimport frontiers_wrap
from loro_c._types import ChangeMeta
from loro_c.events import DiffEvent, EventTriggerKind
from loro_c.events import (DiffBatch, _DocEvents, _Batch, _PeerChange, _Raised, ChangeModifier, ContainerDiff, PathItem, Diff, TextDelta, ListDiffItem,
                           MapDelta)
from loro_c.events import TreeDiff, TreeDiffItem, TreeExternalDiff     # LoroTree
from loro_c.paths import Index
from loro_c.hash_order import (container_idx, container_id_order, iteration_order, str_key_order,
                               container_id_order_ops,
                               map_diff_key_order)
from loro_c._dag_order import walk_containers as dag_walk, set_checkout as dag_walk_checkout
from loro_c._dag_order import greater_import_replays
from loro_c.rich_checkout import checkout_delta as rich_checkout_delta, Elements as StyleElements
from loro_c.rich_checkout import _Delta as RichDelta     # rich_delta: imported marks' retains
from loro_c.errors import LoroTypeError, LoroValueError
from loro_c._doc import Subscription, copy_value

include "event_values.pxi"
include "local_delta.pxi"      # a commit's Text and List deltas, as loro composes them

# the hot event values, built without their __init__ (event_values.pxi)
cdef tuple RETAIN_SLOTS = ("retain", "attributes"), INSERT_SLOTS = ("insert", "attributes")
cdef tuple DELETE_SLOTS = ("delete",), DIFF_SLOTS = ("diff",)
cdef tuple CDIFF_SLOTS = ("target", "path", "is_unknown", "diff")
cdef tuple BATCH_SLOTS = ("reg", "trigger", "origin", "diffs", "to", "event", "own_before_shown")
cdef tuple EVENT_SLOTS = ("triggered_by", "origin", "current_target", "events")
cdef value_shape RETAIN_SHAPE, INSERT_SHAPE, DELETE_SHAPE, TEXT_DIFF_SHAPE, CDIFF_SHAPE
cdef value_shape BATCH_SHAPE, EVENT_SHAPE
cdef tuple LIST_INSERT_SLOTS = ("insert", "is_move"), UPDATED_SLOTS = ("updated",)
cdef value_shape LIST_RETAIN_SHAPE, LIST_INSERT_SHAPE, LIST_DELETE_SHAPE, LIST_DIFF_SHAPE
cdef value_shape MAP_DIFF_SHAPE, MAP_DELTA_SHAPE, COUNTER_DIFF_SHAPE
shape_init(&RETAIN_SHAPE, TextDelta.Retain, RETAIN_SLOTS)
shape_init(&INSERT_SHAPE, TextDelta.Insert, INSERT_SLOTS)
shape_init(&DELETE_SHAPE, TextDelta.Delete, DELETE_SLOTS)
shape_init(&TEXT_DIFF_SHAPE, Diff.Text, DIFF_SLOTS)
shape_init(&CDIFF_SHAPE, ContainerDiff, CDIFF_SLOTS)
shape_init(&BATCH_SHAPE, _Batch, BATCH_SLOTS)
shape_init(&EVENT_SHAPE, DiffEvent, EVENT_SLOTS)
shape_init(&LIST_RETAIN_SHAPE, ListDiffItem.Retain, RETAIN_SLOTS[:1])
shape_init(&LIST_INSERT_SHAPE, ListDiffItem.Insert, LIST_INSERT_SLOTS)
shape_init(&LIST_DELETE_SHAPE, ListDiffItem.Delete, DELETE_SLOTS)
shape_init(&LIST_DIFF_SHAPE, Diff.List, DIFF_SLOTS)
shape_init(&MAP_DIFF_SHAPE, Diff.Map, DIFF_SLOTS)
shape_init(&MAP_DELTA_SHAPE, MapDelta, UPDATED_SLOTS)
shape_init(&COUNTER_DIFF_SHAPE, Diff.Counter, DIFF_SLOTS)
# tree items (tree_diff)
cdef tuple TID_SLOTS = ("peer", "counter"), TITEM_SLOTS = ("target", "action")
cdef tuple TCREATE_SLOTS = ("parent", "index", "fractional_index")
cdef tuple TMOVE_SLOTS = ("parent", "index", "fractional_index", "old_parent", "old_index")
cdef tuple TDELETE_SLOTS = ("old_parent", "old_index")
cdef value_shape TID_SHAPE, TITEM_SHAPE, TCREATE_SHAPE, TMOVE_SHAPE, TDELETE_SHAPE
shape_init(&TID_SHAPE, _types.TreeID, TID_SLOTS)
shape_init(&TITEM_SHAPE, TreeDiffItem, TITEM_SLOTS)
shape_init(&TCREATE_SHAPE, TreeExternalDiff.Create, TCREATE_SLOTS)
shape_init(&TMOVE_SHAPE, TreeExternalDiff.Move, TMOVE_SLOTS)
shape_init(&TDELETE_SHAPE, TreeExternalDiff.Delete, TDELETE_SLOTS)
cdef tuple VALUE_SLOTS = ("value",)
cdef value_shape VALUE_SHAPE
shape_init(&VALUE_SHAPE, _types.ValueOrContainer.Value, VALUE_SLOTS)
cdef object _PY_FALSE = False     # a Python object (a bare False in a cast is C's 0)
cdef tuple _TRIGGER_KINDS = (EventTriggerKind.Local, EventTriggerKind.Import,
                             EventTriggerKind.Checkout)


cdef inline object text_retain(object n, object attributes=None):
    cdef PyObject *v[2]
    v[0] = <PyObject*>n
    v[1] = <PyObject*>attributes
    return make_value(&RETAIN_SHAPE, RETAIN_SLOTS, v)


cdef inline object text_insert(object s, object attributes=None):
    cdef PyObject *v[2]
    v[0] = <PyObject*>s
    v[1] = <PyObject*>attributes
    return make_value(&INSERT_SHAPE, INSERT_SLOTS, v)


cdef inline object text_delete(object n):
    cdef PyObject *v[1]
    v[0] = <PyObject*>n
    return make_value(&DELETE_SHAPE, DELETE_SLOTS, v)


cdef inline object text_diff(list items):
    cdef PyObject *v[1]
    v[0] = <PyObject*>items
    return make_value(&TEXT_DIFF_SHAPE, DIFF_SLOTS, v)


cdef inline object one_slot(value_shape *shape, tuple names, object x):
    cdef PyObject *v[1]
    v[0] = <PyObject*>x
    return make_value(shape, names, v)


cdef inline object list_insert(list items):
    cdef PyObject *v[2]
    v[0] = <PyObject*>items
    v[1] = <PyObject*>_PY_FALSE
    return make_value(&LIST_INSERT_SHAPE, LIST_INSERT_SLOTS, v)


cdef inline object list_diff(list items):
    return one_slot(&LIST_DIFF_SHAPE, DIFF_SLOTS, items)


cdef inline object map_diff_of(dict updated):
    return one_slot(&MAP_DIFF_SHAPE, DIFF_SLOTS,
                    one_slot(&MAP_DELTA_SHAPE, UPDATED_SLOTS, updated))


cdef inline object container_diff(object cid, object path, object d):
    cdef PyObject *v[4]
    v[0] = <PyObject*>cid
    v[1] = <PyObject*>path
    v[2] = <PyObject*>_PY_FALSE
    v[3] = <PyObject*>d
    return make_value(&CDIFF_SHAPE, CDIFF_SLOTS, v)


cdef object queued_batch(reg, int trigger, origin, list diffs, to, dict own=None):
    """A _Batch for the delivery queue, with the DiffEvent a lone root subscriber gets."""
    cdef PyObject *v[7]
    cdef object kind = _TRIGGER_KINDS[trigger], t = trigger, event
    v[0] = <PyObject*>kind
    v[1] = <PyObject*>origin
    v[2] = <PyObject*>None
    v[3] = <PyObject*>diffs
    event = make_value(&EVENT_SHAPE, EVENT_SLOTS, v)
    v[0] = <PyObject*>reg
    v[1] = <PyObject*>t
    v[2] = <PyObject*>origin
    v[3] = <PyObject*>diffs
    v[4] = <PyObject*>to
    v[5] = <PyObject*>event
    v[6] = <PyObject*>own
    return make_value(&BATCH_SHAPE, BATCH_SLOTS, v)

cdef extern from "Python.h":
    object PyUnicode_FromKindAndData(int kind, const void *buffer, Py_ssize_t size)
    int PyUnicode_4BYTE_KIND
    int PyGC_Disable()
    int PyGC_Enable()

# loro drops an imported counter diff smaller than f64::EPSILON
cdef double F64_EPSILON = 2.220446049250313e-16

cdef object _wrap = None
# a root's path item, built once per root (path lists are new for each event)
cdef dict _root_items = {}
cdef dict _root_items_by_id = {}    # id(cid) -> (cid, its item in _root_items)


def subscribe(LoroDoc doc, cid, callback):
    """Register a diff-event subscriber (cid None: every event) and start journaling."""
    if not callable(callback):
        raise LoroValueError("callback must be callable")
    if cid is not None and not isinstance(cid, _types.ContainerID):
        raise LoroTypeError(f"expected a ContainerID, not {type(cid).__name__}")
    lnum_flush(doc)
    if cid is not None and cid not in doc.lnum:
        # loro registers the container in its arena here (its number orders events' diffs)
        doc.lnum[cid] = len(doc.lnum)
    return _register(doc, lambda reg: reg.root if cid is None else reg.by_cid.setdefault(cid, []),
                     callback)


def subscribe_hook(LoroDoc doc, callback):
    """Register one of the library's own listeners (the UndoManager): it gets each queued
    _Batch before the user's subscribers do. Starts journaling like subscribe."""
    return _register(doc, lambda reg: reg.hooks, callback)


cdef object _register(LoroDoc doc, pick, callback):
    doc_acquire(doc)
    try:
        if doc.evs is None:
            doc.evs = _DocEvents()
        if not doc.evlog.on:
            doc.evlog.on = 1
            note_open_txn(doc)
        return Subscription(pick(doc.evs), callback)
    finally:
        doc_release(doc)


def import_begin(LoroDoc doc):
    """Before an import (under the lock): commit the open transaction (its event comes
    first) and remember the version, to tell later whether every imported change follows it."""
    cdef int64_t i
    commit_txn(doc)
    if doc.style_loaded is not None and doc.evs is not None:
        style_load_memos(doc)       # (the texts' elements as loro's loader left them)
    # (and the frontiers as loro's map of them yields them: a concurrent import's walk may
    # start from this version, which loro takes as that map, see _dag_order.base_peer_order)
    return ([doc.log.vv[i] for i in range(doc.log.n_peers)],
            {(doc.log.frontiers[i].peer, doc.log.frontiers[i].counter) for i in range(doc.log.n_frontiers)},
            doc.log.frontier_order() if doc.log.n_frontiers > 1 else None)


cdef list imported_changes(OpLog log, list old_vv):
    """Indices of the log's changes that hold ops beyond `old_vv` (the version before an
    import: end counter per peer index), peer by peer in counter order."""
    cdef int64_t pos
    cdef uint32_t p
    cdef int32_t old_end
    out = []
    for p in range(log.n_peers):
        old_end = old_vv[p] if p < len(old_vv) else 0
        if log.vv[p] <= old_end:
            continue
        pos = log.find_change_pos(p, old_end)
        while 0 <= pos < log.by_peer[p].len:
            out.append(log.by_peer[p].idx[pos])
            pos += 1
    return out


cdef bint several_peers_imported(LoroDoc doc, list old_vv) except -1:
    """Whether the import brought ops of more than one peer."""
    cdef OpLog log = doc.log
    cdef uint32_t p
    cdef int n = 0
    cdef Py_ssize_t n_old = len(old_vv)
    for p in range(log.n_peers):
        if log.vv[p] > (<int32_t>old_vv[p] if p < n_old else 0):
            n += 1
            if n > 1:
                return True
    return False


cdef bint import_is_greater(LoroDoc doc, tuple snap):
    """Whether every change of the import has the version before it in its causal past.
    Otherwise loro computes an import's map diff by comparing values (a key written
    concurrently with the same value is no change), else it reports every key whose winner
    changed."""
    cdef OpLog log = doc.log
    cdef int64_t k
    cdef uint32_t p
    cdef int32_t old_end
    cdef lc_change *ch
    cdef bint below
    old_vv, front = snap[0], snap[1]
    if not front:
        return True
    for ci in imported_changes(log, old_vv):
        ch = &log.changes[<int64_t>ci]
        p = ch.peer
        old_end = old_vv[p] if p < len(old_vv) else 0
        if ch.counter < old_end:
            # a change that continued the peer's last one: it depends on that op only
            deps = [(p, old_end - 1)]
        else:
            deps = [(log.deps[k].peer, log.deps[k].counter)
                    for k in range(ch.deps_off, ch.deps_off + ch.deps_len)]
        # (a loop, not all() over a generator: its closure would be made on every call)
        below = True
        for dp in deps:
            if not (dp[0] < len(old_vv) and dp[1] < old_vv[dp[0]]):
                below = False
                break
        if below:
            if not front <= set(deps):
                return False
    return True




def import_greater(LoroDoc doc, tuple snap):
    """import_is_greater for the document's maps of tree nodes (state/tree.pxi)."""
    return import_is_greater(doc, snap)


def import_builds_history_cache(LoroDoc doc, tuple snap):
    """Whether loro's diff calculation of the import just staged (`snap`: import_begin's
    version before) builds its history cache, which visits every change of the log and so
    parses every change block, registering the containers their ops name. Probed on loro
    1.17.1 (tests/test_dead_child_numbering.py): a calculator in DiffMode::Import of a tree
    (its CRDT replay reads the cache of tree ops) or of a movable list (its element index)
    does; a map's, a list's, a text's or a counter's does not. The mode is Import when the
    import is concurrent to the version before, or when loro's meet search of a greater
    import leaves a path unmatched (greater_import_replays bit 2); the calculators are those
    of the containers with ops between the two versions (the walk, _dag_order). Linear and
    ImportGreaterUpdates imports read no cache. Asked only while a loaded snapshot's dead
    children wait for a parse (LoroDoc.lnum_rest): kinds session 4560, whose concurrent
    JSON import inserted into a movable list and numbered the snapshot's dead counter before
    a root a later commit made."""
    cdef OpLog log = doc.log
    cdef uint8_t k
    if snap is None or doc.detached or doc.shallow_sv is not None or not snap[1]:
        return False
    before = sorted(snap[1])
    after = [(log.frontiers[i].peer, log.frontiers[i].counter) for i in range(log.n_frontiers)]
    if import_is_greater(doc, snap):
        try:
            if not (greater_import_replays(log, before, after) & 2):
                return False
        except ValueError:
            return False
    dag_walk_checkout(False)
    for c in dag_walk(log, before, after, None, None, doc.vv_touches, doc.vv_loaded,
                      snap[2] is not None, False):
        k = doc.ckind[<uint32_t>c]
        if k == KIND_TREE or k == KIND_MOVABLE_LIST:
            return True
    return False


# the kinds whose concurrent edits on both sides of an import make loro compare every map
cdef frozenset _SEQUENCE_KINDS = frozenset((KIND_TEXT, KIND_LIST, KIND_MOVABLE_LIST, KIND_TREE))


cdef bint has_map_notes(LoroDoc doc) noexcept:
    cdef int64_t i
    for i in range(doc.evlog.n):
        if doc.evlog.notes[i].kind == LC_EV_MAP:
            return True
    return False


cdef bint has_ml_notes(LoroDoc doc, int kind=KIND_MOVABLE_LIST) noexcept:
    cdef int64_t i
    for i in range(doc.evlog.n):
        if doc.ckind[doc.evlog.notes[i].container] == kind:
            return True
    return False


cdef object diverged_containers(LoroDoc doc, tuple snap, list both=None):
    """Which maps a concurrent import's event compares by value, as loro 1.17.1 (found by
    probing): the base is the part of the version before that every imported change has
    in its causal past; the containers the version before edited beyond it have diverged.
    When a Text, List, MovableList or Tree diverged and the import edits it too, every
    map compares values (None: all). Otherwise only the diverged maps do; on any other map
    the import reports every key whose winner changed, as when it follows the version
    before (a key deleted again, or set again to its value, is reported). `both`, when
    given, gets the diverged containers the import edits too."""
    cdef OpLog log = doc.log
    cdef int64_t pos, k, i, n = 0, cap = 16
    cdef uint32_t p
    cdef int32_t old_end, start
    cdef uint32_t last = 0xFFFFFFFF
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_id *ids = <lc_id*>malloc(<size_t>cap * sizeof(lc_id))
    cdef int32_t *fa = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef int32_t *fc = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    old_vv = snap[0]
    out = set()
    new_in = set()
    try:
        if ids == NULL or fa == NULL or fc == NULL:
            raise MemoryError()
        # the ops of the version before that every imported change has in its causal past:
        # per peer, the least of the closures of the changes whose deps it held
        for p in range(log.n_peers):
            fa[p] = old_vv[p] if p < len(old_vv) else 0
        for ci in imported_changes(log, old_vv):
            ch = &log.changes[<int64_t>ci]
            p = ch.peer
            old_end = old_vv[p] if p < len(old_vv) else 0
            for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                op = &log.ops[i]
                if op.counter + op.len > old_end and op.container != last:
                    last = op.container
                    new_in.add(last)
            n = 0
            if ch.counter < old_end:
                # a change that continued the peer's last one: it depends on that op
                ids[0] = make_id(p, old_end - 1)
                n = 1
            else:
                for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
                    if log.deps[k].peer < len(old_vv) and log.deps[k].counter < old_vv[log.deps[k].peer]:
                        if n == cap:
                            ids = <lc_id*>grow(ids, &cap, n + 1, sizeof(lc_id))
                        ids[n] = make_id(log.deps[k].peer, log.deps[k].counter)
                        n += 1
                    else:
                        n = -1      # an imported dep: its own past is counted
                        break
            if n >= 0:
                log.closure(ids, n, make_id(LC_NO_PEER, 0), fc)
                for k in range(log.n_peers):
                    if fc[k] < fa[k]:
                        fa[k] = fc[k]
        last = 0xFFFFFFFF
        for p in range(log.n_peers):
            old_end = old_vv[p] if p < len(old_vv) else 0
            start = fa[p]
            if start >= old_end:
                continue
            pos = log.find_change_pos(p, start)
            while 0 <= pos < log.by_peer[p].len:
                ch = &log.changes[log.by_peer[p].idx[pos]]
                if ch.counter >= old_end:
                    break
                for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                    op = &log.ops[i]
                    if op.counter < old_end and op.counter + op.len > start and op.container != last:
                        last = op.container
                        out.add(last)
                pos += 1
        for c in out:
            if c in new_in:
                if doc.ckind[<uint32_t>c] in _SEQUENCE_KINDS:
                    return None
                if both is not None:
                    both.append(c)
    finally:
        free(ids)
        free(fa)
        free(fc)
    return out


cdef int note_open_txn(LoroDoc doc) except -1:
    """Journal the ops of the open transaction made before the journal was on (loro's
    event for the commit covers the whole transaction)."""
    cdef int64_t i
    cdef lc_op *op
    cdef int32_t a, end
    if not doc.txn_open:
        return 0
    for i in range(doc.txn_merge_floor, doc.log.n_ops):
        op = &doc.log.ops[i]
        # the first op may continue the previous change's last op: only its new atoms
        a = op.counter if op.counter > doc.txn_counter else doc.txn_counter
        end = op.counter + op.len
        if a >= end:
            continue
        if op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE:
            ev_note(doc, op.container, LC_EV_MAP, doc.self_idx, a, 1, <uint32_t>op.pos, 0.0, -2)
        elif op.kind == LC_OP_INSERT:
            ev_note(doc, op.container, LC_EV_INSERT, doc.self_idx, a, end - a, 0, 0.0)
        elif op.kind == LC_OP_DELETE:
            ev_note(doc, op.container, LC_EV_DELETE, doc.self_idx, a, end - a, 0, 0.0)
        elif op.kind == LC_OP_MARK_START:
            ev_note(doc, op.container, LC_EV_MARK, doc.self_idx, a, 1, 1, 0.0)
        elif op.kind == LC_OP_COUNTER:
            ev_note(doc, op.container, LC_EV_COUNTER, doc.self_idx, a, 1, 0, op.delta)
    return 0


cdef object hook_subscription(LoroDoc doc, str registry, object callback, bint hooks):
    """A Subscription in one of the document's hook registries; `hooks` turns on the commit
    hooks (first-commit and pre-commit subscribers need them)."""
    if not callable(callback):
        raise LoroValueError("callback must be callable")
    doc_acquire(doc)
    try:
        if doc.evs is None:
            doc.evs = _DocEvents()
        if hooks:
            doc.evlog.hooks = 1
        return Subscription(getattr(doc.evs, registry), callback)
    finally:
        doc_release(doc)


def subscribe_peer_id_change(LoroDoc doc, callback):
    """Register a peer-id-change subscriber (called with ID(new peer, its next counter));
    returning False unsubscribes."""
    return hook_subscription(doc, "peer", callback, False)


def subscribe_first_commit(LoroDoc doc, callback):
    """Register a first-commit-from-peer subscriber."""
    return hook_subscription(doc, "first", callback, True)


def subscribe_pre_commit(LoroDoc doc, callback):
    """Register a pre-commit subscriber."""
    return hook_subscription(doc, "pre", callback, True)


def before_commit(LoroDoc doc):
    """Called by _commit (lock held, a transaction with ops open): first-commit subscribers
    (before the peer's first commit), then pre-commit subscribers. They run with the lock
    let go, as at the start of a public call (every caller of _commit calls it before any
    other work), so they may edit the document; their edits join the open transaction. An
    exception is reported like a delivery's (CallbackError at the end of the call)."""
    cdef int64_t i
    reg = doc.evs
    if reg.busy:
        return      # a commit made by one of these callbacks
    if doc.txn_counter == 0 and reg.first_done != doc.peer and any(s.active for s in reg.first):
        reg.first_done = doc.peer
        run_unlocked(doc, reg.first, {"peer": doc.peer})
    if doc.txn_open and any(s.active for s in reg.pre):
        deps = frontiers_wrap(sorted((doc.log.peer_ids[doc.txn_deps[i].peer], doc.txn_deps[i].counter)
                                     for i in range(doc.n_txn_deps)))
        if doc.next_ts is None and doc.record_ts:
            doc.next_ts = int(time.time())      # the commit's timestamp, as the change will have it
        meta = ChangeMeta(doc.txn_lamport, ID(doc.peer, doc.txn_counter),
                          doc.next_ts if doc.next_ts is not None else 0, doc.next_msg, deps,
                          doc.log.vv[doc.self_idx] - doc.txn_counter)
        modifier = ChangeModifier()
        run_unlocked(doc, reg.pre, {"change_meta": meta, "origin": doc.next_origin or "",
                                    "modifier": modifier})
        if doc.txn_open and modifier._message is not None:
            doc.next_msg = modifier._message
        if doc.txn_open and modifier._timestamp is not None:
            doc.next_ts = modifier._timestamp


cdef run_unlocked(LoroDoc doc, list subs, payload):
    reg = doc.evs
    first = None
    subs = [s for s in subs if s.active]
    reg.busy = True
    doc_release(doc)
    try:
        for sub in subs:
            if not sub.active:
                continue
            try:
                if sub.callback(payload) is False:
                    sub.unsubscribe()
            except Exception as e:
                if first is None:
                    first = e
    finally:
        doc_acquire(doc)
        reg.busy = False
    if first is not None:
        doc.pending_events.append(_Raised(first))


def peer_changed(LoroDoc doc):
    """After the peer id changed (under the lock): queue the notice for its subscribers."""
    cdef object found
    reg = doc.evs
    if reg is None or not reg.peer:
        return
    found = doc.log.peer_map.get(doc.peer)
    counter = 0 if found is None else doc.log.vv[<uint32_t>found]
    doc.pending_events.append(_PeerChange(reg, ID(doc.peer, counter)))


def flush(LoroDoc doc, int trigger, origin, snap=None):
    """End of a commit (trigger 0), import (1, with import_begin's snapshot) or checkout (2,
    after checkout_before), under the lock: queue the event of the journaled ops for
    delivery and empty the journal."""
    try:
        reg = doc.evs
        if doc.evlog.n == 0 or reg is None or not (reg.root or reg.hooks or reg.by_cid and reg.active()):
            return
        changed = [False]
        # a checkout compares values (a key moved to another write of the same value is no
        # change); a concurrent import does so on the maps diverged_containers names
        concurrent_import = trigger == 1 and not import_is_greater(doc, snap)
        if concurrent_import and not doc.detached:
            # loro's tree diff of such an import replays from the two versions' ancestor,
            # as a checkout's does (tree_checkout_items)
            reg.tree_lca = (list(snap[2]) if snap[2] is not None else sorted(snap[1]),
                            [(doc.log.frontiers[i].peer, doc.log.frontiers[i].counter)
                             for i in range(doc.log.n_frontiers)])
            reg.lca_ordered = snap[2] is not None
            reg.lca_after_ordered = False
        elif trigger == 1 and not doc.detached and several_peers_imported(doc, snap[0]):
            # loro notes a movable list's elements in its causal walk over the new changes,
            # which may interleave the peers otherwise than the import applied them
            # (state/movable_local.pxi ml_calc_elements)
            reg.ml_walk = (sorted(snap[1]), [(doc.log.frontiers[i].peer, doc.log.frontiers[i].counter)
                                             for i in range(doc.log.n_frontiers)])
        global _wrapped_at
        global _compared_maps, _wrapped, _ml_base_lowered, _greater_import, _tree_metas, _calc_from_before, _import_stamp, _greater_replayed, _linear_import
        global _own_before_shown
        if trigger == 1 and snap is not None:
            # (the texts' style map elements known before it follow the import:
            # style_import_text)
            _import_stamp = (doc.hist_epoch, snap[1], style_chain_at(doc, snap[1]))
        if trigger == 1 and not concurrent_import and not doc.detached and snap is not None:
            # loro walks the new changes from the version before in causal order too (they
            # may be concurrent among themselves): the order its diff calculator meets them
            _greater_import = (sorted(snap[1]), [(doc.log.frontiers[i].peer, doc.log.frontiers[i].counter)
                                                 for i in range(doc.log.n_frontiers)])
        both = []
        if concurrent_import and has_map_notes(doc):
            _compared_maps = diverged_containers(doc, snap, both)
            _ml_base_lowered = _compared_maps is None
        elif concurrent_import and (has_ml_notes(doc) or has_ml_notes(doc, KIND_TREE)):
            _ml_base_lowered = diverged_containers(doc, snap, both) is None
        if concurrent_import and not doc.detached and not _ml_base_lowered:
            _calc_from_before = set(both)
        # (the DAG walks of this event: a checkout's or an import's, see _dag_order)
        dag_walk_checkout(trigger == 2)
        try:
            if trigger == 1 and reg.hooks:
                _own_before_shown = {}
            diffs = collect(doc, trigger >= 1, trigger == 2 or concurrent_import, changed)
            if _import_stamp is not None:
                carry_import_style_elems(doc)
        finally:
            _import_stamp = None
            _compared_maps = None
            _ml_base_lowered = False
            _calc_from_before = None
            _wrapped = None
            _wrapped_at = None
            _tree_metas = None
            _greater_import = None
            _greater_replayed = -1
            _linear_import = -1
            own = _own_before_shown
            _own_before_shown = None
        if changed[0]:
            to = None
            if trigger == 0 and reg.hooks:
                found = doc.log.peer_map.get(doc.peer)
                to = ID(doc.peer, 0 if found is None else doc.log.vv[<uint32_t>found])
            doc.pending_events.append(queued_batch(doc.evs, trigger,
                                                   "" if origin is None else origin, diffs, to,
                                                   own or None))
    finally:
        batch_done(doc)


cdef int batch_done(LoroDoc doc) except -1:
    """Forget a journaled batch (its notes, the state before it, the tree and movable list
    scratch), whether its event was queued or not."""
    doc.evlog.n = 0
    if doc.evs is not None:
        if doc.evs.before is not None and doc.style_texts:
            carry_style_elems(doc, doc.evs.before)
        doc.evs.before = None
        doc.evs.tree_lca = None
        doc.evs.ml_walk = None
    ml_events_done(doc)
    tree_events_done(doc)
    return 0


def _new_registry():
    return _DocEvents()


def diff_batch(LoroDoc doc):
    """The journal of a move between two versions (LoroDoc.diff) as a DiffBatch. Its
    `_idlp` holds, per (map ContainerID, key), the (Lamport, peer) of the write the key shows
    at the end, (2**32 - 1, 0) when none: an undo composes map diffs by them, as loro does.
    A tree's items are loro's replay of its moves, as a checkout's event lists them
    (revert_to applies that replay, as loro's does)."""
    global _idlp_sink
    changed = [False]
    batch = DiffBatch()
    _idlp_sink = {}
    try:
        for cd in collect(doc, True, True, changed):
            batch.push(cd.target, cd.diff)
        if doc.evs is not None and doc.evs.before is not None and doc.style_texts:
            # the texts this move left alone keep their style map elements (as after a
            # checkout: batch_done); a diff(a, a) once dropped them, so the next diff
            # guessed where loro's elements are
            carry_style_elems(doc, doc.evs.before)
        ml_events_done(doc)
        tree_events_done(doc)
        batch._idlp = _idlp_sink
    finally:
        _idlp_sink = None
        if doc.evs is not None:
            doc.evs.tree_lca = None
    return batch


# the moves whose replay of the style map elements may wait (defer_style_text): past this
# many, the elements are forgotten (guessed at the next drain), which bounds that replay
# and costs nothing to a document whose moves never drain
cdef Py_ssize_t STYLE_MOVES_PENDING = 16


def defer_style_elements(LoroDoc doc):
    """The journal of a state move nobody sees (the moves of LoroDoc.diff other than the
    one its delta shows): each text holding anchors notes the move for its style map
    elements (defer_style_text); then the batch is forgotten."""
    cdef uint32_t c
    try:
        before = doc.evs.before if doc.evs is not None else None
        if before:
            for c, runs in before.items():
                if doc.ckind[c] == KIND_TEXT and doc.seq.tree_is_text[doc.ctree[c]] & TREE_ANCHORED:
                    defer_style_text(doc, c, runs)
    finally:
        batch_done(doc)


cdef int defer_style_text(LoroDoc doc, uint32_t c, list runs) except -1:
    """A journaled move of text `c` (`runs`: its atoms as visible before, checkout_before)
    whose delta, if any, does not depend on loro's style map elements (it drains no end
    anchor): the move is kept with the elements the text had before it, to be replayed
    (loro_c.rich_checkout, without a delta) only when a move that needs them comes
    (style_elems_before). Elements that were not known are guessed where the kept moves
    start, as that move would have guessed them. So the moves of a `diff` (to `a`, back)
    and checkouts that add marks or text cost no replay."""
    cdef StyleMemo m = style_memo(doc, c)
    cdef bint kept = m is not None and memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1))
    elems = m.elems if kept else None
    pending = m.pending if kept else None
    if m is not None:
        memo_drop(m)
    if not kept:
        style_memo_state(doc, c, None, [runs], doc.hist_epoch)
        return 0
    if not pending and elems is not None:
        # known elements: the move is applied to them as it changes the text, when it
        # drains no end anchor (else it waits as any other)
        done = apply_style_changes(doc, c, elems, runs)
        if done is False:
            style_memo_state(doc, c, None, [runs], doc.hist_epoch)   # (spoiled: guessed before this move)
            return 0
        if done is not None:
            style_memo_state(doc, c, done, [], doc.hist_epoch)
            return 0
    if len(pending) >= STYLE_MOVES_PENDING:
        return 0        # (forgotten: guessed at the next move that needs them)
    style_memo_state(doc, c, elems, pending + [runs], doc.hist_epoch)
    return 0


cdef object replay_moves(LoroDoc doc, uint32_t c, object elems, list layers, Py_ssize_t n):
    """The style map elements of text `c` after the first `n` of the moves whose runs are
    `layers` (the state is now after the last of `layers`), from `elems` before them (None:
    guessed)."""
    cdef Py_ssize_t k
    layers = [runs_by_peer(r) for r in layers]
    cdef bint disjoint = layers_disjoint(layers)
    for k in range(n):
        out = []
        rich_checkout_delta(layered_elements(doc, c, layers[k:], layers[k + 1:], disjoint),
                            doc.styles, elems, out, False)
        elems = out[0]
    return elems


# set while a concurrent import's event is collected: diverged_containers
cdef set _compared_maps = None
# a concurrent import that loro calculates from a base below the version before (a
# sequence or tree both sides edited: diverged_containers): its movable lists' new
# counters come back as a checkout's do, a zero left out (loro's diff of it is empty)
# unless a set gave it to an element the version before has (ml_elems_before)
cdef bint _ml_base_lowered = False
# a concurrent import that loro calculates from the version before: the containers both
# sides edited (diverged_containers); the movable lists' and trees' calculators of the
# others hand on their changes as for an import holding the document's version, reporting
# no new child (fast_map_child) and no created node's meta map (tree_diff)
cdef set _calc_from_before = None

# set while diff_batch collects: map_diff records each key's winning write there
cdef dict _idlp_sink = None

# the maps whose diff in loro's calculator holds a key the event leaves out, its winner now
# another write of an equal value (map_diff, a checkout's or an import's): they are in the
# calculator's map of diffs all the same (import_rank)
cdef list _calc_held = None

# set while an import's event is collected for the UndoManager (a hook): the containers the
# import shows again whole (a mergeable child whose key a remote peer wrote again, a movable
# list's element) -> their diff from their own ops in the import (None: none). loro's undo
# moves its items over those, not over the whole values the event shows (mergeable
# session 5837: an undo of an insert into a list that a remote peer hid and showed again)
cdef dict _own_before_shown = None


def checkout_before(LoroDoc doc):
    """During a checkout, before the tracker moves (under the lock): for each sequence the
    journal touches, the atoms its moved ops insert or delete, cut into runs of one
    visibility at the old version: {container: [(peer, start, end, visible)]}."""
    if doc.evs is None:
        return
    doc.evs.before = notes_before(doc, 0)


def notes_before(LoroDoc doc, int64_t first):
    """checkout_before's runs of the journal's notes from `first` on, as the tracker sees
    them now."""
    cdef ev_scratch sc
    cdef lc_ev_note *e
    cdef int64_t i
    ranges = {}
    for i in range(first, doc.evlog.n):
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_INSERT or e.kind == LC_EV_DELETE:
            ranges.setdefault(e.container, []).append(i)
    before = {}
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        for c, idxs in ranges.items():
            sc.n_pts = 0
            before[c] = visibility_runs(doc, idxs, &sc)
    finally:
        free(sc.pts)
        free(sc.pcs)
    for i in range(first, doc.evlog.n):
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_MARK:
            # the two anchors of a moved mark, as visible before (a rich text's event
            # replays loro's state through them: loro_c.rich_checkout)
            before.setdefault(e.container, []).extend(
                anchor_run(doc, e.peer, e.counter + k) for k in range(2))
    return before


cdef tuple anchor_run(LoroDoc doc, uint32_t peer, int32_t counter):
    cdef int slot
    cdef uint32_t leaf = locate(doc.seq, make_id(peer, counter), &slot)
    return (peer, counter, counter + 1, span_visible(&doc.seq.nodes[leaf].u.spans[slot]))


cdef list visibility_runs(LoroDoc doc, list idxs, ev_scratch *sc):
    """The atoms the notes `idxs` insert or delete (merged), as runs of one visibility."""
    cdef SeqArena seq = doc.seq
    cdef lc_ev_note *e
    cdef int64_t k
    cdef int32_t depth = 0, start = 0, c, end
    cdef uint32_t peer = 0
    cdef ev_point *pt
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    for i in idxs:
        e = &doc.evlog.notes[<int64_t>i]
        if e.kind == LC_EV_INSERT:
            add_range(sc, e.peer, e.counter, e.counter + e.len, 1)
        else:
            delete_targets(seq, e.peer, e.counter, e.counter + e.len, sc)
    qsort(sc.pts, sc.n_pts, sizeof(ev_point), cmp_point)
    out = []
    for k in range(sc.n_pts):
        pt = &sc.pts[k]
        if pt.peer != peer:
            peer = pt.peer
            depth = 0
        # a point opens (dnew + ddel = 1) or closes (-1) a range; covered where depth > 0
        if depth > 0 and pt.pos > start:
            c = start
            while c < pt.pos:
                leaf = locate(seq, make_id(peer, c), &slot)
                s = &seq.nodes[leaf].u.spans[slot]
                end = s.id.counter + s.len
                if end > pt.pos:
                    end = pt.pos
                out.append((peer, c, end, span_visible(s)))
                c = end
        depth += pt.dnew + pt.ddel
        start = pt.pos
    return out


cdef object seq_diff_checkout(LoroDoc doc, uint32_t c, list runs, list reached, list idxs):
    """A sequence's diff across a checkout: the runs whose visibility changed (and, in a
    text, the marks among the journaled ops `idxs`)."""
    cdef ev_scratch sc
    cdef SeqArena seq = doc.seq
    cdef int32_t a, b, end
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cdef ev_piece *pc
    cdef bint now
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        for peer, a0, b0, was in runs:
            a = a0
            b = b0
            while a < b:
                leaf = locate(seq, make_id(<uint32_t>peer, a), &slot)
                s = &seq.nodes[leaf].u.spans[slot]
                end = s.id.counter + s.len
                if end > b:
                    end = b
                now = span_visible(s)
                if now != was:
                    push_piece(seq, &sc, leaf, slot, <uint32_t>peer, a, end, now)
                a = end
        if doc.ckind[c] == KIND_TEXT and seq.tree_is_text[doc.ctree[c]] & TREE_ANCHORED:
            # a text that holds style anchors: loro's state application, replayed
            elements = rich_elements(doc, c, runs)
            for e in elements:
                if e[0] == 2 and e[4] and not e[5]:
                    # an end anchor is drained: the delta shows where loro's elements are
                    after = []
                    items = rich_checkout_delta(elements, doc.styles, style_elems_before(doc, c, runs),
                                                after)
                    style_memo_state(doc, c, after[0], [], doc.hist_epoch)
                    break
            else:
                defer_style_text(doc, c, runs)
                items = rich_checkout_delta(elements, doc.styles)
            if not items:
                return None
            return Diff.Text([TextDelta.Retain(x[1], x[2]) if x[0] == "r" else
                              TextDelta.Insert(x[1], x[2]) if x[0] == "i" else TextDelta.Delete(x[1])
                              for x in items])
        if doc.ckind[c] == KIND_TEXT and sc.n_pcs:
            return checkout_text_delta(doc, &sc)
        return pieces_delta(doc, c, &sc, None, reached)
    finally:
        free(sc.pts)
        free(sc.pcs)


cdef object style_elems_before(LoroDoc doc, uint32_t c, list runs):
    """loro's style map elements of text `c` before this move (`runs`: its atoms as visible
    before, checkout_before), when the moves of the state since the last replay of the
    text were journaled (loro_c.rich_checkout), else None (they are guessed). The moves
    deferred since (defer_style_text) are replayed first."""
    cdef StyleMemo m = style_memo(doc, c)
    if m is None:
        return None
    cdef bint kept = memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1))
    elems = m.elems
    pending = m.pending
    memo_drop(m)
    if not kept:
        return None
    if not pending:
        return elems
    return replay_moves(doc, c, elems, pending + [runs], len(pending))


cdef dict runs_by_peer(list runs):
    """{peer: [(start, end, visible)] sorted}, a run recorded twice kept once (a moved
    mark's anchor is also among the moved inserts; layered_pieces skips the copy, and
    without it the runs are disjoint for vis_at)."""
    cdef dict by_peer = {}
    cdef list lst, kept
    cdef tuple run, last
    cdef Py_ssize_t k
    for run in runs:
        lst = by_peer.get(run[0])
        if lst is None:
            lst = by_peer[run[0]] = []
        lst.append(run[1:])
    for peer in list(by_peer):
        lst = by_peer[peer]
        lst.sort()
        kept = [lst[0]]
        last = lst[0]
        for k in range(1, len(lst)):
            run = lst[k]
            if <int32_t>run[0] != <int32_t>last[0] or <int32_t>run[1] != <int32_t>last[1] \
                    or <bint>run[2] != <bint>last[2]:
                kept.append(run)
            last = run
        by_peer[peer] = kept
    return by_peer


cdef bint layers_disjoint(list layers):
    """Whether each layer's runs of a peer are non-empty and do not overlap (then
    vis_at answers as layered_pieces does)."""
    cdef int32_t end
    cdef tuple run
    for layer in layers:
        for recorded in (<dict>layer).values():
            end = INT32_MIN
            for run in <list>recorded:
                if <int32_t>run[0] < end or <int32_t>run[1] <= <int32_t>run[0]:
                    return False
                end = run[1]
    return True


cdef int probe_run(list recorded, int32_t pos, int32_t *end) except -2:
    """Whether atom `pos` was visible by the disjoint sorted runs `recorded` (1, 0), or -1
    when none records it; end[0] is lowered to where that answer may change (the end of
    its run, or the start of the next)."""
    cdef Py_ssize_t lo = 0, hi_k = len(recorded), k
    cdef tuple run
    cdef int32_t ra, rb
    # the first run that ends after pos (disjoint runs: their ends are sorted too)
    while lo < hi_k:
        k = (lo + hi_k) >> 1
        if <int32_t>(<tuple>recorded[k])[1] <= pos:
            lo = k + 1
        else:
            hi_k = k
    if lo < len(recorded):
        run = recorded[lo]
        ra = run[0]
        if ra <= pos:
            rb = run[1]
            if rb < end[0]:
                end[0] = rb
            return 1 if run[2] else 0
        if ra < end[0]:
            end[0] = ra
    return -1


cdef bint vis_at(list recs, int32_t pos, bint now, int32_t *end) except -1:
    """Whether atom `pos` was visible, as the first of the layers' runs `recs` (each a
    layer's runs of the atom's peer, or None) that records it says, else `now`; end[0] is
    lowered to where that answer may change: the end of the deciding run, or the start of
    a run of a layer before it. The runs of each layer must be disjoint
    (layers_disjoint); no list is built, unlike layered_pieces."""
    cdef int got
    for recorded in recs:
        if recorded is not None:
            got = probe_run(<list>recorded, pos, end)
            if got >= 0:
                return got
    return now


cdef list layered_pieces(list layers, Py_ssize_t at, object peer, int32_t a, int32_t b, bint now):
    """[a, b) of `peer` cut by visibility: an atom is as the first of layers[at:] that
    records it says (each recorded a move's atoms as visible before it), else as now."""
    cdef Py_ssize_t n = len(layers), k, m
    cdef int32_t cur = a, ra, rb, hi
    cdef list recorded = None
    cdef tuple run
    while at < n:
        recorded = (<dict>layers[at]).get(peer)
        if recorded is not None:
            break
        at += 1
    if recorded is None:
        return [(a, b, now)]
    m = len(recorded)
    k = run_before(recorded, a)
    out = []
    while k < m and cur < b:
        run = recorded[k]
        ra = run[0]
        rb = run[1]
        k += 1
        if rb <= cur:
            continue
        if ra >= b:
            break
        if ra > cur:
            out.extend(layered_pieces(layers, at + 1, peer, cur, ra, now))
            cur = ra
        hi = rb if rb < b else b
        out.append((cur, hi, run[2]))
        cur = hi
    if cur < b:
        out.extend(layered_pieces(layers, at + 1, peer, cur, b, now))
    return out


cdef bint layers_cover(list layers, object peer, int32_t a, int32_t b):
    """Whether a run of `peer` in one of `layers` meets [a, b)."""
    cdef Py_ssize_t lo, hi_k, k
    cdef list recorded
    for layer in layers:
        recorded = (<dict>layer).get(peer)
        if recorded is None:
            continue
        # the first run that ends after a
        lo = 0
        hi_k = len(recorded)
        while lo < hi_k:
            k = (lo + hi_k) >> 1
            if <int32_t>(<tuple>recorded[k])[1] <= a:
                lo = k + 1
            else:
                hi_k = k
        if lo < len(recorded) and <int32_t>(<tuple>recorded[lo])[0] < b:
            return True
    return False


cdef list layered_elements(LoroDoc doc, uint32_t c, list before, list after, bint disjoint):
    """rich_elements of a move that is not the state's last: the atoms as visible before
    it by the layers `before`, after it by `after` (see layered_pieces; vis_at when the
    layers are `disjoint`)."""
    cdef int32_t e_was, e_now
    cdef bint was, is_now
    cdef int got
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf = seq.first_leaf(doc.ctree[c])
    cdef int i
    cdef lc_span *s
    cdef int32_t a, b, lo, hi
    cdef bint now, anchor
    cdef Py_ssize_t ia, ib
    cdef tuple pa, pb
    touched = set()
    for layer in before:
        touched.update((<dict>layer).keys())
    out = []
    while leaf != LC_NO_NODE:
        for i in range(seq.nodes[leaf].n):
            s = &seq.nodes[leaf].u.spans[i]
            now = span_visible(s)
            anchor = s.content >= LC_ANCHOR_MIN
            a = s.id.counter
            b = a + s.len
            if s.id.peer not in touched or not layers_cover(before, s.id.peer, a, b):
                # (no move of these touched these atoms: as they are now)
                if now or anchor:
                    append_rich(out, doc, s, a, b, now, now, False)
                continue
            if disjoint:
                # (a move's own layer, before[0], decides where it records the atom; the
                # layers after it, `after`, decide both elsewhere)
                peer = s.id.peer
                first = (<dict>before[0]).get(peer)
                recs = [(<dict>layer).get(peer) for layer in after]
                lo = a
                while lo < b:
                    e_was = b
                    e_now = b
                    is_now = vis_at(recs, lo, now, &e_now)
                    got = -1 if first is None else probe_run(<list>first, lo, &e_was)
                    if got < 0:
                        was = is_now
                    else:
                        was = got
                    hi = e_was if e_was < e_now else e_now
                    if was or is_now or anchor:
                        append_rich(out, doc, s, lo, hi, was, is_now, False)
                    lo = hi
                continue
            was_p = layered_pieces(before, 0, s.id.peer, a, b, now)
            now_p = layered_pieces(after, 0, s.id.peer, a, b, now)
            # (both cover [a, b): walk their common cuts)
            ia = ib = 0
            lo = a
            while lo < b:
                pa = was_p[ia]
                pb = now_p[ib]
                hi = pa[1] if <int32_t>pa[1] < <int32_t>pb[1] else pb[1]
                if pa[2] or pb[2] or anchor:
                    append_rich(out, doc, s, lo, hi, pa[2], pb[2], False)
                lo = hi
                if <int32_t>pa[1] == hi:
                    ia += 1
                if <int32_t>pb[1] == hi:
                    ib += 1
        leaf = seq.nodes[leaf].next_leaf
    return out


cdef object apply_style_changes(LoroDoc doc, uint32_t c, object elems, list runs):
    """loro's style map elements of text `c` after a change of the state that drains no end
    anchor (an import, or a move: `runs` are the atoms whose visibility may have changed,
    as visible before), from `elems` before it (None: the text held no anchor, one
    element): the changed atoms only, applied in document order as loro applies its delta
    (loro_c.rich_checkout, _apply_items: each replace drains, then inserts; a text joins
    the one before when ids and bytes continue; an inserted end anchor annotates its
    mark). Returns the elements, None when the change drains an end anchor (elems
    untouched), False when they do not come out the text's length (elems spoiled)."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t t = doc.ctree[c], leaf, peer
    cdef int slot, kind
    cdef lc_span *s
    cdef int32_t a, b, hi
    cdef int64_t ent, prev_end = -1, pos = 0, dels = 0, ins_n = 0, total, abs_prev = -1
    cdef int mode = 0, ins_kind = -1
    cdef bint now, was
    cdef tuple p, q
    pieces = []
    for run in runs:
        peer = (<tuple>run)[0]
        a = (<tuple>run)[1]
        b = (<tuple>run)[2]
        was = (<tuple>run)[3]
        while a < b:
            leaf = locate(seq, make_id(peer, a), &slot)
            s = &seq.nodes[leaf].u.spans[slot]
            hi = s.id.counter + s.len
            if hi > b:
                hi = b
            now = span_visible(s)
            if now != was:
                kind = 1 if s.content == LC_ANCHOR_START else 2 if s.content == LC_ANCHOR_END else 0
                if kind == 2 and not now:
                    return None
                # (abs, entity now, kind, n, mark id, visible before, peer, counter, content)
                pieces.append((abs_index(seq, make_id(peer, a)), visible_before(seq, leaf, slot, a),
                               kind, hi - a,
                               None if kind == 0 else (<uint64_t>peer << 32) | <uint32_t>(s.id.counter - (kind == 2)),
                               was, peer, a, s.content + (a - s.id.counter)))
            a = hi
    pieces.sort()
    clean = []
    for p in pieces:
        if <int64_t>p[0] < abs_prev:
            q = clean[len(clean) - 1]
            if q[0] == p[0] and q[3] == p[3]:
                continue        # (a run recorded twice: a moved mark's anchor)
            return None         # (runs that overlap otherwise: elems untouched)
        clean.append(p)
        abs_prev = <int64_t>p[0] + <int64_t>p[3]
    if elems is None:
        total = seq.visible_len(t)
        for p in clean:
            total += <int64_t>p[3] if p[5] else -<int64_t>p[3]
        elems = StyleElements.fresh(total)
    starts = {}
    ins_sid = None
    last = None         # the last inserted text piece of the open item
    for p in clean:
        kind = p[2]
        ent = p[1]
        if mode and ent != prev_end:
            apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
            mode = 0
        if p[5]:
            if mode:
                dels += <int64_t>p[3]
            else:
                mode = 1
                pos = ent
                dels = p[3]
                ins_kind = -1
            prev_end = ent
            continue
        if mode and kind == 0 and ins_kind == 0 and pieces_join(doc, last, p):
            ins_n += <int64_t>p[3]
        else:
            if mode:
                apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
            mode = 1
            pos = ent
            dels = 0
            ins_kind = kind
            ins_n = p[3]
            ins_sid = p[4]
        last = p
        prev_end = ent + <int64_t>p[3]
    if mode:
        apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
    if elems.total() != seq.visible_len(t):
        return False
    return elems


cdef bint pieces_join(LoroDoc doc, tuple a, tuple b) except -1:
    """Whether inserted text piece `b` continues piece `a` in ids and in loro's string
    storage (rich_checkout._follows), pieces as apply_style_changes lists them."""
    if a[6] != b[6] or <int32_t>a[7] + <int32_t>a[3] != <int32_t>b[7]:
        return False
    pa = stored_bounds(doc, a[6], a[7], a[8], a[3])
    pb = stored_bounds(doc, b[6], b[7], b[8], b[3])
    return pa[0] is not None and pa[0] == pb[0] and pa[2] == pb[1]


cdef int apply_style_replace(LoroDoc doc, object elems, dict starts, int64_t pos, int64_t dels,
                             int ins_kind, int64_t ins_n, object sid) except -1:
    """One item of loro's delta applied to the elements: drain `dels` entities at `pos`,
    then insert `ins_n` of kind `ins_kind` (-1: none; an end anchor annotates its mark from
    its start anchor, inserted by this change or visible before it)."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf
    cdef int slot
    cdef lc_span *s
    cdef int32_t counter
    if dels:
        elems.delete(pos, dels)
    if ins_kind < 0:
        return 0
    elems.insert(pos, ins_n)
    if ins_kind == 1:
        starts[sid] = pos
    elif ins_kind == 2:
        start = starts.pop(sid, None)
        if start is None:
            counter = <int32_t>(<uint32_t>(<uint64_t>sid & 0xFFFFFFFF))
            leaf = locate(seq, make_id(<uint32_t>(<uint64_t>sid >> 32), counter), &slot)
            s = &seq.nodes[leaf].u.spans[slot]
            if not span_visible(s):
                return 0
            start = visible_before(seq, leaf, slot, counter)
        elems.annotate(start, pos + 1, sid)
    return 0


def style_replay_pending(LoroDoc doc, uint32_t c, elems, list layers):
    """The style map elements of text `c` after the moves `layers` waiting since `elems`
    (the state is after them): for a local op, which needs them now
    (state/richtext.pxi style_edit_begin)."""
    return replay_moves(doc, c, elems, layers, len(layers))


cdef tuple _import_stamp = None     # during an import's collect: the state stamp before it


cdef int style_import_text(LoroDoc doc, uint32_t c, ev_scratch *sc, list marks) except -1:
    """An import changed text `c` (the journal's pieces `sc`, its mark ops `marks`): its
    style map elements, known before it or none (the text held no anchor), follow it."""
    cdef int64_t k
    cdef ev_piece *pc
    cdef StyleMemo got
    cdef bint kept
    if doc.evs is None or _import_stamp is None:
        return 0
    got = style_memo(doc, c)
    anchors = set()
    for m in marks or ():
        anchors.add((m[0], m[1]))
    if got is None:
        if not anchors or doc.seq.nodes[doc.seq.roots[doc.ctree[c]]].lens.anchors != 2 * len(anchors):
            return 0
        elems = None
    else:
        kept = not got.pending and got.elems is not None and same_stamp(got, _import_stamp)
        elems = got.elems
        memo_drop(got)
        if not kept:
            return 0
    runs = []
    for k in range(sc.n_pcs):
        pc = &sc.pcs[k]
        runs.append((pc.peer, pc.counter, pc.counter + pc.n, not pc.ins))
    for peer, counter in anchors:
        # (its end op follows it in its change, unless the import cut the change there)
        runs.append((peer, counter, counter + (2 if doc.log.vv[<uint32_t>peer] > counter + 1 else 1),
                     False))
    done = apply_style_changes(doc, c, elems, runs)
    if done is not None and done is not False:
        style_memo_state(doc, c, done, [], doc.hist_epoch)
    return 0


cdef bint same_stamp(StyleMemo m, tuple pre) except -1:
    """Whether `m` is of the state `pre` ((epoch, frontiers as a set))."""
    cdef int64_t i
    if m.kind != STYLE_STATE or m.epoch != <uint32_t>pre[0]:
        return False
    if m.chain != 0 and m.chain == <uint64_t>pre[2]:
        return True     # of the run of local commits that ended there
    if m.n_heads != len(pre[1]):
        return False
    for i in range(m.n_heads):
        if (m.heads[i].peer, m.heads[i].counter) not in pre[1]:
            return False
    return True


cdef int carry_import_style_elems(LoroDoc doc) except -1:
    """After an import's collect: the texts it left alone keep their elements."""
    cdef int64_t i
    cdef StyleMemo m
    if not doc.style_texts:
        return 0
    touched = {doc.evlog.notes[i].container for i in range(doc.evlog.n)}
    for c in doc.style_texts:
        m = doc.style_slots[c]
        if c not in touched and m.kind != STYLE_NONE and not m.pending and same_stamp(m, _import_stamp):
            memo_stamp_state(doc, m, doc.hist_epoch)
    return 0


cdef int carry_style_elems(LoroDoc doc, dict before) except -1:
    """After a journaled move: the texts it did not touch keep the style map elements the
    last replay left them (loro applies no diff to their states)."""
    cdef StyleMemo m
    for c in doc.style_texts:
        m = doc.style_slots[c]
        if c not in before and memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1)):
            memo_stamp_state(doc, m, doc.hist_epoch)
    return 0




ctypedef struct rich_vis_run:
    # a run of atoms of `peer` whose visibility may have changed, as visible before
    uint32_t peer
    int32_t a
    int32_t b
    int32_t vis


cdef int cmp_vis_run(const void *x, const void *y) noexcept nogil:
    cdef const rich_vis_run *p = <const rich_vis_run*>x
    cdef const rich_vis_run *q = <const rich_vis_run*>y
    if p.peer != q.peer:
        return -1 if p.peer < q.peer else 1
    if p.a != q.a:
        return -1 if p.a < q.a else 1
    if p.b != q.b:
        return -1 if p.b < q.b else 1
    return p.vis - q.vis


cdef inline Py_ssize_t vis_run_lower_bound(const rich_vis_run *arr, Py_ssize_t n, uint32_t peer,
                                           int32_t a) noexcept nogil:
    """The first of the sorted runs `arr[:n]` at or after (peer, a), else n."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid].peer < peer or (arr[mid].peer == peer and arr[mid].a < a):
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef list rich_elements(LoroDoc doc, uint32_t c, list runs):
    """A text's atoms visible at either version of a checkout, in document order, as
    loro_c.rich_checkout takes them: (kind, entities, text of a newly visible text, mark id
    of an anchor, visible before, visible now, place in loro's string storage of a newly
    visible text). `runs`
    are the atoms whose visibility may have changed, as visible before (checkout_before);
    the others were as they are now. (The runs are sorted by peer and start in a C array:
    every span of the text looks its atoms up there.)"""
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf = seq.first_leaf(doc.ctree[c])
    cdef int i
    cdef lc_span *s
    cdef int32_t a, b, cur, ra, rb, hi
    cdef bint now, anchor
    cdef Py_ssize_t n_runs = len(runs), k, lo_k, first = 0, count = 0
    cdef uint32_t peer, last_peer = 0
    cdef bint have_last = False
    cdef rich_vis_run *arr = <rich_vis_run*>malloc(<size_t>(n_runs if n_runs > 0 else 1) * sizeof(rich_vis_run))
    cdef rich_vis_run *rec
    if arr == NULL:
        raise MemoryError()
    out = []
    try:
        k = 0
        for run in runs:
            arr[k].peer = (<tuple>run)[0]
            arr[k].a = (<tuple>run)[1]
            arr[k].b = (<tuple>run)[2]
            arr[k].vis = 1 if (<tuple>run)[3] else 0
            k += 1
        qsort(arr, <size_t>n_runs, sizeof(rich_vis_run), cmp_vis_run)
        while leaf != LC_NO_NODE:
            for i in range(seq.nodes[leaf].n):
                s = &seq.nodes[leaf].u.spans[i]
                now = span_visible(s)
                anchor = s.content >= LC_ANCHOR_MIN
                a = s.id.counter
                b = a + s.len
                peer = s.id.peer
                if not have_last or peer != last_peer:
                    # (the runs of this peer: arr[first:first + count])
                    lo_k = first = vis_run_lower_bound(arr, n_runs, peer, INT32_MIN)
                    while lo_k < n_runs and arr[lo_k].peer == peer:
                        lo_k += 1
                    count = lo_k - first
                    last_peer = peer
                    have_last = True
                if count == 0:
                    # (no atom of this peer changed: the span is as it is now)
                    if now or anchor:
                        append_rich(out, doc, s, a, b, now, now)
                    continue
                # [a, b) cut by the recorded runs: (lo, hi, visible before); elsewhere as
                # now. An anchor visible at neither version still cuts loro's style map
                # where the state once held it.
                rec = &arr[first]
                # the last run that starts before a, else the first
                lo_k = vis_run_lower_bound(rec, count, peer, a)
                k = lo_k - 1 if lo_k > 0 else 0
                cur = a
                while k < count and cur < b:
                    ra = rec[k].a
                    rb = rec[k].b
                    if rb <= cur:
                        k += 1
                        continue
                    if ra >= b:
                        break
                    if ra > cur:
                        if now or anchor:
                            append_rich(out, doc, s, cur, ra, now, now)
                        cur = ra
                    hi = rb if rb < b else b
                    if rec[k].vis or now or anchor:
                        append_rich(out, doc, s, cur, hi, rec[k].vis != 0, now)
                    cur = hi
                    k += 1
                if cur < b and (now or anchor):
                    append_rich(out, doc, s, cur, b, now, now)
            leaf = seq.nodes[leaf].next_leaf
    finally:
        free(arr)
    return out


cdef Py_ssize_t run_before(list recorded, int32_t a) except -1:
    """The index of the last run of `recorded` (sorted (start, end, ...) tuples) that
    starts before `a`, else 0."""
    cdef Py_ssize_t lo = 0, hi = len(recorded), k
    while lo < hi:
        k = (lo + hi) >> 1
        if <int32_t>(<tuple>recorded[k])[0] < a:
            lo = k + 1
        else:
            hi = k
    return lo - 1 if lo > 0 else 0


cdef tuple rich_element(LoroDoc doc, lc_span *s, int32_t lo, int32_t hi, bint was, bint now,
                        bint with_text=True):
    cdef int64_t content
    cdef ev_piece pc
    if s.content == LC_ANCHOR_START:
        return (1, 1, None, (<uint64_t>s.id.peer << 32) | <uint32_t>s.id.counter, was, now, None)
    if s.content == LC_ANCHOR_END:
        return (2, 1, None, (<uint64_t>s.id.peer << 32) | <uint32_t>(s.id.counter - 1), was, now, None)
    content = s.content + (lo - s.id.counter)
    text = None         # (only an inserted text is shown)
    place = None
    if now and not was:
        if with_text:     # (a quiet replay, layered_elements, wants only the place)
            text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &doc.seq.text[content], hi - lo)
        pc.peer = s.id.peer
        pc.counter = lo
        pc.content = content
        pc.n = hi - lo
        buf, start, end = stored_bytes(doc, &pc)
        # (loro's tracker joins an insert to the one before only when the Lamport clocks
        # continue too, rich_checkout._follows)
        lamport_on = lamport_continues(doc, s.id.peer, lo)
        place = (s.id.peer, lo, hi, buf, start, end, lamport_on)
    return (0, hi - lo, text, None, was, now, place)


cdef int append_rich(list out, LoroDoc doc, lc_span *s, int32_t lo, int32_t hi, bint was,
                     bint now, bint with_text=True) except -1:
    """Append rich_element for atoms [lo, hi) of span `s`; a newly visible text is cut
    where loro keeps its ops apart (next_cut: bytes or Lamport clocks that do not continue),
    as split_pieces cuts a plain text's pieces."""
    cdef ev_piece pc
    cdef int32_t cut
    if not now or was or s.content >= LC_ANCHOR_MIN or hi - lo < 2:
        out.append(rich_element(doc, s, lo, hi, was, now, with_text))
        return 0
    pc.peer = s.id.peer
    while lo < hi:
        pc.counter = lo
        pc.n = hi - lo
        cut = next_cut(doc, &pc, True)
        out.append(rich_element(doc, s, lo, cut, was, now, with_text))
        lo = cut
    return 0


ctypedef struct ev_item:
    # an item of loro's text delta while it is composed: a retain (retain > 0), or the
    # inserted pieces first..last of sc.pcs (-1: none; every inserted piece between them is
    # part of it, the deleted ones are counted in `dels`) and the atoms deleted after them
    int64_t retain
    int64_t first
    int64_t last
    int64_t dels


cdef inline ev_item *push_item(ev_item *items, int64_t *n, int64_t retain, int64_t first,
                               int64_t last, int64_t dels) noexcept:
    cdef ev_item *it = &items[n[0]]
    it.retain = retain
    it.first = first
    it.last = last
    it.dels = dels
    n[0] += 1
    return it


cdef object checkout_text_delta(LoroDoc doc, ev_scratch *sc):
    """A text's delta across a checkout or an import in loro's arrangement. Loro reads the changed atoms
    in document order into a delta whose replace items hold an insert and the deletes that
    follow it (an insert joins the item before only when its ids continue it and its bytes
    follow it in loro's string storage, see lstr_place), then builds the event by applying
    each item as a delete followed by an insert, which joins a delete to the item before
    it and an insert whose bytes follow. So within one gap a delete may come before an
    insert; where, decides how an undo is moved past concurrent inserts.

    An import from scratch has as many items as pieces (5,696 inserts for automerge-paper),
    so both passes run over C arrays and each insert's str is made once from the pieces."""
    cdef SeqArena seq = doc.seq
    cdef int64_t k, j, pos = 0, n_read = 0, n_ev = 0, total, at, cap_buf = 0
    cdef ev_piece *pc
    cdef ev_item *read = NULL
    cdef ev_item *ev
    cdef ev_item *r
    cdef ev_item *e
    cdef uint32_t *buf = NULL
    cdef int64_t *opix
    cdef int gc_was_on = 0
    split_pieces(doc, sc)
    if sc.n_pcs > 1:
        sort_pieces(sc)
    # a piece adds at most a retain and an item to each pass; the event pass may turn an
    # item into two (its deletes joined to the item before, its insert on its own)
    read = <ev_item*>malloc(<size_t>(4 * sc.n_pcs + 2) * sizeof(ev_item))
    opix = <int64_t*>malloc(<size_t>(sc.n_pcs + 1) * sizeof(int64_t))
    if read == NULL or opix == NULL:
        free(read)
        free(opix)
        raise MemoryError()
    ev = read + (2 * sc.n_pcs + 1)
    for k in range(sc.n_pcs):
        opix[k] = -2
    try:
        # where a piece lies in loro's storage is read only when it decides a join (most
        # pieces do not continue the ids before them)
        for k in range(sc.n_pcs):
            pc = &sc.pcs[k]
            if pc.vb > pos:
                if n_read and read[n_read - 1].retain:
                    read[n_read - 1].retain += pc.vb - pos
                else:
                    push_item(read, &n_read, pc.vb - pos, -1, -1, 0)
                pos = pc.vb
            if pc.ins:
                pos += pc.n
                if n_read:
                    r = &read[n_read - 1]
                    if not r.retain and r.last >= 0 and sc.pcs[r.last].peer == pc.peer \
                            and sc.pcs[r.last].counter + sc.pcs[r.last].n == pc.counter \
                            and piece_follows(doc, sc, opix, r.last, k) \
                            and lamport_continues(doc, pc.peer, pc.counter):
                        r.last = k
                        continue
                push_item(read, &n_read, 0, k, k, 0)
            elif n_read and not read[n_read - 1].retain:
                read[n_read - 1].dels += pc.n
            else:
                push_item(read, &n_read, 0, -1, -1, pc.n)
        for k in range(n_read):
            r = &read[k]
            if r.retain:
                if n_ev and ev[n_ev - 1].retain:
                    ev[n_ev - 1].retain += r.retain
                else:
                    push_item(ev, &n_ev, r.retain, -1, -1, 0)
                continue
            if r.dels:
                if n_ev and not ev[n_ev - 1].retain:
                    ev[n_ev - 1].dels += r.dels
                else:
                    push_item(ev, &n_ev, 0, -1, -1, r.dels)
            if r.first >= 0:
                if n_ev:
                    e = &ev[n_ev - 1]
                    if not e.retain and e.last >= 0 \
                            and piece_follows(doc, sc, opix, e.last, r.first):
                        e.last = r.last
                        continue
                push_item(ev, &n_ev, 0, r.first, r.last, 0)
        # the items are acyclic: the cyclic collector need not run while they are made (it
        # would every 700 of them, over every young object; loro's items are not tracked)
        gc_was_on = PyGC_Disable()
        out = []
        for k in range(n_ev):
            e = &ev[k]
            if e.retain:
                out.append(text_retain(e.retain))
                continue
            if e.first >= 0:
                pc = &sc.pcs[e.first]
                if e.first == e.last:
                    s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &seq.text[pc.content], pc.n)
                else:
                    total = 0
                    for j in range(e.first, e.last + 1):
                        if sc.pcs[j].ins:
                            total += sc.pcs[j].n
                    if total > cap_buf:
                        free(buf)
                        cap_buf = total
                        buf = <uint32_t*>malloc(<size_t>total * sizeof(uint32_t))
                        if buf == NULL:
                            raise MemoryError()
                    at = 0
                    for j in range(e.first, e.last + 1):
                        pc = &sc.pcs[j]
                        if pc.ins:
                            memcpy(&buf[at], &seq.text[pc.content], <size_t>pc.n * sizeof(uint32_t))
                            at += pc.n
                    s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, total)
                out.append(text_insert(s))
            if e.dels:
                out.append(text_delete(e.dels))
        return text_diff(out)
    finally:
        if gc_was_on:
            PyGC_Enable()
        free(read)
        free(opix)
        free(buf)


# bit 31 of a text insert's end offset: its text was decoded from a blob (lstr_place)
cdef int64_t LSTR_BLOB = (<int64_t>1) << 31
cdef int64_t LSTR_MASK = LSTR_BLOB - 1


cdef tuple stored_bytes(LoroDoc doc, ev_piece *pc):
    return stored_bounds(doc, pc.peer, pc.counter, pc.content, pc.n)


cdef inline lc_op *piece_op(OpLog log, ev_scratch *sc, int64_t *opix, int64_t k) noexcept:
    """The insert op of piece k's first atom (NULL when its change is unknown), looked up
    once per piece (opix[k]: -2 not yet, -1 unknown change, else the op's index)."""
    cdef int64_t ch
    if opix[k] == -2:
        ch = log.find_change(sc.pcs[k].peer, sc.pcs[k].counter)
        opix[k] = -1 if ch < 0 else log.find_op(ch, sc.pcs[k].counter)
    return NULL if opix[k] < 0 else &log.ops[opix[k]]


cdef bint piece_follows(LoroDoc doc, ev_scratch *sc, int64_t *opix, int64_t ka, int64_t kb):
    """Whether piece kb's text follows piece ka's in loro's storage: the end bound of `a`
    equals the start bound of `b`, as stored_bounds writes them. The buffers decide most
    cases before any byte is counted (an import's pieces mostly lie in ops of buffers of
    their own), so the UTF-8 lengths of op prefixes are read only where the buffers match.
    A piece may span ops that loro's tracker joins (split_pieces): its end is in the op of
    its last atom."""
    cdef OpLog log = doc.log
    cdef const uint32_t *text = doc.seq.text
    cdef ev_piece *a = &sc.pcs[ka]
    cdef ev_piece *b = &sc.pcs[kb]
    cdef lc_op *opa = piece_op(log, sc, opix, ka)
    cdef lc_op *opb
    cdef int64_t end_a, start_b
    if opa == NULL:
        return False
    if b.peer == a.peer and opa.counter <= b.counter < opa.counter + opa.len \
            and a.content == opa.arg + (a.counter - opa.counter):
        # both in one op, whose text `a` is part of: the bytes before each count the op's
        # atoms before it, so they meet only where the ids do, never at the op's ends (the
        # bounds that buffer -1 stands for)
        return a.counter + a.n == b.counter
    opb = piece_op(log, sc, opix, kb)
    if opb == NULL:
        return False
    if a.counter + a.n > opa.counter + opa.len:
        opa = last_atom_op(log, a.peer, a.counter + a.n - 1)
        if opa == NULL:
            return False
        end_a = opa.start_id.counter + utf8_bytes(&text[opa.arg], a.counter + a.n - opa.counter)
    else:
        end_a = opa.start_id.counter + utf8_bytes(&text[opa.arg], a.counter - opa.counter) \
            + utf8_bytes(&text[a.content], a.n)
    if (<int64_t>opb.delta) & LSTR_BLOB and b.counter == opb.counter and opb.start_id.counter == 0:
        # `b` starts a block-decoded op: its bound is (-1, buffer - 1), which only the end
        # of the block-decoded op just before it in the block matches
        if not ((<int64_t>opa.delta) & LSTR_BLOB) \
                or <int64_t>opa.start_id.peer != <int64_t>opb.start_id.peer - 1:
            return False
        return end_a == ((<int64_t>opa.delta) & LSTR_MASK)
    # `b`'s bound is (its buffer, offset): `a` must end inside the same buffer
    if opa.start_id.peer != opb.start_id.peer:
        return False
    if (<int64_t>opa.delta) & LSTR_BLOB and end_a == ((<int64_t>opa.delta) & LSTR_MASK):
        return False
    start_b = opb.start_id.counter + utf8_bytes(&text[opb.arg], b.counter - opb.counter)
    return end_a == start_b


cdef inline lc_op *last_atom_op(OpLog log, uint32_t peer, int32_t counter) noexcept:
    """The op holding atom (peer, counter), NULL when its change is unknown."""
    cdef int64_t ch = log.find_change(peer, counter)
    return NULL if ch < 0 else &log.ops[log.find_op(ch, counter)]


cdef bint pieces_follow(LoroDoc doc, ev_piece *a, ev_piece *b):
    """piece_follows for two pieces outside a scratch's piece array."""
    cdef ev_piece two[2]
    cdef int64_t opix[2]
    cdef ev_scratch tmp
    two[0] = a[0]
    two[1] = b[0]
    opix[0] = opix[1] = -2
    tmp.pcs = two
    tmp.n_pcs = 2
    return piece_follows(doc, &tmp, opix, 0, 1)


cdef tuple stored_bounds(LoroDoc doc, uint32_t peer, int32_t counter, int64_t content,
                         int32_t n):
    """(0, start, end) of an inserted piece in loro's string storage (None for the first
    when it has none): a piece follows another when the first's end equals the second's
    start. A bound is (buffer, byte offset).

    Text decoded from a blob has a buffer number per op (lstr_place), but loro holds a
    block's text in one buffer, ops side by side, so a piece that starts its op follows
    one that ends the op with the number before (the numbers of one block are
    consecutive, blocks are a number apart: decode_block_ops). Those bounds are written
    (-1, number - 1) and (-1, number); lstr_place marks such ops."""
    cdef OpLog log = doc.log
    cdef int64_t ch = log.find_change(peer, counter)
    cdef lc_op *op
    cdef int64_t at, end
    cdef uint32_t buf
    if ch < 0:
        return (None, 0, 0)
    op = &log.ops[log.find_op(ch, counter)]
    buf = op.start_id.peer
    at = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg], counter - op.counter)
    if (<int64_t>op.delta) & LSTR_BLOB and at == 0:
        lo = (-1, buf - 1)
    else:
        lo = (buf, at)
    if counter + n > op.counter + op.len:
        # (a piece spanning ops loro's tracker joins ends in the op of its last atom)
        op = last_atom_op(log, peer, counter + n - 1)
        if op == NULL:
            return (None, 0, 0)
        buf = op.start_id.peer
        end = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg], counter + n - op.counter)
    else:
        end = at + utf8_bytes(&doc.seq.text[content], n)
    hi = (buf, end)
    if (<int64_t>op.delta) & LSTR_BLOB and end == ((<int64_t>op.delta) & LSTR_MASK):
        hi = (-1, buf)
    return (0, lo, hi)


cdef list collect(LoroDoc doc, bint is_import, bint compare_values, list changed):
    cdef int64_t i
    cdef uint32_t c
    cdef lc_ev_note *e
    cdef double total
    cdef int64_t n = doc.evlog.n
    groups = {}
    i = 1
    while i < n and doc.evlog.notes[i].container == doc.evlog.notes[0].container:
        i += 1
    if n and i == n:
        # one container, the common case (an import of a text's history: thousands of notes)
        groups[doc.evlog.notes[0].container] = list(range(n))
    else:
        for i in range(n):
            c = doc.evlog.notes[i].container
            g = groups.get(c)
            if g is None:
                groups[c] = g = []
            g.append(i)
    paths = {}
    out = []
    done = set()
    shown = []      # counters shown as new values by the diffs (see below)
    before = doc.evs.before         # a checkout's runs (checkout_before), else None
    reached = [] if before is not None else None    # containers a checkout shows as values
    ml_reached = []     # containers a movable list shows again (or anew): whole values
    ml_imported = []    # those an import's movable list diffs show (see below)
    ml_named = []       # those a checkout's movable list diffs show as values
    nopath = []         # containers with a diff but no path (left out, as loro does)
    own_diff = set()    # containers with a diff of their own (their ops)
    global _wrapped, _tree_metas, _calc_held, _wrapped_at, _whole_own_shows
    _calc_held = [] if before is not None or is_import else None
    _whole_own_shows = {} if before is not None and is_import else None
    _wrapped = [] if is_import else None
    _wrapped_at = {} if is_import else None
    _tree_metas = [] if is_import else None
    for c, idxs in groups.items():
        kind = doc.ckind[c]
        if kind == KIND_TEXT or kind == KIND_LIST:
            # loro 1.17.1 shows the new counters of a list insert in local events only
            d = None
            if before is not None:
                d = seq_diff_checkout(doc, c, before.get(c, []), reached, idxs)
            elif not is_import:
                d = local_seq_delta(doc, c, idxs, shown, None)
            if d is None and before is None:
                d = seq_diff(doc, c, idxs, None if is_import else shown, is_import)
            if d is None and not is_import:
                # loro reports every container a commit touched, even when its ops cancel out
                d = Diff.Text([]) if kind == KIND_TEXT else Diff.List([])
        elif kind == KIND_MAP:
            # an import that shows a mergeable child again reports its whole value, as loro
            # a map that compares values shows a counter's value only through the
            # counter's own diff (loro leaves a new counter's zero out there)
            # (an import after the version whose maps loro replays compares them too)
            cmp = (compare_values and (_compared_maps is None or c in _compared_maps)
                   or before is None and is_import and greater_replayed(doc))
            d = map_diff(doc, c, idxs, cmp, None if cmp else shown, reached, before is not None,
                         ml_reached if before is None and is_import else None)
        elif kind == KIND_MOVABLE_LIST:
            d = None if before is not None or is_import else local_seq_delta(doc, c, idxs, shown, ml_reached)
            if d is None:
                mlr = (ml_imported if is_import else ml_reached) if reached is None else []
                d = ml_diff(doc, c, shown, mlr, is_import,
                            idxs if is_import and before is None else None, before is not None)
                if reached is not None:
                    reached.extend(mlr)
                    ml_named.extend(mlr)
        elif kind == KIND_TREE:
            d = tree_diff(doc, c, 0 if not is_import else (2 if compare_values else 1),
                          reached if reached is not None else ml_reached)
        elif kind == KIND_COUNTER:
            total = 0.0
            for i in idxs:
                total += doc.evlog.notes[i].delta
            d = (None if is_import and -F64_EPSILON < total < F64_EPSILON
                 else one_slot(&COUNTER_DIFF_SHAPE, DIFF_SLOTS, total))
        else:
            d = None
        if d is None:
            continue
        own_diff.add(c)
        # like loro, an event is sent when something changed, even where nothing changed
        # that can be reached from a root (then its list is empty)
        changed[0] = True
        path = path_of(doc, c, paths)
        if path is None:
            nopath.append(c)
            continue
        cid = doc.cids[c]
        done.add(c)
        # loro's order: by depth, then roots before the others, which go by creation counter
        out.append((len(path), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c,
                    container_diff(cid, path, d)))
    if before is not None:
        shown_whole(doc, out, reached, paths, done, False,
                    created_before(doc, ml_named) if ml_named else None)
    else:
        # a concurrent import: loro's calculator reports the containers new to the version
        # before (a map's key or a list's insert now holding one) and shows them as their
        # state is, a zero counter left out; one a diff shows again otherwise (the meta map
        # of a node created again, a movable list's element given a new value) comes back
        # whole, 0 too (loro 1.17.1: test_events_differential_kinds seeds 133, 167)
        ends = before_ends(doc) if ml_reached or ml_imported else None
        if ml_reached:
            shown_whole(doc, out, ml_reached, paths, done, not _ml_base_lowered, None, False, ends)
        if ml_imported:
            # the containers an imported movable list diff shows: whole, but those with a
            # diff of their own in the import (their ops), which loro shows as it is; from
            # a lowered base, loro's calculator reports a counter new when its element is
            # (ml_elems_before)
            shown_whole(doc, out, ml_imported, paths, done, not _ml_base_lowered,
                        ml_elems_before(doc, ml_imported, ends) if _ml_base_lowered and ends is not None
                        else None, True)
    # like loro, a counter that a diff shows as a new value reports its whole value, even 0
    # (loro 1.17.1 leaves a zero out in some imports; a zero diff changes nothing)
    revived = []    # (those with no diff of their own in the import: see import_rank)
    for c in shown:
        if c in done:
            continue
        if replayed_map_zero(doc, c):
            continue
        done.add(c)
        path = path_of(doc, c, paths)
        if path is not None:
            revived.append(c)
            cid = doc.cids[c]
            out.append((len(path), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c,
                        ContainerDiff(cid, path, False, Diff.Counter(doc.ccounter[<uint32_t>c]))))
    wrapped = _wrapped
    _wrapped = None
    metas = _tree_metas
    _tree_metas = None
    if len(out) == 1:
        return [out[0][3]]
    # loro's order among containers of equal depth: its hash map's (see loro_c.hash_order),
    # the containers inserted in the order the ops touched them
    if is_import:
        ml_revived = None
        if ml_named and doc.evs.tree_lca is not None:
            # the children a checkout's movable list shows whose element the version before
            # has: loro's calculator does not report them (it reports new elements only), its
            # state brings them back after the diffs of their depth
            ml_revived = ml_elems_before(doc, ml_named, closure_ends(doc, doc.evs.tree_lca[0]), False)
        elif doc.evs.tree_lca is not None and doc.mls is not None and (wrapped or ml_imported):
            # the same in a concurrent import (loro's Import mode): a child whose movable
            # list element the version before has (moved, or given it by a set) is not
            # reported, only new elements' are (kinds seeds 266, 316)
            ml_revived = ml_elems_before(doc, list(wrapped or ()) + ml_imported,
                                         closure_ends(doc, doc.evs.tree_lca[0]), False) or None
        # a mergeable child a map's marker shows whole: loro's map calculator reports no
        # marker as a created child, its state brings the child back after the diffs of its
        # depth, unless its own ops gave it a diff (a calculator whose diff is empty, a
        # counter's ops adding up to 0, leaves it out of the calculator's map too; one
        # holding a key another write of the same value won is in it: _calc_held)
        held = set(_calc_held) if _calc_held else ()
        merg = [x[2] for x in out if doc.croot[<uint32_t>x[2]] == ROOT_MERGEABLE
                and x[2] not in own_diff and x[2] not in held and x[2] not in revived]
        if merg:
            revived = revived + merg
        try:
            ranks = import_rank(doc, groups, out, nopath, wrapped, ml_revived, metas, revived,
                                own_diff)
        finally:
            _calc_held = None
            _whole_own_shows = None
    else:
        firsts = {}
        for c in groups:
            firsts[c] = None
        for x in out:
            firsts[x[2]] = None
        # (the event's map holds only the diffs with a path: a dead child's is left out)
        ranks = hash_rank(doc, list(firsts), 2, {x[2] for x in out})
    out.sort(key=lambda x: (x[0], x[1], ranks[x[2]]))
    return [x[3] for x in out]


cdef int _greater_replayed = -1     # greater_import_replays of _greater_import (-1: not asked)


cdef bint greater_replayed(LoroDoc doc) except -1:
    """Whether loro replays the maps of the import being collected, though its changes all
    follow the document's version (bit 2 of _dag_order.greater_import_replays; asked
    once): its map calculators then compare values, as a checkout's do."""
    global _greater_replayed
    if _greater_import is None:
        return False
    if _greater_replayed < 0:
        try:
            _greater_replayed = greater_import_replays(doc.log, list(_greater_import[0]),
                                                       list(_greater_import[1]))
        except ValueError:
            # (a search that meets history a shallow document no longer has: its maps'
            # changed keys are handed on, as before this rule)
            _greater_replayed = 0
    return (_greater_replayed & 2) != 0


cdef bint replayed_map_zero(LoroDoc doc, uint32_t c) except -1:
    """Whether `c` is a counter of value 0 that a map's new value shows in an import whose
    maps loro replays: its calculator reports the child, the state shows its whole value,
    and loro leaves that zero out (as for a map that compares values)."""
    if _greater_import is None or doc.ckind[c] != KIND_COUNTER:
        return False
    if not (-F64_EPSILON < doc.ccounter[c] < F64_EPSILON):
        return False
    p = parent_of(doc, doc.cids[c])
    if p is None or doc.ckind[<uint32_t>p[0]] != KIND_MAP:
        return False
    return greater_replayed(doc)


cdef object _wrapped = None     # containers shown as values by the diffs collect builds
cdef object _wrapped_at = None  # id() of each of their handles in those diffs -> the container
cdef object _tree_metas = None  # the meta maps (ids) of the nodes a replayed tree diff creates
# a checkout's containers with a diff of their own that it shows whole (brought back): each
# one -> the containers its own diff shows as values (shown_whole; see import_rank)
cdef dict _whole_own_shows = None
cdef object _greater_import = None  # an import's two versions when its changes all follow the
                                    # document's (walked too: they may be concurrent among themselves)


cdef list hash_keys(LoroDoc doc, containers, dict back):
    """loro's map keys of `containers` (noting in `back` which container each one is)."""
    cdef list keys = []
    if doc.meta_n:
        lnum_flush(doc)
    lnum = doc.lnum
    for c in containers:
        cid = doc.cids[c]
        n = lnum.get(cid)
        if n is None:
            lnum[cid] = n = len(lnum)
        k = container_idx(str(cid.container_type), n)
        back[k] = c
        keys.append(k)
    return keys


cdef int arena_depth(LoroDoc doc, uint32_t c) except -1:
    """The depth loro's arena gives a container: by the parents that created it; a
    mergeable child (a root by its id) one more than the map its name points to, shown
    there or not, as loro's arena links it when it registers the child."""
    cdef int d = 1
    cid = doc.cids[c]
    while True:
        if isinstance(cid, _types.ContainerID.Root):
            got = _mergeable_parse(cid)
            if got is None:
                return d
            cid = got[0]
        else:
            p = parent_of(doc, cid)
            if p is None:
                return 1 << 20
            cid = doc.cids[p[0]]
        d += 1


cdef int note_reported(LoroDoc doc, object c, dict back, set calc, set seen, list new,
                       list phantom, list rep) except -1:
    """A container a calculator reports, as its diff meets it: one without a calculator of
    its own (its key not in `calc`, the calculator's map) joins loro's set of reported
    containers there, and the calculator's map after it (`new`), whether the event shows
    it or not; one with a calculator of its own is held in that set until its calculator
    runs (`phantom`); `rep` is every one in the order met."""
    for k in hash_keys(doc, [c], back):
        if k not in calc:
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
        elif k not in phantom:
            phantom.append(k)
            rep.append(k)
    return 0


cdef dict import_rank(LoroDoc doc, dict groups, list out, list nopath, list wrapped,
                      set revived=None, list metas=None, list counters=None, set own=None):
    """Ranks of an import's (or checkout's) diffs as loro orders them: its diff calculator
    iterates the set of containers the ops touched, keeps those with a diff and sorts them
    by depth (stable) into a map, adds the containers the diffs create (a set of them,
    keyed by ContainerID: reported_order); its
    state applies the map's diffs sorted by depth again, bringing back after each depth's
    diffs the children they show that no calculator reported (`revived`: a movable list's
    child whose element the version before has; `counters`: those of the counters shown
    only as a new value whose map's calculator does not report them), and the event's map
    takes them in that
    order, leaving out containers without path and those whose diff is empty (an empty
    container an insert brought in: seed 44 of the differential sessions, whose event has
    three diffs and would come in another order from a map of four). `metas`: the meta maps
    (ids) of the nodes a replayed tree diff creates, which its calculator reports too. A
    checkout's map with a key another write of an equal value now wins is in the map too,
    though the event leaves it out (_calc_held). `own`: the containers whose own ops give
    them a diff."""
    back = {}
    depth = {}
    shown = set()
    for x in out:
        depth[x[2]] = x[0]
        shown.add(x[2])
    for c in nopath:
        depth[c] = arena_depth(doc, c)
    keys = hash_keys(doc, groups, back)
    walk = walked_containers(doc, out)
    if walk is not None and _walk_ranges is not None:
        ends = None
        for c in walk:
            if c not in depth and doc.ckind[<uint32_t>c] == KIND_MOVABLE_LIST:
                if ends is None:
                    ends = closure_ends(doc, doc.evs.tree_lca[1])
                if ml_keeps_elements(doc, c, _walk_ranges, ends):
                    depth[c] = arena_depth(doc, c)
    if walk is not None:
        # the containers in the order loro's walk of the version DAG meets them: those the
        # ops of a checkout or concurrent import name, and those of the history walked
        # again from the common ancestor loro's search finds (loro_c._dag_order)
        kc = dict(zip(groups, keys))
        lnum = doc.lnum
        for c in walk:
            if c not in kc:
                n = lnum.get(doc.cids[c])
                if n is not None:
                    kc[c] = k = container_idx(str(doc.cids[c].container_type), n)
                    back[k] = c
        seen = set()
        keys = []
        for c in walk:
            if c in kc:
                keys.append(kc[c])
                seen.add(c)
        for c in groups:
            if c not in seen:
                keys.append(kc[c])
    walked = set(walk) if walk is not None else None
    if _calc_held:
        # a map whose calculator's diff holds a key won by another write of the same value:
        # in the calculator's map, with nothing for the event (a checkout's where loro's
        # walk of the DAG meets it)
        for c in _calc_held:
            if c not in depth and (doc.evs.before is None or (walked is not None and c in walked)):
                depth[c] = arena_depth(doc, c)
    idle = None
    if revived is None:
        revived = set()
    elif walked is not None:
        # one with a calculator of its own is in the map where its diff is; one whose ops
        # give it none (a counter's adding up to 0) is not, as no calculator reports it new
        # (its element is older): the state brings it back as the others (kinds session 461)
        held = set(_calc_held) if _calc_held else ()
        idle = {c for c in revived if c in walked and own is not None and c not in own
                and c not in held}
        revived = (revived - walked) | idle
    if walked is not None:
        # a created child with a calculator of its own (its ops walked) goes in the map when
        # the calculator is, as brought back, even when its diff is empty
        for c in wrapped:
            if c in walked and c not in depth and c not in revived and not fast_map_child(doc, c):
                depth[c] = arena_depth(doc, c)
        if metas:
            for cid in metas:
                c = doc.cid_index.get(cid)
                if c is not None and c in walked and c not in depth:
                    depth[c] = arena_depth(doc, c)
    # a counter shown only as a map's new value (no diff of its own: none of its ops, or
    # ops adding up to 0) that the map's calculator does not report is in no calculator
    # map: loro's state revives it when the map's diff shows it, after the diffs of its
    # depth, as the event's map gets them
    # (a mergeable child's map never reports it: its marker is no container value)
    rev = [c for c in counters if doc.croot[<uint32_t>c] == ROOT_MERGEABLE
           or fast_map_child(doc, c)] if counters else []
    revset = set(rev)
    if rev:
        revived = revived | revset
    if own is not None:
        # the same for a counter shown with ops of its own that add up to nothing (its
        # calculator's diff is empty: loro leaves it out of the map) whose parent's
        # calculator does not report it (kinds session 706: a movable list's new child
        # counter incremented by 0, in an import replayed from the version before)
        for x in out:
            c = x[2]
            if (doc.ckind[<uint32_t>c] == KIND_COUNTER and c not in own and c not in revset
                    and doc.croot[<uint32_t>c] == ROOT_NONE and fast_map_child(doc, c)):
                rev.append(c)
                revset.add(c)
                revived = revived | {c}
    order = iteration_order(keys)
    ans = [k for k in order if back[k] in depth and back[k] not in revset
           and (idle is None or back[k] not in idle)]
    ans.sort(key=lambda k: depth[back[k]])
    seen = set(ans)
    calc = set(ans)     # the containers with a calculator of their own
    new = []
    newcid = {}     # the ids of the unregistered meta maps among `new`
    # the reported containers that have a calculator of their own (in `ans`), and every
    # reported one in the order met: loro's set of reported containers holds those too
    # until their calculators run (reported_order)
    phantom = []
    rep = []
    # (a container shown in the whole value of a created node's meta map, none of them on
    # the way with a calculator of its own: loro's state revives them after the meta map,
    # outside the calculator's map)
    in_metas = set(metas) if metas else None
    if own is not None and wrapped:
        # a child shown in the whole value of a container whose own ops give it no diff (one
        # brought back): that container's calculator reports nothing, loro's state revives
        # the child after the diffs of its depth, unless the child's own ops give it a diff
        # (plain session 3611: an empty list inside a list a checkout restores stays out of
        # the calculator's map; kinds 1386: two children of such a list). The container
        # brought back may have no path (a child of a dead container): loro's calculators
        # know nothing of paths, its children are reported by nobody all the same (plain
        # session 7002: a list a dead map's key holds again, its two child lists)
        whole = {x[2] for x in out if x[2] not in own}
        whole.update(c for c in wrapped if c not in own)
        if whole:
            quiet = set()
            for c in wrapped:
                if doc.croot[<uint32_t>c] != ROOT_NONE:
                    continue        # (a mergeable child: its parent's marker, see below)
                link = parent_of(doc, doc.cids[c])
                if link is not None and link[0] in whole and c not in own:
                    quiet.add(c)
            if quiet:
                revived = revived | quiet
    if own is not None and wrapped and _whole_own_shows:
        # the same for a child in the whole value of a container a checkout brings back
        # whose own ops do give it a diff: its calculator reports only the children that
        # diff shows (a list's inserts, a map's changed keys); the others (inserted before
        # the checkout's span) loro's state revives after the diffs of their depth, outside
        # the calculator's map (plain session 1700: a counter in a list a map's key holds
        # again, the list's diff deleting another element)
        quiet = set()
        for c in wrapped:
            if doc.croot[<uint32_t>c] != ROOT_NONE or c in own:
                continue
            link = parent_of(doc, doc.cids[c])
            if link is None:
                continue
            kids = _whole_own_shows.get(link[0])
            if kids is not None and c not in kids:
                quiet.add(c)
        if quiet:
            revived = revived | quiet
    for c in wrapped:
        if in_metas is not None and c not in depth and under_meta(doc, c, in_metas, depth, walked):
            continue
        if c not in revived and not fast_map_child(doc, c):
            note_reported(doc, c, back, calc, seen, new, phantom, rep)
    if walked is not None and _walk_ranges and doc.mls is not None:
        # a movable list's calculator replaying from an ancestor reports the container value
        # of every element new to the version before that the version after has, deleted
        # there or not (loro's checkout index finds a deleted element's last position too):
        # those the diff does not show are in the calculator's map all the same
        # (kinds session 993: a child text inserted and deleted in the checkout's range)
        for c in ml_dead_children(doc, _walk_ranges, shown):
            if c not in revived:
                note_reported(doc, c, back, calc, seen, new, phantom, rep)
    if metas:
        # loro's tree calculator reports the meta map of each node its replayed diff
        # creates (registered then if it was not; a meta map loro_c never made a container
        # for is no diff: it only takes a key)
        if doc.meta_n:
            lnum_flush(doc)
        lnum = doc.lnum
        for mcid in metas:
            mc = doc.cid_index.get(mcid)
            if mc is not None:
                k = hash_keys(doc, [mc], back)[0]
                if k in calc:
                    if k not in phantom:
                        phantom.append(k)
                        rep.append(k)
                    continue
                if mc in depth and mc in revived:
                    continue
                # (one without a calculator of its own -- its ops all known before -- is a
                # member here, in the tree diff's order, though the event shows it whole:
                # kinds session 1384)
            else:
                n = lnum.get(mcid)
                if n is None:
                    lnum[mcid] = n = len(lnum)
                k = container_idx("Map", n)
                back.setdefault(k, -1)
                newcid[k] = mcid
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
    for x in out:
        # shown whole (a checkout's, a movable list's): brought back, like the created ones
        if x[2] in revived:
            continue
        for k in hash_keys(doc, [x[2]], back):
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
    if len(new) > 1:
        new = reported_order(doc, rep, back, ans, newcid, phantom)
    ans.extend(new)
    nop = set(nopath)
    # loro's state applies the calculator's diffs in its map's order sorted by depth
    # (stably), bringing back after each depth's diffs the children they show that have no
    # diff of their own (a set of them); the event's map takes them in that order
    kept = [k for k in iteration_order(ans) if back[k] not in nop and back[k] in shown]
    rv = None
    if revived:
        rvc = [x[2] for x in out if x[2] in revived]
        # (in the order loro's state meets them, a set per depth: kinds session 1386, two
        # children of a list brought back that share a bucket; mergeable ones measured)
        rvc = revive_sequence(doc, out, rvc, [back[k] for k in ans], depth)
        rv = [k for k in hash_keys(doc, rvc, back) if k not in seen]
    if rv or len({depth[back[k]] for k in kept}) > 1:
        rows = [(depth[back[k]], 0, i, k) for i, k in enumerate(kept)]
        if rv:
            rows.extend((depth[back[k]], 1, i, k) for i, k in enumerate(rv))
        rows.sort()
        kept = [r[3] for r in rows]
    order = iteration_order(kept)
    return {back[k]: r for r, k in enumerate(order)}


cdef list revive_sequence(LoroDoc doc, list out, list revived, list calc, dict depth):
    """The containers loro's state brings back (`revived`, those of `out` no calculator
    reports) in the order it brings them back. Its state applies the calculator's diffs by
    depth (`calc`: its map's order, sorted by depth) and then those it brought back; each
    diff's container values go into a set for the next depth (a map's in the order its
    diff's keys come), and those of that set no diff of their own took are brought back,
    in the set's order, after the diffs of their depth."""
    rows = {x[2]: x for x in out}
    want = set(revived)
    by_depth = {}
    for c in revived:
        by_depth.setdefault(depth[c], []).append(c)
    done = []
    walk = [None]   # (walk_map_keys, computed when a map's diff first needs it)
    proc = [c for c in calc if c in rows]       # processed, in order (a depth's calculator diffs, then its revived)
    for d in sorted(by_depth):
        seq = []
        met = set()
        for p in proc:
            if depth.get(p) != d - 1:
                continue
            for ch in shown_children(doc, p, rows[p][3], walk):
                if ch not in met:
                    met.add(ch)
                    seq.append(ch)
        layer = []
        if seq:
            kb = {}
            layer = [kb[k] for k in iteration_order(hash_keys(doc, seq, kb))
                     if kb[k] in want and depth.get(kb[k]) == d]
        have = set(layer)
        rest = [c for c in by_depth[d] if c not in have]      # (no parent met: the set's order)
        if rest:
            kb = {}
            layer.extend(kb[k] for k in iteration_order(hash_keys(doc, rest, kb)))
        done.extend(layer)
        proc.extend(layer)
    return done


cdef set diff_children(LoroDoc doc, object d):
    """The containers a list's or map's diff shows as values (inserted, or a key's value)."""
    out = set()
    vals = []
    if isinstance(d, Diff.Map):
        vals = list(d.diff.updated.values())
    elif isinstance(d, Diff.List):
        for it in d.diff:
            if isinstance(it, ListDiffItem.Insert):
                vals.extend(it.insert)
    for v in vals:
        if isinstance(v, _types.ValueOrContainer.Container) and _wrapped_at:
            c = _wrapped_at.get(id(v.container))
            if c is not None:
                out.add(c)
    return out


cdef list shown_children(LoroDoc doc, uint32_t p, object cd, list walk):
    """The containers the diff `cd` of `p` shows as values, in the order loro's state meets
    them (a list's inserts in order, a map's keys in the order of its diff's hash map). That map is filled from the
    calculator's map of changed keys, which takes the keys as loro's walk of the version DAG
    meets their ops (`walk[0]`: walk_map_keys, filled on first use), so two keys sharing a
    bucket come in that order (mergeable sessions 69, 365: a concurrent peer's op met before
    older local ones)."""
    cdef int64_t slot
    d = cd.diff
    out = []
    if isinstance(d, Diff.Map) and doc.ckind[p] == KIND_MAP:
        upd = d.diff.updated
        ranks = None
        if len(upd) > 1:
            if walk[0] is None:
                walk[0] = walk_map_keys(doc)
            ranks = walk[0].get(p)
        if ranks:
            keys = map_diff_key_order(list(ranks), upd)
        else:
            keys = str_key_order(list(upd))
        for key in keys:
            v = upd[key]
            if v is None or not isinstance(v, _types.ValueOrContainer.Container):
                continue
            slot = map_slot(doc, p, key)
            if slot < 0:
                continue
            cid = map_public_value(doc, p, key, doc.log.values[slot])
            if isinstance(cid, _types.ContainerID):
                c = doc.cid_index.get(cid)
                if c is not None:
                    out.append(c)
    elif isinstance(d, Diff.List):
        # (a list's or movable list's inserted values, in order)
        for it in d.diff:
            if isinstance(it, ListDiffItem.Insert):
                for v in it.insert:
                    if isinstance(v, _types.ValueOrContainer.Container) and _wrapped_at:
                        c = _wrapped_at.get(id(v.container))
                        if c is not None:
                            out.append(c)
    return out


cdef dict walk_map_keys(LoroDoc doc):
    """For each map with ops between the two versions of the checkout or import being
    collected, its keys in the order loro's walk of the version DAG first meets their ops
    ({} when there is no such walk: a shallow history, or no versions noted)."""
    cdef lc_range_ops it
    cdef lc_op *op
    cdef OpLog log = doc.log
    if doc.evs is None or doc.shallow_sv is not None:
        return {}
    versions = doc.evs.tree_lca if doc.evs.tree_lca is not None else _greater_import
    if versions is None:
        return {}
    ranges = []
    dag_walk(log, list(versions[0]), list(versions[1]), ranges, None, doc.vv_touches,
             doc.vv_loaded)
    # (the walk may start below both versions: ops both have are replayed, not changes)
    be = closure_ends(doc, list(versions[0]))
    ae = closure_ends(doc, list(versions[1]))
    out = {}
    keys = log.keys
    for r in ranges:
        lo = min(be[r[0]], ae[r[0]]) if r[0] < len(be) and r[0] < len(ae) else 0
        if r[2] <= lo:
            continue
        range_ops_start(log, &it, r[0], max(r[1], lo), r[2])
        op = range_ops_next(log, &it)
        while op != NULL:
            if ((op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE)
                    and doc.ckind[op.container] == KIND_MAP):
                ranks = out.get(op.container)
                if ranks is None:
                    out[op.container] = ranks = {}
                k = keys[<uint32_t>op.pos]
                if k not in ranks:
                    ranks[k] = len(ranks)
            op = range_ops_next(log, &it)
    return out


cdef list reported_order(LoroDoc doc, list new, dict back, list ans, dict newcid,
                         list phantom=None):
    """The containers loro's calculators report as created (`new`, keys of `back`, in the
    order met) in the order of the set loro collects them in: keyed by ContainerID, filled
    as the calculators run (in `ans` order, each reporting its children in its diff's
    order). `phantom`: those of `new` (in `ans`) that have a calculator of their own, left
    out of the result: loro takes each
    out of the set when that calculator runs (it brings the container back there), but
    the set has grown with it and its other members sit where they went in (kinds session
    1023: a list's child counter with an op of its own made the set of three meta maps
    grow)."""
    rank = {back[k]: i for i, k in enumerate(ans)}
    cids = []
    for k in new:
        c = back[k]
        cid = doc.cids[c] if c >= 0 else newcid[k]
        if isinstance(cid, _types.ContainerID.Root):
            # a mergeable child: reported by the map its parent's slot names
            p = mergeable_parent(doc, <uint32_t>c) if c >= 0 else None
        else:
            p = parent_of(doc, cid)
        cids.append((rank.get(p[0], len(ans)) if p is not None else len(ans), len(cids), k, cid))
    cids.sort()
    by_id = {}
    tup = {}
    for _, _, k, cid in cids:
        if isinstance(cid, _types.ContainerID.Root):
            t = (cid.name, None, None, str(cid.container_type))
        else:
            t = (None, cid.peer, cid.counter, str(cid.container_type))
        by_id[t] = k
        tup[k] = t
    if not phantom:
        return [by_id[t] for t in container_id_order(list(by_id))]
    gone = {tup[k]: rank.get(back[k], len(ans)) for k in phantom}
    ops = []
    j = 0
    for i in range(len(ans) + 1):
        t = tup.get(ans[i]) if i < len(ans) else None
        if t is not None and t in gone and gone[t] == i:
            ops.append((t, False))
        while j < len(cids) and cids[j][0] == i:
            ops.append((tup[cids[j][2]], True))
            j += 1
    while j < len(cids):
        ops.append((tup[cids[j][2]], True))
        j += 1
    return [by_id[t] for t in container_id_order_ops(ops) if t not in gone]


cdef bint under_meta(LoroDoc doc, uint32_t c, set metas, dict depth, set walked) except -1:
    """Whether `c` hangs under one of the meta maps (ids) `metas` through containers that
    have no diff and no ops walked."""
    p = parent_of(doc, doc.cids[c])
    while p is not None:
        pc = p[0]
        if doc.cids[pc] in metas:
            return pc not in depth and (walked is None or pc not in walked)
        if pc in depth or (walked is not None and pc in walked):
            return False
        p = parent_of(doc, doc.cids[pc])
    return False


cdef bint fast_map_child(LoroDoc doc, uint32_t c) except -1:
    """Whether `c` is a child a map's diff creates that loro's calculator does not report:
    its map calculator reports them only when it replays the map from an ancestor (a
    checkout, a concurrent import whose base loro lowers, a map edited on both sides), not
    when it hands on the changed keys as they are (an import that holds the document's
    version, or whose concurrency is on maps and counters only, for the maps not edited on
    both sides: diverged_containers)."""
    if _greater_import is None and _compared_maps is None and _calc_from_before is None:
        return False
    if doc.croot[c] != ROOT_NONE:
        # a root (a mergeable child among them) is made by no op of a map
        return False
    p = parent_of(doc, doc.cids[c])
    if p is None:
        return False
    if doc.ckind[<uint32_t>p[0]] == KIND_MOVABLE_LIST:
        # (a movable list's calculator reports the new values of elements only when it
        # replays the list from an ancestor: a checkout or a concurrent import from a
        # lowered base)
        return (_greater_import is not None and not greater_replayed(doc)) or (
            _calc_from_before is not None and p[0] not in _calc_from_before)
    if _greater_import is None and _compared_maps is None:
        return False
    if doc.ckind[<uint32_t>p[0]] != KIND_MAP:
        return False
    if _greater_import is not None:
        # (unless loro replays the maps of an import that follows the version)
        return not greater_replayed(doc)
    return p[0] not in _compared_maps


cdef object walked_containers(LoroDoc doc, list out):
    """The containers loro's diff calculator meets, in order, for the checkout or concurrent
    import being collected (doc.evs.tree_lca holds its two versions), or None when the
    event's order does not depend on it (no two diffs tie on depth and counter) or the
    history is shallow. The walk (loro_c._dag_order) keeps the log's DAG across events and
    costs about what loro's own walk does."""
    if doc.evs is None or doc.shallow_sv is not None:
        return None
    versions = doc.evs.tree_lca if doc.evs.tree_lca is not None else _greater_import
    if versions is None:
        return None
    ties = set()
    for x in out:
        t = (x[0], x[1])
        if t in ties:
            break
        ties.add(t)
    else:
        return None
    before, after = versions
    global _walk_ranges
    # (the ranges are for ml_keeps_elements: only a document with movable lists needs them)
    _walk_ranges = [] if doc.evs.tree_lca is not None and doc.mls is not None else None
    return dag_walk(doc.log, list(before), list(after), _walk_ranges, None, doc.vv_touches,
                    doc.vv_loaded, doc.evs.tree_lca is not None and doc.evs.lca_ordered,
                    doc.evs.tree_lca is not None and doc.evs.lca_after_ordered)


cdef object _walk_ranges = None     # the id ranges the last walked_containers visited


cdef list ml_dead_children(LoroDoc doc, list ranges, set shown):
    """The child containers (not in `shown`) held at the version after by the movable list
    elements the walked id `ranges` insert that are new to the version before (the two
    versions of doc.evs.tree_lca), of the lists whose calculator replays them from an
    ancestor (see fast_map_child)."""
    cdef OpLog log = doc.log
    cdef MovableState s = doc.mls
    cdef lc_range_ops it
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_ml_elem *el
    cdef uint32_t p
    cdef int32_t s0, s1, lo, hi, a0, a1, i
    out = []
    if s is None or doc.evs is None or doc.evs.tree_lca is None or _greater_import is not None:
        return out
    be = closure_ends(doc, list(doc.evs.tree_lca[0]))
    ae = closure_ends(doc, list(doc.evs.tree_lca[1]))
    values = log.values
    for p, s0, s1 in ranges:
        lo = max(s0, be[p] if p < len(be) else 0)
        hi = min(s1, ae[p] if p < len(ae) else 0)
        if hi <= lo:
            continue
        range_ops_start(log, &it, p, lo, hi)
        op = range_ops_next(log, &it)
        while op != NULL:
            if (op.kind == LC_OP_INSERT and doc.ckind[op.container] == KIND_MOVABLE_LIST
                    and (_calc_from_before is None or op.container in _calc_from_before)):
                ch = it.change
                a0 = max(op.counter, lo)
                a1 = min(op.counter + op_atoms(op), hi)
                for i in range(a0, a1):
                    e = s.elem_index.get((<uint64_t>p << 32) | (ch.lamport + <uint32_t>(i - ch.counter)))
                    if e is None:
                        continue
                    el = &s.elems[<int64_t>e]
                    if el.val_slot < 0:
                        continue
                    v = values[el.val_slot]
                    if isinstance(v, _types.ContainerID):
                        c = doc.cid_index.get(v)
                        if c is not None and c not in shown:
                            out.append(c)
            op = range_ops_next(log, &it)
    return out


cdef bint ml_keeps_elements(LoroDoc doc, uint32_t c, list ranges, list ends) except -1:
    """Whether the ops of movable list `c` in the walked `ranges` insert, move or set an
    element version `ends` has: loro's calculator then holds that element in its diff
    (unchanged or not), so the list is in its map of diffs even when the event shows
    nothing of it."""
    cdef OpLog log = doc.log
    cdef lc_range_ops it
    cdef lc_op *op
    cdef int32_t s0
    cdef uint32_t p
    cdef MovableState st = doc.mls
    cdef lc_ml_elem *el
    for r in ranges:
        p = r[0]
        s0 = r[1]
        range_ops_start(log, &it, p, s0, r[2])
        op = range_ops_next(log, &it)
        while op != NULL:
            if op.container != c:
                pass
            elif op.kind == LC_OP_INSERT:
                if max(op.counter, s0) < <int32_t>ends[p]:
                    return True
            elif (op.kind == LC_OP_MOVE or op.kind == LC_OP_SET) and st is not None:
                e = st.elem_index.get((<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
                if e is not None:
                    el = &st.elems[<int64_t>e]
                    if el.peer < len(ends) and el.counter < ends[el.peer]:
                        return True
            op = range_ops_next(log, &it)
    return False


cdef dict hash_rank(LoroDoc doc, list containers, int passes=1, set last=None):
    """Each container's place in loro's order of `containers` (given in the order met) after
    they went through `passes` hash maps, each filled as the previous one iterates (a
    commit's diffs: the transaction's map of event hints, then the event's map); `last`:
    the containers the last map takes (by default all)."""
    cdef dict keys = {}
    order = list(dict.fromkeys(hash_keys(doc, containers, keys)))
    for p in range(passes):
        if last is not None and p == passes - 1:
            order = [k for k in order if keys[k] in last]
        order = iteration_order(order)
    return {keys[k]: r for r, k in enumerate(order)}


cdef set created_before(LoroDoc doc, list containers):
    """The counters among `containers` that the version a checkout leaves has (their
    creating op in it, or the element a movable list's set gave one): a movable list that
    shows one again in a checkout reports it whole, 0 too, as loro, unless the list's
    element is new to that version (loro's calculator brings it back then, with an empty
    diff: measured on loro 1.17.1)."""
    out = set()
    if doc.evs is None or doc.evs.tree_lca is None:
        return out
    ends = closure_ends(doc, doc.evs.tree_lca[0])
    # (a counter a set gave an element that version has is not new to it either)
    out = ml_elems_before(doc, containers, ends)
    for c in containers:
        if doc.ckind[<uint32_t>c] != KIND_COUNTER:
            continue
        cid = doc.cids[c]
        p = doc.log.peer_map.get(cid.peer)
        if p is not None and cid.counter < ends[<uint32_t>p]:
            out.add(c)
    return out


cdef list before_ends(LoroDoc doc):
    """Per peer index, the end counter of the version a concurrent import started from
    (None for other batches)."""
    if doc.evs is None or doc.evs.tree_lca is None or doc.shallow_sv is not None:
        return None
    return closure_ends(doc, doc.evs.tree_lca[0])


cdef list closure_ends(LoroDoc doc, list version):
    """Per peer index, the end counter of the history of `version` [(peer index, counter)]."""
    cdef OpLog log = doc.log
    cdef int64_t i, n = len(version)
    cdef lc_id *ids = <lc_id*>malloc(<size_t>(n + 1) * sizeof(lc_id))
    cdef int32_t *fc = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    try:
        if ids == NULL or fc == NULL:
            raise MemoryError()
        for i in range(n):
            ids[i] = make_id(version[i][0], version[i][1])
        log.closure(ids, n, make_id(LC_NO_PEER, 0), fc)
        return [fc[i] for i in range(log.n_peers)]
    finally:
        free(ids)
        free(fc)


cdef bint made_before(LoroDoc doc, object cid, list ends):
    """Whether the op creating child container `cid` is in the version `ends`."""
    p = doc.log.peer_map.get(cid.peer)
    return p is not None and <uint32_t>p < len(ends) and cid.counter < ends[<uint32_t>p]


cdef bint reported_new_by_parent(LoroDoc doc, object cid, list ends):
    """Whether child `cid` was created after the version `ends` by a parent whose
    calculator reports it new: a map whose import diff compares values
    (diverged_containers), a list (loro's list calculator reports every container its
    diff inserts, in any mode; `cid` is created by its insert, so the diff has it), a
    movable list whose element holding it is new (ml_elems_before)."""
    if made_before(doc, cid, ends):
        return False
    link = parent_of(doc, cid)
    if link is None:
        return False
    if link[1] == LC_OP_INSERT and (doc.ckind[<uint32_t>link[0]] == KIND_LIST
                                    or doc.ckind[<uint32_t>link[0]] == KIND_MOVABLE_LIST):
        return True
    if link[1] == LC_OP_SET and doc.ckind[<uint32_t>link[0]] == KIND_MOVABLE_LIST:
        # (a set: reported when its element is new too)
        c = doc.cid_index[cid]
        return c not in ml_elems_before(doc, [c], ends, False)
    if link[1] != LC_OP_MAP_SET or doc.ckind[<uint32_t>link[0]] != KIND_MAP:
        return False
    return _compared_maps is None or link[0] in _compared_maps


cdef set ml_elems_before(LoroDoc doc, list containers, list ends, bint counters_only=True):
    """The counters among `containers` (any of them: not `counters_only`) held by a movable
    list element that the version `ends` has (inserted in it; a set may have given it the
    counter since): loro's calculator does not report them new (it reports new elements)."""
    cdef OpLog log = doc.log
    cdef int64_t ch, k
    cdef lc_op *op
    cdef MovableState s = doc.mls
    cdef lc_ml_elem *el
    out = set()
    for c in containers:
        if counters_only and doc.ckind[<uint32_t>c] != KIND_COUNTER:
            continue
        cid = doc.cids[c]
        p = log.peer_map.get(cid.peer)
        if p is None:
            continue
        ch = log.find_change(<uint32_t>p, <int32_t>cid.counter)
        if ch < 0:
            continue
        k = log.find_op(ch, <int32_t>cid.counter)
        op = &log.ops[k]
        if op.counter > cid.counter or doc.ckind[op.container] != KIND_MOVABLE_LIST:
            continue
        if op.kind == LC_OP_SET:
            if s is None:
                continue
            e = s.elem_index.get((<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
            if e is None:
                continue
            el = &s.elems[<int64_t>e]
            if el.peer < len(ends) and el.counter < ends[el.peer]:
                out.add(c)
        elif made_before(doc, cid, ends):
            out.add(c)
    return out


cdef int shown_whole(LoroDoc doc, list out, list reached, dict paths, set done,
                     bint zero_counters, set zero_shown=None, bint keep_own=False,
                     list ends=None) except -1:
    """A checkout may show a container again (a list inserts it, a map key holds it once
    more: `reached`): like loro, its diff is then its whole value, from empty, and so on
    for the containers inside it. A checkout leaves out a counter shown again whose value
    is 0 (loro's diff of it is empty), except, as loro, one that only the whole value of a
    container shown again holds: loro's diff calculation does not know it (no op of the
    range names it, or theirs add up to 0, and no diff shows it as a new value), and its
    state shows it whole, 0 too (measured on loro 1.17.1: 14 checkouts in 1,500 random
    sessions, all such counters and only those); and a mergeable child counter, whose id
    is a root's (loro's calculation does not bring those back: 26 of 1,500 sessions of
    test_mergeable)."""
    cdef uint32_t c
    queue = list(reached)
    named = set(reached)        # shown as values by the diffs: loro's calculation knows them
    seen = set()
    rows = {row[2]: k for k, row in enumerate(out)}
    while queue:
        c = queue.pop()
        if c in seen:
            continue
        seen.add(c)
        k = rows.get(c)
        if keep_own and k is not None:
            # an import's container with a diff of its own (its ops): loro shows that one,
            # the counters it inserts without their value (as a list's import diff does)
            continue
        if _own_before_shown is not None:
            _own_before_shown[doc.cids[c]] = None if k is None else out[k][3].diff
        if (_whole_own_shows is not None and k is not None and not keep_own
                and (doc.ckind[c] == KIND_LIST or doc.ckind[c] == KIND_MAP)):
            _whole_own_shows[c] = diff_children(doc, out[k][3].diff)
        d = whole_value_diff(doc, c, queue, zero_counters)
        if d is None and not zero_counters and doc.ckind[c] == KIND_COUNTER and (
                doc.croot[c] == ROOT_MERGEABLE or (k is None and c not in named)
                or (k is None and zero_shown is not None and c in zero_shown)):
            d = Diff.Counter(doc.ccounter[c])
        if (ends is not None and d is not None and doc.ckind[c] == KIND_COUNTER and k is None
                and doc.ccounter[c] == 0 and doc.croot[c] == ROOT_NONE and c not in named
                and reported_new_by_parent(doc, doc.cids[c], ends)):
            # (`ends`: a concurrent import's version before) a zero counter new to it, that
            # the whole value of a container shown again holds: loro's calculator reports it
            # new (its parent map compares values, its parent list inserts it, its movable
            # list's element is new), its diff is empty, even where the parent's diff shows
            # it as a new value; only a counter no calculator knows comes back through
            # loro's state, 0 too
            d = None
            done.add(c)
        if k is not None:
            if d is None:
                out[k] = None
            else:
                out[k] = out[k][:3] + (ContainerDiff(out[k][3].target, out[k][3].path, False, d),)
            continue
        if d is None:
            continue
        path = path_of(doc, c, paths)
        if path is None:
            continue
        done.add(c)
        cid = doc.cids[c]
        out.append((len(path), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c, ContainerDiff(cid, path, False, d)))
    out[:] = [row for row in out if row is not None]
    return 0


cdef object tree_diff(LoroDoc doc, uint32_t c, int mode, list reached):
    """A tree's Diff.Tree (state/tree.pxi's items), None when an import changed nothing. In
    a checkout or a concurrent import a created node's meta map is shown whole (`reached`),
    as loro shows it."""
    cdef PyObject *v[5]
    items = []
    versions = doc.evs.tree_lca if mode == 2 and doc.evs is not None else None
    if versions is not None and doc.shallow_sv is not None:
        # a shallow document's replay would need the trimmed moves (not modelled): the
        # event lists the same changes in the state's order
        versions = None
    ids = {None: None}      # (peer, counter) -> TreeID, each made once per diff
    for it in tree_event_items(doc, c, mode) if versions is None else \
            tree_checkout_items(doc, c, versions):
        kind = it[0]
        node = tree_id_cached(ids, it[1])
        if kind == "root-create":
            # a shallow load's root state node (tree_event_items, mode 3)
            kind = "create"
            m = doc.cid_index.get(_types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map()))
            if m is not None:
                reached.append(m)
        elif kind == "create" and mode >= 2:
            mid = _types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map())
            m = doc.cid_index.get(mid)
            if m is not None:
                reached.append(m)
            if versions is not None and _tree_metas is not None and (
                    _calc_from_before is None or c in _calc_from_before):
                _tree_metas.append(mid)
        if (kind == "create" and versions is None and _tree_metas is not None
                and _greater_import is not None and greater_replayed(doc)):
            # an import after the version that loro's search does not find linear runs
            # the tree's calculator in its Crdt mode, which reports each created node's
            # meta map as a checkout's does (kinds session 4365)
            _tree_metas.append(_types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map()))
        parent = tree_id_cached(ids, it[2])
        index = it[3]
        v[0] = <PyObject*>parent
        v[1] = <PyObject*>index
        if kind == "delete":
            action = make_value(&TDELETE_SHAPE, TDELETE_SLOTS, v)
        else:
            fi = it[4].hex().upper()
            v[2] = <PyObject*>fi
            if kind == "create":
                action = make_value(&TCREATE_SHAPE, TCREATE_SLOTS, v)
            else:
                old_parent = tree_id_cached(ids, it[5])
                old_index = it[6]
                v[3] = <PyObject*>old_parent
                v[4] = <PyObject*>old_index
                action = make_value(&TMOVE_SHAPE, TMOVE_SLOTS, v)
        v[0] = <PyObject*>node
        v[1] = <PyObject*>action
        items.append(make_value(&TITEM_SHAPE, TITEM_SLOTS, v))
    if not items and mode != 0 and mode != 3:
        return None
    return Diff.Tree(TreeDiff(items))


cdef list tree_checkout_items(LoroDoc doc, uint32_t c, tuple versions):
    """A checkout's (or concurrent import's) items in loro 1.17.1's order. `versions`: the
    ids (peer index, counter) of the version before and the version after. loro replays
    its tree diff from a base version: the ops both versions hold whose Lamport is below
    every op only one of them holds (`lmin`). So the moves of the version before from
    `lmin` on are taken back, latest first, and those of the version after applied
    (TreeMoves.replay_items, on a scratch copy holding the tree's moves of both)."""
    cdef OpLog log = doc.log
    cdef int64_t ci, i, n, m
    cdef uint32_t p, lmin = 0xFFFFFFFF, lam
    cdef int32_t end
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_id *ids = NULL
    cdef int32_t *fa = NULL
    cdef int32_t *fb = NULL
    cdef uint8_t *in_to = NULL
    cdef int64_t cap_in_to = 0
    cdef TreeMoves r
    cdef bytes fi
    cdef int64_t parent_kind
    cdef uint64_t parent_peer
    a, b = versions
    n = max(len(a), len(b), 1)
    ids = <lc_id*>malloc(<size_t>n * sizeof(lc_id))
    fa = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    fb = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    try:
        if ids == NULL or fa == NULL or fb == NULL:
            raise MemoryError()
        for i, (pk, k) in enumerate(a):
            ids[i] = make_id(pk, k)
        log.closure(ids, len(a), make_id(LC_NO_PEER, 0), fa)
        for i, (pk, k) in enumerate(b):
            ids[i] = make_id(pk, k)
        log.closure(ids, len(b), make_id(LC_NO_PEER, 0), fb)
        for p in range(log.n_peers):
            if fa[p] != fb[p]:
                lam = log.lamport_of(make_id(p, fa[p] if fa[p] < fb[p] else fb[p]))
                if lam < lmin:
                    lmin = lam
        if lmin == 0xFFFFFFFFU:
            return []
        r = TreeMoves()
        for ci in range(log.n_changes):
            ch = &log.changes[ci]
            end = fa[ch.peer] if fa[ch.peer] > fb[ch.peer] else fb[ch.peer]
            if ch.counter >= end:
                continue
            for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                op = &log.ops[i]
                if op.kind != LC_OP_TREE or op.container != c or op.counter >= end:
                    continue
                fi = <bytes>log.values[op.arg]
                if op.pos == LC_TREE_PARENT_ROOT:
                    parent_kind = TREE_ROOT
                elif op.pos == LC_TREE_PARENT_DELETED:
                    parent_kind = TREE_DELETED
                else:
                    parent_kind = r.node(log.peer_ids[op.pos], <int32_t>op.delta)
                m = r._log_move(ch.lamport + <uint32_t>(op.counter - ch.counter),
                                log.peer_ids[ch.peer], op.counter,
                                r.node(log.peer_ids[op.start_id.peer], op.start_id.counter),
                                parent_kind, <const uint8_t*><char*>fi, <int32_t>len(fi))
                r._set_excluded(&r.moves[m], op.counter >= fa[ch.peer])
                if m >= cap_in_to:
                    in_to = <uint8_t*>grow(in_to, &cap_in_to, m + 1, 1)
                in_to[m] = op.counter < fb[ch.peer]
        if r.n_moves == 0:
            return []
        return r.replay_items(r.sort_log(), lmin, in_to)
    finally:
        free(ids)
        free(fa)
        free(fb)
        free(in_to)


cdef object tree_id_cached(dict ids, object k):
    cdef PyObject *v[2]
    found = ids.get(k, ids)
    if found is ids:
        peer = k[0]
        counter = k[1]
        v[0] = <PyObject*>peer
        v[1] = <PyObject*>counter
        found = ids[k] = make_value(&TID_SHAPE, TID_SLOTS, v)
    return found


cdef object ml_diff(LoroDoc doc, uint32_t c, list shown, list reached, bint is_import,
                    list idxs=None, bint checkout=False):
    """A MovableList's diff: its items before the batch against after (ml_event_ops); an
    import's (`idxs`: its journal notes of `c`) or a `checkout`'s split into items as
    loro's (ml_import_split: loro's steps replayed, at a cost that grows with the changed
    elements times the log of the list's length)."""
    values = doc.log.values
    if checkout or idxs is not None:
        ops = ml_import_split(doc, c, idxs)
    else:
        ops = ml_event_ops(doc, c, is_import)
    if not ops:
        return None if is_import else list_diff([])
    return list_diff([one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], op[1]) if op[0] == 0
                      else one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, op[1]) if op[0] == 2
                      else ml_list_insert(
                          [wrap_value(doc, values[slot], None if is_import else shown,
                                      None if op[2] else reached)      # a moved one is unchanged
                           for slot in op[1]], op[2]) for op in ops])


cdef inline object ml_list_insert(list items, object is_move):
    cdef PyObject *v[2]
    v[0] = <PyObject*>items
    v[1] = <PyObject*>is_move
    return make_value(&LIST_INSERT_SHAPE, LIST_INSERT_SLOTS, v)


cdef object whole_value_diff(LoroDoc doc, uint32_t c, list queue, bint zero_counters=True):
    """Container `c`'s whole value as a diff from empty (None when empty); the containers
    it holds go to `queue`."""
    cdef int kind = doc.ckind[c]
    values = doc.log.values
    if kind == KIND_TEXT:
        if not _shallow_trees and not doc.seq.nodes[doc.seq.roots[doc.ctree[c]]].lens.anchors:
            items = whole_text_items(doc, c)
            return text_diff(items) if items else None
        if _shallow_trees:
            runs = text_delta_runs(doc, c, True)
            return Diff.Text([TextDelta.Insert(t, a or None) for t, a in runs])
        items = whole_rich_items(doc, c)
        return Diff.Text(items) if items else None
    if kind == KIND_COUNTER:
        # a checkout leaves a zero out (an import that shows a mergeable child again
        # does not), as loro
        return Diff.Counter(doc.ccounter[c]) if zero_counters or doc.ccounter[c] != 0 else None
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        items = [wrap_value(doc, values[slot], None, queue)
                 for slot in (list_slots(doc, c) if kind == KIND_LIST else ml_slots(doc, c))]
        if not items and not _shallow_trees:
            return None
        # loro's delta rope holds at most 8 values per insert item (local_delta.pxi)
        return Diff.List([ListDiffItem.Insert(items[k:k + 8], False)
                          for k in range(0, len(items), 8)])
    if kind == KIND_TREE:
        # its nodes created from the empty tree, parents first (their meta maps whole); a
        # shallow load's: the root's nodes, then the moves after it (tree_event_items)
        if _shallow_trees:
            return tree_diff(doc, c, 3, queue)
        saved = (doc.tree_ev, doc.evs.tree_lca if doc.evs is not None else None)
        doc.tree_ev = None
        if doc.evs is not None:
            doc.evs.tree_lca = None
        try:
            return tree_diff(doc, c, 2, queue)
        finally:
            doc.tree_ev = saved[0]
            if doc.evs is not None:
                doc.evs.tree_lca = saved[1]
    # every key the version has a write of: a deleted one as None, as loro reports it
    cdef lc_map *m = &doc.maps[doc.ctree[c]]
    cdef uint32_t i
    updated = {}
    for i in range(m.cap):
        if m.entries[i].key != LC_NO_KEY:
            slot = m.entries[i].slot
            key = doc.log.keys[m.entries[i].key]
            updated[key] = (None if slot < 0 else
                            wrap_value(doc, map_public_value(doc, c, key, values[slot]), None, queue))
    # (a shallow load's event shows every container of the state, empty ones too, as loro's)
    return map_diff_of(updated) if updated or _shallow_trees else None


cdef object wrap_value(LoroDoc doc, object v, list shown, list reached=None):
    global _wrap
    if isinstance(v, _types.ContainerID):
        if _wrap is None:
            from loro_c._containers import wrap
            _wrap = wrap
        c = doc.cid_index[v]
        if shown is not None and doc.ckind[<uint32_t>c] == KIND_COUNTER:
            shown.append(c)
        if reached is not None:
            reached.append(c)
        h = _wrap(doc, c, doc.ckind[<uint32_t>c])
        if _wrapped is not None:
            _wrapped.append(c)
            _wrapped_at[id(h)] = c
        return _types.ValueOrContainer.Container(h)
    return one_slot(&VALUE_SHAPE, VALUE_SLOTS, copy_value(v))


# ---------------------------------------------------------------------------- paths

cdef object parent_of(LoroDoc doc, object cid):
    """(parent index, op kind, key index, atom peer index, counter) of the op that created
    `cid`, or None when the document does not have it."""
    cdef OpLog log = doc.log
    cdef int64_t ch, k
    cdef lc_op *op
    found = log.peer_map.get(cid.peer)
    if found is None:
        return None
    ch = log.find_change(<uint32_t>found, <int32_t>cid.counter)
    if ch < 0 or (doc.shallow_parents is not None
                  and cid.counter < <int32_t>doc.shallow_base.get(<uint32_t>found, 0)):
        # a shallow document's container made before its root: as its state says
        link = doc.shallow_parents.get(cid) if doc.shallow_parents is not None else None
        return None if link is None else link + (found,)
    k = log.find_op(ch, <int32_t>cid.counter)
    op = &log.ops[k]
    if op.counter > cid.counter:
        return None
    return (op.container, op.kind, op.pos, found)


cdef object path_of(LoroDoc doc, uint32_t c, dict cache):
    cdef uint32_t parent
    cdef lc_map_entry *e
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    if c in cache:
        return cache[c]
    cid = doc.cids[c]
    path = None
    if doc.croot[c] == ROOT_MERGEABLE:
        # a mergeable child sits under its parent map's key while the key shows it
        link = mergeable_parent(doc, c)
        if link is not None:
            up = path_of(doc, <uint32_t>link[0], cache)
            if up is not None:
                path = up + [PathItem(cid, Index.Key(link[1]))]
    elif doc.croot[c] != ROOT_NONE:
        # (by identity first: an id's hash and equality are Python calls, and a document
        # asks for its roots' items on every event)
        got = _root_items_by_id.get(id(cid))
        if got is not None and (<tuple>got)[0] is cid:
            item = (<tuple>got)[1]
        else:
            item = _root_items.get(cid)
            if item is None:
                if len(_root_items) > 4096:
                    _root_items.clear()
                    _root_items_by_id.clear()
                item = _root_items[cid] = PathItem(cid, Index.Key(cid.name))
            if len(_root_items_by_id) > 4096:
                _root_items_by_id.clear()
            _root_items_by_id[id(cid)] = (cid, item)    # (holds cid: its id stays its own)
        path = [item]
    else:
        link = parent_of(doc, cid)
        index = None
        if link is not None:
            parent = link[0]
            if link[1] == LC_OP_MAP_SET:
                e = lc_map_find(&doc.maps[doc.ctree[parent]], <uint32_t>link[2])
                if e != NULL and e.slot >= 0 and doc.log.values[e.slot] == cid:
                    index = Index.Key(doc.log.keys[<uint32_t>link[2]])
            elif link[1] == LC_OP_INSERT and doc.ckind[parent] == KIND_LIST:
                leaf = locate(doc.seq, make_id(<uint32_t>link[3], <int32_t>cid.counter), &slot)
                s = &doc.seq.nodes[leaf].u.spans[slot]
                if span_visible(s):
                    index = Index.Seq(visible_before(doc.seq, leaf, slot, <int32_t>cid.counter))
            elif doc.ckind[parent] == KIND_MOVABLE_LIST:
                # created by an insert or a set: where the list holds it now, if it does
                k = ml_index_of(doc, parent, cid)
                if k >= 0:
                    index = Index.Seq(k)
            elif link[1] == LC_OP_TREE and doc.ckind[parent] == KIND_TREE:
                # a tree node's meta map, while the node is shown
                if tree_state(doc, parent).is_alive((cid.peer, cid.counter)):
                    index = Index.Node(_types.TreeID(cid.peer, cid.counter))
        if index is not None:
            up = path_of(doc, parent, cache)
            if up is not None:
                path = up + [PathItem(cid, index)]
    cache[c] = path
    return path


# ---------------------------------------------------------------------------- maps

cdef object map_diff(LoroDoc doc, uint32_t c, list idxs, bint compare_values, list shown,
                     list reached=None, bint checkout=False, list shown_again=None):
    """The keys whose winner changed; with `compare_values`, only those whose value changed
    (a key that had no entry before always counts). Across a checkout, as loro: a key
    whose winner is another write of an equal value is left out, but one going from
    deleted to never written (or back) is reported."""
    cdef lc_map_entry *e
    cdef lc_ev_note *note
    cdef uint32_t key
    cdef int64_t slot
    values = doc.log.values
    updated = {}
    seen = set()
    for i in idxs:
        note = &doc.evlog.notes[<int64_t>i]
        key = note.key
        if key in seen:
            continue
        seen.add(key)
        e = lc_map_find(&doc.maps[doc.ctree[c]], key)
        slot = -1 if e == NULL else e.slot
        new = _DELETED if slot < 0 else values[slot]
        if checkout:
            # note.old: the slot before, -3 no entry (never written there), a delete as
            # map_note_deleted wrote it (-1 one it does not name)
            if e != NULL and slot < 0 and note.old < 0 and note.old != -3:
                if note.old <= -4 and not map_note_same_delete(note.old, e):
                    # deleted by another write: in loro's calculator, not in the event
                    if _calc_held is not None:
                        _calc_held.append(c)
                continue
            if note.old == (-3 if e == NULL else slot):
                continue
            if note.old >= 0 and slot >= 0 and same_value(values[note.old], new):
                # loro's calculator holds the key (another write won), the event does not
                if _calc_held is not None:
                    _calc_held.append(c)
                continue
        elif compare_values and note.old != -2:
            # the first note of a key holds its slot before this batch
            if same_value(_DELETED if note.old < 0 else values[note.old], new):
                if _calc_held is not None and (0 <= note.old != slot >= 0
                                               or note.old == -1 and slot < 0):
                    # (no change to show, but loro's calculator has the key in its diff: it
                    # compares the winning writes, so another write of an equal value, or a
                    # key deleted again by another delete, counts; the latter in mergeable
                    # sessions 2408 and 2680, whose map of diffs is one larger with it)
                    _calc_held.append(c)
                continue
        if slot < 0:
            updated[doc.log.keys[key]] = None
        else:
            pub = map_public_value(doc, c, doc.log.keys[key], new)
            if pub is not new:
                # a mergeable child shown again: whole in an import (as loro), and no
                # counter value of its own in a local event
                if shown_again is not None:
                    shown_again.append(doc.cid_index[pub])
                updated[doc.log.keys[key]] = wrap_value(doc, pub, None, reached)
            else:
                updated[doc.log.keys[key]] = wrap_value(doc, pub, shown, reached)
        if _idlp_sink is not None:
            _idlp_sink[(doc.cids[c], doc.log.keys[key])] = (
                (0xFFFFFFFF, 0) if e == NULL or e.peer == LC_NO_KEY
                else (e.lamport, doc.log.peer_ids[e.peer]))
    return map_diff_of(updated) if updated else None


_DELETED = object()


cdef bint same_value(a, b):
    """LoroValue equality: types must match (1, 1.0 and True differ)."""
    if type(a) is not type(b):
        return False
    # (loops, not generators: a generator's closure would be made on every call)
    if type(a) is list:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not same_value(x, y):
                return False
        return True
    if type(a) is dict:
        if a.keys() != b.keys():
            return False
        for k in a:
            if not same_value(a[k], b[k]):
                return False
        return True
    return a == b


# ---------------------------------------------------------------------------- sequences

ctypedef struct ev_point:
    # one end of a range of atoms of `peer`: entering it adds `dnew` to "new" and `ddel`
    # to "deleted by this batch" (leaving subtracts)
    uint32_t peer
    int32_t pos
    int32_t dnew
    int32_t ddel

ctypedef struct ev_piece:
    int64_t abs         # absolute index (tombstones counted): document order
    int64_t vb          # visible atoms before it now (text: code points)
    int64_t ent         # text: visible entities (code points and style anchors) before it
    int64_t content     # content offset of its first atom
    int32_t n
    int32_t ins         # 1 inserted (visible now only), 0 deleted (visible before only)
    uint32_t peer       # id of its first atom
    int32_t counter


cdef struct ev_scratch:
    ev_point *pts
    int64_t n_pts, cap_pts
    ev_piece *pcs
    int64_t n_pcs, cap_pcs


cdef int cmp_point(const void *a, const void *b) noexcept nogil:
    cdef const ev_point *x = <const ev_point*>a
    cdef const ev_point *y = <const ev_point*>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    if x.pos != y.pos:
        return -1 if x.pos < y.pos else 1
    return 0


cdef int cmp_piece(const void *a, const void *b) noexcept nogil:
    cdef const ev_piece *x = <const ev_piece*>a
    cdef const ev_piece *y = <const ev_piece*>b
    if x.abs != y.abs:
        return -1 if x.abs < y.abs else 1
    return 0


ctypedef struct ev_key:
    uint64_t key
    int64_t at


cdef enum:
    RADIX_BITS = 11
    RADIX = 2048


cdef int sort_by_key(void *base, int64_t n, size_t size, ev_key *ks) except -1:
    """Reorder the `n` items of `size` bytes at `base` by ks[i].key, the key of item i
    (ks[i].at == i; `ks` is overwritten). Items of equal keys come in any order. A
    least-significant-digit radix sort that skips the digits all keys share: an import's
    sweep sorts tens of thousands of points, which qsort's calls through a comparison
    function made a tenth of the event's cost."""
    cdef int64_t i, j, d, shift, run
    cdef int64_t counts[RADIX]
    cdef uint64_t kor = 0, kand = <uint64_t>(-1)
    cdef ev_key *src = ks
    cdef ev_key *dst
    cdef ev_key *tmp
    cdef ev_key x
    cdef char *items
    if n < 2:
        return 0
    tmp = <ev_key*>malloc(<size_t>n * sizeof(ev_key))
    items = <char*>malloc(<size_t>n * size)
    if tmp == NULL or items == NULL:
        free(tmp)
        free(items)
        raise MemoryError()
    if n < 48:
        for i in range(1, n):
            x = src[i]
            j = i - 1
            while j >= 0 and src[j].key > x.key:
                src[j + 1] = src[j]
                j -= 1
            src[j + 1] = x
    else:
        for i in range(n):
            kor |= src[i].key
            kand &= src[i].key
        dst = tmp
        for shift in range(0, 64, RADIX_BITS):
            if (((kor ^ kand) >> shift) & (RADIX - 1)) == 0:
                continue
            memset(counts, 0, sizeof(counts))
            for i in range(n):
                counts[(src[i].key >> shift) & (RADIX - 1)] += 1
            run = 0
            for d in range(RADIX):
                j = counts[d]
                counts[d] = run
                run += j
            for i in range(n):
                d = (src[i].key >> shift) & (RADIX - 1)
                dst[counts[d]] = src[i]
                counts[d] += 1
            src, dst = dst, src
    for i in range(n):
        memcpy(items + <size_t>i * size, (<char*>base) + <size_t>src[i].at * size, size)
    memcpy(base, items, <size_t>n * size)
    free(tmp)
    free(items)
    return 0


cdef int sort_points(ev_scratch *sc) except -1:
    """Order the points by peer, then position (the sweep adds up the counts of the points
    at one place, so their order does not matter)."""
    cdef int64_t i, n = sc.n_pts
    cdef ev_key *ks = <ev_key*>malloc(<size_t>(n if n > 0 else 1) * sizeof(ev_key))
    if ks == NULL:
        raise MemoryError()
    for i in range(n):
        ks[i].key = ((<uint64_t>sc.pts[i].peer) << 32) | <uint32_t>sc.pts[i].pos
        ks[i].at = i
    try:
        sort_by_key(sc.pts, n, sizeof(ev_point), ks)
    finally:
        free(ks)
    return 0


cdef int sort_pieces(ev_scratch *sc) except -1:
    """Order the pieces by their absolute index (document order)."""
    cdef int64_t i, n = sc.n_pcs
    cdef ev_key *ks = <ev_key*>malloc(<size_t>(n if n > 0 else 1) * sizeof(ev_key))
    if ks == NULL:
        raise MemoryError()
    for i in range(n):
        ks[i].key = <uint64_t>sc.pcs[i].abs
        ks[i].at = i
    try:
        sort_by_key(sc.pcs, n, sizeof(ev_piece), ks)
    finally:
        free(ks)
    return 0


cdef int add_range(ev_scratch *sc, uint32_t peer, int32_t a, int32_t b, int32_t is_new) except -1:
    if a >= b:
        return 0
    if sc.n_pts + 2 > sc.cap_pts:
        sc.pts = <ev_point*>grow(sc.pts, &sc.cap_pts, sc.n_pts + 2, sizeof(ev_point))
    sc.pts[sc.n_pts].peer = peer
    sc.pts[sc.n_pts].pos = a
    sc.pts[sc.n_pts].dnew = is_new
    sc.pts[sc.n_pts].ddel = 1 - is_new
    sc.pts[sc.n_pts + 1].peer = peer
    sc.pts[sc.n_pts + 1].pos = b
    sc.pts[sc.n_pts + 1].dnew = -is_new
    sc.pts[sc.n_pts + 1].ddel = is_new - 1
    sc.n_pts += 2
    return 0


cdef int64_t first_record(lc_peer_index *pi, int32_t counter) noexcept:
    """The first tracker record of a peer that ends after `counter`."""
    cdef int64_t lo = 0, hi = pi.rec_len, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pi.recs[mid].counter + pi.recs[mid].len <= counter:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int delete_targets(SeqArena seq, uint32_t peer, int32_t start, int32_t end,
                        ev_scratch *sc) except -1:
    """Add the ranges of atoms that delete ops [start, end) of `peer` removed."""
    cdef lc_peer_index *pi
    cdef int64_t k
    cdef lc_record r
    cdef int32_t a, b
    if peer >= seq.n_peers:
        return 0
    pi = &seq.peers[peer]
    k = first_record(pi, start)
    while k < pi.rec_len:
        r = pi.recs[k]
        if r.counter >= end:
            break
        if r.kind != LC_REC_INSERT:
            a = r.counter if r.counter > start else start
            b = r.counter + r.len if r.counter + r.len < end else end
            if r.kind == LC_REC_DELETE_REV:
                add_range(sc, r.target.peer, r.target.counter + r.len - (b - r.counter),
                          r.target.counter + r.len - (a - r.counter), 0)
            else:
                add_range(sc, r.target.peer, r.target.counter + (a - r.counter),
                          r.target.counter + (b - r.counter), 0)
        k += 1
    return 0


cdef int push_piece(SeqArena seq, ev_scratch *sc, uint32_t leaf, int slot, uint32_t peer,
                    int32_t a, int32_t end, bint now) except -1:
    """Add atoms [a, end) of `peer` (inside the span at `leaf`/`slot`) as a piece whose
    visibility changed: inserted when visible now, else deleted. A style anchor is no
    piece: it has no length in an event (what its mark changes is shown as attributes)."""
    cdef lc_node *node = &seq.nodes[leaf]
    cdef lc_span *s = &node.u.spans[slot]
    cdef ev_piece *pc
    cdef int64_t vis = 0, tot = a - s.id.counter
    cdef int j
    cdef uint32_t nd = leaf, up
    cdef lc_lens *lens
    if s.content >= LC_ANCHOR_MIN:
        return 0
    if sc.n_pcs == sc.cap_pcs:
        sc.pcs = <ev_piece*>grow(sc.pcs, &sc.cap_pcs, sc.n_pcs + 1, sizeof(ev_piece))
    pc = &sc.pcs[sc.n_pcs]
    pc.content = s.content + (a - s.id.counter)
    pc.n = end - a
    pc.ins = now
    pc.peer = peer
    pc.counter = a
    # visible_before and abs_index in one walk up from the leaf (an import makes a piece
    # per visible run, thousands of them)
    if span_visible(s):
        vis = a - s.id.counter
    for j in range(slot):
        tot += node.u.spans[j].len
        if span_visible(&node.u.spans[j]):
            vis += node.u.spans[j].len
    up = node.parent
    while up != LC_NO_NODE:
        node = &seq.nodes[up]
        for j in range(node.n):
            if node.u.children[j] == nd:
                break
            lens = &seq.nodes[node.u.children[j]].lens
            vis += lens.visible
            tot += lens.total
        nd = up
        up = node.parent
    pc.vb = vis
    pc.ent = vis
    if seq.tree_is_text[seq.nodes[leaf].tree] and seq.nodes[seq.roots[seq.nodes[leaf].tree]].lens.anchors:
        pc.vb -= anchors_before(seq, leaf, slot)
    pc.abs = tot
    sc.n_pcs += 1
    return 0


cdef int touched_pieces(SeqArena seq, uint32_t peer, int32_t a, int32_t b, bint is_new, int kd,
                        ev_scratch *sc) except -1:
    """Add the pieces of atoms [a, b) of `peer` whose visibility changed in this batch."""
    cdef int32_t c = a, end
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cdef bint now, before
    cdef ev_piece *pc
    while c < b:
        leaf = locate(seq, make_id(peer, c), &slot)
        s = &seq.nodes[leaf].u.spans[slot]
        end = s.id.counter + s.len
        if end > b:
            end = b
        now = span_visible(s)
        before = not is_new and s.future == 0 and s.deleted == kd
        if now != before:
            push_piece(seq, sc, leaf, slot, peer, c, end, now)
        c = end
    return 0


cdef object seq_diff(LoroDoc doc, uint32_t c, list idxs, list shown, bint is_import=False):
    cdef ev_scratch sc
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        return seq_diff_in(doc, c, idxs, shown, &sc, is_import)
    finally:
        free(sc.pts)
        free(sc.pcs)


cdef object seq_diff_in(LoroDoc doc, uint32_t c, list idxs, list shown, ev_scratch *sc,
                        bint is_import=False):
    cdef SeqArena seq = doc.seq
    cdef lc_ev_note *e
    cdef bint is_text = doc.ckind[c] == KIND_TEXT
    cdef int64_t i, k, pos, vb
    cdef int32_t cur_new = 0, cur_del = 0, prev = 0
    cdef uint32_t peer = 0
    cdef ev_point *pt
    cdef ev_piece *pc
    cdef bint linear = is_import and is_text and import_is_linear(doc)
    # (a linear import keeps elements known before it, and starts them when it brings a
    # text its first anchors in a few ops, as a server's update does: from a fresh element
    # that walks every piece, which a large import is spared: guessed at need)
    cdef bint styled = (linear and _import_stamp is not None
                        and seq.nodes[seq.roots[doc.ctree[c]]].lens.anchors > 0
                        and (len(idxs) <= 64 or style_memo(doc, c) is not None))
    if linear and not styled:
        # (loro applies the ops to a delta: linear_delta.pxi)
        d = linear_text_delta(doc, c, idxs)
        if d is not False:
            return d
    marks = None
    for i in idxs:
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_INSERT:
            add_range(sc, e.peer, e.counter, e.counter + e.len, 1)
        elif e.kind == LC_EV_DELETE:
            delete_targets(seq, e.peer, e.counter, e.counter + e.len, sc)
        elif e.kind == LC_EV_MARK:
            if marks is None:
                marks = []
            marks.append((e.peer, e.counter, e.key))
    # cut the ranges into pieces covered alike: new or not, and by how many of this batch's
    # deletes (concurrent deletes of one atom both count in its delete count)
    if sc.n_pts == 2:
        pt = &sc.pts[0]
        touched_pieces(seq, pt.peer, pt.pos, sc.pts[1].pos, pt.dnew, pt.ddel, sc)
    elif sc.n_pts > 2:
        sort_points(sc)
        for k in range(sc.n_pts):
            pt = &sc.pts[k]
            if pt.peer != peer:
                peer = pt.peer
                cur_new = cur_del = 0
            elif pt.pos > prev and (cur_new or cur_del):
                touched_pieces(seq, peer, prev, pt.pos, cur_new > 0, cur_del, sc)
            cur_new += pt.dnew
            cur_del += pt.ddel
            prev = pt.pos
    if marks is not None or (is_text and seq.nodes[seq.roots[doc.ctree[c]]].lens.anchors):
        if is_import and _import_stamp is not None:
            # (the style map elements follow every import, a linear one too)
            style_import_text(doc, c, sc, marks)
        if styled:      # (else linear_text_delta already declined above)
            d = linear_text_delta(doc, c, idxs)
            if d is not False:
                return d
        return rich_delta(doc, c, sc, marks, is_import)
    if is_text and is_import and sc.n_pcs:
        # loro composes an import's text delta as a checkout's (a commit's comes from
        # its ops, which pieces_delta joins)
        return checkout_text_delta(doc, sc)
    return pieces_delta(doc, c, sc, shown)


cdef object pieces_delta(LoroDoc doc, uint32_t c, ev_scratch *sc, list shown, list reached=None):
    """The delta of the pieces whose visibility changed: in document order, the visible
    atoms between two pieces retained, the newly visible inserted, the newly hidden
    deleted."""
    cdef SeqArena seq = doc.seq
    cdef bint is_text = doc.ckind[c] == KIND_TEXT
    cdef int64_t k, pos, vb
    cdef ev_piece *pc
    if sc.n_pcs == 0:
        return None
    if sc.n_pcs > 1:
        qsort(sc.pcs, sc.n_pcs, sizeof(ev_piece), cmp_piece)
    ops = []
    pos = 0
    for k in range(sc.n_pcs):
        pc = &sc.pcs[k]
        vb = pc.vb
        if vb > pos:
            if ops and ops[-1][0] == 0:
                ops[-1][1] += vb - pos
            else:
                ops.append([0, vb - pos])
            pos = vb
        if pc.ins:
            pos += pc.n
            if is_text:
                run = (pc.content, pc.n)
            else:
                run = (pc.content, pc.n, pc.peer, pc.counter,
                       doc.log.lamport_of(make_id(pc.peer, pc.counter)))
            if ops and ops[-1][0] == 1:
                ops[-1][1].append(run)
            elif not is_text and ops and ops[-1][0] == 2:
                # lists insert before deleting within one gap (loro's import order)
                if len(ops) >= 2 and ops[-2][0] == 1:
                    ops[-2][1].append(run)
                else:
                    ops.insert(len(ops) - 1, [1, [run]])
            else:
                ops.append([1, [run]])
        elif ops and ops[-1][0] == 2:
            ops[-1][1] += pc.n
        else:
            ops.append([2, pc.n])
    if is_text:
        return text_diff([text_retain(op[1]) if op[0] == 0 else text_delete(op[1])
                          if op[0] == 2 else text_insert(text_of(seq, op[1])) for op in ops])
    values = doc.log.values
    items = []
    for op in ops:
        if op[0] == 0:
            items.append(one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], op[1]))
        elif op[0] == 2:
            items.append(one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, op[1]))
        else:
            for chunk in loro_list_chunks(op[1]):
                items.append(list_insert([wrap_value(doc, values[slot], shown, reached)
                                          for content, n in chunk
                                          for slot in range(content, content + n)]))
    return list_diff(items)


cdef list loro_list_chunks(list runs):
    """The insert items loro's list state makes of one gap's inserted runs (content,
    n, peer, counter, Lamport): its diff joins runs whose ids (Lamport clocks too) and
    values continue, cuts each such
    item into pieces of at most 8 values (its delta rope's array), and adds a piece to the
    item before only while that holds 8 at most (loro 1.17.1: 9 values inserted by one op
    give 8 + 1, two runs of 5 by two peers 5 + 5, of 3 by two peers one item of 6)."""
    joined = []
    for content, n, peer, counter, lamport in runs:
        if joined:
            last = joined[-1]
            if (last[2] == peer and last[3] + last[1] == counter and last[0] + last[1] == content
                    and last[4] + last[1] == lamport):
                joined[-1] = (last[0], last[1] + n, peer, last[3], last[4])
                continue
        joined.append((content, n, peer, counter, lamport))
    out = []
    size = 8
    for content, n, peer, counter, lamport in joined:
        k = 0
        while k < n:
            take = min(8, n - k)
            if size + take <= 8:
                out[-1].append((content + k, take))
                size += take
            else:
                out.append([(content + k, take)])
                size = take
            k += take
    return out


cdef object rich_delta(LoroDoc doc, uint32_t c, ev_scratch *sc, list marks, bint is_import=False):
    """The text delta of a batch in a text with style anchors: inserted text carries the
    marks covering it (unmarks as None), and each mark op of the batch retains its range
    with its attributes (a local mark: its own key, as loro's; an imported one: every
    mark covering each part of its range). Reads the marks at each piece and over each
    mark's range only (open_marks_before, styled_text), never the whole text. The items
    are loro's (docs/ARCHITECTURE.md, "Text with style anchors")."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t t = doc.ctree[c]
    cdef int64_t k, pos = 0
    cdef ev_piece *pc
    cdef int slot
    cdef uint32_t leaf
    cdef int64_t reach = 0, e_start, e_end
    cache = {}

    def attrs_of(ids):
        a = cache.get(ids)
        if a is None:
            a = cache[ids] = style_attributes(doc, ids, True)
        return a or None

    cdef int64_t *opix
    cdef int64_t j, last
    # the structural delta in loro's arrangement, as checkout_text_delta composes it: the
    # read pass joins an insert to the one before when ids, Lamport clocks and bytes
    # continue (deletes follow their insert), the event pass applies each item as its
    # deletes, then its insert, which joins the item before when its bytes follow and its
    # marks are the same
    new_marks = frozenset([(<uint64_t>m[0] << 32) | <uint32_t>m[1] for m in marks or ()])
    split_pieces(doc, sc)
    if sc.n_pcs > 1:
        sort_pieces(sc)
    opix = <int64_t*>malloc(<size_t>(sc.n_pcs + 1) * sizeof(int64_t))
    if opix == NULL:
        raise MemoryError()
    for k in range(sc.n_pcs):
        opix[k] = -2
    # the style anchors this batch inserted are items of loro's delta too (entities without
    # text): in document order, (absolute index, entity position)
    anchors = []
    for m in marks or ():
        for j in range(2):
            leaf = locate(seq, make_id(<uint32_t>m[0], <int32_t>m[1] + <int32_t>j), &slot)
            if span_visible(&seq.nodes[leaf].u.spans[slot]):
                anchors.append((abs_index(seq, make_id(<uint32_t>m[0], <int32_t>m[1] + <int32_t>j)),
                                visible_before(seq, leaf, slot, <int32_t>m[1] + <int32_t>j)))
    anchors.sort()
    cdef Py_ssize_t na = 0
    cdef int64_t ent_pos = 0
    read = []       # [retain n], [first piece, last piece, deleted after] (first -2: an
                    # anchor), or [] (anchors kept: they part the items but show no text)
    try:
        for k in range(sc.n_pcs + 1):
            pc = &sc.pcs[k] if k < sc.n_pcs else NULL
            while na < len(anchors) and (pc == NULL or <int64_t>anchors[na][0] < pc.abs):
                e_start = anchors[na][1]
                if e_start > ent_pos and read and len(read[len(read) - 1]) != 1:
                    read.append([])
                e_end = e_start - anchors_in_prefix(seq, t, e_start)    # (its code point)
                if e_end > pos:
                    if read and len(read[len(read) - 1]) == 1:
                        read[len(read) - 1][0] += e_end - pos
                    else:
                        read.append([e_end - pos])
                    pos = e_end
                # (an import's anchors part loro's structural items only: its event
                # pushes the text and retains on either side as they come, which join,
                # and only the composed annotations cut them, below)
                read.append([] if is_import else [-2, -2, 0])
                ent_pos = e_start + 1
                na += 1
            if pc == NULL:
                break
            if pc.ent - ent_pos > pc.vb - pos and read and len(read[len(read) - 1]) == 3:
                read.append([])         # (an anchor kept between: no join across it)
            if pc.vb > pos:
                if read and len(read[len(read) - 1]) == 1:
                    read[len(read) - 1][0] += pc.vb - pos
                else:
                    read.append([pc.vb - pos])
                pos = pc.vb
            ent_pos = pc.ent + (pc.n if pc.ins else 0)
            if pc.ins:
                pos += pc.n
                if read and len(read[len(read) - 1]) == 3:
                    r = read[len(read) - 1]
                    last = r[1]
                    if (last >= 0 and r[2] == 0 and sc.pcs[last].peer == pc.peer
                            and sc.pcs[last].counter + sc.pcs[last].n == pc.counter
                            and piece_follows(doc, sc, opix, last, k)
                            and lamport_continues(doc, pc.peer, pc.counter)):
                        r[1] = k
                        continue
                read.append([k, k, 0])
            elif read and len(read[len(read) - 1]) == 3:
                read[len(read) - 1][2] += pc.n
            else:
                read.append([-1, -1, pc.n])
        ops = []        # [kind, payload, attributes]: 0 retain n, 1 insert str, 2 delete n
        ev_ins = -1     # the insert op of the last event item (-1: it has none)
        ev_last = -1    # the last piece of that insert
        anchor_before = False    # an anchor's item since the last op: retains stay apart
        for r in read:
            if len(r) == 0:
                continue
            if len(r) == 1:
                if ops and ops[len(ops) - 1][0] == 0 and not anchor_before:
                    ops[len(ops) - 1][1] += r[0]
                else:
                    ops.append([0, r[0], None])
                ev_ins = -1
                anchor_before = False
                continue
            anchor_before = False
            if r[2]:
                # the deletes join the event item before (its insert stays first)
                if ops and ops[len(ops) - 1][0] == 2:
                    ops[len(ops) - 1][1] += r[2]
                else:
                    if not ops or ops[len(ops) - 1][0] == 0:
                        ev_ins = -1
                    ops.append([2, r[2], None])
            if r[0] == -2:
                ev_ins = -1     # (an anchor's item: no text for the next insert to join)
                anchor_before = True
            elif r[0] >= 0:
                pc = &sc.pcs[r[0]]
                # the marks the text had when loro inserted it: the batch's own marks
                # come after, composed over the delta (overlay below)
                a = attrs_of(frozenset(open_marks_before(doc, t, pc.ent)) - new_marks)
                parts = []
                for j in range(r[0], r[1] + 1):
                    if sc.pcs[j].ins:
                        parts.append(PyUnicode_FromKindAndData(
                            PyUnicode_4BYTE_KIND, &seq.text[sc.pcs[j].content], sc.pcs[j].n))
                s = "".join(parts)
                if (ev_ins >= 0 and same_value(ops[ev_ins][2], a)
                        and piece_follows(doc, sc, opix, ev_last, r[0])):
                    ops[ev_ins][1] += s
                else:
                    ops.append([1, s, a])
                    ev_ins = len(ops) - 1
                ev_last = r[1]
    finally:
        free(opix)
    styled = None       # the imported marks' retains, composed (RichDelta)
    anns = []           # (their end anchors' place, retains)
    # loro annotates an imported mark's range when it inserts its end anchor, in document
    # order: the marks of this import whose end anchors come later are not on the text yet
    ends = {}           # an imported mark -> its end anchor's place
    for peer, counter, local in marks or ():
        if not local:
            leaf = locate(seq, make_id(peer, counter + 1), &slot)
            if span_visible(&seq.nodes[leaf].u.spans[slot]):
                ends[(<uint64_t>peer << 32) | <uint32_t>counter] = abs_index(
                    seq, make_id(<uint32_t>peer, <int32_t>counter + 1))
    for peer, counter, local in marks or ():
        st = doc.styles.get((peer << 32) | counter)
        if st is None:
            continue
        leaf = locate(seq, make_id(peer, counter), &slot)
        if not span_visible(&seq.nodes[leaf].u.spans[slot]):
            continue
        e_start = visible_before(seq, leaf, slot, counter)
        if not local:
            reach = max(reach, e_start - anchors_in_prefix(seq, t, e_start))
        leaf = locate(seq, make_id(peer, counter + 1), &slot)
        if not span_visible(&seq.nodes[leaf].u.spans[slot]):
            continue
        e_end = visible_before(seq, leaf, slot, counter + 1)
        if not local:
            reach = max(reach, e_end - anchors_in_prefix(seq, t, e_end))
        # (runs that carry the same marks are one retain of loro's: it cuts only where
        # the marks change)
        runs = []
        mine = ends.get((<uint64_t>peer << 32) | <uint32_t>counter, 0)
        for lo, hi, ids in styled_text(doc, t, e_start, e_end + 1):
            if not local and any([ends.get(i, -1) > mine for i in ids]):
                ids = frozenset([i for i in ids if ends.get(i, -1) <= mine])
            a = {st[0]: st[1]} if local else attrs_of(ids)
            if runs and runs[len(runs) - 1][1] == lo and same_value(runs[len(runs) - 1][2], a):
                runs[len(runs) - 1][1] = hi
            else:
                runs.append([lo, hi, a])
        if local:
            for lo, hi, a in runs:
                overlay(ops, lo, hi, a)
            continue
        # an imported mark's retains are composed with those of the marks whose end
        # anchors come before its own (loro annotates as it inserts each end anchor, in
        # document order) first, then over the delta: past the end of the ones before, a
        # retain joins the one before it with the same attributes
        ann = RichDelta()
        cut = 0
        for lo, hi, a in runs:
            ann.retain(lo - cut)
            ann.retain(hi - lo, a)
            cut = hi
        ann.chop()
        anns.append((abs_index(seq, make_id(<uint32_t>peer, <int32_t>counter + 1)), ann))
    anns.sort(key=_first)
    if anns:
        styled_runs = RetainRuns()
        for _, ann in anns:
            (<RetainRuns>styled_runs).compose(ann.items)
        ops = overlay_all(ops, (<RetainRuns>styled_runs).ranges())
    joined = []
    for op in ops:
        # (inserts and retains stay the items they were made: composing cuts loro's
        # items, it never joins them again)
        if joined and op[0] == 2 and joined[len(joined) - 1][0] == 2:
            joined[len(joined) - 1][1] += op[1]
        else:
            joined.append(op)
    ops = joined
    while ops and ops[len(ops) - 1][0] == 0 and not ops[len(ops) - 1][2]:
        ops.pop()
    # loro applies an import to its state item by item, retaining up to each style anchor
    # it inserts: its delta reaches the last new anchor (so an import that only adds
    # anchors around deleted text still reports a plain retain)
    pos = 0
    for op in ops:
        if op[0] != 2:
            pos += op[1] if op[0] == 0 else len(op[1])
    if reach > pos:
        ops.append([0, reach - pos, None])
    if not ops:
        return None
    return text_diff([text_retain(op[1], op[2]) if op[0] == 0 else text_delete(op[1])
                      if op[0] == 2 else text_insert(op[1], op[2]) for op in ops])


def _first(pair):
    return pair[0]


cdef class RetainRuns:
    """A delta of retains as loro's DeltaRope composes them (rich_checkout._Delta.compose
    over retains alone), kept as runs by their start for the imported marks' deltas: a
    retain with attributes cuts the runs at its ends and gives them its keys, a plain one
    cuts nothing, and past the end a retain joins the last run when their attributes are
    equal. Each delta finds its place by bisection, so composing one costs its own runs
    and not the whole delta (an import of 1,500 marks: 58 ms before, loro 15 ms)."""
    cdef list starts        # each run's first position
    cdef list attrs         # its attributes ({}: none)
    cdef int64_t total

    def __cinit__(self):
        self.starts = []
        self.attrs = []
        self.total = 0

    cdef Py_ssize_t cut(self, int64_t pos):
        """The index of the run starting at `pos` (inside the runs), cutting one there if
        needed (the new run takes the entry of the one it was cut from)."""
        cdef Py_ssize_t i = bisect_right(self.starts, pos) - 1
        if <int64_t>self.starts[i] == pos:
            return i
        self.starts.insert(i + 1, pos)
        self.attrs.insert(i + 1, self.attrs[i])
        return i + 1

    cdef int push(self, int64_t n, dict attrs) except -1:
        cdef Py_ssize_t last = len(self.starts) - 1
        if n <= 0:
            return 0
        if last >= 0 and same_value(self.attrs[last], attrs):
            self.attrs[last] = attrs
        else:
            self.starts.append(self.total)
            self.attrs.append(dict(attrs))
        self.total += n
        return 0

    cdef int compose(self, list items) except -1:
        """Compose a delta's ["r", n, attributes] items over the runs."""
        cdef int64_t pos = 0, n
        cdef Py_ssize_t i, j, k
        cdef bint rest = False
        cdef list it
        if not self.starts:
            for it in items:
                self.starts.append(self.total)
                self.attrs.append(it[2])
                self.total += <int64_t>it[1]
            return 0
        for it in items:
            n = it[1]
            a = it[2]
            if not rest and pos >= self.total:
                self.push(pos - self.total, {})
                rest = True
            if rest:
                self.push(n, a)
                pos += n
                continue
            if self.total < pos + n:
                # (the last run grows when plain, else a plain one follows it)
                if self.attrs[len(self.attrs) - 1]:
                    self.starts.append(self.total)
                    self.attrs.append({})
                self.total = pos + n
            if a:
                i = self.cut(pos)
                j = self.cut(pos + n) if pos + n < self.total else len(self.starts)
                for k in range(i, j):
                    merged = dict(self.attrs[k])
                    merged.update(a)
                    self.attrs[k] = merged
            pos += n
        return 0

    cdef list ranges(self):
        """[(start, end, attributes)] of the runs with attributes, in order."""
        cdef list out = []
        cdef Py_ssize_t k, n = len(self.starts)
        for k in range(n):
            if self.attrs[k]:
                out.append((self.starts[k], self.starts[k + 1] if k + 1 < n else self.total,
                            self.attrs[k]))
        return out


cdef list overlay_all(list ops, list ranges):
    """overlay() of each (start, end, attributes) range in turn, the ranges in order and
    apart, in one pass over the delta's items."""
    cdef list out = []
    cdef int64_t pos = 0, n, start, lo, hi, a, b
    cdef Py_ssize_t r = 0, nr = len(ranges)
    for op in ops:
        if op[0] == 2:
            out.append(op)
            continue
        n = op[1] if op[0] == 0 else len(op[1])
        start = pos
        while r < nr and <int64_t>ranges[r][0] < pos + n:
            a = ranges[r][0]
            b = ranges[r][1]
            lo = a if a > start else start
            hi = b if b < pos + n else pos + n
            if lo < hi:
                if lo > start:
                    out.append(_piece(op, start - pos, lo - start, op[2]))
                merged = dict(op[2] or {})
                merged.update(ranges[r][2] or {})
                out.append(_piece(op, lo - pos, hi - lo, merged or None))
                start = hi
            if b > pos + n:
                break           # (it goes on over the next item)
            r += 1
        if start == pos:
            out.append(op)
        elif start < pos + n:
            out.append(_piece(op, start - pos, pos + n - start, op[2]))
        pos += n
    while r < nr:
        a = ranges[r][0]
        b = ranges[r][1]
        if pos < b:
            if pos < a:
                out.append([0, a - pos, None])
                pos = a
            out.append([0, b - pos, ranges[r][2] or None])
            pos = b
        r += 1
    return out


cdef inline list _piece(list op, int64_t off, int64_t m, object attrs):
    return [op[0], op[1][off:off + m] if op[0] == 1 else m, attrs]


cdef int overlay(list ops, int64_t a, int64_t b, object attrs) except -1:
    """Give the new-text range [a, b) of a delta these attributes (later ones win)."""
    cdef int64_t pos = 0, n, lo, hi
    cdef Py_ssize_t i = 0
    while i < len(ops) and pos < b:
        op = ops[i]
        if op[0] == 2:
            i += 1
            continue
        n = op[1] if op[0] == 0 else len(op[1])
        lo = a if a > pos else pos
        hi = b if b < pos + n else pos + n
        if lo < hi:
            merged = dict(op[2] or {})
            merged.update(attrs or {})
            parts = [(lo - pos, op[2]), (hi - lo, merged or None), (pos + n - hi, op[2])]
            pieces = []
            cut = 0
            for m, at in parts:
                if m > 0:
                    pieces.append([op[0], op[1][cut:cut + m] if op[0] == 1 else m, at])
                    cut += m
            ops[i:i + 1] = pieces
            i += len(pieces)
        else:
            i += 1
        pos += n
    if pos < b:
        if pos < a:
            ops.append([0, a - pos, None])
            pos = a
        ops.append([0, b - pos, attrs or None])
    return 0


cdef str text_of(SeqArena seq, list runs):
    """The code points of the runs (content offset, length), as one str."""
    cdef int64_t content, n, total = 0, at = 0
    cdef uint32_t *buf
    if len(runs) == 1:
        content, n = runs[0]
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &seq.text[content], n)
    for content, n in runs:
        total += n
    buf = <uint32_t*>malloc(<size_t>(total if total > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        for content, n in runs:
            memcpy(&buf[at], &seq.text[content], <size_t>n * sizeof(uint32_t))
            at += n
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, total)
    finally:
        free(buf)


cdef bint _shallow_trees = False    # whole_value_diff shows a shallow load's trees


def shallow_load_event(LoroDoc doc, origin):
    """The Import event of a shallow snapshot loaded into an empty document (doc/shallow.pxi
    journals nothing while it loads): every root the document lists as its whole value
    from empty, and so on for the containers inside them, as loro's (which diffs the
    loaded state from the empty one). Called under the lock; queues it."""
    global _shallow_trees
    cdef list out = []
    try:
        reg = doc.evs
        if reg is None or not (reg.root or reg.hooks or reg.by_cid and reg.active()):
            return
        doc.evs.tree_lca = None
        _shallow_trees = True
        try:
            shown_whole(doc, out, list(reversed(doc.roots)), {}, set(), True)
        finally:
            _shallow_trees = False
        if not out:
            return
        ranks = hash_rank(doc, [x[2] for x in out])
        out.sort(key=lambda x: (x[0], x[1], ranks[x[2]]))
        doc.pending_events.append(queued_batch(doc.evs, 1, "" if origin is None else origin,
                                               [x[3] for x in out], None))
    finally:
        batch_done(doc)


def snapshot_load_event(LoroDoc doc, list cids, origin):
    """The Import event of a snapshot loaded into an empty document: every container its
    state section names (`cids`) that has a path, as its whole value from empty, empty ones
    too (a text emptied by deletes as an empty delta, a counter at 0, a tree without live
    nodes as no items), parents first; loro diffs the loaded state from the empty one.
    Called under the lock; queues it."""
    global _shallow_trees
    cdef list out = []
    cdef uint32_t c
    try:
        reg = doc.evs
        if reg is None or not (reg.root or reg.hooks or reg.by_cid and reg.active()):
            return
        doc.evs.tree_lca = None
        paths = {}
        cids = list(cids)
        named = set(cids)
        for cid in cids:            # (grows: the meta maps of live tree nodes)
            found = doc.cid_index.get(cid)
            if found is None:
                if not (isinstance(cid, _types.ContainerID.Normal)
                        and str(cid.container_type) == "Map"):
                    continue
                # a tree node's meta map loro's state lists (it has no op of its own)
                found = container_index(doc, cid, KIND_MAP)
            c = found
            if doc.ckind[c] == KIND_TREE:
                d = whole_value_diff(doc, c, [], True) or Diff.Tree(TreeDiff([]))
                for item in d.diff.diff:
                    # a live node's meta map is a container of loro's loaded state
                    meta = _types.ContainerID.Normal(item.target.peer, item.target.counter,
                                                     _types.ContainerType.Map())
                    if meta not in named:
                        named.add(meta)
                        container_index(doc, meta, KIND_MAP)
                        cids.append(meta)
            else:
                _shallow_trees = True
                try:
                    d = whole_value_diff(doc, c, [], True)
                finally:
                    _shallow_trees = False
            if d is None:
                continue
            path = path_of(doc, c, paths)
            if path is None:
                continue
            out.append((len(path), 0 if doc.croot[c] != ROOT_NONE else doc.cids[c].counter + 1, c,
                        ContainerDiff(doc.cids[c], path, False, d)))
        if not out:
            return
        # loro fills its event's map from the loaded states in its containers' numbers' order
        lnum_flush(doc)
        lnum = doc.lnum
        ranks = hash_rank(doc, sorted((x[2] for x in out), key=lambda c: lnum.get(doc.cids[c], 1 << 30)))
        out.sort(key=lambda x: (x[0], x[1], ranks[x[2]]))
        doc.pending_events.append(queued_batch(doc.evs, 1, "" if origin is None else origin,
                                               [x[3] for x in out], None))
    finally:
        batch_done(doc)


include "events_checkout.pxi"
include "linear_delta.pxi"       # an import's Text delta in loro's Linear mode
