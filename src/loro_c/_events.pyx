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
from libc.stdlib cimport malloc, calloc, realloc, free, qsort
cimport cython
from libc.string cimport memset, memcpy, memmove
from loro_c.fxhash cimport fx_add, fx_finish, hb_table_order     # commit_order

from loro_c._doc cimport map_public_value, map_slot, mergeable_parent, ROOT_MERGEABLE    # mergeable children
from loro_c._doc cimport map_note_same_delete      # a checkout's map notes
from loro_c._doc cimport call_subscribers          # run_unlocked
from loro_c._doc cimport (LoroDoc, lc_ev_note, ROOT_NONE, ev_note, lc_map_find, lc_map_entry, KIND_TEXT, KIND_LIST,
                          KIND_MAP, KIND_COUNTER, LC_EV_INSERT, LC_EV_DELETE, LC_EV_MAP, LC_EV_COUNTER,
                          doc_acquire, doc_release)
from loro_c._doc cimport (commit_txn, text_value, list_slots, map_live, lc_map, LC_NO_KEY,
                          utf8_bytes)
from loro_c._doc cimport KIND_MOVABLE_LIST, ml_event_ops, ml_events_done, ml_index_of, ml_slots     # MovableList
from loro_c._doc cimport MovableState, lc_ml_elem, ml_elem_lookup      # ml_elems_before
from loro_c._kinds cimport LC_OP_SET, LC_OP_MOVE
from loro_c._doc cimport ml_import_split     # MovableList import diffs, split as loro's
from loro_c._doc cimport ml_kept_alive       # a checkout calculator's kept MovableList maps
from loro_c._doc cimport container_index     # a loaded tree node's meta map
from loro_c._doc cimport lnum_flush          # the created tree nodes' meta maps get numbers
from loro_c._doc cimport TextBacking      # texts loaded from a snapshot (collect/checkout_text.pxi)
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

include "collect/event_values.pxi"
include "collect/local_delta.pxi"      # a commit's Text and List deltas, as loro composes them

# the hot event values, built without their __init__ (event_values.pxi)
cdef tuple RETAIN_SLOTS = ("retain", "attributes"), INSERT_SLOTS = ("insert", "attributes")
cdef tuple DELETE_SLOTS = ("delete",), DIFF_SLOTS = ("diff",)
cdef tuple CDIFF_SLOTS = ("target", "_path", "_node", "is_unknown", "diff")
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
shape_init(&BATCH_SHAPE, _Batch, BATCH_SLOTS, True)
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
cdef tuple PATH_ITEM_SLOTS = ("container", "index"), KEY_SLOTS = ("key",), SEQ_SLOTS = ("index",)
cdef tuple NODE_SLOTS = ("target",)
cdef value_shape PATH_ITEM_SHAPE, KEY_SHAPE, SEQ_SHAPE, NODE_SHAPE
shape_init(&PATH_ITEM_SHAPE, PathItem, PATH_ITEM_SLOTS)
shape_init(&KEY_SHAPE, Index.Key, KEY_SLOTS)
shape_init(&SEQ_SHAPE, Index.Seq, SEQ_SLOTS)
shape_init(&NODE_SHAPE, Index.Node, NODE_SLOTS)
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
    # A dict holding instances of a class with slots is tracked by the cycle collector,
    # though they are untracked values (event_values.pxi): thousands of such dicts, left in
    # the young generation by an event of as many maps, made the collection that the next
    # allocation starts walk them all. Untracked, CPython tracks the dict again if a value
    # that may be tracked is put into it.
    if PyObject_GC_IsTracked(<PyObject*>updated):
        PyObject_GC_UnTrack(<PyObject*>updated)
    return one_slot(&MAP_DIFF_SHAPE, DIFF_SLOTS,
                    one_slot(&MAP_DELTA_SHAPE, UPDATED_SLOTS, updated))


cdef inline object path_item(object cid, object index):
    cdef PyObject *v[2]
    v[0] = <PyObject*>cid
    v[1] = <PyObject*>index
    return make_value(&PATH_ITEM_SHAPE, PATH_ITEM_SLOTS, v)


cdef inline object container_diff(object cid, object paths, int32_t node, object d):
    """A ContainerDiff whose path is node `node` of PathTable `paths`."""
    cdef PyObject *v[5]
    cdef object at = node
    v[0] = <PyObject*>cid
    v[1] = <PyObject*>paths
    v[2] = <PyObject*>at
    v[3] = <PyObject*>_PY_FALSE
    v[4] = <PyObject*>d
    return make_value(&CDIFF_SHAPE, CDIFF_SLOTS, v)


cdef inline object diff_replaced(object cd, object d):
    """ContainerDiff `cd` (collect's) with diff `d` instead."""
    return container_diff(cd.target, cd._path, <int32_t>cd._node, d)


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
    object PyUnicode_DecodeASCII(const char *s, Py_ssize_t size, const char *errors)
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


cdef bint import_edits_cached_kind(LoroDoc doc, list old_vv) except -1:
    """Whether the import's new ops act on a map, a tree or a movable list (the kinds whose
    calculators read loro's history cache in DiffMode::Import)."""
    cdef OpLog log = doc.log
    cdef lc_change *ch
    cdef int64_t i
    cdef int32_t old_end
    cdef uint8_t k
    for ci in imported_changes(log, old_vv):
        ch = &log.changes[<int64_t>ci]
        old_end = <int32_t>old_vv[ch.peer] if ch.peer < len(old_vv) else 0
        for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
            if log.ops[i].counter + log.ops[i].len > old_end:
                k = doc.ckind[log.ops[i].container]
                if k == KIND_TREE or k == KIND_MOVABLE_LIST or k == KIND_MAP:
                    return True
    return False


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
    cdef int64_t k, n_deps, n_old
    cdef uint32_t p
    cdef int32_t old_end
    cdef lc_change *ch
    cdef bint below, found
    cdef const lc_id *deps
    cdef lc_id one
    cdef uint32_t fp
    cdef int32_t fc
    old_vv, front = snap[0], snap[1]
    if not front:
        return True
    n_old = len(<list>old_vv)
    for ci in imported_changes(log, old_vv):
        ch = &log.changes[<int64_t>ci]
        p = ch.peer
        old_end = <int32_t>old_vv[p] if p < n_old else 0
        if ch.counter < old_end:
            # a change that continued the peer's last one: it depends on that op only
            one.peer = p
            one.counter = old_end - 1
            deps = &one
            n_deps = 1
        else:
            deps = &log.deps[ch.deps_off]
            n_deps = ch.deps_len
        # (ids in C: a tuple per dep and a set of them per change were most of the cost)
        below = True
        for k in range(n_deps):
            if not (deps[k].peer < n_old and deps[k].counter < <int32_t>old_vv[deps[k].peer]):
                below = False
                break
        if below:
            # every id of the version before's frontiers among the deps
            for f in front:
                fp = <uint32_t>f[0]
                fc = <int32_t>f[1]
                found = False
                for k in range(n_deps):
                    if deps[k].peer == fp and deps[k].counter == fc:
                        found = True
                        break
                if not found:
                    return False
    return True




def import_maps_read_history(LoroDoc doc, tuple snap):
    """Whether a concurrent import's diff (`snap`: the version before, as import_begin's)
    runs a map's calculator that reads loro's history cache of map ops to compare values:
    a map the import edits that diverged, or any map it edits when a sequence container
    it edits diverged (diverged_containers). Its first build visits every change block
    (doc/exchange.pxi number_history_visit)."""
    both = []
    got = diverged_containers(doc, snap, both)
    if got is None:
        return True
    for c in both:
        if doc.ckind[<uint32_t>c] == KIND_MAP:
            return True
    return False


def import_greater(LoroDoc doc, tuple snap):
    """import_is_greater for the document's maps of tree nodes (state/tree.pxi)."""
    return import_is_greater(doc, snap)


def import_builds_history_cache(LoroDoc doc, tuple snap):
    """Whether loro's diff calculation of the import just staged (`snap`: import_begin's
    version before) builds its history cache, which visits every change of the log and so
    parses every change block, registering the containers their ops name. Probed on loro
    1.17.1 (tests/test_dead_child_numbering.py): a calculator in DiffMode::Import of a tree
    (its CRDT replay reads the cache of tree ops) or of a movable list (its element index)
    does, and so does a map's comparing values; a list's, a text's or a counter's does not.
    A concurrent import runs a tree's or a movable list's calculator so only where it runs a
    map's by comparing values (diverged_containers): the import edits it and it diverged, or
    a Text, List, MovableList or Tree it edits diverged; one that only the import edits
    hands on its ops and reads no cache (late kinds session 16329: a movable list only a
    concurrent import touched left the snapshot's dead child waiting;
    tests/test_import_cache_numbering.py). A greater
    import's mode is Import when loro's meet search leaves a path unmatched
    (greater_import_replays bit 2); its calculators are those of the containers with ops
    between the two versions (the walk, _dag_order). Linear and ImportGreaterUpdates imports
    read no cache. Asked only while a loaded snapshot's dead children wait for a parse
    (LoroDoc.lnum_rest): kinds session 4560, whose concurrent JSON import inserted into a
    movable list and numbered the snapshot's dead counter before a root a later commit
    made."""
    cdef OpLog log = doc.log
    cdef uint8_t k
    if snap is None or doc.detached or doc.shallow_sv is not None or not snap[1]:
        return False
    if not import_is_greater(doc, snap):
        both = []
        if diverged_containers(doc, snap, both) is None:
            return import_edits_cached_kind(doc, snap[0])
        # (a diverged map the import edits compares values: its calculator reads the cache)
        for c in both:
            if doc.ckind[<uint32_t>c] == KIND_MAP:
                return True
        return False
    before = sorted(snap[1])
    after = [(log.frontiers[i].peer, log.frontiers[i].counter) for i in range(log.n_frontiers)]
    try:
        if not (greater_import_replays(log, before, after) & 2):
            return False
    except ValueError:
        return False
    dag_walk_checkout(False)
    for c in dag_walk(log, before, after, None, None, doc.vv_touches, doc.vv_loaded,
                      snap[2] is not None, False, cold=cold_index(doc)):
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
        first = call_subscribers(subs, payload)
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
        global _compared_maps, _wrapped, _ml_base_lowered, _greater_import, _greater_old_vv, _tree_metas, _calc_from_before, _import_stamp, _greater_replayed, _linear_import
        global _own_before_shown, _import_old_vv
        if trigger == 1 and snap is not None:
            # (the texts' style map elements known before it follow the import:
            # style_import_text)
            _import_stamp = (doc.hist_epoch, snap[1], style_chain_at(doc, snap[1]))
            _import_old_vv = snap[0]
        if trigger == 1 and not concurrent_import and not doc.detached and snap is not None:
            # loro walks the new changes from the version before in causal order too (they
            # may be concurrent among themselves): the order its diff calculator meets them
            _greater_import = (sorted(snap[1]), [(doc.log.frontiers[i].peer, doc.log.frontiers[i].counter)
                                                 for i in range(doc.log.n_frontiers)])
            _greater_old_vv = snap[0]
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
            _import_old_vv = None
            _compared_maps = None
            _ml_base_lowered = False
            _calc_from_before = None
            _wrapped = None
            _wrapped_at = None
            _tree_metas = None
            _greater_import = None
            _greater_old_vv = None
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


include "collect/style_elements.pxi"


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


include "collect/checkout_runs.pxi"


include "collect/text_pieces.pxi"


cdef list collect(LoroDoc doc, bint is_import, bint compare_values, list changed):
    """The batch's ContainerDiffs in loro's order (`changed[0]` set when something changed).
    The cyclic collector is paused meanwhile: the diffs, paths and their lists are acyclic
    and outlive the call, and collections every 700 of them walked them again and again
    (a tenth of a commit touching 2,000 maps; no user code runs here)."""
    cdef bint gc_was_on = PyGC_Disable()
    try:
        return collect_diffs(doc, is_import, compare_values, changed)
    finally:
        if gc_was_on:
            PyGC_Enable()


cdef list collect_diffs(LoroDoc doc, bint is_import, bint compare_values, list changed):
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
        groups[doc.evlog.notes[0].container] = [i for i in range(n)]    # (a C loop)
    else:
        for i in range(n):
            c = doc.evlog.notes[i].container
            g = groups.get(c)
            if g is None:
                groups[c] = g = []
            g.append(i)
    cdef PathTable paths = PathTable()
    cdef int32_t node
    out = []
    done = set()
    shown = []      # counters shown as new values by the diffs (see below)
    before = doc.evs.before         # a checkout's runs (checkout_before), else None
    reached = [] if before is not None else None    # containers a checkout shows as values
    ml_reached = []     # containers a movable list shows again (or anew): whole values
    ml_imported = []    # those an import's movable list diffs show (see below)
    ml_named = []       # those a checkout's movable list diffs show as values
    nopath = []         # containers with a diff but no path (left out, as loro does)
    own_diff = set() if is_import else None    # containers with a diff of their own (their ops)
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
        if own_diff is not None:
            own_diff.add(c)
        # like loro, an event is sent when something changed, even where nothing changed
        # that can be reached from a root (then its list is empty)
        changed[0] = True
        node = path_of(doc, c, paths)
        if node < 0:
            nopath.append(c)
            continue
        cid = doc.cids[c]
        done.add(c)
        # loro's order: by depth, then roots before the others, which go by creation counter
        out.append((paths.depth_of(node), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c,
                    container_diff(cid, paths, node, d)))
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
        if replayed_zero_child(doc, c):
            continue
        done.add(c)
        node = path_of(doc, c, paths)
        if node >= 0:
            revived.append(c)
            cid = doc.cids[c]
            out.append((paths.depth_of(node), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c,
                        container_diff(cid, paths, node, Diff.Counter(doc.ccounter[<uint32_t>c]))))
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
            # state brings them back after the diffs of their depth; nor the child of such an
            # element the diff moves (wrapped, not named: latek sessions 16743, 19560), which
            # nothing brings back
            ml_revived = ml_elems_before(doc, ml_named + list(wrapped or ()),
                                         closure_ends(doc, doc.evs.tree_lca[0]), False)
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
        # (the event's map holds only the diffs with a path: a dead child's is left out)
        return commit_order(doc, groups, out)
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
    if _greater_replayed < 0 and one_change_after(doc.log, _greater_import[0], _greater_import[1],
                                                  _greater_old_vv):
        # (bit 2 without a search: see one_change_after)
        _greater_replayed = 0
        if _CHECK_ONE_CHANGE:
            _r = greater_import_replays(doc.log, list(_greater_import[0]),
                                        list(_greater_import[1]))
            assert not (_r & 2), (_r, _greater_import)
    if _greater_replayed < 0:
        try:
            _greater_replayed = greater_import_replays(doc.log, list(_greater_import[0]),
                                                       list(_greater_import[1]))
        except ValueError:
            # (a search that meets history a shallow document no longer has: its maps'
            # changed keys are handed on, as before this rule)
            _greater_replayed = 0
    return (_greater_replayed & 2) != 0


import os as _os
cdef bint _CHECK_ONE_CHANGE = bool(_os.environ.get("LORO_C_CHECK_ONE_CHANGE"))


cdef bint one_change_after(OpLog log, list before, list after, list old_vv) except -1:
    """Whether the version `after` (frontiers as (peer index, counter)) is one change whose
    deps are exactly `before`, a single id of another peer, and whose peer's previous op
    (if any) the version before holds (`old_vv`: its ends by peer index): a server's import
    of one client's change. loro's meet search of the two versions then meets `before`
    from both sides, and the one path left, down from the previous op, ends unmatched
    inside the meet's history: covered (greater_import_replays has no bit 2)."""
    cdef int64_t ch
    cdef lc_change *c
    cdef uint32_t bp, ap
    cdef int32_t bc, ac
    if old_vv is None or len(before) != 1 or len(after) != 1:
        return False
    bp, bc = before[0]
    ap, ac = after[0]
    if ap == bp or ap >= log.n_peers or bp >= log.n_peers:
        return False
    ch = log.find_change(ap, ac)
    if ch < 0:
        return False
    c = &log.changes[ch]
    if c.counter > 0 and not (ap < len(old_vv) and c.counter - 1 < <int32_t>old_vv[ap]):
        return False
    return (c.deps_len == 1 and log.deps[c.deps_off].peer == bp
            and log.deps[c.deps_off].counter == bc)


cdef bint replayed_zero_child(LoroDoc doc, uint32_t c) except -1:
    """Whether `c` is a counter of value 0 that a map's new value or a movable list's new
    element shows in an import whose maps loro replays: the calculator (which then replays
    movable lists too, see fast_map_child) reports the child, the state shows its whole
    value, and loro leaves that zero out (as for a map that compares values; latek sessions
    12240, 15687, 16682, 17606: an element's new counter)."""
    if _greater_import is None or doc.ckind[c] != KIND_COUNTER or doc.croot[c] != ROOT_NONE:
        # (a root, a mergeable child among them: no map value or element holds it)
        return False
    if not (-F64_EPSILON < doc.ccounter[c] < F64_EPSILON):
        return False
    p = parent_of(doc, doc.cids[c])
    if p is None or (doc.ckind[<uint32_t>p[0]] != KIND_MAP
                     and doc.ckind[<uint32_t>p[0]] != KIND_MOVABLE_LIST):
        return False
    return greater_replayed(doc)


cdef object _wrapped = None     # containers shown as values by the diffs collect builds
cdef object _wrapped_at = None  # id() of each of their handles in those diffs -> the container
cdef object _tree_metas = None  # the meta maps (ids) of the nodes a replayed tree diff creates
# a checkout's containers with a diff of their own that it shows whole (brought back): each
# one -> the containers its own diff shows as values (shown_whole; see import_rank)
cdef dict _whole_own_shows = None
cdef list _greater_old_vv = None    # its version before, ends by peer index (import_begin)
cdef object _import_old_vv = None  # the version before of the import being collected (ends by peer index)
cdef object _greater_import = None  # an import's two versions when its changes all follow the
                                    # document's (walked too: they may be concurrent among themselves)


include "collect/order.pxi"
include "collect/whole_values.pxi"
include "collect/paths.pxi"
include "collect/maps.pxi"
include "collect/sequences.pxi"


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
            shown_whole(doc, out, list(reversed(doc.roots)), PathTable(), set(), True)
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
    cdef int32_t node
    cdef PathTable paths
    try:
        reg = doc.evs
        if reg is None or not (reg.root or reg.hooks or reg.by_cid and reg.active()):
            return
        doc.evs.tree_lca = None
        paths = PathTable()
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
            node = path_of(doc, c, paths)
            if node < 0:
                continue
            out.append((paths.depth_of(node), 0 if doc.croot[c] != ROOT_NONE else doc.cids[c].counter + 1, c,
                        container_diff(doc.cids[c], paths, node, d)))
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


include "collect/checkout_text.pxi"
include "collect/linear_delta.pxi"       # an import's Text delta in loro's Linear mode
