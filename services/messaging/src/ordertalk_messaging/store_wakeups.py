"""Wake-ups from the event store: PostgreSQL NOTIFYs every insert, so a relay in another process starts at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


@dataclass
class PostgresInsertListener:
    """LISTENs on the events table's channel and calls ``wake`` for every notification.

    eventsourcing's PostgreSQL recorder sends ``NOTIFY <channel>`` inside every insert's transaction,
    so the notification arrives when the events are committed, whichever process saved them. A lost
    connection is retried with backoff (the relay's polling covers the gap); after every (re)connect
    ``wake`` is called once, for what was saved while nobody listened.
    """

    conninfo: str
    channel: str
    wake: Callable[[], None]
    max_backoff: float = 5.0
    listening: bool = field(default=False, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set."""
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._listen(stop)
                backoff = 0.2
            except (psycopg.Error, OSError) as exc:
                self.listening = False
                log.warning("cannot listen for event-store inserts (%s); retrying in %.1fs", exc, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, self.max_backoff)
        self.listening = False

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.listening = True
            log.info("relay woken by inserts on channel %s", self.channel)
            self.wake()
            while not stop.is_set():
                async for _ in conn.notifies(timeout=1.0):  # returns after a second, to look at ``stop``
                    self.wake()
