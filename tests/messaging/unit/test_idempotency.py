"""Idempotency keys: first answer replayed, mismatches refused, failures release the key."""

from __future__ import annotations

import pytest

from ordertalk_messaging.idempotency import Answer, KeyRejected, check_key, fingerprint, message_id_for, run_once
from ordertalk_messaging.storage.memory import MemoryIdempotencyStore


async def test_retry_answers_first_answer_and_runs_once() -> None:
    store, calls = MemoryIdempotencyStore(), []

    async def work() -> Answer:
        calls.append(1)
        return Answer(201, f'{{"n": {len(calls)}}}')

    fp = fingerprint("POST", "/x", {"body": "a"})
    first = await run_once(store, "admin:a", "k", fp, work)
    again = await run_once(store, "admin:a", "k", fp, work)
    assert (again.status, again.body, again.replayed) == (first.status, first.body, True)
    assert calls == [1]


async def test_same_key_other_request_is_refused() -> None:
    store = MemoryIdempotencyStore()

    async def work() -> Answer:
        return Answer(201, "{}")

    await run_once(store, "s", "k", fingerprint("POST", "/x", {"body": "a"}), work)
    with pytest.raises(KeyRejected) as info:
        await run_once(store, "s", "k", fingerprint("POST", "/x", {"body": "b"}), work)
    assert info.value.status == 422


async def test_failure_releases_the_key() -> None:
    store = MemoryIdempotencyStore()

    async def fail() -> Answer:
        raise RuntimeError("boom")

    async def work() -> Answer:
        return Answer(200, "{}")

    fp = fingerprint("POST", "/x", {})
    with pytest.raises(RuntimeError):
        await run_once(store, "s", "k", fp, fail)
    assert (await run_once(store, "s", "k", fp, work)).replayed is False


def test_keys_are_scoped_and_checked() -> None:
    assert message_id_for("admin:a", "k") == message_id_for("admin:a", "k")
    assert message_id_for("admin:a", "k") != message_id_for("customer:b", "k")
    assert check_key("abc-123") == "abc-123"
    for bad in ["", "has space", "x" * 201, "é"]:
        with pytest.raises(KeyRejected):
            check_key(bad)
