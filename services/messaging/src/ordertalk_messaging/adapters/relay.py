"""The relay: publishes every stored event to Kafka in store order and records how far it got."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread
from eventsourcing.persistence import Notification

from ordertalk_contracts import THREAD_EVENTS, ThreadEvent
from ordertalk_messaging.adapters.publishing import Outgoing, Publisher
from ordertalk_messaging.application.ports import PositionStore
from ordertalk_runtime.metrics import EVENTS_PUBLISHED, RELAY_POSITION
from ordertalk_runtime.observability import log_handled_batch
from ordertalk_runtime.retry import POLICY
from ordertalk_runtime.topics import TopicMismatch

log = logging.getLogger(__name__)
RELAY_NAME = "thread-events-relay"
R = TypeVar("R")
Ts = TypeVarTuple("Ts")


class NotificationSource:
    """Reads the stored log in order (a thin port over ``recorder.select_notifications``)."""

    def __init__(self, select: Callable[[int, int], Sequence[Notification]]) -> None:
        self._select = select

    def after(self, position: int, limit: int) -> Sequence[Notification]:
        """Up to ``limit`` notifications with id > ``position``."""
        return self._select(position, limit)


@dataclass
class Relay:
    """At-least-once, in-order publisher of the event store's notification log.

    A save wakes it; it then waits ``linger_seconds`` (5 ms) so the saves right behind share one
    broker round trip, as a Kafka producer's ``linger.ms`` does. The position is recorded only after
    the broker acknowledged a whole batch, so a crash or an outage re-sends from the last recorded
    position: events may be published again (same ``event_id``), never skipped, and each order's
    events keep their store order. While events keep coming it is recorded at most every
    ``record_seconds`` (each record is a commit that competes with the API's writes), and always
    once the relay has caught up and finds nothing new.

    The publisher checks the topic before each batch: if it is missing or has another partition count
    (a broker that lost it) the relay stops — the position stays where the broker last acknowledged —
    reports why (``not_ready``), and checks again every ``check_seconds``. When the topic is right
    again and has never held a record while the relay had published some (the broker was wiped and the
    topic re-created), the relay starts over from the store's first event; the same look is taken at
    start and after any failed publish, before anything is sent. An idle relay checks the topic every
    ``check_seconds`` as well, so a wipe is seen even when nothing is being saved.
    """

    source: NotificationSource
    translate: Callable[[Notification], ThreadEvent]
    publisher: Publisher
    positions: PositionStore
    batch_size: int = 500
    poll_seconds: float = 1.0
    republish_on_start: bool = False
    name: str = RELAY_NAME
    max_backoff: float = 5.0
    record_seconds: float = 0.5
    linger_seconds: float = 0.005
    check_seconds: float = 3.0
    position: int = field(default=0, init=False)
    healthy: bool = field(default=True, init=False)
    problem: str | None = field(default=None, init=False)
    rewinds: int = field(default=0, init=False)
    _suspect: bool = field(default=True, init=False)
    _topic_was_missing: bool = field(default=False, init=False)  # deleted meanwhile: what it held is gone
    _verified_at: float = field(default=float("-inf"), init=False)
    _wakeup: asyncio.Event | None = field(default=None, init=False)
    _wake_pending: bool = field(default=False, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _limiter: anyio.CapacityLimiter | None = field(default=None, init=False)
    _recorded: int | None = field(default=None, init=False)
    _recorded_at: float = field(default=float("-inf"), init=False)

    def wake(self) -> None:
        """Tell the relay new events were saved (callable from any thread).

        Nothing to hand over while a wake-up is pending: ``step`` takes it back before it reads the
        store, so the read that the pending wake-up leads to comes after this save's commit. Under
        load the writer commits every few hundred microseconds; most of its calls end here.
        """
        if self._wake_pending:
            return
        self._wake_pending = True
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set."""
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        recorded = await self._in_thread(self.positions.get, self.name)
        self.position = 0 if self.republish_on_start else (recorded or 0)
        self._recorded = recorded
        log.info("relay starts after position %d (recorded %s)", self.position, recorded)
        backoff = replace(POLICY, cap=self.max_backoff)  # the one policy's waits, capped at the relay's own
        failures = 0
        try:
            while not stop.is_set():
                try:
                    published = await self.step()
                except TopicMismatch as exc:
                    if self.problem is None:
                        log.error("relay stops publishing after position %d: %s", self.position, exc)
                    self.healthy, self.problem, self._suspect = False, str(exc), True
                    self._topic_was_missing |= any(" is missing" in p for p in exc.problems.values())
                    await self._pause(stop, self.check_seconds, wake_early=False)
                    continue
                except Exception as exc:
                    self.healthy, self._suspect, failures = False, True, failures + 1
                    wait = backoff.delay(failures)
                    log.warning("relay could not publish after %d (%s); retrying in %.1fs", self.position, exc, wait)
                    await self._pause(stop, wait, wake_early=False)
                    continue
                if self.problem is not None:
                    log.warning("relay resumes publishing after position %d: the topic is right again", self.position)
                self.healthy, self.problem, failures = True, None, 0
                woken = published < self.batch_size and await self._pause(stop, self.poll_seconds)
                if woken and self.linger_seconds:
                    await asyncio.sleep(self.linger_seconds)  # let the saves right behind this one join its batch
        finally:
            with contextlib.suppress(Exception):
                await self.record()
            await self.publisher.close()

    async def step(self) -> int:
        """Publish the next batch after the current position; answers how many events were published."""
        self._wake_pending = False  # before the read: a save after this point wakes the relay again
        if self._wakeup is not None:
            self._wakeup.clear()
        if self._suspect:
            await self._rewind_if_topic_lost()
        batch = await self._in_thread(self.source.after, self.position, self.batch_size)
        if not batch:
            await self.record()  # caught up: make the position durable
            if time.monotonic() - self._verified_at >= self.check_seconds:
                await self.publisher.verify()  # idle too: a broker wiped meanwhile is seen before the next save
                self._verified_at = time.monotonic()
            return 0
        events = [self.translate(n) for n in batch]
        await self.publisher.publish([Outgoing.of(e) for e in events])
        self._verified_at = time.monotonic()  # publish checks the topic first
        self.position = batch[-1].id
        RELAY_POSITION.set(self.position)
        EVENTS_PUBLISHED.labels(THREAD_EVENTS).inc(len(events))
        log_handled_batch(log, "relay", events, "published")
        if time.monotonic() - self._recorded_at >= self.record_seconds:
            await self.record()
        return len(batch)

    async def _rewind_if_topic_lost(self) -> None:
        """Before publishing again: start from the first event if the topic has none of what was published, or
        was missing meanwhile (deleted and created again: whatever it reports, what it held is gone; the local
        broker can even report the deleted topic's end offsets for the new one)."""
        await self.publisher.verify()
        self._verified_at = time.monotonic()
        if self.position > 0 and (self._topic_was_missing or await self.publisher.holds_nothing()):
            why = "was missing meanwhile" if self._topic_was_missing else "holds no record"
            log.warning(
                "the topic %s though the relay had published up to position %d (the broker lost it):"
                " re-publishing from the store's first event",
                why,
                self.position,
            )
            self.position, self.rewinds = 0, self.rewinds + 1
            await self.record()  # durably: a relay restarted mid-way must not skip what the topic lost
        self._topic_was_missing = False
        self._suspect = False

    def not_ready(self) -> list[str]:
        """Why the relay is not publishing (empty while it publishes)."""
        return [] if self.problem is None else [f"relay stopped: {self.problem}"]

    async def record(self) -> None:
        """Record the position (everything up to it was acknowledged by the broker), if it moved."""
        if self.position != self._recorded:
            await self._in_thread(self.positions.put, self.name, self.position)
            self._recorded = self.position
        self._recorded_at = time.monotonic()

    async def _in_thread(self, fn: Callable[[*Ts], R], *args: *Ts) -> R:
        """Run store code in the relay's own worker thread, never queued behind the API's busy workers."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def _pause(self, stop: asyncio.Event, seconds: float, *, wake_early: bool = True) -> bool:
        """Wait ``seconds``, or less if stopped or (``wake_early``) woken; True if woken by a save."""
        wakeup = self._wakeup
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeup is not None and wake_early:
            waiters.append(asyncio.ensure_future(wakeup.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return wakeup is not None and wakeup.is_set() and not stop.is_set()
