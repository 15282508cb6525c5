"""Idempotency keys: first answer replayed, mismatches and concurrent duplicates refused, failures store nothing."""

from __future__ import annotations

import pytest

from ordertalk_messaging.adapters.storage.memory import MemoryIdempotencyStore
from ordertalk_messaging.application.idempotency import (
    Answer,
    InFlight,
    KeyGuard,
    KeyInFlight,
    KeyInvalid,
    KeyRejected,
    KeyReused,
    check_key,
    fingerprint,
    message_id_for,
    run_once,
)


def test_retry_answers_first_answer_and_runs_once() -> None:
    store, flight, calls = MemoryIdempotencyStore(), InFlight(), []

    def work() -> Answer:
        calls.append(1)
        return Answer(201, f'{{"n": {len(calls)}}}')

    fp = fingerprint("POST", "/x", {"body": "a"})
    first = run_once(KeyGuard(store, flight, "admin:a", "k", fp), work)
    again = run_once(KeyGuard(store, flight, "admin:a", "k", fp), work)
    assert (again.status, again.body, again.replayed) == (first.status, first.body, True)
    assert calls == [1]


def test_same_key_other_request_is_refused() -> None:
    store, flight = MemoryIdempotencyStore(), InFlight()

    def work() -> Answer:
        return Answer(201, "{}")

    run_once(KeyGuard(store, flight, "s", "k", fingerprint("POST", "/x", {"body": "a"})), work)
    with pytest.raises(KeyRejected) as info:
        run_once(KeyGuard(store, flight, "s", "k", fingerprint("POST", "/x", {"body": "b"})), work)
    assert isinstance(info.value, KeyReused)


def test_failure_stores_nothing() -> None:
    store, flight = MemoryIdempotencyStore(), InFlight()

    def fail() -> Answer:
        raise RuntimeError("boom")

    def work() -> Answer:
        return Answer(200, "{}")

    fp = fingerprint("POST", "/x", {})
    with pytest.raises(RuntimeError):
        run_once(KeyGuard(store, flight, "s", "k", fp), fail)
    assert (run_once(KeyGuard(store, flight, "s", "k", fp), work)).replayed is False


def test_concurrent_duplicate_is_refused_and_another_writers_answer_wins() -> None:
    store, flight = MemoryIdempotencyStore(), InFlight()
    fp = fingerprint("POST", "/x", {})
    inner: list[type[KeyRejected]] = []

    def work() -> Answer:
        with pytest.raises(KeyRejected) as info:  # the same key again while the first is executing
            run_once(KeyGuard(store, flight, "s", "k", fp), lambda: Answer(200, "{}"))
        inner.append(type(info.value))
        store.record("s", "k", fp, 201, '{"first": true}')  # another process stored its answer meanwhile
        return Answer(201, '{"first": false}')

    answer = run_once(KeyGuard(store, flight, "s", "k", fp), work)
    assert inner == [KeyInFlight]
    assert (answer.body, answer.replayed) == ('{"first": true}', True)


def test_keys_are_scoped_and_checked() -> None:
    assert message_id_for("admin:a", "k") == message_id_for("admin:a", "k")
    assert message_id_for("admin:a", "k") != message_id_for("customer:b", "k")
    assert check_key("abc-123") == "abc-123"
    for bad in ["", "has space", "x" * 201, "é"]:
        with pytest.raises(KeyInvalid):
            check_key(bad)
