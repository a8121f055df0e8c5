"""PostgreSQL room storage (asyncpg), shared by many server processes.

Same shape as the SQLite store — per room, one compacted snapshot plus an append-only
log — but every method is a coroutine (asyncpg is native asyncio) and several
processes use the tables at once, which changes two things:

* **Loading** reads the snapshot and the log in one REPEATABLE READ transaction, so
  a compaction committing in between can never make a loader see the old snapshot
  with the already-folded log.
* **Compaction** (:meth:`PgStorage.compact_room`) holds a transaction-scoped advisory
  lock on the room, so one process at a time compacts it; it folds what it *reads
  inside that transaction* into the snapshot and deletes exactly those log rows, by
  seq.  Appends committed by other processes meanwhile have seqs it never read and
  stay in the log, so nothing concurrent is lost (a ``seq <= n`` delete would lose
  them: sequence values are not committed in order).

Appends are group-committed: those that arrive while a commit is in flight share
the next ``INSERT`` (one WAL flush for all).  Any failure to reach the database is
raised as :class:`StoreUnavailable`; the server then holds the Acks and retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, List, Optional, Sequence, Tuple

from .storage import RoomData, StoreUnavailable

__all__ = ["PgStorage"]

log = logging.getLogger("loro_c.sync.pgstore")

_SCHEMA_LOCK = 0x6C6F726F  # any constant: serialises schema creation across processes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS loro_updates (
    seq BIGSERIAL PRIMARY KEY,
    room TEXT NOT NULL,
    data BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS loro_updates_room ON loro_updates (room, seq);
CREATE TABLE IF NOT EXISTS loro_snapshots (
    room TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    upto_seq BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
"""

# fold(data) -> (snapshot blob, seqs of the log rows it contains) or None to skip.
Fold = Callable[[RoomData], Optional[Tuple[bytes, Sequence[int]]]]


class PgStorage:
    """Room storage in PostgreSQL; see the module docstring.  ``dsn`` is a
    ``postgresql://`` URL.  Nothing connects until first use, so a server starts
    (and reports the store down on /health) even while the database is away."""

    shared = True  # other processes write the same rooms: compaction must merge

    def __init__(self, dsn: str, *, pool_size: int = 8, timeout: float = 5.0):
        self.dsn = dsn
        self.pool_size = pool_size
        self.timeout = timeout
        self._pool = None
        self._pool_lock: Optional[asyncio.Lock] = None
        self._batch: List[Tuple[str, bytes, asyncio.Future]] = []
        self._flusher: Optional[asyncio.Task] = None
        self.available: Optional[bool] = None  # None: not tried yet
        self.commits = 0
        self.append_seconds = 0.0  # wall time of group commits, for metrics

    # -- connection ------------------------------------------------------------------

    async def _get_pool(self):
        import asyncpg  # deferred: only this backend needs it

        if self._pool is not None:
            return self._pool
        if self._pool_lock is None:
            self._pool_lock = asyncio.Lock()
        async with self._pool_lock:
            if self._pool is None:
                # min_size 0: no background reconnect loop while the database is away;
                # requests reconnect on demand.
                pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=self.pool_size,
                                                 timeout=self.timeout, command_timeout=30)
                try:
                    async with pool.acquire() as c:
                        async with c.transaction():
                            await c.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                            await c.execute(_SCHEMA)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def _call(self, fn):
        """Run ``fn(conn)``; any failure to talk to the database is StoreUnavailable."""
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=self.timeout) as c:
                out = await fn(c)
        except StoreUnavailable:
            self.available = False
            raise
        except Exception as e:
            self.available = False
            raise StoreUnavailable(f"postgres: {e!r}") from e
        self.available = True
        return out

    async def ping(self) -> bool:
        """One round trip; updates :attr:`available`."""
        try:
            await self._call(lambda c: c.fetchval("SELECT 1", timeout=self.timeout))
            return True
        except StoreUnavailable:
            return False

    # -- storage interface ------------------------------------------------------------

    async def load(self, room: str) -> RoomData:
        """The room's snapshot and the log rows not folded into it, read consistently."""
        async def q(c):
            async with c.transaction(isolation="repeatable_read", readonly=True):
                return await _read_room(c, room)
        return await self._call(q)

    async def append(self, room: str, update: bytes) -> int:
        """Commit one update to the room's log (sharing a commit with concurrent
        appends); returns its seq once committed."""
        fut = asyncio.get_running_loop().create_future()
        self._batch.append((room, bytes(update), fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        while self._batch:
            batch, self._batch = self._batch, []
            rooms = [r for r, _, _ in batch]
            datas = [d for _, d, _ in batch]
            t0 = time.perf_counter()
            try:
                rows = await self._call(lambda c: c.fetch(
                    "INSERT INTO loro_updates (room, data) "
                    "SELECT * FROM unnest($1::text[], $2::bytea[]) RETURNING seq",
                    rooms, datas))
            except StoreUnavailable as e:
                for _, _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            self.commits += 1
            self.append_seconds += time.perf_counter() - t0
            # One statement draws its sequence values in row order, so sorted seqs
            # line up with the rows even if RETURNING came back in another order.
            for (_, _, f), seq in zip(batch, sorted(r[0] for r in rows)):
                if not f.done():
                    f.set_result(seq)

    async def compact_room(self, room: str, fold: Fold) -> bool:
        """Fold the room's stored state into a new snapshot under the room's advisory
        lock.  False when another process holds the lock (it is compacting)."""
        async def q(c):
            async with c.transaction():
                if not await c.fetchval("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
                                        room):
                    return False
                data = await _read_room(c, room)
                res = fold(data)
                if res is None:
                    return True
                blob, folded = res
                await c.execute(
                    "INSERT INTO loro_snapshots (room, data, upto_seq) VALUES ($1, $2, $3) "
                    "ON CONFLICT (room) DO UPDATE SET data = excluded.data, "
                    "upto_seq = excluded.upto_seq, updated_at = now()",
                    room, blob, data.last_seq)
                await c.execute("DELETE FROM loro_updates WHERE room = $1 AND seq = ANY($2::bigint[])",
                                room, list(folded))
                return True
        return await self._call(q)

    async def log_length(self, room: str) -> int:
        """Log rows of the room not yet folded into its snapshot."""
        return await self._call(lambda c: c.fetchval(
            "SELECT count(*) FROM loro_updates WHERE room = $1", room))

    async def size(self) -> int:
        """Bytes used by the two tables (with indexes and TOAST), for metrics."""
        return await self._call(lambda c: c.fetchval(
            "SELECT pg_total_relation_size('loro_updates') + pg_total_relation_size('loro_snapshots')"))

    async def close(self) -> None:
        """Finish the commit in flight and close the pool."""
        if self._flusher is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._flusher), self.timeout)
            except Exception:
                pass
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), self.timeout)
            except Exception:
                self._pool.terminate()
            self._pool = None


async def _read_room(c, room: str) -> RoomData:
    row = await c.fetchrow("SELECT data, upto_seq FROM loro_snapshots WHERE room = $1", room)
    blob, upto = (bytes(row[0]), int(row[1])) if row else (None, 0)
    rows = await c.fetch("SELECT seq, data FROM loro_updates WHERE room = $1 ORDER BY seq", room)
    updates = [(int(r[0]), bytes(r[1])) for r in rows]
    return RoomData(blob, updates, max(updates[-1][0], upto) if updates else upto)
