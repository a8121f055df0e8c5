# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""LoroDoc: transactions, local edits, the import pipeline and materialised values.

Local edits apply at the document version (the tracker sits there between calls). Imported
changes are replayed in causal order; each moves the tracker to its causal version first, so
positional ops integrate exactly as Loro's do. An import that fails part-way truncates the log
back to where it was and rebuilds the state, so it is all or nothing.

Every public method holds the document lock (doc_acquire / doc_release in _doc.pxd) for the
whole call; local-update events are queued under it and delivered after it is released
(release_and_deliver).
"""
from libc.stdlib cimport malloc, free
from libc.stdlib cimport calloc      # state/snapshot_load.pxi
from libc.stdlib cimport realloc     # state/snapshot.pxi
from libc.stdlib cimport qsort       # state/movable_local.pxi
from cpython.bytes cimport PyBytes_FromStringAndSize   # state/snapshot.pxi
from libc.stdint cimport int32_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memset, memcpy, memmove, memcmp
from libc.stdint cimport INT32_MAX, INT64_MAX, uint8_t, uint64_t
from cpython.unicode cimport PyUnicode_GET_LENGTH

from loro_c._seq cimport (SeqArena, lc_id, make_id, span_visible, LC_NO_PEER, UNIT_UNICODE, UNIT_UTF8,
                          UNIT_UTF16)
from loro_c._seq cimport lc_span, LC_NO_NODE, lc_prefetch   # state/snapshot.pxi, state/movable_local.pxi
from loro_c._seq cimport TREE_ANCHORED   # loro's style map elements, op by op (state/richtext.pxi)
from loro_c.rich_checkout cimport Elements   # (the same)
from loro_c._seq cimport lc_node   # state/movable_local.pxi (ml_ahead)
from loro_c._seq cimport bulk_fill   # state/snapshot_load.pxi
from loro_c._seq cimport (integrate_insert, integrate_delete, collect_runs, tracker_move, copy_visible, locate,
                          visible_before)
from loro_c.fxhash cimport fx_add, fx_finish, hb_table_order   # doc/grouping.pxi
from loro_c._oplog cimport (OpLog, lc_op, lc_change, lc_staged, lc_move, lc_group, lc_group_list,
                            slice_op, merge_ops, LC_OP_INSERT, LC_OP_DELETE, LC_OP_MAP_SET,
                            LC_OP_MAP_DELETE, LC_OP_COUNTER, LC_LSTR_MIN_CAP, lc_insert_is_text,
                            LC_STAGED_DEAD, LC_STAGED_DONE, lc_range_ops, range_ops_start,
                            range_ops_next, op_atoms)
# rich text (state/richtext.pxi)
from loro_c._seq cimport (lc_span, lc_span_is_anchor, LC_ANCHOR_START, LC_ANCHOR_END, LC_ANCHOR_MIN, find_char,
                          entity_at, collect_text_runs, LC_NO_NODE, anchors_before,
                          balance_before, prev_anchor, atom_visible, open_marks_at,
                          anchors_in_prefix)
from loro_c._kinds cimport LC_OP_MARK_START, LC_OP_MARK_END
from loro_c._kinds cimport plain_scalar       # state/snapshot_load.pxi
from loro_c._oplog import OpLog as _OpLogType
from loro_c._kinds cimport LC_OP_MOVE, LC_OP_SET        # MovableList (state/movable_list.pxi)
from loro_c._seq cimport lc_span, integrate_move, integrate_move_after
from loro_c._seq cimport lc_peer_index, lc_record, LC_REC_INSERT, LC_REC_DELETE_REV   # state/movable_local.pxi
from loro_c._version cimport VersionVector, Frontiers, vv_wrap, frontiers_wrap, frontiers_wrap_ordered
from loro_c._version cimport vv_bytes_in_order     # doc/history.pxi (a snapshot's vv entry)
from loro_c._version import ID
from loro_c.ml_event_split cimport ElementMap     # state/movable_local.pxi
from loro_c.ml_items cimport lc_ml_item, LC_ML_NO_ELEM    # state/snapshot_load.pxi (a MovableList state's items)

from loro_c.errors import (LoroError, DecodeError, OutOfBoundsError, LoroValueError, LoroTypeError,
                           ContainerMismatchError, CallbackError, DetachedError,
                           ContainerDeletedError, UnknownContainerError)
from loro_c import _types
import time

cdef extern from "Python.h":
    ctypedef struct PyObject

cdef extern from *:
    """
    /* a dict with room for n entries (CPython's own presizing; a plain dict where the
       private call is gone) */
    #if PY_VERSION_HEX < 0x030D0000
    #define lc_dict_presized(n) _PyDict_NewPresized(n)
    #else
    #define lc_dict_presized(n) PyDict_New()
    #endif
    """
    dict lc_dict_presized(Py_ssize_t n)
    PyObject* PyDict_GetItem(object d, object key)
    long PyLong_AsLong(object o) except? -1
    int PyUnicode_KIND(object o)
    int PyUnicode_IS_ASCII(object o)
    void* PyUnicode_DATA(object o)
    uint32_t PyUnicode_READ(int kind, void *data, Py_ssize_t index)
    object PyUnicode_FromKindAndData(int kind, const void *buffer, Py_ssize_t size)
    int PyUnicode_4BYTE_KIND
    void PyErr_SetObject(object type, object value)
    void PyErr_WriteUnraisable(object obj)


from loro_c._kinds import KIND_NAMES as _TYPE_NAMES   # indexed by raw kind byte
from loro_c._types import TYPE_BY_KIND as _TYPE_BY_KIND, normal_cid as _normal_cid
from bisect import bisect_right     # doc/exchange.pxi parse_block_at
# (read on per-value paths: a module attribute lookup each time otherwise)
cdef object _CID_TYPE = _types.ContainerID
cdef object _ROOT_CID_TYPE = _types.ContainerID.Root
cdef object _NORMAL_CID_TYPE = _types.ContainerID.Normal


cdef inline bint is_root_cid(object cid) except -1:
    """isinstance(cid, ContainerID.Root), its usual answers without isinstance's walk (a
    snapshot load asks it of every container it registers)."""
    cdef object t = type(cid)
    if t is _NORMAL_CID_TYPE:
        return False
    if t is _ROOT_CID_TYPE:
        return True
    return isinstance(cid, _ROOT_CID_TYPE)


def container_type(int kind):
    """The ContainerType object of a raw kind byte."""
    return _TYPE_BY_KIND[kind]


cpdef int kind_of_type(ct) except -1:
    """The raw kind byte of a ContainerType."""
    # (the known types are one class each: a dict lookup by class, in C, per container
    # an import or a load registers)
    got = _KIND_BY_CLASS.get(type(ct))
    if got is not None:
        return got
    name = str(ct)
    if name not in _TYPE_NAMES:
        raise LoroValueError(f"unknown container type {ct!r}")
    return _TYPE_NAMES.index(name)


cdef dict _KIND_BY_CLASS = {type(_TYPE_BY_KIND[k]): k for k in range(len(_TYPE_BY_KIND))}


cdef uint32_t* str_to_cps(str s, uint32_t *stack, Py_ssize_t n) except NULL:
    """Code points of `s` into `stack` when they fit, else into a malloc'd buffer."""
    cdef uint32_t *buf = stack
    cdef Py_ssize_t i
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    if n > STACK_CPS:
        buf = <uint32_t*>malloc(<size_t>n * sizeof(uint32_t))
        if buf == NULL:
            raise MemoryError()
    for i in range(n):
        buf[i] = PyUnicode_READ(kind, data, i)
        if 0xD800 <= buf[i] <= 0xDFFF:
            # Loro text is UTF-8: a lone surrogate can never be exported
            if buf != stack:
                free(buf)
            raise LoroValueError("text with a lone surrogate code point cannot be stored")
    return buf


cdef int check_commit_options(origin, timestamp, commit_msg) except -1:
    if origin is not None and not isinstance(origin, str):
        raise LoroTypeError("origin must be a str")
    if commit_msg is not None:
        if not isinstance(commit_msg, str):
            raise LoroTypeError("commit_msg must be a str")
        _types.check_utf8(commit_msg, "commit_msg")
    if timestamp is not None:
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise LoroTypeError("timestamp must be an int (seconds)")
        if not -(1 << 63) <= timestamp < (1 << 63):
            raise LoroValueError("timestamp must fit in 64 bits")
    return 0


cdef extern from "Python.h":
    object PyUnicode_FromObject(object obj)


cdef str as_str(object s, str what):
    """`s` as an exact str (a subclass's own hash and equality must not count), or
    LoroTypeError naming `what`."""
    if type(s) is str:
        return <str>s
    if isinstance(s, str):
        return PyUnicode_FromObject(s)
    raise LoroTypeError(f"{what} must be a str, not {type(s).__name__}")


include "doc/core.pxi"
include "doc/grouping.pxi"
include "doc/history.pxi"
include "doc/order.pxi"
include "doc/export.pxi"
include "doc/delivery.pxi"
include "doc/registry.pxi"
include "doc/txn.pxi"
include "doc/integrate.pxi"
include "doc/deferred.pxi"
include "doc/checkout.pxi"
include "doc/liveness.pxi"
include "state/dispatch.pxi"
include "state/sequence.pxi"
include "state/text.pxi"
include "state/richtext.pxi"
include "state/list.pxi"
include "state/map.pxi"
include "state/counter.pxi"
include "state/snapshot.pxi"
include "state/snapshot_load.pxi"
include "state/text_backing.pxi"
include "state/movable_list.pxi"
include "state/movable_local.pxi"
include "state/tree.pxi"
include "doc/shallow.pxi"
include "doc/exchange.pxi"
include "doc/cursors.pxi"


cdef object _events_mod = None


cdef object events_module():
    global _events_mod
    if _events_mod is None:
        from loro_c import _events as m
        _events_mod = m
    return _events_mod


# kind -> the handle class's _wrap; filled on first use (_containers imports this module)
cdef list _wrappers = None


cdef object wrapper(int kind):
    global _wrappers
    if _wrappers is None:
        from loro_c import _containers as m
        _wrappers = [m.LoroMap._wrap, m.LoroList._wrap, m.LoroText._wrap, m.LoroTree._wrap,
                     m.LoroMovableList._wrap, m.LoroCounter._wrap]
    return _wrappers[kind]


cdef class LoroDoc(DocExchange):
    """A Loro document: a set of containers edited by many peers that converge on import."""

    # ------------------------------------------------------------------ containers

    def _root(self, name, int kind):
        return root_index(self, name, kind)

    # ------------------------------------------------------------------ transactions

    def commit(self):
        """Commit the pending local ops as one change (merged into the previous change when
        Loro would merge it: same peer, continuing counters, only dep our own last op, same
        message). As in Loro, a message set for a commit that has no ops is dropped.
        Local-update subscribers are called after the commit is complete (see
        subscribe_local_update)."""
        doc_acquire(self)
        try:
            commit_txn(self)
            self.next_msg = None
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def set_next_commit_options(self, origin=None, timestamp=None, immediate_renew=True,
                                commit_msg=None):
        """Set the origin, timestamp (seconds) and message of the next commit (as loro)."""
        check_commit_options(origin, timestamp, commit_msg)
        doc_acquire(self)
        if origin is not None:
            self.next_origin = origin
        if timestamp is not None:
            self.next_ts = timestamp
        if commit_msg is not None:
            self.next_msg = commit_msg
        doc_release(self)

    def set_next_commit_timestamp(self, timestamp):
        """Set the timestamp (seconds) of the next commit; a commit without ops drops it."""
        check_commit_options(None, timestamp, None)
        doc_acquire(self)
        self.next_ts = timestamp
        doc_release(self)

    def set_record_timestamp(self, record):
        """Stamp each commit with the current Unix time (seconds) unless a timestamp is set
        for it; off by default, as in loro. Consecutive local changes merge while their
        timestamps are within the merge interval (set_change_merge_interval)."""
        if not isinstance(record, bool):
            raise LoroTypeError("record must be a bool")
        doc_acquire(self)
        self.record_ts = record
        doc_release(self)

    def set_next_commit_origin(self, origin):
        """Set the origin that event subscribers see for the next commit (not persisted;
        the next commit uses it up even when it has no ops, as in loro)."""
        origin = as_str(origin, "origin")
        doc_acquire(self)
        self.next_origin = origin
        doc_release(self)

    def commit_with(self, origin=None, timestamp=None, immediate_renew=None, commit_msg=None):
        """Commit with options: `origin` is reported to event subscribers, `commit_msg`
        becomes the change's message, `timestamp` (seconds) its timestamp. `immediate_renew`
        is accepted for loro's signature (loro_c always renews)."""
        check_commit_options(origin, timestamp, commit_msg)
        doc_acquire(self)
        try:
            if origin is not None:
                self.next_origin = origin
            if commit_msg is not None:
                self.next_msg = commit_msg
            if timestamp is not None:
                self.next_ts = timestamp
            commit_txn(self)
            self.next_msg = None
            self.next_ts = None
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def subscribe_root(self, callback):
        """Call `callback(DiffEvent)` after every commit or import that changed the
        document (see loro_c.events for when and how callbacks run). Returns a
        Subscription (dropping it unsubscribes, as in loro)."""
        return events_module().subscribe(self, None, callback)

    def subscribe_first_commit_from_peer(self, callback):
        """Call `callback({"peer": peer})` when this document's peer is about to commit for
        the first time (no op of that peer in the document yet); edits the callback makes
        join that commit. Returning False unsubscribes. Returns a Subscription."""
        return events_module().subscribe_first_commit(self, callback)

    def subscribe_jsonpath(self, path, callback):
        """Call `callback()` after an event that may change what the JSONPath `path`
        selects (it may also fire when nothing selected changed, as loro's). Returns a
        Subscription; LoroValueError for a malformed path."""
        from loro_c import jsonpath
        return jsonpath.subscribe(self, path, callback)

    def subscribe_pre_commit(self, callback):
        """Call `callback({"change_meta": ChangeMeta, "origin": str, "modifier":
        ChangeModifier})` before each commit of local ops; `modifier.set_message` sets the
        change's message. Returning False unsubscribes. Returns a Subscription."""
        return events_module().subscribe_pre_commit(self, callback)

    def subscribe_peer_id_change(self, callback):
        """Call `callback(ID(peer, next counter))` after the peer id changes; returning
        False unsubscribes. Returns a Subscription."""
        return events_module().subscribe_peer_id_change(self, callback)

    def subscribe(self, container_id, callback):
        """Like subscribe_root, for the changes of container `container_id` and of the
        containers nested in it; the event's `current_target` is `container_id`."""
        return events_module().subscribe(self, container_id, callback)

    def events(self, container_id=None, maxsize=1024):
        """An async iterator of DiffEvents: `async for ev in doc.events():`, on asyncio or
        trio (or anyio over either); of one container and its descendants when
        `container_id` is given. Bounded to `maxsize` queued events; see
        loro_c.events.EventStream for the overflow policy and cancellation."""
        from loro_c.events import EventStream
        return EventStream(self, container_id, maxsize)

    def set_next_commit_message(self, msg):
        """Attach a message to the next commit."""
        msg = _types.check_utf8(as_str(msg, "message"), "message")
        doc_acquire(self)
        self.next_msg = msg
        doc_release(self)

    # ------------------------------------------------------------------ local edits

    # ------------------------------------------------------------------ remote integration

    # ------------------------------------------------------------------ Python API

    @property
    def peer_id(self):
        """This peer's 64-bit id (random by default)."""
        doc_acquire_read(self)
        peer = self.peer
        doc_release(self)
        return peer

    @peer_id.setter
    def peer_id(self, peer):
        if not isinstance(peer, int) or isinstance(peer, bool):
            raise LoroValueError("peer id must be an int")
        if peer < 0 or peer >= 0xFFFFFFFFFFFFFFFF:
            raise LoroValueError(f"peer id must be in 0..2**64-2, got {peer}")
        doc_acquire(self)
        try:
            commit_txn(self)
            self.peer = peer
            if self.evs is not None:
                events_module().peer_changed(self)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def get_text(self, obj):
        """The Text container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)
        try:
            return wrapper(KIND_TEXT)(self, root_index(self, obj, KIND_TEXT))
        finally:
            doc_release(self)

    def get_list(self, obj):
        """The List container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)
        try:
            return wrapper(KIND_LIST)(self, root_index(self, obj, KIND_LIST))
        finally:
            doc_release(self)

    def get_map(self, obj):
        """The Map container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)
        try:
            return wrapper(KIND_MAP)(self, root_index(self, obj, KIND_MAP))
        finally:
            doc_release(self)

    def get_counter(self, obj):
        """The Counter container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)
        try:
            return wrapper(KIND_COUNTER)(self, root_index(self, obj, KIND_COUNTER))
        finally:
            doc_release(self)

    def get_movable_list(self, obj):
        """The MovableList container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)
        try:
            return wrapper(KIND_MOVABLE_LIST)(self, root_index(self, obj, KIND_MOVABLE_LIST))
        finally:
            doc_release(self)

    def get_tree(self, obj):
        """The Tree container `obj` (a root name, a ContainerID or its string form;
        UnknownContainerError for the id of a child container the document lacks)."""
        doc_acquire_handles(self)     # as the other get_*: a thin document stays thin
        try:
            return wrapper(KIND_TREE)(self, root_index(self, obj, KIND_TREE))
        finally:
            doc_release(self)

    def try_get_tree(self, obj):
        """The Tree `obj`, or None (see try_get_text)."""
        return self._try_get(obj, KIND_TREE)

    def get_container(self, cid):
        """The container with this id, or None when the document has never seen it. A root
        id always names a container (as `get_text(name)` and friends do, it is registered);
        a root of a kind this library does not know gives a `LoroUnknown` handle, as loro."""
        from loro_c import _containers
        if not isinstance(cid, _types.ContainerID):
            raise LoroTypeError(f"get_container takes a ContainerID, not {type(cid).__name__}")
        doc_acquire(self)
        try:
            looked_up_in_history(self, cid)
            i = self.cid_index.get(cid)
            if i is not None:
                handle_registers(self, cid)
                return _containers.wrap(self, i, self.ckind[<uint32_t>i])
            if cid.is_root:
                if str(cid.container_type) not in _TYPE_NAMES:
                    from loro_c.unknown import LoroUnknown
                    return LoroUnknown(self, cid)
                kind = kind_of_type(cid.container_type)
                return _containers.wrap(self, root_index(self, cid, kind), kind)
        finally:
            doc_release(self)
        return _containers.tree_node_meta(self, cid)

    def _known_container(self, cid):
        """The handle of a container the document has registered, else None (unlike
        get_container, a root id the document has not seen is not registered)."""
        from loro_c import _containers
        doc_acquire(self)
        try:
            i = self.cid_index.get(cid)
            return None if i is None else _containers.wrap(self, i, self.ckind[<uint32_t>i])
        finally:
            doc_release(self)

    def has_container(self, cid):
        """Whether the document knows the container `cid` (a tree node's meta map counts
        once the node exists, as in loro)."""
        from loro_c import _containers
        doc_acquire(self)
        try:
            if isinstance(cid, _types.ContainerID):
                looked_up_in_history(self, cid)
            if cid in self.cid_index:
                return True
        finally:
            doc_release(self)
        return isinstance(cid, _types.ContainerID) and \
            _containers.tree_node_meta(self, cid) is not None

    def get_value(self):
        """The shallow value: root name -> ContainerID."""
        # (the roots listed, no state read: a snapshot load's maps stay encoded, as for
        # the root getters)
        doc_acquire_handles(self)
        try:
            number_lazy_roots(self, False)
            return {self.cids[r].name: self.cids[r] for r in self.roots}
        finally:
            doc_release(self)

    def get_deep_value(self):
        """The whole document as plain Python values (roots cleared by delete_root_container,
        and with set_hide_empty_root_containers(True) empty roots, are left out, as in loro)."""
        cdef dict out = {}
        # (maps a snapshot load left encoded are read from their entries and stay encoded:
        # state/map.pxi lazy_map_live)
        doc_acquire_handles(self)
        try:
            thin_register_all(self)
            if self.thin_lazy is not None:
                lazy_live_fill(self)
            plain = {}
            number_lazy_roots(self, True, plain)
            if plain:
                self.deep_plain = plain
            for r in self.roots:
                cid = self.cids[r]
                v = plain.pop(r, None)
                if v is None:
                    v = value_of(self, r, True)
                kind = self.ckind[<uint32_t>r]
                if self.hide_empty_roots and kind != KIND_COUNTER and len(v) == 0:
                    continue
                if cid in self.deleted_roots and (v == 0.0 if kind == KIND_COUNTER else len(v) == 0):
                    continue
                out[cid.name] = v
            return out
        finally:
            self.lazy_live = None
            self.lazy_holders = None
            self.deep_plain = None
            doc_release(self)

    def set_hide_empty_root_containers(self, hide):
        """Leave empty roots (text "", list [], map {}; never counters) out of get_deep_value."""
        self.hide_empty_roots = bool(hide)

    def delete_root_container(self, cid):
        """Clear root container `cid` (ops that delete its content, in the open transaction)
        and leave it out of get_deep_value while it stays cleared, as loro does. Other ids,
        and roots this document has never seen, are ignored."""
        if not isinstance(cid, _types.ContainerID.Root):
            return None
        doc_acquire(self)
        try:
            if cid not in self.cid_index:
                return None
            if self.detached:
                raise DetachedError("the document is detached: delete_root_container edits it")
        finally:
            doc_release(self)
        h = self.get_container(cid)
        self.deleted_roots.add(cid)
        kind = str(cid.container_type)
        if kind in ("Text", "List", "MovableList"):
            n = len(h)
            if n:
                h.delete(0, n)
        elif kind == "Map":
            # every key the map has held, deleted ones too, in key order (loro's state order)
            doc_acquire(self)
            try:
                keys = map_all_keys(self, <uint32_t>self.cid_index[cid])
            finally:
                doc_release(self)
            for key in keys:
                h.delete(key)
        elif kind == "Counter":
            h.increment(-h.value)
        elif kind == "Tree":
            # every shown node, level by level (a node under a deleted one is deleted too)
            for node in h.get_nodes(False):
                h.delete(node.id)
        return None

    def set_change_merge_interval(self, interval):
        """Set the interval, in seconds, within which consecutive local changes merge into
        one change (as in Loro; the default is 1000). Local changes carry timestamp 0 (no
        timestamps are recorded), so only a negative interval keeps them apart."""
        if not isinstance(interval, int) or isinstance(interval, bool):
            raise LoroTypeError("the merge interval must be an int")
        if not -(1 << 63) <= interval < (1 << 63):
            raise LoroValueError("the merge interval must fit in 64 bits")
        doc_acquire(self)
        try:
            commit_txn(self)
            self.merge_interval = interval
        finally:
            doc_release(self)

    # -- rich text styles (state/richtext.pxi)

    def config_text_style(self, text_style):
        """Replace the style configuration (a StyleConfigMap: the ExpandType of each key)."""
        from loro_c.richtext import StyleConfigMap, TextStyles
        if not isinstance(text_style, StyleConfigMap):
            raise LoroTypeError("config_text_style takes a StyleConfigMap")
        doc_acquire(self)
        if self.text_styles is None:
            self.text_styles = TextStyles()
        self.text_styles.map = text_style._copy()
        doc_release(self)

    def config_default_text_style(self, text_style=None):
        """The ExpandType of keys the configuration does not name (None: such marks fail)."""
        from loro_c.richtext import TextStyles, check_expand
        if text_style is not None:
            check_expand(text_style)
        doc_acquire(self)
        if self.text_styles is None:
            self.text_styles = TextStyles()
        self.text_styles.default = text_style
        doc_release(self)

    def _text_style_config(self):
        """A copy of the style configuration, with the default for other keys."""
        from loro_c.richtext import StyleConfigMap
        doc_acquire_read(self)
        try:
            if self.text_styles is None:
                return StyleConfigMap.default_rich_text_config()
            m = self.text_styles.map._copy()
            m._default = self.text_styles.default
            return m
        finally:
            doc_release(self)

    @property
    def config(self):
        """The document's options as a live Configure (loro's LoroDoc.config)."""
        from loro_c.config import Configure
        return Configure._of(self)

    def _config_values(self):
        return self.record_ts, self.merge_interval

    def clear_next_commit_options(self):
        """Forget the origin, timestamp and message set for the next commit."""
        doc_acquire(self)
        self.next_origin = None
        self.next_ts = None
        self.next_msg = None
        doc_release(self)

    def compact_change_store(self):
        """Accepted for loro's API: loro_c's change store is always compact (ops live in
        C arenas, not as parsed objects beside encoded blocks)."""
        return None

    def get_pending_txn_len(self):
        """Ops (counted in atoms, as loro counts them) in the open transaction."""
        doc_acquire(self)
        try:
            return self.log.vv[self.self_idx] - self.txn_counter if self.txn_open else 0
        finally:
            doc_release(self)

    def try_get_text(self, obj):
        """The Text `obj`, or None when it is a child container this document has never
        seen (a root always exists)."""
        return self._try_get(obj, KIND_TEXT)

    def try_get_list(self, obj):
        """The List `obj`, or None (see try_get_text)."""
        return self._try_get(obj, KIND_LIST)

    def try_get_map(self, obj):
        """The Map `obj`, or None (see try_get_text)."""
        return self._try_get(obj, KIND_MAP)

    def try_get_counter(self, obj):
        """The Counter `obj`, or None (see try_get_text)."""
        return self._try_get(obj, KIND_COUNTER)

    def try_get_movable_list(self, obj):
        """The MovableList `obj`, or None (see try_get_text)."""
        return self._try_get(obj, KIND_MOVABLE_LIST)

    def _try_get(self, obj, int kind):
        cid = obj
        if isinstance(obj, str):
            if not obj.startswith("cid:"):
                return self._get_kind(obj, kind)
            cid = _types.ContainerID.parse(obj)
        if isinstance(cid, _types.ContainerID.Root):
            return self._get_kind(cid, kind)
        doc_acquire(self)
        try:
            if isinstance(cid, _types.ContainerID):
                looked_up_in_history(self, cid)
            i = self.cid_index.get(cid)
            if i is None or self.ckind[<uint32_t>i] != kind:
                return None
            handle_registers(self, cid)
            return wrapper(kind)(self, <uint32_t>i)
        finally:
            doc_release(self)

    def _get_kind(self, obj, int kind):
        doc_acquire_value(self)
        try:
            return wrapper(kind)(self, root_index(self, obj, kind))
        finally:
            doc_release(self)

    def get_deep_value_with_id(self):
        """The deep value with each container as {"value": ..., "cid": "cid:..."}."""
        from loro_c import paths
        return paths.deep_value_with_id(self)

    def get_by_path(self, path):
        """The value or container at `path` (a sequence of Index, from a root's Key), or None."""
        from loro_c import paths
        return paths.by_path(self, path)

    def get_by_str_path(self, path):
        """get_by_path for a "/"-separated path such as "m/list/0", or None."""
        from loro_c import paths
        return paths.by_str_path(self, path)

    def _has_ops(self, cid):
        """Whether an op of the log targets container `cid` (paths.py: loro shows a
        mergeable child that no op has touched as a plain value in get_deep_value_with_id,
        having no state for it)."""
        cdef int64_t i
        cdef uint32_t c
        doc_acquire(self)
        try:
            found = self.cid_index.get(cid)
            if found is None:
                return False
            c = <uint32_t>found
            for i in range(self.log.n_ops):
                if self.log.ops[i].container == c:
                    return True
            return False
        finally:
            doc_release(self)

    def get_path_to_container(self, cid):
        """[(container, its Index)] from a root down to `cid`, or None when unreachable."""
        from loro_c import paths
        if isinstance(cid, _types.ContainerID) and not is_root_cid(cid):
            # loro asks has_container of a container its arena has not registered, then
            # registers it with an entry in its state store (a snapshot lists it since)
            doc_acquire(self)
            try:
                unregistered = cid not in self.lnum
                looked_up_in_history(self, cid)
                if unregistered and cid in self.cid_index:
                    handle_registers(self, cid)
                    if self.unstored:
                        self.unstored.discard(cid)
            finally:
                doc_release(self)
        return paths.path_to_container(self, cid)

    # ------------------------------------------------------------------ binary updates

    def get_cursor_pos(self, cursor):
        """Where `cursor` is now: a PosQueryResult whose `current` is the position (code
        points for text) and side; when the cursor's atom was deleted, the position where
        it was, side Left, and an `update` cursor at that position (as loro answers)."""
        from loro_c import cursor as _cursor
        return _cursor.query(self, cursor)

    def jsonpath(self, path):
        """The values and containers the JSONPath expression `path` selects (loro's dialect
        of RFC 9535, the roots as top-level keys); LoroValueError for a malformed path."""
        from loro_c import jsonpath
        return jsonpath.evaluate(self, path)


def compare_versions(VersionVector a, VersionVector b):
    """Ordering of version a against b, or None when they are concurrent."""
    if a == b:
        return _types.Ordering.Equal
    if b.includes_vv(a):
        return _types.Ordering.Less
    if a.includes_vv(b):
        return _types.Ordering.Greater
    return None


cpdef object copy_value(object v):
    """A private copy of a Loro value (lists and dicts are copied, scalars shared)."""
    if type(v) is list:
        return [copy_value(x) for x in <list>v]
    if type(v) is dict:
        return {k: copy_value(x) for k, x in (<dict>v).items()}
    return v


cdef int reentrant_error() except -1:
    raise LoroError("a LoroDoc was used from inside one of its own operations on the same "
                    "thread (e.g. by a __hash__/__eq__ or finalizer that runs during the "
                    "call); this is refused instead of corrupting the half-done operation")


cdef object call_subscribers(list subs, object payload):
    """Call each of `subs` (_Subscriber) still active with `payload`; one returning False is
    unsubscribed. Every one is called even when some raise: the first exception is
    returned (None when none did), for the caller to raise once delivery is over."""
    first = None
    for sub in subs:
        if not sub.active:
            continue
        try:
            if sub.callback(payload) is False:
                sub.unsubscribe()
        except Exception as e:
            if first is None:
                first = e
    return first


class _Subscriber:
    """The document's side of a subscription: the callback and whether it is still on."""
    __slots__ = ("callback", "active", "_subs")

    def __init__(self, subs, callback):
        self.callback = callback
        self.active = True
        self._subs = subs
        subs.append(self)

    def unsubscribe(self):
        if self.active:
            self.active = False
            try:
                self._subs.remove(self)
            except ValueError:
                pass


class Subscription:
    """A subscription handle. As in loro, dropping it unsubscribes; `detach()` keeps the
    callback for the document's lifetime (after it, this handle no longer controls the
    subscription); `unsubscribe()` or calling the handle stops it. It never takes the
    document lock, so it may be dropped anywhere (inside a callback, by another thread)."""
    __slots__ = ("_sub", "__weakref__")

    def __init__(self, subs, callback):
        self._sub = _Subscriber(subs, callback)

    def unsubscribe(self):
        """Stop receiving callbacks (idempotent; does nothing after detach(), as in loro)."""
        if self._sub is not None:
            self._sub.unsubscribe()

    def detach(self):
        """Keep the callback subscribed for the document's lifetime: the handle lets go of
        it, so neither dropping the handle nor unsubscribe() stops it any more."""
        self._sub = None

    def __call__(self):
        """Unsubscribe (same as unsubscribe())."""
        self.unsubscribe()

    def __del__(self):
        if self._sub is not None:
            self._sub.unsubscribe()
