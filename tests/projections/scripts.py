"""Builders of contract events for the projection tests: threads with consistent versions and positions."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ordertalk_contracts import (
    Actor,
    Customer,
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    OrderRegisteredV1,
    ThreadEvent,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
    ThreadStartedV1,
)

ADMIN = Actor(role="admin", id="staff-1", display_name="Admin Admin")
_BASE = datetime(2026, 1, 1, tzinfo=UTC)


class Positions:
    """A global position counter shared by the threads of one test run (like the event store's)."""

    def __init__(self, start: int = 0) -> None:
        self._counter = itertools.count(start + 1)

    def next(self) -> int:
        """The next global position."""
        return next(self._counter)


@dataclass
class ThreadScript:
    """Writes the events of one order's thread in order, as the messaging service would."""

    order_id: str
    order_number: str
    customer: Customer
    positions: Positions
    thread_id: uuid.UUID = field(default_factory=uuid.uuid4)
    events: list[ThreadEvent] = field(default_factory=list)
    seq: int = 0
    dispute_no: int = 0
    clock: datetime = _BASE

    @classmethod
    def new(cls, positions: Positions, customer_id: str | None = None, number: str | None = None) -> ThreadScript:
        """A thread for a fresh order of a (fresh) customer."""
        oid = f"ord-{uuid.uuid4().hex[:12]}"
        cid = customer_id or f"cust-{uuid.uuid4().hex[:8]}"
        customer = Customer(id=cid, name=f"Customer {cid}", email=f"{cid}@example.com")
        return cls(oid, number or f"#{uuid.uuid4().int % 10**8:08d}", customer, positions)

    @property
    def customer_actor(self) -> Actor:
        """The order's customer as an actor."""
        return Actor(role="customer", id=self.customer.id, display_name=self.customer.name)

    def _common(self, actor: Actor) -> dict[str, object]:
        self.clock += timedelta(seconds=1)
        return {
            "event_id": uuid.uuid4(),
            "occurred_at": self.clock,
            "order_id": self.order_id,
            "thread_id": self.thread_id,
            "thread_version": len(self.events) + 1,
            "position": self.positions.next(),
            "actor": actor,
        }

    def registered(self) -> OrderRegisteredV1:
        """The shop's announcement of the order."""
        return OrderRegisteredV1(
            event_id=uuid.uuid4(),
            occurred_at=_BASE,
            order_id=self.order_id,
            order_number=self.order_number,
            customer=self.customer,
            placed_at=_BASE,
        )

    def start(self, actor: Actor = ADMIN) -> ThreadStartedV1:
        """Version 1."""
        event = ThreadStartedV1(**self._common(actor), order_number=self.order_number, customer=self.customer)
        self.events.append(event)
        return event

    def post(self, body: str, actor: Actor | None = None) -> MessagePostedV1:
        """A message (by the customer unless ``actor`` says otherwise)."""
        self.seq += 1
        event = MessagePostedV1(
            **self._common(actor or self.customer_actor),
            message_id=uuid.uuid4(),
            seq=self.seq,
            body=body,
        )
        self.events.append(event)
        return event

    def open_dispute(self, reason: str, actor: Actor | None = None) -> DisputeOpenedV1:
        """A dispute opened (by the customer unless ``actor`` says otherwise)."""
        self.dispute_no += 1
        event = DisputeOpenedV1(
            **self._common(actor or self.customer_actor),
            dispute_no=self.dispute_no,
            reason=reason,
        )
        self.events.append(event)
        return event

    def close_dispute(self, actor: Actor = ADMIN) -> DisputeClosedV1:
        """The open dispute closed."""
        opened = next(e for e in reversed(self.events) if isinstance(e, DisputeOpenedV1))
        event = DisputeClosedV1(**self._common(actor), dispute_no=self.dispute_no, opened_at=opened.occurred_at)
        self.events.append(event)
        return event

    def read(self, party: str = "admin") -> ThreadReadV1:
        """``party`` read up to the latest message."""
        actor = ADMIN if party == "admin" else self.customer_actor
        event = ThreadReadV1(**self._common(actor), party=party, read_up_to=self.seq)
        self.events.append(event)
        return event

    def mark_unread(self, party: str = "admin") -> ThreadMarkedUnreadV1:
        """``party`` marked the thread unread: position back before the other side's latest message (as messaging)."""
        actor = ADMIN if party == "admin" else self.customer_actor
        others = [e.seq for e in self.events if isinstance(e, MessagePostedV1) and e.actor.party != party]
        event = ThreadMarkedUnreadV1(**self._common(actor), party=party, read_up_to=max(others, default=1) - 1)
        self.events.append(event)
        return event
