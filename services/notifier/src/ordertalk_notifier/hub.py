"""In-process broadcast of bell alerts to connected browsers, keyed by audience ("admin", "customer:<id>")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

Alert = dict[str, Any]


class BroadcastHub:
    """Fans each published alert out to every subscriber of its audience; a slow subscriber loses old alerts."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Alert]]] = {}
        self._queue_size = queue_size

    @contextlib.contextmanager
    def subscribe(self, audience: str) -> Iterator[asyncio.Queue[Alert]]:
        """A queue receiving the audience's alerts for as long as the context lasts."""
        queue: asyncio.Queue[Alert] = asyncio.Queue(self._queue_size)
        self._subscribers.setdefault(audience, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._subscribers.get(audience)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subscribers[audience]

    def has_subscribers(self, audience: str) -> bool:
        """Whether anyone listens to ``audience``."""
        return bool(self._subscribers.get(audience))

    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return sum(len(s) for s in self._subscribers.values())

    def publish(self, audience: str, alert: Alert) -> int:
        """Deliver ``alert`` to the audience's subscribers (dropping their oldest alert when full)."""
        subs = self._subscribers.get(audience, set())
        for queue in subs:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(alert)
        return len(subs)
