"""Read-your-writes: wait (bounded) until the read model has applied a global position."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class PositionWatch:
    """The highest applied position known in this process, with a wake-up for waiters."""

    def __init__(self) -> None:
        self.position = 0
        self._changed = asyncio.Event()

    def advance(self, position: int) -> None:
        """Record that ``position`` is applied (never moves back) and wake the waiters."""
        if position > self.position:
            self.position = position
            self._changed.set()
            self._changed = asyncio.Event()

    async def changed(self, within: float) -> None:
        """Return when the position moves or after ``within`` seconds."""
        try:
            await asyncio.wait_for(self._changed.wait(), within)
        except TimeoutError:
            return


async def wait_until(
    reached: Callable[[], Awaitable[bool]], watch: PositionWatch, within: float, poll: float = 0.1
) -> bool:
    """Re-check ``reached`` when the in-process watch moves or every ``poll`` s, for at most ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        if await reached():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await watch.changed(min(poll, left))
