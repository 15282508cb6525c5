"""The notifier's ports: thread-state store, outbox, mail transport (Protocols and their records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ordertalk_threadstate import ThreadState

from ordertalk_contracts import ThreadEvent

Status = Literal["pending", "sent", "failed"]
BellCounts = dict[str, int]  # an ordertalk_threadstate.BellCounts as JSON: the same fields for every audience
# (customer id, unread messages for the staff, unseen dispute for the staff, the same two for the customer)
ContributionRow = tuple[str | None, int, bool, int, bool]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One e-mail to deliver once: its unique key (event + recipient) and what to say (rendered when sent)."""

    key: str
    event_id: str
    order_id: str
    kind: str
    recipient: str
    sender: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    status: Status = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    failed_at: datetime | None = None


class ThreadStore(Protocol):
    """Per-thread state (the fold of its events) and the bell counts derived from all threads."""

    async def get(self, order_id: str) -> ThreadState | None: ...

    async def get_many(self, order_ids: list[str]) -> dict[str, ThreadState]:
        """The stored states of those threads that have one, by order id."""

    async def save_many(self, states: list[ThreadState]) -> None:
        """Store each state unless a state of the same or a later version is stored already."""

    async def contributions(self) -> list[ContributionRow]:
        """What every thread holds that the staff and its customer have not seen."""

    async def admin_counts(self) -> BellCounts: ...

    async def customer_counts(self, customer_id: str) -> BellCounts: ...

    async def replace_all(self, states: list[ThreadState]) -> int:
        """Make these the stored states (a rebuild): each replaces the stored one whatever its version, and the
        threads not among them are removed; answers how many stored threads were removed."""

    async def park(self, events: list[ThreadEvent]) -> None:
        """Keep events that wait for a missing version (idempotent: one per (order id, thread version))."""

    async def load_parked(self, order_ids: list[str]) -> list[ThreadEvent]:
        """The events parked for these threads, in version order."""

    async def unpark(self, up_to: list[tuple[str, int]]) -> None:
        """Forget each thread's parked events up to a version (they are applied)."""

    async def parked_threads(self) -> list[tuple[str, int]]:
        """(order id, earliest parked position) of every thread that waits for missing events."""


class Outbox(Protocol):
    """Durable record of e-mails: pending until sent, sent, or failed for good."""

    async def add(self, entries: list[OutboxEntry]) -> int:
        """Record entries whose key is new as pending; answer how many were new."""

    async def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxEntry]:
        """Take up to ``limit`` pending entries whose attempt is due, hiding them from other senders for the lease."""

    async def claim(self, keys: list[str], now: datetime, lease_seconds: float) -> list[OutboxEntry]:
        """Take those of ``keys`` that are pending and due (the fast path for entries just recorded)."""

    async def mark_sent(self, key: str, now: datetime) -> None: ...

    async def mark_sent_many(self, keys: list[str], now: datetime) -> None:
        """Mark every one of ``keys`` sent (one write)."""

    async def mark_retry(self, key: str, error: str, next_attempt_at: datetime) -> None: ...

    async def release_untried(self, keys: list[str], reason: str, next_attempt_at: datetime) -> None:
        """Put claimed rows that were not tried back for ``next_attempt_at``: the pending ones among ``keys``, their
        claim's attempt taken back, so ``attempts`` counts only sends tried (one write)."""

    async def mark_failed(self, key: str, error: str, now: datetime) -> None: ...

    async def failed(self, limit: int = 100) -> list[OutboxEntry]: ...

    async def count(self, status: Status) -> int: ...


class TransientMailError(Exception):
    """Delivery failed for now (server down, 4xx): try again later."""


class MailServerUnavailable(TransientMailError):
    """The mail server itself does not answer or refuses service (connection, timeout, 421, login): an outage."""


class PermanentMailError(Exception):
    """The server rejected the message for good (5xx): do not retry."""


class Mailer(Protocol):
    """Hands a rendered message to a mail server."""

    async def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Deliver; TransientMailError (MailServerUnavailable in an outage) or PermanentMailError on failure."""

    async def probe(self) -> None:
        """Whether the server answers (connect, greeting, login as configured); MailServerUnavailable if not."""
