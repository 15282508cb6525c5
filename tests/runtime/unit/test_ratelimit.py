"""Token buckets: a burst at once, then the rate; one key's bucket never touches another's."""

from __future__ import annotations

from ordertalk_runtime.ratelimit import TokenBuckets, retry_after_header


def test_a_burst_then_the_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == 0.5  # one more write in half a second
    assert buckets.take("a", 0.5) == 0.0
    assert buckets.take("a", 0.5) > 0


def test_keys_are_independent_and_zero_turns_the_limit_off() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1)
    assert buckets.take("abuser", 0.0) == 0.0
    assert buckets.take("abuser", 0.0) > 0
    assert buckets.take("someone else", 0.0) == 0.0
    off = TokenBuckets(rate=0, burst=1)
    assert all(off.take("a", 0.0) == 0.0 for _ in range(1000))


def test_memory_is_bounded_and_quiet_callers_are_forgotten_first() -> None:
    buckets = TokenBuckets(rate=1.0, burst=2, max_keys=3)
    for key in ("a", "b", "c"):
        buckets.take(key, 0.0)
    buckets.take("busy", 0.5)  # nobody has refilled yet: rather than grow, start over
    assert set(buckets._buckets) == {"busy"}
    for key in ("d", "e"):
        buckets.take(key, 0.5)
    buckets.take("busy", 0.6)
    buckets.take("busy", 0.6)  # busy is empty now
    buckets.take("later", 10.0)  # d and e have their whole burst back: they are forgotten, busy too
    assert "later" in buckets._buckets and len(buckets._buckets) <= 3


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2)] == ["1", "1", "2"]
