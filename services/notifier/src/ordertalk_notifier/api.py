"""HTTP entrypoints: health, the caller's bell counts, the SSE bell stream, permanently failed e-mails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import FastAPI, Query, Request, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyQuery
from ordertalk_threadstate import BellCounts as Figures
from pydantic import BaseModel, Field

from ordertalk_notifier.alerts import ADMIN_AUDIENCE, customer_audience
from ordertalk_notifier.hub import Alert, BroadcastHub
from ordertalk_notifier.ports import BellCounts, Outbox, OutboxEntry
from ordertalk_notifier.tickets import StreamTickets
from ordertalk_runtime.api_docs import install_api_docs
from ordertalk_runtime.auth import (
    BearerCredentials,
    CurrentAdmin,
    CurrentPrincipal,
    Principal,
    QueryToken,
    TokenCodec,
    principal_from_request,
    unauthorized,
)
from ordertalk_runtime.edge import install_edge
from ordertalk_runtime.metrics import install_metrics
from ordertalk_runtime.observability import CorrelationMiddleware
from ordertalk_runtime.problems import WRITE_PROBLEMS, install_problem_handlers, problem_responses

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
CountsOf = Callable[[str], Awaitable[BellCounts]]
PING_SECONDS = 15.0
STREAM_DESCRIPTION = (
    "`bell` events, the first with the current counts: `{counts, description, order_id, event_type, position}`, "
    "`counts` being the caller's bell (the fields of GET /v1/bell: threads_with_news, "
    "threads_with_unread_messages, unseen_disputes); `description` is null for counts-only updates and for the "
    "caller's own side's actions"
)


class FailedNotification(BaseModel):
    """An e-mail the mail server rejected for good."""

    key: str
    event_id: str
    order_id: str
    kind: str
    recipient: str
    subject: str
    attempts: int
    error: str | None
    failed_at: str | None


class FailedList(BaseModel):
    """Permanently rejected e-mails, newest first."""

    items: list[FailedNotification]


TICKET_SCHEME = APIKeyQuery(
    name="ticket",
    scheme_name="streamTicket",
    description="A stream ticket from POST /v1/stream/tickets: what an EventSource's URL carries instead of the JWT.",
    auto_error=False,
)
StreamTicket = Annotated[str | None, Security(TICKET_SCHEME)]


class StreamTicketOut(BaseModel):
    """A ticket that opens the caller's bell stream (``GET /v1/stream?ticket=...``) for a short while."""

    ticket: str = Field(description="Opaque; good for GET /v1/stream only")
    expires_in: int = Field(description="Seconds it stays valid (a reconnect within them may reuse it)")


def failed_view(entry: OutboxEntry) -> FailedNotification:
    """The API view of a failed outbox entry."""
    return FailedNotification(
        key=entry.key,
        event_id=entry.event_id,
        order_id=entry.order_id,
        kind=entry.kind,
        recipient=entry.recipient,
        subject=entry.subject,
        attempts=entry.attempts,
        error=entry.last_error,
        failed_at=entry.failed_at.isoformat() if entry.failed_at else None,
    )


def audience_of(principal: Principal) -> str:
    """Which bell a caller follows."""
    return ADMIN_AUDIENCE if principal.role == "admin" else customer_audience(principal.subject)


def sse_frame(alert: Alert) -> str:
    """One ``bell`` server-sent event."""
    return f"event: bell\ndata: {json.dumps(alert, separators=(',', ':'))}\n\n"


async def bell_events(hub: BroadcastHub, audience: str, counts_of: CountsOf, ping: float) -> AsyncIterator[str]:
    """The stream of one subscriber: the current counts at once, then every alert, with keep-alive comments."""
    with hub.subscribe(audience) as queue:  # subscribe first: nothing between the snapshot and the stream is lost
        yield "retry: 2000\n\n"
        snapshot = {"counts": await counts_of(audience), "description": None, "order_id": None}
        yield sse_frame(snapshot | {"event_type": None, "position": None})
        while True:
            try:
                alert = await asyncio.wait_for(queue.get(), ping)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            frames = [sse_frame(alert)]
            while not queue.empty():  # alerts published together go out in one write
                frames.append(sse_frame(queue.get_nowait()))
            yield "".join(frames)


def create_app(
    codec: TokenCodec,
    hub: BroadcastHub,
    counts_of: CountsOf,
    outbox: Outbox,
    ready: Callable[[], Awaitable[dict[str, bool]]],
    cors_origins: list[str],
    lifespan: Lifespan | None = None,
    tickets: StreamTickets | None = None,
    not_ready: Callable[[], list[str]] | None = None,
) -> FastAPI:
    """The notifier's HTTP API (``not_ready``: reasons, such as a missing topic, that turn /readyz to 503)."""
    stream_tickets = tickets or StreamTickets()
    app = FastAPI(title="ordertalk notifier", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.token_codec = codec
    install_problem_handlers(app)
    install_api_docs(app)
    install_edge(app, codec)
    install_metrics(app, "notifier")
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(
        CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST"], allow_headers=["Authorization"]
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        responses={503: {"description": "Not ready: a check failed", "content": {"application/json": {}}}},
    )
    async def readyz() -> JSONResponse:
        checks = await ready()
        reasons = not_ready() if not_ready is not None else []
        fine = all(checks.values()) and not reasons
        body = {"ready": fine, "checks": checks} | ({"reasons": reasons} if reasons else {})
        return JSONResponse(body, status_code=200 if fine else 503)

    @app.get("/v1/bell")
    async def bell(principal: CurrentPrincipal) -> Figures:
        """The caller's bell: threads with news (the badge), threads with unread messages, unseen open disputes."""
        return Figures.model_validate(await counts_of(audience_of(principal)))

    @app.get(
        "/v1/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DESCRIPTION}},
    )
    async def stream(
        request: Request, _bearer: BearerCredentials, _query: QueryToken, ticket: StreamTicket
    ) -> StreamingResponse:
        """The caller's bell as server-sent events: a stream ticket (``ticket``), or the token in the header.

        ``access_token`` (the JWT in the URL) is still accepted, for clients that have no ticket yet.
        """
        if ticket:
            found = stream_tickets.principal(ticket)
            if found is None:
                raise unauthorized("the stream ticket is unknown or has expired; take a new one")
            principal = found
        else:
            principal = principal_from_request(request, codec, allow_query_token=True)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        events = bell_events(hub, audience_of(principal), counts_of, PING_SECONDS)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    @app.post(
        "/v1/stream/tickets",
        status_code=201,
        response_model=StreamTicketOut,
        responses=problem_responses(*WRITE_PROBLEMS),
    )
    async def stream_ticket(principal: CurrentPrincipal) -> StreamTicketOut:
        """A short-lived ticket for the caller's bell stream, so the stream's URL never carries the bearer token."""
        return StreamTicketOut(ticket=stream_tickets.issue(principal), expires_in=int(stream_tickets.ttl_seconds))

    @app.get("/v1/notifications/failed", responses=problem_responses(403))
    async def failed(_: CurrentAdmin, limit: int = Query(default=100, ge=1, le=1000)) -> FailedList:
        return FailedList(items=[failed_view(e) for e in await outbox.failed(limit)])

    return app
