"""JSON Schema documents generated from the contract models, and the payload types the AsyncAPI document uses.

The AsyncAPI document itself is generated from the system's FastStream application
(``ordertalk_devstack.asyncapi_app``): the contracts know the events, not who publishes or consumes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field

from ordertalk_contracts.envelope import ThreadEvent
from ordertalk_contracts.registry import event_classes

CONTRACTS_VERSION = "1.0.0"


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event and version, named like ``MessagePosted.v1``."""
    return {
        f"{etype}.v{version}": cls.model_json_schema(mode="serialization")
        for (etype, version), cls in sorted(event_classes().items())
    }


def thread_event_classes() -> list[type[ThreadEvent]]:
    """Every thread event class (every version), in (event type, version) order."""
    return [cls for _, cls in sorted(event_classes().items()) if issubclass(cls, ThreadEvent)]


def thread_event_payload() -> Any:
    """The payload type of the thread-events topic: one of the thread events, told apart by ``event_type``.

    Every event type has one version today; a second version of a type would need a discriminator on
    (``event_type``, ``schema_version``) instead.
    """
    classes = tuple(thread_event_classes())
    return Annotated[Union[classes], Field(discriminator="event_type", title="ThreadEvent")]  # noqa: UP007 - a runtime-built union


def write_documents(directory: Path) -> list[Path]:
    """Write every event's JSON Schema into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
