"""The store and its side tables on SQLite and PostgreSQL: writes, history, idempotency keys, conflicts."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError
from tests.messaging.conftest import postgres_settings
from tests.messaging.threads import order_thread
from tests.support.postgres import PostgresParams

from ordertalk_messaging.adapters.storage.sql import SqlTables
from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.idempotency import Answer, InFlight, KeyedChange, KeyGuard, KeyReused
from ordertalk_messaging.application.ports import Mismatch, Replay
from ordertalk_messaging.application.services import NewOrder, ThreadService, closing_dispute, posting
from ordertalk_messaging.application.translation import notification_to_contract
from ordertalk_messaging.application.writer import Command, WriteOutcome
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.errors import DisputeConflict, DomainError, ThreadNotFound
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.thread import OrderThread, thread_id_for
from ordertalk_messaging.settings import Settings

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))
JANE = Caller(Participant("customer", "customer-1", "Jane Doe"), customer_id="customer-1")
BOB = Caller(Participant("customer", "customer-2", "Bob"), customer_id="customer-2")


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    pg: PostgresParams = request.getfixturevalue("postgres_db")
    return postgres_settings(pg)


def service_on(settings: Settings) -> ThreadService:
    store = open_store(settings)
    return ThreadService(store, tables_for(store, settings))


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadService]:
    svc = service_on(settings)
    yield svc
    svc.close()
    svc.store.close()


def unkept(error: DomainError) -> Answer:
    """A keyed change's refusal as an answer (these tests keep none)."""
    raise AssertionError(f"unexpected refusal: {error}")


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


def test_saving_threads_stores_their_events_and_caches_them_without_runtime_protocol_checks(
    service: ThreadService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = service.store
    first, second = order_thread("31"), order_thread("32")
    first.post_message(uuid4(), "hello", JANE.participant, None)

    def collect_events(*_: Any, **__: Any) -> None:  # the library's slow path (typing Protocol checks)
        raise AssertionError("threads are saved without ProcessingEvent.collect_events")

    monkeypatch.setattr(ProcessingEvent, "collect_events", collect_events)
    recordings = store.save(first, second)
    assert [(r.domain_event.originator_id, r.domain_event.originator_version) for r in recordings] == [
        (first.id, 1),
        (first.id, 2),
        (second.id, 1),
    ]
    assert [r.notification.id for r in recordings] == [1, 2, 3]
    assert first.pending_events == [] and second.pending_events == []
    assert store.repository.cache is not None and store.repository.cache.get(first.id) is first
    monkeypatch.undo()
    assert store.repository.get(first.id, version=2).message_count == 1  # read back from the store
    assert store.save(None, order_thread("33"))[0].notification.id == 4  # anything else: the library's way


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


def test_answers_of_a_batch_are_kept_in_one_statement(service: ThreadService) -> None:
    """Free keys are stored; a key holding an answer keeps it (replay or mismatch); an answerless claim is taken."""
    tables = service.thread_log
    assert isinstance(tables, SqlTables)
    tables.record("admin:a", "answered", "fp", 201, '{"first": true}')
    with tables._db.transaction(commit=True) as cur:  # a claim without an answer, left by an older version
        cur.execute(
            tables._d.sql(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, claim, created_at) VALUES (?,?,?,?,?)"
            ),
            ["admin:a", "claimed", "old", "token", 0.0],
        )
    answers = [
        ("admin:a", "free", "fp", 201, "{}"),
        ("admin:a", "answered", "fp", 201, '{"second": true}'),
        ("admin:a", "claimed", "fp", 200, '{"taken": true}'),
        ("customer:b", "answered", "fp", 201, "{}"),
        ("admin:a", "answered", "other", 201, "{}"),  # the same key twice: one row at a time
    ]
    with tables._db.transaction(commit=True) as cur:
        uses = tables.record_many_in(cur, answers)
    assert uses == [None, Replay(201, '{"first": true}'), None, None, Mismatch()]
    assert tables.lookup("admin:a", "free", "fp") == Replay(201, "{}")
    assert tables.lookup("admin:a", "claimed", "fp") == Replay(200, '{"taken": true}')
    assert tables.lookup("customer:b", "answered", "fp") == Replay(201, "{}")
    with tables._db.transaction(commit=True) as cur:
        assert tables.record_many_in(cur, answers[:4]) == [
            Replay(201, "{}"),
            Replay(201, '{"first": true}'),
            Replay(200, '{"taken": true}'),
            Replay(201, "{}"),
        ]


def test_racing_writers_in_two_processes_worth_of_stores_lose_nothing(
    settings: Settings, service: ThreadService
) -> None:
    """Two independent stores on one database: version conflicts are decided again, every post lands."""
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
    other.close()
    other.store.close()
    assert errors == []
    history = service.history("21", ADMIN)
    assert len(history) == 1 + 6 * 15
    assert [n.originator_version for n in history] == list(range(1, 92))


def test_keyed_post_keeps_its_answer_in_the_events_commit(settings: Settings, service: ThreadService) -> None:
    """The answer is stored in the events' own transaction, on SQLite and on PostgreSQL."""
    tables = service.thread_log
    assert isinstance(tables, SqlTables)
    service.register_order(order("31"), None)
    in_flight = InFlight()

    def render(out: WriteOutcome[object]) -> Answer:
        return Answer(201, f'{{"position": {out.position}, "v": {out.thread_version}}}')

    def keyed(key: str, body: str, answer_of: Callable[[WriteOutcome[object]], Answer]) -> KeyedChange[object]:
        guard = KeyGuard(tables, in_flight, "admin:a", key, "fp")
        return KeyedChange("31", ADMIN, posting(uuid4(), body, ADMIN, None), answer_of, guard, refusal=unkept)

    answer = service.writer.call(keyed("k1", "hello", render))
    assert answer == Answer(201, '{"position": 2, "v": 2}')
    assert tables.lookup("admin:a", "k1", "fp") == Replay(201, answer.body)
    assert service.writer.call(keyed("k1", "hello", render)).replayed is True
    assert [n.originator_version for n in service.history("31", ADMIN)] == [1, 2]

    def broken(_: object) -> Answer:
        raise RuntimeError("cannot render")

    with pytest.raises(RuntimeError):
        service.writer.call(keyed("k2", "lost", broken))
    assert tables.lookup("admin:a", "k2", "fp") is None
    assert [n.originator_version for n in service.history("31", ADMIN)] == [1, 2]  # rolled back with it
    assert service.post_message("31", ADMIN, uuid4(), "after", None).thread_version == 3
    assert in_flight.enter("admin:a", "k2")  # the key was given back


def test_changes_queued_together_share_a_commit_and_fail_alone(service: ThreadService) -> None:
    """A batch of changes is saved in one commit; a refused change, or one that breaks its commit, fails alone."""
    for n in ("41", "42"):
        service.register_order(order(n), None)
    commits: list[int] = []
    original = service.store.recorder.insert_events

    def counting(*args: Any, **kwargs: Any) -> Any:
        commits.append(1)
        return original(*args, **kwargs)

    service.store.recorder.insert_events = counting  # type: ignore[method-assign]
    posts = [Command("41" if i % 2 else "42", ADMIN, posting(uuid4(), f"m{i}", ADMIN, None)) for i in range(40)]
    refused = Command("42", ADMIN, closing_dispute(ADMIN, None))  # no dispute is open: 409, alone
    unknown = Command("49", ADMIN, posting(uuid4(), "x", ADMIN, None))
    changes: list[Command[Any]] = [*posts[:20], refused, unknown, *posts[20:]]
    futures = [service.writer.submit(c) for c in changes]
    outcomes = [f.result() for f in futures if f.exception() is None]
    assert isinstance(refused.future.exception(), DisputeConflict)
    assert isinstance(unknown.future.exception(), ThreadNotFound)
    assert len(outcomes) == 40 and len(commits) < 40  # group commit: fewer commits than posts
    for thread in ("41", "42"):  # each thread's posts are stored in the order they were queued
        positions = [o.position for o in outcomes if o.order_id == thread]
        assert positions == sorted(positions) and len(set(positions)) == 20
    assert [n.originator_version for n in service.history("41", ADMIN)] == list(range(1, 22))
    assert [n.originator_version for n in service.history("42", ADMIN)] == list(range(1, 22))

    class BreaksItsCommit(Command[Any]):
        def in_transaction(self, cursor: object, outcome: WriteOutcome[Any]) -> None:
            raise RuntimeError("cannot keep")

    bad: Command[Any] = BreaksItsCommit("41", ADMIN, posting(uuid4(), "bad", ADMIN, None))
    good: list[Command[Any]] = [Command("41", ADMIN, posting(uuid4(), f"g{i}", ADMIN, None)) for i in range(5)]
    futures = [service.writer.submit(c) for c in [*good[:2], bad, *good[2:]]]
    for f in futures:
        f.exception()
    assert isinstance(bad.future.exception(), RuntimeError)
    assert len(service.history("41", ADMIN)) == 21 + 5
    assert all(g.future.exception() is None for g in good)


def test_keys_of_a_batch_are_looked_up_together(service: ThreadService) -> None:
    """Keyed changes queued together are looked up in one query: a used key replays, a reused one is refused."""
    tables = service.thread_log
    assert isinstance(tables, SqlTables)
    service.register_order(order("51"), None)
    tables.record("admin:a", "used", "fp", 201, '{"first": true}')
    tables.record("admin:a", "other", "fp-x", 201, "{}")
    assert tables.lookup_many([("admin:a", "used", "fp"), ("admin:a", "other", "fp"), ("admin:a", "new", "fp")]) == [
        Replay(201, '{"first": true}'),
        Mismatch(),
        None,
    ]
    in_flight = InFlight()

    def keyed(key: str) -> KeyedChange[object]:
        guard = KeyGuard(tables, in_flight, "admin:a", key, "fp")
        return KeyedChange(
            "51",
            ADMIN,
            posting(uuid4(), key, ADMIN, None),
            lambda o: Answer(201, str(o.position)),
            guard,
            refusal=unkept,
        )

    single_lookups: list[str] = []
    lookup = tables.lookup

    def counted(scope: str, key: str, fingerprint: str) -> object:
        single_lookups.append(key)
        return lookup(scope, key, fingerprint)

    tables.lookup = counted  # type: ignore[method-assign,assignment]
    changes = [keyed("used"), keyed("other"), *(keyed(f"k{i}") for i in range(10))]
    futures = [service.writer.submit(c) for c in changes]
    assert futures[0].result() == Answer(201, '{"first": true}', replayed=True)
    rejected = futures[1].exception()
    assert isinstance(rejected, KeyReused)
    answers = [f.result() for f in futures[2:]]
    assert single_lookups == []  # every key was found by the batch's one query
    tables.lookup = lookup  # type: ignore[method-assign]
    assert [tables.lookup("admin:a", f"k{i}", "fp") for i in range(10)] == [Replay(201, a.body) for a in answers]
    assert len(service.history("51", ADMIN)) == 1 + 10
    assert all(in_flight.enter("admin:a", f"k{i}") for i in range(10))  # every key was given back


@pytest.mark.parametrize("pairs", [1, 2, 64])
def test_sqlite_looks_keys_up_by_index_not_by_scanning_every_key(tmp_path: Path, pairs: int) -> None:
    """The batch's key query searches the primary key: a scan would grow with every key ever stored."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    store = open_store(settings)
    try:
        tables = tables_for(store, settings)
        with tables._db.transaction(commit=False) as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {tables.answers_statement(pairs)}", ["scope", "key"] * pairs)
            plan = [str(tuple(row)[-1]) for row in cursor.fetchall()]
    finally:
        store.close()
    on_keys = [step for step in plan if " k " in f" {step} " or "idempotency_keys" in step]
    assert on_keys and all(step.startswith("SEARCH k USING") for step in on_keys), plan


def test_sqlite_reads_a_threads_version_without_reading_its_events(tmp_path: Path) -> None:
    """The catch-up query's work does not grow with the thread: a long thread costs what a short one does."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    service = service_on(settings)
    try:
        for order_id, posts in (("short", 2), ("long", 2000)):
            service.register_order(order(order_id), None)
            for i in range(posts):
                service.post_message(order_id, ADMIN, uuid4(), f"m{i}", None)
        tables = service.thread_log
        assert isinstance(tables, SqlTables)
        assert tables.versions_of([thread_id_for("short"), thread_id_for("long")]) == {
            thread_id_for("short"): 3,
            thread_id_for("long"): 2001,
        }
        connection = sqlite3.connect(tmp_path / "es.sqlite")
        steps = 0

        def step() -> int:
            nonlocal steps
            steps += 1
            return 0

        connection.set_progress_handler(step, 1)  # one call per SQLite VM instruction
        work = {}
        for order_id in ("short", "long"):
            steps = 0
            connection.execute(tables.versions_statement(1), [thread_id_for(order_id).hex]).fetchall()
            work[order_id] = steps
        connection.close()
    finally:
        service.close()
        service.store.close()
    assert work["long"] < 2 * work["short"], work  # reading the events would be ~1000 times more


@pytest.mark.parametrize(("configured", "expected"), [(None, 2), ("NORMAL", 1)])
def test_sqlite_store_commits_reach_the_disk_unless_told_otherwise(
    tmp_path: Path, configured: str | None, expected: int
) -> None:
    """By default every commit is fsynced (synchronous=FULL), so nothing the relay published can vanish."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    if configured is not None:
        settings = settings.model_copy(update={"sqlite_synchronous": configured})
    store = open_store(settings)
    try:
        with tables_for(store, settings)._db.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            assert next(iter(cursor.fetchone())) == expected
    finally:
        store.close()


def test_once_another_store_writes_stale_threads_are_caught_up(settings: Settings, service: ThreadService) -> None:
    """The first version conflict shows another writer: from then on stale cached threads are caught up first."""
    service.register_order(order("61"), None)
    other = service_on(settings)
    try:
        service.post_message("61", ADMIN, uuid4(), "cached here", None)
        assert service.thread_log.versions_of([thread_id_for("61"), thread_id_for("nobody")]) == {
            thread_id_for("61"): 2
        }
        conflicts: list[int] = []
        version_queries: list[int] = []
        save, versions_of = service.store.save, service.thread_log.versions_of

        def counted_save(*threads: Any, **kwargs: Any) -> Any:
            try:
                return save(*threads, **kwargs)
            except IntegrityError:
                conflicts.append(1)
                raise

        def counted_versions(thread_ids: Any) -> dict[Any, int]:
            version_queries.append(len(thread_ids))
            return versions_of(thread_ids)

        service.store.save = counted_save  # type: ignore[method-assign]
        service.writer.stored_versions = counted_versions
        service.post_message("61", ADMIN, uuid4(), "alone so far: no version query", None)
        assert version_queries == [] and conflicts == []
        for round_ in range(3):
            other.post_message("61", ADMIN, uuid4(), f"from the other process {round_}", None)
            other.post_message("61", ADMIN, uuid4(), f"and again {round_}", None)
            service.post_message("61", ADMIN, uuid4(), f"here again {round_}", None)
        assert conflicts == [1]  # only the first stale write met a conflict; then each was caught up
        history = service.history("61", ADMIN)
        assert [n.originator_version for n in history] == list(range(1, 13))
    finally:
        other.close()
        other.store.close()


def test_a_retry_on_sqlite_keeps_other_processes_out_from_its_catch_up_to_its_commit(tmp_path: Path) -> None:
    """An exclusive attempt holds the writers' lock while it decides: another store's save waits, no conflict."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    first, second = service_on(settings), service_on(settings)
    try:
        first.register_order(order("81"), None)
        second.post_message("81", ADMIN, uuid4(), "cached in the second store", None)
        held_up: list[Future[WriteOutcome[Any]]] = []

        def decide(thread: OrderThread) -> Any:
            held_up.append(second.writer.submit(Command("81", ADMIN, posting(uuid4(), "second", ADMIN, None))))
            with pytest.raises(FutureTimeout):
                held_up[0].result(timeout=0.5)  # the second store cannot commit while this one decides
            return posting(uuid4(), "first", ADMIN, None)(thread)

        change: Command[Any] = Command("81", ADMIN, decide)
        assert first.writer._attempt([change], exclusive=True) == []  # committed on this attempt
        assert change.future.result(timeout=10).thread_version == 3
        assert held_up[0].result(timeout=10).thread_version == 4
    finally:
        for svc in (first, second):
            svc.close()
            svc.store.close()


def test_sqlite_saves_wait_for_the_writers_lock_of_the_file(tmp_path: Path) -> None:
    """Another process holding the file's writers' lock holds up a save until it lets go (no polling)."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    svc = service_on(settings)
    try:
        svc.register_order(order("71"), None)
        lock_path = tmp_path / "es.sqlite-writers"
        assert lock_path.exists()
        with lock_path.open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # as a second process in the middle of its commit
            pending = svc.writer.submit(Command("71", ADMIN, posting(uuid4(), "waits for the lock", ADMIN, None)))
            with pytest.raises(FutureTimeout):
                pending.result(timeout=0.5)
            fcntl.flock(held, fcntl.LOCK_UN)
            assert pending.result(timeout=10).thread_version == 2
    finally:
        svc.close()
        svc.store.close()


def test_a_lost_race_puts_the_thread_back_and_catches_it_up_without_replaying_it(
    settings: Settings, service: ThreadService
) -> None:
    """Once other writers showed up, a conflict restores the cached thread and reads only the events it missed."""
    service.register_order(order("91"), None)
    other = service_on(settings)
    try:
        for i in range(5):
            service.post_message("91", ADMIN, uuid4(), f"cached {i}", None)

        def lose_a_race(text: str) -> int:
            raced: list[object] = []

            def decide(thread: OrderThread) -> Any:
                if not raced:  # the first attempt: another process saves this thread meanwhile
                    raced.append(other.post_message("91", ADMIN, uuid4(), f"{text} from the other process", None))
                return posting(uuid4(), text, ADMIN, None)(thread)

            return service.writer.call(Command("91", ADMIN, decide)).thread_version

        assert lose_a_race("the first conflict shows another writer") == 8
        reads_after: list[int | None] = []
        get = service.store.repository.event_store.get

        def counted(originator_id: Any, *args: Any, gt: int | None = None, **kwargs: Any) -> Any:
            reads_after.append(gt)
            return get(originator_id, *args, gt=gt, **kwargs)

        service.store.repository.event_store.get = counted  # type: ignore[method-assign]
        assert lose_a_race("then a conflict costs no replay") == 10
        assert reads_after == [8]  # the catch-up read the one event it missed; the thread was not replayed
        assert [n.originator_version for n in service.history("91", ADMIN)] == list(range(1, 11))
    finally:
        other.close()
        other.store.close()
