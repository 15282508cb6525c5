"""Forged thread events on the running system: trusted only as far as the event store vouches for them.

A schema-valid MessagePosted for an order nobody registered, once with ``position`` 999999 (beyond the store's head)
and once with a position the store has (a thread whose first event is not ThreadStarted): neither makes a ghost row
in the admin's list, the read-your-writes position is not pinned, both are reported (metric, held collections), and
the system's own events go on being applied.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from tests.support.forged import unstarted_message
from tests.support.polling import wait_for
from tests.support.whole_stack import post_message, produce, whole_stack
from tests.system.test_whole_system import admin_headers, announce, metric, new_order

from ordertalk_contracts import THREAD_EVENTS, Actor, MessagePostedV1
from ordertalk_devstack.stack import Stack

pytestmark = pytest.mark.e2e
FORGER = Actor(role="admin", id="admin-9", display_name="Someone Else")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system on stand-in servers and free ports."""
    with whole_stack(tmp_path_factory.mktemp("untrusted")) as running:
        yield running


def forged(order_id: str, position: int) -> MessagePostedV1:
    """Version 1 of a thread nobody started, schema-valid."""
    return unstarted_message(order_id, position, FORGER, datetime.now(UTC))


def test_forged_events_make_no_ghost_thread_and_do_not_pin_the_read_position(stack: Stack) -> None:
    admin = admin_headers(stack)
    order = new_order("real", "#80001", "cust-real", "Real Customer")
    announce(stack, order)

    def post(body: str) -> int | None:
        return post_message(stack, order.order_id, body, admin)

    first = wait_for(lambda: post("first"), 60, "the order to be known")
    assert isinstance(first, int)
    beyond = forged(f"ghost-{uuid.uuid4().hex[:8]}", 999_999)
    unstarted = forged(f"ghost-{uuid.uuid4().hex[:8]}", first)
    produce(stack, THREAD_EVENTS, [beyond, unstarted])
    second = post("second")
    assert second is not None and second < 999_999
    threads = f"{stack.url('projections')}/v1/threads"

    def listed() -> httpx.Response | None:
        answer = httpx.get(threads, params={"after": second, "per_page": 100}, headers=admin, timeout=30)
        rows = answer.json()["items"] if answer.status_code == 200 else []
        mine = [r for r in rows if r["order_id"] == order.order_id]
        return answer if mine and mine[0]["message_count"] == 2 else None

    answer = wait_for(listed, 60, "the real thread with both messages")
    assert isinstance(answer, httpx.Response)
    ids = {r["order_id"] for r in answer.json()["items"]}
    assert beyond.order_id not in ids and unstarted.order_id not in ids
    header = next(v for k, v in answer.headers.items() if k.lower().endswith("position"))
    assert second <= int(header) < 999_999
    for ghost in (beyond, unstarted):
        missing = httpx.get(f"{threads}/{ghost.order_id}", headers=admin, timeout=10)
        assert missing.status_code == 404

    def reported(service: str, reason: str) -> bool:
        text = httpx.get(f"{stack.url(service)}/metrics", timeout=10).text
        return metric(text, "ordertalk_events_unvouched_total", consumer=service, reason=reason) >= 1

    for service in ("projections", "notifier"):
        for reason in ("beyond_head", "never_started"):

            def counted(service: str = service, reason: str = reason) -> bool:
                return reported(service, reason)

            wait_for(counted, 30, f"{service} to count {reason}")

    db: Any = MongoClient(stack.env["MONGO_URL"], tz_aware=True)[stack.env.get("MONGO_DB", "ordertalk")]
    try:
        for held in ("unvouched_events", "notifier_unvouched"):
            doc = db[held].find_one({"_id": str(beyond.event_id)})
            assert doc is not None and doc["status"] == "held", held
        # The healing pass reads the store from its start up to the unstarted ghost: it never started there.
        for held in ("unvouched_events", "notifier_unvouched"):

            def refuted(held: str = held) -> bool:
                return (db[held].find_one({"_id": str(unstarted.event_id)}) or {}).get("status") == "refuted"

            wait_for(refuted, 30, f"the unstarted ghost set aside in {held}")
        assert db["notifier_threads"].find_one({"_id": beyond.order_id}) is None
        assert db["notifier_threads"].find_one({"_id": unstarted.order_id}) is None
        assert db["notifier_parked"].count_documents({"order_id": unstarted.order_id}) == 0
    finally:
        db.client.close()


def test_the_notifier_rebuild_repairs_states_removes_ghosts_and_queues_no_email_twice(stack: Stack) -> None:
    admin = admin_headers(stack)
    order = new_order("rebuilt", "#80002", "cust-rebuilt", "Rebuilt Customer")
    announce(stack, order)

    def post(body: str) -> bool:
        return post_message(stack, order.order_id, body, admin) is not None

    wait_for(lambda: post("one"), 60, "the order to be known")
    assert post("two")
    db: Any = MongoClient(stack.env["MONGO_URL"], tz_aware=True)[stack.env.get("MONGO_DB", "ordertalk")]
    try:

        def stored() -> dict[str, Any] | None:
            doc = db["notifier_threads"].find_one({"_id": order.order_id})
            return doc if doc and doc["version"] == 3 else None

        good = wait_for(stored, 60, "the notifier's state of the thread")
        assert isinstance(good, dict)
        wrong = {**good["state"], "message_parties": ["admin"]}  # as a fast-forward left it: one message
        db["notifier_threads"].update_one({"_id": order.order_id}, {"$set": {"state": wrong}})
        ghost = {**good, "_id": f"ghost-{uuid.uuid4().hex[:8]}"}
        db["notifier_threads"].insert_one(ghost)
        emails = db["notifier_outbox"].count_documents({})
        env = {**os.environ, **stack.env}
        done = subprocess.run(
            [sys.executable, "-m", "ordertalk_ops", "rebuild-notifier"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "e-mails queued 0" in done.stdout
        repaired = db["notifier_threads"].find_one({"_id": order.order_id})
        assert repaired["state"]["message_parties"] == ["admin", "admin"] and repaired["version"] == 3
        assert db["notifier_threads"].find_one({"_id": ghost["_id"]}) is None
        assert db["notifier_outbox"].count_documents({}) == emails
        missed = subprocess.run(
            [sys.executable, "-m", "ordertalk_ops", "rebuild-notifier", "--send-missed"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert missed.returncode == 0, missed.stderr
        assert "e-mails queued 0" in missed.stdout  # every e-mail of the store's events was queued already
        assert db["notifier_outbox"].count_documents({}) == emails
    finally:
        db.client.close()
