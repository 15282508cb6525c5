"""The one back-off formula (``ordertalk_runtime.retry.Backoff``): stamina's, capped, with bounded jitter."""

from __future__ import annotations

import pytest
import stamina

from ordertalk_runtime.retry import Backoff, retrying


def test_the_wait_doubles_from_the_initial_one_up_to_the_cap() -> None:
    b = Backoff(1.0, 10.0)
    assert [b.delay(n) for n in (0, 1, 2, 3, 4, 5, 6)] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_very_long_run_of_failures_waits_the_cap() -> None:
    assert Backoff(1.0, 10.0).delay(5000) == 10.0


def test_jitter_adds_at_most_its_own_amount_and_never_passes_the_cap() -> None:
    b = Backoff(1.0, 5.0, jitter=0.5)
    waits = [b.delay(2) for _ in range(200)]
    assert all(2.0 <= w <= 2.5 for w in waits)
    assert len(set(waits)) > 1
    assert all(b.delay(10) == 5.0 for _ in range(20))


async def test_the_formula_is_staminas() -> None:
    """Without jitter, each wait is the one stamina announces after the same attempt."""
    b = Backoff(0.001, 0.016)
    announced: list[float] = []
    async for attempt in stamina.retry_context(on=ValueError, attempts=7, timeout=None, **b.stamina_kwargs()):
        with attempt:
            announced.append(attempt.next_wait)
            if attempt.num < 7:
                raise ValueError("again")
    assert announced == pytest.approx([b.delay(n) for n in range(1, 8)])


async def test_retrying_within_a_bound_gives_up_with_the_last_error() -> None:
    tries: list[int] = []

    async def broken() -> None:
        tries.append(1)
        raise ConnectionError(f"try {len(tries)}")

    with pytest.raises(ConnectionError):
        await retrying(broken, on=(ConnectionError,), what="a broken call", within=0.3)
    assert len(tries) > 1  # it did retry before the bound


async def test_retrying_returns_once_the_call_succeeds() -> None:
    tries: list[int] = []

    async def flaky(value: str) -> str:
        tries.append(1)
        if len(tries) < 3:
            raise ConnectionError("not yet")
        return value

    assert await retrying(flaky, "done", on=(ConnectionError,), what="a flaky call", within=10.0) == "done"
    assert len(tries) == 3
