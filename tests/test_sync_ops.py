"""Operations pieces: the rate-limit hook, dropping a connection that cannot keep up,
JSON log lines, and the command line."""

import json
import logging
import os
import subprocess
import sys

from _sync_util import P, Raw, run, serving, until, websockets

from loro_c import ExportMode, LoroDoc, VersionVector
from loro_c.sync.cli import JsonFormatter
from loro_c.sync.server import UpdateRateLimit


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_token_bucket_per_connection():
    clock = Clock()
    lim = UpdateRateLimit(rate=2.0, burst=3, clock=clock)

    class S:  # a stand-in session (any weak-referenceable object)
        pass

    a, b = S(), S()
    assert [lim(a, "r", "%LOR", 1) for _ in range(4)] == [True, True, True, False]
    assert lim(b, "r", "%LOR", 1)  # buckets are per connection
    clock.t = 0.4
    assert not lim(a, "r", "%LOR", 1)  # 0.8 tokens
    clock.t = 0.5
    assert lim(a, "r", "%LOR", 1) and not lim(a, "r", "%LOR", 1)
    clock.t = 100.0
    assert sum(lim(a, "r", "%LOR", 1) for _ in range(10)) == 3  # capped at burst


def test_rate_limit_hook_over_the_wire():
    async def body():
        async with serving(allow_update=UpdateRateLimit(rate=0.001, burst=2)) as (app, url):
            src = LoroDoc()
            c = await Raw.connect(url)
            await c.join("r")
            statuses = []
            for i in range(4):
                before = src.oplog_vv
                src.get_text("t").insert(0, str(i))
                src.commit()
                await c.send(P.DocUpdate("%LOR", "r", (src.export(ExportMode.Updates(before)),),
                                         bytes([i]) * 8))
                statuses.append((await c.recv()).status)
            assert statuses == [0, 0, P.UpdateStatus.RATE_LIMITED, P.UpdateStatus.RATE_LIMITED]
            assert app.server.rooms["%LORr"].doc.get_text("t").to_string() == "10"
            await c.close()
    run(body())


def test_a_connection_that_cannot_keep_up_is_dropped():
    async def body():
        async with serving(send_queue_limit=3) as (app, url):
            src = LoroDoc()
            src.get_text("t").insert(0, "z" * 600_000)
            src.commit()
            app_room_update = src.export(ExportMode.Updates(VersionVector()))
            w = await Raw.connect(url)
            await w.join("r")
            for m in P.split_update("%LOR", "r", app_room_update, b"F" * 8):
                await w.send(m)
            assert (await w.recv()).status == P.UpdateStatus.OK
            # Its backfill is a JoinResponseOk + header + 3 fragments, queued at once.
            slow = await Raw.connect(url)
            await slow.send(P.JoinRequest("%LOR", "r", b"", b""))
            code = None
            try:
                for _ in range(10):
                    await slow.recv_frame()
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
            assert code == 1013
            assert await w.sync_point() == []  # the others are unaffected
            await until(lambda: app.server.metrics.connections == 1, what="slow peer gone")
            await w.close()
    run(body())


def test_json_log_lines_carry_the_extras():
    rec = logging.LogRecord("loro_c.sync.server", logging.INFO, __file__, 1, "joined %s", ("x",), None)
    rec.room = "r1"
    rec.session = 7
    out = json.loads(JsonFormatter().format(rec))
    assert out["msg"] == "joined x" and out["room"] == "r1" and out["session"] == 7
    assert out["level"] == "info" and out["ts"].endswith("Z")


def test_cli_help_lists_serve_options():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))  # finds loro_c as we do
    r = subprocess.run([sys.executable, "-m", "loro_c", "serve", "--help"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    for opt in ("--host", "--port", "--db", "--rate", "--max-room-bytes"):
        assert opt in r.stdout
