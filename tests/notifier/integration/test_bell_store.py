"""The MongoDB thread store's bell counts: the fold's figures, the same as computed from the states in memory."""

from __future__ import annotations

import uuid

from tests.notifier.events import ADMIN, ThreadBuilder
from tests.support.folding import fold

from ordertalk_notifier.adapters.mongo import MongoThreadStore, connect, ensure_indexes
from ordertalk_notifier.fakes import InMemoryThreadStore


async def test_counts_and_contributions_agree_with_the_fold(mongo_url: str) -> None:
    client = connect(mongo_url)
    db = client[f"bell_{uuid.uuid4().hex[:8]}"]
    try:
        await ensure_indexes(db)
        store, memory = MongoThreadStore(db), InMemoryThreadStore()
        customer = f"c-{uuid.uuid4().hex[:6]}"
        quiet, own, chatty = (ThreadBuilder(customer_id=customer) for _ in range(3))
        states = [
            # the customer opens a dispute after the staff read: no new message
            fold(
                [
                    quiet.started(),
                    quiet.message(quiet.customer),
                    quiet.read(ADMIN),
                    quiet.dispute_opened(quiet.customer),
                ]
            ),
            fold([own.started(), own.message(own.customer), own.read(ADMIN), own.dispute_opened(ADMIN)]),  # staff's own
            fold([chatty.started(), chatty.message(chatty.customer), chatty.message(chatty.customer)]),
        ]
        await store.save_many(states)
        memory.states = {s.order_id: s for s in states}
        assert await store.admin_counts() == {
            "threads_with_news": 2,
            "threads_with_unread_messages": 1,
            "unseen_disputes": 1,
        }
        assert await store.customer_counts(customer) == {
            "threads_with_news": 1,
            "threads_with_unread_messages": 0,
            "unseen_disputes": 1,
        }
        assert await store.admin_counts() == await memory.admin_counts()
        assert await store.customer_counts(customer) == await memory.customer_counts(customer)
        assert sorted(await store.contributions(), key=str) == sorted(await memory.contributions(), key=str)
    finally:
        await client.drop_database(db.name)
        await client.close()
