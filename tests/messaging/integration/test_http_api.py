"""The HTTP API against the running service, with the real broker: writes, auth, bad input, relay output."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from tests.messaging.conftest import (
    RunningService,
    announce,
    announce_orders,
    bearer,
    new_order,
    read_topic,
)
from tests.messaging.threads import EVERY_KIND

from ordertalk_contracts import DEAD_LETTERS, THREAD_EVENTS, OrderRegisteredV1, ThreadEvent, parse_thread_event
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = bearer("admin", "admin-1", "Admin Admin")
JANE = bearer("customer", "customer-1", "Jane Doe")
BOB = bearer("customer", "customer-2", "Bob")


async def thread_exists(client: httpx.AsyncClient, order_id: str) -> bool:
    return (await client.get(f"/v1/orders/{order_id}/history", headers=ADMIN)).status_code == 200


async def wait_for_threads(service: RunningService, *orders: OrderRegisteredV1) -> None:
    async with service.client() as client:
        for order in orders:
            for _ in range(600):
                if await thread_exists(client, order.order_id):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"thread of {order.order_id} never appeared")


@pytest.fixture(scope="module")
def orders(messaging_service: RunningService, kafka_settings: KafkaSettings) -> list[OrderRegisteredV1]:
    """Three orders of Jane and one of Bob, known to the service."""
    known = [new_order(), new_order(), new_order(), new_order("customer-2", "Bob")]

    async def setup() -> None:
        await announce_orders(kafka_settings, *known)
        await wait_for_threads(messaging_service, *known)

    asyncio.run(setup())
    return known


async def last_position(client: httpx.AsyncClient) -> int:
    body = (await client.get("/readyz")).json()
    return int(body["last_position"])


async def test_thread_started_once_even_if_order_is_announced_again(
    messaging_service: RunningService, kafka_settings: KafkaSettings, orders: list[OrderRegisteredV1]
) -> None:
    order = orders[0]
    await announce_orders(kafka_settings, order)
    probe = new_order()
    await announce_orders(kafka_settings, probe)  # consumed after the repeat
    await wait_for_threads(messaging_service, probe)
    async with messaging_service.client() as client:
        events = (await client.get(f"/v1/orders/{order.order_id}/history", headers=ADMIN)).json()["events"]
    started = [e for e in events if e["event_type"] == "ThreadStarted"]
    assert len(started) == 1
    assert started[0]["order_number"] == order.order_number
    assert started[0]["thread_version"] == 1


async def test_conversation_flow_and_history(
    messaging_service: RunningService, orders: list[OrderRegisteredV1]
) -> None:
    oid = orders[1].order_id
    async with messaging_service.client() as client:
        r = await client.post(f"/v1/orders/{oid}/messages", json={"body": "Where is my parcel?"}, headers=JANE)
        assert r.status_code == 201, r.text
        assert r.json()["seq"] == 1 and r.json()["thread_version"] == 2 and r.json()["position"] >= 1
        r = await client.post(
            f"/v1/orders/{oid}/messages", json={"body": "On its way"}, headers=ADMIN | {"X-Correlation-ID": "corr-7"}
        )
        assert r.status_code == 201 and r.headers["x-correlation-id"] == "corr-7"
        r = await client.post(f"/v1/orders/{oid}/dispute", json={"reason": "It is late"}, headers=JANE)
        assert r.status_code == 201 and r.json()["dispute_no"] == 1
        r = await client.post(f"/v1/orders/{oid}/dispute", json={"reason": "again"}, headers=ADMIN)
        assert r.status_code == 409 and "already open" in r.json()["detail"]
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.post(f"/v1/orders/{oid}/dispute/close", json={}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["dispute_no"] == 1
        r = await client.post(f"/v1/orders/{oid}/dispute/close", headers=ADMIN)
        assert r.status_code == 409
        r = await client.post(f"/v1/orders/{oid}/read", json={}, headers=JANE)
        assert r.status_code == 200 and r.json()["read_up_to"] == 2
        r = await client.post(f"/v1/orders/{oid}/unread", json={}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["read_up_to"] == 0
        r = await client.post(f"/v1/orders/{oid}/unread", json={}, headers=ADMIN)  # nothing to do: no event
        assert r.status_code == 200 and r.json()["thread_version"] == 7
        history = (await client.get(f"/v1/orders/{oid}/history", headers=JANE)).json()["events"]
    types = [e["event_type"] for e in history]
    assert types == list(EVERY_KIND)
    parsed = [parse_thread_event(json.dumps(e)) for e in history]
    assert [e.thread_version for e in parsed] == list(range(1, 8))
    assert parsed[2].correlation_id == "corr-7"
    assert parsed[3].actor.role == "customer"


async def test_bulk_read_and_unread(messaging_service: RunningService, orders: list[OrderRegisteredV1]) -> None:
    a, b = orders[2].order_id, orders[3].order_id
    async with messaging_service.client() as client:
        await client.post(f"/v1/orders/{a}/messages", json={"body": "hello"}, headers=JANE)
        await client.post(f"/v1/orders/{b}/messages", json={"body": "hello"}, headers=BOB)
        r = await client.post("/v1/threads/read", json={"order_ids": [a, b]}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert [x["read_up_to"] for x in r.json()["results"]] == [1, 1]
        r = await client.post("/v1/threads/unread", json={"all": True}, headers=ADMIN)
        assert r.status_code == 200
        assert {x["order_id"] for x in r.json()["results"]} >= {a, b}
        r = await client.post("/v1/threads/read", json={"all": True}, headers=BOB)
        assert {x["order_id"] for x in r.json()["results"]} == {b}
        r = await client.post("/v1/threads/read", json={"order_ids": [a, b]}, headers=BOB)
        assert r.status_code == 404
        r = await client.post("/v1/threads/read", json={"order_ids": [a], "all": True}, headers=ADMIN)
        assert r.status_code == 422


ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/orders/{o}/messages", {"body": "hi"}),
    ("POST", "/v1/orders/{o}/dispute", {"reason": "late"}),
    ("POST", "/v1/orders/{o}/dispute/close", {}),
    ("POST", "/v1/orders/{o}/read", {}),
    ("POST", "/v1/orders/{o}/unread", {}),
    ("POST", "/v1/threads/read", {"order_ids": ["{o}"]}),
    ("POST", "/v1/threads/unread", {"order_ids": ["{o}"]}),
    ("GET", "/v1/orders/{o}/history", None),
    ("GET", "/v1/events", None),
]


def _fill(value: Any, order_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{o}", order_id)
    if isinstance(value, list):
        return [_fill(v, order_id) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, order_id) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_auth_and_ownership_on_every_endpoint(
    messaging_service: RunningService,
    orders: list[OrderRegisteredV1],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    bobs = orders[3].order_id
    url, payload = _fill(path, bobs), _fill(body, bobs)
    async with messaging_service.client() as client:
        before = await last_position(client)
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic x"}):
            r = await client.request(method, url, json=payload, headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.request(method, url, json=payload, headers=JANE)  # not Jane's order
        assert r.status_code == (403 if path == "/v1/events" else 404), r.text
        assert await last_position(client) == before
        if path != "/v1/events":
            unknown = _fill(path, "no-such-order"), _fill(body, "no-such-order")
            r = await client.request(method, unknown[0], json=unknown[1], headers=ADMIN)
            assert r.status_code == 404
        owner = ADMIN if path == "/v1/events" else BOB
        r = await client.request(method, url, json=payload, headers=owner)
        assert r.status_code in (200, 201, 409), r.text


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("too long", {"body": "x" * 5001}, "at most 5000"),
    ("empty", {"body": "   "}, "must not be empty"),
    ("control character", {"body": "bell\x07"}, "control character"),
    ("wrong type", {"body": 42}, "body"),
    ("unknown field", {"body": "hi", "html": "<b>"}, "Extra inputs"),
    ("missing field", {}, "Field required"),
    ("not an object", ["hi"], "body"),
    ("bad message id", {"body": "hi", "message_id": "nope"}, "message_id"),
]


@pytest.mark.parametrize(("label", "payload", "detail"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_bad_message_input_is_a_422_problem_and_stores_nothing(
    messaging_service: RunningService, orders: list[OrderRegisteredV1], label: str, payload: Any, detail: str
) -> None:
    oid = orders[0].order_id
    async with messaging_service.client() as client:
        before = await last_position(client)
        r = await client.post(f"/v1/orders/{oid}/messages", json=payload, headers=ADMIN)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert detail in r.json()["detail"]
        assert await last_position(client) == before


async def test_malformed_json_and_bad_dispute_reasons(
    messaging_service: RunningService, orders: list[OrderRegisteredV1]
) -> None:
    oid = orders[0].order_id
    async with messaging_service.client() as client:
        before = await last_position(client)
        r = await client.post(
            f"/v1/orders/{oid}/messages", content=b'{"body": "x"', headers=ADMIN | {"Content-Type": "application/json"}
        )
        assert r.status_code == 422 and "JSON" in r.json()["detail"]
        for reason in ["", "x" * 1001, "a\x00b"]:
            r = await client.post(f"/v1/orders/{oid}/dispute", json={"reason": reason}, headers=ADMIN)
            assert r.status_code == 422, r.text
        r = await client.post(f"/v1/orders/{oid}/read", json={"extra": 1}, headers=ADMIN)
        assert r.status_code == 422
        r = await client.get("/v1/events?after=-1", headers=ADMIN)
        assert r.status_code == 422
        r = await client.post(
            f"/v1/orders/{oid}/messages", json={"body": "hi"}, headers=ADMIN | {"Idempotency-Key": ""}
        )
        assert r.status_code == 422
        assert await last_position(client) == before


async def test_idempotent_retries(messaging_service: RunningService, orders: list[OrderRegisteredV1]) -> None:
    oid = orders[0].order_id
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    async with messaging_service.client() as client:
        first = await client.post(f"/v1/orders/{oid}/messages", json={"body": "once"}, headers=ADMIN | key)
        assert first.status_code == 201
        before = await last_position(client)
        again = await client.post(f"/v1/orders/{oid}/messages", json={"body": "once"}, headers=ADMIN | key)
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        other = await client.post(f"/v1/orders/{oid}/messages", json={"body": "different"}, headers=ADMIN | key)
        assert other.status_code == 422 and "different request" in other.json()["detail"]
        assert await last_position(client) == before
        # A client-supplied message id de-duplicates even without a key.
        mid = str(uuid.uuid4())
        a = await client.post(f"/v1/orders/{oid}/messages", json={"body": "m", "message_id": mid}, headers=ADMIN)
        b = await client.post(f"/v1/orders/{oid}/messages", json={"body": "m", "message_id": mid}, headers=ADMIN)
        assert a.json()["seq"] == b.json()["seq"] and a.json()["message_id"] == mid
        dkey = {"Idempotency-Key": f"d-{uuid.uuid4()}"}
        d1 = await client.post(f"/v1/orders/{oid}/dispute", json={"reason": "r"}, headers=ADMIN | dkey)
        d2 = await client.post(f"/v1/orders/{oid}/dispute", json={"reason": "r"}, headers=ADMIN | dkey)
        assert (d1.status_code, d2.status_code, d1.json()) == (201, 201, d2.json())
        await client.post(f"/v1/orders/{oid}/dispute/close", json={}, headers=ADMIN)
        history = (await client.get(f"/v1/orders/{oid}/history", headers=ADMIN)).json()["events"]
    bodies = [e["body"] for e in history if e["event_type"] == "MessagePosted"]
    assert bodies.count("once") == 1 and bodies.count("m") == 1
    assert sum(e["event_type"] == "DisputeOpened" for e in history) == 1


async def test_concurrent_posters_on_one_thread_all_land(
    messaging_service: RunningService, kafka_settings: KafkaSettings
) -> None:
    order = new_order()
    await announce_orders(kafka_settings, order)
    await wait_for_threads(messaging_service, order)
    oid, posters, each = order.order_id, 24, 3

    async def poster(n: int) -> list[int]:
        who = bearer("admin", f"admin-{n}", f"Admin {n}") if n % 2 else JANE
        seqs = []
        async with messaging_service.client() as client:
            for i in range(each):
                headers = who | {"Idempotency-Key": f"p{n}-{i}-{oid}"}
                r = await client.post(f"/v1/orders/{oid}/messages", json={"body": f"{n}/{i}"}, headers=headers)
                assert r.status_code == 201, r.text
                seqs.append(r.json()["seq"])
        return seqs

    results = await asyncio.gather(*(poster(n) for n in range(posters)))
    seqs = sorted(s for r in results for s in r)
    assert seqs == list(range(1, posters * each + 1))
    async with messaging_service.client() as client:
        history = (await client.get(f"/v1/orders/{oid}/history", headers=ADMIN)).json()["events"]
    assert sorted(e["body"] for e in history if e["event_type"] == "MessagePosted") == sorted(
        f"{n}/{i}" for n in range(posters) for i in range(each)
    )


async def test_relay_publishes_every_event_once_in_order(
    messaging_service: RunningService, kafka_settings: KafkaSettings, orders: list[OrderRegisteredV1]
) -> None:
    async with messaging_service.client() as client:
        await client.post(f"/v1/orders/{orders[0].order_id}/messages", json={"body": "relay me"}, headers=ADMIN)
        stored: list[dict[str, Any]] = []
        after = 0
        while True:
            page = (await client.get(f"/v1/events?after={after}&limit=1000", headers=ADMIN)).json()
            stored += page["events"]
            if not page["events"]:
                break
            after = page["last_position"]
    assert [e["position"] for e in stored] == list(range(1, len(stored) + 1))
    # Other tests' services publish to this broker too, each from its own store (the same positions, and the
    # same event ids for threads of the same orders): this store's events are the ones equal to what it stores.
    stored_keys = {(e["event_id"], e["position"], e["occurred_at"]) for e in stored}

    def key(event: ThreadEvent) -> tuple[str, int, str]:
        dumped = event.model_dump(mode="json")
        return (dumped["event_id"], dumped["position"], dumped["occurred_at"])

    published: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def fetch() -> None:
        published[:] = await read_topic(kafka_settings, THREAD_EVENTS)

    async def caught_up() -> bool:
        await fetch()
        return {key(parse_thread_event(v)) for _, v, _ in published} >= stored_keys

    for _ in range(200):
        if await caught_up():
            break
        await asyncio.sleep(0.1)
    events = [parse_thread_event(v) for _, v, _ in published]
    mine = [e for e in events if key(e) in stored_keys]
    assert sorted(e.position for e in mine) == [e["position"] for e in stored]  # each once
    assert all(k == e.order_id.encode() for (k, _, _), e in zip(published, events, strict=True))
    by_order: dict[str, list[int]] = {}
    for e in mine:
        by_order.setdefault(e.order_id, []).append(e.thread_version)
    assert all(v == list(range(1, len(v) + 1)) for v in by_order.values())
    assert {e.model_dump(mode="json")["event_id"] for e in mine} == {e["event_id"] for e in stored}


async def test_poison_order_message_goes_to_dead_letters_and_consumption_goes_on(
    messaging_service: RunningService, kafka_settings: KafkaSettings
) -> None:
    marker = uuid.uuid4().hex.encode()
    good = new_order()
    await announce(kafka_settings, b"not json " + marker, key=marker)
    await announce_orders(kafka_settings, good)
    await wait_for_threads(messaging_service, good)
    letters: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def has_letter() -> bool:
        letters[:] = [r for r in await read_topic(kafka_settings, DEAD_LETTERS) if r[0] == marker]
        return bool(letters)

    for _ in range(100):
        if await has_letter():
            break
        await asyncio.sleep(0.1)
    assert letters, "poison message was not dead-lettered"
    headers = dict(letters[0][2])
    assert b"not JSON" in headers["dlq.reason"]


async def test_cors_and_openapi(messaging_service: RunningService) -> None:
    async with messaging_service.client() as client:
        r = await client.options(
            "/v1/orders/x/messages",
            headers={
                "Origin": "http://127.0.0.1:8000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,idempotency-key,content-type",
            },
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
        r = await client.options(
            "/v1/orders/x/messages",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in r.headers
        spec = (await client.get("/openapi.json")).json()
        assert "/v1/orders/{order_id}/messages" in spec["paths"]
        assert (await client.get("/healthz")).status_code == 200
