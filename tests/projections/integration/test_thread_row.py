"""GET /v1/threads/{order_id}/row over a real broker and MongoDB-wire server: the list's row, scope, waits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from tests.projections.harness import RunningService, publish
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.polling import wait_for

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.kafka import KafkaSettings


@dataclass
class Rows:
    """Two customers' threads published once for this module, and an order without a message."""

    mine: ThreadScript
    other: ThreadScript
    silent: ThreadScript
    word: str  # in both threads only: the admin's list of them (the service reads the suite's whole topic)


@pytest.fixture(scope="module")
def rows(service: RunningService, kafka_settings: KafkaSettings) -> Rows:
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    word = f"otter{uuid.uuid4().hex[:6]}"
    mine = ThreadScript.new(positions, f"cust-{uuid.uuid4().hex[:8]}")
    other = ThreadScript.new(positions, f"cust-{uuid.uuid4().hex[:8]}")
    silent = ThreadScript.new(positions)
    events: list[IntegrationEvent] = [mine.registered(), other.registered(), silent.registered()]
    events += [mine.start(), mine.post(f"Where is my parcel? {word}"), mine.post("We shipped it", ADMIN)]
    events += [other.start(), other.post(f"Hello {word}"), other.open_dispute("Late")]
    publish(kafka_settings, events)
    last = other.events[-1].position
    wait_for(lambda: int(service.get("/v1/bell").headers.get("X-Projection-Position", "0")) >= last, what="applied")
    return Rows(mine, other, silent, word)


def test_the_row_is_the_lists_item(service: RunningService, rows: Rows) -> None:
    listed = service.get("/v1/threads", q=rows.word).json()["items"]
    assert {i["order_id"] for i in listed} == {rows.mine.order_id, rows.other.order_id}
    for script in (rows.mine, rows.other):
        item = next(i for i in listed if i["order_id"] == script.order_id)
        answer = service.get(f"/v1/threads/{script.order_id}/row")
        assert answer.status_code == 200
        assert answer.json() == item
        assert int(answer.headers["X-Projection-Position"]) >= script.events[-1].position
    assert "messages" not in service.get(f"/v1/threads/{rows.mine.order_id}/row").json()


def test_a_customer_gets_only_their_own_row(service: RunningService, rows: Rows) -> None:
    cust = rows.mine.customer.id
    own = service.get(f"/v1/threads/{rows.mine.order_id}/row", role="customer", subject=cust)
    assert own.status_code == 200
    listed = service.get("/v1/threads", role="customer", subject=cust).json()["items"]
    assert own.json() == next(i for i in listed if i["order_id"] == rows.mine.order_id)  # the customer's view
    assert own.json()["unread"] == 1  # the admin's reply, unread for the customer
    foreign = service.get(f"/v1/threads/{rows.other.order_id}/row", role="customer", subject=cust)
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert service.get("/v1/threads/ord-unknown/row").status_code == 404


def test_an_order_without_a_thread_is_a_404_like_the_thread(service: RunningService, rows: Rows) -> None:
    assert service.get(f"/v1/orders/{rows.silent.order_id}").status_code == 200
    assert service.get(f"/v1/threads/{rows.silent.order_id}").status_code == 404
    assert service.get(f"/v1/threads/{rows.silent.order_id}/row").status_code == 404


def test_read_your_writes_waits_for_the_thread(
    service: RunningService, rows: Rows, kafka_settings: KafkaSettings
) -> None:
    event = rows.mine.post("One more question")
    publish(kafka_settings, [event])
    answer = service.get(f"/v1/threads/{rows.mine.order_id}/row", after=event.position, after_order=rows.mine.order_id)
    assert answer.status_code == 200
    assert answer.json()["message_count"] == 3
    assert answer.json()["last_message"]["excerpt"] == "One more question"
    assert answer.json()["position"] == event.position
    assert int(answer.headers["X-Projection-Position"]) >= event.position
    again = service.get(f"/v1/threads/{rows.mine.order_id}/row", after=event.position, after_order=rows.other.order_id)
    assert again.json() == answer.json()  # the thread has the position: answered at once, whichever order wrote it
    assert int(again.headers["X-Projection-Position"]) >= event.position


def test_bad_parameters_are_a_422_problem(service: RunningService, rows: Rows) -> None:
    path = f"/v1/threads/{rows.mine.order_id}/row"
    for params in ({"after": "-1"}, {"after": "soon"}, {"after": "1", "after_order": ""}, {"after_order": "x" * 201}):
        answer = service.get(path, **params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")
