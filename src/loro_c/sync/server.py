"""The sync server: rooms, sessions and the ASGI application.

:class:`SyncServer` holds the rooms and speaks the protocol with transport-free
:class:`Session` objects; :class:`SyncApp` is the ASGI application (WebSocket on any
path, ``GET /health``, ``GET /metrics``) that feeds it, mountable in Starlette/FastAPI
or run by uvicorn (``python -m loro_c serve``).

Order of work for an update from a client, and why:

1. import into the room's LoroDoc: ``import_`` is all or nothing, so an invalid update
   is answered ``Ack(invalid_update)`` and has changed nothing;
2. append the raw update to the room's durable log (storage thread);
3. only then ``Ack(ok)`` to the sender and broadcast to the other members.

So an acked update is always on disk; an update that failed to persist makes the room
reload from storage (members are told ``RoomError(rejoin_suggested)``).

With several processes (``broker`` = :class:`~loro_c.sync.broker.RedisBroker`, storage
shared, e.g. :class:`~loro_c.sync.pgstore.PgStorage`), step 2 also publishes the
update to the room's channel, and the Ack waits for both: while the store or the
broker is unreachable the update is held unacked and retried (up to
``outage_timeout``), never acked on a promise.  Updates from other processes arrive
through the broker and are imported and relayed; after a broker reconnection every
loaded room catches up from the store by version vector, and a room serves no join
while the broker is down or before its catch-up has finished.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Set, Tuple, Union

from .. import ExportMode, LoroDoc, LoroError, VersionVector
from ..ephemeral import EphemeralStore
from ..ephemeral_codec import decode_entries
from . import protocol as P
from .broker import BrokerUnavailable
from .storage import AsyncStorage, MemoryStorage, Storage, StoreUnavailable

__all__ = ["ServerConfig", "SyncServer", "SyncApp", "Session", "Metrics", "UpdateRateLimit"]

log = logging.getLogger("loro_c.sync.server")

SUPPORTED_CRDTS = (P.CRDT_LORO, P.CRDT_EPHEMERAL, P.CRDT_EPHEMERAL_PERSISTED)

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


class Metrics:
    def __init__(self) -> None:
        self.connections = 0
        self.connections_total = 0
        self.updates_total = 0
        self.update_bytes_total = 0
        self.rejected_updates_total = 0
        self.messages_in_total = 0
        self.bytes_in_total = 0
        self.messages_out_total = 0
        self.bytes_out_total = 0
        self.protocol_errors_total = 0
        self.joins_total = 0
        self.held_batches = 0  # waiting for the store or the broker to come back
        self.outage_retries_total = 0
        self.catchups_total = 0
        self.remote_updates_total = 0


class Session:
    """One client connection, whatever the transport; outgoing frames go through a
    bounded queue that the transport drains, so a broadcast never waits on a slow peer."""

    _ids = itertools.count(1)

    def __init__(self, server: "SyncServer", peer: str = ""):
        self.id = next(self._ids)
        self.peer = peer
        self.server = server
        self.queue: "asyncio.Queue[Optional[Union[bytes, str]]]" = asyncio.Queue()
        self.rooms: Dict[Tuple[str, str], str] = {}  # (crdt, room id) -> permission
        self.assembler = P.FragmentAssembler(timeout=server.config.fragment_timeout,
                                             max_update_size=server.config.max_update_size)
        self.close_code: Optional[int] = None
        self.closed = False

    def send(self, msg: P.Message) -> None:
        self.send_frame(P.encode(msg))

    def send_frame(self, frame: Union[bytes, str]) -> None:
        if self.closed or self.close_code is not None:
            return  # nothing after the close would be written anyway
        if self.queue.qsize() >= self.server.config.send_queue_limit:
            log.warning("dropping slow connection", extra={"session": self.id})
            self.close(1013)
            return
        m = self.server.metrics
        m.messages_out_total += 1
        m.bytes_out_total += len(frame)
        self.queue.put_nowait(frame)

    def close(self, code: int = 1000) -> None:
        """Ask the transport to close after what is already queued."""
        if self.close_code is None:
            self.close_code = code
            self.queue.put_nowait(None)


class Room:
    def __init__(self, crdt: str, room_id: str, eps_timeout_ms: int = 10_000):
        self.crdt = crdt
        self.room_id = room_id
        self.key = crdt + room_id
        self.doc: Optional[LoroDoc] = LoroDoc() if crdt == P.CRDT_LORO else None
        self.members: Set[Session] = set()
        self.last_seq = 0
        self.log_count = 0
        self.stored_bytes = 0
        # Log entries whose import reported pending changes: a compacted export would
        # not contain them, so compaction keeps them until they apply.
        self.pending: Dict[int, bytes] = {}
        # %EPS: the merged presence state (Loro's EphemeralStore), sent to new peers
        self.eps: Optional[EphemeralStore] = (
            EphemeralStore(eps_timeout_ms) if crdt == P.CRDT_EPHEMERAL_PERSISTED else None)
        self.idle_handle: Optional[asyncio.TimerHandle] = None
        self.compacting: Optional[asyncio.Task] = None
        self.broken = False
        self.catching_up = False
        # The broker connection (its number) through which this room has been kept
        # complete: loaded or caught up from the store while subscribed on it.  Any
        # other value means messages may have been missed, so joins wait for a catch-up.
        self.epoch: Optional[int] = None


class SyncServer:
    def __init__(self, storage: Optional[Storage] = None, config: Optional[ServerConfig] = None,
                 broker=None):
        self.config = config or ServerConfig()
        if getattr(storage, "shared", False):  # natively async (PgStorage)
            self.storage = storage
        else:
            self.storage = AsyncStorage(storage if storage is not None else MemoryStorage())
        self.broker = broker
        if broker is not None:
            broker.on_message = self._on_broker
            broker.on_reconnect = self._catch_up_all
        # Broker messages for rooms being loaded, applied once the load is done.
        self._early: Dict[str, List[Tuple[bytes, List[bytes]]]] = {}
        self.rooms: Dict[str, Room] = {}
        self._loading: Dict[str, "asyncio.Future[Room]"] = {}
        self.sessions: Set[Session] = set()
        self.metrics = Metrics()
        self._tasks: Set[asyncio.Task] = set()
        self.closing = False

    async def start(self) -> None:
        """Connect the broker (the ASGI lifespan startup calls this)."""
        if self.broker is not None:
            await self.broker.start()

    # -- sessions ------------------------------------------------------------------

    def open_session(self, peer: str = "") -> Session:
        s = Session(self, peer)
        self.sessions.add(s)
        self.metrics.connections += 1
        self.metrics.connections_total += 1
        log.info("connection opened", extra={"session": s.id, "peer": peer})
        return s

    def close_session(self, s: Session) -> None:
        if s.closed:
            return
        s.closed = True
        self.sessions.discard(s)
        self.metrics.connections -= 1
        for (crdt, rid) in list(s.rooms):
            self._leave(s, crdt, rid)
        log.info("connection closed", extra={"session": s.id})

    async def handle_text(self, s: Session, text: str) -> None:
        if text == P.PING:
            s.send_frame(P.PONG)
        elif text == P.PONG:
            pass
        else:
            # Text frames are reserved for keepalive; anything else is a violation.
            self.metrics.protocol_errors_total += 1
            s.close(1003)

    async def handle_frame(self, s: Session, data: bytes) -> None:
        m = self.metrics
        m.messages_in_total += 1
        m.bytes_in_total += len(data)
        try:
            msg = P.decode(data)
        except P.MessageTooLarge:
            m.protocol_errors_total += 1
            head = P.peek_header(data)
            if head and head[3] is not None and head[2] in (
                    P.MessageType.DOC_UPDATE, P.MessageType.DOC_UPDATE_FRAGMENT_HEADER,
                    P.MessageType.DOC_UPDATE_FRAGMENT):
                s.send(P.Ack(head[0], head[1], head[3], P.UpdateStatus.PAYLOAD_TOO_LARGE))
            else:
                s.close(1009)
            return
        except P.ProtocolError as e:
            m.protocol_errors_total += 1
            log.info("malformed frame", extra={"session": s.id, "error": str(e)})
            s.close(1002)
            return
        t = msg.type
        if t == P.MessageType.JOIN_REQUEST:
            await self._join(s, msg)
        elif t == P.MessageType.DOC_UPDATE:
            await self._updates(s, msg.crdt, msg.room_id, msg.batch_id, msg.updates)
        elif t == P.MessageType.DOC_UPDATE_FRAGMENT_HEADER:
            self._fragment_header(s, msg)
        elif t == P.MessageType.DOC_UPDATE_FRAGMENT:
            await self._fragment(s, msg)
        elif t == P.MessageType.LEAVE:
            self._leave(s, msg.crdt, msg.room_id)
        elif t == P.MessageType.ACK:
            if msg.status != P.UpdateStatus.OK:
                log.warning("client reported update failure",
                            extra={"session": s.id, "room": msg.room_id, "status": msg.status})
        elif t == P.MessageType.JOIN_ERROR:
            log.warning("client abandoned join", extra={"session": s.id, "room": msg.room_id,
                                                        "reason": msg.message})
        # JoinResponseOk and RoomError are server-to-client only: ignored like the
        # reference server does, since they cannot change anything here.

    # -- rooms ---------------------------------------------------------------------

    async def _room(self, crdt: str, room_id: str) -> Room:
        key = crdt + room_id
        room = self.rooms.get(key)
        if room is not None:
            return room
        fut = self._loading.get(key)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._loading[key] = fut
        try:
            room = Room(crdt, room_id, self.config.eps_timeout_ms)
            room.epoch = self._broker_epoch()
            if self.broker is not None:
                # Subscribed before reading the store: whatever another process
                # commits after the read is then published to us.
                self._early[key] = []
                await self.broker.subscribe(key)
            if crdt == P.CRDT_LORO:
                data = await self.storage.load(key)
                if data.blob:
                    room.doc.import_(data.blob)
                    room.stored_bytes += len(data.blob)
                for seq, u in data.updates:
                    st = room.doc.import_(u)
                    if st.pending is not None:
                        room.pending[seq] = u
                    room.stored_bytes += len(u)
                room.last_seq = data.last_seq
                room.log_count = len(data.updates)
            for bid, ups in self._early.pop(key, ()):
                self._apply_remote(room, bid, ups)
            stale = room.epoch != self._broker_epoch()
            if stale:
                room.epoch = None  # the connection dropped during the load
            self.rooms[key] = room
            if stale and self.broker.available:
                # The reconnection's catch-up ran before the room was in the table.
                room.catching_up = True  # until the task starts: no second one
                self._spawn(self._catch_up(room))
            log.info("room loaded", extra={"room": room_id, "crdt": crdt,
                                           "log": room.log_count})
            fut.set_result(room)
            return room
        except BaseException as e:
            self._early.pop(key, None)
            fut.set_exception(e)
            fut.exception()  # consumed here; waiters get it from await
            raise
        finally:
            del self._loading[key]

    def _touch(self, room: Room) -> None:
        if room.idle_handle is not None:
            room.idle_handle.cancel()
            room.idle_handle = None
        if not room.members and not self.closing:
            room.idle_handle = asyncio.get_running_loop().call_later(
                self.config.idle_unload, lambda: self._spawn(self._unload(room)))

    def _spawn(self, coro) -> asyncio.Task:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def _unload(self, room: Room) -> None:
        if room.members or self.rooms.get(room.key) is not room:
            return
        # Out of the table first: a join from now on loads afresh, and storage runs
        # operations in order, so that load sees the log with or without this
        # compaction, both complete.
        del self.rooms[room.key]
        await self._compact(room)
        if self.broker is not None:
            await self._unsubscribe_unused(room.key)
        log.info("room unloaded", extra={"room": room.room_id, "crdt": room.crdt})

    async def _compact(self, room: Room) -> None:
        if room.doc is None or room.log_count == 0 or room.broken:
            return
        if room.compacting is not None:
            await room.compacting
            return
        room.compacting = asyncio.current_task()
        if self.storage.shared:
            try:
                await self._compact_shared(room)
            except StoreUnavailable as e:
                # Nothing lost: the log stays, and the next compaction or load reads it.
                log.warning("compaction skipped, store unavailable",
                            extra={"room": room.room_id, "error": str(e)})
            except Exception:
                log.exception("compaction failed", extra={"room": room.room_id})
            finally:
                room.compacting = None
            return
        try:
            for seq, u in list(room.pending.items()):
                # Re-import is idempotent; no pending left means it has applied.
                if room.doc.import_(u).pending is None:
                    del room.pending[seq]
            upto = room.last_seq
            count_at_export, bytes_at_export = room.log_count, room.stored_bytes
            blob = room.doc.export(ExportMode.Snapshot())
            # Still pending: they stay in the log (in the same transaction), since the
            # export cannot hold changes whose dependencies are missing.
            keep = [seq for seq in room.pending if seq <= upto]
            await self.storage.compact(room.key, blob, upto, keep)
            room.log_count = len(keep) + (room.log_count - count_at_export)
            room.stored_bytes = (len(blob) + sum(len(room.pending[q]) for q in keep if q in room.pending)
                                 + room.stored_bytes - bytes_at_export)
        except Exception:
            log.exception("compaction failed", extra={"room": room.room_id})
        finally:
            room.compacting = None

    async def _compact_shared(self, room: Room) -> None:
        """Compaction on a store other processes append to: the store runs ``fold``
        under the room's lock on exactly the rows it read, so the snapshot is this
        doc plus everything stored, and only the rows folded in are deleted."""
        before = room.doc.oplog_vv
        result = {}

        def fold(data):
            for seq, u in list(room.pending.items()):
                if room.doc.import_(u).pending is None:
                    del room.pending[seq]
            if data.blob:
                room.doc.import_(data.blob)
            folded, kept = [], 0
            for seq, u in data.updates:
                if room.doc.import_(u).pending is None:
                    folded.append(seq)
                else:  # cannot be in a snapshot yet: stays in the log
                    room.pending[seq] = u
                    kept += len(u)
            blob = room.doc.export(ExportMode.Snapshot())
            result.update(blob=len(blob), kept=kept, nkept=len(data.updates) - len(folded),
                          last=data.last_seq)
            return blob, folded

        if await self.storage.compact_room(room.key, fold) and result:
            room.log_count = result["nkept"]
            room.stored_bytes = result["blob"] + result["kept"]
            room.last_seq = max(room.last_seq, result["last"])
        self._relay_since(room, before)  # the store had what the broker had not brought

    def _relay_since(self, room: Room, before: VersionVector) -> None:
        if room.doc is None or before.includes_vv(room.doc.oplog_vv):
            return
        frames = [P.encode(m) for m in P.split_update(
            room.crdt, room.room_id, room.doc.export(ExportMode.Updates(before)))]
        for m in room.members:
            for f in frames:
                m.send_frame(f)

    # -- other processes -------------------------------------------------------------

    def _on_broker(self, key: str, batch_id: bytes, updates: List[bytes]) -> None:
        room = self.rooms.get(key)
        if room is None:
            early = self._early.get(key)
            if early is not None:
                early.append((batch_id, updates))
            return
        self._apply_remote(room, batch_id, updates)

    def _apply_remote(self, room: Room, batch_id: bytes, updates: List[bytes]) -> None:
        if room.broken:
            return
        self.metrics.remote_updates_total += len(updates)
        if room.doc is None:
            self._ephemeral(None, room, batch_id, updates)
            return
        before = room.doc.oplog_vv
        fresh, pending = [], False
        for u in updates:
            try:
                st = room.doc.import_(u)
            except LoroError as e:
                log.warning("bad update from the broker", extra={"room": room.room_id,
                                                                 "error": str(e)})
                continue
            fresh.append(u)
            pending = pending or st.pending is not None
        # A pure duplicate (the store load or the catch-up brought it) is not relayed.
        if fresh and (pending or not before.includes_vv(room.doc.oplog_vv)):
            self._broadcast(room, None, batch_id, fresh)
        if pending and not room.catching_up:
            # Its dependencies never came over the broker: their process may have died
            # between storing and publishing them.  They are in the store.
            self._spawn(self._catch_up(room))

    def _broker_epoch(self) -> Optional[int]:
        """The number of the current broker connection; None while disconnected (or
        without a broker: 0, nothing to miss)."""
        b = self.broker
        if b is None:
            return 0
        return b.connects_total if b.available else None

    def _unavailable(self, room: Optional[Room]) -> Optional[str]:
        """Why a room must not serve a join now, or None.  While the broker is down
        this process misses other processes' updates; after it reconnects a loaded
        room may lack them until its catch-up from the store has finished."""
        if self.broker is None:
            return None
        if not self.broker.available:
            return "broker unavailable"
        if room is not None and room.doc is not None and room.epoch != self._broker_epoch():
            if not room.catching_up:
                # e.g. loaded while the connection dropped: nobody else will catch it up.
                self._spawn(self._catch_up(room))
            return "catching up from the store"
        return None

    async def _catch_up_all(self) -> None:
        """After a broker (re)connection: whatever was published while we were not
        subscribed is in the store; import it and relay what is new to members."""
        for room in list(self.rooms.values()):
            if room.doc is not None and not room.broken:
                await self._catch_up(room)

    async def _catch_up(self, room: Room) -> None:
        """Import the room's stored state (duplicates are no-ops) and relay to the
        members whatever it added."""
        room.catching_up = True
        # Read after the subscription of this connection was confirmed: whatever the
        # load misses arrives over the broker, as long as the connection holds.
        epoch = self._broker_epoch()
        try:
            try:
                data = await self._retrying(lambda: self.storage.load(room.key))
            except StoreUnavailable:
                log.warning("catch-up gave up; resetting room", extra={"room": room.room_id})
                self._break(room)
                return
            if self.rooms.get(room.key) is not room or room.broken:
                return
            before = room.doc.oplog_vv
            if data.blob:
                room.doc.import_(data.blob)
            for _, u in data.updates:
                room.doc.import_(u)
            self.metrics.catchups_total += 1
            self._relay_since(room, before)
            if epoch is not None and epoch == self._broker_epoch():
                room.epoch = epoch
        finally:
            room.catching_up = False

    async def _retrying(self, fn):
        """``await fn()`` until the store/broker takes it, holding the caller's Ack;
        re-raises after ``outage_timeout``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.config.outage_timeout
        delay, held = 0.02, False
        try:
            while True:
                try:
                    return await fn()
                except (StoreUnavailable, BrokerUnavailable):
                    if loop.time() + delay > end or self.closing:
                        raise
                    if not held:
                        held = True
                        self.metrics.held_batches += 1
                    self.metrics.outage_retries_total += 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.5)
        finally:
            if held:
                self.metrics.held_batches -= 1

    # -- join / leave --------------------------------------------------------------

    async def _join(self, s: Session, msg: P.JoinRequest) -> None:
        crdt, rid = msg.crdt, msg.room_id
        if crdt not in SUPPORTED_CRDTS:
            s.send(P.JoinError(crdt, rid, P.JoinErrorCode.UNKNOWN, f"unsupported CRDT type {crdt}"))
            return
        perm: Optional[str] = "write"
        if self.config.authenticate is not None:
            try:
                perm = self.config.authenticate(rid, crdt, msg.auth)
                if inspect.isawaitable(perm):
                    perm = await perm
            except Exception:
                log.exception("authenticate hook failed", extra={"room": rid})
                perm = None
            if perm not in ("read", "write"):
                self._leave(s, crdt, rid)  # a failed re-join ends an earlier membership
                s.send(P.JoinError(crdt, rid, P.JoinErrorCode.AUTH_FAILED, "authentication failed"))
                return
        room: Optional[Room] = None
        why = self._unavailable(None)
        if why is None:
            try:
                room = await self._room(crdt, rid)
            except StoreUnavailable as e:
                why = f"store unavailable: {e}"
                log.warning("room load failed, store unavailable", extra={"room": rid, "error": str(e)})
            except Exception as e:
                log.exception("room load failed", extra={"room": rid})
                s.send(P.JoinError(crdt, rid, P.JoinErrorCode.UNKNOWN, f"room unavailable: {e}"))
                return
            else:
                why = self._unavailable(room)
        if why is not None:
            # Transient, like a store outage: the client retries the join later, and
            # an earlier membership of this room ends (it would not be kept current).
            self._leave(s, crdt, rid)
            if room is not None:
                self._touch(room)  # unloads it if nobody else joins
            s.send(P.JoinError(crdt, rid, P.JoinErrorCode.UNKNOWN, f"room unavailable: {why}"))
            return
        if s.closed:
            return
        if crdt == P.CRDT_LORO:
            server_vv = room.doc.oplog_vv
            client_vv = VersionVector()
            if msg.version:
                try:
                    client_vv = VersionVector.decode(msg.version)
                except (LoroError, ValueError):
                    self._leave(s, crdt, rid)
                    s.send(P.JoinError(crdt, rid, P.JoinErrorCode.VERSION_UNKNOWN,
                                       "cannot decode the version", server_vv.encode()))
                    self._touch(room)
                    return
            s.rooms[(crdt, rid)] = perm
            room.members.add(s)
            self._touch(room)
            s.send(P.JoinResponseOk(crdt, rid, perm, server_vv.encode()))
            if not client_vv.includes_vv(server_vv):
                missing = room.doc.export(ExportMode.Updates(client_vv))
                for m in P.split_update(crdt, rid, missing):
                    s.send(m)
        else:
            s.rooms[(crdt, rid)] = perm
            room.members.add(s)
            self._touch(room)
            s.send(P.JoinResponseOk(crdt, rid, perm, b""))
            if room.eps is not None:
                room.eps.remove_outdated()
                state = room.eps.encode_all()
                if state != b"\x00":  # not an empty store
                    for m in P.split_update(crdt, rid, state):
                        s.send(m)
        self.metrics.joins_total += 1
        log.info("joined", extra={"session": s.id, "room": rid, "crdt": crdt, "permission": perm})

    def _leave(self, s: Session, crdt: str, rid: str) -> None:
        s.rooms.pop((crdt, rid), None)
        s.assembler.discard_room(crdt, rid)
        room = self.rooms.get(crdt + rid)
        if room is not None and s in room.members:
            room.members.discard(s)
            self._touch(room)

    # -- updates -------------------------------------------------------------------

    def _fragment_header(self, s: Session, h: P.DocUpdateFragmentHeader) -> None:
        if s.rooms.get((h.crdt, h.room_id)) != "write":
            s.send(P.Ack(h.crdt, h.room_id, h.batch_id, P.UpdateStatus.PERMISSION_DENIED))
            return
        loop = asyncio.get_running_loop()
        try:
            s.assembler.start(h, loop.time())
        except P.MessageTooLarge:
            s.send(P.Ack(h.crdt, h.room_id, h.batch_id, P.UpdateStatus.PAYLOAD_TOO_LARGE))
            return
        except P.ProtocolError:
            s.send(P.Ack(h.crdt, h.room_id, h.batch_id, P.UpdateStatus.INVALID_UPDATE))
            return
        # A little slack so the check runs after the deadline, not a hair before it.
        loop.call_later(self.config.fragment_timeout + 0.01, self._expire_fragments, s)

    def _expire_fragments(self, s: Session) -> None:
        if s.closed:
            return
        for h in s.assembler.expire(asyncio.get_running_loop().time()):
            s.send(P.Ack(h.crdt, h.room_id, h.batch_id, P.UpdateStatus.FRAGMENT_TIMEOUT))

    async def _fragment(self, s: Session, f: P.DocUpdateFragment) -> None:
        try:
            whole = s.assembler.add(f)
        except P.ProtocolError as e:
            # Unknown batch: as the reference server, ask for a resend (fragment_timeout).
            status = (P.UpdateStatus.FRAGMENT_TIMEOUT if "without a header" in str(e)
                      else P.UpdateStatus.INVALID_UPDATE)
            s.send(P.Ack(f.crdt, f.room_id, f.batch_id, status))
            return
        if whole is not None:
            await self._updates(s, f.crdt, f.room_id, f.batch_id, (whole,))

    async def _updates(self, s: Session, crdt: str, rid: str, batch_id: bytes,
                       updates: Tuple[bytes, ...]) -> None:
        def ack(status: int) -> None:
            s.send(P.Ack(crdt, rid, batch_id, status))
            if status != P.UpdateStatus.OK:
                self.metrics.rejected_updates_total += 1

        perm = s.rooms.get((crdt, rid))
        if perm != "write":
            return ack(P.UpdateStatus.PERMISSION_DENIED)
        room = self.rooms.get(crdt + rid)
        if room is None or room.broken:  # cannot happen while a member; stay safe
            return ack(P.UpdateStatus.UNKNOWN)
        nbytes = sum(len(u) for u in updates)
        if self.config.allow_update is not None and not self.config.allow_update(s, rid, crdt, nbytes):
            return ack(P.UpdateStatus.RATE_LIMITED)
        if room.doc is None:
            status = self._ephemeral(s, room, batch_id, updates)
            if status == P.UpdateStatus.OK and self.broker is not None:
                ups = [u for u in updates if u]
                # Presence is best effort: it is never stored, so nothing to hold.
                self._spawn(self._publish_quietly(room.key, batch_id, ups))
            return ack(status)
        q = self.config.max_room_bytes
        if q is not None and room.stored_bytes + nbytes > q:
            return ack(P.UpdateStatus.APP_ERROR)

        accepted: List[Tuple[bytes, bool]] = []
        status = P.UpdateStatus.OK
        for u in updates:
            if not u:
                continue
            try:
                st = room.doc.import_(u)
            except LoroError as e:
                log.info("invalid update", extra={"session": s.id, "room": rid, "error": str(e)})
                status = P.UpdateStatus.INVALID_UPDATE
                break
            except Exception:
                # Not a rejection loro_c promises to be all or nothing: trust only what is
                # durable, and have everyone rejoin.
                log.exception("import failed unexpectedly; reloading room", extra={"room": rid})
                self._break(room)
                return ack(P.UpdateStatus.UNKNOWN)
            accepted.append((u, st.pending is not None))
        try:
            # Together, so they share one group commit.
            seqs = await asyncio.gather(*(self._retrying(lambda u=u: self.storage.append(room.key, u))
                                          for u, _ in accepted))
            for (u, pending), seq in zip(accepted, seqs):
                room.last_seq = max(room.last_seq, seq)
                room.log_count += 1
                room.stored_bytes += len(u)
                if pending:
                    room.pending[seq] = u
        except Exception:
            log.exception("storage append failed; reloading room", extra={"room": rid})
            self._break(room)
            return ack(P.UpdateStatus.UNKNOWN)
        if self.broker is not None and accepted:
            try:
                await self._retrying(lambda: self.broker.publish(room.key, batch_id,
                                                                 [u for u, _ in accepted]))
            except Exception:
                # Durable but not relayed: the other processes' catch-up finds it;
                # this sender is not told ok, and the room's members resync.
                log.exception("broker publish failed; resetting room", extra={"room": rid})
                self._break(room)
                return ack(P.UpdateStatus.UNKNOWN)
        self.metrics.updates_total += len(accepted)
        self.metrics.update_bytes_total += sum(len(u) for u, _ in accepted)
        ack(status)
        if accepted:
            self._broadcast(room, s, batch_id, [u for u, _ in accepted])
        if room.log_count >= self.config.compact_after and room.compacting is None:
            self._spawn(self._compact(room))

    async def _unsubscribe_unused(self, key: str) -> None:
        # Checked when it runs: a join may have loaded the room again meanwhile (its
        # SUBSCRIBE then goes out after this UNSUBSCRIBE, and wins).
        if key not in self.rooms and key not in self._loading:
            await self.broker.unsubscribe(key)

    async def _publish_quietly(self, key: str, batch_id: bytes, updates: List[bytes]) -> None:
        try:
            await self.broker.publish(key, batch_id, updates)
        except BrokerUnavailable:
            pass

    def _ephemeral(self, s: Optional[Session], room: Room, batch_id: bytes, updates) -> int:
        ups = [u for u in updates if u]
        if room.eps is not None:
            # All or nothing, as for documents: check every message before applying any.
            try:
                for u in ups:
                    decode_entries(u)
            except LoroError as e:
                log.info("invalid ephemeral update",
                         extra={"session": s.id if s is not None else None,
                                "room": room.room_id, "error": str(e)})
                return P.UpdateStatus.INVALID_UPDATE
            room.eps.remove_outdated()
            for u in ups:
                room.eps.apply(u)
        self._broadcast(room, s, batch_id, ups)
        return P.UpdateStatus.OK

    def _broadcast(self, room: Room, sender: Optional[Session], batch_id: bytes,
                   updates: List[bytes]) -> None:
        others = [m for m in room.members if m is not sender]
        if not others or not updates:
            return
        try:
            frames = [P.encode(P.DocUpdate(room.crdt, room.room_id, tuple(updates), batch_id))]
        except P.MessageTooLarge:
            frames = [P.encode(m) for u in updates
                      for m in P.split_update(room.crdt, room.room_id, u, None)]
        for m in others:
            for f in frames:
                m.send_frame(f)

    def _break(self, room: Room) -> None:
        """The doc holds an update storage does not: drop the room so the next join
        reloads what is durable, and ask members to rejoin."""
        room.broken = True
        if self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            if self.broker is not None:
                # Until someone rejoins, its messages would only be dropped.
                self._spawn(self._unsubscribe_unused(room.key))
        for m in list(room.members):
            m.rooms.pop((room.crdt, room.room_id), None)
            m.send(P.RoomError(room.crdt, room.room_id, P.RoomErrorCode.REJOIN_SUGGESTED,
                               "room state reset, please rejoin"))
        room.members.clear()

    # -- lifecycle -----------------------------------------------------------------

    async def shutdown(self) -> None:
        """Close every connection, compact every loaded room, close storage.
        Every acked update is durable already; compaction only makes restart fast."""
        self.closing = True
        for s in list(self.sessions):
            s.close(1001)
        for room in list(self.rooms.values()):
            if room.idle_handle is not None:
                room.idle_handle.cancel()
            await self._compact(room)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.broker is not None:
            await self.broker.close()
        await self.storage.close()

    async def status(self) -> dict:
        """Health: ``ok`` only when this process can ack (store and broker up) and
        serve joins in every loaded room (no catch-up from the store pending)."""
        store_up = await self.storage.ping()
        broker_up = self.broker.available if self.broker is not None else None
        # Rooms refusing joins until their catch-up from the store has run.
        stale = sum(1 for r in self.rooms.values()
                    if r.doc is not None and r.epoch != self._broker_epoch())
        healthy = store_up and broker_up is not False and not stale
        return {"status": "closing" if self.closing else ("ok" if healthy else "degraded"),
                "store": "up" if store_up else "down",
                "broker": "none" if broker_up is None else ("up" if broker_up else "down"),
                "rooms": len(self.rooms), "connections": self.metrics.connections,
                "stale_rooms": stale}

    async def metrics_text(self) -> str:
        m = self.metrics
        try:
            size = await self.storage.size()
        except Exception:
            size = -1
        rows = [
            ("loro_sync_connections", "gauge", "Open connections", m.connections),
            ("loro_sync_connections_total", "counter", "Connections accepted", m.connections_total),
            ("loro_sync_rooms", "gauge", "Loaded rooms", len(self.rooms)),
            ("loro_sync_joins_total", "counter", "Successful joins", m.joins_total),
            ("loro_sync_updates_total", "counter", "Updates accepted", m.updates_total),
            ("loro_sync_update_bytes_total", "counter", "Bytes of accepted updates", m.update_bytes_total),
            ("loro_sync_rejected_updates_total", "counter", "Batches answered with a non-ok Ack",
             m.rejected_updates_total),
            ("loro_sync_messages_in_total", "counter", "Binary frames received", m.messages_in_total),
            ("loro_sync_bytes_in_total", "counter", "Bytes received", m.bytes_in_total),
            ("loro_sync_messages_out_total", "counter", "Frames sent", m.messages_out_total),
            ("loro_sync_bytes_out_total", "counter", "Bytes sent", m.bytes_out_total),
            ("loro_sync_protocol_errors_total", "counter", "Malformed or oversize frames",
             m.protocol_errors_total),
            ("loro_sync_storage_bytes", "gauge", "Bytes used by storage", size),
            ("loro_sync_storage_commits_total", "counter", "Group commits of the update log",
             self.storage.commits),
            ("loro_sync_store_up", "gauge", "1 when the store answered its last request",
             0 if self.storage.available is False else 1),
            ("loro_sync_store_append_seconds_total", "counter",
             "Wall time of update log commits (shared store)", getattr(self.storage, "append_seconds", 0.0)),
            ("loro_sync_held_batches", "gauge", "Update batches (and catch-ups) waiting for store or broker",
             m.held_batches),
            ("loro_sync_outage_retries_total", "counter", "Retries of store or broker operations",
             m.outage_retries_total),
            ("loro_sync_catchups_total", "counter", "Rooms caught up from the store", m.catchups_total),
            ("loro_sync_remote_updates_total", "counter", "Updates received from other processes",
             m.remote_updates_total),
        ]
        b = self.broker
        if b is not None:
            rows += [
                ("loro_sync_broker_up", "gauge", "1 while subscribed to the broker", int(b.available)),
                ("loro_sync_broker_published_total", "counter", "Batches published", b.published_total),
                ("loro_sync_broker_publish_errors_total", "counter", "Failed publishes",
                 b.publish_errors_total),
                ("loro_sync_broker_publish_seconds_total", "counter",
                 "Wall time of publish round trips (pipelined)", b.publish_seconds),
                ("loro_sync_broker_publish_round_trips_total", "counter",
                 "Publish round trips (one pipeline each)", b.publish_round_trips_total),
                ("loro_sync_broker_received_total", "counter", "Batches received from other processes",
                 b.received_total),
                ("loro_sync_broker_connects_total", "counter", "Broker (re)connections", b.connects_total),
                ("loro_sync_stale_rooms", "gauge", "Loaded rooms refusing joins until caught up",
                 sum(1 for r in self.rooms.values()
                     if r.doc is not None and r.epoch != self._broker_epoch())),
            ]
        out = []
        for name, kind, help_, v in rows:
            out.append(f"# HELP {name} {help_}\n# TYPE {name} {kind}\n{name} {v}\n")
        return "".join(out)


class SyncApp:
    """ASGI application around a SyncServer.

    WebSocket connections on any path speak the protocol; ``GET /health`` answers
    ``{"status": "ok", ...}`` and ``GET /metrics`` the Prometheus text.  The ASGI
    lifespan shutdown (or :meth:`SyncServer.shutdown`) flushes and closes storage.
    """

    def __init__(self, server: Optional[SyncServer] = None, *, storage: Optional[Storage] = None,
                 config: Optional[ServerConfig] = None, broker=None):
        self.server = server or SyncServer(storage, config, broker)

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            ev = await receive()
            if ev["type"] == "lifespan.startup":
                try:
                    await self.server.start()
                except Exception as e:
                    await send({"type": "lifespan.startup.failed", "message": repr(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif ev["type"] == "lifespan.shutdown":
                try:
                    await self.server.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if path.endswith("/health"):
            st = await self.server.status()
            body = json.dumps(st).encode()
            # 503 tells a load balancer to send new clients elsewhere.
            ctype, status = b"application/json", (200 if st["status"] == "ok" else 503)
        elif path.endswith("/metrics"):
            body = (await self.server.metrics_text()).encode()
            ctype, status = b"text/plain; version=0.0.4", 200
        else:
            body, ctype, status = b"not found\n", b"text/plain", 404
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope, receive, send) -> None:
        ev = await receive()
        if ev["type"] != "websocket.connect":
            return
        if self.server.closing:
            await send({"type": "websocket.close", "code": 1001})
            return
        await send({"type": "websocket.accept"})
        client = scope.get("client") or ("", 0)
        s = self.server.open_session(f"{client[0]}:{client[1]}")
        writer = asyncio.get_running_loop().create_task(self._writer(s, send))
        try:
            while s.close_code is None:
                recv = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({recv, writer}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:  # writer ended: closed by us or the socket broke
                    recv.cancel()
                    break
                ev = recv.result()
                if ev["type"] == "websocket.disconnect":
                    break
                try:
                    if ev.get("bytes") is not None:
                        await self.server.handle_frame(s, ev["bytes"])
                    elif ev.get("text") is not None:
                        await self.server.handle_text(s, ev["text"])
                except Exception:
                    # A bug must cost this connection at most, never the server.
                    log.exception("error handling a frame", extra={"session": s.id})
                    s.close(1011)
        finally:
            self.server.close_session(s)
            if not writer.done():
                s.close(s.close_code or 1000)
                try:
                    await asyncio.wait_for(writer, 5.0)
                except (asyncio.TimeoutError, Exception):
                    writer.cancel()

    @staticmethod
    async def _writer(s: Session, send) -> None:
        try:
            while True:
                frame = await s.queue.get()
                if frame is None:
                    await send({"type": "websocket.close", "code": s.close_code or 1000})
                    return
                if isinstance(frame, str):
                    await send({"type": "websocket.send", "text": frame})
                else:
                    await send({"type": "websocket.send", "bytes": frame})
        except Exception:
            # The peer went away; the reader side notices and cleans up.
            s.close_code = s.close_code or 1006
