"""The system's FastStream application as far as its messages go, and the AsyncAPI document generated from it.

The application is built, never started (nothing connects): a ``KafkaBroker`` with

- the publishers of what the system produces, each with its payload schema: the messaging relay's thread
  events (one of the thread-event contracts), the shop's ``OrderRegistered`` on the orders topic, and the dead
  letters every consumer puts aside (the raw bytes, the reason in ``dlq.*`` headers);
- the real subscribers of each consumer group, attached by the consumer runtime (``Consumer.attach``) with the
  group ids the services' settings default to.

FastStream writes the document (AsyncAPI 3.0.0). Four small steps then say what FastStream cannot know:
``_subscriber_payloads`` (a runtime subscriber takes the batch's raw records, so FastStream gives it an
array of anything: it gets the payload of the topic's publisher), ``_group_bindings`` (each receive operation's consumer
group as its Kafka binding's ``groupId``), ``_dead_letter_headers`` (the ``dlq.*`` headers and the content type
of a dead letter) and ``_correlation_ids`` (events carry ``correlation_id`` in the payload, not in a header).
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.utils import clear_key
from pydantic import Field

from ordertalk_contracts import DEAD_LETTERS, ORDERS, THREAD_EVENTS, OrderRegisteredV1
from ordertalk_contracts.documents import CONTRACTS_VERSION, thread_event_payload
from ordertalk_runtime.broker import broker_for
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.dead_letters import DeadLetter
from ordertalk_runtime.kafka import KafkaSettings

TITLE = "Order messaging events"
DESCRIPTION = (
    "Events of order conversation threads, keyed by order id so each thread stays ordered, and the orders the "
    "shop announces. Generated from the system's FastStream application (`make schemas`)."
)
RELAY = "thread-events:relay"
SHOP = "orders:shop"
DEAD_LETTER_PUBLISHER = "dead-letters:consumers"
KAFKA_BINDING_VERSION = "0.4.0"
DEAD_LETTER_HEADERS = {
    "dlq.reason": "Why the consumer could not handle the message (at most 2000 characters).",
    "dlq.source.topic": "The topic the message was read from.",
    "dlq.source.partition": "Its partition, in decimal.",
    "dlq.source.offset": "Its offset, in decimal.",
    "dlq.consumer.group": "The consumer group that put it aside.",
}


@dataclass(frozen=True, slots=True)
class ConsumerGroup:
    """One consumer group of the system: the service's consumer name, its group id and its topics."""

    name: str
    group_id: str
    topics: tuple[str, ...]


def _default(settings: type[Any], field: str) -> str:
    """The default of a settings field (the documented value, whatever this process's environment says)."""
    return str(settings.model_fields[field].default)


def consumer_groups() -> list[ConsumerGroup]:
    """The consumer groups of the running system, with the group ids their services' settings default to."""
    from ordertalk_messaging.settings import Settings as MessagingSettings
    from ordertalk_notifier.settings import Settings as NotifierSettings
    from ordertalk_projections.settings import Settings as ProjectionsSettings

    return [
        ConsumerGroup("projections", _default(ProjectionsSettings, "projections_group"), (THREAD_EVENTS, ORDERS)),
        ConsumerGroup("notifier", _default(NotifierSettings, "notifier_consumer_group"), (THREAD_EVENTS,)),
        ConsumerGroup("messaging-orders", _default(MessagingSettings, "orders_consumer_group"), (ORDERS,)),
    ]


class _NotRun:
    """The handler of a consumer that is only described: the application is never started."""

    def decode(self, record: Record) -> Any:
        """Never called."""
        raise RuntimeError("the document's consumers do not run")

    async def handle(self, events: Sequence[Any]) -> None:
        """Never called."""
        raise RuntimeError("the document's consumers do not run")

    async def flush(self, staged: Sequence[Any]) -> None:
        """Never called."""
        raise RuntimeError("the document's consumers do not run")

    def reset(self) -> None:
        """Nothing to forget."""


def build_broker(kafka: KafkaSettings | None = None) -> KafkaBroker:
    """The broker with every publisher and every consumer group's subscriber (not connected)."""
    kafka = kafka or KafkaSettings.model_construct()  # the defaults, not this process's environment
    broker = broker_for(kafka, description="The system's Kafka cluster (the local default; KAFKA_BOOTSTRAP_SERVERS).")
    broker.publisher(
        THREAD_EVENTS,
        title=RELAY,
        description="The messaging relay publishes every stored thread event once, in store order, keyed by order id.",
        schema=thread_event_payload(),
    )
    broker.publisher(
        ORDERS,
        title=SHOP,
        description="The shop's order service announces each order, keyed by order id.",
        schema=OrderRegisteredV1,
    )
    groups = consumer_groups()
    broker.publisher(
        DEAD_LETTERS,
        title=DEAD_LETTER_PUBLISHER,
        description="Every consumer group ("
        + ", ".join(g.group_id for g in groups)
        + ") puts a message it cannot handle aside here: the raw bytes as read, with the reason and provenance "
        "in dlq.* headers.",
        schema=Annotated[bytes, Field(title="DeadLetter")],
    )
    for group in groups:
        config = ConsumerConfig(name=group.name, group_id=group.group_id, topics=group.topics)
        Consumer(config, kafka, _NotRun(), transient=()).attach(broker)
    return broker


def application(kafka: KafkaSettings | None = None) -> FastStream:
    """The FastStream application the AsyncAPI document describes."""
    return FastStream(
        build_broker(kafka),
        specification=AsyncAPI(title=TITLE, version=CONTRACTS_VERSION, description=DESCRIPTION, schema_version="3.0.0"),
    )


def document(kafka: KafkaSettings | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the system, generated by FastStream and completed (see the module's text)."""
    app = application(kafka)
    broker = app.broker
    assert isinstance(broker, KafkaBroker)
    doc: dict[str, Any] = app.schema.to_specification().to_jsonable()
    groups = _groups_by_channel(broker)
    _subscriber_payloads(doc)
    _group_bindings(doc, groups)
    _dead_letter_headers(doc)
    _correlation_ids(doc)
    return doc


# -- completing FastStream's document ----------------------------------------------------------------------------

MESSAGES = "#/components/messages/"
CHANNELS = "#/channels/"


def _groups_by_channel(broker: KafkaBroker) -> dict[str, str]:
    """The consumer group of each subscriber's channel, by the channel's key in the document."""
    groups: dict[str, str] = {}
    for sub in broker.subscribers:
        group = getattr(sub, "group_id", None)
        assert group, "every subscriber of the system reads as a consumer group"
        groups |= {clear_key(key): str(group) for key in sub.schema()}
    return groups


def _message_names(doc: dict[str, Any], channel_key: str) -> list[str]:
    """The component message names a channel's messages point at."""
    refs = doc["channels"][channel_key].get("messages", {}).values()
    return [unquote(r["$ref"].removeprefix(MESSAGES)) for r in refs]


def _channel_key(operation: dict[str, Any]) -> str:
    """The channel an operation is on."""
    return unquote(str(operation["channel"]["$ref"]).removeprefix(CHANNELS))


def _operations(doc: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The operations with this action ("send" or "receive")."""
    return [op for op in doc["operations"].values() if op["action"] == action]


def _subscriber_payloads(doc: dict[str, Any]) -> None:
    """Each receive operation's messages get the payload of what the topic's publisher sends."""
    published: dict[str, dict[str, Any]] = {}
    for op in _operations(doc, "send"):
        key = _channel_key(op)
        for name in _message_names(doc, key):
            published[doc["channels"][key]["address"]] = doc["components"]["messages"][name]["payload"]
    replaced: set[str] = {"EmptyPayload"}  # the schemas FastStream made for the subscribers' own arguments
    for op in _operations(doc, "receive"):
        key = _channel_key(op)
        for name in _message_names(doc, key):
            message = doc["components"]["messages"][name]
            ref = str(message.get("payload", {}).get("$ref", ""))
            replaced |= {ref.rsplit("/", 1)[-1]} if ref else set()
            message["payload"] = copy.deepcopy(published[doc["channels"][key]["address"]])
    schemas = doc["components"]["schemas"]
    used = json.dumps(doc["components"]["messages"])
    for name in [n for n in schemas if n in replaced and f"/schemas/{n}" not in used]:
        del schemas[name]


def _group_bindings(doc: dict[str, Any], groups: dict[str, str]) -> None:
    """Each receive operation names its consumer group in its Kafka binding."""
    for op in _operations(doc, "receive"):
        group = groups[_channel_key(op)]
        op["bindings"] = {
            "kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA_BINDING_VERSION}
        }


def _dead_letter_headers(doc: dict[str, Any]) -> None:
    """Dead letters are raw bytes whose reason and provenance travel in ``dlq.*`` headers."""
    sample = DeadLetter(b"", None, "", 0, 0, "", "")
    assert [name for name, _ in sample.headers()] == list(DEAD_LETTER_HEADERS), "DeadLetter's headers changed"
    headers = {
        "type": "object",
        "properties": {name: {"type": "string", "description": text} for name, text in DEAD_LETTER_HEADERS.items()},
        "required": list(DEAD_LETTER_HEADERS),
    }
    for key, channel in doc["channels"].items():
        if channel["address"] != DEAD_LETTERS:
            continue
        for name in _message_names(doc, key):
            message = doc["components"]["messages"][name]
            message["headers"] = headers
            message["contentType"] = "application/octet-stream"
            message.pop("correlationId", None)


def _correlation_ids(doc: dict[str, Any]) -> None:
    """An event's correlation id is the payload's ``correlation_id`` (the system sets no such Kafka header)."""
    for message in doc["components"]["messages"].values():
        if "correlationId" in message:
            message["correlationId"] = {"location": "$message.payload#/correlation_id"}


def render(doc: dict[str, Any]) -> str:
    """Stable JSON text of the document."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write the AsyncAPI document to ``--out`` (default ``contracts/schemas/asyncapi.json``)."""
    parser = argparse.ArgumentParser(prog="asyncapi_app")
    parser.add_argument("--out", type=Path, default=Path("contracts/schemas/asyncapi.json"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(document()))
    print(args.out)


if __name__ == "__main__":
    main()
