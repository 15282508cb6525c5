"""Wiring: builds the service's adapters and tasks from one Settings (nothing connects at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from ordertalk_contracts import IntegrationEvent
from ordertalk_contracts.topics import ALL_TOPICS, DEAD_LETTERS, THREAD_EVENTS
from ordertalk_projections.adapters.feed import EventFeed, HttpEventFeed
from ordertalk_projections.adapters.mongo_queries import MongoReadQueries
from ordertalk_projections.adapters.mongo_store import TRANSIENT_ERRORS, MongoReadModels
from ordertalk_projections.adapters.trust import voucher_for
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.application.healer import GapHealer
from ordertalk_projections.application.positions import PositionWatch
from ordertalk_projections.application.reading import ReadSide
from ordertalk_projections.entrypoints.api import create_app
from ordertalk_projections.entrypoints.worker import Progress, ProjectionWorker, projection_consumer
from ordertalk_projections.settings import Settings
from ordertalk_runtime.auth import Principal, TokenCodec
from ordertalk_runtime.consumer import Consumer
from ordertalk_runtime.event_feed import RenewingToken
from ordertalk_runtime.gc_tuning import freeze_startup_objects
from ordertalk_runtime.kafka import ensure_topics
from ordertalk_runtime.topics import TopicCheck

log = logging.getLogger(__name__)
FEED_PRINCIPAL = Principal(role="admin", subject="ordertalk-projections", display_name="Projections service")


@dataclass
class Resources:
    """Open connections of one process."""

    settings: Settings
    client: AsyncMongoClient[dict[str, Any]]
    store: MongoReadModels
    watch: PositionWatch
    http: httpx.AsyncClient
    feed: EventFeed | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    worker: ProjectionWorker | None = None
    consumer: Consumer[IntegrationEvent, Progress] | None = None
    topic_check: TopicCheck | None = None

    async def close(self) -> None:
        """Close every connection."""
        await self.http.aclose()
        await self.client.close()


def feed_for(settings: Settings, http: httpx.AsyncClient) -> EventFeed | None:
    """The messaging event feed, when MESSAGING_URL is configured."""
    if not settings.messaging_url:
        return None
    token = RenewingToken(TokenCodec(settings.auth), FEED_PRINCIPAL)  # a long-running reader: renewed
    return HttpEventFeed(http, settings.messaging_url, token)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    """Connect to MongoDB (lazily, as the driver does) and build the adapters."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        # A call that never answers must fail (and be retried, logged) rather than stall a worker silently.
        socketTimeoutMS=30_000,
        serverSelectionTimeoutMS=10_000,
    )
    http = httpx.AsyncClient(timeout=10.0)
    res = Resources(
        settings=settings,
        client=client,
        store=MongoReadModels(client, settings.mongo_db),
        watch=PositionWatch(),
        http=http,
        feed=feed_for(settings, http),
    )
    try:
        yield res
    finally:
        await res.close()


@asynccontextmanager
async def running_workers(res: Resources) -> AsyncIterator[ProjectionWorker]:
    """Start the projections' consumer (and the gap healer when a feed exists); stop them on exit."""
    settings = res.settings
    await ensure_topics(settings.kafka, list(ALL_TOPICS))
    gen = await res.store.active_generation()
    await res.store.ensure_indexes(gen)
    applier = BatchApplier(res.store, voucher=voucher_for(res.store, res.feed))
    stop = asyncio.Event()
    worker = ProjectionWorker(res.store, applier, res.watch, settings.projections_group, TRANSIENT_ERRORS)
    consumer = projection_consumer(settings, worker)
    tasks = [
        asyncio.create_task(consumer.run(stop), name="projection-consumer"),
        asyncio.create_task(worker.redrive_while_idle(stop), name="projection-redrive"),
    ]
    res.topic_check = check = TopicCheck.for_topics(settings.kafka, [THREAD_EVENTS, DEAD_LETTERS])
    tasks.append(asyncio.create_task(check.run(stop, settings.kafka.topic_check_seconds), name="topic-check"))
    if res.feed is not None:
        healer = GapHealer(res.store, applier, res.feed)
        tasks.append(asyncio.create_task(healer.run(stop, settings.projections_heal_after_seconds), name="gap-healer"))
    for task in tasks:
        task.add_done_callback(_report_crash)
    res.worker, res.consumer = worker, consumer
    try:
        yield worker
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        res.worker, res.consumer = None, None


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %r", task.get_name(), task.exception())


def build_app(settings: Settings, with_workers: bool) -> FastAPI:
    """The API; its lifespan opens the connections and, with ``with_workers``, runs the workers too."""
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with resources(settings) as res:
            holder["side"] = ReadSide(MongoReadQueries(res.store), res.watch, settings.projections_read_wait_seconds)
            holder["res"] = res
            if with_workers:
                async with running_workers(res):
                    freeze_startup_objects()
                    yield
            else:
                freeze_startup_objects()
                yield

    def read_side() -> ReadSide:
        side = holder.get("side")
        assert isinstance(side, ReadSide)
        return side

    def workers_ready() -> bool:
        res = holder.get("res")
        return not with_workers or bool(isinstance(res, Resources) and res.consumer and res.consumer.started.is_set())

    def not_ready() -> list[str]:
        """Why /readyz answers 503 beyond MongoDB: the topics, the consumer (not consuming, or stalled with lag)."""
        res = holder.get("res")
        if not isinstance(res, Resources):
            return []
        reasons = res.topic_check.not_ready() if res.topic_check is not None else []
        if with_workers:
            reasons += (
                res.consumer.problems() if res.consumer is not None else ["the projection workers are not running"]
            )
        return reasons

    return create_app(
        TokenCodec(settings.auth), settings.cors_origin_list, read_side, lifespan, workers_ready, not_ready
    )
