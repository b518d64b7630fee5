"""Prometheus counters in a registry of our own (no global state), served on /metrics by a
listener of its own (``[metrics] host/port``), never on the public port that carries links."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Metrics:
    """The counters kocbot exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("kocbot_updates", "Telegram updates handled", ["kind"], registry=r)
        self.posts = Counter("kocbot_posts_sent", "Cards posted to groups", registry=r)
        self.taps = Counter("kocbot_taps", "Buy taps", registry=r)
        self.tap_batches = Counter("kocbot_tap_batches", "Transactions that recorded Buy taps",
                                   registry=r)
        self.clicks = Counter("kocbot_clicks", "Tracked-link clicks", ["kind"], registry=r)
        self.orders = Counter("kocbot_orders", "Order reports", ["result"], registry=r)
        self.send_errors = Counter("kocbot_send_errors", "Errors from Telegram on send", ["kind"],
                                   registry=r)
        self.renders = Counter("kocbot_card_renders", "Cards rendered", registry=r)
        self.uploads = Counter("kocbot_card_uploads", "Card photos uploaded", registry=r)
        self.queue_depth = Gauge("kocbot_outbox_depth", "Posts waiting in the outbox", registry=r)
        self.click_buffer = Gauge("kocbot_click_buffer", "Clicks waiting to be written", registry=r)
        self.clicks_dropped = Counter("kocbot_clicks_dropped", "Clicks dropped by a full buffer",
                                      ["kind"], registry=r)

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Read the outbox depth when scraped."""
        self.queue_depth.set_function(depth)

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def metrics_app(metrics: Metrics) -> Starlette:
    """The metrics listener's application: ``GET /metrics`` and nothing else."""

    async def render(_request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return Starlette(routes=[Route("/metrics", render, methods=["GET"])])
