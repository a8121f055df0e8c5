"""End to end with Loro's JS client, unchanged: two Node peers (npm loro-websocket 0.6.2
+ loro-adaptors + loro-crdt) and a Python SyncClient edit one room concurrently through
our server; all three end with the server's document.

The npm packages are installed by the fixture into a temporary folder of the test session,
removed afterwards; set LORO_C_NPM_CACHE to a folder to install them there once and reuse
them across runs.  Without node/npm the test skips, saying so."""

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from _sync_util import P, run, serving, until

from loro_c import LoroDoc, VersionVector
from loro_c.sync.client import SyncClient

PACKAGES = {"loro-websocket": "0.6.2", "loro-adaptors": "0.6.1", "loro-crdt": "1.17.1",
            "ws": "8.18.3"}
SCRIPT = Path(__file__).with_name("js") / "loro_peer.mjs"
PROBE = ("import('loro-websocket').then(() => import('loro-adaptors/loro'))"
         ".then(() => import('loro-crdt')).then(() => import('ws'))"
         ".then(() => console.log('ok'))")


def _place_script(folder: Path) -> None:
    # Atomic, so a concurrent session's node never reads a half-written script.
    target = folder / SCRIPT.name
    data = SCRIPT.read_bytes()
    if target.exists() and target.read_bytes() == data:
        return
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".mjs.tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)


def _probe(folder: Path) -> bool:
    try:
        r = subprocess.run(["node", "--input-type=module", "-e", PROBE], cwd=folder,
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip() == "ok"


def js_env_folder():
    """Generator behind the session fixture `js_env` (tests/conftest.py): the folder with
    the npm packages installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("end-to-end with the JS client needs node and npm on PATH")
    key = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    base = os.environ.get("LORO_C_NPM_CACHE")
    scratch = None
    if base:
        folder = Path(base) / key
        folder.mkdir(parents=True, exist_ok=True)
    else:
        # by default the packages go into a temporary folder of this test session
        scratch = Path(tempfile.mkdtemp(prefix="loro_c-e2e-"))
        folder = scratch / key
        folder.mkdir()
    try:
        yield _installed(folder, npm)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _installed(folder, npm):
    """`folder` with the npm packages installed (kept when they already load)."""
    _place_script(folder)
    if _probe(folder):
        return folder
    # Fresh (or broken) folder: install into a staging folder, then swap it in, so an
    # interrupted install never leaves a half folder that looks usable.
    stage = Path(tempfile.mkdtemp(prefix="stage-", dir=folder.parent))
    (stage / "package.json").write_text(json.dumps(
        {"name": "loro-c-e2e", "private": True, "type": "module", "dependencies": PACKAGES}))
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--legacy-peer-deps",
                        "--loglevel=error"], cwd=stage, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        shutil.rmtree(stage, ignore_errors=True)
        pytest.fail(f"npm install failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(stage, folder)
    except OSError:  # a concurrent session installed it first
        shutil.rmtree(stage, ignore_errors=True)
    _place_script(folder)
    assert _probe(folder), "the installed npm packages do not load"
    return folder


async def _line(proc, event, timeout=60.0):
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), timeout)
        if not raw:
            err = await proc.stderr.read()
            raise AssertionError(f"node peer exited before {event!r}: {err.decode()[-3000:]}")
        msg = json.loads(raw)
        if msg.get("event") == event:
            return msg


def _vv(d):
    return VersionVector.from_dict({int(k): v for k, v in d.items()})


def test_two_js_clients_and_a_python_client_converge(js_env):
    edits = 60

    async def body():
        async with serving() as (app, url):
            py = SyncClient(url)
            await py.connect()
            pdoc = LoroDoc()
            proom = await py.join("shared", pdoc)
            # Some history before the JS peers arrive: their join backfills it.
            pdoc.get_text("t").insert(0, "start;")
            pdoc.commit()
            await proom.flush()
            procs = [await asyncio.create_subprocess_exec(
                "node", str(js_env / SCRIPT.name), url, "shared", name, str(edits),
                cwd=js_env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024) for name in ("A", "B")]
            try:
                for p in procs:
                    await _line(p, "joined")
                text, lst = pdoc.get_text("t"), pdoc.get_list("l")
                for i in range(edits):  # concurrently with the Node peers
                    text.insert((i * 31) % (text.len_unicode + 1), f"P{i};")
                    if i % 3 == 0:
                        pdoc.get_map("m").insert(f"P-{i % 5}", f"P:{i}")
                    if i % 4 == 0:
                        lst.insert(len(lst) // 2, f"P{i}")
                    pdoc.commit()
                    await asyncio.sleep(0.002 if i % 5 == 0 else 0)
                versions = [(await _line(p, "edited"))["version"] for p in procs]
                await proom.flush()
                assert not proom.failed
                sdoc = app.server.rooms[P.CRDT_LORO + "shared"].doc
                want = [_vv(v) for v in versions] + [pdoc.oplog_vv]
                await until(lambda: all(sdoc.oplog_vv.includes_vv(w) for w in want), 30,
                            "server has every peer's edits")
                target = {str(k): v for k, v in sdoc.oplog_vv.to_dict().items()}
                for p in procs:
                    p.stdin.write((json.dumps({"target": target}) + "\n").encode())
                    await p.stdin.drain()
                finals = [await _line(p, "final") for p in procs]
                await until(lambda: pdoc.oplog_vv == sdoc.oplog_vv, 30, "python client synced")
                expected = sdoc.get_deep_value()
                assert pdoc.get_deep_value() == expected
                for f in finals:
                    assert _vv(f["version"]) == sdoc.oplog_vv
                    assert f["value"] == expected
                assert expected["m"]["big"] == "x" * 300_000  # went through as fragments
                # Everyone's first and late edits are in (list items are never deleted;
                # text tokens may be cut by the peers' concurrent deletes).
                late = (edits - 1) // 4 * 4
                for name in ("A", "B", "P"):
                    assert f"{name}0" in expected["l"] and f"{name}{late}" in expected["l"]
                    assert f"{name}-0" in expected["m"]
                for p in procs:
                    assert await asyncio.wait_for(p.wait(), 30) == 0
            finally:
                for p in procs:
                    if p.returncode is None:
                        p.kill()
                        await p.wait()
            await py.close()

    run(body(), timeout=180)
