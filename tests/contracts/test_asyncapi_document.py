"""The AsyncAPI document is generated from the system's FastStream application: every consumer group's
subscription, and every topic's payloads as the published contracts define them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from ordertalk_contracts import DEAD_LETTERS, ORDERS, THREAD_EVENTS
from ordertalk_contracts.documents import CONTRACTS_VERSION, json_schemas, thread_event_classes
from ordertalk_devstack.asyncapi_app import document, render
from ordertalk_runtime.dead_letters import DeadLetter

COMMITTED = Path(__file__).parents[2] / "contracts" / "schemas" / "asyncapi.json"
SUBSCRIPTIONS = {
    ("ordertalk-projections", THREAD_EVENTS),
    ("ordertalk-projections", ORDERS),
    ("ordertalk-notifier", THREAD_EVENTS),
    ("ordertalk-messaging-orders", ORDERS),
}
"""Every consumer group of the system and the topics it reads (the group ids are what committed offsets hang on)."""


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The generated document."""
    return document()


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    """The object a local ``$ref`` (a JSON pointer, percent-encoded) points at."""
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def _operations(doc: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [op for op in doc["operations"].values() if op["action"] == action]


def _messages(doc: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The component messages an operation carries (operation -> channel message -> component message)."""
    return [_resolve(doc, _resolve(doc, m["$ref"])["$ref"]) for m in operation["messages"]]


def _published(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The payload each topic's publisher sends, by topic."""
    payloads: dict[str, dict[str, Any]] = {}
    for op in _operations(doc, "send"):
        address = _resolve(doc, op["channel"]["$ref"])["address"]
        [message] = _messages(doc, op)
        assert address not in payloads, f"two publishers of {address}"
        payloads[address] = message["payload"]
    return payloads


def test_the_committed_document_is_the_generated_one(doc: dict[str, Any]) -> None:
    """`make schemas` writes it; a change of the application or the contracts needs it run again."""
    assert COMMITTED.exists(), "run `make schemas`"
    assert json.loads(COMMITTED.read_text()) == json.loads(render(doc)), "asyncapi.json stale: run `make schemas`"


def test_the_document_is_asyncapi_3_of_the_contracts_version(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["version"] == CONTRACTS_VERSION
    assert [s["protocol"] for s in doc["servers"].values()] == ["kafka"]


def test_each_consumer_group_has_its_subscription_to_each_of_its_topics(doc: dict[str, Any]) -> None:
    found = set()
    for op in _operations(doc, "receive"):
        channel = _resolve(doc, op["channel"]["$ref"])
        [group] = op["bindings"]["kafka"]["groupId"]["enum"]
        assert group in channel["description"]
        found.add((group, channel["address"]))
    assert found == SUBSCRIPTIONS


def test_each_topic_has_one_publisher_and_each_subscription_receives_its_payload(doc: dict[str, Any]) -> None:
    published = _published(doc)
    assert set(published) == {THREAD_EVENTS, ORDERS, DEAD_LETTERS}
    for op in _operations(doc, "receive"):
        address = _resolve(doc, op["channel"]["$ref"])["address"]
        for message in _messages(doc, op):
            assert message["payload"] == published[address], f"{message['title']} does not receive what is sent"
    assert "EmptyPayload" not in doc["components"]["schemas"]


def test_the_thread_events_payload_is_one_of_every_thread_event(doc: dict[str, Any]) -> None:
    payload = _resolve(doc, _published(doc)[THREAD_EVENTS]["$ref"])
    assert payload["discriminator"] == "event_type"
    schemas = [_resolve(doc, one["$ref"]) for one in payload["oneOf"]]
    assert sorted(s["title"] for s in schemas) == sorted(cls.__name__ for cls in thread_event_classes())
    for schema in schemas:
        assert schema["required"][:2] == ["event_type", "schema_version"], schema["title"]


def test_the_orders_payload_is_order_registered(doc: dict[str, Any]) -> None:
    schema = _resolve(doc, _published(doc)[ORDERS]["$ref"])
    assert schema["title"] == "OrderRegisteredV1"
    assert schema["required"][:2] == ["event_type", "schema_version"]


def test_dead_letters_are_raw_bytes_with_their_reason_in_dlq_headers(doc: dict[str, Any]) -> None:
    [op] = [op for op in _operations(doc, "send") if _resolve(doc, op["channel"]["$ref"])["address"] == DEAD_LETTERS]
    [message] = _messages(doc, op)
    assert _resolve(doc, message["payload"]["$ref"])["format"] == "binary"
    assert message["contentType"] == "application/octet-stream"
    names = [name for name, _ in DeadLetter(b"", None, "t", 0, 0, "g", "r").headers()]
    assert message["headers"]["required"] == names
    for group, _ in SUBSCRIPTIONS:
        assert group in _resolve(doc, op["channel"]["$ref"])["description"]


def test_the_payload_schemas_are_the_published_json_schemas(doc: dict[str, Any]) -> None:
    """FastStream's payload schemas and contracts/schemas/*.schema.json say the same (up to where $refs point)."""
    components = doc["components"]["schemas"]
    for name, schema in json_schemas().items():
        schema = json.loads(json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/'))
        for shared, definition in schema.pop("$defs", {}).items():
            assert components[shared] == definition, f"{shared} of {name}"
        assert components[schema["title"]] == schema, name
