"""The generated JSON Schema documents describe every event."""

from __future__ import annotations

import json
from pathlib import Path

from ordertalk_contracts import event_classes
from ordertalk_contracts.documents import json_schemas, write_documents


def test_one_json_schema_per_event_and_version() -> None:
    schemas = json_schemas()
    assert set(schemas) == {f"{t}.v{v}" for t, v in event_classes()}
    assert "body" in schemas["MessagePosted.v1"]["properties"]


def test_committed_documents_are_current(tmp_path: Path) -> None:
    """`make schemas` output is committed; it must match the models."""
    committed = Path(__file__).parents[2] / "contracts" / "schemas"
    written = write_documents(tmp_path)
    for path in written:
        current = committed / path.name
        assert current.exists(), f"{current} missing: run `make schemas`"
        assert json.loads(current.read_text()) == json.loads(path.read_text()), f"{path.name} stale: run `make schemas`"
