"""The committed OpenAPI documents (`make schemas`) match the services' current APIs."""

from __future__ import annotations

import json
from pathlib import Path

from ordertalk_devstack.api_documents import openapi_documents

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
