"""Pure intake of raw Kafka records: parse each into a contract event or a reason to dead-letter it."""

from __future__ import annotations

from dataclasses import dataclass

from ordertalk_contracts import (
    ORDERS,
    THREAD_EVENTS,
    ContractError,
    IntegrationEvent,
    OrderRegisteredV1,
    ThreadEvent,
    parse,
)

TOPICS = (THREAD_EVENTS, ORDERS)  # what the read models are built from (the live consumer and the rebuild)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be projected, and why."""

    reason: str


def accept(topic: str, value: bytes | None) -> IntegrationEvent | Rejected:
    """The event a record carries, or why it is poison (unparseable, unknown, on the wrong topic)."""
    if value is None:
        return Rejected("empty message")
    try:
        event = parse(value)
    except ContractError as exc:
        return Rejected(exc.reason)
    if topic == THREAD_EVENTS and not isinstance(event, ThreadEvent):
        return Rejected(f"{event.event_type} is not a thread event")
    if topic == ORDERS and not isinstance(event, OrderRegisteredV1):
        return Rejected(f"{event.event_type} does not belong on {ORDERS}")
    return event
