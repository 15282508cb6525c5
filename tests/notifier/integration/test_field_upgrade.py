"""A notifier database written before the shared field names is upgraded when the notifier ensures its indexes."""

from __future__ import annotations

import uuid

from ordertalk_threadstate import ThreadState
from ordertalk_threadstate.fields import PARTIES, news_field, unread_field, unseen_dispute_field
from pymongo import ASCENDING
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.support.folding import fold

from ordertalk_notifier.adapters.mongo import (
    FORMER_FIELDS,
    THREADS,
    MongoThreadStore,
    connect,
    ensure_indexes,
    upgrade_thread_fields,
)


def former_doc(state: ThreadState) -> dict[str, object]:
    """A thread document as the notifier wrote it before (``unread_admin``, ``news_customer``, ...)."""
    customer_id = state.customer.id if state.customer else None
    doc: dict[str, object] = {"_id": state.order_id, "version": state.version, "customer_id": customer_id}
    for party in PARTIES:
        attention = state.attention_for(party)
        doc |= {
            f"unread_{party}": attention.unread_messages,
            f"unseen_dispute_{party}": attention.unseen_dispute,
            f"news_{party}": attention.has_news,
        }
    return doc | {"dispute_open": state.open_dispute is not None, "state": state.model_dump(mode="json")}


async def test_former_documents_and_indexes_are_rewritten_with_the_shared_names(mongo_url: str) -> None:
    client = connect(mongo_url)
    db = client[f"upgrade_{uuid.uuid4().hex[:8]}"]
    try:
        threads = db[THREADS]
        customer = f"c-{uuid.uuid4().hex[:6]}"
        quiet, chatty = ThreadBuilder(customer_id=customer), ThreadBuilder(customer_id=customer)
        states = [
            fold([quiet.started(), quiet.message(quiet.customer), quiet.read(ADMIN)]),
            fold([chatty.started(), chatty.message(chatty.customer), chatty.dispute_opened(chatty.customer)]),
        ]
        await threads.insert_many([former_doc(s) for s in states])
        await threads.create_index([("unread_admin", ASCENDING)])
        await threads.create_index([("customer_id", ASCENDING), ("news_customer", ASCENDING)])

        await ensure_indexes(db)

        async for doc in threads.find({}):
            assert not set(FORMER_FIELDS) & set(doc)
            state = ThreadState.model_validate(doc["state"])
            for party in PARTIES:
                attention = state.attention_for(party)
                assert doc[unread_field(party)] == attention.unread_messages
                assert doc[unseen_dispute_field(party)] == attention.unseen_dispute
                assert doc[news_field(party)] == attention.has_news
        keys = [set(index["key"]) async for index in await threads.list_indexes()]
        assert not any(key & set(FORMER_FIELDS) for key in keys)
        assert {unread_field("admin")} in keys and {"customer_id", news_field("customer")} in keys
        store = MongoThreadStore(db)
        assert await store.get_many([s.order_id for s in states]) == {s.order_id: s for s in states}
        assert await store.admin_counts() == {
            "threads_with_news": 1,
            "threads_with_unread_messages": 1,
            "unseen_disputes": 1,
        }
        assert await upgrade_thread_fields(threads) == 0  # nothing left to rewrite
    finally:
        await client.drop_database(db.name)
