"""Gap handling against the MongoDB-wire server: events beyond a gap are parked durably and applied when it fills."""

from __future__ import annotations

import uuid

from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_notifier.adapters.mongo import PARKED, MongoOutbox, MongoThreadStore, connect, ensure_indexes
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rendering import Sender


async def test_a_late_event_fills_the_gap_after_a_restart_and_each_email_is_queued_once(mongo_url: str) -> None:
    client = connect(mongo_url)
    db = client[f"parked_{uuid.uuid4().hex[:8]}"]
    links = Links("store@example.com", "http://web/admin", "http://web/store")

    def handler() -> EventHandler:
        return EventHandler(MongoThreadStore(db), MongoOutbox(db), BroadcastHub(), links, Sender("n@shop.example", "S"))

    try:
        await ensure_indexes(db)
        t = ThreadBuilder()
        started, v2, v3, v4 = t.started(), t.message(t.customer), t.message(t.customer), t.message(ADMIN)
        first = handler()
        await first.handle_batch([started, v3])
        await first.handle_batch([v4, v3])  # a redelivery of the parked one parks it once
        assert await db[PARKED].count_documents({"order_id": t.order_id}) == 2
        assert await first.counts("admin") == {
            "threads_with_news": 0,
            "threads_with_unread_messages": 0,
            "unseen_disputes": 0,
        }
        restarted = handler()  # a new process: the parked events come from the database
        outcome = await restarted.handle_batch([v2])
        assert outcome.new_emails == 3
        state = await restarted.threads.get(t.order_id)
        assert state is not None and (state.version, state.message_count) == (4, 3)
        assert state.unread_for("admin") == 0 and state.unread_for("customer") == 1
        assert await db[PARKED].count_documents({}) == 0
        assert await restarted.counts(f"customer:{t.customer_id}") == {
            "threads_with_news": 1,
            "threads_with_unread_messages": 1,
            "unseen_disputes": 0,
        }
        again = await restarted.handle_batch([v2, v3, v4])
        assert again.new_emails == 0 and await restarted.outbox.count("pending") == 3
    finally:
        await client.drop_database(db.name)
