"""Scale-out: three `python -m loro_c serve` processes sharing one real redis-server
(--broker) and one real PostgreSQL (--store), with clients on different processes.

Convergence (Python and JS clients, late joiners), compaction racing appends, and the
faults: kill -9 of a process mid-traffic, a Redis restart, PostgreSQL stopped for a
while.  The services are started here (tests/_services.py) and stopped afterwards."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _sync_util import P, Raw, run, until

pytest.importorskip("asyncpg", reason="the server-scale extra (asyncpg) is not installed")
pytest.importorskip("redis", reason="the server-scale extra (redis) is not installed")

import loro_c  # noqa: E402
from loro_c import ExportMode, LoroDoc, VersionVector  # noqa: E402
from loro_c.sync.client import SyncClient  # noqa: E402
from loro_c.sync.pgstore import PgStorage  # noqa: E402

from _services import Postgres, Redis, free_port  # noqa: E402
from test_sync_js import SCRIPT, _line, _vv  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX services and signals")


class Cluster:
    """N server processes on one Redis and one PostgreSQL."""

    def __init__(self, redis: Redis, pg: Postgres, n: int = 3):
        self.redis, self.pg = redis, pg
        self.ports = [free_port() for _ in range(n)]
        self.procs = [None] * n
        # Files, not pipes: a full pipe would block a server that logs a lot.
        self.logs = [os.path.join(redis.dir, f"server{i}.log") for i in range(n)]
        for i in range(n):
            self.start(i)
        for i in range(n):
            self.wait_healthy(i)

    def url(self, i):
        return f"ws://127.0.0.1:{self.ports[i]}/"

    def start(self, i):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(loro_c.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "loro_c", "serve", "--port", str(self.ports[i]),
             "--store", self.pg.dsn, "--broker", self.redis.url, "--log-level", "warning",
             # Small: compaction and unloading happen during the tests, racing traffic.
             "--compact-after", "24", "--idle-unload", "2", "--outage-timeout", "60"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.logs[i], "ab"))

    def log_text(self, i):
        with open(self.logs[i], "rb") as f:
            return f.read().decode(errors="replace")

    def health(self, i):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[i]}/health", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def metric(self, i, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[i]}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        raise AssertionError(f"no metric {name}")

    def wait_healthy(self, i, timeout=30.0):
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = self.procs[i]
            if p.poll() is not None:
                raise AssertionError(f"server {i} exited: {self.log_text(i)[-2000:]}")
            try:
                if self.health(i)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server {i} not healthy: {self.health(i)}")

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def close(self):
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in self.procs:
            if p is None:
                continue
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


@pytest.fixture(scope="module")
def services():
    redis = Redis()
    pg = None
    try:
        redis.start()
        pg = Postgres()
        pg.start()
        yield redis, pg
    finally:
        redis.close()
        if pg is not None:
            pg.close()


@pytest.fixture(scope="module")
def cluster(services):
    c = Cluster(*services)
    try:
        yield c
    finally:
        c.close()
        for i in range(len(c.procs)):
            # Faults are logged as warnings; an error or a traceback of ours is a bug.
            for line in c.log_text(i).splitlines():
                rec = json.loads(line)
                assert rec["level"] not in ("error", "critical"), f"server {i}: {line}"
                if rec["logger"].startswith("loro_c"):
                    assert "exc" not in rec, f"server {i}: {line}"


async def health_poll(cluster, i, pred, what):
    await until(lambda: pred(cluster.health(i)), 20, what)


async def stored_doc(dsn, room):
    """The room as a process loading it from PostgreSQL would see it."""
    s = PgStorage(dsn)
    try:
        data = await s.load(P.CRDT_LORO + room)
    finally:
        await s.close()
    d = LoroDoc()
    if data.blob:
        d.import_(data.blob)
    for _, u in data.updates:
        d.import_(u)
    return d


async def joined_client(url, room, peer):
    c = SyncClient(url, backoff_initial=0.05, backoff_max=0.5)
    await c.connect()
    d = LoroDoc()
    d.peer_id = peer
    r = await c.join(room, d)
    return c, d, r


def edit(doc, tag, i):
    t = doc.get_text("t")
    t.insert((i * 7) % (t.len_unicode + 1), f"{tag}{i};")
    doc.get_list("l").push(f"{tag}{i}")
    doc.commit()


def test_clients_on_three_processes_converge_and_late_joiners_get_everything(cluster, request):
    edits = 40
    try:
        js = request.getfixturevalue("js_env")
    except pytest.skip.Exception:
        js = None  # no node/npm here: the Python clients still cover every process

    async def body():
        clients = [await joined_client(cluster.url(i % 3), "conv", 10 + i) for i in range(4)]
        nodes = [await asyncio.create_subprocess_exec(
            "node", str(js / SCRIPT.name), cluster.url(i), "conv", name, str(edits),
            cwd=js, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024)
            for i, name in ((1, "A"), (2, "B"))] if js else []
        try:
            for n in nodes:
                await _line(n, "joined")
            for i in range(edits):  # all four Python clients interleaved with the Node ones
                for k, (_, d, _) in enumerate(clients):
                    edit(d, f"P{k}-", i)
                await asyncio.sleep(0.002 if i % 4 == 0 else 0)
            versions = [_vv((await _line(n, "edited"))["version"]) for n in nodes]
            for _, _, r in clients:
                await r.flush(30)
                assert not r.failed
            want = VersionVector()
            for v in versions + [d.oplog_vv for _, d, _ in clients]:
                want.merge(v)
            docs = [d for _, d, _ in clients]
            await until(lambda: all(d.oplog_vv == want for d in docs), 30, "python clients converge")
            target = {str(k): v for k, v in want.to_dict().items()}
            for n in nodes:
                n.stdin.write((json.dumps({"target": target}) + "\n").encode())
                await n.stdin.drain()
            finals = [await _line(n, "final") for n in nodes]
            expected = docs[0].get_deep_value()
            for d in docs[1:]:
                assert d.get_deep_value() == expected
            for f in finals:
                assert _vv(f["version"]) == want and f["value"] == expected
            for k in range(4):
                assert f"P{k}-0" in expected["l"] and f"P{k}-{edits - 1}" in expected["l"]
            if js:
                assert expected["m"]["big"] == "x" * 300_000  # fragmented, relayed across processes
            # A late joiner on any process gets the full state.
            for i in range(3):
                c, d, _ = await joined_client(cluster.url(i), "conv", 50 + i)
                await until(lambda: d.oplog_vv == want, 20, f"late joiner on process {i}")
                assert d.get_deep_value() == expected
                await c.close()
            stored = await stored_doc(cluster.pg.dsn, "conv")
            assert stored.oplog_vv == want and stored.get_deep_value() == expected
            # ...and the processes compacted the room during the traffic (--compact-after
            # 24), each folding only what it read: the stored state above is complete.
            import asyncpg
            conn = await asyncpg.connect(cluster.pg.dsn)
            try:
                assert await conn.fetchval("SELECT count(*) FROM loro_snapshots WHERE room = $1",
                                           P.CRDT_LORO + "conv") == 1
            finally:
                await conn.close()
            for n in nodes:
                assert await asyncio.wait_for(n.wait(), 30) == 0
        finally:
            for n in nodes:
                if n.returncode is None:
                    n.kill()
                    await n.wait()
            for c, _, _ in clients:
                await c.close()
        # The other processes got the updates over the broker, not only from the store.
        assert all(cluster.metric(i, "loro_sync_broker_received_total") > 0 for i in range(3))

    run(body(), timeout=120)


def test_compaction_is_exclusive_and_keeps_concurrent_appends(services):
    _, pg = services
    room = P.CRDT_LORO + "compact-race"

    async def body():
        import asyncpg
        a, b = PgStorage(pg.dsn), PgStorage(pg.dsn)
        writers = [LoroDoc(), LoroDoc()]
        for k, w in enumerate(writers):
            w.peer_id = 100 + k
        done = asyncio.Event()
        calls = []

        def fold(data):
            d = LoroDoc()
            if data.blob:
                d.import_(data.blob)
            folded = []
            for seq, u in data.updates:
                if d.import_(u).pending is None:
                    folded.append(seq)
            calls.append(len(folded))
            return d.export(ExportMode.Snapshot()), folded

        async def write(k, store):
            w = writers[k]
            for i in range(150):
                before = w.oplog_vv
                w.get_text("t").insert(0, f"{k}.{i};")
                w.commit()
                await store.append(room, w.export(ExportMode.Updates(before)))
                if i % 7 == 0:
                    await asyncio.sleep(0.001)

        async def compactor(store):
            while not done.is_set():
                await store.compact_room(room, fold)
                await asyncio.sleep(0)

        comps = [asyncio.ensure_future(compactor(s)) for s in (a, b)]
        await asyncio.gather(write(0, a), write(1, b))
        done.set()
        await asyncio.gather(*comps)
        assert len(calls) > 2  # compactions really ran during the appends

        # One process at a time: while another holds the room's lock, nothing happens.
        conn = await asyncpg.connect(pg.dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", room)
                n = len(calls)
                assert await a.compact_room(room, fold) is False
                assert len(calls) == n
        finally:
            await conn.close()
        assert await a.compact_room(room, fold) is True
        assert await a.log_length(room) == 0

        d = await stored_doc(pg.dsn, room[len(P.CRDT_LORO):])
        for w in writers:
            assert d.oplog_vv.includes_vv(w.oplog_vv)
        assert sorted(d.get_text("t").to_string().split(";")[:-1]) == sorted(
            f"{k}.{i}" for k in range(2) for i in range(150))
        await a.close()
        await b.close()

    run(body(), timeout=90)


def test_kill9_of_a_process_loses_no_acked_update_and_its_clients_move(cluster):
    async def body():
        # A Python client on process 0 that fails over to process 1.
        other = LoroDoc()
        other.peer_id = 7
        client = SyncClient([cluster.url(0), cluster.url(1)], backoff_initial=0.05, backoff_max=0.5)
        await client.connect()
        croom = await client.join("k9", other)
        other.get_text("o").insert(0, "before;")
        other.commit()
        await croom.flush()
        watcher, wdoc, _ = await joined_client(cluster.url(2), "k9", 8)

        # A raw writer pipelines updates into process 0, recording which were acked.
        src = LoroDoc()
        src.peer_id = 1
        w = await Raw.connect(cluster.url(0))
        await w.join("k9")
        sent, acked = {}, []

        async def reader():
            try:
                while True:
                    m = await w.recv()
                    if m.type == P.MessageType.ACK and m.status == P.UpdateStatus.OK:
                        acked.append(sent[m.ref_id])
            except Exception:
                return

        rtask = asyncio.ensure_future(reader())
        killed = False
        loop = asyncio.get_running_loop()
        end = loop.time() + 40
        for i in range(5000):
            while not killed and len(sent) - len(acked) >= 30 and loop.time() < end:
                await asyncio.sleep(0.002)
            if killed and len(sent) - len(acked) > 200:
                break
            before = src.oplog_vv
            src.get_text("t").insert(src.get_text("t").len_unicode, f"{i},")
            src.commit()
            bid = i.to_bytes(8, "big")
            sent[bid] = src.oplog_vv
            try:
                await w.send(P.DocUpdate("%LOR", "k9", (src.export(ExportMode.Updates(before)),), bid))
            except Exception:
                break
            if not killed and len(acked) >= 60 and len(sent) > len(acked):
                cluster.kill(0)
                killed = True
            await asyncio.sleep(0)
        assert killed
        await asyncio.wait_for(rtask, 10)
        last = acked[-1]

        # Every acked update reached the store and the other processes.
        stored = await stored_doc(cluster.pg.dsn, "k9")
        assert stored.oplog_vv.includes_vv(last)
        await until(lambda: wdoc.oplog_vv.includes_vv(last), 20, "watcher has every acked update")
        r = await Raw.connect(cluster.url(2))
        ok = await r.join("k9")
        assert VersionVector.decode(ok.version).includes_vv(last)
        await r.close()

        # The fail-over client moved to process 1 and resynced both ways.
        await until(lambda: client.reconnects >= 1 and croom.joined, 20, "client on another process")
        assert client.url == cluster.url(1)
        other.get_text("o").insert(0, "after;")
        other.commit()
        await croom.flush(20)
        assert not croom.failed
        await until(lambda: wdoc.get_text("o").to_string() == "after;before;", 20, "edit relayed")
        # Updates process 0 stored but died before publishing reach the others too
        # (the fail-over client's edit depends on them: the store fills the gap).
        await until(lambda: wdoc.oplog_vv == other.oplog_vv, 20, "watcher caught up")
        await until(lambda: other.oplog_vv.includes_vv(last), 20, "client resynced")
        await watcher.close()
        await client.close()
        await w.close()

    try:
        run(body(), timeout=90)
    finally:
        if cluster.procs[0].poll() is not None:
            cluster.start(0)
            cluster.wait_healthy(0)


def test_redis_restart_processes_recover_and_catch_up(cluster):
    async def body():
        c1, d1, r1 = await joined_client(cluster.url(1), "redis", 21)
        c2, d2, r2 = await joined_client(cluster.url(2), "redis", 22)
        edit(d1, "a", 0)
        await r1.flush()
        await until(lambda: d2.oplog_vv == d1.oplog_vv, 10, "initial sync")
        # Process 0 holds the room too (a member keeps it loaded), so after the restart
        # it has to catch up what the others accepted before serving it again.
        member = await Raw.connect(cluster.url(0))
        assert (await member.join("redis")).type == P.MessageType.JOIN_RESPONSE_OK
        catchups = cluster.metric(2, "loro_sync_catchups_total")

        cluster.redis.kill()
        for i in (0, 1):
            await health_poll(cluster, i, lambda h: h[0] == 503 and h[1]["broker"] == "down",
                              f"process {i} reports the broker down")
        for i in range(1, 6):
            edit(d1, "a", i)
            edit(d2, "b", i)
        await asyncio.sleep(0.5)
        # Cannot relay, so not acked (the updates are held and retried).
        assert r1.pending and r2.pending
        assert "b1" not in d1.get_deep_value()["l"]
        # Cut off from the others, process 0 does not serve the room (nor a cold one):
        # a join is refused with the code clients retry.
        for room in ("redis", "redis-cold"):
            raw = await Raw.connect(cluster.url(0))
            m = await raw.join(room)
            assert m.type == P.MessageType.JOIN_ERROR and m.code == P.JoinErrorCode.UNKNOWN, m
            assert "broker" in m.message
            await raw.close()

        cluster.redis.start()
        for i in range(3):
            await health_poll(cluster, i, lambda h: h[0] == 200, f"process {i} healthy again")
        await r1.flush(30)
        await r2.flush(30)
        assert not r1.failed and not r2.failed
        await until(lambda: d1.oplog_vv == d2.oplog_vv, 20, "converged after the restart")
        assert d1.get_deep_value() == d2.get_deep_value()
        assert {f"a{i}" for i in range(6)} | {f"b{i}" for i in range(1, 6)} == set(d1.get_deep_value()["l"])
        assert cluster.metric(2, "loro_sync_catchups_total") > catchups
        stored = await stored_doc(cluster.pg.dsn, "redis")
        assert stored.oplog_vv == d1.oplog_vv
        # A join on process 0 (retried while it is still catching up) gets the full
        # state, including what processes 1 and 2 accepted during the outage.
        raw = await Raw.connect(cluster.url(0))
        for _ in range(200):
            m = await raw.join("redis")
            if m.type == P.MessageType.JOIN_RESPONSE_OK:
                break
            assert m.type == P.MessageType.JOIN_ERROR and m.code == P.JoinErrorCode.UNKNOWN, m
            await asyncio.sleep(0.05)
        assert m.type == P.MessageType.JOIN_RESPONSE_OK
        assert VersionVector.decode(m.version) == d1.oplog_vv
        got = LoroDoc()
        for f in await raw.sync_point():
            for u in f.updates:
                got.import_(u)
        assert got.oplog_vv == d1.oplog_vv and got.get_deep_value() == d1.get_deep_value()
        for c in (c1, c2):
            await c.close()
        await raw.close()
        await member.close()

    run(body(), timeout=90)


def test_postgres_outage_holds_acks_and_everything_acked_is_durable(cluster):
    async def body():
        c0, d0, r0 = await joined_client(cluster.url(0), "pg", 31)
        c1, d1, r1 = await joined_client(cluster.url(1), "pg", 32)
        edit(d0, "x", 0)
        await r0.flush()
        await until(lambda: d1.oplog_vv == d0.oplog_vv, 10, "initial sync")

        cluster.pg.stop()
        try:
            for i in range(1, 8):
                edit(d0, "x", i)
            await health_poll(cluster, 0, lambda h: h[0] == 503 and h[1]["store"] == "down",
                              "process 0 reports the store down")
            await asyncio.sleep(0.5)
            # Not durable, so neither acked nor relayed.
            assert r0.pending
            assert d1.get_deep_value()["l"] == ["x0"]
            # A room no process has loaded cannot be served: the join is refused.
            raw = await Raw.connect(cluster.url(2))
            m = await raw.join("pg-cold")
            assert m.type == P.MessageType.JOIN_ERROR and m.code == P.JoinErrorCode.UNKNOWN
            await raw.close()
        finally:
            cluster.pg.start()
        for i in range(3):
            await health_poll(cluster, i, lambda h: h[0] == 200, f"process {i} healthy again")
        await r0.flush(30)
        assert not r0.failed
        await until(lambda: d1.oplog_vv == d0.oplog_vv, 20, "relayed once durable")
        stored = await stored_doc(cluster.pg.dsn, "pg")
        assert stored.oplog_vv == d0.oplog_vv
        assert stored.get_deep_value() == d0.get_deep_value()
        assert stored.get_deep_value()["l"] == [f"x{i}" for i in range(8)]
        for c in (c0, c1):
            await c.close()

    run(body(), timeout=90)


def test_presence_crosses_processes_and_eps_state_reaches_late_peers(cluster):
    from loro_c import EphemeralStore

    def states(received):
        mirror = EphemeralStore(60_000)
        for u in received:
            mirror.apply(u)
        return mirror.get_all_states()

    async def body():
        ann, bob = EphemeralStore(60_000), EphemeralStore(60_000)
        ann.set("ann", {"cursor": 1})
        bob.set("bob", {"cursor": 7})
        a = SyncClient(cluster.url(0))
        b = SyncClient(cluster.url(1))
        await a.connect()
        await b.connect()
        ra = await a.join("presence", LoroDoc(), crdt=P.CRDT_EPHEMERAL_PERSISTED)
        rb = await b.join("presence", LoroDoc(), crdt=P.CRDT_EPHEMERAL_PERSISTED)
        msg_a = ann.encode_all()
        await a.send_ephemeral(ra, msg_a)
        await until(lambda: rb.received == [msg_a], 10, "presence relayed")
        await ra.flush()
        # A peer joining process 1 later gets the %EPS state it merged from process 0.
        c = SyncClient(cluster.url(1))
        await c.connect()
        rc = await c.join("presence", LoroDoc(), crdt=P.CRDT_EPHEMERAL_PERSISTED)
        await until(lambda: states(rc.received) == {"ann": {"cursor": 1}}, 10,
                    "relayed state replayed")
        msg_b = bob.encode_all()
        await b.send_ephemeral(rb, msg_b)
        await until(lambda: msg_b in rc.received and ra.received == [msg_b], 10,
                    "presence from process 1 reaches process 0")
        assert states(rc.received) == {"ann": {"cursor": 1}, "bob": {"cursor": 7}}
        for x in (a, b, c):
            await x.close()

    run(body(), timeout=60)


def test_an_update_stored_but_never_published_reaches_processes_that_had_the_room(cluster):
    """A process that dies between storing an update and publishing it leaves the update
    only in the store.  The next process to load the room announces the version it
    loaded, and the processes that had the room loaded before catch up from the store."""
    async def body():
        c0, d0, r0 = await joined_client(cluster.url(0), "unpublished", 51)
        c2, d2, r2 = await joined_client(cluster.url(2), "unpublished", 52)
        edit(d0, "a", 0)
        await r0.flush()
        await until(lambda: d2.oplog_vv == d0.oplog_vv, 10, "first edit relayed")
        # What a process that stored and then died leaves behind: an update in the log
        # that no broker message carried.
        lost = LoroDoc()
        lost.peer_id = 53
        lost.import_(d0.export(ExportMode.Snapshot()))
        before = lost.oplog_vv
        edit(lost, "lost", 1)
        s = PgStorage(cluster.pg.dsn)
        try:
            await s.append(P.CRDT_LORO + "unpublished", lost.export(ExportMode.Updates(before)))
        finally:
            await s.close()
        await asyncio.sleep(0.3)
        assert not d2.oplog_vv.includes_vv(lost.oplog_vv)  # nothing carried it (yet)
        # Process 1 loads the room for a new client: its version reaches the others.
        c1, d1, _ = await joined_client(cluster.url(1), "unpublished", 54)
        await until(lambda: d1.oplog_vv.includes_vv(lost.oplog_vv), 10, "loaded from the store")
        await until(lambda: d2.oplog_vv.includes_vv(lost.oplog_vv), 10, "process 2 caught up")
        await until(lambda: d0.oplog_vv.includes_vv(lost.oplog_vv), 10, "process 0 caught up")
        assert d0.get_deep_value() == d1.get_deep_value() == d2.get_deep_value() \
            == lost.get_deep_value()
        for c in (c0, c1, c2):
            await c.close()

    run(body(), timeout=60)


def test_broker_message_codec_rejects_malformed_input():
    from loro_c import LoroError
    from loro_c.sync.broker import decode_message, decode_updates, encode_updates, encode_version
    msg = encode_updates(b"12345678", b"batch-id", [b"a", b"", b"xyz" * 100])
    assert decode_updates(msg) == (b"12345678", b"batch-id", [b"a", b"", b"xyz" * 100])
    for bad in (msg[:-1], msg + b"\0", msg[:18], b"", msg[:16] + b"\xff\xff\xff\xff"):
        with pytest.raises(LoroError):
            decode_updates(bad)
    for bad in (msg[:-1], msg + b"\0", msg[:18], b""):
        with pytest.raises(LoroError):
            decode_message(bad)
    assert decode_message(msg) == (b"12345678", b"batch-id", [b"a", b"", b"xyz" * 100], None)
    d = LoroDoc()
    d.peer_id = 7
    d.get_text("t").insert(0, "x" * 42)
    d.commit()
    vv = d.oplog_vv
    beacon = encode_version(b"87654321", vv.encode())
    origin, _, updates, version = decode_message(beacon)
    assert (origin, updates, VersionVector.decode(version)) == (b"87654321", [], vv)
    with pytest.raises(LoroError):
        decode_updates(beacon)  # never read as an update batch


def test_cli_rejects_foreign_store_and_broker_urls():
    from loro_c.errors import LoroValueError
    from loro_c.sync.cli import build_app, main
    with pytest.raises(LoroValueError):
        build_app(":memory:", store="mysql://x/y")
    with pytest.raises(LoroValueError):
        build_app(":memory:", store="postgresql://127.0.0.1:1/x", broker="amqp://x")
    # A broker without a shared store would fan out rooms loaded from private files.
    assert main(["serve", "--db", ":memory:", "--broker", "redis://127.0.0.1:1/0"]) == 2


def test_a_relayed_update_keeps_its_batch_id_across_processes(cluster):
    async def body():
        a, b = await Raw.connect(cluster.url(0)), await Raw.connect(cluster.url(2))
        assert (await a.join("bid")).type == P.MessageType.JOIN_RESPONSE_OK
        assert (await b.join("bid")).type == P.MessageType.JOIN_RESPONSE_OK
        d = LoroDoc()
        d.get_text("t").insert(0, "hello")
        d.commit()
        upd = d.export(ExportMode.Updates(VersionVector()))
        await a.send(P.DocUpdate("%LOR", "bid", (upd,), b"\x01batch\x02\x03"))
        ack = await a.recv()
        assert ack.type == P.MessageType.ACK and ack.status == P.UpdateStatus.OK
        m = await b.recv()
        assert m.type == P.MessageType.DOC_UPDATE and m.batch_id == b"\x01batch\x02\x03"
        assert m.updates == (upd,)
        await a.close()
        await b.close()

    run(body(), timeout=30)


def test_idle_rooms_unload_everywhere_and_reload_from_the_snapshot(cluster):
    async def body():
        import redis.asyncio as aioredis
        channel = "loro:" + P.CRDT_LORO + "idle"
        c0, d0, r0 = await joined_client(cluster.url(0), "idle", 41)
        c1, d1, r1 = await joined_client(cluster.url(1), "idle", 42)
        for i in range(30):  # past --compact-after
            edit(d0 if i % 2 else d1, "i", i)
        await r0.flush()
        await r1.flush()
        await until(lambda: d0.oplog_vv == d1.oplog_vv, 10, "sync")
        r = aioredis.Redis.from_url(cluster.redis.url)
        try:
            assert dict(await r.pubsub_numsub(channel))[channel.encode()] == 2
            await c0.close()
            await c1.close()
            # --idle-unload 2: both processes compact, unload and unsubscribe.
            for _ in range(200):
                if dict(await r.pubsub_numsub(channel))[channel.encode()] == 0:
                    break
                await asyncio.sleep(0.05)
            assert dict(await r.pubsub_numsub(channel))[channel.encode()] == 0
        finally:
            await r.aclose()
        s = PgStorage(cluster.pg.dsn)
        try:
            assert await s.log_length(P.CRDT_LORO + "idle") == 0  # all in the snapshot
        finally:
            await s.close()
        c2, d2, _ = await joined_client(cluster.url(2), "idle", 43)
        await until(lambda: d2.oplog_vv == d0.oplog_vv, 10, "reloaded state")
        assert d2.get_deep_value() == d0.get_deep_value()
        await c2.close()

    run(body(), timeout=60)


def test_client_keeps_rejoining_while_a_reset_room_is_unavailable():
    """After RoomError(rejoin_suggested) — what a process sends when it gave up waiting
    for its store — the room may refuse joins for a while; the client retries, and its
    update made meanwhile is sent and acked once the join succeeds."""
    from test_sync_client import fake_server

    joins, updates = [], []

    async def script(ws):
        while True:
            m = P.decode(await ws.recv())
            if m.type == P.MessageType.JOIN_REQUEST:
                joins.append(m)
                if len(joins) == 1:
                    await ws.send(P.encode(P.JoinResponseOk("%LOR", m.room_id, "write", b"")))
                    await ws.send(P.encode(P.RoomError("%LOR", m.room_id,
                                                       P.RoomErrorCode.REJOIN_SUGGESTED, "reset")))
                elif len(joins) <= 3:
                    await ws.send(P.encode(P.JoinError("%LOR", m.room_id, P.JoinErrorCode.UNKNOWN,
                                                       "room unavailable")))
                else:
                    await ws.send(P.encode(P.JoinResponseOk("%LOR", m.room_id, "write", b"")))
            elif m.type == P.MessageType.DOC_UPDATE:
                updates.append(m)
                await ws.send(P.encode(P.Ack("%LOR", m.room_id, m.batch_id)))

    async def body():
        url, server = await fake_server(script)
        c = SyncClient(url, backoff_initial=0.02, backoff_max=0.1)
        await c.connect()
        d = LoroDoc()
        room = await c.join("r", d)
        await until(lambda: len(joins) >= 2, 10, "rejoin after the reset")
        d.get_text("t").insert(0, "made while the room was unavailable")
        d.commit()
        await room.flush(10)
        assert len(joins) == 4 and room.joined and not room.failed
        got = LoroDoc()
        for m in updates:
            for u in m.updates:
                got.import_(u)
        assert got.get_text("t").to_string() == "made while the room was unavailable"
        await c.close()
        server.close()

    run(body(), timeout=30)
