"""Request-scoped pieces of the API: the caller, the correlation id, services, domain errors as problems."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.keyed_writes import KeyedWrites
from ordertalk_messaging.application.services import ThreadService
from ordertalk_messaging.application.writer import ConcurrencyExhausted, Overloaded
from ordertalk_messaging.domain.errors import DisputeConflict, DomainError, InvalidText, ThreadNotFound
from ordertalk_messaging.domain.participant import Participant
from ordertalk_runtime.auth import (
    BearerCredentials,
    Principal,
    TokenCodec,
    bearer_token,
    current_admin,
    principal_from_request,
)
from ordertalk_runtime.observability import correlation_id_of
from ordertalk_runtime.problems import Problem

T = TypeVar("T")
API_WORKERS = 8  # queries and bulk writes (commands on one thread go to the service's writer thread)
_workers = ThreadPoolExecutor(max_workers=API_WORKERS, thread_name_prefix="messaging-api")


class VerifiedTokens:
    """Bearer tokens verified recently, so a client's every request does not decode and check its JWT again.

    An entry is kept for at most ``ttl_seconds`` and never past the token's own expiry; only tokens that
    passed verification are kept, keyed by the whole header (a changed byte is a different token).
    """

    def __init__(self, codec: TokenCodec, ttl_seconds: float = 30.0, max_entries: int = 10_000) -> None:
        self.codec, self.ttl_seconds, self.max_entries = codec, ttl_seconds, max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def principal(self, request: Request) -> Principal:
        """The caller of ``request`` (a 401 problem if the token is missing or invalid)."""
        header = request.headers.get("authorization", "")
        now = time.time()
        entry = self._entries.get(header)
        if entry is not None and entry[1] > now:
            return entry[0]
        principal = principal_from_request(request, self.codec)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[header] = (principal, min(now + self.ttl_seconds, _expiry(header)))
        return principal


def _expiry(header: str) -> float:
    """The ``exp`` claim of a bearer token that has just been verified (its signature vouches for it)."""
    try:
        payload = header.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        return float(exp)
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0  # not understood: do not keep it


def edge_authenticator(tokens: VerifiedTokens) -> Callable[[Request], Awaitable[Principal]]:
    """How the edge middleware authenticates a write: the remembered tokens (JWKS keys fetched off the loop)."""

    async def authenticate(request: Request) -> Principal:
        await tokens.codec.prepare(bearer_token(request.headers.get("authorization", "")))
        return tokens.principal(request)

    return authenticate


async def _principal(request: Request, _: BearerCredentials) -> Principal:
    # An async dependency runs on the event loop (the shared sync dependency costs a worker-thread hop on
    # every request) and the verified token is remembered (decoding a JWT is costly next to a post).
    tokens: VerifiedTokens = request.app.state.verified_tokens
    return tokens.principal(request)


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return current_admin(principal)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentAdmin = Annotated[Principal, Depends(_admin)]


def service_of(request: Request) -> ThreadService:
    """The thread service wired at start-up."""
    service: ThreadService = request.app.state.service
    return service


def writes_of(request: Request) -> KeyedWrites:
    """The API's commands, under idempotency keys, wired at start-up."""
    writes: KeyedWrites = request.app.state.writes
    return writes


def caller_of(principal: Principal) -> Caller:
    """The authenticated principal as the domain's caller."""
    participant = Participant(role=principal.role, id=principal.subject, name=principal.display_name)
    return Caller(participant, customer_id=principal.subject if principal.role == "customer" else None)


def scope_of(principal: Principal) -> str:
    """Idempotency keys are per caller."""
    return f"{principal.role}:{principal.subject}"


def correlation_id(request: Request) -> str:
    """The correlation id the middleware fixed for this request (or the caller's, or a new one, without it)."""
    value = getattr(request.state, "correlation_id", None)
    return value if isinstance(value, str) else correlation_id_of(request.headers.raw)


def problem_for(error: DomainError) -> Problem:
    """The HTTP problem for a refused command."""
    if isinstance(error, ThreadNotFound):
        return Problem(404, "Not found", error.detail)
    if isinstance(error, DisputeConflict):
        return Problem(409, "Conflict", error.detail)
    if isinstance(error, InvalidText):
        return Problem(422, "Invalid request", error.detail)
    return Problem(422, "Invalid request", error.detail)


@contextlib.contextmanager
def as_problems() -> Iterator[None]:
    """Refused commands as HTTP problems: domain errors as 404/409/422, a busy writer as 503."""
    try:
        yield
    except DomainError as exc:
        raise problem_for(exc) from None
    except (ConcurrencyExhausted, Overloaded) as exc:
        raise Problem(503, "Busy", str(exc), headers={"Retry-After": "1"}) from None


async def in_worker(fn: Callable[[], T]) -> T:
    """Run blocking store code in a worker thread, turning domain errors into problems.

    A plain executor hop (with the request's context variables, for the logs) costs less per request than
    ``anyio.to_thread.run_sync`` (capacity limiter, cancel scope, a lock-and-condition queue).
    """
    context = contextvars.copy_context()
    with as_problems():
        return await asyncio.get_running_loop().run_in_executor(_workers, context.run, fn)
