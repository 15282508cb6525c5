"""Builds consistent contract events of one order's thread for the notifier's tests and benchmark."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ordertalk_contracts import (
    Actor,
    Customer,
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    ThreadEvent,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
    ThreadStartedV1,
)

_positions = itertools.count(1)
ADMIN = Actor(role="admin", id="admin-1", display_name="Admin Admin")


@dataclass
class ThreadBuilder:
    """Successive events of one thread (versions and message seqs kept right)."""

    order_id: str = field(default_factory=lambda: f"order-{uuid.uuid4().hex[:10]}")
    order_number: str = "#00011"
    customer_name: str = "Jane Doe"
    customer_email: str = "jane@example.com"
    customer_id: str = field(default_factory=lambda: f"cust-{uuid.uuid4().hex[:8]}")
    version: int = 0
    seq: int = 0
    disputes: int = 0
    thread_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def customer(self) -> Actor:
        """The order's customer as an actor."""
        return Actor(role="customer", id=self.customer_id, display_name=self.customer_name)

    def _envelope(self, actor: Actor) -> dict[str, object]:
        self.version += 1
        return {
            "event_id": uuid.uuid4(),
            "occurred_at": datetime.now(UTC),
            "order_id": self.order_id,
            "thread_id": self.thread_id,
            "thread_version": self.version,
            "position": next(_positions),
            "actor": actor,
        }

    def started(self) -> ThreadStartedV1:
        """Version 1: the order number and the customer."""
        customer = Customer(id=self.customer_id, name=self.customer_name, email=self.customer_email)
        return ThreadStartedV1(
            **self._envelope(ADMIN),
            order_number=self.order_number,
            customer=customer,
        )

    def message(self, actor: Actor, body: str = "Where is my parcel?") -> MessagePostedV1:
        """A message by ``actor``."""
        self.seq += 1
        return MessagePostedV1(**self._envelope(actor), message_id=uuid.uuid4(), seq=self.seq, body=body)

    def dispute_opened(self, actor: Actor, reason: str = "Item arrived broken") -> DisputeOpenedV1:
        """A dispute opened by ``actor``."""
        self.disputes += 1
        return DisputeOpenedV1(**self._envelope(actor), dispute_no=self.disputes, reason=reason)

    def dispute_closed(self, actor: Actor) -> DisputeClosedV1:
        """The open dispute closed by ``actor``."""
        return DisputeClosedV1(**self._envelope(actor), dispute_no=self.disputes, opened_at=datetime.now(UTC))

    def read(self, actor: Actor) -> ThreadReadV1:
        """``actor``'s side read everything."""
        return ThreadReadV1(**self._envelope(actor), party=actor.party, read_up_to=self.seq)

    def marked_unread(self, actor: Actor, read_up_to: int) -> ThreadMarkedUnreadV1:
        """``actor``'s side moved its read position back."""
        return ThreadMarkedUnreadV1(**self._envelope(actor), party=actor.party, read_up_to=read_up_to)


def all_kinds(builder: ThreadBuilder) -> list[ThreadEvent]:
    """One of each event kind, in a valid order."""
    c = builder.customer
    return [
        builder.started(),
        builder.message(c),
        builder.message(ADMIN, "On its way"),
        builder.read(c),
        builder.dispute_opened(c),
        builder.dispute_closed(ADMIN),
        builder.marked_unread(ADMIN, 1),
    ]
