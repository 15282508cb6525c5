"""The store and its side tables on SQLite and PostgreSQL: writes, history, idempotency keys, conflicts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from tests.support.postgres import PostgresParams

from ordertalk_messaging.application import Caller, NewOrder, ThreadService
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.errors import ThreadNotFound
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.idempotency import Answer, InFlight, PendingAnswer, run_once
from ordertalk_messaging.settings import Settings
from ordertalk_messaging.storage.ports import Mismatch, Replay
from ordertalk_messaging.storage.sql import SqlTables
from ordertalk_messaging.translation import notification_to_contract

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))
JANE = Caller(Participant("customer", "customer-1", "Jane Doe"), customer_id="customer-1")
BOB = Caller(Participant("customer", "customer-2", "Bob"), customer_id="customer-2")


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    pg: PostgresParams = request.getfixturevalue("postgres_db")
    return Settings(
        EVENT_STORE="postgres",
        POSTGRES_HOST=pg.host,
        POSTGRES_PORT=pg.port,
        POSTGRES_USER=pg.user,
        POSTGRES_PASSWORD=pg.password,
        POSTGRES_DB=pg.dbname,
    )


def service_on(settings: Settings) -> ThreadService:
    store = open_store(settings)
    return ThreadService(store, tables_for(store, settings))


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadService]:
    svc = service_on(settings)
    yield svc
    svc.store.close()


def order(order_id: str = "11") -> NewOrder:
    return NewOrder(order_id, f"#{order_id:0>5}", "customer-1", "Jane Doe", "jane@example.com")


def test_writes_history_and_positions(service: ThreadService) -> None:
    assert service.register_order(order("11"), "c0") is True
    assert service.register_order(order("11"), "c0") is False
    service.register_order(order("12"), None)
    posted = service.post_message("11", JANE, uuid4(), "hello", "c1")
    assert (posted.thread_version, posted.position, posted.value.seq) == (2, 3, 1)
    opened = service.open_dispute("11", ADMIN, "late", None)
    assert (opened.thread_version, opened.position, opened.value) == (3, 4, 1)
    history = service.history("11", JANE)
    contracts = [notification_to_contract(service.store.mapper, n) for n in history]
    assert [(c.event_type, c.position, c.thread_version) for c in contracts] == [
        ("ThreadStarted", 1, 1),
        ("MessagePosted", 3, 2),
        ("DisputeOpened", 4, 3),
    ]
    with pytest.raises(ThreadNotFound):
        service.history("11", BOB)
    with pytest.raises(ThreadNotFound):
        service.post_message("13", ADMIN, uuid4(), "x", None)
    assert service.visible_order_ids(ADMIN) == ["11", "12"]
    assert [n.id for n in service.notifications(1, 10)] == [2, 3, 4]


def test_idempotency_keys_and_relay_positions(service: ThreadService) -> None:
    tables = service.thread_log
    assert isinstance(tables, SqlTables)
    assert tables.lookup("admin:a", "k1", "fp") is None
    assert tables.record("admin:a", "k1", "fp", 201, '{"ok": true}') is None
    assert tables.lookup("admin:a", "k1", "fp") == Replay(201, '{"ok": true}')
    assert isinstance(tables.lookup("admin:a", "k1", "other"), Mismatch)
    assert tables.record("admin:a", "k1", "fp", 201, '{"ok": false}') == Replay(201, '{"ok": true}')
    assert isinstance(tables.record("admin:a", "k1", "other", 201, "{}"), Mismatch)
    assert tables.lookup("customer:b", "k1", "fp") is None
    with tables._db.transaction(commit=True) as cur:  # a claim without an answer, left by an older version
        cur.execute(
            tables._d.sql(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, claim, created_at) VALUES (?,?,?,?,?)"
            ),
            ["admin:a", "k2", "old", "token", 0.0],
        )
    assert tables.lookup("admin:a", "k2", "fp") is None
    assert tables.record("admin:a", "k2", "fp", 200, "{}") is None
    assert tables.lookup("admin:a", "k2", "fp") == Replay(200, "{}")
    assert tables.get("relay") is None
    tables.put("relay", 5)
    tables.put("relay", 7)
    assert tables.get("relay") == 7


def test_racing_writers_in_two_processes_worth_of_stores_lose_nothing(
    settings: Settings, service: ThreadService
) -> None:
    """Two independent stores on one database: version conflicts are retried, every post lands."""
    service.register_order(order("21"), None)
    other = service_on(settings)
    errors: list[BaseException] = []

    def post(svc: ThreadService, who: str) -> None:
        try:
            for i in range(15):
                svc.post_message("21", ADMIN, uuid4(), f"{who}-{i}", None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=post, args=(svc, f"{n}")) for n, svc in enumerate([service, other] * 3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    other.store.close()
    assert errors == []
    history = service.history("21", ADMIN)
    assert len(history) == 1 + 6 * 15
    assert [n.originator_version for n in history] == list(range(1, 92))


def test_keyed_post_keeps_its_answer_in_the_events_commit(settings: Settings, service: ThreadService) -> None:
    """On SQLite the answer is stored in the events' own transaction; on PostgreSQL by run_once afterwards."""
    tables = service.thread_log
    assert isinstance(tables, SqlTables)
    service.register_order(order("31"), None)
    in_flight = InFlight()

    def post(pending: PendingAnswer, body: str = "hello") -> Answer:
        pending.render = lambda out: Answer(201, f'{{"position": {out.position}, "v": {out.thread_version}}}')
        out = service.post_message("31", ADMIN, uuid4(), body, None, pending)
        return pending.kept or Answer(201, f'{{"position": {out.position}, "v": {out.thread_version}}}')

    answer = run_once(tables, in_flight, "admin:a", "k1", "fp", post)
    assert answer == Answer(201, '{"position": 2, "v": 2}')
    assert tables.lookup("admin:a", "k1", "fp") == Replay(201, answer.body)
    assert run_once(tables, in_flight, "admin:a", "k1", "fp", post).replayed is True

    def broken(pending: PendingAnswer) -> Answer:
        def render(_: object) -> Answer:
            raise RuntimeError("cannot render")

        pending.render = render
        service.post_message("31", ADMIN, uuid4(), "lost", None, pending)
        return Answer(201, "{}")

    if settings.event_store == "sqlite":  # the failure inside the transaction rolls the events back too
        with pytest.raises(RuntimeError):
            run_once(tables, in_flight, "admin:a", "k2", "fp", broken)
        assert tables.lookup("admin:a", "k2", "fp") is None
        assert [n.originator_version for n in service.history("31", ADMIN)] == [1, 2]
        assert service.post_message("31", ADMIN, uuid4(), "after", None).thread_version == 3
