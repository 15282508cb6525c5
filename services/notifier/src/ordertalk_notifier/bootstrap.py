"""Wiring: builds the notifier (Mongo stores, SMTP mailer, consumer, sender, hub, API) from one Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from ordertalk_contracts.topics import DEAD_LETTERS, THREAD_EVENTS
from ordertalk_notifier.adapters.kafka import thread_event_consumer
from ordertalk_notifier.adapters.mongo import Doc, MongoOutbox, MongoThreadStore, connect, ensure_indexes
from ordertalk_notifier.adapters.smtp import SmtpMailer
from ordertalk_notifier.api import create_app
from ordertalk_notifier.delivery import Backoff, OutboxSender
from ordertalk_notifier.handling import EntryRenderer, EventHandler
from ordertalk_notifier.healing import Healing
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rendering import Sender
from ordertalk_notifier.settings import Settings, SmtpSettings
from ordertalk_runtime.auth import AuthSettings, TokenCodec
from ordertalk_runtime.gc_tuning import freeze_startup_objects
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics
from ordertalk_runtime.retry import supervise
from ordertalk_runtime.topics import TopicCheck

log = logging.getLogger(__name__)
STOP_SECONDS = 10.0  # how long stopping waits for the consumer's last writes and commits


@dataclass
class Notifier:
    """Every part of a running notifier, built (not connected) from settings."""

    settings: Settings
    kafka: KafkaSettings
    smtp: SmtpSettings
    auth: AuthSettings
    client: AsyncMongoClient[Doc] = field(init=False)
    hub: BroadcastHub = field(default_factory=BroadcastHub)

    def __post_init__(self) -> None:
        s = self.settings
        self.client = connect(s.mongo_url)
        self.db = self.client[s.mongo_db]
        self.threads = MongoThreadStore(self.db)
        self.outbox = MongoOutbox(self.db)
        self.mailer = SmtpMailer(self.smtp)
        self.sender = OutboxSender(
            self.outbox,
            self.mailer,
            EntryRenderer(Sender(s.mail_from, s.mail_from_name)),
            Backoff(s.notifier_retry_initial_seconds, s.notifier_retry_max_seconds),
            workers=self.smtp.connections,
            poll_seconds=s.notifier_poll_seconds,
            lease_seconds=s.notifier_lease_seconds,
            max_unmarked=s.notifier_max_unmarked,
            probe_seconds=s.notifier_probe_seconds,
        )
        self.handler = EventHandler(
            self.threads,
            self.outbox,
            self.hub,
            Links(s.store_notification_email, s.admin_base_url, s.storefront_base_url),
            Sender(s.mail_from, s.mail_from_name),
            on_new_emails=self.sender.offer,
        )
        self.consumer = thread_event_consumer(
            self.kafka,
            s.notifier_consumer_group,
            self.handler,
            s.notifier_fetch_max_wait_ms,
            stall_seconds=s.notifier_stall_seconds,
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()
        self.topic_check = TopicCheck.for_topics(self.kafka, [THREAD_EVENTS, DEAD_LETTERS])
        self.healing = Healing.attach(self.handler, self.db, self.auth)  # voucher and gap healing (MESSAGING_URL)

    async def ready(self) -> dict[str, bool]:
        """Readiness checks: MongoDB answers, the consumer and the senders run."""
        try:
            await self.client.admin.command("ping")
            mongo = True
        except PyMongoError:
            mongo = False
        running = bool(self.tasks) and not any(t.done() for t in self.tasks)
        return {"mongo": mongo, "consumer": self.consumer.started.is_set() and running}

    def not_ready(self) -> list[str]:
        """Why the notifier is not ready beyond the checks: its topics, its consumer (not consuming, or stalled)."""
        return [*self.topic_check.not_ready(), *self.consumer.problems()]

    async def start(self) -> None:
        """Prepare indexes and topics, then run the consumer and the senders in the background."""
        await ensure_indexes(self.db)
        await ensure_topics(self.kafka, [THREAD_EVENTS, DEAD_LETTERS])
        self.stopping.clear()
        self.tasks = [
            asyncio.create_task(self.consumer.run(self.stopping)),
            asyncio.create_task(supervise(self.sender.run, self.stopping, "e-mail senders")),
            asyncio.create_task(self.topic_check.run(self.stopping, self.kafka.topic_check_seconds)),
        ]
        self.tasks += await self.healing.start(self.stopping)

    async def stop(self) -> None:
        """Stop the background work (the consumer writes and commits what it handled) and close connections."""
        self.stopping.set()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STOP_SECONDS)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.healing.close()
        await self.mailer.close()
        await self.client.close()

    def app(self) -> FastAPI:
        """The HTTP API, running the background work for the app's lifetime."""

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            freeze_startup_objects()
            try:
                yield
            finally:
                await self.stop()

        return create_app(
            TokenCodec(self.auth),
            self.hub,
            self.handler.counts,
            self.outbox,
            self.ready,
            self.settings.cors_origin_list,
            lifespan,
            not_ready=self.not_ready,
        )


def build() -> Notifier:
    """A notifier configured from the environment."""
    return Notifier(Settings(), KafkaSettings(), SmtpSettings(), AuthSettings())
