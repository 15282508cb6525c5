"""Stream tickets: short-lived, opaque, good only for opening the caller's bell stream.

An ``EventSource`` cannot send an ``Authorization`` header, so the stream's URL has to carry the
credential, and URLs end up in access logs, proxies and browser history. A ticket is what goes in
the URL instead of the bearer token: minted for the caller by ``POST /v1/stream/tickets`` (bearer
header), valid for ``ttl_seconds`` (a reconnect within that time reuses it), accepted by nothing but
``GET /v1/stream``, and kept in this process only (the notifier runs as one pod; a restart forgets
every ticket, and the page takes a new one).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from ordertalk_runtime.auth import Principal

TICKET_SECONDS = 60.0


class StreamTickets:
    """Tickets issued by this process: ticket → (principal, expiry)."""

    def __init__(
        self,
        ttl_seconds: float = TICKET_SECONDS,
        max_tickets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds, self.max_tickets, self.clock = ttl_seconds, max_tickets, clock
        self._tickets: dict[str, tuple[Principal, float]] = {}

    def issue(self, principal: Principal) -> str:
        """A new ticket for ``principal``."""
        now = self.clock()
        if len(self._tickets) >= self.max_tickets:
            self._tickets = {t: entry for t, entry in self._tickets.items() if entry[1] > now}
            if len(self._tickets) >= self.max_tickets:
                self._tickets.pop(next(iter(self._tickets)))  # the oldest
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (principal, now + self.ttl_seconds)
        return ticket

    def principal(self, ticket: str) -> Principal | None:
        """Whom a ticket was issued to, while it is valid (None: unknown or expired)."""
        entry = self._tickets.get(ticket)
        if entry is None:
            return None
        if entry[1] <= self.clock():
            del self._tickets[ticket]
            return None
        return entry[0]
