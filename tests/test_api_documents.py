"""The committed OpenAPI documents (`make schemas`) match the services' current APIs."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ordertalk_devstack import api_documents
from ordertalk_runtime.problems import PROBLEM_JSON

openapi_documents = functools.cache(api_documents.openapi_documents)

COMMITTED = Path(__file__).parents[1] / "docs" / "api"


def test_committed_openapi_documents_are_current() -> None:
    for name, document in openapi_documents().items():
        path = COMMITTED / f"{name}.openapi.json"
        assert path.exists(), f"{path} missing: run `make schemas`"
        assert json.loads(path.read_text()) == json.loads(json.dumps(document)), (
            f"{path.name} stale: run `make schemas`"
        )


def test_every_api_documents_its_versioned_routes() -> None:
    docs = openapi_documents()
    assert "/v1/orders/{order_id}/messages" in docs["messaging"]["paths"]
    assert "/v1/threads" in docs["projections"]["paths"]
    assert "/v1/stream" in docs["notifier"]["paths"]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post")
    ]


def test_every_error_is_documented_as_problem_json() -> None:
    for name, document in openapi_documents().items():
        assert "Problem" in document["components"]["schemas"], name
        assert "HTTPValidationError" not in document["components"]["schemas"], name
        for method, path, operation in _operations(document):
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and (path, status) not in PLAIN_JSON_ERRORS:
                    assert list(response.get("content", {})) == [PROBLEM_JSON], (name, method, path, status)
            if operation.get("parameters") or "requestBody" in operation:
                assert "422" in operation["responses"], (name, method, path)


PLAIN_JSON_ERRORS = {("/readyz", "503")}


def test_every_authenticated_operation_declares_the_bearer_scheme_and_401() -> None:
    docs = openapi_documents()
    for name, document in docs.items():
        for method, path, operation in _operations(document):
            if path.startswith("/v1/"):
                assert {"bearerAuth": []} in operation.get("security", []), (name, method, path)
                assert "401" in operation["responses"], (name, method, path)
    messaging, notifier = docs["messaging"], docs["notifier"]
    assert messaging["components"]["securitySchemes"]["bearerAuth"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "",
    }
    # The SSE stream also takes a credential in its URL (EventSource sets no headers): an alternative scheme.
    stream = notifier["paths"]["/v1/stream"]["get"]
    schemes = notifier["components"]["securitySchemes"]
    alternatives = [name for requirement in stream["security"] for name in requirement]
    assert all(len(requirement) == 1 for requirement in stream["security"])  # any one of them suffices
    assert alternatives[0] == "bearerAuth" and len(alternatives) >= 2
    assert all(schemes[name]["in"] == "query" for name in alternatives[1:])


def test_every_messaging_write_documents_the_idempotency_key() -> None:
    for method, path, operation in _operations(openapi_documents()["messaging"]):
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert ("Idempotency-Key" in names) is (method == "post"), (method, path)


def _request_validator(document: dict[str, Any], path: str) -> Draft202012Validator:
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**body, "components": document["components"]})


@pytest.mark.parametrize(
    ("path", "body", "valid"),
    [
        ("/v1/threads/read", {}, False),
        ("/v1/threads/read", {"all": True, "order_ids": []}, False),
        ("/v1/threads/unread", {"order_ids": []}, False),
        ("/v1/threads/unread", {"all": False}, False),
        ("/v1/threads/read", {"all": True, "order_ids": ["a"]}, False),
        ("/v1/threads/read", {"all": True}, True),
        ("/v1/threads/unread", {"order_ids": ["a", "b"]}, True),
        ("/v1/orders/{order_id}/messages", {"body": ""}, False),
        ("/v1/orders/{order_id}/messages", {"body": " \n\t "}, False),
        ("/v1/orders/{order_id}/messages", {"body": "x" * 5001}, False),
        ("/v1/orders/{order_id}/messages", {"body": "bell\u0007"}, False),
        ("/v1/orders/{order_id}/messages", {"body": " Two lines\r\nand a tab\t"}, True),
        ("/v1/orders/{order_id}/dispute", {"reason": "\u0001"}, False),
        ("/v1/orders/{order_id}/dispute", {"reason": "x" * 1001}, False),
        ("/v1/orders/{order_id}/dispute", {"reason": "Wrong size"}, True),
    ],
)
def test_request_schemas_refuse_what_the_server_refuses(path: str, body: dict[str, Any], valid: bool) -> None:
    validator = _request_validator(openapi_documents()["messaging"], path)
    assert validator.is_valid(body) is valid, (path, body)
