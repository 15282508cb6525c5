"""The one place where domain events become published contract events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import Mapper, Notification

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
from ordertalk_messaging.domain.participant import ORDER_SERVICE, Participant


class UntranslatableEvent(ValueError):
    """A stored event with no contract counterpart."""


def event_id_for(thread_id: UUID, version: int) -> UUID:
    """The stable id of the stored event ``version`` of a thread."""
    return uuid5(thread_id, str(version))


def actor_of(participant: Participant) -> Actor:
    """A domain participant as the contract's actor."""
    return Actor(role=participant.role, id=participant.id, display_name=participant.name)


def _envelope(event: Any, position: int, participant: Participant) -> dict[str, Any]:
    thread_id: UUID = event.originator_id
    return {
        "event_id": event_id_for(thread_id, event.originator_version),
        "occurred_at": event.timestamp,
        "correlation_id": event.correlation_id,
        "order_id": event.order_id,
        "thread_id": thread_id,
        "thread_version": event.originator_version,
        "position": position,
        "actor": actor_of(participant),
    }


def _started(event: Any, position: int) -> ThreadEvent:
    customer = Customer(id=event.customer_id, name=event.customer_name, email=event.customer_email)
    return ThreadStartedV1(
        **_envelope(event, position, ORDER_SERVICE), order_number=event.order_number, customer=customer
    )


def _posted(event: Any, position: int) -> ThreadEvent:
    return MessagePostedV1(
        **_envelope(event, position, event.author), message_id=event.message_id, seq=event.seq, body=event.body
    )


def _opened(event: Any, position: int) -> ThreadEvent:
    return DisputeOpenedV1(**_envelope(event, position, event.actor), dispute_no=event.dispute_no, reason=event.reason)


def _closed(event: Any, position: int) -> ThreadEvent:
    opened_at: datetime = event.opened_at
    return DisputeClosedV1(**_envelope(event, position, event.actor), dispute_no=event.dispute_no, opened_at=opened_at)


def _read(event: Any, position: int) -> ThreadEvent:
    return ThreadReadV1(**_envelope(event, position, event.actor), party=event.party, read_up_to=event.read_up_to)


def _unread(event: Any, position: int) -> ThreadEvent:
    return ThreadMarkedUnreadV1(
        **_envelope(event, position, event.actor), party=event.party, read_up_to=event.read_up_to
    )


_BUILDERS: dict[str, Callable[[Any, int], ThreadEvent]] = {
    "Started": _started,
    "MessagePosted": _posted,
    "DisputeOpened": _opened,
    "DisputeClosed": _closed,
    "ThreadRead": _read,
    "ThreadMarkedUnread": _unread,
}


def to_contract(domain_event: object, position: int) -> ThreadEvent:
    """The contract event for a stored domain event at global ``position``."""
    builder = _BUILDERS.get(type(domain_event).__name__)
    if builder is None:
        raise UntranslatableEvent(f"no contract for {type(domain_event).__qualname__}")
    return builder(domain_event, position)


def notification_to_contract(mapper: Mapper[UUID], notification: Notification) -> ThreadEvent:
    """The contract event for a stored notification."""
    return to_contract(mapper.to_domain_event(notification), notification.id)
