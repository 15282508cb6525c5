"""Codec of the contracts: bytes <-> event, with a clear reason when parsing fails."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ordertalk_contracts.envelope import IntegrationEvent, ThreadEvent
from ordertalk_contracts.events import ALL_EVENT_CLASSES


class ContractError(ValueError):
    """A message that does not parse as any known event; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _key(cls: type[IntegrationEvent]) -> tuple[str, int]:
    fields = cls.model_fields
    return str(fields["event_type"].default), int(fields["schema_version"].default)


_CLASSES: dict[tuple[str, int], type[IntegrationEvent]] = {_key(c): c for c in ALL_EVENT_CLASSES}


def event_classes() -> dict[tuple[str, int], type[IntegrationEvent]]:
    """Every known event class by (event type, schema version)."""
    return dict(_CLASSES)


def parse(raw: bytes | str) -> IntegrationEvent:
    """Parse one message; raise ContractError for malformed, unknown or invalid events."""
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractError("not a JSON object")
    event_type, version = data.get("event_type"), data.get("schema_version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise ContractError("missing event_type or schema_version")
    cls = _CLASSES.get((event_type, version))
    if cls is None:
        raise ContractError(f"unknown event {event_type} v{version}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ContractError(f"invalid {event_type} v{version}: {exc.errors(include_url=False)}") from exc


def parse_thread_event(raw: bytes | str) -> ThreadEvent:
    """Parse a message of the thread-events topic."""
    event = parse(raw)
    if not isinstance(event, ThreadEvent):
        raise ContractError(f"{event.event_type} is not a thread event")
    return event


def dump(event: IntegrationEvent) -> bytes:
    """Serialise an event as compact UTF-8 JSON."""
    return event.model_dump_json().encode()
