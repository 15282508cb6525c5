"""Wake-ups across processes, so a relay in another process publishes a save at once instead of at its poll.

On PostgreSQL the store itself NOTIFYs every insert. On SQLite, whose processes share one host and
one database file, a saving process sends a datagram to a local socket named after that file, and
the relay's process listens on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

from ordertalk_runtime.retry import supervise

log = logging.getLogger(__name__)


class _Listener(Protocol):
    listening: bool
    max_backoff: float

    async def _listen(self, stop: asyncio.Event) -> None: ...


async def _listen_retrying(
    listener: _Listener, errors: tuple[type[Exception], ...], what: str, stop: asyncio.Event
) -> None:
    """Run ``listener._listen`` until ``stop``, again after a failure with the retry policy's back-off."""

    async def listen_once() -> None:
        try:
            await listener._listen(stop)
        except errors as exc:
            log.warning("cannot listen for %s (%s)", what, exc)
            raise
        finally:
            listener.listening = False

    await supervise(listen_once, stop, f"listening for {what}", initial=0.2, cap=listener.max_backoff)


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
        await _listen_retrying(self, (psycopg.Error, OSError), "event-store inserts", stop)

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.listening = True
            log.info("relay woken by inserts on channel %s", self.channel)
            self.wake()
            while not stop.is_set():
                async for _ in conn.notifies(timeout=1.0):  # returns after a second, to look at ``stop``
                    self.wake()


def sqlite_wake_address(database: Path) -> bytes:
    """The socket the relay of ``database`` listens on: Linux's abstract namespace, named by the file's path.

    Abstract names need no file to create or clean up and have no path-length limit; they are local
    to the network namespace, as a SQLite database is to its host.
    """
    digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:32]
    return b"\0ordertalk-relay-wake-" + digest.encode()


class SqliteSaveSignal:
    """Tells the relay of one SQLite database, in whatever process it runs, that events were saved.

    Sending never blocks and never fails the save: with no relay listening (or its queue full, which
    already means a wake is pending) the datagram is dropped, and the relay's poll covers it.
    """

    def __init__(self, address: bytes) -> None:
        self.address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def __call__(self) -> None:
        """Send one wake-up (called by the writer after each commit)."""
        with contextlib.suppress(OSError):
            self._socket.sendto(b"w", self.address)

    def close(self) -> None:
        """Release the socket."""
        self._socket.close()


@dataclass
class SqliteSaveListener:
    """Receives the save signals of one SQLite database and calls ``wake``, once per burst of datagrams.

    Only one process can hold the address; while another does (a second relay), this one retries with
    backoff and its relay polls meanwhile.
    """

    address: bytes
    wake: Callable[[], None]
    max_backoff: float = 5.0
    listening: bool = field(default=False, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set."""
        await _listen_retrying(self, (OSError,), "saves", stop)

    async def _listen(self, stop: asyncio.Event) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
            receiver.bind(self.address)
            await self._receive(receiver, stop)

    async def _receive(self, receiver: socket.socket, stop: asyncio.Event) -> None:
        receiver.setblocking(False)
        loop = asyncio.get_running_loop()

        def readable() -> None:
            with contextlib.suppress(BlockingIOError):
                while receiver.recv(16):  # every datagram waiting: one wake-up for all of them
                    pass
            self.wake()

        loop.add_reader(receiver.fileno(), readable)
        self.listening = True
        log.info("relay woken by saves of other processes")
        self.wake()  # whatever was saved before this process listened
        try:
            await stop.wait()
        finally:
            self.listening = False
            loop.remove_reader(receiver.fileno())
