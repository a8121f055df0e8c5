"""Rooms: one document (or presence store) and its members, and their lifecycle in the
server: loading from storage, idle unloading, compaction of the stored log."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Dict, Optional, Set

from .. import ExportMode, LoroDoc, VersionVector
from ..ephemeral import EphemeralStore
from . import protocol as P
from .storage import StoreUnavailable

if TYPE_CHECKING:
    from .session import Session

# One logger for the whole server, as before the split (its name is in deployed log configs).
log = logging.getLogger("loro_c.sync.server")


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
        # A reason to catch up from the store arrived while a catch-up was reading it.
        self.catch_up_again = False
        self.compacting: Optional[asyncio.Task] = None
        self.broken = False
        self.catching_up = False
        # The broker connection (its number) through which this room has been kept
        # complete: loaded or caught up from the store while subscribed on it.  Any
        # other value means messages may have been missed, so joins wait for a catch-up.
        self.epoch: Optional[int] = None


class RoomLifecycle:
    """Loading, unloading and compaction of the rooms of a :class:`SyncServer` (a base
    class of it: these use its ``rooms``, ``storage``, ``broker`` and ``config``)."""

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
            if self.broker is not None and room.doc is not None and (data.blob or data.updates):
                self._spawn(self._announce_version(room))
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
