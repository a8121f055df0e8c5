"""Durability: `python -m loro_c serve` killed with SIGKILL in the middle of a stream of
updates loses none that it acked, and a connected client resyncs after the restart."""

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from _sync_util import P, Raw, free_port, run, until

import loro_c
from loro_c import ExportMode, LoroDoc, VersionVector
from loro_c.sync.client import SyncClient
from loro_c.sync.storage import SQLiteStorage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def start_server(port, db):
    env = dict(os.environ)
    # The package the tests import, wherever it lives (installed or src/ in place).
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(loro_c.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "loro_c", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--db", db, "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc


async def wait_healthy(proc, port):
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("server did not become healthy")


def test_sigkill_mid_stream_loses_no_acked_update(tmp_path):
    db = str(tmp_path / "sync.sqlite3")
    port = free_port()

    final_value = []

    async def body():
        proc = start_server(port, db)
        try:
            await wait_healthy(proc, port)
            url = f"ws://127.0.0.1:{port}/"
            # A Python client with its own edits, connected across the crash.
            other = LoroDoc()
            other.peer_id = 2
            client = SyncClient(url, backoff_initial=0.05, backoff_max=0.5)
            await client.connect()
            croom = await client.join("d", other)
            other.get_text("o").insert(0, "before crash;")
            other.commit()
            await croom.flush()

            # A raw writer streams one update per message, pipelined, recording acks.
            src = LoroDoc()
            src.peer_id = 1
            w = await Raw.connect(url)
            await w.join("d")
            sent_vv = {}
            acked = []

            async def reader():
                try:
                    while True:
                        m = await w.recv()
                        if m.type == P.MessageType.ACK and m.status == P.UpdateStatus.OK:
                            acked.append(sent_vv[m.ref_id])
                except Exception:
                    return

            rtask = asyncio.get_running_loop().create_task(reader())
            killed = False
            loop = asyncio.get_running_loop()
            end = loop.time() + 60
            for i in range(20000):
                # A window of 50 unacked updates keeps the stream going however slow
                # the disk is; the kill comes with updates still in flight.
                while not killed and len(sent_vv) - len(acked) >= 50 and loop.time() < end:
                    await asyncio.sleep(0.002)
                if killed and len(sent_vv) - len(acked) > 400:
                    break  # the socket may buffer sends for a while after the kill
                before = src.oplog_vv
                src.get_text("t").insert(src.get_text("t").len_unicode, f"{i},")
                src.commit()
                bid = i.to_bytes(8, "big")
                sent_vv[bid] = src.oplog_vv
                try:
                    await w.send(P.DocUpdate("%LOR", "d", (src.export(ExportMode.Updates(before)),), bid))
                except Exception:
                    break
                if not killed and len(acked) >= 40 and len(sent_vv) > len(acked):
                    proc.send_signal(signal.SIGKILL)  # mid-stream: more are in flight
                    killed = True
                await asyncio.sleep(0)
            assert killed, "the stream ended before the kill"
            proc.wait(10)
            await asyncio.wait_for(rtask, 10)
            assert len(acked) >= 40
            last_acked = acked[-1]

            other.get_text("o").insert(0, "offline;")  # made while the server is down
            other.commit()

            proc = start_server(port, db)
            await wait_healthy(proc, port)
            r = await Raw.connect(url)
            ok = await r.join("d")
            server_vv = VersionVector.decode(ok.version)
            # Every acked update is there (acks arrive in order, so the last covers all).
            assert server_vv.includes_vv(last_acked)
            fresh = LoroDoc()
            for m in await r.sync_point():
                fresh.import_(m.updates[0])
            text = fresh.get_text("t").to_string()
            n_acked = len(acked)
            assert text.startswith("".join(f"{i}," for i in range(n_acked)))

            # The client reconnected by itself and both sides exchanged what was missing.
            await until(lambda: client.reconnects >= 1, what="reconnect")
            await croom.flush()
            r2 = await Raw.connect(url)
            await r2.join("d")
            final = LoroDoc()
            for m in await r2.sync_point():
                final.import_(m.updates[0])
            assert final.get_text("o").to_string() == "offline;before crash;"
            await until(lambda: other.get_text("t").to_string() == final.get_text("t").to_string(),
                        what="client resync")
            final_value.append(final.get_deep_value())
            for c in (r, r2, w):
                await c.close()
            await client.close()
        finally:
            if proc.poll() is None:
                proc.terminate()  # graceful: SIGTERM runs the flushing shutdown
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        # uvicorn re-raises the SIGTERM it handled once shut down, hence -SIGTERM.
        err = proc.stderr.read().decode()
        assert proc.returncode in (0, -signal.SIGTERM), err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        # The graceful shutdown compacted the room: one blob, empty log, same content.
        store = SQLiteStorage(db)
        data = store.load(P.CRDT_LORO + "d")
        store.close()
        assert data.blob is not None and data.updates == []
        compacted = LoroDoc()
        compacted.import_(data.blob)
        assert compacted.get_deep_value() == final_value[0]

    run(body(), timeout=120)
