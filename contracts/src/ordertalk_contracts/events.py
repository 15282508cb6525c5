"""One pydantic model per published event and schema version."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from ordertalk_contracts.envelope import Customer, IntegrationEvent, ThreadEvent

MAX_BODY_CHARS = 5000
MAX_REASON_CHARS = 1000


class OrderRegisteredV1(IntegrationEvent):
    """The shop's order service announces an order (topic ``ORDERS``)."""

    event_type: Literal["OrderRegistered"] = "OrderRegistered"
    schema_version: Literal[1] = 1
    order_id: str = Field(min_length=1, max_length=200)
    order_number: str = Field(min_length=1, max_length=50, examples=["#00011"])
    customer: Customer
    placed_at: AwareDatetime | None = None


class ThreadStartedV1(ThreadEvent):
    """A thread exists for a known order (always version 1 of a thread)."""

    event_type: Literal["ThreadStarted"] = "ThreadStarted"
    schema_version: Literal[1] = 1
    order_number: str = Field(min_length=1, max_length=50)
    customer: Customer


class MessagePostedV1(ThreadEvent):
    """A participant wrote a message; ``seq`` numbers messages within the thread from 1."""

    event_type: Literal["MessagePosted"] = "MessagePosted"
    schema_version: Literal[1] = 1
    message_id: UUID
    seq: int = Field(ge=1)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)


class DisputeOpenedV1(ThreadEvent):
    """A dispute was opened; ``dispute_no`` counts the disputes of the thread from 1."""

    event_type: Literal["DisputeOpened"] = "DisputeOpened"
    schema_version: Literal[1] = 1
    dispute_no: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class DisputeClosedV1(ThreadEvent):
    """The open dispute was closed."""

    event_type: Literal["DisputeClosed"] = "DisputeClosed"
    schema_version: Literal[1] = 1
    dispute_no: int = Field(ge=1)
    opened_at: AwareDatetime


class ThreadReadV1(ThreadEvent):
    """A party's read position moved forward to message ``read_up_to`` (a message seq)."""

    event_type: Literal["ThreadRead"] = "ThreadRead"
    schema_version: Literal[1] = 1
    party: str = Field(min_length=1)
    read_up_to: int = Field(ge=0)


class ThreadMarkedUnreadV1(ThreadEvent):
    """A party's read position moved back so the other side's latest message is unread."""

    event_type: Literal["ThreadMarkedUnread"] = "ThreadMarkedUnread"
    schema_version: Literal[1] = 1
    party: str = Field(min_length=1)
    read_up_to: int = Field(ge=0)


THREAD_EVENT_CLASSES: tuple[type[ThreadEvent], ...] = (
    ThreadStartedV1,
    MessagePostedV1,
    DisputeOpenedV1,
    DisputeClosedV1,
    ThreadReadV1,
    ThreadMarkedUnreadV1,
)
ALL_EVENT_CLASSES: tuple[type[IntegrationEvent], ...] = (OrderRegisteredV1, *THREAD_EVENT_CLASSES)

AnyThreadEvent = (
    ThreadStartedV1 | MessagePostedV1 | DisputeOpenedV1 | DisputeClosedV1 | ThreadReadV1 | ThreadMarkedUnreadV1
)
