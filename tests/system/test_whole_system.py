"""The whole system on one stack: a request traced through every service, metrics, and a rebuild from the store."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.polling import wait_for
from tests.support.whole_stack import post_message, produce, whole_stack

from ordertalk_contracts import ORDERS, Customer, OrderRegisteredV1
from ordertalk_devstack.mailcatcher import read_mailbox
from ordertalk_devstack.stack import Stack
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec

pytestmark = pytest.mark.e2e
SERVICES = ("messaging", "projections", "notifier")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system on stand-in servers and free ports."""
    with whole_stack(tmp_path_factory.mktemp("observed")) as running:
        yield running


def announce(stack: Stack, order: OrderRegisteredV1) -> None:
    """The shop's order service announces ``order``."""
    produce(stack, ORDERS, [order])


def new_order(prefix: str, number: str, customer_id: str, name: str) -> OrderRegisteredV1:
    """A fresh order of ``customer_id`` as the shop's order service announces it."""
    return OrderRegisteredV1(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        order_id=f"{prefix}-{uuid.uuid4().hex[:8]}",
        order_number=number,
        customer=Customer(id=customer_id, name=name, email=f"{customer_id}@example.com"),
    )


def admin_headers(stack: Stack) -> dict[str, str]:
    """Bearer header of the store's admin."""
    codec = TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"]))
    return {"Authorization": f"Bearer {codec.mint(Principal('admin', 'admin-1', 'Admin Admin'))}"}


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_a_correlation_id_travels_from_the_request_to_every_service_and_metrics_count_it(stack: Stack) -> None:
    codec = TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"]))
    customer = Principal("customer", f"cust-{uuid.uuid4().hex[:6]}", "Trace Customer", "trace@example.com")
    order = new_order("trace", "#70001", customer.subject, customer.display_name)
    announce(stack, order)
    cid = f"trace-{uuid.uuid4().hex}"
    headers = {
        "Authorization": f"Bearer {codec.mint(customer)}",
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Correlation-ID": cid,
    }
    url = f"{stack.url('messaging')}/v1/orders/{order.order_id}/messages"

    def post() -> httpx.Response | None:
        response = httpx.post(url, json={"body": "Where is my parcel?"}, headers=headers, timeout=10)
        return response if response.status_code == 201 else None

    answer = wait_for(post, 30, "the order to be known and the message stored")
    assert isinstance(answer, httpx.Response)
    assert answer.headers["x-correlation-id"] == cid
    position = answer.json()["position"]

    admin = admin_headers(stack)
    thread = httpx.get(
        f"{stack.url('projections')}/v1/threads/{order.order_id}", params={"after": position}, headers=admin, timeout=10
    )
    assert thread.status_code == 200
    assert thread.json()["messages"][0]["body"] == "Where is my parcel?"
    maildir = stack.var / "mail"
    wait_for(lambda: any("#70001" in str(m["Subject"]) for m in read_mailbox(maildir)), 30, "the store's e-mail")

    logs: dict[str, Path] = {name: stack.var / "log" / f"{name}.log" for name in SERVICES}
    for name, path in logs.items():

        def logged(log: Path = path) -> bool:
            return cid in log.read_text(errors="replace")

        wait_for(logged, 30, f"the correlation id in {name}'s log")

    texts = {name: httpx.get(f"{stack.url(name)}/metrics", timeout=10).text for name in SERVICES}
    route = "/v1/orders/{order_id}/messages"
    assert metric(texts["messaging"], "ordertalk_http_requests_total", route=route, status="201") >= 1
    assert metric(texts["messaging"], "ordertalk_events_published_total") >= 2
    assert metric(texts["projections"], "ordertalk_events_processed_total", event_type="MessagePosted") >= 1
    assert metric(texts["notifier"], "ordertalk_emails_total", outcome="sent") >= 1
    for name in SERVICES:
        assert httpx.get(f"{stack.url(name)}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{stack.url(name)}/readyz", timeout=5).status_code == 200


def test_rebuild_from_the_event_store_switches_to_a_model_equal_to_the_live_one(stack: Stack) -> None:
    """`rebuild --source store` reads the messaging feed into new collections, then switches (B6)."""
    admin = admin_headers(stack)
    order = new_order("rebuild", "#70002", "cust-rebuild", "Re Build")
    announce(stack, order)
    url = f"{stack.url('messaging')}/v1/orders/{order.order_id}"

    def post(body: str) -> int | None:
        return post_message(stack, order.order_id, body, admin)

    wait_for(lambda: post("first"), 30, "the order to be known")
    post("second")
    dispute = httpx.post(f"{url}/dispute", json={"reason": "Damaged"}, headers=admin, timeout=10)
    assert dispute.status_code == 201
    position = dispute.json()["position"]
    projections = stack.url("projections")

    def listing() -> dict[str, dict[str, Any]]:
        response = httpx.get(f"{projections}/v1/threads", params={"after": position, "per_page": 200}, headers=admin)
        assert response.status_code == 200
        return {row["order_id"]: row for row in response.json()["items"]}

    before = listing()
    assert before[order.order_id]["message_count"] == 2
    rebuild = subprocess.run(
        [sys.executable, "-m", "ordertalk_projections", "rebuild", "--source", "store"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    after = listing()
    assert set(after) == set(before)
    for order_id, row in before.items():
        rebuilt = after[order_id]
        for key in ("version", "message_count", "unread_for_admin", "dispute", "last_message"):
            assert rebuilt[key] == row[key], (order_id, key)


def test_operator_cli_shows_a_threads_history_and_the_consumer_lag(stack: Stack) -> None:
    admin = admin_headers(stack)
    order = new_order("ops", "#70003", "cust-ops", "Op Erator")
    announce(stack, order)
    url = f"{stack.url('messaging')}/v1/orders/{order.order_id}/messages"
    wait_for(
        lambda: httpx.post(url, json={"body": "History, please"}, headers=admin, timeout=10).status_code == 201,
        30,
        "the order to be known",
    )

    def ops(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ordertalk_ops", *args], env=stack.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    history = ops("history", order.order_id).splitlines()
    assert [line.split()[2] for line in history] == ["ThreadStarted", "MessagePosted"]
    assert "History, please" in history[1]
    lag = ops("lag")
    assert "ordertalk-projections" in lag
    assert "total lag:" in lag
    # Once the consumers have caught up, an idle system has no lag: only topics a group consumes count.
    wait_for(lambda: ops("lag").rstrip().endswith("total lag: 0"), 30, "an idle system to show no lag")
