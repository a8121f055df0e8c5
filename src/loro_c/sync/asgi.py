"""The ASGI application of the sync server: WebSocket, ``/health``, ``/metrics``, lifespan."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Optional

from .config import ServerConfig
from .session import Session
from .storage import Storage

if TYPE_CHECKING:
    from .server import SyncServer

# One logger for the whole server, as before the split (its name is in deployed log configs).
log = logging.getLogger("loro_c.sync.server")


class SyncApp:
    """ASGI application around a SyncServer.

    WebSocket connections on any path speak the protocol; ``GET /health`` answers
    ``{"status": "ok", ...}`` and ``GET /metrics`` the Prometheus text.  The ASGI
    lifespan shutdown (or :meth:`SyncServer.shutdown`) flushes and closes storage.
    """

    def __init__(self, server: Optional[SyncServer] = None, *, storage: Optional[Storage] = None,
                 config: Optional[ServerConfig] = None, broker=None):
        from .server import SyncServer  # server.py imports this module at its end
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
