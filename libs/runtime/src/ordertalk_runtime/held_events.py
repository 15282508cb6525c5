"""MongoDB adapter of HeldEvents: thread events no store vouched for yet, one document per event id."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from ordertalk_contracts import ThreadEvent, dump, parse_thread_event

Doc = dict[str, Any]
HELD, REFUTED = "held", "refuted"


def parking_writes(events: list[ThreadEvent]) -> list[UpdateOne]:
    """Upserts keeping events that wait for a missing version: one document per (order id, thread version)."""
    return [
        UpdateOne(
            {"_id": f"{e.order_id}:{e.thread_version}"},
            {
                "$set": {
                    "order_id": e.order_id,
                    "version": e.thread_version,
                    "position": e.position,
                    "event": dump(e).decode(),
                }
            },
            upsert=True,
        )
        for e in events
    ]


class MongoHeldEvents:
    """HeldEvents on one collection (``status`` held or refuted; refuted ones are kept for the operator)."""

    def __init__(self, coll: AsyncCollection[Doc]) -> None:
        self.coll = coll

    async def ensure_indexes(self) -> None:
        """The index the re-check reads by."""
        await self.coll.create_index([("status", ASCENDING), ("position", ASCENDING)])

    async def hold(self, events: list[ThreadEvent]) -> None:
        """Keep each event once (a redelivery rewrites the same document; a refuted one stays refuted)."""
        if not events:
            return
        # One by one: the local MongoDB-wire stand-in refuses $setOnInsert inside a bulk upsert (rare events anyway).
        for e in events:
            await self.coll.update_one(
                {"_id": str(e.event_id)},
                {
                    "$set": {"order_id": e.order_id, "position": e.position, "event": dump(e).decode()},
                    "$setOnInsert": {"status": HELD},
                },
                upsert=True,
            )

    async def held(self, limit: int) -> list[ThreadEvent]:
        """Held (not refuted) events, oldest position first."""
        cursor = self.coll.find({"status": HELD}).sort("position", ASCENDING).limit(limit)
        return [parse_thread_event(doc["event"]) async for doc in cursor]

    async def release(self, event_ids: list[str]) -> None:
        """Forget events that are applied now."""
        if event_ids:
            await self.coll.delete_many({"_id": {"$in": event_ids}, "status": HELD})

    async def refute(self, event_ids: list[str]) -> None:
        """Set events aside for good."""
        if event_ids:
            await self.coll.update_many({"_id": {"$in": event_ids}}, {"$set": {"status": REFUTED}})

    async def count(self, status: str = HELD) -> int:
        """How many events are held (or refuted)."""
        return await self.coll.count_documents({"status": status})
