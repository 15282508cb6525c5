"""In-memory fakes of the ports in ``ports.py``, for unit tests of the pure and service layers."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from ordertalk_threadstate import ThreadState, bell_counts
from ordertalk_threadstate.fields import ADMIN, CUSTOMER

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.ports import (
    BellCounts,
    ContributionRow,
    MailServerUnavailable,
    OutboxEntry,
    PermanentMailError,
    Status,
    TransientMailError,
)


class InMemoryThreadStore:
    """ThreadStore kept in a dict."""

    def __init__(self) -> None:
        self.states: dict[str, ThreadState] = {}
        self.parked: dict[tuple[str, int], ThreadEvent] = {}

    async def get(self, order_id: str) -> ThreadState | None:
        return self.states.get(order_id)

    async def get_many(self, order_ids: list[str]) -> dict[str, ThreadState]:
        return {k: self.states[k] for k in order_ids if k in self.states}

    async def save_many(self, states: list[ThreadState]) -> None:
        for state in states:
            old = self.states.get(state.order_id)
            if old is None or old.version < state.version:
                self.states[state.order_id] = state

    async def contributions(self) -> list[ContributionRow]:
        rows: list[ContributionRow] = []
        for s in self.states.values():
            admin, customer = s.attention_for(ADMIN), s.attention_for(CUSTOMER)
            customer_id = s.customer.id if s.customer else None
            rows.append((customer_id, admin.unread_messages, admin.unseen_dispute, *customer))
        return rows

    async def admin_counts(self) -> BellCounts:
        return bell_counts(s.attention_for(ADMIN) for s in self.states.values()).model_dump()

    async def customer_counts(self, customer_id: str) -> BellCounts:
        own = [s for s in self.states.values() if s.customer is not None and s.customer.id == customer_id]
        return bell_counts(s.attention_for(CUSTOMER) for s in own).model_dump()

    async def replace_all(self, states: list[ThreadState]) -> int:
        removed = len(set(self.states) - {s.order_id for s in states})
        self.states = {s.order_id: s for s in states}
        return removed

    async def park(self, events: list[ThreadEvent]) -> None:
        for event in events:
            self.parked[(event.order_id, event.thread_version)] = event

    async def load_parked(self, order_ids: list[str]) -> list[ThreadEvent]:
        wanted = set(order_ids)
        return [e for (oid, _), e in sorted(self.parked.items()) if oid in wanted]

    async def unpark(self, up_to: list[tuple[str, int]]) -> None:
        for order_id, version in up_to:
            for key in [k for k in self.parked if k[0] == order_id and k[1] <= version]:
                del self.parked[key]

    async def parked_threads(self) -> list[tuple[str, int]]:
        earliest: dict[str, int] = {}
        for (oid, _), event in self.parked.items():
            earliest[oid] = min(event.position, earliest.get(oid, event.position))
        return sorted(earliest.items(), key=lambda item: item[1])


class InMemoryOutbox:
    """Outbox kept in a dict keyed by entry key."""

    def __init__(self) -> None:
        self.entries: dict[str, OutboxEntry] = {}

    async def add(self, entries: list[OutboxEntry]) -> int:
        new = [e for e in entries if e.key not in self.entries]
        for entry in new:
            self.entries[entry.key] = entry
        return len(new)

    async def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxEntry]:
        claimed: list[OutboxEntry] = []
        for entry in sorted(self.entries.values(), key=lambda e: e.created_at):
            due = entry.next_attempt_at is None or entry.next_attempt_at <= now
            if entry.status == "pending" and due and len(claimed) < limit:
                taken = dataclasses.replace(
                    entry, attempts=entry.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds)
                )
                self.entries[entry.key] = taken
                claimed.append(taken)
        return claimed

    async def claim(self, keys: list[str], now: datetime, lease_seconds: float) -> list[OutboxEntry]:
        claimed: list[OutboxEntry] = []
        for key in dict.fromkeys(keys):
            entry = self.entries.get(key)
            if entry is None or entry.status != "pending":
                continue
            if entry.next_attempt_at is not None and entry.next_attempt_at > now:
                continue
            taken = dataclasses.replace(
                entry, attempts=entry.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds)
            )
            self.entries[key] = taken
            claimed.append(taken)
        return claimed

    async def mark_sent(self, key: str, now: datetime) -> None:
        self.entries[key] = dataclasses.replace(self.entries[key], status="sent", sent_at=now)

    async def mark_sent_many(self, keys: list[str], now: datetime) -> None:
        for key in keys:
            await self.mark_sent(key, now)

    async def mark_retry(self, key: str, error: str, next_attempt_at: datetime) -> None:
        self.entries[key] = dataclasses.replace(self.entries[key], last_error=error, next_attempt_at=next_attempt_at)

    async def release_untried(self, keys: list[str], reason: str, next_attempt_at: datetime) -> None:
        for key in keys:
            entry = self.entries[key]
            if entry.status == "pending":
                self.entries[key] = dataclasses.replace(
                    entry, last_error=reason, next_attempt_at=next_attempt_at, attempts=max(entry.attempts - 1, 0)
                )

    async def mark_failed(self, key: str, error: str, now: datetime) -> None:
        self.entries[key] = dataclasses.replace(self.entries[key], status="failed", last_error=error, failed_at=now)

    async def failed(self, limit: int = 100) -> list[OutboxEntry]:
        return [e for e in self.entries.values() if e.status == "failed"][:limit]

    async def count(self, status: Status) -> int:
        return sum(1 for e in self.entries.values() if e.status == status)


class RecordingMailer:
    """Mailer that records messages; an outage (``down``) and scripted failures per recipient are raised first."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bytes]] = []
        self.transient_failures: dict[str, int] = {}
        self.rejected: set[str] = set()
        self.down = False
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1
        if self.down:
            raise MailServerUnavailable("ConnectionRefusedError: connection refused")

    async def send(self, sender: str, recipient: str, message: bytes) -> None:
        if self.down:
            raise MailServerUnavailable("ConnectionRefusedError: connection refused")
        if recipient in self.rejected:
            raise PermanentMailError(f"550 {recipient} rejected")
        left = self.transient_failures.get(recipient, 0)
        if left:
            self.transient_failures[recipient] = left - 1
            raise TransientMailError("451 mailbox busy, try later")
        self.sent.append((sender, recipient, message))
