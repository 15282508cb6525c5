"""JSON Schema and AsyncAPI documents generated from the contract models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from ordertalk_contracts.events import OrderRegisteredV1
from ordertalk_contracts.registry import event_classes
from ordertalk_contracts.topics import DEAD_LETTERS, ORDERS, THREAD_EVENTS

CONTRACTS_VERSION = "1.0.0"


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event and version, named like ``MessagePosted.v1``."""
    return {
        f"{etype}.v{version}": cls.model_json_schema(mode="serialization")
        for (etype, version), cls in sorted(event_classes().items())
    }


def _component_schemas() -> tuple[dict[str, str], dict[str, Any]]:
    """Every event's schema in one set of AsyncAPI components: message name -> schema name, and the schemas.

    Shared models (Actor, Customer) are components of their own, referenced as ``#/components/schemas/...``
    so that every ``$ref`` resolves inside the AsyncAPI document.
    """
    classes = sorted(event_classes().items())
    keys, defs = models_json_schema(
        [(cls, "serialization") for _, cls in classes], ref_template="#/components/schemas/{model}"
    )
    names = {
        f"{etype}_v{version}": keys[(cls, "serialization")]["$ref"].rpartition("/")[2]
        for (etype, version), cls in classes
    }
    return names, defs.get("$defs", {})


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing the published topics and their messages."""
    schema_of, schemas = _component_schemas()
    messages: dict[str, Any] = {
        key: {
            "name": key.replace("_v", ".v"),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{schema}"},
        }
        for key, schema in schema_of.items()
    }
    order_keys = [k for k in messages if k.startswith(OrderRegisteredV1.model_fields["event_type"].default)]
    thread_keys = [k for k in messages if k not in order_keys]
    ref = "#/components/messages/"
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Order messaging events",
            "version": CONTRACTS_VERSION,
            "description": "Events of order conversation threads, keyed by order id so each thread stays ordered.",
        },
        "channels": {
            "threadEvents": {
                "address": THREAD_EVENTS,
                "messages": {k: {"$ref": ref + k} for k in thread_keys},
            },
            "orders": {"address": ORDERS, "messages": {k: {"$ref": ref + k} for k in order_keys}},
            "deadLetters": {
                "address": DEAD_LETTERS,
                "description": "Raw messages a consumer could not handle; headers carry the reason.",
            },
        },
        "operations": {
            "publishThreadEvents": {"action": "send", "channel": {"$ref": "#/channels/threadEvents"}},
            "receiveOrders": {"action": "receive", "channel": {"$ref": "#/channels/orders"}},
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def write_documents(directory: Path) -> list[Path]:
    """Write every JSON Schema and the AsyncAPI document into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    path = directory / "asyncapi.json"
    path.write_text(json.dumps(asyncapi(), indent=2, sort_keys=True) + "\n")
    written.append(path)
    return written
