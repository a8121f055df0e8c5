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

    cdef uint32_t container_index(self, object cid, int kind) except? 0xFFFFFFFF:
        """Index of the container `cid`, registering it (and its state) on first use."""
        found = self.cid_index.get(cid)
        if found is not None:
            if self.ckind[<uint32_t>found] != kind:
                raise ContainerMismatchError(f"{cid} is a {_TYPE_NAMES[self.ckind[<uint32_t>found]]}, not a {_TYPE_NAMES[kind]}")
            return <uint32_t>found
        if kind == KIND_TREE or kind == KIND_MOVABLE_LIST:
            raise LoroError(f"{_TYPE_NAMES[kind]} containers are not supported by loro_c yet")
        cdef int64_t i = self.n_containers
        cdef int64_t cap
        if i == self.cap_containers:
            cap = self.cap_containers
            self.ckind = <uint8_t*>grow(self.ckind, &cap, i + 1, sizeof(uint8_t))
            cap = self.cap_containers
            self.croot = <uint8_t*>grow(self.croot, &cap, i + 1, sizeof(uint8_t))
            cap = self.cap_containers
            self.ctree = <uint32_t*>grow(self.ctree, &cap, i + 1, sizeof(uint32_t))
            cap = self.cap_containers
            self.ccounter = <double*>grow(self.ccounter, &cap, i + 1, sizeof(double))
            cap = self.cap_containers
            self.cimp_sum = <double*>grow(self.cimp_sum, &cap, i + 1, sizeof(double))
            cap = self.cap_containers
            self.cimp_set = <uint8_t*>grow(self.cimp_set, &cap, i + 1, sizeof(uint8_t))
            self.cap_containers = cap
        self.ckind[i] = kind
        self.ccounter[i] = 0.0
        self.cimp_sum[i] = 0.0
        self.cimp_set[i] = 0
        self.ctree[i] = 0
        if kind == KIND_TEXT or kind == KIND_LIST:
            self.ctree[i] = self.seq.new_tree(kind == KIND_TEXT)
        elif kind == KIND_MAP:
            if self.n_maps == self.cap_maps:
                self.maps = <lc_map*>grow(self.maps, &self.cap_maps, self.n_maps + 1, sizeof(lc_map))
            memset(&self.maps[self.n_maps], 0, sizeof(lc_map))
            self.ctree[i] = <uint32_t>self.n_maps
            self.n_maps += 1
        self.cids.append(cid)
        self.cid_index[cid] = i
        if isinstance(cid, _types.ContainerID.Root):
            self.croot[i] = ROOT_HIDDEN
            self.cid_by_key[(cid.name, kind)] = cid
        else:
            self.croot[i] = ROOT_NONE
            self.cid_by_key[(cid.peer, cid.counter, kind)] = cid
        self.n_containers = i + 1
        return <uint32_t>i

    cdef int show_root(self, uint32_t c) except -1:
        """List root container `c` in get_value from now on (no-op for other containers)."""
        if self.croot[c] == ROOT_HIDDEN:
            self.croot[c] = ROOT_SHOWN
            self.roots.append(c)
        return 0

    cdef int ensure_tvv(self) except -1:
        cdef int64_t old = self.tvv_cap
        if self.log.n_peers > self.tvv_cap:
            self.tvv = <int32_t*>grow(self.tvv, &self.tvv_cap, self.log.n_peers, sizeof(int32_t))
            memset(&self.tvv[old], 0, <size_t>(self.tvv_cap - old) * sizeof(int32_t))
        return 0

    def _root(self, name, int kind):
        return self.root_index(name, kind)

    cdef uint32_t root_index(self, object name, int kind) except? 0xFFFFFFFF:
        """Index of a root container given by name or ContainerID (registered on first use)."""
        cdef tuple hit
        cdef Py_ssize_t i
        if type(name) is str:
            # get_text("t") in a loop must not build and hash a new ContainerID each time.
            # A failed import may cut the registry back, so an entry counts only while its
            # index still holds the very same id object.
            hit = self.root_cache.get((name, kind))
            if hit is not None:
                i = hit[1]
                if i < self.n_containers and self.cids[i] is hit[0]:
                    self.show_root(i)
                    return i
        if isinstance(name, _types.ContainerID):
            cid = name
            if kind_of_type(cid.container_type) != kind:
                raise ContainerMismatchError(f"{cid} is not a {_TYPE_NAMES[kind]}")
        elif isinstance(name, str):
            # as in loro, a string is always a root name (never parsed as a container id)
            if not name or "/" in name or "\0" in name:
                raise LoroValueError(f"invalid root container name {name!r}: it must be non-empty "
                                     "and contain no '/' or NUL")
            cid = _types.ContainerID.Root(name, container_type(kind))
        else:
            raise LoroValueError(f"a container name must be a str or ContainerID, not {type(name).__name__}")
        i = self.container_index(cid, kind)
        self.show_root(i)
        if type(name) is str:
            self.root_cache[(name, kind)] = (self.cids[i], i)
        return i

    # ------------------------------------------------------------------ transactions

    cdef int open_txn(self) except -1:
        cdef int64_t i
        if self.txn_open:
            return 0
        self.self_idx = self.log.peer_index(self.peer)
        self.ensure_tvv()
        self.seq.ensure_peer(self.self_idx)
        self.txn_counter = self.log.vv[self.self_idx]
        self.txn_lamport = self.log.next_lamport
        self.txn_ops_off = self.log.n_ops
        if self.log.n_frontiers > self.cap_txn_deps:
            self.txn_deps = <lc_id*>grow(self.txn_deps, &self.cap_txn_deps, self.log.n_frontiers, sizeof(lc_id))
        for i in range(self.log.n_frontiers):
            self.txn_deps[i] = self.log.frontiers[i]
        self.n_txn_deps = self.log.n_frontiers
        # Like loro, the first op of this commit may extend the previous change's last op
        # when the change is likely to merge (see _commit, which undoes it if not).
        self.txn_merge_floor = self.txn_ops_off
        if self.can_extend_last_change():
            self.txn_merge_floor = self.txn_ops_off - 1
            self.txn_base_op = self.log.ops[self.txn_ops_off - 1]
        self.txn_open = True
        return 0

    cdef bint can_extend_last_change(self) noexcept:
        """Whether the open transaction continues the last change (the merge rule, with
        the commit message still unknown)."""
        cdef lc_change *last
        cdef uint32_t p = self.self_idx
        if self.log.n_changes == 0 or self.n_txn_deps != 1:
            return False
        last = &self.log.changes[self.log.n_changes - 1]
        return (last.peer == p and last.end == self.txn_counter and last.ops_len > 0
                and self.txn_deps[0].peer == p and self.txn_deps[0].counter == self.txn_counter - 1
                and last.ops_off + last.ops_len == self.txn_ops_off
                and last.lamport + <uint32_t>(last.end - last.counter) == self.txn_lamport)

    cdef int unmerge_base_op(self) except -1:
        """The commit did not merge into the previous change, but its first op extended that
        change's last op: cut the extension off into an op of its own, first in the commit."""
        cdef int64_t b = self.txn_ops_off - 1
        cdef lc_op merged = self.log.ops[b]
        cdef lc_op base = self.txn_base_op
        cdef lc_op tail = merged
        cdef int32_t k = merged.len - base.len
        cdef lc_op *slot
        if k <= 0:
            return 0
        tail.counter = base.counter + base.len
        tail.len = k
        if merged.kind == LC_OP_INSERT:
            tail.pos = base.pos + base.len
            tail.arg = base.arg + base.len
            tail.start_id.counter = <int32_t>(<int64_t>base.delta & 0x7FFFFFFF)
        elif merged.arg > 0:
            # forward delete: the extension deleted the next targets at the same position
            tail.arg = k
            tail.start_id.counter = base.start_id.counter + base.len
        else:
            # backward delete: the extension deleted the k atoms left of the base's range
            tail.pos = (base.pos if base.arg > 0 else base.pos + base.arg + 1) - 1
            tail.arg = -k
            tail.start_id = merged.start_id
        self.log.ops[b] = base
        self.log.push_op()
        memmove(&self.log.ops[self.txn_ops_off + 1], &self.log.ops[self.txn_ops_off],
                <size_t>(self.log.n_ops - 1 - self.txn_ops_off) * sizeof(lc_op))
        slot = &self.log.ops[self.txn_ops_off]
        slot[0] = tail
        return 0

    cdef int after_local_op(self, int32_t n) except -1:
        """Advance our version, the tracker and the frontiers past `n` new atoms."""
        cdef uint32_t p = self.self_idx
        if <int64_t>self.log.vv[p] + n > INT32_MAX:
            raise OverflowError("peer counter exceeds 2**31")
        self.log.vv[p] += n
        self.log.vv_touch(p)
        self.tvv[p] = self.log.vv[p]
        # the open transaction depends on every head, so its last op is the only head
        self.log.update_frontiers(self.txn_deps, <uint32_t>self.n_txn_deps, make_id(p, self.log.vv[p] - 1))
        return 0

    cdef int record_local_op(self, lc_op *piece) except -1:
        """Log a local op that is already integrated: fold it into the previous op when loro
        would (merge_ops), else append it; then advance our version past its atoms."""
        cdef lc_op *op
        if self.evlog.on:
            ev_note(self, piece.container, LC_EV_INSERT if piece.kind == LC_OP_INSERT else LC_EV_DELETE,
                    self.self_idx, piece.counter, piece.len, 0, 0.0)
        if self.log.n_ops > self.txn_merge_floor and merge_ops(&self.log.ops[self.log.n_ops - 1], piece):
            return self.after_local_op(piece.len)
        op = self.log.push_op()
        op[0] = piece[0]
        return self.after_local_op(piece.len)

    def commit(self):
        """Commit the pending local ops as one change (merged into the previous change when
        Loro would merge it: same peer, continuing counters, only dep our own last op, same
        message). As in Loro, a message set for a commit that has no ops is dropped.
        Local-update subscribers are called after the commit is complete (see
        subscribe_local_update)."""
        doc_acquire(self)
        try:
            self._commit()
            self.next_msg = None
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    cdef int _commit(self) except -1:
        cdef lc_change *last
        cdef uint32_t p = self.self_idx
        cdef int32_t end
        cdef int32_t msg_idx = -1
        cdef bint merge
        cdef uint32_t n_ops
        cdef int64_t i0
        # no import is under way here (imports commit before they start): the grouping undo
        # log of earlier imports is not needed any more
        self.log.n_gundo = 0
        if not self.txn_open:
            self.next_origin = None     # as in loro, every commit uses up the origin
            self.next_ts = None
            return 0
        if self.evlog.hooks and self.log.vv[self.self_idx] > self.txn_counter:
            # first-commit and pre-commit subscribers may add to the commit or set its
            # message (the lock is let go meanwhile, see _events.before_commit)
            events_module().before_commit(self)
            if not self.txn_open:
                return 0
        origin = self.next_origin
        self.next_origin = None
        self.txn_open = False
        msg = self.next_msg
        self.next_msg = None
        # as in loro: the timestamp set for this commit, else the time when recording
        # timestamps, else 0 -- but never before the changes it depends on
        ts = self.next_ts if self.next_ts is not None else (int(time.time()) if self.record_ts else 0)
        ts = max(ts, deps_timestamp(self, self.txn_deps, self.n_txn_deps))
        self.next_ts = None
        end = self.log.vv[p]
        if end == self.txn_counter:
            return 0
        n_ops = <uint32_t>(self.log.n_ops - self.txn_ops_off)
        merge = self.log.can_extend(p, self.txn_counter, self.txn_lamport, ts, self.txn_deps,
                                    <uint32_t>self.n_txn_deps, self.txn_ops_off, msg)
        if not merge and self.txn_merge_floor < self.txn_ops_off:
            self.unmerge_base_op()
            n_ops = <uint32_t>(self.log.n_ops - self.txn_ops_off)
        if merge:
            self.log.extend_last_change(end, n_ops)
            msg_idx = self.log.changes[self.log.n_changes - 1].msg
        else:
            if msg is not None:
                msg_idx = len(self.log.messages)
                self.log.messages.append(msg)
            self.log.add_change(p, self.txn_counter, end, self.txn_lamport, ts, self.txn_deps,
                                <uint32_t>self.n_txn_deps, self.txn_ops_off, n_ops, msg_idx)
        i0 = self.txn_ops_off
        if merge and i0 > self.txn_merge_floor and self.log.ops[i0 - 1].counter + self.log.ops[i0 - 1].len > self.txn_counter:
            i0 -= 1         # the commit's first op extended the previous one
        group_change(self, p, self.txn_counter, end, self.txn_lamport, ts, self.txn_deps,
                     <uint32_t>self.n_txn_deps, msg_idx, True, -1, i0, self.log.n_ops)
        self.log.update_frontiers(self.txn_deps, <uint32_t>self.n_txn_deps, make_id(p, end - 1))
        if self.evlog.on:
            events_module().flush(self, 0, origin)
        if self.local_update_subs:
            emit_local_update(self, self.txn_counter, end)
        return 0

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
            self._commit()
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

    cdef int local_text_insert(self, uint32_t c, int64_t pos, str s) except -1:
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
        cdef uint32_t stack[STACK_CPS]
        cdef uint32_t *cps
        cdef int64_t off
        cdef lc_op piece
        cdef int32_t counter
        cdef uint32_t t = self.ctree[c]
        if pos < 0 or pos > self.seq.visible_len(t):
            raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {self.seq.visible_len(t)})")
        if n == 0:
            return 0
        self.open_txn()
        cps = str_to_cps(s, stack, n)
        try:
            off = append_local_text(self, c, pos, cps, n)
        finally:
            if cps != stack:
                free(cps)
        counter = self.log.vv[self.self_idx]
        integrate_insert(self.seq, t, make_id(self.self_idx, counter), pos, <int32_t>n, <uint32_t>off,
                                  self.log.peer_ids)
        memset(&piece, 0, sizeof(lc_op))
        piece.container = c
        piece.kind = LC_OP_INSERT
        piece.counter = counter
        piece.len = <int32_t>n
        piece.pos = pos
        piece.arg = off
        lstr_place(self, &piece, n if PyUnicode_IS_ASCII(s) else utf8_bytes(&self.seq.text[off], n))
        return self.record_local_op(&piece)

    cdef int local_list_insert(self, uint32_t c, int64_t pos, list values) except -1:
        cdef Py_ssize_t n = len(values)
        cdef int64_t slot
        cdef lc_op piece
        cdef int32_t counter
        cdef uint32_t t = self.ctree[c]
        if pos < 0 or pos > self.seq.visible_len(t):
            raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {self.seq.visible_len(t)})")
        if n == 0:
            return 0
        self.open_txn()
        slot = len(self.log.values)
        self.log.values.extend(values)
        counter = self.log.vv[self.self_idx]
        integrate_insert(self.seq, t, make_id(self.self_idx, counter), pos, <int32_t>n, <uint32_t>slot,
                                  self.log.peer_ids)
        memset(&piece, 0, sizeof(lc_op))
        piece.container = c
        piece.kind = LC_OP_INSERT
        piece.counter = counter
        piece.len = <int32_t>n
        piece.pos = pos
        piece.arg = slot
        lval_place(self, &piece, n, False)
        return self.record_local_op(&piece)

    cdef uint32_t local_list_insert_container(self, uint32_t c, int64_t pos, int kind) except? 0xFFFFFFFF:
        cdef uint32_t t = self.ctree[c]
        if pos < 0 or pos > self.seq.visible_len(t):
            raise OutOfBoundsError(f"insert position {pos} is out of bounds (length {self.seq.visible_len(t)})")
        self.open_txn()
        cid = _types.ContainerID.Normal(self.peer, self.log.vv[self.self_idx], container_type(kind))
        cdef uint32_t child = self.container_index(cid, kind)
        self.local_list_insert(c, pos, [cid])
        return child

    cdef int local_seq_delete(self, uint32_t c, int64_t pos, int64_t n) except -1:
        cdef uint32_t t = self.ctree[c]
        cdef int64_t k, i, j, run_pos, run_len
        cdef const int64_t *runs
        cdef lc_op piece
        cdef int32_t counter
        cdef bint is_text = self.ckind[c] == KIND_TEXT
        if pos < 0 or n < 0 or pos + n > self.seq.visible_len(t):
            raise OutOfBoundsError(f"delete range {pos}..{pos + n} is out of bounds (length {self.seq.visible_len(t)})")
        if n == 0:
            return 0
        self.open_txn()
        k = collect_runs(self.seq, t, pos, n)
        # the scratch runs stay put: nothing below collects runs again
        runs = self.seq.runs
        for j in range(k):
            # Text deletes go right to left, each at its own position; list deletes go
            # left to right at the same position (as Loro issues them).
            i = k - 1 - j if is_text else j
            run_pos = runs[4 * i] if is_text else pos
            run_len = runs[4 * i + 1]
            counter = self.log.vv[self.self_idx]
            integrate_delete(self.seq, t, make_id(self.self_idx, counter), run_pos, run_len, False)
            memset(&piece, 0, sizeof(lc_op))
            piece.container = c
            piece.kind = LC_OP_DELETE
            piece.counter = counter
            piece.len = <int32_t>run_len
            piece.pos = run_pos
            piece.arg = run_len
            piece.start_id = make_id(<uint32_t>runs[4 * i + 2], <int32_t>runs[4 * i + 3])
            self.record_local_op(&piece)
        return 0

    cdef int map_apply(self, uint32_t c, uint32_t key, uint32_t lamport, uint32_t peer, int64_t slot) except -1 nogil:
        """Last writer wins by (lamport, peer id); slot -1 is a delete."""
        cdef lc_map *m = &self.maps[self.ctree[c]]
        cdef lc_map_entry *e
        if self.journal_on:
            self.journal_map_entry(self.ctree[c], key)
        e = lc_map_upsert(m, key)
        if e == NULL:
            with gil:
                raise MemoryError()
        if (e.peer == LC_NO_KEY or lamport > e.lamport
                or (lamport == e.lamport and self.log.peer_ids[peer] > self.log.peer_ids[e.peer])):
            if self.evlog.on:
                ev_note(self, c, LC_EV_MAP, peer, 0, 1, key, 0.0, -2 if e.peer == LC_NO_KEY else e.slot)
            e.lamport = lamport
            e.peer = peer
            lc_map_set_slot(m, e, slot)
        return 0

    cdef int journal_map_entry(self, uint32_t m, uint32_t key) except -1 nogil:
        """Remember map `m`'s entry for `key` as it is, before an import writes it."""
        cdef lc_map_entry *e = lc_map_find(&self.maps[m], key)
        cdef lc_map_undo *j
        if self.n_map_journal == self.cap_map_journal:
            self.map_journal = <lc_map_undo*>grow(self.map_journal, &self.cap_map_journal,
                                                  self.n_map_journal + 1, sizeof(lc_map_undo))
        j = &self.map_journal[self.n_map_journal]
        self.n_map_journal += 1
        j.map = m
        j.key = key
        j.existed = e != NULL
        if e != NULL:
            j.lamport = e.lamport
            j.peer = e.peer
            j.slot = e.slot
        return 0

    cdef int add_import_delta(self, uint32_t c, double d) except -1 nogil:
        """Add an imported counter op to the import's sum for counter `c`."""
        if not self.cimp_set[c]:
            if self.n_cimp == self.cap_cimp:
                self.cimp_list = <uint32_t*>grow(self.cimp_list, &self.cap_cimp,
                                                    self.n_cimp + 1, sizeof(uint32_t))
            self.cimp_list[self.n_cimp] = c
            self.n_cimp += 1
            self.cimp_set[c] = 1
            self.cimp_sum[c] = 0.0
        self.cimp_sum[c] += d
        return 0

    cdef int flush_import_deltas(self, bint keep) noexcept:
        """End of an import: add each counter's sum to its value (keep) or drop the sums."""
        cdef int64_t i
        cdef uint32_t c
        for i in range(self.n_cimp):
            c = self.cimp_list[i]
            if c < self.n_containers:
                if keep:
                    self.ccounter[c] += self.cimp_sum[c]
                self.cimp_sum[c] = 0.0
                self.cimp_set[c] = 0
        self.n_cimp = 0
        return 0

    cdef int64_t map_len(self, uint32_t c) noexcept:
        """Keys present in map `c`."""
        return self.maps[self.ctree[c]].live

    cdef int64_t map_slot(self, uint32_t c, str key) noexcept:
        """Value slot of `key` in map `c`, or -1 when the key is absent or deleted."""
        found = self.log.key_map.get(key)
        if found is None:
            return -1
        cdef lc_map_entry *e = lc_map_find(&self.maps[self.ctree[c]], <uint32_t>found)
        return -1 if e == NULL else e.slot

    cdef list map_live(self, uint32_t c):
        """(key, value slot) of the keys present, sorted by key."""
        cdef lc_map *m = &self.maps[self.ctree[c]]
        cdef uint32_t i
        cdef list keys = self.log.keys
        out = [(keys[m.entries[i].key], m.entries[i].slot) for i in range(m.cap)
               if m.entries[i].key != LC_NO_KEY and m.entries[i].slot >= 0]
        out.sort()
        return out

    cdef list map_all_keys(self, uint32_t c):
        """Every key the map has held, deleted ones included, sorted."""
        cdef lc_map *m = &self.maps[self.ctree[c]]
        cdef uint32_t i
        cdef list keys = self.log.keys
        return sorted([keys[m.entries[i].key] for i in range(m.cap) if m.entries[i].key != LC_NO_KEY])

    cdef int local_map_set(self, uint32_t c, str key, object value) except -1:
        cdef int64_t cur = self.map_slot(c, key)
        if cur >= 0:
            old = self.log.values[cur]
            if type(old) is type(value) and not isinstance(old, _types.ContainerID) and old == value:
                return 0
        self.open_txn()
        cdef uint32_t k = self.log.key_index(key)
        cdef int64_t slot = len(self.log.values)
        self.log.values.append(value)
        cdef int32_t counter = self.log.vv[self.self_idx]
        cdef lc_op *op = self.log.push_op()
        op.container = c
        op.kind = LC_OP_MAP_SET
        op.counter = counter
        op.len = 1
        op.pos = k
        op.arg = slot
        self.map_apply(c, k, self.txn_lamport + <uint32_t>(counter - self.txn_counter), self.self_idx, slot)
        self.after_local_op(1)
        return 0

    cdef uint32_t local_map_set_container(self, uint32_t c, str key, int kind) except? 0xFFFFFFFF:
        self.open_txn()
        cid = _types.ContainerID.Normal(self.peer, self.log.vv[self.self_idx], container_type(kind))
        cdef uint32_t child = self.container_index(cid, kind)
        self.local_map_set(c, key, cid)
        return child

    cdef int local_map_delete(self, uint32_t c, str key) except -1:
        self.open_txn()
        cdef uint32_t k = self.log.key_index(key)
        cdef int32_t counter = self.log.vv[self.self_idx]
        cdef lc_op *op = self.log.push_op()
        op.container = c
        op.kind = LC_OP_MAP_DELETE
        op.counter = counter
        op.len = 1
        op.pos = k
        op.arg = -1
        self.map_apply(c, k, self.txn_lamport + <uint32_t>(counter - self.txn_counter), self.self_idx, -1)
        self.after_local_op(1)
        return 0

    cdef int local_counter_add(self, uint32_t c, double d) except -1:
        self.open_txn()
        cdef lc_op *op = self.log.push_op()
        op.container = c
        op.kind = LC_OP_COUNTER
        op.counter = self.log.vv[self.self_idx]
        op.len = 1
        op.delta = d
        if self.evlog.on:
            ev_note(self, c, LC_EV_COUNTER, self.self_idx, op.counter, 1, 0, d)
        self.ccounter[c] += d
        self.after_local_op(1)
        return 0

    # ------------------------------------------------------------------ remote integration

    cdef int move_tracker_to(self, const lc_id *ids, int64_t n) except -1:
        """Move every sequence's tracker status to the closure of `ids` (committed ids), by
        the differences a DAG walk finds: the cost follows the changes between the two
        versions, never the number of peers."""
        cdef const lc_id *tf = self.log.frontiers if self.tracker_at_head else self.tfront
        cdef int64_t n_tf = self.log.n_frontiers if self.tracker_at_head else self.n_tfront
        cdef int64_t i, j, k, span
        cdef bint same = n_tf * n <= 64
        cdef lc_move mv
        self.ensure_tvv()
        # the common case (a change on top of what was just applied): the target holds the
        # tracker's ids and the tracker holds the target's, so the versions are equal
        if same:
            for i in range(n):
                if self.tvv[ids[i].peer] <= ids[i].counter:
                    same = False
            for j in range(n_tf):
                if not same:
                    break
                same = False
                for i in range(n):
                    if ids[i].peer == tf[j].peer and ids[i].counter == tf[j].counter:
                        same = True
        if not same:
            k = self.log.walk_diff(self.tvv, tf, n_tf, ids, n)
            span = 0
            for i in range(k):
                span += abs(<int64_t>self.log.moves[i].new_end - self.log.moves[i].old_end)
            if span >= NOGIL_MIN_MOVED:
                with nogil:
                    self.apply_moves(k)
            else:
                self.apply_moves(k)
            if n > self.cap_tfront:
                self.tfront = <lc_id*>grow(self.tfront, &self.cap_tfront, n, sizeof(lc_id))
            for i in range(n):
                self.tfront[i] = ids[i]
            self.n_tfront = n
            self.tracker_at_head = False
        return 0

    cdef int apply_moves(self, int64_t k) except -1 nogil:
        """Apply the first k moves of the log's last walk to the sequence trackers and tvv."""
        cdef int64_t i
        cdef lc_move mv
        for i in range(k):
            mv = self.log.moves[i]
            if mv.new_end < mv.old_end:
                tracker_move(self.seq, mv.peer, mv.new_end, mv.old_end, False)
            else:
                tracker_move(self.seq, mv.peer, mv.old_end, mv.new_end, True)
            self.tvv[mv.peer] = mv.new_end
        return 0

    cdef int move_tracker_to_change(self, const lc_id *deps, int64_t n_deps, uint32_t peer,
                                    int32_t counter) except -1:
        """Move the tracker to the causal version of a change of `peer` starting at `counter`
        whose deps are in the log. The deps must imply the peer's previous op (true of every
        change a Loro peer makes: it depends on its document's frontiers): versions are
        walked through deps alone."""
        self.move_tracker_to(deps, n_deps)
        if self.tvv[peer] != counter:
            self.apply_rejected = True
            raise DecodeError(f"change {counter}@{self.log.peer_ids[peer]} does not depend on its "
                              f"peer's previous op")
        return 0

    cdef int move_tracker_to_head(self) except -1:
        """Move the tracker to the document version (where local edits apply)."""
        if not self.tracker_at_head:
            self.move_tracker_to(self.log.frontiers, self.log.n_frontiers)
            self.tracker_at_head = True
        return 0

    cdef int apply_op(self, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
        """Apply one op at the tracker version (which includes the op's causal past). Runs
        without the GIL (apply_change_ops has shown the roots the op touches)."""
        cdef uint32_t c = op.container
        cdef uint32_t t
        cdef int64_t n, start, vis
        if op.kind == LC_OP_INSERT:
            t = self.ctree[c]
            vis = self.seq.visible_len(t)
            if op.pos < 0 or op.pos > vis:
                self.apply_rejected = True
                with gil:
                    raise DecodeError(f"op {op.counter}@{self.log.peer_ids[peer]} inserts at {op.pos}, "
                                      f"beyond the container length {vis} at its version")
            integrate_insert(self.seq, t, make_id(peer, op.counter), op.pos, op.len, <uint32_t>op.arg,
                                      self.log.peer_ids)
        elif op.kind == LC_OP_DELETE:
            t = self.ctree[c]
            vis = self.seq.visible_len(t)
            n = op.len
            start = op.pos if op.arg > 0 else op.pos + op.arg + 1
            if start < 0 or start + n > vis:
                self.apply_rejected = True
                with gil:
                    raise DecodeError(f"op {op.counter}@{self.log.peer_ids[peer]} deletes {start}..{start + n}, "
                                      f"beyond the container length {vis} at its version")
            integrate_delete(self.seq, t, make_id(peer, op.counter), start, n, op.arg < 0)
        elif op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE:
            self.map_apply(c, <uint32_t>op.pos, lamport, peer, op.arg)
        elif op.kind == LC_OP_COUNTER:
            if self.journal_on:
                self.add_import_delta(c, op.delta)
            else:
                self.ccounter[c] += op.delta
        return 0

    cdef int apply_change_ops(self, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                              int32_t counter, uint32_t lamport) except -1:
        """Apply a change's ops in order; the tracker already sits at its causal version
        (move_tracker_to_change) and ends at the change's last op."""
        cdef int64_t i
        cdef uint32_t c
        for i in range(ops_off, ops_off + ops_len):
            c = self.log.ops[i].container
            if self.croot[c] == ROOT_HIDDEN:
                self.show_root(c)
        if ops_len >= NOGIL_MIN_OPS:
            # long changes integrate without the GIL: threads importing into other documents
            # run meanwhile (this document is held by its lock)
            with nogil:
                self.apply_ops_run(ops_off, ops_len, peer, counter, lamport)
        else:
            self.apply_ops_run(ops_off, ops_len, peer, counter, lamport)
        if ops_len > 0:
            if self.cap_tfront < 1:
                self.tfront = <lc_id*>grow(self.tfront, &self.cap_tfront, 1, sizeof(lc_id))
            self.tfront[0] = make_id(peer, self.tvv[peer] - 1)
            self.n_tfront = 1
            self.tracker_at_head = False
        return 0

    cdef int apply_ops_run(self, int64_t ops_off, uint32_t ops_len, uint32_t peer, int32_t counter,
                           uint32_t lamport) except -1 nogil:
        cdef int64_t i
        cdef lc_op *op
        for i in range(ops_off, ops_off + ops_len):
            op = &self.log.ops[i]
            if self.evlog.on:
                ev_note_op(self, op, peer)
            self.apply_op(op, peer, lamport + <uint32_t>(op.counter - counter))
            op = &self.log.ops[i]
            self.tvv[peer] = op.counter + op.len
        return 0

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

    cdef int rebuild_state(self) except -1:
        """Recompute every container's state by replaying the log from the start."""
        cdef SeqArena fresh = SeqArena()
        cdef int64_t i
        cdef lc_change *ch
        self.n_rebuilds += 1
        fresh.append_text(self.seq.text, self.seq.text_len)
        self.seq = fresh
        for i in range(self.n_containers):
            self.ccounter[i] = 0.0
            if self.ckind[i] == KIND_TEXT or self.ckind[i] == KIND_LIST:
                self.ctree[i] = self.seq.new_tree(self.ckind[i] == KIND_TEXT)
            if self.ckind[i] == KIND_MAP:
                lc_map_free(&self.maps[self.ctree[i]])
        # the fresh trees hold nothing: the tracker starts at the empty version
        self.ensure_tvv()
        memset(self.tvv, 0, <size_t>self.tvv_cap * sizeof(int32_t))
        self.n_tfront = 0
        self.tracker_at_head = False
        for i in range(self.log.n_changes):
            ch = &self.log.changes[i]
            self.move_tracker_to_change(&self.log.deps[ch.deps_off], ch.deps_len, ch.peer, ch.counter)
            ch = &self.log.changes[i]
            self.apply_change_ops(ch.ops_off, ch.ops_len, ch.peer, ch.counter, ch.lamport)
        self.move_tracker_to_head()
        return 0

    # ------------------------------------------------------------------ values

    cdef object text_value(self, uint32_t c):
        return self.text_range(c, 0, self.seq.visible_len(self.ctree[c]))

    cdef object text_range(self, uint32_t c, int64_t a, int64_t b):
        """Code points [a, b) of a text as str (the caller checks the range)."""
        cdef uint32_t t = self.ctree[c]
        cdef int64_t n = b - a
        cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
        if buf == NULL:
            raise MemoryError()
        try:
            n = copy_visible(self.seq, t, a, b, buf)
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n)
        finally:
            free(buf)

    cdef list list_slots(self, uint32_t c):
        cdef uint32_t t = self.ctree[c]
        cdef int64_t n = self.seq.visible_len(t), i
        cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
        if buf == NULL:
            raise MemoryError()
        try:
            copy_visible(self.seq, t, 0, n, buf)
            return [buf[i] for i in range(n)]
        finally:
            free(buf)

    cdef object value_of(self, uint32_t c, bint deep):
        """The value of container `c`; child containers as ContainerIDs unless `deep`."""
        cdef int kind = self.ckind[c]
        cdef list values = self.log.values
        if kind == KIND_TEXT:
            return self.text_value(c)
        if kind == KIND_COUNTER:
            return self.ccounter[c]
        if kind == KIND_LIST:
            return [self._resolve(values[s], deep) for s in self.list_slots(c)]
        return {k: self._resolve(values[slot], deep) for k, slot in self.map_live(c)}

    def _resolve(self, v, bint deep):
        if isinstance(v, _types.ContainerID):
            if deep:
                return self.value_of(self.cid_index[v], True)
            return v
        return copy_value(v)

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
            self._commit()
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
            return wrapper(KIND_TEXT)(self, self.root_index(obj, KIND_TEXT))
        finally:
            doc_release(self)

    def get_list(self, obj):
        """The List container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_LIST)(self, self.root_index(obj, KIND_LIST))
        finally:
            doc_release(self)

    def get_map(self, obj):
        """The Map container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_MAP)(self, self.root_index(obj, KIND_MAP))
        finally:
            doc_release(self)

    def get_counter(self, obj):
        """The Counter container `obj` (a root name, a ContainerID or its string form)."""
        doc_acquire(self)
        try:
            return wrapper(KIND_COUNTER)(self, self.root_index(obj, KIND_COUNTER))
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
                v = self.value_of(r, True)
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
                keys = self.map_all_keys(<uint32_t>self.cid_index[cid])
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
            self._commit()
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
            return wrapper(kind)(self, self.root_index(obj, kind))
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
            self._commit()
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
                fork.show_root(fork.root_index(name, kind))
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
        self._commit()
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
            self._commit()
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
            self._commit()
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
            if self.ckind[i] == KIND_TEXT or self.ckind[i] == KIND_LIST:
                self.seq.check(self.ctree[i])
            elif self.ckind[i] == KIND_MAP:
                if lc_map_count_live(&self.maps[self.ctree[i]]) != self.maps[self.ctree[i]].live:
                    raise AssertionError("cached count of live map keys is stale")
        self.ensure_tvv()
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
