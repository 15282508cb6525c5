"""Every event of a batch reaches the bell stream as its own alert, counts-only ones included (open lists patch
the row each alert names)."""

from __future__ import annotations

from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rendering import Sender


def handler() -> EventHandler:
    return EventHandler(
        InMemoryThreadStore(),
        InMemoryOutbox(),
        BroadcastHub(),
        Links("store@example.com", "http://web/admin", "http://web/store"),
        Sender("notify@shop.example", "Shop"),
    )


async def test_the_staffs_own_actions_in_one_batch_each_name_their_thread() -> None:
    h = handler()
    first, second, third = ThreadBuilder(), ThreadBuilder(), ThreadBuilder()
    await h.handle_batch([first.started(), second.started(), third.started()])
    with h.hub.subscribe("admin") as admin:
        batch = [first.message(ADMIN), second.read(ADMIN), third.message(third.customer)]
        await h.handle_batch(batch)
        alerts = [admin.get_nowait() for _ in range(admin.qsize())]
    assert [(a["order_id"], a["position"]) for a in alerts] == [(e.order_id, e.position) for e in batch]
    assert [a["description"] is None for a in alerts] == [True, True, False]  # the staff's own: counts only
    assert all(a["counts"] == alerts[-1]["counts"] for a in alerts)  # the batch's counts, in each
