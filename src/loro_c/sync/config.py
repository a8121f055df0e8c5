"""The sync server's settings and its hooks (authentication, rate limits)."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, List, Optional, Union

from . import protocol as P

if TYPE_CHECKING:
    from .session import Session

# authenticate(room_id, crdt, auth) -> "read" | "write" | None (reject); may be async.
AuthHook = Callable[[str, str, bytes], Union[Optional[str], Awaitable[Optional[str]]]]
# allow_update(session, room_id, crdt, nbytes) -> bool; False answers Ack(rate_limited).
RateHook = Callable[["Session", str, str, int], bool]


@dataclass
class ServerConfig:
    fragment_timeout: float = P.DEFAULT_FRAGMENT_TIMEOUT
    # Largest reassembled update accepted from a client.
    max_update_size: int = 64 * 1024 * 1024
    # Per-room quota on stored bytes (compacted blob + log); None: unlimited.
    max_room_bytes: Optional[int] = None
    # Rooms without members stay loaded this long (seconds) before unloading.
    idle_unload: float = 30.0
    # Compact a room's log once it holds this many updates.
    compact_after: int = 512
    # Outgoing messages queued for one connection before it is dropped as too slow.
    send_queue_limit: int = 8192
    # %EPS: entries of the room's EphemeralStore expire this long (ms) after their
    # last update (Loro's reference server uses 10 s).
    eps_timeout_ms: int = 10_000
    authenticate: Optional[AuthHook] = None
    allow_update: Optional[RateHook] = None
    # How long an update waits, unacked, for an unreachable shared store or broker
    # before its room is reset (RoomError rejoin_suggested).
    outage_timeout: float = 30.0


class UpdateRateLimit:
    """An ``allow_update`` hook: a token bucket per connection, ``rate`` update batches
    per second on average with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: "weakref.WeakKeyDictionary[Session, List[float]]" = weakref.WeakKeyDictionary()

    def __call__(self, session: "Session", room_id: str, crdt: str, nbytes: int) -> bool:
        now = self.clock()
        b = self._buckets.get(session)
        if b is None:
            b = self._buckets[session] = [float(self.burst), now]
        b[0] = min(float(self.burst), b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if b[0] < 1.0:
            return False
        b[0] -= 1.0
        return True
