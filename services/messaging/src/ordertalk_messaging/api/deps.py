"""Request-scoped pieces of the API: the caller, the correlation id, services, domain errors as problems."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request

from ordertalk_messaging.application import Caller, ConcurrencyExhausted, ThreadService
from ordertalk_messaging.domain.errors import DisputeConflict, DomainError, InvalidText, ThreadNotFound
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.idempotency import InFlight
from ordertalk_messaging.storage.ports import IdempotencyStore
from ordertalk_runtime.auth import Principal, current_admin, current_principal
from ordertalk_runtime.problems import Problem

T = TypeVar("T")
CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")


async def _principal(request: Request) -> Principal:
    # An async dependency runs on the event loop: checking an HS256 token takes microseconds, while the
    # shared sync dependency would cost a worker-thread hop on every request.
    return current_principal(request)


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return current_admin(principal)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentAdmin = Annotated[Principal, Depends(_admin)]


def service_of(request: Request) -> ThreadService:
    """The thread service wired at start-up."""
    service: ThreadService = request.app.state.service
    return service


def idempotency_of(request: Request) -> IdempotencyStore:
    """The idempotency key store wired at start-up."""
    store: IdempotencyStore = request.app.state.idempotency
    return store


def in_flight_of(request: Request) -> InFlight:
    """The keys being executed in this process."""
    in_flight: InFlight = request.app.state.in_flight
    return in_flight


def caller_of(principal: Principal) -> Caller:
    """The authenticated principal as the domain's caller."""
    participant = Participant(role=principal.role, id=principal.subject, name=principal.display_name)
    return Caller(participant, customer_id=principal.subject if principal.role == "customer" else None)


def scope_of(principal: Principal) -> str:
    """Idempotency keys are per caller."""
    return f"{principal.role}:{principal.subject}"


def correlation_id_from(request: Request) -> str:
    """The caller's X-Correlation-ID / X-Request-ID (trimmed to 200 characters), or a new one."""
    for header in CORRELATION_HEADERS:
        value = request.headers.get(header, "").strip()
        if value:
            return value[:200]
    return uuid.uuid4().hex


def correlation_id(request: Request) -> str:
    """The correlation id the middleware fixed for this request."""
    value = getattr(request.state, "correlation_id", None)
    return value if isinstance(value, str) else correlation_id_from(request)


def problem_for(error: DomainError) -> Problem:
    """The HTTP problem for a refused command."""
    if isinstance(error, ThreadNotFound):
        return Problem(404, "Not found", error.detail)
    if isinstance(error, DisputeConflict):
        return Problem(409, "Conflict", error.detail)
    if isinstance(error, InvalidText):
        return Problem(422, "Invalid request", error.detail)
    return Problem(422, "Invalid request", error.detail)


async def in_worker(fn: Callable[[], T]) -> T:
    """Run blocking store code in a worker thread, turning domain errors into problems."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except DomainError as exc:
        raise problem_for(exc) from None
    except ConcurrencyExhausted as exc:
        raise Problem(503, "Busy", str(exc), headers={"Retry-After": "1"}) from None
