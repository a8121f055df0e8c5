"""asyncio client for the Loro sync protocol (needs the ``websockets`` package).

    client = SyncClient("ws://127.0.0.1:8765/")
    await client.connect()
    room = await client.join("my-room", doc)   # doc: a loro_c.LoroDoc
    doc.get_text("t").insert(0, "hi"); doc.commit()   # streamed to the server
    await room.flush()                          # every local change acked

Local commits are streamed as they happen; remote updates are imported as they arrive.
After a lost connection the client reconnects with exponential back-off (jittered) and
rejoins every room with its current version, so both sides exchange exactly what the
other lacks; updates whose Ack was lost are covered by that resync.

``url`` may be a list of server URLs (processes of one deployment sharing a broker and
a store): after a lost connection the client moves on to the next one, as a load
balancer would.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .. import ExportMode, LoroDoc, LoroError, VersionVector
from . import protocol as P

__all__ = ["SyncClient", "ClientRoom", "JoinFailed"]

log = logging.getLogger("loro_c.sync.client")


class JoinFailed(P.ProtocolError):
    """The server answered a join with JoinError (or RoomError)."""

    def __init__(self, code: int, message: str):
        super().__init__(f"join failed (code 0x{code:02x}): {message}")
        self.code = code


class ClientRoom:
    def __init__(self, client: "SyncClient", room_id: str, doc: LoroDoc, auth: bytes, crdt: str):
        self.client = client
        self.room_id = room_id
        self.doc = doc
        self.auth = auth
        self.crdt = crdt
        self.permission: Optional[str] = None
        self.server_version: Optional[VersionVector] = None
        self.joined = False
        self.closed = False
        self.pending: Dict[bytes, float] = {}  # batch id -> loop time sent
        self.failed: List[Tuple[bytes, int]] = []  # (batch id, non-ok Ack status)
        self.received: List[bytes] = []  # ephemeral rooms: payloads from other peers
        self._join_fut: Optional[asyncio.Future] = None
        self._sub = None

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until the room is joined and every update sent so far is acked."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not (self.joined and not self.pending):
            if self.closed:
                raise P.ProtocolError("room closed")
            if loop.time() > end:
                raise asyncio.TimeoutError(f"{len(self.pending)} batches unacked")
            await asyncio.sleep(0.005)

    async def leave(self) -> None:
        self.closed = True
        self.joined = False
        self.client._rooms.pop((self.crdt, self.room_id), None)
        if self._sub is not None:
            self._sub.unsubscribe()
            self._sub = None
        await self.client._send(P.Leave(self.crdt, self.room_id))


class SyncClient:
    def __init__(self, url: Union[str, Sequence[str]], *, backoff_initial: float = 0.1, backoff_max: float = 5.0,
                 fragment_timeout: float = P.DEFAULT_FRAGMENT_TIMEOUT):
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise P.ProtocolError("no server URL")
        self._url_index = 0
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rooms: Dict[Tuple[str, str], ClientRoom] = {}
        self._ws = None
        self._task: Optional[asyncio.Task] = None
        self._connected = asyncio.Event()
        self._closed = False
        self._asm = P.FragmentAssembler(timeout=fragment_timeout)
        self.reconnects = 0

    @property
    def url(self) -> str:
        """The server URL in use (or tried next)."""
        return self.urls[self._url_index % len(self.urls)]

    async def connect(self, timeout: float = 10.0) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        self._closed = True
        for r in list(self._rooms.values()):
            r.closed = True
            if r._sub is not None:
                r._sub.unsubscribe()
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def join(self, room_id: str, doc: LoroDoc, *, auth: bytes = b"",
                   crdt: str = P.CRDT_LORO, timeout: float = 10.0) -> ClientRoom:
        key = (crdt, room_id)
        if key in self._rooms:
            raise P.ProtocolError(f"already joined {crdt}{room_id}")
        room = ClientRoom(self, room_id, doc, auth, crdt)
        self._rooms[key] = room
        loop = asyncio.get_running_loop()

        def on_local(blob: bytes) -> None:
            try:
                here = asyncio.get_running_loop() is loop
            except RuntimeError:
                here = False
            if here:
                # Registered before commit() returns, so a flush() right after waits for it.
                self._send_local(room, bytes(blob))
            else:  # a commit on another thread: sending belongs to the loop
                loop.call_soon_threadsafe(self._send_local, room, bytes(blob))

        if crdt == P.CRDT_LORO:
            room._sub = doc.subscribe_local_update(on_local)
        try:
            await asyncio.wait_for(self._request_join(room), timeout)
        except BaseException:
            self._rooms.pop(key, None)
            if room._sub is not None:
                room._sub.unsubscribe()
            raise
        return room

    async def _request_join(self, room: ClientRoom, version: Optional[bytes] = None) -> None:
        room._join_fut = asyncio.get_running_loop().create_future()
        if version is None:
            version = room.doc.oplog_vv.encode() if room.crdt == P.CRDT_LORO else b""
        await self._send(P.JoinRequest(room.crdt, room.room_id, room.auth, version))
        await room._join_fut

    async def send_ephemeral(self, room: ClientRoom, data: bytes) -> bytes:
        """Send raw bytes to an %EPH/%EPS room; returns the batch id."""
        return await self._send_update(room, data)

    # -- sending ---------------------------------------------------------------------

    async def _send(self, msg: P.Message) -> None:
        await self._connected.wait()
        await self._ws.send(P.encode(msg))

    def _send_local(self, room: ClientRoom, blob: bytes) -> None:
        if room.closed or not room.joined:
            return  # the export at the next JoinResponseOk covers it
        self._queue_update(room, blob)

    def _queue_update(self, room: ClientRoom, data: bytes) -> bytes:
        msgs = P.split_update(room.crdt, room.room_id, data)
        bid = msgs[0].batch_id
        # Pending from now, so flush() waits for it even before the frames are out.
        room.pending[bid] = asyncio.get_running_loop().time()
        frames = [P.encode(m) for m in msgs]
        ws = self._ws

        async def send() -> None:
            try:
                for f in frames:
                    await ws.send(f)
            except Exception:
                pass  # connection lost: the rejoin resync sends it again

        asyncio.get_running_loop().create_task(send())
        return bid

    async def _send_update(self, room: ClientRoom, data: bytes) -> bytes:
        return self._queue_update(room, data)

    # -- connection loop -------------------------------------------------------------

    async def _run(self) -> None:
        import websockets  # deferred: only the client needs it

        delay = self.backoff_initial
        while not self._closed:
            try:
                async with websockets.connect(self.url, max_size=None, open_timeout=10) as ws:
                    self._ws = ws
                    self._connected.set()
                    delay = self.backoff_initial
                    # Rooms still joining have their own request in flight on this socket.
                    rejoin = [r for r in self._rooms.values()
                              if not r.closed and r.server_version is not None]
                    for r in rejoin:
                        r.joined = False
                        r.pending.clear()
                        asyncio.get_running_loop().create_task(self._rejoin(r))
                    async for frame in ws:
                        if isinstance(frame, str):
                            if frame == P.PING:
                                await ws.send(P.PONG)
                            continue
                        self._on_frame(frame)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("connection lost: %r", e)
            finally:
                self._connected.clear()
                self._ws = None
                for r in self._rooms.values():
                    r.joined = False
                    r.pending.clear()  # unacked: resent by the resync after rejoin
                    self._asm.discard_room(r.crdt, r.room_id)
            if self._closed:
                return
            self.reconnects += 1
            self._url_index += 1  # a single URL: the same one again
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.backoff_max)

    async def _rejoin(self, room: ClientRoom) -> None:
        delay = self.backoff_initial
        while not (room.closed or self._closed):
            try:
                await asyncio.wait_for(self._request_join(room), 10.0)
                return
            except JoinFailed as e:
                # The room may be unavailable for a while (its store is down); a
                # refusal on authentication or permission will not change.
                if e.code in (P.JoinErrorCode.AUTH_FAILED,):
                    room.closed = True
                    log.warning("rejoin refused", extra={"room": room.room_id, "error": repr(e)})
                    return
            except Exception as e:
                if not self._connected.is_set():
                    return  # the reconnection rejoins
                log.warning("rejoin failed", extra={"room": room.room_id, "error": repr(e)})
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.backoff_max)

    def _on_frame(self, frame: bytes) -> None:
        if len(self._asm):
            for h in self._asm.expire(asyncio.get_running_loop().time()):
                # The protocol lets a client report it; the resync on the next join
                # recovers the content either way.
                asyncio.get_running_loop().create_task(self._send(
                    P.Ack(h.crdt, h.room_id, h.batch_id, P.UpdateStatus.FRAGMENT_TIMEOUT)))
        try:
            msg = P.decode(frame)
        except P.ProtocolError as e:
            log.warning("malformed frame from server", extra={"error": str(e)})
            return
        room = self._rooms.get((msg.crdt, msg.room_id))
        if room is None:
            return
        t = msg.type
        if t == P.MessageType.JOIN_RESPONSE_OK:
            self._joined(room, msg)
        elif t == P.MessageType.JOIN_ERROR:
            fut = room._join_fut
            if msg.code == P.JoinErrorCode.VERSION_UNKNOWN:
                # Our version is foreign to the server: retry once with none, i.e.
                # ask for everything.
                asyncio.get_running_loop().create_task(self._send(
                    P.JoinRequest(room.crdt, room.room_id, room.auth, b"")))
            elif fut is not None and not fut.done():
                fut.set_exception(JoinFailed(msg.code, msg.message))
        elif t == P.MessageType.DOC_UPDATE:
            self._apply(room, msg.updates)
        elif t == P.MessageType.DOC_UPDATE_FRAGMENT_HEADER:
            try:
                self._asm.start(msg, asyncio.get_running_loop().time())
            except P.ProtocolError as e:
                log.warning("bad fragment header", extra={"error": str(e)})
        elif t == P.MessageType.DOC_UPDATE_FRAGMENT:
            try:
                whole = self._asm.add(msg)
            except P.ProtocolError as e:
                log.warning("bad fragment", extra={"error": str(e)})
                return
            if whole is not None:
                self._apply(room, (whole,))
        elif t == P.MessageType.ACK:
            room.pending.pop(msg.ref_id, None)
            if msg.status != P.UpdateStatus.OK:
                room.failed.append((msg.ref_id, msg.status))
        elif t == P.MessageType.ROOM_ERROR:
            room.joined = False
            if msg.code == P.RoomErrorCode.REJOIN_SUGGESTED:
                asyncio.get_running_loop().create_task(self._rejoin(room))
            else:
                room.closed = True
                fut = room._join_fut
                if fut is not None and not fut.done():
                    fut.set_exception(JoinFailed(msg.code, msg.message))

    def _joined(self, room: ClientRoom, msg: P.JoinResponseOk) -> None:
        # Batches still unacked from before are covered by the export below (or were
        # stored already), so waiting on their Acks would wait forever.
        room.pending.clear()
        room.permission = msg.permission
        if room.crdt == P.CRDT_LORO:
            sv = VersionVector.decode(msg.version) if msg.version else VersionVector()
            room.server_version = sv
            room.joined = True
            if not sv.includes_vv(room.doc.oplog_vv) and msg.permission == "write":
                # We have changes the server lacks (made offline, or unacked).
                self._queue_update(room, room.doc.export(ExportMode.Updates(sv)))
        else:
            room.server_version = VersionVector()
            room.joined = True
        fut = room._join_fut
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _apply(self, room: ClientRoom, updates) -> None:
        if room.crdt != P.CRDT_LORO:
            room.received.extend(updates)
            return
        for u in updates:
            if not u:
                continue
            try:
                room.doc.import_(u)
            except LoroError as e:
                log.warning("cannot import server update", extra={"error": str(e)})
