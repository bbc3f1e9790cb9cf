"""The gateway's Prometheus metrics (``GET /metrics``): counts and timings, never who or what."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds: a reply is expected well under one; a queue may build up to minutes.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """One registry per gateway process, so tests and replicas never share counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_in = Counter(
            "lantern_updates_in",
            "Telegram updates stored, by kind (message, edited_message, callback_query, ...)",
            ["kind"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "lantern_messages_out",
            "Messages the gateway put into chats (children's and the staff group's)",
            registry=self.registry,
        )
        self.handled_seconds = Histogram(
            "lantern_update_seconds",
            "From an update being stored to its handling finished, replies sent",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.queue_seconds = Histogram(
            "lantern_queue_wait_seconds",
            "From an update being stored to its handling starting",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.open_handoffs = Gauge(
            "lantern_open_handoffs",
            "Helpline cases waiting for or talking with a counsellor (all replicas)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def update_kind(data: dict[str, object]) -> str:
    """The kind of a raw update: the name of its one payload field."""
    return next((key for key in data if key != "update_id"), "empty")
