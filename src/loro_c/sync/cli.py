"""Command line: ``python -m loro_c serve``."""

from __future__ import annotations

from typing import Optional
import argparse
import json
import logging
import sys
import time

from ..errors import LoroValueError
from . import protocol as P

_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
               + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        for k, v in vars(record).items():
            if k not in _STD_ATTRS and not k.startswith("_"):
                out[k] = v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def build_app(db: str, store: Optional[str] = None, broker: Optional[str] = None, **config):
    """The app ``serve`` runs: SQLite (or memory) at ``db``, unless ``store`` names a
    PostgreSQL database; with ``broker`` (a redis:// URL) updates fan out to the other
    processes sharing that store."""
    from .server import ServerConfig, SyncApp
    from .storage import MemoryStorage, SQLiteStorage
    if store:
        if not store.startswith(("postgresql://", "postgres://")):
            raise LoroValueError(f"--store: expected a postgresql:// URL, got {store!r}")
        from .pgstore import PgStorage
        storage = PgStorage(store)
    else:
        storage = MemoryStorage() if db == ":memory:" else SQLiteStorage(db)
    b = None
    if broker:
        if not broker.startswith(("redis://", "rediss://", "unix://")):
            raise LoroValueError(f"--broker: expected a redis:// URL, got {broker!r}")
        from .broker import RedisBroker
        b = RedisBroker(broker)
    return SyncApp(storage=storage, config=ServerConfig(**config), broker=b)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m loro_c")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the sync server (Loro protocol v1 over WebSocket)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--db", default="loro-sync.sqlite3",
                   help="SQLite file for room data (':memory:' keeps nothing)")
    s.add_argument("--store", default=None,
                   help="postgresql://... URL: keep rooms in PostgreSQL (shared by many processes) "
                        "instead of --db")
    s.add_argument("--broker", default=None,
                   help="redis://... URL: fan updates out to the other processes of the same --store")
    s.add_argument("--outage-timeout", type=float, default=30.0,
                   help="seconds an update waits unacked for an unreachable store/broker")
    s.add_argument("--idle-unload", type=float, default=30.0, help="seconds before an empty room unloads")
    s.add_argument("--compact-after", type=int, default=512, help="log length that triggers compaction")
    s.add_argument("--fragment-timeout", type=float, default=P.DEFAULT_FRAGMENT_TIMEOUT)
    s.add_argument("--max-room-bytes", type=int, default=None,
                   help="per-room storage quota; updates beyond it get Ack(app_error)")
    s.add_argument("--rate", type=float, default=None,
                   help="update batches per second per connection (token bucket); Ack(rate_limited) beyond")
    s.add_argument("--burst", type=int, default=100, help="token bucket size for --rate")
    s.add_argument("--log-level", default="info")
    s.add_argument("--log-format", choices=("json", "text"), default="json")
    args = ap.parse_args(argv)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if args.log_format == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(args.log_level.upper())

    try:
        import uvicorn
    except ImportError:
        print("the server needs uvicorn: pip install 'loro_c[server]'", file=sys.stderr)
        return 2
    from .server import UpdateRateLimit
    if args.broker and not args.store:
        print("--broker needs a shared --store (postgresql://...): processes must load "
              "the same rooms", file=sys.stderr)
        return 2
    try:
        app = build_app(args.db, args.store, args.broker, outage_timeout=args.outage_timeout,
                        idle_unload=args.idle_unload, compact_after=args.compact_after,
                        fragment_timeout=args.fragment_timeout, max_room_bytes=args.max_room_bytes,
                        allow_update=UpdateRateLimit(args.rate, args.burst) if args.rate else None)
    except LoroValueError as e:
        print(e, file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app, host=args.host, port=args.port, lifespan="on", log_config=None,
        log_level=args.log_level, ws="websockets-sansio",
        # Frames above the protocol limit (up to 4x) still reach the app, which answers
        # Ack(payload_too_large) instead of the transport dropping the connection.
        ws_max_size=4 * P.MAX_MESSAGE_SIZE,
        timeout_graceful_shutdown=10)
    uvicorn.Server(config).run()
    return 0
