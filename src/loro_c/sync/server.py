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
import logging
from typing import Dict, List, Optional, Set, Tuple

from .. import ExportMode, LoroError, VersionVector
from ..ephemeral_codec import scan_entries
from . import protocol as P
from .config import AuthHook, RateHook, ServerConfig, UpdateRateLimit  # noqa: F401  (public here)
from .metrics import Metrics, prometheus_text
from .replication import BrokerReplication
from .rooms import Room, RoomLifecycle
from .session import Session
from .storage import AsyncStorage, MemoryStorage, Storage, StoreUnavailable

__all__ = ["ServerConfig", "SyncServer", "SyncApp", "Session", "Metrics", "UpdateRateLimit"]

log = logging.getLogger("loro_c.sync.server")

SUPPORTED_CRDTS = (P.CRDT_LORO, P.CRDT_EPHEMERAL, P.CRDT_EPHEMERAL_PERSISTED)


class SyncServer(RoomLifecycle, BrokerReplication):
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
            broker.on_version = self._on_version
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


    def _spawn(self, coro) -> asyncio.Task:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t


    # -- other processes -------------------------------------------------------------


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


    def _ephemeral(self, s: Optional[Session], room: Room, batch_id: bytes, updates) -> int:
        ups = [u for u in updates if u]
        if room.eps is not None:
            # All or nothing, as for documents: check every message before applying any
            # (its values checked, not built).
            try:
                for u in ups:
                    scan_entries(u)
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
        try:
            size = await self.storage.size()
        except Exception:
            size = -1
        return prometheus_text(self, size)


from .asgi import SyncApp  # noqa: E402  (asgi.py builds a SyncServer)
