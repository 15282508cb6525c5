"""Published event contracts of the order-messaging system (schemas, topics, codec)."""

from ordertalk_contracts.envelope import Actor, Customer, IntegrationEvent, ThreadEvent
from ordertalk_contracts.events import (
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    OrderRegisteredV1,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
    ThreadStartedV1,
)
from ordertalk_contracts.registry import (
    ContractError,
    dump,
    event_classes,
    parse,
    parse_thread_event,
)
from ordertalk_contracts.topics import DEAD_LETTERS, ORDERS, THREAD_EVENTS

__all__ = [
    "DEAD_LETTERS",
    "ORDERS",
    "THREAD_EVENTS",
    "Actor",
    "ContractError",
    "Customer",
    "DisputeClosedV1",
    "DisputeOpenedV1",
    "IntegrationEvent",
    "MessagePostedV1",
    "OrderRegisteredV1",
    "ThreadEvent",
    "ThreadMarkedUnreadV1",
    "ThreadReadV1",
    "ThreadStartedV1",
    "dump",
    "event_classes",
    "parse",
    "parse_thread_event",
]
