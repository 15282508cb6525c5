"""The one wiring module: builds the store, tables, service and relay from Settings (nothing at import)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from eventsourcing.persistence import Notification

from ordertalk_contracts import OrderRegisteredV1, ThreadEvent
from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_messaging.adapters.publishing import KafkaPublisher, Publisher
from ordertalk_messaging.adapters.relay import NotificationSource, Relay
from ordertalk_messaging.adapters.storage.sql import Dialect, SqlTables
from ordertalk_messaging.adapters.storage.sqlite_tuning import set_sqlite_synchronous
from ordertalk_messaging.adapters.store_wakeups import (
    PostgresInsertListener,
    SqliteSaveListener,
    SqliteSaveSignal,
    sqlite_wake_address,
)
from ordertalk_messaging.application.services import ThreadService
from ordertalk_messaging.application.store import MessagingStore
from ordertalk_messaging.application.translation import notification_to_contract
from ordertalk_messaging.entrypoints.orders_consumer import orders_consumer
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.auth import TokenCodec
from ordertalk_runtime.consumer import Consumer
from ordertalk_runtime.topics import TopicCheck


@dataclass
class Components:
    """Everything a process of the messaging service runs with."""

    settings: Settings
    store: MessagingStore
    tables: SqlTables
    service: ThreadService
    relay: Relay
    codec: TokenCodec
    save_signal: SqliteSaveSignal | None = None
    topic_check: TopicCheck | None = None

    _orders: Consumer[OrderRegisteredV1, int] | None = field(default=None, init=False, repr=False)

    def orders_consumer(self) -> Consumer[OrderRegisteredV1, int]:
        """The consumer that learns orders and starts their threads (one per process: readiness asks it)."""
        if self._orders is None:
            settings = self.settings
            self._orders = orders_consumer(settings.kafka, settings.orders_consumer_group, self.service.register_order)
        return self._orders

    def relay_jobs(self, stop: asyncio.Event) -> list[Awaitable[None]]:
        """The relay, and what wakes it when another process saves (API pods, or serve processes on SQLite)."""
        jobs: list[Awaitable[None]] = [self.relay.run(stop)]
        if self.settings.event_store == "postgres":
            channel: str = self.store.recorder.channel_name  # type: ignore[attr-defined]
            listener = PostgresInsertListener(self.settings.postgres_conninfo(), channel, self.relay.wake)
            jobs.append(listener.run(stop))
        else:
            address = sqlite_wake_address(self.settings.sqlite_path)
            jobs.append(SqliteSaveListener(address, self.relay.wake).run(stop))
        return jobs

    def close(self) -> None:
        """Answer the queued commands, then close the store's connections."""
        self.service.close()
        self.store.close()
        if self.save_signal is not None:
            self.save_signal.close()


def open_store(settings: Settings) -> MessagingStore:
    """The eventsourcing application on the configured database."""
    if settings.event_store == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        set_sqlite_synchronous(settings.sqlite_synchronous)
    return MessagingStore(env=settings.eventsourcing_env())


def tables_for(store: MessagingStore, settings: Settings) -> SqlTables:
    """The side tables in the event store's own database."""
    recorder: Any = store.recorder  # SQLite or PostgreSQL recorder: both have a datastore and a table name
    if settings.event_store == "postgres":
        dialect = Dialect(
            "%s",
            recorder.events_table_name,
            "notification_id",
            "DOUBLE PRECISION",
            uuid_as_hex=False,
            no_commit_wait="SET LOCAL synchronous_commit TO OFF",
        )
    else:
        dialect = Dialect("?", recorder.events_table_name, "rowid", "REAL", uuid_as_hex=True)
    tables = SqlTables(recorder.datastore, dialect)
    tables.create_tables()
    return tables


def translator(store: MessagingStore) -> partial[ThreadEvent]:
    """Stored notification -> contract event."""
    return partial(notification_to_contract, store.mapper)


def notification_source(store: MessagingStore) -> NotificationSource:
    """The store's notification log, read after a position."""

    def select(position: int, limit: int) -> list[Notification]:
        return list(store.recorder.select_notifications(position, limit, inclusive_of_start=False))

    return NotificationSource(select)


def build(settings: Settings, publisher: Publisher | None = None) -> Components:
    """Open the store and wire the service and relay."""
    store = open_store(settings)
    tables = tables_for(store, settings)
    relay = Relay(
        source=notification_source(store),
        translate=translator(store),
        publisher=publisher or KafkaPublisher(settings.kafka),
        positions=tables,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        record_seconds=settings.relay_record_seconds,
        linger_seconds=settings.relay_linger_seconds,
        republish_on_start=settings.relay_republish_on_start,
        check_seconds=settings.kafka.topic_check_seconds,
    )
    on_saved: Callable[[], None] = relay.wake
    save_signal = None
    if settings.event_store == "sqlite" and not settings.relay_enabled:  # the relay runs in another process
        on_saved = save_signal = SqliteSaveSignal(sqlite_wake_address(settings.sqlite_path))
    service = ThreadService(store, tables, on_saved=on_saved, max_queue=settings.writer_max_queue)
    topic_check = TopicCheck.for_topics(settings.kafka, ALL_TOPICS)
    return Components(settings, store, tables, service, relay, TokenCodec(settings.auth), save_signal, topic_check)
