"""Durable room storage: the small interface the server needs, and its SQLite backend.

A room is stored as one compacted blob plus an append-only log of the updates accepted
since; loading a room imports the blob and then the log in order.  ``append`` returns
only once the update is on disk (SQLite WAL, ``synchronous=FULL``), which is what lets
the server promise that an acked update survives ``kill -9``.

The backend methods are synchronous and called from one dedicated thread by
:class:`AsyncStorage`.  The server talks to the async face (``load``, ``append``,
``compact``, ``size``, ``close`` coroutines, ``commits``, ``shared``): AsyncStorage
gives it to a synchronous :class:`Storage`, and a natively async backend shared by
several processes (:class:`loro_c.sync.pgstore.PgStorage`) has it itself, with
``shared = True`` and ``compact_room`` in place of ``compact``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Protocol, Sequence, Tuple

from ..errors import LoroError

__all__ = ["Storage", "SQLiteStorage", "MemoryStorage", "AsyncStorage", "RoomData",
           "StoreUnavailable"]


class StoreUnavailable(LoroError, ConnectionError):
    """The store cannot be reached right now (a shared store such as PostgreSQL is
    down or unreachable): the operation did nothing and may be retried."""


class RoomData:
    """What a room loads from: its compacted blob (or None) and the log entries
    (seq, update) not folded into it, in order."""

    __slots__ = ("blob", "updates", "last_seq")

    def __init__(self, blob: Optional[bytes], updates: List[Tuple[int, bytes]], last_seq: int):
        self.blob = blob
        self.updates = updates
        self.last_seq = last_seq


class Storage(Protocol):
    def load(self, room: str) -> RoomData: ...

    def append(self, room: str, update: bytes) -> int:
        """Durably append; returns the update's sequence number (increasing per store)."""

    def append_many(self, items: Sequence[Tuple[str, bytes]]) -> List[int]:
        """Durably append several (room, update) pairs in one commit; their seqs."""

    def compact(self, room: str, blob: bytes, upto_seq: int, keep: Sequence[int] = ()) -> None:
        """Replace the blob and drop log entries with seq <= upto_seq except those in
        ``keep`` (updates the blob cannot hold yet), atomically."""

    def size(self) -> int:
        """Bytes used, for metrics."""

    def close(self) -> None: ...


class SQLiteStorage:
    """One SQLite file for all rooms; WAL mode; every append is its own durable commit."""

    def __init__(self, path: str):
        self.path = path
        # Used from AsyncStorage's single worker thread only (sqlite3 objects are not
        # shareable across threads by default); created lazily there.
        self._conn: Optional[sqlite3.Connection] = None
        self._owner: Optional[int] = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so a commit that returned
            # survives power loss, not just a process kill.
            c.execute("PRAGMA synchronous=FULL")
            c.execute("CREATE TABLE IF NOT EXISTS updates ("
                      "seq INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, data BLOB NOT NULL)")
            c.execute("CREATE INDEX IF NOT EXISTS updates_room ON updates(room, seq)")
            c.execute("CREATE TABLE IF NOT EXISTS blobs ("
                      "room TEXT PRIMARY KEY, data BLOB NOT NULL, upto_seq INTEGER NOT NULL)")
            self._conn = c
        return self._conn

    def load(self, room: str) -> RoomData:
        db = self._db()
        row = db.execute("SELECT data, upto_seq FROM blobs WHERE room=?", (room,)).fetchone()
        blob, upto = (bytes(row[0]), row[1]) if row else (None, 0)
        rows = db.execute("SELECT seq, data FROM updates WHERE room=? ORDER BY seq",
                          (room,)).fetchall()
        last = max(rows[-1][0], upto) if rows else upto
        return RoomData(blob, [(r[0], bytes(r[1])) for r in rows], last)

    def append(self, room: str, update: bytes) -> int:
        return self.append_many([(room, update)])[0]

    def append_many(self, items: Sequence[Tuple[str, bytes]]) -> List[int]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            seqs = [int(db.execute("INSERT INTO updates(room, data) VALUES(?, ?)", it).lastrowid)
                    for it in items]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return seqs

    def compact(self, room: str, blob: bytes, upto_seq: int, keep: Sequence[int] = ()) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO blobs(room, data, upto_seq) VALUES(?, ?, ?) "
                       "ON CONFLICT(room) DO UPDATE SET data=excluded.data, upto_seq=excluded.upto_seq",
                       (room, blob, upto_seq))
            keep = sorted(set(keep))
            db.execute(f"DELETE FROM updates WHERE room=? AND seq<=? "
                       f"AND seq NOT IN ({','.join('?' * len(keep))})",
                       (room, upto_seq, *keep))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def log_length(self, room: str) -> int:
        return self._db().execute("SELECT COUNT(*) FROM updates WHERE room=?", (room,)).fetchone()[0]

    def size(self) -> int:
        db = self._db()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        psize = db.execute("PRAGMA page_size").fetchone()[0]
        return int(pages * psize)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()
                self._conn = None


class MemoryStorage:
    """Non-durable storage for tests and throwaway servers."""

    def __init__(self) -> None:
        self._blobs: dict = {}
        self._logs: dict = {}
        self._seq = 0
        self._lock = threading.Lock()

    def load(self, room: str) -> RoomData:
        with self._lock:
            blob, upto = self._blobs.get(room, (None, 0))
            log = list(self._logs.get(room, []))
            return RoomData(blob, log, max(log[-1][0], upto) if log else upto)

    def append(self, room: str, update: bytes) -> int:
        with self._lock:
            self._seq += 1
            self._logs.setdefault(room, []).append((self._seq, bytes(update)))
            return self._seq

    def append_many(self, items: Sequence[Tuple[str, bytes]]) -> List[int]:
        return [self.append(r, u) for r, u in items]

    def compact(self, room: str, blob: bytes, upto_seq: int, keep: Sequence[int] = ()) -> None:
        with self._lock:
            kept = set(keep)
            self._blobs[room] = (bytes(blob), upto_seq)
            self._logs[room] = [(s, u) for s, u in self._logs.get(room, [])
                                if s > upto_seq or s in kept]

    def log_length(self, room: str) -> int:
        return len(self._logs.get(room, []))

    def size(self) -> int:
        with self._lock:
            return (sum(len(b) for b, _ in self._blobs.values())
                    + sum(len(u) for log in self._logs.values() for _, u in log))

    def close(self) -> None:
        pass


class AsyncStorage:
    """Runs a Storage on one worker thread so disk waits never block the event loop.

    Operations run in the order they were requested.  Appends are group-committed: the
    appends that arrive while a commit is on disk share the next commit (one fsync for
    all), and each caller resumes once its own update is durable."""

    shared = False  # one process owns the file: compact() by seq is safe
    available = True

    def __init__(self, backend: Storage):
        self.backend = backend
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loro-storage")
        self._lock = threading.Lock()
        self._batch: List[Tuple[str, bytes, asyncio.Future]] = []
        self._flush_queued = False
        self.commits = 0  # group commits done, for metrics and tests

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def load(self, room: str) -> RoomData:
        return await self._run(self.backend.load, room)

    async def append(self, room: str, update: bytes) -> int:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._lock:
            self._batch.append((room, update, fut))
            submit = not self._flush_queued
            self._flush_queued = True
        if submit:
            # Queued now, so it runs before any operation requested after this append.
            self._pool.submit(self._flush, loop)
        return await fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
            self._flush_queued = False
        if not batch:
            return
        try:
            seqs = self.backend.append_many([(r, u) for r, u, _ in batch])
            self.commits += 1
        except BaseException as e:
            err = e
            for _, _, f in batch:
                loop.call_soon_threadsafe(_settle, f, None, err)
            return
        for (_, _, f), seq in zip(batch, seqs):
            loop.call_soon_threadsafe(_settle, f, seq, None)

    async def compact(self, room: str, blob: bytes, upto_seq: int, keep: Sequence[int] = ()) -> None:
        await self._run(self.backend.compact, room, blob, upto_seq, tuple(keep))

    async def size(self) -> int:
        return await self._run(self.backend.size)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        await self._run(self.backend.close)
        self._pool.shutdown(wait=True)


def _settle(fut: asyncio.Future, result, error) -> None:
    if fut.done():  # the awaiting side was cancelled
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
