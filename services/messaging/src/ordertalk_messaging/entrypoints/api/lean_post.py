"""The post-message route without FastAPI's per-request machinery, for well-formed posts; others go on.

FastAPI answers each request through generic machinery: it solves the route's dependencies, opens
two exit stacks, parses the body and validates it field by field. For the post route that is about
50 µs a request here, more than a tenth of what a post costs the whole service. ``LeanPostRoute``
sits in front of the documented route and serves a post that is plainly well-formed — a JSON
content type, a bearer token that verifies, an order id of 1–200 characters and a body that
``PostMessageIn`` accepts — by calling the documented endpoint function itself, so everything after
those checks is the same code. Any other request is handed back to the router, which passes it to
the documented route: a bad request is answered by FastAPI exactly as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from ordertalk_messaging.entrypoints.api.deps import VerifiedTokens
from ordertalk_messaging.entrypoints.api.schemas import PostMessageIn
from ordertalk_runtime.auth import Principal
from ordertalk_runtime.problems import Problem

HANDED_BACK = "ordertalk.lean_route_handed_back"
MAX_ORDER_ID_CHARS = 200  # as the documented route's path parameter
Endpoint = Callable[[str, PostMessageIn, Request, Principal], Awaitable[Response]]


def is_json(content_type: str) -> bool:
    """``application/json``, with or without parameters such as a charset."""
    return content_type.partition(";")[0].strip().lower() == "application/json"


class LeanPost:
    """The ASGI app of ``LeanPostRoute``: serves well-formed posts with ``endpoint``, hands the rest back."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.served = 0
        self.handed_back = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the post, or give it to the router again (with its body, if read)."""
        request = Request(scope, receive)
        order_id: str = scope["path_params"]["order_id"]
        if not (is_json(request.headers.get("content-type", "")) and len(order_id) <= MAX_ORDER_ID_CHARS):
            await self._hand_back(scope, receive, send)
            return
        body = await request.body()
        principal, payload = self._principal(request), self._payload(body)
        if principal is None or payload is None:
            await self._hand_back(scope, _replaying(body, receive), send)
            return
        self.served += 1
        response = await self.endpoint(order_id, payload, request, principal)
        await response(scope, receive, send)

    @staticmethod
    def _principal(request: Request) -> Principal | None:
        tokens: VerifiedTokens = request.app.state.verified_tokens
        try:
            return tokens.principal(request)
        except Problem:
            return None

    @staticmethod
    def _payload(body: bytes) -> PostMessageIn | None:
        try:
            return PostMessageIn.model_validate_json(body)
        except ValidationError:
            return None

    async def _hand_back(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.handed_back += 1
        scope[HANDED_BACK] = True
        await scope["router"](scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read once more, then listens as ``receive`` does."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


class LeanPostRoute(Route):
    """``POST <path>`` served by ``LeanPost``; it matches nothing else and nothing it handed back."""

    def __init__(self, path: str, endpoint: Endpoint) -> None:
        self.lean = LeanPost(endpoint)
        super().__init__(path, self.lean, methods=["POST"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """A full match for a POST to the path (never a partial one: other methods go to the documented route)."""
        if scope.get(HANDED_BACK) or scope.get("method") != "POST":
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self  # the metrics label: the same path template as the documented route
        return match, child
