"""Fill a read-model generation at a real store's size: generated events, the real projector, bulk-loaded.

Each thread's events are generated in realistic proportions, folded by the projections service's own
projector (``domain.projector.project``) and turned into documents by its own document functions, then the
documents are bulk-loaded with ``insert_many`` into a fresh generation, indexed and made the active one.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.projections.scripts import ADMIN, Positions, ThreadScript

from ordertalk_contracts import Actor, MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.adapters.mongo_store import MongoReadModels
from ordertalk_projections.domain.documents import (
    ORDER_DEFAULTS,
    message_document,
    order_registration_fields,
    order_thread_fields,
    thread_document,
)
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import ThreadProjection, project

Doc = dict[str, Any]
CHUNK = 5000
# A small vocabulary: common words appear in most threads, each rare word in about 1 % of them.
COMMON = ["hello", "parcel", "order", "delivery", "thanks", "please", "refund", "size", "colour", "when", "box"]
RARE = [f"item{i:03d}" for i in range(100)]
SEARCH_WORD = "item007"  # one rare word: about 1 % of the threads mention it
CUSTOMERS_PER_THREAD = 0.3  # a customer has about three orders
DAY = 86_400


@dataclass
class FillDocs:
    """One chunk of documents for the three collections and the highest position they cover."""

    threads: list[Doc] = field(default_factory=list)
    messages: list[Doc] = field(default_factory=list)
    orders: list[Doc] = field(default_factory=list)
    events: int = 0
    position: int = 0


@dataclass
class FillReport:
    """What a fill loaded and how long each part took."""

    threads: int = 0
    messages: int = 0
    events: int = 0
    build_seconds: float = 0.0  # generating events and projecting them into documents
    load_seconds: float = 0.0  # insert_many
    index_seconds: float = 0.0
    position: int = 0
    customers: list[str] = field(default_factory=list)


def body(rng: random.Random) -> str:
    """A message text: a few common words and one rare one."""
    return " ".join([*rng.sample(COMMON, 3), rng.choice(RARE)])


def thread_events(
    rng: random.Random, positions: Positions, customer_id: str, per_thread: int
) -> tuple[OrderRegisteredV1, list[ThreadEvent]]:
    """One order placed, and its thread: started, about ``per_thread`` messages, reads, sometimes a dispute."""
    script = ThreadScript.new(positions, customer_id=customer_id)
    script.clock += timedelta(seconds=rng.randrange(365 * DAY))
    placed = OrderRegisteredV1(
        event_id=uuid.uuid4(),
        occurred_at=script.clock,
        order_id=script.order_id,
        order_number=script.order_number,
        customer=script.customer,
        placed_at=script.clock,
    )
    staff = ADMIN
    events: list[ThreadEvent] = [script.start(rng.choice([staff, script.customer_actor]))]
    count = max(1, int(rng.expovariate(1 / per_thread)) if per_thread > 1 else per_thread)
    dispute_at = rng.randrange(count) if rng.random() < 0.03 else -1
    for i in range(count):
        author: Actor = script.customer_actor if i % 2 == 0 or rng.random() < 0.3 else staff
        events.append(script.post(body(rng), author))
        if i == dispute_at:
            events.append(script.open_dispute(f"damaged {rng.choice(RARE)}"))
            if rng.random() < 0.33:  # a third of the disputes are closed again: ~2 % stay open
                events.append(script.close_dispute())
        script.clock += timedelta(seconds=rng.randrange(3600))
    if rng.random() < 0.7:  # the staff have read most threads; the rest are unread for the admin
        events.append(script.read("admin"))
    if rng.random() < 0.5:
        events.append(script.read("customer"))
    return placed, events


def documents(placed: OrderRegisteredV1, events: list[ThreadEvent]) -> tuple[Doc, list[Doc], Doc]:
    """The thread, message and order documents the real projector makes of one thread's events."""
    projection: ThreadProjection | None = None
    messages: list[Doc] = []
    for event in events:
        projection = project(projection, event)
        if isinstance(event, MessagePostedV1):
            messages.append({"_id": str(event.message_id), **message_document(event)})
    assert projection is not None
    oid = projection.state.order_id
    thread = {"_id": oid, **thread_document(projection)}
    order = {"_id": oid, **ORDER_DEFAULTS, **order_registration_fields(placed), **order_thread_fields(projection)}
    return thread, messages, order


def generate(threads: int, per_thread: int, seed: int = 17) -> Iterator[FillDocs]:
    """Chunks of documents for ``threads`` threads of about ``per_thread`` messages each."""
    rng = random.Random(seed)
    positions = Positions()
    customers = [f"cust-{i:06d}" for i in range(max(1, int(threads * CUSTOMERS_PER_THREAD)))]
    chunk = FillDocs()
    for _ in range(threads):
        placed, events = thread_events(rng, positions, rng.choice(customers), per_thread)
        thread, messages, order = documents(placed, events)
        chunk.threads.append(thread)
        chunk.messages += messages
        chunk.orders.append(order)
        chunk.events += len(events) + 1  # the thread's events and its OrderRegistered
        chunk.position = events[-1].position
        if len(chunk.threads) >= CHUNK:
            yield chunk
            chunk = FillDocs()
    if chunk.threads:
        yield chunk


async def fill(store: MongoReadModels, gen: Generation, threads: int, per_thread: int) -> FillReport:
    """Build and bulk-load a whole generation, index it, record its position and make it the active one."""
    report = FillReport()
    await store.drop_generation(gen)
    await store.create_collections(gen)
    chunks = generate(threads, per_thread)

    def build() -> FillDocs | None:
        t = time.perf_counter()
        chunk = next(chunks, None)
        report.build_seconds += time.perf_counter() - t
        return chunk

    # Pipelined: the next chunk is built (in a thread) while the previous one is inserted.
    pending = asyncio.create_task(asyncio.to_thread(build))
    while (chunk := await pending) is not None:
        pending = asyncio.create_task(asyncio.to_thread(build))
        t = time.perf_counter()
        for name, docs in ((gen.threads, chunk.threads), (gen.messages, chunk.messages), (gen.orders, chunk.orders)):
            for i in range(0, len(docs), CHUNK):
                await store.db[name].insert_many(docs[i : i + CHUNK], ordered=False)
        report.load_seconds += time.perf_counter() - t
        report.threads += len(chunk.threads)
        report.messages += len(chunk.messages)
        report.events += chunk.events
        report.position = chunk.position
        if not report.customers:
            report.customers = sorted({str(d["customer_id"]) for d in chunk.threads})[:50]
    t = time.perf_counter()
    await store.ensure_indexes(gen)
    report.index_seconds = time.perf_counter() - t
    await store.record_progress(gen, "fill", report.position)
    await store.switch_generation(gen)
    return report
