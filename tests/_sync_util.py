"""Helpers for the sync tests: an in-process server on a free loopback port, a raw
protocol client, and bounded waits (every network step has a timeout)."""

import asyncio
import contextlib
import socket

import pytest

uvicorn = pytest.importorskip("uvicorn", reason="the sync server extra (uvicorn) is not installed")
websockets = pytest.importorskip("websockets", reason="the sync server extra (websockets) is not installed")

from loro_c.sync import protocol as P  # noqa: E402
from loro_c.sync.server import ServerConfig, SyncApp  # noqa: E402

STEP = 10.0  # seconds any single network step may take before the test fails


def run(coro, timeout: float = 60.0):
    """Run an async test body with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(storage=None, **cfg):
    """Yield (app, ws url) for a SyncApp run by uvicorn on 127.0.0.1:<free port>."""
    app = SyncApp(storage=storage, config=ServerConfig(**cfg))
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning",
                            ws="websockets-sansio", ws_max_size=4 * P.MAX_MESSAGE_SIZE)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # older uvicorn
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    assert server.started, "server did not start"
    try:
        yield app, f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STEP)
        sock.close()


class Raw:
    """A bare protocol peer: sends frames, receives decoded messages."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def connect(cls, url):
        return cls(await asyncio.wait_for(websockets.connect(url, max_size=None), STEP))

    async def send(self, msg_or_frame):
        data = msg_or_frame if isinstance(msg_or_frame, (bytes, str)) else P.encode(msg_or_frame)
        await self.ws.send(data)

    async def recv_frame(self):
        return await asyncio.wait_for(self.ws.recv(), STEP)

    async def recv(self):
        f = await self.recv_frame()
        assert isinstance(f, bytes), f"expected a binary frame, got {f!r}"
        return P.decode(f)

    async def join(self, room, version=b"", crdt=P.CRDT_LORO, auth=b""):
        await self.send(P.JoinRequest(crdt, room, auth, version))
        return await self.recv()

    async def sync_point(self):
        """ping/pong: every frame the server queued before the pong has been received."""
        await self.send(P.PING)
        frames = []
        while True:
            f = await self.recv_frame()
            if f == P.PONG:
                return frames
            frames.append(P.decode(f))

    async def close(self):
        await self.ws.close()


async def until(pred, timeout=STEP, what="condition"):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
