"""MongoDB adapter of the read models: version-guarded single-document writes, indexes, the pointer."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, PyMongoError

from ordertalk_contracts import MessagePostedV1, OrderRegisteredV1, ThreadEvent, parse_thread_event
from ordertalk_projections.domain.documents import (
    ORDER_DEFAULTS,
    message_document,
    order_from_thread,
    order_registration_fields,
    order_thread_fields,
    projection_from_document,
    thread_document,
)
from ordertalk_projections.domain.fields import ADMIN, CUSTOMER, news_field, unread_field, unseen_dispute_field
from ordertalk_projections.domain.generations import (
    FIRST_GENERATION,
    POINTER_COLLECTION,
    POINTER_ID,
    PROGRESS_COLLECTION,
    REBUILD_ID,
    REBUILDS_COLLECTION,
    Generation,
)
from ordertalk_projections.domain.projector import ThreadProjection
from ordertalk_runtime.held_events import MongoHeldEvents, parking_writes

Doc = dict[str, Any]
BULK = 5000
DUPLICATE_KEY = 11000
HELD_COLLECTION = "unvouched_events"
# MongoDB unreachable, slow or failing over: worth retrying without end (the consumer runtime does).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (PyMongoError, OSError)


class MongoReadModels:
    """The read models in one MongoDB database."""

    def __init__(self, client: AsyncMongoClient[Doc], db_name: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[db_name]
        self.held = MongoHeldEvents(self.db[HELD_COLLECTION])  # events no store vouched for (any generation)

    async def ping(self) -> bool:
        """Whether the server answers."""
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    # -- generations -------------------------------------------------------------------------
    async def active_generation(self) -> Generation:
        """The generation the API serves and the live workers write."""
        doc = await self.db[POINTER_COLLECTION].find_one({"_id": POINTER_ID})
        return Generation(int(doc["generation"]) if doc else FIRST_GENERATION)

    async def switch_generation(self, gen: Generation) -> None:
        """Point the API and the workers at ``gen`` (one single-document write)."""
        await self.db[POINTER_COLLECTION].update_one(
            {"_id": POINTER_ID}, {"$set": {"generation": gen.number}}, upsert=True
        )

    async def ensure_indexes(self, gen: Generation) -> None:
        """Create the indexes every query of the API and the workers uses."""
        threads = self.db[gen.threads]
        await threads.create_index([("activity_ts", DESCENDING)])  # no "_id" in indexes: the stand-in breaks on it
        await threads.create_index([("has_conversation", ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([("customer_id", ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([(unread_field(ADMIN), ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([("customer_id", ASCENDING), (unread_field(CUSTOMER), ASCENDING)])
        await threads.create_index([("has_open_dispute", ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([(news_field(ADMIN), ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([(unseen_dispute_field(ADMIN), ASCENDING), ("activity_ts", DESCENDING)])
        await threads.create_index([("customer_id", ASCENDING), (news_field(CUSTOMER), ASCENDING)])
        await threads.create_index([("keywords", ASCENDING)])
        await self.db[gen.messages].create_index([("order_id", ASCENDING), ("seq", ASCENDING)])
        orders = self.db[gen.orders]
        await orders.create_index([("placed_ts", DESCENDING)])
        await orders.create_index([("has_messages", ASCENDING), ("placed_ts", DESCENDING)])
        await orders.create_index([(unread_field(ADMIN), ASCENDING), ("placed_ts", DESCENDING)])
        await orders.create_index([("customer_id", ASCENDING), ("placed_ts", DESCENDING)])
        await self.db[gen.parked].create_index([("order_id", ASCENDING), ("version", ASCENDING)])
        await self.db[PROGRESS_COLLECTION].create_index([("generation", ASCENDING), ("position", DESCENDING)])
        await self.held.ensure_indexes()

    async def create_collections(self, gen: Generation) -> None:
        """Create the (empty) collections of a generation, so that the first writes do not pay for it."""
        existing = set(await self.db.list_collection_names())
        for name in (gen.threads, gen.messages, gen.orders, gen.parked):
            if name not in existing:
                await self.db.create_collection(name)

    async def drop_generation(self, gen: Generation) -> None:
        """Remove every collection of a generation."""
        for name in (gen.threads, gen.messages, gen.orders, gen.parked):
            await self.db.drop_collection(name)
        await self.db[PROGRESS_COLLECTION].delete_many({"generation": gen.number})

    # -- rebuilds ----------------------------------------------------------------------------
    async def running_rebuild(self) -> Doc | None:
        """The saved state of an unfinished rebuild, if any."""
        return await self.db[REBUILDS_COLLECTION].find_one({"_id": REBUILD_ID, "state": "running"})

    async def save_rebuild(self, state: Doc) -> None:
        """Replace the saved rebuild state."""
        await self.db[REBUILDS_COLLECTION].replace_one({"_id": REBUILD_ID}, state, upsert=True)

    async def update_rebuild(self, fields: Doc) -> None:
        """``$set`` fields of the saved rebuild state."""
        await self.db[REBUILDS_COLLECTION].update_one({"_id": REBUILD_ID}, {"$set": fields})

    async def copy_registered_orders(self, source: Generation, target: Generation) -> None:
        """Orders announced on the ORDERS topic are not in the event store: carry their registration over."""
        items: list[tuple[str, Doc]] = []
        async for doc in self.db[source.orders].find({"registered": True}):
            fields = {k: doc.get(k) for k in ("order_number", "customer", "customer_id", "placed_at", "placed_ts")}
            items.append((str(doc["_id"]), {**fields, "registered": True}))
            if len(items) >= 1000:
                await upsert_with_defaults(self.db[target.orders], items, ORDER_DEFAULTS)
                items = []
        await upsert_with_defaults(self.db[target.orders], items, ORDER_DEFAULTS)

    # -- progress ----------------------------------------------------------------------------
    async def record_progress(self, gen: Generation, writer: str, position: int) -> None:
        """Raise the writer's applied position (never lowers it)."""
        await self.db[PROGRESS_COLLECTION].update_one(
            {"_id": gen.progress_id(writer)},
            {"$max": {"position": position}, "$set": {"generation": gen.number, "writer": writer}},
            upsert=True,
        )

    async def active_generation_and_position(self) -> tuple[Generation, int]:
        """The active generation and the highest position applied to it, read in one round trip."""
        pointer, progress = await asyncio.gather(
            self.db[POINTER_COLLECTION].find_one({"_id": POINTER_ID}),
            self.db[PROGRESS_COLLECTION].find({}, {"generation": 1, "position": 1}).to_list(None),
        )
        gen = Generation(int(pointer["generation"]) if pointer else FIRST_GENERATION)
        positions = [int(d.get("position", 0)) for d in progress if d.get("generation") == gen.number]
        return gen, max(positions, default=0)

    async def applied_position(self, gen: Generation) -> int:
        """The highest global position any writer has applied to ``gen``."""
        cursor = self.db[PROGRESS_COLLECTION].find({"generation": gen.number}).sort("position", DESCENDING).limit(1)
        docs = await cursor.to_list(1)
        return int(docs[0].get("position", 0)) if docs else 0

    # -- threads -----------------------------------------------------------------------------
    async def load_threads(self, gen: Generation, order_ids: Iterable[str]) -> dict[str, ThreadProjection]:
        """The stored projections of these threads."""
        ids = list(order_ids)
        found: dict[str, ThreadProjection] = {}
        fields = {"keywords": 1, "state": 1, "started_at": 1, "latest_by_party": 1}
        async for doc in self.db[gen.threads].find({"_id": {"$in": ids}}, fields):
            found[str(doc["_id"])] = projection_from_document(doc)
        return found

    async def put_threads(self, gen: Generation, writes: list[tuple[ThreadProjection, int]]) -> set[str]:
        """Store each thread whose stored version is still the expected one; answer the ids left behind.

        The fold is deterministic, so a thread stored at the target version by anyone holds the same
        document: checking the versions after the writes tells which ones must be folded again.
        """
        if not writes:
            return set()
        coll = self.db[gen.threads]
        inserts = [{"_id": p.state.order_id, **thread_document(p)} for p, expected in writes if expected == 0]
        updates = [
            ReplaceOne({"_id": p.state.order_id, "version": expected}, thread_document(p))
            for p, expected in writes
            if expected != 0
        ]
        clean = True
        if inserts:
            clean = await insert_new(coll, inserts) == len(inserts)
        if updates:
            result = await coll.bulk_write(updates, ordered=False)
            clean = clean and result.matched_count == len(updates)
        if clean:
            return set()  # every guard matched: no read-back needed
        target = {p.state.order_id: p.state.version for p, _ in writes}
        stored: dict[str, int] = {}
        async for doc in coll.find({"_id": {"$in": list(target)}}, {"version": 1}):
            stored[str(doc["_id"])] = int(doc.get("version", 0))
        return {oid for oid, version in target.items() if stored.get(oid, 0) < version}

    async def insert_threads(self, gen: Generation, projections: list[ThreadProjection]) -> None:
        """Insert whole thread documents into a fresh generation (a rebuild); existing ids are kept."""
        docs = [{"_id": p.state.order_id, **thread_document(p)} for p in projections]
        for i in range(0, len(docs), BULK):
            await insert_new(self.db[gen.threads], docs[i : i + BULK])

    # -- parked events -----------------------------------------------------------------------
    async def load_parked(self, gen: Generation, order_ids: Iterable[str]) -> list[ThreadEvent]:
        """Events parked for these threads, in version order."""
        cursor = self.db[gen.parked].find({"order_id": {"$in": list(order_ids)}}).sort("version", ASCENDING)
        return [parse_thread_event(doc["event"]) async for doc in cursor]

    async def park(self, gen: Generation, events: list[ThreadEvent]) -> None:
        """Keep events that wait for a missing version (idempotent)."""
        if not events:
            return
        ops = parking_writes(events)
        await self.db[gen.parked].bulk_write(ops, ordered=False)

    async def unpark(self, gen: Generation, order_id: str, up_to_version: int) -> None:
        """Forget the parked events of a thread up to a version."""
        await self.db[gen.parked].delete_many({"order_id": order_id, "version": {"$lte": up_to_version}})

    async def set_aside_parked(self, gen: Generation, order_ids: list[str]) -> list[ThreadEvent]:
        """Move these threads' parked events to the refuted held events (not the store's); answer them."""
        events = await self.load_parked(gen, order_ids)
        await self.held.hold(events)
        await self.held.refute([str(e.event_id) for e in events])
        await self.db[gen.parked].delete_many({"order_id": {"$in": order_ids}})
        return events

    async def parked_threads(self, gen: Generation) -> list[tuple[str, int]]:
        """(order id, earliest parked position) of every thread that waits for missing events."""
        earliest: dict[str, int] = {}
        async for doc in self.db[gen.parked].find({}, {"order_id": 1, "position": 1}):
            oid, pos = str(doc["order_id"]), int(doc["position"])
            earliest[oid] = min(pos, earliest.get(oid, pos))
        return sorted(earliest.items(), key=lambda item: item[1])

    # -- messages and orders -----------------------------------------------------------------
    async def put_messages(self, gen: Generation, events: list[MessagePostedV1]) -> None:
        """Store posted messages keyed by message id (a redelivery rewrites the same document)."""
        if not events:
            return
        # A message document is a pure function of its event: inserting and ignoring duplicate ids
        # (a redelivery) is the same as an upsert, and one round trip on both servers.
        docs = [{"_id": str(e.message_id), **message_document(e)} for e in events]
        for i in range(0, len(docs), BULK):
            await insert_new(self.db[gen.messages], docs[i : i + BULK])

    async def put_order_threads(
        self, gen: Generation, projections: list[ThreadProjection], existing: Collection[str] = ()
    ) -> None:
        """Update orders' thread fields unless a newer thread version is stored already.

        ``existing`` (ids whose orders document exists: their thread was stored, after its order) need no
        existence check; the others are inserted when missing.
        """
        if not projections:
            return
        coll = self.db[gen.orders]
        ops = [
            UpdateOne(
                {"_id": p.state.order_id, "thread_version": {"$lt": p.state.version}},
                {"$set": order_thread_fields(p)},
            )
            for p in projections
        ]
        await coll.bulk_write(ops, ordered=False)
        ids = {p.state.order_id for p in projections} - set(existing)
        if not ids:
            return
        found = {str(d["_id"]) async for d in coll.find({"_id": {"$in": sorted(ids)}}, {"_id": 1})}
        missing = [p for p in projections if p.state.order_id in ids and p.state.order_id not in found]
        if not missing:
            return
        try:
            await coll.insert_many([{"_id": p.state.order_id, **order_from_thread(p)} for p in missing], ordered=False)
        except BulkWriteError:
            # An OrderRegistered created some of them meanwhile: apply the guarded update to those.
            late = {p.state.order_id for p in missing}
            retry = [op for op, p in zip(ops, projections, strict=True) if p.state.order_id in late]
            await coll.bulk_write(retry, ordered=False)

    async def register_orders(self, gen: Generation, events: list[OrderRegisteredV1]) -> None:
        """Store announced orders; thread fields start empty and are never reset."""
        await upsert_with_defaults(
            self.db[gen.orders], [(e.order_id, order_registration_fields(e)) for e in events], ORDER_DEFAULTS
        )


async def insert_new(coll: AsyncCollection[Doc], docs: list[Doc]) -> int:
    """Insert documents, skipping ids that exist already; answers how many were inserted.

    Any error other than a duplicate id is raised (the caller retries; offsets stay uncommitted).
    """
    if not docs:
        return 0
    try:
        result = await coll.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return int(exc.details.get("nInserted", len(docs) - len(errors)))
    return len(result.inserted_ids)


async def upsert_with_defaults(coll: AsyncCollection[Doc], items: list[tuple[str, Doc]], defaults: Doc) -> None:
    """``$set`` fields on documents by id, creating missing ones with ``defaults`` too.

    Done as a guarded bulk update plus an insert of the missing ids: the stand-in server rejects
    ``$setOnInsert`` inside a bulk upsert, and this form is as cheap on real MongoDB.
    """
    if not items:
        return
    ops = [UpdateOne({"_id": oid}, {"$set": fields}) for oid, fields in items]
    await coll.bulk_write(ops, ordered=False)
    ids = [oid for oid, _ in items]
    existing = {str(d["_id"]) async for d in coll.find({"_id": {"$in": ids}}, {"_id": 1})}
    missing = {oid: {**defaults, **fields} for oid, fields in items if oid not in existing}
    if not missing:
        return
    try:
        await coll.insert_many([{"_id": oid, **doc} for oid, doc in missing.items()], ordered=False)
    except BulkWriteError:
        # Someone created some of them meanwhile: set the fields on those.
        await coll.bulk_write([op for op, (oid, _) in zip(ops, items, strict=True) if oid in missing], ordered=False)
