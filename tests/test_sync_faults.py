"""Faults: each gets the protocol's answer, and nothing else changes (the room's
document, its stored log, and the other connections)."""

import asyncio

from _sync_util import P, Raw, run, serving, until, websockets

from loro_c import ExportMode, LoroDoc, VersionVector
from loro_c.sync.storage import MemoryStorage

BID = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def make_update(text, peer=1):
    d = LoroDoc()
    d.peer_id = peer
    d.get_text("t").insert(0, text)
    d.commit()
    return d.export(ExportMode.Updates(VersionVector()))


class World:
    """A server with room "r" holding "base", and a bystander joined to it."""

    def __init__(self, app, url, storage):
        self.app, self.url, self.storage = app, url, storage

    @property
    def doc(self):
        return self.app.server.rooms[P.CRDT_LORO + "r"].doc

    def snapshot(self):
        return (self.doc.get_deep_value(), self.doc.oplog_vv.encode(),
                self.storage.log_length(P.CRDT_LORO + "r"))

    async def setup(self):
        self.bystander = await Raw.connect(self.url)
        await self.bystander.join("r")
        await self.bystander.send(P.DocUpdate("%LOR", "r", (make_update("base", 99),), b"B" * 8))
        assert (await self.bystander.recv()).status == P.UpdateStatus.OK
        self.before = self.snapshot()

    async def assert_unchanged(self):
        assert self.snapshot() == self.before
        # The bystander received nothing and is still served.
        assert await self.bystander.sync_point() == []


def fault_test(body, **cfg):
    async def main():
        storage = MemoryStorage()
        async with serving(storage, **cfg) as (app, url):
            w = World(app, url, storage)
            await w.setup()
            await body(w)
            await w.assert_unchanged()
            assert app.server.metrics.connections >= 1
    run(main())


async def closed_with(c, code):
    try:
        await asyncio.wait_for(c.ws.recv(), 10)
    except websockets.ConnectionClosed as e:
        assert e.rcvd is not None and e.rcvd.code == code, e
        return
    raise AssertionError("connection was not closed")


def test_malformed_frames_close_the_connection():
    frames = [b"", b"garbage", b"%LOR\x01r\x09", b"%LOR\x01r\x07extra",
              b"%LOR\x01r\x03\x05\x01A" + BID, b"%LOR\xff\x01" + b"x" * 200]

    async def body(w):
        for f in frames:
            c = await Raw.connect(w.url)
            await c.join("r")
            await c.sync_point()
            await c.send(f)
            await closed_with(c, 1002)
        c = await Raw.connect(w.url)
        await c.send("hello")  # text frames are only for keepalive
        await closed_with(c, 1003)
        assert w.app.server.metrics.protocol_errors_total == len(frames) + 1
    fault_test(body)


def test_oversize_update_gets_payload_too_large():
    async def body(w):
        c = await Raw.connect(w.url)
        await c.join("r")
        await c.sync_point()
        big = P.encode(P.DocUpdate("%LOR", "r", (b"\x00" * P.MAX_MESSAGE_SIZE,), BID), max_size=None)
        await c.send(big)
        ack = await c.recv()
        assert (ack.ref_id, ack.status) == (BID, P.UpdateStatus.PAYLOAD_TOO_LARGE)
        assert await c.sync_point() == []  # still connected and served
        # An oversize message that is not an update has no Ack to carry the answer.
        other = await Raw.connect(w.url)
        await other.send(P.encode(P.JoinRequest("%LOR", "r", b"a" * P.MAX_MESSAGE_SIZE), max_size=None))
        await closed_with(other, 1009)
        # A fragment header announcing more than the server accepts.
        await c.send(P.DocUpdateFragmentHeader("%LOR", "r", b"H" * 8, 100, 10**9))
        assert (await c.recv()).status == P.UpdateStatus.PAYLOAD_TOO_LARGE
    fault_test(body, max_update_size=10**6)


def test_fragments_that_never_complete_time_out():
    async def body(w):
        c = await Raw.connect(w.url)
        await c.join("r")
        await c.sync_point()
        u = make_update("never whole", 5)
        await c.send(P.DocUpdateFragmentHeader("%LOR", "r", BID, 2, len(u)))
        await c.send(P.DocUpdateFragment("%LOR", "r", BID, 0, u[:5]))
        ack = await c.recv()  # arrives after the (short) reassembly timeout
        assert (ack.type, ack.ref_id, ack.status) == (P.MessageType.ACK, BID,
                                                      P.UpdateStatus.FRAGMENT_TIMEOUT)
        # The late remainder belongs to no batch any more: ask for a resend, change nothing.
        await c.send(P.DocUpdateFragment("%LOR", "r", BID, 1, u[5:]))
        assert (await c.recv()).status == P.UpdateStatus.FRAGMENT_TIMEOUT
        # Inconsistent fragments are an invalid update.
        await c.send(P.DocUpdateFragmentHeader("%LOR", "r", b"X" * 8, 2, len(u)))
        await c.send(P.DocUpdateFragment("%LOR", "r", b"X" * 8, 7, u))
        assert (await c.recv()).status == P.UpdateStatus.INVALID_UPDATE
    fault_test(body, fragment_timeout=0.2)


def test_disconnect_mid_fragment():
    async def body(w):
        u = make_update("x" * 1000, 6)
        for _ in range(3):
            c = await Raw.connect(w.url)
            await c.join("r")
            await c.sync_point()
            await c.send(P.DocUpdateFragmentHeader("%LOR", "r", BID, 2, len(u)))
            await c.send(P.DocUpdateFragment("%LOR", "r", BID, 0, u[:500]))
            await c.close()
        await until(lambda: w.app.server.metrics.connections == 1, what="sessions closed")
        # The same batch id on a new connection starts from nothing.
        c = await Raw.connect(w.url)
        await c.join("r")
        await c.sync_point()
        await c.send(P.DocUpdateFragment("%LOR", "r", BID, 1, u[500:]))
        assert (await c.recv()).status == P.UpdateStatus.FRAGMENT_TIMEOUT
    fault_test(body)


def test_garbage_join_versions_get_version_unknown():
    async def body(w):
        c = await Raw.connect(w.url)
        for garbage in (b"\xff", b"\x05\x01", b"not a version vector at all"):
            err = await c.join("r", garbage)
            assert (err.type, err.code) == (P.MessageType.JOIN_ERROR, P.JoinErrorCode.VERSION_UNKNOWN)
            assert err.receiver_version == w.doc.oplog_vv.encode()
            # Not a member after a failed join.
            await c.send(P.DocUpdate("%LOR", "r", (make_update("no", 8),), BID))
            assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED
        # The client's fallback, an empty version, joins and gets everything.
        assert (await c.join("r")).type == P.MessageType.JOIN_RESPONSE_OK
        [upd] = await c.sync_point()
        d = LoroDoc()
        d.import_(upd.updates[0])
        assert d.get_text("t").to_string() == "base"
    fault_test(body)


def test_invalid_updates_get_invalid_update_and_change_nothing():
    good = make_update("fine", 4)
    bad = [b"\x00", b"not a loro blob", good[:-3], good[:20] + bytes([good[20] ^ 0xFF]) + good[21:]]

    async def body(w):
        c = await Raw.connect(w.url)
        await c.join("r")
        await c.sync_point()
        for i, u in enumerate(bad):
            await c.send(P.DocUpdate("%LOR", "r", (u,), bytes([i]) * 8))
            ack = await c.recv()
            assert (ack.ref_id, ack.status) == (bytes([i]) * 8, P.UpdateStatus.INVALID_UPDATE)
        # The same garbage through fragments.
        u = bad[1]
        await c.send(P.DocUpdateFragmentHeader("%LOR", "r", BID, 2, len(u)))
        await c.send(P.DocUpdateFragment("%LOR", "r", BID, 1, u[5:]))
        await c.send(P.DocUpdateFragment("%LOR", "r", BID, 0, u[:5]))
        assert (await c.recv()).status == P.UpdateStatus.INVALID_UPDATE
        assert await c.sync_point() == []
    fault_test(body)


def test_unsupported_crdt_and_foreign_messages():
    async def body(w):
        c = await Raw.connect(w.url)
        err = await c.join("r", crdt="%YJS")
        assert (err.type, err.code) == (P.MessageType.JOIN_ERROR, P.JoinErrorCode.UNKNOWN)
        await c.join("r")
        await c.sync_point()
        # Server-to-client messages and client failure reports are accepted and ignored.
        for m in (P.JoinResponseOk("%LOR", "r"), P.RoomError("%LOR", "r", 2, "x"),
                  P.Ack("%LOR", "r", BID, P.UpdateStatus.INVALID_UPDATE),
                  P.JoinError("%LOR", "r", P.JoinErrorCode.APP_ERROR, "client gave up"),
                  P.Leave("%LOR", "never-joined")):
            await c.send(m)
        assert await c.sync_point() == []
        await c.send(P.Leave("%LOR", "r"))
        await c.send(P.DocUpdate("%LOR", "r", (make_update("late", 3),), BID))
        assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED  # left
    fault_test(body)


class Exploding:
    """A document whose import fails in a way loro_c does not promise is atomic."""

    def __init__(self, doc):
        self.doc = doc

    def import_(self, blob):
        self.doc.import_(blob)  # half done, then a surprise
        raise RuntimeError("boom")

    def __getattr__(self, name):
        return getattr(self.doc, name)


def test_unexpected_import_failure_reloads_the_room_from_storage():
    async def body():
        storage = MemoryStorage()
        async with serving(storage) as (app, url):
            w = World(app, url, storage)
            await w.setup()
            room = app.server.rooms["%LORr"]
            room.doc = Exploding(room.doc)
            c = await Raw.connect(url)
            await c.join("r")
            await c.sync_point()
            await c.send(P.DocUpdate("%LOR", "r", (make_update("half", 12),), BID))
            got = [await c.recv(), await c.recv()]
            assert {type(m) for m in got} == {P.Ack, P.RoomError}
            ack = next(m for m in got if isinstance(m, P.Ack))
            err = next(m for m in got if isinstance(m, P.RoomError))
            assert ack.status == P.UpdateStatus.UNKNOWN
            assert err.code == P.RoomErrorCode.REJOIN_SUGGESTED
            # The bystander was told too; on rejoin the room is what storage holds.
            assert (await w.bystander.recv()).code == P.RoomErrorCode.REJOIN_SUGGESTED
            assert (await c.join("r")).type == P.MessageType.JOIN_RESPONSE_OK
            assert w.doc.get_text("t").to_string() == "base"
            assert storage.log_length("%LORr") == 1
            await c.close()
    run(body())


class FakeBroker:
    """The broker interface of RedisBroker, with its connection state in the test's hands."""

    def __init__(self):
        self.on_message = self.on_reconnect = None
        self.available, self.connects_total = True, 1
        self.published = []
        self.published_total = self.publish_errors_total = self.publish_round_trips_total = 0
        self.publish_seconds, self.received_total = 0.0, 0

    async def start(self):
        pass

    async def close(self):
        pass

    async def subscribe(self, key):
        pass

    async def unsubscribe(self, key):
        pass

    async def publish(self, key, batch_id, updates):
        if not self.available:
            from loro_c.sync.broker import BrokerUnavailable
            raise BrokerUnavailable("down")
        self.published.append((key, updates))


def drain(session):
    out = []
    while not session.queue.empty():
        f = session.queue.get_nowait()
        if isinstance(f, bytes):
            out.append(P.decode(f))
    return out


def test_a_room_serves_no_join_while_its_broker_is_down_or_its_catch_up_runs():
    """Issue 15: after a broker outage a process catches up from the store by version
    vector before it serves the room again; until then joins are refused (JoinError
    unknown, which clients retry), and the first join after it gets what other
    processes stored meanwhile."""
    from loro_c.sync.server import SyncServer

    async def body():
        mem, broker = MemoryStorage(), FakeBroker()
        server = SyncServer(storage=mem, broker=broker)
        await server.start()
        key = P.CRDT_LORO + "r"
        a = server.open_session()
        await server.handle_frame(a, P.encode(P.JoinRequest("%LOR", "r", b"", b"")))
        assert [m.type for m in drain(a)] == [P.MessageType.JOIN_RESPONSE_OK]
        await server.handle_frame(a, P.encode(P.DocUpdate("%LOR", "r", (make_update("mine", 1),), BID)))
        assert [m.status for m in drain(a)] == [P.UpdateStatus.OK]

        broker.available = False
        b = server.open_session()
        for room in ("r", "cold"):
            await server.handle_frame(b, P.encode(P.JoinRequest("%LOR", room, b"", b"")))
            (m,) = drain(b)
            assert m.type == P.MessageType.JOIN_ERROR and m.code == P.JoinErrorCode.UNKNOWN
            assert "broker" in m.message
        assert P.CRDT_LORO + "cold" not in server.rooms  # not even loaded
        assert b not in server.rooms[key].members
        assert (await server.status())["status"] == "degraded"

        # Meanwhile another process accepted an update: it is only in the store.
        theirs = make_update("theirs", 2)
        mem.append(key, theirs)

        gate = asyncio.Event()
        load = server.storage.load

        async def slow_load(k):
            await gate.wait()
            return await load(k)

        server.storage.load = slow_load
        broker.available, broker.connects_total = True, 2
        catch_up = asyncio.ensure_future(broker.on_reconnect())
        await asyncio.sleep(0.01)
        st = await server.status()
        assert st["stale_rooms"] == 1 and st["status"] == "degraded"  # a balancer looks elsewhere
        assert "\nloro_sync_stale_rooms 1\n" in await server.metrics_text()
        await server.handle_frame(b, P.encode(P.JoinRequest("%LOR", "r", b"", b"")))
        (m,) = drain(b)
        assert m.type == P.MessageType.JOIN_ERROR and m.code == P.JoinErrorCode.UNKNOWN
        assert "catching up" in m.message

        gate.set()
        await asyncio.wait_for(catch_up, 10)
        st = await server.status()
        assert st["stale_rooms"] == 0 and st["status"] == "ok"
        # The member got what the catch-up found...
        relayed = LoroDoc()
        for m in drain(a):
            for u in m.updates:
                relayed.import_(u)
        assert relayed.get_text("t").to_string() == "theirs"
        # ...and a join now gets the full state.
        await server.handle_frame(b, P.encode(P.JoinRequest("%LOR", "r", b"", b"")))
        ok, *backfill = drain(b)
        assert ok.type == P.MessageType.JOIN_RESPONSE_OK
        d = LoroDoc()
        for m in backfill:
            for u in m.updates:
                d.import_(u)
        assert d.oplog_vv == VersionVector.decode(ok.version)
        assert sorted(d.get_text("t").to_string().replace("theirs", "theirs|").replace(
            "mine", "mine|").strip("|").split("|")) == ["mine", "theirs"]
        await server.shutdown()

    run(body(), timeout=30)


def test_a_room_loaded_across_a_broker_reconnection_catches_up_before_serving():
    """The connection dropped and came back while the room was loading: the reconnect's
    catch-up did not see it, so the refused join starts its catch-up."""
    from loro_c.sync.server import SyncServer

    async def body():
        mem, broker = MemoryStorage(), FakeBroker()
        server = SyncServer(storage=mem, broker=broker)
        key = P.CRDT_LORO + "late"
        mem.append(key, make_update("stored", 3))
        load = server.storage.load

        async def reconnect_during_load(k):
            data = await load(k)
            broker.connects_total += 1  # dropped and resubscribed meanwhile
            mem.append(key, make_update("missed", 4))  # published while we were away
            return data

        server.storage.load = reconnect_during_load
        s = server.open_session()
        await server.handle_frame(s, P.encode(P.JoinRequest("%LOR", "late", b"", b"")))
        (m,) = drain(s)
        assert m.type == P.MessageType.JOIN_ERROR and "catching up" in m.message
        server.storage.load = load
        await until(lambda: server.rooms[key].epoch == broker.connects_total, 10, "catch-up")
        await server.handle_frame(s, P.encode(P.JoinRequest("%LOR", "late", b"", b"")))
        ok, *backfill = drain(s)
        assert ok.type == P.MessageType.JOIN_RESPONSE_OK
        d = LoroDoc()
        for m in backfill:
            for u in m.updates:
                d.import_(u)
        assert {d.get_text("t").to_string()} & {"storedmissed", "missedstored"}
        await server.shutdown()

    run(body(), timeout=30)
