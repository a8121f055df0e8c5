"""Fan-out of room updates between server processes over Redis Pub/Sub.

Every process subscribes to the channel of each room it has loaded and publishes the
updates it accepts there; the others import them and relay them to their own
clients.  Pub/Sub rather than Streams, because the store (PostgreSQL) is already the
durable, ordered log: the broker only has to be fast and may drop things, and a
process that was disconnected catches up from the store by version vector, which it
has to be able to do anyway (a Redis restart empties a stream too, unless Redis
itself is made durable).  Streams would keep a second copy of every update in Redis
memory that needs trimming, and consumers would poll one stream per room.
docs/DEPLOYMENT.md has the longer argument.

A message is ``origin (8 bytes) | batch id (8) | count (u32) | (length (u32) | update)
* count``; the origin lets a process skip its own messages, the batch id is the one
the sending client chose, relayed unchanged as a single-process server does.  A count of
``0xFFFFFFFF`` marks a *version beacon* instead: the rest is an encoded version vector,
the version a process loaded from the store.  A process that died between storing and
publishing leaves updates only the store has; the beacon tells the processes that had
the room loaded before to catch up from the store.  Delivery may duplicate or reorder:
importing a CRDT update twice or early is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import time
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Set

from ..errors import LoroError

__all__ = ["RedisBroker", "BrokerUnavailable", "encode_updates", "decode_updates",
           "encode_version", "decode_message"]

log = logging.getLogger("loro_c.sync.broker")

_U32 = struct.Struct(">I")


class BrokerUnavailable(LoroError, ConnectionError):
    """The broker cannot be reached right now; nothing was published."""


def encode_updates(origin: bytes, batch_id: bytes, updates: Sequence[bytes]) -> bytes:
    parts = [origin, batch_id, _U32.pack(len(updates))]
    for u in updates:
        parts.append(_U32.pack(len(u)))
        parts.append(bytes(u))
    return b"".join(parts)


_BEACON = 0xFFFFFFFF
_NO_BATCH = bytes(8)


def encode_version(origin: bytes, version: bytes) -> bytes:
    """A version beacon: ``version`` is an encoded :class:`VersionVector`."""
    return b"".join((origin, _NO_BATCH, _U32.pack(_BEACON), bytes(version)))


def decode_message(data: bytes):
    """(origin, batch id, updates, version): an update batch has ``version`` None, a
    version beacon has no updates.  Raises LoroError on a malformed message."""
    if len(data) >= 20 and _U32.unpack_from(data, 16)[0] == _BEACON:
        return bytes(data[:8]), bytes(data[8:16]), [], bytes(data[20:])
    return (*decode_updates(data), None)


def decode_updates(data: bytes):
    """(origin, batch id, [update, ...]); raises LoroError on a malformed message."""
    try:
        origin, batch_id = data[:8], data[8:16]
        (n,), pos = _U32.unpack_from(data, 16), 20
        if n == _BEACON:
            raise ValueError("a version beacon, not an update batch")
        out = []
        for _ in range(n):
            (ln,) = _U32.unpack_from(data, pos)
            pos += 4
            if pos + ln > len(data):
                raise ValueError("truncated")
            out.append(bytes(data[pos:pos + ln]))
            pos += ln
        if pos != len(data) or len(origin) != 8:
            raise ValueError("trailing bytes")
        return origin, batch_id, out
    except (struct.error, ValueError) as e:
        raise LoroError(f"malformed broker message: {e}") from None


class RedisBroker:
    """Redis Pub/Sub fan-out; see the module docstring.

    ``on_message(room_key, batch_id, updates)`` is called for every update batch another
    process published to a subscribed room, ``on_version(room_key, version)`` for every
    version beacon; ``on_reconnect()`` (a coroutine) after
    every (re)connection once all subscriptions are confirmed, so the server can
    catch its rooms up from the store."""

    def __init__(self, url: str, *, prefix: str = "loro:", health_interval: float = 2.0):
        self.url = url
        self.prefix = prefix
        self.health_interval = health_interval
        self.origin = os.urandom(8)
        self.on_message: Optional[Callable[[str, bytes, List[bytes]], None]] = None
        self.on_reconnect: Optional[Callable[[], Awaitable[None]]] = None
        self.on_version: Optional[Callable[[str, bytes], None]] = None
        self.available = False
        self._rooms: Set[str] = set()
        self._confirm: Dict[str, List[asyncio.Future]] = {}
        self._ps = None
        self._pub = None
        self._task: Optional[asyncio.Task] = None
        self._closed = False
        # metrics
        self.published_total = 0
        self.publish_round_trips_total = 0
        self._outbox: List[tuple] = []
        self._sender: Optional[asyncio.Task] = None
        self.publish_errors_total = 0
        self.publish_seconds = 0.0
        self.received_total = 0
        self.connects_total = 0

    def _client(self):
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        # No built-in retries: a failure must surface at once so Acks are held.
        return Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5,
                              retry=Retry(NoBackoff(), 0), health_check_interval=0)

    async def start(self) -> None:
        """Open the publishing client and start the subscriber loop (returns at once;
        :attr:`available` turns true once subscribed)."""
        if self._task is None:
            self._pub = self._client()
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        """Stop the subscriber loop and close both connections."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._pub is not None:
            try:
                await self._pub.aclose()
            except Exception:
                pass

    def channel(self, key: str) -> str:
        """The Redis channel of a room key (crdt type + room id)."""
        return self.prefix + key

    async def subscribe(self, key: str, timeout: float = 5.0) -> None:
        """Subscribe to a room and wait for Redis to confirm, so nothing published
        after this returns is missed.  While disconnected it only records the room:
        the reconnection subscribes it and triggers the store catch-up."""
        self._rooms.add(key)
        ps = self._ps
        if ps is None or not self.available:
            return
        fut = asyncio.get_running_loop().create_future()
        self._confirm.setdefault(self.channel(key), []).append(fut)
        try:
            await ps.subscribe(self.channel(key))
            await asyncio.wait_for(fut, timeout)
        except Exception as e:
            # The listener sees the same failure and reconnects; the catch-up after
            # it covers whatever this room misses meanwhile.
            log.warning("subscribe failed", extra={"room": key, "error": repr(e)})

    async def unsubscribe(self, key: str) -> None:
        """Stop receiving a room (it was unloaded)."""
        self._rooms.discard(key)
        ps = self._ps
        if ps is not None and self.available:
            try:
                await ps.unsubscribe(self.channel(key))
            except Exception:
                pass

    async def publish(self, key: str, batch_id: bytes, updates: Sequence[bytes]) -> None:
        """Publish an update batch; BrokerUnavailable when Redis cannot take it.

        Publishes requested while others are on the wire go out together in the next
        pipeline (one round trip, as the store's group commit), each caller resuming
        when Redis has taken its own."""
        await self._enqueue(key, encode_updates(self.origin, batch_id, updates))

    async def publish_version(self, key: str, version: bytes) -> None:
        """Publish a version beacon (see the module docstring); BrokerUnavailable when
        Redis cannot take it."""
        await self._enqueue(key, encode_version(self.origin, version))

    async def _enqueue(self, key: str, data: bytes) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._outbox.append((self.channel(key), data, fut))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())
        await fut

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            t0 = time.perf_counter()
            try:
                if len(batch) == 1:
                    await self._pub.publish(batch[0][0], batch[0][1])
                else:
                    pipe = self._pub.pipeline(transaction=False)
                    for ch, data, _ in batch:
                        pipe.publish(ch, data)
                    await pipe.execute()
            except Exception as e:
                self.publish_errors_total += len(batch)
                err = BrokerUnavailable(f"redis publish: {e!r}")
                for _, _, f in batch:
                    if not f.done():
                        f.set_exception(err)
                continue
            self.published_total += len(batch)
            self.publish_seconds += time.perf_counter() - t0
            self.publish_round_trips_total += 1
            for _, _, f in batch:
                if not f.done():
                    f.set_result(None)

    async def _listen(self) -> None:
        delay = 0.05
        ctl = self.prefix + "ctl"
        while not self._closed:
            client = self._client()
            ps = client.pubsub()
            try:
                await ps.subscribe(ctl, *[self.channel(k) for k in self._rooms])
                # Replies come in order: the pong follows every subscribe confirmation.
                await ps.ping()
                while True:
                    m = await ps.get_message(timeout=5.0)
                    if m is None:
                        raise BrokerUnavailable("no subscribe confirmation")
                    if m["type"] == "pong":
                        break
                self._ps = ps
                self.available = True
                self.connects_total += 1
                delay = 0.05
                log.info("broker connected", extra={"rooms": len(self._rooms)})
                if self.on_reconnect is not None:
                    asyncio.get_running_loop().create_task(self.on_reconnect())
                await self._pump(ps)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if self.available:
                    log.warning("broker connection lost", extra={"error": repr(e)})
            finally:
                self.available = False
                self._ps = None
                for futs in self._confirm.values():
                    for f in futs:
                        if not f.done():
                            f.set_exception(BrokerUnavailable("disconnected"))
                self._confirm.clear()
                try:
                    await ps.aclose()
                    await client.aclose()
                except Exception:
                    pass
            if self._closed:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _pump(self, ps) -> None:
        waiting_pong = False
        while True:
            m = await ps.get_message(timeout=self.health_interval)
            if m is None:
                # Silence: prove the connection is alive (a half-open TCP connection
                # would otherwise look like a quiet broker forever).
                if waiting_pong:
                    raise BrokerUnavailable("health check timed out")
                await ps.ping()
                waiting_pong = True
                continue
            kind = m["type"]
            if kind == "pong":
                waiting_pong = False
            elif kind == "subscribe":
                ch = m["channel"].decode() if isinstance(m["channel"], bytes) else m["channel"]
                for f in self._confirm.pop(ch, []):
                    if not f.done():
                        f.set_result(None)
            elif kind == "message":
                ch = m["channel"].decode() if isinstance(m["channel"], bytes) else m["channel"]
                try:
                    origin, batch_id, updates, version = decode_message(m["data"])
                except LoroError as e:
                    log.warning("bad broker message", extra={"channel": ch, "error": str(e)})
                    continue
                if origin == self.origin:
                    continue
                self.received_total += 1
                if not ch.startswith(self.prefix):
                    continue
                key = ch[len(self.prefix):]
                try:
                    if version is not None:
                        if self.on_version is not None:
                            self.on_version(key, version)
                    elif self.on_message is not None:
                        self.on_message(key, batch_id, updates)
                except Exception:
                    log.exception("broker message handler failed", extra={"channel": ch})
