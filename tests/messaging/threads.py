"""Participants and an order thread for the messaging unit tests."""

from __future__ import annotations

from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.thread import OrderThread

ADMIN = Participant("admin", "admin-1", "Admin Admin")
CUSTOMER = Participant("customer", "customer-1", "Jane Doe")
# The event types of a thread that sees every kind once: started, a message from each side, a dispute opened and
# closed, then read and marked unread.
EVERY_KIND = (
    "ThreadStarted",
    "MessagePosted",
    "MessagePosted",
    "DisputeOpened",
    "DisputeClosed",
    "ThreadRead",
    "ThreadMarkedUnread",
)


def order_thread(order_id: str = "11", correlation_id: str | None = None) -> OrderThread:
    """Jane Doe's order ``order_id`` (number ``#000<id>``), its ThreadStarted event still pending."""
    return OrderThread(
        order_id=order_id,
        order_number=f"#{order_id:0>5}",
        customer_id="customer-1",
        customer_name="Jane Doe",
        customer_email="jane@example.com",
        correlation_id=correlation_id,
    )
