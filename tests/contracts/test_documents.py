"""The generated JSON Schema and AsyncAPI documents describe every event."""

from __future__ import annotations

import json
from pathlib import Path

from ordertalk_contracts import THREAD_EVENTS, event_classes
from ordertalk_contracts.documents import asyncapi, json_schemas, write_documents


def test_one_json_schema_per_event_and_version() -> None:
    schemas = json_schemas()
    assert set(schemas) == {f"{t}.v{v}" for t, v in event_classes()}
    assert "body" in schemas["MessagePosted.v1"]["properties"]


def test_asyncapi_names_the_thread_events_topic_and_its_messages() -> None:
    doc = asyncapi()
    channel = doc["channels"]["threadEvents"]
    assert channel["address"] == THREAD_EVENTS
    assert "MessagePosted_v1" in channel["messages"]
    assert "OrderRegistered_v1" not in channel["messages"]


def test_committed_documents_are_current(tmp_path: Path) -> None:
    """`make schemas` output is committed; it must match the models."""
    committed = Path(__file__).parents[2] / "contracts" / "schemas"
    written = write_documents(tmp_path)
    for path in written:
        current = committed / path.name
        assert current.exists(), f"{current} missing: run `make schemas`"
        assert json.loads(current.read_text()) == json.loads(path.read_text()), f"{path.name} stale: run `make schemas`"
