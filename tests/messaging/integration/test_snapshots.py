"""Snapshots of long threads on SQLite and PostgreSQL: taken in the events' commit, loaded cold, never relayed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateProtocol
from eventsourcing.persistence import StoredEvent
from tests.messaging.conftest import postgres_settings
from tests.support.postgres import PostgresParams

from ordertalk_contracts import parse_thread_event
from ordertalk_messaging.adapters.publishing import RecordingPublisher
from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.ports import IN_TRANSACTION
from ordertalk_messaging.application.services import NewOrder, ThreadService
from ordertalk_messaging.application.store import MessagingStore
from ordertalk_messaging.bootstrap import build, open_store, tables_for
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.thread import OrderThread, thread_id_for
from ordertalk_messaging.settings import Settings

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))
JANE = Caller(Participant("customer", "customer-1", "Jane Doe"), customer_id="customer-1")
INTERVAL = 10


@pytest.fixture(params=["sqlite", "postgres"])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of an empty store (snapshots every INTERVAL events)."""
    if request.param == "sqlite":
        return Settings(
            EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite", SNAPSHOT_INTERVAL=INTERVAL
        )
    pg: PostgresParams = request.getfixturevalue("postgres_db")
    return postgres_settings(pg).model_copy(update={"snapshot_interval": INTERVAL})


@pytest.fixture
def opened() -> Iterator[list[tuple[ThreadService | None, MessagingStore]]]:
    """Stores (and services) a test opens, closed afterwards."""
    items: list[tuple[ThreadService | None, MessagingStore]] = []
    yield items
    for service, store in items:
        if service is not None:
            service.close()
        store.close()


def with_interval(settings: Settings, interval: int) -> Settings:
    """``settings`` with another snapshot interval."""
    return settings.model_copy(update={"snapshot_interval": interval})


def cold(settings: Settings, opened: list[tuple[ThreadService | None, MessagingStore]]) -> MessagingStore:
    """A new application on the store, without an aggregate cache."""
    store = open_store(settings.model_copy(update={"aggregate_cache_maxsize": 0}))
    opened.append((None, store))
    return store


def service_on(settings: Settings, opened: list[tuple[ThreadService | None, MessagingStore]]) -> ThreadService:
    """A service on the store of ``settings``."""
    store = open_store(settings)
    service = ThreadService(store, tables_for(store, settings))
    opened.append((service, store))
    return service


def converse(service: ThreadService, order_id: str, messages: int) -> list[UUID]:
    """Register ``order_id`` (if new) and post ``messages`` messages from both sides, with reads and a dispute."""
    service.register_order(NewOrder(order_id, f"#{order_id:0>5}", "customer-1", "Jane Doe", "j@example.com"), None)
    ids = []
    for i in range(messages):
        caller = JANE if i % 3 else ADMIN
        ids.append(uuid4())
        service.post_message(order_id, caller, ids[-1], f"message {i}", None)
        if i % 7 == 6:
            service.mark_read(order_id, ADMIN, None)
        if i == 12:
            service.open_dispute(order_id, JANE, "where is my parcel", None)
    return ids


def thread_of(store: MessagingStore, thread_id: UUID) -> OrderThread:
    """The thread, as the store's repository loads it."""
    thread: object = store.repository.get(thread_id)
    assert isinstance(thread, OrderThread)
    return thread


def snapshot_rows(store: MessagingStore, thread_id: UUID) -> list[int]:
    """The versions of the thread's snapshots in the snapshots table."""
    assert store.snapshots is not None
    return [s.originator_version for s in store.snapshots.recorder.select_events(thread_id)]


def counting_reads(store: MessagingStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many stored events each read of the events table answers, from now on."""
    reads: list[int] = []
    select = store.recorder.select_events

    def counted(*args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        rows = select(*args, **kwargs)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(store.recorder, "select_events", counted)
    return reads


def test_a_long_thread_loads_from_its_latest_snapshot_and_equals_the_thread_replayed_from_every_event(
    base: Settings, opened: list[tuple[ThreadService | None, MessagingStore]], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_on(base, opened)
    ids = converse(service, "41", 35)
    thread_id = thread_id_for("41")
    version = thread_of(service.store, thread_id).version
    assert version > 3 * INTERVAL
    rows = snapshot_rows(service.store, thread_id)
    assert len(rows) == 1 and version - INTERVAL < rows[0] <= version  # the latest only: older ones are dropped

    loading = cold(base, opened)
    reads = counting_reads(loading, monkeypatch)
    loaded = thread_of(loading, thread_id)
    assert loaded.version == version and loaded.snapshot_version == rows[0]
    assert reads == [version - rows[0]]  # only the events after the snapshot were read

    replayed = thread_of(cold(with_interval(base, 0), opened), thread_id)
    assert replayed.snapshot_version == 0  # no snapshot store: every event
    assert loaded.snapshot_state() == replayed.snapshot_state()
    assert loaded.message_count == 35 and loaded.open_dispute is not None

    # The rules hold on a thread loaded from a snapshot: a repeated id from before the snapshot answers the
    # first post, and marking unread finds the other side's latest message.
    again = service_on(base, opened)
    first = again.post_message("41", JANE, ids[1], "posted again", None)
    assert (first.value.seq, first.value.duplicate) == (2, True)
    assert first.thread_version == version  # nothing new was stored
    unread = again.mark_unread("41", ADMIN, None)
    assert unread.value == 34  # message 35 is Jane's (i=34: 34 % 3 != 0), so admin's position goes to 34


def test_snapshots_stay_in_their_table_and_the_relay_publishes_only_events(
    base: Settings, opened: list[tuple[ThreadService | None, MessagingStore]]
) -> None:
    publisher = RecordingPublisher()
    components = build(base, publisher)
    opened.append((components.service, components.store))
    converse(components.service, "42", 30)
    store = components.store
    assert snapshot_rows(store, thread_id_for("42"))  # snapshots were taken
    notifications = list(store.recorder.select_notifications(0, 1000))
    stored = list(store.events.get(thread_id_for("42")))
    assert len(notifications) == len(stored) and not any("Snapshot" in n.topic for n in notifications)

    async def publish_all() -> None:
        while await components.relay.step():
            pass

    asyncio.run(publish_all())
    published = [parse_thread_event(record.value) for record in publisher.sent]
    assert [e.thread_version for e in published] == [e.originator_version for e in stored]  # every event, once
    assert {e.event_type for e in published} <= {"ThreadStarted", "MessagePosted", "ThreadRead", "DisputeOpened"}


def test_a_store_written_without_snapshots_keeps_loading_once_they_are_turned_on_and_off_again(
    base: Settings, opened: list[tuple[ThreadService | None, MessagingStore]], monkeypatch: pytest.MonkeyPatch
) -> None:
    off = with_interval(base, 0)
    ids = converse(service_on(off, opened), "43", 25)
    thread_id = thread_id_for("43")
    version = thread_of(service_on(off, opened).store, thread_id).version

    on = service_on(base, opened)
    assert snapshot_rows(on.store, thread_id) == []  # the table exists, empty
    loaded = thread_of(on.store, thread_id)
    assert loaded.snapshot_version == 0 and loaded.version == version
    posted = on.post_message("43", ADMIN, uuid4(), "the first post with snapshots on", None)
    assert snapshot_rows(on.store, thread_id) == [version + 1]  # far past the interval: snapshotted at once
    assert on.post_message("43", JANE, ids[0], "again", None).value.duplicate  # ids from before are known

    loading = cold(base, opened)
    reads = counting_reads(loading, monkeypatch)
    from_snapshot = thread_of(loading, thread_id)
    assert reads == [0] and from_snapshot.version == posted.thread_version

    off_again = thread_of(cold(off, opened), thread_id)  # snapshots off: the table is ignored
    assert off_again.snapshot_state() == from_snapshot.snapshot_state()


def test_a_snapshot_is_rolled_back_with_the_events_it_was_saved_with(
    base: Settings, opened: list[tuple[ThreadService | None, MessagingStore]]
) -> None:
    service = service_on(base, opened)
    converse(service, "44", INTERVAL - 3)
    thread_id = thread_id_for("44")
    thread = thread_of(service.store, thread_id)
    assert snapshot_rows(service.store, thread_id) == []
    before = thread.version
    for i in range(INTERVAL):
        thread.post_message(uuid4(), f"unsaved {i}", JANE.participant, None)

    def fail(cursor: Any, ids: Sequence[int]) -> None:
        raise RuntimeError("the idempotency answers could not be written")

    with pytest.raises(RuntimeError):
        service.store.save(thread, **{IN_TRANSACTION: fail})
    assert snapshot_rows(service.store, thread_id) == [] and thread.snapshot_version == 0
    assert thread_of(cold(base, opened), thread_id).version == before


def test_threads_load_without_runtime_protocol_checks(
    base: Settings, opened: list[tuple[ThreadService | None, MessagingStore]], monkeypatch: pytest.MonkeyPatch
) -> None:
    converse(service_on(base, opened), "45", 2 * INTERVAL + 5)
    loading = cold(base, opened)

    def instance_check(cls: type, obj: object) -> bool:  # the library's projector asserts one per event
        raise AssertionError(f"isinstance({type(obj).__name__}, {cls.__name__}) walks the protocol's attributes")

    monkeypatch.setattr(type(CanMutateProtocol), "__instancecheck__", instance_check)
    thread = thread_of(loading, thread_id_for("45"))
    monkeypatch.undo()
    assert thread.message_count == 2 * INTERVAL + 5 and thread.snapshot_version > 0
