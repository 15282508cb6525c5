"""The lean post route answers every request exactly as the documented FastAPI route does.

Two apps, each on a SQLite store of its own, get the same requests in the same order: one as served,
the other with the lean route taken out. Their answers must be the same, byte for byte apart from
correlation ids; the well-formed posts must have been served by the lean route and nothing else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.messaging.conftest import SECRET, bearer

from ordertalk_messaging.application.services import NewOrder
from ordertalk_messaging.bootstrap import Components, build
from ordertalk_messaging.entrypoints.api.app import create_app
from ordertalk_messaging.entrypoints.api.lean_post import LeanPost, LeanPostRoute
from ordertalk_messaging.settings import Settings

ADMIN = bearer("admin", "admin-1", "Admin Admin")
JANE = bearer("customer", "customer-1", "Jane Doe")
BOB = bearer("customer", "customer-2", "Bob")
JSON = {"Content-Type": "application/json"}
KEY = str(uuid.uuid4())
MESSAGE_ID = str(uuid.uuid4())


@dataclass
class Case:
    """One request, and whether the lean route should serve it (else it hands it back, unless the edge refused it)."""

    name: str
    path: str
    headers: dict[str, str]
    content: bytes
    lean: bool = False
    method: str = "POST"
    edge: bool = False  # answered by the edge middleware (no valid token) before any route sees it


def post(
    name: str, body: Any, headers: dict[str, str], order: str = "11", *, lean: bool = False, edge: bool = False
) -> Case:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Case(name, f"/v1/orders/{order}/messages", headers, content, lean, edge=edge)


CASES = [
    post("a keyed post", {"body": "Where is my parcel?"}, JANE | JSON | {"Idempotency-Key": KEY}, lean=True),
    post("its retry", {"body": "Where is my parcel?"}, JANE | JSON | {"Idempotency-Key": KEY}, lean=True),
    post("the key with another body", {"body": "other"}, JANE | JSON | {"Idempotency-Key": KEY}, lean=True),
    post("a client's message id", {"body": "On its way", "message_id": MESSAGE_ID}, ADMIN | JSON, lean=True),
    post("that id again", {"body": "On its way", "message_id": MESSAGE_ID}, ADMIN | JSON, lean=True),
    post(
        "with a charset",
        {"body": "Thanks", "message_id": str(uuid.uuid4())},
        JANE | {"Content-Type": "application/json; charset=utf-8"},
        lean=True,
    ),
    post("blank text", {"body": "   "}, JANE | JSON),  # refused by the request model
    post("a control character", {"body": "a\u0007b"}, JANE | JSON),  # refused by the request model
    post("too long for the domain", {"body": "x" * 5001}, JANE | JSON),  # refused by the request model
    post("an unknown order", {"body": "hi"}, ADMIN | JSON, order="99", lean=True),
    post("someone else's order", {"body": "hi"}, BOB | JSON, lean=True),
    post("a bad key", {"body": "hi"}, JANE | JSON | {"Idempotency-Key": "has space"}, lean=True),
    post("malformed JSON", b'{"body": "hi"', JANE | JSON),
    post("an unknown field", {"body": "hi", "extra": 1}, JANE | JSON),
    post("a wrong type", {"body": 5}, JANE | JSON),
    post("no body field", {}, JANE | JSON),
    post("a message id that is no UUID", {"body": "hi", "message_id": "nope"}, JANE | JSON),
    post("over the transport limit", {"body": "x" * 20_001}, JANE | JSON),
    post("an empty request body", b"", JANE | JSON),
    post("no token", {"body": "hi"}, JSON, edge=True),
    post("a bad token", {"body": "hi"}, {"Authorization": "Bearer nope"} | JSON, edge=True),
    post("another secret's token", {"body": "hi"}, {"Authorization": "Bearer a.b.c"} | JSON, edge=True),
    post("a text content type", {"body": "hi"}, JANE | {"Content-Type": "text/plain"}),
    post("no content type", {"body": "hi"}, JANE),
    post("an order id of 201 characters", {"body": "hi"}, ADMIN | JSON, order="o" * 201),
    Case("a GET on the route", "/v1/orders/11/messages", JANE, b"", method="GET"),
    Case("a PUT on the route", "/v1/orders/11/messages", JANE | JSON, b"{}", method="PUT"),
]


@dataclass
class Served:
    components: Components
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture
async def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Served, Served]]:
    monkeypatch.setenv("AUTH_JWT_SECRET", SECRET)
    served: list[Served] = []
    for name in ("lean", "documented"):
        components = build(Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / f"{name}.sqlite"))
        for order_id, customer in (("11", "customer-1"), ("12", "customer-2")):
            components.service.register_order(NewOrder(order_id, f"#000{order_id}", customer, "C", "c@e.com"), None)
        app = create_app(components, background=False)
        if name == "documented":
            app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, LeanPostRoute)]
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        served.append(Served(components, app, client))
    try:
        yield served[0], served[1]
    finally:
        for s in served:
            await s.client.aclose()
            s.components.close()


def answer(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-correlation-id", "content-length")}
    return response.status_code, headers, response.json() if response.content else None


def lean_of(app: FastAPI) -> LeanPost:
    route = app.router.routes[0]
    assert isinstance(route, LeanPostRoute)
    return route.lean


async def test_every_request_is_answered_as_the_documented_route_answers_it(apps: tuple[Served, Served]) -> None:
    lean, documented = apps
    counter = lean_of(lean.app)
    for case in CASES:
        served_before = counter.served
        got, expected = [
            answer(await s.client.request(case.method, case.path, headers=case.headers, content=case.content))
            for s in (lean, documented)
        ]
        assert got == expected, case.name
        assert (counter.served > served_before) is case.lean, case.name
    assert counter.handed_back == sum(1 for c in CASES if not c.lean and not c.edge and c.method == "POST")


async def test_both_stores_hold_the_same_thread_afterwards(apps: tuple[Served, Served]) -> None:
    for case in CASES[:6]:
        for s in apps:
            await s.client.request(case.method, case.path, headers=case.headers, content=case.content)
    histories = [(await s.client.get("/v1/orders/11/history", headers=ADMIN)).json()["events"] for s in apps]
    shapes = [[(e["event_type"], e.get("body"), e.get("seq"), e["position"]) for e in h] for h in histories]
    assert shapes[0] == shapes[1] and len(shapes[0]) == 4  # started + three distinct messages
