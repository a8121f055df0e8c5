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

EphemeralStore is compiled (ephemeral_store.pyx: a server merges and hands out every
presence message); Awareness, loro's legacy type without callbacks, is here.
"""
import threading
import time

from loro_c import ephemeral_codec as _pc
from loro_c._doc import copy_value
from loro_c._types import _u64
from loro_c.ephemeral_store import EphemeralStore, EphemeralStoreEvent, clock_arg, timeout_arg

__all__ = ["EphemeralStore", "EphemeralStoreEvent", "Awareness", "AwarenessPeerUpdate",
           "PeerInfo"]

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_U64 = 1 << 64
_I32_WRAP = 1 << 32

def _now_ms():
    return time.time_ns() // 1_000_000


def _elapsed(now, ts):
    """now - ts as Loro computes it: wrapping signed 64-bit."""
    d = now - ts
    if _I64_MIN <= d <= _I64_MAX:
        return d
    d %= _U64
    return d - _U64 if d > _I64_MAX else d


def _clock_fn(clock):
    if clock_arg(clock) is None:
        return _now_ms
    return lambda: int(clock())


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
        self._timeout = timeout_arg(timeout)
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
