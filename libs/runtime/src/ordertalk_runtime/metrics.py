"""Prometheus metrics of every service, and the HTTP middleware and /metrics route that expose them."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "ordertalk_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "ordertalk_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("ordertalk_events_published_total", "Stored events published to Kafka", ["topic"])
EVENTS_PROCESSED = Counter(
    "ordertalk_events_processed_total", "Events a consumer handled", ["consumer", "event_type", "outcome"]
)
CONSUMER_LAG = Gauge(
    "ordertalk_consumer_lag", "Messages behind the end of the partition", ["consumer", "topic", "partition"]
)
EVENTS_UNVOUCHED = Counter(
    "ordertalk_events_unvouched_total",
    "Thread events held back because the event store does not vouch for them (beyond its head, refuted by it,"
    " or a thread that never started)",
    ["consumer", "reason"],
)
DEAD_LETTERS = Counter("ordertalk_dead_letters_total", "Messages put aside on the dead-letter topic", ["consumer"])
EMAILS = Counter("ordertalk_emails_total", "E-mail delivery attempts by outcome", ["outcome"])
QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
log = logging.getLogger("ordertalk.http")
RELAY_POSITION = Gauge("ordertalk_relay_position", "Last event-store position the relay published")


def route_of(scope: Scope) -> str:
    """The route template of a request (``/v1/orders/{order_id}``), not its raw path."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class MetricsMiddleware:
    """ASGI middleware counting requests and timing them by route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labelled children, looked up once

    def _count(self, method: str, route: str, status: int, elapsed: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_LATENCY.labels(self.service, method, route),
            )
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and count its status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route, method, elapsed = route_of(scope), scope["method"], time.perf_counter() - start
            self._count(method, route, status, elapsed)
            if route not in QUIET_ROUTES:
                log.info(
                    "%s %s %d %.1fms",
                    method,
                    scope.get("path", route),
                    status,
                    elapsed * 1000,
                    extra={"correlation_id": scope.get("state", {}).get("correlation_id")},
                )


def install_metrics(app: FastAPI, service: str) -> None:
    """Count and time every request of ``app`` and serve ``GET /metrics``."""
    app.add_middleware(MetricsMiddleware, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def record_consumer_lag(consumer_name: str, consumer: Any) -> None:
    """Set the lag gauge of every partition assigned to an aiokafka consumer (end minus position)."""
    for tp in consumer.assignment():
        end = consumer.highwater(tp)
        if end is None:
            continue
        position = await consumer.position(tp)
        CONSUMER_LAG.labels(consumer_name, tp.topic, str(tp.partition)).set(max(end - position, 0))
