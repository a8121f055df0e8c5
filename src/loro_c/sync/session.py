"""One client connection of the sync server, whatever the transport."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING, Dict, Optional, Tuple, Union

from . import protocol as P

if TYPE_CHECKING:
    from .server import SyncServer

# One logger for the whole server, as before the split (its name is in deployed log configs).
log = logging.getLogger("loro_c.sync.server")


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
