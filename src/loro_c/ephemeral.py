"""Presence: EphemeralStore and the legacy Awareness, with Loro's semantics and bytes.

An EphemeralStore is a last-write-wins map of keys to LoroValues in which every entry
carries the wall-clock time (ms) of the write that produced it. Messages (`encode`,
`encode_all`, the bytes handed to `subscribe_local_updates` callbacks) carry those
timestamps, and `apply` keeps an incoming entry only if it is newer than the one held
(equal timestamps keep the held entry) and not already expired; a deletion travels as an
entry without a value. An entry expires `timeout` ms after its timestamp: expired entries
are left out of messages, and `remove_outdated` drops them. Local writes always win
locally, whatever timestamp the held entry had. Like Loro, time differences are computed
in wrapping 64-bit arithmetic, so peers' clocks should roughly agree.

Callbacks never run under the store's lock: events are queued while it is held and
delivered when the public call has finished, one at a time in order, by the thread that
is delivering (a callback may use the store; what it causes is delivered after it
returns). If callbacks raise, every queued event still reaches every subscriber and the
call raises CallbackError from the first exception (loro raises a PanicException).
"""
import threading
import time

from loro_c import ephemeral_codec as _pc
from loro_c._doc import Subscription, copy_value
from loro_c._types import _u64, lossy_utf8
from loro_c.errors import CallbackError, LoroTypeError, LoroValueError

__all__ = ["EphemeralStore", "EphemeralStoreEvent", "Awareness", "AwarenessPeerUpdate",
           "PeerInfo"]

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_U64 = 1 << 64
_I32_WRAP = 1 << 32

# local-update bytes and store events share one queue, so they arrive in call order
_LOCAL, _EVENT = 0, 1


def _now_ms():
    return time.time_ns() // 1_000_000


def _elapsed(now, ts):
    """now - ts as Loro computes it: wrapping signed 64-bit."""
    d = now - ts
    if _I64_MIN <= d <= _I64_MAX:
        return d
    d %= _U64
    return d - _U64 if d > _I64_MAX else d


def _timeout_arg(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise LoroTypeError(f"timeout must be an int (milliseconds), not {type(timeout).__name__}")
    if not _I64_MIN <= timeout <= _I64_MAX:
        raise OverflowError("argument 'timeout': int too big to convert")
    return timeout


def _key_arg(key):
    if type(key) is not str:
        if not isinstance(key, str):
            raise LoroTypeError(f"key must be str, not {type(key).__name__}")
        key = str.__str__(key)  # a plain str, whatever a subclass's __str__ says
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError("key is not valid Unicode (it has a lone surrogate)") from None
    return key


def _lossy(v):
    """`v` with each str (dict keys too) as loro takes it from Python (_types.lossy_utf8)."""
    if isinstance(v, str):
        return lossy_utf8(v)
    if isinstance(v, list):
        return [_lossy(x) for x in v]
    if isinstance(v, dict):
        return {_lossy(k): _lossy(x) for k, x in v.items()}
    return v


def _clock_fn(clock):
    if clock is None:
        return _now_ms
    if not callable(clock):
        raise LoroTypeError("clock must be a callable returning milliseconds")
    return lambda: int(clock())


class EphemeralStoreEvent:
    """What one store operation changed: `by` is "Local" (set/delete), "Import" (apply) or
    "Timeout" (remove_outdated); `added`, `updated`, `removed` list the keys."""
    __slots__ = ("by", "added", "updated", "removed")

    def __init__(self, by, added, updated, removed):
        self.by = by
        self.added = list(added)
        self.updated = list(updated)
        self.removed = list(removed)

    def __eq__(self, other):
        if not isinstance(other, EphemeralStoreEvent):
            return NotImplemented
        return (self.by, self.added, self.updated, self.removed) == \
               (other.by, other.added, other.updated, other.removed)

    __hash__ = None  # type: ignore[assignment]  # mutable value type, as in loro

    def __repr__(self):
        return (f"EphemeralStoreEvent(by={self.by!r}, added={self.added!r}, "
                f"updated={self.updated!r}, removed={self.removed!r})")


class _Deliverer:
    """The queue of a store's callbacks (shared logic; see the module docstring)."""

    def _init_delivery(self):
        self._lock = threading.Lock()
        self._queue = []
        self._deliverer = 0
        self._local_subs = []
        self._subs = []

    def _deliver(self):
        # whoever queues does so under the lock and then calls this: an unlocked look is enough
        if not self._queue:
            return
        first = None
        lock = self._lock
        lock.acquire()
        if self._deliverer:
            # another thread, or this one further up inside a callback, is draining the
            # queue: it delivers these events too, after the current one, in order
            lock.release()
            return
        self._deliverer = threading.get_ident()
        try:
            while self._queue:
                kind, payload = self._queue.pop(0)
                subs = [s for s in (self._local_subs if kind == _LOCAL else self._subs) if s.active]
                lock.release()
                try:
                    for sub in subs:
                        if not sub.active:
                            continue
                        arg = payload if kind == _LOCAL else EphemeralStoreEvent(*payload)
                        try:
                            if sub.callback(arg) is False:
                                sub.unsubscribe()
                        except Exception as e:
                            if first is None:
                                first = e
                finally:
                    lock.acquire()
        finally:
            self._deliverer = 0
            lock.release()
        if first is not None:
            err = CallbackError(f"an ephemeral-store callback raised {type(first).__name__}: "
                                f"{first} (the operation itself completed)")
            raise err from first


class EphemeralStore(_Deliverer):
    """A last-write-wins key-value store for presence data (cursors, selections, names)
    whose entries expire `timeout` ms after their last write; messages interoperate with
    loro's and loro-crdt's EphemeralStore. Thread-safe.

    `clock` (a loro_c extension, keyword only) returns the time in ms; the default is the
    wall clock, which peers exchanging messages must share."""

    def __init__(self, timeout, *, clock=None):
        self._timeout = _timeout_arg(timeout)
        self._clock = _clock_fn(clock)
        # key -> (value, encoded value, timestamp); value and encoding are None for a
        # deletion (a Python None value is encoded, so it is never confused with one)
        self._states = {}
        self._init_delivery()

    @property
    def timeout(self):
        """The timeout in milliseconds (read-only)."""
        return self._timeout

    # -- local writes --------------------------------------------------------------

    def set(self, key, value):
        """Set `key` to a LoroValue (None, bool, int, float, str, bytes, list, dict,
        ContainerID) with the current time; raises LoroTypeError for other values."""
        key = _key_arg(key)
        try:
            raw = _pc.encode_value(value)
        except LoroValueError:
            # a str with a lone surrogate: stored in loro's lossy form, as a document's
            # values are (loro_c._containers.loro_str)
            value = _lossy(value)
            raw = _pc.encode_value(value)
        self._write(key, _pc.copy_value(value), raw)

    def delete(self, key):
        """Delete `key` (peers learn it from the deletion entry this writes)."""
        self._write(_key_arg(key), None, None)

    def _write(self, key, value, raw):
        with self._lock:
            now = self._clock()
            old = self._states.get(key)
            self._states[key] = (value, raw, now)
            if self._local_subs:
                self._queue.append((_LOCAL, self._encode_key(key, now)))
            if self._subs:
                if old is not None:
                    ev = ((), (key,), ()) if raw is not None else ((), (), (key,))
                elif raw is not None:
                    ev = ((key,), (), ())
                else:
                    ev = None
                if ev is not None:
                    self._queue.append((_EVENT, ("Local",) + ev))
        self._deliver()

    # -- reads ---------------------------------------------------------------------

    def get(self, key):
        """The value of `key`, or None when it is absent or deleted (expired entries are
        still returned until remove_outdated drops them, as in Loro)."""
        key = _key_arg(key)
        with self._lock:
            st = self._states.get(key)
            return None if st is None else copy_value(st[0])

    def get_all_states(self):
        """A dict of every key that has a value."""
        with self._lock:
            return {k: copy_value(st[0]) for k, st in self._states.items() if st[1] is not None}

    def keys(self):
        """The keys that have a value."""
        with self._lock:
            return [k for k, st in self._states.items() if st[1] is not None]

    # -- messages ------------------------------------------------------------------

    def _encode_key(self, key, now):
        st = self._states.get(key)
        if st is None:
            return _pc.encode_entries([])
        if _elapsed(now, st[2]) > self._timeout:
            return b""  # what Loro sends for an expired key: not even an empty list
        return _pc.encode_entries([(key, st[1], st[2])])

    def encode(self, key):
        """A message holding `key`'s entry (its value or its deletion). An absent key gives
        an empty message, an expired one empty bytes (as Loro)."""
        key = _key_arg(key)
        with self._lock:
            return self._encode_key(key, self._clock())

    def encode_all(self):
        """A message holding every entry that has not expired, deletions included."""
        with self._lock:
            now, timeout = self._clock(), self._timeout
            return _pc.encode_entries([(k, st[1], st[2]) for k, st in self._states.items()
                                       if _elapsed(now, st[2]) <= timeout])

    def apply(self, data):
        """Merge a message from another store: an entry is taken if it has not expired and
        is newer than the one held. Subscribers get an "Import" event (also when nothing
        changed, as in Loro). Malformed bytes raise DecodeError and change nothing."""
        entries = _pc.decode_entries(data)
        added, updated, removed = [], [], []
        with self._lock:
            now, timeout, states = self._clock(), self._timeout, self._states
            for key, val, ts in entries:
                if _elapsed(now, ts) > timeout:
                    continue
                old = states.get(key)
                if old is not None and old[2] >= ts:
                    continue
                if val is None:
                    states[key] = (None, None, ts)
                    if old is not None:
                        removed.append(key)
                else:
                    states[key] = (val[0], val[1], ts)
                    (updated if old is not None else added).append(key)
            if self._subs:
                self._queue.append((_EVENT, ("Import", added, updated, removed)))
        self._deliver()

    def remove_outdated(self):
        """Drop expired entries; subscribers get a "Timeout" event listing the dropped keys
        that had a value (also when there are none, as in Loro)."""
        removed = []
        with self._lock:
            now, timeout = self._clock(), self._timeout
            gone = [k for k, st in self._states.items() if _elapsed(now, st[2]) > timeout]
            for k in gone:
                if self._states.pop(k)[1] is not None:
                    removed.append(k)
            if self._subs:
                self._queue.append((_EVENT, ("Timeout", (), (), removed)))
        self._deliver()

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


# ---------------------------------------------------------------------- Awareness

class PeerInfo:
    """A peer's entry in an Awareness: its state, the counter of its last write and the
    local time (ms) at which this Awareness received it."""
    __slots__ = ("state", "counter", "timestamp")

    def __init__(self, state, counter, timestamp):
        self.state = state
        self.counter = counter
        self.timestamp = timestamp

    def __repr__(self):
        return (f"PeerInfo(state={self.state!r}, counter={self.counter}, "
                f"timestamp={self.timestamp})")


class AwarenessPeerUpdate:
    """What Awareness.apply changed: the peers it `updated` and the ones it `added`."""
    __slots__ = ("updated", "added")

    def __init__(self, updated, added):
        self.updated = updated
        self.added = added

    def __repr__(self):
        return f"AwarenessPeerUpdate(updated={self.updated!r}, added={self.added!r})"


class Awareness:
    """Loro's legacy presence type (deprecated there in favour of EphemeralStore): one
    state per peer, ordered by a per-peer counter, expiring `timeout` ms after it was last
    received. Messages interoperate with loro's Awareness. Thread-safe; no callbacks.
    `clock` is as in EphemeralStore."""

    def __init__(self, peer, timeout, *, clock=None):
        self._peer = _u64(peer, "peer")
        self._timeout = _timeout_arg(timeout)
        self._clock = _clock_fn(clock)
        self._peers = {}  # peer -> [state, encoded state, counter, timestamp]
        self._lock = threading.Lock()

    @property
    def peer(self):
        """This peer's id."""
        return self._peer

    @property
    def all_states(self):
        """Every peer's PeerInfo, expired ones included until remove_outdated."""
        with self._lock:
            return {p: PeerInfo(copy_value(e[0]), e[2], e[3]) for p, e in self._peers.items()}

    @property
    def local_state(self):
        """This peer's state (None if never set); setting it bumps the counter."""
        with self._lock:
            e = self._peers.get(self._peer)
            return None if e is None else copy_value(e[0])

    @local_state.setter
    def local_state(self, value):
        raw = _pc.encode_value(value)
        value = _pc.copy_value(value)
        with self._lock:
            e = self._peers.get(self._peer)
            counter = 0 if e is None else e[2]
            # Rust's i32 `+= 1` wraps in release builds
            counter = (counter + 1 + (1 << 31)) % _I32_WRAP - (1 << 31)
            self._peers[self._peer] = [value, raw, counter, self._clock()]

    def _encode(self, peers):
        now = self._clock()
        out = []
        for p in peers:
            e = self._peers.get(p)
            if e is not None and _elapsed(now, e[3]) <= self._timeout:
                out.append((p, e[2], e[1]))
        return _pc.encode_peers(out)

    def encode(self, peers):
        """A message with the states of `peers` (absent or expired ones left out)."""
        ids = [_u64(p, "peers") for p in peers]
        with self._lock:
            return self._encode(ids)

    def encode_all(self):
        """A message with every state that has not expired."""
        with self._lock:
            return self._encode(list(self._peers))

    def apply(self, encoded_peers_info):
        """Merge a message: a peer's state is taken when its counter is higher than the one
        held (this peer's own held state is never replaced). Returns AwarenessPeerUpdate.
        Malformed bytes raise DecodeError and change nothing (loro panics)."""
        infos = _pc.decode_peers(encoded_peers_info)
        updated, added = [], []
        with self._lock:
            now = self._clock()
            for peer, counter, (value, raw) in infos:
                e = self._peers.get(peer)
                if e is not None and (e[2] >= counter or peer == self._peer):
                    continue
                self._peers[peer] = [value, raw, counter, now]
                (updated if e is not None else added).append(peer)
        return AwarenessPeerUpdate(updated, added)

    def remove_outdated(self):
        """Drop the states received more than `timeout` ms ago; returns their peers."""
        with self._lock:
            now = self._clock()
            gone = [p for p, e in self._peers.items() if _elapsed(now, e[3]) > self._timeout]
            for p in gone:
                del self._peers[p]
            return gone

    def __repr__(self):
        return f"Awareness(peer={self._peer}, timeout={self._timeout})"
