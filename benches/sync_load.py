"""Load benchmark of the sync server (not a test): N clients x M rooms on loopback, each
client typing one character per update at a fixed rate; reports acked updates/s, latency
from send to receipt by the other clients of the room (p50/p99), and the server's memory
per connection and per room.

    python benches/sync_load.py --clients 60 --rooms 20 --seconds 10
    python benches/sync_load.py --server node   # loro-websocket's SimpleServer

The same protocol clients drive every server: `--server loro_c` (SQLite, every ack
durable), `--server loro_c-memory` (no storage), `--server node` (the npm loro-websocket
SimpleServer, in-memory; installed on first use into ~/.cache/loro_c-bench-node with its
peer dependencies).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from loro_c import ExportMode, LoroDoc  # noqa: E402
from loro_c.sync import protocol as P  # noqa: E402

NODE_SERVER = """
import { SimpleServer } from "loro-websocket/server";
const s = new SimpleServer({ port: Number(process.argv[2]), host: "127.0.0.1" });
await s.start();
console.log("ready");
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind, port, node_modules, tmp):
    if kind.startswith("loro_c"):
        db = ":memory:" if kind == "loro_c-memory" else os.path.join(tmp, "bench.sqlite3")
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        p = subprocess.Popen([sys.executable, "-m", "loro_c", "serve", "--port", str(port),
                              "--db", db, "--log-level", "warning"], env=env)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                return p
            except OSError:
                time.sleep(0.05)
        raise SystemExit("server did not start")
    script = Path(node_modules) / "bench_server.mjs"
    script.write_text(NODE_SERVER)
    p = subprocess.Popen(["node", str(script), str(port)], cwd=node_modules,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


class Client:
    def __init__(self, i, room):
        self.i, self.room = i, room
        self.doc = LoroDoc()
        self.doc.peer_id = i + 1
        self.sent = {}

    async def connect(self, url):
        self.ws = await websockets.connect(url, max_size=None)

    async def join(self):
        await self.ws.send(P.encode(P.JoinRequest("%LOR", self.room, b"", self.doc.oplog_vv.encode())))
        while P.decode(await self.ws.recv()).type != P.MessageType.JOIN_RESPONSE_OK:
            pass


async def run(args):
    port = free_port()
    url = f"ws://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as tmp:
        proc = start(args.server, port, args.node_modules, tmp)
        try:
            base = rss_kib(proc.pid)
            clients = [Client(i, f"room-{i % args.rooms}") for i in range(args.clients)]
            for c in clients:
                await c.connect(url)
            await asyncio.sleep(0.5)
            conn_rss = rss_kib(proc.pid)
            for c in clients:
                await c.join()
            await asyncio.sleep(0.5)
            room_rss = rss_kib(proc.pid)
            sent_at = {}
            latencies, acked = [], [0]
            stop = time.monotonic() + args.seconds

            async def reader(c):
                try:
                    async for f in c.ws:
                        if isinstance(f, str):
                            continue
                        m = P.decode(f)
                        now = time.monotonic()
                        if m.type == P.MessageType.ACK and m.status == 0:
                            acked[0] += 1
                        elif m.type == P.MessageType.DOC_UPDATE:
                            t = sent_at.get(m.batch_id)
                            if t is not None:
                                latencies.append(now - t)
                            for u in m.updates:
                                c.doc.import_(u)
                except websockets.ConnectionClosed:
                    pass

            async def typist(c):
                text = c.doc.get_text("t")
                n = 0
                await asyncio.sleep(c.i * args.interval / args.clients)  # spread the phases
                while time.monotonic() < stop:
                    before = c.doc.oplog_vv
                    text.insert(text.len_unicode, "abcdefghij"[n % 10])
                    c.doc.commit()
                    bid = os.urandom(8)
                    sent_at[bid] = time.monotonic()
                    await c.ws.send(P.encode(P.DocUpdate("%LOR", c.room, (c.doc.export(ExportMode.Updates(before)),), bid)))
                    n += 1
                    await asyncio.sleep(args.interval)

            readers = [asyncio.ensure_future(reader(c)) for c in clients]
            t0 = time.monotonic()
            await asyncio.gather(*(typist(c) for c in clients))
            await asyncio.sleep(1.0)  # let the last broadcasts arrive
            elapsed = time.monotonic() - t0
            end_rss = rss_kib(proc.pid)
            for c in clients:
                await c.ws.close()
            for r in readers:
                r.cancel()
        finally:
            proc.terminate()
            proc.wait(15)
    lat = sorted(latencies)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    print(f"server={args.server} clients={args.clients} rooms={args.rooms} "
          f"interval={args.interval * 1000:.0f}ms seconds={args.seconds}")
    print(f"  sent={len(sent_at)} acked={acked[0]} acked/s={acked[0] / elapsed:.0f} "
          f"deliveries={len(lat)} deliveries/s={len(lat) / elapsed:.0f}")
    print(f"  latency p50={pct(0.5):.2f}ms p99={pct(0.99):.2f}ms "
          f"max={lat[-1] * 1000 if lat else float('nan'):.2f}ms")
    print(f"  rss: base={base} KiB, per connection={(conn_rss - base) / args.clients:.1f} KiB, "
          f"per room (joined, empty)={(room_rss - conn_rss) / args.rooms:.1f} KiB, "
          f"end={end_rss} KiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=("loro_c", "loro_c-memory", "node"), default="loro_c")
    ap.add_argument("--clients", type=int, default=60)
    ap.add_argument("--rooms", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between a client's updates")
    ap.add_argument("--node-modules", default=str(Path.home() / ".cache" / "loro_c-bench-node"),
                    help="npm folder for the SimpleServer (--server node)")
    args = ap.parse_args()
    nm = Path(args.node_modules)
    if args.server == "node" and not (nm / "node_modules" / "loro-websocket").is_dir():
        nm.mkdir(parents=True, exist_ok=True)
        (nm / "package.json").write_text('{"name": "bench", "private": true, "type": "module"}')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "loro-websocket@0.6.2", "loro-crdt@1.17.1", "@loro-dev/flock", "yjs"],
                       cwd=nm, check=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
