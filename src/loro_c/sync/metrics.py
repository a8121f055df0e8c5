"""The sync server's counters and their Prometheus text (``GET /metrics``)."""

from __future__ import annotations


class Metrics:
    def __init__(self) -> None:
        self.connections = 0
        self.connections_total = 0
        self.updates_total = 0
        self.update_bytes_total = 0
        self.rejected_updates_total = 0
        self.messages_in_total = 0
        self.bytes_in_total = 0
        self.messages_out_total = 0
        self.bytes_out_total = 0
        self.protocol_errors_total = 0
        self.joins_total = 0
        self.held_batches = 0  # waiting for the store or the broker to come back
        self.outage_retries_total = 0
        self.catchups_total = 0
        self.remote_updates_total = 0


def prometheus_text(server, size: int) -> str:
    """The exposition text of ``server``'s counters, its storage (``size``: bytes used,
    -1 when unknown) and its broker."""
    m = server.metrics
    rows = [
        ("loro_sync_connections", "gauge", "Open connections", m.connections),
        ("loro_sync_connections_total", "counter", "Connections accepted", m.connections_total),
        ("loro_sync_rooms", "gauge", "Loaded rooms", len(server.rooms)),
        ("loro_sync_joins_total", "counter", "Successful joins", m.joins_total),
        ("loro_sync_updates_total", "counter", "Updates accepted", m.updates_total),
        ("loro_sync_update_bytes_total", "counter", "Bytes of accepted updates", m.update_bytes_total),
        ("loro_sync_rejected_updates_total", "counter", "Batches answered with a non-ok Ack",
         m.rejected_updates_total),
        ("loro_sync_messages_in_total", "counter", "Binary frames received", m.messages_in_total),
        ("loro_sync_bytes_in_total", "counter", "Bytes received", m.bytes_in_total),
        ("loro_sync_messages_out_total", "counter", "Frames sent", m.messages_out_total),
        ("loro_sync_bytes_out_total", "counter", "Bytes sent", m.bytes_out_total),
        ("loro_sync_protocol_errors_total", "counter", "Malformed or oversize frames",
         m.protocol_errors_total),
        ("loro_sync_storage_bytes", "gauge", "Bytes used by storage", size),
        ("loro_sync_storage_commits_total", "counter", "Group commits of the update log",
         server.storage.commits),
        ("loro_sync_store_up", "gauge", "1 when the store answered its last request",
         0 if server.storage.available is False else 1),
        ("loro_sync_store_append_seconds_total", "counter",
         "Wall time of update log commits (shared store)", getattr(server.storage, "append_seconds", 0.0)),
        ("loro_sync_held_batches", "gauge", "Update batches (and catch-ups) waiting for store or broker",
         m.held_batches),
        ("loro_sync_outage_retries_total", "counter", "Retries of store or broker operations",
         m.outage_retries_total),
        ("loro_sync_catchups_total", "counter", "Rooms caught up from the store", m.catchups_total),
        ("loro_sync_remote_updates_total", "counter", "Updates received from other processes",
         m.remote_updates_total),
    ]
    b = server.broker
    if b is not None:
        rows += [
            ("loro_sync_broker_up", "gauge", "1 while subscribed to the broker", int(b.available)),
            ("loro_sync_broker_published_total", "counter", "Batches published", b.published_total),
            ("loro_sync_broker_publish_errors_total", "counter", "Failed publishes",
             b.publish_errors_total),
            ("loro_sync_broker_publish_seconds_total", "counter",
             "Wall time of publish round trips (pipelined)", b.publish_seconds),
            ("loro_sync_broker_publish_round_trips_total", "counter",
             "Publish round trips (one pipeline each)", b.publish_round_trips_total),
            ("loro_sync_broker_received_total", "counter", "Batches received from other processes",
             b.received_total),
            ("loro_sync_broker_connects_total", "counter", "Broker (re)connections", b.connects_total),
            ("loro_sync_stale_rooms", "gauge", "Loaded rooms refusing joins until caught up",
             sum(1 for r in server.rooms.values()
                 if r.doc is not None and r.epoch != server._broker_epoch())),
        ]
    out = []
    for name, kind, help_, v in rows:
        out.append(f"# HELP {name} {help_}\n# TYPE {name} {kind}\n{name} {v}\n")
    return "".join(out)
