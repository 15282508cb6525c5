"""MongoDB adapters: thread states with bell counts (``notifier_threads``) and the outbox (``notifier_outbox``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from ordertalk_threadstate import BellCounts as Figures
from ordertalk_threadstate import ThreadState
from ordertalk_threadstate.fields import ADMIN, CUSTOMER, PARTIES, news_field, unread_field, unseen_dispute_field
from pymongo import ASCENDING, AsyncMongoClient, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ordertalk_contracts import ThreadEvent, parse_thread_event
from ordertalk_notifier.ports import BellCounts, ContributionRow, OutboxEntry, Status
from ordertalk_runtime.held_events import parking_writes

Doc = dict[str, Any]
THREADS = "notifier_threads"
OUTBOX = "notifier_outbox"
PARKED = "notifier_parked"
# The per-party fields the thread documents had before they took the read sides' shared names (``unread_admin``
# is now ``unread_field(ADMIN)``): only to rewrite the documents that still have them.
FORMER_FIELDS = tuple(f"{figure}_{party}" for figure in ("unread", "unseen_dispute", "news") for party in PARTIES)


def connect(url: str) -> AsyncMongoClient[Doc]:
    """A client (connects lazily) that answers time-zone aware datetimes."""
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Indexes the bell counts and the outbox queries use (thread documents of an older notifier upgraded first)."""
    threads = db[THREADS]
    await upgrade_thread_fields(threads)
    await threads.create_index([(unread_field(ADMIN), ASCENDING)])
    await threads.create_index([(news_field(ADMIN), ASCENDING)])
    await threads.create_index([(unseen_dispute_field(ADMIN), ASCENDING)])
    await threads.create_index([("customer_id", ASCENDING), (news_field(CUSTOMER), ASCENDING)])
    outbox = db[OUTBOX]
    await outbox.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
    await outbox.create_index([("claim", ASCENDING)])
    await db[PARKED].create_index([("order_id", ASCENDING), ("version", ASCENDING)])


async def upgrade_thread_fields(threads: AsyncCollection[Doc]) -> int:
    """Rewrite each thread document still holding ``FORMER_FIELDS`` from its stored state; drop their indexes.

    Each such document is replaced by the one ``save_many`` writes for its state, if its version is still the
    one read (a newer one written meanwhile has the new fields; one left over is rewritten at the next start).
    Answers how many documents were rewritten.
    """
    async for index in await threads.list_indexes():
        if any(key in FORMER_FIELDS for key in index["key"]):
            await threads.drop_index(index["name"])
    rewritten = 0
    batch: list[ReplaceOne[Doc]] = []
    former = {"$or": [{name: {"$exists": True}} for name in FORMER_FIELDS]}
    async for doc in threads.find(former, {"state": 1, "version": 1}):
        state = ThreadState.model_validate(doc["state"])
        batch.append(ReplaceOne({"_id": doc["_id"], "version": doc["version"]}, _thread_doc(state)))
        if len(batch) == 1000:
            rewritten += (await threads.bulk_write(batch, ordered=False)).modified_count
            batch = []
    if batch:
        rewritten += (await threads.bulk_write(batch, ordered=False)).modified_count
    return rewritten


def _thread_doc(state: ThreadState) -> Doc:
    doc: Doc = {"version": state.version, "customer_id": state.customer.id if state.customer else None}
    for party in PARTIES:
        attention = state.attention_for(party)
        doc |= {
            unread_field(party): attention.unread_messages,
            unseen_dispute_field(party): attention.unseen_dispute,
            news_field(party): attention.has_news,
        }
    return doc | {"dispute_open": state.open_dispute is not None, "state": state.model_dump(mode="json")}


class MongoThreadStore:
    """ThreadStore on a MongoDB collection, one document per order with its counts denormalised and indexed."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db[THREADS]
        self.parked = db[PARKED]

    async def get(self, order_id: str) -> ThreadState | None:
        doc = await self.coll.find_one({"_id": order_id})
        return None if doc is None else ThreadState.model_validate(doc["state"])

    async def get_many(self, order_ids: list[str]) -> dict[str, ThreadState]:
        cursor = self.coll.find({"_id": {"$in": order_ids}}, {"state": 1})
        return {d["_id"]: ThreadState.model_validate(d["state"]) async for d in cursor}

    async def save_many(self, states: list[ThreadState]) -> None:
        ops = [
            UpdateOne({"_id": s.order_id, "version": {"$lt": s.version}}, {"$set": _thread_doc(s)}, upsert=True)
            for s in states
        ]
        try:
            await self.coll.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            _raise_unless_duplicates(exc)  # a duplicate: a state of the same or a later version is stored already

    async def contributions(self) -> list[ContributionRow]:
        fields = {name(party): 1 for name in (unread_field, unseen_dispute_field) for party in PARTIES}
        return [
            (
                d.get("customer_id"),
                int(d.get(unread_field(ADMIN), 0)),
                bool(d.get(unseen_dispute_field(ADMIN), False)),
                int(d.get(unread_field(CUSTOMER), 0)),
                bool(d.get(unseen_dispute_field(CUSTOMER), False)),
            )
            async for d in self.coll.find({}, fields | {"customer_id": 1})
        ]

    async def admin_counts(self) -> BellCounts:
        return await self._counts({}, ADMIN)

    async def customer_counts(self, customer_id: str) -> BellCounts:
        return await self._counts({"customer_id": customer_id}, CUSTOMER)

    async def _counts(self, scope: Doc, party: str) -> BellCounts:
        """The party's bell over the threads in ``scope``: the fold's figures, each counted on its own field."""
        news, messages, disputes = await asyncio.gather(
            self.coll.count_documents(scope | {news_field(party): True}),
            self.coll.count_documents(scope | {unread_field(party): {"$gt": 0}}),
            self.coll.count_documents(scope | {unseen_dispute_field(party): True}),
        )
        figures = Figures(threads_with_news=news, threads_with_unread_messages=messages, unseen_disputes=disputes)
        return figures.model_dump()

    async def replace_all(self, states: list[ThreadState]) -> int:
        """Replace every thread document by the rebuilt one (no version guard), then remove the others."""
        for i in range(0, len(states), 1000):
            chunk = states[i : i + 1000]
            await self.coll.bulk_write([ReplaceOne({"_id": s.order_id}, _thread_doc(s), upsert=True) for s in chunk])
        keep = {s.order_id for s in states}
        stale = [d["_id"] async for d in self.coll.find({}, {"_id": 1}) if d["_id"] not in keep]
        if stale:
            await self.coll.delete_many({"_id": {"$in": stale}})
        return len(stale)

    async def park(self, events: list[ThreadEvent]) -> None:
        """One document per (order id, thread version): parking an event twice stores it once."""
        if not events:
            return
        ops = parking_writes(events)
        await self.parked.bulk_write(ops, ordered=False)

    async def load_parked(self, order_ids: list[str]) -> list[ThreadEvent]:
        if not order_ids:
            return []
        cursor = self.parked.find({"order_id": {"$in": order_ids}}).sort("version", ASCENDING)
        return [parse_thread_event(doc["event"]) async for doc in cursor]

    async def unpark(self, up_to: list[tuple[str, int]]) -> None:
        for order_id, version in up_to:
            await self.parked.delete_many({"order_id": order_id, "version": {"$lte": version}})

    async def parked_threads(self) -> list[tuple[str, int]]:
        earliest: dict[str, int] = {}
        async for doc in self.parked.find({}, {"order_id": 1, "position": 1}):
            oid, pos = str(doc["order_id"]), int(doc["position"])
            earliest[oid] = min(pos, earliest.get(oid, pos))
        return sorted(earliest.items(), key=lambda item: item[1])


def _raise_unless_duplicates(exc: BulkWriteError) -> None:
    errors = exc.details.get("writeErrors", [])
    if exc.details.get("writeConcernErrors") or any(e.get("code") != 11000 for e in errors):
        raise exc


def _when(value: object) -> datetime | None:
    """A stored time (some MongoDB-wire stand-ins answer times written by ``$set`` as ISO strings)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else None


def _entry(doc: Doc) -> OutboxEntry:
    return OutboxEntry(
        key=doc["_id"],
        event_id=doc["event_id"],
        order_id=doc["order_id"],
        kind=doc["kind"],
        recipient=doc["recipient"],
        sender=doc["sender"],
        subject=doc["subject"],
        payload=doc["payload"],
        created_at=_when(doc["created_at"]) or datetime.min,
        status=doc["status"],
        attempts=int(doc.get("attempts", 0)),
        next_attempt_at=_when(doc.get("next_attempt_at")),
        last_error=doc.get("last_error"),
        sent_at=_when(doc.get("sent_at")),
        failed_at=_when(doc.get("failed_at")),
    )


class MongoOutbox:
    """Outbox on a MongoDB collection; the key is the document id, so each (event, recipient) exists once."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db[OUTBOX]

    async def add(self, entries: list[OutboxEntry]) -> int:
        docs = [
            {
                "_id": e.key,
                "event_id": e.event_id,
                "order_id": e.order_id,
                "kind": e.kind,
                "recipient": e.recipient,
                "sender": e.sender,
                "subject": e.subject,
                "payload": e.payload,
                "created_at": e.created_at,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": e.created_at,
            }
            for e in {e.key: e for e in entries}.values()
        ]
        try:
            result = await self.coll.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            _raise_unless_duplicates(exc)  # a duplicate key: that (event, recipient) is recorded already
            return int(exc.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxEntry]:
        """Answers [] only when nothing is due: rows another sender claimed between the query and the claim are
        no longer due, so the query is asked again (senders drain a backlog side by side)."""
        due = {"status": "pending", "next_attempt_at": {"$lte": now}}
        while True:
            cursor = self.coll.find(due, {"_id": 1}).sort("next_attempt_at", ASCENDING).limit(limit)
            keys = [d["_id"] async for d in cursor]
            if not keys:
                return []
            if claimed := await self.claim(keys, now, lease_seconds):
                return claimed

    async def claim(self, keys: list[str], now: datetime, lease_seconds: float) -> list[OutboxEntry]:
        if not keys:
            return []
        token = uuid.uuid4().hex
        lease = {"next_attempt_at": now + timedelta(seconds=lease_seconds), "claim": token}
        due = {"_id": {"$in": keys}, "status": "pending", "next_attempt_at": {"$lte": now}}
        result = await self.coll.update_many(due, {"$set": lease, "$inc": {"attempts": 1}})
        if not result.modified_count:
            return []
        docs = [d async for d in self.coll.find({"_id": {"$in": keys}, "claim": token})]
        order = {k: n for n, k in enumerate(keys)}
        return [_entry(d) for d in sorted(docs, key=lambda d: order[d["_id"]])]

    async def mark_sent(self, key: str, now: datetime) -> None:
        await self.coll.update_one({"_id": key}, {"$set": {"status": "sent", "sent_at": now}})

    async def mark_sent_many(self, keys: list[str], now: datetime) -> None:
        if keys:
            await self.coll.update_many({"_id": {"$in": keys}}, {"$set": {"status": "sent", "sent_at": now}})

    async def mark_retry(self, key: str, error: str, next_attempt_at: datetime) -> None:
        await self.coll.update_one(
            {"_id": key, "status": "pending"}, {"$set": {"last_error": error, "next_attempt_at": next_attempt_at}}
        )

    async def release_untried(self, keys: list[str], reason: str, next_attempt_at: datetime) -> None:
        if keys:
            await self.coll.update_many(
                {"_id": {"$in": keys}, "status": "pending", "attempts": {"$gt": 0}},
                {"$set": {"last_error": reason, "next_attempt_at": next_attempt_at}, "$inc": {"attempts": -1}},
            )

    async def mark_failed(self, key: str, error: str, now: datetime) -> None:
        await self.coll.update_one({"_id": key}, {"$set": {"status": "failed", "last_error": error, "failed_at": now}})

    async def failed(self, limit: int = 100) -> list[OutboxEntry]:
        cursor = self.coll.find({"status": "failed"}).sort("failed_at", -1).limit(limit)
        return [_entry(d) async for d in cursor]

    async def count(self, status: Status) -> int:
        return await self.coll.count_documents({"status": status})
