"""Port and adapters of the messaging service's event feed (GET /v1/events), for rebuilds, gap healing, vouching."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ordertalk_contracts import ContractError, IntegrationEvent, dump, parse
from ordertalk_runtime.auth import Principal, TokenCodec


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Events after a position, in store order; ``last_position`` is where the next page starts."""

    events: list[IntegrationEvent]
    last_position: int
    rejected: int = 0


class EventFeed(Protocol):
    """Reads stored events in store order."""

    async def read(self, after: int, limit: int) -> FeedPage:
        """Up to ``limit`` events whose position is greater than ``after``."""
        ...


class FeedError(RuntimeError):
    """The feed could not be read (unreachable, refused, malformed)."""


FEED_PAGE_LIMIT = 1000
"""The largest page the messaging feed serves; a caller asking for more reads several pages."""


@dataclass
class RenewingToken:
    """A service's own admin token for the feed, minted again before it expires (a long-running reader needs it)."""

    codec: TokenCodec
    principal: Principal
    ttl_seconds: int = 3600
    _token: str = field(default="", init=False)
    _renew_at: float = field(default=0.0, init=False)

    def __call__(self) -> str:
        """A token valid for at least a quarter of its lifetime."""
        now = time.monotonic()
        if not self._token or now >= self._renew_at:
            self._token = self.codec.mint(self.principal, ttl_seconds=self.ttl_seconds)
            self._renew_at = now + self.ttl_seconds * 0.75
        return self._token


class HttpEventFeed:
    """The messaging service's ``GET /v1/events?after=&limit=`` (admin token, fixed or renewing)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str | Callable[[], str]) -> None:
        self.client, self.base_url = client, base_url.rstrip("/")
        self._token = token

    @property
    def token(self) -> str:
        """The bearer token for the next request."""
        return self._token if isinstance(self._token, str) else self._token()

    async def read(self, after: int, limit: int) -> FeedPage:
        """One page of the feed; events that do not parse are counted in ``rejected``."""
        try:
            response = await self.client.get(
                f"{self.base_url}/v1/events",
                params={"after": after, "limit": min(limit, FEED_PAGE_LIMIT)},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise FeedError(f"event feed unreachable: {exc}") from exc
        if response.status_code != 200:
            raise FeedError(f"event feed answered {response.status_code}: {response.text[:200]}")
        return page_from_json(response.json(), after)


def page_from_json(body: Any, after: int) -> FeedPage:
    """Parse a feed answer ``{"events": [...], "last_position": int}``."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise FeedError("event feed answer has no events list")
    events: list[IntegrationEvent] = []
    rejected = 0
    for item in body["events"]:
        try:
            events.append(parse(dump_json(item)))
        except ContractError:
            rejected += 1
    positions = [int(getattr(e, "position", 0)) for e in events]
    last = body.get("last_position")
    last_position = int(last) if isinstance(last, int) else max([after, *positions])
    return FeedPage(events=events, last_position=max(last_position, after), rejected=rejected)


def dump_json(item: Any) -> bytes:
    """JSON bytes of one decoded feed item."""
    import json

    return json.dumps(item).encode()


@dataclass
class InMemoryEventFeed:
    """Fake feed over a list of events (unit tests and tools); ``calls`` records each read."""

    events: list[IntegrationEvent] = field(default_factory=list)
    calls: list[tuple[int, int]] = field(default_factory=list)

    async def read(self, after: int, limit: int) -> FeedPage:
        """Events after ``after`` by their position, like the real feed."""
        self.calls.append((after, limit))
        ordered = sorted(self.events, key=lambda e: int(getattr(e, "position", 0)))
        page = [e for e in ordered if int(getattr(e, "position", 0)) > after][:limit]
        last = int(getattr(page[-1], "position", after)) if page else after
        # Round-trip through the wire format, as the HTTP feed does.
        return FeedPage(events=[parse(dump(e)) for e in page], last_position=last)
