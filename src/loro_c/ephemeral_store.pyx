# cython: language_level=3, boundscheck=False, wraparound=False
"""EphemeralStore (presence), compiled: loro_c.ephemeral describes its semantics and keeps
the legacy Awareness. A sync server applies every presence message of every room and hands
each subscriber an event per message, so a message's merge, its event and the delivery run
here without a Python frame of their own.

State: key -> (value, its postcard bytes, timestamp), value and bytes None for a deletion.
An entry a message brought keeps only its bytes (value ENCODED), checked whole by
scan_entries and decoded when read: most presence entries are replaced before anyone reads
them, and building a cursor's dict was most of an apply.
Callbacks never run under the store's lock: events are queued while it is held and the
thread that is delivering hands them out in order after the call (see _hand_out)."""
cimport cython
from libc.stdint cimport int64_t, uint64_t
from cpython.pythread cimport (PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_acquire_lock, PyThread_release_lock,
                               PyThread_get_thread_ident, WAIT_LOCK, NOWAIT_LOCK)
from loro_c._doc cimport call_subscribers, lc_lock_enter, lc_lock_leave

cdef extern from "loro_c/wallclock.h":
    int64_t lc_wall_ms() nogil
from loro_c.ephemeral_codec cimport read_entries


from loro_c import ephemeral_codec as _pc
from loro_c._doc import Subscription, copy_value
from loro_c._types import lossy_utf8
from loro_c.errors import CallbackError, LoroTypeError, LoroValueError

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL


cdef object _encode_value = _pc.encode_value
cdef object _copy_in = _pc.copy_value
cdef object _encode_entries = _pc.encode_entries
cdef object _decode_value = _pc.decode_value
cdef object ENCODED = object()     # the value of an entry held as its bytes alone
cdef str _LOCAL_BY = "Local", _IMPORT_BY = "Import", _TIMEOUT_BY = "Timeout"
cdef object _U64_MASK = (1 << 64) - 1


cdef inline int64_t elapsed(uint64_t now, object ts):
    """now - ts as loro computes it: wrapping signed 64-bit."""
    return <int64_t>(now - <uint64_t>(<int64_t>ts))


cdef str key_arg(object key):
    """`key` as a plain str; LoroTypeError for a non-str, LoroValueError for a lone
    surrogate (its UTF-8 is kept by the str, so later encodes cost nothing)."""
    cdef Py_ssize_t n
    if type(key) is not str:
        if not isinstance(key, str):
            raise LoroTypeError(f"key must be str, not {type(key).__name__}")
        key = str.__str__(key)  # a plain str, whatever a subclass's __str__ says
    try:
        PyUnicode_AsUTF8AndSize(key, &n)
    except UnicodeEncodeError:
        raise LoroValueError("key is not valid Unicode (it has a lone surrogate)") from None
    return key


def timeout_arg(timeout):
    """`timeout` (ms) checked as loro takes it: an int that fits in i64."""
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise LoroTypeError(f"timeout must be an int (milliseconds), not {type(timeout).__name__}")
    if not -(1 << 63) <= timeout < (1 << 63):
        raise OverflowError("argument 'timeout': int too big to convert")
    return timeout


def clock_arg(clock):
    """`clock` checked: None (the wall clock) or a callable returning milliseconds."""
    if clock is not None and not callable(clock):
        raise LoroTypeError("clock must be a callable returning milliseconds")
    return clock


def _lossy(v):
    """`v` with each str (dict keys too) as loro takes it from Python (_types.lossy_utf8)."""
    if isinstance(v, str):
        return lossy_utf8(v)
    if isinstance(v, list):
        return [_lossy(x) for x in v]
    if isinstance(v, dict):
        return {_lossy(k): _lossy(x) for k, x in v.items()}
    return v


@cython.no_gc
@cython.auto_pickle(False)
cdef class EphemeralStoreEvent:
    """What one store operation changed: `by` is "Local" (set/delete), "Import" (apply) or
    "Timeout" (remove_outdated); `added`, `updated`, `removed` list the keys. As loro's,
    it is read-only and each read of a list gives a new one (it holds tuples of str, so
    the cycle collector need not track it: a server keeps thousands)."""
    cdef readonly str by
    cdef tuple _added, _updated, _removed

    def __init__(self, by, added, updated, removed):
        self.by = by
        self._added = tuple(added)
        self._updated = tuple(updated)
        self._removed = tuple(removed)

    @property
    def added(self):
        return list(self._added)

    @property
    def updated(self):
        return list(self._updated)

    @property
    def removed(self):
        return list(self._removed)

    def __eq__(self, other):
        if not isinstance(other, EphemeralStoreEvent):
            return NotImplemented
        cdef EphemeralStoreEvent o = other
        return (self.by, self._added, self._updated, self._removed) == \
               (o.by, o._added, o._updated, o._removed)

    __hash__ = None  # as loro's

    def __repr__(self):
        return (f"EphemeralStoreEvent(by={self.by!r}, added={self.added!r}, "
                f"updated={self.updated!r}, removed={self.removed!r})")


cdef EphemeralStoreEvent store_event(str by, tuple added, tuple updated, tuple removed):
    """An event of these keys, without __init__'s checks."""
    cdef EphemeralStoreEvent e = EphemeralStoreEvent.__new__(EphemeralStoreEvent)
    e.by = by
    e._added = added
    e._updated = updated
    e._removed = removed
    return e


cdef object value_of(tuple st):
    """A fresh copy of an entry's value."""
    return _decode_value(st[1]) if st[0] is ENCODED else copy_value(st[0])


cdef list _NONE = []


cdef class EphemeralStore:
    """A last-write-wins key-value store for presence data (cursors, selections, names)
    whose entries expire `timeout` ms after their last write; messages interoperate with
    loro's and loro-crdt's EphemeralStore. Thread-safe.

    `clock` (a loro_c extension, keyword only) returns the time in ms; the default is the
    wall clock, which peers exchanging messages must share."""
    cdef int64_t _timeout
    cdef object _clock          # None: the wall clock
    cdef dict _states
    # the document's lock scheme (lock.h): `_lock_count` its atomic fast path, `_waiters`
    # the semaphore a contended lock() blocks on (a PyThread lock's own acquire reads the
    # clock every time: a third of an uncontended apply)
    cdef long _lock_count
    cdef PyThread_type_lock _waiters
    cdef list _queue            # (True for local-update bytes, payload), in call order
    cdef long _deliverer        # the thread delivering the queue, or 0
    cdef list _local_subs, _subs
    cdef object __weakref__

    def __cinit__(self):
        self._waiters = PyThread_allocate_lock()
        if self._waiters == NULL:
            raise MemoryError()
        # taken from the start: a waiter blocks on it until an unlock posts it
        PyThread_acquire_lock(self._waiters, NOWAIT_LOCK)

    def __dealloc__(self):
        if self._waiters != NULL:
            PyThread_free_lock(self._waiters)

    cdef int lock(self) except -1:
        """Take the store's lock; while another thread holds it, wait without the GIL (the
        holder may need it to finish)."""
        if not lc_lock_enter(&self._lock_count):
            with nogil:
                PyThread_acquire_lock(self._waiters, WAIT_LOCK)
        return 0

    cdef void unlock(self) noexcept:
        if lc_lock_leave(&self._lock_count):
            PyThread_release_lock(self._waiters)     # hand the lock to one waiter

    def __init__(self, timeout, *, clock=None):
        self._timeout = timeout_arg(timeout)
        self._clock = clock_arg(clock)
        self._states = {}
        self._queue = []
        self._deliverer = 0
        self._local_subs = []
        self._subs = []

    @property
    def timeout(self):
        """The timeout in milliseconds (read-only)."""
        return self._timeout

    cdef uint64_t now(self) except? 0:
        """The clock's time in ms, as the u64 bits loro's i64 arithmetic wraps over."""
        if self._clock is None:
            return <uint64_t>lc_wall_ms()
        return <uint64_t>(int(self._clock()) & _U64_MASK)

    # -- local writes --------------------------------------------------------------

    def set(self, key, value):
        """Set `key` to a LoroValue (None, bool, int, float, str, bytes, list, dict,
        ContainerID) with the current time; raises LoroTypeError for other values."""
        key = key_arg(key)
        try:
            raw = _encode_value(value)
        except LoroValueError:
            # a str with a lone surrogate: stored in loro's lossy form, as a document's
            # values are (loro_c._containers.loro_str)
            value = _lossy(value)
            raw = _encode_value(value)
        self._write(key, _copy_in(value), raw)

    def delete(self, key):
        """Delete `key` (peers learn it from the deletion entry this writes)."""
        self._write(key_arg(key), None, None)

    cdef int _write(self, str key, object value, object raw) except -1:
        cdef uint64_t now
        self.lock()
        try:
            now = self.now()
            old = self._states.get(key)
            ts = <int64_t>now
            self._states[key] = (value, raw, ts)
            if self._local_subs:
                self._queue.append((True, self._encode_key(key, now)))
            if self._subs:
                if old is not None:
                    ev = store_event(_LOCAL_BY, (), (key,), ()) if raw is not None else \
                        store_event(_LOCAL_BY, (), (), (key,))
                    self._queue.append((False, ev))
                elif raw is not None:
                    self._queue.append((False, store_event(_LOCAL_BY, (key,), (), ())))
        except BaseException:
            self.unlock()
            raise
        return self._hand_out(None)

    # -- reads ---------------------------------------------------------------------

    def get(self, key):
        """The value of `key`, or None when it is absent or deleted (expired entries are
        still returned until remove_outdated drops them, as in Loro)."""
        key = key_arg(key)
        self.lock()
        try:
            st = self._states.get(key)
            return None if st is None else value_of(<tuple>st)
        finally:
            self.unlock()

    def get_all_states(self):
        """A dict of every key that has a value."""
        self.lock()
        try:
            return {k: value_of(<tuple>st) for k, st in self._states.items()
                    if (<tuple>st)[1] is not None}
        finally:
            self.unlock()

    def keys(self):
        """The keys that have a value."""
        self.lock()
        try:
            return [k for k, st in self._states.items() if (<tuple>st)[1] is not None]
        finally:
            self.unlock()

    # -- messages ------------------------------------------------------------------

    cdef bytes _encode_key(self, str key, uint64_t now):
        st = self._states.get(key)
        if st is None:
            return _encode_entries(_NONE)
        if elapsed(now, (<tuple>st)[2]) > self._timeout:
            return b""  # what Loro sends for an expired key: not even an empty list
        return _encode_entries([(key, (<tuple>st)[1], (<tuple>st)[2])])

    def encode(self, key):
        """A message holding `key`'s entry (its value or its deletion). An absent key gives
        an empty message, an expired one empty bytes (as Loro)."""
        key = key_arg(key)
        self.lock()
        try:
            return self._encode_key(key, self.now())
        finally:
            self.unlock()

    def encode_all(self):
        """A message holding every entry that has not expired, deletions included."""
        cdef uint64_t now
        self.lock()
        try:
            now = self.now()
            return _encode_entries([(k, (<tuple>st)[1], (<tuple>st)[2])
                                    for k, st in self._states.items()
                                    if elapsed(now, (<tuple>st)[2]) <= self._timeout])
        finally:
            self.unlock()

    def apply(self, data):
        """Merge a message from another store: an entry is taken if it has not expired and
        is newer than the one held. Subscribers get an "Import" event (also when nothing
        changed, as in Loro). Malformed bytes raise DecodeError and change nothing."""
        cdef uint64_t now
        cdef list entries = read_entries(data, False)     # (scan_entries)
        cdef list added = [], updated = [], removed = []
        cdef dict states = self._states
        cdef tuple entry
        self.lock()
        try:
            now = self.now()
            for entry in entries:
                key, ts = entry[0], entry[2]
                if elapsed(now, ts) > self._timeout:
                    continue
                old = states.get(key)
                if old is not None and (<tuple>old)[2] >= ts:
                    continue
                if entry[1] is None:
                    states[key] = (None, None, ts)
                    if old is not None:
                        removed.append(key)
                else:
                    states[key] = (ENCODED, entry[1], ts)
                    (updated if old is not None else added).append(key)
            ev = (store_event(_IMPORT_BY, tuple(added), tuple(updated), tuple(removed))
                  if self._subs else None)
        except BaseException:
            self.unlock()
            raise
        self._hand_out(ev)

    def remove_outdated(self):
        """Drop expired entries; subscribers get a "Timeout" event listing the dropped keys
        that had a value (also when there are none, as in Loro)."""
        cdef uint64_t now
        cdef list removed = []
        self.lock()
        try:
            now = self.now()
            gone = [k for k, st in self._states.items()
                    if elapsed(now, (<tuple>st)[2]) > self._timeout]
            for k in gone:
                if (<tuple>self._states.pop(k))[1] is not None:
                    removed.append(k)
            ev = store_event(_TIMEOUT_BY, (), (), tuple(removed)) if self._subs else None
        except BaseException:
            self.unlock()
            raise
        self._hand_out(ev)

    # -- subscriptions -------------------------------------------------------------

    def subscribe_local_updates(self, callback):
        """Call `callback(bytes)` after each local set/delete with the message to send to
        peers. Returning False unsubscribes. Returns a Subscription: dropping it
        unsubscribes, `detach()` keeps the callback for the store's lifetime."""
        if not callable(callback):
            raise LoroValueError("callback must be callable")
        return Subscription(self._local_subs, callback)

    def subscribe(self, callback):
        """Call `callback(EphemeralStoreEvent)` after each set/delete/apply/remove_outdated.
        Returning False unsubscribes. Returns a Subscription (see
        subscribe_local_updates)."""
        if not callable(callback):
            raise LoroValueError("callback must be callable")
        return Subscription(self._subs, callback)

    def __repr__(self):
        return f"EphemeralStore(timeout={self._timeout}, keys={self.keys()!r})"

    cdef int _hand_out(self, object event) except -1:
        """Called holding the lock, which it releases: hand `event` (None: none) and the
        queue to the subscribers, in order, unless another thread, or this one further up
        inside a callback, is delivering (then they are queued for it). Events are queued
        or handed out under the lock that made them, so every subscriber sees them in the
        order the store changed; a lone event goes out without passing through the queue."""
        cdef object first = None, payload = event
        cdef bint local = False
        cdef list subs
        if self._deliverer or (payload is not None and self._queue):
            if payload is not None:
                try:
                    self._queue.append((False, payload))
                except BaseException:   # (out of memory: the lock must not stay held)
                    self.unlock()
                    raise
            if self._deliverer:
                self.unlock()
                return 0
            payload = None
        if payload is None and not self._queue:
            self.unlock()
            return 0
        self._deliverer = PyThread_get_thread_ident()
        try:
            while True:
                if payload is None:
                    if not self._queue:
                        break
                    local, payload = self._queue.pop(0)
                # (a copy: a callback may unsubscribe; call_subscribers skips inactive ones)
                subs = list(self._local_subs) if local else list(self._subs)
                self.unlock()
                try:
                    raised = call_subscribers(subs, payload)
                    if first is None:
                        first = raised
                finally:
                    payload = None
                    self.lock()
        finally:
            self._deliverer = 0
            self.unlock()
        if first is not None:
            err = CallbackError(f"an ephemeral-store callback raised {type(first).__name__}: "
                                f"{first} (the operation itself completed)")
            raise err from first
        return 0
