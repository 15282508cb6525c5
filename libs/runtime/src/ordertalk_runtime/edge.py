"""The edge every service's HTTP API shares: writes are authenticated, size-limited and rate-limited.

``EdgeMiddleware`` runs before routing, so no route reads a byte of a request it would refuse:

1. a write (POST, PUT, PATCH, DELETE) to any route but the service's public ones must carry a bearer
   token that verifies, or it is answered 401 before its body is read; a write no route takes (an
   unknown path, or a method the path does not have) goes on to the router's own 404 or 405, which
   reads no body either;
2. a write declaring a body over ``HTTP_MAX_BODY_BYTES`` is answered 413 at once, and a body that
   grows past it while being read (no Content-Length, or a false one) is cut there and answered 413;
3. each principal has a bucket of writes (``RATE_LIMIT_WRITES_PER_SECOND``, ``..._BURST``), and each
   client address one for writes without valid credentials (``RATE_LIMIT_ANONYMOUS_...``): an empty
   bucket answers 429 with ``Retry-After``.

Every refusal is problem+json. Reads pass through (a token naming a JWKS key not cached yet has the
key set fetched in a worker thread first, so the routes' own verification needs no I/O).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import HTTPException
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordertalk_runtime.auth import VERIFIED_PRINCIPAL, Principal, TokenCodec, bearer_principal, bearer_token
from ordertalk_runtime.problems import Problem, problem_response
from ordertalk_runtime.ratelimit import TokenBuckets, retry_after_header

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Authenticate = Callable[[Request], Awaitable[Principal]]
DEFAULT_MAX_BODY_BYTES = 256 * 1024  # a command is a few kB; a full selection of 1,000 order ids about 200 kB


class EdgeSettings(BaseSettings):
    """Body size and write-rate limits (environment variables of the same names, upper case)."""

    model_config = SettingsConfigDict(extra="ignore")

    http_max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    rate_limit_writes_per_second: float = Field(default=10.0, ge=0)  # per principal; 0 turns it off
    rate_limit_writes_burst: float = Field(default=40.0, ge=1)
    rate_limit_anonymous_per_second: float = Field(default=5.0, ge=0)  # per client address, without credentials
    rate_limit_anonymous_burst: float = Field(default=20.0, ge=1)


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was read (answered 413 by the problem handlers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes", headers={"Connection": "close"})


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length a request declares (None if it declares none, or not a number)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class EdgeMiddleware:
    """ASGI middleware: authenticate writes before their body is read, limit body size and write rates."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        codec: TokenCodec,
        settings: EdgeSettings | None = None,
        authenticate: Authenticate | None = None,
        public_writes: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app, self.codec = app, codec
        self.settings = settings = settings or EdgeSettings()
        self.max_body = settings.http_max_body_bytes
        self.authenticate: Authenticate = authenticate or (lambda request: bearer_principal(request, codec))
        self.public_writes = frozenset(public_writes)
        self.clock = clock
        self.principals = TokenBuckets(settings.rate_limit_writes_per_second, settings.rate_limit_writes_burst)
        self.addresses = TokenBuckets(settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what the edge refuses; pass the rest on with a size-limited body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in WRITE_METHODS:
            if self.codec.jwks is not None:  # the routes verify without I/O: fetch a key they lack first
                request = Request(scope)
                token = bearer_token(request.headers.get("authorization", ""))
                await self.codec.prepare(token or request.query_params.get("access_token", ""))
            await self.app(scope, receive, send)
            return
        if not self._routed(scope):
            await self._pass_on(scope, receive, send)
            return
        refusal = await self._check(scope)
        if refusal is not None:
            await self._answer(scope, receive, send, refusal)
            return
        await self._pass_on(scope, receive, send)

    async def _check(self, scope: Scope) -> Problem | None:
        """The problem a write is refused with before its body is read, or None."""
        if scope["path"] in self.public_writes:
            refusal = self._limit(self.addresses, self._address(scope))
        else:
            try:
                principal = await self.authenticate(Request(scope))
            except Problem as exc:
                return self._limit(self.addresses, self._address(scope)) or exc
            scope.setdefault("state", {})[VERIFIED_PRINCIPAL] = principal
            refusal = self._limit(self.principals, f"{principal.role}:{principal.subject}")
        length = declared_length(scope["headers"])
        if refusal is None and length is not None and length > self.max_body:
            return Problem(413, "Content Too Large", f"the request body is larger than {self.max_body} bytes")
        return refusal

    @staticmethod
    def _routed(scope: Scope) -> bool:
        """Whether a route of the app takes this method on this path (an app without a router: assume so)."""
        router = getattr(scope.get("app"), "router", None)
        if router is None:
            return True
        return any(route.matches(scope)[0] is Match.FULL for route in router.routes)

    def _limit(self, buckets: TokenBuckets, key: str) -> Problem | None:
        wait = buckets.take(key, self.clock())
        if not wait:
            return None
        detail = f"too many writes; retry in {wait:.1f} s"
        return Problem(429, "Too Many Requests", detail, headers={"Retry-After": retry_after_header(wait)})

    @staticmethod
    def _address(scope: Scope) -> str:
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def _answer(self, scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        """Answer ``problem`` without reading the body (the connection closes, so the unread body goes with it)."""
        headers = problem.headers | {"Connection": "close"}
        response = problem_response(problem.status, problem.title, problem.detail, headers, **problem.extra)
        await response(scope, receive, send)

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit, received, started = self.max_body, 0, False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:  # a route that did not let the problem handlers answer it
            if started:
                raise
            await self._answer(scope, receive, send, Problem(413, "Content Too Large", str(exc.detail)))


def install_edge(app: Any, codec: TokenCodec, **options: Any) -> None:
    """Put ``EdgeMiddleware`` on ``app`` (call it before the CORS middleware, so its answers get CORS headers)."""
    app.add_middleware(EdgeMiddleware, codec=codec, **options)
