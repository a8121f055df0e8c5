"""Load benchmark of the sync server (not a test): N clients x M rooms on loopback, each
client typing one character per update at a fixed rate; reports acked updates/s, latency
from send to receipt by the other clients of the room (p50/p99), and the server's memory
per connection and per room.

    python benches/sync_load.py --clients 60 --rooms 20 --seconds 10
    python benches/sync_load.py --server node   # loro-websocket's SimpleServer
    python benches/sync_load.py --server all    # the four below, one after the other,
                                                # then a Markdown table (as in the README)

The same protocol clients drive every server: `--server loro_c` (SQLite, every ack
durable), `--server loro_c-memory` (no storage), `--server pycrdt` (pycrdt-websocket,
the equivalent Yjs workload over y-websocket), `--server node` (the npm loro-websocket
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


PYCRDT_SERVER = """
import sys, anyio, uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer

async def main(port):
    ws = WebsocketServer()
    async with ws:
        config = uvicorn.Config(ASGIServer(ws), host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()

anyio.run(main, int(sys.argv[1]))
"""


def start(kind, port, node_modules, tmp):
    if kind == "pycrdt":
        script = os.path.join(tmp, "pycrdt_server.py")
        with open(script, "w") as f:
            f.write(PYCRDT_SERVER)
        p = subprocess.Popen([sys.executable, script, str(port)])
        import socket
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p
            except OSError:
                time.sleep(0.05)
        raise SystemExit("pycrdt server did not start")
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


class YClient:
    """The same typist on Yjs (pycrdt) over the y-websocket protocol, one room per URL path.
    y-websocket has no batch ids, so each update also sets map key "c<i>" to its sequence
    number, which receivers observe to time the delivery."""

    def __init__(self, i, room):
        import pycrdt
        self.pycrdt = pycrdt
        self.i, self.room = i, room
        self.doc = pycrdt.Doc()
        self.text = self.doc.get("t", type=pycrdt.Text)
        self.map = self.doc.get("m", type=pycrdt.Map)

    async def connect(self, url):
        self.ws = await websockets.connect(url + self.room, max_size=None)

    async def join(self):
        await self.ws.send(self.pycrdt.create_sync_message(self.doc))


async def run_yjs(args, url, proc):
    import pycrdt
    base = rss_kib(proc.pid)
    clients = [YClient(i, f"room-{i % args.rooms}") for i in range(args.clients)]
    for c in clients:
        await c.connect(url)
    await asyncio.sleep(0.5)
    conn_rss = rss_kib(proc.pid)
    for c in clients:
        await c.join()
    await asyncio.sleep(0.5)
    room_rss = rss_kib(proc.pid)
    sent_at, latencies = {}, []
    stop = time.monotonic() + args.seconds

    def observer(c):
        def cb(event):
            now = time.monotonic()
            for key, change in event.keys.items():
                t = sent_at.get((key, change.get("newValue")))
                if t is not None and key != f"c{c.i}":
                    latencies.append(now - t)
        return cb

    subs = [c.map.observe(observer(c)) for c in clients]

    async def reader(c):
        try:
            async for m in c.ws:
                if m and m[0] == pycrdt.YMessageType.SYNC:
                    reply = pycrdt.handle_sync_message(m[1:], c.doc)
                    if reply is not None:
                        await c.ws.send(reply)
        except websockets.ConnectionClosed:
            pass

    async def typist(c):
        n = 0
        await asyncio.sleep(c.i * args.interval / args.clients)
        while time.monotonic() < stop:
            before = c.doc.get_state()
            with c.doc.transaction():
                c.text.insert(len(c.text), "abcdefghij"[n % 10])
                c.map[f"c{c.i}"] = f"{n}"
            sent_at[(f"c{c.i}", f"{n}")] = time.monotonic()
            await c.ws.send(pycrdt.create_update_message(c.doc.get_update(before)))
            n += 1
            await asyncio.sleep(args.interval)

    readers = [asyncio.ensure_future(reader(c)) for c in clients]
    t0 = time.monotonic()
    await asyncio.gather(*(typist(c) for c in clients))
    await asyncio.sleep(1.0)
    elapsed = time.monotonic() - t0
    end_rss = rss_kib(proc.pid)
    for c in clients:
        await c.ws.close()
    for r in readers:
        r.cancel()
    del subs
    # y-websocket has no acks: report what was sent.
    return len(sent_at), len(sent_at), latencies, elapsed, base, conn_rss, room_rss, end_rss


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
        if args.server == "pycrdt":
            try:
                res = await run_yjs(args, url, proc)
            finally:
                proc.terminate()
                proc.wait(15)
            return report(args, *res, acked_label="sent (no acks in y-websocket)")
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
                    c.doc.get_map("m").insert(f"c{c.i}", f"{n}")  # as the Yjs workload does
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
    return report(args, len(sent_at), acked[0], latencies, elapsed, base, conn_rss, room_rss,
                  end_rss)


def report(args, sent, acked, latencies, elapsed, base, conn_rss, room_rss, end_rss,
           acked_label="acked"):
    lat = sorted(latencies)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    print(f"server={args.server} clients={args.clients} rooms={args.rooms} "
          f"interval={args.interval * 1000:.0f}ms seconds={args.seconds}")
    print(f"  sent={sent} {acked_label}={acked} per s={acked / elapsed:.0f} "
          f"deliveries={len(lat)} deliveries/s={len(lat) / elapsed:.0f}")
    print(f"  latency p50={pct(0.5):.2f}ms p99={pct(0.99):.2f}ms "
          f"max={lat[-1] * 1000 if lat else float('nan'):.2f}ms")
    print(f"  rss: base={base} KiB, per connection={(conn_rss - base) / args.clients:.1f} KiB, "
          f"per room (joined, empty)={(room_rss - conn_rss) / args.rooms:.1f} KiB, "
          f"end={end_rss} KiB")
    # A garbage-collected server (Node) may shrink between two samples: no estimate then.
    kib = lambda d, n: f"{d / n:.0f} KiB" if d > 0 else "n/a"
    return (f"{acked / elapsed:.0f} {acked_label.split()[0]}", f"{pct(0.5):.0f} / {pct(0.99):.0f} ms",
            kib(conn_rss - base, args.clients), kib(room_rss - conn_rss, args.rooms))


LABELS = {
    "loro_c": "loro_c, SQLite (every ack durable)",
    "loro_c-memory": "loro_c, `--db :memory:`",
    "pycrdt": "`pycrdt-websocket` (Yjs, y-websocket, in memory, no acks)",
    "node": "npm `loro-websocket` 0.6.2 SimpleServer (in memory)",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=("loro_c", "loro_c-memory", "node", "pycrdt", "all"),
                    default="loro_c")
    ap.add_argument("--clients", type=int, default=60)
    ap.add_argument("--rooms", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between a client's updates")
    ap.add_argument("--node-modules", default=str(Path.home() / ".cache" / "loro_c-bench-node"),
                    help="npm folder for the SimpleServer (--server node)")
    args = ap.parse_args()
    nm = Path(args.node_modules)
    if args.server in ("node", "all") and not (nm / "node_modules" / "loro-websocket").is_dir():
        nm.mkdir(parents=True, exist_ok=True)
        (nm / "package.json").write_text('{"name": "bench", "private": true, "type": "module"}')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "loro-websocket@0.6.2", "loro-crdt@1.17.1", "@loro-dev/flock", "yjs"],
                       cwd=nm, check=True)
    if args.server != "all":
        asyncio.run(run(args))
        return
    rows = []
    for kind in LABELS:  # the same offered load on each server, in one run
        args.server = kind
        rows.append((LABELS[kind],) + asyncio.run(run(args)))
    print(f"\n{args.clients} clients x {args.rooms} rooms x {args.seconds:g} s, one update per "
          f"client every {args.interval * 1000:.0f} ms\n")
    print("| server | updates/s | p50 / p99 latency | RSS per connection / per room |")
    print("|---|---|---|---|")
    for label, rate, lat, conn, room in rows:
        print(f"| {label} | {rate} | {lat} | {conn} / {room} |")


if __name__ == "__main__":
    main()
