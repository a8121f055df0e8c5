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
from libc.string cimport memset, memcpy, memmove
from libc.stdint cimport INT32_MAX, uint8_t, uint64_t
from cpython.unicode cimport PyUnicode_GET_LENGTH

from loro_c._seq cimport (SeqArena, lc_id, make_id, span_visible, LC_NO_PEER, UNIT_UNICODE, UNIT_UTF8,
                          UNIT_UTF16)
from loro_c._seq cimport (integrate_insert, integrate_delete, collect_runs, tracker_move, copy_visible, locate,
                          visible_before)
from loro_c._oplog cimport (OpLog, lc_op, lc_change, lc_staged, lc_move, lc_group, lc_group_list,
                            slice_op, merge_ops, LC_OP_INSERT, LC_OP_DELETE, LC_OP_MAP_SET,
                            LC_OP_MAP_DELETE, LC_OP_COUNTER, LC_LSTR_MIN_CAP, lc_insert_is_text)
from loro_c._oplog import OpLog as _OpLogType
from loro_c._version cimport VersionVector, Frontiers, vv_wrap, frontiers_wrap
from loro_c._version import ID

from loro_c.errors import (LoroError, DecodeError, OutOfBoundsError, LoroValueError, LoroTypeError,
                           ContainerMismatchError, CallbackError)
from loro_c import _types
import time

cdef extern from "Python.h":
    ctypedef struct PyObject
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


def container_type(int kind):
    """The ContainerType object of a raw kind byte."""
    return getattr(_types.ContainerType, _TYPE_NAMES[kind])()


def kind_of_type(ct):
    """The raw kind byte of a ContainerType."""
    name = str(ct)
    if name not in _TYPE_NAMES:
        raise LoroValueError(f"unknown container type {ct!r}")
    return _TYPE_NAMES.index(name)


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
    if commit_msg is not None and not isinstance(commit_msg, str):
        raise LoroTypeError("commit_msg must be a str")
    if timestamp is not None:
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise LoroTypeError("timestamp must be an int (seconds)")
        if not -(1 << 63) <= timestamp < (1 << 63):
            raise LoroValueError("timestamp must fit in 64 bits")
    return 0


cdef class DocOps:
    """The ops of one peer restricted to atoms [a, b), read from the op arena (across the
    peer's op records) and yielded one by one, cut to the range and folded together where
    loro would hold them as one op. Encoders read them without building a Python object
    per op."""

    def __len__(self):
        return self.n_arena_ops

    cdef bint next_op(self, lc_op *out) noexcept:
        return walk_next(self.doc, &self.w, out)


include "doc/grouping.pxi"
include "doc/history.pxi"
include "doc/export.pxi"
include "doc/delivery.pxi"
include "doc/registry.pxi"
include "doc/txn.pxi"
include "doc/integrate.pxi"
include "state/dispatch.pxi"
include "state/sequence.pxi"
include "state/text.pxi"
include "state/list.pxi"
include "state/map.pxi"
include "state/counter.pxi"


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
        _wrappers = [m.LoroMap._wrap, m.LoroList._wrap, m.LoroText._wrap, None, None,
                     m.LoroCounter._wrap]
    return _wrappers[kind]


cdef class LoroDoc:
    """A Loro document: a set of containers edited by many peers that converge on import."""

    def __cinit__(self):
        self.deleted_roots = set()
        self.log = OpLog()
        self.seq = SeqArena()
        self.cids = []
        self.cid_index = {}
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
        self.lstr_gen = self.buf_serial = 1
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError()
        # the semaphore starts taken: a waiter blocks on it until a release posts it
        PyThread_acquire_lock(self.lock, NOWAIT_LOCK)

    def __init__(self):
        import random
        self.peer = random.getrandbits(64)
        while self.peer == 0xFFFFFFFFFFFFFFFF:
            self.peer = random.getrandbits(64)

    def __dealloc__(self):
        cdef int64_t i
        free(self.ckind)
        free(self.croot)
        free(self.ctree)
        free(self.ccounter)
        free(self.tvv)
        free(self.tfront)
        free(self.txn_deps)
        free(self.staged)
        free(self.sdeps)
        free(self.map_journal)
        free(self.cimp_sum)
        free(self.cimp_set)
        free(self.cimp_list)
        free(self.evlog.notes)
        for i in range(self.n_maps):
            lc_map_free(&self.maps[i])
        free(self.maps)
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

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

    def set_next_commit_origin(self, str origin):
        """Set the origin that event subscribers see for the next commit (not persisted;
        the next commit uses it up even when it has no ops, as in loro)."""
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
        """An async iterator of DiffEvents (for asyncio): `async for ev in doc.events():`.
        Bounded to `maxsize` queued events; see loro_c.events.EventStream for the overflow
        policy and cancellation."""
        from loro_c.events import EventStream
        return EventStream(self, container_id, maxsize)

    def set_next_commit_message(self, str msg):
        """Attach a message to the next commit."""
        doc_acquire(self)
        self.next_msg = msg
        doc_release(self)

    # ------------------------------------------------------------------ local edits

    # ------------------------------------------------------------------ remote integration

    def _import_changes(self, list changes):
        """Import decoded change tuples (see loro_c._json); all or nothing."""
        from loro_c import _import
        doc_acquire(self)
        try:
            snap = events_module().import_begin(self) if self.evlog.on else None
            status = _import.import_changes(self, changes)
            if snap is not None:
                events_module().flush(self, 1, None, snap)
        except BaseException:
            self.evlog.n = 0
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return status

    # ------------------------------------------------------------------ Python API

    @property
    def peer_id(self):
        """This peer's 64-bit id (random by default)."""
        doc_acquire(self)
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
        """The Text container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_TEXT)(self, root_index(self, obj, KIND_TEXT))
        finally:
            doc_release(self)

    def get_list(self, obj):
        """The List container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_LIST)(self, root_index(self, obj, KIND_LIST))
        finally:
            doc_release(self)

    def get_map(self, obj):
        """The Map container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_MAP)(self, root_index(self, obj, KIND_MAP))
        finally:
            doc_release(self)

    def get_counter(self, obj):
        """The Counter container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_COUNTER)(self, root_index(self, obj, KIND_COUNTER))
        finally:
            doc_release(self)

    def get_container(self, cid):
        """The container with this id, or None when the document has never seen it."""
        from loro_c import _containers
        doc_acquire(self)
        try:
            i = self.cid_index.get(cid)
            return None if i is None else _containers.wrap(self, i, self.ckind[<uint32_t>i])
        finally:
            doc_release(self)

    def has_container(self, cid):
        """Whether the document knows the container `cid`."""
        doc_acquire(self)
        try:
            return cid in self.cid_index
        finally:
            doc_release(self)

    def get_value(self):
        """The shallow value: root name -> ContainerID."""
        doc_acquire(self)
        try:
            return {self.cids[r].name: self.cids[r] for r in self.roots}
        finally:
            doc_release(self)

    def get_deep_value(self):
        """The whole document as plain Python values (roots cleared by delete_root_container,
        and with set_hide_empty_root_containers(True) empty roots, are left out, as in loro)."""
        cdef dict out = {}
        doc_acquire(self)
        try:
            for r in self.roots:
                cid = self.cids[r]
                v = value_of(self, r, True)
                kind = self.ckind[<uint32_t>r]
                if self.hide_empty_roots and kind != KIND_COUNTER and len(v) == 0:
                    continue
                if cid in self.deleted_roots and (v == 0.0 if kind == KIND_COUNTER else len(v) == 0):
                    continue
                out[cid.name] = v
            return out
        finally:
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
        finally:
            doc_release(self)
        h = self.get_container(cid)
        self.deleted_roots.add(cid)
        kind = str(cid.container_type)
        if kind in ("Text", "List"):
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
        return None

    @property
    def oplog_vv(self):
        """Version vector of everything in the history (the open transaction included)."""
        doc_acquire(self)
        try:
            return version_snapshot(self)
        finally:
            doc_release(self)

    @property
    def state_vv(self):
        """Version vector of the materialised state (equal to oplog_vv: no checkout yet)."""
        doc_acquire(self)
        try:
            return vv_wrap(dense_vv_dict(self, self.log.vv))
        finally:
            doc_release(self)

    def _frontiers(self):
        cdef int64_t i
        return frontiers_wrap(sorted((self.log.peer_ids[self.log.frontiers[i].peer], self.log.frontiers[i].counter)
                                     for i in range(self.log.n_frontiers)))

    @property
    def oplog_frontiers(self):
        """Frontiers (heads) of the history."""
        doc_acquire(self)
        try:
            return self._frontiers()
        finally:
            doc_release(self)

    @property
    def state_frontiers(self):
        """Frontiers of the materialised state."""
        doc_acquire(self)
        try:
            return self._frontiers()
        finally:
            doc_release(self)

    @property
    def len_ops(self):
        """Number of atoms (op counters) in the history."""
        cdef uint32_t i
        cdef int64_t total = 0
        doc_acquire(self)
        for i in range(self.log.n_peers):
            total += self.log.vv[i]
        doc_release(self)
        return total

    @property
    def len_changes(self):
        """Number of committed changes in the history, grouped as Loro groups them (the open
        transaction is not counted)."""
        doc_acquire(self)
        n = self.log.n_groups
        doc_release(self)
        return n

    def get_change(self, id):
        """The change holding the op `id` (a ChangeMeta: its first op's id, Lamport,
        timestamp, message, deps and length), or None when the op is not in the history.
        Changes are grouped as Loro groups them; the open transaction is not looked at."""
        if not isinstance(id, ID):
            raise LoroTypeError(f"get_change needs an ID, not {type(id).__name__}")
        cdef uint32_t p
        cdef int64_t g, i
        cdef lc_group *grp
        doc_acquire(self)
        try:
            idx = self.log.peer_map.get(id.peer)
            if idx is None or not 0 <= id.counter <= INT32_MAX:
                return None
            p = idx
            g = self.log.find_group(p, id.counter)
            if g < 0:
                return None
            grp = &self.log.groups[p].items[g]
            deps = frontiers_wrap(sorted(
                (self.log.peer_ids[self.log.gdeps[i].peer], self.log.gdeps[i].counter)
                for i in range(grp.deps_off, grp.deps_off + grp.deps_len)))
            return _types.ChangeMeta(grp.lamport, ID(id.peer, grp.counter), grp.timestamp,
                                     self.log.messages[grp.msg] if grp.msg >= 0 else None,
                                     deps, grp.end - grp.counter)
        finally:
            doc_release(self)

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

    def is_detached(self):
        """Always False: checkout is not supported yet."""
        return False

    def cmp_frontiers(self, Frontiers a, Frontiers b):
        """How version `a` compares with version `b`: an Ordering, or None when they are
        concurrent. LoroValueError when either is not in this document's history."""
        va, vb = self.frontiers_to_vv(a), self.frontiers_to_vv(b)
        if va is None or vb is None:
            raise LoroValueError("The given Frontiers are not included by the doc")
        return compare_versions(va, vb)

    def cmp_with_frontiers(self, Frontiers other):
        """Equal when `other` is the document's frontiers, Greater when the document holds
        every id of `other` (a version it includes, under other ids too), else Less (as
        loro decides it)."""
        if other == self.oplog_frontiers:
            return _types.Ordering.Equal
        vv = self.oplog_vv
        if all(vv.includes_id(i) for i in other.to_list()):
            return _types.Ordering.Greater
        return _types.Ordering.Less

    def vv_to_frontiers(self, VersionVector vv):
        """The frontiers of version `vv`: the last id of each peer in it, without those
        that another of them depends on (ids this document does not know are kept)."""
        last = [(p, e - 1) for p, e in vv.to_dict().items() if e > 0]
        closures = [self.frontiers_to_vv(Frontiers.from_id(ID(p, c))) for p, c in last]
        keep = []
        for i, (p, c) in enumerate(last):
            covered = False
            for j, (q, d) in enumerate(last):
                if j != i and q != p and closures[j] is not None and closures[j].get_last(p) is not None \
                        and closures[j].get_last(p) >= c:
                    covered = True
                    break
            if not covered:
                keep.append(ID(p, c))
        return Frontiers.from_ids(keep)

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
            i = self.cid_index.get(cid)
            if i is None or self.ckind[<uint32_t>i] != kind:
                return None
            return wrapper(kind)(self, <uint32_t>i)
        finally:
            doc_release(self)

    def _get_kind(self, obj, int kind):
        doc_acquire(self)
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

    def get_path_to_container(self, cid):
        """[(container, its Index)] from a root down to `cid`, or None when unreachable."""
        from loro_c import paths
        return paths.path_to_container(self, cid)

    def find_id_spans_between(self, Frontiers from_, Frontiers to):
        """The ops to retreat and to apply to go from version `from_` to version `to`
        (a VersionVectorDiff); LoroValueError when either is not in the history."""
        a, b = self.frontiers_to_vv(from_), self.frontiers_to_vv(to)
        if a is None or b is None:
            raise LoroValueError("The given Frontiers are not included by the doc")
        return a.diff(b)

    def export_json_in_id_span(self, id_span):
        """The committed changes in `id_span` (an IdSpan) as a JSON list of changes in the
        schema of export_json_updates, with ids naming the peers themselves (deterministic,
        for hashing). Does not commit; the open transaction is left out, as in loro."""
        if not isinstance(id_span, _types.IdSpan):
            raise LoroTypeError(f"export_json_in_id_span needs an IdSpan, not {type(id_span).__name__}")
        a, b = id_span.counter.start, id_span.counter.end
        from loro_c.codec import json as json_codec
        doc_acquire(self)
        try:
            if a >= b:
                return "[]"
            return json_codec.export_in_id_span(self, id_span.peer, max(a, 0), min(b, INT32_MAX))
        finally:
            doc_release(self)

    def travel_change_ancestors(self, ids, cb):
        """Visit the changes holding `ids` and all their ancestors, latest first (by the
        Lamport of a change's last op, then peer), as ChangeMeta; `cb` returns True to stop.
        Changes are grouped as Loro groups them. The callback runs without the document
        lock, so it may read the document."""
        import heapq
        ids = list(ids)
        for id in ids:
            if not isinstance(id, ID):
                raise LoroTypeError(f"travel_change_ancestors needs IDs, not {type(id).__name__}")
        doc_acquire(self)
        try:
            commit_txn(self)
        finally:
            doc_release(self)
        pending = []
        for id in ids:
            meta = self.get_change(id)
            if meta is None:
                raise LoroError(f"Target id not found {id.counter}@{id.peer}")
            pending.append(meta)
        heap = [(-(m.lamport + m.len - 1), -m.id.peer, k, m) for k, m in enumerate(pending)]
        heapq.heapify(heap)
        visited = set()
        serial = len(heap)
        while heap:
            meta = heapq.heappop(heap)[3]
            stop = cb(meta)
            if not isinstance(stop, bool):
                raise LoroTypeError(f"the callback must return a bool, not {type(stop).__name__}")
            if stop:
                break
            for dep in meta.deps:
                dm = self.get_change(dep)
                if dm is None or (dm.id.peer, dm.id.counter) in visited:
                    continue
                visited.add((dm.id.peer, dm.id.counter))
                heapq.heappush(heap, (-(dm.lamport + dm.len - 1), -dm.id.peer, serial, dm))
                serial += 1

    def get_changed_containers_in(self, id, len):
        """The containers that ops id.counter .. id.counter+len of id.peer changed."""
        if not isinstance(id, ID):
            raise LoroTypeError(f"expected an ID, not {type(id).__name__}")
        cdef int64_t start = max(0, id.counter), end = min(<int64_t>id.counter + max(0, len), INT32_MAX)
        cdef int64_t pos, i
        cdef uint32_t p
        cdef lc_change *ch
        cdef lc_op *op
        out = set()
        doc_acquire(self)
        try:
            found = self.log.peer_map.get(id.peer)
            if found is None or start >= end:
                return out
            p = <uint32_t>found
            pos = self.log.find_change_pos(p, <int32_t>start)
            if pos < 0:
                return out
            while pos < self.log.by_peer[p].len:
                ch = &self.log.changes[self.log.by_peer[p].idx[pos]]
                if ch.counter >= end:
                    break
                for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                    op = &self.log.ops[i]
                    if op.counter < end and op.counter + op.len > start:
                        out.add(self.cids[op.container])
                pos += 1
            return out
        finally:
            doc_release(self)

    def fork(self):
        """A new document with this one's history and state and a new random peer id (the
        open transaction is committed first, as in loro)."""
        self.commit()
        return self._fork_from(self.export(_types.ExportMode.Updates(VersionVector())))

    def fork_at(self, Frontiers frontiers):
        """A new document holding only the history up to `frontiers` (a new random peer
        id); LoroError when the frontiers are not in this document's history."""
        self.commit()
        vv = self.frontiers_to_vv(frontiers)
        if vv is None:
            raise LoroError(f"Cannot find ({frontiers!r})")
        spans = [_types.IdSpan(peer, _types.CounterSpan(0, end)) for peer, end in vv.to_dict().items()
                 if end > 0]
        return self._fork_from(self.export(_types.ExportMode.UpdatesInRange(spans)) if spans else None)

    def _fork_from(self, blob):
        cdef LoroDoc fork = LoroDoc()
        cdef int64_t r
        # as loro's fork does: roots cleared by delete_root_container stay out of the
        # fork's deep value; the hide-empty-roots option is not carried over
        fork.deleted_roots = set(self.deleted_roots)
        if blob is not None:
            fork.import_(blob)
        # the fork lists the roots this document lists, edited or not (loro's fork carries
        # its state's roots)
        doc_acquire(self)
        try:
            shown = [(self.cids[r].name, self.ckind[r]) for r in self.roots]
        finally:
            doc_release(self)
        doc_acquire(fork)
        try:
            for name, kind in shown:
                show_root(fork, root_index(fork, name, kind))
        finally:
            doc_release(fork)
        return fork

    def frontiers_to_vv(self, Frontiers frontiers):
        """The version vector of the causal closure of `frontiers`, or None if unknown."""
        cdef lc_id *ids
        cdef Py_ssize_t n = len(frontiers._ids), i
        if n == 0:
            return VersionVector()
        ids = <lc_id*>malloc(n * sizeof(lc_id))
        if ids == NULL:
            raise MemoryError()
        doc_acquire(self)
        try:
            for i in range(n):
                peer, ctr = frontiers._ids[i]
                idx = self.log.peer_map.get(peer)
                if idx is None or self.log.find_change(idx, ctr) < 0:
                    return None
                ids[i] = make_id(idx, ctr)
            return vv_wrap(version_dict(self, ids, n))
        finally:
            doc_release(self)
            free(ids)

    # ------------------------------------------------------------------ binary updates

    def export(self, mode):
        """Export in Loro's binary format. `ExportMode.Updates(from_)` sends every op not in
        `from_`; `UpdatesInRange(spans)` the ops in the id spans; `Snapshot()` the whole
        history (as an updates blob, which loro and loro_c both import). Pending local ops
        are committed first."""
        doc_acquire(self)
        try:
            blob = self._export(mode)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return blob

    def _export(self, mode):
        commit_txn(self)
        from loro_c import _codec
        if isinstance(mode, _types.ExportMode.Updates):
            start = mode.from_
            if not isinstance(start, VersionVector):
                raise LoroValueError("ExportMode.Updates needs a VersionVector")
            stamp = (<VersionVector>start)._stamp
            return _codec.encode_updates(self._changes(
                (<VersionVector>start)._map, None, _codec.MAX_OPS_PER_BLOCK,
                stamp[1] if stamp is not None and stamp[0] == self.log.serial else -1, True))
        if isinstance(mode, _types.ExportMode.UpdatesInRange):
            changes = []
            for span in mode.spans:
                a, b = span.counter.start, span.counter.end
                if a > b:
                    a, b = b, a
                if a < b:
                    changes.extend(self._changes({span.peer: a}, {span.peer: b},
                                                 _codec.MAX_OPS_PER_BLOCK, -1, True))
            return _codec.encode_updates(changes)
        if isinstance(mode, _types.ExportMode.Snapshot):
            return _codec.encode_updates(self._changes({}, dense_vv_dict(self, self.log.vv),
                                                       _codec.MAX_OPS_PER_BLOCK, -1, True))
        raise LoroError(f"export mode {type(mode).__name__} is not supported by loro_c yet")

    def import_(self, bytes data):
        """Import a binary blob (updates, or the history inside a snapshot). Missing
        dependencies leave changes pending; returns an ImportStatus. A malformed blob raises
        DecodeError and leaves the document exactly as it was."""
        return self._import_locked([data])

    def import_with(self, bytes data, str origin):
        """Like import_, tagging the import with `origin` (reported to event subscribers)."""
        return self._import_locked([data], False, origin)

    def import_batch(self, bytes_list):
        """Import several blobs as one batch (all or nothing)."""
        blobs = list(bytes_list)
        for data in blobs:
            if not isinstance(data, bytes):
                raise LoroValueError(f"import_batch takes bytes, not {type(data).__name__}")
        return self._import_locked(blobs, True)

    def _import_locked(self, list blobs, bint batch=False, origin=None):
        from loro_c import _import
        doc_acquire(self)
        try:
            snap = events_module().import_begin(self) if self.evlog.on else None
            status = _import.import_blobs(self, blobs, batch)
            if snap is not None:
                events_module().flush(self, 1, origin, snap)
        except BaseException:
            self.evlog.n = 0
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return status

    @staticmethod
    def decode_import_blob_meta(bytes data, check_checksum=True):
        """Inspect a blob without importing it: mode, version range, change count."""
        from loro_c import _codec
        return _codec.decode_blob_meta(data, check_checksum)

    def subscribe_local_update(self, callback):
        """Call `callback(bytes)` after each local commit with an updates blob holding exactly
        that commit's ops. Returning False unsubscribes (loro requires a bool; loro_c keeps
        the subscription for any other return value). Returns a Subscription: as in loro,
        dropping it unsubscribes, `detach()` keeps the callback for the document's lifetime.

        Callbacks run after the public call that committed (commit, export, import, ...) has
        finished and released the document, on the thread that delivers the queue, one
        event at a time in commit order; a callback may edit, commit, import or export the
        same document (the updates it commits are delivered after it returns). If callbacks
        raise, every queued event still goes to every subscriber, the subscriptions stay,
        and the operation is not undone; then the call raises CallbackError from the first
        callback exception (loro raises a PanicException there). If the call itself failed,
        its own exception propagates and callback exceptions go to sys.unraisablehook."""
        if not callable(callback):
            raise LoroValueError("callback must be callable")
        return Subscription(self.local_update_subs, callback)

    def export_json_updates(self, VersionVector start_vv, VersionVector end_vv, with_peer_compression=True):
        """Export the changes between two versions in Loro's JSON updates format."""
        from loro_c import _json
        doc_acquire(self)
        try:
            commit_txn(self)
            out = _json.export_updates(self, start_vv._map, end_vv._map)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return out

    def import_json_updates(self, str json):
        """Import Loro JSON updates. Returns an ImportStatus; raises DecodeError on malformed
        input, leaving the document unchanged."""
        from loro_c import _json
        return self._import_changes(_json.decode_updates(json))

    def _changes(self, dict start, dict end, Py_ssize_t piece_ops=0, int64_t since=-1,
                 bint regroup=False, bint commit=True):
        """Committed changes (grouped as Loro groups them) overlapping [start, end), peer by
        peer in counter order, as change tuples (end None: the log's version; then `since`
        >= 0 says `start` is the version at that snapshot epoch, so only peers that moved
        after it can differ). With `piece_ops` > 0 the ops are DocOps ranges (for the binary
        encoder) and a change is cut into pieces of at most that many arena ops; otherwise
        they are op tuples. Only the requested peers' changes are visited.

        With `regroup`, the changes are grouped again the way Loro's binary export does (it
        inserts the cut changes into a fresh change store: consecutive changes that may
        merge are merged while their new block has room); JSON exports keep them as they
        are. Without `commit`, the open transaction stays open and is left out."""
        if commit:
            commit_txn(self)
        cdef OpLog log = self.log
        cdef int64_t g
        cdef Py_ssize_t n
        cdef int32_t lo, hi, a, b, cut
        cdef uint32_t p
        cdef lc_op o
        cdef DocOps rng
        cdef PyObject *lo_ptr
        out = []
        if end is None:
            # one dict probe per peer, no dict of the whole version built
            items = []
            for p in range(log.n_peers):
                if log.vv[p] > 0 and (since < 0 or log.vv_epoch[p] > <uint64_t>since):
                    pid = log.peer_objs[p]
                    lo_ptr = PyDict_GetItem(start, pid)
                    if lo_ptr == NULL or PyLong_AsLong(<object>lo_ptr) < log.vv[p]:
                        items.append((pid, log.vv[p]))
        else:
            items = end.items()
        for pid, hi_obj in items:
            idx = log.peer_map.get(pid)
            if idx is None:
                continue
            p = idx
            hi = hi_obj if hi_obj < log.vv[p] else log.vv[p]
            if self.txn_open and p == self.self_idx and hi > self.txn_counter:
                hi = self.txn_counter       # only committed ops
            lo = start.get(pid, 0)
            if lo < 0:
                lo = 0
            if lo >= hi:
                continue
            g = log.find_group(p, lo)
            if g < 0:
                continue
            spans = change_spans(self, p, g, lo, hi, regroup)
            for a0, b0, lamport, ts, msg_i, deps in spans:
                a = a0
                b = b0
                msg = log.messages[msg_i] if msg_i >= 0 else None
                while a < b:
                    rng = DocOps.__new__(DocOps)
                    rng.doc = self
                    walk_init(self, &rng.w, p, a, b)
                    # the piece ends before the op that would exceed `piece_ops`
                    cut = walk_cut(self, &rng.w, piece_ops, &n)
                    rng.w.b = cut
                    rng.a = a
                    rng.b = cut
                    rng.n_arena_ops = n
                    if a > a0:
                        deps = [(pid, a - 1)]
                    if piece_ops > 0:
                        ops = rng
                    else:
                        ops = []
                        while rng.next_op(&o):
                            ops.append(op_tuple(self, &o))
                    out.append((pid, a, lamport + <uint32_t>(a - a0), ts, msg, deps, ops))
                    a = cut
        return out

    def _stats(self):
        """Arena sizes of the sequence index and the log (for memory benchmarks)."""
        doc_acquire(self)
        try:
            st = self.seq.stats()
            st.update(changes=self.log.n_changes, ops=self.log.n_ops,
                      op_bytes=self.log.cap_ops * sizeof(lc_op), values=len(self.log.values),
                      pending=self.n_staged, pending_deps=self.n_sdeps, peers=self.log.n_peers,
                      keys=len(self.log.keys), containers=self.n_containers,
                      state_rebuilds=self.n_rebuilds, import_unapplies=self.n_unapplies)
            return st
        finally:
            doc_release(self)

    def get_cursor_pos(self, cursor):
        """Where `cursor` is now: a PosQueryResult whose `current` is the position (code
        points for text) and side; when the cursor's atom was deleted, the position where
        it was, side Left, and an `update` cursor at that position (as loro answers)."""
        from loro_c import cursor as _cursor
        return _cursor.query(self, cursor)

    def _cursor_atom_at(self, uint32_t c, int64_t pos):
        """(visible length, (peer, counter) of the atom at visible index `pos` or None)."""
        cdef int slot
        cdef int64_t off
        cdef uint32_t leaf, t
        cdef lc_id a
        doc_acquire(self)
        try:
            t = self.ctree[c]
            n = self.seq.visible_len(t)
            if pos < 0 or pos >= n:
                return n, None
            leaf = self.seq.find_visible(t, pos, &slot, &off)
            a = self.seq.nodes[leaf].u.spans[slot].id
            return n, (self.log.peer_objs[a.peer], a.counter + <int32_t>off)
        finally:
            doc_release(self)

    def _cursor_find(self, cid, id):
        """For a cursor on container `cid` at op id `id` (or None): (container index,
        visible length, visible atoms before the atom, whether it is visible); None when the
        container or the atom is unknown here."""
        cdef uint32_t c, t, p, leaf
        cdef int slot
        cdef int64_t before
        doc_acquire(self)
        try:
            found = self.cid_index.get(cid)
            if found is None:
                return None
            c = <uint32_t>found
            if self.ckind[c] != KIND_TEXT and self.ckind[c] != KIND_LIST:
                return None
            t = self.ctree[c]
            n = self.seq.visible_len(t)
            if id is None:
                return c, n, 0, False
            pi = self.log.peer_map.get(id.peer)
            if pi is None or id.counter < 0 or id.counter >= self.log.vv[<uint32_t>pi]:
                return None
            p = <uint32_t>pi
            try:
                leaf = locate(self.seq, make_id(p, id.counter), &slot)
            except AssertionError:
                return None     # an op of that peer that is no atom of a sequence
            if self.seq.nodes[leaf].tree != t:
                return None
            before = visible_before(self.seq, leaf, slot, id.counter)
            return c, n, before, span_visible(&self.seq.nodes[leaf].u.spans[slot])
        finally:
            doc_release(self)

    def _check_invariants(self):
        """Run every structural checker (B-trees, tracker records, version bookkeeping)."""
        doc_acquire(self)
        try:
            return self._check_invariants_locked()
        finally:
            doc_release(self)

    def _check_invariants_locked(self):
        cdef int64_t i
        for i in range(self.n_containers):
            state_check(self, <uint32_t>i)
        ensure_tvv(self)
        if not self.tracker_at_head:
            raise AssertionError("tracker is not at the document version")
        for i in range(self.log.n_peers):
            if self.tvv[i] != self.log.vv[i]:
                raise AssertionError("tracker is not at the document version")
        self.log._check(self.txn_open, self.self_idx, self.txn_counter)
        check_groups(self)
        self.log._check_walks(64, not self.txn_open)
        return True


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
