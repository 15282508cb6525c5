"""Structured JSON logs and the correlation id that follows a request through events to e-mails."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.metrics import EVENTS_PROCESSED

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CORRELATION_HEADERS = (b"x-correlation-id", b"x-request-id")  # in this order: the first one given wins
MAX_CORRELATION_ID_CHARS = 200


def new_correlation_id() -> str:
    """A fresh correlation id: 128 random bits as 32 hex digits, like a uuid4's hex.

    It only has to be unique, not unguessable, so it comes from ``random`` (seeded from the OS per
    process) rather than ``os.urandom``, a system call on every request.
    """
    return f"{random.getrandbits(128):032x}"


def correlation_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Correlation-ID (else X-Request-ID), stripped and cut to 200 characters, or a new id."""
    given: dict[bytes, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in CORRELATION_HEADERS and lowered not in given:
            text = value.decode("latin-1").strip()
            if text:
                given[lowered] = text[:MAX_CORRELATION_ID_CHARS]
    return next((given[h] for h in CORRELATION_HEADERS if h in given), None) or new_correlation_id()


CREDENTIAL_PARAMS = ("access_token", "id_token", "refresh_token", "token", "ticket", "api_key", "password", "secret")
_CREDENTIAL_PARAM = re.compile(r"(?i)((?:^|[?&\s])(?:" + "|".join(CREDENTIAL_PARAMS) + r")=)[^&\s\"']+")
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[\w.~+/-]+=*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` without credentials: query parameters that carry them, bearer tokens and anything shaped like a JWT."""
    if "=" in text:
        text = _CREDENTIAL_PARAM.sub(r"\1" + REDACTED, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "earer" in text:
        text = _BEARER.sub(r"\1" + REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, process id, logger, message, correlation id, extras.

    The message and any traceback go through ``redact``: no log line carries a token (uvicorn's access
    log, for one, writes every query string, and the notifier's stream takes a token in its query).
    """

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
            "msg": redact(record.getMessage()),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        for key in ("order_id", "event_id", "event_type", "position", "correlation_ids"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class BufferedLinesHandler(logging.StreamHandler[io.TextIOWrapper]):
    """Writes log lines through a buffer: at once from WARNING up, otherwise within ``interval`` seconds.

    A line-buffered stream costs a system call per line, and with it a hand-over of the GIL to
    whichever thread waits for it: per request, for an access log. Here INFO lines wait in memory
    for at most ``interval`` (a daemon thread flushes them); a warning or an error flushes
    everything before it, and ``logging.shutdown`` (at exit) flushes the rest. A record that still
    comes after ``close`` is written at once.
    """

    def __init__(self, stream: io.TextIOWrapper, interval: float = 0.2) -> None:
        super().__init__(stream)
        self.interval = interval
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._flush_every_interval, name="log-flusher", daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        """Write the line; flush at once from WARNING up."""
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or self._stopping.is_set():
                self.flush()  # once closed (logging.shutdown, a dictConfig) no thread flushes: every line
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _flush_every_interval(self) -> None:
        while not self._stopping.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Flush, and stop the flushing thread."""
        self._stopping.set()
        self.flush()
        super().close()


def stderr_lines() -> io.TextIOWrapper:
    """A text stream on standard error's file descriptor, buffered (not flushed per line) and never closing it."""
    raw = io.FileIO(sys.stderr.fileno(), "w", closefd=False)
    return io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding="utf-8", errors="backslashreplace")


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines tagged with ``service`` (INFO lines within 0.2 s)."""
    handler = BufferedLinesHandler(stderr_lines())
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BufferedLinesHandler):
            replaced.close()
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
        cid = correlation_id_of(scope.get("headers", []))
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


class ReadinessCheck(Protocol):
    """Something readiness asks: "is everything fine, else why" (the topic check, the relay)."""

    def not_ready(self) -> list[str]:
        """Reasons the service is not ready; empty when it is."""
        ...


def not_ready_reasons(checks: Iterable[ReadinessCheck]) -> list[str]:
    """Every reason the given checks give, in their order."""
    return [reason for check in checks for reason in check.not_ready()]
