"""The asyncio client against a scripted fake server: join retries after
version_unknown, join failures, fragment reassembly and its timeout report."""

import asyncio

import pytest

from _sync_util import P, free_socket, run, until, websockets

from loro_c import ExportMode, LoroDoc, VersionVector
from loro_c.sync.client import JoinFailed, SyncClient


async def fake_server(script):
    """Serve one connection with `script(ws)`; return (url, server)."""
    sock = free_socket()
    server = await websockets.serve(script, sock=sock)
    return f"ws://127.0.0.1:{sock.getsockname()[1]}/", server


def content(text):
    d = LoroDoc()
    d.peer_id = 77
    d.get_text("t").insert(0, text)
    d.commit()
    return d, d.export(ExportMode.Updates(VersionVector()))


def test_version_unknown_retries_with_an_empty_version_and_fragments_reassemble():
    src, blob = content("y" * 400_000)  # backfill larger than a frame
    seen = []

    async def script(ws):
        while True:
            m = P.decode(await ws.recv())
            seen.append(m)
            if m.type != P.MessageType.JOIN_REQUEST:
                continue
            if m.version:
                await ws.send(P.encode(P.JoinError("%LOR", m.room_id, P.JoinErrorCode.VERSION_UNKNOWN,
                                                   "?", src.oplog_vv.encode())))
            else:
                await ws.send(P.encode(P.JoinResponseOk("%LOR", m.room_id, "read", src.oplog_vv.encode())))
                for f in P.split_update("%LOR", m.room_id, blob):
                    await ws.send(P.encode(f))

    async def body():
        url, server = await fake_server(script)
        c = SyncClient(url)
        await c.connect()
        d = LoroDoc()
        d.peer_id = 5
        d.get_text("t").insert(0, "local")  # a non-empty version the server "cannot read"
        d.commit()
        room = await c.join("r", d)
        assert room.permission == "read"
        await until(lambda: d.oplog_vv.includes_vv(src.oplog_vv), what="backfill")
        assert "y" * 400_000 in d.get_text("t").to_string()
        joins = [m for m in seen if m.type == P.MessageType.JOIN_REQUEST]
        assert [bool(j.version) for j in joins] == [True, False]
        # Read-only: the client does not push its own changes.
        assert not [m for m in seen if m.type == P.MessageType.DOC_UPDATE]
        await c.close()
        server.close()
    run(body())


def test_join_errors_raise_join_failed():
    async def script(ws):
        async for f in ws:
            m = P.decode(f)
            await ws.send(P.encode(P.JoinError("%LOR", m.room_id, P.JoinErrorCode.AUTH_FAILED, "no")))

    async def body():
        url, server = await fake_server(script)
        c = SyncClient(url)
        await c.connect()
        with pytest.raises(JoinFailed) as e:
            await c.join("r", LoroDoc())
        assert e.value.code == P.JoinErrorCode.AUTH_FAILED
        await c.close()
        server.close()
    run(body())


def test_incomplete_server_fragments_are_reported_as_fragment_timeout():
    got = asyncio.Queue()

    async def script(ws):
        assert P.decode(await ws.recv()).type == P.MessageType.JOIN_REQUEST
        await ws.send(P.encode(P.JoinResponseOk("%LOR", "r", "write", b"")))
        await ws.send(P.encode(P.DocUpdateFragmentHeader("%LOR", "r", b"Z" * 8, 2, 10)))
        await ws.send(P.encode(P.DocUpdateFragment("%LOR", "r", b"Z" * 8, 0, b"12345")))
        await asyncio.sleep(0.3)  # past the client's reassembly timeout
        await ws.send(P.encode(P.Leave("%LOR", "other")))  # any frame wakes the check
        await got.put(P.decode(await ws.recv()))

    async def body():
        url, server = await fake_server(script)
        c = SyncClient(url, fragment_timeout=0.1)
        await c.connect()
        await c.join("r", LoroDoc())
        ack = await asyncio.wait_for(got.get(), 10)
        assert (ack.type, ack.ref_id, ack.status) == (P.MessageType.ACK, b"Z" * 8,
                                                      P.UpdateStatus.FRAGMENT_TIMEOUT)
        await c.close()
        server.close()
    run(body())
