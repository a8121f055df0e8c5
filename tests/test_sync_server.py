"""The sync server over real loopback WebSockets: sync, backfill, fragments, ephemeral
rooms, storage and compaction, hooks, endpoints."""

import asyncio
import json
import time
import urllib.request

from _sync_util import P, Raw, run, serving, until  # also skips without the server extra

from loro_c import EphemeralStore, ExportMode, LoroDoc, VersionVector
from loro_c.ephemeral_codec import decode_entries
from loro_c.sync.client import SyncClient
from loro_c.sync.storage import MemoryStorage, SQLiteStorage


def edit(doc, text, pos=0, key="t"):
    doc.get_text(key).insert(pos, text)
    doc.commit()


def update_of(doc, text, key="t"):
    before = doc.oplog_vv
    edit(doc, text, key=key)
    return doc.export(ExportMode.Updates(before))


def peer_doc(peer):
    d = LoroDoc()
    d.peer_id = peer
    return d


def server_doc(app, room):
    return app.server.rooms[P.CRDT_LORO + room].doc


def test_two_python_clients_converge_with_the_server():
    async def body():
        async with serving() as (app, url):
            a, b = SyncClient(url), SyncClient(url)
            await a.connect()
            await b.connect()
            da, db = peer_doc(1), peer_doc(2)
            ra = await a.join("r", da)
            rb = await b.join("r", db)
            for i in range(20):  # interleaved concurrent edits
                edit(da, f"a{i} ")
                edit(db, f"b{i} ", key="u")
                edit(db, "B")
            await ra.flush()
            await rb.flush()
            sd = server_doc(app, "r")
            await until(lambda: da.get_deep_value() == db.get_deep_value() == sd.get_deep_value(),
                        what="convergence")
            assert "a19" in da.get_text("t").to_string()
            assert da.get_text("u").to_string().count("b") == 20
            assert not ra.failed and not rb.failed
            await a.close()
            await b.close()
    run(body())


def test_join_sends_exactly_the_missing_updates():
    async def body():
        async with serving() as (app, url):
            src = peer_doc(7)
            w = await Raw.connect(url)
            assert (await w.join("r")).type == P.MessageType.JOIN_RESPONSE_OK
            u1 = update_of(src, "hello ")
            mid = src.oplog_vv
            u2 = update_of(src, "world")
            for i, u in enumerate((u1, u2)):
                await w.send(P.DocUpdate("%LOR", "r", (u,), bytes([i]) * 8))
                ack = await w.recv()
                assert (ack.type, ack.status) == (P.MessageType.ACK, P.UpdateStatus.OK)

            # A peer at `mid` gets JoinResponseOk with the server's version, then only u2.
            r = await Raw.connect(url)
            ok = await r.join("r", mid.encode())
            assert ok.type == P.MessageType.JOIN_RESPONSE_OK and ok.permission == "write"
            assert VersionVector.decode(ok.version) == src.oplog_vv
            [upd] = await r.sync_point()
            d = LoroDoc()
            d.import_(u1)
            d.import_(upd.updates[0])
            assert d.get_text("t").to_string() == src.get_text("t").to_string()
            missing_only = LoroDoc()
            st = missing_only.import_(upd.updates[0])
            assert st.pending is not None  # it holds u2 only, which needs u1

            # A peer already at the server's version gets the answer and nothing else.
            q = await Raw.connect(url)
            assert (await q.join("r", src.oplog_vv.encode())).type == P.MessageType.JOIN_RESPONSE_OK
            assert await q.sync_point() == []
            # The writer is not echoed its own updates; the others get later ones.
            u3 = update_of(src, "!")
            await w.send(P.DocUpdate("%LOR", "r", (u3,), b"\x09" * 8))
            assert (await w.recv()).status == P.UpdateStatus.OK
            assert await w.sync_point() == []
            got = await q.recv()
            assert got.type == P.MessageType.DOC_UPDATE and got.updates == (u3,)
            assert got.batch_id == b"\x09" * 8
            for c in (w, r, q):
                await c.close()
    run(body())


def test_large_updates_travel_as_fragments_both_ways():
    async def body():
        async with serving() as (app, url):
            big = peer_doc(3)
            text = "".join(chr(0x61 + (i * 7) % 26) for i in range(700_000))
            a = SyncClient(url)
            await a.connect()
            ra = await a.join("big", big)
            edit(big, text)  # one ~700 KB update: the client must fragment it
            await ra.flush()
            assert not ra.failed
            assert server_doc(app, "big").get_text("t").to_string() == text

            # The join backfill of a large room respects the limit too.
            r = await Raw.connect(url)
            await r.join("big")
            frames = []
            for _ in range(10):
                f = await r.recv_frame()
                assert len(f) <= P.MAX_MESSAGE_SIZE
                frames.append(P.decode(f))
                if len(frames) > 1 and len(frames) == frames[0].fragment_count + 1:
                    break
            head, *frags = frames
            assert head.type == P.MessageType.DOC_UPDATE_FRAGMENT_HEADER and len(frags) >= 3
            asm = P.FragmentAssembler()
            asm.start(head, 0.0)
            whole = [asm.add(f) for f in frags][-1]
            d = LoroDoc()
            d.import_(whole)
            assert d.get_text("t").to_string() == text
            await r.close()
            await a.close()
    run(body(), timeout=120)


def test_ephemeral_rooms_relay_and_eps_keeps_state():
    store = EphemeralStore(30_000)
    store.set("cursor", 1)
    cursor = store.encode("cursor")

    async def body():
        async with serving() as (app, url):
            a, b = await Raw.connect(url), await Raw.connect(url)
            for crdt in (P.CRDT_EPHEMERAL, P.CRDT_EPHEMERAL_PERSISTED):
                assert (await a.join("p", crdt=crdt)).version == b""
                assert (await b.join("p", crdt=crdt)).type == P.MessageType.JOIN_RESPONSE_OK
                await a.send(P.DocUpdate(crdt, "p", (cursor,), b"E" * 8))
                assert (await a.recv()).status == P.UpdateStatus.OK
                got = await b.recv()
                assert got.updates == (cursor,) and got.crdt == crdt
            # A newcomer to %EPS gets the kept state; one to %EPH gets nothing.
            c = await Raw.connect(url)
            await c.join("p", crdt=P.CRDT_EPHEMERAL)
            assert await c.sync_point() == []
            await c.join("p", crdt=P.CRDT_EPHEMERAL_PERSISTED)
            [kept] = await c.sync_point()
            assert kept.updates == (cursor,)
            # Ephemeral traffic never touches the document room of the same name.
            assert P.CRDT_LORO + "p" not in app.server.rooms
            for x in (a, b, c):
                await x.close()
    run(body())


def test_eps_rooms_merge_presence_expire_it_and_reject_garbage():
    async def body():
        async with serving(eps_timeout_ms=1500) as (app, url):
            a, b = await Raw.connect(url), await Raw.connect(url)
            crdt = P.CRDT_EPHEMERAL_PERSISTED
            await a.join("q", crdt=crdt)
            await b.join("q", crdt=crdt)
            # garbage is refused and neither relayed nor kept
            await a.send(P.DocUpdate(crdt, "q", (b"cursor=1",), b"G" * 8))
            assert (await a.recv()).status == P.UpdateStatus.INVALID_UPDATE
            # timestamps are taken now, so the room's 1.5 s timeout runs from here
            ann, bob = EphemeralStore(60_000), EphemeralStore(60_000)
            ann.set("ann", {"cursor": 1})
            ann.set("ann", {"cursor": 2})
            bob.set("bob", "here")
            bob.delete("bob")
            ann.set("short", 1)
            sent = time.monotonic()
            await a.send(P.DocUpdate(crdt, "q", (ann.encode_all(), bob.encode_all()), b"H" * 8))
            assert (await a.recv()).status == P.UpdateStatus.OK
            assert [m.batch_id for m in await b.sync_point()] == [b"H" * 8]
            # a newcomer gets one merged message: ann's latest state and bob's deletion
            c = await Raw.connect(url)
            await c.join("q", crdt=crdt)
            [kept] = await c.sync_point()
            mirror = EphemeralStore(60_000)
            for u in kept.updates:
                mirror.apply(u)
            assert mirror.get_all_states() == {"ann": {"cursor": 2}, "short": 1}
            held = decode_entries(app.server.rooms[crdt + "q"].eps.encode_all())
            assert ("bob", None) in [(k, v) for k, v, _ in held]  # the deletion is kept
            # once the room's timeout has passed the state has expired and is not sent
            await asyncio.sleep(max(0.0, sent + 1.8 - time.monotonic()))
            d = await Raw.connect(url)
            await d.join("q", crdt=crdt)
            assert await d.sync_point() == []
            for x in (a, b, c, d):
                await x.close()
    run(body())


def test_sqlite_log_compaction_and_room_reload(tmp_path):
    db = str(tmp_path / "rooms.sqlite3")

    async def body():
        async with serving(SQLiteStorage(db), compact_after=5, idle_unload=0.05) as (app, url):
            c = SyncClient(url)
            await c.connect()
            d = peer_doc(11)
            room = await c.join("k", d)
            for i in range(12):
                edit(d, f"{i},")
                await room.flush()
            await room.leave()
            # Empty room unloads after idle_unload (and compacts on the way out).
            await until(lambda: P.CRDT_LORO + "k" not in app.server.rooms, what="unload")
            await until(lambda: not app.server._tasks, what="compaction")
            d2 = LoroDoc()
            r2 = await c.join("k", d2)
            await until(lambda: d2.get_deep_value() == d.get_deep_value(), what="resync")
            await r2.leave()
            await c.close()
        store = SQLiteStorage(db)
        data = store.load(P.CRDT_LORO + "k")
        assert data.blob is not None and data.updates == []  # one compacted blob
        fresh = LoroDoc()
        fresh.import_(data.blob)
        assert fresh.get_text("t").to_string() == d.get_text("t").to_string()
        store.close()
    run(body())


def test_hooks_auth_read_only_rate_limit_quota():
    def auth(room, crdt, token):
        return {b"w": "write", b"r": "read"}.get(token)

    def allow(session, room, crdt, nbytes):
        return room != "slow"

    async def body():
        async with serving(authenticate=auth, allow_update=allow, max_room_bytes=2000) as (app, url):
            src = peer_doc(5)
            u = update_of(src, "x")
            c = await Raw.connect(url)
            err = await c.join("r", auth=b"nope")
            assert (err.type, err.code) == (P.MessageType.JOIN_ERROR, P.JoinErrorCode.AUTH_FAILED)
            await c.send(P.DocUpdate("%LOR", "r", (u,), b"1" * 8))
            assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED  # not joined
            ok = await c.join("r", auth=b"r")
            assert ok.permission == "read"
            await c.send(P.DocUpdate("%LOR", "r", (u,), b"2" * 8))
            assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED
            await c.send(P.DocUpdateFragmentHeader("%LOR", "r", b"3" * 8, 2, 10))
            assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED
            assert server_doc(app, "r").oplog_vv == VersionVector()

            await c.join("slow", auth=b"w")
            await c.send(P.DocUpdate("%LOR", "slow", (u,), b"4" * 8))
            assert (await c.recv()).status == P.UpdateStatus.RATE_LIMITED
            assert server_doc(app, "slow").oplog_vv == VersionVector()

            await c.join("q", auth=b"w")
            await c.send(P.DocUpdate("%LOR", "q", (u,), b"5" * 8))
            assert (await c.recv()).status == P.UpdateStatus.OK
            # A failed re-join ends the membership it would have replaced.
            assert (await c.join("q", auth=b"bad")).code == P.JoinErrorCode.AUTH_FAILED
            await c.send(P.DocUpdate("%LOR", "q", (update_of(src, "-"),), b"7" * 8))
            assert (await c.recv()).status == P.UpdateStatus.PERMISSION_DENIED
            await c.join("q", auth=b"w")
            await c.sync_point()
            big = update_of(src, "y" * 3000)
            await c.send(P.DocUpdate("%LOR", "q", (big,), b"6" * 8))
            assert (await c.recv()).status == P.UpdateStatus.APP_ERROR  # over the room quota
            assert server_doc(app, "q").get_text("t").to_string() == "x"
            await c.close()
    run(body())


def _http_get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_health_and_metrics_endpoints():
    async def body():
        async with serving() as (app, url):
            base = url.replace("ws://", "http://")
            c = SyncClient(url)
            await c.connect()
            d = peer_doc(9)
            room = await c.join("m", d)
            edit(d, "abc")
            await room.flush()
            status, text = await asyncio.to_thread(_http_get, base + "health")
            assert status == 200 and json.loads(text)["status"] == "ok"
            status, text = await asyncio.to_thread(_http_get, base + "metrics")
            vals = dict(line.split(" ") for line in text.splitlines() if not line.startswith("#"))
            assert vals["loro_sync_rooms"] == "1" and vals["loro_sync_connections"] == "1"
            assert int(vals["loro_sync_updates_total"]) >= 1
            assert int(vals["loro_sync_update_bytes_total"]) > 0
            stored = app.server.storage.backend.size()
            assert stored > 0 and int(vals["loro_sync_storage_bytes"]) == stored
            assert int(vals["loro_sync_bytes_in_total"]) > 0 and int(vals["loro_sync_bytes_out_total"]) > 0
            # Prometheus text format: every sample has its HELP and TYPE lines.
            types = dict(line.split(" ")[2:4] for line in text.splitlines()
                         if line.startswith("# TYPE "))
            assert set(types) == set(vals)
            assert types["loro_sync_updates_total"] == "counter"  # rate() gives updates/s
            assert types["loro_sync_rooms"] == types["loro_sync_connections"] == "gauge"
            await c.close()
    run(body())


def test_memory_storage_roundtrip():
    s = MemoryStorage()
    assert s.append("a", b"1") == 1 and s.append("b", b"x") == 2 and s.append("a", b"2") == 3
    s.compact("a", b"blob", 1)
    d = s.load("a")
    assert (d.blob, d.updates, d.last_seq) == (b"blob", [(3, b"2")], 3)


def test_pending_updates_survive_compaction_and_reload(tmp_path):
    db = str(tmp_path / "p.sqlite3")
    src = peer_doc(21)
    u1 = update_of(src, "first ")
    u2 = update_of(src, "second")  # depends on u1

    async def body():
        async with serving(SQLiteStorage(db), compact_after=1, idle_unload=0.05) as (app, url):
            c = await Raw.connect(url)
            await c.join("p")
            await c.send(P.DocUpdate("%LOR", "p", (u2,), b"2" * 8))
            assert (await c.recv()).status == P.UpdateStatus.OK  # accepted, pending
            await until(lambda: not app.server._tasks, what="compaction")
            await c.send(P.Leave("%LOR", "p"))
            await until(lambda: P.CRDT_LORO + "p" not in app.server.rooms, what="unload")
            await until(lambda: not app.server._tasks, what="compaction")
            # Reloaded from the compacted blob + the kept pending entry; u1 completes it.
            await c.join("p")
            await c.sync_point()
            await c.send(P.DocUpdate("%LOR", "p", (u1,), b"1" * 8))
            assert (await c.recv()).status == P.UpdateStatus.OK
            assert server_doc(app, "p").get_text("t").to_string() == "secondfirst "
            await c.close()
        store = SQLiteStorage(db)
        data = store.load(P.CRDT_LORO + "p")
        store.close()
        d = LoroDoc()
        if data.blob:
            d.import_(data.blob)
        for _, u in data.updates:
            d.import_(u)
        assert d.get_text("t").to_string() == "secondfirst "
    run(body())
