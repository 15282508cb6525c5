"""Each list's total is exactly the number of rows its pages hold, for every kind, viewer and keyword.

The module's service reads the suite's whole topic, earlier modules' threads included: the admin's figures are
checked on this module's threads (its customer's are this module's alone).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pytest
from tests.projections.harness import RunningService, publish
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.polling import wait_for

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.kafka import KafkaSettings

KINDS = ("all", "unread", "disputes", "unseen_disputes", "news")


class World(NamedTuple):
    """This module's customer, search word and threads."""

    cust: str
    word: str
    threads: frozenset[str]


@pytest.fixture(scope="module")
def world(service: RunningService, kafka_settings: KafkaSettings) -> World:
    """Threads of every shape, with and without a conversation."""
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    word = f"lynx{uuid.uuid4().hex[:6]}"
    cust = f"cust-{uuid.uuid4().hex[:8]}"
    s = [ThreadScript.new(positions, cust if i % 2 else None) for i in range(10)]
    events: list[IntegrationEvent] = [t.registered() for t in s]
    events += [s[0].start()]  # no conversation: never listed, never counted
    events += [s[1].start(), s[1].post(f"where is it {word}")]  # unread for the admin
    events += [s[2].start(), s[2].post("hello"), s[2].read("admin")]
    events += [s[3].start(), s[3].open_dispute(f"broken {word}")]  # a dispute without messages
    events += [s[4].start(), s[4].post("late"), s[4].open_dispute("late"), s[4].close_dispute()]
    events += [s[5].start(), s[5].post(f"answer {word}", ADMIN)]  # unread for the customer
    events += [s[6].start(), s[6].post("one"), s[6].post("two"), s[6].read("admin"), s[6].mark_unread("admin")]
    events += [s[7].start(), s[7].post("a"), s[7].open_dispute("b"), s[7].read("admin")]
    events += [s[9].start(), s[9].post("where"), s[9].open_dispute("lost")]  # unread and an unseen dispute
    # s[8]: registered only
    publish(kafka_settings, events)
    last = s[9].events[-1].position
    wait_for(lambda: int(service.get("/v1/bell").headers.get("X-Projection-Position", "0")) >= last, what="applied")
    return World(cust, word, frozenset(t.order_id for t in s))


def rows(service: RunningService, path: str, role: str, subject: str, **params: str) -> tuple[list[str], int]:
    """Every row's id over all pages of two, and the total each page answered (all the same)."""
    ids: list[str] = []
    totals: set[int] = set()
    page = 1
    while True:
        body = service.get(path, role=role, subject=subject, page=page, per_page=2, **params).json()
        ids += [item["order_id"] for item in body["items"]]
        totals.add(int(body["total"]))
        if not body["items"]:
            break
        page += 1
    assert len(totals) == 1, totals
    return ids, totals.pop()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keyword", [False, True])
@pytest.mark.parametrize("role", ["admin", "customer"])
def test_a_thread_lists_total_counts_its_rows(
    service: RunningService, world: World, kind: str, keyword: bool, role: str
) -> None:
    cust, word, ours = world
    subject = "staff-1" if role == "admin" else cust
    params = {"type": kind} | ({"q": word} if keyword else {})
    ids, total = rows(service, "/v1/threads", role, subject, **params)
    assert total == len(ids) == len(set(ids))
    if kind == "all" and not keyword:
        assert len(ours.intersection(ids)) == (8 if role == "admin" else 5)  # s[0] has no conversation, s[8] no thread


def test_the_totals_agree_with_the_bell(service: RunningService, world: World) -> None:
    for role, subject in (("admin", "staff-1"), ("customer", world.cust)):
        bell = service.get("/v1/bell", role=role, subject=subject).json()
        unread = rows(service, "/v1/threads", role, subject, type="unread")[1]
        unseen = rows(service, "/v1/threads", role, subject, type="unseen_disputes")[1]
        news = rows(service, "/v1/threads", role, subject, type="news")[1]
        assert (bell["threads_with_unread_messages"], bell["unseen_disputes"], bell["threads_with_news"]) == (
            unread,
            unseen,
            news,
        )
        assert unread >= 1 and news >= unread
    admin_ours = [
        len(world.threads.intersection(rows(service, "/v1/threads", "admin", "staff-1", type=kind)[0]))
        for kind in ("unread", "unseen_disputes", "news")
    ]
    assert admin_ours == [4, 2, 5]


@pytest.mark.parametrize("messages", ["all", "unread", "any"])
def test_an_orders_lists_total_counts_its_rows(service: RunningService, world: World, messages: str) -> None:
    ids, total = rows(service, "/v1/orders", "admin", "staff-1", messages=messages)
    assert total == len(ids) == len(set(ids))
    assert len(world.threads.intersection(ids)) == {"all": 10, "unread": 4, "any": 7}[messages]
