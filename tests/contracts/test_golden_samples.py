"""Golden samples of every published schema version must keep parsing, unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ordertalk_contracts import ContractError, dump, event_classes, parse, parse_thread_event

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = sorted(GOLDEN.glob("v*/*.json"))


def test_every_event_class_has_a_golden_sample() -> None:
    names = {(p.stem, int(p.parent.name[1:])) for p in SAMPLES}
    assert set(event_classes()) == names


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_sample_parses_and_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    event = parse(raw)
    assert event.event_type == path.stem
    assert event.schema_version == int(path.parent.name[1:])
    assert json.loads(dump(event)) == json.loads(raw)


def test_unknown_fields_are_tolerated_for_additive_changes() -> None:
    data = json.loads((GOLDEN / "v1" / "MessagePosted.json").read_text())
    data["added_later"] = {"x": 1}
    assert parse(json.dumps(data)).event_type == "MessagePosted"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_type": "MessagePosted"}', "missing event_type or schema_version"),
        (b'{"event_type": "MessagePosted", "schema_version": 99}', "unknown event MessagePosted v99"),
        (b'{"event_type": "Nope", "schema_version": 1}', "unknown event Nope v1"),
        (b'{"event_type": "MessagePosted", "schema_version": 1}', "invalid MessagePosted v1"),
    ],
)
def test_bad_messages_raise_a_contract_error_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        parse(raw)
    assert info.value.reason.startswith(reason)


def test_order_registered_is_not_a_thread_event() -> None:
    with pytest.raises(ContractError, match="not a thread event"):
        parse_thread_event((GOLDEN / "v1" / "OrderRegistered.json").read_bytes())
