"""Scale-out benchmark (not a test): `python -m loro_c serve` with 1, 2 and 3 processes
sharing one Redis (--broker) and one PostgreSQL (--store, fsync on), against the
single-process SQLite server.  Client i of N joins room i % M on process (i // M) % P,
so each room has clients on every process and most deliveries cross the broker.

    python benches/sync_scale.py                       # every setup below, 10 s each
    python benches/sync_scale.py --setups pg3 --clients 60 --seconds 20

Reports acked updates/s, latency from send to receipt by the other clients of the room
(p50/p99), CPU per update in the servers, Redis and PostgreSQL, and the cost per update of the store (wall time of the group commits in the
processes / updates) and of the broker (wall time of PUBLISH / batches), from each
process's /metrics.  Two modes: ``--interval 0`` (default) is closed loop — every client
sends its next update as soon as the previous one is acked, which measures capacity;
``--interval 0.05`` is a fixed typing rate, which measures latency under a given load.

redis-server and PostgreSQL are started by tests/_services.py (installed with apt-get
when absent and running as root).
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
sys.path.insert(0, str(ROOT / "tests"))

from loro_c import ExportMode, LoroDoc  # noqa: E402
from loro_c.sync import protocol as P  # noqa: E402

from _services import Postgres, Redis, free_port  # noqa: E402

SETUPS = {
    # name: (processes, store, broker)
    "sqlite1": (1, "sqlite", False),
    "pg1": (1, "pg", False),
    "pg1+redis": (1, "pg", True),
    "pg2": (2, "pg", True),
    "pg3": (3, "pg", True),
}


_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the command: state ppid ... utime stime cutime cstime (fields 14-17 of stat)
    return int(fields[1]), [int(x) / _TCK for x in fields[11:15]]


def cpu_seconds(pid, tree=False):
    """CPU time used by a process (and, with tree, its live and reaped children):
    a per-update cost that CPU contention from other jobs does not inflate."""
    try:
        _, (ut, st, cut, cst) = _stat(pid)
    except OSError:
        return 0.0
    total = ut + st
    if tree:
        total += cut + cst
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    ppid, (u, s_, _, _) = _stat(int(d))
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == pid:
                    total += u + s_
    return total


def metrics(port):
    out = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.split()
                out[k] = float(v)
    return out


def start_servers(n, store, broker, tmp, redis, pg):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    ports, procs = [free_port() for _ in range(n)], []
    for i, port in enumerate(ports):
        cmd = [sys.executable, "-m", "loro_c", "serve", "--port", str(port), "--log-level", "warning"]
        cmd += ["--store", pg.dsn] if store == "pg" else ["--db", os.path.join(tmp, "bench.sqlite3")]
        if broker:
            cmd += ["--broker", redis.url]
        procs.append(subprocess.Popen(cmd, env=env))
    for port in ports:
        for _ in range(400):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("server did not start")
    return ports, procs


class Client:
    def __init__(self, i, room):
        self.i, self.room = i, room
        self.doc = LoroDoc()
        self.doc.peer_id = i + 1
        self.acked = asyncio.Event()

    async def connect(self, url):
        self.ws = await websockets.connect(url, max_size=None)
        await self.ws.send(P.encode(P.JoinRequest("%LOR", self.room, b"", b"")))
        while P.decode(await self.ws.recv()).type != P.MessageType.JOIN_RESPONSE_OK:
            pass


async def drive(args, ports):
    # Fresh rooms for every setup: the database is shared across setups, and a peer id
    # reusing counters already stored would be taken for a duplicate.
    tag = os.urandom(4).hex()
    clients = [Client(i, f"room-{tag}-{i % args.rooms}") for i in range(args.clients)]
    for c in clients:
        # Room k has clients k, k+M, k+2M...: spread over the processes in turn.
        await c.connect(f"ws://127.0.0.1:{ports[(c.i // args.rooms) % len(ports)]}/")
    sent_at, latencies, acked = {}, [], [0]
    stop = time.monotonic() + args.seconds

    async def reader(c):
        try:
            async for f in c.ws:
                if isinstance(f, str):
                    continue
                m = P.decode(f)
                if m.type == P.MessageType.ACK and m.status == 0:
                    acked[0] += 1
                    c.acked.set()
                elif m.type == P.MessageType.DOC_UPDATE:
                    t = sent_at.get(m.batch_id)
                    if t is not None:
                        latencies.append(time.monotonic() - t)
        except websockets.ConnectionClosed:
            pass

    async def typist(c):
        text = c.doc.get_text("t")
        n = 0
        if args.interval:
            await asyncio.sleep(c.i * args.interval / args.clients)
        while time.monotonic() < stop:
            before = c.doc.oplog_vv
            text.insert(text.len_unicode, "abcdefghij"[n % 10])
            c.doc.commit()
            bid = os.urandom(8)
            sent_at[bid] = time.monotonic()
            c.acked.clear()
            await c.ws.send(P.encode(P.DocUpdate("%LOR", c.room, (c.doc.export(ExportMode.Updates(before)),), bid)))
            n += 1
            if args.interval:
                await asyncio.sleep(args.interval)
            else:
                try:
                    await asyncio.wait_for(c.acked.wait(), 10)
                except asyncio.TimeoutError:
                    pass

    readers = [asyncio.ensure_future(reader(c)) for c in clients]
    t0 = time.monotonic()
    await asyncio.gather(*(typist(c) for c in clients))
    elapsed = time.monotonic() - t0
    await asyncio.sleep(1.0)  # the last relays
    for c in clients:
        await c.ws.close()
    for r in readers:
        r.cancel()
    return len(sent_at), acked[0], latencies, elapsed


def run_setup(name, args, redis, pg):
    n, store, broker = SETUPS[name]
    with tempfile.TemporaryDirectory() as tmp:
        ports, procs = start_servers(n, store, broker, tmp, redis, pg)
        try:
            def cpu():
                return (sum(cpu_seconds(p.pid) for p in procs), cpu_seconds(redis.proc.pid),
                        cpu_seconds(pg.proc.pid, tree=True))
            before = [metrics(p) for p in ports]
            cpu0 = cpu()
            sent, acked, lat, elapsed = asyncio.run(drive(args, ports))
            cpu1 = cpu()
            after = [metrics(p) for p in ports]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(20)

    def delta(key):
        return sum(a.get(key, 0) - b.get(key, 0) for a, b in zip(after, before))

    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    ups = delta("loro_sync_updates_total") or 1
    commits = delta("loro_sync_storage_commits_total") or 1
    pubs = delta("loro_sync_broker_published_total")
    row = {
        "setup": name, "acked/s": acked / elapsed, "p50 ms": pct(0.5), "p99 ms": pct(0.99),
        "deliveries/s": len(lat) / elapsed,
        "updates/commit": ups / commits,
        "store ms/commit": (1000 * delta("loro_sync_store_append_seconds_total") / commits
                            if store == "pg" else float("nan")),
        "store ms/update": (1000 * delta("loro_sync_store_append_seconds_total") / ups
                            if store == "pg" else float("nan")),
        "broker ms/publish": 1000 * delta("loro_sync_broker_publish_seconds_total")
                             / delta("loro_sync_broker_publish_round_trips_total") if pubs else float("nan"),
        # CPU per acked update, summed over all server processes / Redis / PostgreSQL.
        "servers cpu ms/upd": 1000 * (cpu1[0] - cpu0[0]) / ups,
        "redis cpu ms/upd": 1000 * (cpu1[1] - cpu0[1]) / ups if broker else float("nan"),
        "pg cpu ms/upd": 1000 * (cpu1[2] - cpu0[2]) / ups if store == "pg" else float("nan"),
    }
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--setups", default=",".join(SETUPS), help="comma-separated: " + ", ".join(SETUPS))
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--rooms", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.0,
                    help="seconds between a client's updates; 0 = next one as soon as acked")
    args = ap.parse_args()
    redis, pg = Redis(), Postgres()
    redis.start()
    pg.start(fsync=True)
    try:
        rows = [run_setup(s, args, redis, pg) for s in args.setups.split(",")]
    finally:
        redis.close()
        pg.close()
    mode = "closed loop" if not args.interval else f"interval {args.interval * 1000:.0f} ms"
    print(f"clients={args.clients} rooms={args.rooms} seconds={args.seconds} {mode}")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(v if isinstance(v, str) else f"{v:.2f}" if v < 10 else f"{v:.0f}"
                                for v in r.values()) + " |")


if __name__ == "__main__":
    main()
