"""The published documents as outside tools read them: the AsyncAPI parser and a JSON Schema validator."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ordertalk_contracts import ORDERS, THREAD_EVENTS

ROOT = Path(__file__).parents[2]
SCHEMAS = ROOT / "contracts" / "schemas"
GOLDEN = Path(__file__).parent / "golden"
SAMPLES = sorted(GOLDEN.glob("v*/*.json"))
NODE_TOOLS = ROOT / "tools" / "node"


def _schema_of(sample: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{sample.stem}.{sample.parent.name}.schema.json").read_text())
    return schema


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _asyncapi_parser(document: Path) -> list[dict[str, str]]:
    node = shutil.which("node")
    script = NODE_TOOLS / "validate-asyncapi.mjs"
    assert node, "Node.js is needed to run the AsyncAPI parser"
    assert (NODE_TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir(), "run `make node-tools`"
    done = subprocess.run([node, str(script), str(document)], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout, done.stderr
    diagnostics: list[dict[str, str]] = json.loads(done.stdout)
    return diagnostics


def test_the_asyncapi_parser_accepts_the_document_without_errors_or_warnings() -> None:
    diagnostics = _asyncapi_parser(SCHEMAS / "asyncapi.json")
    serious = [d for d in diagnostics if d["severity"] in {"error", "warning"}]
    assert serious == [], json.dumps(serious, indent=2)


def test_the_asyncapi_parser_refuses_a_document_with_a_dangling_ref(tmp_path: Path) -> None:
    """The check can fail: a payload pointing at a schema the document lacks is an invalid-ref error."""
    doc = json.loads((SCHEMAS / "asyncapi.json").read_text())
    doc["components"]["schemas"]["MessagePostedV1"]["properties"]["actor"] = {"$ref": "#/$defs/Actor"}
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(doc))
    codes = {(d["severity"], d["code"]) for d in _asyncapi_parser(broken)}
    assert ("error", "invalid-ref") in codes


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_sample_validates_against_its_json_schema(path: Path) -> None:
    errors = [e.message for e in _validator(_schema_of(path)).iter_errors(json.loads(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("field", ["event_type", "schema_version"])
def test_a_sample_without_its_type_or_version_does_not_validate(path: Path, field: str) -> None:
    sample = json.loads(path.read_text())
    del sample[field]
    errors = [e.message for e in _validator(_schema_of(path)).iter_errors(sample)]
    assert f"'{field}' is a required property" in errors


def _topic_payloads(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The payload of each topic's publisher (send operation -> channel -> message), by topic."""
    payloads = {}
    for op in doc["operations"].values():
        if op["action"] == "send":
            channel = doc["channels"][unquote(op["channel"]["$ref"].removeprefix("#/channels/"))]
            [ref] = channel["messages"].values()
            message = doc["components"]["messages"][unquote(ref["$ref"].rpartition("/")[2])]
            payloads[channel["address"]] = message["payload"]
    return payloads


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_sample_validates_against_its_asyncapi_message_payload(path: Path) -> None:
    """The payload of the sample's topic in the AsyncAPI document, component references resolved, accepts it."""
    doc = json.loads((SCHEMAS / "asyncapi.json").read_text())
    uri = "urn:ordertalk:asyncapi"
    registry: Registry[Any] = Registry().with_resource(uri, DRAFT202012.create_resource(doc))
    topic = ORDERS if path.stem == "OrderRegistered" else THREAD_EVENTS
    sample = json.loads(path.read_text())
    for ref in (_topic_payloads(doc)[topic]["$ref"], f"#/components/schemas/{path.stem}{path.parent.name.upper()}"):
        validator = Draft202012Validator({"$ref": uri + ref}, registry=registry)
        assert [e.message for e in validator.iter_errors(sample)] == [], ref
