"""Token buckets per caller: how many writes one principal (or one client address) may make, and how fast."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key: ``burst`` writes at once, refilled at ``rate`` per second (pure: the caller gives the time).

    ``rate <= 0`` turns the limit off. At most ``max_keys`` buckets are kept; when more are needed, the
    full ones (callers quiet long enough to have their whole burst back) are forgotten first.
    """

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.max_keys = rate, max(burst, 1.0), max_keys
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        """Whether the limit applies at all."""
        return self.rate > 0

    def take(self, key: str, now: float) -> float:
        """Take one write for ``key``: 0.0 if allowed, else the seconds until one is allowed again."""
        if not self.enabled:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # everyone is busy: start over rather than grow without bound
            self._buckets.clear()


def retry_after_header(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
