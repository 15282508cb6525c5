"""The single writer: decides queued changes on their threads and saves each batch in one commit (group commit).

Every command of the process goes through one writer thread. It takes whatever changes are queued
(up to ``max_batch``), decides each on its thread (loaded once per batch, from the aggregate cache),
and saves every touched thread in one transaction, with what the changes keep beside the events
(idempotency answers) in that same commit. Under load a commit carries many posts, so the store's
per-commit cost and the thread hand-offs are paid once per batch instead of once per request; with
one change queued it is a batch of one. A version conflict (another process wrote first) reloads and
decides the batch again; any other failure of a batch of several retries each change alone, so one
bad change fails only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.persistence import IntegrityError

from ordertalk_messaging.application.ports import IN_TRANSACTION
from ordertalk_messaging.domain.errors import ThreadNotFound
from ordertalk_messaging.domain.thread import OrderThread, thread_id_for

if TYPE_CHECKING:
    from ordertalk_messaging.application.caller import Caller
    from ordertalk_messaging.application.store import MessagingStore

T = TypeVar("T")
R = TypeVar("R")
Item = TypeVar("Item")
Decide = Callable[[OrderThread], T]
log = logging.getLogger(__name__)
CATCH_UP_SECONDS = 60.0  # after a version conflict, check cached threads against the store for this long


@dataclass(frozen=True, slots=True)
class WriteOutcome(Generic[T]):
    """A command's result: the thread's version after it and the global position of its last event."""

    order_id: str
    thread_id: UUID
    thread_version: int
    position: int
    value: T


class ConcurrencyExhausted(Exception):
    """Every attempt lost the race to another writer."""


class Overloaded(Exception):
    """More commands are queued than the writer takes (``max_queue``): refused at once, to be retried later."""


class Change(Generic[T, R]):
    """One command on one order's thread, decided and saved by the writer; its answer is an ``R``.

    The writer calls, in its own thread: ``prepare`` once for the changes of a class in a batch, then
    for each change ``begin`` once (a non-None value is the answer at once and nothing is decided),
    ``decide`` on the thread, ``in_transaction`` (through the class's ``in_transaction_all``) inside
    the commit that stores the events,
    ``rolled_back`` if that commit failed (the change may be decided again), ``result`` with the
    outcome after the commit (or ``refused`` with the error, if deciding it failed), and ``end`` once
    when the change is answered, whatever the answer.
    """

    def __init__(self, order_id: str, caller: Caller, decide: Decide[T]) -> None:
        self.order_id, self.caller, self.decide = order_id, caller, decide
        self.thread_id = thread_id_for(order_id)
        self.future: Future[R] = Future()
        self.waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[R]] | None = None
        self.begun = False

    @classmethod
    def prepare(cls, changes: Sequence[Change[Any, Any]]) -> None:
        """Work done once for the changes of this class in a batch, before their ``begin`` (one query for all)."""

    def begin(self) -> R | None:
        """Checks before deciding; a value answers the change without deciding it."""
        return None

    def in_transaction(self, cursor: Any, outcome: WriteOutcome[T]) -> None:
        """Write beside the events, in their transaction."""

    @classmethod
    def in_transaction_all(cls, cursor: Any, outcomes: Sequence[tuple[Change[Any, Any], WriteOutcome[Any]]]) -> None:
        """``in_transaction`` for the changes of this class in a batch (a subclass may write them all at once)."""
        for change, outcome in outcomes:
            change.in_transaction(cursor, outcome)

    def rolled_back(self) -> None:
        """The transaction that held ``in_transaction``'s writes was rolled back."""

    def refused(self, error: Exception) -> None:
        """Deciding the change failed with ``error`` (a domain rule, or the thread could not be loaded)."""

    def result(self, outcome: WriteOutcome[T]) -> R:
        """The answer, after the commit."""
        raise NotImplementedError

    def end(self) -> None:
        """The change is answered (called once, after ``begin`` succeeded)."""


class Command(Change[T, WriteOutcome[T]]):
    """A change answered by its outcome."""

    def result(self, outcome: WriteOutcome[T]) -> WriteOutcome[T]:
        """The outcome itself."""
        return outcome


@dataclass(slots=True)
class _Staged:
    """A decided change: the events it added to its thread are ``thread.pending_events[first:first+count]``."""

    change: Change[Any, Any]
    thread: OrderThread
    first: int
    count: int
    version: int
    value: Any


class Writer:
    """Runs changes one batch at a time, in its own thread (``threaded``) or in the caller's."""

    def __init__(
        self,
        store: MessagingStore,
        last_position: Callable[[], int],
        on_saved: Callable[[], None] = lambda: None,
        *,
        stored_versions: Callable[[Sequence[UUID]], dict[UUID, int]] | None = None,
        threaded: bool = True,
        max_batch: int = 256,
        max_attempts: int = 50,
        max_queue: int = 5000,
    ) -> None:
        self.store, self.last_position, self.on_saved = store, last_position, on_saved
        self.stored_versions = stored_versions
        self._others_wrote_at = -CATCH_UP_SECONDS - 1.0  # when a version conflict last showed other writers
        self.threaded, self.max_batch, self.max_attempts = threaded, max_batch, max_attempts
        self.max_queue = max_queue
        self._batch_lock = threading.Lock()
        self._queue: deque[Change[Any, Any]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- submitting ----------------------------------------------------------------------------

    def submit(self, change: Change[T, R]) -> Future[R]:
        """Queue ``change`` (or run it now when not threaded); its future holds the answer.

        Overloaded when ``max_queue`` commands wait already: past that, a caller would wait longer than
        it is worth (seconds of backlog), so it is told at once to come back.
        """
        if not self.threaded:
            with self._batch_lock:
                self._run([change])
            return change.future
        with self._ready:
            if self._closed:
                raise RuntimeError("the writer is closed")
            if len(self._queue) >= self.max_queue:
                raise Overloaded(f"{len(self._queue)} commands are waiting for the writer; try again shortly")
            self._queue.append(change)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="messaging-writer", daemon=True)
                self._thread.start()
            self._ready.notify()
        return change.future

    def call(self, change: Change[T, R]) -> R:
        """Submit and wait (blocking callers)."""
        return self.submit(change).result()

    def call_all(self, changes: Sequence[Change[T, R]]) -> list[R]:
        """Submit all, so they share commits, then wait for each (the first failure is raised)."""
        futures = [self.submit(c) for c in changes]
        return [f.result() for f in futures]

    async def run(self, change: Change[T, R]) -> R:
        """Submit from an event loop and await the answer (delivered with the batch's other answers)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[R] = loop.create_future()
        change.waiter = (loop, waiter)
        self.submit(change)
        return await waiter

    def close(self) -> None:
        """Answer what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    # --- the writer thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            with self._batch_lock:
                self._run(batch)

    def _run(self, batch: list[Change[Any, Any]]) -> None:
        """Answer every change of ``batch`` (each answer or failure is delivered, whatever happens)."""
        try:
            self._prepare(batch)
            self._save([c for c in batch if self._begin(c)])
        except BaseException as exc:  # a bug must not leave callers waiting forever
            log.exception("writer batch failed")
            for change in batch:
                if not change.future.done():
                    self._fail(change, exc)
        finally:
            for change in batch:
                if not change.future.done():  # never expected: answer rather than hang the caller
                    self._fail(change, RuntimeError("the writer left a command unanswered"))
            self._deliver(batch)

    @staticmethod
    def _prepare(batch: list[Change[Any, Any]]) -> None:
        for cls, changes in _by_class(batch, lambda c: c).items():
            try:
                cls.prepare(changes)
            except Exception:  # only an optimisation: each change's begin() does the work itself
                log.warning("preparing a batch of %s failed", cls.__name__, exc_info=True)

    def _begin(self, change: Change[Any, Any]) -> bool:
        """Run ``begin``; False if that answered (or failed) the change."""
        try:
            early = change.begin()
        except Exception as exc:
            change.future.set_exception(exc)
            return False
        change.begun = True
        if early is None:
            return True
        self._answer(change, early)
        return False

    @functools.cached_property
    def _turn(self) -> Callable[[], contextlib.AbstractContextManager[None]] | None:
        """The store's one-writing-process-at-a-time turn (SQLiteMessagingRecorder's); PostgreSQL has none."""
        turn: Callable[[], contextlib.AbstractContextManager[None]] | None = getattr(
            self.store.recorder, "exclusive", None
        )
        return turn

    def _others_writing(self, retrying: bool) -> bool:
        """Whether other processes write to the store: a retry, or a version conflict in the last minute."""
        return retrying or time.monotonic() - self._others_wrote_at <= CATCH_UP_SECONDS

    def _catch_up(self, changes: list[Change[Any, Any]]) -> None:
        """Bring the cached threads of ``changes`` up to what other processes stored since (one query).

        Where other processes (API workers or pods) write to the same store, a cached thread may be
        behind. Deciding on it would only meet a version conflict at the commit, which fails the whole
        batch; asking for the stored versions first costs one query on the primary key, and only the
        threads behind read their new events. That query is only worth its round trip while others
        write, so it runs on a retry and for CATCH_UP_SECONDS after a version conflict showed they do.
        """
        cache = self.store.repository.cache
        if cache is None or self.stored_versions is None:
            return
        cached: dict[UUID, OrderThread] = {}
        for change in changes:
            if change.thread_id not in cached:
                try:
                    thread: object = cache.get(change.thread_id)
                except KeyError:
                    continue
                if isinstance(thread, OrderThread):
                    cached[change.thread_id] = thread
        if not cached:
            return
        for thread_id, version in self.stored_versions(list(cached)).items():
            behind = cached[thread_id]
            if version > behind.version:
                newer = self.store.repository.event_store.get(originator_id=thread_id, gt=behind.version)
                cache.put(thread_id, project_aggregate(behind, newer))

    def _attempt(self, changes: list[Change[Any, Any]], *, exclusive: bool = False) -> list[Change[Any, Any]]:
        """Decide and save ``changes`` in one commit; answers those to decide again (after a conflict).

        With ``exclusive``, where the store lets one process write at a time (SQLite's writers' lock),
        that turn is held from the catch-up to the commit, so no other process can write these threads
        in between: a retry cannot lose again. A first attempt holds it only around the insert, so
        other processes decide their batches meanwhile.
        """
        with self._turn() if exclusive and self._turn is not None else contextlib.nullcontext():
            return self._decide_and_save(changes, retrying=exclusive)

    def _decide_and_save(self, changes: list[Change[Any, Any]], *, retrying: bool) -> list[Change[Any, Any]]:
        others_writing = self._others_writing(retrying)
        if others_writing:
            self._catch_up(changes)
        threads: dict[UUID, OrderThread] = {}
        mementos: dict[UUID, dict[str, Any]] = {}  # each thread as loaded, to go back to if the save fails
        staged: list[_Staged] = []
        for change in changes:
            try:
                thread = threads.get(change.thread_id)
                if thread is None:
                    thread = threads[change.thread_id] = self._load(change)
                    mementos[change.thread_id] = thread.memento()
                if not change.caller.may_see(thread):
                    raise ThreadNotFound(f"no order {change.order_id!r}")
                first = len(thread.pending_events)
                value = change.decide(thread)
            except Exception as exc:  # a refused command (or a failed load) answers only itself
                self._refuse(change, exc)
                continue
            staged.append(_Staged(change, thread, first, len(thread.pending_events) - first, thread.version, value))
        touched = [t for t in threads.values() if t.pending_events]
        if not touched:
            position = self.last_position() if staged else 0
            for s in staged:
                self._succeed(s, position)
            return []
        offsets, n = {}, 0
        for thread in touched:
            offsets[thread.id] = n
            n += len(thread.pending_events)

        def position_of(s: _Staged, ids: Sequence[int]) -> int:
            return ids[offsets[s.thread.id] + s.first + s.count - 1] if s.count else ids[-1]

        def in_transaction(cursor: Any, ids: Sequence[int]) -> None:
            outcomes = [(s.change, self._outcome(s, position_of(s, ids))) for s in staged]
            for cls, group in _by_class(outcomes, lambda pair: pair[0]).items():
                cls.in_transaction_all(cursor, group)

        try:
            recordings = self.store.save(*touched, **{IN_TRANSACTION: in_transaction})
        except IntegrityError:  # another process wrote one of these threads first
            self._others_wrote_at = time.monotonic()
            self._undo(touched, mementos, staged)
            return [s.change for s in staged]
        except Exception as exc:
            self._undo(touched, mementos, staged)
            if len(staged) == 1:
                self._fail(staged[0].change, exc)
            else:  # find the change that cannot be saved: each alone
                for s in staged:
                    self._save([s.change])
            return []
        ids = [r.notification.id for r in recordings]
        self.on_saved()
        for s in staged:
            self._succeed(s, position_of(s, ids))
        return []

    def _save(self, changes: list[Change[Any, Any]]) -> None:
        """Decide and save ``changes`` together, deciding again after each conflict.

        A retry holds the store's writers' turn throughout where there is one (SQLite); elsewhere it
        backs off a little, more after each loss.
        """
        pending = changes
        for attempt in range(self.max_attempts):
            if not pending:
                return
            if attempt:
                time.sleep(random.uniform(0, 0.002 * attempt))  # another process keeps winning: back off
            pending = self._attempt(pending, exclusive=attempt > 0)
        for change in pending:
            self._fail(change, ConcurrencyExhausted(f"order {change.order_id!r}: too many concurrent writers"))

    def _load(self, change: Change[Any, Any]) -> OrderThread:
        try:
            thread: object = self.store.repository.get(change.thread_id)
        except AggregateNotFoundError:
            raise ThreadNotFound(f"no order {change.order_id!r}") from None
        if not isinstance(thread, OrderThread):
            raise ThreadNotFound(f"no order {change.order_id!r}")
        return thread

    @staticmethod
    def _undo(touched: list[OrderThread], mementos: dict[UUID, dict[str, Any]], staged: list[_Staged]) -> None:
        """Put the threads back as they were loaded and tell the changes their writes are gone.

        The next attempt's catch-up then reads only what other processes saved since, instead of
        the whole thread (a memento costs no copy of a thread's messages).
        """
        for thread in touched:
            thread.restore(mementos[thread.id])
        for s in staged:
            s.change.rolled_back()

    @staticmethod
    def _outcome(s: _Staged, position: int) -> WriteOutcome[Any]:
        return WriteOutcome(s.change.order_id, s.thread.id, s.version, position, s.value)

    def _succeed(self, s: _Staged, position: int) -> None:
        try:
            answer = s.change.result(self._outcome(s, position))
        except Exception as exc:
            self._fail(s.change, exc)
        else:
            self._answer(s.change, answer)

    def _answer(self, change: Change[Any, R], answer: R) -> None:
        self._end(change)
        change.future.set_result(answer)

    def _refuse(self, change: Change[Any, Any], exc: Exception) -> None:
        """Answer ``exc`` to a change that was refused while being decided, after telling it (``refused``)."""
        try:
            change.refused(exc)
        except Exception:
            log.exception("recording a refused change failed")
        self._fail(change, exc)

    def _fail(self, change: Change[Any, Any], exc: BaseException) -> None:
        self._end(change)
        change.future.set_exception(exc)

    @staticmethod
    def _end(change: Change[Any, Any]) -> None:
        if change.begun:
            change.begun = False
            try:
                change.end()
            except Exception:
                log.exception("ending a change failed")

    @staticmethod
    def _deliver(batch: list[Change[Any, Any]]) -> None:
        """Hand the answers to the event loops awaiting them: one wake-up per loop per batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Change[Any, Any]]] = {}
        for change in batch:
            if change.waiter is not None:
                by_loop.setdefault(change.waiter[0], []).append(change)
        for loop, changes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_settle_waiters, changes)


def _by_class(
    items: Sequence[Item], change_of: Callable[[Item], Change[Any, Any]]
) -> dict[type[Change[Any, Any]], list[Item]]:
    """``items`` grouped by the class of their change, in their order (class hooks run once per group)."""
    groups: dict[type[Change[Any, Any]], list[Item]] = {}
    for item in items:
        groups.setdefault(type(change_of(item)), []).append(item)
    return groups


def _settle_waiters(changes: list[Change[Any, Any]]) -> None:
    """On the loop: copy each change's answer to its awaiting future (unless the request was cancelled)."""
    for change in changes:
        assert change.waiter is not None
        waiter = change.waiter[1]
        if waiter.done():
            continue
        exc = change.future.exception()
        if exc is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(change.future.result())
