"""Several server processes on one shared store: updates from other processes through
the broker, catch-up from the store after a reconnection, and retrying the store or
broker through an outage."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, List, Optional

from .. import LoroError, VersionVector
from .broker import BrokerUnavailable
from .storage import StoreUnavailable

if TYPE_CHECKING:
    from .rooms import Room

# One logger for the whole server, as before the split (its name is in deployed log configs).
log = logging.getLogger("loro_c.sync.server")


class BrokerReplication:
    """The broker side of a :class:`SyncServer` (a base class of it: these use its
    ``rooms``, ``storage``, ``broker``, ``metrics`` and ``config``)."""

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
        if pending:
            # Its dependencies never came over the broker: their process may have died
            # between storing and publishing them.  They are in the store.
            self._request_catch_up(room)

    def _on_version(self, key: str, version: bytes) -> None:
        """Another process loaded the room at ``version``: what it has that we lack was
        stored but never published (its writer died in between), so read the store."""
        room = self.rooms.get(key)
        if room is None or room.doc is None or room.broken:
            return
        try:
            vv = VersionVector.decode(version)
        except LoroError as e:
            log.warning("bad version beacon", extra={"room": room.room_id, "error": str(e)})
            return
        if not room.doc.oplog_vv.includes_vv(vv):
            self._request_catch_up(room)

    def _request_catch_up(self, room: Room) -> None:
        if room.catching_up:
            # The running one may have read the store before what we now miss was in it.
            room.catch_up_again = True
        else:
            room.catching_up = True  # until the task starts: no second one
            self._spawn(self._catch_up(room))

    async def _announce_version(self, room: Room) -> None:
        try:
            await self.broker.publish_version(room.key, room.doc.oplog_vv.encode())
        except BrokerUnavailable:
            pass  # the others catch up from the store when their connection returns

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
        room.catch_up_again = False
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
        if room.catch_up_again and self.rooms.get(room.key) is room and not room.broken:
            self._request_catch_up(room)

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
