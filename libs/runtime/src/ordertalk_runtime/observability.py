"""Structured JSON logs and the correlation id that follows a request through events to e-mails."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.metrics import EVENTS_PROCESSED

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")


def new_correlation_id() -> str:
    """A fresh correlation id."""
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, process id, logger, message, correlation id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "pid": record.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        for key in ("order_id", "event_id", "event_type", "position", "correlation_ids"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines tagged with ``service``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "pymongo", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class CorrelationMiddleware:
    """ASGI middleware: take the caller's correlation id (or make one), expose it, echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with ``correlation_id`` set."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        cid = next((headers[h][:200] for h in CORRELATION_HEADERS if headers.get(h)), None) or new_correlation_id()
        token = correlation_id.set(cid)
        scope.setdefault("state", {})["correlation_id"] = cid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


def log_handled_batch(
    logger: logging.Logger, consumer: str, events: Sequence[IntegrationEvent], outcome: str = "applied"
) -> None:
    """Count a batch of consumed events and log it in one line with every correlation id it carried."""
    if not events:
        return
    for event in events:
        EVENTS_PROCESSED.labels(consumer, event.event_type, outcome).inc()
    ids = sorted({e.correlation_id for e in events if e.correlation_id})
    positions = [p for p in (getattr(e, "position", None) for e in events) if isinstance(p, int)]
    logger.info(
        "%s %s %d events",
        consumer,
        outcome,
        len(events),
        extra={"correlation_ids": ids, "position": max(positions) if positions else None},
    )
