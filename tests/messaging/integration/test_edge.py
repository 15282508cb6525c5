"""The messaging API's edge over a real socket: authentication before the body, a body size limit, write rates."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.messaging.conftest import (
    RunningService,
    announce_orders,
    bearer,
    new_order,
    service_env,
    serving,
)
from tests.support.raw_http import megabytes, raw_post

from ordertalk_runtime.kafka import KafkaSettings

LIMIT = 64 * 1024
RATE, BURST = 2, 5
POST_PATH = "/v1/orders/x/messages"
HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def edge_service(kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A messaging process with the edge's limits on: a 64 kB body limit, 2 writes/s (burst 5) per principal."""
    var = tmp_path_factory.mktemp("messaging-edge")
    env = service_env(kafka_settings, var / "es.sqlite")
    for name in ("RATE_LIMIT_WRITES_PER_SECOND", "RATE_LIMIT_ANONYMOUS_PER_SECOND"):
        env.pop(name)  # the defaults: on
    env |= {"HTTP_MAX_BODY_BYTES": str(LIMIT), "RATE_LIMIT_WRITES_PER_SECOND": str(RATE)}
    env |= {"RATE_LIMIT_WRITES_BURST": str(BURST)}
    with serving("messaging-edge", var, env) as service:
        yield service


def admin() -> dict[str, str]:
    """A fresh staff principal (its own write bucket)."""
    return bearer("admin", f"staff-{uuid.uuid4().hex[:8]}", "Staff")


def peak_rss_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_malformed_body_without_a_token_is_401_not_422(edge_service: RunningService) -> None:
    response = httpx.post(
        f"{edge_service.url}/v1/orders/x/messages", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "expected"), [("PUT", "/healthz", 405), ("POST", "/v1/nowhere", 404)])
def test_a_write_no_route_takes_is_answered_by_the_router_not_by_authentication(
    edge_service: RunningService, method: str, path: str, expected: int
) -> None:
    """No token needed to learn that a method or path does not exist: 405 or 404, as the API documents."""
    response = httpx.request(
        method, f"{edge_service.url}{path}", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == expected
    assert response.headers["content-type"] == "application/problem+json"


def test_a_100_mb_body_without_a_token_is_refused_before_it_is_read(edge_service: RunningService) -> None:
    assert edge_service.process.pid is not None
    before = peak_rss_kb(edge_service.process.pid)
    head = {"Content-Type": "application/json", "Content-Length": str(100 * 1024 * 1024)}
    status, headers, body, elapsed = raw_post(
        edge_service.url, "/v1/orders/x/messages", head, megabytes(100 * 1024 * 1024)
    )
    assert status == 401 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 401
    assert elapsed < 2.0
    assert peak_rss_kb(edge_service.process.pid) - before < 20 * 1024


def test_a_declared_body_over_the_limit_is_413_at_once(edge_service: RunningService) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(100 * 1024 * 1024)} | admin()
    status, headers, body, elapsed = raw_post(
        edge_service.url, "/v1/orders/x/messages", head, megabytes(100 * 1024 * 1024)
    )
    assert status == 413 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413
    assert elapsed < 2.0


def test_a_chunked_body_is_cut_at_the_limit_and_answered_413(edge_service: RunningService) -> None:
    def chunks() -> Iterator[bytes]:
        for part in megabytes(10 * LIMIT, 8 * 1024):
            yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
        yield b"0\r\n\r\n"

    head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"} | admin()
    status, headers, body, _ = raw_post(edge_service.url, POST_PATH, head, chunks())
    assert status == 413 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413


def test_a_body_under_the_limit_is_served(edge_service: RunningService) -> None:
    body = {"body": "x" * 4000}
    response = httpx.post(f"{edge_service.url}/v1/orders/nowhere/messages", json=body, headers=admin())
    assert response.status_code == 404  # read, parsed and decided: no such order


async def test_one_principal_over_its_rate_gets_429_and_others_still_write(
    edge_service: RunningService, kafka_settings: KafkaSettings
) -> None:
    order = new_order()
    await announce_orders(kafka_settings, order)
    async with edge_service.client() as client:
        other = admin()
        path = f"/v1/orders/{order.order_id}/messages"

        async def known() -> bool:
            return (await client.get(f"/v1/orders/{order.order_id}/history", headers=other)).status_code == 200

        deadline = time.monotonic() + 30
        while not await known():  # the order reaches the service through Kafka
            assert time.monotonic() < deadline, "the order never reached the messaging service"
            await asyncio.sleep(0.05)

        abuser = admin()
        answers = [await client.post(path, json={"body": f"spam {i}"}, headers=abuser) for i in range(BURST + 5)]
        statuses = [a.status_code for a in answers]
        assert statuses[:BURST] == [201] * BURST
        assert 429 in statuses[BURST:]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert (await client.post(path, json={"body": "I am fine"}, headers=other)).status_code == 201


def test_writes_without_credentials_are_limited_per_client_address(edge_service: RunningService) -> None:
    statuses = []
    with httpx.Client(base_url=edge_service.url) as client:
        for _ in range(100):
            statuses.append(client.post("/v1/orders/x/messages", json={"body": "hi"}).status_code)
            if statuses[-1] == 429:
                break
    assert set(statuses) == {401, 429} and statuses[-1] == 429
